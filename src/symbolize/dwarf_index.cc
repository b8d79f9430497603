#include "symbolize/dwarf_index.h"

#include <dwarf.h>

#include <algorithm>
#include <string_view>

namespace stackhouse::symbolize::internal {
namespace {

// Limits that keep hostile DWARF from costing unbounded time or memory.
constexpr int kMaxDieDepth = 256;               // nesting followed when walking a unit
constexpr size_t kMaxDiesPerUnit = 50'000'000;  // DIEs visited per unit
constexpr int kMaxRangesPerDie = 1 << 16;       // address ranges read per DIE
constexpr size_t kMaxInlineDepth = 1024;        // frames of one inline chain
constexpr int kMaxOverlapScan = 64;             // overlapping ranges examined per lookup

// The covering range with the greatest start among `ranges` (sorted by low),
// or -1. `max_high[i]` is the greatest high of ranges[0..i].
int FindCovering(const std::vector<uint64_t>& lows, const std::vector<uint64_t>& max_high,
                 const std::vector<uint64_t>& highs, uint64_t addr) {
  auto it = std::upper_bound(lows.begin(), lows.end(), addr);
  int i = static_cast<int>(it - lows.begin()) - 1;
  for (int scanned = 0; i >= 0 && scanned < kMaxOverlapScan; --i, ++scanned) {
    if (max_high[i] <= addr) return -1;  // nothing at or before i reaches addr
    if (highs[i] > addr) return i;
  }
  return -1;
}

// Appends the [low, high) address ranges of `die` with low != 0 (zero is where
// linkers leave discarded code) to `out`, tagged with `index`.
template <typename Vec>
void AppendRanges(Dwarf_Die* die, int32_t index, Vec* out) {
  Dwarf_Addr base = 0, low = 0, high = 0;
  ptrdiff_t offset = 0;
  for (int n = 0; n < kMaxRangesPerDie; ++n) {
    offset = dwarf_ranges(die, offset, &base, &low, &high);
    if (offset <= 0) break;
    if (low != 0 && low < high) out->push_back({low, high, index});
  }
}

bool FormUdata(Dwarf_Die* die, unsigned int name, uint64_t* out) {
  Dwarf_Attribute attr;
  Dwarf_Word value = 0;
  if (dwarf_attr(die, name, &attr) == nullptr || dwarf_formudata(&attr, &value) != 0) return false;
  *out = value;
  return true;
}

const char* FormString(Dwarf_Die* die, unsigned int name) {
  Dwarf_Attribute attr;
  if (dwarf_attr_integrate(die, name, &attr) == nullptr) return nullptr;
  return dwarf_formstring(&attr);
}

}  // namespace

std::unique_ptr<DwarfIndex> DwarfIndex::Create(Elf* elf,
                                               const std::vector<ElfSymbolizer::Segment>& code) {
  Dwarf* dwarf = dwarf_begin_elf(elf, DWARF_C_READ, nullptr);
  if (dwarf == nullptr) return nullptr;
  std::unique_ptr<DwarfIndex> index(new DwarfIndex(dwarf));
  index->IndexUnits(code);
  if (index->units_.empty()) return nullptr;
  return index;
}

DwarfIndex::~DwarfIndex() { dwarf_end(dwarf_); }

void DwarfIndex::IndexUnits(const std::vector<ElfSymbolizer::Segment>& code) {
  auto in_code = [&code](uint64_t addr) {
    if (code.empty()) return true;
    for (const auto& seg : code) {
      if (addr >= seg.vaddr && addr - seg.vaddr < seg.memsz) return true;
    }
    return false;
  };
  std::vector<Range> ranges;
  Dwarf_CU* cu = nullptr;
  Dwarf_CU* next = nullptr;
  Dwarf_Half version = 0;
  uint8_t unit_type = 0;
  Dwarf_Die cu_die;
  while (dwarf_get_units(dwarf_, cu, &next, &version, &unit_type, &cu_die, nullptr) == 0) {
    cu = next;
    if (unit_type != DW_UT_compile && unit_type != DW_UT_skeleton) continue;
    int tag = dwarf_tag(&cu_die);
    if (tag != DW_TAG_compile_unit && tag != DW_TAG_skeleton_unit) continue;
    int32_t index = static_cast<int32_t>(units_.size());
    units_.emplace_back();
    units_.back().cu_die = cu_die;
    unit_by_offset_[dwarf_dieoffset(&cu_die)] = index;
    size_t first = ranges.size();
    AppendRanges(&cu_die, index, &ranges);
    ranges.erase(std::remove_if(ranges.begin() + first, ranges.end(),
                                [&](const Range& r) { return !in_code(r.low); }),
                 ranges.end());
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.low < b.low; });
  unit_ranges_ = std::move(ranges);
  unit_lows_.reserve(unit_ranges_.size());
  unit_highs_.reserve(unit_ranges_.size());
  unit_max_high_.reserve(unit_ranges_.size());
  uint64_t max_high = 0;
  for (const Range& r : unit_ranges_) {
    max_high = std::max(max_high, r.high);
    unit_lows_.push_back(r.low);
    unit_highs_.push_back(r.high);
    unit_max_high_.push_back(max_high);
  }
}

int DwarfIndex::FindUnit(uint64_t addr) {
  int i = FindCovering(unit_lows_, unit_max_high_, unit_highs_, addr);
  if (i >= 0) return unit_ranges_[i].index;
  // Units without range attributes: ask .debug_aranges.
  Dwarf_Die cu_die;
  if (dwarf_addrdie(dwarf_, addr, &cu_die) == nullptr) return -1;
  auto it = unit_by_offset_.find(dwarf_dieoffset(&cu_die));
  return it != unit_by_offset_.end() ? it->second : -1;
}

void DwarfIndex::BuildUnit(Unit& unit) {
  unit.built = true;
  struct Item {
    Dwarf_Die die;
    int32_t enclosing;  // innermost function node around the DIE, or -1
    int depth;
  };
  std::vector<Item> stack;
  Dwarf_Die child;
  if (dwarf_child(&unit.cu_die, &child) == 0) stack.push_back({child, -1, 1});
  std::vector<Range> top;
  size_t visited = 0;
  Dwarf_Off last_offset = 0;
  while (!stack.empty() && visited++ < kMaxDiesPerUnit) {
    Item item = stack.back();
    stack.pop_back();
    // Children are visited before siblings, so a well-formed unit is walked in
    // increasing DIE offsets; anything else (a hostile DW_AT_sibling pointing
    // into a subtree already walked) would visit DIEs again.
    Dwarf_Off offset = dwarf_dieoffset(&item.die);
    if (offset <= last_offset) continue;
    last_offset = offset;
    Dwarf_Die sibling;
    // Siblings must move forward, or a hostile DW_AT_sibling could loop.
    if (dwarf_siblingof(&item.die, &sibling) == 0 && dwarf_dieoffset(&sibling) > offset) {
      stack.push_back({sibling, item.enclosing, item.depth});
    }
    int32_t enclosing = item.enclosing;
    bool descend = false;
    switch (dwarf_tag(&item.die)) {
      case DW_TAG_subprogram:
      case DW_TAG_inlined_subroutine:
      case DW_TAG_entry_point: {
        descend = true;
        Node node;
        node.die = item.die;
        node.inlined = dwarf_tag(&item.die) == DW_TAG_inlined_subroutine;
        node.ranges_begin = static_cast<uint32_t>(unit.node_ranges.size());
        int32_t index = static_cast<int32_t>(unit.nodes.size());
        AppendRanges(&item.die, index, &unit.node_ranges);
        node.ranges_count = static_cast<uint32_t>(unit.node_ranges.size() - node.ranges_begin);
        if (node.ranges_count == 0) break;  // a declaration or an abstract instance
        if (node.inlined) {
          uint64_t line = 0;
          FormUdata(&item.die, DW_AT_call_file, &node.call_file);
          if (FormUdata(&item.die, DW_AT_call_line, &line) && line <= INT32_MAX) {
            node.call_line = static_cast<int>(line);
          }
        }
        if (node.inlined && enclosing >= 0) {
          node.parent = enclosing;
          node.next_sibling = unit.nodes[enclosing].first_child;
          unit.nodes[enclosing].first_child = index;
        } else {
          top.insert(top.end(), unit.node_ranges.begin() + node.ranges_begin,
                     unit.node_ranges.end());
        }
        unit.nodes.push_back(node);
        enclosing = index;
        break;
      }
      case DW_TAG_lexical_block:
      case DW_TAG_namespace:
      case DW_TAG_module:
      case DW_TAG_try_block:
      case DW_TAG_catch_block:
        descend = true;
        break;
      default:
        break;
    }
    if (descend && item.depth < kMaxDieDepth && dwarf_child(&item.die, &child) == 0) {
      stack.push_back({child, enclosing, item.depth + 1});
    }
  }
  std::sort(top.begin(), top.end(), [](const Range& a, const Range& b) { return a.low < b.low; });
  uint64_t max_high = 0;
  for (const Range& r : top) {
    max_high = std::max(max_high, r.high);
    unit.top_lows.push_back(r.low);
    unit.top_highs.push_back(r.high);
    unit.top_max_high.push_back(max_high);
    unit.top_nodes.push_back(r.index);
  }
}

bool DwarfIndex::NodeCovers(const Unit& unit, const Node& node, uint64_t addr) const {
  for (uint32_t i = 0; i < node.ranges_count; ++i) {
    const Range& r = unit.node_ranges[node.ranges_begin + i];
    if (addr >= r.low && addr < r.high) return true;
  }
  return false;
}

int DwarfIndex::FindInnermost(const Unit& unit, uint64_t addr) const {
  int i = FindCovering(unit.top_lows, unit.top_max_high, unit.top_highs, addr);
  if (i < 0) return -1;
  int32_t node = unit.top_nodes[i];
  for (size_t depth = 0; depth < kMaxInlineDepth; ++depth) {
    int32_t inner = -1;
    for (int32_t c = unit.nodes[node].first_child; c >= 0; c = unit.nodes[c].next_sibling) {
      if (NodeCovers(unit, unit.nodes[c], addr)) {
        inner = c;
        break;
      }
    }
    if (inner < 0) break;
    node = inner;
  }
  return node;
}

const std::string& DwarfIndex::NodeName(Unit& unit, Node& node) {
  if (node.name < 0) {
    std::string name;
    const char* linkage = FormString(&node.die, DW_AT_linkage_name);
    if (linkage == nullptr) linkage = FormString(&node.die, DW_AT_MIPS_linkage_name);
    if (linkage != nullptr && linkage[0] != '\0') {
      name = Demangle(linkage);
    } else if (const char* plain = FormString(&node.die, DW_AT_name); plain != nullptr) {
      name = plain;
    }
    node.name = static_cast<int32_t>(unit.names.size());
    unit.names.push_back(std::move(name));
  }
  return unit.names[node.name];
}

std::string DwarfIndex::CallFile(Unit& unit, uint64_t index) {
  if (!unit.files_loaded) {
    unit.files_loaded = true;
    if (dwarf_getsrcfiles(&unit.cu_die, &unit.files, &unit.num_files) != 0) {
      unit.files = nullptr;
      unit.num_files = 0;
    }
  }
  if (unit.files == nullptr || index >= unit.num_files) return "";
  const char* name = dwarf_filesrc(unit.files, index, nullptr, nullptr);
  if (name == nullptr || std::string_view(name) == "???") return "";
  return name;
}

bool DwarfIndex::Lookup(uint64_t addr, std::vector<Frame>* frames) {
  int u = FindUnit(addr);
  if (u < 0) return false;
  Unit& unit = units_[u];
  if (!unit.built) BuildUnit(unit);

  Frame frame;
  if (Dwarf_Line* line = dwarf_getsrc_die(&unit.cu_die, addr); line != nullptr) {
    const char* src = dwarf_linesrc(line, nullptr, nullptr);
    int lineno = 0;
    if (src != nullptr) frame.file = src;
    if (dwarf_lineno(line, &lineno) == 0 && lineno > 0) frame.line = lineno;
  }
  int32_t node = FindInnermost(unit, addr);
  for (size_t depth = 0; node >= 0 && depth < kMaxInlineDepth; ++depth) {
    Node& n = unit.nodes[node];
    frame.function = NodeName(unit, n);
    frames->push_back(std::move(frame));
    if (!n.inlined) return true;
    // The caller's frame is at the call site of this inlined instance.
    frame = Frame();
    frame.file = CallFile(unit, n.call_file);
    frame.line = n.call_line;
    node = n.parent;
  }
  if (node < 0) frames->push_back(std::move(frame));  // no function, or an orphan inline
  return true;
}

}  // namespace stackhouse::symbolize::internal
