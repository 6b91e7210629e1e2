// Entry points in a separate sandboxee binary (SandboxOptions::SetSandboxeeBinary): started by
// execve, so the host needs no fork server and may be multithreaded from the start. This test
// never starts one.

#include <stdio.h>
#include <stdlib.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "call/sandbox.h"
#include "gtest/gtest.h"
#include "launcher/fork_server.h"

namespace sbox {
namespace {

std::string BinaryPath() {
  return absl::StrCat(getenv("TEST_SRCDIR"), "/", getenv("TEST_WORKSPACE"),
                      "/tests/call_sandboxee_binary");
}

std::unique_ptr<Sandbox> Make(const std::string& entry, SandboxOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox =
      Sandbox::Create(entry, std::move(options).SetSandboxeeBinary(BinaryPath()));
  EXPECT_TRUE(sandbox.ok()) << sandbox.status();
  return sandbox.ok() ? *std::move(sandbox) : nullptr;
}

// Threads that malloc and print all the time, started before the first call.
class BusyThreads {
 public:
  BusyThreads() {
    for (int i = 0; i < 8; ++i) {
      threads_.emplace_back([this] {
        while (!stop_) {
          flockfile(stderr);
          free(malloc(100));
          funlockfile(stderr);
        }
      });
    }
  }
  ~BusyThreads() {
    stop_ = true;
    for (std::thread& thread : threads_) thread.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

TEST(CallBinary, AMultithreadedHostCallsABinarysEntryPointWithoutAForkServer) {
  BusyThreads busy;
  auto sandbox = Make("binary_echo");
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<CallOutput> out = sandbox->Call(CallInput(absl::StrCat("call ", i)));
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->bytes, absl::StrCat("call ", i));
  }
  EXPECT_EQ(ForkServer::Running(), nullptr);
}

TEST(CallBinary, ACrashIsAStatusAndTheNextCallWorks) {
  absl::StatusOr<CallOutput> crashed = Make("binary_crash")->Call(CallInput(""));
  EXPECT_EQ(CallFailureOf(crashed.status()), CallFailure::kCrashed) << crashed.status();
  EXPECT_NE(crashed.status().message().find("SIGSEGV"), std::string::npos);
  EXPECT_TRUE(Make("binary_echo")->Call(CallInput("x")).ok());
}

TEST(CallBinary, ANameTheBinaryDoesNotRegisterExitsEarly) {
  absl::StatusOr<CallOutput> out = Make("not_in_the_binary")->Call(CallInput(""));
  EXPECT_EQ(CallFailureOf(out.status()), CallFailure::kExitedEarly) << out.status();
  EXPECT_NE(out.status().message().find("exited with code 120"), std::string::npos);
}

TEST(CallBinary, TheDefaultFilePolicyLoadsLibrariesButReadsNothingElse) {
  auto sandbox = Make("binary_read_first_line");
  absl::StatusOr<CallOutput> out = sandbox->Call(CallInput("/etc/passwd"));
  EXPECT_EQ(out.status().code(), absl::StatusCode::kNotFound) << out.status();
  EXPECT_EQ(CallFailureOf(out.status()), CallFailure::kEntryPoint);
}

TEST(CallBinary, AWarmPoolOfBinarySandboxeesServesCalls) {
  auto sandbox = Make("binary_echo", SandboxOptions().SetWarmPool(2));
  absl::SleepFor(absl::Milliseconds(500));
  int pooled = 0;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<CallOutput> out = sandbox->Call(CallInput("pooled"));
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->bytes, "pooled");
    pooled += out->stats.from_warm_pool ? 1 : 0;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_GE(pooled, 3);
}

}  // namespace
}  // namespace sbox
