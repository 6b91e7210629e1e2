// SyscallPolicy: what each construct builds, what each mistake reports, and that the kernel
// does to a real sandboxee exactly what the policy says.

#include "broker/syscall_policy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/syscall_reach.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "proto/file_syscalls.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using testing::SharedInts;

// An unusual errno for "the policy did not allow it", so that a call's own errors cannot pass
// for it.
constexpr int kDenied = EHWPOISON;

SandboxResult Failed(int code) {
  SandboxResult result;
  result.exit_code = code;
  return result;
}

// Runs `body` in a sandboxee under `syscalls` and no file access; a failure to run fails the
// test and reads as exit code 255.
SandboxResult RunUnder(const SyscallPolicy::Builder& syscalls, const std::function<int()>& body) {
  absl::StatusOr<SyscallPolicy> policy = syscalls.Build();
  EXPECT_TRUE(policy.ok()) << policy.status();
  if (!policy.ok()) return Failed(255);
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().Build();
  EXPECT_TRUE(files.ok()) << files.status();
  Launcher launcher(*std::move(files), *std::move(policy));
  launcher.SetTimeout(absl::Seconds(60));
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd) { return body(); });
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : Failed(255);
}

// getppid ignores its arguments, so the filter alone decides what a call with any arguments
// does: the ppid (positive) when allowed, -errno otherwise.
int CallGetppid(int index, uint64_t value) {
  uint64_t args[6] = {};
  args[index] = value;
  const long rc = syscall(SYS_getppid, args[0], args[1], args[2], args[3], args[4], args[5]);
  return rc >= 0 ? 1 : -errno;
}

// ---- Construction -------------------------------------------------------------------------

TEST(SyscallPolicyBuild, EveryConstructBuilds) {
  SyscallPolicy::Builder builder;
  builder.Allow("read")
      .Allow("getppid",
             {Arg(0).Eq(1), Arg(1).Ne(2), Arg(2).Lt(3), Arg(3).Le(4), Arg(4).Gt(5), Arg(5).Ge(6)})
      .Allow("getppid", {Arg(0).MaskedEq(0xff, 1)})
      .Allow("getppid", {Arg(1).In({1, 2, 0x100000000}), Arg(2).In({3, 4})})
      .AllowGroup(SyscallGroup::kThreads)
      .ReturnErrno("ioctl", ENOTTY)
      .Trap("kill");
  for (DefaultAction action :
       {DefaultAction(DefaultAction::kKillAndReport), DefaultAction(DefaultAction::kKillProcess),
        DefaultAction(DefaultAction::kTrap), DefaultAction::Errno(EPERM)}) {
    builder.SetDefaultAction(action);
    absl::StatusOr<SyscallPolicy> policy = builder.Build();
    ASSERT_TRUE(policy.ok()) << policy.status();
    EXPECT_GT(policy->instruction_count(), 0u);
    EXPECT_EQ(policy->instruction_count(), policy->program().size());
    EXPECT_EQ(policy->fprog().len, policy->instruction_count());
  }
}

TEST(SyscallPolicyBuild, InstructionCountGrowsWithRules) {
  absl::StatusOr<SyscallPolicy> small = SyscallPolicy::Builder().Build();
  absl::StatusOr<SyscallPolicy> large = SyscallPolicy::BrokeredParser().Build();
  ASSERT_TRUE(small.ok()) << small.status();
  ASSERT_TRUE(large.ok()) << large.status();
  EXPECT_LT(small->instruction_count(), large->instruction_count());
  EXPECT_LE(large->instruction_count(), static_cast<size_t>(BPF_MAXINSNS));
}

TEST(SyscallPolicyBuild, RepeatedRulesAreNotConflicts) {
  absl::StatusOr<SyscallPolicy> policy = SyscallPolicy::Builder()
                                             .Allow("close")  // a runtime syscall
                                             .AllowGroup(SyscallGroup::kBrokerChannel)
                                             .AllowGroup(SyscallGroup::kExit)
                                             .Allow("read", {Arg(0).In({1, 1, 2})})
                                             .Allow("read", {Arg(0).Eq(2)})
                                             .ReturnErrno("ioctl", ENOTTY)
                                             .ReturnErrno("ioctl", ENOTTY)
                                             .Trap("kill")
                                             .Trap("kill")
                                             .Build();
  EXPECT_TRUE(policy.ok()) << policy.status();
}

// An unconditional allow covers the conditional ones for the same syscall: a group allowing
// fcntl beside a rule allowing some fcntl commands builds, and compiles like the group alone.
TEST(SyscallPolicyBuild, UnconditionalAllowCoversConditionalOnes) {
  absl::StatusOr<SyscallPolicy> both = SyscallPolicy::Builder()
                                           .AllowGroup(SyscallGroup::kBasicIo)
                                           .Allow("lseek")
                                           .Allow("lseek", {Arg(2).Eq(SEEK_SET)})
                                           .Build();
  ASSERT_TRUE(both.ok()) << both.status();
  absl::StatusOr<SyscallPolicy> group_only =
      SyscallPolicy::Builder().AllowGroup(SyscallGroup::kBasicIo).Allow("lseek").Build();
  ASSERT_TRUE(group_only.ok()) << group_only.status();
  EXPECT_EQ(both->instruction_count(), group_only->instruction_count());
}

TEST(SyscallPolicyBuild, RuleRepeatingTheDefaultActionBuilds) {
  absl::StatusOr<SyscallPolicy> errno_policy = SyscallPolicy::Builder()
                                                   .SetDefaultAction(DefaultAction::Errno(EPERM))
                                                   .ReturnErrno("ioctl", EPERM)
                                                   .Build();
  EXPECT_TRUE(errno_policy.ok()) << errno_policy.status();
  absl::StatusOr<SyscallPolicy> trap_policy =
      SyscallPolicy::Builder().SetDefaultAction(DefaultAction::kTrap).Trap("kill").Build();
  EXPECT_TRUE(trap_policy.ok()) << trap_policy.status();
}

void ExpectInvalidNaming(const SyscallPolicy::Builder& builder, const std::string& name) {
  absl::StatusOr<SyscallPolicy> policy = builder.Build();
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument) << policy.status();
  EXPECT_NE(policy.status().message().find(name), absl::string_view::npos) << policy.status();
}

TEST(SyscallPolicyBuild, ErrorsNameTheSyscall) {
  ExpectInvalidNaming(SyscallPolicy::Builder().Allow("no_such_call"), "no_such_call");
  ExpectInvalidNaming(SyscallPolicy::Builder().Trap("no_such_trap"), "no_such_trap");
  ExpectInvalidNaming(SyscallPolicy::Builder().Allow("pread64", {Arg(6).Eq(0)}), "pread64");
  ExpectInvalidNaming(SyscallPolicy::Builder().Allow("pwrite64", {Arg(-1).Eq(0)}), "pwrite64");
  ExpectInvalidNaming(SyscallPolicy::Builder().Allow("readv", {Arg(1).Eq(0), Arg(0).In({})}),
                      "readv");
  ExpectInvalidNaming(SyscallPolicy::Builder().Allow("read").ReturnErrno("read", EPERM), "read");
  ExpectInvalidNaming(SyscallPolicy::Builder().ReturnErrno("write", EPERM).Allow("write"), "write");
  ExpectInvalidNaming(
      SyscallPolicy::Builder().Allow("lseek", {Arg(0).Eq(1)}).ReturnErrno("lseek", EPERM), "lseek");
  ExpectInvalidNaming(
      SyscallPolicy::Builder().ReturnErrno("fsync", EPERM).ReturnErrno("fsync", EACCES), "fsync");
  ExpectInvalidNaming(SyscallPolicy::Builder().Trap("getppid").Allow("getppid"), "getppid");
  // A runtime syscall cannot be taken away.
  ExpectInvalidNaming(SyscallPolicy::Builder().Trap("close"), "close");
  ExpectInvalidNaming(SyscallPolicy::Builder().ReturnErrno("ioctl", 0), "ioctl");
  ExpectInvalidNaming(SyscallPolicy::Builder().ReturnErrno("ioctl", 4096), "ioctl");
  ExpectInvalidNaming(SyscallPolicy::Builder().ReturnErrno("ioctl", -1), "ioctl");
  ExpectInvalidNaming(SyscallPolicy::Builder().SetDefaultAction(DefaultAction::Errno(0)),
                      "default action");
  ExpectInvalidNaming(SyscallPolicy::Builder().SetDefaultAction(DefaultAction::Errno(4096)),
                      "default action");
  // The bounds themselves are fine.
  EXPECT_TRUE(SyscallPolicy::Builder().ReturnErrno("ioctl", 1).Build().ok());
  EXPECT_TRUE(SyscallPolicy::Builder().ReturnErrno("ioctl", 4094).Build().ok());
  ExpectInvalidNaming(SyscallPolicy::Builder().ReturnErrno("ioctl", 4095), "ioctl");
}

// ---- Groups and BrokeredParser --------------------------------------------------------------

// BrokeredParser() spelled out rule by rule: the groups must compile to exactly this.
SyscallPolicy::Builder ExplicitBrokeredParser() {
  constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                       CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
  SyscallPolicy::Builder builder;
  for (const char* name : {
           "read",
           "readv",
           "pread64",
           "preadv",
           "preadv2",
           "write",
           "writev",
           "pwrite64",
           "pwritev",
           "pwritev2",
           "lseek",
           "fstat",
           "getdents64",
           "dup",
           "dup2",
           "close_range",
           "dup3",
           "ftruncate",
           "fsync",
           "fdatasync",
           "brk",
           "munmap",
           "mremap",
           "set_robust_list",
           "rseq",
           "sched_yield",
           "rt_sigprocmask",
           "sigaltstack",
           "rt_sigsuspend",
           "rt_sigpending",
           "rt_sigtimedwait",
           "pause",
           "restart_syscall",
           "gettimeofday",
           "time",
           "nanosleep",
           "getrandom",
           "getpid",
           "gettid",
           "getuid",
           "geteuid",
           "getgid",
           "getegid",
           "fstatfs",
           "poll",
           "ppoll",
           "select",
           "pselect6",
           "epoll_create1",
           "epoll_ctl",
           "epoll_wait",
           "epoll_pwait",
           "pipe2",
           "eventfd2",
           "mincore",
           "membarrier",
           "uname",
           "sysinfo",
           "getrusage",
           "getgroups",
           "umask",
           "get_mempolicy",
           "set_mempolicy",
           "pkey_alloc",
           "pkey_free",
           "getpgrp",
           "times",
           "mlock",
           "mlock2",
           "munlock",
           "getppid",
       }) {
    builder.Allow(name);
  }
  builder.Allow("sched_getaffinity", {Arg(0).Eq(0)});
  builder.Allow("prctl", FindReach("prctl")->inside[0]);
  builder.Allow("getpriority", {Arg(0).Eq(PRIO_PROCESS), Arg(1).Eq(0)});
  builder.Allow("fcntl", {Arg(1).In({F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL,
                                     F_GETPIPE_SZ, F_GET_SEALS})});
  builder.Allow("fcntl", {Arg(1).Eq(F_SETFL), Arg(2).MaskedEq(O_ASYNC, 0)});
  builder.Allow("madvise", {Arg(2).Le(MADV_DOFORK)});
  builder.Allow("madvise",
                {Arg(2).In({MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP,
                            MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_COLD,
                            MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_DONTNEED_LOCKED, 25})});
  builder.Allow("mmap", {Arg(2).MaskedEq(PROT_EXEC, 0)});
  builder.Allow("mprotect", {Arg(2).MaskedEq(PROT_EXEC, 0)});
  builder.Allow("pkey_mprotect", {Arg(2).MaskedEq(PROT_EXEC, 0)});
  for (const char* clock_call : {"clock_gettime", "clock_getres", "clock_nanosleep"}) {
    builder.Allow(clock_call, {Arg(0).MaskedEq(0x80000000, 0)});
    builder.Allow(clock_call, {Arg(0).MaskedEq(0x80000004, 0x80000004)});
    builder.Allow(clock_call, {Arg(0).MaskedEq(0xfffffff8, 0xfffffff8)});
  }
  for (uint64_t op : {FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP,
                      FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET}) {
    builder.Allow("futex",
                  {Arg(1).MaskedEq(~uint64_t{FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME}, op)});
  }
  builder.Allow("get_robust_list", {Arg(0).Eq(0)});
  builder.Allow("clone", {Arg(0).MaskedEq(CLONE_THREAD | kNamespaceFlags, CLONE_THREAD)});
  builder.Allow("rt_sigaction", {Arg(0).Lt(SIGSYS)});
  builder.Allow("rt_sigaction", {Arg(0).MaskedEq(~uint64_t{31}, 32)});
  builder.Allow("rt_sigaction", {Arg(0).Eq(64)});
  builder.ReturnErrno("clone3", ENOSYS);
  builder.ReturnErrno("newfstatat", ENOSYS);
  builder.ReturnErrno("statx", ENOSYS);
  builder.ReturnErrno("ioctl", ENOTTY);
  builder.ReturnErrno("chdir", EPERM);
  builder.ReturnErrno("fchdir", EPERM);
  return builder;
}

TEST(SyscallPolicyGroups, BrokeredParserCompilesToTheSameProgramAsTheExplicitList) {
  absl::StatusOr<SyscallPolicy> explicit_list = ExplicitBrokeredParser().Build();
  absl::StatusOr<SyscallPolicy> grouped = SyscallPolicy::BrokeredParser().Build();
  ASSERT_TRUE(explicit_list.ok()) << explicit_list.status();
  ASSERT_TRUE(grouped.ok()) << grouped.status();
  ASSERT_EQ(explicit_list->instruction_count(), grouped->instruction_count());
  EXPECT_EQ(memcmp(explicit_list->program().data(), grouped->program().data(),
                   grouped->instruction_count() * sizeof(sock_filter)),
            0);
}

TEST(SyscallPolicyGroups, MembersAreAsDocumented) {
  using V = std::vector<std::string>;
  EXPECT_EQ(SyscallPolicy::GroupMembers(SyscallGroup::kBasicIo),
            (V{"read",    "readv",      "pread64",       "preadv",    "preadv2",    "write",
               "writev",  "pwrite64",   "pwritev",       "pwritev2",  "lseek",      "fstat",
               "fstatfs", "getdents64", "dup",           "dup2",      "dup3",       "close_range",
               "fcntl",   "ftruncate",  "fsync",         "fdatasync", "poll",       "ppoll",
               "select",  "pselect6",   "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
               "pipe2",   "eventfd2"}));
  EXPECT_EQ(SyscallPolicy::GroupMembers(SyscallGroup::kMemoryWithoutExec),
            (V{"brk", "munmap", "mremap", "mincore", "get_mempolicy", "set_mempolicy", "pkey_alloc",
               "pkey_free", "mlock", "mlock2", "munlock", "madvise", "mmap", "mprotect",
               "pkey_mprotect"}));
  EXPECT_EQ(
      SyscallPolicy::GroupMembers(SyscallGroup::kTime),
      (V{"clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep"}));
  EXPECT_EQ(SyscallPolicy::GroupMembers(SyscallGroup::kSignals),
            (V{"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "rt_sigsuspend",
               "rt_sigpending", "rt_sigtimedwait", "pause", "restart_syscall"}));
  EXPECT_EQ(SyscallPolicy::GroupMembers(SyscallGroup::kThreads),
            (V{"clone", "futex", "set_robust_list", "get_robust_list", "rseq", "sched_yield",
               "gettid", "membarrier", "sched_getaffinity", "prctl"}));
  EXPECT_EQ(SyscallPolicy::GroupMembers(SyscallGroup::kExit), (V{"exit", "exit_group"}));
  EXPECT_EQ(SyscallPolicy::GroupMembers(SyscallGroup::kIdentity),
            (V{"getpid", "getuid", "geteuid", "getgid", "getegid", "uname", "sysinfo", "getgroups",
               "getpgrp", "getppid", "times", "umask", "getrusage", "getpriority"}));
  EXPECT_EQ(SyscallPolicy::GroupMembers(SyscallGroup::kRandom), (V{"getrandom"}));
  EXPECT_EQ(SyscallPolicy::GroupMembers(SyscallGroup::kBrokerChannel),
            (V{"sendmsg", "recvmsg", "close"}));
  // Every syscall that names a file (proto/file_syscalls.h): redirected to the broker ...
  const V file_calls = {
      "open",     "openat",   "openat2",    "creat",     "access",    "faccessat", "faccessat2",
      "stat",     "lstat",    "newfstatat", "statx",     "statfs",    "readlink",  "readlinkat",
      "mkdir",    "mkdirat",  "mknod",      "mknodat",   "rmdir",     "unlink",    "unlinkat",
      "rename",   "renameat", "renameat2",  "link",      "linkat",    "symlink",   "symlinkat",
      "chmod",    "fchmod",   "fchmodat",   "fchmodat2", "chown",     "fchown",    "lchown",
      "fchownat", "utime",    "utimes",     "futimesat", "utimensat", "truncate",  "chdir",
      "fchdir",   "getcwd",   "connect"};
  EXPECT_EQ(SyscallPolicy::RedirectedFileCalls(), file_calls);
  // ... or refused with a fixed errno: those the group answers itself, and are not among the
  // members it allows.
  const std::vector<std::pair<std::string, int>> refused_calls = {{"getxattr", EOPNOTSUPP},
                                                                  {"lgetxattr", EOPNOTSUPP},
                                                                  {"fgetxattr", EOPNOTSUPP},
                                                                  {"listxattr", EOPNOTSUPP},
                                                                  {"llistxattr", EOPNOTSUPP},
                                                                  {"flistxattr", EOPNOTSUPP},
                                                                  {"setxattr", EOPNOTSUPP},
                                                                  {"lsetxattr", EOPNOTSUPP},
                                                                  {"fsetxattr", EOPNOTSUPP},
                                                                  {"removexattr", EOPNOTSUPP},
                                                                  {"lremovexattr", EOPNOTSUPP},
                                                                  {"fremovexattr", EOPNOTSUPP},
                                                                  {"mount", EPERM},
                                                                  {"umount2", EPERM},
                                                                  {"pivot_root", EPERM},
                                                                  {"chroot", EPERM},
                                                                  {"swapon", EPERM},
                                                                  {"swapoff", EPERM},
                                                                  {"quotactl", EPERM},
                                                                  {"quotactl_fd", EPERM},
                                                                  {"acct", EPERM},
                                                                  {"fanotify_init", EPERM},
                                                                  {"fanotify_mark", EPERM},
                                                                  {"open_tree", EPERM},
                                                                  {"move_mount", EPERM},
                                                                  {"fsopen", EPERM},
                                                                  {"fsconfig", EPERM},
                                                                  {"fsmount", EPERM},
                                                                  {"fspick", EPERM},
                                                                  {"mount_setattr", EPERM},
                                                                  {"open_by_handle_at", EPERM},
                                                                  {"name_to_handle_at", EOPNOTSUPP},
                                                                  {"inotify_add_watch", EACCES},
                                                                  {"uselib", ENOSYS},
                                                                  {"setxattrat", EOPNOTSUPP},
                                                                  {"getxattrat", EOPNOTSUPP},
                                                                  {"listxattrat", EOPNOTSUPP},
                                                                  {"removexattrat", EOPNOTSUPP},
                                                                  {"open_tree_attr", EPERM},
                                                                  {"file_getattr", EOPNOTSUPP},
                                                                  {"file_setattr", EOPNOTSUPP}};
  std::vector<std::pair<std::string, int>> refused_in_table;
  for (const proto::FileSyscall& call : proto::kFileSyscalls) {
    if (call.refused_with != 0) refused_in_table.emplace_back(call.name, call.refused_with);
  }
  EXPECT_EQ(refused_in_table, refused_calls);
  V redirection = file_calls;
  redirection.push_back("rt_sigprocmask");
  redirection.push_back("rt_sigaction");
  redirection.push_back("getsockopt");
  redirection.push_back("socket");
  EXPECT_EQ(SyscallPolicy::GroupMembers(SyscallGroup::kFileRedirection), redirection);
  EXPECT_EQ(SyscallPolicy::GroupMembers(SyscallGroup::kExecutableMemory),
            (V{"mmap", "mprotect", "pkey_mprotect"}));
  EXPECT_EQ(SyscallPolicy::GroupMembers(SyscallGroup::kProcesses),
            (V{"clone", "fork", "vfork", "wait4", "waitid"}));
  EXPECT_EQ(SyscallPolicy::GroupMembers(SyscallGroup::kOwnProcess),
            (V{"ioctl", "sched_getaffinity", "sched_getparam", "sched_getscheduler", "prlimit64",
               "getpriority", "kill", "tgkill", "tkill", "capget", "fcntl", "flock"}));
  EXPECT_EQ(SyscallPolicy::GroupMembers(SyscallGroup::kProgramStartup),
            (V{"arch_prctl", "set_tid_address", "prlimit64", "mmap"}));
  EXPECT_EQ(SyscallPolicy::GroupMembers(SyscallGroup::kSanitizerRuntime),
            (V{"prlimit64", "sched_getaffinity", "sigaltstack"}));
}

// The shipped builders add the sanitizer runtime's calls only in a sanitized build: an
// unsanitized one allows no prlimit64 that sets a limit.
TEST(SyscallPolicyGroups, TheSanitizerGroupIsShippedOnlyWhenSanitized) {
  int sanitizer_rules = 0;
  for (const SyscallPolicy::GroupRule& rule :
       SyscallPolicy::GroupRules(SyscallGroup::kSanitizerRuntime)) {
    sanitizer_rules += rule.name == "prlimit64" && rule.all_of.size() == 2;
  }
  EXPECT_EQ(sanitizer_rules, 1);
  absl::StatusOr<SyscallPolicy> shipped = SyscallPolicy::ProgramDefault().Build();
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  absl::StatusOr<SyscallPolicy> with_group =
      SyscallPolicy::ProgramDefault().AllowGroup(SyscallGroup::kSanitizerRuntime).Build();
  ASSERT_TRUE(with_group.ok()) << with_group.status();
  EXPECT_EQ(shipped->program().size() == with_group->program().size(), kSanitizedBuild);
}

TEST(SyscallPolicyRedirection, OnlyPoliciesWithTheGroupRedirect) {
  absl::StatusOr<SyscallPolicy> plain = SyscallPolicy::BrokeredParser().Build();
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->redirection().has_value());
  for (Redirection mode : {Redirection::kTrap, Redirection::kUserNotification}) {
    absl::StatusOr<SyscallPolicy> redirected = SyscallPolicy::ProgramDefault().Build(mode);
    ASSERT_TRUE(redirected.ok()) << redirected.status();
    EXPECT_EQ(redirected->redirection(), mode);
  }
}

TEST(SyscallPolicyRedirection, ARedirectOverridesAGroupsAllowButNotAnExplicitOne) {
  // kSignals allows rt_sigprocmask; the redirection group's redirect of it wins.
  EXPECT_TRUE(SyscallPolicy::RedirectedParser().Build().ok());
  // An explicit allow of a call the group redirects conflicts with the redirect.
  SyscallPolicy::Builder explicit_mask;
  explicit_mask.Allow("rt_sigprocmask").AllowGroup(SyscallGroup::kFileRedirection);
  const absl::Status status = explicit_mask.Build().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "syscall rt_sigprocmask: conflicting actions allow and redirect");
}

// A syscall that names a file is never allowed straight through, with or without the group that
// redirects it, conditionally or not: the kernel would resolve its path without the file policy.
TEST(SyscallPolicyRedirection, AnAllowOfAFileSyscallIsRefused) {
  for (bool with_group : {false, true}) {
    for (const char* name : {"openat", "open", "stat", "chown", "utimensat", "mknod", "openat2"}) {
      SyscallPolicy::Builder builder;
      builder.Allow(name);
      if (with_group) builder.AllowGroup(SyscallGroup::kFileRedirection);
      const absl::Status status = builder.Build().status();
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
      EXPECT_EQ(status.message(),
                absl::StrCat("syscall ", name,
                             " names a file: it is never allowed straight through; the broker "
                             "answers it under the file rules (allow group file-redirection)"))
          << name;
    }
  }
  // Conditions do not make it safe.
  SyscallPolicy::Builder conditional;
  conditional.Allow("openat", {ArgCondition{2, ArgCondition::Compare::kEq, O_RDONLY}});
  EXPECT_EQ(conditional.Build().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(conditional.Build().status().message(),
                               "syscall openat names a file: it is never allowed straight through"))
      << conditional.Build().status();
  // The refused ones say so.
  SyscallPolicy::Builder refused;
  refused.Allow("setxattr");
  const absl::Status status = refused.Build().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "syscall setxattr names a file: it is never allowed straight through; the broker "
            "answers it under the file rules (allow group file-redirection), which refuses it");
}

// Forks a child that installs `policy`'s filter, with no handler and no listener, runs `body`
// and exits with its result; returns the wait status. Launcher-free, so that it shows what the
// filter alone does with a redirect.
int StatusUnderFilterAlone(const SyscallPolicy& policy, const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    sock_fprog program = policy.fprog();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) {
      _exit(100);
    }
    _exit(body());
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

// Without a handler a trapped redirect kills the child by SIGSYS: the call never runs.
TEST(SyscallPolicyRedirection, TrapModeTrapsTheFileCallsAndTheSignalMask) {
  absl::StatusOr<SyscallPolicy> policy = SyscallPolicy::RedirectedParser().Build();
  ASSERT_TRUE(policy.ok()) << policy.status();
  for (long nr : {long{SYS_openat}, long{SYS_getcwd}, long{SYS_rt_sigprocmask}}) {
    const int status = StatusUnderFilterAlone(*policy, [nr] {
      char buffer[64];
      syscall(nr, AT_FDCWD, buffer, 0, 0);
      return 0;
    });
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) << nr << ": " << status;
  }
}

// Shared libraries map executable but never writable; anonymous memory stays non-executable.
TEST(SyscallPolicyGroups, ProgramStartupMapsFilesExecutableOnly) {
  SyscallPolicy::Builder builder;
  builder.AllowGroup(SyscallGroup::kMemoryWithoutExec)
      .AllowGroup(SyscallGroup::kProgramStartup)
      .SetDefaultAction(DefaultAction::Errno(kDenied));
  absl::StatusOr<SyscallPolicy> policy = builder.Build();
  ASSERT_TRUE(policy.ok()) << policy.status();
  const int file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(file, 0);
  SharedInts r(5);
  const int status = StatusUnderFilterAlone(*policy, [&] {
    auto rc = [](void* p) { return p == MAP_FAILED ? errno : 0; };
    r[0] = rc(mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, file, 0));
    r[1] = rc(mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE, file, 0));
    r[2] = rc(mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    r[3] = static_cast<int>(syscall(SYS_prlimit64, 0, RLIMIT_STACK, nullptr, nullptr)) == 0 ? 0
                                                                                            : errno;
    const rlimit limit = {1, 1};
    r[4] = syscall(SYS_prlimit64, 0, RLIMIT_CORE, &limit, nullptr) == 0 ? 0 : errno;
    return 0;
  });
  close(file);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(r[0], 0);
  EXPECT_EQ(r[1], kDenied);
  EXPECT_EQ(r[2], kDenied);
  EXPECT_EQ(r[3], 0);
  EXPECT_EQ(r[4], kDenied);
}

// In notification mode a redirect is a user notification, which fails with ENOSYS when no
// listener exists; rt_sigprocmask is plainly allowed there.
TEST(SyscallPolicyRedirection, NotificationModeNotifiesTheFileCallsOnly) {
  absl::StatusOr<SyscallPolicy> policy =
      SyscallPolicy::RedirectedParser().Build(Redirection::kUserNotification);
  ASSERT_TRUE(policy.ok()) << policy.status();
  const int status = StatusUnderFilterAlone(*policy, [] {
    sigset_t set;
    sigemptyset(&set);
    if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return 1;
    char buffer[64];
    if (syscall(SYS_getcwd, buffer, sizeof(buffer)) != -1 || errno != ENOSYS) return 2;
    if (syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY) != -1 || errno != ENOSYS) return 3;
    return 0;
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// Each group alone, with every other call denied with kDenied: a spot check of members,
// conditions and clone3's ENOSYS.
TEST(SyscallPolicyGroups, KernelAllowsTheMembers) {
  SharedInts r(32);
  SyscallPolicy::Builder builder;
  for (SyscallGroup g :
       {SyscallGroup::kBasicIo, SyscallGroup::kMemoryWithoutExec, SyscallGroup::kTime,
        SyscallGroup::kSignals, SyscallGroup::kThreads, SyscallGroup::kExit,
        SyscallGroup::kIdentity, SyscallGroup::kRandom, SyscallGroup::kBrokerChannel}) {
    builder.AllowGroup(g);
  }
  builder.SetDefaultAction(DefaultAction::Errno(kDenied));
  const SandboxResult result = RunUnder(builder, [&r] {
    auto rc = [](long v) { return v >= 0 ? 0 : errno; };
    char byte;
    r[0] = rc(syscall(SYS_read, -1, &byte, 1));      // kBasicIo: EBADF
    r[1] = rc(syscall(SYS_lseek, -1, 0, SEEK_SET));  // EBADF
    r[2] = rc(syscall(SYS_fcntl, -1, F_GETFD));      // EBADF
    void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    r[3] = page == MAP_FAILED ? errno : 0;  // kMemoryWithoutExec
    r[4] = rc(syscall(SYS_mprotect, page, 4096, PROT_READ));
    r[5] = rc(syscall(SYS_mprotect, page, 4096, PROT_READ | PROT_EXEC));  // denied
    r[6] = rc(syscall(SYS_mmap, nullptr, 4096, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    r[7] = rc(syscall(SYS_munmap, page, 4096));
    timespec ts = {};
    r[8] = rc(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts));  // kTime
    const timespec no_time = {};
    r[9] = rc(syscall(SYS_nanosleep, &no_time, nullptr));
    struct sigaction old = {};
    r[10] = rc(syscall(SYS_rt_sigaction, SIGUSR1, nullptr, &old, 8));  // kSignals
    r[11] = rc(syscall(SYS_rt_sigaction, SIGSYS, nullptr, &old, 8));   // denied
    r[12] = rc(syscall(SYS_rt_sigprocmask, SIG_BLOCK, nullptr, &old.sa_mask, 8));
    r[13] = rc(syscall(SYS_gettid));  // kThreads
    r[14] = rc(syscall(SYS_sched_yield));
    int futex_word = 0;
    r[15] = rc(syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0));
    r[16] = rc(syscall(SYS_clone3, nullptr, 0));  // ENOSYS
    // CLONE_THREAD alone is allowed and the kernel refuses it (EINVAL: no CLONE_SIGHAND); with
    // a namespace flag the filter refuses it first.
    r[17] = rc(syscall(SYS_clone, CLONE_THREAD, nullptr, nullptr, nullptr, 0));
    r[18] = rc(syscall(SYS_clone, CLONE_THREAD | CLONE_NEWUSER, nullptr, nullptr, nullptr, 0));
    r[19] = rc(syscall(SYS_getpid));  // kIdentity
    r[20] = rc(syscall(SYS_getegid));
    r[21] = rc(syscall(SYS_getrandom, &byte, 1, 0));                 // kRandom
    r[22] = rc(syscall(SYS_close, -1));                              // kBrokerChannel: EBADF
    r[23] = rc(syscall(SYS_sendmsg, -1, nullptr, 0));                // EBADF
    r[24] = rc(syscall(SYS_getsid, 0));                              // in no group: denied
    r[25] = rc(syscall(SYS_newfstatat, AT_FDCWD, "/", nullptr, 0));  // not in a group
    // The kernel reads only the low 32 bits of the signal number: SIGSYS with a high bit set
    // must not pass for another signal.
    r[26] = rc(syscall(SYS_rt_sigaction, (uint64_t{1} << 32) | SIGSYS, nullptr, &old, 8));
    r[27] = rc(syscall(SYS_rt_sigaction, 64, nullptr, &old, 8));
    r[28] = rc(syscall(SYS_rt_sigaction, 40, nullptr, &old, 8));
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.ToString();
  const std::vector<int> expected = {EBADF,   EBADF,   EBADF,   0,       0, kDenied, kDenied, 0,
                                     0,       0,       0,       kDenied, 0, 0,       0,       0,
                                     ENOSYS,  EINVAL,  kDenied, 0,       0, 0,       EBADF,   EBADF,
                                     kDenied, kDenied, kDenied, 0,       0};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r[i], expected[i]) << "call #" << i << ": " << strerror(r[i]);
  }
}

// ---- Kernel agreement: argument conditions ----------------------------------------------------

struct Case {
  const char* what;
  ArgCondition condition;
  std::vector<uint64_t> allowed;
  std::vector<uint64_t> denied;
};

std::vector<Case> Cases() {
  return {
      {"Eq", Arg(1).Eq(0x100000001), {0x100000001}, {1, 0x200000001, 0x100000000}},
      {"Ne", Arg(5).Ne(0x100000001), {1, 0x200000001, 0}, {0x100000001}},
      {"Lt", Arg(0).Lt(0x100000005), {5, 0x100000004, 0xffffffff}, {0x100000005, 0x200000001}},
      {"Le", Arg(2).Le(0x100000005), {0x100000005, 4, 0}, {0x100000006, 0x200000000}},
      {"Gt",
       Arg(3).Gt(0x100000005),
       {0x100000006, 0x200000000, ~uint64_t{0}},
       {0x100000005, 6, 0xffffffff}},
      {"Ge", Arg(4).Ge(0x100000000), {0x100000000, 0x100000001}, {0xffffffff, 0}},
      {"MaskedEq",
       Arg(1).MaskedEq(0xff00000000, 0x1200000000),
       {0x12abcdef01, 0x1200000000, 0xff12ffffffff},
       {0x13abcdef01, 0x12, 0}},
      {"In",
       Arg(1).In({0x100000001, 0x300000000, 7}),
       {0x100000001, 0x300000000, 7},
       {1, 0x300000001, 8, 0x700000000}},
  };
}

// Under an errno default, one child tries every value: allowed ones run, the others fail with
// the default's errno.
TEST(SyscallPolicyKernel, ConditionsCompareAll64Bits) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.what);
    SyscallPolicy::Builder builder;
    builder.Allow("getppid", {c.condition}).SetDefaultAction(DefaultAction::Errno(kDenied));
    SharedInts r(16);
    const int index = c.condition.index;
    const SandboxResult result = RunUnder(builder, [&] {
      size_t i = 0;
      for (uint64_t v : c.allowed) r[i++] = CallGetppid(index, v);
      for (uint64_t v : c.denied) r[i++] = CallGetppid(index, v);
      return 0;
    });
    ASSERT_TRUE(result.ok()) << result.ToString();
    size_t i = 0;
    for (uint64_t v : c.allowed) EXPECT_EQ(r[i++], 1) << std::hex << "0x" << v;
    for (uint64_t v : c.denied) EXPECT_EQ(r[i++], -kDenied) << std::hex << "0x" << v;
  }
}

// Under the default kKillAndReport, a value the condition refuses is a reported violation.
TEST(SyscallPolicyKernel, RefusedValueIsAReportedViolation) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.what);
    SyscallPolicy::Builder builder;
    builder.Allow("getppid", {c.condition});
    SharedInts r(1);
    const int index = c.condition.index;
    const uint64_t allowed = c.allowed.front();
    const uint64_t denied = c.denied.front();
    const SandboxResult result = RunUnder(builder, [&] {
      r[0] = CallGetppid(index, allowed);
      CallGetppid(index, denied);
      return 0;
    });
    EXPECT_EQ(r[0], 1);
    ASSERT_EQ(result.outcome, SandboxResult::Outcome::kViolation) << result.ToString();
    EXPECT_EQ(result.violation->syscall_name, "getppid");
    EXPECT_EQ(result.violation->args[index], denied);
  }
}

TEST(SyscallPolicyKernel, InCombinesWithTheOtherConditions) {
  SyscallPolicy::Builder builder;
  builder.Allow("getppid", {Arg(0).In({1, 0x100000002}), Arg(1).Eq(9), Arg(2).In({3, 4})})
      .SetDefaultAction(DefaultAction::Errno(kDenied));
  SharedInts r(8);
  const SandboxResult result = RunUnder(builder, [&] {
    auto call = [](uint64_t a, uint64_t b, uint64_t c) {
      return syscall(SYS_getppid, a, b, c) >= 0 ? 1 : -errno;
    };
    r[0] = call(1, 9, 3);
    r[1] = call(0x100000002, 9, 4);
    r[2] = call(1, 8, 3);            // arg 1 fails
    r[3] = call(2, 9, 3);            // arg 0 outside its set
    r[4] = call(0x100000002, 9, 5);  // arg 2 outside its set
    r[5] = call(2, 9, 3 + (uint64_t{1} << 32));
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.ToString();
  EXPECT_EQ(r[0], 1);
  EXPECT_EQ(r[1], 1);
  for (int i = 2; i < 6; ++i) EXPECT_EQ(r[i], -kDenied) << i;
}

// The brief's example on a call whose arguments mean something: lseek to 0x100000001 runs,
// lseek to 1 (the same low 32 bits) is a violation.
TEST(SyscallPolicyKernel, LseekOffsetComparesOnAll64Bits) {
  SyscallPolicy::Builder builder;
  builder.Allow("memfd_create").Allow("lseek", {Arg(1).Eq(0x100000001)});
  SharedInts r(2);
  const SandboxResult result = RunUnder(builder, [&] {
    const int fd = static_cast<int>(syscall(SYS_memfd_create, "sbox-test", 0));
    r[0] = static_cast<int>(lseek(fd, 0x100000001, SEEK_SET) == 0x100000001);
    lseek(fd, 1, SEEK_SET);
    r[1] = 1;  // never reached
    return 0;
  });
  EXPECT_EQ(r[0], 1);
  EXPECT_EQ(r[1], SharedInts::kUnset);
  ASSERT_EQ(result.outcome, SandboxResult::Outcome::kViolation) << result.ToString();
  EXPECT_EQ(result.violation->syscall_name, "lseek");
  EXPECT_EQ(result.violation->args[1], 1u);
}

// ---- Kernel agreement: actions ----------------------------------------------------------------

TEST(SyscallPolicyKernel, ReturnErrnoIsWhatTheChildSees) {
  SharedInts r(2);
  const SandboxResult result = RunUnder(
      SyscallPolicy::Builder().ReturnErrno("getppid", EXDEV).ReturnErrno("kill", 4094), [&] {
        r[0] = CallGetppid(0, 0);
        r[1] = syscall(SYS_kill, 1, 0) == -1 ? errno : 0;
        return 0;
      });
  ASSERT_TRUE(result.ok()) << result.ToString();
  EXPECT_EQ(r[0], -EXDEV);
  EXPECT_EQ(r[1], 4094);
}

TEST(SyscallPolicyKernel, TrapKillsWithSigsys) {
  SharedInts r(2);
  const SandboxResult result = RunUnder(SyscallPolicy::Builder().Trap("getppid"), [&] {
    r[0] = 1;
    CallGetppid(0, 0);
    r[1] = 1;  // never reached
    return 0;
  });
  EXPECT_EQ(r[0], 1);
  EXPECT_EQ(r[1], SharedInts::kUnset);
  EXPECT_EQ(result.outcome, SandboxResult::Outcome::kSignaled) << result.ToString();
  EXPECT_EQ(result.signal, SIGSYS);
  EXPECT_FALSE(result.violation.has_value());
}

SandboxResult RunGetppidUnderDefault(DefaultAction action, SharedInts& r) {
  return RunUnder(SyscallPolicy::Builder().SetDefaultAction(action), [&r] {
    r[0] = 1;
    r[1] = CallGetppid(0, 0);
    return 0;
  });
}

TEST(SyscallPolicyKernel, DefaultKillAndReportIsAViolation) {
  SharedInts r(2);
  const SandboxResult result = RunGetppidUnderDefault(DefaultAction(), r);
  EXPECT_EQ(r[0], 1);
  EXPECT_EQ(r[1], SharedInts::kUnset);
  ASSERT_EQ(result.outcome, SandboxResult::Outcome::kViolation) << result.ToString();
  EXPECT_EQ(result.violation->syscall_name, "getppid");
  EXPECT_EQ(result.signal, SIGKILL);
}

TEST(SyscallPolicyKernel, DefaultKillProcessKillsWithoutReport) {
  SharedInts r(2);
  const SandboxResult result = RunGetppidUnderDefault(DefaultAction::kKillProcess, r);
  EXPECT_EQ(r[0], 1);
  EXPECT_EQ(r[1], SharedInts::kUnset);
  EXPECT_EQ(result.outcome, SandboxResult::Outcome::kSignaled) << result.ToString();
  EXPECT_EQ(result.signal, SIGSYS);
  EXPECT_FALSE(result.violation.has_value());
}

TEST(SyscallPolicyKernel, DefaultTrapKillsWithSigsys) {
  SharedInts r(2);
  const SandboxResult result = RunGetppidUnderDefault(DefaultAction::kTrap, r);
  EXPECT_EQ(r[0], 1);
  EXPECT_EQ(r[1], SharedInts::kUnset);
  EXPECT_EQ(result.outcome, SandboxResult::Outcome::kSignaled) << result.ToString();
  EXPECT_EQ(result.signal, SIGSYS);
  EXPECT_FALSE(result.violation.has_value());
}

TEST(SyscallPolicyKernel, DefaultErrnoFailsTheCallAndTheChildGoesOn) {
  SharedInts r(2);
  const SandboxResult result = RunGetppidUnderDefault(DefaultAction::Errno(EPERM), r);
  ASSERT_TRUE(result.ok()) << result.ToString();
  EXPECT_EQ(r[1], -EPERM);
}

// The launcher's own set-up and exit live with every default: a clean exit stays clean.
TEST(SyscallPolicyKernel, EveryDefaultRunsACleanSandboxee) {
  for (DefaultAction action :
       {DefaultAction(DefaultAction::kKillAndReport), DefaultAction(DefaultAction::kKillProcess),
        DefaultAction(DefaultAction::kTrap), DefaultAction::Errno(EPERM)}) {
    SCOPED_TRACE(action.kind);
    const SandboxResult result =
        RunUnder(SyscallPolicy::Builder().SetDefaultAction(action), [] { return 7; });
    EXPECT_EQ(result.outcome, SandboxResult::Outcome::kExited) << result.ToString();
    EXPECT_EQ(result.exit_code, 7);
  }
}

TEST(SyscallPolicyKernel, BrokeredParserErrnoAnswers) {
  SharedInts r(5);
  const SandboxResult result = RunUnder(SyscallPolicy::BrokeredParser(), [&r] {
    auto err = [](long v) { return v == -1 ? errno : 0; };
    r[0] = err(syscall(SYS_newfstatat, AT_FDCWD, "/", nullptr, 0));
    r[1] = err(syscall(SYS_statx, AT_FDCWD, "/", 0, 0, nullptr));
    r[2] = err(syscall(SYS_ioctl, 0, 0));
    r[3] = err(syscall(SYS_chdir, "/"));
    r[4] = err(syscall(SYS_fchdir, 0));
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.ToString();
  EXPECT_EQ(r[0], ENOSYS);
  EXPECT_EQ(r[1], ENOSYS);
  EXPECT_EQ(r[2], ENOTTY);
  EXPECT_EQ(r[3], EPERM);
  EXPECT_EQ(r[4], EPERM);
}

}  // namespace
}  // namespace sbox
