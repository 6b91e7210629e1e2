#include "broker/path_check.h"

#include <errno.h>
#include <limits.h>

#include <set>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace sbox {
namespace {

using namespace std::string_literals;  // "..."s keeps embedded NUL bytes

TEST(PathCheckTest, AbsoluteNormalizedPathsPass) {
  for (std::string_view path : {"/", "/etc", "/etc/passwd", "/a/b/c", "/...", "/.hidden", "/a./b..",
                                "/..a/.b", "/a b/\xff\x01"}) {
    EXPECT_EQ(CheckAbsoluteNormalizedPath(path), PathProblem::kNone) << path;
  }
}

TEST(PathCheckTest, EmptyPath) { EXPECT_EQ(CheckAbsoluteNormalizedPath(""), PathProblem::kEmpty); }

TEST(PathCheckTest, RelativePath) {
  for (std::string_view path : {"etc", "etc/passwd", ".", "..", "./a", "a/", " /a"}) {
    EXPECT_EQ(CheckAbsoluteNormalizedPath(path), PathProblem::kRelative) << path;
  }
}

TEST(PathCheckTest, EmbeddedNul) {
  for (const std::string& path : {"/a\0b"s, "/\0"s, "/a/\0"s, "\0/a"s}) {
    EXPECT_EQ(CheckAbsoluteNormalizedPath(path), PathProblem::kEmbeddedNul);
  }
}

TEST(PathCheckTest, DoubleSlash) {
  for (std::string_view path : {"//a", "/a//b", "/a/b//c", "///a"}) {
    EXPECT_EQ(CheckAbsoluteNormalizedPath(path), PathProblem::kDoubleSlash) << path;
  }
}

TEST(PathCheckTest, DotComponent) {
  for (std::string_view path : {"/.", "/./a", "/a/.", "/a/./b"}) {
    EXPECT_EQ(CheckAbsoluteNormalizedPath(path), PathProblem::kDotComponent) << path;
  }
}

TEST(PathCheckTest, DotDotComponent) {
  for (std::string_view path : {"/..", "/../a", "/a/..", "/a/../b"}) {
    EXPECT_EQ(CheckAbsoluteNormalizedPath(path), PathProblem::kDotDotComponent) << path;
  }
}

// A trailing slash is reported before the empty component it may also make, so "//" and "/a//"
// are trailing-slash problems.
TEST(PathCheckTest, TrailingSlash) {
  for (std::string_view path : {"/a/", "/a/b/", "//", "/a//", "/./"}) {
    EXPECT_EQ(CheckAbsoluteNormalizedPath(path), PathProblem::kTrailingSlash) << path;
  }
}

TEST(PathCheckTest, LengthLimitIsPathMaxWithoutTheNul) {
  const std::string longest = "/" + std::string(PATH_MAX - 2, 'a');
  ASSERT_EQ(longest.size(), 4095u);
  EXPECT_EQ(CheckAbsoluteNormalizedPath(longest), PathProblem::kNone);
  EXPECT_EQ(CheckAbsoluteNormalizedPath(longest + "a"), PathProblem::kTooLong);
  // Length is checked first, whatever else is wrong with the path.
  EXPECT_EQ(CheckAbsoluteNormalizedPath(std::string(PATH_MAX, '.')), PathProblem::kTooLong);
}

TEST(PathCheckTest, ProblemsMapToTheirErrno) {
  EXPECT_EQ(PathProblemErrno(PathProblem::kNone), 0);
  EXPECT_EQ(PathProblemErrno(PathProblem::kTooLong), ENAMETOOLONG);
  for (PathProblem problem :
       {PathProblem::kEmpty, PathProblem::kRelative, PathProblem::kEmbeddedNul,
        PathProblem::kDoubleSlash, PathProblem::kDotComponent, PathProblem::kDotDotComponent,
        PathProblem::kTrailingSlash}) {
    EXPECT_EQ(PathProblemErrno(problem), EINVAL) << PathProblemText(problem);
  }
}

TEST(PathCheckTest, EveryProblemHasItsOwnText) {
  std::set<std::string> texts;
  for (PathProblem problem :
       {PathProblem::kNone, PathProblem::kEmpty, PathProblem::kRelative, PathProblem::kEmbeddedNul,
        PathProblem::kDoubleSlash, PathProblem::kDotComponent, PathProblem::kDotDotComponent,
        PathProblem::kTrailingSlash, PathProblem::kTooLong}) {
    const std::string text = PathProblemText(problem);
    EXPECT_FALSE(text.empty());
    EXPECT_TRUE(texts.insert(text).second) << text;
  }
}

}  // namespace
}  // namespace sbox
