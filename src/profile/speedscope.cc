#include "profile/speedscope.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "base/hash.h"
#include "base/strings.h"
#include "profile/builder.h"
#include "profile/frames.h"

namespace stackhouse::profile {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kSchemaUrl = "https://www.speedscope.app/file-format-schema.json";

// Evented profiles can describe far more stack frames than they take bytes
// (one deep stack, many short events on top of it). The frames of all stacks
// of the result are limited to this many per input byte, plus a constant.
constexpr uint64_t kFramesPerInputByte = 16;
constexpr uint64_t kFramesSlack = uint64_t{1} << 24;

// The sample type kinds a speedscope unit maps to.
enum Kind { kTime = 0, kBytes = 1, kNone = 2, kNumKinds = 3 };
constexpr const char* kKindType[kNumKinds] = {"wall", "space", "samples"};
constexpr const char* kKindUnit[kNumKinds] = {"nanoseconds", "bytes", "count"};

struct Unit {
  Kind kind;
  int64_t factor;  // base units (nanoseconds, bytes, counts) per unit
};

std::optional<Unit> LookupUnit(std::string_view unit) {
  if (unit == "none") return Unit{kNone, 1};
  if (unit == "bytes") return Unit{kBytes, 1};
  if (unit == "nanoseconds") return Unit{kTime, 1};
  if (unit == "microseconds") return Unit{kTime, 1000};
  if (unit == "milliseconds") return Unit{kTime, 1000000};
  if (unit == "seconds") return Unit{kTime, 1000000000};
  return std::nullopt;
}

// A JSON number times `factor`, rounded to the nearest integer; nullopt when
// it is not a finite number or the result does not fit in int64.
std::optional<int64_t> ScaledInt(const Json& v, int64_t factor) {
  int64_t out;
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / factor)) {
      return std::nullopt;
    }
    return static_cast<int64_t>(u) * factor;
  }
  if (v.is_number_integer()) {
    if (__builtin_mul_overflow(v.get<int64_t>(), factor, &out)) return std::nullopt;
    return out;
  }
  if (!v.is_number_float()) return std::nullopt;
  double d = v.get<double>() * static_cast<double>(factor);
  // 2^63: every double below it (in magnitude) rounds into int64.
  if (!std::isfinite(d) || std::fabs(d) >= 9223372036854775808.0) return std::nullopt;
  return std::llround(d);
}

bool IsNegative(const Json& v) {
  return (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0) ||
         (v.is_number_float() && v.get<double>() < 0);
}

// The value for an error message: short JSON text of `v`.
std::string Show(const Json& v) {
  if (v.is_string()) return Quote(v.get_ref<const std::string&>());
  if (v.is_number() || v.is_boolean() || v.is_null()) return v.dump();
  return std::string("an ") + (v.is_array() ? "array" : "object");
}

const Json* Field(const Json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// "speedscope: <path>: <what>" as an InvalidArgumentError. Paths are only
// built on the way to an error.
Status Error(std::string_view path, std::string_view what) {
  return InvalidArgumentError(StrCat("speedscope: ", path, ": ", what));
}
Status TypeError(std::string_view path, std::string_view want, const Json& got) {
  return Error(path, StrCat("expected ", want, ", got ", got.type_name()));
}
// The error for field `key` (null if missing) of the object at `path`.
Status FieldError(std::string_view path, const char* key, const Json* v, std::string_view want) {
  if (v == nullptr) {
    return Error(path.empty() ? "top level" : path, StrCat("missing \"", key, "\""));
  }
  return TypeError(path.empty() ? std::string(key) : StrCat(path, ".", key), want, *v);
}
// Field `key` of `object` if it passes `is`, null if it is absent and optional.
StatusOr<const Json*> Get(const Json& object, const char* key, std::string_view path, bool required,
                          bool (Json::*is)() const noexcept, std::string_view want) {
  const Json* v = Field(object, key);
  if (v == nullptr ? !required : (v->*is)()) return v;
  return FieldError(path, key, v, want);
}

bool IsFrameIndex(const Json& v, size_t num_frames) {
  return v.is_number_integer() && !IsNegative(v) && v.get<uint64_t>() < num_frames;
}
std::string FrameIndexProblem(const Json& v, size_t num_frames) {
  if (!v.is_number_integer()) return StrCat("frame index ", Show(v), " is not an integer");
  return StrCat("frame index ", v.dump(), " out of range (", num_frames, " frames)");
}

class Parser {
 public:
  Parser(const SpeedscopeOptions& options, size_t input_bytes)
      : opt_(options), frame_budget_(kFramesPerInputByte * input_bytes + kFramesSlack) {}

  StatusOr<Profile> Run(const Json& root);

 private:
  Status ReadFrames(const Json& root);
  // A non-negative integer field of a frame ("line", "col"), 0 if absent.
  StatusOr<int64_t> FrameInt(const Json& frame, const char* key, size_t i);
  Status ReadSampled(size_t k, const Json& prof, const Unit& unit);
  Status ReadEvented(size_t k, const Json& prof, const Unit& unit);
  // Adds `value` to column `kind` for the stack `leaf_first` (frame indexes).
  // `path` names the JSON for an error.
  template <typename Path>
  Status Add(const Path& path, Kind kind, std::span<const uint32_t> leaf_first, int64_t value);
  std::string FrameDesc(uint32_t frame) {
    return StrCat(frame, " (", Quote(b_.profile().str(frame_names_[frame])), ")");
  }

  const SpeedscopeOptions& opt_;
  ProfileBuilder b_;
  std::vector<uint32_t> frame_locations_;  // speedscope frame index -> location
  std::vector<int64_t> frame_names_;       // speedscope frame index -> string
  int column_[kNumKinds] = {-1, -1, -1};
  int64_t totals_[kNumKinds] = {0, 0, 0};
  uint64_t frame_budget_;  // frames all stacks of the result may still hold
  bool with_labels_ = false;
  Label label_;
  std::vector<uint32_t> locations_;
  std::vector<int64_t> values_;
};

StatusOr<int64_t> Parser::FrameInt(const Json& frame, const char* key, size_t i) {
  const Json* v = Field(frame, key);
  if (v == nullptr || v->is_null()) return 0;
  if (!v->is_number_integer() || IsNegative(*v) || v->get<uint64_t>() > INT64_MAX) {
    return Error(StrCat("shared.frames[", i, "].", key),
                 StrCat(Show(*v), " is not a non-negative integer"));
  }
  return v->get<int64_t>();
}

Status Parser::ReadFrames(const Json& root) {
  SH_ASSIGN_OR_RETURN(const Json* shared,
                      Get(root, "shared", "", true, &Json::is_object, "an object"));
  SH_ASSIGN_OR_RETURN(const Json* frames,
                      Get(*shared, "frames", "shared", true, &Json::is_array, "an array"));
  frame_locations_.reserve(frames->size());
  frame_names_.reserve(frames->size());
  for (size_t i = 0; i < frames->size(); ++i) {
    auto where = [&] { return StrCat("shared.frames[", i, "]"); };
    const Json& f = (*frames)[i];
    if (!f.is_object()) return TypeError(where(), "an object", f);
    const Json* name = Field(f, "name");
    if (name == nullptr || !name->is_string()) return FieldError(where(), "name", name, "a string");
    const Json* file = Field(f, "file");
    if (file != nullptr && !file->is_null() && !file->is_string()) {
      return FieldError(where(), "file", file, "a string");
    }
    SH_ASSIGN_OR_RETURN(int64_t line, FrameInt(f, "line", i));
    SH_ASSIGN_OR_RETURN(int64_t col, FrameInt(f, "col", i));
    int64_t name_index = b_.String(name->get_ref<const std::string&>());
    int64_t file_index =
        file != nullptr && file->is_string() ? b_.String(file->get_ref<const std::string&>()) : 0;
    Line l;
    l.function = b_.Function(name_index, 0, file_index, line);
    l.line = line;
    l.column = col;
    frame_locations_.push_back(b_.Location(0, 0, std::span<const Line>(&l, 1)));
    frame_names_.push_back(name_index);
  }
  return OkStatus();
}

template <typename Path>
Status Parser::Add(const Path& path, Kind kind, std::span<const uint32_t> leaf_first,
                   int64_t value) {
  if (value == 0) return OkStatus();
  if (__builtin_add_overflow(totals_[kind], value, &totals_[kind])) {
    return Error(path(), StrCat("the total of ", kKindType[kind], " overflows int64"));
  }
  if (leaf_first.size() > frame_budget_) {
    return ResourceExhaustedError(StrCat("speedscope: ", path(), ": the stacks hold more than ",
                                         kFramesPerInputByte, " frames per input byte (plus ",
                                         kFramesSlack, ")"));
  }
  frame_budget_ -= leaf_first.size();
  locations_.clear();
  for (uint32_t f : leaf_first) locations_.push_back(frame_locations_[f]);
  values_.assign(b_.profile().num_types(), 0);
  values_[column_[kind]] = value;
  b_.AddSample(locations_, values_,
               with_labels_ ? std::span<const Label>(&label_, 1) : std::span<const Label>());
  return OkStatus();
}

Status Parser::ReadSampled(size_t k, const Json& prof, const Unit& unit) {
  std::string where = StrCat("profiles[", k, "]");
  SH_ASSIGN_OR_RETURN(const Json* samples,
                      Get(prof, "samples", where, true, &Json::is_array, "an array"));
  SH_ASSIGN_OR_RETURN(const Json* weights,
                      Get(prof, "weights", where, true, &Json::is_array, "an array"));
  if (samples->size() != weights->size()) {
    return Error(where, StrCat(samples->size(), " samples but ", weights->size(), " weights"));
  }
  std::vector<uint32_t> leaf_first;
  const size_t num_frames = frame_locations_.size();
  for (size_t i = 0; i < samples->size(); ++i) {
    auto at = [&] { return StrCat(where, ".samples[", i, "]"); };
    auto wat = [&] { return StrCat(where, ".weights[", i, "]"); };
    const Json& s = (*samples)[i];
    if (!s.is_array()) return TypeError(at(), "an array of frame indexes", s);
    if (s.size() > opt_.max_frames_per_stack) {
      return ResourceExhaustedError(StrCat("speedscope: ", at(), ": ", s.size(),
                                           " frames, more than the limit of ",
                                           opt_.max_frames_per_stack));
    }
    leaf_first.resize(s.size());
    for (size_t j = 0; j < s.size(); ++j) {
      if (!IsFrameIndex(s[j], num_frames)) return Error(at(), FrameIndexProblem(s[j], num_frames));
      leaf_first[s.size() - 1 - j] = static_cast<uint32_t>(s[j].get<uint64_t>());
    }
    const Json& w = (*weights)[i];
    if (!w.is_number()) return TypeError(wat(), "a number", w);
    if (IsNegative(w)) return Error(wat(), StrCat("weight ", w.dump(), " is negative"));
    std::optional<int64_t> value = ScaledInt(w, unit.factor);
    if (!value) return Error(wat(), StrCat("weight ", w.dump(), " is out of range"));
    SH_RETURN_IF_ERROR(Add(at, unit.kind, leaf_first, *value));
  }
  return OkStatus();
}

Status Parser::ReadEvented(size_t k, const Json& prof, const Unit& unit) {
  std::string where = StrCat("profiles[", k, "]");
  SH_ASSIGN_OR_RETURN(const Json* events,
                      Get(prof, "events", where, true, &Json::is_array, "an array"));
  // The call tree of the open stacks seen so far; self time per node.
  struct Node {
    uint32_t parent;
    uint32_t frame;
    uint32_t depth;
    int64_t self;
  };
  std::vector<Node> nodes = {{0, 0, 0, 0}};
  HashIndex children;
  uint32_t top = 0;  // node of the current stack; 0 = empty
  int64_t prev_at = 0;
  double prev_raw = 0;
  const Json* prev_at_json = nullptr;
  auto attribute = [&](int64_t at, std::string_view path) -> Status {
    int64_t span;
    if (__builtin_sub_overflow(at, prev_at, &span) ||
        __builtin_add_overflow(nodes[top].self, span, &nodes[top].self)) {
      return Error(path, "time span overflows int64 nanoseconds");
    }
    return OkStatus();
  };
  const size_t num_frames = frame_locations_.size();
  for (size_t i = 0; i < events->size(); ++i) {
    auto ev = [&] { return StrCat(where, ".events[", i, "]"); };
    const Json& e = (*events)[i];
    if (!e.is_object()) return TypeError(ev(), "an object", e);
    const Json* type = Field(e, "type");
    if (type == nullptr || !type->is_string()) return FieldError(ev(), "type", type, "a string");
    const std::string& t = type->get_ref<const std::string&>();
    if (t != "O" && t != "C") return Error(ev(), StrCat("unknown event type ", Quote(t)));
    const Json* frame_json = Field(e, "frame");
    if (frame_json == nullptr) return FieldError(ev(), "frame", frame_json, "a frame index");
    if (!IsFrameIndex(*frame_json, num_frames)) {
      return Error(ev(), FrameIndexProblem(*frame_json, num_frames));
    }
    uint32_t frame = static_cast<uint32_t>(frame_json->get<uint64_t>());
    const Json* at_json = Field(e, "at");
    if (at_json == nullptr || !at_json->is_number()) {
      return FieldError(ev(), "at", at_json, "a number");
    }
    std::optional<int64_t> at = ScaledInt(*at_json, unit.factor);
    if (!at) return Error(ev(), StrCat("time ", at_json->dump(), " is out of range"));
    double raw = at_json->get<double>();
    if (i > 0) {
      if (raw < prev_raw || *at < prev_at) {
        return Error(ev(), StrCat("time goes backwards: \"at\" ", at_json->dump(),
                                  " is before the previous event's ", prev_at_json->dump()));
      }
      if (top != 0) SH_RETURN_IF_ERROR(attribute(*at, ev()));
    }
    prev_at = *at;
    prev_raw = raw;
    prev_at_json = at_json;
    if (t == "O") {
      if (nodes[top].depth >= opt_.max_frames_per_stack) {
        return ResourceExhaustedError(StrCat("speedscope: ", ev(), ": more than ",
                                             opt_.max_frames_per_stack, " frames open"));
      }
      uint32_t next = static_cast<uint32_t>(nodes.size());
      uint32_t parent = top;
      top = children.FindOrInsert(HashMix(parent, frame), next, [&](uint32_t n) {
        return nodes[n].parent == parent && nodes[n].frame == frame;
      });
      if (top == next) nodes.push_back({parent, frame, nodes[parent].depth + 1, 0});
    } else if (top == 0) {
      return Error(ev(),
                   StrCat("\"C\" event closes frame ", FrameDesc(frame), " but no frame is open"));
    } else if (nodes[top].frame != frame) {
      return Error(ev(), StrCat("\"C\" event closes frame ", FrameDesc(frame), " but frame ",
                                FrameDesc(nodes[top].frame), " is on top of the stack"));
    } else {
      top = nodes[top].parent;
    }
  }
  SH_ASSIGN_OR_RETURN(const Json* end,
                      Get(prof, "endValue", where, top != 0, &Json::is_number, "a number"));
  if (top != 0) {
    std::optional<int64_t> end_at = ScaledInt(*end, unit.factor);
    if (!end_at) return Error(where + ".endValue", StrCat(end->dump(), " is out of range"));
    if (*end_at < prev_at || end->get<double>() < prev_raw) {
      return Error(where + ".endValue",
                   StrCat(end->dump(), " is before the last event, with frames still open"));
    }
    SH_RETURN_IF_ERROR(attribute(*end_at, where + ".endValue"));
  }
  std::vector<uint32_t> leaf_first;
  for (const Node& node : nodes) {
    if (node.self == 0) continue;
    leaf_first.clear();
    for (const Node* n = &node; n->depth > 0; n = &nodes[n->parent]) {
      leaf_first.push_back(n->frame);
    }
    SH_RETURN_IF_ERROR(Add([&] { return where + ".events"; }, unit.kind, leaf_first, node.self));
  }
  return OkStatus();
}

StatusOr<Profile> Parser::Run(const Json& root) {
  if (!root.is_object()) return TypeError("top level", "an object", root);
  SH_RETURN_IF_ERROR(ReadFrames(root));
  SH_ASSIGN_OR_RETURN(const Json* profiles,
                      Get(root, "profiles", "", true, &Json::is_array, "an array"));
  if (profiles->empty()) return Error("profiles", "no profiles");
  // First pass: types and units, so that the sample types are known.
  std::vector<Unit> units;
  for (size_t k = 0; k < profiles->size(); ++k) {
    const Json& prof = (*profiles)[k];
    std::string where = StrCat("profiles[", k, "]");
    if (!prof.is_object()) return TypeError(where, "an object", prof);
    SH_ASSIGN_OR_RETURN(const Json* type,
                        Get(prof, "type", where, true, &Json::is_string, "a string"));
    if (*type != "sampled" && *type != "evented") {
      return Error(where + ".type", StrCat("unknown profile type ", Show(*type),
                                           " (want \"sampled\" or \"evented\")"));
    }
    SH_ASSIGN_OR_RETURN(const Json* unit_json,
                        Get(prof, "unit", where, true, &Json::is_string, "a string"));
    std::optional<Unit> unit = LookupUnit(unit_json->get_ref<const std::string&>());
    if (!unit) {
      return Error(where + ".unit",
                   StrCat("unknown unit ", Show(*unit_json),
                          " (want none, nanoseconds, microseconds, milliseconds, seconds or "
                          "bytes)"));
    }
    SH_RETURN_IF_ERROR(Get(prof, "name", where, false, &Json::is_string, "a string"));
    SH_RETURN_IF_ERROR(Get(prof, "startValue", where, false, &Json::is_number, "a number"));
    SH_RETURN_IF_ERROR(Get(prof, "endValue", where, false, &Json::is_number, "a number"));
    Profile& p = b_.profile();
    if (column_[unit->kind] < 0) {
      column_[unit->kind] = static_cast<int>(p.sample_types.size());
      p.sample_types.push_back(
          {b_.String(kKindType[unit->kind]), b_.String(kKindUnit[unit->kind])});
    }
    units.push_back(*unit);
  }
  size_t active = 0;
  if (const Json* a = Field(root, "activeProfileIndex"); a != nullptr && !a->is_null()) {
    if (!a->is_number_integer() || IsNegative(*a) || a->get<uint64_t>() >= profiles->size()) {
      return Error("activeProfileIndex",
                   StrCat(Show(*a), " is not a profile index (", profiles->size(), " profiles)"));
    }
    active = a->get<uint64_t>();
  }
  b_.profile().default_sample_type = b_.String(kKindType[units[active].kind]);
  // Second pass: the samples.
  with_labels_ = profiles->size() > 1;
  if (with_labels_) label_.key = b_.String("thread");
  for (size_t k = 0; k < profiles->size(); ++k) {
    const Json& prof = (*profiles)[k];
    if (with_labels_) {
      // Unnamed profiles are told apart by their index.
      const Json* name = Field(prof, "name");
      std::string_view n;
      if (name != nullptr) n = name->get_ref<const std::string&>();
      label_.str = n.empty() ? b_.String(StrCat("profile ", k)) : b_.String(n);
    }
    if (*Field(prof, "type") == "sampled") {
      SH_RETURN_IF_ERROR(ReadSampled(k, prof, units[k]));
    } else {
      SH_RETURN_IF_ERROR(ReadEvented(k, prof, units[k]));
    }
  }
  return b_.Finish();
}

// Frames of the output: FrameNames' names with file and line of the function.
class Writer {
 public:
  explicit Writer(const Profile& p) : p_(p), names_(p), loc_begin_(p.locations.size(), kUnset) {}

  std::string Write(std::string_view name);

 private:
  static constexpr uint32_t kUnset = HashIndex::kEmpty;
  struct Frame {
    uint32_t name;
    std::string_view file;
    int64_t line;
  };
  uint32_t FrameId(uint32_t name, std::string_view file, int64_t line);
  // Speedscope frame indexes of a location, leaf first, in loc_frames_.
  std::span<const uint32_t> LocationFrames(uint32_t loc);
  void SampleRootFirst(size_t i, std::vector<uint32_t>* out);

  const Profile& p_;
  FrameNames names_;
  std::vector<Frame> frames_;
  HashIndex frame_index_;
  std::vector<uint32_t> loc_begin_;
  std::vector<uint32_t> loc_frames_;
};

uint32_t Writer::FrameId(uint32_t name, std::string_view file, int64_t line) {
  uint64_t h = HashMix(HashMix(HashString(file), name), static_cast<uint64_t>(line));
  uint32_t next = static_cast<uint32_t>(frames_.size());
  uint32_t id = frame_index_.FindOrInsert(h, next, [&](uint32_t i) {
    return frames_[i].name == name && frames_[i].file == file && frames_[i].line == line;
  });
  if (id == next) frames_.push_back({name, file, line});
  return id;
}

std::span<const uint32_t> Writer::LocationFrames(uint32_t loc) {
  std::span<const uint32_t> ids = names_.frames(loc);
  if (loc_begin_[loc] == kUnset) {
    loc_begin_[loc] = static_cast<uint32_t>(loc_frames_.size());
    // FrameNames has one name per line with a named function, else one
    // fallback name; pair them up the same way.
    size_t j = 0;
    for (const Line& line : p_.location_lines(p_.locations[loc])) {
      const Function* fn = p_.function(line.function);
      if (fn == nullptr || (fn->name == 0 && fn->system_name == 0) || j >= ids.size()) continue;
      loc_frames_.push_back(FrameId(ids[j++], p_.str(fn->filename), fn->start_line));
    }
    if (j == 0) loc_frames_.push_back(FrameId(ids[0], "", 0));
  }
  return {loc_frames_.data() + loc_begin_[loc], ids.size()};
}

void Writer::SampleRootFirst(size_t i, std::vector<uint32_t>* out) {
  out->clear();
  std::span<const uint32_t> stack = p_.sample_stack(i);
  for (size_t k = stack.size(); k-- > 0;) {
    std::span<const uint32_t> f = LocationFrames(stack[k]);
    for (size_t j = f.size(); j-- > 0;) out->push_back(f[j]);
  }
}

void AppendString(std::string* out, std::string_view s) {
  out->push_back('"');
  AppendJsonEscaped(out, s);
  out->push_back('"');
}

std::string Writer::Write(std::string_view name) {
  const size_t n = p_.num_types();
  // Stacks of the samples with any non-zero value, root first, so that frames
  // are numbered in order of first use.
  std::vector<uint32_t> used;
  std::vector<uint32_t> stacks;
  std::vector<size_t> begin;
  std::vector<uint32_t> frames;
  for (size_t i = 0; i < p_.samples.size(); ++i) {
    bool any = false;
    for (int64_t v : p_.sample_values(i)) any |= v != 0;
    if (!any) continue;
    SampleRootFirst(i, &frames);
    used.push_back(static_cast<uint32_t>(i));
    begin.push_back(stacks.size());
    stacks.insert(stacks.end(), frames.begin(), frames.end());
  }
  begin.push_back(stacks.size());

  std::string out;
  out.reserve(stacks.size() * 4 + frames_.size() * 48 + 1024);
  out += "{\"$schema\":";
  AppendString(&out, kSchemaUrl);
  out += ",\n\"name\":";
  AppendString(&out, name);
  out += ",\n\"exporter\":\"stackhouse\"";
  if (int active = p_.DefaultSampleTypeIndex(); active >= 0) {
    out += StrCat(",\n\"activeProfileIndex\":", active);
  }
  out += ",\n\"shared\":{\"frames\":[";
  for (size_t f = 0; f < frames_.size(); ++f) {
    out += f == 0 ? "\n{\"name\":" : ",\n{\"name\":";
    AppendString(&out, names_.name(frames_[f].name));
    if (!frames_[f].file.empty()) {
      out += ",\"file\":";
      AppendString(&out, frames_[f].file);
    }
    if (frames_[f].line > 0) out += StrCat(",\"line\":", frames_[f].line);
    out.push_back('}');
  }
  out += "\n]},\n\"profiles\":[";
  for (size_t t = 0; t < n; ++t) {
    std::string_view unit = p_.str(p_.sample_types[t].unit);
    int64_t end = 0;
    for (uint32_t i : used) end = SaturatingAdd(end, p_.sample_values(i)[t]);
    out += t == 0 ? "\n{\"type\":\"sampled\",\"name\":" : ",\n{\"type\":\"sampled\",\"name\":";
    AppendString(&out, p_.str(p_.sample_types[t].type));
    out += ",\"unit\":";
    AppendString(&out, unit == "nanoseconds" || unit == "bytes" ? unit : "none");
    out += StrCat(",\"startValue\":0,\"endValue\":", end, ",\n\"samples\":[");
    std::string weights;
    for (size_t u = 0; u < used.size(); ++u) {
      int64_t v = p_.sample_values(used[u])[t];
      if (v == 0) continue;
      if (!weights.empty()) {
        out.push_back(',');
        weights.push_back(',');
      }
      weights += std::to_string(v);
      out.push_back('[');
      for (size_t j = begin[u]; j < begin[u + 1]; ++j) {
        if (j > begin[u]) out.push_back(',');
        out += std::to_string(stacks[j]);
      }
      out.push_back(']');
    }
    out += "],\n\"weights\":[";
    out += weights;
    out += "]}";
  }
  out += "\n]}\n";
  return out;
}

}  // namespace

StatusOr<Profile> ParseSpeedscope(std::string_view json, const SpeedscopeOptions& options) {
  if (json.size() > options.max_input_bytes) {
    return ResourceExhaustedError(StrCat("speedscope: input is ", json.size(),
                                         " bytes, more than the limit of ",
                                         options.max_input_bytes));
  }
  try {
    Json root;
    try {
      root = Json::parse(json.begin(), json.end());
    } catch (const Json::parse_error& e) {
      // e.byte counts the bytes read up to and including the bad one; what()
      // starts with "[json.exception.parse_error.101] ".
      std::string_view what = e.what();
      what.remove_prefix(what.starts_with("[json") ? what.find("] ") + 2 : 0);
      return InvalidArgumentError(StrCat("speedscope: invalid JSON at byte offset ",
                                         e.byte > 0 ? e.byte - 1 : 0, ": ", what.substr(0, 300)));
    } catch (const Json::exception& e) {
      return InvalidArgumentError(StrCat("speedscope: invalid JSON: ", e.what()));
    }
    return Parser(options, json.size()).Run(root);
  } catch (const Json::exception& e) {
    return InternalError(StrCat("speedscope: unexpected JSON error: ", e.what()));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("speedscope: out of memory");
  }
}

std::string WriteSpeedscope(const Profile& profile, std::string_view name) {
  return Writer(profile).Write(name);
}

}  // namespace stackhouse::profile
