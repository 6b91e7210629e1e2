// The policy text parser with includes (broker/policy_text.h).
//
// The input is up to four files separated by NUL bytes: main.policy, a.policy, b.policy and
// sub/c.policy, written to a scratch directory made once per process; main.policy is parsed
// with ParsePolicyFile, so `include "a.policy"`, `include "../main.policy"` (a cycle),
// `include "sub/c.policy"` and deep nesting all run. Checked: no crash, no hang (a cycle or an
// include chain ends with an error), and for every policy that parses, its canonical text
// (includes flattened) parses again with includes disabled and prints identically, and the
// syscall builder builds or fails cleanly.

#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/policy_text.h"

namespace {

const std::string& ScratchDirectory() {
  static const std::string* directory = [] {
    const char* tmp = std::getenv("TEST_TMPDIR");
    if (tmp == nullptr) tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/sbox_policy_fuzz.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    if (mkdir((pattern + "/sub").c_str(), 0700) != 0) std::abort();
    return new std::string(pattern);
  }();
  return *directory;
}

void WriteFile(const std::string& path, absl::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (!out) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* const kNames[] = {"main.policy", "a.policy", "b.policy", "sub/c.policy"};
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string& dir = ScratchDirectory();
  size_t start = 0;
  for (int i = 0; i < 4; ++i) {
    size_t end = i == 3 ? input.size() : input.find('\0', start);
    if (end == absl::string_view::npos) end = input.size();
    const absl::string_view part =
        start <= input.size() ? input.substr(start, end - start) : absl::string_view();
    WriteFile(dir + "/" + kNames[i], part);
    start = end + 1;
  }

  absl::StatusOr<sbox::ParsedPolicy> parsed = sbox::ParsePolicyFile(dir + "/main.policy");
  if (!parsed.ok()) return 0;
  const std::string canonical = sbox::FormatPolicy(*parsed);
  sbox::ParseOptions no_includes;
  no_includes.allow_includes = false;
  absl::StatusOr<sbox::ParsedPolicy> again =
      sbox::ParsePolicyText(canonical, "canonical", no_includes);
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
