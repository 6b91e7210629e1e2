#ifndef SBOX_PROTO_CODEC_H_
#define SBOX_PROTO_CODEC_H_

// The one codec for sbox messages, used by the broker and the sandboxee alike. The decoders are
// the only code in sbox that interprets bytes sent by the other side: they check every length
// against the received size and the protocol's fixed limits, and never allocate.
//
// Every function is async-signal-safe (no allocation, no locks, no errno changes).

#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/wire_format.h"

namespace sbox::proto {

// `op` may hold a value outside Op's enumerators (an unknown op, echoed in the error reply).
struct Request {
  Op op = Op::kOpen;
  uint32_t id = 0;
  uint32_t flags = 0;
  uint32_t mode = 0;
  uint64_t length = 0;
  uint32_t fd_paths = 0;  // kFdForPath | kFdForPath2
  std::string_view path;  // these point into the buffer that was decoded
  std::string_view path2;
};

struct Reply {
  Op op = Op::kOpen;
  uint32_t id = 0;
  int32_t result = 0;  // >= 0 success, < 0 is -errno
  uint16_t fd_count = 0;
  std::string_view payload;  // bytes; points into the buffer that was decoded
};

// Writes `request` into `out` (at least kMaxRequestSize bytes). Returns the message length, or
// -ENAMETOOLONG when a path exceeds kMaxPathLength.
ptrdiff_t EncodeRequest(const Request& request, uint8_t* out, size_t out_size);

// Decodes a received request that came with `fd_count` descriptors. The checks run in this
// order: version (as soon as 2 bytes are there), header length, op, path lengths against the
// size, path lengths against kMaxPathLength, fields the op does not use, descriptors. Returns 0,
// or the errno that the error reply carries:
//   EPROTONOSUPPORT  version is not kProtocolVersion
//   EBADMSG          shorter than the header, path lengths disagree with the size, a field the
//                    op does not use (see Op) not zero, fd_paths naming a path the op has not
//                    or an absolute one (or an empty one, unless the op may act on the
//                    descriptor itself), a Utimens path2 that is not empty or a WireTimes, or a
//                    descriptor count that differs from fd_paths
//   ENOSYS           unknown op
//   ENAMETOOLONG     a path length exceeds kMaxPathLength
// On any error, `out->op` and `out->id` hold what could be read (0 otherwise) so the error reply
// can echo them.
int DecodeRequest(const uint8_t* data, size_t size, int fd_count, Request* out);

// Writes `reply` into `out` (at least kMaxReplySize bytes). Returns the message length, or
// -EMSGSIZE when the payload exceeds kMaxReplyPayload.
ptrdiff_t EncodeReply(const Reply& reply, uint8_t* out, size_t out_size);

// Decodes a received reply. Returns 0 or EPROTO (short, wrong version, payload length that
// disagrees with the size, fd_count above kMaxReplyDescriptors).
int DecodeReply(const uint8_t* data, size_t size, Reply* out);

// The Stat payload, as laid out in PROTOCOL.md.
void EncodeStat(const struct stat& st, uint8_t out[kWireStatSize]);
// Returns 0, or EPROTO when `payload` is not exactly kWireStatSize bytes.
int DecodeStat(std::string_view payload, struct stat* out);

// The Statfs payload, as laid out in PROTOCOL.md.
void EncodeStatfs(const struct statfs& st, uint8_t out[kWireStatfsSize]);
// Returns 0, or EPROTO when `payload` is not exactly kWireStatfsSize bytes.
int DecodeStatfs(std::string_view payload, struct statfs* out);

// A Utimens request's times (path2), as laid out in PROTOCOL.md.
void EncodeTimes(const struct timespec times[2], uint8_t out[kWireTimesSize]);
// Returns 0, or EPROTO when `data` is not exactly kWireTimesSize bytes.
int DecodeTimes(std::string_view data, struct timespec out[2]);

}  // namespace sbox::proto

#endif  // SBOX_PROTO_CODEC_H_
