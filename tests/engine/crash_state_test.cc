// Crash-state explorer: the engine's promise checked against the power-cut
// fault model (tests/support/power_cut_device.h), not against an idealised copy.
//
// A seeded single-threaded workload (puts, overwrites, deletes — of present and
// absent keys —, flush_all, gets, flushes and checkpoints) runs on a real store
// file through a PowerCutDevice. At random points, most of them while a stripe
// write is not yet durable, the explorer builds four images of what a power cut
// may leave (pending writes all lost, all kept, and two random subsets; torn at
// 4 KiB and reordered), each with or without the index checkpoint (at random),
// opens each with a fresh engine (real I/O) and checks every key against the model:
//  * a key reads as a miss or as one of its values written at or after its last
//    acknowledged write (acknowledged = WhenDurable fired; a delete answered
//    NOT_FOUND and a returned Clear count too): never an older, deleted or
//    flushed value, never bytes that were not written for that key;
//  * a store always opens after a power cut;
//  * EveryImage...: the same engine runs on after each cut, and every image is
//    one power cut;
//  * RecoveriesOfRecoveries...: the run continues on one image of each cut
//    (opened again through a new PowerCutDevice), so recoveries of recoveries
//    are explored; a value the restarted engine served counts as durable from
//    then on: a later cut must not bring back anything older.
// $COSS_CRASH_IMAGES: images per test (default 600), shared by the parameterisations.
// $COSS_CRASH_SEED: added to each parameterisation's seed (default 0), to explore
// other workloads in long runs.
// $COSS_CRASH_DUMP=FILE: on the first violation, the image goes to FILE and the
// key's history to stdout (a debugging aid).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "engine/format.h"
#include "support/engine_fixture.h"
#include "support/power_cut_device.h"

namespace coss::testing {
namespace {

constexpr uint32_t kKeys = 40;

std::string KeyName(uint32_t id) {
  return "key" + std::to_string(id);
}

// "<serial>|" then bytes derived from (key, serial): a value is identified by
// its prefix and checked in full, so stale and corrupt bytes are both caught.
std::string MakeValue(uint32_t key, uint64_t serial, uint32_t len) {
  std::string v = std::to_string(serial) + "|";
  uint64_t x = (uint64_t{key} << 40) ^ serial ^ 0x9E3779B97F4A7C15ull;
  while (v.size() < len) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v.push_back(static_cast<char>('a' + x % 26));
  }
  return v;
}

// What happened to one key: writes in issue order. A serial is global.
struct Event {
  uint64_t serial;
  bool put;                // false: delete
  uint32_t len;            // put: value length
  bool not_found = false;  // delete: answered NOT_FOUND
};

class Model {
 public:
  uint64_t NewSerial() {
    std::lock_guard lk(mu_);
    const uint64_t s = next_++;
    acked_.resize(next_);
    return s;
  }
  void AddEvent(uint32_t key, Event e) { events_[key].push_back(e); }
  void AddClear(uint64_t serial) { clears_.push_back(serial); }

  uint64_t last_serial() {
    std::lock_guard lk(mu_);
    return next_ - 1;
  }

  // Snapshot of the acknowledged set (taken before an image is built).
  std::vector<bool> AckedNow() {
    std::lock_guard lk(mu_);
    return acked_;
  }

  // Empty string: fine. Otherwise what is wrong.
  std::string Check(uint32_t key, const GetResult& g, const std::vector<bool>& acked) const {
    // The newest acknowledged event wins: the key's own or a flush_all.
    uint64_t floor = 0;
    const auto& ev = Events(key);
    for (const Event& e : ev)
      if (e.serial < acked.size() && acked[e.serial]) floor = std::max(floor, e.serial);
    for (uint64_t c : clears_)
      if (c < acked.size() && acked[c]) floor = std::max(floor, c);
    if (g.status.code() == Code::kNotFound) return "";
    if (!g.status.ok()) return "get failed: " + g.status.ToString();
    const std::string v = g.item.value.str();
    const uint64_t serial = std::strtoull(v.c_str(), nullptr, 10);
    for (const Event& e : ev) {
      if (e.serial != serial || !e.put) continue;
      if (v != MakeValue(key, serial, e.len))
        return "corrupt value (serial " + v.substr(0, 12) + ")";
      if (serial < floor)
        return "stale value: serial " + std::to_string(serial) + " but serial " +
               std::to_string(floor) + " was acknowledged after it";
      return "";
    }
    return "a value never written for this key: " + v.substr(0, 16);
  }

  // After a recovery, a value the restarted engine serves came from the disk:
  // nothing older than it may come back after a later cut. A miss changes
  // nothing: the cache forgot the key, and its last acknowledged value may
  // still be served after a later restart (it is not stale).
  void Rebase(const GetResult& g) {
    if (!g.status.ok()) return;
    const uint64_t serial = std::strtoull(g.item.value.str().c_str(), nullptr, 10);
    std::lock_guard lk(mu_);
    if (serial < acked_.size()) acked_[serial] = true;
  }

  // Acknowledgements that arrive after a cut (the old engine stopping) are not
  // the image's: callbacks carry the generation they were made in.
  uint64_t generation() const { return gen_; }
  void NextGeneration() {
    std::lock_guard lk(mu_);
    gen_++;
  }
  void Ack(uint64_t serial, uint64_t gen) {
    std::lock_guard lk(mu_);
    if (gen == gen_) acked_[serial] = true;
  }

  const std::vector<Event>& Events(uint32_t key) const {
    static const std::vector<Event> none;
    auto it = events_.find(key);
    return it == events_.end() ? none : it->second;
  }

 private:
  std::mutex mu_;
  std::vector<bool> acked_;  // GUARDED_BY(mu_) once callbacks run
  uint64_t next_ = 1;
  std::map<uint32_t, std::vector<Event>> events_;
  std::vector<uint64_t> clears_;
  uint64_t gen_ = 0;  // GUARDED_BY(mu_)
};

struct Param {
  IoKind io;
  const char* policy;
};

class CrashStateTest : public ::testing::TestWithParam<Param> {
 protected:
  EngineOptions Opts(const std::string& file) {
    auto o = SmallStore(dir_, GetParam().io, 2u << 20);  // 30 stripes of 64 KiB
    o.devices[0].path = dir_.file(file);
    o.relocation = GetParam().policy;
    o.checkpoint_interval_s = 0;  // the workload checkpoints explicitly
    return o;
  }

  std::unique_ptr<Engine> OpenLive() {
    return MustOpen(Opts("live"), [this](uint32_t, std::unique_ptr<Device> d) {
      auto p = std::make_unique<PowerCutDevice>(std::move(d));
      dev_ = p.get();
      return p;
    });
  }

  void WriteImage(const std::string& file, const std::string& img, bool with_ckpt) {
    {
      std::ofstream out(dir_.file(file), std::ios::binary | std::ios::trunc);
      out.write(img.data(), static_cast<std::streamsize>(img.size()));
    }
    if (std::getenv("COSS_CRASH_DUMP") != nullptr) {
      std::filesystem::copy_file(dir_.file(file), dir_.file(file) + ".orig",
                                 std::filesystem::copy_options::overwrite_existing);
    }
    std::error_code ec;
    std::filesystem::remove(dir_.file(file) + ".ckpt", ec);
    if (with_ckpt && std::filesystem::exists(dir_.file("cut.ckpt"))) {
      std::filesystem::copy_file(dir_.file("cut.ckpt"), dir_.file(file) + ".ckpt");
    }
  }

  // One workload step; a violation is a fatal test failure.
  void Step(Engine& e, std::mt19937_64& rng) {
    const uint32_t id = static_cast<uint32_t>(rng() % kKeys);
    const std::string key = KeyName(id);
    const int op = static_cast<int>(rng() % 100);
    if (op < 50) {
      const uint32_t len =
          static_cast<uint32_t>(rng() % 100 < 80 ? 20 + rng() % 1500 : 20 + rng() % 9000);
      const uint64_t s = model_.NewSerial();
      const std::string v = MakeValue(id, s, len);
      auto r = PutStr(e, key, v);
      ASSERT_TRUE(r.status.ok()) << r.status.ToString();
      model_.AddEvent(id, {s, true, len});
      e.WhenDurable(r.ticket, [this, s, g = model_.generation()](const Status& d) {
        if (d.ok()) model_.Ack(s, g);
      });
      puts_++;
    } else if (op < 62) {
      const uint64_t s = model_.NewSerial();
      WriteTicket t;
      const Status st = e.Remove(key, nullptr, &t);
      ASSERT_TRUE(st.ok() || st.code() == Code::kNotFound) << st.ToString();
      model_.AddEvent(id, {s, false, 0, st.code() == Code::kNotFound});
      e.WhenDurable(t, [this, s, g = model_.generation()](const Status& d) {
        if (d.ok()) model_.Ack(s, g);
      });
    } else if (op < 63) {
      const uint64_t s = model_.NewSerial();
      ASSERT_TRUE(e.Clear().ok());
      model_.AddClear(s);
      model_.Ack(s, model_.generation());
      last_clear_ = s;
    } else if (op < 93) {
      // Without a crash: a miss or the latest value written since the engine
      // started (read-your-writes modulo eviction); for keys not written since,
      // what the restart may serve.
      auto g = e.GetSync(key);
      const auto& ev = model_.Events(id);
      if (g.status.ok() && !ev.empty() && ev.back().serial > life_start_) {
        const uint64_t serial = std::strtoull(g.item.value.str().c_str(), nullptr, 10);
        ASSERT_TRUE(ev.back().put && ev.back().serial == serial &&
                    g.item.value == MakeValue(id, serial, ev.back().len))
            << key << " served an older or foreign value with no crash in between";
        ASSERT_FALSE(cleared_after(ev.back().serial)) << key << " survived a flush_all";
      } else if (g.status.ok()) {
        const std::string err = model_.Check(id, g, model_.AckedNow());
        ASSERT_TRUE(err.empty()) << key << ": " << err;
      }
    } else if (op < 96) {
      ASSERT_TRUE(e.Flush().ok());
    } else {
      ASSERT_TRUE(e.Checkpoint().ok());
    }
  }

  bool cleared_after(uint64_t serial) const { return last_clear_ > serial; }

  // Opens `file` with a plain engine and checks every key.
  void Verify(const std::string& file, const std::vector<bool>& acked, const std::string& what) {
    auto e = MustOpen(Opts(file));
    if (!e) {
      ADD_FAILURE() << what << ": the store did not open after a power cut";
      return;
    }
    for (uint32_t id = 0; id < kKeys; id++) {
      const GetResult g = e->GetSync(KeyName(id));
      const std::string err = model_.Check(id, g, acked);
      if (!err.empty()) {
        ADD_FAILURE() << what << ": " << KeyName(id) << ": " << err;
        if (violations_ == 0 && std::getenv("COSS_CRASH_DUMP") != nullptr) {
          // Debugging aid: the image (as written, before this open changed it) and the key's
          // history.
          const std::string dump = std::getenv("COSS_CRASH_DUMP");
          const auto over = std::filesystem::copy_options::overwrite_existing;
          std::filesystem::copy_file(dir_.file(file) + ".orig", dump, over);
          // In chained mode, also the image this life started from, and the checkpoints.
          std::error_code ec;
          std::filesystem::copy_file(dir_.file("next.orig"), dump + ".start", over, ec);
          std::filesystem::copy_file(dir_.file("cut.ckpt"), dump + ".ckpt", over, ec);
          std::filesystem::copy_file(dir_.file("start.ckpt"), dump + ".start.ckpt", over, ec);
          for (const Event& ev : model_.Events(id))
            std::printf("  %s serial %llu %s%s acked %d\n", KeyName(id).c_str(),
                        (unsigned long long)ev.serial, ev.put ? "put" : "delete",
                        ev.not_found ? " (NOT_FOUND)" : "",
                        ev.serial < acked.size() ? int(acked[ev.serial]) : -1);
        }
        violations_++;
      }
      if (g.status.ok()) hits_++;
    }
  }

  // The workload, its cuts and their checks (see the file comment).
  void Explore(bool chain);

  TempDir dir_;
  PowerCutDevice* dev_ = nullptr;
  Model model_;
  uint64_t last_clear_ = 0;
  uint64_t life_start_ = 0;  // serials above it were issued by the running engine
  uint64_t puts_ = 0, hits_ = 0, violations_ = 0;
};

void CrashStateTest::Explore(bool chain) {
  const uint64_t images = CountFromEnv("COSS_CRASH_IMAGES", 600) / 4;  // four parameterisations
  const uint64_t seed = 0xC055 + static_cast<uint64_t>(GetParam().io) * 7 +
                        std::hash<std::string>{}(GetParam().policy) +
                        CountFromEnv("COSS_CRASH_SEED", 0);
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto e = OpenLive();
  ASSERT_TRUE(e);
  uint64_t built = 0, cuts = 0;
  while (built < images) {
    const int steps = 20 + static_cast<int>(rng() % 300);
    for (int i = 0; i < steps; i++) {
      Step(*e, rng);
      if (HasFatalFailure()) return;
    }
    // Most cuts land while a stripe write is not yet durable (the interesting
    // moment: torn, lost or reordered runs), some wherever the workload is.
    for (int i = 0; i < 400 && rng() % 4 != 0 && dev_->pending_stripe_writes() == 0; i++) {
      Step(*e, rng);
      if (HasFatalFailure()) return;
    }
    // The cut: several images of the same moment. The checkpoint file is
    // written with fsync and rename, so it is what the file system holds now.
    cuts++;
    if (std::getenv("COSS_CRASH_DUMP") != nullptr)
      std::printf("cut %llu after serial %llu\n", (unsigned long long)cuts,
                  (unsigned long long)model_.last_serial());
    std::error_code ec;
    std::filesystem::remove(dir_.file("cut.ckpt"), ec);
    if (std::filesystem::exists(dir_.file("live.ckpt")))
      std::filesystem::copy_file(dir_.file("live.ckpt"), dir_.file("cut.ckpt"));
    const std::vector<bool> acked = model_.AckedNow();
    const int per_cut = 4;
    std::string keep_img;
    bool keep_ckpt = false;
    for (int k = 0; k < per_cut && built < images; k++, built++) {
      const int keep = k == 0 ? 0 : (k == 1 ? 100 : static_cast<int>(rng() % 100));
      const std::string img = dev_->Crash(rng, keep);
      const bool ckpt = rng() % 2 == 0;
      WriteImage("img", img, ckpt);
      Verify("img", acked,
             "cut " + std::to_string(cuts) + " image " + std::to_string(k) + " (keep " +
                 std::to_string(keep) + "%, checkpoint " + (ckpt ? "yes" : "no") + ")");
      if (violations_ > 5) FAIL() << "too many violations; stopping";
      if (k == per_cut - 1 || rng() % 4 == 0) {
        keep_img = img;
        keep_ckpt = ckpt;
      }
    }
    if (!chain) continue;  // the same engine runs on: every image is one power cut
    // Go on from one image: the restarted engine's view is the new baseline.
    model_.NextGeneration();
    e.reset();
    dev_ = nullptr;
    WriteImage("next", keep_img, keep_ckpt);
    std::filesystem::rename(dir_.file("next"), dir_.file("live"));
    std::filesystem::remove(dir_.file("live.ckpt"), ec);
    if (keep_ckpt && std::filesystem::exists(dir_.file("next.ckpt")))
      std::filesystem::rename(dir_.file("next.ckpt"), dir_.file("live.ckpt"));
    if (std::getenv("COSS_CRASH_DUMP") != nullptr) {
      std::filesystem::remove(dir_.file("start.ckpt"), ec);
      if (keep_ckpt)
        std::filesystem::copy_file(dir_.file("live.ckpt"), dir_.file("start.ckpt"), ec);
    }
    e = OpenLive();
    ASSERT_TRUE(e) << "the store did not open after a power cut";
    for (uint32_t id = 0; id < kKeys; id++) {
      auto g = e->GetSync(KeyName(id));
      const std::string err = model_.Check(id, g, acked);
      ASSERT_TRUE(err.empty()) << "continuing from cut " << cuts << ": " << KeyName(id) << ": "
                               << err;
      model_.Rebase(g);
    }
    life_start_ = model_.NewSerial();
  }
  std::printf("images %llu cuts %llu puts %llu hits in images %llu\n", (unsigned long long)built,
              (unsigned long long)cuts, (unsigned long long)puts_, (unsigned long long)hits_);
  EXPECT_EQ(violations_, 0u);
  EXPECT_GT(hits_, built) << "the images served almost nothing: the check would be vacuous";
}

TEST_P(CrashStateTest, EveryImageServesTheLastAcknowledgedValueOrAMiss) {
  Explore(/*chain=*/false);
}

TEST_P(CrashStateTest, RecoveriesOfRecoveriesServeTheLastAcknowledgedValueOrAMiss) {
  Explore(/*chain=*/true);
}

INSTANTIATE_TEST_SUITE_P(PowerCut, CrashStateTest,
                         ::testing::Values(Param{IoKind::kUring, "never"},
                                           Param{IoKind::kThreads, "never"},
                                           Param{IoKind::kUring, "reinsert:15+admit:ghost:50"},
                                           Param{IoKind::kThreads, "always"}),
                         [](const auto& i) { return IoPolicyName(i.param.io, i.param.policy); });

}  // namespace
}  // namespace coss::testing
