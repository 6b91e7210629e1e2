#include "tools/denial_summary.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sbox {

DenialSummary::Kind DenialSummary::Class(const Decision& decision) {
  if (decision.allowed) return Kind::kNotListed;
  // A request the broker does not serve as made (O_TMPFILE, a flag outside the allowlist):
  // programs fall back to another way, and no grant would change it.
  if (decision.error == EINVAL) return Kind::kQuiet;
  if (decision.rule != nullptr || decision.error != ENOENT) return Kind::kListed;
  const bool probe = decision.op == proto::Op::kStat || decision.op == proto::Op::kAccess ||
                     decision.op == proto::Op::kReadlink || decision.op == proto::Op::kStatfs;
  return probe ? Kind::kNotListed : Kind::kQuiet;
}

std::string DenialSummary::Hint(const Decision& decision) {
  if (decision.path.empty() || decision.path[0] != '/' || decision.error == EINVAL) return "";
  std::string path(decision.path);
  // The sandboxee's own /proc entries are granted as /proc/self: its pid differs each run.
  if (const std::string own = absl::StrCat("/proc/", decision.pid);
      decision.pid > 0 && (path == own || absl::StartsWith(path, own + "/"))) {
    path.replace(0, own.size(), "/proc/self");
  }
  if (decision.rule != nullptr && decision.rule->kind == RuleKind::kDeny) {
    return absl::StrCat("a deny rule decides: `", decision.rule->ToString(), "`",
                        decision.rule->source.empty() ? "" : " at ", decision.rule->source);
  }
  bool writes = false;
  switch (decision.op) {
    case proto::Op::kOpen:
      writes = (decision.flags & O_ACCMODE) != O_RDONLY || (decision.flags & (O_CREAT | O_TRUNC));
      break;
    case proto::Op::kConnect:
      return absl::StrCat("to grant it, the policy line `file s ", path, "`");
    case proto::Op::kExec:
      return absl::StrCat("to grant it: --allow-exec ", path, ", or the policy line `file rx ",
                          path, "` with `allow group processes`");
    case proto::Op::kGetcwd:
    case proto::Op::kNewChannel:
      return "";
    case proto::Op::kStat:
    case proto::Op::kAccess:
    case proto::Op::kReadlink:
    case proto::Op::kStatfs:
    case proto::Op::kChdir:
      break;
    default:  // mkdir, unlink, rename, chmod, truncate, ...: they change the file system
      writes = true;
      break;
  }
  return writes ? absl::StrCat("to grant it: --allow-write ", path,
                               ", or the policy line `file rwcd ", path, "`")
                : absl::StrCat("to grant it: --allow-read ", path, ", or the policy line `file r ",
                               path, "`");
}

void DenialSummary::Add(const Decision& decision) {
  if (decision.allowed) return;
  std::lock_guard<std::mutex> lock(mutex_);
  ++count_;
  if (verbose_ != nullptr) *verbose_ << "sbox: " << FormatDecision(decision) << std::endl;
  Kind kind = Class(decision);
  // A path no rule covers, answered as absent: worth showing only when it is there outside (a
  // perl module's stat along @INC, an input not granted), since otherwise the program got the
  // answer it would have got unsandboxed and a grant would change nothing. A name the program
  // meant to create counts whatever is there. Looked up in Text, after the run: the broker
  // never touches a path no rule covers.
  const bool creates = decision.op == proto::Op::kOpen && (decision.flags & O_CREAT) != 0;
  const bool if_there = decision.rule == nullptr && decision.error == ENOENT && !creates &&
                        (decision.op == proto::Op::kOpen || kind == Kind::kNotListed);
  if (if_there) kind = Kind::kQuiet;
  if (kind == Kind::kNotListed) return;
  const bool quiet = kind == Kind::kQuiet;
  const size_t of_kind = quiet ? quiet_entries_ : entries_.size() - quiet_entries_;
  if (of_kind >= (quiet ? kMaxCandidates : kMaxListed)) return;
  if (!seen_.emplace(static_cast<int>(decision.op), std::string(decision.path)).second) return;
  const std::string hint = Hint(decision);
  entries_.push_back({quiet, if_there ? std::string(decision.path) : std::string(),
                      absl::StrCat(FormatDecision(decision), hint.empty() ? "" : "; ", hint)});
  if (quiet) ++quiet_entries_;
}

int64_t DenialSummary::count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return count_;
}

std::string DenialSummary::Text(bool run_failed) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<const std::string*> lines;
  for (const Entry& entry : entries_) {
    if (lines.size() >= kMaxListed || (entry.quiet && !run_failed)) continue;
    struct stat st;
    if (!entry.listed_if_there.empty() && lstat(entry.listed_if_there.c_str(), &st) != 0) continue;
    lines.push_back(&entry.line);
  }
  if (lines.empty()) return "";
  std::string text =
      absl::StrCat("sbox: ", count_, count_ == 1 ? " file operation" : " file operations",
                   " refused (-v shows each); the first:\n");
  for (const std::string* line : lines) absl::StrAppend(&text, "sbox:   ", *line, "\n");
  return text;
}

}  // namespace sbox
