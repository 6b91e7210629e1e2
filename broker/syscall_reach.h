#ifndef SBOX_BROKER_SYSCALL_REACH_H_
#define SBOX_BROKER_SYSCALL_REACH_H_

// What an allowed syscall can reach outside the sandbox, and the argument conditions that keep
// it inside. "Outside" is anything but the sandboxee's own memory, threads and descriptors:
// other processes named by pid (signals, limits, scheduling, memory, existence), signals the
// kernel sends on the caller's behalf (F_SETOWN, O_ASYNC, FIOSETOWN, ...), locks and leases
// that hold up other processes, the terminal, the system clock, system-wide names (keyring,
// System V IPC, message queues) and the network.
//
// `sbox audit --lint` flags every allowance whose conditions leave a reach open (unless the
// line is justified), and the violation advice never suggests such an allowance. The table
// for people, with every member of every built-in group, is in broker/POLICY_FORMAT.md
// ("What each allowed syscall can reach"); syscall_reach_test checks the two agree and that no
// built-in group has a reach.

#include <cstdint>
#include <string>
#include <vector>

#include "broker/syscall_policy.h"

namespace sbox {

// One syscall with a reach outside the sandbox.
struct SyscallReach {
  std::string name;
  // What the call can reach when allowed without the conditions below, for a lint finding.
  std::string reach;
  // Argument conditions under which the call stays inside, as alternatives (a rule or a call
  // is inside when it satisfies every condition of one of them). Empty: no condition keeps it
  // inside; the call is refused by every built-in group.
  std::vector<std::vector<ArgCondition>> inside;
};

// Every syscall with a reach, sorted by name.
const std::vector<SyscallReach>& ReachTable();

// The row of `name`; nullptr when the syscall has no reach.
const SyscallReach* FindReach(const std::string& name);

// Why allowing `name` when every condition of `all_of` holds would let the sandboxee reach
// outside; empty when it would not. Conditions count only when they imply one alternative of
// the table's `inside` (an In is taken value by value, up to 4096 combinations of them; Eq,
// In, MaskedEq, Lt and Le are understood, anything else leaves the reach open).
std::string OutsideReach(const std::string& name, const std::vector<ArgCondition>& all_of);

// Why this call, with these arguments, reaches outside; empty when it does not.
std::string OutsideReachOfCall(const std::string& name, const uint64_t args[6]);

// For a call that stays inside: the conditions of the first `inside` alternative it
// satisfies, with each compared argument pinned to the value the call used (`arg1 == F_GETFD`),
// so that a rule built from them allows this call and nothing with a reach. Empty when the
// syscall has no reach at all, or this call has one.
std::vector<ArgCondition> NarrowestInsideConditions(const std::string& name,
                                                    const uint64_t args[6]);

}  // namespace sbox

#endif  // SBOX_BROKER_SYSCALL_REACH_H_
