#ifndef SBOX_BROKER_LANDLOCK_MIRROR_H_
#define SBOX_BROKER_LANDLOCK_MIRROR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/file_policy.h"
#include "broker/sandbox_result.h"
#include "kernel/landlock.h"

namespace sbox {

// How a launcher uses Landlock.
enum class LandlockMode {
  kBestEffort,  // the newest ABI the kernel offers; none at all when it offers none
  kRequired,    // as kBestEffort, but a kernel without Landlock fails the launch
  kOff,         // none (`sbox learn`, which must see what a program does unconfined)
};

// What the mirror needs besides the file policy.
struct LandlockMirrorOptions {
  // Programs the child itself executes (Launcher::RunProgram's): each file of their ExecChain
  // gets execute and read_file, whatever the policy says; the one exec the launcher makes
  // must pass.
  std::vector<std::string> programs;
  std::string working_directory;  // for a relative program path
  // Read-only opens go straight to the kernel (SyscallPolicy::Builder::FastReads): Landlock is
  // then what decides them, and must decide them as the broker would.
  bool fast_reads = false;
};

// A Landlock ruleset that mirrors a file policy, built in the parent for one launch and
// enforced by the child (sandboxee/sandboxee_setup.h) after no_new_privs, before the seccomp
// filter. It handles every filesystem right the kernel's ABI knows, and grants, beneath each
// allow rule's path, the rights of its permissions:
//
//   r  read_file, read_dir, ioctl_dev       w  write_file, truncate, ioctl_dev
//   c  make_reg, make_dir, make_sym, make_fifo, make_sock, refer
//   d  remove_file, remove_dir, refer        x  execute, read_file
//   s  nothing (Landlock cannot restrict connecting to a named socket: the broker does)
//   temporary-files rules: read_file, write_file, truncate, make_reg, remove_file
//
// and scopes abstract unix sockets and signals to the sandbox (ABI 6). Each right is kept only
// where the running ABI knows it (the kernel's best-effort pattern: rights of a newer ABI are
// dropped, one ABI at a time, and the report says which are enforced).
//
// The sandboxee never opens a path itself (the broker does, outside the domain, so its
// descriptors carry the rights it opened them with); the mirror is the second layer that holds
// when the seccomp filter lets a path call through by mistake, and the only one for what the
// kernel resolves itself: exec (`x`) and, under fast reads, read-only opens. Where Landlock's
// model differs from the broker's:
//   * It cannot carve a deny rule, or a rule with fewer permissions, out of a tree: rights
//     add up along the path. For `x` (always) and `r` (under fast reads), where the kernel
//     decides alone, such a policy fails Build with an error naming both rules; elsewhere the
//     broker's check stands and the mirror is the looser layer, as documented.
//   * A rule whose path does not exist yet has no inode to carry rights: it gets none
//     (stricter: only the broker reaches it, and fast reads of it fail with EACCES).
//   * Rules are on inodes, reached by following symlinks at build time; the broker judges
//     each symlink hop by name. A file rule on a directory grants read_dir beneath it.
//   * Rules on /proc/self are added by the child, on its own /proc entries.
//   * A refused open is EACCES, where the broker answers ENOENT for a path no rule covers.
class LandlockMirror {
 public:
  // Errors name the rule or file: FailedPrecondition for a policy or option that needs
  // Landlock (an `x` grant, fast reads) on a kernel without it or in LandlockMode::kOff, or
  // required and missing; InvalidArgument for a carve-out Landlock cannot express (above), fast
  // reads with a path alias; Landlock's own errors. A program whose ExecChain fails gets no
  // grant: its exec fails, with the kernel's errno.
  static absl::StatusOr<LandlockMirror> Build(const FilePolicy& files,
                                              const LandlockMirrorOptions& options,
                                              LandlockMode mode);

  // The ruleset to enforce; -1 when none (no Landlock, or kOff).
  int ruleset_fd() const { return ruleset_.has_value() ? ruleset_->fd() : -1; }
  const LandlockReport& report() const { return report_; }

  // Rules the child adds itself before enforcing: paths on /proc/self, with their rights.
  struct ChildRule {
    std::string path;
    uint64_t rights;
  };
  const std::vector<ChildRule>& child_rules() const { return child_rules_; }

  // The Landlock rights a rule's permissions stand for (above).
  static uint64_t RightsOf(RuleKind kind, Permissions permissions);

 private:
  LandlockMirror() = default;

  std::optional<landlock::Ruleset> ruleset_;
  LandlockReport report_;
  std::vector<ChildRule> child_rules_;
};

}  // namespace sbox

#endif  // SBOX_BROKER_LANDLOCK_MIRROR_H_
