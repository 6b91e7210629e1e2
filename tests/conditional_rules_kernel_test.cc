// Conditional rules keep their documented meaning in the kernel: for every argument and
// comparison of the policy text, a child that installs the compiled filter and calls getppid
// with values around the boundary (in both 32-bit halves of the 64-bit word) is let through or
// stopped exactly as `sbox audit --eval` predicts, and as the comparison reads.

#include <errno.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "broker/policy_text.h"
#include "broker/syscall_policy.h"
#include "gtest/gtest.h"
#include "tests/sandbox_fixture.h"
#include "tools/audit_command.h"

namespace sbox {
namespace {

using testing::ScratchDir;
using testing::SharedInts;

// The errno the policy's default answers: no getppid can fail with it otherwise.
constexpr int kStopped = 77;  // EBADMSG

// Runs getppid once per argument vector in a child under `policy`; 1 where the call went
// through, 0 where it failed with kStopped, anything else is a failure of the test.
std::vector<int> CallsInTheKernel(const SyscallPolicy& policy,
                                  const std::vector<std::vector<uint64_t>>& calls) {
  SharedInts results(calls.size());
  const pid_t parent = getpid();
  const pid_t child = fork();
  if (child == 0) {
    sock_fprog program = policy.fprog();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) {
      _exit(2);
    }
    for (size_t i = 0; i < calls.size(); ++i) {
      const std::vector<uint64_t>& a = calls[i];
      const long rc = syscall(SYS_getppid, a[0], a[1], a[2], a[3], a[4], a[5]);
      if (rc == parent) {
        results[i] = 1;
      } else if (rc == -1 && errno == kStopped) {
        results[i] = 0;
      }
    }
    _exit(0);
  }
  int status = 0;
  EXPECT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  std::vector<int> out;
  for (size_t i = 0; i < calls.size(); ++i) out.push_back(results[i]);
  return out;
}

// What `sbox audit --eval POLICY getppid ARGS...` prints.
std::string Eval(const std::string& policy_path, const std::vector<uint64_t>& args) {
  std::vector<std::string> command = {"--eval", policy_path, "getppid"};
  for (uint64_t arg : args) command.push_back(absl::StrFormat("%#x", arg));
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(RunAudit(command, out, err), 0) << err.str();
  std::string text = out.str();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// Values on either side of `v` in each 32-bit half, and the extremes.
std::vector<uint64_t> AroundBoundary(uint64_t v) {
  std::vector<uint64_t> out = {0, ~uint64_t{0}};
  for (int64_t high_delta : {-1, 0, 1}) {
    for (int64_t low_delta : {-1, 0, 1}) {
      const uint64_t high = static_cast<uint32_t>((v >> 32) + high_delta);
      const uint64_t low = static_cast<uint32_t>(static_cast<uint32_t>(v) + low_delta);
      out.push_back(high << 32 | low);
    }
  }
  return out;
}

struct Comparison {
  std::string text;  // after "argN "
  ArgCondition (*condition)(int index, uint64_t v);
};

TEST(ConditionalRulesInTheKernel, EveryComparisonOfEveryArgumentHoldsAroundItsBoundary) {
  const std::vector<Comparison> comparisons = {
      {"==", [](int i, uint64_t v) { return Arg(i).Eq(v); }},
      {"!=", [](int i, uint64_t v) { return Arg(i).Ne(v); }},
      {"<", [](int i, uint64_t v) { return Arg(i).Lt(v); }},
      {"<=", [](int i, uint64_t v) { return Arg(i).Le(v); }},
      {">", [](int i, uint64_t v) { return Arg(i).Gt(v); }},
      {">=", [](int i, uint64_t v) { return Arg(i).Ge(v); }},
      {"& 0xffff00000000ff00 ==",
       // A value with bits the mask clears could never match: keep one that can.
       [](int i, uint64_t v) {
         return Arg(i).MaskedEq(0xffff00000000ff00, v & 0xffff00000000ff00);
       }},
      {"in",
       [](int i, uint64_t v) {
         return Arg(i).In({v, v ^ 0x100000000});
       }},
  };
  const std::vector<uint64_t> boundaries = {1, 0xffffffff, 0x100000001, 0xfffffffffffffffe,
                                            0x1234ff00000000ab};
  ScratchDir dir;
  int checked = 0;
  for (int index = 0; index < 6; ++index) {
    for (const Comparison& comparison : comparisons) {
      for (uint64_t v : boundaries) {
        const ArgCondition condition = comparison.condition(index, v);
        std::string test = absl::StrFormat("arg%d %s %#x", index, comparison.text, condition.value);
        if (condition.compare == ArgCondition::Compare::kIn) {
          test = absl::StrFormat("arg%d in {%#x, %#x}", index, condition.values[0],
                                 condition.values[1]);
        }
        const std::string path = dir.WriteFile(
            "p.policy",
            absl::StrCat("default errno ", kStopped, "\nallow getppid if ", test, "\n"));
        absl::StatusOr<ParsedPolicy> parsed = ParsePolicyFile(path);
        ASSERT_TRUE(parsed.ok()) << test << ": " << parsed.status();
        absl::StatusOr<SyscallPolicy> policy = parsed->syscalls.Build();
        ASSERT_TRUE(policy.ok()) << test << ": " << policy.status();

        std::vector<std::vector<uint64_t>> calls;
        for (uint64_t arg : AroundBoundary(v)) {
          std::vector<uint64_t> args(6, 0x5a5a5a5a5a5a5a5a);  // the others never matter
          args[index] = arg;
          calls.push_back(args);
        }
        const std::vector<int> kernel = CallsInTheKernel(*policy, calls);
        for (size_t i = 0; i < calls.size(); ++i) {
          const bool admitted = condition.Admits(calls[i][index]);
          EXPECT_EQ(kernel[i], admitted ? 1 : 0)
              << test << " with arg" << index << " = " << absl::StrFormat("%#x", calls[i][index]);
          EXPECT_EQ(Eval(path, calls[i]),
                    admitted ? "ALLOW" : absl::StrCat("ERRNO(", kStopped, ")"))
              << test << " with arg" << index << " = " << absl::StrFormat("%#x", calls[i][index]);
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 6 * 8 * 5 * 11);
}

// The policy that never compiled with Debian's libseccomp 2.5.4, a range on one argument, and
// three overlapping prctl rules: each call goes where the rules say.
TEST(ConditionalRulesInTheKernel, OverlappingRulesAndRangesCompileToTheirMeaning) {
  ScratchDir dir;
  const std::string path =
      dir.WriteFile("p.policy", absl::StrCat("default errno ", kStopped,
                                             "\n"
                                             "allow getppid if arg0 > 1 && arg1 > 9\n"
                                             "allow getppid if arg0 > 1 && arg2 > 9\n"
                                             "allow getppid if arg3 >= 100 && arg3 <= 200\n"
                                             "allow getppid if arg4 != 5 && arg4 > 1\n"
                                             "allow getppid if arg4 < 0x100000000 && arg4 > 7\n"
                                             "allow getppid if arg5 in {1, 2} && arg5 > 1\n"));
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyFile(path);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<SyscallPolicy> policy = parsed->syscalls.Build();
  ASSERT_TRUE(policy.ok()) << policy.status();
  const auto expected = [](const std::vector<uint64_t>& a) {
    return (a[0] > 1 && a[1] > 9) || (a[0] > 1 && a[2] > 9) || (a[3] >= 100 && a[3] <= 200) ||
           (a[4] != 5 && a[4] > 1) || (a[4] < 0x100000000 && a[4] > 7) || a[5] == 2;
  };
  std::vector<std::vector<uint64_t>> calls;
  for (uint64_t a0 : {1, 2}) {
    for (uint64_t a1 : {9, 10}) {
      for (uint64_t a2 : {uint64_t{9}, uint64_t{0x100000000}}) {
        for (uint64_t a3 :
             {uint64_t{99}, uint64_t{100}, uint64_t{200}, uint64_t{201}, uint64_t{0x100000064}}) {
          for (uint64_t a4 : {uint64_t{0}, uint64_t{1}, uint64_t{5}, uint64_t{0x100000005}}) {
            for (uint64_t a5 : {0, 1, 2}) calls.push_back({a0, a1, a2, a3, a4, a5});
          }
        }
      }
    }
  }
  const std::vector<int> kernel = CallsInTheKernel(*policy, calls);
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(kernel[i], expected(calls[i]) ? 1 : 0) << "call " << i;
    EXPECT_EQ(Eval(path, calls[i]),
              expected(calls[i]) ? "ALLOW" : absl::StrCat("ERRNO(", kStopped, ")"));
  }
}

}  // namespace
}  // namespace sbox
