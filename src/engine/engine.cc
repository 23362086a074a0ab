// Engine: validates options, opens one Shard per device, and routes each key to
// its shard by hash. Shards share the version counter and the statistics.
#include "coss/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "engine/counters.h"
#include "engine/engine_internal.h"
#include "engine/shard.h"
#include "util/hash.h"

namespace coss {

namespace {

std::mutex g_clock_mu;
std::function<int64_t()> g_clock;

// Idle read buffers kept for reuse (buffer_pool.h): 32 chunks of 512 KiB.
constexpr size_t kReadBufferPoolBytes = size_t{16} << 20;

class EngineImpl final : public Engine {
 public:
  explicit EngineImpl(EngineOptions o) : opts_(std::move(o)) {}
  ~EngineImpl() override { Close(); }

  Status Init(const DeviceWrapper& wrap, std::vector<std::unique_ptr<Device>>* given = nullptr) {
    auto spec = ParsePolicySpec(opts_.relocation);
    if (!spec.ok()) return spec.status();
    spec_ = *spec;
    auto pol = MakeRelocationPolicy(spec_.relocation);
    if (!pol.ok()) return pol.status();
    policy_ = std::move(*pol);
    format::Uuid uuid{};
    bool have_uuid = false;
    // Set before any shard runs (I/O threads may hand out versions during
    // recovery); the first shard's journal records reservations once it is open.
    versions_.SetRequest([this] {
      if (Shard* s = first_shard_.load(std::memory_order_acquire)) s->RequestJournalBlock();
    });
    for (uint32_t i = 0; i < opts_.devices.size(); i++) {
      std::unique_ptr<Device> d;
      if (given != nullptr) {
        d = std::move((*given)[i]);
      } else {
        auto dev = OpenDevice(opts_.devices[i], opts_);
        if (!dev.ok()) return dev.status();
        d = std::move(*dev);
      }
      if (wrap) d = wrap(i, std::move(d));
      ShardConfig cfg{&opts_,        i,     static_cast<uint32_t>(opts_.devices.size()),
                      policy_.get(), &ctr_, &versions_};
      cfg.spec = &spec_;
      cfg.read_buffers = read_buffers_.get();
      cfg.default_checkpoint = given == nullptr;  // simulated devices keep no checkpoint files
      cfg.journal = given == nullptr;             // ... and no journal (its timing is real)
      auto shard = std::make_unique<Shard>(cfg, std::move(d));
      if (Status s = shard->Open(&uuid, &have_uuid); !s.ok()) return s;
      if (i == 0) first_shard_.store(shard.get(), std::memory_order_release);
      if (i > 0 && shard->key_seed() != shards_.front()->key_seed()) {
        return Error(Code::kInvalidArgument,
                     opts_.devices[i].path + " hashes keys unlike " + opts_.devices[0].path +
                         " (a device formatted by another coss version): use a new store");
      }
      shards_.push_back(std::move(shard));
    }
    key_seed_ = shards_.front()->key_seed();
    // No version may repeat after a crash: the first reservation above what
    // recovery found is durable before anything is served (version_clock.h).
    versions_.Reserve();
    if (Status s = shards_.front()->WriteJournalBlockNow(); !s.ok()) {
      return Error(s.code(),
                   opts_.devices.front().path +
                       ": cannot reserve versions (CAS values) in the journal: " + s.message());
    }
    return Status::Ok();
  }

  void Get(std::string_view key, GetCallback cb) override {
    if (key.empty() || key.size() > format::kMaxKey) {
      GetResult r;
      r.status = Error(Code::kInvalidArgument, "key length must be 1..250");
      cb(std::move(r));
      return;
    }
    const uint64_t h = KeyHash(key, key_seed_);
    ShardFor(h).Get(h, key, std::move(cb));
  }

  uint64_t SizeHint(std::string_view key) override {
    if (key.empty() || key.size() > format::kMaxKey) return 0;
    const uint64_t h = KeyHash(key, key_seed_);
    return ShardFor(h).SizeHint(h);
  }

  uint64_t NewVersion() override { return versions_.Next(); }

  PutResult Put(const PutRequest& req) override {
    if (req.key.empty() || req.key.size() > format::kMaxKey)
      return {Error(Code::kInvalidArgument, "key length must be 1..250"), 0};
    if (req.value.size() > opts_.max_value_size)
      return {Error(Code::kTooLarge, "value larger than the configured maximum"), 0};
    const uint64_t h = KeyHash(req.key, key_seed_);
    // Admission (policy.h) may drop a put of a new key: a cache may forget
    // anything, but not bring back an older value (see Shard::Admit).
    uint64_t barrier = 0, version = 0;
    if (!req.conditional && !req.skip_admission &&
        !ShardFor(h).Admit(h, req.key.size() + req.value.size(), req.keep_version, &barrier,
                           &version)) {
      return {Status::Ok(), version, WriteTicket{ShardIndex(h), barrier}, /*stored=*/false};
    }
    PutResult r = ShardFor(h).Put(h, req);
    r.ticket.shard = ShardIndex(h);
    return r;
  }

  Status Remove(std::string_view key, const Locator* expect, WriteTicket* ticket) override {
    if (key.empty() || key.size() > format::kMaxKey)
      return Error(Code::kInvalidArgument, "key length must be 1..250");
    const uint64_t h = KeyHash(key, key_seed_);
    uint64_t lsn = 0;
    Status s = ShardFor(h).Remove(h, key, expect, &lsn);
    if (ticket != nullptr) *ticket = WriteTicket{ShardIndex(h), lsn};
    return s;
  }

  Status Clear() override {
    for (auto& s : shards_) {
      uint64_t lsn = 0;
      if (Status st = s->Clear(&lsn); !st.ok()) return st;
      std::promise<Status> done;
      s->WhenPersisted(lsn, Persistence::kSynced, [&done](const Status& d) { done.set_value(d); });
      if (Status d = done.get_future().get(); !d.ok()) return d;
    }
    return Status::Ok();
  }

  void WhenPersisted(WriteTicket t, Persistence level,
                     std::function<void(const Status&)> cb) override {
    if (t.lsn == 0 || t.shard >= shards_.size()) {
      cb(Status::Ok());
      return;
    }
    shards_[t.shard]->WhenPersisted(t.lsn, level, std::move(cb));
  }

  bool WriteJournalHere(WriteTicket t) override {
    if (t.lsn == 0 || t.shard >= shards_.size()) return true;
    return shards_[t.shard]->WriteJournalHere(t.lsn);
  }

  Status Flush() override {
    Status first;
    for (auto& s : shards_) {
      Status st = s->Flush();
      if (!st.ok() && first.ok()) first = st;
    }
    return first;
  }

  Status Checkpoint() override {
    Status first;
    for (auto& s : shards_) {
      Status st = s->WriteCheckpoint(/*clean=*/false);
      if (!st.ok() && first.ok()) first = st;
    }
    return first;
  }

  // Housekeeping, once a second: open stripe buffers older than
  // max_buffer_age_s are sealed (an acknowledged value does not stay in memory
  // only for longer), and periodic checkpoints bound the replay a crash restart
  // has to do.
  void StartCheckpointer() {
    if (opts_.checkpoint_interval_s == 0 && opts_.max_buffer_age_s == 0) return;
    checkpointer_ = std::thread([this] {
      using Clock = std::chrono::steady_clock;
      auto next_checkpoint = Clock::now() + std::chrono::seconds(opts_.checkpoint_interval_s);
      std::unique_lock lk(ck_mu_);
      while (!ck_stop_) {
        if (ck_cv_.wait_for(lk, std::chrono::seconds(1), [this] { return ck_stop_; })) break;
        lk.unlock();
        const auto now = Clock::now();
        if (opts_.max_buffer_age_s != 0) {
          for (auto& s : shards_)
            s->SealIfOlder(now - std::chrono::seconds(opts_.max_buffer_age_s));
        }
        if (opts_.checkpoint_interval_s != 0 && now >= next_checkpoint) {
          next_checkpoint = now + std::chrono::seconds(opts_.checkpoint_interval_s);
          if (Status s = Checkpoint(); !s.ok()) spdlog::warn("checkpoint failed: {}", s.ToString());
        }
        lk.lock();
      }
    });
  }

  Status Close() override {
    {
      std::lock_guard lk(ck_mu_);
      ck_stop_ = true;
    }
    ck_cv_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();
    std::lock_guard lk(close_mu_);
    for (auto& s : shards_) s->Close();
    return Status::Ok();
  }

  StatsSnapshot Stats() const override {
    StatsSnapshot s;
    ctr_.CopyTo(&s);
    for (auto& sh : shards_) sh->AddStats(&s);
    return s;
  }

  const EngineOptions& options() const override { return opts_; }

 private:
  uint32_t ShardIndex(uint64_t h) const {
    return shards_.size() == 1
               ? 0
               : static_cast<uint32_t>(((h >> Index::kPartitionBits) & 0x3FFFFF) % shards_.size());
  }
  Shard& ShardFor(uint64_t h) { return *shards_[ShardIndex(h)]; }

  EngineOptions opts_;
  uint64_t key_seed_ = 0;  // the store's KeyHash seed (set by Init, then read-only)
  std::unique_ptr<RelocationPolicy> policy_;
  PolicySpec spec_;
  Counters ctr_;
  VersionClock versions_;
  // Large device reads land in recycled buffers (buffer_pool.h); at most
  // kReadBufferPoolBytes of idle ones are kept.
  std::shared_ptr<BufferPool> read_buffers_ = BufferPool::Create(kReadBufferPoolBytes);
  std::atomic<Shard*> first_shard_{nullptr};  // for versions_' journal requests
  std::vector<std::unique_ptr<Shard>> shards_;
  std::mutex close_mu_;
  std::mutex ck_mu_;
  std::condition_variable ck_cv_;
  bool ck_stop_ = false;
  std::thread checkpointer_;
};

Status Validate(const EngineOptions& o) {
  if (o.devices.empty()) return Error(Code::kInvalidArgument, "no store devices configured");
  if (!std::has_single_bit(o.stripe_size) || o.stripe_size < format::kMinStripe ||
      o.stripe_size > format::kMaxStripe)
    return Error(Code::kInvalidArgument,
                 "stripe size must be a power of two from 64 KiB to 16 MiB, not " +
                     std::to_string(o.stripe_size));
  if (o.max_value_size == 0 || o.max_value_size > (1ull << 30))
    return Error(Code::kInvalidArgument, "maximum value size must be 1 byte .. 1 GiB");
  if (o.membufs < 1 || o.membufs > 1024)
    return Error(Code::kInvalidArgument, "membufs must be 1..1024");
  for (const auto& d : o.devices) {
    if (d.path.empty()) return Error(Code::kInvalidArgument, "a store device has an empty path");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Engine>> OpenEngineWrapped(const EngineOptions& opts, DeviceWrapper wrap) {
  if (Status s = Validate(opts); !s.ok()) return s;
  auto e = std::make_unique<EngineImpl>(opts);
  if (Status s = e->Init(wrap); !s.ok()) return s;
  e->StartCheckpointer();
  return std::unique_ptr<Engine>(std::move(e));
}

Result<std::unique_ptr<Engine>> OpenEngineOnDevices(const EngineOptions& opts,
                                                    std::vector<std::unique_ptr<Device>> devices) {
  if (Status s = Validate(opts); !s.ok()) return s;
  if (devices.size() != opts.devices.size())
    return Error(Code::kInvalidArgument, "one device per EngineOptions::devices entry");
  auto e = std::make_unique<EngineImpl>(opts);
  if (Status s = e->Init(nullptr, &devices); !s.ok()) return s;
  return std::unique_ptr<Engine>(std::move(e));
}

Result<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& opts) {
  return OpenEngineWrapped(opts, nullptr);
}

GetResult Engine::GetSync(std::string_view key) {
  std::promise<GetResult> p;
  auto f = p.get_future();
  Get(key, [&p](GetResult r) { p.set_value(std::move(r)); });
  return f.get();
}

namespace {
std::atomic<bool> g_clock_set{false};
// The wall clock as coss sees it never goes back: not within a process (a clock
// stepped back would serve objects that had expired), nor below the newest
// stripe a restart finds (RaiseClockFloor).
std::atomic<int64_t> g_floor{0};

int64_t SystemSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Raises g_floor to t if it is lower; returns the floor as it was before.
int64_t RaiseFloorTo(int64_t t) {
  int64_t floor = g_floor.load(std::memory_order_relaxed);
  while (t > floor && !g_floor.compare_exchange_weak(floor, t, std::memory_order_relaxed)) {
  }
  return floor;
}
}  // namespace

int64_t NowSeconds() {
  if (g_clock_set.load(std::memory_order_acquire)) {
    std::lock_guard lk(g_clock_mu);
    if (g_clock) return g_clock();
  }
  const int64_t wall = SystemSeconds();
  int64_t floor = RaiseFloorTo(wall);
  // A clock once stepped far ahead, then corrected, must not freeze expiry for
  // long: at most kMaxClockFloorAhead (the floor then follows the clock back).
  if (floor > wall + kMaxClockFloorAhead) {
    const int64_t capped = wall + kMaxClockFloorAhead;
    g_floor.compare_exchange_strong(floor, capped, std::memory_order_relaxed);
    return capped;
  }
  return std::max(wall, floor);
}

int64_t RaiseClockFloor(int64_t t) {
  const int64_t wall = SystemSeconds();
  t = std::min(t, wall + kMaxClockFloorAhead);  // a clock once set far ahead must not freeze time
  RaiseFloorTo(t);
  return std::max(t, wall) - wall;
}

void SetClockForTesting(std::function<int64_t()> clock) {
  std::lock_guard lk(g_clock_mu);
  g_clock = std::move(clock);
  g_clock_set.store(static_cast<bool>(g_clock), std::memory_order_release);
  g_floor.store(0, std::memory_order_relaxed);  // each test starts from the real clock
}

}  // namespace coss
