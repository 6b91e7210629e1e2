// A host that did not start the fork server at the start of main: while it has other threads,
// calls fail at once with a Status that says what to do (never a fork of the multithreaded
// host, never a hang); once it is down to one thread, the first call starts the server.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "call/sandbox.h"
#include "gtest/gtest.h"
#include "launcher/fork_server.h"
#include "sandboxee/entry_point.h"

namespace sbox {
namespace {

absl::Status Echo(CallContext& call) {
  call.output() = std::string(call.input());
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(late_echo, Echo);

TEST(LateStart, CallsFailClearlyWhileTheHostHasThreadsAndWorkOnceItHasOne) {
  ASSERT_EQ(ForkServer::Running(), nullptr);
  {
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) {
      threads.emplace_back([&] {
        while (!stop) absl::SleepFor(absl::Milliseconds(1));
      });
    }
    const absl::Status started = StartForkServer();
    EXPECT_EQ(started.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(started.message().find("has 4 threads"), std::string::npos) << started;
    EXPECT_NE(started.message().find("StartForkServer() at the start of main"), std::string::npos);

    absl::StatusOr<std::unique_ptr<Sandbox>> sandbox = Sandbox::Create("late_echo");
    ASSERT_TRUE(sandbox.ok()) << sandbox.status();
    const absl::Time before = absl::Now();
    absl::StatusOr<CallOutput> out = (*sandbox)->Call(CallInput("x"));
    EXPECT_LT(absl::Now() - before, absl::Seconds(5));  // at once, not after a hang
    EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition) << out.status();
    EXPECT_EQ(CallFailureOf(out.status()), CallFailure::kNotStarted);
    EXPECT_NE(out.status().message().find("StartForkServer"), std::string::npos);
    EXPECT_EQ(ForkServer::Running(), nullptr);
    stop = true;
    for (std::thread& thread : threads) thread.join();
  }
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox = Sandbox::Create("late_echo");
  ASSERT_TRUE(sandbox.ok());
  absl::StatusOr<CallOutput> out = (*sandbox)->Call(CallInput("now"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->bytes, "now");
  EXPECT_NE(ForkServer::Running(), nullptr);
}

}  // namespace
}  // namespace sbox
