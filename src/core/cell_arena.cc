#include "cell_arena.h"

#include <new>
#include <type_traits>

namespace threadflight {
namespace {

constexpr uint64_t kGeneration = uint64_t{1} << 32;

uint64_t with_top(uint64_t head, uint32_t top_plus_one) noexcept {
  return ((head & ~uint64_t{0xffffffff}) + kGeneration) | top_plus_one;
}

}  // namespace

CellArena& CellArena::global() {
  // Constructed in place and deliberately never destroyed (see header).
  static std::aligned_storage_t<sizeof(CellArena), alignof(CellArena)> storage;
  static CellArena* arena = ::new (&storage) CellArena();
  return *arena;
}

bool CellArena::take(uint32_t& cell) {
  uint64_t head = free_head_.load(std::memory_order_acquire);
  for (;;) {
    const auto top = static_cast<uint32_t>(head);
    if (top == 0) {
      if (!grow()) return false;
      head = free_head_.load(std::memory_order_acquire);
      continue;
    }
    // The cell may be taken by another thread meanwhile; then the generation has moved on and
    // the exchange fails. Cells are never unmapped, so reading it is always safe.
    const uint32_t next = at(top - 1).next_free.load(std::memory_order_relaxed);
    if (free_head_.compare_exchange_weak(head, with_top(head, next), std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
      cell = top - 1;
      at(cell).next_free.store(0, std::memory_order_relaxed);
      return true;
    }
  }
}

void CellArena::give_back(uint32_t cell) noexcept {
  Cell& c = at(cell);
  c.subscribers.store(0, std::memory_order_relaxed);
  c.lane.store(0, std::memory_order_relaxed);
  c.unjoinable.store(0, std::memory_order_relaxed);
  c.waiting_threads.store(0, std::memory_order_relaxed);
  c.started_ms = 0;
  push_free(cell, cell);
}

void CellArena::push_free(uint32_t first, uint32_t last) noexcept {
  uint64_t head = free_head_.load(std::memory_order_relaxed);
  do {
    at(last).next_free.store(static_cast<uint32_t>(head), std::memory_order_relaxed);
  } while (!free_head_.compare_exchange_weak(head, with_top(head, first + 1), std::memory_order_release,
                                             std::memory_order_relaxed));
}

bool CellArena::grow() {
  std::lock_guard<std::mutex> lock(grow_mutex_);
  // Another thread may have grown the arena (or given cells back) while this one waited.
  if (static_cast<uint32_t>(free_head_.load(std::memory_order_acquire)) != 0) return true;
  const auto page_index = static_cast<uint32_t>(owned_.size());
  if (page_index >= max_pages_) return false;
  owned_.push_back(std::make_unique<Page>());
  Page& fresh = *owned_.back();
  const uint32_t base = page_index * kCellsPerPage;
  for (uint32_t i = 0; i + 1 < kCellsPerPage; ++i)
    fresh.cells[i].next_free.store(base + i + 2, std::memory_order_relaxed);
  pages_[page_index].store(&fresh, std::memory_order_release);
  published_pages_.store(page_index + 1, std::memory_order_release);
  push_free(base, base + kCellsPerPage - 1);
  return true;
}

Cell* CellArena::page_data(uint32_t page_index) noexcept {
  if (page_index >= page_count()) return nullptr;
  return page(page_index)->cells.data();
}

}  // namespace threadflight
