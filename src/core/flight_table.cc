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
  auto give_back_cells = [this](const FlightState& flight) {
    arena_.give_back(flight.cell);
    if (flight.leader.lane != flight.cell) arena_.give_back(flight.leader.lane);
    for (const Participant& waiter : flight.waiters) arena_.give_back(waiter.lane);
  };
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    for (const auto& entry : shard.entries) give_back_cells(*entry.second);
    for (const auto& entry : shard.unjoinable) give_back_cells(*entry.second);
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

FlightRef FlightTable::find_flight(Shard& shard, uint64_t hash, uint32_t cell, uint64_t id) const {
  if (!shard.entries.empty()) {
    // The joinable flights whose keys hash like the cell's flight's: its bucket.
    const size_t bucket = shard.entries.bucket(KeyView{hash, {}});
    for (auto entry = shard.entries.begin(bucket); entry != shard.entries.end(bucket); ++entry) {
      if (entry->second->cell == cell && entry->second->id == id) return entry->second;
    }
  }
  auto gone = shard.unjoinable.find(cell);
  if (gone != shard.unjoinable.end() && gone->second->id == id) return gone->second;
  return nullptr;
}

void FlightTable::make_unjoinable(Shard& shard, const FlightRef& flight) {
  if (!flight->joinable) return;
  shard.entries.erase(KeyView{flight->hash, flight->key});
  flight->joinable = false;
  arena_.at(flight->cell).unjoinable.store(1, std::memory_order_release);
  shard.unjoinable.emplace(flight->cell, flight);
}

void FlightTable::drop_participant(Shard& shard, FlightState& flight, const Participant& who) {
  Cell& lane = arena_.at(who.lane);
  const int32_t callers = lane.lane.exchange(0, std::memory_order_acq_rel);
  arena_.at(flight.cell).subscribers.fetch_sub(callers, std::memory_order_acq_rel);
  if (who.lane != flight.cell) free_cell(shard, who.lane);
}

void FlightTable::release_ref(Shard& shard, const FlightRef& flight) {
  if (--flight->refs != 0) return;
  if (flight->joinable) {
    shard.entries.erase(KeyView{flight->hash, flight->key});
    flight->joinable = false;
  } else {
    shard.unjoinable.erase(flight->cell);
  }
  free_cell(shard, flight->cell);
}

void FlightTable::publish_waiting(const FlightState& flight) {
  arena_.at(flight.cell).waiting_threads.store(static_cast<int32_t>(flight.waiters.size()), std::memory_order_release);
}

void FlightTable::lose_leader(Shard& shard, const FlightRef& flight, std::vector<Notice>& handovers) {
  drop_participant(shard, *flight, flight->leader);
  if (!flight->waiters.empty()) {
    flight->leader = flight->waiters.front();
    flight->waiters.erase(flight->waiters.begin());
    publish_waiting(*flight);
    handovers.push_back(Notice{flight, flight->leader});
  } else {
    flight->finished = true;
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

JoinResult FlightTable::join(std::string_view key, int64_t now_ns, EnvId env) {
  const KeyView view{hash_(key), key};
  Shard& shard = shard_of(view.hash);
  std::lock_guard<std::mutex> lock(shard.mutex);

  auto entry = shard.entries.find(view);
  if (entry != shard.entries.end()) {
    FlightRef flight = entry->second;
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
    make_unjoinable(shard, flight);
  }

  uint32_t cell;
  if (!take_cell(shard, cell)) return {Role::kExhausted};
  Cell& c = arena_.at(cell);
  arena_.tag(cell).store(view.hash, std::memory_order_relaxed);  // how settle and leave find the flight
  c.started_ms = static_cast<double>(now_ns) / 1e6;
  c.lane.store(1, std::memory_order_relaxed);
  c.subscribers.store(1, std::memory_order_release);
  auto flight = std::make_shared<FlightState>(next_flight_id(), key, view.hash, cell, now_ns, Participant{env, cell});
  shard.entries.emplace(KeyView{view.hash, flight->key}, flight);
  return {Role::kLeader, cell, cell, flight->id, now_ns};
}

SettleResult FlightTable::settle(uint32_t cell, uint64_t id, EnvId env, bool have_outcome,
                                 std::vector<Notice>& notify) {
  uint64_t hash;
  if (!hash_of_cell(cell, hash)) return SettleResult::kNotLeader;
  Shard& shard = shard_of(hash);
  std::lock_guard<std::mutex> lock(shard.mutex);

  FlightRef flight = find_flight(shard, hash, cell, id);
  if (!flight || flight->finished || flight->leader.env != env) return SettleResult::kNotLeader;
  if (!flight->waiters.empty() && !have_outcome) {
    make_unjoinable(shard, flight);  // nobody may join while the leader prepares the outcome
    return SettleResult::kNeedsPayload;
  }
  const bool anyone_waiting = !flight->waiters.empty();
  if (anyone_waiting) {
    make_unjoinable(shard, flight);  // stays findable by cell until every waiter acknowledges
  } else if (flight->joinable) {
    shard.entries.erase(KeyView{flight->hash, flight->key});
    flight->joinable = false;
    arena_.at(flight->cell).unjoinable.store(1, std::memory_order_release);
  }
  flight->finished = true;
  for (const Participant& waiter : flight->waiters) notify.push_back(Notice{flight, waiter});
  flight->waiters.clear();
  publish_waiting(*flight);
  drop_participant(shard, *flight, flight->leader);
  release_ref(shard, flight);
  return anyone_waiting ? SettleResult::kNotify : SettleResult::kDone;
}

void FlightTable::acknowledge(const Notice& notice) {
  Shard& shard = shard_of(notice.flight->hash);
  std::lock_guard<std::mutex> lock(shard.mutex);
  drop_participant(shard, *notice.flight, notice.to);
  release_ref(shard, notice.flight);
}

LeaveResult FlightTable::leave(uint32_t cell, uint64_t id, const Participant& who, Notice& abandoned) {
  uint64_t hash;
  if (!hash_of_cell(cell, hash)) return LeaveResult::kNotWaiting;
  Shard& shard = shard_of(hash);
  std::lock_guard<std::mutex> lock(shard.mutex);

  FlightRef flight = find_flight(shard, hash, cell, id);
  if (!flight) return LeaveResult::kNotWaiting;
  auto& waiters = flight->waiters;
  auto it = std::find_if(waiters.begin(), waiters.end(),
                         [&who](const Participant& p) { return p.env == who.env && p.lane == who.lane; });
  if (it == waiters.end()) return LeaveResult::kNotWaiting;
  waiters.erase(it);
  publish_waiting(*flight);
  drop_participant(shard, *flight, who);
  release_ref(shard, flight);
  if (flight->finished || arena_.at(flight->cell).subscribers.load(std::memory_order_acquire) != 0) {
    return LeaveResult::kLeft;
  }
  make_unjoinable(shard, flight);
  abandoned = Notice{flight, flight->leader};
  return LeaveResult::kAbandoned;
}

bool FlightTable::forget(std::string_view key) {
  const KeyView view{hash_(key), key};
  Shard& shard = shard_of(view.hash);
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto entry = shard.entries.find(view);
  if (entry == shard.entries.end()) return false;
  FlightRef flight = entry->second;  // make_unjoinable() erases the entry: keep the flight alive
  make_unjoinable(shard, flight);
  return true;
}

void FlightTable::forget_env(EnvId env, std::vector<Notice>& handovers, std::vector<Notice>& abandoned) {
  std::vector<FlightRef> flights;
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    flights.clear();
    for (const auto& entry : shard.entries) flights.push_back(entry.second);
    for (const auto& entry : shard.unjoinable) flights.push_back(entry.second);
    for (const FlightRef& flight : flights) {
      auto& waiters = flight->waiters;
      for (auto it = waiters.begin(); it != waiters.end();) {
        if (it->env != env) {
          ++it;
          continue;
        }
        const Participant who = *it;
        it = waiters.erase(it);
        drop_participant(shard, *flight, who);
        release_ref(shard, flight);
      }
      publish_waiting(*flight);
      if (flight->finished) continue;
      if (flight->leader.env == env) {
        lose_leader(shard, flight, handovers);
      } else if (arena_.at(flight->cell).subscribers.load(std::memory_order_acquire) == 0) {
        make_unjoinable(shard, flight);  // the dead thread's callers were the last ones
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
  lose_leader(shard, handover.flight, handovers);
}

bool FlightTable::contains(std::string_view key, int64_t now_ns) const {
  const KeyView view{hash_(key), key};
  const Shard& shard = shard_of(view.hash);
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto entry = shard.entries.find(view);
  return entry != shard.entries.end() && !expired(*entry->second, now_ns);
}

size_t FlightTable::clear() {
  size_t cleared = 0;
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    cleared += shard.entries.size();
    for (auto& entry : shard.entries) {
      entry.second->joinable = false;
      arena_.at(entry.second->cell).unjoinable.store(1, std::memory_order_release);
      shard.unjoinable.emplace(entry.second->cell, entry.second);
    }
    shard.entries.clear();
  }
  return cleared;
}

TableStats FlightTable::stats(int64_t now_ns) const {
  TableStats out;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    for (const auto& entry : shard.entries) {
      const FlightState& flight = *entry.second;
      if (expired(flight, now_ns)) continue;
      ++out.in_flight;
      out.subscribers += arena_.at(flight.cell).subscribers.load(std::memory_order_acquire);
      out.oldest_started_ns = std::min(out.oldest_started_ns, flight.started_ns);
    }
  }
  return out;
}

std::vector<FlightInfo> FlightTable::flights_since(int64_t started_by_ns, size_t limit) const {
  std::vector<FlightInfo> out;
  auto add = [&](const FlightState& flight, bool joinable) {
    if (flight.started_ns > started_by_ns || flight.finished) return;
    out.push_back(FlightInfo{flight.hash, flight.started_ns, flight.leader.env,
                             arena_.at(flight.cell).subscribers.load(std::memory_order_acquire), joinable});
  };
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    for (const auto& entry : shard.entries) add(*entry.second, true);
    for (const auto& entry : shard.unjoinable) add(*entry.second, false);
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
    for (const auto& entry : shard.entries) n += expired(*entry.second, now_ns) ? 0 : 1;
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
