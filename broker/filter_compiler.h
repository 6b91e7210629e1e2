#ifndef SBOX_BROKER_FILTER_COMPILER_H_
#define SBOX_BROKER_FILTER_COMPILER_H_

// Compiles rules into the classic BPF program of an x86_64 seccomp filter.
//
// sbox compiles its filters itself; libseccomp only names syscalls. Debian's libseccomp 2.5.4
// never returns from seccomp_rule_add_array for some pairs of conditional rules on one syscall
// (`allow read if arg0 > 1 && arg1 > 9` beside `allow read if arg0 > 1 && arg2 > 9`), and its
// rule merging makes time and memory depend on how rules overlap. Here both are linear in the
// number of comparisons, and every rule compiles to exactly the test ArgCondition::Admits
// documents.
//
//   FilterSpec spec{SECCOMP_RET_USER_NOTIF, {{__NR_read, SECCOMP_RET_ALLOW, {Arg(0).Gt(1)}}}};
//   absl::StatusOr<std::vector<sock_filter>> program = CompileFilter(spec);

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/arg_condition.h"

namespace sbox {

// One rule: `action` (a SECCOMP_RET_* value) for syscall `nr` when every condition holds.
struct FilterRule {
  int nr;
  uint32_t action;
  std::vector<ArgCondition> all_of = {};  // empty: always
};

struct FilterSpec {
  uint32_t default_action;  // for a call no rule matches
  // For one syscall, the first rule whose conditions hold gives the action.
  std::vector<FilterRule> rules;
};

// The syscall numbers an x86_64 filter can name: below the x32 bit.
inline constexpr int kFilterSyscallLimit = 0x40000000;

// The program checks, in this order:
//   - the architecture: anything but AUDIT_ARCH_X86_64 is SECCOMP_RET_KILL_PROCESS;
//   - the number: an x32 call (nr >= kFilterSyscallLimit as an unsigned word) is
//     SECCOMP_RET_KILL_PROCESS;
//   - a binary search over ranges of syscall numbers with one outcome each, so that a call
//     costs O(log rules) jumps before its own rules;
//   - that syscall's rules in order, each comparison on all 64 bits of the argument (two
//     32-bit loads).
// InvalidArgument naming the rule for a number outside 0..kFilterSyscallLimit-1, an argument
// index outside 0..5 or an In without values. ResourceExhausted when the program would exceed
// the kernel's BPF_MAXINSNS, naming the syscall whose rules take the most instructions.
// Numbers are named by SyscallName (broker/sandbox_result.h).
[[nodiscard]] absl::StatusOr<std::vector<sock_filter>> CompileFilter(const FilterSpec& spec);

// The filter CompileFilter(spec) makes, as pseudo code a person can read and diff: one block
// per syscall, its rules as `if (...) action;` lines, then the default.
[[nodiscard]] std::string FilterPseudoCode(const FilterSpec& spec);

// "ALLOW", "ERRNO(13)", "TRAP", "USER_NOTIF", "KILL_PROCESS", "KILL_THREAD", "LOG",
// "TRACE(n)" or "0x..." for a SECCOMP_RET_* value.
std::string FilterActionText(uint32_t action);

}  // namespace sbox

#endif  // SBOX_BROKER_FILTER_COMPILER_H_
