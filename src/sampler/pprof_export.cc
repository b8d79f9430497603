#include "sampler/pprof_export.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "base/protowire.h"
#include "base/strings.h"

namespace stackhouse::sampler {
namespace {

using protowire::Writer;

// profile.proto field numbers.
enum : uint32_t {
  kProfileSampleType = 1, kProfileSample = 2, kProfileMapping = 3, kProfileLocation = 4,
  kProfileFunction = 5, kProfileStringTable = 6, kProfileTimeNanos = 9, kProfileDurationNanos = 10,
  kProfilePeriodType = 11, kProfilePeriod = 12, kProfileComment = 13, kProfileDefaultSampleType = 14,
};

// Writes one profile.proto message.
class Builder {
 public:
  int64_t Str(const std::string& s) {
    auto [it, inserted] = strings_.emplace(s, static_cast<int64_t>(table_.size()));
    if (inserted) table_.push_back(s);
    return it->second;
  }
  void SampleType(const char* type, const char* unit) { ValueType(kProfileSampleType, type, unit); }
  void PeriodType(const char* type, const char* unit, int64_t period) {
    ValueType(kProfilePeriodType, type, unit);
    Writer(&head_).VarintField(kProfilePeriod, static_cast<uint64_t>(period));
  }
  void Sample(const std::vector<uint64_t>& location_ids, const std::vector<int64_t>& values,
              const LabelPairs& labels) {
    std::string m, packed;
    Writer w(&m);
    Writer p(&packed);
    for (uint64_t id : location_ids) p.Varint(id);
    w.BytesField(1, packed);
    packed.clear();
    for (int64_t v : values) p.Varint(static_cast<uint64_t>(v));
    w.BytesField(2, packed);
    for (const auto& [k, v] : labels) {
      std::string l;
      Writer lw(&l);
      lw.VarintField(1, Str(k));
      lw.VarintField(2, Str(v));
      w.BytesField(3, l);
    }
    Writer(&body_).BytesField(kProfileSample, m);
  }
  void Raw(uint32_t field, const std::string& message) { Writer(&body_).BytesField(field, message); }
  std::string Finish(int64_t time_ns, int64_t duration_ns, const std::string& comment,
                     const char* default_type) {
    std::string out = std::move(head_);
    out += body_;
    Writer w(&out);
    w.VarintField(kProfileTimeNanos, static_cast<uint64_t>(time_ns));
    w.VarintField(kProfileDurationNanos, static_cast<uint64_t>(duration_ns));
    if (!comment.empty()) w.VarintField(kProfileComment, Str(comment));
    if (default_type != nullptr) w.VarintField(kProfileDefaultSampleType, Str(default_type));
    for (const std::string& s : table_) w.BytesField(kProfileStringTable, s);
    return out;
  }

 private:
  // A ValueType message (type, unit) as field `field` of the profile.
  void ValueType(uint32_t field, const char* type, const char* unit) {
    std::string m;
    Writer w(&m);
    w.VarintFieldIfNonZero(1, Str(type));
    w.VarintFieldIfNonZero(2, Str(unit));
    Writer(&head_).BytesField(field, m);
  }

  std::map<std::string, int64_t> strings_{{"", 0}};
  std::vector<std::string> table_{""};
  std::string head_, body_;
};

// What each profile kind's pprof declares, indexed by ProfileKind.
struct KindSpec {
  const char* name;
  std::pair<const char*, const char*> sample_types[4];  // (type, unit); unused entries null
  const char* period_type;
  const char* period_unit;
  const char* default_type;
};
constexpr KindSpec kKinds[kNumProfileKinds] = {
    {"cpu", {{"samples", "count"}, {"cpu", "nanoseconds"}}, "cpu", "nanoseconds", nullptr},
    {"wall", {{"samples", "count"}, {"wall", "nanoseconds"}}, "wall", "nanoseconds", nullptr},
    {"heap",
     {{"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"}, {"inuse_space", "bytes"}},
     "space", "bytes", "inuse_space"},
    {"lock", {{"contentions", "count"}, {"delay", "nanoseconds"}}, "contentions", "count", nullptr},
};

std::string Hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

PprofExporter::PprofExporter() = default;
PprofExporter::~PprofExporter() = default;

void PprofExporter::RefreshMappings() {
  mappings_stale_ = false;
  auto maps = symbolize::ReadProcMaps(0);
  if (!maps.ok()) return;  // keep the previous snapshot
  std::vector<std::shared_ptr<const Mapping>> next;
  for (const symbolize::MappingInfo& m : *maps) {
    if (!m.exec) continue;
    auto out = std::make_shared<Mapping>();
    out->info = m;
    auto it = elves_.find(m.path);
    if (it == elves_.end()) {
      std::unique_ptr<symbolize::ElfSymbolizer> elf;
      if (m.path == "[vdso]") {
        auto opened = symbolize::ElfSymbolizer::OpenMemory(
            std::string_view(reinterpret_cast<const char*>(m.start), m.limit - m.start), "[vdso]");
        if (opened.ok()) elf = std::move(*opened);
      } else {
        auto opened = symbolize::ElfSymbolizer::Open(m.path);
        if (opened.ok()) elf = std::move(*opened);
      }
      it = elves_.emplace(m.path, std::move(elf)).first;
    }
    out->elf = it->second.get();
    if (out->elf != nullptr) out->build_id = out->elf->build_id();
    next.push_back(std::move(out));
  }
  std::sort(next.begin(), next.end(), [](const auto& a, const auto& b) { return a->info.start < b->info.start; });
  // A library that moved (dlclose, then dlopen elsewhere) makes cached
  // addresses ambiguous: forget them once the current interval is out.
  bool changed = next.size() != mappings_.size();
  for (size_t i = 0; !changed && i < next.size(); ++i) {
    changed = next[i]->info.start != mappings_[i]->info.start || next[i]->info.path != mappings_[i]->info.path;
  }
  if (changed) clear_after_export_ = true;
  mappings_ = std::move(next);
}

std::shared_ptr<const PprofExporter::Mapping> PprofExporter::FindMapping(uintptr_t addr) const {
  auto it = std::upper_bound(mappings_.begin(), mappings_.end(), addr,
                             [](uintptr_t a, const auto& m) { return a < m->info.start; });
  if (it == mappings_.begin()) return nullptr;
  --it;
  if (addr >= (*it)->info.limit) return nullptr;
  return *it;
}

const PprofExporter::Resolved& PprofExporter::Resolve(uintptr_t addr) {
  auto it = locations_.find(addr);
  if (it != locations_.end()) return it->second;
  if (mappings_stale_) RefreshMappings();
  Resolved r;
  r.mapping = FindMapping(addr);
  if (r.mapping == nullptr && !mappings_.empty() && !refreshed_for_miss_) {
    // Maybe a library loaded since the last look (once per batch: garbage
    // or JIT addresses must not re-read the maps each time).
    refreshed_for_miss_ = true;
    RefreshMappings();
    r.mapping = FindMapping(addr);
  }
  if (r.mapping != nullptr && r.mapping->elf != nullptr) {
    r.frames = r.mapping->elf->Symbolize(symbolize::RuntimeToElfVaddr(r.mapping->info, *r.mapping->elf, addr));
  }
  if (locations_.size() > 500000) locations_.clear();  // bound the cache
  return locations_.emplace(addr, std::move(r)).first->second;
}

void PprofExporter::Prefetch(const std::vector<uintptr_t>& exact_pcs,
                             const std::vector<uintptr_t>& return_addresses) {
  refreshed_for_miss_ = false;
  for (uintptr_t pc : exact_pcs) Resolve(pc);
  for (uintptr_t pc : return_addresses) Resolve(pc == 0 ? 0 : pc - 1);
}

std::vector<EncodedProfile> PprofExporter::Export(const Interval& iv, const ExportOptions& opt) {
  refreshed_for_miss_ = false;
  std::vector<EncodedProfile> out;
  int64_t duration = iv.end_ns - iv.start_ns;
  std::string comment;
  if (iv.covered_ns > 0 && iv.covered_ns < duration) {
    comment = StrCat("stackhouse: sampled ", iv.covered_ns, " ns of the ", duration, " ns interval");
  }
  for (int kind = 0; kind < kNumProfileKinds; ++kind) {
    const auto& samples = iv.samples[kind];
    if (samples.empty() && !(kind == kAllocProfile && !iv.inuse.empty())) continue;
    const KindSpec& spec = kKinds[kind];
    Builder b;
    for (const auto& [type, unit] : spec.sample_types) {
      if (type != nullptr) b.SampleType(type, unit);
    }
    const int64_t periods[kNumProfileKinds] = {opt.cpu_period_ns, opt.wall_period_ns, opt.heap_sample_bytes,
                                               opt.lock_sample_rate};
    b.PeriodType(spec.period_type, spec.period_unit, periods[kind]);
    std::map<const Mapping*, uint64_t> mapping_ids;
    std::map<uintptr_t, uint64_t> location_ids;  // address -> id
    std::map<std::pair<std::string, std::string>, uint64_t> function_ids;
    auto location_of = [&](uintptr_t addr) -> uint64_t {
      auto found = location_ids.find(addr);
      if (found != location_ids.end()) return found->second;
      uint64_t id = location_ids.size() + 1;
      location_ids.emplace(addr, id);
      const Resolved& r = Resolve(addr);
      std::string loc;
      Writer w(&loc);
      w.VarintField(1, id);
      if (r.mapping != nullptr) {
        auto [mit, inserted] = mapping_ids.emplace(r.mapping.get(), mapping_ids.size() + 1);
        if (inserted) {
          const Mapping& m = *r.mapping;
          std::string mm;
          Writer mw(&mm);
          mw.VarintField(1, mit->second);
          mw.VarintField(2, m.info.start);
          mw.VarintField(3, m.info.limit);
          mw.VarintField(4, m.info.file_offset);
          mw.VarintField(5, static_cast<uint64_t>(b.Str(m.info.path)));
          if (!m.build_id.empty()) mw.VarintField(6, static_cast<uint64_t>(b.Str(m.build_id)));
          mw.VarintField(7, 1);   // has_functions
          mw.VarintField(8, 1);   // has_filenames
          mw.VarintField(9, 1);   // has_line_numbers
          mw.VarintField(10, 1);  // has_inline_frames
          b.Raw(kProfileMapping, mm);
        }
        w.VarintField(2, mit->second);
      }
      w.VarintField(3, addr);
      std::vector<symbolize::Frame> fallback;
      const std::vector<symbolize::Frame>* frames = &r.frames;
      if (frames->empty()) {
        symbolize::Frame f;
        f.function = Hex(addr);
        if (r.mapping != nullptr) {
          const std::string& path = r.mapping->info.path;
          f.function += StrCat(" (", path.substr(path.rfind('/') + 1), ")");
        }
        fallback.push_back(std::move(f));
        frames = &fallback;
      }
      for (const symbolize::Frame& f : *frames) {
        auto [fit, inserted] = function_ids.emplace(std::make_pair(f.function, f.file), function_ids.size() + 1);
        if (inserted) {
          std::string fm;
          Writer fw(&fm);
          fw.VarintField(1, fit->second);
          int64_t n = b.Str(f.function);
          fw.VarintField(2, static_cast<uint64_t>(n));
          fw.VarintField(3, static_cast<uint64_t>(n));
          if (!f.file.empty()) fw.VarintField(4, static_cast<uint64_t>(b.Str(f.file)));
          b.Raw(kProfileFunction, fm);
        }
        std::string line;
        Writer lw(&line);
        lw.VarintField(1, fit->second);
        if (f.line > 0) lw.VarintField(2, static_cast<uint64_t>(f.line));
        w.BytesField(4, line);
      }
      b.Raw(kProfileLocation, loc);
      return id;
    };
    auto emit = [&](const StackKey& key, std::vector<int64_t> values) {
      std::vector<uint64_t> ids;
      ids.reserve(key.pcs.size());
      for (size_t i = 0; i < key.pcs.size(); ++i) {
        uintptr_t pc = key.pcs[i];
        // Callers' pcs are return addresses: the call is the byte before.
        bool exact = i == 0 && key.leaf_is_exact;
        ids.push_back(location_of(exact || pc == 0 ? pc : pc - 1));
      }
      b.Sample(ids, values, iv.label_sets[key.labels]);
    };
    if (kind == kAllocProfile) {
      // Heap: allocations of the interval plus the in-use set at its end.
      std::unordered_map<StackKey, std::pair<Values, Values>, StackKeyHash> merged;
      for (const auto& [key, v] : samples) merged[key].first = v;
      for (const auto& [key, v] : iv.inuse) merged[key].second = v;
      for (const auto& [key, vs] : merged) {
        emit(key, {std::llround(vs.first.a), std::llround(vs.first.b), std::llround(vs.second.a),
                   std::llround(vs.second.b)});
      }
    } else {
      for (const auto& [key, v] : samples) emit(key, {std::llround(v.a), std::llround(v.b)});
    }
    out.push_back({static_cast<ProfileKind>(kind), spec.name,
                   b.Finish(iv.start_ns, iv.covered_ns > 0 ? iv.covered_ns : duration, comment, spec.default_type)});
  }
  if (clear_after_export_) {
    locations_.clear();
    clear_after_export_ = false;
  }
  return out;
}

}  // namespace stackhouse::sampler
