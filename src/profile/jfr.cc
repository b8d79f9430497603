#include "profile/jfr.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "base/protowire.h"
#include "base/strings.h"
#include "profile/builder.h"
#include "profile/jfr_reader.h"

namespace stackhouse::profile {
namespace jfr {

bool Reader::String(std::string* out, int64_t* pool_ref) {
  out->clear();
  *pool_ref = -1;
  switch (Byte()) {
    case 0:  // null
      return false;
    case 1:  // empty
      return true;
    case 2:  // constant pool
      *pool_ref = static_cast<int64_t>(Varint());
      return true;
    case 3:    // UTF-8
    case 5: {  // Latin-1
      uint64_t n = Varint();
      if (n > remaining()) return Fail(), false;
      *out = std::string(Bytes(n));
      return true;
    }
    case 4: {  // UTF-16 code units as varints
      uint64_t n = Varint();
      if (n > remaining()) return Fail(), false;
      for (uint64_t i = 0; i < n && ok(); ++i) {
        uint32_t c = static_cast<uint32_t>(Varint());
        // Encode as UTF-8 (surrogates kept as they are: names are ASCII in practice).
        if (c < 0x80) {
          out->push_back(static_cast<char>(c));
        } else if (c < 0x800) {
          out->push_back(static_cast<char>(0xc0 | (c >> 6)));
          out->push_back(static_cast<char>(0x80 | (c & 0x3f)));
        } else {
          out->push_back(static_cast<char>(0xe0 | ((c >> 12) & 0x0f)));
          out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
          out->push_back(static_cast<char>(0x80 | (c & 0x3f)));
        }
      }
      return true;
    }
    default:
      Fail();
      return false;
  }
}

namespace {

constexpr int kMaxDepth = 32;
constexpr size_t kHeaderSize = 68;

struct Element {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<Element> children;
  std::string_view Attr(std::string_view key) const {
    for (const auto& [k, v] : attributes) {
      if (k == key) return v;
    }
    return {};
  }
};

Status Malformed(const Reader& r, std::string_view what) {
  return InvalidArgumentError(StrCat("jfr: offset ", r.ok() ? r.offset() : r.failed_at(), ": ", what));
}

bool ParseElement(Reader& r, const std::vector<std::string>& strings, Element* e, int depth) {
  if (depth > kMaxDepth) return false;
  auto str = [&](uint64_t i) -> const std::string* { return i < strings.size() ? &strings[i] : nullptr; };
  const std::string* name = str(r.Varint());
  if (name == nullptr) return false;
  e->name = *name;
  uint64_t attrs = r.Varint();
  if (attrs > r.remaining()) return false;
  for (uint64_t i = 0; i < attrs && r.ok(); ++i) {
    const std::string* k = str(r.Varint());
    const std::string* v = str(r.Varint());
    if (k == nullptr || v == nullptr) return false;
    e->attributes.emplace_back(*k, *v);
  }
  uint64_t children = r.Varint();
  if (children > r.remaining()) return false;
  e->children.resize(children);
  for (uint64_t i = 0; i < children && r.ok(); ++i) {
    if (!ParseElement(r, strings, &e->children[i], depth + 1)) return false;
  }
  return r.ok();
}

// One chunk's metadata, constant pools and values.
class Chunk {
 public:
  std::unordered_map<uint64_t, Class> classes;
  std::unordered_map<uint64_t, std::unordered_map<int64_t, Value>> pools;
  Values values;
  uint64_t string_class = 0;  // the id of java.lang.String

  const Class* ClassOf(uint64_t id) const {
    auto it = classes.find(id);
    return it == classes.end() ? nullptr : &it->second;
  }

  Status ParseMetadata(Reader& r) {
    r.Varint();  // start time
    r.Varint();  // duration
    r.Varint();  // metadata id
    uint64_t n = r.Varint();
    if (!r.ok() || n > r.remaining()) return Malformed(r, "bad metadata string table");
    std::vector<std::string> strings(n);
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      int64_t ref;
      r.String(&strings[i], &ref);
    }
    Element root;
    if (!r.ok() || !ParseElement(r, strings, &root, 0)) return Malformed(r, "bad metadata element tree");
    for (const Element& m : root.children) {
      if (m.name != "metadata") continue;
      for (const Element& c : m.children) {
        if (c.name != "class") continue;
        Class cls;
        auto id = ParseUint64(c.Attr("id"));
        if (!id) return Malformed(r, StrCat("class ", Quote(c.Attr("name")), " without an id"));
        cls.id = *id;
        cls.name = std::string(c.Attr("name"));
        static const std::pair<const char*, Class::Primitive> kPrimitives[] = {
            {"boolean", Class::kBoolean}, {"byte", Class::kByte},   {"char", Class::kChar},
            {"short", Class::kShort},     {"int", Class::kInt},     {"long", Class::kLong},
            {"float", Class::kFloat},     {"double", Class::kDouble}, {"java.lang.String", Class::kString}};
        for (const auto& [pname, p] : kPrimitives) {
          if (cls.name == pname) cls.primitive = p;
        }
        if (cls.primitive == Class::kString) string_class = cls.id;
        for (const Element& f : c.children) {
          if (f.name != "field") continue;
          Field field;
          field.name = std::string(f.Attr("name"));
          auto type = ParseUint64(f.Attr("class"));
          if (!type) return Malformed(r, StrCat("field ", Quote(field.name), " of ", cls.name, " without a class"));
          field.type = *type;
          field.constant_pool = f.Attr("constantPool") == "true";
          field.array = !f.Attr("dimension").empty() && f.Attr("dimension") != "0";
          cls.fields.push_back(std::move(field));
        }
        classes[cls.id] = std::move(cls);
      }
    }
    if (classes.empty()) return Malformed(r, "metadata without classes");
    return OkStatus();
  }

  // Decodes one value of `type` (an array of them, or a pool reference).
  bool Decode(Reader& r, uint64_t type, bool constant_pool, bool array, Value* out, int depth) {
    if (depth > kMaxDepth) return false;
    if (array) {
      uint64_t n = r.Varint();
      if (!r.ok() || n > r.remaining()) return false;
      uint32_t range = static_cast<uint32_t>(values.ranges.size());
      uint32_t begin = static_cast<uint32_t>(values.slots.size());
      values.ranges.push_back({begin, static_cast<uint32_t>(n)});
      values.slots.resize(values.slots.size() + n);
      for (uint64_t i = 0; i < n; ++i) {
        Value v;
        if (!Decode(r, type, constant_pool, false, &v, depth + 1)) return false;
        values.slots[begin + i] = v;
      }
      *out = {Value::kArray, type, range, 0};
      return r.ok();
    }
    if (constant_pool) {
      *out = {Value::kRef, type, static_cast<int64_t>(r.Varint()), 0};
      return r.ok();
    }
    const Class* cls = ClassOf(type);
    if (cls == nullptr) return false;
    switch (cls->primitive) {
      case Class::kBoolean:
      case Class::kByte:
        *out = {Value::kInt, type, static_cast<int8_t>(r.Byte()), 0};
        return r.ok();
      case Class::kChar:
      case Class::kShort:
        *out = {Value::kInt, type, static_cast<int16_t>(r.Varint()), 0};
        return r.ok();
      case Class::kInt:
        *out = {Value::kInt, type, static_cast<int32_t>(r.Varint()), 0};
        return r.ok();
      case Class::kLong:
        *out = {Value::kInt, type, static_cast<int64_t>(r.Varint()), 0};
        return r.ok();
      case Class::kFloat: {
        uint32_t bits = static_cast<uint32_t>(r.BigEndian(4));
        float f;
        memcpy(&f, &bits, 4);
        *out = {Value::kDouble, type, 0, f};
        return r.ok();
      }
      case Class::kDouble: {
        uint64_t bits = r.BigEndian(8);
        double d;
        memcpy(&d, &bits, 8);
        *out = {Value::kDouble, type, 0, d};
        return r.ok();
      }
      case Class::kString: {
        std::string s;
        int64_t ref;
        if (!r.String(&s, &ref)) {
          *out = {};
          return r.ok();
        }
        if (ref >= 0) {
          *out = {Value::kRef, type, ref, 0};
        } else {
          *out = {Value::kString, type, static_cast<int64_t>(values.strings.size()), 0};
          values.strings.push_back(std::move(s));
        }
        return r.ok();
      }
      case Class::kNotPrimitive:
        break;
    }
    uint32_t range = static_cast<uint32_t>(values.ranges.size());
    uint32_t begin = static_cast<uint32_t>(values.slots.size());
    values.ranges.push_back({begin, static_cast<uint32_t>(cls->fields.size())});
    values.slots.resize(values.slots.size() + cls->fields.size());
    for (size_t i = 0; i < cls->fields.size(); ++i) {
      const Field& f = cls->fields[i];
      Value v;
      if (!Decode(r, f.type, f.constant_pool, f.array, &v, depth + 1)) return false;
      values.slots[begin + i] = v;
    }
    *out = {Value::kObject, type, range, 0};
    return r.ok();
  }

  Status ParseCheckpoint(Reader& r) {
    r.Varint();  // start time
    r.Varint();  // duration
    r.Varint();  // delta to the previous checkpoint
    r.Byte();    // checkpoint kind (flush, ...)
    uint64_t n = r.Varint();
    if (!r.ok() || n > r.remaining()) return Malformed(r, "bad constant pool count");
    for (uint64_t p = 0; p < n; ++p) {
      uint64_t type = r.Varint();
      uint64_t count = r.Varint();
      if (!r.ok() || count > r.remaining()) return Malformed(r, "bad constant pool size");
      if (ClassOf(type) == nullptr) return Malformed(r, StrCat("constant pool of unknown class ", type));
      auto& pool = pools[type];
      for (uint64_t i = 0; i < count; ++i) {
        int64_t key = static_cast<int64_t>(r.Varint());
        Value v;
        if (!Decode(r, type, false, false, &v, 0)) return Malformed(r, StrCat("bad constant of ", ClassOf(type)->name));
        pool[key] = v;
      }
    }
    return OkStatus();
  }

  // A reference resolved to its constant (kNone if absent); other values as they are.
  Value Resolve(const Value& v) const {
    if (v.kind != Value::kRef) return v;
    auto pool = pools.find(v.type);
    if (pool == pools.end()) return {};
    auto it = pool->second.find(v.i);
    return it == pool->second.end() ? Value() : it->second;
  }
  // Field `name` of an object (resolving a reference first).
  Value Get(const Value& obj_or_ref, std::string_view name) const {
    Value obj = Resolve(obj_or_ref);
    if (obj.kind != Value::kObject) return {};
    const Class* cls = ClassOf(obj.type);
    if (cls == nullptr) return {};
    int i = cls->FieldIndex(name);
    const Values::Range& range = values.ranges[static_cast<size_t>(obj.i)];
    if (i < 0 || static_cast<uint32_t>(i) >= range.count) return {};
    return values.slots[range.begin + static_cast<uint32_t>(i)];
  }
  std::string_view StringOf(const Value& v, int depth = 0) const {
    Value x = Resolve(v);
    if (x.kind == Value::kString) return values.strings[static_cast<size_t>(x.i)];
    // Symbols and other wrappers: their string field.
    if (x.kind == Value::kObject && depth < 4) return StringOf(Get(x, "string"), depth + 1);
    return {};
  }
  int64_t IntOf(const Value& v) const {
    Value x = Resolve(v);
    return x.kind == Value::kInt ? x.i : 0;
  }
};

// What one event kind becomes.
struct Kind {
  const char* event;
  const char* name;  // __name__
  const char* types[2][2];
  const char* period_type[2];
};
const Kind kKinds[] = {
    {"jdk.ExecutionSample", "process_cpu", {{"samples", "count"}, {"cpu", "nanoseconds"}}, {"cpu", "nanoseconds"}},
    {"jdk.ObjectAllocationSample", "process_cpu", {{"alloc_samples", "count"}, {"alloc_size", "bytes"}},
     {"cpu", "nanoseconds"}},
    {"jdk.ObjectAllocationInNewTLAB", "memory",
     {{"alloc_in_new_tlab_objects", "count"}, {"alloc_in_new_tlab_bytes", "bytes"}}, {"space", "bytes"}},
    {"jdk.ObjectAllocationOutsideTLAB", "memory",
     {{"alloc_outside_tlab_objects", "count"}, {"alloc_outside_tlab_bytes", "bytes"}}, {"space", "bytes"}},
    {"jdk.JavaMonitorEnter", "process_cpu", {{"lock_count", "count"}, {"lock_time", "nanoseconds"}},
     {"cpu", "nanoseconds"}},
    {"jdk.ThreadPark", "process_cpu", {{"lock_count", "count"}, {"lock_time", "nanoseconds"}}, {"cpu", "nanoseconds"}},
};
constexpr int kNumKinds = sizeof(kKinds) / sizeof(kKinds[0]);
// Monitor enters and parks share the lock profile.
int OutputOf(int kind) { return kind == 5 ? 4 : kind; }

// "10 ms", "20ms", "1 s" -> nanoseconds; 0 if not a duration.
int64_t ParsePeriod(std::string_view s) {
  s = TrimSpace(s);
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  auto n = ParseInt64(s.substr(0, i));
  if (!n) return 0;
  std::string_view unit = TrimSpace(s.substr(i));
  if (unit == "ns") return *n;
  if (unit == "us") return *n * 1000;
  if (unit == "ms") return *n * 1000000;
  if (unit == "s") return *n * 1000000000;
  return 0;
}

struct Output {
  ProfileBuilder b;
  bool used = false;
  // Chunk-local caches: stack trace key -> locations.
  std::unordered_map<int64_t, std::vector<uint32_t>> stacks;
};

class Converter {
 public:
  explicit Converter(const JfrOptions& o) : options_(o) {}

  Status Parse(std::string_view data, JfrRecording* rec) {
    size_t at = 0;
    while (at < data.size()) {
      SH_RETURN_IF_ERROR(ParseChunk(data, at, rec));
      rec->chunks++;
    }
    return OkStatus();
  }

  std::vector<JfrProfile> Finish(const JfrRecording& rec) {
    std::vector<JfrProfile> out;
    for (int k = 0; k < kNumKinds; ++k) {
      Output& o = outputs_[k];
      if (!o.used) continue;
      Profile& p = o.b.profile();
      p.time_nanos = rec.start_nanos;
      p.duration_nanos = rec.duration_nanos;
      p.period = kKinds[k].period_type[0] == std::string_view("cpu") ? cpu_period_ : 1;
      out.push_back({kKinds[k].name, o.b.Finish()});
    }
    return out;
  }

 private:
  Status ParseChunk(std::string_view data, size_t& at, JfrRecording* rec) {
    Reader h(data.substr(at), at);
    if (h.remaining() < kHeaderSize || h.Bytes(4) != std::string_view("FLR\0", 4)) {
      return InvalidArgumentError(StrCat("jfr: offset ", at, ": not a JFR chunk (no FLR magic)"));
    }
    uint16_t major = static_cast<uint16_t>(h.BigEndian(2));
    h.BigEndian(2);  // minor
    if (major != 2) {
      return InvalidArgumentError(StrCat("jfr: offset ", at, ": JFR format ", major, ".x is not supported (2.x is)"));
    }
    uint64_t size = h.BigEndian(8);
    uint64_t cp_offset = h.BigEndian(8);
    uint64_t meta_offset = h.BigEndian(8);
    int64_t start_nanos = static_cast<int64_t>(h.BigEndian(8));
    int64_t duration_nanos = static_cast<int64_t>(h.BigEndian(8));
    h.BigEndian(8);  // start ticks
    uint64_t ticks_per_second = h.BigEndian(8);
    uint32_t features = static_cast<uint32_t>(h.BigEndian(4));
    if (size < kHeaderSize || size > data.size() - at || meta_offset < kHeaderSize || meta_offset >= size ||
        cp_offset >= size) {
      return InvalidArgumentError(StrCat("jfr: offset ", at, ": chunk header out of range (size ", size, ")"));
    }
    if ((features & 1) == 0) {
      return InvalidArgumentError(StrCat("jfr: offset ", at, ": uncompressed integers are not supported"));
    }
    if (rec->chunks == 0 || start_nanos < rec->start_nanos) {
      int64_t end = std::max(rec->start_nanos + rec->duration_nanos, start_nanos + duration_nanos);
      rec->start_nanos = rec->chunks == 0 ? start_nanos : std::min(rec->start_nanos, start_nanos);
      rec->duration_nanos = end - rec->start_nanos;
    } else {
      rec->duration_nanos = std::max(rec->duration_nanos, start_nanos + duration_nanos - rec->start_nanos);
    }
    ticks_per_ns_ = ticks_per_second > 0 ? static_cast<double>(ticks_per_second) / 1e9 : 1.0;
    std::string_view chunk = data.substr(at, size);
    Chunk c;
    // Pass 1: where every event is; metadata and constant pools first.
    struct Event {
      size_t pos, end;
      uint64_t type;
    };
    std::vector<Event> events;
    Reader r(chunk, at);
    r.Seek(kHeaderSize);
    bool have_metadata = false;
    while (r.remaining() > 0) {
      size_t start = r.pos();
      uint64_t n = r.Varint();
      if (!r.ok() || n < 2 || n > chunk.size() - start) return Malformed(r, "bad event size");
      uint64_t type = r.Varint();
      if (!r.ok()) return Malformed(r, "bad event type");
      size_t end = start + n;
      if (type == 0) {
        Reader m(chunk.substr(0, end), at);
        m.Seek(r.pos());
        SH_RETURN_IF_ERROR(c.ParseMetadata(m));
        have_metadata = true;
        rec->event_counts["jdk.Metadata"]++;
      } else {
        events.push_back({r.pos(), end, type});
        if (type == 1) rec->event_counts["jdk.CheckPoint"]++;
      }
      r.Seek(end);
    }
    if (!have_metadata) return InvalidArgumentError(StrCat("jfr: offset ", at, ": chunk without metadata"));
    for (const Event& e : events) {
      if (e.type != 1) continue;
      Reader cp(chunk.substr(0, e.end), at);
      cp.Seek(e.pos);
      SH_RETURN_IF_ERROR(c.ParseCheckpoint(cp));
    }
    // Which classes are the events we turn into profiles.
    std::unordered_map<uint64_t, int> kind_of;
    uint64_t active_setting = 0, execution_sample = 0;
    for (const auto& [id, cls] : c.classes) {
      for (int k = 0; k < kNumKinds; ++k) {
        if (cls.name == kKinds[k].event) kind_of[id] = k;
      }
      if (cls.name == "jdk.ActiveSetting") active_setting = id;
      if (cls.name == "jdk.ExecutionSample") execution_sample = id;
    }
    for (auto& o : outputs_) o.stacks.clear();
    // Pass 2: the recording's settings (the CPU period), then the events.
    size_t mark_strings = c.values.strings.size(), mark_ranges = c.values.ranges.size(),
           mark_slots = c.values.slots.size();
    auto release = [&] {  // event values are not needed afterwards
      c.values.strings.resize(mark_strings);
      c.values.ranges.resize(mark_ranges);
      c.values.slots.resize(mark_slots);
    };
    for (int pass = 0; pass < 2; ++pass) {
      for (const Event& e : events) {
        if (e.type == 1) continue;
        const Class* cls = c.ClassOf(e.type);
        if (cls == nullptr) {
          return InvalidArgumentError(StrCat("jfr: offset ", at + e.pos, ": event of unknown type ", e.type));
        }
        if (pass == 0) {
          rec->event_counts[cls->name]++;
          if (e.type != active_setting || active_setting == 0) continue;
        }
        auto k = kind_of.find(e.type);
        if (pass == 1 && k == kind_of.end()) continue;
        if (++decoded_ > options_.max_events) {
          return ResourceExhaustedError(StrCat("jfr: more than ", options_.max_events, " events"));
        }
        Reader er(chunk.substr(0, e.end), at);
        er.Seek(e.pos);
        Value ev;
        if (!c.Decode(er, e.type, false, false, &ev, 0)) return Malformed(er, StrCat("bad ", cls->name, " event"));
        if (pass == 0) {
          if (static_cast<uint64_t>(c.IntOf(c.Get(ev, "id"))) == execution_sample &&
              c.StringOf(c.Get(ev, "name")) == "period") {
            int64_t p = ParsePeriod(c.StringOf(c.Get(ev, "value")));
            if (p > 0) cpu_period_ = p;
          }
        } else {
          AddEvent(c, ev, k->second);
        }
        release();
      }
    }
    at += size;
    return OkStatus();
  }

  const std::vector<uint32_t>& Stack(Chunk& c, Output& o, const Value& ref) {
    static const std::vector<uint32_t> kEmpty;
    if (ref.kind != Value::kRef) return kEmpty;
    auto [it, inserted] = o.stacks.try_emplace(ref.i);
    if (!inserted) return it->second;
    Value frames = c.Get(ref, "frames");
    if (frames.kind != Value::kArray) return it->second;
    const Values::Range range = c.values.ranges[static_cast<size_t>(frames.i)];
    for (uint32_t i = 0; i < range.count; ++i) {
      Value f = c.values.slots[range.begin + i];
      Value method = c.Get(f, "method");
      std::string cls(c.StringOf(c.Get(c.Get(method, "type"), "name")));
      std::replace(cls.begin(), cls.end(), '/', '.');
      std::string_view name = c.StringOf(c.Get(method, "name"));
      std::string full = cls.empty() ? std::string(name) : StrCat(cls, ".", name);
      if (full.empty()) full = "<unknown>";
      int64_t line = c.IntOf(c.Get(f, "lineNumber"));
      uint32_t fn = o.b.Function(o.b.String(full), o.b.String(full), 0, 0);
      Line l{fn, line > 0 ? line : 0, 0};
      it->second.push_back(o.b.Location(0, 0, std::span<const Line>(&l, 1)));
    }
    return it->second;
  }

  void AddEvent(Chunk& c, const Value& ev, int kind) {
    Output& o = outputs_[OutputOf(kind)];
    const Kind& spec = kKinds[OutputOf(kind)];
    if (!o.used) {
      o.used = true;
      Profile& p = o.b.profile();
      for (const auto& t : spec.types) p.sample_types.push_back({o.b.String(t[0]), o.b.String(t[1])});
      p.period_type = {o.b.String(spec.period_type[0]), o.b.String(spec.period_type[1])};
    }
    Value stack_ref = c.Get(ev, "stackTrace");
    const std::vector<uint32_t>& stack = Stack(c, o, stack_ref);
    int64_t values[2] = {1, 0};
    switch (kind) {
      case 0:
        values[1] = cpu_period_;
        break;
      case 1:
        values[1] = c.IntOf(c.Get(ev, "weight"));
        break;
      case 2:
        values[1] = c.IntOf(c.Get(ev, "tlabSize"));
        break;
      case 3:
        values[1] = c.IntOf(c.Get(ev, "allocationSize"));
        break;
      default:
        values[1] = static_cast<int64_t>(static_cast<double>(c.IntOf(c.Get(ev, "duration"))) / ticks_per_ns_);
        break;
    }
    labels_.clear();
    if (options_.contexts != nullptr) {
      Value ctx = c.Get(ev, "contextId");
      if (ctx.kind == Value::kInt && ctx.i != 0) {
        auto it = options_.contexts->find(ctx.i);
        if (it != options_.contexts->end()) {
          for (const auto& [k, v] : it->second) labels_.push_back({o.b.String(k), o.b.String(v), 0, 0});
          std::sort(labels_.begin(), labels_.end(),
                    [](const Label& a, const Label& b) { return std::tie(a.key, a.str) < std::tie(b.key, b.str); });
        }
      }
    }
    o.b.AddSample(stack, values, labels_);
  }

  const JfrOptions& options_;
  Output outputs_[kNumKinds];
  std::vector<Label> labels_;
  int64_t cpu_period_ = 0;
  double ticks_per_ns_ = 1;
  size_t decoded_ = 0;

 public:
  void SetDefaultPeriod(int64_t p) { cpu_period_ = p; }
};

}  // namespace
}  // namespace jfr

bool LooksLikeJfr(std::string_view data) { return data.size() >= 4 && data.substr(0, 4) == std::string_view("FLR\0", 4); }

StatusOr<JfrContexts> ParseLabelsSnapshot(std::string_view bytes) {
  // message LabelsSnapshot { map<int64, Context> contexts = 1; map<int64, string> strings = 2; }
  // message Context { map<int64, int64> labels = 1; }
  JfrContexts out;
  std::unordered_map<int64_t, std::string> strings;
  std::vector<std::pair<int64_t, std::vector<std::pair<int64_t, int64_t>>>> contexts;
  protowire::Reader r(bytes, "labels");
  auto bad = [] { return InvalidArgumentError("labels: malformed LabelsSnapshot"); };
  while (!r.done()) {
    uint32_t field;
    int wire;
    if (!r.ReadTag(&field, &wire)) return bad();
    if (wire != protowire::kLengthDelimited || (field != 1 && field != 2)) {
      if (!r.SkipField(wire)) return bad();
      continue;
    }
    std::string_view entry;
    if (!r.ReadLengthDelimited(&entry)) return bad();
    protowire::Reader e = r.Sub(entry);
    int64_t key = 0;
    std::string_view value;
    bool has_value = false;
    while (!e.done()) {
      uint32_t f;
      int w;
      if (!e.ReadTag(&f, &w)) return bad();
      if (f == 1 && w == protowire::kVarint) {
        uint64_t v;
        if (!e.ReadVarint(&v)) return bad();
        key = static_cast<int64_t>(v);
      } else if (f == 2 && w == protowire::kLengthDelimited) {
        if (!e.ReadLengthDelimited(&value)) return bad();
        has_value = true;
      } else if (!e.SkipField(w)) {
        return bad();
      }
    }
    if (field == 2) {
      strings[key] = std::string(value);
      continue;
    }
    std::vector<std::pair<int64_t, int64_t>> labels;
    if (has_value) {
      protowire::Reader ctx = r.Sub(value);
      while (!ctx.done()) {
        uint32_t f;
        int w;
        if (!ctx.ReadTag(&f, &w)) return bad();
        if (f != 1 || w != protowire::kLengthDelimited) {
          if (!ctx.SkipField(w)) return bad();
          continue;
        }
        std::string_view kv;
        if (!ctx.ReadLengthDelimited(&kv)) return bad();
        protowire::Reader l = ctx.Sub(kv);
        int64_t k = 0, v = 0;
        while (!l.done()) {
          uint32_t lf;
          int lw;
          if (!l.ReadTag(&lf, &lw)) return bad();
          uint64_t x;
          if (lw == protowire::kVarint && (lf == 1 || lf == 2)) {
            if (!l.ReadVarint(&x)) return bad();
            (lf == 1 ? k : v) = static_cast<int64_t>(x);
          } else if (!l.SkipField(lw)) {
            return bad();
          }
        }
        labels.push_back({k, v});
      }
    }
    contexts.push_back({key, std::move(labels)});
  }
  for (const auto& [id, labels] : contexts) {
    auto& dst = out[id];
    for (const auto& [k, v] : labels) {
      auto ks = strings.find(k), vs = strings.find(v);
      if (ks == strings.end() || vs == strings.end()) return InvalidArgumentError("labels: a label refers to a missing string");
      dst.push_back({ks->second, vs->second});
    }
  }
  return out;
}

StatusOr<Profile> JfrToProfile(std::string_view data, const JfrOptions& options) {
  SH_ASSIGN_OR_RETURN(JfrRecording rec, ParseJfr(data, options));
  if (rec.profiles.empty()) {
    return InvalidArgumentError("jfr: no execution, allocation or lock events in the recording");
  }
  // One pprof with every sample type; each event kind fills its columns.
  ProfileBuilder b;
  Profile& out = b.profile();
  const Profile* cpu = nullptr;
  for (const JfrProfile& jp : rec.profiles) {
    for (const ValueType& vt : jp.profile.sample_types) {
      out.sample_types.push_back({b.String(jp.profile.str(vt.type)), b.String(jp.profile.str(vt.unit))});
    }
    if (jp.profile.str(jp.profile.period_type.type) == "cpu" && cpu == nullptr) cpu = &jp.profile;
  }
  out.period_type = {b.String("cpu"), b.String("nanoseconds")};
  out.period = cpu != nullptr ? cpu->period : 0;
  out.time_nanos = rec.start_nanos;
  out.duration_nanos = rec.duration_nanos;
  size_t column = 0;
  std::vector<int64_t> values(out.sample_types.size());
  std::vector<uint32_t> stack;
  std::vector<Label> labels;
  for (const JfrProfile& jp : rec.profiles) {
    const Profile& p = jp.profile;
    std::vector<int64_t> loc_map(p.locations.size(), -1);
    for (size_t i = 0; i < p.samples.size(); ++i) {
      stack.clear();
      for (uint32_t l : p.sample_stack(i)) {
        if (loc_map[l] < 0) {
          const Location& loc = p.locations[l];
          std::vector<Line> lines;
          for (const Line& line : p.location_lines(loc)) {
            const Function* f = p.function(line.function);
            uint32_t fn = f == nullptr ? 0
                                       : b.Function(b.String(p.str(f->name)), b.String(p.str(f->system_name)),
                                                    b.String(p.str(f->filename)), f->start_line);
            lines.push_back({fn, line.line, line.column});
          }
          loc_map[l] = b.Location(0, loc.address, lines);
        }
        stack.push_back(static_cast<uint32_t>(loc_map[l]));
      }
      labels.clear();
      for (const Label& l : p.sample_labels(i)) {
        labels.push_back({b.String(p.str(l.key)), l.str ? b.String(p.str(l.str)) : 0, l.num,
                          l.num_unit ? b.String(p.str(l.num_unit)) : 0});
      }
      std::fill(values.begin(), values.end(), 0);
      for (size_t t = 0; t < p.num_types(); ++t) values[column + t] = p.sample_values(i)[t];
      b.AddSample(stack, values, labels);
    }
    column += p.num_types();
  }
  return b.Finish();
}

StatusOr<JfrRecording> ParseJfr(std::string_view data, const JfrOptions& options) {
  JfrRecording rec;
  jfr::Converter conv(options);
  conv.SetDefaultPeriod(options.sample_rate_hz > 0 ? 1000000000 / options.sample_rate_hz : 10000000);
  SH_RETURN_IF_ERROR(conv.Parse(data, &rec));
  rec.profiles = conv.Finish(rec);
  return rec;
}

}  // namespace stackhouse::profile
