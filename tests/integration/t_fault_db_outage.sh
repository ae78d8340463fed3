#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run in the background and through wait_until
# PostgreSQL stopped for 10 s under load (issue 9, faults). t_db_restart
# covers a short restart with single requests; here a bounded load of
# reads, /healthz and creates runs through lighttpd while the database is
# away:
#   - every answer is either a success of a request that began before the
#     stop (or after the database came back) or a Key Vault-shaped 503
#     {"error":{"code":"ServiceUnavailable",…}} with Retry-After (/healthz:
#     its own 503 body, with Retry-After too); nothing else, no curl error;
#   - no request waits longer than the configured bound, request_timeout
#     + 2 s (README, configuration); the figures are printed;
#   - certvault answers 200 again within 2 s of PostgreSQL accepting
#     connections (pg_isready), and every certvault-fcgi worker serves
#     again soon after, the same processes (no restart); printed;
#   - afterwards: no half-written rows (SQL), every create answered 202
#     is readable, certvault-worker (frozen with SIGSTOP while a LocalCA
#     operation was created, woken into the outage) is the same process
#     and completes that operation;
#   - a frozen PostgreSQL (SIGSTOP: connections stay open, nothing
#     answers — as a server whose host or network is gone) costs a
#     request of a private certvault-fcgi with request_timeout = 2 at most
#     its bound, 4 s, instead of hanging until the server wakes up.
. "$(dirname "$0")/lib.sh"

API=7.5
P=tfo-$(cv_random_hex 3)
HOST=$CERTVAULT_VAULT_HOST
PORT=$CERTVAULT_HTTPS_PORT
OUTAGE=10	# seconds PostgreSQL stays down
RECOVERY_MAX_MS=2000	# the issue's requirement
RT=$(sed -n 's/^request_timeout *= *//p' "$CERTVAULT_CONFIG")
BOUND=$((${RT:-30} + 2))	# README: request_timeout + 2 s
FCGI_LOG=$CERTVAULT_HOME/log/certvault-fcgi.log
WORKER_LOG=$CERTVAULT_HOME/log/certvault-worker.log
PG_ISREADY=$(cv_pg_bindir)/pg_isready
WORKER_PID=$(cv_pid_of "$CERTVAULT_WORKER_PIDFILE")
PG_FROZEN=

# Whatever happens: PostgreSQL thawed and running, our rows gone, every
# piece of the stack running again (the worker woken if it was frozen).
t_on_exit "t_psql \"DELETE FROM certificates WHERE name LIKE '$P-%'\" >/dev/null 2>&1; t_psql \"DELETE FROM issuers WHERE name LIKE '$P-%'\" >/dev/null 2>&1"
t_on_exit 'stack_restore >/dev/null 2>&1'
t_on_exit '[ -n "$WORKER_PID" ] && kill -CONT "$WORKER_PID" 2>/dev/null; [ -n "$PG_FROZEN" ] && kill -CONT $PG_FROZEN 2>/dev/null; true'
LOAD_PIDS=
t_on_exit 'touch "$T_TMP/stop"; [ -z "$LOAD_PIDS" ] || wait $LOAD_PIDS 2>/dev/null'

# Milliseconds, from bash itself (no fork per request).
ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

(umask 077 && printf 'Authorization: Bearer %s\n' "$CERTVAULT_TOKEN" >"$T_TMP/auth")

# one KIND PATH [CURL_ARG...]: one request; prints the record
#   KIND START_MS END_MS STATUS RETRY_AFTER SHAPE PATH
# SHAPE: ok (200/202), kv503 (exactly {"error":{"code":"ServiceUnavailable",
# "message":…}}), health503 (/healthz's 503 body), else the first 80 bytes.
one() {
	local kind=$1 path=$2 body=$T_TMP/body.$BASHPID t0 t1 out status ra shape b
	shift 2
	t0=$(ms)
	out=$(curl -sS -o "$body" -w '%{http_code} %header{retry-after}' --max-time $((BOUND + 5)) \
		--cacert "$CERTVAULT_CA" --resolve "$HOST:$PORT:127.0.0.1" -H "@$T_TMP/auth" \
		"$@" "https://$HOST:$PORT$path" 2>/dev/null)
	t1=$(ms)
	status=${out%% *}
	ra=${out#* }
	[ -n "$ra" ] || ra=-
	b=$(<"$body") 2>/dev/null
	if [ "$status" = 200 ] || [ "$status" = 202 ]; then
		shape=ok
	elif [[ $b =~ ^\{\"error\":\{\"code\":\"ServiceUnavailable\",\"message\":\"[^\"]+\"\}\}$ ]]; then
		shape=kv503
	elif [ "$b" = '{"status":"unavailable","database":"unreachable"}' ]; then
		shape=health503
	else
		b=${b//[[:space:]]/_}
		shape=${b:0:80}
		[ -n "$shape" ] || shape=empty
	fi
	echo "$kind $t0 $t1 ${status:-000} $ra $shape $path"
}

# Load loops: bounded in count and time, stopped by $T_TMP/stop.
reader() {
	local n=0 end=$(($(ms) + 60000))
	while [ ! -e "$T_TMP/stop" ] && [ "$n" -lt 3000 ] && [ "$(ms)" -lt "$end" ]; do
		n=$((n + 1))
		case $((n % 4)) in
			0) one health /healthz ;;
			1) one list "/certificates?api-version=$API&maxresults=5" ;;
			*) one read "/certificates/$P-seed?api-version=$API" ;;
		esac
		sleep 0.01
	done >"$T_TMP/rec.$1"
}
creator() {
	local n=0 end=$(($(ms) + 60000))
	while [ ! -e "$T_TMP/stop" ] && [ "$n" -lt 3000 ] && [ "$(ms)" -lt "$end" ]; do
		n=$((n + 1))
		one create "/certificates/$P-c$1-$n/create?api-version=$API" -H 'Content-Type: application/json' \
			--data-binary "{\"policy\":{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\"},\"x509_props\":{\"subject\":\"CN=$P-c$1-$n\"},\"issuer\":{\"name\":\"Self\"}}}"
		sleep 0.01
	done >"$T_TMP/rec.c$1"
}

create() {
	kv_send POST "/certificates/$1/create?api-version=$API" "{\"policy\":{
		\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\"},
		\"x509_props\":{\"subject\":\"CN=$1.example\"},
		\"issuer\":{\"name\":\"$2\"}}}"
}

# --- before ----------------------------------------------------------------------
kv_curl GET /healthz
assert_status 200 "before: /healthz 200" || bail "the stack is not healthy"
assert_eq "" "$(kv_header Retry-After)" "before: no Retry-After on a 200"
create "$P-seed" Self
assert_status 202 "before: create the certificate the readers read" || bail "cannot create"
kv_send PUT "/certificates/issuers/$P-ca?api-version=$API" '{"provider":"LocalCA"}'
assert_status 200 "before: a LocalCA issuer" || bail "cannot make the issuer"
MASTER=$(master_pid)
WORKERS=$(children "$MASTER" | tr '\n' ' ')
NW=$(echo "$WORKERS" | wc -w)
diag "certvault-fcgi master $MASTER, $NW workers: $WORKERS; certvault-worker ${WORKER_PID:-none}"
diag "bound on any request's wait for the database: request_timeout ${RT:-30} + 2 = $BOUND s"

reader 1 &
LOAD_PIDS+=" $!"
reader 2 &
LOAD_PIDS+=" $!"
creator 1 &
LOAD_PIDS+=" $!"
sleep 2

# The background worker is frozen while a LocalCA operation is created, so
# that the operation waits across the outage, and woken into it.
[ -n "$WORKER_PID" ] && kill -STOP "$WORKER_PID"
create "$P-async" "$P-ca"
assert_status 202 "before: create with the LocalCA issuer: 202"
assert_json -r .status inProgress "… inProgress (certvault-worker is frozen)"
WLOG_OFF=$(stat -c %s "$WORKER_LOG" 2>/dev/null || echo 0)
FLOG_OFF=$(stat -c %s "$FCGI_LOG" 2>/dev/null || echo 0)

# --- the outage --------------------------------------------------------------------
T_STOP0=$(ms)
cv_pg_stop 2>/dev/null
T_STOP1=$(ms)
assert_true "PostgreSQL stopped ($((T_STOP1 - T_STOP0)) ms)" eval '! cv_pg_running'
[ -n "$WORKER_PID" ] && kill -CONT "$WORKER_PID"
sleep "$OUTAGE"
# Outside the load: one request of each kind, looked at closely.
kv_curl GET "/certificates/$P-seed?api-version=$API"
assert_kv_error 503 ServiceUnavailable "" "outage: GET certificate"
assert_match '^[1-9][0-9]*$' "$(kv_header Retry-After)" "outage: … with Retry-After ($(kv_header Retry-After) s)"
KV_TOKEN='' kv_curl GET /healthz
assert_status 503 "outage: /healthz 503"
assert_json . '{"status":"unavailable","database":"unreachable"}' "outage: /healthz body"
assert_match '^[1-9][0-9]*$' "$(kv_header Retry-After)" "outage: /healthz with Retry-After"

# --- back ----------------------------------------------------------------------------
# The moment PostgreSQL accepts connections again: its own log line
# (log_line_prefix %m: milliseconds), else pg_isready's first success.
(until "$PG_ISREADY" -q -h 127.0.0.1 -p "$CERTVAULT_PGPORT" -t 1 >/dev/null 2>&1; do sleep 0.02; done
	ms >"$T_TMP/ready") &
watcher=$!
PGLOG=$CERTVAULT_HOME/log/postgresql.log
PGLOG_OFF=$(stat -c %s "$PGLOG" 2>/dev/null || echo 0)
T_START0=$(ms)
cv_pg_start 2>/dev/null
T_START1=$(ms)
wait "$watcher"
T_READY=$(cat "$T_TMP/ready")
line=$(tail -c +"$((PGLOG_OFF + 1))" "$PGLOG" | grep 'database system is ready to accept connections' | tail -n 1)
if [[ $line =~ ^([0-9-]+\ [0-9:.]+\ [A-Z]+) ]] && t=$(date -d "${BASH_REMATCH[1]}" +%s%3N 2>/dev/null); then
	diag "PostgreSQL's log: ready at +$((t - T_START0)) ms; pg_isready: +$((T_READY - T_START0)) ms"
	T_READY=$t
fi
assert_true "PostgreSQL started (cv_pg_start: $((T_START1 - T_START0)) ms; accepting connections after $((T_READY - T_START0)) ms)" cv_pg_running

# Every certvault-fcgi worker answers a 200 again: from its access log
# lines after the stop (a 200 there is after the database came back).
served_pids() {
	tail -c +"$((FLOG_OFF + 1))" "$FCGI_LOG" | grep -E 'access .*status=(200|202)' |
		sed -n 's/.* pid=\([0-9]*\) .*/\1/p' | sort -u | tr '\n' ' '
}
all_served() {
	local p s
	s=" $(served_pids)"
	for p in $WORKERS; do [[ $s == *" $p "* ]] || return 1; done
}
if wait_until 10 all_served; then T_ALL=$(ms); else T_ALL=; fi
sleep 2
touch "$T_TMP/stop"
wait $LOAD_PIDS
LOAD_PIDS=
cat "$T_TMP"/rec.* >"$T_TMP/all"

# --- what the load saw ----------------------------------------------------------------
total=$(wc -l <"$T_TMP/all")
during=$(awk -v a="$T_STOP1" -v b="$T_START0" '$2 >= a && $3 <= b' "$T_TMP/all" | wc -l)
diag "load: $total requests, $during of them begun and answered while PostgreSQL was down"
diag "statuses: $(awk '{print $1 ":" $4}' "$T_TMP/all" | sort | uniq -c | tr -s ' ' | tr '\n' ',')"
assert_true "the load ran before, during and after the outage ($total requests, $during during)" \
	test "$during" -ge 20
bad=$(awk -v s="$T_STOP1" -v r="$T_START0" '
	$6 == "ok" && $2 >= s && $3 <= r { print "success while down: " $0; next }
	$6 == "ok" { next }
	$4 == 503 && ($6 == "kv503" || ($1 == "health" && $6 == "health503")) {
		if ($5 !~ /^[1-9][0-9]*$/) print "503 without Retry-After: " $0
		next }
	{ print "unexpected: " $0 }' "$T_TMP/all" | head -n 5)
assert_eq "" "$bad" "every answer: a success outside the outage, or 503 ServiceUnavailable (Key Vault error; /healthz: its body) with Retry-After"
n503=$(awk '$4 == 503' "$T_TMP/all" | wc -l)
assert_true "the load met the outage: $n503 answers 503" test "$n503" -gt 0
ra=$(awk '$4 == 503 { print $5 }' "$T_TMP/all" | sort -u | tr '\n' ' ')
diag "Retry-After values on 503: $ra"
max_all=$(awk 'BEGIN { m = 0 } { if ($3 - $2 > m) m = $3 - $2 } END { print m }' "$T_TMP/all")
max_down=$(awk -v s="$T_STOP0" -v r="$T_READY" 'BEGIN { m = 0 } $3 >= s && $2 <= r { if ($3 - $2 > m) m = $3 - $2 } END { print m }' "$T_TMP/all")
diag "latency: max $max_all ms over the whole run, max $max_down ms of requests that overlapped the outage"
assert_true "no request waited longer than the bound (max $max_all ms ≤ $BOUND s)" test "$max_all" -le $((BOUND * 1000))

# Recovery: the first success of a request begun after the stop.
first_ok=$(awk -v s="$T_STOP1" '$6 == "ok" && $2 >= s { print $3 }' "$T_TMP/all" | sort -n | head -n 1)
if [ -n "$first_ok" ]; then
	rec=$((first_ok - T_READY))
	[ "$rec" -lt 0 ] && rec=0
	diag "recovery: first success $rec ms after PostgreSQL accepted connections ($((first_ok - T_START1)) ms after cv_pg_start returned)"
	assert_true "service back within ${RECOVERY_MAX_MS} ms of the database ($rec ms)" test "$rec" -le "$RECOVERY_MAX_MS"
else
	fail "service back after the outage" "no success after the stop"
fi
if [ -n "$T_ALL" ]; then
	diag "all $NW certvault-fcgi workers served a 200 within $((T_ALL - T_READY)) ms of the database"
	ok "every certvault-fcgi worker serves again"
else
	fail "every certvault-fcgi worker serves again within 10 s" "served: $(served_pids); workers: $WORKERS"
fi
assert_eq "$MASTER" "$(master_pid)" "certvault-fcgi master unchanged (no restart)"
assert_eq "$WORKERS" "$(children "$MASTER" | tr '\n' ' ')" "… and the same workers"

# --- afterwards: data ----------------------------------------------------------------------
kv_curl GET /healthz
assert_status 200 "after: /healthz 200"
created=$(awk '$1 == "create" && $6 == "ok" { sub(/\/create\?.*/, "", $7); sub(/^\/certificates\//, "", $7); print $7 }' "$T_TMP/all")
ncreated=$(printf '%s\n' "$created" | grep -c .)
c503=$(awk '$1 == "create" && $4 == 503' "$T_TMP/all" | wc -l)
diag "creates: $ncreated answered 202, $c503 answered 503"
assert_true "creates succeeded before and after the outage ($ncreated)" test "$ncreated" -ge 5
urls=()
for n in $created; do urls+=(-o /dev/null "https://$HOST:$PORT/certificates/$n?api-version=$API"); done
# One curl, one connection: all the GETs.
readable=$(curl -sS --cacert "$CERTVAULT_CA" --resolve "$HOST:$PORT:127.0.0.1" -H "@$T_TMP/auth" \
	-w '%{http_code}\n' "${urls[@]}" 2>/dev/null | grep -c '^200$')
assert_eq "$ncreated" "$readable" "every create answered 202 is readable (GET 200)"
# No half-written rows: every certificate has a version, every version its
# key, every key a version, every pending operation its version and an
# end state or inProgress; no Self operation left in progress.
assert_eq 0 "$(t_psql "SELECT count(*) FROM certificates c WHERE c.name LIKE '$P-%'
	AND NOT EXISTS (SELECT 1 FROM certificate_versions v WHERE v.certificate_id = c.id)")" \
	"SQL: every certificate has a version"
assert_eq 0 "$(t_psql "SELECT count(*) FROM keys k JOIN certificates c ON c.id = k.certificate_id
	WHERE c.name LIKE '$P-%' AND NOT EXISTS (SELECT 1 FROM certificate_versions v WHERE v.key_id = k.id)")" \
	"SQL: every key belongs to a version"
assert_eq 0 "$(t_psql "SELECT count(*) FROM pending_operations o JOIN certificates c ON c.id = o.certificate_id
	WHERE c.name LIKE '$P-%' AND NOT EXISTS (SELECT 1 FROM certificate_versions v
	WHERE v.id = o.target_version_id AND v.certificate_id = c.id)")" \
	"SQL: every pending operation has its version"
assert_eq 0 "$(t_psql "SELECT count(*) FROM pending_operations o JOIN certificates c ON c.id = o.certificate_id
	WHERE c.name LIKE '$P-c%' AND o.status <> 'completed'")" \
	"SQL: every Self operation is completed"
rows=$(t_psql "SELECT count(*) FROM certificates WHERE name LIKE '$P-c%'")
diag "certificates of the load in the database: $rows (a create whose answer was lost with its connection may be there too)"
assert_true "SQL: every create answered 202 is in the database" test "$rows" -ge "$ncreated"

# --- afterwards: certvault-worker -------------------------------------------------------------
if [ -n "$WORKER_PID" ]; then
	assert_true "certvault-worker survived the outage (pid $WORKER_PID)" cv_proc_alive "$WORKER_PID"
	assert_match "WARNING pid=$WORKER_PID (could not connect to database|lost database connection)" \
		"$(tail -c +"$((WLOG_OFF + 1))" "$WORKER_LOG")" "certvault-worker met the outage (its log)"
	done_op() {
		kv_curl GET "/certificates/$P-async/pending?api-version=$API"
		[ "$(printf '%s' "$KV_BODY" | jq -r .status 2>/dev/null)" = completed ]
	}
	t0=$(ms)
	if wait_until 30 done_op; then
		ok "certvault-worker completed the LocalCA operation created before the outage ($(($(ms) - t0)) ms after the checks began)"
	else
		fail "certvault-worker completed the LocalCA operation" "$KV_BODY"
	fi
	kv_curl GET "/certificates/$P-async?api-version=$API"
	assert_status 200 "… and its certificate is there"
	assert_eq 1 "$(t_psql "SELECT count(*) FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id
		WHERE c.name = '$P-async' AND v.certificate_der IS NOT NULL")" "… one issued version, once"
else
	diag "the stack's certvault-worker is not running: skipping its checks"
fi

# --- a frozen PostgreSQL ----------------------------------------------------------------------
cp "$CERTVAULT_CONFIG" "$T_TMP/short.conf"
sed -i '/^request_timeout/d' "$T_TMP/short.conf"
echo 'request_timeout = 2' >>"$T_TMP/short.conf"
fcgi_private_start short --config "$T_TMP/short.conf" --workers 2
cv_wait_for 10 "the private socket" test -S "$PRIV_SOCK" || bail "the private certvault-fcgi did not start"
fcgi_req "$PRIV_SOCK" GET "/certificates/$P-seed?api-version=$API" </dev/null
assert_status 200 "private certvault-fcgi (request_timeout = 2): 200"
PM=$(cv_pid_of "$CERTVAULT_PGDATA/postmaster.pid")
PG_FROZEN="$PM $(pgrep -P "$PM" | tr '\n' ' ')"
kill -STOP $PG_FROZEN
# Two at once (each worker's open connection), then one more (a new
# connection to the frozen server).
frozen_req() {
	local t0
	t0=$(ms)
	FCGI_OUT=$T_TMP/frozen.$1 fcgi_req "$PRIV_SOCK" GET "/certificates/$P-seed?api-version=$API" </dev/null
	echo "$FCGI_STATUS|$(($(ms) - t0))|$(printf '%s\n' "$FCGI_HEADERS" | sed -n 's/^Retry-After: //p')|$(printf '%s' "$FCGI_BODY" | jq -r .error.code 2>/dev/null)" \
		>"$T_TMP/frozen.$1.res"
}
frozen_req 1 &
f1=$!
frozen_req 2 &
f2=$!
wait "$f1" "$f2"
frozen_req 3
kill -CONT $PG_FROZEN
PG_FROZEN=
for i in 1 2 3; do
	IFS='|' read -r st took ra code <"$T_TMP/frozen.$i.res"
	diag "frozen database, request $i: $st in $took ms, Retry-After ${ra:-none}, $code"
	assert_eq "503 ServiceUnavailable" "$st $code" "frozen database, request $i: 503 ServiceUnavailable"
	assert_true "… with Retry-After" test -n "$ra"
	assert_true "… within the bound, 2 + 2 s (+0.5 s): $took ms" test "$took" -le 4500
done
assert_match "no answer from the database within request_timeout; connection dropped" "$(cat "$PRIV_LOG")" \
	"the private certvault-fcgi logged the dropped connection"
thawed() {
	fcgi_req "$PRIV_SOCK" GET "/certificates/$P-seed?api-version=$API" </dev/null
	[ "$FCGI_STATUS" = 200 ]
}
t0=$(ms)
if wait_until 10 thawed; then ok "thawed: 200 again after $(($(ms) - t0)) ms"; else fail "thawed: 200 again" "$FCGI_STATUS $FCGI_BODY"; fi

t_done
