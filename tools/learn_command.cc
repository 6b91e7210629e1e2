#include "tools/learn_command.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <set>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/audit_log.h"
#include "broker/file_policy.h"
#include "broker/syscall_policy.h"
#include "launcher/launcher.h"
#include "proto/unique_fd.h"
#include "tools/policy_learner.h"

namespace sbox {
namespace {

constexpr char kLearnUsage[] = R"(usage: sbox learn [OPTIONS] -- PROGRAM [ARGS...]

Runs PROGRAM once with every file access granted and every syscall let through, recording
both, then writes a policy under which runs of the same kind pass: the groups of calls it
used, one tree for the directory it created files in, its installation's package
directories, private-tmp for its temporary files (tools/README.md):

  sbox learn --out prog.policy -- prog input1
  sbox learn --merge prog.policy --out prog.policy -- prog input2
  sbox audit --lint prog.policy
  sbox run --policy prog.policy --allow-read dir3 -- prog dir3/input3

While learning the program is NOT confined: give it inputs you trust.

options:
  --out FILE           write the policy to FILE (default: standard output, after the program);
                       an existing FILE needs --force, unless it is the --merge POLICY
  --merge POLICY       add this run to POLICY, which an earlier sbox learn wrote: the result
                       allows both
  --force              overwrite an existing --out FILE
  --cwd DIR            the program's working directory (default: the current one)
  --audit-log FILE     append every file request to FILE, one JSON object a line
  --audit-log-max-bytes N
                       write at most N bytes to the audit log (default 64 MiB)
  --timeout SECONDS    kill the program after this long
  --setenv NAME=VALUE  set a variable in the program's environment (repeatable)
  --keep-env NAME      pass the caller's NAME on to the program (repeatable)
  --keep-env-all       pass the caller's whole environment on
  --rlimit-as BYTES, --rlimit-cpu SECONDS, --rlimit-fsize BYTES, --rlimit-nofile N,
  --rlimit-nproc N     resource limits, as for sbox run
  --help               this text

environment: as under sbox run, so that the policy is learned under the environment it will run
under: PATH=/usr/local/bin:/usr/bin:/bin, and the caller's HOME, LANG, TZ, TERM and TMPDIR
when set; nothing else unless --keep-env, --keep-env-all or --setenv says so

exit status: as sbox run: the program's own, 128+N for signal N, 124 timed out, 125 sbox
could not start it, 126 not executable, 127 not found. A run that did not exit 0, or that
made calls the learner could not record, gets a "sbox learn: warning:" line: the policy may
be incomplete.
)";

std::string CommandLine(const std::vector<std::string>& command) {
  std::vector<std::string> words;
  for (const std::string& word : command) {
    words.push_back(
        word.find_first_of(" \t\n'\"") == std::string::npos ? word : absl::StrCat("'", word, "'"));
  }
  return absl::StrJoin(words, " ");
}

// Reads a whole file of at most `limit` bytes; `identity` gets its fstat.
absl::StatusOr<std::string> ReadPolicy(const std::string& path, size_t limit,
                                       struct stat* identity) {
  const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() || fstat(fd.get(), identity) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": ", strerror(errno)));
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError(absl::StrCat(path, ": ", strerror(errno)));
    if (n == 0) return text;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > limit) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": larger than ", limit, " bytes"));
    }
  }
}

// The temporary directories of this environment: /tmp, and $TMPDIR when it names another.
std::vector<std::string> TemporaryDirectories(const std::string& cwd) {
  std::vector<std::string> directories = {"/tmp"};
  const char* tmpdir = getenv("TMPDIR");
  if (tmpdir == nullptr || *tmpdir == '\0') return directories;
  absl::StatusOr<std::string> path = AbsolutePath(tmpdir, cwd);
  if (path.ok() && *path != "/" && *path != "/tmp") directories.push_back(*path);
  return directories;
}

// Why the policy may not allow everything the program does, one sentence each.
std::vector<std::string> Warnings(const SandboxResult& result, const PolicyLearner& learner,
                                  const std::string& program) {
  std::vector<std::string> warnings;
  if (!result.ok()) {
    warnings.push_back(
        absl::StrCat(program, " ", result.ToString(), ": the policy has what it did up to then"));
  }
  for (std::string& problem : learner.Incomplete()) warnings.push_back(std::move(problem));
  return warnings;
}

}  // namespace

int RunLearn(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  ProgramOptions options;
  ProgramToRun program;
  std::set<std::string> accepted = {
      "--out", "--merge", "--force", "--cwd", "--audit-log", "--audit-log-max-bytes", "--timeout"};
  accepted.insert(EnvironmentAndLimitOptions().begin(), EnvironmentAndLimitOptions().end());
  if (const int status =
          PrepareProgram(args, accepted, "learn", kLearnUsage, out, err, &options, &program);
      status >= 0) {
    return status;
  }

  PolicyLearner learner(TemporaryDirectories(program.cwd));
  // Read before --out is opened: they may be the same file.
  struct stat merged = {};
  if (!options.merge.empty()) {
    constexpr size_t kMaxPolicyBytes = 1 << 20;  // as an include
    absl::StatusOr<std::string> text = ReadPolicy(options.merge, kMaxPolicyBytes, &merged);
    if (!text.ok()) {
      return Report(err, kRunSetupFailed, absl::StrCat("learn: --merge ", text.status().message()));
    }
    if (const absl::Status status = learner.Merge(*text, options.merge); !status.ok()) {
      return Report(err, kRunSetupFailed, absl::StrCat("learn: --merge ", status.message()));
    }
  }
  // Opened first, so that a bad --out is found before the program runs; emptied only when the
  // policy is written.
  UniqueFd policy_file;
  if (!options.out.empty()) {
    struct stat existing;
    const bool exists = stat(options.out.c_str(), &existing) == 0;
    const bool is_merged = exists && !options.merge.empty() && existing.st_dev == merged.st_dev &&
                           existing.st_ino == merged.st_ino;
    if (exists && !is_merged && !options.force) {
      return Report(err, kRunSetupFailed,
                    absl::StrCat("learn: --out ", options.out,
                                 " exists; give --force to overwrite it, or --merge ", options.out,
                                 " to add this run to it"));
    }
    policy_file.reset(open(options.out.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!policy_file.valid()) {
      return Report(err, kRunSetupFailed,
                    absl::StrCat("learn: --out ", options.out, ": ", strerror(errno)));
    }
  }
  std::unique_ptr<JsonLinesAuditLog> audit_log;
  if (const int status = OpenAuditLog(options, "learn", err, &audit_log); status != 0) {
    return status;
  }

  // Everything granted, so that every access is seen; the broker still performs each one.
  // Every mode too, so that the run shows which modes the program sets.
  absl::StatusOr<FilePolicy> files =
      FilePolicy::Builder().AllowTree("/", kAllPermissions).SetCreateModes(0777, 0777).Build();
  // Only the redirected file calls are answered; every other call reaches the default action,
  // a notification the launcher passes to the learner and lets through. clone3 answers ENOSYS
  // as under the learned policy, so glibc's fallback to clone is what gets learned.
  SyscallPolicy::Builder learning;
  learning.AllowGroup(SyscallGroup::kFileRedirection).ReturnErrno("clone3", ENOSYS);
  absl::StatusOr<SyscallPolicy> syscalls = learning.Build(Redirection::kUserNotification);
  if (!files.ok() || !syscalls.ok()) {
    return Report(
        err, kRunSetupFailed,
        absl::StrCat("learn: ", (files.ok() ? syscalls.status() : files.status()).message()));
  }

  const DecisionLog log = audit_log != nullptr ? audit_log->AsLog() : DecisionLog();
  Launcher launcher(*std::move(files), *std::move(syscalls));
  launcher.SetWorkingDirectory(program.cwd)
      .SetTimeout(options.timeout)
      .SetDecisionLog([&learner, log](const Decision& decision) {
        learner.AddDecision(decision);
        if (log) log(decision);
      })
      .ObserveAndLetThrough([&learner](const seccomp_data& call) {
        learner.AddSyscall(call.nr, reinterpret_cast<const uint64_t*>(call.args));
      });
  for (const auto& [resource, value] : options.rlimits) launcher.SetResourceLimit(resource, value);
  Program spec;
  spec.path = program.path;
  spec.argv = options.command;
  spec.env = ProgramEnvironment(options, Environment(), "");

  absl::StatusOr<SandboxResult> result = launcher.RunProgram(spec);
  if (!result.ok()) {
    return Report(err, kRunSetupFailed, absl::StrCat("learn: ", result.status().message()));
  }
  const std::string text = learner.PolicyText(CommandLine(options.command));
  if (policy_file.valid()) {
    if (ftruncate(policy_file.get(), 0) != 0) {
      return Report(err, kRunSetupFailed,
                    absl::StrCat("learn: emptying ", options.out, ": ", strerror(errno)));
    }
    size_t written = 0;
    while (written < text.size()) {
      const ssize_t n = write(policy_file.get(), text.data() + written, text.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return Report(err, kRunSetupFailed,
                      absl::StrCat("learn: writing ", options.out, ": ", strerror(errno)));
      }
      written += static_cast<size_t>(n);
    }
    err << "sbox learn: wrote " << options.out << "; check it with: sbox audit --lint "
        << options.out << "\n";
  } else {
    out << text;
  }
  for (const std::string& warning : Warnings(*result, learner, options.command[0])) {
    err << "sbox learn: warning: " << warning << "; the policy may be incomplete\n";
  }
  if (result->outcome == SandboxResult::Outcome::kViolation) {
    // Only a call of another architecture is refused while learning.
    return Report(err, kRunViolation,
                  absl::StrCat("learn: the program made a call sbox cannot allow: ",
                               result->violation->ToString()));
  }
  return ExitStatusOf(*result, options, err);
}

}  // namespace sbox
