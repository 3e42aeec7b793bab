#include "flight_table.h"

#include <algorithm>
#include <stdexcept>

namespace threadflight {
namespace {

uint32_t round_up_pow2(uint32_t n) {
  uint32_t p = 1;
  while (p < n && p < (1u << 16)) p <<= 1;
  return p;
}

// Makes room for one more notice, so that the next push_back does not allocate: called before
// a flight changes, so that running out of memory leaves it as it was.
void make_room_for_one(std::vector<Notice>& notices) {
  if (notices.size() == notices.capacity()) notices.reserve(std::max<size_t>(4, 2 * notices.capacity()));
}

}  // namespace

uint64_t next_flight_id() noexcept {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

FlightTable::FlightTable(Limits limits, uint32_t shard_count, KeyHashFn hash, CellArena& arena)
    : limits_(limits), id_(next_flight_id()), hash_(hash), arena_(arena) {
  if (limits_.max_subscribers < 1) throw std::invalid_argument("max_subscribers must be >= 1");
  if (limits_.max_duration_ns < 1) throw std::invalid_argument("max_duration_ns must be >= 1");
  const uint32_t n = round_up_pow2(std::max<uint32_t>(shard_count, 1));
  shard_mask_ = n - 1;
  shards_ = std::vector<Shard>(n);
}

FlightTable::~FlightTable() {
  // A table goes away with the last instance of its name; the arena stays. The cells of
  // flights still open (and their waiters' lanes) go back to it: nobody can reach them now.
  // The flights' memory goes with the pools.
  auto give_back_cells = [this](const FlightState& flight) {
    arena_.give_back(flight.cell);
    if (flight.leader.lane != flight.cell) arena_.give_back(flight.leader.lane);
    for (const Participant& waiter : flight.waiters) arena_.give_back(waiter.lane);
  };
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    shard.entries.for_each(give_back_cells);
    shard.unjoinable.for_each(give_back_cells);
  }
}

FlightState& FlightTable::Pool::take(std::string_view key) {
  if (idle_.empty()) take_returned();
  if (idle_.empty()) {
    auto made = std::make_unique<FlightState>();
    made->returns = &returns;
    made->pool_index = made_.size();
    // give_back() must not allocate: room for every flight the pool may keep, made now.
    idle_.reserve(std::min(made_.size() + 1, kMaxIdle));
    made_.push_back(std::move(made));
    idle_.push_back(made_.back().get());
  }
  FlightState& flight = *idle_.back();
  flight.key.assign(key);  // may throw (a long key): the flight stays idle
  idle_.pop_back();
  return flight;
}

void FlightTable::Pool::give_back(FlightState& flight) noexcept {
  if (idle_.size() < kMaxIdle) {
    flight.key.assign({});  // a long key's memory is not kept
    flight.waiters.clear();
    idle_.push_back(&flight);
    return;
  }
  // Enough kept: this one is freed. The last of made_ takes its place.
  const size_t index = flight.pool_index;
  std::unique_ptr<FlightState> freed = std::move(made_[index]);
  if (index + 1 != made_.size()) {
    made_[index] = std::move(made_.back());
    made_[index]->pool_index = index;
  }
  made_.pop_back();
}

void FlightTable::Pool::take_returned() noexcept {
  for (FlightState* flight = returns.take_all(); flight != nullptr;) {
    FlightState* next = flight->next_returned;
    give_back(*flight);
    flight = next;
  }
}

bool FlightTable::take_cell(Shard& shard, uint32_t& cell) {
  if (!arena_.take(cell)) return false;
  ++shard.owned_cells;
  return true;
}

void FlightTable::free_cell(Shard& shard, uint32_t cell) {
  arena_.give_back(cell);
  --shard.owned_cells;
}

bool FlightTable::hash_of_cell(uint32_t cell, uint64_t& hash) noexcept {
  if (!arena_.holds(cell)) return false;
  // Written when the cell was taken for its flight, under the shard lock, before the leader
  // learned the cell; a stale cell may be tagged by anyone since, and then finds nothing.
  hash = arena_.tag(cell).load(std::memory_order_relaxed);
  return true;
}

FlightState* FlightTable::find_flight(Shard& shard, uint64_t hash, uint32_t cell, uint64_t id) const {
  auto is_it = [cell, id](const FlightState& flight) { return flight.cell == cell && flight.id == id; };
  // The joinable flights whose keys hash like the cell's flight's, then the unjoinable ones.
  if (FlightState* flight = shard.entries.find(hash, is_it)) return flight;
  return shard.unjoinable.find(cell_hash(cell), is_it);
}

void FlightTable::make_unjoinable(Shard& shard, FlightState& flight) {
  if (!flight.joinable) return;
  shard.unjoinable.reserve_one();  // may throw: before anything changes
  shard.entries.erase(flight.hash, &flight);
  flight.joinable = false;
  arena_.at(flight.cell).unjoinable.store(1, std::memory_order_release);
  shard.unjoinable.insert(cell_hash(flight.cell), &flight);
}

void FlightTable::drop_participant(Shard& shard, FlightState& flight, const Participant& who) {
  Cell& lane = arena_.at(who.lane);
  const int32_t callers = lane.lane.exchange(0, std::memory_order_acq_rel);
  arena_.at(flight.cell).subscribers.fetch_sub(counted(callers), std::memory_order_acq_rel);
  if (who.lane != flight.cell) free_cell(shard, who.lane);
}

void FlightTable::release_ref(Shard& shard, FlightState& flight) {
  if (--flight.refs != 0) return;
  if (flight.joinable) {
    shard.entries.erase(flight.hash, &flight);
    flight.joinable = false;
  } else {
    shard.unjoinable.erase(cell_hash(flight.cell), &flight);
  }
  free_cell(shard, flight.cell);
  // The table's hold: the flight's memory is reused now, or when the last notice about it is dropped.
  if (flight.holds.fetch_sub(1, std::memory_order_acq_rel) == 1) shard.pool.give_back(flight);
}

void FlightTable::publish_waiting(const FlightState& flight) {
  arena_.at(flight.cell).waiting_threads.store(static_cast<int32_t>(flight.waiters.size()), std::memory_order_release);
}

void FlightTable::lose_leader(Shard& shard, FlightState& flight, std::vector<Notice>& handovers) {
  // Room for the hand-over, or for making the flight unjoinable if no waiter takes it, first:
  // out of memory, nothing has changed (a waiter made leader without being told would wait for
  // its own flight until its maxDuration; a flight ended but still joinable would never settle).
  make_room_for_one(handovers);
  if (flight.waiters.empty()) shard.unjoinable.reserve_one();
  drop_participant(shard, flight, flight.leader);
  if (!flight.waiters.empty()) {
    flight.leader = flight.waiters.front();
    flight.waiters.erase(flight.waiters.begin());
    publish_waiting(flight);
    handovers.push_back(Notice{FlightRef(flight), flight.leader});
  } else {
    flight.finished = true;
    make_unjoinable(shard, flight);
  }
  release_ref(shard, flight);  // the old leader's
}

int32_t FlightTable::count_in(std::atomic<int32_t>& subscribers) const noexcept {
  // Only when the count is below the limit and not 0 (doomed), and never even for a moment
  // otherwise: callers counting in from JavaScript at the same time must not be refused
  // because of a caller that is being refused itself.
  int32_t before = subscribers.load(std::memory_order_acquire);
  while (before > 0 && before < limits_.max_subscribers &&
         !subscribers.compare_exchange_weak(before, before + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
  }
  return before;
}

int32_t FlightTable::counted(int32_t callers) const noexcept {
  if (limits_.max_subscribers != kUnlimitedSubscribers) return callers;
  return callers > 0 ? 1 : 0;
}

int64_t FlightTable::callers_of(const FlightState& flight) const noexcept {
  int64_t callers = arena_.at(flight.leader.lane).lane.load(std::memory_order_acquire);
  for (const Participant& waiter : flight.waiters)
    callers += arena_.at(waiter.lane).lane.load(std::memory_order_acquire);
  return callers;
}

JoinResult FlightTable::join(std::string_view key, int64_t now_ns, EnvId env) {
  const uint64_t hash = hash_(key);
  Shard& shard = shard_of(hash);
  std::lock_guard<std::mutex> lock(shard.mutex);

  if (FlightState* flight = find_joinable(shard, hash, key)) {
    auto& subscribers = arena_.at(flight->cell).subscribers;
    // Too old, or flagged unjoinable by its leader's thread (settling: its outcome's own code
    // runs while it is packed, and must not join it): not joined, like a doomed one.
    const bool closed =
        expired(*flight, now_ns) || arena_.at(flight->cell).unjoinable.load(std::memory_order_acquire) != 0;
    const int32_t before = closed ? 0 : count_in(subscribers);
    if (before > 0) {
      if (before >= limits_.max_subscribers) return {Role::kRejected, flight->cell, 0, flight->id, flight->started_ns};
      uint32_t lane;
      if (!take_cell(shard, lane)) {
        subscribers.fetch_sub(1, std::memory_order_acq_rel);
        return {Role::kExhausted};
      }
      arena_.at(lane).lane.store(1, std::memory_order_release);
      flight->waiters.push_back(Participant{env, lane});
      ++flight->refs;
      publish_waiting(*flight);
      return {Role::kFollower, flight->cell, lane, flight->id, flight->started_ns};
    }
    // Expired, or doomed (every caller left, so its leader is being told to stop): no longer
    // joinable. Its leader still settles it.
    make_unjoinable(shard, *flight);
  }
  return start(shard, key, hash, now_ns, env);
}

JoinResult FlightTable::start(Shard& shard, std::string_view key, uint64_t hash, int64_t now_ns, EnvId env) {
  // What may allocate comes before the cell is taken, so that a failure leaves nothing behind.
  shard.entries.reserve_one();
  FlightState& flight = shard.pool.take(key);
  uint32_t cell;
  if (!take_cell(shard, cell)) {
    shard.pool.give_back(flight);
    return {Role::kExhausted};
  }
  Cell& c = arena_.at(cell);
  arena_.tag(cell).store(hash, std::memory_order_relaxed);  // how settle and leave find the flight
  c.started_ms = static_cast<double>(now_ns) / 1e6;
  c.lane.store(1, std::memory_order_relaxed);
  c.subscribers.store(1, std::memory_order_release);
  flight.id = next_flight_id();
  flight.hash = hash;
  flight.cell = cell;
  flight.started_ns = now_ns;
  flight.leader = Participant{env, cell};
  flight.refs = 1;
  flight.joinable = true;
  flight.finished = false;
  flight.holds.store(1, std::memory_order_relaxed);  // the table's; nobody else knows the flight yet
  shard.entries.insert(hash, &flight);
  return {Role::kLeader, cell, cell, flight.id, now_ns};
}

SettleResult FlightTable::settle(uint32_t cell, uint64_t id, EnvId env, bool have_outcome,
                                 std::vector<Notice>& notify) {
  uint64_t hash;
  if (!hash_of_cell(cell, hash)) return SettleResult::kNotLeader;
  Shard& shard = shard_of(hash);
  std::lock_guard<std::mutex> lock(shard.mutex);

  FlightState* flight = find_flight(shard, hash, cell, id);
  if (flight == nullptr || flight->finished || flight->leader.env != env) return SettleResult::kNotLeader;
  if (!flight->waiters.empty() && !have_outcome) {
    make_unjoinable(shard, *flight);  // nobody may join while the leader prepares the outcome
    return SettleResult::kNeedsPayload;
  }
  const bool anyone_waiting = !flight->waiters.empty();
  if (anyone_waiting) {
    notify.reserve(notify.size() + flight->waiters.size());  // may throw: before anything changes
    make_unjoinable(shard, *flight);                         // stays findable by cell until every waiter acknowledges
  } else if (flight->joinable) {
    shard.entries.erase(flight->hash, flight);
    flight->joinable = false;
    arena_.at(flight->cell).unjoinable.store(1, std::memory_order_release);
  }
  flight->finished = true;
  for (const Participant& waiter : flight->waiters) notify.push_back(Notice{FlightRef(*flight), waiter});
  flight->waiters.clear();
  publish_waiting(*flight);
  drop_participant(shard, *flight, flight->leader);
  release_ref(shard, *flight);
  return anyone_waiting ? SettleResult::kNotify : SettleResult::kDone;
}

void FlightTable::acknowledge(const Notice& notice) {
  Shard& shard = shard_of(notice.flight->hash);
  std::lock_guard<std::mutex> lock(shard.mutex);
  drop_participant(shard, *notice.flight, notice.to);
  release_ref(shard, *notice.flight);  // the notice still holds the flight's memory
}

LeaveResult FlightTable::leave(uint32_t cell, uint64_t id, const Participant& who, Notice& abandoned) {
  uint64_t hash;
  if (!hash_of_cell(cell, hash)) return LeaveResult::kNotWaiting;
  Shard& shard = shard_of(hash);
  std::lock_guard<std::mutex> lock(shard.mutex);

  FlightState* flight = find_flight(shard, hash, cell, id);
  if (flight == nullptr) return LeaveResult::kNotWaiting;
  auto& waiters = flight->waiters;
  auto it = std::find_if(waiters.begin(), waiters.end(),
                         [&who](const Participant& p) { return p.env == who.env && p.lane == who.lane; });
  if (it == waiters.end()) return LeaveResult::kNotWaiting;
  waiters.erase(it);
  publish_waiting(*flight);
  drop_participant(shard, *flight, who);
  if (flight->finished) {
    release_ref(shard, *flight);  // maybe its last participant: the flight is not touched again
    return LeaveResult::kLeft;
  }
  release_ref(shard, *flight);  // not the last: its leader has not settled
  if (arena_.at(flight->cell).subscribers.load(std::memory_order_acquire) != 0) return LeaveResult::kLeft;
  make_unjoinable(shard, *flight);
  abandoned = Notice{FlightRef(*flight), flight->leader};
  return LeaveResult::kAbandoned;
}

bool FlightTable::forget(std::string_view key) {
  const uint64_t hash = hash_(key);
  Shard& shard = shard_of(hash);
  std::lock_guard<std::mutex> lock(shard.mutex);
  FlightState* flight = find_joinable(shard, hash, key);
  if (flight == nullptr) return false;
  make_unjoinable(shard, *flight);
  return true;
}

void FlightTable::forget_env(EnvId env, std::vector<Notice>& handovers, std::vector<Notice>& abandoned) {
  // Held while this loop releases participants, so that no flight's memory is reused under it.
  std::vector<FlightRef> flights;
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    flights.clear();
    auto collect = [&flights](FlightState& flight) { flights.emplace_back(flight); };
    shard.entries.for_each(collect);
    shard.unjoinable.for_each(collect);
    for (const FlightRef& flight : flights) {
      bool leads = flight->leader.env == env && !flight->finished;
      bool waits = false;
      for (const Participant& waiter : flight->waiters) waits = waits || waiter.env == env;
      if (!leads && !waits) continue;
      // Room first, for all this flight may need: out of memory, it is left as it is (and the
      // notices of the flights changed before it are in the caller's vectors).
      make_room_for_one(handovers);
      make_room_for_one(abandoned);
      shard.unjoinable.reserve_one();
      auto& waiters = flight->waiters;
      for (auto it = waiters.begin(); it != waiters.end();) {
        if (it->env != env) {
          ++it;
          continue;
        }
        const Participant who = *it;
        it = waiters.erase(it);
        drop_participant(shard, *flight, who);
        release_ref(shard, *flight);
      }
      if (waits) publish_waiting(*flight);
      if (flight->finished) continue;
      if (leads) {
        lose_leader(shard, *flight, handovers);
      } else if (arena_.at(flight->cell).subscribers.load(std::memory_order_acquire) == 0) {
        make_unjoinable(shard, *flight);  // the dead thread's callers were the last ones
        abandoned.push_back(Notice{flight, flight->leader});
      }
    }
  }
}

void FlightTable::decline_lead(const Notice& handover, std::vector<Notice>& handovers) {
  Shard& shard = shard_of(handover.flight->hash);
  std::lock_guard<std::mutex> lock(shard.mutex);
  const Participant& leader = handover.flight->leader;
  if (handover.flight->finished || leader.env != handover.to.env || leader.lane != handover.to.lane) return;
  lose_leader(shard, *handover.flight, handovers);
}

bool FlightTable::contains(std::string_view key, int64_t now_ns) const {
  const uint64_t hash = hash_(key);
  const Shard& shard = shard_of(hash);
  std::lock_guard<std::mutex> lock(shard.mutex);
  const FlightState* flight = find_joinable(shard, hash, key);
  return flight != nullptr && !expired(*flight, now_ns);
}

size_t FlightTable::clear() {
  size_t cleared = 0;
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    cleared += shard.entries.size();
    shard.unjoinable.reserve(shard.unjoinable.size() + shard.entries.size());  // may throw: before anything changes
    shard.entries.for_each([this, &shard](FlightState& flight) {
      flight.joinable = false;
      arena_.at(flight.cell).unjoinable.store(1, std::memory_order_release);
      shard.unjoinable.insert(cell_hash(flight.cell), &flight);
    });
    shard.entries.clear();
  }
  return cleared;
}

TableStats FlightTable::stats(int64_t now_ns) const {
  TableStats out;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    shard.entries.for_each([&](const FlightState& flight) {
      if (expired(flight, now_ns)) return;
      ++out.in_flight;
      out.subscribers += callers_of(flight);
      out.oldest_started_ns = std::min(out.oldest_started_ns, flight.started_ns);
    });
  }
  return out;
}

std::vector<FlightInfo> FlightTable::flights_since(int64_t started_by_ns, size_t limit) const {
  std::vector<FlightInfo> out;
  auto add = [&](const FlightState& flight) {
    if (flight.started_ns > started_by_ns || flight.finished) return;
    out.push_back(FlightInfo{flight.hash, flight.started_ns, flight.leader.env,
                             static_cast<int32_t>(callers_of(flight)), flight.joinable});
  };
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    shard.entries.for_each(add);
    shard.unjoinable.for_each(add);
  }
  std::sort(out.begin(), out.end(),
            [](const FlightInfo& a, const FlightInfo& b) { return a.started_ns < b.started_ns; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

size_t FlightTable::size(int64_t now_ns) const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    shard.entries.for_each([&](const FlightState& flight) { n += expired(flight, now_ns) ? 0 : 1; });
  }
  return n;
}

size_t FlightTable::owned_cells() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    n += shard.owned_cells;
  }
  return n;
}

}  // namespace threadflight
