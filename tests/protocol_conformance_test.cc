// Conformance check of proto/PROTOCOL.md: a client written from the document alone (no codec,
// no fd_transport, no round_trip), run against a real broker for both channel types. Section
// numbers (§) refer to PROTOCOL.md.
//
// The sandboxee may not use gtest (it is a forked child under seccomp), so it records each check
// as (line, ok, actual, expected) in shared memory and the parent turns them into failures.

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "broker/file_policy.h"
#include "broker/sandbox_result.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "proto/unique_fd.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

// ---------------------------------------------------------------------------------------------
// Constants, from §12 (deliberately not from proto/wire_format.h).

constexpr uint16_t kVersion = 1;
constexpr size_t kRequestHeaderSize = 32;
constexpr size_t kReplyHeaderSize = 16;
constexpr size_t kMaxPathLength = 4095;
constexpr size_t kMaxRequestSize = 8222;
constexpr size_t kMaxReplyPayload = 4096;
constexpr size_t kMaxReplySize = 4112;
constexpr size_t kStatPayloadSize = 128;

constexpr uint16_t kOpOpen = 1;
constexpr uint16_t kOpAccess = 2;
constexpr uint16_t kOpStat = 3;
constexpr uint16_t kOpNewChannel = 4;
constexpr uint16_t kOpGetcwd = 16;

constexpr uint32_t kOCreat = 0x40;
constexpr uint32_t kOWronly = 0x1;
constexpr uint32_t kONonblock = 0x800;
constexpr uint32_t kODsync = 0x1000;
constexpr uint32_t kOCloexec = 0x80000;
constexpr uint32_t kONofollow = 0x20000;
constexpr uint32_t kAtSymlinkNofollow = 0x100;
constexpr uint32_t kROk = 4, kWOk = 2;

// ---------------------------------------------------------------------------------------------
// Little-endian encoding (§ Conventions), byte by byte so host order never matters.

void PutU16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v);
  b[at + 1] = static_cast<uint8_t>(v >> 8);
}
void PutU32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void PutU64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
uint16_t GetU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t GetU32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Every header field of §2, settable to invalid values so the error rows can be provoked.
struct Request {
  uint16_t version = kVersion;
  uint16_t op = 0;
  uint32_t request_id = 0;
  uint32_t flags = 0;
  uint32_t mode = 0;
  uint64_t reserved64 = 0;
  std::optional<uint16_t> path_len;  // unset: the real length of `path`
  uint16_t path2_len = 0;
  uint32_t reserved32 = 0;
  std::string path;
};

// §2 layout table.
std::vector<uint8_t> Encode(const Request& r) {
  std::vector<uint8_t> b(kRequestHeaderSize + r.path.size());
  PutU16(b, 0, r.version);
  PutU16(b, 2, r.op);
  PutU32(b, 4, r.request_id);
  PutU32(b, 8, r.flags);
  PutU32(b, 12, r.mode);
  PutU64(b, 16, r.reserved64);
  PutU16(b, 24, r.path_len.value_or(static_cast<uint16_t>(r.path.size())));
  PutU16(b, 26, r.path2_len);
  PutU32(b, 28, r.reserved32);
  std::memcpy(b.data() + kRequestHeaderSize, r.path.data(), r.path.size());
  return b;
}

Request Make(uint16_t op, uint32_t id, std::string path = "", uint32_t flags = 0,
             uint32_t mode = 0) {
  Request r;
  r.op = op;
  r.request_id = id;
  r.path = std::move(path);
  r.flags = flags;
  r.mode = mode;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Transport (§1.2-§1.4): one sendmsg per request, no control data, MSG_NOSIGNAL.

// Returns 0 or -errno. `pass_fd` >= 0 attaches it in SCM_RIGHTS (only to provoke R2 / R0).
int SendBytes(int channel, const std::vector<uint8_t>& bytes, int pass_fd = -1,
              int extra_flags = 0) {
  iovec iov{const_cast<uint8_t*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (pass_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  ssize_t n;
  do {
    n = sendmsg(channel, &msg, MSG_NOSIGNAL | extra_flags);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  return static_cast<size_t>(n) == bytes.size() ? 0 : -EIO;
}

// §9: a hang-up is one zero-length message, MSG_NOSIGNAL | MSG_DONTWAIT; its failure is ignored
// by a client, but returned here so tests can look at it.
int HangUp(int channel, int pass_fd = -1) { return SendBytes(channel, {}, pass_fd, MSG_DONTWAIT); }

// One received message with everything a client must look at (§1.4, §10).
struct RawMessage {
  ssize_t rc = 0;  // recvmsg's return, or -errno
  std::vector<uint8_t> bytes;
  std::vector<UniqueFd> fds;  // owned at once (§10 step 2)
  int msg_flags = 0;
  bool foreign_control = false;  // a control message other than SOL_SOCKET/SCM_RIGHTS
  int rights_messages = 0;
  size_t rights_cmsg_len = 0;  // cmsg_len of the (last) SCM_RIGHTS message
};

RawMessage Receive(int channel) {
  RawMessage m;
  m.bytes.resize(kMaxReplySize);  // §10: at least 4112 bytes
  iovec iov{m.bytes.data(), m.bytes.size()};
  // Room for two descriptors tells "too many" from "control truncated" (§10).
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(channel, &msg, MSG_CMSG_CLOEXEC);  // §1.4: MUST
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    m.rc = -errno;
    m.bytes.clear();
    return m;
  }
  m.rc = n;
  m.bytes.resize(static_cast<size_t>(n));
  m.msg_flags = msg.msg_flags;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      ++m.rights_messages;
      m.rights_cmsg_len = c->cmsg_len;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        m.fds.emplace_back(fd);
      }
    } else {
      m.foreign_control = true;
    }
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Reply validation as §10 requires of a conforming client.

struct ReplyHeader {
  uint16_t version, op;
  uint32_t request_id;
  int32_t result;
  uint16_t fd_count, payload_len;
};

ReplyHeader ParseHeader(const std::vector<uint8_t>& b) {
  const uint8_t* p = b.data();
  return {GetU16(p),      GetU16(p + 2), GetU32(p + 4), static_cast<int32_t>(GetU32(p + 8)),
          GetU16(p + 12), GetU16(p + 14)};
}

struct Reply {
  int status = 0;  // the broker's result, or a local failure: -ECONNRESET, -EPIPE, -EPROTO
  bool channel_failed = false;
  UniqueFd fd;
  std::vector<uint8_t> payload;
};

Reply LocalFailure(int error) {
  Reply r;
  r.status = -error;
  r.channel_failed = true;
  return r;
}

Reply Validate(RawMessage m, uint16_t op, uint32_t request_id) {
  // §10 receiving step 1: 0 bytes or ECONNRESET is end of channel; other errors are local.
  if (m.rc == 0 || m.rc == -ECONNRESET) return LocalFailure(ECONNRESET);
  if (m.rc < 0) return LocalFailure(EPROTO);
  // Step 3; the descriptors in m.fds close on every early return (step 4).
  if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) return LocalFailure(EPROTO);
  if (m.foreign_control || m.fds.size() > 1) return LocalFailure(EPROTO);
  if (m.bytes.size() < kReplyHeaderSize) return LocalFailure(EPROTO);
  const ReplyHeader h = ParseHeader(m.bytes);
  if (h.version != kVersion) return LocalFailure(EPROTO);
  if (h.payload_len > kMaxReplyPayload || m.bytes.size() != kReplyHeaderSize + h.payload_len) {
    return LocalFailure(EPROTO);
  }
  if (h.fd_count > 1) return LocalFailure(EPROTO);
  if (h.op != op || h.request_id != request_id) return LocalFailure(EPROTO);
  if (h.result >= 0) {
    const bool wants_fd = op == kOpOpen || op == kOpNewChannel;
    const size_t wants_payload = op == kOpStat     ? kStatPayloadSize
                                 : op == kOpGetcwd ? static_cast<size_t>(h.result)
                                                   : 0;
    if (h.fd_count != (wants_fd ? 1 : 0) || m.fds.size() != (wants_fd ? 1u : 0u)) {
      return LocalFailure(EPROTO);
    }
    if (h.payload_len != wants_payload) return LocalFailure(EPROTO);
  } else if (h.fd_count != 0 || !m.fds.empty() || h.payload_len != 0) {
    return LocalFailure(EPROTO);
  }
  Reply r;
  r.status = h.result;
  if (!m.fds.empty()) r.fd = std::move(m.fds[0]);
  r.payload.assign(m.bytes.begin() + kReplyHeaderSize, m.bytes.end());
  return r;
}

// §10 sending step 1 and 4, then receive and validate.
Reply RoundTrip(int channel, const Request& req) {
  if (req.path.size() > kMaxPathLength) return Reply{-ENAMETOOLONG, false, UniqueFd(), {}};
  if (SendBytes(channel, Encode(req)) != 0) return LocalFailure(EPIPE);
  return Validate(Receive(channel), req.op, req.request_id);
}

// §4.3 stat payload: sixteen little-endian 64-bit fields.
struct WireStat {
  uint64_t dev, ino, mode, nlink, uid, gid, rdev;
  int64_t size, blksize, blocks, atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
};

WireStat DecodeStat(const std::vector<uint8_t>& p) {
  auto u = [&](size_t i) { return GetU64(p.data() + 8 * i); };
  auto s = [&](size_t i) { return static_cast<int64_t>(GetU64(p.data() + 8 * i)); };
  return {u(0), u(1), u(2),  u(3),  u(4),  u(5),  u(6),  s(7),
          s(8), s(9), s(10), s(11), s(12), s(13), s(14), s(15)};
}

// ---------------------------------------------------------------------------------------------
// Carrying checks out of the sandboxee.

class ChildLog {
 public:
  static constexpr size_t kMaxChecks = 1000;
  ChildLog() : ints_(1 + 4 * kMaxChecks) {}

  // Records one check. Values are kept as ints for the message; `ok` compares full width.
  void Eq(int line, int64_t actual, int64_t expected) const {
    size_t n = static_cast<size_t>(ints_[0] == testing::SharedInts::kUnset ? 0 : ints_[0]);
    ints_[0] = static_cast<int>(n + 1);
    if (n >= kMaxChecks) return;
    ints_[1 + 4 * n] = line;
    ints_[2 + 4 * n] = actual == expected;
    ints_[3 + 4 * n] = static_cast<int>(actual);
    ints_[4 + 4 * n] = static_cast<int>(expected);
  }

  void ExpectAllPassed() const {
    ASSERT_NE(ints_[0], testing::SharedInts::kUnset) << "the sandboxee recorded no check";
    size_t n = static_cast<size_t>(ints_[0]);
    ASSERT_LE(n, kMaxChecks) << "too many checks for the log";
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(ints_[2 + 4 * i], 1)
          << "sandboxee check at protocol_conformance_test.cc:" << ints_[1 + 4 * i] << ": got "
          << ints_[3 + 4 * i] << ", want " << ints_[4 + 4 * i];
    }
  }

 private:
  testing::SharedInts ints_;
};

#define CHILD_EQ(log, actual, expected) \
  (log).Eq(__LINE__, static_cast<int64_t>(actual), static_cast<int64_t>(expected))

// Every error reply has this shape (§3, §8.3): 16 bytes, version 1, fd_count 0, payload_len 0,
// no descriptor, and the echoed op / request_id.
void CheckErrorReply(const ChildLog& log, int line, const RawMessage& m, int error, uint16_t op,
                     uint32_t id) {
  log.Eq(line, m.rc, static_cast<int64_t>(kReplyHeaderSize));
  if (m.rc != static_cast<ssize_t>(kReplyHeaderSize)) return;
  const ReplyHeader h = ParseHeader(m.bytes);
  log.Eq(line, h.version, kVersion);
  log.Eq(line, h.op, op);
  log.Eq(line, h.request_id, id);
  log.Eq(line, h.result, -error);
  log.Eq(line, h.fd_count, 0);
  log.Eq(line, h.payload_len, 0);
  log.Eq(line, m.fds.size(), 0);
  log.Eq(line, m.msg_flags & (MSG_TRUNC | MSG_CTRUNC), 0);
}

// Sends raw bytes and checks the error reply.
void ExpectError(const ChildLog& log, int line, int channel, const std::vector<uint8_t>& bytes,
                 int error, uint16_t op, uint32_t id) {
  log.Eq(line, SendBytes(channel, bytes), 0);
  CheckErrorReply(log, line, Receive(channel), error, op, id);
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

void SleepMs(int ms) {
  timespec ts{0, ms * 1000000L};
  nanosleep(&ts, nullptr);
}

// Asks for a new channel until the broker has freed a place (§9: it notices a hang-up
// asynchronously). Returns the last status.
Reply NewChannelWithin(int channel, uint32_t id, int attempts) {
  Reply r;
  for (int i = 0; i < attempts; ++i) {
    r = RoundTrip(channel, Make(kOpNewChannel, id));
    if (r.status != -EMFILE) break;
    SleepMs(5);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------

class ProtocolConformanceTest : public ::testing::TestWithParam<ChannelType> {
 protected:
  Launcher MakeLauncher(const FilePolicy::Builder& files) {
    return testing::MakeLauncher(files, GetParam());
  }

  void RunChild(const Launcher& launcher, const ChildLog& log,
                const std::function<void(int channel)>& body) {
    absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
      body(channel.get());
      // §9: on SOCK_DGRAM a client MUST hang up descriptor 3 before closing it. The sandboxee is
      // about to exit, which needs no hang-up, but doing it exercises the rule.
      HangUp(channel.get());
      return 0;
    });
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_TRUE(result->ok()) << result->ToString();
    log.ExpectAllPassed();
  }

  testing::ScratchDir scratch_;
};

// §1.1 descriptor 3; §4.1 open; §3 shape of a success reply; §1.4 close-on-exec.
TEST_P(ProtocolConformanceTest, OpenGrantedFileReadsItsContent) {
  const std::string content = "conformance content\n";
  const std::string file = scratch_.WriteFile("granted.txt", content);
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadFile(file));
  ChildLog log;
  RunChild(launcher, log, [&](int channel) {
    CHILD_EQ(log, channel, 3);
    // §1.1: stdio and descriptor 3 are the only open descriptors.
    int others = 0;
    for (int fd = 4; fd < 1024; ++fd) others += fcntl(fd, F_GETFD) != -1;
    CHILD_EQ(log, others, 0);

    Request req = Make(kOpOpen, 0x01020304, file);
    log.Eq(__LINE__, SendBytes(channel, Encode(req)), 0);
    RawMessage m = Receive(channel);
    // Raw shape before validation: 16 bytes, fd_count 1, payload_len 0, one descriptor.
    CHILD_EQ(log, m.rc, 16);
    const ReplyHeader h = ParseHeader(m.bytes);
    CHILD_EQ(log, h.result, 0);
    CHILD_EQ(log, h.fd_count, 1);
    CHILD_EQ(log, h.payload_len, 0);
    CHILD_EQ(log, m.fds.size(), 1);
    Reply r = Validate(std::move(m), req.op, req.request_id);
    CHILD_EQ(log, r.status, 0);
    CHILD_EQ(log, r.fd.valid(), true);
    CHILD_EQ(log, ReadAll(r.fd.get()) == content, true);
    CHILD_EQ(log, fcntl(r.fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);  // MSG_CMSG_CLOEXEC
    const int fl = fcntl(r.fd.get(), F_GETFL);
    CHILD_EQ(log, fl & O_ACCMODE, O_RDONLY);
    CHILD_EQ(log, fl & O_NONBLOCK, 0);  // §4.1: cleared unless asked for

    // O_NONBLOCK asked for is kept; request_id 0 is as good as any.
    r = RoundTrip(channel, Make(kOpOpen, 0, file, kONonblock));
    CHILD_EQ(log, r.status, 0);
    CHILD_EQ(log, fcntl(r.fd.get(), F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    // A large id round-trips unchanged (u32, not i32).
    r = RoundTrip(channel, Make(kOpOpen, 0xFFFFFFFEu, file));
    CHILD_EQ(log, r.status, 0);
  });
}

// §6 policy denial, §4.2 access, §8.2 rows P1, P2, A1, A2, W1, W2, K3.
TEST_P(ProtocolConformanceTest, DenialsAndAccess) {
  const std::string file = scratch_.WriteFile("granted.txt", "x");
  const std::string other = scratch_.WriteFile("other.txt", "secret");
  const std::string tree = scratch_.MakeDir("tree");
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadFile(file).AllowReadTree(tree));
  ChildLog log;
  RunChild(launcher, log, [&](int channel) {
    // Not granted: ENOENT, as if absent; no descriptor, no payload (§3).
    log.Eq(__LINE__, SendBytes(channel, Encode(Make(kOpOpen, 11, other))), 0);
    CheckErrorReply(log, __LINE__, Receive(channel), ENOENT, kOpOpen, 11);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpAccess, 12, other)).status, -ENOENT);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpStat, 13, other)).status, -ENOENT);

    // access: F_OK and R_OK pass on a read grant, W_OK is refused whatever the file's mode.
    CHILD_EQ(log, RoundTrip(channel, Make(kOpAccess, 14, file, 0)).status, 0);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpAccess, 15, file, kROk)).status, 0);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpAccess, 16, file, kWOk)).status, -EACCES);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpAccess, 17, file, 8)).status, -EINVAL);  // A2
    CHILD_EQ(log, RoundTrip(channel, Make(kOpAccess, 18, tree, kROk)).status, 0);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpAccess, 19, tree + "/missing")).status, -ENOENT);

    // W1: writing through a read-only grant; A1: bad flags; P2 comes before A1.
    CHILD_EQ(log, RoundTrip(channel, Make(kOpOpen, 20, file, kOWronly)).status, -EACCES);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpOpen, 21, file, kODsync)).status, -EINVAL);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpOpen, 22, file, 3)).status, -EINVAL);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpOpen, 23, other, kODsync)).status, -ENOENT);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpOpen, 24, file, kOCreat, 0600)).status, -EACCES);

    // A relative path is not malformed: it resolves against the working directory, where no
    // rule covers it.
    CHILD_EQ(log, RoundTrip(channel, Make(kOpStat, 25, "relative")).status, -ENOENT);
    // Paths need not be normalized: ".", "..", "//" and a trailing "/" are resolved.
    CHILD_EQ(log, RoundTrip(channel, Make(kOpStat, 25, tree + "/./x")).status, -ENOENT);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpStat, 25, tree + "//x")).status, -ENOENT);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpStat, 25, tree + "/../x")).status, -ENOENT);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpStat, 25, tree + "/")).status, 0);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpStat, 25, tree + "/./")).status, 0);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpStat, 25, tree + "/../granted.txt")).status, 0);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpStat, 25, file + "/")).status, -ENOTDIR);
    // P1: empty, or with a NUL.
    for (const std::string& bad : {std::string(""), tree + std::string("/a\0b", 4)}) {
      CHILD_EQ(log, RoundTrip(channel, Make(kOpStat, 25, bad)).status, -EINVAL);
    }
    // The channel survived every refusal (§8: a refused request leaves it open).
    CHILD_EQ(log, RoundTrip(channel, Make(kOpAccess, 26, file)).status, 0);
  });
}

// §4.3 stat payload against the parent's own stat(2); §7 a file grant naming a symlink follows it,
// and its target is judged as the path it names.
TEST_P(ProtocolConformanceTest, StatPayloadMatchesParent) {
  const std::string file = scratch_.WriteFile("stat.txt", std::string(12345, 'z'));
  const std::string link = scratch_.Symlink("link", file);
  struct stat want {};
  ASSERT_EQ(stat(file.c_str(), &want), 0);
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadFile(file).AllowReadFile(link));
  ChildLog log;
  // Decoded fields are carried out raw, as 32-bit halves, and compared here in the parent.
  testing::SharedInts fields(2 * 16);
  RunChild(launcher, log, [&](int channel) {
    Request req = Make(kOpStat, 31, file);
    log.Eq(__LINE__, SendBytes(channel, Encode(req)), 0);
    RawMessage m = Receive(channel);
    CHILD_EQ(log, m.rc, 16 + 128);
    Reply r = Validate(std::move(m), req.op, req.request_id);
    CHILD_EQ(log, r.status, 0);
    CHILD_EQ(log, r.payload.size(), kStatPayloadSize);
    if (r.payload.size() == kStatPayloadSize) {
      for (size_t i = 0; i < 16; ++i) {
        const uint64_t v = GetU64(r.payload.data() + 8 * i);
        fields[2 * i] = static_cast<int>(static_cast<uint32_t>(v));
        fields[2 * i + 1] = static_cast<int>(static_cast<uint32_t>(v >> 32));
      }
      const WireStat s = DecodeStat(r.payload);
      CHILD_EQ(log, s.atime_ns >= 0 && s.atime_ns <= 999999999, true);
      CHILD_EQ(log, s.mtime_ns >= 0 && s.mtime_ns <= 999999999, true);
    }
    CHILD_EQ(log, RoundTrip(channel, Make(kOpStat, 32, file, 0x200)).status, -EINVAL);  // A3

    // The granted path is a symlink to a granted file: followed; lstat describes the link itself.
    r = RoundTrip(channel, Make(kOpStat, 33, link));
    CHILD_EQ(log, r.status, 0);
    if (r.status == 0) CHILD_EQ(log, DecodeStat(r.payload).size, 12345);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpOpen, 34, link)).status, 0);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpOpen, 34, link, kONofollow)).status, -ELOOP);
    r = RoundTrip(channel, Make(kOpStat, 35, link, kAtSymlinkNofollow));
    CHILD_EQ(log, r.status, 0);
    if (r.status == 0) CHILD_EQ(log, S_ISLNK(DecodeStat(r.payload).mode), true);
  });
  auto field = [&](size_t i) {
    return static_cast<uint64_t>(static_cast<uint32_t>(fields[2 * i])) |
           static_cast<uint64_t>(static_cast<uint32_t>(fields[2 * i + 1])) << 32;
  };
  EXPECT_EQ(field(0), static_cast<uint64_t>(want.st_dev));
  EXPECT_EQ(field(1), static_cast<uint64_t>(want.st_ino));
  EXPECT_EQ(field(2), static_cast<uint64_t>(want.st_mode));
  EXPECT_EQ(field(3), static_cast<uint64_t>(want.st_nlink));
  EXPECT_EQ(field(4), static_cast<uint64_t>(want.st_uid));
  EXPECT_EQ(field(5), static_cast<uint64_t>(want.st_gid));
  EXPECT_EQ(static_cast<int64_t>(field(7)), static_cast<int64_t>(want.st_size));
  EXPECT_EQ(static_cast<int64_t>(field(8)), static_cast<int64_t>(want.st_blksize));
  EXPECT_EQ(static_cast<int64_t>(field(9)), static_cast<int64_t>(want.st_blocks));
  EXPECT_EQ(static_cast<int64_t>(field(12)), static_cast<int64_t>(want.st_mtim.tv_sec));
  EXPECT_EQ(static_cast<int64_t>(field(13)), static_cast<int64_t>(want.st_mtim.tv_nsec));
}

// §4.16 getcwd: the bare header; the reply's payload is the working directory, its length the
// result; D7 for a field the op does not use.
TEST_P(ProtocolConformanceTest, GetcwdAnswersTheWorkingDirectory) {
  const std::string directory = scratch_.path();
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadTree(directory));
  launcher.SetWorkingDirectory(directory);
  ChildLog log;
  testing::SharedInts same(1);
  RunChild(launcher, log, [&](int channel) {
    Request req = Make(kOpGetcwd, 61);
    log.Eq(__LINE__, SendBytes(channel, Encode(req)), 0);
    RawMessage m = Receive(channel);
    CHILD_EQ(log, m.rc, static_cast<int64_t>(kReplyHeaderSize + directory.size()));
    Reply r = Validate(std::move(m), req.op, req.request_id);
    CHILD_EQ(log, r.status, static_cast<int64_t>(directory.size()));
    CHILD_EQ(log, r.fd.valid(), false);
    same[0] = std::string(r.payload.begin(), r.payload.end()) == directory;
    // D7: getcwd uses no field.
    ExpectError(log, __LINE__, channel, Encode(Make(kOpGetcwd, 62, "", 1)), EBADMSG, kOpGetcwd, 62);
    ExpectError(log, __LINE__, channel, Encode(Make(kOpGetcwd, 63, "/")), EBADMSG, kOpGetcwd, 63);
  });
  EXPECT_EQ(same[0], 1);
}

// §4.1 O_CREAT through a read-write file grant: mode & 0600, less the umask.
TEST_P(ProtocolConformanceTest, CreateThroughReadWriteGrant) {
  const std::string file = scratch_.path() + "/created.txt";
  const mode_t mask = umask(0);
  umask(mask);
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadWriteFile(file));
  ChildLog log;
  RunChild(launcher, log, [&](int channel) {
    // The mode's other bits are dropped without an error.
    Reply r = RoundTrip(channel, Make(kOpOpen, 41, file, kOCreat | kOWronly, 07777));
    CHILD_EQ(log, r.status, 0);
    CHILD_EQ(log, fcntl(r.fd.get(), F_GETFL) & O_ACCMODE, O_WRONLY);
    CHILD_EQ(log, write(r.fd.get(), "abc", 3), 3);
    CHILD_EQ(log, RoundTrip(channel, Make(kOpAccess, 42, file, kWOk)).status, 0);
  });
  EXPECT_EQ(testing::ReadFileOrDie(file), "abc");
  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600 & ~mask);
}

// §4.4 new-channel; §9 hang-up and what a client sees afterwards; N3 with a small limit.
TEST_P(ProtocolConformanceTest, NewChannelAndHangUp) {
  const std::string content = "via second channel";
  const std::string file = scratch_.WriteFile("f.txt", content);
  // §1.1 suggests getsockopt(SO_TYPE) to learn the channel type, but BrokeredParser() does not
  // allow getsockopt (a violation), so this test adds it to the policy.
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().AllowReadFile(file).Build();
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  absl::StatusOr<SyscallPolicy> syscalls =
      SyscallPolicy::BrokeredParser().Allow("getsockopt").Build();
  ASSERT_TRUE(syscalls.ok()) << syscalls.status().ToString();
  Launcher launcher(*std::move(files), *std::move(syscalls));
  launcher.SetChannelType(GetParam()).SetMaxChannels(2);  // descriptor 3 and one more
  const bool seqpacket = GetParam() == ChannelType::kSeqPacket;
  ChildLog log;
  RunChild(launcher, log, [&](int channel) {
    Request req = Make(kOpNewChannel, 51);
    log.Eq(__LINE__, SendBytes(channel, Encode(req)), 0);
    RawMessage m = Receive(channel);
    CHILD_EQ(log, m.rc, 16);
    CHILD_EQ(log, ParseHeader(m.bytes).fd_count, 1);
    CHILD_EQ(log, ParseHeader(m.bytes).payload_len, 0);
    Reply second = Validate(std::move(m), req.op, req.request_id);
    CHILD_EQ(log, second.status, 0);
    CHILD_EQ(log, fcntl(second.fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    // §1.1 / §4.4: same socket type as descriptor 3, which getsockopt(SO_TYPE) tells.
    int type = -1;
    socklen_t len = sizeof(type);
    CHILD_EQ(log, getsockopt(second.fd.get(), SOL_SOCKET, SO_TYPE, &type, &len), 0);
    CHILD_EQ(log, type, seqpacket ? SOCK_SEQPACKET : SOCK_DGRAM);

    // The second channel works on its own.
    Reply r = RoundTrip(second.fd.get(), Make(kOpOpen, 52, file));
    CHILD_EQ(log, r.status, 0);
    CHILD_EQ(log, ReadAll(r.fd.get()) == content, true);

    // N3: the limit of 2 is reached; the refusal echoes op 4 and the id.
    log.Eq(__LINE__, SendBytes(channel, Encode(Make(kOpNewChannel, 53))), 0);
    CheckErrorReply(log, __LINE__, Receive(channel), EMFILE, kOpNewChannel, 53);

    // Hang up the second channel: no reply; on SOCK_SEQPACKET the client then sees end of
    // channel (recvmsg 0); on SOCK_DGRAM nothing is ever seen (§9 table), so do not wait.
    CHILD_EQ(log, HangUp(second.fd.get()), 0);
    if (seqpacket) {
      RawMessage end = Receive(second.fd.get());
      CHILD_EQ(log, end.rc, 0);
      CHILD_EQ(log, Validate(std::move(end), kOpOpen, 0).status, -ECONNRESET);
    }
    // The place in the limit comes back, shortly after (§9: asynchronous).
    Reply third = NewChannelWithin(channel, 54, 400);
    CHILD_EQ(log, third.status, 0);
    // §9 table: sending on the channel the broker closed. (A conforming client MUST NOT use a
    // hung-up channel again; this only observes the documented errors.)
    if (seqpacket) {
      CHILD_EQ(log, SendBytes(second.fd.get(), Encode(Make(kOpAccess, 55, file))), -EPIPE);
    } else {
      CHILD_EQ(log, SendBytes(second.fd.get(), Encode(Make(kOpAccess, 55, file))), -ECONNREFUSED);
      CHILD_EQ(log, SendBytes(second.fd.get(), Encode(Make(kOpAccess, 56, file))), -ENOTCONN);
    }
    second.fd.reset();

    // R0: a zero-length message carrying a descriptor is still a hang-up, never an error.
    CHILD_EQ(log, HangUp(third.fd.get(), /*pass_fd=*/channel), 0);
    if (seqpacket) CHILD_EQ(log, Receive(third.fd.get()).rc, 0);
    third.fd.reset();
    Reply fourth = NewChannelWithin(channel, 57, 400);
    CHILD_EQ(log, fourth.status, 0);
    CHILD_EQ(log, RoundTrip(fourth.fd.get(), Make(kOpAccess, 58, file)).status, 0);
    CHILD_EQ(log, HangUp(fourth.fd.get()), 0);
    fourth.fd.reset();

    // §9: on SOCK_SEQPACKET closing alone (no hang-up) also gives the place back.
    if (seqpacket) {
      Reply fifth = NewChannelWithin(channel, 60, 400);
      CHILD_EQ(log, fifth.status, 0);
      fifth.fd.reset();
      Reply sixth = NewChannelWithin(channel, 61, 400);
      CHILD_EQ(log, sixth.status, 0);
      CHILD_EQ(log, HangUp(sixth.fd.get()), 0);
    }

    // Descriptor 3 is unaffected by all of this (§4.4: channels are independent).
    CHILD_EQ(log, RoundTrip(channel, Make(kOpAccess, 59, file)).status, 0);
  });
}

// §1.5: a client that sends ahead without reading replies loses the channel; the broker closes
// it rather than block, and the place in the limit comes back.
TEST_P(ProtocolConformanceTest, SendingAheadLosesTheChannel) {
  const std::string file = scratch_.WriteFile("f.txt", "x");
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadFile(file));
  launcher.SetMaxChannels(2);
  const bool seqpacket = GetParam() == ChannelType::kSeqPacket;
  ChildLog log;
  RunChild(launcher, log, [&](int channel) {
    Reply second = RoundTrip(channel, Make(kOpNewChannel, 71));
    CHILD_EQ(log, second.status, 0);
    const std::vector<uint8_t> request = Encode(Make(kOpAccess, 72, file));
    int sent = 0, last = 0;
    // Non-blocking sends, so a broker that did wait could not hang the test; bounded to ~5 s.
    for (int waits = 0; waits < 5000;) {
      last = SendBytes(second.fd.get(), request, -1, MSG_DONTWAIT);
      if (last == 0) {
        ++sent;
      } else if (last == -EAGAIN) {
        ++waits;
        SleepMs(1);
      } else {
        break;
      }
    }
    if (seqpacket) {
      // PROTOCOL.md §9's table lists only EPIPE for sendmsg. Because the broker closed with our
      // requests unread, the kernel also reports a pending ECONNRESET once, before or after
      // EPIPE depending on timing; §10 treats every send error alike, so accept both here.
      const int next = SendBytes(second.fd.get(), request, -1, MSG_DONTWAIT);
      CHILD_EQ(log, last == -EPIPE || last == -ECONNRESET, true);
      CHILD_EQ(log, next == -EPIPE || next == -ECONNRESET, true);
    } else {
      CHILD_EQ(log, last, -ECONNREFUSED);
      CHILD_EQ(log, SendBytes(second.fd.get(), request, -1, MSG_DONTWAIT), -ENOTCONN);
    }
    CHILD_EQ(log, sent > 1, true);
    if (seqpacket) {
      // The replies the broker did send are still there, then end of channel (or a reset).
      int replies = 0;
      RawMessage m;
      while ((m = Receive(second.fd.get())).rc > 0) ++replies;
      CHILD_EQ(log, m.rc == 0 || m.rc == -ECONNRESET, true);
      CHILD_EQ(log, replies > 0 && replies < sent, true);
    }
    second.fd.reset();
    Reply third = NewChannelWithin(channel, 73, 400);
    CHILD_EQ(log, third.status, 0);
    CHILD_EQ(log, HangUp(third.fd.get()), 0);
  });
}

// §11, byte for byte: the request as printed, and both replies as printed.
TEST_P(ProtocolConformanceTest, WorkedExample) {
  const std::vector<uint8_t> request = {
      0x01, 0x00, 0x01, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x2f, 0x65, 0x74, 0x63, 0x2f, 0x68, 0x6f, 0x73, 0x74, 0x6e, 0x61, 0x6d, 0x65};
  const std::vector<uint8_t> granted_reply = {0x01, 0x00, 0x01, 0x00, 0x07, 0x00, 0x00, 0x00,
                                              0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
  // -ENOENT (-2): no grant covers the path, which is as if absent.
  const std::vector<uint8_t> denied_reply = {0x01, 0x00, 0x01, 0x00, 0x07, 0x00, 0x00, 0x00,
                                             0xfe, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
  // Our encoder agrees with the document's bytes.
  ASSERT_EQ(request.size(), 45u);
  EXPECT_EQ(Encode(Make(kOpOpen, 7, "/etc/hostname", kOCloexec)), request);

  const std::string hostname = "/etc/hostname";
  ASSERT_EQ(access(hostname.c_str(), R_OK), 0)
      << "the worked example opens /etc/hostname, which every Debian system has";
  const std::string content = testing::ReadFileOrDie(hostname);

  {  // Granted.
    Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadFile(hostname));
    ChildLog log;
    RunChild(launcher, log, [&](int channel) {
      CHILD_EQ(log, SendBytes(channel, request), 0);
      RawMessage m = Receive(channel);
      CHILD_EQ(log, m.bytes == granted_reply, true);
      CHILD_EQ(log, m.rights_messages, 1);
      CHILD_EQ(log, m.rights_cmsg_len, CMSG_LEN(sizeof(int)));
      CHILD_EQ(log, m.foreign_control, false);
      CHILD_EQ(log, m.fds.size(), 1);
      Reply r = Validate(std::move(m), kOpOpen, 7);
      CHILD_EQ(log, r.status, 0);
      CHILD_EQ(log, ReadAll(r.fd.get()) == content, true);
    });
  }
  {  // No grant covers the path.
    const std::string file = scratch_.WriteFile("unrelated.txt", "x");
    Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadFile(file));
    ChildLog log;
    RunChild(launcher, log, [&](int channel) {
      CHILD_EQ(log, SendBytes(channel, request), 0);
      RawMessage m = Receive(channel);
      CHILD_EQ(log, m.bytes == denied_reply, true);
      CHILD_EQ(log, m.rights_messages, 0);
      CHILD_EQ(log, Validate(std::move(m), kOpOpen, 7).status, -ENOENT);
    });
  }
}

// §8.2 rows R1, R2, D1-D7 and §8.3's echo rules.
TEST_P(ProtocolConformanceTest, MalformedRequests) {
  const std::string file = scratch_.WriteFile("granted.txt", "x");
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadFile(file));
  ChildLog log;
  RunChild(launcher, log, [&](int channel) {
    auto expect = [&](int line, const Request& r, int error, uint16_t op, uint32_t id) {
      ExpectError(log, line, channel, Encode(r), error, op, id);
    };

    // D1: bad version, full header, short message, and a message too short to echo anything.
    Request r = Make(kOpAccess, 0x11223344, file);
    r.version = 2;
    expect(__LINE__, r, EPROTONOSUPPORT, kOpAccess, 0x11223344);
    r.version = 0;
    expect(__LINE__, r, EPROTONOSUPPORT, kOpAccess, 0x11223344);
    std::vector<uint8_t> bytes = Encode(r);
    bytes[0] = 2;
    bytes.resize(8);
    ExpectError(log, __LINE__, channel, bytes, EPROTONOSUPPORT, kOpAccess, 0x11223344);
    bytes.resize(4);
    ExpectError(log, __LINE__, channel, bytes, EPROTONOSUPPORT, 0, 0);

    // D2: shorter than the header; a 1-byte message cannot even show its version.
    ExpectError(log, __LINE__, channel, {0x01}, EBADMSG, 0, 0);
    bytes = Encode(Make(kOpStat, 0x55, file));
    bytes.resize(20);
    ExpectError(log, __LINE__, channel, bytes, EBADMSG, kOpStat, 0x55);

    // D3: unknown op, echoed as received; it wins over a non-zero reserved field.
    expect(__LINE__, Make(0, 0x60), ENOSYS, 0, 0x60);
    expect(__LINE__, Make(22, 0x61), ENOSYS, 22, 0x61);  // kLastOp is 21
    r = Make(0xFFFF, 0x62);
    r.reserved32 = 1;
    expect(__LINE__, r, ENOSYS, 0xFFFF, 0x62);

    // D4: reserved fields.
    r = Make(kOpAccess, 0x70, file);
    r.reserved64 = 1ull << 63;
    expect(__LINE__, r, EBADMSG, kOpAccess, 0x70);
    r = Make(kOpAccess, 0x71, file);
    r.path2_len = 1;
    expect(__LINE__, r, EBADMSG, kOpAccess, 0x71);
    r = Make(kOpAccess, 0x72, file);
    r.reserved32 = 0x80000000u;
    expect(__LINE__, r, EBADMSG, kOpAccess, 0x72);

    // D5: size and path_len disagree, either way.
    r = Make(kOpAccess, 0x80, file);
    r.path_len = static_cast<uint16_t>(file.size() + 1);
    expect(__LINE__, r, EBADMSG, kOpAccess, 0x80);
    r.path_len = static_cast<uint16_t>(file.size() - 1);
    expect(__LINE__, r, EBADMSG, kOpAccess, 0x80);

    // D6 before D7: op 4 with a 4096-byte path; and the largest message received whole.
    expect(__LINE__, Make(kOpNewChannel, 0x90, std::string(4096, 'a')), ENAMETOOLONG, kOpNewChannel,
           0x90);
    expect(__LINE__, Make(kOpOpen, 0x91, "/" + std::string(kMaxRequestSize - 33, 'a')),
           ENAMETOOLONG, kOpOpen, 0x91);

    // D7: unused fields non-zero; before the policy (the path is not granted).
    expect(__LINE__, Make(kOpOpen, 0xA0, "/not/granted", 0, 0644), EBADMSG, kOpOpen, 0xA0);
    expect(__LINE__, Make(kOpAccess, 0xA1, file, 0, 1), EBADMSG, kOpAccess, 0xA1);
    expect(__LINE__, Make(kOpStat, 0xA2, file, 0, 1), EBADMSG, kOpStat, 0xA2);
    expect(__LINE__, Make(kOpNewChannel, 0xA3, "", 1), EBADMSG, kOpNewChannel, 0xA3);
    expect(__LINE__, Make(kOpNewChannel, 0xA4, "", 0, 1), EBADMSG, kOpNewChannel, 0xA4);
    expect(__LINE__, Make(kOpNewChannel, 0xA5, "/"), EBADMSG, kOpNewChannel, 0xA5);

    // R1: one byte over the buffer, and far over; op and id are always echoed.
    bytes = Encode(Make(kOpStat, 0xB0, file));
    bytes.resize(kMaxRequestSize + 1, 'a');
    ExpectError(log, __LINE__, channel, bytes, EMSGSIZE, kOpStat, 0xB0);
    bytes.resize(20000, 'a');
    ExpectError(log, __LINE__, channel, bytes, EMSGSIZE, kOpStat, 0xB0);

    // R2: a descriptor attached to an otherwise valid request.
    log.Eq(__LINE__, SendBytes(channel, Encode(Make(kOpAccess, 0xC0, file)), /*pass_fd=*/0), 0);
    CheckErrorReply(log, __LINE__, Receive(channel), EBADMSG, kOpAccess, 0xC0);
    // R2 before D2: a 1-byte message with a descriptor.
    log.Eq(__LINE__, SendBytes(channel, {0x01}, /*pass_fd=*/0), 0);
    CheckErrorReply(log, __LINE__, Receive(channel), EBADMSG, 0, 0);

    // None of this closed the channel.
    CHILD_EQ(log, RoundTrip(channel, Make(kOpAccess, 0xD0, file)).status, 0);
  });
}

INSTANTIATE_TEST_SUITE_P(BothChannelTypes, ProtocolConformanceTest,
                         ::testing::Values(ChannelType::kSeqPacket, ChannelType::kDatagram),
                         [](const ::testing::TestParamInfo<ChannelType>& info) {
                           return info.param == ChannelType::kSeqPacket ? "SeqPacket" : "Datagram";
                         });

}  // namespace
}  // namespace sbox
