// Counters every thread adds to without a lock and without contention: each JavaScript
// environment writes its own lane (one writer per lane); a reader sums the lanes. A lane whose
// writer is gone is folded into the retired total, so counts survive their threads.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace threadflight {

constexpr uint32_t kLaneSlots = 16;

struct alignas(64) CounterLane {
  std::array<std::atomic<double>, kLaneSlots> values{};
};

class CounterLanes {
 public:
  std::shared_ptr<CounterLane> add() {
    auto lane = std::make_shared<CounterLane>();
    std::lock_guard<std::mutex> lock(mutex_);
    lanes_.push_back(lane);
    return lane;
  }

  // The lane's writer is gone: its counts stay in the totals, the lane is let go.
  void retire(const std::shared_ptr<CounterLane>& lane) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = std::find(lanes_.begin(), lanes_.end(), lane);
    if (found == lanes_.end()) return;
    for (uint32_t i = 0; i < kLaneSlots; ++i) retired_[i] += lane->values[i].load(std::memory_order_relaxed);
    lanes_.erase(found);
  }

  std::array<double, kLaneSlots> sum() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::array<double, kLaneSlots> total = retired_;
    for (const auto& lane : lanes_) {
      for (uint32_t i = 0; i < kLaneSlots; ++i) total[i] += lane->values[i].load(std::memory_order_relaxed);
    }
    return total;
  }

 private:
  std::mutex mutex_;
  std::vector<std::shared_ptr<CounterLane>> lanes_;
  std::array<double, kLaneSlots> retired_{};
};

}  // namespace threadflight
