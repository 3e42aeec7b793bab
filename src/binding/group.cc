#include "group.h"

#include <cmath>
#include <limits>
#include <new>
#include <string>

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
  limits.max_subscribers = max_subscribers >= std::numeric_limits<int32_t>::max()
                               ? std::numeric_limits<int32_t>::max()
                               : static_cast<int32_t>(max_subscribers);
  const double duration_ns = max_duration_ms * kNsPerMs;
  limits.max_duration_ns = duration_ns >= 9.0e18 ? std::numeric_limits<int64_t>::max()
                                                  : static_cast<int64_t>(duration_ns);
  return limits;
}

std::string Describe(const Limits& limits) {
  const bool unlimited_subscribers = limits.max_subscribers == std::numeric_limits<int32_t>::max();
  const bool unlimited_duration = limits.max_duration_ns == std::numeric_limits<int64_t>::max();
  return "maxSubscribers " +
         (unlimited_subscribers ? std::string("Infinity") : std::to_string(limits.max_subscribers)) +
         ", maxDuration " +
         (unlimited_duration ? std::string("Infinity") : std::to_string(limits.max_duration_ns / 1'000'000)) +
         (unlimited_duration ? "" : " ms");
}

bool ReadNumber(const Napi::CallbackInfo& info, size_t index, const char* what, double& out) {
  if (info.Length() <= index || !info[index].IsNumber()) {
    Napi::TypeError::New(info.Env(), std::string(what) + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  out = info[index].As<Napi::Number>().DoubleValue();
  return true;
}

}  // namespace

template <Group::Method method>
Napi::Value Group::Call(const Napi::CallbackInfo& info) {
  return (static_cast<std::shared_ptr<Group>*>(info.Data())->get()->*method)(info);
}

namespace {
void DropGroupReference(napi_env /*env*/, void* data, void* /*hint*/) {
  std::unique_ptr<std::shared_ptr<Group>> owned(static_cast<std::shared_ptr<Group>*>(data));
}
}  // namespace

// Adds `name` to `handle`: a function whose callback data is its own reference to the group,
// dropped when the function is collected (so a function kept alone still works). Returns
// false, with a JS exception pending, if it could not.
template <Group::Method method>
bool Group::Bind(Napi::Env env, Napi::Object handle, const char* name, const std::shared_ptr<Group>& group) {
  auto reference = std::make_unique<std::shared_ptr<Group>>(group);
  Napi::Function function = Napi::Function::New<&Call<method>>(env, name, reference.get());
  if (env.IsExceptionPending()) return false;
  if (napi_add_finalizer(env, function, reference.get(), &DropGroupReference, nullptr, nullptr) != napi_ok) {
    Napi::Error::New(env, "could not bind the table's functions").ThrowAsJavaScriptException();
    return false;
  }
  reference.release();  // the finalizer owns it now
  handle.Set(name, function);
  return !env.IsExceptionPending();
}

Napi::Value Group::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double max_subscribers, max_duration_ms;
  if (!ReadNumber(info, 1, "maxSubscribers", max_subscribers) ||
      !ReadNumber(info, 2, "maxDuration", max_duration_ms)) {
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
    Napi::TypeError::New(env, "openGroup(name, ...) expects a name").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const Limits limits = LimitsFrom(max_subscribers, max_duration_ms);
  std::shared_ptr<Group> group;
  // Names, like keys, are compared as exact UTF-16 (UTF-8 would merge lone surrogates).
  KeyBytes name;
  if (!name.read(env, info[0])) return env.Undefined();
  try {
    Limits existing;
    std::shared_ptr<FlightTable> table = TableRegistry::global().open_named(std::string(name.bytes()), limits, existing);
    if (!table) {
      Napi::Error error = Napi::Error::New(
          env, "Singleflight name \"" + info[0].As<Napi::String>().Utf8Value() + "\" is already in use with " + Describe(existing) +
                   "; this instance asked for " + Describe(limits) +
                   ". Instances sharing a name must use the same options.");
      error.Set("code", Napi::String::New(env, "ERR_OPTIONS_MISMATCH"));
      error.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    group = std::make_shared<Group>(std::move(table), state->id);
  } catch (const std::exception& e) {
    Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object handle = Napi::Object::New(env);
  try {
    const bool bound = Bind<&Group::Join>(env, handle, "join", group) &&
                       Bind<&Group::Settle>(env, handle, "settle", group) &&
                       Bind<&Group::Leave>(env, handle, "leave", group) &&
                       Bind<&Group::Forget>(env, handle, "forget", group) &&
                       Bind<&Group::TableId>(env, handle, "tableId", group) &&
                       Bind<&Group::Has>(env, handle, "has", group) &&
                       Bind<&Group::Size>(env, handle, "size", group) &&
                       Bind<&Group::Clear>(env, handle, "clear", group) &&
                       Bind<&Group::Stats>(env, handle, "stats", group) &&
                       Bind<&Group::CountCloneFailure>(env, handle, "countCloneFailure", group);
    if (!bound) return env.Undefined();
  } catch (const std::bad_alloc&) {
    Napi::Error::New(env, "out of memory while opening a table").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return handle;
}

Napi::Value Group::Join(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeyBytes key;
  if (!key.read(env, info[0])) return env.Undefined();
  JoinResult result;
  try {
    result = table_->join(key.bytes(), monotonic_ns(), env_);
  } catch (const std::bad_alloc&) {
    Napi::Error::New(env, "out of memory while joining a flight").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (result.role == Role::kFollower) {
    Napi::Array follower = Napi::Array::New(env, 3);
    follower.Set(0u, Napi::Number::New(env, result.cell));
    follower.Set(1u, Napi::Number::New(env, static_cast<double>(result.id)));
    follower.Set(2u, Napi::Number::New(env, result.lane));
    return follower;
  }
  return Napi::Number::New(env, static_cast<double>(result.cell) * 4 + static_cast<double>(result.role));
}

Napi::Value Group::Settle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeyBytes key;
  double cell;
  if (!key.read(env, info[0]) || !ReadNumber(info, 1, "cell", cell)) return env.Undefined();

  const bool have_outcome = info.Length() > 2 && info[2].IsNumber();
  int32_t kind = 0;
  std::shared_ptr<const Bytes> payload;
  if (have_outcome) {
    kind = info[2].As<Napi::Number>().Int32Value();
    if (info.Length() > 3 && info[3].IsBuffer()) {
      auto buffer = info[3].As<Napi::Buffer<uint8_t>>();
      payload = std::make_shared<const Bytes>(buffer.Data(), buffer.Data() + buffer.Length());
    }
  }
  std::vector<Notice> notices;
  const SettleResult result =
      table_->settle(key.bytes(), static_cast<uint32_t>(cell), env_, have_outcome, notices);
  if (result == SettleResult::kNotify) Bridge::global().send_outcome(table_, notices, kind, std::move(payload));
  return Napi::Number::New(env, static_cast<double>(result));
}

Napi::Value Group::Leave(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeyBytes key;
  double cell, id;
  if (!key.read(env, info[0]) || !ReadNumber(info, 1, "cell", cell) || !ReadNumber(info, 2, "flightId", id)) {
    return env.Undefined();
  }
  Notice abandoned;
  const LeaveResult result =
      table_->leave(key.bytes(), static_cast<uint32_t>(cell), static_cast<uint64_t>(id), env_, abandoned);
  if (result == LeaveResult::kAbandoned) {
    std::vector<Handover> leaders{Handover{table_, std::move(abandoned)}};
    Bridge::global().send_to_leaders(leaders, MessageKind::kAbandon);
  }
  return Napi::Number::New(env, static_cast<double>(result));
}

Napi::Value Group::Forget(const Napi::CallbackInfo& info) {
  KeyBytes key;
  if (!key.read(info.Env(), info[0])) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), table_->forget(key.bytes()));
}

Napi::Value Group::TableId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(table_->id()));
}

Napi::Value Group::Has(const Napi::CallbackInfo& info) {
  KeyBytes key;
  if (!key.read(info.Env(), info[0])) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), table_->contains(key.bytes()));
}

Napi::Value Group::Size(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(table_->size()));
}

Napi::Value Group::Clear(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(table_->clear()));
}

Napi::Value Group::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[0].As<Napi::TypedArray>().ElementLength() < 4) {
    Napi::TypeError::New(env, "stats(out) expects a Float64Array of length 4").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const TableStats stats = table_->stats();
  Napi::Float64Array out = info[0].As<Napi::Float64Array>();
  out[0] = static_cast<double>(stats.in_flight);
  out[1] = static_cast<double>(stats.subscribers);
  out[2] = stats.in_flight == 0 ? -1.0
                                : static_cast<double>(monotonic_ns() - stats.oldest_started_ns) / kNsPerMs;
  out[3] = static_cast<double>(table_->clone_failures());
  return env.Undefined();
}

Napi::Value Group::CountCloneFailure(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(table_->count_clone_failure()));
}

}  // namespace threadflight
