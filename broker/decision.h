#ifndef SBOX_BROKER_DECISION_H_
#define SBOX_BROKER_DECISION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "broker/file_policy.h"
#include "proto/wire_format.h"

namespace sbox {

// What the broker decided for one request. Views are valid only during the DecisionLog call.
struct Decision {
  proto::Op op;
  std::string_view path;
  uint32_t flags;      // open flags, access mode or stat flags, as the sandboxee sent them
  bool allowed;        // the policy allowed it (the operation itself may still have failed)
  int error;           // errno the sandboxee got; 0 on success
  const Grant* grant;  // the grant covering the path; nullptr when none does
  const char* reason;  // short, static text
};

// Receives every decision. Called on broker threads, possibly several at once: it must be
// thread-safe, and it runs on the request's path, so it should be quick.
using DecisionLog = std::function<void(const Decision&)>;

// One line, e.g.
//   open "/etc/passwd" O_RDONLY|O_CLOEXEC: allowed by read-only file /etc/passwd
//   open "/etc/shadow" O_RDONLY: denied, EACCES: no grant covers the path
std::string FormatDecision(const Decision& decision);

// "open", "access", "stat", "new-channel", or "op <n>".
std::string OpName(proto::Op op);

}  // namespace sbox

#endif  // SBOX_BROKER_DECISION_H_
