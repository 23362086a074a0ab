#include "tools/sim/engine_model.h"

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

class EngineModel final : public CacheModel {
 public:
  EngineModel(std::unique_ptr<Engine> e, uint32_t max_object)
      : engine_(std::move(e)), zeros_(std::max<uint32_t>(max_object, 1), '\0') {}

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
    out->device_bytes_written = s.device_bytes_written;
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
    out->format_overhead = obj ? double(s.device_bytes_written) / double(obj) : 0;
  }

 private:
  std::unique_ptr<Engine> engine_;
  std::vector<char> zeros_;
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
  std::vector<std::unique_ptr<Device>> devs;
  devs.push_back(MakeMemDevice("sim-device", cfg.cache_bytes));
  auto e = OpenEngineOnDevices(o, std::move(devs));
  if (!e.ok()) {
    *err = e.status().ToString();
    return nullptr;
  }
  return std::make_unique<EngineModel>(std::move(*e), cfg.max_object);
}

}  // namespace coss::sim
