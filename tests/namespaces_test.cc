// Launcher::SetNamespaces with the real kernel: what each namespace changes for the sandboxee,
// refusals made by the kernel (a max_*_namespaces limit of 0 in a user namespace of the test's
// own), and the pid namespace's init, exit status, own-process calls and /proc/self.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "broker/syscall_policy.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "tests/sandbox_fixture.h"

namespace sbox {
namespace {

using testing::SharedInts;

Launcher ParserLauncher(SyscallPolicy::Builder syscalls, const FilePolicy::Builder& files = {}) {
  absl::StatusOr<FilePolicy> file_policy = files.Build();
  absl::StatusOr<SyscallPolicy> policy = syscalls.Build();
  if (!file_policy.ok() || !policy.ok()) abort();
  Launcher launcher(*std::move(file_policy), *std::move(policy));
  launcher.SetTimeout(absl::Seconds(60));
  return launcher;
}

// The inode of /proc/<pid>/ns/<name>: equal for two processes in one namespace.
ino_t NamespaceInode(const std::string& pid, const char* name) {
  struct stat st = {};
  stat(absl::StrCat("/proc/", pid, "/ns/", name).c_str(), &st);
  return st.st_ino;
}

TEST(Namespaces, EachIsCreatedAndReported) {
  Launcher launcher = ParserLauncher(SyscallPolicy::BrokeredParser());
  launcher.SetNamespaces(NamespaceSet::All(), /*required=*/true);
  // The sandboxee's view: its pid, its parent's, its uid (mapped to the caller's).
  SharedInts seen(3);
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd) {
    seen[0] = getpid();
    seen[1] = getppid();
    seen[2] = static_cast<int>(getuid());
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  EXPECT_EQ(result->namespaces_created, NamespaceSet::All());
  EXPECT_TRUE(result->namespaces_refused.empty());
  EXPECT_EQ(seen[0], 2);  // under the init
  EXPECT_EQ(seen[1], 1);
  EXPECT_EQ(seen[2], static_cast<int>(getuid()));
}

TEST(Namespaces, TheSandboxeeIsInNewOnes) {
  // Read from outside while the sandboxee waits: its /proc/<pid>/ns entries differ from ours.
  Launcher launcher = ParserLauncher(SyscallPolicy::BrokeredParser());
  launcher.SetNamespaces({Namespace::kUser, Namespace::kNet, Namespace::kIpc, Namespace::kUts},
                         /*required=*/true);
  SharedInts shared(2);  // [0] the sandboxee's pid, [1] set by the test when it has looked
  ino_t inside[4] = {};
  const char* const kNames[4] = {"user", "net", "ipc", "uts"};
  std::thread looker([&] {
    while (__atomic_load_n(&shared[0], __ATOMIC_SEQ_CST) == SharedInts::kUnset) usleep(1000);
    for (int i = 0; i < 4; ++i) inside[i] = NamespaceInode(absl::StrCat(shared[0]), kNames[i]);
    __atomic_store_n(&shared[1], 1, __ATOMIC_SEQ_CST);
  });
  absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd) {
    __atomic_store_n(&shared[0], getpid(), __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&shared[1], __ATOMIC_SEQ_CST) != 1) usleep(1000);
    return 0;
  });
  looker.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
  for (int i = 0; i < 4; ++i) {
    EXPECT_NE(inside[i], 0u) << kNames[i];
    EXPECT_NE(inside[i], NamespaceInode("self", kNames[i])) << kNames[i];
  }
}

// A TCP listener on the host's loopback, and a sandboxee allowed an AF_INET socket and sendto.
// connect(2) is the broker's (it connects AF_UNIX sockets by path and refuses the others with
// EACCES), so the sandboxee connects with TCP Fast Open's sendto(MSG_FASTOPEN), which makes the
// connection as connect would (the client side of net.ipv4.tcp_fastopen, on by default).
class NetNamespace : public ::testing::Test {
 protected:
  void SetUp() override {
    listener_.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(listener_.valid());
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ASSERT_EQ(listen(listener_.get(), 4), 0);
    socklen_t size = sizeof(address_);
    ASSERT_EQ(getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address_), &size), 0);
  }

  // The errno of the sandboxee's connection to the listener, 0 when it connected.
  int ConnectFromSandboxee(bool unshare_net) {
    Launcher launcher = ParserLauncher(
        SyscallPolicy::BrokeredParser().Allow("socket", {Arg(0).Eq(AF_INET)}).Allow("sendto"));
    if (unshare_net) launcher.SetNamespaces({Namespace::kUser, Namespace::kNet}, true);
    const sockaddr_in address = address_;
    absl::StatusOr<SandboxResult> result = launcher.Run([&](UniqueFd) {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0) return 100;
      return sendto(fd, "x", 1, MSG_FASTOPEN, reinterpret_cast<const sockaddr*>(&address),
                    sizeof(address)) == 1
                 ? 0
                 : errno;
    });
    if (!result.ok() || result->outcome != SandboxResult::Outcome::kExited) {
      ADD_FAILURE() << (result.ok() ? result->ToString() : result.status().ToString());
      return -1;
    }
    return result->exit_code;
  }

  UniqueFd listener_;
  sockaddr_in address_ = {};
};

TEST_F(NetNamespace, TheHostsLoopbackListenersAreOutOfReach) {
  EXPECT_EQ(ConnectFromSandboxee(false), 0);  // the policy does let it connect
  UniqueFd accepted(accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  EXPECT_TRUE(accepted.valid());
  // In its own namespace the sandboxee's loopback is up but nothing listens there.
  EXPECT_EQ(ConnectFromSandboxee(true), ECONNREFUSED);
}

TEST(Namespaces, IpcObjectsOfTheHostAreOutOfReach) {
  const key_t key = 0x5b0c0000 + getpid() % 0xffff;
  const int queue = msgget(key, IPC_CREAT | 0600);
  ASSERT_GE(queue, 0);
  for (bool unshare_ipc : {false, true}) {
    Launcher launcher = ParserLauncher(SyscallPolicy::BrokeredParser().Allow("msgget"));
    if (unshare_ipc) launcher.SetNamespaces({Namespace::kUser, Namespace::kIpc}, true);
    absl::StatusOr<SandboxResult> result =
        launcher.Run([&](UniqueFd) { return msgget(key, 0) >= 0 ? 0 : errno; });
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->exit_code, unshare_ipc ? ENOENT : 0) << result->ToString();
  }
  msgctl(queue, IPC_RMID, nullptr);
}

// Runs `check` in a forked process that is in a user namespace of its own whose
// max_user_namespaces and max_net_namespaces are 0: the kernel refuses those two with ENOSPC.
// Returns check's exit code.
int InLimitedUserNamespace(int (*check)()) {
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  const pid_t pid = fork();
  if (pid == 0) {
    if (unshare(CLONE_NEWUSER) != 0) _exit(90);
    std::ofstream(absl::StrCat("/proc/self/uid_map")) << uid << " " << uid << " 1\n";
    std::ofstream("/proc/self/setgroups") << "deny";
    std::ofstream(absl::StrCat("/proc/self/gid_map")) << gid << " " << gid << " 1\n";
    for (const char* limit : {"max_user_namespaces", "max_net_namespaces"}) {
      std::ofstream out(absl::StrCat("/proc/sys/user/", limit));
      out << "0\n";
      out.close();
      if (!out) _exit(91);
    }
    if (unshare(CLONE_NEWNET) == 0 || errno != ENOSPC) _exit(92);  // the kernel does refuse
    _exit(check());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(Namespaces, ARefusalIsReportedNotFatal) {
  EXPECT_EQ(InLimitedUserNamespace([] {
              Launcher launcher = ParserLauncher(SyscallPolicy::BrokeredParser());
              launcher.SetNamespaces({Namespace::kUser, Namespace::kNet, Namespace::kIpc}, false);
              absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd) { return 0; });
              if (!result.ok()) return 1;
              if (!result->ok()) return 2;
              if (result->namespaces_created != NamespaceSet{Namespace::kIpc}) return 3;
              if (result->namespaces_refused.size() != 2) return 4;
              for (const auto& refusal : result->namespaces_refused) {
                if (refusal.error != ENOSPC) return 5;
              }
              if (result->namespaces_refused[0].ns != Namespace::kUser ||
                  result->namespaces_refused[1].ns != Namespace::kNet) {
                return 6;
              }
              return 0;
            }),
            0);
}

TEST(Namespaces, ARefusalIsFatalWhenRequired) {
  EXPECT_EQ(InLimitedUserNamespace([] {
              Launcher launcher = ParserLauncher(SyscallPolicy::BrokeredParser());
              launcher.SetNamespaces({Namespace::kIpc, Namespace::kNet}, true);
              absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd) { return 0; });
              if (result.ok()) return 1;
              const std::string message(result.status().message());
              if (message.find("namespace net") == std::string::npos) return 2;
              if (message.find("creating namespaces") == std::string::npos) return 3;
              return 0;
            }),
            0);
}

TEST(PidNamespace, TheExitCodeAndSignalArePassedOn) {
  Launcher launcher = ParserLauncher(SyscallPolicy::BrokeredParser());
  launcher.SetNamespaces({Namespace::kUser, Namespace::kPid}, true);
  absl::StatusOr<SandboxResult> exited = launcher.Run([](UniqueFd) { return 7; });
  ASSERT_TRUE(exited.ok()) << exited.status();
  EXPECT_EQ(exited->outcome, SandboxResult::Outcome::kExited);
  EXPECT_EQ(exited->exit_code, 7);
  absl::StatusOr<SandboxResult> crashed = launcher.Run([](UniqueFd) {
    volatile int* null = nullptr;
    return *null;
  });
  ASSERT_TRUE(crashed.ok()) << crashed.status();
  EXPECT_EQ(crashed->outcome, SandboxResult::Outcome::kSignaled) << crashed->ToString();
  EXPECT_EQ(crashed->signal, SIGSEGV);
}

// Under the notification policy, own-process calls and /proc/self name the sandboxee by the ids
// of its own namespace.
Launcher OwnProcessLauncher(const FilePolicy::Builder& files) {
  absl::StatusOr<FilePolicy> file_policy = files.Build();
  absl::StatusOr<SyscallPolicy> policy =
      SyscallPolicy::ProgramDefault().Build(Redirection::kUserNotification);
  if (!file_policy.ok() || !policy.ok()) abort();
  Launcher launcher(*std::move(file_policy), *std::move(policy));
  launcher.SetTimeout(absl::Seconds(60)).SetNamespaces({Namespace::kUser, Namespace::kPid}, true);
  return launcher;
}

TEST(PidNamespace, OwnProcessCallsNameTheSandboxeeByItsOwnIds) {
  Launcher launcher = OwnProcessLauncher(FilePolicy::Builder());
  absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd) {
    cpu_set_t set;
    if (sched_getaffinity(getpid(), sizeof(set), &set) != 0) return 1;
    if (sched_getaffinity(static_cast<pid_t>(syscall(SYS_gettid)), sizeof(set), &set) != 0) {
      return 2;
    }
    if (kill(getpid(), 0) != 0) return 3;
    return 0;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();

  // Pid 1, the init, is someone else.
  absl::StatusOr<SandboxResult> init = launcher.Run([](UniqueFd) { return kill(1, SIGKILL); });
  ASSERT_TRUE(init.ok()) << init.status();
  ASSERT_EQ(init->outcome, SandboxResult::Outcome::kViolation) << init->ToString();
  EXPECT_EQ(init->violation->syscall_name, "kill");
}

TEST(PidNamespace, ProcSelfIsTheSandboxee) {
  Launcher launcher = OwnProcessLauncher(FilePolicy::Builder().AllowReadFile("/proc/self/status"));
  absl::StatusOr<SandboxResult> result = launcher.Run([](UniqueFd) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("NSpid:", 0) != 0) continue;
      // The innermost id, the last field, is the one getpid gives.
      return line.substr(line.find_last_of(" \t") + 1) == std::to_string(getpid()) ? 0 : 1;
    }
    return 2;
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();
}

}  // namespace
}  // namespace sbox
