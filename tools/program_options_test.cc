// The options `sbox run` and `sbox learn` share: the flags, the environment the program gets,
// the resource limits and the line that names a limit that ended the program.

#include "tools/program_options.h"

#include <signal.h>
#include <sys/resource.h>

#include <sstream>

#include "gtest/gtest.h"

namespace sbox {
namespace {

const std::set<std::string> kAll = {"--private-tmp",  "--setenv",       "--keep-env",
                                    "--keep-env-all", "--verbose",      "--rlimit-as",
                                    "--rlimit-cpu",   "--rlimit-fsize", "--rlimit-nofile",
                                    "--rlimit-nproc", "--timeout"};

TEST(ProgramOptions, FlagsTakeNoValueAndRepeatableOptionsCollect) {
  absl::StatusOr<ProgramOptions> options =
      ParseProgramOptions({"--private-tmp", "-v", "--keep-env-all", "--setenv", "A=1",
                           "--setenv=B=", "--keep-env", "X", "--keep-env=Y", "--", "prog", "-v"},
                          kAll);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->private_tmp);
  EXPECT_TRUE(options->verbose);
  EXPECT_TRUE(options->keep_env_all);
  EXPECT_EQ(options->setenv, (std::vector<std::string>{"A=1", "B="}));
  EXPECT_EQ(options->keep_env, (std::vector<std::string>{"X", "Y"}));
  EXPECT_EQ(options->command, (std::vector<std::string>{"prog", "-v"}));
  EXPECT_EQ(ParseProgramOptions({"--private-tmp=yes", "prog"}, kAll).status().message(),
            "--private-tmp takes no value");
  EXPECT_EQ(ParseProgramOptions({"--private-tmp", "prog"}, {"--timeout"}).status().message(),
            "unknown option '--private-tmp'");
}

TEST(ProgramOptions, BadEnvironmentOptionsNameTheOption) {
  EXPECT_EQ(ParseProgramOptions({"--setenv", "NOEQUALS", "prog"}, kAll).status().message(),
            "--setenv: expected NAME=VALUE with a non-empty NAME, found 'NOEQUALS'");
  EXPECT_EQ(ParseProgramOptions({"--setenv", "=x", "prog"}, kAll).status().message(),
            "--setenv: expected NAME=VALUE with a non-empty NAME, found '=x'");
  EXPECT_EQ(ParseProgramOptions({"--keep-env", "A=B", "prog"}, kAll).status().message(),
            "--keep-env: expected a variable's NAME (no '='), found 'A=B'");
  EXPECT_EQ(ParseProgramOptions({"--keep-env=", "prog"}, kAll).status().message(),
            "--keep-env is empty");
}

TEST(ProgramOptions, Namespaces) {
  const std::set<std::string> accepted = {"--unshare", "--require-namespaces"};
  absl::StatusOr<ProgramOptions> some =
      ParseProgramOptions({"--unshare", "net,pid", "--require-namespaces", "prog"}, accepted);
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_EQ(some->unshare, (NamespaceSet{Namespace::kNet, Namespace::kPid}));
  EXPECT_TRUE(some->require_namespaces);
  absl::StatusOr<ProgramOptions> all = ParseProgramOptions({"--unshare=all", "prog"}, accepted);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->unshare, NamespaceSet::All());
  EXPECT_FALSE(all->require_namespaces);
  EXPECT_EQ(ParseProgramOptions({"--unshare", "net,mnt", "prog"}, accepted).status().message(),
            "--unshare: expected a comma-separated list of user, net, ipc, uts, pid or all, "
            "found 'mnt'");
  EXPECT_EQ(ParseProgramOptions({"--unshare", "net,", "prog"}, accepted).status().message(),
            "--unshare: expected a comma-separated list of user, net, ipc, uts, pid or all, "
            "found ''");
  EXPECT_EQ(ParseProgramOptions({"--require-namespaces", "prog"}, accepted).status().message(),
            "--require-namespaces needs --unshare");
}

TEST(ProgramOptions, ResourceLimits) {
  absl::StatusOr<ProgramOptions> options =
      ParseProgramOptions({"--rlimit-as", "100M", "--rlimit-cpu=2", "--rlimit-fsize", "4096",
                           "--rlimit-nofile", "64", "--rlimit-nproc", "10", "prog"},
                          kAll);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->rlimits, (std::map<int, rlim_t>{{RLIMIT_AS, 100 << 20},
                                                     {RLIMIT_CPU, 2},
                                                     {RLIMIT_FSIZE, 4096},
                                                     {RLIMIT_NOFILE, 64},
                                                     {RLIMIT_NPROC, 10}}));
  EXPECT_EQ(ParseProgramOptions({"--rlimit-cpu", "1K", "prog"}, kAll).status().message(),
            "--rlimit-cpu: expected a positive whole number of seconds, found '1K'");
  EXPECT_EQ(ParseProgramOptions({"--rlimit-as", "0", "prog"}, kAll).status().message(),
            "--rlimit-as: expected a positive whole number of bytes (K, M or G may follow), "
            "found '0'");
  EXPECT_EQ(ParseProgramOptions({"--rlimit-nofile", "2", "--rlimit-nofile", "3", "prog"}, kAll)
                .status()
                .message(),
            "--rlimit-nofile is given twice");
}

TEST(ProgramEnvironment, ByDefaultOnlyTheDocumentedVariables) {
  const std::vector<std::string> caller = {"PATH=/home/u/bin:/usr/bin",
                                           "HOME=/home/u",
                                           "LANG=C.UTF-8",
                                           "FOO_SECRET=x",
                                           "TERM=xterm",
                                           "TMPDIR=/var/tmp"};
  ProgramOptions options;
  EXPECT_EQ(
      ProgramEnvironment(options, caller, ""),
      (std::vector<std::string>{"HOME=/home/u", "LANG=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin",
                                "TERM=xterm", "TMPDIR=/var/tmp"}));
  // The locale, which decides what a program prints, stays.
  std::vector<std::string> with_locale = caller;
  with_locale.push_back("LC_ALL=C");
  with_locale.push_back("LC_COLLATE=C");
  with_locale.push_back("LANGUAGE=de");
  with_locale.push_back("XLC_SECRET=y");
  EXPECT_EQ(ProgramEnvironment(options, with_locale, ""),
            (std::vector<std::string>{"HOME=/home/u", "LANG=C.UTF-8", "LANGUAGE=de", "LC_ALL=C",
                                      "LC_COLLATE=C", "PATH=/usr/local/bin:/usr/bin:/bin",
                                      "TERM=xterm", "TMPDIR=/var/tmp"}));
  EXPECT_EQ(
      ProgramEnvironment(options, caller, "/tmp/sbox-x"),
      (std::vector<std::string>{"HOME=/home/u", "LANG=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin",
                                "TERM=xterm", "TMPDIR=/tmp/sbox-x"}));
  options.keep_env = {"FOO_SECRET", "UNSET"};
  options.setenv = {"TERM=dumb", "A=1", "A=2"};
  EXPECT_EQ(ProgramEnvironment(options, caller, ""),
            (std::vector<std::string>{"A=2", "FOO_SECRET=x", "HOME=/home/u", "LANG=C.UTF-8",
                                      "PATH=/usr/local/bin:/usr/bin:/bin", "TERM=dumb",
                                      "TMPDIR=/var/tmp"}));
  ProgramOptions all;
  all.keep_env_all = true;
  std::vector<std::string> sorted = caller;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(ProgramEnvironment(all, caller, ""), sorted);
}

TEST(ExitStatusOf, NamesTheLimitThatEndedTheProgram) {
  ProgramOptions options;
  options.command = {"prog"};
  options.rlimits = {{RLIMIT_CPU, 1}, {RLIMIT_FSIZE, 4096}, {RLIMIT_AS, 100 << 20}};
  SandboxResult result;
  result.outcome = SandboxResult::Outcome::kSignaled;
  const auto line = [&](int signal) {
    result.signal = signal;
    std::ostringstream err;
    EXPECT_EQ(ExitStatusOf(result, options, err), 128 + signal);
    return err.str();
  };
  EXPECT_EQ(line(SIGXCPU),
            "sbox: killed by SIGXCPU: the CPU time limit ran out (--rlimit-cpu 1)\n");
  EXPECT_EQ(line(SIGXFSZ),
            "sbox: killed by SIGXFSZ: a write went past the file size limit "
            "(--rlimit-fsize 4 KiB)\n");
  EXPECT_EQ(line(SIGKILL),
            "sbox: killed by SIGKILL; --rlimit-cpu 1 (the kernel kills at "
            "the hard limit, a second after SIGXCPU)\n");
  EXPECT_EQ(line(SIGSEGV),
            "sbox: killed by SIGSEGV; --rlimit-as 100 MiB (an allocation it "
            "refused may be why)\n");
  EXPECT_EQ(line(SIGTERM), "");
  options.rlimits.clear();
  EXPECT_EQ(line(SIGSEGV), "");
  EXPECT_EQ(line(SIGXCPU),
            "sbox: killed by SIGXCPU: the CPU time limit ran out (inherited by "
            "sbox)\n");
}

}  // namespace
}  // namespace sbox
