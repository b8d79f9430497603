#include "tsdb/head.h"

#include <gtest/gtest.h>

#include "tsdb/testing/store_testing.h"

namespace stackhouse::tsdb {
namespace {

using testing::FoldedProfile;
using testing::Labels;
using testing::MergedFolded;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'704'067'200 * kSec;

// Appends `p` as one series of `service` (tenant "t") and returns the WAL
// record the head wrote.
std::string Append(Head* head, const std::string& service, const profile::Profile& p) {
  AppendRequest req;
  req.tenant = "t";
  req.service = service;
  req.profile = &p;
  req.time_nanos = p.time_nanos;
  req.duration_nanos = p.duration_nanos;
  req.series.push_back({Labels({{"service_name", service}}), 0, 0});
  std::string record;
  auto seq = head->Append(req, [&](std::string_view r) {
    record = std::string(r);
    return 1;
  });
  EXPECT_TRUE(seq.ok()) << seq.status().ToString();
  return record;
}

// The sizes of the symbol table of `service` in `head`.
SymbolTable::Sizes TableSizes(const Head& head, const std::string& service) {
  SymbolTable::Sizes sizes;
  head.VisitTenant(
      "t",
      [&](uint32_t, const std::string& s, const SymbolTable& symbols) {
        if (s == service) sizes = symbols.sizes();
      },
      [](const profile::LabelSet&, uint32_t, const std::vector<Head::SeriesProfile>&) {});
  return sizes;
}

Selection All(const std::string& service) {
  Selection sel;
  sel.tenant = "t";
  sel.matchers = testing::Eq({"service_name=" + service});
  sel.range = {INT64_MIN, INT64_MAX};
  return sel;
}

// Replays records (with their type byte) into a new head.
std::unique_ptr<Head> ReplayInto(const std::vector<std::string>& records) {
  auto head = std::make_unique<Head>(9);
  for (const std::string& r : records) {
    Status s = head->Replay(std::string_view(r).substr(1));
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return head;
}

TEST(HeadCarryTest, NextHeadContinuesTheTablesAndItsRecordsReplayAlone) {
  auto a = FoldedProfile("main;serve;parse 5\nmain;serve;write 3\nmain;gc 1\n", kT0);
  auto b = FoldedProfile("main;serve;parse 2\nmain;idle 4\n", kT0 + 10 * kSec);
  Head first(1);
  Append(&first, "api", a);
  Append(&first, "api", b);
  const SymbolTable::Sizes full = TableSizes(first, "api");

  Head second(2);
  second.CarrySymbolsFrom(first, {});
  // Carried tables alone are not data: no tenant to cut yet.
  EXPECT_TRUE(second.Tenants().empty());
  EXPECT_TRUE(second.empty());
  std::vector<std::string> records;
  records.push_back(Append(&second, "api", a));
  // Every symbol of `a` was carried: the table did not grow.
  EXPECT_EQ(TableSizes(second, "api"), full);
  records.push_back(Append(&second, "api", FoldedProfile("main;new 6\n", kT0 + 20 * kSec)));
  SymbolTable::Sizes grown = TableSizes(second, "api");
  EXPECT_EQ(grown.strings, full.strings + 1);
  EXPECT_EQ(grown.nodes, full.nodes + 1);

  // The generation's records rebuild it with nothing from the first head:
  // the first record carries the whole table, the next only what it adds.
  EXPECT_GT(records[0].size(), records[1].size());
  auto replayed = ReplayInto(records);
  EXPECT_EQ(TableSizes(*replayed, "api"), grown);
  const std::string expected = "main;gc 1\nmain;new 6\nmain;serve;parse 5\nmain;serve;write 3\n";
  EXPECT_EQ(MergedFolded(second.source(), All("api")), expected);
  EXPECT_EQ(MergedFolded(replayed->source(), All("api")), expected);
}

TEST(HeadReplayTest, ARecordWhoseSeriesNamesAnotherServiceIsDataLoss) {
  // A record of service "web" holding a series of service "api" (no append
  // writes one; a corrupt WAL could): the series exists in api's partition,
  // so replaying it into web's would index the wrong partition.
  auto p = FoldedProfile("main;serve 5\n", kT0);
  Head writer(1);
  const std::string api = Append(&writer, "api", p);
  AppendRequest req;
  req.tenant = "t";
  req.service = "web";
  req.profile = &p;
  req.time_nanos = p.time_nanos;
  req.series.push_back({Labels({{"service_name", "api"}}), 0, 0});
  std::string bad;
  Head other(1);  // (in `writer` the series is api's already)
  ASSERT_TRUE(other
                  .Append(req,
                          [&](std::string_view r) {
                            bad = std::string(r);
                            return 1;
                          })
                  .ok());
  Head head(2);
  ASSERT_TRUE(head.Replay(std::string_view(api).substr(1)).ok());
  Status s = head.Replay(std::string_view(bad).substr(1));
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
  EXPECT_NE(s.message().find("a series of service \"api\""), std::string::npos) << s.ToString();
  EXPECT_EQ(MergedFolded(head.source(), All("api")), "main;serve 5\n");
}

TEST(HeadCarryTest, OldTablesAreDroppedAfterMaxGenerations) {
  auto a = FoldedProfile("main;a 1\n", kT0);
  auto b = FoldedProfile("main;b 1\n", kT0);
  Head::CarryLimits limits;
  limits.max_generations = 2;
  Head h1(1);
  Append(&h1, "api", a);
  Head h2(2);
  h2.CarrySymbolsFrom(h1, limits);
  Append(&h2, "api", b);
  // h2's table spans two generations: main, a, b.
  EXPECT_EQ(TableSizes(h2, "api").nodes, 4u);
  Head h3(3);
  h3.CarrySymbolsFrom(h2, limits);
  Append(&h3, "api", b);
  // Started afresh: "a" is gone.
  EXPECT_EQ(TableSizes(h3, "api").nodes, 3u);
  // ...and is carried again from there.
  Head h4(4);
  h4.CarrySymbolsFrom(h3, limits);
  Append(&h4, "api", b);
  EXPECT_EQ(TableSizes(h4, "api").nodes, 3u);
}

TEST(HeadCarryTest, TablesAreCarriedOnlyForServicesSeenAndNotTooBig) {
  Head h1(1);
  Append(&h1, "small", FoldedProfile("main;a 1\n", kT0));
  Append(&h1, "big", FoldedProfile("main;b;c;d;e 1\n", kT0));
  size_t small_bytes = 0;
  h1.VisitTenant(
      "t",
      [&](uint32_t, const std::string& s, const SymbolTable& symbols) {
        if (s == "small") small_bytes = symbols.MemoryBytes();
      },
      [](const profile::LabelSet&, uint32_t, const std::vector<Head::SeriesProfile>&) {});
  Head::CarryLimits limits;
  limits.max_bytes = small_bytes;
  Head h2(2);
  h2.CarrySymbolsFrom(h1, limits);
  Append(&h2, "small", FoldedProfile("main;x 1\n", kT0));
  Append(&h2, "big", FoldedProfile("main;x 1\n", kT0));
  EXPECT_EQ(TableSizes(h2, "small").nodes, 4u);  // root, main, a, x
  EXPECT_EQ(TableSizes(h2, "big").nodes, 3u);    // root, main, x

  // A service with no append in a generation (here "small" in h3) loses
  // its table.
  Head h3(3);
  h3.CarrySymbolsFrom(h2, {});
  Append(&h3, "big", FoldedProfile("main;y 1\n", kT0));
  Head h4(4);
  h4.CarrySymbolsFrom(h3, {});
  Append(&h4, "small", FoldedProfile("main;z 1\n", kT0));
  EXPECT_EQ(TableSizes(h4, "small").nodes, 3u);  // root, main, z
  Append(&h4, "big", FoldedProfile("main;x 1\n", kT0));
  EXPECT_EQ(TableSizes(h4, "big").nodes, 4u);  // root, main, y, x
}

}  // namespace
}  // namespace stackhouse::tsdb
