#ifndef SBOX_BROKER_BROKER_SERVER_H_
#define SBOX_BROKER_BROKER_SERVER_H_

#include <sys/types.h>

#include <list>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "broker/decision.h"
#include "broker/file_policy.h"
#include "broker/file_request_handler.h"
#include "broker/sandbox_state.h"
#include "proto/unique_fd.h"

namespace sbox {

enum class ChannelType {
  kSeqPacket,  // SOCK_SEQPACKET: message boundaries, and the peer's close is seen
  kDatagram,   // SOCK_DGRAM: message boundaries; the peer's close is not seen
};

// The socket type for socketpair(2), with SOCK_CLOEXEC.
int SocketTypeFor(ChannelType type);

// Serves broker requests on channels, one thread per channel. A sandboxee gets more channels by
// sending Op::kNewChannel; the broker creates the socket pair, serves one end and hands back the
// other, so the sandboxee never chooses what the broker listens on.
//
// The broker never waits on the sandboxee: replies are sent with MSG_DONTWAIT, and a channel
// whose peer does not read them is closed. Malformed requests get an error reply (the errno
// table is in proto/PROTOCOL.md); descriptors attached to requests are closed unread.
class BrokerServer {
 public:
  struct Options {
    ChannelType channel_type = ChannelType::kSeqPacket;
    // Live channels at once, the first included. Op::kNewChannel beyond it gets EMFILE.
    int max_channels = 16;
    DecisionLog decision_log;
    // The sandboxee, for /proc/self; 0 when there is none to name.
    pid_t sandboxee_pid = 0;
    // Where relative paths start until the sandboxee changes it (Op::kChdir). Absolute and
    // normalized.
    std::string working_directory = "/";
  };

  // `policy` must outlive the server.
  BrokerServer(const FilePolicy& policy, Options options);
  ~BrokerServer();

  BrokerServer(const BrokerServer&) = delete;
  BrokerServer& operator=(const BrokerServer&) = delete;

  // Serves `channel` on a new thread until the peer hangs up or Stop() is called.
  // FailedPrecondition after Stop(); ResourceExhausted at max_channels or when no thread can be
  // started.
  absl::Status Serve(UniqueFd channel);

  // Shuts every channel down, then joins every thread. Idempotent; the destructor calls it.
  void Stop();

  // What the server knows of the sandboxee, for other brokers of the same sandboxee (the
  // NotificationBroker of an exec'ed one), so that all share one working directory.
  SandboxState& sandbox_state() { return sandbox_; }

 private:
  struct Channel {
    UniqueFd fd;
    std::thread thread;
    bool finished = false;
  };

  void ServeChannel(Channel* channel);
  // Handles Op::kNewChannel: returns the sandboxee's end, or -errno.
  int OpenChannel(UniqueFd* sandboxee_end);
  void JoinFinishedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const FileRequestHandler handler_;
  SandboxState sandbox_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // std::list: a serving thread holds a pointer to its entry.
  std::list<Channel> channels_ ABSL_GUARDED_BY(mu_);
  int live_channels_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sbox

#endif  // SBOX_BROKER_BROKER_SERVER_H_
