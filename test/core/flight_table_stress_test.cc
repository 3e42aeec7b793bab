// Many threads hammering a few hot keys: at most one leader per key at any moment, every
// join accounted for, and nothing left behind.
#include "clock.h"
#include "flight_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace threadflight {
namespace {

struct StressResult {
  int64_t leaders = 0, followers = 0, rejected = 0;
};

class StressTest : public ::testing::TestWithParam<uint32_t /*shards*/> {};

TEST_P(StressTest, OneLeaderPerKeyAtATimeAndNothingLeaks) {
  constexpr int kThreads = 8;
  constexpr int kKeys = 16;
  constexpr int kIterations = 20'000;
  FlightTable table(Limits{/*max_subscribers=*/6, int64_t{60'000} * 1'000'000}, GetParam());

  std::vector<std::atomic<int>> active_leaders(kKeys);
  std::atomic<bool> overlap{false};
  std::vector<StressResult> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      StressResult& r = results[t];
      for (int i = 0; i < kIterations; ++i) {
        const int k = static_cast<int>(rng() % kKeys);
        const std::string key = "key:" + std::to_string(k);
        JoinResult j = table.join(key, monotonic_ns());
        switch (j.role) {
          case Role::kLeader: {
            ++r.leaders;
            if (active_leaders[k].fetch_add(1) != 0) overlap = true;
            for (int spin = static_cast<int>(rng() % 64); spin > 0; --spin) std::this_thread::yield();
            active_leaders[k].fetch_sub(1);
            if (table.settle(key, j.cell) != SettleResult::kRemoved) overlap = true;
            break;
          }
          case Role::kFollower: ++r.followers; break;
          case Role::kRejected: ++r.rejected; break;
          case Role::kExhausted: FAIL() << "arena exhausted"; break;
        }
      }
    });
  }
  for (auto& th : threads) th.join();

  StressResult total;
  for (const auto& r : results) {
    total.leaders += r.leaders;
    total.followers += r.followers;
    total.rejected += r.rejected;
  }
  EXPECT_FALSE(overlap.load()) << "two leaders of one key overlapped, or a settle missed its entry";
  EXPECT_EQ(total.leaders + total.followers + total.rejected, int64_t{kThreads} * kIterations);
  EXPECT_GT(total.followers, 0) << "no coalescing happened at all";
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.owned_cells(), 0u);
  EXPECT_EQ(table.stats().subscribers, 0);
}

// Leaders whose flights are detached under them (expiry by a tiny max_duration, and
// concurrent clear()) must still settle cleanly without disturbing newer flights.
TEST_P(StressTest, DetachedFlightsSettleWithoutTouchingNewerOnes) {
  constexpr int kThreads = 6;
  constexpr int kIterations = 20'000;
  FlightTable table(Limits{1'000'000, /*max_duration_ns=*/20'000}, GetParam());
  std::atomic<bool> stop{false};
  std::thread clearer([&] {
    while (!stop.load()) {
      table.clear();
      std::this_thread::yield();
    }
  });
  std::atomic<int64_t> not_owned{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      for (int i = 0; i < kIterations; ++i) {
        const std::string key = "hot:" + std::to_string(rng() % 4);
        JoinResult j = table.join(key, monotonic_ns());
        if (j.role != Role::kLeader) continue;
        std::this_thread::yield();
        if (table.settle(key, j.cell) == SettleResult::kNotOwned) ++not_owned;
      }
    });
  }
  for (auto& th : threads) th.join();
  stop = true;
  clearer.join();
  EXPECT_EQ(not_owned.load(), 0);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.owned_cells(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Shards, StressTest, ::testing::Values(1u, 16u),
                         [](const auto& info) { return "shards_" + std::to_string(info.param); });

}  // namespace
}  // namespace threadflight
