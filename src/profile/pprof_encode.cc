// pprof encoder. Samples dominate the output, so they are written with raw
// pointer stores (location ids pre-encoded) into a buffer grown ahead of time; everything else uses the
// simpler protowire::Writer. Fields are written in field-number order and
// repeated scalars packed, as Go's encoder does.

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "base/gzip.h"
#include "base/memory.h"
#include "base/protowire.h"
#include "profile/pprof.h"

namespace stackhouse::profile {
namespace {

using protowire::PutVarint;
using protowire::VarintSize;
using protowire::Writer;

// Ids to write: the stored ones when they are usable (nonzero and unique),
// else index + 1.
template <typename T>
std::vector<uint64_t> EncodingIds(const std::vector<T>& items) {
  std::vector<uint64_t> ids(items.size());
  bool dense = true;
  for (size_t i = 0; i < items.size(); ++i) {
    ids[i] = items[i].id;
    if (ids[i] != i + 1) dense = false;
  }
  if (dense) return ids;
  std::unordered_set<uint64_t> seen;
  seen.reserve(items.size());
  for (uint64_t id : ids) {
    if (id == 0 || !seen.insert(id).second) {
      for (size_t i = 0; i < ids.size(); ++i) ids[i] = i + 1;
      return ids;
    }
  }
  return ids;
}

size_t ValueTypeSize(const ValueType& vt) {
  size_t n = 0;
  if (vt.type) n += 1 + VarintSize(static_cast<uint64_t>(vt.type));
  if (vt.unit) n += 1 + VarintSize(static_cast<uint64_t>(vt.unit));
  return n;
}

void WriteValueType(Writer& w, uint32_t field, const ValueType& vt) {
  w.LengthPrefix(field, ValueTypeSize(vt));
  w.VarintFieldIfNonZero(1, static_cast<uint64_t>(vt.type));
  w.VarintFieldIfNonZero(2, static_cast<uint64_t>(vt.unit));
}

size_t LabelSize(const Label& l) {
  size_t n = 0;
  if (l.key) n += 1 + VarintSize(static_cast<uint64_t>(l.key));
  if (l.str) n += 1 + VarintSize(static_cast<uint64_t>(l.str));
  if (l.num) n += 1 + VarintSize(static_cast<uint64_t>(l.num));
  if (l.num_unit) n += 1 + VarintSize(static_cast<uint64_t>(l.num_unit));
  return n;
}

char* PutField(char* p, uint32_t field, uint64_t v) {
  p = PutVarint(p, (uint64_t{field} << 3) | protowire::kVarint);
  return PutVarint(p, v);
}

// Location ids pre-encoded: each entry holds the id's varint bytes in its
// low 7 bytes and their count in the top byte, so that a stack is written
// with one 8-byte store per frame (the buffer has 8 bytes of slack).
class LocationVarints {
 public:
  explicit LocationVarints(const std::vector<uint64_t>& ids) : table_(ids.size()) {
    for (size_t i = 0; i < ids.size(); ++i) {
      size_t n = VarintSize(ids[i]);
      if (n > 7) {
        table_.clear();  // ids of 2^49 and more: written one by one
        slow_ = &ids;
        return;
      }
      uint64_t bytes = 0;
      char buf[10];
      PutVarint(buf, ids[i]);
      std::memcpy(&bytes, buf, n);
      table_[i] = bytes | (uint64_t{n} << 56);
      max_size_ = std::max(max_size_, n);
    }
  }
  size_t Size(uint32_t loc) const {
    return slow_ ? VarintSize((*slow_)[loc]) : static_cast<size_t>(table_[loc] >> 56);
  }
  char* Put(char* p, uint32_t loc) const {
    if (slow_) [[unlikely]] return PutVarint(p, (*slow_)[loc]);
    uint64_t e = table_[loc];
    std::memcpy(p, &e, 8);
    return p + (e >> 56);
  }
  size_t max_size() const { return slow_ ? 10 : max_size_; }

 private:
  std::vector<uint64_t> table_;
  const std::vector<uint64_t>* slow_ = nullptr;
  size_t max_size_ = 1;
};

// Bytes needed to write samples [begin, end) with WriteSamples: an upper
// bound, and 8 bytes of slack for its wide stores.
size_t SamplesBound(const Profile& prof, const LocationVarints& locs, size_t begin, size_t end) {
  if (end <= begin) return 8;
  size_t stack = prof.samples[end - 1].stack_begin + prof.samples[end - 1].stack_size -
                 prof.samples[begin].stack_begin;
  size_t labels = 0;
  for (size_t i = begin; i < end; ++i) labels += prof.samples[i].label_count;
  // Per sample: tag and length of the sample, its stack and its values (up
  // to 11 bytes each); per label: tag, length and four fields.
  return stack * locs.max_size() + (end - begin) * (33 + 10 * prof.num_types()) + labels * 56 + 8;
}

// Writes samples [begin, end) at p, which has SamplesBound bytes of room, and
// returns the end of what was written.
char* WriteSamples(const Profile& prof, const LocationVarints& locs, size_t begin, size_t end,
                   char* p) {
  for (size_t i = begin; i < end; ++i) {
    auto stack = prof.sample_stack(i);
    auto values = prof.sample_values(i);
    auto labels = prof.sample_labels(i);
    size_t stack_bytes = 0;
    for (uint32_t loc : stack) stack_bytes += locs.Size(loc);
    size_t value_bytes = 0;
    for (int64_t v : values) value_bytes += VarintSize(static_cast<uint64_t>(v));
    size_t body = 0;
    if (!stack.empty()) body += 1 + VarintSize(stack_bytes) + stack_bytes;
    if (!values.empty()) body += 1 + VarintSize(value_bytes) + value_bytes;
    for (const Label& l : labels) {
      size_t ls = LabelSize(l);
      body += 1 + VarintSize(ls) + ls;
    }
    *p++ = (2 << 3) | protowire::kLengthDelimited;
    p = PutVarint(p, body);
    if (!stack.empty()) {
      *p++ = (1 << 3) | protowire::kLengthDelimited;
      p = PutVarint(p, stack_bytes);
      for (uint32_t loc : stack) p = locs.Put(p, loc);
    }
    if (!values.empty()) {
      *p++ = (2 << 3) | protowire::kLengthDelimited;
      p = PutVarint(p, value_bytes);
      for (int64_t v : values) p = PutVarint(p, static_cast<uint64_t>(v));
    }
    for (const Label& l : labels) {
      *p++ = (3 << 3) | protowire::kLengthDelimited;
      p = PutVarint(p, LabelSize(l));
      if (l.key) p = PutField(p, 1, static_cast<uint64_t>(l.key));
      if (l.str) p = PutField(p, 2, static_cast<uint64_t>(l.str));
      if (l.num) p = PutField(p, 3, static_cast<uint64_t>(l.num));
      if (l.num_unit) p = PutField(p, 4, static_cast<uint64_t>(l.num_unit));
    }
  }
  return p;
}

void WriteMapping(Writer& w, const Mapping& m, uint64_t id) {
  std::string body;
  Writer b(&body);
  b.VarintFieldIfNonZero(1, id);
  b.VarintFieldIfNonZero(2, m.memory_start);
  b.VarintFieldIfNonZero(3, m.memory_limit);
  b.VarintFieldIfNonZero(4, m.file_offset);
  b.VarintFieldIfNonZero(5, static_cast<uint64_t>(m.filename));
  b.VarintFieldIfNonZero(6, static_cast<uint64_t>(m.build_id));
  b.VarintFieldIfNonZero(7, m.has_functions);
  b.VarintFieldIfNonZero(8, m.has_filenames);
  b.VarintFieldIfNonZero(9, m.has_line_numbers);
  b.VarintFieldIfNonZero(10, m.has_inline_frames);
  w.BytesField(3, body);
}

void WriteLocation(Writer& w, const Profile& prof, const Location& loc, uint64_t id,
                   const std::vector<uint64_t>& mapping_ids,
                   const std::vector<uint64_t>& function_ids, std::string* scratch) {
  scratch->clear();
  Writer b(scratch);
  b.VarintFieldIfNonZero(1, id);
  if (loc.mapping) b.VarintField(2, mapping_ids[loc.mapping - 1]);
  b.VarintFieldIfNonZero(3, loc.address);
  for (const Line& line : prof.location_lines(loc)) {
    uint64_t fid = line.function ? function_ids[line.function - 1] : 0;
    size_t n = 0;
    if (fid) n += 1 + VarintSize(fid);
    if (line.line) n += 1 + VarintSize(static_cast<uint64_t>(line.line));
    if (line.column) n += 1 + VarintSize(static_cast<uint64_t>(line.column));
    b.LengthPrefix(4, n);
    b.VarintFieldIfNonZero(1, fid);
    b.VarintFieldIfNonZero(2, static_cast<uint64_t>(line.line));
    b.VarintFieldIfNonZero(3, static_cast<uint64_t>(line.column));
  }
  b.VarintFieldIfNonZero(5, loc.is_folded);
  w.BytesField(4, *scratch);
}

void WriteFunction(Writer& w, const Function& f, uint64_t id, std::string* scratch) {
  scratch->clear();
  Writer b(scratch);
  b.VarintFieldIfNonZero(1, id);
  b.VarintFieldIfNonZero(2, static_cast<uint64_t>(f.name));
  b.VarintFieldIfNonZero(3, static_cast<uint64_t>(f.system_name));
  b.VarintFieldIfNonZero(4, static_cast<uint64_t>(f.filename));
  b.VarintFieldIfNonZero(5, static_cast<uint64_t>(f.start_line));
  w.BytesField(5, *scratch);
}


// Encodes a profile in pieces: the fields before the samples, ranges of
// samples, and the fields after them. Concatenated they form the message.
class Encoder {
 public:
  explicit Encoder(const Profile& prof)
      : prof_(prof),
        mapping_ids_(EncodingIds(prof.mappings)),
        location_ids_(EncodingIds(prof.locations)),
        function_ids_(EncodingIds(prof.functions)),
        locs_(location_ids_) {}

  // Typical sizes: ~1.2 bytes per stack entry plus per-sample overhead.
  size_t EstimateSamplesBytes(size_t begin, size_t end) const {
    size_t stack = 0;
    if (end > begin) {
      size_t last = end - 1;
      stack = prof_.samples[last].stack_begin + prof_.samples[last].stack_size -
              prof_.samples[begin].stack_begin;
    }
    return stack * 2 + (end - begin) * 8;
  }

  void Head(std::string* out) const {
    Writer w(out);
    for (const ValueType& vt : prof_.sample_types) WriteValueType(w, 1, vt);
  }

  // Appends samples [begin, end), a few thousand at a time: each batch's
  // room is sized (and zero-filled, in cache) just before it is written.
  void Samples(size_t begin, size_t end, std::string* out) const {
    constexpr size_t kBatch = 4096;
    for (size_t b = begin; b < end; b += kBatch) {
      size_t e = std::min(end, b + kBatch);
      size_t old = out->size();
      out->resize(old + SamplesBound(prof_, locs_, b, e));
      char* p = WriteSamples(prof_, locs_, b, e, out->data() + old);
      out->resize(static_cast<size_t>(p - out->data()));
    }
  }

  void Tail(std::string* out) const {
    const Profile& prof = prof_;
    Writer w(out);
    for (size_t i = 0; i < prof.mappings.size(); ++i) {
      WriteMapping(w, prof.mappings[i], mapping_ids_[i]);
    }
    std::string scratch;
    for (size_t i = 0; i < prof.locations.size(); ++i) {
      WriteLocation(w, prof, prof.locations[i], location_ids_[i], mapping_ids_, function_ids_,
                    &scratch);
    }
    for (size_t i = 0; i < prof.functions.size(); ++i) {
      WriteFunction(w, prof.functions[i], function_ids_[i], &scratch);
    }
    for (std::string_view s : prof.strings) w.BytesField(6, s);
    w.VarintFieldIfNonZero(7, static_cast<uint64_t>(prof.drop_frames));
    w.VarintFieldIfNonZero(8, static_cast<uint64_t>(prof.keep_frames));
    w.VarintFieldIfNonZero(9, static_cast<uint64_t>(prof.time_nanos));
    w.VarintFieldIfNonZero(10, static_cast<uint64_t>(prof.duration_nanos));
    if (prof.period_type.type || prof.period_type.unit) WriteValueType(w, 11, prof.period_type);
    w.VarintFieldIfNonZero(12, static_cast<uint64_t>(prof.period));
    if (!prof.comments.empty()) {
      size_t n = 0;
      for (int64_t c : prof.comments) n += VarintSize(static_cast<uint64_t>(c));
      w.LengthPrefix(13, n);
      for (int64_t c : prof.comments) w.Varint(static_cast<uint64_t>(c));
    }
    w.VarintFieldIfNonZero(14, static_cast<uint64_t>(prof.default_sample_type));
    w.VarintFieldIfNonZero(15, static_cast<uint64_t>(prof.doc_url));
  }

  size_t EstimateTailBytes() const {
    size_t n = prof_.locations.size() * 16 + prof_.functions.size() * 16 + 1024;
    for (std::string_view s : prof_.strings) n += s.size() + 3;
    return n;
  }

 private:
  const Profile& prof_;
  std::vector<uint64_t> mapping_ids_, location_ids_, function_ids_;
  LocationVarints locs_;
};

}  // namespace

std::string EncodePprof(const Profile& prof) {
  Encoder e(prof);
  std::string out;
  out.reserve(e.EstimateSamplesBytes(0, prof.samples.size()) + e.EstimateTailBytes());
  AdviseHugePages(out.data(), out.capacity());
  e.Head(&out);
  e.Samples(0, prof.samples.size(), &out);
  e.Tail(&out);
  return out;
}

std::string EncodePprofGzip(const Profile& prof, int level, int threads) {
  std::string out;
  // The sink never fails.
  (void)EncodePprofGzipTo(prof, level, threads, [&out](std::string_view member) {
    out += member;
    return OkStatus();
  });
  return out;
}

Status EncodePprofGzipTo(const Profile& prof, int level, int threads,
                         const std::function<Status(std::string_view)>& sink) {
  // Small profiles, or one thread: encode, then compress.
  constexpr size_t kChunkStackEntries = size_t{4} << 20;  // ~5 MB of encoded samples
  if (threads <= 1 || prof.stack.size() < 2 * kChunkStackEntries) {
    return sink(Gzip(EncodePprof(prof), level));
  }
  // Big profiles: encode in chunks of samples and compress each chunk as its
  // own gzip member on another thread while the next chunk is encoded. The
  // members concatenate to one gzip stream of the whole message; each goes
  // to the sink, in order, as soon as it and those before it are done.
  Encoder e(prof);
  std::vector<size_t> bounds = {0};
  size_t entries = 0;
  for (size_t i = 0; i < prof.samples.size(); ++i) {
    entries += prof.samples[i].stack_size;
    if (entries >= kChunkStackEntries) {
      bounds.push_back(i + 1);
      entries = 0;
    }
  }
  if (bounds.back() != prof.samples.size()) bounds.push_back(prof.samples.size());
  size_t chunks = bounds.size() - 1;
  std::vector<std::string> compressed(chunks);
  std::deque<std::pair<std::thread, size_t>> in_flight;
  Status status;
  auto finish_oldest = [&] {
    auto [thread, k] = std::move(in_flight.front());
    in_flight.pop_front();
    thread.join();
    if (status.ok()) status = sink(compressed[k]);
    std::string().swap(compressed[k]);
  };
  for (size_t k = 0; k < chunks; ++k) {
    std::string chunk;
    chunk.reserve(e.EstimateSamplesBytes(bounds[k], bounds[k + 1]) + 64 +
                  (k + 1 == chunks ? e.EstimateTailBytes() : 0));
    if (k == 0) e.Head(&chunk);
    e.Samples(bounds[k], bounds[k + 1], &chunk);
    if (k + 1 == chunks) e.Tail(&chunk);
    in_flight.emplace_back(std::thread([&compressed, k, level, c = std::move(chunk)] {
                             compressed[k] = Gzip(c, level);
                           }),
                           k);
    // Keep at most `threads` compressions in flight.
    if (in_flight.size() >= static_cast<size_t>(threads)) finish_oldest();
  }
  while (!in_flight.empty()) finish_oldest();
  return status;
}

}  // namespace stackhouse::profile
