#include "examples/png_summary.h"

#include <png.h>

#include <string>

#include "absl/status/status.h"
#include "examples/parse_under_memory_limit.h"
#include "examples/testdata.h"
#include "gtest/gtest.h"

namespace sbox::examples {
namespace {

// FNV-1a over good.png's pixels as make_testdata.py draws them, 8-bit RGBA row after row.
uint32_t GradientChecksum() {
  uint32_t hash = 2166136261u;
  for (int y = 0; y < 48; ++y) {
    for (int x = 0; x < 64; ++x) {
      const uint8_t pixel[4] = {static_cast<uint8_t>(x * 4), static_cast<uint8_t>(y * 5),
                                static_cast<uint8_t>((x + y) * 2), static_cast<uint8_t>(255 - x)};
      for (uint8_t byte : pixel) hash = (hash ^ byte) * 16777619u;
    }
  }
  return hash;
}

TEST(PngSummaryTest, GoodPngDecodesToTheGeneratorsPixels) {
  absl::StatusOr<PngSummary> summary = SummarizePng(ReadTestdata("good.png"));
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->width, 64u);
  EXPECT_EQ(summary->height, 48u);
  EXPECT_EQ(summary->bit_depth, 8);
  EXPECT_EQ(summary->color_type, PNG_COLOR_TYPE_RGB_ALPHA);
  EXPECT_EQ(summary->channels, 4);
  EXPECT_EQ(summary->checksum, GradientChecksum());
  EXPECT_EQ(FormatPngSummary(*summary),
            "width=64 height=48 bit_depth=8 color_type=6 channels=4 checksum=0x886f0b45");
}

TEST(PngSummaryTest, InterlacedPngHasTheSameChecksum) {
  absl::StatusOr<PngSummary> summary = SummarizePng(ReadTestdata("interlaced.png"));
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->checksum, GradientChecksum());
}

TEST(PngSummaryTest, NotAPng) {
  EXPECT_EQ(SummarizePng("GIF89a...").status(),
            absl::InvalidArgumentError("not a PNG: the first 8 bytes are not the PNG signature"));
}

TEST(PngSummaryTest, HeaderCrcErrorNamesTheChunk) {
  std::string png = ReadTestdata("good.png");
  png[8 + 8 + 13] ^= 1;  // the IHDR chunk's CRC, after the signature, length, type and data
  EXPECT_EQ(SummarizePng(png).status(), absl::InvalidArgumentError("PNG header: IHDR: CRC error"));
}

TEST(PngSummaryTest, TruncatedImageDataNamesTheRow) {
  const std::string png = ReadTestdata("good.png").substr(0, 100);
  EXPECT_EQ(
      SummarizePng(png).status(),
      absl::InvalidArgumentError("PNG row 0 of 48 (pass 1 of 1): unexpected end of the file"));
}

// libpng refuses more than 1,000,000 pixels a side by default; SummarizePng lets the sandbox
// decide instead.
TEST(PngSummaryTest, WiderThanLibpngsDefaultLimit) {
  absl::StatusOr<PngSummary> summary = SummarizePng(ReadTestdata("wide.png"));
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->width, 1'500'000u);
  EXPECT_EQ(summary->height, 1u);
  EXPECT_EQ(summary->channels, 1);
}

// The image buffer a bomb asks for (60000 * 60000 * 4 bytes) does not fit in 256 MiB of
// address space: the decoder gets std::bad_alloc, before decoding a row. In a child process,
// which the limit confines.
TEST(PngSummaryDeathTest, BombExhaustsTheAddressSpace) {
#ifdef __SANITIZE_ADDRESS__
  GTEST_SKIP() << "AddressSanitizer reserves terabytes of address space for its shadow memory: "
                  "under an RLIMIT_AS of 256 MiB the sanitized process cannot start";
#endif

  const std::string png = ReadTestdata("bomb.png");
  EXPECT_EXIT(ExitAfterParsingUnderLimit(256 << 20, [&] { return SummarizePng(png).status(); }),
              testing::ExitedWithCode(kBadAlloc), "");
}

// libpng's own row buffer for 100,000,000 pixels of 8-bit RGBA (400 MB) does not fit either:
// libpng reports "Out of memory" as an error, which SummarizePng makes ResourceExhausted.
TEST(PngSummaryDeathTest, RowBombExhaustsTheAddressSpace) {
#ifdef __SANITIZE_ADDRESS__
  GTEST_SKIP() << "AddressSanitizer reserves terabytes of address space for its shadow memory: "
                  "under an RLIMIT_AS of 256 MiB the sanitized process cannot start";
#endif

  const std::string png = ReadTestdata("row_bomb.png");
  EXPECT_EXIT(ExitAfterParsingUnderLimit(256 << 20, [&] { return SummarizePng(png).status(); }),
              testing::ExitedWithCode(kResourceExhausted), "PNG transformation: Out of memory");
}

}  // namespace
}  // namespace sbox::examples
