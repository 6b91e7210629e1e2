#ifndef SBOX_PROTO_FD_TRANSPORT_H_
#define SBOX_PROTO_FD_TRANSPORT_H_

// One message, with at most kMaxDescriptorsPerMessage descriptors in an SCM_RIGHTS control
// message (cmsg_level SOL_SOCKET), over a SOCK_SEQPACKET or SOCK_DGRAM AF_UNIX socket.
//
// Both functions are async-signal-safe: they call only sendmsg(2), recvmsg(2) and close(2), use
// the caller's buffers and the stack, and leave errno as they found it.

#include <sys/types.h>

#include <cstddef>

#include "proto/unique_fd.h"
#include "proto/wire_format.h"

namespace sbox::proto {

// Sends `size` bytes and, when `fd` >= 0, that descriptor. Always MSG_NOSIGNAL; `flags` adds to
// it (the broker passes MSG_DONTWAIT so that a peer that does not read can never stall it).
// Returns 0, or -errno from sendmsg (EINTR is retried): -EAGAIN, -EPIPE, -ECONNREFUSED, ...
// A short send, which SEQPACKET and DGRAM sockets do not produce, is reported as -EMSGSIZE.
int SendMessage(int socket, const void* data, size_t size, int fd, int flags);
// The same with `fd_count` (<= kMaxDescriptorsPerMessage) descriptors.
int SendMessageWithFds(int socket, const void* data, size_t size, const int* fds, int fd_count,
                       int flags);

struct ReceivedMessage {
  size_t size = 0;
  int fd_count = 0;
  UniqueFd fds[kMaxDescriptorsPerMessage];
};

// Receives one message into `buffer` with MSG_CMSG_CLOEXEC, accepting up to `max_fds`
// (<= kMaxDescriptorsPerMessage) descriptors. Every received descriptor is owned by `out` the
// moment it is read out of the control message. Returns:
//   > 0        the message's size; `out` holds it and its descriptors
//   0          end of channel: the peer closed it, the channel was shut down, or a zero-length
//              message arrived, with or without descriptors (the protocol has no zero-length
//              message, so it is a hang-up)
//   -EMSGSIZE  the message was longer than `buffer_size` (MSG_TRUNC)
//   -EBADMSG   the control data was truncated (MSG_CTRUNC: more descriptors than the buffer
//              holds), a control message of another level or type arrived, or more than
//              `max_fds` descriptors came
//   -errno     recvmsg failed (EINTR is retried)
// On every error, each descriptor that did arrive has been closed, and `out->size` is the
// number of bytes that were read so the caller may still echo what it can of the header.
ssize_t ReceiveMessage(int socket, void* buffer, size_t buffer_size, int max_fds,
                       ReceivedMessage* out);

}  // namespace sbox::proto

#endif  // SBOX_PROTO_FD_TRANSPORT_H_
