// The baseline for the cross-thread benchmark: the cheapest way one thread can wake another
// through Node-API, a bare ThreadSafeFunction call that carries nothing. threadflight's wake
// of a waiting thread is this plus its own work (the table, the value's bytes, the promise).
// Built only for benchmarks (cmake-js with -DTHREADFLIGHT_PING=ON).
#include <napi.h>

#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace {

// Listening threads by id. A sender calls a TSFN only under the mutex, and a thread's
// cleanup hook removes its entry under the same mutex, so no call reaches a thread that is gone.
struct Listeners {
  std::mutex mutex;
  std::unordered_map<uint32_t, Napi::ThreadSafeFunction> by_id;
  uint32_t next_id = 1;
};

// A function-local static: bench/threads.js loads this addon in its main thread too, so the
// shared object (and this table) stays mapped while workers come and go.
Listeners& listeners() {
  static Listeners all;
  return all;
}

void Forget(uint32_t id) {
  std::lock_guard<std::mutex> lock(listeners().mutex);
  auto found = listeners().by_id.find(id);
  if (found != listeners().by_id.end()) {
    found->second.Abort();
    listeners().by_id.erase(found);
  }
}

// listen(callback) -> id. `callback()` runs on this thread each time a ping arrives.
Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "listen(callback) expects a function").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto tsfn = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "threadflight.ping", 0, 1);
  // Left referenced: a listening thread stays alive to be pinged (the benchmark terminates it).
  uint32_t id;
  {
    std::lock_guard<std::mutex> lock(listeners().mutex);
    id = listeners().next_id++;
    listeners().by_id.emplace(id, tsfn);
  }
  env.AddCleanupHook([id] { Forget(id); });
  return Napi::Number::New(env, id);
}

// send(ids) -> how many listeners were pinged.
Napi::Value Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    Napi::TypeError::New(env, "send(ids) expects an array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array ids = info[0].As<Napi::Array>();
  uint32_t sent = 0;
  std::lock_guard<std::mutex> lock(listeners().mutex);
  for (uint32_t i = 0; i < ids.Length(); i++) {
    auto found = listeners().by_id.find(ids.Get(i).As<Napi::Number>().Uint32Value());
    if (found != listeners().by_id.end() && found->second.NonBlockingCall() == napi_ok) sent++;
  }
  return Napi::Number::New(env, sent);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("listen", Napi::Function::New<Listen>(env, "listen"));
  exports.Set("send", Napi::Function::New<Send>(env, "send"));
  return exports;
}

}  // namespace

NODE_API_MODULE(threadflight_ping, Init)
