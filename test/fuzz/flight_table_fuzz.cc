// libFuzzer target: random sequences of join / local join / caller leave / settle /
// acknowledge / forget / clear / thread death / time, from several simulated threads, checked
// after every step against a reference model of the table (flights, participants, counts,
// and which cells are still owned). The input's first byte picks the table: a limit of 6
// callers (every caller counts) or none (each thread's part counts once).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flight_table.h"

namespace threadflight {
namespace {

[[noreturn]] void Fail(const char* what) {
  fprintf(stderr, "model mismatch: %s\n", what);
  abort();
}
#define CHECK(cond)           \
  do {                        \
    if (!(cond)) Fail(#cond); \
  } while (0)

constexpr int64_t kMs = 1'000'000;
constexpr int kKeys = 4;
constexpr int kThreads = 4;

struct Part {
  EnvId env;
  uint32_t lane;
  int32_t callers;  // what JS keeps in the lane
};

struct ModelFlight {
  uint64_t id;
  std::string key;
  uint32_t cell;
  int64_t started;
  Part leader;
  std::vector<Part> waiters;
  bool joinable = true;
  bool finished = false;
  // Callers in every thread.
  int32_t total() const {
    int32_t t = finished ? 0 : leader.callers;
    for (const Part& w : waiters) t += w.callers;
    return t;
  }
  // Parts (threads) that have callers.
  int32_t parts_with_callers() const {
    int32_t n = !finished && leader.callers > 0 ? 1 : 0;
    for (const Part& w : waiters) n += w.callers > 0 ? 1 : 0;
    return n;
  }
};

class Harness {
 public:
  explicit Harness(int32_t limit)
      : limit_(limit),
        unlimited_(limit == std::numeric_limits<int32_t>::max()),
        table_(Limits{limit, /*max_duration_ns=*/50 * kMs}, 2, &seeded_hash, arena_) {
    for (int t = 0; t < kThreads; ++t) envs_[t] = next_env_++;
  }

  void Step(uint8_t op, uint8_t a, uint8_t b) {
    const int thread = a % kThreads;
    const std::string key = "k" + std::to_string(b % kKeys);
    switch (op % 9) {
      case 0:
      case 1:
        Call(thread, key);
        break;
      case 2:
        LeaveCaller(thread, b);
        break;
      case 3:
        SettleOne(a, b % 2 == 0);
        break;
      case 4:
        if (b % 2 == 0)
          AckOne(a);
        else
          DeliverStop(a);
        break;
      case 5:
        CHECK(table_.forget(key) == Forget(key));
        break;
      case 6:
        if (b % 4 == 0) {
          table_.clear();
          for (auto& f : flights_) MakeUnjoinable(*f);
        }
        break;
      case 7:
        if (b % 3 == 0) Kill(thread);
        break;
      case 8:
        now_ += (b % 30) * kMs;
        break;
    }
    Verify();
  }

  void Finish() {
    while (!pending_.empty()) AckOne(0);
    while (!stops_.empty()) DeliverStop(0);
    for (size_t guard = 0; guard < 10000; ++guard) {
      ModelFlight* open = nullptr;
      for (auto& f : flights_)
        if (!f->finished) open = f.get();
      if (open == nullptr) break;
      Settle(*open, true);
      while (!pending_.empty()) AckOne(0);
    }
    Verify();
    CHECK(table_.size(now_) == 0);
    CHECK(table_.owned_cells() == 0);
  }

 private:
  ModelFlight* Attached(const std::string& key) {
    for (auto& f : flights_)
      if (f->joinable && f->key == key) return f.get();
    return nullptr;
  }
  Part* PartOf(ModelFlight& f, EnvId env) {
    if (!f.finished && f.leader.env == env) return &f.leader;
    for (Part& w : f.waiters)
      if (w.env == env) return &w;
    return nullptr;
  }
  void MakeUnjoinable(ModelFlight& f) { f.joinable = false; }
  bool Forget(const std::string& key) {
    ModelFlight* f = Attached(key);
    if (f) MakeUnjoinable(*f);
    return f != nullptr;
  }

  // A caller in `thread` asks for `key`: a thread already in the key's joinable flight joins
  // it locally (as JS does: counters only); otherwise the table decides.
  void Call(int thread, const std::string& key) {
    const EnvId env = envs_[thread];
    ModelFlight* f = Attached(key);
    const bool joinable = f && now_ - f->started < 50 * kMs && f->total() > 0;
    if (f && joinable) {
      if (Part* mine = PartOf(*f, env)) {
        if (f->total() < limit_) {
          // Unlimited, a part that has callers already counts (JS: its lane alone).
          if (!unlimited_ || mine->callers == 0) table_.arena().at(f->cell).subscribers.fetch_add(1);
          table_.arena().at(mine->lane).lane.fetch_add(1);
          ++mine->callers;
        }
        return;
      }
    }
    JoinResult j = table_.join(key, now_, env);
    if (f && joinable) {
      if (f->total() >= limit_) {
        CHECK(j.role == Role::kRejected);
        return;
      }
      CHECK(j.role == Role::kFollower);
      CHECK(j.cell == f->cell && j.id == f->id);
      f->waiters.push_back(Part{env, j.lane, 1});
      return;
    }
    CHECK(j.role == Role::kLeader);
    if (f) MakeUnjoinable(*f);
    auto flight = std::make_unique<ModelFlight>();
    *flight = ModelFlight{j.id, key, j.cell, now_, Part{env, j.cell, 1}, {}, true, false};
    flights_.push_back(std::move(flight));
  }

  // One caller of `thread` (in some flight it takes part in) leaves, as an aborted signal does.
  void LeaveCaller(int thread, uint8_t pick) {
    const EnvId env = envs_[thread];
    std::vector<ModelFlight*> mine;
    for (auto& f : flights_)
      if (!f->finished && PartOf(*f, env) && PartOf(*f, env)->callers > 0) mine.push_back(f.get());
    if (mine.empty()) return;
    ModelFlight& f = *mine[pick % mine.size()];
    Part& part = *PartOf(f, env);
    if (!unlimited_ || part.callers == 1) table_.arena().at(f.cell).subscribers.fetch_sub(1);
    table_.arena().at(part.lane).lane.fetch_sub(1);
    --part.callers;
    if (part.callers > 0) return;
    if (&part == &f.leader) {
      if (f.total() == 0) Settle(f, true);  // abandoned by its own thread
      return;
    }
    Notice abandoned;
    const LeaveResult r = table_.leave(f.cell, f.id, Participant{env, part.lane}, abandoned);
    for (auto it = f.waiters.begin(); it != f.waiters.end(); ++it) {
      if (it->env == env) {
        f.waiters.erase(it);
        break;
      }
    }
    if (f.total() == 0) {
      CHECK(r == LeaveResult::kAbandoned);
      CHECK(abandoned.to.env == f.leader.env);
      MakeUnjoinable(f);
      stops_.push_back(f.id);  // the message to the leader is in transit
    } else {
      CHECK(r == LeaveResult::kLeft);
    }
  }

  void SettleOne(uint8_t pick, bool eager) {
    std::vector<ModelFlight*> open;
    for (auto& f : flights_)
      if (!f->finished) open.push_back(f.get());
    if (!open.empty()) Settle(*open[pick % open.size()], eager);
  }

  void Settle(ModelFlight& f, bool eager) {
    std::vector<Notice> notices;
    SettleResult r = table_.settle(f.cell, f.id, f.leader.env, /*have_outcome=*/eager, notices);
    if (!f.waiters.empty() && !eager) {
      CHECK(r == SettleResult::kNeedsPayload);
      MakeUnjoinable(f);
      r = table_.settle(f.cell, f.id, f.leader.env, true, notices);
    }
    CHECK(r == (f.waiters.empty() ? SettleResult::kDone : SettleResult::kNotify));
    CHECK(notices.size() == f.waiters.size());
    for (size_t i = 0; i < notices.size(); ++i) {
      CHECK(notices[i].to.env == f.waiters[i].env && notices[i].to.lane == f.waiters[i].lane);
      pending_.push_back(Pending{std::move(notices[i]), f.waiters[i].callers});
    }
    f.waiters.clear();
    f.finished = true;
    MakeUnjoinable(f);
    // A second settle is refused.
    std::vector<Notice> none;
    CHECK(table_.settle(f.cell, f.id, f.leader.env, true, none) == SettleResult::kNotLeader);
  }

  // The leader's thread reads "everyone left": it stops unless a caller of its own came back.
  void DeliverStop(uint8_t pick) {
    if (stops_.empty()) return;
    auto it = stops_.begin() + (pick % stops_.size());
    const uint64_t id = *it;
    stops_.erase(it);
    for (auto& f : flights_) {
      if (f->id == id && !f->finished && f->leader.callers == 0) Settle(*f, true);
    }
  }

  void AckOne(uint8_t pick) {
    if (pending_.empty()) return;
    auto it = pending_.begin() + (pick % pending_.size());
    table_.acknowledge(it->notice);
    pending_.erase(it);
  }

  // The thread dies: queued notices to it are acknowledged, the table forgets it, and it is
  // reborn with a new id. Hand-overs are accepted by their new leader.
  void Kill(int thread) {
    const EnvId env = envs_[thread];
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->notice.to.env == env) {
        table_.acknowledge(it->notice);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    std::vector<Notice> handovers, abandoned;
    table_.forget_env(env, handovers, abandoned);
    size_t expected_handovers = 0, expected_stops = 0;
    for (auto& f : flights_) {
      if (f->finished) continue;
      bool waited = false;
      for (auto it = f->waiters.begin(); it != f->waiters.end();) {
        waited = waited || it->env == env;
        it = it->env == env ? f->waiters.erase(it) : it + 1;
      }
      if (f->leader.env == env) {
        if (f->waiters.empty()) {
          f->finished = true;
          MakeUnjoinable(*f);
        } else {
          f->leader = f->waiters.front();
          f->waiters.erase(f->waiters.begin());
          ++expected_handovers;
        }
      } else if (waited && f->total() == 0) {
        MakeUnjoinable(*f);  // abandoned: its leader (alive) is told to stop
        stops_.push_back(f->id);
        ++expected_stops;
      }
    }
    CHECK(handovers.size() == expected_handovers);
    CHECK(abandoned.size() == expected_stops);
    envs_[thread] = next_env_++;
  }

  void Verify() {
    size_t joinable = 0;
    int64_t subscribers = 0;
    size_t owned = pending_.size();  // each pending notice still holds its waiter's lane
    for (auto& f : flights_) {
      // Queries leave out flights past max_duration, still entries until a join replaces them.
      if (f->joinable && now_ - f->started < 50 * kMs) {
        ++joinable;
        subscribers += f->total();
      }
      const bool cell_held = !f->finished || std::any_of(pending_.begin(), pending_.end(), [&](const Pending& p) {
        return p.notice.flight->id == f->id;
      });
      if (cell_held) ++owned;
      if (!f->finished) {
        const int32_t counted = unlimited_ ? f->parts_with_callers() : f->total();
        CHECK(table_.arena().at(f->cell).subscribers.load() == counted);
        if (f->leader.lane != f->cell) ++owned;
        owned += f->waiters.size();
      }
    }
    CHECK(table_.size(now_) == joinable);
    CHECK(table_.stats(now_).subscribers == subscribers);
    CHECK(table_.owned_cells() == owned);
  }

  struct Pending {
    Notice notice;
    int32_t callers;
  };

  const int32_t limit_;
  const bool unlimited_;
  CellArena arena_{/*max_pages=*/4};  // private: each input starts from a clean arena
  FlightTable table_;
  std::vector<std::unique_ptr<ModelFlight>> flights_;
  std::deque<Pending> pending_;
  std::vector<uint64_t> stops_;  // flights whose leader has yet to hear that everyone left
  EnvId envs_[kThreads];
  EnvId next_env_ = 1;
  int64_t now_ = 0;
};

}  // namespace
}  // namespace threadflight

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  threadflight::Harness harness(data[0] % 2 == 0 ? 6 : std::numeric_limits<int32_t>::max());
  for (size_t i = 0; i + 2 < size && i < 3 * 400; i += 3) harness.Step(data[i], data[i + 1], data[i + 2]);
  harness.Finish();
  return 0;
}
