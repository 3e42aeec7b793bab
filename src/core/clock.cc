#include "clock.h"

#include <chrono>
#include <ctime>

namespace threadflight {

int64_t monotonic_ns() noexcept {
#if defined(CLOCK_MONOTONIC_COARSE)
  timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0) {
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  }
#endif
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace threadflight
