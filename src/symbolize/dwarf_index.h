// Internal: address -> inline chain lookup over the DWARF of one ELF (libdw).
//
// At creation the compile units' address ranges are indexed; the first query
// inside a compile unit walks that unit's DIEs once and keeps a tree of its
// functions and inlined instances (address ranges, call file/line), so later
// queries are binary searches. Line tables are read and cached by libdw.
//
// Holds a Dwarf handle over an Elf owned by the caller, which must outlive
// it. Thread-compatible: Lookup() fills caches.
#ifndef STACKHOUSE_SYMBOLIZE_DWARF_INDEX_H_
#define STACKHOUSE_SYMBOLIZE_DWARF_INDEX_H_

#include <elfutils/libdw.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "symbolize/symbolizer.h"

namespace stackhouse::symbolize::internal {

class DwarfIndex {
 public:
  // Null when `elf` has no usable DWARF. `code` are the executable PT_LOAD
  // segments: compile-unit ranges outside them (discarded code) are ignored
  // unless `code` is empty.
  static std::unique_ptr<DwarfIndex> Create(Elf* elf,
                                            const std::vector<ElfSymbolizer::Segment>& code);
  ~DwarfIndex();
  DwarfIndex(const DwarfIndex&) = delete;
  DwarfIndex& operator=(const DwarfIndex&) = delete;

  // Appends the frames for `addr`, innermost first, and returns true when a
  // compile unit covers it. The outermost frame's function may be empty (no
  // subprogram DIE covers the address); the caller fills it from symbols.
  bool Lookup(uint64_t addr, std::vector<Frame>* frames);

 private:
  struct Range {
    uint64_t low;
    uint64_t high;  // exclusive
    int32_t index;  // compile unit or node
  };
  // A subprogram or an inlined instance of one.
  struct Node {
    Dwarf_Die die;
    int32_t parent = -1;  // enclosing function node of an inlined instance, -1 at top
    int32_t first_child = -1;
    int32_t next_sibling = -1;
    uint32_t ranges_begin = 0;  // into Unit::node_ranges
    uint32_t ranges_count = 0;
    int32_t name = -1;  // into Unit::names once resolved, -2 for "none"
    uint64_t call_file = 0;
    int call_line = 0;
    bool inlined = false;
  };
  struct Unit {
    Dwarf_Die cu_die;
    bool built = false;
    std::vector<Node> nodes;
    std::vector<Range> node_ranges;  // per node, in node order
    // Ranges of top-level nodes sorted by low, as columns: low, high, greatest
    // high so far, node.
    std::vector<uint64_t> top_lows, top_highs, top_max_high;
    std::vector<int32_t> top_nodes;
    std::vector<std::string> names;
    Dwarf_Files* files = nullptr;
    size_t num_files = 0;
    bool files_loaded = false;
  };

  explicit DwarfIndex(Dwarf* dwarf) : dwarf_(dwarf) {}
  void IndexUnits(const std::vector<ElfSymbolizer::Segment>& code);
  int FindUnit(uint64_t addr);
  void BuildUnit(Unit& unit);
  bool NodeCovers(const Unit& unit, const Node& node, uint64_t addr) const;
  int FindInnermost(const Unit& unit, uint64_t addr) const;
  const std::string& NodeName(Unit& unit, Node& node);
  std::string CallFile(Unit& unit, uint64_t index);

  Dwarf* dwarf_;
  std::vector<Unit> units_;
  std::vector<Range> unit_ranges_;                                // sorted by low
  std::vector<uint64_t> unit_lows_, unit_highs_, unit_max_high_;  // columns of unit_ranges_
  std::unordered_map<Dwarf_Off, int32_t> unit_by_offset_;
};

}  // namespace stackhouse::symbolize::internal

#endif  // STACKHOUSE_SYMBOLIZE_DWARF_INDEX_H_
