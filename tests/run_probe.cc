// A program for `sbox run` tests: does one named thing a sandboxed program might try, and says
// what happened on stdout, or exits the way it was asked to.
//
//   run_probe read PATH          print PATH's bytes; exit 1 with "PATH: ERROR" when it fails
//   run_probe write PATH         create or truncate PATH and write "x"; exit 1 when it fails
//   run_probe socket             socket(AF_INET, SOCK_STREAM, 0)
//   run_probe exec PROGRAM       execv(PROGRAM); exit 1 when it returns
//   run_probe exit N             exit with N
//   run_probe crash              write through a null pointer (SIGSEGV)
//   run_probe stderr TEXT        write TEXT to stderr
//   run_probe sleep SECONDS      sleep, then exit 0
//   run_probe getcwd             print the working directory
//   run_probe hostile PATH [N]   speak garbage to $SBOX_BROKER_FD (see Hostile; N messages,
//                                2000 by default), then print PATH
//   run_probe opens N LENGTH     tries to open N paths of LENGTH bytes that name nothing
//   run_probe channel PATH       open PATH with a request on $SBOX_BROKER_FD, made byte by byte
//                                as proto/PROTOCOL.md lays it out, and print it
//   run_probe threads N COUNT PATH  N threads each open and close PATH COUNT times; exit 1 if
//                                any open fails
//
// Linked like any Debian program: dynamically, against libc and libstdc++.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "proto/wire_format.h"

namespace {

int Fail(const std::string& what) {
  printf("%s: %s\n", what.c_str(), strerror(errno));
  return 1;
}

int Read(const char* path) {
  FILE* f = fopen(path, "r");
  if (f == nullptr) return Fail(path);
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0) fwrite(buffer, 1, n, stdout);
  fclose(f);
  return 0;
}

int Write(const char* path) {
  const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(path);
  if (write(fd, "x", 1) != 1) return Fail(path);
  close(fd);
  printf("wrote %s\n", path);
  return 0;
}

// Sends `size` bytes of `data` on `fd` with `fd_count` copies of stdout attached; errors are
// the point, so they are ignored.
void SendRaw(int fd, const void* data, size_t size, int fd_count) {
  iovec iov = {const_cast<void*>(data), size};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  if (fd_count > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fd_count);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fd_count);
    int fds[4] = {1, 1, 1, 1};
    memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * fd_count);
  }
  sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

// Reads and drops replies, closing any descriptor that came with them, until none has come for
// `quiet_ms`.
void Drain(int fd, int quiet_ms = 0) {
  uint8_t buffer[sbox::proto::kMaxReplySize];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  for (;;) {
    iovec iov = {buffer, sizeof(buffer)};
    msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    if (recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0) {
      pollfd ready = {fd, POLLIN, 0};
      if (quiet_ms == 0 || poll(&ready, 1, quiet_ms) <= 0) return;
      continue;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int received;
        memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        close(received);
      }
    }
  }
}

// Waits for the test to read the broker's descriptor count: prints `phase`, reads a line.
void Checkpoint(const char* phase) {
  printf("%s\n", phase);
  fflush(stdout);
  char line[16];
  if (fgets(line, sizeof(line), stdin) == nullptr) exit(3);
}

// Every kind of bad message the protocol must survive, in bulk, on the channel and on channels
// the broker hands out; then an ordinary read through the redirected open.
int Hostile(const char* path, long rounds) {
  const char* env = getenv("SBOX_BROKER_FD");
  if (env == nullptr) {
    printf("no SBOX_BROKER_FD\n");
    return 1;
  }
  const int channel = atoi(env);
  Checkpoint("ready");
  uint64_t seed = 0x9e3779b97f4a7c15;
  const auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  uint8_t message[sbox::proto::kMaxRequestSize + 64];
  for (long round = 0; round < rounds; ++round) {
    const size_t size = 1 + next() % sizeof(message);
    for (size_t i = 0; i < size; ++i) message[i] = static_cast<uint8_t>(next());
    switch (round % 5) {
      case 0:  // random bytes, with descriptors now and then
        SendRaw(channel, message, size, static_cast<int>(next() % 3));
        break;
      case 1:  // a header that claims more path than it carries
        message[0] = 1, message[1] = 0, message[2] = 1, message[3] = 0;
        message[24] = 0xff, message[25] = 0x0f;
        SendRaw(channel, message, sbox::proto::kRequestHeaderSize + 3, 0);
        break;
      case 2:  // truncated headers
        SendRaw(channel, message, 1 + next() % (sbox::proto::kRequestHeaderSize - 1), 0);
        break;
      case 3: {  // a well-formed open with stray descriptors it did not announce
        uint8_t open[sbox::proto::kRequestHeaderSize + 4] = {1, 0, 1, 0};
        open[24] = 4;
        memcpy(open + sbox::proto::kRequestHeaderSize, "/etc", 4);
        SendRaw(channel, open, sizeof(open), 2);
        break;
      }
      case 4: {  // new channels, then hang-ups
        uint8_t request[sbox::proto::kRequestHeaderSize] = {1, 0, 4, 0};
        SendRaw(channel, request, sizeof(request), 0);
        break;
      }
    }
    if (round % 64 == 0) Drain(channel);
  }
  // Replies still on their way may carry new channels; the broker's ends close with ours.
  Drain(channel, 500);
  Checkpoint("flooded");
  return Read(path);
}

// An open request as PROTOCOL.md §3 lays it out (little-endian), its reply read as §3.2 does,
// the descriptor taken from SCM_RIGHTS.
int ChannelOpen(const char* path) {
  const char* env = getenv("SBOX_BROKER_FD");
  if (env == nullptr) {
    printf("no SBOX_BROKER_FD\n");
    return 1;
  }
  const int channel = atoi(env);
  const size_t length = strlen(path);
  uint8_t request[32 + 4096] = {};
  request[0] = 1;   // version 1
  request[2] = 1;   // op 1: open
  request[4] = 42;  // request id 42
  // flags: O_RDONLY (0); mode, length, path2_len, fd_paths: 0
  request[24] = static_cast<uint8_t>(length & 0xff);
  request[25] = static_cast<uint8_t>(length >> 8);
  memcpy(request + 32, path, length);
  // sendmsg, the call the broker-channel group allows (send(2) is sendto).
  iovec out = {request, 32 + length};
  msghdr sent = {};
  sent.msg_iov = &out;
  sent.msg_iovlen = 1;
  if (sendmsg(channel, &sent, MSG_NOSIGNAL) != static_cast<ssize_t>(32 + length)) {
    return Fail("sendmsg");
  }
  uint8_t reply[16 + 4096];
  iovec iov = {reply, sizeof(reply)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  const ssize_t got = recvmsg(channel, &msg, MSG_CMSG_CLOEXEC);
  if (got < 16) return Fail("recvmsg");
  int32_t result;
  memcpy(&result, reply + 8, 4);
  const uint16_t fd_count = static_cast<uint16_t>(reply[12] | reply[13] << 8);
  if (reply[0] != 1 || reply[2] != 1 || reply[4] != 42 || result < 0 || fd_count != 1) {
    printf("reply: version %d op %d id %d result %d fds %d\n", reply[0], reply[2], reply[4], result,
           fd_count);
    return 1;
  }
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS) return Fail("no descriptor");
  int fd;
  memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0)
    fwrite(buffer, 1, static_cast<size_t>(n), stdout);
  close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string what = argv[1];
  const char* arg = argc > 2 ? argv[2] : "";
  if (what == "read") return Read(arg);
  if (what == "write") return Write(arg);
  if (what == "socket") {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return Fail("socket");
    printf("socket %d\n", fd);
    return 0;
  }
  if (what == "exec") {
    execl(arg, arg, static_cast<char*>(nullptr));
    return Fail(std::string("exec ") + arg);
  }
  if (what == "exit") return atoi(arg);
  if (what == "crash") {
    *static_cast<volatile int*>(nullptr) = 1;
    return 0;
  }
  if (what == "stderr") return fputs(arg, stderr) >= 0 ? 0 : 1;
  if (what == "sleep") return sleep(static_cast<unsigned>(atoi(arg)));
  if (what == "getcwd") {
    char buffer[4096];
    if (getcwd(buffer, sizeof(buffer)) == nullptr) return Fail("getcwd");
    printf("%s\n", buffer);
    return 0;
  }
  if (what == "hostile") return Hostile(arg, argc > 3 ? atol(argv[3]) : 2000);
  if (what == "channel") return ChannelOpen(arg);
  if (what == "threads" && argc > 4) {
    std::atomic<bool> failed{false};
    std::vector<std::thread> threads;
    for (long t = 0; t < atol(arg); ++t) {
      threads.emplace_back([&failed, count = atol(argv[3]), path = argv[4]] {
        for (long i = 0; i < count; ++i) {
          const int fd = open(path, O_RDONLY | O_CLOEXEC);
          if (fd < 0) failed = true;
          if (fd >= 0) close(fd);
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    return failed ? 1 : 0;
  }
  if (what == "opens" && argc > 3) {
    // opens COUNT LENGTH [BASE]: LENGTH more bytes of path beneath BASE (default "").
    std::string path = argc > 4 ? std::string(argv[4]) + "/" : "/";
    const long length = atol(argv[3]);
    for (long i = 1; i < length; ++i) path += (i % 200 == 0) ? '/' : 'n';
    for (long i = 0; i < atol(arg); ++i) {
      const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) close(fd);
    }
    return 0;
  }
  return 2;
}
