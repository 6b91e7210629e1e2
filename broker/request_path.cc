#include "broker/request_path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "broker/path_check.h"

namespace sbox {
namespace {

// Appends `path`'s components to `out` (an absolute path), dropping "." and empty ones. ".."
// takes away the last component of `out` while `*foldable` (how many of its last components
// may be folded lexically) allows, and is kept otherwise; `*kept_dotdot` says whether one was.
// A component appended ends the folding, unless `*foldable` is SIZE_MAX (fold everything).
// Returns the last non-empty component.
std::string_view AppendComponents(std::string_view path, std::string* out, size_t* foldable,
                                  bool* kept_dotdot) {
  std::string_view last;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view component = path.substr(start, end - start);
    start = end + 1;
    if (!component.empty()) last = component;
    if (component.empty() || component == ".") continue;
    if (component == "..") {
      if (*out == "/") continue;  // ".." of "/" is "/"
      if (*foldable > 0) {
        const size_t slash = out->rfind('/');
        out->resize(slash == 0 ? 1 : slash);
        if (*foldable != SIZE_MAX) --*foldable;  // SIZE_MAX: fold every ".." (never runs out)
        continue;
      }
      *kept_dotdot = true;
    }
    if (out->back() != '/') out->push_back('/');
    out->append(component.data(), component.size());
    // A ".." after this component depends on what the component is: physical from here on.
    if (*foldable != SIZE_MAX) *foldable = 0;
  }
  return last;
}

}  // namespace

void ApplyPathAlias(const PathAlias& alias, std::string* path) {
  if (!IsWithinPath(*path, alias.from) || IsWithinPath(*path, alias.to)) return;
  for (const std::string& kept : alias.kept) {
    if (IsWithinPath(*path, kept)) return;
  }
  path->replace(0, alias.from.size(), alias.to);
}

int JoinRequestPath(std::string_view path, std::string_view base, pid_t pid, const PathAlias* alias,
                    RequestPath* out, const char** reason) {
  if (path.find('\0') != std::string_view::npos) {
    *reason = PathProblemText(PathProblem::kEmbeddedNul);
    return EINVAL;
  }
  if (path.empty()) {
    *reason = PathProblemText(PathProblem::kEmpty);
    return EINVAL;
  }
  std::string& joined = out->path;
  out->has_dotdot = false;
  // Components of `joined` that came from `base`: ".." may fold them away lexically.
  size_t from_base = 0;
  if (path[0] == '/') {
    joined = "/";
  } else {
    joined.assign(base.data(), base.size());
    from_base = static_cast<size_t>(std::count(base.begin(), base.end(), '/')) - (base == "/");
  }
  const std::string_view last = AppendComponents(path, &joined, &from_base, &out->has_dotdot);
  out->names_directory = path.back() == '/' || last == "." || last == "..";
  if (alias != nullptr && path[0] == '/') ApplyPathAlias(*alias, &joined);
  if (pid != 0) {
    if (const size_t prefix = ProcSelfPrefix(joined); prefix != 0) {
      joined.replace(0, prefix, absl::StrCat("/proc/", pid));
    }
  }
  if (joined.size() > PATH_MAX - 1) {
    *reason = PathProblemText(PathProblem::kTooLong);
    return ENAMETOOLONG;
  }
  return 0;
}

int FoldPathLexically(std::string_view path, std::string_view base, std::string* out,
                      const char** reason) {
  if (path.find('\0') != std::string_view::npos) {
    *reason = PathProblemText(PathProblem::kEmbeddedNul);
    return EINVAL;
  }
  if (path.empty()) {
    *reason = PathProblemText(PathProblem::kEmpty);
    return EINVAL;
  }
  if (path[0] == '/') {
    out->assign("/");
  } else {
    out->assign(base.data(), base.size());
  }
  size_t foldable = SIZE_MAX;
  bool kept_dotdot = false;
  AppendComponents(path, out, &foldable, &kept_dotdot);
  if (out->size() > PATH_MAX - 1) {
    *reason = PathProblemText(PathProblem::kTooLong);
    return ENAMETOOLONG;
  }
  return 0;
}

int DescriptorPath(int fd, std::string* out) {
  char link[64];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  char target[PATH_MAX];
  const ssize_t size = readlink(link, target, sizeof(target));
  if (size <= 0 || static_cast<size_t>(size) >= sizeof(target) || target[0] != '/') {
    return ENOENT;
  }
  const std::string_view path(target, static_cast<size_t>(size));
  // The kernel marks a deleted file's path; such a path names nothing the policy can judge.
  if (path.size() >= 10 && path.substr(path.size() - 10) == " (deleted)") return ENOENT;
  if (CheckAbsoluteNormalizedPath(path) != PathProblem::kNone) return ENOENT;
  out->assign(path.data(), path.size());
  return 0;
}

int DirectoryPath(int fd, std::string* out) {
  struct stat st;
  if (fstat(fd, &st) != 0) return EBADF;
  if (!S_ISDIR(st.st_mode)) return ENOTDIR;
  return DescriptorPath(fd, out) == 0 ? 0 : EBADF;
}

size_t ProcSelfPrefix(std::string_view path) {
  for (std::string_view prefix :
       {std::string_view("/proc/self"), std::string_view("/proc/thread-self")}) {
    if (path.substr(0, prefix.size()) == prefix &&
        (path.size() == prefix.size() || path[prefix.size()] == '/')) {
      return prefix.size();
    }
  }
  return 0;
}

bool IsWithinPath(std::string_view path, std::string_view directory) {
  if (directory == "/") return !path.empty() && path[0] == '/';
  return path.substr(0, directory.size()) == directory &&
         (path.size() == directory.size() || path[directory.size()] == '/');
}

}  // namespace sbox
