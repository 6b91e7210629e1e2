#ifndef SBOX_TOOLS_LEARN_COMMAND_H_
#define SBOX_TOOLS_LEARN_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "tools/program_options.h"  // the exit statuses

namespace sbox {

// `sbox learn [--out FILE] [--cwd DIR] [--timeout SECONDS] [--audit-log FILE] -- PROGRAM
// ARGS...`: runs PROGRAM once with every file access granted and every syscall let through,
// both recorded, then writes the smallest policy under which the same run passes with
// `sbox run --policy FILE` (tools/policy_learner.h). For trusted inputs only: while learning,
// the program is not confined. Returns the program's exit status as `sbox run` would (the
// policy is written whatever it is), or kRunSetupFailed, kRunNotFound, kRunNotExecutable.
int RunLearn(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace sbox

#endif  // SBOX_TOOLS_LEARN_COMMAND_H_
