#ifndef SBOX_CALL_WARM_POOL_H_
#define SBOX_CALL_WARM_POOL_H_

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/sandbox_result.h"
#include "launcher/launcher.h"
#include "proto/unique_fd.h"

namespace sbox {

// One sandboxee of a warm pool, started and set up, waiting for calls on its call channel.
// Shared by the pool's supervising thread (which runs Launcher::RunEntryPoint for it until it
// exits) and the caller that took it.
class PoolMember {
 public:
  PoolMember(UniqueFd host_end, UniqueFd cancel, int calls)
      : host_end_(std::move(host_end)), cancel_(std::move(cancel)), calls_left_(calls) {}

  int host_end() const { return host_end_.get(); }
  // Ends the sandboxee: its supervisor kills it (the outcome is kTimedOut).
  void Cancel() const;
  // Waits until the sandboxee has been reaped, and returns how it ended.
  absl::StatusOr<SandboxResult> WaitFinished();
  // Called by the supervisor.
  void Finish(absl::StatusOr<SandboxResult> result);
  // Counts one call served; true while more may follow.
  bool CountCall() { return --calls_left_ > 0; }
  // Whether the pong of the ping the pool sent it (proto::kPing) is still to be read, once.
  bool TakePingPending() { return std::exchange(ping_pending_, false); }
  void SetPingPending() { ping_pending_ = true; }

 private:
  UniqueFd host_end_;
  UniqueFd cancel_;  // an eventfd, which the supervisor's poll watches
  int calls_left_;
  bool ping_pending_ = false;  // only its current owner reads or writes it
  absl::Mutex mutex_;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  absl::StatusOr<SandboxResult> result_ ABSL_GUARDED_BY(mutex_);
};

// Keeps `size` sandboxees of one entry point started and waiting, each on a supervising thread
// of its own that starts a replacement as soon as its sandboxee ends.
class WarmPool {
 public:
  struct Spec {
    std::string entry_point;
    std::string program;  // EntryPointLaunch::program
    int calls_per_sandboxee = 1;
    std::vector<std::pair<int, rlim_t>> resource_limits;
    bool single_process = false;  // EntryPointLaunch::single_process
  };
  // `launcher` must outlive the pool.
  WarmPool(const Launcher& launcher, Spec spec, int size);
  // Ends every sandboxee and joins the threads. No call may be using a member.
  ~WarmPool();
  WarmPool(const WarmPool&) = delete;
  WarmPool& operator=(const WarmPool&) = delete;

  // A waiting sandboxee, now the caller's alone; nullptr when none is ready.
  std::shared_ptr<PoolMember> Take();
  // Gives back a member that served a call well and may serve more.
  void Return(std::shared_ptr<PoolMember> member);

 private:
  void Supervise();

  const Launcher& launcher_;
  const Spec spec_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::shared_ptr<PoolMember>> ready_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::shared_ptr<PoolMember>> live_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::thread> threads_;
};

}  // namespace sbox

#endif  // SBOX_CALL_WARM_POOL_H_
