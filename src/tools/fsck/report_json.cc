// Machine-readable fsck report (--json): one JSON object, keys in report.h.
#include <string>

#include "tools/fsck/report.h"
#include "tools/stats/json.h"

namespace coss::tools::fsck {

namespace {

void Superblock(Json& j, const SuperblockInfo& s) {
  j.Key("superblock").BeginObject();
  j.Key("read").Bool(s.read_ok);
  j.Key("valid").Bool(s.valid);
  j.Key("ok").Bool(s.valid && s.problems.empty());
  if (s.valid) {
    j.Key("format_version").Uint(s.sb.format_version);
    j.Key("stripe_size").Uint(s.sb.stripe_size);
    j.Key("stripe_count").Uint(s.sb.stripe_count);
    j.Key("device_index").Uint(s.sb.device_index);
    j.Key("device_count").Uint(s.sb.device_count);
    j.Key("device_size").Uint(s.sb.device_size);
    j.Key("journal_bytes").Uint(s.sb.journal_bytes);
    j.Key("uuid").String(UuidString(s.sb.uuid));
    j.Key("created_unix").Uint(s.sb.created_unix);
    j.Key("key_hash_seeded").Bool(s.sb.key_seed != 0);
  }
  j.Key("problems").BeginArray();
  for (const std::string& p : s.problems) j.String(p);
  j.EndArray();
  j.EndObject();
}

void Device(Json& j, const DeviceReport& d, bool verbose) {
  j.BeginObject();
  j.Key("path").String(d.path);
  j.Key("size").Uint(d.size);
  j.Key("file_size").Uint(d.file_size);
  Superblock(j, d.super);
  j.Key("scanned").Bool(d.scanned);
  j.Key("damaged").Bool(d.damaged());

  j.Key("stripes").BeginObject();
  j.Key("total").Uint(d.stripes);
  for (int s = 0; s < kStateCount; s++)
    j.Key(StateName(static_cast<StripeState>(s))).Uint(d.states[s]);
  j.EndObject();

  j.Key("damaged_stripes").BeginArray();
  for (const StripeDamage& s : d.damage) {
    j.BeginObject();
    j.Key("stripe").Uint(s.stripe);
    j.Key("state").String(StateName(s.state));
    j.Key("reason").String(s.reason);
    j.Key("seq").Uint(s.seq);
    j.Key("span").Uint(s.span);
    j.Key("fix").String(FixName(s.fix));
    j.EndObject();
  }
  j.EndArray();

  const RecordStats& r = d.records;
  j.Key("records").BeginObject();
  j.Key("values").Uint(r.values);
  j.Key("tombstones").Uint(r.tombstones);
  j.Key("clears").Uint(r.clears);
  j.Key("expired").Uint(r.expired);
  j.Key("value_bytes").Uint(r.value_bytes);
  j.Key("insane_entries").Uint(r.insane);
  j.Key("verified").Uint(r.verified);
  j.Key("failures").Uint(r.failures);
  j.Key("cleared_by_fsck").Uint(r.cleared_by_fsck);
  j.EndObject();

  j.Key("bad_records").BeginArray();
  for (const BadRecord& b : d.bad_records) {
    j.BeginObject();
    j.Key("stripe").Uint(b.stripe);
    j.Key("offset").Uint(b.entry.offset);
    j.Key("length").Uint(b.entry.length);
    j.Key("type").String(RecordTypeName(b.entry.type));
    j.Key("version").Uint(b.entry.version);
    char hash[24];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(b.entry.key_hash));
    j.Key("key_hash").String(hash);
    j.Key("reason").String(b.reason);
    j.EndObject();
  }
  j.EndArray();

  const JournalStats& jr = d.journal;
  j.Key("journal").BeginObject();
  j.Key("scanned").Bool(jr.scanned);
  if (!jr.error.empty()) j.Key("error").String(jr.error);
  j.Key("bytes").Uint(jr.bytes);
  j.Key("blocks").Uint(jr.blocks);
  j.Key("watermark").Uint(jr.watermark);
  j.Key("version_limit").Uint(jr.version_limit);
  j.Key("corrupt_blocks").Uint(jr.corrupt_blocks);
  j.Key("tail").Uint(jr.tail);
  j.Key("lost_writes").Uint(jr.lost_writes);
  j.Key("keys_dropped").Uint(jr.keys_dropped);
  j.Key("lost_clear").Bool(jr.lost_clear);
  j.EndObject();

  const IndexStats& x = d.index;
  j.Key("index").BeginObject();
  j.Key("runs_kept").Uint(x.runs_kept);
  j.Key("live_objects").Uint(x.live_objects);
  j.Key("live_bytes").Uint(x.live_bytes);
  j.Key("unreadable").Uint(x.unreadable);
  j.Key("head").Uint(x.head);
  j.Key("next_seq").Uint(x.next_seq);
  j.Key("newest_seal_unix").Uint(x.newest_seal_unix);
  j.EndObject();

  const CheckpointInfo& c = d.checkpoint;
  j.Key("checkpoint").BeginObject();
  j.Key("path").String(c.path);
  j.Key("present").Bool(c.present);
  j.Key("usable").Bool(c.usable);
  j.Key("clean").Bool(c.clean);
  j.Key("entries").Uint(c.entries);
  j.Key("created_unix").Uint(c.created_unix);
  j.Key("note").String(c.note);
  j.EndObject();

  j.Key("repairs").BeginArray();
  for (const RepairAction& a : d.repairs) {
    j.BeginObject();
    j.Key("stripe");
    if (a.stripe == RepairAction::kNoStripe) {
      j.Null();
    } else {
      j.Uint(a.stripe);
    }
    j.Key("action").String(a.what);
    j.Key("ok").Bool(a.ok);
    if (!a.ok) j.Key("error").String(a.error);
    j.EndObject();
  }
  j.EndArray();
  if (!d.repair_refused.empty()) j.Key("repair_refused").String(d.repair_refused);

  if (verbose) {
    j.Key("stripe_list").BeginArray();
    for (uint32_t i = 0; i < d.lines.size(); i++) {
      const StripeLine& l = d.lines[i];
      j.BeginObject();
      j.Key("stripe").Uint(i);
      j.Key("state").String(StateName(l.state));
      j.Key("seq").Uint(l.seq);
      j.Key("span").Uint(l.span);
      j.Key("records").Uint(l.records);
      j.EndObject();
    }
    j.EndArray();
  }
  j.EndObject();
}

}  // namespace

void PrintJson(const FsckResult& res, bool verbose, std::FILE* out) {
  Json j;
  j.BeginObject();
  j.Key("clean").Bool(res.exit_code == 0);
  j.Key("exit_code").Int(res.exit_code);
  j.Key("verify_records").Bool(res.verify_records);
  j.Key("repair").Bool(res.repair);
  uint64_t live = 0, bytes = 0, values = 0, tombstones = 0, clears = 0, expired = 0, damaged = 0,
           failures = 0, journal = 0;
  for (const DeviceReport& d : res.devices) {
    live += d.index.live_objects;
    bytes += d.index.live_bytes;
    values += d.records.values;
    tombstones += d.records.tombstones;
    clears += d.records.clears;
    expired += d.records.expired;
    damaged += d.damage.size();
    failures += d.records.failures;
    journal += d.journal.corrupt_blocks;
  }
  j.Key("totals").BeginObject();
  j.Key("live_objects").Uint(live);
  j.Key("live_bytes").Uint(bytes);
  j.Key("values").Uint(values);
  j.Key("tombstones").Uint(tombstones);
  j.Key("clears").Uint(clears);
  j.Key("expired").Uint(expired);
  j.Key("damaged_stripes").Uint(damaged);
  j.Key("record_failures").Uint(failures);
  j.Key("corrupt_journal_blocks").Uint(journal);
  j.EndObject();
  j.Key("devices").BeginArray();
  for (const DeviceReport& d : res.devices) Device(j, d, verbose);
  j.EndArray();
  j.EndObject();
  std::fprintf(out, "%s\n", j.str().c_str());
}

}  // namespace coss::tools::fsck
