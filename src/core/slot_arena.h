// Process-wide memory for the entries of named caches, laid out so JavaScript can map it as
// typed arrays: a thread holding a decoded copy of an entry checks that copy against the
// entry's slot (same version, still fresh) with plain reads, without calling into C++.
//
// A slot's version changes whenever its entry is replaced or removed, and again when the slot
// is reused, so a copy made from an older entry never matches a newer one.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace threadflight {

struct alignas(32) Slot {
  // Changes whenever the entry in this slot changes or goes. JavaScript compares it.
  std::atomic<int32_t> version{0};
  // When the entry was last read, in ticks of kTickMs (wrapping): written by every thread that
  // serves a hit from its own copy, read by the store when it chooses what to evict.
  std::atomic<int32_t> touched{0};
  // SlotFlag bits.
  std::atomic<int32_t> flags{0};
  int32_t reserved = 0;
  // Until when the entry is fresh, and until when it may still be served stale, in the core's
  // clock (ms). fresh_until moves when a failed refresh backs off.
  std::atomic<double> fresh_until_ms{0};
  std::atomic<double> stale_until_ms{0};
};
static_assert(sizeof(Slot) == 32, "JS maps slots with a 32-byte stride");
static_assert(std::atomic<double>::is_always_lock_free, "JS reads slot times with plain loads");

enum SlotFlag : int32_t {
  // A refresh failed: the entry is stale, served as such, and nobody refreshes it before
  // fresh_until (the backoff).
  kSlotBackoff = 1,
};

// Milliseconds per tick of Slot::touched: coarse enough that 31 bits last for months.
constexpr double kTickMs = 16;

class SlotArena {
 public:
  static constexpr uint32_t kSlotsPerPage = 4096;  // 128 KiB pages
  static constexpr uint32_t kMaxPages = 8192;      // 33.5M entries at once, at most

  // The arena every store draws from; never destroyed (JavaScript views point into it).
  static SlotArena& global();

  explicit SlotArena(uint32_t max_pages = kMaxPages) : max_pages_(max_pages < kMaxPages ? max_pages : kMaxPages) {}
  SlotArena(const SlotArena&) = delete;
  SlotArena& operator=(const SlotArena&) = delete;

  // Takes a free slot and returns its (new) version through `version`; false when full.
  bool take(uint32_t& slot, int32_t& version);
  // The slot's entry is gone: its version moves on, and the slot is free.
  void give_back(uint32_t slot) noexcept;

  Slot& at(uint32_t index) noexcept {
    return pages_[index / kSlotsPerPage].load(std::memory_order_acquire)->slots[index % kSlotsPerPage];
  }

  Slot* page_data(uint32_t page_index) noexcept;
  static constexpr size_t page_bytes() { return sizeof(Slot) * kSlotsPerPage; }
  uint32_t page_count() const noexcept { return published_pages_.load(std::memory_order_acquire); }
  size_t free_count();

 private:
  struct Page {
    std::array<Slot, kSlotsPerPage> slots;
  };

  const uint32_t max_pages_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Page>> owned_;  // guarded by mutex_
  std::vector<uint32_t> free_;                // guarded by mutex_
  std::array<std::atomic<Page*>, kMaxPages> pages_{};
  std::atomic<uint32_t> published_pages_{0};
};

}  // namespace threadflight
