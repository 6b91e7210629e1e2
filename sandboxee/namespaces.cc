#include "sandboxee/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel/raw_syscall.h"

namespace sbox::sandboxee {
namespace {

constexpr long kCloneFlag[kNamespaceCount] = {CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWIPC,
                                              CLONE_NEWUTS, CLONE_NEWPID};

// Writes `length` bytes of `text` to `path` in one write(2), as /proc's map files require.
// Returns 0 or -errno.
long WriteFile(const char* path, const char* text, long length) {
  const long fd = kernel::RawSyscall(SYS_openat, AT_FDCWD, kernel::Ptr(path), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fd;
  const long written = kernel::RawSyscall(SYS_write, fd, kernel::Ptr(text), length);
  kernel::RawSyscall(SYS_close, fd);
  if (written < 0) return written;
  return written == length ? 0 : -EIO;
}

// "<id> <id> 1\n" into `line` (32 bytes); returns its length.
long IdMapLine(unsigned long id, char* line) {
  char digits[20];
  int count = 0;
  do {
    digits[count++] = static_cast<char>('0' + id % 10);
    id /= 10;
  } while (id != 0);
  long length = 0;
  for (int copy = 0; copy < 2; ++copy) {
    for (int i = count - 1; i >= 0; --i) line[length++] = digits[i];
    line[length++] = ' ';
  }
  line[length++] = '1';
  line[length++] = '\n';
  return length;
}

// Maps the caller's uid and gid (in the parent user namespace) to themselves. Written from
// inside: a process may map its own ids, and only those, with no privilege in the parent
// namespace; the gid map needs setgroups denied first (so that dropping a group can never
// grant access a negative group permission refuses).
long MapIdsToThemselves(unsigned long uid, unsigned long gid) {
  char line[48];
  if (const long error = WriteFile("/proc/self/uid_map", line, IdMapLine(uid, line)); error != 0) {
    return error;
  }
  if (const long error = WriteFile("/proc/self/setgroups", "deny", 4); error != 0) return error;
  return WriteFile("/proc/self/gid_map", line, IdMapLine(gid, line));
}

// A new network namespace has one interface, lo, and it is down: up, the sandboxee's own
// loopback works (and reaches nothing outside the namespace).
long LoopbackUp() {
  const long fd = kernel::RawSyscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fd;
  ifreq request = {};
  request.ifr_name[0] = 'l';
  request.ifr_name[1] = 'o';
  long error = kernel::RawSyscall(SYS_ioctl, fd, SIOCGIFFLAGS, kernel::Ptr(&request));
  if (error == 0) {
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    error = kernel::RawSyscall(SYS_ioctl, fd, SIOCSIFFLAGS, kernel::Ptr(&request));
  }
  kernel::RawSyscall(SYS_close, fd);
  return error;
}

// fork(2): glibc's _Fork when this process's memory is its own (the child's glibc then knows
// its own thread id, which Launcher::Run's sandboxee function relies on), a raw one when it is
// the launcher's (CLONE_VM), whose glibc state must not be touched. Returns the pid, 0 in the
// child, or -errno.
long Fork(bool private_memory) {
  if (private_memory) {
    const pid_t pid = _Fork();
    return pid < 0 ? -errno : pid;
  }
  return kernel::RawSyscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
}

[[noreturn]] void ExitGroup(int code) {
  for (;;) kernel::RawSyscall(SYS_exit_group, code);
}

}  // namespace

long CreateNamespaces(const NamespacePlan& plan, NamespaceOutcome* outcome, Namespace* failed) {
  *outcome = NamespaceOutcome();
  // The ids as the parent user namespace knows them, before a new one hides them.
  const unsigned long uid = static_cast<unsigned long>(kernel::RawSyscall(SYS_geteuid));
  const unsigned long gid = static_cast<unsigned long>(kernel::RawSyscall(SYS_getegid));
  for (Namespace ns : kAllNamespaces) {
    if (!plan.requested.Has(ns)) continue;
    const int index = static_cast<int>(ns);
    if (const long error = kernel::RawSyscall(SYS_unshare, kCloneFlag[index]); error != 0) {
      outcome->refused_errno[index] = static_cast<int32_t>(-error);
      if (plan.required) {
        *failed = ns;
        return error;
      }
      continue;
    }
    outcome->created |= NamespaceSet{ns}.bits();
    long completed = 0;
    if (ns == Namespace::kUser) completed = MapIdsToThemselves(uid, gid);
    if (ns == Namespace::kNet) completed = LoopbackUp();
    if (completed != 0) {
      *failed = ns;
      return completed;
    }
  }
  return 0;
}

long RunUnderInit(InitStatus* status, bool private_memory) {
  const long init = Fork(private_memory);
  if (init < 0) return init;
  if (init > 0) {
    // P, in the launcher's pid namespace: its descriptors would keep the channel and the
    // set-up socket open after the sandboxee's exec or exit.
    kernel::RawSyscall(SYS_close_range, 0, ~0U, 0);
    siginfo_t info = {};
    long error;
    do {
      error = kernel::RawSyscall(SYS_waitid, P_PID, init, kernel::Ptr(&info), WEXITED, 0);
    } while (error == -EINTR);
    if (error == 0 && status->code == 0) {
      status->status = info.si_status;
      status->code = info.si_code;
    }
    ExitGroup(0);
  }

  // I, pid 1. Were P to die before this prctl, I would outlive it only until the sandboxee's
  // first report fails on the launcher's closed socket: no sandboxee code runs before it.
  kernel::RawSyscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
  // Pid 1 in this namespace is I itself.
  const long self = kernel::RawSyscall(SYS_pidfd_open, 1, 0);
  if (self < 0) return self;
  const long sandboxee = Fork(private_memory);
  if (sandboxee < 0) return sandboxee;
  if (sandboxee == 0) {
    kernel::RawSyscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
    return self;
  }
  const uint64_t all = ~uint64_t{0};
  kernel::RawSyscall(SYS_rt_sigprocmask, SIG_SETMASK, kernel::Ptr(&all), 0, sizeof(all));
  kernel::RawSyscall(SYS_close_range, 0, ~0U, 0);
  for (;;) {
    siginfo_t info = {};
    // __WALL: a descendant cloned with another exit signal is reaped too.
    const long error =
        kernel::RawSyscall(SYS_waitid, P_ALL, 0, kernel::Ptr(&info), WEXITED | __WALL, 0);
    if (error == -EINTR) continue;
    if (error != 0) ExitGroup(0);
    if (info.si_pid == sandboxee) {
      status->status = info.si_status;
      status->code = info.si_code;
      ExitGroup(0);
    }
  }
}

}  // namespace sbox::sandboxee
