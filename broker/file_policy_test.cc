// FilePolicy on real directories: Build opens every grant's root directory that exists (or its
// nearest existing ancestor), so the grants need a file system under them.

#include "broker/file_policy.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tests/fd_count.h"

namespace sbox {
namespace {

using ::sbox::testing::CountOpenFds;

// A fresh directory under the test's temporary directory, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = getenv("TEST_TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/file_policy_XXXXXX";
    path_ = mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~ScratchDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }

  // Creates `relative` (and its parents) as directories; returns the absolute path.
  std::string Mkdir(const std::string& relative) const {
    const std::string full = path_ + "/" + relative;
    std::filesystem::create_directories(full);
    return full;
  }

 private:
  std::string path_;
};

class FilePolicyTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  FilePolicy BuildOrDie(const FilePolicy::Builder& builder) {
    absl::StatusOr<FilePolicy> policy = builder.Build();
    EXPECT_TRUE(policy.ok()) << policy.status();
    return *std::move(policy);
  }

  ScratchDir dir_;
};

// The same directory: grant roots are O_PATH descriptors, compared by device and inode.
bool SameFile(int fd, const std::string& path) {
  struct stat by_fd;
  struct stat by_path;
  return fstat(fd, &by_fd) == 0 && stat(path.c_str(), &by_path) == 0 &&
         by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino;
}

TEST_F(FilePolicyTest, RelativePathIsInvalidArgumentNamingThePath) {
  for (const char* path : {"etc/passwd", "/etc/../passwd", "/etc/", ""}) {
    absl::StatusOr<FilePolicy> policy = FilePolicy::Builder().AllowReadFile(path).Build();
    ASSERT_FALSE(policy.ok()) << path;
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(policy.status().message().find(std::string("\"") + path + "\""),
              absl::string_view::npos)
        << policy.status();
  }
}

TEST_F(FilePolicyTest, RootAsAFileGrantIsInvalidArgument) {
  for (auto allow :
       {&FilePolicy::Builder::AllowReadFile, &FilePolicy::Builder::AllowReadWriteFile}) {
    FilePolicy::Builder builder;
    (builder.*allow)("/");
    absl::StatusOr<FilePolicy> policy = builder.Build();
    ASSERT_FALSE(policy.ok());
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(policy.status().message().find("\"/\" is not a file"), absl::string_view::npos)
        << policy.status();
  }
  EXPECT_TRUE(FilePolicy::Builder().AllowReadTree("/").Build().ok());
}

// Allow rules of one kind on one path combine: one rule, the union of their permissions.
TEST_F(FilePolicyTest, AllowRulesOfOneKindOnOnePathCombine) {
  const std::string file = dir_.path() + "/f";
  const std::string tree = dir_.Mkdir("t");
  {
    FilePolicy policy = BuildOrDie(FilePolicy::Builder().AllowReadFile(file).AllowReadFile(file));
    ASSERT_EQ(policy.rules().size(), 1u);
    EXPECT_EQ(policy.rules()[0].permissions, kRead);
  }
  {
    FilePolicy policy =
        BuildOrDie(FilePolicy::Builder().AllowReadFile(file).AllowFile(file, kWrite | kDelete));
    ASSERT_EQ(policy.rules().size(), 1u);
    EXPECT_EQ(policy.rules()[0].kind, RuleKind::kFile);
    EXPECT_EQ(policy.rules()[0].permissions, kRead | kWrite | kDelete);
    const FilePolicy::Match match = policy.Find(file);
    ASSERT_NE(match.rule, nullptr);
    EXPECT_EQ(match.rule->permissions, kRead | kWrite | kDelete);
  }
  {
    FilePolicy policy =
        BuildOrDie(FilePolicy::Builder().AllowReadTree(tree).AllowTree(tree, kCreate));
    ASSERT_EQ(policy.rules().size(), 1u);
    EXPECT_EQ(policy.rules()[0].kind, RuleKind::kTree);
    EXPECT_EQ(policy.Find(tree + "/x").rule->permissions, kRead | kCreate);
  }
  {
    // A file rule and a tree rule on one path: the path itself gets both, beneath the tree's.
    for (const bool file_first : {true, false}) {
      FilePolicy::Builder builder;
      if (file_first) builder.AllowFile(tree, kWrite);
      builder.AllowReadTree(tree);
      if (!file_first) builder.AllowFile(tree, kWrite);
      FilePolicy policy = BuildOrDie(builder);
      ASSERT_EQ(policy.rules().size(), 2u);
      const FilePolicy::Match own = policy.Find(tree);
      ASSERT_NE(own.rule, nullptr);
      EXPECT_EQ(own.rule->kind, RuleKind::kFile);
      EXPECT_EQ(own.rule->permissions, kRead | kWrite);
      const std::string x = tree + "/x";  // outlives the match, whose `beneath` may point in it
      const FilePolicy::Match beneath = policy.Find(x);
      ASSERT_NE(beneath.rule, nullptr);
      EXPECT_EQ(beneath.rule->kind, RuleKind::kTree);
      EXPECT_EQ(beneath.rule->permissions, kRead);
      EXPECT_EQ(beneath.beneath, "x");
    }
  }
  {
    // Deny rules with one errno on one path are one rule too.
    FilePolicy policy = BuildOrDie(FilePolicy::Builder().Deny(tree, EPERM).Deny(tree, EPERM));
    ASSERT_EQ(policy.rules().size(), 1u);
    EXPECT_EQ(policy.Find(tree).rule->error, EPERM);
  }
}

// Rules that give one path two meanings are an error naming both.
TEST_F(FilePolicyTest, ContradictoryRulesOnOnePathAreInvalidArgumentNamingBoth) {
  const std::string tree = dir_.Mkdir("t");
  struct Case {
    FilePolicy::Builder builder;
    std::string later;
    std::string earlier;
  };
  const Case cases[] = {
      // Temporary files only, or the whole tree: no union means both.
      {FilePolicy::Builder().AllowReadTree(tree).AllowTemporaryFiles(tree), "rule 2 (temporary ",
       "rule 1 (tree "},
      {FilePolicy::Builder().Deny(tree).Deny(tree, EPERM), "rule 2 (deny ", "rule 1 (deny "},
  };
  for (const Case& c : cases) {
    absl::StatusOr<FilePolicy> policy = c.builder.Build();
    ASSERT_FALSE(policy.ok()) << c.later;
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(policy.status().message());
    EXPECT_NE(message.find(c.later + tree + ")"), std::string::npos) << message;
    EXPECT_NE(message.find(c.earlier + tree + ")"), std::string::npos) << message;
    EXPECT_NE(message.find(c.later + tree + ") contradicts " + c.earlier + tree + ")"),
              std::string::npos)
        << message;
  }
}

// One allow and one deny rule may share a path; the deny rule wins there and beneath.
TEST_F(FilePolicyTest, DenyBeatsAllowOnTheSamePath) {
  const std::string tree = dir_.Mkdir("t");
  FilePolicy policy = BuildOrDie(FilePolicy::Builder().AllowReadTree(tree).Deny(tree));
  EXPECT_EQ(policy.Find(tree).rule->kind, RuleKind::kDeny);
  EXPECT_FALSE(policy.Find(tree + "/x").allowed());
}

// Grants are names: a rule whose directory does not exist yet loads, rooted at the nearest
// ancestor that exists with the missing names still to come, and covers its path already.
TEST_F(FilePolicyTest, MissingDirectoryLoadsAsAName) {
  const std::string missing = dir_.path() + "/missing";
  struct Case {
    bool tree;
    std::string path;
    std::string rest;  // the names below dir_ still missing
  };
  const Case cases[] = {
      {true, missing, "missing"},
      {true, missing + "/deeper/still", "missing/deeper/still"},
      {false, missing + "/f", "missing"},  // a file grant's root is its parent directory
  };
  for (const Case& c : cases) {
    FilePolicy::Builder builder;
    if (c.tree) {
      builder.AllowReadTree(c.path);
    } else {
      builder.AllowReadFile(c.path);
    }
    absl::StatusOr<FilePolicy> policy = builder.Build();
    ASSERT_TRUE(policy.ok()) << c.path << ": " << policy.status();
    ASSERT_EQ(policy->rules().size(), 1u);
    const Rule& rule = policy->rules()[0];
    EXPECT_EQ(rule.path, c.path);
    EXPECT_TRUE(SameFile(rule.root, dir_.path())) << c.path;
    EXPECT_EQ(rule.root_rest, c.rest);
    const FilePolicy::Match match = policy->Find(c.path);
    ASSERT_NE(match.rule, nullptr) << c.path;
    EXPECT_EQ(match.rule->path, c.path);
    EXPECT_TRUE(match.allowed());
    // Its ancestors are visible like any grant's, but nothing else is covered.
    EXPECT_TRUE(policy->IsAncestorOfAllowed(missing.substr(0, missing.rfind('/'))));
    EXPECT_EQ(policy->Find(dir_.path() + "/other").rule, nullptr);
  }
}

// The file itself need not exist: a read-write grant may create it.
TEST_F(FilePolicyTest, FileGrantRootIsTheParentDirectory) {
  const std::string parent = dir_.Mkdir("p");
  FilePolicy policy = BuildOrDie(FilePolicy::Builder().AllowReadWriteFile(parent + "/new.txt"));
  ASSERT_EQ(policy.rules().size(), 1u);
  const Rule& grant = policy.rules()[0];
  EXPECT_EQ(grant.kind, RuleKind::kFile);
  EXPECT_EQ(grant.path, parent + "/new.txt");
  EXPECT_TRUE(SameFile(grant.root, parent));
  EXPECT_EQ(grant.permissions, kRead | kWrite | kCreate);
  EXPECT_FALSE(grant.IsTree());
}

TEST_F(FilePolicyTest, FileGrantDirectlyUnderRoot) {
  FilePolicy policy = BuildOrDie(FilePolicy::Builder().AllowReadFile("/no-such-file"));
  const FilePolicy::Match match = policy.Find("/no-such-file");
  ASSERT_NE(match.rule, nullptr);
  EXPECT_EQ(match.beneath, "no-such-file");
  EXPECT_TRUE(SameFile(match.rule->root, "/"));
}

TEST_F(FilePolicyTest, ExactFileGrantBeatsTheTreeAroundIt) {
  const std::string tree = dir_.Mkdir("t");
  FilePolicy policy =
      BuildOrDie(FilePolicy::Builder().AllowReadTree(tree).AllowReadWriteFile(tree + "/f"));

  // Match::beneath may point into the path looked up: each path outlives its match.
  const std::string file_path = tree + "/f";
  const std::string sibling_path = tree + "/g";
  const std::string below_path = tree + "/f/x";
  const FilePolicy::Match file = policy.Find(file_path);
  ASSERT_NE(file.rule, nullptr);
  EXPECT_EQ(file.rule->kind, RuleKind::kFile);
  EXPECT_EQ(file.beneath, "f");

  const FilePolicy::Match sibling = policy.Find(sibling_path);
  ASSERT_NE(sibling.rule, nullptr);
  EXPECT_EQ(sibling.rule->kind, RuleKind::kTree);
  EXPECT_EQ(sibling.beneath, "g");

  // A file grant covers its path only, not what might be beneath it.
  const FilePolicy::Match below = policy.Find(below_path);
  ASSERT_NE(below.rule, nullptr);
  EXPECT_EQ(below.rule->kind, RuleKind::kTree);
  EXPECT_EQ(below.beneath, "f/x");
}

// AllowTreeThroughout: the narrower rules beneath the tree, added before or after it, get its
// permissions too; a deny rule still decides its path; a rule outside keeps its own.
TEST_F(FilePolicyTest, ATreeGrantedThroughoutReachesTheRulesBeneathIt) {
  const std::string usr = dir_.Mkdir("usr");
  const std::string lib = dir_.Mkdir("usr/lib");
  const std::string other = dir_.Mkdir("other");
  FilePolicy policy = BuildOrDie(FilePolicy::Builder()
                                     .AllowReadTree(lib)
                                     .AllowTreeThroughout(usr, kRead | kExecute)
                                     .AllowFile(usr + "/bin/tool", kWrite)
                                     .Deny(lib + "/secret")
                                     .AllowReadTree(other));
  const std::string in_lib = lib + "/x";
  EXPECT_EQ(policy.Find(in_lib).rule->permissions, kRead | kExecute);
  const std::string tool = usr + "/bin/tool";
  EXPECT_EQ(policy.Find(tool).rule->permissions, kRead | kWrite | kExecute);
  const std::string secret = lib + "/secret";
  EXPECT_FALSE(policy.Find(secret).allowed());
  const std::string elsewhere = other + "/y";
  EXPECT_EQ(policy.Find(elsewhere).rule->permissions, kRead);
}

TEST_F(FilePolicyTest, FileGrantCoversNothingBeneathIt) {
  const std::string file = dir_.path() + "/f";
  FilePolicy policy = BuildOrDie(FilePolicy::Builder().AllowReadFile(file));
  EXPECT_EQ(policy.Find(file + "/x").rule, nullptr);
  EXPECT_EQ(policy.Find(dir_.path()).rule, nullptr);
}

TEST_F(FilePolicyTest, LongestTreeRootWins) {
  const std::string outer = dir_.Mkdir("a");
  const std::string inner = dir_.Mkdir("a/b/c");
  // Declaration order must not matter.
  for (bool inner_first : {false, true}) {
    FilePolicy::Builder builder;
    if (inner_first) builder.AllowReadTree(inner);
    builder.AllowReadTree(outer);
    if (!inner_first) builder.AllowReadTree(inner);
    FilePolicy policy = BuildOrDie(builder);

    // The paths outlive their matches, whose `beneath` may point into them.
    const std::string deep_path = inner + "/d/e";
    const std::string between_path = outer + "/b/x";
    const FilePolicy::Match deep = policy.Find(deep_path);
    ASSERT_NE(deep.rule, nullptr);
    EXPECT_EQ(deep.rule->path, inner);
    EXPECT_EQ(deep.beneath, "d/e");

    const FilePolicy::Match between = policy.Find(between_path);
    ASSERT_NE(between.rule, nullptr);
    EXPECT_EQ(between.rule->path, outer);
    EXPECT_EQ(between.beneath, "b/x");
  }
}

TEST_F(FilePolicyTest, PathEqualToATreeRootIsDot) {
  const std::string tree = dir_.Mkdir("t");
  FilePolicy policy = BuildOrDie(FilePolicy::Builder().AllowReadTree(tree));
  const FilePolicy::Match match = policy.Find(tree);
  ASSERT_NE(match.rule, nullptr);
  EXPECT_EQ(match.beneath, ".");
  EXPECT_TRUE(SameFile(match.rule->root, tree));
}

TEST_F(FilePolicyTest, RootTreeCoversEverything) {
  FilePolicy policy = BuildOrDie(FilePolicy::Builder().AllowReadTree("/"));
  const FilePolicy::Match root = policy.Find("/");
  ASSERT_NE(root.rule, nullptr);
  EXPECT_EQ(root.beneath, ".");
  const FilePolicy::Match top = policy.Find("/etc");
  ASSERT_NE(top.rule, nullptr);
  EXPECT_EQ(top.beneath, "etc");
  const FilePolicy::Match deep = policy.Find("/etc/ssl/certs");
  ASSERT_NE(deep.rule, nullptr);
  EXPECT_EQ(deep.beneath, "etc/ssl/certs");
}

TEST_F(FilePolicyTest, RootTreeLosesToALongerTree) {
  const std::string tree = dir_.Mkdir("t");
  FilePolicy policy = BuildOrDie(FilePolicy::Builder().AllowReadTree("/").AllowReadTree(tree));
  EXPECT_EQ(policy.Find(tree + "/x").rule->path, tree);
  EXPECT_EQ(policy.Find(dir_.path()).rule->path, "/");
}

// Matching is by whole components: "/a/b" is not a prefix of "/a/bc".
TEST_F(FilePolicyTest, SiblingWithACommonPrefixDoesNotMatch) {
  const std::string tree = dir_.Mkdir("b");
  dir_.Mkdir("bc");
  FilePolicy policy = BuildOrDie(FilePolicy::Builder().AllowReadTree(tree));
  EXPECT_EQ(policy.Find(dir_.path() + "/bc").rule, nullptr);
  EXPECT_EQ(policy.Find(dir_.path() + "/bc/x").rule, nullptr);
  EXPECT_EQ(policy.Find(dir_.path() + "/b2").rule, nullptr);
  EXPECT_NE(policy.Find(dir_.path() + "/b/c").rule, nullptr);
}

TEST_F(FilePolicyTest, NoGrantsFindsNothing) {
  FilePolicy policy = BuildOrDie(FilePolicy::Builder());
  EXPECT_EQ(policy.Find("/").rule, nullptr);
  EXPECT_EQ(policy.Find("/etc/passwd").rule, nullptr);
}

// File grants in one directory share its descriptor, so 10,000 grants here hold 502.
TEST_F(FilePolicyTest, TenThousandGrantsStillFindTheRightOne) {
  constexpr int kTrees = 500;
  constexpr int kFiles = 9500;
  const int fds_before = CountOpenFds();

  const std::string files_dir = dir_.Mkdir("files");
  FilePolicy::Builder builder;
  for (int i = 0; i < kTrees; ++i) builder.AllowReadTree(dir_.Mkdir("t" + std::to_string(i)));
  for (int i = 0; i < kFiles; ++i) builder.AllowReadFile(files_dir + "/f" + std::to_string(i));
  FilePolicy policy = BuildOrDie(builder);
  ASSERT_EQ(policy.rules().size(), static_cast<size_t>(kTrees + kFiles));
  EXPECT_EQ(CountOpenFds() - fds_before, kTrees + 2);  // and "/", for stat'ing ancestors

  for (int i = 0; i < kTrees; ++i) {
    const std::string root = dir_.path() + "/t" + std::to_string(i);
    const FilePolicy::Match match = policy.Find(root + "/sub/leaf");
    ASSERT_NE(match.rule, nullptr) << root;
    ASSERT_EQ(match.rule->path, root);
    ASSERT_EQ(match.beneath, "sub/leaf");
  }
  for (int i = 0; i < kFiles; ++i) {
    const std::string name = "f" + std::to_string(i);
    const FilePolicy::Match match = policy.Find(files_dir + "/" + name);
    ASSERT_NE(match.rule, nullptr) << name;
    ASSERT_EQ(match.rule->kind, RuleKind::kFile);
    ASSERT_EQ(match.beneath, name);
  }
  EXPECT_EQ(policy.Find(dir_.path() + "/t" + std::to_string(kTrees)).rule, nullptr);
  EXPECT_EQ(policy.Find(files_dir + "/f" + std::to_string(kFiles)).rule, nullptr);
  EXPECT_EQ(policy.Find(dir_.path() + "/t1x").rule, nullptr);
}

// The alias rewrites absolute names at `from` to `to`, once, and leaves names already beneath
// `to` (the sandboxee's TMPDIR) and siblings with a common prefix alone.
TEST(PathAlias, RewritesNamesBeneathFromButNotBeneathTo) {
  const PathAlias alias{"/tmp", "/tmp/sbox-1"};
  for (const auto& [given, expected] : std::vector<std::pair<std::string, std::string>>{
           {"/tmp", "/tmp/sbox-1"},
           {"/tmp/x", "/tmp/sbox-1/x"},
           {"/tmp/sbox-1/x", "/tmp/sbox-1/x"},
           {"/tmp/sbox-10", "/tmp/sbox-1/sbox-10"},
           {"/tmpfoo/x", "/tmpfoo/x"},
           {"/etc/passwd", "/etc/passwd"},
           {"/tmp/../etc", "/tmp/sbox-1/../etc"},
       }) {
    std::string path = given;
    ApplyPathAlias(alias, &path);
    EXPECT_EQ(path, expected) << given;
  }
}

// JoinRequestPath aliases a request's absolute path, never one made from the working directory,
// which is a real path already.
TEST(PathAlias, JoinRequestPathAliasesAbsolutePathsOnly) {
  const PathAlias alias{"/tmp", "/var/private"};
  RequestPath joined;
  const char* reason = nullptr;
  ASSERT_EQ(JoinRequestPath("/tmp//a/./b", "/", 0, &alias, &joined, &reason), 0);
  EXPECT_EQ(joined.path, "/var/private/a/b");
  ASSERT_EQ(JoinRequestPath("a", "/tmp/work", 0, &alias, &joined, &reason), 0);
  EXPECT_EQ(joined.path, "/tmp/work/a");
  ASSERT_EQ(JoinRequestPath("/tmp/a", "/", 0, nullptr, &joined, &reason), 0);
  EXPECT_EQ(joined.path, "/tmp/a");
}

// FoldPathLexically folds every "..", also one after a component that came after an earlier
// folded ".." (fuzz/seeds/path/fold_dotdot_after_folded_dotdot: "a/../c/.." kept the last "..").
TEST(FoldPathLexically, FoldsEveryDotDot) {
  const char* reason = nullptr;
  std::string out;
  ASSERT_EQ(FoldPathLexically("a/../c/..", "/base", &out, &reason), 0);
  EXPECT_EQ(out, "/base");
  ASSERT_EQ(FoldPathLexically("x/../../y/..", "/b", &out, &reason), 0);
  EXPECT_EQ(out, "/");
  ASSERT_EQ(FoldPathLexically("/a/b/../../c/d/..", "/ignored", &out, &reason), 0);
  EXPECT_EQ(out, "/c");
}

// The policy's own rules beneath `from` keep their names: a grant names the file meant.
TEST_F(FilePolicyTest, PathAliasKeepsTheNamesRulesGrant) {
  const std::string dir = dir_.path();
  absl::StatusOr<FilePolicy> policy = FilePolicy::Builder()
                                          .AllowTree(dir, kRead)
                                          .AllowFile("/tmp/work/in.wav", kRead)
                                          .AllowTree("/tmp/work/out", kRead | kWrite)
                                          .AllowFile("/etc/passwd", kRead)
                                          .AliasPath("/tmp", dir)
                                          .Build();
  ASSERT_TRUE(policy.ok()) << policy.status();
  const std::vector<std::string> kept = {"/tmp/work/in.wav", "/tmp/work/out"};
  EXPECT_EQ(policy->alias()->kept, kept);
  for (const auto& [given, expected] : std::vector<std::pair<std::string, std::string>>{
           {"/tmp/work/in.wav", "/tmp/work/in.wav"},
           {"/tmp/work/out/a/b", "/tmp/work/out/a/b"},
           {"/tmp/work/other", dir + "/work/other"},
           {"/tmp/work/in.wav2", dir + "/work/in.wav2"},
       }) {
    std::string path = given;
    ApplyPathAlias(*policy->alias(), &path);
    EXPECT_EQ(path, expected) << given;
  }
}

TEST_F(FilePolicyTest, PathAliasIsCheckedAtBuild) {
  const std::string dir = dir_.path();
  absl::StatusOr<FilePolicy> policy =
      FilePolicy::Builder().AllowTree(dir, kRead).AliasPath("/tmp", dir).Build();
  ASSERT_TRUE(policy.ok()) << policy.status();
  ASSERT_NE(policy->alias(), nullptr);
  EXPECT_EQ(policy->alias()->to, dir);
  EXPECT_EQ(FilePolicy::Builder().Build()->alias(), nullptr);
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"/", dir}, {"tmp", dir}, {"/tmp", "/tmp"}, {"/tmp/", dir}}) {
    EXPECT_EQ(FilePolicy::Builder().AliasPath(from, to).Build().status().code(),
              absl::StatusCode::kInvalidArgument)
        << from << " -> " << to;
  }
}

// Rules on /proc/self name the sandboxee: rebuilt on /proc/<pid> once its pid is known, roots
// opened there, the other rules, modes and errno as they were.
TEST(FilePolicyOwnProcess, ForSandboxeeNamesTheSandboxeesProc) {
  // A child of this process: the sandboxee, whose pid differs from the builder's.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  absl::StatusOr<FilePolicy> policy = FilePolicy::Builder()
                                          .AllowFile("/proc/self/status", kRead, "p:1")
                                          .AllowTree("/proc/thread-self/fd", kRead, "p:2")
                                          .Deny("/proc/self/mem", EPERM, "p:3")
                                          .AllowTree("/usr", kRead, "p:4")
                                          .SetCreateModes(0640, 0750)
                                          .SetUncoveredErrno(EACCES)
                                          .AliasPath("/tmp", "/var/tmp")
                                          .Build();
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->HasOwnProcessRules());
  absl::StatusOr<FilePolicy> own = policy->ForSandboxee(child);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_TRUE(own.ok()) << own.status();
  const std::string proc = "/proc/" + std::to_string(child);
  const FilePolicy::Match status = own->Find(proc + "/status");
  ASSERT_TRUE(status.allowed());
  EXPECT_EQ(status.rule->source, "p:1");
  EXPECT_EQ(status.rule->canonical_root, proc);  // the sandboxee's directory, not this one's
  EXPECT_TRUE(own->Find(proc + "/fd/0").allowed());
  EXPECT_EQ(own->Find(proc + "/mem").rule->kind, RuleKind::kDeny);
  EXPECT_EQ(own->Find(proc + "/mem").rule->error, EPERM);
  EXPECT_EQ(own->Find("/proc/self/status").rule, nullptr);
  EXPECT_TRUE(own->Find("/usr/bin/env").allowed());
  EXPECT_EQ(own->file_mode(), 0640u);
  EXPECT_EQ(own->directory_mode(), 0750u);
  EXPECT_EQ(own->uncovered_errno(), EACCES);
  ASSERT_NE(own->alias(), nullptr);  // --private-tmp's /tmp
  EXPECT_EQ(own->alias()->from, "/tmp");
  EXPECT_EQ(own->alias()->to, "/var/tmp");
  EXPECT_FALSE(own->HasOwnProcessRules());
  EXPECT_FALSE(
      FilePolicy::Builder().AllowTree("/proc/selfish", kRead).Build()->HasOwnProcessRules());
}

}  // namespace
}  // namespace sbox
