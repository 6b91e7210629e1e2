#include "sandboxee/round_trip.h"

#include <errno.h>
#include <fcntl.h>

#include <cstring>

#include "proto/fd_transport.h"

namespace sbox::sandboxee {
namespace {

// True when a successful reply to `op` carries a descriptor.
bool ReturnsDescriptor(proto::Op op) {
  return op == proto::Op::kOpen || op == proto::Op::kNewChannel || op == proto::Op::kConnect;
}

// The payload a successful reply to `op` with `result` carries.
bool PayloadFits(proto::Op op, int32_t result, size_t size) {
  switch (op) {
    case proto::Op::kStat:
      return size == proto::kWireStatSize;
    case proto::Op::kStatfs:
      return size == proto::kWireStatfsSize;
    case proto::Op::kReadlink:
    case proto::Op::kGetcwd:
      return size == static_cast<size_t>(result);
    default:
      return size == 0;
  }
}

}  // namespace

int RoundTrip(int channel, const proto::Request& request, const int* dirfds,
              RoundTripReply* reply) {
  reply->fd.reset();
  reply->payload_size = 0;
  reply->channel_failed = false;
  uint8_t buffer[proto::kMaxRequestSize > proto::kMaxReplySize ? proto::kMaxRequestSize
                                                               : proto::kMaxReplySize];
  const ptrdiff_t size = proto::EncodeRequest(request, buffer, sizeof(buffer));
  if (size < 0) return static_cast<int>(size);
  reply->channel_failed = true;
  const int sent = proto::SendMessageWithFds(channel, buffer, static_cast<size_t>(size), dirfds,
                                             __builtin_popcount(request.fd_paths), 0);
  // A bad directory descriptor fails the whole sendmsg before anything is sent: the channel is
  // as good as before.
  if (sent == -EBADF && request.fd_paths != 0) {
    reply->channel_failed = false;
    return -EBADF;
  }
  if (sent != 0) return -EPIPE;

  proto::ReceivedMessage message;
  const ssize_t got = proto::ReceiveMessage(channel, buffer, proto::kMaxReplySize,
                                            proto::kMaxReplyDescriptors, &message);
  if (got == 0 || got == -ECONNRESET) return -ECONNRESET;
  if (got < 0) return -EPROTO;
  proto::Reply decoded;
  if (proto::DecodeReply(buffer, static_cast<size_t>(got), &decoded) != 0) return -EPROTO;
  if (decoded.op != request.op || decoded.id != request.id) return -EPROTO;
  const bool success = decoded.result >= 0;
  const int expected_fds = success && ReturnsDescriptor(request.op) ? 1 : 0;
  const bool payload_fits = success
                                ? PayloadFits(request.op, decoded.result, decoded.payload.size())
                                : decoded.payload.empty();
  if (message.fd_count != expected_fds || decoded.fd_count != expected_fds || !payload_fits) {
    return -EPROTO;  // `message` closes whatever descriptor came
  }
  if (expected_fds == 1) reply->fd = std::move(message.fds[0]);
  memcpy(reply->payload, decoded.payload.data(), decoded.payload.size());
  reply->payload_size = decoded.payload.size();
  reply->result = decoded.result;
  reply->channel_failed = false;
  return decoded.result;
}

int AttachDirectoryDescriptors(proto::Request* request, int dirfd, int dirfd2, int dirfds[2]) {
  const auto relative = [](std::string_view path) { return !path.empty() && path[0] != '/'; };
  if ((dirfd < 0 && dirfd != AT_FDCWD && relative(request->path)) ||
      (dirfd2 < 0 && dirfd2 != AT_FDCWD && relative(request->path2))) {
    return -EBADF;
  }
  int count = 0;
  request->fd_paths = 0;
  if (dirfd >= 0 && relative(request->path)) {
    request->fd_paths |= proto::kFdForPath;
    dirfds[count++] = dirfd;
  }
  if (dirfd2 >= 0 && relative(request->path2)) {
    request->fd_paths |= proto::kFdForPath2;
    dirfds[count++] = dirfd2;
  }
  return count;
}

}  // namespace sbox::sandboxee
