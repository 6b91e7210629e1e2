#ifndef SBOX_EXAMPLES_BAD_ALLOC_UNDER_LIMIT_H_
#define SBOX_EXAMPLES_BAD_ALLOC_UNDER_LIMIT_H_

#include <sys/resource.h>

#include <cstdint>
#include <cstdlib>
#include <new>

namespace sbox::examples {

// What ExitAfterParsingUnderLimit exits with.
inline constexpr int kParsed = 0;
inline constexpr int kNoLimit = 2;
inline constexpr int kBadAlloc = 3;

// For a death test's child: limits the address space to `bytes` (RLIMIT_AS, as the sandbox
// does), runs `parse`, and exits with kBadAlloc if it threw std::bad_alloc, kParsed if it
// returned.
template <typename Parse>
[[noreturn]] void ExitAfterParsingUnderLimit(uint64_t bytes, const Parse& parse) {
  const rlimit limit = {bytes, bytes};
  if (setrlimit(RLIMIT_AS, &limit) != 0) std::_Exit(kNoLimit);
  try {
    parse();
  } catch (const std::bad_alloc&) {
    std::_Exit(kBadAlloc);
  }
  std::_Exit(kParsed);
}

}  // namespace sbox::examples

#endif  // SBOX_EXAMPLES_BAD_ALLOC_UNDER_LIMIT_H_
