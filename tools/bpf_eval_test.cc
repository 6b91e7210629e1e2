// The interpreter refuses malformed programs instead of reading or jumping out of bounds.

#include "tools/bpf_eval.h"

#include <errno.h>
#include <linux/audit.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>

#include "gtest/gtest.h"

namespace sbox {
namespace {

sock_filter Stmt(uint16_t code, uint32_t k) { return BPF_STMT(code, k); }
sock_filter Jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return BPF_JUMP(code, k, jt, jf);
}

TEST(BpfEval, RunsAnArchAndNrCheck) {
  const std::vector<sock_filter> program = {
      Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      Jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      Stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      Jump(BPF_JMP | BPF_JEQ | BPF_K, 39, 0, 1),
      Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      Stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
  };
  EXPECT_EQ(SeccompReturnText(*RunSeccompFilter(program, MakeSeccompData(39, {}))), "ALLOW");
  EXPECT_EQ(SeccompReturnText(*RunSeccompFilter(program, MakeSeccompData(40, {}))), "ERRNO(1)");
  seccomp_data other = MakeSeccompData(39, {});
  other.arch = AUDIT_ARCH_I386;
  EXPECT_EQ(SeccompReturnText(*RunSeccompFilter(program, other)), "KILL_PROCESS");
}

TEST(BpfEval, RefusesMalformedPrograms) {
  const seccomp_data data = MakeSeccompData(0, {});
  EXPECT_FALSE(RunSeccompFilter({}, data).ok());
  // Loads past seccomp_data or unaligned.
  EXPECT_FALSE(
      RunSeccompFilter(
          {Stmt(BPF_LD | BPF_W | BPF_ABS, sizeof(seccomp_data)), Stmt(BPF_RET | BPF_K, 0)}, data)
          .ok());
  EXPECT_FALSE(
      RunSeccompFilter({Stmt(BPF_LD | BPF_W | BPF_ABS, 2), Stmt(BPF_RET | BPF_K, 0)}, data).ok());
  // Jumps past the end, and running off it.
  EXPECT_FALSE(RunSeccompFilter({Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 5)}, data).ok());
  EXPECT_FALSE(RunSeccompFilter({Stmt(BPF_JMP | BPF_JA, 1), Stmt(BPF_RET | BPF_K, 0)}, data).ok());
  EXPECT_FALSE(RunSeccompFilter({Stmt(BPF_LD | BPF_IMM, 1)}, data).ok());
  // Scratch memory out of range, and an instruction seccomp does not allow.
  EXPECT_FALSE(RunSeccompFilter({Stmt(BPF_ST, BPF_MEMWORDS), Stmt(BPF_RET | BPF_K, 0)}, data).ok());
  EXPECT_FALSE(
      RunSeccompFilter({Stmt(BPF_LD | BPF_W | BPF_IND, 0), Stmt(BPF_RET | BPF_K, 0)}, data).ok());
}

// A filter whose answer to getpid(a0, a1) is ERRNO of 12 bits of `op` applied to a0's and (for
// BPF_X) a1's low words, shifted right by `shift`; any other call is allowed.
std::vector<sock_filter> AluProgram(uint16_t op, uint32_t k, uint32_t shift) {
  return {
      Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      Jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpid, 1, 0),
      Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[1])),
      Stmt(BPF_MISC | BPF_TAX, 0),
      Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),
      Stmt(op, k),
      Stmt(BPF_ALU | BPF_RSH | BPF_K, shift),
      Stmt(BPF_ALU | BPF_AND | BPF_K, 0xfff),
      Stmt(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
      Stmt(BPF_RET | BPF_A, 0),
  };
}

// What the kernel answers: the errno getpid(a0, a1) gets under `program` (0 when it succeeds),
// or -1 when the filter killed the caller.
int KernelAnswer(const std::vector<sock_filter>& program, uint32_t a0, uint32_t a1) {
  const pid_t pid = fork();
  if (pid == 0) {
    sock_fprog fprog = {static_cast<unsigned short>(program.size()),
                        const_cast<sock_filter*>(program.data())};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) {
      _exit(255);
    }
    const long result = syscall(SYS_getpid, a0, a1);
    _exit(result >= 0 ? 0 : errno);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Every ALU instruction the kernel accepts, on values around the edges, answers as the kernel's.
TEST(BpfEval, AluAgreesWithTheKernel) {
  const uint16_t ops[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_AND,
                          BPF_OR,  BPF_XOR, BPF_LSH, BPF_RSH};
  const uint32_t values[] = {0, 7, 0x80000000u, 0xdeadbeefu, 0xffffffffu};
  const uint32_t operands[] = {0, 3, 31, 33, 0xfffffff0u};
  int checked = 0;
  for (uint16_t op : ops) {
    for (uint16_t source : {uint16_t{BPF_K}, uint16_t{BPF_X}}) {
      for (uint32_t a : values) {
        for (uint32_t operand : operands) {
          // Constants the kernel refuses at load; the evaluator refuses them too (below).
          if (source == BPF_K && ((op == BPF_DIV && operand == 0) ||
                                  ((op == BPF_LSH || op == BPF_RSH) && operand >= 32))) {
            continue;
          }
          for (uint32_t shift : {0u, 12u, 24u}) {
            const std::vector<sock_filter> program =
                AluProgram(BPF_ALU | op | source, source == BPF_K ? operand : 0, shift);
            absl::StatusOr<uint32_t> ours =
                RunSeccompFilter(program, MakeSeccompData(SYS_getpid, {a, operand}));
            ASSERT_TRUE(ours.ok()) << ours.status();
            const int expected = *ours == 0 ? -1 : static_cast<int>(*ours & SECCOMP_RET_DATA);
            // Errnos above 255 do not fit an exit status: compare what does.
            const int kernel = KernelAnswer(program, a, operand);
            EXPECT_EQ(kernel, expected == -1 ? -1 : expected & 0xff)
                << "op " << op << " source " << source << " a " << a << " operand " << operand
                << " shift " << shift;
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 600);
  // neg, and the length loads.
  const std::vector<sock_filter> neg = {Stmt(BPF_LD | BPF_IMM, 5), Stmt(BPF_ALU | BPF_NEG, 0),
                                        Stmt(BPF_RET | BPF_A, 0)};
  EXPECT_EQ(*RunSeccompFilter(neg, MakeSeccompData(0, {})), 0xfffffffbu);
  const std::vector<sock_filter> len = {Stmt(BPF_LDX | BPF_W | BPF_LEN, 0),
                                        Stmt(BPF_MISC | BPF_TXA, 0), Stmt(BPF_RET | BPF_A, 0)};
  EXPECT_EQ(*RunSeccompFilter(len, MakeSeccompData(0, {})), sizeof(seccomp_data));
  // What the kernel refuses at load, refused.
  const seccomp_data data = MakeSeccompData(0, {});
  EXPECT_FALSE(
      RunSeccompFilter({Stmt(BPF_ALU | BPF_DIV | BPF_K, 0), Stmt(BPF_RET | BPF_A, 0)}, data).ok());
  EXPECT_FALSE(
      RunSeccompFilter({Stmt(BPF_ALU | BPF_LSH | BPF_K, 32), Stmt(BPF_RET | BPF_A, 0)}, data).ok());
}

TEST(BpfEval, ReturnTexts) {
  EXPECT_EQ(SeccompReturnText(SECCOMP_RET_TRAP), "TRAP");
  EXPECT_EQ(SeccompReturnText(SECCOMP_RET_USER_NOTIF), "USER_NOTIF (violation report)");
  EXPECT_EQ(SeccompReturnText(SECCOMP_RET_ERRNO | 4094), "ERRNO(4094)");
}

}  // namespace
}  // namespace sbox
