#ifndef SBOX_PROTO_WIRE_FORMAT_H_
#define SBOX_PROTO_WIRE_FORMAT_H_

// The constants of sbox's wire protocol. proto/PROTOCOL.md is the normative description; this
// header and that document must agree field for field.

#include <cstddef>
#include <cstdint>

// Flag and mode fields carry the host's values (open(2) flags, access(2) modes), and both peers
// run on one host. sbox's filter admits only x86_64 syscalls, and these values are x86_64's.
#if !defined(__x86_64__)
#error "sbox's wire protocol carries x86_64 flag values"
#endif

namespace sbox::proto {

inline constexpr uint16_t kProtocolVersion = 1;

// Request operations. Values are stable: a number is never reused for another meaning.
enum class Op : uint16_t {
  kOpen = 1,        // flags: open(2) flags; mode: create mode (O_CREAT only, else 0).
                    // A successful reply carries 1 descriptor.
  kAccess = 2,      // flags: access(2) mode (F_OK or R_OK|W_OK|X_OK); mode: 0.
  kStat = 3,        // flags: 0 or AT_SYMLINK_NOFOLLOW; mode: 0. Reply payload: a WireStat.
  kNewChannel = 4,  // flags, mode: 0; no path. A successful reply carries 1 descriptor: a new
                    // channel to the broker.
};

// True for the operations this version defines.
bool IsKnownOp(uint16_t op);

// A request is one message: a fixed header followed by the path bytes (no terminating NUL).
//   offset size field
//        0    2 version       kProtocolVersion
//        2    2 op            Op
//        4    4 request_id    echoed in the reply
//        8    4 flags         per op
//       12    4 mode          per op
//       16    8 reserved64    must be 0 (room for a length, e.g. truncate)
//       24    2 path_len      bytes of path that follow the header
//       26    2 path2_len     must be 0 (room for a second path, e.g. rename)
//       28    4 reserved32    must be 0
//       32    … path
inline constexpr size_t kRequestHeaderSize = 32;
inline constexpr size_t kMaxPathLength = 4095;  // PATH_MAX without the NUL
inline constexpr size_t kMaxRequestSize = kRequestHeaderSize + 2 * kMaxPathLength;

// A reply is one message: a fixed header followed by the payload.
//   offset size field
//        0    2 version       kProtocolVersion
//        2    2 op            the request's op (0 if it could not be read)
//        4    4 request_id    the request's id (0 if it could not be read)
//        8    4 result        signed: >= 0 success, < 0 is -errno
//       12    2 fd_count      descriptors attached in SCM_RIGHTS (0 or 1)
//       14    2 payload_len   bytes that follow the header
//       16    … payload
inline constexpr size_t kReplyHeaderSize = 16;
inline constexpr size_t kMaxReplyPayload = 4096;
inline constexpr size_t kMaxReplySize = kReplyHeaderSize + kMaxReplyPayload;

// No message of this version carries more than one descriptor; requests carry none.
inline constexpr int kMaxDescriptorsPerMessage = 1;

// The Stat reply's payload: 16 little-endian 64-bit fields in this order. Times are signed.
inline constexpr size_t kWireStatFieldCount = 16;
inline constexpr size_t kWireStatSize = kWireStatFieldCount * 8;

}  // namespace sbox::proto

#endif  // SBOX_PROTO_WIRE_FORMAT_H_
