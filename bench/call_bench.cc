// The call API's cost, against baselines measured in the same run, for a trivial entry point
// (echo of 1 KiB) and a real one (libpng decoding examples/testdata/good.png, 64 x 48 RGBA):
//   SeqpacketRoundTrip/<gap>  1 KiB there and back between two processes: a call's floor
//   HostFork                  fork + _exit + waitpid of this process: what a fork costs it
//   <entry>/InProcess         the entry point called directly, unsandboxed
//   <entry>/ForkPerCall       Launcher::Run: this process forked for each call
//   <entry>/ForkServer        Sandbox::Call, a new sandboxee from the fork server per call
//   <entry>/WarmPool/<gap>    served by a pre-started sandboxee (one per call)
//   <entry>/WarmPoolReused    one sandboxee serving many calls (SetReuse: weaker isolation)
// <gap>: milliseconds between calls (outside the timing), so that a one-call sandboxee's
// replacement is ready for the next call, and the sides sleep between calls as a pooled
// sandboxee does; the round trip is measured with the same gap. Variants with threads:2 give
// the calls per second of 2 host threads. Each reports the per-call p50 and p99 (µs).
//   ./bazelw run -c opt //bench:call_bench
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "call/sandbox.h"
#include "examples/parser_entry_points.h"
#include "launcher/launcher.h"
#include "sandboxee/entry_point.h"

namespace sbox {
namespace {

absl::Status Echo(CallContext& call) {
  call.output() = std::string(call.input());
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(bench_echo, Echo);

struct Workload {
  const char* entry;
  std::string input;
};

// Per-call latencies of one benchmark run, reported as p50 and p99 counters.
class Latencies {
 public:
  void Add(absl::Duration d) { samples_.push_back(absl::ToDoubleMicroseconds(d)); }
  void Report(benchmark::State& state) {
    if (samples_.empty()) return;
    std::sort(samples_.begin(), samples_.end());
    state.counters["p50_us"] = samples_[samples_.size() / 2];
    state.counters["p99_us"] = samples_[std::min(samples_.size() - 1, samples_.size() * 99 / 100)];
    state.SetItemsProcessed(state.iterations());
  }

 private:
  std::vector<double> samples_;
};

void Gap(benchmark::State& state, int gap_ms) {
  if (gap_ms == 0) return;
  state.PauseTiming();
  absl::SleepFor(absl::Milliseconds(gap_ms));
  state.ResumeTiming();
}

void SeqpacketRoundTrip(benchmark::State& state, int gap_ms) {
  const std::string input(1024, 'e');
  int pair[2];
  socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair);
  const pid_t pid = fork();
  if (pid == 0) {
    close(pair[0]);
    char buffer[4096];
    for (;;) {
      const ssize_t got = read(pair[1], buffer, sizeof(buffer));
      if (got <= 0 || write(pair[1], buffer, static_cast<size_t>(got)) != got) _exit(0);
    }
  }
  close(pair[1]);
  char buffer[4096];
  Latencies latencies;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    if (write(pair[0], input.data(), input.size()) < 0 ||
        read(pair[0], buffer, sizeof(buffer)) <= 0) {
      state.SkipWithError("round trip failed");
      break;
    }
    latencies.Add(absl::Now() - start);
    Gap(state, gap_ms);
  }
  close(pair[0]);
  waitpid(pid, nullptr, 0);
  latencies.Report(state);
}

void HostFork(benchmark::State& state) {
  Latencies latencies;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    const pid_t pid = fork();
    if (pid == 0) _exit(0);
    waitpid(pid, nullptr, 0);
    latencies.Add(absl::Now() - start);
  }
  latencies.Report(state);
}

void InProcess(benchmark::State& state, const Workload& work) {
  const EntryPoint entry = FindEntryPoint(work.entry);
  Latencies latencies;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    CallContext call(work.input, {}, nullptr);
    if (!entry(call).ok()) state.SkipWithError("entry point failed");
    benchmark::DoNotOptimize(call.output());
    latencies.Add(absl::Now() - start);
  }
  latencies.Report(state);
}

// Launcher::Run: the entry point in a child forked from this process, its input and output
// through a socket pair as its stdin and stdout.
void ForkPerCall(benchmark::State& state, const Workload& work) {
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().Build();
  absl::StatusOr<SyscallPolicy> syscalls =
      SyscallPolicy::CallDefault().Build(Redirection::kUserNotification);
  Launcher launcher(*std::move(files), *std::move(syscalls));
  const EntryPoint entry = FindEntryPoint(work.entry);
  Latencies latencies;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    int pair[2];
    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair);
    launcher.SetStdioFds(pair[1], pair[1], -1);
    absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd) {
      CallContext call(work.input, {}, nullptr);
      if (!entry(call).ok()) return 1;
      return write(1, call.output().data(), call.output().size()) > 0 ? 0 : 1;
    });
    close(pair[1]);
    char buffer[4096];
    if (!result.ok() || !result->ok() || read(pair[0], buffer, sizeof(buffer)) <= 0) {
      state.SkipWithError("fork per call failed");
    }
    close(pair[0]);
    latencies.Add(absl::Now() - start);
  }
  latencies.Report(state);
}

void Calls(benchmark::State& state, const Sandbox* sandbox, const Workload& work, int gap_ms) {
  Latencies latencies;
  int64_t pooled = 0;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    absl::StatusOr<CallOutput> out = sandbox->Call(CallInput(work.input));
    latencies.Add(absl::Now() - start);
    if (!out.ok() || out->bytes.empty()) {
      state.SkipWithError("call failed");
      break;
    }
    if (out->stats.from_warm_pool) ++pooled;
    Gap(state, gap_ms);
  }
  latencies.Report(state);
  state.counters["pooled"] =
      static_cast<double>(pooled) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
}

const Sandbox* MakeSandbox(const char* entry, SandboxOptions options) {
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox = Sandbox::Create(entry, std::move(options));
  if (!sandbox.ok()) abort();
  absl::SleepFor(absl::Milliseconds(300));  // the pool, if any, starts
  return sandbox->release();                // lives as long as the process
}

std::string ReadFile(const char* path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

void Register(const std::string& name, const Workload* work) {
  using benchmark::RegisterBenchmark;
  const char* entry = work->entry;
  RegisterBenchmark((name + "/InProcess").c_str(), InProcess, *work)->UseRealTime();
  RegisterBenchmark((name + "/ForkPerCall").c_str(), ForkPerCall, *work)->UseRealTime();
  const Sandbox* fresh = MakeSandbox(entry, SandboxOptions());
  RegisterBenchmark((name + "/ForkServer").c_str(), Calls, fresh, *work, 0)->UseRealTime();
  RegisterBenchmark((name + "/ForkServer").c_str(), Calls, fresh, *work, 0)
      ->Threads(2)
      ->UseRealTime();
  const Sandbox* pool = MakeSandbox(entry, SandboxOptions().SetWarmPool(2));
  RegisterBenchmark((name + "/WarmPool/gap:20").c_str(), Calls, pool, *work, 20)
      ->Iterations(200)
      ->UseRealTime();
  const Sandbox* reused = MakeSandbox(entry, SandboxOptions().SetWarmPool(2).SetReuse(1 << 30));
  RegisterBenchmark((name + "/WarmPoolReused/gap:0").c_str(), Calls, reused, *work, 0)
      ->UseRealTime();
  RegisterBenchmark((name + "/WarmPoolReused/gap:20").c_str(), Calls, reused, *work, 20)
      ->Iterations(200)
      ->UseRealTime();
  RegisterBenchmark((name + "/WarmPoolReused/gap:0").c_str(), Calls, reused, *work, 0)
      ->Threads(2)
      ->UseRealTime();
}

}  // namespace
}  // namespace sbox

int main(int argc, char** argv) {
  if (!sbox::StartForkServer().ok()) return 1;
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("SeqpacketRoundTrip/gap:0", sbox::SeqpacketRoundTrip, 0)->UseRealTime();
  RegisterBenchmark("SeqpacketRoundTrip/gap:20", sbox::SeqpacketRoundTrip, 20)
      ->Iterations(200)
      ->UseRealTime();
  RegisterBenchmark("HostFork", sbox::HostFork)->UseRealTime();
  static const sbox::Workload echo{"bench_echo", std::string(1024, 'e')};
  static const sbox::Workload png{sbox::examples::kPngSummaryEntryPoint,
                                  sbox::ReadFile("examples/testdata/good.png")};
  if (png.input.empty()) return 1;
  sbox::Register("echo_1KiB", &echo);
  sbox::Register("libpng_64x48", &png);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
