#include "tools/learn_command.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
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
both, then writes the smallest policy under which the same run passes:

  sbox learn --out prog.policy -- prog input
  sbox audit --lint prog.policy
  sbox run --policy prog.policy -- prog input

While learning the program is NOT confined: give it inputs you trust.

options:
  --out FILE           write the policy to FILE (default: standard output, after the program)
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
could not start it, 126 not executable, 127 not found
)";

std::string CommandLine(const std::vector<std::string>& command) {
  std::vector<std::string> words;
  for (const std::string& word : command) {
    words.push_back(
        word.find_first_of(" \t\n'\"") == std::string::npos ? word : absl::StrCat("'", word, "'"));
  }
  return absl::StrJoin(words, " ");
}

}  // namespace

int RunLearn(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  ProgramOptions options;
  ProgramToRun program;
  std::set<std::string> accepted = {"--out", "--cwd", "--audit-log", "--audit-log-max-bytes",
                                    "--timeout"};
  accepted.insert(EnvironmentAndLimitOptions().begin(), EnvironmentAndLimitOptions().end());
  if (const int status =
          PrepareProgram(args, accepted, "learn", kLearnUsage, out, err, &options, &program);
      status >= 0) {
    return status;
  }

  // Opened first, so that a bad --out is found before the program runs.
  UniqueFd policy_file;
  if (!options.out.empty()) {
    policy_file.reset(open(options.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
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

  PolicyLearner learner;
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
  if (result->outcome == SandboxResult::Outcome::kViolation) {
    // Only a call of another architecture is refused while learning.
    return Report(err, kRunViolation,
                  absl::StrCat("learn: the program made a call sbox cannot allow: ",
                               result->violation->ToString()));
  }
  return ExitStatusOf(*result, options, err);
}

}  // namespace sbox
