#include "server/llm_client.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

#include "base/strings.h"
#include "server/http_client.h"

namespace stackhouse::server {
namespace {

constexpr char kSystemPrompt[] =
    "You are a performance engineer reading a profile of a running program. You are given the profile's "
    "heaviest call stacks (root first, with their values and shares of the total) and the findings of a "
    "deterministic analyzer. Answer in three short sections: Bottleneck, Root cause, Recommendation. Cite the "
    "function names and the numbers you rely on; do not invent functions or numbers that are not given.";

}  // namespace

std::string LlmSummary(const profile::Profile& p, int type, const query::Explanation& e, size_t max_bytes) {
  if (type < 0) type = p.DefaultSampleTypeIndex();
  std::string out = StrCat("Profile: ", e.sample_type, " (", e.unit, "), total ", FormatValue(e.total, e.unit));
  if (e.diff) out += StrCat(", baseline total ", FormatValue(e.baseline_total, e.unit));
  out += ".\n\nFindings of the built-in analyzer:\n";
  for (size_t i = 0; i < e.findings.size() && i < 8; ++i) {
    out += StrCat("- [", e.findings[i].category, "] ", e.findings[i].title, "\n");
  }
  // The heaviest stacks, merged by frame names.
  std::map<std::string, int64_t> stacks;
  int64_t total = 0;
  if (type >= 0 && static_cast<size_t>(type) < p.num_types()) {
    for (size_t i = 0; i < p.samples.size(); ++i) {
      int64_t v = p.sample_values(i)[static_cast<size_t>(type)];
      if (v == 0) continue;
      auto st = p.sample_stack(i);
      std::string key;
      for (size_t k = st.size(); k-- > 0;) {
        if (!key.empty()) key += ';';
        key += p.FrameName(p.locations[st[k]]);
      }
      stacks[key] += v;
      total += v;
    }
  }
  std::vector<std::pair<int64_t, const std::string*>> order;
  for (const auto& [k, v] : stacks) order.push_back({v, &k});
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  out += "\nHeaviest stacks (root;...;leaf value share):\n";
  for (const auto& [v, k] : order) {
    std::string line = StrCat(*k, " ", FormatValue(v, e.unit), " ", query::FormatShare(total > 0 ? static_cast<double>(v) / total : 0), "\n");
    if (line.size() > 600) line = "…" + line.substr(line.size() - 599);  // keep the leaf end of deep stacks
    if (out.size() + line.size() > max_bytes) break;
    out += line;
  }
  if (out.size() > max_bytes) out.resize(max_bytes);
  return out;
}

StatusOr<std::string> AskLlm(const LlmOptions& o, const std::string& summary, const std::vector<LlmMessage>& history,
                             const std::string& question) {
  if (o.endpoint.empty()) return FailedPreconditionError("no LLM endpoint is configured");
  std::string url = o.endpoint;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.find("/chat/completions") == std::string::npos) {
    url += url.ends_with("/v1") ? "/chat/completions" : "/v1/chat/completions";
  }
  nlohmann::json messages = nlohmann::json::array();
  messages.push_back({{"role", "system"}, {"content", kSystemPrompt}});
  messages.push_back({{"role", "user"}, {"content", summary + "\n\nExplain this profile."}});
  for (const LlmMessage& m : history) messages.push_back({{"role", m.role}, {"content", m.content}});
  if (!question.empty()) messages.push_back({{"role", "user"}, {"content", question}});
  nlohmann::json body = {{"model", o.model}, {"messages", messages}, {"stream", true}, {"temperature", 0.2}};
  HttpHeaders headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream, application/json"}};
  if (!o.api_key.empty()) headers.push_back({"Authorization", "Bearer " + o.api_key});
  HttpClient client(std::chrono::milliseconds(o.timeout_ms));
  auto r = client.Post(url, body.dump(), headers);
  if (!r.ok()) return UnavailableError(StrCat("the LLM at ", url, " did not answer: ", r.status().message()));
  if (r->status != 200) {
    return UnavailableError(StrCat("the LLM at ", url, " answered HTTP ", r->status, ": ", r->body.substr(0, 300)));
  }
  std::string answer;
  std::string_view type = r->Header("content-type");
  if (type.find("text/event-stream") != std::string_view::npos || r->body.starts_with("data:")) {
    // Server-sent events: "data: {json}" lines, each with a delta, then "data: [DONE]".
    for (std::string_view line : Split(r->body, '\n')) {
      line = TrimSpace(line);
      if (!line.starts_with("data:")) continue;
      std::string_view data = TrimSpace(line.substr(5));
      if (data == "[DONE]") break;
      auto j = nlohmann::json::parse(data, nullptr, false);
      if (j.is_discarded()) return UnavailableError("the LLM's stream holds malformed JSON");
      if (j.contains("error")) return UnavailableError(StrCat("the LLM reported an error: ", j["error"].dump()));
      if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) continue;
      const auto& c = j["choices"][0];
      if (c.contains("delta") && c["delta"].contains("content") && c["delta"]["content"].is_string()) {
        answer += c["delta"]["content"].get<std::string>();
      } else if (c.contains("message") && c["message"].contains("content") && c["message"]["content"].is_string()) {
        answer += c["message"]["content"].get<std::string>();
      }
    }
  } else {
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_discarded() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty() ||
        !j["choices"][0].contains("message") || !j["choices"][0]["message"].contains("content") ||
        !j["choices"][0]["message"]["content"].is_string()) {
      return UnavailableError("the LLM's answer is not a chat completion");
    }
    answer = j["choices"][0]["message"]["content"].get<std::string>();
  }
  if (TrimSpace(answer).empty()) return UnavailableError("the LLM gave an empty answer");
  return answer;
}

}  // namespace stackhouse::server
