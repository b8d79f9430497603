// Fuzz target for WAL replay and repair. The input becomes segment files in a
// MemEnv directory in four ways: raw (no header), after a valid header, after
// a valid header with every complete frame's CRC fixed up (so that payload
// decoding is reached), and split into two such segments. Open must never
// crash or allocate without bound; when it succeeds, the repaired log must be
// writable and a second Open must replay the same records (plus the one
// appended) and report nothing.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "tsdb/wal.h"
#include "tsdb/wal_format.h"

namespace {

using namespace stackhouse;
using namespace stackhouse::tsdb;
namespace fmt = stackhouse::tsdb::wal_format;

// Rewrites the CRC of every complete frame in `frames` (no segment header).
std::string FixCrcs(std::string_view frames) {
  std::string out(frames);
  size_t off = 0;
  while (out.size() - off >= fmt::kFrameHeaderSize) {
    uint32_t len = fmt::GetU32(out.data() + off);
    if (len > out.size() - off - fmt::kFrameHeaderSize) break;
    uint8_t type = static_cast<uint8_t>(out[off + 8]);
    uint8_t flags = static_cast<uint8_t>(out[off + 9]);
    std::string_view payload(out.data() + off + fmt::kFrameHeaderSize, len);
    fmt::PutU32(out.data() + off + 4, fmt::FrameCrc(type, flags, payload));
    off += fmt::kFrameHeaderSize + len;
  }
  return out;
}

void Check(bool ok) {
  if (!ok) std::abort();
}

void RunCase(const std::vector<std::string>& segments) {
  MemEnv env;
  const std::string dir = "/wal";
  Check(env.CreateDirs(dir).ok());
  for (size_t i = 0; i < segments.size(); ++i) {
    auto f = env.NewWritableFile(JoinPath(dir, fmt::SegmentName(i + 1)));
    Check(f.ok() && (*f)->Append(segments[i]).ok() && (*f)->Sync().ok());
  }
  Check(env.SyncDir(dir).ok());

  uint64_t records = 0;
  auto count = [&](std::string_view rec) {
    Check(rec.size() <= fmt::kMaxRecordBytes);
    ++records;
    return OkStatus();
  };
  WalOptions options;
  options.segment_bytes = 4096;
  WalReplayReport report;
  auto wal = Wal::Open(&env, dir, options, count, &report);
  if (!wal.ok()) return;
  Check(report.records == records);
  Check((*wal)->AppendAndSync("appended after repair").ok());
  Check((*wal)->Close().ok());
  wal->reset();

  uint64_t again_records = 0;
  WalReplayReport again;
  auto count_again = [&](std::string_view) {
    ++again_records;
    return OkStatus();
  };
  auto wal2 = Wal::Open(&env, dir, options, count_again, &again);
  Check(wal2.ok());
  Check(again.problems.empty());
  Check(again_records == records + 1 && again.records == records + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string header = fmt::SegmentHeader();
  RunCase({std::string(in)});
  RunCase({header + std::string(in)});
  RunCase({header + FixCrcs(in)});
  if (size > 1) {
    size_t split = 1 + data[0] % (size - 1);
    RunCase({header + FixCrcs(in.substr(1, split - 1)), header + FixCrcs(in.substr(split))});
  }
  return 0;
}
