#include "tsdb/symbols.h"

#include <algorithm>
#include <cstdio>

#include "base/memory.h"
#include "base/strings.h"
#include "base/varint.h"

namespace stackhouse::tsdb {

namespace {

// The heap bytes MemoryBytes() counts per entry (its indexes aside).
constexpr size_t kNodeBytes = 28;  // a stack node
constexpr size_t kMappingBytes = sizeof(SymMapping) + 8;
constexpr size_t kFunctionBytes = sizeof(SymFunction) + 8;
size_t StringBytes(const std::string& s) { return s.size() + sizeof(std::string) + 8; }
size_t LocationBytes(const SymLocation& l) {
  return sizeof(SymLocation) + l.line_count * sizeof(SymLine) + 8;
}

constexpr uint32_t kUnmapped = UINT32_MAX;
constexpr uint64_t kNoSymbolHash = 0x51afd7ed558ccd00ULL;  // content hash of "none"
}  // namespace

uint64_t SymbolTable::MappingContentHash(const SymMapping& m, uint64_t filename,
                                         uint64_t build_id) {
  return HashMix(HashMix(HashMix(HashMix(HashMix(HashMix(0xa0, m.memory_start), m.memory_limit),
                                         m.file_offset),
                                 filename),
                         build_id),
                 m.flags);
}

SymbolTable::SymbolTable() {
  strings_.emplace_back();
  NoteString(0);
  parents_.push_back(0);
  node_locations_.push_back(0);
  node_hashes_.push_back(RootPathHash());
}

SymbolTable::Sizes SymbolTable::sizes() const {
  return {static_cast<uint32_t>(strings_.size()), static_cast<uint32_t>(mappings_.size()),
          static_cast<uint32_t>(functions_.size()), static_cast<uint32_t>(locations_.size()),
          static_cast<uint32_t>(parents_.size())};
}

uint64_t SymbolTable::NoteString(size_t i) {
  uint64_t h = StringContentHash(strings_[i]);
  string_hashes_.push_back(h);
  memory_bytes_ += StringBytes(strings_[i]);
  return h;
}

uint64_t SymbolTable::NoteMapping(size_t i) {
  const SymMapping& m = mappings_[i];
  uint64_t h = MappingContentHash(m, string_hashes_[m.filename], string_hashes_[m.build_id]);
  mapping_hashes_.push_back(h);
  memory_bytes_ += kMappingBytes;
  return h;
}

uint64_t SymbolTable::NoteFunction(size_t i) {
  const SymFunction& f = functions_[i];
  uint64_t h = FunctionContentHash(string_hashes_[f.name], string_hashes_[f.system_name],
                                   string_hashes_[f.filename], f.start_line);
  function_hashes_.push_back(h);
  memory_bytes_ += kFunctionBytes;
  return h;
}

uint64_t SymbolTable::NoteLocation(size_t i) {
  const SymLocation& l = locations_[i];
  uint64_t h = LocationContentHash(l.mapping ? mapping_hashes_[l.mapping - 1] : kNoSymbolHash,
                                   l.address, l.line_count);
  for (const SymLine& line : lines(l)) {
    h = AddLineToContentHash(h, line.function ? function_hashes_[line.function - 1] : kNoSymbolHash,
                             line.line);
  }
  location_hashes_.push_back(h);
  memory_bytes_ += LocationBytes(l);
  return h;
}

void SymbolTable::EnsureIndexes() {
  if (indexed_) return;
  indexed_ = true;
  auto build = [](HashIndex* index, const std::vector<uint64_t>& hashes) {
    index->Reserve(hashes.size());
    for (uint32_t i = 0; i < hashes.size(); ++i) {
      index->FindOrInsert(hashes[i], i, [](uint32_t) { return false; });
    }
  };
  build(&string_index_, string_hashes_);
  build(&mapping_index_, mapping_hashes_);
  build(&function_index_, function_hashes_);
  location_index_.Reserve(location_hashes_.size());
  for (uint32_t i = 0; i < location_hashes_.size(); ++i) location_index_.FindOrInsert(location_hashes_[i], i);
  node_index_.Reserve(parents_.size());
  for (uint32_t n = 1; n < parents_.size(); ++n) node_index_.FindOrInsert(node_hashes_[n], n);
  memory_bytes_ += (strings_.size() + mappings_.size() + functions_.size()) * 12 +
                   (locations_.size() + parents_.size()) * HashKeyIndex::kSlotBytes * 3 / 2;
}

uint32_t SymbolTable::String(std::string_view s) {
  if (s.empty()) return 0;
  EnsureIndexes();
  uint32_t next = static_cast<uint32_t>(strings_.size());
  uint32_t id = string_index_.FindOrInsert(StringContentHash(s), next,
                                           [&](uint32_t i) { return strings_[i] == s; });
  if (id == next) {
    strings_.emplace_back(s);
    NoteString(next);
  }
  return id;
}

uint32_t SymbolTable::Mapping(const SymMapping& m) {
  EnsureIndexes();
  uint64_t h = MappingContentHash(m, string_hashes_[m.filename], string_hashes_[m.build_id]);
  uint32_t next = static_cast<uint32_t>(mappings_.size());
  uint32_t id = mapping_index_.FindOrInsert(h, next, [&](uint32_t i) { return mappings_[i] == m; });
  if (id == next) {
    mappings_.push_back(m);
    NoteMapping(next);
  }
  return id + 1;
}

uint32_t SymbolTable::Function(const SymFunction& f) {
  EnsureIndexes();
  uint64_t h = FunctionContentHash(string_hashes_[f.name], string_hashes_[f.system_name],
                                   string_hashes_[f.filename], f.start_line);
  uint32_t next = static_cast<uint32_t>(functions_.size());
  uint32_t id = function_index_.FindOrInsert(h, next, [&](uint32_t i) { return functions_[i] == f; });
  if (id == next) {
    functions_.push_back(f);
    NoteFunction(next);
  }
  return id + 1;
}

uint32_t SymbolTable::Location(uint32_t mapping, uint64_t address,
                               std::span<const SymLine> lines) {
  EnsureIndexes();
  uint64_t h = LocationContentHash(mapping ? mapping_hashes_[mapping - 1] : kNoSymbolHash, address,
                                   lines.size());
  for (const SymLine& line : lines) {
    h = AddLineToContentHash(h, line.function ? function_hashes_[line.function - 1] : kNoSymbolHash,
                             line.line);
  }
  uint32_t next = static_cast<uint32_t>(locations_.size());
  uint32_t id = location_index_.FindOrInsert(h, next);
  if (id == next) {
    SymLocation l;
    l.mapping = mapping;
    l.address = address;
    l.line_begin = static_cast<uint32_t>(lines_.size());
    l.line_count = static_cast<uint32_t>(lines.size());
    lines_.insert(lines_.end(), lines.begin(), lines.end());
    locations_.push_back(l);
    NoteLocation(next);
  }
  return id;
}

uint32_t SymbolTable::FindLocationByContent(uint64_t h) {
  EnsureIndexes();
  uint32_t id = location_index_.Find(h);
  return id == HashKeyIndex::kEmpty ? UINT32_MAX : id;
}

uint32_t SymbolTable::Child(uint32_t parent, uint32_t location) {
  EnsureIndexes();
  uint64_t h = MixPathHash(node_hashes_[parent], location);
  uint32_t next = static_cast<uint32_t>(parents_.size());
  uint32_t id = node_index_.FindOrInsert(h, next);
  if (id == next) {
    // A table that grows no longer promises the block order.
    grouped_by_parent_ = grouped_by_parent_ && parent >= parents_.back();
    parents_.push_back(parent);
    node_locations_.push_back(location);
    node_hashes_.push_back(h);
    memory_bytes_ += kNodeBytes;
  }
  return id;
}

uint32_t SymbolTable::Stack(std::span<const uint32_t> leaf_first, uint64_t h) {
  EnsureIndexes();
  if (leaf_first.empty()) return 0;
  // `h` is the hash of the root-first path, as the tree computes it. A
  // stack seen before is found with one lookup; its path is identified by
  // the 64-bit hash (a collision, ~n^2/2^65, would merge two stacks).
  uint32_t found = node_index_.Find(h);
  if (found != HashKeyIndex::kEmpty) return found;
  // A new stack. Its longest prefix already in the tree is found by the
  // prefixes' path hashes (if a prefix is in the tree, so are the shorter
  // ones), galloping from the leaf, since new stacks mostly differ from
  // known ones near it; only the frames after it are added.
  const size_t depth = leaf_first.size();
  thread_local std::vector<uint64_t> prefix;  // prefix[k]: the first k + 1 frames'
  prefix.resize(depth);
  uint64_t ph = RootPathHash();
  for (size_t k = 0; k < depth; ++k) prefix[k] = ph = MixPathHash(ph, leaf_first[depth - 1 - k]);
  size_t lo = 0, hi = depth;  // a prefix of lo frames is in the tree (0: the root), of hi not
  uint32_t node = 0;
  auto known = [&](size_t len) {
    uint32_t n = node_index_.Find(prefix[len - 1]);
    if (n == HashKeyIndex::kEmpty) return false;
    node = n;
    return true;
  };
  for (size_t step = 1; hi - lo > 1; step *= 2) {
    const size_t len = hi > lo + step ? hi - step : lo + 1;
    if (known(len)) {
      lo = len;
      break;
    }
    hi = len;
  }
  while (hi - lo > 1) {
    const size_t mid = lo + (hi - lo) / 2;
    if (known(mid)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  for (size_t k = lo; k < depth; ++k) node = Child(node, leaf_first[depth - 1 - k]);
  return node;
}

void SymbolTable::StackLocations(uint32_t node, std::vector<uint32_t>* leaf_first) const {
  while (node != 0) {
    leaf_first->push_back(node_locations_[node]);
    node = parents_[node];
  }
}

std::string SymbolTable::FrameName(uint32_t location) const {
  const SymLocation& l = locations_[location];
  if (l.line_count > 0) {
    uint32_t f = lines_[l.line_begin].function;
    if (f != 0 && f <= functions_.size()) {
      const SymFunction& fn = functions_[f - 1];
      if (fn.name != 0) return strings_[fn.name];
      if (fn.system_name != 0) return strings_[fn.system_name];
    }
  }
  char addr[32];
  std::snprintf(addr, sizeof addr, "0x%llx", static_cast<unsigned long long>(l.address));
  if (l.mapping != 0 && l.mapping <= mappings_.size()) {
    std::string_view file = strings_[mappings_[l.mapping - 1].filename];
    size_t slash = file.rfind('/');
    if (slash != std::string_view::npos) file = file.substr(slash + 1);
    if (!file.empty()) return StrCat(file, "+", addr);
  }
  return addr;
}

bool SymbolTable::FrameNames(uint32_t location, std::vector<std::string_view>* out) const {
  const SymLocation& l = locations_[location];
  bool any = false;
  for (const SymLine& line : lines(l)) {
    if (line.function == 0 || line.function > functions_.size()) continue;
    const SymFunction& fn = functions_[line.function - 1];
    uint32_t s = fn.name != 0 ? fn.name : fn.system_name;
    if (s == 0) continue;
    out->push_back(strings_[s]);
    any = true;
  }
  return any;
}

// --- encoding ------------------------------------------------------------------

namespace {

void PutMapping(std::string* out, const SymMapping& m) {
  PutUvarint(out, m.memory_start);
  PutUvarint(out, m.memory_limit - m.memory_start);
  PutUvarint(out, m.file_offset);
  PutUvarint(out, m.filename);
  PutUvarint(out, m.build_id);
  out->push_back(static_cast<char>(m.flags));
}

void PutFunction(std::string* out, const SymFunction& f) {
  PutUvarint(out, f.name);
  PutUvarint(out, f.system_name);
  PutUvarint(out, f.filename);
  PutSvarint(out, f.start_line);
}

}  // namespace

void SymbolTable::EncodeDelta(const Sizes& from, std::string* out) const {
  Sizes now = sizes();
  PutUvarint(out, from.strings);
  PutUvarint(out, now.strings - from.strings);
  for (uint32_t i = from.strings; i < now.strings; ++i) PutString(out, strings_[i]);
  PutUvarint(out, from.mappings);
  PutUvarint(out, now.mappings - from.mappings);
  for (uint32_t i = from.mappings; i < now.mappings; ++i) PutMapping(out, mappings_[i]);
  PutUvarint(out, from.functions);
  PutUvarint(out, now.functions - from.functions);
  for (uint32_t i = from.functions; i < now.functions; ++i) PutFunction(out, functions_[i]);
  PutUvarint(out, from.locations);
  PutUvarint(out, now.locations - from.locations);
  for (uint32_t i = from.locations; i < now.locations; ++i) {
    const SymLocation& l = locations_[i];
    PutUvarint(out, l.mapping);
    PutUvarint(out, l.address);
    PutUvarint(out, l.line_count);
    for (const SymLine& line : lines(l)) {
      PutUvarint(out, line.function);
      PutSvarint(out, line.line);
    }
  }
  PutUvarint(out, from.nodes);
  PutUvarint(out, now.nodes - from.nodes);
  for (uint32_t n = from.nodes; n < now.nodes; ++n) {
    PutUvarint(out, n - parents_[n]);
    PutUvarint(out, node_locations_[n]);
  }
}

Status SymbolTable::DecodeDelta(protowire::Reader* r) {
  VarintReader in(r);
  Sizes now = sizes();
  auto base = [&](uint32_t expected, const char* what) -> Status {
    uint64_t b = in.Uvarint();
    if (in.failed() || b != expected) {
      return DataLossError(StrCat("symbol delta for ", what, " starts at ", b, " but the table has ",
                                  expected, " entries"));
    }
    return OkStatus();
  };
  auto count = [&](size_t min_bytes_each) { return in.Count(min_bytes_each); };
  SH_RETURN_IF_ERROR(base(now.strings, "strings"));
  uint64_t n = count(1);
  for (uint64_t i = 0; i < n && !in.failed(); ++i) {
    std::string_view s = in.String();
    if (in.failed()) break;
    strings_.emplace_back(s);
    uint64_t h = NoteString(strings_.size() - 1);
    if (indexed_) string_index_.FindOrInsert(h, strings_.size() - 1, [](uint32_t) { return false; });
  }
  uint32_t nstrings = static_cast<uint32_t>(strings_.size());
  SH_RETURN_IF_ERROR(base(now.mappings, "mappings"));
  n = count(6);
  for (uint64_t i = 0; i < n && !in.failed(); ++i) {
    SymMapping m;
    m.memory_start = in.Uvarint();
    m.memory_limit = m.memory_start + in.Uvarint();
    m.file_offset = in.Uvarint();
    m.filename = in.Id(nstrings);
    m.build_id = in.Id(nstrings);
    m.flags = in.Byte();
    if (in.failed()) break;
    mappings_.push_back(m);
    uint64_t h = NoteMapping(mappings_.size() - 1);
    if (indexed_) mapping_index_.FindOrInsert(h, mappings_.size() - 1, [](uint32_t) { return false; });
  }
  SH_RETURN_IF_ERROR(base(now.functions, "functions"));
  n = count(4);
  for (uint64_t i = 0; i < n && !in.failed(); ++i) {
    SymFunction f;
    f.name = in.Id(nstrings);
    f.system_name = in.Id(nstrings);
    f.filename = in.Id(nstrings);
    f.start_line = in.Svarint();
    if (in.failed()) break;
    functions_.push_back(f);
    uint64_t h = NoteFunction(functions_.size() - 1);
    if (indexed_) function_index_.FindOrInsert(h, functions_.size() - 1, [](uint32_t) { return false; });
  }
  SH_RETURN_IF_ERROR(base(now.locations, "locations"));
  n = count(3);
  for (uint64_t i = 0; i < n && !in.failed(); ++i) {
    SymLocation l;
    l.mapping = in.Id(static_cast<uint32_t>(mappings_.size()) + 1);
    l.address = in.Uvarint();
    uint64_t nlines = count(2);
    l.line_begin = static_cast<uint32_t>(lines_.size());
    l.line_count = static_cast<uint32_t>(nlines);
    for (uint64_t k = 0; k < nlines && !in.failed(); ++k) {
      SymLine line;
      line.function = in.Id(static_cast<uint32_t>(functions_.size()) + 1);
      line.line = in.Svarint();
      lines_.push_back(line);
    }
    if (in.failed()) break;
    locations_.push_back(l);
    uint64_t h = NoteLocation(locations_.size() - 1);
    if (indexed_) location_index_.FindOrInsert(h, static_cast<uint32_t>(locations_.size() - 1));
  }
  SH_RETURN_IF_ERROR(base(now.nodes, "stacks"));
  n = count(2);
  for (uint64_t i = 0; i < n && !in.failed(); ++i) {
    uint32_t node = static_cast<uint32_t>(parents_.size());
    uint64_t delta = in.Uvarint();
    uint32_t loc = in.Id(static_cast<uint32_t>(locations_.size()));
    if (in.failed() || delta == 0 || delta > node) {
      in.Fail();
      break;
    }
    uint32_t parent = node - static_cast<uint32_t>(delta);
    uint64_t h = MixPathHash(node_hashes_[parent], loc);
    grouped_by_parent_ = grouped_by_parent_ && parent >= parents_.back();
    parents_.push_back(parent);
    node_locations_.push_back(loc);
    node_hashes_.push_back(h);
    memory_bytes_ += kNodeBytes;
    if (indexed_) node_index_.FindOrInsert(h, node);
  }
  if (in.failed()) return DataLossError("malformed symbol delta");
  return OkStatus();
}

void GroupByParent(const std::vector<uint32_t>& parents, const uint8_t* keep,
                   std::vector<uint32_t>* start, std::vector<uint32_t>* children) {
  const size_t n = parents.size();
  AssignHuge(start, n + 1, 0);
  size_t kept = 0;
  for (size_t i = 1; i < n; ++i) {
    if (keep == nullptr || keep[i]) {
      ++(*start)[parents[i] + 1];
      ++kept;
    }
  }
  for (size_t i = 0; i < n; ++i) (*start)[i + 1] += (*start)[i];
  AssignHuge(children, kept, 0);
  // Filled through start[] itself: afterwards start[p] is where p's group
  // ends, which is where p + 1's begins; shifted back by one.
  for (size_t i = 1; i < n; ++i) {
    if (keep == nullptr || keep[i]) (*children)[(*start)[parents[i]]++] = static_cast<uint32_t>(i);
  }
  for (size_t i = n; i > 0; --i) (*start)[i] = (*start)[i - 1];
  (*start)[0] = 0;
}

SymbolTable::NodeOrder SymbolTable::BreadthFirstOrder() const {
  const size_t n = parents_.size();
  std::vector<uint32_t> start, children;
  GroupByParent(parents_, nullptr, &start, &children);
  NodeOrder o;
  o.order.reserve(n);
  if (n > 0) o.order.push_back(0);
  for (size_t k = 0; k < o.order.size(); ++k) {  // a queue from the root
    const uint32_t p = o.order[k];
    o.order.insert(o.order.end(), children.begin() + start[p], children.begin() + start[p + 1]);
  }
  o.ids.resize(n);
  for (size_t m = 0; m < n; ++m) o.ids[o.order[m]] = static_cast<uint32_t>(m);
  return o;
}

void SymbolTable::EncodeSections(std::string* strings, std::string* mappings,
                                 std::string* functions, std::string* locations,
                                 std::string* stacks, const NodeOrder* order) const {
  PutUvarint(strings, strings_.size());
  for (const std::string& s : strings_) PutString(strings, s);
  PutUvarint(mappings, mappings_.size());
  for (const SymMapping& m : mappings_) PutMapping(mappings, m);
  PutUvarint(functions, functions_.size());
  for (const SymFunction& f : functions_) PutFunction(functions, f);
  PutUvarint(locations, locations_.size());
  for (const SymLocation& l : locations_) {
    PutUvarint(locations, l.mapping);
    PutUvarint(locations, l.address);
    PutUvarint(locations, l.line_count);
    for (const SymLine& line : lines(l)) {
      PutUvarint(locations, line.function);
      PutSvarint(locations, line.line);
    }
  }
  PutUvarint(stacks, parents_.size());
  if (order == nullptr) {
    for (size_t n = 1; n < parents_.size(); ++n) PutUvarint(stacks, n - parents_[n]);
    for (size_t n = 1; n < parents_.size(); ++n) PutUvarint(stacks, node_locations_[n]);
    return;
  }
  const std::vector<uint32_t>& renumbered = order->order;
  for (size_t m = 1; m < renumbered.size(); ++m) {
    PutUvarint(stacks, m - order->ids[parents_[renumbered[m]]]);
  }
  for (size_t m = 1; m < renumbered.size(); ++m) PutUvarint(stacks, node_locations_[renumbered[m]]);
}

SymbolTable SymbolTable::Renumbered(const NodeOrder& order) const {
  SymbolTable t;
  t.strings_ = strings_;
  t.mappings_ = mappings_;
  t.functions_ = functions_;
  t.locations_ = locations_;
  t.lines_ = lines_;
  t.string_hashes_ = string_hashes_;
  t.mapping_hashes_ = mapping_hashes_;
  t.function_hashes_ = function_hashes_;
  t.location_hashes_ = location_hashes_;
  const size_t n = order.order.size();
  t.parents_.resize(n);
  t.node_locations_.resize(n);
  t.node_hashes_.resize(n);
  for (size_t m = 0; m < n; ++m) {
    const uint32_t old = order.order[m];
    t.parents_[m] = m == 0 ? 0 : order.ids[parents_[old]];
    t.node_locations_[m] = node_locations_[old];
    t.node_hashes_[m] = node_hashes_[old];  // a path's hash does not depend on the numbering
  }
  t.grouped_by_parent_ = n < 2 || std::is_sorted(t.parents_.begin() + 1, t.parents_.end());
  // As DecodeSections counts it (no indexes).
  t.memory_bytes_ = n * kNodeBytes + mappings_.size() * kMappingBytes +
                    functions_.size() * kFunctionBytes;
  for (const std::string& str : strings_) t.memory_bytes_ += StringBytes(str);
  for (const SymLocation& l : locations_) t.memory_bytes_ += LocationBytes(l);
  return t;
}

StatusOr<SymbolTable> SymbolTable::DecodeSections(std::string_view strings,
                                                  std::string_view mappings,
                                                  std::string_view functions,
                                                  std::string_view locations,
                                                  std::string_view stacks) {
  SymbolTable t;
  t.strings_.clear();
  t.parents_.clear();
  t.node_locations_.clear();
  t.node_hashes_.clear();
  auto fail = [](const char* what) {
    return DataLossError(StrCat("symbols: malformed ", what, " section"));
  };
  {
    protowire::Reader r(strings);
    VarintReader in(&r);
    uint64_t n = in.Count(1);
    for (uint64_t i = 0; i < n && !in.failed(); ++i) t.strings_.emplace_back(in.String());
    if (in.failed() || !in.done() || t.strings_.empty() || !t.strings_[0].empty()) return fail("strings");
  }
  uint32_t nstrings = static_cast<uint32_t>(t.strings_.size());
  {
    protowire::Reader r(mappings);
    VarintReader in(&r);
    uint64_t n = in.Count(6);
    for (uint64_t i = 0; i < n && !in.failed(); ++i) {
      SymMapping m;
      m.memory_start = in.Uvarint();
      m.memory_limit = m.memory_start + in.Uvarint();
      m.file_offset = in.Uvarint();
      m.filename = in.Id(nstrings);
      m.build_id = in.Id(nstrings);
      m.flags = in.Byte();
      t.mappings_.push_back(m);
    }
    if (in.failed() || !in.done()) return fail("mappings");
  }
  {
    protowire::Reader r(functions);
    VarintReader in(&r);
    uint64_t n = in.Count(4);
    for (uint64_t i = 0; i < n && !in.failed(); ++i) {
      SymFunction f;
      f.name = in.Id(nstrings);
      f.system_name = in.Id(nstrings);
      f.filename = in.Id(nstrings);
      f.start_line = in.Svarint();
      t.functions_.push_back(f);
    }
    if (in.failed() || !in.done()) return fail("functions");
  }
  {
    protowire::Reader r(locations);
    VarintReader in(&r);
    uint64_t n = in.Count(3);
    uint32_t nmappings = static_cast<uint32_t>(t.mappings_.size()) + 1;
    uint32_t nfunctions = static_cast<uint32_t>(t.functions_.size()) + 1;
    for (uint64_t i = 0; i < n && !in.failed(); ++i) {
      SymLocation l;
      l.mapping = in.Id(nmappings);
      l.address = in.Uvarint();
      uint64_t nlines = in.Count(2);
      l.line_begin = static_cast<uint32_t>(t.lines_.size());
      l.line_count = static_cast<uint32_t>(nlines);
      for (uint64_t k = 0; k < nlines && !in.failed(); ++k) {
        SymLine line;
        line.function = in.Id(nfunctions);
        line.line = in.Svarint();
        t.lines_.push_back(line);
      }
      t.locations_.push_back(l);
    }
    if (in.failed() || !in.done()) return fail("locations");
  }
  {
    protowire::Reader r(stacks);
    VarintReader in(&r);
    uint64_t n = in.Uvarint();  // nodes, the root included: 2 varints per non-root node
    if (n == 0 || n - 1 > in.remaining() / 2) return fail("stacks");
    t.parents_.resize(n);
    t.node_locations_.resize(n);
    t.parents_[0] = 0;
    for (uint64_t i = 1; i < n && !in.failed(); ++i) {
      uint64_t delta = in.Uvarint();
      if (delta == 0 || delta > i) in.Fail();
      t.parents_[i] = static_cast<uint32_t>(i - delta);
    }
    uint32_t nlocs = static_cast<uint32_t>(t.locations_.size());
    for (uint64_t i = 1; i < n && !in.failed(); ++i) t.node_locations_[i] = in.Id(nlocs);
    if (in.failed() || !in.done()) return fail("stacks");
    t.node_hashes_.resize(n);
    t.node_hashes_[0] = RootPathHash();
    for (uint64_t i = 1; i < n; ++i) {
      t.node_hashes_[i] = MixPathHash(t.node_hashes_[t.parents_[i]], t.node_locations_[i]);
    }
    t.grouped_by_parent_ = std::is_sorted(t.parents_.begin() + 1, t.parents_.end());
  }
  t.string_hashes_.clear();
  t.memory_bytes_ = t.parents_.size() * kNodeBytes;
  for (size_t i = 0; i < t.strings_.size(); ++i) t.NoteString(i);
  for (size_t i = 0; i < t.mappings_.size(); ++i) t.NoteMapping(i);
  for (size_t i = 0; i < t.functions_.size(); ++i) t.NoteFunction(i);
  for (size_t i = 0; i < t.locations_.size(); ++i) t.NoteLocation(i);
  return t;
}

// --- ProfileInterner ---------------------------------------------------------------

namespace {

// A profile mapping's fields, with its strings left for the caller.
SymMapping MappingFields(const profile::Mapping& src) {
  SymMapping sm;
  sm.memory_start = src.memory_start;
  sm.memory_limit = src.memory_limit;
  sm.file_offset = src.file_offset;
  sm.flags = (src.has_functions ? 1 : 0) | (src.has_filenames ? 2 : 0) |
             (src.has_line_numbers ? 4 : 0) | (src.has_inline_frames ? 8 : 0);
  return sm;
}

}  // namespace

ProfileInterner::ProfileInterner(SymbolTable* table, const profile::Profile& p)
    : table_(table),
      p_(p),
      strings_(p.strings.size(), kUnmapped),
      mappings_(p.mappings.size() + 1, kUnmapped),
      functions_(p.functions.size() + 1, kUnmapped),
      locations_(p.locations.size(), kUnmapped),
      string_hashes_(p.strings.size()),
      function_hashes_(p.functions.size() + 1),
      mapping_hashes_(p.mappings.size() + 1) {
  // Every string, function and mapping is hashed by content up front, each
  // table in one pass front to back: a location's content hash reads a chain
  // of the input (the location, its lines, their functions, the functions'
  // strings and the strings' bytes), and followed location by location each
  // link would be a cache miss in a profile bigger than the caches. Read in
  // order, the reads stream. (Profiles hold next to no unused symbols.)
  for (size_t i = 0; i < string_hashes_.size(); ++i) {
    string_hashes_[i] = SymbolTable::StringContentHash(p.strings[i]);
  }
  function_hashes_[0] = kNoSymbolHash;
  for (size_t f = 1; f < function_hashes_.size(); ++f) {
    const profile::Function& fn = p.functions[f - 1];
    function_hashes_[f] = SymbolTable::FunctionContentHash(
        StringHash(fn.name), StringHash(fn.system_name), StringHash(fn.filename), fn.start_line);
  }
  mapping_hashes_[0] = kNoSymbolHash;
  for (size_t m = 1; m < mapping_hashes_.size(); ++m) {
    const profile::Mapping& src = p.mappings[m - 1];
    mapping_hashes_[m] = SymbolTable::MappingContentHash(MappingFields(src), StringHash(src.filename),
                                                         StringHash(src.build_id));
  }
}

uint32_t ProfileInterner::String(int64_t i) {
  if (i <= 0 || static_cast<size_t>(i) >= strings_.size()) return 0;
  uint32_t& m = strings_[i];
  if (m == kUnmapped) m = table_->String(p_.strings[i]);
  return m;
}

uint32_t ProfileInterner::Mapping(uint32_t one_based) {
  if (one_based == 0) return 0;
  uint32_t& m = mappings_[one_based];
  if (m == kUnmapped) {
    const profile::Mapping& src = p_.mappings[one_based - 1];
    SymMapping sm = MappingFields(src);
    sm.filename = String(src.filename);
    sm.build_id = String(src.build_id);
    m = table_->Mapping(sm);
  }
  return m;
}

uint32_t ProfileInterner::Function(uint32_t one_based) {
  if (one_based == 0) return 0;
  uint32_t& m = functions_[one_based];
  if (m == kUnmapped) {
    const profile::Function& f = p_.functions[one_based - 1];
    m = table_->Function({String(f.name), String(f.system_name), String(f.filename), f.start_line});
  }
  return m;
}

inline uint64_t ProfileInterner::LocationHash(uint32_t index) {
  const profile::Location& loc = p_.locations[index];
  uint64_t h = SymbolTable::LocationContentHash(mapping_hashes_[loc.mapping], loc.address,
                                                loc.line_count);
  for (const profile::Line& l : p_.location_lines(loc)) {
    h = SymbolTable::AddLineToContentHash(h, function_hashes_[l.function], l.line);
  }
  return h;
}

uint32_t ProfileInterner::InternLocation(uint32_t index) {
  return InternLocationHashed(index, index < location_hashes_.size() ? location_hashes_[index]
                                                                      : LocationHash(index));
}

uint32_t ProfileInterner::InternLocationHashed(uint32_t index, uint64_t h) {
  uint32_t& m = locations_[index];
  // Fast path: a location the table already has, found by content hash.
  m = table_->FindLocationByContent(h);
  if (m != kUnmapped) return m;
  const profile::Location& loc = p_.locations[index];
  lines_.clear();
  for (const profile::Line& l : p_.location_lines(loc)) lines_.push_back({Function(l.function), l.line});
  m = table_->Location(Mapping(loc.mapping), loc.address, lines_);
  return m;
}

void ProfileInterner::LookUpLocations() {
  // Every location of the profile is looked up by content (in order, as the
  // constructor hashed the other tables), whether or not a stored sample
  // uses it. Nothing is added to the table here: a location it lacks stays
  // unmapped and is interned when a sample uses it.
  const size_t n = p_.locations.size();
  location_hashes_.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (locations_[i] != kUnmapped) continue;
    location_hashes_[i] = LocationHash(i);
    table_->PrefetchLocation(location_hashes_[i]);
  }
  for (uint32_t i = 0; i < n; ++i) {
    if (locations_[i] == kUnmapped) locations_[i] = table_->FindLocationByContent(location_hashes_[i]);
  }
}

void ProfileInterner::PrepareStacks() {
  const size_t n = p_.samples.size();
  // Samples whose values are all 0 are not stored: their stacks are left
  // alone, as Stack() alone would.
  auto stored = [&](size_t i) {
    for (int64_t v : p_.sample_values(i)) {
      if (v != 0) return true;
    }
    return false;
  };
  LookUpLocations();

  frame_offsets_.resize(n + 1);
  path_hashes_.resize(n);
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    frame_offsets_[i] = total;
    // A sample left without frames (not stored, or an empty stack) is
    // mapped by Stack() on its own.
    if (stored(i)) total += p_.sample_stack(i).size();
  }
  frame_offsets_[n] = total;
  frames_.resize(total);
  // Samples in pairs, whose hash chains overlap.
  size_t waiting = n;
  for (size_t i = 0; i < n; ++i) {
    if (!HasFrames(i)) continue;
    if (waiting == n) {
      waiting = i;
      continue;
    }
    MapStackPair(waiting, i);
    waiting = n;
  }
  if (waiting != n) {
    path_hashes_[waiting] = MapStack(waiting, frames_.data() + frame_offsets_[waiting]);
  }
  // The stacks' index slots, fetched back to back so that their misses (in
  // an index far bigger than the caches and the TLB) overlap; between two
  // samples' hashes they would be one at a time.
  for (size_t i = 0; i < n; ++i) {
    if (HasFrames(i)) table_->PrefetchStack(path_hashes_[i]);
  }
  prepared_ = true;
}

uint32_t ProfileInterner::Stack(size_t sample) {
  if (prepared_ && HasFrames(sample)) {
    const size_t begin = frame_offsets_[sample];
    return table_->Stack(std::span<const uint32_t>(frames_.data() + begin, frame_offsets_[sample + 1] - begin),
                         path_hashes_[sample]);
  }
  stack_.resize(p_.sample_stack(sample).size());
  const uint64_t h = MapStack(sample, stack_.data());
  return table_->Stack(stack_, h);
}

uint64_t ProfileInterner::MapStack(size_t sample, uint32_t* leaf_first) {
  const auto st = p_.sample_stack(sample);
  return MapFrames(st, st.size(), leaf_first, SymbolTable::RootPathHash());
}

uint64_t ProfileInterner::MapFrames(std::span<const uint32_t> stack, size_t n, uint32_t* leaf_first,
                                    uint64_t h) {
  // Locations mapped and the path hash continued in one pass, root first.
  while (n-- > 0) {
    leaf_first[n] = Location(stack[n]);
    h = SymbolTable::MixPathHash(h, leaf_first[n]);
  }
  return h;
}

void ProfileInterner::MapStackPair(size_t a, size_t b) {
  const auto sa = p_.sample_stack(a), sb = p_.sample_stack(b);
  uint32_t* const oa = frames_.data() + frame_offsets_[a];
  uint32_t* const ob = frames_.data() + frame_offsets_[b];
  uint64_t ha = SymbolTable::RootPathHash(), hb = ha;
  // Root first: from the ends of the leaf-first stacks, both while both
  // last, then the longer one's rest.
  size_t ia = sa.size(), ib = sb.size();
  while (ia > 0 && ib > 0) {
    --ia;
    --ib;
    oa[ia] = Location(sa[ia]);
    ob[ib] = Location(sb[ib]);
    ha = SymbolTable::MixPathHash(ha, oa[ia]);
    hb = SymbolTable::MixPathHash(hb, ob[ib]);
  }
  path_hashes_[a] = MapFrames(sa, ia, oa, ha);
  path_hashes_[b] = MapFrames(sb, ib, ob, hb);
}

// --- TableImporter --------------------------------------------------------------------

TableImporter::TableImporter(SymbolTable* dst, const SymbolTable& src)
    : dst_(dst),
      src_(src),
      strings_(src.sizes().strings, kUnmapped),
      mappings_(src.sizes().mappings + 1, kUnmapped),
      functions_(src.sizes().functions + 1, kUnmapped),
      locations_(src.sizes().locations, kUnmapped),
      nodes_(src.sizes().nodes, kUnmapped) {
  nodes_[0] = 0;
}

uint32_t TableImporter::String(uint32_t id) {
  if (id == 0) return 0;
  uint32_t& m = strings_[id];
  if (m == kUnmapped) m = dst_->String(src_.string(id));
  return m;
}

uint32_t TableImporter::Mapping(uint32_t one_based) {
  if (one_based == 0) return 0;
  uint32_t& m = mappings_[one_based];
  if (m == kUnmapped) {
    SymMapping sm = src_.mapping(one_based);
    sm.filename = String(sm.filename);
    sm.build_id = String(sm.build_id);
    m = dst_->Mapping(sm);
  }
  return m;
}

uint32_t TableImporter::Function(uint32_t one_based) {
  if (one_based == 0) return 0;
  uint32_t& m = functions_[one_based];
  if (m == kUnmapped) {
    SymFunction f = src_.function(one_based);
    f.name = String(f.name);
    f.system_name = String(f.system_name);
    f.filename = String(f.filename);
    m = dst_->Function(f);
  }
  return m;
}

uint32_t TableImporter::Location(uint32_t id) {
  uint32_t& m = locations_[id];
  if (m == kUnmapped) {
    const SymLocation& l = src_.location(id);
    lines_.clear();
    for (const SymLine& line : src_.lines(l)) lines_.push_back({Function(line.function), line.line});
    m = dst_->Location(Mapping(l.mapping), l.address, lines_);
  }
  return m;
}

uint32_t TableImporter::Node(uint32_t src_node) {
  uint32_t& m = nodes_[src_node];
  if (m != kUnmapped) return m;
  // Parents precede children: import the path from the first mapped ancestor.
  path_.clear();
  uint32_t n = src_node;
  while (nodes_[n] == kUnmapped) {
    path_.push_back(n);
    n = src_.parent(n);
  }
  uint32_t dst = nodes_[n];
  for (size_t i = path_.size(); i-- > 0;) {
    dst = dst_->Child(dst, Location(src_.node_location(path_[i])));
    nodes_[path_[i]] = dst;
  }
  return dst;
}

}  // namespace stackhouse::tsdb
