// The call API end to end: entry points of this binary run in sandboxees forked from the fork
// server, which main starts before anything else.

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "call/sandbox.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "proto/call_message.h"
#include "sandboxee/entry_point.h"
#include "sandboxee/sandboxee_setup.h"
#include "tests/fd_count.h"

namespace sbox {
namespace {

absl::Status Echo(CallContext& call) {
  call.output() = std::string(call.input());
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(echo, Echo);

absl::Status Fail(CallContext& call) {
  return absl::InvalidArgumentError(absl::StrCat("bad input \"", call.input(), "\""));
}
SBOX_ENTRY_POINT(fail, Fail);

absl::Status Crash(CallContext&) {
  *static_cast<volatile int*>(nullptr) = 1;
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(crash, Crash);

absl::Status Abort(CallContext&) { abort(); }
SBOX_ENTRY_POINT(abort, Abort);

absl::Status Violate(CallContext&) {
  socket(AF_INET, SOCK_STREAM, 0);
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(violate, Violate);

// The default policy makes no process: the sandboxee is alone in its group, which is why no
// group guard is needed for it (EntryPointLaunch::single_process).
absl::Status Fork(CallContext&) {
  if (fork() == 0) _exit(0);
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(fork_child, Fork);

// What the default call policy keeps inside: the system's huge page pool, and other processes
// (the host, whose pid the sandboxee can read, and the fork server).
absl::Status HugePages(CallContext&) {
  memfd_create("huge", MFD_HUGETLB);
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(huge_pages, HugePages);

absl::Status KillParent(CallContext&) {
  kill(getppid(), SIGTERM);
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(kill_parent, KillParent);

absl::Status Spin(CallContext&) {
  for (volatile uint64_t i = 0;; i = i + 1) {
  }
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(spin, Spin);

absl::Status Sleep(CallContext&) {
  for (;;) pause();
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(sleep_forever, Sleep);

// Allocates as many MiB as the input says, touching every page.
absl::Status Allocate(CallContext& call) {
  size_t mib = 0;
  if (!absl::SimpleAtoi(call.input(), &mib)) return absl::InvalidArgumentError("not a number");
  std::vector<char> block(mib << 20, 'x');
  call.output() = absl::StrCat(block.size());
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(allocate, Allocate);

absl::Status ExitEarly(CallContext&) { _exit(3); }
SBOX_ENTRY_POINT(exit_early, ExitEarly);

// A hostile sandboxee: answers with bytes of its choosing, and a pipe where a memfd belongs.
absl::Status MalformedReply(CallContext& call) {
  if (call.input() == "pipe") {
    int fds[2];
    if (pipe2(fds, 0) != 0) return absl::InternalError("pipe2");
    proto::CallReplyHeader header = {
        proto::kCallMagic, proto::kReplyOk, proto::kOutputInMemfd, 0, 10, 0, 0, 0};
    proto::SendMessage(kSandboxeeCallFd, &header, sizeof(header), fds[0], 0);
  } else {
    const char garbage[] = "not a reply at all, but long enough to be read as one......";
    proto::SendMessage(kSandboxeeCallFd, garbage, sizeof(garbage), -1, 0);
  }
  _exit(0);
}
SBOX_ENTRY_POINT(malformed_reply, MalformedReply);

absl::Status WriteToHostFile(CallContext& call) {
  const std::string block(1 << 20, 'x');
  for (int i = 0; i < 8; ++i) {
    if (write(call.fd(0), block.data(), block.size()) < 0) {
      return absl::ErrnoToStatus(errno, "write");
    }
  }
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(write_to_host_file, WriteToHostFile);

// Reads the first descriptor the host passed, to its end.
absl::Status ReadHostFd(CallContext& call) {
  char buffer[4096];
  for (;;) {
    const ssize_t got = read(call.fd(0), buffer, sizeof(buffer));
    if (got < 0) return absl::ErrnoToStatus(errno, "read");
    if (got == 0) break;
    call.output().append(buffer, static_cast<size_t>(got));
  }
  call.output() += absl::StrCat(" fds=", call.fd_count());
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(read_host_fd, ReadHostFd);

// Opens the path in its input through the broker, and through libc's fopen (redirected).
absl::Status ReadPath(CallContext& call) {
  const std::string path(call.input());
  absl::StatusOr<UniqueFd> fd = call.Open(path);
  if (!fd.ok()) return fd.status();
  FILE* file = fopen(path.c_str(), "r");
  if (file == nullptr) return absl::ErrnoToStatus(errno, "fopen");
  char line[256] = {};
  if (fgets(line, sizeof(line), file) == nullptr) line[0] = '\0';
  fclose(file);
  call.output() = line;
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(read_path, ReadPath);

absl::Status Pid(CallContext& call) {
  static int calls = 0;
  call.output() = absl::StrCat(getpid(), " ", ++calls);
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(pid, Pid);

// A lock of the host's own code, which a child forked while another thread holds it inherits
// held, forever.
std::mutex g_app_lock;

absl::Status Stderr(CallContext& call) {
  std::lock_guard<std::mutex> hold(g_app_lock);
  fprintf(stderr, "sandboxee writes to stderr\n");
  call.output() = std::string(64 << 10, 'y');  // malloc too
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(use_stderr, Stderr);

std::unique_ptr<Sandbox> Make(const std::string& entry, SandboxOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox = Sandbox::Create(entry, std::move(options));
  EXPECT_TRUE(sandbox.ok()) << sandbox.status();
  return sandbox.ok() ? *std::move(sandbox) : nullptr;
}

void ExpectEchoWorks(const Sandbox& sandbox) {
  absl::StatusOr<CallOutput> out = sandbox.Call(CallInput("after"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->bytes, "after");
}

TEST(Call, TheCommonCaseEchoesItsInput) {
  auto sandbox = Make("echo");
  absl::StatusOr<CallOutput> out = sandbox->Call(CallInput("hello, sandbox"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->bytes, "hello, sandbox");
  EXPECT_FALSE(out->stats.from_warm_pool);
  EXPECT_GT(out->stats.wall_time, absl::ZeroDuration());
}

TEST(Call, AnUnknownEntryPointIsNotFound) {
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox = Sandbox::Create("no_such_entry");
  EXPECT_EQ(sandbox.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(sandbox.status().message().find("no_such_entry"), std::string::npos);
}

TEST(Call, LargeInputAndOutputTravelInMemfds) {
  auto sandbox = Make("echo");
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  absl::StatusOr<CallOutput> out = sandbox->Call(CallInput(big));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->bytes, big);
}

TEST(Call, AnOutputPastTheLimitIsDataLoss) {
  auto sandbox = Make("echo", SandboxOptions().SetMaxOutput(1000));
  absl::StatusOr<CallOutput> out = sandbox->Call(CallInput(std::string(2000, 'a')));
  EXPECT_EQ(out.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(CallFailureOf(out.status()), CallFailure::kMalformedReply);
  EXPECT_NE(out.status().message().find("past the limit of 1000"), std::string::npos)
      << out.status();
  EXPECT_TRUE(sandbox->Call(CallInput("short")).ok());
}

TEST(Call, TheEntryPointsErrorComesBackWithItsCode) {
  auto sandbox = Make("fail");
  absl::StatusOr<CallOutput> out = sandbox->Call(CallInput("xyz"));
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CallFailureOf(out.status()), CallFailure::kEntryPoint);
  EXPECT_EQ(out.status().message(), "fail: bad input \"xyz\"");
}

TEST(Call, EveryWayACallFailsIsAPreciseStatusAndTheNextCallWorks) {
  struct Case {
    const char* entry;
    std::string input;
    Limits limits;
    absl::StatusCode code;
    CallFailure failure;
    const char* says;
    const char* limit;
  };
  const std::vector<Case> cases = {
      {"crash", "", {}, absl::StatusCode::kAborted, CallFailure::kCrashed, "SIGSEGV", ""},
      {"abort", "", {}, absl::StatusCode::kAborted, CallFailure::kCrashed, "SIGABRT", ""},
      {"violate",
       "",
       {},
       absl::StatusCode::kPermissionDenied,
       CallFailure::kViolation,
       "socket",
       ""},
      {"fork_child",
       "",
       {},
       absl::StatusCode::kPermissionDenied,
       CallFailure::kViolation,
       "clone",
       ""},
      {"huge_pages",
       "",
       {},
       absl::StatusCode::kPermissionDenied,
       CallFailure::kViolation,
       "memfd_create",
       ""},
      {"kill_parent",
       "",
       {},
       absl::StatusCode::kPermissionDenied,
       CallFailure::kViolation,
       "kill",
       ""},
      {"sleep_forever", "", Limits().SetWallTime(absl::Milliseconds(300)),
       absl::StatusCode::kDeadlineExceeded, CallFailure::kDeadline, "deadline of 300ms", ""},
      {"spin", "", Limits().SetCpuSeconds(1), absl::StatusCode::kResourceExhausted,
       CallFailure::kLimit, "RLIMIT_CPU 1 s", "RLIMIT_CPU"},
      {"allocate", "512", Limits().SetAddressSpace(256 << 20), absl::StatusCode::kResourceExhausted,
       CallFailure::kLimit, "RLIMIT_AS 256 MiB", "RLIMIT_AS"},
      {"exit_early",
       "",
       {},
       absl::StatusCode::kAborted,
       CallFailure::kExitedEarly,
       "exited with code 3 before replying",
       ""},
      {"malformed_reply",
       "garbage",
       {},
       absl::StatusCode::kDataLoss,
       CallFailure::kMalformedReply,
       "reply magic",
       ""},
      {"malformed_reply",
       "pipe",
       {},
       absl::StatusCode::kDataLoss,
       CallFailure::kMalformedReply,
       "not a memfd",
       ""},
  };
  const int fds_before = testing::CountOpenFds();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.entry);
    auto sandbox = Make(c.entry, SandboxOptions().SetLimits(c.limits));
    absl::StatusOr<CallOutput> out = sandbox->Call(CallInput(c.input));
    EXPECT_EQ(out.status().code(), c.code) << out.status();
    EXPECT_EQ(CallFailureOf(out.status()), c.failure) << out.status();
    EXPECT_EQ(CallLimitOf(out.status()), c.limit) << out.status();
    EXPECT_NE(out.status().message().find(c.says), std::string::npos) << out.status();
    ExpectEchoWorks(*Make("echo", SandboxOptions().SetLimits(c.limits)));
  }
  EXPECT_EQ(testing::CountOpenFds(), fds_before);
}

TEST(Call, TheFileSizeLimitIsNamed) {
  char path[] = "/tmp/sbox-call-fsize-XXXXXX";
  const int file = mkstemp(path);
  ASSERT_GE(file, 0);
  unlink(path);
  auto sandbox =
      Make("write_to_host_file", SandboxOptions().SetLimits(Limits().SetFileSize(1 << 20)));
  absl::StatusOr<CallOutput> out = sandbox->Call(CallInput("", {file}));
  EXPECT_EQ(CallFailureOf(out.status()), CallFailure::kLimit) << out.status();
  EXPECT_EQ(CallLimitOf(out.status()), "RLIMIT_FSIZE");
  EXPECT_NE(out.status().message().find("RLIMIT_FSIZE 1 MiB"), std::string::npos) << out.status();
  close(file);
}

TEST(Call, UsageIsMeasuredByTheKernel) {
  auto sandbox = Make("allocate");
  absl::StatusOr<CallOutput> out = sandbox->Call(CallInput("64"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_GE(out->stats.max_rss_kb, 64 * 1024);
  EXPECT_GT(out->stats.user_time + out->stats.system_time, absl::ZeroDuration());
}

TEST(Call, DescriptorsTheHostOpenedArePassedAndStayTheHosts) {
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  ASSERT_EQ(write(pipe_fds[1], "through a pipe", 14), 14);
  close(pipe_fds[1]);
  auto sandbox = Make("read_host_fd");
  absl::StatusOr<CallOutput> out = sandbox->Call(CallInput("", {pipe_fds[0]}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->bytes, "through a pipe fds=1");
  EXPECT_EQ(fcntl(pipe_fds[0], F_GETFD), FD_CLOEXEC);  // still open, still the host's
  close(pipe_fds[0]);
}

TEST(Call, TheEntryPointOpensByPathUnderTheFilePolicy) {
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().AllowReadFile("/etc/hostname").Build();
  ASSERT_TRUE(files.ok());
  auto sandbox = Make("read_path", SandboxOptions().SetFilePolicy(*std::move(files)));
  absl::StatusOr<CallOutput> granted = sandbox->Call(CallInput("/etc/hostname"));
  ASSERT_TRUE(granted.ok()) << granted.status();
  // Outside every grant: the policy's errno for uncovered paths, ENOENT, as if it did not exist.
  ASSERT_EQ(access("/etc/passwd", R_OK), 0);
  absl::StatusOr<CallOutput> refused = sandbox->Call(CallInput("/etc/passwd"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kNotFound) << refused.status();
  EXPECT_EQ(CallFailureOf(refused.status()), CallFailure::kEntryPoint);
  EXPECT_NE(refused.status().message().find("/etc/passwd"), std::string::npos);
}

TEST(Call, ManyHostThreadsCallAtOnce) {
  auto sandbox = Make("echo");
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string input = absl::StrCat("thread ", t, " call ", i);
        absl::StatusOr<CallOutput> out = sandbox->Call(CallInput(input));
        if (out.ok() && out->bytes == input) ++ok;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 80);
}

// A host whose other threads hold stdio's, malloc's and its own locks nearly all the time: a
// child forked from it may inherit one held, and wait forever; one forked from the fork server,
// a copy of the process from before any thread, never had them.
class BusyHost {
 public:
  BusyHost() {
    holder_ = std::thread([this] {
      while (!stop_) {
        std::lock_guard<std::mutex> hold(g_app_lock);
        flockfile(stderr);
        for (int i = 0; i < 1000 && !stop_; ++i) free(malloc(static_cast<size_t>(64 + i)));
        held_ = true;
        usleep(2000);
        funlockfile(stderr);
      }
    });
    for (int i = 0; i < 7; ++i) {
      busy_.emplace_back([this] {
        while (!stop_) {
          std::vector<std::string> churn(100, std::string(100, 'z'));
        }
      });
    }
    while (!held_) usleep(100);
  }
  ~BusyHost() {
    stop_ = true;
    holder_.join();
    for (std::thread& thread : busy_) thread.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> held_{false};
  std::thread holder_;
  std::vector<std::thread> busy_;
};

TEST(Call, AHostWithEightBusyThreadsHoldingStdioAndMallocLocksCallsSafely) {
  BusyHost host;
  auto sandbox =
      Make("use_stderr", SandboxOptions().SetLimits(Limits().SetWallTime(absl::Seconds(20))));
  for (int i = 0; i < 50; ++i) {
    absl::StatusOr<CallOutput> out = sandbox->Call(CallInput(""));
    ASSERT_TRUE(out.ok()) << "call " << i << ": " << out.status();
    EXPECT_EQ(out->bytes.size(), 64u << 10);
  }
}

TEST(WarmPool, CallsAreServedByPrestartedSandboxeesOnePerCall) {
  auto sandbox = Make("pid", SandboxOptions().SetWarmPool(2));
  absl::SleepFor(absl::Milliseconds(300));  // the pool starts asynchronously
  std::vector<std::string> pids;
  int pooled = 0;
  for (int i = 0; i < 6; ++i) {
    absl::StatusOr<CallOutput> out = sandbox->Call(CallInput(""));
    ASSERT_TRUE(out.ok()) << out.status();
    pooled += out->stats.from_warm_pool ? 1 : 0;
    // Each call runs in a sandboxee of its own: the first call it ever served.
    EXPECT_EQ(out->bytes.substr(out->bytes.find(' ')), " 1");
    pids.push_back(out->bytes.substr(0, out->bytes.find(' ')));
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_GE(pooled, 4);
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(std::unique(pids.begin(), pids.end()), pids.end());
}

TEST(WarmPool, ReuseServesSeveralCallsInOneSandboxeeWhoseStateCarriesOver) {
  auto sandbox = Make("pid", SandboxOptions().SetWarmPool(1).SetReuse(3));
  absl::SleepFor(absl::Milliseconds(300));
  std::vector<std::string> outputs;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<CallOutput> out = sandbox->Call(CallInput(""));
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_TRUE(out->stats.from_warm_pool);
    outputs.push_back(out->bytes);
  }
  const std::string pid = outputs[0].substr(0, outputs[0].find(' '));
  // The weaker isolation reuse is documented to give: the second call sees the first's state.
  EXPECT_EQ(outputs[0], pid + " 1");
  EXPECT_EQ(outputs[1], pid + " 2");
  EXPECT_EQ(outputs[2], pid + " 3");
}

TEST(WarmPool, FailuresInPooledSandboxeesArePreciseAndThePoolRecovers) {
  auto crash = Make("crash", SandboxOptions().SetWarmPool(1));
  auto sleeper = Make("sleep_forever", SandboxOptions().SetWarmPool(1).SetLimits(
                                           Limits().SetWallTime(absl::Milliseconds(200))));
  absl::SleepFor(absl::Milliseconds(300));
  absl::StatusOr<CallOutput> crashed = crash->Call(CallInput(""));
  EXPECT_EQ(CallFailureOf(crashed.status()), CallFailure::kCrashed) << crashed.status();
  absl::StatusOr<CallOutput> late = sleeper->Call(CallInput(""));
  EXPECT_EQ(CallFailureOf(late.status()), CallFailure::kDeadline) << late.status();
  auto echo = Make("echo", SandboxOptions().SetWarmPool(1));
  absl::SleepFor(absl::Milliseconds(300));
  for (int i = 0; i < 3; ++i) ExpectEchoWorks(*echo);
}

TEST(WarmPool, DestroyingTheSandboxEndsItsPooledSandboxees) {
  const int fds_before = testing::CountOpenFds();
  {
    auto sandbox = Make("echo", SandboxOptions().SetWarmPool(3));
    absl::SleepFor(absl::Milliseconds(300));
    ExpectEchoWorks(*sandbox);
  }
  EXPECT_EQ(testing::CountOpenFds(), fds_before);
}

// Launcher::Run forks the calling process: with a thread holding the application's lock, its
// child waits for the lock forever. This is what the fork server avoids (the test above).
TEST(ForkServerContrast, ForkingABusyHostHangsTheChild) {
  BusyHost host;
  absl::StatusOr<SyscallPolicy> syscalls =
      SyscallPolicy::CallDefault().Build(Redirection::kUserNotification);
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().Build();
  ASSERT_TRUE(syscalls.ok() && files.ok());
  Launcher launcher(*std::move(files), *std::move(syscalls));
  launcher.SetTimeout(absl::Seconds(2));
  int hung = 0;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd) {
      std::lock_guard<std::mutex> hold(g_app_lock);
      return 0;
    });
    // Hung in the function (timed out), or already in the set-up, which a held lock of the
    // parent's can stop too (the launcher's set-up deadline).
    if (result.ok()) {
      if (result->outcome == SandboxResult::Outcome::kTimedOut) ++hung;
    } else {
      ASSERT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded) << result.status();
      ++hung;
    }
  }
  EXPECT_GE(hung, 1);
}

}  // namespace
}  // namespace sbox

int main(int argc, char** argv) {
  // First, while the process has one thread.
  if (absl::Status started = sbox::StartForkServer(); !started.ok()) {
    fprintf(stderr, "%s\n", std::string(started.message()).c_str());
    return 1;
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
