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

// What a thread's exit changed in one table: whom to tell.
struct EnvExit {
  std::shared_ptr<FlightTable> table;
  std::vector<Notice> handovers;  // waiters that now lead a flight the thread led
  std::vector<Notice> abandoned;  // leaders of flights whose last callers were the thread's
};

class TableRegistry {
 public:
  static TableRegistry& global();

  // The table named `name`, created with `limits` if no live one exists. If a live one has
  // other limits, returns null and sets `existing` to them.
  std::shared_ptr<FlightTable> open_named(const std::string& name, const Limits& limits, Limits& existing);

  // Tells every live table that `env` is gone; `exits` gets what changed, an entry per table.
  // Out of memory it still tries every table, then throws std::bad_alloc: whatever changed is
  // in `exits` (the tables leave a flight they cannot tell of as it was).
  void forget_env(EnvId env, std::vector<EnvExit>& exits);

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
