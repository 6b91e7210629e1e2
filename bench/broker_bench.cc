// What brokering costs an open(2), against its two floors, measured in one run so that the
// ratios printed at the end compare like with like:
//   BM_DirectOpenat        openat + close of a small file, in this process
//   BM_SeqpacketRoundTrip  a request-sized message to a forked echo child and a reply-header-sized
//                          message back, on SOCK_SEQPACKET: the IPC floor
//   BM_BrokeredOpen        BrokerClient::OpenRaw + close, served by a BrokerServer in a forked
//                          child; with 1 and 2 client threads sharing one client
//   BM_NullSyscall         getppid(2): the unit the brokered open's overhead is counted in, since
//                          in a VM a kernel entry can cost as much as the work it does
// The round trip and the 1-thread brokered open also run with this thread and its peer process
// pinned to one CPU (same_cpu) and to two different CPUs (split_cpus): a ping-pong between
// processes costs a cross-CPU wake-up when unpinned, a context switch when sharing a CPU.
//
//   ./bazelw run -c opt //bench:broker_bench [-- --benchmark_repetitions=N ...]

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "broker/broker_server.h"
#include "broker/file_policy.h"
#include "proto/unique_fd.h"
#include "proto/wire_format.h"
#include "sandboxee/broker_client.h"

namespace sbox::bench {
namespace {

[[noreturn]] void Die(const char* what) {
  perror(what);
  exit(1);
}

// Forks a child that runs `body` and _exits with its result, skipping the parent's atexit work.
// The child first closes `parent_fds`, the parent's ends of every channel, so that its copies
// never hold a channel open past the parent's close.
template <typename Body>
pid_t ForkChild(std::initializer_list<int> parent_fds, Body body) {
  const pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    // No orphan keeps running if the benchmark dies before hanging up.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (const int fd : parent_fds) close(fd);
    _exit(body());
  }
  return pid;
}

// Replies to every message with a reply header's worth of zeros, until the peer hangs up.
int RunEcho(int channel) {
  uint8_t request[proto::kMaxRequestSize];
  const uint8_t reply[proto::kReplyHeaderSize] = {};
  for (;;) {
    const ssize_t received = recv(channel, request, sizeof(request), 0);
    if (received == 0) return 0;
    if (received < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (send(channel, reply, sizeof(reply), MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof(reply))) {
      return 1;
    }
  }
}

// Serves `channel` with a policy granting `file`, until the parent closes `lifeline`: the server
// has no call that waits for its channels to end, and the parent has closed every channel by then.
int RunBroker(const std::string& file, int channel, int lifeline) {
  absl::StatusOr<FilePolicy> policy = FilePolicy::Builder().AllowReadFile(file).Build();
  if (!policy.ok()) {
    fprintf(stderr, "broker: %s\n", policy.status().ToString().c_str());
    return 1;
  }
  BrokerServer server(*policy, BrokerServer::Options());
  const absl::Status served = server.Serve(UniqueFd(channel));
  if (!served.ok()) {
    fprintf(stderr, "broker: %s\n", served.ToString().c_str());
    return 1;
  }
  char byte;
  while (read(lifeline, &byte, 1) < 0 && errno == EINTR) {
  }
  server.Stop();
  return 0;
}

// Everything the benchmarks share. Built in main before any benchmark thread starts, so the
// threads see it complete; only BrokerClient, which is thread-safe, is used by several at once.
struct Fixture {
  std::string dir;
  std::string file;  // absolute, normalized: the broker accepts no other path

  int echo_channel = -1;
  pid_t echo_pid = -1;

  std::unique_ptr<sandboxee::BrokerClient> client;
  int broker_lifeline = -1;
  pid_t broker_pid = -1;

  cpu_set_t startup_cpus;  // restored after every pinned run
  int first_cpu = -1;
  int second_cpu = -1;  // -1 on a one-CPU machine: split_cpus is then skipped
};

Fixture* fixture = nullptr;

void SetUp(Fixture* f) {
  char pattern[] = "/tmp/broker_bench-XXXXXX";
  if (mkdtemp(pattern) == nullptr) Die("mkdtemp");
  // Resolves a symlinked /tmp, so the grant names the real directory.
  char* real = realpath(pattern, nullptr);
  if (real == nullptr) Die("realpath");
  f->dir = real;
  free(real);
  f->file = f->dir + "/small.txt";
  const int fd = open(f->file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, "sbox\n", 5) != 5 || close(fd) != 0) Die("write small.txt");

  if (sched_getaffinity(0, sizeof(f->startup_cpus), &f->startup_cpus) != 0) {
    Die("sched_getaffinity");
  }
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &f->startup_cpus)) continue;
    if (f->first_cpu < 0) {
      f->first_cpu = cpu;
    } else {
      f->second_cpu = cpu;
      break;
    }
  }

  int echo_pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, echo_pair) != 0) Die("socketpair");
  f->echo_channel = echo_pair[0];
  f->echo_pid = ForkChild({echo_pair[0]}, [&] { return RunEcho(echo_pair[1]); });
  close(echo_pair[1]);

  int broker_pair[2];
  int lifeline[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, broker_pair) != 0) Die("socketpair");
  if (pipe2(lifeline, O_CLOEXEC) != 0) Die("pipe2");
  f->broker_pid = ForkChild({echo_pair[0], broker_pair[0], lifeline[1]},
                            [&] { return RunBroker(f->file, broker_pair[1], lifeline[0]); });
  close(broker_pair[1]);
  close(lifeline[0]);
  f->client = std::make_unique<sandboxee::BrokerClient>(UniqueFd(broker_pair[0]));
  f->broker_lifeline = lifeline[1];
}

// Hangs up on both children and reaps them. Returns false if either did not exit cleanly.
bool TearDown(Fixture* f) {
  f->client.reset();  // closes every broker channel: the serving threads end
  close(f->broker_lifeline);
  close(f->echo_channel);
  bool clean = true;
  for (const pid_t pid : {f->echo_pid, f->broker_pid}) {
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "child %d did not exit cleanly\n", static_cast<int>(pid));
      clean = false;
    }
  }
  unlink(f->file.c_str());
  rmdir(f->dir.c_str());
  return clean;
}

// How busy other processes kept the machine, from /proc: the benchmarks assume they have the CPUs
// to themselves, and on a shared machine the ratios drift with the other load.
class OtherLoad {
 public:
  explicit OtherLoad(std::vector<pid_t> ours) : ours_(std::move(ours)), start_(Take()) {}

  // The average number of CPUs that processes other than ours kept busy since construction, or
  // -1 when /proc could not be read.
  double Cpus() const {
    const Snapshot end = Take();
    if (start_.machine < 0 || end.machine < 0 || end.ours < 0) return -1;
    // The machine-wide figure is sampled at each tick, ours is exact: clamp the difference.
    const double others = (end.machine - start_.machine) - (end.ours - start_.ours);
    return std::max(0.0, others) / (end.wall - start_.wall);
  }

 private:
  struct Snapshot {
    double wall;
    double machine;  // CPU seconds every CPU spent busy
    double ours;     // CPU seconds this process and `ours_` used
  };

  Snapshot Take() const {
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    Snapshot snapshot = {now.tv_sec + now.tv_nsec * 1e-9, MachineBusySeconds(),
                         ProcessCpuSeconds("self")};
    for (const pid_t pid : ours_) {
      const double used = ProcessCpuSeconds(std::to_string(pid));
      snapshot.ours = used < 0 || snapshot.ours < 0 ? -1 : snapshot.ours + used;
    }
    return snapshot;
  }

  static double MachineBusySeconds() {
    FILE* stat = fopen("/proc/stat", "re");
    if (stat == nullptr) return -1;
    unsigned long long user, nice, system, idle, iowait, irq, softirq;
    const int fields = fscanf(stat, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system,
                              &idle, &iowait, &irq, &softirq);
    fclose(stat);
    if (fields != 7) return -1;
    return static_cast<double>(user + nice + system + irq + softirq) / sysconf(_SC_CLK_TCK);
  }

  // utime + stime, fields 14 and 15 of /proc/<pid>/stat; the name in field 2 may hold spaces.
  static double ProcessCpuSeconds(const std::string& pid) {
    FILE* stat = fopen(("/proc/" + pid + "/stat").c_str(), "re");
    if (stat == nullptr) return -1;
    char line[1024];
    const bool got_line = fgets(line, sizeof(line), stat) != nullptr;
    fclose(stat);
    const char* fields = got_line ? strrchr(line, ')') : nullptr;
    unsigned long long utime, stime;
    if (fields == nullptr ||
        sscanf(fields, ") %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) !=
            2) {
      return -1;
    }
    return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
  }

  const std::vector<pid_t> ours_;
  const Snapshot start_;
};

enum class Pin {
  kNone,       // wherever the scheduler puts them
  kSameCpu,    // the benchmark thread and every thread of the peer on one CPU
  kSplitCpus,  // the benchmark thread on one CPU, every thread of the peer on another
};

// Sets the affinity of every thread of `pid`: the broker serves each channel on its own thread.
bool SetProcessAffinity(pid_t pid, const cpu_set_t& cpus) {
  const std::string tasks_path = "/proc/" + std::to_string(pid) + "/task";
  DIR* tasks = opendir(tasks_path.c_str());
  if (tasks == nullptr) return false;
  bool ok = true;
  while (const dirent* entry = readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    ok = sched_setaffinity(atoi(entry->d_name), sizeof(cpus), &cpus) == 0 && ok;
  }
  closedir(tasks);
  return ok;
}

cpu_set_t OneCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return set;
}

// Pins the calling thread and the peer process for one benchmark run; restores the startup mask
// on both when destroyed, so later runs float again.
class PinScope {
 public:
  PinScope(Pin pin, pid_t peer) : pin_(pin), peer_(peer) {
    if (pin_ == Pin::kNone) return;
    const int peer_cpu = pin_ == Pin::kSameCpu ? fixture->first_cpu : fixture->second_cpu;
    if (peer_cpu < 0) {
      error_ = "split_cpus needs two CPUs";
      return;
    }
    const cpu_set_t self = OneCpu(fixture->first_cpu);
    if (sched_setaffinity(0, sizeof(self), &self) != 0 ||
        !SetProcessAffinity(peer_, OneCpu(peer_cpu))) {
      error_ = "sched_setaffinity failed";
    }
  }
  ~PinScope() {
    if (pin_ == Pin::kNone) return;
    sched_setaffinity(0, sizeof(fixture->startup_cpus), &fixture->startup_cpus);
    SetProcessAffinity(peer_, fixture->startup_cpus);
  }
  PinScope(const PinScope&) = delete;
  PinScope& operator=(const PinScope&) = delete;

  // nullptr when pinned as asked.
  const char* error() const { return error_; }

 private:
  const Pin pin_;
  const pid_t peer_;
  const char* error_ = nullptr;
};

void BM_DirectOpenat(benchmark::State& state) {
  const char* path = fixture->file.c_str();
  for (auto _ : state) {
    const int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      state.SkipWithError("openat failed");
      break;
    }
    close(fd);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_NullSyscall(benchmark::State& state) {
  for (auto _ : state) syscall(SYS_getppid);  // syscall(): glibc could answer getppid() itself
  state.SetItemsProcessed(state.iterations());
}

void BM_SeqpacketRoundTrip(benchmark::State& state, Pin pin) {
  const PinScope pinned(pin, fixture->echo_pid);
  if (pinned.error() != nullptr) {
    state.SkipWithError(pinned.error());
    return;
  }
  const int channel = fixture->echo_channel;
  // The sizes of an open request for the benchmark file and of its reply.
  const std::vector<uint8_t> request(proto::kRequestHeaderSize + fixture->file.size());
  uint8_t reply[proto::kMaxReplySize];
  for (auto _ : state) {
    if (send(channel, request.data(), request.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(request.size()) ||
        recv(channel, reply, sizeof(reply), 0) != static_cast<ssize_t>(proto::kReplyHeaderSize)) {
      state.SkipWithError("echo round trip failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_BrokeredOpen(benchmark::State& state, Pin pin) {
  const PinScope pinned(pin, fixture->broker_pid);
  if (pinned.error() != nullptr) {
    state.SkipWithError(pinned.error());
    return;
  }
  sandboxee::BrokerClient& client = *fixture->client;
  const std::string& path = fixture->file;
  for (auto _ : state) {
    const int fd = client.OpenRaw(AT_FDCWD, path, O_RDONLY, 0);
    if (fd < 0) {
      state.SkipWithError(strerror(-fd));
      break;
    }
    close(fd);
  }
  state.SetItemsProcessed(state.iterations());
}

// The console table, plus every run's real time per operation for the ratios printed after it.
// Per operation means over all threads' iterations, so its inverse is the throughput.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred || run.iterations == 0) continue;
      const double per_op = run.real_accumulated_time / static_cast<double>(run.iterations);
      // With --benchmark_display_aggregates_only only the aggregates reach this reporter.
      if (run.run_type == Run::RT_Iteration) {
        samples_[run.run_name.str()].push_back(per_op);
      } else if (run.aggregate_name == "median") {
        medians_[run.run_name.str()] = per_op;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // The median over repetitions of `name`'s seconds per operation; 0 when it did not run.
  double SecondsPerOp(const std::string& name) const {
    if (const auto median = medians_.find(name); median != medians_.end()) return median->second;
    const auto found = samples_.find(name);
    if (found == samples_.end()) return 0;
    std::vector<double> sorted = found->second;
    std::sort(sorted.begin(), sorted.end());
    const size_t n = sorted.size();
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

 private:
  std::map<std::string, std::vector<double>> samples_;
  std::map<std::string, double> medians_;
};

// Prints brokered / (round trip + direct) with its terms in microseconds, and the difference in
// null syscalls.
void PrintLatencyRatio(const RatioReporter& reporter, const char* label,
                       const std::string& brokered, const std::string& round_trip,
                       const std::string& direct, double target) {
  const double b = reporter.SecondsPerOp(brokered);
  const double r = reporter.SecondsPerOp(round_trip);
  const double d = reporter.SecondsPerOp(direct);
  if (b == 0 || r == 0 || d == 0) {
    printf("  %-52s n/a (not run)\n", label);
    return;
  }
  printf("  %-52s %.3f us / (%.3f + %.3f) us = %.3f  (target <= %.2f)", label, b * 1e6, r * 1e6,
         d * 1e6, b / (r + d), target);
  const double syscall = reporter.SecondsPerOp("BM_NullSyscall/real_time");
  if (syscall > 0) printf("; overhead = %.1f null syscalls", (b - r - d) / syscall);
  printf("\n");
}

void PrintSummary(const RatioReporter& reporter, double other_cpus) {
  const std::string direct = "BM_DirectOpenat/real_time";
  printf("\nRatios (median over repetitions of real time per operation):\n");
  PrintLatencyRatio(reporter, "brokered_open_1t / (roundtrip + direct_open):",
                    "BM_BrokeredOpen/real_time/threads:1", "BM_SeqpacketRoundTrip/real_time",
                    direct, 1.10);
  PrintLatencyRatio(reporter, "  same_cpu:", "BM_BrokeredOpen/same_cpu/real_time/threads:1",
                    "BM_SeqpacketRoundTrip/same_cpu/real_time", direct, 1.10);
  PrintLatencyRatio(reporter, "  split_cpus:", "BM_BrokeredOpen/split_cpus/real_time/threads:1",
                    "BM_SeqpacketRoundTrip/split_cpus/real_time", direct, 1.10);
  const double one = reporter.SecondsPerOp("BM_BrokeredOpen/real_time/threads:1");
  const double two = reporter.SecondsPerOp("BM_BrokeredOpen/real_time/threads:2");
  if (one == 0 || two == 0) {
    printf("  %-52s n/a (not run)\n", "throughput_2t / throughput_1t:");
  } else {
    printf("  %-52s %.0f/s / %.0f/s = %.3f  (target >= 1.60)\n",
           "throughput_2t / throughput_1t:", 1 / two, 1 / one, one / two);
  }
  if (other_cpus >= 0) {
    printf("Other processes kept %.2f of %ld CPUs busy during the run; the targets assume none.\n",
           other_cpus, sysconf(_SC_NPROCESSORS_ONLN));
  }
}

void RegisterBenchmarks() {
  benchmark::RegisterBenchmark("BM_NullSyscall", BM_NullSyscall)->UseRealTime();
  benchmark::RegisterBenchmark("BM_DirectOpenat", BM_DirectOpenat)->UseRealTime();
  const std::pair<const char*, Pin> placements[] = {
      {"", Pin::kNone}, {"/same_cpu", Pin::kSameCpu}, {"/split_cpus", Pin::kSplitCpus}};
  for (const auto& [suffix, pin] : placements) {
    benchmark::RegisterBenchmark((std::string("BM_SeqpacketRoundTrip") + suffix).c_str(),
                                 BM_SeqpacketRoundTrip, pin)
        ->UseRealTime();
    benchmark::internal::Benchmark* brokered = benchmark::RegisterBenchmark(
        (std::string("BM_BrokeredOpen") + suffix).c_str(), BM_BrokeredOpen, pin);
    brokered->UseRealTime()->Threads(1);
    // Pinning would put both client threads on one CPU; concurrency is measured unpinned only.
    if (pin == Pin::kNone) brokered->Threads(2);
  }
}

}  // namespace
}  // namespace sbox::bench

int main(int argc, char** argv) {
  using sbox::bench::fixture;
  // Defaults for a shared, noisy 2-CPU machine, about 25 s in all: repetitions in random order,
  // so that a slow spell spreads over every benchmark instead of skewing one ratio, and
  // medians. Flags given on the command line come later and win.
  std::vector<char*> args = {argv[0]};
  char repetitions[] = "--benchmark_repetitions=5";
  char interleave[] = "--benchmark_enable_random_interleaving=true";
  char min_time[] = "--benchmark_min_time=0.3";
  char aggregates[] = "--benchmark_display_aggregates_only=true";
  for (char* flag : {repetitions, interleave, min_time, aggregates}) args.push_back(flag);
  args.insert(args.end(), argv + 1, argv + argc);
  int args_count = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 1;

  sbox::bench::Fixture shared;
  sbox::bench::SetUp(&shared);
  fixture = &shared;
  sbox::bench::RegisterBenchmarks();

  sbox::bench::RatioReporter reporter(isatty(STDOUT_FILENO)
                                          ? benchmark::ConsoleReporter::OO_ColorTabular
                                          : benchmark::ConsoleReporter::OO_Tabular);
  const sbox::bench::OtherLoad other_load({shared.echo_pid, shared.broker_pid});
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  sbox::bench::PrintSummary(reporter, other_load.Cpus());

  fixture = nullptr;
  return sbox::bench::TearDown(&shared) ? 0 : 1;
}
