#ifndef SBOX_BROKER_SYSCALL_POLICY_H_
#define SBOX_BROKER_SYSCALL_POLICY_H_

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sbox {

// One comparison of a syscall argument (index 0..5) against a 64-bit value.
struct ArgCondition {
  enum class Compare { kEq, kNe, kLt, kLe, kGt, kGe, kMaskedEq };
  int index;
  Compare compare;
  uint64_t value;
  uint64_t mask = 0;  // kMaskedEq: (arg & mask) == value
};

// Builds conditions: Arg(2).MaskedEq(PROT_EXEC, 0).
class Arg {
 public:
  explicit constexpr Arg(int index) : index_(index) {}
  ArgCondition Eq(uint64_t v) const { return {index_, ArgCondition::Compare::kEq, v}; }
  ArgCondition Ne(uint64_t v) const { return {index_, ArgCondition::Compare::kNe, v}; }
  ArgCondition Lt(uint64_t v) const { return {index_, ArgCondition::Compare::kLt, v}; }
  ArgCondition Le(uint64_t v) const { return {index_, ArgCondition::Compare::kLe, v}; }
  ArgCondition Gt(uint64_t v) const { return {index_, ArgCondition::Compare::kGt, v}; }
  ArgCondition Ge(uint64_t v) const { return {index_, ArgCondition::Compare::kGe, v}; }
  ArgCondition MaskedEq(uint64_t mask, uint64_t v) const {
    return {index_, ArgCondition::Compare::kMaskedEq, v, mask};
  }

 private:
  int index_;
};

// A seccomp filter for the sandboxee, compiled once in the parent into a classic BPF program
// that the child only installs.
//
// Every syscall the policy does not name reaches the default action: a seccomp user
// notification that the launcher reads from the kernel and answers by killing the sandboxee
// and reporting the call (SandboxResult::violation). The filter checks the architecture: any
// non-x86_64 syscall, x32 included, kills the process at once (SIGSYS, no report).
class SyscallPolicy {
 public:
  class Builder {
   public:
    // Allows `name` unconditionally.
    Builder& Allow(std::string name);
    // Allows `name` when every condition holds. Several calls for one syscall are alternatives.
    Builder& Allow(std::string name, std::vector<ArgCondition> all_of);
    // `name` fails with `error` without running.
    Builder& ReturnErrno(std::string name, int error);

    // Errors name the syscall at fault: InvalidArgument for an unknown name, an argument index
    // outside 0..5 or a conflicting rule; ResourceExhausted when the program exceeds the
    // kernel's BPF_MAXINSNS.
    absl::StatusOr<SyscallPolicy> Build() const;

   private:
    struct Rule {
      std::string name;
      bool allow;
      int error;
      std::vector<ArgCondition> all_of;
    };
    std::vector<Rule> rules_;
  };

  // What every policy allows, because the sandbox's own runtime needs it: the channel
  // (sendmsg, recvmsg, close), exiting, and returning from a signal handler.
  static const std::vector<std::string>& RuntimeSyscalls();

  // A policy for an in-process parser that gets its files from the broker: I/O on descriptors
  // it holds, memory without PROT_EXEC, threads (clone with CLONE_THREAD; clone3 answers
  // ENOSYS so libc falls back), signal handlers for any signal but SIGSYS, futexes, time,
  // randomness, its own ids. newfstatat and statx answer ENOSYS (they take a path; use the
  // broker's Stat), ioctl answers ENOTTY.
  static Builder BrokeredParser();

  const std::vector<sock_filter>& program() const { return program_; }
  sock_fprog fprog() const {
    return sock_fprog{static_cast<unsigned short>(program_.size()),
                      const_cast<sock_filter*>(program_.data())};
  }

 private:
  SyscallPolicy() = default;
  std::vector<sock_filter> program_;
};

}  // namespace sbox

#endif  // SBOX_BROKER_SYSCALL_POLICY_H_
