// The optional LLM of `explain`, against a small OpenAI-compatible server
// written for the test: the request it receives (endpoint, model, a prompt
// with the top functions and their numbers, the size bound), streamed and
// plain answers, follow-up questions, and failures that fall back to the
// built-in report.
#include "server/llm_client.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <mutex>
#include <thread>

#include "base/strings.h"
#include "base/testing/testing.h"
#include "profile/formats.h"
#include "server/http.h"

namespace stackhouse::server {
namespace {

class FakeLlm {
 public:
  enum class Mode { kStream, kJson, kError, kSlow, kGarbage };
  explicit FakeLlm(Mode mode) : mode_(mode) {
    HttpServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.io_threads = 1;
    o.worker_threads = 2;
    server_ = std::make_unique<HttpServer>(o);
    server_->Handle("/v1/chat/completions", [this](const HttpRequest& req, HttpResponse* resp) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req.body);
        auth_ = std::string(req.Header("authorization"));
      }
      switch (mode_) {
        case Mode::kStream:
          resp->content_type = "text/event-stream";
          resp->body =
              "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"
              "data: {\"choices\":[{\"delta\":{\"content\":\"Bottleneck: main.checksumLedger \"}}]}\n\n"
              "data: {\"choices\":[{\"delta\":{\"content\":\"takes 52%.\"}}]}\n\n"
              "data: [DONE]\n\n";
          break;
        case Mode::kJson:
          resp->content_type = "application/json";
          resp->body = R"({"choices":[{"message":{"role":"assistant","content":"Plain answer."}}]})";
          break;
        case Mode::kError:
          resp->status = 500;
          resp->body = "model not loaded";
          break;
        case Mode::kSlow:
          std::this_thread::sleep_for(std::chrono::seconds(2));
          resp->body = "{}";
          break;
        case Mode::kGarbage:
          resp->content_type = "application/json";
          resp->body = "<html>nope</html>";
          break;
      }
    });
    EXPECT_TRUE(server_->Start().ok());
  }
  std::string url() const { return StrCat("http://127.0.0.1:", server_->port()); }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::string auth() {
    std::lock_guard<std::mutex> lock(mu_);
    return auth_;
  }

 private:
  Mode mode_;
  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::string auth_;
};

profile::Profile GoCpu() {
  auto p = profile::ReadProfile(stackhouse::testing::ReadOrDie(stackhouse::testing::SharedTestdata("go_cpu.pb.gz")),
                                std::nullopt);
  EXPECT_TRUE(p.ok());
  return std::move(*p);
}

TEST(LlmClientTest, SendsABoundedSummaryAndReadsAStream) {
  FakeLlm llm(FakeLlm::Mode::kStream);
  profile::Profile p = GoCpu();
  int type = p.FindSampleType("cpu");
  query::ExplainOptions eo;
  eo.type_index = type;
  auto e = query::Explain(p, eo);
  ASSERT_TRUE(e.ok());
  LlmOptions o;
  o.endpoint = llm.url();
  o.model = "tiny-model";
  o.api_key = "secret";
  o.max_summary_bytes = 3000;
  std::string summary = LlmSummary(p, type, *e, o.max_summary_bytes);
  EXPECT_LE(summary.size(), 3000u);
  auto answer = AskLlm(o, summary, {}, "");
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(*answer, "Bottleneck: main.checksumLedger takes 52%.");
  auto reqs = llm.requests();
  ASSERT_EQ(reqs.size(), 1u);
  auto j = nlohmann::json::parse(reqs[0]);
  EXPECT_EQ(j["model"], "tiny-model");
  EXPECT_EQ(j["stream"], true);
  EXPECT_EQ(llm.auth(), "Bearer secret");
  ASSERT_GE(j["messages"].size(), 2u);
  EXPECT_EQ(j["messages"][0]["role"], "system");
  std::string prompt = j["messages"][1]["content"];
  // The top functions with their numbers, within the bound.
  EXPECT_NE(prompt.find("main.checksumLedger"), std::string::npos);
  EXPECT_NE(prompt.find("52%"), std::string::npos);
  EXPECT_NE(prompt.find("2.66 s"), std::string::npos) << prompt.substr(0, 500);
  EXPECT_LE(prompt.size(), 3000u + 100);
  // A follow-up carries the conversation.
  auto follow = AskLlm(o, summary, {{"assistant", *answer}}, "And hashFields?");
  ASSERT_TRUE(follow.ok());
  j = nlohmann::json::parse(llm.requests()[1]);
  ASSERT_EQ(j["messages"].size(), 4u);
  EXPECT_EQ(j["messages"][2]["role"], "assistant");
  EXPECT_EQ(j["messages"][3]["content"], "And hashFields?");
}

TEST(LlmClientTest, PlainAnswersAndFailures) {
  LlmOptions o;
  o.model = "m";
  {
    FakeLlm llm(FakeLlm::Mode::kJson);
    o.endpoint = llm.url() + "/v1";
    auto a = AskLlm(o, "summary", {}, "");
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(*a, "Plain answer.");
  }
  {
    FakeLlm llm(FakeLlm::Mode::kError);
    o.endpoint = llm.url();
    auto a = AskLlm(o, "summary", {}, "");
    ASSERT_FALSE(a.ok());
    EXPECT_NE(a.status().message().find("500"), std::string::npos) << a.status().message();
  }
  {
    FakeLlm llm(FakeLlm::Mode::kGarbage);
    o.endpoint = llm.url();
    EXPECT_FALSE(AskLlm(o, "summary", {}, "").ok());
  }
  {
    FakeLlm llm(FakeLlm::Mode::kSlow);
    o.endpoint = llm.url();
    o.timeout_ms = 300;
    auto a = AskLlm(o, "summary", {}, "");
    ASSERT_FALSE(a.ok());
  }
  o.endpoint = "http://127.0.0.1:1";  // nobody there
  EXPECT_FALSE(AskLlm(o, "summary", {}, "").ok());
  o.endpoint = "";
  EXPECT_EQ(AskLlm(o, "summary", {}, "").status().code(), StatusCode::kFailedPrecondition);
}

// The command line: the model's answer and a follow-up, or the built-in
// report with a clear message when the model fails.
TEST(LlmClientTest, ExplainCommand) {
  const std::string bin = stackhouse::testing::BinPath("stackhouse");
  const std::string file = stackhouse::testing::SharedTestdata("go_cpu.pb.gz");
  {
    FakeLlm llm(FakeLlm::Mode::kStream);
    auto r = stackhouse::testing::RunCommand({bin, "explain", file, "--sample-type", "cpu", "--llm-endpoint", llm.url(),
                                              "--llm-model", "m", "--ask", "What about hashFields?"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("takes 52%."), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("## What about hashFields?"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("# Built-in analysis"), std::string::npos);
    EXPECT_EQ(llm.requests().size(), 2u);
  }
  {
    FakeLlm llm(FakeLlm::Mode::kError);
    auto r = stackhouse::testing::RunCommand(
        {bin, "explain", file, "--sample-type", "cpu", "--llm-endpoint", llm.url(), "--llm-model", "m"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.err.find("showing the built-in analysis instead"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("## Bottleneck"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("main.checksumLedger"), std::string::npos);
  }
  // Without an endpoint nothing is sent, and --ask is refused.
  auto r = stackhouse::testing::RunCommand({bin, "explain", file, "--ask", "why?"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--llm-endpoint"), std::string::npos);
}

}  // namespace
}  // namespace stackhouse::server
