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

// What one notification asks of the launcher: at most one of the two is set; neither when
// the notification was answered or there was none.
struct ListenerEvent {
  // A call the policy refuses, decoded, its thread still blocked: kill the sandboxee.
  std::optional<SyscallViolation> violation;
  // The notification id of an exit_group (SyscallPolicy::RuntimeSyscalls() says why it is one).
  // Let it through with LetExitProceed once the reports pending beside it have been read.
  std::optional<uint64_t> exit_id;
};

// Whether `notif` is the x86_64 exit_group that a kKillAndReport filter sends to the listener.
bool IsExitRequest(const seccomp_notif& notif);

// Lets exit_group notification `id` run (SECCOMP_USER_NOTIF_FLAG_CONTINUE: the kernel reads
// nothing from the sandboxee's memory for it). A thread that died meanwhile is no error.
void LetExitProceed(int listener, uint64_t id);

// Whether a notification is waiting on `listener` now (poll without waiting).
bool NotificationPending(int listener);

// ReceiveNotification, then an exit request or DecodeNotification: for launchers whose every
// other notification is a violation.
absl::StatusOr<ListenerEvent> ReadListenerEvent(int listener);

}  // namespace sbox

#endif  // SBOX_BROKER_VIOLATION_LISTENER_H_
