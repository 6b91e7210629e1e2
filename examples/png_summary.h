#ifndef SBOX_EXAMPLES_PNG_SUMMARY_H_
#define SBOX_EXAMPLES_PNG_SUMMARY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sbox::examples {

// What SummarizePng found: the header's fields as the file declares them, and a checksum of
// the decoded pixels.
struct PngSummary {
  uint32_t width = 0;
  uint32_t height = 0;
  int bit_depth = 0;   // per channel, as declared: 1, 2, 4, 8 or 16
  int color_type = 0;  // PNG_COLOR_TYPE_*
  int channels = 0;    // of the declared color type: 1 (gray, palette) to 4 (RGBA)
  // FNV-1a (32-bit) over the image decoded to 8-bit RGBA, row after row: the same pixels give
  // the same checksum whatever the file's color type, bit depth or interlacing.
  uint32_t checksum = 0;
};

// Decodes the PNG in `bytes`, which may be hostile, the way an image decoder does: the whole
// image is allocated as one buffer of width * height * 4 bytes, and libpng decodes it into one
// reused row buffer, row by row, copied into the image. libpng's own dimension and chunk-size
// limits are raised from its defaults (1,000,000 pixels a side, 8 MB a chunk) to the format's
// maximum, 2^31 - 1, so that what stops a decompression bomb is the memory the process may
// use: std::bad_alloc escapes when the image buffer cannot be had, and an allocation of libpng's
// own that fails is ResourceExhausted, e.g. "PNG transformation: Out of memory" (a sandbox
// reports either as its memory limit).
//
// Other errors are InvalidArgument naming what libpng rejected and where, e.g. "PNG header:
// IHDR: CRC error", or "PNG row 12 of 48 (pass 1 of 1): unexpected end of the file".
absl::StatusOr<PngSummary> SummarizePng(absl::string_view bytes);

// "width=64 height=48 bit_depth=8 color_type=6 channels=4 checksum=0x1234abcd"
std::string FormatPngSummary(const PngSummary& summary);

}  // namespace sbox::examples

#endif  // SBOX_EXAMPLES_PNG_SUMMARY_H_
