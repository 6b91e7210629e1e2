#include "sandboxee/channel_pool.h"

#include <errno.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/fd_transport.h"
#include "sandboxee/round_trip.h"

namespace sbox::sandboxee {

ChannelPool::ChannelPool(UniqueFd control) : control_(std::move(control)) {}

namespace {

void HangUp(int channel) {
  proto::SendMessage(channel, "", 0, -1, MSG_DONTWAIT);
  close(channel);
}

}  // namespace

ChannelPool::~ChannelPool() {
  for (Slot& slot : slots_) {
    if (slot.state.load(std::memory_order_acquire) != kEmpty) HangUp(slot.fd);
  }
  HangUp(control_.release());
}

ChannelPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->Release(slot_);
}

void ChannelPool::Lease::Discard() {
  if (pool_ != nullptr) pool_->Discard(slot_);
  pool_ = nullptr;
}

void ChannelPool::Discard(int slot) {
  if (slot == kControlSlot) {
    Release(slot);
    return;
  }
  HangUp(slots_[slot].fd);
  slots_[slot].state.store(kEmpty, std::memory_order_release);
  growth_refused_.store(false, std::memory_order_relaxed);
}

void ChannelPool::Release(int slot) {
  if (slot == kControlSlot) {
    control_busy_.store(false, std::memory_order_release);
  } else {
    slots_[slot].state.store(kIdle, std::memory_order_release);
  }
}

ChannelPool::Lease ChannelPool::Acquire() {
  bool contended = false;
  for (;;) {
    for (int i = 0; i < kMaxPooled; ++i) {
      // A plain load first: most slots are empty or busy, and a failed CAS still costs a locked
      // instruction.
      int expected = kIdle;
      if (slots_[i].state.load(std::memory_order_relaxed) == kIdle &&
          slots_[i].state.compare_exchange_strong(expected, kBusy, std::memory_order_acquire)) {
        return Lease(this, i, slots_[i].fd);
      }
    }
    bool expected = false;
    if (control_busy_.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      if (!contended || growth_refused_.load(std::memory_order_relaxed)) {
        return Lease(this, kControlSlot, control_.get());
      }
      // Another thread held the control channel a moment ago: add a channel for this one.
      for (int i = 0; i < kMaxPooled; ++i) {
        int empty = kEmpty;
        if (!slots_[i].state.compare_exchange_strong(empty, kBusy, std::memory_order_acquire)) {
          continue;
        }
        const int fd = RequestChannel(control_.get());
        if (fd >= 0) {
          control_busy_.store(false, std::memory_order_release);
          slots_[i].fd = fd;
          return Lease(this, i, fd);
        }
        slots_[i].state.store(kEmpty, std::memory_order_release);
        break;
      }
      // The pool is full or the broker refused: serve this request on the control channel.
      growth_refused_.store(true, std::memory_order_relaxed);
      return Lease(this, kControlSlot, control_.get());
    }
    contended = true;
    sched_yield();
  }
}

int ChannelPool::RequestChannel(int control) {
  proto::Request request;
  request.op = proto::Op::kNewChannel;
  RoundTripReply reply;
  const int result = RoundTrip(control, request, nullptr, &reply);
  if (result < 0) return result;
  return reply.fd.release();
}

}  // namespace sbox::sandboxee
