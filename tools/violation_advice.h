#ifndef SBOX_TOOLS_VIOLATION_ADVICE_H_
#define SBOX_TOOLS_VIOLATION_ADVICE_H_

#include <string>
#include <vector>

#include "broker/policy_text.h"
#include "broker/sandbox_result.h"

namespace sbox {

// Where in a policy file a violation would have to be fixed, as one clause for the one-line
// report of `sbox run`:
//   "policies/jq.policy:12 allows socket only if arg0 == AF_UNIX; to allow this call add:
//    allow socket if arg0 == AF_INET"
//   "group threads via p.policy:3 allows clone only if arg0 & ... == ...; ..."
//   "p.policy does not mention getppid; to allow it add: allow getppid"
//   "p.policy does not mention openat; # open files through the broker ..."
// `policy_name` names the policy when no rule mentions the call ("the built-in policy").
// `rules` are the parsed rules (ParsedPolicy::rules), whose file and line say where each was
// written.
std::string ViolationAdvice(const std::vector<PolicyRule>& rules, const std::string& policy_name,
                            const SyscallViolation& violation);

}  // namespace sbox

#endif  // SBOX_TOOLS_VIOLATION_ADVICE_H_
