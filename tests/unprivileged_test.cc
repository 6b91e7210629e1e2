// sbox needs no root and no capability: drop to nobody, then sandbox as usual.

#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "sandboxee/broker_client.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

// The exit codes of the unprivileged process, one per failed check.
enum Check : int {
  kPassed = 0,
  kDropFailed = 10,
  kStillPrivileged,
  kLaunchFailed,
  kBrokeredReadFailed,
  kViolationNotReported,
};

// Runs in a forked process: drops every privilege when it has any, then sandboxes. Returns a
// Check.
int SandboxUnprivileged(const std::string& file) {
  if (geteuid() == 0 &&
      (setgroups(0, nullptr) != 0 || setresgid(kNogroup, kNogroup, kNogroup) != 0 ||
       setresuid(kNobody, kNobody, kNobody) != 0)) {
    return kDropFailed;
  }
  // Root's files are out of reach: the drop is real.
  if (geteuid() == 0 || open("/etc/shadow", O_RDONLY) >= 0) return kStillPrivileged;

  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().AllowReadFile(file).Build();
  absl::StatusOr<SyscallPolicy> syscalls = SyscallPolicy::BrokeredParser().Build();
  if (!files.ok() || !syscalls.ok()) return kLaunchFailed;
  Launcher launcher(*std::move(files), *std::move(syscalls));
  absl::StatusOr<SandboxResult> brokered = launcher.Run([&](UniqueFd channel) {
    sandboxee::BrokerClient client(std::move(channel));
    absl::StatusOr<UniqueFd> fd = client.Open(file, O_RDONLY);
    char buffer[16];
    return fd.ok() && read(fd->get(), buffer, sizeof(buffer)) == 6 ? 0 : 1;
  });
  if (!brokered.ok()) return kLaunchFailed;
  if (!brokered->ok()) return kBrokeredReadFailed;

  absl::StatusOr<SandboxResult> violation = launcher.Run([&](UniqueFd) {
    return static_cast<int>(syscall(SYS_openat, AT_FDCWD, file.c_str(), O_RDONLY));
  });
  if (!violation.ok()) return kLaunchFailed;
  if (violation->outcome != SandboxResult::Outcome::kViolation ||
      violation->violation->syscall_name != "openat") {
    return kViolationNotReported;
  }
  return kPassed;
}

TEST(Unprivileged, SandboxWorksAsNobodyWithNoCapabilities) {
  // A world-readable file in a world-searchable directory, so nobody may read it.
  char dir_template[] = "/tmp/sbox-unprivileged-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  const std::string file = dir + "/public.txt";
  std::ofstream(file) << "public";
  ASSERT_EQ(chmod(file.c_str(), 0644), 0);

  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(SandboxUnprivileged(file));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  unlink(file.c_str());
  rmdir(dir.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), kPassed);
}

}  // namespace
}  // namespace sbox
