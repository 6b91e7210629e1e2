#ifndef SBOX_BROKER_REQUEST_PATH_H_
#define SBOX_BROKER_REQUEST_PATH_H_

#include <sys/types.h>

#include <string>
#include <string_view>

namespace sbox {

// Makes a request's path absolute and normalized, the form the policy judges.
//   - An absolute path must already be normalized (CheckAbsoluteNormalizedPath): the broker
//     never guesses what "/a/../b" means when "a" may be a symlink.
//   - A relative path is joined to `base` (an absolute, normalized directory: the directory
//     descriptor's path, or the working directory) and its "." and ".." components are folded
//     lexically; ".." at "/" stays at "/". `base` comes from the kernel or the broker, never
//     from the sandboxee, so folding it lexically is exact.
//   - "/proc/self" and "/proc/thread-self" become "/proc/<pid>": the sandboxee's, not the
//     broker's (when `pid` is 0 they are left alone).
// Returns 0 and sets `out`, or returns the errno and sets `reason` (static text): EINVAL for an
// unnormalized absolute path, an empty path or a NUL byte, ENAMETOOLONG beyond PATH_MAX - 1.
int ResolveRequestPath(std::string_view path, std::string_view base, pid_t pid, std::string* out,
                       const char** reason);

// The absolute path of the directory `fd` refers to, from /proc/self/fd (the broker's view).
// Returns 0, or ENOTDIR when `fd` is not a directory, EBADF when its path cannot be had (a
// deleted directory, or one outside the broker's root).
int DirectoryPath(int fd, std::string* out);

// The absolute path of the file `fd` refers to now. Returns 0, or ENOENT when it has been
// deleted or has no path the broker can name.
int DescriptorPath(int fd, std::string* out);

}  // namespace sbox

#endif  // SBOX_BROKER_REQUEST_PATH_H_
