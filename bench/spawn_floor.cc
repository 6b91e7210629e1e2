// The floor of any launcher: posix_spawn the command, wait, pass on its status. Linked
// statically, so that its own start-up is as small as a launcher's can be.
//
//   spawn_floor PROGRAM [ARGS...]

#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>

extern char** environ;

int main(int argc, char** argv) {
  if (argc < 2) {
    fputs("usage: spawn_floor PROGRAM [ARGS...]\n", stderr);
    return 125;
  }
  pid_t pid;
  if (posix_spawnp(&pid, argv[1], nullptr, nullptr, argv + 1, environ) != 0) return 127;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return 125;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
