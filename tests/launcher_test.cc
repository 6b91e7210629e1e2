// What the launcher guarantees about the child, and what its result reports.

#include "launcher/launcher.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "gtest/gtest.h"
#include "sandboxee/broker_client.h"
#include "sandboxee/sandboxee_setup.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using testing::MakeLauncher;
using testing::SharedInts;

absl::StatusOr<SandboxResult> RunBody(const std::function<int()>& body) {
  Launcher launcher = MakeLauncher(FilePolicy::Builder());
  return launcher.Run([&](UniqueFd) { return body(); });
}

TEST(Launcher, ReportsTheExitCode) {
  absl::StatusOr<SandboxResult> result = RunBody([] { return 42; });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, SandboxResult::Outcome::kExited);
  EXPECT_EQ(result->exit_code, 42);
  EXPECT_EQ(result->ToString(), "exited with code 42");
}

// CPU time and memory are the sandboxee's, counted by the kernel at its reaping; wall time
// covers the launch.
TEST(Launcher, ReportsTheSandboxeesResourceUsage) {
  constexpr size_t kTouched = 32 << 20;
  absl::StatusOr<SandboxResult> result = RunBody([] {
    // About 50 ms of user time: spin on the CPU-time clock of the process itself.
    timespec now = {};
    volatile uint64_t spins = 0;
    while (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now) == 0 && now.tv_nsec < 50 * 1000 * 1000 &&
           now.tv_sec == 0) {
      ++spins;
    }
    char* memory = static_cast<char*>(
        mmap(nullptr, kTouched, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (memory == MAP_FAILED) return 1;
    for (size_t i = 0; i < kTouched; i += 4096) memory[i] = 1;
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->ok()) << result->ToString();
  EXPECT_GE(result->user_time_us + result->system_time_us, 40000);
  EXPECT_GE(result->max_rss_kb, static_cast<int64_t>(kTouched / 1024));
  EXPECT_GE(result->wall_time_us, result->user_time_us);
}

TEST(Launcher, ReportsTheTerminatingSignal) {
  absl::StatusOr<SandboxResult> result = RunBody([] {
    volatile int* null = nullptr;
    return *null;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, SandboxResult::Outcome::kSignaled);
  EXPECT_EQ(result->signal, SIGSEGV);
  EXPECT_EQ(result->ToString(), "killed by signal SIGSEGV (11)");
}

TEST(Launcher, DirectOpenatIsStoppedAndTheResultNamesIt) {
  absl::StatusOr<SandboxResult> result = RunBody(
      [] { return static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY)); });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
  ASSERT_TRUE(result->violation.has_value());
  EXPECT_EQ(result->violation->syscall_name, "openat");
  EXPECT_EQ(result->violation->syscall_number, SYS_openat);
  EXPECT_EQ(result->violation->arch, AUDIT_ARCH_X86_64);
  EXPECT_EQ(static_cast<int>(result->violation->args[0]), AT_FDCWD);
  EXPECT_EQ(result->violation->args[2], static_cast<uint64_t>(O_RDONLY));
  EXPECT_NE(result->violation->instruction_pointer, 0u);
  EXPECT_EQ(result->signal, SIGKILL);
  EXPECT_NE(result->ToString().find("syscall violation: openat (257) on x86_64"), std::string::npos)
      << result->ToString();
}

TEST(Launcher, DirectOpenIsStoppedAndTheResultNamesIt) {
  absl::StatusOr<SandboxResult> result =
      RunBody([] { return static_cast<int>(syscall(SYS_open, "/etc/passwd", O_RDONLY)); });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
  EXPECT_EQ(result->violation->syscall_name, "open");
  EXPECT_EQ(result->violation->syscall_number, SYS_open);
}

TEST(Launcher, NetworkSocketIsAViolation) {
  absl::StatusOr<SandboxResult> result = RunBody([] { return socket(AF_INET, SOCK_STREAM, 0); });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
  EXPECT_EQ(result->violation->syscall_name, "socket");
  EXPECT_EQ(result->violation->args[0], static_cast<uint64_t>(AF_INET));
}

TEST(Launcher, ExecutableMemoryIsAViolation) {
  absl::StatusOr<SandboxResult> result = RunBody([] {
    void* page =
        mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return page == MAP_FAILED ? 1 : 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
  EXPECT_EQ(result->violation->syscall_name, "mmap");
}

TEST(Launcher, TakingOverSigsysIsAViolation) {
  absl::StatusOr<SandboxResult> result = RunBody([] {
    struct sigaction action = {};
    action.sa_handler = SIG_IGN;
    return sigaction(SIGSYS, &action, nullptr);
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
  EXPECT_EQ(result->violation->syscall_name, "rt_sigaction");
  EXPECT_EQ(result->violation->args[0], static_cast<uint64_t>(SIGSYS));
}

// i386 getpid through int 0x80; returns the pid, or dies.
int I386Getpid() {
  long ret = 20;
  asm volatile("int $0x80" : "+a"(ret) : : "memory");
  return static_cast<int>(ret);
}

// The filter admits x86_64 syscalls only: the i386 ABI (int 0x80) and x32 numbers kill the
// process in the kernel at once, before any report could be made. Some virtual machines serve
// no int 0x80 at all (it faults with SIGSEGV); the call must not run either way.
TEST(Launcher, I386SyscallNeverRuns) {
  const pid_t probe = fork();
  ASSERT_GE(probe, 0);
  if (probe == 0) _exit(I386Getpid() == getpid() ? 0 : 1);
  int status = 0;
  ASSERT_EQ(waitpid(probe, &status, 0), probe);
  const bool kernel_serves_i386 = WIFEXITED(status) && WEXITSTATUS(status) == 0;

  absl::StatusOr<SandboxResult> result = RunBody(I386Getpid);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, SandboxResult::Outcome::kSignaled) << result->ToString();
  EXPECT_EQ(result->signal, kernel_serves_i386 ? SIGSYS : SIGSEGV) << result->ToString();
}

TEST(Launcher, X32SyscallKillsTheSandboxee) {
  constexpr long kX32SyscallBit = 0x40000000;
  absl::StatusOr<SandboxResult> result =
      RunBody([] { return static_cast<int>(syscall(kX32SyscallBit | SYS_getpid)); });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, SandboxResult::Outcome::kSignaled) << result->ToString();
  EXPECT_EQ(result->signal, SIGSYS);
}

TEST(Launcher, TimeoutKillsTheSandboxee) {
  Launcher launcher = MakeLauncher(FilePolicy::Builder());
  launcher.SetTimeout(absl::Milliseconds(200));
  absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd) {
    for (;;) {
      const timespec second = {1, 0};
      nanosleep(&second, nullptr);
    }
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, SandboxResult::Outcome::kTimedOut);
  EXPECT_EQ(result->ToString(), "timed out");
}

TEST(Launcher, OnlyStdioAndTheChannelSurviveIntoTheSandboxee) {
  // Descriptors the parent holds, inheritable or not, must not reach the child.
  UniqueFd inheritable(open("/dev/null", O_RDONLY));
  UniqueFd cloexec(open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(inheritable.valid() && cloexec.valid());
  SharedInts open_fds(64);
  absl::StatusOr<SandboxResult> result = RunBody([&] {
    int count = 0;
    for (int fd = 0; fd < 1024 && count < 64; ++fd) {
      if (fcntl(fd, F_GETFD) >= 0) open_fds[count++] = fd;
    }
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->ok()) << result->ToString();
  std::vector<int> seen;
  for (size_t i = 0; i < open_fds.size() && open_fds[i] != SharedInts::kUnset; ++i) {
    seen.push_back(open_fds[i]);
  }
  // stdio may be closed in the test runner; the channel must be there and nothing else.
  for (int fd : seen) EXPECT_LE(fd, kSandboxeeChannelFd) << "descriptor " << fd << " leaked";
  EXPECT_NE(std::find(seen.begin(), seen.end(), kSandboxeeChannelFd), seen.end());
}

TEST(Launcher, NullStdioReplacesStdinStdoutAndStderr) {
  Launcher launcher = MakeLauncher(FilePolicy::Builder());
  launcher.SetStdio(Launcher::Stdio::kNull);
  SharedInts read_result(1);
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd) {
    char c;
    read_result[0] = static_cast<int>(read(STDIN_FILENO, &c, 1));  // /dev/null: end of file
    return write(STDOUT_FILENO, "x", 1) == 1 ? 0 : 1;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(read_result[0], 0);
}

TEST(Launcher, SandboxeeDiesWithTheLaunchingProcess) {
  SharedInts sandboxee_pid(1);
  const pid_t launcher_process = fork();
  ASSERT_GE(launcher_process, 0);
  if (launcher_process == 0) {
    Launcher launcher = MakeLauncher(FilePolicy::Builder());
    launcher
        .Run([&](UniqueFd) {
          sandboxee_pid[0] = getpid();
          for (;;) {
            const timespec second = {1, 0};
            nanosleep(&second, nullptr);
          }
          return 0;
        })
        .IgnoreError();
    _exit(0);
  }
  while (sandboxee_pid[0] == SharedInts::kUnset) usleep(1000);
  // Hold the sandboxee through a pidfd before its parent dies, then watch it exit.
  UniqueFd sandboxee(static_cast<int>(syscall(SYS_pidfd_open, sandboxee_pid[0], 0)));
  ASSERT_TRUE(sandboxee.valid()) << strerror(errno);
  kill(launcher_process, SIGKILL);
  waitpid(launcher_process, nullptr, 0);
  pollfd exited = {sandboxee.get(), POLLIN, 0};
  EXPECT_EQ(poll(&exited, 1, 10000), 1) << "the sandboxee outlived its launcher";
}

TEST(Launcher, BadPoliciesAreRejectedWithTheirName) {
  // Grants are names: a directory that does not exist yet is no error.
  EXPECT_TRUE(FilePolicy::Builder().AllowReadTree("/no/such/dir").Build().ok());
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().AllowReadTree("no/such/dir").Build();
  EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(files.status().message().find("no/such/dir"), absl::string_view::npos);
  absl::StatusOr<FilePolicy> contradiction = FilePolicy::Builder()
                                                 .AllowReadTree("/no/such/dir")
                                                 .AllowTemporaryFiles("/no/such/dir")
                                                 .Build();
  EXPECT_EQ(contradiction.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(contradiction.status().message().find("rule 2 (temporary /no/such/dir) contradicts "
                                                  "rule 1 (tree /no/such/dir)"),
            absl::string_view::npos)
      << contradiction.status();
  absl::StatusOr<SyscallPolicy> syscalls = SyscallPolicy::Builder().Allow("no_such_call").Build();
  EXPECT_EQ(syscalls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(syscalls.status().message().find("no_such_call"), absl::string_view::npos);
}

// A busy loop under RLIMIT_CPU is ended by SIGXCPU, the signal that names the CPU limit (the
// hard limit, one second later, would be SIGKILL).
TEST(Launcher, ResourceLimitCpuEndsABusyLoopWithSigxcpu) {
  Launcher launcher = MakeLauncher(FilePolicy::Builder());
  launcher.SetResourceLimit(RLIMIT_CPU, 1).SetTimeout(absl::Seconds(20));
  absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd) {
    volatile uint64_t spins = 0;
    for (;;) ++spins;
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, SandboxResult::Outcome::kSignaled) << result->ToString();
  EXPECT_EQ(result->signal, SIGXCPU) << result->ToString();
}

// A write past RLIMIT_FSIZE to a regular file (stdout here) raises SIGXFSZ; the file stops at
// the limit.
TEST(Launcher, ResourceLimitFsizeEndsAWritePastItWithSigxfsz) {
  const testing::ScratchDir dir;
  const std::string path = dir.WriteFile("out", "");
  const UniqueFd out(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(out.valid());
  Launcher launcher = MakeLauncher(FilePolicy::Builder());
  launcher.SetResourceLimit(RLIMIT_FSIZE, 4096).SetStdioFds(-1, out.get(), -1);
  absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd) {
    static const char block[1024] = {};
    for (int i = 0; i < 8; ++i) {
      if (write(1, block, sizeof(block)) != static_cast<ssize_t>(sizeof(block))) return 1;
    }
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, SandboxResult::Outcome::kSignaled) << result->ToString();
  EXPECT_EQ(result->signal, SIGXFSZ) << result->ToString();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 4096);
}

// The limits are the sandboxee's, soft and hard: it cannot raise them back.
TEST(Launcher, ResourceLimitsAreSetSoftAndHard) {
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().Build();
  ASSERT_TRUE(files.ok()) << files.status();
  // getrlimit and setrlimit are prlimit64 of the caller's own pid.
  absl::StatusOr<SyscallPolicy> syscalls =
      SyscallPolicy::BrokeredParser().Allow("prlimit64").Build();
  ASSERT_TRUE(syscalls.ok()) << syscalls.status();
  Launcher launcher(*std::move(files), *std::move(syscalls));
  launcher.SetResourceLimit(RLIMIT_NOFILE, 64).SetResourceLimit(RLIMIT_NOFILE, 32);
  absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd) {
    rlimit limit = {};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1;
    if (limit.rlim_cur != 32 || limit.rlim_max != 32) return 2;
    limit.rlim_cur = limit.rlim_max = 64;
    return setrlimit(RLIMIT_NOFILE, &limit) == 0 ? 3 : 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->ToString(), "exited with code 0");
}

TEST(Launcher, ResourceLimitOnCoreDumpsIsRefused) {
  Launcher launcher = MakeLauncher(FilePolicy::Builder());
  launcher.SetResourceLimit(RLIMIT_CORE, 1 << 20);
  absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd) { return 0; });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
}

}  // namespace
}  // namespace sbox
