#include "broker/own_process_calls.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace sbox {
namespace {

// The caller is this very process: its memory is ours.
class OwnMemory final : public CallerMemory {
 public:
  int Read(uint64_t address, void* out, size_t size) override {
    if (address == 0) return EFAULT;
    memcpy(out, reinterpret_cast<const void*>(address), size);
    return 0;
  }
  int Write(uint64_t address, const void* data, size_t size) override {
    if (address == 0) return EFAULT;
    memcpy(reinterpret_cast<void*>(address), data, size);
    return 0;
  }
  int CheckDescriptor(int fd) override { return fcntl(fd, F_GETFD) >= 0 ? 0 : EBADF; }
};

class OwnProcessCallsTest : public ::testing::Test {
 protected:
  OwnProcessAnswer Answer(int number, uint64_t a0, uint64_t a1 = 0, uint64_t a2 = 0) {
    const uint64_t args[6] = {a0, a1, a2, 0, 0, 0};
    return AnswerOwnProcessCall(number, args, thread_, sandboxee_, memory_);
  }

  const pid_t sandboxee_ = getpid();
  const pid_t thread_ = static_cast<pid_t>(syscall(SYS_gettid));
  OwnMemory memory_;
};

TEST_F(OwnProcessCallsTest, TheCallsAreTheOnesNamed) {
  for (int number :
       {SYS_ioctl, SYS_sched_getaffinity, SYS_sched_getparam, SYS_sched_getscheduler, SYS_prlimit64,
        SYS_getpriority, SYS_kill, SYS_tgkill, SYS_tkill, SYS_capget, SYS_fcntl, SYS_flock}) {
    EXPECT_TRUE(IsOwnProcessCall(number)) << number;
  }
  for (int number : {SYS_openat, SYS_getpid, SYS_ptrace, SYS_setpriority, SYS_sched_setaffinity,
                     SYS_rt_sigqueueinfo, SYS_pidfd_send_signal}) {
    EXPECT_FALSE(IsOwnProcessCall(number)) << number;
  }
}

TEST_F(OwnProcessCallsTest, TerminalQueriesRunAndEveryOtherIoctlIsNoTerminal) {
  for (uint64_t request :
       std::vector<uint64_t>{TCGETS, TIOCGWINSZ, FIONREAD, FIOCLEX, FIONCLEX, FIONBIO}) {
    EXPECT_TRUE(Answer(SYS_ioctl, 1, request).let_through) << request;
  }
  // Typing into the terminal, its foreground group, signals to its job, setting its modes.
  for (uint64_t request :
       std::vector<uint64_t>{TIOCSTI, TIOCGPGRP, TIOCSPGRP, TIOCSCTTY, TCSETS, TIOCSWINSZ, FIOASYNC,
                             0x8901 /* FIOSETOWN */, uint64_t{0x5401} | (uint64_t{1} << 32)}) {
    const OwnProcessAnswer answer = Answer(SYS_ioctl, 1, request);
    EXPECT_FALSE(answer.let_through) << request;
    EXPECT_EQ(answer.result, -ENOTTY) << request;
  }
}

TEST_F(OwnProcessCallsTest, PidCallsRunOnlyForTheCallerItselfAndAreViolationsElse) {
  const pid_t parent = getppid();
  for (int number : {SYS_sched_getaffinity, SYS_sched_getparam, SYS_sched_getscheduler}) {
    EXPECT_TRUE(Answer(number, 0).let_through) << number;
    EXPECT_TRUE(Answer(number, static_cast<uint64_t>(thread_)).let_through) << number;
    EXPECT_TRUE(Answer(number, static_cast<uint64_t>(sandboxee_)).let_through) << number;
    EXPECT_TRUE(Answer(number, static_cast<uint64_t>(parent)).violation) << number;
    EXPECT_TRUE(Answer(number, 1).violation) << number;
  }
  // The kernel reads an int: a high bit does not make pid 0 someone else, nor another pid 0.
  EXPECT_TRUE(
      Answer(SYS_sched_getaffinity, uint64_t{1} << 32 | static_cast<uint32_t>(parent)).violation);
}

TEST_F(OwnProcessCallsTest, PrlimitOfItselfAsThePidZeroRulesAllow) {
  EXPECT_TRUE(Answer(SYS_prlimit64, static_cast<uint64_t>(sandboxee_), RLIMIT_NOFILE).let_through);
  EXPECT_TRUE(Answer(SYS_prlimit64, static_cast<uint64_t>(thread_), RLIMIT_STACK).let_through);
  EXPECT_TRUE(Answer(SYS_prlimit64, static_cast<uint64_t>(getppid()), RLIMIT_NOFILE).violation);
}

TEST_F(OwnProcessCallsTest, GetpriorityOnlyOfItsOwnProcess) {
  EXPECT_TRUE(Answer(SYS_getpriority, PRIO_PROCESS, 0).let_through);
  EXPECT_TRUE(Answer(SYS_getpriority, PRIO_PROCESS, static_cast<uint64_t>(thread_)).let_through);
  EXPECT_TRUE(Answer(SYS_getpriority, PRIO_PROCESS, static_cast<uint64_t>(getppid())).violation);
  EXPECT_TRUE(Answer(SYS_getpriority, PRIO_PGRP, 0).violation);
  EXPECT_TRUE(Answer(SYS_getpriority, PRIO_USER, 0).violation);
}

TEST_F(OwnProcessCallsTest, SignalsOnlyToItself) {
  EXPECT_TRUE(Answer(SYS_kill, static_cast<uint64_t>(sandboxee_), SIGABRT).let_through);
  EXPECT_TRUE(
      Answer(SYS_tgkill, static_cast<uint64_t>(sandboxee_), static_cast<uint64_t>(thread_), SIGABRT)
          .let_through);
  EXPECT_TRUE(Answer(SYS_tkill, static_cast<uint64_t>(thread_), SIGUSR1).let_through);
  // Its process group, every process, the launcher.
  for (uint64_t pid : {uint64_t{0}, static_cast<uint64_t>(-1), static_cast<uint64_t>(getppid())}) {
    EXPECT_TRUE(Answer(SYS_kill, pid, SIGKILL).violation) << static_cast<int64_t>(pid);
    EXPECT_TRUE(Answer(SYS_tgkill, pid, pid, SIGKILL).violation) << static_cast<int64_t>(pid);
  }
  EXPECT_TRUE(Answer(SYS_tkill,
                     static_cast<uint64_t>(sandboxee_ == thread_ ? getppid() : sandboxee_), SIGKILL)
                  .violation);
}

// With Landlock scoping signals to the sandbox, its processes may signal one another: a
// grandchild of the sandboxee is inside, the launcher and other processes stay violations.
TEST_F(OwnProcessCallsTest, ScopedSignalsReachTheSandboxeesDescendants) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  if (child == 0) {
    const pid_t grandchild = fork();
    if (grandchild == 0) {
      pause();
      _exit(0);
    }
    if (write(ready[1], &grandchild, sizeof(grandchild)) != sizeof(grandchild)) _exit(1);
    pause();
    _exit(0);
  }
  pid_t grandchild = 0;
  ASSERT_EQ(read(ready[0], &grandchild, sizeof(grandchild)), static_cast<ssize_t>(sizeof(pid_t)));
  const auto scoped = [&](int number, pid_t a0, uint64_t a1) {
    const uint64_t args[6] = {static_cast<uint64_t>(a0), a1, SIGTERM, 0, 0, 0};
    return AnswerOwnProcessCall(number, args, thread_, sandboxee_, memory_, true);
  };
  EXPECT_TRUE(scoped(SYS_kill, grandchild, SIGTERM).let_through);
  EXPECT_TRUE(scoped(SYS_tgkill, grandchild, static_cast<uint64_t>(grandchild)).let_through);
  EXPECT_TRUE(scoped(SYS_tkill, child, SIGTERM).let_through);
  EXPECT_TRUE(scoped(SYS_kill, getppid(), SIGTERM).violation);
  EXPECT_TRUE(scoped(SYS_kill, 0, SIGTERM).violation);
  EXPECT_TRUE(scoped(SYS_kill, -1, SIGTERM).violation);
  // Unscoped, a descendant is a pid the filter cannot tell from one outside.
  EXPECT_TRUE(Answer(SYS_kill, static_cast<uint64_t>(grandchild), SIGTERM).violation);
  kill(grandchild, SIGKILL);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  close(ready[0]);
  close(ready[1]);
}

TEST_F(OwnProcessCallsTest, CapgetIsAnsweredWithTheCallersCapabilities) {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2];
  memset(data, 0xa5, sizeof(data));
  const OwnProcessAnswer answer =
      Answer(SYS_capget, reinterpret_cast<uint64_t>(&header), reinterpret_cast<uint64_t>(data));
  EXPECT_FALSE(answer.let_through);
  EXPECT_EQ(answer.result, 0);
  __user_cap_header_struct direct_header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct direct[2];
  ASSERT_EQ(syscall(SYS_capget, &direct_header, direct), 0);
  EXPECT_EQ(memcmp(data, direct, sizeof(data)), 0);
  EXPECT_EQ(header.pid, 0) << "the caller's header is not rewritten";

  // Another process: a violation, nothing written.
  header.pid = getppid();
  memset(data, 0xa5, sizeof(data));
  EXPECT_TRUE(
      Answer(SYS_capget, reinterpret_cast<uint64_t>(&header), reinterpret_cast<uint64_t>(data))
          .violation);
  EXPECT_EQ(data[0].effective, 0xa5a5a5a5u);
}

TEST_F(OwnProcessCallsTest, FcntlRunsTheReachTablesCommandsAndNoOtherProcessSeesItsLocks) {
  EXPECT_TRUE(Answer(SYS_fcntl, 0, F_GETFL).let_through);
  EXPECT_TRUE(Answer(SYS_fcntl, 0, F_SETFD, FD_CLOEXEC).let_through);
  for (int command : {F_SETOWN, F_SETSIG, F_SETLEASE, F_GETOWN, F_NOTIFY}) {
    EXPECT_TRUE(Answer(SYS_fcntl, 0, static_cast<uint64_t>(command)).violation) << command;
  }
  EXPECT_TRUE(Answer(SYS_fcntl, 0, F_SETFL, O_ASYNC).violation);

  // A real file, locked by this process meanwhile: the sandboxee's lock neither waits for nor
  // sees it, and takes none.
  char name[] = "/tmp/own_process_lockXXXXXX";
  const int fd = mkstemp(name);
  ASSERT_GE(fd, 0);
  unlink(name);
  struct flock lock = {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  for (int command : {F_SETLK, F_SETLKW, F_OFD_SETLK, F_OFD_SETLKW}) {
    const OwnProcessAnswer answer =
        Answer(SYS_fcntl, static_cast<uint64_t>(fd), static_cast<uint64_t>(command),
               reinterpret_cast<uint64_t>(&lock));
    EXPECT_FALSE(answer.let_through || answer.violation) << command;
    EXPECT_EQ(answer.result, 0) << command;
  }
  struct flock probe = lock;
  ASSERT_EQ(fcntl(fd, F_OFD_GETLK, &probe), 0);
  EXPECT_EQ(probe.l_type, F_UNLCK) << "no lock was taken";
  for (int command : {F_GETLK, F_OFD_GETLK}) {
    struct flock asked = lock;
    EXPECT_EQ(Answer(SYS_fcntl, static_cast<uint64_t>(fd), static_cast<uint64_t>(command),
                     reinterpret_cast<uint64_t>(&asked))
                  .result,
              0);
    EXPECT_EQ(asked.l_type, F_UNLCK);
  }
  struct flock bad = lock;
  bad.l_type = 7;
  EXPECT_EQ(Answer(SYS_fcntl, static_cast<uint64_t>(fd), F_SETLK, reinterpret_cast<uint64_t>(&bad))
                .result,
            -EINVAL);
  EXPECT_EQ(Answer(SYS_fcntl, static_cast<uint64_t>(fd), F_SETLK, 0).result, -EFAULT);
  EXPECT_EQ(Answer(SYS_fcntl, 987654, F_SETLK, reinterpret_cast<uint64_t>(&lock)).result, -EBADF);

  EXPECT_EQ(Answer(SYS_flock, static_cast<uint64_t>(fd), LOCK_EX | LOCK_NB).result, 0);
  EXPECT_EQ(Answer(SYS_flock, static_cast<uint64_t>(fd), LOCK_UN).result, 0);
  EXPECT_EQ(Answer(SYS_flock, static_cast<uint64_t>(fd), 0).result, -EINVAL);
  EXPECT_EQ(Answer(SYS_flock, 987654, LOCK_SH).result, -EBADF);
  ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0) << "no flock was taken either";
  close(fd);
}

TEST_F(OwnProcessCallsTest, CapgetTellsAnUnknownVersionTheOneToUse) {
  // As the kernel: a probe without data succeeds, a call with data fails; both learn the
  // version.
  __user_cap_header_struct header = {0x1234, 0};
  EXPECT_EQ(Answer(SYS_capget, reinterpret_cast<uint64_t>(&header), 0).result, 0);
  EXPECT_EQ(header.version, static_cast<uint32_t>(_LINUX_CAPABILITY_VERSION_3));
  __user_cap_data_struct data[2] = {};
  header.version = 0x1234;
  EXPECT_EQ(
      Answer(SYS_capget, reinterpret_cast<uint64_t>(&header), reinterpret_cast<uint64_t>(data))
          .result,
      -EINVAL);
  EXPECT_EQ(header.version, static_cast<uint32_t>(_LINUX_CAPABILITY_VERSION_3));
  EXPECT_EQ(Answer(SYS_capget, 0, 0).result, -EFAULT);
}

}  // namespace
}  // namespace sbox
