#ifndef SBOX_SANDBOXEE_REDIRECTED_FILE_CALLS_H_
#define SBOX_SANDBOXEE_REDIRECTED_FILE_CALLS_H_

// The x86_64 numbers of the file syscalls the file-redirection group sends to the broker
// (SyscallPolicy::RedirectedFileCalls() names them; tests check the two agree). Both answerers
// read this one list: the sandboxee's SIGSYS handler and the broker's user-notification server.
// Async-signal-safe.

#include <sys/syscall.h>

namespace sbox {

constexpr bool IsRedirectedFileCall(long nr) {
  switch (nr) {
    case SYS_open:
    case SYS_openat:
    case SYS_creat:
    case SYS_access:
    case SYS_faccessat:
    case SYS_faccessat2:
    case SYS_stat:
    case SYS_lstat:
    case SYS_newfstatat:
    case SYS_statx:
    case SYS_readlink:
    case SYS_readlinkat:
    case SYS_mkdir:
    case SYS_mkdirat:
    case SYS_rmdir:
    case SYS_unlink:
    case SYS_unlinkat:
    case SYS_rename:
    case SYS_renameat:
    case SYS_renameat2:
    case SYS_link:
    case SYS_linkat:
    case SYS_symlink:
    case SYS_symlinkat:
    case SYS_chmod:
    case SYS_fchmodat:
    case SYS_truncate:
    case SYS_chdir:
    case SYS_fchdir:
    case SYS_getcwd:
    case SYS_connect:
      return true;
    default:
      return false;
  }
}

}  // namespace sbox

#endif  // SBOX_SANDBOXEE_REDIRECTED_FILE_CALLS_H_
