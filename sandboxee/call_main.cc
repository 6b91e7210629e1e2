// main() of a sandboxee binary: a program that only serves entry points, linked with this
// library and its entry points (SBOX_ENTRY_POINT), started by the host's Sandbox
// (SandboxOptions::SetSandboxeeBinary) through Launcher::RunEntryPoint, which names the entry
// point and the number of calls in the environment.

#include <stdio.h>
#include <stdlib.h>

#include "absl/strings/numbers.h"
#include "sandboxee/call_loop.h"

int main() {
  const char* name = getenv("SBOX_ENTRY_POINT");
  const char* calls_text = getenv("SBOX_CALLS");
  int calls = 0;
  if (name == nullptr || calls_text == nullptr || !absl::SimpleAtoi(calls_text, &calls) ||
      calls < 1 || getenv("SBOX_BROKER_FD") == nullptr) {
    fprintf(stderr,
            "this program serves sbox entry points: a host starts it (SandboxOptions::"
            "SetSandboxeeBinary), with SBOX_ENTRY_POINT, SBOX_CALLS and SBOX_BROKER_FD set\n");
    return 2;
  }
  sbox::sandboxee::ServeCalls(name, calls);
}
