#include "broker/file_policy.h"

#include <errno.h>
#include <fcntl.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "broker/path_check.h"
#include "broker/request_path.h"

namespace sbox {
namespace {

absl::string_view AsAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

const char* KindName(RuleKind kind) {
  switch (kind) {
    case RuleKind::kFile:
      return "file";
    case RuleKind::kTree:
      return "tree";
    case RuleKind::kTemporary:
      return "temporary";
    case RuleKind::kDeny:
      return "deny";
  }
  return "rule";
}

// The directory opens under `rule` resolve beneath.
std::string RootPath(const Rule& rule) {
  if (rule.IsTree()) return rule.path;
  const size_t slash = rule.path.rfind('/');
  return slash == 0 ? "/" : rule.path.substr(0, slash);
}

}  // namespace

std::string PermissionsText(Permissions permissions) {
  std::string text;
  if (permissions & kRead) text += 'r';
  if (permissions & kWrite) text += 'w';
  if (permissions & kCreate) text += 'c';
  if (permissions & kDelete) text += 'd';
  if (permissions & kConnect) text += 's';
  if (permissions & kExecute) text += 'x';
  return text.empty() ? "-" : text;
}

std::string Rule::ToString() const {
  switch (kind) {
    case RuleKind::kFile:
    case RuleKind::kTree:
      return absl::StrFormat("allow %s %s %s", PermissionsText(permissions), KindName(kind), path);
    case RuleKind::kTemporary:
      return absl::StrFormat("temporary %s", path);
    case RuleKind::kDeny:
      return absl::StrFormat("deny %s", path);
  }
  return path;
}

FilePolicy::Builder& FilePolicy::Builder::AllowFile(std::string path, Permissions permissions,
                                                    std::string source) {
  rules_.push_back(Rule{RuleKind::kFile, permissions, std::move(path), EACCES, std::move(source)});
  return *this;
}

FilePolicy::Builder& FilePolicy::Builder::AllowTree(std::string path, Permissions permissions,
                                                    std::string source) {
  rules_.push_back(Rule{RuleKind::kTree, permissions, std::move(path), EACCES, std::move(source)});
  return *this;
}

FilePolicy::Builder& FilePolicy::Builder::AllowTreeThroughout(std::string path,
                                                              Permissions permissions,
                                                              std::string source) {
  throughout_.emplace_back(path, permissions);
  return AllowTree(std::move(path), permissions, std::move(source));
}

FilePolicy::Builder& FilePolicy::Builder::AllowTemporaryFiles(std::string directory,
                                                              std::string source) {
  rules_.push_back(Rule{RuleKind::kTemporary, kRead | kWrite | kCreate, std::move(directory),
                        EACCES, std::move(source)});
  return *this;
}

FilePolicy::Builder& FilePolicy::Builder::Deny(std::string path, int error, std::string source) {
  rules_.push_back(Rule{RuleKind::kDeny, 0, std::move(path), error, std::move(source)});
  return *this;
}

FilePolicy::Builder& FilePolicy::Builder::SetUncoveredErrno(int error) {
  uncovered_errno_ = error;
  return *this;
}

FilePolicy::Builder& FilePolicy::Builder::AliasPath(std::string from, std::string to) {
  alias_ = PathAlias{std::move(from), std::move(to)};
  return *this;
}

FilePolicy::Builder& FilePolicy::Builder::SetCreateModes(mode_t file_mode, mode_t directory_mode) {
  file_mode_ = file_mode;
  directory_mode_ = directory_mode;
  return *this;
}

namespace {

// "rule 3 (tree /data, t.policy:4)": how errors name a rule, by its place among the rules the
// builder was given (`number`, from 1).
std::string RuleName(const Rule& rule, size_t number) {
  std::string name =
      absl::StrFormat("rule %d (%s %s", number, KindName(rule.kind), absl::CHexEscape(rule.path));
  if (!rule.source.empty()) absl::StrAppend(&name, ", ", rule.source);
  return name + ")";
}

// Opens `root_path` for `rule`: the directory itself, or, when it does not exist yet, its
// nearest existing ancestor with the missing names in `rule->root_rest`.
// `name` names the rule in errors.
absl::Status OpenRoot(const std::string& root_path, const std::string& name, Rule* rule,
                      UniqueFd* fd) {
  std::string existing = root_path;
  for (;;) {
    fd->reset(open(existing.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (fd->valid()) break;
    const int error = errno;
    if ((error != ENOENT && error != ENOTDIR) || existing == "/") {
      return absl::ErrnoToStatus(
          error, absl::StrFormat("%s: open(\"%s\", O_PATH|O_DIRECTORY)", name, existing));
    }
    const size_t slash = existing.rfind('/');
    existing.resize(slash == 0 ? 1 : slash);
  }
  if (existing.size() < root_path.size()) {
    rule->root_rest = root_path.substr(existing == "/" ? 1 : existing.size() + 1);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FilePolicy> FilePolicy::Builder::Build() const {
  if ((file_mode_ & ~0777u) != 0 || (directory_mode_ & ~0777u) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("create modes %#o and %#o: only permission bits (0777) may be set",
                        file_mode_, directory_mode_));
  }
  if (uncovered_errno_ != ENOENT && uncovered_errno_ != EACCES) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "uncovered paths: errno %d; only ENOENT and EACCES are meaningful", uncovered_errno_));
  }
  FilePolicy policy;
  policy.file_mode_ = file_mode_;
  policy.directory_mode_ = directory_mode_;
  policy.uncovered_errno_ = uncovered_errno_;
  if (alias_.has_value()) {
    for (const std::string* path : {&alias_->from, &alias_->to}) {
      if (const PathProblem problem = CheckAbsoluteNormalizedPath(*path);
          problem != PathProblem::kNone) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "path alias \"%s\": %s", absl::CHexEscape(*path), PathProblemText(problem)));
      }
    }
    if (alias_->from == "/" || alias_->from == alias_->to) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "path alias \"%s\" -> \"%s\": \"/\" cannot be aliased, nor a path to itself",
          alias_->from, alias_->to));
    }
    policy.alias_ = alias_;
    policy.alias_->kept.clear();
    for (const Rule& rule : rules_) {
      if (IsWithinPath(rule.path, alias_->from) && !IsWithinPath(rule.path, alias_->to)) {
        policy.alias_->kept.push_back(rule.path);
      }
    }
  }
  policy.rules_.reserve(rules_.size());
  policy.filesystem_root_.reset(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!policy.filesystem_root_.valid()) return absl::ErrnoToStatus(errno, "open(\"/\", O_PATH)");
  // Root directory -> its descriptor and the names it still lacks.
  absl::flat_hash_map<std::string, std::pair<int, std::string>> root_fds;

  std::vector<size_t> numbers;  // per rule of the policy, its number among the builder's
  for (size_t number = 1; number <= rules_.size(); ++number) {
    Rule rule = rules_[number - 1];
    rule.index = policy.rules_.size();
    if (rule.kind == RuleKind::kFile || rule.kind == RuleKind::kTree) {
      for (const auto& [tree, permissions] : throughout_) {
        if (IsWithinPath(rule.path, tree)) rule.permissions |= permissions;
      }
    }
    const std::string name = RuleName(rule, number);
    const PathProblem problem = CheckAbsoluteNormalizedPath(rule.path);
    if (problem != PathProblem::kNone) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: \"%s\": %s", name, absl::CHexEscape(rule.path), PathProblemText(problem)));
    }
    if (rule.kind == RuleKind::kFile && rule.path == "/") {
      return absl::InvalidArgumentError(absl::StrFormat("%s: \"/\" is not a file", name));
    }
    if (rule.kind != RuleKind::kDeny && (rule.permissions & kAllPermissions) == 0) {
      return absl::InvalidArgumentError(absl::StrFormat("%s: grants no permission", name));
    }
    if (rule.kind == RuleKind::kDeny && (rule.error < 1 || rule.error > 4095)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: errno %d is outside 1..4095", name, rule.error));
    }
    RulesAtPath& at_path = policy.by_path_[rule.path];
    int& slot = rule.kind == RuleKind::kDeny   ? at_path.deny
                : rule.kind == RuleKind::kFile ? at_path.file
                                               : at_path.allow;
    if (slot != -1) {
      // Rules of one kind on one path combine; anything else is a contradiction.
      Rule& earlier = policy.rules_[slot];
      if (earlier.kind != rule.kind || earlier.error != rule.error) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s contradicts %s: one path, two meanings", name,
                            RuleName(earlier, numbers[static_cast<size_t>(slot)])));
      }
      earlier.permissions |= rule.permissions;
      continue;
    }
    slot = static_cast<int>(rule.index);

    for (size_t slash = rule.path.rfind('/'); slash != std::string::npos && slash > 0;
         slash = rule.path.rfind('/', slash - 1)) {
      policy.rule_ancestors_.insert(rule.path.substr(0, slash));
    }
    if (rule.path != "/") policy.rule_ancestors_.insert("/");
    if (rule.kind != RuleKind::kDeny) {
      const std::string root_path = RootPath(rule);
      auto [root, inserted] = root_fds.emplace(root_path, std::make_pair(-1, std::string()));
      if (inserted) {
        UniqueFd fd;
        if (absl::Status opened = OpenRoot(root_path, name, &rule, &fd); !opened.ok()) {
          return opened;
        }
        root->second = {fd.get(), rule.root_rest};
        policy.roots_.push_back(std::move(fd));
      }
      rule.root = root->second.first;
      rule.root_rest = root->second.second;
      if (DescriptorPath(rule.root, &rule.canonical_root) != 0) {
        return absl::FailedPreconditionError(
            absl::StrFormat("%s: \"%s\" has no path the broker can name", name, root_path));
      }
      if (!rule.root_rest.empty()) {
        if (rule.canonical_root != "/") rule.canonical_root += '/';
        rule.canonical_root += rule.root_rest;
      }
      // Every proper ancestor, "/" included, may be stat'ed.
      for (size_t slash = rule.path.rfind('/'); slash != std::string::npos && slash > 0;
           slash = rule.path.rfind('/', slash - 1)) {
        if (!policy.ancestors_.insert(rule.path.substr(0, slash)).second) break;
      }
      if (rule.path != "/") policy.ancestors_.insert("/");
    }
    policy.rules_.push_back(std::move(rule));
    numbers.push_back(number);
  }
  // A file rule decides its path with whatever a tree rule on the same path grants there too.
  for (const auto& [path, at] : policy.by_path_) {
    if (at.file != -1 && at.allow != -1) {
      policy.rules_[at.file].permissions |= policy.rules_[at.allow].permissions;
    }
  }
  return policy;
}

bool FilePolicy::GrantsExec() const {
  return std::any_of(rules_.begin(), rules_.end(), [](const Rule& rule) {
    return rule.kind != RuleKind::kDeny && (rule.permissions & kExecute) != 0;
  });
}

bool FilePolicy::HasOwnProcessRules() const {
  return std::any_of(rules_.begin(), rules_.end(),
                     [](const Rule& rule) { return ProcSelfPrefix(rule.path) != 0; });
}

absl::StatusOr<FilePolicy> FilePolicy::ForSandboxee(pid_t pid) const {
  Builder builder;
  builder.SetCreateModes(file_mode_, directory_mode_).SetUncoveredErrno(uncovered_errno_);
  if (alias_.has_value()) builder.AliasPath(alias_->from, alias_->to);
  for (const Rule& rule : rules_) {
    std::string path = rule.path;
    if (const size_t prefix = ProcSelfPrefix(path); prefix != 0) {
      path.replace(0, prefix, absl::StrCat("/proc/", pid));
    }
    switch (rule.kind) {
      case RuleKind::kFile:
        builder.AllowFile(std::move(path), rule.permissions, rule.source);
        break;
      case RuleKind::kTree:
        builder.AllowTree(std::move(path), rule.permissions, rule.source);
        break;
      case RuleKind::kTemporary:
        builder.AllowTemporaryFiles(std::move(path), rule.source);
        break;
      case RuleKind::kDeny:
        builder.Deny(std::move(path), rule.error, rule.source);
        break;
    }
  }
  return builder.Build();
}

FilePolicy::Match FilePolicy::Find(std::string_view path) const {
  // The path itself, then each ancestor, longest first.
  std::string_view prefix = path;
  for (;;) {
    if (auto it = by_path_.find(AsAbsl(prefix)); it != by_path_.end()) {
      const RulesAtPath& at = it->second;
      if (at.deny != -1) return Match{&rules_[at.deny], {}};
      const bool exact = prefix.size() == path.size();
      if (exact && at.file != -1) {
        const Rule& rule = rules_[at.file];
        return Match{&rule, std::string_view(rule.path).substr(rule.path.rfind('/') + 1)};
      }
      if (at.allow != -1) {
        const Rule& rule = rules_[at.allow];
        if (exact) return Match{&rule, "."};
        const size_t skip = prefix.size() == 1 ? 1 : prefix.size() + 1;
        return Match{&rule, path.substr(skip)};
      }
    }
    if (prefix.size() == 1) return Match{};
    const size_t slash = prefix.rfind('/');
    prefix = prefix.substr(0, slash == 0 ? 1 : slash);
  }
}

bool FilePolicy::IsAncestorOfAllowed(std::string_view path) const {
  return ancestors_.contains(AsAbsl(path));
}

bool FilePolicy::ContainsRulePaths(std::string_view path) const {
  return rule_ancestors_.contains(AsAbsl(path));
}

std::string FilePolicy::PolicyPathOf(const Rule& rule, std::string_view real) const {
  const std::string_view canonical = rule.canonical_root;
  const std::string root = RootPath(rule);
  if (real == canonical) return root;
  // What follows the canonical root, starting with '/'.
  std::string_view rest;
  if (canonical == "/") {
    rest = real;
  } else if (real.size() > canonical.size() && real.substr(0, canonical.size()) == canonical &&
             real[canonical.size()] == '/') {
    rest = real.substr(canonical.size());
  } else {
    return "";
  }
  return root == "/" ? std::string(rest) : root + std::string(rest);
}

}  // namespace sbox
