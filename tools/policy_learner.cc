#include "tools/policy_learner.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "broker/file_policy.h"
#include "broker/path_check.h"
#include "broker/sandbox_result.h"
#include "broker/syscall_policy.h"
#include "broker/syscall_reach.h"

namespace sbox {
namespace {

// The argument whose values narrow each of these syscalls.
const std::map<std::string, int>& NarrowedArgument() {
  static const auto* const kArgs = new std::map<std::string, int>{
      {"socket", 0}, {"ioctl", 1},      {"prctl", 0},
      {"fcntl", 1},  {"arch_prctl", 0}, {"personality", 0},
  };
  return *kArgs;
}

bool Holds(const ArgCondition& c, const std::vector<uint64_t>& args) {
  return c.Admits(args[static_cast<size_t>(c.index)]);
}

bool HoldsAll(const std::vector<ArgCondition>& all_of, const std::vector<uint64_t>& args) {
  return std::all_of(all_of.begin(), all_of.end(),
                     [&](const ArgCondition& c) { return Holds(c, args); });
}

std::string Number(uint64_t v) { return v < 4096 ? absl::StrCat(v) : absl::StrFormat("%#x", v); }

// "arg2 & 0x4 == 0 && arg3 == 0", as the policy format writes conditions.
std::string ConditionText(const std::vector<ArgCondition>& all_of) {
  std::vector<std::string> parts;
  for (const ArgCondition& c : all_of) {
    const std::string arg = absl::StrCat("arg", c.index);
    switch (c.compare) {
      case ArgCondition::Compare::kEq:
        parts.push_back(absl::StrCat(arg, " == ", Number(c.value)));
        break;
      case ArgCondition::Compare::kNe:
        parts.push_back(absl::StrCat(arg, " != ", Number(c.value)));
        break;
      case ArgCondition::Compare::kLt:
        parts.push_back(absl::StrCat(arg, " < ", Number(c.value)));
        break;
      case ArgCondition::Compare::kLe:
        parts.push_back(absl::StrCat(arg, " <= ", Number(c.value)));
        break;
      case ArgCondition::Compare::kGt:
        parts.push_back(absl::StrCat(arg, " > ", Number(c.value)));
        break;
      case ArgCondition::Compare::kGe:
        parts.push_back(absl::StrCat(arg, " >= ", Number(c.value)));
        break;
      case ArgCondition::Compare::kMaskedEq:
        parts.push_back(absl::StrCat(arg, " & ", Number(c.mask), " == ", Number(c.value)));
        break;
      case ArgCondition::Compare::kIn: {
        std::vector<std::string> values;
        for (uint64_t v : c.values) values.push_back(Number(v));
        parts.push_back(absl::StrCat(arg, " in {", absl::StrJoin(values, ", "), "}"));
        break;
      }
    }
  }
  return absl::StrJoin(parts, " && ");
}

// Every group's allow rules for `name`; `unconditional` when one of them has no condition.
std::vector<std::vector<ArgCondition>> GroupConditions(const std::string& name,
                                                       bool* unconditional) {
  *unconditional = false;
  std::vector<std::vector<ArgCondition>> found;
  for (SyscallGroup group : {SyscallGroup::kBasicIo, SyscallGroup::kMemoryWithoutExec,
                             SyscallGroup::kTime, SyscallGroup::kSignals, SyscallGroup::kThreads,
                             SyscallGroup::kExit, SyscallGroup::kIdentity, SyscallGroup::kRandom,
                             SyscallGroup::kBrokerChannel, SyscallGroup::kProgramStartup}) {
    for (const SyscallPolicy::GroupRule& rule : SyscallPolicy::GroupRules(group)) {
      if (rule.name != name || rule.error != 0 || rule.redirected) continue;
      if (rule.all_of.empty()) *unconditional = true;
      found.push_back(rule.all_of);
    }
  }
  return found;
}

// What the run did that reaches outside the sandbox, said where the rule allows it: the line
// is there because the run needed it, and `sbox audit --lint` flags it until it is justified.
std::string ReachNote(const std::string& name, const std::vector<ArgCondition>& all_of) {
  const std::string reach = OutsideReach(name, all_of);
  return reach.empty() ? "" : absl::StrCat("; reaches outside the sandbox: ", reach);
}

// The alternatives among `conditions` that the `calls` need, one per call, in the order first
// used; empty when a call fits none of them.
std::vector<const std::vector<ArgCondition>*> AdmittingAll(
    const std::vector<std::vector<ArgCondition>>& conditions,
    const std::set<std::vector<uint64_t>>& calls) {
  std::vector<const std::vector<ArgCondition>*> used;
  for (const std::vector<uint64_t>& args : calls) {
    const auto it = std::find_if(conditions.begin(), conditions.end(),
                                 [&](const auto& all_of) { return HoldsAll(all_of, args); });
    if (it == conditions.end()) return {};
    if (std::find(used.begin(), used.end(), &*it) == used.end()) used.push_back(&*it);
  }
  return used;
}

Permissions OpenPermissions(uint32_t flags) {
  Permissions p = 0;
  const uint32_t access = flags & O_ACCMODE;
  if (access == O_RDONLY || access == O_RDWR) p |= kRead;
  if (access == O_WRONLY || access == O_RDWR || (flags & (O_TRUNC | O_APPEND))) p |= kWrite;
  if (flags & O_CREAT) p |= kCreate;
  return p;
}

}  // namespace

void PolicyLearner::AddSyscall(int number, const uint64_t args[6]) {
  absl::MutexLock lock(&mu_);
  SyscallSeen& seen = syscalls_[number];
  ++seen.count;
  if (seen.overflowed) return;
  if (seen.args.size() >= kMaxTuples) {
    seen.overflowed = true;
    return;
  }
  seen.args.insert(std::vector<uint64_t>(args, args + 6));
}

void PolicyLearner::AddDecision(const Decision& d) {
  Permissions first = 0;
  Permissions second = 0;
  switch (d.op) {
    case proto::Op::kOpen:
      first = OpenPermissions(d.flags);
      break;
    case proto::Op::kAccess:
      first = (d.flags & W_OK) ? (kRead | kWrite) : kRead;
      break;
    case proto::Op::kStat:
    case proto::Op::kStatfs:
    case proto::Op::kReadlink:
    case proto::Op::kChdir:
      first = kRead;
      break;
    case proto::Op::kMkdir:
    case proto::Op::kMknod:
    case proto::Op::kSymlink:
      first = kCreate;
      break;
    case proto::Op::kRmdir:
    case proto::Op::kUnlink:
      first = kDelete;
      break;
    case proto::Op::kRename:
      first = kDelete;
      second = kCreate | kDelete;
      break;
    case proto::Op::kLink:
      first = kRead;
      second = kCreate;
      break;
    case proto::Op::kChmod:
    case proto::Op::kChown:
    case proto::Op::kUtimens:
    case proto::Op::kTruncate:
      first = kWrite;
      break;
    case proto::Op::kConnect:
      first = kConnect;
      break;
    case proto::Op::kNewChannel:
    case proto::Op::kGetcwd:  // needs no permission
      return;
  }
  // A path the program named "dir/" is the directory's; one that stays unnormalized was refused
  // for that while learning, and would be again.
  const auto rule_path = [](std::string_view path) {
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    return CheckAbsoluteNormalizedPath(path) == PathProblem::kNone ? std::string(path)
                                                                   : std::string();
  };
  const std::string path = rule_path(d.path);
  // A symlink's path2 is its target, which the broker judges but the program does not open.
  const std::string path2 = second != 0 ? rule_path(d.path2) : std::string();
  absl::MutexLock lock(&mu_);
  // The broker walks through these on the way, and needs a rule to look at each.
  for (const std::string& link : d.links) {
    if (const std::string name = rule_path(link); !name.empty()) files_[name] |= kRead;
  }
  if (first != 0 && !path.empty()) files_[path] |= first;
  // The modes the program gave what it created or chmod'ed: the policy's create modes must
  // admit them (a chmod cannot say whether it changes a file or a directory).
  const uint32_t mode = d.mode & 0777;
  if (d.allowed && d.op == proto::Op::kMkdir) directory_mode_ |= mode;
  if (d.allowed && (d.op == proto::Op::kOpen || d.op == proto::Op::kMknod)) file_mode_ |= mode;
  if (d.allowed && d.op == proto::Op::kChmod) {
    file_mode_ |= mode;
    directory_mode_ |= mode;
  }
  if (!path2.empty()) files_[path2] |= second;
}

std::string PolicyLearner::PolicyText(const std::string& command) const {
  absl::MutexLock lock(&mu_);
  std::string text = absl::StrCat(
      "# Learned by `sbox learn` from one run of: ", command,
      "\n# It allows what that run did and nothing else; review it (`sbox audit --lint`) "
      "before use.\n\ndefault kill-and-report\nallow group file-redirection\n"
      "errno ENOSYS clone3  # as while learning: glibc then uses clone, whose flags a filter "
      "can read\n");
  std::vector<std::string> lines;
  for (const auto& [number, seen] : syscalls_) {
    const std::string name = SyscallName(number);
    const std::string count =
        absl::StrCat("  # ", seen.count, seen.count == 1 ? " call" : " calls");
    // Narrowed by the conditions of sbox's groups, or else, for a call not narrowed to the
    // values seen below, by those that keep it inside the sandbox (broker/syscall_reach.h),
    // when they admit every call seen.
    bool unconditional = false;
    const std::vector<std::vector<ArgCondition>> group = GroupConditions(name, &unconditional);
    std::vector<const std::vector<std::vector<ArgCondition>>*> condition_sets;
    if (!unconditional && !group.empty()) condition_sets.push_back(&group);
    const auto narrowed = NarrowedArgument().find(name);
    if (const SyscallReach* reach = FindReach(name);
        reach != nullptr && !reach->inside.empty() && narrowed == NarrowedArgument().end()) {
      condition_sets.push_back(&reach->inside);
    }
    std::vector<const std::vector<ArgCondition>*> used;
    for (const auto* conditions : condition_sets) {
      if (seen.overflowed || !(used = AdmittingAll(*conditions, seen.args)).empty()) break;
    }
    if (!used.empty()) {
      for (const auto* all_of : used) {
        lines.push_back(absl::StrCat("allow ", name, " if ", ConditionText(*all_of),
                                     all_of == used.front() ? count : ""));
      }
      continue;
    }
    if (!seen.overflowed && narrowed != NarrowedArgument().end()) {
      std::set<uint64_t> values;
      for (const std::vector<uint64_t>& args : seen.args) {
        values.insert(args[static_cast<size_t>(narrowed->second)]);
      }
      ArgCondition in{narrowed->second, ArgCondition::Compare::kIn, 0, 0,
                      std::vector<uint64_t>(values.begin(), values.end())};
      lines.push_back(
          absl::StrCat("allow ", name, " if ", ConditionText({in}), count, ReachNote(name, {in})));
      continue;
    }
    lines.push_back(absl::StrCat("allow ", name, count, ReachNote(name, {})));
  }
  absl::StrAppend(&text, absl::StrJoin(lines, "\n"), lines.empty() ? "" : "\n");

  std::map<std::string, Permissions> files;
  std::vector<std::string> left_out;
  for (const auto& [path, permissions] : files_) {
    if (absl::StartsWith(path, "/proc/") && path.size() > 6 && path[6] >= '0' && path[6] <= '9') {
      left_out.push_back(absl::StrCat("# not granted (the sandboxee's own /proc): ", path));
      continue;
    }
    if (path == "/") continue;  // the ancestor of every rule, which may always be stat'ed
    // Grants are names: symlinks the broker followed and files that are gone again alike.
    files[path] |= permissions;
  }
  absl::StrAppend(&text, "\n");
  for (const auto& [path, permissions] : files) {
    absl::StrAppend(&text, "file ", PermissionsText(permissions), " ", path, "\n");
  }
  if (file_mode_ != 0600 || directory_mode_ != 0700) {
    absl::StrAppendFormat(&text, "create-modes 0%03o 0%03o  # the modes the program set\n",
                          file_mode_, directory_mode_);
  }
  for (const std::string& line : left_out) absl::StrAppend(&text, line, "\n");
  return text;
}

}  // namespace sbox
