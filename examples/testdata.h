#ifndef SBOX_EXAMPLES_TESTDATA_H_
#define SBOX_EXAMPLES_TESTDATA_H_

#include <string>

#include "absl/strings/string_view.h"

namespace sbox::examples {

// The bytes of examples/testdata/<name> (written by make_testdata.py), from the test's runfiles.
// Fails the test, and returns "", when the file cannot be read.
std::string ReadTestdata(absl::string_view name);

// <r a0="" a1="" ... />: one element with `count` attributes. libxml2 checks each attribute's
// name against every earlier one, so parsing takes time quadratic in `count`: 50,000 take about
// 4 s of CPU, in 500 KB and 22 MB of memory.
std::string ManyAttributesXml(int count);

}  // namespace sbox::examples

#endif  // SBOX_EXAMPLES_TESTDATA_H_
