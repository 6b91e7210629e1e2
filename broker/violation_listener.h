#ifndef SBOX_BROKER_VIOLATION_LISTENER_H_
#define SBOX_BROKER_VIOLATION_LISTENER_H_

#include <optional>

#include "absl/status/statusor.h"
#include "broker/sandbox_result.h"

namespace sbox {

// Reads one pending notification from a seccomp user-notification listener (the descriptor
// SECCOMP_FILTER_FLAG_NEW_LISTENER returned in the sandboxee). The kernel fills it: the
// syscall number, architecture, arguments and instruction pointer of the disallowed call, and
// the thread that made it, which stays blocked in the kernel until it is killed or answered.
// Returns std::nullopt when there was nothing to read or the thread died meanwhile.
absl::StatusOr<std::optional<SyscallViolation>> ReadViolation(int listener);

}  // namespace sbox

#endif  // SBOX_BROKER_VIOLATION_LISTENER_H_
