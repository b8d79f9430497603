// Fuzz target for the store's WAL record reader (docs/format/wal_records.md):
// replaying arbitrary bytes into a head must fail cleanly or succeed, and a
// head that accepted records must answer queries.
#include <cstdint>
#include <string_view>

#include "tsdb/head.h"
#include "tsdb/merge.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stackhouse::tsdb;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Head head(1);
  // The input may hold several records separated by 0xff 0xfe.
  size_t pos = 0;
  while (pos <= in.size()) {
    size_t end = in.find("\xff\xfe", pos);
    if (end == std::string_view::npos) end = in.size();
    std::string_view record = in.substr(pos, end - pos);
    if (!record.empty() && record[0] == 2) head.Replay(record.substr(1)).ok();
    pos = end + 2;
  }
  for (const std::string& tenant : head.Tenants()) {
    Selection sel;
    sel.tenant = tenant;
    FlameTreeSink sink;
    head.source().MergeStacks(sel, &sink).ok();
    sink.Finish();
    ProfileSink psink("x", "y");
    head.source().MergeStacks(sel, &psink).ok();
    psink.Finish();
  }
  return 0;
}
