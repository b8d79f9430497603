// Store: opening and recovery, appends, snapshots. Cutting, compaction and
// retention are in store_maintenance.cc.
#include "tsdb/store.h"
#include "tsdb/store_state.h"

#include <algorithm>
#include <map>
#include <set>

#include "base/strings.h"
#include "base/varint.h"
#include "profile/profile_type.h"

namespace stackhouse::tsdb {


// --- tenant directory names -------------------------------------------------------

std::string EscapeTenant(const std::string& tenant) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : tenant) {
    if (isalnum(c) || c == '_' || c == '-' || (c == '.' && !out.empty())) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out.empty() ? "%" : out;
}

std::string UnescapeTenant(const std::string& dir) {
  if (dir == "%") return "";
  std::string out;
  for (size_t i = 0; i < dir.size(); ++i) {
    if (dir[i] == '%' && i + 2 < dir.size()) {
      auto v = ParseUint64(dir.substr(i + 1, 2), 16);
      if (v) {
        out.push_back(static_cast<char>(*v));
        i += 2;
        continue;
      }
    }
    out.push_back(dir[i]);
  }
  return out;
}

// --- snapshots ---------------------------------------------------------------------

int64_t Snapshot::min_time() const {
  int64_t t = INT64_MAX;
  for (const ProfileSource* s : sources_) t = std::min(t, s->min_time());
  return t;
}

int64_t Snapshot::max_time() const {
  int64_t t = INT64_MIN;
  for (const ProfileSource* s : sources_) t = std::max(t, s->max_time());
  return t;
}

Status Snapshot::SelectSeries(const Selection& sel, std::vector<profile::LabelSet>* out) const {
  std::vector<profile::LabelSet> all;
  for (const ProfileSource* s : sources_) SH_RETURN_IF_ERROR(s->SelectSeries(sel, &all));
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  out->insert(out->end(), all.begin(), all.end());
  return OkStatus();
}

Status Snapshot::MergeStacks(const Selection& sel, StackSink* sink) const {
  for (const ProfileSource* s : sources_) {
    if (!sel.range.Overlaps(s->min_time(), s->max_time())) continue;
    SH_RETURN_IF_ERROR(s->MergeStacks(sel, sink));
  }
  return OkStatus();
}

Status Snapshot::Totals(const Selection& sel, const TotalsRequest& req, TotalsResult* out) const {
  for (const ProfileSource* s : sources_) {
    if (!sel.range.Overlaps(s->min_time(), s->max_time())) continue;
    SH_RETURN_IF_ERROR(s->Totals(sel, req, out));
  }
  return OkStatus();
}

Status Snapshot::LabelNames(const Selection& sel, std::set<std::string>* out) const {
  for (const ProfileSource* s : sources_) SH_RETURN_IF_ERROR(s->LabelNames(sel, out));
  return OkStatus();
}

Status Snapshot::LabelValues(const Selection& sel, const std::string& name,
                             std::set<std::string>* out) const {
  for (const ProfileSource* s : sources_) SH_RETURN_IF_ERROR(s->LabelValues(sel, name, out));
  return OkStatus();
}

Status Snapshot::IterateProfiles(const Selection& sel, const RawProfileVisitor& visit) const {
  for (const ProfileSource* s : sources_) {
    if (!sel.range.Overlaps(s->min_time(), s->max_time())) continue;
    SH_RETURN_IF_ERROR(s->IterateProfiles(sel, visit));
  }
  return OkStatus();
}

std::shared_ptr<const Snapshot> Store::GetSnapshot() const {
  std::shared_ptr<const State> st = state();
  auto snap = std::make_shared<Snapshot>();
  snap->heads_.push_back(st->head);
  for (const auto& h : st->cutting) snap->heads_.push_back(h);
  snap->blocks_ = st->blocks;
  for (const auto& h : snap->heads_) snap->sources_.push_back(&h->source());
  for (const auto& b : snap->blocks_) snap->sources_.push_back(b.get());
  return snap;
}

void Store::Publish(std::shared_ptr<const State> state) {
  std::lock_guard lock(state_mu_);
  state_ = std::move(state);
}

std::shared_ptr<const Store::State> Store::state() const {
  std::lock_guard lock(state_mu_);
  return state_;
}

void Store::Log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

std::string Store::TenantDir(const std::string& tenant) const {
  return options_.dir + "/tenants/" + EscapeTenant(tenant);
}

// --- open and recovery -----------------------------------------------------------------

Store::Store(StoreOptions options) : options_(std::move(options)) {
  env_ = options_.env ? options_.env : Env::Default();
}

StatusOr<std::unique_ptr<Store>> Store::Open(StoreOptions options) {
  if (options.dir.empty()) return InvalidArgumentError("store: no data directory");
  std::unique_ptr<Store> store(new Store(std::move(options)));
  SH_RETURN_IF_ERROR(store->Recover());
  if (store->options_.background) {
    store->background_ = std::thread([s = store.get()] { s->BackgroundLoop(); });
  }
  return store;
}

Store::~Store() { Close().ok(); }

namespace {

std::string MarkerRecord(uint64_t generation) {
  std::string r(1, '\x01');
  PutUvarint(&r, generation);
  return r;
}

}  // namespace

Status Store::WriteCheckpoint(uint64_t generation, uint64_t first_segment) {
  return env_->WriteFileAtomic(options_.dir + "/checkpoint",
                               StrCat(generation, " ", first_segment, "\n"));
}

Status Store::Recover() {
  SH_RETURN_IF_ERROR(env_->CreateDirs(options_.dir + "/tenants"));
  // The checkpoint (docs/format/wal_records.md): generations up to
  // `checkpoint` are in blocks, WAL segments below `first_segment` hold
  // nothing else. Leftovers of an interrupted removal go before replay.
  uint64_t checkpoint = 0;
  uint64_t first_segment = 0;
  if (env_->FileExists(options_.dir + "/checkpoint")) {
    SH_ASSIGN_OR_RETURN(std::string text, env_->ReadFile(options_.dir + "/checkpoint"));
    std::vector<std::string_view> fields = Split(TrimSpace(text), ' ');
    std::optional<uint64_t> gen, seg = 0;
    if (!fields.empty() && fields.size() <= 2) gen = ParseUint64(std::string(fields[0]));
    if (fields.size() == 2) seg = ParseUint64(std::string(fields[1]));
    if (!gen || !seg) {
      return DataLossError(StrCat(options_.dir, "/checkpoint: malformed: ", Quote(text)));
    }
    checkpoint = *gen;
    first_segment = *seg;
  }
  SH_RETURN_IF_ERROR(Wal::RemoveSegmentsBefore(env_, options_.dir + "/wal", first_segment));

  // Blocks: open every complete one; delete the leftovers of an interrupted
  // cut or compaction; quarantine the broken.
  auto state = std::make_shared<State>();
  SH_ASSIGN_OR_RETURN(std::vector<std::string> tenants, env_->ListDir(options_.dir + "/tenants"));
  for (const std::string& tdir : tenants) {
    std::string blocks_dir = options_.dir + "/tenants/" + tdir + "/blocks";
    if (!env_->FileExists(blocks_dir)) continue;
    SH_ASSIGN_OR_RETURN(std::vector<std::string> ids, env_->ListDir(blocks_dir));
    for (const std::string& id : ids) {
      std::string dir = blocks_dir + "/" + id;
      if (!env_->FileExists(dir + "/meta.json")) {
        Log(StrCat("store: deleting incomplete block ", dir));
        SH_RETURN_IF_ERROR(env_->DeleteDirRecursive(dir));
        continue;
      }
      auto block = Block::Open(env_, dir);
      if (!block.ok()) {
        std::string q = options_.dir + "/tenants/" + tdir + "/quarantine";
        Log(StrCat("store: quarantining block ", dir, ": ", block.status().message()));
        SH_RETURN_IF_ERROR(env_->CreateDirs(q));
        SH_RETURN_IF_ERROR(env_->RenameFile(dir, q + "/" + id));
        std::lock_guard lock(stats_mu_);
        ++counters_.quarantined;
        continue;
      }
      const BlockMeta& m = (*block)->meta();
      if (m.level == 1 && m.source_generation > checkpoint) {
        Log(StrCat("store: deleting block ", dir, " of unfinished generation ",
                   m.source_generation, "; it is rebuilt from the WAL"));
        SH_RETURN_IF_ERROR(env_->DeleteDirRecursive(dir));
        continue;
      }
      state->blocks.push_back(*block);
    }
  }
  // A compaction that was interrupted after writing its result but before
  // deleting its sources leaves both: the sources go.
  std::set<std::string> replaced;
  for (const auto& b : state->blocks) {
    for (const std::string& id : b->meta().sources) replaced.insert(b->meta().tenant + "/" + id);
  }
  if (!replaced.empty()) {
    std::vector<std::shared_ptr<const Block>> keep;
    for (auto& b : state->blocks) {
      if (replaced.count(b->meta().tenant + "/" + b->meta().id)) {
        Log(StrCat("store: deleting block ", b->dir(), ", already compacted into another"));
        std::string dir = b->dir();
        b.reset();
        SH_RETURN_IF_ERROR(env_->DeleteDirRecursive(dir));
      } else {
        keep.push_back(std::move(b));
      }
    }
    state->blocks = std::move(keep);
  }

  // WAL replay: one head per generation after the checkpoint.
  std::map<uint64_t, std::shared_ptr<Head>> heads;
  uint64_t current = checkpoint + 1;
  bool skipping = false;
  HeadLimits hl;
  hl.max_series_per_tenant = options_.limits.max_series_per_tenant;
  auto replay = [&](std::string_view record) -> Status {
    if (record.empty()) return OkStatus();
    protowire::Reader r(record.substr(1));
    VarintReader in(&r);
    switch (record[0]) {
      case 1: {
        uint64_t g = in.Uvarint();
        if (in.failed()) return DataLossError("WAL: malformed generation marker");
        current = g;
        skipping = g <= checkpoint;
        if (!skipping && !heads[g]) heads[g] = std::make_shared<Head>(g, hl);
        return OkStatus();
      }
      case 2: {
        if (skipping) return OkStatus();
        auto& h = heads[current];
        if (!h) h = std::make_shared<Head>(current, hl);
        Status s = h->Replay(record.substr(1));
        if (!s.ok()) Log(StrCat("store: skipping a WAL record: ", s.message()));
        return OkStatus();
      }
      default:
        return DataLossError(StrCat("WAL: unknown record type ", static_cast<int>(record[0])));
    }
  };
  WalReplayReport report;
  SH_ASSIGN_OR_RETURN(wal_, Wal::Open(env_, options_.dir + "/wal", options_.wal, replay, &report));
  if (options_.wal_sync_observer) wal_->SetSyncObserver(options_.wal_sync_observer);
  for (const std::string& p : report.problems) Log("store: WAL: " + p);

  // Older generations (a cut was interrupted) become blocks now; the newest
  // is the live head.
  std::shared_ptr<Head> live;
  uint64_t last_done = checkpoint;
  for (auto& [gen, head] : heads) {
    if (gen == heads.rbegin()->first) {
      live = head;
      break;
    }
    std::vector<std::shared_ptr<const Block>> blocks;
    SH_RETURN_IF_ERROR(WriteHeadBlocks(*head, &blocks));
    state->blocks.insert(state->blocks.end(), blocks.begin(), blocks.end());
    last_done = gen;
    SH_RETURN_IF_ERROR(WriteCheckpoint(gen, first_segment));
    Log(StrCat("store: wrote generation ", gen, " from the WAL to ", blocks.size(), " blocks"));
  }
  if (!live) {
    live = std::make_shared<Head>(std::max(last_done, checkpoint) + 1, hl);
    SH_RETURN_IF_ERROR(wal_->AppendAndSync(MarkerRecord(live->generation())));
  }
  head_ = live;
  state->head = live;
  Publish(state);
  Log(StrCat("store: opened ", options_.dir, ": ", state->blocks.size(), " blocks, head generation ",
             live->generation(), " with ", live->num_profiles(), " profiles from ",
             report.records, " WAL records"));
  return OkStatus();
}

// --- appends -----------------------------------------------------------------------------

Status Store::Validate(const profile::LabelSet& labels, const profile::Profile& p) const {
  const StoreLimits& lim = options_.limits;
  if (labels.Get("service_name").empty()) {
    return InvalidArgumentError("the service_name label is missing");
  }
  if (labels.size() + 2 > lim.max_labels_per_series) {
    return InvalidArgumentError(StrCat("too many labels: ", labels.size(), " (limit ",
                                       lim.max_labels_per_series, " with __name__ and "
                                       "__profile_type__)"));
  }
  for (const auto& lp : labels.pairs()) {
    if (!profile::IsValidLabelName(lp.name)) {
      return InvalidArgumentError(StrCat("invalid label name ", Quote(lp.name)));
    }
    if (lp.name.size() > lim.max_label_name_length) {
      return InvalidArgumentError(StrCat("label name ", Quote(lp.name), " is longer than ",
                                         lim.max_label_name_length));
    }
    if (lp.value.size() > lim.max_label_value_length) {
      return InvalidArgumentError(StrCat("the value of label ", lp.name, " is longer than ",
                                         lim.max_label_value_length));
    }
  }
  if (p.samples.size() > lim.max_samples_per_profile) {
    return OutOfRangeError(StrCat("the profile has ", p.samples.size(), " samples, over the limit of ",
                                  lim.max_samples_per_profile));
  }
  if (p.sample_types.empty()) return InvalidArgumentError("the profile has no sample types");
  // Every sum the store forms from one profile (equal stacks merged, a
  // series' total) is bounded by the sum of the values' magnitudes, which
  // must fit: overflowing values are an error, not a wrapped total.
  const size_t ntypes = p.num_types();
  for (size_t k = 0; k < ntypes; ++k) {
    uint64_t magnitude = 0;
    bool overflow = false;
    for (size_t i = 0; i < p.samples.size() && !overflow; ++i) {
      const int64_t v = p.sample_values(i)[k];
      const uint64_t m = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
      overflow = __builtin_add_overflow(magnitude, m, &magnitude) ||
                 magnitude > static_cast<uint64_t>(INT64_MAX);
    }
    if (overflow) {
      return InvalidArgumentError(StrCat("the values of sample type ", p.str(p.sample_types[k].type),
                                         " add up to more than int64 can hold"));
    }
  }
  return OkStatus();
}

namespace {

// Sample labels that never become series labels (too many distinct values).
bool IsHighCardinality(std::string_view key) {
  return key == "span_id" || key == "trace_id" || key == "profile_id" || key == "pprof::span_id";
}

std::string SanitizeLabelName(std::string_view key) {
  std::string out;
  for (char c : key) {
    bool ok = isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || isdigit(static_cast<unsigned char>(out[0])) || out[0] == '.') out.insert(0, "_");
  return out;
}

}  // namespace

Status Store::Append(const std::string& tenant, const profile::LabelSet& labels,
                     const profile::Profile& p, int64_t time_nanos, int64_t duration_nanos) {
  SH_ASSIGN_OR_RETURN(uint64_t ticket, AppendNoWait(tenant, labels, p, time_nanos, duration_nanos));
  return WaitDurable(ticket);
}

Status Store::DurableOutcome(const Status& s) {
  if (s.ok()) return s;
  Fail(s);
  return UnavailableError("store: the write was not made durable: " + s.message());
}

Status Store::WaitDurable(uint64_t ticket) {
  Wal* wal;
  {
    std::shared_lock lock(append_mu_);  // Close resets wal_ under it
    wal = wal_.get();
  }
  if (wal == nullptr) return FailureStatus();
  // Not under append_mu_: a cut would wait for the fsync.
  return DurableOutcome(wal->Sync(ticket));
}

void Store::WhenDurable(uint64_t ticket, std::function<void(Status)> done) {
  std::shared_lock lock(append_mu_);
  if (!wal_) {
    lock.unlock();
    done(FailureStatus());
    return;
  }
  wal_->SyncAsync(ticket, [this, done = std::move(done)](Status s) {
    done(DurableOutcome(s));
  });
}

StatusOr<uint64_t> Store::AppendNoWait(const std::string& tenant, const profile::LabelSet& labels,
                                       const profile::Profile& p, int64_t time_nanos,
                                       int64_t duration_nanos) {
  if (failed_.load()) return FailureStatus();
  SH_RETURN_IF_ERROR(Validate(labels, p));
  AppendRequest req;
  req.tenant = tenant;
  req.service = std::string(labels.Get("service_name"));
  req.profile = &p;
  req.time_nanos = time_nanos != 0   ? time_nanos
                   : p.time_nanos != 0 ? p.time_nanos
                                       : static_cast<int64_t>(env_->NowNanos());
  req.duration_nanos = duration_nanos != 0 ? duration_nanos : p.duration_nanos;
  std::string name = labels.Has("__name__") ? std::string(labels.Get("__name__"))
                                            : profile::DeriveProfileName(p);

  // Sample string labels split the samples into groups, one series each.
  std::vector<std::vector<profile::LabelPair>> groups(1);
  bool any_labels = false;
  for (size_t i = 0; i < p.samples.size() && !any_labels; ++i) any_labels = !p.sample_labels(i).empty();
  if (any_labels) {
    std::map<std::vector<profile::LabelPair>, uint32_t> group_ids;
    group_ids[{}] = 0;
    req.sample_groups.resize(p.samples.size(), 0);
    std::vector<profile::LabelPair> key;
    for (size_t i = 0; i < p.samples.size(); ++i) {
      key.clear();
      for (const profile::Label& l : p.sample_labels(i)) {
        if (l.str == 0 || IsHighCardinality(p.str(l.key))) continue;
        std::string n = SanitizeLabelName(p.str(l.key));
        if (n.starts_with("__") || n == "service_name" || labels.Has(n)) continue;
        key.push_back({std::move(n), std::string(p.str(l.str))});
      }
      std::sort(key.begin(), key.end());
      key.erase(std::unique(key.begin(), key.end(),
                            [](const auto& a, const auto& b) { return a.name == b.name; }),
                key.end());
      auto [it, inserted] = group_ids.emplace(key, static_cast<uint32_t>(groups.size()));
      if (inserted) groups.push_back(key);
      req.sample_groups[i] = it->second;
    }
  }
  for (int k = 0; k < static_cast<int>(p.num_types()); ++k) {
    profile::ProfileType type{name, std::string(p.str(p.sample_types[k].type)),
                              std::string(p.str(p.sample_types[k].unit)),
                              std::string(p.str(p.period_type.type)),
                              std::string(p.str(p.period_type.unit))};
    profile::LabelSet base = labels.With("__name__", name).With("__profile_type__", type.Id());
    for (uint32_t g = 0; g < groups.size(); ++g) {
      profile::LabelSet ls = base;
      for (const auto& lp : groups[g]) ls = ls.With(lp.name, lp.value);
      if (ls.size() > options_.limits.max_labels_per_series) {
        return InvalidArgumentError(StrCat("too many labels with the sample labels: ", ls.size(),
                                           " (limit ", options_.limits.max_labels_per_series, ")"));
      }
      for (const auto& lp : groups[g]) {
        if (lp.value.size() > options_.limits.max_label_value_length) {
          return InvalidArgumentError(StrCat("the value of sample label ", lp.name,
                                             " is too long"));
        }
      }
      req.series.push_back({std::move(ls), k, g});
    }
  }

  uint64_t seq;
  {
    std::shared_lock lock(append_mu_);
    SH_ASSIGN_OR_RETURN(seq, head_->Append(req, [&](std::string_view record) {
                          return wal_->Append(record);
                        }));
  }
  {
    std::lock_guard lock(stats_mu_);
    ++counters_.appends;
    counters_.appended_samples += p.samples.size();
  }
  return seq;
}

void Store::Fail(const Status& s) {
  std::lock_guard lock(failure_mu_);
  if (failed_.exchange(true)) return;
  failure_ = s;
  if (!closing_.load()) Log("store: writes disabled until restart: " + s.message());
}

Status Store::FailureStatus() const {
  std::lock_guard lock(failure_mu_);
  return UnavailableError("store: writes are disabled: " + failure_.message());
}

StoreStats Store::stats() const {
  StoreStats s;
  {
    std::lock_guard lock(stats_mu_);
    s = counters_;
  }
  auto st = state();
  s.head_generation = st->head->generation();
  s.head_series = st->head->num_series();
  s.head_profiles = st->head->num_profiles();
  s.head_bytes = st->head->bytes();
  s.blocks = st->blocks.size();
  for (const auto& b : st->blocks) s.block_bytes += b->meta().stats.bytes;
  return s;
}

}  // namespace stackhouse::tsdb
