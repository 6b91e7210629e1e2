#ifndef SBOX_BROKER_FILE_REQUEST_HANDLER_H_
#define SBOX_BROKER_FILE_REQUEST_HANDLER_H_

#include <cstdint>

#include "broker/decision.h"
#include "broker/file_policy.h"
#include "broker/sandbox_state.h"
#include "proto/codec.h"
#include "proto/unique_fd.h"

namespace sbox {

// Decides and performs one file request under a FilePolicy: every op but Op::kNewChannel.
// Stateless beyond its references, so broker threads share one.
//
// Containment is the kernel's: every path is resolved by openat2(2) beneath the deciding rule's
// root descriptor with RESOLVE_BENEATH and RESOLVE_NO_MAGICLINKS, first with
// RESOLVE_NO_SYMLINKS. Name operations (mkdir, unlink, rename, ...) act on a parent directory
// opened that way, through the *at syscalls, on the last component only. Nothing is checked on
// a path string and then reopened by name.
//
// Symlinks: a file rule never follows one (ELOOP). Beneath a tree, an open, stat, access,
// chmod, truncate or connect whose path crosses a symlink is retried following symlinks that
// stay beneath the same root (RESOLVE_BENEATH; absolute symlinks never do), and then allowed
// only if the policy grants the same permissions on the path the descriptor really has
// (deny rules included). Opens that create or truncate never follow a symlink. The errno of
// each refusal is in proto/PROTOCOL.md's table.
class FileRequestHandler {
 public:
  // `log` may be empty. Both must outlive the handler.
  FileRequestHandler(const FilePolicy& policy, const DecisionLog& log)
      : policy_(policy), log_(log) {}

  struct Outcome {
    int32_t result = 0;  // >= 0, or -errno
    UniqueFd fd;         // open, connect: the descriptor for the sandboxee
    size_t payload_size = 0;
  };

  // `dirfds` holds the request's descriptors in fd_paths order (for the paths with one), as
  // received. `payload` receives up to proto::kMaxReplyPayload bytes (stat, readlink).
  Outcome Handle(const proto::Request& request, const UniqueFd* dirfds, SandboxState& sandbox,
                 uint8_t* payload) const;

 private:
  const FilePolicy& policy_;
  const DecisionLog& log_;
};

}  // namespace sbox

#endif  // SBOX_BROKER_FILE_REQUEST_HANDLER_H_
