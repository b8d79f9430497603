// Hashing (XXH3 from Debian's libxxhash); HashIndex, an open-addressing
// hash set of dense uint32 ids whose keys live elsewhere (in the caller's
// arrays), so that deduplicating tables map content to ids without storing
// each key twice; and HashKeyIndex, for tables that identify entries by a
// 64-bit content hash, which it keeps in the slot.
#ifndef STACKHOUSE_BASE_HASH_H_
#define STACKHOUSE_BASE_HASH_H_

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace stackhouse {

inline uint64_t HashBytes(const void* data, size_t size, uint64_t seed = 0) {
  return XXH3_64bits_withSeed(data, size, seed);
}
inline uint64_t HashString(std::string_view s, uint64_t seed = 0) {
  return HashBytes(s.data(), s.size(), seed);
}
// Mixes one more 64-bit value into a running hash.
inline uint64_t HashMix(uint64_t h, uint64_t v) {
  uint64_t x = (h ^ v) * 0x9E3779B97F4A7C15ULL;
  return x ^ (x >> 29) ^ (x >> 47);
}

namespace hash_internal {

// The storage both indexes share: open addressing with linear probing over
// a power-of-two array of slots, grown at 3/4 full. A Slot has a uint32 `id`
// (kEmpty when free, its default) and Home(), where its probe starts.
template <typename Slot>
class SlotTable {
 public:
  static constexpr uint32_t kEmpty = UINT32_MAX;

  size_t size() const { return count_; }
  void Reserve(size_t n) {
    size_t want = 16;
    while (want * 3 < n * 4 + 4) want *= 2;
    if (want > slots_.size()) Rehash(want);
  }
  void Clear() { Reset(16); }

 protected:
  SlotTable() { Reset(16); }
  // Makes room for one more entry.
  void Reserve1() {
    if ((count_ + 1) * 4 > slots_.size() * 3) Rehash(slots_.size() * 2);
  }
  void Reset(size_t n) {
    slots_.assign(n, Slot{});
    count_ = 0;
  }
  void Rehash(size_t n) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(n, Slot{});
    size_t mask = n - 1;
    for (const Slot& s : old) {
      if (s.id == kEmpty) continue;
      size_t pos = s.Home() & mask;
      while (slots_[pos].id != kEmpty) pos = (pos + 1) & mask;
      slots_[pos] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t count_ = 0;
};

struct IdSlot {
  uint32_t id = UINT32_MAX;
  uint32_t hash = 0;
  size_t Home() const { return hash; }
};

struct KeySlot {
  uint64_t key = 0;
  uint32_t id = UINT32_MAX;
  static size_t Spread(uint64_t key) { return static_cast<size_t>(key ^ (key >> 32)); }
  size_t Home() const { return Spread(key); }
};

}  // namespace hash_internal

class HashIndex : public hash_internal::SlotTable<hash_internal::IdSlot> {
 public:
  // Returns the stored id for which eq(id) is true, or inserts `new_id` and
  // returns it. `hash` must be the same for equal keys.
  template <typename Eq>
  uint32_t FindOrInsert(uint64_t hash, uint32_t new_id, Eq&& eq) {
    Reserve1();
    uint32_t h = static_cast<uint32_t>(hash ^ (hash >> 32));
    size_t mask = slots_.size() - 1;
    for (size_t pos = h & mask;; pos = (pos + 1) & mask) {
      hash_internal::IdSlot& s = slots_[pos];
      if (s.id == kEmpty) {
        s.id = new_id;
        s.hash = h;
        ++count_;
        return new_id;
      }
      if (s.hash == h && eq(s.id)) return s.id;
    }
  }

  // Returns the id for which eq(id) is true, or kEmpty.
  template <typename Eq>
  uint32_t Find(uint64_t hash, Eq&& eq) const {
    uint32_t h = static_cast<uint32_t>(hash ^ (hash >> 32));
    size_t mask = slots_.size() - 1;
    for (size_t pos = h & mask;; pos = (pos + 1) & mask) {
      const hash_internal::IdSlot& s = slots_[pos];
      if (s.id == kEmpty) return kEmpty;
      if (s.hash == h && eq(s.id)) return s.id;
    }
  }
};

// An open-addressing map from 64-bit content hashes, taken as the identity
// of what they hash (a collision, ~n^2/2^65 for n keys, would merge two
// keys), to dense uint32 ids. The key lives in the slot, so a lookup reads
// the slot's line only. Not thread-safe.
class HashKeyIndex : public hash_internal::SlotTable<hash_internal::KeySlot> {
 public:
  static constexpr size_t kSlotBytes = sizeof(hash_internal::KeySlot);

  // The id stored for `key`, or kEmpty.
  uint32_t Find(uint64_t key) const {
    size_t mask = slots_.size() - 1;
    for (size_t pos = hash_internal::KeySlot::Spread(key) & mask;; pos = (pos + 1) & mask) {
      const hash_internal::KeySlot& s = slots_[pos];
      if (s.id == kEmpty) return kEmpty;
      if (s.key == key) return s.id;
    }
  }

  // Starts loading the slot Find(key) reads first: a caller with many keys
  // to look up fetches them all, then finds them, overlapping the misses.
  void Prefetch(uint64_t key) const {
    if (slots_.empty()) return;
    __builtin_prefetch(&slots_[hash_internal::KeySlot::Spread(key) & (slots_.size() - 1)]);
  }

  // The id stored for `key`, or `new_id` after storing it.
  uint32_t FindOrInsert(uint64_t key, uint32_t new_id) {
    Reserve1();
    size_t mask = slots_.size() - 1;
    for (size_t pos = hash_internal::KeySlot::Spread(key) & mask;; pos = (pos + 1) & mask) {
      hash_internal::KeySlot& s = slots_[pos];
      if (s.id == kEmpty) {
        s.key = key;
        s.id = new_id;
        ++count_;
        return new_id;
      }
      if (s.key == key) return s.id;
    }
  }
};

}  // namespace stackhouse

#endif  // STACKHOUSE_BASE_HASH_H_
