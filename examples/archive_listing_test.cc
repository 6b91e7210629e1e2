#include "examples/archive_listing.h"

#include <string>

#include "absl/status/status.h"
#include "examples/parse_under_memory_limit.h"
#include "examples/testdata.h"
#include "gtest/gtest.h"

namespace sbox::examples {
namespace {

TEST(ArchiveListingTest, GoodTarGz) {
  absl::StatusOr<std::vector<ArchiveEntry>> entries = ListArchive(ReadTestdata("good.tar.gz"));
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(FormatArchiveListing(*entries),
            "6 docs/readme.txt\n"
            "1000 docs/notes.txt\n"
            "0 empty\n");
}

TEST(ArchiveListingTest, UnknownFormat) {
  EXPECT_EQ(ListArchive("not an archive, not compressed either").status(),
            absl::InvalidArgumentError("archive: Unrecognized archive format"));
}

TEST(ArchiveListingTest, TruncatedGzip) {
  const std::string tar_gz = ReadTestdata("good.tar.gz");
  EXPECT_EQ(ListArchive(tar_gz.substr(0, tar_gz.size() - 30)).status(),
            absl::InvalidArgumentError("archive: truncated gzip input"));
}

// The xz dictionary the bomb's header asks for (768 MiB) does not fit in 256 MiB of address
// space: liblzma's allocation fails, and ListArchive returns ResourceExhausted. In a child
// process, which the limit confines.
TEST(ArchiveListingDeathTest, BombExhaustsTheAddressSpace) {
#ifdef __SANITIZE_ADDRESS__
  GTEST_SKIP() << "AddressSanitizer reserves terabytes of address space for its shadow memory: "
                  "under an RLIMIT_AS of 256 MiB the sanitized process cannot start";
#endif

  const std::string tar_xz = ReadTestdata("bomb.tar.xz");
  EXPECT_EXIT(ExitAfterParsingUnderLimit(256 << 20, [&] { return ListArchive(tar_xz).status(); }),
              testing::ExitedWithCode(kResourceExhausted),
              "archive: Lzma library error: Cannot allocate memory");
}

}  // namespace
}  // namespace sbox::examples
