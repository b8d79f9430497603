// CRC-32C (Castagnoli), the checksum of the storage formats (WAL frames,
// blocks). Uses the SSE4.2 crc32 instruction when the CPU has it (checked once
// at run time) and a portable slicing-by-8 table otherwise; both give the same
// values. All functions are pure and thread-safe.
#ifndef STACKHOUSE_BASE_CRC32C_H_
#define STACKHOUSE_BASE_CRC32C_H_

#include <cstdint>
#include <string_view>

namespace stackhouse {

// The CRC-32C of `data`. Extendable: pass the CRC of a prefix as `init` to get
// the CRC of the concatenation, Crc32c(b, Crc32c(a)) == Crc32c(a + b).
// Crc32c("123456789") == 0xE3069283.
uint32_t Crc32c(std::string_view data, uint32_t init = 0);

// A CRC stored next to (or inside) data that is itself checksummed is stored
// masked, as LevelDB does: computing the CRC of a string that contains its
// own CRC is then no longer a degenerate case.
inline constexpr uint32_t kCrcMaskDelta = 0xa282ead8u;
inline uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kCrcMaskDelta; }
inline uint32_t UnmaskCrc(uint32_t masked) {
  uint32_t rot = masked - kCrcMaskDelta;
  return (rot >> 17) | (rot << 15);
}

namespace crc32c_internal {
// The two implementations, exposed for tests and benchmarks. Same contract as
// Crc32c. CrcHardware must only be called when HasHardwareCrc() is true.
uint32_t CrcPortable(std::string_view data, uint32_t init);
uint32_t CrcHardware(std::string_view data, uint32_t init);
bool HasHardwareCrc();
}  // namespace crc32c_internal

}  // namespace stackhouse

#endif  // STACKHOUSE_BASE_CRC32C_H_
