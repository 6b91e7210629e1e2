#include "tests/escape_attempts.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

namespace sbox::testing {
namespace {

// 0, or the errno of a failed call.
int Error(long result) { return result < 0 ? errno : 0; }

// Sends one message on the channel, which the broker answers (a malformed request gets an
// error reply), and waits for a signal the answer might raise.
int Provoke(int fd) {
  char message[] = "not a request";
  iovec iov = {message, sizeof(message)};
  msghdr header = {};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  if (syscall(SYS_sendmsg, fd, &header, MSG_NOSIGNAL) < 0) return errno;
  const timespec wait = {0, 100 * 1000 * 1000};
  nanosleep(&wait, nullptr);
  return 0;
}

}  // namespace

int SignalOwner(int fd, pid_t target, const std::string& method) {
  int error = 0;
  const int flags = static_cast<int>(syscall(SYS_fcntl, fd, F_GETFL));
  if (method == "setown") {
    error = Error(syscall(SYS_fcntl, fd, F_SETOWN, target));
    if (error == 0) error = Error(syscall(SYS_fcntl, fd, F_SETFL, flags | O_ASYNC));
  } else if (method == "setown_ex") {
    f_owner_ex owner = {F_OWNER_PID, target};
    error = Error(syscall(SYS_fcntl, fd, F_SETOWN_EX, &owner));
    if (error == 0) error = Error(syscall(SYS_fcntl, fd, F_SETFL, flags | O_ASYNC));
  } else if (method == "setsig") {
    error = Error(syscall(SYS_fcntl, fd, F_SETSIG, SIGUSR1));
  } else if (method == "async") {
    error = Error(syscall(SYS_fcntl, fd, F_SETFL, flags | O_ASYNC));
  } else if (method == "fiosetown" || method == "siocspgrp") {
    int owner = target;
    error = Error(syscall(SYS_ioctl, fd, method == "fiosetown" ? FIOSETOWN : SIOCSPGRP, &owner));
    int on = 1;
    if (error == 0) error = Error(syscall(SYS_ioctl, fd, FIOASYNC, &on));
  } else {
    return EINVAL;
  }
  if (error != 0) return error;
  return Provoke(fd);
}

int NamePid(pid_t target, const std::string& way) {
  if (way == "prlimit") {
    rlimit limit;
    return Error(syscall(SYS_prlimit64, target, RLIMIT_NOFILE, nullptr, &limit));
  }
  if (way == "robust_list") {
    void* head;
    size_t length;
    return Error(syscall(SYS_get_robust_list, target, &head, &length));
  }
  if (way == "cpu_clock") {
    // (~pid << 3) | CPUCLOCK_SCHED, as glibc's clock_getcpuclockid makes it.
    const clockid_t clock = static_cast<clockid_t>((~static_cast<unsigned>(target) << 3) | 2);
    timespec ts;
    return Error(syscall(SYS_clock_gettime, clock, &ts));
  }
  if (way == "futex_pi") {
    uint32_t word = static_cast<uint32_t>(target);
    return Error(syscall(SYS_futex, &word, FUTEX_TRYLOCK_PI, 0, nullptr, nullptr, 0));
  }
  if (way == "kill") return Error(syscall(SYS_kill, target, 0));
  if (way == "priority") return Error(syscall(SYS_getpriority, PRIO_PROCESS, target));
  if (way == "affinity") {
    cpu_set_t set;
    return Error(syscall(SYS_sched_getaffinity, target, sizeof(set), &set));
  }
  if (way == "pidfd") return Error(syscall(SYS_pidfd_open, target, 0));
  return EINVAL;
}

int HoldFile(int fd, const std::string& way) {
  struct flock lock = {};
  lock.l_type = F_RDLCK;
  if (way == "lease") return Error(syscall(SYS_fcntl, fd, F_SETLEASE, F_RDLCK));
  if (way == "setlk") return Error(syscall(SYS_fcntl, fd, F_SETLK, &lock));
  if (way == "ofd") return Error(syscall(SYS_fcntl, fd, F_OFD_SETLK, &lock));
  if (way == "flock") return Error(syscall(SYS_flock, fd, LOCK_SH));
  return EINVAL;
}

int SendElsewhere(int fd, const std::string& path) {
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) return ENAMETOOLONG;
  memcpy(address.sun_path, path.data(), path.size());
  char payload[] = "escaped";
  iovec iov = {payload, sizeof(payload)};
  msghdr message = {};
  message.msg_name = &address;
  message.msg_namelen = static_cast<socklen_t>(sizeof(address));
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  return Error(syscall(SYS_sendmsg, fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT));
}

int CapabilitiesHeld() {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return -errno;
  int held = 0;
  for (const __user_cap_data_struct& set : data) {
    held += __builtin_popcount(set.effective) + __builtin_popcount(set.permitted) +
            __builtin_popcount(set.inheritable);
  }
  for (int capability = 0; capability < 64; ++capability) {
    if (syscall(SYS_prctl, PR_CAPBSET_READ, capability, 0, 0, 0) == 1) ++held;
  }
  return held;
}

int ForgeViolationReport() {
  static constexpr char kLine[] =
      "sbox: policy violation: execve (59) on x86_64: execve(\"/bin/sh\", ...), args (0x1, 0x2, "
      "0x3, 0, 0, 0), ip 0x7f0000001000, thread 1; the built-in policy does not mention execve\n";
  if (write(2, kLine, sizeof(kLine) - 1) < 0) return 1;
  return 159;
}

void Crash() {
  *static_cast<volatile int*>(nullptr) = 1;
  __builtin_trap();
}

void ExitRace(const std::string& file, int threads) {
  for (int i = 0; i < threads; ++i) {
    std::thread([file] {
      for (;;) {
        const long fd = syscall(SYS_openat, AT_FDCWD, file.c_str(), O_RDONLY);
        if (fd >= 0) syscall(SYS_close, fd);
      }
    }).detach();
  }
  static std::atomic<bool> calling{false};
  std::thread([] {
    calling.store(true);
    syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
  }).detach();
  while (!calling.load()) sched_yield();
  // Long enough for the thread to be in the kernel, blocked on its notification, on a loaded
  // machine: the exit races the report, not the call.
  const timespec wait = {0, 20 * 1000 * 1000};
  nanosleep(&wait, nullptr);
  syscall(SYS_exit_group, 0);
  __builtin_unreachable();
}

}  // namespace sbox::testing
