#include "tsdb/merge.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "base/env.h"
#include "tsdb/block.h"
#include "tsdb/sample_codec.h"
#include "tsdb/testing/store_testing.h"

namespace stackhouse::tsdb {
namespace {

profile::Profile Load(const std::string& name) { return testing::SharedPprof(name); }

// Every sample of p interned into t (the batched path the head takes), as
// (node, first value), merged by node.
std::vector<NodeValue> InternAll(SymbolTable* t, const profile::Profile& p) {
  ProfileInterner interner(t, p);
  interner.PrepareStacks();
  std::vector<NodeValue> out;
  out.reserve(p.samples.size());
  for (size_t i = 0; i < p.samples.size(); ++i) {
    if (int64_t v = p.sample_values(i)[0]; v != 0) out.push_back({interner.Stack(i), v});
  }
  SortAndMerge(&out);
  return out;
}

// A flame tree as "a;b;c" -> self, for comparing trees built in any order.
std::map<std::string, int64_t> Flatten(const profile::FlameTree& t) {
  std::map<std::string, int64_t> out;
  std::function<void(uint32_t, const std::string&)> walk = [&](uint32_t n, const std::string& path) {
    if (t.node(n).self != 0) out[path] += t.node(n).self;
    for (uint32_t c = t.node(n).first_child; c != profile::FlameTree::kNone; c = t.node(c).next_sibling) {
      walk(c, path + ";" + t.name(t.node(c).name));
    }
  };
  walk(0, "");
  return out;
}

// The table as a block stores it (nodes breadth first), read back; `ids`
// gets each node's id in it.
SymbolTable AsBlockTable(const SymbolTable& t, std::vector<uint32_t>* ids) {
  SymbolTable::NodeOrder order = t.BreadthFirstOrder();
  std::string s[5];
  t.EncodeSections(&s[0], &s[1], &s[2], &s[3], &s[4], &order);
  *ids = order.ids;
  auto back = SymbolTable::DecodeSections(s[0], s[1], s[2], s[3], s[4]);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
  return std::move(back).value();
}

// The flame-graph merge walks a block's table (children in runs of ids)
// and the head's (grouped by a counting sort) to the same tree: whole
// tables and parts, inlined frames (the Go profiles) included.
TEST(FlameTreeSinkTest, BlockOrderAndHeadOrderGiveTheSameTree) {
  SymbolTable head;
  std::vector<NodeValue> values;
  for (const char* file : {"go_cpu.pb.gz", "node_3.pb.gz", "go_heap.pb.gz", "gperftools_cpu.pb.gz"}) {
    std::vector<NodeValue> v = InternAll(&head, Load(file));
    values.insert(values.end(), v.begin(), v.end());
  }
  SortAndMerge(&values);
  std::vector<uint32_t> ids;
  SymbolTable block = AsBlockTable(head, &ids);
  EXPECT_FALSE(head.grouped_by_parent());
  ASSERT_TRUE(block.grouped_by_parent());
  ASSERT_EQ(block.num_nodes(), head.num_nodes());
  for (size_t step : {size_t{1}, size_t{3}, size_t{7}}) {  // all values, then parts
    std::vector<NodeValue> part, in_block;
    for (size_t i = 0; i < values.size(); i += step) part.push_back(values[i]);
    for (const NodeValue& nv : part) in_block.push_back({ids[nv.node], nv.value});
    SortAndMerge(&in_block);
    FlameTreeSink a, b;
    a.Add(head, part);
    b.Add(block, in_block);
    profile::FlameTree ta = a.Finish(), tb = b.Finish();
    EXPECT_EQ(ta.total(), tb.total()) << step;
    EXPECT_EQ(Flatten(ta), Flatten(tb)) << step;
    EXPECT_GT(Flatten(ta).size(), 10u);
  }
}

// A sink that keeps what it is given.
class RecordingSink : public StackSink {
 public:
  void Add(const SymbolTable&, std::span<const NodeValue> values) override {
    ++adds;
    got.insert(got.end(), values.begin(), values.end());
  }
  int adds = 0;
  std::vector<NodeValue> got;
};

// The dense form of a partition's sums (NodeSums::SendTo when most nodes
// have a value) gives the flame sink the same tree as the sorted list, in
// the head's order and the block's, with a value on the root included; the
// default AddDense hands other sinks the list, and nothing when all is 0.
TEST(FlameTreeSinkTest, DenseSumsGiveTheSameTreeAsTheList) {
  SymbolTable head;
  std::vector<NodeValue> values = InternAll(&head, Load("go_cpu.pb.gz"));
  std::vector<NodeValue> more = InternAll(&head, Load("node_3.pb.gz"));
  values.insert(values.end(), more.begin(), more.end());
  values.push_back({0, 5});  // a sample with an empty stack
  SortAndMerge(&values);
  std::vector<uint32_t> ids;
  SymbolTable block = AsBlockTable(head, &ids);
  std::vector<NodeValue> in_block;
  for (const NodeValue& nv : values) in_block.push_back({ids[nv.node], nv.value});
  SortAndMerge(&in_block);
  for (const auto& [table, list] : {std::pair{&head, values}, std::pair{&block, in_block}}) {
    std::vector<int64_t> dense(table->num_nodes(), 0);
    for (const NodeValue& nv : list) dense[nv.node] = nv.value;
    FlameTreeSink from_list, from_dense;
    from_list.Add(*table, list);
    from_dense.AddDense(*table, dense);
    profile::FlameTree a = from_list.Finish(), b = from_dense.Finish();
    EXPECT_EQ(a.total(), b.total());
    EXPECT_EQ(from_list.total(), from_dense.total());
    EXPECT_EQ(Flatten(a), Flatten(b));
    EXPECT_EQ(Flatten(b).at(""), 5);  // the root's own value

    RecordingSink rec;
    rec.AddDense(*table, dense);
    EXPECT_EQ(rec.adds, 1);
    ASSERT_EQ(rec.got.size(), list.size());
    for (size_t i = 0; i < list.size(); ++i) {
      EXPECT_EQ(rec.got[i].node, list[i].node);
      EXPECT_EQ(rec.got[i].value, list[i].value);
    }
    RecordingSink zeros;
    zeros.AddDense(*table, std::vector<int64_t>(table->num_nodes(), 0));
    EXPECT_EQ(zeros.adds, 0);
  }

  // NodeSums sends the array when most nodes have a sum and the list when
  // few do; both reach the sink as the same samples.
  for (size_t keep : {values.size(), size_t{3}}) {
    NodeSums sums;
    sums.Reset(head.num_nodes());
    std::vector<NodeValue> part(values.begin(), values.begin() + keep);
    sums.Add(part);
    sums.Add(part);  // twice: the sums double
    RecordingSink rec;
    sums.SendTo(head, &rec);
    EXPECT_EQ(rec.adds, 1);
    ASSERT_EQ(rec.got.size(), part.size()) << keep;
    for (size_t i = 0; i < part.size(); ++i) EXPECT_EQ(rec.got[i].value, 2 * part[i].value);
  }
  NodeSums none;
  none.Reset(head.num_nodes());
  RecordingSink rec;
  none.SendTo(head, &rec);
  EXPECT_EQ(rec.adds, 0);
}

// BlockWriter numbers a partition's nodes breadth first and its series'
// nodes to match: the block's table is grouped by parent and every sample
// keeps its stack.
TEST(FlameTreeSinkTest, BlocksStoreTablesGroupedByParent) {
  SymbolTable head;
  std::vector<NodeValue> values = InternAll(&head, Load("node_3.pb.gz"));
  std::vector<NodeValue> more = InternAll(&head, Load("node_1.pb.gz"));
  MemEnv env;
  BlockWriter w(&env, "/b", "t");
  ASSERT_TRUE(w.Begin().ok());
  // Series before their partition's symbols are refused.
  uint32_t early = w.DeclarePartition("early");
  EXPECT_FALSE(w.AddSeries(profile::LabelSet::FromPairs({{"service_name", "early"}}).value(), early,
                           {{1, 1, values}})
                   .ok());
  ASSERT_TRUE(w.WritePartitionSymbols(early, head).ok());
  auto p = w.AddPartition("svc", head);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(w.AddSeries(profile::LabelSet::FromPairs({{"service_name", "svc"}}).value(), *p,
                          {{1000, 10, values}, {2000, 10, more}})
                  .ok());
  BlockMeta meta;
  ASSERT_TRUE(w.Finish(1, 0, {}, &meta).ok());
  auto block = Block::Open(&env, "/b");
  ASSERT_TRUE(block.ok()) << block.status().ToString();
  const SymbolTable& stored = (*block)->symbols(*p);
  EXPECT_TRUE(stored.grouped_by_parent());
  auto profiles = (*block)->ReadSeries(0);
  ASSERT_TRUE(profiles.ok());
  ASSERT_EQ(profiles->size(), 2u);
  auto stacks = [](const SymbolTable& t, const std::vector<NodeValue>& nvs) {
    std::map<std::vector<std::string>, int64_t> out;
    for (const NodeValue& nv : nvs) {
      std::vector<uint32_t> locs;
      t.StackLocations(nv.node, &locs);
      std::vector<std::string> names;
      for (uint32_t l : locs) names.push_back(t.FrameName(l));
      out[names] += nv.value;
    }
    return out;
  };
  EXPECT_EQ(stacks(stored, (*profiles)[0].samples), stacks(head, values));
  EXPECT_EQ(stacks(stored, (*profiles)[1].samples), stacks(head, more));
}

}  // namespace
}  // namespace stackhouse::tsdb
