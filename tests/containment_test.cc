// Containment under attack: what a sandboxee can reach through the broker while unsandboxed
// processes race it (symlink swaps, renames of a parent directory), through `..`, /proc magic
// links, hard links and bind mounts. Every test asserts the secure outcome, or, where the policy
// cannot help (a hard link or a mount made by someone else), the documented one.
//
// Files outside the granted trees carry the marker "SECRET"; whatever the sandboxee reads is
// checked for it.

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <functional>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "sandboxee/broker_client.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using sandboxee::BrokerClient;
using sandboxee::ErrnoOf;
using testing::MakeLauncher;
using testing::ScratchDir;
using testing::SharedInts;

constexpr char kSecretMarker[] = "SECRET";
constexpr char kGranted[] = "granted";

// Runs `body` in a sandbox built by `launcher`; fails the test unless the sandboxee exits with 0.
// Returns how long the run took.
absl::Duration RunSandboxed(const Launcher& launcher,
                            const std::function<void(BrokerClient&)>& body) {
  const absl::Time start = absl::Now();
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    BrokerClient client(std::move(channel));
    body(client);
    return 0;
  });
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_TRUE(result.ok()) << result.status();
  if (result.ok()) {
    EXPECT_TRUE(result->ok()) << result->ToString();
  }
  return elapsed;
}

void RunSandboxed(const FilePolicy::Builder& files,
                  const std::function<void(BrokerClient&)>& body) {
  RunSandboxed(MakeLauncher(files), body);
}

// Reads the start of `fd` inside the sandbox (pread: no fstat, no seek needed).
std::string ReadStart(int fd) {
  char buffer[4096];
  const ssize_t n = pread(fd, buffer, sizeof(buffer), 0);
  return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
}

// openat2(2) fails a RESOLVE_BENEATH lookup that went through ".." with EAGAIN when anything was
// renamed (or mounted) anywhere on the system meanwhile, and tells the caller to retry. The broker
// retries a bounded number of times (UnrelatedRenamesDoNotFailOpensThroughDotDot below); the
// races in this file rename far faster than any real system, so a sandboxee whose expected
// outcome does not depend on a race retries too. Returns the last errno (0: success).
int RetryOnEagain(const std::function<int()>& call) {
  int error = call();
  for (int i = 0; i < 1000 && error == EAGAIN; ++i) error = call();
  return error;
}

// Counters in shared memory, bumped by whoever runs in a forked child and read by the test.
// Plain ints: each counter has one writer, and the test reads them after the writer stopped,
// except the racers' progress counters, which go through the __atomic builtins.
class Counters {
 public:
  explicit Counters(size_t count) : ints_(count) {
    for (size_t i = 0; i < count; ++i) ints_[i] = 0;
  }
  int& operator[](size_t i) const { return ints_[i]; }
  int Load(size_t i) const { return __atomic_load_n(&ints_[i], __ATOMIC_ACQUIRE); }
  void Store(size_t i, int value) const { __atomic_store_n(&ints_[i], value, __ATOMIC_RELEASE); }

 private:
  SharedInts ints_;
};

// What repeated opens of one path returned: the contents read through each descriptor,
// classified, and the errno of every refusal.
class OpenTally {
 public:
  static constexpr int kMaxErrno = 134;

  OpenTally() : counts_(kFirstErrno + kMaxErrno + 1) {}

  // In the sandboxee: opens `path` (relative to `dirfd` unless absolute), reads it, counts.
  void OpenAndRead(BrokerClient& client, int dirfd, absl::string_view path,
                   absl::string_view expected) const {
    const int fd = client.OpenRaw(dirfd, path, O_RDONLY, 0);
    if (fd < 0) {
      ++counts_[kFirstErrno + (-fd <= kMaxErrno ? -fd : 0)];
      return;
    }
    const std::string contents = ReadStart(fd);
    close(fd);
    if (contents.find(kSecretMarker) != std::string::npos) {
      ++counts_[kSecret];
    } else if (contents == expected) {
      ++counts_[kExpected];
    } else {
      ++counts_[kOtherContents];
    }
  }

  int expected_reads() const { return counts_[kExpected]; }
  int secret_reads() const { return counts_[kSecret]; }
  int other_contents() const { return counts_[kOtherContents]; }
  int errors(int error) const { return counts_[kFirstErrno + error]; }
  int all_errors() const {
    int total = 0;
    for (int e = 0; e <= kMaxErrno; ++e) total += errors(e);
    return total;
  }
  // EACCES (the policy said no), ENOENT (nothing there at that moment, or no rule covers it) and
  // EAGAIN (openat2(2): renames during a scoped lookup through "..", which the kernel refuses
  // rather than risk an escape; past the broker's bounded retries it reaches the sandboxee).
  int refusals() const { return errors(EACCES) + errors(ENOENT) + errors(EAGAIN); }
  int opens() const { return expected_reads() + secret_reads() + other_contents() + all_errors(); }

  // "100000 opens: 51234 read the granted file, 0 read a secret, 0 read something else;
  // EACCES 48766".
  std::string ToString() const {
    std::string text =
        absl::StrCat(opens(), " opens: ", expected_reads(), " read the granted file, ",
                     secret_reads(), " read a secret, ", other_contents(), " read something else");
    for (int e = 0; e <= kMaxErrno; ++e) {
      if (errors(e) == 0) continue;
      const char* name = e == 0 ? "errno beyond the tally" : strerrorname_np(e);
      absl::StrAppend(&text, "; ", name != nullptr ? name : "?", " ", errors(e));
    }
    return text;
  }

 private:
  enum : size_t { kExpected, kSecret, kOtherContents, kFirstErrno };
  Counters counts_;
};

// A process forked from the test, outside any sandbox, running `body` until Stop kills it. Fork
// it before Launcher::Run, while the test is single-threaded.
class Racer {
 public:
  explicit Racer(const std::function<void()>& body) {
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      body();
      _exit(0);
    }
    EXPECT_GT(pid_, 0) << strerror(errno);
  }
  ~Racer() { Stop(); }
  Racer(const Racer&) = delete;
  Racer& operator=(const Racer&) = delete;

  // Kills and reaps it. True when it was still racing (it had not exited by itself, which it
  // does only when an operation failed).
  bool Stop() {
    if (pid_ <= 0) return stopped_by_kill_;
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    stopped_by_kill_ = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    return stopped_by_kill_;
  }

 private:
  pid_t pid_ = -1;
  bool stopped_by_kill_ = false;
};

void SleepBriefly() {
  const timespec delay = {0, 1000 * 1000};
  nanosleep(&delay, nullptr);
}

// In the sandboxee: waits (at most 10 s) until the racer has made progress, so that the opens
// that follow really race it.
void AwaitProgress(const Counters& progress, size_t index) {
  for (int i = 0; i < 10000 && progress.Load(index) == 0; ++i) SleepBriefly();
}

// ---------------------------------------------------------------------------------------------
// 1. A symlink inside a granted tree swapped, as fast as another process can, between a granted
// file and a secret, while the sandboxee opens it.

// The requirement is 100,000 opens per variant, kept: a variant takes 3 to 8 s on 2 busy cores
// (measured; each run prints its runtime), the whole binary about 20 s.
constexpr int kSwapRaceOpens = 100000;

enum class SwapTarget {
  kAbsoluteOutside,  // "/…/secret.txt", outside the tree
  kRelativeOutside,  // "../secret.txt"
  kDeniedInside,     // "denied/secret.txt" beneath a Deny rule inside the tree
};

void RunSymlinkSwapRace(SwapTarget kind) {
  ScratchDir dir;
  const std::string secret = dir.WriteFile("secret.txt", "SECRET outside the tree");
  const std::string tree = dir.MakeDir("tree");
  dir.WriteFile("tree/granted.txt", kGranted);
  dir.MakeDir("tree/denied");
  dir.WriteFile("tree/denied/secret.txt", "SECRET beneath a deny rule");
  const std::string link = dir.Symlink("tree/link", "granted.txt");
  std::string bad_target;
  switch (kind) {
    case SwapTarget::kAbsoluteOutside:
      bad_target = secret;
      break;
    case SwapTarget::kRelativeOutside:
      bad_target = "../secret.txt";
      break;
    case SwapTarget::kDeniedInside:
      bad_target = "denied/secret.txt";
      break;
  }
  Counters progress(1);
  Racer racer([&] {
    const std::string temporary = link + ".new";
    const std::string good_target = "granted.txt";
    for (int i = 1;; ++i) {
      const std::string& target = (i % 2 == 0) ? good_target : bad_target;
      unlink(temporary.c_str());
      if (symlink(target.c_str(), temporary.c_str()) != 0) _exit(1);
      if (rename(temporary.c_str(), link.c_str()) != 0) _exit(2);
      progress.Store(0, i);
    }
  });

  OpenTally tally;
  const absl::Duration elapsed =
      RunSandboxed(MakeLauncher(FilePolicy::Builder().AllowReadTree(tree).Deny(tree + "/denied")),
                   [&](BrokerClient& client) {
                     AwaitProgress(progress, 0);
                     for (int i = 0; i < kSwapRaceOpens; ++i) {
                       tally.OpenAndRead(client, AT_FDCWD, link, kGranted);
                     }
                   });
  EXPECT_TRUE(racer.Stop()) << "the racer failed before it was stopped";
  const int swaps = progress.Load(0);
  std::cout << "symlink swap race to \"" << bad_target << "\": " << tally.ToString() << "; "
            << swaps << " swaps; " << absl::FormatDuration(elapsed) << "\n";

  EXPECT_EQ(tally.opens(), kSwapRaceOpens) << tally.ToString();
  EXPECT_EQ(tally.secret_reads(), 0) << tally.ToString();
  EXPECT_EQ(tally.other_contents(), 0) << tally.ToString();
  // The race really happened: both outcomes occurred.
  EXPECT_GT(tally.expected_reads(), 0) << tally.ToString();
  EXPECT_GT(tally.errors(EACCES) + tally.errors(ENOENT), 0) << tally.ToString();
  // Nothing but the granted file or a refusal.
  EXPECT_EQ(tally.refusals(), tally.all_errors()) << tally.ToString();
  // At least one swap each way (a run on busy cores measured as few as ~1,000 swaps).
  EXPECT_GE(swaps, 2);
}

TEST(SymlinkSwapRaceTest, AbsoluteSymlinkToASecretOutsideTheTreeIsNeverFollowed) {
  RunSymlinkSwapRace(SwapTarget::kAbsoluteOutside);
}

TEST(SymlinkSwapRaceTest, RelativeSymlinkEscapingTheTreeIsNeverFollowed) {
  RunSymlinkSwapRace(SwapTarget::kRelativeOutside);
}

TEST(SymlinkSwapRaceTest, SymlinkIntoADeniedSubtreeIsNeverFollowed) {
  RunSymlinkSwapRace(SwapTarget::kDeniedInside);
}

// ".." after a symlink that is swapped between a directory in the tree and one outside it:
// "T/x/../f" is T/f while x names T/sub, and D/secretdir/f while x names D/secretdir/sub. ".."
// is resolved physically, after the link, and what it leads to is judged by the policy.
TEST(SymlinkSwapRaceTest, DotDotAfterASwappedSymlinkNeverLeavesTheGrants) {
  ScratchDir dir;
  dir.MakeDir("secretdir");
  const std::string outside_sub = dir.MakeDir("secretdir/sub");
  dir.WriteFile("secretdir/f", "SECRET beside the directory the link may name");
  const std::string tree = dir.MakeDir("tree");
  dir.MakeDir("tree/sub");
  dir.WriteFile("tree/f", kGranted);
  const std::string link = dir.Symlink("tree/x", "sub");
  Counters progress(1);
  Racer racer([&] {
    const std::string temporary = link + ".new";
    for (int i = 1;; ++i) {
      const std::string target = (i % 2 == 0) ? "sub" : outside_sub;
      unlink(temporary.c_str());
      if (symlink(target.c_str(), temporary.c_str()) != 0) _exit(1);
      if (rename(temporary.c_str(), link.c_str()) != 0) _exit(2);
      progress.Store(0, i);
    }
  });
  OpenTally tally;
  const std::string path = tree + "/x/../f";
  const absl::Duration elapsed = RunSandboxed(
      MakeLauncher(FilePolicy::Builder().AllowReadTree(tree)), [&](BrokerClient& client) {
        AwaitProgress(progress, 0);
        for (int i = 0; i < kSwapRaceOpens; ++i) {
          tally.OpenAndRead(client, AT_FDCWD, path, kGranted);
        }
      });
  EXPECT_TRUE(racer.Stop()) << "the racer failed before it was stopped";
  std::cout << "\"..\" after a swapped symlink: " << tally.ToString() << "; " << progress.Load(0)
            << " swaps; " << absl::FormatDuration(elapsed) << "\n";
  EXPECT_EQ(tally.opens(), kSwapRaceOpens) << tally.ToString();
  EXPECT_EQ(tally.secret_reads(), 0) << tally.ToString();
  EXPECT_EQ(tally.other_contents(), 0) << tally.ToString();
  EXPECT_GT(tally.expected_reads(), 0) << tally.ToString();
  EXPECT_GT(tally.errors(ENOENT), 0) << tally.ToString();
  EXPECT_EQ(tally.refusals(), tally.all_errors()) << tally.ToString();
}

// ---------------------------------------------------------------------------------------------
// 2. A parent directory renamed out of the tree and back while the sandboxee opens beneath it.
//
// Layout: the tree T = D/tree; T/granted.txt "granted"; T/a/b/file "inside";
// T/a/b/up -> "../../granted.txt"; D/granted.txt "SECRET". While T/a sits at D/a, "up" (and a
// path that goes through ".." from a descriptor of T/a/b) names D/granted.txt: a lookup that
// followed the moved directory's ".." would read the secret.

// 4 opens per round: 100,000 opens.
constexpr int kRenameRaceRounds = 25000;

TEST(ParentRenameRaceTest, OpensBeneathAMovingDirectoryNeverReachOutsideTheTree) {
  ScratchDir dir;
  dir.WriteFile("granted.txt", "SECRET: the outside twin of tree/granted.txt");
  const std::string tree = dir.MakeDir("tree");
  dir.WriteFile("tree/granted.txt", kGranted);
  dir.MakeDir("tree/a");
  dir.MakeDir("tree/a/b");
  dir.WriteFile("tree/a/b/file", "inside");
  dir.Symlink("tree/a/b/up", "../../granted.txt");
  const std::string inside = tree + "/a";
  const std::string outside = dir.path() + "/a";

  enum : size_t { kGo, kRenames };
  Counters progress(2);
  Racer racer([&] {
    while (progress.Load(kGo) == 0) SleepBriefly();
    for (int i = 1;; ++i) {
      if (rename(inside.c_str(), outside.c_str()) != 0) _exit(1);
      if (rename(outside.c_str(), inside.c_str()) != 0) _exit(2);
      progress.Store(kRenames, i);
    }
  });

  OpenTally absolute_file, absolute_up, relative_to_b, relative_to_a;
  SharedInts setup(2);
  const absl::Duration elapsed = RunSandboxed(
      MakeLauncher(FilePolicy::Builder().AllowReadTree(tree)), [&](BrokerClient& client) {
        // Descriptors of T/a and T/a/b, taken before the racer starts; they follow the
        // directories wherever they move.
        absl::StatusOr<UniqueFd> a = client.Open(tree + "/a", O_RDONLY | O_DIRECTORY);
        absl::StatusOr<UniqueFd> b = client.Open(tree + "/a/b", O_RDONLY | O_DIRECTORY);
        setup[0] = ErrnoOf(a.status());
        setup[1] = ErrnoOf(b.status());
        if (!a.ok() || !b.ok()) return;
        progress.Store(kGo, 1);
        AwaitProgress(progress, kRenames);
        for (int i = 0; i < kRenameRaceRounds; ++i) {
          absolute_file.OpenAndRead(client, AT_FDCWD, tree + "/a/b/file", "inside");
          absolute_up.OpenAndRead(client, AT_FDCWD, tree + "/a/b/up", kGranted);
          relative_to_b.OpenAndRead(client, b->get(), "../../granted.txt", kGranted);
          relative_to_a.OpenAndRead(client, a->get(), "b/up", kGranted);
        }
      });
  EXPECT_TRUE(racer.Stop()) << "the racer failed before it was stopped";
  ASSERT_EQ(setup[0], 0);
  ASSERT_EQ(setup[1], 0);
  std::cout << "parent rename race, " << progress.Load(kRenames) << " round trips of T/a, "
            << absl::FormatDuration(elapsed) << ":\n  T/a/b/file: " << absolute_file.ToString()
            << "\n  T/a/b/up: " << absolute_up.ToString()
            << "\n  \"../../granted.txt\" from T/a/b: " << relative_to_b.ToString()
            << "\n  \"b/up\" from T/a: " << relative_to_a.ToString() << "\n";

  for (const OpenTally* tally : {&absolute_file, &absolute_up, &relative_to_b, &relative_to_a}) {
    EXPECT_EQ(tally->opens(), kRenameRaceRounds) << tally->ToString();
    EXPECT_EQ(tally->secret_reads(), 0) << tally->ToString();
    EXPECT_EQ(tally->other_contents(), 0) << tally->ToString();
    EXPECT_GT(tally->expected_reads(), 0) << tally->ToString();
    EXPECT_EQ(tally->refusals(), tally->all_errors()) << tally->ToString();
  }
  // While T/a is outside: T/a/b/file does not exist; the descriptors name directories outside
  // every rule, which are as if absent.
  EXPECT_GT(absolute_file.errors(ENOENT), 0) << absolute_file.ToString();
  EXPECT_GT(relative_to_b.errors(ENOENT), 0) << relative_to_b.ToString();
  EXPECT_GT(relative_to_a.errors(ENOENT), 0) << relative_to_a.ToString();
  EXPECT_GT(absolute_up.all_errors(), 0) << absolute_up.ToString();
}

// ---------------------------------------------------------------------------------------------
// 3. `..`: in absolute and relative paths alike, resolved physically (after following symlinks),
// never above "/"; the file it leads to is judged like any other.

TEST(DotDotTest, DotDotIsResolvedPhysicallyThenJudged) {
  ScratchDir dir;
  dir.WriteFile("secret.txt", "SECRET");
  dir.MakeDir("other");
  const std::string tree = dir.MakeDir("tree");
  dir.MakeDir("tree/sub");
  dir.MakeDir("tree/sub/deeper");
  dir.WriteFile("tree/inside.txt", "inside");
  dir.WriteFile("tree/sub/inside.txt", "tree/sub/inside.txt, reached physically");
  dir.Symlink("tree/deep", "sub/deeper");
  dir.Symlink("tree/out", dir.path() + "/other");

  struct Case {
    const char* name;
    std::function<int(BrokerClient&, int tree_fd, int sub_fd)> call;
    int expected_errno;
  };
  // Opens and reads: 0 only when the contents are the inside file's.
  const auto open = [](std::string path) {
    return [path](BrokerClient& client, int, int) {
      absl::StatusOr<UniqueFd> fd = client.Open(path, O_RDONLY);
      if (!fd.ok()) return ErrnoOf(fd.status());
      return ReadStart(fd->get()) == "inside" ? 0 : -1;
    };
  };
  const auto open_at = [](std::string path, bool from_sub) {
    return [path, from_sub](BrokerClient& client, int tree_fd, int sub_fd) {
      absl::StatusOr<UniqueFd> fd = client.Open(path, O_RDONLY, 0, from_sub ? sub_fd : tree_fd);
      if (!fd.ok()) return ErrnoOf(fd.status());
      return ReadStart(fd->get()) == "inside" ? 0 : -1;
    };
  };
  const std::vector<Case> cases = {
      {"'..' in the middle of an absolute path, leading out", open(tree + "/sub/../../secret.txt"),
       ENOENT},
      {"'..' in the middle of an absolute path, staying in", open(tree + "/sub/../inside.txt"), 0},
      {"'..' right after the root", open(tree + "/../secret.txt"), ENOENT},
      {"'..' at the end names the directory",
       [&](BrokerClient& client, int, int) {
         // The directory opened is the tree: "inside.txt" relative to it is the inside file.
         absl::StatusOr<UniqueFd> up = client.Open(tree + "/sub/..", O_RDONLY | O_DIRECTORY);
         if (!up.ok()) return ErrnoOf(up.status());
         absl::StatusOr<UniqueFd> fd = client.Open("inside.txt", O_RDONLY, 0, up->get());
         if (!fd.ok()) return ErrnoOf(fd.status());
         return ReadStart(fd->get()) == "inside" ? 0 : -1;
       },
       0},
      {"'..' above '/' stays at '/'", open("/../../.." + tree + "/inside.txt"), 0},
      {"stat with '..' leading out",
       [&](BrokerClient& client, int, int) {
         return ErrnoOf(client.Stat(tree + "/../secret.txt").status());
       },
       ENOENT},
      {"stat with '..' staying in",
       [&](BrokerClient& client, int, int) {
         return ErrnoOf(client.Stat(tree + "/sub/../inside.txt").status());
       },
       0},
      // Physically: "deep" is tree/sub/deeper, so "deep/.." is tree/sub, not tree.
      {"'..' after a directory symlink is physical",
       [&](BrokerClient& client, int, int) {
         absl::StatusOr<UniqueFd> fd = client.Open(tree + "/deep/../inside.txt", O_RDONLY);
         if (!fd.ok()) return ErrnoOf(fd.status());
         const std::string contents = ReadStart(fd->get());
         return contents == "tree/sub/inside.txt, reached physically" ? 0 : -1;
       },
       0},
      // The symlink's target is judged before any ".." after it: tree/out names an uncovered
      // directory, so the path stops there, whatever comes back into the tree after it.
      {"'..' after a symlink leading out of the grants", open(tree + "/out/../tree/inside.txt"),
       ENOENT},
      {"relative 'sub/../../secret.txt' from T leads outside",
       open_at("sub/../../secret.txt", false), ENOENT},
      {"relative '../../secret.txt' from T/sub leads outside", open_at("../../secret.txt", true),
       ENOENT},
      {"relative '..' far beyond '/' leads to '/etc/passwd'",
       open_at("../../../../../../../../../../../../etc/passwd", true), ENOENT},
      {"relative 'sub/../inside.txt' from T stays inside", open_at("sub/../inside.txt", false), 0},
      {"relative '../inside.txt' from T/sub stays inside", open_at("../inside.txt", true), 0},
      {"relative path leaving T and coming back", open_at("../tree/sub/../inside.txt", false), 0},
      {"relative '../secret.txt' from the working directory T leads outside",
       [](BrokerClient& client, int, int) {
         return ErrnoOf(client.Open("../secret.txt", O_RDONLY).status());
       },
       ENOENT},
  };

  Launcher launcher = MakeLauncher(FilePolicy::Builder().AllowReadTree(tree));
  launcher.SetWorkingDirectory(tree);
  SharedInts got(cases.size());
  SharedInts setup(2);
  RunSandboxed(launcher, [&](BrokerClient& client) {
    absl::StatusOr<UniqueFd> tree_fd = client.Open(tree, O_RDONLY | O_DIRECTORY);
    absl::StatusOr<UniqueFd> sub_fd = client.Open(tree + "/sub", O_RDONLY | O_DIRECTORY);
    setup[0] = ErrnoOf(tree_fd.status());
    setup[1] = ErrnoOf(sub_fd.status());
    if (!tree_fd.ok() || !sub_fd.ok()) return;
    for (size_t i = 0; i < cases.size(); ++i) {
      got[i] = cases[i].call(client, tree_fd->get(), sub_fd->get());
    }
  });
  ASSERT_EQ(setup[0], 0);
  ASSERT_EQ(setup[1], 0);
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(got[i], cases[i].expected_errno)
        << cases[i].name << ": got " << got[i] << ", expected " << cases[i].expected_errno;
  }
}

// ---------------------------------------------------------------------------------------------
// 4. /proc: "/proc/self" is the sandboxee's, and a magic link is followed as the path it names
// (its readlink text), judged by the policy like any symlink: never as the object it points at.

TEST(ProcTest, ProcSelfIsTheSandboxeeAndMagicLinksAreJudgedAsThePathsTheyName) {
  enum : size_t {
    kStatusErrno,
    kStatusPid,
    kOwnPid,
    kThreadSelfPid,
    kRoot,
    kFd3,
    kFdChannel,
    kCwd,
    kExe,
    kStatRoot,
    kRootProcSelfErrno,
    kRootProcSelfPid,
    kFdOfGrantedErrno,
    kFdOfGrantedPid,
    kLinkedSelfErrno,
    kLinkedSelfPid,
    kCount
  };
  ScratchDir dir;
  const std::string linked_self = dir.Symlink("self_status", "/proc/self/status");
  SharedInts got(kCount);
  RunSandboxed(FilePolicy::Builder().AllowTree("/proc", kRead).AllowReadTree(dir.path()),
               [&](BrokerClient& client) {
                 // The "Pid:" line of a status file, or -1.
                 const auto pid_of = [](int fd) {
                   const std::string status = ReadStart(fd);
                   const size_t line = status.find("\nPid:");
                   if (line == std::string::npos) return -1;
                   const size_t end = status.find('\n', line + 1);
                   int pid = -1;
                   if (!absl::SimpleAtoi(status.substr(line + 5, end - line - 5), &pid)) return -1;
                   return pid;
                 };
                 const auto status_pid = [&](const std::string& path, int* error) {
                   absl::StatusOr<UniqueFd> fd = client.Open(path, O_RDONLY);
                   *error = ErrnoOf(fd.status());
                   return fd.ok() ? pid_of(fd->get()) : -1;
                 };
                 int error = 0;
                 got[kStatusPid] = status_pid("/proc/self/status", &error);
                 got[kStatusErrno] = error;
                 got[kOwnPid] = getpid();
                 got[kThreadSelfPid] = status_pid("/proc/thread-self/status", &error);
                 const auto open_errno = [&](const std::string& path) {
                   return ErrnoOf(client.Open(path, O_RDONLY).status());
                 };
                 got[kRoot] = open_errno("/proc/self/root/etc/passwd");
                 got[kFd3] = open_errno("/proc/self/fd/3");  // the broker channel: "socket:[…]"
                 got[kFdChannel] = open_errno(absl::StrCat("/proc/", getpid(), "/fd/3"));
                 got[kCwd] = open_errno("/proc/self/cwd/x");
                 got[kExe] = open_errno("/proc/self/exe");
                 got[kStatRoot] = ErrnoOf(client.Stat("/proc/self/root").status());
                 // Through the root link back into /proc: "/proc/self" there is still the
                 // sandboxee's.
                 got[kRootProcSelfPid] = status_pid("/proc/self/root/proc/self/status", &error);
                 got[kRootProcSelfErrno] = error;
                 // A descriptor's link names a path the policy grants: it is followed to that path.
                 absl::StatusOr<UniqueFd> status = client.Open("/proc/self/status", O_RDONLY);
                 if (status.ok()) {
                   got[kFdOfGrantedPid] =
                       status_pid(absl::StrCat("/proc/self/fd/", status->get()), &error);
                   got[kFdOfGrantedErrno] = error;
                 } else {
                   got[kFdOfGrantedErrno] = -1;
                 }
                 // A symlink of the sandboxee's own tree to "/proc/self/…": the sandboxee's too.
                 got[kLinkedSelfPid] = status_pid(linked_self, &error);
                 got[kLinkedSelfErrno] = error;
               });
  EXPECT_EQ(got[kStatusErrno], 0);
  EXPECT_GT(got[kOwnPid], 0);
  EXPECT_EQ(got[kStatusPid], got[kOwnPid]) << "/proc/self must be the sandboxee's";
  EXPECT_NE(got[kStatusPid], getpid()) << "/proc/self must never be the broker's";
  EXPECT_EQ(got[kThreadSelfPid], got[kOwnPid]);
  EXPECT_EQ(got[kRoot], ENOENT) << "/proc/self/root names \"/\": /etc/passwd is uncovered";
  EXPECT_EQ(got[kFd3], ENOENT) << "/proc/self/fd/3 names \"socket:[…]\", which is not there";
  EXPECT_EQ(got[kFdChannel], ENOENT) << "/proc/<pid>/fd/3 names \"socket:[…]\"";
  EXPECT_EQ(got[kCwd], ENOENT) << "/proc/self/cwd names a directory no rule covers";
  EXPECT_EQ(got[kExe], ENOENT) << "/proc/self/exe names a file no rule covers";
  EXPECT_EQ(got[kStatRoot], 0) << "/proc/self/root names \"/\", an ancestor of the grant";
  EXPECT_EQ(got[kRootProcSelfErrno], 0);
  EXPECT_NE(got[kRootProcSelfPid], getpid()) << "/proc/self must never be the broker's";
  EXPECT_EQ(got[kRootProcSelfPid], got[kOwnPid]);
  EXPECT_EQ(got[kFdOfGrantedErrno], 0);
  EXPECT_EQ(got[kFdOfGrantedPid], got[kOwnPid]);
  EXPECT_EQ(got[kLinkedSelfErrno], 0);
  EXPECT_NE(got[kLinkedSelfPid], getpid()) << "/proc/self must never be the broker's";
  EXPECT_EQ(got[kLinkedSelfPid], got[kOwnPid]);
}

TEST(ProcTest, WithoutAProcRuleProcSelfIsAsIfAbsent) {
  ScratchDir dir;
  SharedInts got(3);
  RunSandboxed(FilePolicy::Builder().AllowReadTree(dir.path()), [&](BrokerClient& client) {
    got[0] = ErrnoOf(client.Open("/proc/self/status", O_RDONLY).status());
    got[1] = ErrnoOf(client.Open("/proc/self/root/etc/passwd", O_RDONLY).status());
    got[2] = ErrnoOf(client.Open(absl::StrCat("/proc/", getpid(), "/status"), O_RDONLY).status());
  });
  EXPECT_EQ(got[0], ENOENT);
  EXPECT_EQ(got[1], ENOENT);
  EXPECT_EQ(got[2], ENOENT);
}

// ---------------------------------------------------------------------------------------------
// 5. Hard links: the policy is about names.

// The documented limit: a hard link to a secret that already exists inside a granted tree is
// readable, because the policy grants names, not inodes. Whoever can make such a link (someone
// with write access to the tree, outside the sandbox) can already hand the sandboxee the secret.
TEST(HardLinkTest, ExistingHardLinkInsideAGrantedTreeIsReadable) {
  ScratchDir dir;
  const std::string secret = dir.WriteFile("secret.txt", "SECRET linked in from outside");
  const std::string tree = dir.MakeDir("tree");
  const std::string hard_link = tree + "/hardlink.txt";
  ASSERT_EQ(link(secret.c_str(), hard_link.c_str()), 0) << strerror(errno);
  SharedInts got(2);
  RunSandboxed(FilePolicy::Builder().AllowReadTree(tree), [&](BrokerClient& client) {
    absl::StatusOr<UniqueFd> fd = client.Open(hard_link, O_RDONLY);
    got[0] = ErrnoOf(fd.status());
    got[1] = fd.ok() && ReadStart(fd->get()) == "SECRET linked in from outside";
    // The name outside stays refused.
  });
  EXPECT_EQ(got[0], 0);
  EXPECT_EQ(got[1], 1) << "documented limit: a pre-existing hard link is readable";
}

// What the sandboxee cannot do: make such a link (or any other name) itself.
TEST(HardLinkTest, SandboxeeCannotLinkASecretOrWidenAccessByLinking) {
  ScratchDir dir;
  const std::string secret = dir.WriteFile("secret.txt", "SECRET outside");
  const std::string read_only = dir.MakeDir("ro");
  dir.WriteFile("ro/file.txt", "read-only");
  const std::string writable = dir.MakeDir("rw");
  dir.WriteFile("rw/own.txt", "own");
  dir.MakeDir("rw/denied");
  dir.WriteFile("rw/denied/hidden.txt", "SECRET beneath a deny rule");

  // Opens `path` and reads it; counts any secret that comes back.
  SharedInts secret_reads(1);
  const auto ReadThrough = [&secret_reads](BrokerClient& c, const std::string& path) {
    absl::StatusOr<UniqueFd> fd = c.Open(path, O_RDONLY);
    if (fd.ok() && ReadStart(fd->get()).find(kSecretMarker) != std::string::npos) {
      ++secret_reads[0];
    }
    return fd.status();
  };
  struct Case {
    const char* name;
    std::function<absl::Status(BrokerClient&, int rw_fd)> call;
    int expected_errno;
    std::string created;  // the new name, which must exist exactly when the call succeeds ("":
                          // the call creates nothing)
  };
  const std::vector<Case> cases = {
      {"link from an ungranted name",
       [&](BrokerClient& c, int) { return c.Link(secret, writable + "/new1"); }, ENOENT,
       writable + "/new1"},
      {"link from a denied name",
       [&](BrokerClient& c, int) {
         return c.Link(writable + "/denied/hidden.txt", writable + "/new2");
       },
       EACCES, writable + "/new2"},
      {"link from an 'allow r' tree into an 'allow rwc' tree (widening)",
       [&](BrokerClient& c, int) { return c.Link(read_only + "/file.txt", writable + "/new3"); },
       EACCES, writable + "/new3"},
      {"link into an 'allow r' tree (no c)",
       [&](BrokerClient& c, int) { return c.Link(writable + "/own.txt", read_only + "/new4"); },
       EACCES, read_only + "/new4"},
      {"relative link from '../secret.txt' via a descriptor of rw",
       [&](BrokerClient& c, int rw_fd) { return c.Link("../secret.txt", "new5", rw_fd, rw_fd); },
       ENOENT, writable + "/new5"},
      {"rename of an ungranted name into the tree",
       [&](BrokerClient& c, int) { return c.Rename(secret, writable + "/new6"); }, ENOENT,
       writable + "/new6"},
      // A symlink needs only c on its own path; its target is judged whenever it is followed.
      {"symlink to an ungranted name",
       [&](BrokerClient& c, int) { return c.Symlink(secret, writable + "/new7"); }, 0,
       writable + "/new7"},
      {"following the symlink to the ungranted name",
       [&](BrokerClient& c, int) { return ReadThrough(c, writable + "/new7"); }, ENOENT, ""},
      {"stat through the symlink to the ungranted name",
       [&](BrokerClient& c, int) { return c.Stat(writable + "/new7").status(); }, ENOENT, ""},
      {"symlink into the denied subtree",
       [&](BrokerClient& c, int) { return c.Symlink("denied/hidden.txt", writable + "/new8"); }, 0,
       writable + "/new8"},
      {"following the symlink into the denied subtree",
       [&](BrokerClient& c, int) { return ReadThrough(c, writable + "/new8"); }, EACCES, ""},
      {"a hard link to the symlink widens nothing: following it is judged the same",
       [&](BrokerClient& c, int) {
         absl::Status linked = c.Link(writable + "/new7", writable + "/new10");
         if (!linked.ok()) return linked;
         return ReadThrough(c, writable + "/new10");
       },
       ENOENT, ""},
      {"control: link within the 'allow rwc' tree",
       [&](BrokerClient& c, int) { return c.Link(writable + "/own.txt", writable + "/new9"); }, 0,
       writable + "/new9"},
  };

  SharedInts got(cases.size());
  SharedInts setup(1);
  secret_reads[0] = 0;
  RunSandboxed(FilePolicy::Builder()
                   .AllowReadTree(read_only)
                   .AllowTree(writable, kRead | kWrite | kCreate)
                   .Deny(writable + "/denied"),
               [&](BrokerClient& client) {
                 absl::StatusOr<UniqueFd> rw_fd = client.Open(writable, O_RDONLY | O_DIRECTORY);
                 setup[0] = ErrnoOf(rw_fd.status());
                 if (!rw_fd.ok()) return;
                 for (size_t i = 0; i < cases.size(); ++i) {
                   got[i] = ErrnoOf(cases[i].call(client, rw_fd->get()));
                 }
               });
  ASSERT_EQ(setup[0], 0);
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(got[i], cases[i].expected_errno)
        << cases[i].name << ": got " << got[i] << ", expected " << cases[i].expected_errno;
    if (cases[i].created.empty()) continue;
    struct stat st;
    EXPECT_EQ(lstat(cases[i].created.c_str(), &st) == 0, cases[i].expected_errno == 0)
        << cases[i].name << ": " << cases[i].created;
  }
  EXPECT_EQ(secret_reads[0], 0) << "the sandboxee read a secret";
  EXPECT_EQ(testing::ReadFileOrDie(secret), "SECRET outside");
}

// ---------------------------------------------------------------------------------------------
// 6. A bind mount inside a granted tree.
//
// The documented behaviour: mount points beneath a tree's root are crossed like directories
// (openat2 without RESOLVE_NO_XDEV), so a directory mounted over T/mnt is readable as T/mnt/...
// Whoever can mount in the broker's mount namespace is trusted; the sandboxee cannot mount (its
// filter refuses mount, unshare and clone with namespace flags).

// In a forked child: a user and mount namespace of its own, the secret directory bind-mounted
// over tree/mnt, then a broker and sandboxee whose policy grants only the tree. Reports through
// `got`; returns the child's exit code.
enum : size_t { kMountStep, kMountErrno, kOpenErrno, kReadSecret, kRunOk, kMountCount };
enum MountStep : int {
  kUnshare = 1,
  kSetgroups,
  kUidMap,
  kGidMap,
  kPrivate,
  kBind,
  kBuild,
  kRun,
  kDone,
};

bool WriteProcFile(const char* path, const std::string& contents) {
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok =
      write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size());
  close(fd);
  return ok;
}

int BindMountAndOpen(const std::string& secret_dir, const std::string& tree,
                     const SharedInts& got) {
  const uid_t uid = getuid();
  const gid_t gid = getgid();
  const auto fail = [&](MountStep step) {
    got[kMountStep] = step;
    got[kMountErrno] = errno;
    return 1;
  };
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return fail(kUnshare);
  if (!WriteProcFile("/proc/self/setgroups", "deny")) return fail(kSetgroups);
  if (!WriteProcFile("/proc/self/uid_map", absl::StrCat(uid, " ", uid, " 1"))) {
    return fail(kUidMap);
  }
  if (!WriteProcFile("/proc/self/gid_map", absl::StrCat(gid, " ", gid, " 1"))) {
    return fail(kGidMap);
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return fail(kPrivate);
  if (mount(secret_dir.c_str(), (tree + "/mnt").c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return fail(kBind);
  }
  // The policy is built after the mount, in this namespace: its root descriptor sees the mount.
  absl::StatusOr<FilePolicy> files = FilePolicy::Builder().AllowReadTree(tree).Build();
  absl::StatusOr<SyscallPolicy> syscalls = SyscallPolicy::BrokeredParser().Build();
  if (!files.ok() || !syscalls.ok()) return fail(kBuild);
  Launcher launcher(*std::move(files), *std::move(syscalls));
  launcher.SetTimeout(absl::Seconds(30));
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
    BrokerClient client(std::move(channel));
    absl::StatusOr<UniqueFd> fd = client.Open(tree + "/mnt/secret.txt", O_RDONLY);
    got[kOpenErrno] = ErrnoOf(fd.status());
    got[kReadSecret] = fd.ok() && ReadStart(fd->get()) == "SECRET mounted over the tree";
    return 0;
  });
  if (!result.ok()) return fail(kRun);
  got[kRunOk] = result->ok();
  got[kMountStep] = kDone;
  return 0;
}

TEST(BindMountTest, MountPointBeneathAGrantedTreeIsCrossed) {
  ScratchDir dir;
  const std::string secret_dir = dir.MakeDir("secret");
  dir.WriteFile("secret/secret.txt", "SECRET mounted over the tree");
  const std::string tree = dir.MakeDir("tree");
  dir.MakeDir("tree/mnt");

  SharedInts got(kMountCount);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << strerror(errno);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    _exit(BindMountAndOpen(secret_dir, tree, got));
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  ASSERT_EQ(got[kMountStep], kDone)
      << "set-up step " << got[kMountStep] << " failed: " << strerror(got[kMountErrno]);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(got[kRunOk], 1);
  // Documented: the mount point is crossed, so the mounted secret IS readable.
  EXPECT_EQ(got[kOpenErrno], 0);
  EXPECT_EQ(got[kReadSecret], 1);

  // Control, in the test's own namespace: without the mount, nothing is there.
  SharedInts control(1);
  RunSandboxed(FilePolicy::Builder().AllowReadTree(tree), [&](BrokerClient& client) {
    control[0] = ErrnoOf(client.Open(tree + "/mnt/secret.txt", O_RDONLY).status());
  });
  EXPECT_EQ(control[0], ENOENT);
}

// ---------------------------------------------------------------------------------------------
// 7. Symlinks inside a tree: absolute and relative ones are followed hop by hop, each target
// judged by the policy as the path it names; loops and chains over 40 hops end in ELOOP.

TEST(SymlinkInsideTreeTest, EveryHopIsJudgedAndLoopsEndInEloop) {
  ScratchDir dir;
  dir.WriteFile("secret.txt", "SECRET");
  dir.MakeDir("other");
  const std::string tree = dir.MakeDir("tree");
  dir.WriteFile("tree/inside.txt", "inside");
  dir.MakeDir("tree/sub");
  dir.MakeDir("tree/sub/deeper");
  dir.MakeDir("tree/denied");
  dir.WriteFile("tree/denied/hidden.txt", "SECRET beneath a deny rule");
  dir.Symlink("tree/absolute", tree + "/inside.txt");
  dir.Symlink("tree/to_absolute", "absolute");
  dir.Symlink("tree/chain1", "chain2");
  dir.Symlink("tree/chain2", "sub/chain3");
  dir.Symlink("tree/sub/chain3", "deeper/chain4");
  dir.Symlink("tree/sub/deeper/chain4", "../../inside.txt");
  dir.Symlink("tree/dirlink", "sub/deeper");
  dir.Symlink("tree/out_and_back", "../tree/inside.txt");
  dir.Symlink("tree/through_uncovered", "../other/../tree/inside.txt");
  dir.Symlink("tree/absolute_out", dir.path() + "/secret.txt");
  dir.Symlink("tree/relative_out", "../secret.txt");
  dir.Symlink("tree/into_denied", "denied/hidden.txt");
  dir.Symlink("tree/loop1", "loop2");
  dir.Symlink("tree/loop2", "loop1");
  dir.Symlink("tree/self", "self");
  dir.Symlink("tree/sub/up_loop", "../sub/up_loop");
  // hop0 -> hop1 -> ... -> hop40 -> inside.txt: from hop1, 40 symlinks; from hop0, 41.
  constexpr int kMaxHops = 40;
  for (int i = 0; i <= kMaxHops; ++i) {
    dir.Symlink(absl::StrCat("tree/hop", i),
                i == kMaxHops ? std::string("inside.txt") : absl::StrCat("hop", i + 1));
  }

  struct Case {
    const char* name;
    std::string path;
    int expected_errno;
  };
  const std::vector<Case> cases = {
      {"absolute symlink pointing into the tree", tree + "/absolute", 0},
      {"relative symlink to an absolute one", tree + "/to_absolute", 0},
      {"relative chain of four links staying inside", tree + "/chain1", 0},
      {"directory symlink in the middle of the path", tree + "/dirlink/chain4", 0},
      // The hop passes through the tree's parent, an ancestor of the grant, and comes back.
      {"relative symlink leaving the tree and coming back", tree + "/out_and_back", 0},
      // A component no rule covers stops resolution, even if a ".." would come back.
      {"relative symlink through an uncovered directory", tree + "/through_uncovered", ENOENT},
      {"absolute symlink to a file outside the grants", tree + "/absolute_out", ENOENT},
      {"relative symlink to a file outside the grants", tree + "/relative_out", ENOENT},
      {"symlink into a denied subtree", tree + "/into_denied", EACCES},
      {"two-link loop", tree + "/loop1", ELOOP},
      {"self loop", tree + "/self", ELOOP},
      {"loop through '..'", tree + "/sub/up_loop", ELOOP},
      {"a chain of 40 symlinks", tree + "/hop1", 0},
      {"a chain of 41 symlinks", tree + "/hop0", ELOOP},
  };
  SharedInts opened(cases.size());
  SharedInts stated(cases.size());
  SharedInts secret_reads(1);
  secret_reads[0] = 0;
  RunSandboxed(
      FilePolicy::Builder().AllowReadTree(tree).Deny(tree + "/denied"), [&](BrokerClient& client) {
        for (size_t i = 0; i < cases.size(); ++i) {
          opened[i] = RetryOnEagain([&] {
            absl::StatusOr<UniqueFd> fd = client.Open(cases[i].path, O_RDONLY);
            if (!fd.ok()) return ErrnoOf(fd.status());
            const std::string contents = ReadStart(fd->get());
            if (contents.find(kSecretMarker) != std::string::npos) ++secret_reads[0];
            return contents == "inside" ? 0 : -1;
          });
          stated[i] = RetryOnEagain([&] { return ErrnoOf(client.Stat(cases[i].path).status()); });
        }
      });
  EXPECT_EQ(secret_reads[0], 0);
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(opened[i], cases[i].expected_errno)
        << "open: " << cases[i].name << ": got " << opened[i];
    EXPECT_EQ(stated[i], cases[i].expected_errno)
        << "stat: " << cases[i].name << ": got " << stated[i];
  }
}

// Not containment but robustness: a lookup beneath a rule's root that goes through ".." (a
// relative symlink such as "../inside.txt") fails with EAGAIN whenever anything on the system is
// renamed meanwhile, even files no rule mentions. openat2(2) asks the caller to retry, and the
// broker does (OpenAt2 in broker/file_request_handler.cc), so a busy machine (a build renaming
// its outputs) does not make granted opens fail.
TEST(SymlinkInsideTreeTest, UnrelatedRenamesDoNotFailOpensThroughDotDot) {
  ScratchDir dir;
  const std::string tree = dir.MakeDir("tree");
  dir.WriteFile("tree/inside.txt", "inside");
  dir.MakeDir("tree/sub");
  const std::string link = dir.Symlink("tree/sub/up", "../inside.txt");
  const std::string unrelated = dir.WriteFile("unrelated", "");
  const std::string unrelated_renamed = dir.path() + "/unrelated.renamed";

  Counters progress(1);
  Racer racer([&] {
    for (int i = 1;; ++i) {
      if (rename(unrelated.c_str(), unrelated_renamed.c_str()) != 0) _exit(1);
      if (rename(unrelated_renamed.c_str(), unrelated.c_str()) != 0) _exit(2);
      progress.Store(0, i);
    }
  });
  OpenTally tally;
  RunSandboxed(FilePolicy::Builder().AllowReadTree(tree), [&](BrokerClient& client) {
    AwaitProgress(progress, 0);
    for (int i = 0; i < 20000; ++i) tally.OpenAndRead(client, AT_FDCWD, link, "inside");
  });
  EXPECT_TRUE(racer.Stop());
  EXPECT_EQ(tally.expected_reads(), 20000) << tally.ToString();
}

}  // namespace
}  // namespace sbox
