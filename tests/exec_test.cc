// Exec of granted programs (the `x` permission): the kernel performs each exec, Landlock's
// execute right makes it refuse any file the `x` rules do not cover, and the new program runs
// under the same filter and broker as the first.

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
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

std::string RaceProbePath() {
  return absl::StrCat(getenv("TEST_SRCDIR"), "/", getenv("TEST_WORKSPACE"),
                      "/tests/exec_race_probe");
}

// What programs run by a shell read: the loader's files, and the programs, readable and
// executable.
FilePolicy::Builder ShellFiles() {
  FilePolicy::Builder files;
  files.AllowReadFile("/etc/ld.so.cache")
      .AllowReadTree("/usr/lib")
      .AllowReadTree("/lib")
      .AllowTree("/usr/bin", kRead | kExecute)
      .AllowTree("/bin", kRead | kExecute)
      .AllowFile("/dev/null", kRead | kWrite);
  return files;
}

SyscallPolicy::Builder ShellSyscalls() {
  SyscallPolicy::Builder syscalls = SyscallPolicy::ProgramDefault();
  // cat's read-ahead advice, as the built-in policy allows it.
  syscalls.AllowGroup(SyscallGroup::kProcesses).Allow("fadvise64");
  return syscalls;
}

class ExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (landlock::Abi() < 1) GTEST_SKIP() << "exec of granted programs needs Landlock";
  }

  // Runs `program` under `files` and `syscalls`, its stdout captured into `out`.
  absl::StatusOr<SandboxResult> Run(const FilePolicy::Builder& files, const Program& program,
                                    std::string* out,
                                    const SyscallPolicy::Builder& syscalls = ShellSyscalls()) {
    absl::StatusOr<FilePolicy> policy = files.Build();
    if (!policy.ok()) return policy.status();
    absl::StatusOr<SyscallPolicy> filter = syscalls.Build(Redirection::kUserNotification);
    if (!filter.ok()) return filter.status();
    Launcher launcher(*std::move(policy), *std::move(filter));
    Capture capture;
    launcher.SetStdioFds(-1, capture.write_fd(), -1).SetTimeout(absl::Seconds(120));
    launcher.SetWorkingDirectory(scratch_.path());
    launcher.SetDecisionLog([this](const Decision& d) {
      absl::MutexLock lock(&mu_);
      if (d.op == proto::Op::kExec) execs_.push_back(FormatDecision(d));
    });
    absl::StatusOr<SandboxResult> result = launcher.RunProgram(program);
    *out = capture.Take();
    return result;
  }

  std::vector<std::string> Execs() {
    absl::MutexLock lock(&mu_);
    return execs_;
  }

  ScratchDir scratch_;
  absl::Mutex mu_;
  std::vector<std::string> execs_;
};

TEST_F(ExecTest, AShellPipelineRuns) {
  const std::string input = scratch_.WriteFile("in.txt", "one\ntwo\nthree\n");
  std::string out;
  absl::StatusOr<SandboxResult> result = Run(
      FilePolicy::Builder(ShellFiles()).AllowReadFile(input),
      {"/bin/sh", {"sh", "-c", "cat \"$1\" | wc -l", "sh", input}, {"PATH=/usr/bin:/bin"}}, &out);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(out, "3\n");
  // The decision log has each exec, with its argv[0]; the pipeline's two start in either order.
  const std::vector<std::string> execs = Execs();
  ASSERT_EQ(execs.size(), 2u);
  for (const char* program : {"cat", "wc"}) {
    const std::string line =
        absl::StrCat("exec \"/usr/bin/", program, "\" argv[0] \"", program, "\": allowed");
    EXPECT_TRUE(absl::StartsWith(execs[0], line) || absl::StartsWith(execs[1], line))
        << line << "\n"
        << execs[0] << "\n"
        << execs[1];
  }
}

// A background job and the shell's `wait` for it (rt_sigsuspend), and a signal to it (kill of
// a descendant, which Landlock's scoping keeps inside the sandbox).
TEST_F(ExecTest, ABackgroundJobIsWaitedForAndSignalled) {
  std::string out;
  absl::StatusOr<SandboxResult> result =
      Run(ShellFiles(),
          {"/bin/sh",
           {"sh", "-c", "sleep 0.1 & wait; sleep 100 & kill $!; wait $!; echo \"waited $?\""},
           {"PATH=/usr/bin:/bin"}},
          &out);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(out, "waited 143\n");  // 128 + SIGTERM
}

TEST_F(ExecTest, AShebangScriptRuns) {
  const std::string script = scratch_.WriteFile("count.sh", "#!/bin/sh\necho \"args: $#\"\n");
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  std::string out;
  absl::StatusOr<SandboxResult> result =
      Run(FilePolicy::Builder(ShellFiles()).AllowFile(script, kRead | kExecute),
          {"/bin/sh", {"sh", "-c", "\"$0\" a b", script}, {}}, &out);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(out, "args: 2\n");
}

TEST_F(ExecTest, AnEnvPython3ScriptRunsAsTheFirstProgram) {
  const std::string script = scratch_.WriteFile(
      "hello.py", "#!/usr/bin/env python3\nimport sys\nprint('py', len(sys.argv))\n");
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  std::string out;
  absl::StatusOr<SandboxResult> result =
      Run(FilePolicy::Builder(ShellFiles()).AllowFile(script, kRead | kExecute),
          {script, {script, "x"}, {"PATH=/usr/bin:/bin"}}, &out);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(out, "py 2\n");
}

// A pyenv-style shim: a script on PATH that finds the real program and execs it.
TEST_F(ExecTest, AShimExecsTheRealProgram) {
  scratch_.MakeDir("shims");
  scratch_.MakeDir("versions");
  const std::string real =
      scratch_.WriteFile("versions/tool", "#!/bin/sh\necho \"real tool: $*\"\n");
  const std::string shim = scratch_.WriteFile(
      "shims/tool", "#!/bin/sh\nexec \"${0%/shims/tool}/versions/tool\" \"$@\"\n");
  ASSERT_EQ(chmod(real.c_str(), 0755), 0);
  ASSERT_EQ(chmod(shim.c_str(), 0755), 0);
  std::string out;
  absl::StatusOr<SandboxResult> result =
      Run(FilePolicy::Builder(ShellFiles()).AllowTree(scratch_.path(), kRead | kExecute),
          {"/bin/sh",
           {"sh", "-c", "tool 1 2"},
           {absl::StrCat("PATH=", scratch_.path(), "/shims:/usr/bin:/bin")}},
          &out);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(out, "real tool: 1 2\n");
}

TEST_F(ExecTest, AProgramWithoutXIsRefusedAndLogged) {
  const std::string copy = absl::StrCat(scratch_.path(), "/true");
  ASSERT_EQ(system(absl::StrCat("cp /bin/true ", copy).c_str()), 0);
  std::string out;
  // Readable, not executable.
  absl::StatusOr<SandboxResult> result =
      Run(FilePolicy::Builder(ShellFiles()).AllowReadFile(copy),
          {"/bin/sh", {"sh", "-c", "\"$0\"; echo status $?", copy}, {}}, &out);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(out, "status 126\n");
  const std::vector<std::string> execs = Execs();
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_NE(execs[0].find(absl::StrCat("exec \"", copy, "\"")), std::string::npos) << execs[0];
  EXPECT_NE(execs[0].find("denied, EACCES: exec needs x"), std::string::npos) << execs[0];
}

TEST_F(ExecTest, WithoutAnyXGrantAnExecIsAViolation) {
  FilePolicy::Builder files;
  files.AllowReadFile("/etc/ld.so.cache").AllowReadTree("/usr/lib").AllowReadTree("/lib");
  std::string out;
  absl::StatusOr<SandboxResult> result =
      Run(files, {"/bin/sh", {"sh", "-c", "/bin/true"}, {}}, &out);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
  EXPECT_EQ(result->violation->syscall_name, "execve");
}

// A forked child keeps the filter and the broker: its file calls are judged by the policy,
// and a call the policy does not allow is a violation that ends the run.
TEST_F(ExecTest, AForkedChildStaysConfinedAndBrokered) {
  const std::string secret = scratch_.WriteFile("secret", "s3cret\n");
  std::string out;
  absl::StatusOr<SandboxResult> result = Run(
      ShellFiles(), {"/bin/sh", {"sh", "-c", "(cat \"$0\" || echo refused)", secret}, {}}, &out);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(out, "refused\n");

  // The grandchild (sh, then a subshell, then python3) makes a socket call no group allows.
  result = Run(ShellFiles(),
               {"/bin/sh",
                {"sh", "-c", "(python3 -c 'import socket; socket.socket()'); echo after"},
                {"PATH=/usr/bin:/bin"}},
               &out);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
  EXPECT_EQ(result->violation->syscall_name, "socket");
  EXPECT_EQ(out.find("after"), std::string::npos) << out;
}

// Landlock is what stops the exec: the broker's check passes for a name that the kernel then
// resolves to another file.
TEST_F(ExecTest, ASymlinkSwappedAfterTheCheckRunsNothingUngranted) {
  const std::string granted = scratch_.MakeDir("granted");
  const std::string outside = scratch_.MakeDir("outside");
  const std::string work = scratch_.MakeDir("work");
  // Granted and executable, but no program: its exec fails with ENOEXEC and the loop goes on.
  const std::string ok = scratch_.WriteFile("granted/ok", "not a program\n");
  ASSERT_EQ(chmod(ok.c_str(), 0755), 0);
  // A real program: should it ever run, the run ends with its status 0 instead of 77.
  const std::string bad = absl::StrCat(outside, "/bad");
  ASSERT_EQ(system(absl::StrCat("cp /bin/true ", bad).c_str()), 0);
  const std::string link = absl::StrCat(work, "/link");
  const std::string other = absl::StrCat(work, "/other");
  ASSERT_EQ(symlink(ok.c_str(), link.c_str()), 0);
  ASSERT_EQ(symlink(bad.c_str(), other.c_str()), 0);

  std::atomic<bool> stop{false};
  std::atomic<long> swaps{0};
  std::thread swapper([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      if (syscall(SYS_renameat2, AT_FDCWD, link.c_str(), AT_FDCWD, other.c_str(),
                  RENAME_EXCHANGE) == 0) {
        swaps.fetch_add(1, std::memory_order_relaxed);
      }
    }
  });
  FilePolicy::Builder files;
  files.AllowReadFile("/etc/ld.so.cache")
      .AllowReadTree("/usr/lib")
      .AllowReadTree("/lib")
      .AllowReadTree(work)
      .AllowTree(granted, kRead | kExecute);
  constexpr int kTries = 100000;
  std::string out;
  absl::StatusOr<SandboxResult> result =
      Run(files, {RaceProbePath(), {"exec_race_probe", link, std::to_string(kTries)}, {}}, &out,
          SyscallPolicy::ProgramDefault());
  stop = true;
  swapper.join();
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kExited) << result->ToString();
  EXPECT_EQ(result->exit_code, 77) << "a program the policy does not grant ran: " << out;
  long enoexec = 0, enoent = 0, eacces = 0, other_errors = 0;
  ASSERT_EQ(sscanf(out.c_str(), "enoexec=%ld enoent=%ld eacces=%ld other=%ld", &enoexec, &enoent,
                   &eacces, &other_errors),
            4)
      << out;
  EXPECT_EQ(enoexec + enoent + eacces + other_errors, kTries) << out;
  EXPECT_EQ(other_errors, 0) << out;
  // The swap won the race (the broker saw `ok`, the kernel found `bad`) and Landlock refused.
  EXPECT_GT(eacces, 0) << out << " after " << swaps.load() << " swaps";
  EXPECT_GT(enoexec, 0) << out << " first decision: "
                        << (Execs().empty() ? std::string("none") : Execs().front());
  RecordProperty("tries", kTries);
  RecordProperty("refused_by_landlock", static_cast<int>(eacces));
}

// no_new_privs: a setuid program runs with the caller's uid. Run as nobody, so that the
// setuid bit would change something.
TEST_F(ExecTest, ASetuidProgramGainsNoPrivilege) {
  // The suite's unprivileged pass (tests/run_as_nobody.sh) cannot make a root-owned file; its
  // root pass makes one and drops to nobody here.
  if (geteuid() != 0) GTEST_SKIP() << "making a setuid-root program needs root";
  char pattern[] = "/tmp/sbox_setuid.XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  const std::string id = dir + "/id";
  ASSERT_EQ(system(absl::StrCat("cp /usr/bin/id ", id).c_str()), 0);
  ASSERT_EQ(chown(id.c_str(), 0, 0), 0);
  ASSERT_EQ(chmod(id.c_str(), 04755), 0);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
        setresuid(65534, 65534, 65534) != 0) {
      _exit(10);
    }
    FilePolicy::Builder files;
    files.AllowReadFile("/etc/ld.so.cache").AllowReadTree("/usr/lib").AllowReadTree("/lib");
    files.AllowReadFile("/etc/passwd")
        .AllowReadFile("/etc/group")
        .AllowReadFile("/etc/nsswitch.conf");
    absl::StatusOr<FilePolicy> policy = files.Build();
    absl::StatusOr<SyscallPolicy> filter =
        SyscallPolicy::ProgramDefault().Build(Redirection::kUserNotification);
    if (!policy.ok() || !filter.ok()) _exit(11);
    Launcher launcher(*std::move(policy), *std::move(filter));
    launcher.SetStdioFds(-1, fds[1], -1).SetWorkingDirectory("/");
    absl::StatusOr<SandboxResult> result = launcher.RunProgram({id, {"id", "-u"}, {}});
    _exit(!result.ok() ? 12 : result->ok() ? 0 : 13);
  }
  close(fds[1]);
  std::string out;
  char buffer[256];
  ssize_t got;
  while ((got = read(fds[0], buffer, sizeof(buffer))) > 0) out.append(buffer, got);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_EQ(system(("rm -rf " + dir).c_str()), 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(out, "65534\n");
}

}  // namespace
}  // namespace sbox
