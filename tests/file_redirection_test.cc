// Unmodified libc and C++ file code in a real sandboxee (Launcher::Run with
// SyscallPolicy::RedirectedParser()): the filter traps the file syscalls and the SIGSYS handler
// of sandboxee/file_redirection.h performs them through the broker. Every granted result is
// compared with what the same call gives outside the sandbox, in the parent; every refusal with
// the errno the protocol documents. Every test runs on SOCK_SEQPACKET and SOCK_DGRAM.

#include "sandboxee/file_redirection.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/decision_recorder.h"
#include "broker/syscall_policy.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "sandboxee/broker_client.h"
#include "tests/fd_count.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using sandboxee::BrokerClient;
using testing::ReadFileOrDie;
using testing::ScratchDir;
using testing::SharedInts;

constexpr int kWrongResult = -1;  // the call succeeded but did not give the outside result

// The errno of a failed libc call, or 0.
int Err(bool ok) { return ok ? 0 : errno; }

std::string ErrnoText(int value) {
  if (value == kWrongResult) return "a result that differs from outside";
  if (value == SharedInts::kUnset) return "not run";
  return value == 0 ? "success" : absl::StrCat(strerrorname_np(value), " (", value, ")");
}

std::string ReadStream(FILE* file) {
  std::string data;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), file)) > 0) data.append(buffer, n);
  return data;
}

// fopen + fread + fclose: 0 when the contents are `expected`, the errno of a failure, or
// kWrongResult.
int FopenReads(const std::string& path, const std::string& expected) {
  FILE* file = fopen(path.c_str(), "r");
  if (file == nullptr) return errno;
  const std::string data = ReadStream(file);
  fclose(file);
  return data == expected ? 0 : kWrongResult;
}

std::set<std::string> ListDirectory(const std::string& path, int* error) {
  std::set<std::string> names;
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) {
    *error = errno;
    return names;
  }
  while (const dirent* entry = readdir(dir)) names.insert(entry->d_name);
  closedir(dir);
  *error = 0;
  return names;
}

// The fields of a stat that a second stat of an unchanged file repeats.
bool SameStat(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_mode == b.st_mode &&
         a.st_nlink == b.st_nlink && a.st_uid == b.st_uid && a.st_gid == b.st_gid &&
         a.st_rdev == b.st_rdev && a.st_size == b.st_size && a.st_blksize == b.st_blksize &&
         a.st_blocks == b.st_blocks && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
         a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

struct Case {
  std::string name;
  std::function<int()> run;  // 0, an errno, or kWrongResult
  int expected;
};

// The handler serves exactly what the policy redirects: the file calls, and rt_sigprocmask.
TEST(FileRedirectionListTest, TheHandlerServesWhatThePolicyRedirects) {
  std::set<std::string> served;
  for (long nr = 0; nr < 1024; ++nr) {
    if (sandboxee::IsRedirectedSyscall(nr)) served.insert(SyscallName(static_cast<int>(nr)));
  }
  std::set<std::string> redirected(SyscallPolicy::RedirectedFileCalls().begin(),
                                   SyscallPolicy::RedirectedFileCalls().end());
  redirected.insert("rt_sigprocmask");
  EXPECT_EQ(served, redirected);
}

class FileRedirectionTest : public ::testing::TestWithParam<ChannelType> {
 protected:
  // RedirectedParser() in trap mode, with `extra` rules.
  Launcher MakeLauncher(const FilePolicy::Builder& files,
                        const std::function<void(SyscallPolicy::Builder&)>& extra = nullptr) {
    absl::StatusOr<FilePolicy> file_policy = files.Build();
    EXPECT_TRUE(file_policy.ok()) << file_policy.status();
    if (!file_policy.ok()) file_policy = FilePolicy::Builder().Build();
    SyscallPolicy::Builder builder = SyscallPolicy::RedirectedParser();
    if (extra) extra(builder);
    absl::StatusOr<SyscallPolicy> syscalls = builder.Build(Redirection::kTrap);
    EXPECT_TRUE(syscalls.ok()) << syscalls.status();
    if (!syscalls.ok()) abort();
    Launcher launcher(*std::move(file_policy), *std::move(syscalls));
    launcher.SetChannelType(GetParam()).SetTimeout(absl::Seconds(60));
    launcher.SetDecisionLog(log_.AsLog());
    return launcher;
  }

  // Runs `body` in the sandbox; the sandboxee must exit with 0.
  void Run(Launcher& launcher, const std::function<void()>& body) {
    absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd) {
      body();
      return 0;
    });
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_TRUE(result->ok()) << result->ToString();
  }

  // Runs every case in one sandbox and checks each result.
  void RunCases(Launcher& launcher, const std::vector<Case>& cases) {
    SharedInts got(cases.size());
    Run(launcher, [&] {
      for (size_t i = 0; i < cases.size(); ++i) got[i] = cases[i].run();
    });
    for (size_t i = 0; i < cases.size(); ++i) {
      EXPECT_EQ(got[i], cases[i].expected) << cases[i].name << ": got " << ErrnoText(got[i])
                                           << ", want " << ErrnoText(cases[i].expected);
    }
  }

  DecisionRecorder log_;
};

// ---------------------------------------------------------------------------------------------
// Reading: libc and C++ see what they see outside.

TEST_P(FileRedirectionTest, ReadingCodeSeesWhatItSeesOutside) {
  ScratchDir dir;
  const std::string t = dir.MakeDir("t");
  std::string contents;
  for (int i = 0; i < 10000; ++i) contents += static_cast<char>('a' + i * 7 % 26);
  const std::string file = dir.WriteFile("t/data", contents);
  dir.MakeDir("t/sub");
  dir.WriteFile("t/sub/x", "x");
  const std::string link = dir.Symlink("t/link", "data");
  const std::string secret = dir.WriteFile("secret", "secret");

  // Outside.
  struct stat file_stat, link_lstat, dir_stat;
  ASSERT_EQ(stat(file.c_str(), &file_stat), 0);
  ASSERT_EQ(lstat(link.c_str(), &link_lstat), 0);
  ASSERT_EQ(stat(t.c_str(), &dir_stat), 0);
  int list_error;
  const std::set<std::string> entries = ListDirectory(t, &list_error);
  ASSERT_EQ(list_error, 0);
  char real[PATH_MAX];
  ASSERT_NE(realpath((t + "/sub/../link").c_str(), real), nullptr);
  const std::string real_path = real;

  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadTree(t));
  RunCases(
      launcher,
      {
          {"fopen + fread", [&] { return FopenReads(file, contents); }, 0},
          {"fopen through a symlink", [&] { return FopenReads(link, contents); }, 0},
          {"std::ifstream",
           [&] {
             std::ifstream in(file, std::ios::binary);
             if (!in) return errno == 0 ? kWrongResult : errno;
             const std::string data((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
             return data == contents ? 0 : kWrongResult;
           },
           0},
          {"opendir + readdir",
           [&] {
             int error;
             const std::set<std::string> seen = ListDirectory(t, &error);
             return error != 0 ? error : seen == entries ? 0 : kWrongResult;
           },
           0},
          {"stat",
           [&] {
             struct stat st;
             return stat(file.c_str(), &st) != 0 ? errno
                    : SameStat(st, file_stat)    ? 0
                                                 : kWrongResult;
           },
           0},
          {"stat of a directory",
           [&] {
             struct stat st;
             return stat(t.c_str(), &st) != 0 ? errno : SameStat(st, dir_stat) ? 0 : kWrongResult;
           },
           0},
          {"lstat of a symlink",
           [&] {
             struct stat st;
             return lstat(link.c_str(), &st) != 0 ? errno
                    : SameStat(st, link_lstat)    ? 0
                                                  : kWrongResult;
           },
           0},
          {"fstat of an opened file",
           [&] {
             const int fd = open(file.c_str(), O_RDONLY);
             if (fd < 0) return errno;
             struct stat st;
             const int result = fstat(fd, &st) != 0       ? errno
                                : SameStat(st, file_stat) ? 0
                                                          : kWrongResult;
             close(fd);
             return result;
           },
           0},
          {"fstatat(AT_EMPTY_PATH) of an opened file",
           [&] {
             const int fd = open(file.c_str(), O_RDONLY);
             if (fd < 0) return errno;
             struct stat st;
             const int result = fstatat(fd, "", &st, AT_EMPTY_PATH) != 0 ? errno
                                : SameStat(st, file_stat)                ? 0
                                                                         : kWrongResult;
             close(fd);
             return result;
           },
           0},
          {"statx",
           [&] {
             struct statx stx;
             if (statx(AT_FDCWD, file.c_str(), 0, STATX_BASIC_STATS, &stx) != 0) return errno;
             const bool same = (stx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS &&
                               stx.stx_ino == file_stat.st_ino &&
                               stx.stx_size == static_cast<uint64_t>(file_stat.st_size) &&
                               stx.stx_mode == file_stat.st_mode &&
                               stx.stx_nlink == file_stat.st_nlink &&
                               stx.stx_uid == file_stat.st_uid &&
                               stx.stx_mtime.tv_sec == file_stat.st_mtim.tv_sec &&
                               stx.stx_mtime.tv_nsec == file_stat.st_mtim.tv_nsec &&
                               makedev(stx.stx_dev_major, stx.stx_dev_minor) == file_stat.st_dev;
             return same ? 0 : kWrongResult;
           },
           0},
          {"realpath",
           [&] {
             char resolved[PATH_MAX];
             if (realpath((t + "/sub/../link").c_str(), resolved) == nullptr) return errno;
             return resolved == real_path ? 0 : kWrongResult;
           },
           0},
          {"access R_OK", [&] { return Err(access(file.c_str(), R_OK) == 0); }, 0},
          {"access of a missing file",
           [&] { return Err(access((t + "/missing").c_str(), F_OK) == 0); }, ENOENT},
          {"readlink",
           [&] {
             char target[64];
             const ssize_t n = readlink(link.c_str(), target, sizeof(target));
             if (n < 0) return errno;
             return std::string(target, n) == "data" ? 0 : kWrongResult;
           },
           0},
          {"readlink truncates to the buffer",
           [&] {
             char target[2];
             const ssize_t n = readlink(link.c_str(), target, sizeof(target));
             if (n < 0) return errno;
             return std::string(target, n) == "da" ? 0 : kWrongResult;
           },
           0},
          {"openat with a directory descriptor",
           [&] {
             const int dirfd = open(t.c_str(), O_RDONLY | O_DIRECTORY);
             if (dirfd < 0) return errno;
             const int fd = openat(dirfd, "sub/x", O_RDONLY);
             const int error = errno;
             close(dirfd);
             if (fd < 0) return error;
             char c = 0;
             const bool read_x = read(fd, &c, 1) == 1 && c == 'x';
             close(fd);
             return read_x ? 0 : kWrongResult;
           },
           0},
          {"an unnormalized absolute path is folded",
           [&] { return FopenReads(t + "//sub/./../data", contents); }, 0},
          {"a file named with a trailing '/'",
           [&] { return Err(open((file + "/").c_str(), O_RDONLY) >= 0); }, ENOTDIR},
          {"a directory named with a trailing '/'",
           [&] {
             int error;
             const std::set<std::string> seen = ListDirectory(t + "/", &error);
             return error != 0 ? error : seen == entries ? 0 : kWrongResult;
           },
           0},
          {"fopen of a missing file", [&] { return FopenReads(t + "/missing", ""); }, ENOENT},
          // A path no rule covers is as if absent.
          {"fopen outside the grant", [&] { return FopenReads(secret, "secret"); }, ENOENT},
          {"stat outside the grant",
           [&] {
             struct stat st;
             return Err(stat(secret.c_str(), &st) == 0);
           },
           ENOENT},
          {"fopen for writing in a read-only grant",
           [&] {
             FILE* f = fopen(file.c_str(), "w");
             if (f != nullptr) fclose(f);
             return Err(f != nullptr);
           },
           EACCES},
          {"open with an empty path", [&] { return Err(open("", O_RDONLY) >= 0); }, ENOENT},
          {"stat into a NULL buffer",
           [&] { return Err(syscall(SYS_stat, file.c_str(), nullptr) == 0); }, EFAULT},
          {"open with a NULL path", [&] { return Err(syscall(SYS_open, nullptr, O_RDONLY) >= 0); },
           EFAULT},
          {"open with a path longer than PATH_MAX",
           [&] { return Err(open(std::string(PATH_MAX, 'a').c_str(), O_RDONLY) >= 0); },
           ENAMETOOLONG},
          {"opendir of a file",
           [&] {
             DIR* d = opendir(file.c_str());
             if (d != nullptr) closedir(d);
             return Err(d != nullptr);
           },
           ENOTDIR},
      });
}

// ---------------------------------------------------------------------------------------------
// Writing and names: the same effects as outside.

TEST_P(FileRedirectionTest, NameOperationsHaveTheirEffects) {
  ScratchDir dir;
  const std::string w = dir.MakeDir("w");
  dir.WriteFile("w/old", "old");
  dir.WriteFile("w/big", std::string(1000, 'b'));
  dir.WriteFile("w/gone", "gone");
  dir.MakeDir("w/emptydir");
  const std::string r = dir.MakeDir("r");
  dir.WriteFile("r/f", "f");

  Launcher launcher = MakeLauncher(
      FilePolicy::Builder().AllowTree(w, kRead | kWrite | kCreate | kDelete).AllowReadTree(r));
  RunCases(
      launcher,
      {
          {"mkdir", [&] { return Err(mkdir((w + "/d").c_str(), 0700) == 0); }, 0},
          {"mkdir of an existing name", [&] { return Err(mkdir((w + "/d").c_str(), 0700) == 0); },
           EEXIST},
          {"rmdir", [&] { return Err(rmdir((w + "/emptydir").c_str()) == 0); }, 0},
          {"unlink", [&] { return Err(unlink((w + "/gone").c_str()) == 0); }, 0},
          {"unlink of a missing name", [&] { return Err(unlink((w + "/gone").c_str()) == 0); },
           ENOENT},
          {"rename", [&] { return Err(rename((w + "/old").c_str(), (w + "/new").c_str()) == 0); },
           0},
          {"link", [&] { return Err(link((w + "/new").c_str(), (w + "/hard").c_str()) == 0); }, 0},
          {"symlink", [&] { return Err(symlink("new", (w + "/soft").c_str()) == 0); }, 0},
          {"chmod", [&] { return Err(chmod((w + "/new").c_str(), 0400) == 0); }, 0},
          {"truncate", [&] { return Err(truncate((w + "/big").c_str(), 10) == 0); }, 0},
          {"creat",
           [&] {
             const int fd = creat((w + "/created").c_str(), 0600);
             if (fd < 0) return errno;
             const bool wrote = write(fd, "made", 4) == 4;
             close(fd);
             return wrote ? 0 : kWrongResult;
           },
           0},
          {"fopen for writing",
           [&] {
             FILE* f = fopen((w + "/written").c_str(), "w");
             if (f == nullptr) return errno;
             fputs("by stdio", f);
             return fclose(f) == 0 ? 0 : errno;
           },
           0},
          {"O_CLOEXEC follows the call",
           [&] {
             const int plain = open((w + "/written").c_str(), O_RDONLY);
             const int cloexec = open((w + "/written").c_str(), O_RDONLY | O_CLOEXEC);
             if (plain < 0 || cloexec < 0) return errno;
             const bool right = fcntl(plain, F_GETFD) == 0 && fcntl(cloexec, F_GETFD) == FD_CLOEXEC;
             close(plain);
             close(cloexec);
             return right ? 0 : kWrongResult;
           },
           0},
          {"unlinkat AT_REMOVEDIR",
           [&] { return Err(unlinkat(AT_FDCWD, (w + "/d").c_str(), AT_REMOVEDIR) == 0); }, 0},
          {"mkdir in a read-only grant", [&] { return Err(mkdir((r + "/d").c_str(), 0700) == 0); },
           EACCES},
          {"unlink in a read-only grant", [&] { return Err(unlink((r + "/f").c_str()) == 0); },
           EACCES},
          {"rename out of the grant",
           [&] { return Err(rename((w + "/new").c_str(), (dir.path() + "/x").c_str()) == 0); },
           ENOENT},
      });

  // The parent sees every effect.
  struct stat st;
  EXPECT_NE(stat((w + "/emptydir").c_str(), &st), 0);
  EXPECT_NE(stat((w + "/gone").c_str(), &st), 0);
  EXPECT_NE(stat((w + "/old").c_str(), &st), 0);
  ASSERT_EQ(stat((w + "/new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0400u);
  EXPECT_EQ(st.st_nlink, 2u);
  char target[16];
  const ssize_t n = readlink((w + "/soft").c_str(), target, sizeof(target));
  EXPECT_EQ(std::string(target, n > 0 ? n : 0), "new");
  ASSERT_EQ(stat((w + "/big").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 10);
  EXPECT_EQ(ReadFileOrDie(w + "/created"), "made");
  EXPECT_EQ(ReadFileOrDie(w + "/written"), "by stdio");
  EXPECT_NE(stat((w + "/d").c_str(), &st), 0);
}

// The *at forms with directory descriptors, and the flags each takes.
TEST_P(FileRedirectionTest, AtCallsWithDirectoryDescriptorsAndFlags) {
  ScratchDir dir;
  const std::string w = dir.MakeDir("w");
  dir.WriteFile("w/f", "f");
  dir.MakeDir("w/sub");
  dir.Symlink("w/link", "f");
  struct stat f_stat;
  ASSERT_EQ(stat((w + "/f").c_str(), &f_stat), 0);
  struct stat w_stat;
  ASSERT_EQ(stat(w.c_str(), &w_stat), 0);

  Launcher launcher =
      MakeLauncher(FilePolicy::Builder().AllowTree(w, kRead | kWrite | kCreate | kDelete));
  launcher.SetWorkingDirectory(w);
  const auto at = [&](const std::function<int(int)>& call) {
    return [&, call] {
      const int dirfd = open(w.c_str(), O_RDONLY | O_DIRECTORY);
      if (dirfd < 0) return errno;
      const int result = call(dirfd);
      close(dirfd);
      return result;
    };
  };
  RunCases(
      launcher,
      {
          {"fstatat", at([&](int d) {
             struct stat st;
             return fstatat(d, "f", &st, 0) != 0 ? errno : SameStat(st, f_stat) ? 0 : kWrongResult;
           }),
           0},
          {"fstatat AT_SYMLINK_NOFOLLOW", at([&](int d) {
             struct stat st;
             return fstatat(d, "link", &st, AT_SYMLINK_NOFOLLOW) != 0 ? errno
                    : S_ISLNK(st.st_mode)                             ? 0
                                                                      : kWrongResult;
           }),
           0},
          {"fstatat of the working directory with AT_EMPTY_PATH",
           [&] {
             struct stat st;
             return fstatat(AT_FDCWD, "", &st, AT_EMPTY_PATH) != 0 ? errno
                    : SameStat(st, w_stat)                         ? 0
                                                                   : kWrongResult;
           },
           0},
          {"statx AT_EMPTY_PATH on a descriptor", at([&](int d) {
             struct statx stx;
             if (statx(d, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) != 0) return errno;
             return stx.stx_ino == w_stat.st_ino ? 0 : kWrongResult;
           }),
           0},
          {"fstatat with an unknown flag", at([&](int d) {
             struct stat st;
             return Err(fstatat(d, "f", &st, 0x10000000) == 0);
           }),
           EINVAL},
          {"faccessat", at([&](int d) { return Err(faccessat(d, "f", R_OK | W_OK, 0) == 0); }), 0},
          {"faccessat AT_EACCESS",
           at([&](int d) { return Err(faccessat(d, "f", R_OK, AT_EACCESS) == 0); }), 0},
          {"access with a bad mode", [&] { return Err(access("f", 8) == 0); }, EINVAL},
          {"readlinkat", at([&](int d) {
             char target[8];
             const ssize_t n = readlinkat(d, "link", target, sizeof(target));
             return n < 0 ? errno : std::string(target, n) == "f" ? 0 : kWrongResult;
           }),
           0},
          {"readlink of a file",
           [&] {
             char target[8];
             return Err(readlink("f", target, sizeof(target)) >= 0);
           },
           EINVAL},
          {"mkdirat", at([&](int d) { return Err(mkdirat(d, "made", 0700) == 0); }), 0},
          {"symlinkat", at([&](int d) { return Err(symlinkat("f", d, "link2") == 0); }), 0},
          {"renameat", at([&](int d) { return Err(renameat(d, "link2", d, "link3") == 0); }), 0},
          {"renameat2 RENAME_NOREPLACE onto an existing name",
           at([&](int d) { return Err(renameat2(d, "link3", d, "f", RENAME_NOREPLACE) == 0); }),
           EEXIST},
          {"linkat", at([&](int d) { return Err(linkat(d, "f", d, "hard", 0) == 0); }), 0},
          // The broker follows the old name's last symlink (none here: "f" is a file).
          {"linkat AT_SYMLINK_FOLLOW",
           at([&](int d) { return Err(linkat(d, "f", d, "hard2", AT_SYMLINK_FOLLOW) == 0); }), 0},
          {"linkat with an unknown flag",
           at([&](int d) { return Err(linkat(d, "f", d, "hard3", 0x1) == 0); }), EINVAL},
          {"fchmodat", at([&](int d) { return Err(fchmodat(d, "f", 0600, 0) == 0); }), 0},
          {"unlinkat", at([&](int d) { return Err(unlinkat(d, "hard", 0) == 0); }), 0},
          {"unlinkat AT_REMOVEDIR",
           at([&](int d) { return Err(unlinkat(d, "made", AT_REMOVEDIR) == 0); }), 0},
          {"unlinkat with an unknown flag",
           at([&](int d) { return Err(unlinkat(d, "f", 0x1) == 0); }), EINVAL},
          {"truncate to a negative length", [&] { return Err(truncate("f", -1) == 0); }, EINVAL},
          {"openat with a closed descriptor", [&] { return Err(openat(1000, "f", O_RDONLY) >= 0); },
           EBADF},
          {"openat with a file as the directory", at([&](int d) {
             const int file = openat(d, "f", O_RDONLY);
             if (file < 0) return errno;
             const int result = Err(openat(file, "x", O_RDONLY) >= 0);
             close(file);
             return result;
           }),
           ENOTDIR},
          // O_PATH is served: it needs no permission beyond the path being covered.
          {"O_PATH", [&] { return Err(open("f", O_PATH) >= 0); }, 0},
          {"O_TMPFILE is outside the broker's open flags",
           [&] { return Err(open(".", O_RDWR | O_TMPFILE, 0600) >= 0); }, EINVAL},
      });
  struct stat st;
  EXPECT_EQ(lstat((w + "/link3").c_str(), &st), 0);
  EXPECT_NE(lstat((w + "/link2").c_str(), &st), 0);
  EXPECT_NE(lstat((w + "/hard").c_str(), &st), 0);
  EXPECT_NE(lstat((w + "/made").c_str(), &st), 0);
}

// A set-up step the sandboxee depends on fails by name, and no sandboxee runs.
TEST_P(FileRedirectionTest, NoChannelForTheHandlerFailsTheSetUpByName) {
  Launcher launcher = MakeLauncher(FilePolicy::Builder());
  launcher.SetMaxChannels(1);  // descriptor 3 only: the handler's new-channel gets EMFILE
  SharedInts ran(1);
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd) {
    ran[0] = 1;
    return 0;
  });
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("file-redirection"), absl::string_view::npos)
      << result.status();
  EXPECT_NE(result.status().message().find("Too many open files"), absl::string_view::npos)
      << result.status();
  EXPECT_EQ(ran[0], SharedInts::kUnset);
}

// chdir, getcwd and relative paths are the broker's working directory.
TEST_P(FileRedirectionTest, ChdirGetcwdAndRelativePaths) {
  ScratchDir dir;
  const std::string t = dir.MakeDir("t");
  dir.MakeDir("t/sub");
  dir.WriteFile("t/sub/f", "sub f");
  dir.WriteFile("t/f", "t f");

  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadTree(t));
  launcher.SetWorkingDirectory(t);
  RunCases(
      launcher,
      {
          {"getcwd is the launcher's working directory",
           [&] {
             char cwd[PATH_MAX];
             if (getcwd(cwd, sizeof(cwd)) == nullptr) return errno;
             return cwd == t ? 0 : kWrongResult;
           },
           0},
          {"a relative fopen", [&] { return FopenReads("f", "t f"); }, 0},
          {"chdir", [&] { return Err(chdir("sub") == 0); }, 0},
          {"getcwd after chdir",
           [&] {
             char cwd[PATH_MAX];
             if (getcwd(cwd, sizeof(cwd)) == nullptr) return errno;
             return cwd == t + "/sub" ? 0 : kWrongResult;
           },
           0},
          {"std::filesystem-free getcwd(NULL, 0) allocates",
           [&] {
             char* cwd = getcwd(nullptr, 0);
             if (cwd == nullptr) return errno;
             const bool same = cwd == t + "/sub";
             free(cwd);
             return same ? 0 : kWrongResult;
           },
           0},
          {"getcwd with a short buffer",
           [&] {
             char cwd[4];
             return Err(getcwd(cwd, sizeof(cwd)) != nullptr);
           },
           ERANGE},
          {"a relative fopen after chdir", [&] { return FopenReads("f", "sub f"); }, 0},
          {"realpath of a relative path",
           [&] {
             char resolved[PATH_MAX];
             if (realpath("../f", resolved) == nullptr) return errno;
             return resolved == t + "/f" ? 0 : kWrongResult;
           },
           0},
          {"fchdir",
           [&] {
             const int fd = open(t.c_str(), O_RDONLY | O_DIRECTORY);
             if (fd < 0) return errno;
             const int result = Err(fchdir(fd) == 0);
             close(fd);
             return result;
           },
           0},
          {"a relative fopen after fchdir", [&] { return FopenReads("f", "t f"); }, 0},
          // AT_EMPTY_PATH with AT_FDCWD: the working directory, by "" or (Linux 6.11) NULL.
          {"newfstatat(AT_FDCWD, \"\", AT_EMPTY_PATH) stats the working directory",
           [&] {
             struct stat here;
             struct stat by_path;
             if (syscall(SYS_newfstatat, AT_FDCWD, "", &here, AT_EMPTY_PATH) != 0) return errno;
             if (stat(t.c_str(), &by_path) != 0) return errno;
             return here.st_ino == by_path.st_ino ? 0 : kWrongResult;
           },
           0},
          {"newfstatat with a NULL path and AT_EMPTY_PATH",
           [&] {
             struct stat here;
             if (syscall(SYS_newfstatat, AT_FDCWD, nullptr, &here, AT_EMPTY_PATH) != 0) {
               return errno;
             }
             return S_ISDIR(here.st_mode) ? 0 : kWrongResult;
           },
           0},
          {"statx(AT_FDCWD, \"\", AT_EMPTY_PATH)",
           [&] {
             struct statx here;
             return Err(syscall(SYS_statx, AT_FDCWD, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &here) ==
                        0);
           },
           0},
          {"chdir outside the grant", [&] { return Err(chdir(dir.path().c_str()) == 0); }, EACCES},
          {"chdir to a file", [&] { return Err(chdir("f") == 0); }, ENOTDIR},
      });
}

// The protocol's getcwd (op 16), through the client library, with its decision record.
TEST_P(FileRedirectionTest, BrokerClientGetcwdAnswersTheWorkingDirectory) {
  ScratchDir dir;
  const std::string t = dir.MakeDir("t");
  dir.MakeDir("t/sub");
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadTree(t));
  launcher.SetWorkingDirectory(t);
  SharedInts got(4);
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    BrokerClient client(std::move(channel));
    absl::StatusOr<std::string> before = client.Getcwd();
    got[0] = before.ok() && *before == t;
    got[1] = client.Chdir("sub").ok();
    absl::StatusOr<std::string> after = client.Getcwd();
    got[2] = after.ok() && *after == t + "/sub";
    char small[4];
    got[3] = client.GetcwdRaw(small, sizeof(small));
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(got[0], 1);
  EXPECT_EQ(got[1], 1);
  EXPECT_EQ(got[2], 1);
  EXPECT_EQ(got[3], -ERANGE);
  const std::string expected = absl::StrCat("getcwd \"", t, "/sub\": allowed");
  const std::vector<std::string> lines = log_.Lines();
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(),
                          [&](const std::string& line) { return line.rfind(expected, 0) == 0; }))
      << "no decision line starting with " << expected;
}

// ---------------------------------------------------------------------------------------------
// The handler cannot be taken away, and keeps libc's contract.

TEST_P(FileRedirectionTest, ChangingSigsysDispositionIsAReportedViolation) {
  Launcher launcher = MakeLauncher(FilePolicy::Builder());
  absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd) {
    struct sigaction action = {};
    action.sa_handler = SIG_IGN;
    sigaction(SIGSYS, &action, nullptr);
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcome, SandboxResult::Outcome::kViolation) << result->ToString();
  EXPECT_EQ(result->violation->syscall_name, "rt_sigaction");
}

TEST_P(FileRedirectionTest, QueryingSigsysDispositionIsAllowed) {
  Launcher launcher = MakeLauncher(FilePolicy::Builder());
  SharedInts got(2);
  Run(launcher, [&] {
    struct sigaction current = {};
    got[0] = Err(sigaction(SIGSYS, nullptr, &current) == 0);
    got[1] = (current.sa_flags & SA_SIGINFO) != 0;
  });
  EXPECT_EQ(got[0], 0) << ErrnoText(got[0]);
  EXPECT_EQ(got[1], 1);
}

TEST_P(FileRedirectionTest, SigsysCannotBeBlocked) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "contents");
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadFile(file));
  SharedInts got(12);
  Run(launcher, [&] {
    sigset_t sigsys;
    sigemptyset(&sigsys);
    sigaddset(&sigsys, SIGSYS);
    sigset_t now;
    got[0] = Err(sigprocmask(SIG_BLOCK, &sigsys, nullptr) == 0);
    got[1] = Err(sigprocmask(SIG_BLOCK, nullptr, &now) == 0);
    got[2] = sigismember(&now, SIGSYS);
    got[3] = FopenReads(file, "contents");

    sigset_t all;
    sigfillset(&all);
    got[4] = pthread_sigmask(SIG_SETMASK, &all, nullptr);
    got[5] = pthread_sigmask(SIG_SETMASK, nullptr, &now);
    got[6] = sigismember(&now, SIGSYS);
    got[7] = sigismember(&now, SIGUSR1);  // the rest of the mask did apply
    got[8] = FopenReads(file, "contents");
    // The kernel's argument checks.
    got[9] = Err(sigprocmask(42, &sigsys, nullptr) == 0);
    got[10] = Err(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &sigsys, nullptr, 16) == 0);
    got[11] = Err(syscall(SYS_rt_sigprocmask, SIG_BLOCK, 8, nullptr, 8) == 0);
  });
  EXPECT_EQ(got[0], 0) << ErrnoText(got[0]);
  EXPECT_EQ(got[1], 0) << ErrnoText(got[1]);
  EXPECT_EQ(got[2], 0) << "SIGSYS is blocked after sigprocmask(SIG_BLOCK, {SIGSYS})";
  EXPECT_EQ(got[3], 0) << ErrnoText(got[3]);
  EXPECT_EQ(got[4], 0) << ErrnoText(got[4]);
  EXPECT_EQ(got[5], 0) << ErrnoText(got[5]);
  EXPECT_EQ(got[6], 0) << "SIGSYS is blocked after pthread_sigmask(SIG_SETMASK, all)";
  EXPECT_EQ(got[7], 1) << "SIGUSR1 is not blocked after pthread_sigmask(SIG_SETMASK, all)";
  EXPECT_EQ(got[8], 0) << ErrnoText(got[8]);
  EXPECT_EQ(got[9], EINVAL) << ErrnoText(got[9]);
  EXPECT_EQ(got[10], EINVAL) << ErrnoText(got[10]);
  EXPECT_EQ(got[11], EFAULT) << ErrnoText(got[11]);
}

TEST_P(FileRedirectionTest, ErrnoIsPreservedAcrossASuccessfulCall) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "contents");
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadFile(file));
  SharedInts got(3);
  Run(launcher, [&] {
    errno = 1234;
    const int fd = open(file.c_str(), O_RDONLY);
    got[0] = errno;
    struct stat st;
    got[1] = stat(file.c_str(), &st) == 0 ? errno : -errno;
    close(fd);
    got[2] = open((file + "x").c_str(), O_RDONLY) < 0 ? errno : 0;
  });
  EXPECT_EQ(got[0], 1234);
  EXPECT_EQ(got[1], 1234);
  EXPECT_EQ(got[2], ENOENT) << ErrnoText(got[2]);  // no rule covers it: as if absent
}

TEST_P(FileRedirectionTest, RawSyscallsAreRedirectedToo) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "contents");
  const std::string secret = dir.WriteFile("secret", "secret");
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadFile(file));
  SharedInts got(5);
  Run(launcher, [&] {
    const long fd = syscall(SYS_openat, AT_FDCWD, file.c_str(), O_RDONLY);
    char buffer[16] = {};
    got[0] = fd >= 0 && read(static_cast<int>(fd), buffer, sizeof(buffer)) == 8 &&
             std::string(buffer) == "contents";
    got[1] = syscall(SYS_open, secret.c_str(), O_RDONLY) < 0 ? errno : 0;
    // openat2 is brokered too, with the kernel's checks of its arguments.
    got[2] = syscall(SYS_openat2, AT_FDCWD, secret.c_str(), nullptr, 0) < 0 ? errno : 0;
    open_how how = {};
    how.flags = O_RDONLY;
    got[3] = syscall(SYS_openat2, AT_FDCWD, secret.c_str(), &how, sizeof(how)) < 0 ? errno : 0;
    const long granted = syscall(SYS_openat2, AT_FDCWD, file.c_str(), &how, sizeof(how));
    char again[16] = {};
    got[4] = granted >= 0 && read(static_cast<int>(granted), again, sizeof(again)) == 8 &&
             std::string(again) == "contents";
  });
  EXPECT_EQ(got[0], 1);
  EXPECT_EQ(got[1], ENOENT) << ErrnoText(got[1]);  // no rule covers it: as if absent
  EXPECT_EQ(got[2], EINVAL) << ErrnoText(got[2]);  // a size below open_how's: the kernel's EINVAL
  EXPECT_EQ(got[3], ENOENT) << ErrnoText(got[3]);
  EXPECT_EQ(got[4], 1);
}

TEST_P(FileRedirectionTest, ATrappedCallTheHandlerDoesNotServeEndsTheProcessBySigsys) {
  Launcher launcher =
      MakeLauncher(FilePolicy::Builder(), [](SyscallPolicy::Builder& b) { b.Trap("getsid"); });
  absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd) {
    syscall(SYS_getsid, 0);
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, SandboxResult::Outcome::kSignaled) << result->ToString();
  EXPECT_EQ(result->signal, SIGSYS) << result->ToString();
}

TEST_P(FileRedirectionTest, EightThreadsOpenAtOnce) {
  ScratchDir dir;
  const std::string t = dir.MakeDir("t");
  std::vector<std::string> contents;
  for (int i = 0; i < 8; ++i) {
    contents.push_back(std::string(100 + i, static_cast<char>('a' + i)));
    dir.WriteFile("t/f" + std::to_string(i), contents.back());
  }
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadTree(t));
  SharedInts failures(8);
  Run(launcher, [&] {
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&, i] {
        int failed = 0;
        for (int round = 0; round < 100; ++round) {
          if (FopenReads(t + "/f" + std::to_string(i), contents[i]) != 0) ++failed;
        }
        failures[i] = failed;
      });
    }
    for (std::thread& thread : threads) thread.join();
  });
  for (int i = 0; i < 8; ++i) EXPECT_EQ(failures[i], 0) << "thread " << i;
}

// A handler that makes redirected calls, for a signal that arrives at any point of the
// sandboxee's code, redirected calls included.
std::string g_handler_file;
std::atomic<int> g_handler_opens{0};
std::atomic<int> g_handler_failures{0};

void OpenInHandler(int) {
  const int saved = errno;
  const int fd = open(g_handler_file.c_str(), O_RDONLY);
  char c;
  if (fd >= 0 && read(fd, &c, 1) == 1 && c == 'c') {
    g_handler_opens.fetch_add(1);
  } else {
    g_handler_failures.fetch_add(1);
  }
  if (fd >= 0) close(fd);
  errno = saved;
}

TEST_P(FileRedirectionTest, ASignalHandlerThatOpensFilesWorksAtAnyPoint) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "contents");
  g_handler_file = file;
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadFile(file));
  enum { kPid, kDone, kOpens, kFailures, kMainFailures, kSlots };
  SharedInts shared(kSlots);
  std::atomic<bool> stop{false};
  std::thread signaller([&] {
    while (!stop.load() && shared[kPid] == SharedInts::kUnset) usleep(100);
    while (!stop.load() && shared[kDone] == SharedInts::kUnset) {
      kill(shared[kPid], SIGUSR1);
      usleep(200);
    }
  });
  Run(launcher, [&] {
    struct sigaction action = {};
    action.sa_handler = OpenInHandler;
    sigaction(SIGUSR1, &action, nullptr);
    shared[kPid] = getpid();
    int failures = 0;
    timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
      if (FopenReads(file, "contents") != 0) ++failures;
      clock_gettime(CLOCK_MONOTONIC, &now);
    } while (g_handler_opens.load() < 50 && now.tv_sec - start.tv_sec < 10);
    // Stop the signals before exiting, so none arrives mid-exit.
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, nullptr);
    shared[kOpens] = g_handler_opens.load();
    shared[kFailures] = g_handler_failures.load();
    shared[kMainFailures] = failures;
    shared[kDone] = 1;
  });
  stop = true;
  signaller.join();
  EXPECT_GE(shared[kOpens], 50);
  EXPECT_EQ(shared[kFailures], 0);
  EXPECT_EQ(shared[kMainFailures], 0);
}

TEST_P(FileRedirectionTest, ConnectGetsTheBrokersConnectedSocket) {
  ScratchDir dir;
  const std::string path = dir.path() + "/socket";
  // Bound through the directory's descriptor, and named relative to the working directory in
  // the sandbox, so that a long TEST_TMPDIR cannot overflow sun_path.
  const int dirfd = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dirfd, 0);
  const int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un bound = {};
  bound.sun_family = AF_UNIX;
  snprintf(bound.sun_path, sizeof(bound.sun_path), "/proc/self/fd/%d/socket", dirfd);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&bound), sizeof(bound)), 0);
  close(dirfd);
  ASSERT_EQ(listen(listener, 4), 0);
  std::thread server([&] {
    const int peer = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (peer >= 0) {
      EXPECT_EQ(write(peer, "hello", 5), 5);
      close(peer);
    }
  });
  Launcher launcher =
      // The file-redirection group allows the handler's getsockopt(SO_TYPE) itself.
      MakeLauncher(FilePolicy::Builder().AllowFile(path, kConnect),
                   [](SyscallPolicy::Builder& b) { b.Allow("socket", {Arg(0).Eq(AF_UNIX)}); });
  launcher.SetWorkingDirectory(dir.path());
  SharedInts got(4);
  Run(launcher, [&] {
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    snprintf(address.sun_path, sizeof(address.sun_path), "socket");
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    got[0] = Err(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    char buffer[8] = {};
    got[1] = read(fd, buffer, sizeof(buffer)) == 5 && std::string(buffer) == "hello";
    snprintf(address.sun_path, sizeof(address.sun_path), "other");
    const int other = socket(AF_UNIX, SOCK_STREAM, 0);
    got[2] = Err(connect(other, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    sockaddr_un abstract = {};
    abstract.sun_family = AF_UNIX;
    abstract.sun_path[1] = 'x';  // an abstract name: never the broker's to connect
    got[3] = Err(connect(other, reinterpret_cast<sockaddr*>(&abstract), sizeof(abstract)) == 0);
  });
  // Wakes the server's accept if the sandboxee never connected.
  shutdown(listener, SHUT_RDWR);
  server.join();
  close(listener);
  EXPECT_EQ(got[0], 0) << ErrnoText(got[0]);
  EXPECT_EQ(got[1], 1);
  EXPECT_EQ(got[2], ENOENT) << ErrnoText(got[2]);  // no rule covers it: as if absent
  EXPECT_EQ(got[3], EACCES) << ErrnoText(got[3]);
}

TEST_P(FileRedirectionTest, TheBrokersDescriptorCountStaysFlat) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "contents");
  const std::string t = dir.MakeDir("t");
  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadFile(file).AllowReadTree(t));
  // One run first, so whatever the first run opens once for good (a log, a cache) is counted.
  Run(launcher, [&] { FopenReads(file, "contents"); });
  const int before = testing::CountOpenFds();
  for (int run = 0; run < 3; ++run) {
    Run(launcher, [&] {
      for (int i = 0; i < 50; ++i) {
        FopenReads(file, "contents");
        int error;
        ListDirectory(t, &error);
        struct stat st;
        stat(file.c_str(), &st);
      }
    });
  }
  EXPECT_EQ(testing::CountOpenFds(), before);
}

INSTANTIATE_TEST_SUITE_P(Channels, FileRedirectionTest, testing::BothChannelTypes(),
                         testing::ChannelTypeName);

}  // namespace
}  // namespace sbox
