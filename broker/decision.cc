#include "broker/decision.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "broker/open_flags.h"
#include "proto/errno_name.h"

namespace sbox {
namespace {

std::string FlagsText(const Decision& d) {
  switch (d.op) {
    case proto::Op::kOpen:
      return OpenFlagsToString(d.flags);
    case proto::Op::kAccess:
      return absl::StrFormat("mode=%#o", d.flags);
    case proto::Op::kStat:
      return d.flags == 0 ? "follow" : absl::StrFormat("flags=%#x", d.flags);
    default:
      return absl::StrFormat("flags=%#x", d.flags);
  }
}

}  // namespace

std::string OpName(proto::Op op) {
  switch (op) {
    case proto::Op::kOpen:
      return "open";
    case proto::Op::kAccess:
      return "access";
    case proto::Op::kStat:
      return "stat";
    case proto::Op::kNewChannel:
      return "new-channel";
  }
  return absl::StrFormat("op %d", static_cast<int>(op));
}

std::string FormatDecision(const Decision& d) {
  std::string line = absl::StrFormat(
      "%s \"%s\" %s: ", OpName(d.op),
      absl::CHexEscape(absl::string_view(d.path.data(), d.path.size())), FlagsText(d));
  if (!d.allowed) {
    absl::StrAppendFormat(&line, "denied, %s: %s", ErrnoName(d.error), d.reason);
    if (d.grant != nullptr) {
      absl::StrAppendFormat(&line, " (%s %s)", GrantKindName(d.grant->kind), d.grant->path);
    }
    return line;
  }
  absl::StrAppendFormat(&line, "allowed by %s %s", GrantKindName(d.grant->kind), d.grant->path);
  if (d.error != 0) absl::StrAppendFormat(&line, ", failed: %s", ErrnoName(d.error));
  return line;
}

}  // namespace sbox
