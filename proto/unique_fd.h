#ifndef SBOX_PROTO_UNIQUE_FD_H_
#define SBOX_PROTO_UNIQUE_FD_H_

namespace sbox {

// The one owner of a file descriptor: closes it when destroyed or reset. Move-only.
// Every member is async-signal-safe (close(2) only), so it may be used in a signal handler and
// between fork and exec.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  // Gives up ownership without closing.
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

  // Closes the owned descriptor, if any, then owns `fd`. A close(2) error is ignored: on Linux
  // the descriptor is released even when close reports one.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

}  // namespace sbox

#endif  // SBOX_PROTO_UNIQUE_FD_H_
