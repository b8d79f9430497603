// stackhouse explain: the built-in profile interpreter (src/query/explain.h)
// on a profile file, a pair of files, or a query against a server.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>

#include "base/file.h"
#include "base/strings.h"
#include "base/time_parse.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/flags.h"
#include "cli/remote.h"
#include "profile/labels.h"
#include "query/explain.h"
#include "server/llm_client.h"

namespace stackhouse::cli {

int ExplainMain(int argc, char** argv, int first) {
  Flags flags;
  flags.Value("baseline", "", "Explain the change from this profile file to IN");
  flags.Value("format", "text", "Output: text (markdown: Bottleneck, Root cause, Recommendation) or json");
  flags.Value("sample-type", "", "Sample type to explain (default: the profile's default)");
  flags.Value("server", "http://localhost:4040", "With a query: the server");
  flags.Value("from", "now-1h", "With a query: start");
  flags.Value("until", "now", "With a query: end");
  flags.Value("diff-from", "", "With a query: explain the change from [from, until) to [diff-from, diff-until)");
  flags.Value("diff-until", "", "With a query: end of the comparison (default now)");
  flags.Value("tenant", "", "With a query: tenant (X-Scope-OrgID)");
  flags.Value("llm-endpoint", "",
              "Also ask an OpenAI-compatible chat-completions server (e.g. http://localhost:8080 for llama.cpp, "
              "http://localhost:11434 for Ollama); nothing is sent anywhere without this");
  flags.Value("llm-model", "", "With --llm-endpoint: the model name");
  flags.Value("llm-key", "", "With --llm-endpoint: API key (also STACKHOUSE_LLM_API_KEY)");
  flags.Value("llm-timeout", "60s", "With --llm-endpoint: how long to wait for an answer");
  flags.Value("ask", "", "With --llm-endpoint: a follow-up question to ask after the explanation");
  flags.Switch("interactive", "With --llm-endpoint: then read follow-up questions from stdin, one per line");
  Status s = flags.Parse(argc, argv, first);
  if (flags.help()) {
    std::printf(
        "usage: stackhouse explain FILE [--baseline FILE] [--format text|json] [--sample-type T]\n"
        "       stackhouse explain 'TYPE{selector}' [--from T] [--until T] [--diff-from T --diff-until T]\n"
        "                          [--server URL] [--format text|json]\n\n"
        "Explains a profile: its hotspots and the paths to them, where the time goes by\n"
        "component, and known costly patterns (allocation, locks, syscalls, serialization,\n"
        "regex compilation, formatting, hashing and compression, memcpy, exceptions,\n"
        "dynamic linking, page faults, spinning); with a baseline, what grew, what is\n"
        "new and where a regression is concentrated; against a server, also anomalies\n"
        "against the preceding period and the same hours a day and a week before.\n"
        "Every finding cites its numbers.\n"
        "Offline: nothing is sent anywhere.\n\nOptions:\n%s",
        flags.Usage().c_str());
    return 0;
  }
  if (!s.ok()) return Fail("explain", s.message() + " (see --help)", 2);
  if (flags.positional().size() != 1) return Fail("explain", "expected one profile file or query (see --help)", 2);
  const std::string format = flags.Get("format");
  if (format != "text" && format != "json") return Fail("explain", StrCat("unknown --format ", Quote(format)), 2);
  const std::string& in = flags.positional()[0];
  profile::Profile comparison, baseline;
  std::deque<std::pair<std::string, profile::Profile>> earlier;  // server mode: for anomalies
  bool diff = false;
  // A query when it is not a file and reads as one.
  bool query = access(in.c_str(), F_OK) != 0 && in.find('{') != std::string::npos;
  if (query) {
    auto sel = profile::ParseSelector(in);
    if (!sel.ok()) return Fail("explain", StrCat("query: ", sel.status().message()), 2);
    if (sel->profile_type.empty()) return Fail("explain", "the query needs a profile type", 2);
    int64_t now = NowNanos();
    auto t = [&](const std::string& name, const std::string& def) { return TimeFlagMs(flags, name, def, now); };
    auto from = t("from", "now-1h"), until = t("until", "now");
    if (!from.ok()) return Fail("explain", from.status().message(), 2);
    if (!until.ok()) return Fail("explain", until.status().message(), 2);
    profile::Selector only;
    only.matchers = sel->matchers;
    QueryArgs q{BaseUrl(flags.Get("server")), sel->profile_type, only.ToString(), *from, *until};
    server::HttpClient client(std::chrono::minutes(5));
    auto first_range = FetchProfile(&client, flags, q, *from, *until);
    if (!first_range.ok()) return Fail("explain", first_range.status().message());
    if (flags.IsSet("diff-from")) {
      auto a = t("diff-from", ""), b = t("diff-until", "now");
      if (!a.ok()) return Fail("explain", a.status().message(), 2);
      if (!b.ok()) return Fail("explain", b.status().message(), 2);
      auto second = FetchProfile(&client, flags, q, *a, *b);
      if (!second.ok()) return Fail("explain", second.status().message());
      baseline = std::move(*first_range);
      comparison = std::move(*second);
      diff = true;
    } else {
      comparison = std::move(*first_range);
      // Anomalies: the same selection in the preceding period of the same
      // length, and the same hours a day and a week before.
      for (const auto& [name, shift_ns] : query::AnomalyBaselineShifts((*until - *from) * 1000000)) {
        const int64_t shift = shift_ns / 1000000;
        auto p = FetchProfile(&client, flags, q, *from - shift, *until - shift);
        if (!p.ok()) return Fail("explain", p.status().message());
        earlier.push_back({name, std::move(*p)});
      }
    }
  } else {
    auto p = LoadProfile(in, "");
    if (!p.ok()) return Fail("explain", p.status().message());
    comparison = std::move(*p);
    if (!flags.Get("baseline").empty()) {
      auto b = LoadProfile(flags.Get("baseline"), "");
      if (!b.ok()) return Fail("explain", b.status().message());
      baseline = std::move(*b);
      diff = true;
    }
  }
  query::ExplainOptions o;
  if (!flags.Get("sample-type").empty()) {
    auto t = SampleTypeIndex(comparison, flags.Get("sample-type"));
    if (!t.ok()) return Fail("explain", StrCat(in, ": ", t.status().message()));
    o.type_index = *t;
  }
  auto e = diff ? query::ExplainDiff(baseline, comparison, o) : query::Explain(comparison, o);
  if (!e.ok()) return Fail("explain", StrCat(in, ": ", e.status().message()));
  if (!earlier.empty()) {
    std::vector<query::Baseline> baselines;
    for (const auto& [name, p] : earlier) baselines.push_back({name, &p});
    query::AddFindings(&*e, query::FindAnomalies(comparison, baselines, o));
  }
  if (flags.Get("llm-endpoint").empty()) {
    if (!flags.Get("ask").empty() || flags.On("interactive")) {
      return Fail("explain", "--ask and --interactive need --llm-endpoint", 2);
    }
    std::string out = format == "json" ? query::ExplanationJson(*e) + "\n" : query::ExplanationMarkdown(*e);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  // The optional LLM: a bounded summary, the built-in report as the fallback.
  server::LlmOptions lo;
  lo.endpoint = flags.Get("llm-endpoint");
  lo.model = flags.Get("llm-model");
  if (lo.model.empty()) return Fail("explain", "--llm-endpoint needs --llm-model", 2);
  lo.api_key = flags.Get("llm-key");
  if (lo.api_key.empty()) {
    if (const char* k = getenv("STACKHOUSE_LLM_API_KEY")) lo.api_key = k;
  }
  auto timeout = ParseDuration(flags.Get("llm-timeout"));
  if (!timeout.ok() || *timeout <= 0) return Fail("explain", "--llm-timeout: want a duration like 60s", 2);
  lo.timeout_ms = *timeout / 1000000;
  std::string summary = server::LlmSummary(comparison, o.type_index, *e, lo.max_summary_bytes);
  std::vector<server::LlmMessage> history;
  auto ask = [&](const std::string& question) -> bool {
    auto answer = server::AskLlm(lo, summary, history, question);
    if (!answer.ok()) {
      std::fprintf(stderr, "stackhouse explain: %s; showing the built-in analysis instead\n", answer.status().message().c_str());
      return false;
    }
    if (!question.empty()) history.push_back({"user", question});
    history.push_back({"assistant", *answer});
    return true;
  };
  bool ok = ask("");
  if (format == "json") {
    std::string out = query::ExplanationJson(*e);
    out.pop_back();  // the closing brace: add the model's answer
    out += ",\"llm\":{\"model\":\"";
    AppendJsonEscaped(&out, lo.model);
    out += ok ? "\",\"answer\":\"" : "\",\"error\":\"";
    AppendJsonEscaped(&out, ok ? history.back().content : "the model did not answer (see stderr)");
    out += "\"}}\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  std::string out = ok ? StrCat("# ", lo.model, " on this profile\n\n", history.back().content, "\n\n---\n\n# Built-in analysis\n\n",
                                query::ExplanationMarkdown(*e))
                       : query::ExplanationMarkdown(*e);
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (!ok) return 0;
  std::vector<std::string> questions;
  if (!flags.Get("ask").empty()) questions.push_back(flags.Get("ask"));
  for (size_t i = 0;; ++i) {
    std::string q;
    if (i < questions.size()) {
      q = questions[i];
    } else if (flags.On("interactive")) {
      std::fprintf(stderr, "> ");
      char buf[4096];
      if (std::fgets(buf, sizeof(buf), stdin) == nullptr) break;
      q = std::string(TrimSpace(buf));
      if (q.empty()) continue;
    } else {
      break;
    }
    if (!ask(q)) break;
    std::string a = StrCat("\n## ", q, "\n\n", history.back().content, "\n");
    std::fwrite(a.data(), 1, a.size(), stdout);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace stackhouse::cli
