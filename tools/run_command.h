#ifndef SBOX_TOOLS_RUN_COMMAND_H_
#define SBOX_TOOLS_RUN_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

namespace sbox {

// `sbox run`'s exit statuses besides the program's own exit code (0..255) and 128+N when a
// signal N killed it. A program may exit with these values too; the line sbox writes on stderr
// for each of them tells the cases apart.
inline constexpr int kRunTimedOut = 124;      // the program ran past --timeout and was killed
inline constexpr int kRunSetupFailed = 125;   // sbox could not start it: usage, policy, set-up
inline constexpr int kRunNotExecutable = 126;  // PROGRAM was found but cannot be executed
inline constexpr int kRunNotFound = 127;       // PROGRAM is not on PATH
inline constexpr int kRunViolation = 159;      // 128 + SIGSYS: a syscall the policy refuses

// `sbox run [OPTIONS] -- PROGRAM ARGS...` (kRunUsage). Runs PROGRAM confined: its file access
// brokered under the policy's file rules and the --allow-* grants, its syscalls under the
// policy's filter from its first instruction. stdin, stdout and stderr pass through; `err`
// gets sbox's own messages. Returns the exit status.
int RunRun(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The built-in policy's text (policies/default.policy).
extern const char kDefaultPolicyText[];

// Where a shell would find `name` with this PATH: `name` itself when it contains a '/',
// else the first PATH entry (an empty entry is the working directory) holding an executable
// regular file of that name, else the first holding such a file at all (exec then fails with
// EACCES, as in a shell). Empty when there is none.
std::string FindProgram(const std::string& name, const std::string& path_variable);

}  // namespace sbox

#endif  // SBOX_TOOLS_RUN_COMMAND_H_
