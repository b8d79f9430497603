// pprof decoder: one pass over the wire bytes collecting raw ids, then a
// resolution pass that turns ids into indexes and checks every reference.

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <unordered_map>

#include "base/gzip.h"
#include "base/memory.h"
#include "base/protowire.h"
#include "base/strings.h"
#include "profile/pprof.h"

namespace stackhouse::profile {
namespace {

using protowire::Reader;

// Field numbers of profile.proto.
enum ProfileField : uint32_t {
  kSampleType = 1,
  kSample = 2,
  kMapping = 3,
  kLocation = 4,
  kFunction = 5,
  kStringTable = 6,
  kDropFrames = 7,
  kKeepFrames = 8,
  kTimeNanos = 9,
  kDurationNanos = 10,
  kPeriodType = 11,
  kPeriod = 12,
  kComment = 13,
  kDefaultSampleType = 14,
  kDocUrl = 15,
};

// Reads one varint at *p (p < end). Returns false if it is malformed.
inline bool NextVarint(const uint8_t*& p, const uint8_t* end, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 70 && p < end; shift += 7) {
    uint64_t c = *p++;
    r |= (c & 0x7f) << shift;
    if (c < 0x80) {
      *v = r;
      return true;
    }
  }
  return false;
}

// Decodes a packed run of varints into out[] (room for one per byte) and
// returns how many there were, or SIZE_MAX if one is malformed. Two
// versions: a portable byte loop, and a word-at-a-time one using BMI2's PEXT
// (a varint ends at a byte with the top bit clear; PEXT gathers its 7-bit
// groups at once), chosen at run time.
inline size_t DecodeVarintsPortable(const uint8_t* p, const uint8_t* end, uint64_t* out) {
  uint64_t* const first = out;
  while (p < end) {
    if (end - p >= 2) {
      // Branch-free one- and two-byte varints, the common case for ids.
      uint32_t b0 = p[0], b1 = p[1];
      uint32_t cont = b0 >> 7;
      if ((b1 & (cont << 7)) == 0) {
        *out++ = (b0 & 0x7f) | ((b1 << 7) & (0u - cont) & 0x3f80u);
        p += 1 + cont;
        continue;
      }
    }
    if (!NextVarint(p, end, out++)) return SIZE_MAX;
  }
  return static_cast<size_t>(out - first);
}

__attribute__((target("bmi2"))) inline size_t DecodeVarintsBmi2(const uint8_t* p,
                                                                 const uint8_t* end,
                                                                 uint64_t* out) {
  uint64_t* const first = out;
  while (end - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    uint64_t ends = ~w & 0x8080808080808080ULL;
    if (ends == 0) {
      if (!NextVarint(p, end, out++)) return SIZE_MAX;
      continue;
    }
    size_t start = 0;
    do {
      size_t last = static_cast<size_t>(__builtin_ctzll(ends)) >> 3;
      uint64_t mask = 0x7f7f7f7f7f7f7f7fULL >> (8 * (7 - (last - start)));
      *out++ = _pext_u64(w >> (8 * start), mask);
      start = last + 1;
      ends &= ends - 1;
    } while (ends != 0);
    p += start;
  }
  size_t tail = DecodeVarintsPortable(p, end, out);
  return tail == SIZE_MAX ? SIZE_MAX : static_cast<size_t>(out - first) + tail;
}

const bool kHaveBmi2 = __builtin_cpu_supports("bmi2");

// Maps raw pprof ids (uint64) to dense indexes. Ids are usually 1..n, in
// which case no table is needed.
class IdMap {
 public:
  // `ids[i]` is the id of element i. Fails on 0 or duplicates.
  bool Build(const std::vector<uint64_t>& ids, uint64_t* bad_id) {
    dense_ = true;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] != i + 1) {
        dense_ = false;
        break;
      }
    }
    size_ = ids.size();
    if (dense_) return true;
    uint64_t max_id = 0;
    for (uint64_t id : ids) max_id = std::max(max_id, id);
    if (max_id <= ids.size() * 4 + 1024) {
      table_.assign(max_id + 1, kNone);
      for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] == 0 || table_[ids[i]] != kNone) {
          *bad_id = ids[i];
          return false;
        }
        table_[ids[i]] = static_cast<uint32_t>(i);
      }
    } else {
      map_.reserve(ids.size());
      for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] == 0 || !map_.emplace(ids[i], static_cast<uint32_t>(i)).second) {
          *bad_id = ids[i];
          return false;
        }
      }
    }
    return true;
  }
  // Returns the index for id, or kNone.
  uint32_t Find(uint64_t id) const {
    if (dense_) return id >= 1 && id <= size_ ? static_cast<uint32_t>(id - 1) : kNone;
    if (!table_.empty() || map_.empty()) return id < table_.size() ? table_[id] : kNone;
    auto it = map_.find(id);
    return it == map_.end() ? kNone : it->second;
  }
  static constexpr uint32_t kNone = UINT32_MAX;
  bool dense() const { return dense_; }

 private:
  bool dense_ = true;
  size_t size_ = 0;
  std::vector<uint32_t> table_;
  std::unordered_map<uint64_t, uint32_t> map_;
};

// Reads a varint field value or fails with the field name.
inline bool Int(Reader& r, int wt, uint64_t* v) { return wt == protowire::kVarint && r.ReadVarint(v); }

inline bool Message(Reader& r, int wt, std::string_view* body) {
  return wt == protowire::kLengthDelimited && r.ReadLengthDelimited(body);
}

// Reads a repeated varint field in packed or unpacked form, calling fn(v).
template <typename Fn>
inline bool Repeated(Reader& r, int wt, Fn&& fn) {
  uint64_t v;
  if (wt == protowire::kVarint) {
    if (!r.ReadVarint(&v)) return false;
    fn(v);
    return true;
  }
  std::string_view body;
  if (wt != protowire::kLengthDelimited || !r.ReadLengthDelimited(&body)) return false;
  Reader pr = r.Sub(body);
  while (!pr.done()) {
    if (!pr.ReadVarint(&v)) return false;
    fn(v);
  }
  return true;
}

// An error at a byte offset of the (decompressed) profile.
Status Error(size_t offset, std::string_view what) {
  return InvalidArgumentError(StrCat("pprof: offset ", offset, ": ", what));
}

// Counts the location ids of the Sample fields in `range` (top-level fields)
// without decoding them: a packed varint ends at each byte below 0x80.
size_t CountLocationIds(std::string_view range) {
  Reader r(range);
  size_t ids = 0;
  while (!r.done()) {
    uint32_t field;
    int wt;
    if (!r.ReadTag(&field, &wt)) break;
    if (field != kSample || wt != protowire::kLengthDelimited) {
      if (!r.SkipField(wt)) break;
      continue;
    }
    std::string_view body;
    if (!r.ReadLengthDelimited(&body)) break;
    Reader s(body);
    while (!s.done()) {
      uint32_t f;
      int swt;
      if (!s.ReadTag(&f, &swt)) break;
      if (f == 1 && swt == protowire::kLengthDelimited) {
        std::string_view packed;
        if (!s.ReadLengthDelimited(&packed)) break;
        for (char c : packed) ids += static_cast<unsigned char>(c) < 0x80;
      } else {
        if (f == 1 && swt == protowire::kVarint) ++ids;
        if (!s.SkipField(swt)) break;
      }
    }
  }
  return ids;
}

// Decodes the Sample messages among the top-level fields of one byte range
// of the profile, straight into the profile's arrays: samples and values
// from the range's first sample on, location indexes into a region of the
// stack array given by the caller, labels into its own array. A big profile
// is cut into ranges decoded on several threads.
class SampleDecoder {
 public:
  // first_sample: the index of the range's first sample; [stack_begin,
  // stack_limit): the part of p->stack it may fill (p->samples, p->values and
  // p->stack are already sized).
  SampleDecoder(const char* origin, Profile* p, size_t first_sample, size_t end_sample,
                size_t stack_begin, size_t stack_limit)
      : origin_(origin),
        p_(p),
        ntypes_(p->sample_types.size()),
        next_sample_(first_sample),
        end_sample_(end_sample),
        stack_pos_(stack_begin),
        stack_limit_(stack_limit) {}

  // Decodes the Sample fields in `range`, which starts and ends at top-level
  // field boundaries, and skips the others.
  Status Run(std::string_view range) {
    Reader r(range, origin_);
    while (!r.done()) {
      size_t at = r.offset();
      uint32_t field;
      int wt;
      if (!r.ReadTag(&field, &wt)) return Error(at, "invalid field key");
      if (field == kSample && wt == protowire::kLengthDelimited) {
        std::string_view body;
        if (!r.ReadLengthDelimited(&body)) return Error(at, "bad sample");
        SH_RETURN_IF_ERROR(ParseSample(r.Sub(body)));
      } else if (!r.SkipField(wt)) {
        return Error(at, StrCat("truncated field ", field));
      }
    }
    return OkStatus();
  }

  size_t stack_end() const { return stack_pos_; }
  bool complete() const { return next_sample_ == end_sample_; }
  std::vector<Label> labels;  // label_begin of the samples counts from 0 here
  std::vector<std::pair<size_t, uint64_t>> big_location_ids;  // (stack index, id > 2^32)
  uint32_t max_location = 0;

 private:
  // Decodes a packed run of varints into scratch_; returns false if malformed.
  bool DecodePacked(std::string_view body, size_t* count) {
    if (scratch_.size() < body.size()) scratch_.resize(std::max(body.size(), size_t{1024}));
    const auto* p = reinterpret_cast<const uint8_t*>(body.data());
    *count = kHaveBmi2 ? DecodeVarintsBmi2(p, p + body.size(), scratch_.data())
                       : DecodeVarintsPortable(p, p + body.size(), scratch_.data());
    return *count != SIZE_MAX;
  }

  // Appends one location id, stored minus one so that the usual dense ids
  // 1..n are already indexes (max_location checks them all at once later).
  bool AppendLocationId(uint64_t id) {
    if (stack_pos_ >= stack_limit_) return false;
    if (id > UINT32_MAX) big_location_ids.push_back({stack_pos_, id});
    uint32_t idx = static_cast<uint32_t>(id - 1);
    max_location = std::max(max_location, idx);
    p_->stack[stack_pos_++] = idx;
    return true;
  }

  bool AppendLocationIds(std::string_view body) {
    size_t n;
    if (!DecodePacked(body, &n) || n > stack_limit_ - stack_pos_) return false;
    uint32_t* dst = p_->stack.data() + stack_pos_;
    uint32_t max_idx = max_location;
    uint64_t any_big = 0;
    for (size_t i = 0; i < n; ++i) {
      uint64_t v = scratch_[i];
      any_big |= v >> 32;
      uint32_t idx = static_cast<uint32_t>(v - 1);
      max_idx = std::max(max_idx, idx);
      dst[i] = idx;
    }
    max_location = max_idx;
    if (any_big) [[unlikely]] {
      for (size_t i = 0; i < n; ++i) {
        if (scratch_[i] > UINT32_MAX) big_location_ids.push_back({stack_pos_ + i, scratch_[i]});
      }
    }
    stack_pos_ += n;
    return true;
  }

  // Values beyond the sample's ntypes are counted, not stored.
  void AppendValue(int64_t v) {
    if (nvalues_ < ntypes_) p_->values[next_sample_ * ntypes_ + nvalues_] = v;
    ++nvalues_;
  }

  bool AppendValues(std::string_view body) {
    size_t n;
    if (!DecodePacked(body, &n)) return false;
    for (size_t i = 0; i < n; ++i) AppendValue(static_cast<int64_t>(scratch_[i]));
    return true;
  }

  Status ParseSample(Reader r) {
    if (next_sample_ >= end_sample_) return Error(r.offset(), "unexpected sample");
    Sample s;
    s.stack_begin = static_cast<uint32_t>(stack_pos_);
    s.label_begin = static_cast<uint32_t>(labels.size());
    nvalues_ = 0;
    size_t sample_at = r.offset();
    while (!r.done()) {
      size_t at = r.offset();
      uint32_t f;
      int wt;
      if (!r.ReadTag(&f, &wt)) return Error(at, "invalid field key in Sample");
      if (f == 1) {
        std::string_view packed;
        bool ok = wt == protowire::kLengthDelimited
                      ? r.ReadLengthDelimited(&packed) && AppendLocationIds(packed)
                      : RepeatedOk(r, wt, [&](uint64_t id) { return AppendLocationId(id); });
        if (!ok) return Error(at, "bad Sample.location_id");
      } else if (f == 2) {
        std::string_view packed;
        bool ok = wt == protowire::kLengthDelimited
                      ? r.ReadLengthDelimited(&packed) && AppendValues(packed)
                      : Repeated(r, wt, [&](uint64_t v) { AppendValue(static_cast<int64_t>(v)); });
        if (!ok) return Error(at, "bad Sample.value");
      } else if (f == 3) {
        std::string_view body;
        if (!Message(r, wt, &body)) return Error(at, "bad Sample.label");
        Label l;
        SH_RETURN_IF_ERROR(ParseLabel(r.Sub(body), &l));
        labels.push_back(l);
      } else if (!r.SkipField(wt)) {
        return Error(at, "truncated field in Sample");
      }
    }
    if (nvalues_ != ntypes_) {
      return Error(sample_at, StrCat("sample ", next_sample_, " has ", nvalues_, " values for ",
                                     ntypes_, " sample types"));
    }
    s.stack_size = static_cast<uint32_t>(stack_pos_ - s.stack_begin);
    s.label_count = static_cast<uint32_t>(labels.size() - s.label_begin);
    if (labels.size() >= UINT32_MAX) {
      return ResourceExhaustedError("pprof: too many samples, frames or labels");
    }
    p_->samples[next_sample_++] = s;
    return OkStatus();
  }

  // Like Repeated, for a callback that may refuse a value.
  template <typename Fn>
  static bool RepeatedOk(Reader& r, int wt, Fn&& fn) {
    bool ok = true;
    return Repeated(r, wt, [&](uint64_t v) { ok = ok && fn(v); }) && ok;
  }

  Status ParseLabel(Reader r, Label* l) {
    while (!r.done()) {
      size_t at = r.offset();
      uint32_t f;
      int wt;
      uint64_t v;
      if (!r.ReadTag(&f, &wt)) return Error(at, "invalid field key in Label");
      if (f >= 1 && f <= 4) {
        if (!Int(r, wt, &v)) return Error(at, "bad Label field");
        int64_t s = static_cast<int64_t>(v);
        if (f == 1) l->key = s;
        if (f == 2) l->str = s;
        if (f == 3) l->num = s;
        if (f == 4) l->num_unit = s;
      } else if (!r.SkipField(wt)) {
        return Error(at, "truncated field in Label");
      }
    }
    return OkStatus();
  }

  const char* origin_;
  Profile* p_;
  size_t ntypes_;
  size_t next_sample_, end_sample_;
  size_t nvalues_ = 0;
  size_t stack_pos_, stack_limit_;
  std::vector<uint64_t> scratch_;
};

class Decoder {
 public:
  Decoder(std::string_view data, const PprofDecodeOptions& o)
      : data_(data),
        threads_(std::max(o.threads, 1)),
        min_part_bytes_(std::max<size_t>(o.min_part_bytes, 1)),
        checkpoint_bytes_(std::clamp<size_t>(min_part_bytes_ / 4, 1, size_t{256} << 10)) {}

  StatusOr<Profile> Run() {
    Reserve();
    // One pass over every field but the samples, whose places are noted;
    // then the samples (on several threads when there are many bytes of them).
    Reader r(data_);
    while (!r.done()) {
      size_t field_offset = r.offset();
      uint32_t field;
      int wt;
      if (!r.ReadTag(&field, &wt)) return Error(field_offset, "invalid field key");
      if (field == kSample) {
        std::string_view body;
        if (!Message(r, wt, &body)) return Error(field_offset, "bad sample");
        if (sample_bytes_ >= next_checkpoint_) {
          checkpoints_.push_back({field_offset, sample_count_, sample_bytes_});
          next_checkpoint_ = sample_bytes_ + checkpoint_bytes_;
        }
        ++sample_count_;
        sample_bytes_ += body.size();
        continue;
      }
      SH_RETURN_IF_ERROR(Field(r, field, wt));
    }
    SH_RETURN_IF_ERROR(DecodeSamples());
    SH_RETURN_IF_ERROR(Resolve());
    SH_RETURN_IF_ERROR(p_.ValidateSymbols().WithPrefix("pprof"));
    return std::move(p_);
  }

 private:
  // A place between top-level fields: its offset, and the samples and sample
  // bytes before it.
  struct Checkpoint {
    size_t offset, samples, bytes;
  };

  // Sizes the symbol arrays from a quick count of the top-level fields (tags
  // and lengths only), so that they are not regrown and copied as they fill.
  // Lines are about one per location. A malformed profile stops the count;
  // the decode then reports it.
  void Reserve() {
    size_t n[kStringTable + 1] = {};
    size_t string_bytes = 0;
    Reader r(data_);
    while (!r.done()) {
      uint32_t field;
      int wt;
      const size_t at = r.offset();
      if (!r.ReadTag(&field, &wt) || !r.SkipField(wt)) break;
      if (field <= kStringTable) ++n[field];
      if (field == kStringTable) string_bytes += r.offset() - at;  // (with the tags: an upper bound)
    }
    p_.strings.reserve(n[kStringTable], string_bytes);
    p_.mappings.reserve(n[kMapping]);
    mapping_ids_.reserve(n[kMapping]);
    p_.functions.reserve(n[kFunction]);
    function_ids_.reserve(n[kFunction]);
    p_.locations.reserve(n[kLocation]);
    location_ids_.reserve(n[kLocation]);
    location_mapping_ids_.reserve(n[kLocation]);
    p_.lines.reserve(n[kLocation]);
    line_function_ids_.reserve(n[kLocation]);
  }

  // Decodes the samples in up to threads_ parts of about equal bytes, each
  // straight into the profile's arrays. Samples and values go to known
  // places; a part's location indexes start after those of the parts before
  // it, which their threads count first (a quick scan).
  Status DecodeSamples() {
    const size_t ntypes = p_.sample_types.size();
    std::vector<Checkpoint> bounds = {{0, 0, 0}};
    size_t parts = std::clamp<size_t>(sample_bytes_ / min_part_bytes_, 1, threads_);
    for (size_t k = 1; k < parts; ++k) {
      size_t want = sample_bytes_ * k / parts;
      auto it = std::lower_bound(checkpoints_.begin(), checkpoints_.end(), want,
                                 [](const Checkpoint& c, size_t b) { return c.bytes < b; });
      if (it != checkpoints_.end() && it->offset > bounds.back().offset) bounds.push_back(*it);
    }
    bounds.push_back({data_.size(), sample_count_, sample_bytes_});
    parts = bounds.size() - 1;
    auto range = [&](size_t k) {
      return data_.substr(bounds[k].offset, bounds[k + 1].offset - bounds[k].offset);
    };

    // Each value takes at least a byte (this bounds the values array for
    // hostile inputs with many sample types and empty samples).
    if (ntypes > 0 && sample_count_ > sample_bytes_ / ntypes) {
      return InvalidArgumentError(StrCat("pprof: ", sample_count_, " samples of ", ntypes,
                                         " values cannot fit in ", sample_bytes_, " bytes"));
    }
    // Every location id takes at least one byte, so the sample bytes bound
    // the stack; it shrinks to its real size at the end. Pages are only
    // committed where written (the array is not zero-filled).
    size_t stack_cap = std::min<size_t>(sample_bytes_, UINT32_MAX - 1);
    p_.stack.reserve(stack_cap);
    AdviseHugePages(p_.stack.data(), stack_cap * sizeof(uint32_t));
    p_.stack.resize(stack_cap);
    p_.values.reserve(sample_count_ * ntypes);
    AdviseHugePages(p_.values.data(), sample_count_ * ntypes * sizeof(int64_t));
    p_.values.resize(sample_count_ * ntypes);
    p_.samples.resize(sample_count_);

    // Each part but the last counts its location ids first (a quick scan);
    // a part starts after the ids of the parts before it and may not write
    // past its own count.
    std::vector<size_t> counts(parts, 0);
    std::vector<std::atomic<bool>> counted(parts);
    std::vector<size_t> stack_begin(parts, 0);
    std::vector<std::unique_ptr<SampleDecoder>> decoders(parts);
    std::vector<Status> status(parts);
    auto run = [&](size_t k) {
      if (k + 1 < parts) {
        counts[k] = CountLocationIds(range(k));
        counted[k].store(true, std::memory_order_release);
      }
      size_t begin = 0;
      for (size_t j = 0; j < k; ++j) {
        while (!counted[j].load(std::memory_order_acquire)) std::this_thread::yield();
        begin += counts[j];
      }
      begin = std::min(begin, stack_cap);
      size_t limit = k + 1 < parts ? std::min(begin + counts[k], stack_cap) : stack_cap;
      stack_begin[k] = begin;
      decoders[k] = std::make_unique<SampleDecoder>(data_.data(), &p_, bounds[k].samples,
                                                    bounds[k + 1].samples, begin, limit);
      status[k] = decoders[k]->Run(range(k));
    };
    std::vector<std::thread> workers;
    for (size_t k = 1; k < parts; ++k) workers.emplace_back(run, k);
    run(0);
    for (std::thread& t : workers) t.join();
    for (size_t k = 0; k < parts; ++k) {
      SH_RETURN_IF_ERROR(status[k]);
      if (!decoders[k]->complete()) return InternalError("pprof: a sample part ended early");
    }
    // The parts must tile the stack exactly: no unwritten gap between them.
    for (size_t k = 0; k + 1 < parts; ++k) {
      if (decoders[k]->stack_end() != stack_begin[k] + counts[k] ||
          stack_begin[k + 1] != stack_begin[k] + counts[k]) {
        return InvalidArgumentError("pprof: malformed packed location ids");
      }
    }
    p_.stack.resize(decoders[parts - 1]->stack_end());

    for (size_t k = 0; k < parts; ++k) {
      SampleDecoder& d = *decoders[k];
      size_t label_base = p_.labels.size();
      if (label_base + d.labels.size() >= UINT32_MAX) {
        return ResourceExhaustedError("pprof: too many samples, frames or labels");
      }
      if (label_base > 0) {
        for (size_t i = bounds[k].samples; i < bounds[k + 1].samples; ++i) {
          p_.samples[i].label_begin += static_cast<uint32_t>(label_base);
        }
      }
      if (k == 0) {
        p_.labels = std::move(d.labels);
      } else {
        p_.labels.insert(p_.labels.end(), d.labels.begin(), d.labels.end());
      }
      big_location_ids_.insert(big_location_ids_.end(), d.big_location_ids.begin(),
                               d.big_location_ids.end());
      max_location_ = std::max(max_location_, d.max_location);
    }
    return OkStatus();
  }

  Status Field(Reader& r, uint32_t field, int wt) {
    size_t at = r.offset();
    std::string_view body;
    uint64_t v = 0;
    switch (field) {
      case kSampleType: {
        if (!Message(r, wt, &body)) return Error(at, "bad sample_type");
        ValueType vt;
        SH_RETURN_IF_ERROR(ParseValueType(r.Sub(body), &vt));
        p_.sample_types.push_back(vt);
        return OkStatus();
      }
      case kMapping:
        if (!Message(r, wt, &body)) return Error(at, "bad mapping");
        return ParseMapping(r.Sub(body));
      case kLocation:
        if (!Message(r, wt, &body)) return Error(at, "bad location");
        return ParseLocation(r.Sub(body));
      case kFunction:
        if (!Message(r, wt, &body)) return Error(at, "bad function");
        return ParseFunction(r.Sub(body));
      case kStringTable:
        if (!Message(r, wt, &body)) return Error(at, "bad string_table entry");
        if (!saw_string_) {
          // Profile() pre-seeds strings[0] = ""; the first entry replaces it.
          p_.strings.clear();
          saw_string_ = true;
        }
        p_.strings.emplace_back(body);
        return OkStatus();
      case kDropFrames:
      case kKeepFrames:
      case kTimeNanos:
      case kDurationNanos:
      case kPeriod:
      case kDefaultSampleType:
      case kDocUrl: {
        if (!Int(r, wt, &v)) return Error(at, StrCat("bad varint in field ", field));
        int64_t s = static_cast<int64_t>(v);
        if (field == kDropFrames) p_.drop_frames = s;
        if (field == kKeepFrames) p_.keep_frames = s;
        if (field == kTimeNanos) p_.time_nanos = s;
        if (field == kDurationNanos) p_.duration_nanos = s;
        if (field == kPeriod) p_.period = s;
        if (field == kDefaultSampleType) p_.default_sample_type = s;
        if (field == kDocUrl) p_.doc_url = s;
        return OkStatus();
      }
      case kPeriodType:
        if (!Message(r, wt, &body)) return Error(at, "bad period_type");
        return ParseValueType(r.Sub(body), &p_.period_type);
      case kComment:
        if (!Repeated(r, wt, [&](uint64_t c) { p_.comments.push_back(static_cast<int64_t>(c)); })) {
          return Error(at, "bad comment");
        }
        return OkStatus();
      default:
        if (!r.SkipField(wt)) return Error(at, StrCat("truncated unknown field ", field));
        return OkStatus();
    }
  }

  Status ParseValueType(Reader r, ValueType* vt) {
    while (!r.done()) {
      size_t at = r.offset();
      uint32_t f;
      int wt;
      uint64_t v;
      if (!r.ReadTag(&f, &wt)) return Error(at, "invalid field key in ValueType");
      if (f == 1 || f == 2) {
        if (!Int(r, wt, &v)) return Error(at, "bad ValueType field");
        (f == 1 ? vt->type : vt->unit) = static_cast<int64_t>(v);
      } else if (!r.SkipField(wt)) {
        return Error(at, "truncated field in ValueType");
      }
    }
    return OkStatus();
  }

  Status ParseMapping(Reader r) {
    Mapping m;
    while (!r.done()) {
      size_t at = r.offset();
      uint32_t f;
      int wt;
      uint64_t v;
      if (!r.ReadTag(&f, &wt)) return Error(at, "invalid field key in Mapping");
      if (f >= 1 && f <= 10) {
        if (!Int(r, wt, &v)) return Error(at, "bad Mapping field");
        switch (f) {
          case 1: m.id = v; break;
          case 2: m.memory_start = v; break;
          case 3: m.memory_limit = v; break;
          case 4: m.file_offset = v; break;
          case 5: m.filename = static_cast<int64_t>(v); break;
          case 6: m.build_id = static_cast<int64_t>(v); break;
          case 7: m.has_functions = v != 0; break;
          case 8: m.has_filenames = v != 0; break;
          case 9: m.has_line_numbers = v != 0; break;
          case 10: m.has_inline_frames = v != 0; break;
        }
      } else if (!r.SkipField(wt)) {
        return Error(at, "truncated field in Mapping");
      }
    }
    p_.mappings.push_back(m);
    mapping_ids_.push_back(m.id);
    return OkStatus();
  }

  Status ParseLocation(Reader r) {
    Location loc;
    uint64_t mapping_id = 0;
    loc.line_begin = static_cast<uint32_t>(p_.lines.size());
    while (!r.done()) {
      size_t at = r.offset();
      uint32_t f;
      int wt;
      uint64_t v;
      if (!r.ReadTag(&f, &wt)) return Error(at, "invalid field key in Location");
      if (f == 1 || f == 2 || f == 3 || f == 5) {
        if (!Int(r, wt, &v)) return Error(at, "bad Location field");
        if (f == 1) loc.id = v;
        if (f == 2) mapping_id = v;
        if (f == 3) loc.address = v;
        if (f == 5) loc.is_folded = v != 0;
      } else if (f == 4) {
        std::string_view body;
        if (!Message(r, wt, &body)) return Error(at, "bad Location.line");
        SH_RETURN_IF_ERROR(ParseLine(r.Sub(body)));
      } else if (!r.SkipField(wt)) {
        return Error(at, "truncated field in Location");
      }
    }
    loc.line_count = static_cast<uint32_t>(p_.lines.size() - loc.line_begin);
    if (p_.lines.size() >= UINT32_MAX || p_.locations.size() >= UINT32_MAX - 1) {
      return ResourceExhaustedError("pprof: too many locations or lines");
    }
    location_ids_.push_back(loc.id);
    location_mapping_ids_.push_back(mapping_id);
    p_.locations.push_back(loc);
    return OkStatus();
  }

  Status ParseLine(Reader r) {
    Line line;
    uint64_t function_id = 0;
    while (!r.done()) {
      size_t at = r.offset();
      uint32_t f;
      int wt;
      uint64_t v;
      if (!r.ReadTag(&f, &wt)) return Error(at, "invalid field key in Line");
      if (f >= 1 && f <= 3) {
        if (!Int(r, wt, &v)) return Error(at, "bad Line field");
        if (f == 1) function_id = v;
        if (f == 2) line.line = static_cast<int64_t>(v);
        if (f == 3) line.column = static_cast<int64_t>(v);
      } else if (!r.SkipField(wt)) {
        return Error(at, "truncated field in Line");
      }
    }
    line_function_ids_.push_back(function_id);
    p_.lines.push_back(line);
    return OkStatus();
  }

  Status ParseFunction(Reader r) {
    Function fn;
    while (!r.done()) {
      size_t at = r.offset();
      uint32_t f;
      int wt;
      uint64_t v;
      if (!r.ReadTag(&f, &wt)) return Error(at, "invalid field key in Function");
      if (f >= 1 && f <= 5) {
        if (!Int(r, wt, &v)) return Error(at, "bad Function field");
        if (f == 1) fn.id = v;
        if (f == 2) fn.name = static_cast<int64_t>(v);
        if (f == 3) fn.system_name = static_cast<int64_t>(v);
        if (f == 4) fn.filename = static_cast<int64_t>(v);
        if (f == 5) fn.start_line = static_cast<int64_t>(v);
      } else if (!r.SkipField(wt)) {
        return Error(at, "truncated field in Function");
      }
    }
    function_ids_.push_back(fn.id);
    p_.functions.push_back(fn);
    return OkStatus();
  }

  // Turns raw ids into indexes and checks counts.
  Status Resolve() {
    if (!saw_string_) {
      if (!p_.samples.empty() || !p_.sample_types.empty()) {
        return InvalidArgumentError("pprof: string_table is missing");
      }
    } else if (!p_.strings[0].empty()) {
      return InvalidArgumentError("pprof: string_table[0] must be the empty string");
    }
    uint64_t bad = 0;
    IdMap functions, mappings, locations;
    if (!functions.Build(function_ids_, &bad)) {
      return InvalidArgumentError(StrCat("pprof: function id ", bad, " is zero or repeated"));
    }
    if (!mappings.Build(mapping_ids_, &bad)) {
      return InvalidArgumentError(StrCat("pprof: mapping id ", bad, " is zero or repeated"));
    }
    if (!locations.Build(location_ids_, &bad)) {
      return InvalidArgumentError(StrCat("pprof: location id ", bad, " is zero or repeated"));
    }
    for (size_t i = 0; i < p_.lines.size(); ++i) {
      uint64_t id = line_function_ids_[i];
      if (id == 0) continue;
      uint32_t idx = functions.Find(id);
      if (idx == IdMap::kNone) {
        return InvalidArgumentError(StrCat("pprof: a line refers to missing function id ", id));
      }
      p_.lines[i].function = idx + 1;
    }
    for (size_t i = 0; i < p_.locations.size(); ++i) {
      uint64_t id = location_mapping_ids_[i];
      if (id == 0) continue;
      uint32_t idx = mappings.Find(id);
      if (idx == IdMap::kNone) {
        return InvalidArgumentError(StrCat("pprof: location ", p_.locations[i].id,
                                           " refers to missing mapping id ", id));
      }
      p_.locations[i].mapping = idx + 1;
    }
    // Sample location ids were stored as id - 1 truncated to 32 bits; ids
    // above 32 bits were remembered separately.
    if (locations.dense() && big_location_ids_.empty()) {
      const uint32_t n = static_cast<uint32_t>(p_.locations.size());
      if (!p_.stack.empty() && max_location_ >= n) {
        for (uint32_t idx : p_.stack) {
          if (idx >= n) {
            return InvalidArgumentError(StrCat("pprof: a sample refers to missing location id ",
                                               static_cast<uint32_t>(idx + 1)));
          }
        }
      }
    } else {
      size_t big = 0;
      for (size_t i = 0; i < p_.stack.size(); ++i) {
        uint64_t id = static_cast<uint32_t>(p_.stack[i] + 1);
        if (big < big_location_ids_.size() && big_location_ids_[big].first == i) {
          id = big_location_ids_[big++].second;
        }
        uint32_t idx = locations.Find(id);
        if (idx == IdMap::kNone) {
          return InvalidArgumentError(
              StrCat("pprof: a sample refers to missing location id ", id));
        }
        p_.stack[i] = idx;
      }
    }
    const int64_t nstr = static_cast<int64_t>(p_.strings.size());
    for (const Label& l : p_.labels) {
      if (l.key < 0 || l.key >= nstr || l.str < 0 || l.str >= nstr || l.num_unit < 0 ||
          l.num_unit >= nstr) {
        return InvalidArgumentError("pprof: a sample label has a string index out of range");
      }
    }
    return OkStatus();
  }

  std::string_view data_;
  Profile p_;
  bool saw_string_ = false;
  std::vector<uint64_t> function_ids_, mapping_ids_, location_ids_;
  std::vector<uint64_t> line_function_ids_, location_mapping_ids_;
  std::vector<std::pair<size_t, uint64_t>> big_location_ids_;
  uint32_t max_location_ = 0;
  int threads_;
  size_t min_part_bytes_, checkpoint_bytes_;
  std::vector<Checkpoint> checkpoints_;
  size_t sample_count_ = 0, sample_bytes_ = 0, next_checkpoint_ = 0;
};

}  // namespace

StatusOr<Profile> DecodePprof(std::string_view data, const PprofDecodeOptions& options) {
  if (IsGzip(data)) {
    SH_ASSIGN_OR_RETURN(std::string raw, Gunzip(data, options.max_decompressed_bytes));
    return Decoder(raw, options).Run();
  }
  if (data.size() > options.max_decompressed_bytes) {
    return ResourceExhaustedError(StrCat("pprof: input of ", data.size(),
                                         " bytes exceeds the limit of ",
                                         options.max_decompressed_bytes));
  }
  return Decoder(data, options).Run();
}

}  // namespace stackhouse::profile
