// StoreHandle: one named, process-wide ValueStore (a FlightCache's entries) as one JS
// environment sees it.
#pragma once

#include <napi.h>

#include <memory>

#include "env_state.h"
#include "value_store.h"

namespace threadflight {

class StoreHandle {
 public:
  // openStore(name, maxEntries, maxBytes, maxFillMs) -> the functions below, and `lane`, an
  // ArrayBuffer over this thread's counters (see CacheCounter). Infinity: no limit.
  // Throws an Error with code ERR_OPTIONS_MISMATCH if `name` is in use with other limits.
  static Napi::Value Open(const Napi::CallbackInfo& info);

  StoreHandle(std::shared_ptr<ValueStore> store, std::shared_ptr<CounterLane> lane, EnvState* state)
      : store_(std::move(store)), lane_(std::move(lane)), state_(state) {}
  // The counts of this handle's lane stay in the store's totals; the lane goes.
  ~StoreHandle() { store_->lanes().retire(lane_); }
  StoreHandle(const StoreHandle&) = delete;
  StoreHandle& operator=(const StoreHandle&) = delete;

 private:
  // get(key, into: Buffer) -> the entry's size after copying its bytes into `into`, with its
  // slot and version left in the environment's store-result array; -size if `into` is too
  // small (nothing copied); kStoreMissing (-0.5) if the key has no entry.
  Napi::Value Get(const Napi::CallbackInfo& info);
  // generation() -> where a fill starts (see ValueStore::generation).
  Napi::Value Generation(const Napi::CallbackInfo& info);
  // store(key, bytes, freshMs, graceMs, sinceGeneration, sinceMs) -> StoreResult; when stored,
  // the slot and version are left in the store-result array.
  Napi::Value Store(const Napi::CallbackInfo& info);
  // erase(key) -> whether the key had an entry.
  Napi::Value Erase(const Napi::CallbackInfo& info);
  // clear() -> how many entries there were.
  Napi::Value Clear(const Napi::CallbackInfo& info);
  // backOff(key, version, untilMs) -> whether entry `version` is still the key's.
  Napi::Value BackOff(const Napi::CallbackInfo& info);
  // stats(out: Float64Array(4 + counters)) fills [entries, bytes, evictions, expirations,
  // ...the counters summed over every thread].
  Napi::Value Stats(const Napi::CallbackInfo& info);

  using Method = Napi::Value (StoreHandle::*)(const Napi::CallbackInfo&);
  template <Method method>
  static bool Bind(Napi::Env env, Napi::Object handle, const char* name, const std::shared_ptr<StoreHandle>& self);

  std::shared_ptr<ValueStore> store_;
  std::shared_ptr<CounterLane> lane_;  // JavaScript may map it longer: its buffer holds a reference
  EnvState* state_;                    // outlives every handle of its environment
};

// slotPage(index) -> an ArrayBuffer over page `index` of the slot arena (never freed).
Napi::Value SlotPage(const Napi::CallbackInfo& info);

}  // namespace threadflight
