// Per-environment (per JS thread, per load of the addon) state of the binding.
#pragma once

#include <node_api.h>

#include "flight_table.h"

namespace threadflight {

struct EnvState {
  EnvId id = 0;
  napi_threadsafe_function tsfn = nullptr;  // receives messages from other threads
  bool tsfn_refed = false;
};

// The state of `env`, created when the addon is loaded there.
EnvState* GetEnvState(napi_env env);

}  // namespace threadflight
