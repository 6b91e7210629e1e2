// Compiles a policy file's syscall rules, as `sbox run` builds them (user-notification
// redirection), into C++ source: the build-time half of the built-in policy, so that `sbox run`
// without --policy starts without running libseccomp.
//
//   policy_compiler POLICY OUT.cc

#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "broker/policy_text.h"
#include "broker/syscall_policy.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: policy_compiler POLICY OUT.cc\n";
    return 2;
  }
  absl::StatusOr<sbox::ParsedPolicy> parsed = sbox::ParsePolicyFile(argv[1]);
  if (!parsed.ok()) {
    std::cerr << "policy_compiler: " << parsed.status() << "\n";
    return 1;
  }
  absl::StatusOr<sbox::SyscallPolicy> policy =
      parsed->syscalls.Build(sbox::Redirection::kUserNotification);
  if (!policy.ok()) {
    std::cerr << "policy_compiler: " << argv[1] << ": " << policy.status() << "\n";
    return 1;
  }
  std::ofstream out(argv[2]);
  out << "// Generated from " << argv[1] << " by //tools:policy_compiler.\n"
      << "#include <linux/filter.h>\n\n#include <cstddef>\n\nnamespace sbox {\n\n"
      << "extern const sock_filter kDefaultPolicyProgram[];\n"
      << "extern const size_t kDefaultPolicyProgramLength;\n"
      << "const sock_filter kDefaultPolicyProgram[] = {\n";
  for (const sock_filter& f : policy->program()) {
    out << absl::StrFormat("    {0x%04x, %u, %u, 0x%08x},\n", f.code, f.jt, f.jf, f.k);
  }
  out << "};\nconst size_t kDefaultPolicyProgramLength = " << policy->instruction_count()
      << ";\n\n}  // namespace sbox\n";
  return out.good() ? 0 : 1;
}
