#include "proto/fd_transport.h"

#include <errno.h>
#include <sys/socket.h>

#include <cstring>

namespace sbox::proto {
namespace {

// Restores errno on scope exit, so that callers in a signal handler see theirs unchanged.
class ErrnoKeeper {
 public:
  ErrnoKeeper() : saved_(errno) {}
  ~ErrnoKeeper() { errno = saved_; }

 private:
  int saved_;
};

// Room for the largest control message the protocol allows, and one descriptor more: a message
// that carries too many then still fits its first ones, which are closed, and is reported as
// having too many instead of as a bare truncation.
constexpr size_t kControlSpace = CMSG_SPACE(sizeof(int) * (kMaxDescriptorsPerMessage + 1));

union ControlBuffer {
  char bytes[kControlSpace];
  cmsghdr align;
};

}  // namespace

int SendMessage(int socket, const void* data, size_t size, int fd, int flags) {
  return SendMessageWithFds(socket, data, size, &fd, fd >= 0 ? 1 : 0, flags);
}

int SendMessageWithFds(int socket, const void* data, size_t size, const int* fds, int fd_count,
                       int flags) {
  ErrnoKeeper keep_errno;
  if (fd_count < 0 || fd_count > kMaxDescriptorsPerMessage) return -EINVAL;
  iovec iov = {const_cast<void*>(data), size};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ControlBuffer control;
  if (fd_count > 0) {
    memset(&control, 0, sizeof(control));
    msg.msg_control = control.bytes;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fd_count);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fd_count);
    memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * fd_count);
  }
  ssize_t sent;
  do {
    sent = sendmsg(socket, &msg, flags | MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return -errno;
  if (static_cast<size_t>(sent) != size) return -EMSGSIZE;
  return 0;
}

ssize_t ReceiveMessage(int socket, void* buffer, size_t buffer_size, int max_fds,
                       ReceivedMessage* out) {
  ErrnoKeeper keep_errno;
  out->size = 0;
  out->fd_count = 0;
  for (UniqueFd& fd : out->fds) fd.reset();

  iovec iov = {buffer, buffer_size};
  ControlBuffer control;
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof(control.bytes);
  ssize_t received;
  do {
    received = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (received < 0 && errno == EINTR);
  if (received < 0) return -errno;

  // Take ownership of every descriptor first, so that no error path below can leak one. Any
  // beyond the protocol's maximum are closed at once.
  bool foreign_control = false;
  int descriptors = 0;
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) {
      foreign_control = true;
      continue;
    }
    const size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const unsigned char* data = CMSG_DATA(cmsg);
    for (size_t i = 0; i < count; ++i, ++descriptors) {
      int raw;
      memcpy(&raw, data + i * sizeof(int), sizeof(int));
      UniqueFd received_fd(raw);
      if (descriptors < kMaxDescriptorsPerMessage) {
        out->fds[descriptors] = static_cast<UniqueFd&&>(received_fd);
      }
    }
  }
  out->fd_count = descriptors < kMaxDescriptorsPerMessage ? descriptors : kMaxDescriptorsPerMessage;
  out->size = static_cast<size_t>(received);

  ssize_t result = received;
  if (received == 0) {
    result = 0;  // a hang-up, whatever came with it
  } else if (msg.msg_flags & MSG_TRUNC) {
    result = -EMSGSIZE;
    out->size = buffer_size;
  } else if ((msg.msg_flags & MSG_CTRUNC) || foreign_control || descriptors > max_fds) {
    result = -EBADMSG;
  }
  if (result <= 0) {
    for (UniqueFd& fd : out->fds) fd.reset();
    out->fd_count = 0;
  }
  return result;
}

}  // namespace sbox::proto
