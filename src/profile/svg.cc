#include "profile/svg.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/strings.h"

namespace stackhouse::profile {
namespace {

constexpr int kMargin = 10;                      // left and right margin, px
constexpr int kTop = 36;                         // title and controls above the frames
constexpr int kBottom = 34;                      // details line below the frames
constexpr int kFontSize = 12;                    // frame labels; the script assumes the same
constexpr double kCharWidth = kFontSize * 0.59;  // estimated average glyph width

constexpr char kStyle[] =
    "<style>text{font-family:Verdana,sans-serif;font-size:12px;fill:#000}"
    "#title{font-size:17px;text-anchor:middle}"
    ".ctl{cursor:pointer;fill:#404040}.ctl:hover{fill:#b00}"
    ".hide{display:none}.frame{cursor:pointer}"
    ".frame:hover rect{stroke:#000;stroke-width:.5}.par rect{opacity:.5}</style>\n";

constexpr char kScript[] =
#include "profile/svg_script.inc"
    ;

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

// Two decimals, locale-independent.
void AppendFixed(std::string* out, double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 2);
  out->append(buf, r.ptr);
}

// A warm colour (red to yellow) from a hash of the name: the same name gets
// the same colour in every graph.
void AppendColor(std::string* out, std::string_view name) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : name) {
    h ^= c;
    h *= 16777619u;
  }
  h ^= h >> 13;
  h *= 0x5bd1e995u;
  h ^= h >> 15;
  out->append("rgb(");
  AppendInt(out, 205 + h % 51);  // red 205..255
  h /= 51;
  out->push_back(',');
  AppendInt(out, h % 231);  // green 0..230: red through orange to yellow
  h /= 231;
  out->push_back(',');
  AppendInt(out, h % 56);  // a little blue
  out->push_back(')');
}

// The label as it fits into `width` px: whole, or cut (at a UTF-8 character
// boundary) with "..", or nothing when fewer than 3 characters fit.
void AppendLabel(std::string* out, std::string_view s, double width) {
  int64_t fit = static_cast<int64_t>(std::floor((width - 6) / kCharWidth));
  if (fit < 3) return;
  int64_t chars = 0;
  size_t cut = s.size();
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (chars == fit - 2) cut = i;
    if (++chars > fit) break;
  }
  if (chars <= fit) {
    AppendXmlEscaped(out, s);
  } else {
    AppendXmlEscaped(out, s.substr(0, cut));
    out->append("..");
  }
}

void AppendPercent(std::string* out, int64_t v, int64_t total) {
  AppendFixed(out, total > 0 ? 100.0 * static_cast<double>(v) / static_cast<double>(total) : 0);
  out->push_back('%');
}

struct Frame {
  uint32_t node;
  uint32_t depth;
  int64_t x;  // in value units from the left edge
};

}  // namespace

std::string WriteFlameGraphSvg(const FlameTree& tree, const SvgOptions& options) {
  const std::vector<FlameTree::Node>& nodes = tree.nodes();
  const int width = std::max(options.width, 2 * kMargin + 1);
  const int fh = std::max(options.frame_height, 2);
  const double full = width - 2 * kMargin;
  const int64_t total = tree.total();
  const double scale = total > 0 ? full / static_cast<double>(total) : 0;

  // Bytewise rank of each name: sorting siblings by rank gives
  // SortedChildren's order without comparing strings per node.
  std::vector<uint32_t> rank(tree.num_names());
  {
    std::vector<uint32_t> ids(tree.num_names());
    for (uint32_t i = 0; i < ids.size(); ++i) ids[i] = i;
    std::sort(ids.begin(), ids.end(),
              [&](uint32_t a, uint32_t b) { return tree.name(a) < tree.name(b); });
    for (uint32_t r = 0; r < ids.size(); ++r) rank[ids[r]] = r;
  }

  // Layout: depth-first pre-order with an explicit stack, leaving out frames
  // narrower than min_width_px (the root is always drawn).
  std::vector<Frame> frames;
  std::vector<Frame> stack{{0, 0, 0}};
  std::vector<Frame> kids;
  uint32_t max_depth = 0;
  while (!stack.empty()) {
    const Frame f = stack.back();
    stack.pop_back();
    frames.push_back(f);
    max_depth = std::max(max_depth, f.depth);
    const FlameTree::Node& n = nodes[f.node];
    kids.clear();
    for (uint32_t c = n.first_child; c != FlameTree::kNone; c = nodes[c].next_sibling) {
      kids.push_back({c, f.depth + 1, 0});
    }
    std::sort(kids.begin(), kids.end(), [&](const Frame& a, const Frame& b) {
      return rank[nodes[a.node].name] < rank[nodes[b.node].name];
    });
    int64_t x = f.x;
    for (Frame& k : kids) {
      k.x = x;
      x += nodes[k.node].total;
    }
    // Pushed in reverse so that they pop in order.
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) {
      if (static_cast<double>(nodes[it->node].total) * scale >= options.min_width_px) {
        stack.push_back(*it);
      }
    }
  }

  const int64_t height = kTop + static_cast<int64_t>(max_depth + 1) * fh + kBottom;
  std::string out;
  out.reserve(4096 + sizeof(kScript) + frames.size() * 300);
  out.append(
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<svg version=\"1.1\" "
      "width=\"");
  AppendInt(&out, width);
  out.append("\" height=\"");
  AppendInt(&out, height);
  out.append("\" viewBox=\"0 0 ");
  AppendInt(&out, width);
  out.push_back(' ');
  AppendInt(&out, height);
  out.append("\" xmlns=\"http://www.w3.org/2000/svg\" data-unit=\"");
  AppendXmlEscaped(&out, options.unit);
  out.append("\">\n");
  out.append(kStyle);
  out.append("<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#f8f8f4\"/>\n");
  out.append("<text id=\"title\" x=\"");
  AppendInt(&out, width / 2);
  out.append("\" y=\"24\">");
  AppendXmlEscaped(&out, options.title);
  out.append("</text>\n<text id=\"unzoom\" class=\"ctl hide\" x=\"");
  AppendInt(&out, kMargin);
  out.append("\" y=\"24\">Reset zoom</text>\n<text id=\"search\" class=\"ctl\" x=\"");
  AppendInt(&out, width - kMargin);
  out.append("\" y=\"24\" text-anchor=\"end\">Search</text>\n<text id=\"details\" x=\"");
  AppendInt(&out, kMargin);
  out.append("\" y=\"");
  AppendInt(&out, height - 12);
  out.append("\"> </text>\n<text id=\"matched\" x=\"");
  AppendInt(&out, width - kMargin);
  out.append("\" y=\"");
  AppendInt(&out, height - 12);
  out.append("\" text-anchor=\"end\"></text>\n<g id=\"frames\">\n");

  for (const Frame& f : frames) {
    const FlameTree::Node& n = nodes[f.node];
    const std::string& name = tree.node_name(f.node);
    const double x = kMargin + static_cast<double>(f.x) * scale;
    const double w = f.node == 0 ? full : static_cast<double>(n.total) * scale;
    const int64_t y = kTop + static_cast<int64_t>(max_depth - f.depth) * fh;
    out.append("<g class=\"frame\" data-n=\"");
    AppendXmlEscaped(&out, name);
    out.append("\" data-s=\"");
    AppendInt(&out, n.self);
    out.append("\" data-t=\"");
    AppendInt(&out, n.total);
    out.append("\"><title>");
    AppendXmlEscaped(&out, name);
    out.append(" \xE2\x80\x94 self ");  // U+2014 em dash
    out.append(FormatValue(n.self, options.unit));
    out.append(", total ");
    out.append(FormatValue(n.total, options.unit));
    out.append(" (");
    AppendPercent(&out, n.total, total);
    out.append(")</title><rect x=\"");
    AppendFixed(&out, x);
    out.append("\" y=\"");
    AppendInt(&out, y);
    out.append("\" width=\"");
    AppendFixed(&out, w);
    out.append("\" height=\"");
    AppendInt(&out, fh - 1);
    out.append("\" fill=\"");
    AppendColor(&out, name);
    out.append("\"/><text x=\"");
    AppendFixed(&out, x + 3);
    out.append("\" y=\"");
    AppendInt(&out, y + fh - 5);
    out.append("\">");
    if (f.node == 0) {
      AppendLabel(&out, StrCat(name, " (", FormatValue(total, options.unit), ")"), w);
    } else {
      AppendLabel(&out, name, w);
    }
    out.append("</text></g>\n");
  }
  out.append("</g>\n<script type=\"text/ecmascript\"><![CDATA[");
  out.append(kScript);
  out.append("]]></script>\n</svg>\n");
  return out;
}

}  // namespace stackhouse::profile
