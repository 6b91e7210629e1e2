#include "broker/violation_listener.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "absl/status/status.h"

namespace sbox {

absl::StatusOr<std::optional<SyscallViolation>> ReadViolation(int listener) {
  // The kernel's struct may be larger than this header's; it says how large.
  static const size_t kNotifSize = [] {
    seccomp_notif_sizes sizes = {};
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) return sizeof(seccomp_notif);
    return std::max<size_t>(sizes.seccomp_notif, sizeof(seccomp_notif));
  }();
  std::vector<uint64_t> storage((kNotifSize + 7) / 8, 0);
  auto* notif = reinterpret_cast<seccomp_notif*>(storage.data());
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, notif) != 0) {
    if (errno == ENOENT || errno == EAGAIN || errno == EINTR) return std::nullopt;
    return absl::ErrnoToStatus(errno, "ioctl(SECCOMP_IOCTL_NOTIF_RECV)");
  }
  SyscallViolation violation;
  violation.syscall_number = notif->data.nr;
  violation.syscall_name = SyscallName(notif->data.nr);
  violation.arch = notif->data.arch;
  for (int i = 0; i < 6; ++i) violation.args[i] = notif->data.args[i];
  violation.instruction_pointer = notif->data.instruction_pointer;
  violation.thread_id = static_cast<pid_t>(notif->pid);
  return violation;
}

}  // namespace sbox
