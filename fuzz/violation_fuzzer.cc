// The syscall decoder (broker/syscall_decoder.h) and the violation advice
// (tools/violation_advice.h) on kernel-reported violations built from the input.
//
// The input is a syscall number, an architecture choice, six arguments and an instruction
// pointer, then NUL-separated strings: all but the last are what the sandboxee's memory holds
// at the addresses the decoder reads (the address picks one, or unreadable, or truncated), the
// last is a policy text whose rules the advice is given against. Checked: nothing crashes;
// DecodeCall starts with the call's name; a suggested rule that is not a `#` comment parses
// alone (includes off), builds, and its filter (tools/bpf_eval.h) lets an x86_64 call with
// these arguments through (an `allow group` line: does something else with it than the empty
// policy does, e.g. sends it to the broker); the advice is never empty.

#include <linux/audit.h>
#include <linux/seccomp.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/policy_text.h"
#include "broker/sandbox_result.h"
#include "broker/syscall_decoder.h"
#include "tools/bpf_eval.h"
#include "tools/violation_advice.h"

namespace {

struct Reader {
  const uint8_t* data;
  size_t size;
  template <typename T>
  T Take() {
    T value{};
    const size_t n = size < sizeof(T) ? size : sizeof(T);
    std::memcpy(&value, data, n);
    data += n;
    size -= n;
    return value;
  }
};

[[noreturn]] void Fail(const char* what, const sbox::SyscallViolation& v, const std::string& detail) {
  std::fprintf(stderr, "violation_fuzzer: %s\n  %s\n  %s\n", what, v.ToString().c_str(),
               detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in{data, size};
  sbox::SyscallViolation violation;
  violation.syscall_number = static_cast<int>(in.Take<uint16_t>() % 600) - 4;
  const uint8_t arch = in.Take<uint8_t>();
  violation.arch = arch < 224 ? AUDIT_ARCH_X86_64 : arch < 240 ? AUDIT_ARCH_I386 : in.Take<uint32_t>();
  for (uint64_t& arg : violation.args) arg = in.Take<uint64_t>();
  violation.instruction_pointer = in.Take<uint64_t>();
  violation.thread_id = 1;
  violation.syscall_name = sbox::SyscallName(violation.syscall_number);

  std::vector<std::string> strings;
  {
    const std::string_view rest(reinterpret_cast<const char*>(in.data), in.size);
    size_t start = 0;
    for (;;) {
      const size_t nul = rest.find('\0', start);
      if (nul == std::string_view::npos) {
        strings.emplace_back(rest.substr(start));
        break;
      }
      strings.emplace_back(rest.substr(start, nul - start));
      start = nul + 1;
    }
  }
  const std::string policy_text = strings.back();
  strings.pop_back();
  const sbox::StringReader read_string =
      [&strings](uint64_t address) -> std::optional<sbox::RemoteString> {
    const size_t index = address % (strings.size() + 1);
    if (index == strings.size()) return std::nullopt;
    sbox::RemoteString out;
    out.text = strings[index].substr(0, sbox::kMaxRemoteString);
    out.truncated = (address >> 8) & 1;
    return out;
  };

  const std::string call = sbox::DecodeCall(violation, read_string);
  if (call.rfind(violation.syscall_name, 0) != 0) Fail("call does not start with the name", violation, call);
  (void)sbox::DecodeCall(violation, nullptr);
  const std::string rule = sbox::SuggestRule(violation);
  if (rule.empty()) Fail("empty suggestion", violation, rule);
  sbox::DecodeViolation(&violation, read_string);
  if (violation.suggested_rule != rule) Fail("DecodeViolation suggests otherwise", violation, rule);
  (void)violation.ToString();

  if (rule[0] != '#' && violation.arch == AUDIT_ARCH_X86_64) {
    sbox::ParseOptions options;
    options.allow_includes = false;
    absl::StatusOr<sbox::ParsedPolicy> parsed = sbox::ParsePolicyText(rule + "\n", "suggestion", options);
    if (!parsed.ok()) Fail("the suggestion does not parse", violation, std::string(parsed.status().message()));
    absl::StatusOr<sbox::SyscallPolicy> built = parsed->syscalls.Build();
    if (!built.ok()) Fail("the suggestion does not build", violation, std::string(built.status().message()));
    const absl::StatusOr<uint32_t> ret = sbox::RunSeccompFilter(
        built->program(),
        sbox::MakeSeccompData(violation.syscall_number, {violation.args, violation.args + 6}));
    if (!ret.ok()) Fail("the suggestion's filter does not run", violation, std::string(ret.status().message()));
    // A group may send its calls to the broker instead (file-redirection, own-process: a TRAP
    // the sandboxee's SIGSYS handler forwards with Build()'s default redirection) or answer an
    // errno (`allow group file-redirection  # fspick answers EPERM there`): the call is then no
    // longer a violation, whatever the empty policy does with it.
    static const std::vector<sock_filter>* empty = [] {
      sbox::ParseOptions no_includes;
      no_includes.allow_includes = false;
      absl::StatusOr<sbox::ParsedPolicy> p = sbox::ParsePolicyText("", "empty", no_includes);
      if (!p.ok()) std::abort();
      absl::StatusOr<sbox::SyscallPolicy> b = p->syscalls.Build();
      if (!b.ok()) std::abort();
      return new std::vector<sock_filter>(b->program());
    }();
    const absl::StatusOr<uint32_t> before = sbox::RunSeccompFilter(
        *empty, sbox::MakeSeccompData(violation.syscall_number, {violation.args, violation.args + 6}));
    const bool group_handles_it =
        rule.rfind("allow group ", 0) == 0 && before.ok() && *ret != *before;
    // exit_group is always a notification: the launcher lets an allowed one through after
    // reading the reports queued before it (README, "Violation reports ... are never lost").
    const bool exit_notified =
        violation.syscall_name == "exit_group" && *ret == SECCOMP_RET_USER_NOTIF;
    if (*ret != SECCOMP_RET_ALLOW && !group_handles_it && !exit_notified) {
      Fail("the suggestion does not allow the call", violation, rule + " -> " + sbox::SeccompReturnText(*ret));
    }
  }

  sbox::ParseOptions options;
  options.allow_includes = false;
  absl::StatusOr<sbox::ParsedPolicy> policy = sbox::ParsePolicyText(policy_text, "p.policy", options);
  const std::vector<sbox::PolicyRule> rules = policy.ok() ? policy->rules : std::vector<sbox::PolicyRule>{};
  if (sbox::ViolationAdvice(rules, "p.policy", violation).empty()) {
    Fail("empty advice", violation, policy_text);
  }
  return 0;
}
