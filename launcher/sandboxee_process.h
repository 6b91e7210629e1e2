#ifndef SBOX_LAUNCHER_SANDBOXEE_PROCESS_H_
#define SBOX_LAUNCHER_SANDBOXEE_PROCESS_H_

// The launcher's side of the sandboxee's process tree: killing it whole, reaping it, and the
// report of its namespaces.
//
// How every descendant dies with the run, without cgroups: the sandboxee leads a process group
// of its own (setpgid before the filter; setpgid and setsid are in no syscall group, so a
// descendant cannot leave it). Once the launcher's child has exited, the launcher looks at it
// with waitid(WEXITED | WNOWAIT), so that it stays a zombie and its pid, the group's id, cannot
// name another group; kills the group (kill(-pgid, SIGKILL): the kernel delivers it to every
// member, and a fork racing with it fails or its child is killed too); reaps; then waits, for
// at most a few seconds, until no member of the group is still running (a member killed in
// uninterruptible sleep takes a moment; one that is a zombie waits for its new parent to reap
// it). With a pid namespace the sandboxee is pid 2 under an init (sandboxee/namespaces.h):
// killing the init, or its exiting after the sandboxee, makes the kernel kill and reap every
// process of the namespace before the init's exit is seen.
//
// The alternative, an intermediate process set as PR_SET_CHILD_SUBREAPER that reaps every
// orphan, costs a process per run, and still needs the group to find the descendants that
// have not been orphaned yet; it adds nothing the group kill and the pid namespace lack.
// When the launching thread dies, the sandboxee (and, with a pid namespace, its init and the
// waiter) die by PR_SET_PDEATHSIG; without a pid namespace a GroupGuard (launcher/
// group_guard.h), a small process outside the sandbox with a death signal of its own, kills
// the sandboxee's group then.

#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/namespaces.h"
#include "proto/unique_fd.h"
#include "sandboxee/namespaces.h"

namespace sbox {

// The launcher's child and what stands for the sandboxee: killed and reaped on every path that
// does not reap it first.
class SandboxeeProcess {
 public:
  SandboxeeProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  SandboxeeProcess(const SandboxeeProcess&) = delete;
  SandboxeeProcess& operator=(const SandboxeeProcess&) = delete;
  ~SandboxeeProcess();

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  // The pid namespace's init (pid 1), whose death ends the namespace; the launcher's child then
  // exits after reaping it.
  void SetInit(UniqueFd init_pidfd) { init_pidfd_ = std::move(init_pidfd); }

  // SIGKILL to the whole tree: the pid namespace's init when there is one, else the
  // sandboxee's group and the child (which may not have made its group yet).
  void Kill();

  // Once the child has exited (its pidfd is readable): kills its process group, reaps the
  // child, and waits until no member of the group runs. `usage`, when not null, receives the
  // child's resource usage with its reaped descendants' (waitid's fifth argument, which
  // glibc's wrapper does not take). The Status names the failing waitid.
  [[nodiscard]] absl::Status Finish(siginfo_t* info, struct rusage* usage);

 private:
  [[nodiscard]] absl::Status Wait(int options, siginfo_t* info, struct rusage* usage);

  pid_t pid_;
  UniqueFd pidfd_;
  UniqueFd init_pidfd_;
  bool reaped_ = false;
};

// Waits, until `deadline`, for processes of group `pgid` other than zombies to exit: found in
// /proc, each awaited through a pidfd. ESRCH from kill(-pgid, 0) ends it at once. Returns true
// when none is left running.
bool WaitForProcessGroup(pid_t pgid, absl::Time deadline);

// What the child's NamespaceReport said.
struct NamespacesEntered {
  NamespaceSet created;
  int refused_errno[kNamespaceCount] = {};  // per Namespace; 0 when not refused
  pid_t sandboxee_pid = 0;                  // in the launcher's pid namespace
  UniqueFd init_pidfd;                      // with a pid namespace
};

// Reads the first message of a child whose plan asked for namespaces, from `report_fd`, which
// must have SO_PASSCRED set (the sandboxee's pid comes from SCM_CREDENTIALS); clears
// SO_PASSCRED after it. DeadlineExceeded at `deadline`; the errno of a failed set-up step
// (a required namespace refused: named with its errno) as SetupStepName names it; Internal for
// a child that exited without a report or a malformed one.
absl::StatusOr<NamespacesEntered> ReceiveNamespaceReport(int report_fd, int child_pidfd,
                                                         absl::Time deadline);

// "net, pid" for a set; "none" for an empty one.
std::string NamespaceNames(NamespaceSet set);

}  // namespace sbox

#endif  // SBOX_LAUNCHER_SANDBOXEE_PROCESS_H_
