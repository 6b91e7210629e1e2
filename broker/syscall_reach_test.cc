// The reach table: what it says of conditions and calls, that no built-in group leaves a reach
// open (checked in the kernel too), and that broker/POLICY_FORMAT.md's table agrees with it.

#include "broker/syscall_reach.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "broker/syscall_policy.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

TEST(SyscallReach, NoBuiltInGroupLeavesAReachOpen) {
  for (SyscallGroup group : SyscallPolicy::AllGroups()) {
    for (const SyscallPolicy::GroupRule& rule : SyscallPolicy::GroupRules(group)) {
      if (rule.error != 0 || rule.redirected) continue;
      EXPECT_EQ(OutsideReach(rule.name, rule.all_of), "") << rule.name;
    }
  }
  for (const std::string& name : SyscallPolicy::RuntimeSyscalls()) {
    EXPECT_EQ(OutsideReach(name, {}), "") << name;
  }
}

TEST(SyscallReach, EveryRowReachesUnconditionallyAndNotUnderItsOwnConditions) {
  std::set<std::string> names;
  for (const SyscallReach& row : ReachTable()) {
    SCOPED_TRACE(row.name);
    EXPECT_TRUE(names.insert(row.name).second) << "listed twice";
    EXPECT_FALSE(row.reach.empty());
    EXPECT_EQ(OutsideReach(row.name, {}), row.reach);
    EXPECT_EQ(FindReach(row.name), &row);
    for (const std::vector<ArgCondition>& inside : row.inside) {
      EXPECT_EQ(OutsideReach(row.name, inside), "");
    }
  }
  EXPECT_EQ(FindReach("read"), nullptr);
  EXPECT_EQ(OutsideReach("read", {}), "");
}

TEST(SyscallReach, ConditionsMustImplyAnInsideAlternative) {
  // fcntl: F_SETFL is inside only without O_ASYNC.
  EXPECT_NE(OutsideReach("fcntl", {Arg(1).Eq(F_SETFL)}), "");
  EXPECT_EQ(OutsideReach("fcntl", {Arg(1).Eq(F_SETFL), Arg(2).MaskedEq(O_ASYNC, 0)}), "");
  EXPECT_EQ(OutsideReach("fcntl", {Arg(1).Eq(F_SETFL), Arg(2).MaskedEq(O_ASYNC | O_APPEND, 0)}),
            "");
  EXPECT_NE(OutsideReach("fcntl", {Arg(1).Eq(F_SETFL), Arg(2).MaskedEq(O_APPEND, 0)}), "");
  EXPECT_NE(OutsideReach("fcntl", {Arg(1).Eq(F_SETFL), Arg(2).Eq(O_ASYNC)}), "");
  EXPECT_EQ(OutsideReach("fcntl", {Arg(1).Eq(F_SETFL), Arg(2).Eq(O_NONBLOCK)}), "");
  // An In is inside when each value is.
  EXPECT_EQ(OutsideReach("fcntl", {Arg(1).In({F_GETFD, F_SETFD})}), "");
  EXPECT_NE(OutsideReach("fcntl", {Arg(1).In({F_GETFD, F_SETOWN})}), "");
  EXPECT_NE(OutsideReach("fcntl", {Arg(1).Ne(F_SETOWN)}), "");
  EXPECT_NE(OutsideReach("fcntl", {Arg(0).Eq(3)}), "");  // the descriptor is not the point
  EXPECT_NE(OutsideReach("fcntl", {Arg(1).Eq(F_SETLEASE)}), "");
  EXPECT_NE(OutsideReach("fcntl", {Arg(1).Eq(F_SETLK)}), "");
  // Ranges: madvise up to MADV_DOFORK is inside, up to MADV_MERGEABLE is not.
  EXPECT_EQ(OutsideReach("madvise", {Arg(2).Lt(MADV_DONTNEED)}), "");
  EXPECT_NE(OutsideReach("madvise", {Arg(2).Le(MADV_MERGEABLE)}), "");
  EXPECT_NE(OutsideReach("madvise", {Arg(2).Eq(MADV_HWPOISON)}), "");
  // pid 0 only.
  EXPECT_EQ(OutsideReach("prlimit64", {Arg(0).Eq(0)}), "");
  EXPECT_EQ(OutsideReach("prlimit64", {Arg(0).Eq(0), Arg(2).Eq(0)}), "");
  EXPECT_NE(OutsideReach("prlimit64", {Arg(2).Eq(0)}), "");
  EXPECT_NE(OutsideReach("sched_setaffinity", {Arg(0).Lt(2)}), "");
  // A mask that keeps more bits than the alternative's is as good.
  EXPECT_EQ(OutsideReach("clock_gettime", {Arg(0).MaskedEq(0xffffffff80000000, 0)}), "");
  EXPECT_NE(OutsideReach("clock_gettime", {Arg(0).MaskedEq(0x40000000, 0)}), "");
  // Too many combinations of In values to check: taken as open, never explored.
  std::vector<uint64_t> many(100);
  for (uint64_t i = 0; i < many.size(); ++i) many[i] = F_GETFD;
  EXPECT_NE(OutsideReach("fcntl", {Arg(0).In(many), Arg(1).In(many), Arg(2).In(many)}), "");
  EXPECT_EQ(OutsideReach("fcntl", {Arg(0).In(many), Arg(1).In({F_GETFD})}), "");
  // Refused whatever the conditions.
  EXPECT_NE(OutsideReach("kill", {Arg(0).Eq(0), Arg(1).Eq(0)}), "");
  EXPECT_NE(OutsideReach("flock", {Arg(1).Eq(1)}), "");
}

TEST(SyscallReach, CallsAreJudgedOnTheirArguments) {
  const auto reach = [](const char* name, std::vector<uint64_t> args) {
    args.resize(6);
    return OutsideReachOfCall(name, args.data());
  };
  const auto narrowest = [](const char* name, std::vector<uint64_t> args) {
    args.resize(6);
    return NarrowestInsideConditions(name, args.data());
  };
  EXPECT_NE(reach("fcntl", {3, F_SETOWN, 1}), "");
  EXPECT_NE(reach("fcntl", {3, F_SETFL, O_ASYNC | O_NONBLOCK}), "");
  EXPECT_EQ(reach("fcntl", {3, F_SETFL, O_NONBLOCK}), "");
  EXPECT_NE(reach("fcntl", {3, (uint64_t{1} << 32) | F_GETFD}), "");  // on all 64 bits
  EXPECT_NE(reach("prlimit64", {1, RLIMIT_NOFILE, 0, 0}), "");
  EXPECT_EQ(reach("prlimit64", {0, RLIMIT_NOFILE, 0, 0}), "");
  EXPECT_NE(reach("futex", {0, FUTEX_TRYLOCK_PI}), "");
  EXPECT_EQ(reach("futex", {0, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME}), "");
  EXPECT_NE(reach("clock_gettime", {0xfffffff2}), "");  // pid 1's CPU clock: (~1 << 3) | 2
  EXPECT_EQ(reach("clock_gettime", {0xfffffffa}), "");  // pid 0's
  EXPECT_EQ(reach("clock_gettime", {CLOCK_MONOTONIC}), "");
  EXPECT_NE(reach("kill", {0, 0}), "");
  EXPECT_EQ(reach("read", {0, 0}), "");

  const std::vector<ArgCondition> pinned = narrowest("fcntl", {3, F_SETFL, O_NONBLOCK});
  ASSERT_EQ(pinned.size(), 2u);
  EXPECT_EQ(pinned[0].index, 1);
  EXPECT_EQ(pinned[0].value, static_cast<uint64_t>(F_SETFL));
  EXPECT_EQ(pinned[1].index, 2);
  EXPECT_EQ(pinned[1].value, static_cast<uint64_t>(O_NONBLOCK));
  EXPECT_EQ(OutsideReach("fcntl", pinned), "");
  EXPECT_TRUE(narrowest("fcntl", {3, F_SETOWN, 1}).empty());
  EXPECT_TRUE(narrowest("read", {0}).empty());
}

// The syscall names of the first column of POLICY_FORMAT.md's reach table.
std::set<std::string> DocumentedNames() {
  std::ifstream in("broker/POLICY_FORMAT.md");
  EXPECT_TRUE(in.good()) << "broker/POLICY_FORMAT.md is not in the runfiles";
  std::stringstream text;
  text << in.rdbuf();
  const std::string document = text.str();
  const size_t start = document.find("## What each allowed syscall can reach");
  EXPECT_NE(start, std::string::npos);
  std::set<std::string> names;
  if (start == std::string::npos) return names;
  for (absl::string_view line : absl::StrSplit(document.substr(start), '\n')) {
    if (!absl::ConsumePrefix(&line, "| `")) continue;
    const absl::string_view first = line.substr(0, line.find(" |"));
    for (absl::string_view name : absl::StrSplit(first, ", ")) {
      name = absl::StripPrefix(name, "`");
      name = absl::StripSuffix(name, "`");
      names.insert(std::string(name));
    }
  }
  return names;
}

TEST(SyscallReach, PolicyFormatTableNamesEveryGroupMemberAndEveryRow) {
  const std::set<std::string> documented = DocumentedNames();
  for (SyscallGroup group : SyscallPolicy::AllGroups()) {
    for (const SyscallPolicy::GroupRule& rule : SyscallPolicy::GroupRules(group)) {
      EXPECT_EQ(documented.count(rule.name), 1u) << rule.name;
    }
  }
  for (const std::string& name : SyscallPolicy::RuntimeSyscalls()) {
    EXPECT_EQ(documented.count(name), 1u) << name;
  }
  for (const SyscallReach& row : ReachTable()) {
    EXPECT_EQ(documented.count(row.name), 1u) << row.name;
  }
}

// ---- In the kernel --------------------------------------------------------------------------

// An unusual errno for "the filter refused it", so that a call's own errors cannot pass for it.
constexpr int kDenied = EHWPOISON;

// Each reach the groups close, tried by a real sandboxee under every group but file
// redirection, with every other call denied with kDenied; and the forms that stay inside,
// which must pass.
TEST(SyscallReachKernel, GroupsKeepEveryCallInside) {
  SyscallPolicy::Builder builder;
  for (SyscallGroup group : SyscallPolicy::AllGroups()) {
    if (group != SyscallGroup::kFileRedirection) builder.AllowGroup(group);
  }
  builder.SetDefaultAction(DefaultAction::Errno(kDenied));
  absl::StatusOr<SyscallPolicy> policy = builder.Build();
  ASSERT_TRUE(policy.ok()) << policy.status();
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().Build();
  ASSERT_TRUE(files.ok());
  Launcher launcher(*std::move(files), *std::move(policy));
  launcher.SetTimeout(absl::Seconds(60));

  struct Try {
    const char* what;
    bool refused;
  };
  const std::vector<Try> tries = {
      {"fcntl F_SETOWN", true},
      {"fcntl F_SETOWN_EX", true},
      {"fcntl F_SETSIG", true},
      {"fcntl F_SETFL O_ASYNC", true},
      {"fcntl F_SETLEASE", true},
      {"fcntl F_SETLK", true},
      {"fcntl F_SETLKW", true},
      {"fcntl F_OFD_SETLK", true},
      {"fcntl F_GETLK", true},
      {"fcntl F_GETOWN", true},
      {"fcntl F_GETOWN_EX", true},
      {"fcntl F_NOTIFY", true},
      {"fcntl F_SETPIPE_SZ", true},
      {"fcntl high F_GETFD", true},
      {"fcntl F_GETFD", false},
      {"fcntl F_SETFL O_NONBLOCK", false},
      {"prlimit64 pid 1", true},
      {"prlimit64 pid 0", false},
      {"get_robust_list pid 1", true},
      {"get_robust_list pid 0", false},
      {"futex TRYLOCK_PI", true},
      {"futex LOCK_PI", true},
      {"futex UNLOCK_PI", true},
      {"futex CMP_REQUEUE_PI", true},
      {"futex WAKE_PRIVATE", false},
      {"clock_gettime pid 1", true},
      {"clock_getres pid 1", true},
      {"clock_nanosleep pid 1", true},
      {"clock_gettime own process", false},
      {"clock_gettime own thread", false},
      {"clock_gettime pid 0", false},
      {"madvise HWPOISON", true},
      {"madvise SOFT_OFFLINE", true},
      {"madvise MERGEABLE", true},
      {"madvise PAGEOUT", true},
      {"madvise DONTNEED", false},
      {"madvise DONTDUMP", false},
      {"sched_getaffinity pid 1", true},
      {"sched_getaffinity pid 0", false},
      {"getpriority PRIO_USER", true},
      {"getpriority PRIO_PROCESS pid 1", true},
      {"getpriority PRIO_PROCESS pid 0", false},
      {"prctl PR_SET_PTRACER", true},
      {"prctl PR_SET_MM", true},
      {"prctl PR_SET_NAME", false},
      {"sysinfo", false},
      {"getrusage RUSAGE_CHILDREN", false},
      {"pipe2", false},
  };
  testing::SharedInts r(tries.size());
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    const int fd = channel.get();
    void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct flock lock = {};
    lock.l_type = F_RDLCK;
    f_owner_ex owner = {F_OWNER_PID, 1};
    rlimit limit;
    void* head;
    size_t length;
    uint32_t word = 1;
    timespec ts;
    const timespec none = {0, 0};
    clockid_t own_thread;
    pthread_getcpuclockid(pthread_self(), &own_thread);
    constexpr uint64_t kCpuClockOfPid1 = 0xfffffff2;  // (~1 << 3) | CPUCLOCK_SCHED
    constexpr uint64_t kCpuClockOfPid0 = 0xfffffffa;
    size_t i = 0;
    // Each call's errno, in order: 0 when it returned normally.
    const auto note = [&](long v) { r[i++] = v >= 0 ? 0 : errno; };
    note(syscall(SYS_fcntl, fd, F_SETOWN, 1));
    note(syscall(SYS_fcntl, fd, F_SETOWN_EX, &owner));
    note(syscall(SYS_fcntl, fd, F_SETSIG, SIGUSR1));
    note(syscall(SYS_fcntl, fd, F_SETFL, O_ASYNC));
    note(syscall(SYS_fcntl, fd, F_SETLEASE, F_RDLCK));
    note(syscall(SYS_fcntl, fd, F_SETLK, &lock));
    note(syscall(SYS_fcntl, fd, F_SETLKW, &lock));
    note(syscall(SYS_fcntl, fd, F_OFD_SETLK, &lock));
    note(syscall(SYS_fcntl, fd, F_GETLK, &lock));
    note(syscall(SYS_fcntl, fd, F_GETOWN));
    note(syscall(SYS_fcntl, fd, F_GETOWN_EX, &owner));
    note(syscall(SYS_fcntl, fd, F_NOTIFY, 0));
    note(syscall(SYS_fcntl, fd, F_SETPIPE_SZ, 4096));
    note(syscall(SYS_fcntl, fd, (uint64_t{1} << 32) | F_GETFD));
    note(syscall(SYS_fcntl, fd, F_GETFD));
    note(syscall(SYS_fcntl, fd, F_SETFL, O_NONBLOCK));
    note(syscall(SYS_prlimit64, 1, RLIMIT_NOFILE, nullptr, &limit));
    note(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, nullptr, &limit));
    note(syscall(SYS_get_robust_list, 1, &head, &length));
    note(syscall(SYS_get_robust_list, 0, &head, &length));
    note(syscall(SYS_futex, &word, FUTEX_TRYLOCK_PI, 0, nullptr, nullptr, 0));
    note(syscall(SYS_futex, &word, FUTEX_LOCK_PI_PRIVATE, 0, &none, nullptr, 0));
    note(syscall(SYS_futex, &word, FUTEX_UNLOCK_PI, 0, nullptr, nullptr, 0));
    note(syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE_PI, 1, nullptr, &word, 0));
    note(syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0));
    note(syscall(SYS_clock_gettime, kCpuClockOfPid1, &ts));
    note(syscall(SYS_clock_getres, kCpuClockOfPid1, &ts));
    note(syscall(SYS_clock_nanosleep, kCpuClockOfPid1, 0, &none, nullptr));
    note(syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, &ts));
    note(syscall(SYS_clock_gettime, own_thread, &ts));
    note(syscall(SYS_clock_gettime, kCpuClockOfPid0, &ts));
    note(syscall(SYS_madvise, page, 4096, MADV_HWPOISON));
    note(syscall(SYS_madvise, page, 4096, 101 /* MADV_SOFT_OFFLINE */));
    note(syscall(SYS_madvise, page, 4096, MADV_MERGEABLE));
    note(syscall(SYS_madvise, page, 4096, MADV_PAGEOUT));
    note(syscall(SYS_madvise, page, 4096, MADV_DONTNEED));
    note(syscall(SYS_madvise, page, 4096, MADV_DONTDUMP));
    cpu_set_t cpus;
    note(syscall(SYS_sched_getaffinity, 1, sizeof(cpus), &cpus));
    note(syscall(SYS_sched_getaffinity, 0, sizeof(cpus), &cpus));
    note(syscall(SYS_getpriority, PRIO_USER, 0));
    note(syscall(SYS_getpriority, PRIO_PROCESS, 1));
    note(syscall(SYS_getpriority, PRIO_PROCESS, 0));
    note(syscall(SYS_prctl, PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0));
    note(syscall(SYS_prctl, PR_SET_MM, PR_SET_MM_START_BRK, 0, 0, 0));
    note(syscall(SYS_prctl, PR_SET_NAME, "sbox-test", 0, 0, 0));
    struct sysinfo info;
    note(syscall(SYS_sysinfo, &info));
    struct rusage usage;
    note(syscall(SYS_getrusage, RUSAGE_CHILDREN, &usage));
    int pipe_fds[2];
    note(syscall(SYS_pipe2, pipe_fds, O_CLOEXEC));
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->ok()) << result->ToString();
  for (size_t i = 0; i < tries.size(); ++i) {
    if (tries[i].refused) {
      EXPECT_EQ(r[i], kDenied) << tries[i].what;
    } else {
      EXPECT_NE(r[i], kDenied) << tries[i].what << ": " << strerror(r[i]);
    }
  }
}

}  // namespace
}  // namespace sbox
