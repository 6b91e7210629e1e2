#include "broker/path_check.h"

#include <errno.h>
#include <limits.h>

namespace sbox {

PathProblem CheckAbsoluteNormalizedPath(std::string_view path) {
  if (path.empty()) return PathProblem::kEmpty;
  if (path.size() > PATH_MAX - 1) return PathProblem::kTooLong;
  if (path.find('\0') != std::string_view::npos) return PathProblem::kEmbeddedNul;
  if (path[0] != '/') return PathProblem::kRelative;
  if (path.size() == 1) return PathProblem::kNone;
  if (path.back() == '/') return PathProblem::kTrailingSlash;
  // Walk the components between slashes; the first starts after the leading '/'.
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view component = path.substr(start, end - start);
    if (component.empty()) return PathProblem::kDoubleSlash;
    if (component == ".") return PathProblem::kDotComponent;
    if (component == "..") return PathProblem::kDotDotComponent;
    start = end + 1;
  }
  return PathProblem::kNone;
}

int PathProblemErrno(PathProblem problem) {
  switch (problem) {
    case PathProblem::kNone:
      return 0;
    case PathProblem::kTooLong:
      return ENAMETOOLONG;
    case PathProblem::kEmpty:
    case PathProblem::kRelative:
    case PathProblem::kEmbeddedNul:
    case PathProblem::kDoubleSlash:
    case PathProblem::kDotComponent:
    case PathProblem::kDotDotComponent:
    case PathProblem::kTrailingSlash:
      return EINVAL;
  }
  return EINVAL;
}

const char* PathProblemText(PathProblem problem) {
  switch (problem) {
    case PathProblem::kNone:
      return "path is absolute and normalized";
    case PathProblem::kEmpty:
      return "path is empty";
    case PathProblem::kRelative:
      return "path is not absolute";
    case PathProblem::kEmbeddedNul:
      return "path contains a NUL byte";
    case PathProblem::kDoubleSlash:
      return "path contains an empty component (//)";
    case PathProblem::kDotComponent:
      return "path contains a '.' component";
    case PathProblem::kDotDotComponent:
      return "path contains a '..' component";
    case PathProblem::kTrailingSlash:
      return "path ends with '/'";
    case PathProblem::kTooLong:
      return "path is longer than PATH_MAX - 1 bytes";
  }
  return "unknown path problem";
}

}  // namespace sbox
