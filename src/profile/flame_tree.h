// FlameTree: the call tree of a flame graph. Stacks of frame names are merged
// root first; each node holds a name, its total (self + children) and self
// value. Node 0 is the root ("total"). Flame graph writers (flamebearer, SVG)
// and the query layer build on it. Not thread-safe while being built;
// immutable use afterwards is thread-safe.
#ifndef STACKHOUSE_PROFILE_FLAME_TREE_H_
#define STACKHOUSE_PROFILE_FLAME_TREE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "base/memory.h"
#include "profile/profile.h"

namespace stackhouse::profile {

class FlameTree {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  struct Node {
    uint32_t name = 0;             // index into names()
    uint32_t parent = kNone;       // kNone for the root
    uint32_t first_child = kNone;  // children form a singly linked list
    uint32_t next_sibling = kNone;
    int64_t total = 0;
    int64_t self = 0;
  };

  FlameTree();

  // Builds the tree of sample type `type_index` of a profile (inline frames
  // expanded, zero-valued samples skipped).
  static FlameTree FromProfile(const Profile& profile, int type_index);

  // Interns a frame name.
  uint32_t NameId(std::string_view name);
  // Adds `value` along a root-first stack of name ids.
  void AddStack(std::span<const uint32_t> root_first, int64_t value);

  // Lower-level building: the child of `parent` named `name` (created when
  // missing), and self values added to nodes. After building this way, call
  // FinishTotals() to recompute every node's total from the self values.
  uint32_t Child(uint32_t parent, uint32_t name);
  // Appends a new child without looking for an existing one: the caller
  // guarantees there is none. Much cheaper than Child() for bulk building.
  uint32_t AppendChild(uint32_t parent, uint32_t name);
  // Room for `nodes` nodes in all. With `prefault`, the new room is added to
  // what it faults in (the caller starts and joins it; see
  // BackgroundPrefault).
  void Reserve(size_t nodes, BackgroundPrefault* prefault = nullptr);
  void AddSelf(uint32_t node, int64_t value) { nodes_[node].self += value; }
  void FinishTotals();

  const std::vector<Node>& nodes() const { return nodes_; }
  const Node& node(uint32_t i) const { return nodes_[i]; }
  const std::string& name(uint32_t name_id) const { return names_[name_id]; }
  const std::string& node_name(uint32_t i) const { return names_[nodes_[i].name]; }
  size_t num_names() const { return names_.size(); }
  int64_t total() const { return nodes_[0].total; }
  // Largest self value of any node.
  int64_t MaxSelf() const;
  // Depth of the deepest node (root = 0).
  size_t MaxDepth() const;

  // Children of node i, ordered by name (bytewise), for deterministic output.
  std::vector<uint32_t> SortedChildren(uint32_t i) const;

 private:
  std::vector<Node> nodes_;
  std::vector<uint32_t> last_child_;  // for O(1) append to a child list
  std::vector<std::string> names_;
  HashIndex name_index_;
  HashIndex child_index_;  // (parent, name) -> node, for nodes [0, indexed_)
  size_t indexed_ = 1;
};

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_FLAME_TREE_H_
