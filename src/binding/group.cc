#include "group.h"

#include <cmath>
#include <limits>
#include <new>

#include "clock.h"
#include "key.h"

namespace threadflight {
namespace {

constexpr double kNsPerMs = 1e6;

}  // namespace

Napi::Function Group::Define(Napi::Env env) {
  return DefineClass(env, "Group",
                     {InstanceMethod<&Group::Join>("join"),
                      InstanceMethod<&Group::Settle>("settle"),
                      InstanceMethod<&Group::Detach>("detach"),
                      InstanceMethod<&Group::Has>("has"),
                      InstanceMethod<&Group::Size>("size"),
                      InstanceMethod<&Group::Clear>("clear"),
                      InstanceMethod<&Group::Stats>("stats")});
}

Group::Group(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Group>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "Group(maxSubscribers, maxDurationMs) expects two numbers")
        .ThrowAsJavaScriptException();
    return;
  }
  const double max_subscribers = info[0].As<Napi::Number>().DoubleValue();
  const double max_duration_ms = info[1].As<Napi::Number>().DoubleValue();
  if (!(max_subscribers >= 1) || !(max_duration_ms > 0)) {
    Napi::RangeError::New(env, "maxSubscribers must be >= 1 and maxDuration > 0")
        .ThrowAsJavaScriptException();
    return;
  }
  Limits limits;
  limits.max_subscribers = max_subscribers >= std::numeric_limits<int32_t>::max()
                               ? std::numeric_limits<int32_t>::max()
                               : static_cast<int32_t>(max_subscribers);
  const double duration_ns = max_duration_ms * kNsPerMs;
  limits.max_duration_ns = duration_ns >= 9.0e18 ? std::numeric_limits<int64_t>::max()
                                                  : static_cast<int64_t>(duration_ns);
  try {
    table_ = std::make_shared<FlightTable>(limits);
  } catch (const std::exception& e) {
    Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
  }
}

bool Group::ReadCell(const Napi::CallbackInfo& info, size_t index, uint32_t& cell) {
  if (info.Length() <= index || !info[index].IsNumber()) {
    Napi::TypeError::New(info.Env(), "cell must be a number").ThrowAsJavaScriptException();
    return false;
  }
  cell = info[index].As<Napi::Number>().Uint32Value();
  return true;
}

Napi::Value Group::Join(const Napi::CallbackInfo& info) {
  KeyBytes key;
  if (!key.read(info.Env(), info[0])) return info.Env().Undefined();
  JoinResult result;
  try {
    result = table_->join(key.bytes(), monotonic_ns());
  } catch (const std::bad_alloc&) {
    Napi::Error::New(info.Env(), "out of memory while starting a flight").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  const double code = static_cast<double>(result.cell) * 4 + static_cast<double>(result.role);
  return Napi::Number::New(info.Env(), code);
}

Napi::Value Group::Settle(const Napi::CallbackInfo& info) {
  KeyBytes key;
  uint32_t cell;
  if (!key.read(info.Env(), info[0]) || !ReadCell(info, 1, cell)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), static_cast<double>(table_->settle(key.bytes(), cell)));
}

Napi::Value Group::Detach(const Napi::CallbackInfo& info) {
  KeyBytes key;
  uint32_t cell;
  if (!key.read(info.Env(), info[0]) || !ReadCell(info, 1, cell)) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), table_->detach(key.bytes(), cell));
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
      info[0].As<Napi::TypedArray>().ElementLength() < 3) {
    Napi::TypeError::New(env, "stats(out) expects a Float64Array of length 3").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const TableStats stats = table_->stats();
  Napi::Float64Array out = info[0].As<Napi::Float64Array>();
  out[0] = static_cast<double>(stats.in_flight);
  out[1] = static_cast<double>(stats.subscribers);
  out[2] = stats.in_flight == 0
               ? -1.0
               : static_cast<double>(monotonic_ns() - stats.oldest_started_ns) / kNsPerMs;
  return env.Undefined();
}

}  // namespace threadflight
