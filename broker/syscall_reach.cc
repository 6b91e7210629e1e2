#include "broker/syscall_reach.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

namespace sbox {
namespace {

using Alternatives = std::vector<std::vector<ArgCondition>>;

// fcntl commands that act on the caller's descriptor table or file flags alone.
const std::vector<uint64_t> kFcntlWithoutReach = {F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD,    F_SETFD,
                                                  F_GETFL, F_GETPIPE_SZ,    F_GET_SEALS};

// madvise advice on the caller's own mappings beyond 0..MADV_DOFORK (normal, random,
// sequential, willneed, dontneed, free, remove, dontfork, dofork).
const std::vector<uint64_t> kMadviseOwnMemory = {
    MADV_UNMERGEABLE,     MADV_HUGEPAGE,
    MADV_NOHUGEPAGE,      MADV_DONTDUMP,
    MADV_DODUMP,          MADV_WIPEONFORK,
    MADV_KEEPONFORK,      MADV_COLD,
    MADV_POPULATE_READ,   MADV_POPULATE_WRITE,
    MADV_DONTNEED_LOCKED, 25 /* MADV_COLLAPSE, newer than glibc's header */};

// Clock ids are ints (the kernel reads the low 32 bits). A negative one is a CPU clock,
// (~pid << 3) | type, or a descriptor's clock: pid 0 is the caller, and per-thread CPU clocks
// (bit 2) are limited by the kernel to the caller's own threads.
constexpr uint64_t kClockIdSign = 0x80000000;
constexpr uint64_t kCpuClockPerThread = 4;
constexpr uint64_t kCpuClockOfSelf = 0xfffffff8;
const Alternatives kOwnClocks = {
    {Arg(0).MaskedEq(kClockIdSign, 0)},
    {Arg(0).MaskedEq(kClockIdSign | kCpuClockPerThread, kClockIdSign | kCpuClockPerThread)},
    {Arg(0).MaskedEq(kCpuClockOfSelf, kCpuClockOfSelf)},
};

// The futex operations that are not priority inheritance, with or without the flags that do
// not change the operation.
Alternatives FutexWithoutPriorityInheritance() {
  constexpr uint64_t kFlags = FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME;
  Alternatives alternatives;
  for (uint64_t op : {FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP,
                      FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET}) {
    alternatives.push_back({Arg(1).MaskedEq(~kFlags, op)});
  }
  return alternatives;
}

// Terminal and descriptor ioctls that only read the caller's own descriptor or set its
// descriptor flags.
const std::vector<uint64_t> kIoctlWithoutReach = {TCGETS,  TIOCGWINSZ, FIONREAD,
                                                  FIOCLEX, FIONCLEX,   FIONBIO};

// prctl options that read or set the caller's own attributes.
const std::vector<uint64_t> kPrctlWithoutReach = {
    PR_SET_PDEATHSIG,    PR_GET_PDEATHSIG,   PR_GET_DUMPABLE,        PR_GET_KEEPCAPS,
    PR_SET_NAME,         PR_GET_NAME,        PR_GET_SECCOMP,         PR_CAPBSET_READ,
    PR_GET_TIMERSLACK,   PR_SET_TIMERSLACK,  PR_GET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS,
    PR_GET_NO_NEW_PRIVS, PR_GET_TID_ADDRESS, PR_SET_THP_DISABLE,     PR_GET_THP_DISABLE,
    PR_SET_VMA};

// socket(2)'s type without SOCK_NONBLOCK and SOCK_CLOEXEC (the kernel's SOCK_TYPE_MASK).
constexpr uint64_t kSocketTypeMask = 0xf;

constexpr uint64_t kIoprioWhoProcess = 1;  // linux/ioprio.h's IOPRIO_WHO_PROCESS

const Alternatives kPidZero = {{Arg(0).Eq(0)}};

constexpr char kAnyPid[] =
    "names any process by pid: tells which exist (ESRCH, EPERM) and acts on those of the "
    "sandboxee's uid";

std::vector<SyscallReach> MakeTable() {
  std::vector<SyscallReach> table = {
      {"fcntl",
       "F_SETOWN, F_SETOWN_EX, F_SETSIG and F_SETFL with O_ASYNC make the kernel signal a "
       "process the sandboxee names (the broker, any process of its uid); F_SETLEASE holds up "
       "other processes' opens; F_SETLK, F_SETLKW, F_OFD_SETLK, F_OFD_SETLKW hold up their locks; "
       "F_GETLK and F_GETOWN report pids outside",
       [] {
         Alternatives a = {{Arg(1).In(kFcntlWithoutReach)}};
         a.push_back({Arg(1).Eq(F_SETFL), Arg(2).MaskedEq(O_ASYNC, 0)});
         return a;
       }()},
      {"flock", "holds up other processes that lock the same file", {}},
      {"ioctl",
       "FIOASYNC, FIOSETOWN and SIOCSPGRP make the kernel signal a process; TIOCSTI, TIOCSIG, "
       "TIOCSPGRP, TIOCSCTTY, TIOCSWINSZ and TCSETS act on a terminal shared with processes "
       "outside (typed input, signals to its foreground job); TIOCGPGRP and TIOCGSID report "
       "pids outside; any other request reaches the driver of a held descriptor",
       {{Arg(1).In(kIoctlWithoutReach)}}},
      {"prlimit64", kAnyPid, kPidZero},
      {"get_robust_list", "another pid: tells it exists and where its robust list is", kPidZero},
      {"futex",
       "the priority-inheritance operations look up the thread id stored in the futex word "
       "among all processes, without a permission check: FUTEX_TRYLOCK_PI tells which pids "
       "exist, FUTEX_LOCK_PI lends priority to a process outside",
       FutexWithoutPriorityInheritance()},
      {"clock_gettime",
       "a negative clock id names another process's CPU clock by pid, which the kernel reads "
       "without a permission check: its CPU time, and whether it exists",
       kOwnClocks},
      {"clock_getres", "a negative clock id names another process's CPU clock by pid", kOwnClocks},
      {"clock_nanosleep",
       "a negative clock id names another process's CPU clock by pid: sleeps on its CPU time",
       kOwnClocks},
      {"memfd_create",
       "MFD_HUGETLB draws on the system's huge page pool, which every process shares",
       {{Arg(1).MaskedEq(MFD_HUGETLB, 0)}}},
      {"madvise",
       "MADV_HWPOISON and MADV_SOFT_OFFLINE (with CAP_SYS_ADMIN) take physical pages away, "
       "shared page cache included; MADV_MERGEABLE shares pages with other processes (KSM); "
       "MADV_PAGEOUT evicts page cache other processes use",
       {{Arg(2).Le(MADV_DOFORK)}, {Arg(2).In(kMadviseOwnMemory)}}},
      {"prctl",
       "PR_SET_PTRACER lets a process outside trace the sandboxee; PR_SCHED_CORE shares core "
       "scheduling with another pid; PR_SET_MM and others change what other tools read",
       {{Arg(0).In(kPrctlWithoutReach)}}},
      {"getpriority",
       "PRIO_PGRP and PRIO_USER reach the caller's process group (sbox and the shell's job) "
       "and every process of its uid; another id names processes outside",
       {{Arg(0).Eq(PRIO_PROCESS), Arg(1).Eq(0)}}},
      {"setpriority",
       "PRIO_PGRP and PRIO_USER reach the caller's process group (sbox and the shell's job) "
       "and every process of its uid; another id names processes outside",
       {{Arg(0).Eq(PRIO_PROCESS), Arg(1).Eq(0)}}},
      {"ioprio_get",
       "IOPRIO_WHO_PGRP and IOPRIO_WHO_USER reach processes outside; so does a pid",
       {{Arg(0).Eq(kIoprioWhoProcess), Arg(1).Eq(0)}}},
      {"ioprio_set",
       "IOPRIO_WHO_PGRP and IOPRIO_WHO_USER reach processes outside; so does a pid",
       {{Arg(0).Eq(kIoprioWhoProcess), Arg(1).Eq(0)}}},
      {"getpgid", kAnyPid, kPidZero},
      {"getsid", kAnyPid, kPidZero},
      {"setpgid",
       "moves a process into another process group: the terminal's job control",
       {{Arg(0).Eq(0), Arg(1).Eq(0)}}},
      {"socket",
       "any family but AF_UNIX reaches the network or kernel interfaces (netlink); an AF_UNIX "
       "datagram socket sends to any socket by name with sendmsg, which every policy allows "
       "(the broker channel)",
       {{Arg(0).Eq(AF_UNIX), Arg(1).MaskedEq(kSocketTypeMask, SOCK_STREAM)},
        {Arg(0).Eq(AF_UNIX), Arg(1).MaskedEq(kSocketTypeMask, SOCK_SEQPACKET)}}},
      {"sendto",
       "a destination address reaches any socket by name, past the broker's connect check",
       {{Arg(4).Eq(0)}}},
      {"bind",
       "an AF_UNIX address creates a socket file by path, past the file rules; any other "
       "family listens on the network (the address is in memory: no condition sees it)",
       {}},
      {"capget",
       "reads another process's capabilities by pid (in memory: no condition sees it)",
       {}},
      {"mq_open", "opens a system-wide POSIX message queue by name", {}},
      {"mq_unlink", "removes a system-wide POSIX message queue by name", {}},
      {"clock_settime", "sets the system clock", {}},
      {"clock_adjtime", "adjusts the system clock", {}},
      {"settimeofday", "sets the system clock", {}},
      {"adjtimex", "adjusts the system clock", {}},
  };
  for (const char* name :
       {"sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_setparam",
        "sched_getscheduler", "sched_setscheduler", "sched_getattr", "sched_setattr",
        "sched_rr_get_interval", "move_pages", "migrate_pages"}) {
    table.push_back({name, kAnyPid, kPidZero});
  }
  for (const char* name :
       {"kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal"}) {
    table.push_back({name,
                     "sends a signal to any process of the sandboxee's uid (0 and -1: its "
                     "process group, every process)",
                     {}});
  }
  for (const char* name : {"pidfd_open", "pidfd_getfd", "process_madvise", "process_mrelease",
                           "kcmp", "ptrace", "process_vm_readv", "process_vm_writev"}) {
    table.push_back({name, "acts on another process named by pid or pidfd", {}});
  }
  for (const char* name : {"shmget", "shmat", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl",
                           "semget", "semop", "semtimedop", "semctl"}) {
    table.push_back({name, "System V IPC objects are system-wide, named by key", {}});
  }
  for (const char* name : {"keyctl", "add_key", "request_key"}) {
    table.push_back({name, "the kernel keyring is shared with processes outside", {}});
  }
  std::sort(table.begin(), table.end(),
            [](const SyscallReach& a, const SyscallReach& b) { return a.name < b.name; });
  return table;
}

// Whether every value `given` admits satisfies `wanted` (both on the same argument; `given`
// has no In left).
bool Implies(const ArgCondition& given, const ArgCondition& wanted) {
  using Compare = ArgCondition::Compare;
  switch (given.compare) {
    case Compare::kEq:
      return wanted.Admits(given.value);
    case Compare::kMaskedEq:
      return wanted.compare == Compare::kMaskedEq && (wanted.mask & ~given.mask) == 0 &&
             (given.value & wanted.mask) == wanted.value;
    case Compare::kLt:
    case Compare::kLe: {
      if (given.compare == Compare::kLt && given.value == 0) return true;  // admits nothing
      const uint64_t highest = given.compare == Compare::kLt ? given.value - 1 : given.value;
      if (wanted.compare == Compare::kLe) return highest <= wanted.value;
      if (wanted.compare == Compare::kLt) return highest < wanted.value;
      return false;
    }
    default:
      return false;
  }
}

// `all_of` with each In replaced by one of its values: one list per combination.
std::vector<std::vector<ArgCondition>> WithoutIn(const std::vector<ArgCondition>& all_of) {
  std::vector<std::vector<ArgCondition>> lists(1);
  for (const ArgCondition& c : all_of) {
    if (c.compare != ArgCondition::Compare::kIn) {
      for (auto& list : lists) list.push_back(c);
      continue;
    }
    std::vector<std::vector<ArgCondition>> expanded;
    for (const auto& list : lists) {
      for (uint64_t v : c.values) {
        expanded.push_back(list);
        expanded.back().push_back(Arg(c.index).Eq(v));
      }
    }
    lists = std::move(expanded);
  }
  return lists;
}

bool ImpliesAlternative(const std::vector<ArgCondition>& given,
                        const std::vector<ArgCondition>& alternative) {
  for (const ArgCondition& wanted : alternative) {
    const bool implied = std::any_of(given.begin(), given.end(), [&](const ArgCondition& g) {
      return g.index == wanted.index && Implies(g, wanted);
    });
    if (!implied) return false;
  }
  return true;
}

const std::vector<ArgCondition>* InsideAlternativeOf(const SyscallReach& row,
                                                     const uint64_t args[6]) {
  for (const std::vector<ArgCondition>& alternative : row.inside) {
    if (std::all_of(alternative.begin(), alternative.end(),
                    [&](const ArgCondition& c) { return c.Admits(args[c.index]); })) {
      return &alternative;
    }
  }
  return nullptr;
}

}  // namespace

const std::vector<SyscallReach>& ReachTable() {
  static const auto* const kTable = new std::vector<SyscallReach>(MakeTable());
  return *kTable;
}

const SyscallReach* FindReach(const std::string& name) {
  const std::vector<SyscallReach>& table = ReachTable();
  auto it =
      std::lower_bound(table.begin(), table.end(), name,
                       [](const SyscallReach& row, const std::string& n) { return row.name < n; });
  return it != table.end() && it->name == name ? &*it : nullptr;
}

std::string OutsideReach(const std::string& name, const std::vector<ArgCondition>& all_of) {
  const SyscallReach* row = FindReach(name);
  if (row == nullptr) return "";
  // Each In is judged value by value, every combination of them: past this many, the rule is
  // taken to leave the reach open rather than checked.
  constexpr size_t kMaxCombinations = 4096;
  size_t combinations = 1;
  for (const ArgCondition& c : all_of) {
    if (c.compare != ArgCondition::Compare::kIn) continue;
    combinations *= std::max<size_t>(c.values.size(), 1);
    if (combinations > kMaxCombinations) return row->reach;
  }
  for (const std::vector<ArgCondition>& given : WithoutIn(all_of)) {
    const bool inside = std::any_of(
        row->inside.begin(), row->inside.end(),
        [&](const std::vector<ArgCondition>& a) { return ImpliesAlternative(given, a); });
    if (!inside) return row->reach;
  }
  return "";
}

std::string OutsideReachOfCall(const std::string& name, const uint64_t args[6]) {
  const SyscallReach* row = FindReach(name);
  if (row == nullptr || InsideAlternativeOf(*row, args) != nullptr) return "";
  return row->reach;
}

std::vector<ArgCondition> NarrowestInsideConditions(const std::string& name,
                                                    const uint64_t args[6]) {
  const SyscallReach* row = FindReach(name);
  if (row == nullptr) return {};
  const std::vector<ArgCondition>* alternative = InsideAlternativeOf(*row, args);
  if (alternative == nullptr) return {};
  std::vector<ArgCondition> pinned;
  for (const ArgCondition& c : *alternative) pinned.push_back(Arg(c.index).Eq(args[c.index]));
  return pinned;
}

}  // namespace sbox
