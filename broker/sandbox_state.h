#ifndef SBOX_BROKER_SANDBOX_STATE_H_
#define SBOX_BROKER_SANDBOX_STATE_H_

#include <sys/types.h>

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace sbox {

// What the broker knows of one sandboxee, shared by the threads serving its channels.
class SandboxState {
 public:
  // `working_directory` must be absolute and normalized.
  SandboxState(pid_t pid, std::string working_directory)
      : pid_(pid), working_directory_(std::move(working_directory)) {}

  // The sandboxee's pid, for /proc/self; 0 when unknown.
  pid_t pid() const { return pid_; }

  // Relative paths without a directory descriptor resolve against it. The sandboxee's own chdir
  // is refused by the filter; Op::kChdir changes this instead.
  std::string working_directory() const {
    absl::MutexLock lock(&mu_);
    return working_directory_;
  }
  void set_working_directory(std::string directory) {
    absl::MutexLock lock(&mu_);
    working_directory_ = std::move(directory);
  }

 private:
  const pid_t pid_;
  mutable absl::Mutex mu_;
  std::string working_directory_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sbox

#endif  // SBOX_BROKER_SANDBOX_STATE_H_
