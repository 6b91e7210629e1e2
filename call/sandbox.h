#ifndef SBOX_CALL_SANDBOX_H_
#define SBOX_CALL_SANDBOX_H_

// The host's side of a call: runs an entry point (sandboxee/entry_point.h) in a sandboxee on
// input bytes and descriptors, and returns its output bytes or a Status saying why not.
//
//   int main(int argc, char** argv) {
//     sbox::StartForkServer().IgnoreError();  // first, while the process has one thread
//     absl::StatusOr<std::unique_ptr<sbox::Sandbox>> sandbox = sbox::Sandbox::Create(
//         "png_info", sbox::SandboxOptions().SetLimits(
//                         sbox::Limits().SetAddressSpace(256 <<
//                         20).SetWallTime(absl::Seconds(2))));
//     absl::StatusOr<sbox::CallOutput> out = (*sandbox)->Call(sbox::CallInput(png_bytes));
//   }
//
// How a sandboxee starts without forking the host: StartForkServer, called while the process
// has one thread (at the start of main), forks a small copy of the process that does nothing
// but wait; every sandboxee is forked from that copy, never from the (by then perhaps
// multithreaded) host, whose other threads may hold locks the child would need. A Sandbox made
// without a running fork server starts it on its first call if the process still has one
// thread; if it has more, the call fails with FailedPrecondition, naming StartForkServer and
// the thread count (it never forks a multithreaded host, and never hangs).
//
// Every failure is a Status, and the next call works:
//   the entry point's own error           its code, "png_info: <its message>"
//   killed by a signal (a crash)          Aborted, "... killed by signal SIGSEGV"
//   a syscall the policy does not allow   PermissionDenied, with the violation report
//   the wall-clock deadline               DeadlineExceeded, naming the deadline
//   a limit (CPU time, address space,     ResourceExhausted, naming the limit and its value
//     file size, open files)
//   exited without replying               Aborted, "... exited with code N before replying"
//   a malformed or oversized reply        DataLoss, naming the field at fault
//   sbox itself could not start one       the launcher's Status (socket, fork server, set-up)
// CallFailureOf(status) tells these apart without parsing messages.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/file_policy.h"
#include "broker/sandbox_result.h"
#include "broker/syscall_policy.h"

namespace sbox {

// Starts the process-wide fork server, which every Sandbox spawns its sandboxees from. Call it
// at the start of main, before any thread exists. OK when it runs (or already ran);
// FailedPrecondition when the process already has more than one thread (the message says how
// many); the errno of a failing socketpair or fork otherwise. The server exits when the host
// does.
absl::Status StartForkServer();

// Resource limits for a sandboxee, each unset by default. Set in the sandboxee before its code
// runs, soft and hard: it cannot raise them.
struct Limits {
  std::optional<uint64_t> address_space_bytes;  // RLIMIT_AS: the allocations it may map
  std::optional<uint64_t> cpu_seconds;          // RLIMIT_CPU: killed by SIGXCPU
  std::optional<uint64_t> open_files;           // RLIMIT_NOFILE
  std::optional<uint64_t> file_size_bytes;      // RLIMIT_FSIZE: a longer write gets SIGXFSZ
  std::optional<uint64_t> processes;  // RLIMIT_NPROC (per uid: see Launcher::SetResourceLimit)
  absl::Duration wall_time = absl::InfiniteDuration();  // the broker kills it (by pidfd) after

  Limits& SetAddressSpace(uint64_t bytes) {
    address_space_bytes = bytes;
    return *this;
  }
  Limits& SetCpuSeconds(uint64_t seconds) {
    cpu_seconds = seconds;
    return *this;
  }
  Limits& SetOpenFiles(uint64_t count) {
    open_files = count;
    return *this;
  }
  Limits& SetFileSize(uint64_t bytes) {
    file_size_bytes = bytes;
    return *this;
  }
  Limits& SetProcesses(uint64_t count) {
    processes = count;
    return *this;
  }
  Limits& SetWallTime(absl::Duration duration) {
    wall_time = duration;
    return *this;
  }
};

// Move-only, as the policies are; each setter works on a temporary too:
// Sandbox::Create("x", SandboxOptions().SetLimits(...).SetWarmPool(2)).
class SandboxOptions {
 public:
  // Paths the entry point may open (through CallContext::Open or redirected libc calls).
  // Default: none, beyond what the host passes as descriptors (but see SetSandboxeeBinary).
  SandboxOptions& SetFilePolicy(FilePolicy files) &;
  SandboxOptions&& SetFilePolicy(FilePolicy files) && {
    return std::move(SetFilePolicy(std::move(files)));
  }
  // Default: SyscallPolicy::CallDefault() built with Redirection::kUserNotification: basic I/O
  // and memory, threads, signals to itself (abort(3) and raise(3) work, checked by the broker),
  // unmodified libc file calls brokered under the file policy, and the calls the call loop
  // itself makes. Any call beyond the policy is a violation.
  SandboxOptions& SetSyscallPolicy(SyscallPolicy syscalls) &;
  SandboxOptions&& SetSyscallPolicy(SyscallPolicy syscalls) && {
    return std::move(SetSyscallPolicy(std::move(syscalls)));
  }
  // Applied to every call unless the call gives its own.
  SandboxOptions& SetLimits(Limits limits) &;
  SandboxOptions&& SetLimits(Limits limits) && { return std::move(SetLimits(std::move(limits))); }
  // Keep `count` sandboxees started and waiting for a call, so that a call does not wait for a
  // spawn. Each serves one call, then exits; the pool starts a replacement at once. Default 0.
  SandboxOptions& SetWarmPool(int count) &;
  SandboxOptions&& SetWarmPool(int count) && { return std::move(SetWarmPool(std::move(count))); }
  // Weaker isolation, off by default: a pooled sandboxee serves up to `calls` calls before it is
  // replaced, so a call sees whatever an earlier call (an earlier, hostile input) left in its
  // memory, descriptors and threads. A failed call always ends its sandboxee.
  SandboxOptions& SetReuse(int calls) &;
  SandboxOptions&& SetReuse(int calls) && { return std::move(SetReuse(std::move(calls))); }
  // The largest output a call may return; a larger one is DataLoss. Default 64 MiB.
  SandboxOptions& SetMaxOutput(size_t bytes) &;
  SandboxOptions&& SetMaxOutput(size_t bytes) && {
    return std::move(SetMaxOutput(std::move(bytes)));
  }
  // Where the sandboxee's stderr goes: -1 (default) shares the host's; a descriptor of the
  // caller's, which must stay open while the Sandbox lives. stdin and stdout are /dev/null.
  SandboxOptions& SetStderr(int fd) &;
  // The entry point is a separate sandboxee binary's (linked with //sandboxee:call_main), not
  // this one's: the binary is started by execve for each sandboxee, from a child that shares
  // this process's memory until then (as posix_spawn's), so no fork server is needed, and the
  // sandboxee carries none of the host's code or memory. The default policies are then
  // SyscallPolicy::CallProgramDefault() and a file policy that lets the dynamic loader read the
  // shared libraries (/etc/ld.so.cache, /lib, /lib64, /usr/lib); a policy of the caller's must
  // grant those too, unless the binary is linked -static. A name the binary does not register
  // fails its calls as kExitedEarly (exit code 120).
  SandboxOptions& SetSandboxeeBinary(std::string path) &;
  SandboxOptions&& SetSandboxeeBinary(std::string path) && {
    return std::move(SetSandboxeeBinary(std::move(path)));
  }
  SandboxOptions&& SetStderr(int fd) && { return std::move(SetStderr(std::move(fd))); }

 private:
  friend class Sandbox;
  std::optional<FilePolicy> files_;
  std::optional<SyscallPolicy> syscalls_;
  Limits limits_;
  int warm_pool_ = 0;
  int reuse_ = 1;
  size_t max_output_ = size_t{64} << 20;
  int stderr_fd_ = -1;
  std::string binary_;
};

// Input of one call: bytes, and descriptors the caller keeps owning (the sandboxee gets
// duplicates, closed after the call).
struct CallInput {
  CallInput() = default;
  explicit CallInput(absl::string_view bytes_in, std::vector<int> fds_in = {})
      : bytes(bytes_in), fds(std::move(fds_in)) {}
  absl::string_view bytes;
  std::vector<int> fds;  // at most kMaxCallFds
};

// What the call cost. A sandboxee started for the call is reaped before Call returns: its CPU
// time and peak RSS are the kernel's (wait4's rusage), for its whole life. A pooled one is still
// running when its reply comes: they are then its own getrusage(RUSAGE_SELF) across the call, as
// it reported them (proto/call_message.h), which a hostile sandboxee may misstate.
struct CallStats {
  absl::Duration wall_time;  // from the call to its reply (or the sandboxee's end)
  absl::Duration user_time;
  absl::Duration system_time;
  int64_t max_rss_kb = 0;
  bool from_warm_pool = false;
};

struct CallOutput {
  std::string bytes;
  CallStats stats;
};

// How a call failed, for a caller that must tell failures apart (CallFailureOf).
enum class CallFailure {
  kNone,            // OK
  kEntryPoint,      // the entry point returned this Status
  kCrashed,         // killed by a signal the sandbox did not send
  kViolation,       // a syscall its policy does not allow
  kDeadline,        // the wall-clock deadline
  kLimit,           // a resource limit (CallLimitOf says which)
  kExitedEarly,     // exited, or exited its call loop, without replying
  kMalformedReply,  // a reply that does not parse, or too large
  kNotStarted,      // sbox could not start a sandboxee
};
CallFailure CallFailureOf(const absl::Status& status);
// "RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE" for a kLimit failure; "" else.
std::string CallLimitOf(const absl::Status& status);

inline constexpr int kMaxCallFds = 16;

class Sandbox {
 public:
  // A sandbox for the entry point `entry_point`, which must be registered in this binary
  // (NotFound otherwise). Starts the warm pool, if any (asynchronously: Create does not wait).
  static absl::StatusOr<std::unique_ptr<Sandbox>> Create(std::string entry_point,
                                                         SandboxOptions options = {});
  // Kills the pooled sandboxees and waits for them.
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // Runs one call: in a pooled sandboxee when one is waiting (and the call has no limits of its
  // own), else in a new one. Safe from many threads at once; calls run in parallel.
  absl::StatusOr<CallOutput> Call(const CallInput& input) const;
  absl::StatusOr<CallOutput> Call(const CallInput& input, const Limits& limits) const;

  const std::string& entry_point() const;

 private:
  class Impl;
  explicit Sandbox(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sbox

#endif  // SBOX_CALL_SANDBOX_H_
