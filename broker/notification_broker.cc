#include "broker/notification_broker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <string>
#include <system_error>
#include <utility>

#include "broker/own_process_calls.h"
#include "broker/pid_namespace.h"
#include "broker/violation_listener.h"
#include "proto/codec.h"
#include "proto/file_call.h"
#include "proto/file_syscalls.h"
#include "proto/unique_fd.h"

namespace sbox {
namespace {

// pidfd_open(2)'s PIDFD_THREAD (Linux 6.9): a pidfd of one thread, not of its thread group.
// It has O_EXCL's value; older C headers do not name it.
constexpr unsigned kPidfdThread = O_EXCL;

// One notification being answered: access to the calling thread's memory and descriptors,
// and the answer, given at most once.
class Call {
 public:
  Call(int listener, const seccomp_notif& notif) : listener_(listener), notif_(notif) {}

  // Reads the NUL-terminated string at `address` into `out` (PATH_MAX bytes). Returns its
  // length, -EFAULT when it cannot be read up to its NUL, or -ENAMETOOLONG when it has no NUL
  // within PATH_MAX bytes.
  long ReadString(uint64_t address, char* out) const {
    const ssize_t got = ReadMemory(address, out, PATH_MAX);
    if (got <= 0) return -EFAULT;
    const size_t length = strnlen(out, static_cast<size_t>(got));
    if (length == static_cast<size_t>(got)) return got == PATH_MAX ? -ENAMETOOLONG : -EFAULT;
    return static_cast<long>(length);
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
    if (fetched >= 0) {
      out->reset(static_cast<int>(fetched));
      return 0;
    }
    if (errno != EBADF) return errno;
    // pidfd_getfd does not pass O_PATH descriptors; their magic link in /proc reaches the very
    // file. What it names is the caller's only while the call is pending (checked later).
    char link[64];
    snprintf(link, sizeof(link), "/proc/%d/fd/%d", thread(), fd);
    out->reset(open(link, O_PATH | O_CLOEXEC));
    return out->valid() ? 0 : EBADF;
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

  // Installs `fd` as the call's result, atomically with the answer. Returns 0 (answered),
  // ENOENT (the thread is gone, nothing was installed), or another errno (EMFILE: the caller's
  // table is full), with the call still pending.
  int ReplyDescriptor(const UniqueFd& fd, bool close_on_exec) {
    seccomp_notif_addfd addfd = {};
    addfd.id = notif_.id;
    addfd.flags = SECCOMP_ADDFD_FLAG_SEND;
    addfd.srcfd = static_cast<uint32_t>(fd.get());
    addfd.newfd_flags = close_on_exec ? O_CLOEXEC : 0;
    return ioctl(listener_, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) >= 0 ? 0 : errno;
  }

  // Puts `fd` in place of the caller's descriptor `target`; the call stays pending. Returns 0
  // or an errno as ReplyDescriptor does.
  int ReplaceDescriptor(const UniqueFd& fd, int target, bool close_on_exec) {
    seccomp_notif_addfd addfd = {};
    addfd.id = notif_.id;
    addfd.flags = SECCOMP_ADDFD_FLAG_SETFD;
    addfd.srcfd = static_cast<uint32_t>(fd.get());
    addfd.newfd = static_cast<uint32_t>(target);
    addfd.newfd_flags = close_on_exec ? O_CLOEXEC : 0;
    return ioctl(listener_, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) >= 0 ? 0 : errno;
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

// The caller is another thread, blocked in its syscall: its memory is read and written with
// process_vm_readv/writev, its descriptors are fetched with pidfd_getfd, and the file handler
// answers in this process. Nothing is done once the call is no longer pending.
class RemoteSite final : public proto::FileCallSite {
 public:
  RemoteSite(const FileRequestHandler& handler, SandboxState& sandbox, Call& call)
      : handler_(handler), sandbox_(sandbox), call_(call) {}

  long ReadString(uint64_t address, char* out) override { return call_.ReadString(address, out); }

  int Read(uint64_t address, void* out, size_t size) override {
    return -call_.Read(address, out, size);
  }

  int Write(uint64_t address, const void* data, size_t size) override {
    const int error = call_.Write(address, data, size);
    if (error == ESRCH) gone_ = true;
    return -error;
  }

  int StatDescriptor(int fd, struct stat* out) override {
    UniqueFd fetched;
    if (const int error = call_.FetchDescriptor(fd, &fetched); error != 0) return -error;
    return fstat(fetched.get(), out) == 0 ? 0 : -errno;
  }

  int DescribeSocket(int fd, proto::SocketFacts* out) override {
    UniqueFd socket_fd;
    if (const int error = call_.FetchDescriptor(fd, &socket_fd); error != 0) return -error;
    const int status_flags = fcntl(socket_fd.get(), F_GETFL);
    if (status_flags < 0) return -errno;
    out->nonblocking = (status_flags & O_NONBLOCK) != 0;
    out->close_on_exec = call_.DescriptorIsCloseOnExec(fd);
    int value = 0;
    socklen_t size = sizeof(value);
    if (getsockopt(socket_fd.get(), SOL_SOCKET, SO_DOMAIN, &value, &size) != 0) {
      return errno == ENOTSOCK ? 0 : -errno;
    }
    out->is_socket = true;
    out->domain = value;
    size = sizeof(value);
    if (getsockopt(socket_fd.get(), SOL_SOCKET, SO_TYPE, &value, &size) != 0) return -errno;
    out->type = value;
    return 0;
  }

  int Ask(const proto::Request& request, const int fds[2], proto::FileCallAnswer* answer) override {
    UniqueFd fetched[2];
    for (int i = 0; i < __builtin_popcount(request.fd_paths); ++i) {
      if (const int error = call_.FetchDescriptor(fds[i], &fetched[i]); error != 0) return -error;
    }
    // What was read and fetched is the caller's only while its call is pending.
    if (!call_.StillPending()) {
      gone_ = true;
      return -ESRCH;
    }
    FileRequestHandler::Outcome outcome =
        handler_.Handle(request, fetched, sandbox_, answer->payload);
    answer->fd = std::move(outcome.fd);
    answer->payload_size = outcome.payload_size;
    return outcome.result;
  }

  long GiveDescriptor(UniqueFd fd, bool close_on_exec) override {
    const int error = call_.ReplyDescriptor(fd, close_on_exec);
    if (error == 0) answered_ = true;
    if (error == ENOENT) gone_ = true;
    return -error;
  }

  long ReplaceDescriptor(UniqueFd fd, int target, bool close_on_exec) override {
    const int error = call_.ReplaceDescriptor(fd, target, close_on_exec);
    if (error == ENOENT) gone_ = true;
    return -error;
  }

  long PerformInKernel() override {
    if (!call_.StillPending()) {
      gone_ = true;
      return -ESRCH;
    }
    call_.Continue();
    answered_ = true;
    return 0;
  }

  // Answers the call with `result`, unless it was answered already or its caller is gone.
  void Finish(long result) {
    if (answered_ || gone_) return;
    if (result < 0) {
      call_.Fail(static_cast<int>(-result));
    } else {
      call_.Reply(result);
    }
  }

 private:
  const FileRequestHandler& handler_;
  SandboxState& sandbox_;
  Call& call_;
  bool answered_ = false;
  bool gone_ = false;
};

// The caller's memory for an own-process call; nothing is written once the call is gone.
class CallMemory final : public CallerMemory {
 public:
  explicit CallMemory(Call& call) : call_(call) {}
  int Read(uint64_t address, void* out, size_t size) override {
    return call_.Read(address, out, size);
  }
  int Write(uint64_t address, const void* data, size_t size) override {
    return call_.Write(address, data, size);
  }
  int CheckDescriptor(int fd) override {
    UniqueFd fetched;
    return call_.FetchDescriptor(fd, &fetched);
  }

 private:
  Call& call_;
};

}  // namespace

NotificationBroker::NotificationBroker(const FileRequestHandler& handler, SandboxState& sandbox,
                                       int listener, pid_t sandboxee,
                                       std::set<int> own_process_calls, Options options)
    : handler_(handler),
      sandbox_(sandbox),
      listener_(listener),
      sandboxee_(sandboxee),
      own_process_calls_(std::move(own_process_calls)),
      options_(options) {}

absl::Status NotificationBroker::SandboxeeHasOwnPidNamespace() {
  absl::StatusOr<pid_t> named = InnermostPid(sandboxee_);
  if (!named.ok()) return named.status();
  named_sandboxee_ = *named;
  return absl::OkStatus();
}

void NotificationBroker::ServeFileCall(const seccomp_notif& notif) const {
  Call call(listener_, notif);
  const long nr = notif.data.nr;
  uint64_t args[6];
  std::copy(std::begin(notif.data.args), std::end(notif.data.args), args);
  RemoteSite site(handler_, sandbox_, call);
  long result = proto::IsExecSyscall(nr) ? proto::ServeExecCall(nr, args, site)
                                         : proto::ServeFileCall(nr, args, site);
  if (result == 0 && options_.kernel_follows_working_directory &&
      (nr == SYS_chdir || nr == SYS_fchdir)) {
    result = site.PerformInKernel();
  }
  site.Finish(result);
}

bool NotificationBroker::Answers(int number) {
  return proto::IsBrokeredFileSyscall(number) || IsOwnProcessCall(number);
}

NotificationBroker::~NotificationBroker() {
  if (serving_threads_.empty()) return;
  const uint64_t one = 1;
  if (write(stop_.get(), &one, sizeof(one)) != sizeof(one)) abort();  // an eventfd cannot fail
  for (std::thread& thread : serving_threads_) thread.join();
}

int NotificationBroker::ready_fd() const {
  return serving_threads_.empty() ? listener_ : queued_.get();
}

bool NotificationBroker::Pending() const {
  if (serving_threads_.empty()) return NotificationPending(listener_);
  // The serving thread that next clears in_flight_ makes ready_fd() readable, so that the
  // caller asks again.
  wake_when_received_.store(true);
  // In this order: a notification is pending on the listener until a serving thread receives
  // it, which sets in_flight_ first and clears it only once the notification is queued or
  // being answered.
  if (NotificationPending(listener_) || in_flight_.load()) return true;
  absl::MutexLock lock(&queue_mu_);
  return !queue_.empty();
}

bool NotificationBroker::IsServedFileCall(const seccomp_notif& notif) const {
  return notif.data.arch == AUDIT_ARCH_X86_64 &&
         (proto::IsBrokeredFileSyscall(notif.data.nr) ||
          (options_.serve_exec && proto::IsExecSyscall(notif.data.nr)));
}

int NotificationBroker::ServingThreads() {
  cpu_set_t cpus;
  const int available = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ? CPU_COUNT(&cpus) : 2;
  return std::clamp(available, 2, 4);
}

void NotificationBroker::StartServingThreads() {
  stop_.reset(eventfd(0, EFD_CLOEXEC));
  queued_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE));
  if (!stop_.valid() || !queued_.valid()) return;  // out of descriptors: stay on this thread
  for (int i = 0, count = ServingThreads(); i < count; ++i) {
    try {
      serving_threads_.emplace_back([this] { Receive(); });
    } catch (const std::system_error&) {
      break;  // out of threads: those started serve
    }
  }
}

void NotificationBroker::Receive() {
  for (;;) {
    std::optional<SeccompNotification> file_call;
    {
      std::lock_guard<std::mutex> lock(receive_mu_);
      pollfd fds[2] = {{listener_, POLLIN, 0}, {stop_.get(), POLLIN, 0}};
      int ready;
      do {
        ready = poll(fds, 2, -1);
      } while (ready < 0 && errno == EINTR);
      // Stopped, or the filter has no users left: nothing more will come.
      if (ready < 0 || fds[1].revents != 0 || (fds[0].revents & POLLIN) == 0) return;
      in_flight_.store(true);
      absl::StatusOr<std::optional<SeccompNotification>> received = ReceiveNotification(listener_);
      absl::Status error = received.status();
      if (received.ok() && received->has_value() && IsServedFileCall((*received)->get())) {
        file_call = *std::move(*received);
      } else if (!received.ok() || received->has_value()) {
        absl::MutexLock queue_lock(&queue_mu_);
        if (received.ok()) queue_.push_back(*std::move(*received));
        if (!received.ok()) receive_error_ = received.status();
        Signal();
      }
      in_flight_.store(false);
      if (wake_when_received_.exchange(false)) Signal();
      if (!error.ok()) return;
    }
    if (file_call.has_value()) ServeFileCall(file_call->get());
  }
}

void NotificationBroker::Signal() const {
  const uint64_t one = 1;
  if (write(queued_.get(), &one, sizeof(one)) != sizeof(one)) abort();  // cannot overflow
}

absl::StatusOr<ListenerEvent> NotificationBroker::ServeOne() {
  if (serving_threads_.empty()) {
    absl::StatusOr<std::optional<SeccompNotification>> received = ReceiveNotification(listener_);
    if (!received.ok()) return received.status();
    if (!*received) return ListenerEvent();
    return Decide((*received)->get());
  }
  uint64_t count;
  if (read(queued_.get(), &count, sizeof(count)) != sizeof(count)) return ListenerEvent();
  std::optional<SeccompNotification> next;
  {
    absl::MutexLock lock(&queue_mu_);
    if (!receive_error_.ok()) return receive_error_;
    if (queue_.empty()) return ListenerEvent();
    next = std::move(queue_.front());
    queue_.pop_front();
  }
  return Decide(next->get());
}

ListenerEvent NotificationBroker::Decide(const seccomp_notif& notif) {
  ListenerEvent event;
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
    if (first && options_.first_exec_is_launchers && notif.data.nr == SYS_execve &&
        static_cast<pid_t>(notif.pid) == sandboxee_) {
      call.Continue();
      return event;
    }
    if (IsServedFileCall(notif)) {
      // Calls of two threads waiting at once: from now on serving threads receive and answer.
      const pid_t caller = static_cast<pid_t>(notif.pid);
      const bool other_thread = last_caller_.has_value() && *last_caller_ != caller;
      last_caller_ = caller;
      if (other_thread && serving_threads_.empty() && NotificationPending(listener_)) {
        StartServingThreads();
      }
      ServeFileCall(notif);
      return event;
    }
    // While learning, every call is seen and made as the program made it.
    if (observer_) {
      observer_(notif.data);
      call.Continue();
      return event;
    }
    if (own_process_calls_.count(notif.data.nr) != 0) {
      uint64_t args[6];
      std::copy(std::begin(notif.data.args), std::end(notif.data.args), args);
      CallMemory memory(call);
      const pid_t thread = static_cast<pid_t>(notif.pid);
      CallerNames names{thread, sandboxee_};
      const bool names_a_process =
          notif.data.nr != SYS_ioctl && notif.data.nr != SYS_fcntl && notif.data.nr != SYS_flock;
      if (named_sandboxee_.has_value() && names_a_process) {
        // The thread is blocked in the call: its id names it until the answer.
        absl::StatusOr<pid_t> named_thread = InnermostPid(thread);
        if (!named_thread.ok()) {
          call.Fail(ESRCH);
          return event;
        }
        names = {*named_thread, *named_sandboxee_};
      }
      // Under a pid namespace of its own, signals to its other processes stay violations: the
      // descendants' check reads the broker's pids.
      const OwnProcessAnswer answer =
          named_sandboxee_.has_value()
              ? AnswerOwnProcessCall(notif.data.nr, args, thread, names, memory)
              : AnswerOwnProcessCall(notif.data.nr, args, thread, sandboxee_, memory,
                                     options_.signals_scoped);
      if (answer.violation) {
        event.violation = DecodeNotification(listener_, notif);
      } else if (answer.let_through) {
        call.Continue();
      } else if (answer.result < 0) {
        call.Fail(static_cast<int>(-answer.result));
      } else {
        call.Reply(answer.result);
      }
      return event;
    }
  }
  event.violation = DecodeNotification(listener_, notif);
  return event;
}

}  // namespace sbox
