#include "tools/sim/engine_model.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "coss/engine.h"
#include "engine/engine_internal.h"
#include "engine/format.h"
#include "io/device.h"

namespace coss::sim {

namespace {

constexpr size_t kKeyLen = 8;

// Counts every byte written to the device, whatever the engine's counters say
// (stripes, journal blocks, checkpoints, superblock).
class CountingDevice final : public ForwardingDevice {
 public:
  CountingDevice(std::unique_ptr<Device> d, std::shared_ptr<std::atomic<uint64_t>> written)
      : ForwardingDevice(std::move(d)), written_(std::move(written)) {}
  void Write(uint64_t off, const void* buf, size_t len, IoCallback cb) override {
    written_->fetch_add(len, std::memory_order_relaxed);
    inner().Write(off, buf, len, std::move(cb));
  }

 private:
  std::shared_ptr<std::atomic<uint64_t>> written_;  // shared: the engine writes at close
};

class EngineModel final : public CacheModel {
 public:
  EngineModel(std::unique_ptr<Engine> e, uint32_t max_object,
              std::shared_ptr<std::atomic<uint64_t>> written)
      : engine_(std::move(e)),
        zeros_(std::max<uint32_t>(max_object, 1), '\0'),
        written_(std::move(written)),
        written_at_open_(written_->load()) {}

  bool Get(const Request& r, int64_t) override {
    char key[kKeyLen];
    std::memcpy(key, &r.id, kKeyLen);
    int state = 0;  // 0: callback not run, 1: miss, 2: hit
    engine_->Get(std::string_view(key, kKeyLen),
                 [&state](GetResult g) { state = g.status.ok() ? 2 : 1; });
    if (state == 0) {
      std::fprintf(stderr, "coss sim: engine Get did not complete inline\n");
      std::abort();
    }
    return state == 2;
  }

  void Put(const Request& r, int64_t now) override {
    char key[kKeyLen];
    std::memcpy(key, &r.id, kKeyLen);
    if (r.size > zeros_.size()) {
      refused_++;
      return;
    }
    PutRequest p;
    p.key = std::string_view(key, kKeyLen);
    p.value = std::string_view(zeros_.data(), r.size);
    p.expiry = r.ttl ? now + r.ttl : 0;
    if (!engine_->Put(p).status.ok()) refused_++;
  }

  void Remove(const Request& r) override {
    char key[kKeyLen];
    std::memcpy(key, &r.id, kKeyLen);
    engine_->Remove(std::string_view(key, kKeyLen));
  }

  void Finish(RunResult* out) override {
    const StatsSnapshot s = engine_->Stats();
    // The policy's figure is the stripe writes (Stats() may count journal
    // blocks as device bytes too); everything else the device took since the
    // store was opened (journal blocks) is reported beside it.
    out->device_bytes_written = s.device_bytes_written - s.journal_bytes_written;
    const uint64_t all = written_->load() - written_at_open_;
    out->journal_bytes_written = all - std::min(all, out->device_bytes_written);
    out->device_bytes_read = s.device_bytes_read;
    out->relocations = s.relocations;
    out->relocated_bytes = s.relocated_bytes;
    out->reinsertions = s.reinsertions;
    out->reinserted_bytes = s.reinserted_bytes;
    out->admission_rejected = s.admission_rejected;
    out->evictions = s.evictions;
    out->memory_hits = s.hits_memory;
    out->refused = refused_;
    out->reref = s.reref;
    out->stripe_size = engine_->options().stripe_size;
    // Object bytes inside the records the engine wrote: client puts plus
    // relocated and reinserted copies (those counters count whole records).
    const uint64_t per_record = sizeof(format::RecordHeader) + kKeyLen;
    const uint64_t moved = s.relocated_bytes + s.reinserted_bytes;
    const uint64_t moved_obj =
        moved - std::min(moved, (s.relocations + s.reinsertions) * per_record);
    const uint64_t obj = (s.client_bytes_written - s.puts * kKeyLen) + moved_obj;
    out->format_overhead = obj ? double(out->device_bytes_written) / double(obj) : 0;
  }

 private:
  std::unique_ptr<Engine> engine_;
  std::vector<char> zeros_;
  std::shared_ptr<std::atomic<uint64_t>> written_;  // by CountingDevice
  uint64_t written_at_open_;
  uint64_t refused_ = 0;
};

}  // namespace

uint64_t EngineRecordFootprint(uint32_t size) {
  return format::RecordFootprint(kKeyLen, size);
}

std::unique_ptr<CacheModel> MakeEngineModel(const EngineModelConfig& cfg, std::string* err) {
  EngineOptions o;
  o.devices.push_back({"sim-device", cfg.cache_bytes});
  o.stripe_size = cfg.stripe_size;
  o.max_value_size = std::max<uint32_t>(cfg.max_object, 1);
  o.membufs = 2;  // inline device: a sealed membuf is written at once
  o.on_full = FullPolicy::kWait;
  o.relocation = cfg.policy;
  o.expected_objects = cfg.expected_objects;
  o.devices[0].checkpoint = "none";  // no checkpoint files, no checkpointer thread
  o.checkpoint_interval_s = 0;
  o.max_buffer_age_s = 0;  // simulated time: a real-time age would make results vary
  auto written = std::make_shared<std::atomic<uint64_t>>(0);
  std::vector<std::unique_ptr<Device>> devs;
  devs.push_back(
      std::make_unique<CountingDevice>(MakeMemDevice("sim-device", cfg.cache_bytes), written));
  auto e = OpenEngineOnDevices(o, std::move(devs));
  if (!e.ok()) {
    *err = e.status().ToString();
    return nullptr;
  }
  return std::make_unique<EngineModel>(std::move(*e), cfg.max_object, std::move(written));
}

}  // namespace coss::sim
