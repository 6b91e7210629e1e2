// The sbox command line: one subcommand per concept, each in its own library.

#include <iostream>
#include <string>
#include <vector>

#include "tools/audit_command.h"
#include "tools/run_command.h"

namespace {

constexpr char kUsage[] = R"(usage: sbox COMMAND [ARGS...]

commands:
  audit   explain, lint, compare or evaluate a policy file (sbox audit --help)
  run     run a program confined by a policy (sbox run --help)

exit status: per command (see its --help); 2 for an unknown command
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
  if (args[0] == "run") {
    return sbox::RunRun(std::vector<std::string>(args.begin() + 1, args.end()), std::cout,
                        std::cerr);
  }
  std::cerr << "sbox: unknown command \"" << args[0] << "\"\n" << kUsage;
  return sbox::kAuditUsageError;
}
