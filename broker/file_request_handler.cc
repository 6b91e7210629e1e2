#include "broker/file_request_handler.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/time/clock.h"
#include "broker/open_flags.h"
#include "broker/path_check.h"
#include "broker/request_path.h"

namespace sbox {
namespace {

constexpr uint64_t kContained = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;

// One path of a request, resolved and judged.
struct Target {
  std::string path;  // absolute, normalized
  FilePolicy::Match match;
  bool ancestor = false;  // no allow rule covers it, but it is an ancestor of one

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

// A NUL-terminated copy of `name` for the *at syscalls; `name` is at most PATH_MAX - 1 bytes.
class CName {
 public:
  explicit CName(std::string_view name) {
    memcpy(buffer_, name.data(), name.size());
    buffer_[name.size()] = '\0';
  }
  const char* get() const { return buffer_; }

 private:
  char buffer_[PATH_MAX];
};

int OpenAt2(int dirfd, std::string_view path, uint64_t flags, uint64_t mode, uint64_t resolve) {
  open_how how = {};
  // openat2 rejects O_PATH with any flag but O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC.
  how.flags = flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY);
  how.mode = mode;
  how.resolve = resolve;
  const CName name(path);
  // A rename anywhere on the system while ".." is resolved beneath a root makes openat2 fail
  // with EAGAIN, to be retried; a bounded number of tries keeps a flood of renames from
  // holding the broker.
  long fd = -1;
  for (int attempt = 0; attempt < 16; ++attempt) {
    fd = syscall(SYS_openat2, dirfd, name.get(), &how, sizeof(how));
    if (fd >= 0 || errno != EAGAIN) break;
  }
  return fd >= 0 ? static_cast<int>(fd) : -errno;
}

class Handler {
 public:
  Handler(const FilePolicy& policy, const proto::Request& request, const UniqueFd* dirfds,
          SandboxState& sandbox, uint8_t* payload)
      : policy_(policy), request_(request), dirfds_(dirfds), sandbox_(sandbox), payload_(payload) {}

  FileRequestHandler::Outcome Run();
  Decision MakeDecision(absl::Time start) const;

 private:
  // Resolves and judges the request's path (`second`: path2). False when refused.
  bool Locate(bool second, Target* target);
  // Some allow rule covers `target` (or, when `ancestor_ok`, it is an ancestor of one). Every op
  // checks this first, so a path the policy does not allow is EACCES whatever the arguments.
  bool Covered(const Target& target, bool ancestor_ok);
  // The policy grants `needed` on `target`.
  bool Require(const Target& target, Permissions needed, const char* why);
  // Opens `target` beneath its rule's root, as described in the header. Returns the descriptor
  // or -1 with the verdict updated. `needed`: the permissions a followed symlink's real path
  // must also have; `follow`: whether a symlink may be followed at all.
  int Open(const Target& target, uint64_t flags, uint64_t mode, Permissions needed, bool follow);
  // The parent directory of `target` beneath its rule's root, and the last component.
  bool OpenParent(const Target& target, UniqueFd* owned, int* parent, std::string_view* name);
  // Rename and link: both parent directories and last components.
  struct NameOperands {
    UniqueFd old_owned;
    UniqueFd new_owned;
    int old_parent = -1;
    int new_parent = -1;
    std::string_view old_name;
    std::string_view new_name;
  };
  bool OpenParents(NameOperands* names);
  // The new name's rule grants read, write or connect the old one lacks (or, `both_ways`, the
  // reverse too); refuses the request if so.
  bool Widens(bool both_ways);
  // Opens an ancestor of the allowed paths for stat or access: beneath "/", no symlinks.
  int OpenAncestor(const Target& target, uint64_t flags);

  void DoOpen();
  void DoAccess();
  void DoStat();
  void DoReadlink();
  void DoMkdir();
  void DoRemove(int at_flags);
  void DoRename();
  void DoLink();
  void DoSymlink();
  void DoChmod();
  void DoTruncate();
  void DoConnect();
  void DoChdir();
  void DoGetcwd();

  const FilePolicy& policy_;
  const proto::Request& request_;
  const UniqueFd* dirfds_;
  SandboxState& sandbox_;
  uint8_t* payload_;

  Target first_;
  Target second_;
  Verdict verdict_;
  FileRequestHandler::Outcome outcome_;
};

bool Handler::Locate(bool second, Target* target) {
  const std::string_view path = second ? request_.path2 : request_.path;
  const uint32_t bit = second ? proto::kFdForPath2 : proto::kFdForPath;
  std::string base;
  if (request_.fd_paths & bit) {
    const int index = (second && (request_.fd_paths & proto::kFdForPath)) ? 1 : 0;
    if (const int error = DirectoryPath(dirfds_[index].get(), &base); error != 0) {
      target->path.assign(path.data(), path.size());
      return verdict_.Deny(error, "the directory descriptor names no directory");
    }
  } else if (!path.empty() && path[0] != '/') {
    base = sandbox_.working_directory();
  }
  const char* reason = "";
  if (const int error = ResolveRequestPath(path, base, sandbox_.pid(), &target->path, &reason);
      error != 0) {
    target->path.assign(path.data(), path.size());
    return verdict_.Deny(error, reason);
  }
  target->match = policy_.Find(target->path);
  if (!target->match.allowed()) {
    target->ancestor = policy_.IsAncestorOfAllowed(target->path);
  }
  return true;
}

bool Handler::Covered(const Target& target, bool ancestor_ok) {
  if (ancestor_ok && target.ancestor) return true;
  return Require(target, 0, "");
}

bool Handler::Require(const Target& target, Permissions needed, const char* why) {
  verdict_.rule = target.match.rule;
  if (!target.match.allowed()) {
    return verdict_.Deny(EACCES, target.match.rule != nullptr ? "a deny rule covers the path"
                                                              : "no rule covers the path");
  }
  if (target.match.rule->kind == RuleKind::kTemporary && request_.op != proto::Op::kOpen) {
    return verdict_.Deny(EACCES, "a temporary-files rule allows only creating opens");
  }
  if ((target.permissions() & needed) != needed) return verdict_.Deny(EACCES, why);
  return true;
}

int Handler::Open(const Target& target, uint64_t flags, uint64_t mode, Permissions needed,
                  bool follow) {
  const Rule& rule = *target.match.rule;
  const std::string_view beneath = target.match.beneath;
  int fd = OpenAt2(rule.root, beneath, flags, mode, kContained | RESOLVE_NO_SYMLINKS);
  if (fd == -ELOOP && rule.IsTree() && follow) {
    fd = OpenAt2(rule.root, beneath, flags, mode, kContained);
    if (fd >= 0) {
      // A symlink was followed: judge where the descriptor really is.
      UniqueFd opened(fd);
      std::string real;
      std::string judged;
      if (DescriptorPath(fd, &real) != 0 || (judged = policy_.PolicyPathOf(rule, real)).empty()) {
        verdict_.Deny(EACCES, "a symlink led to a file that has no path beneath the root");
        return -1;
      }
      const FilePolicy::Match match = policy_.Find(judged);
      if (!match.allowed() || (match.rule->permissions & needed) != needed ||
          match.rule->kind == RuleKind::kTemporary) {
        verdict_.Deny(EACCES, "a symlink led to a path the policy does not grant");
        return -1;
      }
      fd = opened.release();
    }
  }
  if (fd >= 0) return fd;
  if (fd == -EXDEV) {
    verdict_.Deny(EACCES, "a symlink leads outside the rule's root");
  } else if (fd == -ELOOP && !rule.IsTree()) {
    verdict_.Deny(ELOOP, "a file rule never follows a symlink");
  } else if (fd == -ELOOP && !follow) {
    verdict_.Deny(ELOOP, "creating or truncating never follows a symlink");
  } else {
    verdict_.Fail(-fd);
  }
  return -1;
}

bool Handler::OpenParent(const Target& target, UniqueFd* owned, int* parent,
                         std::string_view* name) {
  const Rule& rule = *target.match.rule;
  const std::string_view beneath = target.match.beneath;
  if (beneath == ".") {
    return verdict_.Deny(EACCES, "a name operation on a rule's own root (its parent is outside)");
  }
  const size_t slash = beneath.rfind('/');
  *name = slash == std::string_view::npos ? beneath : beneath.substr(slash + 1);
  if (slash == std::string_view::npos) {
    *parent = rule.root;
    return true;
  }
  const int fd = OpenAt2(rule.root, beneath.substr(0, slash), O_PATH | O_DIRECTORY, 0,
                         kContained | RESOLVE_NO_SYMLINKS);
  if (fd == -ELOOP) return verdict_.Deny(ELOOP, "a name operation never crosses a symlink");
  if (fd < 0) {
    verdict_.Fail(-fd);
    return false;
  }
  owned->reset(fd);
  *parent = fd;
  return true;
}

int Handler::OpenAncestor(const Target& target, uint64_t flags) {
  verdict_.rule = nullptr;
  const std::string_view beneath =
      target.path == "/" ? std::string_view(".") : std::string_view(target.path).substr(1);
  const int fd =
      OpenAt2(policy_.filesystem_root(), beneath, flags, 0, kContained | RESOLVE_NO_SYMLINKS);
  if (fd >= 0) return fd;
  if (fd == -ELOOP) {
    verdict_.Deny(ELOOP, "an ancestor is stat'ed without following symlinks");
  } else {
    verdict_.Fail(-fd);
  }
  return -1;
}

void Handler::DoOpen() {
  // A relative path's trailing '/' (folded away) still means "a directory", as for the kernel.
  const bool trailing_slash = !request_.path.empty() && request_.path.back() == '/';
  const uint32_t flags = request_.flags | (trailing_slash ? O_DIRECTORY : 0);
  if (!Locate(false, &first_) || !Covered(first_, false)) return;
  if ((flags & ~kAllowedOpenFlags) != 0 || (flags & O_ACCMODE) == O_ACCMODE) {
    verdict_.Deny(EINVAL, "open flags outside the allowlist");
    return;
  }
  const uint32_t access = flags & O_ACCMODE;
  Permissions needed = 0;
  if (access != O_WRONLY) needed |= kRead;
  if (access != O_RDONLY || (flags & (O_TRUNC | O_APPEND))) needed |= kWrite;
  if (flags & O_CREAT) needed |= kCreate;
  if (!Require(first_, needed & kRead, "reading needs r") ||
      !Require(first_, needed & kWrite, "writing, O_TRUNC or O_APPEND needs w") ||
      !Require(first_, needed & kCreate, "O_CREAT needs c")) {
    return;
  }

  if (first_.match.rule->kind == RuleKind::kTemporary) {
    if ((flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL) || access == O_RDONLY) {
      verdict_.Deny(EACCES, "temporary files are opened with O_CREAT|O_EXCL and write access");
      return;
    }
    UniqueFd owned;
    int parent;
    std::string_view name;
    if (!OpenParent(first_, &owned, &parent, &name)) return;
    const int fd = OpenAt2(parent, name, flags | O_NONBLOCK, request_.mode & policy_.file_mode(),
                           kContained | RESOLVE_NO_SYMLINKS);
    if (fd < 0) {
      verdict_.Fail(-fd);
      return;
    }
    outcome_.fd.reset(fd);
    // O_EXCL made the name ours; only the sandboxee could race it away, and it may not delete.
    if (unlinkat(parent, CName(name).get(), 0) != 0) {
      verdict_.Fail(errno);
      outcome_.fd.reset();
      return;
    }
  } else {
    // O_NONBLOCK during the open, so that a FIFO or device can never stall the broker.
    const bool follow = !(flags & (O_CREAT | O_TRUNC));
    const int fd =
        Open(first_, flags | O_NONBLOCK,
             (flags & O_CREAT) ? (request_.mode & policy_.file_mode()) : 0, needed, follow);
    if (fd < 0) return;
    outcome_.fd.reset(fd);
  }
  // Of the flags F_SETFL can change, the allowlist lets only O_APPEND and O_NONBLOCK in.
  if (!(flags & O_NONBLOCK) && fcntl(outcome_.fd.get(), F_SETFL, flags & O_APPEND) != 0) {
    verdict_.Fail(errno);
    outcome_.fd.reset();
  }
}

void Handler::DoAccess() {
  const uint32_t mode = request_.flags;
  if (!Locate(false, &first_) || !Covered(first_, true)) return;
  if ((mode & ~static_cast<uint32_t>(R_OK | W_OK | X_OK)) != 0) {
    verdict_.Deny(EINVAL, "access mode has bits other than R_OK|W_OK|X_OK");
    return;
  }
  int fd;
  if (first_.ancestor && mode == F_OK) {
    fd = OpenAncestor(first_, O_PATH);
  } else {
    Permissions needed = 0;
    if (mode & (R_OK | X_OK)) needed |= kRead;
    if (mode & W_OK) needed |= kWrite;
    if (!Require(first_, needed, "the rule lacks the permission the access mode asks about")) {
      return;
    }
    fd = Open(first_, O_PATH, 0, needed, true);
  }
  if (fd < 0) return;
  UniqueFd target(fd);
  if (syscall(SYS_faccessat2, target.get(), "", mode, AT_EMPTY_PATH) != 0) verdict_.Fail(errno);
}

void Handler::DoStat() {
  if (!Locate(false, &first_) || !Covered(first_, true)) return;
  if ((request_.flags & ~static_cast<uint32_t>(AT_SYMLINK_NOFOLLOW)) != 0) {
    verdict_.Deny(EINVAL, "stat flags other than AT_SYMLINK_NOFOLLOW");
    return;
  }
  const uint64_t flags = O_PATH | ((request_.flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0);
  int fd;
  if (first_.ancestor) {
    fd = OpenAncestor(first_, flags);
  } else {
    if (!Require(first_, 0, "")) return;
    fd = Open(first_, flags, 0, 0, true);
  }
  if (fd < 0) return;
  UniqueFd target(fd);
  struct stat st;
  if (fstat(target.get(), &st) != 0) {
    verdict_.Fail(errno);
    return;
  }
  proto::EncodeStat(st, payload_);
  outcome_.payload_size = proto::kWireStatSize;
}

void Handler::DoReadlink() {
  if (!Locate(false, &first_) || !Require(first_, kRead, "readlink needs r")) return;
  UniqueFd owned;
  int parent;
  std::string_view name;
  if (first_.match.beneath == ".") {
    verdict_.Fail(EINVAL);  // a rule's root is a directory, never a symlink
    return;
  }
  if (!OpenParent(first_, &owned, &parent, &name)) return;
  const ssize_t size = readlinkat(parent, CName(name).get(), reinterpret_cast<char*>(payload_),
                                  proto::kMaxReplyPayload);
  if (size < 0) {
    verdict_.Fail(errno);
    return;
  }
  outcome_.payload_size = static_cast<size_t>(size);
  outcome_.result = static_cast<int32_t>(size);
}

void Handler::DoMkdir() {
  if (!Locate(false, &first_) || !Require(first_, kCreate, "mkdir needs c")) return;
  if (first_.match.beneath == ".") {
    verdict_.Fail(EEXIST);  // a tree's root exists: it was opened when the policy was built
    return;
  }
  UniqueFd owned;
  int parent;
  std::string_view name;
  if (!OpenParent(first_, &owned, &parent, &name)) return;
  if (mkdirat(parent, CName(name).get(), request_.mode & policy_.directory_mode()) != 0) {
    verdict_.Fail(errno);
  }
}

void Handler::DoRemove(int at_flags) {
  if (!Locate(false, &first_) || !Require(first_, kDelete, "removing a name needs d")) return;
  UniqueFd owned;
  int parent;
  std::string_view name;
  if (!OpenParent(first_, &owned, &parent, &name)) return;
  if (unlinkat(parent, CName(name).get(), at_flags) != 0) verdict_.Fail(errno);
}

// A name operation never widens access to a file: the new name's rule may not grant read,
// write or connect that the old name's lacks, or a hard link or rename would turn a read-only
// file writable.
constexpr Permissions kFileAccess = kRead | kWrite | kConnect;

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
  if (!Locate(false, &first_) || !Locate(true, &second_) || !Covered(first_, false) ||
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
  if (syscall(SYS_renameat2, names.old_parent, CName(names.old_name).get(), names.new_parent,
              CName(names.new_name).get(), flags) != 0) {
    verdict_.Fail(errno);
  }
}

void Handler::DoLink() {
  if (!Locate(false, &first_) || !Locate(true, &second_)) return;
  if (!Require(first_, kRead, "linking needs r on the existing name") ||
      !Require(second_, kCreate, "linking needs c on the new name")) {
    return;
  }
  if (Widens(false)) return;
  NameOperands names;
  if (!OpenParents(&names)) return;
  if (linkat(names.old_parent, CName(names.old_name).get(), names.new_parent,
             CName(names.new_name).get(), 0) != 0) {
    verdict_.Fail(errno);
  }
}

void Handler::DoSymlink() {
  if (!Locate(false, &first_) || !Require(first_, kCreate, "symlink needs c")) return;
  // The target is stored as given, but judged where it points: from the link's directory.
  const std::string_view target = request_.path2;
  if (target.empty() || target.find('\0') != std::string_view::npos) {
    verdict_.Deny(target.empty() ? ENOENT : EINVAL, "symlink target is empty or has a NUL");
    return;
  }
  std::string directory = first_.path.substr(0, first_.path.rfind('/'));
  if (directory.empty()) directory = "/";
  const char* reason = "";
  if (ResolveRequestPath(target, directory, sandbox_.pid(), &second_.path, &reason) != 0) {
    second_.path.assign(target.data(), target.size());
    verdict_.Deny(EACCES, "symlink target is not a normalized path the policy can judge");
    return;
  }
  second_.match = policy_.Find(second_.path);
  if (!second_.match.allowed() || second_.match.rule->kind == RuleKind::kTemporary) {
    verdict_.Deny(EACCES, "symlink target is a path the policy does not grant");
    return;
  }
  UniqueFd owned;
  int parent;
  std::string_view name;
  if (!OpenParent(first_, &owned, &parent, &name)) return;
  if (symlinkat(std::string(target).c_str(), parent, CName(name).get()) != 0) {
    verdict_.Fail(errno);
  }
}

void Handler::DoChmod() {
  if (!Locate(false, &first_) || !Covered(first_, false)) return;
  if ((request_.mode & ~07777u) != 0) {
    verdict_.Deny(EINVAL, "chmod mode has bits beyond 07777");
    return;
  }
  if ((request_.mode & 07000u) != 0) {
    verdict_.Deny(EPERM, "setuid, setgid and sticky bits are never granted");
    return;
  }
  if (!Require(first_, kWrite, "chmod needs w")) return;
  const int fd = Open(first_, O_PATH, 0, kWrite, true);
  if (fd < 0) return;
  UniqueFd target(fd);
  // chmod may not grant what creating could not: the policy's create modes are the ceiling.
  struct stat st;
  if (fstat(fd, &st) != 0) {
    verdict_.Fail(errno);
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

void Handler::DoTruncate() {
  if (!Locate(false, &first_) || !Require(first_, kWrite, "truncate needs w")) return;
  if (request_.length > static_cast<uint64_t>(INT64_MAX)) {
    verdict_.Deny(EINVAL, "truncate length is negative");
    return;
  }
  const int fd = Open(first_, O_WRONLY | O_NONBLOCK, 0, kWrite, true);
  if (fd < 0) return;
  UniqueFd target(fd);
  if (ftruncate(target.get(), static_cast<off_t>(request_.length)) != 0) verdict_.Fail(errno);
}

void Handler::DoConnect() {
  if (!Locate(false, &first_) || !Covered(first_, false)) return;
  const uint32_t type = request_.flags & ~static_cast<uint32_t>(SOCK_NONBLOCK);
  if (type != SOCK_STREAM && type != SOCK_SEQPACKET && type != SOCK_DGRAM) {
    verdict_.Deny(EINVAL, "socket type other than SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM");
    return;
  }
  if (!Require(first_, kConnect, "connect needs x")) return;
  const int fd = Open(first_, O_PATH, 0, kConnect, true);
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
  if (!Locate(false, &first_) || !Require(first_, kRead, "chdir needs r")) return;
  const int fd = Open(first_, O_PATH | O_DIRECTORY, 0, kRead, true);
  if (fd < 0) return;
  UniqueFd directory(fd);
  sandbox_.set_working_directory(first_.path);
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

FileRequestHandler::Outcome Handler::Run() {
  switch (request_.op) {
    case proto::Op::kOpen:
      DoOpen();
      break;
    case proto::Op::kAccess:
      DoAccess();
      break;
    case proto::Op::kStat:
      DoStat();
      break;
    case proto::Op::kReadlink:
      DoReadlink();
      break;
    case proto::Op::kMkdir:
      DoMkdir();
      break;
    case proto::Op::kRmdir:
      DoRemove(AT_REMOVEDIR);
      break;
    case proto::Op::kUnlink:
      DoRemove(0);
      break;
    case proto::Op::kRename:
      DoRename();
      break;
    case proto::Op::kLink:
      DoLink();
      break;
    case proto::Op::kSymlink:
      DoSymlink();
      break;
    case proto::Op::kChmod:
      DoChmod();
      break;
    case proto::Op::kTruncate:
      DoTruncate();
      break;
    case proto::Op::kConnect:
      DoConnect();
      break;
    case proto::Op::kChdir:
      DoChdir();
      break;
    case proto::Op::kGetcwd:
      DoGetcwd();
      break;
    case proto::Op::kNewChannel:
      verdict_.Deny(ENOSYS, "not a file operation");
      break;
  }
  if (verdict_.allowed) verdict_.reason = "granted";
  if (verdict_.error != 0) {
    outcome_.result = -verdict_.error;
    outcome_.fd.reset();
    outcome_.payload_size = 0;
  }
  return std::move(outcome_);
}

Decision Handler::MakeDecision(absl::Time start) const {
  return Decision{start,
                  sandbox_.pid(),
                  request_.op,
                  first_.path.empty() ? request_.path : std::string_view(first_.path),
                  second_.path.empty() ? request_.path2 : std::string_view(second_.path),
                  request_.flags,
                  request_.mode,
                  verdict_.allowed,
                  verdict_.error,
                  verdict_.rule,
                  verdict_.reason,
                  absl::Now() - start};
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
