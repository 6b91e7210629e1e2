#include "tools/private_tmp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/request_path.h"

namespace sbox {
namespace {

// Directories held open at once while descending; deeper ones are moved to the top.
constexpr int kMaxDepth = 32;

absl::Status Failed(int error, const std::string& what) {
  return absl::ErrnoToStatus(error, absl::StrCat("--private-tmp: ", what));
}

// The names in `directory` (but "." and ".."), each with whether it is a directory (lstat's
// view: a symlink to one is not).
[[nodiscard]] absl::Status ListEntries(int directory,
                                       std::vector<std::pair<std::string, bool>>* entries) {
  // fdopendir owns its descriptor: a new one, of the same directory.
  const int fd = openat(directory, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Failed(errno, "reopening a directory");
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    const int error = errno;
    close(fd);
    return Failed(error, "fdopendir");
  }
  errno = 0;
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    bool is_directory = entry->d_type == DT_DIR;
    if (entry->d_type == DT_UNKNOWN) {
      struct stat st;
      is_directory =
          fstatat(directory, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    entries->emplace_back(name, is_directory);
  }
  const int error = errno;
  closedir(dir);
  return error == 0 ? absl::OkStatus() : Failed(error, "readdir");
}

// Empties `directory`, `depth` levels below `top`. A directory at kMaxDepth is moved into
// `top` under a fresh name, and `*moved` set: the caller empties `top` again.
[[nodiscard]] absl::Status Empty(int directory, int top, int depth, int* moved_count, bool* moved) {
  std::vector<std::pair<std::string, bool>> entries;
  if (absl::Status listed = ListEntries(directory, &entries); !listed.ok()) return listed;
  for (const auto& [name, is_directory] : entries) {
    if (!is_directory) {
      if (unlinkat(directory, name.c_str(), 0) != 0 && errno != ENOENT) {
        return Failed(errno, absl::StrCat("unlinkat \"", name, "\""));
      }
      continue;
    }
    if (depth + 1 >= kMaxDepth) {
      for (;;) {
        const std::string fresh = absl::StrCat(".sbox-deep.", ++*moved_count);
        if (renameat2(directory, name.c_str(), top, fresh.c_str(), RENAME_NOREPLACE) == 0) break;
        if (errno != EEXIST) return Failed(errno, absl::StrCat("renameat2 \"", name, "\""));
      }
      *moved = true;
      continue;
    }
    // The program may have taken its own rights away: they are given back through an O_PATH
    // descriptor of the very directory, which no symlink swapped in meanwhile can redirect.
    const UniqueFd held(
        openat(directory, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!held.valid()) return Failed(errno, absl::StrCat("opening \"", name, "\""));
    char magic[64];
    snprintf(magic, sizeof(magic), "/proc/self/fd/%d", held.get());
    if (chmod(magic, 0700) != 0) return Failed(errno, absl::StrCat("chmod \"", name, "\""));
    const UniqueFd child(openat(held.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!child.valid()) return Failed(errno, absl::StrCat("opening \"", name, "\""));
    if (absl::Status emptied = Empty(child.get(), top, depth + 1, moved_count, moved);
        !emptied.ok()) {
      return emptied;
    }
    if (unlinkat(directory, name.c_str(), AT_REMOVEDIR) != 0) {
      return Failed(errno, absl::StrCat("rmdir \"", name, "\""));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PrivateTmp> PrivateTmp::Create(const std::string& base) {
  std::string directory = base;
  if (directory.empty()) {
    const char* tmpdir = getenv("TMPDIR");
    directory = tmpdir != nullptr && tmpdir[0] == '/' ? tmpdir : "/tmp";
  }
  std::string normalized;
  const char* reason = nullptr;
  if (FoldPathLexically(directory, "/", &normalized, &reason) != 0 || normalized[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("--private-tmp: \"", directory, "\": ", reason != nullptr ? reason : ""));
  }
  UniqueFd parent(open(normalized.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!parent.valid()) return Failed(errno, absl::StrCat("opening \"", normalized, "\""));
  std::string pattern = absl::StrCat(normalized == "/" ? "" : normalized, "/sbox-tmp.XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return Failed(errno, absl::StrCat("mkdtemp in \"", normalized, "\""));
  }
  std::string name = pattern.substr(pattern.rfind('/') + 1);
  UniqueFd made(
      openat(parent.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!made.valid()) {
    const int error = errno;
    unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR);
    return Failed(error, absl::StrCat("opening \"", pattern, "\""));
  }
  return PrivateTmp(std::move(pattern), std::move(name), std::move(parent), std::move(made));
}

PrivateTmp::PrivateTmp(std::string path, std::string name, UniqueFd parent, UniqueFd directory)
    : path_(std::move(path)),
      name_(std::move(name)),
      parent_(std::move(parent)),
      directory_(std::move(directory)) {}

PrivateTmp::PrivateTmp(PrivateTmp&& other) noexcept
    : path_(std::move(other.path_)),
      name_(std::move(other.name_)),
      parent_(std::move(other.parent_)),
      directory_(std::move(other.directory_)) {}

PrivateTmp::~PrivateTmp() {
  if (directory_.valid()) Remove().IgnoreError();
}

absl::Status PrivateTmp::Remove() {
  if (!directory_.valid()) return absl::OkStatus();
  const UniqueFd directory = std::move(directory_);
  fchmod(directory.get(), 0700);
  int moved_count = 0;
  for (bool moved = true; moved;) {
    moved = false;
    if (absl::Status emptied = Empty(directory.get(), directory.get(), 0, &moved_count, &moved);
        !emptied.ok()) {
      return absl::Status(emptied.code(), absl::StrCat(emptied.message(), " in ", path_));
    }
  }
  // Only the directory made at Create: a name the program pointed elsewhere stays.
  struct stat held;
  struct stat named;
  if (fstat(directory.get(), &held) != 0) return Failed(errno, absl::StrCat("fstat ", path_));
  if (fstatat(parent_.get(), name_.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0 ||
      named.st_dev != held.st_dev || named.st_ino != held.st_ino) {
    return absl::FailedPreconditionError(
        absl::StrCat("--private-tmp: ", path_, " no longer names the directory sbox made"));
  }
  if (unlinkat(parent_.get(), name_.c_str(), AT_REMOVEDIR) != 0) {
    return Failed(errno, absl::StrCat("rmdir ", path_));
  }
  return absl::OkStatus();
}

}  // namespace sbox
