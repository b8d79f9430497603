// The OTLP -> profile model conversion, decoding the protobuf wire format
// directly (no generated message objects): the dictionary's tables become
// flat arrays of views into the request bytes, and each group of OTLP
// profiles becomes one Profile whose symbols are taken from the dictionary
// on first use. This is the hot path of OTLP ingestion.
#include <algorithm>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "base/hash.h"
#include "base/protowire.h"
#include "base/strings.h"
#include "otlp/otlp.h"

namespace stackhouse::otlp {
namespace {

using protowire::Reader;


Status Bad(std::string_view what) { return InvalidArgumentError(StrCat("malformed OTLP: ", what)); }

// Calls fn(field, wire, reader) for every field of a message; false on a
// malformed message (fn returns false to stop with an error).
template <typename Fn>
bool ForEach(std::string_view msg, Fn&& fn) {
  Reader r(msg);
  while (!r.done()) {
    uint32_t field;
    int wire;
    if (!r.ReadTag(&field, &wire)) return false;
    if (!fn(field, wire, r)) return false;
  }
  return true;
}

// Appends the int32/int64 values of a packed or unpacked repeated field.
bool ReadInts(int wire, Reader& r, std::vector<int64_t>* out) {
  uint64_t v;
  if (wire == protowire::kVarint) {
    if (!r.ReadVarint(&v)) return false;
    out->push_back(static_cast<int64_t>(v));
    return true;
  }
  if (wire != protowire::kLengthDelimited) return false;
  std::string_view packed;
  if (!r.ReadLengthDelimited(&packed)) return false;
  Reader p(packed);
  while (!p.done()) {
    if (!p.ReadVarint(&v)) return false;
    out->push_back(static_cast<int64_t>(v));
  }
  return true;
}

bool ReadFixed64s(int wire, Reader& r, size_t* count) {
  if (wire == protowire::kFixed64) {
    uint64_t v;
    if (!r.ReadFixed64(&v)) return false;
    ++*count;
    return true;
  }
  if (wire != protowire::kLengthDelimited) return false;
  std::string_view packed;
  if (!r.ReadLengthDelimited(&packed) || packed.size() % 8 != 0) return false;
  *count += packed.size() / 8;
  return true;
}

int32_t I32(uint64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

struct AnyValue {
  enum Kind : uint8_t { kNone, kString, kStrIndex, kBool, kInt, kDouble, kOther } kind = kNone;
  std::string_view s;
  int64_t i = 0;
  double d = 0;
};

bool ParseAnyValue(std::string_view msg, AnyValue* out) {
  return ForEach(msg, [&](uint32_t f, int w, Reader& r) {
    uint64_t v;
    switch (f) {
      case 1:
        out->kind = AnyValue::kString;
        return w == protowire::kLengthDelimited && r.ReadLengthDelimited(&out->s);
      case 2:
        out->kind = AnyValue::kBool;
        if (w != protowire::kVarint || !r.ReadVarint(&v)) return false;
        out->i = v != 0;
        return true;
      case 3:
        out->kind = AnyValue::kInt;
        if (w != protowire::kVarint || !r.ReadVarint(&v)) return false;
        out->i = static_cast<int64_t>(v);
        return true;
      case 4:
        out->kind = AnyValue::kDouble;
        if (w != protowire::kFixed64 || !r.ReadFixed64(&v)) return false;
        memcpy(&out->d, &v, 8);
        return true;
      case 8:
        out->kind = AnyValue::kStrIndex;
        if (w != protowire::kVarint || !r.ReadVarint(&v)) return false;
        out->i = I32(v);
        return true;
      default:
        out->kind = AnyValue::kOther;
        return r.SkipField(w);
    }
  });
}

struct Range {
  uint32_t begin = 0, count = 0;
};

struct Dict {
  std::vector<std::string_view> strings;
  struct Mapping {
    uint64_t start = 0, limit = 0, offset = 0;
    int32_t filename = 0;
    Range attrs;
  };
  std::vector<Mapping> mappings;
  struct Line {
    int32_t function = 0;
    int64_t line = 0, column = 0;
  };
  struct Location {
    int32_t mapping = 0;
    uint64_t address = 0;
    Range lines;
  };
  std::vector<Location> locations;
  std::vector<Line> lines;
  struct Function {
    int32_t name = 0, system_name = 0, filename = 0;
    int64_t start_line = 0;
  };
  std::vector<Function> functions;
  struct Link {
    std::string_view trace_id, span_id;
  };
  std::vector<Link> links;
  struct Attribute {
    int32_t key = 0, unit = 0;
    AnyValue value;
  };
  std::vector<Attribute> attributes;
  std::vector<Range> stacks;
  std::vector<int64_t> ints;  // flat storage of index lists
};

Status ParseDict(std::string_view msg, Dict* d) {
  bool ok = ForEach(msg, [&](uint32_t f, int w, Reader& r) {
    if (w != protowire::kLengthDelimited) return r.SkipField(w);
    std::string_view m;
    if (!r.ReadLengthDelimited(&m)) return false;
    bool good = true;
    switch (f) {
      case 1: {
        Dict::Mapping x;
        Range attrs{static_cast<uint32_t>(d->ints.size()), 0};
        good = ForEach(m, [&](uint32_t ff, int ww, Reader& rr) {
          uint64_t v;
          switch (ff) {
            case 1: return ww == protowire::kVarint && rr.ReadVarint(&x.start);
            case 2: return ww == protowire::kVarint && rr.ReadVarint(&x.limit);
            case 3: return ww == protowire::kVarint && rr.ReadVarint(&x.offset);
            case 4:
              if (ww != protowire::kVarint || !rr.ReadVarint(&v)) return false;
              x.filename = I32(v);
              return true;
            case 5: return ReadInts(ww, rr, &d->ints);
            default: return rr.SkipField(ww);
          }
        });
        attrs.count = static_cast<uint32_t>(d->ints.size()) - attrs.begin;
        x.attrs = attrs;
        d->mappings.push_back(x);
        break;
      }
      case 2: {
        Dict::Location x;
        x.lines.begin = static_cast<uint32_t>(d->lines.size());
        good = ForEach(m, [&](uint32_t ff, int ww, Reader& rr) {
          uint64_t v;
          switch (ff) {
            case 1:
              if (ww != protowire::kVarint || !rr.ReadVarint(&v)) return false;
              x.mapping = I32(v);
              return true;
            case 2: return ww == protowire::kVarint && rr.ReadVarint(&x.address);
            case 3: {
              std::string_view lm;
              if (ww != protowire::kLengthDelimited || !rr.ReadLengthDelimited(&lm)) return false;
              Dict::Line line;
              bool lok = ForEach(lm, [&](uint32_t lf, int lw, Reader& lr) {
                uint64_t lv;
                if (lf >= 1 && lf <= 3 && lw == protowire::kVarint) {
                  if (!lr.ReadVarint(&lv)) return false;
                  if (lf == 1) line.function = I32(lv);
                  if (lf == 2) line.line = static_cast<int64_t>(lv);
                  if (lf == 3) line.column = static_cast<int64_t>(lv);
                  return true;
                }
                return lr.SkipField(lw);
              });
              d->lines.push_back(line);
              return lok;
            }
            default: return rr.SkipField(ww);
          }
        });
        x.lines.count = static_cast<uint32_t>(d->lines.size()) - x.lines.begin;
        d->locations.push_back(x);
        break;
      }
      case 3: {
        Dict::Function x;
        good = ForEach(m, [&](uint32_t ff, int ww, Reader& rr) {
          uint64_t v;
          if (ff >= 1 && ff <= 4 && ww == protowire::kVarint) {
            if (!rr.ReadVarint(&v)) return false;
            if (ff == 1) x.name = I32(v);
            if (ff == 2) x.system_name = I32(v);
            if (ff == 3) x.filename = I32(v);
            if (ff == 4) x.start_line = static_cast<int64_t>(v);
            return true;
          }
          return rr.SkipField(ww);
        });
        d->functions.push_back(x);
        break;
      }
      case 4: {
        Dict::Link x;
        good = ForEach(m, [&](uint32_t ff, int ww, Reader& rr) {
          if (ff == 1 && ww == protowire::kLengthDelimited) return rr.ReadLengthDelimited(&x.trace_id);
          if (ff == 2 && ww == protowire::kLengthDelimited) return rr.ReadLengthDelimited(&x.span_id);
          return rr.SkipField(ww);
        });
        d->links.push_back(x);
        break;
      }
      case 5:
        d->strings.push_back(m);
        break;
      case 6: {
        Dict::Attribute x;
        good = ForEach(m, [&](uint32_t ff, int ww, Reader& rr) {
          uint64_t v;
          if ((ff == 1 || ff == 3) && ww == protowire::kVarint) {
            if (!rr.ReadVarint(&v)) return false;
            (ff == 1 ? x.key : x.unit) = I32(v);
            return true;
          }
          if (ff == 2 && ww == protowire::kLengthDelimited) {
            std::string_view am;
            return rr.ReadLengthDelimited(&am) && ParseAnyValue(am, &x.value);
          }
          return rr.SkipField(ww);
        });
        d->attributes.push_back(x);
        break;
      }
      case 7: {
        Range x{static_cast<uint32_t>(d->ints.size()), 0};
        good = ForEach(m, [&](uint32_t ff, int ww, Reader& rr) {
          if (ff == 1) return ReadInts(ww, rr, &d->ints);
          return rr.SkipField(ww);
        });
        x.count = static_cast<uint32_t>(d->ints.size()) - x.begin;
        d->stacks.push_back(x);
        break;
      }
      default:
        break;
    }
    return good;
  });
  if (!ok) return Bad("the dictionary");
  return OkStatus();
}

struct OtlpSample {
  int32_t stack = 0, link = 0;
  Range attrs;
  int64_t value = 0;
};

struct OtlpProfile {
  int32_t type = 0, unit = 0, period_type = 0, period_unit = 0;
  uint64_t time = 0, duration = 0;
  int64_t period = 0;
  Range attrs;
  uint32_t samples_begin = 0, samples_count = 0;
};

bool ParseValueType(std::string_view m, int32_t* type, int32_t* unit) {
  return ForEach(m, [&](uint32_t f, int w, Reader& r) {
    uint64_t v;
    if ((f == 1 || f == 2) && w == protowire::kVarint) {
      if (!r.ReadVarint(&v)) return false;
      (f == 1 ? *type : *unit) = I32(v);
      return true;
    }
    return r.SkipField(w);
  });
}

// Reads one Profile message: its metadata, and its samples into `samples`.
bool ParseProfile(std::string_view m, Dict& d, std::vector<OtlpSample>* samples, OtlpProfile* p) {
  p->samples_begin = static_cast<uint32_t>(samples->size());
  std::vector<int64_t> values;
  Range attrs{static_cast<uint32_t>(d.ints.size()), 0};
  bool ok = ForEach(m, [&](uint32_t f, int w, Reader& r) {
    std::string_view sub;
    uint64_t v;
    switch (f) {
      case 1: return w == protowire::kLengthDelimited && r.ReadLengthDelimited(&sub) && ParseValueType(sub, &p->type, &p->unit);
      case 2: {
        if (w != protowire::kLengthDelimited || !r.ReadLengthDelimited(&sub)) return false;
        OtlpSample s;
        s.attrs.begin = static_cast<uint32_t>(d.ints.size());
        values.clear();
        size_t timestamps = 0;
        bool sok = ForEach(sub, [&](uint32_t sf, int sw, Reader& sr) {
          uint64_t sv;
          switch (sf) {
            case 1:
              if (sw != protowire::kVarint || !sr.ReadVarint(&sv)) return false;
              s.stack = I32(sv);
              return true;
            case 2: return ReadInts(sw, sr, &d.ints);
            case 3:
              if (sw != protowire::kVarint || !sr.ReadVarint(&sv)) return false;
              s.link = I32(sv);
              return true;
            case 4: return ReadInts(sw, sr, &values);
            case 5: return ReadFixed64s(sw, sr, &timestamps);
            default: return sr.SkipField(sw);
          }
        });
        s.attrs.count = static_cast<uint32_t>(d.ints.size()) - s.attrs.begin;
        for (int64_t x : values) s.value += x;
        if (values.empty()) s.value = static_cast<int64_t>(timestamps);  // timestamps only: one each
        samples->push_back(s);
        return sok;
      }
      case 3: return w == protowire::kFixed64 && r.ReadFixed64(&p->time);
      case 4: return w == protowire::kVarint && r.ReadVarint(&p->duration);
      case 5:
        return w == protowire::kLengthDelimited && r.ReadLengthDelimited(&sub) &&
               ParseValueType(sub, &p->period_type, &p->period_unit);
      case 6:
        if (w != protowire::kVarint || !r.ReadVarint(&v)) return false;
        p->period = static_cast<int64_t>(v);
        return true;
      case 11: {
        // Profile attributes (kept apart from the samples' index lists).
        std::vector<int64_t> tmp;
        if (!ReadInts(w, r, &tmp)) return false;
        if (attrs.count == 0) attrs.begin = static_cast<uint32_t>(d.ints.size());
        d.ints.insert(d.ints.end(), tmp.begin(), tmp.end());
        attrs.count += static_cast<uint32_t>(tmp.size());
        return true;
      }
      default: return r.SkipField(w);
    }
  });
  p->attrs = attrs;
  p->samples_count = static_cast<uint32_t>(samples->size()) - p->samples_begin;
  return ok;
}

// Series label names: [a-zA-Z0-9_]; '.' and others become '_'.
std::string LabelName(std::string_view key) {
  std::string out(key);
  for (char& c : out) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) c = '_';
  }
  if (!out.empty() && out[0] >= '0' && out[0] <= '9') out.insert(out.begin(), '_');
  return out;
}

bool AllZero(std::string_view s) {
  for (char c : s) {
    if (c != 0) return false;
  }
  return true;
}

// Builds one Profile from a group of OTLP profiles (one per sample type).
class GroupConverter {
 public:
  GroupConverter(const Dict& d) : d_(d) {}

  StatusOr<profile::Profile> Convert(const std::vector<const OtlpProfile*>& group, const std::vector<OtlpSample>& samples) {
    p_ = profile::Profile();
    extra_.clear();
    owned_.clear();
    extra_.emplace(std::string_view(), 0);
    string_of_.assign(d_.strings.size(), -1);
    function_of_.assign(d_.functions.size(), 0);
    mapping_of_.assign(d_.mappings.size(), 0);
    location_of_.assign(d_.locations.size(), -1);
    const OtlpProfile& first = *group[0];
    for (const OtlpProfile* op : group) p_.sample_types.push_back({Str(op->type), Str(op->unit)});
    p_.period_type = {Str(first.period_type), Str(first.period_unit)};
    p_.period = first.period;
    p_.time_nanos = static_cast<int64_t>(first.time);
    p_.duration_nanos = static_cast<int64_t>(first.duration);
    SH_RETURN_IF_ERROR(status_);
    const size_t types = group.size();
    // Samples with equal (stack, attributes, link) share a row: a hash
    // table of first rows, chained through next_.
    keys_.clear();
    next_.clear();
    first_.clear();
    if (types > 1) first_.reserve(samples.size() / types + 16);
    std::vector<profile::Label> labels;
    for (size_t t = 0; t < types; ++t) {
      const OtlpProfile& op = *group[t];
      for (uint32_t i = 0; i < op.samples_count; ++i) {
        const OtlpSample& s = samples[op.samples_begin + i];
        if (s.stack < 0 || static_cast<size_t>(s.stack) >= d_.stacks.size()) {
          return InvalidArgumentError(StrCat("stack index ", s.stack, " outside the stack table"));
        }
        if (s.link < 0 || static_cast<size_t>(s.link) >= std::max<size_t>(d_.links.size(), 1)) {
          return InvalidArgumentError(StrCat("link index ", s.link, " outside the link table"));
        }
        uint32_t row = UINT32_MAX;
        if (types > 1) {
          uint64_t h = HashMix(static_cast<uint64_t>(s.stack) * 0x9e3779b97f4a7c15ULL, static_cast<uint64_t>(s.link));
          for (uint32_t a = 0; a < s.attrs.count; ++a) h = HashMix(h, static_cast<uint64_t>(d_.ints[s.attrs.begin + a]));
          auto [it, inserted] = first_.try_emplace(h, UINT32_MAX);
          for (uint32_t r = it->second; r != UINT32_MAX; r = next_[r]) {
            const KeyRec& k = keys_[r];
            if (k.stack == s.stack && k.link == s.link && k.attrs_count == s.attrs.count &&
                std::equal(d_.ints.begin() + k.attrs_begin, d_.ints.begin() + k.attrs_begin + k.attrs_count,
                           d_.ints.begin() + s.attrs.begin)) {
              row = r;
              break;
            }
          }
          if (row == UINT32_MAX) {
            // The new row (index p_.samples.size()) heads the chain.
            keys_.push_back({s.stack, s.link, s.attrs.begin, s.attrs.count});
            next_.push_back(it->second);
            it->second = static_cast<uint32_t>(p_.samples.size());
          }
        }
        if (row != UINT32_MAX) {
          p_.mutable_sample_values(row)[t] += s.value;
          continue;
        }
        // A new row.
        stack_.clear();
        const Range& st = d_.stacks[static_cast<size_t>(s.stack)];
        for (uint32_t k = 0; k < st.count; ++k) {
          int64_t loc = d_.ints[st.begin + k];
          uint32_t l = Location(loc);
          SH_RETURN_IF_ERROR(status_);
          stack_.push_back(l);
        }
        labels.clear();
        for (uint32_t a = 0; a < s.attrs.count; ++a) AddLabel(d_.ints[s.attrs.begin + a], &labels);
        if (s.link != 0) {
          const auto& link = d_.links[static_cast<size_t>(s.link)];
          if (!link.trace_id.empty() && !AllZero(link.trace_id)) {
            labels.push_back({Intern("trace_id"), Intern(Own(HexEncode(link.trace_id))), 0, 0});
          }
          if (!link.span_id.empty() && !AllZero(link.span_id)) {
            labels.push_back({Intern("span_id"), Intern(Own(HexEncode(link.span_id))), 0, 0});
          }
        }
        SH_RETURN_IF_ERROR(status_);
        values_.assign(types, 0);
        values_[t] = s.value;
        p_.AddSample(stack_, values_, labels);
      }
    }
    return std::move(p_);
  }

 private:
  // Strings that are not in the dictionary: `s` must outlive the
  // conversion (a view into the request, a literal, or Own()ed).
  int64_t Intern(std::string_view s) {
    auto [it, inserted] = extra_.try_emplace(s, static_cast<int64_t>(p_.strings.size()));
    if (inserted) p_.strings.emplace_back(s);
    return it->second;
  }
  std::string_view Own(std::string s) { return owned_.emplace_back(std::move(s)); }
  int64_t Str(int64_t i) {
    if (i < 0 || static_cast<size_t>(i) >= d_.strings.size()) {
      if (status_.ok()) status_ = InvalidArgumentError(StrCat("string index ", i, " outside the string table"));
      return 0;
    }
    int64_t& out = string_of_[static_cast<size_t>(i)];
    if (out < 0) {
      // Dictionary strings are distinct already: no lookup needed.
      out = i == 0 ? 0 : static_cast<int64_t>(p_.strings.size());
      if (i != 0) p_.strings.emplace_back(d_.strings[static_cast<size_t>(i)]);
    }
    return out;
  }
  uint32_t Function(int64_t i) {
    if (i == 0) return 0;
    if (i < 0 || static_cast<size_t>(i) >= d_.functions.size()) {
      if (status_.ok()) status_ = InvalidArgumentError(StrCat("function index ", i, " outside the function table"));
      return 0;
    }
    uint32_t& out = function_of_[static_cast<size_t>(i)];
    if (out == 0) {
      const Dict::Function& f = d_.functions[static_cast<size_t>(i)];
      profile::Function pf;
      pf.name = Str(f.name);
      pf.system_name = Str(f.system_name);
      pf.filename = Str(f.filename);
      pf.start_line = f.start_line;
      pf.id = p_.functions.size() + 1;
      p_.functions.push_back(pf);
      out = static_cast<uint32_t>(p_.functions.size());
    }
    return out;
  }
  uint32_t Mapping(int64_t i) {
    if (i == 0) return 0;
    if (i < 0 || static_cast<size_t>(i) >= d_.mappings.size()) {
      if (status_.ok()) status_ = InvalidArgumentError(StrCat("mapping index ", i, " outside the mapping table"));
      return 0;
    }
    uint32_t& out = mapping_of_[static_cast<size_t>(i)];
    if (out == 0) {
      const Dict::Mapping& m = d_.mappings[static_cast<size_t>(i)];
      profile::Mapping pm;
      pm.memory_start = m.start;
      pm.memory_limit = m.limit;
      pm.file_offset = m.offset;
      pm.filename = Str(m.filename);
      pm.has_functions = true;
      int rank = 99;
      for (uint32_t a = 0; a < m.attrs.count; ++a) {
        int64_t ai = d_.ints[m.attrs.begin + a];
        if (ai < 0 || static_cast<size_t>(ai) >= d_.attributes.size()) {
          if (status_.ok()) status_ = InvalidArgumentError(StrCat("attribute index ", ai, " outside the attribute table"));
          break;
        }
        const Dict::Attribute& at = d_.attributes[static_cast<size_t>(ai)];
        if (at.key < 0 || static_cast<size_t>(at.key) >= d_.strings.size()) continue;
        std::string_view key = d_.strings[static_cast<size_t>(at.key)];
        int k = key == kBuildIdGnu ? 0 : key == kBuildIdGo ? 1 : key == kBuildIdHtl ? 2 : 99;
        if (k < rank && at.value.kind == AnyValue::kString) {
          rank = k;
          pm.build_id = Intern(at.value.s);
        }
      }
      pm.id = p_.mappings.size() + 1;
      p_.mappings.push_back(pm);
      out = static_cast<uint32_t>(p_.mappings.size());
    }
    return out;
  }
  uint32_t Location(int64_t i) {
    if (i < 0 || static_cast<size_t>(i) >= d_.locations.size()) {
      if (status_.ok()) status_ = InvalidArgumentError(StrCat("location index ", i, " outside the location table"));
      return 0;
    }
    int64_t& out = location_of_[static_cast<size_t>(i)];
    if (out < 0) {
      const Dict::Location& l = d_.locations[static_cast<size_t>(i)];
      profile::Location pl;
      pl.mapping = Mapping(l.mapping);
      pl.address = l.address;
      pl.line_begin = static_cast<uint32_t>(p_.lines.size());
      for (uint32_t k = 0; k < l.lines.count; ++k) {
        const Dict::Line& line = d_.lines[l.lines.begin + k];
        p_.lines.push_back({Function(line.function), line.line, line.column});
      }
      pl.line_count = l.lines.count;
      pl.id = p_.locations.size() + 1;
      p_.locations.push_back(pl);
      out = static_cast<int64_t>(p_.locations.size() - 1);
    }
    return static_cast<uint32_t>(out);
  }
  void AddLabel(int64_t ai, std::vector<profile::Label>* labels) {
    if (ai < 0 || static_cast<size_t>(ai) >= d_.attributes.size()) {
      if (status_.ok()) status_ = InvalidArgumentError(StrCat("attribute index ", ai, " outside the attribute table"));
      return;
    }
    const Dict::Attribute& a = d_.attributes[static_cast<size_t>(ai)];
    int64_t key = Str(a.key);
    switch (a.value.kind) {
      case AnyValue::kString: labels->push_back({key, Intern(a.value.s), 0, 0}); break;
      case AnyValue::kStrIndex: labels->push_back({key, Str(a.value.i), 0, 0}); break;
      case AnyValue::kBool: labels->push_back({key, Intern(a.value.i ? "true" : "false"), 0, 0}); break;
      case AnyValue::kInt: labels->push_back({key, 0, a.value.i, a.unit ? Str(a.unit) : 0}); break;
      case AnyValue::kDouble: {
        char buf[32];
        snprintf(buf, sizeof(buf), "%g", a.value.d);
        labels->push_back({key, Intern(Own(buf)), 0, 0});
        break;
      }
      default: break;  // arrays, lists and bytes are not labels
    }
  }

  const Dict& d_;
  profile::Profile p_;
  Status status_;
  std::vector<int64_t> string_of_;
  std::vector<uint32_t> function_of_, mapping_of_;
  std::vector<int64_t> location_of_;
  std::unordered_map<std::string_view, int64_t> extra_;
  std::deque<std::string> owned_;
  struct KeyRec {
    int32_t stack, link;
    uint32_t attrs_begin, attrs_count;
  };
  std::vector<KeyRec> keys_;
  std::vector<uint32_t> next_;
  std::unordered_map<uint64_t, uint32_t> first_;
  std::vector<uint32_t> stack_;
  std::vector<int64_t> values_;
};

std::string AnyValueString(const AnyValue& v, const Dict& d) {
  switch (v.kind) {
    case AnyValue::kString: return std::string(v.s);
    case AnyValue::kStrIndex:
      return v.i >= 0 && static_cast<size_t>(v.i) < d.strings.size() ? std::string(d.strings[static_cast<size_t>(v.i)]) : "";
    case AnyValue::kBool: return v.i ? "true" : "false";
    case AnyValue::kInt: return std::to_string(v.i);
    case AnyValue::kDouble: {
      char buf[32];
      snprintf(buf, sizeof(buf), "%g", v.d);
      return buf;
    }
    default: return "";
  }
}

}  // namespace

StatusOr<DecodeResult> DecodeExport(std::string_view bytes) {
  DecodeResult out;
  Dict d;
  std::vector<std::string_view> resources;
  bool ok = ForEach(bytes, [&](uint32_t f, int w, Reader& r) {
    std::string_view m;
    if (w != protowire::kLengthDelimited) return r.SkipField(w);
    if (!r.ReadLengthDelimited(&m)) return false;
    if (f == 1) resources.push_back(m);
    if (f == 2 && !ParseDict(m, &d).ok()) return false;
    return true;
  });
  if (!ok) return Bad("the body is not an ExportProfilesServiceRequest");
  if (!d.strings.empty() && !d.strings[0].empty()) {
    out.error = "string_table[0] must be the empty string";
  }
  if (d.strings.empty()) d.strings.push_back("");  // an empty dictionary still has its zero entries
  if (d.links.empty()) d.links.push_back({});
  GroupConverter conv(d);
  std::vector<OtlpSample> samples;
  for (std::string_view rp : resources) {
    std::vector<profile::LabelPair> base;
    std::string service, executable;
    std::vector<std::string_view> scopes;
    bool rok = ForEach(rp, [&](uint32_t f, int w, Reader& r) {
      std::string_view m;
      if (w != protowire::kLengthDelimited) return r.SkipField(w);
      if (!r.ReadLengthDelimited(&m)) return false;
      if (f == 2) scopes.push_back(m);
      if (f != 1) return true;
      // Resource: attributes (KeyValue) = 1.
      return ForEach(m, [&](uint32_t rf, int rw, Reader& rr) {
        std::string_view kv;
        if (rf != 1 || rw != protowire::kLengthDelimited) return rr.SkipField(rw);
        if (!rr.ReadLengthDelimited(&kv)) return false;
        std::string key;
        AnyValue value;
        bool kok = ForEach(kv, [&](uint32_t kf, int kw, Reader& kr) {
          std::string_view s;
          uint64_t v;
          if (kf == 1 && kw == protowire::kLengthDelimited) {
            if (!kr.ReadLengthDelimited(&s)) return false;
            key = std::string(s);
            return true;
          }
          if (kf == 2 && kw == protowire::kLengthDelimited) return kr.ReadLengthDelimited(&s) && ParseAnyValue(s, &value);
          if (kf == 3 && kw == protowire::kVarint) {
            if (!kr.ReadVarint(&v)) return false;
            int32_t i = I32(v);
            if (key.empty() && i > 0 && static_cast<size_t>(i) < d.strings.size()) key = std::string(d.strings[static_cast<size_t>(i)]);
            return true;
          }
          return kr.SkipField(kw);
        });
        if (!kok) return false;
        std::string v = AnyValueString(value, d);
        if (key.empty() || v.empty()) return true;
        if (key == "service.name") {
          service = v;
        } else {
          if (key == "process.executable.name") executable = v;
          base.push_back({LabelName(key), v});
        }
        return true;
      });
    });
    if (!rok) return Bad("a ResourceProfiles message");
    if (service.empty()) service = executable.empty() ? "unknown_service" : "unknown_service:" + executable;
    base.push_back({"service_name", service});
    for (std::string_view sp : scopes) {
      std::vector<OtlpProfile> profiles;
      samples.clear();
      bool sok = ForEach(sp, [&](uint32_t f, int w, Reader& r) {
        std::string_view m;
        if (f != 2 || w != protowire::kLengthDelimited) return r.SkipField(w);
        if (!r.ReadLengthDelimited(&m)) return false;
        profiles.emplace_back();
        return ParseProfile(m, d, &samples, &profiles.back());
      });
      if (!sok) return Bad("a ScopeProfiles message");
      // Consecutive profiles of one collection merge into one pprof.
      auto same = [&](const OtlpProfile& a, const OtlpProfile& b) {
        auto str = [&](int32_t i) {
          return i >= 0 && static_cast<size_t>(i) < d.strings.size() ? d.strings[static_cast<size_t>(i)] : std::string_view("\x01");
        };
        return a.time == b.time && a.duration == b.duration && a.period == b.period &&
               str(a.period_type) == str(b.period_type) && str(a.period_unit) == str(b.period_unit) &&
               a.attrs.count == b.attrs.count &&
               std::equal(d.ints.begin() + a.attrs.begin, d.ints.begin() + a.attrs.begin + a.attrs.count,
                          d.ints.begin() + b.attrs.begin);
      };
      std::vector<std::vector<const OtlpProfile*>> groups;
      for (const OtlpProfile& p : profiles) {
        if (!groups.empty() && same(*groups.back()[0], p)) {
          groups.back().push_back(&p);
        } else {
          groups.push_back({&p});
        }
      }
      for (const auto& g : groups) {
        auto reject = [&](const Status& st) {
          out.rejected += static_cast<int64_t>(g.size());
          if (out.error.empty()) out.error = st.message();
        };
        auto converted = conv.Convert(g, samples);
        if (!converted.ok()) {
          reject(converted.status());
          continue;
        }
        Decoded dec;
        dec.labels = base;
        bool attrs_ok = true;
        const OtlpProfile& first = *g[0];
        for (uint32_t a = 0; a < first.attrs.count; ++a) {
          int64_t ai = d.ints[first.attrs.begin + a];
          if (ai < 0 || static_cast<size_t>(ai) >= d.attributes.size()) {
            reject(InvalidArgumentError(StrCat("attribute index ", ai, " outside the attribute table")));
            attrs_ok = false;
            break;
          }
          const Dict::Attribute& at = d.attributes[static_cast<size_t>(ai)];
          if (at.key <= 0 || static_cast<size_t>(at.key) >= d.strings.size()) continue;
          std::string v = AnyValueString(at.value, d);
          if (!v.empty()) dec.labels.push_back({LabelName(d.strings[static_cast<size_t>(at.key)]), v});
        }
        if (!attrs_ok) continue;
        dec.profile = std::move(*converted);
        out.profiles.push_back(std::move(dec));
      }
    }
  }
  return out;
}

}  // namespace stackhouse::otlp
