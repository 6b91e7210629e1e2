#ifndef SBOX_SANDBOXEE_CALL_LOOP_H_
#define SBOX_SANDBOXEE_CALL_LOOP_H_

// The sandboxee's side of the call channel (proto/call_message.h): after the set-up
// (sandboxee/sandboxee_setup.h), the child runs an entry point (sandboxee/entry_point.h) on each
// call it receives on kSandboxeeCallFd, and replies. Runs confined: it uses only the calls
// SyscallPolicy::CallDefault() allows.

namespace sbox::sandboxee {

// Exit codes of ServeCalls, which the host reads as "exited without replying".
inline constexpr int kCallLoopUnknownEntryPoint = 120;  // `name` is not registered
inline constexpr int kCallLoopBadRequest = 121;         // a request that does not parse
inline constexpr int kCallLoopChannelError = 122;       // the call channel failed

// Serves up to `calls` calls (at least 1) with the entry point `name`, then flushes stdio and
// exits with 0; exits with 0 too when the host closes the channel first. An exception escaping
// the entry point becomes an error reply: std::bad_alloc as ResourceExhausted, anything else as
// Internal.
[[noreturn]] void ServeCalls(const char* name, int calls);

}  // namespace sbox::sandboxee

#endif  // SBOX_SANDBOXEE_CALL_LOOP_H_
