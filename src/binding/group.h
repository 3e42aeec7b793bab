// Group: one named, process-wide coalescing table as one JS environment sees it.
#pragma once

#include <napi.h>

#include <memory>

#include "flight_table.h"

namespace threadflight {

// JS gets a plain object of functions bound to a Group (through their callback data), not an
// ObjectWrap: a call then skips the unwrap, which is about half the cost of an empty call.
class Group {
 public:
  // openGroup(name: string, maxSubscribers: number, maxDurationMs: number) -> the functions below.
  // Throws an Error with code ERR_OPTIONS_MISMATCH if `name` is in use with other limits.
  static Napi::Value Open(const Napi::CallbackInfo& info);

  Group(std::shared_ptr<FlightTable> table, EnvId env) : table_(std::move(table)), env_(env) {}

 private:
  // join(key) -> cell * 4 + role (leader, rejected, exhausted), or [cell, flightId, laneCell]
  // when the caller's thread follows a flight led elsewhere.
  Napi::Value Join(const Napi::CallbackInfo& info);
  // settle(key, cell[, kind, payload]) -> SettleResult. Without kind: "is anyone else waiting?"
  Napi::Value Settle(const Napi::CallbackInfo& info);
  // leave(key, cell, flightId) -> LeaveResult; tells the leader to stop if nobody is left.
  Napi::Value Leave(const Napi::CallbackInfo& info);
  // forget(key) -> whether a joinable flight was made unjoinable.
  Napi::Value Forget(const Napi::CallbackInfo& info);
  // tableId() -> the table's process-wide id (how messages to leaders find their group).
  Napi::Value TableId(const Napi::CallbackInfo& info);
  Napi::Value Has(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);
  Napi::Value Clear(const Napi::CallbackInfo& info);
  // stats(out: Float64Array(4)) fills [inFlight, subscribers, oldestAgeMs or -1, cloneFailures].
  Napi::Value Stats(const Napi::CallbackInfo& info);
  // countCloneFailure() -> the number of clone failures before this one.
  Napi::Value CountCloneFailure(const Napi::CallbackInfo& info);

  using Method = Napi::Value (Group::*)(const Napi::CallbackInfo&);
  template <Method method>
  static Napi::Value Call(const Napi::CallbackInfo& info);
  template <Method method>
  static bool Bind(Napi::Env env, Napi::Object handle, const char* name, const std::shared_ptr<Group>& group);

  std::shared_ptr<FlightTable> table_;
  EnvId env_ = 0;
};

}  // namespace threadflight
