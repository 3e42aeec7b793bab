// The coalescing table: which keys have a flight in the air, which thread leads each flight,
// which other threads wait for its outcome, and how many callers each has.
//
// A table is sharded by a seeded hash of the key; each shard has its own mutex and indexes, and
// keys are compared byte for byte (the hash only picks the shard and where to look). Every
// method is safe to call from any thread. The table never runs user code, never calls into
// JavaScript and never waits on anything but a shard mutex; it tells its caller whom to
// notify, and the caller does that after the lock is released.
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
#include <utility>
#include <vector>

#include "cell_arena.h"
#include "counter_lanes.h"
#include "flight_index.h"
#include "siphash.h"

namespace threadflight {

using EnvId = uint64_t;

// A max_subscribers no count can reach: no limit. At it, Cell::subscribers counts lanes with
// callers instead of callers (see cell_arena.h), so JavaScript must know it: the protocol
// exports it.
constexpr int32_t kUnlimitedSubscribers = std::numeric_limits<int32_t>::max();

struct Limits {
  // Callers of one flight, in all threads, leader included. At least 1.
  int32_t max_subscribers = kUnlimitedSubscribers;
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
// units), so that a short key costs no allocation at all (std::string keeps only 15 bytes).
class FlightKey {
 public:
  FlightKey() = default;
  explicit FlightKey(std::string_view bytes) { assign(bytes); }
  FlightKey(const FlightKey&) = delete;
  FlightKey& operator=(const FlightKey&) = delete;

  // Takes these bytes instead of the ones held (a recycled flight's key is its new flight's).
  void assign(std::string_view bytes) {
    char* to = inline_.data();
    if (bytes.size() > kInline) {
      heap_ = std::make_unique<char[]>(bytes.size());
      to = heap_.get();
    } else {
      heap_.reset();
    }
    size_ = bytes.size();
    if (size_ != 0) std::memcpy(to, bytes.data(), size_);
  }

  std::string_view view() const noexcept { return {size_ > kInline ? heap_.get() : inline_.data(), size_}; }
  operator std::string_view() const noexcept { return view(); }  // NOLINT: a key is its bytes
  bool operator==(std::string_view other) const noexcept { return view() == other; }

 private:
  static constexpr size_t kInline = 48;
  size_t size_ = 0;
  alignas(8) std::array<char, kInline> inline_{};  // UTF-16 code units: aligned for char16_t
  std::unique_ptr<char[]> heap_;                   // longer keys
};

struct FlightState;

// Where a flight goes once the last FlightRef to it is dropped outside its shard's lock (a
// notice's receiver is done with it): a lock-free stack, pushed by any thread and emptied all
// at once, under the lock, by the shard taking a flight for reuse. Emptied whole, so a pop
// never races another pop (no ABA).
class FlightReturns {
 public:
  void push(FlightState& flight) noexcept;
  // Everything returned so far, as a list linked through FlightState::next_returned.
  FlightState* take_all() noexcept { return head_.exchange(nullptr, std::memory_order_acquire); }

 private:
  std::atomic<FlightState*> head_{nullptr};
};

// The state of one flight, read by the table and by notifications in transit. Its memory is
// reused for later flights of its shard (see FlightTable::Pool) once nothing holds it: the table
// holds it while it is in an index, and every FlightRef holds it.
struct FlightState {
  // Set when the flight starts, then unchanged until the memory is reused (which no FlightRef
  // outlives):
  uint64_t id = 0;
  FlightKey key;
  uint64_t hash = 0;
  uint32_t cell = 0;
  int64_t started_ns = 0;
  // Guarded by the shard mutex:
  Participant leader{};
  std::vector<Participant> waiters;  // threads waiting that have not been notified yet
  uint32_t refs = 0;                 // participants that may still touch the cells
  bool joinable = false;             // still the key's entry
  bool finished = false;             // settled, or ended with no one left to lead it

  // The memory's own bookkeeping:
  std::atomic<uint32_t> holds{0};        // the table's (while indexed) and one per FlightRef
  FlightReturns* returns = nullptr;      // its shard's, for the last FlightRef to give it back
  FlightState* next_returned = nullptr;  // the next one in `returns`
  size_t pool_index = 0;                 // where its shard's pool keeps it
};

inline void FlightReturns::push(FlightState& flight) noexcept {
  FlightState* head = head_.load(std::memory_order_relaxed);
  do {
    flight.next_returned = head;
  } while (!head_.compare_exchange_weak(head, &flight, std::memory_order_release, std::memory_order_relaxed));
}

// A counted reference to a flight, for notifications in transit, which are read and dropped
// outside the shard's lock: the flight's memory is not reused while one exists. It must not
// outlive the flight's table (the binding's messages and handovers each hold their table).
class FlightRef {
 public:
  FlightRef() noexcept = default;
  explicit FlightRef(FlightState& flight) noexcept : flight_(&flight) { hold(); }
  FlightRef(const FlightRef& other) noexcept : flight_(other.flight_) { hold(); }
  FlightRef(FlightRef&& other) noexcept : flight_(std::exchange(other.flight_, nullptr)) {}
  FlightRef& operator=(FlightRef other) noexcept {
    std::swap(flight_, other.flight_);
    return *this;
  }
  ~FlightRef() { release(); }

  FlightState* get() const noexcept { return flight_; }
  FlightState* operator->() const noexcept { return flight_; }
  FlightState& operator*() const noexcept { return *flight_; }
  explicit operator bool() const noexcept { return flight_ != nullptr; }

 private:
  void hold() noexcept {
    // A new reference is only ever made from one the table or another FlightRef holds.
    if (flight_ != nullptr) flight_->holds.fetch_add(1, std::memory_order_relaxed);
  }
  void release() noexcept {
    if (flight_ != nullptr && flight_->holds.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      flight_->returns->push(*flight_);
    }
  }

  FlightState* flight_ = nullptr;
};

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
  // A shard's flights' memory: allocated once per flight the shard has at the same time,
  // then reused, so that a flight costs no allocation (but its key, if long). Guarded by the
  // shard mutex, except `returns`.
  class Pool {
   public:
    // A flight to start, holding `key`; nothing else of it is set.
    FlightState& take(std::string_view key);
    // A flight nobody holds any more (its `holds` is 0) is kept for reuse, or freed if the
    // pool already keeps enough.
    void give_back(FlightState& flight) noexcept;
    FlightReturns returns;

   private:
    // Enough for bursts of flights at once in one shard; beyond that, memory is given back.
    static constexpr size_t kMaxIdle = 64;
    void take_returned() noexcept;
    std::vector<std::unique_ptr<FlightState>> made_;  // every flight of the shard, in use or idle
    std::vector<FlightState*> idle_;                  // capacity for every one it may keep
  };
  struct alignas(64) Shard {
    mutable std::mutex mutex;
    // Joinable flights, filed under their key's hash.
    FlightIndex entries;
    // Flights no longer joinable but not over yet (expired, cleared, settling), filed under
    // their cell (cell_hash).
    FlightIndex unjoinable;
    size_t owned_cells = 0;
    Pool pool;
  };

  static uint64_t cell_hash(uint32_t cell) noexcept {
    const uint64_t h = cell * 0x9E3779B97F4A7C15ull;  // cells are small consecutive numbers: spread them
    return h ^ (h >> 32);
  }
  // The joinable flight of `key` (whose hash is `hash`), or null.
  static FlightState* find_joinable(const Shard& shard, uint64_t hash, std::string_view key) noexcept {
    return shard.entries.find(hash, [key](const FlightState& flight) { return flight.key == key; });
  }
  Shard& shard_of(uint64_t hash) noexcept { return shards_[(hash >> 40) & shard_mask_]; }
  const Shard& shard_of(uint64_t hash) const noexcept { return shards_[(hash >> 40) & shard_mask_]; }

  // join() when no flight of the key can be joined: a new one, led by `env`.
  JoinResult start(Shard& shard, std::string_view key, uint64_t hash, int64_t now_ns, EnvId env);
  // Counts one more caller into a flight's total if it has room; returns the count before.
  int32_t count_in(std::atomic<int32_t>& subscribers) const noexcept;
  // What a lane with `callers` callers adds to its flight's subscribers (see Cell::subscribers).
  int32_t counted(int32_t callers) const noexcept;
  // Callers of the flight in every thread: the sum of its participants' lanes.
  int64_t callers_of(const FlightState& flight) const noexcept;
  bool take_cell(Shard& shard, uint32_t& cell);
  void free_cell(Shard& shard, uint32_t cell);
  // The flight `id` whose cell is `cell`, joinable or not, if it is still in the table; else
  // null. Found by identity: the cell's tag (the hash of its flight's key) picks the shard and
  // where to look, and the flight must have that cell and that id (ids are never reused), so a stale
  // or wrong cell finds nothing. `hash` is the cell's tag, `shard` the shard it picks, locked.
  FlightState* find_flight(Shard& shard, uint64_t hash, uint32_t cell, uint64_t id) const;
  // Where the flight of `cell` would be: the hash its cell is tagged with (see find_flight);
  // false if `cell` is no cell at all.
  bool hash_of_cell(uint32_t cell, uint64_t& hash) noexcept;
  // Publishes how many threads wait for the flight, for its leader's thread to read.
  void publish_waiting(const FlightState& flight);
  // Moves the flight from `entries` to `unjoinable` and flags its cell, if it is still joinable.
  void make_unjoinable(Shard& shard, FlightState& flight);
  // Takes one participant's callers off the flight's total and frees its lane cell.
  void drop_participant(Shard& shard, FlightState& flight, const Participant& who);
  // One participant fewer; with the last, the flight leaves the table, its cell is freed, and
  // its memory is reused once no FlightRef holds it. The caller must not touch it afterwards
  // unless it holds a FlightRef.
  void release_ref(Shard& shard, FlightState& flight);
  // The flight lost its leader: hands it to the first waiter, or ends it.
  void lose_leader(Shard& shard, FlightState& flight, std::vector<Notice>& handovers);
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
