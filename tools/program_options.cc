#include "tools/program_options.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "broker/request_path.h"

extern char** environ;

namespace sbox {
namespace {

// The --rlimit-* options: name, resource, and whether the value is bytes (K, M, G allowed).
struct LimitOption {
  const char* name;
  int resource;
  bool bytes;
  const char* unit;
};
constexpr LimitOption kLimitOptions[] = {
    {"--rlimit-as", RLIMIT_AS, true, "bytes"},
    {"--rlimit-cpu", RLIMIT_CPU, false, "seconds"},
    {"--rlimit-fsize", RLIMIT_FSIZE, true, "bytes"},
    {"--rlimit-nofile", RLIMIT_NOFILE, false, "descriptors"},
    {"--rlimit-nproc", RLIMIT_NPROC, false, "processes"},
};

const LimitOption* FindLimitOption(const std::string& name) {
  for (const LimitOption& option : kLimitOptions) {
    if (name == option.name) return &option;
  }
  return nullptr;
}

const LimitOption* FindLimitResource(int resource) {
  for (const LimitOption& option : kLimitOptions) {
    if (option.resource == resource) return &option;
  }
  return nullptr;
}

absl::StatusOr<rlim_t> ParseLimit(const LimitOption& option, const std::string& value) {
  std::string digits = value;
  rlim_t scale = 1;
  if (option.bytes && !digits.empty()) {
    const char suffix = digits.back();
    const rlim_t scales[] = {1ull << 10, 1ull << 20, 1ull << 30};
    if (const size_t at = std::string("KMG").find(suffix); at != std::string::npos) {
      scale = scales[at];
      digits.pop_back();
    }
  }
  uint64_t number = 0;
  if (!absl::SimpleAtoi(digits, &number) || number == 0 || number > (1ull << 62) / scale) {
    return absl::InvalidArgumentError(
        absl::StrCat(option.name, ": expected a positive whole number of ", option.unit,
                     option.bytes ? " (K, M or G may follow)" : "", ", found '", value, "'"));
  }
  return number * scale;
}

// "100 MiB" for whole multiples, else the bytes.
std::string BytesText(rlim_t bytes) {
  for (const auto& [shift, unit] :
       {std::make_pair(30, "GiB"), std::make_pair(20, "MiB"), std::make_pair(10, "KiB")}) {
    if (bytes % (1ull << shift) == 0) return absl::StrCat(bytes >> shift, " ", unit);
  }
  return absl::StrCat(bytes, " bytes");
}

// The option as it could have been given: "--rlimit-as 100 MiB", "--rlimit-cpu 1".
std::string LimitText(int resource, rlim_t value) {
  const LimitOption* option = FindLimitResource(resource);
  return absl::StrCat(option->name, " ", option->bytes ? BytesText(value) : absl::StrCat(value));
}

std::string CurrentDirectory() {
  char buffer[PATH_MAX];
  return getcwd(buffer, sizeof(buffer)) != nullptr ? std::string(buffer) : std::string();
}

}  // namespace

absl::StatusOr<ProgramOptions> ParseProgramOptions(const std::vector<std::string>& args,
                                                   const std::set<std::string>& accepted) {
  ProgramOptions options;
  std::set<std::string> seen;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      options.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (arg == "--help" || arg == "-h") {
      options.help = true;
      return options;
    }
    if (!absl::StartsWith(arg, "-")) {  // the program, without "--"
      options.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    const size_t equals = arg.find('=');
    const std::string name = arg == "-v" ? "--verbose" : arg.substr(0, equals);
    if (accepted.count(name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option '", name, "'"));
    }
    if (ProgramOptionFlags().count(name) != 0) {
      if (equals != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(name, " takes no value"));
      }
      (name == "--private-tmp"          ? options.private_tmp
       : name == "--keep-env-all"       ? options.keep_env_all
       : name == "--allow-jit"          ? options.allow_jit
       : name == "--force"              ? options.force
       : name == "--fast-reads"         ? options.fast_reads
       : name == "--require-landlock"   ? options.require_landlock
       : name == "--require-namespaces" ? options.require_namespaces
                                        : options.verbose) = true;
      continue;
    }
    std::string value;
    if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat(name, " needs a value"));
    }
    if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(name, " is empty"));
    const bool repeatable = name == "--allow-read" || name == "--allow-write" ||
                            name == "--allow-exec" || name == "--setenv" || name == "--keep-env";
    if (!repeatable && !seen.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat(name, " is given twice"));
    }
    if (name == "--allow-read") {
      options.allow_read.push_back(value);
    } else if (name == "--allow-write") {
      options.allow_write.push_back(value);
    } else if (name == "--allow-exec") {
      options.allow_exec.push_back(value);
    } else if (name == "--setenv") {
      const size_t separator = value.find('=');
      if (separator == std::string::npos || separator == 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--setenv: expected NAME=VALUE with a non-empty NAME, found '", value, "'"));
      }
      options.setenv.push_back(value);
    } else if (name == "--keep-env") {
      if (value.find('=') != std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("--keep-env: expected a variable's NAME (no '='), found '", value, "'"));
      }
      options.keep_env.push_back(value);
    } else if (const LimitOption* limit = FindLimitOption(name); limit != nullptr) {
      absl::StatusOr<rlim_t> parsed = ParseLimit(*limit, value);
      if (!parsed.ok()) return parsed.status();
      options.rlimits[limit->resource] = *parsed;
    } else if (name == "--timeout") {
      double seconds = 0;
      if (!absl::SimpleAtod(value, &seconds) || !(seconds > 0) || seconds > 1e9) {
        return absl::InvalidArgumentError(
            absl::StrCat("--timeout: expected a positive number of seconds, found '", value, "'"));
      }
      options.timeout = absl::Seconds(seconds);
    } else if (name == "--report-fd") {
      if (!absl::SimpleAtoi(value, &options.report_fd) || options.report_fd < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--report-fd: expected a descriptor number, found '", value, "'"));
      }
    } else if (name == "--unshare") {
      absl::StatusOr<NamespaceSet> namespaces = ParseNamespaceList(value);
      if (!namespaces.ok()) return namespaces.status();
      options.unshare = *namespaces;
    } else if (name == "--audit-log-max-bytes") {
      // Room for at least the summary line and a few decisions.
      if (!absl::SimpleAtoi(value, &options.audit_log_max_bytes) ||
          options.audit_log_max_bytes < 4096) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--audit-log-max-bytes: expected a whole number of bytes, at least 4096, found '",
            value, "'"));
      }
    } else {
      std::string* target = name == "--policy"   ? &options.policy
                            : name == "--out"    ? &options.out
                            : name == "--merge"  ? &options.merge
                            : name == "--cwd"    ? &options.cwd
                            : name == "--report" ? &options.report
                                                 : &options.audit_log;
      *target = value;
    }
  }
  if (!options.report.empty() && options.report_fd >= 0) {
    return absl::InvalidArgumentError("--report and --report-fd exclude each other");
  }
  if (seen.count("--audit-log-max-bytes") != 0 && options.audit_log.empty()) {
    return absl::InvalidArgumentError("--audit-log-max-bytes needs --audit-log");
  }
  if (options.require_namespaces && options.unshare.empty()) {
    return absl::InvalidArgumentError("--require-namespaces needs --unshare");
  }
  if (options.command.empty()) return absl::InvalidArgumentError("no PROGRAM given");
  return options;
}

absl::StatusOr<NamespaceSet> ParseNamespaceList(const std::string& list) {
  NamespaceSet set;
  for (absl::string_view name : absl::StrSplit(list, ',')) {
    Namespace ns;
    if (name == "all") {
      set = NamespaceSet::All();
    } else if (NamespaceByName(std::string_view(name.data(), name.size()), &ns)) {
      set.Add(ns);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--unshare: expected a comma-separated list of user, net, ipc, uts, pid or all, found '",
          name, "'"));
    }
  }
  return set;
}

absl::StatusOr<std::string> AbsolutePath(const std::string& path, const std::string& cwd) {
  std::string out;
  const char* reason = nullptr;
  if (FoldPathLexically(path, cwd, &out, &reason) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("path '", path, "': ", reason));
  }
  return out;
}

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

int ResolveProgram(const ProgramOptions& options, std::ostream& err, ProgramToRun* out) {
  const std::string here = CurrentDirectory();
  if (here.empty()) return Report(err, kRunSetupFailed, absl::StrCat("getcwd: ", strerror(errno)));
  out->cwd = here;
  if (!options.cwd.empty()) {
    absl::StatusOr<std::string> dir = AbsolutePath(options.cwd, here);
    struct stat st;
    if (!dir.ok() || stat(dir->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Report(err, kRunSetupFailed, absl::StrCat("--cwd ", options.cwd, ": not a directory"));
    }
    out->cwd = *dir;
  }
  const char* path_variable = getenv("PATH");
  out->path =
      FindProgram(options.command[0], path_variable != nullptr ? path_variable : "/usr/bin:/bin");
  if (out->path.empty()) {
    return Report(err, kRunNotFound, absl::StrCat(options.command[0], ": command not found"));
  }
  // The program starts in --cwd; a path found relative to this directory must still name it.
  if (out->path[0] != '/') out->path = absl::StrCat(here, "/", out->path);
  struct stat st;
  if (stat(out->path.c_str(), &st) != 0) {
    return Report(err, kRunNotFound, absl::StrCat(options.command[0], ": ", strerror(errno)));
  }
  if (S_ISDIR(st.st_mode) || access(out->path.c_str(), X_OK) != 0) {
    return Report(err, kRunNotExecutable,
                  absl::StrCat(options.command[0], ": ",
                               S_ISDIR(st.st_mode) ? "Is a directory" : "Permission denied"));
  }
  return 0;
}

int ExitStatusOf(const SandboxResult& result, const ProgramOptions& options, std::ostream& err) {
  switch (result.outcome) {
    case SandboxResult::Outcome::kExited:
      return result.exit_code;
    case SandboxResult::Outcome::kSignaled: {
      const auto limit = [&](int resource) -> std::string {
        const auto found = options.rlimits.find(resource);
        return found == options.rlimits.end() ? "" : LimitText(resource, found->second);
      };
      const char* abbreviation = sigabbrev_np(result.signal);
      const std::string signal = abbreviation != nullptr
                                     ? absl::StrCat("killed by SIG", abbreviation)
                                     : absl::StrCat("killed by signal ", result.signal);
      if (result.signal == SIGXCPU) {
        const std::string set = limit(RLIMIT_CPU);
        Report(err, 0,
               absl::StrCat(signal, ": the CPU time limit ran out",
                            set.empty() ? " (inherited by sbox)" : absl::StrCat(" (", set, ")")));
      } else if (result.signal == SIGXFSZ) {
        const std::string set = limit(RLIMIT_FSIZE);
        Report(err, 0,
               absl::StrCat(signal, ": a write went past the file size limit",
                            set.empty() ? " (inherited by sbox)" : absl::StrCat(" (", set, ")")));
      } else if (const std::string set = limit(RLIMIT_CPU);
                 result.signal == SIGKILL && !set.empty()) {
        Report(err, 0,
               absl::StrCat(signal, "; ", set,
                            " (the kernel kills at the hard limit, a second after SIGXCPU)"));
      } else if (const std::string set = limit(RLIMIT_AS);
                 (result.signal == SIGSEGV || result.signal == SIGBUS ||
                  result.signal == SIGABRT) &&
                 !set.empty()) {
        Report(err, 0, absl::StrCat(signal, "; ", set, " (an allocation it refused may be why)"));
      }
      return 128 + result.signal;
    }
    case SandboxResult::Outcome::kTimedOut:
      return Report(err, kRunTimedOut,
                    absl::StrCat("timed out after ", absl::FormatDuration(options.timeout),
                                 "; killed ", options.command[0]));
    case SandboxResult::Outcome::kViolation:
      break;
  }
  return kRunViolation;
}

int ParseOrExplain(const std::vector<std::string>& args, const std::set<std::string>& accepted,
                   const char* command, const char* usage, std::ostream& out, std::ostream& err,
                   ProgramOptions* options) {
  absl::StatusOr<ProgramOptions> parsed = ParseProgramOptions(args, accepted);
  if (!parsed.ok()) {
    err << "sbox " << command << ": " << parsed.status().message() << "\n" << usage;
    return kRunSetupFailed;
  }
  if (parsed->help) {
    out << usage;
    return 0;
  }
  *options = *std::move(parsed);
  return -1;
}

int PrepareProgram(const std::vector<std::string>& args, const std::set<std::string>& accepted,
                   const char* command, const char* usage, std::ostream& out, std::ostream& err,
                   ProgramOptions* options, ProgramToRun* program) {
  if (const int status = ParseOrExplain(args, accepted, command, usage, out, err, options);
      status >= 0) {
    return status;
  }
  const int status = ResolveProgram(*options, err, program);
  return status == 0 ? -1 : status;
}

int OpenAuditLog(const ProgramOptions& options, const char* command, std::ostream& err,
                 std::unique_ptr<JsonLinesAuditLog>* log) {
  if (options.audit_log.empty()) return 0;
  AuditLogLimits limits;
  limits.max_bytes = options.audit_log_max_bytes;
  absl::StatusOr<std::unique_ptr<JsonLinesAuditLog>> opened =
      JsonLinesAuditLog::Open(options.audit_log, limits);
  if (!opened.ok()) {
    return Report(err, kRunSetupFailed,
                  absl::StrCat(command, ": --audit-log: ", opened.status().message()));
  }
  *log = *std::move(opened);
  return 0;
}

std::vector<std::string> Environment() {
  std::vector<std::string> variables;
  for (char** e = environ; *e != nullptr; ++e) variables.emplace_back(*e);
  return variables;
}

std::vector<std::string> ProgramEnvironment(const ProgramOptions& options,
                                            const std::vector<std::string>& caller,
                                            const std::string& private_tmp) {
  std::map<std::string, std::string> by_name;  // NAME -> "NAME=value"
  const auto name_of = [](const std::string& variable) {
    return variable.substr(0, variable.find('='));
  };
  std::map<std::string, std::string> callers;
  for (const std::string& variable : caller) callers.emplace(name_of(variable), variable);
  const auto keep = [&](const std::string& name) {
    if (const auto found = callers.find(name); found != callers.end())
      by_name[name] = found->second;
  };
  if (options.keep_env_all) {
    by_name = callers;
  } else {
    by_name["PATH"] = absl::StrCat("PATH=", kProgramPath);
    for (const char* name : {"HOME", "LANG", "LANGUAGE", "TZ", "TERM", "TMPDIR"}) keep(name);
    // The locale decides what a program prints (sort order, numbers, dates), and holds nothing
    // secret: without it the same program would print differently inside.
    for (const auto& [name, variable] : callers) {
      if (absl::StartsWith(name, "LC_")) by_name[name] = variable;
    }
  }
  if (!private_tmp.empty()) by_name["TMPDIR"] = absl::StrCat("TMPDIR=", private_tmp);
  for (const std::string& name : options.keep_env) keep(name);
  for (const std::string& variable : options.setenv) by_name[name_of(variable)] = variable;
  std::vector<std::string> variables;
  for (auto& [name, variable] : by_name) variables.push_back(std::move(variable));
  return variables;
}

int Report(std::ostream& err, int status, const std::string& text) {
  err << "sbox: " << text << "\n";
  return status;
}

}  // namespace sbox
