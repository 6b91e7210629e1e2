#ifndef SBOX_TOOLS_BPF_EVAL_H_
#define SBOX_TOOLS_BPF_EVAL_H_

// A classic-BPF interpreter for seccomp filters, so that `sbox audit --eval` can say what a
// compiled policy does with one call without installing it.
//
//   seccomp_data data = MakeSeccompData(nr, {fd, offset});
//   absl::StatusOr<uint32_t> ret = RunSeccompFilter(policy.program(), data);
//   std::cout << SeccompReturnText(*ret);  // "ALLOW", "ERRNO(25)", ...

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sbox {

// A seccomp_data for an x86_64 call of `nr` with `args` (missing ones are 0), instruction
// pointer 0.
seccomp_data MakeSeccompData(int nr, const std::vector<uint64_t>& args);

// Runs `program` on `data` as the kernel would and returns the filter's SECCOMP_RET_* value.
// Every instruction the kernel accepts in a seccomp filter runs (seccomp_check_filter's list:
// loads of seccomp_data words and of its length, immediates, scratch memory, the ALU
// operations add, sub, mul, div, and, or, xor, lsh, rsh on a constant or X and neg, TAX and TXA,
// jumps, returns), with the kernel's arithmetic: 32-bit, wrapping; a division by X = 0 ends the
// filter with 0; a shift by X is taken modulo 32. Anything else, an unaligned or out-of-range
// load, a division or a shift the kernel refuses at load (by a constant 0, by 32 or more), a
// jump out of the program or running off its end is InvalidArgument naming the instruction.
absl::StatusOr<uint32_t> RunSeccompFilter(const std::vector<sock_filter>& program,
                                          const seccomp_data& data);

// "ALLOW", "ERRNO(n)", "TRAP", "KILL_PROCESS", "KILL_THREAD", "USER_NOTIF (violation report)",
// "TRACE(n)", "LOG", or "UNKNOWN(0x...)".
std::string SeccompReturnText(uint32_t ret);

}  // namespace sbox

#endif  // SBOX_TOOLS_BPF_EVAL_H_
