// recovery_bench: time-to-serve of a coss store after a clean stop and after a
// crash, next to the physical floor (issue 4, "Recovery speed").
//
//   recovery_bench --dir /var/tmp/x --gib 4 --reps 3 --json out.json [--keep]
//
// One store file of --gib GiB (1 MiB stripes, io_uring, O_DIRECT, 16-byte keys,
// 4 KiB values, distinct keys) is filled until the ring has wrapped once and
// closed cleanly. Then, each --reps times (the case order is fixed):
//
//   clean_ckpt    Engine::Open with the checkpoint written by the last Close()
//                 (the engine loads it and deletes it); Close() again writes a
//                 new one for the next repetition.
//   clean_nockpt  the .ckpt file is deleted and the store reopened with
//                 DeviceSpec::checkpoint = "none": the full metadata scan.
//   crash_ckpt    a forked child opens the store, puts --crash-frac x (ring
//                 capacity) new keys, calls Engine::Checkpoint(), puts as many
//                 again, reports its Stats() through a pipe and SIGKILLs itself
//                 (no Close). The parent waits for the child, waits until the
//                 store's flock is free (the kernel tears the dead process's
//                 io_uring down first; timed separately), drops the page cache
//                 and times Open: warm start from the mid-way checkpoint +
//                 replay of the runs written after it + the journal.
//   crash_nockpt  the same crash with checkpoint = "none" in the child and at
//                 the reopen (no .ckpt file at all): full scan + journal.
//
// Every timed Open is preceded by sync + drop_caches (when permitted; the
// engine reads the store with O_DIRECT anyway, the .ckpt file through the page
// cache). After Open returns, the first --gets Gets (GetSync, one at a time) of
// keys drawn uniformly from the newest half of the live key range are timed and
// their values checked. After a crash, the newest 2000 keys the child wrote are
// probed too (not timed): hits, misses, wrong values.
//
// Floors (same process, same file, O_DIRECT, one pread at a time):
//   floor_full    read the whole store file sequentially in 1 MiB reads
//                 (3 times: after the fill, after clean_nockpt, at the end);
//   floor_rbr     read Stats().recovery_bytes_read bytes sequentially from
//                 offset 0 in 1 MiB reads (per repetition, after Close);
//   floor_rbr_ck  the same plus the .ckpt file's size (checkpoint cases);
//   floor_pattern read exactly the blocks a full scan reads (each stripe's
//                 first 4 KiB and its directory tail), one pread at a time.
//
// Two more cases, run right after clean_ckpt and clean_nockpt respectively:
//   clean_ckpt_presized, clean_nockpt_presized: the same open with
//                 EngineOptions::expected_objects = the live object count (the
//                 index is presized instead of grown while it is rebuilt).
//
// Output: one JSON object (--json). The store file is deleted unless --keep.
//
//   recovery_bench --index-test N --json out.json
//
// coss::Index alone: N random 64-bit hashes inserted (a) in random order,
// (b) in the order a checkpoint lists them (Index::Visit partition by partition,
// i.e. ascending tag within each partition), grown on demand, and (c) that
// order into an index presized for N; then lookups of absent and present
// hashes in each.
#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/recovery/common.h"
#include "bench/recovery/floors.h"
#include "bench/recovery/index_load.h"
#include "coss/engine.h"
#include "engine/format.h"

namespace {

using coss::Engine;
using coss::EngineOptions;
using coss::StatsSnapshot;
using coss::recovery_bench::Clock;
using coss::recovery_bench::Die;
using coss::recovery_bench::DropCaches;
using coss::recovery_bench::DropCachesPermitted;
using coss::recovery_bench::PatternRead;
using coss::recovery_bench::SeqRead;
using coss::recovery_bench::Since;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;
constexpr size_t kKeyLen = 16;
constexpr size_t kValueLen = 4096;
constexpr uint32_t kStripe = 1u << 20;
constexpr uint64_t kTailProbe = 2000;

std::string Key(uint64_t id) {
  char b[32];  // ids stay below 10^15: always 16 characters
  std::snprintf(b, sizeof b, "k%015" PRIu64, id);
  return std::string(b, kKeyLen);
}

// Value: the key, then a byte pattern derived from the id.
void FillValue(uint64_t id, std::string* v) {
  v->assign(kValueLen, static_cast<char>('a' + id % 26));
  std::memcpy(v->data(), Key(id).data(), kKeyLen);
  std::memcpy(v->data() + kKeyLen, &id, sizeof id);
}

bool ValueOk(uint64_t id, std::string_view v) {
  if (v.size() != kValueLen) return false;
  if (std::memcmp(v.data(), Key(id).data(), kKeyLen) != 0) return false;
  uint64_t got;
  std::memcpy(&got, v.data() + kKeyLen, sizeof got);
  return got == id && v.back() == static_cast<char>('a' + id % 26);
}

// CPU seconds (user + system, all threads) this process has used so far.
double CpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

EngineOptions Opts(const std::string& path, uint64_t size, const std::string& ckpt,
                   uint64_t expected_objects = 0) {
  EngineOptions o;
  o.expected_objects = expected_objects;
  o.devices.push_back({path, size, ckpt});
  o.io = coss::IoKind::kUring;
  o.stripe_size = kStripe;
  o.checkpoint_interval_s = 0;  // only the checkpoints this benchmark asks for
  o.max_buffer_age_s = 0;       // and no partly filled stripes written by age
  return o;
}

std::unique_ptr<Engine> OpenOrDie(const EngineOptions& o) {
  auto e = Engine::Open(o);
  if (!e.ok()) Die("open " + o.devices[0].path + ": " + e.status().ToString());
  return std::move(*e);
}

uint64_t FileSize(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

bool Exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// Waits until nobody holds the store's flock (a SIGKILLed engine's file is
// released when the kernel has torn its io_uring down). Returns seconds waited.
double WaitLockFree(const std::string& path) {
  const auto t0 = Clock::now();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Die("open " + path);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (Since(t0) > 30) Die("store lock still held 30 s after the child died");
    ::usleep(1000);
  }
  ::flock(fd, LOCK_UN);
  ::close(fd);
  return Since(t0);
}

// What a crashed child reports before it dies.
struct ChildReport {
  uint64_t ok = 0;
  uint64_t first_key = 0;  // first key id it wrote
  uint64_t next_key = 0;   // one past the last key id it wrote
  uint64_t ckpt_key = 0;   // key ids below this were written before Checkpoint()
  uint64_t objects = 0;    // Stats().objects just before the kill
  uint64_t stripes_written = 0;
  uint64_t membufs_in_flight = 0;
  uint64_t journal_syncs = 0;
  double open_s = 0;
  double write_s = 0;       // both put phases
  double write_pre_s = 0;   // puts before Checkpoint()
  double write_post_s = 0;  // puts after it
  double checkpoint_s = 0;
  uint64_t ckpt_file_bytes = 0;
  uint64_t warm = 0;  // the child's own open loaded a checkpoint
  uint64_t child_objects_recovered = 0;
};

struct Rep {
  std::string kase;
  int rep = 0;
  double lock_wait_s = 0;
  double open_s = 0;
  double open_cpu_s = 0;  // CPU seconds used by this process during Open
  double gets_s = 0;
  uint64_t gets = 0, gets_hit = 0, gets_wrong = 0, gets_miss = 0, gets_disk = 0;
  std::vector<uint64_t> missed;  // key ids of the first timed Gets that missed (up to 16)
  uint64_t next_key = 0;         // one past the newest key id written before this Open
  double close_s = 0;
  uint64_t ckpt_file_bytes = 0;  // .ckpt size found before Open (0 = none)
  bool ckpt_consumed = false;    // .ckpt gone after Open
  StatsSnapshot st;              // right after Open
  double floor_rbr_s = 0;
  double floor_rbr_ck_s = 0;
  bool crash = false;
  ChildReport child;
  uint64_t tail_hit = 0, tail_miss = 0, tail_wrong = 0;
  uint64_t checksum_failures_after_probe = 0;
  int64_t newest_hit_key = -1;    // highest key id among the probed tail that hits
  uint64_t expected_objects = 0;  // objects before the stop / kill
};

class Bench {
 public:
  Bench(std::string dir, uint64_t gib, int reps, uint64_t ngets, double crash_frac, uint64_t seed)
      : path_(dir + "/store-" + std::to_string(gib) + "g.coss"),
        ckpt_(path_ + ".ckpt"),
        gib_(gib),
        size_(gib * kGiB),
        reps_(reps),
        ngets_(ngets),
        crash_frac_(crash_frac),
        rng_(seed) {
    data_start_ = coss::format::kSuperblockSize + coss::format::JournalBytesFor(kStripe);
    nstripes_ = (size_ - data_start_) / kStripe;
  }

  void Run() {
    std::filesystem::remove(path_);
    std::filesystem::remove(ckpt_);
    Fill();
    FloorFull();
    for (int r = 1; r <= reps_; r++) CleanCkpt(r);
    for (int r = 1; r <= reps_; r++) CleanCkptPresized(r);
    for (int r = 1; r <= reps_; r++) CleanNoCkpt(r, false);
    for (int r = 1; r <= reps_; r++) CleanNoCkpt(r, true);
    FloorFull();
    for (int r = 1; r <= reps_; r++) Crash(r, /*with_ckpt=*/true);
    for (int r = 1; r <= reps_; r++) Crash(r, /*with_ckpt=*/false);
    FloorFull();
    pattern_s_ = PatternRead(path_, kStripe, nstripes_, data_start_, &pattern_bytes_);
  }

  void Cleanup() {
    std::filesystem::remove(path_);
    std::filesystem::remove(ckpt_);
  }

  void WriteJson(const std::string& out) const;

 private:
  void PutKeys(Engine& e, uint64_t from, uint64_t to) {
    std::string v;
    for (uint64_t id = from; id < to; id++) {
      const std::string k = Key(id);
      FillValue(id, &v);
      coss::PutRequest req;
      req.key = k;
      req.value = v;
      auto r = e.Put(req);
      if (!r.status.ok()) Die("put: " + r.status.ToString());
    }
  }

  void Fill() {
    std::printf("[%" PRIu64 " GiB] fill: %" PRIu64 " stripes\n", gib_, nstripes_);
    std::fflush(stdout);
    auto e = OpenOrDie(Opts(path_, size_, ""));
    const auto t0 = Clock::now();
    const uint64_t target = nstripes_ + 4;  // every stripe written once, then a few more
    while (e->Stats().stripes_written < target) {
      PutKeys(*e, next_key_, next_key_ + 4096);
      next_key_ += 4096;
    }
    fill_s_ = Since(t0);
    const StatsSnapshot st = e->Stats();
    fill_puts_ = next_key_;
    fill_stripes_ = st.stripes_written;
    fill_evictions_ = st.evictions;
    cap_ = st.objects;  // live objects of a full ring
    const auto c0 = Clock::now();
    if (auto s = e->Close(); !s.ok()) Die("close: " + s.ToString());
    fill_close_s_ = Since(c0);
    e.reset();
    std::printf("[%" PRIu64 " GiB] fill: %" PRIu64 " puts in %.1f s, %" PRIu64
                " live objects, close %.2f s, ckpt %" PRIu64 " B\n",
                gib_, fill_puts_, fill_s_, cap_, fill_close_s_, FileSize(ckpt_));
    std::fflush(stdout);
    live_ = cap_;
  }

  void FloorFull() {
    DropCaches();
    const double s = SeqRead(path_, FileSize(path_));
    floor_full_.push_back(s);
    std::printf("[%" PRIu64 " GiB] floor: %" PRIu64 " B sequential O_DIRECT 1 MiB in %.3f s\n",
                gib_, FileSize(path_), s);
    std::fflush(stdout);
  }

  // Times Open + the first gets on an engine; fills r.
  std::unique_ptr<Engine> TimedOpen(const EngineOptions& o, Rep* r) {
    r->ckpt_file_bytes = Exists(ckpt_) ? FileSize(ckpt_) : 0;
    DropCaches();
    const double c0 = CpuSeconds();
    const auto t0 = Clock::now();
    auto e = OpenOrDie(o);
    r->open_s = Since(t0);
    r->open_cpu_s = CpuSeconds() - c0;
    r->st = e->Stats();
    r->ckpt_consumed = r->ckpt_file_bytes > 0 && !Exists(ckpt_);
    r->next_key = next_key_;
    // First gets: keys from the newest half of the live range, excluding the
    // newest kTailProbe (a crash may lose those).
    const uint64_t hi = next_key_ - kTailProbe;
    const uint64_t lo = next_key_ - live_ / 2;
    std::uniform_int_distribution<uint64_t> pick(lo, hi - 1);
    std::vector<uint64_t> ids(ngets_);
    for (auto& id : ids) id = pick(rng_);
    const auto g0 = Clock::now();
    for (uint64_t id : ids) {
      const coss::GetResult g = e->GetSync(Key(id));
      r->gets++;
      if (g.status.ok()) {
        if (ValueOk(id, g.item.value)) {
          r->gets_hit++;
        } else {
          r->gets_wrong++;
        }
        if (g.tier == coss::Tier::kDisk) r->gets_disk++;
      } else {
        r->gets_miss++;
        if (r->missed.size() < 16) r->missed.push_back(id);
      }
    }
    r->gets_s = Since(g0);
    return e;
  }

  void Finish(std::unique_ptr<Engine> e, Rep* r) {
    if (r->crash) {
      // Not timed: probe the newest keys the child wrote.
      for (uint64_t id = r->child.next_key - std::min(kTailProbe, r->child.next_key);
           id < r->child.next_key; id++) {
        const coss::GetResult g = e->GetSync(Key(id));
        if (!g.status.ok()) {
          r->tail_miss++;
        } else if (ValueOk(id, g.item.value)) {
          r->tail_hit++;
          r->newest_hit_key = static_cast<int64_t>(id);
        } else {
          r->tail_wrong++;
        }
      }
      r->checksum_failures_after_probe = e->Stats().checksum_failures;
    }
    const auto c0 = Clock::now();
    if (auto s = e->Close(); !s.ok()) Die("close: " + s.ToString());
    r->close_s = Since(c0);
    e.reset();
    DropCaches();
    r->floor_rbr_s = SeqRead(path_, r->st.recovery_bytes_read);
    if (r->ckpt_file_bytes > 0) {
      DropCaches();
      r->floor_rbr_ck_s = SeqRead(path_, r->st.recovery_bytes_read + r->ckpt_file_bytes);
    }
    std::printf("[%" PRIu64 " GiB] %-12s rep %d: lock %.3f s, open %.3f s (cpu %.3f s), %" PRIu64
                " gets %.3f s (%" PRIu64 " hit, %" PRIu64 " miss, %" PRIu64
                " wrong), recovered %" PRIu64 " of %" PRIu64 ", read %" PRIu64 " B + ckpt %" PRIu64
                " B, journal tail %" PRIu64 ", dropped %" PRIu64 ", floor(rbr) %.4f s\n",
                gib_, r->kase.c_str(), r->rep, r->lock_wait_s, r->open_s, r->open_cpu_s, r->gets,
                r->gets_s, r->gets_hit, r->gets_miss, r->gets_wrong, r->st.objects_recovered,
                r->expected_objects, r->st.recovery_bytes_read, r->ckpt_file_bytes,
                r->st.journal_tail_at_open, r->st.journal_dropped, r->floor_rbr_s);
    if (r->crash)
      std::printf("    child: open %.2f s (%s), %" PRIu64
                  " puts in %.2f s, checkpoint %.2f s (%" PRIu64 " B); tail probe: %" PRIu64
                  " hit, %" PRIu64 " miss, %" PRIu64 " wrong, newest hit key %" PRId64
                  " of %" PRIu64 ", checksum failures %" PRIu64 "\n",
                  r->child.open_s, r->child.warm ? "warm" : "rebuild",
                  r->child.next_key - r->child.first_key, r->child.write_s, r->child.checkpoint_s,
                  r->child.ckpt_file_bytes, r->tail_hit, r->tail_miss, r->tail_wrong,
                  r->newest_hit_key, r->child.next_key - 1, r->checksum_failures_after_probe);
    std::fflush(stdout);
    reps_out_.push_back(*r);
  }

  void CleanCkpt(int rep) {
    Rep r;
    r.kase = "clean_ckpt";
    r.rep = rep;
    r.expected_objects = live_;
    if (!Exists(ckpt_)) Die("clean_ckpt: no checkpoint file after Close()");
    auto e = TimedOpen(Opts(path_, size_, ""), &r);
    live_ = e->Stats().objects;
    Finish(std::move(e), &r);
    live_after_close_ = live_;
  }

  void CleanCkptPresized(int rep) {
    Rep r;
    r.kase = "clean_ckpt_presized";
    r.rep = rep;
    r.expected_objects = live_;
    if (!Exists(ckpt_)) Die("clean_ckpt_presized: no checkpoint file after Close()");
    auto e = TimedOpen(Opts(path_, size_, "", live_), &r);
    live_ = e->Stats().objects;
    Finish(std::move(e), &r);
  }

  void CleanNoCkpt(int rep, bool presized) {
    Rep r;
    r.kase = presized ? "clean_nockpt_presized" : "clean_nockpt";
    r.rep = rep;
    r.expected_objects = live_;
    std::filesystem::remove(ckpt_);
    auto e = TimedOpen(Opts(path_, size_, "none", presized ? live_ : 0), &r);
    live_ = e->Stats().objects;
    Finish(std::move(e), &r);
  }

  void Crash(int rep, bool with_ckpt) {
    Rep r;
    r.kase = with_ckpt ? "crash_ckpt" : "crash_nockpt";
    r.rep = rep;
    r.crash = true;
    if (!with_ckpt) std::filesystem::remove(ckpt_);
    const std::string ck = with_ckpt ? "" : "none";
    const uint64_t half = static_cast<uint64_t>(crash_frac_ * static_cast<double>(cap_));
    int fds[2];
    if (::pipe(fds) != 0) Die("pipe");
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid < 0) Die("fork");
    if (pid == 0) {
      ::close(fds[0]);
      ChildReport c;
      c.first_key = next_key_;
      const bool had_ckpt = with_ckpt && Exists(ckpt_);
      auto t0 = Clock::now();
      auto e = OpenOrDie(Opts(path_, size_, ck));
      c.open_s = Since(t0);
      c.warm = had_ckpt && !Exists(ckpt_) ? 1 : 0;
      c.child_objects_recovered = e->Stats().objects_recovered;
      t0 = Clock::now();
      PutKeys(*e, next_key_, next_key_ + half);
      c.write_pre_s = Since(t0);
      c.ckpt_key = next_key_ + half;
      const auto k0 = Clock::now();
      if (auto s = e->Checkpoint(); !s.ok()) Die("checkpoint: " + s.ToString());
      c.checkpoint_s = Since(k0);
      c.ckpt_file_bytes = Exists(ckpt_) ? FileSize(ckpt_) : 0;
      const auto p0 = Clock::now();
      PutKeys(*e, next_key_ + half, next_key_ + 2 * half);
      c.write_post_s = Since(p0);
      c.write_s = c.write_pre_s + c.write_post_s;
      c.next_key = next_key_ + 2 * half;
      const StatsSnapshot st = e->Stats();
      c.objects = st.objects;
      c.stripes_written = st.stripes_written;
      c.membufs_in_flight = st.membufs_in_flight;
      c.journal_syncs = st.journal_syncs;
      c.ok = 1;
      if (::write(fds[1], &c, sizeof c) != static_cast<ssize_t>(sizeof c)) ::_exit(3);
      ::kill(::getpid(), SIGKILL);  // no Close(), no destructor
      ::_exit(4);
    }
    ::close(fds[1]);
    ChildReport c;
    const ssize_t n = ::read(fds[0], &c, sizeof c);
    ::close(fds[0]);
    int wst = 0;
    if (::waitpid(pid, &wst, 0) != pid) Die("waitpid");
    if (n != static_cast<ssize_t>(sizeof c) || !c.ok) Die("crash child failed before the kill");
    if (!WIFSIGNALED(wst) || WTERMSIG(wst) != SIGKILL) Die("crash child did not die of SIGKILL");
    r.child = c;
    r.expected_objects = c.objects;
    next_key_ = c.next_key;
    r.lock_wait_s = WaitLockFree(path_);
    auto e = TimedOpen(Opts(path_, size_, ck), &r);
    live_ = std::max<uint64_t>(e->Stats().objects, 1);
    Finish(std::move(e), &r);
  }

  std::string path_, ckpt_;
  uint64_t gib_, size_;
  int reps_;
  uint64_t ngets_;
  double crash_frac_;
  std::mt19937_64 rng_;
  uint64_t data_start_ = 0, nstripes_ = 0;
  uint64_t next_key_ = 0, cap_ = 0, live_ = 0, live_after_close_ = 0;
  double fill_s_ = 0, fill_close_s_ = 0;
  uint64_t fill_puts_ = 0, fill_stripes_ = 0, fill_evictions_ = 0;
  std::vector<double> floor_full_;
  double pattern_s_ = 0;
  uint64_t pattern_bytes_ = 0;
  std::vector<Rep> reps_out_;
};

void Bench::WriteJson(const std::string& out) const {
  FILE* f = std::fopen(out.c_str(), "w");
  if (f == nullptr) Die("cannot write " + out);
  std::fprintf(f,
               "{\n  \"gib\": %" PRIu64 ",\n  \"store_bytes\": %" PRIu64
               ",\n  \"stripe_size\": %u,\n  \"stripes\": %" PRIu64 ",\n  \"data_start\": %" PRIu64
               ",\n",
               gib_, FileSize(path_), kStripe, nstripes_, data_start_);
  std::fprintf(f, "  \"key_bytes\": %zu,\n  \"value_bytes\": %zu,\n  \"io\": \"uring\",\n", kKeyLen,
               kValueLen);
  std::fprintf(f, "  \"drop_caches_ok\": %s,\n", DropCachesPermitted() ? "true" : "false");
  std::fprintf(f, "  \"crash_frac\": %.4f,\n", crash_frac_);
  std::fprintf(f,
               "  \"fill\": {\"puts\": %" PRIu64
               ", \"seconds\": %.4f, \"stripes_written\": %" PRIu64 ", \"evictions\": %" PRIu64
               ", \"live_objects\": %" PRIu64 ", \"close_seconds\": %.4f},\n",
               fill_puts_, fill_s_, fill_stripes_, fill_evictions_, cap_, fill_close_s_);
  std::fprintf(f, "  \"floor_full_seconds\": [");
  for (size_t i = 0; i < floor_full_.size(); i++)
    std::fprintf(f, "%s%.6f", i ? ", " : "", floor_full_[i]);
  std::fprintf(f, "],\n  \"floor_pattern\": {\"seconds\": %.6f, \"bytes\": %" PRIu64 "},\n",
               pattern_s_, pattern_bytes_);
  std::fprintf(f, "  \"reps\": [\n");
  for (size_t i = 0; i < reps_out_.size(); i++) {
    const Rep& r = reps_out_[i];
    std::fprintf(f,
                 "    {\"case\": \"%s\", \"rep\": %d, \"lock_wait_s\": %.6f, \"open_s\": %.6f, "
                 "\"open_cpu_s\": %.6f, "
                 "\"gets\": %" PRIu64 ", \"gets_s\": %.6f, \"gets_hit\": %" PRIu64
                 ", \"gets_miss\": %" PRIu64 ", \"gets_wrong\": %" PRIu64
                 ", \"gets_disk\": %" PRIu64 ", \"close_s\": %.6f, \"ckpt_file_bytes\": %" PRIu64
                 ", \"ckpt_consumed\": %s, "
                 "\"expected_objects\": %" PRIu64 ", \"objects\": %" PRIu64
                 ", \"objects_recovered\": %" PRIu64 ", \"recovery_bytes_read\": %" PRIu64
                 ", \"device_bytes_read\": %" PRIu64 ", \"journal_tail_at_open\": %" PRIu64
                 ", \"journal_dropped\": %" PRIu64 ", \"stripes_dropped_at_open\": %" PRIu64
                 ", \"index_bytes\": %" PRIu64
                 ", \"floor_rbr_s\": %.6f, \"floor_rbr_ck_s\": %.6f"
                 ", \"checksum_failures\": %" PRIu64 ", \"next_key\": %" PRIu64,
                 r.kase.c_str(), r.rep, r.lock_wait_s, r.open_s, r.open_cpu_s, r.gets, r.gets_s,
                 r.gets_hit, r.gets_miss, r.gets_wrong, r.gets_disk, r.close_s, r.ckpt_file_bytes,
                 r.ckpt_consumed ? "true" : "false", r.expected_objects, r.st.objects,
                 r.st.objects_recovered, r.st.recovery_bytes_read, r.st.device_bytes_read,
                 r.st.journal_tail_at_open, r.st.journal_dropped, r.st.stripes_dropped_at_open,
                 r.st.index_bytes, r.floor_rbr_s, r.floor_rbr_ck_s,
                 r.crash ? r.checksum_failures_after_probe : r.st.checksum_failures, r.next_key);
    std::fprintf(f, ", \"missed_keys\": [");
    for (size_t j = 0; j < r.missed.size(); j++)
      std::fprintf(f, "%s%" PRIu64, j ? ", " : "", r.missed[j]);
    std::fprintf(f, "]");
    if (r.crash) {
      const ChildReport& c = r.child;
      std::fprintf(f,
                   ", \"child\": {\"first_key\": %" PRIu64 ", \"ckpt_key\": %" PRIu64
                   ", \"next_key\": %" PRIu64 ", \"objects\": %" PRIu64
                   ", \"stripes_written\": %" PRIu64 ", \"membufs_in_flight\": %" PRIu64
                   ", \"journal_syncs\": %" PRIu64
                   ", \"open_s\": %.6f, \"warm\": %s, \"objects_recovered\": %" PRIu64
                   ", \"write_s\": %.6f, \"write_pre_s\": %.6f, \"write_post_s\": %.6f"
                   ", \"checkpoint_s\": %.6f, "
                   "\"ckpt_file_bytes\": %" PRIu64 "}, \"tail_probe\": {\"keys\": %" PRIu64
                   ", \"hit\": %" PRIu64 ", \"miss\": %" PRIu64 ", \"wrong\": %" PRIu64
                   ", \"newest_hit_key\": %" PRId64 "}",
                   c.first_key, c.ckpt_key, c.next_key, c.objects, c.stripes_written,
                   c.membufs_in_flight, c.journal_syncs, c.open_s, c.warm ? "true" : "false",
                   c.child_objects_recovered, c.write_s, c.write_pre_s, c.write_post_s,
                   c.checkpoint_s, c.ckpt_file_bytes, r.tail_hit + r.tail_miss + r.tail_wrong,
                   r.tail_hit, r.tail_miss, r.tail_wrong, r.newest_hit_key);
    }
    std::fprintf(f, "}%s\n", i + 1 < reps_out_.size() ? "," : "");
  }
  std::fprintf(f, "  ]\n}\n");
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/var/tmp", json;
  uint64_t gib = 1, ngets = 1000, seed = 42, index_test = 0;
  int reps = 3;
  double crash_frac = 0.125;
  bool keep = false;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--dir") {
      dir = next();
    } else if (a == "--gib") {
      gib = std::stoull(next());
    } else if (a == "--reps") {
      reps = std::stoi(next());
    } else if (a == "--gets") {
      ngets = std::stoull(next());
    } else if (a == "--crash-frac") {
      crash_frac = std::stod(next());
    } else if (a == "--seed") {
      seed = std::stoull(next());
    } else if (a == "--json") {
      json = next();
    } else if (a == "--index-test") {
      index_test = std::stoull(next());
    } else if (a == "--keep") {
      keep = true;
    } else {
      Die("unknown argument " + a +
          " (use --dir D --gib N --reps R --gets G --crash-frac F --seed S --json F --keep | "
          "--index-test N --json F)");
    }
  }
  if (index_test > 0) {
    coss::recovery_bench::IndexLoadTest(index_test, json);
    return 0;
  }
  if (gib == 0 || reps < 1 || crash_frac <= 0 || crash_frac > 0.45) Die("bad arguments");
  Bench b(dir, gib, reps, ngets, crash_frac, seed);
  b.Run();
  if (!json.empty()) b.WriteJson(json);
  if (!keep) b.Cleanup();
  std::printf("drop_caches: %s\n", DropCachesPermitted() ? "permitted" : "NOT permitted");
  return 0;
}
