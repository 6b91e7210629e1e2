#include "tools/run_report.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "broker/json_string.h"
#include "broker/path_check.h"
#include "kernel/landlock.h"

namespace sbox {
namespace {

std::string Quoted(const std::string& text) {
  std::string json;
  AppendJsonString(&json, text);
  return json;
}

std::string Hex(uint64_t value) { return Quoted(absl::StrFormat("%#x", value)); }

const char* Outcome(const RunReport& report) {
  if (!report.result) return "setup_error";
  switch (report.result->outcome) {
    case SandboxResult::Outcome::kExited:
      return "exited";
    case SandboxResult::Outcome::kSignaled:
      return "signaled";
    case SandboxResult::Outcome::kViolation:
      return "violation";
    case SandboxResult::Outcome::kTimedOut:
      return "timed_out";
  }
  return "setup_error";
}

std::string Signal(const SandboxResult& result) {
  if (result.outcome != SandboxResult::Outcome::kSignaled) return "null";
  const char* name = sigabbrev_np(result.signal);
  return absl::StrCat(
      "{\"number\":", result.signal, ",\"name\":",
      Quoted(name != nullptr ? absl::StrCat("SIG", name) : absl::StrCat("signal ", result.signal)),
      "}");
}

std::string Violation(const RunReport& report) {
  if (!report.result || !report.result->violation) return "null";
  const SyscallViolation& v = *report.result->violation;
  std::string args;
  for (int i = 0; i < 6; ++i) absl::StrAppend(&args, i == 0 ? "" : ",", Hex(v.args[i]));
  return absl::StrCat("{\"syscall\":", Quoted(v.syscall_name), ",\"number\":", v.syscall_number,
                      ",\"arch\":", Quoted(ArchName(v.arch)), ",\"args\":[", args,
                      "],\"call\":", Quoted(v.call), ",\"ip\":", Hex(v.instruction_pointer),
                      ",\"thread\":", v.thread_id, ",\"suggested_rule\":", Quoted(v.suggested_rule),
                      ",\"advice\":", Quoted(report.advice), "}");
}

std::string Milliseconds(int64_t us) { return absl::StrFormat("%.3f", us / 1000.0); }

}  // namespace

std::string RunReportJson(const RunReport& report) {
  std::string json =
      absl::StrCat("{\"outcome\":\"", Outcome(report), "\",\"exit_code\":", report.exit_status);
  if (!report.result) {
    absl::StrAppend(&json,
                    ",\"signal\":null,\"violation\":null,\"file_denials\":", report.file_denials,
                    ",\"wall_time_ms\":null,\"rusage\":null,\"landlock\":null,\"setup_error\":",
                    Quoted(report.setup_error), "}\n");
    return json;
  }
  const SandboxResult& r = *report.result;
  absl::StrAppend(
      &json, ",\"signal\":", Signal(r), ",\"violation\":", Violation(report),
      ",\"file_denials\":", report.file_denials, ",\"wall_time_ms\":", Milliseconds(r.wall_time_us),
      ",\"rusage\":{\"user_ms\":", Milliseconds(r.user_time_us),
      ",\"system_ms\":", Milliseconds(r.system_time_us), ",\"max_rss_kb\":", r.max_rss_kb,
      "},\"landlock\":{\"abi\":", r.landlock.abi,
      ",\"fs_rights\":", Quoted(landlock::FsRightsText(r.landlock.fs_rights)),
      ",\"scoped\":", Quoted(landlock::ScopesText(r.landlock.scopes)), "},\"setup_error\":null}\n");
  return json;
}

absl::StatusOr<RunReportSink> RunReportSink::OpenFile(const std::string& path) {
  const std::string name = absl::StrCat("--report ", path);
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, name);
  const int number = fd.get();
  return RunReportSink(std::move(fd), number, name);
}

absl::StatusOr<RunReportSink> RunReportSink::FromDescriptor(int fd) {
  const std::string name = absl::StrCat("--report-fd ", fd);
  // 0 to 2 are the program's stdio, which it writes too.
  if (fd < 3)
    return absl::InvalidArgumentError(absl::StrCat(name, ": not stdin, stdout or stderr"));
  const int flags = fcntl(fd, F_GETFD);
  if (flags < 0) return absl::ErrnoToStatus(errno, name);
  if (fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, name);
  return RunReportSink(UniqueFd(), fd, name);
}

absl::Status RunReportSink::CheckOutOfReach(const FilePolicy& files, const std::string& given,
                                            const std::string& policy_name) const {
  std::vector<std::string> names;
  if (!given.empty()) names.push_back(given);
  char real[PATH_MAX];
  const ssize_t length = readlink(absl::StrCat("/proc/self/fd/", fd_).c_str(), real, sizeof(real));
  // A pipe or a socket has no path ("pipe:[1234]"), and no rule reaches it.
  if (length > 0 && length < static_cast<ssize_t>(sizeof(real)) && real[0] == '/') {
    const std::string_view kernel_path(real, static_cast<size_t>(length));
    for (const Rule& rule : files.rules()) {
      if (rule.kind == RuleKind::kDeny) continue;
      std::string name = files.PolicyPathOf(rule, kernel_path);
      if (!name.empty()) names.push_back(std::move(name));
    }
  }
  for (const std::string& name : names) {
    if (CheckAbsoluteNormalizedPath(name) != PathProblem::kNone) continue;
    const FilePolicy::Match match = files.Find(name);
    if (match.allowed() && (match.rule->permissions & (kWrite | kCreate | kDelete)) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(name_, ": ", policy_name, " lets the program write, create or delete it as ",
                       name, " (", match.rule->ToString(), ")"));
    }
    // A directory above it that the program may delete it may also rename, report and all,
    // unless other rules name paths beneath it (the broker then refuses the rename).
    for (std::string_view above = name; above != "/";) {
      above = above.substr(0, std::max<size_t>(above.rfind('/'), 1));
      const FilePolicy::Match directory = files.Find(above);
      if (directory.allowed() && (directory.rule->permissions & kDelete) != 0 &&
          !files.ContainsRulePaths(above)) {
        return absl::FailedPreconditionError(
            absl::StrCat(name_, ": ", policy_name, " lets the program rename its directory ",
                         std::string(above), " (", directory.rule->ToString(), ")"));
      }
    }
  }
  struct stat st;
  if (fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat(name_, ": the file has ", st.st_nlink,
                     " hard links; the program could reach it by a name this check cannot see"));
  }
  return absl::OkStatus();
}

absl::Status RunReportSink::Write(const RunReport& report) const {
  const std::string json = RunReportJson(report);
  size_t done = 0;
  while (done < json.size()) {
    const ssize_t n = write(fd_, json.data() + done, json.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::ErrnoToStatus(n < 0 ? errno : EIO, absl::StrCat(name_, ": write"));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace sbox
