-- GET /certificates/{name}/pending of a random certificate whose operation
-- (issuer Unknown) is in progress.  wrk ... -- BASE COUNT
package.path = (os.getenv("CV_BENCH_LUA") or "bench/lua") .. "/?.lua;" .. package.path
local cv = require "common"

local base, n
setup = cv.setup
function init(args)
   cv.init()
   base, n = tonumber(args[1]), tonumber(args[2])
end
function request()
   return cv.get("/certificates/" .. cv.pick(base, n) .. "/pending" .. cv.q)
end
done = cv.done
