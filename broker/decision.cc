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
      return (d.flags & O_CREAT)
                 ? absl::StrFormat("%s mode=%#o", OpenFlagsToString(d.flags), d.mode)
                 : OpenFlagsToString(d.flags);
    case proto::Op::kAccess:
      return absl::StrFormat("mode=%#o", d.flags);
    case proto::Op::kStat:
      return d.flags == 0 ? "follow" : "nofollow";
    case proto::Op::kExec:
      return d.flags == 0 ? "" : "nofollow";
    case proto::Op::kMkdir:
    case proto::Op::kChmod:
      return absl::StrFormat("mode=%#o", d.mode);
    default:
      return d.flags == 0 ? "" : absl::StrFormat("flags=%#x", d.flags);
  }
}

std::string Quoted(std::string_view path) {
  return absl::StrCat("\"", absl::CHexEscape(absl::string_view(path.data(), path.size())), "\"");
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
    case proto::Op::kReadlink:
      return "readlink";
    case proto::Op::kMkdir:
      return "mkdir";
    case proto::Op::kRmdir:
      return "rmdir";
    case proto::Op::kUnlink:
      return "unlink";
    case proto::Op::kRename:
      return "rename";
    case proto::Op::kLink:
      return "link";
    case proto::Op::kSymlink:
      return "symlink";
    case proto::Op::kChmod:
      return "chmod";
    case proto::Op::kTruncate:
      return "truncate";
    case proto::Op::kConnect:
      return "connect";
    case proto::Op::kChdir:
      return "chdir";
    case proto::Op::kGetcwd:
      return "getcwd";
    case proto::Op::kChown:
      return "chown";
    case proto::Op::kUtimens:
      return "utimens";
    case proto::Op::kStatfs:
      return "statfs";
    case proto::Op::kMknod:
      return "mknod";
    case proto::Op::kExec:
      return "exec";
  }
  return absl::StrFormat("op %d", static_cast<int>(op));
}

std::string FormatDecision(const Decision& d) {
  std::string line = absl::StrCat(OpName(d.op), " ", Quoted(d.path));
  if (!d.path2.empty()) {
    absl::StrAppend(&line, d.op == proto::Op::kExec ? " argv[0] " : " ", Quoted(d.path2));
  }
  const std::string flags = FlagsText(d);
  if (!flags.empty()) absl::StrAppend(&line, " ", flags);
  line += ": ";
  if (d.allowed) {
    line += "allowed";
    if (d.error != 0) absl::StrAppendFormat(&line, ", failed: %s", ErrnoName(d.error));
  } else {
    absl::StrAppendFormat(&line, "denied, %s: %s", ErrnoName(d.error), d.reason);
  }
  if (d.rule != nullptr) {
    absl::StrAppendFormat(&line, " (rule %d: %s)", d.rule->index + 1, d.rule->ToString());
  }
  return line;
}

}  // namespace sbox
