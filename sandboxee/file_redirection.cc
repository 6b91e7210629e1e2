#include "sandboxee/file_redirection.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string_view>
#include <utility>

#include "kernel/raw_syscall.h"
#include "proto/codec.h"
#include "proto/file_call.h"
#include "proto/file_syscalls.h"
#include "proto/unique_fd.h"
#include "proto/wire_format.h"
#include "sandboxee/channel_pool.h"
#include "sandboxee/round_trip.h"

// Everything below runs in the SIGSYS handler, at any point of the sandboxee's code, other
// handlers' included: no malloc, no locks, no stdio, no absl, nothing that sets errno without
// restoring it, and no syscall the filter redirects (which would trap again).

namespace sbox::sandboxee {
namespace {

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1  // si_code of a seccomp SIGSYS; older libc headers lack it
#endif

constexpr unsigned long kX32SyscallBit = 0x40000000;
// No valid user pointer lies below the first page or at or above the top of the x86-64 user
// address space (47 bits).
constexpr uint64_t kLowestUserAddress = 4096;
constexpr uint64_t kUserAddressEnd = uint64_t{1} << 47;
constexpr uint64_t kSigsetSize = 8;  // the kernel's sigset_t

using kernel::RawSyscall;

bool BadPointer(uint64_t address) {
  return address < kLowestUserAddress || address >= kUserAddressEnd;
}

// The broker channels the handler uses. Placement-new'd by InstallFileRedirection: a static
// ChannelPool would need a constructor run at start-up and a destructor at exit, when the
// broker may already be gone.
alignas(ChannelPool) unsigned char g_pool_storage[sizeof(ChannelPool)];
std::atomic<ChannelPool*> g_pool{nullptr};
std::atomic<uint32_t> g_next_id{1};

// The caller is this process: its pointers are used directly, its descriptors are ours, and the
// broker is reached over a pooled channel.
class LocalSite final : public proto::FileCallSite {
 public:
  long ReadString(uint64_t address, char* out) override {
    if (BadPointer(address)) return -EFAULT;
    const char* text = reinterpret_cast<const char*>(address);
    const size_t size = strnlen(text, PATH_MAX);
    if (size == PATH_MAX) return -ENAMETOOLONG;
    memcpy(out, text, size);
    return static_cast<long>(size);
  }

  int Read(uint64_t address, void* out, size_t size) override {
    if (BadPointer(address)) return -EFAULT;
    memcpy(out, reinterpret_cast<const void*>(address), size);
    return 0;
  }

  int Write(uint64_t address, const void* data, size_t size) override {
    if (BadPointer(address)) return -EFAULT;
    memcpy(reinterpret_cast<void*>(address), data, size);
    return 0;
  }

  int StatDescriptor(int fd, struct stat* out) override {
    return static_cast<int>(RawSyscall(SYS_fstat, fd, reinterpret_cast<long>(out)));
  }

  int DescribeSocket(int fd, proto::SocketFacts* out) override {
    const long descriptor_flags = RawSyscall(SYS_fcntl, fd, F_GETFD);
    if (descriptor_flags < 0) return static_cast<int>(descriptor_flags);
    const long status_flags = RawSyscall(SYS_fcntl, fd, F_GETFL);
    if (status_flags < 0) return static_cast<int>(status_flags);
    out->close_on_exec = (descriptor_flags & FD_CLOEXEC) != 0;
    out->nonblocking = (status_flags & O_NONBLOCK) != 0;
    int value = 0;
    socklen_t size = sizeof(value);
    const long got = RawSyscall(SYS_getsockopt, fd, SOL_SOCKET, SO_DOMAIN,
                                reinterpret_cast<long>(&value), reinterpret_cast<long>(&size));
    if (got == -ENOTSOCK) return 0;
    if (got < 0) return static_cast<int>(got);
    out->is_socket = true;
    out->domain = value;
    size = sizeof(value);
    const long type = RawSyscall(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE,
                                 reinterpret_cast<long>(&value), reinterpret_cast<long>(&size));
    if (type < 0) return static_cast<int>(type);
    out->type = value;
    return 0;
  }

  int Ask(const proto::Request& request, const int fds[2], proto::FileCallAnswer* answer) override {
    proto::Request numbered = request;
    numbered.id = g_next_id.fetch_add(1, std::memory_order_relaxed);
    ChannelPool::Lease lease = g_pool.load(std::memory_order_acquire)->Acquire();
    const int result = RoundTrip(lease.fd(), numbered, fds, &reply_);
    if (reply_.channel_failed) lease.Discard();
    if (result < 0) return result;
    memcpy(answer->payload, reply_.payload, reply_.payload_size);
    answer->payload_size = reply_.payload_size;
    answer->fd = std::move(reply_.fd);
    return result;
  }

  long GiveDescriptor(UniqueFd fd, bool close_on_exec) override {
    const int number = fd.release();
    // Received descriptors are close-on-exec (MSG_CMSG_CLOEXEC); the call decides.
    if (!close_on_exec) RawSyscall(SYS_fcntl, number, F_SETFD, 0);
    return number;
  }

  long ReplaceDescriptor(UniqueFd fd, int target, bool close_on_exec) override {
    const long moved = RawSyscall(SYS_dup3, fd.get(), target, close_on_exec ? O_CLOEXEC : 0);
    return moved < 0 ? moved : 0;
  }

  // The trapped call cannot be resumed from its own handler: the filter would trap it again.
  long PerformInKernel() override { return -ENOSYS; }

 private:
  RoundTripReply reply_;
};

// rt_sigprocmask, on the interrupted context: the mask the thread had when it trapped is
// uc_sigmask, and whatever is stored there is what rt_sigreturn installs. SIGSYS, SIGKILL and
// SIGSTOP never enter it, so no thread can block the trap signal.
long SigProcMask(uint64_t how, uint64_t set_address, uint64_t old_address, uint64_t set_size,
                 ucontext_t* context) {
  if (set_size != kSigsetSize) return -EINVAL;
  uint64_t mask;
  memcpy(&mask, &context->uc_sigmask, sizeof(mask));
  const uint64_t old_mask = mask;
  if (set_address != 0) {
    if (BadPointer(set_address)) return -EFAULT;
    uint64_t set;
    memcpy(&set, reinterpret_cast<const void*>(set_address), sizeof(set));
    switch (how) {
      case SIG_BLOCK:
        mask |= set;
        break;
      case SIG_UNBLOCK:
        mask &= ~set;
        break;
      case SIG_SETMASK:
        mask = set;
        break;
      default:
        return -EINVAL;
    }
  }
  if (old_address != 0) {
    if (BadPointer(old_address)) return -EFAULT;
    memcpy(reinterpret_cast<void*>(old_address), &old_mask, sizeof(old_mask));
  }
  const auto bit = [](int signal) { return uint64_t{1} << (signal - 1); };
  mask &= ~(bit(SIGSYS) | bit(SIGKILL) | bit(SIGSTOP));
  memcpy(&context->uc_sigmask, &mask, sizeof(mask));
  return 0;
}

long Dispatch(long nr, const greg_t* regs, ucontext_t* context) {
  const uint64_t args[6] = {
      static_cast<uint64_t>(regs[REG_RDI]), static_cast<uint64_t>(regs[REG_RSI]),
      static_cast<uint64_t>(regs[REG_RDX]), static_cast<uint64_t>(regs[REG_R10]),
      static_cast<uint64_t>(regs[REG_R8]),  static_cast<uint64_t>(regs[REG_R9]),
  };
  if (nr == SYS_rt_sigprocmask) return SigProcMask(args[0], args[1], args[2], args[3], context);
  LocalSite site;
  return proto::ServeFileCall(nr, args, site);
}

// Ends the process by SIGSYS, as an unhandled SIGSYS would. sbox's filter kills the whole
// process at once, with SIGSYS, for a syscall of another ABI; so an x32 syscall gets exactly
// that without touching SIGSYS's disposition, which the filter refuses to change. Without such
// a filter the x32 call simply fails, and the default disposition is free to restore.
[[noreturn]] void DieBySigsys() {
  RawSyscall(static_cast<long>(kX32SyscallBit | SYS_getpid));
  struct sigaction default_action = {};
  default_action.sa_handler = SIG_DFL;
  sigaction(SIGSYS, &default_action, nullptr);
  uint64_t unblock = uint64_t{1} << (SIGSYS - 1);
  RawSyscall(SYS_rt_sigprocmask, SIG_UNBLOCK, reinterpret_cast<long>(&unblock), 0, kSigsetSize);
  RawSyscall(SYS_tgkill, RawSyscall(SYS_getpid), RawSyscall(SYS_gettid), SIGSYS);
  RawSyscall(SYS_exit_group, 128 + SIGSYS);
  __builtin_unreachable();
}

void HandleSigsys(int, siginfo_t* info, void* raw_context) {
  const int saved_errno = errno;
  auto* context = static_cast<ucontext_t*>(raw_context);
  if (info->si_code != SYS_SECCOMP || info->si_arch != AUDIT_ARCH_X86_64 ||
      !IsRedirectedSyscall(info->si_syscall)) {
    DieBySigsys();
  }
  greg_t* regs = context->uc_mcontext.gregs;
  regs[REG_RAX] = Dispatch(info->si_syscall, regs, context);
  errno = saved_errno;
}

}  // namespace

bool IsRedirectedSyscall(long nr) {
  return proto::IsBrokeredFileSyscall(nr) || nr == SYS_rt_sigprocmask;
}

int InstallFileRedirection(int channel_fd) {
  if (g_pool.load(std::memory_order_acquire) != nullptr) return -EBUSY;
  const int channel = ChannelPool::RequestChannel(channel_fd);
  if (channel < 0) return channel;
  g_pool.store(new (g_pool_storage) ChannelPool(UniqueFd(channel)), std::memory_order_release);

  struct sigaction action = {};
  action.sa_sigaction = HandleSigsys;
  // SA_NODEFER: SIGSYS stays deliverable inside the handler and in any handler that interrupts
  // a redirected call's caller. The mask keeps other handlers out of a round trip (see the
  // header); fault signals stay deliverable, so a bad pointer faults as in the caller's code.
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigfillset(&action.sa_mask);
  for (int signal : {SIGSYS, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP}) {
    sigdelset(&action.sa_mask, signal);
  }
  if (sigaction(SIGSYS, &action, nullptr) != 0) return -errno;
  sigset_t sigsys;
  sigemptyset(&sigsys);
  sigaddset(&sigsys, SIGSYS);
  if (sigprocmask(SIG_UNBLOCK, &sigsys, nullptr) != 0) return -errno;
  return 0;
}

}  // namespace sbox::sandboxee
