#include "launcher/terminal_foreground.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <utility>

namespace sbox {

std::optional<TerminalForeground> TerminalForeground::HandTo(int fd, pid_t pgid) {
  if (fd < 0 || !isatty(fd)) return std::nullopt;
  const pid_t previous = tcgetpgrp(fd);
  if (previous < 0 || previous != getpgrp()) return std::nullopt;
  UniqueFd terminal(fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!terminal.valid() || tcsetpgrp(terminal.get(), pgid) != 0) return std::nullopt;
  return TerminalForeground(std::move(terminal), previous);
}

TerminalForeground::~TerminalForeground() {
  if (!terminal_.valid()) return;
  sigset_t ttou;
  sigset_t saved;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &ttou, &saved);
  tcsetpgrp(terminal_.get(), previous_);
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
}

}  // namespace sbox
