// The program concurrent_opens_bench.sh runs under `sbox run`: THREADS threads each open and
// close PATH COUNT times, all started together; prints the opens per second of the whole run.
//
//   open_threads THREADS COUNT PATH

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

double Seconds() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: open_threads THREADS COUNT PATH\n");
    return 2;
  }
  const int threads = atoi(argv[1]);
  const long count = atol(argv[2]);
  const char* path = argv[3];
  std::atomic<int> waiting{threads};
  std::atomic<bool> failed{false};
  std::vector<std::thread> workers;
  double start = 0;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      if (--waiting == 0) start = Seconds();
      while (waiting.load() > 0) {
      }
      for (long i = 0; i < count; ++i) {
        const int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) failed = true;
        if (fd >= 0) close(fd);
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  const double elapsed = Seconds() - start;
  if (failed) {
    fprintf(stderr, "open_threads: an open of %s failed\n", path);
    return 1;
  }
  printf("%.0f\n", static_cast<double>(threads * count) / elapsed);
  return 0;
}
