// Varint helpers for our own binary formats (WAL records, block files):
// appending LEB128/zigzag values and strings to a buffer, and VarintReader,
// a reader with a sticky failure flag so that decoders can read a whole
// structure and check once. All reads are bounds-checked. Not thread-safe.
#ifndef STACKHOUSE_BASE_VARINT_H_
#define STACKHOUSE_BASE_VARINT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/protowire.h"

namespace stackhouse {

inline void PutUvarint(std::string* out, uint64_t v) {
  if (v < 0x80) {  // most varints: one byte, without append's length bookkeeping
    out->push_back(static_cast<char>(v));
    return;
  }
  char buf[10];
  out->append(buf, static_cast<size_t>(protowire::PutVarint(buf, v) - buf));
}
inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}
inline void PutSvarint(std::string* out, int64_t v) { PutUvarint(out, ZigZag(v)); }
inline void PutString(std::string* out, std::string_view s) {
  PutUvarint(out, s.size());
  out->append(s);
}

class VarintReader {
 public:
  explicit VarintReader(protowire::Reader* r) : r_(r) {}

  uint64_t Uvarint() {
    uint64_t v = 0;
    if (!failed_ && !r_->ReadVarint(&v)) failed_ = true;
    return failed_ ? 0 : v;
  }
  int64_t Svarint() { return UnZigZag(Uvarint()); }
  uint8_t Byte() {
    uint8_t b = 0;
    if (!failed_ && !r_->ReadByte(&b)) failed_ = true;
    return b;
  }
  std::string_view String() {
    std::string_view s;
    if (!failed_ && !r_->ReadLengthDelimited(&s)) failed_ = true;
    return s;
  }
  // A varint that must be < limit (an id into a table of `limit` entries).
  uint32_t Id(uint64_t limit) {
    uint64_t v = Uvarint();
    if (v >= limit) failed_ = true;
    return failed_ ? 0 : static_cast<uint32_t>(v);
  }
  // An element count; each element takes at least `min_bytes` bytes, which
  // bounds the count by the remaining input (no allocation from a lie).
  uint64_t Count(size_t min_bytes) {
    uint64_t n = Uvarint();
    if (min_bytes > 0 && n > r_->remaining() / min_bytes) failed_ = true;
    return failed_ ? 0 : n;
  }

  size_t remaining() const { return r_->remaining(); }
  bool done() const { return r_->done(); }
  bool failed() const { return failed_; }
  void Fail() { failed_ = true; }

 private:
  protowire::Reader* r_;
  bool failed_ = false;
};

}  // namespace stackhouse

#endif  // STACKHOUSE_BASE_VARINT_H_
