#include "tools/policy_learner.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "broker/file_policy.h"
#include "broker/path_check.h"
#include "broker/policy_text.h"
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

// The groups a learned policy may widen to: all but file-redirection, which every learned
// policy has.
std::vector<SyscallGroup> LearnedGroups() {
  std::vector<SyscallGroup> groups;
  for (SyscallGroup group : SyscallPolicy::AllGroups()) {
    if (group != SyscallGroup::kFileRedirection) groups.push_back(group);
  }
  return groups;
}

// The conditions under which `group` allows `name` (an empty one: always); none when it does
// not allow it.
std::vector<std::vector<ArgCondition>> GroupConditions(SyscallGroup group,
                                                       const std::string& name) {
  std::vector<std::vector<ArgCondition>> found;
  for (const SyscallPolicy::GroupRule& rule : SyscallPolicy::GroupRules(group)) {
    if (rule.name != name) continue;
    // The broker decides an own-process call from its arguments, whatever they are.
    if (rule.own_process) found.push_back({});
    if (rule.error == 0 && !rule.redirected) found.push_back(rule.all_of);
  }
  return found;
}

std::string GroupLine(SyscallGroup group) {
  PolicyRule rule;
  rule.kind = PolicyRule::Kind::kAllowGroup;
  rule.group = group;
  return FormatRule(rule);
}

bool IsBeneath(absl::string_view path, absl::string_view directory) {
  return path == directory || directory == "/" ||
         (absl::StartsWith(path, directory) && path[directory.size()] == '/');
}

absl::string_view Parent(absl::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? absl::string_view("/") : path.substr(0, slash);
}

size_t Depth(absl::string_view path) {
  return path == "/" ? 0 : static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

// "/proc/<digits>" or beneath it: a process that the next run does not have (the sandboxee's
// own are /proc/self by then).
bool IsOtherProcess(absl::string_view path) {
  if (!absl::StartsWith(path, "/proc/")) return false;
  const size_t end = path.find('/', 6);
  const absl::string_view pid = path.substr(6, end == absl::string_view::npos ? end : end - 6);
  return !pid.empty() &&
         std::all_of(pid.begin(), pid.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Where a program's installation lives: created trees are never made there (the files a run
// wrote there keep their own rules, which `sbox audit --lint` flags).
bool IsInstallation(absl::string_view path) {
  for (absl::string_view top :
       {"/usr", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/opt", "/boot"}) {
    if (IsBeneath(path, top)) return true;
  }
  return false;
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

// The arguments (bit i: argument i) that a line the learner may write for `name` compares:
// its groups' conditions, those that keep it inside the sandbox, the argument it is narrowed by.
uint8_t RelevantArguments(const std::string& name) {
  uint8_t relevant = 0;
  const auto add = [&](const std::vector<ArgCondition>& all_of) {
    for (const ArgCondition& c : all_of) relevant |= static_cast<uint8_t>(1u << c.index);
  };
  for (SyscallGroup group : LearnedGroups()) {
    for (const std::vector<ArgCondition>& all_of : GroupConditions(group, name)) add(all_of);
  }
  if (const SyscallReach* reach = FindReach(name); reach != nullptr) {
    for (const std::vector<ArgCondition>& all_of : reach->inside) add(all_of);
  }
  if (const auto narrowed = NarrowedArgument().find(name); narrowed != NarrowedArgument().end()) {
    relevant |= static_cast<uint8_t>(1u << narrowed->second);
  }
  return relevant;
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

PolicyLearner::PolicyLearner(std::vector<std::string> temporary_directories)
    : temporary_directories_(std::move(temporary_directories)) {}

void PolicyLearner::AddSyscall(int number, const uint64_t args[6]) {
  absl::MutexLock lock(&mu_);
  SyscallSeen& seen = syscalls_[number];
  if (seen.count++ == 0) seen.relevant = RelevantArguments(SyscallName(number));
  if (seen.overflowed) return;
  std::vector<uint64_t> kept(6, 0);
  for (size_t i = 0; i < 6; ++i) {
    if (seen.relevant & (1u << i)) kept[i] = args[i];
  }
  if (seen.args.size() >= kMaxTuples && seen.args.count(kept) == 0) {
    seen.overflowed = true;
    return;
  }
  seen.args.insert(std::move(kept));
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
    case proto::Op::kExec:
      first = kExecute;
      break;
    case proto::Op::kNewChannel:
    case proto::Op::kGetcwd:  // needs no permission
      return;
  }
  // A path the program named "dir/" is the directory's; one that stays unnormalized was refused
  // for that while learning, and would be again.
  // The broker judged /proc/self as /proc/<pid>; the next run has another pid, and the broker
  // takes rules on /proc/self as its own (FilePolicy::ForSandboxee).
  const std::string own_proc = absl::StrCat("/proc/", d.pid);
  const auto rule_path = [&](std::string_view path) {
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    if (CheckAbsoluteNormalizedPath(path) != PathProblem::kNone) return std::string();
    if (d.pid != 0 && IsBeneath(absl::string_view(path.data(), path.size()), own_proc)) {
      return absl::StrCat("/proc/self", std::string(path.substr(own_proc.size())));
    }
    return std::string(path);
  };
  const std::string path = rule_path(d.path);
  // A symlink's path2 is its target, which the broker judges but the program does not open.
  const std::string path2 = second != 0 ? rule_path(d.path2) : std::string();
  absl::MutexLock lock(&mu_);
  // Everything is granted while learning: a refusal is a request no rule can grant.
  if (!d.allowed) unnamed_paths_.insert(std::string(d.path));
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

absl::Status PolicyLearner::Merge(absl::string_view text, const std::string& name) {
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyText(text, name);
  if (!parsed.ok()) return parsed.status();
  absl::MutexLock lock(&mu_);
  merged_from_.push_back(name);
  merged_private_tmp_ |= parsed->private_tmp;
  for (const PolicyRule& rule : parsed->rules) {
    switch (rule.kind) {
      case PolicyRule::Kind::kDefault:
        merged_default_ = FormatRule(rule);
        break;
      case PolicyRule::Kind::kAllowGroup:
        merged_groups_.insert(rule.group);
        break;
      case PolicyRule::Kind::kAllow:
        if (const auto narrowed = NarrowedArgument().find(rule.name);
            narrowed != NarrowedArgument().end() && rule.all_of.size() == 1 &&
            rule.all_of[0].index == narrowed->second &&
            (rule.all_of[0].compare == ArgCondition::Compare::kIn ||
             rule.all_of[0].compare == ArgCondition::Compare::kEq)) {
          const ArgCondition& c = rule.all_of[0];
          std::set<uint64_t>& values = merged_values_[rule.name];
          if (c.compare == ArgCondition::Compare::kEq) values.insert(c.value);
          values.insert(c.values.begin(), c.values.end());
          break;
        }
        merged_syscall_lines_.insert(FormatRule(rule));
        break;
      case PolicyRule::Kind::kErrno:
      case PolicyRule::Kind::kTrap:
        merged_syscall_lines_.insert(FormatRule(rule));
        break;
      case PolicyRule::Kind::kFile:
        files_[rule.name] |= rule.permissions;
        break;
      case PolicyRule::Kind::kTree:
        merged_trees_[rule.name] |= rule.permissions;
        break;
      case PolicyRule::Kind::kTemporary:
      case PolicyRule::Kind::kDeny:
      case PolicyRule::Kind::kUncoveredPaths:
        merged_file_lines_.insert(FormatRule(rule));
        break;
      case PolicyRule::Kind::kCreateModes:
        file_mode_ |= rule.file_mode;
        directory_mode_ |= rule.directory_mode;
        break;
      case PolicyRule::Kind::kPrivateTmp:  // merged_private_tmp_, above
        break;
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> PolicyLearner::Incomplete() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> problems;
  for (const auto& [number, seen] : syscalls_) {
    if (seen.overflowed) {
      problems.push_back(absl::StrCat("more than ", kMaxTuples, " distinct argument tuples of ",
                                      SyscallName(number),
                                      ": not all were recorded, and its line allows any"));
    }
  }
  if (!unnamed_paths_.empty()) {
    problems.push_back(absl::StrCat(
        unnamed_paths_.size(), " file request(s) were refused while learning and get no rule (",
        *unnamed_paths_.begin(), unnamed_paths_.size() > 1 ? ", ..." : "", ")"));
  }
  return problems;
}

std::string PolicyLearner::PackageDirectory(const std::string& path) {
  if (path.size() < 2 || path[0] != '/') return "";
  const std::vector<absl::string_view> names =
      absl::StrSplit(absl::string_view(path).substr(1), '/');
  // names[area] is the area's first name; the package is the name after the area's last.
  size_t area = 0;
  if (names[0] == "etc" || names[0] == "opt") {
    return names.size() >= 3 ? absl::StrCat("/", names[0], "/", names[1]) : "";
  }
  if (names[0] == "usr") {
    area = names.size() > 2 && names[1] == "local" ? 2 : 1;
  }
  if (area >= names.size()) return "";
  static const auto* const kAreas = new std::set<absl::string_view>{
      "bin", "sbin", "lib", "lib32", "lib64", "libx32", "libexec", "share", "include", "games"};
  if (kAreas->count(names[area]) == 0 ||
      (area == 0 && (names[0] == "share" || names[0] == "include" || names[0] == "libexec" ||
                     names[0] == "games"))) {
    return "";
  }
  // A multiarch directory (x86_64-linux-gnu) is part of the area: its entries are packages.
  if (absl::StartsWith(names[area], "lib") && area + 1 < names.size() &&
      absl::StrContains(names[area + 1], "-linux-")) {
    ++area;
  }
  const size_t package = area + 1;
  // Only a file beneath the package's directory: one directly in the area names no package.
  if (package + 1 >= names.size()) return "";
  std::string directory;
  for (size_t i = 0; i <= package; ++i) absl::StrAppend(&directory, "/", names[i]);
  return directory;
}

std::string PolicyLearner::PolicyText(const std::string& command) const {
  absl::MutexLock lock(&mu_);
  std::string text = absl::StrCat(
      "# Learned by `sbox learn` from one run of: ",
      // A comment ends at the line's end: a newline in an argument would start a rule.
      absl::StrReplaceAll(command, {{"\n", "\\n"}, {"\r", "\\r"}}), "\n",
      merged_from_.empty()
          ? ""
          : absl::StrCat("# merged with the runs of: ", absl::StrJoin(merged_from_, ", "), "\n"),
      "# It allows the kinds of things that run did; review it (`sbox audit --lint`) "
      "before use.\n\n",
      merged_default_.empty() ? "default kill-and-report" : merged_default_,
      "\nallow group file-redirection\n"
      "errno ENOSYS clone3  # as while learning: glibc then uses clone, whose flags a filter "
      "can read\n");

  // Groups: always basic-io, and each one a call seen is a member of, under its conditions.
  std::map<SyscallGroup, std::vector<std::string>> groups = {{SyscallGroup::kBasicIo, {}}};
  for (SyscallGroup group : merged_groups_) groups[group];
  // Each call seen widens to the first group that admits it, in SyscallPolicy::AllGroups()
  // order: an mmap that memory-without-exec admits never brings in executable-memory, an fcntl
  // that basic-io admits never brings in own-process.
  const std::vector<SyscallGroup> learned_groups = LearnedGroups();
  for (const auto& [number, seen] : syscalls_) {
    const std::string name = SyscallName(number);
    std::set<SyscallGroup> needed;
    for (const std::vector<uint64_t>& args : seen.args) {
      for (SyscallGroup group : learned_groups) {
        const std::vector<std::vector<ArgCondition>> conditions = GroupConditions(group, name);
        if (std::any_of(conditions.begin(), conditions.end(),
                        [&](const auto& all_of) { return HoldsAll(all_of, args); })) {
          needed.insert(group);
          break;
        }
      }
    }
    for (SyscallGroup group : needed) {
      groups[group].push_back(absl::StrCat(name, " ", seen.count));
    }
  }
  groups.erase(SyscallGroup::kFileRedirection);  // written above
  for (const auto& [group, seen] : groups) {
    absl::StrAppend(
        &text, GroupLine(group),
        seen.empty()
            ? (group == SyscallGroup::kBasicIo ? "  # always: output to stdout and stderr" : "")
            : absl::StrCat("  # seen: ", absl::StrJoin(seen, ", ")),
        "\n");
  }

  // Lines of their own for the calls the groups do not all admit.
  std::vector<std::string> lines;
  std::set<std::string> rules;  // the lines without their comments
  const auto add = [&](std::string rule, const std::string& comment) {
    rules.insert(rule);
    lines.push_back(absl::StrCat(rule, comment));
  };
  // `allow NAME if argN in {values}`, with what the line reaches outside the sandbox.
  const auto add_values = [&](const std::string& name, int index, const std::set<uint64_t>& values,
                              const std::string& comment) {
    ArgCondition in{index, ArgCondition::Compare::kIn, 0, 0,
                    std::vector<uint64_t>(values.begin(), values.end())};
    add(absl::StrCat("allow ", name, " if ", ConditionText({in})),
        absl::StrCat(comment, ReachNote(name, {in})));
  };
  std::set<std::string> narrowed_written;  // merged values already in a line
  for (const auto& [number, seen] : syscalls_) {
    const std::string name = SyscallName(number);
    std::vector<std::vector<ArgCondition>> allowed;
    for (const auto& [group, unused] : groups) {
      for (std::vector<ArgCondition>& all_of : GroupConditions(group, name)) {
        allowed.push_back(std::move(all_of));
      }
    }
    const bool always = std::any_of(allowed.begin(), allowed.end(),
                                    [](const auto& all_of) { return all_of.empty(); });
    if (always ||
        (!allowed.empty() && !seen.overflowed && !AdmittingAll(allowed, seen.args).empty())) {
      continue;
    }
    const std::string count =
        absl::StrCat("  # ", seen.count, seen.count == 1 ? " call" : " calls");
    // Narrowed by the conditions that keep it inside the sandbox (broker/syscall_reach.h),
    // for a call not narrowed to the values seen below, when they admit every call seen.
    const auto narrowed = NarrowedArgument().find(name);
    std::vector<const std::vector<ArgCondition>*> used;
    if (const SyscallReach* reach = FindReach(name); reach != nullptr && !reach->inside.empty() &&
                                                     narrowed == NarrowedArgument().end() &&
                                                     !seen.overflowed) {
      used = AdmittingAll(reach->inside, seen.args);
    }
    if (!used.empty()) {
      for (const auto* all_of : used) {
        add(absl::StrCat("allow ", name, " if ", ConditionText(*all_of)),
            all_of == used.front() ? count : "");
      }
      continue;
    }
    narrowed_written.insert(name);
    if (!seen.overflowed && narrowed != NarrowedArgument().end()) {
      std::set<uint64_t> values;
      for (const std::vector<uint64_t>& args : seen.args) {
        values.insert(args[static_cast<size_t>(narrowed->second)]);
      }
      if (const auto merged = merged_values_.find(name); merged != merged_values_.end()) {
        values.insert(merged->second.begin(), merged->second.end());
      }
      add_values(name, narrowed->second, values, count);
      continue;
    }
    add(absl::StrCat("allow ", name), absl::StrCat(count, ReachNote(name, {})));
  }
  for (const auto& [name, values] : merged_values_) {
    if (narrowed_written.count(name) == 0) {
      add_values(name, NarrowedArgument().at(name), values, "  # from the merged policy");
    }
  }
  for (const std::string& line : merged_syscall_lines_) {
    if (line != "errno ENOSYS clone3" && rules.count(line) == 0) {
      lines.push_back(absl::StrCat(line, "  # from the merged policy"));
    }
  }
  absl::StrAppend(&text, absl::StrJoin(lines, "\n"), lines.empty() ? "" : "\n");

  // Files, by what each path is (policy_learner.h).
  std::map<std::string, Permissions> files;
  bool private_tmp = merged_private_tmp_;
  std::vector<std::string> left_out;
  // Temporary names: what the run created or deleted right in a temporary directory, and what
  // lies beneath those. What it only read there is an input, with a rule of its own.
  std::set<std::string> temporary;
  for (const auto& [path, permissions] : files_) {
    // A name made right in a temporary directory (mkstemp's, a scratch directory), and what
    // lies beneath one: an output written into a directory that was there before (a user's
    // work under /tmp) is no temporary name.
    const bool right_in_tmp =
        std::any_of(temporary_directories_.begin(), temporary_directories_.end(),
                    [&](const std::string& tmp) { return Parent(path) == tmp; });
    bool in_temporary = false;  // files_ is sorted: a directory comes before what it holds
    for (absl::string_view up = Parent(path); !in_temporary && up != "/"; up = Parent(up)) {
      in_temporary = temporary.count(std::string(up)) != 0;
    }
    if ((right_in_tmp && (permissions & (kCreate | kDelete)) != 0) || in_temporary) {
      temporary.insert(path);
    }
  }
  if (!temporary.empty()) private_tmp = true;
  for (const auto& [path, permissions] : files_) {
    if (path == "/" || temporary.count(path) != 0) continue;  // "/" may always be stat'ed
    if (IsOtherProcess(path)) {
      left_out.push_back(absl::StrCat("# not granted (another process's /proc): ", path));
      continue;
    }
    // Grants are names: symlinks the broker followed and files that are gone again alike.
    files[path] |= permissions;
  }
  std::map<std::string, Permissions> trees = merged_trees_;
  // Created files: one tree at the parent of the topmost path created, with every permission
  // used beneath it.
  std::set<std::string> created_roots;
  for (const auto& [path, permissions] : files) {
    if ((permissions & kCreate) == 0) continue;
    absl::string_view root = Parent(path);
    while (files.count(std::string(root)) != 0 && (files.at(std::string(root)) & kCreate) != 0) {
      root = Parent(root);
    }
    if (Depth(root) >= 2 && !IsInstallation(root)) created_roots.insert(std::string(root));
  }
  for (const std::string& root : created_roots) {
    if (std::any_of(created_roots.begin(), created_roots.end(), [&](const std::string& other) {
          return other != root && IsBeneath(root, other);
        })) {
      continue;  // inside another's tree
    }
    Permissions& permissions = trees[root];
    for (const auto& [path, used] : files) {
      if (IsBeneath(path, root)) permissions |= used;
    }
  }
  // The installation, read only: the package directory's tree.
  for (const auto& [path, permissions] : files) {
    if (permissions != kRead) continue;
    if (const std::string package = PackageDirectory(path); !package.empty()) {
      trees[package] |= kRead;
    }
  }
  // A tree beneath another decides there: it keeps the outer one's permissions too.
  for (auto& [root, permissions] : trees) {
    for (const auto& [outer, more] : trees) {
      if (outer != root && IsBeneath(root, outer)) permissions |= more;
    }
  }
  // The deepest tree above a path decides it, unless the path has a file rule of its own.
  const auto covering = [&](const std::string& path) -> const Permissions* {
    const Permissions* found = nullptr;
    size_t depth = 0;
    for (const auto& [root, permissions] : trees) {
      if (IsBeneath(path, root) && (found == nullptr || Depth(root) > depth)) {
        found = &permissions;
        depth = Depth(root);
      }
    }
    return found;
  };
  absl::StrAppend(&text, "\n");
  if (private_tmp) {
    absl::StrAppend(&text, "private-tmp  # the run's temporary files: a /tmp of its own\n");
  }
  for (const auto& [root, permissions] : trees) {
    absl::StrAppend(&text, "tree ", PermissionsText(permissions), " ", root, "\n");
  }
  for (const auto& [path, permissions] : files) {
    const Permissions* tree = covering(path);
    if (tree != nullptr && (permissions & ~*tree) == 0) continue;
    absl::StrAppend(&text, "file ", PermissionsText(permissions | (tree ? *tree : 0)), " ", path,
                    "\n");
  }
  for (const std::string& line : merged_file_lines_) absl::StrAppend(&text, line, "\n");
  if (file_mode_ != 0600 || directory_mode_ != 0700) {
    absl::StrAppendFormat(&text, "create-modes 0%03o 0%03o  # the modes the program set\n",
                          file_mode_, directory_mode_);
  }
  for (const std::string& line : left_out) absl::StrAppend(&text, line, "\n");
  return text;
}

}  // namespace sbox
