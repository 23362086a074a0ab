// PowerCutDevice: wraps a real Device and keeps enough history to build the disk
// images a power cut may leave (the CrashMonkey / ALICE idea, over our Device
// interface). The real file is still written and read through the real backend.
//
// Fault model (what a power cut may do to a device with a volatile write cache):
//  * a write that completed before a Sync() *began*, where that Sync returned OK,
//    is durable: it is in every image;
//  * every other write issued so far (completed or still in flight) is pending:
//    in an image each of its 4 KiB blocks independently survives or is lost, and
//    the surviving blocks of overlapping pending writes land in any order. A
//    write of one 4 KiB block is atomic (sector-sized writes do not tear).
//
// Crash() builds one image; the shadow of durable bytes starts as the file's
// content when the device is wrapped (it was durable before the test began).
// Sync() can be told to fail (fail_syncs) to model a failed fdatasync: nothing
// becomes durable then.
#pragma once

#include <atomic>
#include <cstdint>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/device.h"

namespace coss::testing {

class PowerCutDevice final : public ForwardingDevice {
 public:
  explicit PowerCutDevice(std::unique_ptr<Device> inner) : ForwardingDevice(std::move(inner)) {
    shadow_.assign(size(), '\0');
    std::ifstream in(path(), std::ios::binary);
    in.read(shadow_.data(), static_cast<std::streamsize>(shadow_.size()));
  }

  std::atomic<int> fail_syncs{0};  // next N syncs fail (nothing becomes durable)

  // One image of what the disk may hold if power failed now.
  //   keep_percent: chance that one block of a pending write survives;
  //   in any order (shuffled), so later writes may be overtaken by earlier ones.
  std::string Crash(std::mt19937_64& rng, int keep_percent) {
    std::lock_guard lk(mu_);
    std::string img = shadow_;
    struct Block {
      uint64_t off;
      const char* src;
    };
    std::vector<Block> blocks;
    for (const Pending& p : pending_) {
      for (uint64_t b = 0; b < p.bytes.size(); b += kIoAlign) {
        if (static_cast<int>(rng() % 100) < keep_percent)
          blocks.push_back({p.off + b, p.bytes.data() + b});
      }
    }
    std::shuffle(blocks.begin(), blocks.end(), rng);
    for (const Block& b : blocks) {
      const size_t n = std::min<size_t>(kIoAlign, img.size() - b.off);
      std::memcpy(img.data() + b.off, b.src, n);
    }
    return img;
  }

  // Pending writes longer than one block (stripe runs, not journal blocks).
  size_t pending_stripe_writes() {
    std::lock_guard lk(mu_);
    size_t n = 0;
    for (const Pending& p : pending_) n += p.bytes.size() > kIoAlign ? 1 : 0;
    return n;
  }

  void Write(uint64_t off, const void* buf, size_t len, IoCallback cb) override {
    uint64_t id;
    {
      std::lock_guard lk(mu_);
      id = next_id_++;
      pending_.push_back({id, off, std::string(static_cast<const char*>(buf), len), false});
    }
    inner().Write(off, buf, len, [this, id, cb = std::move(cb)](Status s) {
      if (s.ok()) {
        std::lock_guard lk(mu_);
        for (Pending& p : pending_) {
          if (p.id == id) p.completed = true;
        }
      }
      cb(std::move(s));
    });
  }

  Status Sync() override {
    std::vector<uint64_t> covered;  // writes completed before the sync began
    {
      std::lock_guard lk(mu_);
      for (const Pending& p : pending_) {
        if (p.completed) covered.push_back(p.id);
      }
    }
    if (fail_syncs.load() > 0 && fail_syncs.fetch_sub(1) > 0)
      return Error(Code::kIoError, "injected fdatasync failure");
    Status s = inner().Sync();
    if (!s.ok()) return s;
    std::lock_guard lk(mu_);
    std::vector<Pending> rest;
    for (Pending& p : pending_) {
      if (std::find(covered.begin(), covered.end(), p.id) != covered.end()) {
        std::memcpy(shadow_.data() + p.off, p.bytes.data(),
                    std::min<size_t>(p.bytes.size(), shadow_.size() - p.off));
      } else {
        rest.push_back(std::move(p));
      }
    }
    pending_.swap(rest);
    return s;
  }

 private:
  struct Pending {
    uint64_t id;
    uint64_t off;
    std::string bytes;
    bool completed;
  };
  std::mutex mu_;
  std::string shadow_;            // GUARDED_BY(mu_): bytes every image holds
  std::vector<Pending> pending_;  // GUARDED_BY(mu_): writes not yet durable, in issue order
  uint64_t next_id_ = 0;          // GUARDED_BY(mu_)
};

}  // namespace coss::testing
