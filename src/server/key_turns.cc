#include "server/key_turns.h"

#include <algorithm>

namespace coss::server {

void KeyTurns::Release(uint64_t hash, uint64_t id) {
  Stripe& s = StripeOf(hash);
  Start next;
  {
    std::lock_guard lk(s.mu);
    auto it = s.turns.find(hash);
    if (it == s.turns.end()) return;
    Turn& t = it->second;
    if (t.holder != id) {  // still in line: leave it
      auto w = std::find_if(t.waiting.begin(), t.waiting.end(),
                            [id](const Waiter& x) { return x.id == id; });
      if (w != t.waiting.end()) t.waiting.erase(w);
      return;
    }
    if (t.waiting.empty()) {
      s.turns.erase(it);
      return;
    }
    auto pick = t.waiting.begin();
    if (t.streak < kStreak) {
      auto local = std::find_if(t.waiting.begin(), t.waiting.end(),
                                [&t](const Waiter& x) { return x.owner == t.holder_owner; });
      if (local != t.waiting.end()) pick = local;
    }
    t.streak = pick->owner == t.holder_owner ? t.streak + 1 : 0;
    t.holder = pick->id;
    t.holder_owner = pick->owner;
    next = std::move(pick->start);
    t.waiting.erase(pick);
  }
  if (next) next();
}

size_t KeyTurns::Keys() {
  size_t n = 0;
  for (Stripe& s : stripes_) {
    std::lock_guard lk(s.mu);
    n += s.turns.size();
  }
  return n;
}

}  // namespace coss::server
