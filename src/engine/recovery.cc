// Recovery: formatting a new device and rebuilding the index of an existing
// one from stripe metadata only (stripe headers and record directories).
//
// Rebuild rules:
//  1. a stripe whose header fails verification is dropped alone (counted);
//  2. for every stripe position the newest run (highest seq) covering it wins;
//     an older run that overlaps a newer one was partly overwritten: dropped;
//  3. runs that are out of ring order (an older lap's content at a position
//     whose overwrite never reached the disk, while a later write did) are
//     dropped (ring_order.h);
//  4. surviving runs are applied oldest first, records in write order, so the
//     last write of a key wins; tombstones erase, clear records empty the index,
//     expired records erase;
//  5. a run whose directory fails its checksum (a torn write) or cannot be read
//     is dropped alone, and counts as lost for the journal: the keys it wrote
//     are dropped if an older copy survives elsewhere.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <set>

#include "engine/ring_order.h"
#include "engine/shard.h"

namespace coss {

namespace {

// Runs reads with a bounded number in flight and waits for all of them.
class ReadBatch {
 public:
  explicit ReadBatch(Device& d) : dev_(d) {}
  void Add(uint64_t off, void* buf, size_t len, Status* out) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [this] { return inflight_ < kDepth; });
    inflight_++;
    lk.unlock();
    dev_.Read(off, buf, len, [this, out](Status s) {
      *out = std::move(s);
      std::lock_guard g(mu_);
      inflight_--;
      cv_.notify_all();
    });
  }
  void Wait() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [this] { return inflight_ == 0; });
  }

 private:
  static constexpr int kDepth = 32;
  Device& dev_;
  std::mutex mu_;
  std::condition_variable cv_;
  int inflight_ = 0;
};

// Where a run's directory lies: the aligned range [start, end) that holds it.
struct DirRange {
  uint64_t start = 0, end = 0;  // device offsets, kIoAlign-aligned
  uint64_t dir_start = 0;       // first directory byte
};

}  // namespace

Status Shard::Open(format::Uuid* uuid, bool* have_uuid) {
  const EngineOptions& o = *cfg_.opts;
  const uint64_t size = dev_->size();
  const uint64_t max_fp = format::RecordFootprint(format::kMaxKey, o.max_value_size);
  const uint32_t max_span =
      static_cast<uint32_t>((max_fp + format::kStripeHeaderSize + stripe_size_ - 1) / stripe_size_);
  const uint64_t need_stripes = uint64_t{o.membufs} + max_span + 2;
  journal_bytes_ = format::JournalBytesFor(stripe_size_);
  data_start_ = format::kSuperblockSize + journal_bytes_;
  const uint64_t stripes = size > data_start_ ? (size - data_start_) / stripe_size_ : 0;
  if (stripes < need_stripes) {
    return Error(Code::kInvalidArgument,
                 dev_->path() + " is too small: " + std::to_string(size) + " bytes hold " +
                     std::to_string(stripes) + " stripes of " + std::to_string(stripe_size_) +
                     " bytes; at least " +
                     std::to_string(data_start_ + need_stripes * stripe_size_) +
                     " bytes are needed for " + std::to_string(o.membufs) +
                     " membufs and the largest value");
  }
  if (stripes > kMaxStripesPerDevice) {
    return Error(Code::kInvalidArgument,
                 dev_->path() + " has more than 2^24 stripes; use a larger stripe size");
  }
  nstripes_ = static_cast<uint32_t>(stripes);
  stripes_.assign(nstripes_, StripeState{});

  AlignedBuffer sbuf(format::kSuperblockSize);
  if (Status s = ReadSync(*dev_, 0, sbuf.data(), sbuf.size()); !s.ok()) return s;
  format::Superblock sb;
  std::memcpy(&sb, sbuf.data(), sizeof sb);
  if (sb.magic != format::kSuperMagic) {
    const bool blank =
        std::all_of(sbuf.data(), sbuf.data() + sbuf.size(), [](char c) { return c == 0; });
    if (!blank) {
      return Error(Code::kInvalidArgument,
                   dev_->path() +
                       " is not a coss store (no superblock) and is not empty; "
                       "refusing to overwrite it: point --store at a new file or wipe it");
    }
    if (!o.create) return Error(Code::kInvalidArgument, dev_->path() + " holds no store");
    if (!*have_uuid) {
      std::random_device rd;
      for (auto& byte : uuid->b) byte = static_cast<uint8_t>(rd());
      *have_uuid = true;
    }
    uuid_seed_ = uuid->Seed();
    key_seed_ = format::KeySeedFor(*uuid);
    if (Status s = Format(*uuid); !s.ok()) return s;
    journal_scan_ = JournalScan{};
  } else {
    if (Status s = format::CheckSuperblock(sb); !s.ok())
      return Error(s.code(), dev_->path() + ": " + s.message());
    if (sb.stripe_size != stripe_size_) {
      return Error(Code::kInvalidArgument,
                   dev_->path() + " was formatted with stripe size " +
                       std::to_string(sb.stripe_size) + " but " + std::to_string(stripe_size_) +
                       " is configured: configure the store's stripe size or use a new store");
    }
    if (sb.journal_bytes != journal_bytes_) {
      return Error(Code::kInvalidArgument,
                   dev_->path() + " has a journal of " + std::to_string(sb.journal_bytes) +
                       " bytes, expected " + std::to_string(journal_bytes_) +
                       ": it was made by another coss version");
    }
    if (sb.stripe_count != nstripes_) {
      return Error(Code::kInvalidArgument,
                   dev_->path() + " was formatted for " + std::to_string(sb.device_size) +
                       " bytes (" + std::to_string(sb.stripe_count) +
                       " stripes) but is now configured for " + std::to_string(size) +
                       " bytes: configure the original size or use a new store");
    }
    if (sb.device_index != cfg_.device_index || sb.device_count != cfg_.device_count) {
      return Error(
          Code::kInvalidArgument,
          dev_->path() + " is device " + std::to_string(sb.device_index + 1) + " of " +
              std::to_string(sb.device_count) + " of its store, but is configured as device " +
              std::to_string(cfg_.device_index + 1) + " of " + std::to_string(cfg_.device_count) +
              ": list the store's files in their original order");
    }
    if (*have_uuid && !(sb.uuid == *uuid)) {
      return Error(Code::kInvalidArgument,
                   dev_->path() + " belongs to a different store than the first device");
    }
    *uuid = sb.uuid;
    *have_uuid = true;
    uuid_seed_ = uuid->Seed();
    key_seed_ = sb.key_seed;
    auto warm = WarmStart();
    if (!warm.ok()) return warm.status();
    if (!*warm) {
      if (Status s = Rebuild(); !s.ok()) return s;
    }
  }

  if (Status s = HideDroppedContent(); !s.ok()) return s;
  head_hint_.store(head_, std::memory_order_relaxed);

  pool_.clear();
  free_.clear();
  std::vector<iovec> iov;
  for (uint32_t i = 0; i < cfg_.opts->membufs; i++) {
    auto mb = std::make_unique<Membuf>();
    mb->buf = AlignedBuffer(stripe_size_);
    mb->pooled = true;
    iov.push_back({mb->buf.data(), mb->buf.size()});
    free_.push_back(mb.get());
    pool_.push_back(std::move(mb));
  }
  dev_->RegisterBuffers(iov);

  if (!cfg_.journal) return ReTombstoneDropped();
  journal_ = std::make_unique<Journal>(
      *dev_, format::kSuperblockSize, journal_bytes_, uuid_seed_,
      [this](uint64_t written_through) { return DurableCandidate(written_through); },
      [this] { SealOpenForJournal(); }, cfg_.versions);
  journal_->Start(journal_scan_);
  return ReTombstoneDropped();
}

void Shard::Hide(const RunRef& r) {
  // Every position of the run: a jumbo run's span may cover older runs' headers
  // that it hid only by overlapping them.
  for (uint32_t j = r.stripe; j < r.stripe + r.span() && j < nstripes_; j++) hidden_.push_back(j);
}

void Shard::RaiseClock(const std::vector<RunRef>& runs, uint64_t also) {
  uint64_t newest = also;
  for (const RunRef& r : runs) newest = std::max(newest, r.h.sealed_unix);
  if (newest == 0) return;
  const int64_t ahead = RaiseClockFloor(static_cast<int64_t>(newest));
  if (ahead > 0) {
    spdlog::warn(
        "{}: the system clock is {} s behind the newest data in the store (stepped back?): "
        "expiry follows the store's time until the clock catches up",
        dev_->path(), ahead);
  }
}

Status Shard::HideDroppedContent() {
  if (hidden_.empty()) return Status::Ok();
  std::sort(hidden_.begin(), hidden_.end());
  hidden_.erase(std::unique(hidden_.begin(), hidden_.end()), hidden_.end());
  AlignedBuffer zero(format::kBlock);
  zero.zero();
  for (uint32_t j : hidden_) {
    if (Status s = WriteSync(*dev_, StripeOffset(j), zero.data(), zero.size()); !s.ok()) {
      return Error(s.code(), dev_->path() + ": cannot clear dropped stripe " + std::to_string(j) +
                                 ": " + s.message());
    }
  }
  if (Status s = dev_->Sync(); !s.ok()) {
    return Error(s.code(), dev_->path() + ": sync after clearing dropped stripes: " + s.message());
  }
  hidden_.clear();
  hidden_.shrink_to_fit();
  return Status::Ok();
}

Status Shard::ReTombstoneDropped() {
  // Keys dropped because the journal says their newest write was lost still have
  // older copies on disk: a journaled tombstone keeps a later rebuild from
  // reviving them after the journal entry that named them is gone.
  if (journal_dropped_.empty() && !journal_lost_clear_) return Status::Ok();
  Actions act;
  Status res;
  {
    Lock lk(mu_);
    if (journal_lost_clear_)
      res = AppendTombstone(lk, 0, "*", format::RecordType::kClear, &act, nullptr);
    for (uint64_t h : journal_dropped_) {
      if (!res.ok()) break;
      res = AppendTombstone(lk, h, "#journal", format::RecordType::kTombstone, &act, nullptr);
    }
  }
  Issue(act);
  journal_dropped_.clear();
  journal_dropped_.shrink_to_fit();
  return res;
}

void Shard::ApplyJournal(const JournalScan& scan, const std::set<uint64_t>& recovered) {
  uint64_t dropped = 0;
  for (const format::JournalEntry& e : scan.tail) {
    const uint64_t seq = e.seq & ~format::JournalEntry::kClear;
    next_seq_ = std::max(next_seq_, seq + 1);  // never reuse a seq the journal names
    if (recovered.count(seq) != 0) continue;   // that write survived (or was superseded)
    if ((e.seq & format::JournalEntry::kClear) != 0) {
      // A flush_all was acknowledged but its stripe is gone: nothing older may come back.
      index_.Clear();
      for (auto& st : stripes_) st.live = 0, st.live_bytes = 0;
      live_objects_ = 0;
      live_bytes_ = 0;
      journal_lost_clear_ = true;
      continue;
    }
    const uint64_t cur = index_.Find(e.key_hash);
    if (!Live(cur)) {
      // Not indexed, or indexed in a position whose run was lost (reclaimed at
      // load): an older copy may still sit in a dropped stripe.
      if (cur != 0) index_.Erase(e.key_hash);
      journal_dropped_.push_back(e.key_hash);
      continue;
    }
    if (stripes_[Location::Unpack(cur).stripe].seq < seq) {
      DropEntry(index_.Erase(e.key_hash));
      journal_dropped_.push_back(e.key_hash);
      dropped++;
    }
  }
  if (!scan.tail.empty() || scan.corrupt_blocks != 0) {
    Counters::Add(ctr_.journal_dropped, dropped);
    spdlog::warn(
        "{}: journal: {} writes after the last durable stripe; {} keys dropped whose newest "
        "write was lost ({} corrupt journal blocks)",
        dev_->path(), scan.tail.size(), dropped, scan.corrupt_blocks);
  }
}

Status Shard::Format(const format::Uuid& uuid) {
  AlignedBuffer buf(format::kSuperblockSize);
  buf.zero();
  format::Superblock sb{};
  sb.magic = format::kSuperMagic;
  sb.format_version = format::kFormatVersion;
  sb.stripe_size = stripe_size_;
  sb.uuid = uuid;
  sb.device_index = cfg_.device_index;
  sb.device_count = cfg_.device_count;
  sb.stripe_count = nstripes_;
  sb.device_size = dev_->size();
  sb.created_unix = static_cast<uint64_t>(NowSeconds());
  sb.journal_bytes = journal_bytes_;
  sb.key_seed = key_seed_;
  format::SealSuperblock(&sb);
  std::memcpy(buf.data(), &sb, sizeof sb);
  if (Status s = WriteSync(*dev_, 0, buf.data(), buf.size()); !s.ok()) return s;
  spdlog::info("{}: formatted a new store: {} stripes of {} bytes", dev_->path(), nstripes_,
               stripe_size_);
  return dev_->Sync();
}

void Shard::ApplyRuns(const std::vector<RunRef>& runs, bool reclaim, uint64_t* max_version,
                      std::set<uint64_t>* unusable) {
  // Window limits: reads in flight are bounded by ReadBatch; buffered bytes here.
  constexpr size_t kMaxRuns = 256;
  constexpr uint64_t kMaxBytes = 64ull << 20;
  auto range = [&](const RunRef& r) {
    DirRange d;
    if (r.h.kind != format::StripeKind::kData || r.h.record_count == 0) return d;
    const uint64_t end = StripeOffset(r.stripe) + uint64_t{r.h.span} * stripe_size_;
    d.dir_start = end - uint64_t{r.h.record_count} * sizeof(format::DirEntry);
    d.start = format::AlignDown(d.dir_start, kIoAlign);
    d.end = end;
    return d;
  };
  std::vector<AlignedBuffer> bufs;
  std::vector<Status> st;
  std::vector<DirRange> ranges;
  for (size_t w = 0; w < runs.size();) {
    // 1. The window: as many runs as fit, at least one.
    size_t end = w;
    uint64_t bytes = 0;
    ranges.clear();
    while (end < runs.size() && end - w < kMaxRuns) {
      const DirRange d = range(runs[end]);
      if (end > w && bytes + (d.end - d.start) > kMaxBytes) break;
      bytes += d.end - d.start;
      ranges.push_back(d);
      end++;
    }
    // 2. Read its directories, many in flight.
    bufs.clear();
    st.assign(end - w, Status::Ok());
    for (const DirRange& d : ranges) bufs.emplace_back(d.end - d.start);
    {
      ReadBatch batch(*dev_);
      for (size_t i = 0; i < ranges.size(); i++) {
        if (ranges[i].end == ranges[i].start) continue;
        batch.Add(ranges[i].start, bufs[i].data(), bufs[i].size(), &st[i]);
      }
      batch.Wait();
    }
    Counters::Add(ctr_.recovery_bytes_read, bytes);
    // 3. Apply them in order.
    for (size_t i = 0; i < ranges.size(); i++) {
      const RunRef& r = runs[w + i];
      // The run takes its positions; the write head follows the newest run.
      const uint32_t span = r.span();
      for (uint32_t j = r.stripe; j < r.stripe + span; j++) {
        if (reclaim) Reclaim(j);
        stripes_[j].seq = r.h.seq;
      }
      next_seq_ = std::max(next_seq_, r.h.seq + 1);
      // The head follows the newest data run: an empty marker (the end of the
      // ring a jumbo run skipped, or a stripe `coss fsck --repair` emptied
      // with a fresh seq) does not say where writing stopped.
      if (r.h.kind == format::StripeKind::kData) head_ = (r.stripe + span) % nstripes_;
      if (ranges[i].end == ranges[i].start) continue;  // nothing indexed in it
      if (!st[i].ok()) {
        Counters::Add(ctr_.io_errors);
        Counters::Add(ctr_.stripes_dropped_at_open);
        spdlog::error("{}: cannot read stripe {} directory: {}", dev_->path(), r.stripe,
                      st[i].ToString());
        unusable->insert(r.h.seq);
        Hide(r);
        continue;
      }
      if (!ApplyDirectory(r.stripe, r.h, bufs[i].data() + (ranges[i].dir_start - ranges[i].start),
                          max_version)) {
        unusable->insert(r.h.seq);
        Hide(r);
      }
    }
    w = end;
  }
}

bool Shard::ApplyDirectory(uint32_t stripe, const format::StripeHeader& h, const char* dir,
                           uint64_t* max_version) {
  const uint64_t dir_bytes = uint64_t{h.record_count} * sizeof(format::DirEntry);
  std::vector<format::DirEntry> entries;
  auto dec = format::DecodeDirectory(h, dir, dir_bytes, uuid_seed_, &entries);
  if (!dec.ok()) {
    Counters::Add(ctr_.stripes_dropped_at_open);
    spdlog::warn("{}: stripe {} dropped: {}", dev_->path(), stripe, dec.status().message());
    return false;
  }
  const int64_t now = NowSeconds();
  for (const format::DirEntry& e : entries) {
    *max_version = std::max(*max_version, e.version);
    switch (e.type) {
      case format::RecordType::kClear:
        index_.Clear();
        for (auto& s : stripes_) s.live = 0, s.live_bytes = 0;
        live_objects_ = 0;
        live_bytes_ = 0;
        break;
      case format::RecordType::kTombstone:
        DropEntry(index_.Erase(e.key_hash));
        break;
      case format::RecordType::kValue:
        if (e.expiry != 0 && e.expiry <= now) {
          DropEntry(index_.Erase(e.key_hash));
          break;
        } else {
          Location l;
          l.stripe = stripe;
          l.offset = e.offset;
          l.size_class = SizeClass::Encode(e.length);
          l.gen = stripes_[stripe].gen;
          DropEntry(index_.Assign(e.key_hash, l.Pack()));
          const uint64_t bytes = SizeClass::Decode(l.size_class);
          stripes_[stripe].live++;
          stripes_[stripe].live_bytes += bytes;
          live_objects_++;
          live_bytes_ += bytes;
        }
        break;
    }
  }
  return true;
}

Status Shard::FinishRecovery(const std::set<uint64_t>& recovered_seqs, uint64_t max_version) {
  // The journal: writes acknowledged after the last durable stripe.
  auto scan = Journal::Scan(*dev_, format::kSuperblockSize, journal_bytes_, uuid_seed_);
  if (!scan.ok())
    return Error(scan.status().code(), dev_->path() + ": journal: " + scan.status().message());
  journal_scan_ = std::move(*scan);
  Counters::Add(ctr_.recovery_bytes_read, journal_bytes_);
  Counters::Add(ctr_.journal_tail_at_open, journal_scan_.tail.size());
  ApplyJournal(journal_scan_, recovered_seqs);
  // Versions found on disk, and every version the journal had reserved (one
  // may have been handed to a client for a value the crash lost).
  cfg_.versions->AtLeast(max_version + 1);
  cfg_.versions->AtLeast(journal_scan_.version_limit);
  Counters::Add(ctr_.objects_recovered, live_objects_);
  return Status::Ok();
}

std::vector<Shard::RunRef> Shard::DropLeftovers(const std::vector<RunRef>& by_position) {
  std::vector<RingRun> ring;
  ring.reserve(by_position.size());
  for (const RunRef& r : by_position)
    ring.push_back({r.h.seq, r.h.kind == format::StripeKind::kData});
  const std::vector<bool> leftover = OlderLapLeftovers(ring);
  std::vector<RunRef> kept;
  for (size_t i = 0; i < by_position.size(); i++) {
    if (!leftover[i]) {
      kept.push_back(by_position[i]);
      continue;
    }
    Counters::Add(ctr_.stripes_dropped_at_open);
    spdlog::warn("{}: stripe {} dropped: seq {} is an earlier lap's, its overwrite was lost",
                 dev_->path(), by_position[i].stripe, by_position[i].h.seq);
    Hide(by_position[i]);
  }
  return kept;
}

Status Shard::Rebuild() {
  // 1. Stripe headers, read in batches.
  std::vector<RunRef> runs;
  constexpr uint32_t kBatch = 256;
  AlignedBuffer hb(uint64_t{kBatch} * format::kBlock);
  std::vector<Status> st(kBatch);
  for (uint32_t base = 0; base < nstripes_; base += kBatch) {
    const uint32_t n = std::min(kBatch, nstripes_ - base);
    ReadBatch batch(*dev_);
    for (uint32_t i = 0; i < n; i++) {
      batch.Add(StripeOffset(base + i), hb.data() + uint64_t{i} * format::kBlock, format::kBlock,
                &st[i]);
    }
    batch.Wait();
    Counters::Add(ctr_.recovery_bytes_read, uint64_t{n} * format::kBlock);
    for (uint32_t i = 0; i < n; i++) {
      if (!st[i].ok()) {
        Counters::Add(ctr_.io_errors);
        Counters::Add(ctr_.stripes_dropped_at_open);
        spdlog::error("{}: cannot read stripe {} header: {}", dev_->path(), base + i,
                      st[i].ToString());
        continue;
      }
      format::StripeHeader h;
      std::memcpy(&h, hb.data() + uint64_t{i} * format::kBlock, sizeof h);
      const Status c = format::CheckStripeHeader(h, uuid_seed_, base + i, stripe_size_, nstripes_);
      if (c.ok()) {
        runs.push_back({base + i, h});
      } else if (c.code() == Code::kCorruption) {
        Counters::Add(ctr_.stripes_dropped_at_open);
        spdlog::warn("{}: stripe {} dropped: {}", dev_->path(), base + i, c.message());
      }
    }
  }

  // 2. Newest run per position wins.
  std::sort(runs.begin(), runs.end(),
            [](const RunRef& a, const RunRef& b) { return a.h.seq > b.h.seq; });
  std::vector<bool> claimed(nstripes_, false);
  std::vector<RunRef> kept;
  for (const RunRef& r : runs) {
    const uint32_t span = r.span();
    bool overlap = false;
    for (uint32_t j = r.stripe; j < r.stripe + span; j++) overlap = overlap || claimed[j];
    if (overlap) continue;  // partly overwritten by a newer run
    for (uint32_t j = r.stripe; j < r.stripe + span; j++) claimed[j] = true;
    kept.push_back(r);
  }
  // 3. Leftovers of an earlier lap, out of ring order, are dropped.
  std::sort(kept.begin(), kept.end(),
            [](const RunRef& a, const RunRef& b) { return a.stripe < b.stripe; });
  kept = DropLeftovers(kept);
  std::sort(kept.begin(), kept.end(),
            [](const RunRef& a, const RunRef& b) { return a.h.seq < b.h.seq; });  // oldest first
  uint64_t records = 0;
  for (const RunRef& r : kept) records += r.h.record_count;
  RaiseClock(kept, 0);      // before the directories judge expiry
  index_.Reserve(records);  // upper bound on the entries the directories can add

  // 4-5. Directories, oldest run first.
  uint64_t max_version = 0;
  std::set<uint64_t> unusable;
  ApplyRuns(kept, /*reclaim=*/false, &max_version, &unusable);
  std::set<uint64_t> recovered_seqs;
  for (const RunRef& r : kept) {
    if (unusable.count(r.h.seq) == 0) recovered_seqs.insert(r.h.seq);
  }

  if (Status s = FinishRecovery(recovered_seqs, max_version); !s.ok()) return s;
  spdlog::info("{}: rebuilt {} objects from {} stripe runs ({} stripes dropped)", dev_->path(),
               live_objects_, kept.size(), ctr_.stripes_dropped_at_open.load());
  return Status::Ok();
}

}  // namespace coss
