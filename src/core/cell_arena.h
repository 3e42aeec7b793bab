// Process-wide memory for per-flight subscriber counters, laid out so JavaScript can map
// it as typed arrays: a caller joining a flight already known to its thread bumps the
// counter with Atomics.add instead of calling into C++.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace threadflight {

// Shared counters of one flight, or of one thread's part in a flight. JavaScript maps the
// pages as Int32Array (index cell*8 + field) and Float64Array (index cell*4 + 2).
struct alignas(32) Cell {
  // Flight cell: callers of the flight in every thread, leaders included (JS: Atomics.add).
  std::atomic<int32_t> subscribers{0};
  // Callers in one thread: the leader's (in the flight cell) or a follower thread's (in its
  // own lane cell). Written only by that thread, so the count can be taken back from the
  // flight's total if the thread dies.
  std::atomic<int32_t> lane{0};
  // Flight cell: threads other than the leader's that wait for the outcome. The leader reads
  // it when settling, to serialize the value only when someone elsewhere needs it.
  std::atomic<int32_t> waiting_threads{0};
  // Flight cell: 1 once the flight is no longer joinable (cleared, expired, settling), so that
  // threads holding it in their Map stop handing it to new callers.
  std::atomic<int32_t> detached{0};
  double started_ms = 0;  // flight cell: monotonic start, for expiry sweeps in every thread
  double unused_ms = 0;
};
static_assert(sizeof(Cell) == 32, "JS maps cells with a 32-byte stride");
static_assert(std::atomic<int32_t>::is_always_lock_free, "JS updates counters with Atomics");

class CellArena {
 public:
  static constexpr uint32_t kCellsPerPage = 4096;   // 64 KiB pages
  static constexpr uint32_t kMaxPages = 4096;       // 16.7M cells owned at once, at most
  static constexpr uint32_t kCellsPerChunk = 64;    // handed to a shard at a time

  // The arena every table draws from; never destroyed, because other threads and
  // JavaScript views may still point into it while the process exits.
  static CellArena& global();

  explicit CellArena(uint32_t max_pages = kMaxPages) : max_pages_(max_pages < kMaxPages ? max_pages : kMaxPages) {}
  CellArena(const CellArena&) = delete;
  CellArena& operator=(const CellArena&) = delete;

  // Appends kCellsPerChunk free cells to `out` (recycled ones first); false when full.
  bool allocate_chunk(std::vector<uint32_t>& out);

  // Takes back free cells of a table that goes away, for other tables to reuse.
  void recycle(const std::vector<uint32_t>& cells);

  Cell& at(uint32_t index) noexcept {
    return page(index / kCellsPerPage)->cells[index % kCellsPerPage];
  }

  // Base address and size of a page, for mapping into JavaScript; null if not allocated.
  Cell* page_data(uint32_t page_index) noexcept;
  static constexpr size_t page_bytes() { return sizeof(Cell) * kCellsPerPage; }

  uint32_t page_count() const noexcept { return published_pages_.load(std::memory_order_acquire); }

 private:
  struct Page {
    std::array<Cell, kCellsPerPage> cells;
  };

  Page* page(uint32_t page_index) noexcept {
    return pages_[page_index].load(std::memory_order_acquire);
  }

  const uint32_t max_pages_;
  std::mutex mutex_;
  uint32_t next_chunk_ = 0;  // in cells, guarded by mutex_
  std::vector<uint32_t> recycled_;  // guarded by mutex_
  std::vector<std::unique_ptr<Page>> owned_;
  std::array<std::atomic<Page*>, kMaxPages> pages_{};
  std::atomic<uint32_t> published_pages_{0};
};

}  // namespace threadflight
