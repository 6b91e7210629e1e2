// A read-only open+close of a granted file, measured in one run three ways:
//   (a) direct: openat in this process, no sandbox
//   (b) brokered: in a sandboxee whose openat is a seccomp notification the broker answers
//   (c) fast reads: in a sandboxee whose read-only openat goes to the kernel, which the
//       Landlock mirror of the file policy decides (SyscallPolicy::Builder::FastReads)
// Each sandboxee times its own loop. Before each launch the same loop runs directly in this
// process, and the counter vs_direct is the median of the per-launch ratios: on a shared,
// noisy machine a ratio of neighbours in time means more than one of two separate phases.
// Run with optimisation: ./bazelw run -c opt //bench:fast_reads_bench

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "broker/file_policy.h"
#include "broker/syscall_policy.h"
#include "launcher/launcher.h"

namespace sbox {
namespace {

constexpr int kOpensPerLaunch = 4000;
const char kFile[] = "/etc/hostname";

int64_t NowNs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec;
}

// Opens and closes kFile `count` times; returns the nanoseconds taken, or -1.
int64_t OpenLoop(int count) {
  const int64_t start = NowNs();
  for (int i = 0; i < count; ++i) {
    const int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, kFile, O_RDONLY | O_CLOEXEC));
    if (fd < 0) return -1;
    close(fd);
  }
  return NowNs() - start;
}

// Per benchmark: the median of its per-launch ratios to the direct loop.
std::map<std::string, double>& MedianRatio() {
  static auto* const results = new std::map<std::string, double>;
  return *results;
}

std::map<std::string, double>& PerOpNs() {
  static auto* const results = new std::map<std::string, double>;
  return *results;
}

void BM_Direct(benchmark::State& state) {
  for (auto _ : state) {
    const int64_t ns = OpenLoop(kOpensPerLaunch);
    state.SetIterationTime(static_cast<double>(ns) / 1e9 / kOpensPerLaunch);
  }
}

// One launch per iteration; the sandboxee writes its loop's time into shared memory.
void Sandboxed(benchmark::State& state, bool fast_reads) {
  SyscallPolicy::Builder builder = SyscallPolicy::RedirectedParser();
  if (fast_reads) builder.FastReads();
  absl::StatusOr<SyscallPolicy> syscalls = builder.Build(Redirection::kUserNotification);
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().AllowReadFile(kFile).Build();
  if (!syscalls.ok() || !files.ok()) {
    state.SkipWithError("policy");
    return;
  }
  Launcher launcher(*std::move(files), *std::move(syscalls));
  auto* shared = static_cast<int64_t*>(
      mmap(nullptr, sizeof(int64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  std::vector<double> ratios;
  for (auto _ : state) {
    state.PauseTiming();
    const int64_t direct = OpenLoop(kOpensPerLaunch);
    state.ResumeTiming();
    *shared = -1;
    absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd) {
      *shared = OpenLoop(kOpensPerLaunch);
      return 0;
    });
    if (!result.ok() || !result->ok() || *shared < 0) {
      state.SkipWithError(result.ok() ? result->ToString().c_str()
                                      : std::string(result.status().message()).c_str());
      break;
    }
    state.SetIterationTime(static_cast<double>(*shared) / 1e9 / kOpensPerLaunch);
    if (direct > 0) ratios.push_back(static_cast<double>(*shared) / static_cast<double>(direct));
  }
  munmap(shared, sizeof(int64_t));
  if (!ratios.empty()) {
    std::sort(ratios.begin(), ratios.end());
    state.counters["vs_direct"] = ratios[ratios.size() / 2];
  }
}

void BM_Brokered(benchmark::State& state) { Sandboxed(state, false); }
void BM_FastReads(benchmark::State& state) { Sandboxed(state, true); }

// Per-op times are what SetIterationTime reported; the reporter below collects them.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Iteration && !run.error_occurred) {
        PerOpNs()[run.benchmark_name()] = run.GetAdjustedRealTime();
        const auto ratio = run.counters.find("vs_direct");
        if (ratio != run.counters.end()) MedianRatio()[run.benchmark_name()] = ratio->second;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

BENCHMARK(BM_Direct)->UseManualTime()->Iterations(30)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_Brokered)->UseManualTime()->Iterations(30)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_FastReads)->UseManualTime()->Iterations(30)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace sbox

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  sbox::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  auto& ns = sbox::PerOpNs();
  const double direct = ns["BM_Direct/iterations:30/manual_time"];
  if (direct > 0) {
    for (const char* name :
         {"BM_Brokered/iterations:30/manual_time", "BM_FastReads/iterations:30/manual_time"}) {
      printf(
          "%-40s %.2f x direct openat+close (%.0f ns vs %.0f ns); median per-launch ratio "
          "%.2f\n",
          name, ns[name] / direct, ns[name], direct, sbox::MedianRatio()[name]);
    }
  }
  benchmark::Shutdown();
  return 0;
}
