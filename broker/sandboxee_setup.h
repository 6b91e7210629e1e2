#ifndef SBOX_BROKER_SANDBOXEE_SETUP_H_
#define SBOX_BROKER_SANDBOXEE_SETUP_H_

// What the forked child does before the sandboxee's code runs. Everything here runs between
// fork and the sandboxee's code in a child of a possibly multi-threaded parent, so it is
// async-signal-safe: raw syscalls only, no allocation, no locks, no absl.

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>

namespace sbox {

// The descriptor number of the broker channel in the sandboxee.
inline constexpr int kSandboxeeChannelFd = 3;

// Prepared by the parent before fork; read-only in the child.
struct SandboxeeSetupPlan {
  pid_t parent_pid;
  int channel_fd;  // becomes kSandboxeeChannelFd
  int report_fd;   // the setup socket: the child's one message to the parent
  int null_fd;     // >= 0: dup'ed onto stdin, stdout and stderr; -1: stdio is inherited
  sock_fprog filter;
  // The filter traps redirected file calls (Redirection::kTrap): install the SIGSYS handler
  // (sandboxee/file_redirection.h) before the filter, over the channel.
  bool file_redirection;
};

// The steps, in order. A failing step is reported to the parent by number.
enum class SetupStep : int32_t {
  kReady = 0,
  kParentDeathSignal = 1,  // prctl(PR_SET_PDEATHSIG), or the parent already gone
  kDescriptors = 2,        // moving the channel, stdio and closing everything else
  kNoNewPrivs = 3,         // prctl(PR_SET_NO_NEW_PRIVS)
  kSeccomp = 4,            // seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER)
  kReport = 5,             // sending the listener to the parent
  kFileRedirection = 6,    // InstallFileRedirection: the handler's channel, the SIGSYS handler
};

const char* SetupStepName(SetupStep step);

// The child's one message on the setup socket. kReady carries the seccomp listener descriptor.
struct SetupReport {
  SetupStep step;
  int32_t error;  // errno of the failing step; 0 for kReady
};

// Runs the steps: parent death signal, descriptors, file redirection (when the plan asks for
// it), no_new_privs, seccomp, report. Returns only on success: the filter is installed, and the
// channel (as kSandboxeeChannelFd) and stdio are the only open descriptors, besides the file
// redirection handler's own channel (close-on-exec) when it was installed. On failure it reports
// the step and errno to the parent and calls _exit(kSetupFailedExitCode).
void PrepareSandboxee(const SandboxeeSetupPlan& plan);

inline constexpr int kSetupFailedExitCode = 125;

}  // namespace sbox

#endif  // SBOX_BROKER_SANDBOXEE_SETUP_H_
