// engine_bench: Google Benchmark micro-benchmarks of libcoss (issue 2).
//
//   engine/Put/...          Put throughput, 16-byte keys, 100 B and 4 KiB values,
//                           real file store, io_uring and thread-pool backends.
//   engine/GetMemory/...    Get of objects still in the open membuf.
//   engine/GetDisk/...      Get after Flush (every object on disk, O_DIRECT),
//                           one Get at a time per thread, 1 and 4 threads.
//   engine/GetDiskAsync/... Get with 32 requests in flight from one thread.
//   index/...               coss::Index with 10 M random 64-bit hashes:
//                           bytes per object (counter), insert and lookup ns.
//   ref/...                 reference costs: 4 KiB O_DIRECT reads one at a time
//                           (same-thread pread; coss Device backends alone),
//                           XXH3 of a record, a two-thread wake-up round trip.
//   flush/StripeFlush/...   one full lap of 64 KiB values over a store of
//                           COSS_BENCH_FLUSH_GIB GiB (default 4), Flush included;
//                           counter dev_bytes_per_second = device_bytes_written / s.
//
// Stores live in $COSS_BENCH_DIR (default /var/tmp), are created fresh (the
// file is deleted first) unless stated, and are deleted at exit. Engine
// benchmarks use real time (the work happens on I/O threads too).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coss/engine.h"
#include "engine/format.h"
#include "engine/index.h"
#include "io/device.h"
#include "util/hash.h"
#include "bench/engine/bench_util.h"
#include "bench/engine/index_bench.h"

namespace {

using coss::engine_bench::RegisterIndexBenchmarks;
using coss::engine_bench::ReleaseIndexBenchmarks;
using coss::engine_bench::SplitMix;
using coss::Engine;
using coss::EngineOptions;
using coss::IoKind;
using coss::StatsSnapshot;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;
constexpr size_t kKeyLen = 16;
constexpr uint64_t kKeySpace = 1'000'000;
constexpr uint64_t kPutStoreBytes = 512 * kMiB;
constexpr uint64_t kGetStoreBytes = 1 * kGiB;
constexpr uint32_t kFlushValue = 64 * 1024;

std::string BenchDir() {
  const char* d = std::getenv("COSS_BENCH_DIR");
  return d != nullptr && *d != '\0' ? d : "/var/tmp";
}

uint64_t FlushStoreBytes() {
  const char* g = std::getenv("COSS_BENCH_FLUSH_GIB");
  const uint64_t gib = g != nullptr ? std::strtoull(g, nullptr, 10) : 4;
  return (gib == 0 ? 4 : gib) * kGiB;
}

const char* IoName(IoKind io) { return io == IoKind::kUring ? "uring" : "threads"; }

// 16-byte keys "k000000000000042".
const std::vector<std::array<char, kKeyLen>>& Keys() {
  static const auto keys = [] {
    std::vector<std::array<char, kKeyLen>> k(kKeySpace);
    char tmp[kKeyLen + 1];
    for (uint64_t i = 0; i < kKeySpace; i++) {
      std::snprintf(tmp, sizeof tmp, "k%015" PRIu64, i);
      std::memcpy(k[i].data(), tmp, kKeyLen);
    }
    return k;
  }();
  return keys;
}
std::string_view Key(uint64_t i) {
  const auto& k = Keys()[i % kKeySpace];
  return {k.data(), k.size()};
}

// True when some fd of this process opened `path` with O_DIRECT.
bool OpenedDirect(const std::string& path) {
  std::error_code ec;
  for (const auto& ent : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::error_code ec2;
    const auto target = std::filesystem::read_symlink(ent.path(), ec2);
    if (ec2 || target != path) continue;
    std::ifstream info("/proc/self/fdinfo/" + ent.path().filename().string());
    std::string field, value;
    while (info >> field >> value) {
      if (field == "flags:") return (std::strtoul(value.c_str(), nullptr, 8) & O_DIRECT) != 0;
    }
  }
  return false;
}

// One engine over one store file; closes the engine and deletes the file.
struct Store {
  std::string path;
  std::unique_ptr<Engine> engine;
  bool direct = false;
  bool keep_file = false;

  ~Store() {
    if (engine) engine->Close();
    engine.reset();
    if (!keep_file) ::unlink(path.c_str());
  }
};

std::unique_ptr<Store> OpenStore(const std::string& name, IoKind io, uint64_t bytes, bool fresh,
                                 const std::string& relocation, std::string* err) {
  auto s = std::make_unique<Store>();
  s->path = BenchDir() + "/coss-bench-" + name + ".store";
  if (fresh) ::unlink(s->path.c_str());
  EngineOptions o;
  o.devices = {{s->path, bytes}};
  o.io = io;
  o.relocation = relocation;
  auto e = Engine::Open(o);
  if (!e.ok()) {
    *err = "Engine::Open(" + s->path + "): " + e.status().ToString();
    return nullptr;
  }
  s->engine = std::move(*e);
  s->direct = OpenedDirect(s->path);
  return s;
}

// A prepared store shared by the threads of one benchmark run and by the
// successive runs of the same benchmark (built once, replaced when another
// benchmark needs a different one, so only one lives at a time).
struct Fixture {
  std::string id;
  std::unique_ptr<Store> store;
  uint64_t objects = 0;
  std::string error;
};
std::unique_ptr<Fixture> g_fixture;

Fixture* AcquireFixture(const std::string& id, const std::function<void(Fixture*)>& build) {
  if (!g_fixture || g_fixture->id != id) {
    g_fixture.reset();  // close and delete the previous store first
    g_fixture = std::make_unique<Fixture>();
    g_fixture->id = id;
    build(g_fixture.get());
  }
  return g_fixture.get();
}

// Waits for one Get callback (which may run inline or on an I/O thread).
// The waiters are static (one per benchmark thread) so that a callback still
// returning from notify_one() never touches a dead object.
struct OneGet {
  std::atomic<bool> done{false};
  bool hit = false;
  // Timed mode (disk Gets only): where the time goes between Get() and the
  // caller running again.
  std::chrono::steady_clock::time_point at_callback;
  double ns_to_callback = 0, ns_callback_to_caller = 0;

  void Run(Engine* e, std::string_view key) {
    done.store(false, std::memory_order_relaxed);
    e->Get(key, [this](coss::GetResult r) {
      hit = r.status.ok();
      done.store(true, std::memory_order_release);
      done.notify_one();
    });
    done.wait(false, std::memory_order_acquire);
  }
  void RunTimed(Engine* e, std::string_view key) {
    using Clock = std::chrono::steady_clock;
    done.store(false, std::memory_order_relaxed);
    const auto t0 = Clock::now();
    e->Get(key, [this](coss::GetResult r) {
      at_callback = Clock::now();
      hit = r.status.ok();
      done.store(true, std::memory_order_release);
      done.notify_one();
    });
    done.wait(false, std::memory_order_acquire);
    const auto t2 = Clock::now();
    ns_to_callback += std::chrono::duration<double, std::nano>(at_callback - t0).count();
    ns_callback_to_caller += std::chrono::duration<double, std::nano>(t2 - at_callback).count();
  }
};
OneGet g_waiters[64];

// In-flight accounting of the async Get benchmark (static for the same reason).
std::atomic<int> g_inflight{0};
std::atomic<uint64_t> g_async_misses{0};

// --------------------------------------------------------------------------
// Put throughput.

Store* g_put_store = nullptr;
std::unique_ptr<Store> g_put_owner;
StatsSnapshot g_put_before;

void BM_Put(benchmark::State& state, IoKind io, size_t vsize) {
  if (state.thread_index() == 0) {
    std::string err;
    g_put_owner = OpenStore("put", io, kPutStoreBytes, /*fresh=*/true, "tail:25", &err);
    g_put_store = g_put_owner.get();
    if (g_put_store == nullptr) state.SkipWithError(err.c_str());
    else g_put_before = g_put_store->engine->Stats();
  }
  Keys();
  const std::string value(vsize, static_cast<char>('a' + state.thread_index()));
  uint64_t i = static_cast<uint64_t>(state.thread_index()) * 7919;
  uint64_t errors = 0;
  for (auto _ : state) {
    coss::PutRequest r;
    r.key = Key(i);
    r.value = value;
    if (!g_put_store->engine->Put(r).status.ok()) errors++;
    i += 1;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (kKeyLen + vsize)));
  state.counters["put_errors"] = static_cast<double>(errors);
  if (state.thread_index() == 0 && g_put_store != nullptr) {
    const StatsSnapshot s = g_put_store->engine->Stats();
    using C = benchmark::Counter;
    state.counters["dev_bytes_per_second"] =
        C(static_cast<double>(s.device_bytes_written - g_put_before.device_bytes_written), C::kIsRate);
    state.counters["waits"] = static_cast<double>(s.waits - g_put_before.waits);
    state.counters["direct_io"] = g_put_store->direct ? 1 : 0;
    g_put_store = nullptr;
    g_put_owner.reset();
  }
}

// --------------------------------------------------------------------------
// Get: memory hits (open membuf) and disk hits (after Flush).

uint64_t PerStripe(size_t vsize) {
  return ((1u << 20) - coss::format::kStripeHeaderSize) / coss::format::RecordFootprint(kKeyLen, vsize);
}

void Fill(Fixture* f, uint64_t n, size_t vsize, bool flush) {
  const std::string value(vsize, 'g');
  Engine* e = f->store->engine.get();
  for (uint64_t i = 0; i < n; i++) {
    coss::PutRequest r;
    r.key = Key(i);
    r.value = value;
    if (auto res = e->Put(r); !res.status.ok()) {
      f->error = "fill: " + res.status.ToString();
      return;
    }
  }
  if (flush) {
    if (auto st = e->Flush(); !st.ok()) f->error = "flush: " + st.ToString();
  }
  f->objects = n;
}

Fixture* GetFixture(IoKind io, size_t vsize, bool disk) {
  const std::string id = std::string(disk ? "disk-" : "mem-") + IoName(io) + "-" + std::to_string(vsize);
  return AcquireFixture(id, [&](Fixture* f) {
    f->store = OpenStore("get", io, kGetStoreBytes, /*fresh=*/true, "never", &f->error);
    if (!f->store) return;
    // Memory: everything fits in the first (open) membuf, never sealed.
    // Disk: ~200 MB (100 B values) or ~400 MB (4 KiB) of records, then Flush.
    const uint64_t n = disk ? (vsize <= 512 ? kKeySpace : 100'000) : PerStripe(vsize) - 1;
    Fill(f, n, vsize, disk);
  });
}

void ReportGetCounters(benchmark::State& state, const StatsSnapshot& a, const StatsSnapshot& b,
                       const Fixture* f) {
  const double gets = static_cast<double>(b.gets - a.gets);
  state.counters["hit_memory_ratio"] = gets > 0 ? (b.hits_memory - a.hits_memory) / gets : 0;
  state.counters["hit_disk_ratio"] = gets > 0 ? (b.hits_disk - a.hits_disk) / gets : 0;
  state.counters["dev_read_bytes_per_get"] = gets > 0 ? (b.device_bytes_read - a.device_bytes_read) / gets : 0;
  state.counters["objects"] = static_cast<double>(f->objects);
  state.counters["direct_io"] = f->store->direct ? 1 : 0;
  if (b.objects > 0) state.counters["engine_index_bytes_per_object"] =
      static_cast<double>(b.index_bytes) / static_cast<double>(b.objects);
}

Fixture* g_get = nullptr;
StatsSnapshot g_get_before;

void BM_Get(benchmark::State& state, IoKind io, size_t vsize, bool disk) {
  if (state.thread_index() == 0) {
    g_get = GetFixture(io, vsize, disk);
    if (!g_get->error.empty()) {
      state.SkipWithError(g_get->error.c_str());
      g_get = nullptr;
    } else {
      g_get_before = g_get->store->engine->Stats();
    }
  }
  uint64_t rng = 0x1234 + static_cast<uint64_t>(state.thread_index()) * 0x9E37;
  uint64_t misses = 0;
  OneGet& one = g_waiters[state.thread_index() % 64];
  one.ns_to_callback = one.ns_callback_to_caller = 0;
  for (auto _ : state) {
    if (disk) {
      one.RunTimed(g_get->store->engine.get(), Key(SplitMix(rng) % g_get->objects));
    } else {
      one.Run(g_get->store->engine.get(), Key(SplitMix(rng) % g_get->objects));
    }
    misses += one.hit ? 0 : 1;
  }
  if (disk && state.threads() == 1 && state.iterations() > 0) {
    const double n = static_cast<double>(state.iterations());
    state.counters["us_get_to_callback"] = one.ns_to_callback / n / 1000;
    state.counters["us_callback_to_caller"] = one.ns_callback_to_caller / n / 1000;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * vsize));
  state.counters["misses"] = static_cast<double>(misses);
  if (state.thread_index() == 0 && g_get != nullptr) {
    ReportGetCounters(state, g_get_before, g_get->store->engine->Stats(), g_get);
  }
}

// One thread keeps `depth` Gets in flight (the async API as a server uses it).
void BM_GetAsync(benchmark::State& state, IoKind io, size_t vsize, int depth) {
  Fixture* f = GetFixture(io, vsize, /*disk=*/true);
  if (!f->error.empty()) {
    state.SkipWithError(f->error.c_str());
    return;
  }
  Engine* e = f->store->engine.get();
  const StatsSnapshot before = e->Stats();
  g_async_misses.store(0);
  uint64_t rng = 0x5678;
  for (auto _ : state) {
    for (int cur = g_inflight.load(std::memory_order_acquire); cur >= depth;
         cur = g_inflight.load(std::memory_order_acquire)) {
      g_inflight.wait(cur, std::memory_order_acquire);
    }
    g_inflight.fetch_add(1, std::memory_order_relaxed);
    e->Get(Key(SplitMix(rng) % f->objects), [](coss::GetResult r) {
      if (!r.status.ok()) g_async_misses.fetch_add(1, std::memory_order_relaxed);
      g_inflight.fetch_sub(1, std::memory_order_release);
      g_inflight.notify_one();
    });
  }
  // Drain (after the timed loop; at most `depth` requests of many thousands).
  for (int cur = g_inflight.load(); cur != 0; cur = g_inflight.load()) g_inflight.wait(cur);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * vsize));
  state.counters["misses"] = static_cast<double>(g_async_misses.load());
  ReportGetCounters(state, before, e->Stats(), f);
}

// --------------------------------------------------------------------------
// Reference reads below the engine: 4 KiB O_DIRECT reads at random offsets of a
// 512 MiB file (the region fio's randread uses), one at a time, (a) pread on
// the calling thread, (b) through coss's Device backends with the caller
// waiting for the callback. Engine Get QD1 - (b) = engine work; (b) - (a) =
// the backend's hand-off between threads.

constexpr uint64_t kRefFileBytes = 512 * kMiB;

std::string RefFilePath() { return BenchDir() + "/coss-bench-ref.dat"; }

bool EnsureRefFile(std::string* err) {
  static bool ready = false;
  if (ready) return true;
  const std::string path = RefFilePath();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *err = "cannot create " + path;
    return false;
  }
  const std::string chunk(kMiB, 'r');  // allocated blocks, not holes
  for (uint64_t off = 0; off < kRefFileBytes; off += kMiB) {
    if (::pwrite(fd, chunk.data(), chunk.size(), static_cast<off_t>(off)) != static_cast<ssize_t>(chunk.size())) {
      ::close(fd);
      *err = "cannot write " + path;
      return false;
    }
  }
  ::fdatasync(fd);
  ::close(fd);
  ready = true;
  return true;
}

void BM_RefPread(benchmark::State& state) {
  g_fixture.reset();
  std::string err;
  if (!EnsureRefFile(&err)) {
    state.SkipWithError(err.c_str());
    return;
  }
  const int fd = ::open(RefFilePath().c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) {
    state.SkipWithError("cannot open the reference file with O_DIRECT");
    return;
  }
  void* buf = std::aligned_alloc(4096, 4096);
  uint64_t rng = 99, errors = 0;
  for (auto _ : state) {
    const off_t off = static_cast<off_t>(SplitMix(rng) % (kRefFileBytes / 4096) * 4096);
    if (::pread(fd, buf, 4096, off) != 4096) errors++;
  }
  std::free(buf);
  ::close(fd);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["errors"] = static_cast<double>(errors);
}

void BM_RefDeviceRead(benchmark::State& state, IoKind io) {
  g_fixture.reset();
  std::string err;
  if (!EnsureRefFile(&err)) {
    state.SkipWithError(err.c_str());
    return;
  }
  auto f = coss::OpenStoreFile(RefFilePath(), 0, /*want_direct=*/true);
  if (!f.ok()) {
    state.SkipWithError(f.status().ToString().c_str());
    return;
  }
  EngineOptions defaults;
  auto dev = io == IoKind::kUring ? coss::MakeUringDevice(RefFilePath(), *f, defaults.io_depth)
                                  : coss::MakeThreadPoolDevice(RefFilePath(), *f, defaults.io_threads);
  if (!dev.ok()) {
    state.SkipWithError(dev.status().ToString().c_str());
    return;
  }
  coss::Device& d = **dev;
  void* buf = std::aligned_alloc(4096, 4096);
  OneGet& w = g_waiters[0];  // reuse the static flag: callbacks may outlive a stack object
  uint64_t rng = 99, errors = 0;
  for (auto _ : state) {
    const uint64_t off = SplitMix(rng) % (kRefFileBytes / 4096) * 4096;
    w.done.store(false, std::memory_order_relaxed);
    d.Read(off, buf, 4096, [&w](coss::Status st) {
      w.hit = st.ok();
      w.done.store(true, std::memory_order_release);
      w.done.notify_one();
    });
    w.done.wait(false, std::memory_order_acquire);
    errors += w.hit ? 0 : 1;
  }
  d.Shutdown();
  std::free(buf);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["errors"] = static_cast<double>(errors);
  state.counters["direct_io"] = d.direct() ? 1 : 0;
}

// --------------------------------------------------------------------------
// Sequential write bandwidth of stripe flushes.

bool g_flush_file_full = false;  // the flush store holds one complete lap

void BM_StripeFlush(benchmark::State& state, IoKind io, bool overwrite) {
  g_fixture.reset();
  ReleaseIndexBenchmarks();
  const uint64_t bytes = FlushStoreBytes();
  const uint64_t per_stripe = PerStripe(kFlushValue);
  const uint64_t stripes = (bytes - coss::format::kSuperblockSize) / (1u << 20);
  const uint64_t puts = stripes * per_stripe;  // exactly one lap, no wrap
  const std::string value(kFlushValue, 'f');
  std::string err;

  auto lap = [&](Engine* e) -> bool {
    for (uint64_t i = 0; i < puts; i++) {
      coss::PutRequest r;
      r.key = Key(i);
      r.value = value;
      if (auto res = e->Put(r); !res.status.ok()) {
        err = "put: " + res.status.ToString();
        return false;
      }
    }
    if (auto st = e->Flush(); !st.ok()) {
      err = "flush: " + st.ToString();
      return false;
    }
    return true;
  };

  if (overwrite && !g_flush_file_full) {  // untimed: lay the store down once
    auto s = OpenStore("flush", io, bytes, /*fresh=*/true, "never", &err);
    if (!s || !lap(s->engine.get())) {
      state.SkipWithError(err.c_str());
      return;
    }
    s->keep_file = true;
    g_flush_file_full = true;
  }
  if (!overwrite) g_flush_file_full = false;
  auto s = OpenStore("flush", io, bytes, /*fresh=*/!overwrite, "never", &err);
  if (!s) {
    state.SkipWithError(err.c_str());
    return;
  }
  s->keep_file = true;  // deleted at exit (or by the next fresh run)
  Engine* e = s->engine.get();
  const StatsSnapshot a = e->Stats();
  bool ok = true;
  for (auto _ : state) ok = ok && lap(e);
  if (!ok) {
    state.SkipWithError(err.c_str());
    return;
  }
  const StatsSnapshot b = e->Stats();
  g_flush_file_full = true;
  using C = benchmark::Counter;
  const double dev = static_cast<double>(b.device_bytes_written - a.device_bytes_written);
  const double cli = static_cast<double>(b.client_bytes_written - a.client_bytes_written);
  state.counters["dev_bytes_per_second"] = C(dev, C::kIsRate);
  state.counters["client_bytes_per_second"] = C(cli, C::kIsRate);
  state.counters["dev_bytes"] = dev;
  state.counters["write_amp"] = cli > 0 ? dev / cli : 0;
  state.counters["stripes_written"] = static_cast<double>(b.stripes_written - a.stripes_written);
  state.counters["store_stripes"] = static_cast<double>(stripes);
  state.counters["waits"] = static_cast<double>(b.waits - a.waits);
  state.counters["direct_io"] = s->direct ? 1 : 0;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * puts));
}

void RegisterAll() {
  const IoKind ios[] = {IoKind::kUring, IoKind::kThreads};
  auto name = [](const std::string& what, IoKind io, const std::string& rest) {
    return what + "/" + IoName(io) + "/" + rest;
  };
  for (IoKind io : ios) {
    for (size_t v : {size_t{100}, size_t{4096}}) {
      benchmark::RegisterBenchmark(name("engine/Put", io, "value:" + std::to_string(v)).c_str(),
                                   BM_Put, io, v)
          ->UseRealTime()->Threads(1)->Threads(2);
    }
  }
  for (bool disk : {false, true}) {
    for (IoKind io : ios) {
      for (size_t v : {size_t{100}, size_t{4096}}) {
        benchmark::RegisterBenchmark(
            name(disk ? "engine/GetDisk" : "engine/GetMemory", io, "value:" + std::to_string(v)).c_str(),
            BM_Get, io, v, disk)
            ->UseRealTime()->Threads(1)->Threads(2)->Threads(4);
      }
      if (disk) {
        for (size_t v : {size_t{100}, size_t{4096}}) {
          benchmark::RegisterBenchmark(
              name("engine/GetDiskAsync", io, "value:" + std::to_string(v) + "/depth:32").c_str(),
              BM_GetAsync, io, v, 32)
              ->UseRealTime();
        }
      }
    }
  }
  benchmark::RegisterBenchmark("ref/Pread4k/qd1", BM_RefPread)->UseRealTime();
  for (IoKind io : ios) {
    benchmark::RegisterBenchmark(name("ref/DeviceRead4k", io, "qd1").c_str(), BM_RefDeviceRead, io)
        ->UseRealTime();
  }
  // Index and CPU reference micro-benchmarks (index_bench.cc); the engine stores
  // are freed before them: the 10 M-object tables need the RAM.
  RegisterIndexBenchmarks([] { g_fixture.reset(); });
  for (IoKind io : ios) {
    for (bool ow : {false, true}) {
      benchmark::RegisterBenchmark(name("flush/StripeFlush", io, ow ? "overwrite" : "fresh").c_str(),
                                   BM_StripeFlush, io, ow)
          ->UseRealTime()->Iterations(1)->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // no "formatted a new store" per run
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RegisterAll();
  benchmark::AddCustomContext("coss.store_dir", BenchDir());
  benchmark::AddCustomContext("coss.flush_store_bytes", std::to_string(FlushStoreBytes()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_fixture.reset();
  ReleaseIndexBenchmarks();
  ::unlink((BenchDir() + "/coss-bench-flush.store").c_str());
  ::unlink((BenchDir() + "/coss-bench-get.store").c_str());
  ::unlink((BenchDir() + "/coss-bench-put.store").c_str());
  ::unlink(RefFilePath().c_str());
  return 0;
}
