#include "launcher/group_guard.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "kernel/raw_syscall.h"

namespace sbox {
namespace {

using kernel::Ptr;
using kernel::RawSyscall;

constexpr size_t kStackSize = 64 * 1024;

struct GuardArgs {
  pid_t parent;  // the launcher's process
  pid_t pgid;
};

// The guard. It shares the launcher's memory until it exits, and starts with every signal
// blocked (the launcher blocks them around the clone): raw syscalls only, no allocation, no
// locks, no errno.
int GuardMain(void* raw) {
  const GuardArgs* args = static_cast<const GuardArgs*>(raw);
  // Its copy of the launcher's descriptor table would hold the broker's ends of the channels
  // open, and the sandboxee would never see them close.
  RawSyscall(SYS_close_range, 0, ~0U, 0);
  uint64_t hangup = uint64_t{1} << (SIGHUP - 1);
  if (RawSyscall(SYS_prctl, PR_SET_PDEATHSIG, SIGHUP) == 0 &&
      RawSyscall(SYS_getppid) == args->parent) {
    // Only SIGKILL (the launcher's, after a normal end) or SIGHUP (its death) ends the wait.
    while (RawSyscall(SYS_rt_sigtimedwait, Ptr(&hangup), 0, 0, sizeof(hangup)) != SIGHUP) {
    }
  }
  RawSyscall(SYS_kill, -args->pgid, SIGKILL);
  RawSyscall(SYS_exit, 0);
  return 0;
}

}  // namespace

absl::StatusOr<GroupGuard> GroupGuard::Start(pid_t pgid) {
  void* stack = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    return absl::ErrnoToStatus(errno, "launcher: mmap of the group guard's stack");
  }
  // The arguments live at the bottom of the stack's mapping; the stack grows down from the top.
  auto* args = new (stack) GuardArgs{getpid(), pgid};
  sigset_t all;
  sigset_t saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  const pid_t pid =
      clone(&GuardMain, static_cast<char*>(stack) + kStackSize, CLONE_VM | SIGCHLD, args);
  const int clone_error = errno;
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (pid < 0) {
    munmap(stack, kStackSize);
    return absl::ErrnoToStatus(clone_error, "launcher: clone of the group guard");
  }
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) {
    const int error = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, __WALL);
    munmap(stack, kStackSize);
    return absl::ErrnoToStatus(error,
                               absl::StrFormat("launcher: pidfd_open(%d) of the group guard", pid));
  }
  return GroupGuard(pid, std::move(pidfd), stack);
}

GroupGuard::GroupGuard(GroupGuard&& other) noexcept
    : pid_(other.pid_), pidfd_(std::move(other.pidfd_)), stack_(other.stack_) {
  other.stack_ = nullptr;
}

GroupGuard::~GroupGuard() {
  if (stack_ == nullptr) return;
  syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
  siginfo_t info;
  while (syscall(SYS_waitid, P_PIDFD, pidfd_.get(), &info, WEXITED, nullptr) != 0 &&
         errno == EINTR) {
  }
  munmap(stack_, kStackSize);
}

}  // namespace sbox
