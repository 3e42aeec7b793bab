// Hash flooding: keys crafted to collide under an unseeded hash cost the table no more than
// random keys, because the table hashes with SipHash-1-3 under a per-process random seed.
//
// The crafted keys: Java's String.hashCode (h = 31*h + c over UTF-16 code units) gives "Aa"
// and "BB" the same value (65*31 + 97 == 66*31 + 66 == 2112), and since the hash is a
// polynomial, swapping one block for the other anywhere leaves the whole string's hash
// unchanged. So the 2^15 strings of 15 blocks, each "Aa" or "BB", all share one hash — in 32 or
// 64 bits alike, the equality holds before any wrap-around. The keys are fed to the table as
// UTF-16LE bytes, exactly as the addon passes a JavaScript string key.
//
// For N = 2k, 8k, 32k: join N such keys as concurrent flights (none settled), then settle all
// N; the same with N random keys of the same length. Once in the real table (seeded hash), and
// once in the same FlightTable built with the unseeded hash (the constructor's test hook) — the
// counterfactual, which must degrade quadratically, proving the keys really collide.
//
//   ./build-bench/flooding_bench [--json PATH]
// Exits 1 if colliding keys cost more than 3x random keys at the largest N in the real table,
// if the crafted keys do not all collide under the unseeded hash, or on a table invariant.
#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "clock.h"
#include "flight_table.h"
#include "siphash.h"

namespace {

using threadflight::FlightTable;
using threadflight::JoinResult;
using threadflight::KeyHashFn;
using threadflight::Limits;
using threadflight::Notice;
using threadflight::Role;
using threadflight::SettleResult;

constexpr int kBlocks = 15;  // 2^15 = 32768 colliding keys of 30 code units
constexpr size_t kSizes[] = {2048, 8192, 32768};
constexpr double kMaxRatio = 3.0;  // colliding / random at the largest N, real table

// Java's String.hashCode over the UTF-16 code units of the key bytes, in 64 bits: unseeded,
// so anyone can compute collisions offline.
uint64_t java_hash(std::string_view bytes) noexcept {
  uint64_t h = 0;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
    const uint16_t unit =
        static_cast<uint8_t>(bytes[i]) | (static_cast<uint16_t>(static_cast<uint8_t>(bytes[i + 1])) << 8);
    h = 31 * h + unit;
  }
  return h;
}

std::string utf16le(const std::string& ascii) {
  std::string out;
  out.reserve(ascii.size() * 2);
  for (char c : ascii) {
    out.push_back(c);
    out.push_back('\0');
  }
  return out;
}

std::vector<std::string> colliding_keys() {
  std::vector<std::string> keys;
  for (uint32_t i = 0; i < (1u << kBlocks); ++i) {
    std::string s;
    for (int b = 0; b < kBlocks; ++b) s += (i >> b) & 1 ? "BB" : "Aa";
    keys.push_back(utf16le(s));
  }
  return keys;
}

std::vector<std::string> random_keys(size_t n, size_t length) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::mt19937_64 rng(42);
  std::set<std::string> seen;
  std::vector<std::string> keys;
  while (keys.size() < n) {
    std::string s(length, ' ');
    for (char& c : s) c = kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
    if (seen.insert(s).second) keys.push_back(utf16le(s));
  }
  return keys;
}

struct Timing {
  double join_ns = 0;    // per join
  double settle_ns = 0;  // per settle
  double op_ns() const { return (join_ns + settle_ns) / 2; }
};

std::vector<std::string> g_errors;

// N concurrent flights: N joins (each a new leader), then N settles; one fresh table.
Timing join_all_then_settle(const std::vector<std::string>& keys, size_t n, KeyHashFn hash) {
  using clock = std::chrono::steady_clock;
  FlightTable table(Limits{}, FlightTable::kDefaultShards, hash);
  std::vector<JoinResult> flights(n);
  std::vector<Notice> notices;
  const int64_t now = threadflight::monotonic_ns();
  size_t not_leader = 0, not_done = 0;

  const auto t0 = clock::now();
  for (size_t i = 0; i < n; ++i) {
    const auto joined = table.join(keys[i], now, 1);
    not_leader += joined.role != Role::kLeader;
    flights[i] = joined;
  }
  const auto t1 = clock::now();
  const size_t in_flight = table.size(0);
  for (size_t i = 0; i < n; ++i)
    not_done += table.settle(flights[i].cell, flights[i].id, 1, false, notices) != SettleResult::kDone;
  const auto t2 = clock::now();

  if (not_leader || not_done || in_flight != n || table.size(0) != 0 || table.owned_cells() != 0) {
    g_errors.push_back("table invariant broken at N=" + std::to_string(n) + ": " + std::to_string(not_leader) +
                       " joins not leading, " + std::to_string(in_flight) + " in flight after joins, " +
                       std::to_string(not_done) + " settles not done, " + std::to_string(table.size(0)) +
                       " entries and " + std::to_string(table.owned_cells()) + " cells left");
  }
  const double ns = 1e9 / static_cast<double>(n);
  return Timing{std::chrono::duration<double>(t1 - t0).count() * ns,
                std::chrono::duration<double>(t2 - t1).count() * ns};
}

Timing median(std::vector<Timing> runs) {
  std::sort(runs.begin(), runs.end(), [](const Timing& a, const Timing& b) { return a.op_ns() < b.op_ns(); });
  return runs[runs.size() / 2];
}

// Runs colliding and random keys alternately, `reps` times each; medians by cost per op.
std::pair<Timing, Timing> measure(const std::vector<std::string>& colliding, const std::vector<std::string>& random,
                                  size_t n, KeyHashFn hash, int reps) {
  std::vector<Timing> c, r;
  join_all_then_settle(colliding, std::min<size_t>(n, 1024), hash);  // warm caches and the arena
  for (int i = 0; i < reps; ++i) {
    c.push_back(join_all_then_settle(colliding, n, hash));
    r.push_back(join_all_then_settle(random, n, hash));
  }
  return {median(c), median(r)};
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

struct Row {
  size_t n;
  Timing seeded_colliding, seeded_random, weak_colliding, weak_random;
  int seeded_reps, weak_reps;
};

}  // namespace

int main(int argc, char** argv) {
  const char* json_path = nullptr;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) json_path = argv[i + 1];
  }

  const auto colliding = colliding_keys();
  const size_t key_units = colliding.front().size() / 2;
  const auto random = random_keys(colliding.size(), key_units);

  // The construction, checked: one unseeded hash value for all crafted keys; under the
  // table's seeded hash they spread like any keys (distinct hashes, even shards).
  std::set<uint64_t> weak_values, seeded_values;
  std::vector<size_t> per_shard(FlightTable::kDefaultShards);
  for (const auto& k : colliding) {
    weak_values.insert(java_hash(k));
    const uint64_t h = threadflight::seeded_hash(k);
    seeded_values.insert(h);
    ++per_shard[(h >> 40) & (FlightTable::kDefaultShards - 1)];  // the table's shard choice
  }
  const auto [min_shard, max_shard] = std::minmax_element(per_shard.begin(), per_shard.end());
  auto ascii = [](const std::string& utf16) {
    std::string s;
    for (size_t i = 0; i < utf16.size(); i += 2) s += utf16[i];
    return s;
  };
  std::printf("%zu crafted keys of %zu UTF-16 code units (blocks \"Aa\"/\"BB\"): \"%s\", \"%s\", ..., \"%s\"\n",
              colliding.size(), key_units, ascii(colliding[0]).c_str(), ascii(colliding[1]).c_str(),
              ascii(colliding.back()).c_str());
  std::printf("  distinct values under the unseeded hash (Java hashCode): %zu\n", weak_values.size());
  std::printf("  distinct values under the table's seeded SipHash-1-3:    %zu; keys per shard (of %u): %zu..%zu\n\n",
              seeded_values.size(), FlightTable::kDefaultShards, *min_shard, *max_shard);
  if (weak_values.size() != 1) g_errors.push_back("the crafted keys do not all collide under the unseeded hash");

  std::vector<Row> rows;
  std::printf("join N concurrent flights, then settle them all; ns per operation (join or settle), median of reps\n");
  std::printf("%7s | %-34s | %-34s\n", "", "threadflight table (seeded SipHash)", "same table, unseeded hash");
  std::printf("%7s | %10s %10s %10s | %10s %10s %10s\n", "N", "colliding", "random", "ratio", "colliding", "random",
              "ratio");
  for (size_t n : kSizes) {
    Row row{};
    row.n = n;
    // Enough repetitions for ~2M operations per measurement in the real table; the unseeded
    // one is quadratic, so a few (one at the largest N) say enough.
    row.seeded_reps = static_cast<int>(std::max<size_t>(5, (size_t{1} << 21) / (2 * n)));
    row.weak_reps = n >= 32768 ? 1 : 3;
    std::tie(row.seeded_colliding, row.seeded_random) =
        measure(colliding, random, n, &threadflight::seeded_hash, row.seeded_reps);
    std::tie(row.weak_colliding, row.weak_random) = measure(colliding, random, n, &java_hash, row.weak_reps);
    std::printf("%7zu | %10.1f %10.1f %10.2f | %10.1f %10.1f %10.1f\n", n, row.seeded_colliding.op_ns(),
                row.seeded_random.op_ns(), row.seeded_colliding.op_ns() / row.seeded_random.op_ns(),
                row.weak_colliding.op_ns(), row.weak_random.op_ns(),
                row.weak_colliding.op_ns() / row.weak_random.op_ns());
    std::fflush(stdout);
    rows.push_back(row);
  }
  const Row& first = rows.front();
  const Row& last = rows.back();
  const double ratio = last.seeded_colliding.op_ns() / last.seeded_random.op_ns();
  std::printf(
      "\nper-op cost from N=%zu to N=%zu (x%zu keys): seeded colliding x%.2f, seeded random x%.2f, unseeded colliding "
      "x%.1f\n",
      first.n, last.n, last.n / first.n, last.seeded_colliding.op_ns() / first.seeded_colliding.op_ns(),
      last.seeded_random.op_ns() / first.seeded_random.op_ns(),
      last.weak_colliding.op_ns() / first.weak_colliding.op_ns());
  if (ratio > kMaxRatio) {
    g_errors.push_back("colliding keys cost " + std::to_string(ratio) + "x random keys at N=" + std::to_string(last.n) +
                       " (bound " + std::to_string(kMaxRatio) + "x)");
  }

  if (json_path != nullptr) {
    utsname un{};
    uname(&un);
    char date[32];
    const std::time_t t = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    std::ostringstream j;
    j << "{\n  \"machine\": {\"cpu\": \"" << json_escape(cpu_model())
      << "\", \"cores\": " << std::thread::hardware_concurrency() << ", \"os\": \"" << un.sysname << ' ' << un.release
      << "\", \"compiler\": \"" << json_escape(__VERSION__) << "\", \"date\": \"" << date << "\"},\n";
    j << "  \"keys\": {\"construction\": \"15 blocks each \\\"Aa\\\" or \\\"BB\\\" (equal Java String.hashCode), as "
         "UTF-16LE bytes\", "
      << "\"codeUnits\": " << key_units << ", \"count\": " << colliding.size()
      << ", \"distinctUnseededHashes\": " << weak_values.size()
      << ", \"distinctSeededHashes\": " << seeded_values.size() << ", \"keysPerShardMin\": " << *min_shard
      << ", \"keysPerShardMax\": " << *max_shard << "},\n";
    j << "  \"unit\": \"ns per operation (join or settle); N joins of concurrent flights then N settles\",\n  "
         "\"rows\": [\n";
    auto timing = [&j](const char* name, const Timing& t) {
      j << '"' << name << "\": {\"opNs\": " << t.op_ns() << ", \"joinNs\": " << t.join_ns
        << ", \"settleNs\": " << t.settle_ns << '}';
    };
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      j << "    {\"n\": " << r.n << ", \"seededReps\": " << r.seeded_reps << ", \"unseededReps\": " << r.weak_reps
        << ", ";
      timing("seededColliding", r.seeded_colliding);
      j << ", ";
      timing("seededRandom", r.seeded_random);
      j << ", \"seededRatio\": " << r.seeded_colliding.op_ns() / r.seeded_random.op_ns() << ", ";
      timing("unseededColliding", r.weak_colliding);
      j << ", ";
      timing("unseededRandom", r.weak_random);
      j << ", \"unseededRatio\": " << r.weak_colliding.op_ns() / r.weak_random.op_ns() << '}'
        << (i + 1 < rows.size() ? "," : "") << '\n';
    }
    j << "  ],\n  \"maxRatio\": " << kMaxRatio << ",\n  \"errors\": [";
    for (size_t i = 0; i < g_errors.size(); ++i) j << (i ? ", " : "") << '"' << json_escape(g_errors[i]) << '"';
    j << "],\n  \"ok\": " << (g_errors.empty() ? "true" : "false") << "\n}\n";
    std::ofstream(json_path) << j.str();
    std::printf("wrote %s\n", json_path);
  }

  for (const auto& e : g_errors) std::fprintf(stderr, "FAILED: %s\n", e.c_str());
  return g_errors.empty() ? 0 : 1;
}
