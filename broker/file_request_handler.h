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
// Containment is the kernel's: every path is opened by openat2(2) beneath the deciding rule's
// root descriptor with RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS and RESOLVE_NO_SYMLINKS
// (broker/beneath.h). Name operations (mkdir, unlink, rename, ...) act on a parent directory
// opened that way, through the *at syscalls, on the last component only. Nothing is checked on
// a path string and then reopened by name with symlinks allowed.
//
// Symlinks and "..": a path without either costs one openat2, as it always did. One whose open
// meets a symlink, that has "..", or that no rule covers as named, is walked hop by hop
// (broker/path_walk.h): every symlink is followed by the name of its target, judged by the
// policy like any path, and ".." is taken physically; then the walked name is opened as above.
// A symlink swapped in between fails that open and the walk is redone, a bounded number of
// times (ELOOP). The errno of each refusal is in proto/PROTOCOL.md's table.
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
