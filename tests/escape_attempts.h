#ifndef SBOX_TESTS_ESCAPE_ATTEMPTS_H_
#define SBOX_TESTS_ESCAPE_ATTEMPTS_H_

// What a compromised sandboxee tries in order to reach outside the sandbox, for
// tests/outside_reach_test.cc: the same code runs as a function sandboxee (Launcher::Run) and
// in tests/escape_probe.cc, an exec'ed program (dynamic and static) under Launcher::RunProgram
// and `sbox run`. Each attempt makes raw syscalls and returns 0 when every one of them
// succeeded, else the errno of the first that failed; a call the policy refuses ends the
// process as a violation before the attempt returns.

#include <sys/types.h>

#include <string>

namespace sbox::testing {

// Makes the kernel signal `target` when I/O arrives on `fd` (the broker channel), set up by
// `method`: "setown" (F_SETOWN + O_ASYNC), "setown_ex" (F_SETOWN_EX + O_ASYNC), "setsig"
// (F_SETSIG SIGUSR1), "async" (F_SETFL O_ASYNC), "fiosetown" (ioctl FIOSETOWN + FIOASYNC),
// "siocspgrp" (ioctl SIOCSPGRP + FIOASYNC); then sends a message on `fd` so that the broker
// answers, and waits 100 ms for a signal to be delivered. EINVAL for an unknown method.
int SignalOwner(int fd, pid_t target, const std::string& method);

// Names process `target` by pid: "prlimit" (prlimit64 read), "robust_list" (get_robust_list),
// "cpu_clock" (clock_gettime of its CPU clock), "futex_pi" (FUTEX_TRYLOCK_PI on a word holding
// it), "kill" (kill with signal 0), "priority" (getpriority), "affinity" (sched_getaffinity),
// "pidfd" (pidfd_open). EINVAL for an unknown way.
int NamePid(pid_t target, const std::string& way);

// Takes a lease or a lock on `fd`, a granted file: "lease" (F_SETLEASE F_RDLCK), "setlk"
// (F_SETLK), "ofd" (F_OFD_SETLK), "flock" (flock LOCK_SH). EINVAL for an unknown way.
int HoldFile(int fd, const std::string& way);

// Sends a datagram on `fd` (the broker channel) addressed to the unix socket at `path`.
int SendElsewhere(int fd, const std::string& path);

// The number of capabilities held: effective, permitted, inheritable and bounding sets
// together (capget and prctl(PR_CAPBSET_READ)); -errno when they cannot be read.
int CapabilitiesHeld();

// Writes a line like sbox's violation report to stderr and returns 159, the status sbox
// exits with for a real violation.
int ForgeViolationReport();

// Dies by SIGSEGV.
[[noreturn]] void Crash();

// `threads` threads open and close `file` until the process ends, while one more makes
// socket(AF_INET), a violation; the main thread calls exit_group(0) 20 ms after that thread
// has started its call. Never returns.
[[noreturn]] void ExitRace(const std::string& file, int threads);

}  // namespace sbox::testing

#endif  // SBOX_TESTS_ESCAPE_ATTEMPTS_H_
