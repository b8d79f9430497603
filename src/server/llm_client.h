// The optional LLM behind `explain`: any OpenAI-compatible chat-completions
// server (llama.cpp, Ollama, vLLM, a hosted API). It gets a compact,
// size-bounded summary of the profile (the heaviest paths with their numbers
// and the built-in findings), never the raw profile, and only when an
// endpoint is configured. Streamed (server-sent events) and plain JSON
// answers are both understood; errors and timeouts come back as a Status so
// that callers fall back to the built-in report.
#ifndef STACKHOUSE_SERVER_LLM_CLIENT_H_
#define STACKHOUSE_SERVER_LLM_CLIENT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "profile/profile.h"
#include "query/explain.h"

namespace stackhouse::server {

struct LlmOptions {
  std::string endpoint;  // http://host:port, or a full .../v1/chat/completions URL
  std::string model;
  std::string api_key;   // sent as "Authorization: Bearer KEY" when set
  int64_t timeout_ms = 60000;
  size_t max_summary_bytes = 12000;  // the profile summary in the prompt
};

// The profile as the LLM sees it: type and total, the heaviest stacks (root
// first, with value and share), and the built-in findings; at most
// max_bytes.
std::string LlmSummary(const profile::Profile& profile, int type_index, const query::Explanation& e,
                       size_t max_bytes);

struct LlmMessage {
  std::string role;  // "user" or "assistant"
  std::string content;
};

// Asks the model about the profile: `history` holds earlier turns of the
// conversation (follow-up questions), `question` the new one ("" = explain
// the profile). Returns the answer's text.
StatusOr<std::string> AskLlm(const LlmOptions& options, const std::string& summary,
                             const std::vector<LlmMessage>& history, const std::string& question);

}  // namespace stackhouse::server

#endif  // STACKHOUSE_SERVER_LLM_CLIENT_H_
