#include <algorithm>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "base/varint.h"
#include "tsdb/block.h"
#include "tsdb/sample_codec.h"

namespace stackhouse::tsdb {

// --- meta -----------------------------------------------------------------------

std::string BlockMeta::ToJson() const {
  nlohmann::ordered_json j;
  j["version"] = version;
  j["id"] = id;
  j["tenant"] = tenant;
  j["min_time_ns"] = min_time;
  j["max_time_ns"] = max_time;
  j["level"] = level;
  j["source_generation"] = source_generation;
  j["sources"] = sources;
  j["stats"] = {{"series", stats.series},         {"profiles", stats.profiles},
                {"samples", stats.samples},       {"partitions", stats.partitions},
                {"bytes", stats.bytes}};
  return j.dump(2) + "\n";
}

StatusOr<BlockMeta> BlockMeta::FromJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return DataLossError("meta.json: not a JSON object");
  BlockMeta m;
  try {
    m.version = j.at("version").get<int>();
    if (m.version != 1) return DataLossError(StrCat("meta.json: unsupported version ", m.version));
    m.id = j.at("id").get<std::string>();
    m.tenant = j.at("tenant").get<std::string>();
    m.min_time = j.at("min_time_ns").get<int64_t>();
    m.max_time = j.at("max_time_ns").get<int64_t>();
    m.level = j.at("level").get<int>();
    m.source_generation = j.value("source_generation", uint64_t{0});
    m.sources = j.value("sources", std::vector<std::string>{});
    const auto& s = j.at("stats");
    m.stats.series = s.at("series").get<uint64_t>();
    m.stats.profiles = s.at("profiles").get<uint64_t>();
    m.stats.samples = s.at("samples").get<uint64_t>();
    m.stats.partitions = s.at("partitions").get<uint64_t>();
    m.stats.bytes = s.value("bytes", uint64_t{0});
  } catch (const std::exception& e) {
    return DataLossError(StrCat("meta.json: ", e.what()));
  }
  return m;
}

std::string NewBlockId(int64_t min_time) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx-%08x", static_cast<unsigned long long>(min_time),
                static_cast<unsigned>(rng() & 0xffffffffu));
  return buf;
}

// --- writer ---------------------------------------------------------------------

BlockWriter::BlockWriter(Env* env, std::string dir, std::string tenant, BlockWriterOptions options)
    : env_(env), dir_(std::move(dir)), tenant_(std::move(tenant)), options_(options) {}

BlockWriter::~BlockWriter() = default;

Status BlockWriter::Begin() {
  if (env_->FileExists(dir_)) return AlreadyExistsError(StrCat(dir_, ": block already exists"));
  SH_RETURN_IF_ERROR(env_->CreateDirs(dir_));
  SH_ASSIGN_OR_RETURN(auto sym, env_->NewWritableFile(dir_ + "/symbols.bin"));
  SH_ASSIGN_OR_RETURN(auto smp, env_->NewWritableFile(dir_ + "/samples.bin"));
  symbols_ = std::make_unique<SectionWriter>(std::move(sym), kSymbolsMagic, options_.zstd_level);
  samples_ = std::make_unique<SectionWriter>(std::move(smp), kSamplesMagic, options_.zstd_level);
  return OkStatus();
}

uint32_t BlockWriter::DeclarePartition(const std::string& service) {
  partitions_.push_back(service);
  partition_written_.push_back(false);
  block_node_ids_.emplace_back();
  if (options_.keep_tables) tables_.emplace_back();
  return static_cast<uint32_t>(partitions_.size() - 1);
}

Status BlockWriter::WritePartitionSymbols(uint32_t p, const SymbolTable& symbols) {
  if (p >= partitions_.size() || partition_written_[p]) {
    return InvalidArgumentError(StrCat("partition ", p, " is undeclared or written twice"));
  }
  std::string s[5];
  SymbolTable::NodeOrder order = symbols.BreadthFirstOrder();
  symbols.EncodeSections(&s[0], &s[1], &s[2], &s[3], &s[4], &order);
  if (options_.keep_tables) tables_[p] = symbols.Renumbered(order);
  block_node_ids_[p] = std::move(order.ids);
  for (uint32_t k = 0; k < 5; ++k) SH_RETURN_IF_ERROR(symbols_->Add(p * 8 + k + 1, s[k]));
  partition_written_[p] = true;
  return OkStatus();
}

StatusOr<uint32_t> BlockWriter::AddPartition(const std::string& service,
                                             const SymbolTable& symbols) {
  uint32_t p = DeclarePartition(service);
  SH_RETURN_IF_ERROR(WritePartitionSymbols(p, symbols));
  return p;
}

namespace {

int64_t Gcd(int64_t a, int64_t b) {
  a = a < 0 ? -a : a;
  b = b < 0 ? -b : b;
  while (b != 0) {
    int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

Status BlockWriter::AddSeries(const profile::LabelSet& labels, uint32_t partition,
                              std::vector<BlockProfile> profiles) {
  if (partition >= partitions_.size()) return InvalidArgumentError("unknown partition");
  if (!partition_written_[partition]) {
    return InvalidArgumentError(StrCat("partition ", partition, ": series before its symbols"));
  }
  const std::vector<uint32_t>& block_ids = block_node_ids_[partition];
  if (!series_.empty() && !(series_.back().labels < labels)) {
    return InvalidArgumentError("series must be added in increasing label order");
  }
  std::stable_sort(profiles.begin(), profiles.end(),
                   [](const BlockProfile& a, const BlockProfile& b) { return a.time < b.time; });
  const uint32_t s = static_cast<uint32_t>(series_.size());
  if (s >= (UINT32_MAX / 64)) return ResourceExhaustedError("too many series in one block");
  const size_t n = profiles.size();
  int64_t scale = 0;
  uint64_t nsamples = 0;
  for (const BlockProfile& p : profiles) {
    for (const NodeValue& nv : p.samples) scale = Gcd(scale, nv.value);
    nsamples += p.samples.size();
  }
  if (scale == 0) scale = 1;
  size_t chunk_profiles = std::max<size_t>(360, (n + 60) / 61);

  // The series' stack dictionary: nodes ranked by use, most used first.
  // Uses are counted, and keys then looked up, in an array indexed by node
  // (reset to 0 on the way out): far cheaper than hashing every sample.
  if (node_scratch_.size() < block_ids.size()) node_scratch_.resize(block_ids.size(), 0);
  uint64_t* const scratch = node_scratch_.data();
  std::vector<uint32_t> used;
  struct Reset {
    uint64_t* scratch;
    const std::vector<uint32_t>& used;
    ~Reset() {
      for (uint32_t node : used) scratch[node] = 0;
    }
  } reset{scratch, used};
  for (const BlockProfile& p : profiles) {
    for (const NodeValue& nv : p.samples) {
      if (nv.node >= block_ids.size()) {
        return InvalidArgumentError(
            StrCat("node ", nv.node, " is not in partition ", partition, "'s table"));
      }
      if (scratch[nv.node]++ == 0) used.push_back(nv.node);
    }
  }
  {
    std::vector<std::pair<uint64_t, uint32_t>> ranked;
    ranked.reserve(used.size());
    for (uint32_t node : used) ranked.push_back({scratch[node], node});
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::string dict;
    PutUvarint(&dict, ranked.size());
    for (uint32_t k = 0; k < ranked.size(); ++k) {
      PutUvarint(&dict, block_ids[ranked[k].second]);
      scratch[ranked[k].second] = k;
    }
    SH_RETURN_IF_ERROR(samples_->Add(s * 64 + 62, dict));
  }
  // A profile's samples as (key, value), ascending by key.
  std::vector<NodeValue> keyed;
  auto to_keys = [&](std::span<const NodeValue> samples) {
    keyed.clear();
    for (const NodeValue& nv : samples) {
      keyed.push_back({static_cast<uint32_t>(scratch[nv.node]), nv.value});
    }
    SortByNode(&keyed);
  };

  // Section 0: the profiles table.
  std::string table;
  PutUvarint(&table, n);
  PutUvarint(&table, static_cast<uint64_t>(scale));
  PutUvarint(&table, chunk_profiles);
  int64_t prev = 0;
  for (const BlockProfile& p : profiles) {
    PutSvarint(&table, p.time - prev);
    prev = p.time;
  }
  for (const BlockProfile& p : profiles) PutSvarint(&table, p.duration);
  for (const BlockProfile& p : profiles) {
    int64_t total = 0;
    for (const NodeValue& nv : p.samples) total += nv.value;
    PutSvarint(&table, total);
  }
  for (const BlockProfile& p : profiles) PutUvarint(&table, p.samples.size());
  SH_RETURN_IF_ERROR(samples_->Add(s * 64, table));

  // Sections 1..61: chunks of profiles, key deltas then values.
  for (size_t c = 0; c * chunk_profiles < n; ++c) {
    std::string keys_part, values_part;
    size_t end = std::min(n, (c + 1) * chunk_profiles);
    for (size_t i = c * chunk_profiles; i < end; ++i) {
      to_keys(profiles[i].samples);
      uint32_t last = 0;
      for (const NodeValue& kv : keyed) {
        PutUvarint(&keys_part, kv.node - last);
        last = kv.node;
        PutSvarint(&values_part, kv.value / scale);
      }
    }
    SH_RETURN_IF_ERROR(
        samples_->Add(s * 64 + 1 + static_cast<uint32_t>(c), keys_part + values_part));
  }

  // Section 63: merged samples per aggregation bucket (an hour).
  std::string hours;
  std::vector<std::pair<int64_t, std::vector<NodeValue>>> buckets;
  for (const BlockProfile& p : profiles) {
    int64_t b = FloorDiv(p.time, kAggregateNs);
    if (buckets.empty() || buckets.back().first != b) buckets.push_back({b, {}});
    auto& v = buckets.back().second;
    v.insert(v.end(), p.samples.begin(), p.samples.end());
  }
  PutUvarint(&hours, buckets.size());
  int64_t prev_bucket = 0;
  for (auto& [b, v] : buckets) {
    SortAndMerge(&v);
    to_keys(v);
    PutSvarint(&hours, b - prev_bucket);
    prev_bucket = b;
    PutUvarint(&hours, keyed.size());
    EncodeSamples(keyed, scale, &hours);
  }
  SH_RETURN_IF_ERROR(samples_->Add(s * 64 + 63, hours));

  SeriesEntry e{labels, partition, n ? profiles.front().time : 0, n ? profiles.back().time : 0, n,
                nsamples};
  series_.push_back(std::move(e));
  return OkStatus();
}

Status BlockWriter::Finish(int level, uint64_t source_generation, std::vector<std::string> sources,
                           BlockMeta* meta) {
  for (size_t p = 0; p < partitions_.size(); ++p) {
    if (!partition_written_[p]) return InvalidArgumentError(StrCat("partition ", p, " has no symbols"));
  }
  SH_RETURN_IF_ERROR(symbols_->Finish());
  SH_RETURN_IF_ERROR(samples_->Finish());

  // index.bin: strings, partitions, series, postings.
  std::vector<std::string> strings;
  for (const SeriesEntry& e : series_) {
    for (const auto& lp : e.labels.pairs()) {
      strings.push_back(lp.name);
      strings.push_back(lp.value);
    }
  }
  std::sort(strings.begin(), strings.end());
  strings.erase(std::unique(strings.begin(), strings.end()), strings.end());
  auto sid = [&](const std::string& s) {
    return static_cast<uint64_t>(std::lower_bound(strings.begin(), strings.end(), s) -
                                 strings.begin());
  };
  std::string sec_strings, sec_partitions, sec_series, sec_postings;
  PutUvarint(&sec_strings, strings.size());
  for (const std::string& s : strings) PutString(&sec_strings, s);
  PutUvarint(&sec_partitions, partitions_.size());
  for (const std::string& p : partitions_) PutString(&sec_partitions, p);
  PutUvarint(&sec_series, series_.size());
  std::map<std::pair<uint64_t, uint64_t>, std::vector<uint32_t>> postings;
  BlockMeta m;
  m.min_time = INT64_MAX;
  m.max_time = INT64_MIN;
  for (uint32_t i = 0; i < series_.size(); ++i) {
    const SeriesEntry& e = series_[i];
    PutUvarint(&sec_series, e.labels.size());
    for (const auto& lp : e.labels.pairs()) {
      uint64_t n = sid(lp.name), v = sid(lp.value);
      PutUvarint(&sec_series, n);
      PutUvarint(&sec_series, v);
      postings[{n, v}].push_back(i);
    }
    PutUvarint(&sec_series, e.partition);
    PutSvarint(&sec_series, e.min_time);
    PutSvarint(&sec_series, e.max_time - e.min_time);
    PutUvarint(&sec_series, e.profiles);
    PutUvarint(&sec_series, e.samples);
    if (e.profiles > 0) {
      m.min_time = std::min(m.min_time, e.min_time);
      m.max_time = std::max(m.max_time, e.max_time);
    }
    m.stats.profiles += e.profiles;
    m.stats.samples += e.samples;
  }
  PutUvarint(&sec_postings, postings.size());
  for (const auto& [key, ids] : postings) {
    PutUvarint(&sec_postings, key.first);
    PutUvarint(&sec_postings, key.second);
    PutUvarint(&sec_postings, ids.size());
    uint32_t prev = 0;
    for (uint32_t id : ids) {
      PutUvarint(&sec_postings, id - prev);
      prev = id;
    }
  }
  SH_ASSIGN_OR_RETURN(auto idx_file, env_->NewWritableFile(dir_ + "/index.bin"));
  SectionWriter index(std::move(idx_file), kIndexMagic, options_.zstd_level);
  SH_RETURN_IF_ERROR(index.Add(1, sec_strings));
  SH_RETURN_IF_ERROR(index.Add(2, sec_partitions));
  SH_RETURN_IF_ERROR(index.Add(3, sec_series));
  SH_RETURN_IF_ERROR(index.Add(4, sec_postings));
  SH_RETURN_IF_ERROR(index.Finish());

  if (m.min_time > m.max_time) m.min_time = m.max_time = 0;
  m.id = dir_.substr(dir_.rfind('/') + 1);
  m.tenant = tenant_;
  m.level = level;
  m.source_generation = source_generation;
  m.sources = std::move(sources);
  m.stats.series = series_.size();
  m.stats.partitions = partitions_.size();
  m.stats.bytes = index.bytes() + symbols_->bytes() + samples_->bytes();
  SH_RETURN_IF_ERROR(env_->SyncDir(dir_));
  SH_RETURN_IF_ERROR(env_->WriteFileAtomic(dir_ + "/meta.json", m.ToJson()));
  if (meta != nullptr) *meta = m;
  return OkStatus();
}

}  // namespace stackhouse::tsdb
