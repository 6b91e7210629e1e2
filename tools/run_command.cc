#include "tools/run_command.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "broker/audit_log.h"
#include "broker/file_policy.h"
#include "broker/policy_text.h"
#include "broker/request_path.h"
#include "broker/syscall_policy.h"
#include "launcher/launcher.h"
#include "tools/denial_summary.h"
#include "tools/private_tmp.h"
#include "tools/program_options.h"
#include "tools/run_report.h"
#include "tools/violation_advice.h"

namespace sbox {
namespace {

constexpr char kRunUsage[] = R"(usage: sbox run [OPTIONS] -- PROGRAM [ARGS...]

Runs PROGRAM (found on PATH as a shell would) confined: a seccomp filter from its first
instruction, and every file it opens checked and opened by the broker.

recipes:
  sbox run --allow-read /usr --allow-read /etc --allow-read in.png --allow-write out/ \
      -- convert in.png out/x.ppm          read the inputs, write one output tree
  sbox run --private-tmp --allow-read big.txt -- sort --buffer-size=1K big.txt
                                           a program that needs temporary files
  sbox run --allow-exec /usr/bin --allow-exec /bin --allow-read in.tgz -- tar -tzf in.tgz
                                           a program that runs others (sh -c, zcat, tar -z)
  sbox run --allow-jit --allow-read /usr --allow-read app.js -- node app.js
                                           a runtime with a JIT compiler
  sbox learn --out p.policy -- prog input  learn what one trusted run needs, then:
  sbox audit --lint p.policy && sbox run --policy p.policy -- prog other-input

options:
  --policy FILE        the policy (broker/POLICY_FORMAT.md); default: the built-in policy
                       (policies/default.policy: read what is granted, write stdout and
                       stderr, no network, no exec, no new files but under
                       --allow-write)
  --allow-read PATH    grant reading PATH: a file, or a whole tree when PATH is a directory
  --allow-write PATH   grant reading, writing, creating and deleting PATH (a file or a tree)
  --allow-exec PATH    let the program run the programs at PATH (a file, or a whole tree, the
                       paths other rules grant beneath it included), and read them: the `x` and `r` permissions, and allow group processes, so
                       that it may start them (`sh -c`, scripts, helpers). The kernel decides
                       each exec (Landlock's execute right): a file swapped in after the
                       broker's check is refused all the same
  --fast-reads         read-only opens go straight to the kernel, which Landlock's mirror of
                       the file policy decides: direct-open speed; such an open of a path no
                       rule grants fails with EACCES (not ENOENT), and the audit log and -v do
                       not see these opens
  --require-landlock   fail (status 125) where the kernel offers no Landlock, instead of running
                       under the broker and the filter alone
  --allow-jit          let the program make memory executable (allow group executable-memory):
                       what a JIT compiler needs (node, java); nothing outside becomes
                       reachable, but a bug in the program becomes easier to exploit
  --private-tmp        a fresh directory of the program's own as TMPDIR and as /tmp, removed
                       after the run (as a policy's `private-tmp` line)
  --unshare LIST       namespaces of its own, a comma-separated list of user, net (only a
                       loopback: no network outside), ipc, uts, pid (its own pids, under an
                       init; the whole tree dies with it even if sbox is killed) or all;
                       without root add user. One the kernel refuses is left out, and -v says so
  --require-namespaces a refused --unshare namespace fails the run (exit status 125)
  --cwd DIR            the program's working directory (default: the current one)
  --setenv NAME=VALUE  set a variable in the program's environment (repeatable)
  --keep-env NAME      pass the caller's NAME on to the program (repeatable)
  --keep-env-all       pass the caller's whole environment on
  --rlimit-as BYTES    limit the program's address space (K, M or G may follow the number)
  --rlimit-cpu SECONDS limit its CPU time (SIGXCPU, then SIGKILL a second later)
  --rlimit-fsize BYTES limit the size of a file it writes (SIGXFSZ)
  --rlimit-nofile N    limit its open descriptors
  --rlimit-nproc N     limit the processes of its user: every process of the uid counts
  --timeout SECONDS    kill the program after this long (a positive number, fractions allowed)
  --audit-log FILE     append every file decision of the broker to FILE, one JSON object a line,
                       and a last line that counts what was written and dropped
  --audit-log-max-bytes N
                       write at most N bytes to the audit log (default 64 MiB); decisions past
                       it are dropped and counted
  --report FILE        write the run's result to FILE as one JSON object (tools/README.md):
                       the channel to trust, since the program shares stderr and chooses its
                       own exit status; refused when the policy lets the program write FILE
  --report-fd N        the same, to descriptor N (3 or above), which the program never holds
  -v, --verbose        print each refused file operation on stderr as it happens; at exit,
                       which Landlock ABI and rights confined the program, and which
                       --unshare namespaces were made and refused
  --help               this text

environment: PATH=/usr/local/bin:/usr/bin:/bin, the caller's HOME, LANG, TZ and TERM when set,
TMPDIR (the private one with --private-tmp, else the caller's when set), SBOX_BROKER_FD=3;
nothing else unless --keep-env, --keep-env-all or --setenv says so

at exit, when the broker refused file operations, sbox prints how many and the first few, each
with the option or policy line that grants it; a path no rule covers, which the program was
told is absent, is listed only when the program failed and the file is there outside (a
grant would change what it saw)

exit status: the program's own; 128+N when signal N killed it; 159 when it made a syscall the
policy refuses (one line on stderr names the call and the policy line); 124 when it timed
out; 125 when sbox could not start it (usage, policy or set-up error); 126 when PROGRAM is not
executable; 127 when it is not found
)";

// Grants are names: a path that does not exist yet is granted as a tree (whatever the program
// creates there is covered), a directory as a tree, a file as a file. A symlink to a file
// grants what it names as well, hop by hop, since the broker judges every hop.
// `throughout`: a directory's grant reaches the rules beneath it too
// (FilePolicy::Builder::AllowTreeThroughout), as --allow-exec DIR means.
void AddGrant(FilePolicy::Builder& files, const std::string& path, Permissions permissions,
              const std::string& source, bool throughout = false) {
  const auto allow_tree = [&](const std::string& tree) {
    if (throughout) {
      files.AllowTreeThroughout(tree, permissions, source);
    } else {
      files.AllowTree(tree, permissions, source);
    }
  };
  // The sandboxee's own /proc entries (FilePolicy::ForSandboxee): what they are and name here
  // is sbox's, not the program's. A name as given.
  if (ProcSelfPrefix(path) != 0) {
    struct stat st;
    if (lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      files.AllowTree(path, permissions, source);
    } else {
      files.AllowFile(path, permissions, source);
    }
    return;
  }
  std::string current = path;
  for (int hop = 0; hop <= 40; ++hop) {
    struct stat st;
    if (lstat(current.c_str(), &st) != 0) {
      allow_tree(current);
      return;
    }
    struct stat target;
    const bool to_directory = stat(current.c_str(), &target) == 0 && S_ISDIR(target.st_mode);
    if (!S_ISLNK(st.st_mode) || to_directory) {
      if (S_ISDIR(st.st_mode) || to_directory) {
        allow_tree(current);
      } else {
        files.AllowFile(current, permissions, source);
      }
      return;
    }
    files.AllowFile(current, permissions, source);
    char link[PATH_MAX];
    const ssize_t size = readlink(current.c_str(), link, sizeof(link) - 1);
    if (size <= 0) return;
    const std::string directory = current.substr(0, std::max<size_t>(current.rfind('/'), 1));
    std::string next;
    const char* reason = nullptr;
    if (FoldPathLexically(std::string_view(link, static_cast<size_t>(size)), directory, &next,
                          &reason) != 0) {
      return;
    }
    current = std::move(next);
  }
}

}  // namespace

int RunRun(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  ProgramOptions options;
  std::set<std::string> accepted = {"--policy",
                                    "--allow-read",
                                    "--allow-write",
                                    "--allow-exec",
                                    "--fast-reads",
                                    "--require-landlock",
                                    "--cwd",
                                    "--audit-log",
                                    "--audit-log-max-bytes",
                                    "--timeout",
                                    "--report",
                                    "--report-fd",
                                    "--private-tmp",
                                    "--verbose",
                                    "--allow-jit",
                                    "--unshare",
                                    "--require-namespaces"};
  accepted.insert(EnvironmentAndLimitOptions().begin(), EnvironmentAndLimitOptions().end());
  if (const int status = ParseOrExplain(args, accepted, "run", kRunUsage, out, err, &options);
      status >= 0) {
    return status;
  }
  // The report's destination first: every way out after this one is reported.
  std::optional<RunReportSink> sink;
  if (!options.report.empty() || options.report_fd >= 0) {
    absl::StatusOr<RunReportSink> opened = options.report.empty()
                                               ? RunReportSink::FromDescriptor(options.report_fd)
                                               : RunReportSink::OpenFile(options.report);
    if (!opened.ok())
      return Report(err, kRunSetupFailed, absl::StrCat("run: ", opened.status().message()));
    sink = *std::move(opened);
  }
  RunReport report;
  const auto finish = [&](int status) {
    report.exit_status = status;
    if (sink) {
      if (absl::Status written = sink->Write(report); !written.ok()) {
        Report(err, status, absl::StrCat("run: ", written.message()));
      }
    }
    return status;
  };
  const auto setup_failed = [&](int status, const std::string& text) {
    report.setup_error = text;
    return finish(Report(err, status, text));
  };

  ProgramToRun program;
  {
    std::ostringstream problem;
    if (const int status = ResolveProgram(options, problem, &program); status != 0) {
      // ResolveProgram wrote "sbox: TEXT\n".
      return setup_failed(
          status, std::string(absl::StripSuffix(absl::StripPrefix(problem.str(), "sbox: "), "\n")));
    }
  }

  const std::string policy_name = options.policy.empty() ? "the built-in policy" : options.policy;
  absl::StatusOr<ParsedPolicy> parsed =
      options.policy.empty() ? ParsePolicyText(kDefaultPolicyText, "policies/default.policy")
                             : ParsePolicyFile(options.policy);
  if (!parsed.ok()) {
    return setup_failed(kRunSetupFailed, absl::StrCat("run: ", parsed.status().message()));
  }
  char here[PATH_MAX];
  if (getcwd(here, sizeof(here)) == nullptr) {
    return setup_failed(kRunSetupFailed, absl::StrCat("run: getcwd: ", strerror(errno)));
  }
  // Made before the grants, removed when this function returns, whatever the outcome.
  std::optional<PrivateTmp> private_tmp;
  if (options.private_tmp || parsed->private_tmp) {
    absl::StatusOr<PrivateTmp> made = PrivateTmp::Create("");
    if (!made.ok()) {
      return setup_failed(kRunSetupFailed, absl::StrCat("run: ", made.status().message()));
    }
    private_tmp.emplace(*std::move(made));
    parsed->files
        .AllowTree(
            private_tmp->path(), kRead | kWrite | kCreate | kDelete,
            options.private_tmp ? "--private-tmp" : absl::StrCat(policy_name, ": private-tmp"))
        .AliasPath("/tmp", private_tmp->path());
  }
  // --allow-exec grants reading too: an interpreter reads the script it runs.
  const struct {
    const std::vector<std::string>* paths;
    Permissions permissions;
    const char* source;
  } grants[] = {{&options.allow_read, kRead, "--allow-read"},
                {&options.allow_write, kRead | kWrite | kCreate | kDelete, "--allow-write"},
                {&options.allow_exec, kRead | kExecute, "--allow-exec"}};
  for (const auto& grant : grants) {
    for (const std::string& given : *grant.paths) {
      absl::StatusOr<std::string> path = AbsolutePath(given, here);
      if (!path.ok()) {
        return setup_failed(kRunSetupFailed, absl::StrCat("run: ", path.status().message()));
      }
      AddGrant(parsed->files, *path, grant.permissions, grant.source, grant.permissions & kExecute);
    }
  }
  absl::StatusOr<FilePolicy> files = parsed->files.Build();
  if (!files.ok()) {
    return setup_failed(kRunSetupFailed,
                        absl::StrCat("run: ", policy_name, ": ", files.status().message()));
  }
  // A report the program could rewrite, replace or remove is no report.
  if (sink) {
    absl::StatusOr<std::string> report_path =
        options.report.empty() ? std::string() : AbsolutePath(options.report, here);
    if (absl::Status reachable = sink->CheckOutOfReach(
            *files, report_path.ok() ? *report_path : std::string(), policy_name);
        !reachable.ok()) {
      return setup_failed(kRunSetupFailed, absl::StrCat("run: ", reachable.message()));
    }
  }
  if (options.allow_jit) parsed->syscalls.AllowGroup(SyscallGroup::kExecutableMemory);
  if (!options.allow_exec.empty()) parsed->syscalls.AllowGroup(SyscallGroup::kProcesses);
  if (options.fast_reads) parsed->syscalls.FastReads();
  // The built-in policy's filter was compiled with sbox.
  const bool built_in_filter = options.policy.empty() && !options.allow_jit &&
                               options.allow_exec.empty() && !options.fast_reads;
  absl::StatusOr<SyscallPolicy> syscalls =
      built_in_filter
          ? SyscallPolicy::FromCompiledProgram(
                std::vector<sock_filter>(kDefaultPolicyProgram,
                                         kDefaultPolicyProgram + kDefaultPolicyProgramLength),
                Redirection::kUserNotification,
                parsed->syscalls.OwnProcessCalls(Redirection::kUserNotification))
          : parsed->syscalls.Build(Redirection::kUserNotification);
  if (!syscalls.ok()) {
    return setup_failed(kRunSetupFailed,
                        absl::StrCat("run: ", policy_name, ": ", syscalls.status().message()));
  }
  if (!syscalls->redirection().has_value()) {
    return setup_failed(kRunSetupFailed,
                        absl::StrCat("run: ", policy_name,
                                     " has no `allow group file-redirection`: the program could "
                                     "not open a file, not even its shared libraries"));
  }

  std::unique_ptr<JsonLinesAuditLog> audit_log;
  {
    std::ostringstream problem;
    if (const int status = OpenAuditLog(options, "run", problem, &audit_log); status != 0) {
      return setup_failed(
          status, std::string(absl::StripSuffix(absl::StripPrefix(problem.str(), "sbox: "), "\n")));
    }
  }
  // Every refusal is counted for the report and the summary at exit (printed as it happens with
  // -v), and every decision logged when asked.
  DenialSummary denials(options.verbose ? &err : nullptr);
  const DecisionLog audit = audit_log != nullptr ? audit_log->AsLog() : DecisionLog();
  Launcher launcher(*std::move(files), *std::move(syscalls));
  launcher.SetWorkingDirectory(program.cwd).SetTimeout(options.timeout);
  if (options.require_landlock) launcher.SetLandlock(LandlockMode::kRequired);
  for (const auto& [resource, value] : options.rlimits) launcher.SetResourceLimit(resource, value);
  if (!options.unshare.empty()) launcher.SetNamespaces(options.unshare, options.require_namespaces);
  launcher.SetDecisionLog([&denials, &audit](const Decision& decision) {
    denials.Add(decision);
    if (audit) audit(decision);
  });
  Program spec;
  spec.path = program.path;
  spec.argv = options.command;
  spec.env = ProgramEnvironment(options, Environment(),
                                private_tmp.has_value() ? private_tmp->path() : std::string());

  absl::StatusOr<SandboxResult> result = launcher.RunProgram(spec);
  report.file_denials = denials.count();
  if (private_tmp.has_value()) {
    if (absl::Status removed = private_tmp->Remove(); !removed.ok()) {
      Report(err, 0, std::string(removed.message()));
    }
  }
  if (!result.ok()) {
    return setup_failed(kRunSetupFailed, absl::StrCat("run: ", result.status().message()));
  }
  report.result = *result;
  if (options.verbose) err << "sbox: " << result->landlock.ToString() << "\n";
  if (options.verbose && !options.unshare.empty()) Report(err, 0, result->NamespacesText());
  if (result->outcome != SandboxResult::Outcome::kViolation) {
    const int status = ExitStatusOf(*result, options, err);
    // After the outcome's own line: a refusal may be why the program failed.
    err << denials.Text(status != 0);
    return finish(status);
  }
  // The advice carries the suggestion, with the policy line it concerns.
  report.advice = ViolationAdvice(parsed->rules, policy_name, *result->violation);
  SyscallViolation call = *result->violation;
  call.suggested_rule.clear();
  const int status = Report(
      err, kRunViolation, absl::StrCat("policy violation: ", call.ToString(), "; ", report.advice));
  // The violation is why the program ended: only the refusals always worth showing follow.
  err << denials.Text(false);
  return finish(status);
}

}  // namespace sbox
