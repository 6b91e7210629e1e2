// A statically linked program for tests/exec_test.cc's race: it calls execve(LINK) TRIES times
// while something else swaps what LINK names. Each failed execve is counted by its errno; it
// then prints "enoexec=N enoent=N eacces=N other=N" and exits 77. Should an execve succeed,
// the program it started ends the process instead, with that program's own status.
//
//   exec_race_probe LINK TRIES

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const long tries = strtol(argv[2], nullptr, 10);
  long enoexec = 0, enoent = 0, eacces = 0, other = 0;
  char* const child_argv[] = {argv[1], nullptr};
  char* const child_env[] = {nullptr};
  for (long i = 0; i < tries; ++i) {
    execve(argv[1], child_argv, child_env);
    switch (errno) {
      case ENOEXEC:
        ++enoexec;
        break;
      case ENOENT:
        ++enoent;
        break;
      case EACCES:
        ++eacces;
        break;
      default:
        ++other;
        break;
    }
  }
  printf("enoexec=%ld enoent=%ld eacces=%ld other=%ld\n", enoexec, enoent, eacces, other);
  return 77;
}
