#include "proto/codec.h"

#include <errno.h>
#include <fcntl.h>

#include <cstring>

namespace sbox::proto {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the wire format is little-endian and the codec copies host integers");

template <typename T>
T Load(const uint8_t* p) {
  T value;
  memcpy(&value, p, sizeof(value));
  return value;
}

template <typename T>
void Store(uint8_t* p, T value) {
  memcpy(p, &value, sizeof(value));
}

}  // namespace

bool IsKnownOp(uint16_t op) {
  return op >= static_cast<uint16_t>(Op::kOpen) && op <= static_cast<uint16_t>(Op::kNewChannel);
}

ptrdiff_t EncodeRequest(const Request& request, uint8_t* out, size_t out_size) {
  if (request.path.size() > kMaxPathLength) return -ENAMETOOLONG;
  const size_t size = kRequestHeaderSize + request.path.size();
  if (out_size < size) return -EMSGSIZE;
  Store<uint16_t>(out + 0, kProtocolVersion);
  Store<uint16_t>(out + 2, static_cast<uint16_t>(request.op));
  Store<uint32_t>(out + 4, request.id);
  Store<uint32_t>(out + 8, request.flags);
  Store<uint32_t>(out + 12, request.mode);
  Store<uint64_t>(out + 16, 0);
  Store<uint16_t>(out + 24, static_cast<uint16_t>(request.path.size()));
  Store<uint16_t>(out + 26, 0);
  Store<uint32_t>(out + 28, 0);
  if (!request.path.empty())
    memcpy(out + kRequestHeaderSize, request.path.data(), request.path.size());
  return static_cast<ptrdiff_t>(size);
}

int DecodeRequest(const uint8_t* data, size_t size, Request* out) {
  *out = Request{};
  out->op = static_cast<Op>(0);
  if (size >= 8) {
    out->op = static_cast<Op>(Load<uint16_t>(data + 2));
    out->id = Load<uint32_t>(data + 4);
  }
  if (size >= 2 && Load<uint16_t>(data) != kProtocolVersion) return EPROTONOSUPPORT;
  if (size < kRequestHeaderSize) return EBADMSG;
  const uint16_t op = Load<uint16_t>(data + 2);
  if (!IsKnownOp(op)) return ENOSYS;
  const size_t path_len = Load<uint16_t>(data + 24);
  if (Load<uint64_t>(data + 16) != 0 || Load<uint16_t>(data + 26) != 0 ||
      Load<uint32_t>(data + 28) != 0) {
    return EBADMSG;
  }
  if (size != kRequestHeaderSize + path_len) return EBADMSG;
  if (path_len > kMaxPathLength) return ENAMETOOLONG;
  const uint32_t flags = Load<uint32_t>(data + 8);
  const uint32_t mode = Load<uint32_t>(data + 12);
  // Fields an op does not use must be zero, so that a later version may give them a meaning.
  switch (static_cast<Op>(op)) {
    case Op::kOpen:
      if (!(flags & O_CREAT) && mode != 0) return EBADMSG;
      break;
    case Op::kAccess:
    case Op::kStat:
      if (mode != 0) return EBADMSG;
      break;
    case Op::kNewChannel:
      if (path_len != 0 || flags != 0 || mode != 0) return EBADMSG;
      break;
  }
  out->flags = flags;
  out->mode = mode;
  out->path = std::string_view(reinterpret_cast<const char*>(data + kRequestHeaderSize), path_len);
  return 0;
}

ptrdiff_t EncodeReply(const Reply& reply, uint8_t* out, size_t out_size) {
  if (reply.payload.size() > kMaxReplyPayload) return -EMSGSIZE;
  const size_t size = kReplyHeaderSize + reply.payload.size();
  if (out_size < size) return -EMSGSIZE;
  Store<uint16_t>(out + 0, kProtocolVersion);
  Store<uint16_t>(out + 2, static_cast<uint16_t>(reply.op));
  Store<uint32_t>(out + 4, reply.id);
  Store<int32_t>(out + 8, reply.result);
  Store<uint16_t>(out + 12, reply.fd_count);
  Store<uint16_t>(out + 14, static_cast<uint16_t>(reply.payload.size()));
  if (!reply.payload.empty())
    memcpy(out + kReplyHeaderSize, reply.payload.data(), reply.payload.size());
  return static_cast<ptrdiff_t>(size);
}

int DecodeReply(const uint8_t* data, size_t size, Reply* out) {
  *out = Reply{};
  if (size < kReplyHeaderSize) return EPROTO;
  if (Load<uint16_t>(data) != kProtocolVersion) return EPROTO;
  const size_t payload_len = Load<uint16_t>(data + 14);
  if (payload_len > kMaxReplyPayload || size != kReplyHeaderSize + payload_len) return EPROTO;
  const uint16_t fd_count = Load<uint16_t>(data + 12);
  if (fd_count > kMaxDescriptorsPerMessage) return EPROTO;
  out->op = static_cast<Op>(Load<uint16_t>(data + 2));
  out->id = Load<uint32_t>(data + 4);
  out->result = Load<int32_t>(data + 8);
  out->fd_count = fd_count;
  out->payload =
      std::string_view(reinterpret_cast<const char*>(data + kReplyHeaderSize), payload_len);
  return 0;
}

void EncodeStat(const struct stat& st, uint8_t out[kWireStatSize]) {
  const uint64_t fields[kWireStatFieldCount] = {
      st.st_dev,
      st.st_ino,
      st.st_mode,
      st.st_nlink,
      st.st_uid,
      st.st_gid,
      st.st_rdev,
      static_cast<uint64_t>(st.st_size),
      static_cast<uint64_t>(st.st_blksize),
      static_cast<uint64_t>(st.st_blocks),
      static_cast<uint64_t>(st.st_atim.tv_sec),
      static_cast<uint64_t>(st.st_atim.tv_nsec),
      static_cast<uint64_t>(st.st_mtim.tv_sec),
      static_cast<uint64_t>(st.st_mtim.tv_nsec),
      static_cast<uint64_t>(st.st_ctim.tv_sec),
      static_cast<uint64_t>(st.st_ctim.tv_nsec),
  };
  memcpy(out, fields, sizeof(fields));
}

int DecodeStat(std::string_view payload, struct stat* out) {
  if (payload.size() != kWireStatSize) return EPROTO;
  uint64_t f[kWireStatFieldCount];
  memcpy(f, payload.data(), sizeof(f));
  memset(out, 0, sizeof(*out));
  out->st_dev = f[0];
  out->st_ino = f[1];
  out->st_mode = static_cast<mode_t>(f[2]);
  out->st_nlink = f[3];
  out->st_uid = static_cast<uid_t>(f[4]);
  out->st_gid = static_cast<gid_t>(f[5]);
  out->st_rdev = f[6];
  out->st_size = static_cast<off_t>(f[7]);
  out->st_blksize = static_cast<blksize_t>(f[8]);
  out->st_blocks = static_cast<blkcnt_t>(f[9]);
  out->st_atim.tv_sec = static_cast<time_t>(f[10]);
  out->st_atim.tv_nsec = static_cast<long>(f[11]);
  out->st_mtim.tv_sec = static_cast<time_t>(f[12]);
  out->st_mtim.tv_nsec = static_cast<long>(f[13]);
  out->st_ctim.tv_sec = static_cast<time_t>(f[14]);
  out->st_ctim.tv_nsec = static_cast<long>(f[15]);
  return 0;
}

}  // namespace sbox::proto
