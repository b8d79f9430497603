// Encoding of a profile's samples, shared by WAL records, the head and block
// chunks: the stack ids ascending as uvarint deltas, then the values as
// svarint(value / scale). See docs/format/wal_records.md and block.md.
#ifndef STACKHOUSE_TSDB_SAMPLE_CODEC_H_
#define STACKHOUSE_TSDB_SAMPLE_CODEC_H_

#include <span>
#include <string>
#include <vector>

#include "base/varint.h"
#include "tsdb/source.h"

namespace stackhouse::tsdb {

inline void EncodeSamples(std::span<const NodeValue> sorted, int64_t scale, std::string* out) {
  // Written in place (room for the longest varints, cut back after): one
  // append per varint would check and grow the string every time.
  const size_t at = out->size();
  out->resize(at + sorted.size() * (5 + 10));
  char* const begin = out->data() + at;
  char* p = begin;
  uint32_t prev = 0;
  for (const NodeValue& nv : sorted) {
    p = protowire::PutVarint(p, nv.node - prev);
    prev = nv.node;
  }
  if (scale == 1) {  // (no division per value)
    for (const NodeValue& nv : sorted) p = protowire::PutVarint(p, ZigZag(nv.value));
  } else {
    for (const NodeValue& nv : sorted) p = protowire::PutVarint(p, ZigZag(nv.value / scale));
  }
  out->resize(at + static_cast<size_t>(p - begin));
}

// Decodes n samples appended to *out. Node ids must stay below max_node and
// ascend strictly; returns false otherwise.
inline bool DecodeSamples(VarintReader* in, uint64_t n, int64_t scale, uint32_t max_node,
                          std::vector<NodeValue>* out) {
  size_t base = out->size();
  if (n > in->remaining()) return false;  // at least one byte per delta
  out->resize(base + n);
  uint64_t node = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t d = in->Uvarint();
    if ((i > 0 && d == 0)) return false;
    node += d;
    if (node >= max_node) return false;
    (*out)[base + i].node = static_cast<uint32_t>(node);
  }
  for (uint64_t i = 0; i < n; ++i) {
    if (__builtin_mul_overflow(in->Svarint(), scale, &(*out)[base + i].value)) return false;
  }
  return !in->failed();
}

// Sorts by node and merges equal nodes, dropping zero sums.
void SortAndMerge(std::vector<NodeValue>* samples);
// Sorts samples by node (equal nodes in any order).
void SortByNode(std::vector<NodeValue>* samples);

// Sums of (stack, value) pairs over one partition's stack tree, read back
// as the (node, sum) pairs with non-zero sums in node order (what a
// StackSink takes). Reused across partitions.
class NodeSums {
 public:
  // Starts over for a tree of `nodes` nodes.
  void Reset(size_t nodes);
  void Add(std::span<const NodeValue> values) {
    for (const NodeValue& nv : values) {
      if (sums_[nv.node] == 0) touched_.push_back(nv.node);
      sums_[nv.node] += nv.value;
    }
  }
  // Replaces *out with the non-zero sums, in node order.
  void Values(std::vector<NodeValue>* out);
  // Hands the non-zero sums to a sink, if there are any: the array itself
  // (AddDense) when most nodes were touched, else the list (Add).
  void SendTo(const SymbolTable& symbols, StackSink* sink);

 private:
  bool Dense() const { return touched_.size() > sums_.size() / 16; }

  std::vector<int64_t> sums_;
  std::vector<uint32_t> touched_;  // nodes whose sum left 0 (maybe twice)
  std::vector<NodeValue> values_;  // SendTo's list
};

}  // namespace stackhouse::tsdb

#endif  // STACKHOUSE_TSDB_SAMPLE_CODEC_H_
