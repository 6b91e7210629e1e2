#ifndef SBOX_TOOLS_POLICY_LEARNER_H_
#define SBOX_TOOLS_POLICY_LEARNER_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "broker/decision.h"
#include "broker/syscall_policy.h"

namespace sbox {

// Turns what runs of a program did into a policy (broker/POLICY_FORMAT.md) under which runs
// of the same kind pass with `sbox run --policy`: the same program on other inputs of the same
// kind, once those inputs are granted (`--allow-read DIR2`). It records kinds of behaviour, not
// one sample. Fed by `sbox learn` while the program runs; thread-safe.
//
// Syscalls.
//   - Groups. A built-in group (SyscallPolicy::GroupRules) is seen when a call the run made is
//     one of its members, its conditions admit that call, and no group before it in
//     SyscallPolicy::AllGroups() order admits it (so an mmap memory-without-exec admits never
//     brings in executable-memory). An own-process member is admitted whatever its arguments:
//     the broker decides it at run time. Every group seen becomes `allow group NAME`, since
//     which members a program uses varies with its input (a larger input mremaps, a busy one
//     sched_yields) and every member stays inside the sandbox. basic-io is always allowed:
//     writing to stdout and stderr is what a program is run for.
//   - A syscall whose calls the allowed groups do not all admit, or that is in no group, gets
//     lines of its own, narrowed as far as what was seen allows: by the conditions that keep it
//     inside the sandbox (broker/syscall_reach.h) when they admit every call; for socket
//     (domain), ioctl (request), prctl (option), fcntl (command), arch_prctl (code) and
//     personality, to exactly the values seen: `allow socket if arg0 in {1}`; else outright.
// The redirected file calls (`allow group file-redirection`) need no line.
//
// Files. Each path the broker was asked about needs the permissions its requests needed: r to
// open for reading, stat, access, readlink or chdir; w to open for writing, truncate, chmod or
// chown; c to create, mkdir or be a rename's or link's new name; d to unlink, rmdir or be
// renamed away; x to connect. They become rules by what the path is, in this order:
//   - Temporary names: what the run created or deleted right in /tmp or the temporary
//     directories given, and what lies beneath that, make the line `private-tmp` (a private
//     /tmp for the run) and no rule. What it only read there is an input, with its rule; what
//     it wrote into a directory beneath them that was there before is output.
//   - The sandboxee's own /proc/<pid> (Decision::pid) is written /proc/self, which the broker
//     takes as the sandboxee's of each run (FilePolicy::ForSandboxee); another process's is
//     left out with a comment.
//   - Created files: the directory the program created things in (the parent of the topmost
//     path it created, e.g. `out` for `tar -x -C out`) becomes ONE `tree` rule with every
//     permission used beneath it (`tree rwcd /abs/out`), so that other names work next time.
//     Never "/", a top-level directory or the installation (/usr, /etc, /lib*, /bin, /sbin,
//     /opt, /boot): the files created there keep their own rules.
//   - The program's installation, read only: a file beneath a package's directory makes a
//     `tree r` rule on that directory (PackageDirectory below), so that the next input may load
//     other modules of the same package. Files directly in a system directory (/usr/bin/perl,
//     /usr/lib/x86_64-linux-gnu/libc.so.6, /etc/passwd) keep their `file` rule: the shared
//     libraries a program links are the same for every input, and a tree over
//     /usr/lib/x86_64-linux-gnu would grant every library of the system.
//   - Anything else (the inputs, outputs written in place): a `file` rule with the permissions
//     used. Paths that did not exist are granted too, and give ENOENT again next time.
// A `file` rule whose permissions the tree above it grants is dropped as covered; one with more
// gets the tree's permissions too, since it decides its path alone.
class PolicyLearner {
 public:
  // `temporary_directories`: absolute, normalized; what is beneath them is the run's scratch.
  explicit PolicyLearner(std::vector<std::string> temporary_directories = {"/tmp"});

  // One syscall the program made (x86_64 number and arguments).
  void AddSyscall(int number, const uint64_t args[6]);
  // One file request the broker decided.
  void AddDecision(const Decision& decision);
  // Adds the rules of a policy an earlier `sbox learn` wrote, so that the text allows both
  // runs: its groups, syscall lines (the values of a line narrowed to the values seen joined
  // with this run's into one line), file rules (its `file` rules as paths the run used, so
  // they generalise as this run's do), and `private-tmp`. `text` is the policy as read from
  // `name`. InvalidArgument, naming the file and line, when it does not parse.
  [[nodiscard]] absl::Status Merge(absl::string_view text, const std::string& name);

  // The policy text. `command` names what ran, for the header comment.
  std::string PolicyText(const std::string& command) const;

  // What this run left unrecorded or dropped, one sentence each (empty when nothing): argument
  // tuples past the learner's limit, paths it could not make rules of.
  std::vector<std::string> Incomplete() const;

  // The directory whose tree grants `path`, a file of a program's installation, and its
  // neighbours: beneath /usr, /usr/local or / (/lib, /lib64, /bin, ... as on a merged-/usr
  // system), the directory one level below the area that holds it (bin, sbin, lib*, libexec,
  // share, include, games): `/usr/share/perl5` for
  // /usr/share/perl5/File/Temp.pm, `/usr/lib/python3.11` for /usr/lib/python3.11/json/x.py,
  // `/usr/lib/x86_64-linux-gnu/ImageMagick-6.9.11` (a multiarch directory is part of the
  // area); beneath /etc and /opt the directory one level below them, `/etc/ImageMagick-6`.
  // Empty for a path directly in an area, /etc or /opt, an area itself, and paths elsewhere.
  static std::string PackageDirectory(const std::string& path);

 private:
  struct SyscallSeen {
    uint64_t count = 0;
    // Distinct argument tuples, up to kMaxTuples, with only the arguments some condition the
    // learner may write looks at (the others 0): a buffer's address tells nothing.
    std::set<std::vector<uint64_t>> args;
    bool overflowed = false;  // more distinct tuples than kept
    uint8_t relevant = 0;     // bit i: argument i is kept
  };
  static constexpr size_t kMaxTuples = 4096;

  const std::vector<std::string> temporary_directories_;
  mutable absl::Mutex mu_;
  std::map<int, SyscallSeen> syscalls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint32_t> files_ ABSL_GUARDED_BY(mu_);  // path -> Permissions
  // The policy's defaults, widened by the modes the program asked for.
  uint32_t file_mode_ ABSL_GUARDED_BY(mu_) = 0600;
  uint32_t directory_mode_ ABSL_GUARDED_BY(mu_) = 0700;
  // Paths the broker was asked about that no rule can name, as sent.
  std::set<std::string> unnamed_paths_ ABSL_GUARDED_BY(mu_);
  // From Merge: its default action line (empty: none), groups, syscall lines (allow, errno,
  // trap) and file lines (deny, temporary, uncovered-paths) as canonical text, tree rules,
  // and whether it had private-tmp.
  std::vector<std::string> merged_from_ ABSL_GUARDED_BY(mu_);  // the policies' names
  std::string merged_default_ ABSL_GUARDED_BY(mu_);
  std::set<SyscallGroup> merged_groups_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> merged_syscall_lines_ ABSL_GUARDED_BY(mu_);
  // The values of `allow NAME if argN in {...}` lines of the syscalls narrowed to the values
  // seen (socket, ioctl, ...), unioned with this run's into one line.
  std::map<std::string, std::set<uint64_t>> merged_values_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> merged_file_lines_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint32_t> merged_trees_ ABSL_GUARDED_BY(mu_);
  bool merged_private_tmp_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace sbox

#endif  // SBOX_TOOLS_POLICY_LEARNER_H_
