// The call API's cost, against baselines measured in the same run:
//   BM_SeqpacketRoundTrip   1 KiB there and back between two processes (the floor of a call)
//   BM_HostFork             fork + _exit + waitpid of this process (what a fork per call costs)
//   BM_InProcess            the entry point called directly, unsandboxed
//   BM_ForkPerCall          Launcher::Run: the host forked per call (today's Launcher)
//   BM_ForkServer           Sandbox::Call, a new sandboxee from the fork server per call
//   BM_WarmPool             Sandbox::Call served by a pre-started sandboxee (one per call)
//   BM_WarmPoolReused       the same, a sandboxee serving many calls (SetReuse: weaker isolation)
// Each reports the per-call p50 and p99 (µs) as counters; run with 2 threads
// (BM_..._Threads) the calls per second give the scaling. Run:
//   ./bazelw run -c opt //bench:call_bench
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "call/sandbox.h"
#include "launcher/launcher.h"
#include "proto/fd_transport.h"
#include "sandboxee/entry_point.h"

namespace sbox {
namespace {

absl::Status Echo(CallContext& call) {
  call.output() = std::string(call.input());
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(bench_echo, Echo);

const std::string& Input() {
  static const std::string* const kInput = new std::string(1024, 'e');
  return *kInput;
}

// Per-call latencies of one benchmark run, reported as p50 and p99 counters.
class Latencies {
 public:
  void Add(absl::Duration d) { samples_.push_back(absl::ToDoubleMicroseconds(d)); }
  void Report(benchmark::State& state) {
    if (samples_.empty()) return;
    std::sort(samples_.begin(), samples_.end());
    state.counters["p50_us"] = samples_[samples_.size() / 2];
    state.counters["p99_us"] = samples_[std::min(samples_.size() - 1, samples_.size() * 99 / 100)];
  }

 private:
  std::vector<double> samples_;
};

// With a range argument of 1, the calls are 3 ms apart (outside the timing): both sides then
// sleep between calls, as a pooled sandboxee waits for its one call, and wake on it.
void Space(benchmark::State& state) {
  if (state.range(0) == 0) return;
  state.PauseTiming();
  absl::SleepFor(absl::Milliseconds(state.range(0)));
  state.ResumeTiming();
}

void BM_SeqpacketRoundTrip(benchmark::State& state) {
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
    if (write(pair[0], Input().data(), Input().size()) < 0) state.SkipWithError("write");
    if (read(pair[0], buffer, sizeof(buffer)) <= 0) state.SkipWithError("read");
    latencies.Add(absl::Now() - start);
    Space(state);
  }
  close(pair[0]);
  waitpid(pid, nullptr, 0);
  latencies.Report(state);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SeqpacketRoundTrip)->Arg(0)->UseRealTime();
BENCHMARK(BM_SeqpacketRoundTrip)->Arg(3)->Iterations(300)->UseRealTime();
BENCHMARK(BM_SeqpacketRoundTrip)->Arg(20)->Iterations(100)->UseRealTime();

void BM_HostFork(benchmark::State& state) {
  Latencies latencies;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    const pid_t pid = fork();
    if (pid == 0) _exit(0);
    waitpid(pid, nullptr, 0);
    latencies.Add(absl::Now() - start);
  }
  latencies.Report(state);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HostFork)->Arg(0)->UseRealTime();

void BM_InProcess(benchmark::State& state) {
  Latencies latencies;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    CallContext call(Input(), {}, nullptr);
    benchmark::DoNotOptimize(Echo(call));
    benchmark::DoNotOptimize(call.output());
    latencies.Add(absl::Now() - start);
  }
  latencies.Report(state);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InProcess)->Arg(0)->UseRealTime();

void BM_ForkPerCall(benchmark::State& state) {
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().Build();
  absl::StatusOr<SyscallPolicy> syscalls =
      SyscallPolicy::CallDefault().Build(Redirection::kUserNotification);
  Launcher launcher(*std::move(files), *std::move(syscalls));
  Latencies latencies;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    int pair[2];
    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair);
    if (write(pair[0], Input().data(), Input().size()) < 0) state.SkipWithError("write");
    // The call channel as the child's stdin and stdout: the only descriptors it keeps.
    launcher.SetStdioFds(pair[1], pair[1], -1);
    absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd) {
      char buffer[4096];
      const ssize_t got = read(0, buffer, sizeof(buffer));
      return write(1, buffer, static_cast<size_t>(got)) == got ? 0 : 1;
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
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ForkPerCall)->Arg(0)->UseRealTime();

void RunCalls(benchmark::State& state, const Sandbox& sandbox) {
  Latencies latencies;
  int64_t pooled = 0;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    absl::StatusOr<CallOutput> out = sandbox.Call(CallInput(Input()));
    latencies.Add(absl::Now() - start);
    if (!out.ok() || out->bytes.size() != Input().size()) state.SkipWithError("call failed");
    if (out.ok() && out->stats.from_warm_pool) ++pooled;
    Space(state);
  }
  latencies.Report(state);
  state.counters["pooled_fraction"] =
      static_cast<double>(pooled) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
  state.SetItemsProcessed(state.iterations());
}

std::unique_ptr<Sandbox> MakeSandbox(SandboxOptions options) {
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox =
      Sandbox::Create("bench_echo", std::move(options));
  if (!sandbox.ok()) abort();
  absl::SleepFor(absl::Milliseconds(200));  // the pool, if any, starts
  return *std::move(sandbox);
}

void BM_ForkServer(benchmark::State& state) {
  static const Sandbox* const sandbox = MakeSandbox(SandboxOptions()).release();
  RunCalls(state, *sandbox);
}
BENCHMARK(BM_ForkServer)->Arg(0)->UseRealTime();
BENCHMARK(BM_ForkServer)->Name("BM_ForkServer_Threads")->Arg(0)->Threads(2)->UseRealTime();

void BM_WarmPool(benchmark::State& state) {
  static const Sandbox* const sandbox = MakeSandbox(SandboxOptions().SetWarmPool(2)).release();
  RunCalls(state, *sandbox);
}
// A one-call sandboxee is replaced once it has served: spaced calls find the replacement ready.
BENCHMARK(BM_WarmPool)->Arg(3)->UseRealTime()->Iterations(300);
BENCHMARK(BM_WarmPool)->Arg(20)->UseRealTime()->Iterations(100);

void BM_WarmPoolReused(benchmark::State& state) {
  static const Sandbox* const sandbox =
      MakeSandbox(SandboxOptions().SetWarmPool(2).SetReuse(1 << 30)).release();
  RunCalls(state, *sandbox);
}
BENCHMARK(BM_WarmPoolReused)->Arg(0)->UseRealTime();
BENCHMARK(BM_WarmPoolReused)->Arg(3)->Iterations(300)->UseRealTime();
BENCHMARK(BM_WarmPoolReused)->Arg(20)->Iterations(100)->UseRealTime();
BENCHMARK(BM_WarmPoolReused)->Name("BM_WarmPoolReused_Threads")->Arg(0)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace sbox

int main(int argc, char** argv) {
  if (!sbox::StartForkServer().ok()) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
