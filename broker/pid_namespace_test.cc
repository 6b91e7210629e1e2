#include "broker/pid_namespace.h"

#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace sbox {
namespace {

TEST(InnermostPid, IsTheIdItselfInTheBrokersNamespace) {
  ASSERT_EQ(InnermostPid(getpid()).value_or(-1), getpid());
  const pid_t thread = static_cast<pid_t>(syscall(SYS_gettid));
  EXPECT_EQ(InnermostPid(thread).value_or(-1), thread);
}

TEST(InnermostPid, IsTheIdInTheProcesssOwnNamespace) {
  // A child in a pid namespace of its own (a user namespace first, which needs no privilege)
  // is pid 1 there. `report` carries its pid in the test's namespace; closing `release` lets it
  // exit.
  int report[2];
  int release[2];
  ASSERT_EQ(pipe(report), 0);
  ASSERT_EQ(pipe(release), 0);
  const pid_t outer = fork();
  ASSERT_GE(outer, 0);
  if (outer == 0) {
    close(report[0]);
    close(release[1]);
    if (unshare(CLONE_NEWUSER | CLONE_NEWPID) != 0) _exit(2);
    const pid_t inner = fork();
    if (inner < 0) _exit(3);
    if (inner == 0) {
      char byte;
      (void)!read(release[0], &byte, 1);
      _exit(0);
    }
    (void)!write(report[1], &inner, sizeof(inner));
    int status = 0;
    waitpid(inner, &status, 0);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 4);
  }
  close(report[1]);
  close(release[0]);
  pid_t inner = 0;
  ASSERT_EQ(read(report[0], &inner, sizeof(inner)), static_cast<ssize_t>(sizeof(inner)));
  EXPECT_EQ(InnermostPid(inner).value_or(-1), 1);
  close(release[1]);
  close(report[0]);
  int status = 0;
  ASSERT_EQ(waitpid(outer, &status, 0), outer);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(InnermostPid, NamesTheMissingFile) {
  absl::StatusOr<pid_t> none = InnermostPid(0x3fffffff);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("/proc/1073741823/status"), absl::string_view::npos);
}

}  // namespace
}  // namespace sbox
