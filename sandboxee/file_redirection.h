#ifndef SBOX_SANDBOXEE_FILE_REDIRECTION_H_
#define SBOX_SANDBOXEE_FILE_REDIRECTION_H_

// In-process redirection of file syscalls to the broker, for code that was never written against
// BrokerClient: libc's fopen, opendir, stat, realpath, C++ streams, raw syscall(2).
//
// The seccomp filter answers the redirected syscalls with SECCOMP_RET_TRAP, so the calling
// thread gets SIGSYS instead of the syscall. The handler installed here performs the call through
// the broker and stores the result in the interrupted context's RAX, in the kernel's convention
// (a descriptor, 0, a length, or -errno), so the caller's libc sees an ordinary syscall return.
//
// Redirected (see IsRedirectedSyscall): every call proto/file_syscalls.h lists as brokered,
// translated by proto/file_call.h exactly as the broker's notification server translates it;
// and rt_sigprocmask, emulated on the interrupted context so that SIGSYS can never be blocked.
//
// What differs from the kernel, by design (proto/PROTOCOL.md has the broker's side):
//   - Whatever the broker refuses gets its errno: ENOENT for a path no rule covers (as if
//     absent), EACCES for a deny rule or a missing permission, EINVAL for open flags outside
//     the broker's allowlist (O_TMPFILE, O_DIRECT, ...), EPERM for chmod beyond the policy's
//     create mode or a chown an unprivileged owner could not make.
//   - Relative paths resolve against the broker's working directory (chdir, fchdir and getcwd
//     are the broker's, Op::kChdir and Op::kGetcwd), never the process's own.
//   - faccessat2 with AT_SYMLINK_NOFOLLOW, and with AT_EMPTY_PATH and an empty path: EINVAL.
//     linkat with AT_EMPTY_PATH: ENOENT (it needs CAP_DAC_READ_SEARCH). statx fills
//     STATX_BASIC_STATS only. openat2 with RESOLVE_IN_ROOT: EINVAL.
//   - connect: only AF_UNIX sockets bound to a path; any other address gets EACCES.
//   - A channel failure (the broker gone) is the call's errno: EPIPE, ECONNRESET or EPROTO.
//   - The caller's pointers are used directly (same process). NULL and addresses outside user
//     space give EFAULT; any other unreadable or unwritable pointer faults in the handler (a
//     SIGSEGV, as if the caller had touched it), where the kernel would give EFAULT.
//
// The handler is async-signal-safe: no malloc, no locks, no stdio, no absl, errno preserved. It
// uses the broker through a ChannelPool in static storage (its own channels: it never touches
// the descriptor the sandboxee function was given) and RoundTrip, both allocation-free. While
// it runs, every signal but SIGSYS and the synchronous fault signals (SIGSEGV, SIGBUS, SIGILL,
// SIGFPE, SIGTRAP) is blocked, so no other handler can run in the middle of a round trip: none
// can find every channel held by the frame it interrupted, or jump out of it with a channel
// held. A signal handler that itself makes redirected calls works, as long as its own sa_mask
// leaves SIGSYS unblocked: a trap while SIGSYS is blocked makes the kernel kill the process
// (which fails closed). The handler runs on the trapping thread's stack and needs about 32 KB
// of it (two paths, a reply payload, a request and a reply); a handler running on a small
// sigaltstack (SIGSTKSZ) that makes redirected calls overflows it.
//
// connect asks the kernel for the socket's type with getsockopt(fd, SOL_SOCKET, SO_TYPE), which
// the policy must allow for connect to work (otherwise the getsockopt is the violation).

namespace sbox::sandboxee {

// Asks the broker for a channel of its own (Op::kNewChannel over `channel_fd`, which the caller
// keeps), installs the SIGSYS handler (SA_SIGINFO | SA_NODEFER) and unblocks SIGSYS in the
// calling thread. Meant for the forked child before the seccomp filter is installed, and
// async-signal-safe for that: no allocation, no locks.
//
// Returns 0, or -errno:
//   EBUSY         already installed in this process
//   the new-channel request's errors: EMFILE (the broker's channel limit), ESHUTDOWN, and the
//                 channel failures EPIPE, ECONNRESET, EPROTO (see RoundTrip)
//   EINVAL        sigaction or sigprocmask refused (not expected)
//
// A SIGSYS the handler does not serve (not from seccomp, another architecture, a syscall not
// redirected) ends the process by SIGSYS, as it would without a handler: the handler makes a
// syscall of another ABI, which sbox's filter kills at once.
int InstallFileRedirection(int channel_fd);

// True for the syscall numbers (x86-64) the handler answers: the list above.
bool IsRedirectedSyscall(long nr);

}  // namespace sbox::sandboxee

#endif  // SBOX_SANDBOXEE_FILE_REDIRECTION_H_
