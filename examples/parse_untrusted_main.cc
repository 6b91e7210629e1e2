// Parses an untrusted file in a sandbox with a real library from Debian, and prints what the
// parser found or why the call failed:
//   ./bazelw run //examples:parse_untrusted -- png|xml|archive FILE

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "call/sandbox.h"
#include "examples/parser_entry_points.h"

namespace {

absl::StatusOr<std::string> ReadFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The parser's output for the file at `path`, parsed by `entry_point` in a sandbox.
absl::StatusOr<std::string> ParseInSandbox(const char* entry_point, const char* path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<std::unique_ptr<sbox::Sandbox>> sandbox = sbox::Sandbox::Create(
      entry_point, sbox::SandboxOptions().SetLimits(sbox::examples::UntrustedParserLimits()));
  if (!sandbox.ok()) return sandbox.status();
  absl::StatusOr<sbox::CallOutput> output = (*sandbox)->Call(sbox::CallInput(*bytes));
  if (!output.ok()) return output.status();
  return std::move(output->bytes);
}

}  // namespace

int main(int argc, char** argv) {
  // First, while the process has one thread: every sandboxee is forked from this copy.
  if (absl::Status started = sbox::StartForkServer(); !started.ok()) {
    std::fprintf(stderr, "%s\n", started.ToString().c_str());
    return 1;
  }
  const absl::flat_hash_map<std::string, const char*> entry_points = {
      {"png", sbox::examples::kPngSummaryEntryPoint},
      {"xml", sbox::examples::kXmlSummaryEntryPoint},
      {"archive", sbox::examples::kArchiveListingEntryPoint},
  };
  const auto entry_point = argc == 3 ? entry_points.find(argv[1]) : entry_points.end();
  if (entry_point == entry_points.end()) {
    std::fprintf(stderr, "usage: %s png|xml|archive FILE\n", argv[0]);
    return 2;
  }
  absl::StatusOr<std::string> output = ParseInSandbox(entry_point->second, argv[2]);
  if (!output.ok()) {
    // Code and message: the payload CallFailureOf reads is for programs, not people.
    std::fprintf(stderr, "%s: %s\n", absl::StatusCodeToString(output.status().code()).c_str(),
                 std::string(output.status().message()).c_str());
    return 1;
  }
  std::fwrite(output->data(), 1, output->size(), stdout);
  if (!output->empty() && output->back() != '\n') std::fputc('\n', stdout);
  return 0;
}
