// What the seccomp filter costs a syscall, measured in one process: first without a filter,
// then with a policy of about 70 rules installed (BrokeredParser() and eleven more, some with
// argument checks), so that the ratios printed at the end compare like with like.
//   BM_Getppid  an unconditionally allowed call: the kernel answers it from its constant-action
//               cache without running the filter
//   BM_Getpriority  a call with an argument check (which <= PRIO_USER): the filter runs every
//                   time
// A filter cannot be removed, so the unfiltered runs come first and the two phases are not
// interleaved; quote the medians of several repetitions.
//
//   ./bazelw run -c opt //bench:filter_cost_bench

#include <errno.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "broker/syscall_policy.h"

namespace sbox::bench {
namespace {

void BM_Getppid(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(syscall(SYS_getppid));
}
BENCHMARK(BM_Getppid)->Repetitions(5)->ReportAggregatesOnly(true);

void BM_Getpriority(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(syscall(SYS_getpriority, PRIO_PROCESS, 0));
}
BENCHMARK(BM_Getpriority)->Repetitions(5)->ReportAggregatesOnly(true);

// Keeps each benchmark's median real time per iteration, in nanoseconds.
class MedianReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.aggregate_name == "median") {
        medians_[run.run_name.function_name] = run.GetAdjustedRealTime();
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  double median(const std::string& name) const {
    auto it = medians_.find(name);
    return it == medians_.end() ? 0 : it->second;
  }

 private:
  std::map<std::string, double> medians_;
};

// The policy under test: BrokeredParser() and eleven rules more, the argument-checked getpriority
// among them. `rules` receives the number of rules (syscalls with an action).
absl::StatusOr<SyscallPolicy> BenchmarkPolicy(size_t* rules) {
  SyscallPolicy::Builder builder = SyscallPolicy::BrokeredParser();
  // BrokeredParser: these groups, and five errno answers.
  *rules = 5;
  for (SyscallGroup group :
       {SyscallGroup::kBasicIo, SyscallGroup::kMemoryWithoutExec, SyscallGroup::kTime,
        SyscallGroup::kSignals, SyscallGroup::kThreads, SyscallGroup::kExit,
        SyscallGroup::kIdentity, SyscallGroup::kRandom, SyscallGroup::kBrokerChannel}) {
    *rules += SyscallPolicy::GroupRules(group).size();
  }
  // What the benchmark harness itself calls besides the groups.
  for (const char* name : {"sched_getaffinity", "sched_setaffinity", "getcpu", "sysinfo", "uname",
                           "getrusage", "prlimit64"}) {
    builder.Allow(name);
  }
  builder.Allow("socket", {Arg(0).Eq(AF_UNIX)});
  builder.Allow("kill", {Arg(1).Eq(0)});
  builder.Allow("prctl", {Arg(0).Eq(PR_GET_DUMPABLE)});
  builder.Allow("getpriority", {Arg(0).Le(PRIO_USER)});
  *rules += 11;
  // Calls the harness never makes fail with EPERM instead of ending it.
  builder.SetDefaultAction(DefaultAction::Errno(EPERM));
  return builder.Build();
}

int Main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  MedianReporter without_filter;
  benchmark::RunSpecifiedBenchmarks(&without_filter);

  size_t rules = 0;
  absl::StatusOr<SyscallPolicy> policy = BenchmarkPolicy(&rules);
  if (!policy.ok()) {
    fprintf(stderr, "filter_cost_bench: %s\n", policy.status().ToString().c_str());
    return 1;
  }
  const sock_fprog program = policy->fprog();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) {
    perror("filter_cost_bench: installing the filter");
    return 1;
  }
  MedianReporter with_filter;
  benchmark::RunSpecifiedBenchmarks(&with_filter);

  printf("\nFilter: %zu rules, %zu BPF instructions\n", rules, policy->instruction_count());
  printf("Ratios, filtered / unfiltered (median real time per call):\n");
  for (const char* name : {"BM_Getppid", "BM_Getpriority"}) {
    const double before = without_filter.median(name);
    const double after = with_filter.median(name);
    printf("  %-15s %8.1f ns / %8.1f ns = %.3f  (+%.1f ns)\n", name, after, before,
           before > 0 ? after / before : 0.0, after - before);
  }
  benchmark::Shutdown();
  return 0;
}

}  // namespace
}  // namespace sbox::bench

int main(int argc, char** argv) { return sbox::bench::Main(argc, argv); }
