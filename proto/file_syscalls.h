#ifndef SBOX_PROTO_FILE_SYSCALLS_H_
#define SBOX_PROTO_FILE_SYSCALLS_H_

// Every x86_64 syscall that names a file by path (or by directory descriptor plus name), or
// changes the metadata of a file through a descriptor, and what sbox does with it: either the
// broker answers it under the file policy (proto/file_call.h translates it), or it is refused
// with a fixed errno. None is ever allowed straight through: SyscallPolicy::Builder refuses an
// `allow` of any of them. broker/POLICY_FORMAT.md has the same table for people; tests check
// the two agree. Async-signal-safe (constants only).

#include <errno.h>
#include <sys/syscall.h>

#include <cstddef>
#include <string_view>

namespace sbox::proto {

struct FileSyscall {
  long nr;
  const char* name;
  // 0: brokered. Otherwise the errno every call gets, whatever its arguments.
  int refused_with;
};

// Newer than some C headers.
inline constexpr long kSysOpenat2 = 437;
inline constexpr long kSysFaccessat2 = 439;
inline constexpr long kSysFchmodat2 = 452;

inline constexpr FileSyscall kFileSyscalls[] = {
    // Answered by the broker.
    {SYS_open, "open", 0},
    {SYS_openat, "openat", 0},
    {kSysOpenat2, "openat2", 0},
    {SYS_creat, "creat", 0},
    {SYS_access, "access", 0},
    {SYS_faccessat, "faccessat", 0},
    {kSysFaccessat2, "faccessat2", 0},
    {SYS_stat, "stat", 0},
    {SYS_lstat, "lstat", 0},
    {SYS_newfstatat, "newfstatat", 0},
    {SYS_statx, "statx", 0},
    {SYS_statfs, "statfs", 0},
    {SYS_readlink, "readlink", 0},
    {SYS_readlinkat, "readlinkat", 0},
    {SYS_mkdir, "mkdir", 0},
    {SYS_mkdirat, "mkdirat", 0},
    {SYS_mknod, "mknod", 0},
    {SYS_mknodat, "mknodat", 0},
    {SYS_rmdir, "rmdir", 0},
    {SYS_unlink, "unlink", 0},
    {SYS_unlinkat, "unlinkat", 0},
    {SYS_rename, "rename", 0},
    {SYS_renameat, "renameat", 0},
    {SYS_renameat2, "renameat2", 0},
    {SYS_link, "link", 0},
    {SYS_linkat, "linkat", 0},
    {SYS_symlink, "symlink", 0},
    {SYS_symlinkat, "symlinkat", 0},
    {SYS_chmod, "chmod", 0},
    {SYS_fchmod, "fchmod", 0},
    {SYS_fchmodat, "fchmodat", 0},
    {kSysFchmodat2, "fchmodat2", 0},
    {SYS_chown, "chown", 0},
    {SYS_fchown, "fchown", 0},
    {SYS_lchown, "lchown", 0},
    {SYS_fchownat, "fchownat", 0},
    {SYS_utime, "utime", 0},
    {SYS_utimes, "utimes", 0},
    {SYS_futimesat, "futimesat", 0},
    {SYS_utimensat, "utimensat", 0},
    {SYS_truncate, "truncate", 0},
    {SYS_chdir, "chdir", 0},
    {SYS_fchdir, "fchdir", 0},
    {SYS_getcwd, "getcwd", 0},
    {SYS_connect, "connect", 0},
    // Extended attributes: the sandbox's files have none, and none can be set.
    {SYS_getxattr, "getxattr", EOPNOTSUPP},
    {SYS_lgetxattr, "lgetxattr", EOPNOTSUPP},
    {SYS_fgetxattr, "fgetxattr", EOPNOTSUPP},
    {SYS_listxattr, "listxattr", EOPNOTSUPP},
    {SYS_llistxattr, "llistxattr", EOPNOTSUPP},
    {SYS_flistxattr, "flistxattr", EOPNOTSUPP},
    {SYS_setxattr, "setxattr", EOPNOTSUPP},
    {SYS_lsetxattr, "lsetxattr", EOPNOTSUPP},
    {SYS_fsetxattr, "fsetxattr", EOPNOTSUPP},
    {SYS_removexattr, "removexattr", EOPNOTSUPP},
    {SYS_lremovexattr, "lremovexattr", EOPNOTSUPP},
    {SYS_fremovexattr, "fremovexattr", EOPNOTSUPP},
    // What an unprivileged process is refused by the kernel too.
    {SYS_mount, "mount", EPERM},
    {SYS_umount2, "umount2", EPERM},
    {SYS_pivot_root, "pivot_root", EPERM},
    {SYS_chroot, "chroot", EPERM},
    {SYS_swapon, "swapon", EPERM},
    {SYS_swapoff, "swapoff", EPERM},
    {SYS_quotactl, "quotactl", EPERM},
    {443, "quotactl_fd", EPERM},
    {SYS_acct, "acct", EPERM},
    {SYS_fanotify_init, "fanotify_init", EPERM},
    {SYS_fanotify_mark, "fanotify_mark", EPERM},
    {428, "open_tree", EPERM},
    {429, "move_mount", EPERM},
    {430, "fsopen", EPERM},
    {431, "fsconfig", EPERM},
    {432, "fsmount", EPERM},
    {433, "fspick", EPERM},
    {442, "mount_setattr", EPERM},
    {SYS_open_by_handle_at, "open_by_handle_at", EPERM},
    // Handles would name files outside any rule; programs fall back to paths.
    {SYS_name_to_handle_at, "name_to_handle_at", EOPNOTSUPP},
    // A watch is a path lookup the broker does not make; programs fall back to polling.
    {SYS_inotify_add_watch, "inotify_add_watch", EACCES},
    {SYS_uselib, "uselib", ENOSYS},
    // Newer than libseccomp 2.5.4's table: sbox names them itself (SyscallNumber).
    {463, "setxattrat", EOPNOTSUPP},
    {464, "getxattrat", EOPNOTSUPP},
    {465, "listxattrat", EOPNOTSUPP},
    {466, "removexattrat", EOPNOTSUPP},
    {467, "open_tree_attr", EPERM},
    {468, "file_getattr", EOPNOTSUPP},
    {469, "file_setattr", EOPNOTSUPP},
};

// The entry of syscall `nr`; nullptr when it takes no path.
constexpr const FileSyscall* FindFileSyscall(long nr) {
  for (const FileSyscall& call : kFileSyscalls) {
    if (call.nr == nr) return &call;
  }
  return nullptr;
}

// The entry named `name`; nullptr when no syscall of that name takes a path.
constexpr const FileSyscall* FindFileSyscallByName(std::string_view name) {
  for (const FileSyscall& call : kFileSyscalls) {
    if (name == call.name) return &call;
  }
  return nullptr;
}

// True for the calls the broker answers (proto/file_call.h translates exactly these).
constexpr bool IsBrokeredFileSyscall(long nr) {
  const FileSyscall* call = FindFileSyscall(nr);
  return call != nullptr && call->refused_with == 0;
}

}  // namespace sbox::proto

#endif  // SBOX_PROTO_FILE_SYSCALLS_H_
