#include "broker/decision_recorder.h"

#include <utility>

namespace sbox {

DecisionLog DecisionRecorder::AsLog() {
  return [this](const Decision& decision) {
    std::string line = FormatDecision(decision);
    absl::MutexLock lock(&mu_);
    lines_.push_back(std::move(line));
  };
}

std::vector<std::string> DecisionRecorder::Lines() const {
  absl::MutexLock lock(&mu_);
  return lines_;
}

}  // namespace sbox
