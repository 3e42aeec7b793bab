#include "table_handle.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <new>
#include <string>

#include "bound_methods.h"
#include "bridge.h"
#include "clock.h"
#include "env_state.h"
#include "key.h"
#include "table_registry.h"

namespace threadflight {
namespace {

constexpr double kNsPerMs = 1e6;

Limits LimitsFrom(double max_subscribers, double max_duration_ms) {
  Limits limits;
  limits.max_subscribers =
      max_subscribers >= kUnlimitedSubscribers ? kUnlimitedSubscribers : static_cast<int32_t>(max_subscribers);
  const double duration_ns = max_duration_ms * kNsPerMs;
  limits.max_duration_ns =
      duration_ns >= 9.0e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(duration_ns);
  return limits;
}

std::string Describe(const Limits& limits) {
  const bool unlimited_subscribers = limits.max_subscribers == kUnlimitedSubscribers;
  const bool unlimited_duration = limits.max_duration_ns == std::numeric_limits<int64_t>::max();
  return "maxSubscribers " +
         (unlimited_subscribers ? std::string("Infinity") : std::to_string(limits.max_subscribers)) + ", maxDuration " +
         (unlimited_duration ? std::string("Infinity") : std::to_string(limits.max_duration_ns / 1'000'000)) +
         (unlimited_duration ? "" : " ms");
}

// A cell as JavaScript passed it; one that cannot be a cell becomes one no table has.
uint32_t CellFrom(double cell) {
  return cell >= 0 && cell < 4294967295.0 ? static_cast<uint32_t>(cell) : std::numeric_limits<uint32_t>::max();
}

// A flight id as JavaScript passed it; one that cannot be an id becomes 0, which none has.
uint64_t FlightIdFrom(double id) { return id >= 1 && id < 9007199254740992.0 ? static_cast<uint64_t>(id) : 0; }

}  // namespace

template <TableHandle::Method method>
bool TableHandle::Bind(Napi::Env env, Napi::Object handle, const char* name, const std::shared_ptr<TableHandle>& self) {
  return BindMethod<TableHandle, method>(env, handle, name, self);
}

Napi::Value TableHandle::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double max_subscribers, max_duration_ms;
  if (!ReadNumber(info, 1, "maxSubscribers", max_subscribers) || !ReadNumber(info, 2, "maxDuration", max_duration_ms)) {
    return env.Undefined();
  }
  if (!(max_subscribers >= 1) || !(max_duration_ms > 0)) {
    Napi::RangeError::New(env, "maxSubscribers must be >= 1 and maxDuration > 0").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  EnvState* state = GetEnvState(env);
  if (state == nullptr) {
    Napi::Error::New(env, "threadflight addon is not initialized in this thread").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Only named instances have a native table; unnamed ones keep theirs in JavaScript.
  if (!info[0].IsString()) {
    Napi::TypeError::New(env, "openTable(name, ...) expects a name").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const Limits limits = LimitsFrom(max_subscribers, max_duration_ms);
  std::shared_ptr<TableHandle> self;
  // Names, like keys, are compared as exact UTF-16 (UTF-8 would merge lone surrogates).
  KeyBytes name;
  if (!name.read(env, info[0])) return env.Undefined();
  try {
    Limits existing;
    std::shared_ptr<FlightTable> table =
        TableRegistry::global().open_named(std::string(name.bytes()), limits, existing);
    if (!table) {
      Napi::Error error =
          Napi::Error::New(env, "Singleflight name \"" + info[0].As<Napi::String>().Utf8Value() +
                                    "\" is already in use with " + Describe(existing) + "; this instance asked for " +
                                    Describe(limits) + ". Instances sharing a name must use the same options.");
      error.Set("code", Napi::String::New(env, "ERR_OPTIONS_MISMATCH"));
      error.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::shared_ptr<CounterLane> lane = table->lanes().add();
    self = std::make_shared<TableHandle>(std::move(table), lane, state);
  } catch (const std::exception& e) {
    Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object handle = Napi::Object::New(env);
  try {
    const bool bound =
        BindRawMethod<TableHandle, 1, &TableHandle::Join>(env, handle, "join", self) &&
        BindRawMethod<TableHandle, 2, &TableHandle::Settle>(env, handle, "settle", self) &&
        BindRawMethod<TableHandle, 0, &TableHandle::Leave>(env, handle, "leave", self) &&
        Bind<&TableHandle::Forget>(env, handle, "forget", self) && Bind<&TableHandle::Has>(env, handle, "has", self) &&
        Bind<&TableHandle::Size>(env, handle, "size", self) && Bind<&TableHandle::Clear>(env, handle, "clear", self) &&
        Bind<&TableHandle::Stats>(env, handle, "stats", self) &&
        Bind<&TableHandle::CountCloneFailure>(env, handle, "countCloneFailure", self) &&
        Bind<&TableHandle::EnableTimings>(env, handle, "enableTimings", self) &&
        Bind<&TableHandle::Flights>(env, handle, "flights", self);
    if (!bound) return env.Undefined();
    // Fixed for the table's life; messages name their table by it.
    handle.Set("id", Napi::Number::New(env, static_cast<double>(self->table_id())));
    Napi::Value lane_buffer = LaneBuffer(env, self->lane_);
    if (env.IsExceptionPending()) return env.Undefined();
    handle.Set("lane", lane_buffer);
  } catch (const std::bad_alloc&) {
    Napi::Error::New(env, "out of memory while opening a table").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return handle;
}

uint32_t TableHandle::SlotCell() const { return CellFrom(state_->flight_slots[kFlightCell]); }
uint64_t TableHandle::SlotFlightId() const { return FlightIdFrom(state_->flight_slots[kFlightId]); }
uint32_t TableHandle::SlotLane() const { return CellFrom(state_->flight_slots[kFlightLane]); }

napi_value TableHandle::Join(napi_env env, size_t /*argc*/, napi_value* argv) {
  auto& out = state_->flight_slots;
  // Written first: should reading the key run out of memory, CallRaw returns and the caller is
  // refused, never answered from the slots of an earlier call.
  out[kFlightResult] = static_cast<double>(Role::kExhausted);
  KeyBytes key;
  if (!key.read(env, argv[0])) return nullptr;
  JoinResult result{Role::kExhausted};
  try {
    result = table_->join(key.bytes(), monotonic_ns(), state_->id);
  } catch (const std::bad_alloc&) {
    // No memory for another flight: the caller is refused as when no cell is left (the table
    // changes nothing before its allocations succeed).
  }
  out[kFlightCell] = result.cell;
  out[kFlightLane] = result.lane;
  out[kFlightId] = static_cast<double>(result.id);
  out[kFlightStartedMs] = static_cast<double>(result.started_ns) / kNsPerMs;
  out[kFlightResult] = static_cast<double>(result.role);
  return nullptr;
}

napi_value TableHandle::Settle(napi_env env, size_t argc, napi_value* argv) {
  int32_t kind = 0;
  const bool have_outcome = argc > 0 && napi_get_value_int32(env, argv[0], &kind) == napi_ok;
  std::shared_ptr<const Bytes> payload;
  if (have_outcome) {
    bool is_buffer = false;
    void* data = nullptr;
    size_t length = 0;
    if (napi_is_buffer(env, argv[1], &is_buffer) == napi_ok && is_buffer &&
        napi_get_buffer_info(env, argv[1], &data, &length) == napi_ok) {
      const auto* bytes = static_cast<const uint8_t*>(data);
      try {
        payload = std::make_shared<const Bytes>(bytes, bytes + length);
      } catch (const std::bad_alloc&) {
        payload.reset();  // waiters run their own work (a fallback), as for an uncloneable value
      }
    }
  }
  SettleResult result = SettleResult::kNotLeader;
  try {
    std::vector<Notice> notices;
    result = table_->settle(SlotCell(), SlotFlightId(), state_->id, have_outcome, notices);
    if (result == SettleResult::kNotify) Bridge::global().send_outcome(table_, notices, kind, std::move(payload));
  } catch (const std::bad_alloc&) {
    // Never into JavaScript (a settle runs in a promise callback, where it would become an
    // unhandled rejection): the leader's callers get the outcome; a waiter the table could not
    // tell is released by its maxDuration.
    if (result == SettleResult::kNotify) result = SettleResult::kDone;
  }
  state_->flight_slots[kFlightResult] = static_cast<double>(result);
  return nullptr;
}

napi_value TableHandle::Leave(napi_env /*env*/, size_t /*argc*/, napi_value* /*argv*/) {
  Notice abandoned;
  const Participant who{state_->id, SlotLane()};
  try {
    if (table_->leave(SlotCell(), SlotFlightId(), who, abandoned) == LeaveResult::kAbandoned) {
      std::vector<Notice> leaders{std::move(abandoned)};
      Bridge::global().send_to_leaders(table_, leaders, MessageKind::kAbandon);
    }
  } catch (const std::bad_alloc&) {
    // Never into JavaScript (see Settle): the leader, not told, runs its work to the end.
  }
  return nullptr;
}

Napi::Value TableHandle::Forget(const Napi::CallbackInfo& info) {
  KeyBytes key;
  if (!key.read(info.Env(), info[0])) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), table_->forget(key.bytes()));
}

Napi::Value TableHandle::Has(const Napi::CallbackInfo& info) {
  KeyBytes key;
  if (!key.read(info.Env(), info[0])) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), table_->contains(key.bytes(), monotonic_ns()));
}

Napi::Value TableHandle::Size(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(table_->size(monotonic_ns())));
}

Napi::Value TableHandle::Clear(const Napi::CallbackInfo& info) {
  table_->clear();
  return info.Env().Undefined();
}

Napi::Value TableHandle::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[0].As<Napi::TypedArray>().ElementLength() < 4 + kLaneSlots) {
    Napi::TypeError::New(env, "stats(out) expects a Float64Array of length " + std::to_string(4 + kLaneSlots))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t now = monotonic_ns();
  const TableStats stats = table_->stats(now);
  Napi::Float64Array out = info[0].As<Napi::Float64Array>();
  out[0] = static_cast<double>(stats.in_flight);
  out[1] = static_cast<double>(stats.subscribers);
  out[2] = stats.in_flight == 0 ? -1.0 : static_cast<double>(now - stats.oldest_started_ns) / kNsPerMs;
  out[3] = static_cast<double>(table_->clone_failures());
  const auto counters = table_->lanes().sum();
  for (uint32_t i = 0; i < kLaneSlots; ++i) out[4 + i] = counters[i];
  return env.Undefined();
}

Napi::Value TableHandle::EnableTimings(const Napi::CallbackInfo& info) {
  table_->lanes().set_setting(1);
  return info.Env().Undefined();
}

Napi::Value TableHandle::Flights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double older_than_ms, limit;
  if (!ReadNumber(info, 0, "olderThanMs", older_than_ms) || !ReadNumber(info, 1, "limit", limit)) {
    return env.Undefined();
  }
  const int64_t now = monotonic_ns();
  std::vector<FlightInfo> flights;
  try {
    flights = table_->flights_since(now - static_cast<int64_t>(older_than_ms * kNsPerMs),
                                    limit >= 1e9 ? static_cast<size_t>(1e9) : static_cast<size_t>(limit));
  } catch (const std::bad_alloc&) {
    Napi::Error::New(env, "out of memory while listing flights").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, flights.size());
  for (uint32_t i = 0; i < flights.size(); ++i) {
    const FlightInfo& flight = flights[i];
    char hash[17];
    std::snprintf(hash, sizeof(hash), "%016llx", static_cast<unsigned long long>(flight.hash));
    Napi::Array row = Napi::Array::New(env, 5);
    row.Set(0u, Napi::String::New(env, hash));
    row.Set(1u, Napi::Number::New(env, static_cast<double>(now - flight.started_ns) / kNsPerMs));
    row.Set(2u, Napi::Number::New(env, ThreadIdOf(flight.leader)));
    row.Set(3u, Napi::Number::New(env, flight.callers));
    row.Set(4u, Napi::Boolean::New(env, flight.joinable));
    out.Set(i, row);
  }
  return out;
}

Napi::Value TableHandle::CountCloneFailure(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(table_->count_clone_failure()));
}

}  // namespace threadflight
