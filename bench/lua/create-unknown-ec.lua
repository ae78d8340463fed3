-- POST /certificates/{unique name}/create, issuer Unknown, EC P-256: the
-- vault makes the key and the CSR; the operation stays inProgress (these
-- are what the merge workload signs and merges afterwards).
package.path = (os.getenv("CV_BENCH_LUA") or "bench/lua") .. "/?.lua;" .. package.path
local cv = require "common"

local body = '{"policy":{"key_props":{"kty":"EC","crv":"P-256"},'
   .. '"x509_props":{"subject":"CN=bench-unknown.example"},'
   .. '"issuer":{"name":"Unknown"}}}'
setup = cv.setup
function init(args)
   cv.init()
end
function request()
   return cv.post("/certificates/" .. cv.unique("u") .. "/create" .. cv.q, body)
end
done = cv.done
