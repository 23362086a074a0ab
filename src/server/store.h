// Store: the server's view of the data: the engine (cyclic store) behind the
// RAM tier, with the write-through and no-stale-fill rules in one place.
//
// Contract:
//  * Read: RAM tier first, then the engine; a hit read from the disk is offered
//    to the RAM tier (S3-FIFO decides) under the fill-ticket rule of ram_tier.h.
//  * SizeHint: what a read would bring back, from the engine's index, no I/O.
//  * ReadForUpdate: the engine, so the result carries `seen` for a
//    compare-and-swap; a miss also drops any RAM copy the store once had, so
//    that no command can see an object the store no longer has after a
//    read-modify-write said it was gone. A value only the RAM tier holds
//    (admission kept it off the ring) is the object: it is returned with
//    `only_copy` set.
//  * Update stores a read-modify-write's result with a compare-and-swap on
//    what ReadForUpdate returned (kExists: it changed, read again): on the
//    engine's slot for a value the engine holds. For an only copy it is done in
//    the RAM tier (RamTier::UpdateOnlyCopy) and the result stays an only copy:
//    a set of the key admission also kept off the ring changes only the tier,
//    so a swap in the engine could not see it, nor a flush_all in between.
//  * A touch (keep_version) of a value the engine holds is stored by the
//    engine, admission or not (it is a conditional put), and drops the tier's
//    copy.
//  * Write/Remove/Clear: the engine first; the RAM tier is updated or
//    invalidated after the engine accepted the change, and a written value
//    enters the tier even when the engine's admission kept it off the ring
//    (read-your-writes; KeepRamOnlyCopies stores those at a clean stop). Write and Remove hand
//    back the engine's journal ticket: WhenPersisted tells when a crash can no
//    longer undo the change (Clear returns only once it is durable).
//  * Callbacks run inline (RAM or membuf hits, misses) or on an engine I/O
//    thread; the caller routes them (see worker.h).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "coss/engine.h"
#include "server/ram_tier.h"

namespace coss::server {

enum class Source : uint8_t { kNone, kRam, kStoreMemory, kStoreDisk };

struct ReadResult {
  Code code = Code::kNotFound;  // kOk, kNotFound, or an engine error
  std::string error;            // message for engine errors
  Bytes value;                  // kOk
  uint32_t flags = 0;
  int64_t expiry = 0;
  uint64_t version = 0;
  Locator seen;            // ReadForUpdate only
  bool only_copy = false;  // ReadForUpdate only: the RAM tier holds the only copy
  Source source = Source::kNone;
  bool hit_before = false;  // RAM tier's knowledge (meta h flag)
  int64_t last_access = 0;  // RAM tier's knowledge (meta l flag)
  bool ok() const { return code == Code::kOk; }
};

using ReadCallback = std::function<void(ReadResult)>;

class Store {
 public:
  Store(Engine* engine, RamTier* ram) : engine_(engine), ram_(ram) {}

  void Read(std::string_view key, ReadCallback cb);
  // Upper bound on the value bytes a Read of key brings back (0: absent); for
  // pacing reads (Engine::SizeHint). The store holds every key the tier does.
  uint64_t SizeHint(std::string_view key) { return engine_->SizeHint(key); }
  void ReadForUpdate(std::string_view key, ReadCallback cb);
  PutResult Write(const PutRequest& req);
  // req, the result of a read-modify-write of `basis` (a ReadForUpdate
  // result), stored only if the object is still what basis read: kExists
  // otherwise. Sets req's condition from basis.
  PutResult Update(const ReadResult& basis, PutRequest req);
  Status Remove(std::string_view key, const Locator* expect, WriteTicket* ticket = nullptr);
  Status Clear();
  // A clean stop, once no request runs any more: stores every object that only
  // the RAM tier holds (admission kept it off the ring) so that a restart still
  // serves it. Returns how many.
  Result<uint64_t> KeepRamOnlyCopies();
  // cb(Ok) once the write reached `level` (Engine::WhenPersisted), cb(error)
  // when the engine can no longer promise it; inline or on a journal thread.
  void WhenPersisted(const WriteTicket& t, Persistence level,
                     std::function<void(const Status&)> cb);
  // Engine::WriteJournalHere: true once `t` is written (kWritten).
  bool WriteJournalHere(const WriteTicket& t) { return t.lsn == 0 || engine_->WriteJournalHere(t); }

  Engine& engine() { return *engine_; }
  RamTier* ram() { return ram_; }

 private:
  static ReadResult FromEngine(GetResult&& r);
  // A hit from the RAM tier; leaves r->seen as it was.
  static void FromRam(RamHit&& hit, ReadResult* r);

  Engine* engine_;
  RamTier* ram_;
};

}  // namespace coss::server
