#ifndef SBOX_BROKER_ARG_CONDITION_H_
#define SBOX_BROKER_ARG_CONDITION_H_

#include <cstdint>
#include <utility>
#include <vector>

namespace sbox {

// One comparison of a syscall argument (index 0..5) against 64-bit values. On x86_64 every
// comparison covers all 64 bits of the argument.
struct ArgCondition {
  enum class Compare { kEq, kNe, kLt, kLe, kGt, kGe, kMaskedEq, kIn };
  int index;
  Compare compare;
  uint64_t value;
  uint64_t mask = 0;                  // kMaskedEq: (arg & mask) == value
  std::vector<uint64_t> values = {};  // kIn: arg equals one of them; must not be empty

  // Whether the argument word `arg` satisfies the condition, as the filter compares it.
  bool Admits(uint64_t arg) const;
};

// Builds conditions: Arg(2).MaskedEq(PROT_EXEC, 0), Arg(0).In({1, 2}).
class Arg {
 public:
  explicit constexpr Arg(int index) : index_(index) {}
  ArgCondition Eq(uint64_t v) const { return {index_, ArgCondition::Compare::kEq, v}; }
  ArgCondition Ne(uint64_t v) const { return {index_, ArgCondition::Compare::kNe, v}; }
  ArgCondition Lt(uint64_t v) const { return {index_, ArgCondition::Compare::kLt, v}; }
  ArgCondition Le(uint64_t v) const { return {index_, ArgCondition::Compare::kLe, v}; }
  ArgCondition Gt(uint64_t v) const { return {index_, ArgCondition::Compare::kGt, v}; }
  ArgCondition Ge(uint64_t v) const { return {index_, ArgCondition::Compare::kGe, v}; }
  ArgCondition MaskedEq(uint64_t mask, uint64_t v) const {
    return {index_, ArgCondition::Compare::kMaskedEq, v, mask};
  }
  // The argument equals one of `values`: one comparison per value in the compiled filter
  // (broker/filter_compiler.h), however many In an Allow holds.
  ArgCondition In(std::vector<uint64_t> values) const {
    return {index_, ArgCondition::Compare::kIn, 0, 0, std::move(values)};
  }

 private:
  int index_;
};

}  // namespace sbox

#endif  // SBOX_BROKER_ARG_CONDITION_H_
