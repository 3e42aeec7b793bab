// SipHash-1-3 keyed hash: fast for short keys and, with a secret seed, resistant to
// keys crafted to collide (hash flooding).
#pragma once

#include <cstdint>
#include <string_view>

namespace threadflight {

struct SipKey {
  uint64_t k0;
  uint64_t k1;
};

// SipHash with C compression and D finalization rounds; 1-3 for the table, 2-4 to check the
// implementation against the reference vectors.
template <int C, int D>
uint64_t siphash(const SipKey& key, std::string_view bytes) noexcept;

inline uint64_t siphash13(const SipKey& key, std::string_view bytes) noexcept { return siphash<1, 3>(key, bytes); }
inline uint64_t siphash24(const SipKey& key, std::string_view bytes) noexcept { return siphash<2, 4>(key, bytes); }

// A seed drawn once per process from the OS random source.
const SipKey& process_hash_seed() noexcept;

// siphash13 under the process seed: the table's default key hash.
uint64_t seeded_hash(std::string_view bytes) noexcept;

}  // namespace threadflight
