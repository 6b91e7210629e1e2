#include "launcher/sandboxee_process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "sandboxee/sandboxee_setup.h"

namespace sbox {
namespace {

// How long Finish waits for the group's killed members to be gone.
constexpr absl::Duration kGroupExitWait = absl::Seconds(5);

int PollTimeout(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
}

// The state letter and process group of /proc/<pid>/stat; false when it cannot be read.
bool ReadStat(pid_t pid, char* state, pid_t* pgrp) {
  const std::string path = absl::StrCat("/proc/", pid, "/stat");
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  char buffer[512];
  const ssize_t size = read(fd.get(), buffer, sizeof(buffer) - 1);
  if (size <= 0) return false;
  buffer[size] = '\0';
  // "pid (comm) S ppid pgrp ...": comm may hold anything, so from its last ')'.
  const char* end_of_comm = strrchr(buffer, ')');
  int parent = 0;
  int group = 0;
  if (end_of_comm == nullptr || sscanf(end_of_comm + 1, " %c %d %d", state, &parent, &group) != 3) {
    return false;
  }
  *pgrp = group;
  return true;
}

bool Running(char state) { return state != 'Z' && state != 'X' && state != 'x'; }

}  // namespace

SandboxeeProcess::~SandboxeeProcess() {
  if (reaped_) return;
  Kill();
  siginfo_t info;
  Finish(&info, nullptr).IgnoreError();
}

void SandboxeeProcess::Kill() {
  if (init_pidfd_.valid()) {
    syscall(SYS_pidfd_send_signal, init_pidfd_.get(), SIGKILL, nullptr, 0);
    return;
  }
  // Before the child's setpgid there is no group of that id: a group id is its leader's pid,
  // and the child, unreaped, holds that pid.
  kill(-pid_, SIGKILL);
  syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
}

absl::Status SandboxeeProcess::Wait(int options, siginfo_t* info, struct rusage* usage) {
  *info = {};
  long rc;
  do {
    rc = syscall(SYS_waitid, P_PIDFD, pidfd_.get(), info, WEXITED | options, usage);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    return absl::ErrnoToStatus(errno,
                               absl::StrFormat("launcher: waitid(P_PIDFD%s) for pid %d",
                                               (options & WNOWAIT) != 0 ? ", WNOWAIT" : "", pid_));
  }
  return absl::OkStatus();
}

absl::Status SandboxeeProcess::Finish(siginfo_t* info, struct rusage* usage) {
  // The child stays a zombie meanwhile: its pid, the group's id, names no one else.
  if (absl::Status seen = Wait(WNOWAIT, info, nullptr); !seen.ok()) return seen;
  kill(-pid_, SIGKILL);
  if (absl::Status reaped = Wait(0, info, usage); !reaped.ok()) return reaped;
  reaped_ = true;
  WaitForProcessGroup(pid_, absl::Now() + kGroupExitWait);
  return absl::OkStatus();
}

bool WaitForProcessGroup(pid_t pgid, absl::Time deadline) {
  for (;;) {
    if (kill(-pgid, 0) != 0) return true;
    std::vector<UniqueFd> running;
    DIR* proc = opendir("/proc");
    if (proc == nullptr) return false;
    while (const dirent* entry = readdir(proc)) {
      pid_t pid = 0;
      char state = 0;
      pid_t group = 0;
      if (!absl::SimpleAtoi(entry->d_name, &pid) || !ReadStat(pid, &state, &group) ||
          group != pgid || !Running(state)) {
        continue;
      }
      UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
      // Checked again through the pidfd's process: the pid could have been reused meanwhile.
      if (pidfd.valid() && ReadStat(pid, &state, &group) && group == pgid && Running(state)) {
        running.push_back(std::move(pidfd));
      }
    }
    closedir(proc);
    if (running.empty()) return true;
    for (const UniqueFd& pidfd : running) {
      pollfd ready = {pidfd.get(), POLLIN, 0};
      if (poll(&ready, 1, PollTimeout(deadline)) == 0) return false;
    }
  }
}

std::string NamespaceNames(NamespaceSet set) {
  std::vector<std::string> names;
  for (Namespace ns : kAllNamespaces) {
    if (set.Has(ns)) names.push_back(NamespaceName(ns));
  }
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

absl::StatusOr<NamespacesEntered> ReceiveNamespaceReport(int report_fd, int child_pidfd,
                                                         absl::Time deadline) {
  pollfd fds[2] = {{report_fd, POLLIN, 0}, {child_pidfd, POLLIN, 0}};
  for (;;) {
    const int ready = poll(fds, 2, PollTimeout(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      return absl::ErrnoToStatus(errno, "launcher: poll for the sandboxee's namespace report");
    }
    if (ready == 0) return absl::DeadlineExceededError("launcher: sandboxee set-up timed out");
    if (fds[0].revents != 0) break;
    fds[1].fd = -1;  // exited: its end of the socket is closed too, or will be
  }
  NamespaceReport report = {};
  iovec iov = {&report, sizeof(report)};
  union {
    char bytes[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int))];
    cmsghdr align;
  } control = {};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof(control.bytes);
  ssize_t size;
  do {
    size = recvmsg(report_fd, &msg, MSG_CMSG_CLOEXEC);
  } while (size < 0 && errno == EINTR);
  const int receive_error = errno;
  NamespacesEntered entered;
  bool have_credentials = false;
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); size >= 0 && cmsg != nullptr;
       cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET) continue;
    if (cmsg->cmsg_type == SCM_RIGHTS) {
      const size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(fd));
        UniqueFd owned(fd);
        if (i == 0) entered.init_pidfd = std::move(owned);
      }
    } else if (cmsg->cmsg_type == SCM_CREDENTIALS) {
      ucred credentials;
      memcpy(&credentials, CMSG_DATA(cmsg), sizeof(credentials));
      entered.sandboxee_pid = credentials.pid;
      have_credentials = true;
    }
  }
  const int off = 0;
  if (setsockopt(report_fd, SOL_SOCKET, SO_PASSCRED, &off, sizeof(off)) != 0) {
    return absl::ErrnoToStatus(errno, "launcher: setsockopt(SO_PASSCRED, 0) on the set-up socket");
  }
  if (size < 0) {
    return absl::ErrnoToStatus(receive_error, "launcher: recvmsg of the namespace report");
  }
  if (size == static_cast<ssize_t>(sizeof(SetupReport)) && report.step != SetupStep::kNamespaces) {
    return absl::ErrnoToStatus(
        report.error,
        absl::StrFormat("launcher: sandboxee set-up failed at %s", SetupStepName(report.step)));
  }
  if (size != static_cast<ssize_t>(sizeof(report)) || report.step != SetupStep::kNamespaces) {
    return absl::InternalError(
        "launcher: the sandboxee exited during set-up without a namespace report");
  }
  for (Namespace ns : kAllNamespaces) {
    entered.refused_errno[static_cast<int>(ns)] =
        report.outcome.refused_errno[static_cast<int>(ns)];
  }
  if (report.error != 0) {
    std::string named = "?";
    for (Namespace ns : kAllNamespaces) {
      if (entered.refused_errno[static_cast<int>(ns)] == report.error) named = NamespaceName(ns);
    }
    return absl::ErrnoToStatus(
        report.error, absl::StrFormat("launcher: sandboxee set-up failed at %s: namespace %s",
                                      SetupStepName(SetupStep::kNamespaces), named));
  }
  entered.created = NamespaceSet(report.outcome.created);
  if (!have_credentials || entered.sandboxee_pid <= 0) {
    return absl::InternalError("launcher: the namespace report came without the sender's pid");
  }
  if (entered.created.Has(Namespace::kPid) != entered.init_pidfd.valid()) {
    return absl::InternalError("launcher: the namespace report's init pidfd does not match");
  }
  return entered;
}

}  // namespace sbox
