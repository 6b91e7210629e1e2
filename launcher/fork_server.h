#ifndef SBOX_LAUNCHER_FORK_SERVER_H_
#define SBOX_LAUNCHER_FORK_SERVER_H_

#include <sys/types.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "proto/unique_fd.h"
#include "sandboxee/sandboxee_setup.h"

namespace sbox {

// A small copy of the host process, made while it has one thread, that forks sandboxees on
// request, so that no sandboxee is ever forked from a multithreaded host (whose other threads
// may hold malloc's, stdio's or any lock the child would then wait on forever).
//
// The server is forked at Start and does nothing but wait on its control socket. Each Spawn
// sends it the sandboxee's set-up plan (the compiled filter, limits, Landlock ruleset and
// descriptors) and the entry point; it clones a child with CLONE_PARENT, so that the child is
// this process's own: the launcher waits for it, reads its rusage and kills it by pidfd as it
// does a child it forked itself. The child runs the same set-up as Launcher::Run's
// (sandboxee/sandboxee_setup.h), then sandboxee::ServeCalls. The server holds no descriptor but
// its control socket, dies with the thread that started it (PR_SET_PDEATHSIG), and exits when
// the host closes the socket.
class ForkServer {
 public:
  // Starts the process-wide server, once: OK when it runs (or already did). FailedPrecondition
  // when the process has more than one thread (the message says how many, and where to call
  // StartForkServer); the errno of socketpair or fork otherwise.
  static absl::Status Start();
  // The running server, or nullptr before a Start succeeded.
  static ForkServer* Running();

  struct Spawned {
    pid_t pid;
    UniqueFd pidfd;
  };
  // Forks a sandboxee set up by `plan` that serves `calls` calls of `entry_point` on
  // plan.call_fd. The plan's descriptors (channel, report, call, Landlock, stdio: all three
  // must be >= 0, since the server's own are closed) are sent to the server and stay the
  // caller's. plan.namespaces must request none. Safe from many threads; spawns are
  // serialized. Unavailable when the server is gone; the server's clone errno otherwise.
  absl::StatusOr<Spawned> Spawn(const SandboxeeSetupPlan& plan, absl::string_view entry_point,
                                int calls);

 private:
  ForkServer(UniqueFd control, pid_t pid) : control_(std::move(control)), pid_(pid) {}

  absl::Mutex mutex_;
  UniqueFd control_ ABSL_GUARDED_BY(mutex_);
  const pid_t pid_;
};

}  // namespace sbox

#endif  // SBOX_LAUNCHER_FORK_SERVER_H_
