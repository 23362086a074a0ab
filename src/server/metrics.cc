#include "server/metrics.h"

#include <bit>

namespace coss::server {

void WorkerMetrics::Latency(proto::Command cmd, uint64_t micros) {
  const LatClass cls = LatClassOf(cmd);
  int b = micros <= 1 ? 0 : static_cast<int>(std::bit_width(micros - 1));
  if (b > kLatBuckets) b = kLatBuckets;
  lat[cls][b].fetch_add(1, std::memory_order_relaxed);
  lat_sum_us[cls].fetch_add(micros, std::memory_order_relaxed);
}

LatClass LatClassOf(proto::Command cmd) {
  using proto::Command;
  switch (cmd) {
    case Command::kGet:
    case Command::kGets:
      return kLatGet;
    case Command::kSet:
    case Command::kAdd:
    case Command::kReplace:
    case Command::kAppend:
    case Command::kPrepend:
    case Command::kCas:
      return kLatSet;
    case Command::kDelete:
      return kLatDelete;
    case Command::kIncr:
    case Command::kDecr:
      return kLatArith;
    case Command::kTouch:
    case Command::kGat:
    case Command::kGats:
      return kLatTouch;
    case Command::kMetaGet:
    case Command::kMetaSet:
    case Command::kMetaDelete:
    case Command::kMetaArithmetic:
    case Command::kMetaNoop:
    case Command::kMetaDebug:
      return kLatMeta;
    default:
      return kLatOther;
  }
}

const char* LatClassName(int c) {
  static const char* names[] = {"get", "set", "delete", "incr_decr", "touch", "meta", "other"};
  return names[c];
}

MetricsTotals SumMetrics(const std::vector<WorkerMetrics*>& workers) {
  MetricsTotals t;
  for (const WorkerMetrics* w : workers) {
    for (int i = 0; i < kCounterCount; i++) t.c[i] += w->c[i].load(std::memory_order_relaxed);
    for (int i = 0; i < kGaugeCount; i++) t.g[i] += w->g[i].load(std::memory_order_relaxed);
    for (size_t i = 0; i < t.ops_by_cmd.size(); i++)
      t.ops_by_cmd[i] += w->ops_by_cmd[i].load(std::memory_order_relaxed);
    for (int k = 0; k < kLatClassCount; k++) {
      for (int b = 0; b <= kLatBuckets; b++)
        t.lat[k][b] += w->lat[k][b].load(std::memory_order_relaxed);
      t.lat_sum_us[k] += w->lat_sum_us[k].load(std::memory_order_relaxed);
    }
  }
  return t;
}

}  // namespace coss::server
