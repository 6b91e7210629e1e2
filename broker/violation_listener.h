#ifndef SBOX_BROKER_VIOLATION_LISTENER_H_
#define SBOX_BROKER_VIOLATION_LISTENER_H_

#include <linux/seccomp.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/sandbox_result.h"

namespace sbox {

// One notification read from a seccomp user-notification listener (the descriptor
// SECCOMP_FILTER_FLAG_NEW_LISTENER returned in the sandboxee). The kernel fills it: the
// syscall number, architecture, arguments and instruction pointer of the call, and the thread
// that made it, which stays blocked in the kernel until it is killed or answered. Stored in a
// buffer as large as the running kernel's struct, which may be larger than this header's.
class SeccompNotification {
 public:
  SeccompNotification();
  const seccomp_notif& get() const {
    return *reinterpret_cast<const seccomp_notif*>(storage_.data());
  }
  seccomp_notif* mutable_get() { return reinterpret_cast<seccomp_notif*>(storage_.data()); }

 private:
  std::vector<uint64_t> storage_;
};

// Reads one pending notification. std::nullopt when there was nothing to read or the thread
// died meanwhile; an error Status only when the listener itself fails.
absl::StatusOr<std::optional<SeccompNotification>> ReceiveNotification(int listener);

// The notification as a violation, decoded (broker/syscall_decoder.h): the number, arch, args
// and ip come from the kernel, but decoded strings (paths) are read from the sandboxee's memory
// with process_vm_readv while the thread is still blocked, so they show what the sandboxee
// passed, which it controls. Must be called before the thread is killed, for those reads to
// work; when the notification is no longer pending afterwards (its thread died, and the pid
// may name another process), the strings are dropped.
SyscallViolation DecodeNotification(int listener, const seccomp_notif& notif);

// ReceiveNotification, then DecodeNotification: for launchers whose every notification is a
// violation.
absl::StatusOr<std::optional<SyscallViolation>> ReadViolation(int listener);

}  // namespace sbox

#endif  // SBOX_BROKER_VIOLATION_LISTENER_H_
