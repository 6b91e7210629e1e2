// A statically linked program for tests/run_program_test.cc: it makes file syscalls directly
// (syscall(2), so that each one is the call named, whatever libc would choose) and checks each
// result as a program outside the sandbox would see it. It prints "ok" and exits 0 when every
// check passed, else one line per failed check and exits 1.
//
//   exec_probe files DIR SECRET   DIR holds data.txt ("hello\n"), granted rwcd; SECRET is not
//                                 granted; DIR is the working directory
//   exec_probe threads FILE       8 threads open, read and close FILE 200 times each
//   exec_probe leaderless DIR     the main thread exits at once; 4 threads open DIR/data.txt
//                                 relative to a descriptor of DIR, 200 times each, and the
//                                 last one ends the process
//   exec_probe flood FILE         4 threads open and close FILE until killed
//   exec_probe connect SOCKET OTHER  connects to SOCKET (granted) and writes "ping"; OTHER
//                                 (not granted) and an AF_INET address are refused
//   exec_probe signals DIR        creates DIR/f with O_EXCL and unlinks it 2000 times while a
//                                 SIGALRM handler (SA_RESTART) runs every 50 microseconds
//   exec_probe sigstate           no signal is blocked, SIGPIPE and SIGUSR2 have their default
//                                 dispositions
//   exec_probe garbage DIR        4 threads make 5000 redirected calls each with random
//                                 arguments: bad pointers, unterminated and overlong strings,
//                                 stray descriptors and flags; relative paths fall in DIR
//   exec_probe kernel             from the working directory, which holds f ("hello"), d/g,
//                                 l -> f, dl -> missing and an empty e, makes a fixed list of
//                                 calls and prints each result ("fd" for a descriptor) or
//                                 errno: the output under the broker must equal the kernel's
//   exec_probe exec               execve("/bin/true")
//   exec_probe socket             socket(AF_INET, SOCK_STREAM, 0)
//   exec_probe unix-dgram         socket(AF_UNIX, SOCK_DGRAM, 0)
//   exec_probe own-process        calls that name a process or a terminal: each result, one a
//                                 line ("ok" or the errno's name), for the caller itself
//   exec_probe tty                isatty(0), and stdin's window size
//   exec_probe abort              abort(3)
//   exec_probe kill-group         kill(0, 0): its process group, which holds the launcher

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <string>
#include <vector>

namespace {

int failures = 0;

void Check(bool ok, const char* what, int error = 0) {
  if (ok) return;
  ++failures;
  printf("FAIL %s (errno %d: %s)\n", what, error, strerror(error));
}

// Checks that a syscall returned `expected` (>= 0), or failed with errno `expected_errno`.
void Expect(long result, int expected_errno, const char* what) {
  const int error = result < 0 ? errno : 0;
  Check(error == expected_errno, what, error);
}

std::string ReadAll(int fd) {
  std::string text;
  char buffer[256];
  ssize_t got;
  while ((got = read(fd, buffer, sizeof(buffer))) > 0) text.append(buffer, got);
  return text;
}

int Files(const std::string& dir, const std::string& secret) {
  const std::string data = dir + "/data.txt";

  // open and openat: the descriptor, and close-on-exec as asked.
  const long fd = syscall(SYS_open, data.c_str(), O_RDONLY);
  Check(fd >= 0, "open data.txt", errno);
  if (fd < 0) return 1;
  Check(ReadAll(static_cast<int>(fd)) == "hello\n", "read data.txt");
  Check(fcntl(static_cast<int>(fd), F_GETFD) == 0, "open without O_CLOEXEC is not close-on-exec");
  const long cloexec_fd = syscall(SYS_openat, AT_FDCWD, data.c_str(), O_RDONLY | O_CLOEXEC);
  Check(cloexec_fd >= 0, "openat O_CLOEXEC", errno);
  Check(fcntl(static_cast<int>(cloexec_fd), F_GETFD) == FD_CLOEXEC,
        "openat O_CLOEXEC is close-on-exec");
  close(static_cast<int>(cloexec_fd));

  // Relative to the working directory, which the launcher set to DIR.
  char cwd[PATH_MAX];
  Expect(syscall(SYS_getcwd, cwd, sizeof(cwd)), 0, "getcwd");
  Check(dir == cwd, "getcwd is DIR");
  Expect(syscall(SYS_getcwd, cwd, 2), ERANGE, "getcwd into a small buffer");
  const long relative = syscall(SYS_openat, AT_FDCWD, "data.txt", O_RDONLY);
  Check(relative >= 0, "openat relative", errno);
  close(static_cast<int>(relative));

  // The stat family.
  struct stat by_fd;
  struct stat by_path;
  Check(fstat(static_cast<int>(fd), &by_fd) == 0, "fstat", errno);
  Expect(syscall(SYS_stat, data.c_str(), &by_path), 0, "stat");
  Check(by_path.st_ino == by_fd.st_ino && by_path.st_size == 6, "stat matches fstat");
  struct statx stx = {};
  Expect(syscall(SYS_statx, AT_FDCWD, "data.txt", 0, STATX_BASIC_STATS, &stx), 0, "statx");
  Check(stx.stx_ino == by_fd.st_ino && stx.stx_size == 6 &&
            (stx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS,
        "statx matches fstat");
  stx = {};
  Expect(syscall(SYS_statx, static_cast<int>(fd), "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx), 0,
         "statx AT_EMPTY_PATH");
  Check(stx.stx_ino == by_fd.st_ino, "statx AT_EMPTY_PATH is the descriptor's file");
  Expect(syscall(SYS_newfstatat, static_cast<int>(fd), nullptr, &by_path, AT_EMPTY_PATH), 0,
         "newfstatat AT_EMPTY_PATH with a NULL path");
  Check(by_path.st_ino == by_fd.st_ino, "a NULL path with AT_EMPTY_PATH is the descriptor's file");
  Expect(syscall(SYS_stat, data.c_str(), reinterpret_cast<void*>(1)), EFAULT,
         "stat into a bad pointer");

  // Symlinks.
  const std::string link = dir + "/link";
  Expect(syscall(SYS_symlink, "data.txt", link.c_str()), 0, "symlink");
  Expect(syscall(SYS_lstat, link.c_str(), &by_path), 0, "lstat");
  Check(S_ISLNK(by_path.st_mode), "lstat sees the link");
  Expect(syscall(SYS_stat, link.c_str(), &by_path), 0, "stat through the link");
  Check(by_path.st_ino == by_fd.st_ino, "stat follows the link");
  char target[64] = {};
  Check(syscall(SYS_readlink, link.c_str(), target, sizeof(target)) == 8 &&
            strcmp(target, "data.txt") == 0,
        "readlink", errno);
  memset(target, 0, sizeof(target));
  Check(syscall(SYS_readlinkat, AT_FDCWD, "link", target, 3) == 3 && strcmp(target, "dat") == 0,
        "readlinkat cuts to bufsiz", errno);
  Expect(syscall(SYS_unlink, link.c_str()), 0, "unlink the link");
  close(static_cast<int>(fd));

  // Directory descriptors: *at calls and fchdir.
  const std::string sub = dir + "/sub";
  Expect(syscall(SYS_mkdir, sub.c_str(), 0700), 0, "mkdir");
  const long dirfd = syscall(SYS_open, sub.c_str(), O_RDONLY | O_DIRECTORY);
  Check(dirfd >= 0, "open a directory", errno);
  const long created = syscall(SYS_openat, dirfd, "new", O_WRONLY | O_CREAT | O_EXCL, 0600);
  Check(created >= 0, "openat O_CREAT beneath a directory descriptor", errno);
  Check(write(static_cast<int>(created), "xyz", 3) == 3, "write the new file", errno);
  close(static_cast<int>(created));
  Expect(syscall(SYS_newfstatat, dirfd, "new", &by_path, 0), 0, "newfstatat");
  Check(by_path.st_size == 3, "newfstatat sees the written size");
  Expect(syscall(SYS_faccessat, dirfd, "new", R_OK | W_OK), 0, "faccessat");
  Expect(syscall(SYS_renameat2, dirfd, "new", dirfd, "renamed", 0), 0, "renameat2");
  Expect(syscall(SYS_linkat, dirfd, "renamed", dirfd, "hardlink", 0), 0, "linkat");
  Expect(syscall(SYS_truncate, (sub + "/hardlink").c_str(), 1), 0, "truncate");
  Expect(syscall(SYS_stat, (sub + "/renamed").c_str(), &by_path), 0, "stat the other link");
  Check(by_path.st_size == 1 && by_path.st_nlink == 2, "truncate through a hard link");
  Expect(syscall(SYS_fchmodat, dirfd, "renamed", 0400), 0, "fchmodat");
  Expect(syscall(SYS_stat, (sub + "/renamed").c_str(), &by_path), 0, "stat after fchmodat");
  Check((by_path.st_mode & 07777) == 0400, "fchmodat changed the mode");
  Expect(syscall(SYS_unlinkat, dirfd, "renamed", 0), 0, "unlinkat");
  Expect(syscall(SYS_unlinkat, dirfd, "hardlink", 0), 0, "unlinkat the hard link");
  Expect(syscall(SYS_fchdir, dirfd), 0, "fchdir");
  Expect(syscall(SYS_getcwd, cwd, sizeof(cwd)), 0, "getcwd after fchdir");
  Check(sub == cwd, "fchdir moved the working directory");
  Expect(syscall(SYS_chdir, ".."), 0, "chdir ..");
  Expect(syscall(SYS_getcwd, cwd, sizeof(cwd)), 0, "getcwd after chdir");
  Check(dir == cwd, "chdir moved the working directory back");
  close(static_cast<int>(dirfd));
  Expect(syscall(SYS_unlinkat, AT_FDCWD, "sub", AT_REMOVEDIR), 0, "unlinkat AT_REMOVEDIR");
  Expect(syscall(SYS_access, sub.c_str(), F_OK), ENOENT, "access after rmdir");
  const long made = syscall(SYS_creat, (dir + "/made").c_str(), 0600);
  Check(made >= 0, "creat", errno);
  close(static_cast<int>(made));
  Expect(syscall(SYS_rename, (dir + "/made").c_str(), (dir + "/moved").c_str()), 0, "rename");
  Expect(syscall(SYS_mkdirat, AT_FDCWD, "d", 0700), 0, "mkdirat");
  Expect(syscall(SYS_rmdir, "d"), 0, "rmdir");
  Expect(syscall(SYS_unlink, "moved"), 0, "unlink");

  // Refusals and malformed arguments, with the kernel's errnos.
  // A path no rule covers is as if absent.
  Expect(syscall(SYS_open, secret.c_str(), O_RDONLY), ENOENT, "open a file outside the grants");
  Expect(syscall(SYS_creat, (secret + ".new").c_str(), 0600), ENOENT, "creat outside the grants");
  Expect(syscall(SYS_access, (secret + ".new").c_str(), F_OK), ENOENT,
         "nothing was created outside the grants");
  Expect(syscall(SYS_open, reinterpret_cast<const char*>(1), O_RDONLY), EFAULT,
         "open a bad pointer");
  Expect(syscall(SYS_open, "", O_RDONLY), ENOENT, "open an empty path");
  const std::string long_path(5000, 'a');
  Expect(syscall(SYS_open, long_path.c_str(), O_RDONLY), ENAMETOOLONG, "open a path too long");
  Expect(syscall(SYS_openat, 999, "data.txt", O_RDONLY), EBADF, "openat a closed descriptor");
  Expect(syscall(SYS_readlink, "data.txt", target, 0), EINVAL, "readlink bufsiz 0");

  if (failures != 0) return 1;
  printf("ok\n");
  return 0;
}

void* OpenMany(void* file) {
  long failed = 0;
  for (int i = 0; i < 200; ++i) {
    const long fd = syscall(SYS_openat, AT_FDCWD, static_cast<const char*>(file), O_RDONLY);
    if (fd < 0) {
      ++failed;
      continue;
    }
    char byte;
    if (read(static_cast<int>(fd), &byte, 1) != 1) ++failed;
    close(static_cast<int>(fd));
  }
  return reinterpret_cast<void*>(failed);
}

int Threads(const char* file) {
  pthread_t threads[8];
  for (pthread_t& thread : threads) {
    if (pthread_create(&thread, nullptr, OpenMany, const_cast<char*>(file)) != 0) return 2;
  }
  long failed = 0;
  for (pthread_t& thread : threads) {
    void* result;
    pthread_join(thread, &result);
    failed += reinterpret_cast<long>(result);
  }
  Check(failed == 0, "every concurrent open and read");
  if (failures != 0) return 1;
  printf("ok\n");
  return 0;
}

struct LeaderlessState {
  long dirfd;
  std::atomic<int> running{4};
  std::atomic<long> failed{0};
};

void* OpenBeneath(void* arg) {
  auto* shared = static_cast<LeaderlessState*>(arg);
  for (int i = 0; i < 200; ++i) {
    const long fd = syscall(SYS_openat, shared->dirfd, "data.txt", O_RDONLY);
    char byte;
    if (fd < 0 || read(static_cast<int>(fd), &byte, 1) != 1) ++shared->failed;
    if (fd >= 0) close(static_cast<int>(fd));
  }
  if (--shared->running == 0) {
    if (shared->failed != 0) {
      printf("FAIL %ld opens beneath a descriptor\n", shared->failed.load());
      fflush(stdout);
      syscall(SYS_exit_group, 1);
    }
    printf("ok\n");
    fflush(stdout);
    syscall(SYS_exit_group, 0);
  }
  return nullptr;
}

int Leaderless(const std::string& dir) {
  static LeaderlessState shared;
  shared.dirfd = syscall(SYS_open, dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (shared.dirfd < 0) return 2;
  for (int i = 0; i < 4; ++i) {
    pthread_t thread;
    if (pthread_create(&thread, nullptr, OpenBeneath, &shared) != 0) return 2;
  }
  // The thread group leader exits alone; the others go on without it.
  syscall(SYS_exit, 0);
  return 2;
}

void* OpenForever(void* file) {
  for (;;) {
    const long fd = syscall(SYS_openat, AT_FDCWD, static_cast<const char*>(file), O_RDONLY);
    if (fd >= 0) close(static_cast<int>(fd));
  }
}

int Flood(const char* file) {
  pthread_t threads[4];
  for (pthread_t& thread : threads) {
    if (pthread_create(&thread, nullptr, OpenForever, const_cast<char*>(file)) != 0) return 2;
  }
  OpenForever(const_cast<char*>(file));
  return 2;
}

int ConnectTo(const char* path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  strncpy(address.sun_path, path, sizeof(address.sun_path) - 1);
  if (syscall(SYS_connect, fd, &address, sizeof(address)) != 0) {
    const int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

int Connect(const char* socket_path, const char* other) {
  const int fd = ConnectTo(socket_path);
  Check(fd >= 0, "connect to a granted socket", errno);
  if (fd >= 0) {
    Check(fcntl(fd, F_GETFD) == FD_CLOEXEC, "the connected socket stays close-on-exec");
    Check(write(fd, "ping", 4) == 4, "write to the connected socket", errno);
    close(fd);
  }
  Expect(ConnectTo(other), ENOENT, "connect to a socket outside the grants");
  const int unix_fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_in inet = {};
  inet.sin_family = AF_INET;
  inet.sin_port = htons(80);
  inet.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Expect(syscall(SYS_connect, unix_fd, &inet, sizeof(inet)), EACCES, "connect to AF_INET");
  Expect(syscall(SYS_connect, 999, &inet, sizeof(inet)), EBADF, "connect on a closed descriptor");
  if (failures != 0) return 1;
  printf("ok\n");
  return 0;
}

void OnAlarm(int) {}

int Signals(const std::string& dir) {
  struct sigaction action = {};
  action.sa_handler = OnAlarm;
  action.sa_flags = SA_RESTART;
  if (sigaction(SIGALRM, &action, nullptr) != 0) return 2;
  const itimerval every = {{0, 50}, {0, 50}};
  if (setitimer(ITIMER_REAL, &every, nullptr) != 0) return 2;
  const std::string file = dir + "/f";
  for (int i = 0; i < 2000; ++i) {
    // A call the broker completed must not run again when a signal interrupts the wait for
    // its answer: O_EXCL would then fail with EEXIST, and unlink with ENOENT.
    const long fd =
        syscall(SYS_openat, AT_FDCWD, file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    Check(fd >= 0, "openat O_EXCL while signals arrive", errno);
    if (fd >= 0) close(static_cast<int>(fd));
    Expect(syscall(SYS_unlink, file.c_str()), 0, "unlink while signals arrive");
    if (failures != 0) break;
  }
  const itimerval stop = {};
  setitimer(ITIMER_REAL, &stop, nullptr);
  if (failures != 0) return 1;
  printf("ok\n");
  return 0;
}

// Arguments the garbage threads draw from.
struct Garbage {
  std::vector<uint64_t> pointers;  // strings, buffers and addresses that are not mapped
  char* buffers;                   // 8 KiB of writable memory for results
};

const int kRedirectedCalls[] = {
    SYS_open,     SYS_openat,    SYS_creat,      SYS_access, SYS_faccessat, SYS_faccessat2,
    SYS_stat,     SYS_lstat,     SYS_newfstatat, SYS_statx,  SYS_readlink,  SYS_readlinkat,
    SYS_mkdir,    SYS_mkdirat,   SYS_rmdir,      SYS_unlink, SYS_unlinkat,  SYS_rename,
    SYS_renameat, SYS_renameat2, SYS_link,       SYS_linkat, SYS_symlink,   SYS_symlinkat,
    SYS_chmod,    SYS_fchmodat,  SYS_truncate,   SYS_chdir,  SYS_fchdir,    SYS_getcwd,
    SYS_connect};

void* MakeGarbage(void* arg) {
  const Garbage& garbage = *static_cast<const Garbage*>(arg);
  std::mt19937_64 random(reinterpret_cast<uintptr_t>(&garbage) ^ static_cast<uint64_t>(gettid()));
  const uint64_t small[] = {0,
                            1,
                            2,
                            3,
                            4,
                            5,
                            1000,
                            4096,
                            0xffffffff,
                            ~0ull,
                            static_cast<uint64_t>(AT_FDCWD),
                            AT_EMPTY_PATH,
                            AT_REMOVEDIR,
                            AT_SYMLINK_NOFOLLOW,
                            O_CREAT | O_WRONLY,
                            O_RDONLY | O_CLOEXEC,
                            O_DIRECTORY,
                            0x80000000u};
  for (int i = 0; i < 5000; ++i) {
    uint64_t args[6];
    for (uint64_t& arg : args) {
      switch (random() % 3) {
        case 0:
          arg = garbage.pointers[random() % garbage.pointers.size()];
          break;
        case 1:
          arg = small[random() % std::size(small)];
          break;
        default:
          // Somewhere in the result buffers, with room for the largest result that fits a
          // size argument drawn from `small`.
          arg = reinterpret_cast<uint64_t>(garbage.buffers + random() % 4096);
          break;
      }
    }
    const int nr = kRedirectedCalls[random() % std::size(kRedirectedCalls)];
    // A size argument larger than the room behind a buffer would let the broker write past it,
    // as the kernel would: keep readlink's and getcwd's sizes within 4096.
    if (nr == SYS_readlink) args[2] %= 4097;
    if (nr == SYS_readlinkat) args[3] %= 4097;
    if (nr == SYS_getcwd) args[1] %= 4097;
    const long result = syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
    const bool makes_descriptor = nr == SYS_open || nr == SYS_openat || nr == SYS_creat;
    if (makes_descriptor && result > 3) close(static_cast<int>(result));
  }
  return nullptr;
}

int GarbageCalls(const std::string& dir) {
  if (chdir(dir.c_str()) != 0) return 2;
  // Two pages, the second inaccessible: a string that runs into it has no NUL.
  char* pages = static_cast<char*>(
      mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (pages == MAP_FAILED || mprotect(pages + 4096, 4096, PROT_NONE) != 0) return 2;
  memset(pages, 'a', 4096);
  static char overlong[8192];
  memset(overlong, 'b', sizeof(overlong) - 1);
  static char buffers[8192 + 512];
  static const char* const strings[] = {
      "",          "data.txt", "sub", "sub/x", "..", "/", "/etc/passwd", "../../../etc/shadow",
      "data.txt/", "link",     "."};
  Garbage garbage;
  for (const char* string : strings) garbage.pointers.push_back(reinterpret_cast<uint64_t>(string));
  garbage.pointers.push_back(reinterpret_cast<uint64_t>(pages + 4096 - 7));  // unterminated
  garbage.pointers.push_back(reinterpret_cast<uint64_t>(pages + 4096));      // inaccessible
  garbage.pointers.push_back(reinterpret_cast<uint64_t>(overlong));
  garbage.pointers.push_back(1);
  garbage.pointers.push_back(0);
  garbage.pointers.push_back(0x7fffffffffffull);
  garbage.buffers = buffers;
  pthread_t threads[4];
  for (pthread_t& thread : threads) {
    if (pthread_create(&thread, nullptr, MakeGarbage, &garbage) != 0) return 2;
  }
  for (pthread_t& thread : threads) pthread_join(thread, nullptr);
  printf("ok\n");
  return 0;
}

// "label=result" for a call returning a number, "label=-ENAME" for a failure.
void Report(const char* label, long result, bool descriptor = false) {
  if (result < 0) {
    printf("%s=-%s\n", label, strerrorname_np(errno));
  } else if (descriptor) {
    printf("%s=fd\n", label);
    close(static_cast<int>(result));
  } else {
    printf("%s=%ld\n", label, result);
  }
}

int KernelSemantics() {
  char buffer[64] = {};
  struct stat st;
  struct statx stx;
  Report("open f", syscall(SYS_open, "f", O_RDONLY), true);
  Report("open missing", syscall(SYS_open, "missing", O_RDONLY), true);
  Report("open d O_WRONLY", syscall(SYS_open, "d", O_WRONLY), true);
  Report("open f O_DIRECTORY", syscall(SYS_open, "f", O_RDONLY | O_DIRECTORY), true);
  Report("open f O_EXCL", syscall(SYS_open, "f", O_CREAT | O_EXCL | O_WRONLY, 0600), true);
  Report("open f/", syscall(SYS_open, "f/", O_RDONLY), true);
  Report("open missing/x", syscall(SYS_open, "missing/x", O_RDONLY), true);
  Report("open empty", syscall(SYS_open, "", O_RDONLY), true);
  Report("openat d/g", syscall(SYS_openat, AT_FDCWD, "d/g", O_RDONLY), true);
  Report("open l", syscall(SYS_open, "l", O_RDONLY), true);
  Report("open dl", syscall(SYS_open, "dl", O_RDONLY), true);
  Report("open l O_NOFOLLOW", syscall(SYS_open, "l", O_RDONLY | O_NOFOLLOW), true);
  Report("stat f", syscall(SYS_stat, "f", &st));
  Report("stat f size", st.st_size);
  Report("stat missing", syscall(SYS_stat, "missing", &st));
  Report("stat dl", syscall(SYS_stat, "dl", &st));
  Report("lstat dl", syscall(SYS_lstat, "dl", &st));
  Report("lstat dl is a link", S_ISLNK(st.st_mode) ? 1 : 0);
  Report("newfstatat empty", syscall(SYS_newfstatat, AT_FDCWD, "", &st, 0));
  // AT_EMPTY_PATH with AT_FDCWD: the working directory, with "" or (since Linux 6.11) NULL.
  st.st_mode = 0;
  Report("newfstatat empty AT_EMPTY_PATH",
         syscall(SYS_newfstatat, AT_FDCWD, "", &st, AT_EMPTY_PATH));
  Report("newfstatat empty AT_EMPTY_PATH is a directory", S_ISDIR(st.st_mode) ? 1 : 0);
  st.st_mode = 0;
  Report("newfstatat NULL AT_EMPTY_PATH",
         syscall(SYS_newfstatat, AT_FDCWD, nullptr, &st, AT_EMPTY_PATH));
  Report("newfstatat NULL AT_EMPTY_PATH is a directory", S_ISDIR(st.st_mode) ? 1 : 0);
  stx.stx_mode = 0;
  Report("statx empty AT_EMPTY_PATH",
         syscall(SYS_statx, AT_FDCWD, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx));
  Report("statx empty AT_EMPTY_PATH is a directory", S_ISDIR(stx.stx_mode) ? 1 : 0);
  Report("newfstatat bad flag", syscall(SYS_newfstatat, AT_FDCWD, "f", &st, 0x4000000));
  Report("statx f",
         syscall(SYS_statx, AT_FDCWD, "f", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx));
  Report("statx f size", static_cast<long>(stx.stx_size));
  Report("readlink f", syscall(SYS_readlink, "f", buffer, sizeof(buffer)));
  Report("readlink l", syscall(SYS_readlink, "l", buffer, sizeof(buffer)));
  Report("readlink missing", syscall(SYS_readlink, "missing", buffer, sizeof(buffer)));
  Report("readlink l bufsiz -1", syscall(SYS_readlink, "l", buffer, -1));
  Report("mkdir d", syscall(SYS_mkdir, "d", 0700));
  Report("mkdir missing/x", syscall(SYS_mkdir, "missing/x", 0700));
  Report("rmdir d", syscall(SYS_rmdir, "d"));
  Report("rmdir f", syscall(SYS_rmdir, "f"));
  Report("rmdir e", syscall(SYS_rmdir, "e"));
  Report("unlink d", syscall(SYS_unlink, "d"));
  Report("unlink missing", syscall(SYS_unlink, "missing"));
  Report("unlinkat bad flag", syscall(SYS_unlinkat, AT_FDCWD, "f", 0x1));
  Report("rename f d", syscall(SYS_rename, "f", "d"));
  Report("rename missing x", syscall(SYS_rename, "missing", "x"));
  Report("renameat2 NOREPLACE",
         syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "d/g", RENAME_NOREPLACE));
  Report("link d d2", syscall(SYS_link, "d", "d2"));
  Report("link missing x", syscall(SYS_link, "missing", "x"));
  Report("link f f2", syscall(SYS_link, "f", "f2"));
  Report("linkat bad flag", syscall(SYS_linkat, AT_FDCWD, "f", AT_FDCWD, "f3", 0x1));
  Report("symlink f f2", syscall(SYS_symlink, "f", "f2"));
  Report("symlink f s", syscall(SYS_symlink, "f", "s"));
  Report("truncate d", syscall(SYS_truncate, "d", 0));
  Report("truncate missing", syscall(SYS_truncate, "missing", 0));
  Report("truncate f -1", syscall(SYS_truncate, "f", -1L));
  Report("truncate f 2", syscall(SYS_truncate, "f", 2));
  Report("chmod f", syscall(SYS_chmod, "f", 0640));
  Report("chmod missing", syscall(SYS_chmod, "missing", 0640));
  Report("stat f after", syscall(SYS_stat, "f", &st));
  Report("stat f mode", st.st_mode & 07777);
  Report("stat f size after", st.st_size);
  Report("access f R_OK", syscall(SYS_access, "f", R_OK));
  Report("access missing", syscall(SYS_access, "missing", F_OK));
  Report("access f bad mode", syscall(SYS_access, "f", 0x10));
  Report("faccessat2 AT_EACCESS", syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK, AT_EACCESS));
  Report("chdir f", syscall(SYS_chdir, "f"));
  Report("chdir missing", syscall(SYS_chdir, "missing"));
  Report("getcwd small", syscall(SYS_getcwd, buffer, 1));
  Report("chdir d", syscall(SYS_chdir, "d"));
  Report("open g", syscall(SYS_open, "g", O_RDONLY), true);
  Report("chdir ..", syscall(SYS_chdir, ".."));
  const long file = syscall(SYS_open, "f", O_RDONLY);
  Report("fchdir f", syscall(SYS_fchdir, file));
  Report("openat f relative", syscall(SYS_openat, file, "x", O_RDONLY), true);
  Report("statx f AT_EMPTY_PATH",
         syscall(SYS_statx, file, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx));
  close(static_cast<int>(file));
  Report("fchdir closed", syscall(SYS_fchdir, 999));
  const long dir = syscall(SYS_open, "d", O_RDONLY | O_DIRECTORY);
  Report("mkdirat", syscall(SYS_mkdirat, dir, "sub", 0700));
  Report("mkdirat again", syscall(SYS_mkdirat, dir, "sub", 0700));
  Report("symlinkat", syscall(SYS_symlinkat, "g", dir, "gl"));
  Report("readlinkat", syscall(SYS_readlinkat, dir, "gl", buffer, sizeof(buffer)));
  Report("faccessat", syscall(SYS_faccessat, dir, "gl", W_OK));
  Report("fchmodat", syscall(SYS_fchmodat, dir, "g", 0600));
  Report("renameat", syscall(SYS_renameat, dir, "g", dir, "sub/g"));
  Report("renameat2 EXCHANGE",
         syscall(SYS_renameat2, dir, "sub/g", AT_FDCWD, "f", RENAME_EXCHANGE));
  Report("linkat", syscall(SYS_linkat, dir, "sub/g", AT_FDCWD, "hard", 0));
  Report("unlinkat dir", syscall(SYS_unlinkat, dir, "sub", 0));
  Report("unlinkat AT_REMOVEDIR full", syscall(SYS_unlinkat, dir, "sub", AT_REMOVEDIR));
  Report("unlinkat sub/g", syscall(SYS_unlinkat, dir, "sub/g", 0));
  Report("unlinkat AT_REMOVEDIR", syscall(SYS_unlinkat, dir, "sub", AT_REMOVEDIR));
  Report("newfstatat hard", syscall(SYS_newfstatat, AT_FDCWD, "hard", &st, 0));
  Report("hard size", st.st_size);
  Report("open d/", syscall(SYS_open, "d/", O_RDONLY), true);
  Report("open l/", syscall(SYS_open, "l/", O_RDONLY), true);
  Report("open f O_APPEND", syscall(SYS_open, "f", O_WRONLY | O_APPEND), true);
  Report("openat closed dirfd", syscall(SYS_openat, 999, "g", O_RDONLY), true);
  // The kernel ignores the directory descriptor of an absolute path.
  char cwd[PATH_MAX];
  if (syscall(SYS_getcwd, cwd, sizeof(cwd)) < 0) return 2;
  const std::string absolute = std::string(cwd) + "/f";
  Report("openat closed dirfd absolute", syscall(SYS_openat, 999, absolute.c_str(), O_RDONLY),
         true);
  close(static_cast<int>(dir));
  Report("creat c", syscall(SYS_creat, "c", 0600), true);
  Report("open c O_TRUNC", syscall(SYS_open, "c", O_WRONLY | O_TRUNC), true);
  return 0;
}

int SignalState() {
  sigset_t blocked;
  Check(sigprocmask(SIG_SETMASK, nullptr, &blocked) == 0, "sigprocmask", errno);
  Check(sigismember(&blocked, SIGUSR1) == 0, "SIGUSR1 is not blocked");
  struct sigaction pipe_action = {};
  Check(sigaction(SIGPIPE, nullptr, &pipe_action) == 0, "sigaction", errno);
  Check(pipe_action.sa_handler == SIG_DFL, "SIGPIPE has its default disposition");
  struct sigaction usr2_action = {};
  Check(sigaction(SIGUSR2, nullptr, &usr2_action) == 0, "sigaction", errno);
  Check(usr2_action.sa_handler == SIG_DFL, "SIGUSR2 has its default disposition");
  if (failures != 0) return 1;
  printf("ok\n");
  return 0;
}

}  // namespace

// "ok" for a call that returned 0 or more, else its errno's name.
const char* Outcome(long result) {
  if (result >= 0) return "ok";
  switch (errno) {
    case EPERM:
      return "EPERM";
    case ENOTTY:
      return "ENOTTY";
    case ENOENT:
      return "ENOENT";
    case ESRCH:
      return "ESRCH";
    default:
      return strerror(errno);
  }
}

volatile sig_atomic_t usr1_seen = 0;

int OwnProcess() {
  const long self = getpid();
  const long thread = syscall(SYS_gettid);
  char mask[128];
  rlimit limit;
  const auto line = [](const char* what, long result) {
    printf("%s: %s\n", what, Outcome(result));
  };
  line("sched_getaffinity thread", syscall(SYS_sched_getaffinity, thread, sizeof(mask), mask));
  line("sched_getaffinity self", syscall(SYS_sched_getaffinity, self, sizeof(mask), mask));
  line("prlimit64 self", syscall(SYS_prlimit64, self, RLIMIT_NOFILE, nullptr, &limit));
  line("getpriority thread", syscall(SYS_getpriority, PRIO_PROCESS, thread));
  line("kill self", syscall(SYS_kill, self, 0));
  line("tgkill self", syscall(SYS_tgkill, self, thread, 0));
  line("tkill thread", syscall(SYS_tkill, thread, 0));
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct caps[2];
  line("capget self", syscall(SYS_capget, &header, caps));
  char typed = 'x';
  line("ioctl TIOCSTI", syscall(SYS_ioctl, 1, TIOCSTI, &typed));
  int pending = 0;
  line("ioctl FIONREAD", syscall(SYS_ioctl, 1, FIONREAD, &pending));
  signal(SIGUSR1, [](int) { usr1_seen = 1; });
  line("raise", raise(SIGUSR1) == 0 && usr1_seen ? 0 : -1);
  const int unix_socket = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  line("socket unix stream", unix_socket);
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  strcpy(address.sun_path, "/run/sbox-no-such.sock");
  line("connect ungranted",
       connect(unix_socket, reinterpret_cast<sockaddr*>(&address), sizeof(address)));
  return 0;
}

int Tty() {
  winsize size = {};
  const int got = ioctl(0, TIOCGWINSZ, &size);
  printf("isatty %d, window %d %dx%d\n", isatty(0), got, size.ws_row, size.ws_col);
  return 0;
}

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "own-process") return OwnProcess();
  if (mode == "tty") return Tty();
  if (mode == "abort") abort();
  if (mode == "kill-group") return syscall(SYS_kill, 0, 0) == 0 ? 0 : 4;
  if (mode == "unix-dgram") return socket(AF_UNIX, SOCK_DGRAM, 0) >= 0 ? 0 : 4;
  if (mode == "files" && argc == 4) return Files(argv[2], argv[3]);
  if (mode == "threads" && argc == 3) return Threads(argv[2]);
  if (mode == "leaderless" && argc == 3) return Leaderless(argv[2]);
  if (mode == "flood" && argc == 3) return Flood(argv[2]);
  if (mode == "signals" && argc == 3) return Signals(argv[2]);
  if (mode == "sigstate") return SignalState();
  if (mode == "kernel") return KernelSemantics();
  if (mode == "garbage" && argc == 3) return GarbageCalls(argv[2]);
  if (mode == "connect" && argc == 4) return Connect(argv[2], argv[3]);
  if (mode == "exec") {
    char* const args[] = {const_cast<char*>("/bin/true"), nullptr};
    execve("/bin/true", args, nullptr);
    return 3;
  }
  if (mode == "socket") return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 4;
  fprintf(stderr,
          "usage: exec_probe files DIR SECRET | threads FILE | leaderless DIR | flood FILE | "
          "connect SOCKET OTHER | signals DIR | sigstate | garbage DIR | kernel | exec | socket | "
          "unix-dgram | own-process | tty | abort | kill-group\n");
  return 2;
}
