// Every live FlightTable of the process, by name: a table is shared by all instances (in any
// thread) that use its name. The registry finds a table by name and tells all tables when a
// thread is gone.
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

  // Tells every live table that `env` is gone; collects the flights handed to other threads
  // and the leaders to tell that nobody waits for their flight any more.
  void forget_env(EnvId env, std::vector<Handover>& handovers, std::vector<Handover>& abandoned);

 private:
  std::vector<std::shared_ptr<FlightTable>> snapshot();
  // Erases the names whose table is gone. Called with mutex_ held.
  void drop_expired();

  static constexpr size_t kFirstSweep = 64;

  std::mutex mutex_;
  std::unordered_map<std::string, std::weak_ptr<FlightTable>> named_;
  size_t sweep_at_ = kFirstSweep;
};

}  // namespace threadflight
