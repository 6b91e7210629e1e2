#include "broker/audit_log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/json_string.h"
#include "broker/open_flags.h"
#include "proto/errno_name.h"

namespace sbox {
namespace {

// Appends `key` and `path`, cut to `max_bytes` with `truncated_key` set when it was.
void AppendPath(std::string* json, const char* key, const char* truncated_key,
                std::string_view path, size_t max_bytes) {
  absl::StrAppend(json, ",\"", key, "\":");
  if (path.size() <= max_bytes) {
    AppendJsonString(json, path);
    return;
  }
  AppendJsonString(json, path.substr(0, max_bytes));
  absl::StrAppend(json, ",\"", truncated_key, "\":true");
}

std::string Now() {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
}

// How long the writer waits at a time for a full pipe to take more.
constexpr int kPollMilliseconds = 50;

}  // namespace

std::string DecisionToJson(const Decision& d, size_t max_path_bytes) {
  std::string json = "{\"time\":\"";
  json += absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ", d.time, absl::UTCTimeZone());
  absl::StrAppend(&json, "\",\"pid\":", d.pid, ",\"op\":");
  AppendJsonString(&json, OpName(d.op));
  AppendPath(&json, "path", "path_truncated", d.path, max_path_bytes);
  if (!d.path2.empty()) AppendPath(&json, "path2", "path2_truncated", d.path2, max_path_bytes);
  // The symlinks followed on the way, each cut like a path (at most 40 per path).
  if (!d.links.empty()) {
    json += ",\"links\":[";
    for (size_t i = 0; i < d.links.size(); ++i) {
      if (i > 0) json += ',';
      const std::string_view link = d.links[i];
      AppendJsonString(&json, link.substr(0, std::min(link.size(), max_path_bytes)));
    }
    json += ']';
  }
  absl::StrAppend(&json, ",\"flags\":", d.flags);
  if (d.op == proto::Op::kOpen) {
    json += ",\"flags_text\":";
    AppendJsonString(&json, OpenFlagsToString(d.flags));
  }
  if (d.mode != 0) absl::StrAppend(&json, ",\"mode\":", d.mode);
  json += d.allowed ? ",\"decision\":\"allow\"" : ",\"decision\":\"deny\"";
  if (d.rule != nullptr) {
    json += ",\"rule\":";
    AppendJsonString(&json, d.rule->ToString());
    absl::StrAppend(&json, ",\"rule_index\":", d.rule->index + 1);
  } else {
    json += ",\"rule\":null,\"rule_index\":null";
  }
  json += ",\"reason\":";
  AppendJsonString(&json, d.reason != nullptr ? d.reason : "");
  absl::StrAppend(&json, ",\"errno\":", d.error);
  if (d.error != 0) {
    json += ",\"errno_name\":";
    AppendJsonString(&json, ErrnoName(d.error));
  }
  absl::StrAppend(&json, ",\"us\":", absl::ToInt64Microseconds(d.elapsed), "}");
  return json;
}

// Shared by the log and its writer thread, which may outlive the log when a write(2) does not
// return (see Close).
struct JsonLinesAuditLog::State {
  State(UniqueFd descriptor, Limits l) : fd(std::move(descriptor)), limits(l) {}

  // The writer thread: writes queued lines until stopped and drained, then the summary.
  void Write();
  // Writes `line` whole, waiting on a full pipe, until the stop deadline. Returns whether all
  // of it was written.
  bool WriteWhole(std::string_view line);
  std::string Summary();

  const UniqueFd fd;
  const Limits limits;
  absl::Mutex mu;
  std::deque<std::string> queue ABSL_GUARDED_BY(mu);
  size_t queued_bytes ABSL_GUARDED_BY(mu) = 0;
  int64_t accepted_bytes ABSL_GUARDED_BY(mu) = 0;  // against limits.max_bytes
  bool writing ABSL_GUARDED_BY(mu) = false;        // a line is out of the queue, being written
  bool stopping ABSL_GUARDED_BY(mu) = false;
  bool done ABSL_GUARDED_BY(mu) = false;  // the writer has written the summary and returns
  absl::Time stop_deadline ABSL_GUARDED_BY(mu) = absl::InfiniteFuture();
  Counts counts ABSL_GUARDED_BY(mu);
  bool line_cut = false;  // the writer's: the last line written was cut short
};

bool JsonLinesAuditLog::State::WriteWhole(std::string_view line) {
  size_t done_bytes = 0;
  while (done_bytes < line.size()) {
    const ssize_t n = write(fd.get(), line.data() + done_bytes, line.size() - done_bytes);
    if (n > 0) {
      done_bytes += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      {
        absl::MutexLock lock(&mu);
        if (stopping && absl::Now() >= stop_deadline) break;
      }
      pollfd out = {fd.get(), POLLOUT, 0};
      poll(&out, 1, kPollMilliseconds);
      continue;
    }
    break;  // EPIPE, ENOSPC, EIO, ...; n == 0 would spin
  }
  if (done_bytes > 0) line_cut = line[done_bytes - 1] != '\n';
  return done_bytes == line.size();
}

std::string JsonLinesAuditLog::State::Summary() {
  absl::MutexLock lock(&mu);
  return absl::StrCat(
      "{\"time\":\"", Now(), "\",\"summary\":true,\"written\":", counts.written,
      ",\"dropped\":", counts.dropped(), ",\"dropped_queue_full\":", counts.dropped_queue_full,
      ",\"dropped_over_budget\":", counts.dropped_over_budget,
      ",\"dropped_at_close\":", counts.dropped_at_close, ",\"write_errors\":", counts.write_errors,
      ",\"max_bytes\":", limits.max_bytes, "}\n");
}

void JsonLinesAuditLog::State::Write() {
  // A reader of a pipe going away must not kill the process: EPIPE is enough.
  sigset_t sigpipe;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr);
  for (;;) {
    std::string line;
    {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(
          +[](State* s)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) { return !s->queue.empty() || s->stopping; },
          this));
      if (queue.empty()) break;
      line = std::move(queue.front());
      queue.pop_front();
      queued_bytes -= line.size();
      writing = true;
    }
    if (line_cut) line.insert(line.begin(), '\n');
    const bool whole = WriteWhole(line);
    absl::MutexLock lock(&mu);
    writing = false;
    ++(whole ? counts.written : counts.write_errors);
  }
  // The summary gets a deadline of its own, within Close's second wait: a line given up at the
  // first deadline may have left it none.
  {
    absl::MutexLock lock(&mu);
    stop_deadline = absl::Now() + limits.close_timeout / 2;
  }
  std::string summary = Summary();
  if (line_cut) summary.insert(summary.begin(), '\n');
  WriteWhole(summary);
  absl::MutexLock lock(&mu);
  done = true;
}

JsonLinesAuditLog::JsonLinesAuditLog(UniqueFd fd, Limits limits)
    : state_(std::make_shared<State>(std::move(fd), limits)) {
  // Pipes, FIFOs and sockets: a full one makes write(2) return EAGAIN instead of blocking.
  struct stat st;
  if (fstat(state_->fd.get(), &st) == 0 && !S_ISREG(st.st_mode)) {
    const int flags = fcntl(state_->fd.get(), F_GETFL);
    if (flags >= 0) fcntl(state_->fd.get(), F_SETFL, flags | O_NONBLOCK);
  }
  writer_ = std::thread([state = state_] { state->Write(); });
}

JsonLinesAuditLog::~JsonLinesAuditLog() { Close(); }

absl::StatusOr<std::unique_ptr<JsonLinesAuditLog>> JsonLinesAuditLog::Open(const std::string& path,
                                                                           Limits limits) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600));
  if (!fd.valid()) {
    const int error = errno;
    return absl::ErrnoToStatus(
        error, absl::StrFormat("audit log: open(\"%s\")%s", path,
                               error == ENXIO ? " (a FIFO that no process reads)" : ""));
  }
  return std::make_unique<JsonLinesAuditLog>(std::move(fd), limits);
}

DecisionLog JsonLinesAuditLog::AsLog() {
  return [state = state_](const Decision& decision) {
    std::string line = DecisionToJson(decision, state->limits.max_path_bytes);
    line += '\n';
    absl::MutexLock lock(&state->mu);
    if (state->stopping) return;
    const int64_t size = static_cast<int64_t>(line.size());
    if (state->accepted_bytes + size > state->limits.max_bytes - kAuditLogSummaryBytes) {
      ++state->counts.dropped_over_budget;
    } else if (state->queued_bytes + line.size() > state->limits.max_queued_bytes) {
      ++state->counts.dropped_queue_full;
    } else {
      state->accepted_bytes += size;
      state->queued_bytes += line.size();
      state->queue.push_back(std::move(line));
    }
  };
}

bool JsonLinesAuditLog::Flush(absl::Duration timeout) {
  absl::MutexLock lock(&state_->mu);
  return state_->mu.AwaitWithTimeout(absl::Condition(
                                         +[](State* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
                                           return s->queue.empty() && !s->writing;
                                         },
                                         state_.get()),
                                     timeout);
}

void JsonLinesAuditLog::Close() {
  if (!writer_.joinable()) return;
  bool done;
  {
    State& state = *state_;
    absl::MutexLock lock(&state.mu);
    state.stopping = true;
    state.stop_deadline = absl::Now() + state.limits.close_timeout;
    const bool drained =
        state.mu.AwaitWithDeadline(absl::Condition(
                                       +[](State* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
                                         return s->queue.empty() && !s->writing;
                                       },
                                       &state),
                                   state.stop_deadline);
    if (!drained) {
      state.counts.dropped_at_close += static_cast<int64_t>(state.queue.size());
      state.queue.clear();
      state.queued_bytes = 0;
    }
    // A writer waiting on a full pipe gives its line up at the deadline, then has half the
    // timeout again for the summary.
    done = state.mu.AwaitWithTimeout(
        absl::Condition(
            +[](State* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) { return s->done; }, &state),
        state.limits.close_timeout);
  }
  if (done) {
    writer_.join();
  } else {
    writer_.detach();  // stuck in write(2); it holds the state and ends when the call returns
  }
}

JsonLinesAuditLog::Counts JsonLinesAuditLog::counts() const {
  absl::MutexLock lock(&state_->mu);
  return state_->counts;
}

}  // namespace sbox
