#include "sandboxee/file_redirection.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/stat.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string_view>

#include "proto/codec.h"
#include "proto/unique_fd.h"
#include "proto/wire_format.h"
#include "sandboxee/channel_pool.h"
#include "sandboxee/redirected_file_calls.h"
#include "sandboxee/round_trip.h"

// Everything below runs in the SIGSYS handler, at any point of the sandboxee's code, other
// handlers' included: no malloc, no locks, no stdio, no absl, nothing that sets errno without
// restoring it, and no syscall the filter redirects (which would trap again).

namespace sbox::sandboxee {
namespace {

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1  // si_code of a seccomp SIGSYS; older libc headers lack it
#endif

constexpr unsigned long kX32SyscallBit = 0x40000000;
// No valid user pointer lies below the first page or at or above the top of the x86-64 user
// address space (47 bits).
constexpr uint64_t kLowestUserAddress = 4096;
constexpr uint64_t kUserAddressEnd = uint64_t{1} << 47;
constexpr uint64_t kSigsetSize = 8;  // the kernel's sigset_t

// A syscall without libc: never touches errno, returns -errno on failure.
long RawSyscall(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0) {
  register long r10 asm("r10") = a3;
  register long r8 asm("r8") = a4;
  long result;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8)
               : "rcx", "r11", "memory");
  return result;
}

bool BadPointer(uint64_t address) {
  return address < kLowestUserAddress || address >= kUserAddressEnd;
}

// The broker channels the handler uses. Placement-new'd by InstallFileRedirection: a static
// ChannelPool would need a constructor run at start-up and a destructor at exit, when the
// broker may already be gone.
alignas(ChannelPool) unsigned char g_pool_storage[sizeof(ChannelPool)];
std::atomic<ChannelPool*> g_pool{nullptr};
std::atomic<uint32_t> g_next_id{1};

// Sends `request` with the directory descriptors its relative paths need, as BrokerClient::Call
// does: a descriptor goes only with a non-empty relative path, AT_FDCWD means the broker's
// working directory, and any other negative dirfd with a relative path is EBADF.
int Call(proto::Request request, int dirfd, int dirfd2, RoundTripReply* reply) {
  int dirfds[2];
  if (const int count = AttachDirectoryDescriptors(&request, dirfd, dirfd2, dirfds); count < 0) {
    return count;
  }
  request.id = g_next_id.fetch_add(1, std::memory_order_relaxed);
  ChannelPool::Lease lease = g_pool.load(std::memory_order_acquire)->Acquire();
  const int result = RoundTrip(lease.fd(), request, dirfds, reply);
  if (reply->channel_failed) lease.Discard();
  return result;
}

// A path argument, read from the caller's memory and made acceptable to the broker.
class PathArg {
 public:
  // Returns 0, or -EFAULT (NULL or outside user space) or -ENAMETOOLONG (no NUL within
  // PATH_MAX bytes, as the kernel counts).
  int Read(uint64_t address) {
    if (BadPointer(address)) return -EFAULT;
    const char* path = reinterpret_cast<const char*>(address);
    const size_t size = strnlen(path, PATH_MAX);
    if (size == PATH_MAX) return -ENAMETOOLONG;
    path_ = std::string_view(path, size);
    if (size > 0 && path[0] == '/') Fold();
    return 0;
  }

  std::string_view path() const { return path_; }
  bool empty() const { return path_.empty(); }
  // An absolute path that named a directory explicitly ("/a/b/", "/a/b/.").
  bool names_directory() const { return names_directory_; }

 private:
  // The broker takes absolute paths only normalized (PROTOCOL.md §5.1) and folds relative ones
  // lexically (§5.2); an absolute path is folded here the same way, into `folded_`, which the
  // result never outgrows.
  void Fold() {
    const std::string_view in = path_;
    size_t length = 0;
    size_t start = 0;
    bool last_was_dot = false;
    while (start < in.size()) {
      size_t end = in.find('/', start);
      if (end == std::string_view::npos) end = in.size();
      const std::string_view component = in.substr(start, end - start);
      start = end + 1;
      last_was_dot = component == "." || component == "..";
      if (component.empty() || component == ".") continue;
      if (component == "..") {
        while (length > 0 && folded_[length - 1] != '/') --length;
        if (length > 0) --length;
        continue;
      }
      folded_[length++] = '/';
      memcpy(folded_ + length, component.data(), component.size());
      length += component.size();
    }
    if (length == 0) folded_[length++] = '/';
    names_directory_ = length > 1 && (in.back() == '/' || last_was_dot);
    path_ = std::string_view(folded_, length);
  }

  std::string_view path_;
  bool names_directory_ = false;
  char folded_[PATH_MAX];
};

proto::Request PathRequest(proto::Op op, std::string_view path) {
  proto::Request request;
  request.op = op;
  request.path = path;
  return request;
}

long Open(int dirfd, uint64_t path_address, uint64_t flags, uint64_t mode) {
  PathArg path;
  if (const int error = path.Read(path_address); error != 0) return error;
  if (path.empty()) return -ENOENT;
  const uint32_t open_flags =
      static_cast<uint32_t>(flags) | (path.names_directory() ? O_DIRECTORY : 0);
  proto::Request request = PathRequest(proto::Op::kOpen, path.path());
  request.flags = open_flags;
  // The broker refuses a mode without O_CREAT (the kernel ignores it).
  request.mode = (open_flags & O_CREAT) ? static_cast<uint32_t>(mode & 07777) : 0;
  RoundTripReply reply;
  const int result = Call(request, dirfd, AT_FDCWD, &reply);
  if (result < 0) return result;
  const int fd = reply.fd.release();
  // Received descriptors are close-on-exec (MSG_CMSG_CLOEXEC); the call decides.
  if (!(open_flags & O_CLOEXEC)) RawSyscall(SYS_fcntl, fd, F_SETFD, 0);
  return fd;
}

long Access(int dirfd, uint64_t path_address, uint64_t mode, uint64_t flags) {
  // AT_EACCESS is meaningless here: the sandboxee's real and effective ids are the same.
  if ((flags & ~static_cast<uint64_t>(AT_EACCESS | AT_EMPTY_PATH)) != 0) return -EINVAL;
  if ((mode & ~static_cast<uint64_t>(R_OK | W_OK | X_OK)) != 0) return -EINVAL;
  PathArg path;
  if (const int error = path.Read(path_address); error != 0) return error;
  if (path.empty()) return (flags & AT_EMPTY_PATH) ? -EINVAL : -ENOENT;
  proto::Request request = PathRequest(proto::Op::kAccess, path.path());
  request.flags = static_cast<uint32_t>(mode);
  RoundTripReply reply;
  const int result = Call(request, dirfd, AT_FDCWD, &reply);
  return result < 0 ? result : 0;
}

// stat, lstat, newfstatat, and statx's lookup: fills `out`. `flags`: AT_SYMLINK_NOFOLLOW,
// AT_EMPTY_PATH (already checked against the call's allowed flags).
long StatPath(int dirfd, uint64_t path_address, uint64_t flags, struct stat* out) {
  PathArg path;
  // Since Linux 6.11 a NULL path with AT_EMPTY_PATH is the empty path.
  if (path_address != 0 || !(flags & AT_EMPTY_PATH)) {
    if (const int error = path.Read(path_address); error != 0) return error;
  }
  std::string_view name = path.path();
  if (name.empty()) {
    if (!(flags & AT_EMPTY_PATH)) return -ENOENT;
    // fstat(2) is the caller's own to make (basic I/O); the working directory is the broker's.
    if (dirfd != AT_FDCWD) return RawSyscall(SYS_fstat, dirfd, reinterpret_cast<long>(out));
    name = ".";
  }
  proto::Request request = PathRequest(proto::Op::kStat, name);
  request.flags = static_cast<uint32_t>(flags & AT_SYMLINK_NOFOLLOW);
  RoundTripReply reply;
  const int result = Call(request, dirfd, AT_FDCWD, &reply);
  if (result < 0) return result;
  const std::string_view payload(reinterpret_cast<const char*>(reply.payload), reply.payload_size);
  return proto::DecodeStat(payload, out) == 0 ? 0 : -EPROTO;
}

long Stat(int dirfd, uint64_t path_address, uint64_t buffer, uint64_t flags) {
  if ((flags & ~static_cast<uint64_t>(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)) !=
      0) {
    return -EINVAL;
  }
  if (BadPointer(buffer)) return -EFAULT;
  struct stat st;
  memset(&st, 0, sizeof(st));
  const long result = StatPath(dirfd, path_address, flags, &st);
  if (result < 0) return result;
  // x86-64's struct stat is the kernel's.
  memcpy(reinterpret_cast<void*>(buffer), &st, sizeof(st));
  return 0;
}

statx_timestamp Timestamp(const timespec& time) {
  statx_timestamp stamp = {};
  stamp.tv_sec = time.tv_sec;
  stamp.tv_nsec = static_cast<uint32_t>(time.tv_nsec);
  return stamp;
}

long Statx(int dirfd, uint64_t path_address, uint64_t flags, uint64_t mask, uint64_t buffer) {
  constexpr uint64_t kAllowed =
      AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE;
  if ((flags & ~kAllowed) != 0 || (flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE) {
    return -EINVAL;
  }
  if ((mask & STATX__RESERVED) != 0) return -EINVAL;
  if (BadPointer(buffer)) return -EFAULT;
  struct stat st;
  memset(&st, 0, sizeof(st));
  const long result = StatPath(dirfd, path_address, flags, &st);
  if (result < 0) return result;
  struct statx out;
  memset(&out, 0, sizeof(out));
  out.stx_mask = STATX_BASIC_STATS;
  out.stx_blksize = static_cast<uint32_t>(st.st_blksize);
  out.stx_nlink = static_cast<uint32_t>(st.st_nlink);
  out.stx_uid = st.st_uid;
  out.stx_gid = st.st_gid;
  out.stx_mode = static_cast<uint16_t>(st.st_mode);
  out.stx_ino = st.st_ino;
  out.stx_size = static_cast<uint64_t>(st.st_size);
  out.stx_blocks = static_cast<uint64_t>(st.st_blocks);
  out.stx_atime = Timestamp(st.st_atim);
  out.stx_mtime = Timestamp(st.st_mtim);
  out.stx_ctime = Timestamp(st.st_ctim);
  out.stx_rdev_major = major(st.st_rdev);
  out.stx_rdev_minor = minor(st.st_rdev);
  out.stx_dev_major = major(st.st_dev);
  out.stx_dev_minor = minor(st.st_dev);
  memcpy(reinterpret_cast<void*>(buffer), &out, sizeof(out));
  return 0;
}

long Readlink(int dirfd, uint64_t path_address, uint64_t buffer, uint64_t size) {
  if (static_cast<int64_t>(size) <= 0) return -EINVAL;
  PathArg path;
  if (const int error = path.Read(path_address); error != 0) return error;
  if (path.empty()) return -ENOENT;
  if (BadPointer(buffer)) return -EFAULT;
  RoundTripReply reply;
  const int result = Call(PathRequest(proto::Op::kReadlink, path.path()), dirfd, AT_FDCWD, &reply);
  if (result == -EACCES) {
    // readlink needs r, which the directories above a grant never have; but realpath(3)
    // readlinks every component and takes only EINVAL for "not a symlink". Those directories
    // may be lstat'ed (PROTOCOL.md §6.3), and what the kernel would answer follows from it.
    struct stat st;
    if (StatPath(dirfd, path_address, AT_SYMLINK_NOFOLLOW, &st) == 0 && !S_ISLNK(st.st_mode)) {
      return -EINVAL;
    }
    return result;
  }
  if (result < 0) return result;
  // Truncated to the caller's buffer, without a NUL, as readlink(2) does.
  const size_t copied = reply.payload_size < size ? reply.payload_size : size;
  memcpy(reinterpret_cast<void*>(buffer), reply.payload, copied);
  return static_cast<long>(copied);
}

// mkdir, rmdir, unlink, chmod, chdir: one path and perhaps a mode.
long PathOp(proto::Op op, int dirfd, uint64_t path_address, uint64_t mode) {
  PathArg path;
  if (const int error = path.Read(path_address); error != 0) return error;
  if (path.empty()) return -ENOENT;
  proto::Request request = PathRequest(op, path.path());
  // The kernel keeps only the permission bits (S_IALLUGO) of a mkdir or chmod mode.
  request.mode = static_cast<uint32_t>(mode & 07777);
  RoundTripReply reply;
  const int result = Call(request, dirfd, AT_FDCWD, &reply);
  return result < 0 ? result : 0;
}

long Unlinkat(int dirfd, uint64_t path_address, uint64_t flags) {
  if (flags == AT_REMOVEDIR) return PathOp(proto::Op::kRmdir, dirfd, path_address, 0);
  if (flags != 0) return -EINVAL;
  return PathOp(proto::Op::kUnlink, dirfd, path_address, 0);
}

// rename and link: two paths, each with its own directory.
long TwoPathOp(proto::Op op, int old_dirfd, uint64_t old_address, int new_dirfd,
               uint64_t new_address, uint64_t flags) {
  PathArg old_path;
  PathArg new_path;
  if (const int error = old_path.Read(old_address); error != 0) return error;
  if (const int error = new_path.Read(new_address); error != 0) return error;
  if (old_path.empty() || new_path.empty()) return -ENOENT;
  proto::Request request = PathRequest(op, old_path.path());
  request.path2 = new_path.path();
  request.flags = static_cast<uint32_t>(flags);
  RoundTripReply reply;
  const int result = Call(request, old_dirfd, new_dirfd, &reply);
  return result < 0 ? result : 0;
}

long Symlink(uint64_t target_address, int dirfd, uint64_t link_address) {
  // The target is stored as given: read it, never fold it.
  if (BadPointer(target_address)) return -EFAULT;
  const char* target = reinterpret_cast<const char*>(target_address);
  const size_t target_size = strnlen(target, PATH_MAX);
  if (target_size == PATH_MAX) return -ENAMETOOLONG;
  if (target_size == 0) return -ENOENT;
  PathArg link;
  if (const int error = link.Read(link_address); error != 0) return error;
  if (link.empty()) return -ENOENT;
  proto::Request request = PathRequest(proto::Op::kSymlink, link.path());
  request.path2 = std::string_view(target, target_size);
  RoundTripReply reply;
  const int result = Call(request, dirfd, AT_FDCWD, &reply);
  return result < 0 ? result : 0;
}

long Truncate(uint64_t path_address, uint64_t length) {
  if (static_cast<int64_t>(length) < 0) return -EINVAL;
  PathArg path;
  if (const int error = path.Read(path_address); error != 0) return error;
  if (path.empty()) return -ENOENT;
  proto::Request request = PathRequest(proto::Op::kTruncate, path.path());
  request.length = length;
  RoundTripReply reply;
  const int result = Call(request, AT_FDCWD, AT_FDCWD, &reply);
  return result < 0 ? result : 0;
}

// fchdir(fd) is the broker's chdir to the directory `fd` names.
long Fchdir(int fd) {
  if (fd < 0) return -EBADF;
  RoundTripReply reply;
  const int result = Call(PathRequest(proto::Op::kChdir, "."), fd, AT_FDCWD, &reply);
  return result < 0 ? result : 0;
}

long Getcwd(uint64_t buffer, uint64_t size) {
  proto::Request request;
  request.op = proto::Op::kGetcwd;
  RoundTripReply reply;
  const int result = Call(request, AT_FDCWD, AT_FDCWD, &reply);
  if (result < 0) return result;
  if (reply.payload_size >= size) return -ERANGE;
  if (BadPointer(buffer)) return -EFAULT;
  char* out = reinterpret_cast<char*>(buffer);
  memcpy(out, reply.payload, reply.payload_size);
  out[reply.payload_size] = '\0';
  // The kernel's getcwd returns the bytes written, the NUL included.
  return static_cast<long>(reply.payload_size + 1);
}

// connect(2) of an AF_UNIX socket to a path: the broker connects a socket of the same type and
// it replaces the caller's descriptor, with the caller's close-on-exec and O_NONBLOCK.
long Connect(int fd, uint64_t address, uint64_t address_size) {
  if (BadPointer(address)) return -EFAULT;
  if (address_size < sizeof(sa_family_t) || address_size > sizeof(sockaddr_un)) return -EINVAL;
  const auto* unix_address = reinterpret_cast<const sockaddr_un*>(address);
  const size_t path_room = address_size - offsetof(sockaddr_un, sun_path);
  if (unix_address->sun_family != AF_UNIX || address_size <= offsetof(sockaddr_un, sun_path) ||
      unix_address->sun_path[0] == '\0') {
    return -EACCES;  // the broker connects only to sockets bound to a path
  }
  // The type also answers whether `fd` is a socket at all (EBADF, ENOTSOCK as connect would).
  int type = 0;
  socklen_t type_size = sizeof(type);
  const long got = RawSyscall(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE,
                              reinterpret_cast<long>(&type), reinterpret_cast<long>(&type_size));
  if (got < 0) return got;
  const long status_flags = RawSyscall(SYS_fcntl, fd, F_GETFL);
  const long descriptor_flags = RawSyscall(SYS_fcntl, fd, F_GETFD);
  if (status_flags < 0) return status_flags;
  if (descriptor_flags < 0) return descriptor_flags;
  proto::Request request = PathRequest(
      proto::Op::kConnect,
      std::string_view(unix_address->sun_path, strnlen(unix_address->sun_path, path_room)));
  request.flags = static_cast<uint32_t>(type) | ((status_flags & O_NONBLOCK) ? SOCK_NONBLOCK : 0);
  RoundTripReply reply;
  const int result = Call(request, AT_FDCWD, AT_FDCWD, &reply);
  if (result < 0) return result;
  const long moved =
      RawSyscall(SYS_dup3, reply.fd.get(), fd, (descriptor_flags & FD_CLOEXEC) ? O_CLOEXEC : 0);
  return moved < 0 ? moved : 0;
}

// rt_sigprocmask, on the interrupted context: the mask the thread had when it trapped is
// uc_sigmask, and whatever is stored there is what rt_sigreturn installs. SIGSYS, SIGKILL and
// SIGSTOP never enter it, so no thread can block the trap signal.
long SigProcMask(uint64_t how, uint64_t set_address, uint64_t old_address, uint64_t set_size,
                 ucontext_t* context) {
  if (set_size != kSigsetSize) return -EINVAL;
  uint64_t mask;
  memcpy(&mask, &context->uc_sigmask, sizeof(mask));
  const uint64_t old_mask = mask;
  if (set_address != 0) {
    if (BadPointer(set_address)) return -EFAULT;
    uint64_t set;
    memcpy(&set, reinterpret_cast<const void*>(set_address), sizeof(set));
    switch (how) {
      case SIG_BLOCK:
        mask |= set;
        break;
      case SIG_UNBLOCK:
        mask &= ~set;
        break;
      case SIG_SETMASK:
        mask = set;
        break;
      default:
        return -EINVAL;
    }
  }
  if (old_address != 0) {
    if (BadPointer(old_address)) return -EFAULT;
    memcpy(reinterpret_cast<void*>(old_address), &old_mask, sizeof(old_mask));
  }
  const auto bit = [](int signal) { return uint64_t{1} << (signal - 1); };
  mask &= ~(bit(SIGSYS) | bit(SIGKILL) | bit(SIGSTOP));
  memcpy(&context->uc_sigmask, &mask, sizeof(mask));
  return 0;
}

long Dispatch(long nr, const greg_t* regs, ucontext_t* context) {
  const uint64_t a0 = static_cast<uint64_t>(regs[REG_RDI]);
  const uint64_t a1 = static_cast<uint64_t>(regs[REG_RSI]);
  const uint64_t a2 = static_cast<uint64_t>(regs[REG_RDX]);
  const uint64_t a3 = static_cast<uint64_t>(regs[REG_R10]);
  const uint64_t a4 = static_cast<uint64_t>(regs[REG_R8]);
  // Descriptor arguments are C ints: the kernel reads the low 32 bits.
  const auto fd = [](uint64_t value) { return static_cast<int>(value); };
  switch (nr) {
    case SYS_open:
      return Open(AT_FDCWD, a0, a1, a2);
    case SYS_openat:
      return Open(fd(a0), a1, a2, a3);
    case SYS_creat:
      return Open(AT_FDCWD, a0, O_CREAT | O_WRONLY | O_TRUNC, a1);
    case SYS_access:
      return Access(AT_FDCWD, a0, a1, 0);
    case SYS_faccessat:
      return Access(fd(a0), a1, a2, 0);
    case SYS_faccessat2:
      return Access(fd(a0), a1, a2, a3);
    case SYS_stat:
      return Stat(AT_FDCWD, a0, a1, 0);
    case SYS_lstat:
      return Stat(AT_FDCWD, a0, a1, AT_SYMLINK_NOFOLLOW);
    case SYS_newfstatat:
      return Stat(fd(a0), a1, a2, a3);
    case SYS_statx:
      return Statx(fd(a0), a1, a2, a3, a4);
    case SYS_readlink:
      return Readlink(AT_FDCWD, a0, a1, a2);
    case SYS_readlinkat:
      return Readlink(fd(a0), a1, a2, a3);
    case SYS_mkdir:
      return PathOp(proto::Op::kMkdir, AT_FDCWD, a0, a1);
    case SYS_mkdirat:
      return PathOp(proto::Op::kMkdir, fd(a0), a1, a2);
    case SYS_rmdir:
      return PathOp(proto::Op::kRmdir, AT_FDCWD, a0, 0);
    case SYS_unlink:
      return PathOp(proto::Op::kUnlink, AT_FDCWD, a0, 0);
    case SYS_unlinkat:
      return Unlinkat(fd(a0), a1, a2);
    case SYS_rename:
      return TwoPathOp(proto::Op::kRename, AT_FDCWD, a0, AT_FDCWD, a1, 0);
    case SYS_renameat:
      return TwoPathOp(proto::Op::kRename, fd(a0), a1, fd(a2), a3, 0);
    case SYS_renameat2:
      return TwoPathOp(proto::Op::kRename, fd(a0), a1, fd(a2), a3, a4);
    case SYS_link:
      return TwoPathOp(proto::Op::kLink, AT_FDCWD, a0, AT_FDCWD, a1, 0);
    case SYS_linkat:
      // AT_SYMLINK_FOLLOW and AT_EMPTY_PATH have no broker op.
      if (a4 != 0) return -EINVAL;
      return TwoPathOp(proto::Op::kLink, fd(a0), a1, fd(a2), a3, 0);
    case SYS_symlink:
      return Symlink(a0, AT_FDCWD, a1);
    case SYS_symlinkat:
      return Symlink(a0, fd(a1), a2);
    case SYS_chmod:
      return PathOp(proto::Op::kChmod, AT_FDCWD, a0, a1);
    case SYS_fchmodat:
      return PathOp(proto::Op::kChmod, fd(a0), a1, a2);
    case SYS_truncate:
      return Truncate(a0, a1);
    case SYS_chdir:
      return PathOp(proto::Op::kChdir, AT_FDCWD, a0, 0);
    case SYS_fchdir:
      return Fchdir(fd(a0));
    case SYS_getcwd:
      return Getcwd(a0, a1);
    case SYS_connect:
      return Connect(fd(a0), a1, a2);
    case SYS_rt_sigprocmask:
      return SigProcMask(a0, a1, a2, a3, context);
    default:
      return -ENOSYS;  // not reached: HandleSigsys serves only IsRedirectedSyscall numbers
  }
}

// Ends the process by SIGSYS, as an unhandled SIGSYS would. sbox's filter kills the whole
// process at once, with SIGSYS, for a syscall of another ABI; so an x32 syscall gets exactly
// that without touching SIGSYS's disposition, which the filter refuses to change. Without such
// a filter the x32 call simply fails, and the default disposition is free to restore.
[[noreturn]] void DieBySigsys() {
  RawSyscall(static_cast<long>(kX32SyscallBit | SYS_getpid));
  struct sigaction default_action = {};
  default_action.sa_handler = SIG_DFL;
  sigaction(SIGSYS, &default_action, nullptr);
  uint64_t unblock = uint64_t{1} << (SIGSYS - 1);
  RawSyscall(SYS_rt_sigprocmask, SIG_UNBLOCK, reinterpret_cast<long>(&unblock), 0, kSigsetSize);
  RawSyscall(SYS_tgkill, RawSyscall(SYS_getpid), RawSyscall(SYS_gettid), SIGSYS);
  RawSyscall(SYS_exit_group, 128 + SIGSYS);
  __builtin_unreachable();
}

void HandleSigsys(int, siginfo_t* info, void* raw_context) {
  const int saved_errno = errno;
  auto* context = static_cast<ucontext_t*>(raw_context);
  if (info->si_code != SYS_SECCOMP || info->si_arch != AUDIT_ARCH_X86_64 ||
      !IsRedirectedSyscall(info->si_syscall)) {
    DieBySigsys();
  }
  greg_t* regs = context->uc_mcontext.gregs;
  regs[REG_RAX] = Dispatch(info->si_syscall, regs, context);
  errno = saved_errno;
}

}  // namespace

bool IsRedirectedSyscall(long nr) { return IsRedirectedFileCall(nr) || nr == SYS_rt_sigprocmask; }

int InstallFileRedirection(int channel_fd) {
  if (g_pool.load(std::memory_order_acquire) != nullptr) return -EBUSY;
  const int channel = ChannelPool::RequestChannel(channel_fd);
  if (channel < 0) return channel;
  g_pool.store(new (g_pool_storage) ChannelPool(UniqueFd(channel)), std::memory_order_release);

  struct sigaction action = {};
  action.sa_sigaction = HandleSigsys;
  // SA_NODEFER: SIGSYS stays deliverable inside the handler and in any handler that interrupts
  // a redirected call's caller. The mask keeps other handlers out of a round trip (see the
  // header); fault signals stay deliverable, so a bad pointer faults as in the caller's code.
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigfillset(&action.sa_mask);
  for (int signal : {SIGSYS, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP}) {
    sigdelset(&action.sa_mask, signal);
  }
  if (sigaction(SIGSYS, &action, nullptr) != 0) return -errno;
  sigset_t sigsys;
  sigemptyset(&sigsys);
  sigaddset(&sigsys, SIGSYS);
  if (sigprocmask(SIG_UNBLOCK, &sigsys, nullptr) != 0) return -errno;
  return 0;
}

}  // namespace sbox::sandboxee
