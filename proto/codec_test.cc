// The codec against the byte layouts of proto/PROTOCOL.md. Messages are built byte by byte in
// little-endian order here, not with the codec, so that a layout mistake in the codec cannot
// hide behind the same mistake in the test.

#include "proto/codec.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace sbox::proto {
namespace {

void PutLittleEndian(std::vector<uint8_t>* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<uint8_t>(value >> (8 * i)));
}

// A request's fields as raw numbers, so a test can break exactly one of them.
struct RawRequest {
  uint16_t version = kProtocolVersion;
  uint16_t op = static_cast<uint16_t>(Op::kOpen);
  uint32_t id = 0x11223344;
  uint32_t flags = O_RDONLY;
  uint32_t mode = 0;
  uint64_t reserved64 = 0;  // `length`: used by open, truncate and chown, reserved otherwise
  int path_len = -1;        // -1: path.size()
  uint16_t path2_len = 0;   // declared, not derived: see path2
  uint32_t reserved32 = 0;  // `fd_paths`
  std::string path = "/etc/hostname";
  std::string path2;  // appended after path; path2_len is set by the test that uses it

  std::vector<uint8_t> Bytes() const {
    std::vector<uint8_t> out;
    PutLittleEndian(&out, version, 2);
    PutLittleEndian(&out, op, 2);
    PutLittleEndian(&out, id, 4);
    PutLittleEndian(&out, flags, 4);
    PutLittleEndian(&out, mode, 4);
    PutLittleEndian(&out, reserved64, 8);
    PutLittleEndian(&out, path_len < 0 ? path.size() : static_cast<size_t>(path_len), 2);
    PutLittleEndian(&out, path2_len, 2);
    PutLittleEndian(&out, reserved32, 4);
    out.insert(out.end(), path.begin(), path.end());
    out.insert(out.end(), path2.begin(), path2.end());
    return out;
  }
};

struct RawReply {
  uint16_t version = kProtocolVersion;
  uint16_t op = static_cast<uint16_t>(Op::kOpen);
  uint32_t id = 7;
  int32_t result = 0;
  uint16_t fd_count = 0;
  int payload_len = -1;  // -1: payload.size()
  std::string payload;

  std::vector<uint8_t> Bytes() const {
    std::vector<uint8_t> out;
    PutLittleEndian(&out, version, 2);
    PutLittleEndian(&out, op, 2);
    PutLittleEndian(&out, id, 4);
    PutLittleEndian(&out, static_cast<uint32_t>(result), 4);
    PutLittleEndian(&out, fd_count, 2);
    PutLittleEndian(&out, payload_len < 0 ? payload.size() : static_cast<size_t>(payload_len), 2);
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
  }
};

int Decode(const std::vector<uint8_t>& bytes, Request* out) {
  return DecodeRequest(bytes.data(), bytes.size(), 0, out);
}

int Decode(const std::vector<uint8_t>& bytes, Reply* out) {
  return DecodeReply(bytes.data(), bytes.size(), out);
}

// The worked example of PROTOCOL.md, byte for byte.
TEST(CodecTest, EncodeRequestMatchesTheWorkedExample) {
  Request request;
  request.op = Op::kOpen;
  request.id = 7;
  request.flags = O_RDONLY | O_CLOEXEC;
  request.path = "/etc/hostname";
  uint8_t buffer[kMaxRequestSize];
  const ptrdiff_t size = EncodeRequest(request, buffer, sizeof(buffer));
  const std::vector<uint8_t> expected = {
      0x01, 0x00, 0x01, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, '/',  'e',  't',  'c',  '/',  'h',  'o',  's',  't',  'n',  'a',  'm',  'e'};
  ASSERT_EQ(size, static_cast<ptrdiff_t>(expected.size()));
  EXPECT_EQ(std::vector<uint8_t>(buffer, buffer + size), expected);
}

TEST(CodecTest, EncodeReplyMatchesTheWorkedExample) {
  Reply reply;
  reply.op = Op::kOpen;
  reply.id = 7;
  reply.fd_count = 1;
  uint8_t buffer[kMaxReplySize];
  const ptrdiff_t size = EncodeReply(reply, buffer, sizeof(buffer));
  const std::vector<uint8_t> expected = {0x01, 0x00, 0x01, 0x00, 0x07, 0x00, 0x00, 0x00,
                                         0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
  ASSERT_EQ(size, static_cast<ptrdiff_t>(expected.size()));
  EXPECT_EQ(std::vector<uint8_t>(buffer, buffer + size), expected);

  reply.result = -EACCES;
  reply.fd_count = 0;
  ASSERT_EQ(EncodeReply(reply, buffer, sizeof(buffer)), 16);
  EXPECT_EQ(std::vector<uint8_t>(buffer + 8, buffer + 12),
            (std::vector<uint8_t>{0xf3, 0xff, 0xff, 0xff}));  // -13, two's complement
}

TEST(CodecTest, RequestRoundTripsForEveryOp) {
  struct Case {
    Op op;
    uint32_t flags;
    uint32_t mode;
    std::string path;
    uint64_t length = 0;
    std::string path2 = "";
  };
  const Case cases[] = {
      {Op::kOpen, O_RDWR | O_CREAT | O_TRUNC, 0644, "/tmp/out.txt"},
      {Op::kOpen, O_RDONLY, 0, "/tmp/out.txt", 0x04 /* RESOLVE_NO_SYMLINKS */},
      {Op::kAccess, R_OK | X_OK, 0, "/usr/bin/env"},
      {Op::kStat, AT_SYMLINK_NOFOLLOW, 0, "/"},
      {Op::kNewChannel, 0, 0, ""},
      {Op::kGetcwd, 0, 0, ""},
      {Op::kChmod, AT_SYMLINK_NOFOLLOW, 0640, "/tmp/out.txt"},
      {Op::kChown, AT_SYMLINK_NOFOLLOW, 0, "/tmp/out.txt", (uint64_t{1000} << 32) | 0xffffffff},
      {Op::kUtimens, 0, 0, "/tmp/out.txt", 0, std::string(kWireTimesSize, '\x7f')},
      {Op::kUtimens, AT_SYMLINK_NOFOLLOW, 0, "/tmp/out.txt"},
      {Op::kStatfs, 0, 0, "/tmp"},
      {Op::kMknod, 0, S_IFIFO | 0600, "/tmp/fifo"},
      {Op::kExec, AT_SYMLINK_NOFOLLOW, 0, "/usr/bin/env", 0, "env"},
  };
  for (const Case& c : cases) {
    Request request;
    request.op = c.op;
    request.id = 0xfedcba98;
    request.flags = c.flags;
    request.mode = c.mode;
    request.length = c.length;
    request.path = c.path;
    request.path2 = c.path2;
    uint8_t buffer[kMaxRequestSize];
    const ptrdiff_t size = EncodeRequest(request, buffer, sizeof(buffer));
    ASSERT_EQ(size, static_cast<ptrdiff_t>(kRequestHeaderSize + c.path.size() + c.path2.size()));

    Request decoded;
    ASSERT_EQ(DecodeRequest(buffer, static_cast<size_t>(size), 0, &decoded), 0)
        << "op " << static_cast<int>(c.op);
    EXPECT_EQ(decoded.op, c.op);
    EXPECT_EQ(decoded.id, 0xfedcba98u);
    EXPECT_EQ(decoded.flags, c.flags);
    EXPECT_EQ(decoded.mode, c.mode);
    EXPECT_EQ(decoded.length, c.length);
    EXPECT_EQ(decoded.path, c.path);
    EXPECT_EQ(decoded.path2, c.path2);
    // The decoded path is a view into the received bytes, not a copy.
    if (!c.path.empty()) {
      EXPECT_EQ(reinterpret_cast<const uint8_t*>(decoded.path.data()), buffer + kRequestHeaderSize);
    }
  }
}

TEST(CodecTest, DecodesAHandBuiltRequest) {
  RawRequest raw;
  raw.op = static_cast<uint16_t>(Op::kOpen);
  raw.flags = O_WRONLY | O_CREAT;
  raw.mode = 0xa5a5a5a5;
  Request decoded;
  ASSERT_EQ(Decode(raw.Bytes(), &decoded), 0);
  EXPECT_EQ(decoded.op, Op::kOpen);
  EXPECT_EQ(decoded.id, 0x11223344u);
  EXPECT_EQ(decoded.flags, static_cast<uint32_t>(O_WRONLY | O_CREAT));
  EXPECT_EQ(decoded.mode, 0xa5a5a5a5u);
  EXPECT_EQ(decoded.path, "/etc/hostname");
}

TEST(CodecTest, LongestPathRoundTripsAndOneMoreByteIsRefused) {
  uint8_t buffer[kMaxRequestSize];
  Request request;
  const std::string longest = "/" + std::string(kMaxPathLength - 1, 'a');
  request.path = longest;
  const ptrdiff_t size = EncodeRequest(request, buffer, sizeof(buffer));
  ASSERT_EQ(size, static_cast<ptrdiff_t>(kRequestHeaderSize + kMaxPathLength));
  Request decoded;
  ASSERT_EQ(DecodeRequest(buffer, static_cast<size_t>(size), 0, &decoded), 0);
  EXPECT_EQ(decoded.path, longest);

  const std::string too_long = longest + "a";
  request.path = too_long;
  EXPECT_EQ(EncodeRequest(request, buffer, sizeof(buffer)), -ENAMETOOLONG);
}

TEST(CodecTest, EncodeRequestRefusesASmallBuffer) {
  Request request;
  request.path = "/etc/hostname";
  uint8_t buffer[kRequestHeaderSize + 12];
  EXPECT_EQ(EncodeRequest(request, buffer, sizeof(buffer)), -EMSGSIZE);
}

// What an error reply can echo: op and id when the first 8 bytes arrived, 0 otherwise.
void ExpectEcho(const Request& decoded, uint16_t op, uint32_t id) {
  EXPECT_EQ(static_cast<uint16_t>(decoded.op), op);
  EXPECT_EQ(decoded.id, id);
}

TEST(CodecDecodeRequestTest, EmptyAndOneByteMessagesAreEBADMSG) {
  Request decoded;
  EXPECT_EQ(DecodeRequest(nullptr, 0, 0, &decoded), EBADMSG);
  ExpectEcho(decoded, 0, 0);
  // One byte cannot hold the version, whatever its value: the message is just short.
  for (uint8_t byte : {uint8_t{0x01}, uint8_t{0x02}, uint8_t{0xff}}) {
    EXPECT_EQ(DecodeRequest(&byte, 1, 0, &decoded), EBADMSG) << int{byte};
    ExpectEcho(decoded, 0, 0);
  }
}

TEST(CodecDecodeRequestTest, WrongVersionIsEPROTONOSUPPORTEvenWhenShort) {
  Request decoded;
  for (uint16_t version : {uint16_t{0}, uint16_t{2}, uint16_t{0x0100}, uint16_t{0xffff}}) {
    RawRequest raw;
    raw.version = version;
    const std::vector<uint8_t> bytes = raw.Bytes();
    EXPECT_EQ(Decode(bytes, &decoded), EPROTONOSUPPORT) << version;
    ExpectEcho(decoded, raw.op, raw.id);
    // Two bytes are enough to tell the version, but not the op and id.
    EXPECT_EQ(DecodeRequest(bytes.data(), 2, 0, &decoded), EPROTONOSUPPORT) << version;
    ExpectEcho(decoded, 0, 0);
  }
}

TEST(CodecDecodeRequestTest, ShorterThanTheHeaderIsEBADMSG) {
  const std::vector<uint8_t> bytes = RawRequest().Bytes();
  Request decoded;
  for (size_t size = 2; size < kRequestHeaderSize; ++size) {
    EXPECT_EQ(DecodeRequest(bytes.data(), size, 0, &decoded), EBADMSG) << size;
    if (size >= 8) {
      ExpectEcho(decoded, static_cast<uint16_t>(Op::kOpen), 0x11223344);
    } else {
      ExpectEcho(decoded, 0, 0);
    }
  }
}

TEST(CodecDecodeRequestTest, UnknownOpIsENOSYSAndEchoed) {
  for (uint16_t op : {uint16_t{0}, uint16_t{kLastOp + 1}, uint16_t{0x8001}, uint16_t{0xffff}}) {
    RawRequest raw;
    raw.op = op;
    Request decoded;
    EXPECT_EQ(Decode(raw.Bytes(), &decoded), ENOSYS) << op;
    ExpectEcho(decoded, op, raw.id);
  }
}

// What each op reads from a request, as proto/wire_format.h documents it. Written out here rather
// than taken from the codec, so that a mistake in the codec's table cannot hide behind itself.
struct OpUse {
  Op op;
  bool path;
  bool path2;
  bool flags;
  bool mode;  // kOpen: only with O_CREAT
  bool length;
  uint32_t fd_bits;        // the fd_paths bits the op allows
  bool descriptor_itself;  // an empty path with kFdForPath names the descriptor itself
};
constexpr OpUse kOpUses[] = {
    {Op::kOpen, true, false, true, true, true, kFdForPath, false},
    {Op::kAccess, true, false, true, false, false, kFdForPath, false},
    {Op::kStat, true, false, true, false, false, kFdForPath, true},
    {Op::kNewChannel, false, false, false, false, false, 0, false},
    {Op::kReadlink, true, false, false, false, false, kFdForPath, false},
    {Op::kMkdir, true, false, false, true, false, kFdForPath, false},
    {Op::kRmdir, true, false, false, false, false, kFdForPath, false},
    {Op::kUnlink, true, false, false, false, false, kFdForPath, false},
    {Op::kRename, true, true, true, false, false, kFdForPath | kFdForPath2, false},
    {Op::kLink, true, true, true, false, false, kFdForPath | kFdForPath2, false},
    {Op::kSymlink, true, true, false, false, false, kFdForPath, false},
    {Op::kChmod, true, false, true, true, false, kFdForPath, true},
    {Op::kTruncate, true, false, false, false, true, kFdForPath, false},
    {Op::kConnect, true, false, true, false, false, kFdForPath, false},
    {Op::kChdir, true, false, false, false, false, kFdForPath, false},
    {Op::kGetcwd, false, false, false, false, false, 0, false},
    {Op::kChown, true, false, true, false, true, kFdForPath, true},
    {Op::kUtimens, true, true, true, false, false, kFdForPath, true},
    {Op::kStatfs, true, false, false, false, false, kFdForPath, true},
    {Op::kMknod, true, false, false, true, false, kFdForPath, false},
    {Op::kExec, true, true, true, false, false, kFdForPath, true},
};

// A request for `use.op` that decodes: every field zero, the path absolute when the op has one.
RawRequest ValidRequest(const OpUse& use) {
  RawRequest raw;
  raw.op = static_cast<uint16_t>(use.op);
  raw.flags = 0;
  raw.path = use.path ? "/etc/hostname" : "";
  return raw;
}

// A path2 the op accepts: a Utimens request's path2 holds a WireTimes.
std::string ValidPath2(Op op) {
  return op == Op::kUtimens ? std::string(kWireTimesSize, '\0') : std::string("/etc/passwd");
}

void SetPath2(RawRequest* raw, std::string path2) {
  raw->path2 = std::move(path2);
  raw->path2_len = static_cast<uint16_t>(raw->path2.size());
}

TEST(CodecDecodeRequestTest, TheTableNamesEveryOpOnce) {
  ASSERT_EQ(std::size(kOpUses), size_t{kLastOp});
  for (uint16_t op = 1; op <= kLastOp; ++op) {
    EXPECT_EQ(static_cast<uint16_t>(kOpUses[op - 1].op), op);
  }
}

TEST(CodecDecodeRequestTest, EveryNonzeroReservedFieldIsEBADMSG) {
  for (const OpUse& use : kOpUses) {
    const int op = static_cast<int>(use.op);
    {
      Request decoded;
      EXPECT_EQ(Decode(ValidRequest(use).Bytes(), &decoded), 0) << "op " << op;
    }
    std::vector<std::pair<std::string, RawRequest>> broken;
    if (!use.path) {
      RawRequest raw = ValidRequest(use);
      raw.path = "/";
      broken.emplace_back("path", raw);
    }
    if (!use.path2) {
      RawRequest raw = ValidRequest(use);
      SetPath2(&raw, "/x");
      broken.emplace_back("path2", raw);
      RawRequest declared_only = ValidRequest(use);  // path2_len without the bytes
      declared_only.path2_len = 1;
      broken.emplace_back("path2_len", declared_only);
    }
    if (!use.flags) {
      for (uint32_t flags : {uint32_t{1}, uint32_t{0x80000000}}) {
        RawRequest raw = ValidRequest(use);
        raw.flags = flags;
        broken.emplace_back("flags", raw);
      }
    }
    if (!use.mode || use.op == Op::kOpen) {  // kOpen without O_CREAT: mode is unused
      for (uint32_t mode : {uint32_t{1}, uint32_t{0x80000000}}) {
        RawRequest raw = ValidRequest(use);
        raw.mode = mode;
        broken.emplace_back("mode", raw);
      }
    }
    if (!use.length) {
      for (uint64_t length : {uint64_t{1}, uint64_t{1} << 63}) {
        RawRequest raw = ValidRequest(use);
        raw.reserved64 = length;
        broken.emplace_back("length", raw);
      }
    }
    for (const auto& [field, raw] : broken) {
      Request decoded;
      EXPECT_EQ(Decode(raw.Bytes(), &decoded), EBADMSG) << "op " << op << " " << field;
      ExpectEcho(decoded, raw.op, raw.id);
      EXPECT_TRUE(decoded.path.empty()) << "op " << op << " " << field;
    }
    // An fd_paths bit the op does not allow, with a relative path and as many descriptors as bits
    // set, so that only the bit itself can be at fault.
    for (uint32_t bit : {kFdForPath, kFdForPath2, uint32_t{1} << 2, uint32_t{0x80000000}}) {
      if ((bit & use.fd_bits) != 0) continue;
      RawRequest raw = ValidRequest(use);
      if (use.path) raw.path = "etc/hostname";
      raw.reserved32 = bit;
      const std::vector<uint8_t> bytes = raw.Bytes();
      Request decoded;
      EXPECT_EQ(DecodeRequest(bytes.data(), bytes.size(), 1, &decoded), EBADMSG)
          << "op " << op << " fd_paths " << bit;
      ExpectEcho(decoded, raw.op, raw.id);
      EXPECT_TRUE(decoded.path.empty());
    }
  }
}

// The other side of the table: what a used field holds is the broker's to judge, not the decoder's.
TEST(CodecDecodeRequestTest, FieldsAnOpUsesDecodeWhateverTheyHold) {
  for (const OpUse& use : kOpUses) {
    const int op = static_cast<int>(use.op);
    std::vector<std::pair<std::string, RawRequest>> cases;
    if (use.path2) {
      RawRequest raw = ValidRequest(use);
      SetPath2(&raw, ValidPath2(use.op));
      cases.emplace_back("path2", raw);
    }
    if (use.flags) {
      RawRequest raw = ValidRequest(use);
      raw.flags = 0xffffffff;
      cases.emplace_back("flags", raw);
    }
    if (use.mode) {
      RawRequest raw = ValidRequest(use);
      raw.mode = 0xffffffff;
      if (use.op == Op::kOpen) raw.flags = O_CREAT;
      cases.emplace_back("mode", raw);
    }
    if (use.length) {
      // Open's length holds RESOLVE_* bits only; the others' any value.
      const std::vector<uint64_t> lengths =
          use.op == Op::kOpen ? std::vector<uint64_t>{1, kResolveFlagMask}
                              : std::vector<uint64_t>{1, uint64_t{1} << 63, ~uint64_t{0}};
      for (uint64_t length : lengths) {
        RawRequest raw = ValidRequest(use);
        raw.reserved64 = length;
        cases.emplace_back("length", raw);
      }
    }
    if (use.op == Op::kOpen) {
      // A bit beyond them is a field a later version may use: EBADMSG.
      for (uint64_t length : {kResolveFlagMask + 1, uint64_t{1} << 63}) {
        RawRequest raw = ValidRequest(use);
        raw.reserved64 = length;
        Request decoded;
        EXPECT_EQ(Decode(raw.Bytes(), &decoded), EBADMSG) << length;
      }
    }
    for (const auto& [field, raw] : cases) {
      // decoded's paths are views into the bytes: they outlive it.
      const auto bytes = raw.Bytes();
      Request decoded;
      EXPECT_EQ(Decode(bytes, &decoded), 0) << "op " << op << " " << field;
      EXPECT_EQ(decoded.flags, raw.flags);
      EXPECT_EQ(decoded.mode, raw.mode);
      EXPECT_EQ(decoded.length, raw.reserved64) << "op " << op << " " << field;
      EXPECT_EQ(decoded.path2, raw.path2);
    }
    // Every bit combination the op allows, each with its descriptor and a relative path.
    for (uint32_t bits = 1; bits <= (kFdForPath | kFdForPath2); ++bits) {
      if ((bits & ~use.fd_bits) != 0) continue;
      RawRequest raw = ValidRequest(use);
      raw.path = "etc/hostname";
      if (use.path2) SetPath2(&raw, use.op == Op::kUtimens ? ValidPath2(use.op) : "etc/passwd");
      raw.reserved32 = bits;
      const std::vector<uint8_t> bytes = raw.Bytes();
      Request decoded;
      EXPECT_EQ(DecodeRequest(bytes.data(), bytes.size(), __builtin_popcount(bits), &decoded), 0)
          << "op " << op << " fd_paths " << bits;
      EXPECT_EQ(decoded.fd_paths, bits);
    }
  }
}

// kStat, kChmod, kChown, kUtimens and kStatfs act on "the descriptor itself" when the path is empty
// and comes with a descriptor; for every other op a descriptor needs a (relative) path.
TEST(CodecDecodeRequestTest, AnEmptyPathWithADescriptorOnlyWhereTheOpActsOnIt) {
  for (const OpUse& use : kOpUses) {
    if ((use.fd_bits & kFdForPath) == 0) continue;
    RawRequest raw = ValidRequest(use);
    raw.path.clear();
    raw.reserved32 = kFdForPath;
    const std::vector<uint8_t> bytes = raw.Bytes();
    Request decoded;
    EXPECT_EQ(DecodeRequest(bytes.data(), bytes.size(), 1, &decoded),
              use.descriptor_itself ? 0 : EBADMSG)
        << "op " << static_cast<int>(use.op);
    // The descriptor must still come with the request.
    EXPECT_EQ(DecodeRequest(bytes.data(), bytes.size(), 0, &decoded), EBADMSG)
        << "op " << static_cast<int>(use.op);
  }
}

// A Utimens request's path2 is empty (both times "now") or exactly one WireTimes.
TEST(CodecDecodeRequestTest, UtimensPath2IsEmptyOrAWireTimes) {
  for (size_t size : {size_t{0}, kWireTimesSize}) {
    RawRequest raw;
    raw.op = static_cast<uint16_t>(Op::kUtimens);
    raw.flags = 0;
    SetPath2(&raw, std::string(size, '\x01'));
    Request decoded;
    EXPECT_EQ(Decode(raw.Bytes(), &decoded), 0) << size;
    EXPECT_EQ(decoded.path2.size(), size);
  }
  for (size_t size :
       {size_t{1}, kWireTimesSize - 1, kWireTimesSize + 1, 2 * kWireTimesSize, kMaxPathLength}) {
    RawRequest raw;
    raw.op = static_cast<uint16_t>(Op::kUtimens);
    raw.flags = 0;
    SetPath2(&raw, std::string(size, '\x01'));
    Request decoded;
    EXPECT_EQ(Decode(raw.Bytes(), &decoded), EBADMSG) << size;
    ExpectEcho(decoded, raw.op, raw.id);
  }
}

TEST(CodecDecodeRequestTest, PathLengthThatDisagreesWithTheSizeIsEBADMSG) {
  RawRequest longer;  // path_len claims more bytes than arrived
  longer.path_len = static_cast<int>(longer.path.size()) + 1;
  RawRequest shorter;  // bytes arrived beyond path_len
  shorter.path_len = static_cast<int>(shorter.path.size()) - 1;
  RawRequest none;
  none.path_len = 0;
  for (const RawRequest& raw : {longer, shorter, none}) {
    Request decoded;
    EXPECT_EQ(Decode(raw.Bytes(), &decoded), EBADMSG) << raw.path_len;
    ExpectEcho(decoded, raw.op, raw.id);
  }
}

TEST(CodecDecodeRequestTest, PathLongerThanTheMaximumIsENAMETOOLONG) {
  for (size_t length : {kMaxPathLength + 1, size_t{2 * kMaxPathLength}, size_t{0xffff}}) {
    RawRequest raw;
    raw.path = "/" + std::string(length - 1, 'x');
    Request decoded;
    EXPECT_EQ(Decode(raw.Bytes(), &decoded), ENAMETOOLONG) << length;
    ExpectEcho(decoded, raw.op, raw.id);
  }
}

TEST(CodecDecodeRequestTest, PathOnNewChannelIsEBADMSG) {
  RawRequest raw;
  raw.op = static_cast<uint16_t>(Op::kNewChannel);
  raw.path = "/";
  Request decoded;
  EXPECT_EQ(Decode(raw.Bytes(), &decoded), EBADMSG);
  ExpectEcho(decoded, raw.op, raw.id);

  raw.path.clear();
  EXPECT_EQ(Decode(raw.Bytes(), &decoded), 0);
}

TEST(CodecDecodeRequestTest, GetcwdIsTheBareHeader) {
  RawRequest raw;
  raw.op = static_cast<uint16_t>(Op::kGetcwd);
  raw.path.clear();
  Request decoded;
  EXPECT_EQ(Decode(raw.Bytes(), &decoded), 0);
  EXPECT_EQ(decoded.op, Op::kGetcwd);

  raw.path = "/";
  EXPECT_EQ(Decode(raw.Bytes(), &decoded), EBADMSG);
  ExpectEcho(decoded, raw.op, raw.id);
}

// PROTOCOL.md lists the checks in order; the first that fails decides the errno.
TEST(CodecDecodeRequestTest, ChecksApplyInTheDocumentedOrder) {
  Request decoded;
  RawRequest version_and_short;
  version_and_short.version = 9;
  EXPECT_EQ(DecodeRequest(version_and_short.Bytes().data(), 10, 0, &decoded), EPROTONOSUPPORT);

  RawRequest op_and_reserved;
  op_and_reserved.op = 42;
  op_and_reserved.reserved32 = 1;
  EXPECT_EQ(Decode(op_and_reserved.Bytes(), &decoded), ENOSYS);

  RawRequest mismatch_and_too_long;
  mismatch_and_too_long.path_len = 5000;
  EXPECT_EQ(Decode(mismatch_and_too_long.Bytes(), &decoded), EBADMSG);

  RawRequest new_channel_too_long;
  new_channel_too_long.op = static_cast<uint16_t>(Op::kNewChannel);
  new_channel_too_long.path = std::string(kMaxPathLength + 1, '/');
  EXPECT_EQ(Decode(new_channel_too_long.Bytes(), &decoded), ENAMETOOLONG);
}

// Fields an op does not use must be zero; what the used ones hold is the broker's to judge.
TEST(CodecDecodeRequestTest, FieldsAnOpDoesNotUseMustBeZero) {
  struct Case {
    Op op;
    uint32_t flags;
    uint32_t mode;
    int expected;
  };
  const Case cases[] = {
      {Op::kOpen, O_RDONLY, 0600, EBADMSG},      // mode without O_CREAT
      {Op::kOpen, O_RDONLY | O_CREAT, 0600, 0},  // mode with O_CREAT
      {Op::kOpen, 0xffffffff, 0xffffffff, 0},    // O_CREAT among the (bad) flags
      {Op::kAccess, R_OK, 1, EBADMSG},
      {Op::kAccess, 0xffffffff, 0, 0},
      {Op::kStat, AT_SYMLINK_NOFOLLOW, 1, EBADMSG},
      {Op::kNewChannel, 1, 0, EBADMSG},
      {Op::kNewChannel, 0, 1, EBADMSG},
      {Op::kNewChannel, 0, 0, 0},
      {Op::kGetcwd, 1, 0, EBADMSG},
      {Op::kGetcwd, 0, 1, EBADMSG},
      {Op::kGetcwd, 0, 0, 0},
  };
  for (const Case& c : cases) {
    RawRequest raw;
    raw.op = static_cast<uint16_t>(c.op);
    if (c.op == Op::kNewChannel || c.op == Op::kGetcwd) raw.path.clear();
    raw.flags = c.flags;
    raw.mode = c.mode;
    Request decoded;
    EXPECT_EQ(Decode(raw.Bytes(), &decoded), c.expected)
        << "op " << static_cast<int>(c.op) << " flags " << c.flags << " mode " << c.mode;
  }
}

TEST(CodecTest, ReplyRoundTripsWithPayload) {
  const std::string payload(kMaxReplyPayload, '\x5a');
  Reply reply;
  reply.op = Op::kStat;
  reply.id = 0xdeadbeef;
  reply.result = -ENOENT;
  reply.payload = payload;
  uint8_t buffer[kMaxReplySize];
  const ptrdiff_t size = EncodeReply(reply, buffer, sizeof(buffer));
  ASSERT_EQ(size, static_cast<ptrdiff_t>(kMaxReplySize));

  Reply decoded;
  ASSERT_EQ(DecodeReply(buffer, static_cast<size_t>(size), &decoded), 0);
  EXPECT_EQ(decoded.op, Op::kStat);
  EXPECT_EQ(decoded.id, 0xdeadbeefu);
  EXPECT_EQ(decoded.result, -ENOENT);
  EXPECT_EQ(decoded.fd_count, 0);
  EXPECT_EQ(decoded.payload, payload);
}

TEST(CodecTest, EncodeReplyRefusesAnOversizedPayloadOrASmallBuffer) {
  const std::string payload(kMaxReplyPayload + 1, 'x');
  Reply reply;
  reply.payload = payload;
  uint8_t buffer[kMaxReplySize + 1];
  EXPECT_EQ(EncodeReply(reply, buffer, sizeof(buffer)), -EMSGSIZE);

  reply.payload = std::string_view(payload).substr(0, 8);
  EXPECT_EQ(EncodeReply(reply, buffer, kReplyHeaderSize + 7), -EMSGSIZE);
}

TEST(CodecTest, DecodesAHandBuiltReply) {
  RawReply raw;
  raw.op = static_cast<uint16_t>(Op::kNewChannel);
  raw.id = 0x01020304;
  raw.result = -EMFILE;
  raw.fd_count = 1;
  raw.payload = "abc";
  Reply decoded;
  ASSERT_EQ(Decode(raw.Bytes(), &decoded), 0);
  EXPECT_EQ(decoded.op, Op::kNewChannel);
  EXPECT_EQ(decoded.id, 0x01020304u);
  EXPECT_EQ(decoded.result, -EMFILE);
  EXPECT_EQ(decoded.fd_count, 1);
  EXPECT_EQ(decoded.payload, "abc");
}

// The decoder checks only the reply's form; matching op, id, descriptors and payload size to the
// request is the client's job (see RoundTrip), so an unknown op decodes.
TEST(CodecTest, DecodeReplyAcceptsAnyOp) {
  RawReply raw;
  raw.op = 0xffff;
  raw.result = -ENOSYS;
  Reply decoded;
  ASSERT_EQ(Decode(raw.Bytes(), &decoded), 0);
  EXPECT_EQ(static_cast<uint16_t>(decoded.op), 0xffff);
}

TEST(CodecTest, DecodeReplyErrorsAreEPROTO) {
  Reply decoded;
  const std::vector<uint8_t> good = RawReply().Bytes();
  EXPECT_EQ(DecodeReply(good.data(), kReplyHeaderSize - 1, &decoded), EPROTO);
  EXPECT_EQ(DecodeReply(good.data(), 0, &decoded), EPROTO);

  RawReply version;
  version.version = 2;
  RawReply claims_more;
  claims_more.payload = "abcd";
  claims_more.payload_len = 5;
  RawReply claims_less;
  claims_less.payload = "abcd";
  claims_less.payload_len = 3;
  RawReply oversized;  // consistent with its size, but above the protocol's maximum
  oversized.payload = std::string(kMaxReplyPayload + 1, 'p');
  RawReply two_fds;
  two_fds.fd_count = 2;
  for (const RawReply& raw : {version, claims_more, claims_less, oversized, two_fds}) {
    EXPECT_EQ(Decode(raw.Bytes(), &decoded), EPROTO);
  }
}

TEST(CodecTest, IsKnownOpCoversExactlyOneToLastOp) {
  EXPECT_FALSE(IsKnownOp(0));
  for (uint16_t op = 1; op <= kLastOp; ++op) EXPECT_TRUE(IsKnownOp(op)) << op;
  EXPECT_EQ(kLastOp, 21);
  EXPECT_EQ(static_cast<uint16_t>(Op::kChown), 17);
  EXPECT_EQ(static_cast<uint16_t>(Op::kUtimens), 18);
  EXPECT_EQ(static_cast<uint16_t>(Op::kStatfs), 19);
  EXPECT_EQ(static_cast<uint16_t>(Op::kMknod), 20);
  EXPECT_EQ(static_cast<uint16_t>(Op::kExec), 21);
  EXPECT_FALSE(IsKnownOp(kLastOp + 1));
  EXPECT_FALSE(IsKnownOp(0xffff));
}

struct stat SampleStat() {
  struct stat st;
  memset(&st, 0, sizeof(st));
  st.st_dev = 0x0102030405060708;
  st.st_ino = 0xfffffffffffffff0;
  st.st_mode = S_IFREG | 04755;
  st.st_nlink = 3;
  st.st_uid = 0xfffffffe;  // unsigned: must not be sign-extended
  st.st_gid = 1000;
  st.st_rdev = 0x1234;
  st.st_size = int64_t{1} << 40;
  st.st_blksize = 4096;
  st.st_blocks = 2147483648;
  st.st_atim = {-1, 999999999};  // before 1970: times are signed
  st.st_mtim = {1700000000, 1};
  st.st_ctim = {-2208988800, 0};
  return st;
}

TEST(CodecStatTest, RoundTripsEveryField) {
  const struct stat st = SampleStat();
  uint8_t wire[kWireStatSize];
  EncodeStat(st, wire);
  struct stat decoded;
  memset(&decoded, 0xff, sizeof(decoded));
  ASSERT_EQ(
      DecodeStat(std::string_view(reinterpret_cast<const char*>(wire), sizeof(wire)), &decoded), 0);
  EXPECT_EQ(decoded.st_dev, st.st_dev);
  EXPECT_EQ(decoded.st_ino, st.st_ino);
  EXPECT_EQ(decoded.st_mode, st.st_mode);
  EXPECT_EQ(decoded.st_nlink, st.st_nlink);
  EXPECT_EQ(decoded.st_uid, st.st_uid);
  EXPECT_EQ(decoded.st_gid, st.st_gid);
  EXPECT_EQ(decoded.st_rdev, st.st_rdev);
  EXPECT_EQ(decoded.st_size, st.st_size);
  EXPECT_EQ(decoded.st_blksize, st.st_blksize);
  EXPECT_EQ(decoded.st_blocks, st.st_blocks);
  EXPECT_EQ(decoded.st_atim.tv_sec, -1);
  EXPECT_EQ(decoded.st_atim.tv_nsec, 999999999);
  EXPECT_EQ(decoded.st_mtim.tv_sec, st.st_mtim.tv_sec);
  EXPECT_EQ(decoded.st_mtim.tv_nsec, st.st_mtim.tv_nsec);
  EXPECT_EQ(decoded.st_ctim.tv_sec, st.st_ctim.tv_sec);
  EXPECT_EQ(decoded.st_ctim.tv_nsec, st.st_ctim.tv_nsec);
}

// The payload layout of PROTOCOL.md: sixteen little-endian 64-bit fields in a fixed order.
TEST(CodecStatTest, PayloadLayoutMatchesTheSpec) {
  const struct stat st = SampleStat();
  std::vector<uint8_t> expected;
  PutLittleEndian(&expected, st.st_dev, 8);
  PutLittleEndian(&expected, st.st_ino, 8);
  PutLittleEndian(&expected, st.st_mode, 8);
  PutLittleEndian(&expected, st.st_nlink, 8);
  PutLittleEndian(&expected, st.st_uid, 8);
  PutLittleEndian(&expected, st.st_gid, 8);
  PutLittleEndian(&expected, st.st_rdev, 8);
  PutLittleEndian(&expected, static_cast<uint64_t>(st.st_size), 8);
  PutLittleEndian(&expected, static_cast<uint64_t>(st.st_blksize), 8);
  PutLittleEndian(&expected, static_cast<uint64_t>(st.st_blocks), 8);
  for (const timespec& t : {st.st_atim, st.st_mtim, st.st_ctim}) {
    PutLittleEndian(&expected, static_cast<uint64_t>(t.tv_sec), 8);
    PutLittleEndian(&expected, static_cast<uint64_t>(t.tv_nsec), 8);
  }
  ASSERT_EQ(expected.size(), kWireStatSize);
  uint8_t wire[kWireStatSize];
  EncodeStat(st, wire);
  EXPECT_EQ(std::vector<uint8_t>(wire, wire + kWireStatSize), expected);
}

TEST(CodecStatTest, RoundTripsARealStat) {
  struct stat st;
  ASSERT_EQ(stat("/", &st), 0);
  uint8_t wire[kWireStatSize];
  EncodeStat(st, wire);
  struct stat decoded;
  ASSERT_EQ(
      DecodeStat(std::string_view(reinterpret_cast<const char*>(wire), sizeof(wire)), &decoded), 0);
  EXPECT_EQ(decoded.st_dev, st.st_dev);
  EXPECT_EQ(decoded.st_ino, st.st_ino);
  EXPECT_EQ(decoded.st_mode, st.st_mode);
  EXPECT_EQ(decoded.st_mtim.tv_sec, st.st_mtim.tv_sec);
  EXPECT_EQ(decoded.st_mtim.tv_nsec, st.st_mtim.tv_nsec);
}

TEST(CodecStatTest, PayloadOfAnotherSizeIsEPROTO) {
  const std::string bytes(kWireStatSize + 1, '\0');
  struct stat decoded;
  for (size_t size : {size_t{0}, kWireStatSize - 1, kWireStatSize + 1}) {
    EXPECT_EQ(DecodeStat(std::string_view(bytes).substr(0, size), &decoded), EPROTO) << size;
  }
}

}  // namespace
}  // namespace sbox::proto
