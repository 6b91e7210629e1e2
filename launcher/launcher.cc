#include "launcher/launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "broker/file_request_handler.h"
#include "broker/landlock_mirror.h"
#include "broker/notification_broker.h"
#include "broker/path_check.h"
#include "broker/violation_listener.h"
#include "launcher/fork_server.h"
#include "launcher/group_guard.h"
#include "launcher/sandboxee_process.h"
#include "launcher/terminal_foreground.h"
#include "proto/fd_transport.h"
#include "sandboxee/sandboxee_setup.h"

namespace sbox {
namespace {

absl::Status ErrnoError(int error, absl::string_view what) {
  return absl::ErrnoToStatus(error, absl::StrFormat("launcher: %s", what));
}

absl::StatusOr<std::pair<UniqueFd, UniqueFd>> SocketPair(int type) {
  int fds[2];
  if (socketpair(AF_UNIX, type, 0, fds) != 0) {
    return ErrnoError(errno, absl::StrFormat("socketpair(AF_UNIX, %s)",
                                             (type & SOCK_DGRAM) == SOCK_DGRAM ? "SOCK_DGRAM"
                                                                               : "SOCK_SEQPACKET"));
  }
  return std::make_pair(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

// Milliseconds until `deadline` for poll(2): -1 for none, at least 0.
int PollTimeout(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
}

// Reads the child's set-up report: the seccomp listener, or the step that failed.
absl::StatusOr<UniqueFd> ReceiveSetupReport(int report_fd, const SandboxeeProcess& child,
                                            absl::Time deadline) {
  pollfd fds[2] = {{report_fd, POLLIN, 0}, {child.pidfd(), POLLIN, 0}};
  for (;;) {
    const int ready = poll(fds, 2, PollTimeout(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return ErrnoError(errno, "poll for the sandboxee's set-up report");
    if (ready == 0) return absl::DeadlineExceededError("launcher: sandboxee set-up timed out");
    if (fds[0].revents != 0) break;
    // The child exited without a report; the socket is readable now too, or it never will be.
    fds[1].fd = -1;
  }
  SetupReport report = {};
  proto::ReceivedMessage message;
  const ssize_t size = proto::ReceiveMessage(report_fd, &report, sizeof(report), 1, &message);
  if (size != static_cast<ssize_t>(sizeof(report))) {
    return absl::InternalError("launcher: the sandboxee exited during set-up without a report");
  }
  if (report.step != SetupStep::kReady) {
    return ErrnoError(report.error,
                      absl::StrFormat("sandboxee set-up failed at %s", SetupStepName(report.step)));
  }
  if (message.fd_count != 1) {
    return absl::InternalError("launcher: the sandboxee's set-up report has no seccomp listener");
  }
  return std::move(message.fds[0]);
}

// The stack of a child that shares the parent's memory until it execs. The lowest page is a
// guard: an overflow faults instead of writing into the parent's memory below.
class ChildStack {
 public:
  static constexpr size_t kSize = 256 * 1024;

  ChildStack()
      : base_(mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                   -1, 0)) {
    if (base_ != MAP_FAILED && mprotect(base_, static_cast<size_t>(getpagesize()), PROT_NONE)) {
      munmap(base_, kSize);
      base_ = MAP_FAILED;
    }
  }
  ~ChildStack() {
    if (valid()) munmap(base_, kSize);
  }
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;

  bool valid() const { return base_ != MAP_FAILED; }
  void* top() const { return static_cast<char*>(base_) + kSize; }

 private:
  void* base_;
};

// A MAP_SHARED page for the pid namespace's init to write the sandboxee's exit into: shared
// across the forks between the launcher and the init.
class InitStatusPage {
 public:
  InitStatusPage()
      : page_(mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)) {}
  ~InitStatusPage() {
    if (valid()) munmap(page_, kSize);
  }
  InitStatusPage(const InitStatusPage&) = delete;
  InitStatusPage& operator=(const InitStatusPage&) = delete;

  bool valid() const { return page_ != MAP_FAILED; }
  sandboxee::InitStatus* get() const { return static_cast<sandboxee::InitStatus*>(page_); }

 private:
  static constexpr size_t kSize = 4096;
  void* page_;
};

// What the cloned child of RunProgram runs.
struct ExecChild {
  const SandboxeeSetupPlan* plan;
  const SandboxeeExecPlan* exec;
};

int ExecChildMain(void* arg) {
  const auto* child = static_cast<const ExecChild*>(arg);
  ExecSandboxee(*child->plan, *child->exec);
}

// Reads what an exec'ed child says after its listener: nothing (end-of-file) when execve
// succeeded, a kExec failure otherwise.
absl::Status ReceiveExecReport(int report_fd, const SandboxeeExecPlan* exec) {
  SetupReport report = {};
  proto::ReceivedMessage message;
  const ssize_t size = proto::ReceiveMessage(report_fd, &report, sizeof(report), 0, &message);
  if (size == 0) return absl::OkStatus();
  if (size != static_cast<ssize_t>(sizeof(report)) || report.step != SetupStep::kExec) {
    return absl::InternalError("launcher: malformed set-up report after the seccomp listener");
  }
  return ErrnoError(report.error, absl::StrFormat("sandboxee set-up failed at %s(\"%s\")",
                                                  SetupStepName(report.step), exec->path));
}

}  // namespace

Launcher::Launcher(FilePolicy files, SyscallPolicy syscalls)
    : files_(std::move(files)), syscalls_(std::move(syscalls)) {}

Launcher& Launcher::SetChannelType(ChannelType type) {
  channel_type_ = type;
  return *this;
}

Launcher& Launcher::SetMaxChannels(int max_channels) {
  max_channels_ = max_channels;
  return *this;
}

Launcher& Launcher::SetDecisionLog(DecisionLog log) {
  decision_log_ = std::move(log);
  return *this;
}

Launcher& Launcher::SetTimeout(absl::Duration timeout) {
  timeout_ = timeout;
  return *this;
}

Launcher& Launcher::SetStdio(Stdio stdio) {
  stdio_ = stdio;
  for (int& fd : stdio_fds_) fd = -1;
  return *this;
}

Launcher& Launcher::ObserveAndLetThrough(NotificationBroker::Observer observer) {
  observer_ = std::move(observer);
  return *this;
}

Launcher& Launcher::SetLandlock(LandlockMode mode) {
  landlock_mode_ = mode;
  return *this;
}

Launcher& Launcher::SetNamespaces(NamespaceSet namespaces, bool required) {
  namespaces_ = namespaces;
  namespaces_required_ = required;
  return *this;
}

Launcher& Launcher::SetResourceLimit(int resource, rlim_t value) {
  for (auto& [set, old_value] : resource_limits_) {
    if (set == resource) {
      old_value = value;
      return *this;
    }
  }
  resource_limits_.emplace_back(resource, value);
  return *this;
}

Launcher& Launcher::SetWorkingDirectory(std::string directory) {
  working_directory_ = std::move(directory);
  return *this;
}

Launcher& Launcher::SetStdioFds(int stdin_fd, int stdout_fd, int stderr_fd) {
  stdio_ = Stdio::kInherit;
  stdio_fds_[0] = stdin_fd;
  stdio_fds_[1] = stdout_fd;
  stdio_fds_[2] = stderr_fd;
  return *this;
}

absl::StatusOr<SandboxResult> Launcher::Run(
    absl::FunctionRef<int(UniqueFd channel)> sandboxee) const {
  return Launch(&sandboxee, nullptr, nullptr);
}

absl::StatusOr<SandboxResult> Launcher::RunEntryPoint(EntryPointLaunch& launch) const {
  if (!launch.program.empty()) {
    if (!namespaces_.empty()) {
      return absl::InvalidArgumentError("launcher: entry points run without namespaces");
    }
    if (launch.call_fd < 0) return absl::InvalidArgumentError("launcher: no call channel");
    Program program;
    program.path = launch.program;
    program.argv = {launch.program};
    program.env = {absl::StrCat("SBOX_ENTRY_POINT=", launch.name),
                   absl::StrCat("SBOX_CALLS=", launch.calls)};
    return StartProgram(program, &launch);
  }
  if (ForkServer::Running() == nullptr) {
    return absl::FailedPreconditionError(
        "launcher: no fork server runs (sbox::StartForkServer() at the start of main)");
  }
  if (!namespaces_.empty()) {
    return absl::InvalidArgumentError("launcher: entry points run without namespaces");
  }
  if (launch.call_fd < 0) return absl::InvalidArgumentError("launcher: no call channel");
  return Launch(nullptr, nullptr, &launch);
}

absl::StatusOr<SandboxResult> Launcher::RunProgram(const Program& program) const {
  return StartProgram(program, nullptr);
}

absl::StatusOr<SandboxResult> Launcher::StartProgram(const Program& program,
                                                     EntryPointLaunch* entry) const {
  // A trap-mode filter would send the program's file calls to a SIGSYS handler that an
  // unmodified program does not have.
  if (syscalls_.redirection() != Redirection::kUserNotification) {
    return absl::InvalidArgumentError(
        "launcher: RunProgram needs a syscall policy with the file-redirection group built in "
        "Redirection::kUserNotification mode");
  }
  if (program.path.empty()) return absl::InvalidArgumentError("launcher: empty program path");
  const auto has_nul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
  if (has_nul(program.path) || std::any_of(program.argv.begin(), program.argv.end(), has_nul) ||
      std::any_of(program.env.begin(), program.env.end(), has_nul)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "launcher: program \"%s\": a path, argument or variable has a NUL byte", program.path));
  }
  // The arrays execve takes, built before fork: the child may not allocate.
  std::vector<char*> argv;
  for (const std::string& arg : program.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  constexpr absl::string_view kChannelVariable = "SBOX_BROKER_FD=";
  const std::string channel_variable = absl::StrCat(kChannelVariable, kSandboxeeChannelFd);
  std::vector<char*> envp;
  for (const std::string& variable : program.env) {
    if (absl::StartsWith(variable, kChannelVariable)) continue;
    envp.push_back(const_cast<char*>(variable.c_str()));
  }
  envp.push_back(const_cast<char*>(channel_variable.c_str()));
  envp.push_back(nullptr);
  SandboxeeExecPlan exec{program.path.c_str(), argv.data(), envp.data(), nullptr};
  return Launch(nullptr, &exec, entry);
}

absl::StatusOr<SandboxResult> Launcher::Launch(const absl::FunctionRef<int(UniqueFd)>* sandboxee,
                                               SandboxeeExecPlan* exec,
                                               EntryPointLaunch* entry) const {
  const absl::Time start = absl::Now();
  const absl::Duration timeout =
      entry != nullptr && entry->timeout != absl::InfiniteDuration() ? entry->timeout : timeout_;
  const absl::Time deadline =
      timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : start + timeout;
  std::vector<std::pair<int, rlim_t>> resource_limits = resource_limits_;
  if (entry != nullptr) {
    for (const auto& [resource, value] : entry->resource_limits) {
      auto same =
          std::find_if(resource_limits.begin(), resource_limits.end(),
                       [resource = resource](const auto& set) { return set.first == resource; });
      if (same != resource_limits.end()) {
        same->second = value;
      } else {
        resource_limits.emplace_back(resource, value);
      }
    }
  }
  std::string working_directory = working_directory_;
  if (working_directory.empty()) {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == nullptr) return ErrnoError(errno, "getcwd");
    working_directory = cwd;
  }
  if (const PathProblem problem = CheckAbsoluteNormalizedPath(working_directory);
      problem != PathProblem::kNone) {
    return absl::InvalidArgumentError(absl::StrFormat("launcher: working directory \"%s\": %s",
                                                      working_directory, PathProblemText(problem)));
  }
  if (exec != nullptr) exec->working_directory = working_directory.c_str();

  // Built for this launch: the program's own exec chain, and the child's /proc/self.
  LandlockMirrorOptions landlock_options;
  if (exec != nullptr) landlock_options.programs.push_back(exec->path);
  landlock_options.working_directory = working_directory;
  landlock_options.fast_reads = syscalls_.fast_reads();
  absl::StatusOr<LandlockMirror> landlock =
      LandlockMirror::Build(files_, landlock_options, landlock_mode_);
  if (!landlock.ok()) {
    return absl::Status(landlock.status().code(),
                        absl::StrCat("launcher: Landlock: ", landlock.status().message()));
  }
  if (landlock->child_rules().size() > SandboxeeSetupPlan::kMaxLandlockRules) {
    return absl::InvalidArgumentError(
        absl::StrFormat("launcher: Landlock: more than %d rules on /proc/self",
                        SandboxeeSetupPlan::kMaxLandlockRules));
  }

  auto channel = SocketPair(SocketTypeFor(channel_type_));
  if (!channel.ok()) return channel.status();
  auto report = SocketPair(SOCK_SEQPACKET | SOCK_CLOEXEC);
  if (!report.ok()) return report.status();
  // The in-process handler serves Run's function; an exec'ed program would lose it at execve.
  const bool file_redirection = exec == nullptr && syscalls_.redirection() == Redirection::kTrap;
  SandboxeeSetupPlan plan{getpid(),
                          channel->second.get(),
                          report->second.get(),
                          {stdio_fds_[0], stdio_fds_[1], stdio_fds_[2]},
                          syscalls_.fprog(),
                          file_redirection};
  for (const auto& [resource, value] : resource_limits) {
    if (resource < 0 || resource >= RLIM_NLIMITS || resource == RLIMIT_CORE ||
        plan.resource_limit_count == SandboxeeSetupPlan::kMaxResourceLimits) {
      return absl::InvalidArgumentError(
          absl::StrFormat("launcher: resource limit %d cannot be set", resource));
    }
    // At the hard limit the kernel sends SIGKILL, at the soft one SIGXCPU: the signal that
    // tells which limit ended the program comes first.
    const uint64_t hard =
        resource == RLIMIT_CPU && value != RLIM_INFINITY && value + 1 != RLIM_INFINITY ? value + 1
                                                                                       : value;
    plan.resource_limits[plan.resource_limit_count++] = {resource, value, hard};
  }
  plan.namespaces = {namespaces_, namespaces_required_};
  // The pid namespace's init writes the sandboxee's exit here; declared before the child, so
  // unmapped only once the child (which outlives the init) has been reaped.
  std::optional<InitStatusPage> init_status;
  if (namespaces_.Has(Namespace::kPid)) {
    init_status.emplace();
    if (!init_status->valid()) return ErrnoError(errno, "mmap of the init's status page");
    plan.init_status = init_status->get();
  }
  // The namespace report's sender is the sandboxee, whose pid (in a pid namespace of its own,
  // or past an init) only SCM_CREDENTIALS tells.
  const int pass_credentials = 1;
  if (!namespaces_.empty() && setsockopt(report->first.get(), SOL_SOCKET, SO_PASSCRED,
                                         &pass_credentials, sizeof(pass_credentials)) != 0) {
    return ErrnoError(errno, "setsockopt(SO_PASSCRED) on the set-up socket");
  }
  plan.landlock_fd = landlock->ruleset_fd();
  for (const LandlockMirror::ChildRule& rule : landlock->child_rules()) {
    plan.landlock_rules[plan.landlock_rule_count++] = {rule.path.c_str(), rule.rights};
  }
  UniqueFd null_fd;
  if (stdio_ == Stdio::kNull) {
    null_fd.reset(open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null_fd.valid()) return ErrnoError(errno, "open(\"/dev/null\")");
    for (int& fd : plan.stdio_fds) fd = null_fd.get();
  }

  // Declared before `child`: unmapped only once the child has been reaped.
  ChildStack stack;
  const ExecChild exec_child{&plan, exec};
  pid_t pid;
  UniqueFd pidfd;
  if (entry != nullptr) plan.call_fd = entry->call_fd;
  if (entry != nullptr && exec == nullptr) {
    // The server's own stdio is closed: "inherit" means this process's.
    for (int i = 0; i < 3; ++i) {
      if (plan.stdio_fds[i] < 0) plan.stdio_fds[i] = i;
    }
    absl::StatusOr<ForkServer::Spawned> spawned =
        ForkServer::Running()->Spawn(plan, entry->name, entry->calls);
    if (!spawned.ok()) return spawned.status();
    pid = spawned->pid;
    pidfd = std::move(spawned->pidfd);
  } else if (exec != nullptr) {
    // A child that shares this process's memory until it execs, as posix_spawn's: no page
    // table to copy and no copy-on-write fault after, which fork costs a large parent.
    if (!stack.valid()) return ErrnoError(errno, "mmap of the child's stack");
    // No handler of ours may run in the child before ExecSandboxee resets the dispositions.
    sigset_t all;
    sigset_t saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid =
        clone(&ExecChildMain, stack.top(), CLONE_VM | SIGCHLD, const_cast<ExecChild*>(&exec_child));
    const int clone_error = errno;
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    if (pid < 0) return ErrnoError(clone_error, "clone(CLONE_VM)");
  } else {
    // Buffered output would otherwise be written twice, once by each process.
    fflush(nullptr);
    pid = fork();
    if (pid < 0) return ErrnoError(errno, "fork");
    if (pid == 0) {
      // The child. Async-signal-safe until the filter is installed (PrepareSandboxee says so);
      // then the sandboxee's own code runs.
      PrepareSandboxee(plan);
      const int exit_code = (*sandboxee)(UniqueFd(kSandboxeeChannelFd));
      // As exit(3) would, but without the parent's atexit handlers and static destructors.
      fflush(nullptr);
      _exit(exit_code);
    }
  }

  channel->second.reset();
  report->second.reset();
  null_fd.reset();
  if (!pidfd.valid()) pidfd.reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) {
    const int error = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return ErrnoError(error, absl::StrFormat("pidfd_open(%d)", pid));
  }
  SandboxeeProcess child(pid, std::move(pidfd));
  // Without a pid namespace, whose init does it, the group dies with the launching thread too.
  std::optional<GroupGuard> guard;
  if (!namespaces_.Has(Namespace::kPid) && !(entry != nullptr && entry->single_process)) {
    absl::StatusOr<GroupGuard> started = GroupGuard::Start(pid);
    if (!started.ok()) return started.status();
    guard.emplace(*std::move(started));
  }
  // With namespaces, the sandboxee says which it got, and may be a process further down.
  pid_t sandboxee_pid = pid;
  SandboxResult result;
  if (!namespaces_.empty()) {
    absl::StatusOr<NamespacesEntered> entered =
        ReceiveNamespaceReport(report->first.get(), child.pidfd(), deadline);
    if (!entered.ok()) return entered.status();
    sandboxee_pid = entered->sandboxee_pid;
    if (entered->init_pidfd.valid()) child.SetInit(std::move(entered->init_pidfd));
    result.namespaces_created = entered->created;
    for (Namespace ns : kAllNamespaces) {
      if (const int error = entered->refused_errno[static_cast<int>(ns)]; error != 0) {
        result.namespaces_refused.push_back({ns, error});
      }
    }
  }
  // An interactive sandboxee reads its terminal as the foreground job. Its group is made by the
  // child, and without namespaces here too, as a shell does, whichever runs first (with them,
  // it exists by the namespace report).
  if (stdio_ == Stdio::kInherit && namespaces_.empty()) setpgid(pid, pid);
  const std::optional<TerminalForeground> foreground =
      stdio_ == Stdio::kInherit
          ? TerminalForeground::HandTo(stdio_fds_[0] >= 0 ? stdio_fds_[0] : STDIN_FILENO,
                                       sandboxee_pid)
          : std::nullopt;
  // Rules on /proc/self name the sandboxee's entries, which exist from now on.
  std::optional<FilePolicy> own_process_files;
  if (files_.HasOwnProcessRules()) {
    absl::StatusOr<FilePolicy> rebuilt = files_.ForSandboxee(sandboxee_pid);
    if (!rebuilt.ok()) return rebuilt.status();
    own_process_files.emplace(*std::move(rebuilt));
  }
  const FilePolicy& files = own_process_files.has_value() ? *own_process_files : files_;

  // Served from before the set-up report: the file-redirection step asks for its channel
  // (Op::kNewChannel) while the child sets up. Nothing but sbox's own set-up code runs in the
  // child until the report comes.
  // A copy: a child cloned with CLONE_VM reads `working_directory` until it has exec'ed.
  BrokerServer server(files, BrokerServer::Options{channel_type_, max_channels_, decision_log_,
                                                   sandboxee_pid, working_directory});
  if (absl::Status served = server.Serve(std::move(channel->first)); !served.ok()) return served;

  absl::StatusOr<UniqueFd> listener = ReceiveSetupReport(report->first.get(), child, deadline);
  if (!listener.ok()) return listener.status();
  // An exec'ed child still reports on the setup socket: end-of-file once execve succeeded,
  // a kExec failure otherwise.
  if (exec == nullptr) report->first.reset();
  if (entry != nullptr && entry->on_started) entry->on_started();

  // The file calls the filter sends to the listener (an exec'ed program's, or a function
  // sandboxee's under Redirection::kUserNotification): decided by the same handler as the
  // channel's requests, against the same working directory.
  const FileRequestHandler handler(files, decision_log_);
  std::optional<NotificationBroker> notifications;
  if (exec != nullptr || syscalls_.redirection() == Redirection::kUserNotification) {
    NotificationBroker::Options options;
    options.first_exec_is_launchers = exec != nullptr;
    // Landlock enforces `x` (LandlockMirror::Build refuses it otherwise).
    options.serve_exec = landlock->report().abi != 0 && files.GrantsExec();
    options.kernel_follows_working_directory = options.serve_exec || syscalls_.fast_reads();
    options.signals_scoped = (landlock->report().scopes & landlock::kScopeSignal) != 0;
    notifications.emplace(handler, server.sandbox_state(), listener->get(), sandboxee_pid,
                          syscalls_.own_process_calls(), options);
    if (observer_) notifications->ObserveAndLetThrough(observer_);
    if (result.namespaces_created.Has(Namespace::kPid)) {
      if (absl::Status named = notifications->SandboxeeHasOwnPidNamespace(); !named.ok()) {
        return named;
      }
    }
  }

  bool timed_out = false;
  // exit_group calls held until the reports queued beside them have been read. The kernel
  // queues notifications in order and this loop reads them in order, so every call made
  // before an exit_group is read before it; the pending ones read after it are those that
  // raced it. Bounded, so that threads that keep calling cannot hold the exit forever.
  std::vector<uint64_t> held_exits;
  int drain_left = 0;
  constexpr int kMaxDrainedBeforeExit = 256;
  pollfd fds[4] = {{child.pidfd(), POLLIN, 0},
                   {listener->get(), POLLIN, 0},
                   {report->first.get(), POLLIN, 0},
                   {entry != nullptr ? entry->cancel_fd : -1, POLLIN, 0}};
  for (;;) {
    // The notification broker's serving threads, once started, receive from the listener.
    if (notifications && fds[1].fd >= 0) fds[1].fd = notifications->ready_fd();
    const int ready = poll(fds, 4, timed_out ? -1 : PollTimeout(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return ErrnoError(errno, "poll on the sandboxee");
    if (fds[2].revents != 0) {
      absl::Status exec_status = ReceiveExecReport(fds[2].fd, exec);
      if (!exec_status.ok()) return exec_status;
      report->first.reset();
      fds[2].fd = -1;
    }
    if (fds[0].revents != 0) break;
    if (fds[3].revents != 0 && !timed_out) {
      timed_out = true;
      child.Kill();
      fds[1].fd = -1;
      fds[3].fd = -1;
      continue;
    }
    // Checked on the clock, not on poll timing out: a sandboxee that keeps the listener busy
    // would otherwise never time out.
    if (!timed_out && deadline != absl::InfiniteFuture() && absl::Now() >= deadline) {
      timed_out = true;
      child.Kill();
      fds[1].fd = -1;
      continue;
    }
    if (fds[1].revents & POLLIN) {
      absl::StatusOr<ListenerEvent> event =
          notifications ? notifications->ServeOne() : ReadListenerEvent(fds[1].fd);
      if (!event.ok()) return event.status();
      if (event->violation && !result.violation) {
        result.violation = *std::move(event->violation);
        child.Kill();
      }
      if (event->exit_id) {
        if (held_exits.empty()) drain_left = kMaxDrainedBeforeExit;
        held_exits.push_back(*event->exit_id);
      }
    }
    // Once a violation is known, or the filter has no users left, the listener has no news.
    if (result.violation || (fds[1].revents & (POLLHUP | POLLERR | POLLNVAL))) fds[1].fd = -1;
    if (!held_exits.empty() && fds[1].fd >= 0 &&
        (--drain_left < 0 ||
         !(notifications ? notifications->Pending() : NotificationPending(fds[1].fd)))) {
      for (uint64_t id : held_exits) LetExitProceed(listener->get(), id);
      held_exits.clear();
    }
  }

  // The child is gone, and its end of the setup socket with it: this read cannot block.
  if (report->first.valid()) {
    absl::Status exec_status = ReceiveExecReport(report->first.get(), exec);
    if (!exec_status.ok()) return exec_status;
  }

  siginfo_t info;
  struct rusage usage = {};
  if (absl::Status waited = child.Finish(&info, &usage); !waited.ok()) return waited;
  // The child waited for the init, which saw the sandboxee's end.
  if (init_status.has_value() && init_status->get()->code != 0) {
    info.si_code = init_status->get()->code;
    info.si_status = init_status->get()->status;
  }
  result.wall_time_us = absl::ToInt64Microseconds(absl::Now() - start);
  result.user_time_us = int64_t{usage.ru_utime.tv_sec} * 1000000 + usage.ru_utime.tv_usec;
  result.system_time_us = int64_t{usage.ru_stime.tv_sec} * 1000000 + usage.ru_stime.tv_usec;
  result.max_rss_kb = usage.ru_maxrss;
  result.landlock = landlock->report();
  server.Stop();

  if (result.violation) {
    result.outcome = SandboxResult::Outcome::kViolation;
    result.signal = SIGKILL;
  } else if (timed_out) {
    result.outcome = SandboxResult::Outcome::kTimedOut;
    result.signal = SIGKILL;
  } else if (info.si_code == CLD_EXITED) {
    result.outcome = SandboxResult::Outcome::kExited;
    result.exit_code = info.si_status;
  } else {
    result.outcome = SandboxResult::Outcome::kSignaled;
    result.signal = info.si_status;
  }
  return result;
}

}  // namespace sbox
