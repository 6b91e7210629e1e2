#include "call/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "call/warm_pool.h"
#include "launcher/fork_server.h"
#include "launcher/launcher.h"
#include "proto/call_message.h"
#include "proto/fd_transport.h"
#include "sandboxee/call_loop.h"
#include "sandboxee/entry_point.h"

namespace sbox {
namespace {

constexpr absl::string_view kFailurePayload = "type.sbox.dev/sbox.CallFailure";

absl::Status Failure(absl::StatusCode code, CallFailure kind, absl::string_view limit,
                     std::string message) {
  absl::Status status(code, message);
  status.SetPayload(kFailurePayload, absl::Cord(absl::StrCat(static_cast<int>(kind), ":", limit)));
  return status;
}

std::string SizeText(uint64_t bytes) {
  if (bytes >= (uint64_t{1} << 30) && bytes % (uint64_t{1} << 30) == 0) {
    return absl::StrCat(bytes >> 30, " GiB");
  }
  if (bytes >= (uint64_t{1} << 20) && bytes % (uint64_t{1} << 20) == 0) {
    return absl::StrCat(bytes >> 20, " MiB");
  }
  return absl::StrCat(bytes, " bytes");
}

std::vector<std::pair<int, rlim_t>> ResourceLimitsOf(const Limits& limits) {
  std::vector<std::pair<int, rlim_t>> out;
  if (limits.address_space_bytes) out.emplace_back(RLIMIT_AS, *limits.address_space_bytes);
  if (limits.cpu_seconds) out.emplace_back(RLIMIT_CPU, *limits.cpu_seconds);
  if (limits.open_files) out.emplace_back(RLIMIT_NOFILE, *limits.open_files);
  if (limits.file_size_bytes) out.emplace_back(RLIMIT_FSIZE, *limits.file_size_bytes);
  if (limits.processes) out.emplace_back(RLIMIT_NPROC, *limits.processes);
  return out;
}

bool SameLimits(const Limits& a, const Limits& b) {
  return a.address_space_bytes == b.address_space_bytes && a.cpu_seconds == b.cpu_seconds &&
         a.open_files == b.open_files && a.file_size_bytes == b.file_size_bytes &&
         a.processes == b.processes && a.wall_time == b.wall_time;
}

absl::Duration Micros(int64_t us) { return absl::Microseconds(us); }

// Milliseconds until `deadline` for poll(2): -1 for none, at least 0.
int PollMilliseconds(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
}

// Sends the call on the host's end of a call channel. The input goes inline when it fits a
// message, else in a sealed memfd.
absl::Status SendCall(int host_end, const CallInput& input) {
  if (input.fds.size() > static_cast<size_t>(kMaxCallFds)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("sbox call: %d descriptors, more than %d", input.fds.size(), kMaxCallFds));
  }
  proto::CallRequestHeader header = {proto::kCallMagic, 0, input.bytes.size(),
                                     static_cast<uint32_t>(input.fds.size()), 0};
  std::vector<int> fds;
  UniqueFd memfd;
  std::string message;
  if (input.bytes.size() > proto::kMaxInlineCallBytes) {
    memfd.reset(memfd_create("sbox-call-input", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!memfd.valid()) return absl::ErrnoToStatus(errno, "sbox call: memfd_create for the input");
    for (size_t done = 0; done < input.bytes.size();) {
      const ssize_t wrote =
          write(memfd.get(), input.bytes.data() + done, input.bytes.size() - done);
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote <= 0) return absl::ErrnoToStatus(errno, "sbox call: writing the input memfd");
      done += static_cast<size_t>(wrote);
    }
    // The sandboxee reads the input; it cannot change what it was.
    if (fcntl(memfd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
        0) {
      return absl::ErrnoToStatus(errno, "sbox call: sealing the input memfd");
    }
    header.flags = proto::kInputInMemfd;
    fds.push_back(memfd.get());
    message.assign(reinterpret_cast<const char*>(&header), sizeof(header));
  } else {
    message.assign(reinterpret_cast<const char*>(&header), sizeof(header));
    message.append(input.bytes.data(), input.bytes.size());
  }
  fds.insert(fds.end(), input.fds.begin(), input.fds.end());
  const int sent = proto::SendMessageWithFds(host_end, message.data(), message.size(), fds.data(),
                                             static_cast<int>(fds.size()), 0);
  if (sent != 0) return absl::ErrnoToStatus(-sent, "sbox call: sending the call");
  return absl::OkStatus();
}

// What came back on the call channel.
struct ReplyState {
  bool received = false;  // a message came
  std::string malformed;  // what is wrong with it, when it does not parse
  proto::CallReply reply;
};

ReplyState ReceiveReply(int host_end, size_t max_output) {
  ReplyState state;
  constexpr size_t kBufferSize = sizeof(proto::CallReplyHeader) + proto::kMaxInlineCallBytes;
  // Not zeroed: only the bytes received are read.
  const std::unique_ptr<char[]> buffer(new char[kBufferSize]);
  proto::ReceivedMessage message;
  const ssize_t size = proto::ReceiveMessage(host_end, buffer.get(), kBufferSize, 1, &message);
  // ECONNRESET: the sandboxee exited with the call still unread in its queue.
  if (size == 0 || size == -ECONNRESET) return state;
  state.received = true;
  if (size < 0) {
    state.malformed = absl::StrCat("reply: ", strerror(static_cast<int>(-size)));
    return state;
  }
  state.malformed = proto::ParseCallReply(buffer.get(), static_cast<size_t>(size), message,
                                          max_output, &state.reply);
  return state;
}

// The call's Status from how the sandboxee ended (`result`, when it has been reaped) and what it
// replied.
absl::StatusOr<CallOutput> Conclude(const std::string& name, const Limits& limits,
                                    const SandboxResult* result, ReplyState& reply,
                                    CallStats stats) {
  if (result != nullptr) {
    switch (result->outcome) {
      case SandboxResult::Outcome::kViolation:
        return Failure(absl::StatusCode::kPermissionDenied, CallFailure::kViolation, "",
                       absl::StrCat(name, ": syscall violation: ", result->violation->ToString()));
      case SandboxResult::Outcome::kTimedOut:
        return Failure(
            absl::StatusCode::kDeadlineExceeded, CallFailure::kDeadline, "",
            absl::StrCat(name, ": wall-clock deadline of ", absl::FormatDuration(limits.wall_time),
                         " reached; the sandboxee was killed"));
      case SandboxResult::Outcome::kSignaled: {
        const int64_t cpu_us = result->user_time_us + result->system_time_us;
        if (limits.cpu_seconds &&
            (result->signal == SIGXCPU ||
             (result->signal == SIGKILL &&
              cpu_us >= static_cast<int64_t>(*limits.cpu_seconds) * 1000000))) {
          return Failure(absl::StatusCode::kResourceExhausted, CallFailure::kLimit, "RLIMIT_CPU",
                         absl::StrFormat("%s: CPU time limit (RLIMIT_CPU %d s) reached: %s", name,
                                         *limits.cpu_seconds, result->ToString()));
        }
        if (limits.file_size_bytes && result->signal == SIGXFSZ) {
          return Failure(absl::StatusCode::kResourceExhausted, CallFailure::kLimit, "RLIMIT_FSIZE",
                         absl::StrFormat("%s: file size limit (RLIMIT_FSIZE %s) reached: %s", name,
                                         SizeText(*limits.file_size_bytes), result->ToString()));
        }
        std::string message = absl::StrCat(name, ": crashed: ", result->ToString());
        if (limits.address_space_bytes) {
          absl::StrAppend(&message, " (under an address-space limit of ",
                          SizeText(*limits.address_space_bytes),
                          ": a failed allocation the code did not check may be the cause)");
        }
        return Failure(absl::StatusCode::kAborted, CallFailure::kCrashed, "", message);
      }
      case SandboxResult::Outcome::kExited:
        break;
    }
    if (!reply.received) {
      std::string why;
      switch (result->exit_code) {
        case sandboxee::kCallLoopUnknownEntryPoint:
          why =
              " (the entry point is not registered in the fork server: registered after "
              "StartForkServer?)";
          break;
        case sandboxee::kCallLoopBadRequest:
          why = " (it could not parse the call)";
          break;
        case kSetupFailedExitCode:
          why = " (its set-up failed)";
          break;
      }
      return Failure(
          absl::StatusCode::kAborted, CallFailure::kExitedEarly, "",
          absl::StrCat(name, ": exited with code ", result->exit_code, " before replying", why));
    }
    stats.user_time = Micros(result->user_time_us);
    stats.system_time = Micros(result->system_time_us);
    stats.max_rss_kb = result->max_rss_kb;
  } else {
    stats.user_time = Micros(reply.reply.user_time_us);
    stats.system_time = Micros(reply.reply.system_time_us);
    stats.max_rss_kb = reply.reply.max_rss_kb;
  }
  if (!reply.malformed.empty()) {
    return Failure(absl::StatusCode::kDataLoss, CallFailure::kMalformedReply, "",
                   absl::StrCat(name, ": malformed reply: ", reply.malformed));
  }
  if (!reply.reply.ok) {
    const auto code = static_cast<absl::StatusCode>(reply.reply.status_code);
    if (code == absl::StatusCode::kResourceExhausted && limits.address_space_bytes) {
      return Failure(code, CallFailure::kLimit, "RLIMIT_AS",
                     absl::StrFormat("%s: address-space limit (RLIMIT_AS %s) reached: %s", name,
                                     SizeText(*limits.address_space_bytes), reply.reply.bytes));
    }
    return Failure(code, CallFailure::kEntryPoint, "", absl::StrCat(name, ": ", reply.reply.bytes));
  }
  return CallOutput{std::move(reply.reply.bytes), stats};
}

}  // namespace

absl::Status StartForkServer() { return ForkServer::Start(); }

CallFailure CallFailureOf(const absl::Status& status) {
  if (status.ok()) return CallFailure::kNone;
  const auto payload = status.GetPayload(kFailurePayload);
  int kind = 0;
  if (!payload.has_value()) return CallFailure::kNotStarted;
  const std::string text(*payload);
  if (!absl::SimpleAtoi(text.substr(0, text.find(':')), &kind)) return CallFailure::kNotStarted;
  return static_cast<CallFailure>(kind);
}

std::string CallLimitOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kFailurePayload);
  if (!payload.has_value()) return "";
  const std::string text(*payload);
  const size_t colon = text.find(':');
  return colon == std::string::npos ? "" : text.substr(colon + 1);
}

SandboxOptions& SandboxOptions::SetFilePolicy(FilePolicy files) & {
  files_.emplace(std::move(files));
  return *this;
}
SandboxOptions& SandboxOptions::SetSyscallPolicy(SyscallPolicy syscalls) & {
  syscalls_.emplace(std::move(syscalls));
  return *this;
}
SandboxOptions& SandboxOptions::SetLimits(Limits limits) & {
  limits_ = limits;
  return *this;
}
SandboxOptions& SandboxOptions::SetWarmPool(int count) & {
  warm_pool_ = count;
  return *this;
}
SandboxOptions& SandboxOptions::SetReuse(int calls) & {
  reuse_ = calls;
  return *this;
}
SandboxOptions& SandboxOptions::SetMaxOutput(size_t bytes) & {
  max_output_ = bytes;
  return *this;
}
SandboxOptions& SandboxOptions::SetSandboxeeBinary(std::string path) & {
  binary_ = std::move(path);
  return *this;
}
SandboxOptions& SandboxOptions::SetStderr(int fd) & {
  stderr_fd_ = fd;
  return *this;
}

class Sandbox::Impl {
 public:
  Impl(std::string name, Launcher launcher, const SandboxOptions& options, bool single_process,
       UniqueFd null_fd)
      : name_(std::move(name)),
        launcher_(std::move(launcher)),
        limits_(options.limits_),
        reuse_(options.reuse_),
        max_output_(options.max_output_),
        binary_(options.binary_),
        single_process_(single_process),
        null_fd_(std::move(null_fd)) {
    if (options.warm_pool_ > 0) {
      pool_ = std::make_unique<WarmPool>(
          launcher_,
          WarmPool::Spec{name_, binary_, reuse_, ResourceLimitsOf(limits_), single_process_},
          options.warm_pool_);
    }
  }

  const std::string& name() const { return name_; }
  const Limits& limits() const { return limits_; }

  absl::StatusOr<CallOutput> Call(const CallInput& input, const Limits& limits) const {
    if (binary_.empty() && ForkServer::Running() == nullptr) {
      if (absl::Status started = ForkServer::Start(); !started.ok()) {
        return Failure(started.code(), CallFailure::kNotStarted, "",
                       absl::StrCat(name_, ": ", started.message()));
      }
    }
    if (pool_ != nullptr && SameLimits(limits, limits_)) {
      if (std::shared_ptr<PoolMember> member = pool_->Take()) {
        return CallPooled(input, std::move(member));
      }
    }
    return CallFresh(input, limits);
  }

 private:
  // A new sandboxee for this call alone: the call waits in the channel while it starts, and its
  // reply waits there once it has exited.
  absl::StatusOr<CallOutput> CallFresh(const CallInput& input, const Limits& limits) const {
    const absl::Time start = absl::Now();
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
      return Failure(absl::ErrnoToStatus(errno, "").code(), CallFailure::kNotStarted, "",
                     absl::StrCat(name_, ": socketpair for the call: ", strerror(errno)));
    }
    UniqueFd host_end(pair[0]);
    UniqueFd child_end(pair[1]);
    if (absl::Status sent = SendCall(host_end.get(), input); !sent.ok()) return sent;
    EntryPointLaunch launch;
    launch.name = name_;
    launch.program = binary_;
    launch.call_fd = child_end.get();
    launch.resource_limits = ResourceLimitsOf(limits);
    launch.timeout = limits.wall_time;
    launch.single_process = single_process_;
    absl::StatusOr<SandboxResult> result = launcher_.RunEntryPoint(launch);
    child_end.reset();
    if (!result.ok()) {
      return Failure(result.status().code(), CallFailure::kNotStarted, "",
                     absl::StrCat(name_, ": ", result.status().message()));
    }
    // The sandboxee is gone: the reply, if any, is queued, and the read cannot block.
    ReplyState reply = ReceiveReply(host_end.get(), max_output_);
    CallStats stats;
    stats.wall_time = absl::Now() - start;
    return Conclude(name_, limits, &*result, reply, stats);
  }

  // A waiting sandboxee of the pool: the call's deadline starts now, and is the caller's to
  // enforce (PoolMember::Cancel).
  absl::StatusOr<CallOutput> CallPooled(const CallInput& input,
                                        std::shared_ptr<PoolMember> pooled) const {
    PoolMember& member = *pooled;
    const absl::Time start = absl::Now();
    const absl::Time deadline = limits_.wall_time == absl::InfiniteDuration()
                                    ? absl::InfiniteFuture()
                                    : start + limits_.wall_time;
    CallStats stats;
    stats.from_warm_pool = true;
    if (member.TakePingPending()) {
      // Answered long ago, as a rule: the pong waits in the channel.
      pollfd fd = {member.host_end(), POLLIN, 0};
      ReplyState pong;
      if (poll(&fd, 1, PollMilliseconds(deadline)) == 1) {
        pong = ReceiveReply(member.host_end(), 0);
      }
      if (!pong.received || !pong.malformed.empty() || !pong.reply.ok) {
        member.Cancel();
        absl::StatusOr<SandboxResult> result = member.WaitFinished();
        if (!result.ok()) return result.status();
        ReplyState none;
        stats.wall_time = absl::Now() - start;
        return Conclude(name_, limits_, &*result, none, stats);
      }
    }
    if (absl::Status sent = SendCall(member.host_end(), input); !sent.ok()) {
      member.Cancel();
      return sent;
    }
    pollfd fd = {member.host_end(), POLLIN, 0};
    for (;;) {
      const int ready = poll(&fd, 1, PollMilliseconds(deadline));
      if (ready < 0 && errno == EINTR) continue;
      if (ready > 0) break;
      if (ready == 0 && absl::Now() < deadline) continue;
      // The deadline (or a failing poll): the sandboxee is killed, and ends as kTimedOut.
      member.Cancel();
      absl::StatusOr<SandboxResult> result = member.WaitFinished();
      if (!result.ok()) return result.status();
      ReplyState none;
      stats.wall_time = absl::Now() - start;
      return Conclude(name_, limits_, &*result, none, stats);
    }
    ReplyState reply = ReceiveReply(member.host_end(), max_output_);
    stats.wall_time = absl::Now() - start;
    if (!reply.received) {
      // It died without replying: how, its supervisor says once it has been reaped.
      absl::StatusOr<SandboxResult> result = member.WaitFinished();
      if (!result.ok()) {
        return Failure(result.status().code(), CallFailure::kNotStarted, "",
                       absl::StrCat(name_, ": ", result.status().message()));
      }
      return Conclude(name_, limits_, &*result, reply, stats);
    }
    absl::StatusOr<CallOutput> output = Conclude(name_, limits_, nullptr, reply, stats);
    // One that served its last call exits by itself (ServeCalls); one that failed a call ends
    // now, rather than when it pleases.
    if (!output.ok()) {
      member.Cancel();
    } else if (member.CountCall()) {
      pool_->Return(std::move(pooled));
    }
    return output;
  }

  const std::string name_;
  Launcher launcher_;
  const Limits limits_;
  const int reuse_;
  const size_t max_output_;
  const std::string binary_;  // a sandboxee binary's entry point, when not empty
  // The default policy, which makes no process (EntryPointLaunch::single_process).
  const bool single_process_;
  UniqueFd null_fd_;
  std::unique_ptr<WarmPool> pool_;
};

absl::StatusOr<std::unique_ptr<Sandbox>> Sandbox::Create(std::string entry_point,
                                                         SandboxOptions options) {
  const bool binary = !options.binary_.empty();
  if (!binary && FindEntryPoint(entry_point) == nullptr) {
    return absl::NotFoundError(absl::StrFormat(
        "sbox: no entry point \"%s\" is registered in this binary (SBOX_ENTRY_POINT)",
        entry_point));
  }
  if (options.reuse_ < 1 || options.warm_pool_ < 0) {
    return absl::InvalidArgumentError("sbox: SetReuse needs at least 1, SetWarmPool at least 0");
  }
  // Started now when it still can be: a later call from a multithreaded host could not.
  if (!binary && ForkServer::Running() == nullptr) ForkServer::Start().IgnoreError();
  if (!options.files_.has_value()) {
    FilePolicy::Builder files;
    if (binary) {
      for (const char* tree : {"/lib", "/lib64", "/usr/lib"}) files.AllowReadTree(tree);
      files.AllowReadFile("/etc/ld.so.cache");
    }
    absl::StatusOr<FilePolicy> none = files.Build();
    if (!none.ok()) return none.status();
    options.files_.emplace(*std::move(none));
  }
  // The default policies make no process; one of the caller's might.
  const bool single_process = !options.syscalls_.has_value();
  if (!options.syscalls_.has_value()) {
    absl::StatusOr<SyscallPolicy> call_default =
        (binary ? SyscallPolicy::CallProgramDefault() : SyscallPolicy::CallDefault())
            .Build(Redirection::kUserNotification);
    if (!call_default.ok()) return call_default.status();
    options.syscalls_.emplace(*std::move(call_default));
  }
  UniqueFd null_fd(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null_fd.valid()) return absl::ErrnoToStatus(errno, "sbox: open(\"/dev/null\")");
  Launcher launcher(*std::move(options.files_), *std::move(options.syscalls_));
  launcher.SetStdioFds(null_fd.get(), null_fd.get(), options.stderr_fd_);
  return std::unique_ptr<Sandbox>(new Sandbox(std::make_unique<Impl>(
      std::move(entry_point), std::move(launcher), options, single_process, std::move(null_fd))));
}

Sandbox::Sandbox(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Sandbox::~Sandbox() = default;

absl::StatusOr<CallOutput> Sandbox::Call(const CallInput& input) const {
  return impl_->Call(input, impl_->limits());
}

absl::StatusOr<CallOutput> Sandbox::Call(const CallInput& input, const Limits& limits) const {
  return impl_->Call(input, limits);
}

const std::string& Sandbox::entry_point() const { return impl_->name(); }

}  // namespace sbox
