// StoreFile: one store file or block device opened for fsck, behind the
// engine's Device interface (so engine code such as Journal::Scan can read it).
//
// Contract:
//  * Open takes a non-blocking flock on the file — shared for a check,
//    exclusive for a repair. cossd holds an exclusive flock on every store file
//    while it runs, so a running server makes Open fail with kBusy (and a
//    running fsck keeps cossd from starting). The lock is released on close.
//  * I/O is plain pread/pwrite (buffered; no alignment needed), synchronous:
//    Read/Write run the callback inline before returning. A short read or write
//    (e.g. past the end of a truncated file) is kIoError.
//  * size() is the size fsck uses: the SIZE given on the command line, or else
//    the file's (block device's) size; file_size() is what the file really has.
//  * Never creates or resizes a file.
#pragma once

#include <memory>
#include <string>

#include "io/device.h"

namespace coss::tools::fsck {

class StoreFile final : public Device {
 public:
  static Result<std::unique_ptr<StoreFile>> Open(const std::string& path, uint64_t size,
                                                 bool writable);
  ~StoreFile() override;

  void Read(uint64_t offset, void* buf, size_t len, IoCallback cb) override;
  void Write(uint64_t offset, const void* buf, size_t len, IoCallback cb) override;
  Status Sync() override;
  void Shutdown() override {}
  uint64_t size() const override { return size_; }
  bool direct() const override { return false; }
  const std::string& path() const override { return path_; }

  uint64_t file_size() const { return file_size_; }

 private:
  StoreFile(std::string path, int fd, uint64_t size, uint64_t file_size)
      : path_(std::move(path)), fd_(fd), size_(size), file_size_(file_size) {}
  std::string path_;
  int fd_;
  uint64_t size_;
  uint64_t file_size_;
};

}  // namespace coss::tools::fsck
