#include "broker/syscall_policy.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "proto/unique_fd.h"

namespace sbox {
namespace {

scmp_compare ToScmp(ArgCondition::Compare compare) {
  switch (compare) {
    case ArgCondition::Compare::kEq:
      return SCMP_CMP_EQ;
    case ArgCondition::Compare::kNe:
      return SCMP_CMP_NE;
    case ArgCondition::Compare::kLt:
      return SCMP_CMP_LT;
    case ArgCondition::Compare::kLe:
      return SCMP_CMP_LE;
    case ArgCondition::Compare::kGt:
      return SCMP_CMP_GT;
    case ArgCondition::Compare::kGe:
      return SCMP_CMP_GE;
    case ArgCondition::Compare::kMaskedEq:
      return SCMP_CMP_MASKED_EQ;
    case ArgCondition::Compare::kIn:
      break;  // expanded into kEq rules by ExpandConditions
  }
  return SCMP_CMP_EQ;
}

// Reads the program libseccomp exported into a memfd.
absl::StatusOr<std::vector<sock_filter>> ExportProgram(scmp_filter_ctx ctx) {
  UniqueFd memfd(memfd_create("sbox-bpf", MFD_CLOEXEC));
  if (!memfd.valid()) return absl::ErrnoToStatus(errno, "memfd_create");
  if (const int rc = seccomp_export_bpf(ctx, memfd.get()); rc != 0) {
    return absl::ErrnoToStatus(-rc, "seccomp_export_bpf");
  }
  const off_t size = lseek(memfd.get(), 0, SEEK_END);
  if (size < 0) return absl::ErrnoToStatus(errno, "lseek on the exported filter");
  if (size % sizeof(sock_filter) != 0) {
    return absl::InternalError(absl::StrFormat("exported filter has %d bytes", size));
  }
  std::vector<sock_filter> program(static_cast<size_t>(size) / sizeof(sock_filter));
  if (pread(memfd.get(), program.data(), static_cast<size_t>(size), 0) != size) {
    return absl::ErrnoToStatus(errno, "pread of the exported filter");
  }
  return program;
}

// libc reads only -4095..-1 as an error, and libseccomp 2.5 refuses SCMP_ACT_ERRNO(4095)
// itself (EINVAL), so 4094 is the largest errno a filter can answer with.
bool ValidErrno(int error) { return error >= 1 && error <= 4094; }

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

// One syscall of a group and the conditions under which the group allows it.
struct GroupEntry {
  const char* name;
  std::vector<ArgCondition> all_of = {};
};

// The single source of the groups: AllowGroup and GroupMembers both read it, and the header
// documents it member for member.
const std::vector<GroupEntry>& GroupEntries(SyscallGroup group) {
  static const auto* const kGroups = new std::map<SyscallGroup, std::vector<GroupEntry>>{
      {SyscallGroup::kBasicIo,
       {{"read"},
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
        {"getdents64"},
        {"dup"},
        {"dup3"},
        {"fcntl"},
        {"ftruncate"},
        {"fsync"},
        {"fdatasync"}}},
      {SyscallGroup::kMemoryWithoutExec,
       {{"brk"},
        {"munmap"},
        {"mremap"},
        {"madvise"},
        {"mmap", {Arg(2).MaskedEq(PROT_EXEC, 0)}},
        {"mprotect", {Arg(2).MaskedEq(PROT_EXEC, 0)}}}},
      {SyscallGroup::kTime,
       {{"clock_gettime"},
        {"clock_getres"},
        {"gettimeofday"},
        {"time"},
        {"nanosleep"},
        {"clock_nanosleep"}}},
      // glibc installs its SIGCANCEL and SIGSETXID handlers when a process starts its first
      // thread. SIGSYS stays sbox's: the filter's trap signal is not the sandboxee's to take.
      {SyscallGroup::kSignals,
       {{"rt_sigaction", {Arg(0).Ne(SIGSYS)}},
        {"rt_sigprocmask"},
        {"rt_sigreturn"},
        {"sigaltstack"},
        {"restart_syscall"}}},
      {SyscallGroup::kThreads,
       {{"clone", {Arg(0).MaskedEq(CLONE_THREAD | kNamespaceFlags, CLONE_THREAD)}},
        {"futex"},
        {"set_robust_list"},
        {"get_robust_list"},
        {"rseq"},
        {"sched_yield"},
        {"gettid"}}},
      {SyscallGroup::kExit, {{"exit"}, {"exit_group"}}},
      {SyscallGroup::kIdentity, {{"getpid"}, {"getuid"}, {"geteuid"}, {"getgid"}, {"getegid"}}},
      {SyscallGroup::kRandom, {{"getrandom"}}},
      {SyscallGroup::kBrokerChannel, {{"sendmsg"}, {"recvmsg"}, {"close"}}},
  };
  return kGroups->at(group);
}

// The conditions of one rule with every In expanded: one list of comparisons per combination
// of In values (a single empty list for a rule without conditions).
std::vector<std::vector<scmp_arg_cmp>> ExpandConditions(const std::vector<ArgCondition>& all_of) {
  std::vector<std::vector<scmp_arg_cmp>> lists(1);
  for (const ArgCondition& c : all_of) {
    scmp_arg_cmp cmp = {};
    cmp.arg = static_cast<unsigned int>(c.index);
    if (c.compare != ArgCondition::Compare::kIn) {
      cmp.op = ToScmp(c.compare);
      if (c.compare == ArgCondition::Compare::kMaskedEq) {
        cmp.datum_a = c.mask;
        cmp.datum_b = c.value;
      } else {
        cmp.datum_a = c.value;
      }
      for (auto& list : lists) list.push_back(cmp);
      continue;
    }
    cmp.op = SCMP_CMP_EQ;
    std::vector<std::vector<scmp_arg_cmp>> expanded;
    for (const auto& list : lists) {
      for (uint64_t v : c.values) {
        cmp.datum_a = v;
        expanded.push_back(list);
        expanded.back().push_back(cmp);
      }
    }
    lists = std::move(expanded);
  }
  return lists;
}

std::string ActionText(bool allow, bool trap, int error) {
  if (allow) return "allow";
  if (trap) return "trap";
  return absl::StrFormat("errno %d", error);
}

}  // namespace

const std::vector<std::string>& SyscallPolicy::RuntimeSyscalls() {
  static const auto* const kRuntime = new std::vector<std::string>{
      "sendmsg", "recvmsg", "close", "exit", "exit_group", "rt_sigreturn",
  };
  return *kRuntime;
}

const std::vector<std::string>& SyscallPolicy::GroupMembers(SyscallGroup group) {
  static const auto* const kMembers = [] {
    auto* members = new std::map<SyscallGroup, std::vector<std::string>>;
    for (SyscallGroup g :
         {SyscallGroup::kBasicIo, SyscallGroup::kMemoryWithoutExec, SyscallGroup::kTime,
          SyscallGroup::kSignals, SyscallGroup::kThreads, SyscallGroup::kExit,
          SyscallGroup::kIdentity, SyscallGroup::kRandom, SyscallGroup::kBrokerChannel}) {
      for (const GroupEntry& entry : GroupEntries(g)) (*members)[g].push_back(entry.name);
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
  for (const GroupEntry& entry : GroupEntries(group)) rules.push_back({entry.name, entry.all_of});
  // clone3 passes its flags in memory the filter cannot read; ENOSYS makes glibc use clone.
  if (group == SyscallGroup::kThreads) rules.push_back({"clone3", {}, ENOSYS});
  return rules;
}

SyscallPolicy::Builder& SyscallPolicy::Builder::AllowGroup(SyscallGroup group) {
  for (GroupRule& rule : GroupRules(group)) {
    if (rule.error != 0) {
      ReturnErrno(std::move(rule.name), rule.error);
    } else {
      Allow(std::move(rule.name), std::move(rule.all_of));
    }
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

absl::StatusOr<SyscallPolicy> SyscallPolicy::Builder::Build() const {
  absl::StatusOr<std::vector<sock_filter>> program = Compile(-1);
  if (!program.ok()) return program.status();
  SyscallPolicy policy;
  policy.program_ = *std::move(program);
  return policy;
}

absl::Status SyscallPolicy::Builder::ExportPfc(int fd) const {
  if (fd < 0) return absl::InvalidArgumentError("ExportPfc: no file descriptor");
  return Compile(fd).status();
}

absl::StatusOr<std::vector<sock_filter>> SyscallPolicy::Builder::Compile(int pfc_fd) const {
  uint32_t default_action = SCMP_ACT_NOTIFY;
  switch (default_action_.kind) {
    case DefaultAction::kKillAndReport:
      default_action = SCMP_ACT_NOTIFY;
      break;
    case DefaultAction::kKillProcess:
      default_action = SCMP_ACT_KILL_PROCESS;
      break;
    case DefaultAction::kTrap:
      default_action = SCMP_ACT_TRAP;
      break;
    case DefaultAction::kErrno:
      if (!ValidErrno(default_action_.error)) {
        return absl::InvalidArgumentError(
            absl::StrFormat("default action: errno %d is outside 1..4094", default_action_.error));
      }
      default_action = SCMP_ACT_ERRNO(static_cast<uint32_t>(default_action_.error));
      break;
  }
  scmp_filter_ctx ctx = seccomp_init(default_action);
  if (ctx == nullptr) return absl::InternalError("seccomp_init failed");
  absl::Cleanup release = [ctx] { seccomp_release(ctx); };
  struct {
    scmp_filter_attr attr;
    uint32_t value;
    const char* name;
  } const kAttributes[] = {
      {SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS, "SCMP_FLTATR_ACT_BADARCH"},
      {SCMP_FLTATR_CTL_OPTIMIZE, 2, "SCMP_FLTATR_CTL_OPTIMIZE"},  // binary tree
      {SCMP_FLTATR_CTL_NNP, 0, "SCMP_FLTATR_CTL_NNP"},  // the child sets no_new_privs itself
  };
  for (const auto& a : kAttributes) {
    if (const int rc = seccomp_attr_set(ctx, a.attr, a.value); rc != 0) {
      return absl::ErrnoToStatus(-rc, absl::StrFormat("seccomp_attr_set(%s)", a.name));
    }
  }

  std::vector<Rule> rules;
  for (const std::string& name : RuntimeSyscalls()) {
    rules.push_back(Rule{name, Action::kAllow, 0, {}});
  }
  rules.insert(rules.end(), rules_.begin(), rules_.end());

  // Checks everything first, so that an error names the rule at fault rather than whatever
  // libseccomp makes of it. One action per syscall: libseccomp would accept some mixes (an
  // errno rule beside a conditional allow) and resolve them by its own precedence.
  std::map<int, const Rule*> action_of;
  std::set<int> allowed_unconditionally;
  for (const Rule& rule : rules) {
    const int nr = seccomp_syscall_resolve_name(rule.name.c_str());
    if (nr == __NR_SCMP_ERROR) {
      return absl::InvalidArgumentError(absl::StrFormat("unknown syscall \"%s\"", rule.name));
    }
    std::set<int> conditioned;
    for (const ArgCondition& c : rule.all_of) {
      if (!conditioned.insert(c.index).second) {
        // libseccomp compiles one comparison per argument and rule.
        return absl::InvalidArgumentError(absl::StrFormat(
            "syscall %s: two conditions on argument %d in one rule", rule.name, c.index));
      }
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
    auto [it, inserted] = action_of.emplace(nr, &rule);
    if (!inserted && (it->second->action != rule.action || it->second->error != rule.error)) {
      const Rule& first = *it->second;
      return absl::InvalidArgumentError(absl::StrFormat(
          "syscall %s: conflicting actions %s and %s", rule.name,
          ActionText(first.action == Action::kAllow, first.action == Action::kTrap, first.error),
          ActionText(rule.action == Action::kAllow, rule.action == Action::kTrap, rule.error)));
    }
  }

  // Identical rules (a group repeating a runtime syscall, an In listing a value twice) are
  // added once: libseccomp refuses some repeats.
  std::set<std::tuple<int, uint32_t, std::vector<std::tuple<unsigned, int, uint64_t, uint64_t>>>>
      added;
  for (const Rule& rule : rules) {
    const int nr = seccomp_syscall_resolve_name(rule.name.c_str());
    uint32_t action = SCMP_ACT_ALLOW;
    if (rule.action == Action::kErrno) action = SCMP_ACT_ERRNO(static_cast<uint32_t>(rule.error));
    if (rule.action == Action::kTrap) action = SCMP_ACT_TRAP;
    // libseccomp rejects a rule that repeats the default action; the default gives it anyway.
    if (action == default_action) continue;
    // An unconditional allow already covers every conditional one for the same syscall (a
    // group allowing fcntl, and a line allowing some of its commands); libseccomp refuses both.
    if (!rule.all_of.empty() && allowed_unconditionally.count(nr) != 0) continue;
    for (const std::vector<scmp_arg_cmp>& comparisons : ExpandConditions(rule.all_of)) {
      std::vector<std::tuple<unsigned, int, uint64_t, uint64_t>> key;
      for (const scmp_arg_cmp& c : comparisons) key.emplace_back(c.arg, c.op, c.datum_a, c.datum_b);
      if (!added.emplace(nr, action, std::move(key)).second) continue;
      const int rc = seccomp_rule_add_array(ctx, action, nr, comparisons.size(),
                                            comparisons.empty() ? nullptr : comparisons.data());
      if (rc != 0) {
        return absl::InvalidArgumentError(
            absl::StrFormat("syscall %s: seccomp_rule_add: %s", rule.name, strerror(-rc)));
      }
    }
  }

  absl::StatusOr<std::vector<sock_filter>> program = ExportProgram(ctx);
  if (!program.ok()) return program.status();
  if (program->size() > BPF_MAXINSNS) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("the filter has %d BPF instructions; the kernel accepts %d",
                        program->size(), BPF_MAXINSNS));
  }
  if (pfc_fd >= 0) {
    if (const int rc = seccomp_export_pfc(ctx, pfc_fd); rc != 0) {
      return absl::ErrnoToStatus(-rc, "seccomp_export_pfc");
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

}  // namespace sbox
