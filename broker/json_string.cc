#include "broker/json_string.h"

namespace sbox {
namespace {

// Length of the valid UTF-8 sequence that starts at s[i], or 0 when none does. Valid is RFC
// 3629's: no overlong forms, no surrogates (U+D800-U+DFFF), nothing above U+10FFFF.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  // The allowed range of the second byte; the rest are plain continuation bytes.
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  size_t length;
  if (lead < 0xc2) {
    return 0;  // a continuation byte, or the lead of an overlong 2-byte form
  } else if (lead < 0xe0) {
    length = 2;
  } else if (lead < 0xf0) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // overlong
    if (lead == 0xed) high = 0x9f;  // surrogates
  } else if (lead < 0xf5) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // overlong
    if (lead == 0xf4) high = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() - i < length) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  }
  return length;
}

void AppendByteEscape(std::string* out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  *out += "\\u00";
  *out += kHex[c >> 4];
  *out += kHex[c & 0xf];
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  *out += '"';
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          AppendByteEscape(out, c);
        } else if (const size_t length = Utf8SequenceLength(s, i); length != 0) {
          out->append(s.data() + i, length);
          i += length;
          continue;
        } else {
          // One byte of an invalid sequence; the next byte is judged afresh, as a possible
          // start of a valid sequence.
          AppendByteEscape(out, c);
        }
        break;
    }
    ++i;
  }
  *out += '"';
}

}  // namespace sbox
