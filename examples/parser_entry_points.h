#ifndef SBOX_EXAMPLES_PARSER_ENTRY_POINTS_H_
#define SBOX_EXAMPLES_PARSER_ENTRY_POINTS_H_

// Entry points (sandboxee/entry_point.h) that run the parser examples on a call's input bytes,
// registered by parser_entry_points.cc, and the limits their hosts call them under.

#include "absl/time/time.h"
#include "call/sandbox.h"

namespace sbox::examples {

// Each outputs its parser's Format* text: FormatPngSummary, FormatXmlSummary,
// FormatArchiveListing.
inline constexpr char kPngSummaryEntryPoint[] = "png_summary";
inline constexpr char kXmlSummaryEntryPoint[] = "xml_summary";
inline constexpr char kArchiveListingEntryPoint[] = "archive_listing";

// Far above what the examples' good inputs need (a few MiB, a few milliseconds), far below
// what their bombs ask for. The CPU limit is a backstop above the deadline: at equal values
// either may end a busy parser first (the kernel's SIGXCPU or the broker's kill), and the
// tests expect the deadline.
inline Limits UntrustedParserLimits() {
  return Limits().SetAddressSpace(256 << 20).SetWallTime(absl::Seconds(2)).SetCpuSeconds(3);
}

}  // namespace sbox::examples

#endif  // SBOX_EXAMPLES_PARSER_ENTRY_POINTS_H_
