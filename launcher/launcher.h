#ifndef SBOX_LAUNCHER_LAUNCHER_H_
#define SBOX_LAUNCHER_LAUNCHER_H_

#include <sys/resource.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/broker_server.h"
#include "broker/decision.h"
#include "broker/file_policy.h"
#include "broker/landlock_mirror.h"
#include "broker/notification_broker.h"
#include "broker/sandbox_result.h"
#include "broker/syscall_policy.h"
#include "proto/namespaces.h"
#include "proto/unique_fd.h"

namespace sbox {

struct SandboxeeExecPlan;

// A program for Launcher::RunProgram, as execve(2) takes it.
struct Program {
  std::string path;  // the executable, as given to execve: no PATH search
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "NAME=value"
};

// An entry point (sandboxee/entry_point.h) for Launcher::RunEntryPoint.
struct EntryPointLaunch {
  // Registered in this binary, or in `program` when it is not empty.
  std::string name;
  // A sandboxee binary linked with //sandboxee:call_main, which serves `name`: started by
  // execve, as RunProgram starts a program, instead of forked from the fork server.
  std::string program;
  int calls = 1;     // served before the sandboxee exits (sandboxee::ServeCalls)
  int call_fd = -1;  // the sandboxee's end of the call channel; stays the caller's
  // When readable (an eventfd the caller writes), the sandboxee is killed and the outcome is
  // kTimedOut: how a caller enforces a deadline of its own. -1 for none.
  int cancel_fd = -1;
  // Resource limits for this sandboxee, as SetResourceLimit's, replacing the launcher's for the
  // same resource; and a timeout replacing the launcher's when finite.
  std::vector<std::pair<int, rlim_t>> resource_limits;
  absl::Duration timeout = absl::InfiniteDuration();
  // The syscall policy lets the sandboxee make no process (no kProcesses group, no fork, vfork
  // or clone without CLONE_THREAD): its group is itself alone, which PR_SET_PDEATHSIG ends, so
  // no GroupGuard is started (a clone per launch saved).
  bool single_process = false;
  // Called on the launching thread once the sandboxee is set up (its filter installed), before
  // it serves its first call.
  absl::AnyInvocable<void()> on_started;
};

// Runs sandboxee code in a forked child confined by a seccomp filter, and brokers its file
// access over a socket pair until it exits.
//
//   auto launcher = Launcher(*std::move(files), *std::move(syscalls))
//                       .SetDecisionLog([](const Decision& d) { ... })
//                       .SetTimeout(absl::Seconds(10));
//   absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd channel) {
//     BrokerClient client(std::move(channel));
//     ...
//     return 0;
//   });
//
// In the child, before the sandboxee function runs: every descriptor but stdio and the channel
// is closed, PR_SET_PDEATHSIG(SIGKILL) ties the child to the launching thread, RLIMIT_CORE is 0
// (hard limit too: no core file), the resource limits of SetResourceLimit are set, every capability
// is dropped (bounding set included, so that not even an exec as uid 0 gets one back), no_new_privs
// is set, the Landlock mirror of the file policy is enforced (SetLandlock), and the filter
// compiled in the parent is installed. When the policy redirects file calls
// by trap (SyscallPolicy::redirection() is Redirection::kTrap), the SIGSYS handler of
// sandboxee/file_redirection.h is installed first, with a broker channel of its own: the
// function's unmodified libc and C++ file code then works through the broker, and the channel
// it is given stays its own. The function runs in a forked copy of
// the parent: it must not use locks other threads of the parent may have held at fork (glibc's
// malloc is safe). Its return value is the exit code; stdio is flushed then, as by exit(3),
// but no atexit handler or static destructor of the parent's runs.
//
// The sandboxee leads a process group of its own; when it ends (exit, signal, timeout,
// violation), every process left in the group is killed before Run returns
// (launcher/sandboxee_process.h says how, and what only a pid namespace adds).
//
// sbox needs no privilege: no root, no capability, no user namespace.
class Launcher {
 public:
  enum class Stdio {
    kInherit,  // the sandboxee shares the parent's stdin, stdout and stderr
    kNull,     // stdin, stdout and stderr are /dev/null
  };

  Launcher(FilePolicy files, SyscallPolicy syscalls);

  Launcher& SetChannelType(ChannelType type);
  // Live broker channels per sandboxee (the sandboxee's client opens one per concurrent thread).
  // Under a policy that redirects by trap, the SIGSYS handler holds one more from the start, and
  // adds its own per concurrent thread: with fewer than 2 the set-up fails.
  Launcher& SetMaxChannels(int max_channels);
  Launcher& SetDecisionLog(DecisionLog log);
  // After this long the sandboxee is killed and the outcome is kTimedOut. Default: none.
  Launcher& SetTimeout(absl::Duration timeout);
  Launcher& SetStdio(Stdio stdio);
  // The sandboxee's stdin, stdout and stderr: each descriptor >= 0 is dup'ed onto 0, 1 or 2;
  // -1 inherits the parent's. The descriptors stay the caller's, and must stay open until Run
  // or RunProgram returns. The last of SetStdio and SetStdioFds decides.
  Launcher& SetStdioFds(int stdin_fd, int stdout_fd, int stderr_fd);
  // A resource limit (RLIMIT_AS, RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_NPROC, ...) set
  // in the child before the filter, soft and hard, so the sandboxee cannot raise it; a second
  // call for one resource replaces the first. RLIMIT_CPU's hard limit is one second more, so
  // that the kernel sends SIGXCPU at `value` (at the hard limit it sends SIGKILL). RLIMIT_NPROC
  // counts every process of the sandboxee's real uid, not only the sandboxee's. A value above
  // the current hard limit fails the set-up (EPERM) unless sbox may raise it. RLIMIT_CORE is
  // always 0: Run and RunProgram refuse it with InvalidArgument, as a resource out of range.
  Launcher& SetResourceLimit(int resource, rlim_t value);
  // Where the sandboxee's relative paths start, as the broker resolves them (absolute and
  // normalized). Default: the launching process's working directory at Run.
  Launcher& SetWorkingDirectory(std::string directory);
  // For `sbox learn` only: RunProgram then lets every call its policy does not allow through,
  // after passing it to `observer` (see NotificationBroker::ObserveAndLetThrough), so the
  // program runs unconfined by its syscall policy. Called on the launching thread.
  Launcher& ObserveAndLetThrough(NotificationBroker::Observer observer);
  // How the child uses Landlock (broker/landlock_mirror.h): by default kBestEffort, the newest
  // ABI the kernel offers, or none on a kernel without it. A policy granting `x`, or a syscall
  // policy with fast reads, needs it: Run and RunProgram then fail with FailedPrecondition
  // where it is missing or kOff. SandboxResult::landlock says what was enforced.
  Launcher& SetLandlock(LandlockMode mode);
  // Namespaces for the sandboxee, each made in the child before the filter with an unshare(2)
  // of its own (sandboxee/namespaces.h): user (the caller's uid and gid mapped to themselves;
  // made first, so that an unprivileged caller may make the others), net (only a loopback
  // interface, up: nothing outside the sandboxee's own namespace is reachable by socket), ipc
  // (System V IPC and POSIX message queues of its own), uts (a host name of its own), pid (the
  // sandboxee is pid 2 under an init, pid 1, which reaps and reports its exit; when the init
  // dies the kernel kills every process of the namespace). One the kernel refuses (EPERM
  // without privilege or user namespace, ENOSPC at a max_*_namespaces limit, EINVAL, ...) is
  // left out and listed in SandboxResult::namespaces_refused; with `required`, a refusal fails
  // Run and RunProgram instead (a set-up failure naming the namespace and errno). Default:
  // none, and no extra process.
  Launcher& SetNamespaces(NamespaceSet namespaces, bool required);

  // Runs `sandboxee` in a new sandboxed child and waits for it. Several runs, one after another
  // or at once from several threads, may share one Launcher. The calling thread is the child's
  // parent for PR_SET_PDEATHSIG and must not exit before Run returns, which it cannot.
  //
  // The Status is not OK only when no sandboxee ran: a socket, fork or pidfd failure, or a step
  // of the child's set-up (named in the message) failing. Everything the sandboxee does,
  // including a violation, is in the SandboxResult.
  absl::StatusOr<SandboxResult> Run(absl::FunctionRef<int(UniqueFd channel)> sandboxee) const;

  // Runs an unmodified program, dynamically or statically linked, confined from its first
  // instruction: the child is set up as for Run, chdir's to the working directory (see
  // SetWorkingDirectory), and calls execve(2) with the filter installed. The broker lets that
  // one execve through and answers the program's file syscalls from seccomp user notifications
  // (broker/notification_broker.h) under the file policy; the broker channel stays open as
  // descriptor 3, named in the environment as SBOX_BROKER_FD=3 (added to program.env,
  // replacing any SBOX_BROKER_FD there), for programs that speak proto/PROTOCOL.md. Landlock
  // lets that execve open the program and its interpreters (ExecChain). A later execve or
  // execveat, by the program or any process it starts, is a request (Op::kExec) when the file
  // policy grants `x` somewhere: refused with the policy's errno, or let through to the kernel,
  // where Landlock's execute right makes it fail (EACCES) on any file but those the `x` rules
  // cover, whatever the sandboxee swapped in after the check; the new program runs under the
  // same filter, broker and limits. With no `x` grant, any later exec is a violation. Any call
  // the policy does not allow is a violation: the program is killed and the call reported.
  // Timeout, stdio and the decision log apply as for Run.
  //
  // The syscall policy must have the kFileRedirection group and have been built in
  // Redirection::kUserNotification mode (SyscallPolicy::ProgramDefault() is a start); with the
  // default action kKillAndReport, calls it does not allow are reported as violations.
  //
  // Not OK when no program ran: InvalidArgument for a policy not built that way, an empty path
  // or a string with a NUL in it; the errors of Run; and a failing execve, as a set-up failure
  // naming execve, the path and its errno (NotFound for ENOENT, PermissionDenied for EACCES, ...).
  absl::StatusOr<SandboxResult> RunProgram(const Program& program) const;

  // Runs an entry point of this binary in a sandboxee forked from the fork server
  // (launcher/fork_server.h), never from this process, which may have many threads: set up as
  // for Run, it then serves `launch.calls` calls on launch.call_fd (sandboxee/call_loop.h) and
  // exits. With launch.program, the entry point is that binary's, which is started as
  // RunProgram starts a program (a child sharing this process's memory until its execve, as
  // posix_spawn's: no fork server needed) with SBOX_ENTRY_POINT, SBOX_CALLS and SBOX_BROKER_FD
  // in its environment; the policy must then be built for RunProgram. The caller talks to it on its
  // end of the call channel, from any thread, while this supervises it (broker, violations,
  // timeout, launch.cancel_fd) until it exits. Stdio descriptors left -1 are this process's own 0,
  // 1 and 2.
  //
  // FailedPrecondition when no fork server runs (ForkServer::Start) and there is no program;
  // InvalidArgument with namespaces, which entry points do not take; otherwise as Run (and
  // RunProgram, for a program).
  absl::StatusOr<SandboxResult> RunEntryPoint(EntryPointLaunch& launch) const;

  const FilePolicy& file_policy() const { return files_; }

 private:
  // RunProgram's work, and RunEntryPoint's with a program.
  absl::StatusOr<SandboxResult> StartProgram(const Program& program, EntryPointLaunch* entry) const;
  // The work of Run, RunProgram and RunEntryPoint: the one of `sandboxee` (run in a forked
  // child), `exec` (a program, whose working directory Launch fills in) and `entry` (from the
  // fork server) that is not nullptr; or `exec` and `entry` both, for a sandboxee binary.
  absl::StatusOr<SandboxResult> Launch(const absl::FunctionRef<int(UniqueFd)>* sandboxee,
                                       SandboxeeExecPlan* exec, EntryPointLaunch* entry) const;

  FilePolicy files_;
  SyscallPolicy syscalls_;
  ChannelType channel_type_ = ChannelType::kSeqPacket;
  int max_channels_ = 16;
  DecisionLog decision_log_;
  absl::Duration timeout_ = absl::InfiniteDuration();
  Stdio stdio_ = Stdio::kInherit;
  int stdio_fds_[3] = {-1, -1, -1};
  std::string working_directory_;
  NotificationBroker::Observer observer_;
  LandlockMode landlock_mode_ = LandlockMode::kBestEffort;
  std::vector<std::pair<int, rlim_t>> resource_limits_;  // (resource, value), one per resource
  NamespaceSet namespaces_;
  bool namespaces_required_ = false;
};

}  // namespace sbox

#endif  // SBOX_LAUNCHER_LAUNCHER_H_
