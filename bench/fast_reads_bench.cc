// A read-only open+close of a granted file, measured in one run three ways:
//   (a) direct: openat in this process, no sandbox
//   (b) brokered: in a sandboxee whose openat is a seccomp notification the broker answers
//   (c) fast reads: in a sandboxee whose read-only openat goes to the kernel, which the
//       Landlock mirror of the file policy decides (SyscallPolicy::Builder::FastReads)
// Each sandboxee times its own loop; the ratios to (a) are printed at the end.
// Run with optimisation: ./bazelw run -c opt //bench:fast_reads_bench

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>

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
  for (auto _ : state) {
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
  }
  munmap(shared, sizeof(int64_t));
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
      printf("%-40s %.2f x direct openat+close (%.0f ns vs %.0f ns)\n", name, ns[name] / direct,
             ns[name], direct);
    }
  }
  benchmark::Shutdown();
  return 0;
}
