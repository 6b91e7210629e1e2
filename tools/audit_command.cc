#include "tools/audit_command.h"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "broker/file_policy.h"
#include "broker/policy_text.h"
#include "broker/sandbox_result.h"
#include "broker/syscall_policy.h"
#include "broker/syscall_reach.h"
#include "proto/errno_name.h"
#include "proto/unique_fd.h"
#include "tools/bpf_eval.h"

namespace sbox {

const char kAuditUsage[] =
    R"(usage: sbox audit [--format=text|json|pfc|bpf] POLICY
       sbox audit --lint POLICY
       sbox audit --diff A B
       sbox audit --eval POLICY SYSCALL [ARG0..ARG5]

Explains a policy file (broker/POLICY_FORMAT.md) without running anything.

  --format=text  (default) the default action, then one row per syscall the policy allows or
                 answers, by name: action, conditions, and where it came from (FILE:LINE,
                 "group NAME via FILE:LINE", or "runtime" for what every policy allows); then
                 one row per file rule, by path: kind, permissions, errno (deny), FILE:LINE
  --format=json  the same as a JSON array: first {"default": ACTION, "source": SOURCE}, then
                 {"syscall", "action", "conditions": [...], "sources": [...]} per syscall,
                 then {"file_rule", "path", "permissions", "errno", "source"} per file rule
  --format=pfc   the compiled filter as pseudo code, syscall by syscall
  --format=bpf   the compiled BPF program, one instruction per line (code jt jf k, in hex),
                 then the instruction count
  --lint         dangerous allowances, as FILE:LINE: SYSCALL: REASON, and dangerous file
                 grants (writes to system files or home directories, any use of /dev, /proc
                 or /sys, reads of secrets), as FILE:LINE: RULE: REASON: PATHS; a rule line
                 ending in justify "..." is not reported; a rule the policy cannot be built
                 (loaded) with is reported as FILE:LINE: RULE: cannot load: ERROR, justified
                 or not, and the exit status is then 3
  --diff A B     per syscall and per file rule path, "- " what A allows or answers that B
                 does not, "+ " the reverse
  --eval         runs the compiled filter in a BPF interpreter on an x86_64 call of SYSCALL
                 with the given arguments (decimal or 0x hex; missing ones are 0) and prints
                 ALLOW, ERRNO(n), TRAP, KILL_PROCESS or USER_NOTIF (violation report); the
                 filter is built as for Launcher::Run, and a TRAP of a file-redirection call
                 says what answers it

exit status: 0 ok; 1 lint findings or the policies differ; 2 usage error; 3 policy error
(cannot be read, parsed or compiled; for --lint, or built)
)";

namespace {

// One rule's part in what a policy does with one syscall.
struct Entry {
  enum class Action { kAllow, kErrno, kTrap, kRedirect };
  Action action = Action::kAllow;
  int error = 0;
  std::vector<ArgCondition> all_of;
  std::vector<std::vector<std::string>> spelled;
  std::string source;  // "FILE:LINE", "group NAME via FILE:LINE" or "runtime"
  std::string file;    // empty for runtime entries
  int line = 0;
  std::string justification;
};

// One file rule (the broker's), as audit lists it.
struct FileRow {
  std::string kind;         // the rule's keyword: "file", "tree", "temporary", "deny", ...
  std::string path;         // empty for create-modes
  std::string permissions;  // PermissionsText of what it grants; create-modes: "FILE DIR" modes
  std::string error;        // deny: the errno name of its refusals; empty otherwise
  std::string source;       // FILE:LINE
};

struct Audited {
  ParsedPolicy parsed;
  std::string default_action;                         // "kill-and-report", "errno EPERM", ...
  std::string default_source;                         // FILE:LINE or "implicit"
  std::map<std::string, std::vector<Entry>> entries;  // by syscall name
  std::vector<FileRow> files;                         // by path, create-modes last
};

struct Row {
  std::string syscall;
  std::string action;                   // "allow", "allow if", "errno EPERM", "trap"
  std::vector<std::string> conditions;  // alternatives; empty when unconditional
  std::vector<std::string> sources;
};

// The canonical text of one condition list, through FormatRule so that it reads as the policy
// format does; `spelled` false gives numbers only (for comparing policies).
std::string ConditionsText(const std::string& name, const Entry& entry, bool spelled) {
  PolicyRule rule;
  rule.kind = PolicyRule::Kind::kAllow;
  rule.name = name;
  rule.all_of = entry.all_of;
  if (spelled) rule.spelled = entry.spelled;
  return std::string(absl::StripPrefix(FormatRule(rule), absl::StrCat("allow ", name, " if ")));
}

std::string ErrnoText(int error) {
  PolicyRule rule;
  rule.kind = PolicyRule::Kind::kErrno;
  rule.name = "x";
  rule.error = error;
  return std::string(absl::StripSuffix(FormatRule(rule), " x"));
}

std::string GroupText(SyscallGroup group) {
  PolicyRule rule;
  rule.kind = PolicyRule::Kind::kAllowGroup;
  rule.group = group;
  return std::string(absl::StripPrefix(FormatRule(rule), "allow "));
}

// What a file rule grants: a temporary rule implies read, write and create (FilePolicy's Rule).
Permissions Granted(const PolicyRule& rule) {
  return rule.kind == PolicyRule::Kind::kTemporary ? kRead | kWrite | kCreate : rule.permissions;
}

// The listing of a file rule; nullopt for the filter's rules. Every kind is named so that the
// compiler points here when a kind is added.
std::optional<FileRow> FileRowOf(const PolicyRule& rule) {
  FileRow row;
  switch (rule.kind) {
    case PolicyRule::Kind::kDefault:
    case PolicyRule::Kind::kAllow:
    case PolicyRule::Kind::kAllowGroup:
    case PolicyRule::Kind::kErrno:
    case PolicyRule::Kind::kTrap:
      return std::nullopt;
    case PolicyRule::Kind::kFile:
    case PolicyRule::Kind::kTree:
    case PolicyRule::Kind::kTemporary:
      row.path = rule.name;
      row.permissions = PermissionsText(Granted(rule));
      break;
    case PolicyRule::Kind::kDeny:
      row.path = rule.name;
      row.permissions = PermissionsText(0);
      // 0 is the broker's default answer to a denied path.
      row.error = ErrnoName(rule.error != 0 ? rule.error : EACCES);
      break;
    case PolicyRule::Kind::kCreateModes:
      row.permissions = absl::StrFormat("0%03o 0%03o", rule.file_mode, rule.directory_mode);
      break;
    case PolicyRule::Kind::kUncoveredPaths:
      row.permissions = PermissionsText(0);
      row.error = ErrnoName(rule.error);
      break;
    case PolicyRule::Kind::kPrivateTmp:
      // What the program's /tmp is: a fresh directory of its own, every right in it.
      row.path = "/tmp";
      row.permissions = PermissionsText(kRead | kWrite | kCreate | kDelete);
      break;
  }
  // The keyword as the policy text spells it.
  const std::string text = FormatRule(rule);
  row.kind = text.substr(0, text.find(' '));
  row.source = absl::StrCat(rule.file, ":", rule.line);
  return row;
}

// Parses `path` into what audit shows, without compiling it.
absl::StatusOr<Audited> Parse(const std::string& path) {
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyFile(path);
  if (!parsed.ok()) return parsed.status();
  Audited audited;
  audited.parsed = *std::move(parsed);
  audited.default_action = "kill-and-report";
  audited.default_source = "implicit";
  for (const std::string& name : SyscallPolicy::RuntimeSyscalls()) {
    Entry entry;
    entry.source = "runtime";
    audited.entries[name].push_back(entry);
  }
  for (const PolicyRule& rule : audited.parsed.rules) {
    Entry entry;
    entry.file = rule.file;
    entry.line = rule.line;
    entry.source = absl::StrCat(rule.file, ":", rule.line);
    entry.justification = rule.justification;
    switch (rule.kind) {
      case PolicyRule::Kind::kDefault: {
        PolicyRule bare = rule;
        bare.justification.clear();
        audited.default_action = std::string(absl::StripPrefix(FormatRule(bare), "default "));
        audited.default_source = entry.source;
        break;
      }
      case PolicyRule::Kind::kAllow:
        entry.all_of = rule.all_of;
        entry.spelled = rule.spelled;
        audited.entries[rule.name].push_back(entry);
        break;
      case PolicyRule::Kind::kErrno:
        entry.action = Entry::Action::kErrno;
        entry.error = rule.error;
        audited.entries[rule.name].push_back(entry);
        break;
      case PolicyRule::Kind::kTrap:
        entry.action = Entry::Action::kTrap;
        audited.entries[rule.name].push_back(entry);
        break;
      case PolicyRule::Kind::kAllowGroup:
        entry.source = absl::StrCat(GroupText(rule.group), " via ", entry.source);
        for (const SyscallPolicy::GroupRule& member : SyscallPolicy::GroupRules(rule.group)) {
          Entry e = entry;
          e.all_of = member.all_of;
          if (member.error != 0) {
            e.action = Entry::Action::kErrno;
            e.error = member.error;
          }
          if (member.redirected) e.action = Entry::Action::kRedirect;
          audited.entries[member.name].push_back(e);
        }
        break;
      default:
        break;  // file rules are the broker's, not the filter's
    }
    if (std::optional<FileRow> row = FileRowOf(rule)) audited.files.push_back(*std::move(row));
  }
  // By path, as the broker's precedence reads them (a deny next to the tree it carves out of);
  // create-modes, which has none, last.
  std::stable_sort(
      audited.files.begin(), audited.files.end(), [](const FileRow& a, const FileRow& b) {
        return std::make_pair(a.path.empty(), a.path) < std::make_pair(b.path.empty(), b.path);
      });
  return audited;
}

// Parses and compiles `path`: a policy that does not build is a policy error, not a table.
absl::StatusOr<Audited> Load(const std::string& path) {
  absl::StatusOr<Audited> audited = Parse(path);
  if (!audited.ok()) return audited.status();
  if (absl::StatusOr<SyscallPolicy> built = audited->parsed.syscalls.Build(); !built.ok()) {
    return built.status();
  }
  return audited;
}

// What the filter does with each syscall. Build() succeeded, so each syscall has one action.
std::vector<Row> Rows(const Audited& audited, bool spelled) {
  std::vector<Row> rows;
  for (const auto& [name, entries] : audited.entries) {
    Row row;
    row.syscall = name;
    // A redirect overrides a group's allow of the same call, as in the filter.
    const auto redirect = std::find_if(entries.begin(), entries.end(), [](const Entry& e) {
      return e.action == Entry::Action::kRedirect;
    });
    const Entry& first = redirect != entries.end() ? *redirect : entries.front();
    bool unconditional = false;
    std::set<std::string> alternatives;
    for (const Entry& e : entries) {
      if (std::find(row.sources.begin(), row.sources.end(), e.source) == row.sources.end()) {
        row.sources.push_back(e.source);
      }
      if (e.all_of.empty()) unconditional = true;
      if (!e.all_of.empty()) alternatives.insert(ConditionsText(name, e, spelled));
    }
    switch (first.action) {
      case Entry::Action::kAllow:
        // An unconditional allow covers the conditional ones, as in the filter.
        row.action = unconditional ? "allow" : "allow if";
        if (!unconditional) row.conditions.assign(alternatives.begin(), alternatives.end());
        break;
      case Entry::Action::kErrno:
        row.action = ErrnoText(first.error);
        break;
      case Entry::Action::kTrap:
        row.action = "trap";
        break;
      case Entry::Action::kRedirect:
        row.action = "redirect";
        row.conditions.clear();
        break;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string Alternatives(const Row& row) {
  if (row.conditions.empty()) return "-";
  if (row.conditions.size() == 1) return row.conditions[0];
  std::vector<std::string> wrapped;
  for (const std::string& c : row.conditions) wrapped.push_back(absl::StrCat("(", c, ")"));
  return absl::StrJoin(wrapped, " || ");
}

void PrintText(const Audited& audited, std::ostream& out) {
  out << "default: " << audited.default_action << " (" << audited.default_source << ")\n";
  const std::vector<Row> rows = Rows(audited, true);
  size_t w_name = 7, w_action = 6, w_cond = 10;
  for (const Row& row : rows) {
    w_name = std::max(w_name, row.syscall.size());
    w_action = std::max(w_action, row.action.size());
    w_cond = std::max(w_cond, Alternatives(row).size());
  }
  out << absl::StrFormat("%-*s  %-*s  %-*s  %s\n", w_name, "SYSCALL", w_action, "ACTION", w_cond,
                         "CONDITIONS", "SOURCE");
  for (const Row& row : rows) {
    out << absl::StrFormat("%-*s  %-*s  %-*s  %s\n", w_name, row.syscall, w_action, row.action,
                           w_cond, Alternatives(row), absl::StrJoin(row.sources, "; "));
  }
  if (audited.files.empty()) return;
  size_t w_path = 4, w_kind = 4, w_perms = 11, w_errno = 5;
  for (const FileRow& row : audited.files) {
    w_path = std::max(w_path, row.path.size());
    w_kind = std::max(w_kind, row.kind.size());
    w_perms = std::max(w_perms, row.permissions.size());
    w_errno = std::max(w_errno, row.error.size());
  }
  out << absl::StrFormat("\n%-*s  %-*s  %-*s  %-*s  %s\n", w_path, "PATH", w_kind, "KIND", w_perms,
                         "PERMISSIONS", w_errno, "ERRNO", "SOURCE");
  for (const FileRow& row : audited.files) {
    out << absl::StrFormat(
        "%-*s  %-*s  %-*s  %-*s  %s\n", w_path, row.path.empty() ? "-" : row.path, w_kind, row.kind,
        w_perms, row.permissions, w_errno, row.error.empty() ? "-" : row.error, row.source);
  }
}

std::string Json(const std::string& text) {
  std::string quoted = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      absl::StrAppend(&quoted, "\\", std::string(1, static_cast<char>(c)));
    } else if (c < 0x20) {
      absl::StrAppend(&quoted, absl::StrFormat("\\u%04x", c));
    } else {
      quoted += static_cast<char>(c);
    }
  }
  return quoted + "\"";
}

std::string JsonArray(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  for (const std::string& item : items) quoted.push_back(Json(item));
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

void PrintJson(const Audited& audited, std::ostream& out) {
  out << "[\n  {\"default\": " << Json(audited.default_action)
      << ", \"source\": " << Json(audited.default_source) << "}";
  for (const Row& row : Rows(audited, true)) {
    out << ",\n  {\"syscall\": " << Json(row.syscall) << ", \"action\": " << Json(row.action)
        << ", \"conditions\": " << JsonArray(row.conditions)
        << ", \"sources\": " << JsonArray(row.sources) << "}";
  }
  const auto json_or_null = [](const std::string& text) {
    return text.empty() ? std::string("null") : Json(text);
  };
  for (const FileRow& row : audited.files) {
    out << ",\n  {\"file_rule\": " << Json(row.kind) << ", \"path\": " << json_or_null(row.path)
        << ", \"permissions\": " << Json(row.permissions)
        << ", \"errno\": " << json_or_null(row.error) << ", \"source\": " << Json(row.source)
        << "}";
  }
  out << "\n]\n";
}

int PrintPfc(const Audited& audited, std::ostream& out, std::ostream& err) {
  UniqueFd memfd(memfd_create("sbox-pfc", MFD_CLOEXEC));
  if (!memfd.valid()) {
    err << "sbox audit: memfd_create: " << strerror(errno) << "\n";
    return kAuditPolicyError;
  }
  if (absl::Status status = audited.parsed.syscalls.ExportPfc(memfd.get()); !status.ok()) {
    err << "sbox audit: " << status << "\n";
    return kAuditPolicyError;
  }
  std::string text;
  char buffer[4096];
  for (off_t offset = 0;;) {
    const ssize_t n = pread(memfd.get(), buffer, sizeof(buffer), offset);
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
    offset += n;
  }
  out << text;
  return kAuditOk;
}

int PrintBpf(const SyscallPolicy& policy, std::ostream& out) {
  for (const sock_filter& insn : policy.program()) {
    out << absl::StrFormat("0x%04x 0x%02x 0x%02x 0x%08x\n", insn.code, insn.jt, insn.jf, insn.k);
  }
  out << policy.instruction_count() << " instructions\n";
  return kAuditOk;
}

// ---- Lint ---------------------------------------------------------------------------------

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

// Why allowing a syscall at all, under any condition, is dangerous.
const std::map<std::string, std::string>& AlwaysDangerous() {
  static const auto* const kReasons = [] {
    auto* reasons = new std::map<std::string, std::string>{
        {"ptrace", "can read and write other processes, and escape their filters"},
        {"process_vm_readv", "reads another process's memory"},
        {"process_vm_writev", "writes another process's memory"},
        {"bpf", "loads eBPF programs: a large kernel attack surface"},
        {"perf_event_open", "a large kernel attack surface, and can leak kernel addresses"},
        {"userfaultfd", "lets the sandboxee stall the kernel at will, easing kernel exploits"},
        {"personality", "changes the execution domain, e.g. turns off address randomization"},
        {"seccomp", "installs filters and notifiers of the sandboxee's own"},
        {"unshare", "creates namespaces, a large kernel attack surface"},
        {"setns", "enters other namespaces"},
        {"execve", "runs another program, which then holds everything the sandboxee holds"},
        {"execveat", "runs another program, which then holds everything the sandboxee holds"},
    };
    for (const char* name : {"io_uring_setup", "io_uring_enter", "io_uring_register"}) {
      (*reasons)[name] = "io_uring does I/O the filter never sees";
    }
    for (const char* name : {"keyctl", "add_key", "request_key"}) {
      (*reasons)[name] = "the kernel keyring is shared outside the sandbox";
    }
    for (const char* name : {"mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen",
                             "fsmount", "fsconfig", "fspick", "mount_setattr"}) {
      (*reasons)[name] = "changes mounts, the file system the broker vouches for";
    }
    for (const char* name : {"kexec_load", "kexec_file_load"}) {
      (*reasons)[name] = "replaces the running kernel";
    }
    for (const char* name : {"init_module", "finit_module", "delete_module"}) {
      (*reasons)[name] = "loads or unloads kernel modules";
    }
    for (const char* name : {"open", "openat", "openat2", "creat"}) {
      (*reasons)[name] = "opens files directly, bypassing the broker's file policy";
    }
    return reasons;
  }();
  return *kReasons;
}

// Empty when an allow of `name` under `all_of` is not dangerous.
std::string LintReason(const std::string& name, const std::vector<ArgCondition>& all_of) {
  if (auto it = AlwaysDangerous().find(name); it != AlwaysDangerous().end()) return it->second;
  if (name == "clone") {
    // Safe only when arg 0 must have CLONE_THREAD and none of the namespace flags.
    for (const ArgCondition& c : all_of) {
      if (c.index == 0 && c.compare == ArgCondition::Compare::kMaskedEq &&
          (c.mask & (kNamespaceFlags | CLONE_THREAD)) == (kNamespaceFlags | CLONE_THREAD) &&
          (c.value & (kNamespaceFlags | CLONE_THREAD)) == CLONE_THREAD) {
        return "";
      }
    }
    return "allows new processes or namespaces: require arg0 & CLONE_THREAD|CLONE_NEW* == "
           "CLONE_THREAD";
  }
  if (name == "ioctl" && all_of.empty()) {
    return "any ioctl reaches every driver the sandboxee holds a descriptor of";
  }
  if (name == "socket") {
    for (const ArgCondition& c : all_of) {
      if (c.index == 0) return "";
    }
    return "any address family, including the network: condition arg0 (domain)";
  }
  return "";
}

// What loading a policy builds: both halves, as Launcher and `sbox run` do.
absl::Status BuildSyscalls(const ParsedPolicy& parsed) { return parsed.syscalls.Build().status(); }
absl::Status BuildFiles(const ParsedPolicy& parsed) { return parsed.files.Build().status(); }
using BuildCheck = absl::Status (*)(const ParsedPolicy&);

// The rule that makes `check` fail, for a policy that fails it: the last rule of the shortest
// prefix of the rules that fails too. Builders stop at the first problem in rule order, so that
// is the rule the error is about, whatever the error's wording. Prefixes are rebuilt from their
// canonical text, which parses back to the same rules (includes are flattened in it).
const PolicyRule& FailingRule(const ParsedPolicy& parsed, BuildCheck check) {
  const auto fails = [&](size_t count) {
    ParsedPolicy prefix;
    prefix.rules.assign(parsed.rules.begin(), parsed.rules.begin() + count);
    ParseOptions options;
    options.allow_includes = false;
    absl::StatusOr<ParsedPolicy> reparsed =
        ParsePolicyText(FormatPolicy(prefix), "prefix", options);
    return !reparsed.ok() || !check(*reparsed).ok();
  };
  // An empty policy builds (the default action, no file rule), so a failing one has a rule.
  size_t builds = 0, failing = parsed.rules.size();
  while (failing - builds > 1) {
    const size_t middle = builds + (failing - builds) / 2;
    (fails(middle) ? failing : builds) = middle;
  }
  return parsed.rules[failing - 1];
}

// The canonical text of a rule without its justification, to name it in a finding.
std::string RuleText(const PolicyRule& rule) {
  PolicyRule bare = rule;
  bare.justification.clear();
  return FormatRule(bare);
}

// Whether some call satisfies every condition of `all_of` and has, in each argument i, every
// bit of `bits[i]`. Each argument is tried with candidate values made from its conditions;
// for one condition per argument (Build() allows no more in one rule, and a rule with more is
// a load finding) some candidate satisfies it whenever any value does.
bool AdmitsBits(const std::vector<ArgCondition>& all_of, const std::array<uint64_t, 6>& bits) {
  for (int index = 0; index < 6; ++index) {
    std::vector<uint64_t> candidates = {0, 1, ~uint64_t{0}};
    for (const ArgCondition& c : all_of) {
      if (c.index != index) continue;
      candidates.insert(candidates.end(), {c.value, c.value + 1});
      candidates.insert(candidates.end(), c.values.begin(), c.values.end());
    }
    const bool admitted = std::any_of(candidates.begin(), candidates.end(), [&](uint64_t value) {
      value |= bits[index];
      return std::all_of(all_of.begin(), all_of.end(), [&](const ArgCondition& c) {
        return c.index != index || c.Admits(value);
      });
    });
    if (!admitted) return false;
  }
  return true;
}

// Calls that make memory executable whose contents the sandboxee chose: any PROT_EXEC of
// mprotect and pkey_mprotect (arg 2), and PROT_EXEC of mmap for memory that is writable or
// anonymous. An executable mapping of a file, never writable, stays allowed: it is how
// program-startup maps shared libraries, and what the file can hold is the file rules' call.
const std::map<std::string, std::vector<std::array<uint64_t, 6>>>& ExecutableMemoryCalls() {
  static const auto* const kCalls = new std::map<std::string, std::vector<std::array<uint64_t, 6>>>{
      {"mprotect", {{0, 0, PROT_EXEC, 0, 0, 0}}},
      {"pkey_mprotect", {{0, 0, PROT_EXEC, 0, 0, 0}}},
      {"mmap", {{0, 0, PROT_EXEC | PROT_WRITE, 0, 0, 0}, {0, 0, PROT_EXEC, MAP_ANONYMOUS, 0, 0}}},
  };
  return *kCalls;
}

// Empty when an allow of `name` under `all_of` cannot make such memory executable.
std::string ExecutableMemoryReason(const std::string& name,
                                   const std::vector<ArgCondition>& all_of) {
  const auto it = ExecutableMemoryCalls().find(name);
  if (it == ExecutableMemoryCalls().end()) return "";
  for (const std::array<uint64_t, 6>& bits : it->second) {
    if (AdmitsBits(all_of, bits)) return "makes memory executable: require arg2 & PROT_EXEC == 0";
  }
  return "";
}

// ---- Lint: file grants --------------------------------------------------------------------

// A path few sandboxees should be granted: `pattern` is absolute, and "*" in it stands for any
// one name; `subtree` counts everything beneath it too, else the path alone.
struct GuardedPath {
  const char* pattern;
  bool subtree;
};

// One class of dangerous file grants: a rule that lets the sandboxee use one of `counted` on a
// guarded path, unless `exempt`, is a finding that says `reason`.
struct FileGrantClass {
  const char* reason;
  Permissions counted;
  std::vector<GuardedPath> paths;
  bool (*exempt)(const PolicyRule& rule);
};

bool IsBeneath(const std::string& path, const std::string& directory) {
  return path == directory || absl::StartsWith(path, absl::StrCat(directory, "/"));
}

bool NeverExempt(const PolicyRule&) { return false; }

const std::vector<FileGrantClass>& FileGrantClasses() {
  static const auto* const kClasses = new std::vector<FileGrantClass>{
      {"writes system files",
       kWrite | kCreate | kDelete,
       {{"/", false},
        {"/bin", true},
        {"/boot", true},
        {"/etc", true},
        {"/lib", true},
        {"/lib32", true},
        {"/lib64", true},
        {"/libx32", true},
        {"/sbin", true},
        {"/usr", true},
        {"/var", true}},
       // Scratch space for every user, as /tmp is.
       [](const PolicyRule& rule) { return IsBeneath(rule.name, "/var/tmp"); }},
      // The home directories themselves (a tree on one is every file of the user's) and their
      // keys; a file inside, such as a program's own ~/.jq, is the program's business.
      {"writes home directories",
       kWrite | kCreate | kDelete,
       {{"/home", false},
        {"/home/*", false},
        {"/home/*/.ssh", true},
        {"/root", false},
        {"/root/.ssh", true}},
       &NeverExempt},
      {"reaches kernel interfaces",
       kAllPermissions,
       {{"/dev", true}, {"/proc", true}, {"/sys", true}},
       [](const PolicyRule& rule) {
         if (rule.kind != PolicyRule::Kind::kFile) return false;
         // Devices that hold no one else's data. /dev/tty is not one: it is the terminal that
         // processes outside share (keystrokes, passwords).
         for (const char* device :
              {"/dev/full", "/dev/null", "/dev/random", "/dev/urandom", "/dev/zero"}) {
           if (rule.name == device) return true;
         }
         // The broker resolves these to the sandboxee's own entries; reading them is harmless.
         return (IsBeneath(rule.name, "/proc/self") || IsBeneath(rule.name, "/proc/thread-self")) &&
                (rule.permissions & ~kRead) == 0;
       }},
      {"reads secrets",
       kRead,
       {{"/etc/gshadow", false},
        {"/etc/gshadow-", false},
        {"/etc/shadow", false},
        {"/etc/shadow-", false},
        {"/home/*/.ssh", true},
        {"/root", false},
        {"/root/.ssh", true}},
       &NeverExempt},
  };
  return *kClasses;
}

bool NamesPath(const PolicyRule& rule) {
  return rule.kind == PolicyRule::Kind::kFile || rule.kind == PolicyRule::Kind::kTree ||
         rule.kind == PolicyRule::Kind::kTemporary || rule.kind == PolicyRule::Kind::kDeny;
}

// Whether a rule covers what is beneath its path too: every kind but file (FilePolicy's Rule).
bool CoversBeneath(const PolicyRule& rule) { return rule.kind != PolicyRule::Kind::kFile; }

// What a rule lets the sandboxee do to the files beneath it: a temporary rule only creates
// files that no one else can open.
Permissions Reach(const PolicyRule& rule) {
  return rule.kind == PolicyRule::Kind::kTemporary ? kCreate : rule.permissions;
}

std::vector<std::string> Names(const std::string& path) {
  return absl::StrSplit(path, '/', absl::SkipEmpty());
}

// The rule that decides `path` (with `subtree`, also what is beneath it that no more specific
// rule names), as FilePolicy::Find does: the longest rule path among the path and its
// ancestors, a file rule only for the path alone, a deny beating an allow of the same length.
// An empty name in `path` stands for any name, so only rules above it decide it.
const PolicyRule* Decider(const std::vector<PolicyRule>& rules,
                          const std::vector<std::string>& path, bool subtree) {
  const PolicyRule* decider = nullptr;
  size_t decider_length = 0;
  for (const PolicyRule& rule : rules) {
    if (!NamesPath(rule)) continue;
    const std::vector<std::string> names = Names(rule.name);
    if (names.size() > path.size() || !std::equal(names.begin(), names.end(), path.begin())) {
      continue;
    }
    const bool applies = CoversBeneath(rule) || (names.size() == path.size() && !subtree);
    if (!applies) continue;
    if (decider == nullptr || names.size() > decider_length ||
        (names.size() == decider_length && rule.kind == PolicyRule::Kind::kDeny)) {
      decider = &rule;
      decider_length = names.size();
    }
  }
  return decider;
}

// The patterns of the paths guarded by `grants` that `rule` lets the sandboxee use with one
// of the counted permissions: its own path when guarded, or a guarded path beneath a rule that
// covers it, in each case when no more specific rule (a deny, say) decides it instead.
std::vector<std::string> GuardedGrants(const FileGrantClass& grants, const PolicyRule& rule,
                                       const std::vector<PolicyRule>& rules) {
  std::vector<std::string> reached;
  if ((Reach(rule) & grants.counted) == 0 || grants.exempt(rule)) return reached;
  const std::vector<std::string> names = Names(rule.name);
  for (const GuardedPath& guarded : grants.paths) {
    const std::vector<std::string> pattern = Names(guarded.pattern);
    bool matches = true;
    for (size_t i = 0; i < std::min(names.size(), pattern.size()); ++i) {
      matches = matches && (pattern[i] == "*" || pattern[i] == names[i]);
    }
    if (!matches) continue;
    std::vector<std::string> path = names;
    bool subtree = CoversBeneath(rule);
    if (names.size() > pattern.size()) {
      if (!guarded.subtree) continue;
    } else if (names.size() < pattern.size()) {
      if (!CoversBeneath(rule)) continue;
      for (size_t i = names.size(); i < pattern.size(); ++i) {
        path.push_back(pattern[i] == "*" ? "" : pattern[i]);
      }
      subtree = guarded.subtree;
    }
    if (Decider(rules, path, subtree) == &rule) reached.push_back(guarded.pattern);
  }
  return reached;
}

int Lint(const Audited& audited, std::ostream& out) {
  std::vector<std::tuple<std::string, int, std::string, std::string>> findings;
  // A policy that cannot load confines nothing, so it is never clean, justified or not.
  bool loads = true;
  for (const BuildCheck check : {&BuildSyscalls, &BuildFiles}) {
    const absl::Status status = check(audited.parsed);
    if (status.ok()) continue;
    loads = false;
    const PolicyRule& rule = FailingRule(audited.parsed, check);
    findings.emplace_back(rule.file, rule.line, RuleText(rule),
                          absl::StrCat("cannot load: ", status.message()));
  }
  for (const auto& [name, entries] : audited.entries) {
    for (const Entry& e : entries) {
      if (e.action != Entry::Action::kAllow || e.file.empty() || !e.justification.empty()) continue;
      std::string reason = LintReason(name, e.all_of);
      if (const std::string reach = OutsideReach(name, e.all_of);
          reason.empty() && !reach.empty()) {
        reason = absl::StrCat("reaches outside the sandbox: ", reach);
      }
      if (reason.empty()) reason = ExecutableMemoryReason(name, e.all_of);
      if (!reason.empty()) findings.emplace_back(e.file, e.line, name, std::move(reason));
    }
  }
  const std::vector<PolicyRule>& rules = audited.parsed.rules;
  for (const PolicyRule& rule : rules) {
    if (!NamesPath(rule) || !rule.justification.empty()) continue;
    for (const FileGrantClass& grants : FileGrantClasses()) {
      const std::vector<std::string> reached = GuardedGrants(grants, rule, rules);
      if (reached.empty()) continue;
      findings.emplace_back(rule.file, rule.line, RuleText(rule),
                            absl::StrCat(grants.reason, ": ", absl::StrJoin(reached, ", ")));
    }
  }
  std::sort(findings.begin(), findings.end());
  findings.erase(std::unique(findings.begin(), findings.end()), findings.end());
  for (const auto& [file, line, name, reason] : findings) {
    out << file << ":" << line << ": " << name << ": " << reason << "\n";
  }
  if (!loads) return kAuditPolicyError;
  return findings.empty() ? kAuditOk : kAuditFindings;
}

// ---- Diff ---------------------------------------------------------------------------------

std::map<std::string, std::string> Behaviour(const Audited& audited) {
  std::map<std::string, std::string> behaviour;
  behaviour["(default)"] = audited.default_action;
  for (const Row& row : Rows(audited, false)) {
    behaviour[row.syscall] =
        row.conditions.empty() ? row.action : absl::StrCat(row.action, " ", Alternatives(row));
  }
  // File rules by path (paths start with "/", so they never meet a syscall name). A path may
  // have an allow rule and a deny rule; a policy without create-modes has the builder's.
  behaviour["(create-modes)"] = "0600 0700";
  std::map<std::string, std::set<std::string>> by_path;
  for (const FileRow& row : audited.files) {
    if (row.path.empty()) {
      behaviour["(create-modes)"] = row.permissions;  // the last one wins
    } else {
      by_path[row.path].insert(
          absl::StrCat(row.kind, " ", row.error.empty() ? row.permissions : row.error));
    }
  }
  for (const auto& [path, rules] : by_path) behaviour[path] = absl::StrJoin(rules, "; ");
  return behaviour;
}

int Diff(const Audited& a, const Audited& b, std::ostream& out) {
  const std::map<std::string, std::string> in_a = Behaviour(a);
  const std::map<std::string, std::string> in_b = Behaviour(b);
  std::set<std::string> names;
  for (const auto& [name, unused] : in_a) names.insert(name);
  for (const auto& [name, unused] : in_b) names.insert(name);
  bool differ = false;
  for (const std::string& name : names) {
    auto ia = in_a.find(name);
    auto ib = in_b.find(name);
    if (ia != in_a.end() && ib != in_b.end() && ia->second == ib->second) continue;
    differ = true;
    if (ia != in_a.end()) out << "- " << name << ": " << ia->second << "\n";
    if (ib != in_b.end()) out << "+ " << name << ": " << ib->second << "\n";
  }
  return differ ? kAuditFindings : kAuditOk;
}

// ---- Eval ---------------------------------------------------------------------------------

bool ParseArg(const std::string& text, uint64_t* value) {
  if (absl::StartsWith(text, "0x") || absl::StartsWith(text, "0X")) {
    return text.size() > 2 && absl::SimpleHexAtoi(text.substr(2), value);
  }
  return !text.empty() && text[0] != '-' && text[0] != '+' && absl::SimpleAtoi(text, value);
}

int Usage(std::ostream& err, const std::string& problem) {
  err << "sbox audit: " << problem << "\n" << kAuditUsage;
  return kAuditUsageError;
}

int PolicyError(std::ostream& err, const absl::Status& status) {
  err << "sbox audit: " << status.message() << "\n";
  return kAuditPolicyError;
}

}  // namespace

int RunAudit(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string format = "text";
  std::string mode;  // "", "lint", "diff", "eval"
  std::vector<std::string> positional;
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      out << kAuditUsage;
      return kAuditOk;
    }
    if (absl::StartsWith(arg, "--format=")) {
      format = arg.substr(9);
      if (format != "text" && format != "json" && format != "pfc" && format != "bpf") {
        return Usage(err, absl::StrCat("unknown format \"", format, "\""));
      }
    } else if (arg == "--lint" || arg == "--diff" || arg == "--eval") {
      if (!mode.empty()) return Usage(err, "--lint, --diff and --eval exclude each other");
      mode = arg.substr(2);
    } else if (absl::StartsWith(arg, "-")) {
      return Usage(err, absl::StrCat("unknown option \"", arg, "\""));
    } else {
      positional.push_back(arg);
    }
  }
  if (!mode.empty() && format != "text") return Usage(err, "--format applies to the table only");

  if (mode == "diff") {
    if (positional.size() != 2) return Usage(err, "--diff needs two policies");
    absl::StatusOr<Audited> a = Load(positional[0]);
    if (!a.ok()) return PolicyError(err, a.status());
    absl::StatusOr<Audited> b = Load(positional[1]);
    if (!b.ok()) return PolicyError(err, b.status());
    return Diff(*a, *b, out);
  }
  if (mode == "eval") {
    if (positional.size() < 2 || positional.size() > 8) {
      return Usage(err, "--eval needs a policy, a syscall and at most 6 arguments");
    }
    const int nr = SyscallNumber(positional[1]);
    if (nr < 0) return Usage(err, absl::StrCat("unknown syscall \"", positional[1], "\""));
    std::vector<uint64_t> call_args;
    for (size_t i = 2; i < positional.size(); ++i) {
      uint64_t value = 0;
      if (!ParseArg(positional[i], &value)) {
        return Usage(err, absl::StrCat("argument \"", positional[i], "\" is not a number"));
      }
      call_args.push_back(value);
    }
    absl::StatusOr<Audited> audited = Load(positional[0]);
    if (!audited.ok()) return PolicyError(err, audited.status());
    absl::StatusOr<SyscallPolicy> policy = audited->parsed.syscalls.Build();
    if (!policy.ok()) return PolicyError(err, policy.status());
    absl::StatusOr<uint32_t> ret =
        RunSeccompFilter(policy->program(), MakeSeccompData(nr, call_args));
    if (!ret.ok()) return PolicyError(err, ret.status());
    if (nr == __NR_exit_group && (*ret & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_USER_NOTIF) {
      // SyscallPolicy::RuntimeSyscalls() says why exit_group reaches the listener.
      out << "USER_NOTIF (exit: let through once the reports pending beside it are read)";
    } else {
      out << SeccompReturnText(*ret);
    }
    // The filter is compiled as Launcher::Run uses it; say what a redirected call becomes.
    const auto& redirected = SyscallPolicy::RedirectedFileCalls();
    if (policy->redirection().has_value() && (*ret & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_TRAP &&
        (std::find(redirected.begin(), redirected.end(), positional[1]) != redirected.end() ||
         positional[1] == "rt_sigprocmask")) {
      out << " (file-redirection: answered through the SIGSYS handler in-process; under sbox run "
             "a user notification the broker answers)";
    }
    out << "\n";
    return kAuditOk;
  }

  if (positional.size() != 1) return Usage(err, "expected one policy file");
  if (mode == "lint") {
    // Lint reports a policy that parses but does not build as a finding on the rule at fault,
    // beside the other findings.
    absl::StatusOr<Audited> parsed = Parse(positional[0]);
    if (!parsed.ok()) return PolicyError(err, parsed.status());
    return Lint(*parsed, out);
  }
  absl::StatusOr<Audited> audited = Load(positional[0]);
  if (!audited.ok()) return PolicyError(err, audited.status());
  if (format == "json") {
    PrintJson(*audited, out);
    return kAuditOk;
  }
  if (format == "pfc") return PrintPfc(*audited, out, err);
  if (format == "bpf") {
    absl::StatusOr<SyscallPolicy> policy = audited->parsed.syscalls.Build();
    if (!policy.ok()) return PolicyError(err, policy.status());
    return PrintBpf(*policy, out);
  }
  PrintText(*audited, out);
  return kAuditOk;
}

}  // namespace sbox
