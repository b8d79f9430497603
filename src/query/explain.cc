#include "query/explain.h"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <unordered_map>

#include "base/strings.h"
#include "query/explain_patterns.h"

namespace stackhouse::query {
namespace {

using explain::kNumPatterns;
using explain::kPatterns;

// A profile flattened for analysis: every sample's frames (root first,
// inlined functions expanded) as ids into a name table, with its value.
struct Flat {
  std::vector<std::string> names;   // function id -> name
  std::vector<int> component;       // function id -> component id
  std::vector<std::string> components;
  std::vector<std::string> component_kind;
  struct Sample {
    uint32_t begin, count;  // into frames
    int64_t value;
  };
  std::vector<Sample> samples;
  std::vector<uint32_t> frames;
  int64_t total = 0;
  std::string type, unit;
};

// What part of the system a frame belongs to, from its mapping or its name.
std::pair<std::string, std::string> ComponentOf(std::string_view name, std::string_view mapping, bool main_mapping) {
  auto base = [](std::string_view p) {
    size_t slash = p.rfind('/');
    return std::string(slash == std::string_view::npos ? p : p.substr(slash + 1));
  };
  if (mapping.starts_with("[kernel") || mapping == "[vdso]") return {"kernel", "kernel"};
  if (!mapping.empty()) {
    std::string b = base(mapping);
    for (const char* rt : {"libc.so", "libc-", "ld-linux", "libm.so", "libpthread", "libstdc++", "libgcc_s", "libdl."}) {
      if (b.find(rt) != std::string::npos) return {b, "C/C++ runtime"};
    }
    if (!main_mapping && b.find(".so") != std::string::npos) return {b, "library"};
  }
  // By name (also inside the main executable: Go and Java link their runtime in).
  if (name.starts_with("runtime.") || name.starts_with("runtime/")) return {"Go runtime", "runtime"};
  if (name.starts_with("java.") || name.starts_with("jdk.") || name.starts_with("sun.") ||
      name.starts_with("javax.") || name.starts_with("com.sun.")) {
    return {"JDK", "runtime"};
  }
  if (name.starts_with("std::") || name.starts_with("__gnu_cxx::")) return {"C++ standard library", "C/C++ runtime"};
  if (name.starts_with("entry_SYSCALL") || name.starts_with("__x64_sys_") || name.starts_with("do_syscall")) {
    return {"kernel", "kernel"};
  }
  const bool cxx = name.find("::") != std::string_view::npos || name.find(' ') != std::string_view::npos;
  if (!cxx) {
    // Go: "pkg/path.Func", "pkg.(*T).M"; Java: "pkg.Class.method".
    size_t paren = name.find('(');
    std::string_view head = name.substr(0, paren);
    size_t slash = head.rfind('/');
    size_t dot = head.find('.', slash == std::string_view::npos ? 0 : slash);
    if (dot != std::string_view::npos && dot > 0) {
      std::string_view pkg = head.substr(0, dot);
      std::string_view first = pkg.substr(0, pkg.find('/'));
      if (pkg == "main") return {"main", "own code"};
      if (first.find('.') != std::string_view::npos) return {std::string(pkg), "library"};  // github.com/...
      bool upper = pkg[0] >= 'A' && pkg[0] <= 'Z';  // a Java class in the default package
      size_t dots = static_cast<size_t>(std::count(head.begin(), head.end(), '.'));
      if (!upper && dots == 1) return {std::string(pkg), "Go standard library"};
      if (!upper && dots >= 3) {
        // A Java class in a package: the first two parts name the project.
        size_t second = head.find('.', head.find('.') + 1);
        return {std::string(head.substr(0, second)), "own code"};
      }
    }
  }
  return {mapping.empty() ? "application" : base(mapping), "own code"};
}

// What the sample type measures.
enum class TypeKind { kTime, kLocks, kAllocations };
TypeKind KindOf(std::string_view type) {
  if (type == "contentions" || type == "delay" || type == "lock_count" || type == "lock_time") return TypeKind::kLocks;
  if (type.starts_with("alloc_") || type.starts_with("inuse_") || type == "space" || type == "objects") {
    return TypeKind::kAllocations;
  }
  return TypeKind::kTime;
}

StatusOr<Flat> Flatten(const profile::Profile& p, int type) {
  if (type < 0) type = p.DefaultSampleTypeIndex();
  if (type < 0 || static_cast<size_t>(type) >= p.num_types()) return InvalidArgumentError("the profile has no such sample type");
  Flat f;
  f.type = std::string(p.str(p.sample_types[type].type));
  f.unit = std::string(p.str(p.sample_types[type].unit));
  std::unordered_map<std::string, uint32_t> ids;
  std::unordered_map<std::string, int> comp_ids;
  // Location -> its frames' ids (root-first order within the location: caller first).
  std::vector<std::vector<uint32_t>> loc_frames(p.locations.size());
  auto id_of = [&](const std::string& name, std::string_view mapping, bool main_mapping) {
    auto [it, inserted] = ids.try_emplace(name, static_cast<uint32_t>(f.names.size()));
    if (inserted) {
      f.names.push_back(name);
      auto [cname, kind] = ComponentOf(name, mapping, main_mapping);
      auto [cit, cnew] = comp_ids.try_emplace(cname, static_cast<int>(f.components.size()));
      if (cnew) {
        f.components.push_back(cname);
        f.component_kind.push_back(kind);
      }
      f.component.push_back(cit->second);
    }
    return it->second;
  };
  for (size_t i = 0; i < p.locations.size(); ++i) {
    const profile::Location& loc = p.locations[i];
    const profile::Mapping* m = p.mapping(loc.mapping);
    std::string_view mapping = m != nullptr ? p.str(m->filename) : std::string_view();
    bool main_mapping = loc.mapping == 1;
    auto lines = p.location_lines(loc);
    if (lines.empty()) {
      loc_frames[i].push_back(id_of(p.FrameName(loc), mapping, main_mapping));
      continue;
    }
    for (size_t k = lines.size(); k-- > 0;) {
      const profile::Function* fn = p.function(lines[k].function);
      std::string name = fn != nullptr && fn->name != 0 ? std::string(p.str(fn->name)) : p.FrameName(loc);
      loc_frames[i].push_back(id_of(name, mapping, main_mapping));
    }
  }
  for (size_t i = 0; i < p.samples.size(); ++i) {
    int64_t v = p.sample_values(i)[type];
    if (v == 0) continue;
    Flat::Sample s{static_cast<uint32_t>(f.frames.size()), 0, v};
    auto stack = p.sample_stack(i);
    for (size_t k = stack.size(); k-- > 0;) {
      for (uint32_t id : loc_frames[stack[k]]) f.frames.push_back(id);
    }
    s.count = static_cast<uint32_t>(f.frames.size()) - s.begin;
    f.samples.push_back(s);
    f.total += v;
  }
  return f;
}

std::string Pct(double share) { return FormatShare(share); }

std::string Value(int64_t v, const std::string& unit) { return FormatValue(v, unit); }

std::string Arrow(const std::vector<std::string>& path, size_t max = 5) {
  std::string out;
  size_t start = path.size() > max ? path.size() - max : 0;
  if (start > 0) out = "… → ";
  for (size_t i = start; i < path.size(); ++i) {
    if (i > start) out += " → ";
    out += path[i];
  }
  return out;
}

// Per-function totals of one flat profile.
struct Totals {
  std::vector<int64_t> self, inclusive;
  explicit Totals(const Flat& f) : self(f.names.size()), inclusive(f.names.size()) {
    std::vector<uint32_t> seen_at(f.names.size(), UINT32_MAX);
    for (uint32_t si = 0; si < f.samples.size(); ++si) {
      const Flat::Sample& s = f.samples[si];
      if (s.count == 0) continue;
      self[f.frames[s.begin + s.count - 1]] += s.value;
      for (uint32_t k = 0; k < s.count; ++k) {
        uint32_t id = f.frames[s.begin + k];
        if (seen_at[id] == si) continue;  // recursion: count once
        seen_at[id] = si;
        inclusive[id] += s.value;
      }
    }
  }
};

// The heaviest root-first path of the samples for which `pick` returns the
// frame index where the path ends (or -1 to skip the sample).
template <typename Pick>
std::vector<std::string> DominantPath(const Flat& f, Pick&& pick) {
  std::unordered_map<std::string, int64_t> paths;
  std::unordered_map<std::string, std::vector<uint32_t>> ids;
  for (const Flat::Sample& s : f.samples) {
    int end = pick(s);
    if (end < 0) continue;
    std::string key(reinterpret_cast<const char*>(&f.frames[s.begin]), (static_cast<size_t>(end) + 1) * sizeof(uint32_t));
    paths[key] += s.value;
    if (!ids.count(key)) ids[key] = std::vector<uint32_t>(f.frames.begin() + s.begin, f.frames.begin() + s.begin + end + 1);
  }
  const std::string* best = nullptr;
  int64_t best_v = -1;
  for (const auto& [k, v] : paths) {
    if (v > best_v || (v == best_v && best != nullptr && k < *best)) {
      best = &k;
      best_v = v;
    }
  }
  std::vector<std::string> out;
  if (best != nullptr) {
    for (uint32_t id : ids[*best]) out.push_back(f.names[id]);
  }
  return out;
}

void AddHotspots(const Flat& f, const Totals& t, const ExplainOptions& o, std::vector<Finding>* out) {
  std::vector<uint32_t> order(f.names.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return t.self[a] != t.self[b] ? t.self[a] > t.self[b] : f.names[a] < f.names[b];
  });
  for (size_t k = 0; k < order.size() && k < o.max_hotspots; ++k) {
    uint32_t id = order[k];
    if (t.self[id] <= 0) break;
    double share = static_cast<double>(t.self[id]) / f.total;
    if (k > 0 && share < o.min_share) break;
    Finding x;
    x.category = "hotspot";
    x.functions = {f.names[id]};
    x.path = DominantPath(f, [&](const Flat::Sample& s) {
      return s.count > 0 && f.frames[s.begin + s.count - 1] == id ? static_cast<int>(s.count) - 1 : -1;
    });
    x.share = share;
    x.value = t.self[id];
    x.confidence = 0.95;
    double incl = static_cast<double>(t.inclusive[id]) / f.total;
    switch (KindOf(f.type)) {
      case TypeKind::kAllocations:
        x.title = StrCat(f.names[id], " allocates ", Pct(share), " of ", f.type, " (", Value(t.self[id], f.unit), ")");
        x.next_step = StrCat("Allocate less in ", f.names[id], " (reached through ", Arrow(x.path),
                             "): reuse objects and buffers, size containers up front.");
        break;
      case TypeKind::kLocks:
        x.title = StrCat(f.names[id], " accounts for ", Pct(share), " of ", f.type, " (", Value(t.self[id], f.unit),
                         ") waiting on locks");
        x.next_step = StrCat("Find the lock taken on the path ", Arrow(x.path),
                             " and shorten or split its critical section.");
        break;
      case TypeKind::kTime:
        x.title = StrCat(f.names[id], " spends ", Pct(share), " of ", f.type, " in itself (", Value(t.self[id], f.unit),
                         "; ", Pct(incl), " with its callees)");
        x.next_step = StrCat("Look at the code of ", f.names[id], ", reached mostly through ", Arrow(x.path),
                             ": make it do less work per call, or call it less often.");
        break;
    }
    out->push_back(std::move(x));
  }
}

void AddComponents(const Flat& f, const Totals& t, const ExplainOptions& o, std::vector<Finding>* out) {
  // Self time by component and by kind.
  std::vector<int64_t> by_comp(f.components.size());
  for (size_t i = 0; i < f.names.size(); ++i) by_comp[static_cast<size_t>(f.component[i])] += t.self[i];
  std::map<std::string, int64_t> by_kind;
  for (size_t c = 0; c < by_comp.size(); ++c) by_kind[f.component_kind[c]] += by_comp[c];
  std::vector<size_t> order(by_comp.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return by_comp[a] > by_comp[b]; });
  std::string kinds;
  for (const auto& [kind, v] : by_kind) {
    if (v <= 0) continue;
    if (!kinds.empty()) kinds += ", ";
    kinds += StrCat(kind, " ", Pct(static_cast<double>(v) / f.total));
  }
  for (size_t k = 0; k < order.size() && k < 4; ++k) {
    size_t c = order[k];
    double share = static_cast<double>(by_comp[c]) / f.total;
    if (share < std::max(o.min_share, 0.1)) break;
    Finding x;
    x.category = "component";
    // Its heaviest functions.
    std::vector<uint32_t> fns;
    for (uint32_t i = 0; i < f.names.size(); ++i) {
      if (static_cast<size_t>(f.component[i]) == c && t.self[i] > 0) fns.push_back(i);
    }
    std::sort(fns.begin(), fns.end(), [&](uint32_t a, uint32_t b) { return t.self[a] > t.self[b]; });
    std::string top;
    for (size_t j = 0; j < fns.size() && j < 3; ++j) {
      x.functions.push_back(f.names[fns[j]]);
      if (!top.empty()) top += ", ";
      top += StrCat(f.names[fns[j]], " ", Pct(static_cast<double>(t.self[fns[j]]) / f.total));
    }
    x.share = share;
    x.value = by_comp[c];
    x.confidence = 0.7;
    x.title = StrCat(Pct(share), " of ", f.type, " is in ", f.components[c], " (", f.component_kind[c], "): ", top,
                     ". By kind: ", kinds);
    x.next_step = f.component_kind[c] == "own code"
                      ? StrCat("Most of the time is in your own code (", f.components[c], "): start with its hotspots.")
                      : StrCat("Time in ", f.components[c],
                               " is spent on behalf of its callers: find which of your functions call into it most.");
    out->push_back(std::move(x));
  }
}

// When most of the profile ends in runtime or library code, the question is
// which of the program's own functions it is spent for: the nearest
// own-code frame of each sample.
void AddOwnCodeCallers(const Flat& f, const ExplainOptions& o, std::vector<Finding>* out) {
  auto own = [&](uint32_t id) { return f.component_kind[static_cast<size_t>(f.component[id])] == "own code"; };
  int64_t outside = 0;
  std::unordered_map<uint32_t, int64_t> by_caller;
  for (const Flat::Sample& s : f.samples) {
    if (s.count == 0) continue;
    if (!own(f.frames[s.begin + s.count - 1])) outside += s.value;
    for (int j = static_cast<int>(s.count) - 1; j >= 0; --j) {
      uint32_t id = f.frames[s.begin + static_cast<uint32_t>(j)];
      if (own(id)) {
        by_caller[id] += s.value;
        break;
      }
    }
  }
  if (outside * 2 < f.total || by_caller.empty()) return;
  std::vector<std::pair<int64_t, uint32_t>> v;
  for (const auto& [id, val] : by_caller) v.push_back({val, id});
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  for (size_t k = 0; k < v.size() && k < 3; ++k) {
    double share = static_cast<double>(v[k].first) / f.total;
    if (share < std::max(o.min_share, 0.05)) break;
    uint32_t id = v[k].second;
    Finding x;
    x.category = "hotspot";
    x.functions = {f.names[id]};
    x.path = DominantPath(f, [&](const Flat::Sample& s) {
      for (uint32_t j = 0; j < s.count; ++j) {
        if (f.frames[s.begin + j] == id) return static_cast<int>(j);
      }
      return -1;
    });
    x.share = share;
    x.value = v[k].first;
    x.confidence = 0.85;
    x.attributed = true;
    x.title = StrCat(Pct(share), " of ", f.type, " (", Value(v[k].first, f.unit), ") is spent for ", f.names[id],
                     ", mostly in runtime or library code it calls");
    x.next_step = StrCat("Start with ", f.names[id], ": it is the program's own code behind that share; see which of its "
                         "calls into the runtime or libraries cost most.");
    out->push_back(std::move(x));
  }
}

// Which functions match which pattern (bit per pattern), once per function.
std::vector<uint32_t> PatternMasks(const Flat& f) {
  static const std::vector<std::unique_ptr<RE2>>* kCompiled = [] {
    auto* v = new std::vector<std::unique_ptr<RE2>>;
    for (const auto& p : kPatterns) v->push_back(std::make_unique<RE2>(p.regex));
    return v;
  }();
  std::vector<uint32_t> masks(f.names.size());
  for (size_t i = 0; i < f.names.size(); ++i) {
    for (int k = 0; k < kNumPatterns; ++k) {
      if (RE2::PartialMatch(f.names[i], *(*kCompiled)[k])) masks[i] |= 1u << k;
    }
  }
  return masks;
}

void AddPatterns(const Flat& f, const ExplainOptions& o, std::vector<Finding>* out) {
  std::vector<uint32_t> masks = PatternMasks(f);
  // A lock profile is all contention: the question is which call sites; the
  // leaf frames (Go reports the unlock site) carry it.
  if (KindOf(f.type) == TypeKind::kLocks) {
    for (int k = 0; k < kNumPatterns; ++k) {
      if (std::string_view(kPatterns[k].category) != "lock_contention") continue;
      for (const Flat::Sample& s : f.samples) {
        if (s.count > 0) masks[f.frames[s.begin + s.count - 1]] |= 1u << k;
      }
    }
  }
  for (int k = 0; k < kNumPatterns; ++k) {
    const uint32_t bit = 1u << k;
    int64_t total = 0;
    std::unordered_map<uint32_t, int64_t> matched, callers;  // leaf-most matching frame; the frame calling into it
    for (const Flat::Sample& s : f.samples) {
      // The outermost matching frame (the API the program called, e.g.
      // pthread_mutex_lock rather than futex_wait), and the frame calling it.
      int hit = -1;
      for (uint32_t j = 0; j < s.count; ++j) {
        if (masks[f.frames[s.begin + j]] & bit) {
          hit = static_cast<int>(j);
          break;
        }
      }
      if (hit < 0) continue;
      total += s.value;
      matched[f.frames[s.begin + static_cast<uint32_t>(hit)]] += s.value;
      // Who called it: the nearest frame of the program's own code above
      // (past library internals such as std::vector's or libc's), else the
      // immediate caller.
      int caller = hit - 1;
      for (int j = hit - 1; j >= 0; --j) {
        uint32_t id = f.frames[s.begin + static_cast<uint32_t>(j)];
        if (f.component_kind[static_cast<size_t>(f.component[id])] == "own code") {
          caller = j;
          break;
        }
      }
      if (caller >= 0) callers[f.frames[s.begin + static_cast<uint32_t>(caller)]] += s.value;
    }
    double share = f.total > 0 ? static_cast<double>(total) / f.total : 0;
    if (total == 0 || share < o.min_share) continue;
    auto top = [](const std::unordered_map<uint32_t, int64_t>& m) {
      std::vector<std::pair<int64_t, uint32_t>> v;
      for (const auto& [id, val] : m) v.push_back({val, id});
      std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
      return v;
    };
    auto fns = top(matched), who = top(callers);
    Finding x;
    x.category = kPatterns[k].category;
    std::string fn_list;
    for (size_t j = 0; j < fns.size() && j < 3; ++j) {
      x.functions.push_back(f.names[fns[j].second]);
      if (!fn_list.empty()) fn_list += ", ";
      fn_list += StrCat(f.names[fns[j].second], " ", Pct(static_cast<double>(fns[j].first) / f.total));
    }
    x.share = share;
    x.value = total;
    x.confidence = kPatterns[k].confidence;
    x.title = StrCat(Pct(share), " of ", f.type, " is ", kPatterns[k].what, " (", fn_list, ")");
    if (!who.empty()) {
      uint32_t caller = who[0].second;
      x.title += StrCat("; most of it called from ", f.names[caller], " (",
                        Pct(static_cast<double>(who[0].first) / f.total), ")");
      x.functions.push_back(f.names[caller]);
      x.path = DominantPath(f, [&](const Flat::Sample& s) {
        for (uint32_t j = 0; j < s.count; ++j) {
          if (f.frames[s.begin + j] == caller) return static_cast<int>(j);
        }
        return -1;
      });
    }
    x.next_step = kPatterns[k].next_step;
    out->push_back(std::move(x));
  }
}

// Most important first: patterns that explain a large share beat a hotspot
// of the same size (they say why); components come after both.
void Rank(std::vector<Finding>* findings) {
  auto score = [](const Finding& f) {
    if (f.category == "hotspot") return f.attributed ? f.share * 0.85 : f.share;
    if (f.category == "component") return f.share * 0.3;
    if (f.category == "regression" || f.category == "new_code") return 1 + std::abs(f.delta_share);
    if (f.category == "improvement") return 0.5 + std::abs(f.delta_share);
    if (f.category == "anomaly") return 2 * std::abs(f.delta_share);
    return f.share * (0.85 + 0.3 * f.confidence);  // a pattern: says why, so it beats a hotspot of its size
  };
  std::stable_sort(findings->begin(), findings->end(),
                   [&](const Finding& a, const Finding& b) { return score(a) > score(b); });
}

}  // namespace

StatusOr<Explanation> Explain(const profile::Profile& profile, const ExplainOptions& options) {
  SH_ASSIGN_OR_RETURN(Flat f, Flatten(profile, options.type_index));
  Explanation e;
  e.sample_type = f.type;
  e.unit = f.unit;
  e.total = f.total;
  if (f.total <= 0) return e;
  Totals t(f);
  AddPatterns(f, options, &e.findings);
  AddHotspots(f, t, options, &e.findings);
  AddOwnCodeCallers(f, options, &e.findings);
  AddComponents(f, t, options, &e.findings);
  Rank(&e.findings);
  return e;
}

namespace {

// A call tree over function names: inclusive values of both profiles.
class DiffTree {
 public:
  explicit DiffTree(size_t names) : names_(names) { nodes_.push_back({}); }
  void Add(const Flat& f, const std::vector<uint32_t>& id_map, bool comparison) {
    for (const Flat::Sample& s : f.samples) {
      uint32_t node = 0;
      for (uint32_t k = 0; k < s.count; ++k) {
        uint32_t name = id_map[f.frames[s.begin + k]];
        uint64_t key = (static_cast<uint64_t>(node) << 32) | name;
        auto [it, inserted] = index_.try_emplace(key, static_cast<uint32_t>(nodes_.size()));
        if (inserted) {
          nodes_.push_back({name, node, 0, 0});
          nodes_[node].children.push_back(it->second);
        }
        node = it->second;
        (comparison ? nodes_[node].comp : nodes_[node].base) += s.value;
      }
    }
  }
  // Follows the child holding most of the growth while it holds at least
  // half of `grown`; returns the path (name ids) and the growth under it.
  std::pair<std::vector<uint32_t>, int64_t> Concentration(int64_t grown) const {
    std::vector<uint32_t> path;
    int64_t under = grown;
    uint32_t node = 0;
    while (true) {
      int64_t best = 0;
      uint32_t best_child = 0;
      for (uint32_t c : nodes_[node].children) {
        int64_t d = nodes_[c].comp - nodes_[c].base;
        if (d > best) {
          best = d;
          best_child = c;
        }
      }
      if (best_child == 0 || best * 2 < grown) break;
      path.push_back(nodes_[best_child].name);
      under = best;
      node = best_child;
    }
    return {path, under};
  }

 private:
  struct Node {
    uint32_t name = 0, parent = 0;
    int64_t base = 0, comp = 0;
    std::vector<uint32_t> children;
  };
  size_t names_;
  std::vector<Node> nodes_;
  std::unordered_map<uint64_t, uint32_t> index_;
};

}  // namespace

StatusOr<Explanation> ExplainDiff(const profile::Profile& baseline, const profile::Profile& comparison,
                                  const ExplainOptions& options) {
  SH_ASSIGN_OR_RETURN(Flat c, Flatten(comparison, options.type_index));
  int base_type = baseline.FindSampleType(c.type);
  if (base_type < 0) {
    return InvalidArgumentError(StrCat("the baseline has no sample type ", Quote(c.type)));
  }
  SH_ASSIGN_OR_RETURN(Flat b, Flatten(baseline, base_type));
  Explanation e;
  e.diff = true;
  e.sample_type = c.type;
  e.unit = c.unit;
  e.total = c.total;
  e.baseline_total = b.total;
  // One name table for both.
  std::vector<std::string> names = c.names;
  std::unordered_map<std::string, uint32_t> ids;
  for (uint32_t i = 0; i < names.size(); ++i) ids.emplace(names[i], i);
  std::vector<uint32_t> c_map(c.names.size()), b_map(b.names.size());
  for (uint32_t i = 0; i < c_map.size(); ++i) c_map[i] = i;
  for (uint32_t i = 0; i < b.names.size(); ++i) {
    auto [it, inserted] = ids.try_emplace(b.names[i], static_cast<uint32_t>(names.size()));
    if (inserted) names.push_back(b.names[i]);
    b_map[i] = it->second;
  }
  Totals tc(c), tb(b);
  std::vector<int64_t> self_c(names.size()), self_b(names.size()), incl_c(names.size()), incl_b(names.size());
  for (uint32_t i = 0; i < c.names.size(); ++i) {
    self_c[i] = tc.self[i];
    incl_c[i] = tc.inclusive[i];
  }
  for (uint32_t i = 0; i < b.names.size(); ++i) {
    self_b[b_map[i]] += tb.self[i];
    incl_b[b_map[i]] += tb.inclusive[i];
  }
  auto share_c = [&](int64_t v) { return c.total > 0 ? static_cast<double>(v) / c.total : 0.0; };
  auto share_b = [&](int64_t v) { return b.total > 0 ? static_cast<double>(v) / b.total : 0.0; };
  const int64_t net = c.total - b.total;
  int64_t grown = 0;
  for (size_t i = 0; i < names.size(); ++i) grown += std::max<int64_t>(0, self_c[i] - self_b[i]);
  auto path_to = [&](uint32_t id) {
    return DominantPath(c, [&](const Flat::Sample& s) {
      for (uint32_t j = 0; j < s.count; ++j) {
        if (c.frames[s.begin + j] == id) return static_cast<int>(j);
      }
      return -1;
    });
  };
  auto change = [&](int64_t before, int64_t after) {
    std::string rel = before > 0 ? StrCat(", ", after >= before ? "+" : "", Pct(static_cast<double>(after - before) / before))
                                 : std::string();
    return StrCat(Value(before, c.unit), " → ", Value(after, c.unit), rel);
  };
  // Where the growth is concentrated.
  if (grown > 0) {
    DiffTree tree(names.size());
    tree.Add(b, b_map, false);
    tree.Add(c, c_map, true);
    // The net growth when the total grew; when it barely moved (a fixed-length
    // run, say), what moved between functions.
    int64_t added = net * 2 > grown ? net : grown;
    auto [path_ids, under] = tree.Concentration(added);
    if (!path_ids.empty()) {
      Finding x;
      x.category = "regression";
      for (uint32_t id : path_ids) x.path.push_back(names[id]);
      x.functions = {x.path.back()};
      x.delta = under;
      x.value = under;
      x.share = share_c(under);
      x.delta_share = static_cast<double>(under) / std::max<int64_t>(added, 1);
      x.confidence = 0.9;
      x.title = StrCat(Pct(x.delta_share), " of the added ", c.type, " (", Value(added, c.unit), ") is under ",
                       Arrow(x.path));
      x.next_step = StrCat("Compare ", x.path.back(), " and its callees between the two versions: what changed there.");
      e.findings.push_back(std::move(x));
    }
  }
  // Functions that grew and shrank most (self), and new ones (inclusive).
  std::vector<uint32_t> order(names.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
    int64_t dx = self_c[x] - self_b[x], dy = self_c[y] - self_b[y];
    return dx != dy ? dx > dy : names[x] < names[y];
  });
  for (size_t k = 0; k < order.size() && k < 3; ++k) {
    uint32_t id = order[k];
    int64_t d = self_c[id] - self_b[id];
    if (d <= 0 || share_c(d) < options.min_share / 2) break;
    Finding x;
    x.category = incl_b[id] == 0 ? "new_code" : "regression";
    x.functions = {names[id]};
    if (id < c.names.size()) x.path = path_to(id);
    x.value = self_c[id];
    x.delta = d;
    x.share = share_c(self_c[id]);
    x.delta_share = share_c(self_c[id]) - share_b(self_b[id]);
    x.confidence = 0.85;
    x.title = incl_b[id] == 0
                  ? StrCat(names[id], " is new: ", Pct(x.share), " of ", c.type, " (", Value(self_c[id], c.unit), ")")
                  : StrCat(names[id], " grew: ", change(self_b[id], self_c[id]), " (", Pct(share_b(self_b[id])), " → ",
                           Pct(x.share), " of ", c.type, ")");
    x.next_step = StrCat("Look at what changed in ", names[id],
                         x.path.empty() ? std::string() : StrCat(" (reached through ", Arrow(x.path), ")"),
                         ": more calls, more work per call, or a new code path.");
    e.findings.push_back(std::move(x));
  }
  for (size_t k = 0, shown = 0; k < order.size() && shown < 2; ++k) {
    uint32_t id = order[order.size() - 1 - k];
    int64_t d = self_c[id] - self_b[id];
    if (d >= 0 || share_b(-d) < options.min_share / 2) break;
    Finding x;
    x.category = "improvement";
    x.functions = {names[id]};
    x.value = self_c[id];
    x.delta = d;
    x.share = share_c(self_c[id]);
    x.delta_share = share_c(self_c[id]) - share_b(self_b[id]);
    x.confidence = 0.85;
    x.title = StrCat(names[id], " shrank: ", change(self_b[id], self_c[id]));
    x.next_step = "Nothing to do: this got cheaper.";
    e.findings.push_back(std::move(x));
    ++shown;
  }
  // Patterns of the comparison, for the why.
  std::vector<Finding> patterns;
  AddPatterns(c, options, &patterns);
  for (Finding& p : patterns) e.findings.push_back(std::move(p));
  Rank(&e.findings);
  return e;
}

std::string FormatShare(double share) {
  char buf[32];
  snprintf(buf, sizeof(buf), share >= 0.095 || share == 0 ? "%.0f%%" : "%.1f%%", share * 100);
  return buf;
}

std::vector<std::pair<std::string, int64_t>> AnomalyBaselineShifts(int64_t range_ns) {
  const int64_t day = int64_t{86400} * 1000000000;
  std::vector<std::pair<std::string, int64_t>> shifts = {{"the preceding period", range_ns}};
  if (range_ns <= day) shifts.push_back({"the same time a day before", day});
  if (range_ns <= 7 * day) shifts.push_back({"the same time a week before", 7 * day});
  return shifts;
}

void AddFindings(Explanation* e, std::vector<Finding> findings) {
  for (Finding& f : findings) e->findings.push_back(std::move(f));
  Rank(&e->findings);
}

std::string ExplanationJson(const Explanation& e) {
  std::string out = "{\"sample_type\":\"";
  AppendJsonEscaped(&out, e.sample_type);
  out += "\",\"unit\":\"";
  AppendJsonEscaped(&out, e.unit);
  out += StrCat("\",\"total\":", e.total);
  if (e.diff) out += StrCat(",\"baseline_total\":", e.baseline_total);
  out += StrCat(",\"diff\":", e.diff ? "true" : "false", ",\"findings\":[");
  auto strings = [&](const std::vector<std::string>& v) {
    out += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out += ',';
      out += '"';
      AppendJsonEscaped(&out, v[i]);
      out += '"';
    }
    out += ']';
  };
  auto number = [](double d) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%.4f", d);
    return std::string(buf);
  };
  for (size_t i = 0; i < e.findings.size(); ++i) {
    const Finding& f = e.findings[i];
    if (i) out += ',';
    out += "{\"category\":\"";
    AppendJsonEscaped(&out, f.category);
    out += "\",\"title\":\"";
    AppendJsonEscaped(&out, f.title);
    out += "\",\"functions\":";
    strings(f.functions);
    out += ",\"path\":";
    strings(f.path);
    out += StrCat(",\"share\":", number(f.share), ",\"value\":", f.value);
    if (e.diff || f.category == "anomaly") out += StrCat(",\"delta\":", f.delta, ",\"delta_share\":", number(f.delta_share));
    out += StrCat(",\"confidence\":", number(f.confidence), ",\"next_step\":\"");
    AppendJsonEscaped(&out, f.next_step);
    out += "\"}";
  }
  out += "]}";
  return out;
}

std::string ExplanationMarkdown(const Explanation& e) {
  std::string out;
  if (e.findings.empty()) {
    return StrCat("## Bottleneck\n\nNothing stands out: the profile holds ", Value(e.total, e.unit), " of ",
                  e.sample_type, " with no function or pattern above the reporting threshold.\n");
  }
  const Finding& top = e.findings[0];
  out += "## Bottleneck\n\n";
  if (e.diff) {
    double rel = e.baseline_total > 0 ? static_cast<double>(e.total - e.baseline_total) / e.baseline_total : 0;
    out += StrCat(e.sample_type, " went from ", Value(e.baseline_total, e.unit), " to ", Value(e.total, e.unit), " (",
                  rel >= 0 ? "+" : "", Pct(rel), "). ");
  }
  out += top.title + ".\n";
  if (!top.path.empty()) out += StrCat("\nPath: ", Arrow(top.path, 8), "\n");
  out += "\n## Root cause\n\n";
  size_t shown = 0;
  for (size_t i = 1; i < e.findings.size() && shown < 4; ++i) {
    const Finding& f = e.findings[i];
    if (f.category == "component" && shown >= 2) continue;
    out += StrCat("- ", f.title, f.path.empty() ? "" : StrCat(" — via ", Arrow(f.path)), "\n");
    ++shown;
  }
  if (shown == 0) out += "- " + top.title + "\n";
  out += "\n## Recommendation\n\n";
  std::vector<std::string> steps;
  for (const Finding& f : e.findings) {
    if (steps.size() >= 3) break;
    if (f.next_step.empty() || std::find(steps.begin(), steps.end(), f.next_step) != steps.end()) continue;
    if (f.category == "improvement") continue;
    steps.push_back(f.next_step);
  }
  for (const std::string& s : steps) out += "- " + s + "\n";
  return out;
}

}  // namespace stackhouse::query
