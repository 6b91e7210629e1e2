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

bool IsKnownOp(uint16_t op) { return op >= static_cast<uint16_t>(Op::kOpen) && op <= kLastOp; }

namespace {

// What each op reads from a request; every other field must be zero.
struct OpFields {
  bool path;
  bool path2;
  bool flags;
  bool mode;  // kOpen: only with O_CREAT
  bool length;
  uint32_t fd_paths;  // the paths that may come with a directory descriptor
  // An empty path with kFdForPath names the descriptor itself (AT_EMPTY_PATH).
  bool descriptor_itself = false;
};

OpFields FieldsOf(Op op) {
  switch (op) {
    case Op::kOpen:
      return {true, false, true, true, true, kFdForPath};
    case Op::kAccess:
      return {true, false, true, false, false, kFdForPath};
    case Op::kStat:
      return {true, false, true, false, false, kFdForPath, true};
    case Op::kNewChannel:
    case Op::kGetcwd:
      return {false, false, false, false, false, 0};
    case Op::kReadlink:
    case Op::kRmdir:
    case Op::kUnlink:
    case Op::kChdir:
      return {true, false, false, false, false, kFdForPath};
    case Op::kMkdir:
    case Op::kMknod:
      return {true, false, false, true, false, kFdForPath};
    case Op::kChmod:
      return {true, false, true, true, false, kFdForPath, true};
    case Op::kChown:
      return {true, false, true, false, true, kFdForPath, true};
    case Op::kUtimens:
      return {true, true, true, false, false, kFdForPath, true};
    case Op::kStatfs:
      return {true, false, false, false, false, kFdForPath, true};
    case Op::kRename:
      return {true, true, true, false, false, kFdForPath | kFdForPath2};
    case Op::kLink:
      return {true, true, true, false, false, kFdForPath | kFdForPath2};
    case Op::kSymlink:
      return {true, true, false, false, false, kFdForPath};
    case Op::kTruncate:
      return {true, false, false, false, true, kFdForPath};
    case Op::kConnect:
      return {true, false, true, false, false, kFdForPath};
    case Op::kExec:
      return {true, true, true, false, false, kFdForPath, true};
  }
  return {};
}

bool IsAbsolute(std::string_view path) { return !path.empty() && path[0] == '/'; }

}  // namespace

ptrdiff_t EncodeRequest(const Request& request, uint8_t* out, size_t out_size) {
  if (request.path.size() > kMaxPathLength || request.path2.size() > kMaxPathLength) {
    return -ENAMETOOLONG;
  }
  const size_t size = kRequestHeaderSize + request.path.size() + request.path2.size();
  if (out_size < size) return -EMSGSIZE;
  Store<uint16_t>(out + 0, kProtocolVersion);
  Store<uint16_t>(out + 2, static_cast<uint16_t>(request.op));
  Store<uint32_t>(out + 4, request.id);
  Store<uint32_t>(out + 8, request.flags);
  Store<uint32_t>(out + 12, request.mode);
  Store<uint64_t>(out + 16, request.length);
  Store<uint16_t>(out + 24, static_cast<uint16_t>(request.path.size()));
  Store<uint16_t>(out + 26, static_cast<uint16_t>(request.path2.size()));
  Store<uint32_t>(out + 28, request.fd_paths);
  uint8_t* cursor = out + kRequestHeaderSize;
  if (!request.path.empty()) memcpy(cursor, request.path.data(), request.path.size());
  cursor += request.path.size();
  if (!request.path2.empty()) memcpy(cursor, request.path2.data(), request.path2.size());
  return static_cast<ptrdiff_t>(size);
}

int DecodeRequest(const uint8_t* data, size_t size, int fd_count, Request* out) {
  *out = Request{};
  out->op = static_cast<Op>(0);
  if (size >= 8) {
    out->op = static_cast<Op>(Load<uint16_t>(data + 2));
    out->id = Load<uint32_t>(data + 4);
  }
  if (size >= 2 && Load<uint16_t>(data) != kProtocolVersion) return EPROTONOSUPPORT;
  if (size < kRequestHeaderSize) return EBADMSG;
  const uint16_t raw_op = Load<uint16_t>(data + 2);
  if (!IsKnownOp(raw_op)) return ENOSYS;
  const Op op = static_cast<Op>(raw_op);
  const size_t path_len = Load<uint16_t>(data + 24);
  const size_t path2_len = Load<uint16_t>(data + 26);
  if (size != kRequestHeaderSize + path_len + path2_len) return EBADMSG;
  if (path_len > kMaxPathLength || path2_len > kMaxPathLength) return ENAMETOOLONG;

  const uint32_t flags = Load<uint32_t>(data + 8);
  const uint32_t mode = Load<uint32_t>(data + 12);
  const uint64_t length = Load<uint64_t>(data + 16);
  const uint32_t fd_paths = Load<uint32_t>(data + 28);
  const std::string_view path(reinterpret_cast<const char*>(data + kRequestHeaderSize), path_len);
  const std::string_view path2(reinterpret_cast<const char*>(data + kRequestHeaderSize + path_len),
                               path2_len);

  // Fields an op does not use must be zero, so that a later version may give them a meaning.
  const OpFields fields = FieldsOf(op);
  const bool mode_allowed = fields.mode && (op != Op::kOpen || (flags & O_CREAT));
  if ((!fields.path && path_len != 0) || (!fields.path2 && path2_len != 0) ||
      (!fields.flags && flags != 0) || (!mode_allowed && mode != 0) ||
      (!fields.length && length != 0) || (fd_paths & ~fields.fd_paths) != 0) {
    return EBADMSG;
  }
  // A directory descriptor goes with a relative path only (or an empty one, where the op may
  // act on the descriptor itself), and one must come for each.
  if ((fd_paths & kFdForPath) && path.empty() && !fields.descriptor_itself) return EBADMSG;
  if (op == Op::kUtimens && path2_len != 0 && path2_len != kWireTimesSize) return EBADMSG;
  // Only the first path may name the descriptor itself; open's length holds RESOLVE_* flags.
  if ((fd_paths & kFdForPath2) && path2.empty()) return EBADMSG;
  if (op == Op::kOpen && (length & ~kResolveFlagMask) != 0) return EBADMSG;
  if (((fd_paths & kFdForPath) && IsAbsolute(path)) ||
      ((fd_paths & kFdForPath2) && IsAbsolute(path2))) {
    return EBADMSG;
  }
  if (fd_count != __builtin_popcount(fd_paths)) return EBADMSG;

  out->flags = flags;
  out->mode = mode;
  out->length = length;
  out->fd_paths = fd_paths;
  out->path = path;
  out->path2 = path2;
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
  if (fd_count > kMaxReplyDescriptors) return EPROTO;
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

void EncodeStatfs(const struct statfs& st, uint8_t out[kWireStatfsSize]) {
  uint64_t fsid;
  memcpy(&fsid, &st.f_fsid, sizeof(fsid));
  const uint64_t fields[kWireStatfsFieldCount] = {
      static_cast<uint64_t>(st.f_type),
      static_cast<uint64_t>(st.f_bsize),
      st.f_blocks,
      st.f_bfree,
      st.f_bavail,
      st.f_files,
      st.f_ffree,
      fsid,
      static_cast<uint64_t>(st.f_namelen),
      static_cast<uint64_t>(st.f_frsize),
      static_cast<uint64_t>(st.f_flags),
  };
  memcpy(out, fields, sizeof(fields));
}

int DecodeStatfs(std::string_view payload, struct statfs* out) {
  if (payload.size() != kWireStatfsSize) return EPROTO;
  uint64_t f[kWireStatfsFieldCount];
  memcpy(f, payload.data(), sizeof(f));
  memset(out, 0, sizeof(*out));
  out->f_type = static_cast<__fsword_t>(f[0]);
  out->f_bsize = static_cast<__fsword_t>(f[1]);
  out->f_blocks = f[2];
  out->f_bfree = f[3];
  out->f_bavail = f[4];
  out->f_files = f[5];
  out->f_ffree = f[6];
  memcpy(&out->f_fsid, &f[7], sizeof(out->f_fsid));
  out->f_namelen = static_cast<__fsword_t>(f[8]);
  out->f_frsize = static_cast<__fsword_t>(f[9]);
  out->f_flags = static_cast<__fsword_t>(f[10]);
  return 0;
}

void EncodeTimes(const struct timespec times[2], uint8_t out[kWireTimesSize]) {
  const int64_t fields[4] = {times[0].tv_sec, times[0].tv_nsec, times[1].tv_sec, times[1].tv_nsec};
  memcpy(out, fields, sizeof(fields));
}

int DecodeTimes(std::string_view data, struct timespec out[2]) {
  if (data.size() != kWireTimesSize) return EPROTO;
  int64_t f[4];
  memcpy(f, data.data(), sizeof(f));
  out[0].tv_sec = f[0];
  out[0].tv_nsec = f[1];
  out[1].tv_sec = f[2];
  out[1].tv_nsec = f[3];
  return 0;
}

}  // namespace sbox::proto
