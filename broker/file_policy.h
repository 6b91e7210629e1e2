#ifndef SBOX_BROKER_FILE_POLICY_H_
#define SBOX_BROKER_FILE_POLICY_H_

#include <errno.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "broker/request_path.h"
#include "proto/unique_fd.h"

namespace sbox {

// What an allow rule lets the sandboxee do.
enum Permission : uint32_t {
  kRead = 1u << 0,     // open for reading, list a directory, readlink, access R_OK or X_OK
  kWrite = 1u << 1,    // open for writing, O_TRUNC, O_APPEND, truncate, chmod, access W_OK
  kCreate = 1u << 2,   // O_CREAT, mkdir, symlink, the new name of rename and link
  kDelete = 1u << 3,   // unlink, rmdir, the old name of rename (and a name rename replaces)
  kConnect = 1u << 4,  // connect to an AF_UNIX socket
  // execve the file (or the files beneath a tree): enforced by the kernel, through the
  // Landlock mirror (launcher/landlock_mirror.h), never by a path check alone
  kExecute = 1u << 5,
};
using Permissions = uint32_t;
inline constexpr Permissions kReadWrite = kRead | kWrite;
inline constexpr Permissions kAllPermissions =
    kRead | kWrite | kCreate | kDelete | kConnect | kExecute;

// "rwcdsx"-style text: "r", "rw", "rwcd", "s" for connect (a socket), "x" for execute; "-" for
// none.
std::string PermissionsText(Permissions permissions);

enum class RuleKind {
  kFile,       // allow: exactly one path
  kTree,       // allow: a directory and everything beneath it
  kTemporary,  // allow: anonymous files beneath a directory (O_CREAT|O_EXCL, unlinked at once)
  kDeny,       // deny: a path and everything beneath it
};

// One rule of a file policy. Its root directory is the directory that opens under this rule
// resolve beneath: the tree itself, or the parent directory of a file. `root` is an O_PATH
// descriptor opened once, when the policy is built, by the trusted side, and owned by the
// FilePolicy: rules with the same directory share one descriptor. Deny rules have none.
//
// Grants are names: a root directory that does not exist yet is reached when a request needs
// it, as `root_rest` (the names still missing, "a/b") beneath `root` (then the nearest
// ancestor that existed), never following a symlink.
struct Rule {
  RuleKind kind;
  Permissions permissions;  // allow rules; kTemporary implies kRead|kWrite|kCreate
  std::string path;
  int error = EACCES;       // deny rules: what a request on a covered path gets
  std::string source = {};  // where the rule was written ("t.policy:3", "--allow-read"), or ""
  int root = -1;
  std::string root_rest = {};
  // The root directory's path with every symlink resolved, as the kernel names files beneath it
  // (on merged-/usr systems "/lib/x" is "/usr/lib/x").
  std::string canonical_root = {};
  size_t index = 0;  // position in the policy, in the order the rules were added

  bool IsTree() const { return kind != RuleKind::kFile; }
  // "allow r file /etc/passwd", "allow rw tree /data", "temporary /tmp/scratch",
  // "deny /data/secret".
  std::string ToString() const;
};

// The broker's file rules. Immutable once built, so broker threads share it without locks.
//
// Precedence, one rule: the most specific path decides. Among the rules on the path itself and
// on each of its ancestors, the longest rule path wins; a file rule applies only to its exact
// path. At equal length a deny rule beats an allow rule. Lookup costs one hash probe per path
// component, whatever the number of rules. Rules on one path combine: allow rules of one kind
// by the union of their permissions; a file rule and a tree rule on one path give the path
// itself the union, and what lies beneath the tree's. A tree and a temporary-files rule, or
// two deny rules with different errnos, on one path contradict each other.
//
// A path no rule covers answers ENOENT, as if absent (SetUncoveredErrno changes it); a deny
// rule answers its errno (EACCES unless given).
//
// Ancestors of every allow rule's path may be stat'ed (and access'ed with F_OK): programs walk
// up to the files they may open. That reveals a directory's metadata, never its entries.
class FilePolicy {
 public:
  class Builder {
   public:
    // `source` names where the rule was written, for errors and audit ("" when unknown).
    Builder& AllowFile(std::string path, Permissions permissions, std::string source = {});
    Builder& AllowTree(std::string path, Permissions permissions, std::string source = {});
    // AllowTree, and the same permissions added to every file and tree rule at or beneath
    // `path`, whenever it was added: no narrower allow rule takes them away (a deny rule still
    // does). What `sbox run --allow-exec DIR` means: every program under DIR, even where
    // another rule grants less (a policy's `tree r /usr/lib` under `--allow-exec /usr`).
    Builder& AllowTreeThroughout(std::string path, Permissions permissions,
                                 std::string source = {});
    // Files beneath `directory` may be created with O_CREAT|O_EXCL and write access; the broker
    // unlinks each right after opening it, so the sandboxee gets an anonymous file.
    Builder& AllowTemporaryFiles(std::string directory, std::string source = {});
    // `error`: what requests on the path and beneath it get (1..4095).
    Builder& Deny(std::string path, int error = EACCES, std::string source = {});
    // What requests on paths no rule covers get: ENOENT (the default) or EACCES.
    Builder& SetUncoveredErrno(int error);
    // The sandboxee's absolute paths at `from` and beneath mean `to` and beneath (PathAlias,
    // broker/request_path.h): `sbox run --private-tmp` points "/tmp" at a private directory.
    // Rules name real paths: a rule on `to` grants what the alias reaches, and the path of a
    // rule beneath `from` (but not `to`), with what lies beneath it, is not aliased (Build puts
    // it in PathAlias::kept): a grant names the file the user means. The alias
    // applies to the request's absolute paths and to absolute symlink targets the broker
    // follows, nothing else. A later call replaces an earlier one.
    Builder& AliasPath(std::string from, std::string to);

    // Shorthands for the common grants.
    Builder& AllowReadFile(std::string path) { return AllowFile(std::move(path), kRead); }
    Builder& AllowReadTree(std::string path) { return AllowTree(std::move(path), kRead); }
    Builder& AllowReadWriteFile(std::string path) {
      return AllowFile(std::move(path), kRead | kWrite | kCreate);
    }

    // The most a created file's (or directory's) mode may have: the request's mode is masked
    // with it, then with the broker's umask. Defaults: 0600 and 0700.
    Builder& SetCreateModes(mode_t file_mode, mode_t directory_mode);

    // Validates every path and opens every allow rule's root directory that exists (or its
    // nearest existing ancestor). Errors name the rule, and both rules of a contradiction:
    //   InvalidArgument  a path that is not absolute and normalized, "/" as a file rule, a
    //                    tree and a temporary-files rule on one path, deny rules with
    //                    different errnos on one path, no permissions, create modes beyond 0777, an
    //                    uncovered errno other than ENOENT or EACCES, an alias whose paths
    //                    are not absolute and normalized, from "/" or to itself
    //   NotFound, PermissionDenied, ...  "/" could not be opened (errno mapped)
    absl::StatusOr<FilePolicy> Build() const;

   private:
    std::vector<Rule> rules_;
    mode_t file_mode_ = 0600;
    mode_t directory_mode_ = 0700;
    int uncovered_errno_ = ENOENT;
    std::optional<PathAlias> alias_;
    std::vector<std::pair<std::string, Permissions>> throughout_;  // AllowTreeThroughout's
  };

  struct Match {
    const Rule* rule = nullptr;  // the deciding rule; nullptr: none covers the path
    std::string_view beneath;    // allow rules: the path relative to rule->root ("." for it)

    bool allowed() const { return rule != nullptr && rule->kind != RuleKind::kDeny; }
  };

  // `path` must already have passed CheckAbsoluteNormalizedPath. `beneath` points into `path` or
  // into the rule.
  Match Find(std::string_view path) const;

  // True when `path` is a proper ancestor of some allow rule's path.
  bool IsAncestorOfAllowed(std::string_view path) const;
  // True when `path` is a proper ancestor of any rule's path, allow or deny: renaming it would
  // move rules' paths out from under them.
  bool ContainsRulePaths(std::string_view path) const;

  // The path, as the policy names it, of a file whose kernel path is `real` and that was
  // reached beneath `rule`'s root; empty when `real` is not beneath the root's canonical path.
  std::string PolicyPathOf(const Rule& rule, std::string_view real) const;

  // Whether an allow rule grants kExecute.
  bool GrantsExec() const;
  // Whether a rule's path is /proc/self or /proc/thread-self, or beneath them: the sandboxee's
  // own entries, which ForSandboxee names.
  bool HasOwnProcessRules() const;
  // The same policy with the rules on /proc/self and /proc/thread-self (and beneath) on
  // /proc/<pid> instead: the broker rewrites the sandboxee's requests so (proto/PROTOCOL.md
  // §5.3), and a rule's root opened here would be the broker's own process. Built anew, as
  // Build() does (its errors); for a launcher once the sandboxee's `pid` is known.
  absl::StatusOr<FilePolicy> ForSandboxee(pid_t pid) const;

  // O_PATH descriptor of "/", for stat'ing ancestors.
  int filesystem_root() const { return filesystem_root_.get(); }
  mode_t file_mode() const { return file_mode_; }
  mode_t directory_mode() const { return directory_mode_; }
  int uncovered_errno() const { return uncovered_errno_; }
  // What a request on a path with this match gets when it is not allowed.
  int RefusalErrno(const Match& match) const {
    return match.rule == nullptr ? uncovered_errno_ : match.rule->error;
  }
  const std::vector<Rule>& rules() const { return rules_; }
  // The path alias (Builder::AliasPath), or nullptr.
  const PathAlias* alias() const { return alias_.has_value() ? &*alias_ : nullptr; }

  FilePolicy(FilePolicy&&) = default;
  FilePolicy& operator=(FilePolicy&&) = default;

 private:
  FilePolicy() = default;

  // The rules on one path; indices into rules_, -1 for none.
  struct RulesAtPath {
    int allow = -1;  // a tree or temporary-files rule
    int file = -1;   // a file rule: decides the path itself, with the tree's permissions too
    int deny = -1;
  };

  std::vector<Rule> rules_;
  std::vector<UniqueFd> roots_;
  UniqueFd filesystem_root_;
  absl::flat_hash_map<std::string, RulesAtPath> by_path_;
  absl::flat_hash_set<std::string> ancestors_;       // of allow rules
  absl::flat_hash_set<std::string> rule_ancestors_;  // of every rule
  mode_t file_mode_ = 0600;
  mode_t directory_mode_ = 0700;
  int uncovered_errno_ = ENOENT;
  std::optional<PathAlias> alias_;
};

}  // namespace sbox

#endif  // SBOX_BROKER_FILE_POLICY_H_
