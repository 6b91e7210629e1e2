// Every shipped policy parses, builds for `sbox run`, and passes `sbox audit --lint`.

#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "broker/policy_text.h"
#include "broker/syscall_policy.h"
#include "gtest/gtest.h"
#include "tools/audit_command.h"
#include "tools/run_command.h"

namespace sbox {
namespace {

class ShippedPolicy : public ::testing::TestWithParam<const char*> {};

TEST_P(ShippedPolicy, BuildsAndLintsClean) {
  const std::string path = std::string("policies/") + GetParam();
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyFile(path);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<SyscallPolicy> syscalls = parsed->syscalls.Build(Redirection::kUserNotification);
  ASSERT_TRUE(syscalls.ok()) << syscalls.status();
  EXPECT_EQ(syscalls->redirection(), Redirection::kUserNotification);
  EXPECT_TRUE(parsed->files.Build().ok()) << parsed->files.Build().status();
  std::ostringstream out, err;
  EXPECT_EQ(RunAudit({"--lint", path}, out, err), kAuditOk) << out.str() << err.str();
}

INSTANTIATE_TEST_SUITE_P(Policies, ShippedPolicy,
                         ::testing::Values("default.policy", "file.policy", "xmllint.policy",
                                           "jq.policy", "gzip.policy"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           return name.substr(0, name.find('.'));
                         });

// The built-in policy compiled into sbox is policies/default.policy, byte for byte.
TEST(ShippedPolicy, TheBuiltInPolicyIsDefaultPolicy) {
  absl::StatusOr<ParsedPolicy> file = ParsePolicyFile("policies/default.policy");
  absl::StatusOr<ParsedPolicy> built_in =
      ParsePolicyText(kDefaultPolicyText, "policies/default.policy");
  ASSERT_TRUE(file.ok() && built_in.ok());
  EXPECT_EQ(FormatPolicy(*built_in), FormatPolicy(*file));
}

// The filter compiled into sbox is the one the built-in policy builds to now.
TEST(ShippedPolicy, TheCompiledInFilterIsTheBuiltInPolicys) {
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyFile("policies/default.policy");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<SyscallPolicy> built = parsed->syscalls.Build(Redirection::kUserNotification);
  ASSERT_TRUE(built.ok()) << built.status();
  ASSERT_EQ(built->instruction_count(), kDefaultPolicyProgramLength);
  for (size_t i = 0; i < kDefaultPolicyProgramLength; ++i) {
    const sock_filter& a = built->program()[i];
    const sock_filter& b = kDefaultPolicyProgram[i];
    EXPECT_TRUE(a.code == b.code && a.jt == b.jt && a.jf == b.jf && a.k == b.k) << i;
  }
}

}  // namespace
}  // namespace sbox
