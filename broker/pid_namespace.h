#ifndef SBOX_BROKER_PID_NAMESPACE_H_
#define SBOX_BROKER_PID_NAMESPACE_H_

#include <sys/types.h>

#include "absl/status/statusor.h"

namespace sbox {

// The id that process or thread `id` (as the broker's pid namespace numbers it) has in its own
// innermost pid namespace: the last field of the "NSpid:" line of /proc/<id>/status. The same
// id for a process in the broker's namespace. NotFound when /proc/<id>/status cannot be opened
// (ENOENT: it is gone), Internal when it has no NSpid line (kernels before 4.1).
absl::StatusOr<pid_t> InnermostPid(pid_t id);

}  // namespace sbox

#endif  // SBOX_BROKER_PID_NAMESPACE_H_
