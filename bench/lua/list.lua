-- GET /certificates, the first page of 25.
package.path = (os.getenv("CV_BENCH_LUA") or "bench/lua") .. "/?.lua;" .. package.path
local cv = require "common"

local req
setup = cv.setup
function init(args)
   cv.init()
   req = cv.get("/certificates" .. cv.q .. "&maxresults=25")
end
function request()
   return req
end
done = cv.done
