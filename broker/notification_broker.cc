#include "broker/notification_broker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

#include "broker/violation_listener.h"
#include "proto/codec.h"
#include "proto/unique_fd.h"
#include "sandboxee/redirected_file_calls.h"

namespace sbox {
namespace {

// pidfd_open(2)'s PIDFD_THREAD (Linux 6.9): a pidfd of one thread, not of its thread group.
// It has O_EXCL's value; older C headers do not name it.
constexpr unsigned kPidfdThread = O_EXCL;

// AT_* flags the stat calls accept. AT_NO_AUTOMOUNT changes nothing the broker can observe.
constexpr uint32_t kStatFlags = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT;
constexpr uint32_t kStatxFlags = kStatFlags | AT_STATX_SYNC_TYPE;

// Permission bits: the kernel ignores the rest of a mode argument.
constexpr uint32_t kModeBits = 07777;

// One notification being answered: access to the calling thread's memory and descriptors,
// and the answer, given at most once.
class Call {
 public:
  Call(int listener, const seccomp_notif& notif) : listener_(listener), notif_(notif) {}

  uint64_t arg(int i) const { return notif_.data.args[i]; }
  // The kernel reads int arguments (descriptors, flags) from the low 32 bits.
  int int_arg(int i) const { return static_cast<int>(static_cast<uint32_t>(arg(i))); }

  // Reads the NUL-terminated string at `address`. Returns 0, EFAULT when it cannot be read up
  // to its NUL, or ENAMETOOLONG when it has no NUL within PATH_MAX bytes.
  int ReadPath(uint64_t address, std::string* out) const {
    char buffer[PATH_MAX];
    const ssize_t got = ReadMemory(address, buffer, sizeof(buffer));
    if (got <= 0) return EFAULT;
    const size_t length = strnlen(buffer, static_cast<size_t>(got));
    if (length == static_cast<size_t>(got)) {
      return got == static_cast<ssize_t>(sizeof(buffer)) ? ENAMETOOLONG : EFAULT;
    }
    out->assign(buffer, length);
    return 0;
  }

  // Reads exactly `size` bytes at `address`. Returns 0 or EFAULT.
  int Read(uint64_t address, void* out, size_t size) const {
    return ReadMemory(address, out, size) == static_cast<ssize_t>(size) ? 0 : EFAULT;
  }

  // Writes `size` bytes at `address` in the caller. Returns 0, EFAULT, or ESRCH when the
  // call is no longer pending (the pid might name another process by now: nothing is
  // written). process_vm_writev honours page protections as the kernel's own copy to the
  // caller would: a read-only or executable-only page is EFAULT, never written.
  int Write(uint64_t address, const void* data, size_t size) const {
    if (address == 0 || address + size < address) return EFAULT;
    if (!StillPending()) return ESRCH;
    iovec local = {const_cast<void*>(data), size};
    iovec remote = {reinterpret_cast<void*>(address), size};
    const ssize_t written = process_vm_writev(thread(), &local, 1, &remote, 1, 0);
    return written == static_cast<ssize_t>(size) ? 0 : EFAULT;
  }

  // The caller's descriptor `fd`, the same open file description. Returns 0 or an errno
  // (EBADF when `fd` is not open in the caller).
  int FetchDescriptor(int fd, UniqueFd* out) {
    if (fd < 0) return EBADF;
    if (!pidfd_.valid()) {
      // The calling thread's own descriptor table: a thread made without CLONE_FILES has one
      // of its own. Kernels before 6.9 have no thread pidfds; there the thread group's serves
      // when the caller leads it.
      long pidfd = syscall(SYS_pidfd_open, thread(), kPidfdThread);
      if (pidfd < 0 && errno == EINVAL) pidfd = syscall(SYS_pidfd_open, thread(), 0);
      if (pidfd < 0) return errno == EINVAL || errno == ESRCH ? EBADF : errno;
      pidfd_.reset(static_cast<int>(pidfd));
    }
    const long fetched = syscall(SYS_pidfd_getfd, pidfd_.get(), fd, 0);
    if (fetched < 0) return errno;
    out->reset(static_cast<int>(fetched));
    return 0;
  }

  // Whether the caller's descriptor `fd` is close-on-exec, from /proc/<tid>/fdinfo/<fd>;
  // false when that cannot be read.
  bool DescriptorIsCloseOnExec(int fd) const {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", thread(), fd);
    UniqueFd info(open(path, O_RDONLY | O_CLOEXEC));
    if (!info.valid()) return false;
    char text[256];
    const ssize_t size = read(info.get(), text, sizeof(text) - 1);
    if (size <= 0) return false;
    text[size] = '\0';
    const char* flags = strstr(text, "flags:");
    if (flags == nullptr) return false;
    return (strtoul(flags + strlen("flags:"), nullptr, 8) & O_CLOEXEC) != 0;
  }

  // The thread is still blocked in this call. Checked after reading its memory or fetching
  // its descriptors and before acting on them: had it died, its pid could name another
  // process, and what was read would not be the caller's.
  bool StillPending() const {
    uint64_t id = notif_.id;
    return ioctl(listener_, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
  }

  void Reply(int64_t value) { Send(value, 0); }
  void Fail(int error) { Send(0, -error); }

  // Installs `fd` as the call's result, atomically with the answer.
  void ReplyDescriptor(const UniqueFd& fd, bool close_on_exec) {
    seccomp_notif_addfd addfd = {};
    addfd.id = notif_.id;
    addfd.flags = SECCOMP_ADDFD_FLAG_SEND;
    addfd.srcfd = static_cast<uint32_t>(fd.get());
    addfd.newfd_flags = close_on_exec ? O_CLOEXEC : 0;
    if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) >= 0) return;
    // ENOENT: the thread is gone, and nothing was installed. Otherwise (EMFILE: the caller's
    // table is full) the call is still pending and fails with that errno.
    if (errno != ENOENT) Fail(errno);
  }

  // Puts `fd` in place of the caller's descriptor `target`, then answers 0.
  void ReplaceDescriptor(const UniqueFd& fd, int target, bool close_on_exec) {
    seccomp_notif_addfd addfd = {};
    addfd.id = notif_.id;
    addfd.flags = SECCOMP_ADDFD_FLAG_SETFD;
    addfd.srcfd = static_cast<uint32_t>(fd.get());
    addfd.newfd = static_cast<uint32_t>(target);
    addfd.newfd_flags = close_on_exec ? O_CLOEXEC : 0;
    if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) < 0) {
      if (errno != ENOENT) Fail(errno);
      return;
    }
    Reply(0);
  }

  // Lets the call run in the kernel as made.
  void Continue() {
    seccomp_notif_resp response = {};
    response.id = notif_.id;
    response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    ioctl(listener_, SECCOMP_IOCTL_NOTIF_SEND, &response);
  }

 private:
  pid_t thread() const { return static_cast<pid_t>(notif_.pid); }

  // Reads up to `size` bytes at `address`, stopping at the first unreadable page. Returns the
  // bytes read, or -1.
  ssize_t ReadMemory(uint64_t address, void* out, size_t size) const {
    if (address == 0 || address + size < address) return -1;
    // One remote iovec per page: process_vm_readv stops at the first iovec it cannot read, so
    // a string that ends just before an unmapped page still reads up to that page.
    const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    iovec remote[PATH_MAX / 4096 + 2];
    size_t count = 0;
    for (uint64_t at = address, left = size; left > 0 && count < std::size(remote); ++count) {
      const uint64_t chunk = std::min<uint64_t>(left, page - at % page);
      remote[count] = {reinterpret_cast<void*>(at), static_cast<size_t>(chunk)};
      at += chunk;
      left -= chunk;
    }
    iovec local = {out, size};
    return process_vm_readv(thread(), &local, 1, remote, count, 0);
  }

  // Answers the call. ENOENT means the thread is gone (killed, or its process exited): there
  // is no one left to answer.
  void Send(int64_t value, int error) {
    seccomp_notif_resp response = {};
    response.id = notif_.id;
    response.val = value;
    response.error = error;
    ioctl(listener_, SECCOMP_IOCTL_NOTIF_SEND, &response);
  }

  const int listener_;
  const seccomp_notif& notif_;
  UniqueFd pidfd_;
};

// The request a redirected call becomes, with the strings and descriptors it points into.
struct Operands {
  proto::Request request;
  std::string paths[2];
  UniqueFd dirfds[2];
  int dirfd_count = 0;

  // Reads path `which` (0: path, 1: path2) from `address`, relative to the caller's `dirfd`
  // (AT_FDCWD: the broker's working directory). Paths must be added in order. Returns 0 or
  // an errno.
  int AddPath(Call& call, int which, int dirfd, uint64_t address) {
    std::string& path = paths[which];
    if (const int error = call.ReadPath(address, &path); error != 0) return error;
    if (path.empty()) return ENOENT;
    return PlacePath(call, which, dirfd);
  }

  // Path `which`, already in `paths`, relative to the caller's `dirfd`. Returns 0 or an errno.
  int PlacePath(Call& call, int which, int dirfd) {
    // The kernel ignores the directory descriptor of an absolute path.
    if (paths[which][0] != '/' && dirfd != AT_FDCWD) {
      if (const int error = call.FetchDescriptor(dirfd, &dirfds[dirfd_count]); error != 0) {
        return error;
      }
      ++dirfd_count;
      request.fd_paths |= which == 0 ? proto::kFdForPath : proto::kFdForPath2;
    }
    return 0;
  }
};

// Answers redirected calls; one per notification.
class Answerer {
 public:
  Answerer(const FileRequestHandler& handler, SandboxState& sandbox, Call& call)
      : handler_(handler), sandbox_(sandbox), call_(call) {}

  void Answer(int nr);

 private:
  // Runs `operands` through the handler, unless the caller is gone. Returns false when it is.
  bool Handle(Operands& operands, FileRequestHandler::Outcome* outcome) {
    if (!call_.StillPending()) return false;
    operands.request.path = operands.paths[0];
    operands.request.path2 = operands.paths[1];
    *outcome = handler_.Handle(operands.request, operands.dirfds, sandbox_, payload_);
    return true;
  }
  // For calls whose result is the handler's result.
  void Simple(Operands& operands) {
    FileRequestHandler::Outcome outcome;
    if (Handle(operands, &outcome)) call_.Reply(outcome.result);
  }

  void Open(int dirfd, uint64_t path, uint32_t flags, uint32_t mode);
  void Access(int dirfd, uint64_t path, uint32_t mode, uint32_t flags);
  // `statx`: fill a struct statx at `buffer` instead of a struct stat.
  void Stat(int dirfd, uint64_t path, uint32_t flags, uint64_t buffer, bool statx);
  void Readlink(int dirfd, uint64_t path, uint64_t buffer, int size);
  void PathOp(proto::Op op, int dirfd, uint64_t path, uint32_t mode = 0);
  void TwoPathOp(proto::Op op, int old_dirfd, uint64_t old_path, int new_dirfd, uint64_t new_path,
                 uint32_t flags);
  void Symlink(uint64_t target, int dirfd, uint64_t path);
  void Truncate(uint64_t path, uint64_t length);
  void Fchdir(int fd);
  void Getcwd(uint64_t buffer, uint64_t size);
  void Connect(int fd, uint64_t address, int length);
  // Writes `st` (as a struct stat, or a struct statx) to `buffer` and answers 0.
  void ReplyStat(const struct stat& st, uint64_t buffer, bool statx);

  const FileRequestHandler& handler_;
  SandboxState& sandbox_;
  Call& call_;
  // One byte more than a reply's payload, for getcwd's NUL.
  uint8_t payload_[proto::kMaxReplyPayload + 1];
};

void Answerer::Open(int dirfd, uint64_t path, uint32_t flags, uint32_t mode) {
  Operands operands;
  operands.request.op = proto::Op::kOpen;
  operands.request.flags = flags;
  operands.request.mode = (flags & O_CREAT) ? (mode & kModeBits) : 0;
  if (const int error = operands.AddPath(call_, 0, dirfd, path); error != 0) {
    call_.Fail(error);
    return;
  }
  FileRequestHandler::Outcome outcome;
  if (!Handle(operands, &outcome)) return;
  if (outcome.result < 0 || !outcome.fd.valid()) {
    call_.Fail(outcome.result < 0 ? -outcome.result : EIO);
    return;
  }
  call_.ReplyDescriptor(outcome.fd, (flags & O_CLOEXEC) != 0);
}

void Answerer::Access(int dirfd, uint64_t path, uint32_t mode, uint32_t flags) {
  // A sandboxee's real and effective ids are the same: AT_EACCESS changes nothing.
  if ((flags & ~static_cast<uint32_t>(AT_EACCESS)) != 0) {
    call_.Fail(EINVAL);
    return;
  }
  Operands operands;
  operands.request.op = proto::Op::kAccess;
  operands.request.flags = mode;
  if (const int error = operands.AddPath(call_, 0, dirfd, path); error != 0) {
    call_.Fail(error);
    return;
  }
  Simple(operands);
}

void Answerer::ReplyStat(const struct stat& st, uint64_t buffer, bool statx) {
  int error;
  if (statx) {
    struct statx stx = {};
    stx.stx_mask = STATX_BASIC_STATS;
    stx.stx_blksize = static_cast<uint32_t>(st.st_blksize);
    stx.stx_nlink = static_cast<uint32_t>(st.st_nlink);
    stx.stx_uid = st.st_uid;
    stx.stx_gid = st.st_gid;
    stx.stx_mode = static_cast<uint16_t>(st.st_mode);
    stx.stx_ino = st.st_ino;
    stx.stx_size = static_cast<uint64_t>(st.st_size);
    stx.stx_blocks = static_cast<uint64_t>(st.st_blocks);
    stx.stx_atime = {st.st_atim.tv_sec, static_cast<uint32_t>(st.st_atim.tv_nsec), 0};
    stx.stx_mtime = {st.st_mtim.tv_sec, static_cast<uint32_t>(st.st_mtim.tv_nsec), 0};
    stx.stx_ctime = {st.st_ctim.tv_sec, static_cast<uint32_t>(st.st_ctim.tv_nsec), 0};
    stx.stx_rdev_major = major(st.st_rdev);
    stx.stx_rdev_minor = minor(st.st_rdev);
    stx.stx_dev_major = major(st.st_dev);
    stx.stx_dev_minor = minor(st.st_dev);
    error = call_.Write(buffer, &stx, sizeof(stx));
  } else {
    error = call_.Write(buffer, &st, sizeof(st));
  }
  if (error != 0) {
    call_.Fail(error);
  } else {
    call_.Reply(0);
  }
}

void Answerer::Stat(int dirfd, uint64_t path, uint32_t flags, uint64_t buffer, bool statx) {
  if ((flags & ~(statx ? kStatxFlags : kStatFlags)) != 0 ||
      (statx && (flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE)) {
    call_.Fail(EINVAL);
    return;
  }
  Operands operands;
  operands.request.op = proto::Op::kStat;
  operands.request.flags = flags & AT_SYMLINK_NOFOLLOW;
  // With AT_EMPTY_PATH an empty path stats the directory descriptor itself: the caller's own
  // descriptor, which it could fstat, or the working directory. Since Linux 6.11 a NULL path
  // means the same.
  std::string& name = operands.paths[0];
  if (path == 0 && (flags & AT_EMPTY_PATH)) {
    name.clear();
  } else if (const int error = call_.ReadPath(path, &name); error != 0) {
    call_.Fail(error);
    return;
  }
  if (name.empty()) {
    if (!(flags & AT_EMPTY_PATH)) {
      call_.Fail(ENOENT);
      return;
    }
    if (dirfd != AT_FDCWD) {
      UniqueFd fd;
      if (const int error = call_.FetchDescriptor(dirfd, &fd); error != 0) {
        call_.Fail(error);
        return;
      }
      struct stat st;
      if (!call_.StillPending()) return;
      if (fstat(fd.get(), &st) != 0) {
        call_.Fail(errno);
        return;
      }
      ReplyStat(st, buffer, statx);
      return;
    }
    name = ".";
  }
  if (const int error = operands.PlacePath(call_, 0, dirfd); error != 0) {
    call_.Fail(error);
    return;
  }
  FileRequestHandler::Outcome outcome;
  if (!Handle(operands, &outcome)) return;
  struct stat st;
  if (outcome.result < 0) {
    call_.Fail(-outcome.result);
  } else if (const int error = proto::DecodeStat(
                 std::string_view(reinterpret_cast<const char*>(payload_), outcome.payload_size),
                 &st);
             error != 0) {
    call_.Fail(error);
  } else {
    ReplyStat(st, buffer, statx);
  }
}

void Answerer::Readlink(int dirfd, uint64_t path, uint64_t buffer, int size) {
  if (size <= 0) {
    call_.Fail(EINVAL);
    return;
  }
  Operands operands;
  operands.request.op = proto::Op::kReadlink;
  if (const int error = operands.AddPath(call_, 0, dirfd, path); error != 0) {
    call_.Fail(error);
    return;
  }
  FileRequestHandler::Outcome outcome;
  if (!Handle(operands, &outcome)) return;
  if (outcome.result < 0) {
    call_.Fail(-outcome.result);
    return;
  }
  // Cut to the caller's buffer, without a NUL, as the kernel does.
  const size_t length = std::min(outcome.payload_size, static_cast<size_t>(size));
  if (const int error = call_.Write(buffer, payload_, length); error != 0) {
    call_.Fail(error);
    return;
  }
  call_.Reply(static_cast<int64_t>(length));
}

void Answerer::PathOp(proto::Op op, int dirfd, uint64_t path, uint32_t mode) {
  Operands operands;
  operands.request.op = op;
  operands.request.mode = mode & kModeBits;
  if (const int error = operands.AddPath(call_, 0, dirfd, path); error != 0) {
    call_.Fail(error);
    return;
  }
  Simple(operands);
}

void Answerer::TwoPathOp(proto::Op op, int old_dirfd, uint64_t old_path, int new_dirfd,
                         uint64_t new_path, uint32_t flags) {
  Operands operands;
  operands.request.op = op;
  operands.request.flags = flags;
  int error = operands.AddPath(call_, 0, old_dirfd, old_path);
  if (error == 0) error = operands.AddPath(call_, 1, new_dirfd, new_path);
  if (error != 0) {
    call_.Fail(error);
    return;
  }
  Simple(operands);
}

void Answerer::Symlink(uint64_t target, int dirfd, uint64_t path) {
  Operands operands;
  operands.request.op = proto::Op::kSymlink;
  // The target is stored as given, never resolved against a descriptor: read it as it is.
  int error = call_.ReadPath(target, &operands.paths[1]);
  if (error == 0 && operands.paths[1].empty()) error = ENOENT;
  if (error == 0) error = operands.AddPath(call_, 0, dirfd, path);
  if (error != 0) {
    call_.Fail(error);
    return;
  }
  Simple(operands);
}

void Answerer::Truncate(uint64_t path, uint64_t length) {
  Operands operands;
  operands.request.op = proto::Op::kTruncate;
  operands.request.length = length;
  if (const int error = operands.AddPath(call_, 0, AT_FDCWD, path); error != 0) {
    call_.Fail(error);
    return;
  }
  Simple(operands);
}

void Answerer::Fchdir(int fd) {
  Operands operands;
  operands.request.op = proto::Op::kChdir;
  operands.paths[0] = ".";
  if (const int error = call_.FetchDescriptor(fd, &operands.dirfds[0]); error != 0) {
    call_.Fail(error);
    return;
  }
  operands.request.fd_paths = proto::kFdForPath;
  Simple(operands);
}

void Answerer::Getcwd(uint64_t buffer, uint64_t size) {
  // Op::kGetcwd, so that the decision log sees it as the channel's would.
  Operands operands;
  operands.request.op = proto::Op::kGetcwd;
  FileRequestHandler::Outcome outcome;
  if (!Handle(operands, &outcome)) return;
  if (outcome.result < 0) {
    call_.Fail(-outcome.result);
    return;
  }
  // The kernel's getcwd writes a NUL-terminated path and returns its length with the NUL.
  const size_t length = outcome.payload_size + 1;
  if (size < length) {
    call_.Fail(ERANGE);
    return;
  }
  payload_[outcome.payload_size] = '\0';
  if (const int error = call_.Write(buffer, payload_, length); error != 0) {
    call_.Fail(error);
    return;
  }
  call_.Reply(static_cast<int64_t>(length));
}

void Answerer::Connect(int fd, uint64_t address, int length) {
  // In the kernel's order: the descriptor (EBADF), the address (EINVAL, EFAULT), then whether
  // the descriptor is a socket (ENOTSOCK).
  UniqueFd socket_fd;
  if (const int error = call_.FetchDescriptor(fd, &socket_fd); error != 0) {
    call_.Fail(error);
    return;
  }
  if (length < static_cast<int>(sizeof(sa_family_t)) ||
      length > static_cast<int>(sizeof(sockaddr_storage))) {
    call_.Fail(EINVAL);
    return;
  }
  sockaddr_un unix_address = {};
  const size_t read_size = std::min(static_cast<size_t>(length), sizeof(unix_address));
  if (const int error = call_.Read(address, &unix_address, read_size); error != 0) {
    call_.Fail(error);
    return;
  }
  int domain = 0;
  socklen_t size = sizeof(domain);
  if (getsockopt(socket_fd.get(), SOL_SOCKET, SO_DOMAIN, &domain, &size) != 0) {
    call_.Fail(errno);
    return;
  }
  // Only a named AF_UNIX socket is a file the policy can judge.
  if (unix_address.sun_family != AF_UNIX) {
    call_.Fail(EACCES);
    return;
  }
  if (domain != AF_UNIX) {
    call_.Fail(EAFNOSUPPORT);  // an AF_UNIX address for another family's socket
    return;
  }
  if (length > static_cast<int>(sizeof(sockaddr_un))) {
    call_.Fail(EINVAL);
    return;
  }
  const size_t path_size = read_size - offsetof(sockaddr_un, sun_path);
  if (path_size == 0 || unix_address.sun_path[0] == '\0') {
    call_.Fail(EACCES);
    return;
  }
  Operands operands;
  operands.request.op = proto::Op::kConnect;
  operands.paths[0].assign(unix_address.sun_path, strnlen(unix_address.sun_path, path_size));

  int type = 0;
  size = sizeof(type);
  if (getsockopt(socket_fd.get(), SOL_SOCKET, SO_TYPE, &type, &size) != 0) {
    call_.Fail(errno);
    return;
  }
  const int status_flags = fcntl(socket_fd.get(), F_GETFL);
  if (status_flags < 0) {
    call_.Fail(errno);
    return;
  }
  operands.request.flags =
      static_cast<uint32_t>(type) | ((status_flags & O_NONBLOCK) ? SOCK_NONBLOCK : 0);
  const bool close_on_exec = call_.DescriptorIsCloseOnExec(fd);

  FileRequestHandler::Outcome outcome;
  if (!Handle(operands, &outcome)) return;
  if (outcome.result < 0 || !outcome.fd.valid()) {
    call_.Fail(outcome.result < 0 ? -outcome.result : EIO);
    return;
  }
  call_.ReplaceDescriptor(outcome.fd, fd, close_on_exec);
}

void Answerer::Answer(int nr) {
  // The x86_64 calling convention: arguments in the order of the C prototypes.
  switch (nr) {
    case SYS_open:
      return Open(AT_FDCWD, call_.arg(0), static_cast<uint32_t>(call_.arg(1)),
                  static_cast<uint32_t>(call_.arg(2)));
    case SYS_openat:
      return Open(call_.int_arg(0), call_.arg(1), static_cast<uint32_t>(call_.arg(2)),
                  static_cast<uint32_t>(call_.arg(3)));
    case SYS_creat:
      return Open(AT_FDCWD, call_.arg(0), O_CREAT | O_WRONLY | O_TRUNC,
                  static_cast<uint32_t>(call_.arg(1)));
    case SYS_access:
      return Access(AT_FDCWD, call_.arg(0), static_cast<uint32_t>(call_.arg(1)), 0);
    case SYS_faccessat:
      return Access(call_.int_arg(0), call_.arg(1), static_cast<uint32_t>(call_.arg(2)), 0);
    case SYS_faccessat2:
      return Access(call_.int_arg(0), call_.arg(1), static_cast<uint32_t>(call_.arg(2)),
                    static_cast<uint32_t>(call_.arg(3)));
    case SYS_stat:
      return Stat(AT_FDCWD, call_.arg(0), 0, call_.arg(1), false);
    case SYS_lstat:
      return Stat(AT_FDCWD, call_.arg(0), AT_SYMLINK_NOFOLLOW, call_.arg(1), false);
    case SYS_newfstatat:
      return Stat(call_.int_arg(0), call_.arg(1), static_cast<uint32_t>(call_.arg(3)), call_.arg(2),
                  false);
    case SYS_statx:
      // The mask's reserved bit is for a future, larger struct statx.
      if (static_cast<uint32_t>(call_.arg(3)) & STATX__RESERVED) return call_.Fail(EINVAL);
      return Stat(call_.int_arg(0), call_.arg(1), static_cast<uint32_t>(call_.arg(2)), call_.arg(4),
                  true);
    case SYS_readlink:
      return Readlink(AT_FDCWD, call_.arg(0), call_.arg(1), call_.int_arg(2));
    case SYS_readlinkat:
      return Readlink(call_.int_arg(0), call_.arg(1), call_.arg(2), call_.int_arg(3));
    case SYS_mkdir:
      return PathOp(proto::Op::kMkdir, AT_FDCWD, call_.arg(0), static_cast<uint32_t>(call_.arg(1)));
    case SYS_mkdirat:
      return PathOp(proto::Op::kMkdir, call_.int_arg(0), call_.arg(1),
                    static_cast<uint32_t>(call_.arg(2)));
    case SYS_rmdir:
      return PathOp(proto::Op::kRmdir, AT_FDCWD, call_.arg(0));
    case SYS_unlink:
      return PathOp(proto::Op::kUnlink, AT_FDCWD, call_.arg(0));
    case SYS_unlinkat: {
      const uint32_t flags = static_cast<uint32_t>(call_.arg(2));
      if ((flags & ~static_cast<uint32_t>(AT_REMOVEDIR)) != 0) return call_.Fail(EINVAL);
      return PathOp((flags & AT_REMOVEDIR) ? proto::Op::kRmdir : proto::Op::kUnlink,
                    call_.int_arg(0), call_.arg(1));
    }
    case SYS_rename:
      return TwoPathOp(proto::Op::kRename, AT_FDCWD, call_.arg(0), AT_FDCWD, call_.arg(1), 0);
    case SYS_renameat:
      return TwoPathOp(proto::Op::kRename, call_.int_arg(0), call_.arg(1), call_.int_arg(2),
                       call_.arg(3), 0);
    case SYS_renameat2:
      return TwoPathOp(proto::Op::kRename, call_.int_arg(0), call_.arg(1), call_.int_arg(2),
                       call_.arg(3), static_cast<uint32_t>(call_.arg(4)));
    case SYS_link:
      return TwoPathOp(proto::Op::kLink, AT_FDCWD, call_.arg(0), AT_FDCWD, call_.arg(1), 0);
    case SYS_linkat:
      if (call_.int_arg(4) != 0) return call_.Fail(EINVAL);
      return TwoPathOp(proto::Op::kLink, call_.int_arg(0), call_.arg(1), call_.int_arg(2),
                       call_.arg(3), 0);
    case SYS_symlink:
      return Symlink(call_.arg(0), AT_FDCWD, call_.arg(1));
    case SYS_symlinkat:
      return Symlink(call_.arg(0), call_.int_arg(1), call_.arg(2));
    case SYS_chmod:
      return PathOp(proto::Op::kChmod, AT_FDCWD, call_.arg(0), static_cast<uint32_t>(call_.arg(1)));
    case SYS_fchmodat:
      return PathOp(proto::Op::kChmod, call_.int_arg(0), call_.arg(1),
                    static_cast<uint32_t>(call_.arg(2)));
    case SYS_truncate:
      return Truncate(call_.arg(0), call_.arg(1));
    case SYS_chdir:
      return PathOp(proto::Op::kChdir, AT_FDCWD, call_.arg(0));
    case SYS_fchdir:
      return Fchdir(call_.int_arg(0));
    case SYS_getcwd:
      return Getcwd(call_.arg(0), call_.arg(1));
    case SYS_connect:
      return Connect(call_.int_arg(0), call_.arg(1), call_.int_arg(2));
  }
  call_.Fail(ENOSYS);
}

}  // namespace

NotificationBroker::NotificationBroker(const FileRequestHandler& handler, SandboxState& sandbox,
                                       int listener, pid_t sandboxee)
    : handler_(handler), sandbox_(sandbox), listener_(listener), sandboxee_(sandboxee) {}

bool NotificationBroker::Answers(int number) { return IsRedirectedFileCall(number); }

absl::StatusOr<ListenerEvent> NotificationBroker::ServeOne() {
  absl::StatusOr<std::optional<SeccompNotification>> received = ReceiveNotification(listener_);
  if (!received.ok()) return received.status();
  ListenerEvent event;
  if (!*received) return event;
  const seccomp_notif& notif = (*received)->get();
  const bool first = !first_seen_;
  first_seen_ = true;
  if (IsExitRequest(notif)) {
    event.exit_id = notif.id;
    return event;
  }
  if (notif.data.arch == AUDIT_ARCH_X86_64) {
    Call call(listener_, notif);
    // The launcher's own execve of the program: the child's code, before any of the program's.
    // Its path is the launcher's, so the kernel may read it again.
    if (first && notif.data.nr == SYS_execve && static_cast<pid_t>(notif.pid) == sandboxee_) {
      call.Continue();
      return event;
    }
    if (IsRedirectedFileCall(notif.data.nr)) {
      Answerer(handler_, sandbox_, call).Answer(notif.data.nr);
      return event;
    }
    if (observer_) {
      observer_(notif.data);
      call.Continue();
      return event;
    }
  }
  event.violation = DecodeNotification(listener_, notif);
  return event;
}

}  // namespace sbox
