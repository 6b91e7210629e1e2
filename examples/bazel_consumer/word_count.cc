// Counts the words of its input inside a sandbox, then shows that a crashing parser is a
// Status, not a crash of the host. Exits 0 when both behave.

#include <signal.h>
#include <stdio.h>

#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "call/sandbox.h"
#include "sandboxee/entry_point.h"

namespace {

absl::Status CountWords(sbox::CallContext& call) {
  std::istringstream in{std::string(call.input())};
  int words = 0;
  for (std::string word; in >> word;) ++words;
  call.output() = absl::StrCat(words);
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(count_words, CountWords);

absl::Status Crash(sbox::CallContext&) {
  raise(SIGSEGV);
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(crash, Crash);

}  // namespace

int main() {
  if (!sbox::StartForkServer().ok()) return 1;
  const sbox::Limits limits = sbox::Limits().SetAddressSpace(256 << 20).SetWallTime(
      absl::Seconds(5));
  auto words = sbox::Sandbox::Create("count_words", sbox::SandboxOptions().SetLimits(limits));
  auto crash = sbox::Sandbox::Create("crash", sbox::SandboxOptions().SetLimits(limits));
  if (!words.ok() || !crash.ok()) return 1;
  absl::StatusOr<sbox::CallOutput> out =
      (*words)->Call(sbox::CallInput("the quick brown fox jumps over the lazy dog"));
  absl::StatusOr<sbox::CallOutput> crashed = (*crash)->Call(sbox::CallInput(""));
  printf("words: %s\n", out.ok() ? out->bytes.c_str() : out.status().ToString().c_str());
  printf("crash: %s\n", crashed.status().ToString().c_str());
  return out.ok() && out->bytes == "9" &&
                 sbox::CallFailureOf(crashed.status()) == sbox::CallFailure::kCrashed
             ? 0
             : 1;
}
