// Every path-taking syscall the broker performs or refuses (proto/file_syscalls.h), made by a
// sandboxee on a path outside its grants, on a read-only grant and on a writable one, through
// both answerers: the SIGSYS handler (Redirection::kTrap) and the user-notification server that
// `sbox run` uses (Redirection::kUserNotification).

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/syscall_policy.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "proto/file_syscalls.h"
#include "proto/unique_fd.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using testing::ScratchDir;
using testing::SharedInts;

// 0 or the errno of a raw syscall's failure.
int Err(long result) { return result == 0 ? 0 : errno; }

struct Case {
  std::string name;
  std::function<int()> run;  // 0 or an errno
  int expected;
};

class PathSyscallsTest : public ::testing::TestWithParam<Redirection> {
 protected:
  PathSyscallsTest() {
    outside_ = dir_.MakeDir("outside");
    read_only_ = dir_.MakeDir("ro");
    writable_ = dir_.MakeDir("rw");
    for (const std::string& d : {outside_, read_only_, writable_}) {
      dir_.WriteFile(d.substr(dir_.path().size() + 1) + "/f", "data");
    }
  }

  void RunCases(const std::vector<Case>& cases) {
    FilePolicy::Builder files;
    files.AllowTree(read_only_, kRead).AllowTree(writable_, kRead | kWrite | kCreate | kDelete);
    absl::StatusOr<FilePolicy> file_policy = files.Build();
    ASSERT_TRUE(file_policy.ok()) << file_policy.status();
    SyscallPolicy::Builder builder = SyscallPolicy::RedirectedParser();
    builder.Allow("inotify_init1");
    absl::StatusOr<SyscallPolicy> syscalls = builder.Build(GetParam());
    ASSERT_TRUE(syscalls.ok()) << syscalls.status();
    Launcher launcher(*std::move(file_policy), *std::move(syscalls));
    launcher.SetTimeout(absl::Seconds(60));
    SharedInts got(cases.size());
    absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd) {
      for (size_t i = 0; i < cases.size(); ++i) got[i] = cases[i].run();
      return 0;
    });
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_TRUE(result->ok()) << result->ToString();
    for (size_t i = 0; i < cases.size(); ++i) {
      EXPECT_EQ(got[i], cases[i].expected) << cases[i].name << ": got " << strerrorname_np(got[i])
                                           << ", want " << strerrorname_np(cases[i].expected);
    }
  }

  // The same call on a file outside the grants (ENOENT, as if absent), under the read-only
  // grant (EACCES) and under the writable one (what the kernel answers).
  void ThreeWays(std::vector<Case>* cases, const std::string& name,
                 const std::function<int(const std::string&)>& call, int on_writable = 0) {
    cases->push_back({name + " outside", [=] { return call(outside_); }, ENOENT});
    cases->push_back({name + " read-only", [=] { return call(read_only_); }, EACCES});
    cases->push_back({name + " writable", [=] { return call(writable_); }, on_writable});
  }

  ScratchDir dir_;
  std::string outside_;
  std::string read_only_;
  std::string writable_;
};

TEST_P(PathSyscallsTest, MetadataCallsNeedWriteOnThePath) {
  const uid_t uid = getuid();
  const gid_t gid = getgid();
  std::vector<Case> cases;
  const auto f = [](const std::string& d) { return d + "/f"; };
  ThreeWays(&cases, "chown",
            [=](const std::string& d) { return Err(syscall(SYS_chown, f(d).c_str(), uid, gid)); });
  ThreeWays(&cases, "lchown",
            [=](const std::string& d) { return Err(syscall(SYS_lchown, f(d).c_str(), uid, gid)); });
  ThreeWays(&cases, "fchownat", [=](const std::string& d) {
    return Err(syscall(SYS_fchownat, AT_FDCWD, f(d).c_str(), uid, gid, 0));
  });
  ThreeWays(&cases, "utime",
            [=](const std::string& d) { return Err(syscall(SYS_utime, f(d).c_str(), nullptr)); });
  ThreeWays(&cases, "utimes", [=](const std::string& d) {
    const struct timeval times[2] = {{1000, 0}, {2000, 0}};
    return Err(syscall(SYS_utimes, f(d).c_str(), times));
  });
  ThreeWays(&cases, "futimesat", [=](const std::string& d) {
    return Err(syscall(SYS_futimesat, AT_FDCWD, f(d).c_str(), nullptr));
  });
  ThreeWays(&cases, "utimensat", [=](const std::string& d) {
    const struct timespec times[2] = {{3000, 0}, {4000, 5}};
    return Err(syscall(SYS_utimensat, AT_FDCWD, f(d).c_str(), times, 0));
  });
  ThreeWays(&cases, "chmod",
            [=](const std::string& d) { return Err(syscall(SYS_chmod, f(d).c_str(), 0600)); });
  ThreeWays(&cases, "fchmodat2", [=](const std::string& d) {
    return Err(syscall(proto::kSysFchmodat2, AT_FDCWD, f(d).c_str(), 0600, 0));
  });
  // Giving the file away is what an unprivileged owner may not do either.
  cases.push_back({"chown to another owner",
                   [=] { return Err(syscall(SYS_chown, f(writable_).c_str(), uid + 1, -1)); },
                   EPERM});
  RunCases(cases);
  struct stat st;
  ASSERT_EQ(stat(f(writable_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_mtim.tv_sec, 4000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 5);
  ASSERT_EQ(stat(f(read_only_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

// A descriptor the broker handed out for reading never becomes a way to change the file.
TEST_P(PathSyscallsTest, DescriptorFormsNeedWriteOnTheDescriptorsPath) {
  std::vector<Case> cases;
  const auto on_descriptor = [](const std::string& path, int flags,
                                const std::function<long(int)>& call) {
    const int fd = open(path.c_str(), flags);
    if (fd < 0) return errno;
    const int error = Err(call(fd));
    close(fd);
    return error;
  };
  for (const auto& [dir, expected] :
       {std::make_pair(read_only_, EACCES), std::make_pair(writable_, 0)}) {
    const std::string file = dir + "/f";
    cases.push_back({"fchmod " + dir,
                     [=] {
                       return on_descriptor(file, O_RDONLY,
                                            [](int fd) { return syscall(SYS_fchmod, fd, 0600); });
                     },
                     expected});
    cases.push_back({"fchown " + dir,
                     [=] {
                       return on_descriptor(file, O_RDONLY, [](int fd) {
                         return syscall(SYS_fchown, fd, getuid(), getgid());
                       });
                     },
                     expected});
    cases.push_back({"futimens " + dir,
                     [=] {
                       return on_descriptor(file, O_RDONLY, [](int fd) {
                         return syscall(SYS_utimensat, fd, nullptr, nullptr, 0);
                       });
                     },
                     expected});
    cases.push_back({"fchownat AT_EMPTY_PATH " + dir,
                     [=] {
                       return on_descriptor(file, O_RDONLY, [](int fd) {
                         return syscall(SYS_fchownat, fd, "", getuid(), getgid(), AT_EMPTY_PATH);
                       });
                     },
                     expected});
    // glibc's fchmodat(AT_SYMLINK_NOFOLLOW): an O_PATH descriptor, then its /proc magic link.
    cases.push_back({"chmod through /proc/self/fd " + dir,
                     [=] {
                       return on_descriptor(file, O_PATH | O_NOFOLLOW, [](int fd) {
                         const std::string link = absl::StrCat("/proc/self/fd/", fd);
                         return syscall(SYS_chmod, link.c_str(), 0600);
                       });
                     },
                     expected});
  }
  // A descriptor of a file outside every grant, inherited as stdin (as `sbox run < FILE` gives
  // one): holding it grants reading what it reads, never changing the file.
  cases.push_back({"fchmod of an inherited descriptor outside the grants",
                   [] { return Err(syscall(SYS_fchmod, 0, 0600)); }, EACCES});
  cases.push_back({"fchown of an inherited descriptor outside the grants",
                   [] { return Err(syscall(SYS_fchown, 0, getuid(), getgid())); }, EACCES});
  cases.push_back({"futimens of an inherited descriptor outside the grants",
                   [] { return Err(syscall(SYS_utimensat, 0, nullptr, nullptr, 0)); }, EACCES});
  const UniqueFd saved_stdin(dup(0));
  const UniqueFd outside(open((outside_ + "/f").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(outside.valid());
  ASSERT_EQ(dup2(outside.get(), 0), 0);
  RunCases(cases);
  ASSERT_EQ(dup2(saved_stdin.get(), 0), 0);
  struct stat st;
  ASSERT_EQ(stat((read_only_ + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  ASSERT_EQ(stat((writable_ + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(stat((outside_ + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST_P(PathSyscallsTest, StatfsMknodAndOpenat2) {
  std::vector<Case> cases;
  cases.push_back({"statfs outside",
                   [=] {
                     struct statfs st;
                     return Err(syscall(SYS_statfs, (outside_ + "/f").c_str(), &st));
                   },
                   ENOENT});
  cases.push_back({"statfs read-only",
                   [=] {
                     struct statfs st = {};
                     if (syscall(SYS_statfs, (read_only_ + "/f").c_str(), &st) != 0) return errno;
                     return st.f_bsize > 0 && st.f_namelen > 0 ? 0 : EIO;
                   },
                   0});
  ThreeWays(&cases, "mknod FIFO", [](const std::string& d) {
    return Err(syscall(SYS_mknod, (d + "/fifo").c_str(), S_IFIFO | 0600, 0));
  });
  ThreeWays(&cases, "mknodat regular", [](const std::string& d) {
    return Err(syscall(SYS_mknodat, AT_FDCWD, (d + "/plain").c_str(), S_IFREG | 0600, 0));
  });
  cases.push_back({"mknod device",
                   [=] {
                     return Err(syscall(SYS_mknod, (writable_ + "/dev").c_str(), S_IFCHR | 0600,
                                        makedev(1, 3)));
                   },
                   EPERM});
  cases.push_back({"openat2 writable",
                   [=] {
                     open_how how = {};
                     how.flags = O_RDONLY;
                     const long fd = syscall(SYS_openat2, AT_FDCWD, (writable_ + "/f").c_str(),
                                             &how, sizeof(how));
                     if (fd < 0) return errno;
                     close(static_cast<int>(fd));
                     return 0;
                   },
                   0});
  cases.push_back({"openat2 RESOLVE_BENEATH leaving the directory",
                   [=] {
                     const int dirfd = open(writable_.c_str(), O_PATH | O_DIRECTORY);
                     open_how how = {};
                     how.flags = O_RDONLY;
                     how.resolve = RESOLVE_BENEATH;
                     const long fd = syscall(SYS_openat2, dirfd, "../ro/f", &how, sizeof(how));
                     const int error = fd < 0 ? errno : 0;
                     if (fd >= 0) close(static_cast<int>(fd));
                     close(dirfd);
                     return error;
                   },
                   EXDEV});
  cases.push_back({"openat2 outside",
                   [=] {
                     open_how how = {};
                     const long fd = syscall(SYS_openat2, AT_FDCWD, (outside_ + "/f").c_str(), &how,
                                             sizeof(how));
                     return fd < 0 ? errno : 0;
                   },
                   ENOENT});
  RunCases(cases);
  struct stat st;
  ASSERT_EQ(stat((writable_ + "/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_NE(stat((read_only_ + "/fifo").c_str(), &st), 0);
  EXPECT_NE(stat((outside_ + "/fifo").c_str(), &st), 0);
}

// The calls the broker never performs answer their fixed errno, whatever the path.
TEST_P(PathSyscallsTest, RefusedCallsAnswerTheirErrno) {
  std::vector<Case> cases;
  const std::string file = writable_ + "/f";
  for (const proto::FileSyscall& call : proto::kFileSyscalls) {
    if (call.refused_with == 0) continue;
    cases.push_back({call.name,
                     [nr = call.nr, file] {
                       // Plausible arguments: a path first where the call takes one.
                       return Err(syscall(nr, file.c_str(), file.c_str(), 0, 0, 0, 0));
                     },
                     call.refused_with});
  }
  RunCases(cases);
}

INSTANTIATE_TEST_SUITE_P(BothAnswerers, PathSyscallsTest,
                         ::testing::Values(Redirection::kTrap, Redirection::kUserNotification),
                         [](const ::testing::TestParamInfo<Redirection>& info) {
                           return info.param == Redirection::kTrap ? "SigsysHandler"
                                                                   : "UserNotification";
                         });

}  // namespace
}  // namespace sbox
