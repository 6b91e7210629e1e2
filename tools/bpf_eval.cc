#include "tools/bpf_eval.h"

#include <linux/audit.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace sbox {
namespace {

absl::Status Bad(size_t pc, const sock_filter& insn, const char* what) {
  return absl::InvalidArgumentError(
      absl::StrFormat("instruction %d (code 0x%04x, k 0x%08x): %s", pc, insn.code, insn.k, what));
}

}  // namespace

seccomp_data MakeSeccompData(int nr, const std::vector<uint64_t>& args) {
  seccomp_data data = {};
  data.nr = nr;
  data.arch = AUDIT_ARCH_X86_64;
  for (size_t i = 0; i < args.size() && i < 6; ++i) data.args[i] = args[i];
  return data;
}

absl::StatusOr<uint32_t> RunSeccompFilter(const std::vector<sock_filter>& program,
                                          const seccomp_data& data) {
  if (program.empty()) return absl::InvalidArgumentError("empty program");
  // seccomp_data as the kernel lays it out: filters load it as host-endian 32-bit words.
  unsigned char bytes[sizeof(seccomp_data)];
  std::memcpy(bytes, &data, sizeof(bytes));
  uint32_t a = 0;
  uint32_t x = 0;
  uint32_t mem[BPF_MEMWORDS] = {};
  size_t pc = 0;
  // Classic BPF jumps only forward, so each instruction runs at most once; the bound is a guard.
  for (size_t steps = 0; steps <= program.size(); ++steps) {
    if (pc >= program.size()) {
      return absl::InvalidArgumentError(absl::StrFormat("ran off the end at %d", pc));
    }
    const sock_filter& insn = program[pc];
    const uint32_t k = insn.k;
    switch (insn.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        if (k % 4 != 0 || k > sizeof(bytes) - 4) return Bad(pc, insn, "load outside seccomp_data");
        std::memcpy(&a, bytes + k, 4);
        break;
      case BPF_LD | BPF_W | BPF_LEN:
        a = sizeof(seccomp_data);
        break;
      case BPF_LDX | BPF_W | BPF_LEN:
        x = sizeof(seccomp_data);
        break;
      case BPF_LD | BPF_IMM:
        a = k;
        break;
      case BPF_LDX | BPF_IMM:
        x = k;
        break;
      case BPF_LD | BPF_MEM:
      case BPF_LDX | BPF_MEM:
      case BPF_ST:
      case BPF_STX:
        if (k >= BPF_MEMWORDS) return Bad(pc, insn, "scratch index out of range");
        if (insn.code == (BPF_LD | BPF_MEM)) a = mem[k];
        if (insn.code == (BPF_LDX | BPF_MEM)) x = mem[k];
        if (insn.code == BPF_ST) mem[k] = a;
        if (insn.code == BPF_STX) mem[k] = x;
        break;
      case BPF_ALU | BPF_ADD | BPF_K:
      case BPF_ALU | BPF_ADD | BPF_X:
      case BPF_ALU | BPF_SUB | BPF_K:
      case BPF_ALU | BPF_SUB | BPF_X:
      case BPF_ALU | BPF_MUL | BPF_K:
      case BPF_ALU | BPF_MUL | BPF_X:
      case BPF_ALU | BPF_DIV | BPF_K:
      case BPF_ALU | BPF_DIV | BPF_X:
      case BPF_ALU | BPF_AND | BPF_K:
      case BPF_ALU | BPF_AND | BPF_X:
      case BPF_ALU | BPF_OR | BPF_K:
      case BPF_ALU | BPF_OR | BPF_X:
      case BPF_ALU | BPF_XOR | BPF_K:
      case BPF_ALU | BPF_XOR | BPF_X:
      case BPF_ALU | BPF_LSH | BPF_K:
      case BPF_ALU | BPF_LSH | BPF_X:
      case BPF_ALU | BPF_RSH | BPF_K:
      case BPF_ALU | BPF_RSH | BPF_X: {
        const uint32_t operand = BPF_SRC(insn.code) == BPF_X ? x : k;
        switch (BPF_OP(insn.code)) {
          case BPF_ADD:
            a += operand;
            break;
          case BPF_SUB:
            a -= operand;
            break;
          case BPF_MUL:
            a *= operand;
            break;
          case BPF_DIV:
            // The kernel refuses a constant 0 at load; a 0 in X ends the filter with 0.
            if (operand == 0) {
              if (BPF_SRC(insn.code) == BPF_K) return Bad(pc, insn, "division by zero");
              return uint32_t{0};
            }
            a /= operand;
            break;
          case BPF_AND:
            a &= operand;
            break;
          case BPF_OR:
            a |= operand;
            break;
          case BPF_XOR:
            a ^= operand;
            break;
          default:  // BPF_LSH, BPF_RSH: the kernel refuses a constant of 32 or more, and
                    // takes a shift by X modulo 32
            if (BPF_SRC(insn.code) == BPF_K && operand >= 32) {
              return Bad(pc, insn, "shift by 32 or more");
            }
            a = BPF_OP(insn.code) == BPF_LSH ? a << (operand & 31) : a >> (operand & 31);
            break;
        }
        break;
      }
      case BPF_ALU | BPF_NEG:
        a = 0u - a;
        break;
      case BPF_MISC | BPF_TAX:
        x = a;
        break;
      case BPF_MISC | BPF_TXA:
        a = x;
        break;
      case BPF_RET | BPF_K:
        return k;
      case BPF_RET | BPF_A:
        return a;
      case BPF_JMP | BPF_JA:
        if (k >= program.size() - pc - 1) return Bad(pc, insn, "jump out of the program");
        pc += 1 + k;
        continue;
      case BPF_JMP | BPF_JEQ | BPF_K:
      case BPF_JMP | BPF_JGT | BPF_K:
      case BPF_JMP | BPF_JGE | BPF_K:
      case BPF_JMP | BPF_JSET | BPF_K:
      case BPF_JMP | BPF_JEQ | BPF_X:
      case BPF_JMP | BPF_JGT | BPF_X:
      case BPF_JMP | BPF_JGE | BPF_X:
      case BPF_JMP | BPF_JSET | BPF_X: {
        const uint32_t operand = BPF_SRC(insn.code) == BPF_X ? x : k;
        bool taken = false;
        switch (BPF_OP(insn.code)) {
          case BPF_JEQ:
            taken = a == operand;
            break;
          case BPF_JGT:
            taken = a > operand;
            break;
          case BPF_JGE:
            taken = a >= operand;
            break;
          default:  // BPF_JSET
            taken = (a & operand) != 0;
            break;
        }
        const size_t offset = taken ? insn.jt : insn.jf;
        if (offset >= program.size() - pc - 1) return Bad(pc, insn, "jump out of the program");
        pc += 1 + offset;
        continue;
      }
      default:
        return Bad(pc, insn, "not an instruction seccomp filters use");
    }
    ++pc;
  }
  return absl::InvalidArgumentError("the program does not terminate");
}

std::string SeccompReturnText(uint32_t ret) {
  const uint32_t data = ret & SECCOMP_RET_DATA;
  switch (ret & SECCOMP_RET_ACTION_FULL) {
    case SECCOMP_RET_ALLOW:
      return "ALLOW";
    case SECCOMP_RET_ERRNO:
      return absl::StrFormat("ERRNO(%d)", data);
    case SECCOMP_RET_TRAP:
      return "TRAP";
    case SECCOMP_RET_KILL_PROCESS:
      return "KILL_PROCESS";
    case SECCOMP_RET_KILL_THREAD:
      return "KILL_THREAD";
    case SECCOMP_RET_USER_NOTIF:
      return "USER_NOTIF (violation report)";
    case SECCOMP_RET_TRACE:
      return absl::StrFormat("TRACE(%d)", data);
    case SECCOMP_RET_LOG:
      return "LOG";
  }
  return absl::StrFormat("UNKNOWN(0x%08x)", ret);
}

}  // namespace sbox
