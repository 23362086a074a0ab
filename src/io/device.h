// Device: asynchronous positional I/O on one file or block device.
//
// Contract:
//  * Read/Write are asynchronous; many may be in flight at once. The callback
//    runs exactly once, on a backend thread (or inline when the backend has
//    to fall back), with the status and the bytes transferred. A short transfer
//    is reported as kIoError, never as success.
//  * When direct() is true, buffers, offsets and lengths must be multiples of
//    kIoAlign; the engine guarantees this for every call it makes.
//  * Callers must not hold locks that a callback needs while calling Read/Write
//    (callbacks may run inline).
//  * Shutdown() waits for every in-flight operation's callback, then stops.
//
// Backends: UringDevice (io_uring, registered buffers), ThreadPoolDevice
// (pread/pwrite workers). FaultDevice (tests) wraps either to inject faults.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "coss/options.h"
#include "coss/status.h"

namespace coss {

inline constexpr uint32_t kIoAlign = 4096;

using IoCallback = std::function<void(Status)>;

class Device {
 public:
  virtual ~Device() = default;
  virtual void Read(uint64_t offset, void* buf, size_t len, IoCallback cb) = 0;
  virtual void Write(uint64_t offset, const void* buf, size_t len, IoCallback cb) = 0;
  virtual Status Sync() = 0;
  // A write on the caller's thread that returns once the bytes are in the
  // kernel: a process crash can no longer undo it, a power cut can until the
  // next Sync (as for Write). For a caller that would only wait for Write's
  // callback (the journal's flusher). The default goes through Write; a
  // file-backed device pwrites through the page cache (OpenedFile::cached_fd):
  // no hand-off to an I/O thread, and no device round trip before the Sync.
  virtual Status WriteNow(uint64_t offset, const void* buf, size_t len);
  // Buffers that will be written often (the membufs); a backend may pin them.
  virtual void RegisterBuffers(const std::vector<iovec>& bufs) { (void)bufs; }
  virtual void Shutdown() = 0;
  virtual uint64_t size() const = 0;
  virtual bool direct() const = 0;
  virtual const std::string& path() const = 0;
};

// A Device that passes every call to another one: wrappers (fault injection,
// accounting) derive from it and override only what they change.
class ForwardingDevice : public Device {
 public:
  explicit ForwardingDevice(std::unique_ptr<Device> inner) : inner_(std::move(inner)) {}
  void Read(uint64_t offset, void* buf, size_t len, IoCallback cb) override {
    inner_->Read(offset, buf, len, std::move(cb));
  }
  void Write(uint64_t offset, const void* buf, size_t len, IoCallback cb) override {
    inner_->Write(offset, buf, len, std::move(cb));
  }
  Status Sync() override { return inner_->Sync(); }
  void RegisterBuffers(const std::vector<iovec>& bufs) override { inner_->RegisterBuffers(bufs); }
  void Shutdown() override { inner_->Shutdown(); }
  uint64_t size() const override { return inner_->size(); }
  bool direct() const override { return inner_->direct(); }
  const std::string& path() const override { return inner_->path(); }

 protected:
  Device& inner() { return *inner_; }

 private:
  std::unique_ptr<Device> inner_;
};

struct OpenedFile {
  int fd = -1;
  // The same file opened again without O_DIRECT when fd has it (else fd):
  // Device::WriteNow's page-cache writes. Direct reads and writes of a range
  // are coherent with it (the kernel writes back and drops cached pages of
  // the range first); a Sync (fdatasync of either descriptor) covers both.
  int cached_fd = -1;
  uint64_t size = 0;
  bool direct = false;
  bool block_device = false;
};
// Closes both descriptors of f.
void CloseStoreFile(const OpenedFile& f);

// pwrite of all `len` bytes at `offset` (EINTR and short writes retried).
Status PwriteAll(int fd, const std::string& path, uint64_t offset, const void* buf, size_t len);

// Opens (creating a regular file of `size` bytes if missing or smaller) with
// O_DIRECT when asked and supported. Takes an exclusive flock so that a second
// process cannot open the same store.
Result<OpenedFile> OpenStoreFile(const std::string& path, uint64_t size, bool want_direct);

Result<std::unique_ptr<Device>> MakeUringDevice(const std::string& path, OpenedFile f,
                                                uint32_t depth);
Result<std::unique_ptr<Device>> MakeThreadPoolDevice(const std::string& path, OpenedFile f,
                                                     uint32_t threads);
// A zero-filled device in RAM whose operations complete inline (simulation).
std::unique_ptr<Device> MakeMemDevice(const std::string& name, uint64_t size);

Result<std::unique_ptr<Device>> OpenDevice(const DeviceSpec& spec, const EngineOptions& opts);
// Test hook (sync_fault.cc): $COSS_FAULT_SYNC_FAIL_FILE makes Sync() fail while
// that file exists. Returns d unchanged when the variable is not set.
std::unique_ptr<Device> WithInjectedSyncFaults(std::unique_ptr<Device> d);

// Synchronous helpers on top of the async API (tools, tests, recovery).
Status ReadSync(Device& d, uint64_t offset, void* buf, size_t len);
Status WriteSync(Device& d, uint64_t offset, const void* buf, size_t len);

}  // namespace coss
