#ifndef SBOX_TOOLS_RUN_REPORT_H_
#define SBOX_TOOLS_RUN_REPORT_H_

// The result of one `sbox run` as one JSON object, for --report FILE and --report-fd N: the
// channel to trust. The program shares stderr with sbox and chooses its own exit status, so it
// can print a line that looks like sbox's and exit 159; only sbox writes the report, to a
// descriptor the program never holds. tools/README.md documents every key.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "broker/file_policy.h"
#include "broker/sandbox_result.h"
#include "proto/unique_fd.h"

namespace sbox {

struct RunReport {
  // The exit status `sbox run` returns: the program's code, 128+N, 159, 124, 125, 126, 127.
  int exit_status = 0;
  // The run, when a program ran; std::nullopt for a set-up error.
  std::optional<SandboxResult> result;
  // For a set-up error (sbox could not start the program): what sbox printed.
  std::string setup_error;
  // For a violation: the policy line to change (tools/violation_advice.h).
  std::string advice;
  // File requests the broker refused.
  int64_t file_denials = 0;
};

// One line: {"outcome":...,"exit_code":...,...}\n.
std::string RunReportJson(const RunReport& report);

// Where the report goes, opened before the program starts so that a bad destination is a
// set-up error before anything runs.
class RunReportSink {
 public:
  // --report FILE: created or truncated, 0600, close-on-exec; the error names the file.
  static absl::StatusOr<RunReportSink> OpenFile(const std::string& path);
  // --report-fd N: an open descriptor of the caller's, 3 or above (not stdio), made
  // close-on-exec; InvalidArgument naming N otherwise.
  static absl::StatusOr<RunReportSink> FromDescriptor(int fd);

  // Refuses a destination the program could rewrite, replace or remove: one that `files` lets it
  // write, create or delete by the name it was given (`given`, absolute and normalized; empty
  // for a descriptor), or by the name the open file has beneath any rule's root, the kernel's
  // path of it with every symlink resolved (a symlink or a ".." in `given` can lead into a
  // granted tree); one in a directory that the program may rename, as the broker judges a
  // rename; and a regular file with more than one hard link, whose other names no check here
  // sees. FailedPrecondition naming the destination, `policy_name` and the rule.
  [[nodiscard]] absl::Status CheckOutOfReach(const FilePolicy& files, const std::string& given,
                                             const std::string& policy_name) const;

  // Writes `report` whole. The error names the destination.
  [[nodiscard]] absl::Status Write(const RunReport& report) const;

 private:
  RunReportSink(UniqueFd owned, int fd, std::string name)
      : owned_(std::move(owned)), fd_(fd), name_(std::move(name)) {}
  UniqueFd owned_;  // a file it opened; invalid for --report-fd, which stays the caller's
  int fd_;
  std::string name_;
};

}  // namespace sbox

#endif  // SBOX_TOOLS_RUN_REPORT_H_
