// The parser examples in sandboxes, under the limits parse_untrusted uses: good inputs give what
// the parsers give in-process; a bomb ends at the address-space limit, a slow input at the
// deadline; and the next call works.

#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "call/sandbox.h"
#include "examples/archive_listing.h"
#include "examples/parser_entry_points.h"
#include "examples/png_summary.h"
#include "examples/testdata.h"
#include "examples/xml_summary.h"
#include "gtest/gtest.h"

namespace sbox::examples {
namespace {

std::unique_ptr<Sandbox> ParserSandbox(const char* entry_point) {
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox =
      Sandbox::Create(entry_point, SandboxOptions().SetLimits(UntrustedParserLimits()));
  EXPECT_TRUE(sandbox.ok()) << sandbox.status();
  return sandbox.ok() ? *std::move(sandbox) : nullptr;
}

// The call's output, or its Status as text: a failure shows in the comparison.
std::string OutputOf(const Sandbox& sandbox, absl::string_view input) {
  absl::StatusOr<CallOutput> output = sandbox.Call(CallInput(input));
  return output.ok() ? output->bytes : absl::StrCat("call failed: ", output.status().ToString());
}

absl::Status StatusOf(const Sandbox& sandbox, absl::string_view input) {
  return sandbox.Call(CallInput(input)).status();
}

std::string InProcessPng(const std::string& png) {
  absl::StatusOr<PngSummary> summary = SummarizePng(png);
  EXPECT_TRUE(summary.ok()) << summary.status();
  return summary.ok() ? FormatPngSummary(*summary) : "";
}

TEST(ParserSandboxTest, PngGoodAsInProcess) {
  std::unique_ptr<Sandbox> sandbox = ParserSandbox(kPngSummaryEntryPoint);
  ASSERT_NE(sandbox, nullptr);
  for (const char* name : {"good.png", "interlaced.png", "wide.png"}) {
    const std::string png = ReadTestdata(name);
    EXPECT_EQ(OutputOf(*sandbox, png), InProcessPng(png)) << name;
  }
}

TEST(ParserSandboxTest, PngErrorIsTheParsers) {
  std::unique_ptr<Sandbox> sandbox = ParserSandbox(kPngSummaryEntryPoint);
  ASSERT_NE(sandbox, nullptr);
  const absl::Status status = StatusOf(*sandbox, "GIF89a");
  EXPECT_EQ(CallFailureOf(status), CallFailure::kEntryPoint);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "png_summary: not a PNG: the first 8 bytes are not the PNG signature");
}

// bomb.png's image buffer (std::bad_alloc), row_bomb.png's row buffer in libpng (libpng's "Out of
// memory"): both past 256 MiB.
TEST(ParserSandboxTest, PngBombsEndAtTheAddressSpaceLimitAndTheNextCallWorks) {
#ifdef __SANITIZE_ADDRESS__
  GTEST_SKIP() << "AddressSanitizer reserves terabytes of address space for its shadow memory: "
                  "under an RLIMIT_AS of 256 MiB the sanitized process cannot start";
#endif

  std::unique_ptr<Sandbox> sandbox = ParserSandbox(kPngSummaryEntryPoint);
  ASSERT_NE(sandbox, nullptr);
  const std::string good = ReadTestdata("good.png");
  for (const auto& [name, why] :
       {std::pair<const char*, const char*>{"bomb.png", "out of memory (std::bad_alloc)"},
        {"row_bomb.png", "PNG transformation: Out of memory"}}) {
    const absl::Status status = StatusOf(*sandbox, ReadTestdata(name));
    EXPECT_EQ(CallFailureOf(status), CallFailure::kLimit) << name;
    EXPECT_EQ(CallLimitOf(status), "RLIMIT_AS") << name;
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << name;
    EXPECT_EQ(status.message(),
              absl::StrCat("png_summary: address-space limit (RLIMIT_AS 256 MiB) reached: ", why))
        << name;

    EXPECT_EQ(OutputOf(*sandbox, good), InProcessPng(good)) << "after " << name;
  }
}

TEST(ParserSandboxTest, XmlGoodAsInProcess) {
  std::unique_ptr<Sandbox> sandbox = ParserSandbox(kXmlSummaryEntryPoint);
  ASSERT_NE(sandbox, nullptr);
  const std::string xml = ReadTestdata("good.xml");
  absl::StatusOr<XmlSummary> summary = SummarizeXml(xml);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(OutputOf(*sandbox, xml), FormatXmlSummary(*summary));
}

// 70,000 attributes (689 KB): about 6 s of parsing in-process, well past the 2 s deadline.
TEST(ParserSandboxTest, SlowXmlEndsAtTheDeadlineAndTheNextCallWorks) {
  std::unique_ptr<Sandbox> sandbox = ParserSandbox(kXmlSummaryEntryPoint);
  ASSERT_NE(sandbox, nullptr);
  const absl::Time start = absl::Now();
  const absl::Status status = StatusOf(*sandbox, ManyAttributesXml(70'000));
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(CallFailureOf(status), CallFailure::kDeadline);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(status.message(),
            "xml_summary: wall-clock deadline of 2s reached; the sandboxee was killed");
  // Ended by the deadline, well before the parse's own end.
  EXPECT_GE(elapsed, absl::Seconds(2));
  EXPECT_LT(elapsed, absl::Seconds(4));

  EXPECT_EQ(OutputOf(*sandbox, ReadTestdata("good.xml")), "root=catalog elements=8");
}

TEST(ParserSandboxTest, ArchiveGoodAsInProcess) {
  std::unique_ptr<Sandbox> sandbox = ParserSandbox(kArchiveListingEntryPoint);
  ASSERT_NE(sandbox, nullptr);
  const std::string tar_gz = ReadTestdata("good.tar.gz");
  absl::StatusOr<std::vector<ArchiveEntry>> entries = ListArchive(tar_gz);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(OutputOf(*sandbox, tar_gz), FormatArchiveListing(*entries));
}

TEST(ParserSandboxTest, ArchiveBombEndsAtTheAddressSpaceLimitAndTheNextCallWorks) {
#ifdef __SANITIZE_ADDRESS__
  GTEST_SKIP() << "AddressSanitizer reserves terabytes of address space for its shadow memory: "
                  "under an RLIMIT_AS of 256 MiB the sanitized process cannot start";
#endif

  std::unique_ptr<Sandbox> sandbox = ParserSandbox(kArchiveListingEntryPoint);
  ASSERT_NE(sandbox, nullptr);
  const absl::Status status = StatusOf(*sandbox, ReadTestdata("bomb.tar.xz"));
  EXPECT_EQ(CallFailureOf(status), CallFailure::kLimit);
  EXPECT_EQ(CallLimitOf(status), "RLIMIT_AS");
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(),
            "archive_listing: address-space limit (RLIMIT_AS 256 MiB) reached: archive: Lzma "
            "library error: Cannot allocate memory");

  EXPECT_EQ(OutputOf(*sandbox, ReadTestdata("good.tar.gz")),
            "6 docs/readme.txt\n1000 docs/notes.txt\n0 empty\n");
}

// 4 GiB of zeros to decompress: about 10 s in-process (make_testdata.py), in 9 MB.
TEST(ParserSandboxTest, SlowArchiveEndsAtTheDeadlineAndTheNextCallWorks) {
  std::unique_ptr<Sandbox> sandbox = ParserSandbox(kArchiveListingEntryPoint);
  ASSERT_NE(sandbox, nullptr);
  const absl::Status status = StatusOf(*sandbox, ReadTestdata("slow.tar.bz2"));
  EXPECT_EQ(CallFailureOf(status), CallFailure::kDeadline);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(status.message(),
            "archive_listing: wall-clock deadline of 2s reached; the sandboxee was killed");

  EXPECT_EQ(OutputOf(*sandbox, ReadTestdata("good.tar.gz")),
            "6 docs/readme.txt\n1000 docs/notes.txt\n0 empty\n");
}

}  // namespace
}  // namespace sbox::examples

int main(int argc, char** argv) {
  // First, while the process has one thread.
  if (absl::Status started = sbox::StartForkServer(); !started.ok()) {
    std::fprintf(stderr, "%s\n", started.ToString().c_str());
    return 1;
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
