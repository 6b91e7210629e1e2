#ifndef SBOX_TOOLS_POLICY_LEARNER_H_
#define SBOX_TOOLS_POLICY_LEARNER_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/decision.h"

namespace sbox {

// Turns what one run of a program did into the smallest policy (broker/POLICY_FORMAT.md) under
// which the same run passes with `sbox run --policy`: its syscalls, and its file accesses as
// file rules. Fed by `sbox learn` while the program runs; thread-safe.
//
// Syscalls. Each syscall seen becomes one or more `allow` lines, narrowed as far as what was
// seen allows:
//   - When a group's conditions for it (SyscallPolicy::GroupRules) admit every call seen, the
//     lines are those conditions, the ones some call met: mmap of files may be executable,
//     anonymous memory may not; clone only for threads.
//   - For socket (domain), ioctl (request), prctl (option), fcntl (command), arch_prctl (code)
//     and personality, the line admits exactly the values seen: `allow socket if arg0 in {1}`.
//   - Anything else is allowed outright.
// Lines come in syscall-number order; each says in a comment how often the call was made. The
// redirected file calls
// (`allow group file-redirection`) and the runtime's own calls need no line.
//
// Files. Each path the broker was asked about becomes a `file` rule with the permissions the
// requests needed: r to open for reading, stat, access, readlink or chdir; w to open for writing
// or truncate, chmod or truncate; c to create, mkdir or be a rename's or link's new name; d to
// unlink, rmdir or be renamed away; x to connect. Paths that did not exist are granted too, so
// that the program sees ENOENT as it did, when their directory exists. A path that is a symlink
// becomes a `tree` rule on the deepest directory above it whose real path holds the link's
// target (/lib/x86_64-linux-gnu for a library's version link; /usr for /usr/share/misc's link
// into /usr/lib), since a file rule never follows a symlink and a tree follows one only
// beneath its root. An absolute or dangling symlink, which the broker never follows, and the
// sandboxee's own /proc/<pid>, which cannot be granted by path, are left out with a comment.
class PolicyLearner {
 public:
  // One syscall the program made (x86_64 number and arguments).
  void AddSyscall(int number, const uint64_t args[6]);
  // One file request the broker decided.
  void AddDecision(const Decision& decision);

  // The policy text. `command` names what ran, for the header comment.
  std::string PolicyText(const std::string& command) const;

 private:
  struct SyscallSeen {
    uint64_t count = 0;
    std::set<std::vector<uint64_t>> args;  // distinct argument tuples, up to kMaxTuples
    bool overflowed = false;               // more distinct tuples than kept
  };
  static constexpr size_t kMaxTuples = 4096;

  mutable absl::Mutex mu_;
  std::map<int, SyscallSeen> syscalls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint32_t> files_ ABSL_GUARDED_BY(mu_);  // path -> Permissions
  // The policy's defaults, widened by the modes the program asked for.
  uint32_t file_mode_ ABSL_GUARDED_BY(mu_) = 0600;
  uint32_t directory_mode_ ABSL_GUARDED_BY(mu_) = 0700;
};

}  // namespace sbox

#endif  // SBOX_TOOLS_POLICY_LEARNER_H_
