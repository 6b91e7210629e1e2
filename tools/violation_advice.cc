#include "tools/violation_advice.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "broker/syscall_policy.h"

namespace sbox {
namespace {

// "arg0 == AF_UNIX", as the policy format prints a rule's conditions.
std::string ConditionsOf(const PolicyRule& rule) {
  PolicyRule bare = rule;
  bare.justification.clear();
  return std::string(
      absl::StripPrefix(FormatRule(bare), absl::StrCat("allow ", rule.name, " if ")));
}

// "threads", as the policy format names the group.
std::string GroupNameOf(SyscallGroup group) {
  PolicyRule rule;
  rule.kind = PolicyRule::Kind::kAllowGroup;
  rule.group = group;
  return std::string(absl::StripPrefix(FormatRule(rule), "allow group "));
}

// What to add, or why nothing should be.
std::string Remedy(const SyscallViolation& violation) {
  if (violation.suggested_rule.empty()) return "no rule is suggested";
  if (absl::StartsWith(violation.suggested_rule, "#")) return violation.suggested_rule;
  return absl::StrCat("to allow this call add: ", violation.suggested_rule);
}

}  // namespace

std::string ViolationAdvice(const std::vector<PolicyRule>& rules, const std::string& policy_name,
                            const SyscallViolation& violation) {
  const std::string& name = violation.syscall_name;
  // The conditional allows the call failed; an unconditional one, an errno or a trap would have
  // kept it from being a violation.
  std::vector<std::string> places;
  std::vector<std::string> conditions;
  for (const PolicyRule& rule : rules) {
    const std::string where = absl::StrCat(rule.file, ":", rule.line);
    if (rule.kind == PolicyRule::Kind::kAllow && rule.name == name && !rule.all_of.empty()) {
      places.push_back(where);
      conditions.push_back(ConditionsOf(rule));
    }
    if (rule.kind != PolicyRule::Kind::kAllowGroup) continue;
    for (const SyscallPolicy::GroupRule& member : SyscallPolicy::GroupRules(rule.group)) {
      if (member.name != name || member.all_of.empty() || member.error != 0) continue;
      PolicyRule as_rule;
      as_rule.kind = PolicyRule::Kind::kAllow;
      as_rule.name = name;
      as_rule.all_of = member.all_of;
      const std::string place = absl::StrCat("group ", GroupNameOf(rule.group), " via ", where);
      if (std::find(places.begin(), places.end(), place) == places.end()) places.push_back(place);
      conditions.push_back(ConditionsOf(as_rule));
    }
  }
  if (places.empty()) {
    return absl::StrCat(policy_name, " does not mention ", name, "; ", Remedy(violation));
  }
  std::vector<std::string> alternatives;
  for (const std::string& c : conditions) {
    alternatives.push_back(conditions.size() == 1 ? c : absl::StrCat("(", c, ")"));
  }
  return absl::StrCat(absl::StrJoin(places, ", "), " allows ", name, " only if ",
                      absl::StrJoin(alternatives, " || "), "; ", Remedy(violation));
}

}  // namespace sbox
