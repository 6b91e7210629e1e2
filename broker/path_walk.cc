#include "broker/path_walk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "broker/beneath.h"
#include "broker/request_path.h"
#include "proto/unique_fd.h"

namespace sbox {
namespace {

constexpr int kMaxHops = 40;  // the kernel's MAXSYMLINKS

// Looks at `candidate` without following it. Sets `is_link` and, for a symlink, `target`.
WalkResult Inspect(const FilePolicy& policy, pid_t pid, const std::string& candidate, bool* is_link,
                   std::string* target) {
  *is_link = false;
  // procfs would answer with the broker's pid.
  if (pid != 0 && (candidate == "/proc/self" || candidate == "/proc/thread-self")) {
    *is_link = true;
    *target = std::to_string(pid);
    return {};
  }
  const FilePolicy::Match match = policy.Find(candidate);
  int fd;
  if (match.allowed()) {
    // A rule's root was opened when the policy was built: it is the directory it names.
    if (match.beneath == "." && match.rule->root_rest.empty()) return {};
    fd = OpenBeneath(*match.rule, match.beneath, O_PATH | O_NOFOLLOW, 0);
  } else if (policy.IsAncestorOfAllowed(candidate)) {
    fd = OpenAt2(policy.filesystem_root(), std::string_view(candidate).substr(1),
                 O_PATH | O_NOFOLLOW, 0, kBeneathNoSymlinks);
  } else {
    return {policy.RefusalErrno(match), true,
            match.rule != nullptr ? "a deny rule covers a component of the path"
                                  : "no rule covers a component of the path"};
  }
  // EXDEV: a directory on the way was renamed out from under the root meanwhile.
  if (fd == -EXDEV) return {policy.uncovered_errno(), true, "a component left its rule's root"};
  if (fd < 0) return {-fd, false, "a component of the path cannot be looked up"};
  const UniqueFd owned(fd);
  struct stat st;
  if (fstat(fd, &st) != 0) return {errno, false, "a component of the path cannot be stat'ed"};
  if (!S_ISLNK(st.st_mode)) return {};
  char buffer[PATH_MAX];
  const ssize_t size = readlinkat(fd, "", buffer, sizeof(buffer));
  if (size < 0) return {errno, false, "a symlink cannot be read"};
  if (size == 0 || static_cast<size_t>(size) == sizeof(buffer)) {
    return {size == 0 ? ENOENT : ENAMETOOLONG, false, "a symlink's target is empty or too long"};
  }
  *is_link = true;
  target->assign(buffer, static_cast<size_t>(size));
  return {};
}

// The root directory of the allow rule that `candidate` and the names after it in `rest` (from
// `at`, up to the first "..") lead into, when it lies deeper than `candidate` and was opened
// when the policy was built; `*after` is where in `rest` its names end. Empty when none.
std::string RuleRootAhead(const FilePolicy& policy, const std::string& candidate,
                          const std::string& rest, size_t at, size_t* after) {
  std::string ahead = candidate;
  std::vector<std::pair<size_t, size_t>> ends;  // (ahead's length, position in rest) per name
  for (size_t start = rest.find_first_not_of('/', at); start != std::string::npos;
       start = rest.find_first_not_of('/', start)) {
    size_t end = rest.find('/', start);
    if (end == std::string::npos) end = rest.size();
    const std::string_view component = std::string_view(rest).substr(start, end - start);
    start = end;
    if (component == "..") break;
    if (component == ".") continue;
    ahead += '/';
    ahead.append(component.data(), component.size());
    ends.emplace_back(ahead.size(), end);
  }
  if (ends.empty()) return "";
  const FilePolicy::Match match = policy.Find(ahead);
  if (!match.allowed() || !match.rule->root_rest.empty()) return "";
  // The directory the rule's descriptor holds: the tree itself, or a file's parent.
  std::string root = match.rule->path;
  if (!match.rule->IsTree()) root.resize(std::max<size_t>(root.rfind('/'), 1));
  for (const auto& [length, end] : ends) {
    if (length == root.size()) {
      *after = end;
      return root;
    }
  }
  return "";
}

}  // namespace

WalkResult WalkPath(const FilePolicy& policy, pid_t pid, std::string_view path,
                    const WalkOptions& options, std::string* out, std::vector<std::string>* links) {
  std::string resolved = "/";
  std::string rest(path);  // what is left to resolve, components separated by '/'
  size_t at = 0;
  int hops = 0;
  std::string target;
  for (;;) {
    const size_t start = rest.find_first_not_of('/', at);
    if (start == std::string::npos) break;
    size_t end = rest.find('/', start);
    if (end == std::string::npos) end = rest.size();
    const std::string_view component = std::string_view(rest).substr(start, end - start);
    at = end;
    const bool last = rest.find_first_not_of('/', at) == std::string::npos;
    if (component == ".") continue;
    if (component == "..") {
      const size_t slash = resolved.rfind('/');
      resolved.resize(slash == 0 ? 1 : slash);
      continue;
    }
    std::string candidate = resolved;
    if (candidate.size() > 1) candidate += '/';
    candidate.append(component.data(), component.size());
    if (candidate.size() > PATH_MAX - 1) {
      *out = std::move(candidate);
      return {ENAMETOOLONG, false, "the resolved path is longer than PATH_MAX - 1 bytes"};
    }
    if (last && !options.follow_last) {
      resolved = std::move(candidate);
      break;
    }
    // Names above a rule's root are the rule's, not whatever symlinks they are now.
    if (!policy.Find(candidate).allowed()) {
      size_t after = 0;
      if (std::string root = RuleRootAhead(policy, candidate, rest, at, &after); !root.empty()) {
        resolved = std::move(root);
        at = after;
        continue;
      }
    }
    bool is_link = false;
    if (const WalkResult looked = Inspect(policy, pid, candidate, &is_link, &target);
        looked.error != 0) {
      // A last name that does not exist yet is what a create makes.
      if (last && options.last_may_be_missing && looked.error == ENOENT && !looked.refused) {
        resolved = std::move(candidate);
        break;
      }
      *out = std::move(candidate);
      return looked;
    }
    if (!is_link) {
      resolved = std::move(candidate);
      continue;
    }
    if (!options.symlinks_allowed) {
      *out = std::move(candidate);
      return {ELOOP, false, "a symlink, and RESOLVE_NO_SYMLINKS"};
    }
    if (++hops > kMaxHops) {
      *out = std::move(candidate);
      return {ELOOP, false, "more than 40 symlinks"};
    }
    if (links != nullptr) links->push_back(candidate);
    // An absolute target is a name the sandboxee's files chose, as a request's path is.
    if (target[0] == '/') {
      if (policy.alias() != nullptr) ApplyPathAlias(*policy.alias(), &target);
      resolved = "/";
    }
    // The target's components come next, then what followed the link.
    rest = target + rest.substr(at);
    at = 0;
  }
  *out = std::move(resolved);
  return {};
}

}  // namespace sbox
