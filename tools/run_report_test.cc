#include "tools/run_report.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <signal.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace sbox {
namespace {

SandboxResult Ran(SandboxResult::Outcome outcome) {
  SandboxResult result;
  result.outcome = outcome;
  result.wall_time_us = 12345;
  result.user_time_us = 2000;
  result.system_time_us = 500;
  result.max_rss_kb = 4096;
  return result;
}

TEST(RunReportJson, Exited) {
  RunReport report;
  report.exit_status = 159;
  report.result = Ran(SandboxResult::Outcome::kExited);
  report.result->exit_code = 159;
  report.file_denials = 2;
  EXPECT_EQ(RunReportJson(report),
            "{\"outcome\":\"exited\",\"exit_code\":159,\"signal\":null,\"violation\":null,"
            "\"file_denials\":2,\"wall_time_ms\":12.345,\"rusage\":{\"user_ms\":2.000,"
            "\"system_ms\":0.500,\"max_rss_kb\":4096},\"setup_error\":null}\n");
}

TEST(RunReportJson, SignaledAndTimedOut) {
  RunReport report;
  report.exit_status = 128 + SIGSEGV;
  report.result = Ran(SandboxResult::Outcome::kSignaled);
  report.result->signal = SIGSEGV;
  EXPECT_NE(RunReportJson(report).find(
                "{\"outcome\":\"signaled\",\"exit_code\":139,\"signal\":{\"number\":11,"
                "\"name\":\"SIGSEGV\"},\"violation\":null,"),
            std::string::npos)
      << RunReportJson(report);
  report.exit_status = 124;
  report.result = Ran(SandboxResult::Outcome::kTimedOut);
  EXPECT_EQ(RunReportJson(report).rfind("{\"outcome\":\"timed_out\",\"exit_code\":124,"
                                        "\"signal\":null,",
                                        0),
            0u);
}

TEST(RunReportJson, ViolationCarriesTheKernelsWordsAndTheAdvice) {
  RunReport report;
  report.exit_status = 159;
  report.result = Ran(SandboxResult::Outcome::kViolation);
  SyscallViolation v;
  v.syscall_name = "socket";
  v.syscall_number = 41;
  v.arch = AUDIT_ARCH_X86_64;
  v.args[0] = 2;
  v.args[1] = 1;
  v.args[5] = ~uint64_t{0};
  v.instruction_pointer = 0x7f0011223344;
  v.thread_id = 4321;
  v.call = "socket(AF_INET, SOCK_STREAM, 0)";
  v.suggested_rule = "# \"quoted\"";
  report.result->violation = v;
  report.advice = "p.policy does not mention socket";
  EXPECT_NE(RunReportJson(report).find(
                "\"violation\":{\"syscall\":\"socket\",\"number\":41,\"arch\":\"x86_64\","
                "\"args\":[\"0x2\",\"0x1\",\"0\",\"0\",\"0\",\"0xffffffffffffffff\"],"
                "\"call\":\"socket(AF_INET, SOCK_STREAM, 0)\",\"ip\":\"0x7f0011223344\","
                "\"thread\":4321,\"suggested_rule\":\"# \\\"quoted\\\"\","
                "\"advice\":\"p.policy does not mention socket\"}"),
            std::string::npos)
      << RunReportJson(report);
}

TEST(RunReportJson, SetupErrorHasNoRun) {
  RunReport report;
  report.exit_status = 127;
  report.setup_error = "nosuch: command not found";
  EXPECT_EQ(RunReportJson(report),
            "{\"outcome\":\"setup_error\",\"exit_code\":127,\"signal\":null,\"violation\":null,"
            "\"file_denials\":0,\"wall_time_ms\":null,\"rusage\":null,"
            "\"setup_error\":\"nosuch: command not found\"}\n");
}

TEST(RunReportSink, DescriptorsBelowThreeAreRefusedAndOthersBecomeCloseOnExec) {
  EXPECT_FALSE(RunReportSink::FromDescriptor(2).ok());
  EXPECT_FALSE(RunReportSink::FromDescriptor(9999).ok());
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  absl::StatusOr<RunReportSink> sink = RunReportSink::FromDescriptor(fds[1]);
  ASSERT_TRUE(sink.ok()) << sink.status();
  EXPECT_NE(fcntl(fds[1], F_GETFD) & FD_CLOEXEC, 0);
  RunReport report;
  report.setup_error = "x";
  ASSERT_TRUE(sink->Write(report).ok());
  char buffer[512];
  const ssize_t n = read(fds[0], buffer, sizeof(buffer));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer, static_cast<size_t>(n)), RunReportJson(report));
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace sbox
