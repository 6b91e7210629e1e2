#include "broker/syscall_policy.h"

#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "broker/filter_compiler.h"
#include "broker/sandbox_result.h"
#include "broker/syscall_reach.h"
#include "proto/file_syscalls.h"

namespace sbox {
namespace {

// libc reads only -4095..-1 as an error, and 4095 is the kernel's MAX_ERRNO, which some code
// reads as "no error" (libseccomp 2.5 refuses it too): 4094 is the largest errno a filter
// answers with.
bool ValidErrno(int error) { return error >= 1 && error <= 4094; }

// An ArgCondition's fields, to compile identical rules once.
using ConditionKey =
    std::tuple<int, ArgCondition::Compare, uint64_t, uint64_t, std::vector<uint64_t>>;

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

// Open flags that make an open more than a read (Builder::FastReads). O_TMPFILE is
// __O_TMPFILE | O_DIRECTORY: the first bit alone says it.
constexpr uint64_t kNotReadOnly =
    O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_PATH | (O_TMPFILE & ~O_DIRECTORY);

// One syscall of a group and the conditions under which the group allows it; or the errno it
// answers instead; or that it is redirected to the broker.
struct GroupEntry {
  const char* name;
  std::vector<ArgCondition> all_of = {};
  int error = 0;
  bool redirected = false;
  bool own_process = false;
};

GroupEntry Redirected(const char* name) { return GroupEntry{name, {}, 0, true}; }

// An own-process call (broker/own_process_calls.h): the broker's under kUserNotification;
// under kTrap, `trap_error` when not 0, else not in the filter.
GroupEntry OwnProcess(const char* name, int trap_error = 0) {
  return GroupEntry{name, {}, trap_error, true, true};
}

// The members a group allows only as far as they stay inside the sandbox: the reach table's
// conditions (broker/syscall_reach.h), one entry per alternative.
std::vector<GroupEntry> KeptInside(const char* name) {
  std::vector<GroupEntry> entries;
  for (const std::vector<ArgCondition>& all_of : FindReach(name)->inside) {
    entries.push_back(GroupEntry{name, all_of});
  }
  return entries;
}

// Every path-taking syscall (proto/file_syscalls.h): redirected to the broker, or its errno.
std::vector<GroupEntry> FileSyscallEntries() {
  std::vector<GroupEntry> entries;
  for (const proto::FileSyscall& call : proto::kFileSyscalls) {
    entries.push_back(call.refused_with == 0 ? Redirected(call.name)
                                             : GroupEntry{call.name, {}, call.refused_with});
  }
  return entries;
}

std::vector<GroupEntry> Concat(std::initializer_list<std::vector<GroupEntry>> parts) {
  std::vector<GroupEntry> all;
  for (const std::vector<GroupEntry>& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

// The single source of the groups: AllowGroup and GroupMembers both read it, and the header
// documents it member for member.
const std::vector<GroupEntry>& GroupEntries(SyscallGroup group) {
  static const auto* const kGroups = new std::map<SyscallGroup, std::vector<GroupEntry>>{
      {SyscallGroup::kBasicIo, Concat({{{"read"},
                                        {"readv"},
                                        {"pread64"},
                                        {"preadv"},
                                        {"preadv2"},
                                        {"write"},
                                        {"writev"},
                                        {"pwrite64"},
                                        {"pwritev"},
                                        {"pwritev2"},
                                        {"lseek"},
                                        {"fstat"},
                                        {"fstatfs"},
                                        {"getdents64"},
                                        {"dup"},
                                        {"dup2"},
                                        {"dup3"},
                                        // Closes (or marks close-on-exec) its own descriptors,
                                        // as a program does before it execs another.
                                        {"close_range"}},
                                       KeptInside("fcntl"),
                                       {{"ftruncate"},
                                        {"fsync"},
                                        {"fdatasync"},
                                        {"poll"},
                                        {"ppoll"},
                                        {"select"},
                                        {"pselect6"},
                                        {"epoll_create1"},
                                        {"epoll_ctl"},
                                        {"epoll_wait"},
                                        {"epoll_pwait"},
                                        {"pipe2"},
                                        {"eventfd2"}}})},
      {SyscallGroup::kMemoryWithoutExec,
       Concat({{{"brk"},
                {"munmap"},
                {"mremap"},
                {"mincore"},
                // Its own NUMA policy and protection keys.
                {"get_mempolicy"},
                {"set_mempolicy"},
                {"pkey_alloc"},
                {"pkey_free"},
                // Pinning its own pages, up to RLIMIT_MEMLOCK (libraries keep keys off swap).
                {"mlock"},
                {"mlock2"},
                {"munlock"}},
               KeptInside("madvise"),
               {{"mmap", {Arg(2).MaskedEq(PROT_EXEC, 0)}},
                {"mprotect", {Arg(2).MaskedEq(PROT_EXEC, 0)}},
                {"pkey_mprotect", {Arg(2).MaskedEq(PROT_EXEC, 0)}}}})},
      {SyscallGroup::kTime, Concat({KeptInside("clock_gettime"),
                                    KeptInside("clock_getres"),
                                    {{"gettimeofday"}, {"time"}, {"nanosleep"}},
                                    KeptInside("clock_nanosleep")})},
      // glibc installs its SIGCANCEL and SIGSETXID handlers when a process starts its first
      // thread. SIGSYS stays sbox's: the filter's trap signal is not the sandboxee's to take.
      {SyscallGroup::kSignals,
       {{"rt_sigaction", {Arg(0).Lt(SIGSYS)}},
        {"rt_sigaction", {Arg(0).MaskedEq(~uint64_t{31}, 32)}},  // 32..63
        {"rt_sigaction", {Arg(0).Eq(64)}},
        {"rt_sigprocmask"},
        {"rt_sigreturn"},
        {"sigaltstack"},
        // Waiting for its own signals: a shell's `wait`, sigwait(3).
        {"rt_sigsuspend"},
        {"rt_sigpending"},
        {"rt_sigtimedwait"},
        {"pause"},
        {"restart_syscall"}}},
      {SyscallGroup::kThreads,
       Concat({{{"clone", {Arg(0).MaskedEq(CLONE_THREAD | kNamespaceFlags, CLONE_THREAD)}}},
               KeptInside("futex"),
               {{"set_robust_list"}},
               KeptInside("get_robust_list"),
               {{"rseq"}, {"sched_yield"}, {"gettid"}, {"membarrier"}},
               KeptInside("sched_getaffinity"),
               KeptInside("prctl"),
               {// clone3 passes its flags in memory the filter cannot read; ENOSYS makes glibc
                // use clone.
                {"clone3", {}, ENOSYS}}})},
      {SyscallGroup::kExit, {{"exit"}, {"exit_group"}}},
      {SyscallGroup::kIdentity,
       Concat({{{"getpid"},
                {"getuid"},
                {"geteuid"},
                {"getgid"},
                {"getegid"},
                {"uname"},
                {"sysinfo"},
                {"getgroups"},
                // The process group it runs in, as getpgid(0) would tell, its parent's pid (the
                // launcher's: no call of any group can act on it), and its CPU times.
                {"getpgrp"},
                {"getppid"},
                {"times"},
                // Only the broker creates files: the mask is the program's to read back.
                {"umask"},
                // Its own, its children's or the thread's: the kernel knows no other.
                {"getrusage"}},
               KeptInside("getpriority")})},
      {SyscallGroup::kRandom, {{"getrandom"}}},
      {SyscallGroup::kBrokerChannel, {{"sendmsg"}, {"recvmsg"}, {"close"}}},
      {SyscallGroup::kFileRedirection,
       Concat({FileSyscallEntries(),
               {// Under Redirection::kTrap the handler filters the mask; see Compile.
                Redirected("rt_sigprocmask"),
                {"rt_sigaction", {Arg(0).Eq(SIGSYS), Arg(1).Eq(0)}},
                // The SIGSYS handler learns a socket's family and type before brokering its
                // connect. A connection-oriented AF_UNIX socket reaches nothing until then
                // (glibc's nscd lookups make one).
                {"getsockopt", {Arg(1).Eq(SOL_SOCKET), Arg(2).In({SO_TYPE, SO_DOMAIN})}}},
               KeptInside("socket")})},
      // Any mapping may be executable, anonymous and writable ones too: what a JIT compiler
      // needs. Nothing outside is reached; a bug in the program becomes easier to exploit.
      {SyscallGroup::kExecutableMemory, {{"mmap"}, {"mprotect"}, {"pkey_mprotect"}}},
      // New processes under the same filter, broker and Landlock domain. CLONE_PARENT would
      // give the launcher a child it never started.
      {SyscallGroup::kProcesses,
       {{"clone", {Arg(0).MaskedEq(CLONE_THREAD | CLONE_PARENT | kNamespaceFlags, 0)}},
        {"fork"},
        {"vfork"},
        {"wait4"},
        {"waitid"}}},
      {SyscallGroup::kOwnProcess,
       {OwnProcess("ioctl", ENOTTY), OwnProcess("sched_getaffinity"), OwnProcess("sched_getparam"),
        OwnProcess("sched_getscheduler"), OwnProcess("prlimit64"), OwnProcess("getpriority"),
        OwnProcess("kill"), OwnProcess("tgkill"), OwnProcess("tkill"), OwnProcess("capget"),
        OwnProcess("fcntl"), OwnProcess("flock")}},
      {SyscallGroup::kProgramStartup,
       {{"arch_prctl", {Arg(0).In({ARCH_SET_FS, ARCH_GET_FS})}},
        {"set_tid_address"},
        // Its own limits (pid 0: the reach table's condition), read only.
        {"prlimit64", {Arg(0).Eq(0), Arg(2).Eq(0)}},
        {"mmap", {Arg(2).MaskedEq(PROT_WRITE, 0), Arg(3).MaskedEq(MAP_ANONYMOUS, 0)}}}},
      // Its own core-dump limit, whose hard limit the set-up made 0; its own affinity; its own
      // signal stack.
      {SyscallGroup::kSanitizerRuntime,
       {{"prlimit64", {Arg(0).Eq(0), Arg(1).Eq(RLIMIT_CORE)}},
        {"sched_getaffinity", {Arg(0).Eq(0)}},
        {"sigaltstack"}}},
  };
  return kGroups->at(group);
}

// The syscalls a line of the policy's own (not a group's) names.
template <typename Rules>
std::set<std::string> NamedOutsideGroups(const Rules& rules) {
  std::set<std::string> names;
  for (const auto& rule : rules) {
    if (!rule.from_group) names.insert(rule.name);
  }
  return names;
}

// "allow", "trap", "redirect" or "errno N".
std::string ActionText(std::string_view kind, int error) {
  if (kind == "errno") return absl::StrFormat("errno %d", error);
  return std::string(kind);
}

}  // namespace

const std::vector<SyscallGroup>& SyscallPolicy::AllGroups() {
  static const auto* const kGroups = new std::vector<SyscallGroup>{
      SyscallGroup::kBasicIo,
      SyscallGroup::kMemoryWithoutExec,
      SyscallGroup::kTime,
      SyscallGroup::kSignals,
      SyscallGroup::kThreads,
      SyscallGroup::kExit,
      SyscallGroup::kIdentity,
      SyscallGroup::kRandom,
      SyscallGroup::kBrokerChannel,
      SyscallGroup::kFileRedirection,
      SyscallGroup::kProgramStartup,
      SyscallGroup::kOwnProcess,
      SyscallGroup::kExecutableMemory,
      SyscallGroup::kProcesses,
      SyscallGroup::kSanitizerRuntime,
  };
  return *kGroups;
}

const std::vector<std::string>& SyscallPolicy::RuntimeSyscalls() {
  static const auto* const kRuntime = new std::vector<std::string>{
      "sendmsg", "recvmsg", "close", "exit", "exit_group", "rt_sigreturn",
  };
  return *kRuntime;
}

const std::vector<std::string>& SyscallPolicy::GroupMembers(SyscallGroup group) {
  static const auto* const kMembers = [] {
    auto* members = new std::map<SyscallGroup, std::vector<std::string>>;
    for (SyscallGroup g : AllGroups()) {
      std::vector<std::string>& names = (*members)[g];
      for (const GroupEntry& entry : GroupEntries(g)) {
        if (entry.error != 0 && !entry.own_process) continue;
        if (std::find(names.begin(), names.end(), entry.name) == names.end()) {
          names.push_back(entry.name);
        }
      }
    }
    return members;
  }();
  return kMembers->at(group);
}

SyscallPolicy::Builder& SyscallPolicy::Builder::Allow(std::string name) {
  rules_.push_back(Rule{std::move(name), Action::kAllow, 0, {}});
  return *this;
}

SyscallPolicy::Builder& SyscallPolicy::Builder::Allow(std::string name,
                                                      std::vector<ArgCondition> all_of) {
  rules_.push_back(Rule{std::move(name), Action::kAllow, 0, std::move(all_of)});
  return *this;
}

std::vector<SyscallPolicy::GroupRule> SyscallPolicy::GroupRules(SyscallGroup group) {
  std::vector<GroupRule> rules;
  for (const GroupEntry& entry : GroupEntries(group)) {
    rules.push_back({entry.name, entry.all_of, entry.error, entry.redirected, entry.own_process});
  }
  return rules;
}

const std::vector<std::string>& SyscallPolicy::RedirectedFileCalls() {
  static const auto* const kCalls = [] {
    auto* calls = new std::vector<std::string>;
    for (const GroupEntry& entry : GroupEntries(SyscallGroup::kFileRedirection)) {
      if (entry.redirected && std::string_view(entry.name) != "rt_sigprocmask") {
        calls->push_back(entry.name);
      }
    }
    return calls;
  }();
  return *kCalls;
}

SyscallPolicy::Builder& SyscallPolicy::Builder::AllowGroup(SyscallGroup group) {
  for (GroupRule& rule : GroupRules(group)) {
    Action action = Action::kAllow;
    if (rule.error != 0) action = Action::kErrno;
    if (rule.redirected) action = Action::kRedirect;
    rules_.push_back(Rule{std::move(rule.name), action, rule.error, std::move(rule.all_of), true,
                          rule.own_process});
  }
  return *this;
}

SyscallPolicy::Builder& SyscallPolicy::Builder::ReturnErrno(std::string name, int error) {
  rules_.push_back(Rule{std::move(name), Action::kErrno, error, {}});
  return *this;
}

SyscallPolicy::Builder& SyscallPolicy::Builder::Trap(std::string name) {
  rules_.push_back(Rule{std::move(name), Action::kTrap, 0, {}});
  return *this;
}

SyscallPolicy::Builder& SyscallPolicy::Builder::SetDefaultAction(DefaultAction action) {
  default_action_ = action;
  return *this;
}

std::set<int> SyscallPolicy::Builder::OwnProcessCalls(Redirection redirection) const {
  std::set<int> calls;
  if (redirection != Redirection::kUserNotification) return calls;
  const std::set<std::string> said_outside_groups = NamedOutsideGroups(rules_);
  for (const Rule& rule : rules_) {
    if (rule.own_process && said_outside_groups.count(rule.name) == 0) {
      calls.insert(SyscallNumber(rule.name));
    }
  }
  return calls;
}

SyscallPolicy::Builder& SyscallPolicy::Builder::FastReads() {
  fast_reads_ = true;
  return *this;
}

absl::StatusOr<SyscallPolicy> SyscallPolicy::Builder::Build(Redirection redirection) const {
  absl::StatusOr<std::vector<sock_filter>> program = Compile(-1, redirection);
  if (!program.ok()) return program.status();
  SyscallPolicy policy;
  policy.program_ = *std::move(program);
  policy.fast_reads_ = fast_reads_;
  policy.own_process_calls_ = OwnProcessCalls(redirection);
  if (std::any_of(rules_.begin(), rules_.end(), [redirection](const Rule& rule) {
        return rule.action == Action::kRedirect &&
               (!rule.own_process || redirection == Redirection::kUserNotification);
      })) {
    policy.redirection_ = redirection;
  }
  return policy;
}

absl::Status SyscallPolicy::Builder::ExportPfc(int fd, Redirection redirection) const {
  if (fd < 0) return absl::InvalidArgumentError("ExportPfc: no file descriptor");
  return Compile(fd, redirection).status();
}

absl::StatusOr<std::vector<sock_filter>> SyscallPolicy::Builder::Compile(
    int pfc_fd, Redirection redirection) const {
  if (fast_reads_ && redirection != Redirection::kUserNotification) {
    return absl::InvalidArgumentError(
        "fast reads need Redirection::kUserNotification: the kernel's working directory must "
        "follow the broker's");
  }
  uint32_t default_action = SECCOMP_RET_USER_NOTIF;
  switch (default_action_.kind) {
    case DefaultAction::kKillAndReport:
      default_action = SECCOMP_RET_USER_NOTIF;
      break;
    case DefaultAction::kKillProcess:
      default_action = SECCOMP_RET_KILL_PROCESS;
      break;
    case DefaultAction::kTrap:
      default_action = SECCOMP_RET_TRAP;
      break;
    case DefaultAction::kErrno:
      if (!ValidErrno(default_action_.error)) {
        return absl::InvalidArgumentError(
            absl::StrFormat("default action: errno %d is outside 1..4094", default_action_.error));
      }
      default_action = SECCOMP_RET_ERRNO | static_cast<uint32_t>(default_action_.error);
      break;
  }
  std::vector<Rule> rules;
  for (const std::string& name : RuntimeSyscalls()) {
    rules.push_back(Rule{name, Action::kAllow, 0, {}});
  }
  // An own-process call is the broker's, unless the policy says otherwise for it in a line of
  // its own (which wins over the group) or there is no broker to ask (kTrap: its errno, if it
  // has one, when nothing allows it).
  const std::set<std::string> said_outside_groups = NamedOutsideGroups(rules_);
  std::set<std::string> allowed;
  for (const Rule& rule : rules_) {
    if (rule.action == Action::kAllow) allowed.insert(rule.name);
  }
  for (Rule rule : rules_) {
    if (rule.own_process) {
      if (said_outside_groups.count(rule.name) != 0) continue;
      if (redirection == Redirection::kTrap) {
        if (rule.error == 0 || allowed.count(rule.name) != 0) continue;
        rule.action = Action::kErrno;
      } else {
        rule.error = 0;
      }
    }
    // Only a trapping handler can keep SIGSYS unblocked; a notification has no use for it.
    if (rule.action == Action::kRedirect && rule.name == "rt_sigprocmask" &&
        redirection == Redirection::kUserNotification) {
      rule.action = Action::kAllow;
    }
    rules.push_back(std::move(rule));
  }
  const auto kind = [](const Rule& rule) -> std::string_view {
    switch (rule.action) {
      case Action::kAllow:
        return "allow";
      case Action::kErrno:
        return "errno";
      case Action::kTrap:
        return "trap";
      case Action::kRedirect:
        return "redirect";
    }
    return "allow";
  };

  // Checks everything first, so that an error names the rule at fault. One action per
  // syscall: a mix (an errno rule beside a conditional allow) would depend on the rules'
  // order.
  std::map<int, const Rule*> action_of;
  std::set<int> allowed_unconditionally;
  std::set<int> redirected;
  for (const Rule& rule : rules) {
    const int nr = SyscallNumber(rule.name);
    if (nr < 0) {
      return absl::InvalidArgumentError(absl::StrFormat("unknown syscall \"%s\"", rule.name));
    }
    // A path is the broker's to judge: letting the kernel resolve it would bypass the file
    // policy. The call is redirected (group file-redirection) or answers an errno.
    if (rule.action == Action::kAllow && proto::FindFileSyscall(nr) != nullptr) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "syscall %s names a file: it is never allowed straight through; the broker answers "
          "it under the file rules (allow group file-redirection)%s",
          rule.name, proto::FindFileSyscall(nr)->refused_with != 0 ? ", which refuses it" : ""));
    }
    for (const ArgCondition& c : rule.all_of) {
      if (c.index < 0 || c.index > 5) {
        return absl::InvalidArgumentError(
            absl::StrFormat("syscall %s: argument index %d is outside 0..5", rule.name, c.index));
      }
      if (c.compare == ArgCondition::Compare::kIn && c.values.empty()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "syscall %s: argument %d: In needs at least one value", rule.name, c.index));
      }
    }
    if (rule.action == Action::kErrno && !ValidErrno(rule.error)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("syscall %s: errno %d is outside 1..4094", rule.name, rule.error));
    }
    if (rule.action == Action::kAllow && rule.all_of.empty()) allowed_unconditionally.insert(nr);
    if (rule.action == Action::kRedirect) redirected.insert(nr);
    auto [it, inserted] = action_of.emplace(nr, &rule);
    if (inserted || (it->second->action == rule.action && it->second->error == rule.error)) {
      continue;
    }
    // A redirect overrides a group's allow of the same call (kSignals' rt_sigprocmask).
    const Rule& first = *it->second;
    if (first.action == Action::kRedirect && rule.action == Action::kAllow && rule.from_group) {
      continue;
    }
    if (rule.action == Action::kRedirect && first.action == Action::kAllow && first.from_group) {
      it->second = &rule;
      continue;
    }
    return absl::InvalidArgumentError(
        absl::StrFormat("syscall %s: conflicting actions %s and %s", rule.name,
                        ActionText(kind(first), first.error), ActionText(kind(rule), rule.error)));
  }
  // A program's own execve is the launcher's; the broker lets that one through.
  if (redirection == Redirection::kUserNotification && !redirected.empty()) {
    for (const char* exec : {"execve", "execveat"}) {
      if (action_of.count(SyscallNumber(exec)) == 0) {
        rules.push_back(Rule{exec, Action::kRedirect, 0, {}});
      }
    }
  }

  // Identical rules (a group repeating a runtime syscall) are compiled once.
  FilterSpec spec{default_action, {}};
  std::set<std::tuple<int, uint32_t, std::vector<ConditionKey>>> added;
  for (const Rule& rule : rules) {
    const int nr = SyscallNumber(rule.name);
    uint32_t action = SECCOMP_RET_ALLOW;
    if (rule.action == Action::kErrno) {
      action = SECCOMP_RET_ERRNO | static_cast<uint32_t>(rule.error);
    }
    if (rule.action == Action::kTrap) action = SECCOMP_RET_TRAP;
    if (rule.action == Action::kRedirect) {
      action = redirection == Redirection::kTrap ? SECCOMP_RET_TRAP : SECCOMP_RET_USER_NOTIF;
    }
    if (rule.action == Action::kAllow && redirected.count(nr) != 0) continue;
    // Fast reads: a read-only open goes to the kernel, where the Landlock mirror of the file
    // policy decides it; any flag that writes, creates, truncates or makes an O_PATH or
    // O_TMPFILE descriptor still reaches the broker.
    if (fast_reads_ && action == SECCOMP_RET_USER_NOTIF && rule.action == Action::kRedirect &&
        rule.all_of.empty() && (nr == SYS_open || nr == SYS_openat)) {
      const int flags_arg = nr == SYS_open ? 1 : 2;
      spec.rules.push_back(
          FilterRule{nr, SECCOMP_RET_ALLOW, {Arg(flags_arg).MaskedEq(kNotReadOnly, 0)}});
      spec.rules.push_back(FilterRule{nr, SECCOMP_RET_USER_NOTIF});
      continue;
    }
    // Exiting the process would discard the notifications of calls other threads are making
    // at that moment: the listener sees exit_group first, reads every pending report, and then
    // lets it through (broker/violation_listener.h).
    if (action == SECCOMP_RET_ALLOW && nr == __NR_exit_group &&
        default_action == SECCOMP_RET_USER_NOTIF) {
      action = SECCOMP_RET_USER_NOTIF;
    }
    // The default gives a rule that repeats it anyway.
    if (action == default_action) continue;
    // An unconditional allow already covers every conditional one for the same syscall (a
    // group allowing fcntl, and a line allowing some of its commands).
    if (!rule.all_of.empty() && allowed_unconditionally.count(nr) != 0) continue;
    std::vector<ConditionKey> key;
    for (const ArgCondition& c : rule.all_of) {
      key.emplace_back(c.index, c.compare, c.value, c.mask, c.values);
    }
    if (!added.emplace(nr, action, std::move(key)).second) continue;
    spec.rules.push_back(FilterRule{nr, action, rule.all_of});
  }

  absl::StatusOr<std::vector<sock_filter>> program = CompileFilter(spec);
  if (!program.ok()) return program.status();
  if (pfc_fd >= 0) {
    const std::string text = FilterPseudoCode(spec);
    for (size_t done = 0; done < text.size();) {
      const ssize_t n = write(pfc_fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return absl::ErrnoToStatus(errno, "write of the filter's pseudo code");
      done += static_cast<size_t>(n);
    }
  }
  return program;
}

SyscallPolicy::Builder SyscallPolicy::BrokeredParser() {
  Builder builder;
  for (SyscallGroup group :
       {SyscallGroup::kBasicIo, SyscallGroup::kMemoryWithoutExec, SyscallGroup::kTime,
        SyscallGroup::kSignals, SyscallGroup::kThreads, SyscallGroup::kExit,
        SyscallGroup::kIdentity, SyscallGroup::kRandom, SyscallGroup::kBrokerChannel}) {
    builder.AllowGroup(group);
  }
  builder.ReturnErrno("newfstatat", ENOSYS);
  builder.ReturnErrno("statx", ENOSYS);
  builder.ReturnErrno("ioctl", ENOTTY);
  // The broker keeps the sandboxee's working directory (BrokerClient::Chdir); the kernel's
  // would be silently wrong for brokered relative paths.
  builder.ReturnErrno("chdir", EPERM);
  builder.ReturnErrno("fchdir", EPERM);
  return builder;
}

SyscallPolicy::Builder SyscallPolicy::RedirectedParser() {
  Builder builder;
  for (SyscallGroup group : {SyscallGroup::kBasicIo, SyscallGroup::kMemoryWithoutExec,
                             SyscallGroup::kTime, SyscallGroup::kSignals, SyscallGroup::kThreads,
                             SyscallGroup::kExit, SyscallGroup::kIdentity, SyscallGroup::kRandom,
                             SyscallGroup::kBrokerChannel, SyscallGroup::kFileRedirection}) {
    builder.AllowGroup(group);
  }
  builder.AllowGroup(SyscallGroup::kOwnProcess);
  if (kSanitizedBuild) builder.AllowGroup(SyscallGroup::kSanitizerRuntime);
  return builder;
}

SyscallPolicy::Builder SyscallPolicy::CallDefault() {
  Builder builder = RedirectedParser();
  // The reach table's condition (broker/syscall_reach.h): no huge pages.
  builder.Allow("memfd_create", FindReach("memfd_create")->inside.front());
  return builder;
}

SyscallPolicy::Builder SyscallPolicy::CallProgramDefault() {
  Builder builder = CallDefault();
  builder.AllowGroup(SyscallGroup::kProgramStartup);
  return builder;
}

SyscallPolicy::Builder SyscallPolicy::ProgramDefault() {
  Builder builder = RedirectedParser();
  builder.AllowGroup(SyscallGroup::kProgramStartup);
  return builder;
}

}  // namespace sbox
