// PrivateTmp on a real file system: what it makes, and that removal takes everything the
// program could leave, and nothing else.

#include "tools/private_tmp.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace sbox {
namespace {

std::string TestTmp() {
  const char* dir = getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(PrivateTmp, IsAFreshPrivateDirectoryUnderTheBase) {
  absl::StatusOr<PrivateTmp> tmp = PrivateTmp::Create(TestTmp() + "/./");
  ASSERT_TRUE(tmp.ok()) << tmp.status();
  EXPECT_EQ(tmp->path().rfind(TestTmp() + "/sbox-tmp.", 0), 0u) << tmp->path();
  struct stat st;
  ASSERT_EQ(stat(tmp->path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  absl::StatusOr<PrivateTmp> other = PrivateTmp::Create(TestTmp());
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(other->path(), tmp->path());
  EXPECT_FALSE(PrivateTmp::Create(TestTmp() + "/no/such/dir").ok());
}

// Files, a directory without rights, nesting far past the descriptors removal holds, and
// symlinks out of the directory: all gone, and what the symlinks name untouched.
TEST(PrivateTmp, RemovesEverythingWithoutFollowingSymlinks) {
  const std::string outside = TestTmp() + "/outside";
  mkdir(outside.c_str(), 0700);
  Write(outside + "/keep", "kept");
  absl::StatusOr<PrivateTmp> tmp = PrivateTmp::Create(TestTmp());
  ASSERT_TRUE(tmp.ok()) << tmp.status();
  const std::string root = tmp->path();
  Write(root + "/file", "x");
  ASSERT_EQ(symlink(outside.c_str(), (root + "/to-dir").c_str()), 0);
  ASSERT_EQ(symlink((outside + "/keep").c_str(), (root + "/to-file").c_str()), 0);
  ASSERT_EQ(mkfifo((root + "/fifo").c_str(), 0600), 0);
  ASSERT_EQ(mkdir((root + "/locked").c_str(), 0700), 0);
  Write(root + "/locked/inside", "y");
  ASSERT_EQ(chmod((root + "/locked").c_str(), 0), 0);
  // 200 levels, built relative to each level (deeper than the descriptors held).
  const int top = open(root.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(top, 0);
  int at = top;
  for (int level = 0; level < 200; ++level) {
    ASSERT_EQ(mkdirat(at, "d", 0700), 0);
    const int next = openat(at, "d", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(next, 0);
    if (at != top) close(at);
    at = next;
  }
  ASSERT_EQ(symlinkat(outside.c_str(), at, "deep-link"), 0);
  close(at);
  close(top);

  EXPECT_TRUE(tmp->Remove().ok());
  EXPECT_FALSE(Exists(root));
  std::ifstream kept(outside + "/keep");
  std::string text;
  kept >> text;
  EXPECT_EQ(text, "kept");
  EXPECT_TRUE(tmp->Remove().ok());  // once
}

TEST(PrivateTmp, TheDestructorRemovesIt) {
  std::string path;
  {
    absl::StatusOr<PrivateTmp> tmp = PrivateTmp::Create(TestTmp());
    ASSERT_TRUE(tmp.ok()) << tmp.status();
    path = tmp->path();
    Write(path + "/file", "x");
  }
  EXPECT_FALSE(Exists(path));
}

// A directory put in place of the one sbox made is not removed: it is not sbox's.
TEST(PrivateTmp, ASwappedInDirectoryStays) {
  absl::StatusOr<PrivateTmp> tmp = PrivateTmp::Create(TestTmp());
  ASSERT_TRUE(tmp.ok()) << tmp.status();
  const std::string moved = tmp->path() + ".moved";
  ASSERT_EQ(rename(tmp->path().c_str(), moved.c_str()), 0);
  ASSERT_EQ(mkdir(tmp->path().c_str(), 0700), 0);
  const absl::Status removed = tmp->Remove();
  EXPECT_EQ(removed.code(), absl::StatusCode::kFailedPrecondition) << removed;
  EXPECT_TRUE(Exists(tmp->path()));
  rmdir(tmp->path().c_str());
  rmdir(moved.c_str());
}

}  // namespace
}  // namespace sbox
