// The client's side of a round trip against a peer that answers wrongly: every mismatch is
// EPROTO, marks the channel failed, and leaks no descriptor.

#include "sandboxee/round_trip.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "gtest/gtest.h"
#include "proto/fd_transport.h"
#include "tests/fd_count.h"

namespace sbox::sandboxee {
namespace {

using ::sbox::testing::CountOpenFds;

class RoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
    client_.reset(fds[0]);
    peer_.reset(fds[1]);
  }

  // Runs `request` while the peer answers the way `answer` says.
  int RoundTripAgainst(const proto::Request& request,
                       const std::function<void(const proto::Request&)>& answer) {
    std::thread peer([&] {
      uint8_t buffer[proto::kMaxRequestSize];
      proto::ReceivedMessage message;
      const ssize_t size = proto::ReceiveMessage(peer_.get(), buffer, sizeof(buffer), 0, &message);
      proto::Request received;
      if (size > 0 && proto::DecodeRequest(buffer, static_cast<size_t>(size), 0, &received) == 0) {
        answer(received);
      }
    });
    const int result = RoundTrip(client_.get(), request, nullptr, &reply_);
    peer.join();
    return result;
  }

  void Answer(proto::Reply reply, int fd = -1) {
    uint8_t buffer[proto::kMaxReplySize];
    const ptrdiff_t size = proto::EncodeReply(reply, buffer, sizeof(buffer));
    ASSERT_GT(size, 0);
    ASSERT_EQ(proto::SendMessage(peer_.get(), buffer, static_cast<size_t>(size), fd, 0), 0);
  }

  UniqueFd client_;
  UniqueFd peer_;
  RoundTripReply reply_;
};

proto::Request OpenRequest() {
  proto::Request request;
  request.op = proto::Op::kOpen;
  request.id = 41;
  request.path = "/etc/hostname";
  return request;
}

TEST_F(RoundTripTest, AWellFormedReplyHandsOverItsDescriptor) {
  UniqueFd file(open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_EQ(RoundTripAgainst(OpenRequest(),
                             [&](const proto::Request& r) {
                               Answer({r.op, r.id, 0, 1, {}}, file.get());
                             }),
            0);
  EXPECT_TRUE(reply_.fd.valid());
  EXPECT_FALSE(reply_.channel_failed);
}

TEST_F(RoundTripTest, BrokerErrnoIsReturnedAndTheChannelStaysUsable) {
  EXPECT_EQ(RoundTripAgainst(OpenRequest(),
                             [&](const proto::Request& r) {
                               Answer({r.op, r.id, -EACCES, 0, {}});
                             }),
            -EACCES);
  EXPECT_FALSE(reply_.channel_failed);
}

TEST_F(RoundTripTest, MismatchedRepliesAreProtocolErrors) {
  UniqueFd file(open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int fds_before = CountOpenFds();
  struct Case {
    const char* name;
    std::function<void(const proto::Request&)> answer;
  };
  const Case cases[] = {
      {"another request's id",
       [&](const proto::Request& r) {
         Answer({r.op, r.id + 1, 0, 1, {}}, file.get());
       }},
      {"another op",
       [&](const proto::Request& r) {
         Answer({proto::Op::kStat, r.id, 0, 0, {}});
       }},
      {"success without the descriptor",
       [&](const proto::Request& r) {
         Answer({r.op, r.id, 0, 0, {}});
       }},
      {"failure with a descriptor",
       [&](const proto::Request& r) {
         Answer({r.op, r.id, -ENOENT, 1, {}}, file.get());
       }},
      {"descriptor not announced",
       [&](const proto::Request& r) {
         Answer({r.op, r.id, 0, 0, {}}, file.get());
       }},
      {"a payload on open",
       [&](const proto::Request& r) {
         Answer({r.op, r.id, 0, 1, "xx"}, file.get());
       }},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RoundTripAgainst(OpenRequest(), c.answer), -EPROTO) << c.name;
    EXPECT_TRUE(reply_.channel_failed) << c.name;
    EXPECT_FALSE(reply_.fd.valid()) << c.name;
    EXPECT_EQ(CountOpenFds(), fds_before) << c.name << ": a descriptor leaked";
  }
}

TEST_F(RoundTripTest, APeerThatHangsUpIsAConnectionReset) {
  EXPECT_EQ(RoundTripAgainst(OpenRequest(), [&](const proto::Request&) { peer_.reset(); }),
            -ECONNRESET);
  EXPECT_TRUE(reply_.channel_failed);
}

TEST_F(RoundTripTest, AClosedDirectoryDescriptorSendsNothingAndKeepsTheChannel) {
  proto::Request request = OpenRequest();
  request.path = "relative";
  request.fd_paths = proto::kFdForPath;
  const int closed = 9999;
  EXPECT_EQ(RoundTrip(client_.get(), request, &closed, &reply_), -EBADF);
  EXPECT_FALSE(reply_.channel_failed);
}

TEST_F(RoundTripTest, AnOverlongPathIsRefusedBeforeSending) {
  proto::Request request = OpenRequest();
  const std::string path = "/" + std::string(proto::kMaxPathLength, 'a');
  request.path = path;
  EXPECT_EQ(RoundTrip(client_.get(), request, nullptr, &reply_), -ENAMETOOLONG);
  EXPECT_FALSE(reply_.channel_failed);
}

}  // namespace
}  // namespace sbox::sandboxee
