#include "broker/landlock_mirror.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <string>

#include "gtest/gtest.h"
#include "kernel/landlock.h"

namespace sbox {
namespace {

// Runs `body` in a forked child that enforces `mirror` first; its return value is the exit
// code (100 and up: enforcing failed).
int UnderMirror(const LandlockMirror& mirror, const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(100);
    for (const LandlockMirror::ChildRule& rule : mirror.child_rules()) {
      if (landlock::AddPathRuleRaw(mirror.ruleset_fd(), rule.path.c_str(), rule.rights) != 0) {
        _exit(101);
      }
    }
    if (landlock::RestrictSelfRaw(mirror.ruleset_fd()) != 0) _exit(102);
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int OpenError(const std::string& path, int flags) {
  const int fd = open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

class LandlockMirrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (landlock::Abi() < 1) GTEST_SKIP() << "this kernel offers no Landlock";
    char pattern[] = "/tmp/landlock_mirror_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ASSERT_EQ(mkdir((dir_ + "/granted").c_str(), 0700), 0);
    ASSERT_EQ(mkdir((dir_ + "/granted/inner").c_str(), 0700), 0);
    ASSERT_EQ(mkdir((dir_ + "/other").c_str(), 0700), 0);
    std::ofstream(dir_ + "/granted/a") << "a";
    std::ofstream(dir_ + "/granted/inner/b") << "b";
    std::ofstream(dir_ + "/other/secret") << "secret";
    std::ofstream(dir_ + "/one") << "one";
  }
  void TearDown() override {
    if (!dir_.empty()) {
      EXPECT_EQ(system(("rm -rf " + dir_).c_str()), 0);
    }
  }

  absl::StatusOr<LandlockMirror> Mirror(const FilePolicy::Builder& builder,
                                        LandlockMirrorOptions options = {},
                                        LandlockMode mode = LandlockMode::kBestEffort) {
    absl::StatusOr<FilePolicy> files = builder.Build();
    if (!files.ok()) return files.status();
    files_.emplace(*std::move(files));
    return LandlockMirror::Build(*files_, options, mode);
  }

  std::string dir_;
  std::optional<FilePolicy> files_;
};

TEST(LandlockMirrorRights, EachPermissionHasItsRights) {
  using namespace landlock;  // NOLINT
  EXPECT_EQ(LandlockMirror::RightsOf(RuleKind::kTree, kRead), kReadFile | kReadDir | kIoctlDev);
  EXPECT_EQ(LandlockMirror::RightsOf(RuleKind::kFile, sbox::kExecute),
            landlock::kExecute | kReadFile);
  EXPECT_EQ(LandlockMirror::RightsOf(RuleKind::kTree, kConnect), 0u);
  EXPECT_EQ(LandlockMirror::RightsOf(RuleKind::kDeny, kAllPermissions), 0u);
  EXPECT_EQ(LandlockMirror::RightsOf(RuleKind::kTree, kDelete) & kRemoveFile, kRemoveFile);
}

TEST_F(LandlockMirrorTest, TheKernelRefusesWhatThePolicyDoesNotGrant) {
  absl::StatusOr<LandlockMirror> mirror =
      Mirror(FilePolicy::Builder().AllowReadTree(dir_ + "/granted").AllowReadFile(dir_ + "/one"));
  ASSERT_TRUE(mirror.ok()) << mirror.status();
  EXPECT_EQ(mirror->report().abi, landlock::Abi());
  EXPECT_EQ(mirror->report().scopes, landlock::ScopesOf(landlock::Abi()));
  EXPECT_EQ(UnderMirror(*mirror,
                        [&] {
                          if (OpenError(dir_ + "/granted/inner/b", O_RDONLY) != 0) return 1;
                          if (OpenError(dir_ + "/one", O_RDONLY) != 0) return 2;
                          if (OpenError(dir_ + "/other/secret", O_RDONLY) != EACCES) return 3;
                          if (OpenError(dir_ + "/granted/a", O_WRONLY) != EACCES) return 4;
                          if (OpenError(dir_ + "/granted/new", O_WRONLY | O_CREAT) != EACCES) {
                            return 5;
                          }
                          if (OpenError("/etc/hostname", O_RDONLY) != EACCES) return 6;
                          return 0;
                        }),
            0);
}

TEST_F(LandlockMirrorTest, WriteAndCreateGrantsReachTheKernel) {
  absl::StatusOr<LandlockMirror> mirror =
      Mirror(FilePolicy::Builder().AllowTree(dir_ + "/granted", kRead | kWrite | kCreate));
  ASSERT_TRUE(mirror.ok()) << mirror.status();
  EXPECT_EQ(UnderMirror(*mirror,
                        [&] {
                          if (OpenError(dir_ + "/granted/new", O_WRONLY | O_CREAT) != 0) return 1;
                          if (unlink((dir_ + "/granted/new").c_str()) == 0) return 2;  // no d
                          return 0;
                        }),
            0);
}

TEST_F(LandlockMirrorTest, OwnProcessRulesAreTheChildsToAdd) {
  absl::StatusOr<LandlockMirror> mirror =
      Mirror(FilePolicy::Builder().AllowReadFile("/proc/self/status"));
  ASSERT_TRUE(mirror.ok()) << mirror.status();
  ASSERT_EQ(mirror->child_rules().size(), 1u);
  EXPECT_EQ(mirror->child_rules()[0].path, "/proc/self/status");
  EXPECT_EQ(UnderMirror(*mirror,
                        [&] {
                          if (OpenError("/proc/self/status", O_RDONLY) != 0) return 1;
                          if (OpenError("/proc/self/maps", O_RDONLY) != EACCES) return 2;
                          return 0;
                        }),
            0);
}

TEST_F(LandlockMirrorTest, TheProgramsChainMayBeExecutedAndNothingElse) {
  LandlockMirrorOptions options;
  options.programs = {"/bin/true"};
  // What the loader reads itself here, with no broker to ask.
  absl::StatusOr<LandlockMirror> mirror = Mirror(
      FilePolicy::Builder().AllowReadFile("/etc/ld.so.cache").AllowReadTree("/usr/lib"), options);
  ASSERT_TRUE(mirror.ok()) << mirror.status();
  EXPECT_EQ(UnderMirror(*mirror,
                        [&] {
                          // Another program fails at once; the granted one replaces us.
                          execl("/bin/false", "false", nullptr);
                          if (errno != EACCES) return 1;
                          execl("/bin/true", "true", nullptr);
                          return 2;
                        }),
            0);
}

TEST_F(LandlockMirrorTest, ExecNeedsLandlock) {
  absl::StatusOr<LandlockMirror> mirror = Mirror(
      FilePolicy::Builder().AllowTree(dir_ + "/granted", kRead | kExecute), {}, LandlockMode::kOff);
  EXPECT_EQ(mirror.status().code(), absl::StatusCode::kFailedPrecondition) << mirror.status();
  EXPECT_NE(mirror.status().message().find("x (exec)"), std::string::npos) << mirror.status();
}

TEST_F(LandlockMirrorTest, OffIsNotEnforcedAndSaysSo) {
  absl::StatusOr<LandlockMirror> mirror =
      Mirror(FilePolicy::Builder().AllowReadTree(dir_), {}, LandlockMode::kOff);
  ASSERT_TRUE(mirror.ok()) << mirror.status();
  EXPECT_EQ(mirror->ruleset_fd(), -1);
  EXPECT_EQ(mirror->report().ToString(), "Landlock: not enforced (turned off)");
}

TEST_F(LandlockMirrorTest, ACarveOutOfAnExecTreeIsRefusedNamingBothRules) {
  absl::StatusOr<LandlockMirror> mirror =
      Mirror(FilePolicy::Builder()
                 .AllowTree(dir_ + "/granted", kRead | kExecute, "t.policy:1")
                 .Deny(dir_ + "/granted/inner", EACCES, "t.policy:2"));
  EXPECT_EQ(mirror.status().code(), absl::StatusCode::kInvalidArgument) << mirror.status();
  EXPECT_NE(mirror.status().message().find("t.policy:1"), std::string::npos) << mirror.status();
  EXPECT_NE(mirror.status().message().find("t.policy:2"), std::string::npos) << mirror.status();
}

TEST_F(LandlockMirrorTest, ReadCarveOutsMatterOnlyUnderFastReads) {
  FilePolicy::Builder builder;
  builder.AllowReadTree(dir_ + "/granted").Deny(dir_ + "/granted/inner");
  EXPECT_TRUE(Mirror(builder).ok());
  LandlockMirrorOptions fast;
  fast.fast_reads = true;
  absl::StatusOr<LandlockMirror> mirror = Mirror(builder, fast);
  EXPECT_EQ(mirror.status().code(), absl::StatusCode::kInvalidArgument) << mirror.status();
}

TEST_F(LandlockMirrorTest, FastReadsRefuseAPathAlias) {
  LandlockMirrorOptions fast;
  fast.fast_reads = true;
  absl::StatusOr<LandlockMirror> mirror =
      Mirror(FilePolicy::Builder().AllowReadTree(dir_).AliasPath("/tmp", dir_), fast);
  EXPECT_EQ(mirror.status().code(), absl::StatusCode::kInvalidArgument) << mirror.status();
}

}  // namespace
}  // namespace sbox
