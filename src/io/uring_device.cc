// UringDevice: io_uring backend. Submissions go straight to the ring (one
// syscall per submit, many operations in flight); a completion thread reaps
// CQEs and runs callbacks. Reads started on a thread with a ThreadRing
// installed (a server worker) go to that ring instead, and complete on that
// thread (thread_ring.h); they count as in flight here all the same. Membufs registered with
// RegisterBuffers are written with IORING_OP_WRITE_FIXED. Short transfers are resubmitted for the
// rest.
#include <liburing.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "io/device.h"
#include "io/thread_ring.h"
#include "io/uring_completion.h"

// The kernel hands an Op from the submitting thread to the reaper through the
// ring's shared memory, an edge ThreadSanitizer cannot see: state it.
#if defined(__SANITIZE_THREAD__)
#define COSS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define COSS_TSAN 1
#endif
#endif
#ifdef COSS_TSAN
#include <sanitizer/tsan_interface.h>
#define COSS_HANDOFF_RELEASE(p) __tsan_release(p)
#define COSS_HANDOFF_ACQUIRE(p) __tsan_acquire(p)
#else
#define COSS_HANDOFF_RELEASE(p) (void)(p)
#define COSS_HANDOFF_ACQUIRE(p) (void)(p)
#endif

namespace coss {

namespace {

class UringDevice final : public Device, public ThreadRing::Owner {
 public:
  UringDevice(std::string path, OpenedFile f) : path_(std::move(path)), f_(f) {}
  ~UringDevice() override {
    Shutdown();
    if (ring_ok_) io_uring_queue_exit(&ring_);
    CloseStoreFile(f_);
  }

  Status Init(uint32_t depth) {
    io_uring_params p{};
    const int r = io_uring_queue_init_params(std::max<uint32_t>(8, depth), &ring_, &p);
    if (r < 0)
      return Error(Code::kIoError, std::string("io_uring_queue_init: ") + std::strerror(-r));
    ring_ok_ = true;
    reaper_ = std::thread([this] { Reap(); });
    return Status::Ok();
  }

  void Read(uint64_t off, void* buf, size_t len, IoCallback cb) override {
    if (ThreadRing* tr = ThreadRing::Current()) {  // the calling loop's own ring (thread_ring.h)
      inflight_.fetch_add(1);
      tr->Read(f_.fd, off, buf, len, std::move(cb), this);  // ends with ReadDone()
      return;
    }
    Submit(new Op{false, off, static_cast<char*>(buf), len, 0, std::move(cb)});
  }
  void Write(uint64_t off, const void* buf, size_t len, IoCallback cb) override {
    Submit(
        new Op{true, off, const_cast<char*>(static_cast<const char*>(buf)), len, 0, std::move(cb)});
  }
  Status WriteNow(uint64_t off, const void* buf, size_t len) override {
    return PwriteAll(f_.cached_fd, path_, off, buf, len);
  }
  Status Sync() override {
    if (::fdatasync(f_.fd) != 0)
      return Error(Code::kIoError, path_ + ": fdatasync: " + std::strerror(errno));
    return Status::Ok();
  }
  void RegisterBuffers(const std::vector<iovec>& bufs) override {
    std::lock_guard lk(sq_mu_);
    if (!registered_.empty() || bufs.empty()) return;
    if (io_uring_register_buffers(&ring_, bufs.data(), static_cast<unsigned>(bufs.size())) == 0)
      registered_ = bufs;  // else: keep using plain writes (e.g. RLIMIT_MEMLOCK too low)
  }
  void Shutdown() override {
    if (!ring_ok_ || stopped_.exchange(true)) return;
    {
      std::unique_lock lk(idle_mu_);
      idle_cv_.wait(lk, [this] { return inflight_.load() == 0; });
    }
    {
      std::lock_guard lk(sq_mu_);
      io_uring_sqe* sqe = GetSqe();
      io_uring_prep_nop(sqe);
      io_uring_sqe_set_data(sqe, nullptr);  // the reaper's stop signal
      io_uring_submit(&ring_);
    }
    reaper_.join();
  }
  uint64_t size() const override { return f_.size; }
  bool direct() const override { return f_.direct; }
  const std::string& path() const override { return path_; }

 private:
  struct Op {
    bool write;
    uint64_t off;
    char* buf;
    size_t len;
    size_t done;
    IoCallback cb;
  };

  io_uring_sqe* GetSqe() {  // REQUIRES: sq_mu_ held
    io_uring_sqe* sqe;
    while ((sqe = io_uring_get_sqe(&ring_)) == nullptr) io_uring_submit(&ring_);
    return sqe;
  }

  int FixedIndex(const char* p, size_t len) const {
    for (size_t i = 0; i < registered_.size(); i++) {
      const char* b = static_cast<const char*>(registered_[i].iov_base);
      if (p >= b && p + len <= b + registered_[i].iov_len) return static_cast<int>(i);
    }
    return -1;
  }

  void Submit(Op* op) {
    inflight_.fetch_add(1);
    std::lock_guard lk(sq_mu_);
    Prep(op);
    io_uring_submit(&ring_);
  }

  void Prep(Op* op) {  // REQUIRES: sq_mu_ held
    io_uring_sqe* sqe = GetSqe();
    char* p = op->buf + op->done;
    const auto n = static_cast<unsigned>(op->len - op->done);
    const uint64_t off = op->off + op->done;
    if (op->write) {
      const int fi = FixedIndex(p, n);
      if (fi >= 0) {
        io_uring_prep_write_fixed(sqe, f_.fd, p, n, off, fi);
      } else {
        io_uring_prep_write(sqe, f_.fd, p, n, off);
      }
    } else {
      io_uring_prep_read(sqe, f_.fd, p, n, off);
    }
    COSS_HANDOFF_RELEASE(op);
    io_uring_sqe_set_data(sqe, op);
  }

  void Reap() {
    for (;;) {
      io_uring_cqe* cqe = nullptr;
      const int r = io_uring_wait_cqe(&ring_, &cqe);
      if (r == -EINTR) continue;
      if (r < 0) continue;
      auto* op = static_cast<Op*>(io_uring_cqe_get_data(cqe));
      const int res = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      if (op == nullptr) return;
      COSS_HANDOFF_ACQUIRE(op);
      std::optional<Status> st = UringCompletion(res, op->len, &op->done, path_, op->write);
      if (!st) {
        std::lock_guard lk(sq_mu_);
        Prep(op);
        io_uring_submit(&ring_);
        continue;
      }
      op->cb(std::move(*st));
      delete op;
      ReadDone();
    }
  }

  void ReadDone() override {  // an operation's callback has run (a ThreadRing's too)
    if (inflight_.fetch_sub(1) == 1) {
      std::lock_guard lk(idle_mu_);
      idle_cv_.notify_all();
    }
  }

  std::string path_;
  OpenedFile f_;
  io_uring ring_{};
  bool ring_ok_ = false;
  std::mutex sq_mu_;
  std::vector<iovec> registered_;
  std::atomic<uint64_t> inflight_{0};
  std::atomic<bool> stopped_{false};
  std::mutex idle_mu_;
  std::condition_variable idle_cv_;
  std::thread reaper_;
};

}  // namespace

Result<std::unique_ptr<Device>> MakeUringDevice(const std::string& path, OpenedFile f,
                                                uint32_t depth) {
  auto d = std::make_unique<UringDevice>(path, f);
  if (Status s = d->Init(depth); !s.ok()) return s;
  return std::unique_ptr<Device>(std::move(d));
}

}  // namespace coss
