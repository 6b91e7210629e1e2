#include "tests/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

extern char** environ;

namespace sbox::testing {
namespace {

std::vector<char*> Pointers(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (const std::string& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

void Pipe(UniqueFd* read_end, UniqueFd* write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) abort();
  read_end->reset(fds[0]);
  write_end->reset(fds[1]);
}

// Spawns `argv` with the three pipe ends as its stdio.
pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, int in,
            int out, int err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in, 0);
  posix_spawn_file_actions_adddup2(&actions, out, 1);
  posix_spawn_file_actions_adddup2(&actions, err, 2);
  std::vector<char*> args = Pointers(argv);
  std::vector<char*> envp = Pointers(env);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(),
                             env.empty() ? environ : envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

void Reap(pid_t pid, CommandResult* result) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result->exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result->signal = WTERMSIG(status);
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input,
                         const std::vector<std::string>& env) {
  UniqueFd in_read, in_write, out_read, out_write, err_read, err_write;
  Pipe(&in_read, &in_write);
  Pipe(&out_read, &out_write);
  Pipe(&err_read, &err_write);
  CommandResult result;
  const pid_t pid = Spawn(argv, env, in_read.get(), out_write.get(), err_write.get());
  if (pid < 0) {
    result.err = "spawn failed";
    return result;
  }
  in_read.reset();
  out_write.reset();
  err_write.reset();
  signal(SIGPIPE, SIG_IGN);
  size_t written = 0;
  if (input.empty()) in_write.reset();
  pollfd fds[3] = {{out_read.get(), POLLIN, 0},
                   {err_read.get(), POLLIN, 0},
                   {in_write.valid() ? in_write.get() : -1, POLLOUT, 0}};
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[65536];
      const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n <= 0) {
        fds[i].fd = -1;
        continue;
      }
      (i == 0 ? result.out : result.err).append(buffer, static_cast<size_t>(n));
    }
    if (fds[2].fd >= 0 && fds[2].revents != 0) {
      const ssize_t n = write(fds[2].fd, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n <= 0 || written == input.size()) {
        in_write.reset();
        fds[2].fd = -1;
      }
    }
  }
  Reap(pid, &result);
  return result;
}

Conversation::Conversation(const std::vector<std::string>& argv) {
  UniqueFd in_read, out_write;
  Pipe(&in_read, &in_);
  Pipe(&out_, &out_write);
  pid_ = Spawn(argv, {}, in_read.get(), out_write.get(), 2);
}

Conversation::~Conversation() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    CommandResult ignored;
    Reap(pid_, &ignored);
  }
}

std::string Conversation::ReadLine() {
  for (;;) {
    const size_t newline = buffered_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return line;
    }
    char buffer[4096];
    const ssize_t n = read(out_.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return "";
    buffered_.append(buffer, static_cast<size_t>(n));
  }
}

void Conversation::WriteLine(const std::string& line) {
  const std::string text = line + "\n";
  if (write(in_.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) abort();
}

CommandResult Conversation::Finish() {
  in_.reset();
  CommandResult result;
  result.out = buffered_;
  char buffer[4096];
  ssize_t n;
  while ((n = read(out_.get(), buffer, sizeof(buffer))) > 0) {
    result.out.append(buffer, static_cast<size_t>(n));
  }
  Reap(pid_, &result);
  pid_ = -1;
  return result;
}

}  // namespace sbox::testing
