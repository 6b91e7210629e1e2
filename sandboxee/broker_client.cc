#include "sandboxee/broker_client.h"

#include <fcntl.h>
#include <string.h>

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "proto/errno_name.h"
#include "sandboxee/round_trip.h"

namespace sbox::sandboxee {
namespace {

constexpr char kErrnoPayloadUrl[] = "type.sbox/errno";

std::string_view AsStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

absl::Status BrokerError(int error, absl::string_view call) {
  absl::Status status(absl::ErrnoToStatusCode(error),
                      absl::StrFormat("%s: %s (%s)", call, ErrnoName(error), strerror(error)));
  status.SetPayload(kErrnoPayloadUrl, absl::Cord(absl::StrCat(error)));
  return status;
}

std::string Quoted(absl::string_view path) {
  return absl::StrCat("\"", absl::CHexEscape(path), "\"");
}

}  // namespace

BrokerClient::BrokerClient(UniqueFd channel) : pool_(std::move(channel)) {}

int BrokerClient::Transact(proto::Request& request, RoundTripReply* reply) {
  request.id = next_id_.fetch_add(1, std::memory_order_relaxed);
  ChannelPool::Lease lease = pool_.Acquire();
  const int result = RoundTrip(lease.fd(), request, reply);
  if (reply->channel_failed) lease.Discard();
  return result;
}

int BrokerClient::OpenRaw(absl::string_view path, int flags, mode_t mode) {
  proto::Request request;
  request.op = proto::Op::kOpen;
  request.flags = static_cast<uint32_t>(flags);
  request.mode = (flags & O_CREAT) ? mode : 0;
  request.path = AsStd(path);
  RoundTripReply reply;
  const int result = Transact(request, &reply);
  return result < 0 ? result : reply.fd.release();
}

int BrokerClient::AccessRaw(absl::string_view path, int mode) {
  proto::Request request;
  request.op = proto::Op::kAccess;
  request.flags = static_cast<uint32_t>(mode);
  request.path = AsStd(path);
  RoundTripReply reply;
  const int result = Transact(request, &reply);
  return result < 0 ? result : 0;
}

int BrokerClient::StatRaw(absl::string_view path, int flags, struct stat* out) {
  proto::Request request;
  request.op = proto::Op::kStat;
  request.flags = static_cast<uint32_t>(flags);
  request.path = AsStd(path);
  RoundTripReply reply;
  const int result = Transact(request, &reply);
  if (result < 0) return result;
  const std::string_view payload(reinterpret_cast<const char*>(reply.payload), reply.payload_size);
  return proto::DecodeStat(payload, out) == 0 ? 0 : -EPROTO;
}

absl::StatusOr<UniqueFd> BrokerClient::Open(absl::string_view path, int flags, mode_t mode) {
  const int fd = OpenRaw(path, flags, mode);
  if (fd < 0) {
    return BrokerError(-fd, absl::StrFormat("open(%s, %#o)", Quoted(path), flags));
  }
  return UniqueFd(fd);
}

absl::Status BrokerClient::Access(absl::string_view path, int mode) {
  const int result = AccessRaw(path, mode);
  if (result < 0)
    return BrokerError(-result, absl::StrFormat("access(%s, %#o)", Quoted(path), mode));
  return absl::OkStatus();
}

absl::StatusOr<struct stat> BrokerClient::Stat(absl::string_view path) {
  struct stat st;
  const int result = StatRaw(path, 0, &st);
  if (result < 0) return BrokerError(-result, absl::StrFormat("stat(%s)", Quoted(path)));
  return st;
}

absl::StatusOr<struct stat> BrokerClient::Lstat(absl::string_view path) {
  struct stat st;
  const int result = StatRaw(path, AT_SYMLINK_NOFOLLOW, &st);
  if (result < 0) return BrokerError(-result, absl::StrFormat("lstat(%s)", Quoted(path)));
  return st;
}

int ErrnoOf(const absl::Status& status) {
  if (status.ok()) return 0;
  const absl::optional<absl::Cord> payload = status.GetPayload(kErrnoPayloadUrl);
  int error;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &error)) return -1;
  return error;
}

}  // namespace sbox::sandboxee
