#include "tsdb/head.h"

#include <algorithm>
#include <deque>

#include "base/memory.h"
#include "base/strings.h"
#include "base/varint.h"
#include "tsdb/postings.h"
#include "tsdb/sample_codec.h"

namespace stackhouse::tsdb {

// A radix sort, least significant byte first, skipping the bytes every node
// shares: for a profile's few hundred samples several times faster than a
// comparison sort, whose branches on random node ids mispredict half the
// time. Short arrays get a comparison sort.
void SortByNode(std::vector<NodeValue>* v) {
  const size_t n = v->size();
  if (n < 64) {
    std::sort(v->begin(), v->end(),
              [](const NodeValue& a, const NodeValue& b) { return a.node < b.node; });
    return;
  }
  uint32_t counts[4][256] = {};
  for (const NodeValue& nv : *v) {
    ++counts[0][nv.node & 0xff];
    ++counts[1][(nv.node >> 8) & 0xff];
    ++counts[2][(nv.node >> 16) & 0xff];
    ++counts[3][nv.node >> 24];
  }
  thread_local std::vector<NodeValue> scratch;
  scratch.resize(n);
  NodeValue* src = v->data();
  NodeValue* dst = scratch.data();
  for (int d = 0; d < 4; ++d) {
    const int shift = 8 * d;
    if (counts[d][(src[0].node >> shift) & 0xff] == n) continue;  // one value of this byte
    uint32_t next[256];
    uint32_t sum = 0;
    for (int b = 0; b < 256; ++b) {
      next[b] = sum;
      sum += counts[d][b];
    }
    for (size_t i = 0; i < n; ++i) dst[next[(src[i].node >> shift) & 0xff]++] = src[i];
    std::swap(src, dst);
  }
  if (src != v->data()) std::copy(src, src + n, v->data());
  if (scratch.capacity() > (size_t{1} << 20)) std::vector<NodeValue>().swap(scratch);
}

void SortAndMerge(std::vector<NodeValue>* v) {
  // Many values over few nodes (an hour of a series' profiles, as blocks
  // are written): summed into an array indexed by node and read back in
  // order, linear instead of a sort.
  if (v->size() >= 256) {
    uint32_t max_node = 0;
    for (const NodeValue& nv : *v) max_node = std::max(max_node, nv.node);
    if (max_node < 2 * v->size()) {
      NodeSums sums;
      sums.Reset(size_t{max_node} + 1);
      sums.Add(*v);
      sums.Values(v);
      return;
    }
  }
  SortByNode(v);
  size_t out = 0;
  for (size_t i = 0; i < v->size();) {
    NodeValue nv = (*v)[i++];
    while (i < v->size() && (*v)[i].node == nv.node) nv.value += (*v)[i++].value;
    if (nv.value != 0) (*v)[out++] = nv;
  }
  v->resize(out);
}

void NodeSums::Reset(size_t nodes) {
  // As long as the tree (millions of nodes for big profiles): huge pages.
  AssignHuge(&sums_, nodes, 0);
  touched_.clear();
}

void NodeSums::SendTo(const SymbolTable& symbols, StackSink* sink) {
  if (touched_.empty()) return;
  if (Dense()) {
    sink->AddDense(symbols, sums_);
    return;
  }
  Values(&values_);
  if (!values_.empty()) sink->Add(symbols, values_);
}

void NodeSums::Values(std::vector<NodeValue>* out) {
  out->clear();
  out->reserve(touched_.size());
  // When most nodes were touched, a scan of the sums is cheaper than
  // sorting the touched list.
  if (Dense()) {
    AppendNonZeroSums(sums_, out);
    return;
  }
  std::sort(touched_.begin(), touched_.end());
  touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
  for (uint32_t n : touched_) {
    if (sums_[n] != 0) out->push_back({n, sums_[n]});
  }
}

// --- structures ---------------------------------------------------------------------

namespace {

struct HeadProfile {
  int64_t time;
  int64_t duration;
  int64_t total;
  uint64_t offset;  // into Partition::data (SampleChunks::Append)
  uint32_t samples;
};

// The encoded samples of a partition's profiles, in chunks that never move.
// (One growing string would copy all of it at each doubling, under the
// partition's lock, and fault in the new copy's pages.) Chunks double from
// 4 KiB up to 1 MiB; a profile's bytes are never split.
class SampleChunks {
 public:
  // Appends one profile's bytes; returns their place for At().
  uint64_t Append(std::string_view bytes) {
    if (chunks_.empty() || chunks_.back().capacity() - chunks_.back().size() < bytes.size()) {
      size_t size = chunks_.empty() ? kFirst : std::min(chunks_.back().capacity() * 2, kMax);
      chunks_.emplace_back().reserve(std::max(size, bytes.size()));
    }
    std::string& c = chunks_.back();
    const uint64_t at = (uint64_t{chunks_.size() - 1} << 32) | c.size();
    c.append(bytes);
    return at;
  }
  // The bytes from `at` to the end of its chunk.
  std::string_view At(uint64_t at) const {
    return std::string_view(chunks_[at >> 32]).substr(at & 0xffffffffu);
  }

 private:
  static constexpr size_t kFirst = size_t{4} << 10;
  static constexpr size_t kMax = size_t{1} << 20;
  std::vector<std::string> chunks_;
};

struct Slot {
  uint32_t series = 0;  // tenant series id
  int64_t min_time = INT64_MAX;
  int64_t max_time = INT64_MIN;
  std::vector<HeadProfile> profiles;
};

struct SeriesMeta {
  profile::LabelSet labels;
  uint32_t partition;
  uint32_t slot;
};

}  // namespace

struct Head::Partition {
  mutable std::shared_mutex mu;
  std::string service;
  // Shared so that the next head can copy it after this one is gone.
  std::shared_ptr<SymbolTable> symbols = std::make_shared<SymbolTable>();
  // The previous head's table, copied by the first append (CarrySymbolsFrom),
  // and how many generations the table spans.
  std::shared_ptr<const SymbolTable> carried;
  int generations = 1;
  std::vector<Slot> slots;
  SampleChunks data;  // encoded samples of every profile
};

struct Head::TenantHead {
  mutable std::shared_mutex mu;
  // A deque: entries never move, so readers keep pointers after unlocking.
  std::deque<SeriesMeta> series;
  std::unordered_map<uint64_t, std::vector<uint32_t>> by_hash;
  PostingsIndex postings;
  std::vector<std::unique_ptr<Partition>> partitions;
  std::unordered_map<std::string, uint32_t> partition_by_service;
  // Tables of the previous head that partitions not created yet continue.
  struct Carried {
    std::shared_ptr<const SymbolTable> table;
    int generations = 0;
  };
  std::unordered_map<std::string, Carried> carried;

  // Returns the series id, or kNotFound.
  uint32_t Find(const profile::LabelSet& labels, uint64_t hash) const {
    auto it = by_hash.find(hash);
    if (it == by_hash.end()) return kNotFound;
    for (uint32_t id : it->second) {
      if (series[id].labels == labels) return id;
    }
    return kNotFound;
  }
  static constexpr uint32_t kNotFound = UINT32_MAX;
};

Head::Head(uint64_t generation, HeadLimits limits)
    : generation_(generation), limits_(limits), source_(nullptr) {
  source_ = std::make_unique<Source>(this);
}

Head::~Head() = default;

size_t Head::num_series() const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const auto& [name, t] : tenants_) {
    std::shared_lock tl(t->mu);
    n += t->series.size();
  }
  return n;
}

Head::TenantHead* Head::GetOrCreateTenant(const std::string& tenant) {
  {
    std::shared_lock lock(mu_);
    auto it = tenants_.find(tenant);
    if (it != tenants_.end()) return it->second.get();
  }
  std::unique_lock lock(mu_);
  auto& t = tenants_[tenant];
  if (!t) t = std::make_unique<TenantHead>();
  return t.get();
}

const Head::TenantHead* Head::FindTenant(const std::string& tenant) const {
  std::shared_lock lock(mu_);
  auto it = tenants_.find(tenant);
  return it == tenants_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Head::Tenants() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, t] : tenants_) {
    std::shared_lock tl(t->mu);
    // (A tenant can be here only for the tables it carries.)
    if (!t->series.empty()) out.push_back(name);
  }
  return out;
}

void Head::CarrySymbolsFrom(const Head& previous, const CarryLimits& limits) {
  std::shared_lock prev_lock(previous.mu_);
  for (const auto& [name, pt] : previous.tenants_) {
    std::unordered_map<std::string, TenantHead::Carried> carried;
    {
      std::shared_lock ptl(pt->mu);
      for (const auto& part : pt->partitions) {
        // (Every partition has had its first append: it is created by one.)
        std::shared_lock pl(part->mu);
        if (part->generations < limits.max_generations &&
            part->symbols->MemoryBytes() <= limits.max_bytes) {
          carried[part->service] = {part->symbols, part->generations};
        }
      }
    }
    if (carried.empty()) continue;
    TenantHead* t = GetOrCreateTenant(name);
    std::unique_lock tl(t->mu);
    t->carried = std::move(carried);
  }
}

void Head::NoteTime(int64_t t) {
  int64_t cur = min_time_.load(std::memory_order_relaxed);
  while (t < cur && !min_time_.compare_exchange_weak(cur, t)) {
  }
  cur = max_time_.load(std::memory_order_relaxed);
  while (t > cur && !max_time_.compare_exchange_weak(cur, t)) {
  }
}

namespace {

// Finds or creates the series and its partition slot. Returns
// (series id, partition, slot) or an error if the tenant is at its limit.
struct SeriesRef {
  uint32_t series, partition, slot;
};

}  // namespace

// The partition of a service; the tenant's lock must be held exclusively.
static uint32_t PartitionLocked(Head::TenantHead* t, const std::string& service) {
  auto pit = t->partition_by_service.find(service);
  if (pit != t->partition_by_service.end()) return pit->second;
  uint32_t part = static_cast<uint32_t>(t->partitions.size());
  t->partitions.push_back(std::make_unique<Head::Partition>());
  Head::Partition* p = t->partitions.back().get();
  p->service = service;
  auto cit = t->carried.find(service);
  if (cit != t->carried.end()) {
    p->carried = std::move(cit->second.table);
    p->generations = cit->second.generations + 1;
    t->carried.erase(cit);
  }
  t->partition_by_service.emplace(service, part);
  return part;
}

// Resolves the series of a request under the tenant lock.
static StatusOr<std::vector<SeriesRef>> ResolveSeries(Head::TenantHead* t,
                                                      const std::string& service,
                                                      const std::vector<profile::LabelSet>& labels,
                                                      size_t max_series,
                                                      size_t* bytes_added) {
  std::vector<uint64_t> hashes;
  for (const auto& l : labels) hashes.push_back(l.Hash());
  std::vector<SeriesRef> refs(labels.size());
  {
    std::shared_lock lock(t->mu);
    bool all = t->partition_by_service.count(service) > 0;
    for (size_t i = 0; i < labels.size(); ++i) {
      uint32_t id = t->Find(labels[i], hashes[i]);
      if (id == Head::TenantHead::kNotFound) {
        all = false;
        break;
      }
      refs[i] = {id, t->series[id].partition, t->series[id].slot};
    }
    if (all) return refs;
  }
  std::unique_lock lock(t->mu);
  size_t missing = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (t->Find(labels[i], hashes[i]) == Head::TenantHead::kNotFound) ++missing;
  }
  if (t->series.size() + missing > max_series) {
    return ResourceExhaustedError(StrCat("series limit reached: the tenant has ", t->series.size(),
                                         " series of at most ", max_series));
  }
  uint32_t part = PartitionLocked(t, service);
  Head::Partition* p = t->partitions[part].get();
  for (size_t i = 0; i < labels.size(); ++i) {
    uint32_t id = t->Find(labels[i], hashes[i]);
    if (id == Head::TenantHead::kNotFound) {
      id = static_cast<uint32_t>(t->series.size());
      uint32_t slot;
      {
        std::unique_lock pl(p->mu);
        slot = static_cast<uint32_t>(p->slots.size());
        p->slots.emplace_back().series = id;
      }
      t->series.push_back({labels[i], part, slot});
      t->by_hash[hashes[i]].push_back(id);
      t->postings.Add(labels[i], id);
      *bytes_added += 256 + labels[i].ToString().size() * 2;
    }
    refs[i] = {id, t->series[id].partition, t->series[id].slot};
  }
  return refs;
}

StatusOr<uint64_t> Head::Append(const AppendRequest& req,
                                const std::function<uint64_t(std::string_view)>& wal) {
  const profile::Profile& p = *req.profile;
  TenantHead* t = GetOrCreateTenant(req.tenant);
  std::vector<profile::LabelSet> labels;
  for (const auto& s : req.series) labels.push_back(s.labels);
  size_t bytes_added = 0;
  SH_ASSIGN_OR_RETURN(std::vector<SeriesRef> refs,
                      ResolveSeries(t, req.service, labels, limits_.max_series_per_tenant,
                                    &bytes_added));
  Partition* part;
  {
    std::shared_lock lock(t->mu);
    part = t->partitions[t->partition_by_service.at(req.service)].get();
  }

  std::unique_lock lock(part->mu);
  // The record adds what the table gained since the last one. For the
  // partition's first append, that is from an empty table: with a carried
  // table, the whole of it.
  const SymbolTable::Sizes before = part->symbols->sizes();
  if (part->carried) {
    // The table continues the previous head's. Copying it is far cheaper
    // than interning every symbol anew.
    *part->symbols = *part->carried;
    part->carried.reset();
    bytes_added += part->symbols->MemoryBytes();
  }
  SymbolTable& symbols = *part->symbols;
  size_t symbol_bytes_before = symbols.MemoryBytes();
  ProfileInterner interner(&symbols, p);
  interner.PrepareStacks();
  std::vector<uint32_t> nodes(p.samples.size(), UINT32_MAX);
  std::vector<std::vector<NodeValue>> per_series(req.series.size());
  for (size_t k = 0; k < req.series.size(); ++k) {
    const AppendRequest::Series& s = req.series[k];
    for (size_t i = 0; i < p.samples.size(); ++i) {
      uint32_t group = req.sample_groups.empty() ? 0 : req.sample_groups[i];
      if (group != s.group) continue;
      int64_t v = p.sample_values(i)[s.type_index];
      if (v == 0) continue;
      if (nodes[i] == UINT32_MAX) nodes[i] = interner.Stack(i);
      per_series[k].push_back({nodes[i], v});
    }
    SortAndMerge(&per_series[k]);
  }

  std::string record;
  record.push_back(2);
  PutString(&record, req.tenant);
  PutString(&record, req.service);
  symbols.EncodeDelta(before, &record);
  PutUvarint(&record, req.series.size());
  for (size_t k = 0; k < req.series.size(); ++k) {
    const auto& pairs = req.series[k].labels.pairs();
    PutUvarint(&record, pairs.size());
    for (const auto& lp : pairs) {
      PutString(&record, lp.name);
      PutString(&record, lp.value);
    }
    PutSvarint(&record, req.time_nanos);
    PutSvarint(&record, req.duration_nanos);
    PutUvarint(&record, per_series[k].size());
    size_t start = record.size();
    EncodeSamples(per_series[k], 1, &record);
    // The head keeps the same encoding.
    int64_t total = 0;
    for (const NodeValue& nv : per_series[k]) total += nv.value;
    HeadProfile hp{req.time_nanos, req.duration_nanos, total,
                   part->data.Append(std::string_view(record).substr(start)),
                   static_cast<uint32_t>(per_series[k].size())};
    Slot& slot = part->slots[refs[k].slot];
    slot.profiles.push_back(hp);
    slot.min_time = std::min(slot.min_time, req.time_nanos);
    slot.max_time = std::max(slot.max_time, req.time_nanos);
    bytes_added += sizeof(HeadProfile) + (record.size() - start);
  }
  uint64_t seq = wal(record);
  bytes_added += symbols.MemoryBytes() - symbol_bytes_before;
  lock.unlock();

  NoteTime(req.time_nanos);
  profiles_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(bytes_added, std::memory_order_relaxed);
  return seq;
}

Status Head::Replay(std::string_view record) {
  protowire::Reader r(record);
  VarintReader in(&r);
  std::string tenant(in.String());
  std::string service(in.String());
  if (in.failed()) return DataLossError("WAL append record: bad header");
  TenantHead* t = GetOrCreateTenant(tenant);
  Partition* part;
  {
    std::unique_lock lock(t->mu);
    part = t->partitions[PartitionLocked(t, service)].get();
  }
  {
    std::unique_lock lock(part->mu);
    SH_RETURN_IF_ERROR(part->symbols->DecodeDelta(&r).WithPrefix(
        StrCat("WAL append record for ", tenant, "/", service)));
  }
  uint64_t nseries = in.Count(4);
  struct Entry {
    profile::LabelSet labels;
    int64_t time, duration;
    std::vector<NodeValue> samples;
  };
  std::vector<Entry> entries;
  std::vector<profile::LabelSet> labels;
  uint32_t max_node;
  {
    std::shared_lock lock(part->mu);
    max_node = static_cast<uint32_t>(part->symbols->num_nodes());
  }
  for (uint64_t k = 0; k < nseries && !in.failed(); ++k) {
    std::vector<profile::LabelPair> pairs;
    uint64_t nl = in.Count(2);
    for (uint64_t i = 0; i < nl && !in.failed(); ++i) {
      std::string name(in.String());
      std::string value(in.String());
      pairs.push_back({std::move(name), std::move(value)});
    }
    auto ls = profile::LabelSet::FromPairs(std::move(pairs));
    if (!ls.ok()) return DataLossError("WAL append record: bad labels: " + ls.status().message());
    // A series lives in its service's partition: the record's labels name
    // the record's service (as every append writes them).
    if (ls->Get("service_name") != service) {
      return DataLossError(StrCat("WAL append record for ", tenant, "/", service,
                                  ": a series of service ", Quote(ls->Get("service_name"))));
    }
    Entry e;
    e.labels = *ls;
    e.time = in.Svarint();
    e.duration = in.Svarint();
    uint64_t n = in.Uvarint();
    if (in.failed() || !DecodeSamples(&in, n, 1, max_node, &e.samples)) {
      return DataLossError("WAL append record: bad samples");
    }
    labels.push_back(e.labels);
    entries.push_back(std::move(e));
  }
  if (in.failed() || !in.done()) return DataLossError("WAL append record: malformed");
  size_t bytes_added = 0;
  SH_ASSIGN_OR_RETURN(std::vector<SeriesRef> refs,
                      ResolveSeries(t, service, labels, SIZE_MAX, &bytes_added));
  std::string encoded;
  std::unique_lock lock(part->mu);
  for (size_t k = 0; k < entries.size(); ++k) {
    const Entry& e = entries[k];
    int64_t total = 0;
    for (const NodeValue& nv : e.samples) total += nv.value;
    encoded.clear();
    EncodeSamples(e.samples, 1, &encoded);
    HeadProfile hp{e.time, e.duration, total, part->data.Append(encoded),
                   static_cast<uint32_t>(e.samples.size())};
    Slot& slot = part->slots[refs[k].slot];
    slot.profiles.push_back(hp);
    slot.min_time = std::min(slot.min_time, e.time);
    slot.max_time = std::max(slot.max_time, e.time);
    NoteTime(e.time);
    bytes_added += sizeof(HeadProfile) + e.samples.size() * 4;
  }
  lock.unlock();
  profiles_.fetch_add(entries.empty() ? 0 : 1, std::memory_order_relaxed);
  bytes_.fetch_add(bytes_added + record.size(), std::memory_order_relaxed);
  return OkStatus();
}

// --- reading ---------------------------------------------------------------------------

namespace {

// Decodes one head profile's samples.
void DecodeHeadProfile(const SampleChunks& data, const HeadProfile& hp,
                       std::vector<NodeValue>* out) {
  out->clear();
  protowire::Reader r(data.At(hp.offset));
  VarintReader in(&r);
  DecodeSamples(&in, hp.samples, 1, UINT32_MAX, out);
}

}  // namespace

class Head::Source : public ProfileSource {
 public:
  explicit Source(const Head* head) : head_(head) {}

  int64_t min_time() const override { return head_->min_time(); }
  int64_t max_time() const override { return head_->max_time(); }

  // Calls fn(partition, series) once per partition with selected series
  // that have data in range, holding the partition's lock (shared).
  using PartitionFn = std::function<Status(const Partition&, std::span<const SeriesMeta* const>)>;
  Status ForEachSelected(const Selection& sel, const PartitionFn& fn) const {
    const TenantHead* t = head_->FindTenant(sel.tenant);
    if (t == nullptr) return OkStatus();
    std::vector<std::vector<const SeriesMeta*>> by_partition;
    std::vector<const Partition*> partitions;
    {
      std::shared_lock lock(t->mu);
      for (const auto& p : t->partitions) partitions.push_back(p.get());
      by_partition.resize(partitions.size());
      for (uint32_t id : t->postings.Select(sel.matchers, t->series.size())) {
        const SeriesMeta& m = t->series[id];
        if (MatchesAll(sel.matchers, m.labels)) by_partition[m.partition].push_back(&m);
      }
    }
    std::vector<const SeriesMeta*> in_range;
    for (size_t pi = 0; pi < partitions.size(); ++pi) {
      if (by_partition[pi].empty()) continue;
      const Partition& part = *partitions[pi];
      std::shared_lock lock(part.mu);
      in_range.clear();
      for (const SeriesMeta* m : by_partition[pi]) {
        const Slot& slot = part.slots[m->slot];
        if (!slot.profiles.empty() && sel.range.Overlaps(slot.min_time, slot.max_time)) {
          in_range.push_back(m);
        }
      }
      if (!in_range.empty()) SH_RETURN_IF_ERROR(fn(part, in_range));
    }
    return OkStatus();
  }

  Status SelectSeries(const Selection& sel, std::vector<profile::LabelSet>* out) const override {
    return ForEachSelected(sel, [&](const Partition&, std::span<const SeriesMeta* const> series) {
      for (const SeriesMeta* m : series) out->push_back(m->labels);
      return OkStatus();
    });
  }

  Status MergeStacks(const Selection& sel, StackSink* sink) const override {
    NodeSums sums;
    std::vector<NodeValue> samples;
    return ForEachSelected(sel, [&](const Partition& part,
                                    std::span<const SeriesMeta* const> series) {
      sums.Reset(part.symbols->num_nodes());
      for (const SeriesMeta* m : series) {
        for (const HeadProfile& hp : part.slots[m->slot].profiles) {
          if (!sel.range.Contains(hp.time)) continue;
          DecodeHeadProfile(part.data, hp, &samples);
          sums.Add(samples);
        }
      }
      sums.SendTo(*part.symbols, sink);
      return OkStatus();
    });
  }

  Status Totals(const Selection& sel, const TotalsRequest& req, TotalsResult* out) const override {
    return ForEachSelected(sel, [&](const Partition& part,
                                    std::span<const SeriesMeta* const> series) {
      for (const SeriesMeta* m : series) {
        std::string group = req.GroupOf(m->labels);
        for (const HeadProfile& hp : part.slots[m->slot].profiles) {
          if (sel.range.Contains(hp.time)) out->Add(group, hp.time, hp.total);
        }
      }
      return OkStatus();
    });
  }

  Status LabelNames(const Selection& sel, std::set<std::string>* out) const override {
    return ForEachSelected(sel, [&](const Partition&, std::span<const SeriesMeta* const> series) {
      for (const SeriesMeta* m : series) {
        for (const auto& lp : m->labels.pairs()) out->insert(lp.name);
      }
      return OkStatus();
    });
  }

  Status LabelValues(const Selection& sel, const std::string& name,
                     std::set<std::string>* out) const override {
    return ForEachSelected(sel, [&](const Partition&, std::span<const SeriesMeta* const> series) {
      for (const SeriesMeta* m : series) {
        if (m->labels.Has(name)) out->insert(std::string(m->labels.Get(name)));
      }
      return OkStatus();
    });
  }

  Status IterateProfiles(const Selection& sel, const RawProfileVisitor& visit) const override {
    std::vector<NodeValue> samples;
    std::vector<const HeadProfile*> order;
    return ForEachSelected(sel, [&](const Partition& part,
                                    std::span<const SeriesMeta* const> series) {
      for (const SeriesMeta* m : series) {
        order.clear();
        for (const HeadProfile& hp : part.slots[m->slot].profiles) {
          if (sel.range.Contains(hp.time)) order.push_back(&hp);
        }
        std::stable_sort(order.begin(), order.end(), [](const HeadProfile* a, const HeadProfile* b) {
          return a->time < b->time;
        });
        for (const HeadProfile* hp : order) {
          DecodeHeadProfile(part.data, *hp, &samples);
          RawProfile raw{&m->labels, hp->time, hp->duration, part.symbols.get(), samples};
          SH_RETURN_IF_ERROR(visit(raw));
        }
      }
      return OkStatus();
    });
  }

 private:
  const Head* head_;
};

const ProfileSource& Head::source() const { return *source_; }

void Head::VisitTenant(const std::string& tenant, const PartitionVisitor& partitions,
                       const SeriesVisitor& series) const {
  const TenantHead* t = FindTenant(tenant);
  if (t == nullptr) return;
  std::shared_lock lock(t->mu);
  for (uint32_t pi = 0; pi < t->partitions.size(); ++pi) {
    const Partition& part = *t->partitions[pi];
    std::shared_lock pl(part.mu);
    partitions(pi, part.service, *part.symbols);
  }
  std::vector<std::vector<NodeValue>> decoded;
  std::vector<SeriesProfile> profiles;
  std::vector<const SeriesMeta*> order;
  for (const SeriesMeta& m : t->series) order.push_back(&m);
  std::sort(order.begin(), order.end(),
            [](const SeriesMeta* a, const SeriesMeta* b) { return a->labels < b->labels; });
  for (const SeriesMeta* mp : order) {
    const SeriesMeta& m = *mp;
    const Partition& part = *t->partitions[m.partition];
    std::shared_lock pl(part.mu);
    const Slot& slot = part.slots[m.slot];
    decoded.assign(slot.profiles.size(), {});
    profiles.clear();
    for (size_t i = 0; i < slot.profiles.size(); ++i) {
      DecodeHeadProfile(part.data, slot.profiles[i], &decoded[i]);
      profiles.push_back({slot.profiles[i].time, slot.profiles[i].duration, decoded[i]});
    }
    series(m.labels, m.partition, profiles);
  }
}

}  // namespace stackhouse::tsdb
