#include "tests/sandbox_fixture.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace sbox::testing {

ScratchDir::ScratchDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/sbox-XXXXXX";
  char* made = mkdtemp(pattern.data());
  if (made == nullptr) abort();
  // Resolve symlinks in the base, so grants name real directories.
  char* real = realpath(made, nullptr);
  path_ = real;
  free(real);
}

ScratchDir::~ScratchDir() {
  nftw(
      path_.c_str(), [](const char* p, const struct stat*, int, FTW*) { return remove(p); }, 16,
      FTW_DEPTH | FTW_PHYS);
}

std::string ScratchDir::WriteFile(const std::string& name, const std::string& contents) const {
  const std::string full = path_ + "/" + name;
  std::ofstream out(full, std::ios::binary);
  out << contents;
  out.close();
  chmod(full.c_str(), 0644);
  return full;
}

std::string ScratchDir::MakeDir(const std::string& name) const {
  const std::string full = path_ + "/" + name;
  mkdir(full.c_str(), 0755);
  return full;
}

std::string ScratchDir::Symlink(const std::string& name, const std::string& target) const {
  const std::string full = path_ + "/" + name;
  if (symlink(target.c_str(), full.c_str()) != 0) abort();
  return full;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

SharedInts::SharedInts(size_t count) : count_(count) {
  void* memory =
      mmap(nullptr, count * sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) abort();
  values_ = static_cast<int*>(memory);
  for (size_t i = 0; i < count; ++i) values_[i] = kUnset;
}

SharedInts::~SharedInts() { munmap(values_, count_ * sizeof(int)); }

std::string ChannelTypeName(const ::testing::TestParamInfo<ChannelType>& info) {
  return info.param == ChannelType::kSeqPacket ? "SeqPacket" : "Datagram";
}

Launcher MakeLauncher(const FilePolicy::Builder& files, ChannelType channel_type) {
  absl::StatusOr<FilePolicy> file_policy = files.Build();
  if (!file_policy.ok()) {
    ADD_FAILURE() << file_policy.status();
    file_policy = FilePolicy::Builder().Build();
  }
  absl::StatusOr<SyscallPolicy> syscalls = SyscallPolicy::BrokeredParser().Build();
  if (!syscalls.ok()) abort();
  Launcher launcher(*std::move(file_policy), *std::move(syscalls));
  launcher.SetChannelType(channel_type).SetTimeout(absl::Seconds(60));
  return launcher;
}

}  // namespace sbox::testing
