#include "profile/builder.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace stackhouse::profile {

ProfileBuilder::ProfileBuilder() {
  // strings[0] == "" is pre-seeded by Profile; register it.
  strings_.FindOrInsert(HashString(""), 0, [](uint32_t) { return true; });
}

int64_t ProfileBuilder::String(std::string_view s) {
  if (s.empty()) return 0;
  uint32_t next = static_cast<uint32_t>(p_.strings.size());
  uint32_t id = strings_.FindOrInsert(HashString(s), next,
                                      [&](uint32_t i) { return p_.strings[i] == s; });
  if (id == next) p_.strings.emplace_back(s);
  return id;
}

uint32_t ProfileBuilder::Function(int64_t name, int64_t system_name, int64_t filename,
                                  int64_t start_line) {
  uint64_t h = HashMix(HashMix(HashMix(static_cast<uint64_t>(name), system_name), filename),
                       start_line);
  uint32_t next = static_cast<uint32_t>(p_.functions.size());
  uint32_t idx = functions_.FindOrInsert(h, next, [&](uint32_t i) {
    const profile::Function& f = p_.functions[i];
    return f.name == name && f.system_name == system_name && f.filename == filename &&
           f.start_line == start_line;
  });
  if (idx == next) {
    profile::Function f;
    f.id = next + 1;
    f.name = name;
    f.system_name = system_name;
    f.filename = filename;
    f.start_line = start_line;
    p_.functions.push_back(f);
  }
  return idx + 1;
}

static bool SameMappingContent(const Mapping& a, const Mapping& b) {
  return a.memory_start == b.memory_start && a.memory_limit == b.memory_limit &&
         a.file_offset == b.file_offset && a.filename == b.filename && a.build_id == b.build_id &&
         a.has_functions == b.has_functions && a.has_filenames == b.has_filenames &&
         a.has_line_numbers == b.has_line_numbers && a.has_inline_frames == b.has_inline_frames;
}

uint32_t ProfileBuilder::Mapping(const profile::Mapping& m) {
  uint64_t h = HashMix(HashMix(HashMix(HashMix(m.memory_start, m.memory_limit), m.file_offset),
                               static_cast<uint64_t>(m.filename)),
                       static_cast<uint64_t>(m.build_id));
  h = HashMix(h, (m.has_functions ? 1 : 0) | (m.has_filenames ? 2 : 0) |
                     (m.has_line_numbers ? 4 : 0) | (m.has_inline_frames ? 8 : 0));
  uint32_t next = static_cast<uint32_t>(p_.mappings.size());
  uint32_t idx = mappings_.FindOrInsert(
      h, next, [&](uint32_t i) { return SameMappingContent(p_.mappings[i], m); });
  if (idx == next) {
    p_.mappings.push_back(m);
    if (p_.mappings.back().id == 0) p_.mappings.back().id = next + 1;
  }
  return idx + 1;
}

uint32_t ProfileBuilder::Location(uint32_t mapping, uint64_t address, std::span<const Line> lines,
                                  bool is_folded) {
  uint64_t h = HashMix(HashMix(mapping, address), is_folded ? 1 : 0);
  for (const Line& l : lines) {
    h = HashMix(HashMix(HashMix(h, l.function), static_cast<uint64_t>(l.line)),
                static_cast<uint64_t>(l.column));
  }
  uint32_t next = static_cast<uint32_t>(p_.locations.size());
  uint32_t idx = locations_.FindOrInsert(h, next, [&](uint32_t i) {
    const profile::Location& loc = p_.locations[i];
    return loc.mapping == mapping && loc.address == address && loc.is_folded == is_folded &&
           loc.line_count == lines.size() &&
           std::equal(lines.begin(), lines.end(), p_.lines.begin() + loc.line_begin);
  });
  if (idx == next) {
    profile::Location loc;
    loc.id = next + 1;
    loc.mapping = mapping;
    loc.address = address;
    loc.is_folded = is_folded;
    loc.line_begin = static_cast<uint32_t>(p_.lines.size());
    loc.line_count = static_cast<uint32_t>(lines.size());
    p_.lines.insert(p_.lines.end(), lines.begin(), lines.end());
    p_.locations.push_back(loc);
  }
  return idx;
}

uint32_t ProfileBuilder::FrameLocationForString(int64_t name) {
  size_t key = static_cast<size_t>(name);
  if (key >= frame_location_by_string_.size()) {
    frame_location_by_string_.resize(std::max(key + 1, frame_location_by_string_.size() * 2),
                                      HashIndex::kEmpty);
  }
  uint32_t& cached = frame_location_by_string_[key];
  if (cached == HashIndex::kEmpty) {
    Line line;
    line.function = Function(name, 0, 0, 0);
    cached = Location(0, 0, std::span<const Line>(&line, 1));
  }
  return cached;
}

uint32_t ProfileBuilder::FrameLocation(std::string_view name) {
  return FrameLocationForString(String(name));
}

void ProfileBuilder::AddSample(std::span<const uint32_t> stack, std::span<const int64_t> values,
                               std::span<const Label> labels) {
  uint64_t h = HashBytes(stack.data(), stack.size_bytes(), labels.size());
  for (const Label& l : labels) {
    h = HashMix(HashMix(HashMix(HashMix(h, l.key), l.str), l.num), l.num_unit);
  }
  uint32_t next = static_cast<uint32_t>(p_.samples.size());
  uint32_t idx = samples_.FindOrInsert(h, next, [&](uint32_t i) {
    const Sample& s = p_.samples[i];
    return s.stack_size == stack.size() && s.label_count == labels.size() &&
           std::equal(stack.begin(), stack.end(), p_.stack.begin() + s.stack_begin) &&
           std::equal(labels.begin(), labels.end(), p_.labels.begin() + s.label_begin);
  });
  if (idx == next) {
    p_.AddSample(stack, values, labels);
  } else {
    std::span<int64_t> dst = p_.mutable_sample_values(idx);
    // Saturating: parsers reject totals that overflow with a clear error;
    // merges of extreme inputs must not overflow either.
    for (size_t i = 0; i < dst.size(); ++i) dst[i] = SaturatingAdd(dst[i], values[i]);
  }
}

Profile ProfileBuilder::Finish() {
  Profile out = std::move(p_);
  p_ = Profile();
  strings_.Clear();
  functions_.Clear();
  mappings_.Clear();
  locations_.Clear();
  samples_.Clear();
  frame_location_by_string_.clear();
  strings_.FindOrInsert(HashString(""), 0, [](uint32_t) { return true; });
  return out;
}

}  // namespace stackhouse::profile
