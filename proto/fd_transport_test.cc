// SendMessage and ReceiveMessage on real AF_UNIX socket pairs of both channel types. Leaks are
// measured by counting /proc/self/fd: a received descriptor that was not closed shows up there.

#include "proto/fd_transport.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proto/unique_fd.h"
#include "proto/wire_format.h"
#include "tests/fd_count.h"

namespace sbox::proto {
namespace {

using ::sbox::testing::CountOpenFds;

bool IsCloseOnExec(int fd) { return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

// Without O_CLOEXEC, so that a close-on-exec flag on the received copy can only come from the
// receiver.
Pipe MakePipe() {
  int fds[2];
  if (pipe2(fds, 0) != 0) return {};
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// sendmsg with any number of descriptors in one SCM_RIGHTS message, which SendMessage (one at
// most, as the protocol allows) cannot produce.
ssize_t SendWithDescriptors(int socket, const void* data, size_t size,
                            const std::vector<int>& fds) {
  iovec iov = {const_cast<void*>(data), size};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  return sendmsg(socket, &msg, MSG_NOSIGNAL);
}

class FdTransportTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, GetParam() | SOCK_CLOEXEC, 0, fds), 0) << strerror(errno);
    sender_.reset(fds[0]);
    receiver_.reset(fds[1]);
    ASSERT_GE(CountOpenFds(), 0) << "the leak checks need /proc/self/fd";
  }

  UniqueFd sender_;
  UniqueFd receiver_;
  char buffer_[kMaxReplySize];
  ReceivedMessage message_;
};

TEST_P(FdTransportTest, MessageWithoutDescriptorArrivesWhole) {
  ASSERT_EQ(SendMessage(sender_.get(), "request", 7, -1, 0), 0);
  ASSERT_EQ(ReceiveMessage(receiver_.get(), buffer_, sizeof(buffer_), 1, &message_), 7);
  EXPECT_EQ(std::string(buffer_, 7), "request");
  EXPECT_EQ(message_.size, 7u);
  EXPECT_EQ(message_.fd_count, 0);
  EXPECT_FALSE(message_.fds[0].valid());
}

TEST_P(FdTransportTest, PassedDescriptorReadsThroughToTheSameFile) {
  Pipe pipe = MakePipe();
  ASSERT_TRUE(pipe.read_end.valid());
  ASSERT_EQ(SendMessage(sender_.get(), "open", 4, pipe.read_end.get(), 0), 0);
  pipe.read_end.reset();  // only the received copy is left

  ASSERT_EQ(ReceiveMessage(receiver_.get(), buffer_, sizeof(buffer_), 1, &message_), 4);
  ASSERT_EQ(message_.fd_count, 1);
  ASSERT_TRUE(message_.fds[0].valid());
  ASSERT_EQ(write(pipe.write_end.get(), "through", 7), 7);
  char data[16] = {};
  EXPECT_EQ(read(message_.fds[0].get(), data, sizeof(data)), 7);
  EXPECT_STREQ(data, "through");
}

TEST_P(FdTransportTest, ReceivedDescriptorIsCloseOnExec) {
  Pipe pipe = MakePipe();
  ASSERT_FALSE(IsCloseOnExec(pipe.read_end.get()));
  ASSERT_EQ(SendMessage(sender_.get(), "x", 1, pipe.read_end.get(), 0), 0);
  ASSERT_EQ(ReceiveMessage(receiver_.get(), buffer_, sizeof(buffer_), 1, &message_), 1);
  ASSERT_EQ(message_.fd_count, 1);
  EXPECT_TRUE(IsCloseOnExec(message_.fds[0].get()));
}

TEST_P(FdTransportTest, OversizedMessageIsEMSGSIZEAndItsDescriptorIsClosed) {
  Pipe pipe = MakePipe();
  const int before = CountOpenFds();
  const std::string big(100, 'b');
  ASSERT_EQ(SendMessage(sender_.get(), big.data(), big.size(), pipe.read_end.get(), 0), 0);

  EXPECT_EQ(ReceiveMessage(receiver_.get(), buffer_, 10, 1, &message_), -EMSGSIZE);
  // The part that fit is kept, so that the broker can still echo a request's op and id.
  EXPECT_EQ(message_.size, 10u);
  EXPECT_EQ(std::string(buffer_, 10), big.substr(0, 10));
  EXPECT_EQ(message_.fd_count, 0);
  EXPECT_EQ(CountOpenFds(), before);

  // The rest of the oversized message is gone; the next message is intact.
  ASSERT_EQ(SendMessage(sender_.get(), "next", 4, -1, 0), 0);
  ASSERT_EQ(ReceiveMessage(receiver_.get(), buffer_, sizeof(buffer_), 1, &message_), 4);
  EXPECT_EQ(std::string(buffer_, 4), "next");
}

TEST_P(FdTransportTest, TwoDescriptorsWhenOneIsAllowedAreEBADMSGAndBothClosed) {
  Pipe pipe = MakePipe();
  const int before = CountOpenFds();
  ASSERT_EQ(
      SendWithDescriptors(sender_.get(), "two", 3, {pipe.read_end.get(), pipe.write_end.get()}), 3);
  EXPECT_EQ(ReceiveMessage(receiver_.get(), buffer_, sizeof(buffer_), 1, &message_), -EBADMSG);
  EXPECT_EQ(message_.size, 3u);
  EXPECT_EQ(message_.fd_count, 0);
  EXPECT_FALSE(message_.fds[0].valid());
  EXPECT_EQ(CountOpenFds(), before);
}

// More descriptors than the control buffer holds: the kernel truncates (MSG_CTRUNC) and closes
// those that did not fit; ReceiveMessage closes the ones that did.
TEST_P(FdTransportTest, ManyDescriptorsAreEBADMSGAndNoneLeaks) {
  Pipe pipe = MakePipe();
  const int before = CountOpenFds();
  const int r = pipe.read_end.get();
  const int w = pipe.write_end.get();
  ASSERT_EQ(SendWithDescriptors(sender_.get(), "many", 4, {r, w, r, w, r, w, r, w}), 4);
  EXPECT_EQ(ReceiveMessage(receiver_.get(), buffer_, sizeof(buffer_), 1, &message_), -EBADMSG);
  EXPECT_EQ(message_.fd_count, 0);
  EXPECT_EQ(CountOpenFds(), before);
}

// The broker's case: requests carry no descriptors.
TEST_P(FdTransportTest, DescriptorWhenNoneIsAllowedIsEBADMSGAndClosed) {
  Pipe pipe = MakePipe();
  const int before = CountOpenFds();
  ASSERT_EQ(SendMessage(sender_.get(), "request!", 8, pipe.read_end.get(), 0), 0);
  EXPECT_EQ(ReceiveMessage(receiver_.get(), buffer_, sizeof(buffer_), 0, &message_), -EBADMSG);
  EXPECT_EQ(message_.size, 8u);  // the header can still be echoed
  EXPECT_EQ(std::string(buffer_, 8), "request!");
  EXPECT_EQ(message_.fd_count, 0);
  EXPECT_EQ(CountOpenFds(), before);
}

TEST_P(FdTransportTest, ForeignControlMessageIsEBADMSG) {
  const int on = 1;
  ASSERT_EQ(setsockopt(receiver_.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
  ASSERT_EQ(SendMessage(sender_.get(), "creds", 5, -1, 0), 0);
  EXPECT_EQ(ReceiveMessage(receiver_.get(), buffer_, sizeof(buffer_), 1, &message_), -EBADMSG);
  EXPECT_EQ(message_.fd_count, 0);
}

TEST_P(FdTransportTest, ZeroLengthMessageIsEndOfChannel) {
  ASSERT_EQ(SendMessage(sender_.get(), "", 0, -1, 0), 0);
  EXPECT_EQ(ReceiveMessage(receiver_.get(), buffer_, sizeof(buffer_), 1, &message_), 0);
  EXPECT_EQ(message_.size, 0u);
  EXPECT_EQ(message_.fd_count, 0);
}

// A zero-length message is a hang-up even when it carries a descriptor, which is closed.
TEST_P(FdTransportTest, ZeroLengthMessageWithADescriptorIsEndOfChannel) {
  Pipe pipe = MakePipe();
  const int before = CountOpenFds();
  for (const int max_fds : {0, 1}) {
    ASSERT_EQ(SendMessage(sender_.get(), "", 0, pipe.read_end.get(), 0), 0);
    EXPECT_EQ(ReceiveMessage(receiver_.get(), buffer_, sizeof(buffer_), max_fds, &message_), 0);
    EXPECT_EQ(message_.fd_count, 0);
    EXPECT_EQ(CountOpenFds(), before);
  }
}

// MSG_DONTWAIT is how the broker avoids waiting on a peer that does not read: the send fails at
// once when the peer's backlog is full.
TEST_P(FdTransportTest, DontWaitSendToAPeerThatDoesNotReadIsEAGAIN) {
  const std::string reply(kMaxReplySize, 'r');
  int result = 0;
  for (int i = 0; i < 100000 && result == 0; ++i) {
    result = SendMessage(sender_.get(), reply.data(), reply.size(), -1, MSG_DONTWAIT);
  }
  EXPECT_EQ(result, -EAGAIN);
}

TEST_P(FdTransportTest, ReceiveFailureIsMinusErrno) {
  Pipe pipe = MakePipe();
  EXPECT_EQ(ReceiveMessage(pipe.read_end.get(), buffer_, sizeof(buffer_), 1, &message_), -ENOTSOCK);
  EXPECT_EQ(SendMessage(pipe.write_end.get(), "x", 1, -1, 0), -ENOTSOCK);
}

TEST_P(FdTransportTest, ErrnoIsPreservedOnSuccessAndFailure) {
  Pipe pipe = MakePipe();
  errno = EDOM;
  EXPECT_EQ(SendMessage(sender_.get(), "ok", 2, pipe.read_end.get(), 0), 0);
  EXPECT_EQ(errno, EDOM);
  EXPECT_EQ(ReceiveMessage(receiver_.get(), buffer_, sizeof(buffer_), 1, &message_), 2);
  EXPECT_EQ(errno, EDOM);
  EXPECT_EQ(SendMessage(sender_.get(), "fd", 2, pipe.read_end.get(), 0), 0);
  EXPECT_EQ(ReceiveMessage(receiver_.get(), buffer_, sizeof(buffer_), 0, &message_), -EBADMSG);
  EXPECT_EQ(errno, EDOM);
  EXPECT_EQ(ReceiveMessage(pipe.read_end.get(), buffer_, sizeof(buffer_), 1, &message_), -ENOTSOCK);
  EXPECT_EQ(errno, EDOM);
  receiver_.reset();
  EXPECT_LT(SendMessage(sender_.get(), "gone", 4, -1, 0), 0);
  EXPECT_EQ(errno, EDOM);
}

INSTANTIATE_TEST_SUITE_P(ChannelTypes, FdTransportTest,
                         ::testing::Values(SOCK_SEQPACKET, SOCK_DGRAM),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return info.param == SOCK_SEQPACKET ? "SeqPacket" : "Datagram";
                         });

// What each socket type shows when the other end closes. The protocol relies on the first; the
// second is why a SOCK_DGRAM client must send a zero-length message to give a channel back.
TEST(FdTransportPeerCloseTest, SeqPacketPeerCloseIsEndOfChannel) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd sender(fds[0]);
  UniqueFd receiver(fds[1]);
  sender.reset();
  char buffer[16];
  ReceivedMessage message;
  EXPECT_EQ(ReceiveMessage(receiver.get(), buffer, sizeof(buffer), 1, &message), 0);
  EXPECT_EQ(SendMessage(receiver.get(), "x", 1, -1, 0), -EPIPE);
}

TEST(FdTransportPeerCloseTest, DatagramPeerCloseIsNotSeenByTheReceiver) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
  UniqueFd sender(fds[0]);
  UniqueFd receiver(fds[1]);
  sender.reset();
  char buffer[16];
  ReceivedMessage message;
  // A blocking receive would wait for ever; non-blocking shows there is nothing to read.
  EXPECT_EQ(ReceiveMessage(receiver.get(), buffer, sizeof(buffer), 1, &message), -EAGAIN);
  EXPECT_EQ(SendMessage(receiver.get(), "x", 1, -1, 0), -ECONNREFUSED);
}

}  // namespace
}  // namespace sbox::proto
