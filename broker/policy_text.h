#ifndef SBOX_BROKER_POLICY_TEXT_H_
#define SBOX_BROKER_POLICY_TEXT_H_

// Policies as text: one rule per line, for people to read, review and diff. The format is
// specified in broker/POLICY_FORMAT.md.
//
//   absl::StatusOr<ParsedPolicy> parsed = ParsePolicyFile("/etc/sbox/parser.policy");
//   absl::StatusOr<SyscallPolicy> syscalls = parsed->syscalls.Build();
//   absl::StatusOr<FilePolicy> files = parsed->files.Build();

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/file_policy.h"
#include "broker/syscall_policy.h"

namespace sbox {

// One line of a policy that made a rule, after includes were expanded.
struct PolicyRule {
  enum class Kind {
    kDefault,         // default ACTION                 default_action
    kAllow,           // allow SYSCALL [if CONDITIONS]  name, all_of
    kAllowGroup,      // allow group GROUP              group
    kErrno,           // errno ERRNO SYSCALL            name, error
    kTrap,            // trap SYSCALL                   name
    kFile,            // file PERMS PATH                name (the path), permissions
    kTree,            // tree PERMS PATH                name (the path), permissions
    kTemporary,       // temporary PATH                 name (the path)
    kDeny,            // deny PATH [errno ERRNO]        name (the path), error (0: EACCES)
    kCreateModes,     // create-modes FILE DIRECTORY    file_mode, directory_mode
    kUncoveredPaths,  // uncovered-paths ERRNO       error (ENOENT or EACCES)
    kPrivateTmp,      // private-tmp                    (no field)
  };
  Kind kind = Kind::kAllow;
  std::string name;
  std::vector<ArgCondition> all_of;
  // kAllow: per condition of all_of, its values as written, in the order ConditionText prints
  // them (kMaskedEq: mask, value; kIn: each value; others: the value), constant names kept and
  // numbers canonical: "O_RDONLY|O_CLOEXEC", "0x1000". FormatRule prints these instead of the
  // numbers when their count matches; empty for rules made in code.
  std::vector<std::vector<std::string>> spelled;
  DefaultAction default_action;
  SyscallGroup group = SyscallGroup::kBasicIo;
  int error = 0;
  Permissions permissions = 0;
  mode_t file_mode = 0;
  mode_t directory_mode = 0;

  // Where the rule was written: the file as it was named (the top file as given, an included
  // file joined to its includer's directory) and the 1-based line.
  std::string file;
  int line = 0;
  // The text of a trailing `justify "..."`; empty when there is none.
  std::string justification;
};

// A parsed policy: the builders to Build(), and the rules they were made from in the order the
// text gives them (includes expanded in place).
struct ParsedPolicy {
  SyscallPolicy::Builder syscalls;
  FilePolicy::Builder files;
  std::vector<PolicyRule> rules;
  // A `private-tmp` line: the program gets a private /tmp (`sbox run --private-tmp`). The
  // builders hold no rule for it: the directory is made per run, by whoever runs the program.
  bool private_tmp = false;
};

struct ParseOptions {
  // False: an `include` line is an error ("includes are disabled"); the text alone is parsed,
  // nothing is read from the file system (the fuzzer parses this way).
  bool allow_includes = true;
};

// Errors are InvalidArgument, "FILE:LINE:COLUMN: expected X, found Y" (columns 1-based), with one
// "\n  included from FILE:LINE" per enclosing include; NotFound and the like when a file cannot
// be read.
absl::StatusOr<ParsedPolicy> ParsePolicyFile(const std::string& path);

// `name_for_errors` names the text in errors and rule sources; includes resolve relative to its
// directory (the working directory when it has none).
absl::StatusOr<ParsedPolicy> ParsePolicyText(absl::string_view text,
                                             absl::string_view name_for_errors,
                                             const ParseOptions& options = ParseOptions());

// The canonical text of `policy.rules`: one rule per line in order, includes flattened, comments
// and sources dropped, justifications kept. Parsing the result and formatting again gives the
// same text.
std::string FormatPolicy(const ParsedPolicy& policy);

// The canonical text of one rule, without a newline.
std::string FormatRule(const PolicyRule& rule);

}  // namespace sbox

#endif  // SBOX_BROKER_POLICY_TEXT_H_
