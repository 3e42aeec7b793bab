// Google Benchmark of the C++ core: join + settle of a fresh flight per operation, at 1 and 2
// threads, for the sharded table, the same table with one shard, and a single-mutex
// std::unordered_map singleflight as the textbook baseline, all in one binary.
#include <benchmark/benchmark.h>

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "clock.h"
#include "flight_table.h"

namespace {

using threadflight::FlightTable;
using threadflight::Limits;
using threadflight::Notice;

std::vector<std::string> MakeKeys(int thread) {
  std::vector<std::string> keys;
  for (int i = 0; i < 4096; ++i) keys.push_back("user:" + std::to_string(thread) + ":" + std::to_string(i));
  return keys;
}

// The textbook singleflight table: one mutex around one map.
class MutexMapTable {
 public:
  bool join(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto [it, inserted] = flights_.try_emplace(key, 1);
    if (!inserted) ++it->second;
    return inserted;
  }
  void settle(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    flights_.erase(key);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, int> flights_;
};

// Shared by the benchmark's threads; function-local statics are initialized once, safely.
FlightTable& Sharded() {
  static FlightTable table(Limits{});
  return table;
}
FlightTable& OneShard() {
  static FlightTable table(Limits{}, 1);
  return table;
}
MutexMapTable& MutexMap() {
  static MutexMapTable table;
  return table;
}

void JoinSettle(benchmark::State& state, FlightTable& table) {
  const auto keys = MakeKeys(state.thread_index());
  const threadflight::EnvId env = 1 + state.thread_index();
  std::vector<Notice> notices;
  size_t i = 0;
  for (auto _ : state) {
    const std::string& key = keys[i++ & 4095];
    auto joined = table.join(key, threadflight::monotonic_ns(), env);
    table.settle(joined.cell, joined.id, env, false, notices);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Sharded(benchmark::State& state) { JoinSettle(state, Sharded()); }
void BM_OneShard(benchmark::State& state) { JoinSettle(state, OneShard()); }
void BM_MutexUnorderedMap(benchmark::State& state) {
  MutexMapTable& table = MutexMap();
  const auto keys = MakeKeys(state.thread_index());
  size_t i = 0;
  for (auto _ : state) {
    const std::string& key = keys[i++ & 4095];
    if (table.join(key)) table.settle(key);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Sharded)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_OneShard)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_MutexUnorderedMap)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
