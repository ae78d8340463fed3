-- POST /certificates/{unique name}/import with a PKCS#12 (EC P-256 key and
-- a self-signed certificate, password-protected), the body bench/run.sh
-- wrote to $CV_BENCH_DATA/import.json.
package.path = (os.getenv("CV_BENCH_LUA") or "bench/lua") .. "/?.lua;" .. package.path
local cv = require "common"

local body
setup = cv.setup
function init(args)
   cv.init()
   body = cv.read_file("import.json")
end
function request()
   return cv.post("/certificates/" .. cv.unique("i") .. "/import" .. cv.q, body)
end
done = cv.done
