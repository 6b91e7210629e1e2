#ifndef SBOX_TOOLS_PRIVATE_TMP_H_
#define SBOX_TOOLS_PRIVATE_TMP_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/unique_fd.h"

namespace sbox {

// The /tmp of one `sbox run --private-tmp` (or a policy's `private-tmp` line): a fresh
// directory, mode 0700, removed with everything in it when the run is over.
//
//   absl::StatusOr<PrivateTmp> tmp = PrivateTmp::Create("");
//   files.AllowTree(tmp->path(), kRead | kWrite | kCreate | kDelete).AliasPath("/tmp",
//   tmp->path());
//   ... run ...
//   absl::Status removed = tmp->Remove();  // or let the destructor do it
//
// Removal never follows a symlink and never leaves the directory: it works from descriptors
// held since creation, with openat(O_NOFOLLOW | O_DIRECTORY) and unlinkat, and gives every
// directory it descends into mode 0700 first (the program may have taken its own rights away).
// Nesting deeper than a few dozen directories is moved up to the top (renameat2) and removed
// from there, so no depth the program built runs sbox out of descriptors or stack.
class PrivateTmp {
 public:
  // Makes "BASE/sbox-tmp.XXXXXX" with mkdtemp. `base` empty: $TMPDIR when it is absolute, else
  // /tmp. Errors name the path and the call that failed.
  [[nodiscard]] static absl::StatusOr<PrivateTmp> Create(const std::string& base);

  PrivateTmp(PrivateTmp&& other) noexcept;
  PrivateTmp& operator=(PrivateTmp&& other) = delete;
  PrivateTmp(const PrivateTmp&) = delete;
  PrivateTmp& operator=(const PrivateTmp&) = delete;
  // Remove(), unless it ran; its error is lost here, so call Remove() to see it.
  ~PrivateTmp();

  // Absolute and normalized: the path the program's TMPDIR and its /tmp name.
  const std::string& path() const { return path_; }

  // Removes everything in the directory, then the directory itself when its name still holds
  // it (not something the program swapped in). Once: later calls return OK at once.
  [[nodiscard]] absl::Status Remove();

 private:
  PrivateTmp(std::string path, std::string name, UniqueFd parent, UniqueFd directory);

  std::string path_;
  std::string name_;  // the last component, beneath parent_
  UniqueFd parent_;
  UniqueFd directory_;  // invalid once removed
};

}  // namespace sbox

#endif  // SBOX_TOOLS_PRIVATE_TMP_H_
