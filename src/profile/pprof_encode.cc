// pprof encoder. Samples dominate the output, so they are written with raw
// pointer stores into a buffer grown ahead of time; everything else uses the
// simpler protowire::Writer. Fields are written in field-number order and
// repeated scalars packed, as Go's encoder does.

#include <unordered_set>

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

void WriteSamples(const Profile& prof, const std::vector<uint64_t>& loc_ids, std::string* out) {
  size_t ntypes = prof.num_types();
  for (size_t i = 0; i < prof.samples.size(); ++i) {
    auto stack = prof.sample_stack(i);
    auto values = prof.sample_values(i);
    auto labels = prof.sample_labels(i);
    size_t stack_bytes = 0;
    for (uint32_t loc : stack) stack_bytes += VarintSize(loc_ids[loc]);
    size_t value_bytes = 0;
    for (int64_t v : values) value_bytes += VarintSize(static_cast<uint64_t>(v));
    size_t body = 0;
    if (!stack.empty()) body += 1 + VarintSize(stack_bytes) + stack_bytes;
    if (ntypes > 0) body += 1 + VarintSize(value_bytes) + value_bytes;
    for (const Label& l : labels) {
      size_t ls = LabelSize(l);
      body += 1 + VarintSize(ls) + ls;
    }
    size_t total = 1 + VarintSize(body) + body;
    size_t old = out->size();
    out->resize(old + total);
    char* p = out->data() + old;
    p = PutVarint(p, (uint64_t{2} << 3) | protowire::kLengthDelimited);
    p = PutVarint(p, body);
    if (!stack.empty()) {
      *p++ = (1 << 3) | protowire::kLengthDelimited;
      p = PutVarint(p, stack_bytes);
      for (uint32_t loc : stack) p = PutVarint(p, loc_ids[loc]);
    }
    if (ntypes > 0) {
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

}  // namespace

std::string EncodePprof(const Profile& prof) {
  std::vector<uint64_t> mapping_ids = EncodingIds(prof.mappings);
  std::vector<uint64_t> location_ids = EncodingIds(prof.locations);
  std::vector<uint64_t> function_ids = EncodingIds(prof.functions);

  std::string out;
  // Typical sizes: ~1.2 bytes per stack entry plus per-sample overhead.
  out.reserve(prof.stack.size() * 2 + prof.samples.size() * 8 + prof.locations.size() * 16 +
              prof.functions.size() * 16 + 1024);
  AdviseHugePages(out.data(), out.capacity());
  Writer w(&out);
  for (const ValueType& vt : prof.sample_types) WriteValueType(w, 1, vt);
  WriteSamples(prof, location_ids, &out);
  for (size_t i = 0; i < prof.mappings.size(); ++i) WriteMapping(w, prof.mappings[i], mapping_ids[i]);
  std::string scratch;
  for (size_t i = 0; i < prof.locations.size(); ++i) {
    WriteLocation(w, prof, prof.locations[i], location_ids[i], mapping_ids, function_ids, &scratch);
  }
  for (size_t i = 0; i < prof.functions.size(); ++i) {
    WriteFunction(w, prof.functions[i], function_ids[i], &scratch);
  }
  for (const std::string& s : prof.strings) w.BytesField(6, s);
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
  return out;
}

std::string EncodePprofGzip(const Profile& profile, int level) {
  return Gzip(EncodePprof(profile), level);
}

}  // namespace stackhouse::profile
