#include "broker/file_policy.h"

#include <errno.h>
#include <fcntl.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "broker/path_check.h"

namespace sbox {
namespace {

absl::string_view AsAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

const char* GrantKindName(GrantKind kind) {
  switch (kind) {
    case GrantKind::kReadOnlyFile:
      return "read-only file";
    case GrantKind::kReadOnlyTree:
      return "read-only tree";
    case GrantKind::kReadWriteFile:
      return "read-write file";
  }
  return "unknown grant";
}

FilePolicy::Builder& FilePolicy::Builder::AllowReadFile(std::string path) {
  rules_.emplace_back(GrantKind::kReadOnlyFile, std::move(path));
  return *this;
}

FilePolicy::Builder& FilePolicy::Builder::AllowReadTree(std::string path) {
  rules_.emplace_back(GrantKind::kReadOnlyTree, std::move(path));
  return *this;
}

FilePolicy::Builder& FilePolicy::Builder::AllowReadWriteFile(std::string path) {
  rules_.emplace_back(GrantKind::kReadWriteFile, std::move(path));
  return *this;
}

absl::StatusOr<FilePolicy> FilePolicy::Builder::Build() const {
  FilePolicy policy;
  policy.grants_.reserve(rules_.size());
  absl::flat_hash_map<std::string, int> root_fds;  // root directory -> its descriptor
  for (const auto& [kind, path] : rules_) {
    const PathProblem problem = CheckAbsoluteNormalizedPath(path);
    if (problem != PathProblem::kNone) {
      return absl::InvalidArgumentError(absl::StrFormat("%s grant \"%s\": %s", GrantKindName(kind),
                                                        absl::CHexEscape(path),
                                                        PathProblemText(problem)));
    }
    Grant grant{kind, path, "", -1};
    std::string root_path = path;
    if (!grant.IsTree()) {
      if (path == "/") {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s grant \"/\": a file grant must name a file", GrantKindName(kind)));
      }
      const size_t slash = path.rfind('/');
      grant.file_name = path.substr(slash + 1);
      root_path = slash == 0 ? "/" : path.substr(0, slash);
    }
    auto& index = grant.IsTree() ? policy.trees_ : policy.files_;
    if (!index.emplace(path, policy.grants_.size()).second) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s grant \"%s\": the path is granted twice", GrantKindName(kind), path));
    }
    auto [root, inserted] = root_fds.emplace(root_path, -1);
    if (inserted) {
      UniqueFd fd(open(root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!fd.valid()) {
        const int error = errno;
        return absl::ErrnoToStatus(
            error, absl::StrFormat("%s grant \"%s\": open(\"%s\", O_PATH|O_DIRECTORY)",
                                   GrantKindName(kind), path, root_path));
      }
      root->second = fd.get();
      policy.roots_.push_back(std::move(fd));
    }
    grant.root = root->second;
    policy.grants_.push_back(std::move(grant));
  }
  return policy;
}

FilePolicy::Match FilePolicy::Find(std::string_view path) const {
  if (auto it = files_.find(AsAbsl(path)); it != files_.end()) {
    const Grant& grant = grants_[it->second];
    return Match{&grant, grant.file_name};
  }
  if (trees_.empty()) return Match{};
  // The path itself, then each ancestor, longest first.
  std::string_view prefix = path;
  for (;;) {
    if (auto it = trees_.find(AsAbsl(prefix)); it != trees_.end()) {
      const Grant& grant = grants_[it->second];
      if (prefix.size() == path.size()) return Match{&grant, "."};
      const size_t skip = prefix.size() == 1 ? 1 : prefix.size() + 1;
      return Match{&grant, path.substr(skip)};
    }
    if (prefix.size() == 1) return Match{};
    const size_t slash = prefix.rfind('/');
    prefix = prefix.substr(0, slash == 0 ? 1 : slash);
  }
}

}  // namespace sbox
