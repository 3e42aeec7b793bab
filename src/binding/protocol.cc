#include "protocol.h"

#include <cstddef>
#include <initializer_list>
#include <type_traits>
#include <utility>

#include "cell_arena.h"
#include "flight_table.h"
#include "slot_arena.h"
#include "value_store.h"

namespace threadflight {
namespace {

using Entry = std::pair<const char*, double>;

template <typename E>
constexpr double Of(E value) {
  return static_cast<double>(static_cast<int64_t>(value));
}

// Offsets of a cell's fields in units of `Unit`, as the typed arrays over a page index them.
template <typename Unit>
constexpr double FieldIndex(size_t byte_offset) {
  return static_cast<double>(byte_offset / sizeof(Unit));
}
static_assert(std::is_standard_layout_v<Cell>, "offsetof needs a standard-layout cell");
static_assert(offsetof(Cell, subscribers) % sizeof(int32_t) == 0 && offsetof(Cell, started_ms) % sizeof(double) == 0);
static_assert(std::is_standard_layout_v<Slot>, "offsetof needs a standard-layout slot");
static_assert(offsetof(Slot, fresh_until_ms) % sizeof(double) == 0 &&
              offsetof(Slot, stale_until_ms) % sizeof(double) == 0);

Napi::Object Frozen(Napi::Env env, std::initializer_list<Entry> entries) {
  Napi::Object object = Napi::Object::New(env);
  for (const auto& [name, value] : entries) object.Set(name, Napi::Number::New(env, value));
  // Frozen so that no copy of the JavaScript can change what the others read; if freezing
  // fails, the values are still right.
  static_cast<void>(napi_object_freeze(env, object));
  return object;
}

}  // namespace

Napi::Object ExportProtocol(Napi::Env env) {
  Napi::Object protocol = Napi::Object::New(env);
  protocol.Set("version", Napi::Number::New(env, kProtocolVersion));
  protocol.Set("role", Frozen(env, {{"leader", Of(Role::kLeader)},
                                    {"follower", Of(Role::kFollower)},
                                    {"rejected", Of(Role::kRejected)},
                                    {"exhausted", Of(Role::kExhausted)}}));
  protocol.Set("settle", Frozen(env, {{"done", Of(SettleResult::kDone)},
                                      {"notify", Of(SettleResult::kNotify)},
                                      {"needsPayload", Of(SettleResult::kNeedsPayload)},
                                      {"notLeader", Of(SettleResult::kNotLeader)}}));
  protocol.Set("leave", Frozen(env, {{"notWaiting", Of(LeaveResult::kNotWaiting)},
                                     {"left", Of(LeaveResult::kLeft)},
                                     {"abandoned", Of(LeaveResult::kAbandoned)}}));
  protocol.Set("message", Frozen(env, {{"value", Of(MessageKind::kValue)},
                                       {"error", Of(MessageKind::kError)},
                                       {"expired", Of(MessageKind::kExpired)},
                                       {"fallback", Of(MessageKind::kFallback)},
                                       {"lead", Of(MessageKind::kLead)},
                                       {"abandon", Of(MessageKind::kAbandon)},
                                       {"sharedFlag", kSharedFlag}}));
  protocol.Set("flightSlots", Frozen(env, {{"cell", kFlightCell},
                                           {"lane", kFlightLane},
                                           {"flightId", kFlightId},
                                           {"startedMs", kFlightStartedMs},
                                           {"result", kFlightResult},
                                           {"length", kFlightSlots}}));
  protocol.Set("unlimitedSubscribers", Napi::Number::New(env, kUnlimitedSubscribers));
  protocol.Set("cell", Frozen(env, {{"bytes", sizeof(Cell)},
                                    {"perPage", CellArena::kCellsPerPage},
                                    {"subscribers", FieldIndex<int32_t>(offsetof(Cell, subscribers))},
                                    {"lane", FieldIndex<int32_t>(offsetof(Cell, lane))},
                                    {"unjoinable", FieldIndex<int32_t>(offsetof(Cell, unjoinable))},
                                    {"waitingThreads", FieldIndex<int32_t>(offsetof(Cell, waiting_threads))},
                                    {"startedMs", FieldIndex<double>(offsetof(Cell, started_ms))}}));
  protocol.Set("slot", Frozen(env, {{"bytes", sizeof(Slot)},
                                    {"perPage", SlotArena::kSlotsPerPage},
                                    {"version", FieldIndex<int32_t>(offsetof(Slot, version))},
                                    {"touched", FieldIndex<int32_t>(offsetof(Slot, touched))},
                                    {"flags", FieldIndex<int32_t>(offsetof(Slot, flags))},
                                    {"freshUntilMs", FieldIndex<double>(offsetof(Slot, fresh_until_ms))},
                                    {"staleUntilMs", FieldIndex<double>(offsetof(Slot, stale_until_ms))},
                                    {"tickMs", kTickMs},
                                    {"backoff", kSlotBackoff}}));
  protocol.Set(
      "storeResult",
      Frozen(env,
             {{"slot", kStoreSlot}, {"version", kStoreVersion}, {"length", kStoreSlots}, {"missing", kStoreMissing}}));
  protocol.Set("store", Frozen(env, {{"stored", Of(StoreResult::kStored)},
                                     {"invalidated", Of(StoreResult::kInvalidated)},
                                     {"tooLarge", Of(StoreResult::kTooLarge)},
                                     {"full", Of(StoreResult::kFull)}}));
  protocol.Set("counter", Frozen(env, {{"hits", kCounterHits},
                                       {"staleHits", kCounterStaleHits},
                                       {"misses", kCounterMisses},
                                       {"factoryRuns", kCounterFactoryRuns},
                                       {"factoryErrors", kCounterFactoryErrors},
                                       {"tierHits", kCounterTierHits},
                                       {"length", kCounterSlots}}));
  protocol.Set("flightCounter", Frozen(env, {{"flightsStarted", kFlightsStarted},
                                             {"joinedSameThread", kJoinedSameThread},
                                             {"joinedOtherThread", kJoinedOtherThread},
                                             {"servedByOtherProcess", kServedByOtherProcess},
                                             {"workErrors", kWorkErrors},
                                             {"timeouts", kTimeouts},
                                             {"rejected", kRejected},
                                             {"aborted", kAborted},
                                             {"takeovers", kTakeovers},
                                             {"executionBuckets", kExecutionBuckets},
                                             {"executionSum", kExecutionSum},
                                             {"waitBuckets", kWaitBuckets},
                                             {"waitSum", kWaitSum},
                                             {"timingsOn", kTimingsOn},
                                             {"length", kFlightCounters},
                                             {"laneLength", kLaneSlots}}));
  Napi::Array bounds = Napi::Array::New(env, kHistogramBounds.size());
  for (uint32_t i = 0; i < kHistogramBounds.size(); ++i) bounds.Set(i, Napi::Number::New(env, kHistogramBounds[i]));
  static_cast<void>(napi_object_freeze(env, bounds));
  protocol.Set("histogramBounds", bounds);
  static_cast<void>(napi_object_freeze(env, protocol));
  return protocol;
}

}  // namespace threadflight
