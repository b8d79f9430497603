#include "profile/profile.h"

#include <cstdio>

#include "base/strings.h"

namespace stackhouse::profile {

void Profile::AddSample(std::span<const uint32_t> stack_locations,
                        std::span<const int64_t> sample_values,
                        std::span<const Label> sample_labels) {
  Sample s;
  s.stack_begin = static_cast<uint32_t>(stack.size());
  s.stack_size = static_cast<uint32_t>(stack_locations.size());
  s.label_begin = static_cast<uint32_t>(labels.size());
  s.label_count = static_cast<uint32_t>(sample_labels.size());
  stack.insert(stack.end(), stack_locations.begin(), stack_locations.end());
  labels.insert(labels.end(), sample_labels.begin(), sample_labels.end());
  values.insert(values.end(), sample_values.begin(), sample_values.end());
  samples.push_back(s);
}

int Profile::FindSampleType(std::string_view name) const {
  for (size_t i = 0; i < sample_types.size(); ++i) {
    if (str(sample_types[i].type) == name) return static_cast<int>(i);
  }
  return -1;
}

int Profile::DefaultSampleTypeIndex() const {
  if (sample_types.empty()) return -1;
  if (default_sample_type != 0) {
    int i = FindSampleType(str(default_sample_type));
    if (i >= 0) return i;
  }
  return static_cast<int>(sample_types.size()) - 1;
}

int64_t Profile::Total(size_t type_index) const {
  int64_t total = 0;
  size_t n = num_types();
  for (size_t i = type_index; i < values.size(); i += n) total += values[i];
  return total;
}

static std::string_view Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string Profile::FrameName(const Location& loc) const {
  if (loc.line_count > 0) {
    const Function* fn = function(lines[loc.line_begin].function);
    if (fn != nullptr && fn->name != 0) return std::string(str(fn->name));
    if (fn != nullptr && fn->system_name != 0) return std::string(str(fn->system_name));
  }
  char addr[32];
  std::snprintf(addr, sizeof addr, "0x%llx", static_cast<unsigned long long>(loc.address));
  const Mapping* m = mapping(loc.mapping);
  if (m != nullptr && m->filename != 0) {
    return StrCat(Basename(str(m->filename)), "+", addr);
  }
  return addr;
}

Status Profile::Validate() const {
  SH_RETURN_IF_ERROR(ValidateSymbols());
  auto bad = [](auto&&... parts) { return InvalidArgumentError(StrCat(parts...)); };
  const int64_t nstr = static_cast<int64_t>(strings.size());
  auto str_ok = [nstr](int64_t i) { return i >= 0 && i < nstr; };
  if (values.size() != samples.size() * num_types()) {
    return bad("values hold ", values.size(), " entries for ", samples.size(), " samples of ",
               num_types(), " types");
  }
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    if (uint64_t{s.stack_begin} + s.stack_size > stack.size()) {
      return bad("sample ", i, ": stack out of range");
    }
    if (uint64_t{s.label_begin} + s.label_count > labels.size()) {
      return bad("sample ", i, ": labels out of range");
    }
  }
  for (uint32_t loc : stack) {
    if (loc >= locations.size()) return bad("stack refers to location index ", loc, " out of range");
  }
  for (const Label& l : labels) {
    if (!str_ok(l.key) || !str_ok(l.str) || !str_ok(l.num_unit)) {
      return bad("label has a string index out of range");
    }
  }
  return OkStatus();
}

Status Profile::ValidateSymbols() const {
  auto bad = [](auto&&... parts) { return InvalidArgumentError(StrCat(parts...)); };
  if (strings.empty() || !strings[0].empty()) return bad("string_table[0] must be empty");
  const int64_t nstr = static_cast<int64_t>(strings.size());
  auto str_ok = [nstr](int64_t i) { return i >= 0 && i < nstr; };
  for (size_t i = 0; i < sample_types.size(); ++i) {
    if (!str_ok(sample_types[i].type) || !str_ok(sample_types[i].unit)) {
      return bad("sample_type[", i, "] has a string index out of range");
    }
  }
  if (!str_ok(period_type.type) || !str_ok(period_type.unit)) {
    return bad("period_type has a string index out of range");
  }
  for (int64_t s : {drop_frames, keep_frames, default_sample_type, doc_url}) {
    if (!str_ok(s)) return bad("profile string index ", s, " out of range");
  }
  for (int64_t c : comments) {
    if (!str_ok(c)) return bad("comment string index ", c, " out of range");
  }
  for (size_t i = 0; i < mappings.size(); ++i) {
    if (!str_ok(mappings[i].filename) || !str_ok(mappings[i].build_id)) {
      return bad("mapping ", mappings[i].id, " has a string index out of range");
    }
  }
  for (size_t i = 0; i < functions.size(); ++i) {
    const Function& f = functions[i];
    if (!str_ok(f.name) || !str_ok(f.system_name) || !str_ok(f.filename)) {
      return bad("function ", f.id, " has a string index out of range");
    }
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].function > functions.size()) return bad("line ", i, ": function out of range");
  }
  for (size_t i = 0; i < locations.size(); ++i) {
    const Location& l = locations[i];
    if (l.mapping > mappings.size()) return bad("location ", l.id, ": mapping out of range");
    if (uint64_t{l.line_begin} + l.line_count > lines.size()) {
      return bad("location ", l.id, ": lines out of range");
    }
  }
  return OkStatus();
}

}  // namespace stackhouse::profile
