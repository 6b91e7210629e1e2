#ifndef SBOX_SANDBOXEE_BROKER_CLIENT_H_
#define SBOX_SANDBOXEE_BROKER_CLIENT_H_

#include <sys/stat.h>

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/codec.h"
#include "proto/unique_fd.h"
#include "sandboxee/channel_pool.h"
#include "sandboxee/round_trip.h"

namespace sbox::sandboxee {

// The sandboxee's side of the broker: file operations it cannot make itself.
//
// Safe to use from several threads at once; each concurrent request gets a channel of its own
// (see ChannelPool). Paths must be absolute and normalized.
//
// Errors keep the broker's errno: ErrnoOf(status) returns it, and the message names the
// operation, the path and the errno, e.g. `open("/etc/shadow", O_RDONLY): EACCES (Permission
// denied)`. The errnos a caller sees:
//   EACCES        no grant covers the path; write access on a read-only grant; a symlink that
//                 leads outside the grant
//   EINVAL        relative path, "." or ".." component, "//", trailing '/', NUL byte; open flags
//                 outside the allowlist; unknown access mode or stat flags
//   ENAMETOOLONG  longer than 4095 bytes
//   ELOOP         a symlink where a file grant names a file, or O_NOFOLLOW on a symlink
//   others        what the kernel said when the broker performed the operation (ENOENT, ...)
//   EPIPE, ECONNRESET, EPROTO  the channel failed; see RoundTrip
class BrokerClient {
 public:
  // Takes the channel the launcher handed to the sandboxee.
  explicit BrokerClient(UniqueFd channel);

  // open(2) through the broker. The descriptor is close-on-exec (it is received with
  // MSG_CMSG_CLOEXEC) and never a controlling terminal. With O_CREAT the file is created with
  // `mode & 0600`, less the broker's umask.
  absl::StatusOr<UniqueFd> Open(absl::string_view path, int flags, mode_t mode = 0600);
  // access(2) through the broker: F_OK, or any of R_OK, W_OK, X_OK.
  absl::Status Access(absl::string_view path, int mode);
  // stat(2) and lstat(2) through the broker.
  absl::StatusOr<struct stat> Stat(absl::string_view path);
  absl::StatusOr<struct stat> Lstat(absl::string_view path);

  // The same operations without allocation, for hot paths and signal handlers: they return a
  // descriptor (Open) or 0, or -errno.
  int OpenRaw(absl::string_view path, int flags, mode_t mode);
  int AccessRaw(absl::string_view path, int mode);
  int StatRaw(absl::string_view path, int flags, struct stat* out);

 private:
  // Gives `request` an id, sends it on a leased channel and reads the reply.
  int Transact(proto::Request& request, RoundTripReply* reply);

  ChannelPool pool_;
  std::atomic<uint32_t> next_id_{1};
};

// The errno in a status from BrokerClient: 0 for OK, -1 for a status it did not make.
int ErrnoOf(const absl::Status& status);

}  // namespace sbox::sandboxee

#endif  // SBOX_SANDBOXEE_BROKER_CLIENT_H_
