// ViolationAdvice: the policy line a violation points at, or the policy that lacks the call.

#include "tools/violation_advice.h"

#include <string>

#include "absl/status/statusor.h"
#include "broker/policy_text.h"
#include "gtest/gtest.h"

namespace sbox {
namespace {

std::vector<PolicyRule> Rules(const std::string& text) {
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyText(text, "p.policy");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? parsed->rules : std::vector<PolicyRule>();
}

SyscallViolation Violation(const std::string& name, const std::string& suggestion) {
  SyscallViolation violation;
  violation.syscall_name = name;
  violation.suggested_rule = suggestion;
  return violation;
}

TEST(ViolationAdvice, NamesTheConditionalLineTheCallFailed) {
  const auto rules = Rules("allow group exit\nallow socket if arg0 == AF_UNIX\n");
  EXPECT_EQ(
      ViolationAdvice(rules, "p.policy", Violation("socket", "allow socket if arg0 == AF_INET")),
      "p.policy:2 allows socket only if arg0 == AF_UNIX; to allow this call add: allow "
      "socket if arg0 == AF_INET");
}

TEST(ViolationAdvice, JoinsAlternativesAndNamesGroups) {
  const auto rules = Rules("allow group threads\nallow clone if arg0 == 17\n");
  const std::string advice =
      ViolationAdvice(rules, "p.policy", Violation("clone", "allow clone if arg0 == 0x11"));
  EXPECT_EQ(
      advice.rfind("group threads via p.policy:1, p.policy:2 allows clone only if (arg0 & ", 0), 0u)
      << advice;
  EXPECT_NE(advice.find(") || (arg0 == 17); to allow this call add: allow clone if arg0 == 0x11"),
            std::string::npos)
      << advice;
}

TEST(ViolationAdvice, SaysThePolicyLacksTheCall) {
  const auto rules = Rules("allow group exit\n");
  EXPECT_EQ(ViolationAdvice(rules, "p.policy", Violation("getppid", "allow getppid")),
            "p.policy does not mention getppid; to allow this call add: allow getppid");
}

TEST(ViolationAdvice, PassesOnAReasonNotToAllow) {
  EXPECT_EQ(ViolationAdvice({}, "the built-in policy",
                            Violation("execve", "# sbox runs one program; exec is refused")),
            "the built-in policy does not mention execve; # sbox runs one program; exec is "
            "refused");
}

}  // namespace
}  // namespace sbox
