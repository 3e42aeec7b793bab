// JS gets a handle as a plain object of functions bound to a C++ object through their
// callback data, not an ObjectWrap: a call then skips the unwrap, about half the cost of an
// empty call. Each function holds its own reference to the object, dropped when the function
// is collected (so a function kept alone still works).
#pragma once

#include <napi.h>

#include <memory>

#include <string>
#include "counter_lanes.h"

namespace threadflight {

template <typename Handle>
using BoundMethod = Napi::Value (Handle::*)(const Napi::CallbackInfo&);

template <typename Handle, BoundMethod<Handle> method>
Napi::Value CallBound(const Napi::CallbackInfo& info) {
  return (static_cast<std::shared_ptr<Handle>*>(info.Data())->get()->*method)(info);
}

template <typename Handle>
void DropBoundReference(napi_env /*env*/, void* data, void* /*hint*/) {
  std::unique_ptr<std::shared_ptr<Handle>> owned(static_cast<std::shared_ptr<Handle>*>(data));
}

// Adds `name` to `target`: `method` bound to `self`. Returns false, with a JS exception
// pending, if it could not.
template <typename Handle, BoundMethod<Handle> method>
bool BindMethod(Napi::Env env, Napi::Object target, const char* name, const std::shared_ptr<Handle>& self) {
  auto reference = std::make_unique<std::shared_ptr<Handle>>(self);
  Napi::Function function = Napi::Function::New<&CallBound<Handle, method>>(env, name, reference.get());
  if (env.IsExceptionPending()) return false;
  if (napi_add_finalizer(env, function, reference.get(), &DropBoundReference<Handle>, nullptr, nullptr) != napi_ok) {
    Napi::Error::New(env, "could not bind a handle's functions").ThrowAsJavaScriptException();
    return false;
  }
  reference.release();  // the finalizer owns it now
  target.Set(name, function);
  return !env.IsExceptionPending();
}

// An ArrayBuffer over `lane` that keeps it alive as long as JavaScript can reach it.
inline Napi::Value LaneBuffer(Napi::Env env, std::shared_ptr<CounterLane> lane) {
  auto owner = std::make_unique<std::shared_ptr<CounterLane>>(std::move(lane));
  napi_value buffer;
  const napi_finalize drop = [](napi_env, void*, void* hint) {
    std::unique_ptr<std::shared_ptr<CounterLane>> owned(static_cast<std::shared_ptr<CounterLane>*>(hint));
  };
  if (napi_create_external_arraybuffer(env, (*owner)->values.data(), sizeof(CounterLane::values), drop, owner.get(),
                                       &buffer) != napi_ok) {
    Napi::Error::New(env, "could not map a lane of counters").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  owner.release();  // the finalizer owns it now
  return Napi::Value(env, buffer);
}

// Reads argument `index` as a number; false, with a TypeError pending, if it is not one.
// One Node-API call: napi_get_value_double checks the type itself.
inline bool ReadNumber(const Napi::CallbackInfo& info, size_t index, const char* what, double& out) {
  if (info.Length() > index && napi_get_value_double(info.Env(), info[index], &out) == napi_ok) return true;
  Napi::TypeError::New(info.Env(), std::string(what) + " must be a number").ThrowAsJavaScriptException();
  return false;
}

}  // namespace threadflight
