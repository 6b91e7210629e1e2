#include "proto/call_message.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sbox::proto {
namespace {

// Sends `bytes` with `fds` over a real SEQPACKET pair and parses what arrives as a reply.
std::string ParseSentReply(const std::string& bytes, std::vector<int> fds, CallReply* reply,
                           size_t max_output = 1 << 20) {
  int pair[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair), 0);
  EXPECT_EQ(SendMessageWithFds(pair[0], bytes.data(), bytes.size(), fds.data(),
                               static_cast<int>(fds.size()), 0),
            0);
  std::vector<char> buffer(kMaxCallMessage);
  ReceivedMessage message;
  const ssize_t size = ReceiveMessage(pair[1], buffer.data(), buffer.size(), 1, &message);
  close(pair[0]);
  close(pair[1]);
  if (size <= 0) return "receive failed";
  return ParseCallReply(buffer.data(), static_cast<size_t>(size), message, max_output, reply);
}

std::string Reply(CallReplyHeader header, const std::string& payload) {
  std::string bytes(reinterpret_cast<const char*>(&header), sizeof(header));
  return bytes + payload;
}

CallReplyHeader OkHeader(uint64_t size) {
  return CallReplyHeader{kCallMagic, kReplyOk, 0, 0, size, 0, 0, 0};
}

TEST(CallMessage, AnInlineReplyParses) {
  CallReply reply;
  EXPECT_EQ(ParseSentReply(Reply(OkHeader(5), "hello"), {}, &reply), "");
  EXPECT_TRUE(reply.ok);
  EXPECT_EQ(reply.bytes, "hello");
}

TEST(CallMessage, AnErrorReplyCarriesItsCodeAndMessage) {
  CallReply reply;
  EXPECT_EQ(ParseSentReply(Reply({kCallMagic, kReplyError, 0, 3, 3, 0, 0, 0}, "bad"), {}, &reply),
            "");
  EXPECT_FALSE(reply.ok);
  EXPECT_EQ(reply.status_code, 3);
  EXPECT_EQ(reply.bytes, "bad");
}

TEST(CallMessage, AMemfdReplyIsRead) {
  const int memfd = memfd_create("out", MFD_CLOEXEC);
  ASSERT_GE(memfd, 0);
  const std::string big(200000, 'x');
  ASSERT_EQ(write(memfd, big.data(), big.size()), static_cast<ssize_t>(big.size()));
  CallReply reply;
  CallReplyHeader header = OkHeader(big.size());
  header.flags = kOutputInMemfd;
  EXPECT_EQ(ParseSentReply(Reply(header, ""), {memfd}, &reply), "");
  EXPECT_EQ(reply.bytes, big);
  close(memfd);
}

TEST(CallMessage, EveryMalformedReplyIsRefusedNamingTheField) {
  CallReply reply;
  CallReplyHeader bad_magic = OkHeader(0);
  bad_magic.magic = 1;
  EXPECT_EQ(ParseSentReply(Reply(bad_magic, ""), {}, &reply), "reply magic");
  CallReplyHeader bad_kind = OkHeader(0);
  bad_kind.kind = 7;
  EXPECT_EQ(ParseSentReply(Reply(bad_kind, ""), {}, &reply), "reply kind 7");
  EXPECT_EQ(ParseSentReply(Reply(OkHeader(9), "short"), {}, &reply), "reply size 9 (message says)");
  EXPECT_EQ(ParseSentReply("tiny", {}, &reply), "reply of 4 bytes: shorter than its header");
  EXPECT_EQ(ParseSentReply(Reply(OkHeader(5), "hello"), {}, &reply, 4),
            "output of 5 bytes: past the limit of 4");
  EXPECT_EQ(ParseSentReply(Reply({kCallMagic, kReplyError, 0, 99, 0, 0, 0, 0}, ""), {}, &reply),
            "reply status_code 99");
  EXPECT_EQ(ParseSentReply(Reply({kCallMagic, kReplyError, 0, 0, 0, 0, 0, 0}, ""), {}, &reply),
            "reply status_code 0");
}

TEST(CallMessage, APipeOrAnOrdinaryFileIsNotTakenForAMemfd) {
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  CallReplyHeader header = OkHeader(10);
  header.flags = kOutputInMemfd;
  CallReply reply;
  // A pipe's read would block the host until the sandboxee wrote: refused without a read.
  EXPECT_EQ(ParseSentReply(Reply(header, ""), {pipe_fds[0]}, &reply), "descriptor: not a memfd");
  const int file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(file, 0);
  EXPECT_EQ(ParseSentReply(Reply(header, ""), {file}, &reply), "descriptor: not a memfd");
  close(file);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

TEST(CallMessage, AMemfdShorterThanAnnouncedIsRefused) {
  const int memfd = memfd_create("out", MFD_CLOEXEC);
  ASSERT_GE(memfd, 0);
  ASSERT_EQ(write(memfd, "abc", 3), 3);
  CallReplyHeader header = OkHeader(10);
  header.flags = kOutputInMemfd;
  CallReply reply;
  EXPECT_EQ(ParseSentReply(Reply(header, ""), {memfd}, &reply),
            "memfd holds 3 bytes, not the 10 announced");
  close(memfd);
}

TEST(CallMessage, ARequestWithTheWrongDescriptorCountIsRefused) {
  CallRequestHeader header{kCallMagic, 0, 2, 1, 0};
  std::string bytes(reinterpret_cast<const char*>(&header), sizeof(header));
  bytes += "hi";
  ReceivedMessage none;
  CallRequest request;
  EXPECT_EQ(ParseCallRequest(bytes.data(), bytes.size(), none, &request),
            "request descriptors: 0 came");
  header.fd_count = 0;
  bytes.replace(0, sizeof(header), reinterpret_cast<const char*>(&header), sizeof(header));
  EXPECT_EQ(ParseCallRequest(bytes.data(), bytes.size(), none, &request), "");
  EXPECT_EQ(request.input, "hi");
}

TEST(CallMessage, APingCarriesNothing) {
  CallRequestHeader header{kCallMagic, kPing, 0, 0, 0};
  ReceivedMessage none;
  CallRequest request;
  EXPECT_EQ(ParseCallRequest(&header, sizeof(header), none, &request), "");
  EXPECT_TRUE(request.ping);
  header.input_size = 1;
  std::string bytes(reinterpret_cast<const char*>(&header), sizeof(header));
  bytes += "x";
  CallRequest with_input;
  EXPECT_EQ(ParseCallRequest(bytes.data(), bytes.size(), none, &with_input), "ping with input");
}

}  // namespace
}  // namespace sbox::proto
