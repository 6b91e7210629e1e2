#ifndef SBOX_EXAMPLES_PARSE_UNDER_MEMORY_LIMIT_H_
#define SBOX_EXAMPLES_PARSE_UNDER_MEMORY_LIMIT_H_

#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "absl/status/status.h"

namespace sbox::examples {

// What ExitAfterParsingUnderLimit exits with.
inline constexpr int kParsed = 0;
inline constexpr int kNoLimit = 2;            // setrlimit failed
inline constexpr int kBadAlloc = 3;           // std::bad_alloc escaped
inline constexpr int kResourceExhausted = 4;  // a ResourceExhausted Status
inline constexpr int kOtherError = 5;         // another Status

// For a death test's child: limits the address space to `bytes` (RLIMIT_AS, as the sandbox
// does), runs `parse` (returning an absl::Status), writes the Status's message to stderr for
// the death test to match, and exits with one of the codes above.
template <typename Parse>
[[noreturn]] void ExitAfterParsingUnderLimit(uint64_t bytes, const Parse& parse) {
  const rlimit limit = {bytes, bytes};
  if (setrlimit(RLIMIT_AS, &limit) != 0) std::_Exit(kNoLimit);
  absl::Status status;
  try {
    status = parse();
  } catch (const std::bad_alloc&) {
    std::_Exit(kBadAlloc);
  }
  std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
  if (status.ok()) std::_Exit(kParsed);
  std::_Exit(status.code() == absl::StatusCode::kResourceExhausted ? kResourceExhausted
                                                                   : kOtherError);
}

}  // namespace sbox::examples

#endif  // SBOX_EXAMPLES_PARSE_UNDER_MEMORY_LIMIT_H_
