// SymbolTable: the deduplicated symbols of one partition (tenant + service):
// strings, mappings, functions, locations, and the stack tree in which a
// stack is identified by its leaf node. Tables only grow, so a range of new
// entries can be written to the WAL as a delta and replayed.
//
// Ids: strings 0-based (0 = ""), mappings and functions 1-based (0 = none),
// locations 0-based, nodes 0-based (0 = the root, which has no location).
// A parent's id is always smaller than its child's.
//
// Not thread-safe: the head guards each table with its partition's lock;
// tables loaded from blocks are immutable.
#ifndef STACKHOUSE_TSDB_SYMBOLS_H_
#define STACKHOUSE_TSDB_SYMBOLS_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "base/protowire.h"
#include "base/status.h"
#include "profile/profile.h"

namespace stackhouse::tsdb {

struct SymMapping {
  uint64_t memory_start = 0;
  uint64_t memory_limit = 0;
  uint64_t file_offset = 0;
  uint32_t filename = 0;  // string id
  uint32_t build_id = 0;  // string id
  uint8_t flags = 0;      // bit 0 has_functions, 1 filenames, 2 line numbers, 3 inline frames
  bool operator==(const SymMapping&) const = default;
};

struct SymFunction {
  uint32_t name = 0;
  uint32_t system_name = 0;
  uint32_t filename = 0;
  int64_t start_line = 0;
  bool operator==(const SymFunction&) const = default;
};

struct SymLine {
  uint32_t function = 0;  // 1-based, 0 = none
  int64_t line = 0;
  bool operator==(const SymLine&) const = default;
};

struct SymLocation {
  uint32_t mapping = 0;  // 1-based, 0 = none
  uint64_t address = 0;
  uint32_t line_begin = 0;
  uint32_t line_count = 0;
};

class SymbolTable {
 public:
  struct Sizes {
    uint32_t strings = 0, mappings = 0, functions = 0, locations = 0, nodes = 0;
    bool operator==(const Sizes&) const = default;
  };

  SymbolTable();

  Sizes sizes() const;
  size_t num_nodes() const { return parents_.size(); }
  size_t num_locations() const { return locations_.size(); }

  // --- interning (builds the lookup indexes on first use) ------------------
  uint32_t String(std::string_view s);
  uint32_t Mapping(const SymMapping& m);    // 1-based id
  uint32_t Function(const SymFunction& f);  // 1-based id
  uint32_t Location(uint32_t mapping, uint64_t address, std::span<const SymLine> lines);
  // The node of a stack given leaf first, as location ids, and the hash of
  // its root-first path: RootPathHash mixed with each location from the
  // root down by MixPathHash (as the tree hashes its nodes).
  uint32_t Stack(std::span<const uint32_t> leaf_first, uint64_t path_hash);
  static constexpr uint64_t RootPathHash() { return 0x9ae16a3b2f90404fULL; }
  static uint64_t MixPathHash(uint64_t h, uint32_t location) { return HashMix(h, location); }
  // The child of `parent` at `location` (created when missing).
  uint32_t Child(uint32_t parent, uint32_t location);

  // --- reading ---------------------------------------------------------------
  const std::string& string(uint32_t id) const { return strings_[id]; }
  const SymMapping& mapping(uint32_t one_based) const { return mappings_[one_based - 1]; }
  const SymFunction& function(uint32_t one_based) const { return functions_[one_based - 1]; }
  const SymLocation& location(uint32_t id) const { return locations_[id]; }
  std::span<const SymLine> lines(const SymLocation& loc) const {
    return {lines_.data() + loc.line_begin, loc.line_count};
  }
  uint32_t parent(uint32_t node) const { return parents_[node]; }
  uint32_t node_location(uint32_t node) const { return node_locations_[node]; }
  const std::vector<uint32_t>& node_locations() const { return node_locations_; }
  const std::vector<uint32_t>& parents() const { return parents_; }
  // Appends the locations of a stack, leaf first.
  void StackLocations(uint32_t node, std::vector<uint32_t>* leaf_first) const;
  // Display name of a location's innermost frame (function name, else
  // "<mapping>+0x<address>").
  std::string FrameName(uint32_t location) const;
  // Appends the function names of a location, innermost first (inline
  // frames expanded). Returns false, appending nothing, when it has none;
  // then FrameName() synthesizes one.
  bool FrameNames(uint32_t location, std::vector<std::string_view>* out) const;

  // Whether the parents of nodes 1..n-1 never decrease, so that each node's
  // children are one run of ids (true of tables read from blocks, whose
  // writers number nodes breadth first; always false for the head's).
  bool grouped_by_parent() const { return grouped_by_parent_; }

  // --- encoding ----------------------------------------------------------------
  // Appends the entries added since `from` in the WAL delta layout
  // (docs/format/wal_records.md).
  void EncodeDelta(const Sizes& from, std::string* out) const;
  // A renumbering of the stack nodes: order[new id] = id and ids[id] = new
  // id.
  struct NodeOrder {
    std::vector<uint32_t> order, ids;
  };
  // The nodes in breadth-first order (the root, its children, theirs, each
  // node's children by id). Parents come before their children and the
  // parents' new ids never decrease.
  NodeOrder BreadthFirstOrder() const;
  // Applies a delta; fails if its bases do not match our sizes or ids are
  // out of range.
  Status DecodeDelta(protowire::Reader* r);
  // Whole tables as the five symbols.bin sections (uncompressed), and back.
  // With `order` (as BreadthFirstOrder() returns: a renumbering with root 0
  // that keeps parents before children) the stack nodes are written
  // renumbered.
  void EncodeSections(std::string* strings, std::string* mappings, std::string* functions,
                      std::string* locations, std::string* stacks,
                      const NodeOrder* order = nullptr) const;
  // The table DecodeSections(EncodeSections(.., &order)) returns, made
  // from this one in memory: the same entries, the nodes renumbered, no
  // indexes built yet. (A block just written opens with it instead of
  // reading back what it wrote.)
  SymbolTable Renumbered(const NodeOrder& order) const;
  static StatusOr<SymbolTable> DecodeSections(std::string_view strings, std::string_view mappings,
                                              std::string_view functions,
                                              std::string_view locations,
                                              std::string_view stacks);

  // Approximate heap bytes, for head size accounting (kept up to date).
  size_t MemoryBytes() const { return memory_bytes_; }

  // Content hashes: equal for equal symbols whatever their ids (strings are
  // hashed by their bytes). They let a profile's location be found with one
  // lookup, without interning its strings and functions first.
  static uint64_t StringContentHash(std::string_view s) { return HashString(s) | 1; }  // never 0
  static uint64_t FunctionContentHash(uint64_t name, uint64_t system_name, uint64_t filename,
                                      int64_t start_line) {
    return HashMix(HashMix(HashMix(HashMix(0xf0, name), system_name), filename),
                   static_cast<uint64_t>(start_line));
  }
  static uint64_t MappingContentHash(const SymMapping& m, uint64_t filename, uint64_t build_id);
  static uint64_t LocationContentHash(uint64_t mapping, uint64_t address, size_t nlines) {
    return HashMix(HashMix(HashMix(0x10, mapping), address), nlines);
  }
  static uint64_t AddLineToContentHash(uint64_t h, uint64_t function, int64_t line) {
    return HashMix(HashMix(h, function), static_cast<uint64_t>(line));
  }
  // The location with this content hash, or UINT32_MAX.
  uint32_t FindLocationByContent(uint64_t content_hash);
  // The hash of a node's root-first path (Stack's path_hash).
  uint64_t node_hash(uint32_t node) const { return node_hashes_[node]; }
  // Start loading the index slots FindLocationByContent(content_hash) and
  // Stack(.., path_hash) read.
  void PrefetchLocation(uint64_t content_hash) {
    EnsureIndexes();
    location_index_.Prefetch(content_hash);
  }
  void PrefetchStack(uint64_t path_hash) {
    EnsureIndexes();
    node_index_.Prefetch(path_hash);
  }

 private:
  void EnsureIndexes();
  uint64_t LocationHash(uint32_t mapping, uint64_t address, std::span<const SymLine> lines) const;
  // Records the content hash and memory of a just-added entry (which must
  // be the last) and returns the hash; the caller updates the index.
  uint64_t NoteString(size_t i);
  uint64_t NoteMapping(size_t i);
  uint64_t NoteFunction(size_t i);
  uint64_t NoteLocation(size_t i);

  std::vector<std::string> strings_;
  std::vector<SymMapping> mappings_;
  std::vector<SymFunction> functions_;
  std::vector<SymLocation> locations_;
  std::vector<SymLine> lines_;
  std::vector<uint32_t> parents_;
  std::vector<uint32_t> node_locations_;
  std::vector<uint64_t> node_hashes_;  // hash of the root-first path
  // Content hashes, parallel to the tables.
  std::vector<uint64_t> string_hashes_, mapping_hashes_, function_hashes_, location_hashes_;
  size_t memory_bytes_ = 0;
  bool grouped_by_parent_ = false;

  bool indexed_ = false;
  HashIndex string_index_, mapping_index_, function_index_;
  // Locations and stack nodes are identified by their 64-bit content and
  // path hashes.
  HashKeyIndex location_index_, node_index_;
};

// The children of each node, grouped by parent (a counting sort, ids
// ascending in a group): node p's children are children[start[p],
// start[p + 1]). With `keep`, only nodes i with keep[i] != 0. The arrays
// are as long as the tree: huge pages.
void GroupByParent(const std::vector<uint32_t>& parents, const uint8_t* keep,
                   std::vector<uint32_t>* start, std::vector<uint32_t>* children);

// Interns the symbols and stacks of one decoded profile into a table.
// Profile locations are mapped lazily, each once.
class ProfileInterner {
 public:
  ProfileInterner(SymbolTable* table, const profile::Profile& profile);
  uint32_t Location(uint32_t profile_location) {
    uint32_t m = locations_[profile_location];
    return m != kUnmapped ? m : InternLocation(profile_location);
  }
  // Maps every sample's stack ahead of Stack(): the profile's locations are
  // hashed (reading its tables in order), their index slots fetched, then
  // looked up; the same for the samples' stack paths.
  // The table's indexes are far bigger than the caches, and the batches
  // overlap their misses.
  void PrepareStacks();
  // The node of sample i's stack.
  uint32_t Stack(size_t sample);
  // After PrepareStacks, the path hash computed for a sample with frames.
  uint64_t prepared_path_hash(size_t sample) const { return path_hashes_[sample]; }

 private:
  static constexpr uint32_t kUnmapped = UINT32_MAX;
  uint32_t InternLocation(uint32_t profile_location);
  uint64_t LocationHash(uint32_t profile_location);
  // Looks every location of the profile up by content hash (PrepareStacks);
  // the ones the table lacks stay unmapped, their hashes kept.
  void LookUpLocations();
  uint32_t InternLocationHashed(uint32_t profile_location, uint64_t hash);
  // Writes sample i's locations, mapped, leaf first; returns its path hash.
  uint64_t MapStack(size_t sample, uint32_t* leaf_first);
  // Maps frames [0, n) of a leaf-first stack into leaf_first, root side
  // first, continuing the path hash h; returns the hash.
  uint64_t MapFrames(std::span<const uint32_t> stack, size_t n, uint32_t* leaf_first, uint64_t h);
  // After PrepareStacks: whether sample i's frames were mapped ahead (not
  // for a sample with no stored value or an empty stack).
  bool HasFrames(size_t sample) const { return frame_offsets_[sample + 1] > frame_offsets_[sample]; }
  // MapStack of two samples at once, into frames_ at their offsets and
  // path_hashes_: the path hash is a chain of dependent multiplies, and two
  // independent chains run in the time of about one.
  void MapStackPair(size_t a, size_t b);
  uint32_t String(int64_t profile_string);
  uint32_t Mapping(uint32_t profile_mapping);
  uint32_t Function(uint32_t profile_function);
  // A string index past the table's end reads as the empty string.
  uint64_t StringHash(int64_t i) const {
    return string_hashes_[static_cast<uint64_t>(i) < string_hashes_.size() ? static_cast<size_t>(i) : 0];
  }

  SymbolTable* table_;
  const profile::Profile& p_;
  std::vector<uint32_t> strings_, mappings_, functions_, locations_;
  // Content hashes, all computed by the constructor; functions and mappings
  // one-based (0: none).
  std::vector<uint64_t> string_hashes_, function_hashes_, mapping_hashes_;
  std::vector<uint64_t> location_hashes_;  // after LookUpLocations, of the ones it left unmapped
  std::vector<uint32_t> stack_;
  std::vector<SymLine> lines_;
  // PrepareStacks: the samples' mapped stacks (leaf first) and path hashes.
  bool prepared_ = false;
  std::vector<uint32_t> frames_;
  std::vector<size_t> frame_offsets_;
  std::vector<uint64_t> path_hashes_;
};

// Copies symbols from one table into another (compaction), mapping ids
// lazily.
class TableImporter {
 public:
  TableImporter(SymbolTable* dst, const SymbolTable& src);
  uint32_t Node(uint32_t src_node);
  uint32_t Location(uint32_t src_location);

 private:
  uint32_t String(uint32_t id);
  uint32_t Mapping(uint32_t one_based);
  uint32_t Function(uint32_t one_based);

  SymbolTable* dst_;
  const SymbolTable& src_;
  std::vector<uint32_t> strings_, mappings_, functions_, locations_, nodes_;
  std::vector<SymLine> lines_;
  std::vector<uint32_t> path_;  // Node's scratch: the unmapped ancestors
};

}  // namespace stackhouse::tsdb

#endif  // STACKHOUSE_TSDB_SYMBOLS_H_
