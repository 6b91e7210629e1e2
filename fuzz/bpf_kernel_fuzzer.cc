// The seccomp BPF evaluator (tools/bpf_eval.h) against the kernel.
//
// The input makes a valid seccomp program: a prologue that allows every call but one harmless
// syscall (getppid, getpid, getuid, getgid or sched_yield, chosen by the input) and stores every
// scratch word (the kernel refuses a program that may read one unwritten), then a body of
// loads of seccomp_data words (nr, arch, the arguments; not the instruction pointer, which the
// evaluator cannot know), scratch stores and loads, ALU operations with valid constants or X,
// forward jumps inside the program and returns of ALLOW or ERRNO(1..255) only, so that the
// child survives (but a division by X = 0 ends a filter with 0, KILL_THREAD: the child dies of
// SIGSYS, which the evaluator must predict too). A child installs it (no_new_privs, seccomp(SECCOMP_SET_MODE_FILTER)), makes
// the call with six input-chosen 64-bit arguments and reports over a pipe what the kernel did:
// allowed, or the errno. That must equal RunSeccompFilter's answer on the same call.
//
// Programs the kernel refuses at load are not compared: the evaluator checks the instructions
// it runs, it has no load-time validator (reads of unwritten scratch words, instructions on
// paths not taken). The generator makes only programs the kernel's checker accepts, so a
// refusal aborts as a generator bug.

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/bpf_eval.h"

namespace {

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
};

constexpr int kCalls[] = {SYS_getppid, SYS_getpid, SYS_getuid, SYS_getgid, SYS_sched_yield};
constexpr size_t kMaxBody = 64;

sock_filter Stmt(uint16_t code, uint32_t k) { return sock_filter{code, 0, 0, k}; }
sock_filter Jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return sock_filter{code, jt, jf, k};
}

uint32_t Return(uint8_t choice) {
  if (choice < 64) return SECCOMP_RET_ALLOW;
  return SECCOMP_RET_ERRNO | (1 + choice % 255);
}

// One instruction at `index` of a body of `length` (the last is always a return).
sock_filter MakeInstruction(Reader& in, size_t index, size_t length) {
  const size_t remaining = length - index - 1;  // instructions after this one
  const uint8_t kind = in.Take<uint8_t>() % 12;
  const uint32_t k = in.Take<uint32_t>();
  const uint8_t small = in.Take<uint8_t>();
  static constexpr uint32_t kOffsets[] = {0, 4, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60};
  static constexpr uint16_t kAluK[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_AND,
                                       BPF_OR,  BPF_XOR, BPF_LSH, BPF_RSH};
  static constexpr uint16_t kAluX[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_AND,
                                       BPF_OR,  BPF_XOR, BPF_LSH, BPF_RSH};
  static constexpr uint16_t kJumps[] = {BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET};
  if (remaining == 0 || kind == 0) return Stmt(BPF_RET | BPF_K, Return(small));
  switch (kind) {
    case 1:
    case 2:
      return Stmt(BPF_LD | BPF_W | BPF_ABS, kOffsets[small % 14]);
    case 3:
      return Stmt(BPF_LD | BPF_IMM, k);
    case 4: {
      const uint16_t op = kAluK[small % 9];
      uint32_t value = k;
      if (op == BPF_DIV && value == 0) value = 1;
      if (op == BPF_LSH || op == BPF_RSH) value %= 32;
      return Stmt(BPF_ALU | op | BPF_K, value);
    }
    case 5:
      return Stmt(BPF_ALU | kAluX[small % 9] | BPF_X, 0);
    case 6:
      return Stmt(small & 1 ? BPF_MISC | BPF_TAX : BPF_MISC | BPF_TXA, 0);
    case 7:
      return Stmt(small & 1 ? BPF_ST : BPF_STX, (small >> 1) % BPF_MEMWORDS);
    case 8:
      return Stmt(small & 1 ? BPF_LD | BPF_MEM : BPF_LDX | BPF_MEM, (small >> 1) % BPF_MEMWORDS);
    case 9:
      return Stmt(small & 1 ? BPF_LD | BPF_W | BPF_LEN : BPF_ALU | BPF_NEG, 0);
    case 10:
      return Stmt(BPF_LDX | BPF_IMM, k);
    default: {
      const uint8_t jt = static_cast<uint8_t>(in.Take<uint8_t>() % remaining);
      const uint8_t jf = static_cast<uint8_t>(in.Take<uint8_t>() % remaining);
      return Jump(BPF_JMP | kJumps[small % 4] | ((small & 4) ? BPF_X : BPF_K), k, jt, jf);
    }
  }
}

constexpr int kKilled = -4;

// Runs the call in a child under `program`: -1 when the call was allowed, its errno when it
// failed, kKilled when the filter killed the child (SIGSYS), -2 when the kernel refused the
// program.
int KernelAnswer(const std::vector<sock_filter>& program, int nr, const uint64_t args[6]) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) std::abort();
  const pid_t pid = fork();
  if (pid < 0) std::abort();
  if (pid == 0) {
    close(pipe_fds[0]);
    sock_fprog fprog{static_cast<unsigned short>(program.size()),
                     const_cast<sock_filter*>(program.data())};
    int answer;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(3);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) {
      answer = -2;
    } else {
      errno = 0;
      const long ret = syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
      answer = ret == -1 ? errno : -1;
    }
    if (write(pipe_fds[1], &answer, sizeof(answer)) != sizeof(answer)) _exit(4);
    _exit(0);
  }
  close(pipe_fds[1]);
  int answer = 0;
  ssize_t n;
  // libFuzzer's -timeout alarm interrupts the read: closing the pipe then would kill the
  // child with SIGPIPE.
  do {
    n = read(pipe_fds[0], &answer, sizeof(answer));
  } while (n < 0 && errno == EINTR);
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // A division by X = 0 ends the filter with 0, SECCOMP_RET_KILL_THREAD: the call kills.
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) return kKilled;
  if (n != sizeof(answer) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "bpf_kernel_fuzzer: the child failed (status 0x%x)\n", status);
    std::abort();
  }
  return answer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in{data, size};
  const int nr = kCalls[in.Take<uint8_t>() % 5];
  uint64_t args[6];
  for (uint64_t& arg : args) arg = in.Take<uint64_t>();
  const size_t length = 1 + in.Take<uint8_t>() % kMaxBody;

  std::vector<sock_filter> program = {
      Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      Jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 1, 0),
      Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  // The kernel refuses a program that may read a scratch word before writing it: write them all.
  for (uint32_t i = 0; i < BPF_MEMWORDS; ++i) program.push_back(Stmt(BPF_ST, i));
  for (size_t i = 0; i < length; ++i) program.push_back(MakeInstruction(in, i, length));

  const absl::StatusOr<uint32_t> predicted =
      sbox::RunSeccompFilter(program, sbox::MakeSeccompData(nr, {args, args + 6}));
  const int kernel = KernelAnswer(program, nr, args);
  if (kernel == -2) {
    std::fprintf(stderr, "bpf_kernel_fuzzer: the kernel refused a generated program\n");
    std::abort();
  }
  if (!predicted.ok()) {
    std::fprintf(stderr, "bpf_kernel_fuzzer: the kernel ran a program the evaluator refuses: %s\n",
                 std::string(predicted.status().message()).c_str());
    std::abort();
  }
  const uint32_t action = *predicted & SECCOMP_RET_ACTION_FULL;
  const int expected = action == SECCOMP_RET_ALLOW ? -1
                       : action == SECCOMP_RET_ERRNO ? static_cast<int>(*predicted & SECCOMP_RET_DATA)
                       : action == SECCOMP_RET_KILL_THREAD || action == SECCOMP_RET_KILL_PROCESS
                           ? kKilled
                           : -3;
  if (expected != kernel) {
    std::fprintf(stderr, "bpf_kernel_fuzzer: evaluator says %s (%d), kernel %d\n",
                 sbox::SeccompReturnText(*predicted).c_str(), expected, kernel);
    std::abort();
  }
  return 0;
}
