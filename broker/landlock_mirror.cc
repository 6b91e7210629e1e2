#include "broker/landlock_mirror.h"

#include <fcntl.h>
#include <unistd.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "broker/exec_chain.h"
#include "broker/request_path.h"
#include "proto/unique_fd.h"

namespace sbox {
namespace {

constexpr uint64_t kProgramRights = landlock::kExecute | landlock::kReadFile;

std::string RuleName(const Rule& rule) {
  return rule.source.empty() ? absl::StrCat("\"", rule.ToString(), "\"")
                             : absl::StrCat("\"", rule.ToString(), "\" (", rule.source, ")");
}

// Landlock adds rights up along a path; the broker lets the most specific rule decide. Where
// the kernel decides alone (`needed`), a rule beneath a tree granting it that lacks it cannot
// be mirrored.
absl::Status CheckNoCarveOut(const FilePolicy& files, Permissions needed, const char* what) {
  for (const Rule& tree : files.rules()) {
    if (!tree.IsTree() || tree.kind == RuleKind::kDeny || (tree.permissions & needed) == 0) {
      continue;
    }
    for (const Rule& inner : files.rules()) {
      if (&inner == &tree || !IsWithinPath(inner.path, tree.path)) continue;
      const bool lacks = inner.kind == RuleKind::kDeny || (inner.permissions & needed) == 0;
      const bool counts = inner.path != tree.path || inner.kind == RuleKind::kDeny;
      if (lacks && counts) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "Landlock cannot take %s away from %s inside %s, and the kernel decides %s alone: "
            "grant it there too, or drop one rule",
            PermissionsText(needed), RuleName(inner), RuleName(tree), what));
      }
    }
  }
  return absl::OkStatus();
}

// An O_PATH descriptor of the rule's own path (the tree, or the file), following symlinks as
// the kernel would; invalid when it does not exist yet.
UniqueFd OpenRulePath(const Rule& rule) {
  if (rule.root < 0 || !rule.root_rest.empty()) return UniqueFd();
  if (rule.IsTree()) return UniqueFd(fcntl(rule.root, F_DUPFD_CLOEXEC, 0));
  const std::string name = rule.path.substr(rule.path.rfind('/') + 1);
  return UniqueFd(openat(rule.root, name.c_str(), O_PATH | O_CLOEXEC));
}

}  // namespace

uint64_t LandlockMirror::RightsOf(RuleKind kind, Permissions permissions) {
  if (kind == RuleKind::kDeny) return 0;
  if (kind == RuleKind::kTemporary) {
    return landlock::kReadFile | landlock::kWriteFile | landlock::kTruncate | landlock::kMakeReg |
           landlock::kRemoveFile;
  }
  uint64_t rights = 0;
  if (permissions & kRead) rights |= landlock::kReadFile | landlock::kReadDir | landlock::kIoctlDev;
  if (permissions & kWrite)
    rights |= landlock::kWriteFile | landlock::kTruncate | landlock::kIoctlDev;
  if (permissions & kCreate)
    rights |= landlock::kMakeReg | landlock::kMakeDir | landlock::kMakeSym | landlock::kMakeFifo |
              landlock::kMakeSock | landlock::kRefer;
  if (permissions & kDelete)
    rights |= landlock::kRemoveFile | landlock::kRemoveDir | landlock::kRefer;
  if (permissions & kExecute) rights |= kProgramRights;
  return rights;
}

absl::StatusOr<LandlockMirror> LandlockMirror::Build(const FilePolicy& files,
                                                     const LandlockMirrorOptions& options,
                                                     LandlockMode mode) {
  LandlockMirror mirror;
  const bool grants_exec = files.GrantsExec();
  const int abi = mode == LandlockMode::kOff ? 0 : landlock::Abi();
  if (abi == 0) {
    mirror.report_.not_enforced =
        mode == LandlockMode::kOff ? "turned off" : "this kernel offers no Landlock";
    const char* needs = grants_exec                       ? "the policy grants x (exec)"
                        : options.fast_reads              ? "fast reads"
                        : mode == LandlockMode::kRequired ? "Landlock is required"
                                                          : nullptr;
    if (needs != nullptr) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s, which only Landlock enforces, but Landlock is %s", needs,
          mode == LandlockMode::kOff ? "turned off" : "not offered by this kernel"));
    }
    return mirror;
  }
  if (grants_exec) {
    if (absl::Status status = CheckNoCarveOut(files, kExecute, "exec"); !status.ok()) return status;
  }
  if (options.fast_reads) {
    if (files.alias() != nullptr) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "fast reads cannot be combined with a path alias (%s means %s): the kernel would open "
          "the real path",
          files.alias()->from, files.alias()->to));
    }
    if (absl::Status status = CheckNoCarveOut(files, kRead, "read-only opens under fast reads");
        !status.ok()) {
      return status;
    }
  }

  const uint64_t handled = landlock::FsRightsOf(abi);
  absl::StatusOr<landlock::Ruleset> ruleset =
      landlock::Ruleset::Create(handled, landlock::ScopesOf(abi));
  if (!ruleset.ok()) return ruleset.status();
  for (const Rule& rule : files.rules()) {
    const uint64_t rights = RightsOf(rule.kind, rule.permissions) & handled;
    if (rights == 0) continue;
    if (ProcSelfPrefix(rule.path) != 0) {
      mirror.child_rules_.push_back({rule.path, rights});
      continue;
    }
    const UniqueFd fd = OpenRulePath(rule);
    if (!fd.valid()) continue;
    if (absl::Status status = ruleset->AllowBeneath(fd.get(), rights, RuleName(rule));
        !status.ok()) {
      return status;
    }
  }
  for (const std::string& program : options.programs) {
    absl::StatusOr<std::vector<std::string>> chain = ExecChain(program, options.working_directory);
    // The exec itself will fail, and say why in its own words.
    if (!chain.ok()) continue;
    for (const std::string& file : *chain) {
      const UniqueFd fd(open(file.c_str(), O_PATH | O_CLOEXEC));
      if (!fd.valid()) continue;  // the exec itself will say why
      if (absl::Status status = ruleset->AllowBeneath(fd.get(), kProgramRights & handled, file);
          !status.ok()) {
        return status;
      }
    }
  }
  mirror.report_.abi = abi;
  mirror.report_.fs_rights = handled;
  mirror.report_.scopes = ruleset->scopes();
  mirror.ruleset_.emplace(*std::move(ruleset));
  return mirror;
}

}  // namespace sbox
