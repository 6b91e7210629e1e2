// `sbox audit`: the table, the exports, each lint class, --diff, and --eval against the kernel.

#include "tools/audit_command.h"

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "broker/policy_text.h"
#include "broker/syscall_policy.h"
#include "broker/syscall_reach.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "proto/file_syscalls.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using testing::ScratchDir;
using testing::SharedInts;

struct Output {
  int status;
  std::string out;
  std::string err;
};

Output Audit(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int status = RunAudit(args, out, err);
  return {status, out.str(), err.str()};
}

TEST(Audit, TextTableHasOneRowPerSyscall) {
  ScratchDir dir;
  const std::string p = dir.WriteFile("t.policy",
                                      "default errno EPERM\n"
                                      "allow getppid if arg0 == 1 # c\n"
                                      "errno ENOTTY ioctl\n"
                                      "trap getsid\n"
                                      "allow group exit\n");
  const Output o = Audit({p});
  ASSERT_EQ(o.status, kAuditOk) << o.err;
  EXPECT_EQ(
      o.out,
      absl::StrCat("default: errno EPERM (", p, ":1)\n",
                   "SYSCALL       ACTION        CONDITIONS  SOURCE\n",
                   "close         allow         -           runtime\n",
                   "exit          allow         -           runtime; group exit via ", p, ":5\n",
                   "exit_group    allow         -           runtime; group exit via ", p,
                   ":5\n",  //
                   "getppid       allow if      arg0 == 1   ", p, ":2\n",
                   "getsid        trap          -           ", p, ":4\n",
                   "ioctl         errno ENOTTY  -           ", p, ":3\n",
                   "recvmsg       allow         -           runtime\n",
                   "rt_sigreturn  allow         -           runtime\n",
                   "sendmsg       allow         -           runtime\n"));
}

// File rules are listed after the syscalls, by path, with their kind, permissions, errno (deny
// rules) and source; create-modes, which has no path, last.
TEST(Audit, TextListsTheFileRules) {
  ScratchDir dir;
  const std::string p = dir.WriteFile("t.policy",
                                      "create-modes 0640 0750\n"
                                      "file rw /etc/shadow\n"
                                      "tree rwcd /root\n"
                                      "deny /root/.ssh justify \"keys\"\n"
                                      "temporary /tmp\n");
  const Output o = Audit({p});
  ASSERT_EQ(o.status, kAuditOk) << o.err;
  const size_t files = o.out.find("\n\n");
  ASSERT_NE(files, std::string::npos) << o.out;
  EXPECT_EQ(o.out.substr(files + 2),
            absl::StrCat("PATH         KIND          PERMISSIONS  ERRNO   SOURCE\n",
                         "/etc/shadow  file          rw           -       ", p, ":2\n",
                         "/root        tree          rwcd         -       ", p, ":3\n",
                         "/root/.ssh   deny          -            EACCES  ", p, ":4\n",
                         "/tmp         temporary     rwc          -       ", p, ":5\n",
                         "-            create-modes  0640 0750    -       ", p, ":1\n"));
}

// A private-tmp line is the program's /tmp, every right in it; --diff and --lint see it as such
// (a private directory is nobody else's: no finding).
TEST(Audit, PrivateTmpIsARowOnTmp) {
  ScratchDir dir;
  const std::string p = dir.WriteFile("p.policy", "private-tmp\ntree r /usr\n");
  const std::string q = dir.WriteFile("q.policy", "tree r /usr\n");
  Output o = Audit({p});
  ASSERT_EQ(o.status, kAuditOk) << o.err;
  const size_t files = o.out.find("\n\n");
  ASSERT_NE(files, std::string::npos) << o.out;
  EXPECT_EQ(o.out.substr(files + 2),
            absl::StrCat("PATH  KIND         PERMISSIONS  ERRNO  SOURCE\n",
                         "/tmp  private-tmp  rwcd         -      ", p, ":1\n",
                         "/usr  tree         r            -      ", p, ":2\n"));
  o = Audit({"--diff", p, q});
  EXPECT_EQ(o.out, "- /tmp: private-tmp rwcd\n");
  o = Audit({"--lint", p});
  EXPECT_EQ(o.out, "");
}

TEST(Audit, JsonListsTheFileRules) {
  ScratchDir dir;
  const std::string p =
      dir.WriteFile("t.policy", "file rw /etc/shadow\ndeny /etc\ncreate-modes 0600 0700\n");
  const Output o = Audit({"--format=json", p});
  ASSERT_EQ(o.status, kAuditOk) << o.err;
  EXPECT_NE(o.out.find(absl::StrCat(R"(,
  {"file_rule": "deny", "path": "/etc", "permissions": "-", "errno": "EACCES", "source": ")",
                                    p, R"(:2"},
  {"file_rule": "file", "path": "/etc/shadow", "permissions": "rw", "errno": null, "source": ")",
                                    p, R"(:1"},
  {"file_rule": "create-modes", "path": null, "permissions": "0600 0700", "errno": null, )",
                                    R"("source": ")", p, R"(:3"}
]
)")),
            std::string::npos)
      << o.out;
}

// The redirection group's calls read "redirect", including rt_sigprocmask, whose redirect
// overrides the signals group's allow as it does in the filter.
TEST(Audit, RedirectedCallsReadRedirect) {
  ScratchDir dir;
  const std::string p =
      dir.WriteFile("t.policy", "allow group signals\nallow group file-redirection\n");
  const Output o = Audit({p});
  ASSERT_EQ(o.status, kAuditOk) << o.err;
  for (const std::string name : {"openat", "openat2", "utimensat", "getcwd", "rt_sigprocmask"}) {
    const size_t row = o.out.find("\n" + name + " ");
    ASSERT_NE(row, std::string::npos) << name << "\n" << o.out;
    const std::string line = o.out.substr(row + 1, o.out.find('\n', row + 1) - row - 1);
    EXPECT_NE(line.find(" redirect "), std::string::npos) << line;
  }
  // The path-taking calls the broker does not perform answer their errno.
  for (const std::string refused : {"\nsetxattr ", "\nmount ", "\nuselib "}) {
    const size_t row = o.out.find(refused);
    ASSERT_NE(row, std::string::npos) << refused << "\n" << o.out;
    EXPECT_NE(o.out.substr(row, o.out.find('\n', row + 1) - row).find(" errno E"),
              std::string::npos)
        << o.out;
  }
}

TEST(Audit, EvalSaysWhatARedirectedCallBecomes) {
  ScratchDir dir;
  const std::string p = dir.WriteFile("t.policy", "allow group file-redirection\ntrap getsid\n");
  Output o = Audit({"--eval", p, "openat"});
  ASSERT_EQ(o.status, kAuditOk) << o.err;
  EXPECT_EQ(o.out,
            "TRAP (file-redirection: answered through the SIGSYS handler in-process; under sbox "
            "run a user notification the broker answers)\n");
  o = Audit({"--eval", p, "getsid"});
  EXPECT_EQ(o.out, "TRAP\n");
}

TEST(Audit, ConditionalAlternativesAndGroupConditions) {
  ScratchDir dir;
  const std::string p = dir.WriteFile(
      "t.policy", "allow getppid if arg0 == 1\nallow getppid if arg1 == 2\nallow group threads\n");
  const Output o = Audit({p});
  ASSERT_EQ(o.status, kAuditOk) << o.err;
  EXPECT_NE(o.out.find("(arg0 == 1) || (arg1 == 2)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("arg0 & 0x7e030000 == 0x10000"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("errno ENOSYS"), std::string::npos) << o.out;  // clone3
}

TEST(Audit, JsonIsAnArrayOfObjects) {
  ScratchDir dir;
  const std::string p =
      dir.WriteFile("t.policy", "allow socket if arg0 == AF_UNIX justify \"a \\\"q\\\"\"\n");
  const Output o = Audit({"--format=json", p});
  ASSERT_EQ(o.status, kAuditOk) << o.err;
  // Structure: [ {..}, {..} ] with balanced braces outside strings.
  ASSERT_GE(o.out.size(), 2u);
  EXPECT_EQ(o.out.front(), '[');
  EXPECT_EQ(o.out.substr(o.out.size() - 2), "]\n");
  int depth = 0, objects = 0;
  bool in_string = false;
  for (size_t i = 0; i < o.out.size(); ++i) {
    const char c = o.out[i];
    if (in_string) {
      if (c == '\\') ++i;
      if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') --depth;
    if (c == '{' && depth == 2) ++objects;
    ASSERT_GE(depth, 0);
  }
  EXPECT_EQ(depth, 0);
  EXPECT_FALSE(in_string);
  EXPECT_EQ(objects, 8);  // the default and 7 syscalls (6 runtime + socket)
  EXPECT_NE(o.out.find(R"({"syscall": "socket", "action": "allow if", "conditions": ["arg0 == )"
                       R"(AF_UNIX"])"),
            std::string::npos)
      << o.out;
}

TEST(Audit, PfcMentionsTheSyscalls) {
  ScratchDir dir;
  const std::string p = dir.WriteFile("t.policy", "allow getppid\n");
  const Output o = Audit({"--format=pfc", p});
  ASSERT_EQ(o.status, kAuditOk) << o.err;
  EXPECT_NE(o.out.find("\"getppid\""), std::string::npos) << o.out;
}

TEST(Audit, BpfCountIsTheInstructionCount) {
  ScratchDir dir;
  const std::string p = dir.WriteFile("t.policy", "allow group threads\nallow getppid\n");
  const Output o = Audit({"--format=bpf", p});
  ASSERT_EQ(o.status, kAuditOk) << o.err;
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyFile(p);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<SyscallPolicy> policy = parsed->syscalls.Build();
  ASSERT_TRUE(policy.ok()) << policy.status();
  std::vector<std::string> lines = absl::StrSplit(o.out, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), absl::StrCat(policy->instruction_count(), " instructions"));
  EXPECT_EQ(lines.size() - 1, policy->instruction_count());
}

TEST(Audit, UsageAndPolicyErrors) {
  EXPECT_EQ(Audit({}).status, kAuditUsageError);
  EXPECT_EQ(Audit({"--format=xml", "p"}).status, kAuditUsageError);
  EXPECT_EQ(Audit({"--bogus", "p"}).status, kAuditUsageError);
  EXPECT_EQ(Audit({"--help"}).status, kAuditOk);
  EXPECT_EQ(Audit({"/nonexistent/p.policy"}).status, kAuditPolicyError);
  ScratchDir dir;
  EXPECT_EQ(Audit({dir.WriteFile("bad.policy", "allow nosuchcall\n")}).status, kAuditPolicyError);
  EXPECT_EQ(Audit({dir.WriteFile("c.policy", "allow getppid\nerrno EPERM getppid\n")}).status,
            kAuditPolicyError);
  const std::string p = dir.WriteFile("ok.policy", "allow getppid\n");
  EXPECT_EQ(Audit({"--eval", p, "nosuchcall"}).status, kAuditUsageError);
  EXPECT_EQ(Audit({"--eval", p, "getppid", "12x"}).status, kAuditUsageError);
}

// ---- Lint ---------------------------------------------------------------------------------

TEST(AuditLint, EachClassFiresAndJustifySilencesIt) {
  const std::vector<std::string> dangerous = {
      "allow ptrace",
      "allow process_vm_readv",
      "allow process_vm_writev",
      "allow bpf",
      "allow perf_event_open",
      "allow userfaultfd",
      "allow io_uring_setup",
      "allow io_uring_enter",
      "allow io_uring_register",
      "allow keyctl",
      "allow add_key",
      "allow request_key",
      "allow unshare",
      "allow setns",
      "allow clone",
      "allow clone if arg0 & CLONE_THREAD == CLONE_THREAD",
      "allow kexec_load",
      "allow kexec_file_load",
      "allow init_module",
      "allow finit_module",
      "allow delete_module",
      "allow personality if arg0 == 0",
      "allow seccomp",
      "allow ioctl",
      "allow execve",
      "allow execveat",
      "allow socket",
      "allow socket if arg1 == SOCK_STREAM",
      "allow bind",
  };
  ScratchDir dir;
  for (const std::string& line : dangerous) {
    SCOPED_TRACE(line);
    const std::string name = std::vector<std::string>(absl::StrSplit(line, ' '))[1];
    const std::string p = dir.WriteFile("l.policy", absl::StrCat("# lint\n", line, "\n"));
    const Output o = Audit({"--lint", p});
    EXPECT_EQ(o.status, kAuditFindings);
    EXPECT_EQ(o.out.rfind(absl::StrCat(p, ":2: ", name, ": "), 0), 0u) << o.out;
    EXPECT_EQ(std::count(o.out.begin(), o.out.end(), '\n'), 1) << o.out;

    const std::string j =
        dir.WriteFile("j.policy", absl::StrCat("# lint\n", line, " justify \"reviewed\"\n"));
    const Output silenced = Audit({"--lint", j});
    EXPECT_EQ(silenced.status, kAuditOk) << silenced.out;
    EXPECT_EQ(silenced.out, "");
  }
}

// Only the broker acts on a path: an allow of any path-taking call bypasses the file rules,
// and no policy that has one loads, justified or not.
TEST(AuditLint, AnAllowOfAPathTakingCallNeverLoads) {
  ScratchDir dir;
  for (const proto::FileSyscall& call : proto::kFileSyscalls) {
    SCOPED_TRACE(call.name);
    for (const std::string& line :
         {absl::StrCat("allow ", call.name), absl::StrCat("allow ", call.name, " if arg0 == 1"),
          absl::StrCat("allow ", call.name, " justify \"reviewed\"")}) {
      const std::string p = dir.WriteFile("p.policy", absl::StrCat("# lint\n", line, "\n"));
      const Output o = Audit({"--lint", p});
      EXPECT_EQ(o.status, kAuditPolicyError) << o.out << o.err;
      EXPECT_NE((o.out + o.err).find(absl::StrCat("syscall ", call.name, " names a file")),
                std::string::npos)
          << o.out << o.err;
    }
  }
}

TEST(AuditLint, SafeFormsAreNotFindings) {
  ScratchDir dir;
  const std::string p = dir.WriteFile("s.policy",
                                      "allow group threads\n"
                                      "allow group basic-io\n"
                                      "allow group memory-without-exec\n"
                                      "allow group signals\n"
                                      "allow socket if arg0 == AF_UNIX && arg1 == SOCK_STREAM\n"
                                      "allow ioctl if arg1 == TCGETS\n"
                                      "errno EPERM ptrace\n"
                                      "trap execve\n"
                                      "errno ENOSYS openat\n");
  const Output o = Audit({"--lint", p});
  EXPECT_EQ(o.status, kAuditOk) << o.out;
  EXPECT_EQ(o.out, "");
}

// Every syscall of the reach table (broker/syscall_reach.h) allowed as such is a finding that
// says what it reaches; allowed under one of its inside conditions, it is not.
TEST(SyscallReachLint, EveryReachIsAFindingAndItsInsideFormsAreNot) {
  ScratchDir dir;
  for (const SyscallReach& row : ReachTable()) {
    SCOPED_TRACE(row.name);
    const std::string p = dir.WriteFile("r.policy", absl::StrCat("allow ", row.name, "\n"));
    const Output o = Audit({"--lint", p});
    EXPECT_EQ(o.status, kAuditFindings);
    EXPECT_EQ(o.out.rfind(absl::StrCat(p, ":1: ", row.name, ": "), 0), 0u) << o.out;
    for (const std::vector<ArgCondition>& inside : row.inside) {
      PolicyRule rule;
      rule.kind = PolicyRule::Kind::kAllow;
      rule.name = row.name;
      rule.all_of = inside;
      const std::string line = FormatRule(rule);
      const std::string q = dir.WriteFile("i.policy", absl::StrCat(line, "\n"));
      const Output inside_lint = Audit({"--lint", q});
      EXPECT_EQ(inside_lint.status, kAuditOk) << line << ": " << inside_lint.out;
    }
  }
}

TEST(SyscallReachLint, ConditionsThatLeaveAReachOpenAreFindings) {
  ScratchDir dir;
  for (const char* line : {
           "allow fcntl if arg1 == 8",  // F_SETOWN
           "allow fcntl if arg1 == F_SETFL",
           "allow fcntl if arg1 in {F_GETFD, 1024}",  // F_SETLEASE
           "allow prlimit64 if arg2 == 0",
           "allow futex if arg1 == 6",      // FUTEX_LOCK_PI
           "allow madvise if arg2 == 100",  // MADV_HWPOISON
           "allow socket if arg0 == AF_INET",
           "allow ioctl if arg1 == 0x5412",  // TIOCSTI
           "allow kill if arg0 == 0",
       }) {
    SCOPED_TRACE(line);
    const std::string p = dir.WriteFile("c.policy", absl::StrCat(line, "\n"));
    const Output o = Audit({"--lint", p});
    EXPECT_EQ(o.status, kAuditFindings) << o.out;
    const std::string j = dir.WriteFile("j.policy", absl::StrCat(line, " justify \"reviewed\"\n"));
    EXPECT_EQ(Audit({"--lint", j}).status, kAuditOk);
  }
  for (const char* line : {
           "allow fcntl if arg1 == F_GETFD",
           "allow fcntl if arg1 == F_SETFL && arg2 & 0x2000 == 0",  // O_ASYNC
           "allow prlimit64 if arg0 == 0",
           "allow get_robust_list if arg0 == 0",
           "allow ioctl if arg1 in {TCGETS, TIOCGWINSZ}",
       }) {
    SCOPED_TRACE(line);
    const Output o = Audit({"--lint", dir.WriteFile("s.policy", absl::StrCat(line, "\n"))});
    EXPECT_EQ(o.status, kAuditOk) << o.out;
  }
}

TEST(AuditEval, ExitGroupIsHeldForPendingReportsUnderKillAndReport) {
  ScratchDir dir;
  const std::string p = dir.WriteFile("e.policy", "allow group exit\n");
  Output o = Audit({"--eval", p, "exit_group", "0"});
  EXPECT_EQ(o.out, "USER_NOTIF (exit: let through once the reports pending beside it are read)\n");
  const std::string q = dir.WriteFile("q.policy", "default errno EPERM\nallow group exit\n");
  o = Audit({"--eval", q, "exit_group", "0"});
  EXPECT_EQ(o.out, "ALLOW\n");
}

TEST(AuditLint, ReportsEveryUnjustifiedLineInOrder) {
  ScratchDir dir;
  const std::string p = dir.WriteFile(
      "m.policy", "allow socket\nallow ptrace justify \"gdb\"\nallow getppid\nallow ioctl\n");
  const Output o = Audit({"--lint", p});
  EXPECT_EQ(o.status, kAuditFindings);
  EXPECT_EQ(o.out, absl::StrCat(p,
                                ":1: socket: any address family, including the network: "
                                "condition arg0 (domain)\n",
                                p,
                                ":4: ioctl: any ioctl reaches every driver the sandboxee holds a "
                                "descriptor of\n"));
}

// An allowance that lets the sandboxee make memory it wrote executable is a finding, unless
// justified; one whose conditions exclude PROT_EXEC, or that maps only files never writable
// (program-startup's mmap), is not.
TEST(AuditLint, ExecutableMemory) {
  ScratchDir dir;
  for (const char* line : {
           "allow mprotect",
           "allow mmap",
           "allow pkey_mprotect",
           "allow mprotect if arg2 & PROT_WRITE == 0",
           "allow mprotect if arg2 != PROT_READ",
           "allow mprotect if arg2 in {PROT_READ, PROT_READ|PROT_EXEC}",
           "allow mprotect if arg2 >= 4",
           "allow mmap if arg2 & PROT_WRITE == 0",
           "allow mmap if arg3 & MAP_ANONYMOUS == 0",
           "allow mmap if arg2 == PROT_READ|PROT_WRITE|PROT_EXEC && arg3 & MAP_ANONYMOUS == 0",
       }) {
    SCOPED_TRACE(line);
    const std::string name = std::vector<std::string>(absl::StrSplit(line, ' '))[1];
    const std::string p = dir.WriteFile("x.policy", absl::StrCat(line, "\n"));
    const Output o = Audit({"--lint", p});
    EXPECT_EQ(o.status, kAuditFindings);
    EXPECT_EQ(o.out, absl::StrCat(p, ":1: ", name,
                                  ": makes memory executable: require arg2 & PROT_EXEC == 0\n"));
    const std::string j = dir.WriteFile("j.policy", absl::StrCat(line, " justify \"a JIT\"\n"));
    const Output silenced = Audit({"--lint", j});
    EXPECT_EQ(silenced.status, kAuditOk) << silenced.out;
    EXPECT_EQ(silenced.out, "");
  }
  for (const char* line : {
           "allow mprotect if arg2 & PROT_EXEC == 0",
           "allow pkey_mprotect if arg2 in {PROT_NONE, PROT_READ, PROT_READ|PROT_WRITE}",
           "allow mprotect if arg2 < 4",
           "allow mmap if arg2 & PROT_EXEC|PROT_WRITE == PROT_READ",
           "allow mmap if arg2 & PROT_WRITE == 0 && arg3 & MAP_ANONYMOUS == 0",
           "allow group memory-without-exec",
           "allow group program-startup",
       }) {
    SCOPED_TRACE(line);
    const Output o = Audit({"--lint", dir.WriteFile("s.policy", absl::StrCat(line, "\n"))});
    EXPECT_EQ(o.status, kAuditOk) << o.out;
    EXPECT_EQ(o.out, "");
  }
}

// Each class of dangerous file grant fires on a rule, with the guarded paths it reaches, and
// a justification on the rule silences it.
TEST(AuditLint, DangerousFileGrants) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"tree w /",
       {"reaches kernel interfaces: /dev, /proc, /sys",
        "writes home directories: /home, /home/*, /home/*/.ssh, /root, /root/.ssh",
        "writes system files: /, /bin, /boot, /etc, /lib, /lib32, /lib64, /libx32, /sbin, /usr, "
        "/var"}},
      {"file w /etc/passwd", {"writes system files: /etc"}},
      {"tree c /usr", {"writes system files: /usr"}},
      {"temporary /etc", {"writes system files: /etc"}},
      {"file d /var/lib/x", {"writes system files: /var"}},
      {"tree w /home", {"writes home directories: /home, /home/*, /home/*/.ssh"}},
      {"file c /home/alice", {"writes home directories: /home/*"}},
      {"tree w /root", {"writes home directories: /root, /root/.ssh"}},
      {"file c /root/.ssh", {"writes home directories: /root/.ssh"}},
      {"tree r /dev", {"reaches kernel interfaces: /dev"}},
      {"file rw /dev/tty", {"reaches kernel interfaces: /dev"}},
      {"file s /dev/log", {"reaches kernel interfaces: /dev"}},
      {"file w /proc/self/mem", {"reaches kernel interfaces: /proc"}},
      {"file r /proc/1/environ", {"reaches kernel interfaces: /proc"}},
      {"tree r /sys", {"reaches kernel interfaces: /sys"}},
      {"file r /etc/shadow", {"reads secrets: /etc/shadow"}},
      {"tree r /etc", {"reads secrets: /etc/gshadow, /etc/gshadow-, /etc/shadow, /etc/shadow-"}},
      {"tree r /home", {"reads secrets: /home/*/.ssh"}},
      {"file r /root", {"reads secrets: /root"}},
      {"tree r /root", {"reads secrets: /root, /root/.ssh"}},
  };
  ScratchDir dir;
  for (const auto& [line, reasons] : cases) {
    SCOPED_TRACE(line);
    const std::string p = dir.WriteFile("f.policy", absl::StrCat("# lint\n", line, "\n"));
    const Output o = Audit({"--lint", p});
    EXPECT_EQ(o.status, kAuditFindings);
    std::string expected;
    for (const std::string& reason : reasons) {
      absl::StrAppend(&expected, p, ":2: ", line, ": ", reason, "\n");
    }
    EXPECT_EQ(o.out, expected);

    const std::string j =
        dir.WriteFile("j.policy", absl::StrCat("# lint\n", line, " justify \"reviewed\"\n"));
    const Output silenced = Audit({"--lint", j});
    EXPECT_EQ(silenced.status, kAuditOk) << silenced.out;
    EXPECT_EQ(silenced.out, "");
  }
}

// A rule reaches the guarded paths beneath it through its ancestors, but not those that a more
// specific rule decides: a deny, or a rule without the permission.
TEST(AuditLint, FileGrantsThroughAncestorsAndWhatDecidesInstead) {
  ScratchDir dir;
  const std::string p = dir.WriteFile("a.policy",
                                      "tree r /\n"
                                      "deny /proc\n"
                                      "deny /sys\n"
                                      "file w /etc/shadow\n"
                                      "deny /etc/gshadow\n"
                                      "tree r /root justify \"the build runs as root\"\n"
                                      "deny /home\n");
  const Output o = Audit({"--lint", p});
  EXPECT_EQ(o.status, kAuditFindings);
  EXPECT_EQ(o.out, absl::StrCat(p, ":1: tree r /: reaches kernel interfaces: /dev\n", p,
                                ":1: tree r /: reads secrets: /etc/gshadow-, /etc/shadow-\n", p,
                                ":4: file w /etc/shadow: writes system files: /etc\n"));

  // A deny on one user's keys leaves the others' (the deny on /home above covers them all).
  const std::string q = dir.WriteFile("h.policy", "tree r /home\ndeny /home/alice/.ssh\n");
  EXPECT_EQ(Audit({"--lint", q}).out,
            absl::StrCat(q, ":1: tree r /home: reads secrets: /home/*/.ssh\n"));
}

// What the shipped policies and learned ones grant is not dangerous.
TEST(AuditLint, UsualFileGrantsAreNotFindings) {
  ScratchDir dir;
  const std::string p = dir.WriteFile("u.policy",
                                      "tree r /usr\n"
                                      "tree r /lib\n"
                                      "file r /etc/ld.so.cache\n"
                                      "file r /etc/passwd\n"
                                      "file r /root/.jq\n"
                                      "temporary /tmp\n"
                                      "tree rwcd /var/tmp\n"
                                      "file rw /dev/null\n"
                                      "file r /dev/urandom\n"
                                      "file r /proc/self/maps\n"
                                      "tree r /etc\n"
                                      "deny /etc/shadow\n"
                                      "deny /etc/shadow-\n"
                                      "deny /etc/gshadow\n"
                                      "deny /etc/gshadow-\n"
                                      "deny /\n");
  const Output o = Audit({"--lint", p});
  EXPECT_EQ(o.status, kAuditOk) << o.out;
  EXPECT_EQ(o.out, "");
}

// A policy that parses but does not build is not clean: the rule at fault is a finding, with
// the builder's error, whether or not it is justified, beside the other findings; the exit
// status is the policy error's.
TEST(AuditLint, APolicyThatCannotLoadIsAFindingOnTheRuleAtFault) {
  ScratchDir dir;
  const std::string inner = dir.WriteFile("inner.policy",
                                          "allow getpid\n"
                                          "errno EPERM getppid justify \"reviewed\"\n");
  const std::string p = dir.WriteFile("l.policy",
                                      "allow getppid\n"
                                      "allow ptrace\n"
                                      "include \"inner.policy\"\n"
                                      "tree r /usr\n"
                                      "temporary /usr justify \"reviewed\"\n"
                                      "file r /etc/passwd\n");
  const Output o = Audit({"--lint", p});
  EXPECT_EQ(o.status, kAuditPolicyError);
  EXPECT_EQ(o.out, absl::StrCat(inner,
                                ":2: errno EPERM getppid: cannot load: syscall getppid: "
                                "conflicting actions allow and errno 1\n",
                                p,
                                ":2: ptrace: can read and write other processes, and escape "
                                "their filters\n",
                                p, ":5: temporary /usr: cannot load: rule 2 (temporary /usr, ", p,
                                ":5) contradicts rule 1 (tree /usr, ", p,
                                ":4): one path, two meanings\n"));
  // The table, --diff and --eval, which compile the filter only, still refuse it as before.
  EXPECT_EQ(Audit({p}).status, kAuditPolicyError);
}

// ---- Diff ---------------------------------------------------------------------------------

TEST(AuditDiff, BothDirections) {
  ScratchDir dir;
  const std::string a =
      dir.WriteFile("a.policy", "allow getppid\nerrno ENOTTY ioctl\nallow getuid\n");
  const std::string b = dir.WriteFile(
      "b.policy", "allow getppid if arg0 == 1\nallow getpid\nallow getuid\ndefault trap\n");
  const Output o = Audit({"--diff", a, b});
  EXPECT_EQ(o.status, kAuditFindings);
  EXPECT_EQ(o.out,
            "- (default): kill-and-report\n"
            "+ (default): trap\n"
            "+ getpid: allow\n"
            "- getppid: allow\n"
            "+ getppid: allow if arg0 == 1\n"
            "- ioctl: errno ENOTTY\n");
  const Output reverse = Audit({"--diff", b, a});
  EXPECT_EQ(reverse.status, kAuditFindings);
  EXPECT_NE(reverse.out.find("- getpid: allow\n"), std::string::npos) << reverse.out;
  EXPECT_NE(reverse.out.find("+ ioctl: errno ENOTTY\n"), std::string::npos) << reverse.out;
}

TEST(AuditDiff, EqualPoliciesWrittenDifferently) {
  ScratchDir dir;
  const std::string a = dir.WriteFile("a.policy", "allow group exit\nallow fcntl if arg1 == 1\n");
  const std::string b =
      dir.WriteFile("b.policy", "allow exit_group\nallow fcntl if arg1 == F_GETFD\n");
  const Output o = Audit({"--diff", a, b});
  EXPECT_EQ(o.status, kAuditOk) << o.out;
  EXPECT_EQ(o.out, "");
}

// Policies that differ only in their file rules differ: a path added, removed, or with other
// permissions, kind or errno, and other create modes.
TEST(AuditDiff, FileRulesByPath) {
  ScratchDir dir;
  const std::string a = dir.WriteFile("a.policy",
                                      "allow getppid\n"
                                      "file r /etc/passwd\n"
                                      "tree r /data\n"
                                      "file r /srv/x\n"
                                      "deny /data/secret\n");
  const std::string b = dir.WriteFile("b.policy",
                                      "allow getppid\n"
                                      "file rw /etc/shadow\n"
                                      "tree rwcd /root\n"
                                      "tree r /data\n"
                                      "tree r /srv/x\n"
                                      "file r /etc/passwd\n"
                                      "create-modes 0600 0750\n");
  const Output o = Audit({"--diff", a, b});
  EXPECT_EQ(o.status, kAuditFindings);
  EXPECT_EQ(o.out,
            "- (create-modes): 0600 0700\n"
            "+ (create-modes): 0600 0750\n"
            "- /data/secret: deny EACCES\n"
            "+ /etc/shadow: file rw\n"
            "+ /root: tree rwcd\n"
            "- /srv/x: file r\n"
            "+ /srv/x: tree r\n");
}

TEST(AuditDiff, OnlyAppendedFileRulesDiffer) {
  ScratchDir dir;
  const std::string a = dir.WriteFile("a.policy", "allow group exit\n");
  const std::string b =
      dir.WriteFile("b.policy", "allow group exit\nfile rw /etc/shadow\ntree rwcd /root\n");
  const Output o = Audit({"--diff", a, b});
  EXPECT_EQ(o.status, kAuditFindings);
  EXPECT_EQ(o.out, "+ /etc/shadow: file rw\n+ /root: tree rwcd\n");
}

TEST(AuditDiff, EqualFileRulesWrittenDifferently) {
  ScratchDir dir;
  const std::string a =
      dir.WriteFile("a.policy", "tree rw /data\ndeny /data\ncreate-modes 0600 0700\n");
  const std::string b = dir.WriteFile("b.policy", "deny /data # first\ntree wr \"/data\"\n");
  const Output o = Audit({"--diff", a, b});
  EXPECT_EQ(o.status, kAuditOk) << o.out;
  EXPECT_EQ(o.out, "");
}

// ---- Eval against the kernel --------------------------------------------------------------

struct EvalCase {
  std::string syscall;
  int nr;
  std::vector<uint64_t> args;
  std::string expected;  // what --eval must print
  int errno_if_run;      // the call's own result when allowed: 0 or an errno
};

SandboxResult RunCall(const std::string& policy_path, const EvalCase& c, SharedInts& r) {
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyFile(policy_path);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<SyscallPolicy> syscalls = parsed->syscalls.Build();
  EXPECT_TRUE(syscalls.ok()) << syscalls.status();
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().Build();
  EXPECT_TRUE(files.ok()) << files.status();
  Launcher launcher(*std::move(files), *std::move(syscalls));
  launcher.SetTimeout(absl::Seconds(60));
  uint64_t a[6] = {};
  for (size_t i = 0; i < c.args.size(); ++i) a[i] = c.args[i];
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd) {
    r[0] = 1;
    const long rc = syscall(c.nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    r[1] = rc >= 0 ? 0 : errno;
    return 0;
  });
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : SandboxResult();
}

void ExpectKernelAgrees(const std::string& policy_path, const std::vector<EvalCase>& cases) {
  for (const EvalCase& c : cases) {
    std::vector<std::string> args = {"--eval", policy_path, c.syscall};
    for (uint64_t v : c.args) args.push_back(absl::StrCat("0x", absl::Hex(v)));
    const Output o = Audit(args);
    SCOPED_TRACE(absl::StrCat(c.syscall, " ", absl::StrJoin(c.args, ","), ": ", o.out));
    ASSERT_EQ(o.status, kAuditOk) << o.err;
    EXPECT_EQ(o.out, c.expected + "\n");

    SharedInts r(2);
    const SandboxResult result = RunCall(policy_path, c, r);
    EXPECT_EQ(r[0], 1);
    if (c.expected == "ALLOW") {
      EXPECT_TRUE(result.ok()) << result.ToString();
      EXPECT_EQ(r[1], c.errno_if_run);
    } else if (c.expected.rfind("ERRNO(", 0) == 0) {
      EXPECT_TRUE(result.ok()) << result.ToString();
      EXPECT_EQ(absl::StrCat("ERRNO(", r[1], ")"), c.expected);
    } else if (c.expected == "TRAP" || c.expected == "KILL_PROCESS") {
      EXPECT_EQ(result.outcome, SandboxResult::Outcome::kSignaled) << result.ToString();
      EXPECT_EQ(result.signal, SIGSYS);
      EXPECT_FALSE(result.violation.has_value());
      EXPECT_EQ(r[1], SharedInts::kUnset);
    } else {
      EXPECT_EQ(c.expected, "USER_NOTIF (violation report)");
      ASSERT_EQ(result.outcome, SandboxResult::Outcome::kViolation) << result.ToString();
      EXPECT_EQ(result.violation->syscall_name, c.syscall);
      EXPECT_EQ(r[1], SharedInts::kUnset);
    }
  }
}

TEST(AuditEvalKernel, ErrnoDefault) {
  ScratchDir dir;
  const std::string p = dir.WriteFile("e.policy",
                                      "default errno EXDEV\n"
                                      "allow getppid if arg0 == 0x100000001 && arg1 in {1, 2}\n"
                                      "allow lseek if arg1 >= 0x100000000\n"
                                      "errno ENOTTY getpgid\n");
  // lseek's fd 0xffffffff is -1: EBADF when the call runs.
  ExpectKernelAgrees(p, {
                            {"getppid", SYS_getppid, {0x100000001, 2}, "ALLOW", 0},
                            {"getppid", SYS_getppid, {1, 1}, "ERRNO(18)", 0},
                            {"getppid", SYS_getppid, {0x100000001, 3}, "ERRNO(18)", 0},
                            {"getppid", SYS_getppid, {0x100000001, 0x100000001}, "ERRNO(18)", 0},
                            {"lseek", SYS_lseek, {0xffffffff, 0x100000000}, "ALLOW", EBADF},
                            {"lseek", SYS_lseek, {0xffffffff, 0xffffffffffffffff}, "ALLOW", EBADF},
                            {"lseek", SYS_lseek, {0xffffffff, 0xffffffff}, "ERRNO(18)", 0},
                            {"getpgid", SYS_getpgid, {0}, "ERRNO(25)", 0},
                            {"getuid", SYS_getuid, {}, "ERRNO(18)", 0},
                        });
}

TEST(AuditEvalKernel, KillAndReportDefaultAndTrap) {
  ScratchDir dir;
  const std::string p = dir.WriteFile("k.policy", "trap getsid\nallow getppid if arg0 == 7\n");
  ExpectKernelAgrees(
      p, {
             {"getppid", SYS_getppid, {7}, "ALLOW", 0},
             {"getppid", SYS_getppid, {0x700000007}, "USER_NOTIF (violation report)", 0},
             {"getsid", SYS_getsid, {0}, "TRAP", 0},
         });
}

TEST(AuditEvalKernel, KillProcessDefault) {
  ScratchDir dir;
  const std::string p = dir.WriteFile("p.policy", "default kill-process\nallow getppid\n");
  ExpectKernelAgrees(p, {
                            {"getppid", SYS_getppid, {5, 6}, "ALLOW", 0},
                            {"getpgid", SYS_getpgid, {0}, "KILL_PROCESS", 0},
                        });
}

}  // namespace
}  // namespace sbox
