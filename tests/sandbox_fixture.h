#ifndef SBOX_TESTS_SANDBOX_FIXTURE_H_
#define SBOX_TESTS_SANDBOX_FIXTURE_H_

// Helpers shared by the integration tests: a scratch directory, file helpers, a launcher
// builder and a way to carry a sandboxee's observations back to the test.

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/decision.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "proto/unique_fd.h"
#include "tests/fd_count.h"

namespace sbox::testing {

// A fresh directory under TEST_TMPDIR (or /tmp), removed with everything in it at destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  // A copy would delete the directory when it is destroyed: capture path() instead.
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `contents` to path()/name (mode 0644) and returns the full path.
  std::string WriteFile(const std::string& name, const std::string& contents) const;
  std::string MakeDir(const std::string& name) const;
  std::string Symlink(const std::string& name, const std::string& target) const;

 private:
  std::string path_;
};

std::string ReadFileOrDie(const std::string& path);

// Integers in an anonymous MAP_SHARED mapping made before fork: what the sandboxee writes, the
// test reads after Run. Every element starts at kUnset.
class SharedInts {
 public:
  static constexpr int kUnset = -999;
  explicit SharedInts(size_t count);
  ~SharedInts();
  SharedInts(const SharedInts&) = delete;
  SharedInts& operator=(const SharedInts&) = delete;
  int& operator[](size_t i) const { return values_[i]; }
  size_t size() const { return count_; }

 private:
  int* values_;
  size_t count_;
};

// A pipe whose read end collects what the program wrote to its write end.
class Capture {
 public:
  Capture() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) abort();
    read_end_.reset(fds[0]);
    write_end_.reset(fds[1]);
  }
  int write_fd() const { return write_end_.get(); }
  // Everything written, once the program has exited. Programs here write less than a pipe
  // holds, so they never block on it.
  std::string Take() {
    write_end_.reset();
    std::string text;
    char buffer[4096];
    ssize_t got;
    while ((got = read(read_end_.get(), buffer, sizeof(buffer))) > 0) text.append(buffer, got);
    return text;
  }

 private:
  UniqueFd read_end_;
  UniqueFd write_end_;
};

// For INSTANTIATE_TEST_SUITE_P over both channel types:
//   INSTANTIATE_TEST_SUITE_P(Channels, MyTest, BothChannelTypes(), ChannelTypeName);
inline auto BothChannelTypes() {
  return ::testing::Values(ChannelType::kSeqPacket, ChannelType::kDatagram);
}
std::string ChannelTypeName(const ::testing::TestParamInfo<ChannelType>& info);

// A launcher with `files` and SyscallPolicy::BrokeredParser(); fails the test on a build error.
Launcher MakeLauncher(const FilePolicy::Builder& files,
                      ChannelType channel_type = ChannelType::kSeqPacket);

}  // namespace sbox::testing

#endif  // SBOX_TESTS_SANDBOX_FIXTURE_H_
