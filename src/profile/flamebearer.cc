#include "profile/flamebearer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>
#include <vector>

#include "base/strings.h"

namespace stackhouse::profile {
namespace {

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  AppendJsonEscaped(out, s);
  out->push_back('"');
}

// Seconds per unit of a time unit, 0 if `unit` is not one.
double SecondsPerUnit(std::string_view unit) {
  if (unit == "nanoseconds" || unit == "ns") return 1e-9;
  if (unit == "microseconds" || unit == "us") return 1e-6;
  if (unit == "milliseconds" || unit == "ms") return 1e-3;
  if (unit == "seconds" || unit == "s") return 1;
  return 0;
}

}  // namespace

FlamebearerMetadata FlamebearerMetadataFor(const Profile& p, int type_index) {
  FlamebearerMetadata m;
  if (type_index < 0 || static_cast<size_t>(type_index) >= p.num_types()) return m;
  std::string_view type = p.str(p.sample_types[type_index].type);
  std::string_view unit = p.str(p.sample_types[type_index].unit);
  m.name = std::string(type);
  auto has = [&](std::string_view s) { return type.find(s) != std::string_view::npos; };
  const bool lockish =
      has("delay") || has("lock") || has("mutex") || has("block") || has("contention");
  const double seconds = SecondsPerUnit(unit);
  if (unit == "nanoseconds" && lockish) {
    m.units = "lock_nanoseconds";
  } else if (seconds > 0 && !lockish) {
    // cpu, wall, itimer...: Pyroscope shows value / sampleRate as seconds.
    m.units = "samples";
    m.sample_rate = std::llround(1 / seconds);
  } else if (has("contention") || (lockish && (unit == "count" || unit.empty()))) {
    m.units = "lock_samples";
  } else if (unit == "bytes") {
    m.units = "bytes";
  } else if (has("objects") ||
             ((type.starts_with("alloc") || type.starts_with("inuse")) && unit == "count")) {
    m.units = "objects";
  } else if (has("goroutine")) {
    m.units = "goroutines";
  } else if (type == "samples" || unit == "count") {
    m.units = "samples";
    double period_seconds = SecondsPerUnit(p.str(p.period_type.unit));
    if (period_seconds > 0 && p.period > 0) {
      m.sample_rate = std::max<int64_t>(1, std::llround(1 / (period_seconds * p.period)));
    }
  }
  return m;
}

std::string WriteFlamebearer(const FlameTree& tree, const FlamebearerMetadata& meta) {
  const std::vector<FlameTree::Node>& nodes = tree.nodes();
  const size_t num_names = tree.num_names();

  // names[]: the tree's names that some node uses, in name id order (so
  // "total", id 0, stays first).
  std::vector<uint32_t> out_index(num_names, FlameTree::kNone);
  for (const FlameTree::Node& n : nodes) out_index[n.name] = 0;
  std::vector<uint32_t> by_name;  // used name ids
  size_t name_bytes = 0;
  for (uint32_t id = 0; id < num_names; ++id) {
    if (out_index[id] == FlameTree::kNone) continue;
    out_index[id] = static_cast<uint32_t>(by_name.size());
    by_name.push_back(id);
    name_bytes += tree.name(id).size() + 3;
  }

  // Bytewise rank of each used name: sorting siblings by rank gives
  // SortedChildren's order without comparing strings per node.
  std::vector<uint32_t> rank(num_names, 0);
  {
    std::vector<uint32_t> sorted = by_name;
    std::sort(sorted.begin(), sorted.end(),
              [&](uint32_t a, uint32_t b) { return tree.name(a) < tree.name(b); });
    for (uint32_t r = 0; r < sorted.size(); ++r) rank[sorted[r]] = r;
  }

  std::string out;
  // About 4 short numbers per bar; a guess that avoids most regrowth.
  out.reserve(256 + name_bytes + nodes.size() * 24 + meta.name.size() + meta.units.size() +
              meta.spy_name.size());
  out.append(R"({"version":1,"flamebearer":{"names":[)");
  for (size_t i = 0; i < by_name.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(&out, tree.name(by_name[i]));
  }
  out.append(R"(],"levels":[)");

  // Breadth first, one level at a time. A level's bars are in x order, and
  // each parent's children are appended in sorted order from the parent's x,
  // so the next level comes out in x order too.
  struct Bar {
    uint32_t node;
    int64_t x;
  };
  std::vector<Bar> level{{0, 0}};
  std::vector<Bar> next;
  bool first_level = true;
  while (!level.empty()) {
    out.append(first_level ? "[" : ",[");
    first_level = false;
    next.clear();
    int64_t prev_end = 0;
    for (size_t i = 0; i < level.size(); ++i) {
      const Bar bar = level[i];
      const FlameTree::Node& n = nodes[bar.node];
      if (i > 0) out.push_back(',');
      AppendInt(&out, bar.x - prev_end);
      out.push_back(',');
      AppendInt(&out, n.total);
      out.push_back(',');
      AppendInt(&out, n.self);
      out.push_back(',');
      AppendInt(&out, out_index[n.name]);
      prev_end = bar.x + n.total;

      size_t begin = next.size();
      for (uint32_t c = n.first_child; c != FlameTree::kNone; c = nodes[c].next_sibling) {
        next.push_back({c, 0});
      }
      if (next.size() - begin > 1) {
        std::sort(next.begin() + begin, next.end(), [&](const Bar& a, const Bar& b) {
          return rank[nodes[a.node].name] < rank[nodes[b.node].name];
        });
      }
      int64_t x = bar.x;
      for (size_t k = begin; k < next.size(); ++k) {
        next[k].x = x;
        x += nodes[next[k].node].total;
      }
    }
    out.push_back(']');
    level.swap(next);
  }

  out.append(R"(],"numTicks":)");
  AppendInt(&out, tree.total());
  out.append(R"(,"maxSelf":)");
  AppendInt(&out, tree.MaxSelf());
  out.append(R"(},"metadata":{"format":"single","spyName":)");
  AppendJsonString(&out, meta.spy_name.empty() ? std::string_view("unknown") : meta.spy_name);
  out.append(R"(,"sampleRate":)");
  AppendInt(&out, meta.sample_rate);
  out.append(R"(,"units":)");
  AppendJsonString(&out, meta.units);
  out.append(R"(,"name":)");
  AppendJsonString(&out, meta.name);
  out.append("}}");
  return out;
}

}  // namespace stackhouse::profile
