#include "proto/file_call.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <utime.h>

#include <string_view>
#include <utility>

#include "proto/file_syscalls.h"
#include "proto/wire_format.h"

// Everything here may run in a SIGSYS handler: no malloc, no locks, no errno.

namespace sbox::proto {
namespace {

// Permission bits: the kernel ignores the rest of a mode argument.
constexpr uint32_t kModeBits = 07777;
// openat2's open_how, as of its first version; larger structs must be zero beyond it.
constexpr uint64_t kOpenHowSize = 24;
constexpr uint64_t kMaxOpenHowSize = 4096;  // the kernel's PAGE_SIZE limit
constexpr uint64_t kResolveFlags = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS |
                                   RESOLVE_BENEATH | RESOLVE_IN_ROOT | RESOLVE_CACHED;
// The open flags openat2 knows (it refuses the rest, where open(2) ignores them).
constexpr uint64_t kValidOpenFlags = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND |
                                     O_NONBLOCK | O_DSYNC | FASYNC | O_DIRECT | O_LARGEFILE |
                                     O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH |
                                     O_SYNC | O_TMPFILE;
constexpr int kStatFlags = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT;

// One call being translated: its arguments, the caller, and room for what it points at.
class Translation {
 public:
  Translation(const uint64_t args[6], FileCallSite& site) : args_(args), site_(site) {}

  long Serve(long nr);

 private:
  uint64_t arg(int i) const { return args_[i]; }
  // Descriptors, flags and modes are C ints: the kernel reads the low 32 bits.
  int fd_arg(int i) const { return static_cast<int>(static_cast<uint32_t>(args_[i])); }
  uint32_t u32_arg(int i) const { return static_cast<uint32_t>(args_[i]); }

  // Reads path `which` (0 or 1) at `address` into the request. Returns 0 or -errno.
  long ReadPath(int which, uint64_t address);
  // Sends the request, with `dirfd` for the path and `dirfd2` for path2 where they are
  // relative (or empty, for an op on the descriptor itself). Returns the broker's result.
  long Ask(int dirfd, int dirfd2);
  // The request's status as the call's result: 0 on success.
  long AskStatus(int dirfd, int dirfd2 = AT_FDCWD) {
    const long result = Ask(dirfd, dirfd2);
    return result < 0 ? result : 0;
  }
  // A path op whose path must not be empty (the kernel's ENOENT).
  long PathOp(Op op, int dirfd, uint64_t path, uint32_t mode = 0);

  long Open(int dirfd, uint64_t path, uint32_t flags, uint32_t mode);
  long Openat2(int dirfd, uint64_t path, uint64_t how_address, uint64_t how_size);
  long Access(int dirfd, uint64_t path, uint32_t mode, uint32_t flags);
  long Stat(int dirfd, uint64_t path, uint32_t flags, struct stat* out);
  long StatInto(int dirfd, uint64_t path, uint64_t buffer, uint32_t flags);
  long Statx(int dirfd, uint64_t path, uint32_t flags, uint32_t mask, uint64_t buffer);
  long Statfs(uint64_t path, uint64_t buffer);
  long Readlink(int dirfd, uint64_t path, uint64_t buffer, int size);
  long Mknod(int dirfd, uint64_t path, uint32_t mode, uint64_t device);
  long Unlinkat(int dirfd, uint64_t path, uint32_t flags);
  long TwoPathOp(Op op, int old_dirfd, uint64_t old_path, int new_dirfd, uint64_t new_path,
                 uint32_t flags);
  long Symlink(uint64_t target, int dirfd, uint64_t path);
  // chmod, chown and utimens on a path, or with AT_EMPTY_PATH (`empty_path_ok`) and an empty
  // path on the descriptor itself. `allowed_flags`: the AT_ flags the call takes.
  long MetadataOp(Op op, int dirfd, uint64_t path, uint32_t flags, uint32_t allowed_flags);
  // The descriptor forms: fchmod, fchown, futimesat/utimensat with a NULL path.
  long DescriptorOp(Op op, int fd);
  long Chown(int dirfd, uint64_t path, uint32_t owner, uint32_t group, uint32_t flags);
  // utimensat's times (NULL: now); the other utime calls convert into it.
  long Utimens(int dirfd, uint64_t path, uint64_t times_address, uint32_t flags);
  long Utimes(int dirfd, uint64_t path, uint64_t timevals);
  long Utime(uint64_t path, uint64_t utimbuf);
  // `times` is validated and written to path2; nullptr: both now.
  long UtimensWith(int dirfd, uint64_t path, const struct timespec* times, uint32_t flags);
  long Truncate(uint64_t path, uint64_t length);
  long Fchdir(int fd);
  long Getcwd(uint64_t buffer, uint64_t size);
  long Connect(int fd, uint64_t address, int length);
  long Exec(int dirfd, uint64_t path, uint64_t argv, uint32_t flags);

  const uint64_t* args_;
  FileCallSite& site_;
  Request request_;
  char paths_[2][PATH_MAX];
  uint8_t times_[kWireTimesSize];
  uint8_t payload_[kMaxReplyPayload + 1];  // one more, for getcwd's NUL
  FileCallAnswer answer_;
};

long Translation::ReadPath(int which, uint64_t address) {
  const long length = site_.ReadString(address, paths_[which]);
  if (length < 0) return length;
  (which == 0 ? request_.path : request_.path2) =
      std::string_view(paths_[which], static_cast<size_t>(length));
  return 0;
}

long Translation::Ask(int dirfd, int dirfd2) {
  // A descriptor goes with a relative path, or an empty one (the descriptor itself); AT_FDCWD
  // is the broker's working directory; any other negative descriptor is EBADF.
  const auto needs_fd = [](std::string_view path, int fd) {
    return fd != AT_FDCWD && (path.empty() || path[0] != '/');
  };
  int fds[2] = {-1, -1};
  int count = 0;
  request_.fd_paths = 0;
  if (needs_fd(request_.path, dirfd)) {
    if (dirfd < 0) return -EBADF;
    request_.fd_paths |= kFdForPath;
    fds[count++] = dirfd;
  }
  if (needs_fd(request_.path2, dirfd2) && request_.op != Op::kSymlink &&
      request_.op != Op::kUtimens) {
    if (dirfd2 < 0) return -EBADF;
    request_.fd_paths |= kFdForPath2;
    fds[count++] = dirfd2;
  }
  answer_.payload = payload_;
  answer_.payload_size = 0;
  return site_.Ask(request_, fds, &answer_);
}

long Translation::PathOp(Op op, int dirfd, uint64_t path, uint32_t mode) {
  request_.op = op;
  request_.mode = mode;
  if (const long error = ReadPath(0, path); error != 0) return error;
  if (request_.path.empty()) return -ENOENT;
  return AskStatus(dirfd);
}

long Translation::Open(int dirfd, uint64_t path, uint32_t flags, uint32_t mode) {
  request_.op = Op::kOpen;
  request_.flags = flags;
  // The kernel ignores a mode without O_CREAT or O_TMPFILE; the broker refuses one.
  request_.mode = (flags & O_CREAT) ? (mode & kModeBits) : 0;
  if (const long error = ReadPath(0, path); error != 0) return error;
  if (request_.path.empty()) return -ENOENT;
  long result = Ask(dirfd, AT_FDCWD);
  if (result < 0) return result;
  if (!answer_.fd.valid()) return -EIO;
  result = site_.GiveDescriptor(std::move(answer_.fd), (flags & O_CLOEXEC) != 0);
  if (result == -EBADF && (flags & O_PATH)) {
    // A seccomp notification cannot install an O_PATH descriptor (the kernel's ADDFD takes no
    // O_PATH file): the read-only open the policy allows serves instead, where it does.
    request_.flags = O_RDONLY | (flags & (O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    result = Ask(dirfd, AT_FDCWD);
    if (result < 0) return result;
    if (!answer_.fd.valid()) return -EIO;
    result = site_.GiveDescriptor(std::move(answer_.fd), (flags & O_CLOEXEC) != 0);
  }
  return result;
}

long Translation::Openat2(int dirfd, uint64_t path, uint64_t how_address, uint64_t how_size) {
  if (how_size < kOpenHowSize) return -EINVAL;
  if (how_size > kMaxOpenHowSize) return -E2BIG;
  open_how how;
  if (const int error = site_.Read(how_address, &how, sizeof(how)); error != 0) return error;
  // A larger struct from a newer caller: what this kernel does not know must be zero.
  for (uint64_t at = kOpenHowSize; at < how_size; at += 8) {
    uint8_t rest[8] = {};
    const uint64_t size = how_size - at < 8 ? how_size - at : 8;
    if (const int error = site_.Read(how_address + at, rest, size); error != 0) return error;
    for (uint64_t i = 0; i < size; ++i) {
      if (rest[i] != 0) return -E2BIG;
    }
  }
  if ((how.flags & ~kValidOpenFlags) != 0 || (how.resolve & ~kResolveFlags) != 0) return -EINVAL;
  if ((how.resolve & RESOLVE_BENEATH) && (how.resolve & RESOLVE_IN_ROOT)) return -EINVAL;
  if (!(how.flags & O_CREAT) && (how.flags & O_TMPFILE) != O_TMPFILE && how.mode != 0) {
    return -EINVAL;
  }
  if ((how.mode & ~static_cast<uint64_t>(kModeBits)) != 0) return -EINVAL;
  request_.length = how.resolve;
  return Open(dirfd, path, static_cast<uint32_t>(how.flags), static_cast<uint32_t>(how.mode));
}

long Translation::Access(int dirfd, uint64_t path, uint32_t mode, uint32_t flags) {
  // AT_EACCESS changes nothing: the sandboxee's real and effective ids are the same.
  if ((flags & ~static_cast<uint32_t>(AT_EACCESS | AT_EMPTY_PATH)) != 0) return -EINVAL;
  if ((mode & ~static_cast<uint32_t>(R_OK | W_OK | X_OK)) != 0) return -EINVAL;
  request_.op = Op::kAccess;
  request_.flags = mode;
  if (const long error = ReadPath(0, path); error != 0) return error;
  if (request_.path.empty()) return (flags & AT_EMPTY_PATH) ? -EINVAL : -ENOENT;
  return AskStatus(dirfd);
}

long Translation::Stat(int dirfd, uint64_t path, uint32_t flags, struct stat* out) {
  // Since Linux 6.11 a NULL path with AT_EMPTY_PATH is the empty path.
  if (path != 0 || !(flags & AT_EMPTY_PATH)) {
    if (const long error = ReadPath(0, path); error != 0) return error;
  }
  if (request_.path.empty()) {
    if (!(flags & AT_EMPTY_PATH)) return -ENOENT;
    // fstat(2) of the caller's own descriptor needs no broker (glibc's fstat is this call).
    if (dirfd != AT_FDCWD) return site_.StatDescriptor(dirfd, out);
    request_.path = ".";
  }
  request_.op = Op::kStat;
  request_.flags = flags & AT_SYMLINK_NOFOLLOW;
  const long result = Ask(dirfd, AT_FDCWD);
  if (result < 0) return result;
  const std::string_view payload(reinterpret_cast<const char*>(payload_), answer_.payload_size);
  return DecodeStat(payload, out) == 0 ? 0 : -EPROTO;
}

long Translation::StatInto(int dirfd, uint64_t path, uint64_t buffer, uint32_t flags) {
  if ((flags & ~static_cast<uint32_t>(kStatFlags)) != 0) return -EINVAL;
  struct stat st;
  memset(&st, 0, sizeof(st));
  const long result = Stat(dirfd, path, flags, &st);
  if (result < 0) return result;
  // x86-64's struct stat is the kernel's.
  return site_.Write(buffer, &st, sizeof(st));
}

statx_timestamp Timestamp(const timespec& time) {
  statx_timestamp stamp = {};
  stamp.tv_sec = time.tv_sec;
  stamp.tv_nsec = static_cast<uint32_t>(time.tv_nsec);
  return stamp;
}

long Translation::Statx(int dirfd, uint64_t path, uint32_t flags, uint32_t mask, uint64_t buffer) {
  if ((flags & ~static_cast<uint32_t>(kStatFlags | AT_STATX_SYNC_TYPE)) != 0 ||
      (flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE) {
    return -EINVAL;
  }
  // The mask's reserved bit is for a future, larger struct statx.
  if ((mask & STATX__RESERVED) != 0) return -EINVAL;
  struct stat st;
  memset(&st, 0, sizeof(st));
  const long result = Stat(dirfd, path, flags, &st);
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
  return site_.Write(buffer, &out, sizeof(out));
}

long Translation::Statfs(uint64_t path, uint64_t buffer) {
  request_.op = Op::kStatfs;
  if (const long error = ReadPath(0, path); error != 0) return error;
  if (request_.path.empty()) return -ENOENT;
  const long result = Ask(AT_FDCWD, AT_FDCWD);
  if (result < 0) return result;
  struct statfs st;
  const std::string_view payload(reinterpret_cast<const char*>(payload_), answer_.payload_size);
  if (DecodeStatfs(payload, &st) != 0) return -EPROTO;
  return site_.Write(buffer, &st, sizeof(st));
}

long Translation::Readlink(int dirfd, uint64_t path, uint64_t buffer, int size) {
  if (size <= 0) return -EINVAL;
  request_.op = Op::kReadlink;
  if (const long error = ReadPath(0, path); error != 0) return error;
  if (request_.path.empty()) return -ENOENT;
  const long result = Ask(dirfd, AT_FDCWD);
  if (result < 0) return result;
  // Cut to the caller's buffer, without a NUL, as the kernel does.
  const size_t length = answer_.payload_size < static_cast<size_t>(size)
                            ? answer_.payload_size
                            : static_cast<size_t>(size);
  if (const int error = site_.Write(buffer, payload_, length); error != 0) return error;
  return static_cast<long>(length);
}

long Translation::Mknod(int dirfd, uint64_t path, uint32_t mode, uint64_t device) {
  // Regular files and FIFOs are names like any other; a device node would be a door to the
  // hardware, and a socket file is bind(2)'s.
  const uint32_t type = mode & S_IFMT;
  if (type != 0 && type != S_IFREG && type != S_IFIFO) return -EPERM;
  (void)device;  // ignored by the kernel for regular files and FIFOs
  return PathOp(Op::kMknod, dirfd, path, (type == 0 ? S_IFREG : type) | (mode & kModeBits));
}

long Translation::Unlinkat(int dirfd, uint64_t path, uint32_t flags) {
  if ((flags & ~static_cast<uint32_t>(AT_REMOVEDIR)) != 0) return -EINVAL;
  return PathOp((flags & AT_REMOVEDIR) ? Op::kRmdir : Op::kUnlink, dirfd, path);
}

long Translation::TwoPathOp(Op op, int old_dirfd, uint64_t old_path, int new_dirfd,
                            uint64_t new_path, uint32_t flags) {
  request_.op = op;
  request_.flags = flags;
  if (const long error = ReadPath(0, old_path); error != 0) return error;
  if (const long error = ReadPath(1, new_path); error != 0) return error;
  if (request_.path.empty() || request_.path2.empty()) return -ENOENT;
  return AskStatus(old_dirfd, new_dirfd);
}

long Translation::Symlink(uint64_t target, int dirfd, uint64_t path) {
  request_.op = Op::kSymlink;
  // The target is stored as given, never resolved against a descriptor.
  if (const long error = ReadPath(1, target); error != 0) return error;
  if (const long error = ReadPath(0, path); error != 0) return error;
  if (request_.path.empty() || request_.path2.empty()) return -ENOENT;
  return AskStatus(dirfd);
}

// The caller's descriptor that "/proc/self/fd/N" (or thread-self) names, or -1. glibc changes a
// file it holds as O_PATH through that magic link (fchmodat with AT_SYMLINK_NOFOLLOW).
int ProcSelfDescriptor(std::string_view path) {
  for (std::string_view prefix :
       {std::string_view("/proc/self/fd/"), std::string_view("/proc/thread-self/fd/")}) {
    if (path.substr(0, prefix.size()) != prefix || path.size() == prefix.size()) continue;
    int fd = 0;
    for (const char c : path.substr(prefix.size())) {
      if (c < '0' || c > '9' || fd > 100000000) return -1;
      fd = fd * 10 + (c - '0');
    }
    return fd;
  }
  return -1;
}

long Translation::MetadataOp(Op op, int dirfd, uint64_t path, uint32_t flags,
                             uint32_t allowed_flags) {
  if ((flags & ~allowed_flags) != 0) return -EINVAL;
  request_.op = op;
  request_.flags = flags & AT_SYMLINK_NOFOLLOW;
  if (const long error = ReadPath(0, path); error != 0) return error;
  if (const int fd = ProcSelfDescriptor(request_.path); fd >= 0) {
    request_.flags = 0;  // the magic link is followed: the descriptor's file itself
    return DescriptorOp(op, fd);
  }
  if (request_.path.empty()) {
    if (!(flags & AT_EMPTY_PATH)) return -ENOENT;
    if (dirfd == AT_FDCWD) request_.path = ".";
  }
  return AskStatus(dirfd);
}

long Translation::DescriptorOp(Op op, int fd) {
  if (fd < 0) return -EBADF;
  request_.op = op;
  request_.path = std::string_view();
  return AskStatus(fd);
}

long Translation::Chown(int dirfd, uint64_t path, uint32_t owner, uint32_t group, uint32_t flags) {
  request_.length = (static_cast<uint64_t>(owner) << 32) | group;
  return MetadataOp(Op::kChown, dirfd, path, flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH);
}

long Translation::UtimensWith(int dirfd, uint64_t path, const struct timespec* times,
                              uint32_t flags) {
  if (times != nullptr) {
    for (int i = 0; i < 2; ++i) {
      const long nsec = times[i].tv_nsec;
      if (nsec != UTIME_NOW && nsec != UTIME_OMIT && (nsec < 0 || nsec >= 1000000000)) {
        return -EINVAL;
      }
    }
    // Nothing to change: the kernel answers 0 before it looks the path up.
    if (times[0].tv_nsec == UTIME_OMIT && times[1].tv_nsec == UTIME_OMIT) return 0;
    EncodeTimes(times, times_);
    request_.path2 = std::string_view(reinterpret_cast<const char*>(times_), sizeof(times_));
  }
  if (path == 0) {
    // The descriptor itself (futimens); the kernel refuses a NULL path with AT_FDCWD.
    if ((flags & AT_SYMLINK_NOFOLLOW) != 0) return -EINVAL;
    if (dirfd == AT_FDCWD) return -EFAULT;
    return DescriptorOp(Op::kUtimens, dirfd);
  }
  return MetadataOp(Op::kUtimens, dirfd, path, flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH);
}

long Translation::Utimens(int dirfd, uint64_t path, uint64_t times_address, uint32_t flags) {
  if ((flags & ~static_cast<uint32_t>(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) != 0) return -EINVAL;
  if (times_address == 0) return UtimensWith(dirfd, path, nullptr, flags);
  struct timespec times[2];
  if (const int error = site_.Read(times_address, times, sizeof(times)); error != 0) return error;
  return UtimensWith(dirfd, path, times, flags);
}

long Translation::Utimes(int dirfd, uint64_t path, uint64_t timevals) {
  if (timevals == 0) return UtimensWith(dirfd, path, nullptr, 0);
  struct timeval given[2];
  if (const int error = site_.Read(timevals, given, sizeof(given)); error != 0) return error;
  struct timespec times[2];
  for (int i = 0; i < 2; ++i) {
    if (given[i].tv_usec < 0 || given[i].tv_usec >= 1000000) return -EINVAL;
    times[i].tv_sec = given[i].tv_sec;
    times[i].tv_nsec = given[i].tv_usec * 1000;
  }
  return UtimensWith(dirfd, path, times, 0);
}

long Translation::Utime(uint64_t path, uint64_t utimbuf_address) {
  if (utimbuf_address == 0) return UtimensWith(AT_FDCWD, path, nullptr, 0);
  struct utimbuf given;
  if (const int error = site_.Read(utimbuf_address, &given, sizeof(given)); error != 0) {
    return error;
  }
  const struct timespec times[2] = {{given.actime, 0}, {given.modtime, 0}};
  return UtimensWith(AT_FDCWD, path, times, 0);
}

long Translation::Truncate(uint64_t path, uint64_t length) {
  if (static_cast<int64_t>(length) < 0) return -EINVAL;
  request_.length = length;
  return PathOp(Op::kTruncate, AT_FDCWD, path);
}

long Translation::Fchdir(int fd) {
  if (fd < 0) return -EBADF;
  request_.op = Op::kChdir;
  request_.path = ".";
  return AskStatus(fd);
}

long Translation::Getcwd(uint64_t buffer, uint64_t size) {
  request_.op = Op::kGetcwd;
  const long result = Ask(AT_FDCWD, AT_FDCWD);
  if (result < 0) return result;
  // The kernel's getcwd writes a NUL-terminated path and returns its length with the NUL.
  const size_t length = answer_.payload_size + 1;
  if (size < length) return -ERANGE;
  payload_[answer_.payload_size] = '\0';
  if (const int error = site_.Write(buffer, payload_, length); error != 0) return error;
  return static_cast<long>(length);
}

// connect(2) of an AF_UNIX socket to a path: the broker connects a socket of the same type, and
// it replaces the caller's descriptor, with the caller's close-on-exec and O_NONBLOCK.
long Translation::Connect(int fd, uint64_t address, int length) {
  // In the kernel's order: the descriptor (EBADF), the address (EINVAL, EFAULT), then whether
  // the descriptor is a socket (ENOTSOCK).
  SocketFacts facts;
  if (const int error = site_.DescribeSocket(fd, &facts); error != 0) return error;
  if (length < static_cast<int>(sizeof(sa_family_t)) ||
      length > static_cast<int>(sizeof(sockaddr_storage))) {
    return -EINVAL;
  }
  sockaddr_un unix_address = {};
  const size_t read_size =
      static_cast<size_t>(length) < sizeof(unix_address) ? length : sizeof(unix_address);
  if (const int error = site_.Read(address, &unix_address, read_size); error != 0) return error;
  if (!facts.is_socket) return -ENOTSOCK;
  // Only a named AF_UNIX socket is a file the policy can judge.
  if (unix_address.sun_family != AF_UNIX) return -EACCES;
  if (facts.domain != AF_UNIX) return -EAFNOSUPPORT;
  if (static_cast<size_t>(length) > sizeof(sockaddr_un)) return -EINVAL;
  const size_t path_size = read_size - offsetof(sockaddr_un, sun_path);
  if (path_size == 0 || unix_address.sun_path[0] == '\0') return -EACCES;
  request_.op = Op::kConnect;
  request_.path =
      std::string_view(unix_address.sun_path, strnlen(unix_address.sun_path, path_size));
  request_.flags = static_cast<uint32_t>(facts.type) | (facts.nonblocking ? SOCK_NONBLOCK : 0);
  const long result = Ask(AT_FDCWD, AT_FDCWD);
  if (result < 0) return result;
  if (!answer_.fd.valid()) return -EIO;
  return site_.ReplaceDescriptor(std::move(answer_.fd), fd, facts.close_on_exec);
}

long Translation::Serve(long nr) {
  // The x86_64 calling convention: arguments in the order of the C prototypes.
  switch (nr) {
    case SYS_open:
      return Open(AT_FDCWD, arg(0), u32_arg(1), u32_arg(2));
    case SYS_openat:
      return Open(fd_arg(0), arg(1), u32_arg(2), u32_arg(3));
    case kSysOpenat2:
      return Openat2(fd_arg(0), arg(1), arg(2), arg(3));
    case SYS_creat:
      return Open(AT_FDCWD, arg(0), O_CREAT | O_WRONLY | O_TRUNC, u32_arg(1));
    case SYS_access:
      return Access(AT_FDCWD, arg(0), u32_arg(1), 0);
    case SYS_faccessat:
      return Access(fd_arg(0), arg(1), u32_arg(2), 0);
    case kSysFaccessat2:
      return Access(fd_arg(0), arg(1), u32_arg(2), u32_arg(3));
    case SYS_stat:
      return StatInto(AT_FDCWD, arg(0), arg(1), 0);
    case SYS_lstat:
      return StatInto(AT_FDCWD, arg(0), arg(1), AT_SYMLINK_NOFOLLOW);
    case SYS_newfstatat:
      return StatInto(fd_arg(0), arg(1), arg(2), u32_arg(3));
    case SYS_statx:
      return Statx(fd_arg(0), arg(1), u32_arg(2), u32_arg(3), arg(4));
    case SYS_statfs:
      return Statfs(arg(0), arg(1));
    case SYS_readlink:
      return Readlink(AT_FDCWD, arg(0), arg(1), fd_arg(2));
    case SYS_readlinkat:
      return Readlink(fd_arg(0), arg(1), arg(2), fd_arg(3));
    case SYS_mkdir:
      return PathOp(Op::kMkdir, AT_FDCWD, arg(0), u32_arg(1) & kModeBits);
    case SYS_mkdirat:
      return PathOp(Op::kMkdir, fd_arg(0), arg(1), u32_arg(2) & kModeBits);
    case SYS_mknod:
      return Mknod(AT_FDCWD, arg(0), u32_arg(1), arg(2));
    case SYS_mknodat:
      return Mknod(fd_arg(0), arg(1), u32_arg(2), arg(3));
    case SYS_rmdir:
      return PathOp(Op::kRmdir, AT_FDCWD, arg(0));
    case SYS_unlink:
      return PathOp(Op::kUnlink, AT_FDCWD, arg(0));
    case SYS_unlinkat:
      return Unlinkat(fd_arg(0), arg(1), u32_arg(2));
    case SYS_rename:
      return TwoPathOp(Op::kRename, AT_FDCWD, arg(0), AT_FDCWD, arg(1), 0);
    case SYS_renameat:
      return TwoPathOp(Op::kRename, fd_arg(0), arg(1), fd_arg(2), arg(3), 0);
    case SYS_renameat2:
      return TwoPathOp(Op::kRename, fd_arg(0), arg(1), fd_arg(2), arg(3), u32_arg(4));
    case SYS_link:
      return TwoPathOp(Op::kLink, AT_FDCWD, arg(0), AT_FDCWD, arg(1), 0);
    case SYS_linkat:
      // AT_SYMLINK_FOLLOW follows the old name's last symlink; AT_EMPTY_PATH (linking a
      // descriptor) needs CAP_DAC_READ_SEARCH, which the sandboxee never has.
      if ((u32_arg(4) & ~static_cast<uint32_t>(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) != 0) {
        return -EINVAL;
      }
      if (u32_arg(4) & AT_EMPTY_PATH) return -ENOENT;
      return TwoPathOp(Op::kLink, fd_arg(0), arg(1), fd_arg(2), arg(3), u32_arg(4));
    case SYS_symlink:
      return Symlink(arg(0), AT_FDCWD, arg(1));
    case SYS_symlinkat:
      return Symlink(arg(0), fd_arg(1), arg(2));
    case SYS_chmod:
      request_.mode = u32_arg(1) & kModeBits;
      return MetadataOp(Op::kChmod, AT_FDCWD, arg(0), 0, 0);
    case SYS_fchmod:
      request_.mode = u32_arg(1) & kModeBits;
      return DescriptorOp(Op::kChmod, fd_arg(0));
    case SYS_fchmodat:
      request_.mode = u32_arg(2) & kModeBits;
      return MetadataOp(Op::kChmod, fd_arg(0), arg(1), 0, 0);
    case kSysFchmodat2:
      request_.mode = u32_arg(2) & kModeBits;
      return MetadataOp(Op::kChmod, fd_arg(0), arg(1), u32_arg(3),
                        AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH);
    case SYS_chown:
      return Chown(AT_FDCWD, arg(0), u32_arg(1), u32_arg(2), 0);
    case SYS_lchown:
      return Chown(AT_FDCWD, arg(0), u32_arg(1), u32_arg(2), AT_SYMLINK_NOFOLLOW);
    case SYS_fchownat:
      return Chown(fd_arg(0), arg(1), u32_arg(2), u32_arg(3), u32_arg(4));
    case SYS_fchown:
      request_.length = (static_cast<uint64_t>(u32_arg(1)) << 32) | u32_arg(2);
      return DescriptorOp(Op::kChown, fd_arg(0));
    case SYS_utime:
      return Utime(arg(0), arg(1));
    case SYS_utimes:
      return Utimes(AT_FDCWD, arg(0), arg(1));
    case SYS_futimesat:
      return Utimes(fd_arg(0), arg(1), arg(2));
    case SYS_utimensat:
      return Utimens(fd_arg(0), arg(1), arg(2), u32_arg(3));
    case SYS_truncate:
      return Truncate(arg(0), arg(1));
    case SYS_chdir:
      return PathOp(Op::kChdir, AT_FDCWD, arg(0));
    case SYS_fchdir:
      return Fchdir(fd_arg(0));
    case SYS_getcwd:
      return Getcwd(arg(0), arg(1));
    case SYS_connect:
      return Connect(fd_arg(0), arg(1), fd_arg(2));
    case SYS_execve:
      return Exec(AT_FDCWD, arg(0), arg(1), 0);
    case SYS_execveat:
      return Exec(fd_arg(0), arg(1), arg(2), u32_arg(4));
  }
  return -ENOSYS;
}

long Translation::Exec(int dirfd, uint64_t path, uint64_t argv, uint32_t flags) {
  if ((flags & ~static_cast<uint32_t>(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) != 0) return -EINVAL;
  request_.op = Op::kExec;
  request_.flags = flags & AT_SYMLINK_NOFOLLOW;
  if (const long error = ReadPath(0, path); error != 0) return error;
  if (request_.path.empty() && !(flags & AT_EMPTY_PATH)) return -ENOENT;
  uint64_t argv0 = 0;
  if (argv != 0 && site_.Read(argv, &argv0, sizeof(argv0)) == 0 && argv0 != 0 &&
      ReadPath(1, argv0) != 0) {
    request_.path2 = {};
  }
  if (const long result = AskStatus(dirfd); result < 0) return result;
  return site_.PerformInKernel();
}

static_assert(sizeof(struct utimbuf) == 16 && sizeof(struct timeval) == 16,
              "x86-64's utime and utimes layouts");

}  // namespace

long ServeFileCall(long nr, const uint64_t args[6], FileCallSite& site) {
  if (!IsBrokeredFileSyscall(nr)) return -ENOSYS;
  Translation translation(args, site);
  return translation.Serve(nr);
}

bool IsExecSyscall(long nr) { return nr == SYS_execve || nr == SYS_execveat; }

long ServeExecCall(long nr, const uint64_t args[6], FileCallSite& site) {
  if (!IsExecSyscall(nr)) return -ENOSYS;
  Translation translation(args, site);
  return translation.Serve(nr);
}

}  // namespace sbox::proto
