// Opening store files and the synchronous helpers shared by every backend.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>

#include "io/device.h"
#include "util/durable_file.h"

namespace coss {

namespace {
Status Errno(const std::string& what, const std::string& path, int err) {
  return Error(Code::kIoError, what + " " + path + ": " + std::strerror(err));
}

Status Preallocate(int fd, const std::string& path, uint64_t size) {
  int rc;
  do {
    rc = ::fallocate(fd, 0, 0, static_cast<off_t>(size));
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return Status::Ok();
  const int e = errno;
  if (e == EOPNOTSUPP) return Status::Ok();  // the file system cannot reserve: nothing to gain
  if (e == ENOSPC) {
    return Error(Code::kInvalidArgument,
                 "the file system holding " + path + " cannot hold the store's " +
                     std::to_string(size) +
                     " bytes (No space left on device): free space or configure a smaller store");
  }
  return Errno("cannot reserve the blocks of store file", path, e);
}
}  // namespace

Result<OpenedFile> OpenStoreFile(const std::string& path, uint64_t size, bool want_direct) {
  OpenedFile f;
  int flags = O_RDWR | O_CLOEXEC;
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (!exists) flags |= O_CREAT;
  if (want_direct) {
    f.fd = ::open(path.c_str(), flags | O_DIRECT, 0644);
    f.direct = f.fd >= 0;
  }
  if (f.fd < 0) f.fd = ::open(path.c_str(), flags, 0644);  // e.g. tmpfs refuses O_DIRECT
  if (f.fd < 0) return Errno("cannot open store file", path, errno);
  // A process killed with io_uring requests outstanding releases its file (and
  // so its lock) only when the kernel has torn its ring down, a moment after it
  // died: wait a little before calling the store busy.
  int lock_rc = ::flock(f.fd, LOCK_EX | LOCK_NB);
  for (int i = 0; lock_rc != 0 && errno == EWOULDBLOCK && i < 150; i++) {
    ::usleep(20'000);
    lock_rc = ::flock(f.fd, LOCK_EX | LOCK_NB);
  }
  if (lock_rc != 0) {
    const int e = errno;
    ::close(f.fd);
    if (e == EWOULDBLOCK)
      return Error(Code::kInvalidArgument,
                   "store " + path + " is in use by another process (its lock is held)");
    return Errno("cannot lock store file", path, e);
  }
  if (::fstat(f.fd, &st) != 0) {
    const int e = errno;
    ::close(f.fd);
    return Errno("cannot stat", path, e);
  }
  f.cached_fd = f.fd;
  if (f.direct) {
    // The same open file description's inode, not whatever the path names now.
    const std::string self = "/proc/self/fd/" + std::to_string(f.fd);
    f.cached_fd = ::open(self.c_str(), O_RDWR | O_CLOEXEC);
    if (f.cached_fd < 0) {
      const int e = errno;
      ::close(f.fd);
      return Errno("cannot reopen store file", path, e);
    }
  }
  if (S_ISBLK(st.st_mode)) {
    f.block_device = true;
    uint64_t bytes = 0;
    if (::ioctl(f.fd, BLKGETSIZE64, &bytes) != 0) {
      const int e = errno;
      CloseStoreFile(f);
      return Errno("cannot read the size of block device", path, e);
    }
    f.size = size == 0 ? bytes : std::min(size, bytes);
  } else {
    f.size = static_cast<uint64_t>(st.st_size);
    if (size != 0 && f.size < size) {
      if (::ftruncate(f.fd, static_cast<off_t>(size)) != 0) {
        const int e = errno;
        CloseStoreFile(f);
        return Errno("cannot size store file", path, e);
      }
      f.size = size;
    } else if (size != 0) {
      f.size = size;  // use only the configured part of a larger file
    }
    // Reserve every block now: a sparse store would meet ENOSPC in the middle
    // of a running store (a lost stripe), far from the operator's decision to
    // size it. Idempotent for a store that is already allocated.
    Status s = Preallocate(f.fd, path, f.size);
    // A new store's directory entry must be durable too: a store lost with its
    // directory entry would start its versions (CAS values) afresh.
    if (s.ok() && !exists) s = SyncParentDir(path);
    if (!s.ok()) {
      CloseStoreFile(f);
      if (!exists) ::unlink(path.c_str());  // leave nothing half-made behind
      return s;
    }
  }
  return f;
}

void CloseStoreFile(const OpenedFile& f) {
  if (f.cached_fd >= 0 && f.cached_fd != f.fd) ::close(f.cached_fd);
  if (f.fd >= 0) ::close(f.fd);
}

Result<std::unique_ptr<Device>> OpenDevice(const DeviceSpec& spec, const EngineOptions& opts) {
  auto f = OpenStoreFile(spec.path, spec.size, opts.direct_io);
  if (!f.ok()) return f.status();
  auto dev = opts.io == IoKind::kUring ? MakeUringDevice(spec.path, *f, opts.io_depth)
                                       : MakeThreadPoolDevice(spec.path, *f, opts.io_threads);
  if (!dev.ok()) return dev.status();
  return WithInjectedSyncFaults(std::move(*dev));
}

namespace {
Status WaitFor(const std::function<void(IoCallback)>& start) {
  std::promise<Status> p;
  auto fut = p.get_future();
  start([&p](Status s) { p.set_value(std::move(s)); });
  return fut.get();
}
}  // namespace

Status ReadSync(Device& d, uint64_t offset, void* buf, size_t len) {
  return WaitFor([&](IoCallback cb) { d.Read(offset, buf, len, std::move(cb)); });
}

Status WriteSync(Device& d, uint64_t offset, const void* buf, size_t len) {
  return WaitFor([&](IoCallback cb) { d.Write(offset, buf, len, std::move(cb)); });
}

Status Device::WriteNow(uint64_t offset, const void* buf, size_t len) {
  return WriteSync(*this, offset, buf, len);
}

Status PwriteAll(int fd, const std::string& path, uint64_t offset, const void* buf, size_t len) {
  const char* p = static_cast<const char*>(buf);
  size_t done = 0;
  while (done < len) {
    const ssize_t n = ::pwrite(fd, p + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error(Code::kIoError, path + ": pwrite: " + std::strerror(errno));
    if (n == 0) return Error(Code::kIoError, path + ": short write at end of file");
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace coss
