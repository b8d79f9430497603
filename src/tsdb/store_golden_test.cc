// Golden query results: the real profiles of ../shared/testdata are stored
// (part in blocks, part in the head) and a fixed set of queries is compared
// with testdata/golden/store_queries.txt. After an intended change of the
// results, rerun with STACKHOUSE_UPDATE_GOLDEN=1 and review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "base/strings.h"
#include "base/testing/testing.h"
#include "profile/flamebearer.h"
#include "profile/pprof.h"
#include "tsdb/merge.h"
#include "tsdb/store.h"
#include "tsdb/testing/store_testing.h"

namespace stackhouse::tsdb {
namespace {

using stackhouse::testing::OwnTestdata;
using stackhouse::testing::ReadOrDie;
using stackhouse::testing::SharedTestdata;

TEST(StoreGoldenTest, QueriesOverTestdata) {
  MemEnv env;
  StoreOptions o;
  o.dir = "/data";
  o.env = &env;
  o.background = false;
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok());
  struct Input {
    const char* file;
    const char* service;
  } inputs[] = {{"go_cpu.pb.gz", "ledger"},    {"go_heap.pb.gz", "ledger"},
                {"go_mutex.pb.gz", "ledger"},  {"go_block.pb.gz", "ledger"},
                {"node_1.pb.gz", "invoices"},  {"node_2.pb.gz", "invoices"},
                {"node_3.pb.gz", "invoices"},  {"gperftools_cpu.pb.gz", "inventory"}};
  int i = 0;
  for (const Input& in : inputs) {
    auto p = profile::DecodePprof(ReadOrDie(SharedTestdata(in.file)));
    ASSERT_TRUE(p.ok());
    // Fixed times so that the results do not depend on the files' own.
    int64_t t = int64_t{1704067200} * 1000000000 + i * int64_t{60} * 1000000000;
    Status s = (*store)->Append("t", testing::Labels({{"service_name", in.service}}), *p, t);
    ASSERT_TRUE(s.ok()) << s.ToString();
    if (++i == 4) ASSERT_TRUE((*store)->CutHead().ok());
  }
  auto snap = (*store)->GetSnapshot();
  std::string got;
  auto sel = [](std::vector<std::string> eq) {
    Selection s;
    s.tenant = "t";
    s.matchers = testing::Eq(eq);
    return s;
  };
  std::set<std::string> values;
  ASSERT_TRUE(snap->LabelValues(sel({}), "__profile_type__", &values).ok());
  got += "profile types:\n";
  for (const auto& v : values) got += "  " + v + "\n";
  values.clear();
  ASSERT_TRUE(snap->LabelNames(sel({"service_name=invoices"}), &values).ok());
  got += "label names of invoices:\n";
  for (const auto& v : values) got += "  " + v + "\n";

  for (const char* type : {"process_cpu:cpu:nanoseconds:cpu:nanoseconds",
                           "memory:inuse_space:bytes:space:bytes",
                           "block:delay:nanoseconds:contentions:count",
                           "wall:cpu:nanoseconds:wall:nanoseconds"}) {
    FlameTreeSink sink;
    ASSERT_TRUE(snap->MergeStacks(sel({std::string("__profile_type__=") + type}), &sink).ok());
    profile::FlamebearerMetadata meta;
    meta.name = type;
    got += StrCat("flamebearer ", type, ":\n", profile::WriteFlamebearer(sink.Finish(), meta), "\n");
  }
  TotalsRequest req;
  req.step = int64_t{60} * 1000000000;
  req.group_by = {"region"};
  Selection wall = sel({"__profile_type__=wall:samples:count:wall:nanoseconds"});
  TotalsResult totals(int64_t{1704067200} * 1000000000, int64_t{1704067200 + 600} * 1000000000,
                      req.step);
  ASSERT_TRUE(snap->Totals(wall, req, &totals).ok());
  got += "wall samples per minute by region:\n";
  for (const auto& [group, buckets] : totals.groups()) {
    got += "  " + (group.empty() ? std::string("(none)") : group) + ":";
    for (int64_t v : buckets) got += " " + std::to_string(v);
    got += "\n";
  }

  std::string path = OwnTestdata("golden/store_queries.txt");
  if (const char* update = std::getenv("STACKHOUSE_UPDATE_GOLDEN"); update && *update) {
    std::ofstream(path) << got;
  }
  EXPECT_EQ(got, ReadOrDie(path)) << "rerun with STACKHOUSE_UPDATE_GOLDEN=1 to update " << path;
}

}  // namespace
}  // namespace stackhouse::tsdb
