#include "otlp/otlp.h"

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "base/gzip.h"
#include "base/strings.h"
#include "profile/builder.h"

namespace stackhouse::otlp {
namespace {

namespace pb = opentelemetry::proto::profiles::v1development;
namespace common = opentelemetry::proto::common::v1;

constexpr char kBuildIdGnu[] = "process.executable.build_id.gnu";
constexpr char kBuildIdGo[] = "process.executable.build_id.go";
constexpr char kBuildIdHtl[] = "process.executable.build_id.htlhash";

std::string HexOf(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Bytes of a hex string, or nullopt.
std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int a = HexDigit(hex[i]), b = HexDigit(hex[i + 1]);
    if (a < 0 || b < 0) return std::nullopt;
    out.push_back(static_cast<char>(a * 16 + b));
  }
  return out;
}

bool IsHex(std::string_view s) { return !s.empty() && FromHex(s).has_value(); }

// The dictionary under construction: interning tables.
class DictWriter {
 public:
  explicit DictWriter(pb::ProfilesDictionary* d) : d_(d) {
    if (d_->string_table_size() == 0) {
      d_->add_string_table();
      d_->add_mapping_table();
      d_->add_location_table();
      d_->add_function_table();
      d_->add_link_table();
      d_->add_attribute_table();
      d_->add_stack_table();
    }
    for (int i = 0; i < d_->string_table_size(); ++i) strings_.emplace(d_->string_table(i), i);
  }
  int32_t String(std::string_view s) {
    auto it = strings_.find(std::string(s));
    if (it != strings_.end()) return it->second;
    int32_t i = d_->string_table_size();
    d_->add_string_table(std::string(s));
    strings_.emplace(std::string(s), i);
    return i;
  }
  int32_t Attribute(std::string_view key, const common::AnyValue& value, std::string_view unit) {
    std::string k = StrCat(key, "\x1f", value.SerializeAsString(), "\x1f", unit);
    auto it = attributes_.find(k);
    if (it != attributes_.end()) return it->second;
    int32_t i = d_->attribute_table_size();
    pb::KeyValueAndUnit* a = d_->add_attribute_table();
    a->set_key_strindex(String(key));
    *a->mutable_value() = value;
    if (!unit.empty()) a->set_unit_strindex(String(unit));
    attributes_.emplace(std::move(k), i);
    return i;
  }
  int32_t StringAttribute(std::string_view key, std::string_view value) {
    common::AnyValue v;
    v.set_string_value(std::string(value));
    return Attribute(key, v, "");
  }
  int32_t Stack(const std::vector<int32_t>& locations) {
    std::string k(reinterpret_cast<const char*>(locations.data()), locations.size() * sizeof(int32_t));
    auto it = stacks_.find(k);
    if (it != stacks_.end()) return it->second;
    int32_t i = d_->stack_table_size();
    pb::Stack* s = d_->add_stack_table();
    for (int32_t l : locations) s->add_location_indices(l);
    stacks_.emplace(std::move(k), i);
    return i;
  }
  int32_t Link(const std::string& trace_id, const std::string& span_id) {
    std::string k = trace_id + "/" + span_id;
    auto it = links_.find(k);
    if (it != links_.end()) return it->second;
    int32_t i = d_->link_table_size();
    pb::Link* l = d_->add_link_table();
    l->set_trace_id(trace_id);
    l->set_span_id(span_id);
    links_.emplace(std::move(k), i);
    return i;
  }
  pb::ProfilesDictionary* dict() { return d_; }

 private:
  pb::ProfilesDictionary* d_;
  std::unordered_map<std::string, int32_t> strings_, attributes_, stacks_, links_;
};

}  // namespace

void AppendProfile(const profile::Profile& p, const std::vector<std::pair<std::string, std::string>>& resource,
                   ExportRequest* req) {
  DictWriter w(req->mutable_dictionary());
  pb::ProfilesDictionary* d = w.dict();
  // Symbols: this profile's tables appended to the dictionary's.
  std::vector<int32_t> mapping_of(p.mappings.size() + 1, 0);
  for (size_t i = 0; i < p.mappings.size(); ++i) {
    const profile::Mapping& m = p.mappings[i];
    mapping_of[i + 1] = d->mapping_table_size();
    pb::Mapping* om = d->add_mapping_table();
    om->set_memory_start(m.memory_start);
    om->set_memory_limit(m.memory_limit);
    om->set_file_offset(m.file_offset);
    om->set_filename_strindex(w.String(p.str(m.filename)));
    std::string_view bid = p.str(m.build_id);
    if (!bid.empty()) om->add_attribute_indices(w.StringAttribute(IsHex(bid) ? kBuildIdGnu : kBuildIdGo, bid));
  }
  std::vector<int32_t> function_of(p.functions.size() + 1, 0);
  for (size_t i = 0; i < p.functions.size(); ++i) {
    const profile::Function& f = p.functions[i];
    function_of[i + 1] = d->function_table_size();
    pb::Function* of = d->add_function_table();
    of->set_name_strindex(w.String(p.str(f.name)));
    of->set_system_name_strindex(w.String(p.str(f.system_name)));
    of->set_filename_strindex(w.String(p.str(f.filename)));
    of->set_start_line(f.start_line);
  }
  std::vector<int32_t> location_of(p.locations.size(), 0);
  for (size_t i = 0; i < p.locations.size(); ++i) {
    const profile::Location& l = p.locations[i];
    location_of[i] = d->location_table_size();
    pb::Location* ol = d->add_location_table();
    ol->set_mapping_index(l.mapping < mapping_of.size() ? mapping_of[l.mapping] : 0);
    ol->set_address(l.address);
    for (const profile::Line& line : p.location_lines(l)) {
      pb::Line* o = ol->add_lines();
      o->set_function_index(line.function < function_of.size() ? function_of[line.function] : 0);
      o->set_line(line.line);
      o->set_column(line.column);
    }
  }
  // Samples: stacks, attributes and links once for all sample types.
  struct Row {
    int32_t stack;
    std::vector<int32_t> attributes;
    int32_t link;
  };
  std::vector<Row> rows(p.samples.size());
  std::vector<int32_t> locs;
  for (size_t i = 0; i < p.samples.size(); ++i) {
    locs.clear();
    for (uint32_t l : p.sample_stack(i)) locs.push_back(l < location_of.size() ? location_of[l] : 0);
    rows[i].stack = w.Stack(locs);
    std::string trace_id, span_id;
    for (const profile::Label& l : p.sample_labels(i)) {
      std::string_view key = p.str(l.key);
      if (l.str != 0) {
        std::string_view value = p.str(l.str);
        if (key == "trace_id" && IsHex(value)) {
          trace_id = *FromHex(value);
          continue;
        }
        if (key == "span_id" && IsHex(value)) {
          span_id = *FromHex(value);
          continue;
        }
        rows[i].attributes.push_back(w.StringAttribute(key, value));
      } else {
        common::AnyValue v;
        v.set_int_value(l.num);
        rows[i].attributes.push_back(w.Attribute(key, v, p.str(l.num_unit)));
      }
    }
    rows[i].link = trace_id.empty() && span_id.empty() ? 0 : w.Link(trace_id, span_id);
  }
  pb::ResourceProfiles* rp = req->add_resource_profiles();
  for (const auto& [k, v] : resource) {
    common::KeyValue* kv = rp->mutable_resource()->add_attributes();
    kv->set_key(k);
    kv->mutable_value()->set_string_value(v);
  }
  pb::ScopeProfiles* sp = rp->add_scope_profiles();
  sp->mutable_scope()->set_name("stackhouse");
  for (size_t t = 0; t < p.num_types(); ++t) {
    pb::Profile* op = sp->add_profiles();
    op->mutable_sample_type()->set_type_strindex(w.String(p.str(p.sample_types[t].type)));
    op->mutable_sample_type()->set_unit_strindex(w.String(p.str(p.sample_types[t].unit)));
    op->set_time_unix_nano(static_cast<uint64_t>(p.time_nanos));
    op->set_duration_nano(static_cast<uint64_t>(p.duration_nanos));
    op->mutable_period_type()->set_type_strindex(w.String(p.str(p.period_type.type)));
    op->mutable_period_type()->set_unit_strindex(w.String(p.str(p.period_type.unit)));
    op->set_period(p.period);
    op->set_original_payload_format("pprof");
    for (size_t i = 0; i < p.samples.size(); ++i) {
      int64_t v = p.sample_values(i)[t];
      if (v == 0) continue;
      pb::Sample* s = op->add_samples();
      s->set_stack_index(rows[i].stack);
      for (int32_t a : rows[i].attributes) s->add_attribute_indices(a);
      s->set_link_index(rows[i].link);
      s->add_values(v);
    }
  }
}

namespace {

// Reads OTLP Profiles against the request's dictionary, checking every index.
class Reader {
 public:
  explicit Reader(const pb::ProfilesDictionary& d) : d_(d) {}

  std::string_view Str(int32_t i, Status* s) const {
    if (i < 0 || i >= d_.string_table_size()) {
      if (s->ok()) *s = InvalidArgumentError(StrCat("string index ", i, " outside the string table"));
      return {};
    }
    return d_.string_table(i);
  }

  // The attribute as a string ("" for arrays, lists and bytes: kept out).
  bool AttributeString(int32_t i, std::string* key, std::string* value, bool* numeric, int64_t* num,
                       std::string* unit, Status* s) const {
    if (i < 0 || i >= d_.attribute_table_size()) {
      if (s->ok()) *s = InvalidArgumentError(StrCat("attribute index ", i, " outside the attribute table"));
      return false;
    }
    const pb::KeyValueAndUnit& a = d_.attribute_table(i);
    *key = std::string(Str(a.key_strindex(), s));
    *unit = std::string(Str(a.unit_strindex(), s));
    *numeric = false;
    const common::AnyValue& v = a.value();
    switch (v.value_case()) {
      case common::AnyValue::kStringValue:
        *value = v.string_value();
        return true;
      case common::AnyValue::kStringValueStrindex:
        *value = std::string(Str(v.string_value_strindex(), s));
        return true;
      case common::AnyValue::kBoolValue:
        *value = v.bool_value() ? "true" : "false";
        return true;
      case common::AnyValue::kIntValue:
        *numeric = true;
        *num = v.int_value();
        return true;
      case common::AnyValue::kDoubleValue: {
        char buf[32];
        snprintf(buf, sizeof(buf), "%g", v.double_value());
        *value = buf;
        return true;
      }
      default:
        return false;
    }
  }

  const pb::ProfilesDictionary& d_;
};

// Series label names: [a-zA-Z0-9_], '.' and others become '_'.
std::string LabelName(std::string_view key) {
  std::string out(key);
  for (char& c : out) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) c = '_';
  }
  if (!out.empty() && out[0] >= '0' && out[0] <= '9') out.insert(out.begin(), '_');
  return out;
}

std::string AnyValueString(const common::AnyValue& v, const Reader& r, Status* s) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue:
      return v.string_value();
    case common::AnyValue::kStringValueStrindex:
      return std::string(r.Str(v.string_value_strindex(), s));
    case common::AnyValue::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case common::AnyValue::kIntValue:
      return std::to_string(v.int_value());
    case common::AnyValue::kDoubleValue: {
      char buf[32];
      snprintf(buf, sizeof(buf), "%g", v.double_value());
      return buf;
    }
    default:
      return "";
  }
}

// One group of OTLP Profiles that becomes one pprof.
struct Group {
  std::vector<const pb::Profile*> profiles;
};

// Whether two OTLP Profiles describe the same collection (and so merge).
bool SameCollection(const pb::Profile& a, const pb::Profile& b, const Reader& r) {
  Status ignore;
  auto names = [&](const pb::ValueType& v) {
    return std::make_pair(r.Str(v.type_strindex(), &ignore), r.Str(v.unit_strindex(), &ignore));
  };
  return a.time_unix_nano() == b.time_unix_nano() && a.duration_nano() == b.duration_nano() &&
         a.period() == b.period() && names(a.period_type()) == names(b.period_type()) &&
         std::vector<int32_t>(a.attribute_indices().begin(), a.attribute_indices().end()) ==
             std::vector<int32_t>(b.attribute_indices().begin(), b.attribute_indices().end());
}

// Converts one group; an error names the first bad reference.
StatusOr<profile::Profile> Convert(const Group& g, const Reader& r) {
  const pb::ProfilesDictionary& d = r.d_;
  Status s;
  profile::ProfileBuilder b;
  profile::Profile& out = b.profile();
  const pb::Profile& first = *g.profiles[0];
  for (const pb::Profile* p : g.profiles) {
    out.sample_types.push_back({b.String(r.Str(p->sample_type().type_strindex(), &s)),
                                b.String(r.Str(p->sample_type().unit_strindex(), &s))});
  }
  out.period_type = {b.String(r.Str(first.period_type().type_strindex(), &s)),
                     b.String(r.Str(first.period_type().unit_strindex(), &s))};
  out.period = first.period();
  out.time_nanos = static_cast<int64_t>(first.time_unix_nano());
  out.duration_nanos = static_cast<int64_t>(first.duration_nano());
  SH_RETURN_IF_ERROR(s);

  std::unordered_map<int32_t, uint32_t> mappings, functions, locations;
  auto mapping = [&](int32_t i) -> uint32_t {
    if (i == 0) return 0;
    if (i < 0 || i >= d.mapping_table_size()) {
      if (s.ok()) s = InvalidArgumentError(StrCat("mapping index ", i, " outside the mapping table"));
      return 0;
    }
    auto it = mappings.find(i);
    if (it != mappings.end()) return it->second;
    const pb::Mapping& m = d.mapping_table(i);
    profile::Mapping pm;
    pm.memory_start = m.memory_start();
    pm.memory_limit = m.memory_limit();
    pm.file_offset = m.file_offset();
    pm.filename = b.String(r.Str(m.filename_strindex(), &s));
    // Build ids: GNU first, then Go's, then the file hash.
    std::string bid;
    int rank = 99;
    for (int32_t a : m.attribute_indices()) {
      std::string key, value, unit;
      bool numeric = false;
      int64_t num = 0;
      if (!r.AttributeString(a, &key, &value, &numeric, &num, &unit, &s) || numeric) continue;
      int k = key == kBuildIdGnu ? 0 : key == kBuildIdGo ? 1 : key == kBuildIdHtl ? 2 : 99;
      if (k < rank) {
        rank = k;
        bid = value;
      }
    }
    pm.build_id = b.String(bid);
    pm.has_functions = true;
    uint32_t id = b.Mapping(pm);
    mappings.emplace(i, id);
    return id;
  };
  auto function = [&](int32_t i) -> uint32_t {
    if (i == 0) return 0;
    if (i < 0 || i >= d.function_table_size()) {
      if (s.ok()) s = InvalidArgumentError(StrCat("function index ", i, " outside the function table"));
      return 0;
    }
    auto it = functions.find(i);
    if (it != functions.end()) return it->second;
    const pb::Function& f = d.function_table(i);
    uint32_t id = b.Function(b.String(r.Str(f.name_strindex(), &s)), b.String(r.Str(f.system_name_strindex(), &s)),
                             b.String(r.Str(f.filename_strindex(), &s)), f.start_line());
    functions.emplace(i, id);
    return id;
  };
  std::vector<profile::Line> lines;
  auto location = [&](int32_t i) -> uint32_t {
    if (i < 0 || i >= d.location_table_size()) {
      if (s.ok()) s = InvalidArgumentError(StrCat("location index ", i, " outside the location table"));
      return 0;
    }
    auto it = locations.find(i);
    if (it != locations.end()) return it->second;
    const pb::Location& l = d.location_table(i);
    lines.clear();
    for (const pb::Line& line : l.lines()) {
      lines.push_back({function(line.function_index()), line.line(), line.column()});
    }
    uint32_t id = b.Location(mapping(l.mapping_index()), l.address(), lines);
    locations.emplace(i, id);
    return id;
  };

  std::vector<uint32_t> stack;
  std::vector<profile::Label> labels;
  std::vector<int64_t> values(g.profiles.size());
  for (size_t t = 0; t < g.profiles.size(); ++t) {
    for (const pb::Sample& smp : g.profiles[t]->samples()) {
      if (smp.stack_index() < 0 || smp.stack_index() >= d.stack_table_size()) {
        return InvalidArgumentError(StrCat("stack index ", smp.stack_index(), " outside the stack table"));
      }
      stack.clear();
      for (int32_t l : d.stack_table(smp.stack_index()).location_indices()) stack.push_back(location(l));
      labels.clear();
      for (int32_t a : smp.attribute_indices()) {
        std::string key, value, unit;
        bool numeric = false;
        int64_t num = 0;
        if (!r.AttributeString(a, &key, &value, &numeric, &num, &unit, &s)) continue;
        if (numeric) {
          labels.push_back({b.String(key), 0, num, b.String(unit)});
        } else {
          labels.push_back({b.String(key), b.String(value), 0, 0});
        }
      }
      if (smp.link_index() != 0) {
        if (smp.link_index() < 0 || smp.link_index() >= d.link_table_size()) {
          return InvalidArgumentError(StrCat("link index ", smp.link_index(), " outside the link table"));
        }
        const pb::Link& link = d.link_table(smp.link_index());
        if (!link.trace_id().empty() && link.trace_id() != std::string(16, '\0')) {
          labels.push_back({b.String("trace_id"), b.String(HexOf(link.trace_id())), 0, 0});
        }
        if (!link.span_id().empty() && link.span_id() != std::string(8, '\0')) {
          labels.push_back({b.String("span_id"), b.String(HexOf(link.span_id())), 0, 0});
        }
      }
      SH_RETURN_IF_ERROR(s);
      std::sort(labels.begin(), labels.end(), [](const profile::Label& x, const profile::Label& y) {
        return std::tie(x.key, x.str, x.num, x.num_unit) < std::tie(y.key, y.str, y.num, y.num_unit);
      });
      std::fill(values.begin(), values.end(), 0);
      int64_t v = 0;
      for (int64_t x : smp.values()) v += x;
      if (smp.values_size() == 0) v = smp.timestamps_unix_nano_size();  // timestamps only: one each
      values[t] = v;
      b.AddSample(stack, values, labels);
    }
  }
  SH_RETURN_IF_ERROR(s);
  return b.Finish();
}

}  // namespace

DecodeResult FromOtlp(const ExportRequest& req) {
  DecodeResult out;
  Reader r(req.dictionary());
  auto reject = [&](int64_t n, const Status& st) {
    out.rejected += n;
    if (out.error.empty()) out.error = st.message();
  };
  if (req.dictionary().string_table_size() > 0 && !req.dictionary().string_table(0).empty()) {
    reject(0, InvalidArgumentError("string_table[0] must be the empty string"));
  }
  for (const pb::ResourceProfiles& rp : req.resource_profiles()) {
    // Series labels from the resource.
    std::vector<profile::LabelPair> base;
    std::string service, executable;
    Status s;
    for (const common::KeyValue& kv : rp.resource().attributes()) {
      std::string key = kv.key().empty() ? std::string(r.Str(kv.key_strindex(), &s)) : kv.key();
      std::string value = AnyValueString(kv.value(), r, &s);
      if (key.empty() || value.empty()) continue;
      if (key == "service.name") {
        service = value;
      } else {
        if (key == "process.executable.name") executable = value;
        base.push_back({LabelName(key), value});
      }
    }
    if (service.empty()) service = executable.empty() ? "unknown_service" : "unknown_service:" + executable;
    base.push_back({"service_name", service});
    for (const pb::ScopeProfiles& sp : rp.scope_profiles()) {
      // Consecutive profiles of one collection merge into one pprof.
      std::vector<Group> groups;
      for (const pb::Profile& p : sp.profiles()) {
        if (!groups.empty() && SameCollection(*groups.back().profiles[0], p, r)) {
          groups.back().profiles.push_back(&p);
        } else {
          groups.push_back({{&p}});
        }
      }
      for (const Group& g : groups) {
        if (!s.ok()) {
          reject(static_cast<int64_t>(g.profiles.size()), s);
          continue;
        }
        auto converted = Convert(g, r);
        if (!converted.ok()) {
          reject(static_cast<int64_t>(g.profiles.size()), converted.status());
          continue;
        }
        Decoded dec;
        dec.labels = base;
        Status as;
        for (int32_t a : g.profiles[0]->attribute_indices()) {
          std::string key, value, unit;
          bool numeric = false;
          int64_t num = 0;
          if (!r.AttributeString(a, &key, &value, &numeric, &num, &unit, &as)) continue;
          dec.labels.push_back({LabelName(key), numeric ? std::to_string(num) : value});
        }
        if (!as.ok()) {
          reject(static_cast<int64_t>(g.profiles.size()), as);
          continue;
        }
        dec.profile = std::move(*converted);
        out.profiles.push_back(std::move(dec));
      }
    }
  }
  return out;
}

namespace {

// OTLP/JSON writes trace, span and profile ids as hex; protobuf's JSON
// mapping wants base64 for bytes. Rewrites them in place (both ways).
void RewriteIds(nlohmann::json& j, bool hex_to_base64) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      bool id = k == "traceId" || k == "spanId" || k == "profileId" || k == "trace_id" || k == "span_id" ||
                k == "profile_id";
      if (id && it.value().is_string()) {
        std::string v = it.value().get<std::string>();
        if (hex_to_base64) {
          auto bytes = FromHex(v);
          if (bytes) it.value() = Base64Encode(*bytes);
        } else {
          auto bytes = Base64Decode(v);
          if (bytes.ok()) it.value() = HexOf(*bytes);
        }
      } else {
        RewriteIds(it.value(), hex_to_base64);
      }
    }
  } else if (j.is_array()) {
    for (auto& e : j) RewriteIds(e, hex_to_base64);
  }
}

}  // namespace

StatusOr<ExportRequest> ParseRequest(std::string_view body, std::string_view content_type,
                                     std::string_view content_encoding, size_t max_bytes) {
  std::string inflated;
  std::string enc = AsciiLower(TrimSpace(content_encoding));
  if (enc == "gzip") {
    SH_ASSIGN_OR_RETURN(inflated, Gunzip(body, max_bytes));
    body = inflated;
  } else if (!enc.empty() && enc != "identity") {
    return UnimplementedError(StrCat("unsupported Content-Encoding ", Quote(content_encoding), " (gzip or none)"));
  }
  if (body.size() > max_bytes) {
    return ResourceExhaustedError(StrCat("request of ", body.size(), " bytes is over the limit of ", max_bytes));
  }
  std::string type = AsciiLower(TrimSpace(content_type.substr(0, content_type.find(';'))));
  ExportRequest req;
  if (type == "application/x-protobuf" || type == "application/protobuf" || type == "application/octet-stream") {
    if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return InvalidArgumentError("the body is not an ExportProfilesServiceRequest (malformed protobuf)");
    }
    return req;
  }
  if (type == "application/json") {
    nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return InvalidArgumentError("the body is not valid JSON");
    RewriteIds(j, /*hex_to_base64=*/true);
    google::protobuf::util::JsonParseOptions opt;
    opt.ignore_unknown_fields = true;
    auto st = google::protobuf::util::JsonStringToMessage(j.dump(), &req, opt);
    if (!st.ok()) return InvalidArgumentError(StrCat("the JSON body is not an ExportProfilesServiceRequest: ",
                                                     std::string(st.message())));
    return req;
  }
  return UnimplementedError(StrCat("unsupported Content-Type ", Quote(content_type),
                                   " (application/x-protobuf or application/json)"));
}

StatusOr<std::string> ToJson(const ExportRequest& req) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opt;
  auto st = google::protobuf::util::MessageToJsonString(req, &out, opt);
  if (!st.ok()) return InternalError(std::string(st.message()));
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded()) return InternalError("JSON printing failed");
  RewriteIds(j, /*hex_to_base64=*/false);
  return j.dump();
}

}  // namespace stackhouse::otlp
