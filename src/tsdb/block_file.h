// The container of block files (docs/format/block.md, "Container"): a magic,
// sections (zstd-compressed unless stored raw), a table of contents with a
// CRC per section, and a footer. SectionWriter builds one; SectionReader
// checks and reads one, section by section, without trusting any length it
// reads. Not thread-safe, except SectionReader::Read, which is.
#ifndef STACKHOUSE_TSDB_BLOCK_FILE_H_
#define STACKHOUSE_TSDB_BLOCK_FILE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/env.h"
#include "base/status.h"

namespace stackhouse::tsdb {

inline constexpr std::string_view kIndexMagic{"SHIDX\0\0\1", 8};
inline constexpr std::string_view kSymbolsMagic{"SHSYM\0\0\1", 8};
inline constexpr std::string_view kSamplesMagic{"SHSMP\0\0\1", 8};
inline constexpr size_t kMaxSectionBytes = size_t{1} << 30;

std::string ZstdCompress(std::string_view data, int level);
StatusOr<std::string> ZstdDecompress(std::string_view data, size_t max_bytes = kMaxSectionBytes);

class SectionWriter {
 public:
  // `magic` is one of the 8-byte k*Magic constants.
  SectionWriter(std::unique_ptr<WritableFile> file, std::string_view magic, int zstd_level);
  // Compresses `data` and appends it as section `id`.
  Status Add(uint32_t id, std::string_view data);
  // Writes the toc and footer, syncs and closes the file.
  Status Finish();
  uint64_t bytes() const { return offset_; }

 private:
  std::unique_ptr<WritableFile> file_;
  int level_;
  uint64_t offset_ = 0;
  std::string toc_entries_;
  uint64_t count_ = 0;
  Status status_;
};

class SectionReader {
 public:
  // Reads and checks the magic, footer and toc of `path`.
  static StatusOr<std::unique_ptr<SectionReader>> Open(Env* env, const std::string& path,
                                                       std::string_view magic);
  bool Has(uint32_t id) const { return toc_.count(id) > 0; }
  // Reads, checks and decompresses a section. Thread-safe.
  StatusOr<std::string> Read(uint32_t id) const;
  uint64_t file_size() const { return file_->Size(); }
  const std::string& path() const { return path_; }

 private:
  struct Entry {
    uint64_t offset, length;
    uint32_t crc;
  };
  std::unique_ptr<RandomAccessFile> file_;
  std::string path_;
  std::map<uint32_t, Entry> toc_;
};

}  // namespace stackhouse::tsdb

#endif  // STACKHOUSE_TSDB_BLOCK_FILE_H_
