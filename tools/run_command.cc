#include "tools/run_command.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "broker/audit_log.h"
#include "broker/file_policy.h"
#include "broker/launcher.h"
#include "broker/policy_text.h"
#include "broker/request_path.h"
#include "broker/syscall_policy.h"
#include "tools/violation_advice.h"

extern char** environ;

namespace sbox {
namespace {

constexpr char kRunUsage[] = R"(usage: sbox run [OPTIONS] -- PROGRAM [ARGS...]

Runs PROGRAM (found on PATH as a shell would) confined: a seccomp filter from its first
instruction, and every file it opens checked and opened by the broker.

options:
  --policy FILE        the policy (broker/POLICY_FORMAT.md); default: the built-in policy
                       (policies/default.policy: read what is granted, write stdout and
                       stderr, no network, no exec, no new files)
  --allow-read PATH    grant reading PATH: a file, or a whole tree when PATH is a directory
  --allow-write PATH   grant reading, writing, creating and deleting PATH (a file or a tree)
  --cwd DIR            the program's working directory (default: the current one)
  --audit-log FILE     append every file decision of the broker to FILE, one JSON object a line
  --timeout SECONDS    kill the program after this long (a positive number, fractions allowed)
  --help               this text

exit status: the program's own; 128+N when signal N killed it; 159 when it made a syscall the
policy refuses (one line on stderr names the call and the policy line); 124 when it timed
out; 125 when sbox could not start it (usage, policy or set-up error); 126 when PROGRAM is not
executable; 127 when it is not found
)";

struct RunFlags {
  std::string policy;
  std::vector<std::string> allow_read;
  std::vector<std::string> allow_write;
  std::string cwd;
  std::string audit_log;
  absl::Duration timeout = absl::InfiniteDuration();
  std::vector<std::string> command;
  bool help = false;
};

absl::StatusOr<RunFlags> ParseFlags(const std::vector<std::string>& args) {
  RunFlags flags;
  size_t i = 0;
  // Each option takes a value, either as the next argument or after '='.
  const auto value_of = [&](const std::string& arg, const std::string& name,
                            std::string* value) -> absl::StatusOr<bool> {
    if (arg == name) {
      if (i + 1 >= args.size()) return absl::InvalidArgumentError(name + " needs a value");
      *value = args[++i];
      return true;
    }
    if (absl::StartsWith(arg, name + "=")) {
      *value = arg.substr(name.size() + 1);
      return true;
    }
    return false;
  };
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      flags.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
      return flags;
    }
    if (!absl::StartsWith(arg, "-")) {  // the program, without "--"
      flags.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    std::string value;
    bool matched = false;
    for (const auto& [name, target] : std::initializer_list<std::pair<const char*, std::string*>>{
             {"--policy", &flags.policy}, {"--cwd", &flags.cwd}, {"--audit-log", &flags.audit_log}}) {
      absl::StatusOr<bool> m = value_of(arg, name, &value);
      if (!m.ok()) return m.status();
      if (*m) {
        if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(name, " is empty"));
        *target = value;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    for (const auto& [name, target] :
         std::initializer_list<std::pair<const char*, std::vector<std::string>*>>{
             {"--allow-read", &flags.allow_read}, {"--allow-write", &flags.allow_write}}) {
      absl::StatusOr<bool> m = value_of(arg, name, &value);
      if (!m.ok()) return m.status();
      if (*m) {
        if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(name, " is empty"));
        target->push_back(value);
        matched = true;
        break;
      }
    }
    if (matched) continue;
    absl::StatusOr<bool> timeout = value_of(arg, "--timeout", &value);
    if (!timeout.ok()) return timeout.status();
    if (*timeout) {
      double seconds = 0;
      if (!absl::SimpleAtod(value, &seconds) || !(seconds > 0) || seconds > 1e9) {
        return absl::InvalidArgumentError(
            absl::StrCat("--timeout: expected a positive number of seconds, found '", value, "'"));
      }
      flags.timeout = absl::Seconds(seconds);
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat("unknown option '", arg, "'"));
  }
  if (flags.command.empty()) return absl::InvalidArgumentError("no PROGRAM given");
  return flags;
}

// `path` made absolute against `cwd` and normalized lexically ("." and ".." folded, "//" and a
// trailing '/' dropped), the form the policy takes.
absl::StatusOr<std::string> AbsolutePath(const std::string& path, const std::string& cwd) {
  const bool absolute = absl::StartsWith(path, "/");
  const std::string joined = absl::StrJoin(absl::StrSplit(path, '/', absl::SkipEmpty()), "/");
  if (joined.empty()) return absolute ? std::string("/") : cwd;
  std::string out;
  const char* reason = nullptr;
  if (ResolveRequestPath(joined, absolute ? "/" : cwd, 0, &out, &reason) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("path '", path, "': ", reason));
  }
  return out;
}

std::string CurrentDirectory() {
  char buffer[PATH_MAX];
  return getcwd(buffer, sizeof(buffer)) != nullptr ? std::string(buffer) : std::string();
}

absl::Status AddGrant(FilePolicy::Builder& files, const std::string& path, bool write) {
  struct stat st;
  const bool directory = stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  const Permissions permissions = write ? (kRead | kWrite | kCreate | kDelete) : kRead;
  if (!write && stat(path.c_str(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("--allow-read ", path));
  }
  if (directory) {
    files.AllowTree(path, permissions);
  } else {
    files.AllowFile(path, permissions);
  }
  return absl::OkStatus();
}

// The one line that explains a status sbox chose, for stderr.
int Report(std::ostream& err, int status, const std::string& text) {
  err << "sbox: " << text << "\n";
  return status;
}

}  // namespace

std::string FindProgram(const std::string& name, const std::string& path_variable) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return name;
  std::string found_not_executable;
  for (absl::string_view dir : absl::StrSplit(path_variable, ':')) {
    const std::string candidate =
        dir.empty() ? name : absl::StrCat(dir, absl::EndsWith(dir, "/") ? "" : "/", name);
    struct stat st;
    if (stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (found_not_executable.empty()) found_not_executable = candidate;
  }
  return found_not_executable;
}

int RunRun(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<RunFlags> flags = ParseFlags(args);
  if (!flags.ok()) {
    err << "sbox run: " << flags.status().message() << "\n" << kRunUsage;
    return kRunSetupFailed;
  }
  if (flags->help) {
    out << kRunUsage;
    return 0;
  }

  const std::string here = CurrentDirectory();
  if (here.empty()) return Report(err, kRunSetupFailed, "run: getcwd failed");
  std::string cwd = here;
  if (!flags->cwd.empty()) {
    absl::StatusOr<std::string> dir = AbsolutePath(flags->cwd, here);
    if (!dir.ok()) return Report(err, kRunSetupFailed, absl::StrCat("run: --cwd: ", dir.status().message()));
    struct stat st;
    if (stat(dir->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Report(err, kRunSetupFailed,
                    absl::StrCat("run: --cwd ", *dir, ": not a directory"));
    }
    cwd = *dir;
  }

  const char* path_env = getenv("PATH");
  std::string program =
      FindProgram(flags->command[0], path_env != nullptr ? path_env : "/usr/bin:/bin");
  // The program starts in --cwd; a path found relative to this directory must still name it.
  if (!program.empty() && program[0] != '/') program = absl::StrCat(here, "/", program);
  if (program.empty()) {
    return Report(err, kRunNotFound, absl::StrCat(flags->command[0], ": command not found"));
  }
  {
    struct stat st;
    if (stat(program.c_str(), &st) != 0) {
      return Report(err, kRunNotFound,
                    absl::StrCat(program, ": ", strerror(errno)));
    }
    if (S_ISDIR(st.st_mode) || access(program.c_str(), X_OK) != 0) {
      return Report(err, kRunNotExecutable,
                    absl::StrCat(program, ": ", S_ISDIR(st.st_mode) ? "Is a directory"
                                                                     : "Permission denied"));
    }
  }

  const std::string policy_name = flags->policy.empty() ? "the built-in policy" : flags->policy;
  absl::StatusOr<ParsedPolicy> parsed =
      flags->policy.empty() ? ParsePolicyText(kDefaultPolicyText, "policies/default.policy")
                            : ParsePolicyFile(flags->policy);
  if (!parsed.ok()) {
    return Report(err, kRunSetupFailed, absl::StrCat("run: ", parsed.status().message()));
  }
  for (const auto& [paths, write] :
       {std::make_pair(&flags->allow_read, false), std::make_pair(&flags->allow_write, true)}) {
    for (const std::string& given : *paths) {
      absl::StatusOr<std::string> path = AbsolutePath(given, here);
      absl::Status added = path.ok() ? AddGrant(parsed->files, *path, write) : path.status();
      if (!added.ok()) {
        return Report(err, kRunSetupFailed, absl::StrCat("run: ", added.message()));
      }
    }
  }
  absl::StatusOr<FilePolicy> files = parsed->files.Build();
  if (!files.ok()) {
    return Report(err, kRunSetupFailed,
                  absl::StrCat("run: ", policy_name, ": ", files.status().message()));
  }
  absl::StatusOr<SyscallPolicy> syscalls = parsed->syscalls.Build(Redirection::kUserNotification);
  if (!syscalls.ok()) {
    return Report(err, kRunSetupFailed,
                  absl::StrCat("run: ", policy_name, ": ", syscalls.status().message()));
  }
  if (!syscalls->redirection().has_value()) {
    return Report(err, kRunSetupFailed,
                  absl::StrCat("run: ", policy_name,
                               " has no `allow group file-redirection`: the program could not "
                               "open a file, not even its shared libraries"));
  }

  std::unique_ptr<JsonLinesAuditLog> audit_log;
  if (!flags->audit_log.empty()) {
    absl::StatusOr<std::unique_ptr<JsonLinesAuditLog>> opened =
        JsonLinesAuditLog::Open(flags->audit_log);
    if (!opened.ok()) {
      return Report(err, kRunSetupFailed, absl::StrCat("run: --audit-log: ", opened.status().message()));
    }
    audit_log = *std::move(opened);
  }

  Launcher launcher(*std::move(files), *std::move(syscalls));
  launcher.SetWorkingDirectory(cwd).SetTimeout(flags->timeout);
  if (audit_log != nullptr) launcher.SetDecisionLog(audit_log->AsLog());

  Program spec;
  spec.path = program;
  spec.argv = flags->command;
  for (char** e = environ; *e != nullptr; ++e) spec.env.emplace_back(*e);

  absl::StatusOr<SandboxResult> result = launcher.RunProgram(spec);
  if (!result.ok()) {
    return Report(err, kRunSetupFailed, absl::StrCat("run: ", result.status().message()));
  }
  switch (result->outcome) {
    case SandboxResult::Outcome::kExited:
      return result->exit_code;
    case SandboxResult::Outcome::kSignaled:
      return 128 + result->signal;
    case SandboxResult::Outcome::kTimedOut:
      return Report(err, kRunTimedOut,
                    absl::StrCat("timed out after ", absl::FormatDuration(flags->timeout),
                                 "; killed ", flags->command[0]));
    case SandboxResult::Outcome::kViolation: {
      // The advice carries the suggestion, with the policy line it concerns.
      SyscallViolation call = *result->violation;
      call.suggested_rule.clear();
      return Report(err, kRunViolation,
                    absl::StrCat("policy violation: ", call.ToString(), "; ",
                                 ViolationAdvice(parsed->rules, policy_name, *result->violation)));
    }
  }
  return kRunSetupFailed;
}

}  // namespace sbox
