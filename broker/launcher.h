#ifndef SBOX_BROKER_LAUNCHER_H_
#define SBOX_BROKER_LAUNCHER_H_

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/broker_server.h"
#include "broker/decision.h"
#include "broker/file_policy.h"
#include "broker/sandbox_result.h"
#include "broker/syscall_policy.h"
#include "proto/unique_fd.h"

namespace sbox {

// Runs sandboxee code in a forked child confined by a seccomp filter, and brokers its file
// access over a socket pair until it exits.
//
//   auto launcher = Launcher(*std::move(files), *std::move(syscalls))
//                       .SetDecisionLog([](const Decision& d) { ... })
//                       .SetTimeout(absl::Seconds(10));
//   absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd channel) {
//     BrokerClient client(std::move(channel));
//     ...
//     return 0;
//   });
//
// In the child, before the sandboxee function runs: every descriptor but stdio and the channel
// is closed, PR_SET_PDEATHSIG(SIGKILL) ties the child to the launching thread, no_new_privs is
// set, and the filter compiled in the parent is installed. When the policy redirects file calls
// by trap (SyscallPolicy::redirection() is Redirection::kTrap), the SIGSYS handler of
// sandboxee/file_redirection.h is installed first, with a broker channel of its own: the
// function's unmodified libc and C++ file code then works through the broker, and the channel
// it is given stays its own. The function runs in a forked copy of
// the parent: it must not use locks other threads of the parent may have held at fork (glibc's
// malloc is safe). Its return value is the exit code; stdio is flushed then, as by exit(3),
// but no atexit handler or static destructor of the parent's runs.
//
// sbox needs no privilege: no root, no capability, no user namespace.
class Launcher {
 public:
  enum class Stdio {
    kInherit,  // the sandboxee shares the parent's stdin, stdout and stderr
    kNull,     // stdin, stdout and stderr are /dev/null
  };

  Launcher(FilePolicy files, SyscallPolicy syscalls);

  Launcher& SetChannelType(ChannelType type);
  // Live broker channels per sandboxee (the sandboxee's client opens one per concurrent thread).
  Launcher& SetMaxChannels(int max_channels);
  Launcher& SetDecisionLog(DecisionLog log);
  // After this long the sandboxee is killed and the outcome is kTimedOut. Default: none.
  Launcher& SetTimeout(absl::Duration timeout);
  Launcher& SetStdio(Stdio stdio);
  // Where the sandboxee's relative paths start, as the broker resolves them (absolute and
  // normalized). Default: the launching process's working directory at Run.
  Launcher& SetWorkingDirectory(std::string directory);

  // Runs `sandboxee` in a new sandboxed child and waits for it. Several runs, one after another
  // or at once from several threads, may share one Launcher. The calling thread is the child's
  // parent for PR_SET_PDEATHSIG and must not exit before Run returns, which it cannot.
  //
  // The Status is not OK only when no sandboxee ran: a socket, fork or pidfd failure, or a step
  // of the child's set-up (named in the message) failing. Everything the sandboxee does,
  // including a violation, is in the SandboxResult.
  absl::StatusOr<SandboxResult> Run(absl::FunctionRef<int(UniqueFd channel)> sandboxee) const;

  const FilePolicy& file_policy() const { return files_; }

 private:
  FilePolicy files_;
  SyscallPolicy syscalls_;
  ChannelType channel_type_ = ChannelType::kSeqPacket;
  int max_channels_ = 16;
  DecisionLog decision_log_;
  absl::Duration timeout_ = absl::InfiniteDuration();
  Stdio stdio_ = Stdio::kInherit;
  std::string working_directory_;
};

}  // namespace sbox

#endif  // SBOX_BROKER_LAUNCHER_H_
