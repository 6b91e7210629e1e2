#include "examples/xml_summary.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <climits>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace sbox::examples {
namespace {

struct FreeContext {
  void operator()(xmlParserCtxt* context) const { xmlFreeParserCtxt(context); }
};
struct FreeDocument {
  void operator()(xmlDoc* document) const { xmlFreeDoc(document); }
};

// Walks the tree without recursion: a document's depth is the file's to choose.
uint64_t CountElements(const xmlNode* root) {
  uint64_t count = 0;
  const xmlNode* node = root;
  while (node != nullptr) {
    if (node->type == XML_ELEMENT_NODE) ++count;
    if (node->children != nullptr && node->type == XML_ELEMENT_NODE) {
      node = node->children;
      continue;
    }
    while (node != nullptr && node != root && node->next == nullptr) node = node->parent;
    node = (node == nullptr || node == root) ? nullptr : node->next;
  }
  return count;
}

}  // namespace

absl::StatusOr<XmlSummary> SummarizeXml(absl::string_view bytes) {
  if (bytes.size() > INT_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "XML input: ", bytes.size(), " bytes, more than libxml2 takes (", INT_MAX, ")"));
  }
  std::unique_ptr<xmlParserCtxt, FreeContext> context(xmlNewParserCtxt());
  if (context == nullptr) return absl::ResourceExhaustedError("XML: no memory for a parser");
  // NOERROR, NOWARNING: libxml2 would print them to stderr; the error comes back as the Status.
  std::unique_ptr<xmlDoc, FreeDocument> document(
      xmlCtxtReadMemory(context.get(), bytes.data(), static_cast<int>(bytes.size()), "input.xml",
                        nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (document == nullptr) {
    const xmlError* error = xmlCtxtGetLastError(context.get());
    if (error == nullptr) return absl::InvalidArgumentError("XML: not parsed, no error given");
    const std::string text =
        absl::StrCat("XML line ", error->line, ": ",
                     absl::StripTrailingAsciiWhitespace(error->message ? error->message : ""));
    // A sandbox reports ResourceExhausted as its memory limit.
    if (error->code == XML_ERR_NO_MEMORY) return absl::ResourceExhaustedError(text);
    return absl::InvalidArgumentError(text);
  }
  const xmlNode* root = xmlDocGetRootElement(document.get());
  if (root == nullptr) return absl::InvalidArgumentError("XML: no root element");
  return XmlSummary{reinterpret_cast<const char*>(root->name), CountElements(root)};
}

std::string FormatXmlSummary(const XmlSummary& summary) {
  return absl::StrCat("root=", summary.root_name, " elements=", summary.element_count);
}

}  // namespace sbox::examples
