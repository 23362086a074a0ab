// MemDevice: a device in RAM. Operations complete inline on the caller's
// thread, so an engine over MemDevices is deterministic and fast: `coss sim`
// replays traces through the real engine on it. Not for production data.
#include <cstring>
#include <mutex>
#include <vector>

#include "io/device.h"

namespace coss {

namespace {

class MemDevice final : public Device {
 public:
  MemDevice(std::string name, uint64_t size) : name_(std::move(name)), bytes_(size, 0) {}

  void Read(uint64_t off, void* buf, size_t len, IoCallback cb) override {
    if (off + len > bytes_.size()) {
      cb(Error(Code::kIoError, name_ + ": read past the end"));
      return;
    }
    {
      std::lock_guard lk(mu_);
      std::memcpy(buf, bytes_.data() + off, len);
    }
    cb(Status::Ok());
  }
  void Write(uint64_t off, const void* buf, size_t len, IoCallback cb) override {
    if (off + len > bytes_.size()) {
      cb(Error(Code::kIoError, name_ + ": write past the end"));
      return;
    }
    {
      std::lock_guard lk(mu_);
      std::memcpy(bytes_.data() + off, buf, len);
    }
    cb(Status::Ok());
  }
  Status Sync() override { return Status::Ok(); }
  void Shutdown() override {}
  uint64_t size() const override { return bytes_.size(); }
  bool direct() const override { return false; }
  const std::string& path() const override { return name_; }

 private:
  std::string name_;
  std::mutex mu_;
  std::vector<char> bytes_;
};

}  // namespace

std::unique_ptr<Device> MakeMemDevice(const std::string& name, uint64_t size) {
  return std::make_unique<MemDevice>(name, size);
}

}  // namespace coss
