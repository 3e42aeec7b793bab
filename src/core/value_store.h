// The entries of one named cache, shared by every thread of the process: a key's value as
// serialized bytes, its freshness, and the slot through which threads holding a decoded copy
// see it change. Bounded by entry count and bytes (least recently used first), and by time:
// an entry past its grace period is gone.
//
// Like FlightTable it never runs user code and never calls into JavaScript: it copies
// nothing but bytes, under one mutex.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "counter_lanes.h"
#include "siphash.h"
#include "slot_arena.h"

namespace threadflight {

struct StoreLimits {
  uint64_t max_entries = std::numeric_limits<uint64_t>::max();
  uint64_t max_bytes = std::numeric_limits<uint64_t>::max();
  // A fill that started longer ago than this stores nothing: its flight has expired, and a
  // deletion it raced with is only remembered this long.
  int64_t max_fill_ns = 30'000'000'000;

  bool operator==(const StoreLimits&) const = default;
};

using StoredBytes = std::shared_ptr<const std::string>;

// An entry as a reader gets it: the bytes, and the slot whose version names this entry.
struct EntryView {
  StoredBytes bytes;
  uint32_t slot = 0;
  int32_t version = 0;
};

enum class StoreResult : uint8_t {
  kStored,       // the entry is in, in `out`
  kInvalidated,  // the key was deleted (or the store cleared) after the fill started, or the
                 // fill is older than max_fill_ns: nothing stored
  kTooLarge,     // the value alone is over max_bytes: nothing stored, older entry removed
  kFull,         // no slot could be taken (SlotArena full): nothing stored
};

// The cache's counters, in each thread's lane (see counter_lanes.h).
enum CacheCounter : uint32_t {
  kCounterHits = 0,       // served fresh from memory
  kCounterStaleHits = 1,  // served stale (grace)
  kCounterMisses = 2,     // found nothing usable in memory
  kCounterFactoryRuns = 3,
  kCounterFactoryErrors = 4,
  kCounterTierHits = 5,  // misses served by a second tier (Redis) without running the factory
  kCounterSlots = 8,
};
static_assert(kCounterSlots <= kLaneSetting);

struct StoreStats {
  size_t entries = 0;
  uint64_t bytes = 0;
  uint64_t evictions = 0;    // removed to respect max_entries / max_bytes
  uint64_t expirations = 0;  // removed past their grace period
};

using StoreHashFn = uint64_t (*)(std::string_view) noexcept;

class ValueStore {
 public:
  explicit ValueStore(StoreLimits limits, SlotArena& arena = SlotArena::global(), StoreHashFn hash = &seeded_hash);
  ~ValueStore();
  ValueStore(const ValueStore&) = delete;
  ValueStore& operator=(const ValueStore&) = delete;

  // The key's entry if it has one not past its grace period; counts as a use.
  bool get(std::string_view key, double now_ms, EntryView& out);

  // Where a fill starts: hand it back to store() so that a deletion meanwhile is seen.
  uint64_t generation();

  // Stores the key's value, fresh for fresh_ms and then stale for grace_ms more, replacing
  // any entry it had, unless the key was deleted or the store cleared since `since_generation`
  // or the fill started (since_ms) longer than max_fill_ns ago. Evicts to stay within limits.
  StoreResult store(std::string_view key, StoredBytes bytes, double fresh_ms, double grace_ms,
                    uint64_t since_generation, double since_ms, double now_ms, EntryView& out);

  // Removes the key's entry; a fill already running for it will store nothing. False if the
  // key had no entry.
  bool erase(std::string_view key, double now_ms);

  // Removes every entry; fills already running store nothing. Returns how many there were.
  size_t clear();

  // A refresh of entry `version` failed: it is served stale, and not refreshed again, until
  // until_ms (but never past its grace period). False if the entry has changed meanwhile.
  bool back_off(std::string_view key, int32_t version, double until_ms);

  StoreStats stats(double now_ms);

  // Counters, a lane per handle (one cache instance in one thread).
  CounterLanes& lanes() noexcept { return lanes_; }

  const StoreLimits& limits() const noexcept { return limits_; }

 private:
  struct Entry {
    std::string key;
    uint64_t hash;
    StoredBytes bytes;
    uint32_t slot;
    int32_t version;
    double stale_until_ms;
    int32_t listed_tick;  // Slot::touched when the entry was last put in front
    std::multimap<double, Entry*>::iterator by_expiry;
  };
  using Lru = std::list<Entry>;  // front: most recently used
  struct KeyView {
    uint64_t hash;
    std::string_view bytes;
    bool operator==(const KeyView& o) const noexcept { return hash == o.hash && bytes == o.bytes; }
  };
  struct KeyViewHash {
    size_t operator()(const KeyView& k) const noexcept { return k.hash; }
  };
  struct Tombstone {
    double at_ms;
    uint64_t generation;
    std::string key;
  };

  void remove(Lru::iterator it);
  void drop_expired(double now_ms);
  void drop_old_tombstones(double now_ms);
  void evict_to_limits(const Entry* keep);
  bool deleted_since(std::string_view key, uint64_t since_generation) const;

  const StoreLimits limits_;
  const double max_fill_ms_;
  SlotArena& arena_;
  const StoreHashFn hash_;

  std::mutex mutex_;
  Lru lru_;
  std::unordered_map<KeyView, Lru::iterator, KeyViewHash> index_;  // views into the entries' keys
  std::multimap<double, Entry*> by_expiry_;                        // stale_until_ms → entry
  uint64_t bytes_ = 0;
  uint64_t generation_ = 0;
  uint64_t cleared_at_ = 0;           // the generation of the last clear()
  std::deque<Tombstone> tombstones_;  // oldest first
  struct SeededStringHash {
    size_t operator()(const std::string& s) const noexcept { return seeded_hash(s); }
  };
  std::unordered_map<std::string, uint64_t, SeededStringHash> tombstone_generation_;  // key → newest deletion
  uint64_t evictions_ = 0;
  uint64_t expirations_ = 0;

  CounterLanes lanes_;
};

// Milliseconds → Slot::touched ticks (wrapping), as JavaScript computes them too.
int32_t tick_of(double ms) noexcept;

// Every live ValueStore of the process, by name.
class StoreRegistry {
 public:
  static StoreRegistry& global();

  // The store named `name`, created with `limits` if no live one exists. If a live one has
  // other limits, returns null and sets `existing` to them.
  std::shared_ptr<ValueStore> open_named(const std::string& name, const StoreLimits& limits, StoreLimits& existing);

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::weak_ptr<ValueStore>> named_;
  size_t sweep_at_ = 64;
};

}  // namespace threadflight
