#include "siphash.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace threadflight {
namespace {

// The 1-3 variant shares every line with 2-4 but the round counts, so the published
// SipHash-2-4 vectors (key 00..0f, message 00..len-1) check the implementation.
TEST(SipHash, MatchesPublishedSipHash24Vectors) {
  const SipKey key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  const uint64_t expected[] = {0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL,
                               0x85676696d7fb7e2dULL, 0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL,
                               0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL, 0x93f5f5799a932462ULL,
                               0x9e0082df0ba9e4b0ULL};
  std::string msg;
  for (uint64_t want : expected) {
    EXPECT_EQ(siphash24(key, msg), want) << "length " << msg.size();
    msg.push_back(static_cast<char>(msg.size()));
  }
}

TEST(SipHash, RoundCountsMatter) {
  const SipKey key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  EXPECT_NE(siphash13(key, "user:123"), siphash24(key, "user:123"));
}

TEST(SipHash13, DependsOnEveryByteAndTheLength) {
  const SipKey key{1, 2};
  std::set<uint64_t> seen;
  seen.insert(siphash13(key, std::string_view("a\0b", 3)));
  seen.insert(siphash13(key, std::string_view("a\0c", 3)));
  seen.insert(siphash13(key, std::string_view("a\0", 2)));
  seen.insert(siphash13(key, std::string_view("a", 1)));
  seen.insert(siphash13(key, std::string_view("b\0b", 3)));
  EXPECT_EQ(seen.size(), 5u);
}

TEST(SipHash13, SeedChangesTheHash) {
  EXPECT_NE(siphash13(SipKey{1, 2}, "user:123"), siphash13(SipKey{1, 3}, "user:123"));
  // The process seed is drawn once and stays fixed.
  EXPECT_EQ(seeded_hash("user:123"), seeded_hash("user:123"));
  EXPECT_EQ(&process_hash_seed(), &process_hash_seed());
}

}  // namespace
}  // namespace threadflight
