#ifndef SBOX_BROKER_SYSCALL_DECODER_H_
#define SBOX_BROKER_SYSCALL_DECODER_H_

// Turns a SyscallViolation into something a person can act on: the call as it would be written
// in C, `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)`, and the policy line that would
// allow it (or a comment saying why the brokered design refuses it).
//
// Trust: the syscall number, architecture, the six argument words and the instruction pointer
// come from the kernel (the seccomp notification). A decoded *string* does not: it is read from
// the sandboxee's memory at the address the call passed, so it shows what the sandboxee put
// there, which it controls (another of its threads may even change it after the read). Treat
// strings as the sandboxee's claim, never as evidence.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "broker/sandbox_result.h"

namespace sbox {

// A NUL-terminated string read from the sandboxee.
struct RemoteString {
  std::string text;        // without the NUL; at most kMaxRemoteString bytes
  bool truncated = false;  // no NUL within kMaxRemoteString bytes
};

inline constexpr size_t kMaxRemoteString = 256;

// Reads the string at `address` in the sandboxee; std::nullopt when it cannot be read (the
// decoder then prints the pointer in hexadecimal).
using StringReader = std::function<std::optional<RemoteString>(uint64_t address)>;

// Reads from `thread`'s memory with process_vm_readv. That needs ptrace-read access to the
// thread: the broker is the sandboxee's parent with the same uid, so it has it. Only call it
// while the thread is blocked in the seccomp notification, so its memory is still there.
std::optional<RemoteString> ReadSandboxeeString(pid_t thread, uint64_t address);

// `openat(AT_FDCWD, "/etc/passwd", O_RDONLY)`. Syscalls the decoder has no table entry for
// print their six arguments as numbers. `read_string` may be null: paths print as pointers.
std::string DecodeCall(const SyscallViolation& violation, const StringReader& read_string);

// The policy-text line that would allow the call (`allow openat`, `allow socket if arg0 ==
// AF_INET`), or a `# ...` comment for calls the brokered design refuses on purpose.
std::string SuggestRule(const SyscallViolation& violation);

// Fills violation->call and violation->suggested_rule.
void DecodeViolation(SyscallViolation* violation, const StringReader& read_string);

}  // namespace sbox

#endif  // SBOX_BROKER_SYSCALL_DECODER_H_
