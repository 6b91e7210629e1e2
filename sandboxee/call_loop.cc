#include "sandboxee/call_loop.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "proto/call_message.h"
#include "proto/fd_transport.h"
#include "sandboxee/broker_client.h"
#include "sandboxee/entry_point.h"
#include "sandboxee/sandboxee_setup.h"

namespace sbox::sandboxee {
namespace {

int64_t Micros(const timeval& tv) { return int64_t{tv.tv_sec} * 1000000 + tv.tv_usec; }

[[noreturn]] void Exit(int code) {
  fflush(nullptr);
  _exit(code);
}

// Sends the header and `payload` (inline) or `memfd` (its output).
bool SendReply(proto::CallReplyHeader header, absl::string_view payload, int memfd) {
  std::string message(reinterpret_cast<const char*>(&header), sizeof(header));
  message.append(payload.data(), payload.size());
  return proto::SendMessage(kSandboxeeCallFd, message.data(), message.size(), memfd, 0) == 0;
}

bool ReplyOk(proto::CallReplyHeader header, const std::string& output) {
  header.kind = proto::kReplyOk;
  header.size = output.size();
  if (output.size() <= proto::kMaxInlineCallBytes) return SendReply(header, output, -1);
  // Too big for one message: in a memfd, which the host reads after checking it is one.
  const UniqueFd memfd(static_cast<int>(memfd_create("sbox-call-output", MFD_CLOEXEC)));
  if (!memfd.valid()) return false;
  for (size_t done = 0; done < output.size();) {
    const ssize_t wrote = write(memfd.get(), output.data() + done, output.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return false;
    done += static_cast<size_t>(wrote);
  }
  header.flags = proto::kOutputInMemfd;
  return SendReply(header, "", memfd.get());
}

bool ReplyError(proto::CallReplyHeader header, const absl::Status& status) {
  header.kind = proto::kReplyError;
  header.status_code = static_cast<int32_t>(status.code());
  const absl::string_view message = status.message().substr(0, proto::kMaxErrorMessage);
  header.size = message.size();
  return SendReply(header, message, -1);
}

// A ping's work, besides its pong: the call path once on a made-up call, without the entry
// point and without sending. A new sandboxee's first call otherwise pays for first touches of
// its code and data (a first allocation costs ~0.3 ms here, bench/README.md).
void WarmUp(char* buffer) {
  const proto::CallRequestHeader header = {proto::kCallMagic, 0, 1024, 0, 0};
  memcpy(buffer, &header, sizeof(header));
  memset(buffer + sizeof(header), 'w', 1024);
  proto::ReceivedMessage none;
  proto::CallRequest request;
  if (!proto::ParseCallRequest(buffer, sizeof(header) + 1024, none, &request).empty()) return;
  CallContext call(request.input, {}, nullptr);
  call.output() = std::string(call.input());
  rusage usage = {};
  getrusage(RUSAGE_SELF, &usage);
  proto::CallReplyHeader reply = {};
  std::string message(reinterpret_cast<const char*>(&reply), sizeof(reply));
  message.append(call.output());
  const absl::Status status = absl::InternalError(message.substr(0, 16));
}

}  // namespace

void ServeCalls(const char* name, int calls) {
  const EntryPoint entry = FindEntryPoint(name);
  if (entry == nullptr) Exit(kCallLoopUnknownEntryPoint);
  BrokerClient broker{UniqueFd(kSandboxeeChannelFd)};
  // Not zeroed: only the bytes received are read (a zeroed buffer costs every new sandboxee
  // 16 page faults before its first call).
  const std::unique_ptr<char[]> buffer(new char[proto::kMaxCallMessage]);
  for (int served = 0; served < calls; ++served) {
    proto::ReceivedMessage message;
    const ssize_t size =
        proto::ReceiveMessage(kSandboxeeCallFd, buffer.get(), proto::kMaxCallMessage,
                              proto::kMaxCallDescriptors + 1, &message);
    if (size == 0) Exit(0);
    if (size < 0) Exit(kCallLoopChannelError);
    proto::CallRequest request;
    if (!proto::ParseCallRequest(buffer.get(), static_cast<size_t>(size), message, &request)
             .empty()) {
      Exit(kCallLoopBadRequest);
    }
    if (request.ping) {
      --served;  // not a call
      WarmUp(buffer.get());
      proto::CallReplyHeader pong = {};
      pong.magic = proto::kCallMagic;
      if (!ReplyOk(pong, "")) Exit(kCallLoopChannelError);
      continue;
    }
    std::vector<UniqueFd> fds;
    for (int i = 0; i < request.fd_count; ++i) fds.push_back(std::move(request.fds[i]));

    rusage before = {};
    getrusage(RUSAGE_SELF, &before);
    absl::Status status;
    std::string output;
    try {
      CallContext call(request.input, std::move(fds), &broker);
      status = entry(call);
      if (status.ok()) output = std::move(call.output());
    } catch (const std::bad_alloc&) {
      status = absl::ResourceExhaustedError("out of memory (std::bad_alloc)");
    } catch (const std::exception& e) {
      status = absl::InternalError(std::string("exception: ") + e.what());
    } catch (...) {
      status = absl::InternalError("exception of an unknown type");
    }
    // The input may be the largest thing the process holds: gone before the reply is built.
    std::string().swap(request.input);
    rusage after = {};
    getrusage(RUSAGE_SELF, &after);
    proto::CallReplyHeader header = {};
    header.magic = proto::kCallMagic;
    header.user_time_us = Micros(after.ru_utime) - Micros(before.ru_utime);
    header.system_time_us = Micros(after.ru_stime) - Micros(before.ru_stime);
    header.max_rss_kb = after.ru_maxrss;
    bool sent = false;
    try {
      sent = status.ok() ? ReplyOk(header, output) : ReplyError(header, status);
    } catch (const std::bad_alloc&) {
      sent = ReplyError(header, absl::ResourceExhaustedError("out of memory (std::bad_alloc)"));
    }
    if (!sent) Exit(kCallLoopChannelError);
    fflush(nullptr);
  }
  Exit(0);
}

}  // namespace sbox::sandboxee
