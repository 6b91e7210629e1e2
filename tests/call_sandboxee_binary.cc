// A sandboxee binary: entry points served by //sandboxee:call_main, for call_binary_test.

#include <signal.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "sandboxee/entry_point.h"

namespace {

absl::Status Echo(sbox::CallContext& call) {
  call.output() = std::string(call.input());
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(binary_echo, Echo);

absl::Status Crash(sbox::CallContext&) {
  *static_cast<volatile int*>(nullptr) = 1;
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(binary_crash, Crash);

// Reads a file by path through the broker, as libc code does.
absl::Status ReadFirstLine(sbox::CallContext& call) {
  FILE* file = fopen(std::string(call.input()).c_str(), "r");
  if (file == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("fopen ", call.input()));
  char line[256] = {};
  if (fgets(line, sizeof(line), file) == nullptr) line[0] = '\0';
  fclose(file);
  call.output() = line;
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(binary_read_first_line, ReadFirstLine);

}  // namespace
