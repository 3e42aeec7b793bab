// Group: the JS-visible handle of one coalescing table (one per Singleflight instance).
#pragma once

#include <napi.h>

#include <memory>

#include "flight_table.h"

namespace threadflight {

class Group : public Napi::ObjectWrap<Group> {
 public:
  static Napi::Function Define(Napi::Env env);

  // new Group(maxSubscribers: number, maxDurationMs: number)
  explicit Group(const Napi::CallbackInfo& info);

 private:
  // join(key) -> cell * 4 + role (see Role); the caller leads when role is 0.
  Napi::Value Join(const Napi::CallbackInfo& info);
  // settle(key, cell) -> SettleResult code; releases the leader's cell.
  Napi::Value Settle(const Napi::CallbackInfo& info);
  // detach(key, cell) -> whether the entry was that flight and is gone now.
  Napi::Value Detach(const Napi::CallbackInfo& info);
  Napi::Value Has(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);
  Napi::Value Clear(const Napi::CallbackInfo& info);
  // stats(out: Float64Array(3)) fills [inFlight, subscribers, oldestAgeMs or -1].
  Napi::Value Stats(const Napi::CallbackInfo& info);

  bool ReadCell(const Napi::CallbackInfo& info, size_t index, uint32_t& cell);

  std::shared_ptr<FlightTable> table_;
};

}  // namespace threadflight
