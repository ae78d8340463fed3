-- POST /certificates/{name}/pending/merge, each operation once: the lines
-- "NAME<TAB>BASE64 DER" of $CV_BENCH_DATA/merge.tsv (CSRs of the create
-- Unknown run, signed by bench/signcsr), shared out between the threads.
-- Count-bounded: a thread stops when its share is answered.
-- wrk ... -- THREADS
package.path = (os.getenv("CV_BENCH_LUA") or "bench/lua") .. "/?.lua;" .. package.path
local cv = require "common"

local items, sent, reserved = {}, 0, 0
setup = cv.setup
function init(args)
   cv.init()
   local nthreads, i = tonumber(args[1]), 0
   for line in io.lines(cv.data .. "/merge.tsv") do
      i = i + 1
      if (i - 1) % nthreads == cv.tid - 1 then
         local name, der = line:match("^([^\t]+)\t(.+)$")
         if name then
            items[#items + 1] = { name, '{"x5c":["' .. der .. '"]}' }
         end
      end
   end
end
-- Each delay() of 0 is followed by exactly one request(): reserve it here,
-- so that connections waiting at the same time never overshoot the share.
function delay()
   if reserved >= #items then
      if #items == 0 then cv.finished() end
      return 3600000
   end
   reserved = reserved + 1
   return 0
end
function request()
   cv.started()
   if sent >= #items then  -- a reconnect re-sends without delay(): harmless
      return cv.get("/healthz")
   end
   sent = sent + 1
   local it = items[sent]
   return cv.post("/certificates/" .. it[1] .. "/pending/merge" .. cv.q, it[2])
end
function response(status, headers, body)
   cv.count(status)
   if cv.ok + cv.bad >= #items then cv.finished() end
end
done = cv.done
