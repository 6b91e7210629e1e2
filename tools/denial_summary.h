#ifndef SBOX_TOOLS_DENIAL_SUMMARY_H_
#define SBOX_TOOLS_DENIAL_SUMMARY_H_

#include <cstdint>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "broker/decision.h"

namespace sbox {

// The file operations the broker refused in one `sbox run`, for the lines sbox prints at exit:
//
//   sbox: 3 file operations refused (-v shows each); the first:
//   sbox:   open "/usr/local/lib/x/strict.pm" O_RDONLY: denied, ENOENT: no rule covers the
//           path; to grant it: --allow-read /usr/local/lib/x/strict.pm, or the policy line
//           `file r /usr/local/lib/x/strict.pm`
//
// (one line each). A refusal is a decision with `allowed` false; every one is counted (the
// report's file_denials), but only those worth showing are listed (Class), the first
// kMaxListed distinct (operation, path) pairs in the order they came. Add is thread-safe: the
// broker's threads call it.
class DenialSummary {
 public:
  static constexpr size_t kMaxListed = 5;

  // `verbose`, when not null, gets every refusal as it happens: "sbox: " and FormatDecision.
  // The summary serialises its writes; nothing else may write to it meanwhile from another
  // thread.
  explicit DenialSummary(std::ostream* verbose = nullptr) : verbose_(verbose) {}

  void Add(const Decision& decision);

  int64_t count() const;
  // The lines above, each ending in "\n"; empty when no refusal is worth showing.
  // `run_failed`: the program did not exit with 0, so kQuiet refusals may be why.
  std::string Text(bool run_failed) const;

  enum class Kind {
    kNotListed,  // allowed; or a stat, access, readlink or statfs of a path no rule covers
                 // answered as absent (ENOENT): what programs do all the time and handle, such
                 // as the loader's look for /etc/ld.so.preload or a search along a path list
    kQuiet,      // any other operation on such a path: the program wanted the file, yet often
                 // copes (an optional locale or configuration file): listed when the run failed
                 // Also a request refused as malformed (EINVAL: O_TMPFILE, a flag outside the
                 // allowlist), which programs fall back from and no grant would change.
    kListed,     // the rest: a deny rule, a permission the rule lacks, an uncovered path
                 // answered with EACCES (uncovered-paths EACCES): always listed
  };
  // By the decision alone. A path no rule covers that was answered as absent, other than one
  // the program meant to create, is then taken as kQuiet but listed only when it is there
  // outside (a perl module stat'ed along @INC), never when it is not (the program got the
  // answer it would have got unsandboxed; a grant would change nothing): Text looks, after
  // the run, since the broker never touches a path no rule covers.
  static Kind Class(const Decision& decision);
  // "to grant it: --allow-read PATH, or the policy line `file r PATH`", by what the operation
  // needs (reading; writing, creating or deleting; connecting); for a path a deny rule decides,
  // the rule and where it was written. Empty when there is no path to grant, or when the
  // request was refused as malformed (EINVAL).
  static std::string Hint(const Decision& decision);

 private:
  std::ostream* verbose_;
  mutable std::mutex mutex_;
  int64_t count_ = 0;
  // Quiet refusals kept to choose the listed ones from: each lookup of one is bounded work
  // after the run.
  static constexpr size_t kMaxCandidates = 64;
  struct Entry {
    bool quiet;
    std::string listed_if_there;  // not empty: listed only when this path exists
    std::string line;
  };
  std::set<std::pair<int, std::string>> seen_;  // (op, path) of the entries
  // In order: at most kMaxListed listed, kMaxCandidates quiet.
  std::vector<Entry> entries_;
  size_t quiet_entries_ = 0;
};

}  // namespace sbox

#endif  // SBOX_TOOLS_DENIAL_SUMMARY_H_
