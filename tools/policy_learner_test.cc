// PolicyLearner: what it writes for what a run did, and that what it writes parses and builds.

#include "tools/policy_learner.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "broker/policy_text.h"
#include "gtest/gtest.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using testing::ScratchDir;

void Call(PolicyLearner& learner, int nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0,
          uint64_t a3 = 0) {
  const uint64_t args[6] = {a0, a1, a2, a3, 0, 0};
  learner.AddSyscall(nr, args);
}

void Request(PolicyLearner& learner, proto::Op op, const std::string& path, uint32_t flags = 0,
             const std::string& path2 = "") {
  Decision d = {};
  d.op = op;
  d.path = path;
  d.path2 = path2;
  d.flags = flags;
  d.allowed = true;
  learner.AddDecision(d);
}

// The policy's text without comments and blank lines.
std::string Rules(const std::string& text) {
  std::string rules;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (const size_t hash = line.find("  #"); hash != std::string::npos) line.resize(hash);
    if (line.empty() || line[0] == '#') continue;
    absl::StrAppend(&rules, line, "\n");
  }
  return rules;
}

TEST(PolicyLearner, NarrowsSyscallsToWhatWasSeen) {
  PolicyLearner learner;
  Call(learner, SYS_read, 0);
  Call(learner, SYS_read, 3);
  Call(learner, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  Call(learner, SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE);
  Call(learner, SYS_socket, AF_UNIX, SOCK_STREAM);
  Call(learner, SYS_socket, AF_INET, SOCK_DGRAM);
  Call(learner, SYS_ioctl, 1, 0x5401);
  Call(learner, SYS_getppid);
  const std::string text = learner.PolicyText("prog arg");
  EXPECT_NE(text.find("# Learned by `sbox learn` from one run of: prog arg"), std::string::npos);
  EXPECT_NE(text.find("allow read  # 2 calls\n"), std::string::npos) << text;
  EXPECT_EQ(Rules(text),
            "default kill-and-report\n"
            "allow group file-redirection\n"
            "errno ENOSYS clone3\n"
            "allow read\n"
            "allow mmap if arg2 & 4 == 0\n"
            "allow mmap if arg2 & 2 == 0 && arg3 & 32 == 0\n"
            "allow ioctl if arg1 in {0x5401}\n"
            "allow socket if arg0 in {1, 2}\n"
            "allow getppid\n");
  // The network socket the run made reaches outside: the line says so.
  EXPECT_NE(text.find("allow socket if arg0 in {1, 2}  # 2 calls; reaches outside the sandbox: "
                      "any family but AF_UNIX"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("allow ioctl if arg1 in {0x5401}  # 1 call\n"), std::string::npos) << text;
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyText(text, "learned.policy");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->syscalls.Build(Redirection::kUserNotification).ok());
}

// A call with a reach outside the sandbox that the run made only in its inside form is
// narrowed to that form: sched_getaffinity of pid 0, fcntl's F_SETFL without O_ASYNC.
TEST(PolicyLearner, NarrowsToTheFormThatStaysInside) {
  PolicyLearner learner;
  Call(learner, SYS_sched_getaffinity, 0, 128);
  Call(learner, SYS_clock_gettime, 2);
  const std::string text = learner.PolicyText("sort");
  EXPECT_NE(text.find("allow sched_getaffinity if arg0 == 0  # 1 call\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("reaches outside"), std::string::npos) << text;
  PolicyLearner other;
  Call(other, SYS_sched_getaffinity, 1234, 128);
  EXPECT_NE(other.PolicyText("x").find("allow sched_getaffinity  # 1 call; reaches outside"),
            std::string::npos)
      << other.PolicyText("x");
}

// A call no group condition admits is allowed outright rather than refused next time.
TEST(PolicyLearner, AllowsOutrightWhatNoGroupConditionAdmits) {
  PolicyLearner learner;
  Call(learner, SYS_mprotect, 0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
  EXPECT_NE(Rules(learner.PolicyText("jit")).find("allow mprotect\n"), std::string::npos);
}

TEST(PolicyLearner, FileRulesCarryThePermissionsTheRequestsNeeded) {
  ScratchDir dir;
  const std::string input = dir.WriteFile("input", "x");
  const std::string output = dir.path() + "/output";
  const std::string gone = dir.path() + "/gone";
  const std::string link = dir.Symlink("link", "input");
  PolicyLearner learner;
  Request(learner, proto::Op::kOpen, input, O_RDONLY | O_CLOEXEC);
  Request(learner, proto::Op::kStat, input);
  Request(learner, proto::Op::kOpen, output, O_WRONLY | O_CREAT | O_TRUNC);
  Request(learner, proto::Op::kUnlink, gone);
  Request(learner, proto::Op::kOpen, dir.path() + "/missing/deeper", O_RDONLY);
  Request(learner, proto::Op::kOpen, link, O_RDONLY);
  Request(learner, proto::Op::kOpen, "/proc/1234/status", O_RDONLY);
  Request(learner, proto::Op::kOpen, dir.path() + "/", O_RDONLY | O_DIRECTORY);
  Request(learner, proto::Op::kOpen, "/a/../b", O_RDONLY);
  const std::string text = learner.PolicyText("prog");
  EXPECT_NE(text.find(absl::StrCat("file r ", input, "\n")), std::string::npos) << text;
  EXPECT_NE(text.find(absl::StrCat("file wc ", output, "\n")), std::string::npos) << text;
  EXPECT_NE(text.find(absl::StrCat("file d ", gone, "\n")), std::string::npos) << text;
  // Grants are names: the directory opened as "dir/", the symlink the program named (the
  // broker follows it and judges its target), and a path whose directory is missing today.
  EXPECT_NE(text.find(absl::StrCat("file r ", dir.path(), "\n")), std::string::npos) << text;
  EXPECT_NE(text.find(absl::StrCat("file r ", link, "\n")), std::string::npos) << text;
  EXPECT_NE(text.find(absl::StrCat("file r ", dir.path(), "/missing/deeper\n")), std::string::npos)
      << text;
  EXPECT_EQ(text.find("/a/../b"), std::string::npos) << text;
  EXPECT_NE(text.find("# not granted (the sandboxee's own /proc): /proc/1234/status"),
            std::string::npos)
      << text;
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyText(text, "learned.policy");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->files.Build().ok()) << parsed->files.Build().status();
}

}  // namespace
}  // namespace sbox
