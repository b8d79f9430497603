#include "server/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace stackhouse::server {
namespace {

class RateLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    limiter_.SetClock([this] { return now_; });
  }
  double now_ = 1000;
  RateLimiter limiter_{100, 1000};  // 100 B/s, burst 1000 B
};

TEST_F(RateLimiterTest, BurstThenRefillAtRate) {
  int retry = -1;
  EXPECT_TRUE(limiter_.Allow("t", 600, &retry));
  EXPECT_TRUE(limiter_.Allow("t", 400, &retry));  // exactly empty
  EXPECT_FALSE(limiter_.Allow("t", 1, &retry));
  EXPECT_EQ(retry, 1);
  EXPECT_FALSE(limiter_.Allow("t", 250, &retry));
  EXPECT_EQ(retry, 3);  // 250 B at 100 B/s, rounded up
  now_ += 2.5;
  EXPECT_TRUE(limiter_.Allow("t", 250, &retry));
  EXPECT_FALSE(limiter_.Allow("t", 1, nullptr));  // a null retry pointer is fine
  now_ += 100;                                    // refills to the burst, not beyond
  EXPECT_TRUE(limiter_.Allow("t", 1000, &retry));
  EXPECT_FALSE(limiter_.Allow("t", 1, &retry));
}

TEST_F(RateLimiterTest, TenantsAreIndependent) {
  int retry = 0;
  EXPECT_TRUE(limiter_.Allow("a", 1000, &retry));
  EXPECT_FALSE(limiter_.Allow("a", 10, &retry));
  EXPECT_TRUE(limiter_.Allow("b", 1000, &retry));
  EXPECT_TRUE(limiter_.Allow("", 1000, &retry));
}

TEST_F(RateLimiterTest, RetryAfterIsAtLeastOneSecond) {
  int retry = 0;
  EXPECT_TRUE(limiter_.Allow("t", 999.99, &retry));
  EXPECT_FALSE(limiter_.Allow("t", 0.02, &retry));
  EXPECT_EQ(retry, 1);
}

TEST_F(RateLimiterTest, RequestLargerThanBurstNeedsFullBucketAndLeavesDebt) {
  int retry = 0;
  EXPECT_TRUE(limiter_.Allow("t", 1500, &retry));  // full bucket: admitted, 500 B of debt
  EXPECT_FALSE(limiter_.Allow("t", 1500, &retry));
  EXPECT_EQ(retry, 15);  // needs a full bucket again: 1500 B at 100 B/s
  now_ += 14;
  EXPECT_FALSE(limiter_.Allow("t", 1500, &retry));
  EXPECT_EQ(retry, 1);
  now_ += 1;
  EXPECT_TRUE(limiter_.Allow("t", 1500, &retry));
}

TEST_F(RateLimiterTest, ClockGoingBackwardsDoesNotRefill) {
  int retry = 0;
  EXPECT_TRUE(limiter_.Allow("t", 1000, &retry));
  now_ -= 50;
  EXPECT_FALSE(limiter_.Allow("t", 100, &retry));
  now_ += 51;  // one second after the last real update
  EXPECT_TRUE(limiter_.Allow("t", 100, &retry));
}

TEST(RateLimiterDisabledTest, ZeroRateAllowsEverything) {
  RateLimiter off(0, 0);
  int retry = -1;
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(off.Allow("t", 1e12, &retry));
  EXPECT_EQ(retry, -1);
  EXPECT_EQ(off.tracked_tenants(), 0u);
  RateLimiter negative(-5, 100);
  EXPECT_TRUE(negative.Allow("t", 1e12, &retry));
}

TEST_F(RateLimiterTest, ForgetsTenantsWhoseBucketRefilled) {
  int retry = 0;
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(limiter_.Allow("tenant-" + std::to_string(i), 500, &retry));
    now_ += 0.01;
  }
  // Buckets refill in 5 s: at most the last ~500 tenants can still be tracked.
  EXPECT_LT(limiter_.tracked_tenants(), 2100u);
  now_ += 10;
  ASSERT_TRUE(limiter_.Allow("late", 500, &retry));
  // A forgotten tenant starts with a full bucket again.
  EXPECT_TRUE(limiter_.Allow("tenant-0", 1000, &retry));
}

TEST(RateLimiterThreadsTest, ConcurrentTenantsNeverExceedBudget) {
  RateLimiter limiter(1, 10000);  // effectively no refill during the test
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      int retry = 0;
      for (int i = 0; i < 1000; ++i) {
        if (limiter.Allow("shared", 100, &retry)) ++admitted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(admitted.load(), 100);
  EXPECT_LE(admitted.load(), 101);  // plus at most one refill of 100 B
}

}  // namespace
}  // namespace stackhouse::server
