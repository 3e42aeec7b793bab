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

// C++ exceptions are off in node-addon-api (NAPI_DISABLE_CPP_EXCEPTIONS): one escaping a
// callback would end the process. Out of memory becomes a JavaScript Error instead.
template <typename Handle, BoundMethod<Handle> method>
Napi::Value CallBound(const Napi::CallbackInfo& info) {
  try {
    return (static_cast<std::shared_ptr<Handle>*>(info.Data())->get()->*method)(info);
  } catch (const std::bad_alloc&) {
    Napi::Error::New(info.Env(), "threadflight: out of memory").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
}

// A method on a hot path: it gets how many arguments were passed and the first `kArgs` of them
// (undefined where missing), and nothing else. Napi::CallbackInfo asks Node-API for six
// arguments, `this` and the data on every call, which costs as much as a short call's work.
template <typename Handle>
using RawMethod = napi_value (Handle::*)(napi_env, size_t argc, napi_value* argv);

template <typename Handle, size_t kArgs, RawMethod<Handle> method>
napi_value CallRaw(napi_env env, napi_callback_info info) {
  size_t argc = kArgs;
  napi_value argv[kArgs > 0 ? kArgs : 1];
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok) return nullptr;
  // Each raw method catches what it can recover from; this only keeps the process alive.
  try {
    return (static_cast<std::shared_ptr<Handle>*>(data)->get()->*method)(env, argc, argv);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

template <typename Handle>
void DropBoundReference(napi_env /*env*/, void* data, void* /*hint*/) {
  std::unique_ptr<std::shared_ptr<Handle>> owned(static_cast<std::shared_ptr<Handle>*>(data));
}

// Adds `name` to `target`: `callback`, with a reference to `self` as its data. Returns false,
// with a JS exception pending, if it could not.
template <typename Handle>
bool BindCallback(Napi::Env env, Napi::Object target, const char* name, napi_callback callback,
                  const std::shared_ptr<Handle>& self) {
  auto reference = std::make_unique<std::shared_ptr<Handle>>(self);
  napi_value function;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, reference.get(), &function) != napi_ok ||
      napi_add_finalizer(env, function, reference.get(), &DropBoundReference<Handle>, nullptr, nullptr) != napi_ok) {
    if (!env.IsExceptionPending())
      Napi::Error::New(env, "could not bind a handle's functions").ThrowAsJavaScriptException();
    return false;
  }
  reference.release();  // the finalizer owns it now
  target.Set(name, Napi::Value(env, function));
  return !env.IsExceptionPending();
}

// Adds `name` to `target`: `method` bound to `self`.
template <typename Handle, BoundMethod<Handle> method>
bool BindMethod(Napi::Env env, Napi::Object target, const char* name, const std::shared_ptr<Handle>& self) {
  const napi_callback callback = [](napi_env env, napi_callback_info info) -> napi_value {
    return CallBound<Handle, method>(Napi::CallbackInfo(env, info));
  };
  return BindCallback(env, target, name, callback, self);
}

// Adds `name` to `target`: the hot `method`, reading `kArgs` arguments, bound to `self`.
template <typename Handle, size_t kArgs, RawMethod<Handle> method>
bool BindRawMethod(Napi::Env env, Napi::Object target, const char* name, const std::shared_ptr<Handle>& self) {
  return BindCallback(env, target, name, &CallRaw<Handle, kArgs, method>, self);
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
