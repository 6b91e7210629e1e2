#include "broker/audit_log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "broker/file_policy.h"
#include "gtest/gtest.h"
#include "proto/unique_fd.h"

namespace sbox {
namespace {

// A minimal recursive-descent check that `text` is exactly one well-formed JSON value (RFC
// 8259), raw bytes included: strings must be valid UTF-8 with no raw control characters. It
// decodes code points itself rather than sharing the code under test.
class JsonChecker {
 public:
  static bool Valid(std::string_view text) {
    JsonChecker checker(text);
    return checker.Value() && checker.SkipSpace() && checker.pos_ == text.size();
  }

 private:
  explicit JsonChecker(std::string_view text) : text_(text) {}

  bool SkipSpace() {
    while (pos_ < text_.size() &&
           std::string_view(" \t\r\n").find(text_[pos_]) != std::string_view::npos) {
      ++pos_;
    }
    return true;
  }
  bool Peek(char c) { return SkipSpace() && pos_ < text_.size() && text_[pos_] == c; }
  bool Eat(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }
  bool Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  bool Digits() {
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  bool Value() {
    SkipSpace();
    if (pos_ >= text_.size()) return false;
    switch (text_[pos_]) {
      case '{':
        return Object();
      case '[':
        return Array();
      case '"':
        return String();
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }
  bool Object() {
    Eat('{');
    if (Eat('}')) return true;
    do {
      if (!Peek('"') || !String() || !Eat(':') || !Value()) return false;
    } while (Eat(','));
    return Eat('}');
  }
  bool Array() {
    Eat('[');
    if (Eat(']')) return true;
    do {
      if (!Value()) return false;
    } while (Eat(','));
    return Eat(']');
  }
  bool Number() {
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '0') {
      ++pos_;
    } else if (pos_ >= text_.size() || text_[pos_] < '1' || text_[pos_] > '9' || !Digits()) {
      return false;
    }
    if (pos_ < text_.size() && text_[pos_] == '.' && (++pos_, !Digits())) return false;
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (!Digits()) return false;
    }
    return true;
  }
  bool String() {
    ++pos_;  // the opening quote
    while (pos_ < text_.size()) {
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (++pos_ >= text_.size()) return false;
        const char e = text_[pos_++];
        if (e == 'u') {
          for (int k = 0; k < 4; ++k, ++pos_) {
            if (pos_ >= text_.size() || !isxdigit(static_cast<unsigned char>(text_[pos_]))) {
              return false;
            }
          }
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return false;
        }
      } else if (c < 0x80) {
        ++pos_;
      } else if (!CodePoint()) {
        return false;
      }
    }
    return false;
  }
  // One multi-byte UTF-8 character: decoded, then checked for the shortest form, surrogates and
  // range.
  bool CodePoint() {
    const unsigned char lead = static_cast<unsigned char>(text_[pos_]);
    int extra;
    uint32_t cp;
    if ((lead & 0xe0) == 0xc0) {
      extra = 1, cp = lead & 0x1f;
    } else if ((lead & 0xf0) == 0xe0) {
      extra = 2, cp = lead & 0x0f;
    } else if ((lead & 0xf8) == 0xf0) {
      extra = 3, cp = lead & 0x07;
    } else {
      return false;
    }
    if (text_.size() - pos_ <= static_cast<size_t>(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      const unsigned char c = static_cast<unsigned char>(text_[pos_ + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    static constexpr uint32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinimum[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    pos_ += extra + 1;
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

TEST(JsonCheckerTest, AcceptsAndRejects) {
  EXPECT_TRUE(JsonChecker::Valid(R"({"a":[1,-2.5e3,true,null,"x\u00ffy\n"],"b":{}})"));
  EXPECT_TRUE(JsonChecker::Valid("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""));
  EXPECT_FALSE(JsonChecker::Valid(R"({"a":1)"));
  EXPECT_FALSE(JsonChecker::Valid(R"({"a":1,})"));
  EXPECT_FALSE(JsonChecker::Valid(R"({"a":01})"));
  EXPECT_FALSE(JsonChecker::Valid(R"("\x")"));
  EXPECT_FALSE(JsonChecker::Valid("\"a\nb\""));
  EXPECT_FALSE(JsonChecker::Valid(std::string("\"a\0b\"", 5)));
  EXPECT_FALSE(JsonChecker::Valid("\"\xff\""));
  EXPECT_FALSE(JsonChecker::Valid("\"\xc0\xaf\""));          // overlong '/'
  EXPECT_FALSE(JsonChecker::Valid("\"\xed\xa0\x80\""));      // surrogate
  EXPECT_FALSE(JsonChecker::Valid("\"\xf4\x90\x80\x80\""));  // above U+10FFFF
  EXPECT_FALSE(JsonChecker::Valid(R"({"a":1} {})"));
}

// 2026-11-22T22:31:12.123456Z
const absl::Time kTime = absl::FromUnixMicros(1795386672123456);

Decision OpenDecision(std::string_view path) {
  Decision d{};
  d.time = kTime;
  d.pid = 42;
  d.op = proto::Op::kOpen;
  d.path = path;
  d.flags = O_RDONLY | O_CLOEXEC;
  d.allowed = true;
  d.reason = "granted";
  d.elapsed = absl::Microseconds(17);
  return d;
}

// The JSON of an open of `path`, checked for well-formedness.
std::string Json(const Decision& d) {
  const std::string json = DecisionToJson(d);
  EXPECT_TRUE(JsonChecker::Valid(json)) << json;
  return json;
}

std::string PathJson(std::string_view path) {
  const std::string json = Json(OpenDecision(path));
  const size_t start = json.find(",\"path\":");
  const size_t end = json.find(",\"flags\":");
  if (start == std::string::npos || end == std::string::npos) return "?";
  return json.substr(start + 8, end - start - 8);
}

TEST(DecisionToJsonTest, AllowedOpenWithRule) {
  const Rule rule{RuleKind::kFile, kRead, "/etc/passwd"};
  Decision d = OpenDecision("/etc/passwd");
  d.rule = &rule;
  EXPECT_EQ(Json(d),
            R"({"time":"2026-11-22T22:31:12.123456Z","pid":42,"op":"open","path":"/etc/passwd",)"
            R"("flags":524288,"flags_text":"O_RDONLY|O_CLOEXEC","decision":"allow",)"
            R"("rule":"allow r file /etc/passwd","rule_index":1,"reason":"granted","errno":0,)"
            R"("us":17})");
}

TEST(DecisionToJsonTest, EveryOptionalKey) {
  Rule rule{RuleKind::kDeny, 0, "/data/secret"};
  rule.index = 6;
  Decision d{};
  d.time = absl::FromUnixSeconds(0);
  d.pid = 7;
  d.op = proto::Op::kOpen;
  d.path = "/data/secret/x";
  d.path2 = "/data/y";  // not sent with open, but shown whenever present
  d.flags = O_WRONLY | O_CREAT | O_EXCL;
  d.mode = 0644;
  d.allowed = false;
  d.error = EACCES;
  d.rule = &rule;
  d.reason = "denied by rule";
  d.elapsed = absl::Microseconds(1234567) + absl::Nanoseconds(999);
  EXPECT_EQ(Json(d),
            R"({"time":"1970-01-01T00:00:00.000000Z","pid":7,"op":"open","path":"/data/secret/x",)"
            R"("path2":"/data/y","flags":193,"flags_text":"O_WRONLY|O_CREAT|O_EXCL","mode":420,)"
            R"("decision":"deny","rule":"deny /data/secret","rule_index":7,)"
            R"("reason":"denied by rule","errno":13,"errno_name":"EACCES","us":1234567})");
}

TEST(DecisionToJsonTest, OptionalKeysOmitted) {
  Decision d{};
  d.time = kTime;
  d.pid = 3;
  d.op = proto::Op::kStat;
  d.path = "/usr";
  d.allowed = true;
  d.reason = "ancestor of an allowed path";
  EXPECT_EQ(Json(d), R"({"time":"2026-11-22T22:31:12.123456Z","pid":3,"op":"stat","path":"/usr",)"
                     R"("flags":0,"decision":"allow","rule":null,"rule_index":null,)"
                     R"("reason":"ancestor of an allowed path","errno":0,"us":0})");
}

TEST(DecisionToJsonTest, DenialWithoutRule) {
  Decision d = OpenDecision("/etc/shadow");
  d.allowed = false;
  d.error = EACCES;
  d.reason = "no rule covers the path";
  const std::string json = Json(d);
  EXPECT_NE(json.find(R"("decision":"deny","rule":null,"rule_index":null,)"
                      R"("reason":"no rule covers the path","errno":13,"errno_name":"EACCES",)"),
            std::string::npos)
      << json;
}

TEST(DecisionToJsonTest, NullReasonIsEmpty) {
  Decision d = OpenDecision("/x");
  d.reason = nullptr;
  EXPECT_NE(Json(d).find(R"("reason":"",)"), std::string::npos);
}

TEST(DecisionToJsonTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(PathJson("/a\"b\\c"), R"("/a\"b\\c")");
  EXPECT_EQ(PathJson("/\n\r\t\b\f"), R"("/\n\r\t\b\f")");
  EXPECT_EQ(PathJson(std::string_view("/a\0b", 4)), R"("/a\u0000b")");
  EXPECT_EQ(PathJson("/\x01\x1f\x7f "), R"("/\u0001\u001f\u007f ")");
  EXPECT_EQ(PathJson("/</script>'"), R"("/</script>'")");
}

TEST(DecisionToJsonTest, ValidUtf8PassesThrough) {
  // 2, 3 and 4 bytes, the extremes of each length, U+FFFF, and U+0080-U+009F (controls, but
  // not ones JSON requires escaping).
  const std::string path =
      "/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"
      "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80\xc2\x9f";
  EXPECT_EQ(PathJson(path), "\"" + path + "\"");
}

TEST(DecisionToJsonTest, InvalidUtf8BytesEscapedOneByOne) {
  EXPECT_EQ(PathJson("/\xff\xfe"), R"("/\u00ff\u00fe")");
  EXPECT_EQ(PathJson("/\x80x"), R"("/\u0080x")");                              // stray continuation
  EXPECT_EQ(PathJson("/\xc0\xaf"), R"("/\u00c0\u00af")");                      // overlong '/'
  EXPECT_EQ(PathJson("/\xe0\x80\xaf"), R"("/\u00e0\u0080\u00af")");            // overlong, 3 bytes
  EXPECT_EQ(PathJson("/\xed\xa0\x80"), R"("/\u00ed\u00a0\u0080")");            // surrogate U+D800
  EXPECT_EQ(PathJson("/\xf4\x90\x80\x80"), R"("/\u00f4\u0090\u0080\u0080")");  // U+110000
  EXPECT_EQ(PathJson("/\xf5\x80\x80\x80"), R"("/\u00f5\u0080\u0080\u0080")");
  EXPECT_EQ(PathJson("/\xe2\x82"), R"("/\u00e2\u0082")");  // truncated at the end
  // A cut-off sequence followed by a valid one: only the broken bytes are escaped.
  EXPECT_EQ(PathJson("/\xe2\xc3\xa9"), "\"/\\u00e2\xc3\xa9\"");
  EXPECT_EQ(PathJson("/\xf0\x9f\x98/"), R"("/\u00f0\u009f\u0098/")");
}

TEST(DecisionToJsonTest, RuleAndSecondPathAreEscaped) {
  const Rule rule{RuleKind::kTree, kRead | kWrite, "/da\"ta"};
  Decision d = OpenDecision("/x");
  d.op = proto::Op::kSymlink;
  d.path2 = "\xff\n";
  d.rule = &rule;
  const std::string json = Json(d);
  EXPECT_NE(json.find(R"("path2":"\u00ff\n")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("rule":"allow rw tree /da\"ta","rule_index":1)"), std::string::npos)
      << json;
  EXPECT_EQ(json.find("flags_text"), std::string::npos) << json;
}

std::string TempPath(const std::string& name) {
  const char* base = getenv("TEST_TMPDIR");
  return std::string(base != nullptr ? base : "/tmp") + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(text.substr(start, end - start));
  }
  if (start != text.size()) lines.push_back(text.substr(start));  // an unterminated last line
  return lines;
}

TEST(JsonLinesAuditLogTest, OpenAppendsPrivately) {
  const std::string path = TempPath("append.jsonl");
  unlink(path.c_str());
  for (int round = 0; round < 2; ++round) {
    absl::StatusOr<std::unique_ptr<JsonLinesAuditLog>> log = JsonLinesAuditLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.status();
    (*log)->AsLog()(OpenDecision("/etc/passwd"));
  }
  // Each log's decision, then its summary.
  const std::string line = DecisionToJson(OpenDecision("/etc/passwd"));
  const std::vector<std::string> lines = Lines(ReadFile(path));
  ASSERT_EQ(lines.size(), 4u);
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(lines[2 * round], line);
    EXPECT_NE(lines[2 * round + 1].find("\"summary\":true,\"written\":1,\"dropped\":0,"),
              std::string::npos)
        << lines[2 * round + 1];
    EXPECT_TRUE(JsonChecker::Valid(lines[2 * round + 1])) << lines[2 * round + 1];
  }
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(JsonLinesAuditLogTest, OpenErrorNamesThePath) {
  const std::string path = TempPath("no/such/dir/audit.jsonl");
  absl::StatusOr<std::unique_ptr<JsonLinesAuditLog>> log = JsonLinesAuditLog::Open(path);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(log.status().message().find(path), std::string::npos) << log.status();
}

TEST(JsonLinesAuditLogTest, ConcurrentThreadsWriteWholeLines) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 2000;
  const std::string path = TempPath("concurrent.jsonl");
  unlink(path.c_str());
  // Room for every line: this test is about lines staying whole, not about the bounds.
  JsonLinesAuditLog::Limits limits;
  limits.max_bytes = int64_t{1} << 30;
  limits.max_queued_bytes = size_t{1} << 30;
  limits.max_path_bytes = 4096;
  absl::StatusOr<std::unique_ptr<JsonLinesAuditLog>> log = JsonLinesAuditLog::Open(path, limits);
  ASSERT_TRUE(log.ok()) << log.status();
  const DecisionLog sink = (*log)->AsLog();
  // Paths of different lengths, some long, so lines of different threads would show if they
  // were torn.
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&sink, t] {
      const std::string path = "/data/" + std::string(1 + t * 300, 'a' + t) + "\xff\"";
      for (int i = 0; i < kPerThread; ++i) {
        Decision d = OpenDecision(path);
        d.pid = 1000 + t;
        sink(d);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  (*log)->Close();
  EXPECT_EQ((*log)->write_errors(), 0);
  EXPECT_EQ((*log)->counts().written, kThreads * kPerThread);
  EXPECT_EQ((*log)->counts().dropped(), 0);

  const std::string text = ReadFile(path);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kPerThread) + 1);
  EXPECT_NE(lines.back().find("\"summary\":true"), std::string::npos) << lines.back();
  lines.pop_back();
  std::vector<int> per_pid(kThreads);
  int malformed = 0;
  for (const std::string& line : lines) {
    const bool whole =
        line.rfind("{\"time\":", 0) == 0 && line.back() == '}' && JsonChecker::Valid(line);
    if (!whole) {
      if (++malformed <= 3) ADD_FAILURE() << "torn line: " << line.substr(0, 200);
      continue;
    }
    const int pid = std::atoi(line.c_str() + line.find("\"pid\":") + 6);
    ASSERT_GE(pid, 1000);
    ASSERT_LT(pid, 1000 + kThreads);
    ++per_pid[pid - 1000];
  }
  EXPECT_EQ(malformed, 0);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(per_pid[t], kPerThread) << "thread " << t;
}

// Ignores SIGPIPE for its lifetime, as a broker logging to a pipe must.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() : previous_(signal(SIGPIPE, SIG_IGN)) {}
  ~IgnoreSigpipe() { signal(SIGPIPE, previous_); }

 private:
  sighandler_t previous_;
};

TEST(JsonLinesAuditLogTest, WriteErrorsAreCountedNotFatal) {
  IgnoreSigpipe ignore;
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  close(fds[0]);
  JsonLinesAuditLog log{UniqueFd(fds[1])};
  const DecisionLog sink = log.AsLog();
  for (int i = 0; i < 5; ++i) sink(OpenDecision("/etc/passwd"));
  ASSERT_TRUE(log.Flush());
  EXPECT_EQ(log.write_errors(), 5);
  EXPECT_EQ(log.counts().written, 0);
}

// A pipe that holds one page, and a path whose line does not fit in it.
struct OnePagePipe {
  OnePagePipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0 || fcntl(fds[1], F_SETPIPE_SZ, 4096) != 4096) abort();
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    limits.max_path_bytes = 8000;
  }
  UniqueFd read_end;
  UniqueFd write_end;
  JsonLinesAuditLog::Limits limits;
  const std::string big_path = "/" + std::string(6000, 'x');
};

// A full pipe holds up the writer, not the caller, and the line waits whole for room.
TEST(JsonLinesAuditLogTest, AFullPipeDelaysTheWriterAndLinesStayWhole) {
  OnePagePipe pipe;
  UniqueFd& read_end = pipe.read_end;
  const JsonLinesAuditLog::Limits& limits = pipe.limits;
  JsonLinesAuditLog log(std::move(pipe.write_end), limits);
  const Decision big = OpenDecision(pipe.big_path);
  log.AsLog()(big);
  std::string text;
  char buffer[1024];
  while (text.find('\n') == std::string::npos) {
    const ssize_t n = read(read_end.get(), buffer, sizeof(buffer));
    ASSERT_GT(n, 0);
    text.append(buffer, static_cast<size_t>(n));
  }
  EXPECT_TRUE(text == DecisionToJson(big, limits.max_path_bytes) + "\n") << text.size();
  ASSERT_TRUE(log.Flush());
  EXPECT_EQ(log.write_errors(), 0);
}

// A line the writer still could not finish at Close's deadline is cut and counted; the
// summary after it starts on a line of its own once the reader reads again.
TEST(JsonLinesAuditLogTest, ALineCutAtCloseIsCountedAndTheSummaryStartsOnItsOwnLine) {
  OnePagePipe pipe;
  UniqueFd& read_end = pipe.read_end;
  pipe.limits.close_timeout = absl::Seconds(1);
  JsonLinesAuditLog log(std::move(pipe.write_end), pipe.limits);
  log.AsLog()(OpenDecision(pipe.big_path));
  log.AsLog()(OpenDecision("/etc/passwd"));
  // Nobody reads until the first line has been given up: then the reader takes the page, and
  // the summary fits.
  std::thread closing([&log] { log.Close(); });
  while (log.counts().write_errors == 0) absl::SleepFor(absl::Milliseconds(1));
  std::string text;
  char buffer[4096];
  while (text.find("\"summary\"") == std::string::npos || text.back() != '\n') {
    const ssize_t n = read(read_end.get(), buffer, sizeof(buffer));
    ASSERT_GT(n, 0);
    text.append(buffer, static_cast<size_t>(n));
  }
  closing.join();
  const JsonLinesAuditLog::Counts counts = log.counts();
  EXPECT_EQ(counts.write_errors, 1);
  EXPECT_EQ(counts.dropped_at_close, 1);
  EXPECT_EQ(counts.written, 0);
  const std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), 2u) << text.size();
  EXPECT_EQ(lines[0].size(), 4096u);  // the cut line: the pipe's one page
  EXPECT_EQ(lines[0].rfind("{\"time\":", 0), 0u);
  EXPECT_TRUE(JsonChecker::Valid(lines[1])) << lines[1];
  EXPECT_NE(lines[1].find("\"written\":0,\"dropped\":1,\"dropped_queue_full\":0,"
                          "\"dropped_over_budget\":0,\"dropped_at_close\":1,\"write_errors\":1"),
            std::string::npos)
      << lines[1];
}

// Past max_bytes decisions are dropped and counted; the file, summary included, stays within
// the bound, and the summary's counts are exact.
TEST(JsonLinesAuditLogTest, TheByteBudgetHoldsAndTheSummaryCountsTheRest) {
  const std::string path = TempPath("budget.jsonl");
  unlink(path.c_str());
  JsonLinesAuditLog::Limits limits;
  limits.max_bytes = 8192;
  absl::StatusOr<std::unique_ptr<JsonLinesAuditLog>> log = JsonLinesAuditLog::Open(path, limits);
  ASSERT_TRUE(log.ok()) << log.status();
  constexpr int kDecisions = 1000;
  // Lines of one length, so that the budget takes an exact number of them. A Decision's path
  // is a view: the strings outlive every decision made of them.
  std::vector<std::string> paths;
  for (int i = 0; i < kDecisions; ++i) paths.push_back(absl::StrFormat("/data/%04d", i));
  const auto decision = [&paths](int i) { return OpenDecision(paths[i]); };
  const int64_t line_bytes = static_cast<int64_t>(DecisionToJson(decision(0)).size()) + 1;
  const int64_t fitting = (limits.max_bytes - kAuditLogSummaryBytes) / line_bytes;
  const DecisionLog sink = (*log)->AsLog();
  for (int i = 0; i < kDecisions; ++i) sink(decision(i));
  (*log)->Close();
  const JsonLinesAuditLog::Counts counts = (*log)->counts();
  EXPECT_EQ(counts.written, fitting);
  EXPECT_EQ(counts.dropped_over_budget, kDecisions - fitting);
  EXPECT_EQ(counts.dropped_queue_full + counts.dropped_at_close + counts.write_errors, 0);

  const std::string text = ReadFile(path);
  EXPECT_LE(static_cast<int64_t>(text.size()), limits.max_bytes);
  std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), static_cast<size_t>(fitting) + 1);
  for (int64_t i = 0; i < fitting; ++i) EXPECT_EQ(lines[i], DecisionToJson(decision(i)));
  // The summary, after its time ("2026-11-22T22:31:12.123456Z").
  const std::string& summary = lines.back();
  EXPECT_TRUE(JsonChecker::Valid(summary)) << summary;
  ASSERT_EQ(summary.rfind("{\"time\":\"", 0), 0u) << summary;
  EXPECT_EQ(summary.substr(9 + 27),
            absl::StrCat("\",\"summary\":true,\"written\":", fitting,
                         ",\"dropped\":", kDecisions - fitting,
                         ",\"dropped_queue_full\":0,\"dropped_over_budget\":", kDecisions - fitting,
                         ",\"dropped_at_close\":0,\"write_errors\":0,\"max_bytes\":8192}"));
}

// A writer stuck in write(2), as on a disk that does not answer, holds the destructor up for
// twice close_timeout at most. The writer, left on its own with the state it shares, finishes
// the line and the summary once the descriptor takes them.
TEST(JsonLinesAuditLogTest, TheDestructorReturnsWhileTheWriterIsStuckInWrite) {
  OnePagePipe pipe;
  pipe.limits.close_timeout = absl::Milliseconds(200);
  const UniqueFd same_file(dup(pipe.write_end.get()));
  ASSERT_TRUE(same_file.valid());
  auto log = std::make_unique<JsonLinesAuditLog>(std::move(pipe.write_end), pipe.limits);
  // The log made the pipe non-blocking; clearing that again on the same open file makes its
  // write(2) block, which no timeout inside the writer can end.
  ASSERT_EQ(fcntl(same_file.get(), F_SETFL, fcntl(same_file.get(), F_GETFL) & ~O_NONBLOCK), 0);
  const Decision big = OpenDecision(pipe.big_path);
  log->AsLog()(big);
  log->AsLog()(OpenDecision("/etc/passwd"));
  for (int queued = 0; queued < 4096;) {
    ASSERT_EQ(ioctl(pipe.read_end.get(), FIONREAD, &queued), 0);
    absl::SleepFor(absl::Milliseconds(1));
  }
  const absl::Time start = absl::Now();
  log.reset();
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, pipe.limits.close_timeout);
  EXPECT_LT(took, 2 * pipe.limits.close_timeout + absl::Seconds(2));

  std::string text;
  char buffer[4096];
  while (text.find("\"summary\"") == std::string::npos || text.back() != '\n') {
    const ssize_t n = read(pipe.read_end.get(), buffer, sizeof(buffer));
    ASSERT_GT(n, 0);
    text.append(buffer, static_cast<size_t>(n));
  }
  const std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), 2u) << text.size();
  EXPECT_EQ(lines[0], DecisionToJson(big, pipe.limits.max_path_bytes));
  EXPECT_NE(lines[1].find("\"written\":1,\"dropped\":1,\"dropped_queue_full\":0,"
                          "\"dropped_over_budget\":0,\"dropped_at_close\":1,\"write_errors\":0"),
            std::string::npos)
      << lines[1];
}

// A FIFO whose reader never reads: logging returns at once (decisions are dropped once the
// queue is full), and Close returns after its timeout.
TEST(JsonLinesAuditLogTest, AFifoNobodyReadsNeverHoldsUpTheCaller) {
  const std::string path = TempPath("stalled.fifo");
  unlink(path.c_str());
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  UniqueFd reader(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(reader.valid());
  JsonLinesAuditLog::Limits limits;
  limits.close_timeout = absl::Milliseconds(200);
  absl::StatusOr<std::unique_ptr<JsonLinesAuditLog>> log = JsonLinesAuditLog::Open(path, limits);
  ASSERT_TRUE(log.ok()) << log.status();
  const DecisionLog sink = (*log)->AsLog();
  constexpr int kDecisions = 20000;
  const std::string path_200 = "/" + std::string(200, 'p');
  for (int i = 0; i < kDecisions; ++i) sink(OpenDecision(path_200));
  EXPECT_FALSE((*log)->Flush(absl::Milliseconds(50)));
  const absl::Time start = absl::Now();
  (*log)->Close();
  EXPECT_LT(absl::Now() - start, 2 * limits.close_timeout + absl::Seconds(2));
  const JsonLinesAuditLog::Counts counts = (*log)->counts();
  EXPECT_GT(counts.dropped_queue_full, 0);
  EXPECT_EQ(counts.written + counts.write_errors + counts.dropped(), kDecisions);
  unlink(path.c_str());
}

TEST(JsonLinesAuditLogTest, AFifoWithoutAReaderIsAnErrorAtOnce) {
  const std::string path = TempPath("unread.fifo");
  unlink(path.c_str());
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  absl::StatusOr<std::unique_ptr<JsonLinesAuditLog>> log = JsonLinesAuditLog::Open(path);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find(path), std::string::npos) << log.status();
  EXPECT_NE(log.status().message().find("FIFO"), std::string::npos) << log.status();
  unlink(path.c_str());
}

TEST(DecisionToJsonTest, PathsAreCutAtTheLimitAndSaySo) {
  const std::string path = "/" + std::string(5000, 'a');
  const std::string path2 = "/" + std::string(3000, 'b');
  Decision d = OpenDecision(path);
  d.op = proto::Op::kRename;
  d.path2 = path2;
  const std::string json = DecisionToJson(d, 1024);
  EXPECT_TRUE(JsonChecker::Valid(json)) << json.substr(0, 200);
  EXPECT_NE(json.find("\"path\":\"/" + std::string(1023, 'a') + "\",\"path_truncated\":true,"),
            std::string::npos);
  EXPECT_NE(json.find("\"path2\":\"/" + std::string(1023, 'b') + "\",\"path2_truncated\":true,"),
            std::string::npos);
  EXPECT_EQ(DecisionToJson(OpenDecision("/etc/passwd"), 1024).find("truncated"), std::string::npos);
}

}  // namespace
}  // namespace sbox
