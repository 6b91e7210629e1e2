#ifndef SBOX_BROKER_SYSCALL_POLICY_H_
#define SBOX_BROKER_SYSCALL_POLICY_H_

#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/arg_condition.h"

namespace sbox {

// What the filter does with a syscall the policy does not name.
//
//   builder.SetDefaultAction(DefaultAction::kKillProcess);
//   builder.SetDefaultAction(DefaultAction::Errno(EPERM));
struct DefaultAction {
  enum Kind {
    // A seccomp user notification: the launcher reads it from the kernel, kills the sandboxee
    // and reports the call (SandboxResult::Outcome::kViolation). The default.
    kKillAndReport,
    // The kernel kills the whole process at once (outcome kSignaled, SIGSYS); no report.
    kKillProcess,
    // The calling thread gets SIGSYS (SECCOMP_RET_TRAP); with no handler the process dies by
    // it (outcome kSignaled, SIGSYS). A sandboxee may handle it, except under BrokeredParser()
    // and kSignals, which keep SIGSYS's disposition away from it.
    kTrap,
    // The call fails with `error` (1..4094) without running. Use Errno(error).
    kErrno,
  };
  // Implicit, so that a Kind reads as an action: SetDefaultAction(DefaultAction::kTrap).
  constexpr DefaultAction(Kind kind = kKillAndReport) : kind(kind) {}  // NOLINT
  static constexpr DefaultAction Errno(int error) {
    DefaultAction action(kErrno);
    action.error = error;
    return action;
  }

  Kind kind;
  int error = 0;  // kErrno only
};

// Syscall groups with fixed members, for building policies from parts. Every member below is
// allowed by AllowGroup unless a condition or an errno answer is given for it.
enum class SyscallGroup {
  // I/O on descriptors already held: read, readv, pread64, preadv, preadv2, write, writev,
  // pwrite64, pwritev, pwritev2, lseek, fstat, fstatfs, getdents64, dup, dup2, dup3, close_range,
  // fcntl,
  // ftruncate, fsync, fdatasync; waiting on them: poll, ppoll, select, pselect6,
  // epoll_create1, epoll_ctl, epoll_wait, epoll_pwait; and descriptors that name nothing:
  // pipe2, eventfd2. Nothing that takes a path or makes a descriptor from a name. fcntl only with
  // F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_GETPIPE_SZ, F_GET_SEALS, and F_SETFL
  // without O_ASYNC: no owner, signal, lease or lock, which would reach processes outside.
  kBasicIo,
  // Memory that cannot become executable: brk, munmap, mremap, madvise, mincore (which of its
  // own pages are resident), get_mempolicy, set_mempolicy (its own NUMA policy), pkey_alloc,
  // pkey_free, mlock, mlock2, munlock (its own pages, up to RLIMIT_MEMLOCK); mmap, mprotect and
  // pkey_mprotect
  // only when arg 2 (prot) has no PROT_EXEC. madvise only with advice 0..MADV_DOFORK,
  // MADV_UNMERGEABLE..MADV_COLD, MADV_POPULATE_READ..MADV_COLLAPSE: not MADV_MERGEABLE,
  // MADV_PAGEOUT, MADV_HWPOISON or MADV_SOFT_OFFLINE, which act on pages shared outside.
  kMemoryWithoutExec,
  // clock_gettime, clock_getres, gettimeofday, time, nanosleep, clock_nanosleep; the clock
  // calls only for clocks that are not another process's CPU clock (arg 0, an int: not
  // negative, or a per-thread CPU clock, or a CPU clock of pid 0).
  kTime,
  // rt_sigaction for any signal but SIGSYS (arg 0 < SIGSYS, 32..63 or 64, compared on all 64
  // bits: the kernel reads only the low 32 bits of the int, so "arg 0 != SIGSYS" could be
  // passed with a high bit set; the filter's trap signal stays sbox's), rt_sigprocmask,
  // rt_sigreturn, sigaltstack, rt_sigsuspend, rt_sigpending, rt_sigtimedwait, pause,
  // restart_syscall.
  kSignals,
  // clone only with CLONE_THREAD and none of the CLONE_NEW* namespace flags in arg 0, futex,
  // set_robust_list, get_robust_list, rseq, sched_yield, gettid, membarrier (a barrier among
  // its own threads' memory accesses), sched_getaffinity for pid 0, prctl for its own
  // attributes (thread names, the parent-death signal, timer slack, no_new_privs, ...: the
  // reach table's list). futex without the
  // priority-inheritance operations (arg 1 without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME
  // is FUTEX_WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, WAIT_BITSET or WAKE_BITSET);
  // get_robust_list only for pid 0. Also: clone3 fails with ENOSYS (its flags are in memory
  // the filter cannot read), so glibc falls back to clone.
  kThreads,
  // exit, exit_group.
  kExit,
  // Who and where it runs: getpid, getuid, geteuid, getgid, getegid, getgroups, getpgrp (as
  // getpgid(0) would tell), getppid (the launcher, which no call of any group can act on), times,
  // umask (only the broker creates files, so the mask is the
  // program's own to set and read), uname, sysinfo (the system's uptime, load and memory, as
  // /proc/meminfo would say), getrusage (of itself, its children or the calling thread: the
  // kernel knows no other), and getpriority of itself (PRIO_PROCESS, pid 0).
  kIdentity,
  // getrandom.
  kRandom,
  // The broker channel: sendmsg, recvmsg, close.
  kBrokerChannel,
  // Unmodified file code: every syscall that names a file (proto/file_syscalls.h) is either
  // *redirected* to the broker, which performs it under the file policy and answers with the
  // kernel's convention (descriptor, 0, length or -errno), or answers a fixed errno. Redirected
  // (RedirectedFileCalls()): open, openat, openat2, creat, access, faccessat, faccessat2, stat,
  // lstat, newfstatat, statx, statfs, readlink, readlinkat, mkdir, mkdirat, mknod, mknodat,
  // rmdir, unlink, unlinkat, rename, renameat, renameat2, link, linkat, symlink, symlinkat,
  // chmod, fchmod, fchmodat, fchmodat2, chown, fchown, lchown, fchownat, utime, utimes,
  // futimesat, utimensat, truncate, chdir, fchdir, getcwd, connect. Refused: the xattr calls
  // and file_getattr, file_setattr (EOPNOTSUPP), mount, umount2, pivot_root, chroot, swapon,
  // swapoff, quotactl, quotactl_fd, acct, fanotify_init, fanotify_mark, open_tree,
  // open_tree_attr, move_mount, fsopen, fsconfig, fsmount, fspick, mount_setattr,
  // open_by_handle_at (EPERM), name_to_handle_at (EOPNOTSUPP),
  // inotify_add_watch (EACCES), uselib (ENOSYS). How a redirected call reaches the broker is
  // chosen when the policy is built (Redirection). Under Redirection::kTrap also:
  // rt_sigprocmask is redirected, even when kSignals allows it, so that the sandboxee's handler
  // can keep SIGSYS unblocked; and rt_sigaction(SIGSYS, NULL, ...), a query, is allowed.
  // getsockopt(fd, SOL_SOCKET, SO_TYPE or SO_DOMAIN) is allowed too: the handler asks a
  // socket's family and type before brokering its connect. And socket(AF_UNIX, SOCK_STREAM or
  // SOCK_SEQPACKET, with any flags): such a socket reaches nothing until its connect, which is
  // the broker's (a datagram socket could send to any address with sendmsg).
  kFileRedirection,
  // What a dynamically linked glibc program does before main, beyond the other groups:
  // arch_prctl(ARCH_SET_FS or ARCH_GET_FS), set_tid_address, prlimit64 that reads one of the
  // caller's limits (arg 0, the pid, 0; arg 2, the new limit, NULL), and mmap of a file (no
  // MAP_ANONYMOUS in arg 3) that may be
  // executable when it is not writable (no PROT_WRITE in arg 2): shared libraries. Anonymous
  // memory stays non-executable (kMemoryWithoutExec), and no mapping is writable and
  // executable at once.
  kProgramStartup,
  // Calls that stay inside only when they name the caller itself (broker/own_process_calls.h):
  // ioctl, sched_getaffinity, sched_getparam, sched_getscheduler, prlimit64, getpriority,
  // kill, tgkill, tkill, capget, fcntl, flock. Under Redirection::kUserNotification each is
  // the broker's, which lets it run when it names the sandboxee or the calling thread (a
  // terminal query on its own descriptor; its own affinity, limits or priority; a signal to
  // itself: raise(3), abort(3), pthread_kill(3)); one naming anyone else is a violation (ioctl
  // answers ENOTTY instead); fcntl's record locks and flock succeed without a lock being taken, so
  // that no process outside waits on the sandboxee, and fcntl's other commands beyond
  // kBasicIo's are violations.
  // Under kTrap, ioctl answers ENOTTY and the others are left to the other groups' conditions
  // (pid 0). A line of the policy's own for one of them (allow, errno, trap) replaces the
  // group's handling of that call.
  kOwnProcess,
  // mmap, mprotect, pkey_mprotect with any protection: executable anonymous memory, what a JIT
  // compiler needs (node, java). In no shipped policy: it reaches nothing outside, but it makes
  // a bug in the sandboxee easier to exploit. `sbox run --allow-jit` adds it.
  kExecutableMemory,
  // clone without CLONE_THREAD, CLONE_PARENT or a CLONE_NEW* flag in arg 0, fork, vfork, wait4,
  // waitid: child processes, what a shell or a program that runs helpers needs. Each child
  // inherits the filter, the broker channel, the Landlock domain and the resource limits, and
  // dies with the sandbox; waits reach only the caller's own children. New processes count
  // against RLIMIT_NPROC, which is per uid (`--rlimit-nproc` bounds them). In no shipped policy:
  // `sbox run --allow-exec` adds it.
  kProcesses,
  // What the AddressSanitizer and UndefinedBehaviorSanitizer runtimes call in a sandboxee of a
  // sanitized build (README "Sanitizers"), beyond the other groups: prlimit64 of the caller's
  // own RLIMIT_CORE (arg 0, the pid, 0; arg 1 RLIMIT_CORE; any new value: the runtime sets
  // it to 0 and the sandboxee set-up has already made the hard limit 0, so no value can let a
  // crash write a core file outside), sched_getaffinity of pid 0 (how many CPUs it may use),
  // and sigaltstack (its own stack for the SEGV handler). The runtime's readlink of
  // /proc/self/exe and open of /proc/self/maps stay file calls: redirected, they are the
  // broker's under the file policy, which grants no /proc/self, so they fail with an errno
  // the runtime copes with (it symbolizes less), and they never reach the broker's own
  // /proc/self. The shipped policy builders (RedirectedParser and the builders on it) add it
  // only in a build compiled with SBOX_SANITIZED (.bazelrc --config=asan, ubsan, sanitize);
  // otherwise they are unchanged.
  kSanitizerRuntime,
};

// True in a build compiled with -DSBOX_SANITIZED (.bazelrc's sanitizer configs): the shipped
// policy builders then add SyscallGroup::kSanitizerRuntime.
#ifdef SBOX_SANITIZED
inline constexpr bool kSanitizedBuild = true;
#else
inline constexpr bool kSanitizedBuild = false;
#endif

// How redirected calls (SyscallGroup::kFileRedirection) reach the broker.
enum class Redirection {
  // SECCOMP_RET_TRAP: the calling thread gets SIGSYS, and the handler of sandboxee/
  // file_redirection.h forwards the call over the broker channel. For sandboxee code that runs
  // in the launcher's forked child (Launcher::Run).
  kTrap,
  // SECCOMP_RET_USER_NOTIF: the kernel holds the call and the broker answers it from the
  // notification, installing descriptors with SECCOMP_IOCTL_NOTIF_ADDFD. Needs no code in the
  // sandboxee, so it confines an exec'ed program from its first instruction
  // (Launcher::RunProgram). rt_sigprocmask is then allowed as kSignals allows it, and execve
  // and execveat, unless the policy allows them, become notifications too: the launcher lets
  // through the one execve it makes itself and reports any later one as a violation.
  kUserNotification,
};

// A seccomp filter for the sandboxee, compiled once in the parent into a classic BPF program
// that the child only installs.
//
// Every syscall the policy does not name reaches the default action (DefaultAction; by
// default kKillAndReport). The filter checks the architecture: any non-x86_64 syscall, x32
// included, kills the process at once (SIGSYS, no report).
//
// Each syscall has one action: allowed (possibly only under conditions; the rest reach the
// default action), an errno answer, or a trap. Naming one syscall with two different actions
// is an error, repeating the same rule is not.
class SyscallPolicy {
 public:
  class Builder {
   public:
    // Allows `name` unconditionally.
    Builder& Allow(std::string name);
    // Allows `name` when every condition holds. Several calls for one syscall are alternatives.
    Builder& Allow(std::string name, std::vector<ArgCondition> all_of);
    // Allows every member of `group` as SyscallGroup documents it.
    Builder& AllowGroup(SyscallGroup group);
    // `name` fails with `error` (1..4094) without running.
    Builder& ReturnErrno(std::string name, int error);
    // `name` does not run; the calling thread gets SIGSYS (SECCOMP_RET_TRAP).
    Builder& Trap(std::string name);
    // What a syscall the policy does not name gets. Default: DefaultAction::kKillAndReport.
    Builder& SetDefaultAction(DefaultAction action);
    // Read-only opens at the kernel's speed: open and openat without O_WRONLY, O_RDWR,
    // O_CREAT, O_TRUNC, O_PATH or O_TMPFILE are allowed straight through, and the launcher's
    // Landlock mirror of the file policy (broker/landlock_mirror.h), which such a policy
    // requires, decides them; every other file call is still the broker's. Only with
    // Redirection::kUserNotification (Build fails otherwise), whose broker then lets the
    // kernel follow each chdir it grants, so that relative paths resolve alike. What changes
    // for the sandboxee: a read-only open no rule grants fails with EACCES (Landlock's
    // answer) instead of the policy's errno, and the decision log does not see these opens.
    Builder& FastReads();

    // Errors name the syscall at fault. InvalidArgument for: an unknown name, an argument
    // index outside 0..5, an empty In set, an errno outside 1..4094 (4095 is the kernel's
    // MAX_ERRNO, which some code reads as no error; for the default action the message says
    // "default action"), conflicting actions for one syscall, an Allow of a syscall that names a
    // file (proto/file_syscalls.h: only the broker may act on a path). ResourceExhausted when the
    // program exceeds the kernel's BPF_MAXINSNS. `redirection` says how the kFileRedirection
    // group's calls reach the broker; it matters only for a policy with that group.
    absl::StatusOr<SyscallPolicy> Build(Redirection redirection = Redirection::kTrap) const;

    // Writes the filter Build() would compile to `fd` as pseudo code (FilterPseudoCode,
    // broker/filter_compiler.h), for people auditing a policy; fails as Build() does.
    absl::Status ExportPfc(int fd, Redirection redirection = Redirection::kTrap) const;

    // The x86_64 numbers of the own-process calls Build(redirection) sends to the broker
    // (SyscallPolicy::own_process_calls()), without compiling.
    std::set<int> OwnProcessCalls(Redirection redirection) const;

   private:
    // Build()'s work; with `pfc_fd` >= 0 it also writes the filter's pseudo code there.
    absl::StatusOr<std::vector<sock_filter>> Compile(int pfc_fd, Redirection redirection) const;
    enum class Action { kAllow, kErrno, kTrap, kRedirect };
    struct Rule {
      std::string name;
      Action action;
      int error;  // kErrno only
      std::vector<ArgCondition> all_of;
      bool from_group = false;  // a group's allow yields to a redirect of the same syscall
      // An own-process call (SyscallGroup::kOwnProcess); `error` is its answer under kTrap.
      bool own_process = false;
    };
    std::vector<Rule> rules_;
    DefaultAction default_action_;
    bool fast_reads_ = false;
  };

  // What every policy allows, because the sandbox's own runtime needs it: the channel
  // (sendmsg, recvmsg, close), exiting, and returning from a signal handler. Under the default
  // action kKillAndReport, exit_group is a user notification that the launcher lets through
  // once it has read every report pending on the listener, so that no thread's violation is
  // lost to another thread exiting the process.
  static const std::vector<std::string>& RuntimeSyscalls();

  // Every group, in the order SyscallGroup lists them.
  static const std::vector<SyscallGroup>& AllGroups();

  // The syscalls `group` allows, conditions aside, in the order SyscallGroup lists them
  // (kThreads' clone3, which answers ENOSYS, is not among them).
  static const std::vector<std::string>& GroupMembers(SyscallGroup group);

  // What AllowGroup(group) adds, rule by rule: the members with their conditions (empty: always
  // allowed), then any errno answers (kThreads' clone3 ENOSYS), for tools that explain a policy.
  struct GroupRule {
    std::string name;
    std::vector<ArgCondition> all_of;
    int error = 0;  // not 0: the syscall answers this errno instead of being allowed
    // The call is redirected to the broker (kFileRedirection) instead of being allowed.
    // Under Redirection::kUserNotification rt_sigprocmask's redirect is an allow.
    bool redirected = false;
    // An own-process call (kOwnProcess): redirected under Redirection::kUserNotification, and
    // under kTrap answering `error` (when not 0 and nothing else allows it) or left out.
    bool own_process = false;
  };
  static std::vector<GroupRule> GroupRules(SyscallGroup group);

  // A policy for an in-process parser that gets its files from the broker: every group above.
  // Besides, newfstatat and statx answer ENOSYS (they take a path; use the broker's Stat),
  // ioctl answers ENOTTY, chdir and fchdir answer EPERM (the broker keeps the working
  // directory).
  static Builder BrokeredParser();

  // BrokeredParser's groups with kFileRedirection and kOwnProcess instead of its errno
  // answers: unmodified libc and C++ file code (fopen, std::ifstream, opendir, stat, realpath)
  // works through the broker.
  static Builder RedirectedParser();

  // For an entry point (sandboxee/entry_point.h, call/sandbox.h): RedirectedParser, and
  // memfd_create without MFD_HUGETLB (arg 1), for an output too large for one message
  // (sandboxee/call_loop.h): an anonymous file, which names nothing outside; huge pages would
  // draw on the system's shared pool. call/sandbox.h builds it with kUserNotification, so that
  // the broker lets a signal to itself (abort, raise) through.
  static Builder CallDefault();
  // For an entry point in a sandboxee binary (//sandboxee:call_main): CallDefault with
  // kProgramStartup, what a dynamically linked program does before main.
  static Builder CallProgramDefault();

  // For an unmodified, dynamically linked program (Launcher::RunProgram): RedirectedParser
  // with kProgramStartup.
  static Builder ProgramDefault();

  // The kFileRedirection calls the broker serves, in the order SyscallGroup lists them
  // (rt_sigprocmask, which the sandboxee's own handler emulates, is not among them).
  static const std::vector<std::string>& RedirectedFileCalls();

  // How this policy's redirected calls reach the broker; nullopt when it redirects none.
  std::optional<Redirection> redirection() const { return redirection_; }

  // The own-process calls (kOwnProcess, broker/own_process_calls.h) this policy sends to the
  // broker: under kUserNotification, the group's members no line of the policy's own replaced.
  // Any other call that reaches the broker is the default action's: a violation.
  const std::set<int>& own_process_calls() const { return own_process_calls_; }

  // Built with Builder::FastReads().
  bool fast_reads() const { return fast_reads_; }

  const std::vector<sock_filter>& program() const { return program_; }
  sock_fprog fprog() const {
    return sock_fprog{static_cast<unsigned short>(program_.size()),
                      const_cast<sock_filter*>(program_.data())};
  }
  // The length of the BPF program in instructions: what every syscall may have to run through
  // at worst, and what the kernel limits to BPF_MAXINSNS.
  size_t instruction_count() const { return program_.size(); }

  // A policy from a program Build() compiled earlier, at build time (the built-in policy of
  // `sbox run`, //tools:default_policy_filter), so that running it needs no compiler. The
  // program is taken as it is: only code that got it from Build() may call this.
  // `own_process_calls` is Builder::OwnProcessCalls of the builder that compiled it.
  static SyscallPolicy FromCompiledProgram(std::vector<sock_filter> program,
                                           std::optional<Redirection> redirection,
                                           std::set<int> own_process_calls = {}) {
    SyscallPolicy policy;
    policy.program_ = std::move(program);
    policy.redirection_ = redirection;
    policy.own_process_calls_ = std::move(own_process_calls);
    return policy;
  }

 private:
  SyscallPolicy() = default;
  std::vector<sock_filter> program_;
  std::optional<Redirection> redirection_;
  std::set<int> own_process_calls_;
  bool fast_reads_ = false;
};

}  // namespace sbox

#endif  // SBOX_BROKER_SYSCALL_POLICY_H_
