#include "broker/syscall_policy.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
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

}  // namespace

const std::vector<std::string>& SyscallPolicy::RuntimeSyscalls() {
  static const auto* const kRuntime = new std::vector<std::string>{
      "sendmsg", "recvmsg", "close", "exit", "exit_group", "rt_sigreturn",
  };
  return *kRuntime;
}

SyscallPolicy::Builder& SyscallPolicy::Builder::Allow(std::string name) {
  rules_.push_back(Rule{std::move(name), true, 0, {}});
  return *this;
}

SyscallPolicy::Builder& SyscallPolicy::Builder::Allow(std::string name,
                                                      std::vector<ArgCondition> all_of) {
  rules_.push_back(Rule{std::move(name), true, 0, std::move(all_of)});
  return *this;
}

SyscallPolicy::Builder& SyscallPolicy::Builder::ReturnErrno(std::string name, int error) {
  rules_.push_back(Rule{std::move(name), false, error, {}});
  return *this;
}

absl::StatusOr<SyscallPolicy> SyscallPolicy::Builder::Build() const {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_NOTIFY);
  if (ctx == nullptr) return absl::InternalError("seccomp_init(SCMP_ACT_NOTIFY) failed");
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
  for (const std::string& name : RuntimeSyscalls()) rules.push_back(Rule{name, true, 0, {}});
  rules.insert(rules.end(), rules_.begin(), rules_.end());

  for (const Rule& rule : rules) {
    const int nr = seccomp_syscall_resolve_name(rule.name.c_str());
    if (nr == __NR_SCMP_ERROR) {
      return absl::InvalidArgumentError(absl::StrFormat("unknown syscall \"%s\"", rule.name));
    }
    std::vector<scmp_arg_cmp> comparisons;
    for (const ArgCondition& c : rule.all_of) {
      if (c.index < 0 || c.index > 5) {
        return absl::InvalidArgumentError(
            absl::StrFormat("syscall %s: argument index %d is outside 0..5", rule.name, c.index));
      }
      scmp_arg_cmp cmp = {};
      cmp.arg = static_cast<unsigned int>(c.index);
      cmp.op = ToScmp(c.compare);
      if (c.compare == ArgCondition::Compare::kMaskedEq) {
        cmp.datum_a = c.mask;
        cmp.datum_b = c.value;
      } else {
        cmp.datum_a = c.value;
      }
      comparisons.push_back(cmp);
    }
    const uint32_t action = rule.allow ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(rule.error);
    const int rc = seccomp_rule_add_array(ctx, action, nr, comparisons.size(),
                                          comparisons.empty() ? nullptr : comparisons.data());
    if (rc != 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "syscall %s: seccomp_rule_add: %s (a rule for it conflicts?)", rule.name, strerror(-rc)));
    }
  }

  absl::StatusOr<std::vector<sock_filter>> program = ExportProgram(ctx);
  if (!program.ok()) return program.status();
  if (program->size() > BPF_MAXINSNS) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("the filter has %d BPF instructions; the kernel accepts %d",
                        program->size(), BPF_MAXINSNS));
  }
  SyscallPolicy policy;
  policy.program_ = *std::move(program);
  return policy;
}

SyscallPolicy::Builder SyscallPolicy::BrokeredParser() {
  constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                       CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
  Builder builder;
  for (const char* name : {
           // I/O on descriptors the sandboxee already holds.
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
           "dup3",
           "fcntl",
           "ftruncate",
           "fsync",
           "fdatasync",
           // Memory: only the calls that cannot make memory executable.
           "brk",
           "munmap",
           "mremap",
           "madvise",
           // Threads and synchronisation.
           "futex",
           "set_robust_list",
           "get_robust_list",
           "rseq",
           "sched_yield",
           "rt_sigprocmask",
           "sigaltstack",
           "restart_syscall",
           // Time, randomness and own identity.
           "clock_gettime",
           "clock_getres",
           "gettimeofday",
           "time",
           "nanosleep",
           "clock_nanosleep",
           "getrandom",
           "getpid",
           "gettid",
           "getuid",
           "geteuid",
           "getgid",
           "getegid",
       }) {
    builder.Allow(name);
  }
  builder.Allow("mmap", {Arg(2).MaskedEq(PROT_EXEC, 0)});
  builder.Allow("mprotect", {Arg(2).MaskedEq(PROT_EXEC, 0)});
  builder.Allow("clone", {Arg(0).MaskedEq(CLONE_THREAD | kNamespaceFlags, CLONE_THREAD)});
  // glibc installs its SIGCANCEL and SIGSETXID handlers when a process starts its first thread.
  // SIGSYS stays sbox's: the filter's trap signal is not the sandboxee's to take.
  builder.Allow("rt_sigaction", {Arg(0).Ne(SIGSYS)});
  builder.ReturnErrno("clone3", ENOSYS);
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
