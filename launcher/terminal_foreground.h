#ifndef SBOX_LAUNCHER_TERMINAL_FOREGROUND_H_
#define SBOX_LAUNCHER_TERMINAL_FOREGROUND_H_

#include <sys/types.h>

#include <optional>

#include "proto/unique_fd.h"

namespace sbox {

// The sandboxee leads a process group of its own (launcher/sandboxee_process.h), which a
// terminal would treat as a background job: a read from it stops the program (SIGTTIN). When
// the sandboxee's stdin is the terminal and the launcher's group is its foreground job, the
// launcher hands the foreground to the sandboxee's group for the run, as a shell does for a
// job it starts, and takes it back after.
class TerminalForeground {
 public:
  // Makes `pgid` the foreground group of the terminal `fd` when `fd` is a terminal whose
  // foreground group is the caller's; nullopt otherwise (nothing changed).
  static std::optional<TerminalForeground> HandTo(int fd, pid_t pgid);

  TerminalForeground(TerminalForeground&& other) = default;
  TerminalForeground& operator=(TerminalForeground&&) = delete;
  // Gives the foreground back to the group that had it (SIGTTOU blocked meanwhile: the caller
  // is then a background job asking for it).
  ~TerminalForeground();

 private:
  TerminalForeground(UniqueFd terminal, pid_t previous)
      : terminal_(std::move(terminal)), previous_(previous) {}

  UniqueFd terminal_;
  pid_t previous_;
};

}  // namespace sbox

#endif  // SBOX_LAUNCHER_TERMINAL_FOREGROUND_H_
