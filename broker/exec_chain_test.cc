#include "broker/exec_chain.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sbox {
namespace {

using Chain = std::vector<std::string>;

class ExecChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/exec_chain_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { EXPECT_EQ(system(("rm -rf " + dir_).c_str()), 0); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    chmod(path.c_str(), 0755);
    return path;
  }

  std::string dir_;
};

// Debian's loader, as every dynamically linked program on this machine names it.
constexpr char kLoader[] = "/lib64/ld-linux-x86-64.so.2";

TEST_F(ExecChainTest, AnElfProgramBringsItsLoader) {
  absl::StatusOr<Chain> chain = ExecChain("/bin/sh", "/");
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(*chain, (Chain{"/bin/sh", kLoader}));
}

TEST_F(ExecChainTest, AScriptBringsItsInterpreterAndThatOnesLoader) {
  const std::string script = Write("s", "#!/bin/sh -e\necho hi\n");
  absl::StatusOr<Chain> chain = ExecChain(script, "/");
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(*chain, (Chain{script, "/bin/sh", kLoader}));
}

TEST_F(ExecChainTest, AnEnvShebangNamesEnvNotThePathSearch) {
  const std::string script = Write("p", "#!  /usr/bin/env python3\nprint(1)\n");
  absl::StatusOr<Chain> chain = ExecChain(script, "/");
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(*chain, (Chain{script, "/usr/bin/env", kLoader}));
}

TEST_F(ExecChainTest, ARelativeProgramStartsAtTheWorkingDirectory) {
  const std::string script = Write("rel", "#!/bin/sh\n");
  absl::StatusOr<Chain> chain = ExecChain("rel", dir_);
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(chain->front(), dir_ + "/rel");
}

TEST_F(ExecChainTest, ADataFileEndsTheChain) {
  const std::string data = Write("d", "just text\n");
  absl::StatusOr<Chain> chain = ExecChain(data, "/");
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(*chain, (Chain{data}));
}

TEST_F(ExecChainTest, ErrorsNameTheFile) {
  absl::StatusOr<Chain> missing = ExecChain(dir_ + "/absent", "/");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(dir_ + "/absent"), std::string::npos);

  const std::string broken = Write("b", "#!\n");
  absl::StatusOr<Chain> no_interpreter = ExecChain(broken, "/");
  EXPECT_EQ(no_interpreter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_interpreter.status().message().find(broken), std::string::npos);

  const std::string dangling = Write("g", "#!" + dir_ + "/nowhere\n");
  absl::StatusOr<Chain> gone = ExecChain(dangling, "/");
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(gone.status().message().find(dir_ + "/nowhere"), std::string::npos);
}

}  // namespace
}  // namespace sbox
