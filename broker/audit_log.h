#ifndef SBOX_BROKER_AUDIT_LOG_H_
#define SBOX_BROKER_AUDIT_LOG_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/decision.h"
#include "proto/unique_fd.h"

namespace sbox {

// One decision as one JSON object, without a trailing newline. Keys, always in this order:
//   "time"        RFC 3339 UTC with microseconds, "2026-11-22T22:31:12.123456Z"
//   "pid"         number
//   "op"          OpName(op)
//   "path"        string
//   "path2"       string; only when non-empty
//   "flags"       number, as sent
//   "flags_text"  OpenFlagsToString(flags); only for open
//   "mode"        number; only when nonzero
//   "decision"    "allow" or "deny"
//   "rule"        Rule::ToString(), or null when no rule decided
//   "rule_index"  1-based position of that rule in the policy, or null
//   "reason"      string ("" when the Decision has none)
//   "errno"       number; 0 on success
//   "errno_name"  ErrnoName(errno); only when errno is nonzero
//   "us"          the broker's time on the request, whole microseconds
// e.g. {"time":"2026-11-22T22:31:12.123456Z","pid":42,"op":"open","path":"/etc/passwd",
//       "flags":524288,"flags_text":"O_RDONLY|O_CLOEXEC","decision":"allow",
//       "rule":"allow r file /etc/passwd","rule_index":1,"reason":"granted","errno":0,"us":17}
//
// Paths come from the sandboxee and may hold any bytes, so every string is escaped to stay valid
// JSON: '"' and '\' as \" and \\; control characters (below 0x20, and 0x7f) as \b \f \n \r \t
// or \u00XX; valid UTF-8 sequences pass through unchanged; each byte of an invalid UTF-8
// sequence becomes the escape \u00XX, XX being the byte (0x80 to 0xff). To recover the raw bytes
// of such a path, map those escapes back to bytes. Do it on the JSON text: valid characters are
// never written as \u0080-\u00ff escapes, so there the escapes are unambiguous, whereas in a
// decoded string byte 0xe9 and a valid "é" are both U+00E9. A path that is valid UTF-8 (the
// usual case) decodes to exactly its bytes.
std::string DecisionToJson(const Decision& decision);

// Writes each decision as one line of DecisionToJson to a descriptor, typically a file opened
// with O_APPEND. Each line is built whole, then written with one write(2), so lines from
// several broker threads, and from other processes appending to the same file, do not
// interleave. A short write (a full disk, a pipe) is finished under a lock, so it cannot
// interleave with this log's other lines either.
//
// Logging never fails the request: a write error (EPIPE, ENOSPC, EAGAIN on a non-blocking
// descriptor, ...) drops the line and is counted. When a line was cut short, the next one starts
// with a newline, so only the cut one is damaged. The caller should ignore SIGPIPE when the
// descriptor is a pipe or socket, or a reader going away kills the broker.
class JsonLinesAuditLog {
 public:
  explicit JsonLinesAuditLog(UniqueFd fd) : fd_(std::move(fd)) {}
  JsonLinesAuditLog(const JsonLinesAuditLog&) = delete;
  JsonLinesAuditLog& operator=(const JsonLinesAuditLog&) = delete;

  // Opens (creating it 0600 if need be) `path` for appending, close-on-exec. The error names the
  // path.
  static absl::StatusOr<std::unique_ptr<JsonLinesAuditLog>> Open(const std::string& path);

  // A thread-safe log that writes to this object, which must outlive every launch (every
  // broker) that uses it.
  DecisionLog AsLog();

  // Lines dropped, entirely or partly, because write(2) failed.
  int64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }

 private:
  void WriteLine(std::string line);

  const UniqueFd fd_;
  std::atomic<int64_t> write_errors_{0};
  absl::Mutex mu_;
  bool line_cut_ ABSL_GUARDED_BY(mu_) = false;  // the last line written was cut short
};

}  // namespace sbox

#endif  // SBOX_BROKER_AUDIT_LOG_H_
