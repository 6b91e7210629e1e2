#include "examples/png_summary.h"

#include <png.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sbox::examples {
namespace {

// libpng's limits, raised to the largest the format allows: a bomb is the sandbox's to stop.
constexpr png_uint_32 kMaxDimension = PNG_UINT_31_MAX;
constexpr png_alloc_size_t kMaxChunkBytes = PNG_UINT_31_MAX;

// Where libpng reads from and writes its error to. Plain C data: libpng's error path longjmps
// over the frames between, which must destroy nothing.
struct Source {
  const char* data;
  size_t size;
  size_t offset;
  char error[256];
  bool out_of_memory;  // an allocation of libpng's failed
};

void OnError(png_structp png, png_const_charp message) {
  auto* source = static_cast<Source*>(png_get_error_ptr(png));
  std::snprintf(source->error, sizeof(source->error), "%s", message);
  png_longjmp(png, 1);
}

// Warnings (an unknown chunk, a bad ancillary CRC) do not stop a decoder, and stderr is not
// the caller's to write to.
void OnWarning(png_structp, png_const_charp) {}

// libpng's allocations, through malloc as by default, noting a failure: libpng reports it as an
// error like any other ("Out of memory"), which the caller makes ResourceExhausted.
png_voidp Allocate(png_structp png, png_alloc_size_t size) {
  void* memory = std::malloc(size);
  if (memory == nullptr) static_cast<Source*>(png_get_mem_ptr(png))->out_of_memory = true;
  return memory;
}

void Free(png_structp, png_voidp memory) { std::free(memory); }

void ReadFromSource(png_structp png, png_bytep out, size_t length) {
  auto* source = static_cast<Source*>(png_get_io_ptr(png));
  if (length > source->size - source->offset) png_error(png, "unexpected end of the file");
  std::memcpy(out, source->data + source->offset, length);
  source->offset += length;
}

// Runs `step`, calls into libpng, and returns false if libpng reported an error. This frame is
// the one libpng's longjmp returns to; `step` must hold nothing with a destructor.
template <typename Step>
[[nodiscard]] bool Guarded(png_structp png, const Step& step) {
  if (setjmp(png_jmpbuf(png))) return false;
  step();
  return true;
}

class ReadStruct {
 public:
  explicit ReadStruct(Source* source) {
    png_ = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, source, OnError, OnWarning, source,
                                    Allocate, Free);
    if (png_ != nullptr) info_ = png_create_info_struct(png_);
  }
  ~ReadStruct() { png_destroy_read_struct(&png_, &info_, nullptr); }
  ReadStruct(const ReadStruct&) = delete;
  ReadStruct& operator=(const ReadStruct&) = delete;

  png_structp png() const { return png_; }
  png_infop info() const { return info_; }

 private:
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
};

// The Status of a failed step (`where`: "PNG header", ...): ResourceExhausted when libpng ran
// out of memory, which a sandbox reports as its memory limit.
absl::Status Failed(const Source& source, absl::string_view where) {
  const std::string text = absl::StrCat(where, ": ", source.error);
  if (source.out_of_memory) return absl::ResourceExhaustedError(text);
  return absl::InvalidArgumentError(text);
}

uint32_t Fnv1a(const std::vector<uint8_t>& bytes) {
  uint32_t hash = 2166136261u;
  for (uint8_t byte : bytes) hash = (hash ^ byte) * 16777619u;
  return hash;
}

}  // namespace

absl::StatusOr<PngSummary> SummarizePng(absl::string_view bytes) {
  if (bytes.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8)) {
    return absl::InvalidArgumentError("not a PNG: the first 8 bytes are not the PNG signature");
  }
  Source source = {bytes.data(), bytes.size(), 0, "", false};
  ReadStruct read(&source);
  // libpng returns no struct only when it could not allocate one.
  if (read.info() == nullptr) return absl::ResourceExhaustedError("PNG: no memory for libpng");
  png_structp png = read.png();
  png_infop info = read.info();
  png_set_read_fn(png, &source, ReadFromSource);
  png_set_user_limits(png, kMaxDimension, kMaxDimension);
  png_set_chunk_malloc_max(png, kMaxChunkBytes);

  if (!Guarded(png, [&] { png_read_info(png, info); })) {
    return Failed(source, "PNG header");
  }
  PngSummary summary;
  png_get_IHDR(png, info, &summary.width, &summary.height, &summary.bit_depth, &summary.color_type,
               nullptr, nullptr, nullptr);
  summary.channels = png_get_channels(png, info);

  // Every color type and depth to 8-bit RGBA, so that the checksum is of the pixels alone.
  int passes = 0;
  if (!Guarded(png, [&] {
        png_set_expand(png);
        png_set_strip_16(png);
        png_set_gray_to_rgb(png);
        png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
        passes = png_set_interlace_handling(png);
        png_read_update_info(png, info);
      })) {
    return Failed(source, "PNG transformation");
  }
  const size_t row_bytes = size_t{summary.width} * 4;
  if (png_get_rowbytes(png, info) != row_bytes) {
    return absl::InternalError(absl::StrCat("PNG transformation: rows of ",
                                            png_get_rowbytes(png, info), " bytes, not ", row_bytes,
                                            " (8-bit RGBA)"));
  }

  // The decoded image, as a decoder hands it to its caller: what a bomb's dimensions inflate.
  size_t image_bytes = 0;
  if (__builtin_mul_overflow(row_bytes, size_t{summary.height}, &image_bytes)) {
    return absl::ResourceExhaustedError(absl::StrCat("PNG image: ", summary.width, " x ",
                                                     summary.height,
                                                     " pixels of 8-bit RGBA overflow size_t"));
  }
  std::vector<uint8_t> image(image_bytes);
  // libpng decodes into one row; an interlaced image's later passes add to the row's pixels
  // from the earlier ones.
  std::vector<uint8_t> row(row_bytes);
  for (int pass = 0; pass < passes; ++pass) {
    for (uint32_t y = 0; y < summary.height; ++y) {
      uint8_t* image_row = image.data() + y * row_bytes;
      if (pass > 0) std::memcpy(row.data(), image_row, row_bytes);
      if (!Guarded(png, [&] { png_read_row(png, row.data(), nullptr); })) {
        return Failed(source, absl::StrCat("PNG row ", y, " of ", summary.height, " (pass ",
                                           pass + 1, " of ", passes, ")"));
      }
      std::memcpy(image_row, row.data(), row_bytes);
    }
  }
  if (!Guarded(png, [&] { png_read_end(png, nullptr); })) {
    return Failed(source, "PNG end");
  }
  summary.checksum = Fnv1a(image);
  return summary;
}

std::string FormatPngSummary(const PngSummary& summary) {
  return absl::StrFormat(
      "width=%u height=%u bit_depth=%d color_type=%d channels=%d checksum=0x%08x", summary.width,
      summary.height, summary.bit_depth, summary.color_type, summary.channels, summary.checksum);
}

}  // namespace sbox::examples
