#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/assert_true
# PostgreSQL goes away and comes back: requests during the outage get a
# prompt 503 with a Key Vault-shaped error (no hang, no dead worker); after
# the restart the same workers reconnect by themselves, without any restart
# of certvault-fcgi.
. "$(dirname "$0")/lib.sh"

LIST='/certificates?api-version=7.5'
# Whatever happens, leave the database (and the rest) running.
t_on_exit 'stack_restore >/dev/null 2>&1'

kv_curl GET "$LIST"
assert_status 200 "before: GET /certificates 200" || bail "the stack is not healthy"

MASTER=$(master_pid)
WORKERS=$(children "$MASTER" | tr '\n' ' ')
diag "master $MASTER, workers $WORKERS"
assert_ne "" "$WORKERS" "certvault-fcgi master has workers"
WORKER_DAEMON=$(cv_pid_of "$CERTVAULT_WORKER_PIDFILE")

cv_pg_stop 2>/dev/null
assert_true "PostgreSQL stopped" eval '! cv_pg_running'

# Several requests, so that every worker meets the outage (each holds its
# own connection).
for i in 1 2 3 4 5 6; do
	KV_MAX_TIME=10 kv_curl GET "$LIST"
	assert_kv_error 503 ServiceUnavailable "" "outage, request $i: 503 ServiceUnavailable"
	assert_true "outage, request $i: answered in ${KV_TIME}s (< 5s)" \
		awk -v t="$KV_TIME" 'BEGIN { exit !(t < 5) }'
done

KV_MAX_TIME=10 kv_curl GET /healthz
assert_status 503 "outage: /healthz 503"
assert_json . '{"status":"unavailable","database":"unreachable"}' "outage: /healthz body"
assert_json_type "outage: /healthz is JSON"

KV_TOKEN='' KV_MAX_TIME=10 kv_curl GET "$LIST"
assert_status 503 "outage: no token → 503 (the vault cannot be resolved), not a hang"

assert_eq "$WORKERS" "$(children "$MASTER" | tr '\n' ' ')" "outage: no worker died or was replaced"

cv_pg_start 2>/dev/null
assert_true "PostgreSQL started again" cv_pg_running

# Bounded: at most 20 s for the first 200.
recovered() {
	KV_MAX_TIME=5 kv_curl GET "$LIST"
	[ "$KV_STATUS" = 200 ]
}
t0=$(now_ms)
if wait_until 20 recovered; then
	ok "after restart: GET /certificates 200 again within $(($(now_ms) - t0)) ms"
else
	fail "after restart: GET /certificates 200 again within 20 s" "last status $KV_STATUS: $KV_BODY"
fi
assert_list "after restart: empty list"

# Every worker serves again (each reconnects on its own).
statuses=
for i in $(seq 1 12); do
	kv_curl GET "$LIST"
	statuses+="$KV_STATUS "
done
assert_eq "$(printf '200 %.0s' $(seq 1 12))" "$statuses" "after restart: 12 requests in a row answer 200"
KV_TOKEN='' kv_curl GET /healthz
assert_json . '{"status":"ok","database":"ok"}' "after restart: /healthz ok"

assert_eq "$MASTER" "$(master_pid)" "certvault-fcgi master pid unchanged"
assert_true "certvault-fcgi master still running" cv_proc_alive "$MASTER"
assert_eq "$WORKERS" "$(children "$MASTER" | tr '\n' ' ')" "the same workers reconnected (none replaced)"
if [ -n "$WORKER_DAEMON" ]; then
	assert_true "certvault-worker survived the outage" cv_proc_alive "$WORKER_DAEMON"
fi

# The outage is in the logs, and every event is one line (libpq's error
# messages carry line breaks of their own).
FCGI_LOG=$CERTVAULT_HOME/log/certvault-fcgi.log
assert_match "WARNING pid=[0-9]+ (lost database connection|could not connect to database)" \
	"$(cat "$FCGI_LOG")" "certvault-fcgi logged the outage"
assert_match "INFO pid=[0-9]+ database connection restored" "$(cat "$FCGI_LOG")" \
	"certvault-fcgi logged the reconnection"
LINE_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z (DEBUG|INFO|WARNING|ERROR|FATAL) pid=[0-9]+ [^ ]'
for f in certvault-fcgi.log certvault-worker.log; do
	[ -e "$CERTVAULT_HOME/log/$f" ] || continue
	bad=$(grep -v -E "$LINE_RE" "$CERTVAULT_HOME/log/$f" | head -n 3)
	assert_eq "" "$bad" "$f: one line per event (timestamp LEVEL pid=N message)"
done

t_done
