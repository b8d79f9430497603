#include "tsdb/block.h"

#include <algorithm>

#include "base/strings.h"
#include "base/varint.h"
#include "tsdb/sample_codec.h"

namespace stackhouse::tsdb {

struct Block::SeriesTable {
  int64_t scale = 1;
  uint64_t chunk_profiles = 1;
  std::vector<int64_t> times, durations, totals;
  std::vector<uint64_t> samples;
  std::vector<uint32_t> dictionary;  // stack key -> node
};

namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

constexpr int64_t kHourNs = kAggregateNs;

}  // namespace

Block::~Block() = default;

StatusOr<std::shared_ptr<Block>> Block::Open(Env* env, const std::string& dir) {
  return OpenWritten(env, dir, {});
}

StatusOr<std::shared_ptr<Block>> Block::OpenWritten(Env* env, const std::string& dir,
                                                    std::vector<SymbolTable> tables) {
  std::shared_ptr<Block> b(new Block());
  b->env_ = env;
  b->dir_ = dir;
  SH_ASSIGN_OR_RETURN(std::string meta_json, env->ReadFile(dir + "/meta.json"));
  auto meta = BlockMeta::FromJson(meta_json);
  if (!meta.ok()) return meta.status().WithPrefix(dir);
  b->meta_ = *meta;
  auto corrupt = [&](std::string_view what) { return DataLossError(StrCat(dir, ": ", what)); };

  // index.bin
  SH_ASSIGN_OR_RETURN(auto index, SectionReader::Open(env, dir + "/index.bin", kIndexMagic));
  SH_ASSIGN_OR_RETURN(std::string sec_strings, index->Read(1));
  SH_ASSIGN_OR_RETURN(std::string sec_partitions, index->Read(2));
  SH_ASSIGN_OR_RETURN(std::string sec_series, index->Read(3));
  SH_ASSIGN_OR_RETURN(std::string sec_postings, index->Read(4));
  std::vector<std::string> strings;
  {
    protowire::Reader r(sec_strings);
    VarintReader in(&r);
    uint64_t n = in.Count(1);
    for (uint64_t i = 0; i < n && !in.failed(); ++i) strings.emplace_back(in.String());
    if (in.failed() || !in.done()) return corrupt("index.bin: malformed strings");
  }
  {
    protowire::Reader r(sec_partitions);
    VarintReader in(&r);
    uint64_t n = in.Count(1);
    for (uint64_t i = 0; i < n && !in.failed(); ++i) b->partitions_.emplace_back(in.String());
    if (in.failed() || !in.done()) return corrupt("index.bin: malformed partitions");
  }
  {
    protowire::Reader r(sec_series);
    VarintReader in(&r);
    uint64_t n = in.Count(6);
    for (uint64_t i = 0; i < n && !in.failed(); ++i) {
      std::vector<profile::LabelPair> pairs;
      uint64_t nl = in.Count(2);
      for (uint64_t k = 0; k < nl && !in.failed(); ++k) {
        uint32_t name = in.Id(strings.size());
        uint32_t value = in.Id(strings.size());
        if (!in.failed()) pairs.push_back({strings[name], strings[value]});
      }
      SeriesInfo s;
      s.partition = in.Id(b->partitions_.size());
      s.min_time = in.Svarint();
      s.max_time = s.min_time + in.Svarint();
      s.profiles = in.Uvarint();
      s.samples = in.Uvarint();
      if (in.failed()) break;
      auto ls = profile::LabelSet::FromPairs(std::move(pairs));
      if (!ls.ok()) return corrupt("index.bin: bad series labels: " + ls.status().message());
      s.labels = std::move(ls).value();
      b->series_.push_back(std::move(s));
    }
    if (in.failed() || !in.done()) return corrupt("index.bin: malformed series");
  }
  {
    protowire::Reader r(sec_postings);
    VarintReader in(&r);
    uint64_t n = in.Count(3);
    for (uint64_t i = 0; i < n && !in.failed(); ++i) {
      uint32_t name = in.Id(strings.size());
      uint32_t value = in.Id(strings.size());
      uint64_t count = in.Count(1);
      std::vector<uint32_t> ids;
      uint64_t id = 0;
      for (uint64_t k = 0; k < count && !in.failed(); ++k) {
        uint64_t d = in.Uvarint();
        if (k > 0 && d == 0) in.Fail();
        id += d;
        if (id >= b->series_.size()) in.Fail();
        ids.push_back(static_cast<uint32_t>(id));
      }
      if (!in.failed()) b->postings_.Set(strings[name], strings[value], std::move(ids));
    }
    if (in.failed() || !in.done()) return corrupt("index.bin: malformed postings");
  }

  // symbols.bin: every partition's tables (unless the writer kept them).
  if (!tables.empty()) {
    if (tables.size() != b->partitions_.size()) {
      return InternalError(StrCat(dir, ": ", tables.size(), " tables kept for ",
                                  b->partitions_.size(), " partitions"));
    }
    b->symbols_ = std::move(tables);
  }
  SH_ASSIGN_OR_RETURN(auto symbols, SectionReader::Open(env, dir + "/symbols.bin", kSymbolsMagic));
  for (uint32_t p = b->symbols_.size(); p < b->partitions_.size(); ++p) {
    std::string s[5];
    for (uint32_t k = 0; k < 5; ++k) {
      SH_ASSIGN_OR_RETURN(s[k], symbols->Read(p * 8 + k + 1));
    }
    auto table = SymbolTable::DecodeSections(s[0], s[1], s[2], s[3], s[4]);
    if (!table.ok()) return table.status().WithPrefix(StrCat(dir, ": partition ", p));
    b->symbols_.push_back(std::move(table).value());
  }

  SH_ASSIGN_OR_RETURN(b->samples_, SectionReader::Open(env, dir + "/samples.bin", kSamplesMagic));
  for (uint32_t s = 0; s < b->series_.size(); ++s) {
    if (!b->samples_->Has(s * 64) || !b->samples_->Has(s * 64 + 62) ||
        !b->samples_->Has(s * 64 + 63)) {
      return corrupt(StrCat("samples.bin: series ", s, " lacks its profiles, dictionary or hours"));
    }
  }
  b->tables_.resize(b->series_.size());
  return b;
}

StatusOr<std::shared_ptr<const Block::SeriesTable>> Block::Table(uint32_t s) const {
  {
    std::lock_guard lock(cache_mu_);
    if (tables_[s]) return tables_[s];
  }
  SH_ASSIGN_OR_RETURN(std::string sec, samples_->Read(s * 64));
  auto t = std::make_shared<SeriesTable>();
  protowire::Reader r(sec);
  VarintReader in(&r);
  uint64_t n = in.Count(4);
  t->scale = static_cast<int64_t>(in.Uvarint());
  t->chunk_profiles = in.Uvarint();
  if (t->scale <= 0 || t->chunk_profiles == 0 || n != series_[s].profiles) in.Fail();
  int64_t time = 0;
  for (uint64_t i = 0; i < n && !in.failed(); ++i) t->times.push_back(time += in.Svarint());
  for (uint64_t i = 0; i < n && !in.failed(); ++i) t->durations.push_back(in.Svarint());
  for (uint64_t i = 0; i < n && !in.failed(); ++i) t->totals.push_back(in.Svarint());
  for (uint64_t i = 0; i < n && !in.failed(); ++i) t->samples.push_back(in.Uvarint());
  if (in.failed() || !in.done() || (n + t->chunk_profiles - 1) / t->chunk_profiles > 61) {
    return DataLossError(StrCat(dir_, ": samples.bin: malformed profiles table of series ", s));
  }
  SH_ASSIGN_OR_RETURN(std::string dict, samples_->Read(s * 64 + 62));
  protowire::Reader dr(dict);
  VarintReader din(&dr);
  uint64_t nd = din.Count(1);
  uint32_t max_node = static_cast<uint32_t>(symbols_[series_[s].partition].num_nodes());
  t->dictionary.reserve(nd);
  for (uint64_t i = 0; i < nd && !din.failed(); ++i) t->dictionary.push_back(din.Id(max_node));
  if (din.failed() || !din.done()) {
    return DataLossError(StrCat(dir_, ": samples.bin: malformed dictionary of series ", s));
  }
  std::lock_guard lock(cache_mu_);
  tables_[s] = t;
  return std::shared_ptr<const SeriesTable>(t);
}

Status Block::ReadChunk(uint32_t s, const SeriesTable& t, uint32_t c,
                        std::vector<std::vector<NodeValue>>* profiles) const {
  SH_ASSIGN_OR_RETURN(std::string sec, samples_->Read(s * 64 + 1 + c));
  size_t begin = c * t.chunk_profiles;
  size_t end = std::min(t.times.size(), begin + t.chunk_profiles);
  profiles->assign(end - begin, {});
  protowire::Reader r(sec);
  VarintReader in(&r);
  const uint64_t keys = t.dictionary.size();
  for (size_t i = begin; i < end; ++i) {
    auto& out = (*profiles)[i - begin];
    uint64_t n = t.samples[i];
    if (n > in.remaining()) return DataLossError(StrCat(dir_, ": samples.bin: bad chunk"));
    out.resize(n);
    uint64_t key = 0;
    for (uint64_t k = 0; k < n; ++k) {
      uint64_t d = in.Uvarint();
      if (k > 0 && d == 0) in.Fail();
      key += d;
      if (key >= keys) {
        in.Fail();
        break;
      }
      out[k].node = t.dictionary[key];
    }
  }
  for (size_t i = begin; i < end && !in.failed(); ++i) {
    for (NodeValue& nv : (*profiles)[i - begin]) {
      if (__builtin_mul_overflow(in.Svarint(), t.scale, &nv.value)) in.Fail();
    }
  }
  if (in.failed() || !in.done()) {
    return DataLossError(StrCat(dir_, ": samples.bin: malformed chunk ", c, " of series ", s));
  }
  return OkStatus();
}

Status Block::ReadHours(uint32_t s, const SeriesTable& t,
                        std::vector<std::pair<int64_t, std::vector<NodeValue>>>* hours) const {
  SH_ASSIGN_OR_RETURN(std::string sec, samples_->Read(s * 64 + 63));
  protowire::Reader r(sec);
  VarintReader in(&r);
  uint64_t n = in.Count(2);
  const uint32_t keys = static_cast<uint32_t>(t.dictionary.size());
  int64_t bucket = 0;
  hours->clear();
  for (uint64_t i = 0; i < n && !in.failed(); ++i) {
    bucket += in.Svarint();
    uint64_t entries = in.Uvarint();
    hours->push_back({bucket, {}});
    if (in.failed() || !DecodeSamples(&in, entries, t.scale, keys, &hours->back().second)) {
      in.Fail();
      break;
    }
    for (NodeValue& nv : hours->back().second) nv.node = t.dictionary[nv.node];
  }
  if (in.failed() || !in.done()) {
    return DataLossError(StrCat(dir_, ": samples.bin: malformed hours of series ", s));
  }
  return OkStatus();
}

std::vector<uint32_t> Block::Select(const Selection& sel) const {
  std::vector<uint32_t> out;
  if (sel.tenant != meta_.tenant || !sel.range.Overlaps(meta_.min_time, meta_.max_time)) return out;
  for (uint32_t id : postings_.Select(sel.matchers, series_.size())) {
    const SeriesInfo& s = series_[id];
    if (s.profiles == 0 || !sel.range.Overlaps(s.min_time, s.max_time)) continue;
    if (MatchesAll(sel.matchers, s.labels)) out.push_back(id);
  }
  return out;
}

Status Block::SelectSeries(const Selection& sel, std::vector<profile::LabelSet>* out) const {
  for (uint32_t id : Select(sel)) out->push_back(series_[id].labels);
  return OkStatus();
}

Status Block::MergeStacks(const Selection& sel, StackSink* sink) const {
  std::vector<uint32_t> ids = Select(sel);
  // Series grouped by partition.
  std::stable_sort(ids.begin(), ids.end(), [&](uint32_t a, uint32_t b) {
    return series_[a].partition < series_[b].partition;
  });
  NodeSums sums;
  std::vector<std::vector<NodeValue>> chunk;
  std::vector<std::pair<int64_t, std::vector<NodeValue>>> hours;
  for (size_t i = 0; i < ids.size();) {
    uint32_t part = series_[ids[i]].partition;
    const SymbolTable& symbols = symbols_[part];
    sums.Reset(symbols.num_nodes());
    for (; i < ids.size() && series_[ids[i]].partition == part; ++i) {
      uint32_t s = ids[i];
      SH_ASSIGN_OR_RETURN(auto table, Table(s));
      const SeriesTable& t = *table;
      // Whole aggregation buckets inside the range come from the "hours"
      // section; only profiles outside them are read from chunks.
      int64_t first_hour = FloorDiv(sel.range.from, kHourNs);
      // (For an unbounded start, first_hour * kHourNs would overflow.)
      if (sel.range.from == INT64_MIN) {
        first_hour = INT64_MIN / kHourNs - 1;
      } else if (first_hour * kHourNs < sel.range.from) {
        ++first_hour;
      }
      int64_t end_hour = FloorDiv(sel.range.to, kHourNs);  // exclusive
      if (sel.range.to == INT64_MAX) end_hour = INT64_MAX / kHourNs;
      bool use_hours = end_hour - first_hour >= 1;
      auto in_hours = [&](int64_t time) {
        if (!use_hours) return false;
        int64_t h = FloorDiv(time, kHourNs);
        return h >= first_hour && h < end_hour;
      };
      if (use_hours) {
        SH_RETURN_IF_ERROR(ReadHours(s, t, &hours));
        for (const auto& [h, samples] : hours) {
          if (h >= first_hour && h < end_hour) sums.Add(samples);
        }
      }
      size_t chunks = (t.times.size() + t.chunk_profiles - 1) / t.chunk_profiles;
      for (uint32_t c = 0; c < chunks; ++c) {
        size_t begin = c * t.chunk_profiles;
        size_t end = std::min(t.times.size(), begin + t.chunk_profiles);
        bool needed = false;
        for (size_t k = begin; k < end && !needed; ++k) {
          needed = sel.range.Contains(t.times[k]) && !in_hours(t.times[k]);
        }
        if (!needed) continue;
        SH_RETURN_IF_ERROR(ReadChunk(s, t, c, &chunk));
        for (size_t k = begin; k < end; ++k) {
          if (sel.range.Contains(t.times[k]) && !in_hours(t.times[k])) sums.Add(chunk[k - begin]);
        }
      }
    }
    sums.SendTo(symbols, sink);
  }
  return OkStatus();
}

Status Block::Totals(const Selection& sel, const TotalsRequest& req, TotalsResult* out) const {
  for (uint32_t s : Select(sel)) {
    SH_ASSIGN_OR_RETURN(auto t, Table(s));
    std::string group = req.GroupOf(series_[s].labels);
    for (size_t i = 0; i < t->times.size(); ++i) {
      if (sel.range.Contains(t->times[i])) out->Add(group, t->times[i], t->totals[i]);
    }
  }
  return OkStatus();
}

Status Block::LabelNames(const Selection& sel, std::set<std::string>* out) const {
  for (uint32_t s : Select(sel)) {
    for (const auto& lp : series_[s].labels.pairs()) out->insert(lp.name);
  }
  return OkStatus();
}

Status Block::LabelValues(const Selection& sel, const std::string& name,
                          std::set<std::string>* out) const {
  for (uint32_t s : Select(sel)) {
    if (series_[s].labels.Has(name)) out->insert(std::string(series_[s].labels.Get(name)));
  }
  return OkStatus();
}

Status Block::IterateProfiles(const Selection& sel, const RawProfileVisitor& visit) const {
  std::vector<std::vector<NodeValue>> chunk;
  for (uint32_t s : Select(sel)) {
    SH_ASSIGN_OR_RETURN(auto t, Table(s));
    size_t chunks = (t->times.size() + t->chunk_profiles - 1) / t->chunk_profiles;
    for (uint32_t c = 0; c < chunks; ++c) {
      size_t begin = c * t->chunk_profiles;
      size_t end = std::min(t->times.size(), begin + t->chunk_profiles);
      bool needed = false;
      for (size_t k = begin; k < end && !needed; ++k) needed = sel.range.Contains(t->times[k]);
      if (!needed) continue;
      SH_RETURN_IF_ERROR(ReadChunk(s, *t, c, &chunk));
      for (size_t k = begin; k < end; ++k) {
        if (!sel.range.Contains(t->times[k])) continue;
        RawProfile raw{&series_[s].labels, t->times[k], t->durations[k],
                       &symbols_[series_[s].partition], chunk[k - begin]};
        SH_RETURN_IF_ERROR(visit(raw));
      }
    }
  }
  return OkStatus();
}

StatusOr<std::vector<BlockProfile>> Block::ReadSeries(uint32_t s) const {
  std::vector<std::vector<NodeValue>> chunk;
  SH_ASSIGN_OR_RETURN(auto t, Table(s));
  std::vector<BlockProfile> profiles;
  profiles.reserve(t->times.size());
  size_t chunks = (t->times.size() + t->chunk_profiles - 1) / t->chunk_profiles;
  for (uint32_t c = 0; c < chunks; ++c) {
    SH_RETURN_IF_ERROR(ReadChunk(s, *t, c, &chunk));
    size_t begin = c * t->chunk_profiles;
    for (size_t k = 0; k < chunk.size(); ++k) {
      profiles.push_back({t->times[begin + k], t->durations[begin + k], std::move(chunk[k])});
    }
  }
  return profiles;
}

StatusOr<std::vector<uint32_t>> Block::SeriesNodes(uint32_t s) const {
  SH_ASSIGN_OR_RETURN(auto t, Table(s));
  return t->dictionary;
}

Status Block::VisitSeries(const SeriesVisitor& visit) const {
  for (uint32_t s = 0; s < series_.size(); ++s) {
    SH_ASSIGN_OR_RETURN(std::vector<BlockProfile> profiles, ReadSeries(s));
    SH_RETURN_IF_ERROR(visit(series_[s].labels, series_[s].partition, std::move(profiles)));
  }
  return OkStatus();
}

Status Block::Verify() const {
  std::vector<std::vector<NodeValue>> chunk;
  std::vector<std::pair<int64_t, std::vector<NodeValue>>> hours;
  for (uint32_t s = 0; s < series_.size(); ++s) {
    SH_ASSIGN_OR_RETURN(auto t, Table(s));
    size_t chunks = (t->times.size() + t->chunk_profiles - 1) / t->chunk_profiles;
    for (uint32_t c = 0; c < chunks; ++c) SH_RETURN_IF_ERROR(ReadChunk(s, *t, c, &chunk));
    SH_RETURN_IF_ERROR(ReadHours(s, *t, &hours));
  }
  return OkStatus();
}

}  // namespace stackhouse::tsdb
