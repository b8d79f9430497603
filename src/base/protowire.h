// Protocol Buffers wire format primitives: a bounds-checked reader over a byte
// buffer and an appending writer. Used by codecs that decode protobuf straight
// into their own model (pprof, OTLP) without an intermediate message tree.
//
// The reader never reads outside [begin, end) and reports failures through its
// return values; offset() gives the position for error messages.
// Not thread-safe; cheap to copy.
#ifndef STACKHOUSE_BASE_PROTOWIRE_H_
#define STACKHOUSE_BASE_PROTOWIRE_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace stackhouse::protowire {

enum WireType : int { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

class Reader {
 public:
  // `origin` is the start of the enclosing buffer, for offsets in messages.
  Reader(std::string_view data, const char* origin = nullptr)
      : p_(reinterpret_cast<const uint8_t*>(data.data())),
        end_(p_ + data.size()),
        origin_(origin ? reinterpret_cast<const uint8_t*>(origin) : p_) {}

  bool done() const { return p_ >= end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool ReadByte(uint8_t* b) {
    if (p_ >= end_) return false;
    *b = *p_++;
    return true;
  }
  size_t offset() const { return static_cast<size_t>(p_ - origin_); }
  const char* origin() const { return reinterpret_cast<const char*>(origin_); }

  bool ReadVarint(uint64_t* v) {
    if (end_ - p_ >= 10) {
      // Fast path: no bounds checks needed for a maximal varint.
      const uint8_t* p = p_;
      uint64_t r = *p++;
      if (r < 0x80) {
        p_ = p;
        *v = r;
        return true;
      }
      r -= 0x80;
      for (int shift = 7; shift < 70; shift += 7) {
        uint64_t b = *p++;
        r += b << shift;
        if (b < 0x80) {
          p_ = p;
          *v = r;
          return true;
        }
        r -= uint64_t{0x80} << shift;
      }
      return false;  // more than 10 bytes
    }
    uint64_t r = 0;
    for (int shift = 0; shift < 70 && p_ < end_; shift += 7) {
      uint64_t b = *p_++;
      r |= (b & 0x7f) << shift;
      if (b < 0x80) {
        *v = r;
        return true;
      }
    }
    return false;
  }

  // Reads a field key. Fails on field number 0 or an unknown wire type.
  bool ReadTag(uint32_t* field, int* wire_type) {
    uint64_t key;
    if (!ReadVarint(&key)) return false;
    *field = static_cast<uint32_t>(key >> 3);
    *wire_type = static_cast<int>(key & 7);
    if (*field == 0 || (key >> 3) > 0x1fffffff) return false;
    return *wire_type == kVarint || *wire_type == kFixed64 || *wire_type == kLengthDelimited ||
           *wire_type == kFixed32;
  }

  bool ReadLengthDelimited(std::string_view* out) {
    uint64_t len;
    if (!ReadVarint(&len)) return false;
    if (len > static_cast<uint64_t>(end_ - p_)) return false;
    *out = std::string_view(reinterpret_cast<const char*>(p_), static_cast<size_t>(len));
    p_ += len;
    return true;
  }

  bool ReadFixed64(uint64_t* v) {
    if (end_ - p_ < 8) return false;
    std::memcpy(v, p_, 8);
    p_ += 8;
    return true;
  }

  bool ReadFixed32(uint32_t* v) {
    if (end_ - p_ < 4) return false;
    std::memcpy(v, p_, 4);
    p_ += 4;
    return true;
  }

  bool SkipField(int wire_type) {
    uint64_t u64;
    uint32_t u32;
    std::string_view sv;
    switch (wire_type) {
      case kVarint: return ReadVarint(&u64);
      case kFixed64: return ReadFixed64(&u64);
      case kLengthDelimited: return ReadLengthDelimited(&sv);
      case kFixed32: return ReadFixed32(&u32);
      default: return false;
    }
  }

  // A reader over a nested message, keeping offsets relative to our origin.
  Reader Sub(std::string_view nested) const { return Reader(nested, origin()); }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  const uint8_t* origin_;
};

inline size_t VarintSize(uint64_t v) {
  // (bits + 6) / 7 with bits = 64 - clz(v|1).
  int bits = 64 - __builtin_clzll(v | 1);
  return static_cast<size_t>((bits * 9 + 64) / 64);
}

inline size_t TagSize(uint32_t field) { return VarintSize(uint64_t{field} << 3); }

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}

  void Varint(uint64_t v) {
    char buf[10];
    size_t n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_->append(buf, n);
  }
  void Tag(uint32_t field, WireType wt) { Varint((uint64_t{field} << 3) | wt); }
  void VarintField(uint32_t field, uint64_t v) {
    Tag(field, kVarint);
    Varint(v);
  }
  // Writes the field only when v != 0 (proto3 default elision).
  void VarintFieldIfNonZero(uint32_t field, uint64_t v) {
    if (v != 0) VarintField(field, v);
  }
  void BytesField(uint32_t field, std::string_view s) {
    Tag(field, kLengthDelimited);
    Varint(s.size());
    out_->append(s);
  }
  void Fixed64Field(uint32_t field, uint64_t v) {
    Tag(field, kFixed64);
    char buf[8];
    std::memcpy(buf, &v, 8);
    out_->append(buf, 8);
  }
  void Fixed32Field(uint32_t field, uint32_t v) {
    Tag(field, kFixed32);
    char buf[4];
    std::memcpy(buf, &v, 4);
    out_->append(buf, 4);
  }
  // Starts a length-delimited field whose size the caller already knows.
  void LengthPrefix(uint32_t field, size_t size) {
    Tag(field, kLengthDelimited);
    Varint(size);
  }
  std::string* out() { return out_; }

 private:
  std::string* out_;
};

// Appends a varint into a raw buffer that has at least 10 bytes of room and
// returns the new end. The fast path of bulk encoders.
inline char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

}  // namespace stackhouse::protowire

#endif  // STACKHOUSE_BASE_PROTOWIRE_H_
