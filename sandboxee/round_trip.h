#ifndef SBOX_SANDBOXEE_ROUND_TRIP_H_
#define SBOX_SANDBOXEE_ROUND_TRIP_H_

#include <cstddef>
#include <cstdint>

#include "proto/codec.h"
#include "proto/unique_fd.h"

namespace sbox::sandboxee {

// The reply to one request. `payload` is a copy.
struct RoundTripReply {
  int32_t result = 0;  // >= 0, or -errno
  UniqueFd fd;
  uint8_t payload[proto::kMaxReplyPayload];
  size_t payload_size = 0;
  // The channel can no longer be trusted to pair requests with replies: the caller should
  // close it (ChannelPool::Lease::Discard).
  bool channel_failed = false;
};

// Sends `request` on `channel` and reads its reply, on the stack. Returns the broker's result,
// which is >= 0 or -errno, or one of these local failures:
//   -ENAMETOOLONG  the path exceeds proto::kMaxPathLength
//   -EBADF         a directory descriptor in `dirfds` is not open (nothing was sent)
//   -EPIPE         the request could not be sent (the broker is gone)
//   -ECONNRESET    the channel closed, or was reset, before the reply came
//   -EPROTO        the reply is malformed, answers another request, carries a descriptor the
//                  op does not return, lacks one it does, or has a payload of the wrong size; or
//                  recvmsg failed in another way
// Every local failure but ENAMETOOLONG and EBADF sets `reply->channel_failed`. A descriptor that
// arrives with a reply the op does not allow is closed. Async-signal-safe; errno is preserved.
// `dirfds` holds the directory descriptors request.fd_paths announces, in its order.
int RoundTrip(int channel, const proto::Request& request, const int* dirfds, RoundTripReply* reply);

// Sets `request->fd_paths` for the directory descriptors its paths need and writes them to
// `dirfds` in that order: a descriptor goes only with a non-empty relative path, and AT_FDCWD
// means the broker's working directory. Returns how many, or -EBADF for a relative path with
// any other negative descriptor. Async-signal-safe.
int AttachDirectoryDescriptors(proto::Request* request, int dirfd, int dirfd2, int dirfds[2]);

}  // namespace sbox::sandboxee

#endif  // SBOX_SANDBOXEE_ROUND_TRIP_H_
