#include "profile/flamebearer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string_view>
#include <unordered_map>
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

// Bytewise rank of each name id of a tree.
std::vector<uint32_t> NameRanks(const FlameTree& t) {
  std::vector<uint32_t> ids(t.num_names());
  std::iota(ids.begin(), ids.end(), 0u);
  std::sort(ids.begin(), ids.end(), [&](uint32_t a, uint32_t b) { return t.name(a) < t.name(b); });
  std::vector<uint32_t> rank(ids.size());
  for (uint32_t r = 0; r < ids.size(); ++r) rank[ids[r]] = r;
  return rank;
}

// The children of node i (none if i is kNone) in name order; siblings of the
// same name in node order.
void SortedChildren(const FlameTree& t, uint32_t i, const std::vector<uint32_t>& rank,
                    std::vector<uint32_t>* kids) {
  kids->clear();
  if (i == FlameTree::kNone) return;
  for (uint32_t c = t.node(i).first_child; c != FlameTree::kNone; c = t.node(c).next_sibling) {
    kids->push_back(c);
  }
  std::sort(kids->begin(), kids->end(), [&](uint32_t a, uint32_t b) {
    uint32_t ra = rank[t.node(a).name], rb = rank[t.node(b).name];
    return ra != rb ? ra < rb : a < b;
  });
}

// ,"metadata":{...}
void AppendMetadata(std::string* out, std::string_view format, const FlamebearerMetadata& meta) {
  out->append(R"(,"metadata":{"format":)");
  AppendJsonString(out, format);
  out->append(R"(,"spyName":)");
  AppendJsonString(out, meta.spy_name.empty() ? std::string_view("unknown") : meta.spy_name);
  out->append(R"(,"sampleRate":)");
  AppendInt(out, meta.sample_rate);
  out->append(R"(,"units":)");
  AppendJsonString(out, meta.units);
  out->append(R"(,"name":)");
  AppendJsonString(out, meta.name);
  out->push_back('}');
}

// ,"truncation":{...}
void AppendTruncation(std::string* out, const TruncationReport& r) {
  out->append(R"(,"truncation":{"keptNodes":)");
  AppendInt(out, static_cast<int64_t>(r.kept_nodes));
  out->append(R"(,"foldedNodes":)");
  AppendInt(out, static_cast<int64_t>(r.folded_nodes));
  out->append(R"(,"foldedValue":)");
  AppendInt(out, r.folded_value);
  out->append(R"(,"otherNodes":)");
  AppendInt(out, static_cast<int64_t>(r.other_nodes));
  out->push_back('}');
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
  return WriteFlamebearer(tree, meta, nullptr);
}

FlamebearerData ComputeFlamebearer(const FlameTree& tree) {
  const std::vector<FlameTree::Node>& nodes = tree.nodes();
  const size_t num_names = tree.num_names();
  FlamebearerData data;

  // names[]: the tree's names that some node uses, in name id order (so
  // "total", id 0, stays first).
  std::vector<uint32_t> out_index(num_names, FlameTree::kNone);
  for (const FlameTree::Node& n : nodes) out_index[n.name] = 0;
  std::vector<uint32_t> by_name;  // used name ids
  for (uint32_t id = 0; id < num_names; ++id) {
    if (out_index[id] == FlameTree::kNone) continue;
    out_index[id] = static_cast<uint32_t>(by_name.size());
    by_name.push_back(id);
    data.names.push_back(tree.name(id));
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

  // Breadth first, one level at a time. A level's bars are in x order: a
  // node's self comes first from its x (as in Pyroscope), then its children
  // in name order, so the next level comes out in x order too.
  struct Bar {
    uint32_t node;
    int64_t x;
  };
  std::vector<Bar> level{{0, 0}};
  std::vector<Bar> next;
  while (!level.empty()) {
    std::vector<int64_t>& out = data.levels.emplace_back();
    out.reserve(level.size() * 4);
    next.clear();
    int64_t prev_end = 0;
    for (size_t i = 0; i < level.size(); ++i) {
      // The nodes are scattered: fetch the bars' nodes ahead, and (once a
      // node is in) its first child's.
      if (i + 16 < level.size()) __builtin_prefetch(&nodes[level[i + 16].node]);
      if (i + 8 < level.size()) {
        const uint32_t c = nodes[level[i + 8].node].first_child;
        if (c != FlameTree::kNone) __builtin_prefetch(&nodes[c]);
      }
      const Bar& bar = level[i];
      const FlameTree::Node& n = nodes[bar.node];
      out.push_back(bar.x - prev_end);
      out.push_back(n.total);
      out.push_back(n.self);
      out.push_back(out_index[n.name]);
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
      int64_t x = bar.x + n.self;
      for (size_t k = begin; k < next.size(); ++k) {
        next[k].x = x;
        x += nodes[next[k].node].total;
      }
    }
    level.swap(next);
  }
  data.num_ticks = tree.total();
  data.max_self = tree.MaxSelf();
  return data;
}

std::string FlamebearerJson(const FlamebearerData& data, std::string_view format,
                            const FlamebearerMetadata& meta, const TruncationReport* report) {
  size_t bytes = 256 + meta.name.size() + meta.units.size() + meta.spy_name.size();
  for (const std::string& n : data.names) bytes += n.size() + 3;
  for (const auto& l : data.levels) bytes += l.size() * 6;
  std::string out;
  out.reserve(bytes);
  out.append(R"({"version":1,"flamebearer":{"names":[)");
  for (size_t i = 0; i < data.names.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(&out, data.names[i]);
  }
  out.append(R"(],"levels":[)");
  for (size_t l = 0; l < data.levels.size(); ++l) {
    out.append(l == 0 ? "[" : ",[");
    const std::vector<int64_t>& v = data.levels[l];
    for (size_t k = 0; k < v.size(); ++k) {
      if (k > 0) out.push_back(',');
      AppendInt(&out, v[k]);
    }
    out.push_back(']');
  }
  out.append(R"(],"numTicks":)");
  AppendInt(&out, data.num_ticks);
  out.append(R"(,"maxSelf":)");
  AppendInt(&out, data.max_self);
  out.push_back('}');
  AppendMetadata(&out, format, meta);
  if (format == "double") {
    out.append(R"(,"leftTicks":)");
    AppendInt(&out, data.left_ticks);
    out.append(R"(,"rightTicks":)");
    AppendInt(&out, data.right_ticks);
  }
  if (report != nullptr) AppendTruncation(&out, *report);
  out.push_back('}');
  return out;
}

namespace {

// Exact division of values known to be multiples of `unit`, without a
// hardware divide per value: the quotient through a double reciprocal,
// checked by one multiplication (and divided for real only when the check
// fails, for magnitudes beyond a double's 53 bits).
class ExactDivider {
 public:
  explicit ExactDivider(uint64_t unit) : unit_(static_cast<int64_t>(unit)), inverse_(1.0 / static_cast<double>(unit)) {}
  int64_t operator()(int64_t v) const {
    if (unit_ == 1) return v;
    const int64_t q = Quotient(v);
    return Times(q) == v ? q : v / unit_;
  }
  // True if v is a multiple of the unit.
  bool Divides(int64_t v) const {
    if (unit_ == 1) return true;
    return Times(Quotient(v)) == v || v % unit_ == 0;
  }

 private:
  // v / unit rounded to nearest (ties either way); |v / unit| < 2^62.
  int64_t Quotient(int64_t v) const {
    const double q = static_cast<double>(v) * inverse_;
    return static_cast<int64_t>(q + (q < 0 ? -0.5 : 0.5));
  }
  // q * unit, wrapping (a wrong quotient must not overflow).
  int64_t Times(int64_t q) const {
    return static_cast<int64_t>(static_cast<uint64_t>(q) * static_cast<uint64_t>(unit_));
  }
  int64_t unit_;
  double inverse_;
};

}  // namespace

std::string FlamebearerBinary(std::string_view json, const FlamebearerData& data,
                              size_t stride) {
  size_t ints = 0;
  for (const auto& l : data.levels) ints += l.size();
  // Values (every int of a bar but its last, the name index) share a unit:
  // CPU nanoseconds are multiples of the sampling period, so dividing by it
  // keeps most varints to one or two bytes. gcd only runs when a value is
  // not a multiple of the unit so far.
  uint64_t unit = 0;
  {
    ExactDivider divides(1);
    for (const auto& l : data.levels) {
      for (size_t k = 0; k < l.size(); k += stride) {
        for (size_t j = k; j < k + stride - 1 && j < l.size(); ++j) {
          const int64_t v = l[j];
          if (v == 0 || (unit != 0 && divides.Divides(v))) continue;
          unit = std::gcd(unit, static_cast<uint64_t>(v < 0 ? -v : v));
          divides = ExactDivider(unit);
        }
      }
    }
  }
  if (unit == 0) unit = 1;
  const ExactDivider divide(unit);

  std::string out;
  // Header, JSON, then varints (at most 10 bytes each; the buffer grows a
  // level at a time, so that it is not zero-filled for the worst case).
  const size_t head = 9 + json.size() + 20;
  out.resize(head + 2 * ints);
  size_t at = 0;
  auto room = [&](size_t varints) {
    const size_t need = at + 10 * varints;
    if (out.size() < need) out.resize(std::max(need, out.size() + out.size() / 2));
  };
  char* p = out.data();
  memcpy(p, "SHFB", 4);
  p[4] = 1;
  const auto len = static_cast<uint32_t>(json.size());
  for (int i = 0; i < 4; ++i) p[5 + i] = static_cast<char>((len >> (8 * i)) & 0xff);
  memcpy(p + 9, json.data(), json.size());
  at = 9 + json.size();
  auto uvarint = [&out, &at](uint64_t v) {
    char* q = out.data() + at;
    while (v >= 0x80) {
      *q++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *q++ = static_cast<char>(v);
    at = static_cast<size_t>(q - out.data());
  };
  auto zigzag = [](int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); };
  uvarint(unit);
  uvarint(data.levels.size());
  for (const auto& l : data.levels) {
    room(l.size() + 1);
    uvarint(l.size());
    size_t j = 0;  // position within the bar
    for (const int64_t v : l) {
      if (++j == stride) {
        uvarint(zigzag(v));
        j = 0;
      } else {
        uvarint(zigzag(divide(v)));
      }
    }
  }
  out.resize(at);
  return out;
}

std::string WriteFlamebearer(const FlameTree& tree, const FlamebearerMetadata& meta,
                             const TruncationReport* report) {
  return FlamebearerJson(ComputeFlamebearer(tree), "single", meta, report);
}

DiffTree MergeFlameTrees(const FlameTree& left, const FlameTree& right) {
  constexpr uint32_t kNone = FlameTree::kNone;
  DiffTree out;
  out.names.emplace_back("total");
  // Union name ids; the keys point into the inputs' names.
  std::unordered_map<std::string_view, uint32_t> ids;
  ids.emplace(left.name(0), 0);
  std::vector<uint32_t> left_map(left.num_names(), kNone);
  std::vector<uint32_t> right_map(right.num_names(), kNone);
  left_map[0] = 0;
  right_map[0] = 0;
  auto union_name = [&](const FlameTree& t, std::vector<uint32_t>* map, uint32_t id) {
    uint32_t& m = (*map)[id];
    if (m == kNone) {
      auto [it, inserted] = ids.emplace(t.name(id), static_cast<uint32_t>(out.names.size()));
      if (inserted) out.names.emplace_back(t.name(id));
      m = it->second;
    }
    return m;
  };
  const std::vector<uint32_t> left_rank = NameRanks(left);
  const std::vector<uint32_t> right_rank = NameRanks(right);

  const size_t reserve = std::max(left.nodes().size(), right.nodes().size());
  out.nodes.reserve(reserve);
  out.first_child.reserve(reserve + 1);
  std::vector<uint32_t> left_node{0}, right_node{0};  // per union node
  left_node.reserve(reserve);
  right_node.reserve(reserve);
  DiffNode root;
  root.left_total = left.node(0).total;
  root.left_self = left.node(0).self;
  root.right_total = right.node(0).total;
  root.right_self = right.node(0).self;
  out.nodes.push_back(root);

  // Breadth first; each node's two child lists merged by name.
  std::vector<uint32_t> lkids, rkids;
  for (uint32_t j = 0; j < out.nodes.size(); ++j) {
    out.first_child.push_back(static_cast<uint32_t>(out.nodes.size()));
    SortedChildren(left, left_node[j], left_rank, &lkids);
    SortedChildren(right, right_node[j], right_rank, &rkids);
    size_t a = 0, b = 0;
    while (a < lkids.size() || b < rkids.size()) {
      int c = a == lkids.size()   ? 1
              : b == rkids.size() ? -1
                                  : left.node_name(lkids[a]).compare(right.node_name(rkids[b]));
      DiffNode n;
      n.parent = j;
      uint32_t l = kNone, r = kNone;
      if (c <= 0) {
        l = lkids[a++];
        n.name = union_name(left, &left_map, left.node(l).name);
        n.left_total = left.node(l).total;
        n.left_self = left.node(l).self;
      }
      if (c >= 0) {
        r = rkids[b++];
        n.name = union_name(right, &right_map, right.node(r).name);
        n.right_total = right.node(r).total;
        n.right_self = right.node(r).self;
      }
      out.nodes.push_back(n);
      left_node.push_back(l);
      right_node.push_back(r);
    }
  }
  out.first_child.push_back(static_cast<uint32_t>(out.nodes.size()));
  return out;
}

DiffTree TruncateDiffTree(const DiffTree& tree, size_t max_nodes, TruncationReport* report) {
  const std::vector<DiffNode>& nodes = tree.nodes;
  if (max_nodes == 0 || nodes.size() <= max_nodes) {
    if (report != nullptr) *report = {nodes.size(), 0, 0, 0};
    return tree;
  }
  // A node's weight is max(left / L, right / R); scaled by L * R it is an
  // exact integer.
  const __int128 left_scale = std::max<int64_t>(tree.left_total(), 1);
  const __int128 right_scale = std::max<int64_t>(tree.right_total(), 1);
  auto weight = [&](uint32_t i) -> __int128 {
    return std::max(nodes[i].left_total * right_scale, nodes[i].right_total * left_scale);
  };
  auto for_each_child = [&](uint32_t i, auto&& fn) {
    for (uint32_t c = tree.first_child[i]; c < tree.first_child[i + 1]; ++c) fn(c);
  };
  auto compare_names = [&](uint32_t a, uint32_t b) {
    if (nodes[a].name == nodes[b].name) return 0;
    return tree.names[nodes[a].name].compare(tree.names[nodes[b].name]);
  };
  truncate_internal::KeptSet kept =
      truncate_internal::ChooseKept(nodes.size(), max_nodes, for_each_child, weight, compare_names);

  DiffTree out;
  out.names = tree.names;
  uint32_t other = static_cast<uint32_t>(std::find(out.names.begin(), out.names.end(), kOtherName) -
                                         out.names.begin());
  if (other == out.names.size()) out.names.emplace_back(kOtherName);
  const size_t size = kept.entries.size() + kept.other_nodes;
  out.nodes.reserve(size);
  out.first_child.reserve(size + 1);
  std::vector<uint32_t> source;  // per output node: its input node, kNone for "other"
  source.reserve(size);
  out.nodes.push_back(nodes[0]);
  source.push_back(0);
  TruncationReport r;
  r.kept_nodes = kept.entries.size();
  r.folded_nodes = nodes.size() - kept.entries.size();
  // Breadth first again, so that the output keeps DiffTree's order.
  for (uint32_t j = 0; j < out.nodes.size(); ++j) {
    out.first_child.push_back(static_cast<uint32_t>(out.nodes.size()));
    const uint32_t i = source[j];
    if (i == FlameTree::kNone) continue;
    DiffNode folded;
    folded.name = other;
    folded.parent = j;
    bool lost = false;
    for_each_child(i, [&](uint32_t c) {
      if (kept.kept[c] == 1) {
        DiffNode n = nodes[c];
        n.parent = j;
        out.nodes.push_back(n);
        source.push_back(c);
      } else {
        lost = true;
        folded.left_total += nodes[c].left_total;
        folded.right_total += nodes[c].right_total;
      }
    });
    if (lost) {
      folded.left_self = folded.left_total;
      folded.right_self = folded.right_total;
      out.nodes.push_back(folded);
      source.push_back(FlameTree::kNone);
      r.folded_value += folded.left_total + folded.right_total;
      ++r.other_nodes;
    }
  }
  out.first_child.push_back(static_cast<uint32_t>(out.nodes.size()));
  if (report != nullptr) *report = r;
  return out;
}

FlamebearerData ComputeFlamebearerDiff(const DiffTree& tree) {
  const std::vector<DiffNode>& nodes = tree.nodes;
  const size_t n = nodes.size();
  FlamebearerData data;
  std::vector<uint32_t> out_index(tree.names.size(), FlameTree::kNone);
  for (const DiffNode& d : nodes) out_index[d.name] = 0;
  for (uint32_t id = 0; id < tree.names.size(); ++id) {
    if (out_index[id] == FlameTree::kNone) continue;
    out_index[id] = static_cast<uint32_t>(data.names.size());
    data.names.push_back(tree.names[id]);
  }

  // x of every node on each side: self first, then the children in order.
  std::vector<int64_t> left_x(n, 0), right_x(n, 0);
  int64_t max_self = 0;
  for (size_t i = 0; i < n; ++i) {
    int64_t lx = left_x[i] + nodes[i].left_self;
    int64_t rx = right_x[i] + nodes[i].right_self;
    for (uint32_t c = tree.first_child[i]; c < tree.first_child[i + 1]; ++c) {
      left_x[c] = lx;
      right_x[c] = rx;
      lx += nodes[c].left_total;
      rx += nodes[c].right_total;
    }
    max_self = std::max({max_self, nodes[i].left_self, nodes[i].right_self});
  }
  // Breadth first order makes each level a contiguous range: the children of
  // the level [begin, end) are [first_child[begin], first_child[end]).
  size_t begin = 0, end = n > 0 ? 1 : 0;
  while (begin < end) {
    std::vector<int64_t>& out = data.levels.emplace_back();
    out.reserve((end - begin) * 7);
    int64_t left_end = 0, right_end = 0;
    for (size_t i = begin; i < end; ++i) {
      const DiffNode& d = nodes[i];
      const int64_t values[7] = {left_x[i] - left_end,   d.left_total,  d.left_self,
                                 right_x[i] - right_end, d.right_total, d.right_self,
                                 out_index[d.name]};
      out.insert(out.end(), values, values + 7);
      left_end = left_x[i] + d.left_total;
      right_end = right_x[i] + d.right_total;
    }
    const size_t next_begin = tree.first_child[begin];
    end = tree.first_child[end];
    begin = next_begin;
  }
  data.left_ticks = tree.left_total();
  data.right_ticks = tree.right_total();
  data.num_ticks = data.left_ticks + data.right_ticks;
  data.max_self = max_self;
  return data;
}

std::string WriteFlamebearerDiff(const DiffTree& tree, const FlamebearerMetadata& meta,
                                 const TruncationReport* report) {
  return FlamebearerJson(ComputeFlamebearerDiff(tree), "double", meta, report);
}

std::string WriteFlamebearerDiff(const FlameTree& left, const FlameTree& right,
                                 const FlamebearerMetadata& meta, size_t max_nodes,
                                 TruncationReport* report) {
  DiffTree merged = MergeFlameTrees(left, right);
  TruncationReport r{merged.nodes.size(), 0, 0, 0};
  if (max_nodes == 0 || merged.nodes.size() <= max_nodes) {
    if (report != nullptr) *report = r;
    return WriteFlamebearerDiff(merged, meta, max_nodes == 0 ? nullptr : &r);
  }
  DiffTree cut = TruncateDiffTree(merged, max_nodes, &r);
  if (report != nullptr) *report = r;
  return WriteFlamebearerDiff(cut, meta, &r);
}

}  // namespace stackhouse::profile
