#include "sandboxee/round_trip.h"

#include <errno.h>

#include <cstring>

#include "proto/fd_transport.h"

namespace sbox::sandboxee {
namespace {

// True when a successful reply to `op` carries a descriptor.
bool ReturnsDescriptor(proto::Op op) {
  return op == proto::Op::kOpen || op == proto::Op::kNewChannel;
}

size_t ExpectedPayload(proto::Op op) { return op == proto::Op::kStat ? proto::kWireStatSize : 0; }

}  // namespace

int RoundTrip(int channel, const proto::Request& request, RoundTripReply* reply) {
  reply->fd.reset();
  reply->payload_size = 0;
  reply->channel_failed = false;
  uint8_t buffer[proto::kMaxRequestSize > proto::kMaxReplySize ? proto::kMaxRequestSize
                                                               : proto::kMaxReplySize];
  const ptrdiff_t size = proto::EncodeRequest(request, buffer, sizeof(buffer));
  if (size < 0) return static_cast<int>(size);
  reply->channel_failed = true;
  if (proto::SendMessage(channel, buffer, static_cast<size_t>(size), -1, 0) != 0) return -EPIPE;

  proto::ReceivedMessage message;
  const ssize_t got = proto::ReceiveMessage(channel, buffer, proto::kMaxReplySize,
                                            proto::kMaxDescriptorsPerMessage, &message);
  if (got == 0 || got == -ECONNRESET) return -ECONNRESET;
  if (got < 0) return -EPROTO;
  proto::Reply decoded;
  if (proto::DecodeReply(buffer, static_cast<size_t>(got), &decoded) != 0) return -EPROTO;
  if (decoded.op != request.op || decoded.id != request.id) return -EPROTO;
  const bool success = decoded.result >= 0;
  const int expected_fds = success && ReturnsDescriptor(request.op) ? 1 : 0;
  const size_t expected_payload = success ? ExpectedPayload(request.op) : 0;
  if (message.fd_count != expected_fds || decoded.fd_count != expected_fds ||
      decoded.payload.size() != expected_payload) {
    return -EPROTO;  // `message` closes whatever descriptor came
  }
  if (expected_fds == 1) reply->fd = std::move(message.fds[0]);
  memcpy(reply->payload, decoded.payload.data(), decoded.payload.size());
  reply->payload_size = decoded.payload.size();
  reply->result = decoded.result;
  reply->channel_failed = false;
  return decoded.result;
}

}  // namespace sbox::sandboxee
