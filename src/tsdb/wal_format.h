// Internal to the WAL: the constants and small encoders of its byte layout
// (docs/format/wal.md), shared by the writer (wal.cc), the reader
// (wal_replay.cc), the tests and the fuzzer. Pure functions, thread-safe.
#ifndef STACKHOUSE_TSDB_WAL_FORMAT_H_
#define STACKHOUSE_TSDB_WAL_FORMAT_H_

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "base/crc32c.h"
#include "base/env.h"
#include "base/protowire.h"
#include "base/status.h"
#include "tsdb/wal.h"

namespace stackhouse::tsdb::wal_format {

inline constexpr std::string_view kMagic("SHWAL\0", 6);
inline constexpr uint16_t kVersion = 1;
inline constexpr size_t kSegmentHeaderSize = 8;
inline constexpr size_t kFrameHeaderSize = 12;
inline constexpr uint8_t kTypeRecordBatch = 1;
inline constexpr uint8_t kFlagZstd = 1;
inline constexpr uint64_t kMaxPayloadBytes = uint64_t{256} << 20;
inline constexpr uint64_t kMaxDecompressedBytes = uint64_t{1} << 30;
inline constexpr uint64_t kMaxRecordBytes = uint64_t{256} << 20;
// Record data per frame when a group-commit batch is split.
inline constexpr uint64_t kMaxBatchBytes = uint64_t{16} << 20;
inline constexpr uint64_t kMinCompressBytes = 1024;
inline constexpr int kZstdLevel = 1;
inline constexpr uint64_t kMaxSegmentIndex = 99999999;
inline constexpr std::string_view kCorruptDir = "corrupt";

inline void PutU16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v);
  p[1] = static_cast<char>(v >> 8);
}
inline void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline uint16_t GetU16(const char* p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | static_cast<uint8_t>(p[1]) << 8);
}
inline uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

inline std::string SegmentHeader() {
  std::string h(kMagic);
  h.resize(kSegmentHeaderSize);
  PutU16(h.data() + 6, kVersion);
  return h;
}

// "00000042".
inline std::string SegmentName(uint64_t index) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%08llu", static_cast<unsigned long long>(index));
  return buf;
}

// Exactly 8 decimal digits.
inline bool ParseSegmentName(std::string_view name, uint64_t* index) {
  if (name.size() != 8) return false;
  uint64_t v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *index = v;
  return true;
}

// The masked CRC-32C of type, flags and payload.
inline uint32_t FrameCrc(uint8_t type, uint8_t flags, std::string_view payload) {
  const char tf[2] = {static_cast<char>(type), static_cast<char>(flags)};
  return MaskCrc(Crc32c(payload, Crc32c(std::string_view(tf, 2))));
}

// Appends the 12-byte frame header and the payload.
inline void AppendFrame(std::string* out, uint8_t type, uint8_t flags, std::string_view payload) {
  char h[kFrameHeaderSize] = {};
  PutU32(h, static_cast<uint32_t>(payload.size()));
  PutU32(h + 4, FrameCrc(type, flags, payload));
  h[8] = static_cast<char>(type);
  h[9] = static_cast<char>(flags);
  out->append(h, kFrameHeaderSize);
  out->append(payload);
}

// Appends one record of record data: varint length, then the bytes.
inline void AppendRecord(std::string* out, std::string_view record) {
  protowire::Writer(out).Varint(record.size());
  out->append(record);
}

// Reads the segments of `dir` in order, calls `replay` for every record of
// every valid frame, repairs torn tails and sets mid-log corruption aside in
// <dir>/corrupt/ (wal.md, "Reading and recovery"), and adds one line per
// repair to report->problems. *last_index is the index of the last segment
// left in `dir`, 0 if none. Errors: I/O, an unsupported version, `replay`.
Status ReplaySegments(Env* env, const std::string& dir, const Wal::ReplayFn& replay,
                      WalReplayReport* report, uint64_t* last_index);

}  // namespace stackhouse::tsdb::wal_format

#endif  // STACKHOUSE_TSDB_WAL_FORMAT_H_
