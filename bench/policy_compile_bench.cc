// How long compiling a syscall policy takes, for the shapes that make a compiler's work grow
// with how rules overlap: 1,000 conditional rules on one syscall (every comparison on shared
// arguments, the pairs that never return from Debian's libseccomp 2.5.4), 1,000 spread over six
// syscalls, 1,000 `in` sets, and 200 of them (which fit in the kernel's 4,096 instructions and
// compile to a program). Each benchmark parses the text and builds the filter; a policy too big
// for the kernel is refused (ResourceExhausted naming the syscall), and the refusal is timed
// too. The shipped default policy is the reference a person knows.
//
//   ./bazelw run -c opt //bench:policy_compile_bench

#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "broker/policy_text.h"
#include "broker/syscall_policy.h"

namespace sbox::bench {
namespace {

enum Shape { kOneSyscall, kSixSyscalls, kSets };

std::string Policy(Shape shape, int rules) {
  static const char* const kCalls[] = {"read", "prctl", "lseek", "getppid", "mmap", "fcntl"};
  static const char* const kOps[] = {"==", "!=", "<", "<=", ">", ">="};
  std::mt19937_64 random(rules);
  std::string text = "default kill-and-report\n";
  for (int i = 0; i < rules; ++i) {
    absl::StrAppend(&text, "allow ", shape == kOneSyscall ? "read" : kCalls[random() % 6], " if ");
    if (shape == kSets) {
      absl::StrAppend(&text, "arg", random() % 6, " in {", random(), ", ", random(), ", ",
                      random() % 100, "}\n");
      continue;
    }
    absl::StrAppend(&text, "arg0 ", kOps[random() % 6], " ", random() % 16, " && arg",
                    1 + random() % 5, " ", kOps[random() % 6], " ", random(), "\n");
  }
  return text;
}

void Compile(benchmark::State& state, const std::string& text) {
  int refused = 0;
  for (auto _ : state) {
    absl::StatusOr<ParsedPolicy> parsed = ParsePolicyText(text, "bench.policy");
    if (!parsed.ok()) {
      state.SkipWithError(parsed.status().ToString().c_str());
      return;
    }
    absl::StatusOr<SyscallPolicy> policy = parsed->syscalls.Build();
    if (!policy.ok()) ++refused;
    benchmark::DoNotOptimize(policy);
  }
  state.counters["refused"] = refused > 0 ? 1 : 0;
}

void BM_OneSyscall(benchmark::State& state) {
  Compile(state, Policy(kOneSyscall, static_cast<int>(state.range(0))));
}
void BM_SixSyscalls(benchmark::State& state) {
  Compile(state, Policy(kSixSyscalls, static_cast<int>(state.range(0))));
}
void BM_InSets(benchmark::State& state) {
  Compile(state, Policy(kSets, static_cast<int>(state.range(0))));
}
void BM_DefaultPolicy(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<SyscallPolicy> policy = SyscallPolicy::ProgramDefault().Build();
    benchmark::DoNotOptimize(policy);
  }
}

BENCHMARK(BM_OneSyscall)->Arg(200)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SixSyscalls)->Arg(200)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_InSets)->Arg(200)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DefaultPolicy)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sbox::bench

BENCHMARK_MAIN();
