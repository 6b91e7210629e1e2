// The wire codec, both directions (proto/codec.h).
//
// Decode: arbitrary bytes as a request (with 0-3 descriptors, from the first byte) and as a
// reply never crash or read past the buffer (ASan); what decodes encodes again and decodes to
// the same fields. Encode: a request or reply built from the input encodes (or is refused for a
// documented reason); a reply within the limits always decodes to the same fields; a request
// that decodes does so to the fields it was encoded from. Times: decode then encode gives the
// same bytes.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "proto/codec.h"
#include "proto/wire_format.h"

namespace {

using sbox::proto::Reply;
using sbox::proto::Request;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "codec_fuzzer: %s\n", what);
  std::abort();
}

bool SameRequest(const Request& a, const Request& b) {
  return a.op == b.op && a.id == b.id && a.flags == b.flags && a.mode == b.mode &&
         a.length == b.length && a.fd_paths == b.fd_paths && a.path == b.path &&
         a.path2 == b.path2;
}

bool SameReply(const Reply& a, const Reply& b) {
  return a.op == b.op && a.id == b.id && a.result == b.result && a.fd_count == b.fd_count &&
         a.payload == b.payload;
}

// Reads fixed-size fields from the front of the input; zeros once it runs out.
struct Reader {
  const uint8_t* data;
  size_t size;
  template <typename T>
  T Take() {
    T value{};
    const size_t n = size < sizeof(T) ? size : sizeof(T);
    std::memcpy(&value, data, n);
    data += n;
    size -= n;
    return value;
  }
  std::string_view TakeBytes(size_t n) {
    if (n > size) n = size;
    std::string_view bytes(reinterpret_cast<const char*>(data), n);
    data += n;
    size -= n;
    return bytes;
  }
};

int FdCount(uint32_t fd_paths) {
  return ((fd_paths & sbox::proto::kFdForPath) ? 1 : 0) +
         ((fd_paths & sbox::proto::kFdForPath2) ? 1 : 0);
}

uint8_t buffer[sbox::proto::kMaxRequestSize + sbox::proto::kMaxReplySize];
uint8_t again[sbox::proto::kMaxRequestSize + sbox::proto::kMaxReplySize];

void DecodeDirection(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const int fd_count = data[0] % 4;
  // The decoders must not read beyond `size`: decode a heap copy of exactly that size.
  uint8_t* copy = static_cast<uint8_t*>(std::malloc(size - 1 + 1));
  std::memcpy(copy, data + 1, size - 1);
  Request request;
  if (sbox::proto::DecodeRequest(copy, size - 1, fd_count, &request) == 0) {
    const ptrdiff_t n = sbox::proto::EncodeRequest(request, again, sizeof(again));
    if (n < 0) Fail("a decoded request does not encode");
    Request round;
    if (sbox::proto::DecodeRequest(again, n, fd_count, &round) != 0) {
      Fail("a decoded request, encoded again, does not decode");
    }
    if (!SameRequest(request, round)) Fail("request round trip changed a field");
  }
  Reply reply;
  if (sbox::proto::DecodeReply(copy, size - 1, &reply) == 0) {
    if (reply.fd_count > sbox::proto::kMaxReplyDescriptors) Fail("fd_count above the limit");
    const ptrdiff_t n = sbox::proto::EncodeReply(reply, again, sizeof(again));
    if (n < 0) Fail("a decoded reply does not encode");
    Reply round;
    if (sbox::proto::DecodeReply(again, n, &round) != 0) Fail("reply round trip fails");
    if (!SameReply(reply, round)) Fail("reply round trip changed a field");
  }
  timespec times[2];
  const std::string_view bytes(reinterpret_cast<const char*>(copy), size - 1);
  if (sbox::proto::DecodeTimes(bytes, times) == 0) {
    uint8_t out[sbox::proto::kWireTimesSize];
    sbox::proto::EncodeTimes(times, out);
    if (std::memcmp(out, copy, sizeof(out)) != 0) Fail("times round trip changed bytes");
  }
  struct stat st;
  (void)sbox::proto::DecodeStat(bytes, &st);
  struct statfs sfs;
  (void)sbox::proto::DecodeStatfs(bytes, &sfs);
  std::free(copy);
}

void EncodeDirection(const uint8_t* data, size_t size) {
  Reader in{data, size};
  Request request;
  request.op = static_cast<sbox::proto::Op>(in.Take<uint16_t>() % 24);
  request.id = in.Take<uint32_t>();
  request.flags = in.Take<uint32_t>();
  request.mode = in.Take<uint32_t>();
  request.length = in.Take<uint64_t>();
  request.fd_paths = in.Take<uint8_t>() % 4;
  const uint16_t path_length = in.Take<uint16_t>() % (sbox::proto::kMaxPathLength + 8);
  const uint16_t path2_length = in.Take<uint16_t>() % (sbox::proto::kMaxPathLength + 8);
  request.path = in.TakeBytes(path_length);
  request.path2 = in.TakeBytes(path2_length);
  const ptrdiff_t n = sbox::proto::EncodeRequest(request, buffer, sizeof(buffer));
  if (n < 0) {
    if (n != -ENAMETOOLONG) Fail("EncodeRequest failed for an undocumented reason");
    if (request.path.size() <= sbox::proto::kMaxPathLength &&
        request.path2.size() <= sbox::proto::kMaxPathLength) {
      Fail("EncodeRequest refused paths within the limit");
    }
  } else {
    Request decoded;
    if (sbox::proto::DecodeRequest(buffer, n, FdCount(request.fd_paths), &decoded) == 0 &&
        !SameRequest(request, decoded)) {
      Fail("encoded request decodes to other fields");
    }
  }

  Reply reply;
  reply.op = static_cast<sbox::proto::Op>(in.Take<uint16_t>());
  reply.id = in.Take<uint32_t>();
  reply.result = in.Take<int32_t>();
  reply.fd_count = in.Take<uint8_t>() % 3;
  reply.payload = in.TakeBytes(in.size);
  const ptrdiff_t m = sbox::proto::EncodeReply(reply, buffer, sizeof(buffer));
  if (m < 0) {
    if (m != -EMSGSIZE || reply.payload.size() <= sbox::proto::kMaxReplyPayload) {
      Fail("EncodeReply refused a reply within the limit");
    }
    return;
  }
  Reply decoded;
  const int error = sbox::proto::DecodeReply(buffer, m, &decoded);
  if (reply.fd_count <= sbox::proto::kMaxReplyDescriptors) {
    if (error != 0) Fail("an encoded reply within the limits does not decode");
    if (!SameReply(reply, decoded)) Fail("encoded reply decodes to other fields");
  } else if (error == 0) {
    Fail("a reply with too many descriptors decodes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  DecodeDirection(data, size);
  EncodeDirection(data, size);
  return 0;
}
