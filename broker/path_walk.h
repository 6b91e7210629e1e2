#ifndef SBOX_BROKER_PATH_WALK_H_
#define SBOX_BROKER_PATH_WALK_H_

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "broker/file_policy.h"

namespace sbox {

struct WalkResult {
  int error = 0;            // 0, or the errno the request gets
  bool refused = false;     // the policy refused a component (otherwise the kernel's error)
  const char* reason = "";  // static text, when error != 0
};

// Resolves `path` (absolute, from JoinRequestPath: it may hold "..") as the kernel would, one
// component at a time, so that no symlink and no ".." gives access the policy does not:
//   - Each component is looked at without following it, beneath the rule that covers it (or
//     beneath "/" when it is an ancestor of an allowed path, which may be looked at). A
//     component no rule covers, or a deny rule covers, stops the walk with the policy's errno
//     (RefusalErrno), as if it were absent.
//   - A symlink is followed by its target's name: absolute targets restart at "/" (after the
//     policy's path alias, as a request's absolute path), relative ones continue from the
//     link's directory; every hop is judged again by the policy as the
//     path it names. More than 40 hops is ELOOP, as for the kernel.
//   - ".." takes the parent of what has been resolved so far, which holds no symlink: the
//     physical parent. It never leaves "/".
//   - The last component is followed when `options.follow_last`, and left as it is otherwise.
//   - A rule's own path is taken as the policy built it: its root directory was opened when the
//     policy loaded (following symlinks the policy's author named), so a path that leads into
//     a rule reaches it by the rule's name, whatever symlinks the names above it are.
// On success `out` holds a path with no "." or ".." component and no symlink but perhaps the
// last. On failure it holds the component at fault. The result is a name: the broker opens it
// beneath its rule with RESOLVE_NO_SYMLINKS, so a symlink swapped in meanwhile fails (ELOOP)
// instead of being followed.
//   - "/proc/self" and "/proc/thread-self", however reached, are the sandboxee's "/proc/<pid>"
//     (`pid`), never the broker's own.
// `links`, when not null, receives the path of every symlink followed, in order.
struct WalkOptions {
  bool follow_last = true;           // follow a symlink in the last component
  bool symlinks_allowed = true;      // false: a symlink met is ELOOP (RESOLVE_NO_SYMLINKS)
  bool last_may_be_missing = false;  // a last component that does not exist is its name (a
                                     // create makes it), not ENOENT
};
WalkResult WalkPath(const FilePolicy& policy, pid_t pid, std::string_view path,
                    const WalkOptions& options, std::string* out,
                    std::vector<std::string>* links = nullptr);

}  // namespace sbox

#endif  // SBOX_BROKER_PATH_WALK_H_
