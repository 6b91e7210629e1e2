#ifndef SBOX_SANDBOXEE_NAMESPACES_H_
#define SBOX_SANDBOXEE_NAMESPACES_H_

// The sandboxee's namespaces and, with a pid namespace, its init. Everything here runs in the
// child between fork (or clone) and the sandboxee's code, so it is async-signal-safe: raw
// syscalls on the caller's stack and the plan, no allocation, no locks, no absl, errno never
// written (the exec path's child shares the launcher's memory and TLS).

#include <cstdint>

#include "proto/namespaces.h"

namespace sbox::sandboxee {

struct NamespacePlan {
  NamespaceSet requested;
  bool required = false;  // a refused namespace fails the set-up instead of being reported
};

// What CreateNamespaces did: `created` holds the namespaces made; for each requested one that
// was not, refused_errno[Namespace] is the errno the kernel gave (EPERM: no privilege, EINVAL,
// ENOSPC: max_*_namespaces reached, EUSERS on old kernels, ...). 0 elsewhere.
struct NamespaceOutcome {
  uint32_t created = 0;  // NamespaceSet bits
  int32_t refused_errno[kNamespaceCount] = {};
};

// Creates each namespace of `plan.requested` with its own unshare(2), so that one refusal does
// not cost the others: user first (the caller's uid and gid then map to themselves, written
// from inside to /proc/self/uid_map and gid_map after "deny" to setgroups; the others are then
// owned by it and need no privilege), then net (its loopback interface brought up: the only
// interface there), ipc, uts and pid (which only the caller's next child enters: see
// RunUnderInit). Returns 0, or -errno: a refusal when plan.required (`*failed` names the
// namespace), or a failure after a namespace was made (writing the maps, bringing up
// loopback), which is never left half done.
[[nodiscard]] long CreateNamespaces(const NamespacePlan& plan, NamespaceOutcome* outcome,
                                    Namespace* failed);

// The exit of the sandboxee as its init saw it: si_code (CLD_EXITED, CLD_KILLED, CLD_DUMPED)
// and si_status; code 0 while unknown. In a MAP_SHARED page the launcher maps before fork.
struct InitStatus {
  volatile int32_t code;
  volatile int32_t status;
};

// After CreateNamespaces made a pid namespace, in the process P that called it (still in the
// launcher's pid namespace): P forks the init I, pid 1 of the new namespace, and waits for it;
// I forks the sandboxee S, pid 2, reaps every process of the namespace, writes S's exit to
// `*status` when S is reaped and exits, and the kernel then kills and reaps what is left in the
// namespace before I's exit is seen. P then exits with status 0 (writing I's own end to
// `*status` when I died before S), so that the launcher, waiting for P, sees nothing of the
// namespace alive. I and P close every descriptor; I blocks every signal (a pid 1 gets only
// those it handles from inside, and SIGKILL from outside). Each dies with its parent
// (PR_SET_PDEATHSIG). `private_memory`: the caller does not share the launcher's memory, so
// glibc's _Fork is used (S then runs with glibc's idea of its thread id right); otherwise
// a raw fork.
//
// Returns a pidfd of I in S (for the launcher to kill the namespace with); -errno in P or I
// when its fork (or I's pidfd_open) failed, for the caller to report before it exits (I's exit
// ends the namespace). Never returns in P or I otherwise.
[[nodiscard]] long RunUnderInit(InitStatus* status, bool private_memory);

}  // namespace sbox::sandboxee

#endif  // SBOX_SANDBOXEE_NAMESPACES_H_
