#include "profile/flame_tree.h"

#include <algorithm>

#include "base/memory.h"
#include "profile/frames.h"

namespace stackhouse::profile {

FlameTree::FlameTree() {
  names_.emplace_back("total");
  name_index_.FindOrInsert(HashString("total"), 0, [](uint32_t) { return true; });
  nodes_.emplace_back();
  last_child_.push_back(kNone);
}

uint32_t FlameTree::NameId(std::string_view name) {
  uint32_t next = static_cast<uint32_t>(names_.size());
  uint32_t id = name_index_.FindOrInsert(HashString(name), next,
                                         [&](uint32_t i) { return names_[i] == name; });
  if (id == next) names_.emplace_back(name);
  return id;
}

uint32_t FlameTree::AppendChild(uint32_t parent, uint32_t name) {
  uint32_t next = static_cast<uint32_t>(nodes_.size());
  Node n;
  n.name = name;
  n.parent = parent;
  nodes_.push_back(n);
  last_child_.push_back(kNone);
  if (last_child_[parent] == kNone) {
    nodes_[parent].first_child = next;
  } else {
    nodes_[last_child_[parent]].next_sibling = next;
  }
  last_child_[parent] = next;
  return next;
}

void FlameTree::Reserve(size_t nodes, BackgroundPrefault* prefault) {
  ReserveHuge(&nodes_, nodes);
  ReserveHuge(&last_child_, nodes);
  if (prefault != nullptr) {
    prefault->Add(nodes_.data() + nodes_.size(), (nodes_.capacity() - nodes_.size()) * sizeof(Node));
    prefault->Add(last_child_.data() + last_child_.size(),
                  (last_child_.capacity() - last_child_.size()) * sizeof(uint32_t));
  }
}

uint32_t FlameTree::Child(uint32_t cur, uint32_t name) {
  // Index nodes appended by AppendChild first.
  for (; indexed_ < nodes_.size(); ++indexed_) {
    const Node& n = nodes_[indexed_];
    child_index_.FindOrInsert(HashMix(n.parent, n.name), static_cast<uint32_t>(indexed_),
                              [](uint32_t) { return false; });
  }
  uint64_t h = HashMix(cur, name);
  uint32_t next = static_cast<uint32_t>(nodes_.size());
  uint32_t child = child_index_.FindOrInsert(h, next, [&](uint32_t n) {
    return nodes_[n].parent == cur && nodes_[n].name == name;
  });
  if (child == next) {
    Node n;
    n.name = name;
    n.parent = cur;
    nodes_.push_back(n);
    last_child_.push_back(kNone);
    if (last_child_[cur] == kNone) {
      nodes_[cur].first_child = next;
    } else {
      nodes_[last_child_[cur]].next_sibling = next;
    }
    last_child_[cur] = next;
    ++indexed_;
  }
  return child;
}

void FlameTree::AddStack(std::span<const uint32_t> root_first, int64_t value) {
  uint32_t cur = 0;
  nodes_[0].total += value;
  for (uint32_t name : root_first) {
    cur = Child(cur, name);
    nodes_[cur].total += value;
  }
  nodes_[cur].self += value;
}

void FlameTree::FinishTotals() {
  for (Node& n : nodes_) n.total = n.self;
  // Children always come after their parent.
  for (size_t i = nodes_.size(); i-- > 1;) nodes_[nodes_[i].parent].total += nodes_[i].total;
}

FlameTree FlameTree::FromProfile(const Profile& p, int type_index) {
  FlameTree tree;
  if (type_index < 0 || static_cast<size_t>(type_index) >= p.num_types()) return tree;
  FrameNames frames(p);
  std::vector<uint32_t> map(frames.num_names());
  for (uint32_t i = 0; i < frames.num_names(); ++i) map[i] = tree.NameId(frames.name(i));
  std::vector<uint32_t> stack;
  for (size_t i = 0; i < p.samples.size(); ++i) {
    int64_t v = p.sample_values(i)[type_index];
    if (v == 0) continue;
    frames.SampleFramesRootFirst(p, i, &stack);
    for (uint32_t& f : stack) f = map[f];
    tree.AddStack(stack, v);
  }
  return tree;
}

int64_t FlameTree::MaxSelf() const {
  int64_t m = 0;
  for (const Node& n : nodes_) m = std::max(m, n.self);
  return m;
}

size_t FlameTree::MaxDepth() const {
  std::vector<uint32_t> depth(nodes_.size(), 0);
  size_t max_depth = 0;
  // Parents always precede their children in nodes_.
  for (size_t i = 1; i < nodes_.size(); ++i) {
    depth[i] = depth[nodes_[i].parent] + 1;
    max_depth = std::max<size_t>(max_depth, depth[i]);
  }
  return max_depth;
}

std::vector<uint32_t> FlameTree::SortedChildren(uint32_t i) const {
  std::vector<uint32_t> out;
  for (uint32_t c = nodes_[i].first_child; c != kNone; c = nodes_[c].next_sibling) out.push_back(c);
  std::sort(out.begin(), out.end(),
            [&](uint32_t a, uint32_t b) { return node_name(a) < node_name(b); });
  return out;
}

}  // namespace stackhouse::profile
