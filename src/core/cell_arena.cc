#include "cell_arena.h"

#include <new>
#include <type_traits>

namespace threadflight {

CellArena& CellArena::global() {
  // Constructed in place and deliberately never destroyed (see header).
  static std::aligned_storage_t<sizeof(CellArena), alignof(CellArena)> storage;
  static CellArena* arena = ::new (&storage) CellArena();
  return *arena;
}

bool CellArena::allocate_chunk(uint32_t& first_index) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint32_t page_index = next_chunk_ / kCellsPerPage;
  if (page_index >= max_pages_) return false;
  if (page_index == owned_.size()) {
    owned_.push_back(std::make_unique<Page>());
    pages_[page_index].store(owned_.back().get(), std::memory_order_release);
    published_pages_.store(page_index + 1, std::memory_order_release);
  }
  first_index = next_chunk_;
  next_chunk_ += kCellsPerChunk;
  return true;
}

Cell* CellArena::page_data(uint32_t page_index) noexcept {
  if (page_index >= page_count()) return nullptr;
  return page(page_index)->cells.data();
}

}  // namespace threadflight
