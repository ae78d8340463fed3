#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through assert_true
# certvault-admin doctor: against the stack every check is "ok" and the
# exit status 0; then one thing broken at a time — in a copy of the
# configuration, a copy of the master key, a database of the test's own —
# gives the matching FAIL line and exit status 1: an unknown setting, a
# master key of mode 0644, a wrong database password, a migration not
# applied and no vault, sealed rows under a key not configured or that
# do not open, a socket path where nothing is, a socket left by a
# certvault-fcgi that was killed, a web server that is not there or whose
# certificate is not trusted. Neither the database password nor the
# access token appears in anything it printed.
. "$(dirname "$0")/lib.sh"

ADMIN=$CERTVAULT_BUILD_DIR/src/certvault-admin
DB=certvault_doctor
ALL=$T_TMP/all.out
: >"$ALL"
# The web server's user: Apache's children run as www-data when the stack
# runs as root; otherwise every server runs as the invoking user.
if cv_is_root; then WEB_USER=www-data; else WEB_USER=$(id -un); fi

# doctor ARG...: certvault-admin doctor, with nothing from the environment
# (lib.sh exports CERTVAULT_DATABASE_URL and CERTVAULT_CONFIG); sets OUT
# (stdout) and RC; stdout and stderr are kept in $ALL for the last check.
doctor() {
	env -u CERTVAULT_DATABASE_URL -u CERTVAULT_CONFIG "$ADMIN" doctor "$@" \
		>"$T_TMP/out" 2>"$T_TMP/err"
	RC=$?
	OUT=$(cat "$T_TMP/out")
	cat "$T_TMP/out" "$T_TMP/err" >>"$ALL"
}
# line CHECK: the report's line of CHECK (the first).
line() { printf '%s\n' "$OUT" | grep -m 1 -E "^[a-zA-Z]+ +$1: " || true; }
# config FILE [SED_SCRIPT]: a copy of the stack's configuration, edited.
config() {
	(umask 077 && sed -e "${2:-}" "$CERTVAULT_CONFIG" >"$1")
}
# expect_fail DESCRIPTION CHECK ERE: exit 1, and CHECK's line is a FAIL
# matching ERE.
expect_fail() {
	assert_eq 1 "$RC" "$1: exit status 1"
	assert_match "^FAIL  $2: $3" "$(line "$2")" "$1: FAIL $2"
}

# --- the stack: all ok -------------------------------------------------------------
# The stack's certvault-worker reports after its first pass (a fresh stack may still be in it).
worker_seen() { [ "$(t_psql "SELECT count(*) FROM worker_heartbeats WHERE last_seen > now() - interval '60 seconds'")" -ge 1 ]; }
wait_until 60 worker_seen || diag "no certvault-worker heartbeat yet"
doctor --config "$CERTVAULT_CONFIG" --listen "unix:$CERTVAULT_FCGI_SOCKET" \
	--url "$CERTVAULT_URL" --ca-file "$CERTVAULT_CA" --web-user "$WEB_USER"
assert_eq 0 "$RC" "doctor against the stack: exit 0"
diag "$OUT"
assert_eq "" "$(printf '%s\n' "$OUT" | grep -v '^ok    ')" "every line is ok"
for check in config database 'server version' migrations vaults 'master key' \
	'master key unseals' 'sealed rows' workers 'fastcgi socket' 'fastcgi socket mode' healthz; do
	assert_match "^ok    $check: " "$(line "$check")" "there is an ok line for $check"
done
n_sql=$(find "$CERTVAULT_SRC_DIR/sql" -name '[0-9][0-9][0-9]_*.sql' | wc -l)
assert_match "^ok    migrations: all $n_sql applied" "$(line migrations)" \
	"migrations: all $n_sql of sql/ applied"
assert_match "\\($CERTVAULT_VAULT_NAME" "$(line vaults)" "vaults: names $CERTVAULT_VAULT_NAME"
key_id=$(sha256sum "$CERTVAULT_HOME/etc/master.key" | cut -c1-16)
assert_match "key id $key_id" "$(line 'master key')" "master key: its id is the SHA-256 prefix of the file"
assert_match "host=127\\.0\\.0\\.1 port=$CERTVAULT_PGPORT dbname=certvault user=certvault" \
	"$(line database)" "database: named by host, port, database and user"

# The same, --config before the command, and nothing beyond the configuration.
env -u CERTVAULT_DATABASE_URL -u CERTVAULT_CONFIG "$ADMIN" --config "$CERTVAULT_CONFIG" doctor \
	>"$T_TMP/out" 2>"$T_TMP/err"
RC=$?
OUT=$(cat "$T_TMP/out")
cat "$T_TMP/out" "$T_TMP/err" >>"$ALL"
assert_eq 0 "$RC" "certvault-admin --config FILE doctor: exit 0 (no FAIL)"
assert_match '^warn  fastcgi socket: no listen in the configuration' "$(line 'fastcgi socket')" \
	"… without listen or --listen: the socket is a warning"
assert_eq "" "$(line healthz)" "… and without --url no healthz check"

# --- the configuration -------------------------------------------------------------
config "$T_TMP/unknown.conf" "\$a no_such_setting = 1"
doctor --config "$T_TMP/unknown.conf"
expect_fail "an unknown setting" config ".*unknown configuration key \"no_such_setting\""
assert_eq 1 "$(printf '%s\n' "$OUT" | grep -c .)" "… and nothing else is checked"
doctor --config "$T_TMP/no-such.conf"
expect_fail "a configuration file that is not there" config "could not open"
config "$T_TMP/log.conf" "\$a log_file = $T_TMP/no-such-dir/certvault.log"
doctor --config "$T_TMP/log.conf"
expect_fail "a log_file in a directory that is not there" 'log file' \
	"$T_TMP/no-such-dir/certvault.log cannot be created"
config "$T_TMP/log.conf" "\$a log_file = $T_TMP/certvault.log"
doctor --config "$T_TMP/log.conf"
assert_match "^ok    log file: $T_TMP/certvault.log does not exist yet; its directory is writable" \
	"$(line 'log file')" "a log_file not made yet in a writable directory: ok"
assert_true "… and doctor did not create it" test ! -e "$T_TMP/certvault.log"

# --- the master key ----------------------------------------------------------------
cp "$CERTVAULT_HOME/etc/master.key" "$T_TMP/master-0644.key"
chmod 0644 "$T_TMP/master-0644.key"
config "$T_TMP/key.conf" "s|^master_key_file *=.*|master_key_file = $T_TMP/master-0644.key|"
doctor --config "$T_TMP/key.conf"
expect_fail "a master key of mode 0644" 'master key' "$T_TMP/master-0644.key \\(mode 0644.*0600 or stricter"
assert_eq "" "$(line 'master key unseals')" "… and no unsealing is tried with it"
config "$T_TMP/nokey.conf" "s|^master_key_file *=.*|master_key_file = $T_TMP/gone.key|"
doctor --config "$T_TMP/nokey.conf"
expect_fail "a master key file that is not there" 'master key' "$T_TMP/gone.key: No such file"

# --- the database ------------------------------------------------------------------
BAD_PW=wrong-$(cv_random_hex 8)
BAD_URL=$(printf '%s' "$CERTVAULT_DATABASE_URL" | sed "s|://certvault:[^@]*@|://certvault:$BAD_PW@|")
config "$T_TMP/badpw.conf" "s|^database_url *=.*|database_url = $BAD_URL|"
doctor --config "$T_TMP/badpw.conf"
expect_fail "a wrong database password" database "could not connect \\(host=127\\.0\\.0\\.1 port=$CERTVAULT_PGPORT .*password authentication failed"
assert_eq "" "$(line migrations)" "… and no migration check without a database"
assert_match '^ok    master key: ' "$(line 'master key')" "… the master key file is still checked"
config "$T_TMP/badport.conf" "s|^database_url *=.*|database_url = postgresql://certvault:$BAD_PW@127.0.0.1:1/certvault|"
doctor --config "$T_TMP/badport.conf"
expect_fail "a database that does not answer" database "could not connect \\(host=127\\.0\\.0\\.1 port=1 "

# A database of the test's own: one migration not applied, no vault, sealed
# rows under a key nobody configured and rows that do not open.
cv_pg_superuser_psql -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
cv_pg_superuser_psql -c "CREATE DATABASE $DB OWNER certvault" >/dev/null ||
	bail "cannot create database $DB"
t_on_exit "cv_pg_superuser_psql -c 'DROP DATABASE IF EXISTS $DB WITH (FORCE)' >/dev/null 2>&1"
URL=${CERTVAULT_DATABASE_URL%/*}/$DB
(umask 077 && head -c 32 /dev/urandom >"$T_TMP/own.key" && head -c 32 /dev/urandom >"$T_TMP/prev.key")
own_id=$(sha256sum "$T_TMP/own.key" | cut -c1-16)
prev_id=$(sha256sum "$T_TMP/prev.key" | cut -c1-16)
config "$T_TMP/own.conf" "s|^database_url *=.*|database_url = $URL|; s|^master_key_file *=.*|master_key_file = $T_TMP/own.key|"
env -u CERTVAULT_DATABASE_URL -u CERTVAULT_CONFIG "$ADMIN" --config "$T_TMP/own.conf" \
	migrate --sql-dir "$CERTVAULT_SRC_DIR/sql" >"$T_TMP/migrate.out" 2>&1 ||
	bail "migrate of $DB failed: $(tail -n 5 "$T_TMP/migrate.out")"
own_psql() { psql -X -q -v ON_ERROR_STOP=1 -tA -d "$URL" -c "$1"; }
last=$(own_psql "SELECT max(filename) FROM schema_migrations")
own_psql "DELETE FROM schema_migrations WHERE filename = '$last'" >/dev/null
doctor --config "$T_TMP/own.conf"
expect_fail "a migration not applied" migrations "1 of $n_sql not applied: $last \\(run certvault-admin migrate\\)"
expect_fail "no vault" vaults "none"
assert_match "^ok    master key unseals: no row is sealed under key $own_id yet" \
	"$(line 'master key unseals')" "an empty database: no sealed row yet is fine"

# pool row KEY_ID: a pooled key row sealed (so it says) under KEY_ID, whose
# sealed value is random bytes.
pool_row() {
	own_psql "INSERT INTO key_pool (key_uid, kty, key_size, public_key, sealed_private_key, seal_nonce, master_key_id)
		VALUES (gen_random_uuid(), 'RSA', 2048, '\\x3000', decode(md5(random()::text) || md5(random()::text), 'hex'),
		decode(substr(md5(random()::text), 1, 24), 'hex'), '$1') RETURNING id" | head -n 1
}
stray=$(pool_row "$prev_id")
doctor --config "$T_TMP/own.conf"
expect_fail "a row under a key not configured" 'sealed rows' \
	"1 key_pool row \\($stray\\) sealed under master key $prev_id, which is neither"
config "$T_TMP/prev.conf" "s|^database_url *=.*|database_url = $URL|; s|^master_key_file *=.*|master_key_file = $T_TMP/own.key|; \$a master_key_previous_files = $T_TMP/prev.key"
doctor --config "$T_TMP/prev.conf"
assert_match "^ok    previous master key: $T_TMP/prev.key \\(mode 0600" "$(line 'previous master key')" \
	"that key as master_key_previous_files: ok"
expect_fail "a row that does not open under the key it names" 'previous master key unseals' \
	"key $prev_id does not open key_pool row $stray"
assert_match "^ok    sealed rows: every one names a configured master key \\(1 under previous keys" \
	"$(line 'sealed rows')" "… and every row names a configured key"
own_psql "DELETE FROM key_pool" >/dev/null
doctor --config "$T_TMP/prev.conf"
assert_match "^ok    previous master key unseals: no row is sealed under key $prev_id: it may leave master_key_previous_files" \
	"$(line 'previous master key unseals')" "a previous key nothing is sealed under: it may go"

# --- the FastCGI socket -------------------------------------------------------------
config "$T_TMP/nosock.conf" "\$a listen = unix:$T_TMP/nothing.sock"
doctor --config "$T_TMP/nosock.conf"
expect_fail "a socket path where nothing is" 'fastcgi socket' "$T_TMP/nothing.sock: No such file"
# A socket left behind by a certvault-fcgi killed with SIGKILL (its workers too).
t_on_exit "cv_fcgi_stop '$T_TMP/dead.pid' 2>/dev/null"
cv_fcgi_start "$T_TMP/dead.sock" "$T_TMP/dead.pid" "$T_TMP/dead.log" --workers 1
DEAD=$CV_LAST_PID
doctor --config "$CERTVAULT_CONFIG" --listen "unix:$T_TMP/dead.sock" --web-user "$WEB_USER"
assert_match "^ok    fastcgi socket: unix:$T_TMP/dead.sock accepts connections" "$(line 'fastcgi socket')" \
	"a private certvault-fcgi's socket: ok"
kill -KILL -- "-$DEAD"
wait_exit "$DEAD" 5 2>/dev/null
assert_true "the private certvault-fcgi was killed, its socket left" test -S "$T_TMP/dead.sock"
doctor --config "$CERTVAULT_CONFIG" --listen "unix:$T_TMP/dead.sock"
expect_fail "a socket nothing listens on" 'fastcgi socket' "$T_TMP/dead.sock: connect: Connection refused"
doctor --config "$CERTVAULT_CONFIG" --listen "127.0.0.1:1"
expect_fail "a TCP address nothing listens on" 'fastcgi socket' "127\\.0\\.0\\.1:1: connect: Connection refused"
if cv_is_root; then
	doctor --config "$CERTVAULT_CONFIG" --listen "unix:$CERTVAULT_FCGI_SOCKET" --web-user nobody
	expect_fail "a web server user the socket's mode keeps out" 'fastcgi socket mode' "nobody may not connect"
fi

# --- the web server ----------------------------------------------------------------
doctor --config "$CERTVAULT_CONFIG" --url "https://127.0.0.1:1"
expect_fail "a web server that is not there" healthz "https://127\\.0\\.0\\.1:1/healthz: "
doctor --config "$CERTVAULT_CONFIG" --url "$CERTVAULT_URL/"
expect_fail "a certificate the system does not trust (no --ca-file)" healthz "$CERTVAULT_URL/healthz: .*certificate"

# --- nothing secret in anything it printed ------------------------------------------
db_pw=$(cat "$CERTVAULT_HOME/etc/db-password")
assert_true "doctor printed something ($(wc -l <"$ALL") lines)" test -s "$ALL"
assert_eq 0 "$(grep -cF "$db_pw" "$ALL")" "the database password appears nowhere in what doctor printed"
assert_eq 0 "$(grep -cF "$BAD_PW" "$ALL")" "nor does the wrong password of the broken configuration"
assert_eq 0 "$(grep -cF "$CERTVAULT_TOKEN" "$ALL")" "nor the access token"

t_done
