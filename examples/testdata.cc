#include "examples/testdata.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace sbox::examples {

std::string ReadTestdata(absl::string_view name) {
  const std::string path = absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                                        std::getenv("TEST_WORKSPACE"), "/examples/testdata/", name);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  EXPECT_TRUE(in.is_open()) << "cannot read " << path;
  return bytes.str();
}

std::string ManyAttributesXml(int count) {
  std::string xml = "<r";
  for (int i = 0; i < count; ++i) absl::StrAppend(&xml, " a", i, "=\"\"");
  xml += "/>";
  return xml;
}

}  // namespace sbox::examples
