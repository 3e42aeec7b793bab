// Module entry: per-environment state, the bridge's TSFN, and the exports.
#include <dlfcn.h>
#include <napi.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "bridge.h"
#include "cell_arena.h"
#include "clock.h"
#include "env_state.h"
#include "group.h"
#include "table_registry.h"

namespace threadflight {
namespace {

// Keeps this shared object mapped for the life of the process: the tables, their cells and
// the bridge are process-global, and Node would dlclose an addon that only worker threads
// loaded once the last of them exits.
void PinSharedObject() {
  static std::once_flag once;
  std::call_once(once, [] {
    Dl_info self;
    if (dladdr(reinterpret_cast<void*>(&PinSharedObject), &self) != 0 && self.dli_fname != nullptr) {
      dlopen(self.dli_fname, RTLD_NOW | RTLD_NODELETE);  // handle deliberately never closed
    }
  });
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
  std::vector<Handover> handovers, abandoned;
  TableRegistry::global().forget_env(state->id, handovers, abandoned);
  Bridge::global().send_to_leaders(handovers, MessageKind::kLead);
  Bridge::global().send_to_leaders(abandoned, MessageKind::kAbandon);
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

// attachBridge(handler) -> this thread's id. `handler(kind, flightId, payload)` receives the
// messages other threads send here; for a lead it returns whether it took it.
Napi::Value AttachBridge(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnvState* state = GetEnvState(env);
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "attachBridge(handler) expects a function").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Attaching again replaces the handler: a module loader (Jest, say) may load the JS side
  // anew in the same environment. Messages queued for the old handler are released unread.
  const bool first_attach = state->tsfn == nullptr;
  if (!first_attach && Bridge::global().detach(state->id) != nullptr) {
    napi_release_threadsafe_function(state->tsfn, napi_tsfn_abort);
  }
  state->tsfn = nullptr;
  state->tsfn_refed = false;
  napi_value name;
  napi_create_string_utf8(env, "threadflight.bridge", NAPI_AUTO_LENGTH, &name);
  napi_threadsafe_function tsfn;
  if (napi_create_threadsafe_function(env, info[0], nullptr, name, /*max_queue_size=*/0,
                                      /*initial_thread_count=*/1, nullptr, nullptr, nullptr,
                                      &DeliverMessage, &tsfn) != napi_ok) {
    Napi::Error::New(env, "could not create the bridge").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  napi_unref_threadsafe_function(env, tsfn);  // referenced only while this thread waits
  state->tsfn = tsfn;
  Bridge::global().attach(state->id, tsfn);
  // Added after the TSFN's own hook, so it runs first (hooks run in reverse order).
  if (first_attach) napi_add_env_cleanup_hook(env, &OnEnvCleanup, state);
  return Napi::Number::New(env, static_cast<double>(state->id));
}

// refBridge(on): keeps this thread's event loop alive while it waits for other threads.
Napi::Value RefBridge(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnvState* state = GetEnvState(env);
  const bool on = info.Length() > 0 && info[0].ToBoolean().Value();
  if (state->tsfn != nullptr && state->tsfn_refed != on) {
    if (on) {
      napi_ref_threadsafe_function(env, state->tsfn);
    } else {
      napi_unref_threadsafe_function(env, state->tsfn);
    }
    state->tsfn_refed = on;
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  PinSharedObject();
  static std::atomic<EnvId> next_env{1};
  auto state = std::make_unique<EnvState>();
  state->id = next_env.fetch_add(1);
  if (napi_set_instance_data(env, state.get(), &DeleteEnvState, nullptr) == napi_ok) state.release();

  exports.Set("openGroup", Napi::Function::New<Group::Open>(env, "openGroup"));
  exports.Set("now", Napi::Function::New<Now>(env, "now"));
  exports.Set("cellPage", Napi::Function::New<CellPage>(env, "cellPage"));
  exports.Set("cellsPerPage", Napi::Number::New(env, CellArena::kCellsPerPage));
  exports.Set("attachBridge", Napi::Function::New<AttachBridge>(env, "attachBridge"));
  exports.Set("refBridge", Napi::Function::New<RefBridge>(env, "refBridge"));
  return exports;
}

}  // namespace

EnvState* GetEnvState(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok) return nullptr;
  return static_cast<EnvState*>(data);
}

}  // namespace threadflight

static Napi::Object InitThreadflight(Napi::Env env, Napi::Object exports) {
  return threadflight::Init(env, exports);
}

NODE_API_MODULE(threadflight, InitThreadflight)
