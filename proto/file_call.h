#ifndef SBOX_PROTO_FILE_CALL_H_
#define SBOX_PROTO_FILE_CALL_H_

// The one translation of a brokered file syscall (proto/file_syscalls.h) into a broker request,
// and of the broker's reply back into the syscall's result: both answerers use it, the
// sandboxee's SIGSYS handler (sandboxee/file_redirection.cc) and the broker's user-notification
// server (broker/notification_broker.cc). Each side supplies a FileCallSite, which only adapts
// how the caller's memory and descriptors are reached (local pointers, or process_vm_readv and
// pidfd_getfd) and how a request reaches the broker's file handler.
//
// Argument checks follow the kernel's order and errnos where the broker can see them (EFAULT,
// ENAMETOOLONG, EINVAL for flags the call does not take). What differs from the kernel, by
// design, is in proto/PROTOCOL.md ("What the translation answers itself").
//
// Async-signal-safe: no allocation, no locks, errno untouched. It needs about 13 KB of stack
// (two path buffers and a reply payload) beside what the site's own functions use.

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>

#include "proto/codec.h"
#include "proto/unique_fd.h"

namespace sbox::proto {

// What connect(2) needs to know of the caller's descriptor.
struct SocketFacts {
  bool is_socket = false;
  int domain = 0;  // AF_UNIX, ...; when is_socket
  int type = 0;    // SOCK_STREAM, ...; when is_socket
  bool nonblocking = false;
  bool close_on_exec = false;
};

// The broker's answer to one request.
struct FileCallAnswer {
  UniqueFd fd;
  uint8_t* payload = nullptr;  // kMaxReplyPayload bytes, given by the translation
  size_t payload_size = 0;
};

// The caller, as one side reaches it. Every function returns 0 (or a value) or -errno.
class FileCallSite {
 public:
  // Copies the NUL-terminated string at `address` into `out` (PATH_MAX bytes) and returns its
  // length: -EFAULT when it cannot be read up to its NUL, -ENAMETOOLONG when it has no NUL
  // within PATH_MAX bytes.
  virtual long ReadString(uint64_t address, char* out) = 0;
  // Reads exactly `size` bytes: 0 or -EFAULT.
  virtual int Read(uint64_t address, void* out, size_t size) = 0;
  // Writes exactly `size` bytes into the caller: 0 or -EFAULT.
  virtual int Write(uint64_t address, const void* data, size_t size) = 0;
  // fstat(2) of the caller's descriptor: 0, -EBADF.
  virtual int StatDescriptor(int fd, struct stat* out) = 0;
  // What connect needs of the caller's descriptor: 0 or -EBADF.
  virtual int DescribeSocket(int fd, SocketFacts* out) = 0;
  // Has the broker's file handler answer `request`, whose paths come with the caller's
  // descriptors `fds` (in fd_paths order). Returns the reply's result (>= 0 or -errno) and
  // fills `answer` (its payload buffer is the translation's).
  virtual int Ask(const Request& request, const int fds[2], FileCallAnswer* answer) = 0;
  // Makes `fd` the caller's new descriptor; returns its number.
  virtual long GiveDescriptor(UniqueFd fd, bool close_on_exec) = 0;
  // Puts `fd` in place of the caller's descriptor `target`; returns 0.
  virtual long ReplaceDescriptor(UniqueFd fd, int target, bool close_on_exec) = 0;
  // Lets the caller's call proceed in the kernel as it was made, which answers it (an exec the
  // policy grants, which Landlock then checks again). Returns 0, or -errno when the site
  // cannot (-ENOSYS: the sandboxee's own SIGSYS handler, whose call would trap again).
  virtual long PerformInKernel() = 0;

 protected:
  ~FileCallSite() = default;
};

// Serves brokered file syscall `nr` (IsBrokeredFileSyscall) made with `args`, and returns its
// result as the kernel would: >= 0, or -errno. A number that is not brokered gets -ENOSYS.
long ServeFileCall(long nr, const uint64_t args[6], FileCallSite& site);

// Whether `nr` is execve or execveat.
bool IsExecSyscall(long nr);

// Serves execve or execveat (IsExecSyscall) made with `args`: Op::kExec asks the broker whether
// the policy lets the kernel execute the program, with its argv[0] for the log (empty when argv
// or argv[0] is NULL or unreadable: the kernel answers that itself). Allowed, the call proceeds
// in the kernel (FileCallSite::PerformInKernel) and 0 is returned; else the -errno the caller
// gets. execveat flags other than AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH are EINVAL; an empty
// path without AT_EMPTY_PATH is ENOENT. Another number gets -ENOSYS.
long ServeExecCall(long nr, const uint64_t args[6], FileCallSite& site);

}  // namespace sbox::proto

#endif  // SBOX_PROTO_FILE_CALL_H_
