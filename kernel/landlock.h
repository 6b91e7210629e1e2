#ifndef SBOX_KERNEL_LANDLOCK_H_
#define SBOX_KERNEL_LANDLOCK_H_

// The kernel's Landlock interface (landlock(7)), wrapped once: which ABI the kernel offers,
// which rights each ABI knows, a ruleset built in the parent (absl::Status API), and the raw,
// async-signal-safe calls the child makes between fork and exec (sandboxee/sandboxee_setup.cc)
// to add its own-process rules and enforce the ruleset, after no_new_privs.
//
// Rights are the kernel's bits. Debian 12's <linux/landlock.h> predates ABI 3, so the values
// are spelled here, as the kernel's UAPI fixes them.

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "proto/unique_fd.h"

namespace sbox::landlock {

// LANDLOCK_ACCESS_FS_*.
inline constexpr uint64_t kExecute = 1ull << 0;
inline constexpr uint64_t kWriteFile = 1ull << 1;
inline constexpr uint64_t kReadFile = 1ull << 2;
inline constexpr uint64_t kReadDir = 1ull << 3;
inline constexpr uint64_t kRemoveDir = 1ull << 4;
inline constexpr uint64_t kRemoveFile = 1ull << 5;
inline constexpr uint64_t kMakeChar = 1ull << 6;
inline constexpr uint64_t kMakeDir = 1ull << 7;
inline constexpr uint64_t kMakeReg = 1ull << 8;
inline constexpr uint64_t kMakeSock = 1ull << 9;
inline constexpr uint64_t kMakeFifo = 1ull << 10;
inline constexpr uint64_t kMakeBlock = 1ull << 11;
inline constexpr uint64_t kMakeSym = 1ull << 12;
inline constexpr uint64_t kRefer = 1ull << 13;     // ABI 2
inline constexpr uint64_t kTruncate = 1ull << 14;  // ABI 3
inline constexpr uint64_t kIoctlDev = 1ull << 15;  // ABI 5

// The rights a path-beneath rule on a file that is not a directory may carry.
inline constexpr uint64_t kFileRights = kExecute | kWriteFile | kReadFile | kTruncate | kIoctlDev;

// LANDLOCK_SCOPE_* (ABI 6): what a sandboxed process cannot reach outside its domain.
inline constexpr uint64_t kScopeAbstractUnixSocket = 1ull << 0;
inline constexpr uint64_t kScopeSignal = 1ull << 1;

// The newest Landlock ABI the kernel offers (1..); 0 when it offers none: a kernel built
// without Landlock (ENOSYS), or booted without it in the "lsm=" list (EOPNOTSUPP).
int Abi();

// The filesystem rights and scopes ABI `abi` knows; 0 below ABI 1. Each ABI knows its
// predecessor's, so masking a wanted set with these degrades it one ABI at a time, as
// landlock(7)'s best-effort pattern does.
uint64_t FsRightsOf(int abi);
uint64_t ScopesOf(int abi);

// "execute,read_file,read_dir" (the kernel's names, lower case), "none" for 0.
std::string FsRightsText(uint64_t rights);
// "abstract_unix_socket,signal", "none" for 0.
std::string ScopesText(uint64_t scopes);

// A Landlock ruleset under construction: what it handles is denied beneath every path but
// those AllowBeneath grants. Not enforced by anything here.
class Ruleset {
 public:
  // landlock_create_ruleset(2) handling `fs_rights` and `scopes`, which must be known to the
  // running ABI: InvalidArgument (EINVAL) otherwise; Unimplemented when the kernel has no
  // Landlock; other errnos as the kernel's.
  static absl::StatusOr<Ruleset> Create(uint64_t fs_rights, uint64_t scopes);

  // Grants `rights` (masked with what the ruleset handles) beneath `fd`, an O_PATH (or any)
  // descriptor of a directory, or on the file itself when `fd` is not a directory, whose
  // rights are then also masked with kFileRights. Nothing is added when the mask leaves none.
  // `what` names the path in errors (landlock_add_rule's errno).
  [[nodiscard]] absl::Status AllowBeneath(int fd, uint64_t rights, const std::string& what);

  int fd() const { return fd_.get(); }
  uint64_t fs_rights() const { return fs_rights_; }
  uint64_t scopes() const { return scopes_; }

 private:
  Ruleset(UniqueFd fd, uint64_t fs_rights, uint64_t scopes)
      : fd_(std::move(fd)), fs_rights_(fs_rights), scopes_(scopes) {}

  UniqueFd fd_;
  uint64_t fs_rights_;
  uint64_t scopes_;
};

// landlock_add_rule(2) of one path-beneath rule, as raw syscalls: for the child, between fork
// and exec, so async-signal-safe (no allocation, no locks, errno untouched). Opens `path`
// (following symlinks) and grants `rights` beneath it on `ruleset_fd`, masked with kFileRights
// when it is not a directory. Returns 0, or -errno of open, fstat or landlock_add_rule.
[[nodiscard]] long AddPathRuleRaw(int ruleset_fd, const char* path, uint64_t rights);

// landlock_restrict_self(2) of the calling thread with `ruleset_fd`, raw (as AddPathRuleRaw).
// no_new_privs must be set (else EPERM). Returns 0 or -errno.
[[nodiscard]] long RestrictSelfRaw(int ruleset_fd);

}  // namespace sbox::landlock

#endif  // SBOX_KERNEL_LANDLOCK_H_
