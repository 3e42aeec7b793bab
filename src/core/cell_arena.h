// Process-wide memory for per-flight counters, laid out so JavaScript can map it as typed
// arrays: a caller joining a flight its thread already knows bumps the counter with
// Atomics.add instead of calling into C++.
//
// Free cells are kept by the arena alone, on one lock-free stack, never by the tables: a table
// holds cells only for its flights in the air, so capacity is counted in flights, however many
// tables (names) come and go.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace threadflight {

// Shared counters of one flight, or of one thread's part in a flight. JavaScript maps pages
// of cells as Int32Array and Float64Array; the offsets it uses are exported from here (see
// src/binding/protocol.cc), never copied.
struct alignas(32) Cell {
  // Flight cell: what decides admission and abandonment (JS: Atomics.add). Under a finite
  // max_subscribers, the callers of the flight in every thread, leaders included. Unlimited,
  // the lanes (threads' parts) that have callers: a duplicate caller in a thread that already
  // waits then counts in its lane alone, with no atomic operation, and the count still reads
  // 0 exactly when nobody waits anywhere. (FlightTable::counted is the rule.)
  std::atomic<int32_t> subscribers{0};
  // Callers in one thread: the leader's (in the flight cell) or a follower thread's (in its
  // own lane cell). Written only by that thread, so its part can be taken back from the
  // flight's count if the thread dies; the flight's callers are the sum of its lanes.
  std::atomic<int32_t> lane{0};
  // Flight cell: 1 once the flight is no longer joinable (forgotten, cleared, expired, doomed,
  // settling), so that threads holding it in their map stop handing it to new callers. Its
  // leader's thread sets it too, before it packs the outcome.
  std::atomic<int32_t> unjoinable{0};
  // Flight cell: threads other than the leader's that wait for the outcome. The leader reads
  // it when settling, to pack the outcome only when someone elsewhere needs it, in one call.
  std::atomic<int32_t> waiting_threads{0};
  // Flight cell: monotonic start in ms, for expiry in every thread.
  double started_ms = 0;
  // Free cell: the next free cell + 1 (0: none). Never read by JavaScript.
  std::atomic<uint32_t> next_free{0};
  uint32_t reserved = 0;
};
static_assert(sizeof(Cell) == 32, "JS maps cells with a 32-byte stride");
static_assert(std::atomic<int32_t>::is_always_lock_free, "JS updates counters with Atomics");

class CellArena {
 public:
  static constexpr uint32_t kCellsPerPage = 4096;  // 128 KiB pages
  static constexpr uint32_t kMaxPages = 4096;      // 16.7M cells in use at once, at most

  // The arena every table draws from; never destroyed, because other threads and
  // JavaScript views may still point into it while the process exits.
  static CellArena& global();

  explicit CellArena(uint32_t max_pages = kMaxPages) : max_pages_(max_pages < kMaxPages ? max_pages : kMaxPages) {}
  CellArena(const CellArena&) = delete;
  CellArena& operator=(const CellArena&) = delete;

  // Takes a free cell, all of whose counters are 0; false when every cell is in use.
  bool take(uint32_t& cell);

  // Returns a cell nobody uses any more; its counters are reset here.
  void give_back(uint32_t cell) noexcept;

  Cell& at(uint32_t index) noexcept { return page(index / kCellsPerPage)->cells[index % kCellsPerPage]; }

  // Whether `index` names a cell of a page that exists (a cell taken or free).
  bool holds(uint32_t index) const noexcept { return index / kCellsPerPage < page_count(); }

  // A word per cell for whoever holds it, outside the cells (JavaScript never maps it) and never
  // reset by the arena: a flight table keeps there the hash of the key of the flight the cell
  // belongs to, so that the flight can be found by its cell alone. Its value is whatever the
  // last holder left: readers check what they find (see FlightTable::find_flight).
  std::atomic<uint64_t>& tag(uint32_t index) noexcept {
    return page(index / kCellsPerPage)->tags[index % kCellsPerPage];
  }

  // Base address and size of a page, for mapping into JavaScript; null if not allocated.
  Cell* page_data(uint32_t page_index) noexcept;
  static constexpr size_t page_bytes() { return sizeof(Cell) * kCellsPerPage; }

  uint32_t page_count() const noexcept { return published_pages_.load(std::memory_order_acquire); }

 private:
  struct Page {
    std::array<Cell, kCellsPerPage> cells;  // mapped by JavaScript: nothing else goes before or in it
    std::array<std::atomic<uint64_t>, kCellsPerPage> tags{};
  };

  Page* page(uint32_t page_index) const noexcept { return pages_[page_index].load(std::memory_order_acquire); }
  // Adds a page of free cells; false when the arena is at its size limit.
  bool grow();
  // Pushes the chain first → … → last (linked through next_free) onto the free stack.
  void push_free(uint32_t first, uint32_t last) noexcept;

  // The free stack's head: (generation << 32) | (top cell + 1). The generation changes on
  // every push and pop, so a pop that read a stale `next_free` fails its compare-exchange.
  std::atomic<uint64_t> free_head_{0};
  const uint32_t max_pages_;
  std::mutex grow_mutex_;
  std::vector<std::unique_ptr<Page>> owned_;  // guarded by grow_mutex_
  std::array<std::atomic<Page*>, kMaxPages> pages_{};
  std::atomic<uint32_t> published_pages_{0};
};

}  // namespace threadflight
