// The core's clock: monotonic nanoseconds, read on every miss, so it must be cheap.
#pragma once

#include <cstdint>

namespace threadflight {

// A coarse monotonic clock (a few ms resolution, a few ns per read on Linux); flight ages
// and maxDuration are judged in milliseconds, so the precise clock's ~25 ns would be wasted.
int64_t monotonic_ns() noexcept;

}  // namespace threadflight
