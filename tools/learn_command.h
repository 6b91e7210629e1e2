#ifndef SBOX_TOOLS_LEARN_COMMAND_H_
#define SBOX_TOOLS_LEARN_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "tools/program_options.h"  // the exit statuses

namespace sbox {

// `sbox learn [--out FILE [--force]] [--merge POLICY] [--cwd DIR] [--timeout SECONDS]
// [--audit-log FILE] -- PROGRAM ARGS...`: runs PROGRAM once with every file access granted and
// every syscall let through, both recorded, then writes a policy under which runs of the same
// kind pass with `sbox run --policy FILE` (tools/policy_learner.h), added to POLICY's rules with
// --merge. An existing --out needs --force unless it is the --merge POLICY. For trusted inputs
// only: while learning, the program is not confined. A run that did not exit 0, or that the
// learner could not record in full, gets "sbox learn: warning: ..." lines on `err`. Returns the
// program's exit status as `sbox run` would (the policy is written whatever it is), or
// kRunSetupFailed (also for a --merge POLICY that cannot be read or parsed, before the program
// runs), kRunNotFound, kRunNotExecutable.
int RunLearn(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace sbox

#endif  // SBOX_TOOLS_LEARN_COMMAND_H_
