// The coalescing table: which keys have a flight in the air, which thread leads each flight,
// which other threads wait for its outcome, and how many callers each has.
//
// A table is sharded by a seeded hash of the key; each shard has its own mutex and maps, and
// keys are compared byte for byte (the hash only picks the shard and bucket). Every method is
// safe to call from any thread. The table never runs user code, never calls into JavaScript
// and never waits on anything but a shard mutex; it tells its caller whom to notify, and the
// caller does that after the lock is released.
//
// Threads are named by an EnvId chosen by the caller. Each thread taking part in a flight is a
// Participant with a lane cell holding that thread's caller count. A flight's cell is its
// identity: it is never reused while any participant may still touch it, so a stale settle or
// leave can never reach a newer flight of the same key.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cell_arena.h"
#include "counter_lanes.h"
#include "siphash.h"

namespace threadflight {

using EnvId = uint64_t;

struct Limits {
  // Callers of one flight, in all threads, leader included. At least 1.
  int32_t max_subscribers = std::numeric_limits<int32_t>::max();
  // A flight older than this is no longer joinable; the next caller starts a new one.
  int64_t max_duration_ns = std::numeric_limits<int64_t>::max();

  bool operator==(const Limits&) const = default;
};

// One thread's part in a flight.
struct Participant {
  EnvId env;
  uint32_t lane;  // cell whose `lane` counts this thread's callers (the flight cell for its first leader)
};

enum class Role : uint8_t {
  kLeader,     // run the work, then settle(cell, id, env, …)
  kFollower,   // wait for a notification about flight `id`; settle is the leader's job
  kRejected,   // the flight already has max_subscribers callers
  kExhausted,  // no cell could be allocated (CellArena full)
};

struct JoinResult {
  Role role;
  uint32_t cell = 0;       // the flight's cell
  uint32_t lane = 0;       // the caller's lane cell (== cell for a leader)
  uint64_t id = 0;         // the flight's id, unique in the process
  int64_t started_ns = 0;  // when the flight started
};

enum class LeaveResult : uint8_t {
  kNotWaiting,  // the thread was not waiting for that flight: nothing changed
  kLeft,        // the thread no longer waits; others still have callers
  kAbandoned,   // nobody anywhere waits any more: the flight is unjoinable and its leader
                // (in `notify`) should stop the work
};

enum class SettleResult : uint8_t {
  kDone,          // nobody else waits: the flight is over
  kNotify,        // notify the returned waiters of the outcome; each must later be acknowledged
  kNeedsPayload,  // other threads wait: call again with the outcome ready to send
  kNotLeader,     // no unsettled flight `cell` with that id led by this env: nothing changed
};

// A flight's key bytes, kept in the flight itself when short (most keys: 24 UTF-16 code
// units), so that a flight is one allocation rather than two (std::string keeps only 15 bytes).
class FlightKey {
 public:
  explicit FlightKey(std::string_view bytes) : size_(bytes.size()) {
    char* to = inline_.data();
    if (size_ > kInline) {
      heap_ = std::make_unique<char[]>(size_);
      to = heap_.get();
    }
    if (size_ != 0) std::memcpy(to, bytes.data(), size_);
  }
  FlightKey(const FlightKey&) = delete;
  FlightKey& operator=(const FlightKey&) = delete;

  std::string_view view() const noexcept { return {size_ > kInline ? heap_.get() : inline_.data(), size_}; }
  operator std::string_view() const noexcept { return view(); }  // NOLINT: a key is its bytes
  bool operator==(std::string_view other) const noexcept { return view() == other; }

 private:
  static constexpr size_t kInline = 48;
  size_t size_;
  alignas(8) std::array<char, kInline> inline_;  // UTF-16 code units: aligned for char16_t
  std::unique_ptr<char[]> heap_;                 // longer keys
};

// The state of one flight, shared by the table and by notifications in transit.
struct FlightState {
  FlightState(uint64_t id, std::string_view key, uint64_t hash, uint32_t cell, int64_t started_ns, Participant leader)
      : id(id), key(key), hash(hash), cell(cell), started_ns(started_ns), leader(leader) {}

  const uint64_t id;
  const FlightKey key;
  const uint64_t hash;
  const uint32_t cell;
  const int64_t started_ns;
  // Guarded by the shard mutex:
  Participant leader;
  std::vector<Participant> waiters;  // threads waiting that have not been notified yet
  uint32_t refs = 1;                 // participants that may still touch the cells
  bool joinable = true;              // still the key's entry
  bool finished = false;             // settled, or ended with no one left to lead it
};

using FlightRef = std::shared_ptr<FlightState>;

// A participant to tell something about a flight, after the table's lock is released.
struct Notice {
  FlightRef flight;
  Participant to;
};

// What happened to a table's flights and callers, counted by each JavaScript environment in
// its own lane (see counter_lanes.h) and summed when asked for. The two histograms (seconds a
// flight's work ran; seconds a caller waited) are a count per bucket of kHistogramBounds, the
// last bucket for anything longer, and a sum; they are recorded only while the lanes' setting
// kTimingsOn is 1.
enum FlightCounter : uint32_t {
  kFlightsStarted = 0,        // flights whose work this process ran (takeovers not included)
  kJoinedSameThread = 1,      // callers served by a flight started in their own thread
  kJoinedOtherThread = 2,     // callers served by a flight started in another thread
  kServedByOtherProcess = 3,  // flights of this process answered by another process's work
  kWorkErrors = 4,            // flights whose work threw or rejected
  kTimeouts = 5,              // callers rejected with FlightTimeoutError
  kRejected = 6,              // callers turned away by maxSubscribers (or capacity)
  kAborted = 7,               // callers that left through their signal
  kTakeovers = 8,             // flights this process led after their leader's thread was gone
  kExecutionBuckets = 9,      // kHistogramBuckets slots: runs of work, by duration
  kExecutionSum = 23,         // their total duration, in seconds
  kWaitBuckets = 24,          // kHistogramBuckets slots: callers answered, by time waited
  kWaitSum = 38,              // their total wait, in seconds
  kFlightCounters = 39,
};

// Upper bounds (seconds) of the histograms' buckets: from a cache-speed query to a stuck
// backend. Prometheus' defaults start at 5 ms, which would put most coalesced reads in one bucket.
constexpr std::array<double, 13> kHistogramBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                     0.25,  0.5,    1,     2.5,  5,     10};
constexpr uint32_t kHistogramBuckets = kHistogramBounds.size() + 1;
static_assert(kExecutionSum == kExecutionBuckets + kHistogramBuckets && kWaitBuckets == kExecutionSum + 1);
static_assert(kWaitSum == kWaitBuckets + kHistogramBuckets && kFlightCounters == kWaitSum + 1);
static_assert(kFlightCounters <= kLaneSetting);
constexpr uint32_t kTimingsOn = kLaneSetting;

// One flight still in the table, for a health check: its key only as its (seeded, so not
// reversible) hash.
struct FlightInfo {
  uint64_t hash;
  int64_t started_ns;
  EnvId leader;
  int32_t callers;
  bool joinable;  // false: past maxDuration, forgotten or cleared, but its work still runs
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
  explicit FlightTable(Limits limits, uint32_t shard_count = kDefaultShards, KeyHashFn hash = &seeded_hash,
                       CellArena& arena = CellArena::global());
  ~FlightTable();
  FlightTable(const FlightTable&) = delete;
  FlightTable& operator=(const FlightTable&) = delete;

  // Starts a flight led by `env`, or joins the one in the air as a waiting thread. A flight
  // older than max_duration, or one that every caller has left (its count is 0: doomed), is
  // made unjoinable and replaced; its leader still settles it.
  JoinResult join(std::string_view key, int64_t now_ns, EnvId env);

  // The leader ends its flight, making it unjoinable if it still was. With nobody
  // else waiting the flight is over (kDone). With waiters: if !have_outcome, kNeedsPayload
  // (call again, the flight stays unjoinable meanwhile); else kNotify with `notify` filled,
  // and each notified waiter must be acknowledged with `acknowledge` once it is done.
  // The flight is named by its cell and id (as join() returned them): its key is not read again.
  SettleResult settle(uint32_t cell, uint64_t id, EnvId env, bool have_outcome, std::vector<Notice>& notify);

  // A notified waiter is done with the flight (its thread will not touch the cells again).
  void acknowledge(const Notice& notice);

  // A waiting participant (a thread, and its lane: one thread may take part twice, through two
  // copies of the JavaScript) stops waiting for flight `id` (its callers gave up); what is left in its
  // lane is taken off the flight's count. If that leaves the flight without any caller, the
  // flight becomes unjoinable and `abandoned` names its leader, to be told to stop.
  LeaveResult leave(uint32_t cell, uint64_t id, const Participant& who, Notice& abandoned);

  // Makes the key's current flight unjoinable (its callers keep it). False if there was none.
  bool forget(std::string_view key);

  // A thread is gone: it stops waiting everywhere, and each flight it led is handed to one of
  // its waiters (returned in `handovers`: that thread must run the work and settle) or, with
  // none waiting, ends. Flights it was the last caller of are returned in `abandoned` (tell
  // their leaders to stop).
  void forget_env(EnvId env, std::vector<Notice>& handovers, std::vector<Notice>& abandoned);

  // The participant handed a flight refused it (its thread no longer knows the flight):
  // the flight goes to the next waiter, if any.
  void decline_lead(const Notice& handover, std::vector<Notice>& handovers);

  // Queries answer as of `now_ns`: a flight past max_duration is no longer joinable (the next
  // join replaces it), so it is not counted, even before any thread has expired it.
  bool contains(std::string_view key, int64_t now_ns) const;

  // Makes every flight unjoinable; their leaders still settle them. Returns how many there were.
  size_t clear();

  TableStats stats(int64_t now_ns) const;
  // Flights started at or before `started_by_ns` that are not over (joinable or not), oldest
  // first, at most `limit`.
  std::vector<FlightInfo> flights_since(int64_t started_by_ns, size_t limit) const;
  size_t size(int64_t now_ns) const;
  // Cells held by this table's flights and lanes (joinable or not, or being notified).
  size_t owned_cells() const;

  // Values that could not be sent to other threads; returns the count before this one.
  uint64_t count_clone_failure() noexcept { return clone_failures_.fetch_add(1); }
  uint64_t clone_failures() const noexcept { return clone_failures_.load(); }

  // Counters, a lane per JavaScript environment's handle of the table.
  CounterLanes& lanes() noexcept { return lanes_; }

  const Limits& limits() const noexcept { return limits_; }
  // Unique in the process (never reused): with a key and a flight id, how a message names the
  // flight it is about.
  uint64_t id() const noexcept { return id_; }
  CellArena& arena() noexcept { return arena_; }

 private:
  struct KeyView {
    uint64_t hash;
    std::string_view bytes;
    bool operator==(const KeyView& o) const noexcept { return hash == o.hash && bytes == o.bytes; }
  };
  struct KeyViewHash {
    size_t operator()(const KeyView& k) const noexcept { return k.hash; }
  };
  struct alignas(64) Shard {
    mutable std::mutex mutex;
    // Joinable flights; the KeyView points into the FlightState's own key.
    std::unordered_map<KeyView, FlightRef, KeyViewHash> entries;
    // Flights no longer joinable but not over yet (expired, cleared, settling), by cell.
    std::unordered_map<uint32_t, FlightRef> unjoinable;
    size_t owned_cells = 0;
  };

  Shard& shard_of(uint64_t hash) noexcept { return shards_[(hash >> 40) & shard_mask_]; }
  const Shard& shard_of(uint64_t hash) const noexcept { return shards_[(hash >> 40) & shard_mask_]; }

  // Counts one more caller into a flight's total if it has room; returns the count before.
  int32_t count_in(std::atomic<int32_t>& subscribers) const noexcept;
  bool take_cell(Shard& shard, uint32_t& cell);
  void free_cell(Shard& shard, uint32_t cell);
  // The flight `id` whose cell is `cell`, joinable or not, if it is still in the table; else
  // null. Found by identity: the cell's tag (the hash of its flight's key) picks the shard and
  // bucket, and the flight must have that cell and that id (ids are never reused), so a stale
  // or wrong cell finds nothing. `hash` is the cell's tag, `shard` the shard it picks, locked.
  FlightRef find_flight(Shard& shard, uint64_t hash, uint32_t cell, uint64_t id) const;
  // Where the flight of `cell` would be: the hash its cell is tagged with (see find_flight);
  // false if `cell` is no cell at all.
  bool hash_of_cell(uint32_t cell, uint64_t& hash) noexcept;
  // Publishes how many threads wait for the flight, for its leader's thread to read.
  void publish_waiting(const FlightState& flight);
  // Moves the flight from `entries` to `unjoinable` and flags its cell, if it is still joinable.
  void make_unjoinable(Shard& shard, const FlightRef& flight);
  // Takes one participant's callers off the flight's total and frees its lane cell.
  void drop_participant(Shard& shard, FlightState& flight, const Participant& who);
  // One reference fewer; the flight's cell is freed with the last.
  void release_ref(Shard& shard, const FlightRef& flight);
  // The flight lost its leader: hands it to the first waiter, or ends it.
  void lose_leader(Shard& shard, const FlightRef& flight, std::vector<Notice>& handovers);
  bool expired(const FlightState& flight, int64_t now_ns) const noexcept {
    return now_ns - flight.started_ns >= limits_.max_duration_ns;
  }

  const Limits limits_;
  const uint64_t id_;
  const KeyHashFn hash_;
  CellArena& arena_;
  uint32_t shard_mask_;
  std::vector<Shard> shards_;
  std::atomic<uint64_t> clone_failures_{0};
  CounterLanes lanes_;
};

// Allocates flight ids: unique in the process, below 2^53 so JavaScript numbers hold them.
uint64_t next_flight_id() noexcept;

}  // namespace threadflight
