// WAL reading and repair (docs/format/wal.md, "Reading and recovery").
//
// Every input here is untrusted: sizes are checked against the limits and the
// bytes actually present before anything is allocated, and a frame's records
// are handed out only after the whole frame validated.
#include <zstd.h>

#include <algorithm>
#include <memory>

#include "base/strings.h"
#include "tsdb/wal_format.h"

namespace stackhouse::tsdb::wal_format {
namespace {

struct Segment {
  uint64_t index;
  std::string name;
  std::string path;
};

// What is wrong with a segment, found by ReplaySegment; repaired by Run.
struct Damage {
  enum Kind {
    kNone,
    kTornTail,    // last segment: truncate at `offset`
    kTornHeader,  // last segment, shorter than its header: delete it
    kBadHeader,   // set this segment and all later ones aside
    kBadFrame,    // save the rest, truncate at `offset`, set later segments aside
  } kind = kNone;
  uint64_t offset = 0;
  uint64_t file_size = 0;
  std::string reason;
};

struct ZstdDCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

class Replayer {
 public:
  Replayer(Env* env, std::string dir, const Wal::ReplayFn& replay, WalReplayReport* report)
      : env_(env), dir_(std::move(dir)), replay_(replay), report_(report) {}

  Status Run(uint64_t* last_index);

 private:
  Status ReplaySegment(const Segment& seg, bool is_last, Damage* damage);
  // Validates a payload; on success *data is the record data and *count the
  // number of records. On failure returns false and sets *why.
  bool Decode(std::string_view payload, uint8_t flags, std::string_view* data, uint64_t* count,
              std::string* why);
  bool Unzstd(std::string_view in, std::string* why);
  Status Deliver(std::string_view data, const Segment& seg, uint64_t offset);

  // Moves segs[from..] into corrupt/, newest first, so that a crash half way
  // leaves a consecutive run of segments. Returns the bytes moved.
  StatusOr<uint64_t> SetAside(const std::vector<Segment>& segs, size_t from);
  // Copies [offset, end) of the segment into corrupt/; returns the new path.
  StatusOr<std::string> SaveTail(const Segment& seg, uint64_t offset);
  StatusOr<std::string> CorruptPath(std::string_view name);
  std::string CorruptDir() const { return JoinPath(dir_, kCorruptDir); }

  Env* env_;
  std::string dir_;
  const Wal::ReplayFn& replay_;
  WalReplayReport* report_;
  std::unique_ptr<ZSTD_DCtx, ZstdDCtxFree> dctx_;
  std::string header_;
  std::string payload_;
  std::string plain_;
};

Status Replayer::Run(uint64_t* last_index) {
  *last_index = 0;
  SH_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->ListDir(dir_));
  std::vector<Segment> segs;
  for (const std::string& name : names) {  // sorted, and the names have a fixed width
    uint64_t index;
    if (ParseSegmentName(name, &index)) segs.push_back({index, name, JoinPath(dir_, name)});
  }
  for (size_t i = 0; i < segs.size(); ++i) {
    const Segment& seg = segs[i];
    if (i > 0 && seg.index != segs[i - 1].index + 1) {
      std::string missing = JoinPath(dir_, SegmentName(segs[i - 1].index + 1));
      SH_ASSIGN_OR_RETURN(uint64_t moved, SetAside(segs, i));
      report_->problems.push_back(StrCat(missing, ": missing segment: moved ", segs.size() - i,
                                         " later segments (", moved, " bytes) to ", CorruptDir(),
                                         "/"));
      return OkStatus();
    }
    bool is_last = i + 1 == segs.size();
    Damage d;
    SH_RETURN_IF_ERROR(ReplaySegment(seg, is_last, &d));
    switch (d.kind) {
      case Damage::kNone:
        *last_index = seg.index;
        continue;
      case Damage::kTornTail:
        SH_RETURN_IF_ERROR(env_->TruncateFile(seg.path, d.offset));
        report_->problems.push_back(StrCat(seg.path, ": torn tail at offset ", d.offset, ", ",
                                           d.file_size - d.offset, " bytes truncated (", d.reason,
                                           ")"));
        *last_index = seg.index;
        return OkStatus();
      case Damage::kTornHeader:
        SH_RETURN_IF_ERROR(env_->DeleteFile(seg.path));
        SH_RETURN_IF_ERROR(env_->SyncDir(dir_));
        report_->problems.push_back(StrCat(seg.path, ": torn tail: ", d.reason, ", file removed"));
        return OkStatus();
      case Damage::kBadHeader: {
        SH_ASSIGN_OR_RETURN(uint64_t moved, SetAside(segs, i));
        report_->problems.push_back(StrCat(
            seg.path, ": bad segment header (", d.reason, "): moved it and ", segs.size() - i - 1,
            " later segments (", moved, " bytes) to ", CorruptDir(), "/"));
        return OkStatus();
      }
      case Damage::kBadFrame: {
        // Order matters for a crash during repair: later segments go first,
        // the truncation last, so a retry finds the same bad frame again.
        SH_ASSIGN_OR_RETURN(std::string saved, SaveTail(seg, d.offset));
        SH_ASSIGN_OR_RETURN(uint64_t moved, SetAside(segs, i + 1));
        SH_RETURN_IF_ERROR(env_->TruncateFile(seg.path, d.offset));
        std::string msg =
            StrCat(seg.path, ": corrupt frame at offset ", d.offset, " (", d.reason, "): dropped ",
                   d.file_size - d.offset, " bytes of this segment (saved as ", saved, ")");
        if (!is_last) {
          msg += StrCat(" and ", segs.size() - i - 1, " later segments (", moved,
                        " bytes, moved to ", CorruptDir(), "/)");
        }
        report_->problems.push_back(std::move(msg));
        *last_index = seg.index;
        return OkStatus();
      }
    }
  }
  return OkStatus();
}

Status Replayer::ReplaySegment(const Segment& seg, bool is_last, Damage* d) {
  SH_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file, env_->NewRandomAccessFile(seg.path));
  const uint64_t size = file->Size();
  d->file_size = size;
  const std::string header = SegmentHeader();
  if (size < kSegmentHeaderSize) {
    SH_RETURN_IF_ERROR(file->Read(0, size, &header_));
    bool prefix = header_ == std::string_view(header).substr(0, size);
    d->kind = is_last && prefix ? Damage::kTornHeader : Damage::kBadHeader;
    d->reason = StrCat("only ", size, " bytes of the ", kSegmentHeaderSize, "-byte header");
    return OkStatus();
  }
  SH_RETURN_IF_ERROR(file->Read(0, kSegmentHeaderSize, &header_));
  if (std::string_view(header_).substr(0, kMagic.size()) != kMagic) {
    d->kind = Damage::kBadHeader;
    d->reason = StrCat("bad magic ", Quote(header_.substr(0, kMagic.size())));
    return OkStatus();
  }
  uint16_t version = GetU16(header_.data() + kMagic.size());
  if (version != kVersion) {
    return FailedPreconditionError(StrCat(seg.path, ": WAL format version ", version,
                                          " is not supported (this build reads version ", kVersion,
                                          ")"));
  }

  uint64_t off = kSegmentHeaderSize;
  auto bad = [&](std::string reason, bool reaches_end) {
    d->kind = is_last && reaches_end ? Damage::kTornTail : Damage::kBadFrame;
    d->offset = off;
    d->reason = std::move(reason);
    return OkStatus();
  };
  while (off < size) {
    const uint64_t left = size - off;
    if (left < kFrameHeaderSize) {
      return bad(StrCat("incomplete frame header of ", left, " bytes"), true);
    }
    SH_RETURN_IF_ERROR(file->Read(off, kFrameHeaderSize, &header_));
    const char* h = header_.data();
    const uint32_t len = GetU32(h);
    const uint32_t crc = GetU32(h + 4);
    const uint8_t type = static_cast<uint8_t>(h[8]);
    const uint8_t flags = static_cast<uint8_t>(h[9]);
    const uint16_t reserved = GetU16(h + 10);
    if (len > left - kFrameHeaderSize) {
      return bad(StrCat("frame of ", len, " bytes runs past the end of the file"), true);
    }
    const bool at_end = kFrameHeaderSize + len == left;
    if (len > kMaxPayloadBytes) {
      return bad(StrCat("payload of ", len, " bytes is over the limit"), at_end);
    }
    if (type != kTypeRecordBatch) return bad(StrCat("unknown frame type ", int{type}), at_end);
    if ((flags & ~kFlagZstd) != 0) return bad(StrCat("unknown flags ", int{flags}), at_end);
    if (reserved != 0) return bad("reserved field is not zero", at_end);
    SH_RETURN_IF_ERROR(file->Read(off + kFrameHeaderSize, len, &payload_));
    if (FrameCrc(type, flags, payload_) != crc) return bad("checksum mismatch", at_end);
    std::string_view data;
    uint64_t count = 0;
    std::string why;
    if (!Decode(payload_, flags, &data, &count, &why)) return bad(std::move(why), at_end);
    SH_RETURN_IF_ERROR(Deliver(data, seg, off));
    report_->records += count;
    off += kFrameHeaderSize + len;
  }
  return OkStatus();
}

bool Replayer::Decode(std::string_view payload, uint8_t flags, std::string_view* data,
                      uint64_t* count, std::string* why) {
  if (flags & kFlagZstd) {
    if (!Unzstd(payload, why)) return false;
    *data = plain_;
  } else {
    *data = payload;
  }
  // First pass: validate the framing of every record, without allocating.
  protowire::Reader r(*data);
  *count = 0;
  while (!r.done()) {
    size_t at = r.offset();
    std::string_view rec;
    if (!r.ReadLengthDelimited(&rec)) {
      *why = StrCat("record at byte ", at, " of the batch runs past its end");
      return false;
    }
    if (rec.size() > kMaxRecordBytes) {
      *why = StrCat("record of ", rec.size(), " bytes is over the limit");
      return false;
    }
    ++*count;
  }
  return true;
}

bool Replayer::Unzstd(std::string_view in, std::string* why) {
  unsigned long long n = ZSTD_getFrameContentSize(in.data(), in.size());
  if (n == ZSTD_CONTENTSIZE_ERROR) {
    *why = "payload is not a zstd frame";
    return false;
  }
  if (n == ZSTD_CONTENTSIZE_UNKNOWN) {
    *why = "zstd frame does not declare its content size";
    return false;
  }
  if (n > kMaxDecompressedBytes) {
    *why = StrCat("zstd content of ", n, " bytes is over the limit");
    return false;
  }
  // Every zstd block of up to 128 KiB costs at least 4 bytes.
  if (n > (in.size() / 4 + 1) * (uint64_t{128} << 10)) {
    *why = StrCat("zstd frame of ", in.size(), " bytes cannot hold the ", n, " bytes it declares");
    return false;
  }
  size_t frame = ZSTD_findFrameCompressedSize(in.data(), in.size());
  if (ZSTD_isError(frame) || frame != in.size()) {
    *why = ZSTD_isError(frame) ? StrCat("zstd: ", ZSTD_getErrorName(frame))
                               : "bytes after the end of the zstd frame";
    return false;
  }
  if (dctx_ == nullptr) dctx_.reset(ZSTD_createDCtx());
  if (dctx_ == nullptr) {
    *why = "cannot allocate a zstd context";
    return false;
  }
  plain_.resize(n);
  size_t got = ZSTD_decompressDCtx(dctx_.get(), plain_.data(), n, in.data(), in.size());
  if (ZSTD_isError(got) || got != n) {
    *why = ZSTD_isError(got) ? StrCat("zstd: ", ZSTD_getErrorName(got))
                             : "zstd content is shorter than declared";
    return false;
  }
  return true;
}

Status Replayer::Deliver(std::string_view data, const Segment& seg, uint64_t offset) {
  protowire::Reader r(data);
  std::string_view rec;
  while (!r.done() && r.ReadLengthDelimited(&rec)) {
    report_->bytes += rec.size();
    if (!replay_) continue;
    Status s = replay_(rec);
    if (!s.ok()) {
      return s.WithPrefix(
          StrCat("wal: replay of a record of ", seg.path, " (frame at offset ", offset, ")"));
    }
  }
  return OkStatus();
}

StatusOr<std::string> Replayer::CorruptPath(std::string_view name) {
  SH_RETURN_IF_ERROR(env_->CreateDirs(CorruptDir()));
  std::string path = JoinPath(CorruptDir(), name);
  for (int n = 1; env_->FileExists(path); ++n) {
    path = JoinPath(CorruptDir(), StrCat(name, ".", n));
  }
  return path;
}

StatusOr<uint64_t> Replayer::SetAside(const std::vector<Segment>& segs, size_t from) {
  uint64_t bytes = 0;
  if (from >= segs.size()) return bytes;
  for (size_t i = segs.size(); i-- > from;) {
    SH_ASSIGN_OR_RETURN(uint64_t size, env_->FileSize(segs[i].path));
    SH_ASSIGN_OR_RETURN(std::string to, CorruptPath(segs[i].name));
    SH_RETURN_IF_ERROR(env_->RenameFile(segs[i].path, to));
    bytes += size;
  }
  SH_RETURN_IF_ERROR(env_->SyncDir(CorruptDir()));
  SH_RETURN_IF_ERROR(env_->SyncDir(dir_));
  return bytes;
}

StatusOr<std::string> Replayer::SaveTail(const Segment& seg, uint64_t offset) {
  SH_ASSIGN_OR_RETURN(std::string to, CorruptPath(StrCat(seg.name, ".tail-", offset)));
  SH_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> in, env_->NewRandomAccessFile(seg.path));
  SH_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> out, env_->NewWritableFile(to));
  constexpr uint64_t kChunk = 4 << 20;
  std::string buf;
  for (uint64_t pos = offset; pos < in->Size(); pos += kChunk) {
    SH_RETURN_IF_ERROR(in->Read(pos, std::min(kChunk, in->Size() - pos), &buf));
    SH_RETURN_IF_ERROR(out->Append(buf));
  }
  SH_RETURN_IF_ERROR(out->Sync());
  SH_RETURN_IF_ERROR(out->Close());
  SH_RETURN_IF_ERROR(env_->SyncDir(CorruptDir()));
  return to;
}

}  // namespace

Status ReplaySegments(Env* env, const std::string& dir, const Wal::ReplayFn& replay,
                      WalReplayReport* report, uint64_t* last_index) {
  return Replayer(env, dir, replay, report).Run(last_index);
}

}  // namespace stackhouse::tsdb::wal_format
