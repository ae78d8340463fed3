#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/assert_true
# certvault-worker: --once purges soft-deleted certificates whose retention
# has passed (and nothing else), skips rows another transaction has locked
# (FOR UPDATE SKIP LOCKED) instead of waiting, and the daemon purges rows
# as they expire and stops on SIGTERM promptly with exit 0 and a
# "worker stopped" line.
. "$(dirname "$0")/lib.sh"

WORKER_BIN=$CERTVAULT_BUILD_DIR/src/certvault-worker
WORKER_LOG=$CERTVAULT_HOME/log/certvault-worker.log
P=t-worker-$(cv_random_hex 4)
# Whatever happens: our rows go, the stack's worker runs again.
t_on_exit "t_psql \"DELETE FROM certificates WHERE name LIKE '$P-%'\" >/dev/null 2>&1"
t_on_exit 'stack_restore >/dev/null 2>&1'

# cert NAME DELETED_AGO PURGE_IN: insert a soft-deleted certificate in the
# demo vault (intervals as SQL literals, PURGE_IN may be negative).
cert() {
	t_psql "INSERT INTO certificates (vault_id, name, policy, deleted_at, scheduled_purge_at, recovery_id)
		SELECT id, '$P-$1', '{}', now() - interval '$2', now() + interval '$3', md5(random()::text)
		FROM vaults WHERE name = '$CERTVAULT_VAULT_NAME' RETURNING id" | head -n 1
}
exists() { [ "$(t_psql "SELECT count(*) FROM certificates WHERE name = '$P-$1'")" = 1 ]; }
gone() { ! exists "$1"; }

# --- the stack's worker stops promptly on SIGTERM ------------------------------
if cv_pid_running "$CERTVAULT_WORKER_PIDFILE" certvault-worker; then
	WPID=$(cv_pid_of "$CERTVAULT_WORKER_PIDFILE")
	t0=$(now_ms)
	cv_worker_stop 2>/dev/null
	took=$(($(now_ms) - t0))
	assert_true "stack's certvault-worker stopped on SIGTERM in $took ms (< 5 s)" test "$took" -lt 5000
	assert_match "INFO pid=$WPID worker stopped" "$(cat "$WORKER_LOG")" "… logging 'worker stopped'"
	assert_true "… and removing its pid file" test ! -e "$CERTVAULT_WORKER_PIDFILE"
else
	diag "the stack's certvault-worker is not running; skipping its stop check"
fi

# --- --once ----------------------------------------------------------------------
id_old=$(cert old '2 days' '-1 day')
cert due '1 hour' '-1 second' >/dev/null
id_future=$(cert future '1 day' '1 day')
assert_match '^[0-9]+$' "$id_old" "inserted a soft-deleted certificate, purge date passed"
assert_match '^[0-9]+$' "$id_future" "inserted a soft-deleted certificate, purge date ahead"
t_psql "INSERT INTO certificates (vault_id, name, policy) SELECT id, '$P-live', '{}' FROM vaults WHERE name = '$CERTVAULT_VAULT_NAME'" >/dev/null
out=$(timeout 30 "$WORKER_BIN" --config "$CERTVAULT_CONFIG" --once 2>&1)
assert_eq 0 "$?" "certvault-worker --once: exit 0"
assert_match "INFO pid=[0-9]+ job purge-expired: [0-9]+ done" "$out" "--once logs what it purged"
assert_true "--once purged the expired certificate" gone old
assert_true "--once purged the one due a second ago" gone due
assert_true "--once kept the one whose purge date is ahead" exists future
assert_true "--once kept the live certificate" exists live
t_psql "DELETE FROM certificates WHERE name = '$P-live'" >/dev/null

# --- FOR UPDATE SKIP LOCKED: a locked row is skipped, not waited for ---------------
cert locked '2 days' '-1 day' >/dev/null
APP=t_worker_lock_$$
printf '%s\n' 'BEGIN;' "SELECT id FROM certificates WHERE name = '$P-locked' FOR UPDATE;" \
	'SELECT pg_sleep(2);' 'COMMIT;' |
	PGAPPNAME=$APP psql -X -q -v ON_ERROR_STOP=1 -d "$CERTVAULT_DATABASE_URL" >/dev/null 2>&1 &
LOCKER=$!
t_on_exit "kill $LOCKER 2>/dev/null; wait $LOCKER 2>/dev/null"
locked() {
	[ "$(t_psql "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$APP' AND query LIKE '%pg_sleep%' AND state = 'active'")" = 1 ]
}
wait_until 5 locked
assert_true "another transaction holds the row lock" locked
t0=$(now_ms)
timeout 30 "$WORKER_BIN" --config "$CERTVAULT_CONFIG" --once >/dev/null 2>&1
rc=$?
took=$(($(now_ms) - t0))
assert_eq 0 "$rc" "--once while the row is locked: exit 0"
assert_true "--once did not wait for the lock ($took ms < 2 s)" test "$took" -lt 2000
assert_true "the locked row was skipped" exists locked
wait "$LOCKER"
timeout 30 "$WORKER_BIN" --config "$CERTVAULT_CONFIG" --once >/dev/null 2>&1
assert_true "once the lock is gone, --once purges it" gone locked

# --- the daemon: purges what expires while it runs, stops on SIGTERM ----------------
interval=$(sed -n 's/^worker_interval *= *\([0-9]*\).*/\1/p' "$CERTVAULT_CONFIG")
diag "worker_interval = ${interval:-5} s"
"$WORKER_BIN" --config "$CERTVAULT_CONFIG" --pid-file "$T_TMP/worker.pid" \
	>>"$T_TMP/worker.log" 2>&1 </dev/null &
DPID=$!
t_on_exit "kill -TERM $DPID 2>/dev/null; wait $DPID 2>/dev/null"
wait_until 5 test -s "$T_TMP/worker.pid"
assert_eq "$DPID" "$(cv_pid_of "$T_TMP/worker.pid")" "private certvault-worker wrote its pid file"
assert_match "INFO pid=$DPID worker started; a pass every ${interval:-[0-9]+}s" "$(cat "$T_TMP/worker.log")" \
	"… and logged its start"
sleep 0.5
cert later '1 hour' '-1 second' >/dev/null
if wait_until $((${interval:-5} * 2 + 3)) gone later; then
	ok "the running worker purged a certificate that expired after it started"
else
	fail "the running worker purged a certificate that expired after it started"
fi
assert_match "INFO pid=$DPID job purge-expired: [0-9]+ done" "$(cat "$T_TMP/worker.log")" \
	"… and logged it"
assert_true "… and kept the one whose purge date is ahead" exists future
t0=$(now_ms)
kill -TERM "$DPID"
wait_exit "$DPID" 5
took=$(($(now_ms) - t0))
assert_eq 0 "$WAIT_RC" "SIGTERM: private certvault-worker exits 0 ($took ms)"
assert_match "INFO pid=$DPID worker stopped" "$(cat "$T_TMP/worker.log")" "SIGTERM: 'worker stopped' logged"
assert_true "SIGTERM: pid file removed" test ! -e "$T_TMP/worker.pid"
LINE_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z (DEBUG|INFO|WARNING|ERROR|FATAL) pid=[0-9]+ [^ ]'
assert_eq "" "$(grep -v -E "$LINE_RE" "$T_TMP/worker.log")" "every log line is one event"

# The stack's worker runs again.
cv_worker_start 2>/dev/null
assert_true "stack's certvault-worker restarted" cv_pid_running "$CERTVAULT_WORKER_PIDFILE" certvault-worker

t_done
