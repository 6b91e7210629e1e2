#ifndef SBOX_BROKER_FILE_POLICY_H_
#define SBOX_BROKER_FILE_POLICY_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "proto/unique_fd.h"

namespace sbox {

enum class GrantKind {
  kReadOnlyFile,   // one file, read
  kReadOnlyTree,   // a directory and everything beneath it, read
  kReadWriteFile,  // one file: read, write, truncate, append, create
};

const char* GrantKindName(GrantKind kind);

// One rule of a file policy. `root` is an O_PATH descriptor of the directory every open under
// this grant resolves beneath: the tree itself, or the parent directory of a file grant. It is
// opened once, when the policy is built, by the trusted side, and owned by the FilePolicy:
// grants with the same root directory share one descriptor.
struct Grant {
  GrantKind kind;
  std::string path;
  std::string file_name;  // file grants: the last component of `path`
  int root = -1;

  bool AllowsWrite() const { return kind == GrantKind::kReadWriteFile; }
  bool IsTree() const { return kind == GrantKind::kReadOnlyTree; }
};

// The broker's file rules. Immutable once built, so broker threads share it without locks.
//
// Precedence: the most specific grant decides. A file grant naming the path exactly wins over
// any tree; otherwise the tree with the longest root containing the path. Lookup costs one hash
// probe per path component, whatever the number of grants.
class FilePolicy {
 public:
  class Builder {
   public:
    // Each path must be absolute and normalized (see CheckAbsoluteNormalizedPath).
    Builder& AllowReadFile(std::string path);
    Builder& AllowReadTree(std::string path);
    Builder& AllowReadWriteFile(std::string path);

    // Validates every path and opens every grant's root directory. Errors name the grant:
    //   InvalidArgument  a path that is not absolute and normalized, "/" as a file grant, or a
    //                    path granted twice
    //   NotFound, PermissionDenied, ...  the root directory could not be opened (errno mapped)
    absl::StatusOr<FilePolicy> Build() const;

   private:
    std::vector<std::pair<GrantKind, std::string>> rules_;
  };

  struct Match {
    const Grant* grant = nullptr;  // nullptr: no grant covers the path
    std::string_view beneath;      // the path relative to grant->root ("." for a tree's root)
  };

  // `path` must already have passed CheckAbsoluteNormalizedPath. `beneath` points into `path` or
  // into the grant.
  Match Find(std::string_view path) const;

  const std::vector<Grant>& grants() const { return grants_; }

  FilePolicy(FilePolicy&&) = default;
  FilePolicy& operator=(FilePolicy&&) = default;

 private:
  FilePolicy() = default;

  std::vector<Grant> grants_;
  std::vector<UniqueFd> roots_;
  absl::flat_hash_map<std::string, size_t> files_;  // path -> index in grants_
  absl::flat_hash_map<std::string, size_t> trees_;  // root path -> index in grants_
};

}  // namespace sbox

#endif  // SBOX_BROKER_FILE_POLICY_H_
