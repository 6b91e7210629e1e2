#include "sandboxee/sandboxee_setup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "kernel/landlock.h"
#include "kernel/raw_syscall.h"
#include "sandboxee/file_redirection.h"

namespace sbox {
namespace {

// The setup socket's number while the steps run: above the channels and stdio.
constexpr int kReportFd = kSandboxeeCallFd + 1;
// The Landlock ruleset's, until it is enforced.
constexpr int kLandlockFd = kReportFd + 1;
// Descriptors are first moved at or above this, so that no move can overwrite another.
constexpr int kScratchFloor = kLandlockFd + 1;

using kernel::Ptr;
using kernel::RawSyscall;

// Sends `size` bytes of `message`, with `fd` when it is >= 0, on the setup socket. Returns 0 or
// -errno.
long SendBytes(int report_fd, const void* message, size_t size, int fd) {
  iovec iov = {const_cast<void*>(message), size};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  union {
    char bytes[CMSG_SPACE(sizeof(int))];
    cmsghdr align;
  } control = {};
  if (fd >= 0) {
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof(control.bytes);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  }
  long sent;
  do {
    sent = RawSyscall(SYS_sendmsg, report_fd, Ptr(&msg), MSG_NOSIGNAL);
  } while (sent == -EINTR);
  if (sent < 0) return sent;
  return sent == static_cast<long>(size) ? 0 : -EMSGSIZE;
}

// Sends `report`, with `fd` when it is >= 0, on the setup socket. Returns 0 or -errno.
long SendReport(int report_fd, const SetupReport& report, int fd) {
  return SendBytes(report_fd, &report, sizeof(report), fd);
}

[[noreturn]] void ExitAfterFailure() {
  // Once the filter is installed, exit_group is a notification for a listener that may never
  // have reached the parent: it then fails with ENOSYS, and exit, which every filter allows,
  // ends this single-threaded child.
  for (;;) {
    RawSyscall(SYS_exit_group, kSetupFailedExitCode);
    RawSyscall(SYS_exit, kSetupFailedExitCode);
  }
}

[[noreturn]] void Fail(int report_fd, SetupStep step, long error) {
  SendReport(report_fd, SetupReport{step, static_cast<int32_t>(-error)}, -1);
  ExitAfterFailure();
}

// The namespaces step. Returns in the process that becomes the sandboxee, with `*message`
// filled and a pidfd of the init or -1: with a pid namespace, that is pid 2 under the init, and
// the calling process waits for the init and exits. `private_memory`: this child's memory is
// its own (not the launcher's, shared by CLONE_VM).
long EnterNamespaces(const SandboxeeSetupPlan& plan, int report, bool private_memory,
                     NamespaceReport* out) {
  NamespaceReport& message = *out;
  message = {SetupStep::kNamespaces, 0, {}};
  Namespace failed = Namespace::kUser;
  if (const long error = sandboxee::CreateNamespaces(plan.namespaces, &message.outcome, &failed);
      error != 0) {
    // The namespace is named in the outcome: refused, with the errno of the failure.
    const int index = static_cast<int>(failed);
    message.error = static_cast<int32_t>(-error);
    message.outcome.refused_errno[index] = message.error;
    message.outcome.created &= ~NamespaceSet{failed}.bits();
    SendBytes(report, &message, sizeof(message), -1);
    ExitAfterFailure();
  }
  long init_pidfd = -1;
  if (NamespaceSet(message.outcome.created).Has(Namespace::kPid)) {
    init_pidfd = sandboxee::RunUnderInit(plan.init_status, private_memory);
    if (init_pidfd < 0) Fail(report, SetupStep::kInit, init_pidfd);
    // The init's record of this process's exit: not this process's to write.
    RawSyscall(SYS_munmap, Ptr(plan.init_status), sizeof(*plan.init_status));
  }
  return init_pidfd;
}

// Moves `fd` to a number >= kScratchFloor. Returns the new number or -errno.
long ToScratch(int fd) { return RawSyscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, kScratchFloor); }

// The kernel's struct sigaction for rt_sigaction(2) on x86_64, which glibc's differs from.
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};

// Drops every capability, for good: a sandboxee started by root would otherwise keep all of
// them (no_new_privs keeps what the process has) and could signal, renice or read the
// processes of any user through the calls its policy allows. The bounding set goes first
// (that needs CAP_SETPCAP, which only a process holding capabilities has), so that an execve
// as uid 0 cannot grant them back; then the ambient, inheritable, permitted and effective
// sets. Returns 0 or -errno.
long DropCapabilities() {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct held[_LINUX_CAPABILITY_U32S_3] = {};
  if (const long error = RawSyscall(SYS_capget, Ptr(&header), Ptr(held)); error != 0) return error;
  if (held[CAP_TO_INDEX(CAP_SETPCAP)].effective & CAP_TO_MASK(CAP_SETPCAP)) {
    // PR_CAPBSET_READ fails with EINVAL past the kernel's last capability.
    for (long capability = 0;; ++capability) {
      const long held_in_bounding_set = RawSyscall(SYS_prctl, PR_CAPBSET_READ, capability);
      if (held_in_bounding_set < 0) break;
      if (held_in_bounding_set == 0) continue;
      if (const long error = RawSyscall(SYS_prctl, PR_CAPBSET_DROP, capability); error != 0)
        return error;
    }
  }
  if (const long error = RawSyscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
      error != 0) {
    return error;
  }
  bool any = false;
  for (const __user_cap_data_struct& set : held) {
    any = any || set.effective != 0 || set.permitted != 0 || set.inheritable != 0;
  }
  if (!any) return 0;
  const __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {};
  return RawSyscall(SYS_capset, Ptr(&header), Ptr(none));
}

// Every signal to its default disposition, then none blocked.
void ResetSignals() {
  const KernelSigaction default_action = {SIG_DFL, 0, nullptr, 0};
  for (int signal = 1; signal <= 64; ++signal) {
    if (signal == SIGKILL || signal == SIGSTOP) continue;
    KernelSigaction current = {};
    if (RawSyscall(SYS_rt_sigaction, signal, 0, Ptr(&current), sizeof(uint64_t)) == 0 &&
        current.handler != SIG_DFL) {
      RawSyscall(SYS_rt_sigaction, signal, Ptr(&default_action), 0, sizeof(uint64_t));
    }
  }
  const uint64_t none = 0;
  RawSyscall(SYS_rt_sigprocmask, SIG_SETMASK, Ptr(&none), 0, sizeof(none));
}

}  // namespace

const char* SetupStepName(SetupStep step) {
  switch (step) {
    case SetupStep::kReady:
      return "ready";
    case SetupStep::kParentDeathSignal:
      return "prctl(PR_SET_PDEATHSIG)";
    case SetupStep::kDescriptors:
      return "arranging descriptors (dup3, close_range)";
    case SetupStep::kNoNewPrivs:
      return "prctl(PR_SET_NO_NEW_PRIVS)";
    case SetupStep::kSeccomp:
      return "seccomp(SECCOMP_SET_MODE_FILTER)";
    case SetupStep::kReport:
      return "sending the seccomp listener to the broker";
    case SetupStep::kWorkingDirectory:
      return "chdir to the working directory";
    case SetupStep::kExec:
      return "execve";
    case SetupStep::kFileRedirection:
      return "installing the file-redirection SIGSYS handler";
    case SetupStep::kCoreDumps:
      return "prlimit64(RLIMIT_CORE, 0)";
    case SetupStep::kCapabilities:
      return "dropping capabilities (PR_CAPBSET_DROP, PR_CAP_AMBIENT, capset)";
    case SetupStep::kResourceLimits:
      return "prlimit64 of a resource limit";
    case SetupStep::kNamespaces:
      return "creating namespaces (unshare, uid_map and gid_map, loopback up)";
    case SetupStep::kInit:
      return "forking the pid namespace's init and the sandboxee (fork, pidfd_open)";
    case SetupStep::kProcessGroup:
      return "setpgid(0, 0)";
    case SetupStep::kLandlock:
      return "enforcing the Landlock ruleset (landlock_add_rule, landlock_restrict_self)";
  }
  return "unknown step";
}

namespace {

// The steps both entry points share. `working_directory`: chdir'ed to before the filter, or
// nullptr. `filter_flags` adds to SECCOMP_FILTER_FLAG_NEW_LISTENER. `private_memory`: see
// EnterNamespaces. Returns the setup socket, still open, after the listener has been sent on it.
int SetUp(const SandboxeeSetupPlan& plan, const char* working_directory, unsigned long filter_flags,
          bool private_memory) {
  int report = plan.report_fd;

  // Die with the thread that launched us; and if the parent is already gone, do not run at all.
  if (const long error = RawSyscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL); error != 0) {
    Fail(report, SetupStep::kParentDeathSignal, error);
  }
  if (RawSyscall(SYS_getppid) != plan.parent_pid) {
    Fail(report, SetupStep::kParentDeathSignal, -ESRCH);
  }

  const long scratch_report = ToScratch(report);
  if (scratch_report < 0) Fail(report, SetupStep::kDescriptors, scratch_report);
  report = static_cast<int>(scratch_report);
  const long channel = ToScratch(plan.channel_fd);
  if (channel < 0) Fail(report, SetupStep::kDescriptors, channel);
  long landlock = -1;
  if (plan.landlock_fd >= 0) {
    landlock = ToScratch(plan.landlock_fd);
    if (landlock < 0) Fail(report, SetupStep::kDescriptors, landlock);
  }
  long call = -1;
  if (plan.call_fd >= 0) {
    call = ToScratch(plan.call_fd);
    if (call < 0) Fail(report, SetupStep::kDescriptors, call);
  }
  long stdio[3];
  for (int i = 0; i < 3; ++i) {
    stdio[i] = plan.stdio_fds[i] >= 0 ? ToScratch(plan.stdio_fds[i]) : -1;
    if (plan.stdio_fds[i] >= 0 && stdio[i] < 0) Fail(report, SetupStep::kDescriptors, stdio[i]);
  }
  if (const long moved = RawSyscall(SYS_dup3, report, kReportFd, O_CLOEXEC); moved < 0) {
    Fail(report, SetupStep::kDescriptors, moved);
  }
  report = kReportFd;
  if (landlock >= 0) {
    if (const long moved = RawSyscall(SYS_dup3, landlock, kLandlockFd, O_CLOEXEC); moved < 0) {
      Fail(report, SetupStep::kDescriptors, moved);
    }
  }
  // The channel stays open across exec: an exec'ed sandboxee speaks to the broker through it.
  if (const long moved = RawSyscall(SYS_dup3, channel, kSandboxeeChannelFd, 0); moved < 0) {
    Fail(report, SetupStep::kDescriptors, moved);
  }
  // Without a call channel, the number is closed like every other inherited descriptor.
  // Kept across exec, as the broker channel is: a sandboxee binary serves calls on it.
  if (const long moved = call >= 0 ? RawSyscall(SYS_dup3, call, kSandboxeeCallFd, 0)
                                   : RawSyscall(SYS_close, kSandboxeeCallFd);
      moved < 0 && moved != -EBADF) {
    Fail(report, SetupStep::kDescriptors, moved);
  }
  for (int i = 0; i < 3; ++i) {
    if (stdio[i] < 0) continue;
    if (const long moved = RawSyscall(SYS_dup3, stdio[i], i, 0); moved < 0) {
      Fail(report, SetupStep::kDescriptors, moved);
    }
  }
  if (const long error =
          RawSyscall(SYS_close_range, landlock >= 0 ? kScratchFloor : kLandlockFd, ~0U, 0);
      error != 0) {
    Fail(report, SetupStep::kDescriptors, error);
  }

  // Before the capabilities go: creating a namespace without a user namespace takes them.
  const bool namespaces = !plan.namespaces.requested.empty();
  NamespaceReport namespace_report;
  const long init_pidfd =
      namespaces ? EnterNamespaces(plan, report, private_memory, &namespace_report) : -1;
  // The launcher kills this group once the sandboxee has ended, so that no descendant outlives
  // the run; setpgid and setsid are in no syscall group, so none can leave it. Before the
  // namespace report, so that the group exists when the launcher hears of the sandboxee.
  if (const long error = RawSyscall(SYS_setpgid, 0, 0); error != 0) {
    Fail(report, SetupStep::kProcessGroup, error);
  }
  if (namespaces) {
    const long sent = SendBytes(report, &namespace_report, sizeof(namespace_report),
                                static_cast<int>(init_pidfd));
    if (init_pidfd >= 0) RawSyscall(SYS_close, init_pidfd);
    if (sent != 0) Fail(report, SetupStep::kNamespaces, sent);
  }

  if (working_directory != nullptr) {
    if (const long error = RawSyscall(SYS_chdir, Ptr(working_directory)); error != 0) {
      Fail(report, SetupStep::kWorkingDirectory, error);
    }
  }

  // Before the filter: the handler asks the broker for its channel and sets SIGSYS's
  // disposition, which the filter then refuses to anyone. Launcher::Run's forked child only,
  // never ExecSandboxee's, which shares the parent's memory.
  if (plan.file_redirection) {
    if (const int error = sandboxee::InstallFileRedirection(kSandboxeeChannelFd); error < 0) {
      Fail(report, SetupStep::kFileRedirection, error);
    }
  }

  // A crashing sandboxee would write a core file, with bytes it chose, into its kernel working
  // directory, which no grant covers. The hard limit too: raising it takes CAP_SYS_RESOURCE,
  // which goes next.
  const uint64_t no_core[2] = {0, 0};  // struct rlimit64: soft, hard
  if (const long error = RawSyscall(SYS_prlimit64, 0, RLIMIT_CORE, Ptr(no_core), 0); error != 0) {
    Fail(report, SetupStep::kCoreDumps, error);
  }
  // Before the capabilities go, so that sbox run as root may raise a hard limit too. Between
  // fork (or clone) and exec, so async-signal-safe: raw syscalls on the plan's fixed array, no
  // malloc, no locks, no absl.
  for (int i = 0; i < plan.resource_limit_count; ++i) {
    const SandboxeeSetupPlan::ResourceLimit& limit = plan.resource_limits[i];
    const uint64_t value[2] = {limit.soft, limit.hard};  // struct rlimit64
    if (const long error = RawSyscall(SYS_prlimit64, 0, limit.resource, Ptr(value), 0);
        error != 0) {
      Fail(report, SetupStep::kResourceLimits, error);
    }
  }
  if (const long error = DropCapabilities(); error != 0) {
    Fail(report, SetupStep::kCapabilities, error);
  }

  if (const long error = RawSyscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); error != 0) {
    Fail(report, SetupStep::kNoNewPrivs, error);
  }

  // After no_new_privs, which an unprivileged landlock_restrict_self needs; before the filter,
  // which does not allow the Landlock calls.
  if (plan.landlock_fd >= 0) {
    for (int i = 0; i < plan.landlock_rule_count; ++i) {
      const long error = landlock::AddPathRuleRaw(kLandlockFd, plan.landlock_rules[i].path,
                                                  plan.landlock_rules[i].rights);
      // A path that does not exist, or names a pipe or socket (a /proc/self/fd link), which
      // Landlock takes no rule on (EBADFD): only the broker reaches it, as before.
      if (error != 0 && error != -ENOENT && error != -EBADFD) {
        Fail(report, SetupStep::kLandlock, error);
      }
    }
    if (const long error = landlock::RestrictSelfRaw(kLandlockFd); error != 0) {
      Fail(report, SetupStep::kLandlock, error);
    }
    RawSyscall(SYS_close, kLandlockFd);
  }

  const long listener = RawSyscall(
      SYS_seccomp, SECCOMP_SET_MODE_FILTER,
      static_cast<long>(SECCOMP_FILTER_FLAG_NEW_LISTENER | filter_flags), Ptr(&plan.filter));
  if (listener < 0) Fail(report, SetupStep::kSeccomp, listener);

  // From here on only the runtime syscalls every policy allows: sendmsg, close.
  const long sent =
      SendReport(report, SetupReport{SetupStep::kReady, 0}, static_cast<int>(listener));
  RawSyscall(SYS_close, listener);
  if (sent != 0) Fail(report, SetupStep::kReport, sent);
  return report;
}

}  // namespace

void PrepareSandboxee(const SandboxeeSetupPlan& plan) {
  RawSyscall(SYS_close, SetUp(plan, nullptr, 0, /*private_memory=*/true));
}

void ExecSandboxee(const SandboxeeSetupPlan& plan, const SandboxeeExecPlan& exec) {
  // The program starts with no signal blocked and every disposition the default, whatever the
  // launching thread had: the mask and ignored dispositions would survive execve. And a
  // handler of the parent's must never run here, on memory the parent may share. Before the
  // filter, which may refuse changing some dispositions.
  ResetSignals();
  // Once the broker has received a call, only a fatal signal may end the wait for its answer:
  // an interrupted call would be restarted and performed a second time (an O_EXCL create
  // failing with EEXIST, a rename undone).
  const int report = SetUp(plan, exec.working_directory, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
                           /*private_memory=*/false);
  // The parent lets this one execve through; the setup socket closes with it on success.
  const long error = RawSyscall(SYS_execve, Ptr(exec.path), Ptr(exec.argv), Ptr(exec.envp));
  Fail(report, SetupStep::kExec, error);
}

}  // namespace sbox
