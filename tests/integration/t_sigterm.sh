#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/assert_true
# SIGTERM while a request is in flight: the request completes with a full
# response, then the master exits 0 within shutdown_timeout. Once on a
# private certvault-fcgi (a request whose body arrives late, through
# cgi-fcgi), once on the shared one through lighttpd (a request blocked on
# a PostgreSQL lock), after which the shared certvault-fcgi is restarted.
. "$(dirname "$0")/lib.sh"

LIST='/certificates?api-version=7.5'
FCGI_LOG=$CERTVAULT_HOME/log/certvault-fcgi.log
t_on_exit 'stack_restore >/dev/null 2>&1'

# in_accept PID: the process is blocked in accept(2)/accept4(2) (x86-64
# and aarch64 syscall numbers), i.e. idle.
in_accept() {
	local nr
	nr=$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null) || return 1
	case $nr in 43 | 288 | 202 | 242) return 0 ;; esac
	return 1
}
busy() { cv_proc_alive "$1" && ! in_accept "$1"; }

# line_of REGEX FILE: number of the first line matching REGEX (or 0).
line_of() {
	local n
	n=$(grep -n -E -m 1 "$1" "$2" | cut -d: -f1)
	echo "${n:-0}"
}

# --- private master, body arriving after the SIGTERM ---------------------------
fcgi_private_start slow --workers 1
W=$(children "$PRIV_PID")
assert_match '^[0-9]+$' "$W" "private master runs one worker"
wait_until 5 in_accept "$W"
assert_true "its worker waits in accept" in_accept "$W"

# The body ({}) comes 2 s after the request started; the worker blocks
# reading it.
{ sleep 2; printf '{}'; } | {
	FCGI_OUT=$T_TMP/slow.out fcgi_req "$PRIV_SOCK" GET "$LIST" \
		CONTENT_LENGTH=2 CONTENT_TYPE=application/json
	echo "$FCGI_RC" >"$T_TMP/slow.rc"
} &
CLIENT=$!
if wait_until 5 busy "$W"; then
	ok "worker $W took the request (no longer in accept)"
else
	fail "worker $W took the request within 5 s"
fi
# Let it finish reading the FastCGI parameters (they come at once) and
# block on the body: SIGTERM is deferred only once a request is being served.
sleep 0.3
t0=$(now_ms)
kill -TERM "$PRIV_PID"
wait_exit "$PRIV_PID" 15
elapsed=$(($(now_ms) - t0))
wait "$CLIENT"
assert_eq 0 "$WAIT_RC" "SIGTERM during the request: master exits 0"
assert_true "master stopped in ${elapsed} ms (< shutdown_timeout 10 s; the body took 2 s)" \
	test "$elapsed" -lt 9000
assert_eq 0 "$(cat "$T_TMP/slow.rc" 2>/dev/null)" "cgi-fcgi exits 0"
fcgi_parse "$T_TMP/slow.out"
assert_eq 200 "$FCGI_STATUS" "the in-flight request completed: Status 200"
assert_list "the in-flight request got its full body"
assert_eq "Content-Length: $(printf '%s' "$FCGI_BODY" | wc -c)" \
	"$(printf '%s\n' "$FCGI_HEADERS" | grep '^Content-Length:')" "Content-Length matches the body received"
assert_true "worker $W is gone" eval "! cv_proc_alive $W"
assert_true "socket removed" test ! -e "$PRIV_SOCK"
stopping=$(line_of "pid=$PRIV_PID stopping: waiting for workers" "$PRIV_LOG")
served=$(line_of "pid=$W access vault=$CERTVAULT_VAULT_NAME method=GET path=/certificates status=200 duration_ms=[0-9]{4,}" "$PRIV_LOG")
stopped=$(line_of "pid=$PRIV_PID stopped$" "$PRIV_LOG")
assert_true "log: 'stopping' ($stopping) < the request's access line ($served) < 'stopped' ($stopped)" \
	test "$stopping" -gt 0 -a "$stopping" -lt "$served" -a "$served" -lt "$stopped"
assert_no_match "did not stop|killing" "$(cat "$PRIV_LOG")" "no worker had to be killed"

# --- the shared master through lighttpd, request blocked in PostgreSQL -------
MASTER=$(master_pid)
if [ -z "$MASTER" ] || ! cv_proc_alive "$MASTER"; then bail "no certvault-fcgi master running"; fi
APP=t_sigterm_lock_$$
# Authentication reads vaults: an exclusive lock held for 3 s blocks it.
printf '%s\n' 'BEGIN;' 'LOCK TABLE vaults IN ACCESS EXCLUSIVE MODE;' \
	'SELECT pg_sleep(3);' 'COMMIT;' |
	PGAPPNAME=$APP psql -X -q -v ON_ERROR_STOP=1 -d "$CERTVAULT_DATABASE_URL" \
		>"$T_TMP/lock.out" 2>&1 &
LOCKER=$!
t_on_exit "kill $LOCKER 2>/dev/null; wait $LOCKER 2>/dev/null"
locked() {
	[ "$(t_psql "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$APP' AND query LIKE '%pg_sleep%' AND state = 'active'")" = 1 ]
}
wait_until 5 locked
assert_true "a session holds an exclusive lock on vaults" locked

(
	KV_MAX_TIME=20 kv_curl GET "$LIST" -H 'x-ms-client-request-id: t-sigterm'
	printf '%s\n%s\n%s\n' "$KV_STATUS" "$KV_TIME" "$KV_BODY" >"$T_TMP/inflight"
) &
CLIENT=$!
waiting() {
	[ "$(t_psql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'certvault' AND wait_event_type = 'Lock' AND application_name <> '$APP'")" -ge 1 ]
}
if wait_until 5 waiting; then
	ok "the request through lighttpd waits for the lock inside certvault"
else
	fail "the request through lighttpd waits for the lock inside certvault"
fi
kill -TERM "$MASTER"
t0=$(now_ms)
wait_until 15 eval "! cv_proc_alive $MASTER"
elapsed=$(($(now_ms) - t0))
wait "$CLIENT"
wait "$LOCKER"
{ read -r st; read -r took; read -r body; } <"$T_TMP/inflight"
assert_eq 200 "$st" "SIGTERM to the shared master: the in-flight request answered 200 (in ${took}s)"
KV_BODY=$body assert_list "… with the full list"
assert_true "shared master exited after the request (in ${elapsed} ms, < 10 s)" \
	eval "! cv_proc_alive $MASTER && [ $elapsed -lt 10000 ]"
assert_match "INFO pid=$MASTER stopped" "$(cat "$FCGI_LOG")" "shared master logged 'stopped'"
assert_no_match "pid=$MASTER [0-9]+ workers did not stop" "$(cat "$FCGI_LOG")" \
	"shared master did not have to kill a worker"
assert_true "shared socket removed" test ! -e "$CERTVAULT_FCGI_SOCKET"

# Restore the shared certvault-fcgi.
cv_fcgi_start 2>/dev/null
cv_wait_healthy "$CV_URL"
kv_curl GET "$LIST"
assert_status 200 "restarted shared certvault-fcgi answers 200"
assert_list "restarted: empty list"

t_done
