#include "server/meta_state.h"

namespace coss::server {

MetaMark MetaStates::Get(std::string_view key, uint64_t version) {
  if (size_.load(std::memory_order_relaxed) == 0) return {};
  std::lock_guard lk(mu_);
  auto it = map_.find(std::string(key));
  if (it == map_.end() || it->second.version != version) return {};
  return it->second.mark;
}

void MetaStates::Set(std::string_view key, uint64_t version, MetaMark mark) {
  std::lock_guard lk(mu_);
  auto [it, inserted] = map_.try_emplace(std::string(key), Entry{version, mark});
  if (!inserted) {
    it->second = Entry{version, mark};
    return;
  }
  order_.push_back(it->first);
  while (order_.size() > max_) {
    map_.erase(order_.front());
    order_.pop_front();
  }
  size_.store(map_.size(), std::memory_order_relaxed);
}

}  // namespace coss::server
