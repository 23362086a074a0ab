// Randomized model test: random put/get/delete/overwrite/expire/conditional-put
// operations against the engine and a reference map, on a tiny store (64 KiB
// stripes) so the ring wraps many times and relocations happen constantly.
//
// Assertion: every get returns a miss or exactly the latest value stored for
// that key: never an older one, never a deleted or expired one, never corrupt
// bytes. Operation count: $COSS_MODEL_OPS (default 1,000,000; sanitizer runs use fewer).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include "support/engine_fixture.h"
#include "support/fault_device.h"

namespace coss::testing {
namespace {

// Value bytes are a function of (key id, write serial), so a mixed-up or stale
// value can never compare equal by accident.
std::string MakeValue(uint32_t key, uint64_t serial, uint32_t len) {
  std::string v(len, '\0');
  uint64_t x = (uint64_t{key} << 32) ^ serial ^ 0x9E3779B97F4A7C15ull;
  for (uint32_t i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v[i] = static_cast<char>(x);
  }
  return v;
}

struct Expect {
  uint64_t serial;
  uint32_t len;
  uint32_t flags;
  int64_t expiry;
};

struct Model {
  std::unordered_map<uint32_t, Expect> ref;
  uint64_t serial = 0;
  uint64_t gets = 0, hits = 0, present_gets = 0;
};

std::atomic<int64_t> g_now{1'700'000'000};

// One random operation on key space [base, base + keys). Returns false on a violation.
void Step(Engine& e, Model& m, std::mt19937_64& rng, uint32_t base, uint32_t keys,
          bool advance_clock) {
  const uint32_t id = base + static_cast<uint32_t>(rng() % keys);
  const std::string key = "key:" + std::to_string(id);
  const int op = static_cast<int>(rng() % 100);
  auto value_len = [&] {
    const uint32_t r = rng() % 100;
    return r < 70 ? 1 + rng() % 1500 : (r < 97 ? 1 + rng() % 6000 : 1 + rng() % 16000);
  };
  if (op < 45) {  // get
    auto g = e.GetSync(key);
    m.gets++;
    auto it = m.ref.find(id);
    const bool live =
        it != m.ref.end() && (it->second.expiry == 0 || it->second.expiry > g_now.load());
    if (!live) {
      ASSERT_EQ(g.status.code(), Code::kNotFound) << key << " returned a deleted or expired value";
      return;
    }
    m.present_gets++;
    if (g.status.code() == Code::kNotFound) return;  // evicted: a miss is always allowed
    ASSERT_TRUE(g.status.ok()) << g.status.ToString();
    m.hits++;
    ASSERT_EQ(g.item.value.size(), it->second.len) << key << " wrong length (stale or corrupt)";
    ASSERT_TRUE(g.item.value == MakeValue(id, it->second.serial, it->second.len))
        << key << " stale or corrupt bytes";
    ASSERT_EQ(g.item.flags, it->second.flags);
  } else if (op < 80) {  // put / overwrite, some with expiry
    const uint32_t len = static_cast<uint32_t>(value_len());
    const uint64_t serial = ++m.serial;
    const uint32_t flags = static_cast<uint32_t>(rng());
    int64_t expiry = 0;
    if (rng() % 8 == 0)
      expiry = g_now.load() + static_cast<int64_t>(rng() % 5) - 1;  // some already expired
    const std::string v = MakeValue(id, serial, len);
    auto r = PutStr(e, key, v, flags, expiry);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    m.ref[id] = Expect{serial, len, flags, expiry};
  } else if (op < 90) {  // delete
    const Status s = e.Remove(key);
    ASSERT_TRUE(s.ok() || s.code() == Code::kNotFound) << s.ToString();
    m.ref.erase(id);
  } else if (op < 96) {  // conditional put on what a get just saw (add / cas)
    auto g = e.GetSync(key);
    const uint32_t len = static_cast<uint32_t>(value_len());
    const uint64_t serial = ++m.serial;
    const std::string v = MakeValue(id, serial, len);
    PutRequest req{.key = key, .value = v, .flags = 7, .conditional = true, .expect = g.seen};
    auto r = e.Put(req);
    if (r.status.code() == Code::kExists) {
      // Legitimate losers in a single-threaded run: making room for the record
      // reclaimed the stripe holding the key (the key is gone), or a background
      // reinsertion at eviction (issue 6) moved the key since the get: then it
      // still holds exactly its latest value.
      auto after = e.GetSync(key);
      if (after.status.code() == Code::kNotFound) {
        m.ref.erase(id);
        return;
      }
      auto it = m.ref.find(id);
      ASSERT_TRUE(after.status.ok() && it != m.ref.end() && e.Stats().reinsertions > 0 &&
                  after.item.value == MakeValue(id, it->second.serial, it->second.len))
          << key << ": CAS lost to nothing";
      return;
    }
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    m.ref[id] = Expect{serial, len, 7, 0};
  } else if (op < 98) {
    if (advance_clock) g_now++;
  } else if (op < 99) {
    ASSERT_TRUE(e.Flush().ok());
  }
}

struct ModelParam {
  IoKind io;
  const char* relocation;
};

class ModelTest : public ::testing::TestWithParam<ModelParam> {
 protected:
  void SetUp() override {
    SetClockForTesting([] { return g_now.load(); });
  }
  void TearDown() override { SetClockForTesting(nullptr); }
  EngineOptions Opts() {
    auto o = SmallStore(dir_, GetParam().io, 2u << 20);  // 31 stripes of 64 KiB
    o.relocation = GetParam().relocation;
    return o;
  }
  TempDir dir_;
};

TEST_P(ModelTest, EveryGetIsAMissOrTheLatestValue) {
  const uint64_t ops =
      CountFromEnv("COSS_MODEL_OPS", 1'000'000) / 6;  // 6 parameterisations share the budget
  std::mt19937_64 rng(12345);
  Model m;
  auto e = MustOpen(Opts());
  ASSERT_TRUE(e);
  uint64_t relocations = 0, evictions = 0, reopens = 0;
  for (uint64_t i = 0; i < ops; i++) {
    Step(*e, m, rng, 0, 3000, true);
    if (HasFatalFailure()) return;
    if (i % 50'000 == 49'999) {  // restart: close and rebuild from the stripes
      relocations += e->Stats().relocations + e->Stats().reinsertions;
      evictions += e->Stats().evictions;
      reopens++;
      ASSERT_TRUE(e->Close().ok());
      e.reset();
      // Every other restart rebuilds from the stripes instead of the checkpoint.
      if (reopens % 2 == 0) std::filesystem::remove(Opts().devices[0].path + ".ckpt");
      e = MustOpen(Opts());
      ASSERT_TRUE(e);
    }
  }
  auto s = e->Stats();
  relocations += s.relocations + s.reinsertions;
  evictions += s.evictions;
  std::printf(
      "ops %llu gets %llu present %llu hits %llu relocations %llu evictions %llu reopens %llu\n",
      (unsigned long long)ops, (unsigned long long)m.gets, (unsigned long long)m.present_gets,
      (unsigned long long)m.hits, (unsigned long long)relocations, (unsigned long long)evictions,
      (unsigned long long)reopens);
  // Not vacuous: the ring wrapped, values were found, and (when enabled) relocated.
  EXPECT_GT(evictions, 0u);
  EXPECT_GT(m.hits, m.present_gets / 10) << "hits " << m.hits << " of " << m.present_gets;
  if (std::string(GetParam().relocation) != "never" && ops >= 20'000) {
    EXPECT_GT(relocations, 0u);
  }
  EXPECT_EQ(s.checksum_failures, 0u);
}

// Several threads on one engine, each with its own keys and reference.
TEST_P(ModelTest, ConcurrentClientsEachSeeTheirLatestValues) {
  const uint64_t ops = CountFromEnv("COSS_MODEL_OPS", 1'000'000) / 8;
  auto e = MustOpen(Opts());
  ASSERT_TRUE(e);
  constexpr int kThreads = 4;
  std::vector<std::thread> ts;
  std::atomic<uint64_t> hits{0};
  for (int t = 0; t < kThreads; t++) {
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(777 + t);
      Model m;
      for (uint64_t i = 0; i < ops / kThreads; i++) {
        Step(*e, m, rng, static_cast<uint32_t>(t) * 1000, 1000, false);
        if (::testing::Test::HasFatalFailure()) return;
      }
      hits += m.hits;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_GT(hits.load(), 0u);
  EXPECT_EQ(e->Stats().checksum_failures, 0u);
}

// --- Shared keys, flush_all, crashes and EIO -------------------------------
//
// Threads write, delete, read and flush_all one shared key space, so the same
// key is raced from every thread; injected EIO hits reads, writes and (once)
// an fdatasync; every phase ends in a crash (the store file copied as it is on
// disk while the engine runs) and the run goes on from the copy.
//
// The check is real-time order (linearizability, without guessing the order
// of overlapping operations): each operation takes a logical start before it
// calls the engine and an end after it returns. A get that starts after a write
// or delete Q of its key ended, or after a flush_all ended, may not return a
// value P whose put ended before Q started. After a crash, the same holds for
// every Q that had been acknowledged durable before the copy; what was not
// durable may have been lost, so it no longer supersedes anything.
struct HistoryOp {
  bool put = false;  // else a delete or (in the clear list) a flush_all
  uint64_t serial = 0;
  uint64_t start = 0;
  uint64_t end = ~uint64_t{0};  // ~0: still running (or never returned ok)
  bool failed = false;          // the engine refused it: it supersedes nothing
  bool maybe_lost = false;      // not durable at a crash: it supersedes nothing after
  std::atomic<bool> durable{false};
  bool durable_at_crash = false;
};

class History {
 public:
  explicit History(uint32_t keys) : keys_(keys) {}
  uint64_t Now() { return clock_.fetch_add(1) + 1; }

  HistoryOp* Begin(uint32_t id, bool put, uint64_t serial) {
    std::lock_guard lk(keys_[id].mu);
    auto& op = keys_[id].ops.emplace_back();
    op.put = put;
    op.serial = serial;
    op.start = Now();
    return &op;
  }
  void End(uint32_t id, HistoryOp* op, bool ok) {
    std::lock_guard lk(keys_[id].mu);
    op->end = Now();
    op->failed = !ok;
  }
  HistoryOp* BeginClear() {
    std::lock_guard lk(clear_mu_);
    auto& op = clears_.emplace_back();
    op.start = Now();
    return &op;
  }
  void EndClear(HistoryOp* op, bool ok) {
    std::lock_guard lk(clear_mu_);
    op->end = Now();
    op->failed = !ok;
    op->durable = ok;  // Clear returns once it is durable
  }

  // "" when a get of key `id` that started at `gs` may return the put `serial`.
  // after_crash: judge by what was durable at the crash instead.
  std::string Judge(uint32_t id, uint64_t serial, uint64_t gs, bool after_crash) {
    std::lock_guard lk(keys_[id].mu);
    const HistoryOp* p = nullptr;
    for (const auto& op : keys_[id].ops) {
      if (op.put && op.serial == serial) p = &op;
    }
    if (p == nullptr) return "a value that was never written for this key";
    auto supersedes = [&](const HistoryOp& q) {
      if (&q == p || q.failed || q.start <= p->end || p->end == ~uint64_t{0}) return false;
      if (after_crash) return q.durable_at_crash;
      return !q.maybe_lost && q.end < gs;
    };
    for (const auto& q : keys_[id].ops) {
      if (supersedes(q)) {
        return std::string("write ") + std::to_string(serial) + " returned although " +
               (q.put ? "write " + std::to_string(q.serial) : std::string("a delete")) +
               (after_crash ? " was durable before the crash" : " had ended before the get");
      }
    }
    std::lock_guard ck(clear_mu_);
    for (const auto& c : clears_) {
      if (supersedes(c)) return "write " + std::to_string(serial) + " survived a flush_all";
    }
    return "";
  }

  // At a crash, before the image is taken: what is durable now survives it.
  void SnapshotDurable() {
    for (auto& k : keys_) {
      std::lock_guard lk(k.mu);
      for (auto& op : k.ops) op.durable_at_crash = op.durable.load() && !op.maybe_lost;
    }
    std::lock_guard lk(clear_mu_);
    for (auto& op : clears_) op.durable_at_crash = op.durable.load() && !op.maybe_lost;
  }
  // After the crash checks: what was not durable may be gone.
  void ForgetNotDurable() {
    for (auto& k : keys_) {
      std::lock_guard lk(k.mu);
      for (auto& op : k.ops) op.maybe_lost = !op.durable_at_crash;
    }
    std::lock_guard lk(clear_mu_);
    for (auto& op : clears_) op.maybe_lost = !op.durable_at_crash;
  }

 private:
  struct Key {
    std::mutex mu;
    std::deque<HistoryOp> ops;  // GUARDED_BY(mu); a deque keeps HistoryOp* stable
  };
  std::atomic<uint64_t> clock_{0};
  std::vector<Key> keys_;
  std::mutex clear_mu_;
  std::deque<HistoryOp> clears_;  // GUARDED_BY(clear_mu_)
};

// Value: serial (8 bytes), key id (4), then MakeValue bytes; at least 12 bytes.
std::string Bytes(uint32_t id, uint64_t serial, uint32_t len) {
  std::string v(12, '\0');
  std::memcpy(v.data(), &serial, 8);
  std::memcpy(v.data() + 8, &id, 4);
  return v + MakeValue(id, serial, len);
}

// The serial a value claims, or 0 when its bytes are not a value of key `id`.
uint64_t SerialOf(uint32_t id, const std::string& v) {
  if (v.size() < 12) return 0;
  uint64_t serial;
  uint32_t got;
  std::memcpy(&serial, v.data(), 8);
  std::memcpy(&got, v.data() + 8, 4);
  if (got != id || v != Bytes(id, serial, static_cast<uint32_t>(v.size() - 12))) return 0;
  return serial;
}

struct SharedCounts {
  std::atomic<uint64_t> hits{0}, judged_after_crash{0}, failed_writes{0}, durable_errors{0},
      clears{0};
};

TEST_P(ModelTest, SharedKeysFlushAllCrashesAndIoErrors) {
  constexpr uint32_t kKeys = 400;
  constexpr int kThreads = 4, kPhases = 8;
  const uint64_t ops = std::max<uint64_t>(CountFromEnv("COSS_MODEL_OPS", 1'000'000) / 2, 8000);
  History h(kKeys);
  SharedCounts n;
  std::atomic<uint64_t> serials{0};
  FaultDevice* dev = nullptr;
  auto open = [&](const std::string& file) {
    auto o = Opts();
    o.devices[0].path = dir_.file(file);
    o.checkpoint_interval_s = 0;  // the workload checkpoints now and then itself
    return MustOpen(o, [&](uint32_t, std::unique_ptr<Device> d) {
      auto f = std::make_unique<FaultDevice>(std::move(d));
      dev = f.get();
      return f;
    });
  };
  auto e = open("era0");
  ASSERT_TRUE(e);
  uint64_t journal_errors = 0, io_errors = 0;
  for (int phase = 0; phase < kPhases; phase++) {
    // One phase fails an fdatasync: the journal stays failed until the restart.
    if (phase == kPhases / 2) dev->fail_syncs = 1;
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; t++) {
      ts.emplace_back([&, t] {
        std::mt19937_64 rng(9000 + phase * kThreads + t);
        for (uint64_t i = 0; i < ops / kPhases / kThreads; i++) {
          const auto id = static_cast<uint32_t>(rng() % kKeys);
          const std::string key = "shared:" + std::to_string(id);
          const int op = static_cast<int>(rng() % 1000);
          if (op < 450) {
            if (rng() % 200 == 0) dev->fail_reads = 1;
            const uint64_t gs = h.Now();
            const GetResult g = e->GetSync(key);
            if (g.status.code() == Code::kIoError) continue;   // a miss, as far as a reader knows
            if (g.status.code() == Code::kNotFound) continue;  // always allowed
            ASSERT_TRUE(g.status.ok()) << g.status.ToString();
            const uint64_t serial = SerialOf(id, g.item.value.str());
            ASSERT_NE(serial, 0u) << key << ": corrupt or foreign bytes";
            const std::string err = h.Judge(id, serial, gs, false);
            ASSERT_TRUE(err.empty()) << key << ": " << err;
            n.hits++;
          } else if (op < 850) {
            if (rng() % 500 == 0) dev->fail_writes = 1;
            const uint64_t serial = ++serials;
            const auto len = static_cast<uint32_t>(rng() % 8 == 0 ? rng() % 9000 : rng() % 1200);
            const std::string v = Bytes(id, serial, len);
            HistoryOp* hop = h.Begin(id, true, serial);
            const PutResult r = PutStr(*e, key, v);
            h.End(id, hop, r.status.ok());
            if (!r.status.ok()) {
              n.failed_writes++;
              continue;
            }
            e->WhenDurable(r.ticket, [hop, &n](const Status& s) {
              if (s.ok()) {
                hop->durable = true;
              } else {
                n.durable_errors++;
              }
            });
          } else if (op < 990) {
            HistoryOp* hop = h.Begin(id, false, 0);
            WriteTicket t;
            const Status s = e->Remove(key, nullptr, &t);
            const bool ok = s.ok() || s.code() == Code::kNotFound;
            h.End(id, hop, ok);
            if (!ok) {
              n.failed_writes++;
              continue;
            }
            e->WhenDurable(t, [hop, &n](const Status& st) {
              if (st.ok()) {
                hop->durable = true;
              } else {
                n.durable_errors++;
              }
            });
          } else if (op < 991) {
            HistoryOp* hop = h.BeginClear();
            const Status s = e->Clear();
            h.EndClear(hop, s.ok());
            n.clears++;
          } else if (op < 997) {
            (void)e->Flush();  // may fail under injected EIO; the model does not depend on it
          } else {
            (void)e->Checkpoint();
          }
        }
      });
    }
    for (auto& t : ts) t.join();
    if (HasFatalFailure()) return;
    journal_errors += e->Stats().journal_errors;
    io_errors += e->Stats().io_errors;
    // Crash: what was durable before the copy began must survive it.
    h.SnapshotDurable();
    const std::string live = dir_.file("era" + std::to_string(phase));
    const std::string next = dir_.file("era" + std::to_string(phase + 1));
    std::filesystem::copy_file(live, next);
    // Odd crashes lose the checkpoint too: the restart rebuilds from the stripes.
    if (phase % 2 == 0 && std::filesystem::exists(live + ".ckpt"))
      std::filesystem::copy_file(live + ".ckpt", next + ".ckpt");
    (void)e->Close();
    e.reset();
    e = open("era" + std::to_string(phase + 1));
    ASSERT_TRUE(e) << "the store did not reopen after crash " << phase;
    for (uint32_t id = 0; id < kKeys; id++) {
      const std::string key = "shared:" + std::to_string(id);
      const GetResult g = e->GetSync(key);
      if (!g.status.ok()) {
        ASSERT_EQ(g.status.code(), Code::kNotFound) << key << ": " << g.status.ToString();
        continue;
      }
      const uint64_t serial = SerialOf(id, g.item.value.str());
      ASSERT_NE(serial, 0u) << key << ": corrupt or foreign bytes after crash " << phase;
      const std::string err = h.Judge(id, serial, h.Now(), true);
      ASSERT_TRUE(err.empty()) << key << " after crash " << phase << ": " << err;
      n.judged_after_crash++;
    }
    h.ForgetNotDurable();
    std::filesystem::remove(live);
  }
  std::printf(
      "hits %llu judged after crashes %llu I/O errors %llu failed writes %llu "
      "durability errors %llu flush_alls %llu journal errors %llu\n",
      (unsigned long long)n.hits.load(), (unsigned long long)n.judged_after_crash.load(),
      (unsigned long long)io_errors, (unsigned long long)n.failed_writes.load(),
      (unsigned long long)n.durable_errors.load(), (unsigned long long)n.clears.load(),
      (unsigned long long)journal_errors);
  // Not vacuous: values were judged live and after crashes, and every fault fired.
  EXPECT_GT(n.hits.load(), ops / 20);
  EXPECT_GT(n.judged_after_crash.load(), 0u);
  EXPECT_GT(io_errors, 0u) << "no injected EIO reached the engine";
  EXPECT_GT(n.clears.load(), 0u);
  EXPECT_GT(journal_errors, 0u) << "the injected fdatasync failure never reached the journal";
  EXPECT_GT(n.durable_errors.load() + n.failed_writes.load(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Engine, ModelTest,
    ::testing::Values(ModelParam{IoKind::kUring, "always"}, ModelParam{IoKind::kThreads, "always"},
                      ModelParam{IoKind::kUring, "tail:25"}, ModelParam{IoKind::kThreads, "never"},
                      // issue 6 policies: lazy reinsertion at eviction, ghost admission
                      ModelParam{IoKind::kUring, "reinsert:50+admit:duel"},
                      ModelParam{IoKind::kThreads, "tail:25+reinsert:20+admit:ghost"}),
    [](const auto& i) { return IoPolicyName(i.param.io, i.param.relocation); });

}  // namespace
}  // namespace coss::testing
