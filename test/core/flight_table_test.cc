// Single-threaded behaviour of the table, including the cross-thread protocol driven by hand
// (EnvIds stand for threads).
#include "flight_table.h"
#include "table_registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>

namespace threadflight {
namespace {

constexpr int64_t kMs = 1'000'000;
// When queries are asked: before any flight of these tests is past its max_duration.
constexpr int64_t kNow = 0;
constexpr EnvId kMain = 1, kWorkerA = 2, kWorkerB = 3;

Limits limits(int32_t max_subscribers = 1000, int64_t max_duration_ms = 30'000) {
  return Limits{max_subscribers, max_duration_ms * kMs};
}

uint64_t constant_hash(std::string_view) noexcept { return 42; }

class Table : public ::testing::Test {
 protected:
  FlightTable table{limits()};
  std::vector<Notice> notices;

  Cell& cell(uint32_t index) { return table.arena().at(index); }
  SettleResult settle(const JoinResult& j, EnvId env, bool have_outcome = true) {
    notices.clear();
    return table.settle(j.cell, j.id, env, have_outcome, notices);
  }
};

TEST_F(Table, TheTimingsSettingReachesEveryLaneAndIsNotSummed) {
  auto before = table.lanes().add();
  EXPECT_EQ(before->values[kTimingsOn].load(), 0);
  before->values[kExecutionBuckets + 2].store(1);
  before->values[kExecutionSum].store(0.004);
  table.lanes().set_setting(1);
  EXPECT_EQ(before->values[kTimingsOn].load(), 1);
  auto after = table.lanes().add();  // a thread that opens the table later
  EXPECT_EQ(after->values[kTimingsOn].load(), 1);
  after->values[kExecutionBuckets + 2].store(2);
  after->values[kExecutionSum].store(0.006);
  table.lanes().retire(before);
  const auto sum = table.lanes().sum();
  EXPECT_EQ(sum[kExecutionBuckets + 2], 3);
  EXPECT_DOUBLE_EQ(sum[kExecutionSum], 0.01);
  EXPECT_EQ(sum[kTimingsOn], 1);  // a setting, whatever the number of lanes
}

TEST_F(Table, FirstCallerLeadsAndCallersFromOtherThreadsFollow) {
  JoinResult lead = table.join("user:123", 0, kMain);
  ASSERT_EQ(lead.role, Role::kLeader);
  EXPECT_EQ(lead.lane, lead.cell);
  EXPECT_EQ(cell(lead.cell).subscribers.load(), 1);
  EXPECT_EQ(cell(lead.cell).lane.load(), 1);

  JoinResult follow = table.join("user:123", 5 * kMs, kWorkerA);
  ASSERT_EQ(follow.role, Role::kFollower);
  EXPECT_EQ(follow.cell, lead.cell);
  EXPECT_EQ(follow.id, lead.id);
  EXPECT_NE(follow.lane, lead.cell);
  EXPECT_EQ(follow.started_ns, 0);
  EXPECT_EQ(cell(lead.cell).subscribers.load(), 2);
  EXPECT_EQ(cell(follow.lane).lane.load(), 1);
  EXPECT_EQ(table.size(kNow), 1u);
}

TEST_F(Table, DifferentKeysFlyIndependently) {
  JoinResult a = table.join("post:1", 0, kMain), b = table.join("post:2", 0, kMain);
  EXPECT_EQ(a.role, Role::kLeader);
  EXPECT_EQ(b.role, Role::kLeader);
  EXPECT_NE(a.cell, b.cell);
  EXPECT_NE(a.id, b.id);
  EXPECT_EQ(table.size(kNow), 2u);
}

TEST_F(Table, SettlingWithoutWaitersEndsTheFlight) {
  JoinResult a = table.join("k", 0, kMain);
  EXPECT_EQ(settle(a, kMain, /*have_outcome=*/false), SettleResult::kDone);
  EXPECT_TRUE(notices.empty());
  EXPECT_FALSE(table.contains("k", kNow));
  EXPECT_EQ(table.owned_cells(), 0u);
  EXPECT_EQ(table.join("k", 1, kMain).role, Role::kLeader);
}

TEST_F(Table, OnlyTheLeaderSettlesAndOnlyOnce) {
  JoinResult a = table.join("k", 0, kMain);
  EXPECT_EQ(settle(a, kWorkerA), SettleResult::kNotLeader);
  EXPECT_TRUE(table.contains("k", kNow));
  EXPECT_EQ(settle(a, kMain), SettleResult::kDone);
  EXPECT_EQ(settle(a, kMain), SettleResult::kNotLeader);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST_F(Table, AStaleLeaderNeverRemovesANewerFlight) {
  JoinResult old_flight = table.join("k", 0, kMain);
  EXPECT_EQ(cell(old_flight.cell).unjoinable.load(), 0);
  table.clear();
  EXPECT_EQ(cell(old_flight.cell).unjoinable.load(), 1) << "threads holding it must see it is not joinable";
  JoinResult new_flight = table.join("k", 1, kMain);
  ASSERT_EQ(new_flight.role, Role::kLeader);
  ASSERT_NE(new_flight.cell, old_flight.cell);

  EXPECT_EQ(settle(old_flight, kMain), SettleResult::kDone);
  EXPECT_TRUE(table.contains("k", kNow));
  EXPECT_EQ(table.join("k", 2, kWorkerA).role, Role::kFollower);
  EXPECT_EQ(settle(new_flight, kMain), SettleResult::kNotify);
  ASSERT_EQ(notices.size(), 1u);
  table.acknowledge(notices[0]);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST_F(Table, WaitersAreNotifiedOnceTheOutcomeIsReadyAndAcknowledgeIt) {
  JoinResult lead = table.join("k", 0, kMain);
  table.join("k", 0, kWorkerA);
  table.join("k", 0, kWorkerB);

  EXPECT_EQ(settle(lead, kMain, /*have_outcome=*/false), SettleResult::kNeedsPayload);
  EXPECT_FALSE(table.contains("k", kNow)) << "no one may join while the leader prepares the outcome";
  EXPECT_EQ(cell(lead.cell).unjoinable.load(), 1);
  JoinResult next = table.join("k", 1, kWorkerA);
  EXPECT_EQ(next.role, Role::kLeader);
  EXPECT_NE(next.cell, lead.cell);

  EXPECT_EQ(settle(lead, kMain, /*have_outcome=*/true), SettleResult::kNotify);
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_EQ(notices[0].to.env, kWorkerA);
  EXPECT_EQ(notices[1].to.env, kWorkerB);
  EXPECT_EQ(notices[0].flight->id, lead.id);
  // The cells stay owned until both waiters are done with them.
  EXPECT_EQ(table.owned_cells(), 1u /*next*/ + 1u /*flight*/ + 2u /*lanes*/);
  const auto pending = notices;
  table.acknowledge(pending[0]);
  EXPECT_EQ(table.owned_cells(), 1u + 1u + 1u);
  table.acknowledge(pending[1]);
  EXPECT_EQ(table.owned_cells(), 1u);
  EXPECT_EQ(settle(next, kWorkerA), SettleResult::kDone);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST_F(Table, LeaveTakesAThreadsCallersOffTheFlight) {
  JoinResult lead = table.join("k", 0, kMain);
  JoinResult follow = table.join("k", 0, kWorkerA);
  // Two more callers in worker A join locally (as JS does: total and lane).
  cell(lead.cell).subscribers.fetch_add(2);
  cell(follow.lane).lane.fetch_add(2);
  EXPECT_EQ(table.stats(kNow).subscribers, 4);

  Notice abandoned;
  const Participant a{kWorkerA, follow.lane};
  EXPECT_EQ(table.leave(lead.cell, lead.id + 1, a, abandoned), LeaveResult::kNotWaiting) << "wrong id";
  EXPECT_EQ(table.leave(lead.cell, lead.id, Participant{kWorkerB, follow.lane}, abandoned), LeaveResult::kNotWaiting)
      << "not a waiter";
  EXPECT_EQ(table.leave(lead.cell, lead.id, a, abandoned), LeaveResult::kLeft);
  EXPECT_EQ(table.leave(lead.cell, lead.id, a, abandoned), LeaveResult::kNotWaiting);
  EXPECT_TRUE(table.contains("k", kNow)) << "the leader's caller still waits";
  EXPECT_EQ(table.stats(kNow).subscribers, 1);
  EXPECT_EQ(settle(lead, kMain, false), SettleResult::kDone);
  EXPECT_EQ(table.owned_cells(), 0u);
}

// One thread may take part twice in a flight (two copies of the JavaScript over one addon):
// leaving names the participant by its lane, so the other part keeps its callers.
TEST_F(Table, LeaveNamesTheParticipantByItsLane) {
  JoinResult lead = table.join("k", 0, kMain);
  JoinResult first = table.join("k", 0, kWorkerA);
  JoinResult second = table.join("k", 0, kWorkerA);
  ASSERT_NE(first.lane, second.lane);
  Notice abandoned;
  cell(lead.cell).subscribers.fetch_sub(1);
  cell(second.lane).lane.fetch_sub(1);
  EXPECT_EQ(table.leave(lead.cell, lead.id, Participant{kWorkerA, second.lane}, abandoned), LeaveResult::kLeft);
  EXPECT_EQ(cell(first.lane).lane.load(), 1) << "the other part of the thread keeps its caller";
  EXPECT_EQ(table.stats(kNow).subscribers, 2);
}

// The leader's thread closes its flight in the cell before it packs the outcome (which runs
// the outcome's own code): a join then starts a new flight, and the leader still settles the
// old one, reaching the threads that waited before.
TEST_F(Table, AFlightItsLeaderClosedIsNotJoined) {
  JoinResult lead = table.join("k", 0, kMain);
  JoinResult early = table.join("k", 0, kWorkerA);
  ASSERT_EQ(early.role, Role::kFollower);
  EXPECT_EQ(cell(lead.cell).waiting_threads.load(), 1);
  cell(lead.cell).unjoinable.store(1);
  JoinResult late = table.join("k", 0, kWorkerB);
  EXPECT_EQ(late.role, Role::kLeader) << "a new flight, not the closed one";
  ASSERT_EQ(settle(lead, kMain), SettleResult::kNotify);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].to.env, kWorkerA);
  table.acknowledge(notices[0]);
  EXPECT_EQ(settle(late, kWorkerB), SettleResult::kDone);
  EXPECT_EQ(table.owned_cells(), 0u);
}

// Refcounted leave: callers leave one by one (JS takes them off the total and its lane);
// when the last caller anywhere is gone, the flight is doomed and its leader is told.
TEST_F(Table, WhenTheLastCallerAnywhereLeavesTheFlightIsAbandoned) {
  JoinResult lead = table.join("k", 0, kMain);
  JoinResult a = table.join("k", 0, kWorkerA);
  JoinResult b = table.join("k", 0, kWorkerB);
  cell(lead.cell).subscribers.fetch_add(1);  // a second caller in worker B
  cell(b.lane).lane.fetch_add(1);
  // The leader's own caller leaves (JS side): the work goes on, others wait.
  cell(lead.cell).subscribers.fetch_sub(1);
  cell(lead.cell).lane.fetch_sub(1);
  Notice abandoned;
  // Worker A's caller leaves: worker B still has two.
  cell(lead.cell).subscribers.fetch_sub(1);
  cell(a.lane).lane.fetch_sub(1);
  EXPECT_EQ(table.leave(lead.cell, lead.id, Participant{kWorkerA, a.lane}, abandoned), LeaveResult::kLeft);
  EXPECT_TRUE(table.contains("k", kNow));
  EXPECT_EQ(table.stats(kNow).subscribers, 2);
  // Worker B's two callers leave: nobody is left.
  cell(lead.cell).subscribers.fetch_sub(2);
  cell(b.lane).lane.fetch_sub(2);
  EXPECT_EQ(table.leave(lead.cell, lead.id, Participant{kWorkerB, b.lane}, abandoned), LeaveResult::kAbandoned);
  EXPECT_EQ(abandoned.to.env, kMain);
  EXPECT_EQ(abandoned.flight->id, lead.id);
  EXPECT_FALSE(table.contains("k", kNow)) << "a new caller never joins a doomed flight";
  EXPECT_EQ(cell(lead.cell).unjoinable.load(), 1);
  EXPECT_EQ(settle(lead, kMain, false), SettleResult::kDone);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST_F(Table, ADoomedFlightIsReplacedByTheNextJoin) {
  JoinResult lead = table.join("k", 0, kMain);
  cell(lead.cell).subscribers.fetch_sub(1);  // its only caller left; the leader has not settled yet
  cell(lead.cell).lane.fetch_sub(1);
  JoinResult next = table.join("k", 1, kWorkerA);
  ASSERT_EQ(next.role, Role::kLeader) << "joining a flight nobody waits for would be joining a doomed one";
  EXPECT_NE(next.cell, lead.cell);
  EXPECT_EQ(cell(lead.cell).subscribers.load(), 0);
  EXPECT_EQ(settle(lead, kMain, false), SettleResult::kDone);
  EXPECT_TRUE(table.contains("k", kNow));
  EXPECT_EQ(settle(next, kWorkerA, false), SettleResult::kDone);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST_F(Table, ADeadThreadThatHadTheLastCallersAbandonsTheFlight) {
  JoinResult lead = table.join("k", 0, kMain);
  table.join("k", 0, kWorkerA);
  cell(lead.cell).subscribers.fetch_sub(1);  // the leader's caller left
  cell(lead.cell).lane.fetch_sub(1);
  std::vector<Notice> handovers, abandoned;
  table.forget_env(kWorkerA, handovers, abandoned);
  EXPECT_TRUE(handovers.empty());
  ASSERT_EQ(abandoned.size(), 1u);
  EXPECT_EQ(abandoned[0].to.env, kMain);
  EXPECT_FALSE(table.contains("k", kNow));
  EXPECT_EQ(settle(lead, kMain, false), SettleResult::kDone);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST_F(Table, ForgetMakesTheFlightUnjoinableButItsCallersKeepIt) {
  EXPECT_FALSE(table.forget("k"));
  JoinResult old_flight = table.join("k", 0, kMain);
  table.join("k", 0, kWorkerA);
  EXPECT_TRUE(table.forget("k"));
  EXPECT_FALSE(table.contains("k", kNow));
  EXPECT_EQ(cell(old_flight.cell).unjoinable.load(), 1);
  JoinResult fresh = table.join("k", 1, kWorkerB);
  ASSERT_EQ(fresh.role, Role::kLeader);
  EXPECT_EQ(settle(old_flight, kMain), SettleResult::kNotify);  // worker A still gets it
  ASSERT_EQ(notices.size(), 1u);
  table.acknowledge(notices[0]);
  EXPECT_TRUE(table.contains("k", kNow)) << "the old flight settling left the new one alone";
  EXPECT_EQ(settle(fresh, kWorkerB, false), SettleResult::kDone);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST_F(Table, ALostLeaderHandsTheFlightToTheFirstWaiter) {
  JoinResult lead = table.join("k", 0, kMain);
  cell(lead.cell).subscribers.fetch_add(4);  // the leader's thread had 5 callers
  cell(lead.cell).lane.fetch_add(4);
  JoinResult a = table.join("k", 0, kWorkerA);
  table.join("k", 0, kWorkerB);

  std::vector<Notice> handovers, abandoned;
  table.forget_env(kMain, handovers, abandoned);
  ASSERT_EQ(handovers.size(), 1u);
  EXPECT_EQ(handovers[0].to.env, kWorkerA);
  EXPECT_EQ(handovers[0].to.lane, a.lane);
  EXPECT_TRUE(table.contains("k", kNow)) << "the flight stays joinable under its new leader";
  EXPECT_EQ(table.stats(kNow).subscribers, 2) << "the dead thread's callers are gone";

  EXPECT_EQ(settle(lead, kMain), SettleResult::kNotLeader);
  EXPECT_EQ(settle(lead, kWorkerA), SettleResult::kNotify);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].to.env, kWorkerB);
  table.acknowledge(notices[0]);
  EXPECT_EQ(table.owned_cells(), 0u);
  EXPECT_EQ(table.size(kNow), 0u);
}

TEST_F(Table, ALostLeaderWithoutWaitersEndsTheFlight) {
  table.join("k", 0, kMain);
  std::vector<Notice> handovers, abandoned;
  table.forget_env(kMain, handovers, abandoned);
  EXPECT_TRUE(handovers.empty());
  EXPECT_FALSE(table.contains("k", kNow));
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST_F(Table, ALostWaiterDisappearsFromTheFlight) {
  JoinResult lead = table.join("k", 0, kMain);
  table.join("k", 0, kWorkerA);
  std::vector<Notice> handovers, abandoned;
  table.forget_env(kWorkerA, handovers, abandoned);
  EXPECT_TRUE(handovers.empty());
  EXPECT_EQ(table.stats(kNow).subscribers, 1);
  EXPECT_EQ(settle(lead, kMain, false), SettleResult::kDone);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST_F(Table, ADeclinedLeadGoesToTheNextWaiter) {
  table.join("k", 0, kMain);
  table.join("k", 0, kWorkerA);
  JoinResult b = table.join("k", 0, kWorkerB);
  std::vector<Notice> handovers, abandoned;
  table.forget_env(kMain, handovers, abandoned);
  ASSERT_EQ(handovers.size(), 1u);
  std::vector<Notice> next;
  table.decline_lead(handovers[0], next);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].to.env, kWorkerB);
  std::vector<Notice> none;
  table.decline_lead(handovers[0], none);  // a stale refusal changes nothing
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(settle(b, kWorkerB, false), SettleResult::kDone);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST_F(Table, ALeaderThatDiesAfterSettlingIsNotReplaced) {
  JoinResult lead = table.join("k", 0, kMain);
  table.join("k", 0, kWorkerA);
  EXPECT_EQ(settle(lead, kMain), SettleResult::kNotify);
  std::vector<Notice> handovers, abandoned;
  table.forget_env(kMain, handovers, abandoned);
  EXPECT_TRUE(handovers.empty());
  table.acknowledge(notices[0]);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST(FlightTable, MaxSubscribersCountsEveryThreadAndTheLeader) {
  FlightTable table(limits(/*max_subscribers=*/3));
  JoinResult leader = table.join("k", 0, kMain);
  EXPECT_EQ(table.join("k", 0, kWorkerA).role, Role::kFollower);
  EXPECT_EQ(table.join("k", 0, kWorkerB).role, Role::kFollower);
  JoinResult rejected = table.join("k", 0, 4);
  EXPECT_EQ(rejected.role, Role::kRejected);
  EXPECT_EQ(rejected.cell, leader.cell);
  EXPECT_EQ(table.arena().at(leader.cell).subscribers.load(), 3);
  EXPECT_EQ(table.join("k2", 0, 4).role, Role::kLeader);
}

TEST(FlightTable, AnExpiredFlightIsReplacedAndItsLeaderStillSettles) {
  FlightTable table(limits(1000, /*max_duration_ms=*/100));
  std::vector<Notice> notices;
  JoinResult old_flight = table.join("k", 0, kMain);
  EXPECT_EQ(table.join("k", 99 * kMs, kWorkerA).role, Role::kFollower);
  JoinResult fresh = table.join("k", 100 * kMs, kWorkerB);
  ASSERT_EQ(fresh.role, Role::kLeader);
  EXPECT_NE(fresh.cell, old_flight.cell);
  EXPECT_EQ(fresh.started_ns, 100 * kMs);
  EXPECT_EQ(table.size(kNow), 1u);

  EXPECT_EQ(table.settle(old_flight.cell, old_flight.id, kMain, true, notices), SettleResult::kNotify);
  ASSERT_EQ(notices.size(), 1u);  // worker A still waited on the expired flight
  table.acknowledge(notices[0]);
  notices.clear();
  EXPECT_EQ(table.settle(fresh.cell, fresh.id, kWorkerB, true, notices), SettleResult::kDone);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST(FlightTable, KeysAreComparedWholeEvenWhenEveryHashCollides) {
  FlightTable table(limits(), 4, &constant_hash);
  std::vector<Notice> notices;
  const std::string a("a\0b", 3), b("a\0c", 3), c("a", 1);
  JoinResult ra = table.join(a, 0, kMain), rb = table.join(b, 0, kMain), rc = table.join(c, 0, kMain);
  EXPECT_EQ(ra.role, Role::kLeader);
  EXPECT_EQ(rb.role, Role::kLeader);
  EXPECT_EQ(rc.role, Role::kLeader);
  EXPECT_EQ(table.size(kNow), 3u);
  EXPECT_EQ(table.join(b, 0, kWorkerA).cell, rb.cell);
  EXPECT_EQ(table.settle(rb.cell, rb.id, kMain, true, notices), SettleResult::kNotify);
  EXPECT_TRUE(table.contains(a, kNow));
  EXPECT_FALSE(table.contains(b, kNow));
  EXPECT_TRUE(table.contains(c, kNow));
  EXPECT_EQ(table.settle(rb.cell, rb.id, kMain, true, notices), SettleResult::kNotLeader) << "settled already";
  EXPECT_EQ(table.settle(rc.cell, ra.id, kMain, true, notices), SettleResult::kNotLeader) << "another flight's id";
  EXPECT_TRUE(table.contains(c, kNow));
  // Every flight is in one bucket: each is found by its own cell and id.
  EXPECT_EQ(table.settle(rc.cell, rc.id, kMain, true, notices), SettleResult::kDone);
  EXPECT_TRUE(table.contains(a, kNow));
  EXPECT_FALSE(table.contains(c, kNow));
  EXPECT_EQ(table.settle(ra.cell, ra.id, kMain, true, notices), SettleResult::kDone);
  EXPECT_EQ(table.size(kNow), 0u);
}

// A flight keeps short keys in itself and longer ones apart: both are compared whole.
TEST(FlightTable, ShortAndLongKeysAreKeptAndComparedWhole) {
  FlightTable table(limits(), 4, &constant_hash);
  std::vector<Notice> notices;
  for (size_t size : {size_t{0}, size_t{47}, size_t{48}, size_t{49}, size_t{200}}) {
    const std::string key(size, 'k');
    std::string other = key + "x";
    if (size != 0) other = key.substr(0, size - 1) + "x";
    JoinResult lead = table.join(key, 0, kMain);
    ASSERT_EQ(lead.role, Role::kLeader) << size;
    EXPECT_EQ(table.join(key, 0, kWorkerA).cell, lead.cell) << size;
    JoinResult distinct = table.join(other, 0, kMain);
    EXPECT_EQ(distinct.role, Role::kLeader) << size;
    EXPECT_NE(distinct.cell, lead.cell) << size;
    ASSERT_EQ(table.settle(lead.cell, lead.id, kMain, true, notices), SettleResult::kNotify) << size;
    ASSERT_EQ(notices.size(), 1u);
    EXPECT_EQ(notices[0].flight->key.view(), key) << size;
    table.acknowledge(notices[0]);
    notices.clear();
    EXPECT_FALSE(table.contains(key, kNow)) << size;
    EXPECT_TRUE(table.contains(other, kNow)) << size;
    EXPECT_EQ(table.settle(distinct.cell, distinct.id, kMain, true, notices), SettleResult::kDone) << size;
  }
  EXPECT_EQ(table.owned_cells(), 0u);
}

// Settle and leave name a flight by its cell and id, never by its key: a wrong id, a cell that
// is not a flight's, a cell no page holds, or a cell since reused by a newer flight finds nothing.
TEST_F(Table, SettleAndLeaveFindOnlyTheFlightOfThatCellAndId) {
  JoinResult a = table.join("a", 0, kMain);
  ASSERT_EQ(a.role, Role::kLeader);
  JoinResult wrong_id = a;
  wrong_id.id = a.id + 1;
  EXPECT_EQ(settle(wrong_id, kMain), SettleResult::kNotLeader);
  JoinResult no_cell = a;
  no_cell.cell = 0xffffffffu;
  EXPECT_EQ(settle(no_cell, kMain), SettleResult::kNotLeader);
  Notice abandoned;
  EXPECT_EQ(table.leave(0xffffffffu, a.id, Participant{kWorkerA, 0}, abandoned), LeaveResult::kNotWaiting);
  JoinResult follow = table.join("a", 0, kWorkerA);
  ASSERT_EQ(follow.role, Role::kFollower);
  JoinResult lane = a;
  lane.cell = follow.lane;  // a cell, but a lane, not the flight's
  EXPECT_EQ(settle(lane, kMain), SettleResult::kNotLeader);
  EXPECT_EQ(table.leave(follow.lane, a.id, Participant{kWorkerA, follow.lane}, abandoned), LeaveResult::kNotWaiting);
  EXPECT_TRUE(table.contains("a", kNow));
  EXPECT_EQ(table.leave(follow.cell, follow.id, Participant{kWorkerA, follow.lane}, abandoned), LeaveResult::kLeft);
  EXPECT_EQ(settle(a, kMain), SettleResult::kDone);

  // The cell goes back to the arena and is taken again by the next flight: the old id does
  // not reach it.
  JoinResult b = table.join("b", 1, kMain);
  ASSERT_EQ(b.role, Role::kLeader);
  EXPECT_EQ(settle(a, kMain), SettleResult::kNotLeader);
  JoinResult reused = b;
  reused.id = a.id;
  EXPECT_EQ(settle(reused, kMain), SettleResult::kNotLeader);
  EXPECT_TRUE(table.contains("b", kNow));
  EXPECT_EQ(settle(b, kMain), SettleResult::kDone);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST(FlightTable, StatsReportEntriesSubscribersAndTheOldestStart) {
  FlightTable table(limits());
  TableStats empty = table.stats(kNow);
  EXPECT_EQ(empty.in_flight, 0u);
  EXPECT_EQ(empty.subscribers, 0);
  EXPECT_EQ(empty.oldest_started_ns, std::numeric_limits<int64_t>::max());

  JoinResult a = table.join("a", 7 * kMs, kMain);
  table.join("a", 8 * kMs, kWorkerA);
  table.join("b", 3 * kMs, kMain);
  TableStats s = table.stats(kNow);
  EXPECT_EQ(s.in_flight, 2u);
  EXPECT_EQ(s.subscribers, 3);
  EXPECT_EQ(s.oldest_started_ns, 3 * kMs);
  EXPECT_DOUBLE_EQ(table.arena().at(a.cell).started_ms, 7.0);
}

// A flight past max_duration is not in flight for queries, even while nothing has expired it
// yet (its leader's thread may be busy): the next join would replace it anyway.
TEST(FlightTable, QueriesLeaveOutFlightsPastMaxDuration) {
  FlightTable table(Limits{10, 50 * kMs});
  table.join("old", 0, kMain);
  table.join("new", 30 * kMs, kMain);
  EXPECT_TRUE(table.contains("old", 49 * kMs));
  EXPECT_FALSE(table.contains("old", 50 * kMs));
  EXPECT_TRUE(table.contains("new", 50 * kMs));
  EXPECT_EQ(table.size(49 * kMs), 2u);
  EXPECT_EQ(table.size(50 * kMs), 1u);
  const TableStats stats = table.stats(50 * kMs);
  EXPECT_EQ(stats.in_flight, 1u);
  EXPECT_EQ(stats.subscribers, 1);
  EXPECT_EQ(stats.oldest_started_ns, 30 * kMs);
}

TEST(FlightTable, ClearMakesEverythingUnjoinableButLeadersStillSettle) {
  FlightTable table(limits());
  std::vector<Notice> notices;
  JoinResult a = table.join("a", 0, kMain), b = table.join("b", 0, kMain);
  EXPECT_EQ(table.clear(), 2u);
  EXPECT_EQ(table.size(kNow), 0u);
  JoinResult a2 = table.join("a", 1, kMain);
  EXPECT_EQ(a2.role, Role::kLeader);
  EXPECT_EQ(table.settle(a.cell, a.id, kMain, true, notices), SettleResult::kDone);
  EXPECT_EQ(table.settle(b.cell, b.id, kMain, true, notices), SettleResult::kDone);
  EXPECT_TRUE(table.contains("a", kNow));
  EXPECT_EQ(table.settle(a2.cell, a2.id, kMain, true, notices), SettleResult::kDone);
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST(FlightTable, CloneFailuresAreCounted) {
  FlightTable table(limits());
  EXPECT_EQ(table.count_clone_failure(), 0u);
  EXPECT_EQ(table.count_clone_failure(), 1u);
  EXPECT_EQ(table.clone_failures(), 2u);
}

TEST(FlightTable, InvalidLimitsAreRejected) {
  EXPECT_THROW(FlightTable(Limits{0, kMs}), std::invalid_argument);
  EXPECT_THROW(FlightTable(Limits{1, 0}), std::invalid_argument);
}

TEST(CellArena, ExhaustionIsReportedNotFatal) {
  CellArena arena(/*max_pages=*/1);  // private and small, so the global one is untouched
  FlightTable table(limits(), 1, &seeded_hash, arena);
  std::vector<uint32_t> taken;
  uint32_t cell;
  while (arena.take(cell)) taken.push_back(cell);
  EXPECT_EQ(taken.size(), size_t{CellArena::kCellsPerPage});
  EXPECT_EQ(table.join("k", 0, kMain).role, Role::kExhausted);
  EXPECT_FALSE(table.contains("k", kNow));
  arena.give_back(taken.back());
  EXPECT_EQ(table.join("k", 0, kMain).role, Role::kLeader) << "a cell given back serves the next flight";
}

TEST(CellArena, ARecycledCellStartsClean) {
  CellArena arena(/*max_pages=*/1);
  {
    FlightTable table(limits(), 1, &seeded_hash, arena);
    for (int k = 0; k < 64; ++k) {
      const std::string key = "key" + std::to_string(k);
      JoinResult j = table.join(key, 0, kMain);
      table.join(key, 0, kWorkerA);  // waiting thread, lane cell, count 2
      table.forget(key);             // unjoinable flag set
      (void)j;
    }
  }  // the table goes away with all those flights still open
  FlightTable next(limits(), 1, &seeded_hash, arena);
  for (int k = 0; k < 128; ++k) {
    JoinResult j = next.join("n" + std::to_string(k), 0, kMain);
    ASSERT_EQ(j.role, Role::kLeader);
    const Cell& c = arena.at(j.cell);
    EXPECT_EQ(c.subscribers.load(), 1);
    EXPECT_EQ(c.lane.load(), 1);
    EXPECT_EQ(c.unjoinable.load(), 0) << "a stale flag would make the new flight unjoinable";
  }
}

TEST(CellArena, ATableThatGoesAwayGivesItsCellsBack) {
  CellArena arena(/*max_pages=*/1);
  // Far more tables than one page could serve if their cells were lost with them.
  for (int i = 0; i < 1000; ++i) {
    FlightTable table(limits(), 4, &seeded_hash, arena);
    std::vector<Notice> notices;
    for (int k = 0; k < 8; ++k) {
      JoinResult j = table.join("key" + std::to_string(k), 0, kMain);
      ASSERT_EQ(j.role, Role::kLeader) << "table " << i;
      if (k % 2 == 0) table.settle(j.cell, j.id, kMain, true, notices);
    }
  }
  EXPECT_EQ(arena.page_count(), 1u);
}

// Every cell comes back: of flights still open, of their waiters' lanes, and of a leader that
// took a flight over (whose lane is not the flight's cell).
TEST(CellArena, EveryCellOfAnOpenTableComesBack) {
  CellArena arena(/*max_pages=*/1);
  {
    FlightTable table(limits(), 4, &seeded_hash, arena);
    for (int k = 0; k < 100; ++k) {
      const std::string key = "key" + std::to_string(k);
      table.join(key, 0, kMain);
      table.join(key, 0, kWorkerA);
      table.join(key, 0, kWorkerB);
    }
    std::vector<Notice> handovers, abandoned;
    table.forget_env(kMain, handovers, abandoned);  // kWorkerA takes every flight over
    ASSERT_EQ(handovers.size(), 100u);
  }
  std::vector<uint32_t> taken;
  uint32_t cell;
  while (arena.take(cell)) taken.push_back(cell);
  EXPECT_EQ(taken.size(), size_t{CellArena::kCellsPerPage});
}

// Capacity is counted in flights: a table with nothing in the air holds no cell, however
// many tables there are.
TEST(CellArena, IdleTablesHoldNoCells) {
  CellArena arena(/*max_pages=*/1);
  std::vector<std::unique_ptr<FlightTable>> tables;
  std::vector<Notice> notices;
  for (int i = 0; i < 3 * static_cast<int>(CellArena::kCellsPerPage); ++i) {
    auto& table = *tables.emplace_back(std::make_unique<FlightTable>(limits(), 16, &seeded_hash, arena));
    const JoinResult j = table.join("k", 0, kMain);
    ASSERT_EQ(j.role, Role::kLeader) << "table " << i;
    ASSERT_EQ(table.settle(j.cell, j.id, kMain, true, notices), SettleResult::kDone);
    ASSERT_EQ(table.owned_cells(), 0u);
  }
  std::vector<uint32_t> taken;
  uint32_t cell;
  while (arena.take(cell)) taken.push_back(cell);
  EXPECT_EQ(taken.size(), size_t{CellArena::kCellsPerPage});
}

// Threads taking and giving back cells at once never hold the same cell, and lose none.
TEST(CellArena, ConcurrentTakersNeverShareACell) {
  CellArena arena(/*max_pages=*/2);
  constexpr uint32_t kCells = 2 * CellArena::kCellsPerPage;
  std::vector<std::atomic<int>> holders(kCells);
  std::atomic<bool> shared{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<uint32_t> mine;
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < 200000; ++i) {
        uint32_t cell;
        if ((rng() & 1) != 0 && arena.take(cell)) {
          if (holders[cell].fetch_add(1) != 0) shared = true;
          mine.push_back(cell);
        } else if (!mine.empty()) {
          const uint32_t back = mine.back();
          mine.pop_back();
          holders[back].fetch_sub(1);
          arena.give_back(back);
        }
      }
      for (uint32_t cell : mine) {
        holders[cell].fetch_sub(1);
        arena.give_back(cell);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_FALSE(shared);
  std::vector<uint32_t> taken;
  uint32_t cell;
  while (arena.take(cell)) taken.push_back(cell);
  EXPECT_EQ(taken.size(), size_t{kCells});
}

// The shard index on its own: flights are only addresses to it, found by hash and predicate.
class Index : public ::testing::Test {
 protected:
  static constexpr size_t kFlights = 600;
  Index() : flights(kFlights) {
    for (size_t i = 0; i < kFlights; ++i) flights[i].id = i;
  }
  FlightState* find(uint64_t hash, size_t i) const {
    return index.find(hash, [i](const FlightState& f) { return f.id == i; });
  }
  std::vector<FlightState> flights;
  FlightIndex index;
};

TEST_F(Index, GrowsAsFlightsComeAndGivesMemoryBackAsTheyGo) {
  EXPECT_EQ(index.capacity(), 0u) << "an index that was never used allocates nothing";
  EXPECT_EQ(find(7, 7), nullptr);
  for (size_t i = 0; i < kFlights; ++i) index.insert(i * 0x9E3779B97F4A7C15ull, &flights[i]);
  EXPECT_EQ(index.size(), kFlights);
  EXPECT_GE(index.capacity() * 3, kFlights * 4) << "at most 3/4 full";
  const size_t grown = index.capacity();
  for (size_t i = 0; i < kFlights; ++i) ASSERT_EQ(find(i * 0x9E3779B97F4A7C15ull, i), &flights[i]) << i;
  for (size_t i = 0; i + 10 < kFlights; ++i) ASSERT_TRUE(index.erase(i * 0x9E3779B97F4A7C15ull, &flights[i])) << i;
  EXPECT_LT(index.capacity(), grown / 8);
  EXPECT_GE(index.capacity(), FlightIndex::kMinSlots);
  for (size_t i = 0; i < kFlights; ++i) {
    EXPECT_EQ(find(i * 0x9E3779B97F4A7C15ull, i), i + 10 < kFlights ? nullptr : &flights[i]) << i;
  }
  EXPECT_FALSE(index.erase(0, &flights[0])) << "erased already";
  index.clear();
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(find(0, kFlights - 1), nullptr);
}

// Deleting from a run of colliding flights moves the rest back so that every one is still
// found (no tombstones), including runs that wrap around the end of the slots.
TEST_F(Index, ErasingFromRunsOfCollidingHashesKeepsEveryOtherFlightFound) {
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    // Few distinct hashes, some homed in the last slots so that runs wrap around: many
    // flights per hash, and runs of different hashes interleaved.
    std::vector<uint64_t> hash_of(kFlights);
    std::vector<bool> in(kFlights, false);
    for (size_t i = 0; i < kFlights; ++i) hash_of[i] = (round % 2 == 0) ? 42 : (uint64_t{0} - 1 - rng() % 5);
    size_t count = 0;
    for (int step = 0; step < 3000; ++step) {
      const size_t i = rng() % kFlights;
      if (in[i]) {
        ASSERT_TRUE(index.erase(hash_of[i], &flights[i]));
        --count;
      } else {
        index.insert(hash_of[i], &flights[i]);
        ++count;
      }
      in[i] = !in[i];
      ASSERT_EQ(index.size(), count);
      if (step % 100 != 0) continue;
      for (size_t j = 0; j < kFlights; ++j) ASSERT_EQ(find(hash_of[j], j), in[j] ? &flights[j] : nullptr) << j;
    }
    size_t seen = 0;
    index.for_each([&](const FlightState& f) { seen += in[f.id] ? 1 : 0; });
    EXPECT_EQ(seen, count);
    index.clear();
  }
}

// Every key in one bucket: many flights of one shard, started and settled in random order,
// each found by its key (compared whole) and by its cell and id.
TEST(FlightTable, ManyFlightsWithCollidingHashesAreEachFoundUntilSettled) {
  FlightTable table(limits(), 1, &constant_hash);
  std::vector<Notice> notices;
  std::vector<JoinResult> flights;
  for (int k = 0; k < 300; ++k) flights.push_back(table.join("key" + std::to_string(k), 0, kMain));
  std::vector<int> order(flights.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::shuffle(order.begin(), order.end(), std::mt19937(11));
  for (size_t n = 0; n < order.size(); ++n) {
    const int k = order[n];
    ASSERT_EQ(table.join("key" + std::to_string(k), 0, kWorkerA).cell, flights[k].cell) << k;
    ASSERT_EQ(table.settle(flights[k].cell, flights[k].id, kMain, true, notices), SettleResult::kNotify) << k;
    ASSERT_EQ(notices.size(), 1u);
    EXPECT_EQ(notices[0].flight->key.view(), "key" + std::to_string(k));
    table.acknowledge(notices[0]);
    notices.clear();
    EXPECT_FALSE(table.contains("key" + std::to_string(k), kNow));
    if (n + 1 < order.size()) EXPECT_TRUE(table.contains("key" + std::to_string(order[n + 1]), kNow));
  }
  EXPECT_EQ(table.size(kNow), 0u);
  EXPECT_EQ(table.owned_cells(), 0u);
}

// A flight's memory is reused by the shard's next flight: the old (cell, id) still finds
// nothing, even when the new flight has the same memory, the same cell and the same key.
TEST_F(Table, AFlightsReusedMemoryIsNeverReachedByItsOldCellAndId) {
  FlightTable one_shard(limits(), 1);
  const JoinResult old_flight = one_shard.join("k", 0, kMain);
  ASSERT_EQ(one_shard.settle(old_flight.cell, old_flight.id, kMain, false, notices), SettleResult::kDone);
  const JoinResult fresh = one_shard.join("k", 1, kMain);
  ASSERT_EQ(fresh.role, Role::kLeader);
  ASSERT_EQ(fresh.cell, old_flight.cell) << "the arena gives the same cell back first (LIFO)";
  Notice abandoned;
  EXPECT_EQ(one_shard.leave(old_flight.cell, old_flight.id, Participant{kMain, old_flight.cell}, abandoned),
            LeaveResult::kNotWaiting);
  EXPECT_EQ(one_shard.settle(old_flight.cell, old_flight.id, kMain, false, notices), SettleResult::kNotLeader);
  EXPECT_TRUE(one_shard.contains("k", kNow));
  EXPECT_EQ(one_shard.settle(fresh.cell, fresh.id, kMain, false, notices), SettleResult::kDone);
  EXPECT_EQ(one_shard.owned_cells(), 0u);
}

// A notice holds its flight: after the flight is over and its cells are back, the notice
// still reads its key and id, and the memory goes to a new flight only once the notice is gone.
TEST(FlightTable, ANoticeKeepsItsFlightFromBeingReused) {
  FlightTable table(limits(), 1);
  std::vector<Notice> notices;
  const JoinResult lead = table.join("held", 0, kMain);
  table.join("held", 0, kWorkerA);
  ASSERT_EQ(table.settle(lead.cell, lead.id, kMain, true, notices), SettleResult::kNotify);
  ASSERT_EQ(notices.size(), 1u);
  const FlightState* held = notices[0].flight.get();
  table.acknowledge(notices[0]);
  EXPECT_EQ(table.owned_cells(), 0u) << "the flight is over";
  for (int k = 0; k < 10; ++k) {
    const JoinResult j = table.join("other" + std::to_string(k), 0, kMain);
    EXPECT_EQ(table.settle(j.cell, j.id, kMain, false, notices), SettleResult::kDone);
  }
  EXPECT_EQ(notices[0].flight->id, lead.id);
  EXPECT_EQ(notices[0].flight->key.view(), "held");
  EXPECT_EQ(notices[0].flight.get(), held);

  Notice copy = notices[0];
  notices.clear();
  EXPECT_EQ(copy.flight->id, lead.id) << "a copy holds it as well";
  // Dropped in another thread, as the binding drops a message after acknowledging it.
  std::thread([dropped = std::move(copy)]() mutable { dropped = Notice{}; }).join();
  const JoinResult next = table.join("next", 0, kMain);
  ASSERT_EQ(next.role, Role::kLeader);
  const auto infos = table.flights_since(0, 10);
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_TRUE(infos[0].joinable);
  EXPECT_EQ(table.settle(next.cell, next.id, kMain, true, notices), SettleResult::kDone);
  EXPECT_EQ(table.owned_cells(), 0u);
}

// More flights at once than a shard's pool keeps: their memory is freed, not kept, and
// everything still works (ASan checks nothing leaks or is freed twice).
TEST(FlightTable, BurstsBeyondWhatThePoolKeepsAreFreed) {
  FlightTable table(limits(), 1);
  std::vector<Notice> notices;
  for (int round = 0; round < 3; ++round) {
    std::vector<JoinResult> flights;
    for (int k = 0; k < 500; ++k) {
      const std::string key = "burst" + std::to_string(k) + std::string(k % 3 == 0 ? 60 : 0, 'x');
      flights.push_back(table.join(key, 0, kMain));
      table.join(key, 0, kWorkerA);
    }
    for (const JoinResult& j : flights)
      ASSERT_EQ(table.settle(j.cell, j.id, kMain, true, notices), SettleResult::kNotify);
    ASSERT_EQ(notices.size(), flights.size());
    for (const Notice& n : notices) table.acknowledge(n);
    notices.clear();  // the last holds: the flights go back through the returned stack
    EXPECT_EQ(table.owned_cells(), 0u);
    EXPECT_EQ(table.size(kNow), 0u);
  }
}

}  // namespace
}  // namespace threadflight

namespace threadflight {
namespace {

// Without a limit, the flight's count says which lanes have callers, not how many: JavaScript
// counts a thread's duplicate callers in its lane alone. The count still reaches 0 exactly
// when the last lane empties, a dying thread takes back only its lane's part, and stats add
// up the lanes.
TEST(UnlimitedTable, EachLaneCountsOnceWhateverItsCallers) {
  FlightTable table(Limits{std::numeric_limits<int32_t>::max(), 30'000 * kMs});
  auto cell = [&table](uint32_t index) -> Cell& { return table.arena().at(index); };
  JoinResult lead = table.join("k", 0, kMain);
  JoinResult a = table.join("k", 0, kWorkerA);
  JoinResult b = table.join("k", 0, kWorkerB);
  ASSERT_EQ(a.role, Role::kFollower);
  EXPECT_EQ(cell(lead.cell).subscribers.load(), 3);
  cell(a.lane).lane.fetch_add(4);     // four more callers in worker A, counted in its lane
  cell(lead.cell).lane.fetch_add(1);  // one more in the leader's thread
  EXPECT_EQ(cell(lead.cell).subscribers.load(), 3);
  EXPECT_EQ(table.stats(kNow).subscribers, 2 + 5 + 1);
  auto flights = table.flights_since(kNow, 10);
  ASSERT_EQ(flights.size(), 1u);
  EXPECT_EQ(flights[0].callers, 8);

  std::vector<Notice> handovers, abandoned;
  table.forget_env(kWorkerA, handovers, abandoned);  // worker A dies with five callers
  EXPECT_EQ(cell(lead.cell).subscribers.load(), 2) << "its lane's part, not its callers";
  EXPECT_TRUE(abandoned.empty());
  EXPECT_EQ(table.stats(kNow).subscribers, 2 + 1);

  // Worker B's only caller leaves: JavaScript empties the lane and takes the lane's part off.
  cell(b.lane).lane.fetch_sub(1);
  cell(lead.cell).subscribers.fetch_sub(1);
  Notice left;
  EXPECT_EQ(table.leave(lead.cell, lead.id, Participant{kWorkerB, b.lane}, left), LeaveResult::kLeft);
  EXPECT_EQ(cell(lead.cell).subscribers.load(), 1) << "the leader's lane still has callers";
  EXPECT_TRUE(table.contains("k", kNow));

  // A caller of another thread joining now is counted in: the flight is not doomed.
  JoinResult late = table.join("k", 0, kWorkerB);
  EXPECT_EQ(late.role, Role::kFollower);
  EXPECT_EQ(late.id, lead.id);
  EXPECT_EQ(cell(lead.cell).subscribers.load(), 2);
  std::vector<Notice> notify;
  EXPECT_EQ(table.settle(lead.cell, lead.id, kMain, true, notify), SettleResult::kNotify);
  EXPECT_EQ(cell(lead.cell).subscribers.load(), 1) << "the leader's lane left with it";
  ASSERT_EQ(notify.size(), 1u);
  table.acknowledge(notify[0]);
  EXPECT_EQ(cell(lead.cell).subscribers.load(), 0);
  EXPECT_EQ(table.owned_cells(), 0u);
}

// With a limit, every caller counts, so that the limit is exact across threads.
TEST(LimitedTable, ADyingThreadTakesBackEachOfItsCallers) {
  FlightTable table(Limits{100, 30'000 * kMs});
  auto cell = [&table](uint32_t index) -> Cell& { return table.arena().at(index); };
  JoinResult lead = table.join("k", 0, kMain);
  JoinResult a = table.join("k", 0, kWorkerA);
  cell(a.lane).lane.fetch_add(4);
  cell(lead.cell).subscribers.fetch_add(4);
  EXPECT_EQ(cell(lead.cell).subscribers.load(), 6);
  std::vector<Notice> handovers, abandoned;
  table.forget_env(kWorkerA, handovers, abandoned);
  EXPECT_EQ(cell(lead.cell).subscribers.load(), 1);
  EXPECT_EQ(table.stats(kNow).subscribers, 1);
}

TEST(TableRegistry, SameNameSharesOneTableOtherLimitsAreRefused) {
  TableRegistry& registry = TableRegistry::global();
  const Limits a{10, 5 * kMs};
  Limits existing{};
  auto first = registry.open_named("registry-test", a, existing);
  auto second = registry.open_named("registry-test", a, existing);
  ASSERT_TRUE(first);
  EXPECT_EQ(first, second);
  EXPECT_EQ(registry.open_named("registry-test", Limits{11, 5 * kMs}, existing), nullptr);
  EXPECT_EQ(existing, a);
  EXPECT_NE(registry.open_named("registry-other", a, existing), first);
  // Once every holder is gone, the name is free again, with any limits.
  first.reset();
  second.reset();
  auto fresh = registry.open_named("registry-test", Limits{11, 5 * kMs}, existing);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->limits().max_subscribers, 11);
}

TEST(TableRegistry, ForgetEnvReachesEveryLiveTable) {
  TableRegistry& registry = TableRegistry::global();
  Limits existing{};
  auto named = registry.open_named("registry-forget", limits(), existing);
  auto other = registry.open_named("registry-forget-other", limits(), existing);
  named->join("k", 0, 71);
  named->join("k", 0, 72);
  other->join("k", 0, 71);
  std::vector<EnvExit> exits;
  registry.forget_env(71, exits);
  size_t handed = 0;
  for (const EnvExit& exit : exits) {
    EXPECT_TRUE(exit.abandoned.empty());
    if (exit.table != named) {
      EXPECT_TRUE(exit.handovers.empty());
      continue;
    }
    ASSERT_EQ(exit.handovers.size(), 1u);
    EXPECT_EQ(exit.handovers[0].to.env, 72u);
    ++handed;
  }
  EXPECT_EQ(handed, 1u);
  EXPECT_FALSE(other->contains("k", kNow));
  EXPECT_EQ(other->owned_cells(), 0u);
}

}  // namespace
}  // namespace threadflight
