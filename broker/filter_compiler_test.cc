#include "broker/filter_compiler.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tools/bpf_eval.h"

namespace sbox {
namespace {

constexpr uint32_t kDefault = SECCOMP_RET_ERRNO | 1;
constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;

uint32_t Evaluate(const std::vector<sock_filter>& program, int nr,
                  std::vector<uint64_t> args = {}) {
  absl::StatusOr<uint32_t> ret = RunSeccompFilter(program, MakeSeccompData(nr, args));
  EXPECT_TRUE(ret.ok()) << ret.status();
  return ret.value_or(0xdeadbeef);
}

// The action `spec` documents for a call: the first rule of `nr` whose conditions all hold.
uint32_t Expected(const FilterSpec& spec, int nr, const std::vector<uint64_t>& args) {
  for (const FilterRule& rule : spec.rules) {
    if (rule.nr != nr) continue;
    bool all = true;
    for (const ArgCondition& c : rule.all_of) all = all && c.Admits(args[c.index]);
    if (all) return rule.action;
  }
  return spec.default_action;
}

TEST(FilterCompiler, OtherArchitecturesAndX32CallsAreKilled) {
  absl::StatusOr<std::vector<sock_filter>> program =
      CompileFilter({kDefault, {{__NR_read, kAllow}}});
  ASSERT_TRUE(program.ok()) << program.status();
  seccomp_data data = MakeSeccompData(__NR_read, {});
  data.arch = AUDIT_ARCH_I386;
  EXPECT_EQ(*RunSeccompFilter(*program, data), SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(Evaluate(*program, __NR_read), kAllow);
  EXPECT_EQ(Evaluate(*program, __NR_read | 0x40000000), SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(Evaluate(*program, -1), SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(Evaluate(*program, __NR_write), kDefault);
  EXPECT_EQ(Evaluate(*program, 0x3fffffff), kDefault);
}

TEST(FilterCompiler, EveryNumberGetsItsRangesAction) {
  FilterSpec spec{kDefault, {}};
  // Runs of one action, gaps, and neighbours with different actions.
  for (int nr : {0, 1, 2, 5, 6, 100, 101, 102, 300, 450}) spec.rules.push_back({nr, kAllow});
  for (int nr : {3, 4, 103}) spec.rules.push_back({nr, SECCOMP_RET_TRAP});
  spec.rules.push_back({7, SECCOMP_RET_ALLOW, {Arg(0).Eq(7)}});
  absl::StatusOr<std::vector<sock_filter>> program = CompileFilter(spec);
  ASSERT_TRUE(program.ok()) << program.status();
  for (int nr = 0; nr < 600; ++nr) {
    for (uint64_t arg : {0, 7}) {
      EXPECT_EQ(Evaluate(*program, nr, {arg}), Expected(spec, nr, {arg, 0, 0, 0, 0, 0}))
          << "nr " << nr << " arg " << arg;
    }
  }
}

// The pair of rules that never returns from Debian's libseccomp 2.5.4.
TEST(FilterCompiler, OverlappingGreaterThanRulesCompileToTheirMeaning) {
  FilterSpec spec{kDefault,
                  {{__NR_read, kAllow, {Arg(0).Gt(1), Arg(1).Gt(9)}},
                   {__NR_read, kAllow, {Arg(0).Gt(1), Arg(2).Gt(9)}}}};
  absl::StatusOr<std::vector<sock_filter>> program = CompileFilter(spec);
  ASSERT_TRUE(program.ok()) << program.status();
  for (uint64_t a0 : {0, 1, 2}) {
    for (uint64_t a1 : {9, 10}) {
      for (uint64_t a2 : {9, 10}) {
        const std::vector<uint64_t> args = {a0, a1, a2, 0, 0, 0};
        EXPECT_EQ(Evaluate(*program, __NR_read, args), Expected(spec, __NR_read, args));
      }
    }
  }
  EXPECT_EQ(Evaluate(*program, __NR_read, {2, 10, 0}), kAllow);
  EXPECT_EQ(Evaluate(*program, __NR_read, {2, 0, 10}), kAllow);
  EXPECT_EQ(Evaluate(*program, __NR_read, {1, 10, 10}), kDefault);
}

// Values that sit on either side of `v` in each 32-bit half.
std::vector<uint64_t> AroundBoundary(uint64_t v) {
  std::vector<uint64_t> out;
  for (int64_t high_delta : {-1, 0, 1}) {
    for (int64_t low_delta : {-1, 0, 1}) {
      const uint64_t high = static_cast<uint32_t>((v >> 32) + high_delta);
      const uint64_t low = static_cast<uint32_t>(static_cast<uint32_t>(v) + low_delta);
      out.push_back(high << 32 | low);
    }
  }
  out.push_back(0);
  out.push_back(~uint64_t{0});
  return out;
}

TEST(FilterCompiler, EveryComparisonHoldsOnBothHalvesAroundItsBoundary) {
  const std::vector<uint64_t> boundaries = {
      0,          1,          0xffffffff,   0x100000000,       0x1ffffffff,
      0x7fffffff, 0x80000000, ~uint64_t{0}, 0xfffffffe00000001};
  for (int index : {0, 5}) {
    for (uint64_t v : boundaries) {
      const std::vector<ArgCondition> conditions = {Arg(index).Eq(v),
                                                    Arg(index).Ne(v),
                                                    Arg(index).Lt(v),
                                                    Arg(index).Le(v),
                                                    Arg(index).Gt(v),
                                                    Arg(index).Ge(v),
                                                    Arg(index).MaskedEq(v, v & 0xf0000000f),
                                                    Arg(index).MaskedEq(0xffffffff00000000, v),
                                                    Arg(index).In({v, v + 1, 3})};
      for (const ArgCondition& c : conditions) {
        const FilterSpec spec{kDefault, {{__NR_getppid, kAllow, {c}}}};
        absl::StatusOr<std::vector<sock_filter>> program = CompileFilter(spec);
        ASSERT_TRUE(program.ok()) << program.status();
        for (uint64_t arg : AroundBoundary(v)) {
          std::vector<uint64_t> args(6, 0);
          args[index] = arg;
          EXPECT_EQ(Evaluate(*program, __NR_getppid, args), c.Admits(arg) ? kAllow : kDefault)
              << "compare " << static_cast<int>(c.compare) << " value " << v << " mask " << c.mask
              << " arg " << arg;
        }
      }
    }
  }
}

TEST(FilterCompiler, RandomRuleSetsMatchTheirMeaningIncludingFarJumps) {
  std::mt19937_64 random(14);
  const std::vector<uint64_t> values = {0, 1, 2, 9, 10, 0xffffffff, 0x100000000, ~uint64_t{0}};
  const auto pick = [&] { return values[random() % values.size()]; };
  for (int round = 0; round < 40; ++round) {
    FilterSpec spec{kDefault, {}};
    // Up to 300 rules on three syscalls: the blocks outgrow an 8-bit jump.
    const int rules = 1 + static_cast<int>(random() % 300);
    for (int i = 0; i < rules; ++i) {
      FilterRule rule{static_cast<int>(random() % 3),
                      SECCOMP_RET_ERRNO | static_cast<uint32_t>(2 + random() % 3)};
      const int conditions = static_cast<int>(random() % 4);
      for (int c = 0; c < conditions; ++c) {
        const int index = static_cast<int>(random() % 6);
        switch (random() % 8) {
          case 0:
            rule.all_of.push_back(Arg(index).Eq(pick()));
            break;
          case 1:
            rule.all_of.push_back(Arg(index).Ne(pick()));
            break;
          case 2:
            rule.all_of.push_back(Arg(index).Lt(pick()));
            break;
          case 3:
            rule.all_of.push_back(Arg(index).Le(pick()));
            break;
          case 4:
            rule.all_of.push_back(Arg(index).Gt(pick()));
            break;
          case 5:
            rule.all_of.push_back(Arg(index).Ge(pick()));
            break;
          case 6:
            rule.all_of.push_back(Arg(index).MaskedEq(pick(), pick() & 0xf));
            break;
          default:
            rule.all_of.push_back(Arg(index).In({pick(), pick()}));
            break;
        }
      }
      spec.rules.push_back(rule);
    }
    absl::StatusOr<std::vector<sock_filter>> program = CompileFilter(spec);
    if (!program.ok()) {
      EXPECT_EQ(program.status().code(), absl::StatusCode::kResourceExhausted);
      continue;
    }
    for (int call = 0; call < 200; ++call) {
      const int nr = static_cast<int>(random() % 4);
      std::vector<uint64_t> args(6);
      for (uint64_t& arg : args) arg = pick();
      ASSERT_EQ(Evaluate(*program, nr, args), Expected(spec, nr, args)) << "round " << round;
    }
  }
}

TEST(FilterCompiler, TooManyRulesAreRefusedNamingTheHeaviestSyscall) {
  FilterSpec spec{kDefault, {}};
  for (uint64_t v = 0; v < 1000; ++v) {
    spec.rules.push_back({__NR_read, kAllow, {Arg(0).Gt(v), Arg(1).Lt(v)}});
  }
  spec.rules.push_back({__NR_write, kAllow, {Arg(0).Eq(1)}});
  absl::StatusOr<std::vector<sock_filter>> program = CompileFilter(spec);
  ASSERT_EQ(program.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(program.status().message().find("the rules of syscall read take"), std::string::npos)
      << program.status();
}

TEST(FilterCompiler, BadRulesAreRefusedNamingTheRule) {
  EXPECT_EQ(CompileFilter({kDefault, {{__NR_read, kAllow}, {-1, kAllow}}}).status().message(),
            "filter rule 2 (syscall syscall_-1): number out of range");
  EXPECT_EQ(CompileFilter({kDefault, {{__NR_read, kAllow, {Arg(6).Eq(0)}}}}).status().message(),
            "filter rule 1 (syscall read): argument index 6 is outside 0..5");
  EXPECT_EQ(CompileFilter({kDefault, {{__NR_read, kAllow, {Arg(1).In({})}}}}).status().message(),
            "filter rule 1 (syscall read): argument 1: In needs at least one value");
}

TEST(FilterCompiler, PseudoCodeNamesEachSyscallAndCondition) {
  const std::string text =
      FilterPseudoCode({SECCOMP_RET_USER_NOTIF,
                        {{__NR_read, kAllow, {Arg(0).Gt(1), Arg(1).In({2, 3})}},
                         {__NR_mmap, kAllow, {Arg(2).MaskedEq(4, 0)}},
                         {__NR_ioctl, SECCOMP_RET_ERRNO | 25}}});
  EXPECT_EQ(text,
            "# x86_64 only: any other architecture, and any x32 call, is KILL_PROCESS\n"
            "# syscall \"read\" (0)\nif ($syscall == 0)\n"
            "  if ($a0 > 0x1 && ($a1 == 0x2 || $a1 == 0x3)) action ALLOW;\n"
            "# syscall \"mmap\" (9)\nif ($syscall == 9)\n"
            "  if (($a2 & 0x4) == 0) action ALLOW;\n"
            "# syscall \"ioctl\" (16)\nif ($syscall == 16)\n"
            "  action ERRNO(25);\n"
            "# default action\naction USER_NOTIF;\n");
}

}  // namespace
}  // namespace sbox
