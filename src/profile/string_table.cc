#include "profile/string_table.h"

#include <algorithm>
#include <cstring>

namespace stackhouse::profile {

namespace {

// Blocks grow with the table, from 4 KB to 1 MB; a string longer than a
// block gets a block of its own size.
constexpr size_t kMinBlock = 4 << 10;
constexpr size_t kMaxBlock = 1 << 20;

}  // namespace

StringTable::StringTable(std::initializer_list<std::string_view> strings) { *this = strings; }

StringTable::StringTable(const StringTable& other) { Append(other.views_); }

StringTable& StringTable::operator=(const StringTable& other) {
  if (this != &other) {
    Release();
    Append(other.views_);
  }
  return *this;
}

StringTable::StringTable(StringTable&& other) noexcept { *this = std::move(other); }

StringTable& StringTable::operator=(StringTable&& other) noexcept {
  if (this != &other) {
    views_ = std::move(other.views_);
    blocks_ = std::move(other.blocks_);
    free_ = other.free_;
    left_ = other.left_;
    arena_bytes_ = other.arena_bytes_;
    other.Release();
  }
  return *this;
}

StringTable& StringTable::operator=(std::initializer_list<std::string_view> strings) {
  Release();
  Append({strings.begin(), strings.size()});
  return *this;
}

void StringTable::Append(std::span<const std::string_view> strings) {
  size_t bytes = 0;
  for (std::string_view s : strings) bytes += s.size();
  reserve(size() + strings.size(), bytes);
  for (std::string_view s : strings) push_back(s);
}

void StringTable::push_back(std::string_view s) { views_.push_back(Copy(s)); }

void StringTable::reserve(size_t n, size_t bytes) {
  views_.reserve(n);
  if (bytes > left_) {
    blocks_.push_back(std::make_unique_for_overwrite<char[]>(bytes));
    free_ = blocks_.back().get();
    left_ = bytes;
    arena_bytes_ += bytes;
  }
}

void StringTable::clear() {
  // Like a vector's, the room stays when it is one block (as reserve() makes
  // it): the block is reused from its start.
  if (blocks_.size() != 1) {
    Release();
    return;
  }
  views_.clear();
  free_ = blocks_.back().get();
  left_ = arena_bytes_;
}

void StringTable::Release() {
  views_.clear();
  views_.shrink_to_fit();
  blocks_.clear();
  free_ = nullptr;
  left_ = 0;
  arena_bytes_ = 0;
}

std::string_view StringTable::Copy(std::string_view s) {
  if (s.empty()) return {};
  if (s.size() > left_) {
    const size_t block = std::max(s.size(), std::clamp(arena_bytes_, kMinBlock, kMaxBlock));
    blocks_.push_back(std::make_unique_for_overwrite<char[]>(block));
    free_ = blocks_.back().get();
    left_ = block;
    arena_bytes_ += block;
  }
  std::memcpy(free_, s.data(), s.size());
  std::string_view copy(free_, s.size());
  free_ += s.size();
  left_ -= s.size();
  return copy;
}

}  // namespace stackhouse::profile
