#ifndef SBOX_BROKER_NOTIFICATION_BROKER_H_
#define SBOX_BROKER_NOTIFICATION_BROKER_H_

#include <linux/seccomp.h>
#include <sys/types.h>

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/file_request_handler.h"
#include "broker/sandbox_result.h"
#include "broker/sandbox_state.h"
#include "broker/violation_listener.h"
#include "proto/unique_fd.h"

namespace sbox {

// Answers an exec'ed sandboxee's file syscalls from seccomp user notifications, so that an
// unmodified program, dynamically or statically linked, gets its files from the broker: the
// filter makes each redirected call (SyscallGroup::kFileRedirection) a notification, and the
// calling thread stays blocked in the kernel until the broker answers it.
//
// Each call is translated into the proto::Request the sandboxee's client library would have
// sent and decided by the same FileRequestHandler (same policy, same Decision log, same
// SandboxState working directory as the broker channel), then answered with the kernel's
// convention: a descriptor is installed in the caller with SECCOMP_IOCTL_NOTIF_ADDFD and
// SECCOMP_ADDFD_FLAG_SEND, which answers the call atomically; a buffer result (struct stat,
// struct statx, a link target, the working directory) is written to the caller's pointer with
// process_vm_writev; anything else is the call's value or -errno. No file call ever runs in
// the sandboxee (SECCOMP_USER_NOTIF_FLAG_CONTINUE would let the kernel reread the sandboxee's
// memory after the broker decided). The calls and their errnos:
//
//   open, openat, creat     Op::kOpen; creat is O_CREAT|O_WRONLY|O_TRUNC. The descriptor is
//                           close-on-exec iff the call asked for O_CLOEXEC.
//   access, faccessat,      Op::kAccess. faccessat2: AT_EACCESS is ignored (a sandboxee's uid
//   faccessat2              is its euid); AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH or any other flag
//                           is EINVAL.
//   stat, lstat,            Op::kStat; lstat and AT_SYMLINK_NOFOLLOW do not follow a final
//   newfstatat, statx       symlink. AT_EMPTY_PATH with "" (or NULL, as since Linux 6.11)
//                           stats the directory descriptor itself (fetched with pidfd_getfd,
//                           fstat'ed in the broker). statx is filled from struct stat,
//                           stx_mask = STATX_BASIC_STATS. Flags other
//                           than AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, AT_NO_AUTOMOUNT (and, for
//                           statx, the AT_STATX_* sync bits) are EINVAL.
//   readlink, readlinkat    Op::kReadlink, cut to bufsiz like the kernel; bufsiz <= 0 is EINVAL.
//   mkdir, mkdirat, rmdir,  Op::kMkdir, kRmdir, kUnlink (unlinkat with AT_REMOVEDIR: kRmdir;
//   unlink, unlinkat        other flags: EINVAL).
//   rename, renameat,       Op::kRename with renameat2's flags.
//   renameat2
//   link, linkat            Op::kLink; linkat flags other than 0 are EINVAL.
//   symlink, symlinkat      Op::kSymlink.
//   chmod, fchmodat         Op::kChmod.
//   truncate                Op::kTruncate.
//   chdir, fchdir           Op::kChdir; fchdir(fd) is chdir(".") relative to fd. The sandboxee's
//                           kernel working directory never changes: the broker's is the one.
//   getcwd                  Op::kGetcwd: the broker's working directory; ERANGE when it does
//                           not fit.
//   connect                 AF_UNIX with a path name: Op::kConnect with the socket's type and
//                           O_NONBLOCK; the connected socket replaces the caller's descriptor
//                           (SECCOMP_ADDFD_FLAG_SETFD, keeping its close-on-exec flag), so
//                           options set on the old socket are lost. Other families and abstract
//                           or unnamed AF_UNIX addresses: EACCES. A descriptor that is not a
//                           socket: ENOTSOCK; not open: EBADF.
//
// Common errnos: EFAULT when a path or buffer cannot be read or written, ENAMETOOLONG when a
// path has no NUL within PATH_MAX (4096) bytes, ENOENT for an empty path, EBADF when a
// directory descriptor is not open in the caller, and the handler's (proto/PROTOCOL.md).
//
// Trust: the number, arguments and thread come from the kernel. Strings are read from the
// sandboxee's memory, and every read is followed by SECCOMP_IOCTL_NOTIF_ID_VALID before the
// broker acts: had the thread died, its pid could name another process. Descriptors named by
// the call (directories, sockets) are fetched with pidfd_getfd from the calling thread's own
// descriptor table.
//
// The broker never waits on the sandboxee: a thread that dies mid-call leaves an answer that
// fails with ENOENT, which is ignored, and every step is bounded (opens are O_NONBLOCK, connects
// non-blocking; memory is read and written with process_vm_readv/writev, which would wait only
// on memory the sandboxee backs with userfaultfd(2), a call no sbox policy group allows). Calls
// are read one at a time, in the order the kernel queues them, on the thread that calls
// ServeOne: exits, violations, execs and own-process calls are decided there, in that order.
// File calls are answered there too until calls of two threads are waiting at once. Then
// ServingThreads() threads start receiving from the listener in turn, each answering the
// file call it received itself (no hand-over, no extra wake-up) and queueing anything else
// for ServeOne in the order received; so the threads of a multi-threaded sandboxee are served
// at once rather than in turns, and a slow call (a file system that takes its time) holds up
// no other. A thread's own calls stay in order: it is blocked until its call is answered.
class NotificationBroker {
 public:
  // How many serving threads start: one per CPU this process may run on, at least 2 (so that a
  // slow call holds up no other) and at most 4. More threads than CPUs only contend for the
  // listener: on 2 CPUs, 3 serving threads served 2 opening threads no faster than 1.
  static int ServingThreads();

  // `handler` and `sandbox` must outlive the broker. `listener` is the filter's listener;
  // `sandboxee` the pid of the exec'ed child (its thread group leader); `own_process_calls`
  // the own-process calls the filter sends here (SyscallPolicy::own_process_calls()): any
  // other such call reached the listener by the default action and is a violation.
  struct Options {
    // The child's first execve is the launcher's own exec of the program (RunProgram), let
    // through unchecked: its path is the launcher's.
    bool first_exec_is_launchers = false;
    // execve and execveat are requests (Op::kExec, proto::ServeExecCall): let through to the
    // kernel when the policy grants x, refused with its errno otherwise. Only where Landlock
    // enforces the `x` grants (launcher/landlock_mirror.h). Otherwise every exec but the
    // launcher's is a violation.
    bool serve_exec = false;
    // A chdir or fchdir the broker grants also runs in the kernel (FileCallSite::
    // PerformInKernel), so that the paths the kernel resolves itself (exec, fast reads) start
    // where the broker's do. Each process has its own kernel working directory; the broker
    // keeps one for the sandbox.
    bool kernel_follows_working_directory = false;
    // Landlock scopes signals to the sandbox: kill, tgkill and tkill of any pid are let through
    // (the kernel refuses, with EPERM, those that would leave the sandbox's processes).
    bool signals_scoped = false;
  };

  NotificationBroker(const FileRequestHandler& handler, SandboxState& sandbox, int listener,
                     pid_t sandboxee, std::set<int> own_process_calls, Options options);

  NotificationBroker(const NotificationBroker&) = delete;
  NotificationBroker& operator=(const NotificationBroker&) = delete;

  // Reads one pending notification and answers it. The very first notification, if it is the
  // child's execve from its thread group leader and Options::first_exec_is_launchers, is the
  // launcher's own exec of the program and is let through; later execs as Options says. An
  // exit_group is returned as ListenerEvent::exit_id, unanswered. Any other call that is not
  // redirected (a second execve, a syscall the policy does not allow) is returned as a decoded
  // violation with its thread still blocked: the caller kills the sandboxee. An empty event when
  // the call was answered or nothing was pending. An error Status only when the listener itself
  // fails.
  absl::StatusOr<ListenerEvent> ServeOne();

  // What the caller of ServeOne polls for POLLIN: the listener, or once the serving threads
  // receive from it, their queue's eventfd. Changes only inside ServeOne.
  int ready_fd() const;

  // Whether a notification may still reach ServeOne: one pending on the listener, or, with
  // serving threads, one being received or queued. For holding an exit until the reports beside
  // it have been read. When it returns true, ready_fd() becomes readable once that changes.
  bool Pending() const;

  // Stops the serving threads: every call they received is answered before it returns.
  ~NotificationBroker();

  // Whether the broker answers x86_64 syscall `number`: the calls of
  // SyscallPolicy::RedirectedFileCalls(), and the own-process calls (broker/own_process_calls.h),
  // which it lets through when they name the caller itself and refuses otherwise.
  static bool Answers(int number);

  // For `sbox learn` only, never for confinement: from now on a call the broker does not answer
  // is passed to `observer` (the kernel's view of it) and let through with
  // SECCOMP_USER_NOTIF_FLAG_CONTINUE, instead of being returned as a violation. Calls of another
  // architecture are still violations.
  using Observer = std::function<void(const seccomp_data&)>;
  void ObserveAndLetThrough(Observer observer) { observer_ = std::move(observer); }

  // The sandboxee has a pid namespace of its own: the pid arguments of its own-process calls
  // are read in it, so the caller's names for itself and the sandboxee are read from
  // /proc/<id>/status (broker/pid_namespace.h), the thread's at each call that names a process.
  // The Status says why the sandboxee's could not be read.
  [[nodiscard]] absl::Status SandboxeeHasOwnPidNamespace();

 private:
  const FileRequestHandler& handler_;
  SandboxState& sandbox_;
  const int listener_;
  const pid_t sandboxee_;
  const std::set<int> own_process_calls_;
  const Options options_;
  // Whether the broker answers `notif` itself as a file (or exec) call.
  bool IsServedFileCall(const seccomp_notif& notif) const;
  // Answers a file or exec call (proto::ServeFileCall, proto::ServeExecCall).
  void ServeFileCall(const seccomp_notif& notif) const;
  // Decides a notification read from the listener or the queue.
  ListenerEvent Decide(const seccomp_notif& notif);
  // Starts the serving threads; ServeOne reads their queue from then on.
  void StartServingThreads();
  // A serving thread: receives while no other does, answers file calls, queues the rest.
  void Receive();
  // Makes queued_ readable once more.
  void Signal() const;

  bool first_seen_ = false;
  Observer observer_;
  std::optional<pid_t> named_sandboxee_;  // in its own pid namespace, when it has one
  // The thread of the last file call read.
  std::optional<pid_t> last_caller_;

  // Concurrent serving. One thread at a time polls and receives (receive_mu_: a plain futex
  // lock; absl::Mutex's spinning would burn the CPUs the sandboxee needs); in_flight_ is
  // set from before its receive until what it received is queued or being answered.
  std::vector<std::thread> serving_threads_;
  std::mutex receive_mu_;
  std::atomic<bool> in_flight_{false};
  mutable std::atomic<bool> wake_when_received_{
      false};        // Pending() said true: signal the next change
  UniqueFd stop_;    // eventfd: readable when the serving threads must return
  UniqueFd queued_;  // eventfd, semaphore: one count per queued notification or error
  mutable absl::Mutex queue_mu_;
  std::deque<SeccompNotification> queue_ ABSL_GUARDED_BY(queue_mu_);
  absl::Status receive_error_ ABSL_GUARDED_BY(queue_mu_);
};

}  // namespace sbox

#endif  // SBOX_BROKER_NOTIFICATION_BROKER_H_
