-- POST /certificates/{unique name}/create, issuer Self, RSA 2048, sustained:
-- the key comes from certvault-worker's key pool when it has one, else it is
-- generated during the request (bench/run.sh starts the run with the pool
-- empty: see bench/README.md, Key pool); the certificate is signed in the
-- request.
package.path = (os.getenv("CV_BENCH_LUA") or "bench/lua") .. "/?.lua;" .. package.path
local cv = require "common"

local body = '{"policy":{"key_props":{"kty":"RSA","key_size":2048},'
   .. '"x509_props":{"subject":"CN=bench-rsa.example"},'
   .. '"issuer":{"name":"Self"}}}'
setup = cv.setup
function init(args)
   cv.init()
end
function request()
   return cv.post("/certificates/" .. cv.unique("r") .. "/create" .. cv.q, body)
end
done = cv.done
