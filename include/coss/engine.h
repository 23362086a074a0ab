// libcoss public API: a cyclic stripe store of key/value objects.
//
// Thread safety: every method may be called from any thread concurrently.
// Asynchrony: Get completes through a callback, which runs either inline (the
// object was in memory or absent) or on an I/O completion thread. Callbacks must
// not block for long and must not call Close(). Put/Remove are memory operations
// (the record is appended to the open membuf); they touch the disk only through
// back-pressure (FullPolicy) when every membuf is waiting for the device.
//
// Guarantees:
//  * a Get never returns a value older than the latest completed Put/Remove of
//    the same key, never a deleted or expired value, never bytes that failed
//    their checksum or key comparison;
//  * conditional puts (expect) are atomic compare-and-swap on the index slot.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "coss/bytes.h"
#include "coss/options.h"
#include "coss/stats.h"
#include "coss/status.h"

namespace coss {

// Where the index saw a key. Opaque to callers; used for compare-and-swap puts.
// kAbsent means "no index entry for this key".
struct Locator {
  static constexpr uint64_t kAbsent = ~uint64_t{0};
  uint64_t raw = kAbsent;
  bool absent() const { return raw == kAbsent; }
  bool operator==(const Locator&) const = default;
};

struct Item {
  // Shared, not copied: a value read from the device may be a view of the
  // direct-I/O buffer it was read into (see Bytes).
  Bytes value;
  uint32_t flags = 0;
  int64_t expiry = 0;    // absolute unix seconds; 0 = never
  uint64_t version = 0;  // unique per stored value (memcached CAS); relocation keeps it
};

enum class Tier : uint8_t { kNone, kMemory, kDisk };

struct GetResult {
  Status status;  // kOk, kNotFound, kIoError, kShutdown
  Item item;      // valid when status.ok()
  Locator seen;   // the index slot observed (for a later conditional put)
  Tier tier = Tier::kNone;
};

using GetCallback = std::function<void(GetResult)>;

struct PutRequest {
  std::string_view key;
  std::string_view value;
  uint32_t flags = 0;
  int64_t expiry = 0;        // absolute unix seconds; 0 = never; <= now: expired at once
  bool conditional = false;  // when true, store only if the slot still equals expect
  Locator expect;
  // Nonzero: the stored value keeps this version (CAS) instead of a new one, as
  // memcached's touch does. Meant for re-puts of the value just read (with
  // conditional = true, so the version cannot belong to another value).
  uint64_t keep_version = 0;
  // Store it on the ring even if admission would keep it off (see PutResult::
  // stored): for objects whose only copy is elsewhere, e.g. the server's RAM
  // tier at a clean stop.
  bool skip_admission = false;
};

// How far a write must have gone before WhenPersisted reports it.
enum class Persistence : uint8_t {
  // Its journal entry is on the device (a completed direct write): a process
  // crash (kill -9) can no longer undo it; a power cut still may.
  kWritten,
  // ... and the device flushed its cache (fdatasync): a power cut cannot
  // undo it either.
  kSynced,
};

// Identifies an accepted write in its device's journal (see WhenDurable).
struct WriteTicket {
  uint32_t shard = 0;
  uint64_t lsn = 0;  // 0: nothing to wait for
};

struct PutResult {
  Status status;         // kOk, kExists (condition lost), kTooLarge, kBusy, kIoError ...
  uint64_t version = 0;  // version (CAS) given to the stored value
  WriteTicket ticket;    // for WhenDurable
  // False when admission kept the value off the ring: the put is then a value
  // stored and evicted at once (older copies are gone, a get misses), and the
  // caller holds the only copy if it kept one.
  bool stored = true;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> Open(const EngineOptions& opts);
  virtual ~Engine() = default;

  virtual void Get(std::string_view key, GetCallback cb) = 0;
  // Upper bound on the bytes a Get of key would bring back now (the record's
  // size class from the index: at most 12.5 % above key + value + header), 0
  // when the index holds no live entry. Memory only, no I/O; meant for pacing
  // reads (a later write may change the answer).
  virtual uint64_t SizeHint(std::string_view key) = 0;
  virtual PutResult Put(const PutRequest& req) = 0;
  // A version (CAS value) no value has had, above every one handed out
  // before: for a value the caller keeps outside the store (the server's RAM
  // tier changing a copy that admission kept off the ring).
  virtual uint64_t NewVersion() = 0;
  // Removes key; writes a tombstone. kNotFound when no index entry existed.
  // With expect set, removes only if the slot still equals expect.
  virtual Status Remove(std::string_view key, const Locator* expect = nullptr,
                        WriteTicket* ticket = nullptr) = 0;
  // Drops every object (memcached flush_all). Returns once that is durable.
  virtual Status Clear() = 0;
  // Runs cb(Ok) once the write is on stable storage: after a crash, the store
  // will return that value (or a miss), never an older one; a delete stays
  // deleted. Runs cb(error) when that cannot be promised: the device failed a
  // journal write or an fdatasync (sticky until a restart), or the engine
  // closed first. cb runs on a journal thread (or inline when the outcome is
  // known); keep it short. Acknowledge a client only on Ok for crash safety
  // (cossd's default).
  void WhenDurable(WriteTicket ticket, std::function<void(const Status&)> cb) {
    WhenPersisted(ticket, Persistence::kSynced, std::move(cb));
  }
  // WhenDurable at either level: kWritten reports once the journal entry is
  // written, before the device is flushed (what a process crash cannot undo);
  // errors as above.
  virtual void WhenPersisted(WriteTicket ticket, Persistence level,
                             std::function<void(const Status&)> cb) = 0;
  // Brings the write to Persistence::kWritten on the calling thread when that
  // needs no waiting (see Journal::WriteHere): true once it is there. One call
  // with a shard's newest ticket covers every earlier write of that shard.
  // False: wait with WhenPersisted. For an event loop that would otherwise
  // wait for the journal's thread to write its entries and call back.
  virtual bool WriteJournalHere(WriteTicket ticket) = 0;
  // Seals the open membufs, writes everything, fsyncs the devices: every write
  // accepted before the call is then durable.
  virtual Status Flush() = 0;
  // Writes an index checkpoint per device now (also done every
  // checkpoint_interval_s and at Close) so a restart can skip the metadata scan.
  virtual Status Checkpoint() = 0;
  // Flush, stop the I/O backends. Idempotent. Destructor calls it.
  virtual Status Close() = 0;

  virtual StatsSnapshot Stats() const = 0;
  virtual const EngineOptions& options() const = 0;

  // Synchronous convenience wrapper for tools and tests.
  GetResult GetSync(std::string_view key);
};

// Current unix time used for expiry decisions. Tests may override the clock.
// Never goes back (see RaiseClockFloor); a test clock is returned as set.
int64_t NowSeconds();
// Recovery: the wall clock is at least `t` (the newest stripe or checkpoint
// found), however far the system clock was stepped back while the store was
// down; at most kMaxClockFloorAhead ahead of the system clock. Returns how far
// ahead of the system clock the floor now is (0: not ahead).
inline constexpr int64_t kMaxClockFloorAhead = int64_t{24} * 3600;
int64_t RaiseClockFloor(int64_t t);
void SetClockForTesting(std::function<int64_t()> clock);

}  // namespace coss
