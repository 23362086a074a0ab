// A failed fdatasync on demand, for the server's integration tests: a real file
// system does not fail a flush when asked to. With $COSS_FAULT_SYNC_FAIL_FILE
// set, every device's Sync() fails (EIO) for as long as that file exists; the
// rest of the I/O is the real backend's. Never set in production.
#include <unistd.h>

#include <cstdlib>

#include "io/device.h"

namespace coss {

namespace {
class SyncFaultDevice final : public Device {
 public:
  SyncFaultDevice(std::unique_ptr<Device> inner, std::string trigger)
      : inner_(std::move(inner)), trigger_(std::move(trigger)) {}
  void Read(uint64_t off, void* buf, size_t len, IoCallback cb) override {
    inner_->Read(off, buf, len, std::move(cb));
  }
  void Write(uint64_t off, const void* buf, size_t len, IoCallback cb) override {
    inner_->Write(off, buf, len, std::move(cb));
  }
  Status Sync() override {
    if (::access(trigger_.c_str(), F_OK) == 0)
      return Error(Code::kIoError, "injected fdatasync failure ($COSS_FAULT_SYNC_FAIL_FILE)");
    return inner_->Sync();
  }
  void RegisterBuffers(const std::vector<iovec>& b) override { inner_->RegisterBuffers(b); }
  void Shutdown() override { inner_->Shutdown(); }
  uint64_t size() const override { return inner_->size(); }
  bool direct() const override { return inner_->direct(); }
  const std::string& path() const override { return inner_->path(); }

 private:
  std::unique_ptr<Device> inner_;
  const std::string trigger_;
};
}  // namespace

std::unique_ptr<Device> WithInjectedSyncFaults(std::unique_ptr<Device> d) {
  const char* trigger = std::getenv("COSS_FAULT_SYNC_FAIL_FILE");
  if (trigger == nullptr || *trigger == '\0') return d;
  return std::make_unique<SyncFaultDevice>(std::move(d), trigger);
}

}  // namespace coss
