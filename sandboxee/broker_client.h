#ifndef SBOX_SANDBOXEE_BROKER_CLIENT_H_
#define SBOX_SANDBOXEE_BROKER_CLIENT_H_

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/codec.h"
#include "proto/unique_fd.h"
#include "sandboxee/channel_pool.h"
#include "sandboxee/round_trip.h"

namespace sbox::sandboxee {

// The sandboxee's side of the broker: file operations it cannot make itself.
//
// Safe to use from several threads at once; each concurrent request gets a channel of its own
// (see ChannelPool).
//
// Paths mean what the kernel makes of them ("//", ".", "..", a trailing '/'), with ".." taken
// physically and symlinks followed hop by hop, each hop judged by the policy. A relative path
// resolves against `dirfd` when it is a directory descriptor the broker handed out, or against
// the sandbox's working directory when `dirfd` is AT_FDCWD (the default).
//
// Errors keep the broker's errno: ErrnoOf(status) returns it, and the message names the
// operation, the path and the errno, e.g. `open("/etc/shadow", O_RDONLY): EACCES (Permission
// denied)`. The errnos a caller sees (proto/PROTOCOL.md has the full table):
//   ENOENT        no rule covers the path (or a component of it, or a symlink's target): as
//                 if absent, unless the policy says `uncovered-paths EACCES`
//   EACCES        a deny rule (unless it names its own errno), a permission the rule lacks,
//                 an operation other than a lookup on an ancestor of a grant
//   EINVAL        empty path, NUL byte; open flags outside the allowlist; unknown access
//                 mode, stat, rename or socket flags
//   ENAMETOOLONG  longer than 4095 bytes
//   ELOOP         more than 40 symlinks, O_NOFOLLOW on a symlink, or a symlink swapped in
//                 while the path was resolved, again and again
//   EPERM         chmod with setuid, setgid or sticky bits, or beyond the policy's create mode
//   EEXIST        mkdir of a tree rule's own root (and the kernel's EEXIST)
//   EBADF         a relative path with a negative dirfd other than AT_FDCWD, or a closed dirfd
//   others        what the kernel said when the broker performed the operation (ENOENT, ...)
//   EPIPE, ECONNRESET, EPROTO  the channel failed; see RoundTrip
class BrokerClient {
 public:
  // Takes the channel the launcher handed to the sandboxee.
  explicit BrokerClient(UniqueFd channel);

  // open(2), openat(2), creat(2). The descriptor is close-on-exec (it is received with
  // MSG_CMSG_CLOEXEC) and never a controlling terminal. With O_CREAT the file's mode is
  // `mode` masked with the policy's create mode (default 0600), less the broker's umask.
  absl::StatusOr<UniqueFd> Open(absl::string_view path, int flags, mode_t mode = 0600,
                                int dirfd = AT_FDCWD);
  // access(2), faccessat(2): F_OK, or any of R_OK, W_OK, X_OK.
  absl::Status Access(absl::string_view path, int mode, int dirfd = AT_FDCWD);
  // stat(2), lstat(2), fstatat(2) (flags: 0 or AT_SYMLINK_NOFOLLOW).
  absl::StatusOr<struct stat> Stat(absl::string_view path, int dirfd = AT_FDCWD);
  absl::StatusOr<struct stat> Lstat(absl::string_view path, int dirfd = AT_FDCWD);
  // readlink(2): the whole target.
  absl::StatusOr<std::string> Readlink(absl::string_view path, int dirfd = AT_FDCWD);
  absl::Status Mkdir(absl::string_view path, mode_t mode, int dirfd = AT_FDCWD);
  absl::Status Rmdir(absl::string_view path, int dirfd = AT_FDCWD);
  absl::Status Unlink(absl::string_view path, int dirfd = AT_FDCWD);
  // rename(2), renameat2(2): flags 0, RENAME_NOREPLACE or RENAME_EXCHANGE.
  absl::Status Rename(absl::string_view old_path, absl::string_view new_path,
                      unsigned int flags = 0, int old_dirfd = AT_FDCWD, int new_dirfd = AT_FDCWD);
  absl::Status Link(absl::string_view old_path, absl::string_view new_path,
                    int old_dirfd = AT_FDCWD, int new_dirfd = AT_FDCWD);
  // symlink(2): `target` is stored as given; the broker judges the path it points to.
  absl::Status Symlink(absl::string_view target, absl::string_view link_path, int dirfd = AT_FDCWD);
  absl::Status Chmod(absl::string_view path, mode_t mode, int dirfd = AT_FDCWD);
  absl::Status Truncate(absl::string_view path, off_t length, int dirfd = AT_FDCWD);
  // A socket of `type` (SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM; | SOCK_NONBLOCK) connected to
  // the AF_UNIX socket at `path`.
  absl::StatusOr<UniqueFd> Connect(absl::string_view path, int type, int dirfd = AT_FDCWD);
  // Changes the working directory relative paths resolve against, for every thread.
  absl::Status Chdir(absl::string_view path, int dirfd = AT_FDCWD);
  // The working directory relative paths resolve against, as the broker keeps it (Op::kGetcwd):
  // absolute and normalized. Fails only when the channel does (EPIPE, ECONNRESET, EPROTO).
  absl::StatusOr<std::string> Getcwd();

  // Without allocation, for hot paths and signal handlers: a descriptor (OpenRaw), a length
  // (ReadlinkRaw: bytes copied into `buffer`, truncated to `size` as readlink(2) does), or 0;
  // or -errno.
  int OpenRaw(int dirfd, absl::string_view path, int flags, mode_t mode);
  int AccessRaw(int dirfd, absl::string_view path, int mode);
  int StatRaw(int dirfd, absl::string_view path, int flags, struct stat* out);
  int ReadlinkRaw(int dirfd, absl::string_view path, char* buffer, size_t size);
  // As the getcwd(2) syscall: writes the working directory and a terminating NUL into `buffer`
  // and returns the bytes written, NUL included; -ERANGE when `size` is too small for both
  // (nothing is written then).
  int GetcwdRaw(char* buffer, size_t size);
  // Any request: fills in the id and the descriptors for `dirfd` and `dirfd2`, sends it and
  // reads the reply.
  int Call(proto::Request request, int dirfd, int dirfd2, RoundTripReply* reply);

 private:
  ChannelPool pool_;
  std::atomic<uint32_t> next_id_{1};
};

// The errno in a status from BrokerClient: 0 for OK, -1 for a status it did not make.
int ErrnoOf(const absl::Status& status);

}  // namespace sbox::sandboxee

#endif  // SBOX_SANDBOXEE_BROKER_CLIENT_H_
