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
  // The hot calls, one or two per flight (see RawMethod). Each names its flight through the
  // environment's flight slots (see FlightSlot), not through arguments.
  //
  // join(key): the Role, the flight's cell, this thread's lane, the flight id and start time
  // are left in the flight slots.
  napi_value Join(napi_env env, size_t argc, napi_value* argv);
  // settle([kind, payload]), for the flight whose cell and id are in the flight slots: the
  // SettleResult is left in the slots. Without kind: "is anyone else waiting?" The key is not
  // read again.
  napi_value Settle(napi_env env, size_t argc, napi_value* argv);
  // leave(): this thread's participant (the lane in the flight slots) stops waiting for the
  // flight in the slots; tells the leader to stop if nobody is left.
  napi_value Leave(napi_env env, size_t argc, napi_value* argv);
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

  // The flight the slots name: its cell and id (and this thread's lane), as JavaScript wrote them.
  uint32_t SlotCell() const;
  uint64_t SlotFlightId() const;
  uint32_t SlotLane() const;

  std::shared_ptr<FlightTable> table_;
  std::shared_ptr<CounterLane> lane_;  // JavaScript may map it longer: its buffer holds a reference
  EnvState* state_;                    // outlives every handle of its environment (deleted with the environment)
};

}  // namespace threadflight
