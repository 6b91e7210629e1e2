#ifndef SBOX_EXAMPLES_XML_SUMMARY_H_
#define SBOX_EXAMPLES_XML_SUMMARY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sbox::examples {

struct XmlSummary {
  std::string root_name;       // the root element's local name
  uint64_t element_count = 0;  // elements in the document, the root included
};

// Parses the XML document in `bytes`, which may be hostile, with libxml2: no network
// (XML_PARSE_NONET), and entities left as references rather than substituted, so that neither
// an external entity nor an entity expansion is read. Errors are InvalidArgument with libxml2's
// last message and its line, e.g. "XML line 2: Extra content at the end of the document";
// ResourceExhausted when libxml2 runs out of memory, e.g. "XML line 1: Memory allocation failed".
absl::StatusOr<XmlSummary> SummarizeXml(absl::string_view bytes);

// "root=catalog elements=8"
std::string FormatXmlSummary(const XmlSummary& summary);

}  // namespace sbox::examples

#endif  // SBOX_EXAMPLES_XML_SUMMARY_H_
