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


bool IsHex(std::string_view s) { return !s.empty() && HexDecode(s).has_value(); }

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
          trace_id = *HexDecode(value);
          continue;
        }
        if (key == "span_id" && IsHex(value)) {
          span_id = *HexDecode(value);
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

DecodeResult FromOtlp(const ExportRequest& req) {
  auto r = DecodeExport(req.SerializeAsString());
  if (r.ok()) return std::move(*r);
  DecodeResult out;  // (a message that serializes always decodes)
  out.error = r.status().message();
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
          auto bytes = HexDecode(v);
          if (bytes) it.value() = Base64Encode(*bytes);
        } else {
          auto bytes = Base64Decode(v);
          if (bytes.ok()) it.value() = HexEncode(*bytes);
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

StatusOr<std::string> ReadRequestBody(std::string_view body, std::string_view content_type,
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
  if (type == "application/x-protobuf" || type == "application/protobuf" || type == "application/octet-stream") {
    if (!inflated.empty()) return inflated;
    return std::string(body);
  }
  ExportRequest req;
  if (type == "application/json") {
    nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return InvalidArgumentError("the body is not valid JSON");
    RewriteIds(j, /*hex_to_base64=*/true);
    google::protobuf::util::JsonParseOptions opt;
    opt.ignore_unknown_fields = true;
    auto st = google::protobuf::util::JsonStringToMessage(j.dump(), &req, opt);
    if (!st.ok()) return InvalidArgumentError(StrCat("the JSON body is not an ExportProfilesServiceRequest: ",
                                                     std::string(st.message())));
    return req.SerializeAsString();
  }
  return UnimplementedError(StrCat("unsupported Content-Type ", Quote(content_type),
                                   " (application/x-protobuf or application/json)"));
}

StatusOr<ExportRequest> ParseRequest(std::string_view body, std::string_view content_type,
                                     std::string_view content_encoding, size_t max_bytes) {
  SH_ASSIGN_OR_RETURN(std::string bytes, ReadRequestBody(body, content_type, content_encoding, max_bytes));
  ExportRequest req;
  if (!req.ParseFromString(bytes)) {
    return InvalidArgumentError("the body is not an ExportProfilesServiceRequest (malformed protobuf)");
  }
  return req;
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
