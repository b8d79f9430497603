#include "sampler/config.h"

#include <gtest/gtest.h>

#include <map>

namespace stackhouse::sampler {
namespace {

StatusOr<Config> FromEnv(std::map<std::string, std::string> env) {
  return ConfigFromEnv([&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(ConfigTest, DefaultsFromAnEmptyEnvironment) {
  auto c = FromEnv({});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->profiles, STACKHOUSE_PROFILE_CPU);
  EXPECT_EQ(c->sample_rate_hz, 100u);
  EXPECT_EQ(c->upload_interval_ms, 10000u);
  EXPECT_FALSE(c->application_name.empty());  // the program's name
  EXPECT_EQ(c->heap_sample_bytes, 512u * 1024);
}

TEST(ConfigTest, StackhouseVariables) {
  auto c = FromEnv({{"STACKHOUSE_SERVER_ADDRESS", "http://127.0.0.1:4040/"},
                    {"STACKHOUSE_APPLICATION_NAME", "checkout"},
                    {"STACKHOUSE_TAGS", "region=eu, env = prod"},
                    {"STACKHOUSE_PROFILES", "cpu,wall,heap,lock"},
                    {"STACKHOUSE_SAMPLE_RATE", "250"},
                    {"STACKHOUSE_UPLOAD_INTERVAL", "15s"},
                    {"STACKHOUSE_TENANT", "team-a"},
                    {"STACKHOUSE_LOG_LEVEL", "debug"},
                    {"STACKHOUSE_DUTY_CYCLE", "10s/60s"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server_address, "http://127.0.0.1:4040");
  EXPECT_EQ(c->application_name, "checkout");
  ASSERT_EQ(c->tags.size(), 2u);
  EXPECT_EQ(c->tags[1], (std::pair<std::string, std::string>{"env", "prod"}));
  EXPECT_EQ(c->profiles, 15u);
  EXPECT_EQ(c->sample_rate_hz, 250u);
  EXPECT_EQ(c->upload_interval_ms, 15000u);
  EXPECT_EQ(c->tenant, "team-a");
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->duty_on_ms, 10000u);
  EXPECT_EQ(c->duty_period_ms, 60000u);
}

TEST(ConfigTest, PyroscopeNamesWorkAndStackhouseNamesWin) {
  auto c = FromEnv({{"PYROSCOPE_SERVER_ADDRESS", "http://pyro:4040"},
                    {"PYROSCOPE_APPLICATION_NAME", "legacy"},
                    {"STACKHOUSE_APPLICATION_NAME", "new"},
                    {"PYROSCOPE_TENANT_ID", "t1"},
                    {"PYROSCOPE_UPLOAD_INTERVAL", "500ms"},
                    {"PYROSCOPE_LABELS", "a=b"},
                    {"PYROSCOPE_LOG_LEVEL", "trace"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server_address, "http://pyro:4040");
  EXPECT_EQ(c->application_name, "new");
  EXPECT_EQ(c->tenant, "t1");
  EXPECT_EQ(c->upload_interval_ms, 500u);
  EXPECT_EQ(c->tags.size(), 1u);
  EXPECT_EQ(c->log_level, "debug");
}

TEST(ConfigTest, ErrorsNameTheVariable) {
  auto bad = [](std::map<std::string, std::string> env, const std::string& want) {
    auto c = FromEnv(env);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.status().message().find(want), std::string::npos) << c.status().message();
  };
  bad({{"STACKHOUSE_PROFILES", "cpu,gpu"}}, "STACKHOUSE_PROFILES: unknown profile type \"gpu\"");
  bad({{"STACKHOUSE_SAMPLE_RATE", "fast"}}, "STACKHOUSE_SAMPLE_RATE");
  bad({{"STACKHOUSE_SAMPLE_RATE", "5000"}}, "outside 1..1000");
  bad({{"STACKHOUSE_UPLOAD_INTERVAL", "10 parsecs"}}, "STACKHOUSE_UPLOAD_INTERVAL: invalid duration");
  bad({{"STACKHOUSE_UPLOAD_INTERVAL", "10ms"}}, "under 100 ms");
  bad({{"STACKHOUSE_TAGS", "novalue"}}, "STACKHOUSE_TAGS: tag \"novalue\" is not key=value");
  bad({{"STACKHOUSE_TAGS", "__name__=x"}}, "reserved");
  bad({{"PYROSCOPE_SERVER_ADDRESS", "pyro:4040"}}, "must start with http://");
  bad({{"STACKHOUSE_DUTY_CYCLE", "60s/10s"}}, "within the period");
  bad({{"STACKHOUSE_PROCESS_FRACTION", "1.5"}}, "outside (0, 1]");
  bad({{"STACKHOUSE_ENGINE", "dtrace"}}, "unknown engine");
  bad({{"STACKHOUSE_LOG_LEVEL", "loud"}}, "unknown log level");
}

TEST(ConfigTest, FromCStruct) {
  stackhouse_config c{};
  c.application_name = "svc";
  c.profiles = STACKHOUSE_PROFILE_CPU | STACKHOUSE_PROFILE_HEAP;
  c.engine = STACKHOUSE_ENGINE_CTIMER;
  auto out = ConfigFromC(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->engine, Engine::kCtimer);
  EXPECT_EQ(out->sample_rate_hz, 100u);
  c.engine = 42;
  EXPECT_FALSE(ConfigFromC(c).ok());
  c.engine = 0;
  c.tags = "bad tag";
  EXPECT_FALSE(ConfigFromC(c).ok());
}

}  // namespace
}  // namespace stackhouse::sampler
