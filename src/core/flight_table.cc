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

FlightTable::FlightTable(Limits limits, uint32_t shard_count, KeyHashFn hash, CellArena& arena)
    : limits_(limits), hash_(hash), arena_(arena) {
  if (limits_.max_subscribers < 1) throw std::invalid_argument("max_subscribers must be >= 1");
  if (limits_.max_duration_ns < 1) throw std::invalid_argument("max_duration_ns must be >= 1");
  const uint32_t n = round_up_pow2(std::max<uint32_t>(shard_count, 1));
  shard_mask_ = n - 1;
  shards_ = std::vector<Shard>(n);
}

bool FlightTable::take_cell(Shard& shard, int64_t now_ns, uint32_t& cell) {
  if (shard.free_cells.empty()) {
    uint32_t first;
    if (!arena_.allocate_chunk(first)) return false;
    for (uint32_t i = CellArena::kCellsPerChunk; i-- > 0;) shard.free_cells.push_back(first + i);
  }
  cell = shard.free_cells.back();
  shard.free_cells.pop_back();
  Cell& c = arena_.at(cell);
  c.started_ms = static_cast<double>(now_ns) / 1e6;
  c.owned.store(1, std::memory_order_relaxed);
  c.subscribers.store(1, std::memory_order_release);
  ++shard.owned_cells;
  return true;
}

JoinResult FlightTable::join(std::string_view key, int64_t now_ns) {
  const KeyView view{hash_(key), key};
  Shard& shard = shard_for(view.hash);
  std::lock_guard<std::mutex> lock(shard.mutex);

  auto it = shard.flights.find(view);
  if (it != shard.flights.end() && !expired(it->second, now_ns)) {
    const Flight& flight = it->second;
    auto& subscribers = arena_.at(flight.cell).subscribers;
    if (subscribers.fetch_add(1, std::memory_order_acq_rel) >= limits_.max_subscribers) {
      subscribers.fetch_sub(1, std::memory_order_acq_rel);
      return {Role::kRejected, flight.cell, flight.started_ns};
    }
    return {Role::kFollower, flight.cell, flight.started_ns};
  }

  uint32_t cell;
  if (!take_cell(shard, now_ns, cell)) return {Role::kExhausted, 0, now_ns};
  if (it != shard.flights.end()) {
    it->second = Flight{cell, now_ns};  // the expired flight is detached; its leader settles it
  } else {
    shard.flights.emplace(StoredKey{view.hash, std::string(key)}, Flight{cell, now_ns});
  }
  return {Role::kLeader, cell, now_ns};
}

SettleResult FlightTable::settle(std::string_view key, uint32_t cell) {
  const KeyView view{hash_(key), key};
  Shard& shard = shard_for(view.hash);
  std::lock_guard<std::mutex> lock(shard.mutex);

  if (cell / CellArena::kCellsPerPage >= arena_.page_count()) return SettleResult::kNotOwned;
  Cell& c = arena_.at(cell);
  if (c.owned.exchange(0, std::memory_order_acq_rel) != 1) return SettleResult::kNotOwned;

  SettleResult result = SettleResult::kDetached;
  auto it = shard.flights.find(view);
  if (it != shard.flights.end() && it->second.cell == cell) {
    shard.flights.erase(it);
    result = SettleResult::kRemoved;
  }
  c.subscribers.store(0, std::memory_order_release);
  shard.free_cells.push_back(cell);
  --shard.owned_cells;
  return result;
}

bool FlightTable::detach(std::string_view key, uint32_t cell) {
  const KeyView view{hash_(key), key};
  Shard& shard = shard_for(view.hash);
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto it = shard.flights.find(view);
  if (it == shard.flights.end() || it->second.cell != cell) return false;
  shard.flights.erase(it);
  return true;
}

bool FlightTable::contains(std::string_view key) const {
  const KeyView view{hash_(key), key};
  const Shard& shard = shard_for(view.hash);
  std::lock_guard<std::mutex> lock(shard.mutex);
  return shard.flights.find(view) != shard.flights.end();
}

size_t FlightTable::clear() {
  size_t detached = 0;
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    detached += shard.flights.size();
    shard.flights.clear();
  }
  return detached;
}

TableStats FlightTable::stats() const {
  TableStats out;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    out.in_flight += shard.flights.size();
    for (const auto& entry : shard.flights) {
      const Flight& flight = entry.second;
      out.subscribers += arena_.at(flight.cell).subscribers.load(std::memory_order_acquire);
      out.oldest_started_ns = std::min(out.oldest_started_ns, flight.started_ns);
    }
  }
  return out;
}

size_t FlightTable::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    n += shard.flights.size();
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
