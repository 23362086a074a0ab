// ThreadPoolDevice: pread/pwrite on a pool of worker threads.
//
// Many operations are in flight at once (one per worker). The queue is bounded;
// when it is full the submitting thread performs the operation itself, which
// gives back-pressure without the deadlock a blocking submit could cause when a
// callback submits more I/O.
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "io/device.h"

namespace coss {

namespace {

constexpr size_t kQueueLimit = 4096;

class ThreadPoolDevice final : public Device {
 public:
  ThreadPoolDevice(std::string path, OpenedFile f, uint32_t threads)
      : path_(std::move(path)), f_(f) {
    for (uint32_t i = 0; i < std::max<uint32_t>(1, threads); i++) {
      workers_.emplace_back([this] { Run(); });
    }
  }
  ~ThreadPoolDevice() override {
    Shutdown();
    CloseStoreFile(f_);
  }

  void Read(uint64_t off, void* buf, size_t len, IoCallback cb) override {
    Submit(Op{false, off, static_cast<char*>(buf), len, std::move(cb)});
  }
  void Write(uint64_t off, const void* buf, size_t len, IoCallback cb) override {
    Submit(Op{true, off, const_cast<char*>(static_cast<const char*>(buf)), len, std::move(cb)});
  }
  Status WriteNow(uint64_t off, const void* buf, size_t len) override {
    return PwriteAll(f_.cached_fd, path_, off, buf, len);
  }
  Status Sync() override {
    if (::fdatasync(f_.fd) != 0)
      return Error(Code::kIoError, path_ + ": fdatasync: " + std::strerror(errno));
    return Status::Ok();
  }
  void Shutdown() override {
    {
      std::unique_lock lk(mu_);
      if (stopping_) return;
      idle_.wait(lk, [this] { return q_.empty() && busy_ == 0; });
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
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
    IoCallback cb;
  };

  void Submit(Op op) {
    {
      std::lock_guard lk(mu_);
      if (q_.size() < kQueueLimit && !stopping_) {
        q_.push_back(std::move(op));
        cv_.notify_one();
        return;
      }
    }
    Execute(op);  // queue full: do it on the caller's thread
  }

  void Execute(Op& op) {
    size_t done = 0;
    Status st;
    while (done < op.len) {
      const ssize_t n =
          op.write
              ? ::pwrite(f_.fd, op.buf + done, op.len - done, static_cast<off_t>(op.off + done))
              : ::pread(f_.fd, op.buf + done, op.len - done, static_cast<off_t>(op.off + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        st = Error(Code::kIoError,
                   path_ + (op.write ? ": pwrite: " : ": pread: ") + std::strerror(errno));
        break;
      }
      if (n == 0) {
        st = Error(Code::kIoError,
                   path_ + ": short " + (op.write ? "write" : "read") + " at end of file");
        break;
      }
      done += static_cast<size_t>(n);
    }
    op.cb(std::move(st));
  }

  void Run() {
    for (;;) {
      Op op;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [this] { return stopping_ || !q_.empty(); });
        if (q_.empty()) return;
        op = std::move(q_.front());
        q_.pop_front();
        busy_++;
      }
      Execute(op);
      {
        std::lock_guard lk(mu_);
        busy_--;
        if (q_.empty() && busy_ == 0) idle_.notify_all();
      }
    }
  }

  std::string path_;
  OpenedFile f_;
  std::mutex mu_;
  std::condition_variable cv_, idle_;
  std::deque<Op> q_;
  size_t busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace

Result<std::unique_ptr<Device>> MakeThreadPoolDevice(const std::string& path, OpenedFile f,
                                                     uint32_t threads) {
  return std::unique_ptr<Device>(new ThreadPoolDevice(path, f, threads));
}

}  // namespace coss
