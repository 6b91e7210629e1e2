#ifndef SBOX_SANDBOXEE_SANDBOXEE_SETUP_H_
#define SBOX_SANDBOXEE_SANDBOXEE_SETUP_H_

// What the child does before the sandboxee's code runs. Everything here runs between fork (or
// clone) and the sandboxee's code in a child of a possibly multi-threaded parent, so it is
// async-signal-safe: raw syscalls only, no allocation, no locks, no absl. The steps do not even
// write errno, since ExecSandboxee's child may share the parent's memory, its TLS included
// (the file-redirection step, for Launcher::Run's forked child only, is the exception).

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>

#include "sandboxee/namespaces.h"

namespace sbox {

// The descriptor number of the broker channel in the sandboxee.
inline constexpr int kSandboxeeChannelFd = 3;
// The call channel's, in a sandboxee that serves an entry point's calls (sandboxee/call_loop.h).
inline constexpr int kSandboxeeCallFd = 4;

// Prepared by the parent before fork; read-only in the child.
struct SandboxeeSetupPlan {
  pid_t parent_pid;
  int channel_fd;  // becomes kSandboxeeChannelFd
  int report_fd;   // the setup socket (close-on-exec): the child's messages to the parent
  // stdio_fds[i] >= 0 is dup'ed onto descriptor i (stdin, stdout, stderr); -1 inherits it.
  int stdio_fds[3];
  sock_fprog filter;
  // The filter traps redirected file calls (Redirection::kTrap): install the SIGSYS handler
  // (sandboxee/file_redirection.h) before the filter, over the channel. Launcher::Run only: an
  // exec'ed program's handler would not survive execve.
  bool file_redirection;
  // Resource limits set (soft and hard) before the filter, after the core-dump limit;
  // `resource_limit_count` of them, at most kMaxResourceLimits.
  struct ResourceLimit {
    int resource;   // RLIMIT_*
    uint64_t soft;  // RLIM_INFINITY for none
    uint64_t hard;
  };
  static constexpr int kMaxResourceLimits = 16;  // RLIM_NLIMITS on Linux
  ResourceLimit resource_limits[kMaxResourceLimits] = {};
  int resource_limit_count = 0;
  // A Landlock ruleset (kernel/landlock.h) to enforce after no_new_privs, before the filter;
  // -1 for none. The child first adds `landlock_rules` to it: paths on /proc/self, which name
  // the child only once it runs. A rule whose path does not exist, or names a pipe or socket
  // (on which Landlock takes no rule), is skipped.
  int landlock_fd = -1;
  struct LandlockRule {
    const char* path;
    uint64_t rights;  // LANDLOCK_ACCESS_FS_*
  };
  static constexpr int kMaxLandlockRules = 32;
  LandlockRule landlock_rules[kMaxLandlockRules] = {};
  int landlock_rule_count = 0;
  // The call channel, which becomes kSandboxeeCallFd (kept across exec); -1 for none.
  int call_fd = -1;
  // Namespaces made after the descriptors (sandboxee/namespaces.h). When any is requested, the
  // process that becomes the sandboxee first sends a NamespaceReport.
  sandboxee::NamespacePlan namespaces = {};
  // Where a pid namespace's init writes the sandboxee's exit: a MAP_SHARED page, which the
  // sandboxee unmaps. Needed when namespaces.requested has Namespace::kPid.
  sandboxee::InitStatus* init_status = nullptr;
};

// What ExecSandboxee runs, prepared by the parent before fork (nothing may be allocated after).
struct SandboxeeExecPlan {
  const char* path;               // as given to execve(2)
  char* const* argv;              // NULL-terminated
  char* const* envp;              // NULL-terminated
  const char* working_directory;  // chdir'ed to before the filter, which redirects chdir
};

// The steps, in order. A failing step is reported to the parent by number.
enum class SetupStep : int32_t {
  kReady = 0,
  kParentDeathSignal = 1,  // prctl(PR_SET_PDEATHSIG), or the parent already gone
  kDescriptors = 2,        // moving the channel, stdio and closing everything else
  kNoNewPrivs = 3,         // prctl(PR_SET_NO_NEW_PRIVS)
  kSeccomp = 4,            // seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER)
  kReport = 5,             // sending the listener to the parent
  kWorkingDirectory = 6,   // chdir to the launcher's working directory (exec only)
  kExec = 7,               // execve(2) of the program (exec only)
  kFileRedirection = 8,    // InstallFileRedirection: the handler's channel, the SIGSYS handler
  kCoreDumps = 9,          // prlimit64(RLIMIT_CORE) to 0, hard limit included
  kCapabilities = 10,      // dropping every capability (bounding, ambient, permitted)
  kResourceLimits = 11,    // prlimit64 of the plan's resource limits
  kNamespaces = 12,        // unshare(2) of a required namespace, the id maps, loopback up
  kInit = 13,              // forking the pid namespace's init or the sandboxee under it
  kProcessGroup = 14,      // setpgid(0, 0)
  kLandlock = 15,          // landlock_add_rule of a /proc/self rule, landlock_restrict_self
};

const char* SetupStepName(SetupStep step);

// A message on the setup socket. kReady carries the seccomp listener descriptor; any other
// step is a failure. After kReady, ExecSandboxee sends a kExec failure if execve fails; if it
// succeeds, the socket closes with the exec (close-on-exec), and the parent reads end-of-file.
struct SetupReport {
  SetupStep step;
  int32_t error;  // errno of the failing step; 0 for kReady
};

// The first message when the plan asks for namespaces, before any SetupReport but a failure:
// step kNamespaces, error 0, what was created and refused. Sent by the process that becomes
// the sandboxee, so that the parent learns its pid in the parent's own pid namespace from
// SCM_CREDENTIALS (SO_PASSCRED on the parent's end); with a pid namespace it carries a pidfd
// of the namespace's init.
struct NamespaceReport {
  SetupStep step;
  int32_t error;
  sandboxee::NamespaceOutcome outcome;
};

// Runs the steps: parent death signal, descriptors, namespaces (when the plan asks for them;
// with a pid namespace the sandboxee goes on as pid 2 under an init, see
// sandboxee::RunUnderInit, and the calling process becomes its waiter), a process group of its
// own (setpgid(0, 0): the launcher kills the group when the sandboxee ends, and no syscall
// group lets a descendant leave it), file redirection (when the plan asks for it), no core
// dumps, the plan's resource limits, no capabilities, no_new_privs, Landlock (when the plan
// has a ruleset), seccomp, report.
// Returns only on success: the filter is installed, and the channel (as kSandboxeeChannelFd) and
// stdio are the only open descriptors, besides the file redirection handler's own channel
// (close-on-exec) when it was installed. On failure it reports the step and errno to the parent and
// calls _exit(kSetupFailedExitCode).
void PrepareSandboxee(const SandboxeeSetupPlan& plan);

// The same steps, after resetting every signal to its default disposition and clearing the
// signal mask (as posix_spawn's POSIX_SPAWN_SETSIGDEF and POSIX_SPAWN_SETSIGMASK would), with a
// chdir to exec.working_directory before no_new_privs and the filter,
// the filter installed with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (a call the broker has
// received is never interrupted, and so never restarted and performed twice, by a signal
// other than a fatal one), then execve(2). Never returns: on success the program runs, confined by
// the filter from its first instruction; the filter's listener has been sent to the parent before
// the execve, which the parent must let through (SECCOMP_USER_NOTIF_FLAG_CONTINUE) unless the
// policy allows execve. The channel stays open across the exec as kSandboxeeChannelFd; every other
// descriptor but stdio is closed. A failing step, execve included, is reported as above and
// the child calls _exit(kSetupFailedExitCode).
//
// It may run in a child that shares the parent's memory (clone with CLONE_VM, like
// posix_spawn, so that no page of a large parent is copied): it writes only its own stack. The
// parent must then block every signal around the clone, so that none of its handlers runs in
// the child before the dispositions are reset, and keep `plan`, `exec` and the child's stack
// until the child has exec'ed (the setup socket's end-of-file) or exited.
[[noreturn]] void ExecSandboxee(const SandboxeeSetupPlan& plan, const SandboxeeExecPlan& exec);

inline constexpr int kSetupFailedExitCode = 125;

}  // namespace sbox

#endif  // SBOX_SANDBOXEE_SANDBOXEE_SETUP_H_
