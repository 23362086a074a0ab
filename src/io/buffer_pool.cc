#include "io/buffer_pool.h"

#include <cstdlib>
#include <new>

namespace coss {

namespace {

constexpr size_t kAlign = 4096;

char* Allocate(size_t capacity) {
  auto* p = static_cast<char*>(std::aligned_alloc(kAlign, capacity));
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

std::shared_ptr<BufferPool> BufferPool::Create(size_t max_retained) {
  std::shared_ptr<BufferPool> pool(new BufferPool(max_retained));
  pool->self_ = pool;
  return pool;
}

BufferPool::~BufferPool() {
  for (const Idle& b : idle_) std::free(b.p);
}

PooledBuffer BufferPool::Get(size_t n) {
  if (n < kMinPooled) {
    const size_t cap = (n + kAlign - 1) / kAlign * kAlign;
    char* p = Allocate(cap == 0 ? kAlign : cap);
    return {std::shared_ptr<char>(p, [](char* q) { std::free(q); }), cap};
  }
  const size_t cap = (n + kGranule - 1) / kGranule * kGranule;
  char* p = nullptr;
  {
    std::lock_guard lk(mu_);
    for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {  // most recent first
      if (it->capacity == cap) {
        p = it->p;
        retained_ -= cap;
        reused_++;
        idle_.erase(std::next(it).base());
        break;
      }
    }
  }
  if (p == nullptr) p = Allocate(cap);
  // The deleter holds the pool weakly: a buffer outliving it is simply freed.
  std::weak_ptr<BufferPool> pool = self_;
  return {std::shared_ptr<char>(p,
                                [pool, cap](char* q) {
                                  if (auto s = pool.lock()) {
                                    s->Return(q, cap);
                                  } else {
                                    std::free(q);
                                  }
                                }),
          cap};
}

void BufferPool::Return(char* p, size_t capacity) {
  char* drop = nullptr;
  std::deque<Idle> over;
  {
    std::lock_guard lk(mu_);
    if (capacity > max_retained_) {
      drop = p;
    } else {
      idle_.push_back({p, capacity});
      retained_ += capacity;
      while (retained_ > max_retained_) {  // the oldest idle buffers go
        over.push_back(idle_.front());
        retained_ -= idle_.front().capacity;
        idle_.pop_front();
      }
    }
  }
  std::free(drop);
  for (const Idle& b : over) std::free(b.p);
}

size_t BufferPool::retained_bytes() const {
  std::lock_guard lk(mu_);
  return retained_;
}

uint64_t BufferPool::reused() const {
  std::lock_guard lk(mu_);
  return reused_;
}

}  // namespace coss
