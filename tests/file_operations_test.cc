// Every brokered file operation, end to end: a real child under SyscallPolicy::BrokeredParser()
// asks, the broker judges the request against a real FilePolicy and performs it on real files,
// and the test checks both the exact errno the sandboxee got (recorded in SharedInts) and what
// the parent sees on disk. Nothing is mocked. Most tests run on SOCK_SEQPACKET and SOCK_DGRAM.
//
// The sandboxee may only use what BrokeredParser() allows: read/write/pread, sendmsg/recvmsg,
// getdents64, fcntl, syscall(SYS_fstat) (glibc's fstat() is newfstatat, which returns ENOSYS).

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "broker/audit_log.h"
#include "broker/decision_recorder.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "sandboxee/broker_client.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using sandboxee::BrokerClient;
using sandboxee::ErrnoOf;
using testing::MakeLauncher;
using testing::ReadFileOrDie;
using testing::ScratchDir;
using testing::SharedInts;

// A case's result when the call succeeded but what it returned (the bytes read, the target, the
// mode, ...) was not what the case expected. Far from any errno.
constexpr int kWrongResult = 10000;
// The kernel's O_LARGEFILE (glibc's O_LARGEFILE is 0 on x86_64).
constexpr int kKernelLargeFile = 0100000;
// A bit no open(2) flag uses.
constexpr int kUnknownOpenBit = 0x40000000;

std::string ErrnoText(int error) {
  if (error == 0) return "0 (success)";
  if (error == kWrongResult) return "kWrongResult (succeeded with the wrong result)";
  if (error == SharedInts::kUnset) return "unset (the sandboxee never got there)";
  const char* name = error > 0 ? strerrorname_np(error) : nullptr;
  return absl::StrCat(error, " (", name != nullptr ? name : "?", ")");
}

int Err(const absl::Status& status) { return ErrnoOf(status); }
template <typename T>
int Err(const absl::StatusOr<T>& result) {
  return ErrnoOf(result.status());
}

// --- Helpers that run inside the sandboxee ---------------------------------------------------

// All of `fd` from offset 0 (pread: the descriptor's offset does not move).
std::string ReadAll(int fd) {
  std::string data;
  char buffer[4096];
  off_t offset = 0;
  ssize_t n;
  while ((n = pread(fd, buffer, sizeof(buffer), offset)) > 0) {
    data.append(buffer, static_cast<size_t>(n));
    offset += n;
  }
  return data;
}

// fstat(2) without glibc's newfstatat.
int RawFstat(int fd, struct stat* st) { return static_cast<int>(syscall(SYS_fstat, fd, st)); }

// 0 when `fd` is a descriptor whose contents are `expected`, else its errno or kWrongResult.
int ContentsAre(const absl::StatusOr<UniqueFd>& fd, const std::string& expected) {
  if (!fd.ok()) return Err(fd);
  return ReadAll(fd->get()) == expected ? 0 : kWrongResult;
}

// 0 when `data` could be written whole to `fd`.
int WriteAllTo(const absl::StatusOr<UniqueFd>& fd, const std::string& data) {
  if (!fd.ok()) return Err(fd);
  return write(fd->get(), data.data(), data.size()) == static_cast<ssize_t>(data.size())
             ? 0
             : kWrongResult;
}

// Sends one byte on a connected stream socket and expects that byte + 1 back.
int ExchangeByte(int fd, char byte) {
  iovec out = {&byte, 1};
  msghdr send_header = {};
  send_header.msg_iov = &out;
  send_header.msg_iovlen = 1;
  if (sendmsg(fd, &send_header, MSG_NOSIGNAL) != 1) return errno;
  char answer = 0;
  iovec in = {&answer, 1};
  msghdr receive_header = {};
  receive_header.msg_iov = &in;
  receive_header.msg_iovlen = 1;
  if (recvmsg(fd, &receive_header, 0) != 1) return kWrongResult;
  return answer == byte + 1 ? 0 : kWrongResult;
}

// The names in directory `fd`, sorted, from getdents64(2).
std::vector<std::string> ListDirectory(int fd) {
  std::vector<std::string> names;
  alignas(8) char buffer[4096];
  long n;
  while ((n = syscall(SYS_getdents64, fd, buffer, sizeof(buffer))) > 0) {
    for (long offset = 0; offset < n;) {
      // struct linux_dirent64: u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, char d_name[].
      uint16_t record_length;
      memcpy(&record_length, buffer + offset + 16, sizeof(record_length));
      names.emplace_back(buffer + offset + 19);
      offset += record_length;
    }
  }
  if (n < 0) names.push_back(absl::StrCat("<getdents64 failed: errno ", errno, ">"));
  std::sort(names.begin(), names.end());
  return names;
}

// --- Helpers for the parent -------------------------------------------------------------------

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return static_cast<mode_t>(-1);
  return st.st_mode & 07777;
}

off_t SizeOf(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return -1;
  return st.st_size;
}

std::string LinkTarget(const std::string& path) {
  char target[PATH_MAX];
  const ssize_t n = readlink(path.c_str(), target, sizeof(target));
  return n < 0 ? "<not a symlink>" : std::string(target, static_cast<size_t>(n));
}

mode_t CurrentUmask() {
  const mode_t mask = umask(0);
  umask(mask);
  return mask;
}

// One request (or a few) made in the sandboxee, and the errno it should end with: 0 for
// success, kWrongResult when it succeeded with the wrong result.
struct Case {
  std::string name;
  std::function<int(BrokerClient&)> call;
  int expected;
};

std::function<int(BrokerClient&)> OpenCall(std::string path, int flags, mode_t mode = 0600) {
  return [=](BrokerClient& c) { return Err(c.Open(path, flags, mode)); };
}

std::function<int(BrokerClient&)> OpenReads(std::string path, int flags, std::string expected) {
  return [=](BrokerClient& c) { return ContentsAre(c.Open(path, flags), expected); };
}

std::function<int(BrokerClient&)> OpenWrites(std::string path, int flags, std::string data,
                                             mode_t mode = 0600) {
  return [=](BrokerClient& c) { return WriteAllTo(c.Open(path, flags, mode), data); };
}

// Trees under one scratch directory, each granting every permission but one ("all" grants all
// five), each holding the same entries: f ("contents", mode 0755), d/ (empty), link -> f.
struct PermissionTrees {
  explicit PermissionTrees(const ScratchDir& scratch) {
    const auto make = [&](const std::string& name) {
      const std::string tree = scratch.MakeDir(name);
      scratch.WriteFile(name + "/f", "contents");
      chmod((tree + "/f").c_str(), 0755);
      scratch.MakeDir(name + "/d");
      scratch.Symlink(name + "/link", "f");
      return tree;
    };
    all = make("all");
    no_r = make("no_r");
    no_w = make("no_w");
    no_c = make("no_c");
    no_d = make("no_d");
    no_s = make("no_s");
  }

  FilePolicy::Builder Policy() const {
    FilePolicy::Builder files;
    // The broker's permissions; x, which the kernel enforces, has tests/exec_test.cc.
    constexpr Permissions kAll = kAllPermissions & ~kExecute;
    files.AllowTree(all, kAll)
        .AllowTree(no_r, kAll & ~kRead)
        .AllowTree(no_w, kAll & ~kWrite)
        .AllowTree(no_c, kAll & ~kCreate)
        .AllowTree(no_d, kAll & ~kDelete)
        .AllowTree(no_s, kAll & ~kConnect);
    return files;
  }

  std::string all, no_r, no_w, no_c, no_d, no_s;
};

class FileOperationsTest : public ::testing::TestWithParam<ChannelType> {
 protected:
  using Configure = std::function<void(Launcher&)>;

  // Runs `body` in a sandbox with `files`; fails the test unless the sandboxee exits with 0.
  void RunSandboxed(const FilePolicy::Builder& files,
                    const std::function<void(BrokerClient&)>& body,
                    const Configure& configure = nullptr) {
    Launcher launcher = MakeLauncher(files, GetParam());
    launcher.SetDecisionLog(log_.AsLog());
    if (configure) configure(launcher);
    absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
      BrokerClient client(std::move(channel));
      body(client);
      return 0;
    });
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_TRUE(result->ok()) << result->ToString();
  }

  // Runs every case, in order, in one sandboxee; then checks each one's errno.
  void RunCases(const FilePolicy::Builder& files, const std::vector<Case>& cases,
                const Configure& configure = nullptr) {
    SharedInts got(cases.size());
    RunSandboxed(
        files,
        [&](BrokerClient& client) {
          for (size_t i = 0; i < cases.size(); ++i) got[i] = cases[i].call(client);
        },
        configure);
    for (size_t i = 0; i < cases.size(); ++i) {
      EXPECT_EQ(got[i], cases[i].expected) << cases[i].name << ": got " << ErrnoText(got[i])
                                           << ", expected " << ErrnoText(cases[i].expected);
    }
  }

  void TearDown() override {
    if (!HasFailure()) return;
    std::cerr << "The broker's decisions:\n";
    for (const std::string& line : log_.Lines()) std::cerr << "  " << line << "\n";
  }

  DecisionRecorder log_;
};

// ============================================================================================
// 1. Every operation: allowed with the right permission, EACCES without it.
// ============================================================================================

TEST_P(FileOperationsTest, OpenNeedsReadForReadingWriteForWritingAndCreateForCreating) {
  ScratchDir dir;
  const PermissionTrees t(dir);
  for (const char* tree : {"all", "no_r", "no_w"}) {
    dir.WriteFile(absl::StrCat(tree, "/written"), "xxxxxx");
    dir.WriteFile(absl::StrCat(tree, "/trunc"), "to be truncated");
    dir.WriteFile(absl::StrCat(tree, "/trunc_ro"), "to be truncated");
    dir.WriteFile(absl::StrCat(tree, "/append"), "head");
  }
  dir.WriteFile("all/trunc_target", "to be truncated");
  dir.Symlink("all/trunc_link", "trunc_target");
  dir.Symlink("all/to_no_w_trunc", "../no_w/trunc");
  const std::vector<Case> cases = {
      {"O_RDONLY with r", OpenReads(t.all + "/f", O_RDONLY, "contents"), 0},
      {"O_RDONLY without r", OpenCall(t.no_r + "/f", O_RDONLY), EACCES},
      {"O_RDONLY needs only r (no w)", OpenReads(t.no_w + "/f", O_RDONLY, "contents"), 0},
      {"O_RDONLY needs only r (no c)", OpenReads(t.no_c + "/f", O_RDONLY, "contents"), 0},
      {"O_RDONLY needs only r (no d)", OpenReads(t.no_d + "/f", O_RDONLY, "contents"), 0},
      {"O_RDONLY needs only r (no s)", OpenReads(t.no_s + "/f", O_RDONLY, "contents"), 0},
      {"O_WRONLY with w", OpenWrites(t.all + "/written", O_WRONLY, "ab"), 0},
      {"O_WRONLY without w", OpenCall(t.no_w + "/written", O_WRONLY), EACCES},
      {"O_WRONLY needs no r", OpenWrites(t.no_r + "/written", O_WRONLY, "cd"), 0},
      {"O_RDWR with r and w", OpenReads(t.all + "/f", O_RDWR, "contents"), 0},
      {"O_RDWR without r", OpenCall(t.no_r + "/f", O_RDWR), EACCES},
      {"O_RDWR without w", OpenCall(t.no_w + "/f", O_RDWR), EACCES},
      {"O_WRONLY|O_TRUNC with w", OpenCall(t.all + "/trunc", O_WRONLY | O_TRUNC), 0},
      {"O_WRONLY|O_TRUNC without w", OpenCall(t.no_w + "/trunc", O_WRONLY | O_TRUNC), EACCES},
      {"O_RDONLY|O_TRUNC with r and w", OpenCall(t.all + "/trunc_ro", O_RDONLY | O_TRUNC), 0},
      {"O_RDONLY|O_TRUNC without w", OpenCall(t.no_w + "/trunc_ro", O_RDONLY | O_TRUNC), EACCES},
      {"O_WRONLY|O_APPEND with w", OpenWrites(t.all + "/append", O_WRONLY | O_APPEND, "+tail"), 0},
      {"O_WRONLY|O_APPEND without w", OpenCall(t.no_w + "/append", O_WRONLY | O_APPEND), EACCES},
      {"O_RDONLY|O_APPEND without w", OpenCall(t.no_w + "/append", O_RDONLY | O_APPEND), EACCES},
      {"O_CREAT with c (mode 0640 masked by 0600)",
       OpenWrites(t.all + "/created", O_WRONLY | O_CREAT | O_EXCL, "new", 0640), 0},
      {"O_CREAT with c (mode 0444 masked by 0600)",
       OpenCall(t.all + "/created_ro", O_WRONLY | O_CREAT, 0444), 0},
      {"O_RDONLY|O_CREAT needs r and c, not w", OpenCall(t.no_w + "/created", O_RDONLY | O_CREAT),
       0},
      {"O_CREAT without c", OpenCall(t.no_c + "/created", O_WRONLY | O_CREAT), EACCES},
      {"O_CREAT of an existing file without c", OpenCall(t.no_c + "/f", O_RDONLY | O_CREAT),
       EACCES},
      {"O_CREAT|O_EXCL of an existing file", OpenCall(t.all + "/f", O_RDWR | O_CREAT | O_EXCL),
       EEXIST},
      // Symlinks are followed as the kernel does: O_CREAT without O_EXCL and O_TRUNC included.
      {"O_RDONLY through a symlink inside the tree",
       OpenReads(t.all + "/link", O_RDONLY, "contents"), 0},
      {"O_CREAT (no O_EXCL) follows a symlink",
       OpenReads(t.all + "/link", O_RDWR | O_CREAT, "contents"), 0},
      {"O_CREAT|O_EXCL never follows a symlink",
       OpenCall(t.all + "/link", O_RDWR | O_CREAT | O_EXCL), EEXIST},
      {"O_TRUNC follows a symlink", OpenCall(t.all + "/trunc_link", O_WRONLY | O_TRUNC), 0},
      {"O_TRUNC through a symlink to a file without w",
       OpenCall(t.all + "/to_no_w_trunc", O_WRONLY | O_TRUNC), EACCES},
      {"O_NOFOLLOW on a final symlink", OpenCall(t.all + "/link", O_RDONLY | O_NOFOLLOW), ELOOP},
      {"missing file", OpenCall(t.all + "/missing", O_RDONLY), ENOENT},
  };
  RunCases(t.Policy(), cases);

  const mode_t mask = CurrentUmask();
  EXPECT_EQ(ReadFileOrDie(t.all + "/written"), "abxxxx");
  EXPECT_EQ(ReadFileOrDie(t.no_w + "/written"), "xxxxxx");
  EXPECT_EQ(ReadFileOrDie(t.no_r + "/written"), "cdxxxx");
  EXPECT_EQ(ReadFileOrDie(t.all + "/trunc"), "");
  EXPECT_EQ(ReadFileOrDie(t.no_w + "/trunc"), "to be truncated");
  EXPECT_EQ(ReadFileOrDie(t.all + "/trunc_target"), "") << "O_TRUNC through a symlink truncates";
  EXPECT_EQ(ReadFileOrDie(t.all + "/f"), "contents");
  EXPECT_EQ(ReadFileOrDie(t.all + "/trunc_ro"), "") << "O_RDONLY|O_TRUNC truncates";
  EXPECT_EQ(ReadFileOrDie(t.no_w + "/trunc_ro"), "to be truncated");
  EXPECT_EQ(ReadFileOrDie(t.all + "/append"), "head+tail");
  EXPECT_EQ(ReadFileOrDie(t.no_w + "/append"), "head");
  EXPECT_EQ(ReadFileOrDie(t.all + "/created"), "new");
  EXPECT_EQ(ModeOf(t.all + "/created"), 0640u & 0600u & ~mask);
  EXPECT_EQ(ModeOf(t.all + "/created_ro"), 0444u & 0600u & ~mask);
  EXPECT_TRUE(Exists(t.no_w + "/created"));
  EXPECT_FALSE(Exists(t.no_c + "/created"));
  EXPECT_EQ(LinkTarget(t.all + "/link"), "f");
}

TEST_P(FileOperationsTest, AccessNeedsReadForReadAndExecuteWriteForWriteAndAnyRuleForExistence) {
  ScratchDir dir;
  const PermissionTrees t(dir);
  const std::string plain = dir.WriteFile("all/plain", "not executable");  // 0644
  const std::string outside = dir.WriteFile("outside", "x");
  const auto access = [](std::string path, int mode) {
    return [=](BrokerClient& c) { return Err(c.Access(path, mode)); };
  };
  const std::vector<Case> cases = {
      {"R_OK with r", access(t.all + "/f", R_OK), 0},
      {"R_OK without r", access(t.no_r + "/f", R_OK), EACCES},
      {"X_OK with r", access(t.all + "/f", X_OK), 0},
      {"X_OK without r", access(t.no_r + "/f", X_OK), EACCES},
      {"X_OK needs r, not s", access(t.no_s + "/f", X_OK), 0},
      {"W_OK with w", access(t.all + "/f", W_OK), 0},
      {"W_OK without w", access(t.no_w + "/f", W_OK), EACCES},
      {"W_OK needs no r", access(t.no_r + "/f", W_OK), 0},
      {"R_OK|W_OK without w", access(t.no_w + "/f", R_OK | W_OK), EACCES},
      {"R_OK|W_OK|X_OK with everything", access(t.all + "/f", R_OK | W_OK | X_OK), 0},
      {"F_OK under rwcds", access(t.all + "/f", F_OK), 0},
      {"F_OK without r", access(t.no_r + "/f", F_OK), 0},
      {"F_OK without w", access(t.no_w + "/f", F_OK), 0},
      {"F_OK without c", access(t.no_c + "/f", F_OK), 0},
      {"F_OK without d", access(t.no_d + "/f", F_OK), 0},
      {"F_OK without s", access(t.no_s + "/f", F_OK), 0},
      {"F_OK outside the policy", access(outside, F_OK), ENOENT},
      {"R_OK outside the policy", access(outside, R_OK), ENOENT},
      {"F_OK of a missing file in a tree", access(t.all + "/missing", F_OK), ENOENT},
      {"R_OK through a symlink", access(t.all + "/link", R_OK), 0},
      {"X_OK on a 0644 file: the kernel's own EACCES", access(plain, X_OK), EACCES},
      {"unknown mode bit", access(t.all + "/f", 0100), EINVAL},
  };
  RunCases(t.Policy(), cases);
}

TEST_P(FileOperationsTest, StatAndLstatNeedOnlySomeAllowRule) {
  ScratchDir dir;
  const PermissionTrees t(dir);
  const std::string create_only = dir.WriteFile("create_only", "12345");
  const std::string outside = dir.WriteFile("outside", "x");
  struct stat expected;
  ASSERT_EQ(stat((t.all + "/f").c_str(), &expected), 0);
  const auto stat_is = [](std::string path, bool follow, mode_t type, off_t size) {
    return [=](BrokerClient& c) {
      const absl::StatusOr<struct stat> st = follow ? c.Stat(path) : c.Lstat(path);
      if (!st.ok()) return Err(st);
      return (st->st_mode & S_IFMT) == type && (size < 0 || st->st_size == size) ? 0 : kWrongResult;
    };
  };
  const auto stat_call = [](std::string path, bool follow) {
    return [=](BrokerClient& c) { return Err(follow ? c.Stat(path) : c.Lstat(path)); };
  };
  const ino_t inode = expected.st_ino;
  const std::vector<Case> cases = {
      {"stat of a file", stat_is(t.all + "/f", true, S_IFREG, 8), 0},
      {"stat matches the parent's inode",
       [=](BrokerClient& c) {
         const absl::StatusOr<struct stat> st = c.Stat(t.all + "/f");
         return !st.ok() ? Err(st) : st->st_ino == inode ? 0 : kWrongResult;
       },
       0},
      {"stat without r", stat_is(t.no_r + "/f", true, S_IFREG, 8), 0},
      {"stat without w", stat_is(t.no_w + "/f", true, S_IFREG, 8), 0},
      {"stat without c", stat_is(t.no_c + "/f", true, S_IFREG, 8), 0},
      {"stat without d", stat_is(t.no_d + "/f", true, S_IFREG, 8), 0},
      {"stat without s", stat_is(t.no_s + "/f", true, S_IFREG, 8), 0},
      {"stat under a create-only file rule", stat_is(create_only, true, S_IFREG, 5), 0},
      {"stat of a tree's root", stat_is(t.all, true, S_IFDIR, -1), 0},
      {"stat of a directory in a tree", stat_is(t.all + "/d", true, S_IFDIR, -1), 0},
      {"stat follows a symlink", stat_is(t.all + "/link", true, S_IFREG, 8), 0},
      {"lstat describes the symlink", stat_is(t.all + "/link", false, S_IFLNK, 1), 0},
      {"lstat of a file", stat_is(t.no_r + "/f", false, S_IFREG, 8), 0},
      {"stat outside the policy", stat_call(outside, true), ENOENT},
      {"lstat outside the policy", stat_call(outside, false), ENOENT},
      {"stat of a missing file in a tree", stat_call(t.all + "/missing", true), ENOENT},
      {"stat flags other than AT_SYMLINK_NOFOLLOW",
       [=](BrokerClient& c) {
         struct stat st;
         return -c.StatRaw(AT_FDCWD, t.all + "/f", AT_EMPTY_PATH, &st);
       },
       EINVAL},
  };
  RunCases(FilePolicy::Builder(t.Policy()).AllowFile(create_only, kCreate), cases);
}

TEST_P(FileOperationsTest, ReadlinkNeedsReadAndReadlinkRawTruncatesLikeReadlink2) {
  ScratchDir dir;
  const PermissionTrees t(dir);
  dir.Symlink("all/long", "abcdefgh");
  dir.Symlink("no_r/long", "abcdefgh");
  const std::string file_rule_link = dir.Symlink("file_rule_link", t.all + "/f");
  const auto readlink_is = [](std::string path, std::string expected) {
    return [=](BrokerClient& c) {
      const absl::StatusOr<std::string> target = c.Readlink(path);
      return !target.ok() ? Err(target) : *target == expected ? 0 : kWrongResult;
    };
  };
  const std::vector<Case> cases = {
      {"readlink with r", readlink_is(t.all + "/link", "f"), 0},
      {"readlink of a dangling link", readlink_is(t.all + "/long", "abcdefgh"), 0},
      {"readlink without r", readlink_is(t.no_r + "/long", ""), EACCES},
      {"ReadlinkRaw with a 4-byte buffer returns 4 and the first 4 bytes",
       [=](BrokerClient& c) {
         char buffer[8];
         memset(buffer, '#', sizeof(buffer));
         const int n = c.ReadlinkRaw(AT_FDCWD, t.all + "/long", buffer, 4);
         if (n < 0) return -n;
         return n == 4 && std::string(buffer, 8) == "abcd####" ? 0 : kWrongResult;
       },
       0},
      {"ReadlinkRaw with a large buffer returns the whole target",
       [=](BrokerClient& c) {
         char buffer[64];
         const int n = c.ReadlinkRaw(AT_FDCWD, t.all + "/long", buffer, sizeof(buffer));
         if (n < 0) return -n;
         return n == 8 && std::string(buffer, 8) == "abcdefgh" ? 0 : kWrongResult;
       },
       0},
      {"ReadlinkRaw without r",
       [=](BrokerClient& c) {
         char buffer[4];
         return -c.ReadlinkRaw(AT_FDCWD, t.no_r + "/long", buffer, sizeof(buffer));
       },
       EACCES},
      {"readlink of a regular file", readlink_is(t.all + "/f", ""), EINVAL},
      {"readlink of a tree's root", readlink_is(t.all, ""), EINVAL},
      {"readlink of a missing name", readlink_is(t.all + "/missing", ""), ENOENT},
      {"readlink outside the policy", readlink_is(dir.path() + "/x", ""), ENOENT},
      {"readlink of a symlink a file rule names", readlink_is(file_rule_link, t.all + "/f"), 0},
      // Followed: its target is judged as the path it names (granted here).
      {"open of it follows to the granted target", OpenReads(file_rule_link, O_RDONLY, "contents"),
       0},
      {"stat of it follows to the granted target",
       [=](BrokerClient& c) { return Err(c.Stat(file_rule_link)); }, 0},
      {"lstat of it",
       [=](BrokerClient& c) {
         const absl::StatusOr<struct stat> st = c.Lstat(file_rule_link);
         return !st.ok() ? Err(st) : S_ISLNK(st->st_mode) ? 0 : kWrongResult;
       },
       0},
  };
  RunCases(FilePolicy::Builder(t.Policy()).AllowReadFile(file_rule_link), cases);
}

TEST_P(FileOperationsTest, MkdirNeedsCreateAndMasksTheMode) {
  ScratchDir dir;
  const PermissionTrees t(dir);
  const auto mkdir_call = [](std::string path, mode_t mode) {
    return [=](BrokerClient& c) { return Err(c.Mkdir(path, mode)); };
  };
  const std::vector<Case> cases = {
      {"mkdir with c", mkdir_call(t.all + "/new", 0755), 0},
      {"mkdir of the same path again", mkdir_call(t.all + "/new", 0755), EEXIST},
      {"mkdir over an existing file", mkdir_call(t.all + "/f", 0755), EEXIST},
      {"mkdir in a new directory", mkdir_call(t.all + "/new/sub", 0555), 0},
      {"mkdir with special bits", mkdir_call(t.all + "/special", 07777), 0},
      {"mkdir without c", mkdir_call(t.no_c + "/new", 0755), EACCES},
      {"mkdir of an existing path without c", mkdir_call(t.no_c + "/d", 0755), EACCES},
      {"mkdir with only c missing from d", mkdir_call(t.no_d + "/new", 0700), 0},
      {"mkdir under a missing directory", mkdir_call(t.all + "/missing/sub", 0755), ENOENT},
      {"mkdir of a tree's root", mkdir_call(t.all, 0755), EEXIST},
      {"mkdir outside the policy", mkdir_call(dir.path() + "/new", 0755), ENOENT},
  };
  RunCases(t.Policy(), cases);
  const mode_t mask = CurrentUmask();
  EXPECT_EQ(ModeOf(t.all + "/new"), 0755u & 0700u & ~mask);
  EXPECT_EQ(ModeOf(t.all + "/new/sub"), 0555u & 0700u & ~mask);
  EXPECT_EQ(ModeOf(t.all + "/special"), 0700u & ~mask);
  EXPECT_TRUE(Exists(t.no_d + "/new"));
  EXPECT_FALSE(Exists(t.no_c + "/new"));
  EXPECT_FALSE(Exists(dir.path() + "/new"));
}

TEST_P(FileOperationsTest, RmdirAndUnlinkNeedDelete) {
  ScratchDir dir;
  const PermissionTrees t(dir);
  dir.MakeDir("all/full");
  dir.WriteFile("all/full/x", "x");
  dir.WriteFile("all/f2", "f2");
  const std::string outside = dir.WriteFile("outside", "x");
  const auto rmdir_call = [](std::string path) {
    return [=](BrokerClient& c) { return Err(c.Rmdir(path)); };
  };
  const auto unlink_call = [](std::string path) {
    return [=](BrokerClient& c) { return Err(c.Unlink(path)); };
  };
  const std::vector<Case> cases = {
      {"rmdir with d", rmdir_call(t.all + "/d"), 0},
      {"rmdir without d", rmdir_call(t.no_d + "/d"), EACCES},
      {"rmdir needs only d (no r)", rmdir_call(t.no_r + "/d"), 0},
      {"rmdir of a non-empty directory", rmdir_call(t.all + "/full"), ENOTEMPTY},
      {"rmdir of a file", rmdir_call(t.all + "/f2"), ENOTDIR},
      {"rmdir of a missing directory", rmdir_call(t.all + "/missing"), ENOENT},
      {"rmdir of a tree's root", rmdir_call(t.no_r), EACCES},
      {"unlink with d", unlink_call(t.all + "/f2"), 0},
      {"unlink without d", unlink_call(t.no_d + "/f"), EACCES},
      {"unlink needs only d (no w)", unlink_call(t.no_w + "/f"), 0},
      {"unlink of a directory: the kernel's EISDIR", unlink_call(t.all + "/full"), EISDIR},
      {"unlink of a symlink removes the link", unlink_call(t.all + "/link"), 0},
      {"unlink of a missing file", unlink_call(t.all + "/missing"), ENOENT},
      {"unlink of a tree's root", unlink_call(t.all), EACCES},
      {"unlink outside the policy", unlink_call(outside), ENOENT},
  };
  RunCases(t.Policy(), cases);
  EXPECT_FALSE(Exists(t.all + "/d"));
  EXPECT_TRUE(Exists(t.no_d + "/d"));
  EXPECT_FALSE(Exists(t.no_r + "/d"));
  EXPECT_TRUE(Exists(t.all + "/full/x"));
  EXPECT_FALSE(Exists(t.all + "/f2"));
  EXPECT_TRUE(Exists(t.no_d + "/f"));
  EXPECT_FALSE(Exists(t.no_w + "/f"));
  EXPECT_FALSE(Exists(t.all + "/link"));
  EXPECT_EQ(ReadFileOrDie(t.all + "/f"), "contents") << "unlinking the symlink spares its target";
  EXPECT_TRUE(Exists(outside));
}

TEST_P(FileOperationsTest, RenameNeedsReadAndDeleteOnTheOldNameAndCreateOnTheNew) {
  ScratchDir dir;
  const PermissionTrees t(dir);
  dir.WriteFile("all/a", "A");
  dir.WriteFile("all/b", "B");
  dir.WriteFile("all/c", "C");
  dir.WriteFile("all/x", "X");
  dir.WriteFile("all/y", "Y");
  dir.WriteFile("all/replaced", "old");
  dir.WriteFile("all/one", "one");
  dir.WriteFile("all/two", "two");
  const auto rename_call = [](std::string from, std::string to, unsigned flags) {
    return [=](BrokerClient& c) { return Err(c.Rename(from, to, flags)); };
  };
  const std::vector<Case> cases = {
      {"rename within a tree", rename_call(t.all + "/a", t.all + "/a2", 0), 0},
      {"rename replacing an existing name", rename_call(t.all + "/b", t.all + "/replaced", 0), 0},
      {"old name without r", rename_call(t.no_r + "/f", t.no_r + "/g", 0), EACCES},
      {"old name without d", rename_call(t.no_d + "/f", t.no_d + "/g", 0), EACCES},
      {"new name without c", rename_call(t.all + "/c", t.no_c + "/c", 0), EACCES},
      {"replacing needs d on the new name", rename_call(t.all + "/x", t.no_d + "/f", 0), EACCES},
      {"RENAME_NOREPLACE needs no d on the new name",
       rename_call(t.all + "/x", t.no_d + "/x", RENAME_NOREPLACE), 0},
      {"RENAME_NOREPLACE onto an existing name",
       rename_call(t.all + "/y", t.all + "/f", RENAME_NOREPLACE), EEXIST},
      {"RENAME_EXCHANGE swaps", rename_call(t.all + "/one", t.all + "/two", RENAME_EXCHANGE), 0},
      {"RENAME_EXCHANGE needs r on the new name",
       rename_call(t.all + "/y", t.no_r + "/f", RENAME_EXCHANGE), EACCES},
      {"RENAME_EXCHANGE needs c on the old name",
       rename_call(t.no_c + "/f", t.all + "/y", RENAME_EXCHANGE), EACCES},
      {"RENAME_EXCHANGE with a missing name",
       rename_call(t.all + "/y", t.all + "/missing", RENAME_EXCHANGE), ENOENT},
      {"RENAME_WHITEOUT", rename_call(t.all + "/y", t.all + "/w", RENAME_WHITEOUT), EINVAL},
      {"RENAME_NOREPLACE|RENAME_EXCHANGE",
       rename_call(t.all + "/y", t.all + "/w", RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL},
      {"unknown rename flag", rename_call(t.all + "/y", t.all + "/w", 1u << 5), EINVAL},
      {"missing old name", rename_call(t.all + "/missing", t.all + "/w", 0), ENOENT},
      {"a directory into itself: the kernel's EINVAL",
       rename_call(t.all + "/d", t.all + "/d/sub", 0), EINVAL},
      {"a tree's root", rename_call(t.all, t.all + "/root_moved", 0), EACCES},
  };
  RunCases(t.Policy(), cases);
  EXPECT_FALSE(Exists(t.all + "/a"));
  EXPECT_EQ(ReadFileOrDie(t.all + "/a2"), "A");
  EXPECT_FALSE(Exists(t.all + "/b"));
  EXPECT_EQ(ReadFileOrDie(t.all + "/replaced"), "B");
  EXPECT_TRUE(Exists(t.no_r + "/f"));
  EXPECT_TRUE(Exists(t.no_d + "/f"));
  EXPECT_TRUE(Exists(t.all + "/c"));
  EXPECT_FALSE(Exists(t.no_c + "/c"));
  EXPECT_EQ(ReadFileOrDie(t.no_d + "/f"), "contents");
  EXPECT_EQ(ReadFileOrDie(t.no_d + "/x"), "X");
  EXPECT_EQ(ReadFileOrDie(t.all + "/y"), "Y");
  EXPECT_EQ(ReadFileOrDie(t.all + "/f"), "contents");
  EXPECT_EQ(ReadFileOrDie(t.all + "/one"), "two");
  EXPECT_EQ(ReadFileOrDie(t.all + "/two"), "one");
  EXPECT_FALSE(Exists(t.all + "/w"));
  EXPECT_TRUE(Exists(t.all + "/d"));
}

TEST_P(FileOperationsTest, LinkNeedsReadOnTheOldNameAndCreateOnTheNew) {
  ScratchDir dir;
  const PermissionTrees t(dir);
  const auto link_call = [](std::string from, std::string to) {
    return [=](BrokerClient& c) { return Err(c.Link(from, to)); };
  };
  const std::vector<Case> cases = {
      {"link within a tree", link_call(t.all + "/f", t.all + "/hard"), 0},
      {"old name without r", link_call(t.no_r + "/f", t.no_r + "/hard"), EACCES},
      {"new name without c", link_call(t.all + "/f", t.no_c + "/hard"), EACCES},
      {"link needs no d", link_call(t.no_d + "/f", t.no_d + "/hard"), 0},
      {"link needs no w", link_call(t.no_w + "/f", t.no_w + "/hard"), 0},
      {"new name exists", link_call(t.all + "/f", t.all + "/d"), EEXIST},
      {"old name missing", link_call(t.all + "/missing", t.all + "/hard2"), ENOENT},
      {"a directory: the kernel's EPERM", link_call(t.all + "/d", t.all + "/d2"), EPERM},
  };
  RunCases(t.Policy(), cases);
  struct stat original, hard;
  ASSERT_EQ(stat((t.all + "/f").c_str(), &original), 0);
  ASSERT_EQ(stat((t.all + "/hard").c_str(), &hard), 0);
  EXPECT_EQ(original.st_ino, hard.st_ino);
  EXPECT_EQ(original.st_nlink, 2u);
  EXPECT_FALSE(Exists(t.no_r + "/hard"));
  EXPECT_FALSE(Exists(t.no_c + "/hard"));
  EXPECT_TRUE(Exists(t.no_d + "/hard"));
  EXPECT_FALSE(Exists(t.all + "/d2"));
}

TEST_P(FileOperationsTest, SymlinkNeedsCreateAndItsTargetIsJudgedWhenFollowed) {
  ScratchDir dir;
  const PermissionTrees t(dir);
  const std::string secret = dir.WriteFile("secret", "secret");
  dir.MakeDir("all/hidden");
  const auto symlink_call = [](std::string target, std::string link) {
    return [=](BrokerClient& c) { return Err(c.Symlink(target, link)); };
  };
  // Creates the link, then reads it back through the broker.
  const auto symlink_reads_back = [](std::string target, std::string link) {
    return [=](BrokerClient& c) {
      if (const int error = Err(c.Symlink(target, link)); error != 0) return error;
      const absl::StatusOr<std::string> read = c.Readlink(link);
      return !read.ok() ? Err(read) : *read == target ? 0 : kWrongResult;
    };
  };
  const std::vector<Case> cases = {
      {"relative target inside the tree", symlink_reads_back("f", t.all + "/rel"), 0},
      {"absolute target inside the tree", symlink_reads_back(t.all + "/f", t.all + "/abs"), 0},
      {"absolute target in another granted tree",
       symlink_reads_back(t.no_r + "/f", t.all + "/abs2"), 0},
      {"relative target climbing into another granted tree",
       symlink_reads_back("../no_w/f", t.all + "/sibling"), 0},
      {"dangling target inside the tree", symlink_reads_back("not-yet", t.all + "/dangling"), 0},
      {"open through the new relative link", OpenReads(t.all + "/rel", O_RDONLY, "contents"), 0},
      // Creating a link needs only c on its path; its target is judged whenever it is followed.
      {"absolute target outside the policy", symlink_reads_back(secret, t.all + "/out"), 0},
      {"following it: the target is outside the grants", OpenCall(t.all + "/out", O_RDONLY),
       ENOENT},
      {"relative target leading outside the policy",
       symlink_reads_back("../secret", t.all + "/out2"), 0},
      {"following it: the target is outside the grants", OpenCall(t.all + "/out2", O_RDONLY),
       ENOENT},
      {"target under a deny rule", symlink_reads_back("hidden/x", t.all + "/to_hidden"), 0},
      {"following it: the deny rule's errno", OpenCall(t.all + "/to_hidden", O_RDONLY), EACCES},
      {"unnormalized absolute target", symlink_reads_back(t.all + "//f", t.all + "/bad"), 0},
      {"following it: the target is granted", OpenReads(t.all + "/bad", O_RDONLY, "contents"), 0},
      {"link path without c", symlink_call("f", t.no_c + "/rel"), EACCES},
      {"link path exists", symlink_call("f", t.all + "/link"), EEXIST},
      {"empty target", symlink_call("", t.all + "/empty"), ENOENT},
      {"link path outside the policy", symlink_call(t.all + "/f", dir.path() + "/l"), ENOENT},
  };
  RunCases(FilePolicy::Builder(t.Policy()).Deny(t.all + "/hidden"), cases);
  EXPECT_EQ(LinkTarget(t.all + "/rel"), "f");
  EXPECT_EQ(LinkTarget(t.all + "/abs"), t.all + "/f");
  EXPECT_EQ(LinkTarget(t.all + "/sibling"), "../no_w/f");
  EXPECT_EQ(LinkTarget(t.all + "/dangling"), "not-yet");
  EXPECT_EQ(LinkTarget(t.all + "/out"), secret);
  EXPECT_EQ(LinkTarget(t.all + "/out2"), "../secret");
  EXPECT_EQ(LinkTarget(t.all + "/to_hidden"), "hidden/x");
  EXPECT_EQ(LinkTarget(t.all + "/bad"), t.all + "//f");
  EXPECT_FALSE(Exists(t.all + "/empty"));
  EXPECT_FALSE(Exists(t.all + "/hidden/x"));
  EXPECT_EQ(ReadFileOrDie(secret), "secret");
  EXPECT_FALSE(Exists(t.no_c + "/rel"));
  EXPECT_FALSE(Exists(dir.path() + "/l"));
}

TEST_P(FileOperationsTest, ChmodNeedsWriteAndNeverGrantsSpecialBits) {
  ScratchDir dir;
  const PermissionTrees t(dir);
  dir.WriteFile("all/g", "g");
  dir.Symlink("all/to_g", "g");
  const std::string outside = dir.WriteFile("outside", "x");
  const auto chmod_call = [](std::string path, mode_t mode) {
    return [=](BrokerClient& c) { return Err(c.Chmod(path, mode)); };
  };
  const std::vector<Case> cases = {
      {"chmod with w", chmod_call(t.all + "/f", 0400), 0},
      {"chmod without w", chmod_call(t.no_w + "/f", 0600), EACCES},
      {"chmod needs only w (no r)", chmod_call(t.no_r + "/f", 0200), 0},
      {"setuid", chmod_call(t.all + "/f", 04755), EPERM},
      {"setgid", chmod_call(t.all + "/f", 02755), EPERM},
      {"sticky", chmod_call(t.all + "/d", 01777), EPERM},
      {"bits beyond 07777", chmod_call(t.all + "/f", 010644), EINVAL},
      // chmod's ceiling is the policy's create mode: 0600 for files, 0700 for directories.
      {"a file beyond the create mode", chmod_call(t.all + "/f", 0640), EPERM},
      {"a directory beyond the create mode", chmod_call(t.all + "/d", 0711), EPERM},
      {"a directory", chmod_call(t.all + "/d", 0500), 0},
      {"through a symlink: the target changes", chmod_call(t.all + "/to_g", 0600), 0},
      {"a missing file", chmod_call(t.all + "/missing", 0600), ENOENT},
      {"outside the policy", chmod_call(outside, 0600), ENOENT},
  };
  RunCases(t.Policy(), cases);
  EXPECT_EQ(ModeOf(t.all + "/f"), 0400u);
  EXPECT_EQ(ModeOf(t.no_w + "/f"), 0755u);
  EXPECT_EQ(ModeOf(t.no_r + "/f"), 0200u);
  EXPECT_EQ(ModeOf(t.all + "/d"), 0500u);
  EXPECT_EQ(ModeOf(t.all + "/g"), 0600u);
  EXPECT_EQ(ModeOf(outside), 0644u);
}

TEST_P(FileOperationsTest, TruncateNeedsWriteAndTheParentSeesTheNewSize) {
  ScratchDir dir;
  const PermissionTrees t(dir);
  dir.WriteFile("all/t1", "abcdefgh");
  dir.WriteFile("all/t2", "abc");
  dir.WriteFile("all/t3", "abcdefgh");
  dir.Symlink("all/to_t3", "t3");
  dir.WriteFile("no_r/t4", "abcdefgh");
  const auto truncate_call = [](std::string path, off_t length) {
    return [=](BrokerClient& c) { return Err(c.Truncate(path, length)); };
  };
  const std::vector<Case> cases = {
      {"shrink with w", truncate_call(t.all + "/t1", 3), 0},
      {"extend with w", truncate_call(t.all + "/t2", 100), 0},
      {"without w", truncate_call(t.no_w + "/f", 0), EACCES},
      {"needs only w (no r)", truncate_call(t.no_r + "/t4", 2), 0},
      {"negative length", truncate_call(t.all + "/t1", -1), EINVAL},
      {"a directory", truncate_call(t.all + "/d", 0), EISDIR},
      {"a missing file is not created", truncate_call(t.all + "/missing", 0), ENOENT},
      {"through a symlink", truncate_call(t.all + "/to_t3", 1), 0},
      {"outside the policy", truncate_call(dir.path() + "/x", 0), ENOENT},
  };
  RunCases(t.Policy(), cases);
  EXPECT_EQ(ReadFileOrDie(t.all + "/t1"), "abc");
  EXPECT_EQ(SizeOf(t.all + "/t2"), 100);
  EXPECT_EQ(ReadFileOrDie(t.no_w + "/f"), "contents");
  EXPECT_EQ(ReadFileOrDie(t.no_r + "/t4"), "ab");
  EXPECT_EQ(ReadFileOrDie(t.all + "/t3"), "a");
  EXPECT_FALSE(Exists(t.all + "/missing"));
}

// A listening AF_UNIX stream socket bound at `directory`/`name` (through /proc/self/fd, so that
// a long TEST_TMPDIR cannot overflow sun_path), answering each byte it receives with byte + 1.
class EchoPlusOneServer {
 public:
  EchoPlusOneServer(const std::string& directory, const std::string& name) {
    UniqueFd dirfd(open(directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    listener_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    snprintf(address.sun_path, sizeof(address.sun_path), "/proc/self/fd/%d/%s", dirfd.get(),
             name.c_str());
    bound_ =
        dirfd.valid() && listener_.valid() &&
        bind(listener_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0 &&
        listen(listener_.get(), 8) == 0;
    if (bound_) thread_ = std::thread([this] { Serve(); });
  }
  ~EchoPlusOneServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool bound() const { return bound_; }
  int answered() const { return answered_; }

 private:
  void Serve() {
    while (!stop_) {
      pollfd fd = {listener_.get(), POLLIN, 0};
      if (poll(&fd, 1, 50) <= 0) continue;
      UniqueFd connection(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!connection.valid()) continue;
      pollfd readable = {connection.get(), POLLIN, 0};
      int ready = 0;
      while (!stop_ && (ready = poll(&readable, 1, 50)) == 0) {
      }
      char byte;
      if (ready <= 0 || recv(connection.get(), &byte, 1, MSG_DONTWAIT) != 1) continue;
      ++byte;
      if (send(connection.get(), &byte, 1, MSG_NOSIGNAL) == 1) ++answered_;
    }
  }

  UniqueFd listener_;
  bool bound_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
  std::thread thread_;
};

TEST_P(FileOperationsTest, ConnectNeedsConnectPermissionAndReturnsAConnectedSocket) {
  ScratchDir dir;
  const PermissionTrees t(dir);
  EchoPlusOneServer server(t.all, "sock");
  ASSERT_TRUE(server.bound()) << strerror(errno);
  EchoPlusOneServer refused(t.no_s, "sock");
  ASSERT_TRUE(refused.bound()) << strerror(errno);
  const std::string sock = t.all + "/sock";
  const auto connect_call = [](std::string path, int type) {
    return [=](BrokerClient& c) { return Err(c.Connect(path, type)); };
  };
  const std::vector<Case> cases = {
      {"connect with x, then a byte each way",
       [=](BrokerClient& c) {
         const absl::StatusOr<UniqueFd> fd = c.Connect(sock, SOCK_STREAM);
         if (!fd.ok()) return Err(fd);
         if (fcntl(fd->get(), F_GETFL) & O_NONBLOCK) return kWrongResult;
         return ExchangeByte(fd->get(), 'a');
       },
       0},
      {"SOCK_NONBLOCK is kept",
       [=](BrokerClient& c) {
         const absl::StatusOr<UniqueFd> fd = c.Connect(sock, SOCK_STREAM | SOCK_NONBLOCK);
         if (!fd.ok()) return Err(fd);
         return (fcntl(fd->get(), F_GETFL) & O_NONBLOCK) ? 0 : kWrongResult;
       },
       0},
      {"the socket is close-on-exec",
       [=](BrokerClient& c) {
         const absl::StatusOr<UniqueFd> fd = c.Connect(sock, SOCK_STREAM);
         if (!fd.ok()) return Err(fd);
         return fcntl(fd->get(), F_GETFD) == FD_CLOEXEC ? 0 : kWrongResult;
       },
       0},
      {"connect without s", connect_call(t.no_s + "/sock", SOCK_STREAM), EACCES},
      {"a regular file", connect_call(t.all + "/f", SOCK_STREAM), ECONNREFUSED},
      {"a directory", connect_call(t.all + "/d", SOCK_STREAM), ECONNREFUSED},
      {"a missing path", connect_call(t.all + "/missing", SOCK_STREAM), ENOENT},
      {"a datagram socket to a stream listener: the kernel's EPROTOTYPE",
       connect_call(sock, SOCK_DGRAM), EPROTOTYPE},
      {"SOCK_RAW", connect_call(sock, SOCK_RAW), EINVAL},
      {"SOCK_CLOEXEC is not a socket type", connect_call(sock, SOCK_STREAM | SOCK_CLOEXEC), EINVAL},
      {"outside the policy", connect_call(dir.path() + "/sock", SOCK_STREAM), ENOENT},
  };
  RunCases(t.Policy(), cases);
  EXPECT_GE(server.answered(), 1);
  EXPECT_EQ(refused.answered(), 0);
}

TEST_P(FileOperationsTest, ChdirNeedsReadAndADirectoryAndMovesRelativePaths) {
  ScratchDir dir;
  const PermissionTrees t(dir);
  dir.WriteFile("all/d/inner", "inner");
  const auto chdir_call = [](std::string path) {
    return [=](BrokerClient& c) { return Err(c.Chdir(path)); };
  };
  const std::vector<Case> cases = {
      {"chdir with r", chdir_call(t.all), 0},
      {"a relative open after it", OpenReads("f", O_RDONLY, "contents"), 0},
      {"chdir without r", chdir_call(t.no_r), EACCES},
      {"chdir to a file: ENOTDIR", chdir_call(t.all + "/f"), ENOTDIR},
      {"chdir to a missing directory", chdir_call(t.all + "/missing"), ENOENT},
      {"chdir outside the policy", chdir_call(dir.path()), EACCES},
      {"failed chdirs left the directory alone", OpenReads("f", O_RDONLY, "contents"), 0},
      {"relative chdir", chdir_call("d"), 0},
      {"a relative open in the new directory", OpenReads("inner", O_RDONLY, "inner"), 0},
      {"'..' from the new directory", OpenReads("../f", O_RDONLY, "contents"), 0},
      {"stat of '.'",
       [](BrokerClient& c) {
         const absl::StatusOr<struct stat> st = c.Stat(".");
         return !st.ok() ? Err(st) : S_ISDIR(st->st_mode) ? 0 : kWrongResult;
       },
       0},
      {"chdir through a symlink to a file", chdir_call(t.all + "/link"), ENOTDIR},
  };
  RunCases(t.Policy(), cases);
}

// ============================================================================================
// 2. Open flags × rule kinds.
// ============================================================================================

TEST_P(FileOperationsTest, OpenFlagsAgainstEveryKindOfRule) {
  ScratchDir dir;
  const std::string ro_file = dir.WriteFile("ro_file", "read-only file");
  const std::string rw_file = dir.WriteFile("rw_file", "read-write file");
  const std::string ro_tree = dir.MakeDir("ro_tree");
  dir.WriteFile("ro_tree/f", "read-only tree");
  const std::string rw_tree = dir.MakeDir("rw_tree");
  dir.WriteFile("rw_tree/f", "read-write tree");
  const std::string tmp = dir.MakeDir("tmp");
  const std::string outside = dir.WriteFile("outside", "outside");

  enum Column { kRoFile, kRwFile, kRoTree, kRwcdTree, kTemporary, kNoRule, kColumns };
  const std::string targets[kColumns] = {ro_file,        rw_file,          ro_tree + "/f",
                                         rw_tree + "/f", tmp + "/created", outside};
  const char* const column_names[kColumns] = {"read-only file", "read-write file", "read-only tree",
                                              "rwcd tree",      "temporary dir",   "no rule"};
  struct Row {
    const char* name;
    int flags;
    int expected[kColumns];
  };
  const int A = EACCES;
  const int I = EINVAL;
  const int N = ENOENT;  // no rule covers the path: as if absent
  // Columns: read-only file, read-write file (rwc), read-only tree, rwcd tree, temporary, none.
  const std::vector<Row> rows = {
      {"O_RDONLY", O_RDONLY, {0, 0, 0, 0, A, N}},
      {"O_WRONLY", O_WRONLY, {A, 0, A, 0, A, N}},
      {"O_RDWR", O_RDWR, {A, 0, A, 0, A, N}},
      {"O_RDONLY|O_TRUNC", O_RDONLY | O_TRUNC, {A, 0, A, 0, A, N}},
      {"O_WRONLY|O_TRUNC", O_WRONLY | O_TRUNC, {A, 0, A, 0, A, N}},
      {"O_RDONLY|O_APPEND", O_RDONLY | O_APPEND, {A, 0, A, 0, A, N}},
      {"O_WRONLY|O_APPEND", O_WRONLY | O_APPEND, {A, 0, A, 0, A, N}},
      {"O_RDONLY|O_CREAT", O_RDONLY | O_CREAT, {A, 0, A, 0, A, N}},
      {"O_WRONLY|O_CREAT", O_WRONLY | O_CREAT, {A, 0, A, 0, A, N}},
      {"O_RDWR|O_CREAT", O_RDWR | O_CREAT, {A, 0, A, 0, A, N}},
      {"O_RDONLY|O_CREAT|O_EXCL", O_RDONLY | O_CREAT | O_EXCL, {A, EEXIST, A, EEXIST, A, N}},
      {"O_WRONLY|O_CREAT|O_EXCL", O_WRONLY | O_CREAT | O_EXCL, {A, EEXIST, A, EEXIST, 0, N}},
      {"O_RDWR|O_CREAT|O_EXCL", O_RDWR | O_CREAT | O_EXCL, {A, EEXIST, A, EEXIST, 0, N}},
      {"O_RDONLY|O_EXCL (no O_CREAT)", O_RDONLY | O_EXCL, {0, 0, 0, 0, A, N}},
      {"O_RDONLY|O_NOCTTY", O_RDONLY | O_NOCTTY, {0, 0, 0, 0, A, N}},
      {"O_RDONLY|O_NONBLOCK", O_RDONLY | O_NONBLOCK, {0, 0, 0, 0, A, N}},
      {"O_RDONLY|O_DIRECTORY on a file",
       O_RDONLY | O_DIRECTORY,
       {ENOTDIR, ENOTDIR, ENOTDIR, ENOTDIR, A, N}},
      {"O_RDONLY|O_NOFOLLOW", O_RDONLY | O_NOFOLLOW, {0, 0, 0, 0, A, N}},
      {"O_RDONLY|O_CLOEXEC", O_RDONLY | O_CLOEXEC, {0, 0, 0, 0, A, N}},
      {"O_RDONLY|O_LARGEFILE (kernel bit)", O_RDONLY | kKernelLargeFile, {0, 0, 0, 0, A, N}},
      {"O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC|O_NONBLOCK",
       O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NONBLOCK,
       {A, EEXIST, A, EEXIST, 0, N}},
      // O_PATH needs no permission beyond the path being covered; a temporary-files rule allows
      // only creating opens.
      {"O_PATH", O_PATH, {0, 0, 0, 0, A, N}},
      {"O_RDWR|O_TMPFILE", O_RDWR | O_TMPFILE, {I, I, I, I, I, N}},
      {"O_RDONLY|O_DIRECT", O_RDONLY | O_DIRECT, {I, I, I, I, I, N}},
      {"O_WRONLY|O_SYNC", O_WRONLY | O_SYNC, {I, I, I, I, I, N}},
      {"O_WRONLY|O_DSYNC", O_WRONLY | O_DSYNC, {I, I, I, I, I, N}},
      {"O_RDONLY|O_ASYNC", O_RDONLY | O_ASYNC, {I, I, I, I, I, N}},
      {"O_RDONLY|O_NOATIME", O_RDONLY | O_NOATIME, {I, I, I, I, I, N}},
      {"accmode 3", O_ACCMODE, {I, I, I, I, I, N}},
      {"O_WRONLY|O_CREAT|O_EXCL|O_SYNC", O_WRONLY | O_CREAT | O_EXCL | O_SYNC, {I, I, I, I, I, N}},
      {"unknown bit", O_RDONLY | kUnknownOpenBit, {I, I, I, I, I, N}},
  };
  std::vector<Case> cases;
  for (const Row& row : rows) {
    for (int column = 0; column < kColumns; ++column) {
      cases.push_back({absl::StrCat(row.name, " on a ", column_names[column]),
                       OpenCall(targets[column], row.flags, 0600), row.expected[column]});
    }
  }
  RunCases(FilePolicy::Builder()
               .AllowReadFile(ro_file)
               .AllowReadWriteFile(rw_file)
               .AllowReadTree(ro_tree)
               .AllowTree(rw_tree, kRead | kWrite | kCreate | kDelete)
               .AllowTemporaryFiles(tmp),
           cases);
  EXPECT_EQ(ReadFileOrDie(ro_file), "read-only file") << "a refused O_TRUNC must not truncate";
  EXPECT_EQ(ReadFileOrDie(ro_tree + "/f"), "read-only tree");
  EXPECT_EQ(ReadFileOrDie(outside), "outside");
  EXPECT_FALSE(Exists(tmp + "/created")) << "temporary files are unlinked at once";
}

// ============================================================================================
// 3. Temporary files.
// ============================================================================================

TEST_P(FileOperationsTest, TemporaryFilesAreAnonymousAndOnlyCreatingOpensAreAllowed) {
  ScratchDir dir;
  // Lambdas capture this string, never `dir`: a copy of a ScratchDir deletes the directory.
  const std::string root = dir.path();
  const std::string tmp = dir.MakeDir("tmp");
  const std::string existing = dir.WriteFile("tmp/existing", "existing");
  dir.MakeDir("tmp/sub");
  const std::string decoy = dir.path() + "/decoy";
  dir.Symlink("tmp/link", decoy);
  const std::vector<Case> cases = {
      {"O_RDWR|O_CREAT|O_EXCL: write, then read back through the descriptor",
       [=](BrokerClient& c) {
         const absl::StatusOr<UniqueFd> fd = c.Open(tmp + "/anon", O_RDWR | O_CREAT | O_EXCL, 0666);
         if (!fd.ok()) return Err(fd);
         if (write(fd->get(), "written", 7) != 7) return kWrongResult;
         struct stat st;
         if (RawFstat(fd->get(), &st) != 0) return errno;
         const bool anonymous = st.st_nlink == 0 && S_ISREG(st.st_mode);
         const bool mode_masked = (st.st_mode & 0777) == 0600;
         const bool read_write = (fcntl(fd->get(), F_GETFL) & O_ACCMODE) == O_RDWR;
         return anonymous && mode_masked && read_write && ReadAll(fd->get()) == "written"
                    ? 0
                    : kWrongResult;
       },
       0},
      {"the same name again: it was unlinked",
       [=](BrokerClient& c) { return Err(c.Open(tmp + "/anon", O_RDWR | O_CREAT | O_EXCL)); }, 0},
      {"O_WRONLY|O_CREAT|O_EXCL", OpenWrites(tmp + "/anon2", O_WRONLY | O_CREAT | O_EXCL, "w"), 0},
      {"in a subdirectory", OpenCall(tmp + "/sub/anon", O_RDWR | O_CREAT | O_EXCL), 0},
      {"in a missing subdirectory", OpenCall(tmp + "/missing/anon", O_RDWR | O_CREAT | O_EXCL),
       ENOENT},
      {"O_CREAT without O_EXCL", OpenCall(tmp + "/plain", O_RDWR | O_CREAT), EACCES},
      {"O_RDONLY|O_CREAT|O_EXCL", OpenCall(tmp + "/ro", O_RDONLY | O_CREAT | O_EXCL), EACCES},
      {"a name that exists", OpenCall(existing, O_RDWR | O_CREAT | O_EXCL), EEXIST},
      {"a symlink's name", OpenCall(tmp + "/link", O_RDWR | O_CREAT | O_EXCL), EEXIST},
      {"the directory itself", OpenCall(tmp, O_RDWR | O_CREAT | O_EXCL), EACCES},
      {"open O_RDONLY of an existing file", OpenCall(existing, O_RDONLY), EACCES},
      {"open O_RDWR of an existing file", OpenCall(existing, O_RDWR), EACCES},
      {"list the directory", OpenCall(tmp, O_RDONLY | O_DIRECTORY), EACCES},
      {"stat", [=](BrokerClient& c) { return Err(c.Stat(existing)); }, EACCES},
      {"lstat", [=](BrokerClient& c) { return Err(c.Lstat(existing)); }, EACCES},
      {"stat of the directory", [=](BrokerClient& c) { return Err(c.Stat(tmp)); }, EACCES},
      {"access F_OK", [=](BrokerClient& c) { return Err(c.Access(existing, F_OK)); }, EACCES},
      {"readlink", [=](BrokerClient& c) { return Err(c.Readlink(tmp + "/link")); }, EACCES},
      {"unlink", [=](BrokerClient& c) { return Err(c.Unlink(existing)); }, EACCES},
      {"mkdir", [=](BrokerClient& c) { return Err(c.Mkdir(tmp + "/dir", 0700)); }, EACCES},
      {"rmdir", [=](BrokerClient& c) { return Err(c.Rmdir(tmp + "/sub")); }, EACCES},
      {"rename", [=](BrokerClient& c) { return Err(c.Rename(existing, tmp + "/renamed")); },
       EACCES},
      {"link", [=](BrokerClient& c) { return Err(c.Link(existing, tmp + "/linked")); }, EACCES},
      {"symlink", [=](BrokerClient& c) { return Err(c.Symlink("existing", tmp + "/sym")); },
       EACCES},
      {"chmod", [=](BrokerClient& c) { return Err(c.Chmod(existing, 0600)); }, EACCES},
      {"truncate", [=](BrokerClient& c) { return Err(c.Truncate(existing, 0)); }, EACCES},
      {"chdir", [=](BrokerClient& c) { return Err(c.Chdir(tmp)); }, EACCES},
      {"connect", [=](BrokerClient& c) { return Err(c.Connect(existing, SOCK_STREAM)); }, EACCES},
      {"stat of the directory's parent: an ancestor",
       [=](BrokerClient& c) { return Err(c.Stat(root)); }, 0},
  };
  RunCases(FilePolicy::Builder().AllowTemporaryFiles(tmp), cases);

  // Nothing is left behind under a name; the refused requests changed nothing.
  std::vector<std::string> left;
  for (const char* name :
       {"anon", "anon2", "plain", "ro", "sub/anon", "renamed", "linked", "sym", "dir"}) {
    if (Exists(tmp + "/" + name)) left.push_back(name);
  }
  EXPECT_TRUE(left.empty()) << absl::StrJoin(left, ", ");
  EXPECT_EQ(ReadFileOrDie(existing), "existing");
  EXPECT_EQ(ModeOf(existing), 0644u);
  EXPECT_FALSE(Exists(decoy)) << "O_CREAT|O_EXCL must not create a symlink's target";
  EXPECT_TRUE(Exists(tmp + "/sub"));
}

// ============================================================================================
// 4. Deny rules and precedence.
// ============================================================================================

TEST_P(FileOperationsTest, MostSpecificRuleWinsAndDenyBeatsAllowOnTheSamePath) {
  ScratchDir dir;
  const std::string a = dir.MakeDir("a");
  dir.MakeDir("a/pub");
  dir.WriteFile("a/pub/f", "pub");
  dir.WriteFile("a/pub/hidden.txt", "hidden");
  dir.MakeDir("a/secret");
  dir.WriteFile("a/secret/f", "secret");
  dir.MakeDir("a/secret/open");
  dir.WriteFile("a/secret/open/f", "reopened");
  dir.MakeDir("a/secret/other");
  dir.WriteFile("a/secret/other/f", "other");
  dir.Symlink("a/pub/to_secret", "../secret/f");
  dir.Symlink("a/pub/to_secret_dir", "../secret");
  dir.Symlink("a/pub/to_reopened", "../secret/open/f");
  dir.Symlink("a/secret/open/up", "../../pub/f");
  dir.Symlink("a/pub/to_sibling", "f");
  dir.Symlink("a/pub/to_hidden", "hidden.txt");
  const std::string b = dir.MakeDir("b");
  dir.WriteFile("b/f", "b");

  const auto stat_call = [](std::string path) {
    return [=](BrokerClient& c) { return Err(c.Stat(path)); };
  };
  const std::vector<Case> cases = {
      {"granted tree", OpenReads(a + "/pub/f", O_RDONLY, "pub"), 0},
      {"deny carves a subtree out", OpenCall(a + "/secret/f", O_RDONLY), EACCES},
      {"deny covers everything beneath", OpenCall(a + "/secret/other/f", O_RDONLY), EACCES},
      {"deny on a single file in a tree", OpenCall(a + "/pub/hidden.txt", O_RDONLY), EACCES},
      {"a deeper allow under a deny re-allows",
       OpenReads(a + "/secret/open/f", O_RDONLY, "reopened"), 0},
      {"the denied directory cannot be listed", OpenCall(a + "/secret", O_RDONLY | O_DIRECTORY),
       EACCES},
      {"the denied directory is an ancestor of a grant: stat works", stat_call(a + "/secret"), 0},
      {"stat beneath a deny", stat_call(a + "/secret/other"), EACCES},
      {"access beneath a deny",
       [=](BrokerClient& c) { return Err(c.Access(a + "/secret/f", F_OK)); }, EACCES},
      {"deny beats allow on the same path", OpenCall(b + "/f", O_RDONLY), EACCES},
      {"deny beats allow on the same path: the root itself", stat_call(b), EACCES},
      {"symlink into the denied subtree", OpenCall(a + "/pub/to_secret", O_RDONLY), EACCES},
      {"stat through a symlink into the denied subtree", stat_call(a + "/pub/to_secret"), EACCES},
      {"access through a symlink into the denied subtree",
       [=](BrokerClient& c) { return Err(c.Access(a + "/pub/to_secret", R_OK)); }, EACCES},
      {"lstat of that symlink itself",
       [=](BrokerClient& c) { return Err(c.Lstat(a + "/pub/to_secret")); }, 0},
      {"a symlinked directory into the denied subtree",
       OpenCall(a + "/pub/to_secret_dir/f", O_RDONLY), EACCES},
      {"symlink to a denied file in the same directory", OpenCall(a + "/pub/to_hidden", O_RDONLY),
       EACCES},
      {"symlink to an allowed sibling", OpenReads(a + "/pub/to_sibling", O_RDONLY, "pub"), 0},
      {"symlink to the re-allowed subtree", OpenReads(a + "/pub/to_reopened", O_RDONLY, "reopened"),
       0},
      {"symlink leaving the nested tree's root: its target is granted",
       OpenReads(a + "/secret/open/up", O_RDONLY, "pub"), 0},
      {"unlink in the denied subtree",
       [=](BrokerClient& c) { return Err(c.Unlink(a + "/secret/f")); }, EACCES},
      {"rename of the denied directory",
       [=](BrokerClient& c) { return Err(c.Rename(a + "/secret", a + "/public")); }, EACCES},
      {"link out of the denied subtree",
       [=](BrokerClient& c) { return Err(c.Link(a + "/secret/f", a + "/pub/copy")); }, EACCES},
      {"rename into the denied subtree",
       [=](BrokerClient& c) { return Err(c.Rename(a + "/pub/f", a + "/secret/f2")); }, EACCES},
  };
  RunCases(FilePolicy::Builder()
               .AllowTree(a, kRead | kWrite | kCreate | kDelete)
               .Deny(a + "/secret")
               .AllowTree(a + "/secret/open", kRead)
               .Deny(a + "/pub/hidden.txt")
               .AllowReadTree(b)
               .Deny(b),
           cases);
  EXPECT_TRUE(Exists(a + "/secret/f"));
  EXPECT_TRUE(Exists(a + "/pub/f"));
  EXPECT_FALSE(Exists(a + "/public"));
  EXPECT_FALSE(Exists(a + "/pub/copy"));
}

// README.md: "A rename or link never gives a file more access under its new name than it had
// under the old one", and a deny rule carves its subtree out of a grant. Renaming a directory
// moves everything beneath it, so renaming an ancestor of a deny rule (or of a narrower grant)
// would move those files out from under that rule.
TEST_P(FileOperationsTest, RenamingAnAncestorCannotMoveFilesOutFromUnderADenyRule) {
  ScratchDir dir;
  const std::string a = dir.MakeDir("a");
  dir.MakeDir("a/d");
  dir.MakeDir("a/d/secret");
  dir.WriteFile("a/d/secret/key", "KEY");
  dir.MakeDir("a/x");
  dir.MakeDir("a/x/secret");
  dir.WriteFile("a/x/secret/key", "KEY");
  dir.MakeDir("a/swap");
  const std::vector<Case> cases = {
      {"the secret is denied", OpenCall(a + "/d/secret/key", O_RDONLY), EACCES},
      {"rename of the deny rule's parent directory",
       [=](BrokerClient& c) { return Err(c.Rename(a + "/d", a + "/e")); }, EACCES},
      // The rename was refused, so nothing is there (0 would mean the key was read).
      {"the secret under the new name (0: the key was read)",
       OpenReads(a + "/e/secret/key", O_RDONLY, "KEY"), ENOENT},
      {"RENAME_EXCHANGE of the deny rule's parent directory",
       [=](BrokerClient& c) { return Err(c.Rename(a + "/x", a + "/swap", RENAME_EXCHANGE)); },
       EACCES},
      {"the secret under the exchanged name (0: the key was read)",
       OpenReads(a + "/swap/secret/key", O_RDONLY, "KEY"), ENOENT},
  };
  RunCases(FilePolicy::Builder()
               .AllowTree(a, kRead | kWrite | kCreate | kDelete)
               .Deny(a + "/d/secret")
               .Deny(a + "/x/secret"),
           cases);
  EXPECT_TRUE(Exists(a + "/d/secret/key"));
  EXPECT_TRUE(Exists(a + "/x/secret/key"));
}

TEST_P(FileOperationsTest, RenamingAnAncestorCannotWidenANarrowerGrant) {
  ScratchDir dir;
  const std::string a = dir.MakeDir("a");
  dir.MakeDir("a/d");
  dir.MakeDir("a/d/ro");
  dir.WriteFile("a/d/ro/f", "read-only");
  const std::vector<Case> cases = {
      {"the narrower grant refuses writing", OpenCall(a + "/d/ro/f", O_WRONLY), EACCES},
      {"rename of the narrower grant's parent",
       [=](BrokerClient& c) { return Err(c.Rename(a + "/d", a + "/e")); }, EACCES},
      {"writing under the new name: the rename was refused, nothing is there",
       OpenCall(a + "/e/ro/f", O_WRONLY | O_TRUNC), ENOENT},
  };
  RunCases(FilePolicy::Builder()
               .AllowTree(a, kRead | kWrite | kCreate | kDelete)
               .AllowReadTree(a + "/d/ro"),
           cases);
  EXPECT_EQ(ReadFileOrDie(a + "/d/ro/f"), "read-only");
}

// ============================================================================================
// 5. Ancestors of granted paths.
// ============================================================================================

TEST_P(FileOperationsTest, AncestorsMayBeStatedButNeitherReadNorListed) {
  ScratchDir dir;
  // Lambdas capture this string, never `dir`: a copy of a ScratchDir deletes the directory.
  const std::string root = dir.path();
  dir.MakeDir("deep");
  dir.MakeDir("deep/er");
  const std::string file = dir.WriteFile("deep/er/f", "granted");
  dir.MakeDir("sibling");
  std::vector<std::string> ancestors;
  for (std::string path = dir.path() + "/deep/er"; path != "/";
       path = path.substr(0, std::max<size_t>(path.rfind('/'), 1))) {
    ancestors.push_back(path);
  }
  ancestors.push_back("/");
  ASSERT_GE(ancestors.size(), 4u);

  std::vector<Case> cases = {
      {"the granted file", OpenReads(file, O_RDONLY, "granted"), 0},
      {"a sibling of an ancestor", [=](BrokerClient& c) { return Err(c.Stat(root + "/sibling")); },
       ENOENT},
      {"a missing child of an ancestor",
       [=](BrokerClient& c) { return Err(c.Stat(root + "/deep/missing")); }, ENOENT},
  };
  for (const std::string& ancestor : ancestors) {
    struct stat expected;
    ASSERT_EQ(lstat(ancestor.c_str(), &expected), 0) << ancestor;
    const ino_t inode = expected.st_ino;
    const dev_t device = expected.st_dev;
    cases.push_back({"stat " + ancestor,
                     [=](BrokerClient& c) {
                       const absl::StatusOr<struct stat> st = c.Stat(ancestor);
                       if (!st.ok()) return Err(st);
                       return S_ISDIR(st->st_mode) && st->st_ino == inode && st->st_dev == device
                                  ? 0
                                  : kWrongResult;
                     },
                     0});
    cases.push_back({"lstat " + ancestor,
                     [=](BrokerClient& c) {
                       const absl::StatusOr<struct stat> st = c.Lstat(ancestor);
                       return !st.ok() ? Err(st) : st->st_ino == inode ? 0 : kWrongResult;
                     },
                     0});
    cases.push_back({"access F_OK " + ancestor,
                     [=](BrokerClient& c) { return Err(c.Access(ancestor, F_OK)); }, 0});
    cases.push_back({"access R_OK " + ancestor,
                     [=](BrokerClient& c) { return Err(c.Access(ancestor, R_OK)); }, EACCES});
    cases.push_back({"access X_OK " + ancestor,
                     [=](BrokerClient& c) { return Err(c.Access(ancestor, X_OK)); }, EACCES});
    cases.push_back({"open " + ancestor, OpenCall(ancestor, O_RDONLY), EACCES});
    cases.push_back({"list " + ancestor, OpenCall(ancestor, O_RDONLY | O_DIRECTORY), EACCES});
    cases.push_back(
        {"chdir " + ancestor, [=](BrokerClient& c) { return Err(c.Chdir(ancestor)); }, EACCES});
    // Visible: readlink works on it, and a directory is no symlink.
    cases.push_back({"readlink " + ancestor,
                     [=](BrokerClient& c) { return Err(c.Readlink(ancestor)); }, EINVAL});
  }
  RunCases(FilePolicy::Builder().AllowReadFile(file), cases);
}

// An ancestor is a name: one that is a symlink is followed like any other, and its target judged.
TEST_P(FileOperationsTest, AncestorsThatAreSymlinksAreJudgedByTheirTargets) {
  ScratchDir dir;
  // Lambdas capture this string, never `dir`: a copy of a ScratchDir deletes the directory.
  const std::string root = dir.path();
  dir.MakeDir("real");
  dir.MakeDir("real/er");
  dir.WriteFile("real/er/f", "through the alias");
  const std::string alias = dir.Symlink("alias", "real");
  const std::string file = alias + "/er/f";
  const std::vector<Case> cases = {
      {"the granted file (its rule's root was opened at build time)",
       OpenReads(file, O_RDONLY, "through the alias"), 0},
      {"stat of an ancestor that is a symlink: its target is uncovered",
       [=](BrokerClient& c) { return Err(c.Stat(alias)); }, ENOENT},
      {"lstat of that symlink itself",
       [=](BrokerClient& c) {
         const absl::StatusOr<struct stat> st = c.Lstat(alias);
         return !st.ok() ? Err(st) : S_ISLNK(st->st_mode) ? 0 : kWrongResult;
       },
       0},
      {"stat of an ancestor that crosses a symlink to an uncovered directory",
       [=](BrokerClient& c) { return Err(c.Stat(alias + "/er")); }, ENOENT},
      {"access F_OK of an ancestor that crosses a symlink to an uncovered directory",
       [=](BrokerClient& c) { return Err(c.Access(alias + "/er", F_OK)); }, ENOENT},
      {"stat of the real directory is no ancestor",
       [=](BrokerClient& c) { return Err(c.Stat(root + "/real/er")); }, ENOENT},
      {"open of the real file is no grant", OpenCall(root + "/real/er/f", O_RDONLY), ENOENT},
      {"stat of a real ancestor", [=](BrokerClient& c) { return Err(c.Stat(root)); }, 0},
  };
  RunCases(FilePolicy::Builder().AllowReadFile(file), cases);
}

// ============================================================================================
// 6. Name operations with one side outside, and the no-widening rule.
// ============================================================================================

TEST_P(FileOperationsTest, RenameAndLinkAcrossTheGrantsEdgeAreRefused) {
  ScratchDir dir;
  const std::string in = dir.MakeDir("in");
  dir.WriteFile("in/f", "inside");
  dir.WriteFile("in/g", "inside g");
  const std::string out = dir.MakeDir("out");
  dir.WriteFile("out/f", "outside");
  const std::string ro = dir.MakeDir("ro");
  dir.WriteFile("ro/f", "read-only");
  const std::string rwc = dir.MakeDir("rwc");
  const std::string rd = dir.MakeDir("rd");
  dir.WriteFile("rd/f", "read-delete");
  const std::string rwcd = dir.MakeDir("rwcd");
  dir.WriteFile("rwcd/f", "rwcd f");
  dir.WriteFile("rwcd/g", "rwcd g");
  dir.WriteFile("rwcd/h", "rwcd h");
  dir.WriteFile("rwcd/i", "rwcd i");
  const std::string rwcd2 = dir.MakeDir("rwcd2");
  const std::string rcd = dir.MakeDir("rcd");
  dir.WriteFile("rcd/z", "rcd z");

  const auto rename_call = [](std::string from, std::string to, unsigned flags) {
    return [=](BrokerClient& c) { return Err(c.Rename(from, to, flags)); };
  };
  const auto link_call = [](std::string from, std::string to) {
    return [=](BrokerClient& c) { return Err(c.Link(from, to)); };
  };
  const std::vector<Case> cases = {
      {"rename from granted to outside", rename_call(in + "/f", out + "/moved", 0), ENOENT},
      {"rename from outside to granted", rename_call(out + "/f", in + "/moved", 0), ENOENT},
      {"link from granted to outside", link_call(in + "/f", out + "/linked"), ENOENT},
      {"link from outside to granted", link_call(out + "/f", in + "/linked"), ENOENT},
      {"RENAME_EXCHANGE with an outside name", rename_call(in + "/g", out + "/f", RENAME_EXCHANGE),
       ENOENT},
      {"link from an r tree into an rwc tree widens", link_call(ro + "/f", rwc + "/f"), EACCES},
      {"rename from an rd tree into an rwcd tree widens",
       rename_call(rd + "/f", rwcd + "/from_rd", 0), EACCES},
      {"rename between two rwcd trees", rename_call(rwcd + "/f", rwcd2 + "/f", 0), 0},
      {"rename from rwcd into rcd narrows: allowed", rename_call(rwcd + "/g", rcd + "/g", 0), 0},
      {"link from rwcd into rcd narrows: allowed", link_call(rwcd + "/h", rcd + "/h"), 0},
      {"RENAME_EXCHANGE rwcd <-> rcd widens one side",
       rename_call(rwcd + "/i", rcd + "/z", RENAME_EXCHANGE), EACCES},
  };
  RunCases(FilePolicy::Builder()
               .AllowTree(in, kRead | kWrite | kCreate | kDelete)
               .AllowReadTree(ro)
               .AllowTree(rwc, kRead | kWrite | kCreate)
               .AllowTree(rd, kRead | kDelete)
               .AllowTree(rwcd, kRead | kWrite | kCreate | kDelete)
               .AllowTree(rwcd2, kRead | kWrite | kCreate | kDelete)
               .AllowTree(rcd, kRead | kCreate | kDelete),
           cases);
  EXPECT_EQ(ReadFileOrDie(in + "/f"), "inside");
  EXPECT_EQ(ReadFileOrDie(in + "/g"), "inside g");
  EXPECT_EQ(ReadFileOrDie(out + "/f"), "outside");
  for (const std::string& absent : {out + "/moved", in + "/moved", out + "/linked", in + "/linked",
                                    rwc + "/f", rwcd + "/from_rd"}) {
    EXPECT_FALSE(Exists(absent)) << absent;
  }
  EXPECT_EQ(ReadFileOrDie(ro + "/f"), "read-only");
  EXPECT_EQ(ReadFileOrDie(rd + "/f"), "read-delete");
  EXPECT_EQ(ReadFileOrDie(rwcd2 + "/f"), "rwcd f");
  EXPECT_EQ(ReadFileOrDie(rcd + "/g"), "rwcd g");
  EXPECT_EQ(ReadFileOrDie(rcd + "/h"), "rwcd h");
  EXPECT_EQ(ReadFileOrDie(rwcd + "/h"), "rwcd h");
  EXPECT_EQ(ReadFileOrDie(rwcd + "/i"), "rwcd i");
  EXPECT_EQ(ReadFileOrDie(rcd + "/z"), "rcd z");
  // The three widening refusals are refused for widening, not for a missing permission.
  const std::vector<std::string> lines = log_.Lines();
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& line) {
                            return absl::StrContains(
                                line, "the new name would grant the file more than the old one");
                          }),
            3);
}

// ============================================================================================
// 7. Relative paths: directory descriptors, the working directory, chdir.
// ============================================================================================

TEST_P(FileOperationsTest, RelativePathsResolveAgainstABrokeredDirectoryDescriptor) {
  ScratchDir dir;
  const std::string t = dir.MakeDir("t");
  dir.MakeDir("t/sub");
  dir.WriteFile("t/sub/f", "sub f");
  dir.Symlink("t/sub/lnk", "f");
  dir.MakeDir("t/other");
  dir.WriteFile("t/other/f", "other f");
  dir.WriteFile("outside", "outside");
  const std::string w = dir.MakeDir("w");
  dir.MakeDir("w/one");
  dir.WriteFile("w/one/a", "a");
  dir.MakeDir("w/two");

  constexpr int kChecks = 20;
  SharedInts got(kChecks);
  RunSandboxed(
      FilePolicy::Builder().AllowReadTree(t).AllowTree(w, kRead | kWrite | kCreate | kDelete),
      [&](BrokerClient& c) {
        absl::StatusOr<UniqueFd> tfd = c.Open(t, O_RDONLY | O_DIRECTORY);
        got[0] = Err(tfd);
        if (!tfd.ok()) return;
        absl::StatusOr<UniqueFd> sub = c.Open("sub", O_RDONLY | O_DIRECTORY, 0, tfd->get());
        got[1] = Err(sub);
        if (!sub.ok()) return;
        got[2] = ContentsAre(c.Open("sub/f", O_RDONLY, 0, tfd->get()), "sub f");
        got[3] = ContentsAre(c.Open("f", O_RDONLY, 0, sub->get()), "sub f");
        got[4] = ContentsAre(c.Open("../other/f", O_RDONLY, 0, sub->get()), "other f");
        got[5] = ContentsAre(c.Open("./f", O_RDONLY, 0, sub->get()), "sub f");
        got[6] = Err(c.Open("../../outside", O_RDONLY, 0, sub->get()));
        got[7] = Err(c.Open("../outside", O_RDONLY, 0, tfd->get()));
        absl::StatusOr<UniqueFd> file = c.Open("f", O_RDONLY, 0, sub->get());
        got[8] = Err(c.Open("x", O_RDONLY, 0, file.ok() ? file->get() : -1));
        got[9] = Err(c.Stat("x", file.ok() ? file->get() : -1));
        // An absolute path ignores the descriptor, even a non-directory one.
        got[10] = ContentsAre(c.Open(t + "/other/f", O_RDONLY, 0, file.ok() ? file->get() : -1),
                              "other f");
        got[11] = Err(c.Open("f", O_RDONLY, 0, 900));  // not open in the sandboxee
        const absl::StatusOr<struct stat> st = c.Stat("f", sub->get());
        got[12] = !st.ok() ? Err(st) : st->st_size == 5 ? 0 : kWrongResult;
        got[13] = Err(c.Access("f", R_OK, sub->get()));
        const absl::StatusOr<std::string> target = c.Readlink("lnk", sub->get());
        got[14] = !target.ok() ? Err(target) : *target == "f" ? 0 : kWrongResult;
        absl::StatusOr<UniqueFd> one = c.Open(w + "/one", O_RDONLY | O_DIRECTORY);
        absl::StatusOr<UniqueFd> two = c.Open(w + "/two", O_RDONLY | O_DIRECTORY);
        if (!one.ok() || !two.ok()) return;
        got[15] = Err(c.Rename("a", "b", 0, one->get(), two->get()));
        got[16] = Err(c.Mkdir("made", 0700, two->get()));
        got[17] = Err(c.Link("b", "../one/c", two->get(), two->get()));
        got[18] = Err(c.Mkdir("made", 0700, sub->get()));  // the read-only tree
        got[19] = Err(c.Unlink("b", two->get()));
      });
  int expected[kChecks] = {};  // success, but for:
  expected[6] = ENOENT;        // "../../outside" from t/sub leads to a path no rule covers
  expected[7] = ENOENT;        // "../outside" from t likewise
  expected[8] = ENOTDIR;       // a file as the directory descriptor
  expected[9] = ENOTDIR;
  expected[11] = EBADF;   // a descriptor the sandboxee does not hold
  expected[18] = EACCES;  // mkdir in the read-only tree
  for (int i = 0; i < kChecks; ++i) {
    EXPECT_EQ(got[i], expected[i]) << "check " << i << ": got " << ErrnoText(got[i])
                                   << ", expected " << ErrnoText(expected[i]);
  }
  EXPECT_FALSE(Exists(w + "/one/a"));
  EXPECT_FALSE(Exists(w + "/two/b"));
  EXPECT_EQ(ReadFileOrDie(w + "/one/c"), "a");
  EXPECT_TRUE(Exists(w + "/two/made"));
  EXPECT_FALSE(Exists(t + "/sub/made"));
}

TEST_P(FileOperationsTest, RelativePathsResolveAgainstTheLaunchersWorkingDirectory) {
  ScratchDir dir;
  const std::string t = dir.MakeDir("t");
  dir.MakeDir("t/sub");
  dir.WriteFile("t/sub/f", "sub f");
  dir.WriteFile("outside", "outside");
  const std::vector<Case> cases = {
      {"relative open", OpenReads("sub/f", O_RDONLY, "sub f"), 0},
      {"'.' and '..' fold", OpenReads("./sub/../sub/f", O_RDONLY, "sub f"), 0},
      {"'..' out of the grant", OpenCall("../outside", O_RDONLY), ENOENT},
      {"stat of '.'",
       [](BrokerClient& c) {
         const absl::StatusOr<struct stat> st = c.Stat(".");
         return !st.ok() ? Err(st) : S_ISDIR(st->st_mode) ? 0 : kWrongResult;
       },
       0},
      {"stat of '..' is an ancestor", [](BrokerClient& c) { return Err(c.Stat("..")); }, 0},
  };
  RunCases(FilePolicy::Builder().AllowReadTree(t), cases,
           [&](Launcher& launcher) { launcher.SetWorkingDirectory(t); });
}

TEST_P(FileOperationsTest, ChdirChangesTheWorkingDirectoryForEveryThread) {
  ScratchDir dir;
  const std::string t = dir.MakeDir("t");
  dir.MakeDir("t/one");
  dir.WriteFile("t/one/f", "one");
  dir.MakeDir("t/two");
  dir.WriteFile("t/two/f", "two");
  SharedInts got(5);
  RunSandboxed(FilePolicy::Builder().AllowReadTree(t), [&](BrokerClient& c) {
    got[0] = Err(c.Chdir(t + "/one"));
    std::thread other([&] {
      got[1] = ContentsAre(c.Open("f", O_RDONLY), "one");  // the main thread's chdir
      got[2] = Err(c.Chdir("../two"));
    });
    other.join();
    got[3] = ContentsAre(c.Open("f", O_RDONLY), "two");  // the other thread's chdir
    got[4] = ContentsAre(c.Open("../one/f", O_RDONLY), "one");
  });
  for (int i = 0; i < 5; ++i) EXPECT_EQ(got[i], 0) << i << ": " << ErrnoText(got[i]);
}

TEST_P(FileOperationsTest, TheSandboxeesOwnChdirAndFchdirReturnEperm) {
  ScratchDir dir;
  const std::string t = dir.MakeDir("t");
  SharedInts got(3);
  RunSandboxed(FilePolicy::Builder().AllowReadTree(t), [&](BrokerClient& c) {
    got[0] = syscall(SYS_chdir, "/") == -1 ? errno : 0;
    absl::StatusOr<UniqueFd> fd = c.Open(t, O_RDONLY | O_DIRECTORY);
    got[1] = fd.ok() ? (syscall(SYS_fchdir, fd->get()) == -1 ? errno : 0) : kWrongResult;
    got[2] = Err(c.Chdir(t));  // the broker's chdir still works
  });
  EXPECT_EQ(got[0], EPERM) << ErrnoText(got[0]);
  EXPECT_EQ(got[1], EPERM) << ErrnoText(got[1]);
  EXPECT_EQ(got[2], 0) << ErrnoText(got[2]);
}

// ============================================================================================
// 8. Directory listing.
// ============================================================================================

TEST_P(FileOperationsTest, ABrokeredDirectoryDescriptorListsItsEntries) {
  ScratchDir dir;
  const std::string t = dir.MakeDir("t");
  dir.WriteFile("t/a", "a");
  dir.WriteFile("t/b", "b");
  dir.MakeDir("t/sub");
  dir.WriteFile("t/sub/inner", "inner");
  dir.Symlink("t/link", "a");
  const std::string expected_top = ".,..,a,b,link,sub";
  const std::string expected_sub = ".,..,inner";
  // 0 when `fd` lists exactly `expected` (sorted, comma-separated).
  const auto lists = [](const absl::StatusOr<UniqueFd>& fd, const std::string& expected) {
    if (!fd.ok()) return Err(fd);
    return absl::StrJoin(ListDirectory(fd->get()), ",") == expected ? 0 : kWrongResult;
  };
  SharedInts got(3);
  RunSandboxed(FilePolicy::Builder().AllowReadTree(t), [&](BrokerClient& c) {
    absl::StatusOr<UniqueFd> top = c.Open(t, O_RDONLY | O_DIRECTORY);
    got[0] = lists(top, expected_top);
    if (!top.ok()) return;
    got[1] = lists(c.Open("sub", O_RDONLY | O_DIRECTORY, 0, top->get()), expected_sub);
    // A directory opened without O_DIRECTORY lists too.
    got[2] = lists(c.Open(t + "/sub", O_RDONLY), expected_sub);
  });
  for (int i = 0; i < 3; ++i) EXPECT_EQ(got[i], 0) << i << ": " << ErrnoText(got[i]);
}

// ============================================================================================
// 9. The JSON-lines audit log.
// ============================================================================================

TEST_P(FileOperationsTest, JsonAuditLogHasOneLinePerRequestWithTheDecision) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("file", "x");
  const std::string tree = dir.MakeDir("tree");
  dir.WriteFile("tree/a", "a");
  dir.MakeDir("tree/secret");
  dir.WriteFile("tree/secret/x", "x");
  const std::string elsewhere = dir.path() + "/elsewhere";
  const std::string log_path = dir.path() + "/audit.jsonl";
  absl::StatusOr<std::unique_ptr<JsonLinesAuditLog>> audit = JsonLinesAuditLog::Open(log_path);
  ASSERT_TRUE(audit.ok()) << audit.status();

  const std::string file_rule = "\"rule\":\"allow r file " + file + "\",\"rule_index\":1";
  const std::string tree_rule = "\"rule\":\"allow rwcd tree " + tree + "\",\"rule_index\":2";
  const std::string deny_rule = "\"rule\":\"deny " + tree + "/secret\",\"rule_index\":3";
  const std::string no_rule = "\"rule\":null,\"rule_index\":null";
  const std::string ok = "\"errno\":0,\"us\":";
  const std::string eacces = "\"errno\":13,\"errno_name\":\"EACCES\"";
  struct Request {
    std::function<int(BrokerClient&)> call;
    int expected_errno;
    std::vector<std::string> substrings;
  };
  const std::vector<Request> requests = {
      {OpenCall(file, O_RDONLY),
       0,
       {"\"op\":\"open\",\"path\":\"" + file + "\",\"flags\":0,\"flags_text\":\"O_RDONLY\"",
        "\"decision\":\"allow\"", file_rule, "\"reason\":\"granted\"", ok}},
      {OpenCall(file, O_WRONLY),
       EACCES,
       {"\"op\":\"open\"", "\"flags_text\":\"O_WRONLY\"", "\"decision\":\"deny\"", file_rule,
        "\"reason\":\"writing, O_TRUNC or O_APPEND needs w\"", eacces}},
      {[=](BrokerClient& c) { return Err(c.Stat(elsewhere)); },
       ENOENT,
       {"\"op\":\"stat\",\"path\":\"" + elsewhere + "\"", "\"decision\":\"deny\"", no_rule,
        "\"reason\":\"no rule covers a component of the path\"",
        "\"errno\":2,\"errno_name\":\"ENOENT\""}},
      {[=](BrokerClient& c) { return Err(c.Mkdir(tree + "/new", 0755)); },
       0,
       {"\"op\":\"mkdir\",\"path\":\"" + tree + "/new\"", "\"mode\":493", "\"decision\":\"allow\"",
        tree_rule, ok}},
      {[=](BrokerClient& c) { return Err(c.Mkdir(tree + "/new", 0755)); },
       EEXIST,
       {"\"op\":\"mkdir\"", "\"decision\":\"allow\"", tree_rule,
        "\"errno\":17,\"errno_name\":\"EEXIST\""}},
      {[=](BrokerClient& c) { return Err(c.Rename(tree + "/a", tree + "/b")); },
       0,
       {"\"op\":\"rename\",\"path\":\"" + tree + "/a\",\"path2\":\"" + tree + "/b\"",
        "\"decision\":\"allow\"", tree_rule, ok}},
      {[=](BrokerClient& c) { return Err(c.Unlink(tree + "/secret/x")); },
       EACCES,
       {"\"op\":\"unlink\",\"path\":\"" + tree + "/secret/x\"", "\"decision\":\"deny\"", deny_rule,
        "\"reason\":\"a deny rule covers the path\"", eacces}},
      {OpenCall("missing", O_RDONLY),
       ENOENT,
       {"\"op\":\"open\",\"path\":\"" + tree + "/missing\"", "\"decision\":\"allow\"", tree_rule,
        "\"errno\":2,\"errno_name\":\"ENOENT\""}},
      {[=](BrokerClient& c) { return Err(c.Symlink("b", tree + "/l")); },
       0,
       // The target is stored, and logged, as given.
       {"\"op\":\"symlink\",\"path\":\"" + tree + "/l\",\"path2\":\"b\"", "\"decision\":\"allow\"",
        ok}},
      {[=](BrokerClient& c) { return Err(c.Access(file, W_OK)); },
       EACCES,
       {"\"op\":\"access\",\"path\":\"" + file + "\",\"flags\":2", "\"decision\":\"deny\"",
        file_rule, eacces}},
      {[=](BrokerClient& c) { return Err(c.Chmod(file, 04755)); },
       EPERM,
       {"\"op\":\"chmod\"", "\"mode\":2541", "\"decision\":\"deny\"",
        "\"errno\":1,\"errno_name\":\"EPERM\""}},
  };

  SharedInts got(requests.size() + 1);
  RunSandboxed(
      FilePolicy::Builder()
          .AllowReadFile(file)
          .AllowTree(tree, kRead | kWrite | kCreate | kDelete)
          .Deny(tree + "/secret"),
      [&](BrokerClient& c) {
        got[0] = static_cast<int>(getpid());
        for (size_t i = 0; i < requests.size(); ++i) got[i + 1] = requests[i].call(c);
      },
      [&](Launcher& launcher) {
        launcher.SetDecisionLog((*audit)->AsLog()).SetWorkingDirectory(tree);
      });
  for (size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(got[i + 1], requests[i].expected_errno)
        << "request " << i << ": got " << ErrnoText(got[i + 1]);
  }
  // The log's writer thread writes behind the broker: wait for it before reading the file.
  ASSERT_TRUE((*audit)->Flush(absl::Seconds(30)));
  EXPECT_EQ((*audit)->write_errors(), 0);

  const std::string text = ReadFileOrDie(log_path);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const std::vector<std::string> lines = absl::StrSplit(text.substr(0, text.size() - 1), '\n');
  ASSERT_EQ(lines.size(), requests.size()) << text;
  const std::string pid = absl::StrCat("\"pid\":", got[0], ",");
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    EXPECT_TRUE(absl::StartsWith(line, "{\"time\":\"")) << line;
    EXPECT_TRUE(absl::EndsWith(line, "}")) << line;
    EXPECT_TRUE(absl::StrContains(line, pid)) << "line " << i << " lacks " << pid << ": " << line;
    EXPECT_TRUE(absl::StrContains(line, "\"us\":")) << line;
    for (const std::string& substring : requests[i].substrings) {
      EXPECT_TRUE(absl::StrContains(line, substring))
          << "line " << i << " lacks " << substring << ":\n  " << line;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Channels, FileOperationsTest, testing::BothChannelTypes(),
                         testing::ChannelTypeName);

}  // namespace
}  // namespace sbox
