#ifndef SBOX_TOOLS_AUDIT_COMMAND_H_
#define SBOX_TOOLS_AUDIT_COMMAND_H_

// `sbox audit`: explains, lints, compares and evaluates policy files (broker/POLICY_FORMAT.md),
// for reviewing a policy before it confines anything. Usage and exit codes: kAuditUsage below,
// also in tools/README.md.

#include <ostream>
#include <string>
#include <vector>

namespace sbox {

// Exit statuses of `sbox audit`.
enum AuditExit {
  kAuditOk = 0,           // done; --lint: no unjustified finding; --diff: the policies agree
  kAuditFindings = 1,     // --lint: unjustified findings; --diff: the policies differ
  kAuditUsageError = 2,   // bad command line
  kAuditPolicyError = 3,  // a policy file cannot be read, parsed or compiled
};

extern const char kAuditUsage[];

// Runs `sbox audit` with `args` (what follows "audit" on the command line), writing results to
// `out` and errors to `err`; returns an AuditExit.
int RunAudit(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace sbox

#endif  // SBOX_TOOLS_AUDIT_COMMAND_H_
