#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/assert_true
# Faults (issue 9): kill -9 of random certvault-fcgi workers during a wrk
# load of certificate creates (Self and Unknown issuers, EC P-256) and
# reads through lighttpd. Only the killed requests fail (at most one per
# kill: a worker serves one request at a time); every create that answered
# 202 is readable afterwards, through the API and in the database; no
# half-written rows (checked with SQL); the master replaces each killed
# worker at once and is itself never replaced.
. "$(dirname "$0")/lib.sh"

API=7.5
DURATION=12 # seconds of load
LIST="/certificates?api-version=$API"
FCGI_LOG=$CERTVAULT_HOME/log/certvault-fcgi.log
RUN=fk$(cv_random_hex 3)
# Every certificate this test makes is named $RUN-…: removed at exit, so
# that the vault is as empty as the tests after this one expect.
t_on_exit "t_psql \"DELETE FROM certificates WHERE name LIKE '$RUN-%'\" >/dev/null"
t_on_exit 'stack_restore >/dev/null 2>&1'

command -v wrk >/dev/null 2>&1 || bail "wrk is not installed"
kv_curl GET "$LIST"
assert_status 200 "before: GET /certificates 200" || bail "the stack is not healthy"

MASTER=$(master_pid)
if [ -z "$MASTER" ] || ! cv_proc_alive "$MASTER"; then bail "no certvault-fcgi master running"; fi
NWORKERS=$(sed -n 's/^workers *= *\([0-9]*\).*/\1/p' "$CERTVAULT_CONFIG")
NWORKERS=${NWORKERS:-4}
assert_eq "$NWORKERS" "$(children "$MASTER" | grep -c .)" \
	"master $MASTER runs $NWORKERS workers before the load"
LOG_LINES=$(wc -l <"$FCGI_LOG")

# --- the load: wrk with a script that records every 202 ----------------------
# Three requests in eight create (Self, Unknown, Self), the others read
# the certificate or the pending operation of a name this thread created.
# response() keeps the name of every 202 (from the body's id) in
# created-THREAD and the statuses outside 2xx/404/409 in bad-THREAD;
# done() prints one @@fault line. The token reaches wrk through the
# environment, never its command line.
cat >"$T_TMP/load.lua" <<'EOF'
local token = os.getenv("CV_FAULT_TOKEN")
local run = os.getenv("CV_FAULT_RUN")
local dir = os.getenv("CV_FAULT_DIR")
local host = os.getenv("CV_FAULT_HOST")
local q = "?api-version=" .. os.getenv("CV_FAULT_API")
local function policy(issuer)
   return '{"policy":{"key_props":{"kty":"EC","crv":"P-256"},'
      .. '"x509_props":{"subject":"CN=fault.example"},'
      .. '"issuer":{"name":"' .. issuer .. '"}}}'
end
local body_self, body_unknown = policy("Self"), policy("Unknown")

local threads = {}
function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

local seq, last_self, last_any, created, bad = 0, nil, nil, nil, nil
local n_ok, n_expected, n_bad, n_created = 0, 0, 0, 0
function init(args)
   created = assert(io.open(dir .. "/created-" .. tid, "w"))
   bad = assert(io.open(dir .. "/bad-" .. tid, "w"))
end

local function get(path)
   return wrk.format("GET", path, { Host = host, Authorization = "Bearer " .. token })
end
local function post(path, body)
   return wrk.format("POST", path, { Host = host, Authorization = "Bearer " .. token,
      ["Content-Type"] = "application/json" }, body)
end

function request()
   seq = seq + 1
   local k = seq % 8
   if k == 0 or k == 3 or last_self == nil then
      return post(string.format("/certificates/%s-%d-%d/create%s", run, tid, seq, q), body_self)
   elseif k == 5 then
      return post(string.format("/certificates/%s-%d-%d/create%s", run, tid, seq, q), body_unknown)
   elseif k % 2 == 0 then
      return get("/certificates/" .. last_self .. q)
   else
      return get("/certificates/" .. last_any .. "/pending" .. q)
   end
end

function response(status, headers, body)
   if status == 202 then
      local name = string.match(body, '"id":"[^"]*/certificates/([0-9A-Za-z-]+)/pending"')
      if name ~= nil then
         created:write(name, "\n")
         created:flush()
         n_created = n_created + 1
         last_any = name
         if string.find(body, '"issuer":{"name":"Self"}', 1, true) then
            last_self = name
         end
      end
   end
   if status >= 200 and status < 300 then
      n_ok = n_ok + 1
   elseif status == 404 or status == 409 then
      n_expected = n_expected + 1
   else
      n_bad = n_bad + 1
      bad:write(status, " ", string.sub(string.gsub(body, "%s+", " "), 1, 160), "\n")
      bad:flush()
   end
   fault_ok, fault_expected, fault_bad, fault_created = n_ok, n_expected, n_bad, n_created
end

function done(summary, latency, requests)
   local ok, expected, bad, created = 0, 0, 0, 0
   for _, t in ipairs(threads) do
      ok = ok + (t:get("fault_ok") or 0)
      expected = expected + (t:get("fault_expected") or 0)
      bad = bad + (t:get("fault_bad") or 0)
      created = created + (t:get("fault_created") or 0)
   end
   local e = summary.errors
   io.write(string.format("@@fault requests=%d ok=%d expected=%d bad=%d created=%d "
      .. "connect=%d read=%d write=%d timeout=%d p99_ms=%.1f\n",
      summary.requests, ok, expected, bad, created, e.connect, e.read, e.write,
      e.timeout, latency:percentile(99) / 1000))
end
EOF

mkdir -p "$T_TMP/out"
CV_FAULT_TOKEN=$CERTVAULT_TOKEN CV_FAULT_RUN=$RUN CV_FAULT_DIR=$T_TMP/out \
	CV_FAULT_HOST=$CERTVAULT_VAULT_HOST CV_FAULT_API=$API \
	wrk -t2 -c4 -d"${DURATION}s" --timeout 10s -s "$T_TMP/load.lua" \
	"https://127.0.0.1:$CERTVAULT_HTTPS_PORT" >"$T_TMP/wrk.out" 2>&1 &
WRK=$!
t_on_exit "kill $WRK 2>/dev/null || true"
T0=$(now_ms)

# --- the kills ---------------------------------------------------------------
# KILLS workers, each at a random moment 0.7-1.5 s after the previous one
# was replaced, all within the first DURATION - 1.5 s. After each kill:
# the time until the master runs NWORKERS workers again, the victim not
# among them.
KILLS=$((5 + RANDOM % 4))
VICTIMS=()
TIMES=()
SLOW=
back_to_full() {
	local now
	now=$(children "$MASTER")
	[ "$(printf '%s\n' "$now" | grep -c .)" -eq "$NWORKERS" ] &&
		! printf '%s\n' "$now" | grep -qx "$VICTIM"
}
sleep 0.8
for ((k = 1; k <= KILLS; k++)); do
	d=$((7 + RANDOM % 9))
	sleep "$((d / 10)).$((d % 10))"
	[ $(($(now_ms) - T0)) -lt $(((DURATION * 10 - 15) * 100)) ] || break
	mapfile -t CUR < <(children "$MASTER")
	[ "${#CUR[@]}" -gt 0 ] || break
	VICTIM=${CUR[$((RANDOM % ${#CUR[@]}))]}
	t1=$(now_ms)
	kill -KILL "$VICTIM" 2>/dev/null || continue
	VICTIMS+=("$VICTIM")
	# Polled every 10 ms; 3 s at most.
	for ((i = 0; i < 300; i++)); do
		back_to_full && break
		sleep 0.01
	done
	t2=$(now_ms)
	if back_to_full; then TIMES+=($((t2 - t1))); else TIMES+=(timeout) SLOW+="$VICTIM "; fi
done
wait "$WRK"
WRK_RC=$?
T_WRK=$(($(now_ms) - T0))
KILLED=${#VICTIMS[@]}
diag "killed $KILLED workers (${VICTIMS[*]}) over ${T_WRK} ms of load; back to $NWORKERS workers after (ms): ${TIMES[*]}"

# --- (d) the master replaced each worker at once ------------------------------
assert_ne 0 "$KILLED" "workers were killed during the load ($KILLED)"
assert_eq "" "$SLOW" "every killed worker was replaced (within 3 s)"
MAXT=0
for t in "${TIMES[@]}"; do [[ $t =~ ^[0-9]+$ ]] && [ "$t" -gt "$MAXT" ] && MAXT=$t; done
assert_true "each replacement within 500 ms (slowest: $MAXT ms)" [ "$MAXT" -le 500 ]
assert_eq "$MASTER" "$(master_pid)" "master pid unchanged ($MASTER)"
assert_true "master still running" cv_proc_alive "$MASTER"
assert_eq "$NWORKERS" "$(children "$MASTER" | grep -c .)" "master runs $NWORKERS workers after the load"
NEWLOG=$(tail -n +"$((LOG_LINES + 1))" "$FCGI_LOG")
unlogged=
for v in "${VICTIMS[@]}"; do
	grep -q "WARNING pid=$MASTER worker $v killed by signal 9" <<<"$NEWLOG" || unlogged+="$v "
done
assert_eq "" "$unlogged" "the master logged every killed worker"

# --- (a) only the killed requests failed --------------------------------------
assert_eq 0 "$WRK_RC" "wrk ran to its end"
LINE=$(grep '^@@fault ' "$T_TMP/wrk.out" | tail -n 1)
diag "wrk: $LINE"
assert_match '^@@fault requests=[0-9]+' "$LINE" "wrk printed its counts" || {
	diag "$(cat "$T_TMP/wrk.out")"
	bail "no counts from wrk"
}
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$LINE"; }
REQS=$(field requests) OK_N=$(field ok) EXP_N=$(field expected) BAD_N=$(field bad)
CREATED_N=$(field created)
SOCK_N=$(($(field connect) + $(field read) + $(field write) + $(field timeout)))
FAILED=$((BAD_N + SOCK_N))
diag "requests $REQS: 2xx $OK_N, 404/409 $EXP_N, other statuses $BAD_N, socket errors $SOCK_N; 202 creates $CREATED_N"
if [ -s "$T_TMP/out/bad-1" ] || [ -s "$T_TMP/out/bad-2" ]; then
	diag "failed answers (count, status, body):" "$(cat "$T_TMP"/out/bad-* | sort | uniq -c | head -n 5)"
fi
assert_true "the load was real: at least 100 requests ($REQS), 20 creates ($CREATED_N)" \
	eval "[ $REQS -ge 100 ] && [ $CREATED_N -ge 20 ]"
assert_true "failed requests ($FAILED) <= kills ($KILLED)" [ "$FAILED" -le "$KILLED" ]

# --- (b) every 202 is readable --------------------------------------------------
cat "$T_TMP"/out/created-* | sort -u >"$T_TMP/created"
N202=$(grep -c . "$T_TMP/created")
assert_eq "$CREATED_N" "$N202" "every 202 named a distinct certificate ($N202)"
# One curl for all of them (one TLS connection), one status per line.
t1=$(now_ms)
(umask 077 && printf 'Authorization: Bearer %s\n' "$CERTVAULT_TOKEN" >"$T_TMP/auth")
while read -r n; do
	printf 'url = "https://%s:%s/certificates/%s/pending?api-version=%s"\noutput = /dev/null\n' \
		"$CERTVAULT_VAULT_HOST" "$CERTVAULT_HTTPS_PORT" "$n" "$API"
done <"$T_TMP/created" >"$T_TMP/get.cfg"
curl -sS --max-time 60 --cacert "$CERTVAULT_CA" -H "@$T_TMP/auth" \
	--resolve "$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT:127.0.0.1" \
	-w '%{http_code}\n' -K "$T_TMP/get.cfg" >"$T_TMP/get.status" 2>"$T_TMP/get.err"
rm -f "$T_TMP/auth"
diag "$N202 GETs in $(($(now_ms) - t1)) ms"
assert_eq "$N202" "$(grep -c '^200$' "$T_TMP/get.status")" \
	"GET /certificates/{name}/pending: 200 for each of the $N202 created"

# The same names in the database: the certificate with its operation, and
# the audit record of the 202. (Thousands of names: loaded with \copy,
# too long for one command-line argument.)
DB_COUNTS=$(psql -X -q -v ON_ERROR_STOP=1 -tA -d "$CERTVAULT_DATABASE_URL" 2>&1 <<EOF
CREATE TEMP TABLE got (name text);
\copy got FROM '$T_TMP/created'
SELECT count(*) FROM got JOIN certificates c ON c.name = got.name
	JOIN pending_operations o ON o.certificate_id = c.id WHERE c.deleted_at IS NULL;
SELECT count(DISTINCT a.object_name) FROM got JOIN audit_log a
	ON a.object_name = got.name AND a.http_status = 202;
EOF
)
assert_eq "$N202" "$(sed -n 1p <<<"$DB_COUNTS")" "SQL: each 202 has its certificate and operation"
assert_eq "$N202" "$(sed -n 2p <<<"$DB_COUNTS")" "SQL: each 202 has its audit record"

# --- (c) no half-written rows ----------------------------------------------------
# Over every certificate this test made (the 202s and whatever a killed
# request committed before its worker died).
MINE="SELECT id FROM certificates WHERE name LIKE '$RUN-%'"
TOTAL=$(t_psql "SELECT count(*) FROM ($MINE) m")
diag "certificates in the database: $TOTAL ($N202 answered 202)"
assert_true "SQL: at least the 202s are stored ($TOTAL >= $N202)" [ "$TOTAL" -ge "$N202" ]
# Name, query (counts the violations; must print 0).
CHECKS=(
	"certificate without a version"
	"SELECT count(*) FROM certificates c WHERE c.id IN ($MINE)
	 AND NOT EXISTS (SELECT 1 FROM certificate_versions v WHERE v.certificate_id = c.id)"
	"certificate without its pending operation"
	"SELECT count(*) FROM certificates c WHERE c.id IN ($MINE)
	 AND NOT EXISTS (SELECT 1 FROM pending_operations o WHERE o.certificate_id = c.id)"
	"certificate without a key"
	"SELECT count(*) FROM certificates c WHERE c.id IN ($MINE)
	 AND NOT EXISTS (SELECT 1 FROM keys k WHERE k.certificate_id = c.id)"
	"operation whose version is missing or belongs to another certificate"
	"SELECT count(*) FROM pending_operations o LEFT JOIN certificate_versions v
	 ON v.id = o.target_version_id WHERE o.certificate_id IN ($MINE)
	 AND (v.id IS NULL OR v.certificate_id <> o.certificate_id)"
	"version whose key is missing or belongs to another certificate"
	"SELECT count(*) FROM certificate_versions v LEFT JOIN keys k ON k.id = v.key_id
	 WHERE v.certificate_id IN ($MINE) AND (k.id IS NULL OR k.certificate_id <> v.certificate_id)"
	"version without its certificate"
	"SELECT count(*) FROM certificate_versions v
	 WHERE NOT EXISTS (SELECT 1 FROM certificates c WHERE c.id = v.certificate_id)"
	"orphan key (no version uses it)"
	"SELECT count(*) FROM keys k WHERE k.certificate_id IN ($MINE)
	 AND NOT EXISTS (SELECT 1 FROM certificate_versions v WHERE v.key_id = k.id)"
	"key both in keys and still in key_pool"
	"SELECT count(*) FROM keys k JOIN key_pool p ON p.key_uid = k.key_uid"
	"Self operation that is not completed with its certificate, nor Unknown one pending without"
	"SELECT count(*) FROM pending_operations o JOIN certificate_versions v
	 ON v.id = o.target_version_id WHERE o.certificate_id IN ($MINE)
	 AND NOT ((o.issuer_name = 'Self' AND o.status = 'completed' AND v.certificate_der IS NOT NULL)
	       OR (o.issuer_name = 'Unknown' AND o.status = 'inProgress' AND v.certificate_der IS NULL))"
	"certificate with more than one version (each name was created once)"
	"SELECT count(*) FROM (SELECT certificate_id FROM certificate_versions
	 WHERE certificate_id IN ($MINE) GROUP BY certificate_id HAVING count(*) > 1) x"
)
CHECKS+=(unaudited "SELECT count(*) FROM certificates c WHERE c.id IN ($MINE)
	AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.object_name = c.name)")
# One session; no nested loops: the tables have just grown by thousands of
# rows that autovacuum has not analyzed yet, and the plans made for the
# old statistics take minutes.
t1=$(now_ms)
mapfile -t RESULTS < <(
	{
		echo 'SET enable_nestloop = off;'
		for ((i = 1; i < ${#CHECKS[@]}; i += 2)); do printf '%s;\n' "${CHECKS[$i]}"; done
	} | psql -X -q -v ON_ERROR_STOP=1 -tA -d "$CERTVAULT_DATABASE_URL" 2>&1
)
# unaudited too: the audit row is written ('started') before the handler
# runs, so a worker killed at any point leaves no stored change off the record.
for ((i = 0; i < ${#CHECKS[@]}; i += 2)); do
	assert_eq 0 "${RESULTS[$((i / 2))]:-}" "SQL: no ${CHECKS[$i]}"
done
diag "SQL checks in $(($(now_ms) - t1)) ms"
diag "audit rows left 'started' by killed workers: $(t_psql "SELECT count(*) FROM audit_log a JOIN certificates c ON c.name = a.object_name WHERE c.id IN ($MINE) AND a.outcome = 'started'" 2>/dev/null)"

# --- afterwards: every worker serves ---------------------------------------------
statuses=
for i in $(seq 1 $((3 * NWORKERS))); do
	kv_curl GET "$LIST"
	statuses+="$KV_STATUS "
done
assert_eq "$(printf '200 %.0s' $(seq 1 $((3 * NWORKERS))))" "$statuses" \
	"afterwards: $((3 * NWORKERS)) requests in a row answer 200"
assert_no_match "FATAL|ERROR pid=" "$NEWLOG" "certvault-fcgi logged no error"

t_done
