#include "tools/sim/runner.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "tools/sim/baselines.h"
#include "tools/sim/engine_model.h"
#include "tools/sim/sim_clock.h"
#include "tools/sim/spec.h"

namespace coss::sim {

uint32_t ChooseStripeSize(uint64_t cache_bytes) {
  uint32_t s = 1u << 20;
  while (s > (64u << 10) && cache_bytes / s < 32) s >>= 1;
  return s;
}

bool IsBaseline(const std::string& policy) {
  return policy == "lru" || policy == "fifo";
}

std::string RunOne(const Trace& trace, const Job& job, uint32_t stripe_size, RunResult* out) {
  InstallSimClock();
  *out = RunResult{};
  out->workload = trace.name;
  out->policy = job.policy;
  out->cache_bytes = job.cache_bytes;
  out->cache_fraction = job.cache_fraction;
  std::unique_ptr<CacheModel> model;
  if (job.policy == "lru") {
    model = MakeLru(job.cache_bytes);
  } else if (job.policy == "fifo") {
    model = MakeFifo(job.cache_bytes);
  } else {
    EngineModelConfig c;
    c.policy = job.policy;
    c.cache_bytes = job.cache_bytes;
    c.stripe_size = stripe_size ? stripe_size : ChooseStripeSize(job.cache_bytes);
    c.max_object = trace.max_size;
    const uint64_t mean = trace.objects ? trace.footprint_bytes / trace.objects : 1;
    c.expected_objects = job.cache_bytes / std::max<uint64_t>(mean, 1);
    std::string err;
    model = MakeEngineModel(c, &err);
    if (!model) {
      return "policy " + job.policy + " at " + FormatBytes(job.cache_bytes) + ": " + err;
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  RunResult& r = *out;
  for (const Request& q : trace.requests) {
    const int64_t now = kSimEpoch + q.time;
    SetSimNow(now);
    switch (q.op) {
      case Op::kGet:
        r.gets++;
        r.get_bytes += q.size;
        if (!model->Get(q, now)) {
          r.misses++;
          r.miss_bytes += q.size;
          model->Put(q, now);
          r.inserted_bytes += q.size;
          r.inserted_objects++;
        }
        break;
      case Op::kSet:
        model->Put(q, now);
        r.inserted_bytes += q.size;
        r.inserted_objects++;
        break;
      case Op::kDelete:
        model->Remove(q);
        break;
    }
  }
  r.requests = trace.requests.size();
  model->Finish(&r);
  model.reset();  // the engine's close is not part of the replay time
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {};
}

std::string RunJobs(const Trace& trace, const std::vector<Job>& jobs, const RunnerOptions& opt,
                    std::vector<RunResult>* out) {
  out->assign(jobs.size(), RunResult{});
  std::vector<std::string> errors(jobs.size());
  std::atomic<size_t> next{0};
  std::mutex print_mu;
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < jobs.size();) {
      errors[i] = RunOne(trace, jobs[i], opt.stripe_size, &(*out)[i]);
      if (opt.progress && errors[i].empty()) {
        const RunResult& r = (*out)[i];
        std::lock_guard lk(print_mu);
        std::fprintf(stderr, "  %-10s %10s  miss %.4f  write amp %.3f  (%.1f s)\n",
                     r.policy.c_str(), FormatBytes(r.cache_bytes).c_str(), r.miss_ratio(),
                     r.write_amp(), r.seconds);
      }
    }
  };
  const unsigned n = std::max(1u, std::min<unsigned>(opt.threads, jobs.size()));
  std::vector<std::thread> ts;
  for (unsigned t = 1; t < n; t++) ts.emplace_back(worker);
  worker();
  for (auto& t : ts) t.join();
  for (const auto& e : errors) {
    if (!e.empty()) return e;
  }
  return {};
}

}  // namespace coss::sim
