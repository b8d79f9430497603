#include "profile/flame_truncate.h"

#include <string>

namespace stackhouse::profile {

FlameTree TruncateFlameTree(const FlameTree& tree, size_t max_nodes, TruncationReport* report) {
  const std::vector<FlameTree::Node>& nodes = tree.nodes();
  if (max_nodes == 0 || nodes.size() <= max_nodes) {
    if (report != nullptr) *report = {nodes.size(), 0, 0, 0};
    return tree;
  }

  auto for_each_child = [&](uint32_t i, auto&& fn) {
    for (uint32_t c = nodes[i].first_child; c != FlameTree::kNone; c = nodes[c].next_sibling) {
      fn(c);
    }
  };
  auto weight = [&](uint32_t i) { return nodes[i].total; };
  auto compare_names = [&](uint32_t a, uint32_t b) {
    if (nodes[a].name == nodes[b].name) return 0;
    return tree.name(nodes[a].name).compare(tree.name(nodes[b].name));
  };
  truncate_internal::KeptSet kept =
      truncate_internal::ChooseKept(nodes.size(), max_nodes, for_each_child, weight, compare_names);

  FlameTree out;
  out.Reserve(kept.entries.size() + kept.other_nodes);
  std::vector<uint32_t> name_map(tree.num_names(), FlameTree::kNone);
  name_map[0] = 0;  // "total"
  auto map_name = [&](uint32_t id) {
    if (name_map[id] == FlameTree::kNone) name_map[id] = out.NameId(tree.name(id));
    return name_map[id];
  };
  // Entry k becomes node k of the result.
  out.AddSelf(0, nodes[0].self);
  for (size_t k = 1; k < kept.entries.size(); ++k) {
    const auto& e = kept.entries[k];
    uint32_t n = out.AppendChild(e.parent, map_name(nodes[e.node].name));
    out.AddSelf(n, nodes[e.node].self);
  }
  TruncationReport r;
  r.kept_nodes = kept.entries.size();
  r.folded_nodes = nodes.size() - kept.entries.size();
  const uint32_t other = kept.other_nodes > 0 ? out.NameId(kOtherName) : 0;
  for (size_t k = 0; k < kept.entries.size(); ++k) {
    if (kept.dropped_children[k] == 0) continue;
    int64_t folded = 0;
    for_each_child(kept.entries[k].node, [&](uint32_t c) {
      if (kept.kept[c] != 1) folded += nodes[c].total;
    });
    uint32_t n = out.AppendChild(static_cast<uint32_t>(k), other);
    out.AddSelf(n, folded);
    r.folded_value += folded;
    ++r.other_nodes;
  }
  out.FinishTotals();
  if (report != nullptr) *report = r;
  return out;
}

}  // namespace stackhouse::profile
