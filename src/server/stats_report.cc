#include "server/stats_report.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "proto/reply.h"

namespace coss::server {

namespace {

const char* const kCounterNames[kCounterCount] = {
    "cmd_get",
    "cmd_set",
    "cmd_flush",
    "cmd_touch",
    "cmd_meta",
    "get_hits",
    "get_misses",
    "get_expired",
    "get_flushed",
    "delete_misses",
    "delete_hits",
    "incr_misses",
    "incr_hits",
    "decr_misses",
    "decr_hits",
    "cas_misses",
    "cas_hits",
    "cas_badval",
    "touch_hits",
    "touch_misses",
    "store_too_large",
    "store_no_memory",
    "total_items",
    "bytes_read",
    "bytes_written",
    "coss_hits_ram",
    "coss_hits_store_memory",
    "coss_hits_store_disk",
    "coss_cas_retries",
    "coss_client_errors",
    "coss_server_errors",
    "coss_lines_too_long",
    "coss_conn_output_pauses",
    "coss_conn_input_pauses",
    "coss_durability_errors",
};

const char* const kRerefLabels[kRerefBuckets] = {
    "0",         "1",         "2_3",        "4_7",       "8_15",     "16_31",
    "32_63",     "64_127",    "128_255",    "256_511",   "512_1023", "1024_2047",
    "2048_4095", "4096_8191", "8192_16383", "16384_plus"};

class Lines {
 public:
  void Stat(std::string_view name, std::string_view v) {
    s_ += "STAT ";
    s_ += name;
    s_ += ' ';
    s_ += v;
    s_ += "\r\n";
  }
  void Stat(std::string_view name, uint64_t v) { Stat(name, std::to_string(v)); }
  void StatI(std::string_view name, int64_t v) { Stat(name, std::to_string(v)); }
  std::string Finish() {
    s_ += "END\r\n";
    return std::move(s_);
  }

 private:
  std::string s_;
};

std::string Rusage(const timeval& tv) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%ld.%06ld", static_cast<long>(tv.tv_sec),
                static_cast<long>(tv.tv_usec));
  return buf;
}

uint64_t StoreCapacity(const ServerContext& ctx) {
  uint64_t total = 0;
  for (const auto& d : ctx.config->stores) total += d.size;
  return total;
}

// Device bytes written / key and value bytes clients asked to store, whether the
// store kept them or its admission policy refused them (issue 6's definition: a
// policy that keeps one-time keys off the device goes below 1).
double WriteAmplification(const StatsSnapshot& s) {
  const uint64_t offered = s.client_bytes_written + s.admission_rejected_bytes;
  return offered == 0 ? 0.0 : static_cast<double>(s.device_bytes_written) / offered;
}

std::string Fixed(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

void GeneralStats(const ServerContext& ctx, Lines* out) {
  const ServerConfig& cfg = *ctx.config;
  // The connection count first: a connection leaves the gauges before it
  // leaves this count (Worker::Close), so once it is seen gone here, the
  // gauges read after show nothing of it.
  const uint64_t curr = ctx.conns.curr.load();
  const MetricsTotals t = SumMetrics(ctx.worker_metrics);
  const StatsSnapshot es = ctx.engine->Stats();
  const RamTierStats rs = ctx.ram ? ctx.ram->Stats() : RamTierStats{};
  const int64_t now = NowSeconds();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  out->Stat("pid", static_cast<uint64_t>(getpid()));
  out->StatI("uptime", now - ctx.started_at);
  out->StatI("time", now);
  out->Stat("version", kVersionString);
  out->Stat("pointer_size", static_cast<uint64_t>(sizeof(void*) * 8));
  out->Stat("rusage_user", Rusage(ru.ru_utime));
  out->Stat("rusage_system", Rusage(ru.ru_stime));
  out->Stat("max_connections", cfg.max_connections);
  out->Stat("curr_connections", curr);
  out->Stat("total_connections", ctx.conns.total.load());
  out->Stat("rejected_connections", ctx.conns.rejected.load());
  out->Stat("connection_structures", curr);
  out->Stat("idle_kicks", ctx.conns.idle_kicks.load());
  for (int i = kCmdGet; i <= kStoreNoMemory; i++) out->Stat(kCounterNames[i], t.c[i]);
  out->Stat("bytes_read", t.c[kBytesRead]);
  out->Stat("bytes_written", t.c[kBytesWritten]);
  out->Stat("limit_maxbytes", StoreCapacity(ctx));
  out->Stat("accepting_conns", ctx.accepting.load() ? "1" : "0");
  out->Stat("threads", cfg.threads);
  out->Stat("conn_yields", uint64_t{0});
  out->Stat("curr_items", es.objects);
  out->Stat("total_items", t.c[kTotalItems]);
  out->Stat("bytes", es.bytes);
  out->Stat("evictions", es.evictions);
  out->Stat("reclaimed", uint64_t{0});
  // coss: the RAM tier
  out->Stat("coss_ram_limit_bytes", rs.capacity);
  out->Stat("coss_ram_bytes", rs.bytes);
  out->Stat("coss_ram_items", rs.items);
  out->Stat("coss_ram_hits", rs.hits);
  out->Stat("coss_ram_misses", rs.misses);
  out->Stat("coss_ram_fills", rs.fills);
  out->Stat("coss_ram_fills_stale", rs.fills_stale);
  out->Stat("coss_ram_fills_too_large", rs.fills_too_large);
  out->Stat("coss_ram_writes_in", rs.writes_in);
  out->Stat("coss_ram_copied_forward", rs.copied_forward);
  out->Stat("coss_ram_evictions", rs.evictions);
  for (int i = kHitsRam; i < kCounterCount; i++) out->Stat(kCounterNames[i], t.c[i]);
  // coss: connections held back by their own limits, and what they hold
  out->StatI("coss_conns_output_paused", t.g[kConnsOutputPaused]);
  out->StatI("coss_conns_input_paused", t.g[kConnsInputPaused]);
  out->StatI("coss_conn_output_bytes", t.g[kOutputBytes]);
  out->StatI("coss_conn_input_bytes", t.g[kInputBytes]);
  // coss: the HTTP caching proxy (--http-port)
  if (ctx.http != nullptr) {
    for (int i = 0; i < httpd::kHttpCounterCount; i++) {
      out->Stat(std::string("http_") + httpd::kHttpCounters[i].name,
                ctx.http->Get(static_cast<httpd::HttpCounter>(i)));
    }
  }
  // coss: the cyclic store (engine counters)
  out->Stat("coss_store_capacity_bytes", StoreCapacity(ctx));
  out->Stat("coss_store_objects", es.objects);
  out->Stat("coss_store_bytes", es.bytes);
  out->Stat("coss_index_bytes", es.index_bytes);
  out->Stat("coss_policy_bytes", es.policy_bytes);
  out->Stat("coss_index_capacity", es.index_capacity);
  out->Stat("coss_store_gets", es.gets);
  out->Stat("coss_store_hits_memory", es.hits_memory);
  out->Stat("coss_store_hits_disk", es.hits_disk);
  out->Stat("coss_store_misses", es.misses);
  out->Stat("coss_store_puts", es.puts);
  out->Stat("coss_store_removes", es.removes);
  out->Stat("coss_store_busy", es.busy);
  out->Stat("coss_store_waits", es.waits);
  out->Stat("coss_stripes_written", es.stripes_written);
  out->Stat("coss_device_bytes_written", es.device_bytes_written);
  out->Stat("coss_client_bytes_written", es.client_bytes_written);
  out->Stat("coss_write_amplification", Fixed(WriteAmplification(es)));
  out->Stat("coss_device_bytes_read", es.device_bytes_read);
  out->Stat("coss_relocations", es.relocations);
  out->Stat("coss_relocated_bytes", es.relocated_bytes);
  out->Stat("coss_evictions", es.evictions);
  out->Stat("coss_expired", es.expired);
  out->Stat("coss_checksum_failures", es.checksum_failures);
  out->Stat("coss_io_errors", es.io_errors);
  out->Stat("coss_reinsertions", es.reinsertions);
  out->Stat("coss_reinserted_bytes", es.reinserted_bytes);
  out->Stat("coss_admission_rejected", es.admission_rejected);
  out->Stat("coss_admission_rejected_bytes", es.admission_rejected_bytes);
  out->Stat("coss_journal_syncs", es.journal_syncs);
  out->Stat("coss_journal_errors", es.journal_errors);
  out->Stat("coss_journal_failed", es.journal_failed);
  out->Stat("coss_aged_seals", es.aged_seals);
  out->Stat("coss_journal_dropped", es.journal_dropped);
  out->Stat("coss_membufs_in_flight", es.membufs_in_flight);
  out->Stat("coss_objects_recovered", es.objects_recovered);
  out->Stat("coss_recovery_bytes_read", es.recovery_bytes_read);
  out->Stat("coss_journal_tail_at_open", es.journal_tail_at_open);
  out->Stat("coss_stripes_dropped_at_open", es.stripes_dropped_at_open);
  for (int i = 0; i < kRerefBuckets; i++) {
    out->Stat(std::string("coss_reref_") + kRerefLabels[i], es.reref[i]);
  }
}

void SettingsStats(const ServerContext& ctx, Lines* out) {
  const ServerConfig& c = *ctx.config;
  out->Stat("maxbytes", StoreCapacity(ctx));
  out->Stat("maxconns", c.max_connections);
  out->Stat("tcpport", c.port);
  out->Stat("udpport", uint64_t{0});
  out->Stat("inter", c.listen);
  out->StatI("verbosity", ctx.verbosity.load());
  out->Stat("evictions", "on");
  out->Stat("num_threads", c.threads);
  out->Stat("cas_enabled", "yes");
  out->Stat("binding_protocol", "ascii");
  out->Stat("item_size_max", c.max_item_size);
  out->Stat("maxconns_fast", "yes");
  out->Stat("tcp_backlog", uint64_t{1024});
  out->Stat("idle_timeout", c.idle_timeout_s);
  out->Stat("coss_ram_bytes", c.ram_bytes);
  std::string stores;
  for (const auto& d : c.stores) {
    if (!stores.empty()) stores += ',';
    stores += d.path + ":" + std::to_string(d.size);
  }
  out->Stat("coss_store", stores);
  out->Stat("coss_stripe_size", c.stripe_size);
  out->Stat("coss_membufs", c.membufs);
  out->Stat("coss_io", c.io == IoKind::kUring ? "uring" : "threads");
  out->Stat("coss_relocation", c.relocation);
  out->Stat("coss_on_full", c.on_full == FullPolicy::kWait ? "wait" : "busy");
  out->Stat("coss_write_ack", !c.ack_wait                            ? "buffered"
                              : c.ack_level == Persistence::kWritten ? "written"
                                                                     : "durable");
  out->Stat("coss_checkpoint", c.checkpoint.empty() ? "default" : c.checkpoint);
  out->Stat("coss_checkpoint_interval", c.checkpoint_interval_s);
  out->Stat("coss_max_buffer_age", c.max_buffer_age_s);
  out->Stat("coss_metrics_port", c.metrics_port);
  out->Stat("coss_max_line", c.max_line);
  out->Stat("coss_max_get_line", c.max_get_line);
  out->Stat("coss_conn_output_limit", c.conn_output_limit);
  out->Stat("coss_conn_inflight", c.conn_inflight);
  out->Stat("coss_conn_pending", c.conn_pending);
}

// Prometheus helpers.
class Prom {
 public:
  void Head(std::string_view name, std::string_view type, std::string_view help) {
    s_ += "# HELP ";
    s_ += name;
    s_ += ' ';
    s_ += help;
    s_ += "\n# TYPE ";
    s_ += name;
    s_ += ' ';
    s_ += type;
    s_ += '\n';
  }
  void Sample(std::string_view name, std::string_view labels, double v) {
    s_ += name;
    if (!labels.empty()) {
      s_ += '{';
      s_ += labels;
      s_ += '}';
    }
    char buf[64];
    if (v == static_cast<double>(static_cast<uint64_t>(v)) && v >= 0 && v < 1e19) {
      std::snprintf(buf, sizeof buf, " %llu\n", static_cast<unsigned long long>(v));
    } else {
      std::snprintf(buf, sizeof buf, " %.6g\n", v);
    }
    s_ += buf;
  }
  void One(std::string_view name, std::string_view type, std::string_view help, double v) {
    Head(name, type, help);
    Sample(name, "", v);
  }
  std::string Take() { return std::move(s_); }

 private:
  std::string s_;
};

double Ratio(uint64_t a, uint64_t b) {
  return b == 0 ? 0.0 : static_cast<double>(a) / b;
}

}  // namespace

std::string RenderStats(ServerContext& ctx, const std::vector<std::string_view>& args) {
  Lines out;
  if (args.empty()) {
    GeneralStats(ctx, &out);
    return out.Finish();
  }
  const std::string_view a = args[0];
  if (a == "settings") {
    SettingsStats(ctx, &out);
    return out.Finish();
  }
  if (a == "reset") {
    ResetStats(ctx);
    return "RESET\r\n";
  }
  if (a == "items" || a == "slabs" || a == "conns" || a == "extstore") return out.Finish();
  if (a == "sizes") {
    out.Stat("sizes_status", "disabled");
    return out.Finish();
  }
  if (a == "detail") return "CLIENT_ERROR usage: stats detail on|off|dump\r\n";
  return "ERROR\r\n";
}

void ResetStats(ServerContext& ctx) {
  for (WorkerMetrics* w : ctx.worker_metrics) {
    for (auto& c : w->c) c.store(0, std::memory_order_relaxed);
  }
  ctx.conns.total.store(ctx.conns.curr.load());
}

std::string RenderPrometheus(const ServerContext& ctx) {
  const MetricsTotals t = SumMetrics(ctx.worker_metrics);
  const StatsSnapshot es = ctx.engine->Stats();
  const RamTierStats rs = ctx.ram ? ctx.ram->Stats() : RamTierStats{};
  Prom p;
  const uint64_t keys = t.c[kGetHits] + t.c[kGetMisses];

  p.Head("cossd_reads_total", "counter",
         "Object reads by the tier that served them (tier=miss: not found)");
  p.Sample("cossd_reads_total", "tier=\"ram\"", t.c[kHitsRam]);
  p.Sample("cossd_reads_total", "tier=\"store_memory\"", t.c[kHitsStoreMemory]);
  p.Sample("cossd_reads_total", "tier=\"store_disk\"", t.c[kHitsStoreDisk]);
  p.Sample("cossd_reads_total", "tier=\"miss\"", t.c[kGetMisses]);
  p.Head("cossd_hit_ratio", "gauge", "Fraction of get keys served by each tier since start");
  p.Sample("cossd_hit_ratio", "tier=\"ram\"", Ratio(t.c[kHitsRam], keys));
  p.Sample("cossd_hit_ratio", "tier=\"store_memory\"", Ratio(t.c[kHitsStoreMemory], keys));
  p.Sample("cossd_hit_ratio", "tier=\"store_disk\"", Ratio(t.c[kHitsStoreDisk], keys));
  p.Sample("cossd_hit_ratio", "tier=\"all\"", Ratio(t.c[kGetHits], keys));

  p.Head("cossd_commands_total", "counter", "Requests by command");
  for (int i = 0; i <= static_cast<int>(proto::Command::kMetaDebug); i++) {
    const auto cmd = static_cast<proto::Command>(i);
    p.Sample("cossd_commands_total", std::string("cmd=\"") + proto::CommandName(cmd) + "\"",
             t.ops_by_cmd[i]);
  }
  p.Head("cossd_request_duration_seconds", "histogram",
         "Time from a request being parsed to its reply being queued");
  for (int k = 0; k < kLatClassCount; k++) {
    uint64_t cum = 0;
    const std::string cls = std::string("class=\"") + LatClassName(k) + "\"";
    for (int b = 0; b < kLatBuckets; b++) {
      cum += t.lat[k][b];
      char le[64];
      std::snprintf(le, sizeof le, ",le=\"%g\"", static_cast<double>(1ull << b) * 1e-6);
      p.Sample("cossd_request_duration_seconds_bucket", cls + le, cum);
    }
    cum += t.lat[k][kLatBuckets];
    p.Sample("cossd_request_duration_seconds_bucket", cls + ",le=\"+Inf\"", cum);
    p.Sample("cossd_request_duration_seconds_sum", cls, t.lat_sum_us[k] * 1e-6);
    p.Sample("cossd_request_duration_seconds_count", cls, cum);
  }
  p.Head("cossd_protocol_errors_total", "counter", "Error replies by kind");
  p.Sample("cossd_protocol_errors_total", "kind=\"client\"", t.c[kClientErrors]);
  p.Sample("cossd_protocol_errors_total", "kind=\"server\"", t.c[kServerErrors]);
  p.Sample("cossd_protocol_errors_total", "kind=\"line_too_long\"", t.c[kLinesTooLong]);
  p.One("cossd_network_read_bytes_total", "counter", "Bytes read from clients", t.c[kBytesRead]);
  p.One("cossd_network_written_bytes_total", "counter", "Bytes sent to clients",
        t.c[kBytesWritten]);

  p.One("cossd_client_bytes_written_total", "counter",
        "Key and value bytes of accepted stores (what clients asked to write)",
        es.client_bytes_written);
  p.One("cossd_device_bytes_written_total", "counter", "Bytes written to the store devices",
        es.device_bytes_written);
  p.One("cossd_device_bytes_read_total", "counter", "Bytes read from the store devices",
        es.device_bytes_read);
  p.One("cossd_write_amplification", "gauge",
        "Device bytes written / key and value bytes clients asked to store (kept or refused)",
        WriteAmplification(es));
  p.One("cossd_reinsertions_total", "counter",
        "Objects re-written when their stripe was reclaimed (reinsert policy)", es.reinsertions);
  p.One("cossd_reinserted_bytes_total", "counter", "Bytes of reinserted records",
        es.reinserted_bytes);
  p.One("cossd_admission_rejected_total", "counter",
        "Puts of new keys the admission policy kept off the device", es.admission_rejected);
  p.One("cossd_admission_rejected_bytes_total", "counter",
        "Key and value bytes of puts refused by admission", es.admission_rejected_bytes);
  p.One("cossd_journal_syncs_total", "counter", "Journal group commits (fdatasync)",
        es.journal_syncs);
  p.One("cossd_journal_errors_total", "counter",
        "Failed journal writes and fdatasyncs (one failed sync stops durable acknowledgements "
        "until a restart)",
        es.journal_errors);
  p.One("cossd_journal_failed", "gauge",
        "Store devices whose journal failed: writes are refused until a restart",
        es.journal_failed);
  if (ctx.http != nullptr) {
    for (int i = 0; i < httpd::kHttpCounterCount; i++) {
      p.One(std::string("cossd_http_") + httpd::kHttpCounters[i].name + "_total", "counter",
            httpd::kHttpCounters[i].help, ctx.http->Get(static_cast<httpd::HttpCounter>(i)));
    }
  }
  p.One("cossd_durability_errors_total", "counter",
        "Write replies turned into SERVER_ERROR because they could not be made durable",
        t.c[kDurabilityErrors]);
  p.One("cossd_relocations_total", "counter", "Objects re-written at the head of the ring",
        es.relocations);
  p.One("cossd_relocated_bytes_total", "counter", "Bytes of relocated records", es.relocated_bytes);
  p.Head("cossd_evictions_total", "counter", "Objects evicted, by tier");
  p.Sample("cossd_evictions_total", "tier=\"ram\"", rs.evictions);
  p.Sample("cossd_evictions_total", "tier=\"store\"", es.evictions);
  p.One("cossd_checksum_failures_total", "counter", "Records that failed verification on read",
        es.checksum_failures);
  p.One("cossd_io_errors_total", "counter", "Device I/O errors", es.io_errors);
  p.One("cossd_store_objects", "gauge", "Objects in the store index", es.objects);
  p.One("cossd_store_bytes", "gauge", "Bytes of live records in the store", es.bytes);
  p.One("cossd_index_bytes", "gauge", "RAM held by the store index", es.index_bytes);
  p.One("cossd_policy_bytes", "gauge", "RAM held by the store's policies (admission ghost)",
        es.policy_bytes);
  p.One("cossd_ram_items", "gauge", "Objects in the RAM tier", rs.items);
  p.One("cossd_ram_bytes", "gauge", "Bytes charged to the RAM tier", rs.bytes);
  p.One("cossd_ram_limit_bytes", "gauge", "RAM tier capacity (-m)", rs.capacity);
  p.One("cossd_ram_fills_stale_total", "counter",
        "RAM tier fills refused because the key was written during the read", rs.fills_stale);
  p.One("cossd_ram_writes_in_total", "counter", "Written objects that entered the RAM tier",
        rs.writes_in);
  p.One("cossd_ram_copied_forward_total", "counter",
        "RAM tier objects copied to the main queue when their segment was evicted",
        rs.copied_forward);
  p.One("cossd_store_busy_total", "counter",
        "Writes refused because every stripe buffer waited for the disk (--on-full busy)", es.busy);
  p.One("cossd_store_waits_total", "counter",
        "Writes that waited for a stripe buffer to be written (--on-full wait)", es.waits);
  p.Head("cossd_store_rereference_objects_total", "counter",
         "Objects evicted from the store, by how often they were read while cached");
  for (int i = 0; i < kRerefBuckets; i++) {
    p.Sample("cossd_store_rereference_objects_total",
             std::string("reads=\"") + kRerefLabels[i] + "\"", es.reref[i]);
  }
  p.One("cossd_connections", "gauge", "Open client connections", ctx.conns.curr.load());
  p.Head("cossd_worker_connections", "gauge",
         "Open client connections by the worker thread serving them (dealt round-robin)");
  for (size_t i = 0; i < ctx.worker_metrics.size(); i++) {
    p.Sample("cossd_worker_connections", "worker=\"" + std::to_string(i) + "\"",
             ctx.worker_metrics[i]->g[kConnections].load(std::memory_order_relaxed));
  }
  p.One("cossd_connections_total", "counter", "Client connections accepted",
        ctx.conns.total.load());
  p.One("cossd_connections_rejected_total", "counter", "Connections refused at the -c limit",
        ctx.conns.rejected.load());
  p.One("cossd_connections_idle_closed_total", "counter", "Connections closed by --idle-timeout",
        ctx.conns.idle_kicks.load());
  p.Head("cossd_connections_paused", "gauge",
         "Connections not reading requests: unsent replies at --conn-output-limit (output) or "
         "queued requests at their bound (input)");
  p.Sample("cossd_connections_paused", "reason=\"output\"", t.g[kConnsOutputPaused]);
  p.Sample("cossd_connections_paused", "reason=\"input\"", t.g[kConnsInputPaused]);
  p.Head("cossd_connection_pauses_total", "counter",
         "Times a connection stopped reading requests, by reason");
  p.Sample("cossd_connection_pauses_total", "reason=\"output\"", t.c[kOutputPauses]);
  p.Sample("cossd_connection_pauses_total", "reason=\"input\"", t.c[kInputPauses]);
  p.Head("cossd_connection_buffer_bytes", "gauge",
         "Bytes held for connections: unsent replies (output), read buffers and queued requests "
         "(input)");
  p.Sample("cossd_connection_buffer_bytes", "dir=\"output\"", t.g[kOutputBytes]);
  p.Sample("cossd_connection_buffer_bytes", "dir=\"input\"", t.g[kInputBytes]);
  p.One("cossd_uptime_seconds", "gauge", "Seconds since start", NowSeconds() - ctx.started_at);
  return p.Take();
}

}  // namespace coss::server
