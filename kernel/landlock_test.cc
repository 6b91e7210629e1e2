#include "kernel/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "gtest/gtest.h"

namespace sbox::landlock {
namespace {

// Runs `body` in a forked child with no_new_privs set; its return value is the exit code.
int InChild(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(100);
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class LandlockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Abi() < 1) GTEST_SKIP() << "this kernel offers no Landlock";
    char pattern[] = "/tmp/landlock_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ASSERT_EQ(mkdir((dir_ + "/granted").c_str(), 0700), 0);
    ASSERT_EQ(mkdir((dir_ + "/other").c_str(), 0700), 0);
    for (const char* name : {"/granted/a", "/granted/b", "/other/secret"}) {
      const int fd = open((dir_ + name).c_str(), O_WRONLY | O_CREAT, 0600);
      ASSERT_GE(fd, 0);
      close(fd);
    }
  }
  void TearDown() override {
    if (!dir_.empty()) {
      EXPECT_EQ(system(("rm -rf " + dir_).c_str()), 0);
    }
  }

  // 0 when `path` opens read-only, else errno.
  static int OpenError(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    close(fd);
    return 0;
  }

  std::string dir_;
};

TEST(LandlockAbi, ThisKernelOffersAbi6OrNewer) {
  // Linux 6.18: ABI 7. Scoping (ABI 6) is what the sandbox relies on for signals.
  EXPECT_GE(Abi(), 6);
}

TEST(LandlockAbi, EachAbiKnowsItsPredecessorsRights) {
  EXPECT_EQ(FsRightsOf(0), 0u);
  EXPECT_EQ(FsRightsOf(1), (1ull << 13) - 1);
  EXPECT_EQ(FsRightsOf(2), FsRightsOf(1) | kRefer);
  EXPECT_EQ(FsRightsOf(3), FsRightsOf(2) | kTruncate);
  EXPECT_EQ(FsRightsOf(4), FsRightsOf(3));
  EXPECT_EQ(FsRightsOf(5), FsRightsOf(4) | kIoctlDev);
  EXPECT_EQ(FsRightsOf(99), FsRightsOf(5));
  EXPECT_EQ(ScopesOf(5), 0u);
  EXPECT_EQ(ScopesOf(6), kScopeAbstractUnixSocket | kScopeSignal);
}

TEST(LandlockAbi, RightsHaveTheKernelsNames) {
  EXPECT_EQ(FsRightsText(kExecute | kReadFile | kIoctlDev), "execute,read_file,ioctl_dev");
  EXPECT_EQ(FsRightsText(0), "none");
  EXPECT_EQ(ScopesText(kScopeSignal), "signal");
}

TEST_F(LandlockTest, ARightTheKernelDoesNotKnowIsInvalidArgument) {
  absl::StatusOr<Ruleset> ruleset = Ruleset::Create(1ull << 60, 0);
  EXPECT_EQ(ruleset.status().code(), absl::StatusCode::kInvalidArgument) << ruleset.status();
}

TEST_F(LandlockTest, ATreeRuleGrantsBeneathItAndNothingElse) {
  absl::StatusOr<Ruleset> ruleset = Ruleset::Create(FsRightsOf(Abi()), 0);
  ASSERT_TRUE(ruleset.ok()) << ruleset.status();
  const int granted = open((dir_ + "/granted").c_str(), O_PATH | O_CLOEXEC);
  ASSERT_GE(granted, 0);
  ASSERT_TRUE(ruleset->AllowBeneath(granted, kReadFile | kReadDir, "granted").ok());
  close(granted);
  EXPECT_EQ(InChild([&] {
              if (RestrictSelfRaw(ruleset->fd()) != 0) return 1;
              if (OpenError(dir_ + "/granted/a") != 0) return 2;
              if (OpenError(dir_ + "/other/secret") != EACCES) return 3;
              // Write is handled and not granted, even beneath the grant.
              if (open((dir_ + "/granted/a").c_str(), O_WRONLY) >= 0 || errno != EACCES) return 4;
              return 0;
            }),
            0);
}

TEST_F(LandlockTest, AFileRuleGrantsThatFileOnly) {
  absl::StatusOr<Ruleset> ruleset = Ruleset::Create(FsRightsOf(Abi()), 0);
  ASSERT_TRUE(ruleset.ok()) << ruleset.status();
  const int fd = ruleset->fd();
  const std::string a = dir_ + "/granted/a";
  EXPECT_EQ(InChild([&] {
              // Directory-only rights on a file are dropped, as the kernel requires.
              if (AddPathRuleRaw(fd, a.c_str(), kReadFile | kReadDir | kMakeReg) != 0) return 1;
              if (RestrictSelfRaw(fd) != 0) return 2;
              if (OpenError(a) != 0) return 3;
              if (OpenError(dir_ + "/granted/b") != EACCES) return 4;
              return 0;
            }),
            0);
}

TEST_F(LandlockTest, AddPathRuleRawReportsAMissingPath) {
  absl::StatusOr<Ruleset> ruleset = Ruleset::Create(FsRightsOf(Abi()), 0);
  ASSERT_TRUE(ruleset.ok()) << ruleset.status();
  EXPECT_EQ(AddPathRuleRaw(ruleset->fd(), (dir_ + "/absent").c_str(), kReadFile), -ENOENT);
}

TEST_F(LandlockTest, SignalScopeKeepsSignalsInsideTheDomain) {
  if (Abi() < 6) GTEST_SKIP() << "signal scoping needs Landlock ABI 6";
  absl::StatusOr<Ruleset> ruleset = Ruleset::Create(FsRightsOf(Abi()), kScopeSignal);
  ASSERT_TRUE(ruleset.ok()) << ruleset.status();
  const pid_t parent = getpid();
  EXPECT_EQ(InChild([&] {
              if (RestrictSelfRaw(ruleset->fd()) != 0) return 1;
              // Signal 0 checks permission only.
              if (kill(parent, 0) == 0 || errno != EPERM) return 2;
              if (kill(getpid(), 0) != 0) return 3;
              return 0;
            }),
            0);
}

}  // namespace
}  // namespace sbox::landlock
