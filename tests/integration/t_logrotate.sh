#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/assert_true
# log_file and SIGHUP, what logrotate does (apache-conf/logrotate/certvault):
# a private certvault-fcgi and a private certvault-worker, each with
# log_file in a configuration of its own, write their lines to that file
# and nothing to the stderr they were started with; the file is moved away
# and SIGHUP sent: the lines that follow go to a new file at the path,
# none is lost (requests made across the signal are all logged, in one
# file or the other), nothing keeps the moved file open, and no process
# died. A configuration that no longer loads is refused on that SIGHUP but
# the log file is reopened all the same. Then, if logrotate is installed,
# the shipped configuration (paths moved into this test's directory) does
# the same to both programs.
. "$(dirname "$0")/lib.sh"

LIST='/certificates?api-version=7.5'
WORKER_BIN=$CERTVAULT_BUILD_DIR/src/certvault-worker
P=t-logrotate-$(cv_random_hex 4)
LOGS=$T_TMP/logs
RUN=$T_TMP/run
mkdir -p "$LOGS" "$RUN"
FLOG=$LOGS/certvault-fcgi.log
WLOG=$LOGS/certvault-worker.log
t_on_exit "t_psql \"DELETE FROM certificates WHERE name LIKE '$P-%'\" >/dev/null 2>&1"
t_on_exit 'stack_restore >/dev/null 2>&1'

# private_config FILE LOG_FILE: the stack's configuration with log_file.
private_config() {
	(umask 077 && { grep -v '^ *log_file' "$CERTVAULT_CONFIG"; echo "log_file = $2"; } >"$1")
}
# n_access FILE: access lines in FILE (0 if there is none).
n_access() { grep -c ' access vault=' "$1" 2>/dev/null || true; }
# holders PATH PID...: those of the PIDs (and their children) that hold PATH open.
holders() {
	local path=$1 p q
	shift
	for p in "$@"; do
		for q in "$p" $(pgrep -P "$p"); do
			readlink "/proc/$q/fd/"* 2>/dev/null | grep -qxF "$path" && echo "$q"
		done
	done
	return 0
}
# closed PATH PID...: none of them holds PATH open.
closed() { [ -z "$(holders "$@")" ]; }
# requests N: N sequential GETs through the private socket; the statuses
# that were not 200.
requests() {
	local i bad=
	for i in $(seq 1 "$1"); do
		FCGI_OUT=$T_TMP/req.out fcgi_req "$FSOCK" GET "$LIST" </dev/null
		[ "$FCGI_STATUS" = 200 ] || bad+="#$i:$FCGI_STATUS "
	done
	printf '%s' "$bad"
}

# --- certvault-fcgi ---------------------------------------------------------------
FCONF=$T_TMP/fcgi.conf
private_config "$FCONF" "$FLOG"
FSOCK=$T_TMP/lr.sock
FSTDERR=$T_TMP/lr.stderr
t_on_exit "cv_fcgi_stop '$RUN/certvault-fcgi.pid' 2>/dev/null"
CV_CONFIG=$FCONF cv_fcgi_start "$FSOCK" "$RUN/certvault-fcgi.pid" "$FSTDERR" --workers 2
MASTER=$CV_LAST_PID
assert_eq "$MASTER" "$(cv_pid_of "$RUN/certvault-fcgi.pid")" "private certvault-fcgi runs (pid $MASTER)"
assert_eq "" "$(requests 5)" "5 requests before the rotation: 200"
assert_eq 5 "$(n_access "$FLOG")" "… 5 access lines in log_file"
assert_match "INFO pid=$MASTER listening on unix:" "$(cat "$FLOG")" "the master's start is in log_file"
assert_eq "" "$(cat "$FSTDERR")" "nothing went to the stderr it was started with"
assert_eq 640 "$(stat -c %a "$FLOG")" "log_file was created with mode 0640"
BEFORE=$(children "$MASTER")

# Requests run across the move and the signal: each is logged, in one file
# or the other.
(requests 60 >"$T_TMP/load.bad") &
LOADER=$!
at_least() { [ "$(n_access "$2")" -ge "$1" ]; }
wait_until 20 at_least 25 "$FLOG"
mv "$FLOG" "$FLOG.1"
kill -HUP "$MASTER"
wait "$LOADER"
assert_eq "" "$(cat "$T_TMP/load.bad")" "60 requests across the rotation: all 200"
replaced() {
	local now p
	now=$(children "$MASTER")
	[ "$(printf '%s\n' "$now" | grep -c .)" -eq 2 ] || return 1
	for p in $BEFORE; do printf '%s\n' "$now" | grep -qx "$p" && return 1; done
	return 0
}
if wait_until 10 replaced; then
	ok "SIGHUP: both workers replaced"
else
	fail "SIGHUP: both workers replaced" "before: $BEFORE" "now: $(children "$MASTER" | tr '\n' ' ')"
fi
assert_true "a new file is at the path" test -f "$FLOG"
assert_match "INFO pid=$MASTER log file reopened" "$(cat "$FLOG")" "the master logged the reopening in the new file"
assert_true "… of which the new file has some ($(n_access "$FLOG"))" at_least 1 "$FLOG"
assert_eq 65 "$(($(n_access "$FLOG.1") + $(n_access "$FLOG")))" \
	"none lost: 65 access lines in the moved and the new file together ($(n_access "$FLOG.1") + $(n_access "$FLOG"))"
if wait_until 10 closed "$FLOG.1" "$MASTER"; then
	ok "no process of certvault-fcgi holds the moved file open (/proc/PID/fd)"
else
	fail "no process of certvault-fcgi holds the moved file open" "held by: $(holders "$FLOG.1" "$MASTER")"
fi
assert_eq "$FLOG" "$(readlink "/proc/$MASTER/fd/2")" "the master's stderr is the new file"
W=$(children "$MASTER" | head -n 1)
assert_eq "$FLOG" "$(readlink "/proc/$W/fd/2")" "a new worker's stderr is the new file"
old=$(n_access "$FLOG.1")
new=$(n_access "$FLOG")
assert_eq "" "$(requests 10)" "10 requests after the rotation: 200"
assert_eq "$((new + 10))" "$(n_access "$FLOG")" "… all 10 logged in the new file"
assert_eq "$old" "$(n_access "$FLOG.1")" "… none in the moved file"

# A configuration that no longer loads: refused, the log reopened anyway.
echo 'no_such_setting = 1' >>"$FCONF"
BEFORE=$(children "$MASTER")
mv "$FLOG" "$FLOG.2"
kill -HUP "$MASTER"
if wait_until 10 replaced; then
	ok "SIGHUP with a broken configuration: the workers are replaced all the same"
else
	fail "SIGHUP with a broken configuration: the workers are replaced all the same" \
		"before: $BEFORE" "now: $(children "$MASTER" | tr '\n' ' ')"
fi
assert_match "ERROR pid=$MASTER configuration not reloaded" "$(cat "$FLOG" 2>/dev/null)" \
	"… the refusal is in the new file"
assert_eq "" "$(requests 5)" "… 5 requests: 200"
assert_eq 5 "$(n_access "$FLOG")" "… logged in the new file"
if wait_until 10 closed "$FLOG.2" "$MASTER"; then
	ok "… and the moved file is closed"
else
	fail "… and the moved file is closed" "held by: $(holders "$FLOG.2" "$MASTER")"
fi
private_config "$FCONF" "$FLOG"
assert_eq "$MASTER" "$(cv_pid_of "$RUN/certvault-fcgi.pid")" "the master is the same process"
assert_true "… and alive" cv_proc_alive "$MASTER"
assert_no_match "killed by signal|exited with status" "$(cat "$FLOG.1" "$FLOG.2" "$FLOG")" \
	"no worker died"

# --- certvault-worker -------------------------------------------------------------
# The stack's worker would take the purges this one logs: stopped meanwhile.
cv_worker_stop 2>/dev/null
# cert NAME: a soft-deleted certificate of the demo vault, due for purging.
cert() {
	t_psql "INSERT INTO certificates (vault_id, name, policy, deleted_at, scheduled_purge_at, recovery_id)
		SELECT id, '$P-$1', '{}', now() - interval '1 day', now() - interval '1 second', md5(random()::text)
		FROM vaults WHERE name = '$CERTVAULT_VAULT_NAME'" >/dev/null
}
gone() { [ "$(t_psql "SELECT count(*) FROM certificates WHERE name = '$P-$1'")" = 0 ]; }
n_purged() { grep -c 'job purge-expired: ' "$1" 2>/dev/null || true; }
# logged FILE: FILE has a purge line.
logged() { [ "$(n_purged "$1")" -ge 1 ]; }

WCONF=$T_TMP/worker.conf
private_config "$WCONF" "$WLOG"
"$WORKER_BIN" --config "$WCONF" --pid-file "$RUN/certvault-worker.pid" \
	>>"$T_TMP/worker.stderr" 2>&1 </dev/null &
WPID=$!
t_on_exit "kill -TERM $WPID 2>/dev/null; wait $WPID 2>/dev/null"
wait_until 5 test -s "$RUN/certvault-worker.pid"
assert_match "INFO pid=$WPID worker started" "$(cat "$WLOG" 2>/dev/null)" "certvault-worker logs to log_file"
cert a
wait_until 10 gone a
assert_true "it purged a due certificate" gone a
wait_until 3 logged "$WLOG"
assert_match "INFO pid=$WPID job purge-expired: 1 done" "$(cat "$WLOG")" "… and logged it in log_file"

mv "$WLOG" "$WLOG.1"
kill -HUP "$WPID"
if wait_until 10 test -f "$WLOG"; then
	ok "SIGHUP: a new file at the path"
else
	fail "SIGHUP: a new file at the path"
fi
assert_match "INFO pid=$WPID log file reopened" "$(cat "$WLOG" 2>/dev/null)" "… that says it was reopened"
assert_eq "" "$(holders "$WLOG.1" "$WPID")" "certvault-worker closed the moved file"
assert_eq "$WLOG" "$(readlink "/proc/$WPID/fd/2")" "its stderr is the new file"
cert b
wait_until 10 gone b
assert_true "after the rotation it purged another certificate" gone b
wait_until 3 logged "$WLOG"
assert_eq 1 "$(n_purged "$WLOG")" "… and logged it in the new file"
assert_eq 1 "$(n_purged "$WLOG.1")" "… not in the moved one"
# A burst of signals, between and inside passes: it must not die of them.
for i in 1 2 3 4 5; do kill -HUP "$WPID"; sleep 0.1; done
cert c
wait_until 10 gone c
assert_true "after 5 more SIGHUPs it still works (purged a third certificate)" gone c
assert_true "… and is alive" cv_proc_alive "$WPID"

# --- the shipped logrotate configuration -----------------------------------------
if command -v logrotate >/dev/null 2>&1; then
	# Paths into this test's directory; its own user instead of certvault;
	# the pid files, not systemd.
	sed -e "s|/var/log/certvault|$LOGS|g" -e "s|/run/certvault/|$RUN/|g" \
		-e "s|/run/systemd/system|$T_TMP/no-systemd|" \
		-e "s|certvault certvault|$(id -un) $(id -gn)|" \
		"$CERTVAULT_SRC_DIR/apache-conf/logrotate/certvault" >"$T_TMP/logrotate.conf"
	rm -f "$LOGS"/*.log.*
	fold=$(n_access "$FLOG")
	BEFORE=$(children "$MASTER")
	if logrotate --force --state "$T_TMP/logrotate.state" "$T_TMP/logrotate.conf" >"$T_TMP/logrotate.out" 2>&1; then
		ok "logrotate --force with apache-conf/logrotate/certvault: exit 0"
	else
		fail "logrotate --force with apache-conf/logrotate/certvault: exit 0" "$(cat "$T_TMP/logrotate.out")"
	fi
	assert_eq "$fold" "$(n_access "$FLOG.1")" "logrotate moved certvault-fcgi's file to .1 (delaycompress)"
	wait_until 10 replaced
	wait_until 10 grep -q "log file reopened" "$WLOG"
	assert_match "INFO pid=$MASTER log file reopened" "$(cat "$FLOG")" "its postrotate signalled certvault-fcgi"
	assert_match "INFO pid=$WPID log file reopened" "$(cat "$WLOG")" "… and certvault-worker"
	assert_eq "" "$(requests 3)" "3 requests: 200"
	assert_eq 3 "$(n_access "$FLOG")" "… logged in the new file"
	if wait_until 10 closed "$FLOG.1" "$MASTER" && closed "$WLOG.1" "$WPID"; then
		ok "… and nothing holds a rotated file open"
	else
		fail "… and nothing holds a rotated file open" \
			"fcgi: $(holders "$FLOG.1" "$MASTER")" "worker: $(holders "$WLOG.1" "$WPID")"
	fi
else
	diag "logrotate is not installed: the shipped configuration is not exercised"
fi

# --- the end: both stop cleanly, having written nothing to their stderr -----------
kill -TERM "$WPID"
wait_exit "$WPID" 10
assert_eq 0 "$WAIT_RC" "SIGTERM: certvault-worker exits 0"
assert_match "INFO pid=$WPID worker stopped" "$(cat "$WLOG")" "… 'worker stopped' in the current file"
assert_eq "" "$(cat "$T_TMP/worker.stderr")" "certvault-worker wrote nothing to the stderr it was started with"
kill -TERM "$MASTER"
wait_exit "$MASTER" 15
assert_eq 0 "$WAIT_RC" "SIGTERM: certvault-fcgi exits 0"
assert_match "INFO pid=$MASTER stopped" "$(cat "$FLOG")" "… 'stopped' in the current file"
assert_eq "" "$(cat "$FSTDERR")" "certvault-fcgi wrote nothing to the stderr it was started with"

t_done
