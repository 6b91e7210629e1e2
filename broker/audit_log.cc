#include "broker/audit_log.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "broker/open_flags.h"
#include "proto/errno_name.h"

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

// `s` as a JSON string; see DecisionToJson in the header for the escaping.
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

}  // namespace

std::string DecisionToJson(const Decision& d) {
  std::string json = "{\"time\":\"";
  json += absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ", d.time, absl::UTCTimeZone());
  absl::StrAppend(&json, "\",\"pid\":", d.pid, ",\"op\":");
  AppendJsonString(&json, OpName(d.op));
  json += ",\"path\":";
  AppendJsonString(&json, d.path);
  if (!d.path2.empty()) {
    json += ",\"path2\":";
    AppendJsonString(&json, d.path2);
  }
  absl::StrAppend(&json, ",\"flags\":", d.flags);
  if (d.op == proto::Op::kOpen) {
    json += ",\"flags_text\":";
    AppendJsonString(&json, OpenFlagsToString(d.flags));
  }
  if (d.mode != 0) absl::StrAppend(&json, ",\"mode\":", d.mode);
  json += d.allowed ? ",\"decision\":\"allow\"" : ",\"decision\":\"deny\"";
  if (d.rule != nullptr) {
    json += ",\"rule\":";
    AppendJsonString(&json, d.rule->ToString());
    absl::StrAppend(&json, ",\"rule_index\":", d.rule->index + 1);
  } else {
    json += ",\"rule\":null,\"rule_index\":null";
  }
  json += ",\"reason\":";
  AppendJsonString(&json, d.reason != nullptr ? d.reason : "");
  absl::StrAppend(&json, ",\"errno\":", d.error);
  if (d.error != 0) {
    json += ",\"errno_name\":";
    AppendJsonString(&json, ErrnoName(d.error));
  }
  absl::StrAppend(&json, ",\"us\":", absl::ToInt64Microseconds(d.elapsed), "}");
  return json;
}

absl::StatusOr<std::unique_ptr<JsonLinesAuditLog>> JsonLinesAuditLog::Open(
    const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    return absl::ErrnoToStatus(errno, absl::StrFormat("audit log: open(\"%s\")", path));
  }
  return std::make_unique<JsonLinesAuditLog>(std::move(fd));
}

DecisionLog JsonLinesAuditLog::AsLog() {
  return [this](const Decision& decision) { WriteLine(DecisionToJson(decision)); };
}

void JsonLinesAuditLog::WriteLine(std::string line) {
  line += '\n';
  absl::MutexLock lock(&mu_);
  if (line_cut_) line.insert(line.begin(), '\n');
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = write(fd_.get(), line.data() + done, line.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      // n == 0 cannot happen for a non-empty write to a file or pipe; counting it as an error
      // keeps the loop from spinning should some descriptor do it.
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  if (done > 0) line_cut_ = line[done - 1] != '\n';
}

}  // namespace sbox
