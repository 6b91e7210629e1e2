#ifndef SBOX_PROTO_CALL_MESSAGE_H_
#define SBOX_PROTO_CALL_MESSAGE_H_

// The call channel: the host sends a call (input bytes, descriptors) to a sandboxee that runs an
// entry point (sandboxee/entry_point.h), which replies with output bytes or an error status.
// A SOCK_SEQPACKET socket pair, one message each way per call. PROTOCOL.md §6 has the layout.
//
//   request  CallRequestHeader, then the input inline (input_size bytes) unless
//            kInputInMemfd: then the first descriptor is a sealed memfd holding it. The
//            host's descriptors follow.
//   reply    CallReplyHeader, then the output (kReplyOk) or the error message (kReplyError)
//            inline, unless kOutputInMemfd: then the output is in the one descriptor, a memfd.
//
// The host parses replies with ParseCallReply, the sandboxee requests with ParseCallRequest:
// every length is checked against the bytes received and the limits below, and every
// descriptor is owned from the moment it is received.

#include <cstddef>
#include <cstdint>
#include <string>

#include "proto/fd_transport.h"
#include "proto/unique_fd.h"

namespace sbox::proto {

inline constexpr uint32_t kCallMagic = 0x5342'4331;  // "SBC1"
// Bytes sent inside the message; more go in a memfd. Under the default socket buffer (208 KiB)
// a message of this size never blocks the sender of a call on an idle channel.
inline constexpr size_t kMaxInlineCallBytes = 64 * 1024;
inline constexpr int kMaxCallDescriptors = 16;  // the host's own, beside the input's memfd
inline constexpr size_t kMaxErrorMessage = 4096;

// kPing: no input, no descriptors; the sandboxee answers an empty kReplyOk without running the
// entry point. A warm pool pings each new sandboxee, so that its first call does not pay for
// the first run of the call path (cold pages and caches: ~0.2 ms here).
enum CallRequestFlags : uint32_t { kInputInMemfd = 1, kPing = 2 };
struct CallRequestHeader {
  uint32_t magic;
  uint32_t flags;
  uint64_t input_size;
  uint32_t fd_count;  // the host's descriptors, after the input's memfd if any
  uint32_t reserved;
};

enum CallReplyKind : uint32_t { kReplyOk = 1, kReplyError = 2 };
enum CallReplyFlags : uint32_t { kOutputInMemfd = 1 };
struct CallReplyHeader {
  uint32_t magic;
  uint32_t kind;
  uint32_t flags;
  int32_t status_code;  // kReplyError: an absl::StatusCode, 1..16
  uint64_t size;        // the output's or the error message's bytes
  // The sandboxee's own getrusage(RUSAGE_SELF) across the call: what it says, for a reused
  // sandboxee whose kernel figures come only when it is reaped.
  int64_t user_time_us;
  int64_t system_time_us;
  int64_t max_rss_kb;
};

inline constexpr size_t kMaxCallMessage = sizeof(CallRequestHeader) + kMaxInlineCallBytes;

// A reply as the host sees it once parsed.
struct CallReply {
  bool ok = false;
  int status_code = 0;  // !ok
  std::string bytes;    // the output, or the error message
  int64_t user_time_us = 0;
  int64_t system_time_us = 0;
  int64_t max_rss_kb = 0;
};

// Parses the `size` bytes of `message` received with `fds`, reading a memfd output of at most
// `max_output` bytes. An empty string on success; otherwise what is wrong, naming the field
// ("magic", "kind 7", "size 70000 past the 65536 inline bytes", "output of 9 MiB past the
// limit", "descriptor: not a memfd", ...).
std::string ParseCallReply(const void* message, size_t size, ReceivedMessage& fds,
                           size_t max_output, CallReply* out);

// A request as the sandboxee sees it once parsed: the input (read out of the memfd when it came
// in one) and the host's descriptors.
struct CallRequest {
  bool ping = false;
  std::string input;
  int fd_count = 0;
  UniqueFd fds[kMaxCallDescriptors];
};
// As ParseCallReply, for the sandboxee's side.
std::string ParseCallRequest(const void* message, size_t size, ReceivedMessage& fds,
                             CallRequest* out);

// Reads `size` bytes at offset 0 of `fd`, a memfd (F_GET_SEALS works on it and nothing else a
// peer could send) holding at least that many: an empty string, or what is wrong.
std::string ReadMemfd(int fd, uint64_t size, std::string* out);

}  // namespace sbox::proto

#endif  // SBOX_PROTO_CALL_MESSAGE_H_
