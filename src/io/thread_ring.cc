#include "io/thread_ring.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "io/uring_completion.h"

namespace coss {

namespace {
thread_local ThreadRing* t_ring = nullptr;
}  // namespace

struct ThreadRing::Op {
  int fd;
  uint64_t off;
  char* buf;
  size_t len;
  size_t done;
  IoCallback cb;
  Owner* owner;
};

Result<std::unique_ptr<ThreadRing>> ThreadRing::Make(uint32_t entries) {
  std::unique_ptr<ThreadRing> r(new ThreadRing);
  io_uring_params p{};
  const int e = io_uring_queue_init_params(entries < 8 ? 8 : entries, &r->ring_, &p);
  if (e < 0) {
    r->ring_.ring_fd = -1;
    return Error(Code::kIoError, std::string("io_uring_queue_init: ") + std::strerror(-e));
  }
  return r;
}

ThreadRing::~ThreadRing() {
  if (ring_.ring_fd < 0) return;
  Drain();
  if (t_ring == this) t_ring = nullptr;
  io_uring_queue_exit(&ring_);
}

ThreadRing* ThreadRing::Current() {
  return t_ring;
}

void ThreadRing::Install() {
  t_ring = this;
}

void ThreadRing::Uninstall() {
  Drain();
  if (t_ring == this) t_ring = nullptr;
}

io_uring_sqe* ThreadRing::Sqe() {
  io_uring_sqe* sqe;
  while ((sqe = io_uring_get_sqe(&ring_)) == nullptr) Submit();  // full: submit early
  return sqe;
}

void ThreadRing::Prep(Op* op) {
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_read(sqe, op->fd, op->buf + op->done, static_cast<unsigned>(op->len - op->done),
                     op->off + op->done);
  io_uring_sqe_set_data(sqe, op);
  queued_++;
}

void ThreadRing::Read(int fd, uint64_t off, void* buf, size_t len, IoCallback cb, Owner* owner) {
  inflight_++;
  Prep(new Op{fd, off, static_cast<char*>(buf), len, 0, std::move(cb), owner});
}

void ThreadRing::Submit() {
  if (queued_ == 0) return;
  for (;;) {
    const int r = io_uring_submit(&ring_);
    if (r >= 0) {
      queued_ -= static_cast<uint32_t>(r) < queued_ ? static_cast<uint32_t>(r) : queued_;
      if (queued_ == 0 || r == 0) return;
      continue;
    }
    if (r == -EINTR) continue;
    if (r == -EAGAIN || r == -EBUSY) {  // the kernel is short of resources: reap, then retry
      Reap();
      continue;
    }
    // Anything else (EBADF, EFAULT, EINVAL) means the ring itself is unusable:
    // a setup or kernel fault, not an I/O error of one read. The reads queued
    // could only hang; stop loudly instead.
    std::fprintf(stderr, "cossd: io_uring_submit on a worker's ring: %s\n", std::strerror(-r));
    std::abort();
  }
}

void ThreadRing::Complete(Op* op, int res) {
  std::optional<Status> st = UringCompletion(res, op->len, &op->done, op->owner->path(), false);
  if (!st) {
    Prep(op);  // the rest, in the next Submit
    return;
  }
  IoCallback cb = std::move(op->cb);
  Owner* owner = op->owner;
  delete op;
  inflight_--;
  cb(std::move(*st));
  owner->ReadDone();
}

size_t ThreadRing::Reap() {
  size_t n = 0;
  for (;;) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(&ring_, &cqe) != 0 || cqe == nullptr) break;
    auto* op = static_cast<Op*>(io_uring_cqe_get_data(cqe));
    const int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    Complete(op, res);
    n++;
  }
  if (queued_ != 0) Submit();  // resubmissions of short reads
  return n;
}

void ThreadRing::Drain() {
  while (inflight_ != 0) {
    Submit();
    io_uring_cqe* cqe = nullptr;
    const int r = io_uring_wait_cqe(&ring_, &cqe);
    if (r == -EINTR) continue;
    if (r < 0) {  // the ring itself is broken: the reads would hang
      std::fprintf(stderr, "cossd: io_uring_wait_cqe on a worker's ring: %s\n", std::strerror(-r));
      std::abort();
    }
    Reap();
  }
}

}  // namespace coss
