// The contract between the binding and the JavaScript in lib/: every number both sides must
// agree on. It is exported once, at load, as `binding.protocol` (see ExportProtocol), so
// JavaScript reads these values instead of copying them; lib/protocol.ts checks the version.
#pragma once

#include <napi.h>

#include <cstdint>

namespace threadflight {

// Raised whenever a value below changes meaning, so a stale build is refused at load.
constexpr int32_t kProtocolVersion = 8;

// What a message tells the receiving thread about a flight it takes part in.
enum class MessageKind : int32_t {
  kValue = 0,     // payload: the serialized value
  kError = 1,     // payload: the serialized thrown value
  kExpired = 2,   // the flight ran past maxDuration
  kFallback = 3,  // the outcome could not be sent: run your own work
  kLead = 4,      // the leader's thread is gone: you lead this flight now
  kAbandon = 5,   // (to the leader) every caller left: stop the work
};

// Set on an outcome's kind when the value reached more than one caller (do()'s `shared`).
constexpr int32_t kSharedFlag = 8;

// Where join() leaves what it learned about the flight, in this thread's join-result array.
enum JoinSlot : int32_t {
  kJoinCell = 0,       // the flight's cell
  kJoinLane = 1,       // this thread's lane cell (the flight cell for the leader who started it)
  kJoinFlightId = 2,   // the flight's process-wide id
  kJoinStartedMs = 3,  // when the flight started, on the core's clock (ms)
  kJoinSlots = 4,
};

// Where a store's get() and store() leave the entry's slot and version, in this thread's
// store-result array.
enum StoreSlot : int32_t {
  kStoreSlot = 0,
  kStoreVersion = 1,
  kStoreSlots = 2,
};

// What a store's get() returns when the key has no entry (sizes are integers).
constexpr double kStoreMissing = -0.5;

// The `protocol` export: roles, settle and leave results, message kinds, join-result slots
// the cell and slot layouts, store results and cache counters, each under the name lib/protocol.ts reads. Frozen.
Napi::Object ExportProtocol(Napi::Env env);

}  // namespace threadflight
