#include "profile/svg.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/strings.h"
#include "base/testing/testing.h"
#include "profile/flame_tree.h"
#include "profile/pprof.h"

namespace stackhouse::profile {
namespace {

using stackhouse::testing::OwnTestdata;
using stackhouse::testing::ReadOrDie;
using stackhouse::testing::SharedTestdata;

void Add(FlameTree* tree, std::vector<std::string> stack, int64_t value) {
  std::vector<uint32_t> ids;
  for (const std::string& s : stack) ids.push_back(tree->NameId(s));
  tree->AddStack(ids, value);
}

FlameTree GoCpuTree() {
  auto p = DecodePprof(ReadOrDie(SharedTestdata("go_cpu.pb.gz")));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return FlameTree();
  return FlameTree::FromProfile(*p, p->FindSampleType("cpu"));
}

// Checks that tags nest and close, that '&' only starts the entities we
// write, and skips the XML declaration and CDATA. Returns "" or the problem.
std::string CheckWellFormed(std::string_view s) {
  std::vector<std::string_view> open;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '&') {
      bool ok = false;
      for (std::string_view e : {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"}) {
        ok = ok || s.substr(i, e.size()) == e;
      }
      if (!ok) return StrCat("bare & at ", i);
      ++i;
      continue;
    }
    if (s[i] != '<') {
      ++i;
      continue;
    }
    if (s.substr(i, 9) == "<![CDATA[") {
      size_t end = s.find("]]>", i);
      if (end == std::string_view::npos) return "unterminated CDATA";
      i = end + 3;
      continue;
    }
    if (s.substr(i, 2) == "<?") {
      if (i != 0) return "XML declaration not at the start";
      i = s.find("?>", i) + 2;
      continue;
    }
    size_t end = s.find('>', i);
    if (end == std::string_view::npos) return StrCat("unterminated tag at ", i);
    std::string_view tag = s.substr(i + 1, end - i - 1);
    if (tag.find('<') != std::string_view::npos) return StrCat("'<' inside tag at ", i);
    if (tag.starts_with('/')) {
      if (open.empty() || open.back() != tag.substr(1)) return StrCat("bad </", tag, "> at ", i);
      open.pop_back();
    } else if (!tag.ends_with('/')) {
      open.push_back(tag.substr(0, tag.find(' ')));
    }
    i = end + 1;
  }
  return open.empty() ? "" : StrCat("unclosed <", open.back(), ">");
}

std::vector<std::string_view> Frames(std::string_view svg) {
  std::vector<std::string_view> out;
  for (size_t i = svg.find("<g class=\"frame\""); i != std::string_view::npos;
       i = svg.find("<g class=\"frame\"", i + 1)) {
    size_t end = svg.find("</g>", i);
    out.push_back(svg.substr(i, end == std::string_view::npos ? end : end + 4 - i));
  }
  return out;
}

// The value of attribute `name` of the first element in `s` that has it.
std::string_view Attr(std::string_view s, std::string_view name) {
  std::string key = StrCat(" ", name, "=\"");
  size_t i = s.find(key);
  if (i == std::string_view::npos) return {};
  i += key.size();
  return s.substr(i, s.find('"', i) - i);
}

std::string_view Between(std::string_view s, std::string_view open, std::string_view close) {
  size_t i = s.find(open);
  if (i == std::string_view::npos) return {};
  i = s.find('>', i) + 1;
  return s.substr(i, s.find(close, i) - i);
}

size_t CountWider(const FlameTree& tree, const SvgOptions& o) {
  double scale = (o.width - 20.0) / static_cast<double>(tree.total());
  size_t n = 0;
  for (const FlameTree::Node& node : tree.nodes()) {
    if (static_cast<double>(node.total) * scale >= o.min_width_px) ++n;
  }
  return n;
}

TEST(SvgTest, GoCpuStructure) {
  FlameTree tree = GoCpuTree();
  ASSERT_EQ(tree.total(), 5140000000);
  SvgOptions o;
  o.unit = "nanoseconds";
  for (double min_width : {0.1, 5.0}) {
    o.min_width_px = min_width;
    std::string svg = WriteFlameGraphSvg(tree, o);
    EXPECT_TRUE(
        svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<svg "));
    EXPECT_TRUE(svg.ends_with("</svg>\n"));
    EXPECT_EQ(CheckWellFormed(svg), "");
    for (const char* id : {"title", "details", "matched", "unzoom", "search"}) {
      EXPECT_NE(svg.find(StrCat("id=\"", id, "\"")), std::string::npos) << id;
    }
    EXPECT_NE(svg.find("<script type=\"text/ecmascript\"><![CDATA["), std::string::npos);
    EXPECT_EQ(svg.find("http://www.w3.org/1999/xlink"), std::string::npos);  // no links out
    EXPECT_EQ(svg.find("href"), std::string::npos);

    std::vector<std::string_view> frames = Frames(svg);
    EXPECT_EQ(frames.size(), CountWider(tree, o)) << "min_width " << min_width;
    if (min_width == 0.1) {
      EXPECT_EQ(frames.size(), tree.nodes().size());  // 1 sample is ~2.3 px
    } else {
      EXPECT_LT(frames.size(), tree.nodes().size());
    }
    for (std::string_view f : frames) {
      EXPECT_NE(f.find("<title>"), std::string_view::npos) << f;
      EXPECT_NE(f.find("<rect "), std::string_view::npos) << f;
      EXPECT_NE(f.find("<text "), std::string_view::npos) << f;
      EXPECT_FALSE(Attr(f, "data-n").empty()) << f;
      EXPECT_FALSE(Attr(f, "data-s").empty()) << f;
      EXPECT_FALSE(Attr(f, "data-t").empty()) << f;
      EXPECT_GE(std::stod(std::string(Attr(f, "width"))), min_width) << f;
      // Labels fit: at most (width - 6) / 7.08 characters.
      std::string_view text = Between(f, "<text ", "</text>");
      if (!text.empty() && text.find('&') == std::string_view::npos) {
        EXPECT_LE(text.size() * 7.08, std::stod(std::string(Attr(f, "width"))) - 6 + 1e-9) << f;
      }
      // Warm colours.
      int r = 0, g = 0, b = 0;
      ASSERT_EQ(std::sscanf(std::string(Attr(f, "fill")).c_str(), "rgb(%d,%d,%d)", &r, &g, &b), 3);
      EXPECT_TRUE(r >= 205 && r <= 255 && g >= 0 && g <= 230 && b >= 0 && b <= 55) << f;
    }
    // The root comes first, spans the whole width and says "total" with the total.
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(Attr(frames[0], "data-n"), "total");
    EXPECT_EQ(Attr(frames[0], "data-t"), "5140000000");
    EXPECT_EQ(Attr(frames[0], "width"), "1180.00");
    EXPECT_EQ(Between(frames[0], "<text ", "</text>"), "total (5.14 s)");
    EXPECT_EQ(Between(frames[0], "<title", "</title>"),
              "total \xE2\x80\x94 self 0 ns, total 5.14 s (100.00%)");
  }
}

TEST(SvgTest, Deterministic) {
  FlameTree tree = GoCpuTree();
  SvgOptions o;
  o.unit = "nanoseconds";
  EXPECT_EQ(WriteFlameGraphSvg(tree, o), WriteFlameGraphSvg(GoCpuTree(), o));
}

TEST(SvgTest, EscapesNames) {
  FlameTree tree;
  Add(&tree, {"operator<&\">'()", "x"}, 5);
  SvgOptions o;
  o.title = "a < b & \"c\"";
  o.unit = "by\"tes";
  std::string svg = WriteFlameGraphSvg(tree, o);
  EXPECT_EQ(CheckWellFormed(svg), "");
  EXPECT_NE(svg.find("data-n=\"operator&lt;&amp;&quot;&gt;&#39;()\""), std::string::npos);
  EXPECT_NE(svg.find("<title>operator&lt;&amp;&quot;&gt;&#39;() \xE2\x80\x94"), std::string::npos);
  EXPECT_NE(svg.find(">operator&lt;&amp;&quot;&gt;&#39;()</text>"), std::string::npos);
  EXPECT_NE(svg.find(">a &lt; b &amp; &quot;c&quot;</text>"), std::string::npos);
  EXPECT_NE(svg.find("data-unit=\"by&quot;tes\""), std::string::npos);
  EXPECT_EQ(svg.find("operator<"), std::string::npos);
}

TEST(SvgTest, LayoutAndLabels) {
  FlameTree tree;
  Add(&tree, {"main", "a_function_with_a_rather_long_name"}, 3);
  Add(&tree, {"main", "b"}, 99);
  Add(&tree, {"main", "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"}, 3);
  SvgOptions o;
  o.width = 120;  // 100 px for 105 units
  o.unit = "count";
  o.min_width_px = 0.5;
  std::string svg = WriteFlameGraphSvg(tree, o);
  std::vector<std::string_view> f = Frames(svg);
  ASSERT_EQ(f.size(), 5u);
  // Pre-order, children sorted bytewise: total, main, a..., b, é...
  EXPECT_EQ(Attr(f[1], "data-n"), "main");
  EXPECT_EQ(Attr(f[2], "data-n"), "a_function_with_a_rather_long_name");
  EXPECT_EQ(Attr(f[3], "data-n"), "b");
  // Root at the bottom, one level up per depth.
  EXPECT_EQ(Attr(f[0], "y"), "68");
  EXPECT_EQ(Attr(f[1], "y"), "52");
  EXPECT_EQ(Attr(f[2], "y"), "36");
  // x: a at 10, b right after it (1 unit = 100/105 px), é after b.
  EXPECT_EQ(Attr(f[2], "x"), "10.00");
  EXPECT_EQ(Attr(f[3], "x"), "12.86");
  EXPECT_EQ(Attr(f[4], "x"), "107.14");
  // Labels: too narrow -> empty; cut with ".." (at a character boundary).
  EXPECT_EQ(Between(f[2], "<text ", "</text>"), "");
  EXPECT_EQ(Between(f[3], "<text ", "</text>"), "b");
  EXPECT_EQ(Between(f[0], "<text ", "</text>"), "total (105)");
  EXPECT_EQ(Between(f[4], "<title", "</title>"),
            "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9 \xE2\x80\x94 self 3, total 3 "
            "(2.86%)");
  o.width = 1200;
  f = Frames(svg = WriteFlameGraphSvg(tree, o));
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(Between(f[2], "<text ", "</text>"), "a..");  // 33.71 px: 3 characters
  EXPECT_EQ(Between(f[4], "<text ", "</text>"), "\xC3\xA9..");
}

TEST(SvgTest, DeepStackAndEmptyTree) {
  FlameTree tree;
  std::vector<uint32_t> stack;
  for (int i = 0; i < 100000; ++i) stack.push_back(tree.NameId(i % 3 ? "f" : "g"));
  tree.AddStack(stack, 1);
  std::string svg = WriteFlameGraphSvg(tree, {});
  EXPECT_EQ(Frames(svg).size(), 100001u);
  EXPECT_EQ(CheckWellFormed(svg), "");

  svg = WriteFlameGraphSvg(FlameTree(), {});
  EXPECT_EQ(CheckWellFormed(svg), "");
  ASSERT_EQ(Frames(svg).size(), 1u);  // just the root
  EXPECT_EQ(Between(Frames(svg)[0], "<text ", "</text>"), "total (0)");
}

// Golden for a small hand-built tree. To regenerate after an intended change
// (of the layout or of svg_script.inc), run this test with
// STACKHOUSE_UPDATE_GOLDEN=1 (it rewrites testdata/golden/flamegraph_small.svg),
// then review the diff and open the file in a browser.
TEST(SvgTest, SmallGolden) {
  FlameTree tree;
  Add(&tree, {"main", "parse", "tokenize"}, 120000000);
  Add(&tree, {"main", "parse"}, 30000000);
  Add(&tree, {"main", "hash<std::string>"}, 45000000);
  Add(&tree, {"main", "parse", "hash<std::string>"}, 5000000);
  Add(&tree, {"main"}, 10000000);
  Add(&tree, {"runtime.gc", "mark"}, 20000000);
  Add(&tree, {"runtime.gc", "sweep"}, 100);  // below min_width_px: left out
  SvgOptions o;
  o.title = "Small & simple";
  o.unit = "nanoseconds";
  std::string got = WriteFlameGraphSvg(tree, o);
  const std::string path = OwnTestdata("golden/flamegraph_small.svg");
  const char* update = std::getenv("STACKHOUSE_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << got;
  }
  EXPECT_EQ(got, ReadOrDie(path)) << "rerun with STACKHOUSE_UPDATE_GOLDEN=1 to update " << path;
}

}  // namespace
}  // namespace stackhouse::profile
