// The coalescing table: which keys have a flight in the air, who leads it, how many wait.
//
// A table is sharded by a seeded hash of the key; each shard has its own mutex and map, and
// keys are compared byte for byte (the hash only picks the shard and bucket). The table is
// safe to use from many threads at once. It never runs user code and never blocks while
// holding a shard lock on anything but that lock.
//
// Each flight owns one Cell of the CellArena from the moment it starts until its leader
// settles it. The cell index is the flight's identity: because a cell is never reused while
// its flight is unsettled, a leader whose flight was detached (expired or cleared) can
// settle without any risk of removing a newer flight of the same key.
#pragma once

#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cell_arena.h"
#include "siphash.h"

namespace threadflight {

struct Limits {
  // Callers of one flight, leader included. Must be at least 1.
  int32_t max_subscribers = std::numeric_limits<int32_t>::max();
  // A flight older than this is no longer joinable; the next caller starts a new one.
  int64_t max_duration_ns = std::numeric_limits<int64_t>::max();
};

enum class Role : uint8_t {
  kLeader,     // the caller must run the work and later settle(key, cell)
  kFollower,   // the caller was counted as a subscriber of flight `cell`
  kRejected,   // the flight already has max_subscribers callers
  kExhausted,  // no cell could be allocated (CellArena full)
};

struct JoinResult {
  Role role;
  uint32_t cell;       // the flight started or joined (unset when kExhausted)
  int64_t started_ns;  // when that flight started
};

enum class SettleResult : uint8_t {
  kRemoved,    // the flight was still the key's entry and is gone now
  kDetached,   // the flight had already left the table (expired, cleared); the entry is untouched
  kNotOwned,   // the cell was not held by an unsettled flight: nothing changed
};

struct TableStats {
  size_t in_flight = 0;
  int64_t subscribers = 0;
  int64_t oldest_started_ns = std::numeric_limits<int64_t>::max();  // max() when empty
};

using KeyHashFn = uint64_t (*)(std::string_view) noexcept;

class FlightTable {
 public:
  static constexpr uint32_t kDefaultShards = 16;

  // shard_count is rounded up to a power of two. `hash` is replaceable for tests only.
  explicit FlightTable(Limits limits, uint32_t shard_count = kDefaultShards,
                       KeyHashFn hash = &seeded_hash, CellArena& arena = CellArena::global());
  FlightTable(const FlightTable&) = delete;
  FlightTable& operator=(const FlightTable&) = delete;

  // Starts a flight for `key` or joins the one in the air. A flight older than
  // max_duration is detached and replaced: its leader keeps its cell until it settles.
  JoinResult join(std::string_view key, int64_t now_ns);

  // Ends the leader's flight `cell`: removes the key's entry only if it is still this
  // flight, then frees the cell. Call exactly once per kLeader join.
  SettleResult settle(std::string_view key, uint32_t cell);

  // Removes the key's entry if it is flight `cell`; the leader still settles later.
  bool detach(std::string_view key, uint32_t cell);

  bool contains(std::string_view key) const;

  // Detaches every entry; their leaders still settle them. Returns how many were detached.
  size_t clear();

  TableStats stats() const;
  size_t size() const;
  // Cells held by flights whose leaders have not settled yet (in the table or detached).
  size_t owned_cells() const;

  const Limits& limits() const noexcept { return limits_; }
  uint32_t shard_count() const noexcept { return static_cast<uint32_t>(shards_.size()); }
  CellArena& arena() noexcept { return arena_; }

 private:
  struct StoredKey {
    uint64_t hash;
    std::string bytes;
  };
  struct KeyView {
    uint64_t hash;
    std::string_view bytes;
  };
  struct KeyHasher {
    using is_transparent = void;
    size_t operator()(const StoredKey& k) const noexcept { return k.hash; }
    size_t operator()(const KeyView& k) const noexcept { return k.hash; }
  };
  struct KeyEqual {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return a.hash == b.hash && std::string_view(a.bytes) == std::string_view(b.bytes);
    }
  };
  struct Flight {
    uint32_t cell;
    int64_t started_ns;
  };
  struct alignas(64) Shard {
    mutable std::mutex mutex;
    std::unordered_map<StoredKey, Flight, KeyHasher, KeyEqual> flights;
    std::vector<uint32_t> free_cells;
    size_t owned_cells = 0;
  };

  Shard& shard_for(uint64_t hash) noexcept { return shards_[(hash >> 40) & shard_mask_]; }
  const Shard& shard_for(uint64_t hash) const noexcept { return shards_[(hash >> 40) & shard_mask_]; }
  // Takes a free cell and marks it as a new flight's; false when the arena is full.
  bool take_cell(Shard& shard, int64_t now_ns, uint32_t& cell);
  bool expired(const Flight& flight, int64_t now_ns) const noexcept {
    return now_ns - flight.started_ns >= limits_.max_duration_ns;
  }

  const Limits limits_;
  const KeyHashFn hash_;
  CellArena& arena_;
  uint32_t shard_mask_;
  std::vector<Shard> shards_;
};

}  // namespace threadflight
