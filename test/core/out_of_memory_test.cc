// The table when memory runs out: an allocation that fails leaves the table as it was, and the
// caller (the binding) degrades from there without crashing the process. This binary replaces
// the global operator new so that a test can make its own thread's next allocation fail; it is
// built apart from core_tests, and not under the sanitizers, which bring their own allocator.
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <new>
#include <vector>

#include "flight_table.h"

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

}  // namespace
}  // namespace threadflight
