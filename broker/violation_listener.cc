#include "broker/violation_listener.h"

#include <errno.h>
#include <linux/audit.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "absl/status/status.h"
#include "broker/syscall_decoder.h"

namespace sbox {
namespace {

// The kernel's struct may be larger than this header's; it says how large.
size_t NotificationSize() {
  static const size_t kSize = [] {
    seccomp_notif_sizes sizes = {};
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) return sizeof(seccomp_notif);
    return std::max<size_t>(sizes.seccomp_notif, sizeof(seccomp_notif));
  }();
  return kSize;
}

}  // namespace

SeccompNotification::SeccompNotification() : storage_((NotificationSize() + 7) / 8, 0) {}

absl::StatusOr<std::optional<SeccompNotification>> ReceiveNotification(int listener) {
  SeccompNotification notification;
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, notification.mutable_get()) != 0) {
    if (errno == ENOENT || errno == EAGAIN || errno == EINTR) return std::nullopt;
    return absl::ErrnoToStatus(errno, "ioctl(SECCOMP_IOCTL_NOTIF_RECV)");
  }
  return notification;
}

SyscallViolation DecodeNotification(int listener, const seccomp_notif& notif) {
  SyscallViolation violation;
  violation.syscall_number = notif.data.nr;
  violation.syscall_name = SyscallName(notif.data.nr);
  violation.arch = notif.data.arch;
  for (int i = 0; i < 6; ++i) violation.args[i] = notif.data.args[i];
  violation.instruction_pointer = notif.data.instruction_pointer;
  violation.thread_id = static_cast<pid_t>(notif.pid);
  // Strings must be read now, while the thread is blocked in the kernel: the launcher kills it
  // next, and its memory goes with it.
  const pid_t thread = violation.thread_id;
  DecodeViolation(&violation,
                  [thread](uint64_t address) { return ReadSandboxeeString(thread, address); });
  // Had the thread died before the reads, its pid could name another process by now: keep
  // the decoding only when the notification is still pending, else decode without strings.
  uint64_t id = notif.id;
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) {
    DecodeViolation(&violation, nullptr);
  }
  return violation;
}

bool IsExitRequest(const seccomp_notif& notif) {
  return notif.data.arch == AUDIT_ARCH_X86_64 && notif.data.nr == SYS_exit_group;
}

void LetExitProceed(int listener, uint64_t id) {
  seccomp_notif_resp response = {};
  response.id = id;
  response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  // ENOENT: the thread is gone already (killed, or its process ended otherwise).
  ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &response);
}

bool NotificationPending(int listener) {
  pollfd fd = {listener, POLLIN, 0};
  return poll(&fd, 1, 0) == 1 && (fd.revents & POLLIN) != 0;
}

absl::StatusOr<ListenerEvent> ReadListenerEvent(int listener) {
  absl::StatusOr<std::optional<SeccompNotification>> notification = ReceiveNotification(listener);
  if (!notification.ok()) return notification.status();
  ListenerEvent event;
  if (!*notification) return event;
  const seccomp_notif& notif = (*notification)->get();
  if (IsExitRequest(notif)) {
    event.exit_id = notif.id;
  } else {
    event.violation = DecodeNotification(listener, notif);
  }
  return event;
}

}  // namespace sbox
