// The disk-speed floors recovery_bench compares a restart against: reading a
// store sequentially, or exactly the blocks a full rebuild reads, with
// O_DIRECT, one read at a time, and dropping the page cache before each
// measurement. Fatal errors end the process (Die); nothing here is the engine's.
#pragma once

#include <cstdint>
#include <string>

namespace coss::recovery_bench {

// sync + drop the page cache (needs root); remembers whether the kernel allowed it.
void DropCaches();
// True when every DropCaches so far was allowed.
bool DropCachesPermitted();

// Sequential O_DIRECT read of `bytes` (rounded up to 4 KiB) from offset 0, in
// reads of at most 1 MiB, one at a time. Returns seconds.
double SeqRead(const std::string& path, uint64_t bytes);

// Reads, one pread at a time, the blocks a full rebuild reads: each stripe's
// first 4 KiB and, for a data stripe, the 4 KiB-aligned tail holding its
// directory. Returns seconds; *bytes_out = bytes read.
double PatternRead(const std::string& path, uint32_t stripe, uint64_t nstripes, uint64_t data_start,
                   uint64_t* bytes_out);

}  // namespace coss::recovery_bench
