// Store facade tests (server/store.h): the engine behind the RAM tier, over
// fake engines that let a test order a read, a write and a tier update at
// will. The race tests provoke "a read of the old value is in flight; a write
// or delete lands; the read then tries to fill the RAM tier", and a
// read-modify-write of a value only the tier holds racing a set or a flush.
#include "server/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>

namespace coss::server {
namespace {

// What the fake engines below share: every write is persisted at once.
class FakeEngine : public Engine {
 public:
  void WhenPersisted(WriteTicket, Persistence, std::function<void(const Status&)> cb) override {
    cb(Status::Ok());
  }
  bool WriteJournalHere(WriteTicket) override { return true; }
  Status Flush() override { return Status::Ok(); }
  Status Checkpoint() override { return Status::Ok(); }
  Status Close() override { return Status::Ok(); }
  StatsSnapshot Stats() const override { return {}; }
  const EngineOptions& options() const override { return opts_; }

 private:
  EngineOptions opts_;
};

// A fake engine whose Gets complete only when the test says so: it lets the
// test interleave a store read with a concurrent write at will.
class ManualEngine final : public FakeEngine {
 public:
  void Get(std::string_view key, GetCallback cb) override {
    GetResult r;
    auto it = data_.find(std::string(key));
    if (it == data_.end()) {
      r.status = Error(Code::kNotFound, "miss");
    } else {
      r.status = Status::Ok();
      r.item = it->second;
      r.tier = Tier::kDisk;
      r.seen = Locator{it->second.version};
    }
    pending_.push_back([cb = std::move(cb), r = std::move(r)]() mutable { cb(std::move(r)); });
  }
  uint64_t SizeHint(std::string_view key) override {
    auto it = data_.find(std::string(key));
    return it == data_.end() ? 0 : it->second.value.size();
  }
  PutResult Put(const PutRequest& req) override {
    if (during_put) std::exchange(during_put, nullptr)();  // the put is in flight
    if (fail_puts) return {Error(Code::kIoError, "injected"), 0};
    if (!admit && !req.skip_admission) {  // admission keeps it off the ring
      data_.erase(std::string(req.key));
      return {Status::Ok(), ++version_, {}, /*stored=*/false};
    }
    Item& it = data_[std::string(req.key)];
    it.value = Bytes::Copy(req.value);
    it.flags = req.flags;
    it.expiry = req.expiry;
    it.version = req.keep_version != 0 ? req.keep_version : ++version_;
    return {Status::Ok(), it.version, {}};
  }
  uint64_t NewVersion() override { return ++version_; }
  Status Remove(std::string_view key, const Locator*, WriteTicket*) override {
    return data_.erase(std::string(key)) ? Status::Ok() : Error(Code::kNotFound, "miss");
  }
  Status Clear() override {
    data_.clear();
    return Status::Ok();
  }

  void CompleteOne() {
    auto f = std::move(pending_.front());
    pending_.pop_front();
    f();
  }
  size_t pending() const { return pending_.size(); }
  bool admit = true;  // false: every put without skip_admission is kept off the ring
  bool fail_puts = false;
  std::function<void()> during_put;  // runs once, inside the next Put

 private:
  std::map<std::string, Item> data_;
  std::deque<std::function<void()>> pending_;
  uint64_t version_ = 0;
};

std::string ReadNow(Store& s, ManualEngine& e, const std::string& key) {
  std::string got = "<pending>";
  s.Read(key, [&](ReadResult r) { got = r.ok() ? r.value.str() : "<miss>"; });
  while (e.pending() > 0) e.CompleteOne();
  return got;
}

// A store over the manual engine and an 8 MiB RAM tier; Put writes key "k".
class StoreTest : public ::testing::Test {
 protected:
  PutResult Put(std::string_view value, uint32_t flags = 0) {
    PutRequest p;
    p.key = "k";
    p.value = value;
    p.flags = flags;
    return s.Write(p);
  }
  std::string Read() { return ReadNow(s, e, "k"); }
  ReadResult ReadForUpdate() {
    ReadResult got;
    s.ReadForUpdate("k", [&](ReadResult r) { got = std::move(r); });
    while (e.pending() > 0) e.CompleteOne();
    return got;
  }
  // A read-modify-write's result over `basis`.
  PutResult Update(const ReadResult& basis, std::string_view value) {
    PutRequest p;
    p.key = "k";
    p.value = value;
    p.flags = basis.flags;
    p.expiry = basis.expiry;
    return s.Update(basis, p);
  }
  ManualEngine e;
  RamTier ram{8 << 20};
  Store s{&e, &ram};
};

TEST_F(StoreTest, SetDuringDiskReadNeverLeavesTheOldValueInRam) {
  ASSERT_TRUE(Put("old").status.ok());
  ram.Invalidate("k", RamKeyHash("k"));  // evicted from RAM: the next read goes to the disk

  std::string first;
  s.Read("k", [&](ReadResult r) { first = r.value.str(); });  // disk read of "old" in flight
  ASSERT_EQ(e.pending(), 1u);
  ASSERT_TRUE(Put("new").status.ok());  // the set completes before the read
  e.CompleteOne();                      // the read returns "old" and tries to fill
  EXPECT_EQ(first, "old");              // fine: it was issued before the set
  EXPECT_EQ(ram.Stats().fills_stale, 1u);
  EXPECT_EQ(Read(), "new");  // never "old" from the RAM tier
  EXPECT_EQ(Read(), "new");  // (both served by the RAM tier: the set put it there)
  EXPECT_EQ(ram.Stats().hits, 2u);
}

TEST_F(StoreTest, DeleteDuringDiskReadNeverResurrectsTheValue) {
  ASSERT_TRUE(Put("old").status.ok());
  ram.Invalidate("k", RamKeyHash("k"));  // evicted from RAM: the next read goes to the disk
  s.Read("k", [](ReadResult) {});
  ASSERT_EQ(e.pending(), 1u);
  ASSERT_TRUE(s.Remove("k", nullptr).ok());
  e.CompleteOne();
  EXPECT_EQ(Read(), "<miss>");
}

// Admission keeps a new value off the ring: it is still read back (from RAM),
// and a clean stop hands it to the store with its version.
TEST_F(StoreTest, ValueKeptOffTheRingIsReadBackAndStoredAtACleanStop) {
  e.admit = false;
  const PutResult w = Put("fresh", 5);
  ASSERT_TRUE(w.status.ok());
  EXPECT_FALSE(w.stored);
  EXPECT_EQ(Read(), "fresh");
  EXPECT_EQ(e.SizeHint("k"), 0u) << "the engine holds it after all";
  auto kept = s.KeepRamOnlyCopies();
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, 1u);
  GetResult g;
  e.Get("k", [&](GetResult r) { g = std::move(r); });
  e.CompleteOne();
  ASSERT_TRUE(g.status.ok());
  EXPECT_EQ(g.item.value, "fresh");
  EXPECT_EQ(g.item.flags, 5u);
  EXPECT_EQ(g.item.version, w.version);
}

// A value only the RAM tier holds is what a read-modify-write reads after the
// engine's miss (the engine never had it): a hit from RAM marked only_copy,
// whose `seen` says the engine lacks the key. Deleting it with that
// expectation is a delete, not a miss.
TEST_F(StoreTest, ReadForUpdateReturnsAnOnlyCopyAndItsDeleteIsAHit) {
  e.admit = false;
  const PutResult w = Put("only", 3);
  ASSERT_FALSE(w.stored);
  ReadResult got;
  s.ReadForUpdate("k", [&](ReadResult r) { got = std::move(r); });
  e.CompleteOne();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got.value.view(), "only");
  EXPECT_EQ(got.flags, 3u);
  EXPECT_EQ(got.version, w.version);
  EXPECT_EQ(got.source, Source::kRam);
  EXPECT_TRUE(got.only_copy);
  EXPECT_TRUE(got.seen.absent());
  EXPECT_EQ(Read(), "only");
  EXPECT_TRUE(s.Remove("k", &got.seen).ok()) << "it existed: DELETED, not NOT_FOUND";
  EXPECT_EQ(Read(), "<miss>");
  EXPECT_EQ(s.Remove("k", nullptr).code(), Code::kNotFound);
}

// A read-modify-write of a value only the RAM tier holds (an incr after a set
// that admission kept off the ring) swaps it in the tier, and the result stays
// an only copy; a second swap from the same read loses.
TEST_F(StoreTest, UpdateOfAnOnlyCopyIsASwapInTheTier) {
  e.admit = false;
  const PutResult w = Put("1", 7);
  const ReadResult basis = ReadForUpdate();
  ASSERT_TRUE(basis.only_copy);
  const PutResult u = Update(basis, "2");
  ASSERT_TRUE(u.status.ok()) << u.status.ToString();
  EXPECT_FALSE(u.stored);
  EXPECT_EQ(u.ticket.lsn, 0u) << "nothing to wait for";
  EXPECT_GT(u.version, w.version);
  EXPECT_EQ(Read(), "2");
  EXPECT_EQ(e.SizeHint("k"), 0u) << "the engine never sees it";
  EXPECT_EQ(Update(basis, "3").status.code(), Code::kExists);
  const ReadResult again = ReadForUpdate();
  EXPECT_EQ(again.version, u.version);
  EXPECT_EQ(again.flags, 7u);
  EXPECT_TRUE(again.only_copy);
}

// The gap the engine's swap could not see: a set that admission also keeps
// off the ring, between the read and the swap. The swap must lose to it,
// whether the set is done or still between its engine write and the tier.
TEST_F(StoreTest, UpdateOfAnOnlyCopyLosesToASetInBetween) {
  e.admit = false;
  Put("1");
  ReadResult basis = ReadForUpdate();
  Put("set");
  EXPECT_EQ(Update(basis, "2").status.code(), Code::kExists);
  EXPECT_EQ(Read(), "set");

  basis = ReadForUpdate();
  ASSERT_EQ(basis.value.view(), "set");
  Status in_flight;
  e.during_put = [&] { in_flight = Update(basis, "set+1").status; };
  Put("set again");
  EXPECT_EQ(in_flight.code(), Code::kExists) << "a set was in flight on the key";
  EXPECT_EQ(Read(), "set again");

  // A set the engine refused ends its flight too: the key is not stuck.
  basis = ReadForUpdate();
  e.fail_puts = true;
  EXPECT_FALSE(Put("refused").status.ok());
  e.fail_puts = false;
  EXPECT_TRUE(Update(basis, "after").status.ok());
  EXPECT_EQ(Read(), "after");
}

TEST_F(StoreTest, UpdateOfAnOnlyCopyLosesToAFlushInBetween) {
  e.admit = false;
  Put("1");
  const ReadResult basis = ReadForUpdate();
  ASSERT_TRUE(s.Clear().ok());
  EXPECT_EQ(Update(basis, "2").status.code(), Code::kExists);
  EXPECT_EQ(Read(), "<miss>") << "a flush_all in between must not be undone";
}

// A touch keeps the version; one into the past deletes; a result too large for
// the tier leaves the copy as it was.
TEST_F(StoreTest, TouchAndOversizedUpdatesOfAnOnlyCopy) {
  e.admit = false;
  const PutResult w = Put("v");
  ReadResult basis = ReadForUpdate();
  PutRequest touch;
  touch.key = "k";
  touch.value = basis.value.view();
  touch.expiry = NowSeconds() + 100;
  touch.keep_version = basis.version;
  const PutResult t = s.Update(basis, touch);
  ASSERT_TRUE(t.status.ok());
  EXPECT_EQ(t.version, w.version);
  basis = ReadForUpdate();
  EXPECT_EQ(basis.expiry, touch.expiry);
  EXPECT_EQ(basis.version, w.version);

  const std::string big(ram.max_object(), 'x');
  EXPECT_EQ(Update(basis, big).status.code(), Code::kTooLarge);
  EXPECT_EQ(Read(), "v");

  touch.expiry = NowSeconds() - 1;
  ASSERT_TRUE(s.Update(basis, touch).status.ok());
  EXPECT_EQ(Read(), "<miss>");
}

// A thread-safe engine whose admission keeps every put off the ring (its
// reads complete inline): with it, every value of a key is an only copy.
class RefusingEngine final : public FakeEngine {
 public:
  void Get(std::string_view, GetCallback cb) override {
    GetResult r;
    r.status = Error(Code::kNotFound, "miss");
    cb(std::move(r));
  }
  uint64_t SizeHint(std::string_view) override { return 0; }
  PutResult Put(const PutRequest&) override { return {Status::Ok(), NewVersion(), {}, false}; }
  uint64_t NewVersion() override { return version_.fetch_add(1) + 1; }
  Status Remove(std::string_view, const Locator*, WriteTicket*) override {
    return Error(Code::kNotFound, "miss");
  }
  Status Clear() override { return Status::Ok(); }

 private:
  std::atomic<uint64_t> version_{0};
};

// Sets and increments of one only copy from two threads: no increment may
// store over a set it did not read (a lost set shows as a read below the last
// set completed before it). Runs under ThreadSanitizer too.
TEST(StoreRaceTest, IncrementsNeverStoreOverAConcurrentSet) {
  RefusingEngine e;
  RamTier ram(8 << 20);
  Store s(&e, &ram);
  constexpr uint64_t kSets = 3000;
  constexpr uint64_t kStep = 1000000;  // set i stores i * kStep
  auto put = [&](uint64_t v) {
    const std::string text = std::to_string(v);
    PutRequest p;
    p.key = "k";
    p.value = text;
    ASSERT_TRUE(s.Write(p).status.ok());
  };
  put(0);
  std::atomic<uint64_t> sets_done{0};
  std::atomic<bool> go{false};
  std::thread setter([&] {
    while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
    for (uint64_t i = 1; i <= kSets; i++) {
      put(i * kStep);
      sets_done.store(i, std::memory_order_release);
    }
  });
  uint64_t stale = 0, applied = 0, lost = 0;
  go.store(true, std::memory_order_release);
  while (sets_done.load(std::memory_order_acquire) < kSets || applied + lost < 2000) {
    const uint64_t done = sets_done.load(std::memory_order_acquire);
    ReadResult basis;
    s.ReadForUpdate("k", [&](ReadResult r) { basis = std::move(r); });
    ASSERT_TRUE(basis.ok() && basis.only_copy);
    const uint64_t v = std::stoull(basis.value.str());
    if (v / kStep < done) stale++;
    const std::string next = std::to_string(v + 1);
    PutRequest p;
    p.key = "k";
    p.value = next;
    const PutResult r = s.Update(basis, p);
    if (r.status.ok()) {
      applied++;
    } else {
      ASSERT_EQ(r.status.code(), Code::kExists);
      lost++;
    }
  }
  setter.join();
  ReadResult last;
  s.ReadForUpdate("k", [&](ReadResult r) { last = std::move(r); });
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(std::stoull(last.value.str()) / kStep, kSets) << "the last set was overwritten";
  EXPECT_EQ(stale, 0u) << "an increment stored over a set it never read";
  EXPECT_GT(applied, 0u);
  std::printf("increments applied %llu, lost a race %llu\n",
              static_cast<unsigned long long>(applied), static_cast<unsigned long long>(lost));
}

TEST_F(StoreTest, ReadForUpdateMissDropsTheRamCopy) {
  ASSERT_TRUE(Put("v").status.ok());
  EXPECT_EQ(Read(), "v");  // the set put it in the RAM tier
  ASSERT_EQ(ram.Stats().items, 1u);
  e.Clear();  // the store lost it (evicted) behind the RAM tier's back
  bool miss = false;
  s.ReadForUpdate("k", [&](ReadResult r) { miss = !r.ok(); });
  e.CompleteOne();
  EXPECT_TRUE(miss);
  EXPECT_EQ(ram.Stats().items, 0u);
  EXPECT_EQ(Read(), "<miss>");
}

}  // namespace
}  // namespace coss::server
