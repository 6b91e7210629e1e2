#ifndef SBOX_BROKER_PATH_CHECK_H_
#define SBOX_BROKER_PATH_CHECK_H_

#include <string_view>

namespace sbox {

// Why a path string is not an absolute, normalized path.
enum class PathProblem {
  kNone,
  kEmpty,            // EINVAL
  kRelative,         // EINVAL: does not start with '/'
  kEmbeddedNul,      // EINVAL
  kDoubleSlash,      // EINVAL: "//" anywhere
  kDotComponent,     // EINVAL: a "." component
  kDotDotComponent,  // EINVAL: a ".." component
  kTrailingSlash,    // EINVAL: ends in '/' (other than "/" itself)
  kTooLong,          // ENAMETOOLONG: longer than PATH_MAX - 1 bytes
};

// Checks that `path` is absolute and normalized: starts with '/', no empty, "." or ".."
// component, no trailing slash, no NUL byte, at most PATH_MAX - 1 bytes. "/" itself passes.
// Purely lexical; it never touches the file system. Async-signal-safe.
PathProblem CheckAbsoluteNormalizedPath(std::string_view path);

// The errno the sandboxee sees for `problem` (0 for kNone).
int PathProblemErrno(PathProblem problem);

// A short, static description for logs and error messages.
const char* PathProblemText(PathProblem problem);

}  // namespace sbox

#endif  // SBOX_BROKER_PATH_CHECK_H_
