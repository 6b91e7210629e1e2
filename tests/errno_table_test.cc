// One test per row of proto/PROTOCOL.md §8.2, the errno table, named Row_<id>: each provokes that
// refusal against a real broker and checks the errno, the decision's reason where the broker
// records one (so that two rows with one errno cannot be mistaken for each other) and, for the
// protocol rows, the op and request id the error reply echoes (§8.3).
//
// Policy and operation rows go through the real client (sandboxee/broker_client.h) in a sandboxee;
// protocol rows send bytes built by hand. The few rows a sandboxee cannot reach (credentials
// control data, the broker's own resource failures and its stopping) drive a BrokerServer in
// this process on a socket pair. The last test reads the table itself and fails when a row has no
// test here or a test names no row.

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "broker/broker_server.h"
#include "broker/decision.h"
#include "broker/decision_recorder.h"
#include "broker/file_policy.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "proto/codec.h"
#include "proto/errno_name.h"
#include "proto/unique_fd.h"
#include "proto/wire_format.h"
#include "sandboxee/broker_client.h"
#include "sandboxee/channel_pool.h"
#include "sandboxee/round_trip.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

// The permissions the broker enforces; x is the kernel's (tests/exec_test.cc), and Landlock
// cannot mirror a deny rule inside an x tree.
constexpr Permissions kBrokerPermissions = kAllPermissions & ~kExecute;

using sandboxee::BrokerClient;
using sandboxee::ErrnoOf;
using testing::MakeLauncher;
using testing::ScratchDir;
using testing::SharedInts;

// Every row id of the errno table that has a Row_<id> test below. TableAndTestsNameTheSameRows
// checks it against PROTOCOL.md, both ways, and against the tests registered.
constexpr const char* kImplementedRows[] = {
    "R0",  "R1",  "R2",  "D1",  "D2",  "D3", "D5", "D6", "D7", "D8",  "D10", "D9",  "N1",
    "N2",  "N3",  "A13", "A18", "P3",  "P4", "P6", "P7", "P5", "K11", "P8",  "P9",  "P10",
    "W4",  "A14", "A1",  "A2",  "A3",  "A4", "A5", "A6", "A7", "A8",  "A9",  "A10", "A16",
    "A17", "A19", "A11", "A12", "A15", "W1", "W2", "W3", "W5", "W6",  "W9",  "W10", "W11",
    "W12", "K12", "K13", "K9",  "K3",  "C1", "C2", "C3", "C4",
};

// The first channel (§1.1). The client owns it; C3 and the ops on the descriptor itself
// (ItselfErrno) use it directly while the client is idle.
constexpr int kFirstChannel = 3;
// A result slot nobody wrote, and a reply that never came.
constexpr int kUnset = SharedInts::kUnset;
constexpr int kNoReply = 1 << 30;
constexpr char kNoDecision[] = "(no decision)";
constexpr char kGranted[] = "granted";

std::string ErrnoText(int error) {
  if (error == 0) return "OK";
  if (error == kUnset) return "(not run)";
  if (error == kNoReply) return "(no reply)";
  if (error < 0) return "(negative " + std::to_string(error) + ")";
  return ErrnoName(error);
}

uint16_t OpNumber(proto::Op op) { return static_cast<uint16_t>(op); }

// ---------------------------------------------------------------------------------------------
// Decisions, as the broker (in this process) records them. The count is also written to memory
// shared with the sandboxee, so that each probe can note which decisions it caused.

struct Seen {
  proto::Op op;
  std::string path;
  int error;
  bool allowed;
  std::string reason;
};

class Decisions {
 public:
  // `counter` is shared with the sandboxee; it receives the number of decisions so far.
  explicit Decisions(int* counter) : counter_(counter) {}

  DecisionLog AsLog() {
    return [this](const Decision& d) {
      absl::MutexLock lock(&mu_);
      seen_.push_back(Seen{d.op, std::string(d.path), d.error, d.allowed, d.reason});
      if (counter_ != nullptr) {
        __atomic_store_n(counter_, static_cast<int>(seen_.size()), __ATOMIC_SEQ_CST);
      }
    };
  }

  std::vector<Seen> All() const {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

 private:
  int* const counter_;
  mutable absl::Mutex mu_;
  std::vector<Seen> seen_ ABSL_GUARDED_BY(mu_);
};

// What a probe caused: decisions [first, last), the reason of the last of them.
std::string ReasonOf(const std::vector<Seen>& seen, int first, int last) {
  if (first < 0 || last <= first || static_cast<size_t>(last) > seen.size()) return kNoDecision;
  return seen[static_cast<size_t>(last - 1)].reason;
}

void ExpectRanCleanly(const absl::StatusOr<SandboxResult>& result) {
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
}

// ---------------------------------------------------------------------------------------------
// Probes through the real client.

int E(const absl::Status& status) { return ErrnoOf(status); }
template <typename T>
int E(const absl::StatusOr<T>& status) {
  return ErrnoOf(status.status());
}

struct Probe {
  std::string label;
  std::function<int(BrokerClient&)> call;  // 0 or an errno (ErrnoOf)
  int expected_errno;
  std::string expected_reason;  // of the last decision the call caused; kNoDecision for none
};

// Runs every probe, in order, in one sandboxee on one BrokerClient, and checks each.
void RunProbes(Launcher& launcher, const std::vector<Probe>& probes) {
  // [0]: decisions so far; then per probe: first decision, errno, last decision.
  SharedInts shared(1 + 3 * probes.size());
  shared[0] = 0;
  int* const counter = &shared[0];
  Decisions decisions(counter);
  launcher.SetDecisionLog(decisions.AsLog());
  const absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    BrokerClient client(std::move(channel));
    for (size_t i = 0; i < probes.size(); ++i) {
      shared[1 + 3 * i] = __atomic_load_n(counter, __ATOMIC_SEQ_CST);
      shared[2 + 3 * i] = probes[i].call(client);
      shared[3 + 3 * i] = __atomic_load_n(counter, __ATOMIC_SEQ_CST);
    }
    return 0;
  });
  launcher.SetDecisionLog(nullptr);
  ExpectRanCleanly(result);
  const std::vector<Seen> seen = decisions.All();
  for (size_t i = 0; i < probes.size(); ++i) {
    const Probe& probe = probes[i];
    EXPECT_EQ(ErrnoText(shared[2 + 3 * i]), ErrnoText(probe.expected_errno)) << probe.label;
    EXPECT_EQ(ReasonOf(seen, shared[1 + 3 * i], shared[3 + 3 * i]), probe.expected_reason)
        << probe.label;
  }
}

// Requests the client has no method for, or with fields its methods do not set, through
// BrokerClient::Call. Each returns 0 or the errno. `path` must outlive the call.
proto::Request Req(proto::Op op, const std::string& path) {
  proto::Request request;
  request.op = op;
  request.path = path;
  return request;
}

int CallErrno(BrokerClient& client, const proto::Request& request, int dirfd = AT_FDCWD,
              int dirfd2 = AT_FDCWD) {
  sandboxee::RoundTripReply reply;
  const int result = client.Call(request, dirfd, dirfd2, &reply);
  return result < 0 ? -result : 0;
}

// chown's `length`: owner << 32 | group (§4.17); kUnchanged leaves one as it is.
constexpr uint32_t kUnchanged = 0xffffffff;
uint64_t Owners(uint32_t owner, uint32_t group) { return (uint64_t{owner} << 32) | group; }

// utimens's `path2` (§4.18): access and modification time, seconds 0 and these nanoseconds.
std::string Times(int64_t access_nsec, int64_t modify_nsec) {
  const timespec times[2] = {{0, access_nsec}, {0, modify_nsec}};
  uint8_t bytes[proto::kWireTimesSize];
  proto::EncodeTimes(times, bytes);
  return std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes));
}

// An op on the descriptor itself (§2.1): an empty path with `fd` attached for it. The client's
// methods never send one, so this speaks on the first channel directly, while the client is idle.
int ItselfErrno(proto::Request request, int fd) {
  request.id = 0x7000;
  request.path = std::string_view();
  request.fd_paths = proto::kFdForPath;
  const int fds[1] = {fd};
  sandboxee::RoundTripReply reply;
  const int result = sandboxee::RoundTrip(kFirstChannel, request, fds, &reply);
  if (reply.channel_failed) return -1;
  return result < 0 ? -result : 0;
}

// ---------------------------------------------------------------------------------------------
// Raw messages.

// A request's bytes, built by hand so that any field can be wrong. Ops are by number (§2):
// 1 open, 2 access, 3 stat, 4 new-channel, 8 unlink, 9 rename, 10 link, 11 symlink, 13 truncate,
// 16 getcwd, 17 chown, 18 utimens, 19 statfs, 20 mknod.
class Raw {
 public:
  Raw(uint16_t op, uint32_t id) : op_(op), id_(id) {}
  Raw& Version(uint16_t version) {
    version_ = version;
    return *this;
  }
  Raw& Flags(uint32_t flags) {
    flags_ = flags;
    return *this;
  }
  Raw& Mode(uint32_t mode) {
    mode_ = mode;
    return *this;
  }
  Raw& Length(uint64_t length) {
    length_ = length;
    return *this;
  }
  Raw& FdPaths(uint32_t fd_paths) {
    fd_paths_ = fd_paths;
    return *this;
  }
  Raw& Path(std::string path) {
    path_ = std::move(path);
    return *this;
  }
  Raw& Path2(std::string path2) {
    path2_ = std::move(path2);
    return *this;
  }
  // Added to the path_len field only, not to the bytes.
  Raw& PathLenDelta(int delta) {
    path_len_delta_ = delta;
    return *this;
  }

  std::string Bytes() const {
    std::string bytes(proto::kRequestHeaderSize, '\0');
    const uint16_t path_len =
        static_cast<uint16_t>(static_cast<int>(path_.size()) + path_len_delta_);
    const uint16_t path2_len = static_cast<uint16_t>(path2_.size());
    memcpy(&bytes[0], &version_, 2);
    memcpy(&bytes[2], &op_, 2);
    memcpy(&bytes[4], &id_, 4);
    memcpy(&bytes[8], &flags_, 4);
    memcpy(&bytes[12], &mode_, 4);
    memcpy(&bytes[16], &length_, 8);
    memcpy(&bytes[24], &path_len, 2);
    memcpy(&bytes[26], &path2_len, 2);
    memcpy(&bytes[28], &fd_paths_, 4);
    return bytes + path_ + path2_;
  }

 private:
  uint16_t version_ = 1;
  uint16_t op_;
  uint32_t id_;
  uint32_t flags_ = 0;
  uint32_t mode_ = 0;
  uint64_t length_ = 0;
  uint32_t fd_paths_ = 0;
  std::string path_;
  std::string path2_;
  int path_len_delta_ = 0;
};

// Sends `bytes` as one message with `fds` attached (SCM_RIGHTS). Returns 0 or -errno.
int SendRaw(int channel, const std::string& bytes, const std::vector<int>& fds = {},
            int flags = 0) {
  iovec iov = {const_cast<char*>(bytes.data()), bytes.size()};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  union {
    char bytes[CMSG_SPACE(sizeof(int) * 4)];
    cmsghdr align;
  } control;
  memset(&control, 0, sizeof(control));
  if (!fds.empty()) {
    msg.msg_control = control.bytes;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  const ssize_t sent = sendmsg(channel, &msg, flags | MSG_NOSIGNAL);
  return sent == static_cast<ssize_t>(bytes.size()) ? 0 : -errno;
}

// A reply header, read field by field (§3).
struct ReplyHeader {
  int result = kNoReply;  // the negated errno is turned back: errno, or 0 for success
  int op = kUnset;
  int id = kUnset;
  int fd_count = kUnset;  // descriptors that actually arrived
};

// One recvmsg: the size received (0: end of channel) or -errno. Closes any descriptor.
ssize_t ReceiveReply(int channel, int flags, ReplyHeader* out) {
  uint8_t buffer[proto::kMaxReplySize];
  iovec iov = {buffer, sizeof(buffer)};
  union {
    char bytes[CMSG_SPACE(sizeof(int) * 2)];
    cmsghdr align;
  } control;
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof(control.bytes);
  const ssize_t size = recvmsg(channel, &msg, flags | MSG_CMSG_CLOEXEC);
  if (size < 0) return -errno;
  int fds = 0;
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i, ++fds) {
      int fd;
      memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
      close(fd);
    }
  }
  if (static_cast<size_t>(size) >= proto::kReplyHeaderSize) {
    uint16_t op;
    uint32_t id;
    int32_t result;
    memcpy(&op, buffer + 2, 2);
    memcpy(&id, buffer + 4, 4);
    memcpy(&result, buffer + 8, 4);
    out->result = result < 0 ? -result : 0;
    out->op = op;
    out->id = static_cast<int>(id);
    out->fd_count = fds;
  }
  return size;
}

struct RawProbe {
  std::string label;
  std::string bytes;
  std::vector<int> fds;  // the sandboxee's own descriptors, attached
  int expected_errno;
  uint16_t expected_op;
  uint32_t expected_id;
  std::string expected_reason;
};

// Sends each message on descriptor 3 of one sandboxee and checks its reply.
void RunRawProbes(Launcher& launcher, const std::vector<RawProbe>& probes) {
  constexpr size_t kSlots = 6;  // first decision, result, op, id, descriptors, last decision
  SharedInts shared(1 + kSlots * probes.size());
  shared[0] = 0;
  int* const counter = &shared[0];
  Decisions decisions(counter);
  launcher.SetDecisionLog(decisions.AsLog());
  const absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    for (size_t i = 0; i < probes.size(); ++i) {
      int* slot = &shared[1 + kSlots * i];
      slot[0] = __atomic_load_n(counter, __ATOMIC_SEQ_CST);
      ReplyHeader reply;
      if (SendRaw(channel.get(), probes[i].bytes, probes[i].fds) == 0) {
        ReceiveReply(channel.get(), 0, &reply);
      }
      slot[1] = reply.result;
      slot[2] = reply.op;
      slot[3] = reply.id;
      slot[4] = reply.fd_count;
      slot[5] = __atomic_load_n(counter, __ATOMIC_SEQ_CST);
    }
    return 0;
  });
  launcher.SetDecisionLog(nullptr);
  ExpectRanCleanly(result);
  const std::vector<Seen> seen = decisions.All();
  for (size_t i = 0; i < probes.size(); ++i) {
    const RawProbe& probe = probes[i];
    const int* slot = &shared[1 + kSlots * i];
    EXPECT_EQ(ErrnoText(slot[1]), ErrnoText(probe.expected_errno)) << probe.label;
    EXPECT_EQ(slot[2], probe.expected_op) << probe.label;
    EXPECT_EQ(static_cast<uint32_t>(slot[3]), probe.expected_id) << probe.label;
    if (probe.expected_errno != 0) {
      EXPECT_EQ(slot[4], 0) << probe.label;
    }
    EXPECT_EQ(ReasonOf(seen, slot[0], slot[5]), probe.expected_reason) << probe.label;
  }
}

// ---------------------------------------------------------------------------------------------
// A BrokerServer in this process, serving one end of a socket pair while the test speaks on the
// other: for the rows a sandboxee cannot reach.

class LocalBroker {
 public:
  // `pass_credentials`: SO_PASSCRED on the broker's end before it is served.
  LocalBroker(const FilePolicy::Builder& files, BrokerServer::Options options,
              bool pass_credentials = false)
      : policy_(files.Build()) {
    if (!policy_.ok()) {
      ADD_FAILURE() << policy_.status();
      return;
    }
    int pair[2];
    if (socketpair(AF_UNIX, SocketTypeFor(options.channel_type), 0, pair) != 0) {
      ADD_FAILURE() << "socketpair: " << strerror(errno);
      return;
    }
    UniqueFd broker_end(pair[0]);
    client_.reset(pair[1]);
    const int on = 1;
    if (pass_credentials &&
        setsockopt(broker_end.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0) {
      ADD_FAILURE() << "SO_PASSCRED: " << strerror(errno);
    }
    server_ = std::make_unique<BrokerServer>(*policy_, std::move(options));
    const absl::Status served = server_->Serve(std::move(broker_end));
    if (!served.ok()) ADD_FAILURE() << served;
  }
  LocalBroker(const LocalBroker&) = delete;
  LocalBroker& operator=(const LocalBroker&) = delete;
  // Our end closes first, then the server stops, then the policy goes.
  ~LocalBroker() {
    client_.reset();
    server_.reset();
  }

  int client() const { return client_.get(); }
  BrokerServer& server() { return *server_; }

 private:
  absl::StatusOr<FilePolicy> policy_;
  std::unique_ptr<BrokerServer> server_;
  UniqueFd client_;
};

// Waits up to `timeout` for `fd` to be readable (or hung up). True if it is.
bool WaitReadable(int fd, absl::Duration timeout) {
  pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) == 1;
}

void SleepBriefly() {
  const timespec ten_ms = {0, 10 * 1000 * 1000};
  nanosleep(&ten_ms, nullptr);
}

// ---------------------------------------------------------------------------------------------

class ErrnoTableTest : public ::testing::TestWithParam<ChannelType> {
 protected:
  Launcher Make(const FilePolicy::Builder& files) { return MakeLauncher(files, GetParam()); }
  BrokerServer::Options LocalOptions() {
    BrokerServer::Options options;
    options.channel_type = GetParam();
    return options;
  }
};

// R0: a zero-length message is a hang-up, whatever it carries: no reply, the channel closes, and
// the descriptors that came with it are closed.
TEST_P(ErrnoTableTest, Row_R0) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const std::string stat_request = Raw(OpNumber(proto::Op::kStat), 5).Path(file).Bytes();
  const bool datagram = GetParam() == ChannelType::kDatagram;

  // A sandboxee hangs up descriptor 3 with a descriptor attached.
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  Decisions decisions(nullptr);
  launcher.SetDecisionLog(decisions.AsLog());
  SharedInts out(3);
  const absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    const int ch = channel.get();
    out[0] = SendRaw(ch, "", {STDERR_FILENO});
    ReplyHeader reply;
    if (!datagram) {
      // SOCK_SEQPACKET: the broker's close is end of channel, with no reply before it.
      out[1] = static_cast<int>(ReceiveReply(ch, 0, &reply));
      out[2] = reply.result;
      return 0;
    }
    // SOCK_DGRAM never shows the close to recvmsg; sends start failing once it happened, and
    // nothing sent after the hang-up is ever answered.
    int refused = 0;
    for (int i = 0; i < 1000 && refused == 0; ++i) {
      const int sent = SendRaw(ch, stat_request, {}, MSG_DONTWAIT);
      if (sent == -ECONNREFUSED || sent == -ENOTCONN) {
        refused = -sent;
      } else {
        SleepBriefly();
      }
    }
    out[1] = refused != 0 ? 0 : -1;
    out[2] = static_cast<int>(-ReceiveReply(ch, MSG_DONTWAIT, &reply));
    return 0;
  });
  launcher.SetDecisionLog(nullptr);
  ExpectRanCleanly(result);
  EXPECT_EQ(out[0], 0) << "sending the hang-up";
  EXPECT_EQ(out[1], 0) << (datagram ? "sends never failed: the channel stayed open"
                                    : "recvmsg did not see end of channel");
  if (datagram) {
    EXPECT_EQ(ErrnoText(out[2]), "EAGAIN") << "a reply arrived";
  } else {
    EXPECT_EQ(ErrnoText(out[2]), "(no reply)");
  }
  EXPECT_TRUE(decisions.All().empty()) << "R0 has no decision";

  // The descriptors are closed, unread: the broker's copy of a pipe's write end goes away.
  LocalBroker broker(FilePolicy::Builder().AllowReadFile(file), LocalOptions());
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  ASSERT_EQ(SendRaw(broker.client(), "", {write_end.get()}), 0);
  write_end.reset();
  ASSERT_TRUE(WaitReadable(read_end.get(), absl::Seconds(30))) << "the broker kept the descriptor";
  char byte;
  EXPECT_EQ(read(read_end.get(), &byte, 1), 0);
  if (!datagram) {
    ReplyHeader reply;
    ASSERT_TRUE(WaitReadable(broker.client(), absl::Seconds(30)));
    EXPECT_EQ(ReceiveReply(broker.client(), MSG_DONTWAIT, &reply), 0) << "not end of channel";
  }
}

TEST_P(ErrnoTableTest, Row_R1) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  std::string oversized = Raw(OpNumber(proto::Op::kStat), 0x1101).Path(file).Bytes();
  oversized.resize(proto::kMaxRequestSize + 1, 'x');
  std::string huge = Raw(OpNumber(proto::Op::kOpen), 0x1102).Path(file).Bytes();
  huge.resize(3 * proto::kMaxRequestSize, 'y');
  std::string largest = Raw(OpNumber(proto::Op::kStat), 0x1103)
                            .Path(std::string(proto::kMaxPathLength, 'a'))
                            .Path2(std::string(proto::kMaxPathLength, 'b'))
                            .Bytes();
  const char* reason = "malformed request: longer than the protocol's maximum";
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  RunRawProbes(launcher,
               {
                   {"8223 bytes", oversized, {}, EMSGSIZE, 3, 0x1101, reason},
                   {"3 x 8222 bytes, a descriptor attached",
                    huge,
                    {STDERR_FILENO},
                    EMSGSIZE,
                    1,
                    0x1102,
                    reason},
                   // Control: 8222 bytes are received whole (and refused by the decoder, D7).
                   {"8222 bytes",
                    largest,
                    {},
                    EBADMSG,
                    3,
                    0x1103,
                    "malformed request: bad header, lengths or attached descriptors"},
               });
}

TEST_P(ErrnoTableTest, Row_R2) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const char* reason = "malformed request: bad header, lengths or attached descriptors";
  const auto stat = [&](uint32_t id) {
    return Raw(OpNumber(proto::Op::kStat), id).Path(file).Bytes();
  };
  // More than two descriptors, from a sandboxee.
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  RunRawProbes(launcher,
               {
                   {"control: the same request alone", stat(0x1200), {}, 0, 3, 0x1200, kGranted},
                   {"three descriptors", stat(0x1201), {0, 1, 2}, EBADMSG, 3, 0x1201, reason},
                   {"four descriptors (control data truncated)",
                    stat(0x1202),
                    {0, 1, 2, kFirstChannel},
                    EBADMSG,
                    3,
                    0x1202,
                    reason},
               });

  // Credentials: a sender cannot make them arrive; they do when the broker's socket has
  // SO_PASSCRED, so a broker here with that option set sees them on every message.
  LocalBroker broker(FilePolicy::Builder().AllowReadFile(file), LocalOptions(),
                     /*pass_credentials=*/true);
  ASSERT_EQ(SendRaw(broker.client(), stat(0x1203)), 0);
  ASSERT_TRUE(WaitReadable(broker.client(), absl::Seconds(30)));
  ReplyHeader reply;
  ASSERT_GT(ReceiveReply(broker.client(), MSG_DONTWAIT, &reply), 0);
  EXPECT_EQ(ErrnoText(reply.result), "EBADMSG");
  EXPECT_EQ(reply.op, 3);
  EXPECT_EQ(reply.id, 0x1203);
}

TEST_P(ErrnoTableTest, Row_D1) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const char* reason = "malformed request: unsupported protocol version";
  std::string short_v2 = Raw(2, 0x1301).Version(2).Bytes().substr(0, 4);
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  RunRawProbes(
      launcher,
      {
          {"version 2",
           Raw(3, 0x1300).Version(2).Path(file).Bytes(),
           {},
           EPROTONOSUPPORT,
           3,
           0x1300,
           reason},
          {"version 0, a stray descriptor",
           Raw(1, 0x1302).Version(0).Bytes(),
           {STDERR_FILENO},
           EPROTONOSUPPORT,
           1,
           0x1302,
           reason},
          {"4 bytes, version 2: nothing to echo", short_v2, {}, EPROTONOSUPPORT, 0, 0, reason},
      });
}

TEST_P(ErrnoTableTest, Row_D2) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const char* reason = "malformed request: bad header, lengths or attached descriptors";
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  RunRawProbes(launcher, {
                             {"1 byte", std::string(1, '\1'), {}, EBADMSG, 0, 0, reason},
                             {"20 bytes",
                              Raw(3, 0x1400).Path(file).Bytes().substr(0, 20),
                              {},
                              EBADMSG,
                              3,
                              0x1400,
                              reason},
                             {"31 bytes, a stray descriptor",
                              Raw(3, 0x1401).Path(file).Bytes().substr(0, 31),
                              {STDERR_FILENO},
                              EBADMSG,
                              3,
                              0x1401,
                              reason},
                         });
}

TEST_P(ErrnoTableTest, Row_D3) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const char* reason = "malformed request: unknown op";
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  RunRawProbes(launcher, {
                             {"op 0", Raw(0, 0x1500).Bytes(), {}, ENOSYS, 0, 0x1500, reason},
                             {"op 22 (kLastOp is 21)",
                              Raw(22, 0x1501).Path(file).Bytes(),
                              {},
                              ENOSYS,
                              22,
                              0x1501,
                              reason},
                             {"op 0xffff, fd_paths set",
                              Raw(0xffff, 0x1502).FdPaths(3).Bytes(),
                              {},
                              ENOSYS,
                              0xffff,
                              0x1502,
                              reason},
                             {"control: op 20 (mknod) is known",
                              Raw(20, 0x1503).Mode(S_IFREG | 0600).Path(file).Bytes(),
                              {},
                              EACCES,
                              20,
                              0x1503,
                              "mknod needs c"},
                         });
}

TEST_P(ErrnoTableTest, Row_D5) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const char* reason = "malformed request: bad header, lengths or attached descriptors";
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  RunRawProbes(launcher, {
                             {"path_len one too many",
                              Raw(3, 0x1600).Path(file).PathLenDelta(1).Bytes(),
                              {},
                              EBADMSG,
                              3,
                              0x1600,
                              reason},
                             {"path_len one too few",
                              Raw(3, 0x1601).Path(file).PathLenDelta(-1).Bytes(),
                              {},
                              EBADMSG,
                              3,
                              0x1601,
                              reason},
                             {"header only, path announced",
                              Raw(3, 0x1602).Path(file).Bytes().substr(0, 32),
                              {},
                              EBADMSG,
                              3,
                              0x1602,
                              reason},
                         });
}

TEST_P(ErrnoTableTest, Row_D6) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const char* reason = "malformed request: path longer than the protocol's maximum";
  const std::string long_path = "/" + std::string(proto::kMaxPathLength, 'p');  // 4096 bytes
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  RunRawProbes(launcher, {
                             {"stat, 4096-byte path",
                              Raw(3, 0x1700).Path(long_path).Bytes(),
                              {},
                              ENAMETOOLONG,
                              3,
                              0x1700,
                              reason},
                             {"new-channel, 4096-byte path (D6 before D7)",
                              Raw(4, 0x1701).Path(long_path).Bytes(),
                              {},
                              ENAMETOOLONG,
                              4,
                              0x1701,
                              reason},
                             {"link, 4096-byte path2",
                              Raw(10, 0x1702).Path(file).Path2(long_path).Bytes(),
                              {},
                              ENAMETOOLONG,
                              10,
                              0x1702,
                              reason},
                         });
}

TEST_P(ErrnoTableTest, Row_D7) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const std::string ungranted = dir.path() + "/nobody-grants-this";
  const std::string times = Times(UTIME_OMIT, UTIME_OMIT);
  const char* reason = "malformed request: bad header, lengths or attached descriptors";
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  RunRawProbes(launcher, {
                             {"open without O_CREAT, mode set, ungranted path",
                              Raw(1, 0x1800).Mode(0600).Path(ungranted).Bytes(),
                              {},
                              EBADMSG,
                              1,
                              0x1800,
                              reason},
                             {"new-channel with flags",
                              Raw(4, 0x1801).Flags(1).Bytes(),
                              {},
                              EBADMSG,
                              4,
                              0x1801,
                              reason},
                             {"stat with length",
                              Raw(3, 0x1802).Length(1).Path(file).Bytes(),
                              {},
                              EBADMSG,
                              3,
                              0x1802,
                              reason},
                             {"stat with path2",
                              Raw(3, 0x1803).Path(file).Path2("x").Bytes(),
                              {},
                              EBADMSG,
                              3,
                              0x1803,
                              reason},
                             {"unlink with flags",
                              Raw(8, 0x1804).Flags(1).Path(file).Bytes(),
                              {},
                              EBADMSG,
                              8,
                              0x1804,
                              reason},
                             {"stat with fd_paths bit 1",
                              Raw(3, 0x1805).FdPaths(2).Path(file).Bytes(),
                              {STDERR_FILENO},
                              EBADMSG,
                              3,
                              0x1805,
                              reason},
                             {"symlink with fd_paths bit 1",
                              Raw(11, 0x1806).FdPaths(2).Path(file).Path2("t").Bytes(),
                              {STDERR_FILENO},
                              EBADMSG,
                              11,
                              0x1806,
                              reason},
                             {"statfs with flags",
                              Raw(19, 0x1807).Flags(1).Path(file).Bytes(),
                              {},
                              EBADMSG,
                              19,
                              0x1807,
                              reason},
                             {"mknod with length",
                              Raw(20, 0x1808).Mode(S_IFREG | 0600).Length(1).Path(file).Bytes(),
                              {},
                              EBADMSG,
                              20,
                              0x1808,
                              reason},
                             {"chown with mode",
                              Raw(17, 0x1809).Mode(1).Path(file).Bytes(),
                              {},
                              EBADMSG,
                              17,
                              0x1809,
                              reason},
                             {"utimens, the times with fd_paths bit 1",
                              Raw(18, 0x180a).FdPaths(2).Path(file).Path2(times).Bytes(),
                              {STDERR_FILENO},
                              EBADMSG,
                              18,
                              0x180a,
                              reason},
                             {"getcwd with a path",
                              Raw(16, 0x180b).Path("x").Bytes(),
                              {},
                              EBADMSG,
                              16,
                              0x180b,
                              reason},
                             {"truncate with path2",
                              Raw(13, 0x180c).Path(file).Path2("x").Bytes(),
                              {},
                              EBADMSG,
                              13,
                              0x180c,
                              reason},
                         });
}

TEST_P(ErrnoTableTest, Row_D8) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const char* reason = "malformed request: bad header, lengths or attached descriptors";
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  RunRawProbes(launcher, {
                             {"absolute path with its descriptor",
                              Raw(3, 0x1900).FdPaths(1).Path(file).Bytes(),
                              {STDERR_FILENO},
                              EBADMSG,
                              3,
                              0x1900,
                              reason},
                             {"rename, absolute path2 with its descriptor",
                              Raw(9, 0x1901).FdPaths(2).Path(file).Path2(file).Bytes(),
                              {STDERR_FILENO},
                              EBADMSG,
                              9,
                              0x1901,
                              reason},
                             {"access, empty path with its descriptor (no op on itself)",
                              Raw(2, 0x1902).FdPaths(1).Bytes(),
                              {kFirstChannel},
                              EBADMSG,
                              2,
                              0x1902,
                              reason},
                             {"unlink, empty path with its descriptor",
                              Raw(8, 0x1903).FdPaths(1).Bytes(),
                              {kFirstChannel},
                              EBADMSG,
                              8,
                              0x1903,
                              reason},
                             {"open, empty path with its descriptor",
                              Raw(1, 0x1904).FdPaths(1).Bytes(),
                              {kFirstChannel},
                              EBADMSG,
                              1,
                              0x1904,
                              reason},
                         });
}

TEST_P(ErrnoTableTest, Row_D10) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const std::string times = Times(UTIME_OMIT, UTIME_NOW);
  const char* reason = "malformed request: bad header, lengths or attached descriptors";
  Launcher launcher = Make(FilePolicy::Builder().AllowFile(file, kRead | kWrite));
  RunRawProbes(launcher, {
                             {"utimens, 8 bytes of times",
                              Raw(18, 0x1b00).Path(file).Path2(times.substr(0, 8)).Bytes(),
                              {},
                              EBADMSG,
                              18,
                              0x1b00,
                              reason},
                             {"utimens, 33 bytes of times",
                              Raw(18, 0x1b01).Path(file).Path2(times + "x").Bytes(),
                              {},
                              EBADMSG,
                              18,
                              0x1b01,
                              reason},
                             {"control: 32 bytes",
                              Raw(18, 0x1b02).Path(file).Path2(times).Bytes(),
                              {},
                              0,
                              18,
                              0x1b02,
                              kGranted},
                             {"control: no times (now)",
                              Raw(18, 0x1b03).Path(file).Bytes(),
                              {},
                              0,
                              18,
                              0x1b03,
                              kGranted},
                         });
}

TEST_P(ErrnoTableTest, Row_D9) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const char* reason = "malformed request: bad header, lengths or attached descriptors";
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  RunRawProbes(launcher, {
                             {"a stray descriptor",
                              Raw(3, 0x1a00).Path(file).Bytes(),
                              {STDERR_FILENO},
                              EBADMSG,
                              3,
                              0x1a00,
                              reason},
                             {"a missing descriptor",
                              Raw(3, 0x1a01).FdPaths(1).Path("f").Bytes(),
                              {},
                              EBADMSG,
                              3,
                              0x1a01,
                              reason},
                             {"rename, one of two descriptors",
                              Raw(9, 0x1a02).FdPaths(3).Path("a").Path2("b").Bytes(),
                              {STDERR_FILENO},
                              EBADMSG,
                              9,
                              0x1a02,
                              reason},
                         });
}

// N1: socketpair(2) fails in the broker. The sandboxee cannot make that happen to the broker, so
// a broker here gets a new-channel request while this process may open no descriptor at all.
TEST_P(ErrnoTableTest, Row_N1) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  BrokerServer::Options options = LocalOptions();
  Decisions decisions(nullptr);
  options.decision_log = decisions.AsLog();
  LocalBroker broker(FilePolicy::Builder().AllowReadFile(file), std::move(options));
  // poll() is refused under a zero descriptor limit; a blocking receive with a timeout is not.
  const timeval timeout = {30, 0};
  ASSERT_EQ(setsockopt(broker.client(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)), 0);
  const std::string request = Raw(4, 0x2100).Bytes();

  rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  const rlimit none = {0, saved.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &none), 0);
  const int sent = SendRaw(broker.client(), request);
  ReplyHeader reply;
  const ssize_t received = sent == 0 ? ReceiveReply(broker.client(), 0, &reply) : -1;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);

  ASSERT_EQ(sent, 0);
  ASSERT_GT(received, 0);
  EXPECT_EQ(ErrnoText(reply.result), "EMFILE");
  EXPECT_EQ(reply.op, 4);
  EXPECT_EQ(reply.id, 0x2100);
  EXPECT_EQ(reply.fd_count, 0);
  // One channel of 16 is live, so this is not N3: socketpair itself failed. With descriptors to
  // spare, the same request gets a channel.
  ASSERT_EQ(SendRaw(broker.client(), Raw(4, 0x2101).Bytes()), 0);
  ASSERT_GT(ReceiveReply(broker.client(), 0, &reply), 0);
  EXPECT_EQ(ErrnoText(reply.result), "OK");
  EXPECT_EQ(reply.fd_count, 1);
  const std::vector<Seen> seen = decisions.All();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].reason, "no channel to give");
  EXPECT_EQ(seen[0].error, EMFILE);
}

// N2 cannot reach a client: BrokerServer::Stop sets "stopping" and shuts every channel down under
// one lock, so by the time a new-channel request can see it, the channel it came on can no longer
// send (the send fails with EPIPE) and the broker closes it. This test stops a broker while a
// request is in flight (held in the decision log) with a new-channel request queued behind it,
// and asserts the nearest observable facts: the server refuses new channels with the status that
// OpenChannel turns into ESHUTDOWN, and the client gets no reply at all, neither ESHUTDOWN nor the
// held request's: the channel just ends.
TEST_P(ErrnoTableTest, Row_N2) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  absl::Notification held;
  absl::Notification release;
  Decisions decisions(nullptr);
  const DecisionLog record = decisions.AsLog();
  BrokerServer::Options options = LocalOptions();
  options.max_channels = 1;
  options.decision_log = [&](const Decision& d) {
    record(d);
    if (d.op == proto::Op::kStat && !held.HasBeenNotified()) {
      held.Notify();
      release.WaitForNotification();
    }
  };
  LocalBroker broker(FilePolicy::Builder().AllowReadFile(file), std::move(options));
  ASSERT_EQ(SendRaw(broker.client(), Raw(3, 0x2200).Path(file).Bytes()), 0);
  ASSERT_EQ(SendRaw(broker.client(), Raw(4, 0x2201).Bytes()), 0);
  ASSERT_TRUE(held.WaitForNotificationWithTimeout(absl::Seconds(30)));

  std::thread stopper([&] { broker.server().Stop(); });
  // Before Stop, Serve refuses a second channel for the limit (ResourceExhausted: EMFILE); once
  // Stop has begun, for stopping (FailedPrecondition: ESHUTDOWN).
  absl::Status probe;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  do {
    int pair[2];
    ASSERT_EQ(socketpair(AF_UNIX, SocketTypeFor(GetParam()), 0, pair), 0);
    UniqueFd other(pair[1]);
    probe = broker.server().Serve(UniqueFd(pair[0]));
    if (probe.code() != absl::StatusCode::kFailedPrecondition) SleepBriefly();
  } while (probe.code() != absl::StatusCode::kFailedPrecondition && absl::Now() < deadline);
  release.Notify();
  stopper.join();
  EXPECT_EQ(probe.code(), absl::StatusCode::kFailedPrecondition) << probe;

  ReplyHeader reply;
  const ssize_t received = ReceiveReply(broker.client(), MSG_DONTWAIT, &reply);
  if (GetParam() == ChannelType::kSeqPacket) {
    // End of channel; ECONNRESET because the new-channel request was left unread.
    EXPECT_TRUE(received == 0 || received == -ECONNRESET)
        << "expected end of channel, got " << received << ", reply " << ErrnoText(reply.result);
  } else {
    EXPECT_EQ(received, -EAGAIN) << "expected no reply, got " << ErrnoText(reply.result);
  }
  for (const Seen& seen : decisions.All()) {
    EXPECT_NE(seen.error, ESHUTDOWN) << "the new-channel request was handled after all";
  }
}

// N3's limit. Its other cause, a thread the broker cannot start, is not provoked: it would take
// exhausting the test process's threads.
TEST_P(ErrnoTableTest, Row_N3) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  launcher.SetMaxChannels(2);
  Decisions decisions(nullptr);
  launcher.SetDecisionLog(decisions.AsLog());
  SharedInts out(3);
  const absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    const int second = sandboxee::ChannelPool::RequestChannel(channel.get());
    out[0] = second >= 0 ? 0 : -second;
    const int third = sandboxee::ChannelPool::RequestChannel(channel.get());
    out[1] = third >= 0 ? 0 : -third;
    if (second >= 0) close(second);  // SOCK_DGRAM: the broker keeps serving it; harmless here
    if (third >= 0) close(third);
    return 0;
  });
  launcher.SetDecisionLog(nullptr);
  ExpectRanCleanly(result);
  EXPECT_EQ(ErrnoText(out[0]), "OK") << "the second channel";
  EXPECT_EQ(ErrnoText(out[1]), "EMFILE") << "a third channel, beyond the limit of 2";
  const std::vector<Seen> seen = decisions.All();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].reason, "no channel to give");
  EXPECT_FALSE(seen[1].allowed);
}

// Open's RESOLVE_IN_ROOT is refused before the path is looked at: whatever the path.
TEST_P(ErrnoTableTest, Row_A13) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const std::string no_rule = dir.path() + "/no-rule";
  const std::string empty;
  const char* reason = "RESOLVE_IN_ROOT: the broker does not re-root a lookup";
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  const auto open_in_root = [](BrokerClient& c, const std::string& path) {
    proto::Request request = Req(proto::Op::kOpen, path);
    request.flags = O_RDONLY;
    request.length = RESOLVE_IN_ROOT;
    return CallErrno(c, request);
  };
  RunProbes(launcher,
            {
                {"a granted file", [&](BrokerClient& c) { return open_in_root(c, file); }, EINVAL,
                 reason},
                {"a path no rule covers (P8 otherwise)",
                 [&](BrokerClient& c) { return open_in_root(c, no_rule); }, EINVAL, reason},
                {"an empty path (P7 otherwise)",
                 [&](BrokerClient& c) { return open_in_root(c, empty); }, EINVAL, reason},
                {"control: RESOLVE_NO_MAGICLINKS",
                 [&](BrokerClient& c) {
                   proto::Request request = Req(proto::Op::kOpen, file);
                   request.length = RESOLVE_NO_MAGICLINKS;
                   return CallErrno(c, request);
                 },
                 0, kGranted},
            });
}

// Link's flags are judged before its paths.
TEST_P(ErrnoTableTest, Row_A18) {
  ScratchDir dir;
  const std::string a = dir.WriteFile("a", "x");
  const std::string b = dir.path() + "/b";
  const std::string c_name = dir.path() + "/c";
  const std::string no_rule = dir.path() + "/../no-rule";
  const char* reason = "link flags other than AT_SYMLINK_FOLLOW";
  Launcher launcher = Make(FilePolicy::Builder().AllowTree(dir.path(), kRead | kCreate));
  const auto link = [](BrokerClient& c, const std::string& from, const std::string& to,
                       uint32_t flags) {
    proto::Request request = Req(proto::Op::kLink, from);
    request.path2 = to;
    request.flags = flags;
    return CallErrno(c, request);
  };
  RunProbes(
      launcher,
      {
          {"AT_EMPTY_PATH", [&](BrokerClient& c) { return link(c, a, b, AT_EMPTY_PATH); }, EINVAL,
           reason},
          {"AT_SYMLINK_NOFOLLOW",
           [&](BrokerClient& c) { return link(c, a, b, AT_SYMLINK_NOFOLLOW); }, EINVAL, reason},
          {"paths no rule covers (P8 otherwise)",
           [&](BrokerClient& c) { return link(c, no_rule, no_rule, 0x1000); }, EINVAL, reason},
          {"control: AT_SYMLINK_FOLLOW",
           [&](BrokerClient& c) { return link(c, a, c_name, AT_SYMLINK_FOLLOW); }, 0, kGranted},
      });
}

TEST_P(ErrnoTableTest, Row_P3) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  Launcher launcher = Make(FilePolicy::Builder().AllowReadTree(dir.path()));
  RunProbes(launcher, {{"a regular file as the directory descriptor",
                        [&](BrokerClient& c) {
                          absl::StatusOr<UniqueFd> fd = c.Open(file, O_RDONLY);
                          if (!fd.ok()) return -1;
                          return E(c.Stat("x", fd->get()));
                        },
                        ENOTDIR, "the directory descriptor names no directory"}});
}

TEST_P(ErrnoTableTest, Row_P4) {
  ScratchDir dir;
  const std::string sub = dir.path() + "/sub";
  Launcher launcher = Make(FilePolicy::Builder().AllowTree(dir.path(), kBrokerPermissions));
  RunProbes(launcher, {{"a deleted directory as the directory descriptor",
                        [&](BrokerClient& c) {
                          if (!c.Mkdir(sub, 0700).ok()) return -1;
                          absl::StatusOr<UniqueFd> fd = c.Open(sub, O_RDONLY | O_DIRECTORY);
                          if (!fd.ok() || !c.Rmdir(sub).ok()) return -1;
                          return E(c.Stat("x", fd->get()));
                        },
                        EBADF, "the directory descriptor names no directory"}});
}

// The descriptor itself (§2.1) is judged by its path; one without a path is EPERM.
TEST_P(ErrnoTableTest, Row_P6) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const std::string doomed = dir.path() + "/doomed";
  const char* reason = "the descriptor has no path the policy can judge";
  Launcher launcher = Make(FilePolicy::Builder().AllowTree(dir.path(), kBrokerPermissions));
  proto::Request chmod = Req(proto::Op::kChmod, file);
  chmod.mode = 0600;
  RunProbes(
      launcher,
      {
          {"stat of a socket (the channel itself)",
           [&](BrokerClient&) { return ItselfErrno(Req(proto::Op::kStat, file), kFirstChannel); },
           EPERM, reason},
          {"chmod of a deleted file",
           [&](BrokerClient& c) {
             absl::StatusOr<UniqueFd> fd = c.Open(doomed, O_RDWR | O_CREAT, 0600);
             if (!fd.ok() || !c.Unlink(doomed).ok()) return -1;
             return ItselfErrno(chmod, fd->get());
           },
           EPERM, reason},
          {"statfs of a socket",
           [&](BrokerClient&) { return ItselfErrno(Req(proto::Op::kStatfs, file), kFirstChannel); },
           EPERM, reason},
          {"control: stat of a granted file's descriptor",
           [&](BrokerClient& c) {
             absl::StatusOr<UniqueFd> fd = c.Open(file, O_RDONLY);
             if (!fd.ok()) return -1;
             return ItselfErrno(Req(proto::Op::kStat, file), fd->get());
           },
           0, kGranted},
          {"control: chmod of a granted file's descriptor",
           [&](BrokerClient& c) {
             absl::StatusOr<UniqueFd> fd = c.Open(file, O_RDONLY);
             if (!fd.ok()) return -1;
             return ItselfErrno(chmod, fd->get());
           },
           0, kGranted},
      });
}

// Empty paths and NUL bytes; paths need not be normalized (P1 is retired).
TEST_P(ErrnoTableTest, Row_P7) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  dir.MakeDir("sub");
  Launcher launcher = Make(FilePolicy::Builder().AllowReadTree(dir.path()));
  const std::string d = dir.path();
  RunProbes(
      launcher,
      {
          {"stat, empty", [&](BrokerClient& c) { return E(c.Stat("")); }, EINVAL, "path is empty"},
          {"open, empty", [&](BrokerClient& c) { return E(c.Open("", O_RDONLY)); }, EINVAL,
           "path is empty"},
          {"NUL", [&](BrokerClient& c) { return E(c.Stat(file + std::string(1, '\0'))); }, EINVAL,
           "path contains a NUL byte"},
          {"NUL in a relative path",
           [&](BrokerClient& c) { return E(c.Access(std::string("a\0b", 3), F_OK)); }, EINVAL,
           "path contains a NUL byte"},
          {"control: //", [&](BrokerClient& c) { return E(c.Stat(d + "//f")); }, 0, kGranted},
          {"control: /./", [&](BrokerClient& c) { return E(c.Open(d + "/./f", O_RDONLY)); }, 0,
           kGranted},
          {"control: /../", [&](BrokerClient& c) { return E(c.Access(d + "/sub/../f", F_OK)); }, 0,
           kGranted},
          {"control: trailing /", [&](BrokerClient& c) { return E(c.Open(d + "/", O_RDONLY)); }, 0,
           kGranted},
      });
}

TEST_P(ErrnoTableTest, Row_P5) {
  ScratchDir dir;
  Launcher launcher = Make(FilePolicy::Builder().AllowReadTree(dir.path()));
  launcher.SetWorkingDirectory(dir.path());
  // At most 4095 bytes on the wire, longer once joined to the working directory or descriptor.
  const std::string relative(proto::kMaxPathLength - 2, 'a');
  const char* reason = "path is longer than PATH_MAX - 1 bytes";
  RunProbes(launcher,
            {
                {"joined to the working directory",
                 [&](BrokerClient& c) { return E(c.Stat(relative)); }, ENAMETOOLONG, reason},
                {"joined to a directory descriptor",
                 [&](BrokerClient& c) {
                   absl::StatusOr<UniqueFd> fd = c.Open(dir.path(), O_RDONLY);
                   if (!fd.ok()) return -1;
                   return E(c.Open(relative, O_RDONLY, 0, fd->get()));
                 },
                 ENAMETOOLONG, reason},
            });
}

// More than 40 symlinks in one walk.
TEST_P(ErrnoTableTest, Row_K11) {
  ScratchDir dir;
  dir.WriteFile("f", "x");
  for (int i = 0; i < 40; ++i) {
    dir.Symlink("c" + std::to_string(i), i == 39 ? "f" : "c" + std::to_string(i + 1));
  }
  for (int i = 0; i < 41; ++i) {
    dir.Symlink("d" + std::to_string(i), i == 40 ? "f" : "d" + std::to_string(i + 1));
  }
  const std::string loop = dir.Symlink("loop", "loop");
  Launcher launcher = Make(FilePolicy::Builder().AllowReadTree(dir.path()));
  // The broker judged every hop and allowed them; like the kernel's ELOOP, the decision is
  // "allowed, failed".
  RunProbes(
      launcher,
      {
          {"41 symlinks", [&](BrokerClient& c) { return E(c.Open(dir.path() + "/d0", O_RDONLY)); },
           ELOOP, "more than 40 symlinks"},
          {"a symlink to itself", [&](BrokerClient& c) { return E(c.Stat(loop)); }, ELOOP,
           "more than 40 symlinks"},
          {"control: 40 symlinks",
           [&](BrokerClient& c) { return E(c.Open(dir.path() + "/c0", O_RDONLY)); }, 0, kGranted},
      });
}

// P8: no rule covers the path, or a name on the way to it; before every argument check (§8.4).
TEST_P(ErrnoTableTest, Row_P8) {
  ScratchDir dir;
  const std::string granted = dir.WriteFile("granted", "x");
  const std::string tree = dir.MakeDir("tree");
  dir.WriteFile("outside", "x");
  dir.MakeDir("uncovered");
  dir.WriteFile("uncovered/f", "x");
  const std::string to_outside = dir.Symlink("tree/to-outside", dir.path() + "/outside");
  const std::string no_rule = dir.path() + "/no-rule";
  const std::string in_uncovered = dir.path() + "/uncovered/f";
  const std::string empty;
  constexpr char kPath[] = "no rule covers the path";
  constexpr char kComponent[] = "no rule covers a component of the path";
  FilePolicy::Builder files;
  files.AllowReadFile(granted).AllowReadTree(tree);
  Launcher launcher = Make(files);
  RunProbes(
      launcher,
      {
          {"open", [&](BrokerClient& c) { return E(c.Open(no_rule, O_RDONLY)); }, ENOENT,
           kComponent},
          {"lstat (the last component is not walked)",
           [&](BrokerClient& c) { return E(c.Lstat(no_rule)); }, ENOENT, kPath},
          {"a directory on the way",
           [&](BrokerClient& c) { return E(c.Open(in_uncovered, O_RDONLY)); }, ENOENT, kComponent},
          {"where a symlink in a tree leads",
           [&](BrokerClient& c) { return E(c.Open(to_outside, O_RDONLY)); }, ENOENT, kComponent},
          {"open O_DSYNC (A1 otherwise)",
           [&](BrokerClient& c) { return -c.OpenRaw(AT_FDCWD, no_rule, O_RDONLY | O_DSYNC, 0); },
           ENOENT, kComponent},
          {"access mode 8 (A2 otherwise)",
           [&](BrokerClient& c) { return -c.AccessRaw(AT_FDCWD, no_rule, 8); }, ENOENT, kComponent},
          {"stat flags 0x1000 (A3 otherwise)",
           [&](BrokerClient& c) {
             struct stat st;
             return -c.StatRaw(AT_FDCWD, no_rule, 0x1000, &st);
           },
           ENOENT, kComponent},
          {"rename to an ungranted name, flags 4 (A4 otherwise)",
           [&](BrokerClient& c) { return E(c.Rename(granted, no_rule, 4)); }, ENOENT, kPath},
          {"chmod 017777 (A5 otherwise)",
           [&](BrokerClient& c) { return E(c.Chmod(no_rule, 017777)); }, ENOENT, kComponent},
          {"truncate 2^63 (A7 otherwise)",
           [&](BrokerClient& c) {
             proto::Request request = Req(proto::Op::kTruncate, no_rule);
             request.length = uint64_t{1} << 63;
             return CallErrno(c, request);
           },
           ENOENT, kComponent},
          {"connect SOCK_RAW (A8 otherwise)",
           [&](BrokerClient& c) { return E(c.Connect(no_rule, SOCK_RAW)); }, ENOENT, kComponent},
          {"symlink, empty target (A9 otherwise)",
           [&](BrokerClient& c) { return E(c.Symlink("", no_rule)); }, ENOENT, kPath},
          {"chown flags 0x1000 (A16 otherwise)",
           [&](BrokerClient& c) {
             proto::Request request = Req(proto::Op::kChown, no_rule);
             request.flags = 0x1000;
             request.length = Owners(kUnchanged, kUnchanged);
             return CallErrno(c, request);
           },
           ENOENT, kComponent},
          {"utimens flags 0x1000 (A17 otherwise)",
           [&](BrokerClient& c) {
             proto::Request request = Req(proto::Op::kUtimens, no_rule);
             request.flags = 0x1000;
             return CallErrno(c, request);
           },
           ENOENT, kComponent},
          {"mknod of a device (A19 otherwise)",
           [&](BrokerClient& c) {
             proto::Request request = Req(proto::Op::kMknod, no_rule);
             request.mode = S_IFCHR | 0600;
             return CallErrno(c, request);
           },
           ENOENT, kPath},
          {"statfs",
           [&](BrokerClient& c) { return CallErrno(c, Req(proto::Op::kStatfs, no_rule)); }, ENOENT,
           kComponent},
          {"readlink", [&](BrokerClient& c) { return E(c.Readlink(no_rule)); }, ENOENT, kPath},
          {"mkdir", [&](BrokerClient& c) { return E(c.Mkdir(no_rule, 0700)); }, ENOENT, kPath},
      });

  // The policy may answer EACCES instead.
  Launcher eacces = Make(files.SetUncoveredErrno(EACCES));
  RunProbes(eacces,
            {
                {"uncovered-paths EACCES: open",
                 [&](BrokerClient& c) { return E(c.Open(no_rule, O_RDONLY)); }, EACCES, kComponent},
                {"uncovered-paths EACCES: lstat",
                 [&](BrokerClient& c) { return E(c.Lstat(no_rule)); }, EACCES, kPath},
                {"uncovered-paths EACCES: where a symlink leads",
                 [&](BrokerClient& c) { return E(c.Stat(to_outside)); }, EACCES, kComponent},
            });
}

// P9: a deny rule decides, with its errno; also for a name the walk meets on the way.
TEST_P(ErrnoTableTest, Row_P9) {
  ScratchDir dir;
  const std::string tree = dir.MakeDir("tree");
  const std::string denied = dir.MakeDir("tree/denied");
  dir.WriteFile("tree/denied/f", "x");
  const std::string read_only = tree + "/ro";
  const std::string to_denied = dir.Symlink("tree/to-denied", "denied/f");
  const std::string above = dir.MakeDir("above");
  dir.MakeDir("above/below");
  dir.WriteFile("above/below/f", "x");
  constexpr char kPath[] = "a deny rule covers the path";
  Launcher launcher = Make(FilePolicy::Builder()
                               .AllowTree(tree, kRead | kCreate)
                               .Deny(denied)
                               .Deny(read_only, EROFS)
                               .Deny(above)
                               .AllowReadTree(above + "/below"));
  RunProbes(
      launcher,
      {
          {"open", [&](BrokerClient& c) { return E(c.Open(denied + "/f", O_RDONLY)); }, EACCES,
           kPath},
          {"the deny rule's own errno",
           [&](BrokerClient& c) { return E(c.Open(read_only + "/x", O_RDONLY)); }, EROFS, kPath},
          {"stat, the deny rule's own errno", [&](BrokerClient& c) { return E(c.Stat(read_only)); },
           EROFS, kPath},
          {"chmod 04600 (A6 otherwise)", [&](BrokerClient& c) { return E(c.Chmod(denied, 04600)); },
           EACCES, kPath},
          {"link from a denied name",
           [&](BrokerClient& c) { return E(c.Link(denied + "/f", tree + "/x")); }, EACCES, kPath},
          {"where a symlink in a tree leads",
           [&](BrokerClient& c) { return E(c.Open(to_denied, O_RDONLY)); }, EACCES,
           "a deny rule covers a component of the path"},
          {"control: a denied ancestor of a grant is still an ancestor",
           [&](BrokerClient& c) { return E(c.Stat(above)); }, 0, kGranted},
          {"control: and the walk goes through it",
           [&](BrokerClient& c) { return E(c.Open(above + "/below/../below/f", O_RDONLY)); }, 0,
           kGranted},
      });
}

// P10: an ancestor of a grant gets stat, statfs, readlink, access F_OK and O_PATH, and no more.
TEST_P(ErrnoTableTest, Row_P10) {
  ScratchDir dir;
  const std::string sub = dir.MakeDir("sub");
  const std::string f = dir.WriteFile("sub/f", "x");
  dir.MakeDir("real");
  dir.WriteFile("real/g", "x");
  const std::string link = dir.Symlink("link", "real");
  const char* reason = "the path is only an ancestor of a grant";
  Launcher launcher =
      Make(FilePolicy::Builder().AllowFile(f, kBrokerPermissions).AllowReadFile(link + "/g"));
  RunProbes(
      launcher,
      {
          {"open", [&](BrokerClient& c) { return E(c.Open(sub, O_RDONLY)); }, EACCES, reason},
          {"access R_OK", [&](BrokerClient& c) { return E(c.Access(sub, R_OK)); }, EACCES, reason},
          {"rmdir", [&](BrokerClient& c) { return E(c.Rmdir(sub)); }, EACCES, reason},
          {"mkdir: it exists", [&](BrokerClient& c) { return E(c.Mkdir(sub, 0700)); }, EEXIST,
           "the path exists: an ancestor of a grant"},
          {"chmod", [&](BrokerClient& c) { return E(c.Chmod(sub, 0700)); }, EACCES, reason},
          {"chown",
           [&](BrokerClient& c) {
             proto::Request request = Req(proto::Op::kChown, sub);
             request.length = Owners(kUnchanged, kUnchanged);
             return CallErrno(c, request);
           },
           EACCES, reason},
          {"control: stat", [&](BrokerClient& c) { return E(c.Stat(sub)); }, 0, kGranted},
          {"control: access F_OK", [&](BrokerClient& c) { return E(c.Access(sub, F_OK)); }, 0,
           kGranted},
          {"control: statfs",
           [&](BrokerClient& c) { return CallErrno(c, Req(proto::Op::kStatfs, sub)); }, 0,
           kGranted},
          {"control: O_PATH", [&](BrokerClient& c) { return E(c.Open(sub, O_PATH)); }, 0, kGranted},
          {"control: readlink without r", [&](BrokerClient& c) { return E(c.Readlink(link)); }, 0,
           kGranted},
      });
}

TEST_P(ErrnoTableTest, Row_W4) {
  ScratchDir dir;
  const std::string temp = dir.MakeDir("tmp");
  const std::string inside = dir.WriteFile("tmp/existing", "x");
  const char* reason = "a temporary-files rule allows only creating opens";
  Launcher launcher = Make(FilePolicy::Builder().AllowTemporaryFiles(temp));
  RunProbes(
      launcher,
      {
          {"stat", [&](BrokerClient& c) { return E(c.Stat(inside)); }, EACCES, reason},
          {"access F_OK", [&](BrokerClient& c) { return E(c.Access(temp, F_OK)); }, EACCES, reason},
          {"unlink", [&](BrokerClient& c) { return E(c.Unlink(inside)); }, EACCES, reason},
          {"mkdir", [&](BrokerClient& c) { return E(c.Mkdir(temp + "/d", 0700)); }, EACCES, reason},
          {"rmdir the root", [&](BrokerClient& c) { return E(c.Rmdir(temp)); }, EACCES, reason},
          {"statfs", [&](BrokerClient& c) { return CallErrno(c, Req(proto::Op::kStatfs, inside)); },
           EACCES, reason},
          {"utimens",
           [&](BrokerClient& c) { return CallErrno(c, Req(proto::Op::kUtimens, inside)); }, EACCES,
           reason},
      });
}

TEST_P(ErrnoTableTest, Row_A14) {
  ScratchDir dir;
  const std::string sub = dir.MakeDir("sub");
  const std::string f = dir.WriteFile("f", "x");
  dir.WriteFile("sub/g", "x");
  const std::string up = "../f";
  const std::string g = "g";
  const char* reason = "RESOLVE_BENEATH: the path leaves its starting directory";
  Launcher launcher = Make(FilePolicy::Builder().AllowReadTree(dir.path()));
  const auto open_beneath = [&](BrokerClient& c, const std::string& path) {
    absl::StatusOr<UniqueFd> directory = c.Open(sub, O_RDONLY | O_DIRECTORY);
    if (!directory.ok()) return -1;
    proto::Request request = Req(proto::Op::kOpen, path);
    request.length = RESOLVE_BENEATH;
    return CallErrno(c, request, directory->get());
  };
  RunProbes(
      launcher,
      {
          {"../ out of the directory", [&](BrokerClient& c) { return open_beneath(c, up); }, EXDEV,
           reason},
          {"an absolute path", [&](BrokerClient& c) { return open_beneath(c, f); }, EXDEV, reason},
          // Out and back in: the kernel refuses the climb, wherever it ends.
          {"../sub/g, out and back", [&](BrokerClient& c) { return open_beneath(c, "../sub/g"); },
           EXDEV, reason},
          {"control: a name beneath it", [&](BrokerClient& c) { return open_beneath(c, g); }, 0,
           kGranted},
          {"control: down and up again, never above it",
           [&](BrokerClient& c) { return open_beneath(c, "x/../g"); }, ENOENT,
           "a component of the path cannot be looked up"},
      });
}

TEST_P(ErrnoTableTest, Row_A1) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const char* reason = "open flags outside the allowlist";
  Launcher launcher = Make(FilePolicy::Builder().AllowFile(file, kRead | kWrite));
  RunProbes(
      launcher,
      {
          {"control: O_RDONLY", [&](BrokerClient& c) { return E(c.Open(file, O_RDONLY)); }, 0,
           kGranted},
          {"O_DSYNC", [&](BrokerClient& c) { return E(c.Open(file, O_WRONLY | O_DSYNC)); }, EINVAL,
           reason},
          {"access mode 3", [&](BrokerClient& c) { return E(c.Open(file, O_ACCMODE)); }, EINVAL,
           reason},
          {"O_TMPFILE", [&](BrokerClient& c) { return E(c.Open(file, O_RDWR | O_TMPFILE)); },
           EINVAL, reason},
          {"O_NOATIME", [&](BrokerClient& c) { return E(c.Open(file, O_RDONLY | O_NOATIME)); },
           EINVAL, reason},
          {"control: O_PATH ignores the other bits",
           [&](BrokerClient& c) { return E(c.Open(file, O_PATH | O_ACCMODE | O_DSYNC)); }, 0,
           kGranted},
      });
}

TEST_P(ErrnoTableTest, Row_A2) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const char* reason = "access mode has bits other than R_OK|W_OK|X_OK";
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  RunProbes(launcher,
            {
                {"mode 8", [&](BrokerClient& c) { return E(c.Access(file, 8)); }, EINVAL, reason},
                {"R_OK | 0x100", [&](BrokerClient& c) { return E(c.Access(file, R_OK | 0x100)); },
                 EINVAL, reason},
            });
}

TEST_P(ErrnoTableTest, Row_A3) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  RunProbes(launcher, {{"AT_EMPTY_PATH",
                        [&](BrokerClient& c) {
                          struct stat st;
                          return -c.StatRaw(AT_FDCWD, file, AT_EMPTY_PATH, &st);
                        },
                        EINVAL, "stat flags other than AT_SYMLINK_NOFOLLOW"}});
}

TEST_P(ErrnoTableTest, Row_A4) {
  ScratchDir dir;
  const std::string a = dir.WriteFile("a", "x");
  const std::string b = dir.path() + "/b";
  const char* reason = "rename flags other than RENAME_NOREPLACE or RENAME_EXCHANGE";
  Launcher launcher = Make(FilePolicy::Builder().AllowTree(dir.path(), kBrokerPermissions));
  RunProbes(launcher, {
                          {"RENAME_WHITEOUT", [&](BrokerClient& c) { return E(c.Rename(a, b, 4)); },
                           EINVAL, reason},
                          {"RENAME_NOREPLACE | RENAME_EXCHANGE",
                           [&](BrokerClient& c) { return E(c.Rename(a, b, 3)); }, EINVAL, reason},
                      });
}

TEST_P(ErrnoTableTest, Row_A5) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const char* reason = "chmod mode beyond 07777";
  Launcher launcher = Make(FilePolicy::Builder().AllowFile(file, kRead | kWrite));
  RunProbes(
      launcher,
      {
          {"mode 010600", [&](BrokerClient& c) { return E(c.Chmod(file, 010600)); }, EINVAL,
           reason},
          {"mode 0100600 (a file type)",
           [&](BrokerClient& c) { return E(c.Chmod(file, S_IFREG | 0600)); }, EINVAL, reason},
          {"control: 0600", [&](BrokerClient& c) { return E(c.Chmod(file, 0600)); }, 0, kGranted},
      });
}

TEST_P(ErrnoTableTest, Row_A6) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const char* reason = "setuid, setgid and sticky bits are never granted";
  Launcher launcher = Make(FilePolicy::Builder().AllowFile(file, kRead | kWrite));
  RunProbes(launcher,
            {
                {"setuid", [&](BrokerClient& c) { return E(c.Chmod(file, 04600)); }, EPERM, reason},
                {"sticky", [&](BrokerClient& c) { return E(c.Chmod(file, 01000)); }, EPERM, reason},
            });
}

TEST_P(ErrnoTableTest, Row_A7) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  Launcher launcher = Make(FilePolicy::Builder().AllowFile(file, kRead | kWrite));
  RunProbes(launcher, {{"length 2^63 (the client refuses a negative off_t itself, C4)",
                        [&](BrokerClient& c) {
                          proto::Request request;
                          request.op = proto::Op::kTruncate;
                          request.path = file;
                          request.length = uint64_t{1} << 63;
                          sandboxee::RoundTripReply reply;
                          return -c.Call(request, AT_FDCWD, AT_FDCWD, &reply);
                        },
                        EINVAL, "truncate length is negative"}});
}

TEST_P(ErrnoTableTest, Row_A8) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const char* reason = "socket type other than SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM";
  Launcher launcher = Make(FilePolicy::Builder().AllowFile(file, kConnect));
  RunProbes(launcher,
            {
                {"SOCK_RAW", [&](BrokerClient& c) { return E(c.Connect(file, SOCK_RAW)); }, EINVAL,
                 reason},
                {"SOCK_STREAM | SOCK_CLOEXEC",
                 [&](BrokerClient& c) { return E(c.Connect(file, SOCK_STREAM | SOCK_CLOEXEC)); },
                 EINVAL, reason},
            });
}

TEST_P(ErrnoTableTest, Row_A9) {
  ScratchDir dir;
  Launcher launcher = Make(FilePolicy::Builder().AllowTree(dir.path(), kBrokerPermissions));
  RunProbes(launcher,
            {{"empty target", [&](BrokerClient& c) { return E(c.Symlink("", dir.path() + "/l")); },
              ENOENT, "symlink target is empty or has a NUL"}});
}

TEST_P(ErrnoTableTest, Row_A10) {
  ScratchDir dir;
  Launcher launcher = Make(FilePolicy::Builder().AllowTree(dir.path(), kBrokerPermissions));
  RunProbes(
      launcher,
      {{"a NUL in the target",
        [&](BrokerClient& c) { return E(c.Symlink(std::string("a\0b", 3), dir.path() + "/l")); },
        EINVAL, "symlink target is empty or has a NUL"}});
}

// The flags of chmod, chown and utimens: one check, after the path's rule.
TEST_P(ErrnoTableTest, Row_A16) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const char* reason = "flags other than AT_SYMLINK_NOFOLLOW";
  Launcher launcher = Make(FilePolicy::Builder().AllowFile(file, kRead | kWrite));
  const auto with_flags = [&](BrokerClient& c, proto::Op op, uint32_t flags) {
    proto::Request request = Req(op, file);
    request.flags = flags;
    if (op == proto::Op::kChmod) request.mode = 0600;
    if (op == proto::Op::kChown) request.length = Owners(kUnchanged, kUnchanged);
    return CallErrno(c, request);
  };
  RunProbes(
      launcher,
      {
          {"chmod, AT_EMPTY_PATH",
           [&](BrokerClient& c) { return with_flags(c, proto::Op::kChmod, AT_EMPTY_PATH); }, EINVAL,
           reason},
          {"chown, AT_EMPTY_PATH",
           [&](BrokerClient& c) { return with_flags(c, proto::Op::kChown, AT_EMPTY_PATH); }, EINVAL,
           reason},
          {"chown, AT_SYMLINK_FOLLOW",
           [&](BrokerClient& c) { return with_flags(c, proto::Op::kChown, AT_SYMLINK_FOLLOW); },
           EINVAL, reason},
          {"utimens, AT_EMPTY_PATH",
           [&](BrokerClient& c) { return with_flags(c, proto::Op::kUtimens, AT_EMPTY_PATH); },
           EINVAL, reason},
          {"chmod, mode 017777 too (A5 otherwise)",
           [&](BrokerClient& c) {
             proto::Request request = Req(proto::Op::kChmod, file);
             request.flags = 0x1000;
             request.mode = 017777;
             return CallErrno(c, request);
           },
           EINVAL, reason},
          {"control: chmod, AT_SYMLINK_NOFOLLOW on a regular file",
           [&](BrokerClient& c) { return with_flags(c, proto::Op::kChmod, AT_SYMLINK_NOFOLLOW); },
           0, kGranted},
          {"control: chown, AT_SYMLINK_NOFOLLOW",
           [&](BrokerClient& c) { return with_flags(c, proto::Op::kChown, AT_SYMLINK_NOFOLLOW); },
           0, kGranted},
          {"control: utimens, AT_SYMLINK_NOFOLLOW",
           [&](BrokerClient& c) { return with_flags(c, proto::Op::kUtimens, AT_SYMLINK_NOFOLLOW); },
           0, kGranted},
      });
}

TEST_P(ErrnoTableTest, Row_A17) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const std::string read_only = dir.WriteFile("r", "x");
  Launcher launcher =
      Make(FilePolicy::Builder().AllowFile(file, kRead | kWrite).AllowReadFile(read_only));
  const auto utimens = [&](BrokerClient& c, const std::string& path, const std::string& times) {
    proto::Request request = Req(proto::Op::kUtimens, path);
    request.path2 = times;
    return CallErrno(c, request);
  };
  const std::string too_large = Times(1000000000, UTIME_OMIT);
  const std::string negative = Times(UTIME_NOW, -1);
  const std::string valid = Times(999999999, UTIME_NOW);
  const char* reason = "utimensat nanoseconds outside 0..999999999";
  RunProbes(
      launcher,
      {
          {"1000000000 ns", [&](BrokerClient& c) { return utimens(c, file, too_large); }, EINVAL,
           reason},
          {"-1 ns", [&](BrokerClient& c) { return utimens(c, file, negative); }, EINVAL, reason},
          {"before the permission (W3 otherwise)",
           [&](BrokerClient& c) { return utimens(c, read_only, negative); }, EINVAL, reason},
          {"control: 999999999 ns and UTIME_NOW",
           [&](BrokerClient& c) { return utimens(c, file, valid); }, 0, kGranted},
      });
}

TEST_P(ErrnoTableTest, Row_A19) {
  ScratchDir dir;
  const std::string d = dir.path();
  const std::string names[] = {d + "/a", d + "/b", d + "/c", d + "/d", d + "/e", d + "/f"};
  const char* reason = "mknod makes regular files and FIFOs only";
  Launcher launcher = Make(FilePolicy::Builder().AllowTree(d, kBrokerPermissions));
  const auto mknod = [](BrokerClient& c, const std::string& path, uint32_t mode) {
    proto::Request request = Req(proto::Op::kMknod, path);
    request.mode = mode;
    return CallErrno(c, request);
  };
  RunProbes(
      launcher,
      {
          {"a character device",
           [&](BrokerClient& c) { return mknod(c, names[0], S_IFCHR | 0600); }, EPERM, reason},
          {"a socket", [&](BrokerClient& c) { return mknod(c, names[1], S_IFSOCK | 0600); }, EPERM,
           reason},
          {"no type", [&](BrokerClient& c) { return mknod(c, names[2], 0600); }, EPERM, reason},
          {"a bit beyond the type and 07777",
           [&](BrokerClient& c) { return mknod(c, names[3], S_IFREG | 0200000 | 0600); }, EPERM,
           reason},
          {"control: a FIFO", [&](BrokerClient& c) { return mknod(c, names[4], S_IFIFO | 0600); },
           0, kGranted},
          {"control: a regular file",
           [&](BrokerClient& c) { return mknod(c, names[5], S_IFREG | 0600); }, 0, kGranted},
      });
}

TEST_P(ErrnoTableTest, Row_A11) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const std::string link = dir.Symlink("l", "f");
  Launcher launcher = Make(FilePolicy::Builder().AllowReadTree(dir.path()));
  RunProbes(launcher,
            {
                {"readlink of the tree's root",
                 [&](BrokerClient& c) { return E(c.Readlink(dir.path())); }, EINVAL, kGranted},
                {"readlink of a regular file", [&](BrokerClient& c) { return E(c.Readlink(file)); },
                 EINVAL, kGranted},
                {"control: readlink of a symlink",
                 [&](BrokerClient& c) { return E(c.Readlink(link)); }, 0, kGranted},
            });
}

TEST_P(ErrnoTableTest, Row_A12) {
  ScratchDir dir;
  const std::string later = dir.path() + "/later";
  Launcher launcher = Make(FilePolicy::Builder()
                               .AllowTree(dir.path(), kRead | kCreate)
                               .AllowTree(later, kRead | kCreate));
  RunProbes(launcher,
            {
                {"mkdir of the tree's root",
                 [&](BrokerClient& c) { return E(c.Mkdir(dir.path(), 0700)); }, EEXIST, kGranted},
                {"control: a tree whose directory did not exist yet is created",
                 [&](BrokerClient& c) { return E(c.Mkdir(later, 0700)); }, 0, kGranted},
            });
}

TEST_P(ErrnoTableTest, Row_A15) {
  ScratchDir dir;
  dir.WriteFile("f", "x");
  const std::string link = dir.Symlink("l", "f");
  Launcher launcher = Make(FilePolicy::Builder().AllowTree(dir.path(), kBrokerPermissions));
  const auto chmod = [&](BrokerClient& c, uint32_t flags) {
    proto::Request request = Req(proto::Op::kChmod, link);
    request.mode = 0600;
    request.flags = flags;
    return CallErrno(c, request);
  };
  RunProbes(
      launcher,
      {
          {"AT_SYMLINK_NOFOLLOW on a symlink",
           [&](BrokerClient& c) { return chmod(c, AT_SYMLINK_NOFOLLOW); }, EOPNOTSUPP, kGranted},
          {"the descriptor itself, a symlink's",
           [&](BrokerClient& c) {
             absl::StatusOr<UniqueFd> fd = c.Open(link, O_PATH | O_NOFOLLOW);
             if (!fd.ok()) return -1;
             proto::Request request = Req(proto::Op::kChmod, link);
             request.mode = 0600;
             return ItselfErrno(request, fd->get());
           },
           EOPNOTSUPP, kGranted},
          {"control: followed", [&](BrokerClient& c) { return chmod(c, 0); }, 0, kGranted},
      });
}

TEST_P(ErrnoTableTest, Row_W1) {
  ScratchDir dir;
  const std::string write_only = dir.WriteFile("w", "x");
  const std::string read_only = dir.WriteFile("r", "x");
  const std::string no_create = dir.path() + "/new";
  Launcher launcher = Make(FilePolicy::Builder()
                               .AllowFile(write_only, kWrite)
                               .AllowReadFile(read_only)
                               .AllowFile(no_create, kRead | kWrite));
  RunProbes(
      launcher,
      {
          {"O_RDONLY without r", [&](BrokerClient& c) { return E(c.Open(write_only, O_RDONLY)); },
           EACCES, "reading needs r"},
          {"O_RDWR without r", [&](BrokerClient& c) { return E(c.Open(write_only, O_RDWR)); },
           EACCES, "reading needs r"},
          {"O_WRONLY without w", [&](BrokerClient& c) { return E(c.Open(read_only, O_WRONLY)); },
           EACCES, "writing, O_TRUNC or O_APPEND needs w"},
          {"O_RDONLY | O_TRUNC without w",
           [&](BrokerClient& c) { return E(c.Open(read_only, O_RDONLY | O_TRUNC)); }, EACCES,
           "writing, O_TRUNC or O_APPEND needs w"},
          {"O_APPEND without w",
           [&](BrokerClient& c) { return E(c.Open(read_only, O_RDONLY | O_APPEND)); }, EACCES,
           "writing, O_TRUNC or O_APPEND needs w"},
          {"O_CREAT without c",
           [&](BrokerClient& c) { return E(c.Open(no_create, O_WRONLY | O_CREAT, 0600)); }, EACCES,
           "O_CREAT needs c"},
          {"control: O_PATH needs no permission",
           [&](BrokerClient& c) { return E(c.Open(write_only, O_PATH)); }, 0, kGranted},
      });
}

TEST_P(ErrnoTableTest, Row_W2) {
  ScratchDir dir;
  const std::string read_only = dir.WriteFile("r", "x");
  const std::string write_only = dir.WriteFile("w", "x");
  const char* reason = "the rule lacks the permission the access mode asks about";
  Launcher launcher =
      Make(FilePolicy::Builder().AllowReadFile(read_only).AllowFile(write_only, kWrite));
  RunProbes(launcher,
            {
                {"W_OK without w", [&](BrokerClient& c) { return E(c.Access(read_only, W_OK)); },
                 EACCES, reason},
                {"R_OK without r", [&](BrokerClient& c) { return E(c.Access(write_only, R_OK)); },
                 EACCES, reason},
                {"X_OK without r", [&](BrokerClient& c) { return E(c.Access(write_only, X_OK)); },
                 EACCES, reason},
            });
}

TEST_P(ErrnoTableTest, Row_W3) {
  ScratchDir dir;
  const std::string r = dir.MakeDir("r");    // tree: r
  const std::string w = dir.MakeDir("w");    // tree: w
  const std::string rd = dir.MakeDir("rd");  // tree: r d
  const std::string rf = dir.WriteFile("r/f", "x");
  const std::string rn = r + "/n";
  dir.MakeDir("r/sub");
  const std::string wf = dir.WriteFile("w/f", "x");
  const std::string wl = dir.Symlink("w/l", "f");
  const std::string rdf = dir.WriteFile("rd/f", "x");
  Launcher launcher = Make(
      FilePolicy::Builder().AllowReadTree(r).AllowTree(w, kWrite).AllowTree(rd, kRead | kDelete));
  RunProbes(
      launcher,
      {
          {"readlink", [&](BrokerClient& c) { return E(c.Readlink(wl)); }, EACCES,
           "readlink needs r"},
          {"mkdir", [&](BrokerClient& c) { return E(c.Mkdir(r + "/n", 0700)); }, EACCES,
           "mkdir needs c"},
          {"mknod",
           [&](BrokerClient& c) {
             proto::Request request = Req(proto::Op::kMknod, rn);
             request.mode = S_IFREG | 0600;
             return CallErrno(c, request);
           },
           EACCES, "mknod needs c"},
          {"rmdir", [&](BrokerClient& c) { return E(c.Rmdir(r + "/sub")); }, EACCES,
           "removing a name needs d"},
          {"unlink", [&](BrokerClient& c) { return E(c.Unlink(rf)); }, EACCES,
           "removing a name needs d"},
          {"rename, old name", [&](BrokerClient& c) { return E(c.Rename(rf, r + "/g")); }, EACCES,
           "renaming needs r and d on the old name"},
          {"rename, new name", [&](BrokerClient& c) { return E(c.Rename(rdf, rd + "/g")); }, EACCES,
           "renaming needs c (and d to replace) on the new name"},
          {"link, existing name", [&](BrokerClient& c) { return E(c.Link(wf, w + "/g")); }, EACCES,
           "linking needs r on the existing name"},
          {"link, new name", [&](BrokerClient& c) { return E(c.Link(rf, r + "/g")); }, EACCES,
           "linking needs c on the new name"},
          {"symlink", [&](BrokerClient& c) { return E(c.Symlink(rf, r + "/l")); }, EACCES,
           "symlink needs c"},
          {"chmod", [&](BrokerClient& c) { return E(c.Chmod(rf, 0600)); }, EACCES, "chmod needs w"},
          {"chown",
           [&](BrokerClient& c) {
             proto::Request request = Req(proto::Op::kChown, rf);
             request.length = Owners(kUnchanged, kUnchanged);
             return CallErrno(c, request);
           },
           EACCES, "chown needs w"},
          {"utimens", [&](BrokerClient& c) { return CallErrno(c, Req(proto::Op::kUtimens, rf)); },
           EACCES, "changing times needs w"},
          {"truncate", [&](BrokerClient& c) { return E(c.Truncate(rf, 0)); }, EACCES,
           "truncate needs w"},
          {"connect", [&](BrokerClient& c) { return E(c.Connect(rf, SOCK_STREAM)); }, EACCES,
           "connect needs x"},
          {"chdir", [&](BrokerClient& c) { return E(c.Chdir(w)); }, EACCES, "chdir needs r"},
      });
}

TEST_P(ErrnoTableTest, Row_W5) {
  ScratchDir dir;
  const std::string temp = dir.MakeDir("tmp");
  const char* reason = "temporary files are opened with O_CREAT|O_EXCL and write access";
  Launcher launcher = Make(FilePolicy::Builder().AllowTemporaryFiles(temp));
  RunProbes(
      launcher,
      {
          {"control: O_RDWR | O_CREAT | O_EXCL",
           [&](BrokerClient& c) { return E(c.Open(temp + "/a", O_RDWR | O_CREAT | O_EXCL)); }, 0,
           kGranted},
          {"without O_EXCL",
           [&](BrokerClient& c) { return E(c.Open(temp + "/b", O_RDWR | O_CREAT)); }, EACCES,
           reason},
          {"without O_CREAT", [&](BrokerClient& c) { return E(c.Open(temp + "/c", O_WRONLY)); },
           EACCES, reason},
          {"O_RDONLY",
           [&](BrokerClient& c) { return E(c.Open(temp + "/d", O_RDONLY | O_CREAT | O_EXCL)); },
           EACCES, reason},
          {"O_PATH", [&](BrokerClient& c) { return E(c.Open(temp + "/e", O_PATH)); }, EACCES,
           reason},
      });
}

TEST_P(ErrnoTableTest, Row_W6) {
  ScratchDir dir;
  const std::string narrow = dir.MakeDir("narrow");  // r c d
  const std::string wide = dir.MakeDir("wide");      // r w c d
  const std::string narrow_f = dir.WriteFile("narrow/f", "x");
  const std::string wide_g = dir.WriteFile("wide/g", "x");
  const char* reason = "the new name would grant the file more than the old one";
  Launcher launcher = Make(FilePolicy::Builder()
                               .AllowTree(narrow, kRead | kCreate | kDelete)
                               .AllowTree(wide, kRead | kWrite | kCreate | kDelete));
  RunProbes(
      launcher,
      {
          {"link into a wider rule",
           [&](BrokerClient& c) { return E(c.Link(narrow_f, wide + "/f")); }, EACCES, reason},
          {"rename into a wider rule",
           [&](BrokerClient& c) { return E(c.Rename(narrow_f, wide + "/f")); }, EACCES, reason},
          {"RENAME_EXCHANGE between different rules",
           [&](BrokerClient& c) { return E(c.Rename(wide_g, narrow_f, RENAME_EXCHANGE)); }, EACCES,
           reason},
      });
}

TEST_P(ErrnoTableTest, Row_W9) {
  ScratchDir dir;
  const std::string tree = dir.MakeDir("tree");
  const std::string f = dir.WriteFile("tree/f", "x");
  const std::string temp = dir.MakeDir("tmp");
  const std::string later = dir.path() + "/later";  // no directory yet
  const char* reason = "a name operation on a rule's own root (its parent is outside)";
  Launcher launcher = Make(FilePolicy::Builder()
                               .AllowTree(tree, kBrokerPermissions)
                               .AllowTemporaryFiles(temp)
                               .AllowTree(later, kBrokerPermissions));
  RunProbes(
      launcher,
      {
          {"rmdir", [&](BrokerClient& c) { return E(c.Rmdir(tree)); }, EACCES, reason},
          {"unlink", [&](BrokerClient& c) { return E(c.Unlink(tree)); }, EACCES, reason},
          {"rename, old name", [&](BrokerClient& c) { return E(c.Rename(tree, tree + "/x")); },
           EACCES, reason},
          {"rename, new name",
           [&](BrokerClient& c) { return E(c.Rename(f, tree, RENAME_EXCHANGE)); }, EACCES, reason},
          {"link, new name", [&](BrokerClient& c) { return E(c.Link(f, tree)); }, EACCES, reason},
          {"symlink", [&](BrokerClient& c) { return E(c.Symlink(f, tree)); }, EACCES, reason},
          {"mknod",
           [&](BrokerClient& c) {
             proto::Request request = Req(proto::Op::kMknod, tree);
             request.mode = S_IFIFO | 0600;
             return CallErrno(c, request);
           },
           EACCES, reason},
          {"temporary open of the root",
           [&](BrokerClient& c) { return E(c.Open(temp, O_RDWR | O_CREAT | O_EXCL)); }, EACCES,
           reason},
          {"control: a root made after the policy is an ordinary name (mkdir)",
           [&](BrokerClient& c) { return E(c.Mkdir(later, 0700)); }, 0, kGranted},
          {"control: ... and rmdir", [&](BrokerClient& c) { return E(c.Rmdir(later)); }, 0,
           kGranted},
      });
}

TEST_P(ErrnoTableTest, Row_W10) {
  ScratchDir dir;
  const std::string tree = dir.MakeDir("tree");
  const std::string d = dir.MakeDir("tree/d");
  dir.MakeDir("tree/x");
  const char* reason = "renaming would move paths that other rules name";
  Launcher launcher =
      Make(FilePolicy::Builder().AllowTree(tree, kBrokerPermissions).Deny(d + "/secret"));
  RunProbes(
      launcher,
      {
          {"the old name is above a deny rule",
           [&](BrokerClient& c) { return E(c.Rename(d, tree + "/e")); }, EACCES, reason},
          {"the new name is above a deny rule",
           [&](BrokerClient& c) { return E(c.Rename(tree + "/x", d)); }, EACCES, reason},
          {"control: a directory above no rule",
           [&](BrokerClient& c) { return E(c.Rename(tree + "/x", tree + "/y")); }, 0, kGranted},
      });
}

TEST_P(ErrnoTableTest, Row_W11) {
  ScratchDir dir;
  const std::string f = dir.WriteFile("f", "x");
  const std::string sub = dir.MakeDir("sub");
  const char* reason = "chmod beyond the policy's create mode";
  Launcher launcher = Make(
      FilePolicy::Builder().AllowTree(dir.path(), kBrokerPermissions).SetCreateModes(0640, 0750));
  RunProbes(launcher, {
                          {"file, 0644 over 0640",
                           [&](BrokerClient& c) { return E(c.Chmod(f, 0644)); }, EPERM, reason},
                          {"directory, 0770 over 0750",
                           [&](BrokerClient& c) { return E(c.Chmod(sub, 0770)); }, EPERM, reason},
                          {"control: file 0640",
                           [&](BrokerClient& c) { return E(c.Chmod(f, 0640)); }, 0, kGranted},
                          {"control: directory 0750",
                           [&](BrokerClient& c) { return E(c.Chmod(sub, 0750)); }, 0, kGranted},
                      });
}

TEST_P(ErrnoTableTest, Row_W12) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  const uint32_t uid = getuid();
  const uint32_t gid = getgid();
  const char* reason = "chown to another owner, or to a group the sandboxee is not in";
  Launcher launcher = Make(FilePolicy::Builder().AllowFile(file, kRead | kWrite));
  const auto chown = [&](BrokerClient& c, uint32_t owner, uint32_t group) {
    proto::Request request = Req(proto::Op::kChown, file);
    request.length = Owners(owner, group);
    return CallErrno(c, request);
  };
  RunProbes(launcher,
            {
                {"another owner", [&](BrokerClient& c) { return chown(c, uid + 4242, kUnchanged); },
                 EPERM, reason},
                {"a group of nobody's",
                 [&](BrokerClient& c) { return chown(c, kUnchanged, 4242424); }, EPERM, reason},
                {"control: the same owner and group",
                 [&](BrokerClient& c) { return chown(c, uid, gid); }, 0, kGranted},
                {"control: both unchanged",
                 [&](BrokerClient& c) { return chown(c, kUnchanged, kUnchanged); }, 0, kGranted},
            });
}

// A symlink the broker's open meets and may not follow: O_NOFOLLOW, RESOLVE_NO_SYMLINKS (or one
// swapped in at every attempt, which a test cannot arrange).
TEST_P(ErrnoTableTest, Row_K12) {
  ScratchDir dir;
  dir.WriteFile("f", "x");
  dir.MakeDir("sub");
  dir.WriteFile("sub/g", "x");
  const std::string link = dir.Symlink("l", "f");
  const std::string in_link = dir.Symlink("dl", "sub") + "/g";
  const char* reason = "a symlink (not followed: O_NOFOLLOW, or it changed while being resolved)";
  Launcher launcher = Make(FilePolicy::Builder().AllowReadTree(dir.path()));
  const auto no_symlinks = [](BrokerClient& c, const std::string& path) {
    proto::Request request = Req(proto::Op::kOpen, path);
    request.length = RESOLVE_NO_SYMLINKS;
    return CallErrno(c, request);
  };
  RunProbes(
      launcher,
      {
          {"O_NOFOLLOW", [&](BrokerClient& c) { return E(c.Open(link, O_RDONLY | O_NOFOLLOW)); },
           ELOOP, reason},
          {"RESOLVE_NO_SYMLINKS, a final symlink",
           [&](BrokerClient& c) { return no_symlinks(c, link); }, ELOOP, reason},
          {"RESOLVE_NO_SYMLINKS, a symlink on the way",
           [&](BrokerClient& c) { return no_symlinks(c, in_link); }, ELOOP, reason},
          {"control: followed", [&](BrokerClient& c) { return E(c.Open(link, O_RDONLY)); }, 0,
           kGranted},
          {"control: O_PATH | O_NOFOLLOW opens the symlink itself",
           [&](BrokerClient& c) { return E(c.Open(link, O_PATH | O_NOFOLLOW)); }, 0, kGranted},
      });
}

// EXDEV beneath a root: a directory on the way renamed out from under the root while the kernel
// resolves the path. A process outside the sandbox moves T/a out of the tree and back while the
// sandboxee opens beneath it, until the broker has answered the race at least once (the decision
// log's reason); the sandboxee never sees EXDEV, only the uncovered errno or the file.
TEST_P(ErrnoTableTest, Row_K13) {
  ScratchDir dir;
  const std::string tree = dir.MakeDir("tree");
  dir.MakeDir("tree/a");
  dir.MakeDir("tree/a/b");
  dir.WriteFile("tree/a/b/file", "inside");
  const std::string inside = tree + "/a";
  const std::string outside = dir.path() + "/a";
  const pid_t racer = fork();
  if (racer == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (;;) {
      if (rename(inside.c_str(), outside.c_str()) != 0) _exit(1);
      if (rename(outside.c_str(), inside.c_str()) != 0) _exit(2);
    }
  }
  ASSERT_GT(racer, 0);
  DecisionRecorder log;
  Launcher launcher = Make(FilePolicy::Builder().AllowReadTree(tree));
  launcher.SetDecisionLog(log.AsLog());
  // The kernel finds the race when a rename moves the directory out while it resolves beneath
  // the root; that happens a few times in a thousand opens on these machines.
  constexpr int kOpens = 100000;
  SharedInts outcome(3);  // opens made, EXDEV seen, errors other than ENOENT
  const std::string file = tree + "/a/b/file";
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    BrokerClient client(std::move(channel));
    outcome[0] = outcome[1] = outcome[2] = 0;
    for (int i = 0; i < kOpens; ++i) {
      ++outcome[0];
      const int error = ErrnoOf(client.Open(file, O_RDONLY).status());
      if (error == EXDEV) ++outcome[1];
      if (error != 0 && error != ENOENT) ++outcome[2];
    }
    return 0;
  });
  kill(racer, SIGKILL);
  waitpid(racer, nullptr, 0);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->ok()) << result->ToString();
  int answered = 0;
  for (const std::string& line : log.Lines()) {
    if (line.find("the path left its rule's root while it was opened") != std::string::npos) {
      EXPECT_NE(line.find("denied, ENOENT"), std::string::npos) << line;
      ++answered;
    }
  }
  std::cout << outcome[0] << " opens during renames; " << answered << " answered as K13\n";
  EXPECT_EQ(outcome[1], 0) << "EXDEV reached the sandboxee";
  EXPECT_EQ(outcome[2], 0) << "errors other than ENOENT";
  EXPECT_GT(answered, 0) << "the race was never met in " << outcome[0] << " opens";
}

TEST_P(ErrnoTableTest, Row_K9) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  Launcher launcher = Make(FilePolicy::Builder().AllowFile(file, kConnect));
  RunProbes(launcher,
            {{"a regular file", [&](BrokerClient& c) { return E(c.Connect(file, SOCK_STREAM)); },
              ECONNREFUSED, kGranted}});
}

TEST_P(ErrnoTableTest, Row_K3) {
  ScratchDir dir;
  dir.WriteFile("f", "x");
  dir.MakeDir("full");
  dir.WriteFile("full/f", "x");
  const std::string missing_on_the_way = dir.path() + "/missing/../f";
  Launcher launcher = Make(FilePolicy::Builder().AllowTree(dir.path(), kBrokerPermissions));
  launcher.SetWorkingDirectory(dir.path());
  RunProbes(
      launcher,
      {
          {"ENOENT", [&](BrokerClient& c) { return E(c.Open("missing", O_RDONLY)); }, ENOENT,
           kGranted},
          {"ENOENT: the walk meets a missing directory",
           [&](BrokerClient& c) { return E(c.Open(missing_on_the_way, O_RDONLY)); }, ENOENT,
           "a component of the path cannot be looked up"},
          {"ENOTEMPTY", [&](BrokerClient& c) { return E(c.Rmdir("full")); }, ENOTEMPTY, kGranted},
          {"EEXIST", [&](BrokerClient& c) { return E(c.Mkdir("full", 0700)); }, EEXIST, kGranted},
          {"ENOTDIR: a path ending in '/' names a directory",
           [&](BrokerClient& c) { return E(c.Open("f/", O_RDONLY)); }, ENOTDIR, kGranted},
          {"ENOTDIR: stat too", [&](BrokerClient& c) { return E(c.Stat("f/.")); }, ENOTDIR,
           kGranted},
          {"EINVAL: the same with O_CREAT",
           [&](BrokerClient& c) { return E(c.Open("g/", O_RDWR | O_CREAT)); }, EINVAL, kGranted},
          {"EEXIST: O_CREAT | O_EXCL never follows a final symlink",
           [&](BrokerClient& c) {
             if (!c.Symlink("f", "l").ok()) return -1;
             return E(c.Open("l", O_WRONLY | O_CREAT | O_EXCL));
           },
           EEXIST, kGranted},
      });
}

TEST_P(ErrnoTableTest, Row_C1) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  RunProbes(launcher,
            {
                {"path of 4096 bytes",
                 [&](BrokerClient& c) { return E(c.Stat("/" + std::string(4095, 'a'))); },
                 ENAMETOOLONG, kNoDecision},
                {"path2 of 4096 bytes",
                 [&](BrokerClient& c) { return E(c.Link(file, "/" + std::string(4095, 'b'))); },
                 ENAMETOOLONG, kNoDecision},
                {"control: the channel still serves",
                 [&](BrokerClient& c) { return E(c.Stat(file)); }, 0, kGranted},
            });
}

TEST_P(ErrnoTableTest, Row_C2) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  RunProbes(launcher, {
                          {"relative path, dirfd -5",
                           [&](BrokerClient& c) { return E(c.Stat("f", -5)); }, EBADF, kNoDecision},
                          {"rename, relative new name, dirfd -2",
                           [&](BrokerClient& c) { return E(c.Rename(file, "g", 0, AT_FDCWD, -2)); },
                           EBADF, kNoDecision},
                          {"control: an absolute path ignores its dirfd",
                           [&](BrokerClient& c) { return E(c.Stat(file, -5)); }, 0, kGranted},
                      });
}

TEST_P(ErrnoTableTest, Row_C3) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  constexpr int kNotOpen = 1000;
  Launcher launcher = Make(FilePolicy::Builder().AllowReadFile(file));
  RunProbes(launcher,
            {
                {"a directory descriptor that is not open",
                 [&](BrokerClient& c) { return E(c.Stat("f", kNotOpen)); }, EBADF, kNoDecision},
                {"RoundTrip keeps the channel",
                 [&](BrokerClient&) {
                   proto::Request request;
                   request.op = proto::Op::kStat;
                   request.path = "f";
                   request.fd_paths = proto::kFdForPath;
                   const int dirfds[1] = {kNotOpen};
                   sandboxee::RoundTripReply reply;
                   const int result = sandboxee::RoundTrip(kFirstChannel, request, dirfds, &reply);
                   return reply.channel_failed ? -1 : -result;
                 },
                 EBADF, kNoDecision},
                {"control: the channel still serves",
                 [&](BrokerClient& c) { return E(c.Stat(file)); }, 0, kGranted},
            });
}

TEST_P(ErrnoTableTest, Row_C4) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  Launcher launcher = Make(FilePolicy::Builder().AllowFile(file, kRead | kWrite));
  RunProbes(launcher, {{"negative length", [&](BrokerClient& c) { return E(c.Truncate(file, -1)); },
                        EINVAL, kNoDecision}});
}

INSTANTIATE_TEST_SUITE_P(Channels, ErrnoTableTest, testing::BothChannelTypes(),
                         testing::ChannelTypeName);

// ---------------------------------------------------------------------------------------------
// The table and the tests cannot drift apart.

// The ids in the first column of §8.2's table, in order.
std::vector<std::string> TableRowIds(const std::string& document) {
  std::vector<std::string> ids;
  std::istringstream lines(document);
  std::string line;
  bool in_section = false;
  while (std::getline(lines, line)) {
    if (line.rfind("### ", 0) == 0 || line.rfind("## ", 0) == 0) {
      in_section = line.rfind("### 8.2 ", 0) == 0;
      continue;
    }
    if (!in_section || line.rfind("| ", 0) != 0) continue;
    const size_t end = line.find(" |", 2);
    if (end == std::string::npos) continue;
    const std::string cell = line.substr(2, end - 2);
    // An id is a capital letter and digits; the header ("#") and the separator are not.
    if (cell.size() >= 2 && cell[0] >= 'A' && cell[0] <= 'Z' &&
        std::all_of(cell.begin() + 1, cell.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      ids.push_back(cell);
    }
  }
  return ids;
}

TEST(ErrnoTableDocumentTest, TableAndTestsNameTheSameRows) {
  std::ifstream in("proto/PROTOCOL.md");
  ASSERT_TRUE(in.good()) << "proto/PROTOCOL.md is not in the runfiles";
  std::stringstream document;
  document << in.rdbuf();
  const std::vector<std::string> table = TableRowIds(document.str());
  ASSERT_GT(table.size(), 40u) << "the errno table (§8.2) was not found or not parsed";

  const std::set<std::string> documented(table.begin(), table.end());
  EXPECT_EQ(documented.size(), table.size()) << "an id appears twice in the table";
  const std::set<std::string> implemented(std::begin(kImplementedRows), std::end(kImplementedRows));
  EXPECT_EQ(implemented.size(), std::size(kImplementedRows)) << "an id appears twice in the list";
  for (const std::string& id : documented) {
    EXPECT_TRUE(implemented.count(id)) << "row " << id << " of PROTOCOL.md §8.2 has no test";
  }
  for (const std::string& id : implemented) {
    EXPECT_TRUE(documented.count(id)) << "Row_" << id << " names no row of PROTOCOL.md §8.2";
  }

  // Every listed id has a registered test Row_<id> (TEST_P names it "Row_<id>/<channel type>").
  std::set<std::string> registered;
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  for (int i = 0; i < unit.total_test_suite_count(); ++i) {
    const ::testing::TestSuite& suite = *unit.GetTestSuite(i);
    if (std::string(suite.name()).find("ErrnoTableTest") == std::string::npos) continue;
    for (int j = 0; j < suite.total_test_count(); ++j) {
      const std::string name = suite.GetTestInfo(j)->name();
      if (name.rfind("Row_", 0) == 0) registered.insert(name.substr(4, name.find('/') - 4));
    }
  }
  for (const std::string& id : implemented) {
    EXPECT_TRUE(registered.count(id)) << "Row_" << id << " is listed but no such test exists";
  }
  for (const std::string& id : registered) {
    EXPECT_TRUE(implemented.count(id)) << "Row_" << id << " exists but is not listed";
  }
}

}  // namespace
}  // namespace sbox
