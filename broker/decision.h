#ifndef SBOX_BROKER_DECISION_H_
#define SBOX_BROKER_DECISION_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "broker/file_policy.h"
#include "proto/wire_format.h"

namespace sbox {

// What the broker decided for one request. Views are valid only during the DecisionLog call.
struct Decision {
  absl::Time time;  // when the broker received the request
  pid_t pid;        // the sandboxee, as the launcher knows it; 0 when unknown
  proto::Op op;
  // The paths the policy judged: absolute and normalized (a relative path joined to its
  // directory), or as sent when they could not be made so.
  std::string_view path;
  std::string_view path2;  // rename and link: the new name; symlink: the target; exec: argv[0]
  uint32_t flags;          // as sent: open flags, access mode, stat or rename flags, socket type
  uint32_t mode;           // as sent: create mode, chmod mode
  bool allowed;            // the policy allowed it (the operation itself may still have failed)
  int error;               // errno the sandboxee got; 0 on success
  const Rule* rule;        // the rule that decided; nullptr when none did
  const char* reason;      // short, static text
  absl::Duration elapsed;  // the broker's time on the request, up to the reply
  // The symlinks followed to reach `path` and `path2`, as the paths that name them; a policy
  // that grants the request must cover each (broker/path_walk.h).
  absl::Span<const std::string> links = {};
};

// Receives every decision. Called on broker threads, possibly several at once: it must be
// thread-safe, and it runs on the request's path, so it should be quick.
using DecisionLog = std::function<void(const Decision&)>;

// One line, e.g.
//   open "/etc/passwd" O_RDONLY: allowed (rule 1: allow r file /etc/passwd)
//   open "/etc/shadow" O_RDONLY: denied, EACCES: no rule covers the path
std::string FormatDecision(const Decision& decision);

// "open", "access", "stat", "new-channel", "readlink", ..., or "op <n>".
std::string OpName(proto::Op op);

}  // namespace sbox

#endif  // SBOX_BROKER_DECISION_H_
