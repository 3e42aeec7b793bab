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

std::shared_ptr<FlightTable> TableRegistry::track(std::shared_ptr<FlightTable> table) {
  // Called with mutex_ held. Prune expired entries now and then so the list stays short.
  if (all_.size() >= 64 && (all_.size() & (all_.size() - 1)) == 0) {
    all_.erase(std::remove_if(all_.begin(), all_.end(), [](const auto& w) { return w.expired(); }),
               all_.end());
  }
  all_.push_back(table);
  return table;
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
  return track(std::move(table));
}

std::shared_ptr<FlightTable> TableRegistry::create_unnamed(const Limits& limits) {
  auto table = std::make_shared<FlightTable>(limits);
  std::lock_guard<std::mutex> lock(mutex_);
  return track(std::move(table));
}

std::vector<std::shared_ptr<FlightTable>> TableRegistry::snapshot() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<FlightTable>> live;
  for (const auto& weak : all_) {
    if (auto table = weak.lock()) live.push_back(std::move(table));
  }
  return live;
}

void TableRegistry::forget_env(EnvId env, std::vector<Handover>& handovers, std::vector<Handover>& abandoned) {
  std::vector<Notice> leads, stops;
  for (auto& table : snapshot()) {  // outside mutex_: tables take their shard locks
    leads.clear();
    stops.clear();
    table->forget_env(env, leads, stops);
    for (Notice& n : leads) handovers.push_back(Handover{table, std::move(n)});
    for (Notice& n : stops) abandoned.push_back(Handover{table, std::move(n)});
  }
}

size_t TableRegistry::live_tables() { return snapshot().size(); }

}  // namespace threadflight
