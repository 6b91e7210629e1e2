// Launcher::RunProgram with real programs: dynamically linked ones from the system, whose
// loader opens its libraries through the broker, and a statically linked probe that makes
// every redirected file syscall itself. The program never runs a file syscall of its own: each
// is a seccomp user notification that the broker answers.

#include <fcntl.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "broker/decision.h"
#include "broker/notification_broker.h"
#include "broker/syscall_policy.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "proto/wire_format.h"
#include "tests/fd_count.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using testing::Capture;

using testing::CountOpenFds;
using testing::ScratchDir;

SyscallPolicy ProgramPolicy(Redirection redirection = Redirection::kUserNotification) {
  // cat(1) advises the kernel it will read sequentially.
  absl::StatusOr<SyscallPolicy> policy =
      SyscallPolicy::ProgramDefault().Allow("fadvise64").Build(redirection);
  if (!policy.ok()) {
    ADD_FAILURE() << policy.status();
    abort();
  }
  return *std::move(policy);
}

// The loader's files: its cache and the libraries ("/lib" is a symlink to "usr/lib" on
// merged-/usr systems; the policy judges both names).
FilePolicy::Builder LoaderFiles() {
  FilePolicy::Builder files;
  files.AllowReadFile("/etc/ld.so.cache").AllowReadTree("/usr/lib").AllowReadTree("/lib");
  return files;
}

Launcher MakeProgramLauncher(const FilePolicy::Builder& files) {
  absl::StatusOr<FilePolicy> policy = files.Build();
  if (!policy.ok()) {
    ADD_FAILURE() << policy.status();
    abort();
  }
  Launcher launcher(*std::move(policy), ProgramPolicy());
  launcher.SetTimeout(absl::Seconds(60));
  return launcher;
}

std::string ProbePath() {
  return absl::StrCat(getenv("TEST_SRCDIR"), "/", getenv("TEST_WORKSPACE"), "/tests/exec_probe");
}

TEST(RunProgram, TrueExitsZero) {
  Launcher launcher = MakeProgramLauncher(LoaderFiles());
  absl::StatusOr<SandboxResult> result = launcher.RunProgram({"/bin/true", {"true"}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
}

// A working directory short enough for std::string's inline buffer: the launcher must keep
// the very bytes its cloned child reads until the child has exec'ed. Repeated, because a
// launcher that does not loses a race only some of the time.
TEST(RunProgram, RunsInAShortWorkingDirectory) {
  Launcher launcher = MakeProgramLauncher(LoaderFiles());
  launcher.SetWorkingDirectory("/");
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<SandboxResult> result = launcher.RunProgram({"/bin/true", {"true"}, {}});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->ok()) << result->ToString();
  }
}

std::string RunProbePath() {
  return absl::StrCat(getenv("TEST_SRCDIR"), "/", getenv("TEST_WORKSPACE"), "/tests/run_probe");
}

// Eight threads open a file over and over; each decision takes 2 ms, as on a slow file system.
// Served one at a time, no two decisions would ever overlap.
TEST(RunProgram, ThreadsOpeningAtOnceAreServedAtOnce) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("shared.txt", "x");
  FilePolicy::Builder files = LoaderFiles();
  files.AllowReadFile(file);
  Launcher launcher = MakeProgramLauncher(files);
  absl::Mutex mu;
  int in_flight = 0;
  int most_in_flight = 0;
  int decisions = 0;
  launcher.SetDecisionLog([&](const Decision& decision) {
    if (decision.path != file) return;
    {
      absl::MutexLock lock(&mu);
      ++decisions;
      most_in_flight = std::max(most_in_flight, ++in_flight);
    }
    absl::SleepFor(absl::Milliseconds(2));
    absl::MutexLock lock(&mu);
    --in_flight;
  });
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({RunProbePath(), {"run_probe", "threads", "8", "25", file}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(decisions, 8 * 25);
  EXPECT_GE(most_in_flight, 2);
  // The serving threads, and the launching thread's last call before it started them.
  EXPECT_LE(most_in_flight, NotificationBroker::ServingThreads() + 1);
}

TEST(RunProgram, CatWritesAGrantedFile) {
  ScratchDir scratch;
  const std::string contents = "the quick brown fox\njumps\n";
  const std::string file = scratch.WriteFile("granted.txt", contents);
  Launcher launcher = MakeProgramLauncher(LoaderFiles().AllowReadFile(file));
  Capture out;
  launcher.SetStdioFds(-1, out.write_fd(), -1);
  absl::Mutex mu;
  std::vector<std::string> granted;
  launcher.SetDecisionLog([&](const Decision& decision) {
    absl::MutexLock lock(&mu);
    if (decision.allowed && decision.error == 0) granted.emplace_back(decision.path);
  });
  absl::StatusOr<SandboxResult> result = launcher.RunProgram({"/bin/cat", {"cat", file}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(out.Take(), contents);
  // The loader's opens and cat's own are the broker's decisions, logged as for the channel.
  absl::MutexLock lock(&mu);
  EXPECT_NE(std::find(granted.begin(), granted.end(), file), granted.end());
  EXPECT_NE(std::find(granted.begin(), granted.end(), "/etc/ld.so.cache"), granted.end());
}

// A path no rule covers is as if absent.
TEST(RunProgram, CatOfAFileOutsideTheGrantsFindsNoSuchFile) {
  ScratchDir scratch;
  const std::string file = scratch.WriteFile("secret.txt", "secret\n");
  Launcher launcher = MakeProgramLauncher(LoaderFiles());
  Capture out;
  Capture err;
  launcher.SetStdioFds(-1, out.write_fd(), err.write_fd());
  absl::StatusOr<SandboxResult> result = launcher.RunProgram({"/bin/cat", {"cat", file}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, SandboxResult::Outcome::kExited) << result->ToString();
  EXPECT_EQ(result->exit_code, 1);
  EXPECT_EQ(out.Take(), "");
  EXPECT_EQ(err.Take(), absl::StrCat("cat: ", file, ": No such file or directory\n"));
}

TEST(RunProgram, FileCallsOfAStaticProgramAreBrokered) {
  ScratchDir scratch;
  const std::string dir = scratch.MakeDir("tree");
  scratch.WriteFile("tree/data.txt", "hello\n");
  const std::string secret = scratch.WriteFile("secret.txt", "secret\n");
  Launcher launcher =
      MakeProgramLauncher(FilePolicy::Builder().AllowTree(dir, kRead | kWrite | kCreate | kDelete));
  launcher.SetWorkingDirectory(dir);
  Capture out;
  launcher.SetStdioFds(-1, out.write_fd(), -1);
  absl::Mutex mu;
  std::vector<std::pair<proto::Op, std::string>> logged;
  launcher.SetDecisionLog([&](const Decision& decision) {
    absl::MutexLock lock(&mu);
    logged.emplace_back(decision.op, decision.path);
  });
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"exec_probe", "files", dir, secret}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string output = out.Take();
  EXPECT_TRUE(result->ok()) << result->ToString() << "\n" << output;
  EXPECT_EQ(output, "ok\n");
  // Every brokered call is a decision, getcwd included, as for the channel's requests.
  absl::MutexLock lock(&mu);
  for (const auto& expected :
       {std::make_pair(proto::Op::kGetcwd, dir), std::make_pair(proto::Op::kOpen, secret),
        std::make_pair(proto::Op::kReadlink, dir + "/link"),
        std::make_pair(proto::Op::kChdir, dir + "/sub")}) {
    EXPECT_NE(std::find(logged.begin(), logged.end(), expected), logged.end())
        << static_cast<int>(expected.first) << " " << expected.second;
  }
}

TEST(RunProgram, TheProgramsEnvironmentNamesTheChannel) {
  Launcher launcher = MakeProgramLauncher(LoaderFiles());
  Capture out;
  launcher.SetStdioFds(-1, out.write_fd(), -1);
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({"/usr/bin/env", {"env"}, {"SBOX_BROKER_FD=7", "KEPT=yes"}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(out.Take(), "KEPT=yes\nSBOX_BROKER_FD=3\n");
}

TEST(RunProgram, ConcurrentOpensFromThreadsAreAllAnswered) {
  ScratchDir scratch;
  const std::string file = scratch.WriteFile("shared.txt", "x");
  Launcher launcher = MakeProgramLauncher(FilePolicy::Builder().AllowReadFile(file));
  Capture out;
  launcher.SetStdioFds(-1, out.write_fd(), -1);
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"exec_probe", "threads", file}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string output = out.Take();
  EXPECT_TRUE(result->ok()) << result->ToString() << "\n" << output;
  EXPECT_EQ(output, "ok\n");
}

TEST(RunProgram, ThreadsGoOnAfterTheMainThreadExits) {
  ScratchDir scratch;
  const std::string dir = scratch.MakeDir("tree");
  scratch.WriteFile("tree/data.txt", "hello\n");
  Launcher launcher = MakeProgramLauncher(FilePolicy::Builder().AllowReadTree(dir));
  Capture out;
  launcher.SetStdioFds(-1, out.write_fd(), -1);
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"exec_probe", "leaderless", dir}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string output = out.Take();
  EXPECT_TRUE(result->ok()) << result->ToString() << "\n" << output;
  EXPECT_EQ(output, "ok\n");
}

TEST(RunProgram, ThreadsKilledMidCallLeaveTheBrokerUnharmed) {
  ScratchDir scratch;
  const std::string file = scratch.WriteFile("shared.txt", "x");
  Launcher launcher = MakeProgramLauncher(FilePolicy::Builder().AllowReadFile(file));
  const int before = CountOpenFds();
  for (int i = 0; i < 10; ++i) {
    // Long enough for the set-up to finish on a loaded machine, so that the kill comes while
    // the threads flood the broker.
    launcher.SetTimeout(absl::Milliseconds(300 + 20 * i));
    absl::StatusOr<SandboxResult> result =
        launcher.RunProgram({ProbePath(), {"exec_probe", "flood", file}, {}});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->outcome, SandboxResult::Outcome::kTimedOut) << result->ToString();
  }
  EXPECT_EQ(CountOpenFds(), before);
}

TEST(RunProgram, ConnectReachesOnlyGrantedSockets) {
  ScratchDir scratch;
  const std::string path = scratch.path() + "/granted.sock";
  UniqueFd directory(open(scratch.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(directory.valid());
  UniqueFd listener(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  UniqueFd other_listener(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  for (const auto& [fd, name] : {std::pair<int, const char*>{listener.get(), "granted.sock"},
                                 std::pair<int, const char*>{other_listener.get(), "other.sock"}}) {
    // Bound through /proc/self/fd, so that a long TEST_TMPDIR cannot overflow sun_path.
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    snprintf(address.sun_path, sizeof(address.sun_path), "/proc/self/fd/%d/%s", directory.get(),
             name);
    ASSERT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
    ASSERT_EQ(listen(fd, 4), 0);
  }
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().AllowFile(path, kConnect).Build();
  ASSERT_TRUE(files.ok()) << files.status();
  absl::StatusOr<SyscallPolicy> syscalls = SyscallPolicy::ProgramDefault()
                                               .Allow("socket", {Arg(0).Eq(AF_UNIX)})
                                               .Build(Redirection::kUserNotification);
  ASSERT_TRUE(syscalls.ok()) << syscalls.status();
  Launcher launcher(*std::move(files), *std::move(syscalls));
  // The probe names the sockets relative to it, short enough for sun_path.
  launcher.SetTimeout(absl::Seconds(60)).SetWorkingDirectory(scratch.path());
  Capture out;
  launcher.SetStdioFds(-1, out.write_fd(), -1);
  absl::StatusOr<SandboxResult> result = launcher.RunProgram(
      {ProbePath(), {"exec_probe", "connect", "granted.sock", "other.sock"}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string output = out.Take();
  EXPECT_TRUE(result->ok()) << result->ToString() << "\n" << output;
  EXPECT_EQ(output, "ok\n");
  UniqueFd accepted(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(accepted.valid()) << strerror(errno);
  char received[8] = {};
  EXPECT_EQ(read(accepted.get(), received, sizeof(received)), 4);
  EXPECT_STREQ(received, "ping");
  EXPECT_LT(accept4(other_listener.get(), nullptr, nullptr, SOCK_CLOEXEC), 0);
}

TEST(RunProgram, ACallTheBrokerAnsweredDoesNotRunAgainAfterASignal) {
  ScratchDir scratch;
  const std::string dir = scratch.MakeDir("tree");
  absl::StatusOr<FilePolicy> files =
      FilePolicy::Builder().AllowTree(dir, kRead | kWrite | kCreate | kDelete).Build();
  ASSERT_TRUE(files.ok()) << files.status();
  absl::StatusOr<SyscallPolicy> syscalls =
      SyscallPolicy::ProgramDefault().Allow("setitimer").Build(Redirection::kUserNotification);
  ASSERT_TRUE(syscalls.ok()) << syscalls.status();
  Launcher launcher(*std::move(files), *std::move(syscalls));
  launcher.SetTimeout(absl::Seconds(60));
  Capture out;
  launcher.SetStdioFds(-1, out.write_fd(), -1);
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"exec_probe", "signals", dir}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string output = out.Take();
  EXPECT_TRUE(result->ok()) << result->ToString() << "\n" << output;
  EXPECT_EQ(output, "ok\n");
}

TEST(RunProgram, TheProgramStartsWithDefaultSignalState) {
  Launcher launcher = MakeProgramLauncher(LoaderFiles());
  Capture out;
  launcher.SetStdioFds(-1, out.write_fd(), -1);
  // The launching thread ignores SIGPIPE, handles SIGUSR2 and blocks SIGUSR1; the program
  // must inherit none of it.
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old_pipe;
  ASSERT_EQ(sigaction(SIGPIPE, &ignore, &old_pipe), 0);
  struct sigaction handle = {};
  handle.sa_handler = [](int) {};
  struct sigaction old_usr2;
  ASSERT_EQ(sigaction(SIGUSR2, &handle, &old_usr2), 0);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigset_t old_mask;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &usr1, &old_mask), 0);
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"exec_probe", "sigstate"}, {}});
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  sigaction(SIGUSR2, &old_usr2, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string output = out.Take();
  EXPECT_TRUE(result->ok()) << result->ToString() << "\n" << output;
  EXPECT_EQ(output, "ok\n");
}

TEST(RunProgram, GarbageArgumentsNeitherCrashNorStallTheBroker) {
  ScratchDir scratch;
  const std::string dir = scratch.MakeDir("tree");
  scratch.WriteFile("tree/data.txt", "hello\n");
  Launcher launcher =
      MakeProgramLauncher(FilePolicy::Builder().AllowTree(dir, kRead | kWrite | kCreate | kDelete));
  launcher.SetWorkingDirectory(dir);
  Capture out;
  launcher.SetStdioFds(-1, out.write_fd(), -1);
  std::atomic<int> decisions{0};
  launcher.SetDecisionLog([&](const Decision&) { ++decisions; });
  const int before = CountOpenFds();
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"exec_probe", "garbage", dir}, {}});

  ASSERT_TRUE(result.ok()) << result.status();
  const std::string output = out.Take();
  EXPECT_TRUE(result->ok()) << result->ToString() << "\n" << output;
  EXPECT_EQ(output, "ok\n");
  EXPECT_EQ(CountOpenFds(), before - 1);  // Take() closed the capture's write end
  // Many calls got past the argument checks to the policy (about a fifth of 20000 here).
  EXPECT_GT(decisions.load(), 1000);
}

// The tree exec_probe's "kernel" mode expects, fresh.
std::string MakeKernelTree(const ScratchDir& scratch, const std::string& name) {
  const std::string dir = scratch.MakeDir(name);
  scratch.WriteFile(name + "/f", "hello");
  scratch.MakeDir(name + "/d");
  scratch.WriteFile(name + "/d/g", "g");
  scratch.MakeDir(name + "/e");
  scratch.Symlink(name + "/l", "f");
  scratch.Symlink(name + "/dl", "missing");
  return dir;
}

// Runs exec_probe `mode` unsandboxed in `dir` and returns its stdout.
std::string RunNatively(const std::string& mode, const std::string& dir) {
  Capture out;
  const pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0 || dup2(out.write_fd(), 1) != 1) _exit(126);
    const std::string probe = ProbePath();
    execl(probe.c_str(), "exec_probe", mode.c_str(), nullptr);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  return out.Take();
}

TEST(RunProgram, RedirectedCallsAnswerAsTheKernelDoes) {
  ScratchDir scratch;
  const std::string native = RunNatively("kernel", MakeKernelTree(scratch, "native"));
  const std::string dir = MakeKernelTree(scratch, "sandboxed");
  // A policy that grants everything, so that every difference is the translation's; its create
  // modes as wide as the kernel's, so that chmod is not capped.
  Launcher launcher = MakeProgramLauncher(FilePolicy::Builder()
                                              .AllowTree(dir, kRead | kWrite | kCreate | kDelete)
                                              .SetCreateModes(0777, 0777));
  launcher.SetWorkingDirectory(dir);
  Capture out;
  launcher.SetStdioFds(-1, out.write_fd(), -1);
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"exec_probe", "kernel"}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(out.Take(), native);
}

TEST(RunProgram, ASecondExecveIsAViolation) {
  Launcher launcher = MakeProgramLauncher(LoaderFiles());
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"exec_probe", "exec"}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
  EXPECT_EQ(result->violation->syscall_name, "execve");
  EXPECT_NE(result->violation->call.find("\"/bin/true\""), std::string::npos)
      << result->violation->call;
}

TEST(RunProgram, ANetworkSocketIsAViolation) {
  Launcher launcher = MakeProgramLauncher(LoaderFiles());
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"exec_probe", "socket"}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
  EXPECT_EQ(result->violation->syscall_name, "socket");
  EXPECT_EQ(result->violation->args[0], static_cast<uint64_t>(AF_INET));
}

TEST(RunProgram, AnAfUnixDatagramSocketIsAViolation) {
  // It could send to any socket by name with sendmsg, past the broker's connect.
  Launcher launcher = MakeProgramLauncher(LoaderFiles());
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"exec_probe", "unix-dgram"}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
  EXPECT_EQ(result->violation->syscall_name, "socket");
  EXPECT_EQ(result->violation->args[1], static_cast<uint64_t>(SOCK_DGRAM));
}

// The own-process group (broker/own_process_calls.h), answered by the broker from real
// notifications: what names the caller runs.
TEST(RunProgram, OwnProcessCallsRunOnlyOnTheCallerItself) {
  Launcher launcher = MakeProgramLauncher(LoaderFiles());
  Capture out;
  launcher.SetStdioFds(-1, out.write_fd(), -1);
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"exec_probe", "own-process"}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(out.Take(),
            "sched_getaffinity thread: ok\n"
            "sched_getaffinity self: ok\n"
            "prlimit64 self: ok\n"
            "getpriority thread: ok\n"
            "kill self: ok\n"
            "tgkill self: ok\n"
            "tkill thread: ok\n"
            "capget self: ok\n"
            "ioctl TIOCSTI: ENOTTY\n"
            "ioctl FIONREAD: ok\n"
            "raise: ok\n"
            "socket unix stream: ok\n"
            "connect ungranted: ENOENT\n");
}

// ...and what names anyone else is a violation (tests/outside_reach_test.cc tries each call).
TEST(RunProgram, OwnProcessCallsNamingAnyoneElseAreViolations) {
  Launcher launcher = MakeProgramLauncher(LoaderFiles());
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"exec_probe", "kill-group"}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
  EXPECT_EQ(result->violation->syscall_name, "kill");
  EXPECT_EQ(result->violation->args[0], 0u);
}

// The broker answers only the calls the policy sends it: without the group, the same calls
// are the default action's, a violation.
TEST(RunProgram, WithoutTheGroupOwnProcessCallsAreViolations) {
  SyscallPolicy::Builder builder;
  for (SyscallGroup group : SyscallPolicy::AllGroups()) {
    if (group != SyscallGroup::kOwnProcess && group != SyscallGroup::kExecutableMemory &&
        group != SyscallGroup::kProcesses) {
      builder.AllowGroup(group);
    }
  }
  absl::StatusOr<SyscallPolicy> syscalls = builder.Build(Redirection::kUserNotification);
  ASSERT_TRUE(syscalls.ok()) << syscalls.status();
  EXPECT_TRUE(syscalls->own_process_calls().empty());
  absl::StatusOr<FilePolicy> files = LoaderFiles().Build();
  ASSERT_TRUE(files.ok()) << files.status();
  Launcher launcher(*std::move(files), *std::move(syscalls));
  launcher.SetTimeout(absl::Seconds(60));
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"exec_probe", "own-process"}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
  EXPECT_EQ(result->violation->syscall_name, "sched_getaffinity");
}

TEST(RunProgram, TerminalQueriesAreAnsweredTruthfully) {
  UniqueFd master(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(master.valid()) << strerror(errno);
  ASSERT_EQ(grantpt(master.get()), 0);
  ASSERT_EQ(unlockpt(master.get()), 0);
  UniqueFd terminal(open(ptsname(master.get()), O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(terminal.valid()) << strerror(errno);
  winsize size = {};
  size.ws_row = 33;
  size.ws_col = 77;
  ASSERT_EQ(ioctl(master.get(), TIOCSWINSZ, &size), 0);
  Launcher launcher = MakeProgramLauncher(LoaderFiles());
  Capture out;
  launcher.SetStdioFds(terminal.get(), out.write_fd(), -1);
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"exec_probe", "tty"}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(out.Take(), "isatty 1, window 0 33x77\n");
  // A pipe is no terminal, as outside.
  Capture in;
  Capture out2;
  launcher.SetStdioFds(in.write_fd(), out2.write_fd(), -1);
  result = launcher.RunProgram({ProbePath(), {"exec_probe", "tty"}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(out2.Take(), "isatty 0, window -1 0x0\n");
}

TEST(RunProgram, AbortIsACrashWithSigabrtNotAViolation) {
  Launcher launcher = MakeProgramLauncher(LoaderFiles());
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({ProbePath(), {"exec_probe", "abort"}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kSignaled) << result->ToString();
  EXPECT_EQ(result->signal, SIGABRT);
}

TEST(RunProgram, AFailingExecveIsASetUpErrorNamingThePath) {
  Launcher launcher = MakeProgramLauncher(LoaderFiles());
  absl::StatusOr<SandboxResult> result =
      launcher.RunProgram({"/nonexistent/program", {"program"}, {}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound) << result.status();
  EXPECT_NE(result.status().message().find("execve(\"/nonexistent/program\")"), std::string::npos)
      << result.status();
}

TEST(RunProgram, InvalidProgramsAreRefusedBeforeForking) {
  Launcher launcher = MakeProgramLauncher(LoaderFiles());
  EXPECT_EQ(launcher.RunProgram({"", {}, {}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(launcher.RunProgram({"/bin/true", {std::string("a\0b", 3)}, {}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RunProgram, RefusesAPolicyThatDoesNotRedirectThroughNotifications) {
  absl::StatusOr<FilePolicy> files = LoaderFiles().Build();
  ASSERT_TRUE(files.ok()) << files.status();
  Launcher launcher(*std::move(files), ProgramPolicy(Redirection::kTrap));
  absl::StatusOr<SandboxResult> result = launcher.RunProgram({"/bin/true", {"true"}, {}});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  EXPECT_NE(result.status().message().find("kUserNotification"), std::string::npos)
      << result.status();
}

TEST(RunProgram, TheBrokerAnswersEveryRedirectedFileCall) {
  for (const std::string& name : SyscallPolicy::RedirectedFileCalls()) {
    const int number = seccomp_syscall_resolve_name(name.c_str());
    ASSERT_NE(number, __NR_SCMP_ERROR) << name;
    EXPECT_TRUE(NotificationBroker::Answers(number)) << name;
  }
  EXPECT_FALSE(NotificationBroker::Answers(SYS_execve));
  EXPECT_TRUE(NotificationBroker::Answers(SYS_openat2));
  EXPECT_FALSE(NotificationBroker::Answers(SYS_getpid));
  EXPECT_FALSE(NotificationBroker::Answers(SYS_socket));
}

TEST(RunProgram, TheBrokersDescriptorCountStaysFlat) {
  Launcher launcher = MakeProgramLauncher(LoaderFiles());
  ASSERT_TRUE(launcher.RunProgram({"/bin/true", {"true"}, {}}).ok());
  const int before = CountOpenFds();
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<SandboxResult> result = launcher.RunProgram({"/bin/true", {"true"}, {}});
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_TRUE(result->ok()) << result->ToString();
    absl::StatusOr<SandboxResult> failed = launcher.RunProgram({"/nonexistent", {"x"}, {}});
    ASSERT_FALSE(failed.ok());
  }
  EXPECT_EQ(CountOpenFds(), before);
}

}  // namespace
}  // namespace sbox
