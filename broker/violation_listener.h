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
// It also decodes the call (broker/syscall_decoder.h): the number, arch, args and ip come from
// the kernel, but decoded strings (paths) are read from the sandboxee's memory with
// process_vm_readv while the thread is still blocked, so they show what the sandboxee passed,
// which it controls. Must be called before the thread is killed, for those reads to work.
// Returns std::nullopt when there was nothing to read or the thread died meanwhile.
absl::StatusOr<std::optional<SyscallViolation>> ReadViolation(int listener);

}  // namespace sbox

#endif  // SBOX_BROKER_VIOLATION_LISTENER_H_
