// The policy text format: every construct, every error, includes, the canonical round trip,
// the fuzz entry point on seeds and mutations, and the meaning of `allow ... if` in the kernel.

#include "broker/policy_text.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "tests/sandbox_fixture.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace sbox {
namespace {

using testing::ScratchDir;
using testing::SharedInts;

ParsedPolicy ParseOrDie(const std::string& text) {
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyText(text, "t.policy");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *std::move(parsed) : ParsedPolicy();
}

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyText(text, "t.policy");
  EXPECT_FALSE(parsed.ok()) << text;
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

// ---- Constructs ----------------------------------------------------------------------------

TEST(PolicyText, EveryConstructParses) {
  const ParsedPolicy p = ParseOrDie(
      "# a comment line\n"
      "\n"
      "   default errno EPERM   # trailing comment\n"
      "allow read\n"
      "allow getppid if arg0 == 1 && arg1 != 2 && arg2 < 3 && arg3 <= 4 && arg4 > 5 && arg5 >= 6\n"
      "allow mmap if arg2 & PROT_EXEC == 0\n"
      "allow dup3 if arg2 in {O_RDONLY|O_CLOEXEC, 0x80000, 1}\n"
      "allow group memory-without-exec\n"
      "errno ENOTTY ioctl\n"
      "errno 4094 chdir\n"
      "trap kill\n"
      "file rw /etc/passwd\n"
      "tree rwcdsx /data\n"
      "temporary /tmp\n"
      "deny \"/data/a secret\"\n"
      "create-modes 0640 0750 justify \"group readable\"\n");
  ASSERT_EQ(p.rules.size(), 14u);
  using K = PolicyRule::Kind;
  EXPECT_EQ(p.rules[0].kind, K::kDefault);
  EXPECT_EQ(p.rules[0].default_action.kind, DefaultAction::kErrno);
  EXPECT_EQ(p.rules[0].default_action.error, EPERM);
  EXPECT_EQ(p.rules[0].file, "t.policy");
  EXPECT_EQ(p.rules[0].line, 3);
  EXPECT_EQ(p.rules[1].kind, K::kAllow);
  EXPECT_EQ(p.rules[1].name, "read");
  EXPECT_TRUE(p.rules[1].all_of.empty());
  ASSERT_EQ(p.rules[2].all_of.size(), 6u);
  const ArgCondition::Compare expected[] = {ArgCondition::Compare::kEq, ArgCondition::Compare::kNe,
                                            ArgCondition::Compare::kLt, ArgCondition::Compare::kLe,
                                            ArgCondition::Compare::kGt, ArgCondition::Compare::kGe};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(p.rules[2].all_of[i].index, i);
    EXPECT_EQ(p.rules[2].all_of[i].compare, expected[i]);
    EXPECT_EQ(p.rules[2].all_of[i].value, static_cast<uint64_t>(i + 1));
  }
  ASSERT_EQ(p.rules[3].all_of.size(), 1u);
  EXPECT_EQ(p.rules[3].all_of[0].compare, ArgCondition::Compare::kMaskedEq);
  EXPECT_EQ(p.rules[3].all_of[0].mask, static_cast<uint64_t>(PROT_EXEC));
  EXPECT_EQ(p.rules[3].all_of[0].value, 0u);
  ASSERT_EQ(p.rules[4].all_of.size(), 1u);
  EXPECT_EQ(p.rules[4].all_of[0].values, (std::vector<uint64_t>{O_CLOEXEC, 0x80000, 1}));
  EXPECT_EQ(p.rules[5].kind, K::kAllowGroup);
  EXPECT_EQ(p.rules[5].group, SyscallGroup::kMemoryWithoutExec);
  EXPECT_EQ(p.rules[6].kind, K::kErrno);
  EXPECT_EQ(p.rules[6].error, ENOTTY);
  EXPECT_EQ(p.rules[6].name, "ioctl");
  EXPECT_EQ(p.rules[7].error, 4094);
  EXPECT_EQ(p.rules[8].kind, K::kTrap);
  EXPECT_EQ(p.rules[9].kind, K::kFile);
  EXPECT_EQ(p.rules[9].permissions, kRead | kWrite);
  EXPECT_EQ(p.rules[10].kind, K::kTree);
  EXPECT_EQ(p.rules[10].permissions, kAllPermissions);
  EXPECT_EQ(p.rules[11].kind, K::kTemporary);
  EXPECT_EQ(p.rules[12].kind, K::kDeny);
  EXPECT_EQ(p.rules[12].name, "/data/a secret");
  EXPECT_EQ(p.rules[13].kind, K::kCreateModes);
  EXPECT_EQ(p.rules[13].file_mode, 0640u);
  EXPECT_EQ(p.rules[13].directory_mode, 0750u);
  EXPECT_EQ(p.rules[13].justification, "group readable");
  EXPECT_EQ(p.rules[13].line, 16);
  EXPECT_TRUE(p.syscalls.Build().ok()) << p.syscalls.Build().status();
}

// A syscall that names a file parses like any other, but is never allowed straight through: the
// syscall half of the policy refuses to build with it.
TEST(PolicyText, AllowOfAFileSyscallParsesButDoesNotBuild) {
  const ParsedPolicy p = ParseOrDie("allow openat if arg2 in {O_RDONLY|O_CLOEXEC}\n");
  ASSERT_EQ(p.rules.size(), 1u);
  const auto built = p.syscalls.Build();
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(built.status().message(),
                               "syscall openat names a file: it is never allowed straight through"))
      << built.status();
}

TEST(PolicyText, DenyPathMayBeQuoted) {
  const ParsedPolicy p = ParseOrDie("deny \"/data/a \\\"secret\\\" \\\\ # x\"\n");
  ASSERT_EQ(p.rules.size(), 1u);
  EXPECT_EQ(p.rules[0].name, "/data/a \"secret\" \\ # x");
  EXPECT_EQ(FormatPolicy(p), "deny \"/data/a \\\"secret\\\" \\\\ # x\"\n");
}

// A deny may name its errno; paths no rule covers answer ENOENT unless the policy says EACCES.
TEST(PolicyText, DenyErrnoAndUncoveredPaths) {
  const ParsedPolicy p = ParseOrDie(
      "tree r /usr\n"
      "deny /usr/share errno ENOENT\n"
      "deny /usr/lib\n"
      "uncovered-paths EACCES\n");
  ASSERT_EQ(p.rules.size(), 4u);
  EXPECT_EQ(p.rules[1].kind, PolicyRule::Kind::kDeny);
  EXPECT_EQ(p.rules[1].error, ENOENT);
  EXPECT_EQ(p.rules[2].error, 0);
  EXPECT_EQ(p.rules[3].kind, PolicyRule::Kind::kUncoveredPaths);
  EXPECT_EQ(p.rules[3].error, EACCES);
  EXPECT_EQ(FormatPolicy(p),
            "tree r /usr\ndeny /usr/share errno ENOENT\ndeny /usr/lib\nuncovered-paths EACCES\n");
  absl::StatusOr<FilePolicy> files = p.files.Build();
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->uncovered_errno(), EACCES);
  EXPECT_EQ(files->RefusalErrno(files->Find("/usr/share/doc")), ENOENT);
  EXPECT_EQ(files->RefusalErrno(files->Find("/usr/lib/x")), EACCES);
  EXPECT_EQ(files->RefusalErrno(files->Find("/etc/passwd")), EACCES);
  EXPECT_EQ(files->Find("/usr/share/doc").rule->source, "t.policy:2");

  EXPECT_EQ(ParseOrDie("tree r /usr\n").files.Build()->uncovered_errno(), ENOENT);
  // Only ENOENT and EACCES mean "absent" or "forbidden".
  EXPECT_FALSE(ParseOrDie("uncovered-paths EPERM\n").files.Build().ok());
}

TEST(PolicyText, EveryGroupNameAndDefault) {
  for (const char* group : {"basic-io", "memory-without-exec", "time", "signals", "threads", "exit",
                            "identity", "random", "broker-channel"}) {
    const ParsedPolicy p = ParseOrDie(absl::StrCat("allow group ", group));
    ASSERT_EQ(p.rules.size(), 1u);
    EXPECT_EQ(FormatRule(p.rules[0]), absl::StrCat("allow group ", group));
  }
  for (const char* action : {"kill-and-report", "kill-process", "trap", "errno EXDEV"}) {
    const ParsedPolicy p = ParseOrDie(absl::StrCat("default ", action));
    ASSERT_EQ(p.rules.size(), 1u);
    EXPECT_EQ(FormatRule(p.rules[0]), absl::StrCat("default ", action));
  }
}

TEST(PolicyText, BuildersMatchTheEquivalentCode) {
  const ParsedPolicy p = ParseOrDie(
      "default errno EPERM\n"
      "allow group threads\n"
      "allow getppid if arg0 in {1, 2} && arg1 & 0xff == 1\n"
      "errno ENOTTY ioctl\n"
      "trap kill\n");
  SyscallPolicy::Builder code;
  code.SetDefaultAction(DefaultAction::Errno(EPERM))
      .AllowGroup(SyscallGroup::kThreads)
      .Allow("getppid", {Arg(0).In({1, 2}), Arg(1).MaskedEq(0xff, 1)})
      .ReturnErrno("ioctl", ENOTTY)
      .Trap("kill");
  absl::StatusOr<SyscallPolicy> from_text = p.syscalls.Build();
  absl::StatusOr<SyscallPolicy> from_code = code.Build();
  ASSERT_TRUE(from_text.ok()) << from_text.status();
  ASSERT_TRUE(from_code.ok()) << from_code.status();
  ASSERT_EQ(from_text->program().size(), from_code->program().size());
  for (size_t i = 0; i < from_code->program().size(); ++i) {
    EXPECT_EQ(from_text->program()[i].code, from_code->program()[i].code) << i;
    EXPECT_EQ(from_text->program()[i].k, from_code->program()[i].k) << i;
    EXPECT_EQ(from_text->program()[i].jt, from_code->program()[i].jt) << i;
    EXPECT_EQ(from_text->program()[i].jf, from_code->program()[i].jf) << i;
  }
}

TEST(PolicyText, FileRulesReachTheFileBuilder) {
  ScratchDir dir;
  const std::string sub = dir.MakeDir("sub");
  const std::string file = dir.WriteFile("f", "x");
  const ParsedPolicy p = ParseOrDie(absl::StrCat("file r ", file, "\ntree rw ", sub, "\ndeny ", sub,
                                                 "/secret\ncreate-modes 0640 0750\n"));
  absl::StatusOr<FilePolicy> files = p.files.Build();
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->rules().size(), 3u);
  EXPECT_EQ(files->rules()[0].ToString(), absl::StrCat("allow r file ", file));
  EXPECT_EQ(files->rules()[1].ToString(), absl::StrCat("allow rw tree ", sub));
  EXPECT_EQ(files->file_mode(), 0640u);
  EXPECT_EQ(files->directory_mode(), 0750u);
}

// ---- Round trip ------------------------------------------------------------------------------

constexpr char kSample[] =
    "# A parser's policy.\n"
    "default kill-and-report\n"
    "allow group basic-io\n"
    "allow group memory-without-exec\n"
    "allow group time\n"
    "allow group signals\n"
    "allow group threads\n"
    "allow group exit\n"
    "allow group identity\n"
    "allow group random\n"
    "allow group broker-channel\n"
    "allow socket if arg0 == AF_UNIX && arg1 & SOCK_STREAM|SOCK_DGRAM == SOCK_STREAM\n"
    "allow socket if arg0 == AF_INET   justify \"metrics \\\"push\\\"\"\n"
    "allow eventfd2 if arg1 in {SEEK_SET, SEEK_CUR, 0x100000000}\n"
    "allow prctl if arg0 != F_SETFL && arg1 < 4096 && arg2 > 0 && arg3 >= 1 && arg4 <= 1030\n"
    "errno ENOSYS newfstatat\n"
    "errno 4094 statx\n"
    "trap kill justify \"should never run\"\n"
    "file r /etc/passwd\n"
    "file rwcds \"/run/with space\"\n"
    "tree rw /data\n"
    "temporary /tmp\n"
    "deny /data/secret\n"
    "create-modes 0600 0700\n";

constexpr char kSampleCanonical[] =
    "default kill-and-report\n"
    "allow group basic-io\n"
    "allow group memory-without-exec\n"
    "allow group time\n"
    "allow group signals\n"
    "allow group threads\n"
    "allow group exit\n"
    "allow group identity\n"
    "allow group random\n"
    "allow group broker-channel\n"
    "allow socket if arg0 == AF_UNIX && arg1 & SOCK_STREAM|SOCK_DGRAM == SOCK_STREAM\n"
    "allow socket if arg0 == AF_INET justify \"metrics \\\"push\\\"\"\n"
    "allow eventfd2 if arg1 in {SEEK_SET, SEEK_CUR, 0x100000000}\n"
    "allow prctl if arg0 != F_SETFL && arg1 < 0x1000 && arg2 > 0 && arg3 >= 1 && arg4 <= 1030\n"
    "errno ENOSYS newfstatat\n"
    "errno 4094 statx\n"
    "trap kill justify \"should never run\"\n"
    "file r /etc/passwd\n"
    "file rwcds \"/run/with space\"\n"
    "tree rw /data\n"
    "temporary /tmp\n"
    "deny /data/secret\n"
    "create-modes 0600 0700\n";

TEST(PolicyText, ValuesKeepTheirNamesAndNumbersBecomeCanonical) {
  ParsedPolicy p = ParseOrDie("allow openat if arg2 == O_RDONLY | 0X1F && arg1 in {4096,7}\n");
  EXPECT_EQ(FormatPolicy(p), "allow openat if arg2 == O_RDONLY|31 && arg1 in {0x1000, 7}\n");
  // A rule made in code has no spelling: its numbers print.
  p.rules[0].spelled.clear();
  EXPECT_EQ(FormatPolicy(p), "allow openat if arg2 == 31 && arg1 in {0x1000, 7}\n");
}

TEST(PolicyText, SampleFormatsCanonicallyAndIsAFixedPoint) {
  const ParsedPolicy p = ParseOrDie(kSample);
  const std::string canonical = FormatPolicy(p);
  EXPECT_EQ(canonical, kSampleCanonical);
  const ParsedPolicy again = ParseOrDie(canonical);
  EXPECT_EQ(FormatPolicy(again), canonical);
  EXPECT_EQ(again.rules[11].justification, "metrics \"push\"");
  EXPECT_TRUE(p.syscalls.Build().ok()) << p.syscalls.Build().status();
}

// The seed file has every construct; tests run in the workspace's runfiles directory.
TEST(PolicyText, SeedFileRoundTrips) {
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyFile("broker/testdata/policy_seeds/full.policy");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->rules.size(), 21u);
  EXPECT_EQ(parsed->rules[11].justification, "event loop");
  EXPECT_EQ(parsed->rules[11].file, "broker/testdata/policy_seeds/full.policy");
  EXPECT_EQ(parsed->rules[11].line, 13);
  const std::string canonical = FormatPolicy(*parsed);
  EXPECT_EQ(FormatPolicy(ParseOrDie(canonical)), canonical);
  EXPECT_TRUE(parsed->syscalls.Build().ok()) << parsed->syscalls.Build().status();
}

// ---- Errors ----------------------------------------------------------------------------------

TEST(PolicyTextErrors, ExactMessages) {
  EXPECT_EQ(ErrorOf("allow read\nalow write\n"),
            "t.policy:2:1: expected a rule (allow, errno, trap, default, file, tree, temporary, "
            "deny, create-modes, uncovered-paths, private-tmp or include), found 'alow'");
  EXPECT_EQ(ErrorOf("allow no_such_call"),
            "t.policy:1:7: expected a syscall name known to libseccomp, found 'no_such_call'");
  EXPECT_EQ(ErrorOf("allow ioctl if arg1 == TCGETZ"),
            "t.policy:1:24: expected a known constant (see broker/POLICY_FORMAT.md), found "
            "'TCGETZ'");
  EXPECT_EQ(ErrorOf("allow read if arg0 =! 1"),
            "t.policy:1:20: expected a comparison (==, !=, <, <=, >, >=, & or in), found '=!'");
  EXPECT_EQ(ErrorOf("allow read foo"),
            "t.policy:1:12: expected 'if', 'justify' or end of line, found 'foo'");
  EXPECT_EQ(ErrorOf("default errno"),
            "t.policy:1:14: expected an errno name or number 1..4094, found end of line");
  EXPECT_EQ(ErrorOf("deny /a justify \"x"),
            "t.policy:1:19: expected closing '\"', found end of line");
}

struct ErrorCase {
  const char* text;
  const char* prefix;  // after "t.policy:LINE:COLUMN: "
  int column;
};

TEST(PolicyTextErrors, EveryErrorNamesWhatWasExpectedAtItsColumn) {
  const ErrorCase cases[] = {
      {"default", "expected kill-and-report, kill-process, trap or errno", 8},
      {"default explode", "expected kill-and-report, kill-process, trap or errno", 9},
      {"default errno 0", "expected an errno name or number 1..4094", 15},
      {"default errno 4095", "expected an errno name or number 1..4094", 15},
      {"default errno EFOO", "expected an errno name or number 1..4094", 15},
      {"default trap\ndefault trap",
       "expected one 'default' per policy, found a second one "
       "(the first is at t.policy:1)",
       1},
      {"allow", "expected a syscall name, found end of line", 6},
      {"allow group nope", "expected a group name", 13},
      {"allow read if", "expected an argument arg0..arg5", 14},
      {"allow read if arg6 == 1", "expected an argument arg0..arg5", 15},
      {"allow read if arg0", "expected a comparison", 19},
      {"allow read if arg0 ==", "expected a value (number or constant)", 22},
      {"allow read if arg0 == 0x", "expected a decimal or 0x hex number below 2^64", 23},
      {"allow read if arg0 == 012", "expected a decimal or 0x hex number below 2^64", 23},
      {"allow read if arg0 == 18446744073709551616",
       "expected a decimal or 0x hex number below 2^64", 23},
      {"allow read if arg0 == 0x10000000000000000",
       "expected a decimal or 0x hex number below 2^64", 23},
      {"allow read if arg0 == 1 |", "expected a value (number or constant)", 26},
      {"allow read if arg0 & 1", "expected '==' after the mask", 23},
      {"allow read if arg0 & 1 != 0", "expected '==' after the mask", 24},
      {"allow read if arg0 in 1", "expected '{'", 23},
      {"allow read if arg0 in {}", "expected a value (number or constant)", 24},
      {"allow read if arg0 in {1 2}", "expected ',' or '}'", 26},
      {"allow read if arg0 in {1,", "expected a value (number or constant)", 26},
      {"allow read if arg0 == 1 &&", "expected an argument arg0..arg5", 27},
      {"allow read if arg0 == 1 || arg1 == 2", "expected '&&', 'justify' or end of line", 25},
      {"errno", "expected an errno name or number 1..4094", 6},
      {"errno EPERM", "expected a syscall name, found end of line", 12},
      {"errno EPERM read if arg0 == 1", "expected 'justify' or end of line, found 'if'", 18},
      {"trap 42x", "expected a syscall name known to libseccomp", 6},
      {"file", "expected permissions (letters of rwcdsx, each once)", 5},
      {"file rr /a", "expected permissions (letters of rwcdsx, each once)", 6},
      {"file q /a", "expected permissions (letters of rwcdsx, each once)", 6},
      {"file r", "expected a path, found end of line", 7},
      {"file r relative", "expected an absolute normalized path, found 'relative'", 8},
      {"tree r /a/../b", "expected an absolute normalized path", 8},
      {"temporary /a/", "expected an absolute normalized path", 11},
      {"deny", "expected a path", 5},
      {"deny /a b", "expected 'errno', 'justify' or end of line, found 'b'", 9},
      {"deny \"/a\\n\"", "expected '\"' or '\\' after a backslash", 10},
      {"create-modes 600 0700", "expected an octal mode 00..0777 with a leading 0", 14},
      {"create-modes 0600 0800", "expected an octal mode 00..0777 with a leading 0", 19},
      {"create-modes 0600 01777", "expected an octal mode 00..0777 with a leading 0", 19},
      {"create-modes 0600", "expected an octal mode 00..0777 with a leading 0", 18},
      {"trap kill justify", "expected a quoted justification, found end of line", 18},
      {"trap kill justify \"\"", "expected a non-empty justification", 19},
      {"trap kill justify \"a\" more", "expected end of line, found 'more'", 23},
      {"include", "expected '\"', found end of line", 8},
      {"include \"\"", "expected a file name", 9},
      {"include \"x\" y", "expected end of line, found 'y'", 13},
  };
  for (const ErrorCase& c : cases) {
    const std::string error = ErrorOf(c.text);
    const int line = absl::StrContains(c.text, '\n') ? 2 : 1;
    const std::string want = absl::StrCat("t.policy:", line, ":", c.column, ": ", c.prefix);
    EXPECT_TRUE(absl::StartsWith(error, want))
        << c.text << "\n  got:  " << error << "\n  want: " << want;
  }
}

TEST(PolicyTextErrors, CommentsEndRulesButNotStrings) {
  const ParsedPolicy p = ParseOrDie("trap kill justify \"# not a comment\" # a comment\n");
  ASSERT_EQ(p.rules.size(), 1u);
  EXPECT_EQ(p.rules[0].justification, "# not a comment");
  EXPECT_TRUE(
      absl::StartsWith(ErrorOf("allow read if # arg0 == 1"),
                       "t.policy:1:15: expected an argument arg0..arg5, found end of line"));
}

TEST(PolicyTextErrors, IncludesCanBeDisabled) {
  ParseOptions options;
  options.allow_includes = false;
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyText("include \"a\"", "t.policy", options);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "t.policy:1:9: expected no include, found one (disabled)");
}

// ---- Includes --------------------------------------------------------------------------------

TEST(PolicyTextInclude, RelativeToTheIncludingFile) {
  ScratchDir dir;
  dir.MakeDir("sub");
  dir.MakeDir("sub/deeper");
  dir.WriteFile("sub/deeper/c.policy", "trap kill\n");
  dir.WriteFile("sub/b.policy", "allow read\ninclude \"deeper/c.policy\"\n");
  const std::string top =
      dir.WriteFile("top.policy", "default trap\ninclude \"sub/b.policy\"  # base\nallow write\n");
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyFile(top);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->rules.size(), 4u);
  EXPECT_EQ(parsed->rules[1].file, dir.path() + "/sub/b.policy");
  EXPECT_EQ(parsed->rules[1].line, 1);
  EXPECT_EQ(parsed->rules[2].file, dir.path() + "/sub/deeper/c.policy");
  EXPECT_EQ(parsed->rules[3].file, top);
  EXPECT_EQ(parsed->rules[3].line, 3);
  EXPECT_EQ(FormatPolicy(*parsed), "default trap\nallow read\ntrap kill\nallow write\n");
}

TEST(PolicyTextInclude, ErrorsNameTheIncludeChain) {
  ScratchDir dir;
  dir.WriteFile("b.policy", "\nallow nothing_at_all\n");
  const std::string top = dir.WriteFile("a.policy", "# top\ninclude \"b.policy\"\n");
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyFile(top);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(),
            absl::StrCat(dir.path(),
                         "/b.policy:2:7: expected a syscall name known to libseccomp, "
                         "found 'nothing_at_all'\n  included from ",
                         top, ":2"));
}

TEST(PolicyTextInclude, MissingFileIsAnErrorAtTheInclude) {
  ScratchDir dir;
  const std::string top = dir.WriteFile("a.policy", "include \"missing.policy\"\n");
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyFile(top);
  ASSERT_FALSE(parsed.ok());
  EXPECT_TRUE(absl::StartsWith(parsed.status().message(),
                               absl::StrCat(top, ":1:9: expected a readable policy file, found")))
      << parsed.status();
}

TEST(PolicyTextInclude, CycleIsDetected) {
  ScratchDir dir;
  dir.WriteFile("b.policy", "include \"c.policy\"\n");
  dir.WriteFile("c.policy", "include \"./b.policy\"\n");
  const std::string top = dir.WriteFile("a.policy", "include \"b.policy\"\n");
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyFile(top);
  ASSERT_FALSE(parsed.ok());
  const std::string b = dir.path() + "/b.policy";
  const std::string c = dir.path() + "/c.policy";
  EXPECT_EQ(parsed.status().message(),
            absl::StrCat(c, ":1:9: expected an include that is not a cycle, found ", b, " -> ", c,
                         " -> ", dir.path(), "/./b.policy\n  included from ", b,
                         ":1\n  included from ", top, ":1"));
}

TEST(PolicyTextInclude, SelfIncludeIsACycle) {
  ScratchDir dir;
  const std::string top = dir.WriteFile("a.policy", "include \"a.policy\"\n");
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyFile(top);
  ASSERT_FALSE(parsed.ok());
  EXPECT_TRUE(
      absl::StrContains(parsed.status().message(), "expected an include that is not a cycle"))
      << parsed.status();
}

TEST(PolicyTextInclude, DepthLimitIsEight) {
  ScratchDir dir;
  // l0 includes l1 ... includes lN; lN allows read.
  auto chain = [&](int levels) {
    for (int i = 0; i < levels; ++i) {
      dir.WriteFile(absl::StrCat("l", i, ".policy"),
                    absl::StrCat("include \"l", i + 1, ".policy\"\n"));
    }
    dir.WriteFile(absl::StrCat("l", levels, ".policy"), "allow read\n");
    return ParsePolicyFile(dir.path() + "/l0.policy");
  };
  absl::StatusOr<ParsedPolicy> eight = chain(8);
  ASSERT_TRUE(eight.ok()) << eight.status();
  EXPECT_EQ(eight->rules.size(), 1u);
  absl::StatusOr<ParsedPolicy> nine = chain(9);
  ASSERT_FALSE(nine.ok());
  EXPECT_TRUE(absl::StartsWith(nine.status().message(),
                               absl::StrCat(dir.path(),
                                            "/l8.policy:1:9: expected at most 8 nested "
                                            "includes, found include number 9")))
      << nine.status();
  EXPECT_TRUE(absl::StrContains(nine.status().message(),
                                absl::StrCat("included from ", dir.path(), "/l0.policy:1")));
}

TEST(PolicyTextInclude, TextIncludesRelativeToItsName) {
  ScratchDir dir;
  dir.WriteFile("b.policy", "allow read\n");
  absl::StatusOr<ParsedPolicy> parsed =
      ParsePolicyText("include \"b.policy\"\n", dir.path() + "/virtual.policy");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->rules.size(), 1u);
}

// ---- Fuzz entry point ------------------------------------------------------------------------

TEST(PolicyTextFuzz, SeedsAndMutationsNeverCrash) {
  std::vector<std::string> seeds = {
      kSample,
      kSampleCanonical,
      "",
      "\n\n#\n",
      "allow read if arg0 in {1, 2, 3} && arg1 & 0xff == 0x10 justify \"x\"",
      "deny \"/a \\\" b\"\ncreate-modes 00 0777\n",
      "default errno 4094\nerrno E2BIG read\n",
      "include \"x\"\n",
  };
  for (const std::string& seed : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(seed.data()), seed.size());
  }
  const std::string alphabet =
      "allow if arg0 == & | {} , \" # \\ \n errno trap deny /x 0x 9 justify";
  std::mt19937 random(12345);
  for (int i = 0; i < 10000; ++i) {
    std::string input = seeds[random() % seeds.size()];
    const int edits = 1 + static_cast<int>(random() % 8);
    for (int e = 0; e < edits; ++e) {
      const size_t at = input.empty() ? 0 : random() % (input.size() + 1);
      switch (random() % 4) {
        case 0:  // insert a random byte
          input.insert(at, 1, static_cast<char>(random() % 256));
          break;
        case 1:  // insert a piece of the alphabet
          input.insert(at, alphabet.substr(random() % alphabet.size(), 1 + random() % 6));
          break;
        case 2:  // erase
          if (!input.empty()) input.erase(at == input.size() ? at - 1 : at, 1 + random() % 4);
          break;
        default:  // splice in part of another seed
          const std::string& other = seeds[random() % seeds.size()];
          if (!other.empty())
            input.insert(at, other.substr(random() % other.size(), random() % 40));
          break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
}

// ---- What `allow ... if` means, in the kernel -------------------------------------------------

// An unusual errno for "the default answered", so that a call's own errors cannot pass for it.
constexpr int kDenied = EHWPOISON;

// `allow getppid if C1` and `allow getppid if C2` are alternatives; a call matching neither
// falls to the default. An `errno` line for another syscall is unconditional.
TEST(PolicyTextKernel, AllowIfFallsToOtherAllowsThenToTheDefault) {
  const ParsedPolicy p = ParseOrDie(absl::StrCat("default errno ", kDenied,
                                                 "\n"
                                                 "allow getppid if arg0 == 1\n"
                                                 "allow getppid if arg1 == 2 && arg2 == 3\n"
                                                 "errno EXDEV getpgrp\n"));
  absl::StatusOr<SyscallPolicy> policy = p.syscalls.Build();
  ASSERT_TRUE(policy.ok()) << policy.status();
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().Build();
  ASSERT_TRUE(files.ok()) << files.status();
  Launcher launcher(*std::move(files), *std::move(policy));
  launcher.SetTimeout(absl::Seconds(60));
  SharedInts r(5);
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd) {
    auto call = [](uint64_t a, uint64_t b, uint64_t c) {
      return syscall(SYS_getppid, a, b, c) >= 0 ? 1 : -errno;
    };
    r[0] = call(1, 0, 0);  // the first allow
    r[1] = call(0, 2, 3);  // the second allow
    r[2] = call(0, 2, 4);  // neither: the default
    r[3] = call(7, 7, 7);  // neither: the default
    r[4] = syscall(SYS_getpgrp) == -1 ? -errno : 1;
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(r[0], 1);
  EXPECT_EQ(r[1], 1);
  EXPECT_EQ(r[2], -kDenied);
  EXPECT_EQ(r[3], -kDenied);
  EXPECT_EQ(r[4], -EXDEV);
}

// `private-tmp` takes no argument, sets ParsedPolicy::private_tmp, adds no file rule to the
// builder, and formats back as itself.
TEST(PolicyText, PrivateTmpIsOneLineWithoutArguments) {
  absl::StatusOr<ParsedPolicy> p =
      ParsePolicyText("allow group exit\nprivate-tmp  # scratch files\n", "t.policy");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->private_tmp);
  ASSERT_EQ(p->rules.size(), 2u);
  EXPECT_EQ(p->rules[1].kind, PolicyRule::Kind::kPrivateTmp);
  EXPECT_EQ(p->rules[1].line, 2);
  EXPECT_EQ(FormatPolicy(*p), "allow group exit\nprivate-tmp\n");
  absl::StatusOr<FilePolicy> files = p->files.Build();
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_TRUE(files->rules().empty());
  EXPECT_EQ(files->alias(), nullptr);
  absl::StatusOr<ParsedPolicy> without = ParsePolicyText("allow group exit\n", "t.policy");
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_FALSE(without->private_tmp);
  EXPECT_FALSE(ParsePolicyText("private-tmp /tmp\n", "t.policy").ok());
}

// ---- Compiling any policy the parser accepts --------------------------------------------------

// `rules` rule texts that make a compiler's work grow with how rules overlap: every comparison
// operator on shared arguments, ranges, sets, on one syscall or a few.
std::string RandomPolicy(std::mt19937_64& random, int rules, int syscalls) {
  static const char* const kCalls[] = {"read", "prctl", "lseek", "getppid", "mmap", "fcntl"};
  static const char* const kOps[] = {"==", "!=", "<", "<=", ">", ">="};
  const uint64_t values[] = {0, 1, 9, 0xffffffff, 0x100000000, 0xfffffffffffffffe};
  std::string text = "default kill-and-report\n";
  for (int i = 0; i < rules; ++i) {
    absl::StrAppend(&text, "allow ", kCalls[random() % syscalls], " if ");
    const int conditions = 1 + static_cast<int>(random() % 3);
    for (int c = 0; c < conditions; ++c) {
      const uint64_t v = values[random() % 6];
      const int arg = static_cast<int>(random() % 3);
      if (c > 0) text += " && ";
      switch (random() % 8) {
        case 6:
          absl::StrAppend(&text, "arg", arg, " & 0x", absl::Hex(v | 1), " == 1");
          break;
        case 7:
          absl::StrAppend(&text, "arg", arg, " in {", v, ", ", random() % 100, "}");
          break;
        default:
          absl::StrAppend(&text, "arg", arg, " ", kOps[random() % 6], " ", v);
      }
    }
    text += "\n";
  }
  return text;
}

TEST(PolicyTextCompile, ThousandRulePoliciesBuildOrAreRefusedNamingTheSyscall) {
  std::mt19937_64 random(1000);
  int built = 0;
  int refused = 0;
  for (int round = 0; round < 12; ++round) {
    // 1,000 rules of up to three comparisons exceed the kernel's 4,096 instructions; 200 fit.
    const std::string text = RandomPolicy(random, round % 2 == 0 ? 1000 : 200, 1 + round % 6);
    absl::StatusOr<ParsedPolicy> parsed = ParsePolicyText(text, "thousand.policy");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    absl::StatusOr<SyscallPolicy> policy = parsed->syscalls.Build();
    if (policy.ok()) {
      EXPECT_LE(policy->instruction_count(), 4096u);
      ++built;
      continue;
    }
    ++refused;
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kResourceExhausted) << policy.status();
    EXPECT_TRUE(absl::StrContains(policy.status().message(), "the rules of syscall "))
        << policy.status();
  }
  EXPECT_EQ(refused, 6);
  EXPECT_EQ(built, 6);
}

TEST(PolicyTextCompile, PoliciesThatHungLibseccompBuild) {
  for (const char* text : {
           "allow read if arg0 > 1 && arg1 > 9\nallow read if arg0 > 1 && arg2 > 9\n",
           "allow read if arg0 != 1 && arg1 > 9\nallow read if arg0 != 1 && arg2 > 9\n",
           "allow read if arg0 < 1 && arg1 > 9\nallow read if arg0 > 1 && arg2 > 9\n",
           "allow prctl if arg0 > 1 && arg1 > 9\nallow prctl if arg0 > 1 && arg2 > 9\n"
           "allow prctl if arg0 > 1 && arg3 > 9\n",
       }) {
    absl::StatusOr<ParsedPolicy> parsed = ParsePolicyText(text, "t.policy");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    absl::StatusOr<SyscallPolicy> policy = parsed->syscalls.Build();
    EXPECT_TRUE(policy.ok()) << text << policy.status();
  }
}

}  // namespace
}  // namespace sbox
