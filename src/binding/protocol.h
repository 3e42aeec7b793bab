// The contract between the binding and the JavaScript in lib/: every number both sides must
// agree on. It is exported once, at load, as `binding.protocol` (see ExportProtocol), so
// JavaScript reads these values instead of copying them; lib/protocol.ts checks the version.
#pragma once

#include <napi.h>

#include <cstdint>

namespace threadflight {

// Raised whenever a value below changes meaning, so a stale build is refused at load.
constexpr int32_t kProtocolVersion = 10;

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

// A flight as the hot calls pass it, in this thread's flight-slot array: join() leaves what it
// learned there; settle() and leave() read which flight (and lane) they are about from there.
// Numbers pass through memory both sides map, so that these calls read no arguments but a key
// or an outcome, and return nothing: reading a number argument or making a return value costs
// a Node-API call each.
enum FlightSlot : int32_t {
  kFlightCell = 0,       // the flight's cell
  kFlightLane = 1,       // this thread's lane cell (the flight cell for the leader who started it)
  kFlightId = 2,         // the flight's process-wide id
  kFlightStartedMs = 3,  // when the flight started, on the core's clock (ms)
  kFlightResult = 4,     // what the call answered: join() a Role, settle() a SettleResult
  kFlightSlots = 5,
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

// The `protocol` export: roles, settle and leave results, message kinds, flight slots,
// the cell and slot layouts, store results and cache counters, each under the name lib/protocol.ts reads. Frozen.
Napi::Object ExportProtocol(Napi::Env env);

}  // namespace threadflight
