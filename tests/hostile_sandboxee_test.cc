// A sandboxee that has turned hostile speaks raw bytes to the broker: malformed, oversized,
// truncated and unknown messages, stray descriptors, floods, hang-ups, channel churn, and
// dying mid-request. The broker answers or disconnects, never crashes, hangs or leaks.

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "proto/codec.h"
#include "proto/fd_transport.h"
#include "sandboxee/channel_pool.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using testing::MakeLauncher;
using testing::ScratchDir;
using testing::SharedInts;

// A request's bytes, built by hand so that any field can be wrong.
std::string RawRequest(uint16_t version, uint16_t op, uint32_t id, const std::string& path,
                       uint64_t length = 0, int path_len_delta = 0) {
  std::string bytes(proto::kRequestHeaderSize, '\0');
  const uint16_t path_len = static_cast<uint16_t>(path.size() + path_len_delta);
  memcpy(&bytes[0], &version, 2);
  memcpy(&bytes[2], &op, 2);
  memcpy(&bytes[4], &id, 4);
  memcpy(&bytes[16], &length, 8);
  memcpy(&bytes[24], &path_len, 2);
  return bytes + path;
}

// Sends `bytes` with every descriptor in `fds` attached. Returns 0 or -errno.
int SendRaw(int channel, const std::string& bytes, const std::vector<int>& fds = {}) {
  iovec iov = {const_cast<char*>(bytes.data()), bytes.size()};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()) + 1);
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  return sendmsg(channel, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()) ? 0 : -errno;
}

struct RawReply {
  int32_t result = 0;
  uint32_t id = 0;
  int fds = 0;
};

// Reads one reply; closes any descriptor in it. Returns false if none could be read.
bool ReadReply(int channel, RawReply* out) {
  uint8_t buffer[proto::kMaxReplySize];
  proto::ReceivedMessage message;
  const ssize_t size = proto::ReceiveMessage(channel, buffer, sizeof(buffer), 1, &message);
  proto::Reply reply;
  if (size <= 0 || proto::DecodeReply(buffer, static_cast<size_t>(size), &reply) != 0) {
    return false;
  }
  *out = RawReply{reply.result, reply.id, message.fd_count};
  return true;
}

int CountTasks() {
  DIR* dir = opendir("/proc/self/task");
  int count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count;
}

class HostileSandboxeeTest : public ::testing::TestWithParam<ChannelType> {};

TEST_P(HostileSandboxeeTest, MalformedMessagesGetErrorRepliesAndLeakNothing) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("granted.txt", "g");
  const std::string marker = "/sbox-test-marker";
  struct Case {
    const char* name;
    std::string bytes;
    int attached_fds;
    int32_t expected_result;
    int expected_reply_fds;
  };
  const uint16_t open = static_cast<uint16_t>(proto::Op::kOpen);
  const uint16_t stat = static_cast<uint16_t>(proto::Op::kStat);
  const uint16_t new_channel = static_cast<uint16_t>(proto::Op::kNewChannel);
  const std::vector<Case> cases = {
      {"valid open", RawRequest(1, open, 7, file), 0, 0, 1},
      {"one byte", std::string(1, '\1'), 0, -EBADMSG, 0},
      {"truncated header", RawRequest(1, open, 7, file).substr(0, 20), 0, -EBADMSG, 0},
      {"header without its path", RawRequest(1, open, 7, file).substr(0, 32), 0, -EBADMSG, 0},
      {"oversized", std::string(proto::kMaxRequestSize + 100, 'x'), 0, -EMSGSIZE, 0},
      {"wrong version", RawRequest(2, open, 7, file), 0, -EPROTONOSUPPORT, 0},
      {"unknown op", RawRequest(1, 99, 7, file), 0, -ENOSYS, 0},
      {"op zero", RawRequest(1, 0, 7, file), 0, -ENOSYS, 0},
      // kOpen uses `length` (openat2's RESOLVE_* flags); kStat does not, so it must be 0.
      {"field the op does not use set", RawRequest(1, stat, 7, file, 1), 0, -EBADMSG, 0},
      {"path_len too long", RawRequest(1, open, 7, file, 0, 5), 0, -EBADMSG, 0},
      {"path_len too short", RawRequest(1, open, 7, file, 0, -3), 0, -EBADMSG, 0},
      {"path longer than the protocol allows", RawRequest(1, open, 7, "/" + std::string(4200, 'p')),
       0, -ENAMETOOLONG, 0},
      {"new-channel with a path", RawRequest(1, new_channel, 7, "/x"), 0, -EBADMSG, 0},
      {"request with a descriptor", RawRequest(1, open, 7, file), 1, -EBADMSG, 0},
      {"request with two descriptors", RawRequest(1, stat, 7, file), 2, -EBADMSG, 0},
      {"garbage", std::string("\x01\x00\xff\xff garbage that is long enough to pass", 40), 0,
       -ENOSYS, 0},
  };

  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadFile(file), GetParam());
  std::vector<int> fds_at_marker;
  launcher.SetDecisionLog([&](const Decision& d) {
    if (d.path == marker) fds_at_marker.push_back(testing::CountOpenFds());
  });
  constexpr int kMessages = 10000;
  SharedInts wrong(cases.size());
  SharedInts unanswered(1);
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    for (size_t i = 0; i < cases.size(); ++i) wrong[i] = 0;
    unanswered[0] = 0;
    const int ch = channel.get();
    const auto mark = [&] {
      SendRaw(ch, RawRequest(1, stat, 1, marker));
      RawReply r;
      ReadReply(ch, &r);
    };
    mark();
    for (int n = 0; n < kMessages; ++n) {
      const Case& c = cases[n % cases.size()];
      std::vector<int> attached;
      for (int k = 0; k < c.attached_fds; ++k) attached.push_back(k == 0 ? ch : STDERR_FILENO);
      RawReply reply;
      if (SendRaw(ch, c.bytes, attached) != 0 || !ReadReply(ch, &reply)) {
        ++unanswered[0];
        continue;
      }
      if (reply.result != c.expected_result || reply.fds != c.expected_reply_fds) {
        ++wrong[n % cases.size()];
      }
    }
    mark();
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(unanswered[0], 0);
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(wrong[i], 0) << cases[i].name << ": wrong reply " << wrong[i] << " times";
  }
  ASSERT_EQ(fds_at_marker.size(), 2u);
  EXPECT_EQ(fds_at_marker[0], fds_at_marker[1])
      << "the broker's descriptor count changed over " << kMessages << " hostile messages";
}

TEST_P(HostileSandboxeeTest, ErrorRepliesEchoWhatCouldBeRead) {
  Launcher launcher = MakeLauncher(FilePolicy::Builder(), GetParam());
  SharedInts echoed(2);
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    RawReply reply;
    SendRaw(channel.get(), RawRequest(1, 77, 0xabcd, "/x"));
    echoed[0] = ReadReply(channel.get(), &reply) && reply.id == 0xabcd && reply.result == -ENOSYS;
    SendRaw(channel.get(), std::string("\1\0\1", 3));  // version 1, then nothing readable
    echoed[1] = ReadReply(channel.get(), &reply) && reply.id == 0 && reply.result == -EBADMSG;
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(echoed[0], 1);
  EXPECT_EQ(echoed[1], 1);
}

TEST_P(HostileSandboxeeTest, ZeroLengthMessageHangsUpTheChannel) {
  Launcher launcher = MakeLauncher(FilePolicy::Builder(), GetParam());
  SharedInts after(1);
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    SendRaw(channel.get(), "");
    if (GetParam() == ChannelType::kSeqPacket) {
      char byte;
      iovec iov = {&byte, 1};
      msghdr msg = {};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      const ssize_t got = recvmsg(channel.get(), &msg, 0);  // 0: closed by the broker
      after[0] = got < 0 ? -errno : static_cast<int>(got);
    }
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->ok()) << result->ToString();
  if (GetParam() == ChannelType::kSeqPacket) {
    EXPECT_EQ(after[0], 0);
  }
}

TEST_P(HostileSandboxeeTest, AFloodThatNeverReadsRepliesLosesItsChannel) {
  Launcher launcher = MakeLauncher(FilePolicy::Builder(), GetParam());
  constexpr int kLimit = 1000000;
  SharedInts sent(1);
  SharedInts error(1);
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    const std::string request = RawRequest(1, static_cast<uint16_t>(proto::Op::kStat), 1, "/x");
    int n = 0;
    int rc = 0;
    while (n < kLimit && (rc = SendRaw(channel.get(), request)) == 0) ++n;
    sent[0] = n;
    error[0] = -rc;
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->ok()) << result->ToString();
  EXPECT_LT(sent[0], kLimit) << "the broker kept a channel whose peer never reads";
  EXPECT_TRUE(error[0] == EPIPE || error[0] == ECONNREFUSED || error[0] == ECONNRESET)
      << "send failed with " << error[0];
}

TEST_P(HostileSandboxeeTest, SandboxeeDyingMidRequestLeavesTheBrokerClean) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("granted.txt", "g");
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadFile(file), GetParam());
  const int fds_before = testing::CountOpenFds();
  const int tasks_before = CountTasks();
  for (int i = 0; i < 50; ++i) {
    absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
      // The request's reply, with a descriptor in it, will find nobody.
      SendRaw(channel.get(), RawRequest(1, static_cast<uint16_t>(proto::Op::kOpen), 1, file));
      return 7;
    });
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->outcome, SandboxResult::Outcome::kExited);
    EXPECT_EQ(result->exit_code, 7);
  }
  EXPECT_EQ(testing::CountOpenFds(), fds_before);
  EXPECT_EQ(CountTasks(), tasks_before);
}

TEST_P(HostileSandboxeeTest, ChannelRequestsBeyondTheLimitAreRefusedAndChurnLeaksNothing) {
  Launcher launcher = MakeLauncher(FilePolicy::Builder(), GetParam());
  launcher.SetMaxChannels(4);
  std::vector<std::pair<int, int>> broker_state;  // (descriptors, threads) at each marker
  launcher.SetDecisionLog([&](const Decision& d) {
    if (d.path == "/marker") broker_state.emplace_back(testing::CountOpenFds(), CountTasks());
  });
  SharedInts got(5);
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    const int control = channel.get();
    const auto mark = [&] {
      SendRaw(control, RawRequest(1, static_cast<uint16_t>(proto::Op::kStat), 1, "/marker"));
      RawReply r;
      ReadReply(control, &r);
    };
    mark();
    std::vector<UniqueFd> extra;
    for (int i = 0; i < 3; ++i) extra.emplace_back(sandboxee::ChannelPool::RequestChannel(control));
    got[0] = extra[0].valid() && extra[1].valid() && extra[2].valid();
    got[1] = sandboxee::ChannelPool::RequestChannel(control);  // the fifth live channel
    extra.clear();
    // The broker notices the closes asynchronously; churn until the limit frees up. SOCK_DGRAM
    // channels see no hang-up: their threads end only when the sandbox does.
    int churned = 0;
    const int attempts = GetParam() == ChannelType::kSeqPacket ? 200000 : 0;
    for (int attempt = 0; attempt < attempts && churned < 2000; ++attempt) {
      UniqueFd fd(sandboxee::ChannelPool::RequestChannel(control));
      if (fd.valid()) ++churned;
    }
    got[2] = churned;
    mark();
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(got[0], 1);
  EXPECT_EQ(got[1], -EMFILE);
  if (GetParam() == ChannelType::kSeqPacket) {
    EXPECT_EQ(got[2], 2000);
    ASSERT_EQ(broker_state.size(), 2u);
    // Every churned channel's thread and descriptor are gone, give or take the last few still
    // closing.
    EXPECT_LE(broker_state[1].first, broker_state[0].first + 2 * 3);
    EXPECT_LE(broker_state[1].second, broker_state[0].second + 3);
  }
}

INSTANTIATE_TEST_SUITE_P(Channels, HostileSandboxeeTest, testing::BothChannelTypes(),
                         testing::ChannelTypeName);

}  // namespace
}  // namespace sbox
