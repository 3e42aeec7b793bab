// Module entry: per-environment state, the bridge's TSFN, and the exports.
#include <napi.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "bridge.h"
#include "cell_arena.h"
#include "clock.h"
#include "env_state.h"
#include "protocol.h"
#include "siphash.h"
#include "store_handle.h"
#include "table_handle.h"
#include "table_registry.h"

namespace threadflight {
namespace {

// Keeps this shared object mapped for the life of the process: the tables, their cells and
// the bridge are process-global, and Node would dlclose an addon that only worker threads
// loaded once the last of them exits.
// Returns false if it could not: the addon then works as long as the main thread keeps it
// loaded (Node unloads an addon only when the last environment that loaded it is gone).
bool PinSharedObject() {
  static std::once_flag once;
  static bool pinned = false;
  std::call_once(once, [] {
#ifdef _WIN32
    HMODULE self = nullptr;
    pinned = GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                                reinterpret_cast<LPCWSTR>(&PinSharedObject), &self) != 0;
#else
    Dl_info self;
    if (dladdr(reinterpret_cast<void*>(&PinSharedObject), &self) != 0 && self.dli_fname != nullptr) {
      pinned = dlopen(self.dli_fname, RTLD_NOW | RTLD_NODELETE) != nullptr;  // never closed
    }
#endif
  });
  return pinned;
}

// Environments' JavaScript threadIds, for reports naming threads (health checks).
struct ThreadIds {
  std::mutex mutex;
  std::unordered_map<EnvId, double> ids;  // guarded by mutex
};

ThreadIds& GlobalThreadIds() {
  // Constructed in place and never destroyed: environments are cleaned up as the process exits.
  static std::aligned_storage_t<sizeof(ThreadIds), alignof(ThreadIds)> storage;
  static ThreadIds* registry = ::new (&storage) ThreadIds();
  return *registry;
}

void DeleteEnvState(napi_env /*env*/, void* data, void* /*hint*/) {
  std::unique_ptr<EnvState> owned(static_cast<EnvState*>(data));
}

// The environment is going away: stop sending to it first, then let its flights go —
// those it led are handed to threads still waiting for them.
void OnEnvCleanup(void* arg) {
  auto* state = static_cast<EnvState*>(arg);
  if (napi_threadsafe_function tsfn = Bridge::global().detach(state->id)) {
    napi_release_threadsafe_function(tsfn, napi_tsfn_abort);
  }
  state->tsfn = nullptr;
  {
    ThreadIds& registry = GlobalThreadIds();
    std::lock_guard<std::mutex> lock(registry.mutex);
    registry.ids.erase(state->id);
  }
  // An exception must not leave a cleanup hook (that would end the process). Out of memory,
  // what forget_env changed is in its vectors and is sent if it can be; a waiter not told
  // that it leads now, and the flights not reached, are released by their maxDuration.
  std::vector<EnvExit> exits;
  try {
    TableRegistry::global().forget_env(state->id, exits);
  } catch (const std::bad_alloc&) {
  }
  for (EnvExit& exit : exits) {
    try {
      Bridge::global().send_to_leaders(exit.table, exit.handovers, MessageKind::kLead);
    } catch (const std::bad_alloc&) {
    }
    try {
      Bridge::global().send_to_leaders(exit.table, exit.abandoned, MessageKind::kAbandon);
    } catch (const std::bad_alloc&) {
    }
  }
}

// A random token naming this process (the same in every thread, different in every process):
// a process recognises its own messages by it when they come back through Redis.
std::string ProcessToken() {
  static const std::string token = [] {
    char text[17];
    std::snprintf(text, sizeof(text), "%016llx",
                  static_cast<unsigned long long>(seeded_hash("threadflight.process-token")));
    return std::string(text);
  }();
  return token;
}

// setThreadId(threadId): this environment's worker_threads.threadId.
Napi::Value SetThreadId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnvState* state = GetEnvState(env);
  if (state == nullptr || info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "setThreadId(threadId) expects a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ThreadIds& registry = GlobalThreadIds();
  std::lock_guard<std::mutex> lock(registry.mutex);
  registry.ids[state->id] = info[0].As<Napi::Number>().DoubleValue();
  return env.Undefined();
}

// now() -> the core clock in milliseconds (the clock flight start times are stamped with).
Napi::Value Now(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(monotonic_ns()) / 1e6);
}

// cellPage(index) -> an ArrayBuffer over page `index` of the cell arena. The memory is
// never freed, so the buffer needs no finalizer. JS maps each page once per thread.
Napi::Value CellPage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "cellPage(index) expects a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Cell* data = CellArena::global().page_data(info[0].As<Napi::Number>().Uint32Value());
  if (data == nullptr) {
    Napi::RangeError::New(env, "no such cell page").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::ArrayBuffer::New(env, data, CellArena::page_bytes());
}

// attachBridge(handler): this environment receives the messages other threads send it through
// `handler(kind, lane, flightId, payload)` (see DeliverMessage). Once per environment: a
// JavaScript copy loaded again over the same binding (a module registry, say) shares the
// first copy's handler, which lib/bridge.ts keeps on the binding object.
Napi::Value AttachBridge(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnvState* state = GetEnvState(env);
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "attachBridge(handler) expects a function").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (state->tsfn != nullptr) {
    Napi::Error::New(env, "the bridge is already attached in this thread").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  napi_value name;
  napi_threadsafe_function tsfn;
  if (napi_create_string_utf8(env, "threadflight.bridge", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, info[0], nullptr, name, /*max_queue_size=*/0,
                                      /*initial_thread_count=*/1, nullptr, nullptr, nullptr, &DeliverMessage,
                                      &tsfn) != napi_ok) {
    Napi::Error::New(env, "could not create the bridge").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Referenced only while this thread waits; and the cleanup hook is added after the TSFN's
  // own, so it runs first (hooks run in reverse order).
  if (napi_unref_threadsafe_function(env, tsfn) != napi_ok ||
      napi_add_env_cleanup_hook(env, &OnEnvCleanup, state) != napi_ok) {
    napi_release_threadsafe_function(tsfn, napi_tsfn_abort);
    Napi::Error::New(env, "could not attach the bridge").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  state->tsfn = tsfn;
  Bridge::global().attach(state->id, tsfn);
  return env.Undefined();
}

// refBridge(on): keeps this thread's event loop alive while it waits for other threads.
Napi::Value RefBridge(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnvState* state = GetEnvState(env);
  const bool on = info.Length() > 0 && info[0].ToBoolean().Value();
  if (state->tsfn != nullptr && state->tsfn_refed != on) {
    const napi_status status =
        on ? napi_ref_threadsafe_function(env, state->tsfn) : napi_unref_threadsafe_function(env, state->tsfn);
    if (status == napi_ok) state->tsfn_refed = on;
  }
  return env.Undefined();
}

// flightSlots: an ArrayBuffer over this environment's flight slots. The EnvState is deleted
// only with the environment, after its JavaScript is gone.
Napi::Value FlightSlotsBuffer(Napi::Env env, EnvState& state) {
  return Napi::ArrayBuffer::New(env, state.flight_slots.data(), sizeof(state.flight_slots));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const bool pinned = PinSharedObject();
  static std::atomic<EnvId> next_env{1};
  auto owned = std::make_unique<EnvState>();
  owned->id = next_env.fetch_add(1);
  if (napi_set_instance_data(env, owned.get(), &DeleteEnvState, nullptr) != napi_ok) {
    Napi::Error::New(env, "threadflight: could not keep per-thread state").ThrowAsJavaScriptException();
    return exports;
  }
  EnvState& state = *owned.release();  // owned by the environment now

  exports.Set("protocol", ExportProtocol(env));
  exports.Set("openTable", Napi::Function::New<TableHandle::Open>(env, "openTable"));
  exports.Set("now", Napi::Function::New<Now>(env, "now"));
  exports.Set("cellPage", Napi::Function::New<CellPage>(env, "cellPage"));
  exports.Set("flightSlots", FlightSlotsBuffer(env, state));
  exports.Set("openStore", Napi::Function::New<StoreHandle::Open>(env, "openStore"));
  exports.Set("slotPage", Napi::Function::New<SlotPage>(env, "slotPage"));
  exports.Set("storeResult", Napi::ArrayBuffer::New(env, state.store_result.data(), sizeof(state.store_result)));
  exports.Set("attachBridge", Napi::Function::New<AttachBridge>(env, "attachBridge"));
  exports.Set("refBridge", Napi::Function::New<RefBridge>(env, "refBridge"));
  exports.Set("pinned", Napi::Boolean::New(env, pinned));
  exports.Set("processToken", Napi::String::New(env, ProcessToken()));
  exports.Set("setThreadId", Napi::Function::New<SetThreadId>(env, "setThreadId"));
  return exports;
}

}  // namespace

double ThreadIdOf(EnvId id) {
  ThreadIds& registry = GlobalThreadIds();
  std::lock_guard<std::mutex> lock(registry.mutex);
  auto found = registry.ids.find(id);
  return found == registry.ids.end() ? -1 : found->second;
}

EnvState* GetEnvState(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok) return nullptr;
  return static_cast<EnvState*>(data);
}

}  // namespace threadflight

static Napi::Object InitThreadflight(Napi::Env env, Napi::Object exports) { return threadflight::Init(env, exports); }

NODE_API_MODULE(threadflight, InitThreadflight)
