// TableHandle: one named, process-wide FlightTable as one JS environment sees it.
#pragma once

#include <napi.h>

#include <memory>

#include "env_state.h"
#include "flight_table.h"

namespace threadflight {

// JS gets a plain object of functions bound to a TableHandle (see bound_methods.h).
class TableHandle {
 public:
  // openTable(name: string, maxSubscribers: number, maxDurationMs: number) -> the functions
  // below, and `id`, the table's process-wide id.
  // Throws an Error with code ERR_OPTIONS_MISMATCH if `name` is in use with other limits.
  static Napi::Value Open(const Napi::CallbackInfo& info);

  TableHandle(std::shared_ptr<FlightTable> table, std::shared_ptr<CounterLane> lane, EnvState* state)
      : table_(std::move(table)), lane_(std::move(lane)), state_(state) {}
  // The counts of this handle's lane stay in the table's totals; the lane goes.
  ~TableHandle() { table_->lanes().retire(lane_); }
  TableHandle(const TableHandle&) = delete;
  TableHandle& operator=(const TableHandle&) = delete;

  uint64_t table_id() const { return table_->id(); }

 private:
  // join(key) -> Role; the flight's cell, this thread's lane, the flight id and start time are
  // left in the environment's join-result array.
  Napi::Value Join(const Napi::CallbackInfo& info);
  // settle(cell, flightId[, kind, payload]) -> SettleResult. Without kind: "is anyone else
  // waiting?" The flight is named by its cell and id, as join() left them: no key.
  Napi::Value Settle(const Napi::CallbackInfo& info);
  // leave(cell, flightId, lane): this thread's participant stops waiting; tells the leader to
  // stop if nobody is left.
  Napi::Value Leave(const Napi::CallbackInfo& info);
  // forget(key) -> whether a joinable flight was made unjoinable.
  Napi::Value Forget(const Napi::CallbackInfo& info);
  Napi::Value Has(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);
  // clear(): every flight unjoinable.
  Napi::Value Clear(const Napi::CallbackInfo& info);
  // stats(out: Float64Array(4 + kLaneSlots)) fills [inFlight, subscribers, oldestAgeMs or -1,
  // cloneFailures, ...the lanes summed over every thread (counters, histograms, the setting)].
  Napi::Value Stats(const Napi::CallbackInfo& info);
  // flights(olderThanMs, limit) -> [[keyHash (hex), ageMs, threadId or -1, callers, joinable], …],
  // oldest first: flights not over that started at least olderThanMs ago.
  Napi::Value Flights(const Napi::CallbackInfo& info);
  // countCloneFailure() -> the number of clone failures before this one.
  Napi::Value CountCloneFailure(const Napi::CallbackInfo& info);
  // enableTimings(): every thread's instances of the name record the histograms from now on.
  Napi::Value EnableTimings(const Napi::CallbackInfo& info);

  using Method = Napi::Value (TableHandle::*)(const Napi::CallbackInfo&);
  template <Method method>
  static bool Bind(Napi::Env env, Napi::Object handle, const char* name, const std::shared_ptr<TableHandle>& self);

  std::shared_ptr<FlightTable> table_;
  std::shared_ptr<CounterLane> lane_;  // JavaScript may map it longer: its buffer holds a reference
  EnvState* state_;                    // outlives every handle of its environment (deleted with the environment)
};

}  // namespace threadflight
