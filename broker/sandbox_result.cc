#include "broker/sandbox_result.h"

#include <linux/audit.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "kernel/landlock.h"
#include "proto/errno_name.h"
#include "proto/file_syscalls.h"

namespace sbox {

std::string LandlockReport::ToString() const {
  if (abi == 0) return absl::StrCat("Landlock: not enforced (", not_enforced, ")");
  return absl::StrFormat("Landlock ABI %d: filesystem rights %s; scoped %s", abi,
                         landlock::FsRightsText(fs_rights), landlock::ScopesText(scopes));
}

std::string ArchName(uint32_t arch) {
  switch (arch) {
    case AUDIT_ARCH_X86_64:
      return "x86_64";
    case AUDIT_ARCH_I386:
      return "i386";
    default:
      return absl::StrFormat("arch %#x", arch);
  }
}

std::string SyscallName(int number) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
  if (name == nullptr) {
    const proto::FileSyscall* call = proto::FindFileSyscall(number);
    return call != nullptr ? call->name : absl::StrFormat("syscall_%d", number);
  }
  std::string result(name);
  free(name);
  return result;
}

int SyscallNumber(const std::string& name) {
  const int number = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name.c_str());
  if (number != __NR_SCMP_ERROR) return number;
  const proto::FileSyscall* call = proto::FindFileSyscallByName(name);
  return call != nullptr ? static_cast<int>(call->nr) : -1;
}

std::string SyscallViolation::ToString() const {
  // The raw words stay beside the decoded call: the decoding's strings are the sandboxee's.
  std::string text = absl::StrFormat("%s (%d) on %s", syscall_name, syscall_number, ArchName(arch));
  if (!call.empty()) absl::StrAppend(&text, ": ", call);
  absl::StrAppendFormat(&text, ", args (%#x, %#x, %#x, %#x, %#x, %#x), ip %#x, thread %d", args[0],
                        args[1], args[2], args[3], args[4], args[5], instruction_pointer,
                        thread_id);
  if (!suggested_rule.empty()) absl::StrAppend(&text, "; suggestion: ", suggested_rule);
  return text;
}

std::string SandboxResult::ToString() const {
  switch (outcome) {
    case Outcome::kExited:
      return absl::StrFormat("exited with code %d", exit_code);
    case Outcome::kSignaled: {
      const char* name = sigabbrev_np(signal);
      return absl::StrFormat(
          "killed by signal SIG%s (%d)%s", name != nullptr ? name : "?", signal,
          signal == SIGSYS ? ": the seccomp filter killed or trapped a syscall" : "");
    }
    case Outcome::kViolation:
      return absl::StrFormat("syscall violation: %s",
                             violation ? violation->ToString() : std::string("(no report)"));
    case Outcome::kTimedOut:
      return "timed out";
  }
  return "unknown outcome";
}

std::string SandboxResult::NamespacesText() const {
  if (namespaces_created.empty() && namespaces_refused.empty()) return "";
  std::vector<std::string> created;
  for (Namespace ns : kAllNamespaces) {
    if (namespaces_created.Has(ns)) created.push_back(NamespaceName(ns));
  }
  std::string text =
      absl::StrCat("namespaces: created ", created.empty() ? "none" : absl::StrJoin(created, ", "));
  std::vector<std::string> refused;
  for (const NamespaceRefusal& refusal : namespaces_refused) {
    refused.push_back(absl::StrCat(NamespaceName(refusal.ns), " (", ErrnoName(refusal.error), ")"));
  }
  if (!refused.empty()) absl::StrAppend(&text, "; refused ", absl::StrJoin(refused, ", "));
  return text;
}

}  // namespace sbox
