// Shard checkpoints: writing the index dump, and warm start from it (load, then
// replay the runs written since it began, then the journal). See checkpoint.h.
#include "engine/checkpoint.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>

#include "engine/shard.h"
#include "util/durable_file.h"

namespace coss {

namespace {
std::mutex g_hook_mu;
std::function<void(uint32_t)> g_hook;  // GUARDED_BY(g_hook_mu)
std::atomic<bool> g_hook_set{false};

void CheckpointHook(uint32_t partition) {
  if (!g_hook_set.load(std::memory_order_acquire)) return;
  std::function<void(uint32_t)> hook;
  {
    std::lock_guard lk(g_hook_mu);
    hook = g_hook;
  }
  if (hook) hook(partition);
}
}  // namespace

void SetCheckpointHookForTesting(std::function<void(uint32_t partition)> hook) {
  std::lock_guard lk(g_hook_mu);
  g_hook = std::move(hook);
  g_hook_set.store(static_cast<bool>(g_hook), std::memory_order_release);
}

Status Shard::WriteCheckpoint(bool clean) {
  if (checkpoint_path_.empty()) return Status::Ok();
  Checkpoint ck;
  uint64_t start_seq;
  {
    Lock lk(mu_);
    if (nstripes_ == 0) return Status::Ok();
    ck.header.device_index = cfg_.device_index;
    ck.header.uuid_seed = uuid_seed_;
    ck.header.stripe_size = stripe_size_;
    ck.header.stripe_count = nstripes_;
    ck.header.head = head_;
    ck.header.next_seq = next_seq_;
    ck.header.max_version = cfg_.versions->Peek();
    ck.header.clean = clean ? 1 : 0;
    ck.header.created_unix = static_cast<uint64_t>(NowSeconds());
    ck.seqs.resize(nstripes_);
    for (uint32_t j = 0; j < nstripes_; j++) ck.seqs[j] = stripes_[j].seq;
    ck.entries.reserve(live_objects_ + live_objects_ / 16);
    // The first run that may hold a write the dump does not see: the open
    // membuf, which keeps taking records (puts, deletes, relocations) while
    // partitions are being copied, and every run after it. Not next_seq_: a
    // write landing in the open membuf after its partition was copied, once
    // that membuf is written, would be neither in the dump nor replayed, and
    // the dump's older entry for the key would come back after a crash.
    start_seq = open_ != nullptr ? open_->seq : next_seq_;
  }
  // One partition per critical section: requests wait at most that long.
  for (uint32_t p = 0; p < Index::kPartitions; p++) {
    {
      Lock lk(mu_);
      index_.Visit(p, [&](uint64_t h, uint64_t packed) {
        if (Live(packed)) ck.entries.push_back({h, packed});
      });
    }
    CheckpointHook(p);
  }
  // Runs not yet on stable storage when the dump ends must be replayed too.
  const uint64_t written = WrittenCandidate();
  if (Status s = SyncDevice(); !s.ok()) return s;
  ck.header.replay_from = std::min(start_seq, written + 1);
  const auto t0 = std::chrono::steady_clock::now();
  Status s = WriteCheckpointFile(checkpoint_path_, ck);
  if (s.ok()) {
    spdlog::info(
        "{}: checkpoint of {} objects written in {} ms", checkpoint_path_, ck.entries.size(),
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count());
  }
  return s;
}

Result<bool> Shard::WarmStart() {
  if (checkpoint_path_.empty()) return false;
  const auto t0 = std::chrono::steady_clock::now();
  auto ck = ReadCheckpointFile(checkpoint_path_);
  if (!ck.ok()) {
    if (ck.status().code() != Code::kNotFound) {
      spdlog::warn("{}: checkpoint unusable ({}); rebuilding from stripe metadata",
                   checkpoint_path_, ck.status().message());
    }
    return false;
  }
  const CheckpointHeader& h = ck->header;
  if (h.uuid_seed != uuid_seed_ || h.device_index != cfg_.device_index ||
      h.stripe_size != stripe_size_ || h.stripe_count != nstripes_ || h.head >= nstripes_) {
    spdlog::warn("{}: checkpoint belongs to another store layout; rebuilding from stripe metadata",
                 checkpoint_path_);
    return false;
  }
  // The dump is about to diverge from the store: never load it twice (also not
  // after a crash: the removal is durable before the load).
  if (Status s = RemoveDurably(checkpoint_path_); !s.ok()) {
    return Error(s.code(), s.message() +
                               " (a checkpoint that outlives its load could be loaded "
                               "again after a crash: fix its directory, or remove it)");
  }

  for (uint32_t j = 0; j < nstripes_; j++) stripes_[j].seq = ck->seqs[j];
  index_.Reserve(ck->entries.size() + ck->entries.size() / 8);
  for (const CheckpointEntry& e : ck->entries) {
    Location l = Location::Unpack(e.packed);
    if (l.stripe >= nstripes_ || l.offset == 0) continue;
    l.gen = 0;  // all generations restart at 0
    DropEntry(index_.Assign(e.hash, l.Pack()));
    const uint64_t bytes = SizeClass::Decode(l.size_class);
    stripes_[l.stripe].live++;
    stripes_[l.stripe].live_bytes += bytes;
    live_objects_++;
    live_bytes_ += bytes;
  }
  head_ = h.head;
  next_seq_ = std::max(next_seq_, h.next_seq);
  uint64_t max_version = h.max_version;

  // Runs written since the dump began sit at the head and after it, in ring
  // order; completions may be out of order, so look a little past the last one.
  const uint64_t max_fp = format::RecordFootprint(format::kMaxKey, cfg_.opts->max_value_size);
  const uint32_t guard = cfg_.opts->membufs + static_cast<uint32_t>(max_fp / stripe_size_) + 3;
  std::vector<RunRef> replay;
  AlignedBuffer hb(format::kBlock);
  // Start at the oldest run the dump knew as not yet durable (the membufs then
  // in flight sit just before the head), or at the head.
  uint32_t pos = h.head, misses = 0;
  uint64_t oldest = UINT64_MAX;
  for (uint32_t j = 0; j < nstripes_; j++) {
    if (ck->seqs[j] >= h.replay_from && ck->seqs[j] < oldest) {
      oldest = ck->seqs[j];
      pos = j;
    }
  }
  for (uint32_t visited = 0; visited < nstripes_ && misses <= guard;) {
    format::StripeHeader sh;
    bool fresh = false;
    Counters::Add(ctr_.recovery_bytes_read, hb.size());
    if (ReadSync(*dev_, StripeOffset(pos), hb.data(), hb.size()).ok()) {
      std::memcpy(&sh, hb.data(), sizeof sh);
      fresh = format::CheckStripeHeader(sh, uuid_seed_, pos, stripe_size_, nstripes_).ok() &&
              sh.seq >= h.replay_from;
    }
    const uint32_t step = fresh && sh.kind == format::StripeKind::kData ? sh.span : 1;
    if (fresh) {
      replay.push_back({pos, sh});
      misses = 0;
    } else {
      misses++;
    }
    visited += step;
    pos = (pos + step) % nstripes_;
  }
  // Ring order among the runs written since the dump (ring_order.h): a fresh
  // run older than one before it is a leftover whose overwrite was lost, and
  // every position the head passed between the oldest fresh run and the newest
  // whose header is not fresh had its write lost: what the dump indexed there
  // was reclaimed before later writes were acknowledged.
  std::sort(replay.begin(), replay.end(),
            [](const RunRef& a, const RunRef& b) { return a.stripe < b.stripe; });
  std::vector<bool> passed(nstripes_, false);  // opened by the head since the dump
  if (!replay.empty()) {
    // The head went from the run after the newest (the oldest fresh one: never
    // a leftover) round to the end of the newest.
    size_t newest = 0;
    for (size_t i = 0; i < replay.size(); i++)
      if (replay[i].h.seq > replay[newest].h.seq) newest = i;
    const RunRef& last = replay[newest];
    const uint32_t last_end = last.stripe + last.span();
    const uint32_t from = replay[(newest + 1) % replay.size()].stripe;
    uint32_t length = (last_end + nstripes_ - from) % nstripes_;
    if (length == 0) length = nstripes_;
    for (uint32_t k = 0; k < length; k++) passed[(from + k) % nstripes_] = true;
  }
  replay = DropLeftovers(replay);
  std::sort(replay.begin(), replay.end(),
            [](const RunRef& a, const RunRef& b) { return a.h.seq < b.h.seq; });
  RaiseClock(replay, h.created_unix);  // before the replayed directories judge expiry
  std::set<uint64_t> replayed;
  std::vector<bool> covered(nstripes_, false);
  for (const RunRef& r : replay) {
    replayed.insert(r.h.seq);
    for (uint32_t j = r.stripe; j < r.stripe + r.span(); j++) covered[j] = true;
  }
  // Positions the dump thought newer than replay_from but whose run never reached
  // the disk, and positions passed since the dump whose new run never did, hold
  // older content: nothing there is indexed any more.
  // What is on disk there (an older lap) is hidden from later recoveries too.
  std::vector<bool> lost(nstripes_, false);
  for (uint32_t j = 0; j < nstripes_; j++) {
    const bool lost_in_flight =
        stripes_[j].seq >= h.replay_from && replayed.count(stripes_[j].seq) == 0;
    if (lost_in_flight || (passed[j] && !covered[j])) {
      Reclaim(j);
      stripes_[j].seq = 0;
      lost[j] = true;
      // Unless a newer replayed run took the position (the ring lapped since).
      if (!covered[j]) hidden_.push_back(j);
    }
  }
  // Entries the dump had for older content at a replayed run's positions are gone.
  std::set<uint64_t> unusable;
  ApplyRuns(replay, /*reclaim=*/true, &max_version, &unusable);
  // A key the dump placed in a lost run may have an older copy elsewhere on disk
  // (a relocated or reinserted copy is not journaled): unless a replayed run
  // indexes it again, it is dropped and re-tombstoned like a journaled write
  // that was lost, so that a later rebuild cannot serve the older copy.
  for (const CheckpointEntry& e : ck->entries) {
    const Location l = Location::Unpack(e.packed);
    if (l.stripe >= nstripes_ || !lost[l.stripe]) continue;
    const uint64_t cur = index_.Find(e.hash);
    if (Live(cur)) continue;
    if (cur != 0) index_.Erase(e.hash);
    journal_dropped_.push_back(e.hash);
  }
  // Reclaim above counted evictions for entries that were simply superseded.
  ctr_.evictions.store(0, std::memory_order_relaxed);
  std::set<uint64_t> present;
  for (const auto& st : stripes_) {
    if (st.seq != 0 && unusable.count(st.seq) == 0) present.insert(st.seq);
  }
  if (Status s = FinishRecovery(present, max_version); !s.ok()) return s;
  spdlog::info(
      "{}: warm start from checkpoint: {} objects, {} runs replayed, {} ms", dev_->path(),
      live_objects_, replay.size(),
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  return true;
}

}  // namespace coss
