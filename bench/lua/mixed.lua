-- Mixed: PERCENT % creates (issuer Self, EC P-256, unique names), the rest
-- GET certificate of a random loaded one.  wrk ... -- BASE COUNT PERCENT
package.path = (os.getenv("CV_BENCH_LUA") or "bench/lua") .. "/?.lua;" .. package.path
local cv = require "common"

local base, n, pct
local body = '{"policy":{"key_props":{"kty":"EC","crv":"P-256"},'
   .. '"x509_props":{"subject":"CN=bench-mixed.example"},'
   .. '"issuer":{"name":"Self"}}}'
setup = cv.setup
function init(args)
   cv.init()
   base, n, pct = tonumber(args[1]), tonumber(args[2]), tonumber(args[3] or 10)
end
function request()
   if math.random(100) <= pct then
      return cv.post("/certificates/" .. cv.unique("m") .. "/create" .. cv.q, body)
   end
   return cv.get("/certificates/" .. cv.pick(base, n) .. cv.q)
end
done = cv.done
