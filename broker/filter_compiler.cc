#include "broker/filter_compiler.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "broker/sandbox_result.h"

namespace sbox {
namespace {

// Offsets in seccomp_data of the words a filter loads. x86_64 is little-endian: an argument's
// low word comes first.
constexpr uint32_t kNrOffset = offsetof(seccomp_data, nr);
constexpr uint32_t kArchOffset = offsetof(seccomp_data, arch);
uint32_t LowWord(int index) { return offsetof(seccomp_data, args) + 8 * index; }
uint32_t HighWord(int index) { return LowWord(index) + 4; }
uint32_t Low(uint64_t v) { return static_cast<uint32_t>(v); }
uint32_t High(uint64_t v) { return static_cast<uint32_t>(v >> 32); }

// Emits a program backwards, so that every jump's target already exists when the jump is
// written. A Label is the target's distance from the end of the program: the number of
// instructions emitted when it was.
class BackwardEmitter {
 public:
  using Label = size_t;

  Label Return(uint32_t action) {
    auto [it, inserted] = returns_.emplace(action, 0);
    if (inserted || !Reachable(it->second)) {
      it->second = Emit(BPF_STMT(BPF_RET | BPF_K, action));
    }
    return it->second;
  }
  Label Load(uint32_t offset, Label next) {
    return Emit(FallThrough(next, BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset)));
  }
  Label And(uint32_t k, Label next) {
    return Emit(FallThrough(next, BPF_STMT(BPF_ALU | BPF_AND | BPF_K, k)));
  }
  // A conditional jump on the accumulator: `op` is BPF_JEQ, BPF_JGT or BPF_JGE.
  Label Jump(uint16_t op, uint32_t k, Label if_true, Label if_false) {
    if (if_true == if_false) return if_true;
    // Far targets get a trampoline right after the jump; each one moves the other target a
    // step further away.
    while (!Reachable(if_true) || !Reachable(if_false)) {
      if (!Reachable(if_true)) {
        if_true = Trampoline(if_true);
      } else {
        if_false = Trampoline(if_false);
      }
    }
    return Emit(BPF_JUMP(BPF_JMP | op | BPF_K, k, Offset(if_true), Offset(if_false)));
  }

  size_t size() const { return backwards_.size(); }
  // The program, from `entry` (the last label emitted) on.
  std::vector<sock_filter> Finish() const {
    return std::vector<sock_filter>(backwards_.rbegin(), backwards_.rend());
  }

 private:
  // The jump the next instruction would need to reach `label`.
  size_t Distance(Label label) const { return backwards_.size() - label; }
  bool Reachable(Label label) const { return Distance(label) <= 255; }
  uint8_t Offset(Label label) const { return static_cast<uint8_t>(Distance(label)); }

  Label Emit(sock_filter instruction) {
    backwards_.push_back(instruction);
    return backwards_.size();
  }
  // An instruction that falls through needs `next` right after it.
  sock_filter FallThrough(Label next, sock_filter instruction) {
    if (Distance(next) != 0) Emit(AlwaysTo(next));
    return instruction;
  }
  Label Trampoline(Label target) {
    const sock_filter& at = backwards_[target - 1];
    // A return is as short as a jump to it, and ends the filter sooner.
    if (BPF_CLASS(at.code) == BPF_RET) return Emit(at);
    return Emit(AlwaysTo(target));
  }
  sock_filter AlwaysTo(Label target) const {
    return BPF_JUMP(BPF_JMP | BPF_JA, static_cast<uint32_t>(Distance(target)), 0, 0);
  }

  std::vector<sock_filter> backwards_;
  std::map<uint32_t, Label> returns_;
};

using Label = BackwardEmitter::Label;

// Tests the 64-bit argument word of `c` against `c.value`: `pass` when it holds, else `fail`.
class ConditionEmitter {
 public:
  explicit ConditionEmitter(BackwardEmitter& out) : out_(out) {}

  Label Emit(const ArgCondition& c, Label pass, Label fail) {
    using Compare = ArgCondition::Compare;
    switch (c.compare) {
      case Compare::kEq:
        return Equal(c.index, c.value, pass, fail);
      case Compare::kNe:
        return Equal(c.index, c.value, fail, pass);
      case Compare::kGt:
        return Above(c.index, BPF_JGT, c.value, pass, fail);
      case Compare::kGe:
        return Above(c.index, BPF_JGE, c.value, pass, fail);
      case Compare::kLe:
        return Above(c.index, BPF_JGT, c.value, fail, pass);
      case Compare::kLt:
        return Above(c.index, BPF_JGE, c.value, fail, pass);
      case Compare::kMaskedEq:
        return MaskedEqual(c.index, c.mask, c.value, pass, fail);
      case Compare::kIn:
        return OneOf(c.index, c.values, pass, fail);
    }
    return fail;
  }

 private:
  Label Equal(int index, uint64_t v, Label pass, Label fail) {
    const Label low = out_.Load(LowWord(index), out_.Jump(BPF_JEQ, Low(v), pass, fail));
    return out_.Load(HighWord(index), out_.Jump(BPF_JEQ, High(v), low, fail));
  }

  // arg > v (BPF_JGT) or arg >= v (BPF_JGE), unsigned: the high words decide unless they are
  // equal, and then the low words do.
  Label Above(int index, uint16_t op, uint64_t v, Label pass, Label fail) {
    const Label low = out_.Load(LowWord(index), out_.Jump(op, Low(v), pass, fail));
    const Label high_equal = out_.Jump(BPF_JEQ, High(v), low, fail);
    return out_.Load(HighWord(index), out_.Jump(BPF_JGT, High(v), pass, high_equal));
  }

  Label MaskedEqual(int index, uint64_t mask, uint64_t v, Label pass, Label fail) {
    Label next = pass;
    for (const auto& [word, m, expected] : {std::tuple{LowWord(index), Low(mask), Low(v)},
                                            std::tuple{HighWord(index), High(mask), High(v)}}) {
      if ((expected & ~m) != 0) return fail;  // a bit the mask clears never matches
      if (m == 0) continue;                   // 0 == 0 whatever the word
      next = out_.Load(word, out_.And(m, out_.Jump(BPF_JEQ, expected, next, fail)));
    }
    return next;
  }

  // One high-word test per distinct high word, then its low words.
  Label OneOf(int index, const std::vector<uint64_t>& values, Label pass, Label fail) {
    std::map<uint32_t, std::vector<uint32_t>> by_high;
    for (uint64_t v : values) by_high[High(v)].push_back(Low(v));
    std::vector<std::pair<uint32_t, Label>> low_tests;
    for (auto& [high, lows] : by_high) {
      std::sort(lows.begin(), lows.end());
      lows.erase(std::unique(lows.begin(), lows.end()), lows.end());
      Label next = fail;
      for (auto low = lows.rbegin(); low != lows.rend(); ++low) {
        next = out_.Jump(BPF_JEQ, *low, pass, next);
      }
      low_tests.emplace_back(high, out_.Load(LowWord(index), next));
    }
    Label next = fail;
    for (auto it = low_tests.rbegin(); it != low_tests.rend(); ++it) {
      next = out_.Jump(BPF_JEQ, it->first, it->second, next);
    }
    return out_.Load(HighWord(index), next);
  }

  BackwardEmitter& out_;
};

// A run of syscall numbers [first, next range's first) with one outcome: `action` at once, or
// the tests of one syscall's rules at `rules`.
struct Range {
  uint32_t first;
  bool has_rules;
  uint32_t action;  // !has_rules
  Label rules;      // has_rules
};

// Chooses between ranges by the number in the accumulator.
Label SearchTree(BackwardEmitter& out, const std::vector<Range>& ranges, size_t begin, size_t end) {
  if (end - begin == 1) {
    const Range& range = ranges[begin];
    return range.has_rules ? range.rules : out.Return(range.action);
  }
  const size_t middle = begin + (end - begin) / 2;
  const Label upper = SearchTree(out, ranges, middle, end);
  const Label lower = SearchTree(out, ranges, begin, middle);
  return out.Jump(BPF_JGE, ranges[middle].first, upper, lower);
}

absl::Status CheckRule(const FilterRule& rule, size_t position) {
  const auto error = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrFormat("filter rule %d (syscall %s): %s",
                                                      position + 1, SyscallName(rule.nr), what));
  };
  if (rule.nr < 0 || rule.nr >= kFilterSyscallLimit) return error("number out of range");
  for (const ArgCondition& c : rule.all_of) {
    if (c.index < 0 || c.index > 5) {
      return error(absl::StrFormat("argument index %d is outside 0..5", c.index));
    }
    if (c.compare == ArgCondition::Compare::kIn && c.values.empty()) {
      return error(absl::StrFormat("argument %d: In needs at least one value", c.index));
    }
  }
  return absl::OkStatus();
}

// The rules of each syscall, in the spec's order.
std::map<int, std::vector<const FilterRule*>> RulesBySyscall(const FilterSpec& spec) {
  std::map<int, std::vector<const FilterRule*>> by_nr;
  for (const FilterRule& rule : spec.rules) by_nr[rule.nr].push_back(&rule);
  return by_nr;
}

}  // namespace

absl::StatusOr<std::vector<sock_filter>> CompileFilter(const FilterSpec& spec) {
  for (size_t i = 0; i < spec.rules.size(); ++i) {
    if (absl::Status status = CheckRule(spec.rules[i], i); !status.ok()) return status;
  }
  BackwardEmitter out;
  ConditionEmitter conditions(out);

  // Each syscall's outcome: an action when a rule without conditions comes first (adjacent
  // numbers with one action share a range), else its rules' tests. Instruction counts per
  // syscall name the heaviest if the program is too big.
  std::vector<Range> ranges;
  std::map<int, size_t> size_of;
  const auto add_action = [&](uint32_t first, uint32_t action) {
    if (!ranges.empty() && !ranges.back().has_rules && ranges.back().action == action) return;
    ranges.push_back(Range{first, false, action, 0});
  };
  uint32_t next_nr = 0;
  for (const auto& [nr, rules] : RulesBySyscall(spec)) {
    if (static_cast<uint32_t>(nr) != next_nr) add_action(next_nr, spec.default_action);
    next_nr = static_cast<uint32_t>(nr) + 1;
    if (rules.front()->all_of.empty()) {
      add_action(static_cast<uint32_t>(nr), rules.front()->action);
      continue;
    }
    const size_t before = out.size();
    Label next = out.Return(spec.default_action);
    for (auto rule = rules.rbegin(); rule != rules.rend(); ++rule) {
      Label pass = out.Return((*rule)->action);
      for (auto c = (*rule)->all_of.rbegin(); c != (*rule)->all_of.rend(); ++c) {
        pass = conditions.Emit(*c, pass, next);
      }
      next = pass;
    }
    size_of[nr] = out.size() - before;
    ranges.push_back(Range{static_cast<uint32_t>(nr), true, 0, next});
  }
  if (next_nr < kFilterSyscallLimit) add_action(next_nr, spec.default_action);
  add_action(kFilterSyscallLimit, SECCOMP_RET_KILL_PROCESS);

  // The tree runs with the number in the accumulator.
  const Label tree = SearchTree(out, ranges, 0, ranges.size());
  const Label number = out.Load(kNrOffset, tree);
  const Label arch =
      out.Jump(BPF_JEQ, AUDIT_ARCH_X86_64, number, out.Return(SECCOMP_RET_KILL_PROCESS));
  out.Load(kArchOffset, arch);

  if (out.size() > BPF_MAXINSNS) {
    std::string heaviest;
    if (!size_of.empty()) {
      const auto it =
          std::max_element(size_of.begin(), size_of.end(),
                           [](const auto& a, const auto& b) { return a.second < b.second; });
      heaviest = absl::StrFormat(": the rules of syscall %s take %d of them",
                                 SyscallName(it->first), it->second);
    }
    return absl::ResourceExhaustedError(
        absl::StrFormat("the filter has %d BPF instructions; the kernel accepts %d%s", out.size(),
                        BPF_MAXINSNS, heaviest));
  }
  return out.Finish();
}

std::string FilterActionText(uint32_t action) {
  const uint32_t data = action & SECCOMP_RET_DATA;
  switch (action & SECCOMP_RET_ACTION_FULL) {
    case SECCOMP_RET_ALLOW:
      return "ALLOW";
    case SECCOMP_RET_ERRNO:
      return absl::StrCat("ERRNO(", data, ")");
    case SECCOMP_RET_TRAP:
      return "TRAP";
    case SECCOMP_RET_USER_NOTIF:
      return "USER_NOTIF";
    case SECCOMP_RET_KILL_PROCESS:
      return "KILL_PROCESS";
    case SECCOMP_RET_KILL_THREAD:
      return "KILL_THREAD";
    case SECCOMP_RET_LOG:
      return "LOG";
    case SECCOMP_RET_TRACE:
      return absl::StrCat("TRACE(", data, ")");
  }
  return absl::StrFormat("0x%08x", action);
}

std::string FilterPseudoCode(const FilterSpec& spec) {
  std::string text = "# x86_64 only: any other architecture, and any x32 call, is KILL_PROCESS\n";
  for (const auto& [nr, rules] : RulesBySyscall(spec)) {
    absl::StrAppendFormat(&text, "# syscall \"%s\" (%d)\nif ($syscall == %d)\n", SyscallName(nr),
                          nr, nr);
    for (const FilterRule* rule : rules) {
      std::vector<std::string> tests;
      for (const ArgCondition& c : rule->all_of) {
        using Compare = ArgCondition::Compare;
        const char* op = "==";
        switch (c.compare) {
          case Compare::kEq:
          case Compare::kIn:
          case Compare::kMaskedEq:
            break;
          case Compare::kNe:
            op = "!=";
            break;
          case Compare::kLt:
            op = "<";
            break;
          case Compare::kLe:
            op = "<=";
            break;
          case Compare::kGt:
            op = ">";
            break;
          case Compare::kGe:
            op = ">=";
            break;
        }
        if (c.compare == Compare::kIn) {
          std::vector<std::string> each;
          for (uint64_t v : c.values) each.push_back(absl::StrFormat("$a%d == %#x", c.index, v));
          tests.push_back(absl::StrCat("(", absl::StrJoin(each, " || "), ")"));
        } else if (c.compare == Compare::kMaskedEq) {
          tests.push_back(absl::StrFormat("($a%d & %#x) == %#x", c.index, c.mask, c.value));
        } else {
          tests.push_back(absl::StrFormat("$a%d %s %#x", c.index, op, c.value));
        }
      }
      if (tests.empty()) {
        absl::StrAppend(&text, "  action ", FilterActionText(rule->action), ";\n");
      } else {
        absl::StrAppend(&text, "  if (", absl::StrJoin(tests, " && "), ") action ",
                        FilterActionText(rule->action), ";\n");
      }
    }
  }
  absl::StrAppend(&text, "# default action\naction ", FilterActionText(spec.default_action), ";\n");
  return text;
}

}  // namespace sbox
