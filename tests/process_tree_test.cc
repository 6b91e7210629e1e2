// Every descendant of the sandboxee dies with the run (launcher/sandboxee_process.h): real
// children that outlive their parents, with and without a pid namespace, for a function
// sandboxee and an exec'ed program, after an exit, a timeout and a violation. Each descendant
// is named by a marker (its comm), and /proc must show none of them running once Run returns.

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "broker/syscall_policy.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using testing::SharedInts;

// A comm no other process has: "sbxt" and 8 digits of this process and a counter.
std::string NewMarker() {
  static std::atomic<int> counter{0};
  return absl::StrCat("sbxt", (getpid() % 10000) * 10000 + counter++ % 10000);
}

// The pids of the processes named `marker` that are not zombies.
std::vector<pid_t> Running(const std::string& marker) {
  std::vector<pid_t> found;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return found;
  while (const dirent* entry = readdir(proc)) {
    pid_t pid;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    std::string stat = testing::ReadFileOrDie(absl::StrCat("/proc/", pid, "/stat"));
    const size_t open = stat.find('(');
    const size_t close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) {
      continue;
    }
    const char state = stat[close + 2];
    if (stat.substr(open + 1, close - open - 1) == marker && state != 'Z' && state != 'X') {
      found.push_back(pid);
    }
  }
  closedir(proc);
  return found;
}

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                     CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

// What a forking sandboxee needs beyond the parser's calls: fork (clone without CLONE_THREAD
// or a namespace) and wait4.
SyscallPolicy::Builder Forking(SyscallPolicy::Builder policy) {
  policy.Allow("clone", {Arg(0).MaskedEq(CLONE_THREAD | kNamespaceFlags, 0)}).Allow("wait4");
  return policy;
}

Launcher FunctionLauncher() {
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().Build();
  absl::StatusOr<SyscallPolicy> syscalls = Forking(SyscallPolicy::BrokeredParser()).Build();
  if (!files.ok() || !syscalls.ok()) abort();
  Launcher launcher(*std::move(files), *std::move(syscalls));
  launcher.SetTimeout(absl::Seconds(60)).SetStdio(Launcher::Stdio::kNull);
  return launcher;
}

enum class End { kExit, kSleep, kViolate, kGrandchildViolates };

// The sandboxee function: two grandchildren named `marker` that outlive their parents (counted
// in `started`), then `end`.
int ForkAndEnd(const std::string& marker, const SharedInts& started, End end) {
  const int grandchildren = end == End::kGrandchildViolates ? 3 : 2;
  for (int i = 0; i < grandchildren; ++i) {
    const pid_t child = fork();
    if (child < 0) return 2;
    if (child == 0) {
      if (fork() == 0) {
        prctl(PR_SET_NAME, marker.c_str());
        __atomic_fetch_add(&started[0], 1, __ATOMIC_SEQ_CST);
        if (end == End::kGrandchildViolates && i == 2) syscall(SYS_ptrace, 0, 0, 0, 0);
        for (;;) usleep(100000);
      }
      _exit(0);
    }
    waitpid(child, nullptr, 0);
  }
  while (__atomic_load_n(&started[0], __ATOMIC_SEQ_CST) < grandchildren) usleep(1000);
  switch (end) {
    case End::kExit:
      return 0;
    case End::kViolate:
      syscall(SYS_ptrace, 0, 0, 0, 0);
      break;
    case End::kSleep:
    case End::kGrandchildViolates:
      break;
  }
  for (;;) usleep(100000);
}

class ProcessTree : public ::testing::TestWithParam<bool> {
 protected:
  Launcher MakeLauncher() {
    Launcher launcher = FunctionLauncher();
    if (GetParam()) launcher.SetNamespaces({Namespace::kUser, Namespace::kPid}, true);
    return launcher;
  }

  void RunAndCheck(Launcher& launcher, End end, SandboxResult::Outcome expected) {
    const std::string marker = NewMarker();
    SharedInts started(1);
    started[0] = 0;
    absl::StatusOr<SandboxResult> result =
        launcher.Run([&](UniqueFd) { return ForkAndEnd(marker, started, end); });
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->outcome, expected) << result->ToString();
    EXPECT_EQ(started[0], end == End::kGrandchildViolates ? 3 : 2);
    EXPECT_EQ(Running(marker), std::vector<pid_t>()) << result->ToString();
  }
};

TEST_P(ProcessTree, DescendantsDieWhenTheSandboxeeExits) {
  Launcher launcher = MakeLauncher();
  RunAndCheck(launcher, End::kExit, SandboxResult::Outcome::kExited);
}

TEST_P(ProcessTree, DescendantsDieOnTimeout) {
  Launcher launcher = MakeLauncher();
  launcher.SetTimeout(absl::Seconds(1));
  RunAndCheck(launcher, End::kSleep, SandboxResult::Outcome::kTimedOut);
}

TEST_P(ProcessTree, DescendantsDieOnViolation) {
  Launcher launcher = MakeLauncher();
  RunAndCheck(launcher, End::kViolate, SandboxResult::Outcome::kViolation);
}

TEST_P(ProcessTree, AGrandchildsViolationIsReportedAndEndsTheTree) {
  Launcher launcher = MakeLauncher();
  const std::string marker = NewMarker();
  SharedInts started(1);
  started[0] = 0;
  absl::StatusOr<SandboxResult> result =
      launcher.Run([&](UniqueFd) { return ForkAndEnd(marker, started, End::kGrandchildViolates); });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
  EXPECT_EQ(result->violation->syscall_name, "ptrace");
  EXPECT_EQ(Running(marker), std::vector<pid_t>());
}

TEST_P(ProcessTree, NoDescendantLeavesTheGroup) {
  Launcher launcher = MakeLauncher();
  for (const char* call : {"setpgid", "setsid"}) {
    absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd) {
      if (fork() == 0) {
        if (std::string(call) == "setpgid") {
          setpgid(0, 0);
        } else {
          setsid();
        }
        _exit(0);
      }
      for (;;) usleep(100000);
      return 0;
    });
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
    EXPECT_EQ(result->violation->syscall_name, call);
  }
}

std::string ProbePath() {
  return absl::StrCat(getenv("TEST_SRCDIR"), "/", getenv("TEST_WORKSPACE"), "/tests/tree_probe");
}

// RunProgram of tests/tree_probe: what it printed, after checking none of its processes runs.
void RunProbe(bool pid_namespace, const std::string& mode, SandboxResult::Outcome expected) {
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().Build();
  absl::StatusOr<SyscallPolicy> syscalls =
      Forking(SyscallPolicy::ProgramDefault()).Build(Redirection::kUserNotification);
  ASSERT_TRUE(files.ok() && syscalls.ok());
  Launcher launcher(*std::move(files), *std::move(syscalls));
  launcher.SetTimeout(absl::Seconds(mode == "sleep" ? 2 : 60));
  if (pid_namespace) launcher.SetNamespaces({Namespace::kUser, Namespace::kPid}, true);
  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  launcher.SetStdioFds(-1, out[1], -1);
  const std::string marker = NewMarker();
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"tree_probe", marker, mode}, {}});
  close(out[1]);
  char buffer[64] = {};
  const ssize_t got = read(out[0], buffer, sizeof(buffer) - 1);
  close(out[0]);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, expected) << result->ToString();
  // The grandchild's ptrace, its only one, ends the tree before the probe prints.
  if (mode == "grandchild-violates") {
    ASSERT_TRUE(result->violation.has_value());
    EXPECT_EQ(result->violation->syscall_name, "ptrace");
  } else {
    EXPECT_EQ(std::string(buffer, got > 0 ? got : 0), "started\n");
  }
  EXPECT_EQ(Running(marker), std::vector<pid_t>()) << result->ToString();
}

TEST_P(ProcessTree, AProgramsDescendantsDieWhenItExits) {
  RunProbe(GetParam(), "exit", SandboxResult::Outcome::kExited);
}

TEST_P(ProcessTree, AProgramsDescendantsDieOnTimeout) {
  RunProbe(GetParam(), "sleep", SandboxResult::Outcome::kTimedOut);
}

TEST_P(ProcessTree, AProgramsDescendantsDieOnViolation) {
  RunProbe(GetParam(), "violate", SandboxResult::Outcome::kViolation);
}

TEST_P(ProcessTree, AProgramsGrandchildsViolationEndsTheTree) {
  RunProbe(GetParam(), "grandchild-violates", SandboxResult::Outcome::kViolation);
}

// The launching process is killed mid-run: nothing of the tree outlives it for long (the kill
// reaches the descendants asynchronously, through the group guard or the pid namespace's init).
TEST_P(ProcessTree, DescendantsDieWithTheLauncher) {
  const std::string marker = NewMarker();
  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  const pid_t host = fork();
  if (host == 0) {
    close(out[0]);
    absl::StatusOr<FilePolicy> files = FilePolicy::Builder().Build();
    absl::StatusOr<SyscallPolicy> syscalls =
        Forking(SyscallPolicy::ProgramDefault()).Build(Redirection::kUserNotification);
    if (!files.ok() || !syscalls.ok()) _exit(1);
    Launcher launcher(*std::move(files), *std::move(syscalls));
    if (GetParam()) launcher.SetNamespaces({Namespace::kUser, Namespace::kPid}, true);
    launcher.SetStdioFds(-1, out[1], -1);
    launcher.RunProgram({ProbePath(), {"tree_probe", marker, "sleep"}, {}}).IgnoreError();
    _exit(2);
  }
  close(out[1]);
  char buffer[16] = {};
  ASSERT_EQ(read(out[0], buffer, 8), 8);  // "started\n": both grandchildren are up
  close(out[0]);
  EXPECT_GE(Running(marker).size(), 2u);  // the probe and its two grandchildren
  kill(host, SIGKILL);
  waitpid(host, nullptr, 0);
  std::vector<pid_t> left = Running(marker);
  for (int i = 0; i < 500 && !left.empty(); ++i) {
    usleep(10000);
    left = Running(marker);
  }
  EXPECT_EQ(left, std::vector<pid_t>());
  for (pid_t pid : left) kill(pid, SIGKILL);
}

// The sandboxee's own process group is the terminal's foreground job while it runs: a program
// reading its terminal is not stopped (SIGTTIN), and the launcher gets the terminal back after.
TEST(ProcessTreeTerminal, AnInteractiveProgramReadsItsTerminal) {
  const int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(grantpt(master), 0);
  ASSERT_EQ(unlockpt(master), 0);
  const std::string slave_path = ptsname(master);
  const pid_t host = fork();
  if (host == 0) {
    // A session of its own with the pty as its terminal: the host is its foreground job.
    const int slave = setsid() < 0 ? -1 : open(slave_path.c_str(), O_RDWR);
    if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) != 0) _exit(10);
    for (int fd = 0; fd < 3; ++fd) dup2(slave, fd);
    FilePolicy::Builder builder;
    builder.AllowReadFile("/etc/ld.so.cache").AllowReadTree("/usr/lib").AllowReadTree("/lib");
    absl::StatusOr<FilePolicy> files = builder.Build();
    absl::StatusOr<SyscallPolicy> syscalls =
        SyscallPolicy::ProgramDefault().Build(Redirection::kUserNotification);
    if (!files.ok() || !syscalls.ok()) _exit(11);
    Launcher launcher(*std::move(files), *std::move(syscalls));
    launcher.SetTimeout(absl::Seconds(20));
    absl::StatusOr<SandboxResult> result =
        launcher.RunProgram({"/usr/bin/head", {"head", "-n", "1"}, {}});
    if (!result.ok() || !result->ok()) _exit(12);
    // The foreground is the host's again.
    _exit(tcgetpgrp(0) == getpgrp() ? 0 : 13);
  }
  ASSERT_EQ(write(master, "hello\n", 6), 6);
  std::string seen;
  char buffer[256];
  pollfd ready = {master, POLLIN, 0};
  while (seen.find("hello\r\nhello\r\n") == std::string::npos && poll(&ready, 1, 20000) > 0) {
    const ssize_t got = read(master, buffer, sizeof(buffer));
    if (got <= 0) break;
    seen.append(buffer, got);
  }
  int status = 0;
  waitpid(host, &status, 0);
  close(master);
  EXPECT_NE(seen.find("hello\r\nhello\r\n"), std::string::npos) << seen;
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

INSTANTIATE_TEST_SUITE_P(PidNamespace, ProcessTree, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("WithPidNamespace")
                                             : std::string("WithoutPidNamespace");
                         });

}  // namespace
}  // namespace sbox
