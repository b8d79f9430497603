#include "tsdb/merge.h"

#include <algorithm>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/memory.h"

namespace stackhouse::tsdb {

namespace {
constexpr uint32_t kUnset = UINT32_MAX;
}  // namespace

namespace {

// Frame name ids of each location of a table in a tree, outermost (caller)
// first: usually one, several when functions were inlined. Lazy. A
// location's single id sits in a flat array (a tree of millions of nodes
// reads it once per node); the rare inlined ones in a side map.
class LocationNames {
 public:
  LocationNames(const SymbolTable& symbols, profile::FlameTree* tree)
      : symbols_(symbols), tree_(tree), first_(symbols.num_locations(), kUnset) {}
  std::span<const uint32_t> Get(uint32_t loc) {
    uint32_t& first = first_[loc];
    if (first == kUnset) Resolve(loc, &first);
    if (first != kInlined) return {&first, 1};
    return inlined_.find(loc)->second;
  }

 private:
  static constexpr uint32_t kInlined = kUnset - 1;

  void Resolve(uint32_t loc, uint32_t* first) {
    scratch_.clear();
    if (!symbols_.FrameNames(loc, &scratch_)) {
      *first = tree_->NameId(symbols_.FrameName(loc));
    } else if (scratch_.size() == 1) {
      *first = tree_->NameId(scratch_[0]);
    } else {
      std::vector<uint32_t>& ids = inlined_[loc];
      for (size_t i = scratch_.size(); i-- > 0;) ids.push_back(tree_->NameId(scratch_[i]));
      *first = kInlined;
    }
  }

  const SymbolTable& symbols_;
  profile::FlameTree* tree_;
  std::vector<uint32_t> first_;
  std::unordered_map<uint32_t, std::vector<uint32_t>> inlined_;
  std::vector<std::string_view> scratch_;
};

}  // namespace

void FlameTreeSink::Add(const SymbolTable& symbols, std::span<const NodeValue> values) {
  // The arrays here are as long as the table (tens of millions of nodes for
  // big trees): huge pages.
  std::vector<uint8_t> live;
  AssignHuge(&live, symbols.num_nodes(), 0);
  for (const NodeValue& nv : values) live[nv.node] = 1;
  const std::vector<uint32_t> flame = Build(symbols, &live);
  for (const NodeValue& nv : values) {
    tree_.AddSelf(flame[nv.node], nv.value);
    total_ += nv.value;
  }
}

void FlameTreeSink::AddDense(const SymbolTable& symbols, std::span<const int64_t> sums) {
  const size_t n = symbols.num_nodes();
  if (sums.size() != n) return StackSink::AddDense(symbols, sums);
  std::vector<uint8_t> live;
  AssignHuge(&live, n, 0);
  for (size_t i = 0; i < n; ++i) live[i] = sums[i] != 0;
  const std::vector<uint32_t> flame = Build(symbols, &live);
  for (size_t i = 0; i < n; ++i) {
    if (sums[i] == 0) continue;
    tree_.AddSelf(flame[i], sums[i]);
    total_ += sums[i];
  }
}

std::vector<uint32_t> FlameTreeSink::Build(const SymbolTable& symbols, std::vector<uint8_t>* live_nodes) {
  const size_t n = symbols.num_nodes();
  const std::vector<uint32_t>& parents = symbols.parents();
  // Nodes on the paths of the values: one reverse pass (parents have smaller ids).
  std::vector<uint8_t>& live = *live_nodes;
  for (size_t i = n; i-- > 1;) live[parents[i]] |= live[i];
  LocationNames names(symbols, &tree_);
  std::vector<uint32_t> flame;
  AssignHuge(&flame, n, kUnset);
  flame[0] = 0;

  if (tree_.nodes().size() > 1) {
    // The tree has content from another partition: merge through lookups.
    for (size_t node = 1; node < n; ++node) {
      if (!live[node]) continue;
      uint32_t cur = flame[parents[node]];
      for (uint32_t id : names.Get(symbols.node_location(static_cast<uint32_t>(node)))) {
        cur = tree_.Child(cur, id);
      }
      flame[node] = cur;
    }
  } else {
    // A fresh tree: build it without a global hash. Live nodes are visited
    // grouped by parent; siblings are merged by name with a short local
    // list. A flame node reached from two stack nodes ("merged") gets its
    // children through a hash map instead, so they merge too.
    BackgroundPrefault prefault;
    std::vector<uint8_t> merged;
    std::unordered_map<uint64_t, uint32_t> merged_children;
    auto via_map = [&](uint32_t parent, uint32_t name) {
      auto [it, inserted] = merged_children.try_emplace((uint64_t{parent} << 32) | name, 0);
      if (inserted) {
        it->second = tree_.AppendChild(parent, name);
        merged.push_back(0);
      } else {
        merged[it->second] = 1;
      }
      return it->second;
    };
    auto reserve = [&](size_t live_count) {
      tree_.Reserve(live_count + 1, &prefault);
      prefault.Start();  // (joined when Build returns)
      ReserveHuge(&merged, live_count + 1);
      merged.push_back(0);
    };
    std::vector<std::pair<uint32_t, uint32_t>> local;  // (name, flame node) of this group
    // Places stack node `node`, a child of the stack node whose flame node
    // is fp, after its earlier siblings (whose names are in `local`).
    auto place = [&](uint32_t node, uint32_t fp) {
      const std::span<const uint32_t> ids = names.Get(symbols.node_location(node));
      uint32_t cur;
      if (merged[fp]) {
        cur = via_map(fp, ids[0]);
      } else {
        cur = kUnset;
        for (const auto& [name, f] : local) {
          if (name == ids[0]) {
            cur = f;
            merged[f] = 1;
            break;
          }
        }
        if (cur == kUnset) {
          cur = tree_.AppendChild(fp, ids[0]);
          merged.push_back(0);
          local.push_back({ids[0], cur});
        }
      }
      if (ids.size() > 1) {
        // Inlined frames: their nodes always go through the map.
        merged[cur] = 1;
        for (size_t j = 1; j < ids.size(); ++j) {
          cur = via_map(cur, ids[j]);
          if (j + 1 < ids.size()) merged[cur] = 1;
        }
      }
      flame[node] = cur;
    };
    if (symbols.grouped_by_parent()) {
      // A block's table: each node's children are one run of ids and the
      // parents never decrease (docs/format/block.md), so nodes are visited
      // in id order and every array is read and written in order.
      size_t live_count = 0;
      for (size_t i = 1; i < n; ++i) live_count += live[i];
      reserve(live_count);
      uint32_t group = kUnset, fp = 0;
      for (size_t i = 1; i < n; ++i) {
        if (!live[i]) continue;
        if (parents[i] != group) {
          group = parents[i];
          fp = flame[group];
          local.clear();
        }
        place(static_cast<uint32_t>(i), fp);
      }
    } else {
      // Other tables (the head's): live nodes grouped by parent with a
      // counting sort.
      std::vector<uint32_t> start, by_parent;
      GroupByParent(parents, live.data(), &start, &by_parent);
      const size_t live_count = by_parent.size();
      reserve(live_count);
      // Nodes come grouped by parent, so their locations are read scattered:
      // fetched a few nodes ahead.
      const std::vector<uint32_t>& node_locations = symbols.node_locations();
      constexpr size_t kAhead = 16;
      for (size_t p = 0; p < n; ++p) {
        if (start[p] == start[p + 1]) continue;
        const uint32_t fp = flame[p];
        local.clear();
        for (uint32_t k = start[p]; k < start[p + 1]; ++k) {
          if (k + kAhead < live_count) __builtin_prefetch(&node_locations[by_parent[k + kAhead]]);
          place(by_parent[k], fp);
        }
      }
    }
  }
  return flame;
}

profile::FlameTree FlameTreeSink::Finish() {
  tree_.FinishTotals();
  return std::move(tree_);
}

ProfileSink::ProfileSink(const std::string& sample_type, const std::string& sample_unit,
                         const std::string& period_type, const std::string& period_unit,
                         int64_t period) {
  profile::Profile& p = builder_.profile();
  p.sample_types.push_back({builder_.String(sample_type), builder_.String(sample_unit)});
  if (!period_type.empty()) {
    p.period_type = {builder_.String(period_type), builder_.String(period_unit)};
  }
  p.period = period;
}

void ProfileSink::Add(const SymbolTable& symbols, std::span<const NodeValue> values) {
  std::vector<uint32_t> strings(symbols.sizes().strings, kUnset);
  std::vector<uint32_t> functions(symbols.sizes().functions + 1, kUnset);
  std::vector<uint32_t> mappings(symbols.sizes().mappings + 1, kUnset);
  std::vector<uint32_t> locations(symbols.num_locations(), kUnset);
  auto str = [&](uint32_t id) -> int64_t {
    if (id == 0) return 0;
    if (strings[id] == kUnset) strings[id] = static_cast<uint32_t>(builder_.String(symbols.string(id)));
    return strings[id];
  };
  auto function = [&](uint32_t id) -> uint32_t {
    if (id == 0) return 0;
    if (functions[id] == kUnset) {
      const SymFunction& f = symbols.function(id);
      functions[id] = builder_.Function(str(f.name), str(f.system_name), str(f.filename), f.start_line);
    }
    return functions[id];
  };
  auto mapping = [&](uint32_t id) -> uint32_t {
    if (id == 0) return 0;
    if (mappings[id] == kUnset) {
      const SymMapping& m = symbols.mapping(id);
      profile::Mapping pm;
      pm.memory_start = m.memory_start;
      pm.memory_limit = m.memory_limit;
      pm.file_offset = m.file_offset;
      pm.filename = str(m.filename);
      pm.build_id = str(m.build_id);
      pm.has_functions = m.flags & 1;
      pm.has_filenames = m.flags & 2;
      pm.has_line_numbers = m.flags & 4;
      pm.has_inline_frames = m.flags & 8;
      mappings[id] = builder_.Mapping(pm);
    }
    return mappings[id];
  };
  std::vector<profile::Line> lines;
  auto location = [&](uint32_t id) -> uint32_t {
    if (locations[id] == kUnset) {
      const SymLocation& l = symbols.location(id);
      lines.clear();
      for (const SymLine& line : symbols.lines(l)) lines.push_back({function(line.function), line.line, 0});
      locations[id] = builder_.Location(mapping(l.mapping), l.address, lines);
    }
    return locations[id];
  };
  std::vector<uint32_t> stack;
  for (const NodeValue& nv : values) {
    stack.clear();
    symbols.StackLocations(nv.node, &stack);
    for (uint32_t& loc : stack) loc = location(loc);
    builder_.AddSample(stack, std::span<const int64_t>(&nv.value, 1));
  }
}

profile::Profile ProfileSink::Finish() { return builder_.Finish(); }

std::vector<uint8_t> CallSiteNodes(const SymbolTable& symbols,
                                   const std::vector<std::string>& call_site,
                                   const std::vector<uint8_t>* live) {
  const size_t n = symbols.num_nodes();
  const std::vector<uint32_t>& parents = symbols.parents();
  const int want = static_cast<int>(call_site.size());
  // state[node]: call-site frames matched on the path so far, -1 = diverged.
  std::vector<int> state(n, -1);
  std::vector<uint8_t> out(n, 0);
  if (n == 0) return out;
  state[0] = 0;
  std::vector<std::string_view> frames;
  std::string fallback;
  for (size_t node = 1; node < n; ++node) {
    if (live != nullptr && !(*live)[node]) continue;
    int s = state[parents[node]];
    if (s >= 0 && s < want) {
      uint32_t loc = symbols.node_location(static_cast<uint32_t>(node));
      frames.clear();
      if (!symbols.FrameNames(loc, &frames)) {
        fallback = symbols.FrameName(loc);
        frames.push_back(fallback);
      }
      // FrameNames lists inlined frames innermost first: walk callers first.
      for (size_t k = frames.size(); k-- > 0 && s >= 0 && s < want;) {
        s = frames[k] == call_site[s] ? s + 1 : -1;
      }
    }
    state[node] = s;
    out[node] = s == want;
  }
  return out;
}

void CallSiteFilterSink::Add(const SymbolTable& symbols, std::span<const NodeValue> values) {
  if (call_site_.empty()) {
    next_->Add(symbols, values);
    return;
  }
  // Only nodes on the paths of the values matter (parents have smaller ids).
  const std::vector<uint32_t>& parents = symbols.parents();
  std::vector<uint8_t> live(symbols.num_nodes(), 0);
  for (const NodeValue& nv : values) live[nv.node] = 1;
  for (size_t i = live.size(); i-- > 1;) live[parents[i]] |= live[i];
  std::vector<uint8_t> under = CallSiteNodes(symbols, call_site_, &live);
  std::vector<NodeValue> kept;
  for (const NodeValue& nv : values) {
    if (under[nv.node]) kept.push_back(nv);
  }
  if (!kept.empty()) next_->Add(symbols, kept);
}

}  // namespace stackhouse::tsdb
