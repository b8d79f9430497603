#include "server/early_queries.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace stackhouse::server {
namespace {

HttpRequest Req(std::vector<std::pair<std::string, std::string>> query, std::string tenant = "") {
  HttpRequest r;
  r.method = "GET";
  r.path = "/pyroscope/render";
  r.query = std::move(query);
  if (!tenant.empty()) r.headers.push_back({"x-scope-orgid", tenant});
  return r;
}

struct Counting {
  std::atomic<int> calls{0};
  HttpHandler handler() {
    return [this](const HttpRequest& req, HttpResponse* resp) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      resp->body = "answer to " + std::string(req.Query("query")) + " #" + std::to_string(++calls);
    };
  }
};

TEST(EarlyQueriesTest, AnIdenticalRequestTakesTheResponseOnce) {
  Counting c;
  EarlyQueries early(c.handler());
  early.Start(Req({{"query", "q"}, {"from", "now-1h"}}));
  early.Start(Req({{"query", "q"}, {"from", "now-1h"}}));  // the same: not started twice
  HttpResponse resp;
  EXPECT_FALSE(early.Take(Req({{"from", "now-1h"}, {"query", "q"}}), &resp));  // other order
  EXPECT_FALSE(early.Take(Req({{"query", "q"}, {"from", "now-1h"}}, "tenant-b"), &resp));
  ASSERT_TRUE(early.Take(Req({{"query", "q"}, {"from", "now-1h"}}), &resp));
  EXPECT_EQ(resp.body, "answer to q #1");
  EXPECT_FALSE(early.Take(Req({{"query", "q"}, {"from", "now-1h"}}), &resp));
  EXPECT_EQ(c.calls.load(), 1);
  EXPECT_EQ(early.started(), 1u);
  EXPECT_EQ(early.taken(), 1u);
}

TEST(EarlyQueriesTest, StaleAndExcessQueriesAreNotUsed) {
  Counting c;
  EarlyQueries early(c.handler(), /*max_pending=*/2, std::chrono::milliseconds(100));
  early.Start(Req({{"query", "a"}}));
  early.Start(Req({{"query", "b"}}));
  early.Start(Req({{"query", "c"}}));  // over the limit: not started
  HttpResponse resp;
  EXPECT_FALSE(early.Take(Req({{"query", "c"}}), &resp));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_FALSE(early.Take(Req({{"query", "a"}}), &resp));  // expired
  early.Start(Req({{"query", "c"}}));                      // room again
  ASSERT_TRUE(early.Take(Req({{"query", "c"}}), &resp));
  EXPECT_EQ(resp.body.rfind("answer to c", 0), 0u);
  EXPECT_EQ(early.started(), 3u);
}

TEST(EarlyQueriesTest, DestructionWaitsForRunningQueries) {
  Counting c;
  {
    EarlyQueries early(c.handler());
    early.Start(Req({{"query", "x"}}));
    early.Start(Req({{"query", "y"}}));
  }
  EXPECT_EQ(c.calls.load(), 2);
}

}  // namespace
}  // namespace stackhouse::server
