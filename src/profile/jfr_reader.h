// Internal to jfr.cc: the byte reader, the metadata model and the generic
// value tree of the JFR parser. Every read is bounds-checked; errors carry
// the byte offset in the file.
#ifndef STACKHOUSE_PROFILE_JFR_READER_H_
#define STACKHOUSE_PROFILE_JFR_READER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace stackhouse::profile::jfr {

class Reader {
 public:
  // `base` is the offset of data[0] in the file (for error messages).
  Reader(std::string_view data, size_t base) : data_(data), base_(base) {}
  size_t pos() const { return pos_; }
  size_t offset() const { return base_ + pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool ok() const { return ok_; }
  void Seek(size_t pos) {
    if (pos > data_.size()) {
      Fail();
    } else {
      pos_ = pos;
    }
  }
  uint8_t Byte() {
    if (pos_ >= data_.size()) return Fail(), 0;
    return static_cast<uint8_t>(data_[pos_++]);
  }
  // JFR's compressed integers: 7 bits per byte, little-endian groups, the
  // 9th byte holding 8 bits.
  uint64_t Varint() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
      uint8_t b = Byte();
      v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) return v;
    }
    return v | (static_cast<uint64_t>(Byte()) << 56);
  }
  uint64_t BigEndian(int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | Byte();
    return v;
  }
  std::string_view Bytes(size_t n) {
    if (n > remaining()) return Fail(), std::string_view();
    std::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  // A string in JFR's encoding. Returns false for a null string; sets
  // *pool_ref (and returns true) for a constant-pool reference.
  bool String(std::string* out, int64_t* pool_ref);
  void Fail() {
    if (ok_) failed_at_ = offset();
    ok_ = false;
    pos_ = data_.size();
  }
  size_t failed_at() const { return failed_at_; }

 private:
  std::string_view data_;
  size_t base_;
  size_t pos_ = 0;
  bool ok_ = true;
  size_t failed_at_ = 0;
};

struct Field {
  std::string name;
  uint64_t type = 0;
  bool constant_pool = false;
  bool array = false;
};

struct Class {
  uint64_t id = 0;
  std::string name;
  std::vector<Field> fields;
  enum Primitive : uint8_t { kNotPrimitive, kBoolean, kByte, kChar, kShort, kInt, kLong, kFloat, kDouble, kString };
  Primitive primitive = kNotPrimitive;
  int FieldIndex(std::string_view n) const {
    for (size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].name == n) return static_cast<int>(i);
    }
    return -1;
  }
};

// A decoded value: numbers inline, strings, pool references and nested
// objects/arrays as indexes into the Values arena.
struct Value {
  enum Kind : uint8_t { kNone, kInt, kDouble, kString, kRef, kObject, kArray };
  Kind kind = kNone;
  uint64_t type = 0;  // class id (kRef, kObject, kString refs)
  int64_t i = 0;      // kInt; kRef: pool key; kString: index; kObject/kArray: range index
  double d = 0;
};

struct Values {
  std::vector<std::string> strings;
  struct Range {
    uint32_t begin, count;
  };
  std::vector<Range> ranges;
  std::vector<Value> slots;
  void Clear() {
    strings.clear();
    ranges.clear();
    slots.clear();
  }
};

}  // namespace stackhouse::profile::jfr

#endif  // STACKHOUSE_PROFILE_JFR_READER_H_
