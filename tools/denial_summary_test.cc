// What `sbox run` says about refused file operations: which are listed, with which hint.

#include "tools/denial_summary.h"

#include <errno.h>
#include <fcntl.h>

#include <algorithm>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace sbox {
namespace {

Decision Refused(proto::Op op, std::string_view path, uint32_t flags = 0, int error = ENOENT,
                 const Rule* rule = nullptr) {
  Decision d = {};
  d.op = op;
  d.path = path;
  d.flags = flags;
  d.allowed = false;
  d.error = error;
  d.rule = rule;
  d.reason = rule != nullptr ? "a deny rule covers the path" : "no rule covers the path";
  return d;
}

TEST(DenialSummary, NothingWorthShowingPrintsNothing) {
  DenialSummary summary;
  Decision allowed = Refused(proto::Op::kOpen, "/etc/passwd");
  allowed.allowed = true;
  summary.Add(allowed);
  // The loader's look for /etc/ld.so.preload, a search path's miss: counted, not listed.
  summary.Add(Refused(proto::Op::kAccess, "/etc/ld.so.preload", R_OK));
  summary.Add(Refused(proto::Op::kStat, "/usr/local/lib/site"));
  EXPECT_EQ(summary.count(), 2);
  EXPECT_EQ(summary.Text(true), "");
  EXPECT_EQ(summary.Text(false), "");
}

// A file a program may cope without (an optional configuration file): listed only
// when the run failed.
TEST(DenialSummary, OpensOfUncoveredPathsAreListedWhenTheRunFailed) {
  DenialSummary summary;
  summary.Add(Refused(proto::Op::kOpen, "/etc/passwd", O_RDONLY));
  EXPECT_EQ(summary.Text(false), "");
  EXPECT_EQ(summary.Text(true),
            "sbox: 1 file operation refused (-v shows each); the first:\n"
            "sbox:   open \"/etc/passwd\" O_RDONLY: denied, ENOENT: no rule "
            "covers the path; to grant it: --allow-read /etc/passwd, or the "
            "policy line `file r /etc/passwd`\n");
  Rule tree{RuleKind::kTree, kRead, "/in", EACCES, "--allow-read"};
  summary.Add(Refused(proto::Op::kOpen, "/in/x", O_WRONLY, EACCES, &tree));
  const std::string text = summary.Text(false);
  EXPECT_NE(text.find("sbox: 2 file operations refused"), std::string::npos) << text;
  EXPECT_NE(text.find("open \"/in/x\" O_WRONLY"), std::string::npos) << text;
  EXPECT_EQ(text.find("/etc/passwd"), std::string::npos) << text;
}

// An open of a file that is not there outside either got the answer it would have got
// unsandboxed: nothing to grant, nothing listed.
TEST(DenialSummary, AFileAbsentOutsideTooIsNotListed) {
  DenialSummary summary;
  summary.Add(Refused(proto::Op::kOpen, "/usr/share/locale/xx/LC_MESSAGES/sbox-none.mo", O_RDONLY));
  EXPECT_EQ(summary.count(), 1);
  EXPECT_EQ(summary.Text(true), "");
  summary.Add(Refused(proto::Op::kStat, "/usr/share/perl5/Sbox/None.pm"));
  EXPECT_EQ(summary.Text(true), "");
  summary.Add(Refused(proto::Op::kOpen, "/no-such-dir/new", O_WRONLY | O_CREAT));
  EXPECT_NE(summary.Text(true).find("/no-such-dir/new"), std::string::npos);
}

// A stat of a file that is there outside, answered as absent, may be why the run failed (perl
// looks for its modules with stat along @INC).
TEST(DenialSummary, AProbeOfAFileThatIsThereIsListedWhenTheRunFailed) {
  DenialSummary summary;
  summary.Add(Refused(proto::Op::kStat, "/etc/passwd"));
  EXPECT_EQ(summary.Text(false), "");
  EXPECT_NE(summary.Text(true).find("stat \"/etc/passwd\""), std::string::npos)
      << summary.Text(true);
}

// sox's O_TMPFILE open, refused as malformed, then done another way: no grant would change
// it, so it is listed only when the run failed, and without a hint.
TEST(DenialSummary, AMalformedRequestIsListedOnlyWhenTheRunFailedAndWithoutAHint) {
  DenialSummary summary;
  Rule tree{RuleKind::kTree, kRead | kWrite | kCreate | kDelete, "/tmp/p", EACCES, "--private-tmp"};
  summary.Add(Refused(proto::Op::kOpen, "/tmp/p", O_RDWR | O_TMPFILE, EINVAL, &tree));
  EXPECT_EQ(summary.Text(false), "");
  const std::string text = summary.Text(true);
  EXPECT_NE(text.find("open \"/tmp/p\""), std::string::npos) << text;
  EXPECT_EQ(text.find("to grant it"), std::string::npos) << text;
}

TEST(DenialSummary, TheSandboxeesOwnProcEntriesAreGrantedAsProcSelf) {
  Decision own = Refused(proto::Op::kReadlink, "/proc/4242/exe");
  own.pid = 4242;
  EXPECT_EQ(DenialSummary::Hint(own),
            "to grant it: --allow-read /proc/self/exe, or the policy line `file r /proc/self/exe`");
  Decision other = Refused(proto::Op::kReadlink, "/proc/42421/exe");
  other.pid = 4242;
  EXPECT_EQ(DenialSummary::Hint(other),
            "to grant it: --allow-read /proc/42421/exe, or the policy line `file r "
            "/proc/42421/exe`");
}

TEST(DenialSummary, ListsTheFirstDistinctRefusalsWithAHint) {
  DenialSummary summary;
  summary.Add(Refused(proto::Op::kStat, "/usr/local/lib/site"));
  summary.Add(Refused(proto::Op::kOpen, "/etc/group", O_RDONLY));
  summary.Add(Refused(proto::Op::kOpen, "/etc/group", O_RDONLY));
  summary.Add(Refused(proto::Op::kOpen, "/out/x.ppm", O_WRONLY | O_CREAT | O_TRUNC));
  EXPECT_EQ(summary.count(), 4);
  EXPECT_EQ(summary.Text(false), "");
  EXPECT_EQ(summary.Text(true),
            "sbox: 4 file operations refused (-v shows each); the first:\n"
            "sbox:   open \"/etc/group\" O_RDONLY: denied, ENOENT: no rule covers "
            "the path; to grant it: --allow-read /etc/group, or the policy line "
            "`file r /etc/group`\n"
            "sbox:   open \"/out/x.ppm\" O_WRONLY|O_CREAT|O_TRUNC mode=0: denied, ENOENT: no rule "
            "covers the path; to grant it: --allow-write /out/x.ppm, or the policy line `file "
            "rwcd /out/x.ppm`\n");
  for (int i = 0; i < 10; ++i) {
    summary.Add(Refused(proto::Op::kMkdir, "/d" + std::to_string(i)));
  }
  const std::string text = summary.Text(true);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1 + DenialSummary::kMaxListed) << text;
}

TEST(DenialSummary, HintsByOperationAndRule) {
  Rule deny{RuleKind::kDeny, 0, "/home/u/.ssh", EACCES, "t.policy:4"};
  EXPECT_EQ(
      DenialSummary::Hint(Refused(proto::Op::kOpen, "/home/u/.ssh/id", O_RDONLY, EACCES, &deny)),
      "a deny rule decides: `deny /home/u/.ssh` at t.policy:4");
  EXPECT_EQ(DenialSummary::Hint(Refused(proto::Op::kConnect, "/run/s.sock")),
            "to grant it, the policy line `file s /run/s.sock`");
  EXPECT_EQ(DenialSummary::Hint(Refused(proto::Op::kUnlink, "/a")),
            "to grant it: --allow-write /a, or the policy line `file rwcd /a`");
  EXPECT_EQ(DenialSummary::Hint(Refused(proto::Op::kChdir, "/a")),
            "to grant it: --allow-read /a, or the policy line `file r /a`");
  EXPECT_EQ(DenialSummary::Hint(Refused(proto::Op::kOpen, "relative")), "");
  // An uncovered-paths EACCES policy answers probes with EACCES: those are listed.
  EXPECT_EQ(DenialSummary::Class(Refused(proto::Op::kStat, "/x", 0, EACCES)),
            DenialSummary::Kind::kListed);
}

TEST(DenialSummary, VerboseWritesEachRefusal) {
  std::ostringstream verbose;
  DenialSummary summary(&verbose);
  summary.Add(Refused(proto::Op::kAccess, "/etc/ld.so.preload", R_OK));
  EXPECT_EQ(verbose.str(),
            "sbox: access \"/etc/ld.so.preload\" mode=04: denied, ENOENT: no rule covers the "
            "path\n");
}

}  // namespace
}  // namespace sbox
