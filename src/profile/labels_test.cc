#include "profile/labels.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/hash.h"

namespace stackhouse::profile {
namespace {

LabelSet Set(std::vector<LabelPair> pairs) {
  auto s = LabelSet::FromPairs(std::move(pairs));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : LabelSet();
}

Matcher M(std::string name, MatchOp op, std::string value) {
  auto m = Matcher::Create(std::move(name), op, std::move(value));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

Selector Sel(std::string_view text) {
  auto s = ParseSelector(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.status().ToString();
  return s.ok() ? std::move(s).value() : Selector();
}

// ---- LabelSet ---------------------------------------------------------------

TEST(LabelSetTest, SortsAndDeduplicates) {
  LabelSet s = Set({{"b", "2"}, {"a", "1"}, {"c", "3"}, {"a", "1"}});
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s.pairs()[0], (LabelPair{"a", "1"}));
  EXPECT_EQ(s.pairs()[1], (LabelPair{"b", "2"}));
  EXPECT_EQ(s.pairs()[2], (LabelPair{"c", "3"}));
  EXPECT_EQ(s.Get("b"), "2");
  EXPECT_EQ(s.Get("zz"), "");
  EXPECT_TRUE(s.Has("c"));
  EXPECT_FALSE(s.Has("d"));
  EXPECT_TRUE(LabelPair({"a", "z"}) < LabelPair({"b", "a"}));
  EXPECT_TRUE(LabelPair({"a", "a"}) < LabelPair({"a", "b"}));
}

TEST(LabelSetTest, FromPairsErrors) {
  auto dup = LabelSet::FromPairs({{"a", "1"}, {"b", "2"}, {"a", "3"}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dup.status().message().find("\"a\""), std::string::npos) << dup.status().message();
  EXPECT_FALSE(LabelSet::FromPairs({{"", "x"}}).ok());
  EXPECT_FALSE(LabelSet::FromPairs({{"", ""}}).ok());
}

TEST(LabelSetTest, EmptyValueIsAbsent) {
  LabelSet s = Set({{"a", "1"}, {"env", ""}});
  EXPECT_EQ(s, Set({{"a", "1"}}));
  EXPECT_FALSE(s.Has("env"));
  EXPECT_EQ(s.With("a", ""), LabelSet());
}

TEST(LabelSetTest, HashIsOrderIndependentAndDistinguishes) {
  LabelSet x = Set({{"service_name", "api"}, {"env", "prod"}, {"region", "eu"}});
  LabelSet y = Set({{"region", "eu"}, {"service_name", "api"}, {"env", "prod"}});
  EXPECT_EQ(x, y);
  EXPECT_EQ(x.Hash(), y.Hash());
  EXPECT_NE(x.Hash(), x.With("env", "dev").Hash());
  EXPECT_NE(x.Hash(), x.Without("env").Hash());
  // Boundaries between names and values are part of the encoding.
  EXPECT_NE(Set({{"ab", "c"}}).Hash(), Set({{"a", "bc"}}).Hash());
  EXPECT_NE(Set({{"a", "b"}, {"c", "d"}}).Hash(), Set({{"a", "bcd"}}).Hash());
  EXPECT_NE(LabelSet().Hash(), Set({{"a", "b"}}).Hash());
}

TEST(LabelSetTest, HashEncodingIsFixed) {
  LabelSet s = Set({{"service_name", "api"}, {"env", "prod"}});
  // varint(len) name varint(len) value, sorted by name; XXH3-64 seed 0.
  std::string encoding =
      std::string("\x03") + "env" + "\x04" + "prod" + "\x0c" + "service_name" + "\x03" + "api";
  EXPECT_EQ(s.Hash(), HashString(encoding));
  EXPECT_EQ(s.Hash(), 0x0cebbba36746f9eeull);
  // Lengths >= 128 take two varint bytes.
  std::string long_value(200, 'v');
  EXPECT_EQ(Set({{"a", long_value}}).Hash(),
            HashString(std::string("\x01") + "a" + "\xc8\x01" + long_value));
  EXPECT_EQ(LabelSet().Hash(), HashString(""));
}

TEST(LabelSetTest, WithAndWithout) {
  LabelSet s = Set({{"b", "2"}});
  LabelSet t = s.With("a", "1").With("c", "3").With("b", "x");
  EXPECT_EQ(t, Set({{"a", "1"}, {"b", "x"}, {"c", "3"}}));
  EXPECT_EQ(s, Set({{"b", "2"}}));  // unchanged
  EXPECT_EQ(t.Without("b"), Set({{"a", "1"}, {"c", "3"}}));
  EXPECT_EQ(t.Without("zz"), t);
  EXPECT_EQ(t.With("", "v"), t);
  EXPECT_EQ(t.With("b", "").Without("b"), t.Without("b"));
  EXPECT_TRUE(Set({{"a", "1"}}) < Set({{"a", "2"}}));
  EXPECT_FALSE(Set({{"a", "2"}}) < Set({{"a", "1"}}));
}

TEST(LabelSetTest, ToStringEscapes) {
  EXPECT_EQ(LabelSet().ToString(), "{}");
  EXPECT_EQ(Set({{"b", "y\"z"}, {"a", "x"}}).ToString(), R"({a="x", b="y\"z"})");
  EXPECT_EQ(Set({{"a",
                  "back\\slash\nnew\ttab\r\x01\x7f"
                  "caf\xc3\xa9"}})
                .ToString(),
            R"({a="back\\slash\nnew\ttab\r\x01\x7f)"
            "caf\xc3\xa9\"}");
  EXPECT_EQ(Set({{"service.name", "x"}, {"a b", "y"}}).ToString(),
            R"({"a b"="y", service.name="x"})");
}

TEST(LabelSetTest, ValidLabelNames) {
  EXPECT_TRUE(IsValidLabelName("service_name"));
  EXPECT_TRUE(IsValidLabelName("service.name"));
  EXPECT_TRUE(IsValidLabelName("__name__"));
  EXPECT_TRUE(IsValidLabelName("_a9"));
  EXPECT_FALSE(IsValidLabelName(""));
  EXPECT_FALSE(IsValidLabelName("9a"));
  EXPECT_FALSE(IsValidLabelName(".a"));
  EXPECT_FALSE(IsValidLabelName("a-b"));
  EXPECT_FALSE(IsValidLabelName("a b"));
  EXPECT_FALSE(IsValidLabelName("caf\xc3\xa9"));
  EXPECT_TRUE(IsValidLabelName(std::string(kMaxLabelNameLength, 'a')));
  EXPECT_FALSE(IsValidLabelName(std::string(kMaxLabelNameLength + 1, 'a')));
  EXPECT_FALSE(IsValidLabelName("abcdef", 5));
}

// ---- Matcher ----------------------------------------------------------------

TEST(MatcherTest, Operators) {
  Matcher eq = M("env", MatchOp::kEqual, "prod");
  EXPECT_TRUE(eq.Matches("prod"));
  EXPECT_FALSE(eq.Matches("prod2"));
  Matcher ne = M("env", MatchOp::kNotEqual, "prod");
  EXPECT_FALSE(ne.Matches("prod"));
  EXPECT_TRUE(ne.Matches("dev"));
  Matcher re = M("env", MatchOp::kRegexMatch, "prod.*|dev");
  EXPECT_TRUE(re.Matches("prod"));
  EXPECT_TRUE(re.Matches("prod-eu"));
  EXPECT_TRUE(re.Matches("dev"));
  EXPECT_FALSE(re.Matches("xdev"));
  Matcher nre = M("env", MatchOp::kRegexNoMatch, "prod.*");
  EXPECT_FALSE(nre.Matches("prod-eu"));
  EXPECT_TRUE(nre.Matches("dev"));
  EXPECT_EQ(eq.name(), "env");
  EXPECT_EQ(re.op(), MatchOp::kRegexMatch);
  EXPECT_EQ(re.value(), "prod.*|dev");
}

TEST(MatcherTest, RegexesAreFullyAnchored) {
  Matcher a = M("x", MatchOp::kRegexMatch, "a");
  EXPECT_TRUE(a.Matches("a"));
  EXPECT_FALSE(a.Matches("ab"));
  EXPECT_FALSE(a.Matches("ba"));
  EXPECT_TRUE(M("x", MatchOp::kRegexNoMatch, "a").Matches("ab"));
  // The anchors bind the whole alternation.
  Matcher alt = M("x", MatchOp::kRegexMatch, "a|b");
  EXPECT_FALSE(alt.Matches("ab"));
  EXPECT_TRUE(alt.Matches("b"));
  // '.' matches a newline (Prometheus 3).
  EXPECT_TRUE(M("x", MatchOp::kRegexMatch, "a.b").Matches("a\nb"));
}

TEST(MatcherTest, AbsentLabelMatchesAsEmpty) {
  LabelSet no_env = Set({{"service_name", "api"}});
  LabelSet env_x = Set({{"env", "x"}});
  EXPECT_TRUE(M("env", MatchOp::kNotEqual, "x").Matches(no_env));
  EXPECT_FALSE(M("env", MatchOp::kNotEqual, "x").Matches(env_x));
  EXPECT_FALSE(M("env", MatchOp::kEqual, "x").Matches(no_env));
  EXPECT_TRUE(M("env", MatchOp::kEqual, "").Matches(no_env));
  EXPECT_TRUE(M("env", MatchOp::kRegexMatch, ".*").Matches(no_env));
  EXPECT_FALSE(M("env", MatchOp::kRegexMatch, ".+").Matches(no_env));
  EXPECT_TRUE(M("env", MatchOp::kRegexMatch, ".+").Matches(env_x));
  EXPECT_TRUE(M("env", MatchOp::kRegexNoMatch, ".+").Matches(no_env));
  EXPECT_TRUE(MatchesAll(
      {M("service_name", MatchOp::kEqual, "api"), M("env", MatchOp::kNotEqual, "x")}, no_env));
  EXPECT_FALSE(MatchesAll(
      {M("service_name", MatchOp::kEqual, "api"), M("env", MatchOp::kRegexMatch, ".+")}, no_env));
}

TEST(MatcherTest, Errors) {
  auto bad = Matcher::Create("env", MatchOp::kRegexMatch, "(prod");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("\"(prod\""), std::string::npos) << bad.status().message();
  // Not a valid regex on its own, even though ^(?:a)|(b)$ would compile.
  EXPECT_FALSE(Matcher::Create("env", MatchOp::kRegexMatch, "a)|(b").ok());
  EXPECT_FALSE(Matcher::Create("", MatchOp::kEqual, "x").ok());
  // Regex syntax is not checked for the equality operators.
  EXPECT_TRUE(Matcher::Create("env", MatchOp::kEqual, "(prod").ok());
  auto too_long =
      Matcher::Create("env", MatchOp::kRegexMatch, std::string(kMaxRegexLength + 1, 'a'));
  EXPECT_FALSE(too_long.ok());
  EXPECT_TRUE(Matcher::Create("env", MatchOp::kRegexMatch, std::string(kMaxRegexLength, 'a')).ok());
  // Needs far more than kRegexMaxMem once compiled.
  std::string huge;
  for (int i = 0; i < 300; ++i) huge += "[a-z]{1000}";
  ASSERT_LE(huge.size(), kMaxRegexLength);
  auto big = Matcher::Create("env", MatchOp::kRegexMatch, huge);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("pattern too large"), std::string::npos)
      << big.status().message();
}

TEST(MatcherTest, ToStringAndCopies) {
  EXPECT_EQ(M("env", MatchOp::kEqual, "a\"b").ToString(), R"(env="a\"b")");
  EXPECT_EQ(M("env", MatchOp::kNotEqual, "x").ToString(), R"(env!="x")");
  EXPECT_EQ(M("env", MatchOp::kRegexMatch, "a\\d+").ToString(), R"(env=~"a\\d+")");
  EXPECT_EQ(M("env", MatchOp::kRegexNoMatch, "x").ToString(), R"(env!~"x")");
  EXPECT_EQ(M("service.name", MatchOp::kEqual, "x").ToString(), R"(service.name="x")");
  EXPECT_EQ(M("a-b", MatchOp::kEqual, "x").ToString(), R"("a-b"="x")");
  Matcher m = M("env", MatchOp::kRegexMatch, "p.*");
  Matcher copy = m;
  EXPECT_TRUE(copy.Matches("prod"));
  EXPECT_EQ(copy, m);
}

// ---- Selectors --------------------------------------------------------------

TEST(SelectorTest, Forms) {
  Selector full =
      Sel(R"(process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name="x", env=~"prod.*"})");
  EXPECT_EQ(full.profile_type, "process_cpu:cpu:nanoseconds:cpu:nanoseconds");
  ASSERT_EQ(full.matchers.size(), 2u);
  EXPECT_EQ(full.matchers[0], M("service_name", MatchOp::kEqual, "x"));
  EXPECT_EQ(full.matchers[1], M("env", MatchOp::kRegexMatch, "prod.*"));
  EXPECT_EQ(full.ToString(),
            R"(process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name="x", env=~"prod.*"})");

  Selector no_type = Sel(R"({service_name="x"})");
  EXPECT_EQ(no_type.profile_type, "");
  ASSERT_EQ(no_type.matchers.size(), 1u);
  EXPECT_EQ(no_type.ToString(), R"({service_name="x"})");

  Selector no_braces = Sel("process_cpu:cpu:nanoseconds:cpu:nanoseconds");
  EXPECT_EQ(no_braces.profile_type, "process_cpu:cpu:nanoseconds:cpu:nanoseconds");
  EXPECT_TRUE(no_braces.matchers.empty());
  EXPECT_EQ(no_braces.ToString(), "process_cpu:cpu:nanoseconds:cpu:nanoseconds");

  Selector empty_braces = Sel("memory:alloc_space:bytes:space:bytes{}");
  EXPECT_TRUE(empty_braces.matchers.empty());
  EXPECT_EQ(empty_braces.ToString(), "memory:alloc_space:bytes:space:bytes");
  EXPECT_EQ(Sel("{}").ToString(), "{}");

  Selector ops = Sel(R"({a="1",b!="2",c=~"3",d!~"4"})");
  ASSERT_EQ(ops.matchers.size(), 4u);
  EXPECT_EQ(ops.matchers[0].op(), MatchOp::kEqual);
  EXPECT_EQ(ops.matchers[1].op(), MatchOp::kNotEqual);
  EXPECT_EQ(ops.matchers[2].op(), MatchOp::kRegexMatch);
  EXPECT_EQ(ops.matchers[3].op(), MatchOp::kRegexNoMatch);
  EXPECT_EQ(ops.ToString(), R"({a="1", b!="2", c=~"3", d!~"4"})");
}

TEST(SelectorTest, WhitespaceAndTrailingComma) {
  Selector s =
      Sel(" \tprocess_cpu:cpu:nanoseconds:cpu:nanoseconds \n{ service_name = \"x\" ,"
          "env !~ \"dev\" , } \r\n");
  EXPECT_EQ(s.ToString(),
            R"(process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name="x", env!~"dev"})");
  EXPECT_EQ(Sel(R"({a="1",})").matchers.size(), 1u);
  EXPECT_EQ(Sel("  {  }  ").ToString(), "{}");
}

TEST(SelectorTest, StringsAndEscapes) {
  Selector s = Sel(
      R"({a="q\"b\\s\n\t\r", b='it\'s "x"', c=`raw\n"`, d="\x41\101\u00e9\U0001F600\a\b\f\v"})");
  ASSERT_EQ(s.matchers.size(), 4u);
  EXPECT_EQ(s.matchers[0].value(), "q\"b\\s\n\t\r");
  EXPECT_EQ(s.matchers[1].value(), "it's \"x\"");
  EXPECT_EQ(s.matchers[2].value(), "raw\\n\"");
  EXPECT_EQ(s.matchers[3].value(), "AA\xc3\xa9\xf0\x9f\x98\x80\a\b\f\v");
  EXPECT_EQ(Sel("{a=`multi\nline`}").matchers[0].value(), "multi\nline");
  // Quoted label names (Prometheus 3 style) and dotted names.
  Selector names = Sel(R"({"service name"="x", service.name="y"})");
  EXPECT_EQ(names.matchers[0].name(), "service name");
  EXPECT_EQ(names.matchers[1].name(), "service.name");
  EXPECT_EQ(names.ToString(), R"({"service name"="x", service.name="y"})");
  // Raw bytes and escapes survive a round trip.
  Selector odd = Sel("{a=\"\\x00\\xff caf\xc3\xa9 \\\\ \\x7f\"}");
  EXPECT_EQ(odd.matchers[0].value(), std::string("\0\xff caf\xc3\xa9 \\ \x7f", 12));
  Selector again = Sel(odd.ToString());
  EXPECT_EQ(again.matchers[0].value(), odd.matchers[0].value());
}

TEST(SelectorTest, Invalid) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "selector: offset 0: empty selector"},
      {"   ", "selector: offset 3: empty selector"},
      {"{service_name\"x\"}", "selector: offset 13: expected '=', '!=', '=~' or '!~'"},
      {"process_cpu{service_name==\"x\"}", "selector: offset 25: expected a quoted string"},
      {"{a=x}", "selector: offset 3: expected a quoted string"},
      {"{a=\"x\" b=\"y\"}", "selector: offset 7: expected ',' or '}'"},
      {"{a=\"x\"", "selector: offset 6: expected ',' or '}'"},
      {"{a=\"x}", "selector: offset 3: unterminated string"},
      {"{a=`x}", "selector: offset 3: unterminated string"},
      {"{a=\"x\ny\"}", "selector: offset 5: newline in string"},
      {"{a=\"\\q\"}", "selector: offset 4: unknown escape sequence"},
      {"{a=\"\\x4\"}", "selector: offset 4: invalid \\x escape"},
      {"{a=\"\\ud800\"}", "selector: offset 4: invalid Unicode code point"},
      {"{a=\"\\U00110000\"}", "selector: offset 4: invalid Unicode code point"},
      {"{a=\"\\400\"}", "selector: offset 4: invalid octal escape"},
      {"{,}", "selector: offset 1: expected a label name or '}'"},
      {"{a=\"x\",,}", "selector: offset 7: expected a label name or '}'"},
      {"{9a=\"x\"}", "selector: offset 1: expected a label name or '}'"},
      {"{\"\"=\"x\"}", "selector: offset 1: empty label name"},
      {"{a", "selector: offset 2: expected '=', '!=', '=~' or '!~'"},
      {"{", "selector: offset 1: expected a label name or '}'"},
      {"{a=\"x\"} extra", "selector: offset 8: unexpected text after '}'"},
      {"cpu x", "selector: offset 4: expected '{' or the end"},
      {"}", "selector: offset 0: expected a profile type or '{'"},
      {"{env=~\"(prod\"}",
       "selector: offset 6: label \"env\": invalid regex \"(prod\": missing ): (prod"},
  };
  for (const Case& c : cases) {
    auto s = ParseSelector(c.text);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_EQ(s.status().message(), c.message) << c.text;
  }
}

TEST(SelectorTest, Limits) {
  std::string many = "{";
  for (size_t i = 0; i < kMaxSelectorMatchers; ++i) many += "a=\"1\",";
  EXPECT_TRUE(ParseSelector(many + "}").ok());
  auto over = ParseSelector(many + "b=\"2\"}");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().message(),
            "selector: offset " + std::to_string(many.size()) + ": more than 256 matchers");

  std::string long_value = "{a=\"" + std::string(kMaxSelectorLength, 'x') + "\"}";
  auto too_long = ParseSelector(long_value);
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.status().message().find("longer than 65536 bytes"), std::string::npos);

  auto long_name = ParseSelector("{" + std::string(kMaxLabelNameLength + 1, 'a') + "=\"x\"}");
  ASSERT_FALSE(long_name.ok());
  EXPECT_EQ(long_name.status().message(), "selector: offset 1: label name longer than 1024 bytes");

  // A hostile regex is an error, not a crash or a hang.
  std::string hostile = "{a=~\"";
  for (int i = 0; i < 300; ++i) hostile += "[a-z]{1000}";
  EXPECT_FALSE(ParseSelector(hostile + "\"}").ok());
  auto nested = ParseSelector(R"({a=~"((((((((((a*)*)*)*)*)*)*)*)*)*)*b"})");
  ASSERT_TRUE(nested.ok());
  EXPECT_FALSE(nested->matchers[0].Matches(std::string(10000, 'a')));
}

// ---- Ingest names -----------------------------------------------------------

IngestName Ingest(std::string_view text) {
  auto n = ParseIngestName(text);
  EXPECT_TRUE(n.ok()) << text << ": " << n.status().ToString();
  return n.ok() ? std::move(n).value() : IngestName();
}

TEST(IngestNameTest, Forms) {
  IngestName n = Ingest("myapp.cpu{env=staging,region=us-east}");
  EXPECT_EQ(n.app_name, "myapp.cpu");
  EXPECT_EQ(n.labels, (std::vector<LabelPair>{{"env", "staging"}, {"region", "us-east"}}));

  IngestName bare = Ingest("myapp.cpu");
  EXPECT_EQ(bare.app_name, "myapp.cpu");
  EXPECT_TRUE(bare.labels.empty());

  IngestName empty = Ingest("my-app/v2.alloc_space{}");
  EXPECT_EQ(empty.app_name, "my-app/v2.alloc_space");
  EXPECT_TRUE(empty.labels.empty());

  IngestName values =
      Ingest(" app.wall { url = /api/v1:8080 , host=a.b.c,k8s.pod=web-1=x{y ,empty=,} ");
  EXPECT_EQ(values.app_name, "app.wall");
  EXPECT_EQ(
      values.labels,
      (std::vector<LabelPair>{
          {"url", "/api/v1:8080"}, {"host", "a.b.c"}, {"k8s.pod", "web-1=x{y"}, {"empty", ""}}));

  IngestName quoted = Ingest(R"(app{a="x,}y", b='q\'', c=`r`, d="\u00e9"})");
  EXPECT_EQ(quoted.labels,
            (std::vector<LabelPair>{{"a", "x,}y"}, {"b", "q'"}, {"c", "r"}, {"d", "\xc3\xa9"}}));

  IngestName dup = Ingest("app{a=1,a=1}");
  EXPECT_EQ(dup.labels, (std::vector<LabelPair>{{"a", "1"}}));
  EXPECT_EQ(Ingest("caf\xc3\xa9.cpu").app_name, "caf\xc3\xa9.cpu");
}

TEST(IngestNameTest, Invalid) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "ingest name: offset 0: empty application name"},
      {"  {a=b}", "ingest name: offset 2: empty application name"},
      {"my app.cpu", "ingest name: offset 2: invalid character \" \" in the application name"},
      {"app.cpu{a=b", "ingest name: offset 11: missing '}'"},
      {"app.cpu{", "ingest name: offset 8: missing '}'"},
      {"app.cpu{a}", "ingest name: offset 9: expected '='"},
      {"app.cpu{a=b,c}", "ingest name: offset 13: expected '='"},
      {"app.cpu{=b}", "ingest name: offset 8: invalid label name \"\""},
      {"app.cpu{9a=b}", "ingest name: offset 8: invalid label name \"9a\""},
      {"app.cpu{a-b=c}", "ingest name: offset 8: invalid label name \"a-b\""},
      {"app.cpu{a=b}x", "ingest name: offset 12: unexpected text after '}'"},
      {"app.cpu{a=\"x\"y}", "ingest name: offset 13: expected ',' or '}'"},
      {"app.cpu{a=\"x}", "ingest name: offset 10: unterminated string"},
      {"app.cpu{a=1, a=2}", "ingest name: offset 13: label \"a\" has two values, \"1\" and \"2\""},
  };
  for (const Case& c : cases) {
    auto n = ParseIngestName(c.text);
    ASSERT_FALSE(n.ok()) << c.text;
    EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_EQ(n.status().message(), c.message) << c.text;
  }
  std::string many = "app{";
  for (size_t i = 0; i <= kMaxSelectorMatchers; ++i) many += "l" + std::to_string(i) + "=v,";
  EXPECT_FALSE(ParseIngestName(many + "}").ok());
  EXPECT_FALSE(ParseIngestName(std::string(kMaxSelectorLength + 1, 'a')).ok());
}

TEST(IngestNameTest, SplitAppType) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(SplitAppType("myapp.cpu"), P("myapp", "cpu"));
  EXPECT_EQ(SplitAppType("my.app.inuse_space"), P("my.app", "inuse_space"));
  EXPECT_EQ(SplitAppType("a.alloc_in_new_tlab_bytes"), P("a", "alloc_in_new_tlab_bytes"));
  EXPECT_EQ(SplitAppType("svc.exceptions"), P("svc", "exceptions"));
  EXPECT_EQ(SplitAppType("svc.lock_duration"), P("svc", "lock_duration"));
  EXPECT_EQ(SplitAppType("myapp"), P("myapp", ""));
  EXPECT_EQ(SplitAppType("myapp.server"), P("myapp.server", ""));
  EXPECT_EQ(SplitAppType("myapp.cpu.server"), P("myapp.cpu.server", ""));
  EXPECT_EQ(SplitAppType("myapp.CPU"), P("myapp.CPU", ""));
  EXPECT_EQ(SplitAppType(".cpu"), P(".cpu", ""));
  EXPECT_EQ(SplitAppType(""), P("", ""));
}

}  // namespace
}  // namespace stackhouse::profile
