#include "siphash.h"

#include <chrono>
#include <cstdio>
#include <cstring>

#if defined(__linux__)
#include <unistd.h>  // getentropy
#elif defined(__APPLE__)
#include <sys/random.h>  // getentropy
#else
#include <random>
#endif

namespace threadflight {
namespace {

inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct SipState {
  uint64_t v0, v1, v2, v3;

  void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }

  template <int C>
  void absorb(uint64_t m) {
    v3 ^= m;
    for (int i = 0; i < C; ++i) round();
    v0 ^= m;
  }
};

inline uint64_t load_le64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

// The seed comes from the operating system's generator. On Linux and macOS that is getentropy:
// std::random_device would link in arc4random, which only the newest C libraries have, and a
// prebuilt addon must load on older ones.
SipKey draw_seed() {
  uint64_t words[2] = {0, 0};
#if defined(__linux__) || defined(__APPLE__)
  bool drawn = getentropy(words, sizeof words) == 0;
  if (!drawn) {
    // Kernels without getrandom (Linux < 3.17): read the device instead.
    if (std::FILE* device = std::fopen("/dev/urandom", "rb")) {
      drawn = std::fread(words, 1, sizeof words, device) == sizeof words;
      std::fclose(device);
    }
  }
  if (!drawn) {
    // No entropy source at all: a seed no other process shares is still better than none.
    const auto now = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    words[0] ^= now ^ reinterpret_cast<uintptr_t>(&words);
    words[1] ^= rotl(now, 29) ^ reinterpret_cast<uintptr_t>(&draw_seed);
  }
#else
  std::random_device rd;
  for (uint64_t& word : words) word = (uint64_t{rd()} << 32) ^ uint64_t { rd() };
#endif
  return SipKey{words[0], words[1]};
}

}  // namespace

template <int C, int D>
uint64_t siphash(const SipKey& key, std::string_view bytes) noexcept {
  SipState s{key.k0 ^ 0x736f6d6570736575ULL, key.k1 ^ 0x646f72616e646f6dULL, key.k0 ^ 0x6c7967656e657261ULL,
             key.k1 ^ 0x7465646279746573ULL};
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t len = bytes.size();
  const size_t whole = len & ~size_t{7};
  for (size_t i = 0; i < whole; i += 8) s.absorb<C>(load_le64(p + i));

  uint64_t last = uint64_t{len & 0xff} << 56;
  for (size_t i = 0; i < (len & 7); ++i) last |= uint64_t{p[whole + i]} << (8 * i);
  s.absorb<C>(last);

  s.v2 ^= 0xff;
  for (int i = 0; i < D; ++i) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

template uint64_t siphash<1, 3>(const SipKey&, std::string_view) noexcept;
template uint64_t siphash<2, 4>(const SipKey&, std::string_view) noexcept;

const SipKey& process_hash_seed() noexcept {
  static const SipKey seed = draw_seed();
  return seed;
}

uint64_t seeded_hash(std::string_view bytes) noexcept { return siphash13(process_hash_seed(), bytes); }

}  // namespace threadflight
