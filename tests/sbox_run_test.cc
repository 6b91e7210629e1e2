// `sbox run` and `sbox learn` end to end: the real CLI running real Debian programs and a probe
// program, each under a policy from policies/ or one it learned, compared with the same command
// run without sbox.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/sandbox_fixture.h"
#include "tests/subprocess.h"
#include "tools/run_command.h"

extern char** environ;

namespace sbox {
namespace {

using testing::CommandResult;
using testing::RunCommand;
using testing::ScratchDir;

// Runfiles, relative to the test's working directory.
constexpr char kSbox[] = "tools/sbox";
constexpr char kProbe[] = "tests/run_probe";
constexpr char kEscapeProbe[] = "tests/escape_probe";

std::string Here() {
  char buffer[4096];
  return getcwd(buffer, sizeof(buffer)) != nullptr ? buffer : "";
}

std::string Policy(const std::string& name) { return absl::StrCat(Here(), "/policies/", name); }

std::string Describe(const CommandResult& r) {
  return absl::StrCat("exit ", r.exit_code, " signal ", r.signal, "\nstdout: ", r.out,
                      "\nstderr: ", r.err);
}

// `sbox run` OPTIONS -- COMMAND.
CommandResult Sbox(const std::vector<std::string>& options, const std::vector<std::string>& command,
                   const std::string& input = "") {
  std::vector<std::string> argv = {kSbox, "run"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return RunCommand(argv, input);
}

class Samples {
 public:
  Samples() {
    xml_ = dir_.WriteFile("sample.xml",
                          "<?xml version=\"1.0\"?><catalog><book id=\"1\"><title>Sandboxes"
                          "</title><price>9.5</price></book><book id=\"2\"/></catalog>\n");
    json_ = dir_.WriteFile("sample.json",
                           "{\"name\": \"sbox\", \"tags\": [\"seccomp\", \"broker\"], "
                           "\"n\": [1, 2.5, null, true], \"nested\": {\"a\": {\"b\": []}}}\n");
    text_ = dir_.WriteFile("sample.txt", std::string(2000, 'a') + "\nplain text\n");
    gz_ = dir_.path() + "/sample.txt.gz";
    const CommandResult gz = RunCommand({"/bin/gzip", "-k", "-9", text_});
    EXPECT_EQ(gz.exit_code, 0) << Describe(gz);
    secret_ = dir_.WriteFile("secret", "the broker never opens this\n");
  }
  const ScratchDir& dir() const { return dir_; }
  const std::string& xml() const { return xml_; }
  const std::string& json() const { return json_; }
  const std::string& text() const { return text_; }
  const std::string& gz() const { return gz_; }
  const std::string& secret() const { return secret_; }

 private:
  ScratchDir dir_;
  std::string xml_, json_, text_, gz_, secret_;
};

struct ProgramCase {
  const char* name;
  const char* policy;
  std::vector<std::string> (*command)(const Samples&);
  std::string (*input)(const Samples&);
};

const ProgramCase kPrograms[] = {
    {"file_text", "file.policy",
     [](const Samples& s) {
       return std::vector<std::string>{"/usr/bin/file", s.text()};
     },
     [](const Samples& s) { return s.text(); }},
    {"file_gzip", "file.policy",
     [](const Samples& s) {
       return std::vector<std::string>{"/usr/bin/file", s.gz()};
     },
     [](const Samples& s) { return s.gz(); }},
    {"file_xml_mime", "file.policy",
     [](const Samples& s) {
       return std::vector<std::string>{"/usr/bin/file", "-i", s.xml()};
     },
     [](const Samples& s) { return s.xml(); }},
    {"xmllint", "xmllint.policy",
     [](const Samples& s) {
       return std::vector<std::string>{"/usr/bin/xmllint", "--format", s.xml()};
     },
     [](const Samples& s) { return s.xml(); }},
    {"jq", "jq.policy",
     [](const Samples& s) {
       return std::vector<std::string>{"/usr/bin/jq", "-S", ".", s.json()};
     },
     [](const Samples& s) { return s.json(); }},
    {"gzip", "gzip.policy",
     [](const Samples& s) {
       return std::vector<std::string>{"/bin/gzip", "-dc", s.gz()};
     },
     [](const Samples& s) { return s.gz(); }},
};

class RealProgram : public ::testing::TestWithParam<ProgramCase> {};

TEST_P(RealProgram, PrintsExactlyWhatItPrintsUnsandboxed) {
  const Samples samples;
  const ProgramCase& c = GetParam();
  const std::vector<std::string> command = c.command(samples);
  const CommandResult bare = RunCommand(command);
  ASSERT_EQ(bare.exit_code, 0) << Describe(bare);
  ASSERT_FALSE(bare.out.empty());
  const CommandResult boxed =
      Sbox({"--policy", Policy(c.policy), "--allow-read", c.input(samples)}, command);
  EXPECT_EQ(boxed.exit_code, 0) << Describe(boxed);
  EXPECT_EQ(boxed.out, bare.out);
}

INSTANTIATE_TEST_SUITE_P(Programs, RealProgram, ::testing::ValuesIn(kPrograms),
                         [](const ::testing::TestParamInfo<ProgramCase>& info) {
                           return std::string(info.param.name);
                         });

// The paths a command touches by name, from strace: what the audit log must account for.
std::set<std::string> PathsStraceSees(const std::vector<std::string>& command,
                                      const std::string& trace_file) {
  std::vector<std::string> argv = {"/usr/bin/strace", "-f", "-qq",        "-o",
                                   trace_file,        "-e", "trace=%file"};
  argv.insert(argv.end(), command.begin(), command.end());
  const CommandResult traced = RunCommand(argv);
  EXPECT_EQ(traced.exit_code, 0) << Describe(traced);
  std::set<std::string> paths;
  for (absl::string_view line : absl::StrSplit(testing::ReadFileOrDie(trace_file), '\n')) {
    if (absl::StrContains(line, "execve(")) continue;
    const size_t open_quote = line.find('"');
    if (open_quote == absl::string_view::npos) continue;
    const size_t close_quote = line.find('"', open_quote + 1);
    const absl::string_view path = line.substr(open_quote + 1, close_quote - open_quote - 1);
    if (!path.empty()) paths.insert(std::string(path));
  }
  return paths;
}

TEST(SboxRun, TheAuditLogShowsEveryFileTheProgramTouched) {
  const Samples samples;
  const std::vector<std::string> command = {"/usr/bin/file", samples.gz()};
  const std::set<std::string> touched = PathsStraceSees(command, samples.dir().path() + "/trace");
  ASSERT_GT(touched.size(), 5u);
  const std::string log = samples.dir().path() + "/audit.jsonl";
  const CommandResult boxed =
      Sbox({"--policy", Policy("file.policy"), "--allow-read", samples.gz(), "--audit-log", log},
           command);
  ASSERT_EQ(boxed.exit_code, 0) << Describe(boxed);
  const std::string audit = testing::ReadFileOrDie(log);
  for (const std::string& path : touched) {
    // The home directory differs between runs only in who asks; the rest must all be there.
    // Symlinks are followed and each target judged: a decision names the path the last
    // component's links lead to ("/lib/x/libz.so.1" is "/lib/x/libz.so.1.2.13").
    std::string target = path;
    for (int hops = 0; hops < 40; ++hops) {
      char link[4096];
      const ssize_t size = readlink(target.c_str(), link, sizeof(link));
      if (size <= 0) break;
      const std::string text(link, static_cast<size_t>(size));
      target = text[0] == '/' ? text : target.substr(0, target.rfind('/') + 1) + text;
      target = std::filesystem::path(target).lexically_normal().string();
    }
    EXPECT_TRUE(audit.find(absl::StrCat("\"path\":\"", path, "\"")) != std::string::npos ||
                audit.find(absl::StrCat("\"path\":\"", target, "\"")) != std::string::npos)
        << path << " (" << target << ") is missing from the audit log:\n"
        << audit;
  }
  EXPECT_NE(audit.find(absl::StrCat("\"path\":\"", samples.gz(), "\",\"flags\"")),
            std::string::npos);
}

// What every program policy refuses, shown with real programs where one tries it on its own,
// and with the probe program under each policy.
TEST(SboxRun, RealProgramsAreRefusedWhatTheirPolicyDoesNotGrant) {
  const Samples samples;
  // jq reading a file it was not granted.
  CommandResult r = Sbox({"--policy", Policy("jq.policy"), "--allow-read", samples.json()},
                         {"/usr/bin/jq", "-n", "--rawfile", "s", samples.secret(), "$s"});
  EXPECT_NE(r.exit_code, 0) << Describe(r);
  // A path no rule covers is as if absent.
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << Describe(r);
  EXPECT_EQ(r.out.find("never opens"), std::string::npos);
  // gzip writing next to its input, outside the grants: the old .gz stays as it was.
  const std::string gz_before = testing::ReadFileOrDie(samples.gz());
  r = Sbox({"--policy", Policy("gzip.policy"), "--allow-read", samples.text()},
           {"/bin/gzip", "-k", "-f", samples.text()});
  EXPECT_NE(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << Describe(r);
  EXPECT_EQ(testing::ReadFileOrDie(samples.gz()), gz_before);
  // xmllint fetching a URL: socket(AF_INET) is a reported violation.
  r = Sbox({"--policy", Policy("xmllint.policy")},
           {"/usr/bin/xmllint", "http://127.0.0.1:9/x.xml"});
  EXPECT_EQ(r.exit_code, kRunViolation) << Describe(r);
  EXPECT_TRUE(
      absl::StartsWith(r.err, "sbox: policy violation: socket (41) on x86_64: socket(AF_INET"))
      << Describe(r);
}

TEST(SboxRun, EveryProgramPolicyRefusesWritesSocketsExecAndSecrets) {
  const Samples samples;
  const std::string outside = samples.dir().path() + "/written";
  for (const char* policy :
       {"default.policy", "file.policy", "xmllint.policy", "jq.policy", "gzip.policy"}) {
    SCOPED_TRACE(policy);
    const std::vector<std::string> options = {"--policy", Policy(policy), "--allow-read",
                                              samples.text()};
    CommandResult r = Sbox(options, {kProbe, "read", samples.text()});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);  // the probe itself runs under every policy
    r = Sbox(options, {kProbe, "write", outside});
    EXPECT_EQ(r.exit_code, 1) << Describe(r);
    EXPECT_EQ(r.out, outside + ": No such file or directory\n");
    r = Sbox(options, {kProbe, "read", samples.secret()});
    EXPECT_EQ(r.exit_code, 1) << Describe(r);
    EXPECT_EQ(r.out, samples.secret() + ": No such file or directory\n");
    r = Sbox(options, {kProbe, "socket"});
    EXPECT_EQ(r.exit_code, kRunViolation) << Describe(r);
    EXPECT_TRUE(absl::StartsWith(r.err, "sbox: policy violation: socket (41)")) << r.err;
    // Every policy allows AF_UNIX stream sockets (group file-redirection), never the network.
    EXPECT_NE(r.err.find("group file-redirection via "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("allows socket only if (arg0 == 1 && arg1 & 15 == 1) || (arg0 == 1 && "
                         "arg1 & 15 == 5); # socket with these arguments is refused on purpose: "
                         "any family but AF_UNIX reaches the network"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    r = Sbox(options, {kProbe, "exec", "/bin/true"});
    EXPECT_EQ(r.exit_code, kRunViolation) << Describe(r);
    EXPECT_TRUE(absl::StartsWith(r.err, "sbox: policy violation: execve (59)")) << r.err;
  }
  struct stat st;
  EXPECT_NE(stat(outside.c_str(), &st), 0);
}

TEST(SboxRun, ExitStatuses) {
  const Samples samples;
  EXPECT_EQ(Sbox({}, {kProbe, "exit", "7"}).exit_code, 7);
  EXPECT_EQ(Sbox({}, {kProbe, "exit", "0"}).exit_code, 0);
  EXPECT_EQ(Sbox({}, {kProbe, "crash"}).exit_code, 128 + SIGSEGV);
  CommandResult r = Sbox({"--timeout", "0.5"}, {kProbe, "sleep", "30"});
  EXPECT_EQ(r.exit_code, kRunTimedOut) << Describe(r);
  EXPECT_TRUE(absl::StartsWith(r.err, "sbox: timed out after 500ms")) << r.err;
  r = Sbox({}, {"no-such-program-anywhere"});
  EXPECT_EQ(r.exit_code, kRunNotFound) << Describe(r);
  EXPECT_EQ(r.err, "sbox: no-such-program-anywhere: command not found\n");
  EXPECT_EQ(Sbox({}, {samples.text()}).exit_code, kRunNotExecutable);  // mode 0644
  const std::string bad = samples.dir().WriteFile("bad.policy", "allow no_such_call\n");
  r = Sbox({"--policy", bad}, {kProbe, "exit", "0"});
  EXPECT_EQ(r.exit_code, kRunSetupFailed) << Describe(r);
  EXPECT_NE(r.err.find("bad.policy:1:7: expected a syscall name"), std::string::npos) << r.err;
  r = RunCommand({kSbox, "run", "--bogus", "--", kProbe});
  EXPECT_EQ(r.exit_code, kRunSetupFailed) << Describe(r);
  EXPECT_TRUE(absl::StartsWith(r.err, "sbox run: unknown option '--bogus'")) << r.err;
  EXPECT_EQ(RunCommand({kSbox, "run", "--help"}).exit_code, 0);
}

TEST(SboxRun, StdioPassesThroughAndProgramsAreFoundOnPath) {
  CommandResult r = Sbox({}, {"cat"}, "through the sandbox\n");
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "through the sandbox\n");
  r = Sbox({}, {kProbe, "stderr", "to stderr"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "to stderr");
}

// --allow-write grants a tree (a directory) or a file: written there, and nowhere else.
TEST(SboxRun, AllowWriteGrantsWritingWhereItSays) {
  const Samples samples;
  const std::string out_dir = samples.dir().MakeDir("out");
  CommandResult r = Sbox({"--allow-write", out_dir}, {kProbe, "write", out_dir + "/made"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(testing::ReadFileOrDie(out_dir + "/made"), "x");
  const std::string file = samples.dir().path() + "/single";
  r = Sbox({"--allow-write", file}, {kProbe, "write", file});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(testing::ReadFileOrDie(file), "x");
  r = Sbox({"--allow-write", out_dir}, {kProbe, "write", samples.dir().path() + "/beside"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.out, samples.dir().path() + "/beside: No such file or directory\n");
  struct stat st;
  EXPECT_NE(stat((samples.dir().path() + "/beside").c_str(), &st), 0);
}

TEST(SboxRun, CwdIsTheProgramsWorkingDirectory) {
  const Samples samples;
  const CommandResult r = Sbox({"--cwd", samples.dir().path()}, {kProbe, "getcwd"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, samples.dir().path() + "\n");
  const CommandResult relative =
      Sbox({"--cwd", samples.dir().path(), "--allow-read", samples.text()},
           {kProbe, "read", "sample.txt"});
  EXPECT_EQ(relative.exit_code, 0) << Describe(relative);
  EXPECT_EQ(relative.out, testing::ReadFileOrDie(samples.text()));
}

// SBOX_BROKER_FD names the broker channel, and the protocol document is all a program needs to
// use it: the probe builds its request byte by byte from proto/PROTOCOL.md.
TEST(SboxRun, AProgramSpeaksTheProtocolOnSboxBrokerFd) {
  const Samples samples;
  CommandResult r = Sbox({"--allow-read", samples.text()}, {kProbe, "channel", samples.text()});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, testing::ReadFileOrDie(samples.text()));
  r = Sbox({"--allow-read", samples.text()}, {kProbe, "channel", samples.secret()});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.out, "reply: version 1 op 1 id 42 result -2 fds 0\n");  // ENOENT: uncovered
}

int CountFds(pid_t pid) {
  int count = 0;
  const std::string dir = absl::StrCat("/proc/", pid, "/fd");
  const CommandResult ls = RunCommand({"/bin/ls", "-1", dir});
  for (char c : ls.out) count += c == '\n';
  return count;
}

// A program that speaks garbage straight to SBOX_BROKER_FD cannot crash or stall the broker,
// and the broker's descriptors come back to where they were.
TEST(SboxRun, AHostileProgramOnTheBrokerChannelLeavesTheBrokerAsItWas) {
  const Samples samples;
  testing::Conversation probe(
      {kSbox, "run", "--allow-read", samples.text(), "--", kProbe, "hostile", samples.text()});
  ASSERT_EQ(probe.ReadLine(), "ready");
  // The baseline once the launch has settled: the set-up socket closes when the launcher reads
  // the program's exec, which may come just after the program says "ready".
  int before = CountFds(probe.pid());
  for (int i = 0, stable = 0; i < 100 && stable < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const int now = CountFds(probe.pid());
    stable = now == before ? stable + 1 : 0;
    before = now;
  }
  ASSERT_GT(before, 3);
  probe.WriteLine("go");
  ASSERT_EQ(probe.ReadLine(), "flooded");
  int after = CountFds(probe.pid());
  for (int i = 0; i < 100 && after != before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    after = CountFds(probe.pid());
  }
  EXPECT_EQ(after, before);
  probe.WriteLine("go");
  const CommandResult r = probe.Finish();
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, testing::ReadFileOrDie(samples.text()));
}

// 10,000 failed opens of 3.5 KB paths: the audit log stays within --audit-log-max-bytes and its
// last line counts what it dropped. The paths lie beneath a granted tree, so that each decision
// names the whole path (resolution of a path no rule covers stops at its first component).
TEST(SboxRun, TheAuditLogKeepsItsBoundAndCountsWhatItDropped) {
  const Samples samples;
  const std::string log = samples.dir().path() + "/audit.jsonl";
  const std::string tree = samples.dir().MakeDir("absent-below");
  constexpr int64_t kBound = 1 << 20;
  const CommandResult r = Sbox(
      {"--audit-log", log, "--audit-log-max-bytes", std::to_string(kBound), "--allow-read", tree},
      {kProbe, "opens", "10000", "3500", tree});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  const std::string text = testing::ReadFileOrDie(log);
  EXPECT_LE(static_cast<int64_t>(text.size()), kBound);
  const std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  ASSERT_GT(lines.size(), 2u);
  // Paths are cut at 1 KiB, and say so.
  EXPECT_TRUE(absl::StrContains(lines[lines.size() / 2], "\"path_truncated\":true"))
      << lines[lines.size() / 2].substr(0, 300);
  const std::string& summary = lines.back();
  EXPECT_TRUE(absl::StrContains(summary, "\"summary\":true")) << summary;
  EXPECT_TRUE(absl::StrContains(summary, absl::StrCat("\"written\":", lines.size() - 1, ",")))
      << summary;
  EXPECT_FALSE(absl::StrContains(summary, "\"dropped_over_budget\":0,")) << summary;
  EXPECT_TRUE(absl::StrContains(summary, absl::StrCat("\"max_bytes\":", kBound))) << summary;
}

// A FIFO that nobody reads as the audit log: the run still ends, with the program's status.
TEST(SboxRun, AnAuditLogNobodyReadsDoesNotHoldTheRunUp) {
  const Samples samples;
  const std::string fifo = samples.dir().path() + "/audit.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  UniqueFd reader(open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(reader.valid());
  const CommandResult r = Sbox({"--audit-log", fifo}, {kProbe, "opens", "10000", "100"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
}

TEST(SboxRun, AnAuditLogFifoWithoutReaderIsASetupError) {
  const Samples samples;
  const std::string fifo = samples.dir().path() + "/audit.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const CommandResult r = Sbox({"--audit-log", fifo}, {kProbe, "exit", "0"});
  EXPECT_EQ(r.exit_code, kRunSetupFailed) << Describe(r);
  EXPECT_TRUE(absl::StrContains(r.err, "a FIFO that no process reads")) << r.err;
}

// ---- --report: the result only sbox writes ------------------------------------------------------

// A strict reader for the report: one JSON object as sbox writes it, without whitespace (RFC
// 8259: strings without raw control characters and with JSON's escapes only, JSON numbers,
// nested objects and arrays read the same way) and nothing after it. Values are kept as their JSON
// text, so a test compares them exactly: "\"exited\"", "159", "null",
// "{\"number\":11,\"name\":\"SIGSEGV\"}".
class JsonObject {
 public:
  // The object's keys in their order with their values; std::nullopt when `text` is not one
  // object, or a key repeats.
  static std::optional<std::vector<std::pair<std::string, std::string>>> Read(
      std::string_view text) {
    JsonObject reader(text);
    std::vector<std::pair<std::string, std::string>> fields;
    if (!reader.Object(&fields) || reader.pos_ != text.size()) return std::nullopt;
    std::set<std::string> keys;
    for (const auto& field : fields) {
      if (!keys.insert(field.first).second) return std::nullopt;
    }
    return fields;
  }

 private:
  explicit JsonObject(std::string_view text) : text_(text) {}

  bool At(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool Eat(char c) { return At(c) && (++pos_, true); }
  bool Word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  size_t Digits() {
    const size_t start = pos_;
    while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_])) ++pos_;
    return pos_ - start;
  }

  // `fields` collects the members; nullptr for a nested object.
  bool Object(std::vector<std::pair<std::string, std::string>>* fields) {
    if (!Eat('{')) return false;
    if (Eat('}')) return true;
    do {
      const size_t key_start = pos_;
      if (!String()) return false;
      const std::string key(text_.substr(key_start + 1, pos_ - key_start - 2));
      if (!Eat(':')) return false;
      const size_t value_start = pos_;
      if (!Value()) return false;
      if (fields != nullptr) {
        fields->emplace_back(key, std::string(text_.substr(value_start, pos_ - value_start)));
      }
    } while (Eat(','));
    return Eat('}');
  }
  bool Value() {
    if (At('{')) return Object(nullptr);
    if (At('"')) return String();
    if (Eat('[')) {
      if (Eat(']')) return true;
      do {
        if (!Value()) return false;
      } while (Eat(','));
      return Eat(']');
    }
    if (At('n')) return Word("null");
    if (At('t')) return Word("true");
    if (At('f')) return Word("false");
    Eat('-');
    if (!Eat('0') && Digits() == 0) return false;
    if (Eat('.') && Digits() == 0) return false;
    if (Eat('e') || Eat('E')) {
      if (!Eat('+')) Eat('-');
      if (Digits() == 0) return false;
    }
    return true;
  }
  bool String() {
    if (!Eat('"')) return false;
    while (pos_ < text_.size()) {
      const unsigned char c = static_cast<unsigned char>(text_[pos_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c != '\\') continue;
      if (pos_ >= text_.size()) return false;
      const char escape = text_[pos_++];
      if (escape == 'u') {
        for (int i = 0; i < 4; ++i, ++pos_) {
          if (pos_ >= text_.size() || !absl::ascii_isxdigit(text_[pos_])) return false;
        }
      } else if (std::string_view("\"\\/bfnrt").find(escape) == std::string_view::npos) {
        return false;
      }
    }
    return false;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// The report's values by key, after checking it is one line holding one JSON object with
// exactly the documented keys in their order; empty (with a failure) when it is not.
std::map<std::string, std::string> ReadReport(const std::string& report) {
  const std::vector<std::string> keys = {"outcome",   "exit_code",    "signal",
                                         "violation", "file_denials", "wall_time_ms",
                                         "rusage",    "landlock",     "setup_error"};
  if (report.empty() || report.back() != '\n' ||
      std::count(report.begin(), report.end(), '\n') != 1) {
    ADD_FAILURE() << "not one line: " << report;
    return {};
  }
  const auto fields = JsonObject::Read(std::string_view(report).substr(0, report.size() - 1));
  if (!fields) {
    ADD_FAILURE() << "not one JSON object: " << report;
    return {};
  }
  std::vector<std::string> seen;
  for (const auto& field : *fields) seen.push_back(field.first);
  EXPECT_EQ(seen, keys) << report;
  return std::map<std::string, std::string>(fields->begin(), fields->end());
}

// A report's number, for the values that vary from run to run.
double Number(const std::string& json) {
  double value = -1;
  EXPECT_TRUE(absl::SimpleAtod(json, &value)) << json;
  return value;
}

TEST(JsonObject, ReadsOneObjectStrictly) {
  const auto fields = JsonObject::Read(R"({"a":"x\"\u00e9","b":[1,-2.5e3,{"c":null}],"d":{}})");
  ASSERT_TRUE(fields.has_value());
  EXPECT_EQ(*fields, (std::vector<std::pair<std::string, std::string>>{
                         {"a", R"("x\"\u00e9")"}, {"b", R"([1,-2.5e3,{"c":null}])"}, {"d", "{}"}}));
  for (const char* bad :
       {R"({"a":1)", R"({"a":1,})", R"({"a":01})", R"({"a":"\x"})", "{\"a\":\"\n\"}", R"({"a":1} )",
        R"({"a":1,"a":2})", R"([1])", R"({"a":tru})", R"({"a":1.})", R"({a:1})"}) {
    EXPECT_FALSE(JsonObject::Read(bad).has_value()) << bad;
  }
}

// `sbox run --report FILE` with OPTIONS -- COMMAND; the report's text in `report`.
CommandResult SboxWithReport(const Samples& samples, const std::vector<std::string>& options,
                             const std::vector<std::string>& command, std::string* report) {
  const std::string path = samples.dir().path() + "/report.json";
  unlink(path.c_str());
  std::vector<std::string> all = {"--report", path};
  all.insert(all.end(), options.begin(), options.end());
  const CommandResult r = Sbox(all, command);
  *report = testing::ReadFileOrDie(path);
  return r;
}

TEST(SboxReport, AForgedViolationLineIsAnExitAndARealOneIsAViolation) {
  const Samples samples;
  std::string text;
  CommandResult r = SboxWithReport(samples, {}, {kEscapeProbe, "forge"}, &text);
  EXPECT_EQ(r.exit_code, kRunViolation) << Describe(r);
  EXPECT_TRUE(absl::StartsWith(r.err, "sbox: policy violation: execve (59)")) << r.err;
  std::map<std::string, std::string> report = ReadReport(text);
  EXPECT_EQ(report["outcome"], "\"exited\"");
  EXPECT_EQ(report["exit_code"], "159");
  EXPECT_EQ(report["signal"], "null");
  EXPECT_EQ(report["violation"], "null");
  EXPECT_EQ(report["setup_error"], "null");

  r = SboxWithReport(samples, {}, {kProbe, "socket"}, &text);
  EXPECT_EQ(r.exit_code, kRunViolation) << Describe(r);
  report = ReadReport(text);
  EXPECT_EQ(report["outcome"], "\"violation\"");
  EXPECT_EQ(report["exit_code"], "159");
  EXPECT_EQ(report["signal"], "null");
  const std::optional<std::vector<std::pair<std::string, std::string>>> violation =
      JsonObject::Read(report["violation"]);
  ASSERT_TRUE(violation.has_value()) << text;
  ASSERT_EQ(violation->size(), 9u) << text;
  const std::map<std::string, std::string> call(violation->begin(), violation->end());
  EXPECT_EQ(call.at("syscall"), "\"socket\"");
  EXPECT_EQ(call.at("number"), "41");
  EXPECT_EQ(call.at("arch"), "\"x86_64\"");
  EXPECT_TRUE(absl::StartsWith(call.at("args"), R"(["0x2","0x1","0",)")) << call.at("args");
  EXPECT_EQ(call.at("call"), "\"socket(AF_INET, SOCK_STREAM, 0)\"");
  EXPECT_TRUE(absl::StartsWith(call.at("ip"), "\"0x")) << call.at("ip");
  EXPECT_GT(Number(call.at("thread")), 0);
  EXPECT_TRUE(
      absl::StartsWith(call.at("advice"), "\"group file-redirection via policies/default.policy:"))
      << call.at("advice");
  EXPECT_NE(call.at("advice").find("allows socket only if (arg0 == 1 && arg1 & 15 == 1) || (arg0 "
                                   "== 1 && arg1 & 15 == 5); # socket with these arguments is "
                                   "refused on purpose"),
            std::string::npos)
      << call.at("advice");
  EXPECT_TRUE(call.count("suggested_rule")) << text;
}

TEST(SboxReport, SignalsTimeoutsAndSetupErrors) {
  const Samples samples;
  std::string text;
  CommandResult r = SboxWithReport(samples, {}, {kProbe, "crash"}, &text);
  EXPECT_EQ(r.exit_code, 128 + SIGSEGV) << Describe(r);
  std::map<std::string, std::string> report = ReadReport(text);
  EXPECT_EQ(report["outcome"], "\"signaled\"");
  EXPECT_EQ(report["exit_code"], "139");
  EXPECT_EQ(report["signal"], R"({"number":11,"name":"SIGSEGV"})");
  EXPECT_EQ(report["violation"], "null");

  r = SboxWithReport(samples, {"--timeout", "0.2"}, {kProbe, "sleep", "30"}, &text);
  EXPECT_EQ(r.exit_code, kRunTimedOut) << Describe(r);
  report = ReadReport(text);
  EXPECT_EQ(report["outcome"], "\"timed_out\"");
  EXPECT_EQ(report["exit_code"], "124");
  EXPECT_EQ(report["signal"], "null");
  EXPECT_GE(Number(report["wall_time_ms"]), 200) << text;

  r = SboxWithReport(samples, {}, {"/nonexistent/program"}, &text);
  EXPECT_EQ(r.exit_code, kRunNotFound) << Describe(r);
  ReadReport(text);
  EXPECT_EQ(text,
            "{\"outcome\":\"setup_error\",\"exit_code\":127,\"signal\":null,\"violation\":"
            "null,\"file_denials\":0,\"wall_time_ms\":null,\"rusage\":null,\"landlock\":null,"
            "\"setup_error\":"
            "\"/nonexistent/program: No such file or directory\"}\n");

  r = SboxWithReport(samples, {"--policy", "/nonexistent.policy"}, {kProbe, "exit", "0"}, &text);
  EXPECT_EQ(r.exit_code, kRunSetupFailed) << Describe(r);
  report = ReadReport(text);
  EXPECT_EQ(report["outcome"], "\"setup_error\"");
  EXPECT_EQ(report["exit_code"], "125");
  EXPECT_TRUE(absl::StartsWith(report["setup_error"], "\"run: cannot open '/nonexistent.policy'"))
      << report["setup_error"];
}

TEST(SboxReport, CountsFileDenialsAndUsage) {
  const Samples samples;
  std::string text;
  CommandResult r = SboxWithReport(samples, {"--allow-read", samples.text()},
                                   {kProbe, "read", samples.text()}, &text);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  std::map<std::string, std::string> granted = ReadReport(text);
  r = SboxWithReport(samples, {"--allow-read", samples.text()}, {kProbe, "read", samples.secret()},
                     &text);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  std::map<std::string, std::string> refused = ReadReport(text);
  EXPECT_GE(Number(granted["file_denials"]), 0);
  EXPECT_EQ(Number(refused["file_denials"]), Number(granted["file_denials"]) + 1);
  const std::optional<std::vector<std::pair<std::string, std::string>>> rusage =
      JsonObject::Read(granted["rusage"]);
  ASSERT_TRUE(rusage.has_value()) << granted["rusage"];
  ASSERT_EQ(rusage->size(), 3u) << granted["rusage"];
  EXPECT_EQ((*rusage)[0].first, "user_ms");
  EXPECT_EQ((*rusage)[1].first, "system_ms");
  EXPECT_EQ((*rusage)[2].first, "max_rss_kb");
  EXPECT_GE(Number((*rusage)[0].second), 0);
  EXPECT_GE(Number((*rusage)[1].second), 0);
  EXPECT_GT(Number((*rusage)[2].second), 0);
  EXPECT_GT(Number(granted["wall_time_ms"]), 0);
}

TEST(SboxReport, GoesToAnInheritedDescriptor) {
  const Samples samples;
  const std::string path = samples.dir().path() + "/fd5.json";
  const CommandResult r =
      RunCommand({"/bin/sh", "-c", "exec \"$0\" run --report-fd 5 -- \"$1\" exit 3 5>\"$2\"", kSbox,
                  kProbe, path});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  std::map<std::string, std::string> report = ReadReport(testing::ReadFileOrDie(path));
  EXPECT_EQ(report["outcome"], "\"exited\"");
  EXPECT_EQ(report["exit_code"], "3");
  EXPECT_EQ(Sbox({"--report-fd", "1"}, {kProbe, "exit", "0"}).exit_code, kRunSetupFailed);
  EXPECT_EQ(Sbox({"--report-fd", "77"}, {kProbe, "exit", "0"}).exit_code, kRunSetupFailed);
}

// A report inside what the program may write could be rewritten by it: refused before it runs.
TEST(SboxReport, AReportThePolicyLetsTheProgramWriteIsRefused) {
  const Samples samples;
  const std::string out = samples.dir().MakeDir("out");
  const CommandResult r =
      Sbox({"--allow-write", out, "--report", out + "/report.json"}, {kProbe, "write", out + "/x"});
  EXPECT_EQ(r.exit_code, kRunSetupFailed) << Describe(r);
  EXPECT_TRUE(absl::StrContains(r.err, "lets the program write, create or delete it")) << r.err;
  EXPECT_EQ(access((out + "/x").c_str(), F_OK), -1);  // the program never ran

  // Nor by another name: a symlink to the tree, or a descriptor of a file in it.
  const std::string link = samples.dir().Symlink("link", out);
  EXPECT_EQ(Sbox({"--allow-write", out, "--report", link + "/report.json"}, {kProbe, "exit", "0"})
                .exit_code,
            kRunSetupFailed);
  const CommandResult fd = RunCommand(
      {"/bin/sh", "-c",
       "exec \"$0\" run --allow-write \"$1\" --report-fd 5 -- \"$2\" exit 0 5>\"$1/fd.json\"",
       kSbox, out, kProbe});
  EXPECT_EQ(fd.exit_code, kRunSetupFailed) << Describe(fd);
  EXPECT_TRUE(absl::StrContains(fd.err, "--report-fd 5: the built-in policy lets the program"))
      << fd.err;
}

// `sbox learn` OPTIONS -- COMMAND.
// This process's environment with `extra` ("NAME=value") added.
std::vector<std::string> EnvironmentWith(const std::vector<std::string>& extra) {
  std::vector<std::string> env = extra;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

// `sbox run` OPTIONS -- COMMAND with `env` as sbox's environment.
CommandResult SboxIn(const std::vector<std::string>& env, const std::vector<std::string>& options,
                     const std::vector<std::string>& command) {
  std::vector<std::string> argv = {kSbox, "run"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return RunCommand(argv, "", env);
}

std::vector<std::string> Entries(const std::string& directory) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    names.push_back(entry.path().filename());
  }
  return names;
}

// sort spills to TMPDIR when its buffer is small: under --private-tmp it works, in a directory
// made under sbox's own TMPDIR and gone after the run.
TEST(SboxPrivateTmp, SortSpillsToThePrivateDirectory) {
  const Samples samples;
  std::string lines;
  for (int i = 0; i < 5000; ++i) lines += std::to_string((i * 7919) % 5000) + "\n";
  const std::string input = samples.dir().WriteFile("lines.txt", lines);
  const std::string base = samples.dir().MakeDir("base");
  const CommandResult direct = RunCommand({"/usr/bin/sort", input});
  ASSERT_EQ(direct.exit_code, 0) << Describe(direct);
  CommandResult r =
      SboxIn(EnvironmentWith({"TMPDIR=" + base}), {"--private-tmp", "--allow-read", input},
             {"sort", "--buffer-size=1K", input});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, direct.out);
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(Entries(base).empty());
  // Without it, sort has nowhere to spill.
  r = SboxIn(EnvironmentWith({"TMPDIR=" + base}), {"--allow-read", input},
             {"sort", "--buffer-size=1K", input});
  EXPECT_NE(r.exit_code, 0) << Describe(r);
}

// A program that makes /tmp/NAME and opens it again by that name works on the private
// directory: TMPDIR names it, the real /tmp never sees the file, and the directory is gone.
TEST(SboxPrivateTmp, SlashTmpIsThePrivateDirectory) {
  const Samples samples;
  const std::string base = samples.dir().MakeDir("base");
  const std::string name = absl::StrCat("sbox-run-test-", getpid());
  const std::string script = absl::StrCat(
      "import os\n"
      "open('/tmp/",
      name,
      "', 'w').write('made')\n"
      "os.mkdir('/tmp/d')\n"
      "os.symlink('/tmp/",
      name,
      "', '/tmp/d/link')\n"
      "print(open('/tmp/d/link').read(), os.environ['TMPDIR'].startswith('",
      base, "/sbox-tmp.'), sorted(os.listdir('/tmp')))\n");
  const std::string policy = samples.dir().WriteFile(
      "tmp.policy", absl::StrCat("include \"", Policy("default.policy"), "\"\nprivate-tmp\n"));
  for (const std::vector<std::string>& options :
       {std::vector<std::string>{"--private-tmp", "--allow-read", "/usr"},
        std::vector<std::string>{"--policy", policy, "--allow-read", "/usr"}}) {
    CommandResult r = SboxIn(EnvironmentWith({"TMPDIR=" + base}), options,
                             {"/usr/bin/python3", "-S", "-c", script});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(r.out, absl::StrCat("made True ['d', '", name, "']\n"));
    struct stat st;
    EXPECT_NE(stat(("/tmp/" + name).c_str(), &st), 0);
    EXPECT_TRUE(Entries(base).empty());
  }
  // A path granted beneath the real /tmp keeps its name (sox reading /tmp/work/in.wav and
  // writing beside it): only what no rule names there is the private directory's.
  const std::string real_dir = absl::StrCat("/tmp/sbox-run-test-kept-", getpid());
  ASSERT_EQ(mkdir(real_dir.c_str(), 0700), 0) << strerror(errno);
  const std::string input = real_dir + "/in.txt";
  const std::string output = real_dir + "/out.txt";
  {
    UniqueFd fd(open(input.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(write(fd.get(), "real\n", 5), 5);
  }
  CommandResult r = Sbox({"--private-tmp", "--allow-read", input, "--allow-write", output},
                         {"/usr/bin/cp", input, output});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(testing::ReadFileOrDie(output), "real\n");
  r = Sbox({"--private-tmp", "--allow-read", input}, {"/usr/bin/cat", real_dir + "/other"});
  EXPECT_NE(r.exit_code, 0) << Describe(r);
  unlink(output.c_str());
  unlink(input.c_str());
  rmdir(real_dir.c_str());
}

// The directory goes whatever the outcome: a crash, a timeout.
TEST(SboxPrivateTmp, RemovedWhateverTheOutcome) {
  const Samples samples;
  const std::string base = samples.dir().MakeDir("base");
  const std::vector<std::string> env = EnvironmentWith({"TMPDIR=" + base});
  EXPECT_EQ(SboxIn(env, {"--private-tmp"}, {kProbe, "crash"}).exit_code, 128 + SIGSEGV);
  EXPECT_TRUE(Entries(base).empty());
  EXPECT_EQ(SboxIn(env, {"--private-tmp", "--timeout", "0.3"}, {kProbe, "sleep", "30"}).exit_code,
            kRunTimedOut);
  EXPECT_TRUE(Entries(base).empty());
}

// The program gets the documented variables, not the caller's others.
TEST(SboxEnvironment, OnlyTheDocumentedVariablesUnlessAsked) {
  const std::vector<std::string> env =
      EnvironmentWith({"FOO_SECRET=x", "HOME=/home/someone", "TZ=UTC"});
  CommandResult r = SboxIn(env, {}, {"env"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out.find("FOO_SECRET"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PATH=/usr/local/bin:/usr/bin:/bin\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HOME=/home/someone\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TZ=UTC\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SBOX_BROKER_FD=3\n"), std::string::npos) << r.out;
  r = SboxIn(env, {"--keep-env", "FOO_SECRET", "--setenv", "A=b=c"}, {"env"});
  EXPECT_NE(r.out.find("FOO_SECRET=x\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("A=b=c\n"), std::string::npos) << r.out;
  r = SboxIn(env, {"--keep-env-all"}, {"env"});
  EXPECT_NE(r.out.find("FOO_SECRET=x\n"), std::string::npos) << r.out;
  r = Sbox({"--setenv", "NOEQUALS"}, {"env"});
  EXPECT_EQ(r.exit_code, kRunSetupFailed) << Describe(r);
  EXPECT_TRUE(absl::StartsWith(r.err, "sbox run: --setenv: expected NAME=VALUE")) << r.err;
  // sbox learn runs the program under the same environment.
  r = RunCommand({kSbox, "learn", "--", "/usr/bin/env"}, "", env);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out.find("FOO_SECRET"), std::string::npos) << r.out;
}

// A failed run says which file operations were refused and how to grant them; -v says each as
// it happens.
TEST(SboxDenials, AFailedRunListsWhatWasRefused) {
  const Samples samples;
  CommandResult r = Sbox({}, {"cat", samples.secret()});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_NE(r.err.find(absl::StrCat("open \"", samples.secret(),
                                    "\" O_RDONLY: denied, ENOENT: no rule covers")),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(absl::StrCat("; to grant it: --allow-read ", samples.secret(),
                                    ", or the policy line `file r ", samples.secret(), "`\n")),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(" file operation"), std::string::npos) << r.err;
  // A permission the rule lacks is listed even when the program exits 0.
  r = Sbox({"--allow-read", samples.dir().path()}, {kProbe, "write", samples.text()});
  EXPECT_NE(r.err.find(absl::StrCat("open \"", samples.text(), "\" O_WRONLY")), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("--allow-write " + samples.text()), std::string::npos) << r.err;
  r = Sbox({"-v"}, {"cat", samples.secret()});
  EXPECT_NE(r.err.find(absl::StrCat("sbox: open \"", samples.secret(),
                                    "\" O_RDONLY: denied, ENOENT: no rule covers")),
            std::string::npos)
      << r.err;
}

// A busy loop under --rlimit-cpu ends by SIGXCPU, and a write past --rlimit-fsize by SIGXFSZ;
// sbox says which limit it was.
// node's JIT makes memory executable: the built-in policy refuses it and says which flag
// grants it; with --allow-jit node runs as outside.
TEST(SboxRun, AJitNeedsAllowJitAndTheViolationSaysSo) {
  const std::vector<std::string> node = {"/usr/bin/node", "-e", "console.log(6 * 7)"};
  CommandResult r = Sbox({}, node);
  EXPECT_EQ(r.exit_code, kRunViolation) << Describe(r);
  EXPECT_NE(r.err.find("to allow this call add: allow group executable-memory"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("(sbox run --allow-jit)"), std::string::npos) << r.err;
  r = Sbox({"--allow-jit"}, node);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "42\n");
}

TEST(SboxRun, AShellRunsItsCommandsWithAllowExecAndSaysWhichLandlockConfinedIt) {
  testing::ScratchDir dir;
  const std::string input = dir.WriteFile("in.txt", "a\nb\n");
  const std::vector<std::string> shell = {"/bin/sh", "-c", "sort -r \"$0\" | head -n 1", input};
  CommandResult r = Sbox({"--allow-read", input}, shell);
  EXPECT_EQ(r.exit_code, kRunViolation) << Describe(r);
  EXPECT_NE(r.err.find("allow group processes"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sbox run --allow-exec PATH"), std::string::npos) << r.err;
  r = Sbox({"-v", "--allow-read", input, "--allow-exec", "/usr/bin", "--allow-exec", "/bin"},
           shell);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "b\n");
  EXPECT_NE(r.err.find("sbox: Landlock ABI "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("scoped abstract_unix_socket,signal"), std::string::npos) << r.err;
  // --allow-exec /usr covers the built-in policy's narrower `tree r /usr/lib` too.
  r = Sbox({"--allow-exec", "/usr"}, {"/bin/sh", "-c", "/usr/bin/echo hi"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "hi\n");
}

TEST(SboxRun, FastReadsReadWhatIsGrantedAndNothingElse) {
  testing::ScratchDir dir;
  const std::string input = dir.WriteFile("in.txt", "fast\n");
  const std::string secret = dir.WriteFile("secret.txt", "s3cret\n");
  CommandResult r = Sbox({"--fast-reads", "--allow-read", input}, {"/bin/cat", input});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "fast\n");
  r = Sbox({"--fast-reads", "--allow-read", input}, {"/bin/cat", secret});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  // A path alias and fast reads cannot be combined.
  r = Sbox({"--fast-reads", "--private-tmp"}, {"/bin/true"});
  EXPECT_EQ(r.exit_code, kRunSetupFailed) << Describe(r);
  EXPECT_NE(r.err.find("fast reads cannot be combined with a path alias"), std::string::npos)
      << r.err;
}

// --allow-read /proc/self/... grants the program's own entry, whatever its pid, not sbox's.
TEST(SboxRun, AllowReadOfProcSelfIsTheProgramsOwn) {
  CommandResult r =
      Sbox({"--allow-read", "/proc/self/status"}, {"/usr/bin/head", "-1", "/proc/self/status"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "Name:\thead\n") << Describe(r);
  r = Sbox({"--allow-read", "/proc/self/status"}, {"/usr/bin/head", "-1", "/proc/self/stat"});
  EXPECT_NE(r.exit_code, 0) << Describe(r);
}

TEST(SboxLimits, TheLimitThatEndedTheProgramIsNamed) {
  const Samples samples;
  CommandResult r = Sbox({"--rlimit-cpu", "1", "--allow-read", "/usr", "--timeout", "30"},
                         {"/usr/bin/python3", "-S", "-c", "while True: pass"});
  EXPECT_EQ(r.exit_code, 128 + SIGXCPU) << Describe(r);
  EXPECT_NE(r.err.find("sbox: killed by SIGXCPU: the CPU time limit ran out (--rlimit-cpu 1)\n"),
            std::string::npos)
      << r.err;
  const std::string out = samples.dir().MakeDir("out");
  // tee writes its stdin to the file.
  r = Sbox({"--rlimit-fsize", "4K", "--allow-write", out}, {"tee", out + "/f"},
           std::string(64 << 10, 'x'));
  EXPECT_EQ(r.exit_code, 128 + SIGXFSZ) << Describe(r);
  EXPECT_NE(r.err.find("sbox: killed by SIGXFSZ: a write went past the file size limit "
                       "(--rlimit-fsize 4 KiB)\n"),
            std::string::npos)
      << r.err;
  struct stat st;
  ASSERT_EQ(stat((out + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 4096);
  r = Sbox({"--rlimit-nofile", "0"}, {kProbe, "exit", "0"});
  EXPECT_EQ(r.exit_code, kRunSetupFailed) << Describe(r);
  EXPECT_TRUE(absl::StartsWith(r.err, "sbox run: --rlimit-nofile: expected a positive")) << r.err;
}

CommandResult Learn(const std::vector<std::string>& options,
                    const std::vector<std::string>& command) {
  std::vector<std::string> argv = {kSbox, "learn"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return RunCommand(argv);
}

// One learning run of a real program gives a policy under which the same run passes at once,
// with the same output, and which lints clean.
TEST_P(RealProgram, LearnsAPolicyTheSameRunPassesUnder) {
  const Samples samples;
  const ProgramCase& c = GetParam();
  const std::vector<std::string> command = c.command(samples);
  const CommandResult bare = RunCommand(command);
  const std::string policy = samples.dir().path() + "/learned.policy";
  const CommandResult learned = Learn({"--out", policy}, command);
  ASSERT_EQ(learned.exit_code, 0) << Describe(learned);
  EXPECT_EQ(learned.out, bare.out);  // the learning run is the program's own run
  const CommandResult boxed = Sbox({"--policy", policy}, command);
  EXPECT_EQ(boxed.exit_code, 0) << Describe(boxed) << "\n" << testing::ReadFileOrDie(policy);
  EXPECT_EQ(boxed.out, bare.out);
  const CommandResult lint = RunCommand({kSbox, "audit", "--lint", policy});
  EXPECT_EQ(lint.exit_code, 0) << Describe(lint);
}

// What a learned policy was not shown stays refused: another file, a socket, an exec.
TEST(SboxLearn, WhatTheRunDidNotDoStaysRefused) {
  const Samples samples;
  const std::string policy = samples.dir().path() + "/probe.policy";
  const CommandResult learned = Learn({"--out", policy}, {kProbe, "read", samples.text()});
  ASSERT_EQ(learned.exit_code, 0) << Describe(learned);
  CommandResult r = Sbox({"--policy", policy}, {kProbe, "read", samples.text()});
  EXPECT_EQ(r.exit_code, 0) << Describe(r) << testing::ReadFileOrDie(policy);
  EXPECT_EQ(r.out, testing::ReadFileOrDie(samples.text()));
  r = Sbox({"--policy", policy}, {kProbe, "read", samples.secret()});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.out, samples.secret() + ": No such file or directory\n");
  r = Sbox({"--policy", policy}, {kProbe, "socket"});
  EXPECT_EQ(r.exit_code, kRunViolation) << Describe(r);
  // The network is outside the sandbox: the advice says so and suggests no rule.
  EXPECT_NE(r.err.find(absl::StrCat("group file-redirection via ", policy, ":")), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("allows socket only if (arg0 == 1 && arg1 & 15 == 1) || (arg0 == 1 && "
                       "arg1 & 15 == 5); # socket with these arguments is refused on purpose: "
                       "any family but AF_UNIX reaches the network"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("to allow this call add"), std::string::npos) << r.err;
  r = Sbox({"--policy", policy}, {kProbe, "exec", "/bin/true"});
  EXPECT_EQ(r.exit_code, kRunViolation) << Describe(r);
}

// A real program's learned policy passes its run and still refuses what the run did not do:
// xmllint asked to fetch a URL opens an AF_INET socket, a reported violation.
TEST(SboxLearn, ARealProgramsLearnedPolicyStillRefusesASocket) {
  const Samples samples;
  const std::string policy = samples.dir().path() + "/xmllint.policy";
  ASSERT_EQ(Learn({"--out", policy}, {"/usr/bin/xmllint", "--noout", samples.xml()}).exit_code, 0);
  CommandResult r = Sbox({"--policy", policy}, {"/usr/bin/xmllint", "--noout", samples.xml()});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  r = Sbox({"--policy", policy}, {"/usr/bin/xmllint", "--noout", "http://127.0.0.1:9/x.xml"});
  EXPECT_EQ(r.exit_code, kRunViolation) << Describe(r);
  EXPECT_TRUE(
      absl::StartsWith(r.err, "sbox: policy violation: socket (41) on x86_64: socket(AF_INET"))
      << r.err;
  EXPECT_NE(r.err.find(absl::StrCat("group file-redirection via ", policy, ":")), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("# socket with these arguments is refused on purpose"), std::string::npos)
      << r.err;
}

TEST(SboxLearn, WritesToStdoutAndReportsItsOwnErrors) {
  const Samples samples;
  CommandResult r = Learn({}, {kProbe, "exit", "3"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);  // the program's status, and the policy
  EXPECT_TRUE(absl::StartsWith(r.out,
                               "# Learned by `sbox learn` from one run of: "
                               "tests/run_probe exit 3\n"))
      << r.out;
  r = Learn({"--out", "/nonexistent/dir/p.policy"}, {kProbe, "exit", "0"});
  EXPECT_EQ(r.exit_code, kRunSetupFailed) << Describe(r);
  EXPECT_EQ(r.err, "sbox: learn: --out /nonexistent/dir/p.policy: No such file or directory\n");
  r = Learn({"--policy", "x"}, {kProbe, "exit", "0"});
  EXPECT_EQ(r.exit_code, kRunSetupFailed) << Describe(r);
  EXPECT_TRUE(absl::StartsWith(r.err, "sbox learn: unknown option '--policy'")) << r.err;
  EXPECT_EQ(RunCommand({kSbox, "learn", "--help"}).exit_code, 0);
}

}  // namespace
}  // namespace sbox
