#ifndef SBOX_EXAMPLES_ARCHIVE_LISTING_H_
#define SBOX_EXAMPLES_ARCHIVE_LISTING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sbox::examples {

struct ArchiveEntry {
  std::string path;             // as the archive names it, unchecked
  std::optional<int64_t> size;  // unset when the format does not say
};

// Lists the entries of the archive in `bytes`, which may be hostile, with libarchive: every
// format and compression filter it knows (tar, zip, 7z, cpio, ...; gzip, xz, zstd, ...). Each
// entry's data is skipped, which for a compressed archive means decompressing it. Errors are
// InvalidArgument with libarchive's message and what it was reading: "archive: Unrecognized
// archive format" when the archive does not open, "archive entry 3 (after docs/a.txt): Damaged
// tar archive" for a header, "archive entry 3 (docs/b.txt) data: ..." for an entry's data.
// ResourceExhausted, with libarchive's message, when libarchive (or the decompressor under it)
// runs out of memory, e.g. "archive: Lzma library error: Cannot allocate memory".
absl::StatusOr<std::vector<ArchiveEntry>> ListArchive(absl::string_view bytes);

// One line per entry, "<size> <path>", the size "?" when unknown; paths C-escaped.
std::string FormatArchiveListing(const std::vector<ArchiveEntry>& entries);

}  // namespace sbox::examples

#endif  // SBOX_EXAMPLES_ARCHIVE_LISTING_H_
