#include "tools/run_report.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "broker/file_policy.h"
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
            "\"system_ms\":0.500,\"max_rss_kb\":4096},\"landlock\":{\"abi\":0,\"fs_rights\":"
            "\"none\",\"scoped\":\"none\"},"
            "\"setup_error\":null}\n");
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
            "\"file_denials\":0,\"wall_time_ms\":null,\"rusage\":null,\"landlock\":null,"
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

// A directory the policy lets the program write, and one beside it that it may only read.
class ReportPlaces : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = getenv("TEST_TMPDIR");
    std::string dir = std::string(base != nullptr ? base : "/tmp") + "/report_XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    writable_ = dir_ + "/out";
    readable_ = dir_ + "/in";
    ASSERT_EQ(mkdir(writable_.c_str(), 0700), 0);
    ASSERT_EQ(mkdir(readable_.c_str(), 0700), 0);
    absl::StatusOr<FilePolicy> files = FilePolicy::Builder()
                                           .AllowTree(writable_, kRead | kWrite | kCreate | kDelete)
                                           .AllowTree(readable_, kRead)
                                           .Build();
    ASSERT_TRUE(files.ok()) << files.status();
    files_.emplace(*std::move(files));
  }

  // --report PATH, checked as `sbox run` checks it.
  absl::Status Check(const std::string& path) const {
    absl::StatusOr<RunReportSink> sink = RunReportSink::OpenFile(path);
    if (!sink.ok()) return sink.status();
    return sink->CheckOutOfReach(*files_, path, "test.policy");
  }

  std::string dir_, writable_, readable_;
  std::optional<FilePolicy> files_;
};

TEST_F(ReportPlaces, AReportOutsideWhatThePolicyLetsTheProgramWriteIsAccepted) {
  EXPECT_TRUE(Check(dir_ + "/report.json").ok());
  EXPECT_TRUE(Check(readable_ + "/report.json").ok());
}

TEST_F(ReportPlaces, AReportInAWritableTreeIsRefusedAndTheMessageSaysWhy) {
  const absl::Status status = Check(writable_ + "/report.json");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "--report " + writable_ + "/report.json: test.policy lets the " +
                                  "program write, create or delete it as " + writable_ +
                                  "/report.json (allow rwcd tree " + writable_ + ")");
}

// The name given is not the only one: the file the kernel opened is checked by its own path.
TEST_F(ReportPlaces, ASymlinkOrADotDotIntoAWritableTreeIsSeenThrough) {
  ASSERT_EQ(symlink(writable_.c_str(), (dir_ + "/link").c_str()), 0);
  EXPECT_EQ(Check(dir_ + "/link/report.json").code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(symlink((writable_ + "/sub").c_str(), (readable_ + "/up").c_str()), 0);
  ASSERT_EQ(mkdir((writable_ + "/sub").c_str(), 0700), 0);
  // Lexically readable_/report.json; the kernel resolves it to writable_/report.json.
  EXPECT_EQ(Check(readable_ + "/up/../report.json").code(), absl::StatusCode::kFailedPrecondition);
}

// A file rule that grants deleting a directory lets the program rename it, report and all.
TEST(RunReportSink, AReportInADirectoryTheProgramMayRenameIsRefused) {
  const char* base = getenv("TEST_TMPDIR");
  std::string dir = std::string(base != nullptr ? base : "/tmp") + "/rename_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  ASSERT_EQ(mkdir((dir + "/reports").c_str(), 0700), 0);
  absl::StatusOr<FilePolicy> files =
      FilePolicy::Builder().AllowFile(dir + "/reports", kRead | kDelete).Build();
  ASSERT_TRUE(files.ok()) << files.status();
  absl::StatusOr<RunReportSink> sink = RunReportSink::OpenFile(dir + "/reports/r.json");
  ASSERT_TRUE(sink.ok()) << sink.status();
  const absl::Status status = sink->CheckOutOfReach(*files, dir + "/reports/r.json", "p.policy");
  EXPECT_EQ(status.message(), "--report " + dir + "/reports/r.json: p.policy lets the program " +
                                  "rename its directory " + dir + "/reports (allow rd file " + dir +
                                  "/reports)");

  // A tree with a deny rule beneath it: the broker renames no directory above another rule.
  ASSERT_EQ(mkdir((dir + "/out").c_str(), 0700), 0);
  ASSERT_EQ(mkdir((dir + "/out/reports").c_str(), 0700), 0);
  files = FilePolicy::Builder()
              .AllowTree(dir + "/out", kRead | kWrite | kCreate | kDelete)
              .Deny(dir + "/out/reports")
              .Build();
  ASSERT_TRUE(files.ok()) << files.status();
  sink = RunReportSink::OpenFile(dir + "/out/reports/r.json");
  ASSERT_TRUE(sink.ok()) << sink.status();
  EXPECT_TRUE(sink->CheckOutOfReach(*files, dir + "/out/reports/r.json", "p.policy").ok());
}

TEST_F(ReportPlaces, AReportWithAnotherHardLinkIsRefused) {
  const std::string report = dir_ + "/linked.json";
  ASSERT_TRUE(Check(report).ok());
  ASSERT_EQ(link(report.c_str(), (writable_ + "/alias").c_str()), 0);
  const absl::Status status = Check(report);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(), "has 2 hard links")) << status;
}

TEST_F(ReportPlaces, ADescriptorIsCheckedByItsFile) {
  UniqueFd inside(open((writable_ + "/fd.json").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(inside.valid());
  absl::StatusOr<RunReportSink> sink = RunReportSink::FromDescriptor(inside.get());
  ASSERT_TRUE(sink.ok()) << sink.status();
  EXPECT_EQ(sink->CheckOutOfReach(*files_, "", "test.policy").code(),
            absl::StatusCode::kFailedPrecondition);
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  sink = RunReportSink::FromDescriptor(write_end.get());
  ASSERT_TRUE(sink.ok()) << sink.status();
  EXPECT_TRUE(sink->CheckOutOfReach(*files_, "", "test.policy").ok());
}

}  // namespace
}  // namespace sbox
