// Fuzz entry point for the policy text parser and printer.
//
// For every input that parses (includes disabled: nothing is read from the file system), the
// canonical text must parse again and print identically, and the syscall builder must build or
// fail cleanly. Any crash, sanitizer report or abort() is a bug.
//
// Bazel builds it with gcc into //broker:policy_text_fuzzer, which replays the files named on
// its command line (policy_text_fuzzer_main.cc). To fuzz, link this file with libFuzzer outside
// Bazel, from the repository root (one command; the lines below are joined by spaces):
//
//   clang++-14 -std=c++17 -fsanitize=fuzzer,address -I. broker/policy_text_fuzzer.cc
//     broker/policy_text.cc broker/syscall_policy.cc broker/file_policy.cc
//     broker/path_check.cc broker/request_path.cc proto/unique_fd.cc proto/errno_name.cc
//     $(pkg-config --libs absl_statusor absl_str_format absl_strings absl_flat_hash_map)
//     -lseccomp -o /tmp/policy_fuzz
//   /tmp/policy_fuzz -max_total_time=60

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "broker/policy_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  sbox::ParseOptions options;
  options.allow_includes = false;
  absl::StatusOr<sbox::ParsedPolicy> parsed = sbox::ParsePolicyText(text, "fuzz", options);
  if (!parsed.ok()) return 0;
  const std::string canonical = sbox::FormatPolicy(*parsed);
  absl::StatusOr<sbox::ParsedPolicy> again = sbox::ParsePolicyText(canonical, "canonical", options);
  if (!again.ok()) {
    std::fprintf(stderr, "canonical text does not parse: %s\n%s",
                 std::string(again.status().message()).c_str(), canonical.c_str());
    std::abort();
  }
  if (sbox::FormatPolicy(*again) != canonical) {
    std::fprintf(stderr, "canonical text is not a fixed point:\n%s", canonical.c_str());
    std::abort();
  }
  (void)parsed->syscalls.Build();
  return 0;
}
