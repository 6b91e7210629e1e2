#ifndef SBOX_BROKER_FILE_REQUEST_HANDLER_H_
#define SBOX_BROKER_FILE_REQUEST_HANDLER_H_

#include <cstdint>

#include "broker/decision.h"
#include "broker/file_policy.h"
#include "proto/codec.h"
#include "proto/unique_fd.h"

namespace sbox {

// Decides and performs one file request (open, access, stat) under a FilePolicy. Stateless
// beyond its two references, so broker threads share one.
//
// Every path is resolved by openat2(2) beneath the matching grant's root descriptor, with
// RESOLVE_BENEATH and RESOLVE_NO_MAGICLINKS; file grants add RESOLVE_NO_SYMLINKS. Nothing is
// checked on a path string and then reopened by name, so a rename or symlink swap between the
// check and the open cannot redirect it. The errno for each refusal is in PROTOCOL.md's table.
class FileRequestHandler {
 public:
  // `log` may be empty. Both must outlive the handler.
  FileRequestHandler(const FilePolicy& policy, const DecisionLog& log)
      : policy_(policy), log_(log) {}

  struct Outcome {
    int32_t result = 0;  // 0, or -errno
    UniqueFd fd;         // open: the descriptor for the sandboxee
    size_t payload_size = 0;
  };

  // `payload` receives a Stat reply's bytes (proto::kWireStatSize of them).
  Outcome Handle(const proto::Request& request, uint8_t* payload) const;

 private:
  const FilePolicy& policy_;
  const DecisionLog& log_;
};

}  // namespace sbox

#endif  // SBOX_BROKER_FILE_REQUEST_HANDLER_H_
