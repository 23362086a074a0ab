#include "server/boot_guard.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/config.h"
#include "util/durable_file.h"

namespace coss::server {

namespace {

constexpr const char* kWrittenMode = "written";
constexpr const char* kFlushFailedMode = "written, flush failed";

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

Result<std::string> CurrentBootId() {
  const char* over = std::getenv("COSS_BOOT_ID_FILE");
  const std::string path = over != nullptr ? over : "/proc/sys/kernel/random/boot_id";
  std::ifstream in(path);
  std::string id;
  if (!in || !std::getline(in, id) || Trim(id).empty())
    return Error(Code::kIoError, "cannot read the boot id from " + path);
  return Trim(id);
}

std::string BootGuard::PathFor(const ServerConfig& cfg) {
  if (cfg.stores.empty()) return "";
  const std::string& store = cfg.stores.front().path;
  if (cfg.checkpoint.empty() || cfg.checkpoint == "none") return store + ".run";
  return cfg.checkpoint + "/" + std::filesystem::path(store).filename().string() + ".run";
}

Result<std::string> BootGuard::MustStartEmpty() const {
  if (path_.empty() || !std::filesystem::exists(path_)) return std::string();  // clean stop
  std::ifstream in(path_);
  std::string boot, mode;
  std::getline(in, boot);
  std::getline(in, mode);
  if (in && Trim(mode) == kFlushFailedMode) {
    return "a flush failed while the store acknowledged --write-ack written writes (boot " +
           Trim(boot) + "): writes acknowledged before it may be lost";
  }
  if (!in || Trim(mode) != kWrittenMode) {
    if (in && !Trim(mode).empty()) return std::string();  // durable or buffered: nothing to fear
    return "the store's run file " + path_ + " cannot be read";
  }
  Result<std::string> now = CurrentBootId();
  if (!now.ok()) return now.status();
  if (Trim(boot) == *now) return std::string();  // a process crash: the journal covers it
  return "the store was in use with --write-ack written when the machine went down (boot " +
         Trim(boot) + ", now " + *now + "): writes acknowledged before a flush may be lost";
}

Status BootGuard::Arm(Persistence level, bool wait) const {
  if (path_.empty()) return Status::Ok();
  Result<std::string> boot = CurrentBootId();
  if (!boot.ok()) return boot.status();
  const char* mode = !wait ? "buffered" : level == Persistence::kWritten ? kWrittenMode : "durable";
  return WriteFileDurably(path_, *boot + "\n" + mode + "\n");
}

Status BootGuard::MarkFlushFailed() const {
  if (path_.empty()) return Status::Ok();
  Result<std::string> boot = CurrentBootId();
  return WriteFileDurably(path_, (boot.ok() ? *boot : "?") + "\n" + kFlushFailedMode + "\n");
}

Status BootGuard::Disarm() const {
  if (path_.empty()) return Status::Ok();
  return RemoveDurably(path_);
}

}  // namespace coss::server
