// A real child, a real filter, real descriptors: what a sandboxee gets from the broker, and
// what it is refused, with which errno. Every test runs on SOCK_SEQPACKET and SOCK_DGRAM.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

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
using testing::ScratchDir;
using testing::SharedInts;

class BrokeredOpenTest : public ::testing::TestWithParam<ChannelType> {
 protected:
  // Runs `body` in a sandbox with `files`; fails the test unless the sandboxee exits with 0.
  void RunSandboxed(const FilePolicy::Builder& files,
                    const std::function<void(BrokerClient&)>& body) {
    Launcher launcher = MakeLauncher(files, GetParam());
    launcher.SetDecisionLog(log_.AsLog());
    absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd channel) {
      BrokerClient client(std::move(channel));
      body(client);
      return 0;
    });
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_TRUE(result->ok()) << result->ToString();
  }

  // Reads all of `fd` inside the sandbox.
  static std::string ReadAll(int fd) {
    std::string data;
    char buffer[4096];
    ssize_t n;
    while ((n = read(fd, buffer, sizeof(buffer))) > 0) data.append(buffer, n);
    return data;
  }

  DecisionRecorder log_;
};

TEST_P(BrokeredOpenTest, DescriptorReadsTheSameBytesAsADirectOpen) {
  ScratchDir dir;
  std::string contents;
  for (int i = 0; i < 20000; ++i) contents += static_cast<char>('a' + i * 7 % 26);
  const std::string file = dir.WriteFile("data.bin", contents);
  SharedInts same(1);
  RunSandboxed(FilePolicy::Builder().AllowReadFile(file), [&](BrokerClient& client) {
    absl::StatusOr<UniqueFd> fd = client.Open(file, O_RDONLY);
    same[0] = fd.ok() && ReadAll(fd->get()) == contents;
  });
  EXPECT_EQ(same[0], 1);
}

TEST_P(BrokeredOpenTest, WriteThroughReadWriteGrantIsVisibleToTheParent) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("out.txt", "old contents that get truncated");
  SharedInts written(1);
  RunSandboxed(FilePolicy::Builder().AllowReadWriteFile(file), [&](BrokerClient& client) {
    absl::StatusOr<UniqueFd> fd = client.Open(file, O_WRONLY | O_TRUNC);
    written[0] = fd.ok() ? static_cast<int>(write(fd->get(), "from the sandbox", 16)) : -1;
  });
  EXPECT_EQ(written[0], 16);
  EXPECT_EQ(testing::ReadFileOrDie(file), "from the sandbox");
}

TEST_P(BrokeredOpenTest, ReadWriteGrantCreatesTheFileWithMode0600) {
  ScratchDir dir;
  const std::string file = dir.path() + "/new.txt";
  SharedInts created(1);
  RunSandboxed(FilePolicy::Builder().AllowReadWriteFile(file), [&](BrokerClient& client) {
    absl::StatusOr<UniqueFd> fd = client.Open(file, O_WRONLY | O_CREAT | O_EXCL, 0666);
    created[0] = fd.ok() ? static_cast<int>(write(fd->get(), "x", 1)) : -ErrnoOf(fd.status());
  });
  EXPECT_EQ(created[0], 1);
  struct stat st;
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_P(BrokeredOpenTest, ReceivedDescriptorHasTheRequestedFlags) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("f", "x");
  SharedInts got(4);
  RunSandboxed(FilePolicy::Builder().AllowReadWriteFile(file), [&](BrokerClient& client) {
    absl::StatusOr<UniqueFd> plain = client.Open(file, O_RDONLY);
    got[0] = plain.ok() ? fcntl(plain->get(), F_GETFD) : -1;
    // The broker opens with O_NONBLOCK so a FIFO cannot stall it; the sandboxee must not
    // inherit that.
    got[1] = plain.ok() ? fcntl(plain->get(), F_GETFL) & (O_NONBLOCK | O_ACCMODE) : -1;
    absl::StatusOr<UniqueFd> nonblocking = client.Open(file, O_RDONLY | O_NONBLOCK);
    got[2] = nonblocking.ok() ? fcntl(nonblocking->get(), F_GETFL) & O_NONBLOCK : -1;
    absl::StatusOr<UniqueFd> append = client.Open(file, O_WRONLY | O_APPEND);
    got[3] = append.ok() ? fcntl(append->get(), F_GETFL) & (O_APPEND | O_NONBLOCK | O_ACCMODE) : -1;
  });
  EXPECT_EQ(got[0], FD_CLOEXEC);
  EXPECT_EQ(got[1], O_RDONLY);
  EXPECT_EQ(got[2], O_NONBLOCK);
  EXPECT_EQ(got[3], O_APPEND | O_WRONLY);
}

TEST_P(BrokeredOpenTest, TreeGrantOpensFilesAndListsTheDirectory) {
  ScratchDir dir;
  const std::string tree = dir.MakeDir("tree");
  dir.MakeDir("tree/sub");
  dir.WriteFile("tree/sub/leaf.txt", "leaf");
  SharedInts got(3);
  RunSandboxed(FilePolicy::Builder().AllowReadTree(tree), [&](BrokerClient& client) {
    absl::StatusOr<UniqueFd> leaf = client.Open(tree + "/sub/leaf.txt", O_RDONLY);
    got[0] = leaf.ok() && ReadAll(leaf->get()) == "leaf";
    absl::StatusOr<UniqueFd> root = client.Open(tree, O_RDONLY | O_DIRECTORY);
    got[1] = root.ok();
    absl::StatusOr<struct stat> st = client.Stat(tree + "/sub");
    got[2] = st.ok() && S_ISDIR(st->st_mode);
  });
  EXPECT_EQ(got[0], 1);
  EXPECT_EQ(got[1], 1);
  EXPECT_EQ(got[2], 1);
}

TEST_P(BrokeredOpenTest, StatAndAccessMatchTheParentsView) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("s", "twelve bytes");
  struct stat expected;
  ASSERT_EQ(stat(file.c_str(), &expected), 0);
  SharedInts got(5);
  RunSandboxed(FilePolicy::Builder().AllowReadFile(file), [&](BrokerClient& client) {
    absl::StatusOr<struct stat> st = client.Stat(file);
    got[0] = st.ok() ? static_cast<int>(st->st_size) : -1;
    got[1] = st.ok() && st->st_ino == expected.st_ino && st->st_mode == expected.st_mode &&
             st->st_mtim.tv_nsec == expected.st_mtim.tv_nsec;
    got[2] = ErrnoOf(client.Access(file, R_OK));
    got[3] = ErrnoOf(client.Access(file, W_OK));
    got[4] = ErrnoOf(client.Access(file, F_OK));
  });
  EXPECT_EQ(got[0], 12);
  EXPECT_EQ(got[1], 1);
  EXPECT_EQ(got[2], 0);
  EXPECT_EQ(got[3], EACCES);
  EXPECT_EQ(got[4], 0);
}

// Every kind of refusal, with the errno proto/PROTOCOL.md documents for it.
TEST_P(BrokeredOpenTest, RefusalsCarryTheDocumentedErrno) {
  ScratchDir dir;
  const std::string readable = dir.WriteFile("readable.txt", "r");
  const std::string writable = dir.WriteFile("writable.txt", "w");
  const std::string secret = dir.WriteFile("secret.txt", "secret");
  const std::string tree = dir.MakeDir("tree");
  dir.WriteFile("tree/inside.txt", "inside");
  dir.Symlink("tree/escape", secret);
  dir.Symlink("tree/escape_relative", "../secret.txt");
  dir.Symlink("tree/absolute_inside", tree + "/inside.txt");
  dir.Symlink("tree/relative_inside", "inside.txt");
  dir.Symlink("tree/to_readable", readable);
  dir.Symlink("linked_file", "readable.txt");
  const std::string linked_file = dir.path() + "/linked_file";
  dir.Symlink("linked_secret", "secret.txt");
  const std::string linked_secret = dir.path() + "/linked_secret";
  ASSERT_EQ(mkfifo((tree + "/fifo").c_str(), 0644), 0);

  struct Case {
    const char* name;
    std::function<absl::Status(BrokerClient&)> call;
    int expected_errno;
  };
  const auto open = [](std::string path, int flags) {
    return [path, flags](BrokerClient& c) { return c.Open(path, flags).status(); };
  };
  const std::vector<Case> cases = {
      {"granted file", open(readable, O_RDONLY), 0},
      // A path no rule covers is as if absent.
      {"path outside the policy", open(secret, O_RDONLY), ENOENT},
      {"relative path outside the working directory's grants", open("readable.txt", O_RDONLY),
       ENOENT},
      // Paths need not be normalized: ".." resolves physically, and must stay inside the grants.
      {"'..' component", open(tree + "/../readable.txt", O_RDONLY), 0},
      {"'..' component leading out of the grants", open(tree + "/../secret.txt", O_RDONLY), ENOENT},
      {"'..' above the root stays at the root", open("/../.." + readable, O_RDONLY), 0},
      {"'.' component", open(tree + "/./inside.txt", O_RDONLY), 0},
      {"trailing slash on a directory", open(tree + "/", O_RDONLY), 0},
      {"trailing slash on a file", open(readable + "/", O_RDONLY), ENOTDIR},
      {"double slash", open(dir.path() + "//readable.txt", O_RDONLY), 0},
      {"empty path", open("", O_RDONLY), EINVAL},
      {"embedded NUL", open(readable + std::string("\0x", 2), O_RDONLY), EINVAL},
      {"over-long path", open("/" + std::string(5000, 'a'), O_RDONLY), ENAMETOOLONG},
      // O_PATH needs no permission beyond the path being covered or an ancestor of a grant.
      {"O_PATH", open(readable, O_RDONLY | O_PATH), 0},
      {"O_PATH on an ancestor of a grant", open(dir.path(), O_RDONLY | O_PATH), 0},
      {"O_PATH outside the policy", open(secret, O_RDONLY | O_PATH), ENOENT},
      {"opening an ancestor of a grant", open(dir.path(), O_RDONLY | O_DIRECTORY), EACCES},
      {"O_TMPFILE", open(tree, O_RDWR | O_TMPFILE), EINVAL},
      {"O_DIRECT", open(readable, O_RDONLY | O_DIRECT), EINVAL},
      {"O_SYNC", open(writable, O_WRONLY | O_SYNC), EINVAL},
      {"O_ACCMODE", open(readable, O_ACCMODE), EINVAL},
      {"unknown flag bit", open(readable, O_RDONLY | 0x40000000), EINVAL},
      {"O_WRONLY on read-only file", open(readable, O_WRONLY), EACCES},
      {"O_RDWR on read-only file", open(readable, O_RDWR), EACCES},
      {"O_RDONLY|O_TRUNC on read-only file", open(readable, O_RDONLY | O_TRUNC), EACCES},
      {"O_APPEND on read-only file", open(readable, O_RDONLY | O_APPEND), EACCES},
      {"O_CREAT on read-only tree", open(tree + "/new.txt", O_RDONLY | O_CREAT), EACCES},
      {"O_WRONLY on read-only tree", open(tree + "/inside.txt", O_WRONLY), EACCES},
      {"O_RDWR on read-write file", open(writable, O_RDWR), 0},
      {"file missing inside a tree", open(tree + "/missing", O_RDONLY), ENOENT},
      // Symlinks are followed; each target is judged by the policy as the path it names.
      {"symlink in tree to a file outside it", open(tree + "/escape", O_RDONLY), ENOENT},
      {"relative symlink in tree leading out", open(tree + "/escape_relative", O_RDONLY), ENOENT},
      {"absolute symlink in tree to inside it", open(tree + "/absolute_inside", O_RDONLY), 0},
      {"relative symlink in tree to inside it", open(tree + "/relative_inside", O_RDONLY), 0},
      {"symlink to a granted file outside the tree", open(tree + "/to_readable", O_RDONLY), 0},
      {"symlink to a file granted too little", open(tree + "/to_readable", O_WRONLY), EACCES},
      {"O_NOFOLLOW on a symlink in a tree", open(tree + "/relative_inside", O_RDONLY | O_NOFOLLOW),
       ELOOP},
      {"file grant naming a symlink to a granted file", open(linked_file, O_RDONLY), 0},
      {"file grant naming a symlink to a file outside the grants", open(linked_secret, O_RDONLY),
       ENOENT},
      // O_NONBLOCK during the open: a FIFO without a writer cannot stall the broker.
      {"FIFO without a writer, for reading", open(tree + "/fifo", O_RDONLY), 0},
      {"stat outside the policy", [&](BrokerClient& c) { return c.Stat(secret).status(); }, ENOENT},
      {"stat of an ancestor of a grant",
       [&](BrokerClient& c) { return c.Stat(dir.path()).status(); }, 0},
      {"stat through an escaping symlink",
       [&](BrokerClient& c) { return c.Stat(tree + "/escape").status(); }, ENOENT},
      {"lstat of an escaping symlink itself",
       [&](BrokerClient& c) { return c.Lstat(tree + "/escape").status(); }, 0},
      {"access W_OK on read-only", [&](BrokerClient& c) { return c.Access(readable, W_OK); },
       EACCES},
      {"access with unknown mode bits", [&](BrokerClient& c) { return c.Access(readable, 0100); },
       EINVAL},
      {"access outside the policy", [&](BrokerClient& c) { return c.Access(secret, R_OK); },
       ENOENT},
  };

  SharedInts got(cases.size());
  RunSandboxed(FilePolicy::Builder()
                   .AllowReadFile(readable)
                   .AllowReadWriteFile(writable)
                   .AllowReadTree(tree)
                   .AllowReadFile(linked_file)
                   .AllowReadFile(linked_secret),
               [&](BrokerClient& client) {
                 for (size_t i = 0; i < cases.size(); ++i) got[i] = ErrnoOf(cases[i].call(client));
               });
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(got[i], cases[i].expected_errno)
        << cases[i].name << ": got " << got[i] << ", expected " << cases[i].expected_errno;
  }
  EXPECT_EQ(testing::ReadFileOrDie(readable), "r") << "a refused O_TRUNC must not truncate";
}

TEST_P(BrokeredOpenTest, DecisionLogNamesOperationPathDecisionAndReason) {
  ScratchDir dir;
  const std::string file = dir.WriteFile("logged.txt", "x");
  RunSandboxed(FilePolicy::Builder().AllowReadFile(file), [&](BrokerClient& client) {
    client.Open(file, O_RDONLY).IgnoreError();
    client.Open(file, O_WRONLY).IgnoreError();
    client.Stat("/etc/shadow").IgnoreError();
  });
  const std::vector<std::string> lines = log_.Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            "open \"" + file + "\" O_RDONLY: allowed (rule 1: allow r file " + file + ")");
  EXPECT_EQ(lines[1], "open \"" + file +
                          "\" O_WRONLY: denied, EACCES: writing, O_TRUNC or O_APPEND needs w "
                          "(rule 1: allow r file " +
                          file + ")");
  // Resolution stops at the first component no rule covers ("/etc"); the decision names the
  // path asked for.
  EXPECT_EQ(lines[2],
            "stat \"/etc/shadow\" follow: denied, ENOENT: no rule covers a component of the path");
}

INSTANTIATE_TEST_SUITE_P(Channels, BrokeredOpenTest, testing::BothChannelTypes(),
                         testing::ChannelTypeName);

}  // namespace
}  // namespace sbox
