#include "profile/ops.h"

#include <unordered_map>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

#include "base/strings.h"
#include "profile/builder.h"

namespace stackhouse::profile {
namespace {

constexpr uint32_t kUnmapped = UINT32_MAX;

// Copies symbols of one source profile into a builder on demand, keeping
// the source-to-builder index maps.
class Importer {
 public:
  Importer(ProfileBuilder* b, const Profile& src)
      : b_(b),
        src_(src),
        strings_(src.strings.size(), kUnmapped),
        functions_(src.functions.size() + 1, kUnmapped),
        mappings_(src.mappings.size() + 1, kUnmapped),
        locations_(src.locations.size(), kUnmapped) {}

  int64_t String(int64_t i) {
    if (i <= 0 || static_cast<size_t>(i) >= strings_.size()) return 0;
    if (strings_[i] == kUnmapped) strings_[i] = static_cast<uint32_t>(b_->String(src_.strings[i]));
    return strings_[i];
  }
  uint32_t Function(uint32_t one_based) {
    if (one_based == 0) return 0;
    uint32_t& m = functions_[one_based];
    if (m == kUnmapped) {
      const profile::Function& f = src_.functions[one_based - 1];
      m = b_->Function(String(f.name), String(f.system_name), String(f.filename), f.start_line);
    }
    return m;
  }
  uint32_t Mapping(uint32_t one_based) {
    if (one_based == 0) return 0;
    uint32_t& m = mappings_[one_based];
    if (m == kUnmapped) {
      profile::Mapping copy = src_.mappings[one_based - 1];
      copy.id = 0;
      copy.filename = String(copy.filename);
      copy.build_id = String(copy.build_id);
      m = b_->Mapping(copy);
    }
    return m;
  }
  uint32_t Location(uint32_t index) {
    uint32_t& m = locations_[index];
    if (m == kUnmapped) {
      const profile::Location& loc = src_.locations[index];
      lines_.clear();
      for (const Line& l : src_.location_lines(loc)) {
        lines_.push_back({Function(l.function), l.line, l.column});
      }
      m = b_->Location(Mapping(loc.mapping), loc.address, lines_, loc.is_folded);
    }
    return m;
  }
  profile::Label Label(const profile::Label& l) {
    return {String(l.key), String(l.str), l.num, String(l.num_unit)};
  }
  ValueType Type(const ValueType& vt) { return {String(vt.type), String(vt.unit)}; }

  // Copies sample i with the given values.
  void AddSample(size_t i, std::span<const int64_t> values, bool merge) {
    stack_.clear();
    for (uint32_t loc : src_.sample_stack(i)) stack_.push_back(Location(loc));
    labels_.clear();
    for (const profile::Label& l : src_.sample_labels(i)) labels_.push_back(Label(l));
    if (merge) {
      b_->AddSample(stack_, values, labels_);
    } else {
      b_->AppendSample(stack_, values, labels_);
    }
  }

  // Copies the metadata (sample types, period, times, frames, comments...).
  void CopyMetadata() {
    Profile& p = b_->profile();
    p.sample_types.clear();
    for (const ValueType& vt : src_.sample_types) p.sample_types.push_back(Type(vt));
    p.period_type = Type(src_.period_type);
    p.period = src_.period;
    p.time_nanos = src_.time_nanos;
    p.duration_nanos = src_.duration_nanos;
    p.drop_frames = String(src_.drop_frames);
    p.keep_frames = String(src_.keep_frames);
    p.comments.clear();
    for (int64_t c : src_.comments) p.comments.push_back(String(c));
    p.default_sample_type = String(src_.default_sample_type);
    p.doc_url = String(src_.doc_url);
  }

 private:
  ProfileBuilder* b_;
  const Profile& src_;
  std::vector<uint32_t> strings_, functions_, mappings_, locations_;
  std::vector<Line> lines_;
  std::vector<uint32_t> stack_;
  std::vector<profile::Label> labels_;
};

bool AllZero(std::span<const int64_t> values) {
  return std::all_of(values.begin(), values.end(), [](int64_t v) { return v == 0; });
}

}  // namespace

Profile Compact(const Profile& p, const CompactOptions& options) {
  ProfileBuilder b;
  Importer imp(&b, p);
  imp.CopyMetadata();
  for (size_t i = 0; i < p.samples.size(); ++i) {
    auto values = p.sample_values(i);
    if (options.drop_zero_samples && AllZero(values)) continue;
    imp.AddSample(i, values, options.merge_samples);
  }
  return b.Finish();
}

Status CheckCompatible(const Profile& a, const Profile& b) {
  auto type_name = [](const Profile& p, const ValueType& vt) {
    return StrCat(p.str(vt.type), "/", p.str(vt.unit));
  };
  if (a.num_types() != b.num_types()) {
    return InvalidArgumentError(StrCat("incompatible profiles: ", a.num_types(), " vs ",
                                       b.num_types(), " sample types"));
  }
  for (size_t i = 0; i < a.num_types(); ++i) {
    std::string ta = type_name(a, a.sample_types[i]), tb = type_name(b, b.sample_types[i]);
    if (ta != tb) {
      return InvalidArgumentError(
          StrCat("incompatible profiles: sample type ", i, " is ", ta, " vs ", tb));
    }
  }
  bool a_set = a.period_type.type != 0 || a.period_type.unit != 0;
  bool b_set = b.period_type.type != 0 || b.period_type.unit != 0;
  if (a_set && b_set && type_name(a, a.period_type) != type_name(b, b.period_type)) {
    return InvalidArgumentError(StrCat("incompatible profiles: period type ",
                                       type_name(a, a.period_type), " vs ",
                                       type_name(b, b.period_type)));
  }
  return OkStatus();
}

StatusOr<Profile> Merge(std::span<const Profile* const> profiles) {
  if (profiles.empty()) return Profile();
  for (size_t i = 1; i < profiles.size(); ++i) {
    SH_RETURN_IF_ERROR(CheckCompatible(*profiles[0], *profiles[i]).WithPrefix(StrCat("profile ", i)));
  }
  ProfileBuilder b;
  int64_t start = 0, end = 0;
  std::vector<int64_t> comments;
  for (size_t k = 0; k < profiles.size(); ++k) {
    const Profile& src = *profiles[k];
    Importer imp(&b, src);
    if (k == 0) {
      imp.CopyMetadata();
      comments = b.profile().comments;
    } else {
      for (int64_t c : src.comments) {
        int64_t s = imp.String(c);
        if (std::find(comments.begin(), comments.end(), s) == comments.end()) comments.push_back(s);
      }
      Profile& p = b.profile();
      if (p.period_type.type == 0 && p.period_type.unit == 0) {
        p.period_type = imp.Type(src.period_type);
        p.period = src.period;
      }
    }
    if (src.time_nanos != 0) {
      start = start == 0 ? src.time_nanos : std::min(start, src.time_nanos);
      end = std::max(end, src.time_nanos + src.duration_nanos);
    }
    for (size_t i = 0; i < src.samples.size(); ++i) imp.AddSample(i, src.sample_values(i), true);
  }
  Profile& p = b.profile();
  p.comments = comments;
  if (start != 0) {
    p.time_nanos = start;
    p.duration_nanos = end - start;
  }
  return b.Finish();
}

void Scale(Profile* p, double factor, int type_index) {
  size_t n = p->num_types();
  if (n == 0) return;
  for (size_t i = 0; i < p->values.size(); ++i) {
    if (type_index >= 0 && i % n != static_cast<size_t>(type_index)) continue;
    double v = std::round(static_cast<double>(p->values[i]) * factor);
    if (v >= 9.2e18) v = 9.2e18;
    if (v <= -9.2e18) v = -9.2e18;
    p->values[i] = static_cast<int64_t>(v);
  }
}

StatusOr<Profile> SelectSampleType(const Profile& p, int type_index) {
  if (type_index < 0 || static_cast<size_t>(type_index) >= p.num_types()) {
    return InvalidArgumentError(
        StrCat("sample type index ", type_index, " out of range (", p.num_types(), " types)"));
  }
  ProfileBuilder b;
  Importer imp(&b, p);
  imp.CopyMetadata();
  Profile& out = b.profile();
  out.sample_types = {out.sample_types[type_index]};
  if (out.default_sample_type != 0 &&
      p.str(p.default_sample_type) != out.str(out.sample_types[0].type)) {
    out.default_sample_type = 0;
  }
  for (size_t i = 0; i < p.samples.size(); ++i) {
    int64_t v = p.sample_values(i)[type_index];
    if (v == 0) continue;
    imp.AddSample(i, std::span<const int64_t>(&v, 1), true);
  }
  return b.Finish();
}

Profile Normalize(const Profile& input) {
  Profile p = Compact(input, {.merge_samples = true, .drop_zero_samples = true});

  // Strings by content ("" stays first).
  std::vector<uint32_t> order(p.strings.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return p.strings[a] < p.strings[b]; });
  std::vector<int64_t> srank(p.strings.size());
  for (size_t i = 0; i < order.size(); ++i) srank[order[i]] = static_cast<int64_t>(i);
  auto S = [&](int64_t i) { return srank[i]; };

  Profile out;
  out.strings.clear();
  for (uint32_t i : order) out.strings.push_back(p.strings[i]);

  // Functions.
  std::vector<uint32_t> forder(p.functions.size());
  std::iota(forder.begin(), forder.end(), 0);
  auto fkey = [&](uint32_t i) {
    const Function& f = p.functions[i];
    return std::make_tuple(S(f.name), S(f.system_name), S(f.filename), f.start_line);
  };
  std::sort(forder.begin(), forder.end(), [&](uint32_t a, uint32_t b) { return fkey(a) < fkey(b); });
  std::vector<uint32_t> frank(p.functions.size() + 1, 0);  // 1-based in, 1-based out
  for (size_t i = 0; i < forder.size(); ++i) {
    frank[forder[i] + 1] = static_cast<uint32_t>(i + 1);
    Function f = p.functions[forder[i]];
    f.id = i + 1;
    f.name = S(f.name);
    f.system_name = S(f.system_name);
    f.filename = S(f.filename);
    out.functions.push_back(f);
  }

  // Mappings.
  std::vector<uint32_t> morder(p.mappings.size());
  std::iota(morder.begin(), morder.end(), 0);
  auto mkey = [&](uint32_t i) {
    const Mapping& m = p.mappings[i];
    return std::make_tuple(m.memory_start, m.memory_limit, m.file_offset, S(m.filename),
                           S(m.build_id), m.has_functions, m.has_filenames, m.has_line_numbers,
                           m.has_inline_frames);
  };
  std::sort(morder.begin(), morder.end(), [&](uint32_t a, uint32_t b) { return mkey(a) < mkey(b); });
  std::vector<uint32_t> mrank(p.mappings.size() + 1, 0);
  for (size_t i = 0; i < morder.size(); ++i) {
    mrank[morder[i] + 1] = static_cast<uint32_t>(i + 1);
    Mapping m = p.mappings[morder[i]];
    m.id = i + 1;
    m.filename = S(m.filename);
    m.build_id = S(m.build_id);
    out.mappings.push_back(m);
  }

  // Locations, compared by (mapping, address, folded, lines).
  auto line_key = [&](const Line& l) { return std::make_tuple(frank[l.function], l.line, l.column); };
  auto loc_less = [&](uint32_t a, uint32_t b) {
    const Location& la = p.locations[a];
    const Location& lb = p.locations[b];
    auto ka = std::make_tuple(mrank[la.mapping], la.address, la.is_folded);
    auto kb = std::make_tuple(mrank[lb.mapping], lb.address, lb.is_folded);
    if (ka != kb) return ka < kb;
    auto xa = p.location_lines(la), xb = p.location_lines(lb);
    return std::lexicographical_compare(
        xa.begin(), xa.end(), xb.begin(), xb.end(),
        [&](const Line& u, const Line& v) { return line_key(u) < line_key(v); });
  };
  std::vector<uint32_t> lorder(p.locations.size());
  std::iota(lorder.begin(), lorder.end(), 0);
  std::sort(lorder.begin(), lorder.end(), loc_less);
  std::vector<uint32_t> lrank(p.locations.size());
  for (size_t i = 0; i < lorder.size(); ++i) {
    lrank[lorder[i]] = static_cast<uint32_t>(i);
    Location loc = p.locations[lorder[i]];
    loc.id = i + 1;
    loc.mapping = mrank[loc.mapping];
    loc.line_begin = static_cast<uint32_t>(out.lines.size());
    for (const Line& l : p.location_lines(p.locations[lorder[i]])) {
      out.lines.push_back({frank[l.function], l.line, l.column});
    }
    out.locations.push_back(loc);
  }

  // Metadata (first, so that sample values are laid out by type count).
  for (const ValueType& vt : p.sample_types) out.sample_types.push_back({S(vt.type), S(vt.unit)});
  out.period_type = {S(p.period_type.type), S(p.period_type.unit)};
  out.period = p.period;
  out.time_nanos = p.time_nanos;
  out.duration_nanos = p.duration_nanos;
  out.drop_frames = S(p.drop_frames);
  out.keep_frames = S(p.keep_frames);
  for (int64_t c : p.comments) out.comments.push_back(S(c));
  out.default_sample_type = S(p.default_sample_type);
  out.doc_url = S(p.doc_url);

  // Samples: remapped stacks, labels sorted within each sample.
  struct Key {
    std::vector<uint32_t> stack;
    std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t>> labels;
    bool operator<(const Key& o) const { return std::tie(stack, labels) < std::tie(o.stack, o.labels); }
    bool operator==(const Key& o) const { return stack == o.stack && labels == o.labels; }
  };
  std::vector<Key> keys(p.samples.size());
  for (size_t i = 0; i < p.samples.size(); ++i) {
    for (uint32_t loc : p.sample_stack(i)) keys[i].stack.push_back(lrank[loc]);
    for (const Label& l : p.sample_labels(i)) {
      keys[i].labels.emplace_back(S(l.key), S(l.str), l.num, S(l.num_unit));
    }
    std::sort(keys[i].labels.begin(), keys[i].labels.end());
  }
  std::vector<uint32_t> sorder(p.samples.size());
  std::iota(sorder.begin(), sorder.end(), 0);
  std::sort(sorder.begin(), sorder.end(), [&](uint32_t a, uint32_t b) { return keys[a] < keys[b]; });
  size_t n = p.num_types();
  std::vector<Label> labels;
  for (size_t k = 0; k < sorder.size(); ++k) {
    uint32_t i = sorder[k];
    if (k > 0 && keys[i] == keys[sorder[k - 1]]) {
      auto dst = out.mutable_sample_values(out.samples.size() - 1);
      auto src = p.sample_values(i);
      for (size_t t = 0; t < n; ++t) dst[t] += src[t];
      continue;
    }
    labels.clear();
    for (const auto& [key, str, num, unit] : keys[i].labels) labels.push_back({key, str, num, unit});
    out.AddSample(keys[i].stack, p.sample_values(i), labels);
  }
  // Merging can produce all-zero samples (e.g. +5 and -5): drop them.
  if (n > 0) {
    Profile filtered = out;
    filtered.samples.clear();
    filtered.stack.clear();
    filtered.labels.clear();
    filtered.values.clear();
    for (size_t i = 0; i < out.samples.size(); ++i) {
      if (AllZero(out.sample_values(i))) continue;
      filtered.AddSample(out.sample_stack(i), out.sample_values(i), out.sample_labels(i));
    }
    out = std::move(filtered);
  }

  return out;
}

namespace {

// A sample's identity across two profiles of one process: its frames
// (address and names) and labels.
std::string SampleKey(const Profile& p, size_t i) {
  std::string key;
  for (uint32_t l : p.sample_stack(i)) {
    const Location& loc = p.locations[l];
    key += std::to_string(loc.address);
    key += ':';
    key += p.FrameName(loc);
    key += '\x1f';
  }
  key += '\x1e';
  std::vector<std::string> labels;
  for (const Label& l : p.sample_labels(i)) {
    labels.push_back(StrCat(p.str(l.key), "=", l.str ? std::string(p.str(l.str)) : std::to_string(l.num), "/",
                            p.str(l.num_unit)));
  }
  std::sort(labels.begin(), labels.end());
  for (const std::string& l : labels) {
    key += l;
    key += '\x1f';
  }
  return key;
}

}  // namespace

StatusOr<Profile> DeltaProfile(const Profile& prev, const Profile& cur, std::span<const int> cumulative_columns) {
  if (prev.num_types() != cur.num_types()) return InvalidArgumentError("delta of profiles with different sample types");
  for (size_t t = 0; t < cur.num_types(); ++t) {
    if (prev.str(prev.sample_types[t].type) != cur.str(cur.sample_types[t].type)) {
      return InvalidArgumentError("delta of profiles with different sample types");
    }
  }
  for (int c : cumulative_columns) {
    if (c < 0 || static_cast<size_t>(c) >= cur.num_types()) return InvalidArgumentError("bad delta column");
  }
  std::unordered_map<std::string, std::vector<int64_t>> before;
  for (size_t i = 0; i < prev.samples.size(); ++i) {
    auto v = prev.sample_values(i);
    auto& sum = before[SampleKey(prev, i)];
    if (sum.empty()) sum.assign(v.size(), 0);
    for (size_t t = 0; t < v.size(); ++t) sum[t] += v[t];
  }
  Profile out = cur;
  // Equal samples of `cur` take the previous value once, in order.
  for (size_t i = 0; i < out.samples.size(); ++i) {
    auto it = before.find(SampleKey(cur, i));
    auto values = out.mutable_sample_values(i);
    for (int c : cumulative_columns) {
      int64_t was = it == before.end() ? 0 : it->second[static_cast<size_t>(c)];
      int64_t taken = std::min(was, values[static_cast<size_t>(c)]);
      if (was > values[static_cast<size_t>(c)]) taken = 0;  // a restart: keep the new value
      values[static_cast<size_t>(c)] -= taken;
      if (it != before.end()) it->second[static_cast<size_t>(c)] -= taken;
    }
  }
  CompactOptions co;
  co.drop_zero_samples = true;
  return Compact(out, co);
}

}  // namespace stackhouse::profile
