#ifndef SBOX_BROKER_OWN_PROCESS_CALLS_H_
#define SBOX_BROKER_OWN_PROCESS_CALLS_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace sbox {

// Calls that name a process or a descriptor's driver, and stay inside the sandbox only when
// they name the caller itself: a filter cannot tell (it does not know the sandboxee's pids),
// the broker can. Under Redirection::kUserNotification the filter sends them to the broker
// (SyscallGroup::kOwnProcess), which lets each through with SECCOMP_USER_NOTIF_FLAG_CONTINUE
// when it names the caller; one that names anyone else is a violation, reported and fatal as
// the policy's default action would make it:
//
//   ioctl               the reach table's requests (TCGETS, TIOCGWINSZ, FIONREAD, FIOCLEX,
//                       FIONCLEX, FIONBIO: broker/syscall_reach.h) run on the caller's own
//                       descriptor, so isatty(3) and the window size are answered truthfully;
//                       any other request is ENOTTY, as if the descriptor were no terminal.
//   sched_getaffinity,  pid 0, the calling thread's id or the sandboxee's pid: let through
//   sched_getparam,     (prlimit64 as far as the reach table allows with pid 0); any other pid:
//   sched_getscheduler, a violation.
//   prlimit64
//   getpriority         PRIO_PROCESS of 0, the calling thread or the sandboxee: let through;
//                       anything else: a violation.
//   kill                the sandboxee's own pid: let through; any other pid, 0 and -1 (its
//                       process group, every process): a violation.
//   tgkill              thread group = the sandboxee: let through (the kernel refuses a thread
//                       of another group); else a violation.
//   tkill               the calling thread itself: let through; else a violation.
//   capget              pid 0, the calling thread or the sandboxee: the broker reads the
//                       capabilities of the calling thread and writes them to the caller
//                       (the header's pid is in memory, which another thread could change
//                       after a check: the call never runs in the sandboxee); else a
//                       violation.
//   fcntl               the reach table's commands run (broker/syscall_reach.h). Record locks
//                       (F_SETLK, F_SETLKW, F_OFD_SETLK, F_OFD_SETLKW) succeed without being
//                       taken, and F_GETLK, F_OFD_GETLK find none: inside the sandbox there is
//                       no other locker, and a lock taken in the kernel would hold up processes
//                       outside that lock the same file (SQLite then reads a database another
//                       process may be writing, as it would with `nolock=1`). A bad descriptor
//                       is EBADF, a bad lock type EINVAL, an unreadable struct EFAULT. Any other
//                       command (signal owners, leases) is a violation.
//   flock               LOCK_SH, LOCK_EX, LOCK_UN (with or without LOCK_NB) succeed without a
//                       lock, for the same reason; EBADF, EINVAL as the kernel.
//
// Letting a call through is race-free: the calling thread is blocked in the call until the
// broker answers, so its thread id cannot be reused, and the sandboxee's pid lives as long as
// any of its threads does. The arguments are the kernel's copy of the caller's registers.

// The x86_64 syscall numbers above.
bool IsOwnProcessCall(int number);

// The caller's memory and descriptors, for the calls that pass a structure or a descriptor.
class CallerMemory {
 public:
  virtual ~CallerMemory() = default;
  // 0 or an errno (EFAULT when the memory cannot be read or written).
  [[nodiscard]] virtual int Read(uint64_t address, void* out, size_t size) = 0;
  [[nodiscard]] virtual int Write(uint64_t address, const void* data, size_t size) = 0;
  // 0 when `fd` is open in the caller, else EBADF.
  [[nodiscard]] virtual int CheckDescriptor(int fd) = 0;
};

// What the broker does with one own-process call.
struct OwnProcessAnswer {
  bool let_through = false;  // run it in the kernel as made
  bool violation = false;    // refuse it as the policy's default refuses: kill and report
  long result = 0;           // otherwise the call's value, or -errno
};

// How the caller names itself: its thread id and the sandboxee's pid in its own pid namespace,
// which are the broker's ids unless the sandboxee has a pid namespace of its own
// (broker/pid_namespace.h translates them). A pid argument is read in the caller's namespace,
// as the kernel reads it.
struct CallerNames {
  pid_t thread;
  pid_t sandboxee;
};

// Decides call `number` with `args`, made by thread `thread` (in the broker's pid namespace) of
// the sandboxee, which names itself and the sandboxee as `names` says. `number` must be an
// own-process call.
OwnProcessAnswer AnswerOwnProcessCall(int number, const uint64_t args[6], pid_t thread,
                                      CallerNames names, CallerMemory& memory);
// The same for a sandboxee in the broker's pid namespace: `sandboxee` is its pid.
// `signals_scoped`: the sandboxee's Landlock domain scopes signals (ABI 6), so the kernel itself
// refuses (EPERM) any signal that would leave the sandbox's processes; kill, tgkill and tkill
// of a pid in the sandboxee's process tree (itself or a descendant) are then let through, which
// lets the processes of a sandboxed shell signal one another. Any other pid stays a violation,
// reported: the kernel would refuse it anyway.
OwnProcessAnswer AnswerOwnProcessCall(int number, const uint64_t args[6], pid_t thread,
                                      pid_t sandboxee, CallerMemory& memory,
                                      bool signals_scoped = false);

}  // namespace sbox

#endif  // SBOX_BROKER_OWN_PROCESS_CALLS_H_
