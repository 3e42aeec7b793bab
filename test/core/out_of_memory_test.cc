// The table when memory runs out: an allocation that fails leaves the table as it was, and the
// caller (the binding) degrades from there without crashing the process. This binary replaces
// the global operator new so that a test can make its own thread's next allocation fail; it is
// built apart from core_tests, and not under the sanitizers, which bring their own allocator.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <new>
#include <set>
#include <string>
#include <vector>

#include "flight_table.h"
#include "siphash.h"
#include "table_registry.h"

namespace {
// Allocations this thread may still make before one fails; -1: none fails.
thread_local int allocations_until_failure = -1;
}  // namespace

void* operator new(std::size_t size) {
  if (allocations_until_failure == 0) {
    allocations_until_failure = -1;
    throw std::bad_alloc();
  }
  if (allocations_until_failure > 0) --allocations_until_failure;
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }

namespace threadflight {
namespace {

constexpr EnvId kMain = 1, kWorkerA = 2, kWorkerB = 3;
constexpr int64_t kEveryFlight = std::numeric_limits<int64_t>::max();

// Runs `call` with this thread's allocation number `allocation` (from 0) failing; true if it
// threw bad_alloc (false: it made fewer allocations than that).
template <typename Call>
bool FailsAt(int allocation, Call call) {
  bool threw = false;
  allocations_until_failure = allocation;
  try {
    call();
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  allocations_until_failure = -1;
  return threw;
}

// Runs `call` with this thread's next allocation failing; true if it threw bad_alloc.
template <typename Call>
bool FailsWithoutMemory(Call call) {
  return FailsAt(0, call);
}

TEST(OutOfMemory, ADeclinedLeadThatCannotBeHandedOnChangesNothing) {
  FlightTable table{Limits{}};
  table.join("k", 0, kMain);
  table.join("k", 0, kWorkerA);
  table.join("k", 0, kWorkerB);
  std::vector<Notice> handovers, abandoned;
  table.forget_env(kMain, handovers, abandoned);
  ASSERT_EQ(handovers.size(), 1u);
  ASSERT_EQ(handovers[0].to.env, kWorkerA);

  std::vector<Notice> next;
  EXPECT_TRUE(FailsWithoutMemory([&] { table.decline_lead(handovers[0], next); }));
  EXPECT_TRUE(next.empty());
  std::vector<FlightInfo> flights = table.flights_since(kEveryFlight, 10);
  ASSERT_EQ(flights.size(), 1u);
  EXPECT_EQ(flights[0].leader, kWorkerA) << "no waiter may become the leader without a hand-over telling it";

  // With memory again, the same decline hands the flight to the next waiter.
  table.decline_lead(handovers[0], next);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].to.env, kWorkerB);
  std::vector<Notice> notified;
  EXPECT_EQ(table.settle(next[0].flight->cell, next[0].flight->id, kWorkerB, true, notified), SettleResult::kDone);
  next.clear();
  handovers.clear();
  EXPECT_EQ(table.owned_cells(), 0u);
}

TEST(OutOfMemory, ADeclinedLeadNobodyElseWaitsForEndsTheFlightOrChangesNothing) {
  FlightTable table{Limits{}, 1};  // one shard: the flights below share its indexes
  table.join("k", 0, kMain);
  table.join("k", 0, kWorkerA);
  std::vector<Notice> handovers, abandoned;
  table.forget_env(kMain, handovers, abandoned);
  ASSERT_EQ(handovers.size(), 1u);
  // Unjoinable flights up to where the index of unjoinable flights must grow for one more.
  std::vector<JoinResult> forgotten;
  for (int i = 0; i < 6; ++i) {
    const std::string key = "other" + std::to_string(i);
    forgotten.push_back(table.join(key, 0, kWorkerB));
    ASSERT_TRUE(table.forget(key));
  }

  std::vector<Notice> next;
  next.reserve(4);  // so that the allocation failing is the table's own
  EXPECT_TRUE(FailsWithoutMemory([&] { table.decline_lead(handovers[0], next); }));
  std::vector<FlightInfo> flights = table.flights_since(kEveryFlight, 10);
  const auto k = std::find_if(flights.begin(), flights.end(), [](const FlightInfo& f) { return f.joinable; });
  ASSERT_NE(k, flights.end());
  EXPECT_EQ(k->leader, kWorkerA) << "out of memory, the flight stays as it was: led by the waiter";
  EXPECT_EQ(k->callers, 1) << "out of memory, the flight stays as it was: its leader's callers counted";

  // With memory again, the decline ends the flight: a flight nobody leads must not stay joinable.
  table.decline_lead(handovers[0], next);
  EXPECT_TRUE(next.empty());
  EXPECT_FALSE(table.contains("k", 0));
  handovers.clear();
  std::vector<Notice> notified;
  for (const JoinResult& flight : forgotten) {
    EXPECT_EQ(table.settle(flight.cell, flight.id, kWorkerB, true, notified), SettleResult::kDone);
  }
  EXPECT_EQ(table.owned_cells(), 0u);
}

// A thread's exit, when memory runs out at any allocation it makes: each flight is either left
// as it was or changed completely, every flight changed is in what forget_env returned (the
// waiter that now leads it is told, or the leader nobody waits for is told to stop), and
// calling it again does the rest, telling nobody twice and nobody the exit did not concern.
TEST(OutOfMemory, AThreadsExitChangesEachFlightWhollyAndTellsOfIt) {
  enum Kind { kHanded, kAbandoned, kAlone, kLeadsAndWaits, kUnconcerned, kKinds };
  struct State {
    EnvId leader;
    int64_t callers;
    bool joinable;
    bool operator==(const State&) const = default;
  };
  // How each kind of flight is before the exit and after it (kAlone's ends: it is gone).
  const State before[kKinds] = {
      {kMain, 2, true}, {kWorkerA, 1, true}, {kMain, 1, true}, {kMain, 3, true}, {kWorkerA, 0, true}};
  const State after[kKinds] = {{kWorkerA, 1, true}, {kWorkerA, 0, false}, {}, {kWorkerA, 1, true}, {kWorkerA, 0, true}};
  constexpr int kFlights = 40;  // spread over the table's shards
  // Notices the caller's vectors hold already: where they must grow moves from flight to flight.
  for (size_t held : {0, 1, 2, 3}) {
    bool failed_somewhere = true;
    for (int failing_at = 0; failed_somewhere; ++failing_at) {
      SCOPED_TRACE("allocation " + std::to_string(failing_at) + " fails, " + std::to_string(held) + " notices held");
      FlightTable table{Limits{}};
      std::map<uint64_t, Kind> kind_of;              // by key hash
      std::set<uint64_t> handed_over, told_to_stop;  // flight ids
      for (int i = 0; i < kFlights; ++i) {
        const std::string key = "k" + std::to_string(i);
        const Kind kind = static_cast<Kind>(i % kKinds);
        kind_of[seeded_hash(key)] = kind;
        switch (kind) {
          case kHanded:  // led by the thread that goes: handed to the thread waiting for it
            handed_over.insert(table.join(key, 0, kMain).id);
            table.join(key, 0, kWorkerA);
            break;
          case kAbandoned: {  // led elsewhere, its only callers in the thread that goes
            const JoinResult lead = table.join(key, 0, kWorkerA);
            table.join(key, 0, kMain);
            table.arena().at(lead.cell).subscribers.fetch_sub(1);  // the leader's caller left
            table.arena().at(lead.cell).lane.fetch_sub(1);
            told_to_stop.insert(lead.id);
            break;
          }
          case kAlone:  // led by the thread that goes, nobody else waiting: it ends
            table.join(key, 0, kMain);
            break;
          case kLeadsAndWaits:  // the thread that goes leads it and waits for it (two copies of the JS)
            handed_over.insert(table.join(key, 0, kMain).id);
            table.join(key, 0, kMain);
            table.join(key, 0, kWorkerA);
            break;
          case kUnconcerned: {  // every caller left, none of them in the thread that goes
            const JoinResult lead = table.join(key, 0, kWorkerA);
            table.arena().at(lead.cell).subscribers.fetch_sub(1);
            table.arena().at(lead.cell).lane.fetch_sub(1);
            break;
          }
          case kKinds:
            break;
        }
      }
      std::vector<Notice> handovers(held), abandoned(held);
      // Once it makes fewer allocations than failing_at, every one has been made to fail.
      failed_somewhere = FailsAt(failing_at, [&] { table.forget_env(kMain, handovers, abandoned); });
      handovers.erase(handovers.begin(), handovers.begin() + held);
      abandoned.erase(abandoned.begin(), abandoned.begin() + held);
      size_t changed_to_hand_over = 0, changed_to_stop = 0;
      for (const FlightInfo& flight : table.flights_since(kEveryFlight, kFlights)) {
        const Kind kind = kind_of.at(flight.hash);
        const State now{flight.leader, flight.callers, flight.joinable};
        EXPECT_TRUE(now == before[kind] || now == after[kind]) << "a flight of kind " << kind << " half changed";
        if (now != before[kind] && (kind == kHanded || kind == kLeadsAndWaits)) ++changed_to_hand_over;
        if (now != before[kind] && kind == kAbandoned) ++changed_to_stop;
      }
      EXPECT_EQ(handovers.size(), changed_to_hand_over) << "a waiter leads without being told";
      EXPECT_EQ(abandoned.size(), changed_to_stop) << "a leader nobody waits for is not told to stop";

      table.forget_env(kMain, handovers, abandoned);  // with memory: the rest
      std::set<uint64_t> handed, stopped;
      for (const Notice& n : handovers) {
        EXPECT_EQ(n.to.env, kWorkerA);
        EXPECT_TRUE(handed.insert(n.flight->id).second) << "one flight handed over twice";
      }
      for (const Notice& n : abandoned) {
        EXPECT_EQ(n.to.env, kWorkerA);
        EXPECT_TRUE(stopped.insert(n.flight->id).second) << "one leader told to stop twice";
      }
      EXPECT_EQ(handed, handed_over);
      EXPECT_EQ(stopped, told_to_stop);
      for (const FlightInfo& flight : table.flights_since(kEveryFlight, kFlights)) {
        const Kind kind = kind_of.at(flight.hash);
        EXPECT_NE(kind, kAlone) << "a flight ended but is still in the table";
        EXPECT_TRUE((State{flight.leader, flight.callers, flight.joinable} == after[kind]));
      }
    }
  }
}

// The same across tables: out of memory in one, the registry still tries the others, and
// what each changed reaches the binding, to be told.
TEST(OutOfMemory, AThreadsExitReachesEveryTableAndLosesNoNotice) {
  TableRegistry& registry = TableRegistry::global();
  bool failed_somewhere = true;
  for (int failing_at = 0; failed_somewhere; ++failing_at) {
    SCOPED_TRACE("allocation " + std::to_string(failing_at) + " fails");
    Limits existing{};
    std::vector<std::shared_ptr<FlightTable>> tables;
    for (int t = 0; t < 3; ++t) {
      tables.push_back(
          registry.open_named("oom-exit-" + std::to_string(failing_at) + "-" + std::to_string(t), Limits{}, existing));
      for (int i = 0; i < 8; ++i) {
        tables.back()->join("k" + std::to_string(i), 0, kMain);
        tables.back()->join("k" + std::to_string(i), 0, kWorkerA);
      }
    }
    std::vector<EnvExit> exits;
    failed_somewhere = FailsAt(failing_at, [&] { registry.forget_env(kMain, exits); });
    registry.forget_env(kMain, exits);  // with memory: the rest

    for (const auto& table : tables) {
      std::set<uint64_t> handed;
      for (const EnvExit& exit : exits) {
        if (exit.table != table) continue;
        for (const Notice& n : exit.handovers) {
          EXPECT_EQ(n.to.env, kWorkerA);
          EXPECT_TRUE(handed.insert(n.flight->id).second) << "one flight handed over twice";
        }
      }
      EXPECT_EQ(handed.size(), 8u) << "a waiter leads without being told";
    }
  }
}

}  // namespace
}  // namespace threadflight
