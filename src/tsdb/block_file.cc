#include "tsdb/block_file.h"

#include <zstd.h>

#include <cstring>

#include "base/crc32c.h"
#include "base/protowire.h"
#include "base/strings.h"
#include "base/varint.h"

namespace stackhouse::tsdb {

namespace {
constexpr size_t kMagicSize = 8;
constexpr size_t kFooterSize = 16;
constexpr char kFooterMagic[] = "SHBF";

void PutFixed32(std::string* out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out->append(b, 4);
}
void PutFixed64(std::string* out, uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out->append(b, 8);
}
}  // namespace

std::string ZstdCompress(std::string_view data, int level) {
  std::string out;
  out.resize(ZSTD_compressBound(data.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  if (ZSTD_isError(n)) return {};  // cannot happen with a compressBound buffer
  out.resize(n);
  return out;
}

StatusOr<std::string> ZstdDecompress(std::string_view data, size_t max_bytes) {
  unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (size == ZSTD_CONTENTSIZE_ERROR) return DataLossError("zstd: not a zstd frame");
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size > max_bytes) {
    return DataLossError(StrCat("zstd: frame content size ", size, " is unknown or over ",
                                max_bytes));
  }
  std::string out;
  out.resize(static_cast<size_t>(size));
  size_t n = ZSTD_decompress(out.data(), out.size(), data.data(), data.size());
  if (ZSTD_isError(n) || n != size) {
    return DataLossError(StrCat("zstd: ", ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short frame"));
  }
  return out;
}

SectionWriter::SectionWriter(std::unique_ptr<WritableFile> file, std::string_view magic,
                             int zstd_level)
    : file_(std::move(file)), level_(zstd_level) {
  status_ = file_->Append(magic.substr(0, kMagicSize));
  offset_ = kMagicSize;
}

Status SectionWriter::Add(uint32_t id, std::string_view data) {
  if (!status_.ok()) return status_;
  std::string z = ZstdCompress(data, level_);
  status_ = file_->Append(z);
  if (!status_.ok()) return status_;
  PutUvarint(&toc_entries_, id);
  PutUvarint(&toc_entries_, offset_);
  PutUvarint(&toc_entries_, z.size());
  PutFixed32(&toc_entries_, MaskCrc(Crc32c(z)));
  ++count_;
  offset_ += z.size();
  return OkStatus();
}

Status SectionWriter::Finish() {
  if (!status_.ok()) return status_;
  std::string toc;
  PutUvarint(&toc, count_);
  toc += toc_entries_;
  std::string footer;
  PutFixed64(&footer, offset_);
  PutFixed32(&footer, MaskCrc(Crc32c(toc)));
  footer.append(kFooterMagic, 4);
  SH_RETURN_IF_ERROR(file_->Append(toc));
  SH_RETURN_IF_ERROR(file_->Append(footer));
  offset_ += toc.size() + footer.size();
  SH_RETURN_IF_ERROR(file_->Sync());
  return file_->Close();
}

StatusOr<std::unique_ptr<SectionReader>> SectionReader::Open(Env* env, const std::string& path,
                                                             std::string_view magic) {
  auto r = std::make_unique<SectionReader>();
  r->path_ = path;
  SH_ASSIGN_OR_RETURN(r->file_, env->NewRandomAccessFile(path));
  uint64_t size = r->file_->Size();
  auto corrupt = [&](std::string_view what) {
    return DataLossError(StrCat(path, ": ", what));
  };
  if (size < kMagicSize + kFooterSize) return corrupt("file too short");
  std::string head, footer;
  SH_RETURN_IF_ERROR(r->file_->Read(0, kMagicSize, &head));
  if (head != magic.substr(0, kMagicSize)) return corrupt("bad magic");
  SH_RETURN_IF_ERROR(r->file_->Read(size - kFooterSize, kFooterSize, &footer));
  if (std::memcmp(footer.data() + 12, kFooterMagic, 4) != 0) return corrupt("bad footer magic");
  uint64_t toc_offset;
  uint32_t toc_crc;
  std::memcpy(&toc_offset, footer.data(), 8);
  std::memcpy(&toc_crc, footer.data() + 8, 4);
  if (toc_offset < kMagicSize || toc_offset > size - kFooterSize) {
    return corrupt(StrCat("toc offset ", toc_offset, " out of range"));
  }
  std::string toc;
  SH_RETURN_IF_ERROR(r->file_->Read(toc_offset, size - kFooterSize - toc_offset, &toc));
  if (MaskCrc(Crc32c(toc)) != toc_crc) return corrupt(StrCat("toc CRC mismatch at offset ", toc_offset));
  protowire::Reader pr(toc);
  VarintReader in(&pr);
  uint64_t n = in.Count(4);
  for (uint64_t i = 0; i < n && !in.failed(); ++i) {
    uint64_t id = in.Uvarint();
    Entry e;
    e.offset = in.Uvarint();
    e.length = in.Uvarint();
    uint32_t crc = 0;
    for (int k = 0; k < 4; ++k) crc |= uint32_t{in.Byte()} << (8 * k);
    e.crc = crc;
    if (in.failed()) break;
    if (id > UINT32_MAX || e.offset < kMagicSize || e.offset > toc_offset ||
        e.length > toc_offset - e.offset || !r->toc_.emplace(static_cast<uint32_t>(id), e).second) {
      return corrupt(StrCat("bad toc entry ", i));
    }
  }
  if (in.failed() || !in.done()) return corrupt("malformed toc");
  return r;
}

StatusOr<std::string> SectionReader::Read(uint32_t id) const {
  auto it = toc_.find(id);
  if (it == toc_.end()) return DataLossError(StrCat(path_, ": missing section ", id));
  std::string raw;
  SH_RETURN_IF_ERROR(file_->Read(it->second.offset, it->second.length, &raw));
  if (MaskCrc(Crc32c(raw)) != it->second.crc) {
    return DataLossError(
        StrCat(path_, ": CRC mismatch in section ", id, " at offset ", it->second.offset));
  }
  auto out = ZstdDecompress(raw);
  if (!out.ok()) return out.status().WithPrefix(StrCat(path_, ": section ", id));
  return out;
}

}  // namespace stackhouse::tsdb
