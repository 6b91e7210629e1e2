// A program for process_tree_test: starts two grandchildren that outlive their parents, all
// named MARKER (comm), then ends as MODE says. Statically linked: no loader files to grant.
//
//   tree_probe MARKER exit                 print "started", exit 0
//   tree_probe MARKER sleep                print "started", sleep until killed
//   tree_probe MARKER violate              print "started", make a syscall no policy allows
//   tree_probe MARKER grandchild-violates  print "started"; a grandchild makes that syscall

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

void SleepForever() {
  for (;;) sleep(1000);
}

// Forks a child that forks a grandchild and exits; the grandchild writes a byte to `ready`,
// then runs `then`.
void StartGrandchild(const char* marker, int ready, bool violate) {
  const pid_t child = fork();
  if (child < 0) _exit(2);
  if (child == 0) {
    const pid_t grandchild = fork();
    if (grandchild < 0) _exit(2);
    if (grandchild == 0) {
      prctl(PR_SET_NAME, marker);
      (void)!write(ready, "x", 1);
      if (violate) syscall(SYS_ptrace, 0, 0, 0, 0);
      SleepForever();
    }
    _exit(0);
  }
  waitpid(child, nullptr, 0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const char* marker = argv[1];
  const char* mode = argv[2];
  prctl(PR_SET_NAME, marker);
  int ready[2];
  if (pipe(ready) != 0) return 2;
  StartGrandchild(marker, ready[1], false);
  StartGrandchild(marker, ready[1], false);
  char bytes[2];
  if (read(ready[0], bytes, 1) != 1 || read(ready[0], bytes + 1, 1) != 1) return 2;
  if (strcmp(mode, "grandchild-violates") == 0) {
    StartGrandchild(marker, ready[1], true);
    if (read(ready[0], bytes, 1) != 1) return 2;
  }
  printf("started\n");
  fflush(stdout);
  if (strcmp(mode, "exit") == 0) return 0;
  if (strcmp(mode, "violate") == 0) syscall(SYS_ptrace, 0, 0, 0, 0);
  SleepForever();
}
