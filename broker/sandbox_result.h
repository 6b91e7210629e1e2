#ifndef SBOX_BROKER_SANDBOX_RESULT_H_
#define SBOX_BROKER_SANDBOX_RESULT_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/namespaces.h"

namespace sbox {

// A syscall the policy does not allow, as the kernel reported it through the seccomp user
// notification. The number, arch, args, ip and thread come from the kernel. `call` is decoded
// from them, except its strings (paths): those are read from the sandboxee's memory while the
// thread is blocked, so they show what the sandboxee passed, which it controls.
struct SyscallViolation {
  int syscall_number = -1;
  std::string syscall_name;  // "openat"; "syscall_<n>" when the number has no name
  uint32_t arch = 0;         // AUDIT_ARCH_* value
  uint64_t args[6] = {};
  uint64_t instruction_pointer = 0;
  pid_t thread_id = 0;  // in the broker's pid namespace

  // `openat(AT_FDCWD, "/etc/passwd", O_RDONLY)` (see broker/syscall_decoder.h); empty when
  // the violation was not decoded.
  std::string call;
  // The policy line that would allow the call, `allow socket if arg0 == AF_INET`, or a `# ...`
  // comment when the brokered design refuses it on purpose; empty when not decoded.
  std::string suggested_rule;

  // "openat (257) on x86_64: openat(AT_FDCWD, "/etc/passwd", O_RDONLY), args (0xffffff9c,
  // 0x7ffc..., 0, 0, 0, 0), ip 0x7f..., thread 1234; suggestion: # open files through ..."
  std::string ToString() const;
};

// The Landlock layer that confined the sandboxee (broker/landlock_mirror.h).
struct LandlockReport {
  int abi = 0;               // the ABI enforced; 0 when none was
  uint64_t fs_rights = 0;    // the filesystem rights handled: denied except where granted
  uint64_t scopes = 0;       // LANDLOCK_SCOPE_* enforced
  std::string not_enforced;  // abi 0: why ("this kernel offers no Landlock", "turned off")

  // "Landlock ABI 7: filesystem rights execute,write_file,...; scoped
  // abstract_unix_socket,signal", or "Landlock: not enforced (this kernel offers no Landlock)".
  std::string ToString() const;
};

struct SandboxResult {
  enum class Outcome {
    kExited,     // returned or called exit: exit_code
    kSignaled,   // killed by a signal: signal (SIGSYS: the filter killed or trapped a call: one
                 // of another architecture, a Trap rule, or a kill-process or trap default)
    kViolation,  // made a syscall the policy does not allow: violation; killed by the broker
    kTimedOut,   // ran past the launcher's timeout; killed by the broker
  };
  Outcome outcome = Outcome::kExited;
  int exit_code = 0;
  int signal = 0;
  std::optional<SyscallViolation> violation;

  // From the start of the launch to the reaping of the sandboxee.
  int64_t wall_time_us = 0;
  // The sandboxee's, and its children's, as the kernel counted them at its reaping.
  int64_t user_time_us = 0;
  int64_t system_time_us = 0;
  int64_t max_rss_kb = 0;

  LandlockReport landlock;

  // Of the namespaces asked for (Launcher::SetNamespaces): those the sandboxee got, and those
  // the kernel refused, each with its errno (EPERM: no privilege and no user namespace,
  // ENOSPC: a max_*_namespaces limit, EINVAL, ...). Both empty when none was asked for.
  struct NamespaceRefusal {
    Namespace ns;
    int error;
  };
  NamespaceSet namespaces_created;
  std::vector<NamespaceRefusal> namespaces_refused;

  bool ok() const { return outcome == Outcome::kExited && exit_code == 0; }

  // "namespaces: created user, net; refused pid (EPERM)"; "namespaces: created none" when every
  // one asked for was refused; empty when none was asked for.
  std::string NamespacesText() const;

  // "exited with code 0", "killed by signal SIGSEGV", "syscall violation: openat (257) ...",
  // "timed out".
  std::string ToString() const;
};

// "x86_64", "i386", or "arch 0x<hex>" for another AUDIT_ARCH_* value.
std::string ArchName(uint32_t arch);

// "openat" for (x86_64, 257); "syscall_<n>" when libseccomp knows no name for it.
std::string SyscallName(int number);
// The x86_64 number of syscall `name`: libseccomp's table, then the path-taking calls newer than
// it (proto/file_syscalls.h). -1 when unknown.
int SyscallNumber(const std::string& name);

}  // namespace sbox

#endif  // SBOX_BROKER_SANDBOX_RESULT_H_
