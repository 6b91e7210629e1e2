#include "broker/broker_server.h"

#include <errno.h>
#include <sys/socket.h>

#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "proto/codec.h"
#include "proto/errno_name.h"
#include "proto/fd_transport.h"

namespace sbox {
namespace {

const char* ProtocolErrorText(int error) {
  switch (error) {
    case EMSGSIZE:
      return "malformed request: longer than the protocol's maximum";
    case EBADMSG:
      return "malformed request: bad header, lengths or attached descriptors";
    case EPROTONOSUPPORT:
      return "malformed request: unsupported protocol version";
    case ENOSYS:
      return "malformed request: unknown op";
    case ENAMETOOLONG:
      return "malformed request: path longer than the protocol's maximum";
  }
  return "malformed request";
}

}  // namespace

int SocketTypeFor(ChannelType type) {
  return (type == ChannelType::kSeqPacket ? SOCK_SEQPACKET : SOCK_DGRAM) | SOCK_CLOEXEC;
}

BrokerServer::BrokerServer(const FilePolicy& policy, Options options)
    : options_(std::move(options)),
      handler_(policy, options_.decision_log),
      sandbox_(options_.sandboxee_pid, options_.working_directory) {}

BrokerServer::~BrokerServer() { Stop(); }

absl::Status BrokerServer::Serve(UniqueFd channel) {
  absl::MutexLock lock(&mu_);
  JoinFinishedLocked();
  if (stopping_) return absl::FailedPreconditionError("broker server: stopped");
  if (live_channels_ >= options_.max_channels) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("broker server: already serving %d channels", live_channels_));
  }
  Channel& entry = channels_.emplace_back();
  entry.fd = std::move(channel);
  try {
    entry.thread = std::thread(&BrokerServer::ServeChannel, this, &entry);
  } catch (const std::system_error& e) {
    channels_.pop_back();
    return absl::ResourceExhaustedError(
        absl::StrFormat("broker server: cannot start a thread: %s", e.what()));
  }
  ++live_channels_;
  return absl::OkStatus();
}

void BrokerServer::Stop() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (Channel& channel : channels_) {
      // Wakes the thread's recvmsg; the thread closes the descriptor itself, under mu_, so the
      // number cannot be reused between here and its close.
      if (channel.fd.valid()) shutdown(channel.fd.get(), SHUT_RDWR);
      threads.push_back(std::move(channel.thread));
    }
  }
  for (std::thread& thread : threads) {
    if (thread.joinable()) thread.join();
  }
  absl::MutexLock lock(&mu_);
  channels_.clear();
}

void BrokerServer::JoinFinishedLocked() {
  for (auto it = channels_.begin(); it != channels_.end();) {
    if (it->finished && it->thread.joinable()) {
      // The thread has nothing left to do after marking itself finished.
      it->thread.join();
      it = channels_.erase(it);
    } else {
      ++it;
    }
  }
}

int BrokerServer::OpenChannel(UniqueFd* sandboxee_end) {
  int pair[2];
  if (socketpair(AF_UNIX, SocketTypeFor(options_.channel_type), 0, pair) != 0) return -errno;
  UniqueFd broker_end(pair[0]);
  sandboxee_end->reset(pair[1]);
  const absl::Status served = Serve(std::move(broker_end));
  if (!served.ok()) {
    sandboxee_end->reset();
    return served.code() == absl::StatusCode::kResourceExhausted ? -EMFILE : -ESHUTDOWN;
  }
  return 0;
}

void BrokerServer::ServeChannel(Channel* channel) {
  const int fd = channel->fd.get();
  uint8_t request_buffer[proto::kMaxRequestSize];
  uint8_t reply_buffer[proto::kMaxReplySize];
  uint8_t payload[proto::kMaxReplyPayload];
  proto::ReceivedMessage message;
  for (;;) {
    // Requests carry directory descriptors only where fd_paths says; any others are refused
    // (and closed with `message`).
    const ssize_t received = proto::ReceiveMessage(fd, request_buffer, sizeof(request_buffer),
                                                   proto::kMaxRequestDescriptors, &message);
    if (received == 0) break;
    if (received < 0 && received != -EMSGSIZE && received != -EBADMSG) break;
    const absl::Time start = options_.decision_log ? absl::Now() : absl::InfinitePast();

    proto::Request request;
    int error = static_cast<int>(-received);
    const int decode_error =
        proto::DecodeRequest(request_buffer, message.size, message.fd_count, &request);
    if (received > 0) error = decode_error;

    proto::Reply reply;
    reply.op = request.op;
    reply.id = request.id;
    UniqueFd attached;
    if (error != 0) {
      reply.result = -error;
      if (options_.decision_log) {
        options_.decision_log(Decision{start, sandbox_.pid(), request.op, request.path,
                                       request.path2, request.flags, request.mode, false, error,
                                       nullptr, ProtocolErrorText(error), absl::Now() - start});
      }
    } else if (request.op == proto::Op::kNewChannel) {
      reply.result = OpenChannel(&attached);
      if (options_.decision_log) {
        options_.decision_log(Decision{start,
                                       sandbox_.pid(),
                                       request.op,
                                       {},
                                       {},
                                       0,
                                       0,
                                       reply.result == 0,
                                       -reply.result,
                                       nullptr,
                                       reply.result == 0 ? "new channel" : "no channel to give",
                                       absl::Now() - start});
      }
    } else {
      FileRequestHandler::Outcome outcome =
          handler_.Handle(request, message.fds, sandbox_, payload);
      reply.result = outcome.result;
      attached = std::move(outcome.fd);
      reply.payload =
          std::string_view(reinterpret_cast<const char*>(payload), outcome.payload_size);
    }
    // The directory descriptors have served; close them before replying.
    for (UniqueFd& received_fd : message.fds) received_fd.reset();
    reply.fd_count = attached.valid() ? 1 : 0;
    const ptrdiff_t size = proto::EncodeReply(reply, reply_buffer, sizeof(reply_buffer));
    // A peer that is gone, or does not read its replies, loses the channel.
    if (size < 0 || proto::SendMessage(fd, reply_buffer, static_cast<size_t>(size), attached.get(),
                                       MSG_DONTWAIT) != 0) {
      break;
    }
  }
  absl::MutexLock lock(&mu_);
  channel->fd.reset();
  channel->finished = true;
  --live_channels_;
}

}  // namespace sbox
