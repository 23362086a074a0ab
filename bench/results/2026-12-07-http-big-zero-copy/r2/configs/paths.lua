-- wrk script for bench/http/run.sh: each request GETs one path of a list, chosen
--   uniform: uniformly at random, or
--   zipf:    with probability proportional to 1 / rank^S (rank = line number in the list;
--            the list is shuffled when it is made, so popularity is unrelated to names).
-- The cumulative table is computed once per thread in init(); each request does a binary
-- search in it.
--   wrk ... -s paths.lua URL -- PATHS_FILE uniform|zipf [S]
-- done() prints one line "WRKJSON {...}" for the harness.
local paths, cdf, n = {}, {}, 0
local zipf = false

function init(args)
  local file = args[1]
  zipf = (args[2] == "zipf")
  local s = tonumber(args[3] or "0.9")
  for line in io.lines(file) do
    if #line > 0 then
      n = n + 1
      paths[n] = line
    end
  end
  if zipf then
    local sum = 0
    for i = 1, n do
      sum = sum + 1 / (i ^ s)
      cdf[i] = sum
    end
    for i = 1, n do cdf[i] = cdf[i] / sum end
    cdf[n] = 1.0
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

local function pick()
  if not zipf then return math.random(n) end
  local r = math.random()
  local lo, hi = 1, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < r then lo = mid + 1 else hi = mid end
  end
  return lo
end

function request()
  return wrk.format("GET", paths[pick()])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "bytes": %d, "duration_us": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "non2xx": %d, "timeouts": %d, ' ..
    '"latency_p50_us": %d, "latency_p99_us": %d, "latency_mean_us": %.1f}\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.mean))
end
