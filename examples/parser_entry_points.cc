#include "examples/parser_entry_points.h"

#include "absl/status/status.h"
#include "examples/archive_listing.h"
#include "examples/png_summary.h"
#include "examples/xml_summary.h"
#include "sandboxee/entry_point.h"

namespace sbox::examples {
namespace {

absl::Status PngSummaryEntryPoint(CallContext& call) {
  absl::StatusOr<PngSummary> summary = SummarizePng(call.input());
  if (!summary.ok()) return summary.status();
  call.output() = FormatPngSummary(*summary);
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(png_summary, PngSummaryEntryPoint);

absl::Status XmlSummaryEntryPoint(CallContext& call) {
  absl::StatusOr<XmlSummary> summary = SummarizeXml(call.input());
  if (!summary.ok()) return summary.status();
  call.output() = FormatXmlSummary(*summary);
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(xml_summary, XmlSummaryEntryPoint);

absl::Status ArchiveListingEntryPoint(CallContext& call) {
  absl::StatusOr<std::vector<ArchiveEntry>> entries = ListArchive(call.input());
  if (!entries.ok()) return entries.status();
  call.output() = FormatArchiveListing(*entries);
  return absl::OkStatus();
}
SBOX_ENTRY_POINT(archive_listing, ArchiveListingEntryPoint);

}  // namespace
}  // namespace sbox::examples
