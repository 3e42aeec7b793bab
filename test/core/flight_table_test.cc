#include "flight_table.h"

#include <gtest/gtest.h>

#include <string>

namespace threadflight {
namespace {

constexpr int64_t kMs = 1'000'000;

Limits limits(int32_t max_subscribers = 1000, int64_t max_duration_ms = 30'000) {
  return Limits{max_subscribers, max_duration_ms * kMs};
}

uint64_t constant_hash(std::string_view) noexcept { return 42; }

TEST(FlightTable, FirstCallerLeadsLaterCallersFollow) {
  FlightTable table(limits());
  JoinResult a = table.join("user:123", 0);
  ASSERT_EQ(a.role, Role::kLeader);
  EXPECT_EQ(table.arena().at(a.cell).subscribers.load(), 1);

  JoinResult b = table.join("user:123", 5 * kMs);
  ASSERT_EQ(b.role, Role::kFollower);
  EXPECT_EQ(b.cell, a.cell);
  EXPECT_EQ(b.started_ns, 0);
  EXPECT_EQ(table.arena().at(a.cell).subscribers.load(), 2);
  EXPECT_EQ(table.size(), 1u);
}

TEST(FlightTable, DifferentKeysFlyIndependently) {
  FlightTable table(limits());
  JoinResult a = table.join("post:1", 0);
  JoinResult b = table.join("post:2", 0);
  EXPECT_EQ(a.role, Role::kLeader);
  EXPECT_EQ(b.role, Role::kLeader);
  EXPECT_NE(a.cell, b.cell);
  EXPECT_EQ(table.size(), 2u);
}

TEST(FlightTable, SettleRemovesTheEntrySoTheNextCallerLeadsAgain) {
  FlightTable table(limits());
  JoinResult a = table.join("k", 0);
  EXPECT_EQ(table.settle("k", a.cell), SettleResult::kRemoved);
  EXPECT_FALSE(table.contains("k"));
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.owned_cells(), 0u);
  EXPECT_EQ(table.join("k", 1).role, Role::kLeader);
}

TEST(FlightTable, SettlingTwiceIsRefused) {
  FlightTable table(limits());
  JoinResult a = table.join("k", 0);
  EXPECT_EQ(table.settle("k", a.cell), SettleResult::kRemoved);
  EXPECT_EQ(table.settle("k", a.cell), SettleResult::kNotOwned);
  EXPECT_EQ(table.settle("k", 0xFFFFFFF0u), SettleResult::kNotOwned);  // beyond the arena
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST(FlightTable, AStaleLeaderNeverRemovesANewerFlight) {
  FlightTable table(limits());
  JoinResult old_flight = table.join("k", 0);
  ASSERT_TRUE(table.detach("k", old_flight.cell));  // e.g. forgotten or expired
  JoinResult new_flight = table.join("k", 1);
  ASSERT_EQ(new_flight.role, Role::kLeader);
  ASSERT_NE(new_flight.cell, old_flight.cell);

  EXPECT_EQ(table.settle("k", old_flight.cell), SettleResult::kDetached);
  EXPECT_TRUE(table.contains("k"));
  EXPECT_EQ(table.join("k", 2).role, Role::kFollower);
  EXPECT_EQ(table.settle("k", new_flight.cell), SettleResult::kRemoved);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST(FlightTable, DetachChecksIdentity) {
  FlightTable table(limits());
  JoinResult a = table.join("k", 0);
  EXPECT_FALSE(table.detach("k", a.cell + 1));
  EXPECT_FALSE(table.detach("other", a.cell));
  EXPECT_TRUE(table.detach("k", a.cell));
  EXPECT_FALSE(table.detach("k", a.cell));
  EXPECT_EQ(table.owned_cells(), 1u);  // the leader still holds it
  table.settle("k", a.cell);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST(FlightTable, MaxSubscribersCountsTheLeader) {
  FlightTable table(limits(/*max_subscribers=*/3));
  JoinResult leader = table.join("k", 0);
  EXPECT_EQ(table.join("k", 0).role, Role::kFollower);
  EXPECT_EQ(table.join("k", 0).role, Role::kFollower);
  JoinResult rejected = table.join("k", 0);
  EXPECT_EQ(rejected.role, Role::kRejected);
  EXPECT_EQ(rejected.cell, leader.cell);
  EXPECT_EQ(table.arena().at(leader.cell).subscribers.load(), 3);
  // Another key is not affected.
  EXPECT_EQ(table.join("k2", 0).role, Role::kLeader);
}

TEST(FlightTable, AnExpiredFlightIsReplacedAndItsLeaderStillSettles) {
  FlightTable table(limits(1000, /*max_duration_ms=*/100));
  JoinResult old_flight = table.join("k", 0);
  EXPECT_EQ(table.join("k", 99 * kMs).role, Role::kFollower);
  JoinResult fresh = table.join("k", 100 * kMs);
  ASSERT_EQ(fresh.role, Role::kLeader);
  EXPECT_NE(fresh.cell, old_flight.cell);
  EXPECT_EQ(fresh.started_ns, 100 * kMs);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.owned_cells(), 2u);

  EXPECT_EQ(table.settle("k", old_flight.cell), SettleResult::kDetached);
  EXPECT_EQ(table.settle("k", fresh.cell), SettleResult::kRemoved);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST(FlightTable, KeysAreComparedWholeEvenWhenEveryHashCollides) {
  FlightTable table(limits(), 4, &constant_hash);
  const std::string a("a\0b", 3), b("a\0c", 3), c("a", 1);
  JoinResult ra = table.join(a, 0), rb = table.join(b, 0), rc = table.join(c, 0);
  EXPECT_EQ(ra.role, Role::kLeader);
  EXPECT_EQ(rb.role, Role::kLeader);
  EXPECT_EQ(rc.role, Role::kLeader);
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.join(b, 0).cell, rb.cell);
  EXPECT_EQ(table.settle(b, rb.cell), SettleResult::kRemoved);
  EXPECT_TRUE(table.contains(a));
  EXPECT_FALSE(table.contains(b));
  EXPECT_TRUE(table.contains(c));
}

TEST(FlightTable, StatsReportEntriesSubscribersAndTheOldestStart) {
  FlightTable table(limits());
  TableStats empty = table.stats();
  EXPECT_EQ(empty.in_flight, 0u);
  EXPECT_EQ(empty.subscribers, 0);
  EXPECT_EQ(empty.oldest_started_ns, std::numeric_limits<int64_t>::max());

  JoinResult a = table.join("a", 7 * kMs);
  table.join("a", 8 * kMs);
  table.join("b", 3 * kMs);
  TableStats s = table.stats();
  EXPECT_EQ(s.in_flight, 2u);
  EXPECT_EQ(s.subscribers, 3);
  EXPECT_EQ(s.oldest_started_ns, 3 * kMs);
  EXPECT_DOUBLE_EQ(table.arena().at(a.cell).started_ms, 7.0);
}

TEST(FlightTable, ClearDetachesEverythingButLeadersStillSettle) {
  FlightTable table(limits());
  JoinResult a = table.join("a", 0), b = table.join("b", 0);
  EXPECT_EQ(table.clear(), 2u);
  EXPECT_EQ(table.size(), 0u);
  JoinResult a2 = table.join("a", 1);
  EXPECT_EQ(a2.role, Role::kLeader);
  EXPECT_EQ(table.settle("a", a.cell), SettleResult::kDetached);
  EXPECT_EQ(table.settle("b", b.cell), SettleResult::kDetached);
  EXPECT_TRUE(table.contains("a"));
  EXPECT_EQ(table.settle("a", a2.cell), SettleResult::kRemoved);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST(FlightTable, CellsAreReusedOnlyAfterSettle) {
  FlightTable table(limits(), 1);
  JoinResult a = table.join("a", 0);
  table.detach("a", a.cell);
  for (int i = 0; i < 1000; ++i) {
    JoinResult r = table.join("x" + std::to_string(i), 0);
    ASSERT_NE(r.cell, a.cell);
    table.settle("x" + std::to_string(i), r.cell);
  }
  table.settle("a", a.cell);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST(FlightTable, ShardCountIsAPowerOfTwo) {
  EXPECT_EQ(FlightTable(limits(), 1).shard_count(), 1u);
  EXPECT_EQ(FlightTable(limits(), 5).shard_count(), 8u);
  EXPECT_EQ(FlightTable(limits(), 16).shard_count(), 16u);
}

TEST(FlightTable, InvalidLimitsAreRejected) {
  EXPECT_THROW(FlightTable(Limits{0, kMs}), std::invalid_argument);
  EXPECT_THROW(FlightTable(Limits{1, 0}), std::invalid_argument);
}

TEST(CellArena, ExhaustionIsReportedNotFatal) {
  CellArena arena(/*max_pages=*/1);  // private and small, so the global one is untouched
  FlightTable table(limits(), 1, &seeded_hash, arena);
  uint32_t first = 0;
  size_t chunks = 0;
  while (arena.allocate_chunk(first)) ++chunks;
  EXPECT_EQ(chunks, CellArena::kCellsPerPage / CellArena::kCellsPerChunk);
  EXPECT_EQ(table.join("k", 0).role, Role::kExhausted);
  EXPECT_FALSE(table.contains("k"));
}

}  // namespace
}  // namespace threadflight
