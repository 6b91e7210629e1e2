#ifndef SBOX_TOOLS_RUN_COMMAND_H_
#define SBOX_TOOLS_RUN_COMMAND_H_

#include <linux/filter.h>

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "tools/program_options.h"  // the exit statuses

namespace sbox {

// `sbox run [OPTIONS] -- PROGRAM ARGS...` (kRunUsage). Runs PROGRAM confined: its file access
// brokered under the policy's file rules and the --allow-* grants, its syscalls under the
// policy's filter from its first instruction. stdin, stdout and stderr pass through; `err`
// gets sbox's own messages. Returns the exit status.
int RunRun(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The built-in policy's text (policies/default.policy), and its syscall rules as Build()
// compiled them in Redirection::kUserNotification mode when sbox was built.
extern const char kDefaultPolicyText[];
extern const sock_filter kDefaultPolicyProgram[];
extern const size_t kDefaultPolicyProgramLength;

}  // namespace sbox

#endif  // SBOX_TOOLS_RUN_COMMAND_H_
