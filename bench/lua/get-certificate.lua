-- GET /certificates/{name} (the latest version) of a random loaded
-- certificate.  wrk ... -s get-certificate.lua URL -- BASE COUNT
-- (names BASE+1 … BASE+COUNT, as bench/run.sh loads them).
package.path = (os.getenv("CV_BENCH_LUA") or "bench/lua") .. "/?.lua;" .. package.path
local cv = require "common"

local base, n
setup = cv.setup
function init(args)
   cv.init()
   base, n = tonumber(args[1]), tonumber(args[2])
end
function request()
   return cv.get("/certificates/" .. cv.pick(base, n) .. cv.q)
end
done = cv.done
