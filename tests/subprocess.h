#ifndef SBOX_TESTS_SUBPROCESS_H_
#define SBOX_TESTS_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "proto/unique_fd.h"

namespace sbox::testing {

// What a finished command did.
struct CommandResult {
  int exit_code = -1;  // -1 when it did not exit
  int signal = 0;      // the signal that killed it, or 0
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] is a path, no PATH search) with `input` on its stdin and collects its
// stdout and stderr. `env` empty: the test's own environment.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input = "",
                         const std::vector<std::string>& env = {});

// A command the test talks to line by line.
class Conversation {
 public:
  explicit Conversation(const std::vector<std::string>& argv);
  ~Conversation();
  Conversation(const Conversation&) = delete;
  Conversation& operator=(const Conversation&) = delete;

  pid_t pid() const { return pid_; }
  // The next line of its stdout, without the newline; empty at end of file.
  std::string ReadLine();
  void WriteLine(const std::string& line);
  // Closes its stdin, reads the rest of its stdout and waits for it.
  CommandResult Finish();

 private:
  pid_t pid_ = -1;
  UniqueFd in_;
  UniqueFd out_;
  std::string buffered_;
};

}  // namespace sbox::testing

#endif  // SBOX_TESTS_SUBPROCESS_H_
