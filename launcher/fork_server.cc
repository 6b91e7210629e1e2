#include "launcher/fork_server.h"

#include <dirent.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "proto/fd_transport.h"
#include "sandboxee/call_loop.h"

namespace sbox {
namespace {

constexpr uint32_t kForkRequestMagic = 0x5342'4653;  // "SBFS"

// The plan, by value: what the server's child needs to set itself up. Host and server are one
// binary, so the layout is shared.
struct ForkRequest {
  uint32_t magic;
  uint32_t filter_length;
  sock_filter filter[BPF_MAXINSNS];
  uint8_t file_redirection;
  uint8_t has_landlock;
  int32_t resource_limit_count;
  SandboxeeSetupPlan::ResourceLimit resource_limits[SandboxeeSetupPlan::kMaxResourceLimits];
  int32_t landlock_rule_count;
  struct {
    char path[256];
    uint64_t rights;
  } landlock_rules[SandboxeeSetupPlan::kMaxLandlockRules];
  char entry_point[64];
  int32_t calls;
};
// Descriptors, in order: channel, report, call, stdin, stdout, stderr, and the Landlock ruleset.
constexpr int kRequestFds = 7;

struct ForkReply {
  int32_t error;  // 0, or the errno of the server's clone3
  int32_t pid;
};

std::atomic<ForkServer*> g_server{nullptr};
absl::Mutex g_start_mutex;

// /proc/self/task has one entry per thread.
int ThreadCount() {
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  int threads = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++threads;
  }
  closedir(dir);
  return threads;
}

// The server's child: becomes the sandboxee.
[[noreturn]] void RunSandboxee(const ForkRequest& request, const proto::ReceivedMessage& fds,
                               pid_t host) {
  SandboxeeSetupPlan plan{host,
                          fds.fds[0].get(),
                          fds.fds[1].get(),
                          {fds.fds[3].get(), fds.fds[4].get(), fds.fds[5].get()},
                          sock_fprog{static_cast<unsigned short>(request.filter_length),
                                     const_cast<sock_filter*>(request.filter)},
                          request.file_redirection != 0};
  plan.call_fd = fds.fds[2].get();
  plan.resource_limit_count = request.resource_limit_count;
  for (int i = 0; i < request.resource_limit_count; ++i) {
    plan.resource_limits[i] = request.resource_limits[i];
  }
  if (request.has_landlock) {
    plan.landlock_fd = fds.fds[6].get();
    plan.landlock_rule_count = request.landlock_rule_count;
    for (int i = 0; i < request.landlock_rule_count; ++i) {
      plan.landlock_rules[i] = {request.landlock_rules[i].path, request.landlock_rules[i].rights};
    }
  }
  PrepareSandboxee(plan);
  sandboxee::ServeCalls(request.entry_point, request.calls);
}

bool ValidRequest(const ForkRequest& request, ssize_t size, const proto::ReceivedMessage& fds) {
  return size == static_cast<ssize_t>(sizeof(request)) && request.magic == kForkRequestMagic &&
         request.filter_length > 0 && request.filter_length <= BPF_MAXINSNS &&
         request.resource_limit_count >= 0 &&
         request.resource_limit_count <= SandboxeeSetupPlan::kMaxResourceLimits &&
         request.landlock_rule_count >= 0 &&
         request.landlock_rule_count <= SandboxeeSetupPlan::kMaxLandlockRules &&
         memchr(request.entry_point, '\0', sizeof(request.entry_point)) != nullptr &&
         request.calls >= 1 && fds.fd_count == kRequestFds - (request.has_landlock ? 0 : 1);
}

// The server: a single-threaded copy of the host, so its children may do anything a child of a
// single-threaded process may.
[[noreturn]] void ServerMain(int control, pid_t host) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != host) _exit(0);
  prctl(PR_SET_NAME, "sbox-forkserver");
  // The host's descriptors at the time of the fork are not the server's to hold.
  if (control > 0) syscall(SYS_close_range, 0, control - 1, 0);
  syscall(SYS_close_range, control + 1, ~0U, 0);
  auto request = std::make_unique<ForkRequest>();
  for (;;) {
    proto::ReceivedMessage fds;
    const ssize_t size =
        proto::ReceiveMessage(control, request.get(), sizeof(*request), kRequestFds, &fds);
    if (size == 0) _exit(0);
    ForkReply reply = {EINVAL, 0};
    int pidfd = -1;
    if (size > 0 && ValidRequest(*request, size, fds)) {
      clone_args args = {};
      args.flags = CLONE_PARENT | CLONE_PIDFD;
      args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
      const long pid = syscall(SYS_clone3, &args, sizeof(args));
      if (pid == 0) RunSandboxee(*request, fds, host);
      reply = pid < 0 ? ForkReply{errno, 0} : ForkReply{0, static_cast<int32_t>(pid)};
    }
    const int sent = proto::SendMessage(control, &reply, sizeof(reply), pidfd, 0);
    if (pidfd >= 0) close(pidfd);
    if (sent != 0) _exit(0);
  }
}

}  // namespace

absl::Status ForkServer::Start() {
  absl::MutexLock lock(&g_start_mutex);
  if (g_server.load() != nullptr) return absl::OkStatus();
  if (const int threads = ThreadCount(); threads != 1) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "sbox fork server: the process has %d threads; it must be started while it has one "
        "(call sbox::StartForkServer() at the start of main), since a multithreaded process is "
        "never forked",
        threads));
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return absl::ErrnoToStatus(errno, "sbox fork server: socketpair");
  }
  UniqueFd host_end(pair[0]);
  UniqueFd server_end(pair[1]);
  const pid_t host = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::ErrnoToStatus(errno, "sbox fork server: fork");
  if (pid == 0) ServerMain(server_end.get(), host);
  g_server.store(new ForkServer(std::move(host_end), pid));
  return absl::OkStatus();
}

ForkServer* ForkServer::Running() { return g_server.load(); }

absl::StatusOr<ForkServer::Spawned> ForkServer::Spawn(const SandboxeeSetupPlan& plan,
                                                      absl::string_view entry_point, int calls) {
  if (entry_point.size() >= sizeof(ForkRequest::entry_point)) {
    return absl::InvalidArgumentError("sbox fork server: entry point name too long");
  }
  if (!plan.namespaces.requested.empty()) {
    return absl::InvalidArgumentError("sbox fork server: no namespaces for entry points");
  }
  auto request = std::make_unique<ForkRequest>();
  memset(request.get(), 0, sizeof(*request));
  request->magic = kForkRequestMagic;
  request->filter_length = plan.filter.len;
  memcpy(request->filter, plan.filter.filter, sizeof(sock_filter) * plan.filter.len);
  request->file_redirection = plan.file_redirection;
  request->has_landlock = plan.landlock_fd >= 0;
  request->resource_limit_count = plan.resource_limit_count;
  for (int i = 0; i < plan.resource_limit_count; ++i) {
    request->resource_limits[i] = plan.resource_limits[i];
  }
  request->landlock_rule_count = plan.landlock_rule_count;
  for (int i = 0; i < plan.landlock_rule_count; ++i) {
    if (strlen(plan.landlock_rules[i].path) >= sizeof(request->landlock_rules[i].path)) {
      return absl::InvalidArgumentError("sbox fork server: Landlock rule path too long");
    }
    strcpy(request->landlock_rules[i].path, plan.landlock_rules[i].path);
    request->landlock_rules[i].rights = plan.landlock_rules[i].rights;
  }
  memcpy(request->entry_point, entry_point.data(), entry_point.size());
  request->calls = calls < 1 ? 1 : calls;
  const int fds[kRequestFds] = {plan.channel_fd,   plan.report_fd,    plan.call_fd,
                                plan.stdio_fds[0], plan.stdio_fds[1], plan.stdio_fds[2],
                                plan.landlock_fd};
  for (int i = 0; i < kRequestFds - 1; ++i) {
    if (fds[i] < 0) return absl::InvalidArgumentError("sbox fork server: a descriptor is missing");
  }

  absl::MutexLock lock(&mutex_);
  if (!control_.valid()) return absl::UnavailableError("sbox fork server: gone");
  const int fd_count = request->has_landlock ? kRequestFds : kRequestFds - 1;
  if (const int sent = proto::SendMessageWithFds(control_.get(), request.get(), sizeof(*request),
                                                 fds, fd_count, 0);
      sent != 0) {
    control_.reset();
    return absl::UnavailableError(
        absl::StrFormat("sbox fork server (pid %d): gone (%s)", pid_, strerror(-sent)));
  }
  ForkReply reply = {};
  proto::ReceivedMessage message;
  const ssize_t size = proto::ReceiveMessage(control_.get(), &reply, sizeof(reply), 1, &message);
  if (size != static_cast<ssize_t>(sizeof(reply))) {
    control_.reset();
    return absl::UnavailableError(absl::StrFormat("sbox fork server (pid %d): gone", pid_));
  }
  if (reply.error != 0) {
    return absl::ErrnoToStatus(reply.error, "sbox fork server: clone3(CLONE_PARENT)");
  }
  if (message.fd_count != 1) return absl::InternalError("sbox fork server: no pidfd");
  return Spawned{reply.pid, std::move(message.fds[0])};
}

}  // namespace sbox
