// Counters every thread adds to without a lock and without contention: each JavaScript
// environment writes its own lane (one writer per lane); a reader sums the lanes. A lane whose
// writer is gone is folded into the retired total, so counts survive their threads.
//
// A lane's last slot is not a counter but a setting every writer reads from its own lane (for
// a flight table: whether to time flights), so that turning it on in one thread reaches every
// thread's next call without a crossing into C++.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace threadflight {

constexpr uint32_t kLaneSlots = 48;
constexpr uint32_t kLaneSetting = kLaneSlots - 1;

struct alignas(64) CounterLane {
  std::array<std::atomic<double>, kLaneSlots> values{};
};

class CounterLanes {
 public:
  std::shared_ptr<CounterLane> add() {
    auto lane = std::make_shared<CounterLane>();
    std::lock_guard<std::mutex> lock(mutex_);
    lane->values[kLaneSetting].store(setting_, std::memory_order_relaxed);
    lanes_.push_back(lane);
    return lane;
  }

  // Writes the setting into every lane, and into every lane added from now on.
  void set_setting(double value) {
    std::lock_guard<std::mutex> lock(mutex_);
    setting_ = value;
    for (const auto& lane : lanes_) lane->values[kLaneSetting].store(value, std::memory_order_relaxed);
  }

  // The lane's writer is gone: its counts stay in the totals, the lane is let go.
  void retire(const std::shared_ptr<CounterLane>& lane) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = std::find(lanes_.begin(), lanes_.end(), lane);
    if (found == lanes_.end()) return;
    for (uint32_t i = 0; i < kLaneSetting; ++i) retired_[i] += lane->values[i].load(std::memory_order_relaxed);
    lanes_.erase(found);
  }

  // The counters summed over every lane, live and retired; the last slot is the setting.
  std::array<double, kLaneSlots> sum() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::array<double, kLaneSlots> total = retired_;
    for (const auto& lane : lanes_) {
      for (uint32_t i = 0; i < kLaneSetting; ++i) total[i] += lane->values[i].load(std::memory_order_relaxed);
    }
    total[kLaneSetting] = setting_;
    return total;
  }

 private:
  std::mutex mutex_;
  std::vector<std::shared_ptr<CounterLane>> lanes_;
  std::array<double, kLaneSlots> retired_{};
  double setting_ = 0;
};

}  // namespace threadflight
