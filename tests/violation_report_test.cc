// What a violation report says about the call: the decoded arguments (strings read from the
// sandboxee while it is blocked) and the suggested policy line.

#include <fcntl.h>
#include <linux/audit.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "absl/strings/match.h"
#include "broker/open_flags.h"
#include "broker/policy_text.h"
#include "broker/syscall_decoder.h"
#include "broker/syscall_reach.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "proto/errno_name.h"
#include "proto/file_syscalls.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using testing::MakeLauncher;

absl::StatusOr<SandboxResult> RunBody(const std::function<int()>& body) {
  Launcher launcher = MakeLauncher(FilePolicy::Builder());
  return launcher.Run([&](UniqueFd) { return body(); });
}

// A reported violation, or a test failure.
SyscallViolation Violation(const absl::StatusOr<SandboxResult>& result) {
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return {};
  EXPECT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
  EXPECT_TRUE(result->violation.has_value());
  return result->violation.value_or(SyscallViolation());
}

SyscallViolation Made(const std::string& name, std::initializer_list<uint64_t> args) {
  SyscallViolation violation;
  violation.syscall_name = name;
  violation.arch = AUDIT_ARCH_X86_64;
  int i = 0;
  for (uint64_t arg : args) violation.args[i++] = arg;
  return violation;
}

// A reader that finds `text` at any address.
StringReader Returns(std::string text, bool truncated = false) {
  return [=](uint64_t) { return std::optional<RemoteString>(RemoteString{text, truncated}); };
}

// The suggestion, when it is a rule, must be a line the policy parser accepts.
void ExpectParses(const std::string& line) {
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyText(line + "\n", "suggestion");
  EXPECT_TRUE(parsed.ok()) << line << ": " << parsed.status();
}

TEST(ViolationReport, OpenatShowsThePathAndFlagsAndPointsAtTheBroker) {
  const SyscallViolation v = Violation(RunBody(
      [] { return static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY)); }));
  EXPECT_EQ(v.call, "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY)");
  EXPECT_TRUE(absl::StartsWith(v.suggested_rule, "allow group file-redirection  # openat names"))
      << v.suggested_rule;
  const std::string text = v.ToString();
  EXPECT_TRUE(absl::StartsWith(text, "openat (257) on x86_64: openat(AT_FDCWD, \"/etc/passwd\""))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "; suggestion: allow group file-redirection")) << text;
}

// The network is outside the sandbox: no rule is suggested for it.
TEST(ViolationReport, SocketIsDecodedAndANetworkSocketIsNeverSuggested) {
  SyscallViolation v = Violation(RunBody([] { return socket(AF_INET, SOCK_STREAM, 0); }));
  EXPECT_EQ(v.call, "socket(AF_INET, SOCK_STREAM, 0)");
  EXPECT_EQ(v.suggested_rule,
            "# socket with these arguments is refused on purpose: any family but AF_UNIX reaches "
            "the network or kernel interfaces (netlink); an AF_UNIX datagram socket sends to any "
            "socket by name with sendmsg, which every policy allows (the broker channel)");
  v = Violation(RunBody([] { return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); }));
  EXPECT_EQ(v.suggested_rule,
            "allow socket if arg0 == AF_UNIX && arg1 == SOCK_STREAM|SOCK_CLOEXEC");
  ExpectParses(v.suggested_rule);
}

TEST(ViolationReport, ExecutableMmapShowsTheProtection) {
  const SyscallViolation v = Violation(RunBody([] {
    void* page =
        mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return page == MAP_FAILED ? 1 : 0;
  }));
  EXPECT_EQ(v.call,
            "mmap(NULL, 4096, PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)");
  EXPECT_EQ(v.suggested_rule,
            "allow group executable-memory  # what a JIT compiler (node, java) needs; it "
            "reaches nothing outside but makes a bug easier to exploit (sbox run --allow-jit)");
}

TEST(ViolationReport, LongPathIsCutAndMarked) {
  const std::string path = "/" + std::string(400, 'a');
  const SyscallViolation v = Violation(RunBody(
      [&] { return static_cast<int>(syscall(SYS_openat, AT_FDCWD, path.c_str(), O_RDONLY)); }));
  const std::string expected =
      "openat(AT_FDCWD, \"" + path.substr(0, kMaxRemoteString) + "\"…, O_RDONLY)";
  EXPECT_EQ(v.call, expected);
}

TEST(ViolationReport, UnreadablePointerIsShownInHex) {
  const SyscallViolation v = Violation(RunBody([] {
    return static_cast<int>(
        syscall(SYS_openat, AT_FDCWD, reinterpret_cast<const char*>(1), O_RDONLY));
  }));
  EXPECT_EQ(v.call, "openat(AT_FDCWD, 0x1, O_RDONLY)");
}

TEST(ViolationReport, PathEndingAtAnUnmappedPageIsReadUpToIt) {
  // The string's NUL is the last byte of a page followed by an unmapped page: a read of the
  // full limit in one piece would fail.
  const SyscallViolation v = Violation(RunBody([] {
    const long page = sysconf(_SC_PAGESIZE);
    char* pages = static_cast<char*>(
        mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (pages == MAP_FAILED || munmap(pages + page, page) != 0) return 1;
    char* path = pages + page - 5;
    memcpy(path, "/tmp", 5);
    return static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, O_RDONLY));
  }));
  EXPECT_EQ(v.call, "openat(AT_FDCWD, \"/tmp\", O_RDONLY)");
}

TEST(SyscallDecoder, OpenFlagsAndModeOnlyWhenCreating) {
  EXPECT_EQ(DecodeCall(Made("openat",
                            {static_cast<uint64_t>(AT_FDCWD), 0x1000, O_RDONLY | O_CLOEXEC, 0777}),
                       Returns("/etc/passwd")),
            "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC)");
  EXPECT_EQ(
      DecodeCall(Made("openat", {3, 0x1000, O_WRONLY | O_CREAT | O_TRUNC, 0644}), Returns("out")),
      "openat(3, \"out\", " + OpenFlagsToString(O_WRONLY | O_CREAT | O_TRUNC) + ", 0644)");
  EXPECT_EQ(DecodeCall(Made("open", {0x1000, O_RDWR}), Returns("x")), "open(\"x\", O_RDWR)");
}

TEST(SyscallDecoder, StringsAreEscapedAndPointersShownWithoutAReader) {
  EXPECT_EQ(DecodeCall(Made("unlink", {0x1000}), Returns("a\"b\n\x01")),
            "unlink(\"a\\\"b\\n\\x01\")");
  EXPECT_EQ(DecodeCall(Made("unlink", {0x1000}), Returns("abc", true)), "unlink(\"abc\"…)");
  EXPECT_EQ(DecodeCall(Made("rename", {0x7ffc0000, 0}), nullptr), "rename(0x7ffc0000, NULL)");
}

TEST(SyscallDecoder, FlagsAndConstants) {
  EXPECT_EQ(DecodeCall(Made("socket", {AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0}),
                       nullptr),
            "socket(AF_UNIX, SOCK_SEQPACKET|SOCK_NONBLOCK|SOCK_CLOEXEC, 0)");
  EXPECT_EQ(DecodeCall(Made("mprotect", {0x7f0000000000, 8192, PROT_NONE}), nullptr),
            "mprotect(0x7f0000000000, 8192, PROT_NONE)");
  EXPECT_EQ(DecodeCall(Made("mmap", {0, 4096, PROT_READ, MAP_SHARED | 0x40000000, 5, 0}), nullptr),
            "mmap(NULL, 4096, PROT_READ, MAP_SHARED|0x40000000, 5, 0)");
  EXPECT_EQ(DecodeCall(Made("kill", {1234, SIGKILL}), nullptr), "kill(1234, SIGKILL)");
  EXPECT_EQ(DecodeCall(Made("tgkill", {10, 11, 200}), nullptr), "tgkill(10, 11, 200)");
  EXPECT_EQ(DecodeCall(Made("clone", {CLONE_VM | CLONE_FS | CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0}),
                       nullptr),
            "clone(CLONE_VM|CLONE_FS|CLONE_NEWUSER|SIGCHLD, NULL, NULL, NULL, 0)");
  EXPECT_EQ(DecodeCall(Made("ioctl", {1, 0x5401, 0x7ffc0000}), nullptr),
            "ioctl(1, 0x5401, 0x7ffc0000)");
  EXPECT_EQ(DecodeCall(Made("ptrace", {16, 99, 0, 0}), nullptr),
            "ptrace(PTRACE_ATTACH, 99, NULL, NULL)");
  EXPECT_EQ(DecodeCall(Made("prctl", {38, 1, 0, 0, 0}), nullptr),
            "prctl(PR_SET_NO_NEW_PRIVS, 0x1, 0, 0, 0)");
}

TEST(SyscallDecoder, UnknownSyscallsShowNumbers) {
  EXPECT_EQ(DecodeCall(Made("syscall_999", {1, 0xdeadbeef, 0, 0, 0, 0}), nullptr),
            "syscall_999(1, 0xdeadbeef, 0, 0, 0, 0)");
  SyscallViolation other_arch = Made("openat", {1, 2, 3});
  other_arch.arch = AUDIT_ARCH_I386;
  EXPECT_EQ(DecodeCall(other_arch, Returns("x")), "openat(1, 2, 3, 0, 0, 0)");
}

TEST(SyscallDecoder, Suggestions) {
  EXPECT_EQ(SuggestRule(Made("openat", {})),
            "allow group file-redirection  # openat names a file: the broker performs it under "
            "the file rules (or call BrokerClient)");
  EXPECT_TRUE(absl::StartsWith(SuggestRule(Made("execve", {})),
                               "# execve needs an x grant on the program"));
  EXPECT_TRUE(absl::StartsWith(SuggestRule(Made("clone", {SIGCHLD})), "allow group processes"));
  EXPECT_TRUE(absl::StartsWith(SuggestRule(Made("fork", {})), "allow group processes"));
  EXPECT_EQ(SuggestRule(Made("mprotect", {0, 4096, PROT_READ | PROT_EXEC})),
            "allow group executable-memory  # what a JIT compiler (node, java) needs; it "
            "reaches nothing outside but makes a bug easier to exploit (sbox run --allow-jit)");
  EXPECT_EQ(SuggestRule(Made("mprotect", {0, 4096, PROT_READ})), "allow mprotect");
  EXPECT_EQ(SuggestRule(Made("getppid", {})), "allow getppid");
  // Never an allowance that reaches outside the sandbox (broker/syscall_reach.h)...
  EXPECT_TRUE(absl::StartsWith(SuggestRule(Made("ptrace", {})),
                               "# ptrace with these arguments is refused on purpose: acts on "
                               "another process"));
  EXPECT_TRUE(absl::StartsWith(SuggestRule(Made("socket", {AF_INET6, SOCK_DGRAM, 0})),
                               "# socket with these arguments is refused on purpose"));
  EXPECT_TRUE(absl::StartsWith(SuggestRule(Made("fcntl", {3, F_SETOWN, 1})),
                               "# fcntl with these arguments is refused on purpose: F_SETOWN"));
  EXPECT_TRUE(absl::StartsWith(SuggestRule(Made("prlimit64", {1, RLIMIT_NOFILE, 0, 0})),
                               "# prlimit64 with these arguments is refused on purpose"));
  // ...and for a call that reaches out only under other arguments, the arguments it used.
  EXPECT_EQ(SuggestRule(Made("fcntl", {3, F_GETFD})), "allow fcntl if arg1 == 1");
  EXPECT_EQ(SuggestRule(Made("prlimit64", {0, RLIMIT_NOFILE, 0, 0})),
            "allow prlimit64 if arg0 == 0");
  EXPECT_EQ(SuggestRule(Made("socket", {AF_UNIX, SOCK_STREAM, 0})),
            "allow socket if arg0 == AF_UNIX && arg1 == SOCK_STREAM");
  EXPECT_TRUE(absl::StartsWith(SuggestRule(Made("socket", {AF_UNIX, SOCK_DGRAM, 0})),
                               "# socket with these arguments is refused on purpose"));
  ExpectParses(SuggestRule(Made("mprotect", {0, 4096, PROT_READ})));
  ExpectParses(SuggestRule(Made("fcntl", {3, F_GETFD})));
  ExpectParses(SuggestRule(Made("socket", {AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0})));
}

// For every syscall with a reach (broker/syscall_reach.h) and argument words that fall inside
// and outside its conditions, the suggestion is a comment or a rule that parses and leaves no
// reach open: the advice never suggests an allowance that reaches outside the sandbox.
// The advice for a call that names a file is the group that brings it to the broker, never an
// allow of the call (which would not load).
TEST(SyscallDecoder, NoSuggestionAllowsAPathTakingCall) {
  for (const proto::FileSyscall& call : proto::kFileSyscalls) {
    const std::string rule = SuggestRule(Made(call.name, {1, 2, 3, 4, 5, 6}));
    EXPECT_TRUE(absl::StartsWith(rule, "allow group file-redirection  # ")) << rule;
    EXPECT_NE(rule.find(call.refused_with == 0 ? "names a file" : ErrnoName(call.refused_with)),
              std::string::npos)
        << rule;
  }
}

TEST(SyscallDecoder, NoSuggestionReachesOutside) {
  std::vector<std::vector<uint64_t>> samples = {
      {0, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1}, {~uint64_t{0}, 8, 0x2000, 0, 1, 0}};
  for (const SyscallReach& row : ReachTable()) {
    for (const std::vector<ArgCondition>& inside : row.inside) {
      std::vector<uint64_t> args(6, 0);
      for (const ArgCondition& c : inside) {
        args[c.index] = c.compare == ArgCondition::Compare::kIn ? c.values.back() : c.value;
      }
      samples.push_back(args);
    }
  }
  int rules = 0;
  for (const SyscallReach& row : ReachTable()) {
    for (const std::vector<uint64_t>& args : samples) {
      SyscallViolation v = Made(row.name, {});
      for (int i = 0; i < 6; ++i) v.args[i] = args[i];
      const std::string suggestion = SuggestRule(v);
      if (absl::StartsWith(suggestion, "#")) continue;
      ++rules;
      absl::StatusOr<ParsedPolicy> parsed = ParsePolicyText(suggestion + "\n", "suggestion");
      ASSERT_TRUE(parsed.ok()) << suggestion << ": " << parsed.status();
      ASSERT_EQ(parsed->rules.size(), 1u);
      EXPECT_EQ(OutsideReach(row.name, parsed->rules[0].all_of), "") << suggestion;
    }
  }
  EXPECT_GT(rules, 20);  // the samples reach the inside forms, not only the refusals
}

TEST(SyscallDecoder, ToStringKeepsTheRawWordsAndAddsTheDecoding) {
  SyscallViolation v = Made("kill", {1234, SIGKILL});
  v.syscall_number = SYS_kill;
  DecodeViolation(&v, nullptr);
  EXPECT_EQ(v.ToString(),
            "kill (62) on x86_64: kill(1234, SIGKILL), args (0x4d2, 0x9, 0, 0, 0, 0), ip 0, "
            "thread 0; suggestion: # kill with these arguments is refused on purpose: sends a "
            "signal to any process of the sandboxee's uid (0 and -1: its process group, every "
            "process)");
}

}  // namespace
}  // namespace sbox
