#include "broker/file_request_handler.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "broker/open_flags.h"
#include "broker/path_check.h"

namespace sbox {
namespace {

// The sandboxee's own bits are masked with this when the broker creates a file.
constexpr mode_t kCreateModeMask = 0600;

// The policy's verdict, then the kernel's.
struct Verdict {
  const Grant* grant = nullptr;
  std::string_view beneath;
  bool allowed = false;
  int error = 0;
  const char* reason = "";

  void Deny(int errno_value, const char* why) {
    allowed = false;
    error = errno_value;
    reason = why;
  }
};

Verdict CheckPath(const FilePolicy& policy, std::string_view path) {
  Verdict verdict;
  const PathProblem problem = CheckAbsoluteNormalizedPath(path);
  if (problem != PathProblem::kNone) {
    verdict.Deny(PathProblemErrno(problem), PathProblemText(problem));
    return verdict;
  }
  const FilePolicy::Match match = policy.Find(path);
  if (match.grant == nullptr) {
    verdict.Deny(EACCES, "no grant covers the path");
    return verdict;
  }
  verdict.grant = match.grant;
  verdict.beneath = match.beneath;
  verdict.allowed = true;
  verdict.reason = "granted";
  return verdict;
}

// openat2(2) beneath the grant's root. Returns the descriptor, or -1 with `verdict` updated. An
// escape (EXDEV: a symlink leading outside the root) is a denial, reported as EACCES. Mount
// points beneath a tree's root are crossed like directories.
int OpenBeneath(Verdict* verdict, uint64_t flags, uint64_t mode) {
  const Grant& grant = *verdict->grant;
  char name[PATH_MAX];
  memcpy(name, verdict->beneath.data(), verdict->beneath.size());
  name[verdict->beneath.size()] = '\0';
  open_how how = {};
  // openat2 rejects O_PATH with any flag but O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC.
  how.flags = flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY);
  how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  if (!grant.IsTree()) how.resolve |= RESOLVE_NO_SYMLINKS;
  const long fd = syscall(SYS_openat2, grant.root, name, &how, sizeof(how));
  if (fd >= 0) return static_cast<int>(fd);
  const int error = errno;
  if (error == EXDEV) {
    verdict->Deny(EACCES, "resolution would leave the grant's root");
  } else if (error == ELOOP && !grant.IsTree()) {
    verdict->Deny(ELOOP, "a file grant never follows a symlink");
  } else {
    verdict->error = error;
  }
  return -1;
}

}  // namespace

FileRequestHandler::Outcome FileRequestHandler::Handle(const proto::Request& request,
                                                       uint8_t* payload) const {
  Outcome outcome;
  Verdict verdict = CheckPath(policy_, request.path);

  switch (request.op) {
    case proto::Op::kOpen: {
      const uint32_t flags = request.flags;
      if (!verdict.allowed) break;
      if ((flags & ~kAllowedOpenFlags) != 0 || (flags & O_ACCMODE) == O_ACCMODE) {
        verdict.Deny(EINVAL, "open flags outside the allowlist");
        break;
      }
      if (OpenFlagsWrite(flags) && !verdict.grant->AllowsWrite()) {
        verdict.Deny(EACCES, "write, truncate, append or create on a read-only grant");
        break;
      }
      // O_NONBLOCK during the open, so that a FIFO or device can never stall the broker.
      const int fd = OpenBeneath(&verdict, flags | O_NONBLOCK,
                                 (flags & O_CREAT) ? (request.mode & kCreateModeMask) : 0);
      if (fd < 0) break;
      outcome.fd.reset(fd);
      // Of the flags F_SETFL can change, the allowlist lets only O_APPEND and O_NONBLOCK in.
      if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags & O_APPEND) != 0) {
        verdict.error = errno;
        outcome.fd.reset();
      }
      break;
    }
    case proto::Op::kAccess: {
      const uint32_t mode = request.flags;
      if (!verdict.allowed) break;
      if ((mode & ~static_cast<uint32_t>(R_OK | W_OK | X_OK)) != 0) {
        verdict.Deny(EINVAL, "access mode has bits other than R_OK|W_OK|X_OK");
        break;
      }
      if ((mode & W_OK) && !verdict.grant->AllowsWrite()) {
        verdict.Deny(EACCES, "W_OK on a read-only grant");
        break;
      }
      const int fd = OpenBeneath(&verdict, O_PATH, 0);
      if (fd < 0) break;
      UniqueFd target(fd);
      if (syscall(SYS_faccessat2, target.get(), "", mode, AT_EMPTY_PATH) != 0) {
        verdict.error = errno;
      }
      break;
    }
    case proto::Op::kStat: {
      if (!verdict.allowed) break;
      if ((request.flags & ~static_cast<uint32_t>(AT_SYMLINK_NOFOLLOW)) != 0) {
        verdict.Deny(EINVAL, "stat flags other than AT_SYMLINK_NOFOLLOW");
        break;
      }
      const uint32_t nofollow = (request.flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0;
      const int fd = OpenBeneath(&verdict, O_PATH | nofollow, 0);
      if (fd < 0) break;
      UniqueFd target(fd);
      struct stat st;
      if (fstat(target.get(), &st) != 0) {
        verdict.error = errno;
        break;
      }
      proto::EncodeStat(st, payload);
      outcome.payload_size = proto::kWireStatSize;
      break;
    }
    case proto::Op::kNewChannel:
      verdict.Deny(ENOSYS, "not a file operation");
      break;
  }

  outcome.result = -verdict.error;
  if (log_) {
    log_(Decision{request.op, request.path, request.flags, verdict.allowed, verdict.error,
                  verdict.grant, verdict.reason});
  }
  return outcome;
}

}  // namespace sbox
