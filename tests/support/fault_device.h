// FaultDevice: wraps a real Device and injects what the real thing cannot
// produce on demand: reads held at a gate until a test releases them, EIO on
// reads or writes, failed syncs, bit flips in data read, torn (partial) writes,
// and a hook run inside the next Sync() (to act at an exact point of a caller's
// sequence).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "io/device.h"

namespace coss::testing {

class FaultDevice final : public ForwardingDevice {
 public:
  explicit FaultDevice(std::unique_ptr<Device> inner) : ForwardingDevice(std::move(inner)) {}

  // --- gate: reads for which `pred(offset)` holds wait until Release() ---
  void GateReads(std::function<bool(uint64_t)> pred) {
    std::lock_guard lk(mu_);
    gate_ = std::move(pred);
  }
  void Release() {
    std::vector<std::function<void()>> go;
    {
      std::lock_guard lk(mu_);
      gate_ = nullptr;
      go.swap(held_);
    }
    for (auto& f : go) f();
  }
  // --- write gate: every write waits until ReleaseWrites() ---
  // Only writes for which pred(offset) holds are held (all when pred is empty).
  void GateWrites(bool on, std::function<bool(uint64_t)> pred = nullptr) {
    std::vector<std::function<void(bool)>> go;
    {
      std::lock_guard lk(mu_);
      gate_writes_ = on;
      write_gate_pred_ = std::move(pred);
      if (!on) go.swap(held_writes_);
    }
    for (auto& f : go) f(/*fail=*/false);
  }
  // Completes the oldest (or newest) held write with EIO, as a device that
  // failed it would; the others stay held. False if none is held.
  bool FailHeldWrite(bool newest = false) {
    std::function<void(bool)> f;
    {
      std::lock_guard lk(mu_);
      if (held_writes_.empty()) return false;
      auto it = newest ? held_writes_.end() - 1 : held_writes_.begin();
      f = std::move(*it);
      held_writes_.erase(it);
    }
    f(/*fail=*/true);
    return true;
  }
  size_t held_writes() {
    std::lock_guard lk(mu_);
    return held_writes_.size();
  }
  size_t held() {
    std::lock_guard lk(mu_);
    return held_.size();
  }
  // Read completion callbacks that have returned so far; WaitReadsDone(n) waits
  // until at least n have.
  uint64_t reads_done() {
    std::lock_guard lk(mu_);
    return reads_done_;
  }
  void WaitReadsDone(uint64_t n) {
    std::unique_lock lk(mu_);
    reads_done_cv_.wait(lk, [&] { return reads_done_ >= n; });
  }
  // --- sync hook: runs once, on the caller's thread, before the next Sync() ---
  void OnNextSync(std::function<void()> hook) {
    std::lock_guard lk(mu_);
    sync_hook_ = std::move(hook);
  }
  // Offsets of device writes issued so far.
  std::vector<uint64_t> writes() {
    std::lock_guard lk(mu_);
    return writes_;
  }

  std::atomic<int> fail_reads{0};             // next N reads fail with EIO
  std::atomic<int> fail_writes{0};            // next N writes fail with EIO
  std::atomic<uint64_t> fail_writes_from{0};  // ... counting only writes at or above this offset
  std::atomic<int64_t> flip_at{-1};           // flip one bit at this byte of every read buffer
  std::atomic<int64_t> tear_writes_at{-1};    // write only this many bytes of the next write
  std::atomic<int> fail_syncs{0};             // next N syncs fail with EIO (fdatasync failed)

  void Read(uint64_t off, void* buf, size_t len, IoCallback cb) override {
    auto done = [this, cb = std::move(cb)](Status s) mutable {
      cb(std::move(s));
      {
        std::lock_guard lk(mu_);
        reads_done_++;
      }
      reads_done_cv_.notify_all();
    };
    auto go = [this, off, buf, len, done = std::move(done)]() mutable {
      if (fail_reads.load() > 0 && fail_reads.fetch_sub(1) > 0) {
        done(Error(Code::kIoError, "injected EIO on read"));
        return;
      }
      inner().Read(off, buf, len, [this, buf, len, done = std::move(done)](Status s) mutable {
        const int64_t at = flip_at.load();
        if (s.ok() && at >= 0 && static_cast<size_t>(at) < len) static_cast<char*>(buf)[at] ^= 0x10;
        done(std::move(s));
      });
    };
    {
      std::lock_guard lk(mu_);
      if (gate_ && gate_(off)) {
        held_.push_back(std::move(go));
        return;
      }
    }
    go();
  }

  void Write(uint64_t off, const void* buf, size_t len, IoCallback cb) override {
    {
      std::lock_guard lk(mu_);
      if (gate_writes_ && (!write_gate_pred_ || write_gate_pred_(off))) {
        held_writes_.push_back([this, off, buf, len, cb = std::move(cb)](bool fail) mutable {
          if (fail) {
            cb(Error(Code::kIoError, "injected EIO on a held write"));
            return;
          }
          Write(off, buf, len, std::move(cb));
        });
        return;
      }
      writes_.push_back(off);
    }
    if (off >= fail_writes_from.load() && fail_writes.load() > 0 && fail_writes.fetch_sub(1) > 0) {
      cb(Error(Code::kIoError, "injected EIO on write"));
      return;
    }
    // Tears the next write that is longer than the tear point (a stripe, not a
    // 4 KiB journal block).
    int64_t tear = tear_writes_at.load();
    if (tear >= 0 && static_cast<size_t>(tear) < len &&
        tear_writes_at.compare_exchange_strong(tear, -1)) {
      // Persist only the first `tear` bytes (rounded to the I/O unit) and report success,
      // as a power cut in the middle of the write would leave it.
      const size_t keep = static_cast<size_t>(tear) / kIoAlign * kIoAlign;
      if (keep == 0) {
        cb(Status::Ok());
        return;
      }
      inner().Write(off, buf, keep, std::move(cb));
      return;
    }
    inner().Write(off, buf, len, std::move(cb));
  }

  Status Sync() override {
    std::function<void()> hook;
    {
      std::lock_guard lk(mu_);
      hook.swap(sync_hook_);
    }
    if (hook) hook();
    if (fail_syncs.load() > 0 && fail_syncs.fetch_sub(1) > 0)
      return Error(Code::kIoError, "injected fdatasync failure");
    return inner().Sync();
  }
  void Shutdown() override {
    Release();
    GateWrites(false);
    inner().Shutdown();
  }

 private:
  std::mutex mu_;
  std::function<bool(uint64_t)> gate_;
  std::vector<std::function<void()>> held_;
  std::vector<uint64_t> writes_;
  bool gate_writes_ = false;
  std::function<bool(uint64_t)> write_gate_pred_;
  std::vector<std::function<void(bool)>> held_writes_;  // called with fail
  uint64_t reads_done_ = 0;
  std::condition_variable reads_done_cv_;
  std::function<void()> sync_hook_;
};

}  // namespace coss::testing
