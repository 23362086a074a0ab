#include "tools/fsck/store_file.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace coss::tools::fsck {

namespace {
Status Errno(const std::string& what, int err) {
  return Error(Code::kIoError, what + ": " + std::strerror(err));
}
}  // namespace

Result<std::unique_ptr<StoreFile>> StoreFile::Open(const std::string& path, uint64_t size,
                                                   bool writable) {
  const int fd = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open " + path, errno);
  if (::flock(fd, (writable ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK)
      return Error(Code::kBusy, path +
                                    " is locked by another process (a running cossd?): stop "
                                    "the server before running fsck");
    return Errno("cannot lock " + path, e);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return Errno("cannot stat " + path, e);
  }
  uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    if (::ioctl(fd, BLKGETSIZE64, &file_size) != 0) {
      const int e = errno;
      ::close(fd);
      return Errno("cannot read the size of block device " + path, e);
    }
  } else if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error(Code::kInvalidArgument, path + " is neither a regular file nor a block device");
  }
  return std::unique_ptr<StoreFile>(
      new StoreFile(path, fd, size != 0 ? size : file_size, file_size));
}

StoreFile::~StoreFile() {
  ::close(fd_);
}

void StoreFile::Read(uint64_t offset, void* buf, size_t len, IoCallback cb) {
  size_t done = 0;
  while (done < len) {
    const ssize_t n =
        ::pread(fd_, static_cast<char*>(buf) + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return cb(Errno("read " + path_ + " at " + std::to_string(offset + done), errno));
    if (n == 0)
      return cb(Error(Code::kIoError, "short read of " + path_ + " at " +
                                          std::to_string(offset + done) + " (file too short)"));
    done += static_cast<size_t>(n);
  }
  cb(Status::Ok());
}

void StoreFile::Write(uint64_t offset, const void* buf, size_t len, IoCallback cb) {
  size_t done = 0;
  while (done < len) {
    const ssize_t n = ::pwrite(fd_, static_cast<const char*>(buf) + done, len - done,
                               static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return cb(
          Errno("write " + path_ + " at " + std::to_string(offset + done), n < 0 ? errno : ENOSPC));
    done += static_cast<size_t>(n);
  }
  cb(Status::Ok());
}

Status StoreFile::Sync() {
  if (::fdatasync(fd_) != 0) return Errno("fdatasync " + path_, errno);
  return Status::Ok();
}

}  // namespace coss::tools::fsck
