#include "bench/recovery/floors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "bench/recovery/common.h"
#include "engine/format.h"

namespace coss::recovery_bench {

namespace {
constexpr uint64_t kMiB = 1ull << 20;
}  // namespace

namespace {
bool g_drop_ok = false;
bool g_drop_tried = false;
}  // namespace

void DropCaches() {
  ::sync();
  const int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
  bool ok = false;
  if (fd >= 0) {
    ok = ::write(fd, "3\n", 2) == 2;
    ::close(fd);
  }
  if (!g_drop_tried) g_drop_ok = ok;
  g_drop_ok = g_drop_ok && ok;
  g_drop_tried = true;
}

bool DropCachesPermitted() {
  return g_drop_ok;
}

namespace {
struct AlignedBuf {
  explicit AlignedBuf(size_t n) : size(n) {
    if (posix_memalign(&p, 4096, n) != 0) Die("posix_memalign");
    std::memset(p, 0, n);
  }
  ~AlignedBuf() { std::free(p); }
  char* data() { return static_cast<char*>(p); }
  void* p = nullptr;
  size_t size;
};
}  // namespace

// Sequential O_DIRECT read of `bytes` (rounded up to 4 KiB) from offset 0, in
// reads of at most 1 MiB, one at a time. Returns seconds.
double SeqRead(const std::string& path, uint64_t bytes) {
  bytes = coss::format::AlignUp(bytes, 4096);
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) Die("open O_DIRECT " + path + ": " + std::strerror(errno));
  AlignedBuf buf(kMiB);
  const auto t0 = Clock::now();
  uint64_t off = 0;
  while (off < bytes) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kMiB, bytes - off));
    const ssize_t r = ::pread(fd, buf.data(), n, static_cast<off_t>(off));
    if (r <= 0) Die("pread " + path + ": " + (r == 0 ? "EOF" : std::strerror(errno)));
    off += static_cast<uint64_t>(r);
  }
  const double s = Since(t0);
  ::close(fd);
  return s;
}

// Reads, one pread at a time, exactly the blocks a full rebuild reads: each
// stripe's first 4 KiB, and for a data stripe the 4 KiB-aligned tail holding its
// directory. Returns seconds; *bytes_out = bytes read.
double PatternRead(const std::string& path, uint32_t stripe, uint64_t nstripes, uint64_t data_start,
                   uint64_t* bytes_out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) Die("open O_DIRECT " + path + ": " + std::strerror(errno));
  AlignedBuf hb(4096), db(stripe);
  uint64_t bytes = 0;
  const auto t0 = Clock::now();
  for (uint64_t s = 0; s < nstripes; s++) {
    const uint64_t off = data_start + s * stripe;
    if (::pread(fd, hb.data(), 4096, static_cast<off_t>(off)) != 4096) Die("pread header");
    bytes += 4096;
    coss::format::StripeHeader h;
    std::memcpy(&h, hb.data(), sizeof h);
    if (h.magic != coss::format::kStripeMagic || h.kind != coss::format::StripeKind::kData ||
        h.record_count == 0 || h.span != 1)
      continue;
    const uint64_t dir = uint64_t{h.record_count} * sizeof(coss::format::DirEntry);
    const uint64_t end = off + stripe;
    const uint64_t a = coss::format::AlignDown(end - std::min<uint64_t>(dir, stripe), 4096);
    if (::pread(fd, db.data(), end - a, static_cast<off_t>(a)) != static_cast<ssize_t>(end - a))
      Die("pread directory");
    bytes += end - a;
  }
  const double sec = Since(t0);
  ::close(fd);
  *bytes_out = bytes;
  return sec;
}

}  // namespace coss::recovery_bench
