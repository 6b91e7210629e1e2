// Nothing outside the sandbox is reached: a sandboxee tries each way out of
// tests/escape_attempts.h as a function sandboxee (Launcher::Run), as an exec'ed program,
// dynamic and static (Launcher::RunProgram), and under the `sbox` CLI; each attempt fails the
// way broker/POLICY_FORMAT.md's reach table says, and the processes outside (the broker, sbox,
// a watcher of the same uid) receive nothing. The test runs as root; AsNobody* repeat the core
// of it as an unprivileged user.

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/syscall_policy.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "sandboxee/broker_client.h"
#include "tests/escape_attempts.h"
#include "tests/sandbox_fixture.h"
#include "tests/subprocess.h"

namespace sbox {
namespace {

using testing::CommandResult;
using testing::RunCommand;
using testing::ScratchDir;

// ---- Observers outside ------------------------------------------------------------------------

// A process of the test's uid that records every signal it receives: the victim a sandboxee
// would pick among its uid's processes.
class Watcher {
 public:
  Watcher() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) abort();
    pid_ = fork();
    if (pid_ < 0) abort();
    if (pid_ == 0) {
      // The child: async-signal-safe from here on.
      close(fds[0]);
      report_fd_ = fds[1];
      struct sigaction action = {};
      action.sa_handler = [](int signal) {
        const char byte = static_cast<char>(signal);
        if (write(report_fd_, &byte, 1) < 0) _exit(3);
      };
      for (int signal = 1; signal < 65; ++signal) sigaction(signal, &action, nullptr);
      for (;;) pause();
    }
    close(fds[1]);
    read_end_.reset(fds[0]);
  }
  ~Watcher() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  pid_t pid() const { return pid_; }
  // The signals received so far, as numbers; and "dead" when it is gone.
  std::string Received() {
    std::string received;
    char byte;
    const int flags = fcntl(read_end_.get(), F_GETFL);
    fcntl(read_end_.get(), F_SETFL, flags | O_NONBLOCK);
    while (read(read_end_.get(), &byte, 1) == 1)
      absl::StrAppend(&received, " ", static_cast<int>(byte));
    if (waitpid(pid_, nullptr, WNOHANG) != 0) absl::StrAppend(&received, " dead");
    return received;
  }

 private:
  static inline int report_fd_ = -1;
  pid_t pid_;
  UniqueFd read_end_;
};

// Signals this process, the broker of the in-process runs, receives while the guard lives:
// those a sandboxee could ask the kernel to send for it.
std::atomic<int> host_signals{0};
class HostSignals {
 public:
  HostSignals() {
    struct sigaction action = {};
    action.sa_handler = [](int) { host_signals.fetch_add(1); };
    for (int i = 0; i < kCount; ++i) sigaction(kSignals[i], &action, &saved_[i]);
    host_signals.store(0);
  }
  ~HostSignals() {
    for (int i = 0; i < kCount; ++i) sigaction(kSignals[i], &saved_[i], nullptr);
  }
  int received() const { return host_signals.load(); }

 private:
  static constexpr int kCount = 5;
  static constexpr int kSignals[kCount] = {SIGIO, SIGURG, SIGUSR1, SIGUSR2, SIGPIPE};
  struct sigaction saved_[kCount];
};

// ---- Ways to run a sandboxee ------------------------------------------------------------------

std::string Runfile(const std::string& path) {
  return absl::StrCat(getenv("TEST_SRCDIR"), "/", getenv("TEST_WORKSPACE"), "/", path);
}

const char* const kProbes[] = {"tests/escape_probe", "tests/escape_probe_static"};

FilePolicy::Builder LoaderFiles() {
  FilePolicy::Builder files;
  files.AllowReadFile("/etc/ld.so.cache").AllowReadTree("/usr/lib").AllowReadTree("/lib");
  return files;
}

Launcher ProgramLauncher(FilePolicy::Builder files = LoaderFiles()) {
  absl::StatusOr<FilePolicy> file_policy = files.Build();
  absl::StatusOr<SyscallPolicy> syscalls =
      SyscallPolicy::ProgramDefault().Build(Redirection::kUserNotification);
  if (!file_policy.ok() || !syscalls.ok()) abort();
  Launcher launcher(*std::move(file_policy), *std::move(syscalls));
  launcher.SetTimeout(absl::Seconds(60));
  return launcher;
}

// Runs the escape probe at `path` under `launcher` (Launcher::RunProgram); its stdout in `out`.
SandboxResult RunProbeAt(Launcher& launcher, const std::string& path,
                         const std::vector<std::string>& args, std::string* out = nullptr) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) abort();
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  launcher.SetStdioFds(-1, write_end.get(), -1);
  std::vector<std::string> argv = {path};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<SandboxResult> result = launcher.RunProgram({path, argv, {}});
  launcher.SetStdio(Launcher::Stdio::kInherit);
  write_end.reset();
  std::string text;
  char buffer[256];
  ssize_t got;
  while ((got = read(read_end.get(), buffer, sizeof(buffer))) > 0) text.append(buffer, got);
  if (out != nullptr) *out = text;
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : SandboxResult{};
}

SandboxResult RunProbe(Launcher& launcher, const std::string& probe,
                       const std::vector<std::string>& args, std::string* out = nullptr) {
  return RunProbeAt(launcher, Runfile(probe), args, out);
}

// `sbox run OPTIONS -- PROBE ARGS`, through a shell that execs it, so that "$$" in ARGS is
// sbox's own pid.
CommandResult SboxRun(const std::vector<std::string>& options, const std::string& probe,
                      const std::vector<std::string>& args) {
  std::string script = "exec \"$0\" run";
  for (const std::string& option : options) absl::StrAppend(&script, " '", option, "'");
  absl::StrAppend(&script, " --allow-read '", Runfile(probe), "' -- '", Runfile(probe), "'");
  for (const std::string& arg : args) {
    absl::StrAppend(&script, " ", arg == "$$" ? arg : absl::StrCat("'", arg, "'"));
  }
  return RunCommand({"/bin/sh", "-c", script, Runfile("tools/sbox")});
}

std::string Describe(const CommandResult& r) {
  return absl::StrCat("exit ", r.exit_code, " signal ", r.signal, "\nstdout: ", r.out,
                      "\nstderr: ", r.err);
}

void ExpectViolation(const SandboxResult& result, const std::string& syscall) {
  EXPECT_EQ(result.outcome, SandboxResult::Outcome::kViolation) << result.ToString();
  if (result.violation) {
    EXPECT_EQ(result.violation->syscall_name, syscall) << result.ToString();
  }
}

void ExpectSboxViolation(const CommandResult& r, const std::string& syscall) {
  EXPECT_EQ(r.exit_code, 159) << Describe(r);
  EXPECT_TRUE(absl::StartsWith(r.err, absl::StrCat("sbox: policy violation: ", syscall, " (")))
      << Describe(r);
}

// ---- Signals the kernel sends on the sandboxee's behalf -----------------------------------------

const char* const kFcntlOwnerMethods[] = {"setown", "setown_ex", "setsig", "async"};
const char* const kIoctlOwnerMethods[] = {"fiosetown", "siocspgrp"};

TEST(OutsideReach, SignalOwnerFromAFunctionSandboxeeIsAViolation) {
  Watcher watcher;
  HostSignals host;
  for (const ChannelType type : {ChannelType::kSeqPacket, ChannelType::kDatagram}) {
    Launcher launcher = testing::MakeLauncher(FilePolicy::Builder(), type);
    for (const pid_t target : {watcher.pid(), getpid()}) {
      for (const char* method : kFcntlOwnerMethods) {
        SCOPED_TRACE(absl::StrCat(method, " ", target));
        absl::StatusOr<SandboxResult> result = launcher.Run(
            [&](UniqueFd channel) { return testing::SignalOwner(channel.get(), target, method); });
        ASSERT_TRUE(result.ok()) << result.status();
        ExpectViolation(*result, "fcntl");
      }
      // BrokeredParser answers every ioctl ENOTTY.
      for (const char* method : kIoctlOwnerMethods) {
        absl::StatusOr<SandboxResult> result = launcher.Run(
            [&](UniqueFd channel) { return testing::SignalOwner(channel.get(), target, method); });
        ASSERT_TRUE(result.ok()) << result.status();
        EXPECT_EQ(result->exit_code, ENOTTY) << method << ": " << result->ToString();
      }
    }
  }
  EXPECT_EQ(watcher.Received(), "");
  EXPECT_EQ(host.received(), 0);
}

TEST(OutsideReach, SignalOwnerFromAProgramIsAViolation) {
  Watcher watcher;
  HostSignals host;
  Launcher launcher = ProgramLauncher();
  for (const char* probe : kProbes) {
    for (const pid_t target : {watcher.pid(), getpid()}) {
      for (const char* method : kFcntlOwnerMethods) {
        SCOPED_TRACE(absl::StrCat(probe, " ", method, " ", target));
        ExpectViolation(RunProbe(launcher, probe, {"signal", method, std::to_string(target)}),
                        "fcntl");
      }
      for (const char* method : kIoctlOwnerMethods) {
        std::string out;
        const SandboxResult result =
            RunProbe(launcher, probe, {"signal", method, std::to_string(target)}, &out);
        EXPECT_EQ(result.exit_code, 1) << result.ToString();
        EXPECT_EQ(out, "ENOTTY\n") << probe << " " << method;
      }
    }
  }
  EXPECT_EQ(watcher.Received(), "");
  EXPECT_EQ(host.received(), 0);
}

// sbox itself is the target: it must survive to report the violation.
TEST(OutsideReach, SignalOwnerUnderSboxRunIsAViolationAndSboxSurvives) {
  Watcher watcher;
  for (const char* probe : kProbes) {
    for (const std::string& target : {std::string("$$"), std::to_string(watcher.pid())}) {
      for (const char* method : kFcntlOwnerMethods) {
        SCOPED_TRACE(absl::StrCat(probe, " ", method, " ", target));
        ExpectSboxViolation(SboxRun({}, probe, {"signal", method, target}), "fcntl");
      }
      for (const char* method : kIoctlOwnerMethods) {
        const CommandResult r = SboxRun({}, probe, {"signal", method, target});
        EXPECT_EQ(r.exit_code, 1) << Describe(r);
        EXPECT_EQ(r.out, "ENOTTY\n") << Describe(r);
      }
    }
  }
  EXPECT_EQ(watcher.Received(), "");
}

// ---- Other processes by pid ---------------------------------------------------------------------

struct PidWay {
  const char* way;
  const char* syscall;
};
const PidWay kPidWays[] = {
    {"prlimit", "prlimit64"},
    {"robust_list", "get_robust_list"},
    {"cpu_clock", "clock_gettime"},
    {"futex_pi", "futex"},
    {"kill", "kill"},
    {"priority", "getpriority"},
    {"affinity", "sched_getaffinity"},
    {"pidfd", "pidfd_open"},
};

TEST(OutsideReach, NoPidOutsideCanBeNamed) {
  Watcher watcher;
  const std::string target = std::to_string(watcher.pid());
  // The function sandboxee gets every group a program gets, prlimit64's included.
  absl::StatusOr<SyscallPolicy> syscalls =
      SyscallPolicy::BrokeredParser().AllowGroup(SyscallGroup::kProgramStartup).Build();
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().Build();
  ASSERT_TRUE(syscalls.ok() && files.ok());
  Launcher launcher(*std::move(files), *std::move(syscalls));
  Launcher program_launcher = ProgramLauncher();
  for (const PidWay& way : kPidWays) {
    SCOPED_TRACE(way.way);
    absl::StatusOr<SandboxResult> result =
        launcher.Run([&](UniqueFd) { return testing::NamePid(watcher.pid(), way.way); });
    ASSERT_TRUE(result.ok()) << result.status();
    ExpectViolation(*result, way.syscall);
    for (const char* probe : kProbes) {
      ExpectViolation(RunProbe(program_launcher, probe, {"pid", way.way, target}), way.syscall);
      ExpectSboxViolation(SboxRun({}, probe, {"pid", way.way, target}), way.syscall);
    }
  }
  EXPECT_EQ(watcher.Received(), "");
}

// ---- Leases and locks ---------------------------------------------------------------------------

// A lease or a lock on a granted file would hold up processes outside that open or lock it.
// A function sandboxee, with no broker to answer them, dies reporting each. Under `sbox run`
// a lease is still a violation, and the broker answers record and file locks without taking
// them (broker/own_process_calls.h): while a process outside holds conflicting locks, the
// sandboxee's read locks succeed at once, where the kernel's would fail (F_SETLK) or wait
// forever (flock), and the outside holder is never held up.
TEST(OutsideReach, LeasesAreViolationsAndLocksHoldNoOneUp) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("granted.txt", "shared with the world\n");
  FilePolicy::Builder files;
  files.AllowReadFile(file);
  Launcher launcher = testing::MakeLauncher(files);
  UniqueFd record_holder(open(file.c_str(), O_RDWR | O_CLOEXEC));
  UniqueFd flock_holder(open(file.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(record_holder.valid() && flock_holder.valid()) << strerror(errno);
  struct flock write_lock = {};
  write_lock.l_type = F_WRLCK;
  ASSERT_EQ(fcntl(record_holder.get(), F_OFD_SETLK, &write_lock), 0) << strerror(errno);
  ASSERT_EQ(flock(flock_holder.get(), LOCK_EX | LOCK_NB), 0) << strerror(errno);
  struct Hold {
    const char* way;
    const char* syscall;
  };
  for (const Hold& hold : {Hold{"lease", "fcntl"}, Hold{"setlk", "fcntl"}, Hold{"ofd", "fcntl"},
                           Hold{"flock", "flock"}}) {
    SCOPED_TRACE(hold.way);
    absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
      sandboxee::BrokerClient client(std::move(channel));
      absl::StatusOr<UniqueFd> fd = client.Open(file, O_RDONLY);
      if (!fd.ok()) return 100;
      return testing::HoldFile(fd->get(), hold.way);
    });
    ASSERT_TRUE(result.ok()) << result.status();
    ExpectViolation(*result, hold.syscall);
    for (const char* probe : kProbes) {
      const CommandResult r =
          SboxRun({"--timeout", "20", "--allow-read", file}, probe, {"hold", hold.way, file});
      if (std::string(hold.way) == "lease") {
        ExpectSboxViolation(r, hold.syscall);
      } else {
        EXPECT_EQ(r.exit_code, 0) << Describe(r);
        EXPECT_EQ(r.out, "ok\n") << Describe(r);
      }
    }
    // Nobody outside is held up: a writer's open does not wait for a lease break, and the
    // outside locks are still the only ones.
    UniqueFd writer(open(file.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    EXPECT_TRUE(writer.valid()) << strerror(errno);
    UniqueFd other(open(file.c_str(), O_RDWR | O_CLOEXEC));
    struct flock probe_lock = {};
    probe_lock.l_type = F_WRLCK;
    ASSERT_EQ(fcntl(other.get(), F_OFD_GETLK, &probe_lock), 0);
    EXPECT_EQ(probe_lock.l_type, F_WRLCK);  // the holder's own lock, nothing else
  }
}

// ---- Core dumps ---------------------------------------------------------------------------------

// The core files in `dir`.
std::vector<std::string> Cores(const std::string& dir) {
  std::vector<std::string> cores;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename();
    if (absl::StartsWith(name, "core")) cores.push_back(name);
  }
  return cores;
}

// Raises this process's core limit to its hard limit while it lives.
class UnlimitedCores {
 public:
  UnlimitedCores() {
    getrlimit(RLIMIT_CORE, &saved_);
    rlimit raised = {saved_.rlim_max, saved_.rlim_max};
    setrlimit(RLIMIT_CORE, &raised);
  }
  ~UnlimitedCores() { setrlimit(RLIMIT_CORE, &saved_); }

 private:
  rlimit saved_;
};

TEST(OutsideReach, NoCoreFileWhateverTheCallersLimit) {
  const std::string pattern = testing::ReadFileOrDie("/proc/sys/kernel/core_pattern");
  ASSERT_FALSE(absl::StartsWith(pattern, "|"))
      << "core_pattern pipes cores to a helper; this test looks for core files: " << pattern;
  UnlimitedCores unlimited;
  rlimit limit;
  ASSERT_EQ(getrlimit(RLIMIT_CORE, &limit), 0);
  ASSERT_GT(limit.rlim_cur, 1u << 20) << "the hard core limit is too low for the control";
  ScratchDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0777), 0);

  // The control: the same crash outside the sandbox leaves a core file, so the checks below
  // can see one.
  const pid_t control = fork();
  ASSERT_GE(control, 0);
  if (control == 0) {
    if (chdir(dir.path().c_str()) != 0) _exit(1);
    testing::Crash();
  }
  int status;
  ASSERT_EQ(waitpid(control, &status, 0), control);
  ASSERT_TRUE(WIFSIGNALED(status) && WCOREDUMP(status)) << status;
  ASSERT_FALSE(Cores(dir.path()).empty());
  for (const std::string& core : Cores(dir.path())) unlink((dir.path() + "/" + core).c_str());

  // The function sandboxee's kernel working directory is the launcher's.
  char here[4096];
  ASSERT_NE(getcwd(here, sizeof(here)), nullptr);
  ASSERT_EQ(chdir(dir.path().c_str()), 0);
  absl::StatusOr<SandboxResult> result =
      testing::MakeLauncher(FilePolicy::Builder()).Run([](UniqueFd) -> int { testing::Crash(); });
  ASSERT_EQ(chdir(here), 0);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, SandboxResult::Outcome::kSignaled) << result->ToString();
  EXPECT_EQ(result->signal, SIGSEGV);

  for (const char* probe : kProbes) {
    Launcher launcher = ProgramLauncher();
    launcher.SetWorkingDirectory(dir.path());
    const SandboxResult crashed = RunProbe(launcher, probe, {"crash"});
    EXPECT_EQ(crashed.signal, SIGSEGV) << crashed.ToString();
    const CommandResult r = SboxRun({"--cwd", dir.path()}, probe, {"crash"});
    EXPECT_EQ(r.exit_code, 128 + SIGSEGV) << Describe(r);
  }
  EXPECT_TRUE(Cores(dir.path()).empty());
}

// ---- Forged reports -----------------------------------------------------------------------------

// A line on stderr and an exit status are the program's to choose; the result (SandboxResult,
// and sbox run's --report) is not.
TEST(OutsideReach, AForgedViolationReportIsAnExitEverywhere) {
  absl::StatusOr<SandboxResult> result =
      testing::MakeLauncher(FilePolicy::Builder()).Run([](UniqueFd) {
        return testing::ForgeViolationReport();
      });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, SandboxResult::Outcome::kExited) << result->ToString();
  EXPECT_EQ(result->exit_code, 159);
  ScratchDir dir;
  Launcher launcher = ProgramLauncher();
  for (const char* probe : kProbes) {
    const SandboxResult program = RunProbe(launcher, probe, {"forge"});
    EXPECT_EQ(program.outcome, SandboxResult::Outcome::kExited) << program.ToString();
    EXPECT_EQ(program.exit_code, 159);
    const std::string report = dir.path() + "/report.json";
    const CommandResult r = SboxRun({"--report", report}, probe, {"forge"});
    EXPECT_EQ(r.exit_code, 159) << Describe(r);
    EXPECT_TRUE(absl::StartsWith(r.err, "sbox: policy violation: execve (59)")) << Describe(r);
    EXPECT_TRUE(absl::StartsWith(testing::ReadFileOrDie(report),
                                 "{\"outcome\":\"exited\",\"exit_code\":159,\"signal\":null,"
                                 "\"violation\":null,"))
        << testing::ReadFileOrDie(report);
  }
}

// ---- Capabilities -------------------------------------------------------------------------------

// Runs `body` holding capabilities for sbox to drop: this process's own when it has some (as
// root); else, unprivileged, in a forked child that is uid 0 of a user namespace of its own,
// with every capability there (an exec as uid 0 would get its bounding set back there too).
void WithCapabilities(const std::function<void()>& body) {
  if (testing::CapabilitiesHeld() > 0) {
    body();
    return;
  }
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (unshare(CLONE_NEWUSER) != 0) _exit(100);
    const auto write = [](const std::string& path, const std::string& text) {
      std::FILE* f = std::fopen(path.c_str(), "w");
      return f != nullptr && std::fputs(text.c_str(), f) >= 0 && std::fclose(f) == 0;
    };
    if (!write("/proc/self/uid_map", absl::StrCat("0 ", uid, " 1\n")) ||
        !write("/proc/self/setgroups", "deny") ||
        !write("/proc/self/gid_map", absl::StrCat("0 ", gid, " 1\n"))) {
      _exit(101);
    }
    body();
    _exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "in a user namespace of the test's own: " << status;
}

TEST(OutsideReach, TheSandboxeeHasNoCapabilities) {
  WithCapabilities([] {
    ASSERT_GT(testing::CapabilitiesHeld(), 0) << "the test runs without capabilities to drop";
    absl::StatusOr<SyscallPolicy> syscalls = SyscallPolicy::BrokeredParser()
                                                 .Allow("capget")
                                                 .Allow("prctl", {Arg(0).Eq(PR_CAPBSET_READ)})
                                                 .Build();
    absl::StatusOr<FilePolicy> files = FilePolicy::Builder().Build();
    ASSERT_TRUE(syscalls.ok() && files.ok());
    Launcher launcher(*std::move(files), *std::move(syscalls));
    absl::StatusOr<SandboxResult> result =
        launcher.Run([](UniqueFd) { return testing::CapabilitiesHeld() == 0 ? 0 : 1; });
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->ok()) << result->ToString();

    // An exec'ed program, which as uid 0 would get the bounding set back.
    ScratchDir dir;
    const std::string policy =
        dir.WriteFile("caps.policy", absl::StrCat("include \"", Runfile("policies/default.policy"),
                                                  "\"\nallow capget\nallow prctl if arg0 == 23\n"));
    for (const char* probe : kProbes) {
      const CommandResult r = SboxRun({"--policy", policy}, probe, {"caps"});
      EXPECT_EQ(r.exit_code, 0) << Describe(r);
      EXPECT_EQ(r.out, "0\n") << Describe(r);
    }
  });
}

// ---- Reports racing an exit ---------------------------------------------------------------------

constexpr int kRaceRuns = 100;
constexpr int kRaceThreads = 200;

TEST(OutsideReach, AViolationRacingExitIsAlwaysReported) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("busy.txt", "x");
  FilePolicy::Builder files = LoaderFiles();
  files.AllowReadFile(file);
  absl::StatusOr<SyscallPolicy> redirected = SyscallPolicy::RedirectedParser().Build();
  absl::StatusOr<FilePolicy> function_files = FilePolicy::Builder().AllowReadFile(file).Build();
  ASSERT_TRUE(redirected.ok() && function_files.ok());
  Launcher launcher(*std::move(function_files), *std::move(redirected));
  launcher.SetTimeout(absl::Seconds(60));
  Launcher program_launcher = ProgramLauncher(files);
  int reported[3] = {0, 0, 0};
  for (int run = 0; run < kRaceRuns; ++run) {
    absl::StatusOr<SandboxResult> result =
        launcher.Run([&](UniqueFd) -> int { testing::ExitRace(file, kRaceThreads); });
    ASSERT_TRUE(result.ok()) << result.status();
    if (result->violation && result->violation->syscall_name == "socket") ++reported[0];
    const SandboxResult program = RunProbe(program_launcher, kProbes[run % 2],
                                           {"exit-race", file, std::to_string(kRaceThreads)});
    if (program.violation && program.violation->syscall_name == "socket") ++reported[1];
    const CommandResult r = SboxRun({"--allow-read", file}, kProbes[run % 2],
                                    {"exit-race", file, std::to_string(kRaceThreads)});
    if (r.exit_code == 159 && absl::StartsWith(r.err, "sbox: policy violation: socket (")) {
      ++reported[2];
    }
  }
  EXPECT_EQ(reported[0], kRaceRuns) << "function sandboxee";
  EXPECT_EQ(reported[1], kRaceRuns) << "Launcher::RunProgram";
  EXPECT_EQ(reported[2], kRaceRuns) << "sbox run";
}

// ---- The channel --------------------------------------------------------------------------------

// A datagram socket outside, bound to a path in `dir`.
class OutsideSocket {
 public:
  explicit OutsideSocket(const std::string& path)
      : fd_(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)), path_(path) {
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    memcpy(address.sun_path, path.c_str(), path.size() + 1);
    if (bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) abort();
    chmod(path.c_str(), 0777);
  }
  // Whether a datagram has arrived.
  bool Received() {
    char byte;
    return recv(fd_.get(), &byte, 1, MSG_DONTWAIT) >= 0;
  }

 private:
  UniqueFd fd_;
  std::string path_;
};

// The channel is SOCK_SEQPACKET: the kernel ignores a destination given to sendmsg, so the
// message goes to the broker, which refuses it as malformed.
TEST(OutsideReach, TheChannelCannotSendElsewhere) {
  // sun_path holds 108 bytes: a short directory of its own.
  char dir_template[] = "/tmp/sbox-sock-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/outside.sock";
  OutsideSocket outside(path);
  Launcher launcher = testing::MakeLauncher(FilePolicy::Builder());
  absl::StatusOr<SandboxResult> result =
      launcher.Run([&](UniqueFd channel) { return testing::SendElsewhere(channel.get(), path); });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  for (const char* probe : kProbes) {
    const CommandResult r = SboxRun({}, probe, {"send", path});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
  }
  EXPECT_FALSE(outside.Received());
  std::filesystem::remove_all(dir_template);
}

// ---- As an unprivileged user --------------------------------------------------------------------

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

// Runs `body` in a forked process as nobody; returns its exit code (0: every check passed), or
// 200 when the drop failed.
int AsNobody(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid < 0) return 201;
  if (pid == 0) {
    // Root drops to nobody; an unprivileged caller already is someone without privilege.
    if (geteuid() == 0 &&
        (setgroups(0, nullptr) != 0 || setresgid(kNogroup, kNogroup, kNogroup) != 0 ||
         setresuid(kNobody, kNobody, kNobody) != 0 || geteuid() != kNobody)) {
      _exit(200);
    }
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 202;
}

TEST(OutsideReach, AsNobodySignalsPidsLocksCoresAndExitRacesStayInside) {
  // Files nobody can reach: /tmp, not the test's private directories.
  char dir_template[] = "/tmp/sbox-outside-reach-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);
  const std::string file = dir + "/busy.txt";
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  ASSERT_EQ(chmod(file.c_str(), 0644), 0);
  // The programs, where nobody may run them.
  for (const char* binary : {kProbes[0], kProbes[1], "tools/sbox"}) {
    const std::string copy = dir + "/" + std::filesystem::path(binary).filename().string();
    std::filesystem::copy_file(Runfile(binary), copy);
    ASSERT_EQ(chmod(copy.c_str(), 0755), 0);
  }
  UnlimitedCores unlimited;

  const int status = AsNobody([&] {
    Watcher watcher;
    Launcher launcher = testing::MakeLauncher(FilePolicy::Builder());
    for (const char* method : kFcntlOwnerMethods) {
      absl::StatusOr<SandboxResult> r = launcher.Run([&](UniqueFd channel) {
        return testing::SignalOwner(channel.get(), watcher.pid(), method);
      });
      if (!r.ok() || r->outcome != SandboxResult::Outcome::kViolation) return 10;
    }
    for (const PidWay& way : kPidWays) {
      absl::StatusOr<SandboxResult> r =
          launcher.Run([&](UniqueFd) { return testing::NamePid(watcher.pid(), way.way); });
      if (!r.ok() || !r->violation || r->violation->syscall_name != way.syscall) return 11;
    }
    absl::StatusOr<FilePolicy> readable = FilePolicy::Builder().AllowReadFile(file).Build();
    if (!readable.ok()) return 19;
    Launcher holding(*std::move(readable), *SyscallPolicy::BrokeredParser().Build());
    for (const char* way : {"lease", "setlk", "ofd", "flock"}) {
      absl::StatusOr<SandboxResult> r = holding.Run([&](UniqueFd channel) {
        sandboxee::BrokerClient client(std::move(channel));
        absl::StatusOr<UniqueFd> fd = client.Open(file, O_RDONLY);
        return fd.ok() ? testing::HoldFile(fd->get(), way) : 100;
      });
      if (!r.ok() || r->outcome != SandboxResult::Outcome::kViolation) return 20;
    }
    if (chdir(dir.c_str()) != 0) return 12;
    absl::StatusOr<SandboxResult> crashed = launcher.Run([](UniqueFd) -> int { testing::Crash(); });
    if (!crashed.ok() || crashed->signal != SIGSEGV || !Cores(dir).empty()) return 13;
    absl::StatusOr<SyscallPolicy> redirected = SyscallPolicy::RedirectedParser().Build();
    absl::StatusOr<FilePolicy> files = FilePolicy::Builder().AllowReadFile(file).Build();
    if (!redirected.ok() || !files.ok()) return 14;
    Launcher racing(*std::move(files), *std::move(redirected));
    for (int run = 0; run < 20; ++run) {
      absl::StatusOr<SandboxResult> r =
          racing.Run([&](UniqueFd) -> int { testing::ExitRace(file, kRaceThreads); });
      if (!r.ok() || !r->violation || r->violation->syscall_name != "socket") return 15;
    }
    Launcher programs = ProgramLauncher();
    for (const char* probe : kProbes) {
      const std::string copy = dir + "/" + std::filesystem::path(probe).filename().string();
      const SandboxResult r =
          RunProbeAt(programs, copy, {"signal", "setown", std::to_string(watcher.pid())});
      if (r.outcome != SandboxResult::Outcome::kViolation) return 16;
      const CommandResult run = RunCommand({dir + "/sbox", "run", "--allow-read", copy, "--", copy,
                                            "pid", "prlimit", std::to_string(watcher.pid())});
      if (run.exit_code != 159 || !absl::StartsWith(run.err, "sbox: policy violation: prlimit64"))
        return 17;
    }
    return watcher.Received().empty() ? 0 : 18;
  });
  std::filesystem::remove_all(dir);
  EXPECT_EQ(status, 0);
}

}  // namespace
}  // namespace sbox
