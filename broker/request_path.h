#ifndef SBOX_BROKER_REQUEST_PATH_H_
#define SBOX_BROKER_REQUEST_PATH_H_

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace sbox {

// A request's path made absolute, as the kernel would start to resolve it.
struct RequestPath {
  // Absolute; "." and empty components removed; ".." components kept, since what they mean
  // depends on the symlinks before them (broker/path_walk.h resolves them).
  std::string path;
  bool has_dotdot = false;
  // The path ended in "/" (or "/." or "/.."): it must name a directory.
  bool names_directory = false;
};

// A name the sandboxee's absolute paths use for another directory: `from` ("/tmp") and every
// path beneath it stand for `to` (a private directory) and the same path beneath it, as a bind
// mount would, but for names only: what the broker reports (getcwd, a descriptor's path, the
// decision log) is the real path. Both absolute and normalized; `from` is not "/".
struct PathAlias {
  std::string from;
  std::string to;
  // Names beneath `from` that keep their meaning: the paths of the policy's own rules there
  // (`--allow-read /tmp/work/in.wav`), which a user means as they are.
  std::vector<std::string> kept = {};
};

// Rewrites `path` (absolute) when it is `alias.from` or beneath it, and not `alias.to`, one of
// `alias.kept` or beneath them already: a name the sandboxee learned from the real path
// (TMPDIR) keeps working, and so does a name the policy grants. ".." is not folded first:
// "/tmp/.." is `to`'s parent, not "/".
void ApplyPathAlias(const PathAlias& alias, std::string* path);

// `path` is `directory` or beneath it, both absolute and normalized.
bool IsWithinPath(std::string_view path, std::string_view directory);

// The length of a "/proc/self" or "/proc/thread-self" prefix of `path` followed by nothing or
// by '/' (the sandboxee's own entries, which the broker names by its pid); 0 when none.
size_t ProcSelfPrefix(std::string_view path);

// Joins `path` to `base` (an absolute directory without symlinks, "." or ".." components: the
// directory descriptor's path, or the working directory) unless it is absolute, and cleans it
// as RequestPath says. ".." right after a component of `base` is folded: `base` comes from the
// kernel or the broker, never the sandboxee, and has no symlinks. "/proc/self" and
// "/proc/thread-self" become "/proc/<pid>": the sandboxee's, not the broker's (when `pid` is 0
// they are left alone). An absolute `path` goes through `alias` (ApplyPathAlias) when it is not
// null; a relative one does not, since `base` is a real path already. Returns 0, or the errno
// with `reason` set (static text): EINVAL for an empty path or a NUL byte, ENAMETOOLONG beyond
// PATH_MAX - 1 bytes.
int JoinRequestPath(std::string_view path, std::string_view base, pid_t pid, const PathAlias* alias,
                    RequestPath* out, const char** reason);

// For the command line's paths, which the user gives: `path` joined to `base` unless absolute,
// with ".", ".." and empty components folded lexically. Returns 0, or EINVAL or ENAMETOOLONG
// with `reason` set.
int FoldPathLexically(std::string_view path, std::string_view base, std::string* out,
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
