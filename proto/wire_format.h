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
// Every field an op does not list must be zero. "path" ops may send their path relative, with
// a directory descriptor (see fd_paths) or against the sandbox's working directory.
enum class Op : uint16_t {
  kOpen = 1,        // path; flags: open(2) flags; mode: create mode (O_CREAT only);
                    // length: openat2(2) RESOLVE_* flags the caller adds to the broker's.
                    // A successful reply carries 1 descriptor.
  kAccess = 2,      // path; flags: access(2) mode (F_OK or R_OK|W_OK|X_OK).
  kStat = 3,        // path or the descriptor itself; flags: 0 or AT_SYMLINK_NOFOLLOW. Reply
                    // payload: a WireStat.
  kNewChannel = 4,  // nothing. A successful reply carries 1 descriptor: a new channel.
  kReadlink = 5,    // path. Reply payload: the link's target; result: its length.
  kMkdir = 6,       // path; mode.
  kRmdir = 7,       // path.
  kUnlink = 8,      // path.
  kRename = 9,      // path: old name; path2: new name; flags: RENAME_NOREPLACE or
                    // RENAME_EXCHANGE.
  kLink = 10,       // path: existing file; path2: new name; flags: 0 or AT_SYMLINK_FOLLOW.
  kSymlink = 11,    // path: the new link; path2: its target, stored as given (never a
                    // directory descriptor).
  kChmod = 12,      // path or the descriptor itself; flags: 0 or AT_SYMLINK_NOFOLLOW; mode:
                    // permission bits.
  kTruncate = 13,   // path; length.
  kConnect = 14,    // path: an AF_UNIX socket; flags: SOCK_STREAM, SOCK_SEQPACKET or
                    // SOCK_DGRAM, optionally | SOCK_NONBLOCK. A successful reply carries 1
                    // descriptor: a connected socket.
  kChdir = 15,      // path: the sandbox's new working directory.
  kGetcwd = 16,     // nothing. Reply payload: the sandbox's working directory (absolute,
                    // normalized, not NUL-terminated); result: its length.
  kChown = 17,      // path or the descriptor itself; flags: 0 or AT_SYMLINK_NOFOLLOW;
                    // length: owner << 32 | group, each 0xffffffff for "unchanged".
  kUtimens = 18,    // path or the descriptor itself; flags: 0 or AT_SYMLINK_NOFOLLOW;
                    // path2: empty (both times "now") or a WireTimes.
  kStatfs = 19,     // path or the descriptor itself. Reply payload: a WireStatfs.
  kMknod = 20,      // path; mode: S_IFREG or S_IFIFO | permission bits.
  kExec = 21,       // path or the descriptor itself: a program; path2: its argv[0], as the
                    // caller gave it (for the decision log; never with a descriptor); flags: 0
                    // or AT_SYMLINK_NOFOLLOW. A check only: result 0 when the policy lets the
                    // kernel execute it (the `x` permission); the broker executes nothing.
};
inline constexpr uint16_t kLastOp = static_cast<uint16_t>(Op::kExec);

// True for the operations this version defines.
bool IsKnownOp(uint16_t op);

// A request is one message: a fixed header followed by the path bytes (no terminating NUL).
//   offset size field
//        0    2 version       kProtocolVersion
//        2    2 op            Op
//        4    4 request_id    echoed in the reply
//        8    4 flags         per op
//       12    4 mode          per op
//       16    8 length        per op (truncate)
//       24    2 path_len      bytes of path that follow the header
//       26    2 path2_len     bytes of path2 that follow path (rename, link, symlink)
//       28    4 fd_paths      which paths come with a directory descriptor, in this order:
//                             kFdForPath, kFdForPath2; the path must then be relative, or
//                             empty where the op acts on "the descriptor itself"
//       32    … path, then path2
inline constexpr size_t kRequestHeaderSize = 32;
inline constexpr uint32_t kFdForPath = 1u << 0;
inline constexpr uint32_t kFdForPath2 = 1u << 1;
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

// A broker request carries at most two descriptors (directories, see fd_paths), a reply at most
// one. A call (proto/call_message.h) carries up to 17: its input's memfd and 16 of the host's.
inline constexpr int kMaxDescriptorsPerMessage = 18;
inline constexpr int kMaxRequestDescriptors = 2;
inline constexpr int kMaxReplyDescriptors = 1;

// The Stat reply's payload: 16 little-endian 64-bit fields in this order. Times are signed.
inline constexpr size_t kWireStatFieldCount = 16;
inline constexpr size_t kWireStatSize = kWireStatFieldCount * 8;

// The Statfs reply's payload: 11 little-endian 64-bit fields (PROTOCOL.md 4.19).
inline constexpr size_t kWireStatfsFieldCount = 11;
inline constexpr size_t kWireStatfsSize = kWireStatfsFieldCount * 8;

// A Utimens request's path2: access time then modification time, each as signed 64-bit seconds
// and nanoseconds; nanoseconds may be UTIME_NOW or UTIME_OMIT.
inline constexpr size_t kWireTimesSize = 4 * 8;

// The openat2(2) RESOLVE_* bits an Open request's length may carry (NO_XDEV, NO_MAGICLINKS,
// NO_SYMLINKS, BENEATH, IN_ROOT, CACHED).
inline constexpr uint64_t kResolveFlagMask = 0x3f;

}  // namespace sbox::proto

#endif  // SBOX_PROTO_WIRE_FORMAT_H_
