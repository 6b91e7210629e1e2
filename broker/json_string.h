#ifndef SBOX_BROKER_JSON_STRING_H_
#define SBOX_BROKER_JSON_STRING_H_

#include <string>
#include <string_view>

namespace sbox {

// Appends `s` to `out` as a JSON string, quotes included, valid JSON whatever bytes `s` holds
// (paths and strings from the sandboxee may hold any): '"' and '\' as \" and \\; control
// characters (below 0x20, and 0x7f) as \b \f \n \r \t or \u00XX; valid UTF-8 sequences
// pass through unchanged; each byte of an invalid UTF-8 sequence becomes the escape \u00XX, XX
// being the byte (0x80 to 0xff). To recover the raw bytes, map those escapes back to bytes on
// the JSON text: valid characters are never written as \u0080-\u00ff escapes, so there the
// escapes are unambiguous.
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace sbox

#endif  // SBOX_BROKER_JSON_STRING_H_
