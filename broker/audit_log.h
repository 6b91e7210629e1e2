#ifndef SBOX_BROKER_AUDIT_LOG_H_
#define SBOX_BROKER_AUDIT_LOG_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/decision.h"
#include "proto/unique_fd.h"

namespace sbox {

// One decision as one JSON object, without a trailing newline. Keys, always in this order:
//   "time"            RFC 3339 UTC with microseconds, "2026-11-22T22:31:12.123456Z"
//   "pid"             number
//   "op"              OpName(op)
//   "path"            string, at most `max_path_bytes` bytes of it
//   "path_truncated"  true; only when "path" was cut to `max_path_bytes`
//   "path2"           string; only when non-empty; cut like "path"
//   "path2_truncated" true; only when "path2" was cut
//   "flags"           number, as sent
//   "flags_text"      OpenFlagsToString(flags); only for open
//   "mode"            number; only when nonzero
//   "decision"        "allow" or "deny"
//   "rule"            Rule::ToString(), or null when no rule decided
//   "rule_index"      1-based position of that rule in the policy, or null
//   "reason"          string ("" when the Decision has none)
//   "errno"           number; 0 on success
//   "errno_name"      ErrnoName(errno); only when errno is nonzero
//   "us"              the broker's time on the request, whole microseconds
// e.g. {"time":"2026-11-22T22:31:12.123456Z","pid":42,"op":"open","path":"/etc/passwd",
//       "flags":524288,"flags_text":"O_RDONLY|O_CLOEXEC","decision":"allow",
//       "rule":"allow r file /etc/passwd","rule_index":1,"reason":"granted","errno":0,"us":17}
//
// Paths come from the sandboxee and may hold any bytes: every string is escaped to stay valid
// JSON as broker/json_string.h says. A path that is valid UTF-8 (the usual case) decodes to
// exactly its bytes.
std::string DecisionToJson(const Decision& decision,
                           size_t max_path_bytes = std::numeric_limits<size_t>::max());

// The part of AuditLogLimits::max_bytes kept for the summary line, so that the file, summary
// included, stays within max_bytes: decisions get max_bytes - kAuditLogSummaryBytes.
inline constexpr int64_t kAuditLogSummaryBytes = 512;

// The bounds of a JsonLinesAuditLog (below).
struct AuditLogLimits {
  int64_t max_bytes = int64_t{64} << 20;
  size_t max_queued_bytes = size_t{1} << 20;
  size_t max_path_bytes = 1024;
  absl::Duration close_timeout = absl::Seconds(2);
};

// Writes each decision as one line of DecisionToJson to a descriptor, typically a file opened
// with O_APPEND, with bounds a sandboxee cannot push past, and without ever making the broker
// wait on the descriptor:
//
// - The broker's threads only queue lines; a thread of the log's own writes them. A slow disk,
//   a full pipe or a FIFO nobody reads holds up that thread, never a broker. While the queue
//   holds `max_queued_bytes`, further decisions are dropped and counted.
// - The log writes at most `max_bytes` bytes in all, its summary line included (decisions get
//   all but kAuditLogSummaryBytes of it); past that, decisions are dropped and counted. A path
//   is cut to `max_path_bytes` ("path_truncated").
// - Close() (the destructor calls it) lets the writer finish what is queued for at most
//   `close_timeout` (a line still waiting on a full pipe then is cut and counted as a write
//   error), counts what is left as dropped, and the writer appends one last line, for which
//   it has half of `close_timeout` more:
//     {"time":"...","summary":true,"written":N,"dropped":N,"dropped_queue_full":N,
//      "dropped_over_budget":N,"dropped_at_close":N,"write_errors":N,"max_bytes":N}
//   "dropped" is the sum of the three dropped_* counts; "write_errors" counts lines write(2)
//   failed to write whole (EPIPE, ENOSPC, ...), which are not in "written". Close returns
//   within twice `close_timeout`: a writer stuck in write(2) longer (a disk that does not
//   answer) is left to finish on its own, and the summary and the final counts then come when
//   that write returns, if the process still runs.
//
// A line is written with one write(2) where the descriptor takes it whole, so lines do not
// interleave with other processes appending to the same file; when a line was cut short, the
// next one starts with a newline, so only the cut one is damaged. Pipes and FIFOs are written
// non-blocking, and SIGPIPE is blocked in the writer: a reader going away is a write error,
// not a signal.
class JsonLinesAuditLog {
 public:
  using Limits = AuditLogLimits;

  // What the log did with the decisions it was given.
  struct Counts {
    int64_t written = 0;
    int64_t dropped_queue_full = 0;
    int64_t dropped_over_budget = 0;
    int64_t dropped_at_close = 0;
    int64_t write_errors = 0;
    int64_t dropped() const { return dropped_queue_full + dropped_over_budget + dropped_at_close; }
  };

  explicit JsonLinesAuditLog(UniqueFd fd) : JsonLinesAuditLog(std::move(fd), Limits{}) {}
  JsonLinesAuditLog(UniqueFd fd, Limits limits);
  ~JsonLinesAuditLog();
  JsonLinesAuditLog(const JsonLinesAuditLog&) = delete;
  JsonLinesAuditLog& operator=(const JsonLinesAuditLog&) = delete;

  // Opens (creating it 0600 if need be) `path` for appending, close-on-exec, without blocking:
  // a FIFO with no reader fails (ENXIO). The error names the path.
  static absl::StatusOr<std::unique_ptr<JsonLinesAuditLog>> Open(const std::string& path,
                                                                 Limits limits = {});

  // A thread-safe log that queues to this object, which must outlive every launch (every
  // broker) that uses it. It never blocks on I/O.
  DecisionLog AsLog();

  // Waits until everything queued so far is written (or failed), for at most `timeout`.
  // Returns whether it was.
  bool Flush(absl::Duration timeout = absl::Seconds(2));

  // Finishes as the class comment says; later decisions are dropped uncounted. Idempotent.
  void Close();

  Counts counts() const;
  // Lines dropped, entirely or partly, because write(2) failed.
  int64_t write_errors() const { return counts().write_errors; }

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::thread writer_;
};

}  // namespace sbox

#endif  // SBOX_BROKER_AUDIT_LOG_H_
