-- bench/lua/common.lua — what every workload script of bench/run.sh shares.
--
-- Environment (set by bench/run.sh; the token never goes on a command line):
--   CV_BENCH_TOKEN     the access token (Authorization: Bearer …)
--   CV_BENCH_API       api-version (default 7.4)
--   CV_BENCH_RUN       a run id, part of every name a create makes (unique names)
--   CV_BENCH_DATA      directory of request bodies and data files
--   CV_BENCH_DONE_DIR  count-bounded runs: each thread that has finished its
--                      share touches a file here; run.sh then ends wrk early
--
-- Every script ends with done() = cv.done, which prints one line
--   @@bench rps=… p50_us=… p99_us=… requests=… non2xx=… errors=…
-- that run.sh turns into a table row.  "non2xx" is wrk's count of HTTP
-- statuses > 399 (1xx/3xx never come back from certvault), or the exact count
-- of statuses outside 200-299 when the script looks at responses.
local ffi = require "ffi"
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } cv_bench_timespec;
int clock_gettime(int, cv_bench_timespec *);
]]

local cv = {}

cv.token = os.getenv("CV_BENCH_TOKEN") or error("CV_BENCH_TOKEN is not set")
cv.api = os.getenv("CV_BENCH_API") or "7.4"
cv.run = os.getenv("CV_BENCH_RUN") or tostring(os.time())
cv.data = os.getenv("CV_BENCH_DATA") or "."
cv.done_dir = os.getenv("CV_BENCH_DONE_DIR")
cv.q = "?api-version=" .. cv.api

cv.get_headers = { ["Authorization"] = "Bearer " .. cv.token }
cv.post_headers = {
   ["Authorization"] = "Bearer " .. cv.token,
   ["Content-Type"] = "application/json",
}

local ts = ffi.new("cv_bench_timespec")
-- Monotonic clock in microseconds (count-bounded runs time themselves).
function cv.now_us()
   ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
   return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

function cv.read_file(name)
   local f = assert(io.open(cv.data .. "/" .. name, "rb"))
   local s = f:read("*a")
   f:close()
   return s
end

-- Thread ids: setup() runs in the main state once per thread, before the
-- thread's init(); tid and nthreads reach the thread's own state.
local threads = {}
function cv.setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

-- In a thread: a seed of its own, its id, and a counter for unique names.
cv.seq = 0
function cv.init()
   cv.tid = tid or 1
   math.randomseed(os.time() * 97 + cv.tid * 7919)
end

-- A fresh certificate name: ^[0-9a-zA-Z-]{1,127}$, unique per run and thread.
function cv.unique(prefix)
   cv.seq = cv.seq + 1
   return string.format("%s-%s-%d-%d", prefix, cv.run, cv.tid, cv.seq)
end

-- Numeric names base+1 … base+n (what run.sh loads; pgbench draws the same).
function cv.pick(base, n)
   return tostring(base + math.random(n))
end

function cv.get(path)
   return wrk.format("GET", path, cv.get_headers, nil)
end

function cv.post(path, body)
   return wrk.format("POST", path, cv.post_headers, body)
end

-- Response bookkeeping for scripts that need it (count-bounded runs):
-- statuses outside 2xx, completed requests, first send and last answer.
cv.ok, cv.bad, cv.t0, cv.t1 = 0, 0, nil, nil
function cv.count(status)
   if status >= 200 and status < 300 then cv.ok = cv.ok + 1
   else cv.bad = cv.bad + 1 end
   cv.t1 = cv.now_us()
   -- Globals, so that done() can read them with thread:get().
   bench_ok, bench_bad, bench_t1 = cv.ok, cv.bad, cv.t1
end

function cv.started()
   if cv.t0 == nil then
      cv.t0 = cv.now_us()
      bench_t0 = cv.t0
   end
end

-- This thread has done its share: tell run.sh, and stop sending.
function cv.finished()
   if cv.finished_once then return end
   cv.finished_once = true
   if cv.done_dir then
      local f = io.open(string.format("%s/thread-%d", cv.done_dir, cv.tid), "w")
      if f then f:close() end
   end
   wrk.thread:stop()
end

local function pct(latency, p)
   return math.floor(latency:percentile(p) + 0.5)
end

-- The report.  A count-bounded run (bench_t0 set in its threads) counts its
-- own rate over the span from its first request to its last answer: wrk's
-- own duration includes the wait after the threads stopped.
function cv.done(summary, latency, requests)
   local e = summary.errors
   local errors = e.connect + e.read + e.write + e.timeout
   local rps = summary.requests / (summary.duration / 1e6)
   local non2xx = e.status
   local t0, t1, ok, bad, counted = nil, nil, 0, 0, false
   for _, t in ipairs(threads) do
      local a, b = t:get("bench_t0"), t:get("bench_t1")
      if b ~= nil then
         counted = true
         ok = ok + (t:get("bench_ok") or 0)
         bad = bad + (t:get("bench_bad") or 0)
         if a ~= nil and (t0 == nil or a < t0) then t0 = a end
         if t1 == nil or b > t1 then t1 = b end
      end
   end
   if counted then
      non2xx = bad
      if t0 ~= nil and t1 > t0 then rps = (ok + bad) / ((t1 - t0) / 1e6) end
   end
   io.write(string.format(
      "@@bench rps=%.1f p50_us=%d p99_us=%d requests=%d non2xx=%d errors=%d ok=%d\n",
      rps, pct(latency, 50), pct(latency, 99), summary.requests, non2xx,
      errors, counted and ok or (summary.requests - non2xx)))
end

return cv
