// Threads as participants: each std::thread plays one JS thread (an EnvId) with a mailbox
// standing in for its ThreadSafeFunction. They lead, follow, get notified, leave, and die.
#include "clock.h"
#include "flight_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace threadflight {
namespace {

constexpr int64_t kNow = 0;  // when queries are asked: no flight here is past its max_duration

enum class MailKind { kOutcome, kLead };

struct Mail {
  MailKind kind;
  Notice notice;
};

// The world of the test: tables' notices are posted to the addressee's mailbox.
class World {
 public:
  explicit World(FlightTable& table) : table_(table) {}

  // Like a ThreadSafeFunction call: mail for a dead thread is never delivered; it is
  // acknowledged (an outcome) or declined (a lead) on the spot, as the binding does.
  void post(MailKind kind, std::vector<Notice>& notices) {
    std::vector<Notice> redirected;
    for (Notice& n : notices) {
      Box& box = box_of(n.to.env);
      std::unique_lock<std::mutex> lock(box.mutex);
      if (!box.dead) {
        box.mail.push_back(Mail{kind, std::move(n)});
        continue;
      }
      lock.unlock();
      dead_letters_.fetch_add(1);
      if (kind == MailKind::kOutcome) {
        table_.acknowledge(n);
      } else {
        table_.decline_lead(n, redirected);
      }
    }
    notices.clear();
    if (!redirected.empty()) post(MailKind::kLead, redirected);
  }

  std::vector<Mail> take(EnvId env) {
    Box& box = box_of(env);
    std::lock_guard<std::mutex> lock(box.mutex);
    std::vector<Mail> out;
    out.swap(box.mail);
    return out;
  }

  // Marks the thread dead; returns its undelivered mail (the binding drains the queue so).
  std::vector<Mail> kill(EnvId env) {
    Box& box = box_of(env);
    std::lock_guard<std::mutex> lock(box.mutex);
    box.dead = true;
    std::vector<Mail> out;
    out.swap(box.mail);
    return out;
  }

  std::atomic<int64_t> dead_letters_{0};

 private:
  FlightTable& table_;
  struct Box {
    std::mutex mutex;
    std::vector<Mail> mail;
    bool dead = false;
  };
  Box& box_of(EnvId env) {
    std::lock_guard<std::mutex> lock(boxes_mutex_);
    return boxes_[env];  // std::map: a box never moves once created
  }

  std::mutex boxes_mutex_;
  std::map<EnvId, Box> boxes_;
};

struct Counters {
  std::atomic<int64_t> led{0}, followed{0}, rejected{0}, handovers{0}, notified{0}, left{0};
};

class Participant {
 public:
  Participant(FlightTable& table, World& world, Counters& counters, EnvId env, uint32_t seed)
      : table_(table), world_(world), counters_(counters), env_(env), rng_(seed) {}

  void step(const std::string& key) {
    JoinResult j = table_.join(key, monotonic_ns(), env_);
    switch (j.role) {
      case Role::kLeader:
        ++counters_.led;
        leading_.push_back(Waiting{key, j.cell, j.id});
        break;
      case Role::kFollower: {
        ++counters_.followed;
        // A thread may join one flight more than once here (JS would not: its Map catches
        // the repeat), so waits are counted per flight.
        waiting_.emplace(j.id, Waiting{key, j.cell, j.id});
        Notice abandoned;
        if (rng_() % 8 == 0 && table_.leave(j.cell, j.id, threadflight::Participant{env_, j.lane}, abandoned) !=
                                   LeaveResult::kNotWaiting) {
          ++counters_.left;
          waiting_.erase(waiting_.find(j.id));
        }
        break;
      }
      case Role::kRejected:
        ++counters_.rejected;
        break;
      case Role::kExhausted:
        ADD_FAILURE() << "arena exhausted";
        break;
    }
    read_mail();
    std::this_thread::yield();  // interleave the threads even on few cores
  }

  void read_mail() {
    for (Mail& mail : world_.take(env_)) {
      auto it = waiting_.find(mail.notice.flight->id);
      if (it == waiting_.end()) {
        ADD_FAILURE() << "mail for a flight this thread does not wait for";
        continue;
      }
      const Waiting w = it->second;
      waiting_.erase(it);
      if (mail.kind == MailKind::kOutcome) {
        ++counters_.notified;
        table_.acknowledge(mail.notice);
      } else {
        ++counters_.handovers;
        leading_.push_back(w);
      }
    }
    // Work takes a while: settle a random one of the flights led, now and then.
    if (!leading_.empty() && rng_() % 3 == 0) {
      const size_t pick = rng_() % leading_.size();
      const Waiting done = leading_[pick];
      leading_.erase(leading_.begin() + static_cast<long>(pick));
      settle(done.cell, done.id);
    }
  }

  bool idle() const { return waiting_.empty() && leading_.empty(); }

  // Keeps serving mail (outcomes and hand-overs) until every thread is done and this one idle.
  void serve_until_all_done(const std::atomic<int>& running) {
    while (!idle() || running.load() > 0) {
      read_mail();
      std::this_thread::yield();
    }
    read_mail();
  }

  // Dies: its queued mail is drained (outcomes acknowledged, leads declined), then the table
  // forgets it, handing what it led to others.
  void die() {
    std::vector<Notice> handovers;
    for (Mail& mail : world_.kill(env_)) {
      if (mail.kind == MailKind::kOutcome) {
        table_.acknowledge(mail.notice);
      } else {
        table_.decline_lead(mail.notice, handovers);
      }
    }
    std::vector<Notice> abandoned;
    table_.forget_env(env_, handovers, abandoned);
    world_.post(MailKind::kLead, handovers);
    waiting_.clear();
    leading_.clear();
  }

 private:
  struct Waiting {
    std::string key;
    uint32_t cell;
    uint64_t id;
  };

  void settle(uint32_t cell, uint64_t id) {
    std::vector<Notice> notify;
    SettleResult r = table_.settle(cell, id, env_, /*have_outcome=*/false, notify);
    if (r == SettleResult::kNeedsPayload) r = table_.settle(cell, id, env_, true, notify);
    ASSERT_TRUE(r == SettleResult::kDone || r == SettleResult::kNotify);
    world_.post(MailKind::kOutcome, notify);
  }

  FlightTable& table_;
  World& world_;
  Counters& counters_;
  const EnvId env_;
  std::mt19937 rng_;
  std::multimap<uint64_t, Waiting> waiting_;
  std::vector<Waiting> leading_;
};

class StressTest : public ::testing::TestWithParam<uint32_t /*shards*/> {};

TEST_P(StressTest, EveryWaiterIsNotifiedOrHandedTheLeadAndNothingLeaks) {
  constexpr int kThreads = 8;
  constexpr int kIterations = 6'000;
  FlightTable table(Limits{/*max_subscribers=*/5, int64_t{60'000} * 1'000'000}, GetParam());
  World world(table);
  Counters counters;
  std::atomic<int> running{kThreads};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Participant me(table, world, counters, static_cast<EnvId>(t), 1000 + t);
      std::mt19937 rng(t);
      for (int i = 0; i < kIterations; ++i) me.step("key:" + std::to_string(rng() % 8));
      running.fetch_sub(1);
      me.serve_until_all_done(running);
    });
  }
  for (auto& th : threads) th.join();

  EXPECT_EQ(counters.followed.load(), counters.notified.load() + counters.left.load());
  EXPECT_GT(counters.followed.load(), 0) << "no coalescing across threads happened";
  EXPECT_GT(counters.rejected.load(), 0) << "max_subscribers was never reached";
  EXPECT_EQ(table.size(kNow), 0u);
  EXPECT_EQ(table.owned_cells(), 0u);
  EXPECT_EQ(table.stats(kNow).subscribers, 0);
}

TEST_P(StressTest, DyingThreadsHandTheirFlightsOverAndNothingLeaks) {
  constexpr int kThreads = 8;
  constexpr int kMortal = 4;  // threads 0..3 live many short lives, like workers restarted
  constexpr int kLives = 40;
  constexpr int kStepsPerLife = 60;
  constexpr int kIterations = kLives * kStepsPerLife;
  FlightTable table(Limits{1'000'000, int64_t{60'000} * 1'000'000}, GetParam());
  World world(table);
  Counters counters;
  std::atomic<int> running{kThreads};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      if (t < kMortal) {
        for (int life = 0; life < kLives; ++life) {
          const EnvId env = 1000 * (t + 1) + life;
          Participant me(table, world, counters, env, static_cast<uint32_t>(env));
          for (int i = 0; i < kStepsPerLife; ++i) me.step("hot:" + std::to_string(rng() % 3));
          me.die();  // with flights it leads and waits for still open
        }
        running.fetch_sub(1);
        return;
      }
      Participant me(table, world, counters, static_cast<EnvId>(t), 2000 + t);
      for (int i = 0; i < kIterations; ++i) me.step("hot:" + std::to_string(rng() % 3));
      running.fetch_sub(1);
      me.serve_until_all_done(running);
    });
  }
  for (auto& th : threads) th.join();

  EXPECT_GT(counters.handovers.load(), 0) << "no flight was ever handed over";
  EXPECT_EQ(table.size(kNow), 0u);
  EXPECT_EQ(table.owned_cells(), 0u);
  EXPECT_EQ(table.stats(kNow).subscribers, 0);
}

INSTANTIATE_TEST_SUITE_P(Shards, StressTest, ::testing::Values(1u, 16u),
                         [](const auto& info) { return "shards_" + std::to_string(info.param); });

}  // namespace
}  // namespace threadflight
