// stackhouse store: works directly on a data directory of the embedded
// profile store (no server): import profiles, query them, show statistics,
// verify every block, and run maintenance.
#include <cstdio>

#include "base/file.h"
#include "base/strings.h"
#include "base/time_parse.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/flags.h"
#include "profile/labels.h"
#include "profile/profile_type.h"
#include "profile/top.h"
#include "tsdb/merge.h"
#include "tsdb/store.h"

namespace stackhouse::cli {

namespace {

constexpr char kUsage[] =
    "usage: stackhouse store COMMAND DIR [ARGS...]\n"
    "\n"
    "Works on the data directory of the embedded profile store (stop the server first).\n"
    "\n"
    "Commands:\n"
    "  import DIR FILE... --service NAME [--labels k=v,...] [--tenant T]\n"
    "                 Appends profiles (any readable format) to the store.\n"
    "  query DIR [SELECTOR] [--from T] [--until T] [--format top|folded|pprof|svg|flamebearer]\n"
    "        [-o OUT] [--tenant T]\n"
    "                 Merges the matching profiles, e.g.\n"
    "                 'process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name=\"api\"}'.\n"
    "  stats DIR      Blocks, series, profiles and bytes.\n"
    "  verify DIR     Opens every block and checks every section's CRC.\n"
    "  compact DIR    Cuts the head into a block and compacts.\n"
    "\n"
    "Times: now, now-1h, unix seconds/ms/ns, YYYYMMDD or RFC 3339.\n";

StatusOr<std::unique_ptr<tsdb::Store>> OpenStore(const std::string& dir) {
  tsdb::StoreOptions o;
  o.dir = dir;
  o.background = false;
  o.retention = 0;
  o.limits.max_samples_per_profile = size_t{16} << 20;
  o.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  return tsdb::Store::Open(o);
}

int Import(const Flags& flags) {
  const auto& args = flags.positional();
  if (args.size() < 3) return Fail("store import", "expected DIR and at least one FILE", 2);
  if (flags.Get("service").empty()) return Fail("store import", "--service is required", 2);
  auto pairs = ParseLabelList(flags.Get("labels"));
  if (!pairs.ok()) return Fail("store import", pairs.status().message(), 2);
  pairs->push_back({"service_name", flags.Get("service")});
  auto labels = profile::LabelSet::FromPairs(std::move(*pairs));
  if (!labels.ok()) return Fail("store import", labels.status().message(), 2);
  auto store = OpenStore(args[1]);
  if (!store.ok()) return Fail("store import", store.status().message());
  for (size_t i = 2; i < args.size(); ++i) {
    auto p = LoadProfile(args[i], flags.Get("from-format"));
    if (!p.ok()) return Fail("store import", p.status().message());
    Status s = (*store)->Append(flags.Get("tenant"), *labels, *p);
    if (!s.ok()) return Fail("store import", StrCat(args[i], ": ", s.message()));
  }
  std::printf("imported %zu profiles\n", args.size() - 2);
  return (*store)->Close().ok() ? 0 : 1;
}

int Query(const Flags& flags) {
  const auto& args = flags.positional();
  if (args.size() < 2 || args.size() > 3) return Fail("store query", "expected DIR [SELECTOR]", 2);
  auto store = OpenStore(args[1]);
  if (!store.ok()) return Fail("store query", store.status().message());
  tsdb::Selection sel;
  sel.tenant = flags.Get("tenant");
  std::string type_id;
  if (args.size() == 3) {
    auto selector = profile::ParseSelector(args[2]);
    if (!selector.ok()) return Fail("store query", selector.status().message(), 2);
    sel.matchers = selector->matchers;
    type_id = selector->profile_type;
  }
  int64_t now = NowNanos();
  if (flags.IsSet("from")) {
    auto t = ParseTime(flags.Get("from"), now);
    if (!t.ok()) return Fail("store query", "--from: " + t.status().message(), 2);
    sel.range.from = *t;
  }
  if (flags.IsSet("until")) {
    auto t = ParseTime(flags.Get("until"), now);
    if (!t.ok()) return Fail("store query", "--until: " + t.status().message(), 2);
    sel.range.to = *t;
  }
  auto snap = (*store)->GetSnapshot();
  if (type_id.empty()) {
    // Without a type in the selector, the matching series must have one.
    std::set<std::string> types;
    Status s = snap->LabelValues(sel, "__profile_type__", &types);
    if (!s.ok()) return Fail("store query", s.message());
    if (types.size() != 1) {
      std::string list;
      for (const auto& t : types) list += "\n  " + t;
      return Fail("store query", types.empty() ? "no matching profiles"
                                               : "several profile types match; put one in the "
                                                 "selector:" + list);
    }
    type_id = *types.begin();
  }
  auto type = profile::ProfileType::Parse(type_id);
  if (!type.ok()) return Fail("store query", type.status().message(), 2);
  auto m = profile::Matcher::Create("__profile_type__", profile::MatchOp::kEqual, type_id);
  sel.matchers.push_back(*m);
  tsdb::ProfileSink sink(type->sample_type, type->sample_unit, type->period_type, type->period_unit);
  Status s = snap->MergeStacks(sel, &sink);
  if (!s.ok()) return Fail("store query", s.message());
  profile::Profile p = sink.Finish();
  const std::string& format = flags.Get("format");
  if (format == "top") {
    profile::TopTable t = profile::ComputeTop(p, 0);
    std::printf("Type: %s\n%s", type_id.c_str(), profile::FormatTop(t, type->sample_unit, 20).c_str());
    return 0;
  }
  auto f = profile::ParseFormatName(format);
  if (!f || !profile::CanWrite(*f)) return Fail("store query", "unknown --format " + format, 2);
  auto bytes = profile::WriteProfile(p, *f);
  if (!bytes.ok()) return Fail("store query", bytes.status().message());
  Status w = WriteFile(flags.Get("output"), *bytes);
  return w.ok() ? 0 : Fail("store query", w.message());
}

int Stats(const Flags& flags) {
  if (flags.positional().size() != 2) return Fail("store stats", "expected DIR", 2);
  auto store = OpenStore(flags.positional()[1]);
  if (!store.ok()) return Fail("store stats", store.status().message());
  tsdb::StoreStats st = (*store)->stats();
  std::printf("head: generation %llu, %zu series, %zu profiles, ~%zu bytes\n",
              static_cast<unsigned long long>(st.head_generation), st.head_series,
              st.head_profiles, st.head_bytes);
  auto snap = (*store)->GetSnapshot();
  std::printf("blocks: %zu, %llu bytes\n", st.blocks,
              static_cast<unsigned long long>(st.block_bytes));
  for (const auto* src : snap->sources()) {
    const auto* b = dynamic_cast<const tsdb::Block*>(src);
    if (b == nullptr) continue;
    const auto& m = b->meta();
    std::printf("  %s tenant=%s level=%d series=%llu profiles=%llu samples=%llu bytes=%llu\n",
                m.id.c_str(), m.tenant.c_str(), m.level,
                static_cast<unsigned long long>(m.stats.series),
                static_cast<unsigned long long>(m.stats.profiles),
                static_cast<unsigned long long>(m.stats.samples),
                static_cast<unsigned long long>(m.stats.bytes));
  }
  return 0;
}

int Verify(const Flags& flags) {
  if (flags.positional().size() != 2) return Fail("store verify", "expected DIR", 2);
  auto store = OpenStore(flags.positional()[1]);
  if (!store.ok()) return Fail("store verify", store.status().message());
  int bad = 0;
  size_t n = 0;
  auto snap = (*store)->GetSnapshot();  // keep it alive while iterating
  for (const auto* src : snap->sources()) {
    const auto* b = dynamic_cast<const tsdb::Block*>(src);
    if (b == nullptr) continue;
    ++n;
    Status s = b->Verify();
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.message().c_str());
      ++bad;
    }
  }
  std::printf("%zu blocks checked, %d with errors; %llu quarantined at open\n", n, bad,
              static_cast<unsigned long long>((*store)->stats().quarantined));
  return bad == 0 ? 0 : 1;
}

int Compact(const Flags& flags) {
  if (flags.positional().size() != 2) return Fail("store compact", "expected DIR", 2);
  auto store = OpenStore(flags.positional()[1]);
  if (!store.ok()) return Fail("store compact", store.status().message());
  Status s = (*store)->CutHead();
  if (s.ok()) s = (*store)->Compact();
  if (s.ok()) s = (*store)->ApplyRetention();
  if (!s.ok()) return Fail("store compact", s.message());
  std::printf("%zu blocks\n", (*store)->stats().blocks);
  return 0;
}

}  // namespace

int StoreMain(int argc, char** argv, int first) {
  Flags flags;
  flags.Value("service", "", "import: the service_name label");
  flags.Value("labels", "", "import: more series labels, k=v,k2=v2");
  flags.Value("tenant", "anonymous", "The tenant");
  flags.Value("from-format", "", "import: input format (detected when absent)");
  flags.Value("from", "", "query: start time");
  flags.Value("until", "", "query: end time");
  flags.Value("format", "top", "query: top, folded, pprof, svg, flamebearer, speedscope");
  flags.Value("output", "-", "query: output file", {"-o"});
  Status s = flags.Parse(argc, argv, first);
  if (flags.help()) {
    std::printf("%s\nOptions:\n%s", kUsage, flags.Usage().c_str());
    return 0;
  }
  if (!s.ok()) return Fail("store", s.message() + " (see --help)", 2);
  if (flags.positional().empty()) return Fail("store", "expected a command (see --help)", 2);
  const std::string& cmd = flags.positional()[0];
  if (cmd == "import") return Import(flags);
  if (cmd == "query") return Query(flags);
  if (cmd == "stats") return Stats(flags);
  if (cmd == "verify") return Verify(flags);
  if (cmd == "compact") return Compact(flags);
  return Fail("store", "unknown command " + Quote(cmd) + " (see --help)", 2);
}

}  // namespace stackhouse::cli
