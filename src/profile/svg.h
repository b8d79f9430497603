// Interactive, self-contained SVG flame graph (in the manner of Brendan
// Gregg's flamegraph.pl, with our own layout and script).
//
// The root is at the bottom; one rectangle per FlameTree node, its width
// proportional to the node's total (the root spans width - 20 px: 10 px
// margins); children left to right in FlameTree::SortedChildren order
// starting at the parent's left edge. Labels are cut to the rectangle's
// width; the root's says "total (<total>)". Nodes narrower than
// min_width_px are left out (with their descendants; their parents stay).
// Colours are warm (red/orange/yellow) and derived from a hash of the name,
// so a function has the same colour in every graph.
//
// Each frame is
//   <g class="frame" data-n="name" data-s="self" data-t="total">
//     <title>name — self X, total Y (Z%)</title><rect .../><text ...>label</text></g>
// in depth-first pre-order. The embedded script (no external resources) uses
// only those attributes: hover shows the details line, click zooms into a
// frame (ancestors stay, siblings hide; "Reset zoom" undoes it), "Search" or
// Ctrl-F highlights frames matching a regex and shows "Matched: N%" (nested
// matches counted once); Esc clears the search.
//
// Pure function; thread-safe.
#ifndef STACKHOUSE_PROFILE_SVG_H_
#define STACKHOUSE_PROFILE_SVG_H_

#include <string>

#include "profile/flame_tree.h"

namespace stackhouse::profile {

struct SvgOptions {
  std::string title = "Flame Graph";
  // Unit of the sample values, e.g. "nanoseconds", "bytes", "count": values
  // show as ms/s, KiB/MiB or with thousands separators.
  std::string unit;
  int width = 1200;           // image width in pixels
  int frame_height = 16;      // pixels per stack level
  double min_width_px = 0.1;  // frames narrower than this are left out
};

std::string WriteFlameGraphSvg(const FlameTree& tree, const SvgOptions& options);

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_SVG_H_
