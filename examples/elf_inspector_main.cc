// Inspects an ELF file from inside the sandbox: the parser, which treats the file as hostile,
// runs in a seccomp-confined child that can read that one file, and only through a descriptor
// the broker hands it.
//
//   elf_inspector [FILE]    (default: /bin/true)
//
// Prints the parser's report, every decision the broker made, and how the sandboxee ended.
// Exits 0 only when the sandboxee parsed the file and exited cleanly.

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "broker/decision_recorder.h"
#include "broker/file_policy.h"
#include "broker/syscall_policy.h"
#include "examples/elf_parser.h"
#include "launcher/launcher.h"
#include "proto/errno_name.h"
#include "proto/unique_fd.h"
#include "sandboxee/broker_client.h"

namespace sbox::examples {
namespace {

constexpr char kDefaultInput[] = "/bin/true";

// The sandboxee: runs in the confined child, so everything it learns about the file system
// comes through `channel`.
int InspectInSandbox(UniqueFd channel, const std::string& path) {
  sandboxee::BrokerClient client(std::move(channel));
  absl::StatusOr<UniqueFd> fd = client.Open(path, O_RDONLY);
  if (!fd.ok()) {
    fprintf(stderr, "elf_inspector: %s\n", fd.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<ElfReport> report = ParseElf(fd->get());
  if (!report.ok()) {
    fprintf(stderr, "elf_inspector: %s: %s\n", path.c_str(), report.status().ToString().c_str());
    return 1;
  }
  fputs(FormatElfReport(path, *report).c_str(), stdout);

  // The policy grants the input file alone, so the loader the file asks for is out of reach:
  // the broker denies the stat, and the decision log shows it.
  if (report->interpreter.has_value()) {
    const std::string shown = absl::CHexEscape(*report->interpreter);
    absl::StatusOr<struct stat> interpreter = client.Stat(*report->interpreter);
    if (interpreter.ok()) {
      printf("interpreter %s: reachable from the sandbox\n", shown.c_str());
    } else {
      printf("interpreter %s: not reachable from the sandbox (%s)\n", shown.c_str(),
             ErrnoName(sandboxee::ErrnoOf(interpreter.status())));
    }
  }
  // The launcher ends the child with _exit, which does not flush stdio.
  fflush(stdout);
  return 0;
}

int Main(int argc, char** argv) {
  if (argc > 2) {
    fprintf(stderr, "usage: %s [ELF file]  (default: %s)\n", argv[0], kDefaultInput);
    return 2;
  }
  const char* input = argc == 2 ? argv[1] : kDefaultInput;

  // Grants name absolute, normalized paths, and the broker will not follow a symlink to a
  // granted file, so grant the file itself: /bin/true is /usr/bin/true on merged-/usr systems.
  char* resolved = realpath(input, nullptr);
  if (resolved == nullptr) {
    const int error = errno;
    fprintf(stderr, "elf_inspector: %s: %s (%s)\n", input, ErrnoName(error), strerror(error));
    return 1;
  }
  const std::string path = resolved;
  free(resolved);
  // Only a regular file can be an ELF file; saying so here is clearer than the parser's "bad
  // magic" for /dev/zero or ESPIPE for a FIFO.
  struct stat info;
  if (stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    fprintf(stderr, "elf_inspector: %s: not a regular file\n", path.c_str());
    return 1;
  }

  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().AllowReadFile(path).Build();
  if (!files.ok()) {
    fprintf(stderr, "elf_inspector: file policy: %s\n", files.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<SyscallPolicy> syscalls = SyscallPolicy::BrokeredParser().Build();
  if (!syscalls.ok()) {
    fprintf(stderr, "elf_inspector: syscall policy: %s\n", syscalls.status().ToString().c_str());
    return 1;
  }

  DecisionRecorder decisions;
  Launcher launcher(*std::move(files), *std::move(syscalls));
  // The parser's work is bounded by its limits; the timeout is a backstop.
  launcher.SetDecisionLog(decisions.AsLog()).SetTimeout(absl::Seconds(10));

  // The child inherits stdio buffers: flush so that nothing is printed twice.
  fflush(stdout);
  absl::StatusOr<SandboxResult> result = launcher.Run(
      [&path](UniqueFd channel) { return InspectInSandbox(std::move(channel), path); });
  if (!result.ok()) {
    fprintf(stderr, "elf_inspector: no sandbox ran: %s\n", result.status().ToString().c_str());
    return 1;
  }

  printf("broker decisions:\n");
  for (const std::string& line : decisions.Lines()) printf("  %s\n", line.c_str());
  printf("sandbox: %s\n", result->ToString().c_str());
  return result->ok() ? 0 : 1;
}

}  // namespace
}  // namespace sbox::examples

int main(int argc, char** argv) { return sbox::examples::Main(argc, argv); }
