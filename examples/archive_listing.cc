#include "examples/archive_listing.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sbox::examples {
namespace {

struct FreeArchive {
  void operator()(archive* reader) const { archive_read_free(reader); }
};

// libarchive's error as a Status: ResourceExhausted when it (or the decompressor under it) ran
// out of memory, which a sandbox reports as its memory limit; InvalidArgument otherwise.
absl::Status ArchiveError(archive* reader, absl::string_view where) {
  const char* message = archive_error_string(reader);
  const std::string text =
      absl::StrCat(where, ": ", message != nullptr ? message : "no message from libarchive");
  if (archive_errno(reader) == ENOMEM) return absl::ResourceExhaustedError(text);
  return absl::InvalidArgumentError(text);
}

}  // namespace

absl::StatusOr<std::vector<ArchiveEntry>> ListArchive(absl::string_view bytes) {
  std::unique_ptr<archive, FreeArchive> reader(archive_read_new());
  if (reader == nullptr) return absl::ResourceExhaustedError("archive: no memory for a reader");
  if (archive_read_support_filter_all(reader.get()) != ARCHIVE_OK ||
      archive_read_support_format_all(reader.get()) != ARCHIVE_OK) {
    return ArchiveError(reader.get(), "archive formats");
  }
  if (archive_read_open_memory(reader.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    return ArchiveError(reader.get(), "archive");
  }
  std::vector<ArchiveEntry> entries;
  while (true) {
    archive_entry* entry = nullptr;
    const int result = archive_read_next_header(reader.get(), &entry);
    if (result == ARCHIVE_EOF) break;
    // ARCHIVE_WARN: the entry is usable (an unknown extended attribute, say).
    if (result != ARCHIVE_OK && result != ARCHIVE_WARN) {
      return ArchiveError(reader.get(),
                          entries.empty()
                              ? "archive entry 1"
                              : absl::StrCat("archive entry ", entries.size() + 1, " (after ",
                                             absl::CEscape(entries.back().path), ")"));
    }
    const char* path = archive_entry_pathname(entry);
    ArchiveEntry listed;
    listed.path = path != nullptr ? path : "";
    if (archive_entry_size_is_set(entry)) listed.size = archive_entry_size(entry);
    entries.push_back(std::move(listed));
    if (archive_read_data_skip(reader.get()) != ARCHIVE_OK) {
      return ArchiveError(reader.get(), absl::StrCat("archive entry ", entries.size(), " (",
                                                     absl::CEscape(entries.back().path), ") data"));
    }
  }
  return entries;
}

std::string FormatArchiveListing(const std::vector<ArchiveEntry>& entries) {
  std::string out;
  for (const ArchiveEntry& entry : entries) {
    absl::StrAppend(&out, entry.size ? absl::StrCat(*entry.size) : "?", " ",
                    absl::CEscape(entry.path), "\n");
  }
  return out;
}

}  // namespace sbox::examples
