// Several threads of one sandboxee use one BrokerClient at once.

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "sandboxee/broker_client.h"
#include "sandboxee/channel_pool.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using sandboxee::BrokerClient;
using testing::MakeLauncher;
using testing::ScratchDir;
using testing::SharedInts;

class ConcurrencyTest : public ::testing::TestWithParam<ChannelType> {};

TEST_P(ConcurrencyTest, EachThreadGetsItsOwnFile) {
  constexpr int kThreads = 8;
  constexpr int kOpensPerThread = 300;
  ScratchDir dir;
  const std::string tree = dir.MakeDir("files");
  for (int t = 0; t < kThreads; ++t)
    dir.WriteFile(absl::StrCat("files/", t), absl::StrCat("file ", t));

  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadTree(tree), GetParam());
  std::atomic<int> new_channels{0};
  launcher.SetDecisionLog([&](const Decision& d) {
    if (d.op == proto::Op::kNewChannel && d.allowed) ++new_channels;
  });
  SharedInts wrong(kThreads);
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    BrokerClient client(std::move(channel));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const std::string path = absl::StrCat(tree, "/", t);
        const std::string expected = absl::StrCat("file ", t);
        int failures = 0;
        for (int i = 0; i < kOpensPerThread; ++i) {
          absl::StatusOr<UniqueFd> fd = client.Open(path, O_RDONLY);
          char buffer[32];
          const ssize_t n = fd.ok() ? pread(fd->get(), buffer, sizeof(buffer), 0) : -1;
          if (n < 0 || std::string(buffer, n) != expected) ++failures;
          absl::StatusOr<struct stat> st = client.Stat(path);
          if (!st.ok() || st->st_size != static_cast<off_t>(expected.size())) ++failures;
        }
        wrong[t] = failures;
      });
    }
    for (std::thread& thread : threads) thread.join();
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->ok()) << result->ToString();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t;
  // Channels grow with contention and never past one per concurrent thread.
  EXPECT_LE(new_channels.load(), kThreads);
}

TEST_P(ConcurrencyTest, ASingleThreadUsesOneChannel) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("one", "1");
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadFile(file), GetParam());
  std::atomic<int> new_channels{0};
  launcher.SetDecisionLog([&](const Decision& d) {
    if (d.op == proto::Op::kNewChannel) ++new_channels;
  });
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    BrokerClient client(std::move(channel));
    for (int i = 0; i < 1000; ++i) {
      if (!client.Open(file, O_RDONLY).ok()) return 1;
    }
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(new_channels.load(), 0);
}

// A client hangs up its channels when destroyed, so that even a SOCK_DGRAM broker, which sees
// no close, frees them: with room for one extra channel, fifty clients in turn each get one.
TEST_P(ConcurrencyTest, DestroyedClientsGiveTheirChannelsBack) {
  Launcher launcher = MakeLauncher(FilePolicy::Builder(), GetParam());
  launcher.SetMaxChannels(2);
  SharedInts served(1);
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd control) {
    served[0] = 0;
    for (int client_number = 0; client_number < 50; ++client_number) {
      int channel = -EMFILE;
      // The broker frees a channel when its thread reads the hang-up, a moment after it is sent.
      for (int attempt = 0; attempt < 100000 && channel == -EMFILE; ++attempt) {
        channel = sandboxee::ChannelPool::RequestChannel(control.get());
        if (channel == -EMFILE) sched_yield();
      }
      if (channel < 0) return 1;
      BrokerClient client{UniqueFd(channel)};
      // No rule covers "/": the broker's answer is ENOENT, as if absent.
      if (sandboxee::ErrnoOf(client.Access("/", R_OK)) == ENOENT) ++served[0];
    }
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(served[0], 50);
}

INSTANTIATE_TEST_SUITE_P(Channels, ConcurrencyTest, testing::BothChannelTypes(),
                         testing::ChannelTypeName);

}  // namespace
}  // namespace sbox
