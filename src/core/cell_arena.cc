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

bool CellArena::allocate_chunk(std::vector<uint32_t>& out) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (recycled_.size() >= kCellsPerChunk) {
    out.insert(out.end(), recycled_.end() - kCellsPerChunk, recycled_.end());
    recycled_.resize(recycled_.size() - kCellsPerChunk);
    return true;
  }
  const uint32_t page_index = next_chunk_ / kCellsPerPage;
  if (page_index >= max_pages_) return false;
  if (page_index == owned_.size()) {
    owned_.push_back(std::make_unique<Page>());
    pages_[page_index].store(owned_.back().get(), std::memory_order_release);
    published_pages_.store(page_index + 1, std::memory_order_release);
  }
  for (uint32_t i = kCellsPerChunk; i-- > 0;) out.push_back(next_chunk_ + i);
  next_chunk_ += kCellsPerChunk;
  return true;
}

void CellArena::recycle(const std::vector<uint32_t>& cells) {
  std::lock_guard<std::mutex> lock(mutex_);
  recycled_.insert(recycled_.end(), cells.begin(), cells.end());
}

Cell* CellArena::page_data(uint32_t page_index) noexcept {
  if (page_index >= page_count()) return nullptr;
  return page(page_index)->cells.data();
}

}  // namespace threadflight
