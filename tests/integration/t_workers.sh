#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/assert_true
# The pre-forking master: a worker killed with SIGKILL is replaced and the
# service keeps answering; SIGHUP replaces every worker; a worker is
# recycled after --max-requests; SIGTERM stops the master cleanly (exit 0,
# socket removed).
. "$(dirname "$0")/lib.sh"

LIST='/certificates?api-version=7.5'
FCGI_LOG=$CERTVAULT_HOME/log/certvault-fcgi.log
t_on_exit 'stack_restore >/dev/null 2>&1'

# n_ok N: N requests through lighttpd; prints the statuses that were not 200.
n_ok() {
	local i bad=
	for i in $(seq 1 "$1"); do
		kv_curl GET "$LIST"
		[ "$KV_STATUS" = 200 ] || bad+="#$i:$KV_STATUS "
	done
	printf '%s' "$bad"
}

MASTER=$(master_pid)
if [ -z "$MASTER" ] || ! cv_proc_alive "$MASTER"; then bail "no certvault-fcgi master running"; fi
NWORKERS=$(sed -n 's/^workers *= *\([0-9]*\).*/\1/p' "$CERTVAULT_CONFIG")
NWORKERS=${NWORKERS:-4}
BEFORE=$(children "$MASTER")
assert_eq "$NWORKERS" "$(printf '%s\n' "$BEFORE" | grep -c .)" \
	"master $MASTER runs $NWORKERS workers (workers = $NWORKERS in the config)"

# --- kill -9 one worker ------------------------------------------------------
VICTIM=$(printf '%s\n' "$BEFORE" | head -n 1)
kill -KILL "$VICTIM"
replaced() {
	local now
	now=$(children "$MASTER")
	[ "$(printf '%s\n' "$now" | grep -c .)" -eq "$NWORKERS" ] &&
		! printf '%s\n' "$now" | grep -qx "$VICTIM"
}
if wait_until 5 replaced; then
	ok "killed worker $VICTIM replaced within 5 s"
else
	fail "killed worker $VICTIM replaced within 5 s" "children now: $(children "$MASTER" | tr '\n' ' ')"
fi
AFTER=$(children "$MASTER")
NEW=$(comm -13 <(printf '%s\n' "$BEFORE" | sort) <(printf '%s\n' "$AFTER" | sort) | tr '\n' ' ')
assert_match '^[0-9]+ $' "$NEW" "exactly one new worker pid ($NEW)"
assert_eq "$(printf '%s\n' "$BEFORE" | grep -vx "$VICTIM" | sort)" \
	"$(comm -12 <(printf '%s\n' "$BEFORE" | sort) <(printf '%s\n' "$AFTER" | sort))" \
	"the other workers were left alone"
assert_eq "" "$(n_ok 20)" "20 consecutive requests after the kill all answer 200"
assert_match "WARNING pid=$MASTER worker $VICTIM killed by signal 9" "$(cat "$FCGI_LOG")" \
	"the master logged the killed worker"
assert_eq "$MASTER" "$(master_pid)" "master pid unchanged"

# --- SIGHUP: every worker replaced -----------------------------------------
BEFORE=$(children "$MASTER")
kill -HUP "$MASTER"
all_new() {
	local now p
	now=$(children "$MASTER")
	[ "$(printf '%s\n' "$now" | grep -c .)" -eq "$NWORKERS" ] || return 1
	for p in $BEFORE; do
		printf '%s\n' "$now" | grep -qx "$p" && return 1
	done
	return 0
}
if wait_until 10 all_new; then
	ok "SIGHUP: all $NWORKERS workers replaced within 10 s"
else
	fail "SIGHUP: all $NWORKERS workers replaced within 10 s" \
		"before: $(printf '%s\n' "$BEFORE" | tr '\n' ' ')" "now: $(children "$MASTER" | tr '\n' ' ')"
fi
assert_match "INFO pid=$MASTER configuration reloaded; replacing workers" "$(cat "$FCGI_LOG")" \
	"SIGHUP: reload logged"
assert_eq "" "$(n_ok 20)" "SIGHUP: 20 requests afterwards all answer 200"
assert_eq "$MASTER" "$(master_pid)" "SIGHUP: master pid unchanged"

# --- recycling after --max-requests, on a private master ----------------------
fcgi_private_start recycle --workers 1 --max-requests 5
assert_true "private certvault-fcgi listens on its own socket" test -S "$PRIV_SOCK"
assert_eq "$PRIV_PID" "$(cv_pid_of "$PRIV_PIDFILE")" "--pid-file names the master"
W1=$(children "$PRIV_PID")
assert_match '^[0-9]+$' "$W1" "private master runs one worker"
statuses=
for i in 1 2 3 4; do
	fcgi_req "$PRIV_SOCK" GET "$LIST" </dev/null
	statuses+="$FCGI_STATUS "
done
assert_eq "200 200 200 200 " "$statuses" "requests 1-4 through cgi-fcgi: 200"
assert_list "cgi-fcgi: the list"
assert_eq "$W1" "$(children "$PRIV_PID")" "after 4 requests: the same worker"
fcgi_req "$PRIV_SOCK" GET "$LIST" </dev/null
assert_eq 200 "$FCGI_STATUS" "request 5: 200"
recycled() {
	local now
	now=$(children "$PRIV_PID")
	[ -n "$now" ] && [ "$now" != "$W1" ]
}
if wait_until 5 recycled; then
	ok "after 5 requests the worker was recycled ($W1 -> $(children "$PRIV_PID"))"
else
	fail "after 5 requests the worker was recycled" "children: $(children "$PRIV_PID")"
fi
assert_true "the recycled worker is gone" eval "! cv_proc_alive $W1"
assert_match "INFO pid=$W1 worker recycled after 5 requests" "$(cat "$PRIV_LOG")" \
	"recycling logged"
assert_no_match "WARNING" "$(cat "$PRIV_LOG")" "recycling is no failure (no warning)"
W2=$(children "$PRIV_PID")
fcgi_req "$PRIV_SOCK" GET "$LIST" </dev/null
assert_eq 200 "$FCGI_STATUS" "the new worker answers 200"

# --- SIGTERM: exit 0, socket removed ----------------------------------------
kill -TERM "$PRIV_PID"
wait_exit "$PRIV_PID" 15
assert_eq 0 "$WAIT_RC" "SIGTERM: private master exits 0"
assert_true "SIGTERM: socket removed" test ! -e "$PRIV_SOCK"
assert_true "SIGTERM: pid file removed" test ! -e "$PRIV_PIDFILE"
assert_true "SIGTERM: its worker $W2 is gone" eval "! cv_proc_alive $W2"
assert_match "INFO pid=$PRIV_PID stopped" "$(cat "$PRIV_LOG")" "SIGTERM: 'stopped' logged"

# The shared service is still fine.
assert_eq "" "$(n_ok 5)" "shared stack still answers 200"

t_done
