#include "proto/call_message.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

namespace sbox::proto {
namespace {

std::string Num(uint64_t value) { return std::to_string(value); }

}  // namespace

std::string ReadMemfd(int fd, uint64_t size, std::string* out) {
  struct stat st;
  if (fstat(fd, &st) != 0) return "descriptor: fstat failed";
  // Only a memfd (shmem) answers F_GET_SEALS: never a pipe, socket or FUSE file, whose read
  // could block the host.
  if (!S_ISREG(st.st_mode) || fcntl(fd, F_GET_SEALS) < 0) return "descriptor: not a memfd";
  if (static_cast<uint64_t>(st.st_size) < size) {
    return "memfd holds " + Num(static_cast<uint64_t>(st.st_size)) + " bytes, not the " +
           Num(size) + " announced";
  }
  out->resize(size);
  uint64_t done = 0;
  while (done < size) {
    const ssize_t got = pread(fd, out->data() + done, size - done, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return "memfd shrank while read";
    done += static_cast<uint64_t>(got);
  }
  return "";
}

std::string ParseCallReply(const void* message, size_t size, ReceivedMessage& fds,
                           size_t max_output, CallReply* out) {
  CallReplyHeader header;
  if (size < sizeof(header)) return "reply of " + Num(size) + " bytes: shorter than its header";
  memcpy(&header, message, sizeof(header));
  if (header.magic != kCallMagic) return "reply magic";
  if (header.kind != kReplyOk && header.kind != kReplyError) {
    return "reply kind " + Num(header.kind);
  }
  if ((header.flags & ~uint32_t{kOutputInMemfd}) != 0) return "reply flags " + Num(header.flags);
  const bool in_memfd = (header.flags & kOutputInMemfd) != 0;
  const size_t inline_size = size - sizeof(header);
  out->ok = header.kind == kReplyOk;
  out->user_time_us = header.user_time_us;
  out->system_time_us = header.system_time_us;
  out->max_rss_kb = header.max_rss_kb;
  if (!out->ok) {
    if (header.status_code < 1 || header.status_code > 16) {
      return "reply status_code " + std::to_string(header.status_code);
    }
    if (in_memfd || fds.fd_count != 0) return "error reply with a descriptor";
    if (header.size > kMaxErrorMessage) {
      return "error message of " + Num(header.size) + " bytes: past " + Num(kMaxErrorMessage);
    }
    if (header.size != inline_size) return "reply size " + Num(header.size) + " (message says)";
    out->status_code = header.status_code;
    out->bytes.assign(static_cast<const char*>(message) + sizeof(header), inline_size);
    return "";
  }
  if (header.size > max_output) {
    return "output of " + Num(header.size) + " bytes: past the limit of " + Num(max_output);
  }
  if (!in_memfd) {
    if (fds.fd_count != 0) return "inline reply with a descriptor";
    if (header.size != inline_size) return "reply size " + Num(header.size) + " (message says)";
    out->bytes.assign(static_cast<const char*>(message) + sizeof(header), inline_size);
    return "";
  }
  if (fds.fd_count != 1 || inline_size != 0) return "memfd reply: needs one descriptor, no bytes";
  return ReadMemfd(fds.fds[0].get(), header.size, &out->bytes);
}

std::string ParseCallRequest(const void* message, size_t size, ReceivedMessage& fds,
                             CallRequest* out) {
  CallRequestHeader header;
  if (size < sizeof(header)) return "request shorter than its header";
  memcpy(&header, message, sizeof(header));
  if (header.magic != kCallMagic) return "request magic";
  if ((header.flags & ~uint32_t{kInputInMemfd | kPing}) != 0) return "request flags";
  if ((header.flags & kPing) != 0) {
    if (header.flags != kPing || header.input_size != 0 || header.fd_count != 0 ||
        fds.fd_count != 0 || size != sizeof(header)) {
      return "ping with input";
    }
    out->ping = true;
    return "";
  }
  const bool in_memfd = (header.flags & kInputInMemfd) != 0;
  if (header.fd_count > kMaxCallDescriptors) return "request fd_count";
  if (static_cast<uint64_t>(fds.fd_count) != header.fd_count + (in_memfd ? 1 : 0)) {
    return "request descriptors: " + Num(static_cast<uint64_t>(fds.fd_count)) + " came";
  }
  const size_t inline_size = size - sizeof(header);
  int first = 0;
  if (in_memfd) {
    if (inline_size != 0) return "memfd request with inline bytes";
    if (std::string error = ReadMemfd(fds.fds[0].get(), header.input_size, &out->input);
        !error.empty()) {
      return error;
    }
    first = 1;
  } else {
    if (header.input_size != inline_size) return "request input_size";
    out->input.assign(static_cast<const char*>(message) + sizeof(header), inline_size);
  }
  out->fd_count = static_cast<int>(header.fd_count);
  for (int i = 0; i < out->fd_count; ++i) out->fds[i] = std::move(fds.fds[first + i]);
  return "";
}

}  // namespace sbox::proto
