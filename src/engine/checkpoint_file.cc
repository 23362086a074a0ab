#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "engine/checkpoint.h"
#include "engine/format.h"
#include "util/durable_file.h"
#include "util/hash.h"

namespace coss {

namespace {

uint64_t BodyChecksum(const Checkpoint& ck) {
  const uint64_t a =
      Checksum(ck.seqs.data(), ck.seqs.size() * sizeof(uint64_t), ck.header.uuid_seed);
  return Checksum(ck.entries.data(), ck.entries.size() * sizeof(CheckpointEntry), a);
}

Status WriteAll(int fd, const void* p, size_t n, const std::string& path) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t w = ::write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Error(Code::kIoError, "write " + path + ": " + std::strerror(errno));
    c += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status ReadAll(int fd, void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    const ssize_t r = ::read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Error(Code::kCorruption, "checkpoint truncated");
    c += r;
    n -= static_cast<size_t>(r);
  }
  return Status::Ok();
}

}  // namespace

Status WriteCheckpointFile(const std::string& path, Checkpoint& ck) {
  ck.header.magic = CheckpointHeader::kMagic;
  ck.header.format_version = format::kFormatVersion;
  ck.header.entry_count = ck.entries.size();
  ck.header.checksum = Checksum(&ck.header, offsetof(CheckpointHeader, checksum), 0);
  const uint64_t body = BodyChecksum(ck);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Error(Code::kIoError, "cannot create " + tmp + ": " + std::strerror(errno));
  Status s = WriteAll(fd, &ck.header, sizeof ck.header, tmp);
  if (s.ok()) s = WriteAll(fd, ck.seqs.data(), ck.seqs.size() * sizeof(uint64_t), tmp);
  if (s.ok()) s = WriteAll(fd, ck.entries.data(), ck.entries.size() * sizeof(CheckpointEntry), tmp);
  if (s.ok()) s = WriteAll(fd, &body, sizeof body, tmp);
  if (s.ok() && ::fdatasync(fd) != 0)
    s = Error(Code::kIoError, "fdatasync " + tmp + ": " + std::strerror(errno));
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    s = Error(Code::kIoError, "rename " + tmp + ": " + std::strerror(errno));
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return SyncParentDir(path);  // the rename is durable only then
}

Result<Checkpoint> ReadCheckpointFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Error(errno == ENOENT ? Code::kNotFound : Code::kIoError,
                 path + ": " + std::strerror(errno));
  Checkpoint ck;
  Status s = ReadAll(fd, &ck.header, sizeof ck.header);
  if (s.ok() &&
      (ck.header.magic != CheckpointHeader::kMagic ||
       ck.header.checksum != Checksum(&ck.header, offsetof(CheckpointHeader, checksum), 0) ||
       ck.header.format_version != format::kFormatVersion || ck.header.stripe_count > (1u << 24) ||
       ck.header.entry_count > (uint64_t{1} << 34))) {
    s = Error(Code::kCorruption, "checkpoint header invalid");
  }
  // The counts must describe this file exactly: a header that passes its
  // checksum but names more entries than the file holds must not allocate them.
  struct stat st {};
  if (s.ok() && ::fstat(fd, &st) != 0)
    s = Error(Code::kIoError, path + ": " + std::strerror(errno));
  if (s.ok() && static_cast<uint64_t>(st.st_size) !=
                    sizeof ck.header + uint64_t{ck.header.stripe_count} * sizeof(uint64_t) +
                        ck.header.entry_count * sizeof(CheckpointEntry) + sizeof(uint64_t)) {
    s = Error(Code::kCorruption, "checkpoint size does not match its header");
  }
  if (s.ok()) {
    ck.seqs.resize(ck.header.stripe_count);
    s = ReadAll(fd, ck.seqs.data(), ck.seqs.size() * sizeof(uint64_t));
  }
  if (s.ok()) {
    ck.entries.resize(ck.header.entry_count);
    s = ReadAll(fd, ck.entries.data(), ck.entries.size() * sizeof(CheckpointEntry));
  }
  uint64_t body = 0;
  if (s.ok()) s = ReadAll(fd, &body, sizeof body);
  ::close(fd);
  if (!s.ok()) return s;
  if (body != BodyChecksum(ck))
    return Error(Code::kCorruption, "checkpoint body checksum mismatch");
  return ck;
}

}  // namespace coss
