// The table when memory runs out: an allocation that fails leaves the table as it was, and the
// caller (the binding) degrades from there without crashing the process. This binary replaces
// the global operator new so that a test can make its own thread's next allocation fail; it is
// built apart from core_tests, and not under the sanitizers, which bring their own allocator.
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <new>
#include <set>
#include <string>
#include <vector>

#include "flight_table.h"
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

// Runs `call` with this thread's next allocation failing; true if it threw bad_alloc.
template <typename Call>
bool FailsWithoutMemory(Call call) {
  bool threw = false;
  allocations_until_failure = 0;
  try {
    call();
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  allocations_until_failure = -1;
  return threw;
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
  EXPECT_TRUE(table.contains("k", 0)) << "out of memory, the flight stays as it was: led by the waiter";

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

// A thread's exit, when memory runs out at any allocation it makes: every flight the table
// changed is in what forget_env returned (the waiter that now leads it is told, or the leader
// nobody waits for is told to stop), and calling it again does the rest, telling nobody twice.
TEST(OutOfMemory, AThreadsExitTellsOfEveryFlightItChanged) {
  constexpr int kFlights = 40;  // in every shard
  bool failed_somewhere = true;
  for (int failing_at = 0; failed_somewhere; ++failing_at) {
    SCOPED_TRACE("allocation " + std::to_string(failing_at) + " fails");
    FlightTable table{Limits{}};
    std::set<uint64_t> led_by_main, waited_for_by_main;
    std::vector<std::string> alone;
    for (int i = 0; i < kFlights; ++i) {
      const std::string key = "k" + std::to_string(i);
      if (i % 4 == 3) {
        // Led by the thread that goes, nobody else waiting: it ends.
        table.join(key, 0, kMain);
        alone.push_back(key);
      } else if (i % 2 == 0) {
        // Led by the thread that goes: handed to the thread waiting for it.
        led_by_main.insert(table.join(key, 0, kMain).id);
        table.join(key, 0, kWorkerA);
      } else {
        // Led elsewhere, its only callers in the thread that goes: its leader must stop.
        const JoinResult lead = table.join(key, 0, kWorkerA);
        table.join(key, 0, kMain);
        table.arena().at(lead.cell).subscribers.fetch_sub(1);  // the leader's caller left
        table.arena().at(lead.cell).lane.fetch_sub(1);
        waited_for_by_main.insert(lead.id);
      }
    }
    std::vector<Notice> handovers, abandoned;
    allocations_until_failure = failing_at;
    try {
      table.forget_env(kMain, handovers, abandoned);
      failed_somewhere = false;  // it made fewer allocations than failing_at: every one was tried
    } catch (const std::bad_alloc&) {
    }
    allocations_until_failure = -1;
    // What changed so far is what was returned so far.
    size_t still_led_by_main = 0, told_to_stop = 0;
    for (const FlightInfo& flight : table.flights_since(kEveryFlight, kFlights)) {
      if (flight.leader == kMain && flight.callers == 2) ++still_led_by_main;  // not one of `alone`
      if (flight.leader == kWorkerA && !flight.joinable) ++told_to_stop;
    }
    EXPECT_EQ(handovers.size(), led_by_main.size() - still_led_by_main) << "a waiter leads without being told";
    EXPECT_EQ(abandoned.size(), told_to_stop) << "a leader nobody waits for is not told to stop";

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
    EXPECT_EQ(handed, led_by_main);
    EXPECT_EQ(stopped, waited_for_by_main);
    for (const std::string& key : alone) EXPECT_FALSE(table.contains(key, 0)) << key << " ended but is still joinable";
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
    allocations_until_failure = failing_at;
    try {
      registry.forget_env(kMain, exits);
      failed_somewhere = false;
    } catch (const std::bad_alloc&) {
    }
    allocations_until_failure = -1;
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
