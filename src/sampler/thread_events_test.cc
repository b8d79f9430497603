#include "sampler/thread_events.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <thread>

namespace stackhouse::sampler {
namespace {

TEST(ThreadEventsTest, DroppedWithoutSinkDeliveredInOrderWithOne) {
  EXPECT_FALSE(PushThreadEvent(1, true));
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  SetThreadEventSink(fd);
  for (int lap = 0; lap < 3; ++lap) {  // wrap around the queue
    for (int i = 0; i < 3000; ++i) ASSERT_TRUE(PushThreadEvent(i, i % 2 == 0));
    std::vector<std::pair<int, bool>> out;
    PopThreadEvents(&out);
    ASSERT_EQ(out.size(), 3000u);
    for (int i = 0; i < 3000; ++i) {
      EXPECT_EQ(out[i].first, i);
      EXPECT_EQ(out[i].second, i % 2 == 0);
    }
  }
  uint64_t n = 0;
  EXPECT_EQ(read(fd, &n, sizeof(n)), 8);
  EXPECT_GT(n, 0u);
  // A full queue drops instead of blocking.
  int pushed = 0;
  while (PushThreadEvent(7, true) && pushed < 100000) pushed++;
  EXPECT_EQ(pushed, 4096);
  std::vector<std::pair<int, bool>> out;
  PopThreadEvents(&out);
  EXPECT_EQ(out.size(), 4096u);
  SetThreadEventSink(-1);
  EXPECT_FALSE(PushThreadEvent(1, true));
  close(fd);
}

TEST(ThreadEventsTest, ConcurrentProducers) {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  SetThreadEventSink(fd);
  std::vector<std::pair<int, bool>> out;
  std::thread a([] { for (int i = 0; i < 1000; ++i) while (!PushThreadEvent(i, true)) {} });
  std::thread b([] { for (int i = 0; i < 1000; ++i) while (!PushThreadEvent(-i, false)) {} });
  while (out.size() < 2000) PopThreadEvents(&out);
  a.join();
  b.join();
  int starts = 0;
  for (auto& [tid, started] : out) starts += started;
  EXPECT_EQ(starts, 1000);
  SetThreadEventSink(-1);
  close(fd);
}

}  // namespace
}  // namespace stackhouse::sampler
