#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/assert_true
# Spawned mode: certvault-fcgi started by a process manager with the
# listening socket on fd 0 (no --listen), configured from the environment.
# Once by spawn-fcgi (one process serving as a worker), once by lighttpd
# (apache-conf/lighttpd-spawn.conf.in, bin-path) on its own port; and the
# refusal to start with neither --listen nor a socket on fd 0.
. "$(dirname "$0")/lib.sh"

LIST='/certificates?api-version=7.5'
FCGI_BIN=$CERTVAULT_BUILD_DIR/src/certvault-fcgi

# --- neither --listen nor a socket on fd 0 ---------------------------------
out=$("$FCGI_BIN" --config "$CERTVAULT_CONFIG" </dev/null 2>&1)
assert_eq 1 "$?" "no --listen, fd 0 not a socket: exit 1"
assert_match "no listening socket: use --listen or start under a FastCGI process manager" \
	"$out" "… with the documented message"

# --- spawn-fcgi -n: the socket on fd 0, configuration from the environment ----
# The config file's database_url is wrong on purpose: CERTVAULT_DATABASE_URL
# from the environment must win (the shared-hosting recipe).
SPAWN_CONF=$T_TMP/spawn.conf
sed 's|^database_url *=.*|database_url = postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=2|' \
	"$CERTVAULT_CONFIG" >"$SPAWN_CONF"
SOCK=$T_TMP/spawn.sock
env -i PATH=/usr/bin:/bin CERTVAULT_CONFIG="$SPAWN_CONF" \
	CERTVAULT_DATABASE_URL="$CERTVAULT_DATABASE_URL" \
	spawn-fcgi -n -s "$SOCK" -M 0600 -- "$FCGI_BIN" \
	>>"$T_TMP/spawn.log" 2>&1 </dev/null &
SPAWNED=$!
t_on_exit "kill -TERM $SPAWNED 2>/dev/null; wait $SPAWNED 2>/dev/null"
wait_until 10 test -S "$SOCK"
assert_true "spawn-fcgi created the socket" test -S "$SOCK"
statuses=
for i in 1 2 3; do
	fcgi_req "$SOCK" GET "$LIST" </dev/null
	statuses+="$FCGI_STATUS "
done
assert_eq "200 200 200 " "$statuses" "spawned by spawn-fcgi: GET /certificates 200 (x3)"
assert_list "spawned by spawn-fcgi: empty list"
FCGI_TOKEN='' fcgi_req "$SOCK" GET "$LIST" </dev/null
assert_eq 401 "$FCGI_STATUS" "spawned by spawn-fcgi: no token → 401"
assert_match "^[0-9T:-]+Z INFO pid=$SPAWNED access vault=$CERTVAULT_VAULT_NAME method=GET path=/certificates status=200" \
	"$(cat "$T_TMP/spawn.log")" "the spawned process itself serves (it is the worker)"
assert_eq "" "$(children "$SPAWNED")" "without --workers it forks no workers"
kill -TERM "$SPAWNED"
wait_exit "$SPAWNED" 10
assert_eq 0 "$WAIT_RC" "spawned worker: SIGTERM → exit 0"

# --- lighttpd bin-path ------------------------------------------------------
PORT=$((CERTVAULT_HTTPS_PORT + 2))
L=$T_TMP/l
mkdir -p "$L/run" "$L/log" "$L/www" "$L/tmp"
cv_port_open "$PORT" && bail "port $PORT is in use"
# The repository's template, rendered for a private directory and port.
CV_STATE_DIR=$L CV_HTTPS_PORT=$PORT CV_WORKERS=2 \
	cv_render_template "$CERTVAULT_SRC_DIR/apache-conf/lighttpd-spawn.conf.in" "$L/lighttpd.conf"
assert_true "lighttpd accepts the rendered lighttpd-spawn.conf.in" \
	lighttpd -tt -f "$L/lighttpd.conf"
cv_daemon "$L/log/lighttpd.out" lighttpd -D -f "$L/lighttpd.conf"
LPID=$CV_LAST_PID
t_on_exit "kill -TERM $LPID 2>/dev/null; wait $LPID 2>/dev/null"
wait_until 15 cv_port_open "$PORT"
assert_true "lighttpd (spawn config) listens on 127.0.0.1:$PORT" cv_port_open "$PORT"

KV_PORT=$PORT kv_curl GET "$LIST"
assert_status 200 "through lighttpd bin-path: GET /certificates 200"
assert_list "through lighttpd bin-path: empty list"
KV_TOKEN='' KV_PORT=$PORT kv_curl GET "$LIST"
assert_status 401 "through lighttpd bin-path: no token → 401"
assert_header WWW-Authenticate "$(kv_challenge "$CERTVAULT_VAULT_HOST:$PORT")" \
	"through lighttpd bin-path: challenge with this port"
KV_TOKEN='' KV_PORT=$PORT kv_curl GET /healthz
assert_json . '{"status":"ok","database":"ok"}' "through lighttpd bin-path: /healthz"

# lighttpd → certvault-fcgi (--workers 2 on the inherited socket) → 2 workers.
SPAWN_MASTER=$(children "$LPID")
assert_match '^[0-9]+$' "$SPAWN_MASTER" "lighttpd spawned one certvault-fcgi"
[[ $SPAWN_MASTER =~ ^[0-9]+$ ]] || SPAWN_MASTER=0
assert_match 'certvault-fcgi --workers 2' "$(tr '\0' ' ' <"/proc/$SPAWN_MASTER/cmdline" 2>/dev/null)" \
	"… from bin-path, with --workers 2"
SPAWN_WORKERS=$(children "$SPAWN_MASTER")
assert_eq 2 "$(printf '%s\n' "$SPAWN_WORKERS" | grep -c .)" "… which forked 2 workers"

kill -TERM "$LPID"
wait_exit "$LPID" 15
assert_eq 0 "$WAIT_RC" "lighttpd (spawn config) stops on SIGTERM"
gone() {
	local p
	for p in $SPAWN_MASTER $SPAWN_WORKERS; do cv_proc_alive "$p" && return 1; done
	return 0
}
wait_until 10 gone
assert_true "lighttpd's shutdown stopped the spawned certvault-fcgi and its workers" gone
# Never leave them behind, whatever the assertion said.
for p in $SPAWN_MASTER $SPAWN_WORKERS; do cv_proc_alive "$p" && kill -KILL "$p" 2>/dev/null; done

t_done
