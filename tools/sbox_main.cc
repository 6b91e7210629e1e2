// The sbox command line: one subcommand per concept, each in its own library.

#include <iostream>
#include <string>
#include <vector>

#include "tools/audit_command.h"

namespace {

constexpr char kUsage[] = R"(usage: sbox COMMAND [ARGS...]

commands:
  audit   explain, lint, compare or evaluate a policy file (sbox audit --help)

exit status: 0 ok; 1 findings or differences; 2 usage error; 3 policy error
)";

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return sbox::kAuditUsageError;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return sbox::kAuditOk;
  }
  if (args[0] == "audit") {
    return sbox::RunAudit(std::vector<std::string>(args.begin() + 1, args.end()), std::cout,
                          std::cerr);
  }
  std::cerr << "sbox: unknown command \"" << args[0] << "\"\n" << kUsage;
  return sbox::kAuditUsageError;
}
