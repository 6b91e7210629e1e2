// A program that tries to reach outside the sandbox (tests/escape_attempts.h), for
// tests/outside_reach_test.cc under Launcher::RunProgram and `sbox run`; built dynamic
// (escape_probe) and static (escape_probe_static). It prints what the attempt returned, "ok"
// or the errno's name, and exits 0 for ok, 1 otherwise, 2 for a usage error.
//
//   escape_probe signal METHOD PID   SignalOwner on descriptor 3 (the broker channel)
//   escape_probe pid WAY PID         NamePid
//   escape_probe hold WAY FILE       opens FILE for reading (through the broker), then HoldFile
//   escape_probe send PATH           SendElsewhere on descriptor 3
//   escape_probe caps                prints CapabilitiesHeld()
//   escape_probe crash               Crash
//   escape_probe forge               prints a line like sbox's violation report on stderr and
//                                    exits 159, as sbox does for a real one
//   escape_probe exit-race FILE N    ExitRace with N threads

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>

#include "tests/escape_attempts.h"

namespace {

int Print(int error) {
  printf("%s\n", error == 0 ? "ok" : strerrorname_np(error));
  return error == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sbox::testing;
  constexpr int kChannel = 3;
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "signal" && argc == 4) return Print(SignalOwner(kChannel, atoi(argv[3]), argv[2]));
  if (mode == "pid" && argc == 4) return Print(NamePid(atoi(argv[3]), argv[2]));
  if (mode == "hold" && argc == 4) {
    const int fd = open(argv[3], O_RDONLY);
    if (fd < 0) return Print(errno);
    return Print(HoldFile(fd, argv[2]));
  }
  if (mode == "send" && argc == 3) return Print(SendElsewhere(kChannel, argv[2]));
  if (mode == "caps" && argc == 2) {
    printf("%d\n", CapabilitiesHeld());
    return 0;
  }
  if (mode == "crash" && argc == 2) Crash();
  if (mode == "forge" && argc == 2) return ForgeViolationReport();
  if (mode == "exit-race" && argc == 4) ExitRace(argv[2], atoi(argv[3]));
  fprintf(stderr, "usage: escape_probe signal|pid|hold|send|caps|crash|forge|exit-race ...\n");
  return 2;
}
