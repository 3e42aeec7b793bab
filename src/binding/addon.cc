// Module entry: exports the Group class and the shared cell pages.
#include <dlfcn.h>
#include <napi.h>

#include <mutex>

#include "cell_arena.h"
#include "clock.h"
#include "group.h"

namespace threadflight {
namespace {

// Keeps this shared object mapped for the life of the process: the table, its cells and
// (later) its threads are process-global, and Node would dlclose an addon that only worker
// threads loaded once the last of them exits.
void PinSharedObject() {
  static std::once_flag once;
  std::call_once(once, [] {
    Dl_info self;
    if (dladdr(reinterpret_cast<void*>(&PinSharedObject), &self) != 0 && self.dli_fname != nullptr) {
      dlopen(self.dli_fname, RTLD_NOW | RTLD_NODELETE);  // handle deliberately never closed
    }
  });
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
  const uint32_t index = info[0].As<Napi::Number>().Uint32Value();
  Cell* data = CellArena::global().page_data(index);
  if (data == nullptr) {
    Napi::RangeError::New(env, "no such cell page").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::ArrayBuffer::New(env, data, CellArena::page_bytes());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  PinSharedObject();
  exports.Set("Group", Group::Define(env));
  exports.Set("now", Napi::Function::New<Now>(env, "now"));
  exports.Set("cellPage", Napi::Function::New<CellPage>(env, "cellPage"));
  exports.Set("cellsPerPage", Napi::Number::New(env, CellArena::kCellsPerPage));
  return exports;
}

}  // namespace
}  // namespace threadflight

static Napi::Object InitThreadflight(Napi::Env env, Napi::Object exports) {
  return threadflight::Init(env, exports);
}

NODE_API_MODULE(threadflight, InitThreadflight)
