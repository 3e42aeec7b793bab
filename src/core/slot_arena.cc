#include "slot_arena.h"

#include <new>
#include <type_traits>

namespace threadflight {

SlotArena& SlotArena::global() {
  // Constructed in place and deliberately never destroyed (see header).
  static std::aligned_storage_t<sizeof(SlotArena), alignof(SlotArena)> storage;
  static SlotArena* arena = ::new (&storage) SlotArena();
  return *arena;
}

bool SlotArena::take(uint32_t& slot, int32_t& version) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (free_.empty()) {
    const auto page_index = static_cast<uint32_t>(owned_.size());
    if (page_index >= max_pages_) return false;
    owned_.push_back(std::make_unique<Page>());
    pages_[page_index].store(owned_.back().get(), std::memory_order_release);
    published_pages_.store(page_index + 1, std::memory_order_release);
    // Room for every slot there is: give_back never allocates.
    free_.reserve(owned_.size() * kSlotsPerPage);
    for (uint32_t i = kSlotsPerPage; i-- > 0;) free_.push_back(page_index * kSlotsPerPage + i);
  }
  slot = free_.back();
  free_.pop_back();
  Slot& s = at(slot);
  s.flags.store(0, std::memory_order_relaxed);
  version = s.version.fetch_add(1, std::memory_order_acq_rel) + 1;
  return true;
}

void SlotArena::give_back(uint32_t slot) noexcept {
  Slot& s = at(slot);
  // Copies made from the entry stop matching before anyone else can take the slot.
  s.version.fetch_add(1, std::memory_order_acq_rel);
  s.fresh_until_ms.store(0, std::memory_order_relaxed);
  s.stale_until_ms.store(0, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mutex_);
  free_.push_back(slot);
}

Slot* SlotArena::page_data(uint32_t page_index) noexcept {
  if (page_index >= page_count()) return nullptr;
  return pages_[page_index].load(std::memory_order_acquire)->slots.data();
}

size_t SlotArena::free_count() {
  std::lock_guard<std::mutex> lock(mutex_);
  return free_.size();
}

}  // namespace threadflight
