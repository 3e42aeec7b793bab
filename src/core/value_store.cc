#include "value_store.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <type_traits>

namespace threadflight {

int32_t tick_of(double ms) noexcept {
  // Wraps like JavaScript's `| 0`: only differences between ticks are ever compared.
  const double ticks = std::floor(ms / kTickMs);
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(ticks)));
}

ValueStore::ValueStore(StoreLimits limits, SlotArena& arena, StoreHashFn hash)
    : limits_(limits), max_fill_ms_(static_cast<double>(limits.max_fill_ns) / 1e6), arena_(arena), hash_(hash) {}

ValueStore::~ValueStore() {
  for (Entry& entry : lru_) arena_.give_back(entry.slot);
}

bool ValueStore::get(std::string_view key, double now_ms, EntryView& out) {
  const KeyView view{hash_(key), key};
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = index_.find(view);
  if (found == index_.end()) return false;
  Lru::iterator it = found->second;
  if (it->stale_until_ms <= now_ms) {
    ++expirations_;
    remove(it);
    return false;
  }
  const int32_t now_tick = tick_of(now_ms);
  arena_.at(it->slot).touched.store(now_tick, std::memory_order_relaxed);
  it->listed_tick = now_tick;
  lru_.splice(lru_.begin(), lru_, it);
  out.bytes = it->bytes;
  out.slot = it->slot;
  out.version = it->version;
  return true;
}

uint64_t ValueStore::generation() {
  std::lock_guard<std::mutex> lock(mutex_);
  return generation_;
}

bool ValueStore::deleted_since(std::string_view key, uint64_t since_generation) const {
  if (cleared_at_ > since_generation) return true;
  if (tombstone_generation_.empty()) return false;
  auto found = tombstone_generation_.find(std::string(key));
  return found != tombstone_generation_.end() && found->second > since_generation;
}

StoreResult ValueStore::store(std::string_view key, StoredBytes bytes, double fresh_ms, double grace_ms,
                              uint64_t since_generation, double since_ms, double now_ms, EntryView& out) {
  const KeyView view{hash_(key), key};
  std::lock_guard<std::mutex> lock(mutex_);
  drop_old_tombstones(now_ms);
  if (now_ms - since_ms > max_fill_ms_ || deleted_since(key, since_generation)) return StoreResult::kInvalidated;
  drop_expired(now_ms);
  auto found = index_.find(view);
  if (found != index_.end()) remove(found->second);
  if (bytes->size() > limits_.max_bytes) return StoreResult::kTooLarge;
  uint32_t slot;
  int32_t version;
  if (!arena_.take(slot, version)) return StoreResult::kFull;

  const double fresh_until = now_ms + fresh_ms;
  const double stale_until = fresh_until + grace_ms;
  const int32_t now_tick = tick_of(now_ms);
  Slot& s = arena_.at(slot);
  s.fresh_until_ms.store(fresh_until, std::memory_order_relaxed);
  s.stale_until_ms.store(stale_until, std::memory_order_relaxed);
  s.touched.store(now_tick, std::memory_order_relaxed);
  // Publishes the times with the version: a reader that sees the version sees them.
  s.version.store(version, std::memory_order_release);

  lru_.push_front(Entry{std::string(key), view.hash, std::move(bytes), slot, version, stale_until, now_tick, {}});
  Entry& entry = lru_.front();
  entry.by_expiry = by_expiry_.emplace(stale_until, &entry);
  index_.emplace(KeyView{entry.hash, entry.key}, lru_.begin());
  bytes_ += entry.bytes->size();
  out.bytes = entry.bytes;
  out.slot = slot;
  out.version = version;
  evict_to_limits(&entry);
  return StoreResult::kStored;
}

bool ValueStore::erase(std::string_view key, double now_ms) {
  const KeyView view{hash_(key), key};
  std::lock_guard<std::mutex> lock(mutex_);
  drop_old_tombstones(now_ms);
  ++generation_;
  tombstones_.push_back(Tombstone{now_ms, generation_, std::string(key)});
  tombstone_generation_[tombstones_.back().key] = generation_;
  auto found = index_.find(view);
  if (found == index_.end()) return false;
  remove(found->second);
  return true;
}

size_t ValueStore::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  const size_t count = lru_.size();
  while (!lru_.empty()) remove(lru_.begin());
  cleared_at_ = ++generation_;
  tombstones_.clear();  // the clear covers them
  tombstone_generation_.clear();
  return count;
}

bool ValueStore::back_off(std::string_view key, int32_t version, double until_ms) {
  const KeyView view{hash_(key), key};
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = index_.find(view);
  if (found == index_.end() || found->second->version != version) return false;
  Slot& s = arena_.at(found->second->slot);
  s.fresh_until_ms.store(std::min(until_ms, found->second->stale_until_ms), std::memory_order_relaxed);
  s.flags.fetch_or(kSlotBackoff, std::memory_order_release);
  return true;
}

StoreStats ValueStore::stats(double now_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  drop_expired(now_ms);
  return StoreStats{lru_.size(), bytes_, evictions_, expirations_};
}

void ValueStore::remove(Lru::iterator it) {
  index_.erase(KeyView{it->hash, it->key});
  by_expiry_.erase(it->by_expiry);
  bytes_ -= it->bytes->size();
  arena_.give_back(it->slot);
  lru_.erase(it);
}

void ValueStore::drop_expired(double now_ms) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now_ms) {
    Entry* entry = by_expiry_.begin()->second;
    ++expirations_;
    remove(index_.find(KeyView{entry->hash, entry->key})->second);
  }
}

void ValueStore::drop_old_tombstones(double now_ms) {
  while (!tombstones_.empty() && now_ms - tombstones_.front().at_ms > max_fill_ms_) {
    auto found = tombstone_generation_.find(tombstones_.front().key);
    if (found != tombstone_generation_.end() && found->second == tombstones_.front().generation) {
      tombstone_generation_.erase(found);
    }
    tombstones_.pop_front();
  }
}

void ValueStore::evict_to_limits(const Entry* keep) {
  // Least recently used first, where "used" also counts the hits threads served from their own
  // copies (Slot::touched): an entry touched since it was put in place gets a second chance.
  // The entry just stored is never the one to go (it alone always fits).
  size_t chances = lru_.size();
  while (lru_.size() > 1 && (lru_.size() > limits_.max_entries || bytes_ > limits_.max_bytes)) {
    auto last = std::prev(lru_.end());
    const int32_t touched = arena_.at(last->slot).touched.load(std::memory_order_relaxed);
    if (&*last == keep || (chances > 0 && touched != last->listed_tick)) {
      if (&*last != keep) --chances;
      last->listed_tick = touched;
      lru_.splice(lru_.begin(), lru_, last);
      continue;
    }
    ++evictions_;
    remove(last);
  }
}

StoreRegistry& StoreRegistry::global() {
  // Never destroyed: threads may still open stores while the process exits.
  static std::aligned_storage_t<sizeof(StoreRegistry), alignof(StoreRegistry)> storage;
  static StoreRegistry* registry = ::new (&storage) StoreRegistry();
  return *registry;
}

std::shared_ptr<ValueStore> StoreRegistry::open_named(const std::string& name, const StoreLimits& limits,
                                                      StoreLimits& existing) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = named_.find(name);
  if (it != named_.end()) {
    if (auto store = it->second.lock()) {
      if (store->limits() == limits) return store;
      existing = store->limits();
      return nullptr;
    }
  }
  auto store = std::make_shared<ValueStore>(limits);
  named_[name] = store;
  if (named_.size() >= sweep_at_) {
    std::erase_if(named_, [](const auto& entry) { return entry.second.expired(); });
    sweep_at_ = std::max<size_t>(64, 2 * named_.size());
  }
  return store;
}

}  // namespace threadflight
