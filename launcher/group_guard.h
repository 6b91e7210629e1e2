#ifndef SBOX_LAUNCHER_GROUP_GUARD_H_
#define SBOX_LAUNCHER_GROUP_GUARD_H_

#include <sys/types.h>

#include "absl/status/statusor.h"
#include "proto/unique_fd.h"

namespace sbox {

// Kills a sandboxee's process group when the launching thread dies, for runs without a pid
// namespace (whose init does the same by dying): the sandboxee dies by PR_SET_PDEATHSIG, but
// PR_SET_PDEATHSIG is not inherited, and its descendants would live on.
//
// A guard is a small process the launcher clones (sharing its memory, as posix_spawn's child
// does: nothing is copied), outside the sandbox: no filter, no Landlock domain, in the
// launcher's process group, so the sandboxee can neither signal it (Landlock scoping, and the
// broker refuses a kill of any pid outside the sandboxee's tree) nor see it as one of its own.
// It closes every descriptor (its copy of the launcher's table), sets PR_SET_PDEATHSIG(SIGHUP)
// and waits for that signal alone; on it, kill(-pgid,
// SIGKILL) and exit. Destroying the guard (the run ended normally) kills and reaps it.
//
// The group's id could name another group only if every member had exited and the pid been
// reused in the microseconds between the launcher's death and the guard's signal.
class GroupGuard {
 public:
  // A guard of group `pgid` (the launcher's child, which makes the group itself). The Status
  // names the failing mmap, clone or pidfd_open.
  static absl::StatusOr<GroupGuard> Start(pid_t pgid);

  GroupGuard(GroupGuard&& other) noexcept;
  GroupGuard& operator=(GroupGuard&&) = delete;
  GroupGuard(const GroupGuard&) = delete;
  ~GroupGuard();

  pid_t pid() const { return pid_; }

 private:
  GroupGuard(pid_t pid, UniqueFd pidfd, void* stack)
      : pid_(pid), pidfd_(std::move(pidfd)), stack_(stack) {}

  pid_t pid_;
  UniqueFd pidfd_;
  void* stack_;  // the guard's stack and arguments, unmapped once it is reaped
};

}  // namespace sbox

#endif  // SBOX_LAUNCHER_GROUP_GUARD_H_
