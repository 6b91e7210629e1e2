// Whether the size of the file policy costs a brokered request anything: FilePolicy::Find is one
// hash probe per path component whatever the number of rules, so a policy of 10,000 rules should
// serve as fast as one of 10.
//
// Two BrokerServers run in forked children, one per policy, each serving a SOCK_SEQPACKET channel
// to a BrokerClient in this process (as in broker_bench.cc). Both policies hold the same deep
// tree rule, <dir>/deep/l1/l2/l3, that grants the benchmarked file
// <dir>/deep/l1/l2/l3/l4/l5/l6/l7/file.txt: Find probes the file and four directories before it
// reaches the rule, and the broker then resolves l4/l5/l6/l7/file.txt beneath the rule's root.
// The other rules are a mix, one tree rule for every four file rules, spread over 100
// directories (10-rule policy: 2 tree and 7 file rules; 10,000-rule policy: 2,000 tree and 7,999
// file rules, 2,101 root descriptors in its broker).
//
//   BM_Stat        BrokerClient::StatRaw
//   BM_Access      BrokerClient::AccessRaw(R_OK)
//   BM_OpenClose   BrokerClient::OpenRaw(O_RDONLY) + close
// each with rules:10 and rules:10000 as separate benchmarks, and /paired: one request to each
// broker per iteration, in alternating order, each timed, so that both policies meet the same
// load from the rest of a shared machine; BM_Stat/paired_control pairs two identical 10-rule
// brokers, an A/A control of the method. BM_Find times FilePolicy::Find of the benchmarked path
// in this process, with hot caches and with the L1 and L2 caches evicted before each lookup.
// Printed at the end, for each op, the ratio 10000 rules / 10 rules: of the separate
// benchmarks' medians, and the paired one, judged against its spread over the repetitions and
// against the A/A control; and the Find times.
//
// By default this process and both brokers run pinned to one CPU (--pin=same_cpu): unpinned
// (--pin=none), the scheduler may place one broker's threads beside the client and the other's
// across, and that placement, sticky for seconds, differs more than the policies do. Pinned to
// two CPUs: --pin=split_cpus.
//
//   ./bazelw run -c opt //bench:policy_size_bench [-- --pin=none --benchmark_repetitions=N ...]

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "broker/broker_server.h"
#include "broker/file_policy.h"
#include "sandboxee/broker_client.h"

namespace sbox::bench {
namespace {

constexpr int kSmallPolicy = 10;
constexpr int kLargePolicy = 10000;
constexpr int kDirectories = 100;  // the non-benchmarked rules spread over this many

[[noreturn]] void Die(const std::string& what) {
  fprintf(stderr, "policy_size_bench: %s: %s\n", what.c_str(), strerror(errno));
  exit(1);
}

void MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) Die("mkdir " + path);
}

// The rules of a policy of `size` rules under `dir`: the deep tree rule, then a file rule or
// (every fifth) a tree rule per index, round-robin over the directories. Creates the directories
// the rules need; file rules name files that need not exist.
FilePolicy::Builder PolicyOfSize(const std::string& dir, int size) {
  FilePolicy::Builder builder;
  builder.AllowTree(dir + "/deep/l1/l2/l3", kRead);
  const std::string many = dir + "/many";
  MakeDir(many);
  for (int i = 0; i < size - 1; ++i) {
    const std::string parent = absl::StrCat(many, "/d", i % kDirectories);
    MakeDir(parent);
    if (i % 5 == 0) {
      const std::string tree = absl::StrCat(parent, "/t", i);
      MakeDir(tree);
      builder.AllowTree(tree, i % 10 == 0 ? kRead : kRead | kWrite | kCreate);
    } else {
      builder.AllowFile(absl::StrCat(parent, "/f", i), i % 3 == 0 ? kReadWrite : kRead);
    }
  }
  return builder;
}

struct Broker {
  int rules = 0;
  pid_t pid = -1;
  int lifeline = -1;  // the write end: closing it ends the broker
  std::unique_ptr<sandboxee::BrokerClient> client;
};

// Everything the benchmarks share, built in main before any benchmark runs.
struct Fixture {
  std::string dir;
  std::string file;     // the benchmarked path
  std::string outside;  // a path no rule of either policy covers
  Broker small;
  Broker large;
  Broker control;  // a second 10-rule broker: the paired method's A/A control
  // The same two policies, built in this process for BM_Find.
  std::unique_ptr<FilePolicy> small_policy;
  std::unique_ptr<FilePolicy> large_policy;
};

Fixture* fixture = nullptr;

// In the child: builds the policy, serves `channel` until `lifeline` reads end of file.
int RunBroker(const FilePolicy::Builder& rules, int size, int channel, int lifeline) {
  const absl::Time start = absl::Now();
  absl::StatusOr<FilePolicy> policy = rules.Build();
  if (!policy.ok()) {
    fprintf(stderr, "broker: %s\n", policy.status().ToString().c_str());
    return 1;
  }
  if (static_cast<int>(policy->rules().size()) != size) {
    fprintf(stderr, "broker: %zu rules, not %d\n", policy->rules().size(), size);
    return 1;
  }
  fprintf(stderr, "policy of %d rules built in %s\n", size,
          absl::FormatDuration(absl::Now() - start).c_str());
  BrokerServer server(*policy, BrokerServer::Options());
  if (const absl::Status served = server.Serve(UniqueFd(channel)); !served.ok()) {
    fprintf(stderr, "broker: %s\n", served.ToString().c_str());
    return 1;
  }
  char byte;
  while (read(lifeline, &byte, 1) < 0 && errno == EINTR) {
  }
  server.Stop();
  return 0;
}

// Forks a broker for `rules`. The child closes `parent_fds`, this process's ends of every
// channel and lifeline so far, so that it never holds another broker's channel open.
void StartBroker(const FilePolicy::Builder& rules, int size, std::vector<int>* parent_fds,
                 Broker* broker) {
  int channel[2];
  int lifeline[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel) != 0) Die("socketpair");
  if (pipe2(lifeline, O_CLOEXEC) != 0) Die("pipe2");
  parent_fds->push_back(channel[0]);
  parent_fds->push_back(lifeline[1]);
  fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (const int fd : *parent_fds) close(fd);
    _exit(RunBroker(rules, size, channel[1], lifeline[0]));
  }
  close(channel[1]);
  close(lifeline[0]);
  broker->rules = size;
  broker->pid = pid;
  broker->lifeline = lifeline[1];
  broker->client = std::make_unique<sandboxee::BrokerClient>(UniqueFd(channel[0]));
}

// Each broker grants the benchmarked file and refuses the outside path; only the large policy
// holds rule index 9998's file, which does not exist (ENOENT from the large broker, EACCES from
// the small).
void CheckBroker(const Fixture& f, const Broker& broker) {
  sandboxee::BrokerClient& client = *broker.client;
  struct stat st;
  const int opened = client.OpenRaw(AT_FDCWD, f.file, O_RDONLY, 0);
  const int probe = client.StatRaw(
      AT_FDCWD, absl::StrCat(f.dir, "/many/d", 9998 % kDirectories, "/f9998"), 0, &st);
  const int expected_probe = broker.rules > 9999 ? -ENOENT : -EACCES;
  if (client.StatRaw(AT_FDCWD, f.file, 0, &st) != 0 ||
      client.AccessRaw(AT_FDCWD, f.file, R_OK) != 0 || opened < 0 ||
      client.StatRaw(AT_FDCWD, f.outside, 0, &st) != -EACCES || probe != expected_probe) {
    fprintf(stderr, "policy_size_bench: the %d-rule broker does not answer as expected\n",
            broker.rules);
    exit(1);
  }
  close(opened);
}

enum class Pin {
  kSameCpu,    // this process and both brokers on one CPU: every round trip a context switch
  kSplitCpus,  // this process on one CPU, both brokers on another: a cross-CPU wake-up each way
  kNone,       // wherever the scheduler puts them, which may differ between the two brokers
};

// The CPUs for this process and for both brokers under `pin`; false: leave them unpinned.
bool PinCpus(Pin pin, int* self_cpu, int* broker_cpu) {
  cpu_set_t allowed;
  if (pin == Pin::kNone || sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return false;
  int cpus[2] = {-1, -1};
  for (int cpu = 0, found = 0; cpu < CPU_SETSIZE && found < 2; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) cpus[found++] = cpu;
  }
  *self_cpu = cpus[0];
  *broker_cpu = pin == Pin::kSameCpu ? cpus[0] : cpus[1];
  if (*broker_cpu < 0) {
    fprintf(stderr, "policy_size_bench: split_cpus needs two CPUs; not pinning\n");
    return false;
  }
  return true;
}

// Pins the calling thread, and whatever it forks from now on, to `cpu`.
void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) Die("sched_setaffinity");
}

void SetUp(Fixture* f, Pin pin) {
  // The large broker holds a descriptor per root directory: raise the soft limit to the hard one.
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  char pattern[] = "/tmp/policy_size_bench-XXXXXX";
  if (mkdtemp(pattern) == nullptr) Die("mkdtemp");
  char* real = realpath(pattern, nullptr);  // the broker accepts only real, normalized paths
  if (real == nullptr) Die("realpath");
  f->dir = real;
  free(real);
  std::string deep = f->dir + "/deep";
  MakeDir(deep);
  for (int level = 1; level <= 7; ++level) MakeDir(deep = absl::StrCat(deep, "/l", level));
  f->file = deep + "/file.txt";
  const int fd = open(f->file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, "sbox\n", 5) != 5 || close(fd) != 0) Die("write " + f->file);
  f->outside = f->dir + "/deep/l1/l2/outside.txt";

  // The brokers, and every thread they start, inherit the mask in force when they are forked.
  int self_cpu = -1;
  int broker_cpu = -1;
  const bool pinned = PinCpus(pin, &self_cpu, &broker_cpu);
  if (pinned) PinTo(broker_cpu);
  std::vector<int> parent_fds;
  StartBroker(PolicyOfSize(f->dir, kSmallPolicy), kSmallPolicy, &parent_fds, &f->small);
  StartBroker(PolicyOfSize(f->dir, kLargePolicy), kLargePolicy, &parent_fds, &f->large);
  StartBroker(PolicyOfSize(f->dir, kSmallPolicy), kSmallPolicy, &parent_fds, &f->control);
  if (pinned) PinTo(self_cpu);
  CheckBroker(*f, f->small);
  CheckBroker(*f, f->large);
  CheckBroker(*f, f->control);

  for (auto [size, policy] : {std::make_pair(kSmallPolicy, &f->small_policy),
                              std::make_pair(kLargePolicy, &f->large_policy)}) {
    absl::StatusOr<FilePolicy> built = PolicyOfSize(f->dir, size).Build();
    if (!built.ok()) {
      fprintf(stderr, "policy_size_bench: %s\n", built.status().ToString().c_str());
      exit(1);
    }
    *policy = std::make_unique<FilePolicy>(*std::move(built));
    const FilePolicy::Match match = (*policy)->Find(f->file);
    if (!match.allowed() || match.beneath != "l4/l5/l6/l7/file.txt") {
      fprintf(stderr, "policy_size_bench: the %d-rule policy does not match as expected\n", size);
      exit(1);
    }
  }
}

bool TearDown(Fixture* f) {
  bool clean = true;
  for (Broker* broker : {&f->small, &f->large, &f->control}) {
    broker->client.reset();
    close(broker->lifeline);
    int status;
    if (waitpid(broker->pid, &status, 0) != broker->pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      fprintf(stderr, "the %d-rule broker did not exit cleanly\n", broker->rules);
      clean = false;
    }
  }
  nftw(
      f->dir.c_str(), [](const char* p, const struct stat*, int, FTW*) { return remove(p); }, 64,
      FTW_DEPTH | FTW_PHYS);
  return clean;
}

sandboxee::BrokerClient& ClientFor(int rules) {
  return rules == kSmallPolicy ? *fixture->small.client : *fixture->large.client;
}

enum class Op { kStat, kAccess, kOpenClose };

const char* OpName(Op op) {
  switch (op) {
    case Op::kStat:
      return "BM_Stat";
    case Op::kAccess:
      return "BM_Access";
    case Op::kOpenClose:
      return "BM_OpenClose";
  }
  return "?";
}

// One brokered operation on the benchmarked file: 0, or -errno.
int DoOp(sandboxee::BrokerClient& client, Op op) {
  switch (op) {
    case Op::kStat: {
      struct stat st;
      return client.StatRaw(AT_FDCWD, fixture->file, 0, &st);
    }
    case Op::kAccess:
      return client.AccessRaw(AT_FDCWD, fixture->file, R_OK);
    case Op::kOpenClose: {
      const int fd = client.OpenRaw(AT_FDCWD, fixture->file, O_RDONLY, 0);
      if (fd < 0) return fd;
      close(fd);
      return 0;
    }
  }
  return -EINVAL;
}

// `op` against one policy's broker.
void BM_Op(benchmark::State& state, Op op, int rules) {
  sandboxee::BrokerClient& client = ClientFor(rules);
  for (auto _ : state) {
    if (const int result = DoOp(client, op); result != 0) {
      state.SkipWithError(strerror(-result));
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

double NowSeconds() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec + now.tv_nsec * 1e-9;
}

double Median(std::vector<double>* values) {
  if (values->empty()) return 0;
  const size_t middle = values->size() / 2;
  std::nth_element(values->begin(), values->begin() + middle, values->end());
  return (*values)[middle];
}

// `op` against both brokers in turn, each iteration one request to each, the order alternating:
// both policies see the same spells of load from the rest of the machine, which on a shared
// machine swamp separate runs. Counters: each policy's median latency in this repetition and
// their ratio, large / small. With `control`, a second 10-rule broker stands in for the large
// one: that ratio shows how far from 1.0 the method itself strays.
void BM_Paired(benchmark::State& state, Op op, bool control) {
  sandboxee::BrokerClient& small = *fixture->small.client;
  sandboxee::BrokerClient& large = control ? *fixture->control.client : *fixture->large.client;
  std::vector<double> small_seconds;
  std::vector<double> large_seconds;
  small_seconds.reserve(1 << 16);
  large_seconds.reserve(1 << 16);
  bool large_first = false;
  for (auto _ : state) {
    for (const bool is_large : {large_first, !large_first}) {
      const double start = NowSeconds();
      const int result = DoOp(is_large ? large : small, op);
      (is_large ? large_seconds : small_seconds).push_back(NowSeconds() - start);
      if (result != 0) state.SkipWithError(strerror(-result));
    }
    large_first = !large_first;
  }
  const double small_median = Median(&small_seconds);
  const double large_median = Median(&large_seconds);
  state.counters["small_us"] = small_median * 1e6;
  state.counters["large_us"] = large_median * 1e6;
  state.counters["ratio"] = small_median > 0 ? large_median / small_median : 0;
  state.SetItemsProcessed(2 * state.iterations());
}

// FilePolicy::Find for the benchmarked path, in this process, with hot caches.
void BM_FindHot(benchmark::State& state, int rules) {
  const FilePolicy& policy =
      rules == kSmallPolicy ? *fixture->small_policy : *fixture->large_policy;
  const std::string& path = fixture->file;
  for (auto _ : state) {
    FilePolicy::Match match = policy.Find(path);
    benchmark::DoNotOptimize(match);
  }
}

// The same, timed alone after 2 MiB are written before each lookup, evicting the policy from the
// L1 and L2 caches as the client, the other brokers and the kernel do between two requests of a
// broker pinned beside them. A fixed number of iterations: manual time counts only the lookups,
// so a minimum time would take millions of evictions.
constexpr int kColdFindIterations = 2000;

void BM_FindCold(benchmark::State& state, int rules) {
  const FilePolicy& policy =
      rules == kSmallPolicy ? *fixture->small_policy : *fixture->large_policy;
  const std::string& path = fixture->file;
  std::vector<char> evict(2 << 20);
  char round = 0;
  for (auto _ : state) {
    ++round;
    for (size_t i = 0; i < evict.size(); i += 64) evict[i] = round;
    benchmark::ClobberMemory();
    const double start = NowSeconds();
    FilePolicy::Match match = policy.Find(path);
    benchmark::DoNotOptimize(match);
    state.SetIterationTime(NowSeconds() - start);
  }
}

std::string Name(Op op, int rules) { return absl::StrCat(OpName(op), "/rules:", rules); }

// As registered; the reporter knows runs by it too.
std::string FindName(int rules, bool cold) {
  return absl::StrCat("BM_Find/rules:", rules, cold ? "/cold" : "/hot");
}

std::string PairedName(Op op, bool control) {
  return absl::StrCat(OpName(op), control ? "/paired_control" : "/paired");
}

// The console table, plus what the summary needs: for each benchmark its median, mean and
// standard deviation of real time per operation over the repetitions, and its counters' median,
// mean and standard deviation.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  struct Stats {
    double median = 0;
    double mean = 0;
    double stddev = 0;
    std::map<std::string, double> counter_median;
    std::map<std::string, double> counter_mean;
    std::map<std::string, double> counter_stddev;
  };

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred || run.iterations == 0 || run.run_type != Run::RT_Aggregate) {
        continue;
      }
      const double per_op = run.real_accumulated_time / static_cast<double>(run.iterations);
      // By the name the benchmark was registered under, without /real_time and the like.
      Stats& stats = stats_[run.run_name.function_name];
      double* time = nullptr;
      std::map<std::string, double>* counters = nullptr;
      if (run.aggregate_name == "median") {
        time = &stats.median;
        counters = &stats.counter_median;
      } else if (run.aggregate_name == "mean") {
        time = &stats.mean;
        counters = &stats.counter_mean;
      } else if (run.aggregate_name == "stddev") {
        time = &stats.stddev;
        counters = &stats.counter_stddev;
      } else {
        continue;
      }
      *time = per_op;
      for (const auto& [name, counter] : run.counters) (*counters)[name] = counter.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // nullptr when `name` did not run with repetitions (the summary needs the aggregates).
  const Stats* Find(const std::string& name) const {
    const auto found = stats_.find(name);
    return found != stats_.end() && found->second.median > 0 ? &found->second : nullptr;
  }

 private:
  std::map<std::string, Stats> stats_;
};

double Cv(const RatioReporter::Stats& stats) {
  return stats.mean > 0 ? stats.stddev / stats.mean : 0;
}

struct PairedRatio {
  double ratio = 0;
  double stddev = 0;  // over the repetitions
  double large_us = 0;
  double small_us = 0;
};

std::optional<PairedRatio> FindPaired(const RatioReporter& reporter, const std::string& name) {
  const RatioReporter::Stats* paired = reporter.Find(name);
  if (paired == nullptr || paired->counter_median.count("ratio") == 0) return std::nullopt;
  PairedRatio result;
  result.ratio = paired->counter_median.at("ratio");
  result.stddev = paired->counter_stddev.count("ratio") ? paired->counter_stddev.at("ratio") : 0;
  result.large_us = paired->counter_median.at("large_us");
  result.small_us = paired->counter_median.at("small_us");
  return result;
}

// Prints, for `op`: the ratio large / small of the separate runs' medians, with their spread;
// and the paired ratio, which decides. Its noise: twice its standard deviation over the
// repetitions, or what the A/A control shows the method strays by between two identical
// brokers (the control's distance from 1.0 plus twice its standard deviation), the larger.
void PrintRatio(const RatioReporter& reporter, const char* label, Op op,
                const std::optional<PairedRatio>& control) {
  const RatioReporter::Stats* small = reporter.Find(Name(op, kSmallPolicy));
  const RatioReporter::Stats* large = reporter.Find(Name(op, kLargePolicy));
  printf("  %s\n", label);
  if (small != nullptr && large != nullptr) {
    printf("    %-15s %7.3f us / %7.3f us = %.3f  (spread of repetitions: cv %.1f%% / %.1f%%)\n",
           "separate runs:", large->median * 1e6, small->median * 1e6,
           large->median / small->median, Cv(*large) * 100, Cv(*small) * 100);
  } else {
    printf("    %-15s n/a (not run with repetitions)\n", "separate runs:");
  }
  const std::optional<PairedRatio> paired = FindPaired(reporter, PairedName(op, false));
  if (!paired) {
    printf("    %-15s n/a (not run with repetitions)\n", "paired:");
    return;
  }
  double noise = 2 * paired->stddev;
  if (control) noise = std::max(noise, std::fabs(control->ratio - 1) + 2 * control->stddev);
  const double off = paired->ratio - 1;
  std::string verdict;
  if (std::fabs(off) <= noise) {
    verdict = "1.0 within noise";
  } else if (std::fabs(off) <= 0.02) {
    verdict = absl::StrFormat("%s by %.1f%% (%.2f us): beyond the noise, within 2%%",
                              off > 0 ? "slower" : "faster", std::fabs(off) * 100,
                              std::fabs(paired->large_us - paired->small_us));
  } else {
    verdict = off > 0 ? "SLOWER by more than 2%" : "faster by more than 2%";
  }
  printf("    %-15s %7.3f us / %7.3f us = %.3f  (stddev %.3f, noise +-%.3f): %s\n",
         "paired:", paired->large_us, paired->small_us, paired->ratio, paired->stddev, noise,
         verdict.c_str());
}

void PrintFind(const RatioReporter& reporter, bool cold) {
  const RatioReporter::Stats* small = reporter.Find(FindName(kSmallPolicy, cold));
  const RatioReporter::Stats* large = reporter.Find(FindName(kLargePolicy, cold));
  if (small == nullptr || large == nullptr) {
    printf("    %-15s n/a (not run with repetitions)\n", cold ? "cold caches:" : "hot caches:");
    return;
  }
  printf("    %-15s %7.1f ns / %7.1f ns = %.3f  (%+.1f ns)\n",
         cold ? "cold caches:" : "hot caches:", large->median * 1e9, small->median * 1e9,
         large->median / small->median, (large->median - small->median) * 1e9);
}

void PrintSummary(const RatioReporter& reporter) {
  printf("\nRatios %d rules / %d rules, real time per operation (target 1.0):\n", kLargePolicy,
         kSmallPolicy);
  printf(
      "  separate runs: medians over repetitions of each benchmark's mean time;\n"
      "  paired: median over repetitions of each repetition's ratio of median latencies;\n"
      "  A/A control: paired stat with a second 10-rule broker for the 10,000-rule one\n");
  const std::optional<PairedRatio> control =
      FindPaired(reporter, PairedName(Op::kStat, /*control=*/true));
  if (control) {
    printf("  A/A control:    %7.3f us / %7.3f us = %.3f  (stddev %.3f)\n", control->large_us,
           control->small_us, control->ratio, control->stddev);
  } else {
    printf("  A/A control:    n/a (not run with repetitions)\n");
  }
  PrintRatio(reporter, "stat:", Op::kStat, control);
  PrintRatio(reporter, "access:", Op::kAccess, control);
  PrintRatio(reporter, "open+close:", Op::kOpenClose, control);
  printf("  FilePolicy::Find of the benchmarked path, in-process (median per lookup):\n");
  PrintFind(reporter, /*cold=*/false);
  PrintFind(reporter, /*cold=*/true);
  double load[3];
  if (getloadavg(load, 3) == 3) {
    printf(
        "Load average at the end: %.2f %.2f %.2f on %ld CPUs (the figures assume an idle "
        "machine).\n",
        load[0], load[1], load[2], sysconf(_SC_NPROCESSORS_ONLN));
  }
}

void RegisterBenchmarks() {
  for (const Op op : {Op::kStat, Op::kAccess, Op::kOpenClose}) {
    for (const int rules : {kSmallPolicy, kLargePolicy}) {
      benchmark::RegisterBenchmark(Name(op, rules).c_str(), BM_Op, op, rules)->UseRealTime();
    }
    benchmark::RegisterBenchmark(PairedName(op, false).c_str(), BM_Paired, op, /*control=*/false)
        ->UseRealTime();
    if (op == Op::kStat) {
      benchmark::RegisterBenchmark(PairedName(op, true).c_str(), BM_Paired, op, /*control=*/true)
          ->UseRealTime();
    }
  }
  for (const int rules : {kSmallPolicy, kLargePolicy}) {
    for (const bool cold : {false, true}) {
      if (cold) {
        benchmark::RegisterBenchmark(FindName(rules, cold).c_str(), BM_FindCold, rules)
            ->UseManualTime()
            ->Iterations(kColdFindIterations);
      } else {
        benchmark::RegisterBenchmark(FindName(rules, cold).c_str(), BM_FindHot, rules)
            ->UseRealTime();
      }
    }
  }
}

}  // namespace
}  // namespace sbox::bench

int main(int argc, char** argv) {
  using sbox::bench::fixture;
  // Defaults for a shared, noisy 2-CPU machine, about 35 s in all: repetitions in random order,
  // so that a slow spell spreads over both policies instead of skewing one ratio, and medians.
  // Flags given on the command line come later and win.
  sbox::bench::Pin pin = sbox::bench::Pin::kSameCpu;
  std::vector<char*> args = {argv[0]};
  char repetitions[] = "--benchmark_repetitions=10";
  char interleave[] = "--benchmark_enable_random_interleaving=true";
  char min_time[] = "--benchmark_min_time=0.2";
  char aggregates[] = "--benchmark_display_aggregates_only=true";
  for (char* flag : {repetitions, interleave, min_time, aggregates}) args.push_back(flag);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--pin=same_cpu") {
      pin = sbox::bench::Pin::kSameCpu;
    } else if (arg == "--pin=split_cpus") {
      pin = sbox::bench::Pin::kSplitCpus;
    } else if (arg == "--pin=none") {
      pin = sbox::bench::Pin::kNone;
    } else {
      args.push_back(argv[i]);
    }
  }
  int args_count = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 1;

  sbox::bench::Fixture shared;
  sbox::bench::SetUp(&shared, pin);
  fixture = &shared;
  sbox::bench::RegisterBenchmarks();

  sbox::bench::RatioReporter reporter(isatty(STDOUT_FILENO)
                                          ? benchmark::ConsoleReporter::OO_ColorTabular
                                          : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  sbox::bench::PrintSummary(reporter);

  fixture = nullptr;
  return sbox::bench::TearDown(&shared) ? 0 : 1;
}
