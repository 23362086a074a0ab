// A failed fdatasync on demand, for the server's integration tests: a real file
// system does not fail a flush when asked to. With $COSS_FAULT_SYNC_FAIL_FILE
// set, every device's Sync() fails (EIO) for as long as that file exists; the
// rest of the I/O is the real backend's. Never set in production.
#include <unistd.h>

#include <cstdlib>

#include "io/device.h"

namespace coss {

namespace {
class SyncFaultDevice final : public ForwardingDevice {
 public:
  SyncFaultDevice(std::unique_ptr<Device> inner, std::string trigger)
      : ForwardingDevice(std::move(inner)), trigger_(std::move(trigger)) {}
  Status Sync() override {
    if (::access(trigger_.c_str(), F_OK) == 0)
      return Error(Code::kIoError, "injected fdatasync failure ($COSS_FAULT_SYNC_FAIL_FILE)");
    return inner().Sync();
  }
  // Only syncs fail here: the journal's writes keep their direct path.
  Status WriteNow(uint64_t off, const void* buf, size_t len) override {
    return inner().WriteNow(off, buf, len);
  }

 private:
  const std::string trigger_;
};
}  // namespace

std::unique_ptr<Device> WithInjectedSyncFaults(std::unique_ptr<Device> d) {
  const char* trigger = std::getenv("COSS_FAULT_SYNC_FAIL_FILE");
  if (trigger == nullptr || *trigger == '\0') return d;
  return std::make_unique<SyncFaultDevice>(std::move(d), trigger);
}

}  // namespace coss
