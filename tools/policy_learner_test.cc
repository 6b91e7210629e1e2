// PolicyLearner: what it writes for what a run did, and that what it writes parses and builds.

#include "tools/policy_learner.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker/policy_text.h"
#include "gtest/gtest.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using testing::ScratchDir;

void Call(PolicyLearner& learner, int nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0,
          uint64_t a3 = 0) {
  const uint64_t args[6] = {a0, a1, a2, a3, 0, 0};
  learner.AddSyscall(nr, args);
}

void Request(PolicyLearner& learner, proto::Op op, const std::string& path, uint32_t flags = 0,
             const std::string& path2 = "") {
  Decision d = {};
  d.op = op;
  d.path = path;
  d.path2 = path2;
  d.flags = flags;
  d.pid = 1234;  // the sandboxee
  d.allowed = true;
  learner.AddDecision(d);
}

// The policy's text without comments and blank lines.
std::string Rules(const std::string& text) {
  std::string rules;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (const size_t hash = line.find("  #"); hash != std::string::npos) line.resize(hash);
    if (line.empty() || line[0] == '#') continue;
    absl::StrAppend(&rules, line, "\n");
  }
  return rules;
}

// The text parsed and both halves built.
void ExpectLoads(const std::string& text) {
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyText(text, "learned.policy");
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
  EXPECT_TRUE(parsed->syscalls.Build(Redirection::kUserNotification).ok()) << text;
  EXPECT_TRUE(parsed->files.Build().ok()) << parsed->files.Build().status() << "\n" << text;
}

// The rule lines of `text` that mention `word`.
std::vector<std::string> RulesWith(const std::string& text, const std::string& word) {
  std::vector<std::string> found;
  for (absl::string_view line : absl::StrSplit(Rules(text), '\n')) {
    if (absl::StrContains(line, word)) found.emplace_back(line);
  }
  return found;
}

TEST(PolicyLearner, NarrowsSyscallsToWhatWasSeen) {
  PolicyLearner learner;
  Call(learner, SYS_read, 0);
  Call(learner, SYS_read, 3);
  Call(learner, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  Call(learner, SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE);
  Call(learner, SYS_socket, AF_UNIX, SOCK_STREAM);
  Call(learner, SYS_socket, AF_INET, SOCK_DGRAM);
  Call(learner, SYS_prctl, 0x59616d61 /* PR_SET_PTRACER */, 1);
  Call(learner, SYS_getcpu);
  const std::string text = learner.PolicyText("prog arg");
  EXPECT_NE(text.find("# Learned by `sbox learn` from one run of: prog arg"), std::string::npos);
  EXPECT_NE(text.find("allow group basic-io  # seen: read 2\n"), std::string::npos) << text;
  // mmap of anonymous memory is memory-without-exec's, of an executable file program-startup's.
  EXPECT_EQ(Rules(text),
            "default kill-and-report\n"
            "allow group file-redirection\n"
            "errno ENOSYS clone3\n"
            "allow group basic-io\n"
            "allow group memory-without-exec\n"
            "allow group program-startup\n"
            "allow socket if arg0 in {1, 2}\n"
            "allow prctl if arg0 in {0x59616d61}\n"
            "allow getcpu\n");
  // The network socket the run made reaches outside: the line says so.
  EXPECT_NE(text.find("allow socket if arg0 in {1, 2}  # 2 calls; reaches outside the sandbox: "
                      "any family but AF_UNIX"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("allow prctl if arg0 in {0x59616d61}  # 1 call; reaches outside"),
            std::string::npos)
      << text;
  ExpectLoads(text);
}

// The command in the header stays a comment, whatever its arguments hold.
TEST(PolicyLearner, TheCommandStaysOneCommentLine) {
  PolicyLearner learner;
  const std::string text = learner.PolicyText("python3 -c 'import os\nallow ptrace\r'");
  EXPECT_TRUE(absl::StartsWith(
      text,
      "# Learned by `sbox learn` from one run of: python3 -c 'import os\\nallow ptrace\\r'\n"))
      << text;
  EXPECT_EQ(Rules(text).find("ptrace"), std::string::npos) << text;
  ExpectLoads(text);
}

// A call with a reach outside the sandbox that the run made only in its inside form is
// narrowed to that form: setpriority of its own process; a group member made outside its
// group's conditions gets a line of its own, which says what it reaches.
TEST(PolicyLearner, NarrowsToTheFormThatStaysInside) {
  PolicyLearner learner;
  Call(learner, SYS_setpriority, 0 /* PRIO_PROCESS */, 0, 5);
  const std::string text = learner.PolicyText("nice");
  EXPECT_NE(text.find("allow setpriority if arg0 == 0 && arg1 == 0  # 1 call\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("reaches outside"), std::string::npos) << text;
  PolicyLearner other;
  Call(other, SYS_getpgid, 1234);
  const std::string outside = other.PolicyText("x");
  EXPECT_NE(outside.find("allow getpgid  # 1 call; reaches outside"), std::string::npos) << outside;
  // An own-process call is the broker's to decide at run time, whatever pid it names (another
  // process's is then a violation): its group, not a line.
  PolicyLearner own;
  Call(own, SYS_sched_getaffinity, 1234, 128);
  const std::string broker = own.PolicyText("x");
  EXPECT_EQ(RulesWith(broker, "sched_getaffinity"), std::vector<std::string>{}) << broker;
  EXPECT_NE(broker.find("allow group own-process  # seen: sched_getaffinity 1"), std::string::npos)
      << broker;
  EXPECT_EQ(broker.find("allow group threads"), std::string::npos) << broker;
}

// A call no group admits is allowed outright rather than refused next time.
TEST(PolicyLearner, AllowsOutrightWhatNoGroupConditionAdmits) {
  PolicyLearner learner;
  Call(learner, SYS_getcpu, 0, 0, 0);
  EXPECT_NE(Rules(learner.PolicyText("numa")).find("allow getcpu\n"), std::string::npos);
}

// One member seen allows its whole group: the next input may need another (sched_yield under
// contention, mincore once /proc/self/maps is out of reach). basic-io is always there.
// A call widens to the first group that admits it: memory made executable is the only way to
// executable-memory, and the broker's own-process calls need no line of their own.
TEST(PolicyLearner, ACallWidensToTheFirstGroupThatAdmitsIt) {
  PolicyLearner plain;
  Call(plain, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  Call(plain, SYS_fcntl, 3, F_GETFL);
  EXPECT_EQ(RulesWith(plain.PolicyText("cat"), "allow"),
            (std::vector<std::string>{"allow group file-redirection", "allow group basic-io",
                                      "allow group memory-without-exec"}));
  PolicyLearner jit;
  Call(jit, SYS_mprotect, 0x10000, 4096, PROT_READ | PROT_EXEC);
  Call(jit, SYS_fcntl, 3, F_SETLK, 0x1000);
  Call(jit, SYS_ioctl, 1, TCGETS, 0x1000);
  Call(jit, SYS_sched_getaffinity, 1234, 128, 0x1000);
  const std::string text = jit.PolicyText("node");
  EXPECT_EQ(RulesWith(text, "allow"),
            (std::vector<std::string>{"allow group file-redirection", "allow group basic-io",
                                      "allow group own-process", "allow group executable-memory"}))
      << text;
  ExpectLoads(text);
}

TEST(PolicyLearner, AMemberSeenAllowsItsWholeGroup) {
  PolicyLearner learner;
  Call(learner, SYS_futex, 0x1000, 0x81 /* FUTEX_WAKE_PRIVATE */, 1);
  Call(learner, SYS_brk, 0);
  Call(learner, SYS_getcpu);
  const std::string text = learner.PolicyText("node");
  EXPECT_EQ(Rules(text),
            "default kill-and-report\n"
            "allow group file-redirection\n"
            "errno ENOSYS clone3\n"
            "allow group basic-io\n"
            "allow group memory-without-exec\n"
            "allow group threads\n"
            "allow getcpu\n");
  EXPECT_NE(text.find("allow group threads  # seen: futex 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("allow group basic-io  # always: output to stdout and stderr\n"),
            std::string::npos)
      << text;
  absl::StatusOr<ParsedPolicy> parsed = ParsePolicyText(text, "learned.policy");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<SyscallPolicy> built = parsed->syscalls.Build(Redirection::kUserNotification);
  ASSERT_TRUE(built.ok()) << built.status();
  // Neither sched_yield, mincore nor writev was seen; the groups allow them.
  const std::vector<std::string>& threads = SyscallPolicy::GroupMembers(SyscallGroup::kThreads);
  EXPECT_NE(std::find(threads.begin(), threads.end(), "sched_yield"), threads.end());
  const std::vector<std::string>& memory =
      SyscallPolicy::GroupMembers(SyscallGroup::kMemoryWithoutExec);
  EXPECT_NE(std::find(memory.begin(), memory.end(), "mincore"), memory.end());
  // Nothing seen at all still writes to stdout.
  PolicyLearner quiet;
  EXPECT_EQ(RulesWith(quiet.PolicyText("true"), "allow group"),
            (std::vector<std::string>{"allow group file-redirection", "allow group basic-io"}));
}

TEST(PolicyLearner, FileRulesCarryThePermissionsTheRequestsNeeded) {
  ScratchDir dir;
  const std::string input = dir.WriteFile("input", "x");
  const std::string output = dir.path() + "/output";
  const std::string gone = dir.path() + "/gone";
  const std::string link = dir.Symlink("link", "input");
  PolicyLearner learner({"/nonexistent-tmp"});
  Request(learner, proto::Op::kOpen, input, O_RDONLY | O_CLOEXEC);
  Request(learner, proto::Op::kStat, input);
  Request(learner, proto::Op::kOpen, output, O_WRONLY | O_TRUNC);
  Request(learner, proto::Op::kUnlink, gone);
  Request(learner, proto::Op::kOpen, dir.path() + "/missing/deeper", O_RDONLY);
  Request(learner, proto::Op::kOpen, link, O_RDONLY);
  Request(learner, proto::Op::kOpen, "/proc/1234/status", O_RDONLY);
  Request(learner, proto::Op::kStat, "/proc/1234");
  Request(learner, proto::Op::kOpen, "/proc/12345/status", O_RDONLY);  // not /proc/1234's
  Request(learner, proto::Op::kOpen, "/proc/1/status", O_RDONLY);
  Request(learner, proto::Op::kOpen, dir.path() + "/", O_RDONLY | O_DIRECTORY);
  Request(learner, proto::Op::kOpen, "/a/../b", O_RDONLY);
  const std::string text = learner.PolicyText("prog");
  EXPECT_NE(text.find(absl::StrCat("file r ", input, "\n")), std::string::npos) << text;
  EXPECT_NE(text.find(absl::StrCat("file w ", output, "\n")), std::string::npos) << text;
  EXPECT_NE(text.find(absl::StrCat("file d ", gone, "\n")), std::string::npos) << text;
  // Grants are names: the directory opened as "dir/", the symlink the program named (the
  // broker follows it and judges its target), and a path whose directory is missing today.
  EXPECT_NE(text.find(absl::StrCat("file r ", dir.path(), "\n")), std::string::npos) << text;
  EXPECT_NE(text.find(absl::StrCat("file r ", link, "\n")), std::string::npos) << text;
  EXPECT_NE(text.find(absl::StrCat("file r ", dir.path(), "/missing/deeper\n")), std::string::npos)
      << text;
  EXPECT_EQ(text.find("/a/../b"), std::string::npos) << text;
  // Its own /proc is /proc/self, whatever the pid next time; another process's is left out.
  EXPECT_NE(text.find("file r /proc/self/status\n"), std::string::npos) << text;
  EXPECT_NE(text.find("file r /proc/self\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# not granted (another process's /proc): /proc/1/status\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# not granted (another process's /proc): /proc/12345/status\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("/proc/1234/"), std::string::npos) << text;
  EXPECT_EQ(text.find("/proc/1234\n"), std::string::npos) << text;
  ExpectLoads(text);
}

// What the program created, and the directories it created them in, are one tree at the
// directory it created things in, with every permission used there: another archive extracts.
TEST(PolicyLearner, CreatedFilesAreOneTreeWhereTheyWereCreated) {
  ScratchDir dir;
  const std::string out = dir.path() + "/out";
  PolicyLearner learner({"/nonexistent-tmp"});
  Request(learner, proto::Op::kStat, out);
  Request(learner, proto::Op::kMkdir, out + "/dir");
  Request(learner, proto::Op::kMkdir, out + "/dir/sub");
  Request(learner, proto::Op::kOpen, out + "/dir/sub/a", O_WRONLY | O_CREAT | O_EXCL);
  Request(learner, proto::Op::kOpen, out + "/dir/.b.tmp", O_WRONLY | O_CREAT);
  Request(learner, proto::Op::kRename, out + "/dir/.b.tmp", 0, out + "/dir/b");
  Request(learner, proto::Op::kOpen, out + "/top", O_WRONLY | O_CREAT);
  // Beside it, an input read; and a file written into the installation keeps its own rule.
  Request(learner, proto::Op::kOpen, dir.path() + "/archive.tar", O_RDONLY);
  Request(learner, proto::Op::kOpen, "/usr/lib/python3/dist-packages/x.pyc", O_WRONLY | O_CREAT);
  Request(learner, proto::Op::kOpen, "/made-at-top", O_WRONLY | O_CREAT);
  const std::string text = learner.PolicyText("tar -x -C out");
  EXPECT_EQ(RulesWith(text, out), std::vector<std::string>{absl::StrCat("tree rwcd ", out)})
      << text;
  EXPECT_EQ(RulesWith(text, "archive.tar"),
            std::vector<std::string>{absl::StrCat("file r ", dir.path(), "/archive.tar")})
      << text;
  EXPECT_EQ(RulesWith(text, "x.pyc"),
            std::vector<std::string>{"file wc /usr/lib/python3/dist-packages/x.pyc"})
      << text;
  EXPECT_EQ(RulesWith(text, "/made-at-top"), std::vector<std::string>{"file wc /made-at-top"})
      << text;
  EXPECT_EQ(RulesWith(text, "tree"), std::vector<std::string>{absl::StrCat("tree rwcd ", out)})
      << text;
  ExpectLoads(text);
}

// Names the program made beneath a temporary directory are `private-tmp`, never rules; what it
// only read there is an input, with its rule.
TEST(PolicyLearner, TemporaryNamesArePrivateTmp) {
  PolicyLearner learner({"/tmp", "/scratch/t"});
  Request(learner, proto::Op::kOpen, "/tmp/tmp.Ab12Cd", O_RDWR | O_CREAT | O_EXCL);
  Request(learner, proto::Op::kUnlink, "/tmp/tmp.Ab12Cd");
  Request(learner, proto::Op::kMkdir, "/scratch/t/work.1");
  Request(learner, proto::Op::kOpen, "/scratch/t/work.1/part", O_WRONLY | O_CREAT);
  Request(learner, proto::Op::kStat, "/scratch/t/work.1-other");
  Request(learner, proto::Op::kOpen, "/tmp/input.txt", O_RDONLY);
  const std::string text = learner.PolicyText("sort");
  EXPECT_EQ(Rules(text).find("private-tmp\n") != std::string::npos, true) << text;
  EXPECT_EQ(RulesWith(text, "private-tmp"), std::vector<std::string>{"private-tmp"}) << text;
  EXPECT_EQ(RulesWith(text, "/tmp/"), std::vector<std::string>{"file r /tmp/input.txt"}) << text;
  EXPECT_EQ(RulesWith(text, "/scratch"), std::vector<std::string>{"file r /scratch/t/work.1-other"})
      << text;
  ExpectLoads(text);
  // Output written into a directory that was there before is no temporary name: a tree.
  PolicyLearner worker;
  Request(worker, proto::Op::kOpen, "/tmp/work/in.tar", O_RDONLY);
  Request(worker, proto::Op::kMkdir, "/tmp/work/out/tree");
  Request(worker, proto::Op::kOpen, "/tmp/work/out/tree/a", O_WRONLY | O_CREAT);
  const std::string work = worker.PolicyText("tar");
  EXPECT_EQ(work.find("private-tmp"), std::string::npos) << work;
  EXPECT_EQ(RulesWith(work, "/tmp/work/out"), std::vector<std::string>{"tree wc /tmp/work/out"})
      << work;
  // Reading alone makes no private /tmp.
  PolicyLearner reader;
  Request(reader, proto::Op::kOpen, "/tmp/input.txt", O_RDONLY);
  EXPECT_EQ(reader.PolicyText("cat").find("private-tmp"), std::string::npos);
}

TEST(PolicyLearner, PackageDirectoryIsOneLevelBelowTheArea) {
  EXPECT_EQ(PolicyLearner::PackageDirectory("/usr/share/perl5/File/Temp.pm"), "/usr/share/perl5");
  EXPECT_EQ(PolicyLearner::PackageDirectory("/usr/lib/python3.11/json/__init__.py"),
            "/usr/lib/python3.11");
  EXPECT_EQ(PolicyLearner::PackageDirectory(
                "/usr/lib/x86_64-linux-gnu/ImageMagick-6.9.11/modules-Q16/coders/png.so"),
            "/usr/lib/x86_64-linux-gnu/ImageMagick-6.9.11");
  EXPECT_EQ(PolicyLearner::PackageDirectory("/etc/ImageMagick-6/policy.xml"), "/etc/ImageMagick-6");
  EXPECT_EQ(PolicyLearner::PackageDirectory("/usr/local/lib/site_perl/Foo.pm"),
            "/usr/local/lib/site_perl");
  EXPECT_EQ(PolicyLearner::PackageDirectory("/lib/x86_64-linux-gnu/security/pam_unix.so"),
            "/lib/x86_64-linux-gnu/security");
  EXPECT_EQ(PolicyLearner::PackageDirectory("/opt/tool/lib/x.so"), "/opt/tool");
  // Directly in an area, or in /etc: no package. Never an area itself.
  for (const char* path :
       {"/usr/bin/perl", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2",
        "/etc/passwd", "/usr/share/perl5", "/usr/lib/x86_64-linux-gnu", "/usr/lib", "/usr", "/etc",
        "/usr/src/linux/Makefile", "/share/x/y", "/home/u/lib/x/y", "/opt/tool", "/", "",
        "usr/share/perl5/A.pm"}) {
    EXPECT_EQ(PolicyLearner::PackageDirectory(path), "") << path;
  }
}

// The installation's files, read, become trees at their packages' directories; what the
// program probed and did not find is still covered, so it gets ENOENT next time too.
TEST(PolicyLearner, InstallationFilesArePackageTrees) {
  PolicyLearner learner;
  Request(learner, proto::Op::kOpen, "/usr/share/perl5/File/Temp.pm", O_RDONLY);
  Request(learner, proto::Op::kStat, "/usr/share/perl5/File");
  Request(learner, proto::Op::kStat, "/usr/share/perl5");
  Request(learner, proto::Op::kOpen, "/usr/local/lib/site_perl/File/Temp.pm", O_RDONLY);
  Request(learner, proto::Op::kOpen, "/usr/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY);
  Request(learner, proto::Op::kOpen, "/etc/ImageMagick-6/policy.xml", O_RDONLY);
  Request(learner, proto::Op::kOpen, "/etc/passwd", O_RDONLY);
  Request(learner, proto::Op::kOpen, "/usr/share/perl5/Written.pm", O_WRONLY);
  const std::string text = learner.PolicyText("perl");
  EXPECT_EQ(
      RulesWith(text, "/usr/share/perl5"),
      (std::vector<std::string>{"tree r /usr/share/perl5", "file rw /usr/share/perl5/Written.pm"}))
      << text;
  EXPECT_EQ(RulesWith(text, "site_perl"),
            std::vector<std::string>{"tree r /usr/local/lib/site_perl"})
      << text;
  EXPECT_EQ(RulesWith(text, "/etc/"),
            (std::vector<std::string>{"tree r /etc/ImageMagick-6", "file r /etc/passwd"}))
      << text;
  EXPECT_EQ(RulesWith(text, "libc"),
            std::vector<std::string>{"file r /usr/lib/x86_64-linux-gnu/libc.so.6"})
      << text;
  ExpectLoads(text);
}

// --merge: a second run adds to the first one's policy; the result allows both, its file rules
// generalised as one run's are.
TEST(PolicyLearner, MergeAddsARunToAPolicy) {
  PolicyLearner first;
  Call(first, SYS_read, 0);
  Call(first, SYS_socket, AF_INET, SOCK_STREAM);
  Call(first, SYS_getcpu);
  Request(first, proto::Op::kOpen, "/data/in1", O_RDONLY);
  Request(first, proto::Op::kOpen, "/data/out/a", O_WRONLY | O_CREAT);
  Request(first, proto::Op::kOpen, "/tmp/x", O_RDWR | O_CREAT);
  const std::string first_text =
      absl::StrCat(first.PolicyText("prog in1"), "deny /data/secret  # written by hand\n");

  PolicyLearner second({"/nonexistent-tmp"});
  ASSERT_TRUE(second.Merge(first_text, "first.policy").ok());
  Call(second, SYS_futex, 0x1000, 0x81, 1);
  Call(second, SYS_socket, AF_INET6, SOCK_STREAM);
  Request(second, proto::Op::kOpen, "/data/in2", O_RDONLY);
  Request(second, proto::Op::kOpen, "/usr/share/perl5/A.pm", O_RDONLY);
  const std::string text = second.PolicyText("prog in2");
  EXPECT_TRUE(absl::StartsWith(text,
                               "# Learned by `sbox learn` from one run of: prog in2\n"
                               "# merged with the runs of: first.policy\n"))
      << text;
  EXPECT_EQ(Rules(text),
            "default kill-and-report\n"
            "allow group file-redirection\n"
            "errno ENOSYS clone3\n"
            "allow group basic-io\n"
            "allow group threads\n"
            "allow socket if arg0 in {2, 10}\n"
            "allow getcpu\n"
            "private-tmp\n"
            "tree wc /data/out\n"
            "tree r /usr/share/perl5\n"
            "file r /data/in1\n"
            "file r /data/in2\n"
            "deny /data/secret\n");
  ExpectLoads(text);
  // The values a syscall is narrowed to are one line with both runs' values.
  EXPECT_NE(text.find("allow socket if arg0 in {2, 10}  # 1 call"), std::string::npos) << text;
  // Merging the result again changes no rule (the merged syscall lines come last, sorted).
  PolicyLearner again({"/nonexistent-tmp"});
  ASSERT_TRUE(again.Merge(text, "merged.policy").ok());
  std::vector<std::string> before = absl::StrSplit(Rules(text), '\n');
  std::vector<std::string> after = absl::StrSplit(Rules(again.PolicyText("prog in2")), '\n');
  std::sort(before.begin(), before.end());
  std::sort(after.begin(), after.end());
  EXPECT_EQ(after, before);
  EXPECT_NE(again.PolicyText("x").find("allow socket if arg0 in {2, 10}  # from the merged policy"),
            std::string::npos);
  // A policy that does not parse is refused, naming the file and line.
  PolicyLearner bad;
  const absl::Status status = bad.Merge("allow read\nalow write\n", "bad.policy");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(status.message(), "bad.policy:2:1: expected a rule")) << status;
}

// What the learner could not record is said, so that `sbox learn` warns.
TEST(PolicyLearner, SaysWhatItCouldNotRecord) {
  PolicyLearner learner;
  EXPECT_TRUE(learner.Incomplete().empty());
  // Only the arguments a line may compare are kept: 10000 futexes at different addresses are
  // one kind of call, a wake, which the threads group admits.
  for (uint64_t i = 0; i < 10000; ++i) Call(learner, SYS_futex, 0x10000 + 4 * i, 0x81, 1);
  EXPECT_TRUE(learner.Incomplete().empty());
  for (uint64_t i = 0; i <= 4096; ++i) Call(learner, SYS_socket, 100 + i, SOCK_STREAM);
  Decision refused = {};
  refused.op = proto::Op::kOpen;
  refused.path = "relative/../path";
  refused.allowed = false;
  learner.AddDecision(refused);
  EXPECT_EQ(learner.Incomplete(),
            (std::vector<std::string>{
                "more than 4096 distinct argument tuples of socket: not all were recorded, and "
                "its line allows any",
                "1 file request(s) were refused while learning and get no rule "
                "(relative/../path)"}));
  const std::string text = learner.PolicyText("x");
  EXPECT_NE(Rules(text).find("allow socket\n"), std::string::npos) << text;
  EXPECT_NE(Rules(text).find("allow group threads\n"), std::string::npos) << text;
  EXPECT_EQ(Rules(text).find("futex"), std::string::npos) << text;
}

}  // namespace
}  // namespace sbox
