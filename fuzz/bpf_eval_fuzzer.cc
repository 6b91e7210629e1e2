// The seccomp BPF evaluator (tools/bpf_eval.h) on arbitrary programs.
//
// The input is a seccomp_data (64 bytes) followed by instructions (8 bytes each, at most
// BPF_MAXINSNS). RunSeccompFilter must not crash, must terminate (libFuzzer's -timeout catches
// a hang), must give the same answer twice, and when it accepts a program its answer is a
// constant of a RET K instruction of the program, 0 when it divides by X, or, when the program
// has RET A, anything.

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/bpf_eval.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < sizeof(seccomp_data)) return 0;
  seccomp_data input;
  std::memcpy(&input, data, sizeof(input));
  data += sizeof(input);
  size -= sizeof(input);
  const size_t count = size / sizeof(sock_filter);
  if (count > BPF_MAXINSNS) return 0;
  std::vector<sock_filter> program(count);
  if (count > 0) std::memcpy(program.data(), data, count * sizeof(sock_filter));

  const absl::StatusOr<uint32_t> first = sbox::RunSeccompFilter(program, input);
  const absl::StatusOr<uint32_t> second = sbox::RunSeccompFilter(program, input);
  if (first.ok() != second.ok() || (first.ok() && *first != *second)) {
    std::fprintf(stderr, "bpf_eval_fuzzer: two runs disagree\n");
    std::abort();
  }
  if (!first.ok()) return 0;
  bool possible = false;
  for (const sock_filter& insn : program) {
    // A division by X = 0 ends the filter with 0.
    if (*first == 0 && insn.code == (BPF_ALU | BPF_DIV | BPF_X)) possible = true;
    if (BPF_CLASS(insn.code) != BPF_RET) continue;
    if (BPF_RVAL(insn.code) == BPF_A || insn.k == *first) possible = true;
  }
  if (!possible) {
    std::fprintf(stderr, "bpf_eval_fuzzer: result 0x%x is no return of the program\n", *first);
    std::abort();
  }
  (void)sbox::SeccompReturnText(*first);
  return 0;
}
