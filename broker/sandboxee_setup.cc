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
    case SetupStep::kFileRedirection:
      return "installing the file-redirection SIGSYS handler";
  }
  return "unknown step";
}

void PrepareSandboxee(const SandboxeeSetupPlan& plan) {
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
  const int null_fd = plan.null_fd >= 0 ? ToScratch(plan.null_fd) : -1;
  if (channel < 0 || (plan.null_fd >= 0 && null_fd < 0)) {
    Fail(report, SetupStep::kDescriptors, errno);
  }
  if (dup3(report, kReportFd, O_CLOEXEC) < 0) Fail(report, SetupStep::kDescriptors, errno);
  report = kReportFd;
  // The channel stays open across exec: an exec'ed sandboxee speaks to the broker through it.
  if (dup3(channel, kSandboxeeChannelFd, 0) < 0) Fail(report, SetupStep::kDescriptors, errno);
  if (null_fd >= 0) {
    for (int stdio = 0; stdio <= 2; ++stdio) {
      if (dup3(null_fd, stdio, 0) < 0) Fail(report, SetupStep::kDescriptors, errno);
    }
  }
  if (syscall(SYS_close_range, kScratchFloor, ~0U, 0) != 0) {
    Fail(report, SetupStep::kDescriptors, errno);
  }

  // Before the filter: the handler asks the broker for its channel and sets SIGSYS's
  // disposition, which the filter then refuses to anyone.
  if (plan.file_redirection) {
    if (const int error = sandboxee::InstallFileRedirection(kSandboxeeChannelFd); error < 0) {
      Fail(report, SetupStep::kFileRedirection, -error);
    }
  }

  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Fail(report, SetupStep::kNoNewPrivs, errno);

  const long listener =
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &plan.filter);
  if (listener < 0) Fail(report, SetupStep::kSeccomp, errno);

  // From here on only the runtime syscalls every policy allows: sendmsg, close.
  const SetupReport ready{SetupStep::kReady, 0};
  const int sent = proto::SendMessage(report, &ready, sizeof(ready), static_cast<int>(listener), 0);
  close(static_cast<int>(listener));
  if (sent != 0) Fail(report, SetupStep::kReport, -sent);
  close(report);
}

}  // namespace sbox
