// A shard's index of its flights: an open-addressing hash set of flight pointers, each slot
// with the 64-bit hash it was filed under, so that probing compares hashes without touching
// the flights. Linear probing, and backward-shift deletion (no tombstones), so a probe ends at
// the first empty slot however many flights came and went.
//
// The index does not know what a flight's key is: a lookup names the hash and a predicate
// that decides, so one index can be keyed by key bytes and another by cell. Several flights
// may be filed under one hash (and, with a colliding hash function, under every hash); the
// predicate tells them apart. It allocates only when it grows or shrinks, never per flight.
// Not thread-safe: its shard's mutex guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace threadflight {

struct FlightState;

class FlightIndex {
 public:
  // The flight filed under `hash` for which match(flight) is true, or null.
  template <class Match>
  FlightState* find(uint64_t hash, Match&& match) const {
    if (slots_.empty()) return nullptr;
    for (size_t i = hash & mask(); slots_[i].flight != nullptr; i = (i + 1) & mask()) {
      if (slots_[i].hash == hash && match(*slots_[i].flight)) return slots_[i].flight;
    }
    return nullptr;
  }

  // Files `flight` under `hash`. May throw std::bad_alloc when growing; reserve_one() first
  // to do that before anything else changes.
  void insert(uint64_t hash, FlightState* flight) {
    reserve_one();
    place(Slot{hash, flight});
    ++size_;
  }

  // Makes room for one more flight, so that the next insert() does not allocate.
  void reserve_one() {
    if (!fits(size_ + 1)) rehash(slots_.empty() ? kMinSlots : slots_.size() * 2);
  }

  // Makes room for `count` flights in all, so that inserting up to that many does not allocate.
  void reserve(size_t count) {
    if (fits(count)) return;
    size_t slot_count = slots_.empty() ? kMinSlots : slots_.size() * 2;
    while (count * 4 > slot_count * 3) slot_count *= 2;
    rehash(slot_count);
  }

  // Removes this very flight (by address) filed under `hash`; false if it is not there.
  bool erase(uint64_t hash, const FlightState* flight) noexcept {
    if (slots_.empty()) return false;
    size_t i = hash & mask();
    while (slots_[i].flight != flight) {
      if (slots_[i].flight == nullptr) return false;
      i = (i + 1) & mask();
    }
    close_gap(i);
    --size_;
    maybe_shrink();
    return true;
  }

  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const Slot& slot : slots_) {
      if (slot.flight != nullptr) fn(*slot.flight);
    }
  }

  // Empties the index, and gives back the memory of a large one.
  void clear() noexcept {
    if (slots_.size() > kMinSlots) {
      std::vector<Slot>().swap(slots_);
    } else {
      for (Slot& slot : slots_) slot = Slot{};
    }
    size_ = 0;
  }

  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  // Slots allocated (0, or a power of two of at least kMinSlots): for tests.
  size_t capacity() const noexcept { return slots_.size(); }

  static constexpr size_t kMinSlots = 8;

 private:
  struct Slot {
    uint64_t hash = 0;
    FlightState* flight = nullptr;  // null: empty
  };

  size_t mask() const noexcept { return slots_.size() - 1; }
  // At most 3/4 of the slots are used: probes stay short.
  bool fits(size_t count) const noexcept { return count * 4 <= slots_.size() * 3; }

  // Puts the slot in the first empty place of its probe; there is one (see fits()).
  void place(const Slot& slot) noexcept {
    size_t i = slot.hash & mask();
    while (slots_[i].flight != nullptr) i = (i + 1) & mask();
    slots_[i] = slot;
  }

  // Slot `hole` was emptied: moves back the slots after it that would no longer be found
  // (those whose probe starts at or before the hole), until an empty slot ends the run.
  void close_gap(size_t hole) noexcept {
    for (size_t i = (hole + 1) & mask(); slots_[i].flight != nullptr; i = (i + 1) & mask()) {
      const size_t home = slots_[i].hash & mask();
      // Distance from its home to where it is, against the distance from the hole to there:
      // if its home is not after the hole (cyclically), it may move into the hole.
      if (((i - home) & mask()) >= ((i - hole) & mask())) {
        slots_[hole] = slots_[i];
        hole = i;
      }
    }
    slots_[hole] = Slot{};
  }

  // A large index that emptied gives memory back; the load after shrinking stays below 1/4,
  // well under the 3/4 that grows it again.
  void maybe_shrink() noexcept {
    if (slots_.size() <= kMinSlots || size_ * 8 >= slots_.size()) return;
    try {
      rehash(slots_.size() / 2);
    } catch (...) {
      // Keeping the larger index is fine; it still works.
    }
  }

  void rehash(size_t slot_count) {
    std::vector<Slot> old(slot_count);
    old.swap(slots_);
    for (const Slot& slot : old) {
      if (slot.flight != nullptr) place(slot);
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace threadflight
