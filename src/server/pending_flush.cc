#include "server/pending_flush.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "proto/numbers.h"
#include "util/durable_file.h"

namespace coss::server {

std::string PendingFlush::PathFor(const ServerConfig& cfg) {
  if (cfg.stores.empty() || cfg.checkpoint == "none") return "";
  const std::string& store = cfg.stores.front().path;
  if (cfg.checkpoint.empty()) return store + ".flush";
  return cfg.checkpoint + "/" + std::filesystem::path(store).filename().string() + ".flush";
}

Status PendingFlush::Save(int64_t at) const {
  if (path_.empty()) return Status::Ok();
  return WriteFileDurably(path_, std::to_string(at) + "\n");
}

Status PendingFlush::Remove() const {
  // A removal a crash could undo would re-arm a flush the client already saw happen
  // (or one a later plain flush_all made void).
  return path_.empty() ? Status::Ok() : RemoveDurably(path_);
}

Status PendingFlush::Arm(int64_t at) {
  std::lock_guard lk(mu_);
  at_.store(at);
  return Save(at);
}

Status PendingFlush::Disarm() {
  std::lock_guard lk(mu_);
  at_.store(0);
  return Remove();
}

bool PendingFlush::RunIfDue(int64_t now, const std::function<Status()>& clear, Status* result) {
  std::lock_guard lk(mu_);
  const int64_t at = at_.load();
  if (at == 0 || now < at) return false;
  *result = clear();
  if (result->ok()) {
    at_.store(0);
    if (Status rm = Remove(); !rm.ok()) *result = rm;
  }
  return true;
}

int64_t PendingFlush::Load() {
  if (path_.empty()) return 0;
  std::ifstream in(path_);
  if (!in) return 0;
  std::string line;
  std::getline(in, line);
  uint64_t at = 0;
  if (!proto::ParseDecimal(line, &at) || at == 0 || at > (uint64_t{1} << 40)) {
    spdlog::warn("{}: not a delayed flush_all time ('{}'); ignored", path_, line.substr(0, 40));
    return 0;
  }
  at_.store(static_cast<int64_t>(at));
  return static_cast<int64_t>(at);
}

}  // namespace coss::server
