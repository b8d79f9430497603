// Fuzz target for the block reader's index.bin: a valid block with index.bin
// replaced by the input must open with an error or serve every query without
// crashing.
#include <cstdint>

#include "tsdb/testing/block_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stackhouse::tsdb::testing::FuzzBlockFile(
      "index.bin", std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
