#ifndef SBOX_BROKER_DECISION_RECORDER_H_
#define SBOX_BROKER_DECISION_RECORDER_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/decision.h"

namespace sbox {

// Keeps every decision as a FormatDecision line, for printing once the sandboxee has exited.
// Thread-safe, as a DecisionLog must be.
class DecisionRecorder {
 public:
  // A log that appends to this recorder, which must outlive every launch that uses it.
  DecisionLog AsLog();
  std::vector<std::string> Lines() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sbox

#endif  // SBOX_BROKER_DECISION_RECORDER_H_
