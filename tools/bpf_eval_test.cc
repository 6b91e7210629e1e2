// The interpreter refuses malformed programs instead of reading or jumping out of bounds.

#include "tools/bpf_eval.h"

#include <linux/audit.h>

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

TEST(BpfEval, ReturnTexts) {
  EXPECT_EQ(SeccompReturnText(SECCOMP_RET_TRAP), "TRAP");
  EXPECT_EQ(SeccompReturnText(SECCOMP_RET_USER_NOTIF), "USER_NOTIF (violation report)");
  EXPECT_EQ(SeccompReturnText(SECCOMP_RET_ERRNO | 4094), "ERRNO(4094)");
}

}  // namespace
}  // namespace sbox
