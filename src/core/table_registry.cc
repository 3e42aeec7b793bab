#include "table_registry.h"

#include <algorithm>
#include <new>
#include <type_traits>

namespace threadflight {

TableRegistry& TableRegistry::global() {
  // Never destroyed: threads may still consult it while the process exits.
  static std::aligned_storage_t<sizeof(TableRegistry), alignof(TableRegistry)> storage;
  static TableRegistry* registry = ::new (&storage) TableRegistry();
  return *registry;
}

std::shared_ptr<FlightTable> TableRegistry::open_named(const std::string& name, const Limits& limits,
                                                       Limits& existing) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = named_.find(name);
  if (it != named_.end()) {
    if (auto table = it->second.lock()) {
      if (table->limits() == limits) return table;
      existing = table->limits();
      return nullptr;
    }
  }
  auto table = std::make_shared<FlightTable>(limits);
  named_[name] = table;
  if (named_.size() >= sweep_at_) drop_expired();
  return table;
}

void TableRegistry::drop_expired() {
  // A weak_ptr keeps its table's memory (made by make_shared) until it is dropped: names used
  // once and forgotten must not pile up. Amortized: the next sweep waits for the map to double.
  std::erase_if(named_, [](const auto& entry) { return entry.second.expired(); });
  sweep_at_ = std::max<size_t>(kFirstSweep, 2 * named_.size());
}

std::vector<std::shared_ptr<FlightTable>> TableRegistry::snapshot() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<FlightTable>> live;
  for (auto it = named_.begin(); it != named_.end();) {
    if (auto table = it->second.lock()) {
      live.push_back(std::move(table));
      ++it;
    } else {
      it = named_.erase(it);  // the name's last instance is gone: so is its entry
    }
  }
  return live;
}

void TableRegistry::forget_env(EnvId env, std::vector<EnvExit>& exits) {
  // Outside mutex_: tables take their shard locks. Room for every table's entry first (this
  // may throw: before any table changes).
  const std::vector<std::shared_ptr<FlightTable>> tables = snapshot();
  exits.reserve(exits.size() + tables.size());
  bool out_of_memory = false;
  for (const auto& table : tables) {
    EnvExit& exit = exits.emplace_back(EnvExit{table, {}, {}});
    try {
      table->forget_env(env, exit.handovers, exit.abandoned);
    } catch (const std::bad_alloc&) {
      out_of_memory = true;  // what it changed is in `exit`; the other tables are still tried
    }
  }
  if (out_of_memory) throw std::bad_alloc();
}

}  // namespace threadflight
