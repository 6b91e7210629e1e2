#include "broker/sandboxee_setup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proto/fd_transport.h"
#include "sandboxee/file_redirection.h"

namespace sbox {
namespace {

// The setup socket's number while the steps run: above the channel and stdio.
constexpr int kReportFd = kSandboxeeChannelFd + 1;
// Descriptors are first moved at or above this, so that no move can overwrite another.
constexpr int kScratchFloor = kReportFd + 1;

[[noreturn]] void Fail(int report_fd, SetupStep step, int error) {
  const SetupReport report{step, error};
  proto::SendMessage(report_fd, &report, sizeof(report), -1, 0);
  _exit(kSetupFailedExitCode);
}

// Moves `fd` to a number >= kScratchFloor. Returns the new number or -1.
int ToScratch(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, kScratchFloor); }

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
  }
  return "unknown step";
}

namespace {

// The steps both entry points share. `working_directory`: chdir'ed to before the filter, or
// nullptr. `filter_flags` adds to SECCOMP_FILTER_FLAG_NEW_LISTENER. Returns the setup socket,
// still open, after the listener has been sent on it.
int SetUp(const SandboxeeSetupPlan& plan, const char* working_directory,
          unsigned long filter_flags) {
  int report = plan.report_fd;

  // Die with the thread that launched us; and if the parent is already gone, do not run at all.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
    Fail(report, SetupStep::kParentDeathSignal, errno);
  }
  if (getppid() != plan.parent_pid) Fail(report, SetupStep::kParentDeathSignal, ESRCH);

  const int scratch_report = ToScratch(report);
  if (scratch_report < 0) Fail(report, SetupStep::kDescriptors, errno);
  report = scratch_report;
  const int channel = ToScratch(plan.channel_fd);
  if (channel < 0) Fail(report, SetupStep::kDescriptors, errno);
  int stdio[3];
  for (int i = 0; i < 3; ++i) {
    stdio[i] = plan.stdio_fds[i] >= 0 ? ToScratch(plan.stdio_fds[i]) : -1;
    if (plan.stdio_fds[i] >= 0 && stdio[i] < 0) Fail(report, SetupStep::kDescriptors, errno);
  }
  if (dup3(report, kReportFd, O_CLOEXEC) < 0) Fail(report, SetupStep::kDescriptors, errno);
  report = kReportFd;
  // The channel stays open across exec: an exec'ed sandboxee speaks to the broker through it.
  if (dup3(channel, kSandboxeeChannelFd, 0) < 0) Fail(report, SetupStep::kDescriptors, errno);
  for (int i = 0; i < 3; ++i) {
    if (stdio[i] >= 0 && dup3(stdio[i], i, 0) < 0) Fail(report, SetupStep::kDescriptors, errno);
  }
  if (syscall(SYS_close_range, kScratchFloor, ~0U, 0) != 0) {
    Fail(report, SetupStep::kDescriptors, errno);
  }

  if (working_directory != nullptr && chdir(working_directory) != 0) {
    Fail(report, SetupStep::kWorkingDirectory, errno);
  }

  // Before the filter: the handler asks the broker for its channel and sets SIGSYS's
  // disposition, which the filter then refuses to anyone.
  if (plan.file_redirection) {
    if (const int error = sandboxee::InstallFileRedirection(kSandboxeeChannelFd); error < 0) {
      Fail(report, SetupStep::kFileRedirection, -error);
    }
  }

  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Fail(report, SetupStep::kNoNewPrivs, errno);

  const long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                SECCOMP_FILTER_FLAG_NEW_LISTENER | filter_flags, &plan.filter);
  if (listener < 0) Fail(report, SetupStep::kSeccomp, errno);

  // From here on only the runtime syscalls every policy allows: sendmsg, close.
  const SetupReport ready{SetupStep::kReady, 0};
  const int sent = proto::SendMessage(report, &ready, sizeof(ready), static_cast<int>(listener), 0);
  close(static_cast<int>(listener));
  if (sent != 0) Fail(report, SetupStep::kReport, -sent);
  return report;
}

}  // namespace

void PrepareSandboxee(const SandboxeeSetupPlan& plan) { close(SetUp(plan, nullptr, 0)); }

void ExecSandboxee(const SandboxeeSetupPlan& plan, const SandboxeeExecPlan& exec) {
  // Once the broker has received a call, only a fatal signal may end the wait for its answer:
  // an interrupted call would be restarted and performed a second time (an O_EXCL create
  // failing with EEXIST, a rename undone).
  const int report = SetUp(plan, exec.working_directory, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  // The parent lets this one execve through; the setup socket closes with it on success.
  execve(exec.path, exec.argv, exec.envp);
  Fail(report, SetupStep::kExec, errno);
}

}  // namespace sbox
