#ifndef SBOX_TOOLS_PROGRAM_OPTIONS_H_
#define SBOX_TOOLS_PROGRAM_OPTIONS_H_

#include <sys/resource.h>

#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/audit_log.h"
#include "broker/sandbox_result.h"
#include "proto/namespaces.h"

namespace sbox {

// The exit statuses of `sbox run` and `sbox learn` besides the program's own exit code
// (0..255) and 128+N when a signal N killed it. A program may exit with these values too; the
// line sbox writes on stderr for each of them tells the cases apart.
inline constexpr int kRunTimedOut = 124;       // the program ran past --timeout and was killed
inline constexpr int kRunSetupFailed = 125;    // sbox could not start it: usage, policy, set-up
inline constexpr int kRunNotExecutable = 126;  // PROGRAM was found but cannot be executed
inline constexpr int kRunNotFound = 127;       // PROGRAM is not on PATH
inline constexpr int kRunViolation = 159;      // 128 + SIGSYS: a syscall the policy refuses

// The options of the commands that run a program, `sbox run` and `sbox learn`, as given.
struct ProgramOptions {
  std::string policy;                                        // --policy
  std::vector<std::string> allow_read;                       // --allow-read, repeatable
  std::vector<std::string> allow_write;                      // --allow-write, repeatable
  std::vector<std::string> allow_exec;                       // --allow-exec, repeatable
  std::string out;                                           // --out
  std::string merge;                                         // --merge POLICY
  bool force = false;                                        // --force
  std::string cwd;                                           // --cwd
  std::string audit_log;                                     // --audit-log
  int64_t audit_log_max_bytes = AuditLogLimits().max_bytes;  // --audit-log-max-bytes
  absl::Duration timeout = absl::InfiniteDuration();         // --timeout SECONDS
  std::string report;                                        // --report FILE
  int report_fd = -1;                                        // --report-fd N
  bool private_tmp = false;                                  // --private-tmp
  std::vector<std::string> setenv;                           // --setenv NAME=VALUE, repeatable
  std::vector<std::string> keep_env;                         // --keep-env NAME, repeatable
  bool keep_env_all = false;                                 // --keep-env-all
  bool verbose = false;                                      // -v, --verbose
  bool allow_jit = false;                                    // --allow-jit
  bool fast_reads = false;                                   // --fast-reads
  bool require_landlock = false;                             // --require-landlock
  NamespaceSet unshare;                                      // --unshare LIST
  bool require_namespaces = false;                           // --require-namespaces
  // --rlimit-as, --rlimit-cpu, --rlimit-fsize, --rlimit-nofile, --rlimit-nproc: RLIMIT_* to
  // the value (bytes, seconds or a count).
  std::map<int, rlim_t> rlimits;
  std::vector<std::string> command;  // PROGRAM ARGS..., after "--" or the first non-option
  bool help = false;                 // --help or -h
};

// The options that take no value; every other option takes one.
inline const std::set<std::string>& ProgramOptionFlags() {
  static const std::set<std::string>* const flags = new std::set<std::string>{
      "--private-tmp", "--keep-env-all", "--verbose",          "--allow-jit",
      "--force",       "--fast-reads",   "--require-landlock", "--require-namespaces"};
  return *flags;
}

// The options of the program's environment and resource limits, which `sbox run` and
// `sbox learn` both take.
inline const std::set<std::string>& EnvironmentAndLimitOptions() {
  static const std::set<std::string>* const options = new std::set<std::string>{
      "--setenv",     "--keep-env",     "--keep-env-all",  "--rlimit-as",
      "--rlimit-cpu", "--rlimit-fsize", "--rlimit-nofile", "--rlimit-nproc"};
  return *options;
}

// The PATH a program gets unless --keep-env PATH or --setenv PATH=... says otherwise.
inline constexpr char kProgramPath[] = "/usr/local/bin:/usr/bin:/bin";

// Parses `args` (after the command's name). Options take a value as the next argument or after
// '=', but the flags of ProgramOptionFlags() (and -v), which take none; `accepted` names those
// this command takes. InvalidArgument naming the option for an unknown or repeated-but-single
// option, a missing or empty value, a value given to a flag (--force among them), a --timeout that
// is not a positive number of seconds, an --audit-log-max-bytes that is not a whole number of at
// least 4096 or comes without --audit-log, a --report-fd that is not a number, --report and
// --report-fd together, an --unshare list with a name that is none of user, net, ipc, uts, pid and
// all, --require-namespaces without --unshare, a --setenv without '=' or with an empty name, a
// --keep-env name that is empty or holds '=', an --rlimit-* value that is not a positive whole
// number (BYTES may end in K, M or G, powers of 1024), or no PROGRAM.
absl::StatusOr<ProgramOptions> ParseProgramOptions(const std::vector<std::string>& args,
                                                   const std::set<std::string>& accepted);

// "net,pid" -> {net, pid}; "all" is every namespace. InvalidArgument naming the first name that
// is none of user, net, ipc, uts, pid and all (an empty one included).
absl::StatusOr<NamespaceSet> ParseNamespaceList(const std::string& list);

// `path` made absolute against `cwd` and normalized lexically ("." and ".." folded, "//" and a
// trailing '/' dropped), the form a policy takes.
absl::StatusOr<std::string> AbsolutePath(const std::string& path, const std::string& cwd);

// Where a shell would find `name` with this PATH: `name` itself when it contains a '/', else
// the first PATH entry (an empty entry is the working directory) holding an executable regular
// file of that name, else the first holding such a file at all (exec then fails with EACCES, as
// in a shell). Empty when there is none.
std::string FindProgram(const std::string& name, const std::string& path_variable);

// What both commands settle before launching: the program's working directory (absolute) and
// its executable (absolute, found on $PATH).
struct ProgramToRun {
  std::string cwd;
  std::string path;
};

// Resolves --cwd and PROGRAM into `out`. Returns 0, or writes the one line that explains the
// failure to `err` and returns the exit status: kRunSetupFailed for a --cwd that is not a
// directory (or getcwd failing), kRunNotFound, kRunNotExecutable.
int ResolveProgram(const ProgramOptions& options, std::ostream& err, ProgramToRun* out);

// The exit status for a finished run that was not a violation: the program's code, 128+N, or
// kRunTimedOut with its line on `err`. A program killed by a signal that tells which resource
// limit ended it gets a line saying so: SIGXCPU (the CPU time limit), SIGXFSZ (the file size
// limit). For a signal that only may come from a limit (SIGKILL under --rlimit-cpu, the kernel's
// answer at the hard limit; SIGSEGV, SIGBUS or SIGABRT under --rlimit-as, the usual ends of a
// refused allocation) the line names the limit as a hint, not as the cause.
int ExitStatusOf(const SandboxResult& result, const ProgramOptions& options, std::ostream& err);

// Parses `args` as ParseProgramOptions does; prints `usage` to `out` for --help (status 0), or
// to `err` after the parse error (kRunSetupFailed). Returns -1 when the command goes on, with
// `options` filled, else the exit status. `command` ("run") names the command in messages.
int ParseOrExplain(const std::vector<std::string>& args, const std::set<std::string>& accepted,
                   const char* command, const char* usage, std::ostream& out, std::ostream& err,
                   ProgramOptions* options);

// What `sbox run` and `sbox learn` do first: parse `args`, taking the options in `accepted`;
// print `usage` to `out` for --help (status 0), or to `err` after the parse error
// (kRunSetupFailed); then resolve the program (ResolveProgram). Returns -1 when the command
// goes on, with `options` and `program` filled, else the exit status. `command` ("run") names
// the command in messages.
int PrepareProgram(const std::vector<std::string>& args, const std::set<std::string>& accepted,
                   const char* command, const char* usage, std::ostream& out, std::ostream& err,
                   ProgramOptions* options, ProgramToRun* program);

// Opens --audit-log, if given, into `log`, bounded by --audit-log-max-bytes. Returns 0, or
// kRunSetupFailed after its line on `err`.
int OpenAuditLog(const ProgramOptions& options, const char* command, std::ostream& err,
                 std::unique_ptr<JsonLinesAuditLog>* log);

// This process's environment ("NAME=value" each).
std::vector<std::string> Environment();

// The program's environment, from the caller's (`caller`, "NAME=value" each):
//   - PATH is kProgramPath; HOME, LANG, LANGUAGE, every LC_* (the locale, which decides what
//     a program prints), TZ and TERM are the caller's, when set;
//   - TMPDIR is `private_tmp` when it is not empty (--private-tmp), else the caller's, when set;
//   - --keep-env-all keeps every variable of the caller's (PATH too), and --keep-env NAME the
//     caller's NAME, when set;
//   - then each --setenv NAME=VALUE, in order (the last for a name wins), over all of these.
// Nothing else of the caller's: a secret in its environment does not reach the program. The
// launcher adds SBOX_BROKER_FD. Sorted by name.
std::vector<std::string> ProgramEnvironment(const ProgramOptions& options,
                                            const std::vector<std::string>& caller,
                                            const std::string& private_tmp);

// Writes "sbox: TEXT" on its own line to `err` and returns `status`.
int Report(std::ostream& err, int status, const std::string& text);

}  // namespace sbox

#endif  // SBOX_TOOLS_PROGRAM_OPTIONS_H_
