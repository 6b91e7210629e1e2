#include "call/warm_pool.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "proto/call_message.h"
#include "proto/fd_transport.h"

namespace sbox {

void PoolMember::Cancel() const {
  const uint64_t one = 1;
  // Only EAGAIN (the counter is full) can fail it, and the supervisor is then told already.
  [[maybe_unused]] const ssize_t wrote = write(cancel_.get(), &one, sizeof(one));
}

absl::StatusOr<SandboxResult> PoolMember::WaitFinished() {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(&finished_));
  return result_;
}

void PoolMember::Finish(absl::StatusOr<SandboxResult> result) {
  absl::MutexLock lock(&mutex_);
  result_ = std::move(result);
  finished_ = true;
}

WarmPool::WarmPool(const Launcher& launcher, Spec spec, int size)
    : launcher_(launcher), spec_(std::move(spec)) {
  for (int i = 0; i < size; ++i) threads_.emplace_back([this] { Supervise(); });
}

WarmPool::~WarmPool() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    for (const auto& member : live_) member->Cancel();
  }
  for (std::thread& thread : threads_) thread.join();
}

std::shared_ptr<PoolMember> WarmPool::Take() {
  absl::MutexLock lock(&mutex_);
  if (ready_.empty()) return nullptr;
  // The one that has waited longest: the newest may still be answering its ping.
  std::shared_ptr<PoolMember> member = std::move(ready_.front());
  ready_.erase(ready_.begin());
  return member;
}

void WarmPool::Return(std::shared_ptr<PoolMember> member) {
  absl::MutexLock lock(&mutex_);
  if (stopping_) {
    member->Cancel();
    return;
  }
  ready_.push_back(std::move(member));
}

void WarmPool::Supervise() {
  for (;;) {
    int pair[2];
    const int cancel = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (cancel < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
      if (cancel >= 0) close(cancel);
      // Out of descriptors, most likely: the pool waits, calls spawn afresh meanwhile.
      absl::SleepFor(absl::Milliseconds(100));
      absl::MutexLock lock(&mutex_);
      if (stopping_) return;
      continue;
    }
    UniqueFd child_end(pair[1]);
    auto member = std::make_shared<PoolMember>(UniqueFd(pair[0]), UniqueFd(cancel),
                                               spec_.calls_per_sandboxee);
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) return;
      live_.push_back(member);
    }
    EntryPointLaunch launch;
    launch.name = spec_.entry_point;
    launch.program = spec_.program;
    launch.calls = spec_.calls_per_sandboxee;
    launch.call_fd = child_end.get();
    launch.cancel_fd = cancel;
    launch.resource_limits = spec_.resource_limits;
    launch.single_process = spec_.single_process;
    launch.on_started = [this, member] {
      // Its first run of the call path happens now, not in a caller's call.
      const proto::CallRequestHeader ping = {proto::kCallMagic, proto::kPing, 0, 0, 0};
      if (proto::SendMessage(member->host_end(), &ping, sizeof(ping), -1, MSG_DONTWAIT) == 0) {
        member->SetPingPending();
      }
      absl::MutexLock lock(&mutex_);
      ready_.push_back(member);
    };
    absl::StatusOr<SandboxResult> result = launcher_.RunEntryPoint(launch);
    child_end.reset();
    bool stopping;
    {
      absl::MutexLock lock(&mutex_);
      ready_.erase(std::remove(ready_.begin(), ready_.end(), member), ready_.end());
      live_.erase(std::remove(live_.begin(), live_.end(), member), live_.end());
      stopping = stopping_;
    }
    const bool failed = !result.ok();
    member->Finish(std::move(result));
    if (stopping) return;
    // A launch that failed (the fork server gone, descriptors exhausted) is not retried in a
    // tight loop; calls meanwhile spawn afresh and report the failure themselves.
    if (failed) absl::SleepFor(absl::Milliseconds(100));
  }
}

}  // namespace sbox
