#include "sandboxee/broker_client.h"

#include <string.h>
#include <sys/socket.h>

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/errno_name.h"

namespace sbox::sandboxee {
namespace {

constexpr char kErrnoPayloadUrl[] = "type.sbox/errno";

std::string_view AsStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

std::string Quoted(absl::string_view path) {
  return absl::StrCat("\"", absl::CHexEscape(path), "\"");
}

absl::Status BrokerError(int error, absl::string_view call) {
  absl::Status status(absl::ErrnoToStatusCode(error),
                      absl::StrFormat("%s: %s (%s)", call, ErrnoName(error), strerror(error)));
  status.SetPayload(kErrnoPayloadUrl, absl::Cord(absl::StrCat(error)));
  return status;
}

// OK for result >= 0, else the broker's errno with `call` (built only on failure) named.
template <typename Describe>
absl::Status StatusOf(int result, Describe describe) {
  return result >= 0 ? absl::OkStatus() : BrokerError(-result, describe());
}

proto::Request PathRequest(proto::Op op, absl::string_view path) {
  proto::Request request;
  request.op = op;
  request.path = AsStd(path);
  return request;
}

}  // namespace

BrokerClient::BrokerClient(UniqueFd channel) : pool_(std::move(channel)) {}

int BrokerClient::Call(proto::Request request, int dirfd, int dirfd2, RoundTripReply* reply) {
  request.id = next_id_.fetch_add(1, std::memory_order_relaxed);
  int dirfds[2];
  if (const int count = AttachDirectoryDescriptors(&request, dirfd, dirfd2, dirfds); count < 0) {
    return count;
  }
  ChannelPool::Lease lease = pool_.Acquire();
  const int result = RoundTrip(lease.fd(), request, dirfds, reply);
  if (reply->channel_failed) lease.Discard();
  return result;
}

int BrokerClient::OpenRaw(int dirfd, absl::string_view path, int flags, mode_t mode) {
  proto::Request request = PathRequest(proto::Op::kOpen, path);
  request.flags = static_cast<uint32_t>(flags);
  request.mode = (flags & O_CREAT) ? mode : 0;
  RoundTripReply reply;
  const int result = Call(request, dirfd, AT_FDCWD, &reply);
  return result < 0 ? result : reply.fd.release();
}

int BrokerClient::AccessRaw(int dirfd, absl::string_view path, int mode) {
  proto::Request request = PathRequest(proto::Op::kAccess, path);
  request.flags = static_cast<uint32_t>(mode);
  RoundTripReply reply;
  const int result = Call(request, dirfd, AT_FDCWD, &reply);
  return result < 0 ? result : 0;
}

int BrokerClient::StatRaw(int dirfd, absl::string_view path, int flags, struct stat* out) {
  proto::Request request = PathRequest(proto::Op::kStat, path);
  request.flags = static_cast<uint32_t>(flags);
  RoundTripReply reply;
  const int result = Call(request, dirfd, AT_FDCWD, &reply);
  if (result < 0) return result;
  const std::string_view payload(reinterpret_cast<const char*>(reply.payload), reply.payload_size);
  return proto::DecodeStat(payload, out) == 0 ? 0 : -EPROTO;
}

int BrokerClient::ReadlinkRaw(int dirfd, absl::string_view path, char* buffer, size_t size) {
  RoundTripReply reply;
  const int result = Call(PathRequest(proto::Op::kReadlink, path), dirfd, AT_FDCWD, &reply);
  if (result < 0) return result;
  const size_t copied = reply.payload_size < size ? reply.payload_size : size;
  memcpy(buffer, reply.payload, copied);
  return static_cast<int>(copied);
}

int BrokerClient::GetcwdRaw(char* buffer, size_t size) {
  proto::Request request;
  request.op = proto::Op::kGetcwd;
  RoundTripReply reply;
  const int result = Call(request, AT_FDCWD, AT_FDCWD, &reply);
  if (result < 0) return result;
  if (reply.payload_size >= size) return -ERANGE;
  memcpy(buffer, reply.payload, reply.payload_size);
  buffer[reply.payload_size] = '\0';
  return static_cast<int>(reply.payload_size + 1);
}

absl::StatusOr<UniqueFd> BrokerClient::Open(absl::string_view path, int flags, mode_t mode,
                                            int dirfd) {
  const int fd = OpenRaw(dirfd, path, flags, mode);
  if (fd < 0) return BrokerError(-fd, absl::StrFormat("open(%s, %#o)", Quoted(path), flags));
  return UniqueFd(fd);
}

absl::Status BrokerClient::Access(absl::string_view path, int mode, int dirfd) {
  return StatusOf(AccessRaw(dirfd, path, mode),
                  [&] { return absl::StrFormat("access(%s, %#o)", Quoted(path), mode); });
}

absl::StatusOr<struct stat> BrokerClient::Stat(absl::string_view path, int dirfd) {
  struct stat st;
  const int result = StatRaw(dirfd, path, 0, &st);
  if (result < 0) return BrokerError(-result, absl::StrFormat("stat(%s)", Quoted(path)));
  return st;
}

absl::StatusOr<struct stat> BrokerClient::Lstat(absl::string_view path, int dirfd) {
  struct stat st;
  const int result = StatRaw(dirfd, path, AT_SYMLINK_NOFOLLOW, &st);
  if (result < 0) return BrokerError(-result, absl::StrFormat("lstat(%s)", Quoted(path)));
  return st;
}

absl::StatusOr<std::string> BrokerClient::Readlink(absl::string_view path, int dirfd) {
  char target[proto::kMaxReplyPayload];
  const int size = ReadlinkRaw(dirfd, path, target, sizeof(target));
  if (size < 0) return BrokerError(-size, absl::StrFormat("readlink(%s)", Quoted(path)));
  return std::string(target, static_cast<size_t>(size));
}

absl::Status BrokerClient::Mkdir(absl::string_view path, mode_t mode, int dirfd) {
  proto::Request request = PathRequest(proto::Op::kMkdir, path);
  request.mode = mode;
  RoundTripReply reply;
  return StatusOf(Call(request, dirfd, AT_FDCWD, &reply),
                  [&] { return absl::StrFormat("mkdir(%s, %#o)", Quoted(path), mode); });
}

absl::Status BrokerClient::Rmdir(absl::string_view path, int dirfd) {
  RoundTripReply reply;
  return StatusOf(Call(PathRequest(proto::Op::kRmdir, path), dirfd, AT_FDCWD, &reply),
                  [&] { return absl::StrFormat("rmdir(%s)", Quoted(path)); });
}

absl::Status BrokerClient::Unlink(absl::string_view path, int dirfd) {
  RoundTripReply reply;
  return StatusOf(Call(PathRequest(proto::Op::kUnlink, path), dirfd, AT_FDCWD, &reply),
                  [&] { return absl::StrFormat("unlink(%s)", Quoted(path)); });
}

absl::Status BrokerClient::Rename(absl::string_view old_path, absl::string_view new_path,
                                  unsigned int flags, int old_dirfd, int new_dirfd) {
  proto::Request request = PathRequest(proto::Op::kRename, old_path);
  request.path2 = AsStd(new_path);
  request.flags = flags;
  RoundTripReply reply;
  return StatusOf(Call(request, old_dirfd, new_dirfd, &reply), [&] {
    return absl::StrFormat("rename(%s, %s, %#x)", Quoted(old_path), Quoted(new_path), flags);
  });
}

absl::Status BrokerClient::Link(absl::string_view old_path, absl::string_view new_path,
                                int old_dirfd, int new_dirfd) {
  proto::Request request = PathRequest(proto::Op::kLink, old_path);
  request.path2 = AsStd(new_path);
  RoundTripReply reply;
  return StatusOf(Call(request, old_dirfd, new_dirfd, &reply), [&] {
    return absl::StrFormat("link(%s, %s)", Quoted(old_path), Quoted(new_path));
  });
}

absl::Status BrokerClient::Symlink(absl::string_view target, absl::string_view link_path,
                                   int dirfd) {
  proto::Request request = PathRequest(proto::Op::kSymlink, link_path);
  request.path2 = AsStd(target);
  RoundTripReply reply;
  return StatusOf(Call(request, dirfd, AT_FDCWD, &reply), [&] {
    return absl::StrFormat("symlink(%s, %s)", Quoted(target), Quoted(link_path));
  });
}

absl::Status BrokerClient::Chmod(absl::string_view path, mode_t mode, int dirfd) {
  proto::Request request = PathRequest(proto::Op::kChmod, path);
  request.mode = mode;
  RoundTripReply reply;
  return StatusOf(Call(request, dirfd, AT_FDCWD, &reply),
                  [&] { return absl::StrFormat("chmod(%s, %#o)", Quoted(path), mode); });
}

absl::Status BrokerClient::Truncate(absl::string_view path, off_t length, int dirfd) {
  if (length < 0)
    return BrokerError(EINVAL, absl::StrFormat("truncate(%s, %d)", Quoted(path), length));
  proto::Request request = PathRequest(proto::Op::kTruncate, path);
  request.length = static_cast<uint64_t>(length);
  RoundTripReply reply;
  return StatusOf(Call(request, dirfd, AT_FDCWD, &reply),
                  [&] { return absl::StrFormat("truncate(%s, %d)", Quoted(path), length); });
}

absl::StatusOr<UniqueFd> BrokerClient::Connect(absl::string_view path, int type, int dirfd) {
  proto::Request request = PathRequest(proto::Op::kConnect, path);
  request.flags = static_cast<uint32_t>(type);
  RoundTripReply reply;
  const int result = Call(request, dirfd, AT_FDCWD, &reply);
  if (result < 0) {
    return BrokerError(-result, absl::StrFormat("connect(%s, type %#x)", Quoted(path), type));
  }
  return std::move(reply.fd);
}

absl::Status BrokerClient::Chdir(absl::string_view path, int dirfd) {
  RoundTripReply reply;
  return StatusOf(Call(PathRequest(proto::Op::kChdir, path), dirfd, AT_FDCWD, &reply),
                  [&] { return absl::StrFormat("chdir(%s)", Quoted(path)); });
}

absl::StatusOr<std::string> BrokerClient::Getcwd() {
  char directory[proto::kMaxReplyPayload + 1];
  const int size = GetcwdRaw(directory, sizeof(directory));
  if (size < 0) return BrokerError(-size, "getcwd()");
  return std::string(directory, static_cast<size_t>(size - 1));
}

int ErrnoOf(const absl::Status& status) {
  if (status.ok()) return 0;
  const absl::optional<absl::Cord> payload = status.GetPayload(kErrnoPayloadUrl);
  int error;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &error)) return -1;
  return error;
}

}  // namespace sbox::sandboxee
