#include "store_handle.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <string>

#include "bound_methods.h"
#include "clock.h"
#include "key.h"

namespace threadflight {
namespace {

double NowMs() { return static_cast<double>(monotonic_ns()) / 1e6; }

uint64_t CountLimit(double value) {
  return value >= 1.8e19 ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(value);
}

std::string Describe(const StoreLimits& limits) {
  auto limit = [](uint64_t value) {
    return value == std::numeric_limits<uint64_t>::max() ? std::string("Infinity") : std::to_string(value);
  };
  return "maxEntries " + limit(limits.max_entries) + ", maxBytes " + limit(limits.max_bytes) + ", maxDuration " +
         std::to_string(limits.max_fill_ns / 1'000'000) + " ms";
}

}  // namespace

template <StoreHandle::Method method>
bool StoreHandle::Bind(Napi::Env env, Napi::Object handle, const char* name, const std::shared_ptr<StoreHandle>& self) {
  return BindMethod<StoreHandle, method>(env, handle, name, self);
}

Napi::Value StoreHandle::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double max_entries, max_bytes, max_fill_ms;
  if (!ReadNumber(info, 1, "maxEntries", max_entries) || !ReadNumber(info, 2, "maxBytes", max_bytes) ||
      !ReadNumber(info, 3, "maxFillMs", max_fill_ms)) {
    return env.Undefined();
  }
  if (!(max_entries >= 1) || !(max_bytes >= 1) || !(max_fill_ms >= 1) || !std::isfinite(max_fill_ms)) {
    Napi::RangeError::New(env, "maxEntries and maxBytes must be >= 1, maxFillMs finite and >= 1")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  EnvState* state = GetEnvState(env);
  if (state == nullptr) {
    Napi::Error::New(env, "threadflight addon is not initialized in this thread").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!info[0].IsString()) {
    Napi::TypeError::New(env, "openStore(name, ...) expects a name").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  StoreLimits limits;
  limits.max_entries = CountLimit(max_entries);
  limits.max_bytes = CountLimit(max_bytes);
  limits.max_fill_ns = static_cast<int64_t>(max_fill_ms) * 1'000'000;
  KeyBytes name;  // compared as exact UTF-16, like keys
  if (!name.read(env, info[0])) return env.Undefined();
  Napi::Object handle = Napi::Object::New(env);
  try {
    StoreLimits existing;
    std::shared_ptr<ValueStore> store = StoreRegistry::global().open_named(std::string(name.bytes()), limits, existing);
    if (!store) {
      Napi::Error error =
          Napi::Error::New(env, "FlightCache name \"" + info[0].As<Napi::String>().Utf8Value() +
                                    "\" is already in use with " + Describe(existing) + "; this cache asked for " +
                                    Describe(limits) + ". Caches sharing a name must use the same limits.");
      error.Set("code", Napi::String::New(env, "ERR_OPTIONS_MISMATCH"));
      error.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::shared_ptr<CounterLane> lane = store->lanes().add();
    auto self = std::make_shared<StoreHandle>(std::move(store), lane, state);
    const bool bound = Bind<&StoreHandle::Get>(env, handle, "get", self) &&
                       Bind<&StoreHandle::Generation>(env, handle, "generation", self) &&
                       Bind<&StoreHandle::Store>(env, handle, "store", self) &&
                       Bind<&StoreHandle::Erase>(env, handle, "erase", self) &&
                       Bind<&StoreHandle::Clear>(env, handle, "clear", self) &&
                       Bind<&StoreHandle::BackOff>(env, handle, "backOff", self) &&
                       Bind<&StoreHandle::Stats>(env, handle, "stats", self);
    if (!bound) return env.Undefined();
    Napi::Value lane_buffer = LaneBuffer(env, std::move(lane));
    if (env.IsExceptionPending()) return env.Undefined();
    handle.Set("lane", lane_buffer);
  } catch (const std::bad_alloc&) {
    Napi::Error::New(env, "out of memory while opening a cache").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return handle;
}

Napi::Value StoreHandle::Get(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeyBytes key;
  if (!key.read(env, info[0])) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "get(key, into) expects a Buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto into = info[1].As<Napi::Buffer<char>>();
  EntryView entry;
  if (!store_->get(key.bytes(), NowMs(), entry)) return Napi::Number::New(env, kStoreMissing);
  const size_t size = entry.bytes->size();
  if (size > into.Length()) return Napi::Number::New(env, -static_cast<double>(size));
  // A copy into JavaScript's buffer: the entry may be replaced or evicted while it is decoded,
  // and a buffer JavaScript allocates (from its pool) costs less than one made here.
  std::memcpy(into.Data(), entry.bytes->data(), size);
  state_->store_result[kStoreSlot] = entry.slot;
  state_->store_result[kStoreVersion] = entry.version;
  return Napi::Number::New(env, static_cast<double>(size));
}

Napi::Value StoreHandle::Generation(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(store_->generation()));
}

Napi::Value StoreHandle::Store(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeyBytes key;
  double fresh_ms, grace_ms, since_generation, since_ms;
  if (!key.read(env, info[0])) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "store(key, bytes, ...) expects a Buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!ReadNumber(info, 2, "freshMs", fresh_ms) || !ReadNumber(info, 3, "graceMs", grace_ms) ||
      !ReadNumber(info, 4, "sinceGeneration", since_generation) || !ReadNumber(info, 5, "sinceMs", since_ms)) {
    return env.Undefined();
  }
  auto buffer = info[1].As<Napi::Buffer<char>>();
  try {
    auto bytes = std::make_shared<const std::string>(buffer.Data(), buffer.Length());
    EntryView entry;
    const StoreResult result = store_->store(key.bytes(), std::move(bytes), fresh_ms, grace_ms,
                                             static_cast<uint64_t>(since_generation), since_ms, NowMs(), entry);
    if (result == StoreResult::kStored) {
      state_->store_result[kStoreSlot] = entry.slot;
      state_->store_result[kStoreVersion] = entry.version;
    }
    return Napi::Number::New(env, static_cast<double>(result));
  } catch (const std::bad_alloc&) {
    Napi::Error::New(env, "out of memory while storing a cache entry").ThrowAsJavaScriptException();
    return env.Undefined();
  }
}

Napi::Value StoreHandle::Erase(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeyBytes key;
  if (!key.read(env, info[0])) return env.Undefined();
  try {
    return Napi::Boolean::New(env, store_->erase(key.bytes(), NowMs()));
  } catch (const std::bad_alloc&) {
    Napi::Error::New(env, "out of memory while deleting a cache entry").ThrowAsJavaScriptException();
    return env.Undefined();
  }
}

Napi::Value StoreHandle::Clear(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(store_->clear()));
}

Napi::Value StoreHandle::BackOff(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeyBytes key;
  double version, until_ms;
  if (!key.read(env, info[0]) || !ReadNumber(info, 1, "version", version) ||
      !ReadNumber(info, 2, "untilMs", until_ms)) {
    return env.Undefined();
  }
  return Napi::Boolean::New(env, store_->back_off(key.bytes(), static_cast<int32_t>(version), until_ms));
}

Napi::Value StoreHandle::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  constexpr size_t kLength = 4 + kCounterSlots;
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[0].As<Napi::TypedArray>().ElementLength() < kLength) {
    Napi::TypeError::New(env, "stats(out) expects a Float64Array of length " + std::to_string(kLength))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const StoreStats stats = store_->stats(NowMs());
  const auto counters = store_->lanes().sum();
  Napi::Float64Array out = info[0].As<Napi::Float64Array>();
  out[0] = static_cast<double>(stats.entries);
  out[1] = static_cast<double>(stats.bytes);
  out[2] = static_cast<double>(stats.evictions);
  out[3] = static_cast<double>(stats.expirations);
  for (size_t i = 0; i < kCounterSlots; ++i) out[4 + i] = counters[i];
  return env.Undefined();
}

Napi::Value SlotPage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "slotPage(index) expects a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Slot* data = SlotArena::global().page_data(info[0].As<Napi::Number>().Uint32Value());
  if (data == nullptr) {
    Napi::RangeError::New(env, "no such slot page").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::ArrayBuffer::New(env, data, SlotArena::page_bytes());
}

}  // namespace threadflight
