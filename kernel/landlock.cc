#include "kernel/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "kernel/raw_syscall.h"

namespace sbox::landlock {
namespace {

// The kernel's structures, as of ABI 6 (struct landlock_ruleset_attr grew scoped there).
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};
struct PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

constexpr uint32_t kCreateRulesetVersion = 1u << 0;
constexpr int kRuleTypePathBeneath = 1;

// Each ABI's new filesystem rights, from ABI 1 on; ABI 4 added network rights and ABI 6
// scopes, ABI 7 audit flags: none of them filesystem rights.
constexpr uint64_t kFsRightsAddedBy[] = {
    0,
    (1ull << 13) - 1,  // ABI 1: execute .. make_sym
    kRefer,
    kTruncate,
    0,
    kIoctlDev,
};

constexpr const char* kFsRightNames[] = {
    "execute",   "write_file", "read_file", "read_dir",  "remove_dir", "remove_file",
    "make_char", "make_dir",   "make_reg",  "make_sock", "make_fifo",  "make_block",
    "make_sym",  "refer",      "truncate",  "ioctl_dev",
};

}  // namespace

int Abi() {
  const long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, kCreateRulesetVersion);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

uint64_t FsRightsOf(int abi) {
  uint64_t rights = 0;
  for (int i = 1; i <= abi && i < static_cast<int>(std::size(kFsRightsAddedBy)); ++i) {
    rights |= kFsRightsAddedBy[i];
  }
  return rights;
}

uint64_t ScopesOf(int abi) { return abi >= 6 ? kScopeAbstractUnixSocket | kScopeSignal : 0; }

std::string FsRightsText(uint64_t rights) {
  std::vector<std::string> names;
  for (size_t bit = 0; bit < std::size(kFsRightNames); ++bit) {
    if (rights & (1ull << bit)) names.push_back(kFsRightNames[bit]);
  }
  if (rights >> std::size(kFsRightNames)) {
    names.push_back(
        absl::StrFormat("0x%x", rights >> std::size(kFsRightNames) << std::size(kFsRightNames)));
  }
  return names.empty() ? "none" : absl::StrJoin(names, ",");
}

std::string ScopesText(uint64_t scopes) {
  std::vector<std::string> names;
  if (scopes & kScopeAbstractUnixSocket) names.push_back("abstract_unix_socket");
  if (scopes & kScopeSignal) names.push_back("signal");
  return names.empty() ? "none" : absl::StrJoin(names, ",");
}

absl::StatusOr<Ruleset> Ruleset::Create(uint64_t fs_rights, uint64_t scopes) {
  const RulesetAttr attr = {fs_rights, 0, scopes};
  // Below ABI 6 the kernel takes the structure without `scoped`, and refuses the larger one
  // only if its extra bytes are not zero.
  const size_t size = scopes != 0 ? sizeof(attr) : offsetof(RulesetAttr, scoped);
  UniqueFd fd(static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, size, 0)));
  if (!fd.valid()) {
    const int error = errno;
    const std::string message =
        absl::StrFormat("landlock_create_ruleset(fs %s, scoped %s): %s", FsRightsText(fs_rights),
                        ScopesText(scopes), strerror(error));
    if (error == ENOSYS || error == EOPNOTSUPP) return absl::UnimplementedError(message);
    if (error == EINVAL) return absl::InvalidArgumentError(message);
    return absl::InternalError(message);
  }
  return Ruleset(std::move(fd), fs_rights, scopes);
}

absl::Status Ruleset::AllowBeneath(int fd, uint64_t rights, const std::string& what) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::InternalError(absl::StrCat("landlock: fstat of ", what, ": ", strerror(errno)));
  }
  rights &= fs_rights_;
  if (!S_ISDIR(st.st_mode)) rights &= kFileRights;
  if (rights == 0) return absl::OkStatus();
  const PathBeneathAttr attr = {rights, fd};
  if (syscall(SYS_landlock_add_rule, fd_.get(), kRuleTypePathBeneath, &attr, 0) != 0) {
    return absl::InternalError(absl::StrFormat("landlock_add_rule(%s, %s): %s", what,
                                               FsRightsText(rights), strerror(errno)));
  }
  return absl::OkStatus();
}

long AddPathRuleRaw(int ruleset_fd, const char* path, uint64_t rights) {
  using kernel::Ptr;
  using kernel::RawSyscall;
  const long fd = RawSyscall(SYS_openat, AT_FDCWD, Ptr(path), O_PATH | O_CLOEXEC);
  if (fd < 0) return fd;
  struct stat st;
  long result = RawSyscall(SYS_fstat, fd, Ptr(&st));
  if (result == 0) {
    if (!S_ISDIR(st.st_mode)) rights &= kFileRights;
  }
  if (result == 0 && rights != 0) {
    const PathBeneathAttr attr = {rights, static_cast<int32_t>(fd)};
    result = RawSyscall(SYS_landlock_add_rule, ruleset_fd, kRuleTypePathBeneath, Ptr(&attr), 0);
  }
  RawSyscall(SYS_close, fd);
  return result;
}

long RestrictSelfRaw(int ruleset_fd) {
  return kernel::RawSyscall(SYS_landlock_restrict_self, ruleset_fd, 0);
}

}  // namespace sbox::landlock
