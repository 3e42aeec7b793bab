// Per-environment (per JS thread, per load of the addon) state of the binding.
#pragma once

#include <node_api.h>

#include <array>

#include "flight_table.h"
#include "protocol.h"

namespace threadflight {

struct EnvState {
  EnvId id = 0;
  napi_threadsafe_function tsfn = nullptr;  // receives messages from other threads
  bool tsfn_refed = false;
  // The flight of the last join(), or of the next settle() or leave() (see FlightSlot);
  // JavaScript reads and writes it through a Float64Array over this memory.
  std::array<double, kFlightSlots> flight_slots{};
  // What the last store get() or store() learned (see StoreSlot), read the same way.
  std::array<double, kStoreSlots> store_result{};
};

// The state of `env`, created when the addon is loaded there.
EnvState* GetEnvState(napi_env env);

// The JavaScript threadId of environment `id` (as it told the binding), or -1 if unknown.
double ThreadIdOf(EnvId id);

}  // namespace threadflight
