// The store behind named caches: entries, their slots as JavaScript reads them, freshness,
// bounds, and the guard that keeps a fill from writing back over a deletion it raced.
#include "value_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace threadflight {
namespace {

StoredBytes bytes(const std::string& text) { return std::make_shared<const std::string>(text); }

StoreLimits limits(uint64_t max_entries = 1000, uint64_t max_bytes = 1 << 20, int64_t max_fill_ms = 30'000) {
  return StoreLimits{max_entries, max_bytes, max_fill_ms * 1'000'000};
}

class Store : public ::testing::Test {
 protected:
  SlotArena arena{16};
  double now = 1'000;  // ms, on the store's clock as the tests drive it

  StoreResult put(ValueStore& store, const std::string& key, const std::string& value, double fresh_ms = 100,
                  double grace_ms = 0) {
    EntryView out;
    return store.store(key, bytes(value), fresh_ms, grace_ms, store.generation(), now, now, out);
  }
  std::string read(ValueStore& store, const std::string& key) {
    EntryView out;
    return store.get(key, now, out) ? *out.bytes : std::string("<none>");
  }
};

TEST_F(Store, StoresReadsAndPublishesTheEntryInItsSlot) {
  ValueStore store(limits(), arena);
  EntryView out;
  ASSERT_EQ(store.store("k", bytes("v1"), 100, 50, store.generation(), now, now, out), StoreResult::kStored);
  const Slot& slot = arena.at(out.slot);
  EXPECT_EQ(slot.version.load(), out.version);
  EXPECT_EQ(slot.fresh_until_ms.load(), now + 100);
  EXPECT_EQ(slot.stale_until_ms.load(), now + 150);
  EXPECT_EQ(read(store, "k"), "v1");

  // Replacing the entry changes the old slot's version: copies of it stop matching.
  const uint32_t old_slot = out.slot;
  const int32_t old_version = out.version;
  ASSERT_EQ(put(store, "k", "v2"), StoreResult::kStored);
  EXPECT_NE(arena.at(old_slot).version.load(), old_version);
  EXPECT_EQ(read(store, "k"), "v2");
  EXPECT_EQ(store.stats(now).entries, 1u);
  EXPECT_EQ(store.stats(now).bytes, 2u);
}

TEST_F(Store, KeysAreComparedWholeEvenWhenTheirHashesCollide) {
  ValueStore store(limits(), arena, [](std::string_view) noexcept -> uint64_t { return 7; });
  put(store, "a", "1");
  put(store, "b", "2");
  EXPECT_EQ(read(store, "a"), "1");
  EXPECT_EQ(read(store, "b"), "2");
  EXPECT_EQ(read(store, "c"), "<none>");
}

TEST_F(Store, AnEntryPastItsGracePeriodIsGone) {
  ValueStore store(limits(), arena);
  put(store, "k", "v", 100, 50);
  now += 120;  // stale, within grace: still there
  EXPECT_EQ(read(store, "k"), "v");
  now += 40;
  EXPECT_EQ(read(store, "k"), "<none>");
  EXPECT_EQ(store.stats(now).expirations, 1u);
  // Expired entries nobody reads go too, when the store is next written.
  put(store, "a", "1", 10);
  now += 20;
  put(store, "b", "2", 10);
  EXPECT_EQ(store.stats(now).entries, 1u);
}

TEST_F(Store, AFillThatRacedADeletionStoresNothing) {
  ValueStore store(limits(), arena);
  const uint64_t since = store.generation();
  EXPECT_FALSE(store.erase("k", now));  // deleted while the fill ran (nothing stored yet)
  EntryView out;
  EXPECT_EQ(store.store("k", bytes("old"), 100, 0, since, now, now, out), StoreResult::kInvalidated);
  // Another key is not affected, and a fill started after the deletion stores.
  EXPECT_EQ(store.store("other", bytes("x"), 100, 0, since, now, now, out), StoreResult::kStored);
  EXPECT_EQ(put(store, "k", "new"), StoreResult::kStored);

  const uint64_t before_clear = store.generation();
  EXPECT_EQ(store.clear(), 2u);
  EXPECT_EQ(store.store("y", bytes("old"), 100, 0, before_clear, now, now, out), StoreResult::kInvalidated);
}

TEST_F(Store, AFillOlderThanMaxFillStoresNothingAndOldDeletionsAreForgotten) {
  ValueStore store(limits(1000, 1 << 20, /*max_fill_ms=*/500), arena);
  const uint64_t since = store.generation();
  const double started = now;
  store.erase("k", now);
  now += 600;
  EntryView out;
  EXPECT_EQ(store.store("x", bytes("late"), 100, 0, since, started, now, out), StoreResult::kInvalidated);
  // The deletion is pruned once no fill that could have raced it may still store.
  const uint64_t later = store.generation();
  EXPECT_EQ(store.store("k", bytes("v"), 100, 0, later, now, now, out), StoreResult::kStored);
}

TEST_F(Store, EvictsTheLeastRecentlyUsedButGivesTouchedEntriesASecondChance) {
  ValueStore store(limits(3), arena);
  EntryView a;
  store.store("a", bytes("1"), 1000, 0, store.generation(), now, now, a);
  put(store, "b", "2");
  put(store, "c", "3");
  // A thread serves "a" from its own copy: it only stamps the slot.
  arena.at(a.slot).touched.store(tick_of(now + 100));
  put(store, "d", "4");
  EXPECT_EQ(read(store, "a"), "1");
  EXPECT_EQ(read(store, "b"), "<none>");
  EXPECT_EQ(store.stats(now).evictions, 1u);
  EXPECT_EQ(store.stats(now).entries, 3u);
}

TEST_F(Store, MaxBytesBoundsTheBytesAndATooLargeValueReplacesNothing) {
  ValueStore store(limits(1000, 10), arena);
  put(store, "a", "12345");
  put(store, "b", "12345");
  put(store, "c", "123");
  EXPECT_LE(store.stats(now).bytes, 10u);
  EXPECT_EQ(read(store, "a"), "<none>");
  EXPECT_EQ(put(store, "b", std::string(11, 'x')), StoreResult::kTooLarge);
  EXPECT_EQ(read(store, "b"), "<none>");  // the older value does not outlive its replacement
}

TEST_F(Store, BackOffMovesFreshnessAndFlagsTheEntryOnlyIfItIsStillTheSame) {
  ValueStore store(limits(), arena);
  EntryView out;
  store.store("k", bytes("v"), 100, 1000, store.generation(), now, now, out);
  EXPECT_TRUE(store.back_off("k", out.version, now + 500));
  EXPECT_EQ(arena.at(out.slot).fresh_until_ms.load(), now + 500);
  EXPECT_EQ(arena.at(out.slot).flags.load(), kSlotBackoff);
  EXPECT_TRUE(store.back_off("k", out.version, now + 5000));  // never past the grace period
  EXPECT_EQ(arena.at(out.slot).fresh_until_ms.load(), now + 1100);
  EXPECT_FALSE(store.back_off("k", out.version + 1, now));
  EXPECT_FALSE(store.back_off("missing", out.version, now));
}

TEST_F(Store, SlotsAreGivenBackAndTheirVersionsNeverRepeat) {
  {
    ValueStore store(limits(), arena);
    for (int i = 0; i < 100; ++i) put(store, "k" + std::to_string(i), "v");
  }
  EXPECT_EQ(arena.free_count(), SlotArena::kSlotsPerPage);
  uint32_t slot;
  int32_t version;
  ASSERT_TRUE(arena.take(slot, version));
  const int32_t first = version;
  arena.give_back(slot);
  uint32_t again;
  ASSERT_TRUE(arena.take(again, version));
  EXPECT_EQ(again, slot);
  EXPECT_GT(version, first + 1);  // a copy made from the first entry never matches
}

TEST_F(Store, CountersAddUpOverLanesThatOutliveTheirThreads) {
  ValueStore store(limits(), arena);
  {
    auto lane = store.lanes().add();
    lane->values[kCounterHits].store(3);
  }
  auto lane = store.lanes().add();
  lane->values[kCounterHits].store(4);
  lane->values[kCounterMisses].store(1);
  const auto sum = store.lanes().sum();
  EXPECT_EQ(sum[kCounterHits], 7);
  EXPECT_EQ(sum[kCounterMisses], 1);
}

TEST_F(Store, ARetiredLaneKeepsItsCountsInTheTotals) {
  ValueStore store(limits(), arena);
  auto lane = store.lanes().add();
  lane->values[kCounterFactoryRuns].store(5);
  store.lanes().retire(lane);
  store.lanes().retire(lane);  // once only
  lane.reset();
  auto other = store.lanes().add();
  other->values[kCounterFactoryRuns].store(2);
  EXPECT_EQ(store.lanes().sum()[kCounterFactoryRuns], 7);
}

TEST(StoreRegistry, ANameIsOneStoreWhileItLivesAndItsLimitsMustMatch) {
  StoreLimits existing;
  auto first = StoreRegistry::global().open_named("registry-test", limits(5), existing);
  ASSERT_TRUE(first);
  EXPECT_EQ(StoreRegistry::global().open_named("registry-test", limits(5), existing), first);
  EXPECT_FALSE(StoreRegistry::global().open_named("registry-test", limits(6), existing));
  EXPECT_EQ(existing.max_entries, 5u);
  first.reset();
  EXPECT_TRUE(StoreRegistry::global().open_named("registry-test", limits(6), existing));
}

TEST(StoreStress, ThreadsStoringReadingAndErasingTheSameKeysStayConsistent) {
  SlotArena arena(64);
  ValueStore store(StoreLimits{200, 1 << 20, 30'000'000'000}, arena);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  std::atomic<uint64_t> reads{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20'000; ++i) {
        const std::string key = "k" + std::to_string((i * 7 + t) % 300);
        const double now = 1'000 + i * 0.01;
        EntryView out;
        switch (i % 4) {
          case 0:
          case 1:
            store.store(key, std::make_shared<const std::string>(key), 50, 50, store.generation(), now, now, out);
            break;
          case 2:
            if (store.get(key, now, out)) {
              EXPECT_EQ(*out.bytes, key);  // a key never reads another key's value
              ++reads;
            }
            break;
          default:
            store.erase(key, now);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_LE(store.stats(2'000).entries, 200u);
  EXPECT_GT(reads.load(), 0u);
}

}  // namespace
}  // namespace threadflight
