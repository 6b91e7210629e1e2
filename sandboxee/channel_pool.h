#ifndef SBOX_SANDBOXEE_CHANNEL_POOL_H_
#define SBOX_SANDBOXEE_CHANNEL_POOL_H_

#include <atomic>
#include <cstddef>

#include "proto/unique_fd.h"

namespace sbox::sandboxee {

// Gives each concurrent request a broker channel of its own, so that threads of the sandboxee
// never wait on each other's round trips and never need a new socket pair per request.
//
// The launcher's channel (the control channel) serves requests too. A thread that finds it busy
// and no pooled channel idle asks the broker for a new channel (Op::kNewChannel) as soon as the
// control channel is free, and keeps it in the pool for everyone. So a single-threaded sandboxee
// uses one channel, and N threads settle on at most N. When the pool is full or the broker
// refuses, threads wait (sched_yield) for a channel to come free.
//
// Lock-free and allocation-free: claims are compare-and-swap on slot states.
class ChannelPool {
 public:
  static constexpr int kMaxPooled = 15;

  explicit ChannelPool(UniqueFd control);
  // Hangs up every channel with a zero-length message before closing it: a SOCK_DGRAM broker
  // sees no close, and would otherwise keep serving the channel until the sandbox ends.
  ~ChannelPool();
  ChannelPool(const ChannelPool&) = delete;
  ChannelPool& operator=(const ChannelPool&) = delete;

  // A channel held for one request; released when destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), slot_(other.slot_), fd_(other.fd_) {
      other.pool_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    int fd() const { return fd_; }
    // The channel failed (see RoundTripReply::channel_failed): a pooled channel is closed and
    // its slot freed for a new one. The control channel is kept, since nothing can replace it.
    void Discard();

   private:
    friend class ChannelPool;
    Lease(ChannelPool* pool, int slot, int fd) : pool_(pool), slot_(slot), fd_(fd) {}
    ChannelPool* pool_;
    int slot_;  // kControlSlot or an index into slots_
    int fd_;
  };

  Lease Acquire();

  // Sends Op::kNewChannel on `control` and returns the new channel, or -errno.
  static int RequestChannel(int control);

 private:
  static constexpr int kControlSlot = -1;
  enum State : int { kEmpty, kIdle, kBusy };
  struct Slot {
    std::atomic<int> state{kEmpty};
    int fd = -1;  // written only by the thread that holds the slot kBusy
  };

  void Release(int slot);
  void Discard(int slot);

  UniqueFd control_;
  std::atomic<bool> control_busy_{false};
  std::atomic<bool> growth_refused_{false};
  Slot slots_[kMaxPooled];
};

}  // namespace sbox::sandboxee

#endif  // SBOX_SANDBOXEE_CHANNEL_POOL_H_
