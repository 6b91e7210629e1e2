#include "broker/arg_condition.h"

#include <algorithm>

namespace sbox {

bool ArgCondition::Admits(uint64_t arg) const {
  switch (compare) {
    case Compare::kEq:
      return arg == value;
    case Compare::kNe:
      return arg != value;
    case Compare::kLt:
      return arg < value;
    case Compare::kLe:
      return arg <= value;
    case Compare::kGt:
      return arg > value;
    case Compare::kGe:
      return arg >= value;
    case Compare::kMaskedEq:
      return (arg & mask) == value;
    case Compare::kIn:
      return std::find(values.begin(), values.end(), arg) != values.end();
  }
  return false;
}

}  // namespace sbox
