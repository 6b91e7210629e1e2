#include "broker/file_request_handler.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "broker/beneath.h"
#include "broker/open_flags.h"
#include "broker/path_walk.h"
#include "broker/request_path.h"

namespace sbox {
namespace {

// One path of a request, resolved and judged.
struct Target {
  std::string path;  // absolute, normalized
  FilePolicy::Match match;
  bool ancestor = false;         // no allow rule covers it, but it is an ancestor of one
  bool names_directory = false;  // the request's path ended in "/"
  int itself = -1;  // the op acts on this descriptor (the request's own), named by `path`

  Permissions permissions() const { return match.allowed() ? match.rule->permissions : 0; }
};

// The decision as it forms: the policy's verdict, then the kernel's.
struct Verdict {
  bool allowed = true;
  int error = 0;
  const Rule* rule = nullptr;
  const char* reason = "";

  // Returns false, so that callers can `return verdict.Deny(...)`.
  bool Deny(int errno_value, const char* why) {
    allowed = false;
    error = errno_value;
    reason = why;
    return false;
  }
  void Fail(int errno_value) { error = errno_value; }
};

class Handler {
 public:
  Handler(const FilePolicy& policy, const proto::Request& request, const UniqueFd* dirfds,
          SandboxState& sandbox, uint8_t* payload)
      : policy_(policy), request_(request), dirfds_(dirfds), sandbox_(sandbox), payload_(payload) {}

  FileRequestHandler::Outcome Run();
  Decision MakeDecision(absl::Time start) const;

 private:
  // Resolves and judges the request's path (`second`: path2). `follow_last`: a symlink in the
  // last component is followed (as the call would). False when refused.
  bool Locate(bool second, bool follow_last, Target* target);
  // Some allow rule covers `target` (or, when `ancestor_ok`, it is an ancestor of one). Every op
  // checks this first, so a path the policy does not grant gets the policy's errno whatever the
  // arguments.
  bool Covered(const Target& target, bool ancestor_ok);
  // The policy grants `needed` on `target`.
  bool Require(const Target& target, Permissions needed, const char* why);
  // The caller's own openat2 asked for RESOLVE_NO_SYMLINKS.
  bool StaysBeneath() const;
  // An open with O_CREAT: a last name that does not exist yet is what it makes.
  bool CreatesItsPath() const {
    return request_.op == proto::Op::kOpen && (request_.flags & O_CREAT) != 0;
  }
  bool CallerRefusesSymlinks() const {
    return request_.op == proto::Op::kOpen && (request_.length & RESOLVE_NO_SYMLINKS) != 0;
  }
  // A kernel open met a symlink (ELOOP under RESOLVE_NO_SYMLINKS): asks Run for another attempt
  // that walks the path hop by hop. Returns false.
  bool MetSymlink(const char* why);
  // The kernel refused an open beneath a root with `error`.
  void KernelRefused(int error);
  // Opens `target` beneath its rule (or, for an ancestor, beneath "/"), never following a
  // symlink. Returns the descriptor or -1 with the verdict updated.
  int Open(const Target& target, uint64_t flags, uint64_t mode, uint64_t extra_resolve = 0);
  // The file `target` names, as an O_PATH descriptor (`flags` adds O_NOFOLLOW, O_DIRECTORY), or
  // the request's own descriptor for an op on it. -1 with the verdict updated on failure.
  int Lookup(const Target& target, uint64_t flags, UniqueFd* owned);
  // chmod, chown and utimens: locates the file the request names, following a last symlink
  // unless AT_SYMLINK_NOFOLLOW (the only flag they take). False when refused.
  bool LocateMetadataTarget();
  // Then, once the op checked its arguments: the policy must let the sandboxee write the file.
  // Returns its descriptor (O_PATH, or the request's own) and stat, or -1 with the verdict set.
  int OpenMetadataTarget(const char* needs_write, UniqueFd* owned, struct stat* st);
  // The parent directory of `target` beneath its rule's root, and the last component.
  bool OpenParent(const Target& target, UniqueFd* owned, int* parent, std::string* name);
  // Rename and link: both parent directories and last components.
  struct NameOperands {
    UniqueFd old_owned;
    UniqueFd new_owned;
    int old_parent = -1;
    int new_parent = -1;
    std::string old_name;
    std::string new_name;
  };
  bool OpenParents(NameOperands* names);
  // The new name's rule grants read, write or connect the old one lacks (or, `both_ways`, the
  // reverse too); refuses the request if so.
  bool Widens(bool both_ways);

  void Dispatch();
  void DoOpen();
  void DoAccess();
  void DoStat();
  void DoStatfs();
  void DoReadlink();
  void DoMkdir();
  void DoMknod();
  void DoRemove(int at_flags);
  void DoRename();
  void DoLink();
  void DoSymlink();
  void DoChmod();
  void DoChown();
  void DoUtimens();
  void DoTruncate();
  void DoConnect();
  void DoChdir();
  void DoExec();
  void DoGetcwd();

  const FilePolicy& policy_;
  const proto::Request& request_;
  const UniqueFd* dirfds_;
  SandboxState& sandbox_;
  uint8_t* payload_;

  // Set once an attempt met a symlink: paths are then walked hop by hop (broker/path_walk.h).
  bool walk_ = false;
  std::vector<std::string> links_;  // the symlinks the walks followed
  bool met_symlink_ = false;
  Target first_;
  Target second_;
  Verdict verdict_;
  FileRequestHandler::Outcome outcome_;
};

bool Handler::Locate(bool second, bool follow_last, Target* target) {
  const std::string_view path = second ? request_.path2 : request_.path;
  const uint32_t bit = second ? proto::kFdForPath2 : proto::kFdForPath;
  std::string base;
  if (request_.fd_paths & bit) {
    const int index = (second && (request_.fd_paths & proto::kFdForPath)) ? 1 : 0;
    const int fd = dirfds_[index].get();
    if (path.empty()) {
      // The op acts on the descriptor itself: judged by the path it has now.
      target->itself = fd;
      if (DescriptorPath(fd, &target->path) != 0) {
        return verdict_.Deny(EPERM, "the descriptor has no path the policy can judge");
      }
      target->match = policy_.Find(target->path);
      target->ancestor = !target->match.allowed() && policy_.IsAncestorOfAllowed(target->path);
      return true;
    }
    if (const int error = DirectoryPath(fd, &base); error != 0) {
      target->path.assign(path.data(), path.size());
      return verdict_.Deny(error, "the directory descriptor names no directory");
    }
  } else if (!path.empty() && path[0] != '/') {
    base = sandbox_.working_directory();
  }
  const char* reason = "";
  RequestPath joined;
  if (const int error =
          JoinRequestPath(path, base, sandbox_.pid(), policy_.alias(), &joined, &reason);
      error != 0) {
    target->path.assign(path.data(), path.size());
    return verdict_.Deny(error, reason);
  }
  target->names_directory = joined.names_directory;
  if (!walk_ && !joined.has_dotdot) {
    // The path as named, judged with one lookup: what a path without symlinks costs.
    target->path = std::move(joined.path);
    target->match = policy_.Find(target->path);
    if (target->match.allowed()) return true;
    target->ancestor = policy_.IsAncestorOfAllowed(target->path);
    // A path no rule names may still reach a grant through a symlink in it ("/lib/x" on a
    // merged-/usr system): it is walked before it is refused.
    if (target->match.rule != nullptr || target->ancestor) return true;
    joined.path = std::move(target->path);
  }
  const WalkResult walked = WalkPath(
      policy_, sandbox_.pid(), joined.path,
      WalkOptions{follow_last, !CallerRefusesSymlinks(), CreatesItsPath()}, &target->path, &links_);
  if (walked.error != 0) {
    // The log names what was asked for; the reason says why a component stopped it.
    verdict_.rule = policy_.Find(target->path).rule;
    target->path = std::move(joined.path);
    target->match = FilePolicy::Match();
    if (walked.refused) return verdict_.Deny(walked.error, walked.reason);
    verdict_.Fail(walked.error);
    verdict_.reason = walked.reason;
    return false;
  }
  target->match = policy_.Find(target->path);
  target->ancestor = !target->match.allowed() && policy_.IsAncestorOfAllowed(target->path);
  return true;
}

bool Handler::Covered(const Target& target, bool ancestor_ok) {
  if (ancestor_ok && target.ancestor) return true;
  return Require(target, 0, "");
}

bool Handler::Require(const Target& target, Permissions needed, const char* why) {
  verdict_.rule = target.match.rule;
  if (!target.match.allowed()) {
    if (target.ancestor) return verdict_.Deny(EACCES, "the path is only an ancestor of a grant");
    // A descriptor the sandboxee holds is no secret: its file is there, and not its to change.
    if (target.itself >= 0 && target.match.rule == nullptr) {
      return verdict_.Deny(EACCES, "the descriptor's file is outside the grants");
    }
    return verdict_.Deny(policy_.RefusalErrno(target.match), target.match.rule != nullptr
                                                                 ? "a deny rule covers the path"
                                                                 : "no rule covers the path");
  }
  if (target.match.rule->kind == RuleKind::kTemporary && request_.op != proto::Op::kOpen) {
    return verdict_.Deny(EACCES, "a temporary-files rule allows only creating opens");
  }
  if ((target.permissions() & needed) != needed) return verdict_.Deny(EACCES, why);
  return true;
}

void Handler::KernelRefused(int error) {
  // EXDEV the caller's RESOLVE_NO_XDEV asked for is the kernel's answer to give.
  const bool caller_no_xdev =
      request_.op == proto::Op::kOpen && (request_.length & RESOLVE_NO_XDEV) != 0;
  if (error == EXDEV && !caller_no_xdev) {
    // A directory on the way was renamed out from under the root while the kernel resolved
    // the path: it is no longer where the policy granted it.
    verdict_.Deny(policy_.uncovered_errno(), "the path left its rule's root while it was opened");
    return;
  }
  verdict_.Fail(error);
}

bool Handler::MetSymlink(const char* why) {
  met_symlink_ = true;
  return verdict_.Deny(ELOOP, why);
}

int Handler::Open(const Target& target, uint64_t flags, uint64_t mode, uint64_t extra_resolve) {
  if (target.names_directory) flags |= O_DIRECTORY;
  int fd;
  if (target.match.allowed()) {
    fd = OpenBeneath(*target.match.rule, target.match.beneath, flags, mode, extra_resolve);
  } else {
    verdict_.rule = nullptr;
    const std::string_view beneath =
        target.path == "/" ? std::string_view(".") : std::string_view(target.path).substr(1);
    fd = OpenAt2(policy_.filesystem_root(), beneath, flags, mode,
                 kBeneathNoSymlinks | extra_resolve);
  }
  if (fd >= 0) return fd;
  if (fd == -ELOOP) {
    MetSymlink("a symlink (not followed: O_NOFOLLOW, or it changed while being resolved)");
  } else {
    KernelRefused(-fd);
  }
  return -1;
}

int Handler::Lookup(const Target& target, uint64_t flags, UniqueFd* owned) {
  if (target.itself >= 0) return target.itself;
  const int fd = Open(target, O_PATH | flags, 0);
  if (fd >= 0) owned->reset(fd);
  return fd;
}

bool Handler::OpenParent(const Target& target, UniqueFd* owned, int* parent, std::string* name) {
  const Rule& rule = *target.match.rule;
  std::string_view beneath = target.match.beneath;
  std::string through_rest;
  if (beneath == ".") {
    // The rule's own path: its parent is outside the rule, unless the root did not exist when
    // the policy was built, and the names it still lacks lead to it.
    if (rule.root_rest.empty()) {
      return verdict_.Deny(EACCES, "a name operation on a rule's own root (its parent is outside)");
    }
    through_rest = rule.root_rest;
    beneath = through_rest;
  } else if (!rule.root_rest.empty()) {
    through_rest = rule.root_rest + "/" + std::string(beneath);
    beneath = through_rest;
  }
  const size_t slash = beneath.rfind('/');
  name->assign(slash == std::string_view::npos ? beneath : beneath.substr(slash + 1));
  if (slash == std::string_view::npos) {
    *parent = rule.root;
    return true;
  }
  const int fd =
      OpenAt2(rule.root, beneath.substr(0, slash), O_PATH | O_DIRECTORY, 0, kBeneathNoSymlinks);
  if (fd == -ELOOP) return MetSymlink("a symlink in the parent directory");
  if (fd < 0) {
    KernelRefused(-fd);
    return false;
  }
  owned->reset(fd);
  *parent = fd;
  return true;
}

// openat2's RESOLVE_BENEATH, as the kernel means it: the path is relative, never climbs above
// its starting directory (the descriptor's, or the working directory) on the way, and what it
// resolved to lies beneath that directory.
bool Handler::StaysBeneath() const {
  const std::string_view path = request_.path;
  if (path.empty() || path[0] == '/') return false;
  int depth = 0;
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view component = path.substr(start, end - start);
    start = end + 1;
    if (component == "..") {
      if (--depth < 0) return false;
    } else if (!component.empty() && component != ".") {
      ++depth;
    }
  }
  std::string base;
  if (request_.fd_paths & proto::kFdForPath) {
    if (DirectoryPath(dirfds_[0].get(), &base) != 0) return false;
  } else {
    base = sandbox_.working_directory();
  }
  return first_.path == base || base == "/" ||
         (first_.path.size() > base.size() && first_.path.compare(0, base.size(), base) == 0 &&
          first_.path[base.size()] == '/');
}

void Handler::DoOpen() {
  const uint32_t flags = request_.flags;
  const uint64_t resolve = request_.length;
  // The caller's own openat2 restrictions apply on top of the broker's.
  if (resolve & RESOLVE_IN_ROOT) {
    verdict_.Deny(EINVAL, "RESOLVE_IN_ROOT: the broker does not re-root a lookup");
    return;
  }
  const bool path_only = (flags & O_PATH) != 0;
  const bool follow = !(flags & O_NOFOLLOW) && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
  if (!Locate(false, follow, &first_)) return;
  if ((resolve & RESOLVE_BENEATH) && !StaysBeneath()) {
    verdict_.Deny(EXDEV, "RESOLVE_BENEATH: the path leaves its starting directory");
    return;
  }
  if (!Covered(first_, path_only)) return;
  // O_PATH takes no access: only O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC mean anything with it.
  const uint32_t meaningful =
      path_only ? (flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) : flags;
  if (!path_only && ((flags & ~kAllowedOpenFlags) != 0 || (flags & O_ACCMODE) == O_ACCMODE)) {
    verdict_.Deny(EINVAL, "open flags outside the allowlist");
    return;
  }
  const uint32_t access = flags & O_ACCMODE;
  Permissions needed = 0;
  if (!path_only) {
    if (access != O_WRONLY) needed |= kRead;
    if (access != O_RDONLY || (flags & (O_TRUNC | O_APPEND))) needed |= kWrite;
    if (flags & O_CREAT) needed |= kCreate;
  }
  if (!first_.ancestor &&
      (!Require(first_, needed & kRead, "reading needs r") ||
       !Require(first_, needed & kWrite, "writing, O_TRUNC or O_APPEND needs w") ||
       !Require(first_, needed & kCreate, "O_CREAT needs c"))) {
    return;
  }
  const uint64_t extra_resolve = resolve & (RESOLVE_NO_XDEV | RESOLVE_CACHED);

  if (!first_.ancestor && first_.match.rule->kind == RuleKind::kTemporary) {
    if ((flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL) || access == O_RDONLY) {
      verdict_.Deny(EACCES, "temporary files are opened with O_CREAT|O_EXCL and write access");
      return;
    }
    UniqueFd owned;
    int parent;
    std::string name;
    if (!OpenParent(first_, &owned, &parent, &name)) return;
    const int fd = OpenAt2(parent, name, flags | O_NONBLOCK, request_.mode & policy_.file_mode(),
                           kBeneathNoSymlinks | extra_resolve);
    if (fd < 0) {
      KernelRefused(-fd);
      return;
    }
    outcome_.fd.reset(fd);
    // O_EXCL made the name ours; only the sandboxee could race it away, and it may not delete.
    if (unlinkat(parent, name.c_str(), 0) != 0) {
      verdict_.Fail(errno);
      outcome_.fd.reset();
      return;
    }
  } else {
    // O_NONBLOCK during the open, so that a FIFO or device can never stall the broker.
    const int fd =
        Open(first_, meaningful | (path_only ? 0 : O_NONBLOCK),
             (flags & O_CREAT) ? (request_.mode & policy_.file_mode()) : 0, extra_resolve);
    if (fd < 0) return;
    outcome_.fd.reset(fd);
  }
  // Of the flags F_SETFL can change, the allowlist lets only O_APPEND and O_NONBLOCK in.
  if (!path_only && !(flags & O_NONBLOCK) &&
      fcntl(outcome_.fd.get(), F_SETFL, flags & O_APPEND) != 0) {
    verdict_.Fail(errno);
    outcome_.fd.reset();
  }
}

void Handler::DoAccess() {
  const uint32_t mode = request_.flags;
  if (!Locate(false, true, &first_) || !Covered(first_, true)) return;
  if ((mode & ~static_cast<uint32_t>(R_OK | W_OK | X_OK)) != 0) {
    verdict_.Deny(EINVAL, "access mode has bits other than R_OK|W_OK|X_OK");
    return;
  }
  if (first_.ancestor && mode != F_OK) {
    verdict_.Deny(EACCES, "the path is only an ancestor of a grant");
    return;
  }
  Permissions needed = 0;
  if (mode & R_OK) needed |= kRead;
  // A shell's PATH search asks X_OK of the programs it may run: x answers it, and so does r,
  // which lets the sandboxee read the file anyway.
  if (mode & X_OK) needed |= (first_.permissions() & kExecute) ? kExecute : kRead;
  if (mode & W_OK) needed |= kWrite;
  if (!first_.ancestor &&
      !Require(first_, needed, "the rule lacks the permission the access mode asks about")) {
    return;
  }
  UniqueFd owned;
  const int fd = Lookup(first_, 0, &owned);
  if (fd < 0) return;
  if (syscall(SYS_faccessat2, fd, "", mode, AT_EMPTY_PATH) != 0) verdict_.Fail(errno);
}

void Handler::DoStat() {
  const bool follow = !(request_.flags & AT_SYMLINK_NOFOLLOW);
  if (!Locate(false, follow, &first_) || !Covered(first_, true)) return;
  if ((request_.flags & ~static_cast<uint32_t>(AT_SYMLINK_NOFOLLOW)) != 0) {
    verdict_.Deny(EINVAL, "stat flags other than AT_SYMLINK_NOFOLLOW");
    return;
  }
  UniqueFd owned;
  const int fd = Lookup(first_, follow ? 0 : O_NOFOLLOW, &owned);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    verdict_.Fail(errno);
    return;
  }
  proto::EncodeStat(st, payload_);
  outcome_.payload_size = proto::kWireStatSize;
}

void Handler::DoStatfs() {
  if (!Locate(false, true, &first_) || !Covered(first_, true)) return;
  UniqueFd owned;
  const int fd = Lookup(first_, 0, &owned);
  if (fd < 0) return;
  struct statfs st;
  if (fstatfs(fd, &st) != 0) {
    verdict_.Fail(errno);
    return;
  }
  proto::EncodeStatfs(st, payload_);
  outcome_.payload_size = proto::kWireStatfsSize;
}

// Reading a link needs r where a rule covers it; an ancestor of a grant, which the broker
// walks through to reach the grant, may be read by anyone who may stat it.
void Handler::DoReadlink() {
  if (!Locate(false, false, &first_)) return;
  if (!first_.ancestor && !Require(first_, kRead, "readlink needs r")) return;
  UniqueFd owned;
  const int fd = Lookup(first_, O_NOFOLLOW, &owned);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    verdict_.Fail(errno);
    return;
  }
  if (!S_ISLNK(st.st_mode)) {
    verdict_.Fail(EINVAL);
    return;
  }
  const ssize_t size =
      readlinkat(fd, "", reinterpret_cast<char*>(payload_), proto::kMaxReplyPayload);
  if (size < 0) {
    verdict_.Fail(errno);
    return;
  }
  outcome_.payload_size = static_cast<size_t>(size);
  outcome_.result = static_cast<int32_t>(size);
}

void Handler::DoMkdir() {
  if (!Locate(false, false, &first_)) return;
  // An ancestor of a grant exists, as stat already tells: the kernel's EEXIST comes before any
  // permission check, and `mkdir -p` of a granted tree relies on it.
  if (first_.ancestor) {
    verdict_.rule = nullptr;
    verdict_.Deny(EEXIST, "the path exists: an ancestor of a grant");
    return;
  }
  if (!Require(first_, kCreate, "mkdir needs c")) return;
  if (first_.match.beneath == "." && first_.match.rule->root_rest.empty()) {
    verdict_.Fail(EEXIST);  // a tree's root exists: it was opened when the policy was built
    return;
  }
  UniqueFd owned;
  int parent;
  std::string name;
  if (!OpenParent(first_, &owned, &parent, &name)) return;
  if (mkdirat(parent, name.c_str(), request_.mode & policy_.directory_mode()) != 0) {
    verdict_.Fail(errno);
  }
}

void Handler::DoMknod() {
  if (!Locate(false, false, &first_) || !Require(first_, kCreate, "mknod needs c")) return;
  const uint32_t type = request_.mode & S_IFMT;
  if ((type != S_IFREG && type != S_IFIFO) || (request_.mode & ~(S_IFMT | 07777u)) != 0) {
    verdict_.Deny(EPERM, "mknod makes regular files and FIFOs only");
    return;
  }
  UniqueFd owned;
  int parent;
  std::string name;
  if (!OpenParent(first_, &owned, &parent, &name)) return;
  if (mknodat(parent, name.c_str(), type | (request_.mode & policy_.file_mode()), 0) != 0) {
    verdict_.Fail(errno);
  }
}

void Handler::DoRemove(int at_flags) {
  if (!Locate(false, false, &first_) || !Require(first_, kDelete, "removing a name needs d")) {
    return;
  }
  UniqueFd owned;
  int parent;
  std::string name;
  if (!OpenParent(first_, &owned, &parent, &name)) return;
  if (unlinkat(parent, name.c_str(), at_flags) != 0) verdict_.Fail(errno);
}

// A name operation never widens access to a file: the new name's rule may not grant read,
// write or connect that the old name's lacks, or a hard link or rename would turn a read-only
// file writable.
constexpr Permissions kFileAccess = kRead | kWrite | kConnect | kExecute;

bool Handler::Widens(bool both_ways) {
  const Permissions widened = second_.permissions() & ~first_.permissions() & kFileAccess;
  const Permissions narrowed = first_.permissions() & ~second_.permissions() & kFileAccess;
  if (widened == 0 && (!both_ways || narrowed == 0)) return false;
  verdict_.Deny(EACCES, "the new name would grant the file more than the old one");
  return true;
}

bool Handler::OpenParents(NameOperands* names) {
  return OpenParent(first_, &names->old_owned, &names->old_parent, &names->old_name) &&
         OpenParent(second_, &names->new_owned, &names->new_parent, &names->new_name);
}

void Handler::DoRename() {
  const uint32_t flags = request_.flags;
  if (!Locate(false, false, &first_) || !Locate(true, false, &second_) || !Covered(first_, false) ||
      !Covered(second_, false)) {
    return;
  }
  if ((flags & ~static_cast<uint32_t>(RENAME_NOREPLACE | RENAME_EXCHANGE)) != 0 ||
      flags == (RENAME_NOREPLACE | RENAME_EXCHANGE)) {
    verdict_.Deny(EINVAL, "rename flags other than RENAME_NOREPLACE or RENAME_EXCHANGE");
    return;
  }
  const bool exchange = flags & RENAME_EXCHANGE;
  // Without RENAME_NOREPLACE an existing new name is deleted; with RENAME_EXCHANGE it moves.
  Permissions old_needed = kRead | kDelete;
  Permissions new_needed = kCreate;
  if (!(flags & RENAME_NOREPLACE)) new_needed |= kDelete;
  if (exchange) {
    old_needed |= kCreate;
    new_needed |= kRead;
  }
  if (!Require(first_, old_needed, "renaming needs r and d on the old name") ||
      !Require(second_, new_needed, "renaming needs c (and d to replace) on the new name")) {
    return;
  }
  // Renaming a directory above other rules' paths would carry files out from under a deny
  // rule, or a narrower grant, to where the broader rule applies.
  if (policy_.ContainsRulePaths(first_.path) || policy_.ContainsRulePaths(second_.path)) {
    verdict_.Deny(EACCES, "renaming would move paths that other rules name");
    return;
  }
  if (Widens(exchange)) return;
  NameOperands names;
  if (!OpenParents(&names)) return;
  if (syscall(SYS_renameat2, names.old_parent, names.old_name.c_str(), names.new_parent,
              names.new_name.c_str(), flags) != 0) {
    verdict_.Fail(errno);
  }
}

void Handler::DoLink() {
  // AT_SYMLINK_FOLLOW links what the old name's last symlink names.
  const bool follow = (request_.flags & AT_SYMLINK_FOLLOW) != 0;
  if ((request_.flags & ~static_cast<uint32_t>(AT_SYMLINK_FOLLOW)) != 0) {
    verdict_.Deny(EINVAL, "link flags other than AT_SYMLINK_FOLLOW");
    return;
  }
  // Following the old name's last symlink takes the walk; linkat then links what it named.
  if (follow) walk_ = true;
  if (!Locate(false, follow, &first_) || !Locate(true, false, &second_)) return;
  if (!Require(first_, kRead, "linking needs r on the existing name") ||
      !Require(second_, kCreate, "linking needs c on the new name")) {
    return;
  }
  if (Widens(false)) return;
  NameOperands names;
  if (!OpenParents(&names)) return;
  if (linkat(names.old_parent, names.old_name.c_str(), names.new_parent, names.new_name.c_str(),
             0) != 0) {
    verdict_.Fail(errno);
  }
}

// The target is stored as given. A symlink grants nothing: whoever follows it is judged by the
// path it names, hop by hop.
void Handler::DoSymlink() {
  if (!Locate(false, false, &first_) || !Require(first_, kCreate, "symlink needs c")) return;
  const std::string target(request_.path2);
  if (target.empty() || target.find('\0') != std::string::npos) {
    verdict_.Deny(target.empty() ? ENOENT : EINVAL, "symlink target is empty or has a NUL");
    return;
  }
  second_.path = target;
  UniqueFd owned;
  int parent;
  std::string name;
  if (!OpenParent(first_, &owned, &parent, &name)) return;
  if (symlinkat(target.c_str(), parent, name.c_str()) != 0) verdict_.Fail(errno);
}

bool Handler::LocateMetadataTarget() {
  if (!Locate(false, !(request_.flags & AT_SYMLINK_NOFOLLOW), &first_) || !Covered(first_, false)) {
    return false;
  }
  if ((request_.flags & ~static_cast<uint32_t>(AT_SYMLINK_NOFOLLOW)) != 0) {
    return verdict_.Deny(EINVAL, "flags other than AT_SYMLINK_NOFOLLOW");
  }
  return true;
}

int Handler::OpenMetadataTarget(const char* needs_write, UniqueFd* owned, struct stat* st) {
  if (!Require(first_, kWrite, needs_write)) return -1;
  const int fd = Lookup(first_, (request_.flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0, owned);
  if (fd < 0) return -1;
  if (fstat(fd, st) != 0) {
    verdict_.Fail(errno);
    return -1;
  }
  return fd;
}

void Handler::DoChmod() {
  if (!LocateMetadataTarget()) return;
  if ((request_.mode & ~07777u) != 0) {
    verdict_.Deny(EINVAL, "chmod mode beyond 07777");
    return;
  }
  if ((request_.mode & 07000u) != 0) {
    verdict_.Deny(EPERM, "setuid, setgid and sticky bits are never granted");
    return;
  }
  UniqueFd owned;
  struct stat st;
  const int fd = OpenMetadataTarget("chmod needs w", &owned, &st);
  if (fd < 0) return;
  // chmod may not grant what creating could not: the policy's create modes are the ceiling.
  if (S_ISLNK(st.st_mode)) {
    verdict_.Fail(EOPNOTSUPP);  // a symlink's mode cannot be changed
    return;
  }
  const mode_t ceiling = S_ISDIR(st.st_mode) ? policy_.directory_mode() : policy_.file_mode();
  if ((request_.mode & ~ceiling) != 0) {
    verdict_.Deny(EPERM, "chmod beyond the policy's create mode");
    return;
  }
  // chmod(2) through the descriptor's magic link acts on the very inode that was opened.
  char link[64];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  if (chmod(link, request_.mode) != 0) verdict_.Fail(errno);
}

// True when an unprivileged owner may make this change: the owner stays, and the group is one
// the sandboxee belongs to. The sandboxee runs without capabilities, so this is what the kernel
// would let it do; the broker may have more, and must not lend it.
bool OwnerChangeAllowed(const struct stat& st, uint32_t owner, uint32_t group) {
  constexpr uint32_t kUnchanged = 0xffffffff;
  const bool same_owner = owner == kUnchanged || owner == st.st_uid;
  const bool same_group = group == kUnchanged || group == st.st_gid;
  if (same_owner && same_group) return true;  // nothing changes
  // Only the owner changes a group, and never the owner.
  if (!same_owner || st.st_uid != geteuid()) return false;
  if (group == getegid()) return true;
  gid_t groups[NGROUPS_MAX];
  const int count = getgroups(NGROUPS_MAX, groups);
  for (int i = 0; i < count; ++i) {
    if (groups[i] == group) return true;
  }
  return false;
}

void Handler::DoChown() {
  if (!LocateMetadataTarget()) return;
  UniqueFd owned;
  struct stat st;
  const int fd = OpenMetadataTarget("chown needs w", &owned, &st);
  if (fd < 0) return;
  const uint32_t owner = static_cast<uint32_t>(request_.length >> 32);
  const uint32_t group = static_cast<uint32_t>(request_.length);
  if (!OwnerChangeAllowed(st, owner, group)) {
    verdict_.Deny(EPERM, "chown to another owner, or to a group the sandboxee is not in");
    return;
  }
  if (fchownat(fd, "", owner, group, AT_EMPTY_PATH) != 0) verdict_.Fail(errno);
}

void Handler::DoUtimens() {
  if (!LocateMetadataTarget()) return;
  struct timespec times[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  if (!request_.path2.empty() && proto::DecodeTimes(request_.path2, times) != 0) {
    verdict_.Deny(EINVAL, "utimensat times are malformed");
    return;
  }
  for (const struct timespec& time : times) {
    if (time.tv_nsec != UTIME_NOW && time.tv_nsec != UTIME_OMIT &&
        (time.tv_nsec < 0 || time.tv_nsec >= 1000000000)) {
      verdict_.Deny(EINVAL, "utimensat nanoseconds outside 0..999999999");
      return;
    }
  }
  UniqueFd owned;
  struct stat st;
  const int fd = OpenMetadataTarget("changing times needs w", &owned, &st);
  if (fd < 0) return;
  if (utimensat(fd, "", times, AT_EMPTY_PATH) != 0) verdict_.Fail(errno);
}

void Handler::DoTruncate() {
  if (!Locate(false, true, &first_) || !Require(first_, kWrite, "truncate needs w")) return;
  if (request_.length > static_cast<uint64_t>(INT64_MAX)) {
    verdict_.Deny(EINVAL, "truncate length is negative");
    return;
  }
  const int fd = Open(first_, O_WRONLY | O_NONBLOCK, 0);
  if (fd < 0) return;
  UniqueFd target(fd);
  if (ftruncate(target.get(), static_cast<off_t>(request_.length)) != 0) verdict_.Fail(errno);
}

void Handler::DoConnect() {
  if (!Locate(false, true, &first_) || !Covered(first_, false)) return;
  const uint32_t type = request_.flags & ~static_cast<uint32_t>(SOCK_NONBLOCK);
  if (type != SOCK_STREAM && type != SOCK_SEQPACKET && type != SOCK_DGRAM) {
    verdict_.Deny(EINVAL, "socket type other than SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM");
    return;
  }
  if (!Require(first_, kConnect, "connect needs x")) return;
  const int fd = Open(first_, O_PATH, 0);
  if (fd < 0) return;
  UniqueFd target(fd);
  struct stat st;
  if (fstat(target.get(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    verdict_.Fail(ECONNREFUSED);
    return;
  }
  UniqueFd socket_fd(socket(AF_UNIX, static_cast<int>(type) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!socket_fd.valid()) {
    verdict_.Fail(errno);
    return;
  }
  // Connecting through the descriptor's magic link reaches the very socket that was opened.
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  snprintf(address.sun_path, sizeof(address.sun_path), "/proc/self/fd/%d", fd);
  // Non-blocking, so a listener with a full backlog cannot stall the broker: EAGAIN instead.
  if (connect(socket_fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    verdict_.Fail(errno);
    return;
  }
  if (!(request_.flags & SOCK_NONBLOCK) && fcntl(socket_fd.get(), F_SETFL, 0) != 0) {
    verdict_.Fail(errno);
    return;
  }
  outcome_.fd = std::move(socket_fd);
}

void Handler::DoChdir() {
  if (!Locate(false, true, &first_) || !Require(first_, kRead, "chdir needs r")) return;
  const int fd = Open(first_, O_PATH | O_DIRECTORY, 0);
  if (fd < 0) return;
  UniqueFd directory(fd);
  sandbox_.set_working_directory(first_.path);
}

// Decides only: the kernel performs the exec, and Landlock's execute right (granted where the
// policy grants x, launcher/landlock_mirror.h) makes it refuse any other file, whatever the
// sandboxee swaps in after this check. The check gives an honest caller the policy's errno and
// the log its line.
void Handler::DoExec() {
  const bool follow = !(request_.flags & AT_SYMLINK_NOFOLLOW);
  if (!Locate(false, follow, &first_) || !Covered(first_, false)) return;
  // Looked up first: a symlink met on the way is walked and the file it names judged.
  UniqueFd owned;
  const int fd = Lookup(first_, follow ? 0 : O_NOFOLLOW, &owned);
  if (fd < 0 || !Require(first_, kExecute, "exec needs x")) return;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    verdict_.Fail(errno);
  } else if (S_ISLNK(st.st_mode)) {
    verdict_.Fail(ELOOP);
  } else if (!S_ISREG(st.st_mode)) {
    verdict_.Fail(EACCES);
  }
}

// Needs no permission: the working directory is a path the sandboxee itself chose (or the
// launcher set), and knowing it grants nothing.
void Handler::DoGetcwd() {
  // The working directory is always a resolved path (the launcher's, or one op 15 resolved),
  // which is at most PATH_MAX - 1 bytes (P5), so it fits the payload.
  static_assert(PATH_MAX - 1 <= proto::kMaxReplyPayload);
  first_.path = sandbox_.working_directory();
  memcpy(payload_, first_.path.data(), first_.path.size());
  outcome_.payload_size = first_.path.size();
  outcome_.result = static_cast<int32_t>(first_.path.size());
}

void Handler::Dispatch() {
  switch (request_.op) {
    case proto::Op::kOpen:
      return DoOpen();
    case proto::Op::kAccess:
      return DoAccess();
    case proto::Op::kStat:
      return DoStat();
    case proto::Op::kStatfs:
      return DoStatfs();
    case proto::Op::kReadlink:
      return DoReadlink();
    case proto::Op::kMkdir:
      return DoMkdir();
    case proto::Op::kMknod:
      return DoMknod();
    case proto::Op::kRmdir:
      return DoRemove(AT_REMOVEDIR);
    case proto::Op::kUnlink:
      return DoRemove(0);
    case proto::Op::kRename:
      return DoRename();
    case proto::Op::kLink:
      return DoLink();
    case proto::Op::kSymlink:
      return DoSymlink();
    case proto::Op::kChmod:
      return DoChmod();
    case proto::Op::kChown:
      return DoChown();
    case proto::Op::kUtimens:
      return DoUtimens();
    case proto::Op::kTruncate:
      return DoTruncate();
    case proto::Op::kConnect:
      return DoConnect();
    case proto::Op::kExec:
      return DoExec();
    case proto::Op::kChdir:
      return DoChdir();
    case proto::Op::kGetcwd:
      return DoGetcwd();
    case proto::Op::kNewChannel:
      verdict_.Deny(ENOSYS, "not a file operation");
      return;
  }
}

FileRequestHandler::Outcome Handler::Run() {
  // The first attempt trusts the kernel to refuse any symlink (RESOLVE_NO_SYMLINKS): a path
  // without one costs what it always did. One that meets a symlink is walked hop by hop and
  // tried again; a symlink swapped in between walks fails the same way, a bounded number of
  // times, and then answers ELOOP.
  constexpr int kAttempts = 4;
  for (int attempt = 1;; ++attempt) {
    Dispatch();
    // openat2's RESOLVE_NO_SYMLINKS from the caller: no symlink is ever followed.
    if (!met_symlink_ || attempt == kAttempts || CallerRefusesSymlinks()) break;
    first_ = Target();
    second_ = Target();
    verdict_ = Verdict();
    outcome_ = FileRequestHandler::Outcome();
    met_symlink_ = false;
    walk_ = true;
    links_.clear();
  }
  // An allowed request that failed keeps the reason its failure gave, if any.
  if (verdict_.allowed && (verdict_.error == 0 || *verdict_.reason == '\0')) {
    verdict_.reason = "granted";
  }
  if (verdict_.error != 0) {
    outcome_.result = -verdict_.error;
    outcome_.fd.reset();
    outcome_.payload_size = 0;
  }
  return std::move(outcome_);
}

Decision Handler::MakeDecision(absl::Time start) const {
  return Decision{start, sandbox_.pid(), request_.op,
                  first_.path.empty() ? request_.path : std::string_view(first_.path),
                  // A Utimens request's path2 holds its times, not a path.
                  request_.op == proto::Op::kUtimens ? std::string_view()
                  : second_.path.empty()             ? request_.path2
                                                     : std::string_view(second_.path),
                  request_.flags, request_.mode, verdict_.allowed, verdict_.error, verdict_.rule,
                  verdict_.reason, absl::Now() - start, links_};
}

}  // namespace

FileRequestHandler::Outcome FileRequestHandler::Handle(const proto::Request& request,
                                                       const UniqueFd* dirfds,
                                                       SandboxState& sandbox,
                                                       uint8_t* payload) const {
  const absl::Time start = log_ ? absl::Now() : absl::InfinitePast();
  Handler handler(policy_, request, dirfds, sandbox, payload);
  Outcome outcome = handler.Run();
  if (log_) log_(handler.MakeDecision(start));
  return outcome;
}

}  // namespace sbox
