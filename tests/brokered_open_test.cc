#include <fcntl.h>
#include <unistd.h>

#include "broker/launcher.h"
#include "gtest/gtest.h"
#include "sandboxee/broker_client.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using sandboxee::BrokerClient;
using testing::ScratchDir;

TEST(BrokeredOpen, ReadsSameBytesAsDirectOpen) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("data.txt", "hello, sandbox\n");
  auto files = FilePolicy::Builder().AllowReadFile(file).Build();
  ASSERT_TRUE(files.ok()) << files.status();
  auto syscalls = SyscallPolicy::BrokeredParser().Build();
  ASSERT_TRUE(syscalls.ok()) << syscalls.status();
  testing::DecisionRecorder log;
  Launcher launcher(*std::move(files), *std::move(syscalls));
  launcher.SetDecisionLog(log.AsLog());
  auto result = launcher.Run([&](UniqueFd channel) {
    BrokerClient client(std::move(channel));
    auto fd = client.Open(file, O_RDONLY);
    if (!fd.ok()) return 10;
    char buf[64];
    ssize_t n = read(fd->get(), buf, sizeof(buf));
    if (n != 15 || std::string(buf, n) != "hello, sandbox\n") return 11;
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  for (auto& l : log.Lines()) std::cerr << l << "\n";
}

}  // namespace
}  // namespace sbox
