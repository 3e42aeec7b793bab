// Every live FlightTable of the process: named tables are shared by all instances (in any
// thread) that use the name; unnamed ones belong to one instance. The registry finds a
// table by name and tells all tables when a thread is gone.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "flight_table.h"

namespace threadflight {

struct Handover {
  std::shared_ptr<FlightTable> table;
  Notice notice;
};

class TableRegistry {
 public:
  static TableRegistry& global();

  // The table named `name`, created with `limits` if no live one exists. If a live one has
  // other limits, returns null and sets `existing` to them.
  std::shared_ptr<FlightTable> open_named(const std::string& name, const Limits& limits, Limits& existing);

  // A new table that no other instance shares.
  std::shared_ptr<FlightTable> create_unnamed(const Limits& limits);

  // Tells every live table that `env` is gone; collects the flights handed to other threads
  // and the leaders to tell that nobody waits for their flight any more.
  void forget_env(EnvId env, std::vector<Handover>& handovers, std::vector<Handover>& abandoned);

  size_t live_tables();

 private:
  std::shared_ptr<FlightTable> track(std::shared_ptr<FlightTable> table);
  std::vector<std::shared_ptr<FlightTable>> snapshot();

  std::mutex mutex_;
  std::unordered_map<std::string, std::weak_ptr<FlightTable>> named_;
  std::vector<std::weak_ptr<FlightTable>> all_;
};

}  // namespace threadflight
