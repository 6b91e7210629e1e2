// A host built outside Bazel against an installed sbox (CMakeLists.txt: find_package; Makefile:
// pkg-config). Counts the lines of its input inside a sandbox, then shows that a crashing
// parser is a Status, not a crash of the host. Exits 0 when both behave.

#include <signal.h>
#include <stdio.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "call/sandbox.h"
#include "sandboxee/entry_point.h"

namespace {

absl::Status CountLines(sbox::CallContext& call) {
  call.output() = absl::StrCat(std::count(call.input().begin(), call.input().end(), '\n'));
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(count_lines, CountLines);

absl::Status Crash(sbox::CallContext&) {
  raise(SIGSEGV);
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(crash, Crash);

}  // namespace

int main() {
  // First, while the process has one thread: every sandboxee is forked from this copy.
  if (absl::Status started = sbox::StartForkServer(); !started.ok()) {
    fprintf(stderr, "parse_lines: %s\n", started.ToString().c_str());
    return 1;
  }
  const sbox::Limits limits =
      sbox::Limits().SetAddressSpace(256 << 20).SetCpuSeconds(2).SetWallTime(absl::Seconds(5));
  auto lines = sbox::Sandbox::Create("count_lines", sbox::SandboxOptions().SetLimits(limits));
  auto crash = sbox::Sandbox::Create("crash", sbox::SandboxOptions().SetLimits(limits));
  if (!lines.ok() || !crash.ok()) {
    fprintf(stderr, "parse_lines: %s\n",
            (lines.ok() ? crash.status() : lines.status()).ToString().c_str());
    return 1;
  }
  absl::StatusOr<sbox::CallOutput> out =
      (*lines)->Call(sbox::CallInput("one\ntwo\nthree\n"));
  absl::StatusOr<sbox::CallOutput> crashed = (*crash)->Call(sbox::CallInput(""));
  printf("lines: %s\n", out.ok() ? out->bytes.c_str() : out.status().ToString().c_str());
  printf("crash: %s\n", crashed.status().ToString().c_str());
  const bool crash_is_kcrashed =
      sbox::CallFailureOf(crashed.status()) == sbox::CallFailure::kCrashed;
  printf("crash is kCrashed: %s\n", crash_is_kcrashed ? "yes" : "no");
  return out.ok() && out->bytes == "3" && crash_is_kcrashed ? 0 : 1;
}
