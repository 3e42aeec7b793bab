// Reads a JS string key as its exact UTF-16 code units, so that keys differing only in
// lone surrogates or normalization never collapse into one (UTF-8 conversion would).
#pragma once

#include <napi.h>

#include <array>
#include <string_view>
#include <vector>

namespace threadflight {

class KeyBytes {
 public:
  // Returns false (with a pending JS TypeError) when `value` is not a string.
  bool read(napi_env env, napi_value value) {
    size_t length = 0;
    napi_status status = napi_get_value_string_utf16(env, value, inline_.data(), inline_.size(), &length);
    if (status == napi_string_expected) {
      Napi::TypeError::New(env, "key must be a string").ThrowAsJavaScriptException();
      return false;
    }
    if (status != napi_ok) return fail(env);
    data_ = inline_.data();
    if (length + 1 >= inline_.size()) {  // possibly truncated: ask for the length, then copy it all
      if (napi_get_value_string_utf16(env, value, nullptr, 0, &length) != napi_ok) return fail(env);
      heap_.resize(length + 1);
      if (napi_get_value_string_utf16(env, value, heap_.data(), heap_.size(), &length) != napi_ok) {
        return fail(env);
      }
      data_ = heap_.data();
    }
    bytes_ = std::string_view(reinterpret_cast<const char*>(data_), length * sizeof(char16_t));
    return true;
  }

  std::string_view bytes() const { return bytes_; }

 private:
  static bool fail(napi_env env) {
    Napi::Error::New(env, "could not read the key").ThrowAsJavaScriptException();
    return false;
  }

  std::array<char16_t, 128> inline_;
  std::vector<char16_t> heap_;
  const char16_t* data_ = nullptr;
  std::string_view bytes_;
};

}  // namespace threadflight
