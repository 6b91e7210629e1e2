// The Landlock layer beneath the broker: what holds when the seccomp filter lets a path call
// through, signals and abstract sockets kept inside, read-only opens decided by the kernel
// (fast reads), and what the result reports.

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "broker/decision.h"
#include "broker/syscall_policy.h"
#include "gtest/gtest.h"
#include "kernel/landlock.h"
#include "launcher/launcher.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using testing::Capture;
using testing::ScratchDir;
using testing::SharedInts;

// A deliberately broken syscall policy: every call is allowed straight through, openat
// included, as a filter mistake would.
SyscallPolicy AllowEverything() {
  return SyscallPolicy::FromCompiledProgram({sock_filter{BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW}},
                                            std::nullopt);
}

int OpenError(const std::string& path, int flags) {
  const int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, path.c_str(), flags | O_CLOEXEC));
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

class LandlockLayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (landlock::Abi() < 6) GTEST_SKIP() << "needs Landlock ABI 6 (scoping)";
  }
  ScratchDir scratch_;
};

TEST_F(LandlockLayerTest, ABrokenFilterStillCannotReadASecretAndTheReasonIsLandlock) {
  const std::string granted = scratch_.WriteFile("granted", "ok\n");
  const std::string secret = scratch_.WriteFile("secret", "s3cret\n");
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().AllowReadFile(granted).Build();
  ASSERT_TRUE(files.ok()) << files.status();
  Launcher launcher(*std::move(files), AllowEverything());
  SharedInts got(3);
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd) {
    got[0] = OpenError(granted, O_RDONLY);
    got[1] = OpenError(secret, O_RDONLY);
    got[2] = OpenError(granted, O_WRONLY);
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(got[0], 0);
  EXPECT_EQ(got[1], EACCES);
  EXPECT_EQ(got[2], EACCES);
  EXPECT_EQ(result->landlock.abi, landlock::Abi());
  EXPECT_TRUE(absl::StartsWith(result->landlock.ToString(), "Landlock ABI "))
      << result->landlock.ToString();

  // The same launch without Landlock reads it: the filter let the call through, and only
  // Landlock stood in the way.
  absl::StatusOr<FilePolicy> same = FilePolicy::Builder().AllowReadFile(granted).Build();
  ASSERT_TRUE(same.ok());
  Launcher unlayered(*std::move(same), AllowEverything());
  unlayered.SetLandlock(LandlockMode::kOff);
  result = unlayered.Run([&](UniqueFd) {
    got[1] = OpenError(secret, O_RDONLY);
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(got[1], 0);
  EXPECT_EQ(result->landlock.ToString(), "Landlock: not enforced (turned off)");
}

TEST_F(LandlockLayerTest, SignalsAndAbstractSocketsStayInside) {
  // A listener outside, on an abstract address.
  const int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  const std::string name = absl::StrCat("sbox-landlock-test-", getpid());
  memcpy(address.sun_path + 1, name.data(), name.size());
  const socklen_t length =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().Build();
  ASSERT_TRUE(files.ok());
  Launcher launcher(*std::move(files), AllowEverything());
  SharedInts got(3);
  const pid_t parent = getpid();
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd) {
    got[0] = kill(parent, 0) == 0 ? 0 : errno;
    got[1] = kill(getpid(), 0) == 0 ? 0 : errno;
    const int s = socket(AF_UNIX, SOCK_STREAM, 0);
    got[2] = connect(s, reinterpret_cast<sockaddr*>(&address), length) == 0 ? 0 : errno;
    return 0;
  });
  close(listener);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(got[0], EPERM);
  EXPECT_EQ(got[1], 0);
  EXPECT_EQ(got[2], EPERM);
}

// A kernel without Landlock, as this process sees it: a seccomp filter answers
// landlock_create_ruleset with ENOSYS, as a kernel built without it does. Runs in a forked
// process; returns its exit code (0: every check held).
int WithoutLandlock(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    sock_filter program[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_landlock_create_ruleset, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog fprog = {static_cast<unsigned short>(std::size(program)), program};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) {
      _exit(100);
    }
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(LandlockLayerTest, WithoutLandlockARunGoesOnUnlessLandlockIsRequired) {
  const std::string granted = scratch_.WriteFile("granted", "ok\n");
  EXPECT_EQ(WithoutLandlock([&] {
              if (landlock::Abi() != 0) return 1;
              absl::StatusOr<FilePolicy> files =
                  FilePolicy::Builder().AllowReadFile(granted).Build();
              absl::StatusOr<SyscallPolicy> syscalls = SyscallPolicy::RedirectedParser().Build();
              if (!files.ok() || !syscalls.ok()) return 2;
              Launcher launcher(*std::move(files), *std::move(syscalls));
              // Best effort: the broker and the filter alone, and the result says so.
              absl::StatusOr<SandboxResult> result =
                  launcher.Run([&](UniqueFd) { return OpenError(granted, O_RDONLY) == 0 ? 0 : 1; });
              if (!result.ok() || !result->ok() || result->landlock.abi != 0 ||
                  result->landlock.ToString() !=
                      "Landlock: not enforced (this kernel offers no Landlock)") {
                return 3;
              }
              // Required: no sandboxee runs, and the error says why.
              launcher.SetLandlock(LandlockMode::kRequired);
              result = launcher.Run([](UniqueFd) { return 0; });
              if (result.status().code() != absl::StatusCode::kFailedPrecondition ||
                  !absl::StrContains(result.status().message(), "not offered by this kernel")) {
                return 4;
              }
              // An x grant is refused at load, never left to a path check.
              absl::StatusOr<FilePolicy> exec =
                  FilePolicy::Builder().AllowFile("/bin/true", kRead | kExecute).Build();
              if (!exec.ok()) return 5;
              Launcher exec_launcher(*std::move(exec), AllowEverything());
              result = exec_launcher.Run([](UniqueFd) { return 0; });
              if (result.status().code() != absl::StatusCode::kFailedPrecondition ||
                  !absl::StrContains(result.status().message(), "the policy grants x (exec)")) {
                return 6;
              }
              return 0;
            }),
            0);
}

TEST_F(LandlockLayerTest, ExecGrantsNeedLandlock) {
  absl::StatusOr<FilePolicy> files =
      FilePolicy::Builder().AllowFile("/bin/true", kRead | kExecute).Build();
  ASSERT_TRUE(files.ok());
  Launcher launcher(*std::move(files), AllowEverything());
  launcher.SetLandlock(LandlockMode::kOff);
  absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd) { return 0; });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition) << result.status();
}

// Fast reads: read-only opens go to the kernel, which the mirror decides; writes, and the
// decision log, stay the broker's.
TEST_F(LandlockLayerTest, FastReadsAreDecidedByTheKernel) {
  const std::string dir = scratch_.MakeDir("data");
  scratch_.WriteFile("data/in.txt", "fast\n");
  const std::string secret = scratch_.WriteFile("secret", "s3cret\n");
  const std::string out = absl::StrCat(scratch_.path(), "/out");
  scratch_.MakeDir("out");
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder()
                                         .AllowReadFile("/etc/ld.so.cache")
                                         .AllowReadTree("/usr/lib")
                                         .AllowReadTree("/lib")
                                         .AllowTree("/usr/bin", kRead | kExecute)
                                         .AllowTree("/bin", kRead | kExecute)
                                         .AllowReadTree(dir)
                                         .AllowFile("/dev/null", kRead | kWrite)
                                         .AllowTree(out, kRead | kWrite | kCreate)
                                         .Build();
  ASSERT_TRUE(files.ok()) << files.status();
  absl::StatusOr<SyscallPolicy> syscalls = SyscallPolicy::ProgramDefault()
                                               .AllowGroup(SyscallGroup::kProcesses)
                                               .Allow("fadvise64")
                                               .Allow("copy_file_range")
                                               .FastReads()
                                               .Build(Redirection::kUserNotification);
  ASSERT_TRUE(syscalls.ok()) << syscalls.status();
  EXPECT_TRUE(syscalls->fast_reads());
  Launcher launcher(*std::move(files), *std::move(syscalls));
  absl::Mutex mu;
  std::vector<std::string> opens;
  launcher.SetDecisionLog([&](const Decision& d) {
    absl::MutexLock lock(&mu);
    if (d.op == proto::Op::kOpen) opens.push_back(std::string(d.path));
  });
  Capture capture;
  launcher.SetStdioFds(-1, capture.write_fd(), -1).SetWorkingDirectory(scratch_.path());
  // A relative read after a chdir the broker granted: the kernel's working directory follows.
  absl::StatusOr<SandboxResult> result = launcher.RunProgram(
      {"/bin/sh",
       {"sh", "-c",
        "cd data && cat in.txt && cat in.txt > ../out/copy && cat ../out/copy && "
        "(cat \"$0\" 2>/dev/null || echo refused)",
        secret},
       {"PATH=/usr/bin:/bin"}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(capture.Take(), "fast\nfast\nrefused\n");
  absl::MutexLock lock(&mu);
  // The write went through the broker; no read-only open of in.txt reached it.
  EXPECT_NE(std::find(opens.begin(), opens.end(), out + "/copy"), opens.end());
  for (const std::string& path : opens) EXPECT_FALSE(absl::EndsWith(path, "in.txt")) << path;
}

TEST_F(LandlockLayerTest, FastReadsNeedUserNotification) {
  absl::StatusOr<SyscallPolicy> syscalls =
      SyscallPolicy::RedirectedParser().FastReads().Build(Redirection::kTrap);
  EXPECT_EQ(syscalls.status().code(), absl::StatusCode::kInvalidArgument) << syscalls.status();
}

}  // namespace
}  // namespace sbox
