#ifndef SBOX_SANDBOXEE_ENTRY_POINT_H_
#define SBOX_SANDBOXEE_ENTRY_POINT_H_

// The sandboxee's side of a call (call/sandbox.h is the host's): a function of the host's own
// binary, registered by name, that the sandboxee runs on the host's input.
//
//   absl::Status CountLines(sbox::CallContext& call) {
//     call.output() = absl::StrCat(std::count(call.input().begin(), call.input().end(), '\n'));
//     return absl::OkStatus();
//   }
//   SBOX_ENTRY_POINT(count_lines, CountLines);
//
// An entry point runs confined: its seccomp filter, Landlock domain and limits are the
// sandbox's. It reads what the host sent (input bytes, descriptors the host opened) and writes
// its output bytes; it may open files by path (Open), which the broker decides under the
// sandbox's file policy. Unmodified libc and C++ file code works too when the sandbox's syscall
// policy redirects file calls (the default): the SIGSYS handler takes them to the broker.

#include <fcntl.h>
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/unique_fd.h"

namespace sbox {
namespace sandboxee {
class BrokerClient;
}  // namespace sandboxee

class CallContext {
 public:
  // Made by the call loop (sandboxee/call_loop.h) for each call.
  CallContext(absl::string_view input, std::vector<UniqueFd> fds, sandboxee::BrokerClient* broker)
      : input_(input), fds_(std::move(fds)), broker_(broker) {}
  CallContext(const CallContext&) = delete;
  CallContext& operator=(const CallContext&) = delete;

  // The host's input bytes; valid until the entry point returns.
  absl::string_view input() const { return input_; }
  // The descriptors the host passed with the call, in its order; closed after the call. A
  // descriptor refers to the file the host opened, with the host's access mode.
  size_t fd_count() const { return fds_.size(); }
  int fd(size_t index) const { return index < fds_.size() ? fds_[index].get() : -1; }
  // What the host receives when the entry point returns OK (at most the sandbox's output limit:
  // more is a failed call, "output too large").
  std::string& output() { return output_; }

  // open(2) through the broker, under the sandbox's file policy: the policy's errno when it
  // refuses (EACCES, ENOENT, ...), as a Status naming the path.
  absl::StatusOr<UniqueFd> Open(absl::string_view path, int flags = O_RDONLY, mode_t mode = 0600);

 private:
  absl::string_view input_;
  std::vector<UniqueFd> fds_;
  sandboxee::BrokerClient* broker_;
  std::string output_;
};

// An entry point: OK with call.output() as the result, or a Status the host receives with its
// code and message (prefixed with the entry point's name). An exception escaping it is a failed
// call: std::bad_alloc as ResourceExhausted (memory), any other as Internal.
using EntryPoint = absl::Status (*)(CallContext& call);

// Registers `function` under `name` (letters, digits, '_', '-', '.'; at most 63 characters; at
// most 256 entry points). Registration happens at static initialization, before main, so that
// the fork server, a copy of the process made at its start, knows every entry point: define
// them in the binary's own sources, or in a cc_library with `alwayslink = True` (the linker
// drops an unreferenced object of a static library, and its registration with it). Returns
// true; a name registered twice, or not valid, aborts the program at start naming it.
bool RegisterEntryPoint(const char* name, EntryPoint function);

// The entry point registered under `name`, or nullptr.
EntryPoint FindEntryPoint(absl::string_view name);

}  // namespace sbox

#define SBOX_ENTRY_POINT_CONCAT_INNER(a, b) a##b
#define SBOX_ENTRY_POINT_CONCAT(a, b) SBOX_ENTRY_POINT_CONCAT_INNER(a, b)
// Registers `function` as the entry point `name` (an identifier-like token: SBOX_ENTRY_POINT(
// png_decode, DecodePng) registers "png_decode"). At namespace scope, in any source file of the
// binary.
#define SBOX_ENTRY_POINT(name, function)                                                       \
  [[maybe_unused]] static const bool SBOX_ENTRY_POINT_CONCAT(sbox_entry_point_, __COUNTER__) = \
      ::sbox::RegisterEntryPoint(#name, function)

#endif  // SBOX_SANDBOXEE_ENTRY_POINT_H_
