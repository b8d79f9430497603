// StringTable: a profile's string table, indexed like pprof's. The bytes of
// all strings live in a few large blocks owned by the table (an arena), so
// that decoding a profile with thousands of strings makes a handful of
// allocations instead of one per string, and dropping it frees a handful.
//
// Entries are read as std::string_view, valid while the table lives (moving
// the table keeps them valid; copying makes new ones). Entries are never
// changed in place: Set() points an entry at a new copy.
#ifndef STACKHOUSE_PROFILE_STRING_TABLE_H_
#define STACKHOUSE_PROFILE_STRING_TABLE_H_

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace stackhouse::profile {

class StringTable {
 public:
  using const_iterator = std::vector<std::string_view>::const_iterator;

  StringTable() = default;
  StringTable(std::initializer_list<std::string_view> strings);
  StringTable(const StringTable& other);
  StringTable& operator=(const StringTable& other);
  StringTable(StringTable&& other) noexcept;
  StringTable& operator=(StringTable&& other) noexcept;
  StringTable& operator=(std::initializer_list<std::string_view> strings);
  ~StringTable() = default;

  size_t size() const { return views_.size(); }
  bool empty() const { return views_.empty(); }
  // (const: assigning to an entry must not compile; see Set.)
  const std::string_view operator[](size_t i) const { return views_[i]; }
  std::string_view back() const { return views_.back(); }
  const_iterator begin() const { return views_.begin(); }
  const_iterator end() const { return views_.end(); }

  // Appends a copy of `s`.
  void push_back(std::string_view s);
  void emplace_back(std::string_view s = {}) { push_back(s); }
  // Points entry i at a copy of `s`.
  void Set(size_t i, std::string_view s) { views_[i] = Copy(s); }
  // Room for `n` entries and `bytes` bytes of them (one block).
  void reserve(size_t n, size_t bytes = 0);
  // Drops the entries; a table with one block keeps it for reuse.
  void clear();
  // Drops the entries and frees the blocks.
  void Release();
  // Bytes of the strings' blocks.
  size_t arena_bytes() const { return arena_bytes_; }

  bool operator==(const StringTable& other) const { return views_ == other.views_; }

 private:
  std::string_view Copy(std::string_view s);
  // Appends copies of `strings` (their bytes in one block).
  void Append(std::span<const std::string_view> strings);

  std::vector<std::string_view> views_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* free_ = nullptr;  // the unused end of the last block
  size_t left_ = 0;
  size_t arena_bytes_ = 0;
};

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_STRING_TABLE_H_
