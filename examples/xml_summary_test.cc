#include "examples/xml_summary.h"

#include "absl/status/status.h"
#include "examples/testdata.h"
#include "gtest/gtest.h"

namespace sbox::examples {
namespace {

TEST(XmlSummaryTest, GoodXml) {
  absl::StatusOr<XmlSummary> summary = SummarizeXml(ReadTestdata("good.xml"));
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->root_name, "catalog");
  EXPECT_EQ(summary->element_count, 8u);  // catalog, 2 x (book, title, author), note
  EXPECT_EQ(FormatXmlSummary(*summary), "root=catalog elements=8");
}

TEST(XmlSummaryTest, ErrorNamesTheLine) {
  EXPECT_EQ(SummarizeXml("<a/>\n<b/>").status(),
            absl::InvalidArgumentError("XML line 2: Extra content at the end of the document"));
}

TEST(XmlSummaryTest, EmptyInput) {
  EXPECT_EQ(SummarizeXml("").status(), absl::InvalidArgumentError("XML line 1: Document is empty"));
}

// Entities stay references: the count is of the document's own elements, not of the ones an
// entity would bring in.
TEST(XmlSummaryTest, EntitiesAreNotSubstituted) {
  absl::StatusOr<XmlSummary> summary =
      SummarizeXml("<!DOCTYPE r [<!ENTITY e \"<x/><x/><x/>\">]><r>&e;&e;</r>");
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->element_count, 1u);
}

// The slow input is well-formed: what makes it slow is its size alone.
TEST(XmlSummaryTest, ManyAttributesIsWellFormed) {
  absl::StatusOr<XmlSummary> summary = SummarizeXml(ManyAttributesXml(1000));
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->root_name, "r");
  EXPECT_EQ(summary->element_count, 1u);
}

}  // namespace
}  // namespace sbox::examples
