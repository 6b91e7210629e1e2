#include "broker/own_process_calls.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "broker/syscall_reach.h"
#include "proto/unique_fd.h"

namespace sbox {
namespace {

bool InsideByReachTable(const char* name, const uint64_t args[6]) {
  const SyscallReach* reach = FindReach(name);
  if (reach == nullptr) return false;
  return std::any_of(reach->inside.begin(), reach->inside.end(), [&](const auto& all_of) {
    return std::all_of(all_of.begin(), all_of.end(), [&](const ArgCondition& c) {
      return c.Admits(args[static_cast<size_t>(c.index)]);
    });
  });
}

// A pid argument that names the caller: 0, its own thread, or the sandboxee. Compared as the
// int the kernel reads.
bool NamesCaller(uint64_t arg, CallerNames names) {
  const pid_t pid = static_cast<pid_t>(arg);
  return pid == 0 || pid == names.thread || pid == names.sandboxee;
}

constexpr OwnProcessAnswer kLetThrough = {true, false, 0};
constexpr OwnProcessAnswer kViolation = {false, true, 0};
constexpr OwnProcessAnswer Refuse(int error) { return {false, false, -error}; }

// capget, performed by the broker on the calling thread's behalf.
OwnProcessAnswer Capget(const uint64_t args[6], pid_t thread, CallerNames names,
                        CallerMemory& memory) {
  __user_cap_header_struct header = {};
  if (const int error = memory.Read(args[0], &header, sizeof(header)); error != 0) {
    return Refuse(error);
  }
  if (!NamesCaller(static_cast<uint32_t>(header.pid), names)) return kViolation;
  const uint32_t asked_version = header.version;
  header.pid = thread;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  const long result = syscall(SYS_capget, &header, args[1] != 0 ? data : nullptr);
  const int error = result == 0 ? 0 : errno;
  // An unknown version: the kernel wrote the one it prefers, for the caller to retry with.
  if (header.version != asked_version) {
    if (const int e = memory.Write(args[0], &header.version, sizeof(header.version)); e != 0) {
      return Refuse(e);
    }
  }
  if (error != 0) return Refuse(error);
  if (args[1] != 0) {
    const size_t words =
        header.version == _LINUX_CAPABILITY_VERSION_1 ? _LINUX_CAPABILITY_U32S_1 : 2;
    if (const int e = memory.Write(args[1], data, words * sizeof(data[0])); e != 0) {
      return Refuse(e);
    }
  }
  return {false, 0};
}

// A record lock that is never taken: checked as the kernel checks it.
OwnProcessAnswer RecordLock(const uint64_t args[6], CallerMemory& memory) {
  const int fd = static_cast<int>(args[0]);
  const int command = static_cast<int>(args[1]);
  if (const int error = memory.CheckDescriptor(fd); error != 0) return Refuse(error);
  struct flock lock = {};
  if (const int error = memory.Read(args[2], &lock, sizeof(lock)); error != 0) {
    return Refuse(error);
  }
  if (lock.l_type != F_RDLCK && lock.l_type != F_WRLCK && lock.l_type != F_UNLCK) {
    return Refuse(EINVAL);
  }
  if (command == F_GETLK || command == F_OFD_GETLK) {
    lock.l_type = F_UNLCK;
    if (const int error = memory.Write(args[2], &lock, sizeof(lock)); error != 0) {
      return Refuse(error);
    }
  }
  return {false, false, 0};
}

OwnProcessAnswer Fcntl(const uint64_t args[6], CallerMemory& memory) {
  if (InsideByReachTable("fcntl", args)) return kLetThrough;
  switch (static_cast<int>(args[1])) {
    case F_SETLK:
    case F_SETLKW:
    case F_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
    case F_OFD_GETLK:
      return RecordLock(args, memory);
    default:
      return kViolation;
  }
}

OwnProcessAnswer Flock(const uint64_t args[6], CallerMemory& memory) {
  if (const int error = memory.CheckDescriptor(static_cast<int>(args[0])); error != 0) {
    return Refuse(error);
  }
  const int operation = static_cast<int>(args[1]) & ~LOCK_NB;
  if (operation != LOCK_SH && operation != LOCK_EX && operation != LOCK_UN) return Refuse(EINVAL);
  return {false, false, 0};
}

// Whether `pid` (a process or a thread) is `sandboxee` or one of its descendants, by the parent
// links in /proc/<pid>/stat. Only a report depends on it (see AnswerOwnProcessCall): a pid that
// is reused meanwhile is judged as its new process, which Landlock's scoping still keeps out
// of reach.
bool InSandboxTree(pid_t pid, pid_t sandboxee) {
  for (int depth = 0; depth < 64 && pid > 1; ++depth) {
    if (pid == sandboxee) return true;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    UniqueFd fd(open(path, O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return false;
    char text[512];
    const ssize_t size = read(fd.get(), text, sizeof(text) - 1);
    if (size <= 0) return false;
    text[size] = '\0';
    // "pid (comm) state ppid ...": comm may hold any byte but NUL, ')' included.
    const char* close = strrchr(text, ')');
    if (close == nullptr || sscanf(close + 1, " %*c %d", &pid) != 1) return false;
  }
  return false;
}

}  // namespace

bool IsOwnProcessCall(int number) {
  switch (number) {
    case SYS_ioctl:
    case SYS_sched_getaffinity:
    case SYS_sched_getparam:
    case SYS_sched_getscheduler:
    case SYS_prlimit64:
    case SYS_getpriority:
    case SYS_kill:
    case SYS_tgkill:
    case SYS_tkill:
    case SYS_capget:
    case SYS_fcntl:
    case SYS_flock:
      return true;
    default:
      return false;
  }
}

OwnProcessAnswer AnswerOwnProcessCall(int number, const uint64_t args[6], pid_t thread,
                                      pid_t sandboxee, CallerMemory& memory, bool signals_scoped) {
  if (signals_scoped && (number == SYS_kill || number == SYS_tgkill || number == SYS_tkill) &&
      static_cast<pid_t>(args[0]) > 0 && InSandboxTree(static_cast<pid_t>(args[0]), sandboxee)) {
    return kLetThrough;
  }
  return AnswerOwnProcessCall(number, args, thread, CallerNames{thread, sandboxee}, memory);
}

OwnProcessAnswer AnswerOwnProcessCall(int number, const uint64_t args[6], pid_t thread,
                                      CallerNames names, CallerMemory& memory) {
  switch (number) {
    case SYS_ioctl:
      return InsideByReachTable("ioctl", args) ? kLetThrough : Refuse(ENOTTY);
    case SYS_sched_getaffinity:
    case SYS_sched_getparam:
    case SYS_sched_getscheduler:
      return NamesCaller(args[0], names) ? kLetThrough : kViolation;
    case SYS_prlimit64: {
      if (!NamesCaller(args[0], names)) return kViolation;
      uint64_t as_self[6];
      std::copy(args, args + 6, as_self);
      as_self[0] = 0;
      return InsideByReachTable("prlimit64", as_self) ? kLetThrough : kViolation;
    }
    case SYS_getpriority:
      return static_cast<int>(args[0]) == PRIO_PROCESS && NamesCaller(args[1], names) ? kLetThrough
                                                                                      : kViolation;
    case SYS_kill:
      return static_cast<pid_t>(args[0]) == names.sandboxee ? kLetThrough : kViolation;
    case SYS_tgkill:
      return static_cast<pid_t>(args[0]) == names.sandboxee ? kLetThrough : kViolation;
    case SYS_tkill:
      return static_cast<pid_t>(args[0]) == names.thread ? kLetThrough : kViolation;
    case SYS_capget:
      return Capget(args, thread, names, memory);
    case SYS_fcntl:
      return Fcntl(args, memory);
    case SYS_flock:
      return Flock(args, memory);
    default:
      return Refuse(ENOSYS);
  }
}

}  // namespace sbox
