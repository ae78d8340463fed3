-- A burst (bench/run.sh sends it once the key pool holds TOTAL RSA-2048
-- keys): exactly TOTAL creates, issuer Self, RSA 2048, sent at once over
-- as many connections, each answered once; the run ends when every thread
-- has its answers.  wrk -c TOTAL ... -- TOTAL THREADS
package.path = (os.getenv("CV_BENCH_LUA") or "bench/lua") .. "/?.lua;" .. package.path
local cv = require "common"

local body = '{"policy":{"key_props":{"kty":"RSA","key_size":2048},'
   .. '"x509_props":{"subject":"CN=bench-burst.example"},'
   .. '"issuer":{"name":"Self"}}}'
local quota, sent, reserved = 0, 0, 0
-- Connection: close: each burst request is a client of its own, and no
-- answered connection idles (lighttpd would close it after 5 s, which wrk
-- counts as a read error) while the rest of the burst is served.
local headers = { ["Connection"] = "close" }
for k, v in pairs(cv.post_headers) do headers[k] = v end
setup = cv.setup
function init(args)
   cv.init()
   local total, nthreads = tonumber(args[1]), tonumber(args[2])
   quota = math.floor(total / nthreads)
   if cv.tid <= total % nthreads then quota = quota + 1 end
end
-- Each delay() of 0 is followed by exactly one request(): reserve it here,
-- so that connections waiting at the same time never overshoot the share.
function delay()
   if reserved >= quota then
      if quota == 0 then cv.finished() end
      return 3600000
   end
   reserved = reserved + 1
   return 0
end
function request()
   cv.started()
   if sent >= quota then  -- a reconnect re-sends without delay(): harmless
      return cv.get("/healthz")
   end
   sent = sent + 1
   return wrk.format("POST", "/certificates/" .. cv.unique("b") .. "/create" .. cv.q,
      headers, body)
end
function response(status, headers, body)
   cv.count(status)
   if cv.ok + cv.bad >= quota then cv.finished() end
end
done = cv.done
