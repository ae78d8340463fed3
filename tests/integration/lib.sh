# shellcheck shell=bash
# Variables set here are read by the tests that source this file.
# shellcheck disable=SC2034
#
# tests/integration/lib.sh — sourced by every tests/integration/t_*.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   kv_curl GET '/certificates?api-version=7.5'
#   assert_status 200 "list answers 200"
#   assert_list "empty list"
#   t_done
#
# The tests drive the REAL programs of a running stack (PostgreSQL,
# certvault-fcgi, certvault-worker, lighttpd, Apache) started by ./test.sh,
# which describes it in the env file named by CERTVAULT_TEST_ENV
# (docs/internals.md). Without that variable the test reports SKIP (77),
# e.g. inside `make distcheck`. Service start/stop goes through
# scripts/stack.sh, the same library ./test.sh and ./run.sh use.
#
# Output: one "ok N - …" / "not ok N - …" line per assertion (diagnostics
# on "# " lines) and, at the end, the summary "N passed, M failed" alone on
# a line. Exit status: 0 when nothing failed, 1 otherwise, 77 skip, 99 when
# the test could not run at all.
#
# The access token is never printed: curl reads it from a 0600 header file.

set -uo pipefail

T_NAME=$(basename "$0" .sh)
T_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ -z "${CERTVAULT_TEST_ENV:-}" ]; then
	echo "SKIP: $T_NAME: CERTVAULT_TEST_ENV is not set (no running stack; use ./test.sh)"
	exit 77
fi
if [ ! -r "$CERTVAULT_TEST_ENV" ]; then
	echo "ERROR: $T_NAME: cannot read CERTVAULT_TEST_ENV=$CERTVAULT_TEST_ENV"
	exit 99
fi
for t_cmd in curl jq psql cgi-fcgi pgrep timeout; do
	if ! command -v "$t_cmd" >/dev/null 2>&1; then
		echo "ERROR: $T_NAME: $t_cmd is not installed"
		exit 99
	fi
done
unset t_cmd

# shellcheck source=../../scripts/stack.sh
. "$T_LIB_DIR/../../scripts/stack.sh"
cv_load_env "$CERTVAULT_TEST_ENV"

T_PASS=0
T_FAIL=0
T_N=0
T_DONE=
T_CLEANUP=()
T_LOCK=$CERTVAULT_HOME/run/integration-tests.lock
T_LOCKED=

# A private directory for this test (sockets, pid files, logs, bodies),
# inside the state directory so that unix socket paths stay short.
mkdir -p "$CERTVAULT_HOME/test"
T_TMP=$(mktemp -d "$CERTVAULT_HOME/test/$T_NAME.XXXXXX") || exit 99

# t_on_exit COMMAND: run COMMAND (eval'd) when the test exits, last
# registered first, also when it fails or is interrupted.
t_on_exit() { T_CLEANUP+=("$1"); }

t_exit_trap() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	for ((i = ${#T_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${T_CLEANUP[$i]}" || echo "# cleanup failed: ${T_CLEANUP[$i]}"
	done
	rm -rf "$T_TMP"
	[ -n "$T_LOCKED" ] && rm -rf "$T_LOCK"
	if [ -z "$T_DONE" ]; then
		echo "# $T_NAME ended early (status $rc) after $T_N checks"
		echo "$T_PASS passed, $((T_FAIL + 1)) failed"
		[ "$rc" -eq 0 ] && rc=1
	fi
	exit "$rc"
}
trap t_exit_trap EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The tests share one stack and some of them stop pieces of it (the
# database, certvault-fcgi, certvault-worker): one test at a time, also
# under `make -j check`. A lock directory, not flock(1): an flock'ed file
# descriptor would be inherited by every daemon a test (re)starts and keep
# the lock held after the test.
t_lock() {
	local i=0 holder
	until mkdir "$T_LOCK" 2>/dev/null; do
		holder=$(cat "$T_LOCK/pid" 2>/dev/null)
		# Left behind by a test that was killed (before it wrote its
		# pid, if the directory is older than 12 s)?
		if { [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; } ||
			{ [ -z "$holder" ] && [ -n "$(find "$T_LOCK" -maxdepth 0 -mmin +0.2 2>/dev/null)" ]; }; then
			rm -rf "$T_LOCK"
			continue
		fi
		i=$((i + 1))
		[ "$i" -ge 3000 ] && return 1
		sleep 0.1
	done
	echo $$ >"$T_LOCK/pid"
	T_LOCKED=1
}
if ! t_lock; then
	echo "ERROR: $T_NAME: another integration test held $T_LOCK for 300s"
	T_DONE=1
	exit 99
fi

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

# ok DESCRIPTION: record a passed check.
ok() {
	T_N=$((T_N + 1))
	T_PASS=$((T_PASS + 1))
	echo "ok $T_N - $*"
}

# fail DESCRIPTION [DIAGNOSTIC_LINE...]: record a failed check (the test
# goes on; t_done reports it).
fail() {
	local d
	T_N=$((T_N + 1))
	T_FAIL=$((T_FAIL + 1))
	echo "not ok $T_N - $1"
	shift
	for d in "$@"; do
		printf '%s\n' "$d" | sed 's/^/#   /'
	done
}

# diag TEXT: a comment line in the log.
diag() { printf '%s\n' "$*" | sed 's/^/# /'; }

# bail MESSAGE: give up on this test (what follows cannot be meaningful).
bail() {
	fail "$*"
	echo "# bailing out"
	exit 1
}

# t_done: the summary line; exit status 0 only if nothing failed.
t_done() {
	T_DONE=1
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ] && exit 0
	exit 1
}

# ---------------------------------------------------------------------------
# Assertions
# ---------------------------------------------------------------------------

# assert_eq EXPECTED ACTUAL DESCRIPTION
assert_eq() {
	if [ "$1" == "$2" ]; then
		ok "$3"
		return 0
	fi
	fail "$3" "expected: $1" "actual:   $2"
	return 1
}

# assert_ne UNEXPECTED ACTUAL DESCRIPTION
assert_ne() {
	if [ "$1" != "$2" ]; then
		ok "$3"
		return 0
	fi
	fail "$3" "expected anything but: $1"
	return 1
}

# assert_match ERE ACTUAL DESCRIPTION
assert_match() {
	if [[ $2 =~ $1 ]]; then
		ok "$3"
		return 0
	fi
	fail "$3" "expected to match: $1" "actual: $2"
	return 1
}

# assert_no_match ERE ACTUAL DESCRIPTION
assert_no_match() {
	if ! [[ $2 =~ $1 ]]; then
		ok "$3"
		return 0
	fi
	fail "$3" "expected not to match: $1" "actual: $2"
	return 1
}

# assert_true DESCRIPTION COMMAND...: COMMAND succeeds.
assert_true() {
	local desc=$1
	shift
	if "$@"; then
		ok "$desc"
		return 0
	fi
	fail "$desc" "command failed: $*"
	return 1
}

# assert_json [-r] FILTER EXPECTED DESCRIPTION [JSON]: `jq -c FILTER` (-r:
# raw strings) of JSON (default: the body of the last kv_curl/fcgi_req)
# prints exactly EXPECTED.
assert_json() {
	local raw=
	if [ "$1" = -r ]; then raw=-r; shift; fi
	local filter=$1 expected=$2 desc=$3 json=${4-$KV_BODY} actual
	if ! actual=$(printf '%s' "$json" | jq -c $raw "$filter" 2>&1); then
		fail "$desc" "not JSON or jq failed: $actual" "body: $json"
		return 1
	fi
	assert_eq "$expected" "$actual" "$desc"
}

# ---------------------------------------------------------------------------
# HTTP through the web server
# ---------------------------------------------------------------------------

# kv_curl METHOD PATH [CURL_ARG...]: one HTTPS request to the vault host,
# resolved to 127.0.0.1 or KV_ADDR (never DNS), trusting the stack's certificate.
# Knobs (set them as a prefix: KV_TOKEN= kv_curl GET /x):
#   KV_TOKEN     bearer token (default: the stack's; empty: no header)
#   KV_HOST      host name (default: CERTVAULT_VAULT_HOST); an IP address
#                is connected to directly
#   KV_PORT      port (default: CERTVAULT_HTTPS_PORT, i.e. lighttpd)
#   KV_ADDR      address the host name resolves to (default 127.0.0.1; an
#                extra node of t_scaleout: 127.0.0.2, …)
#   KV_MAX_TIME  curl --max-time (default 10 s)
# Sets KV_STATUS (000 if curl failed), KV_BODY, KV_HEADERS (CR stripped),
# KV_TIME (seconds, total), KV_CURL_RC; files $T_TMP/kv.body and kv.headers.
kv_curl() {
	local method=$1 path=$2 host port token out
	shift 2
	host=${KV_HOST-$CERTVAULT_VAULT_HOST}
	port=${KV_PORT:-$CERTVAULT_HTTPS_PORT}
	token=${KV_TOKEN-$CERTVAULT_TOKEN}
	local args=(-sS --max-time "${KV_MAX_TIME:-10}" --cacert "$CERTVAULT_CA"
		-X "$method" -D "$T_TMP/kv.headers" -o "$T_TMP/kv.body"
		-w '%{http_code} %{time_total}')
	if ! [[ $host =~ ^[0-9.]+$ ]]; then
		args+=(--resolve "$host:$port:${KV_ADDR:-127.0.0.1}")
	fi
	rm -f "$T_TMP/kv.headers" "$T_TMP/kv.body" "$T_TMP/kv.auth"
	if [ -n "$token" ]; then
		(umask 077 && printf 'Authorization: Bearer %s\n' "$token" >"$T_TMP/kv.auth")
		args+=(-H "@$T_TMP/kv.auth")
	fi
	out=$(curl "${args[@]}" "$@" "https://$host:$port$path" 2>"$T_TMP/kv.err")
	KV_CURL_RC=$?
	rm -f "$T_TMP/kv.auth"
	KV_STATUS=${out%% *}
	KV_TIME=${out#* }
	[ -n "$KV_STATUS" ] || KV_STATUS=000
	KV_BODY=$(cat "$T_TMP/kv.body" 2>/dev/null)
	KV_HEADERS=$(tr -d '\r' <"$T_TMP/kv.headers" 2>/dev/null)
	if [ "$KV_CURL_RC" -ne 0 ]; then
		diag "curl $method $path: exit $KV_CURL_RC: $(cat "$T_TMP/kv.err")"
	fi
	return 0
}

# kv_header NAME: value of the last response header NAME (any case).
kv_header() {
	printf '%s\n' "$KV_HEADERS" | grep -i "^$1:" | tail -n 1 |
		sed 's/^[^:]*:[[:space:]]*//; s/[[:space:]]*$//'
}

# assert_status EXPECTED DESCRIPTION: status of the last request.
assert_status() {
	if [ "$KV_STATUS" = "$1" ]; then
		ok "$2"
		return 0
	fi
	fail "$2" "expected status: $1" "actual status:   $KV_STATUS" \
		"headers: $KV_HEADERS" "body: $KV_BODY"
	return 1
}

# assert_header NAME EXPECTED DESCRIPTION
assert_header() {
	assert_eq "$2" "$(kv_header "$1")" "$3"
}

# assert_json_type DESCRIPTION: the last response is application/json.
assert_json_type() {
	assert_match '^application/json(;|$)' "$(kv_header Content-Type)" "$1"
}

# assert_kv_error STATUS CODE MESSAGE DESCRIPTION [INNER]: the last response
# is a Key Vault error: that status, Content-Type application/json, a body
# of exactly {"error":{"code":CODE,"message":MESSAGE}} (MESSAGE empty: any
# non-empty string), or with INNER also "innererror":{"code":INNER}.
assert_kv_error() {
	local status=$1 code=$2 message=$3 desc=$4 inner=${5:-}
	assert_status "$status" "$desc: status $status"
	assert_json_type "$desc: Content-Type application/json"
	if [ -n "$inner" ]; then
		# Key Vault's nested error: {"error":{"code","message","innererror":{"code"}}}.
		assert_json '[keys, (.error | keys), .error.innererror.code]' \
			"[[\"error\"],[\"code\",\"innererror\",\"message\"],\"$inner\"]" \
			"$desc: body has error.code, error.message and innererror.code $inner"
	else
		assert_json '[keys, (.error | keys)]' '[["error"],["code","message"]]' \
			"$desc: body has exactly error.code and error.message"
	fi
	assert_json .error.code "\"$code\"" "$desc: error.code $code"
	if [ -n "$message" ]; then
		assert_json -r .error.message "$message" "$desc: error.message"
	else
		assert_json '.error.message | type == "string" and length > 0' true \
			"$desc: error.message is a non-empty string"
	fi
}

# assert_list DESCRIPTION: the last response body is the certificate list
# of the stack's vault: exactly {"value":[],"nextLink":null} while the vault
# holds no live certificate (as on a fresh stack, where these tests run
# before anything creates certificates); otherwise only its shape.
assert_list() {
	local n
	n=$(t_psql "SELECT count(*) FROM certificates c JOIN vaults v ON v.id = c.vault_id
		WHERE v.name = '$CERTVAULT_VAULT_NAME' AND c.deleted_at IS NULL" 2>/dev/null)
	if [ "$n" = 0 ]; then
		assert_json . '{"value":[],"nextLink":null}' "$1"
	else
		diag "vault $CERTVAULT_VAULT_NAME holds ${n:-?} live certificates: checking the list's shape only"
		assert_json '[(.value | type), has("nextLink")]' '["array",true]' "$1"
	fi
}

# The exact challenge of a 401 for HOST[:PORT] (docs/internals.md).
kv_challenge() {
	local hostport=$1 vault=${2:-$CERTVAULT_VAULT_NAME} host parent
	host=${hostport%:*}
	if [[ $host =~ ^[0-9.]+$ ]] || [[ $host != *.* ]]; then
		parent=$host
	else
		parent=${host#*.}
	fi
	printf 'Bearer authorization="https://%s/%s", resource="https://%s"' \
		"$hostport" "$vault" "$parent"
}

# ---------------------------------------------------------------------------
# FastCGI directly (cgi-fcgi from libfcgi-bin), for private instances
# ---------------------------------------------------------------------------

# fcgi_req SOCKET METHOD URI [VAR=value...]: one request through cgi-fcgi
# with a clean CGI environment (Host: the vault host, HTTPS=on, the
# stack's token unless FCGI_TOKEN is set; empty FCGI_TOKEN: none). The
# request body is this function's stdin (give CONTENT_LENGTH). Sets
# FCGI_STATUS (000 if no Status line), FCGI_BODY, FCGI_HEADERS, FCGI_RC;
# the raw response is in $T_TMP/fcgi.out (or FCGI_OUT).
fcgi_req() {
	local sock=$1 method=$2 uri=$3 out=${FCGI_OUT:-$T_TMP/fcgi.out} token query=
	shift 3
	token=${FCGI_TOKEN-$CERTVAULT_TOKEN}
	[[ $uri == *\?* ]] && query=${uri#*\?}
	local envs=(PATH=/usr/bin:/bin REQUEST_METHOD="$method" REQUEST_URI="$uri"
		QUERY_STRING="$query" SERVER_PROTOCOL=HTTP/1.1
		HTTP_HOST="$CERTVAULT_VAULT_HOST" HTTPS=on)
	[ -n "$token" ] && envs+=(HTTP_AUTHORIZATION="Bearer $token")
	timeout 30 env -i "${envs[@]}" "$@" cgi-fcgi -bind -connect "$sock" >"$out" 2>"$out.err"
	FCGI_RC=$?
	fcgi_parse "$out"
}

# fcgi_parse FILE: split a raw CGI response into FCGI_STATUS, FCGI_HEADERS
# and FCGI_BODY.
fcgi_parse() {
	local raw
	raw=$(tr -d '\r' <"$1")
	FCGI_HEADERS=${raw%%$'\n\n'*}
	if [[ $raw == *$'\n\n'* ]]; then FCGI_BODY=${raw#*$'\n\n'}; else FCGI_BODY=; fi
	FCGI_STATUS=$(printf '%s\n' "$FCGI_HEADERS" | sed -n '1s/^Status: \([0-9][0-9][0-9]\).*/\1/p')
	[ -n "$FCGI_STATUS" ] || FCGI_STATUS=000
	KV_BODY=$FCGI_BODY
	KV_HEADERS=$FCGI_HEADERS
	KV_STATUS=$FCGI_STATUS
}

# fcgi_private_start NAME [certvault-fcgi ARG...]: a private certvault-fcgi
# (the stack's config file) on $T_TMP/NAME.sock, pid file NAME.pid, log
# NAME.log, stopped when the test exits. Sets PRIV_PID (a child of this
# shell, so `wait` gives its exit status), PRIV_SOCK, PRIV_PIDFILE, PRIV_LOG.
fcgi_private_start() {
	local name=$1
	shift
	PRIV_SOCK=$T_TMP/$name.sock
	PRIV_PIDFILE=$T_TMP/$name.pid
	PRIV_LOG=$T_TMP/$name.log
	t_on_exit "cv_fcgi_stop '$PRIV_PIDFILE' 2>/dev/null"
	cv_fcgi_start "$PRIV_SOCK" "$PRIV_PIDFILE" "$PRIV_LOG" "$@"
	PRIV_PID=$CV_LAST_PID
}

# children PID: live (not zombie) child processes of PID, sorted.
children() {
	local p
	for p in $(pgrep -P "$1" | sort -n); do
		cv_proc_alive "$p" && echo "$p"
	done
	return 0
}

# master_pid: the pid of the stack's certvault-fcgi master.
master_pid() { cv_pid_of "$CERTVAULT_FCGI_PIDFILE"; }

# wait_until SECONDS COMMAND...: poll COMMAND every 0.1 s; false on timeout.
wait_until() {
	local n=$(($1 * 10)) i=0
	shift
	until "$@"; do
		i=$((i + 1))
		[ "$i" -ge "$n" ] && return 1
		sleep 0.1
	done
	return 0
}

# wait_exit PID SECONDS: wait for our child PID to end (not in a $(…)
# subshell: only this shell can reap it); sets WAIT_RC to its exit status,
# or to "timeout" (leaving it running) if it did not end in time.
wait_exit() {
	local pid=$1
	if ! wait_until "$2" eval "! cv_proc_alive $pid"; then
		WAIT_RC=timeout
		return 0
	fi
	wait "$pid" 2>/dev/null
	WAIT_RC=$?
}

# now_ms: wall-clock milliseconds (for durations).
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------------------
# Database and the shared stack
# ---------------------------------------------------------------------------

# t_psql SQL: run SQL as the application's role; unaligned tuples only.
t_psql() {
	psql -X -q -v ON_ERROR_STOP=1 -tA -d "$CERTVAULT_DATABASE_URL" -c "$1"
}

# cert_lock PATTERN: a psql session of its own locks the certificates named
# LIKE PATTERN (FOR UPDATE) and holds them, up to 60 s, until cert_unlock
# (or the test's exit). Returns once the lock is held; non-zero if the
# session did not get there within 10 s. One lock at a time.
T_ROWLOCK_APP=t_rowlock_$$
T_ROWLOCK_PID=
cert_lock() {
	printf '%s\n' 'BEGIN;' "SELECT id FROM certificates WHERE name LIKE '$1' FOR UPDATE;" \
		'SELECT pg_sleep(60);' 'COMMIT;' |
		PGAPPNAME=$T_ROWLOCK_APP psql -X -q -v ON_ERROR_STOP=1 -d "$CERTVAULT_DATABASE_URL" >/dev/null 2>&1 &
	T_ROWLOCK_PID=$!
	[ -n "${T_ROWLOCK_EXIT:-}" ] || { t_on_exit cert_unlock; T_ROWLOCK_EXIT=1; }
	wait_until 10 cert_lock_held
}
cert_lock_held() {
	[ "$(t_psql "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$T_ROWLOCK_APP' AND query LIKE '%pg_sleep%'")" = 1 ]
}
# cert_unlock: end the session of cert_lock; its backend sleeps through its
# client's death, so it is terminated in the database.
cert_unlock() {
	[ -n "$T_ROWLOCK_PID" ] || return 0
	t_psql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '$T_ROWLOCK_APP'" >/dev/null 2>&1
	wait "$T_ROWLOCK_PID" 2>/dev/null
	T_ROWLOCK_PID=
	return 0
}

# stack_restore: bring every piece of the shared stack back (each start
# is a no-op when the piece runs) and wait until /healthz answers 200.
stack_restore() {
	cv_pg_running || cv_pg_start
	cv_fcgi_start
	cv_worker_start
	cv_lighttpd_start
	cv_wait_healthy "$CV_URL"
}

# ---------------------------------------------------------------------------
# Certificates: helpers of t_cert_*, t_pending_*, t_merge_*, t_sdk_*
# ---------------------------------------------------------------------------

CERT_NAMES=()

# cert_purge_names: remove every certificate cert_new_name made (there is
# no certificate delete route yet), so that other tests' lists stay empty.
cert_purge_names() {
	local n list=
	[ "${#CERT_NAMES[@]}" -gt 0 ] || return 0
	for n in "${CERT_NAMES[@]}"; do list+="${list:+,}'$n'"; done
	t_psql "DELETE FROM certificates WHERE lower(name) IN ($list)" >/dev/null
}

# cert_new_name VAR PREFIX: VAR=PREFIX-<8 random hex>, a certificate name
# unique to this run, removed from the database when the test exits.
cert_new_name() {
	local cert_nn_
	cert_nn_=$2-$(cv_random_hex 4)
	if [ "${#CERT_NAMES[@]}" -eq 0 ]; then t_on_exit cert_purge_names; fi
	CERT_NAMES+=("$cert_nn_")
	printf -v "$1" '%s' "$cert_nn_"
}

# kv_send METHOD PATH JSON [CURL_ARG...]: kv_curl with a JSON request body.
kv_send() {
	local method=$1 path=$2 body=$3
	shift 3
	kv_curl "$method" "$path" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# b64_to_file BASE64 FILE: decode standard base64 into FILE.
b64_to_file() { printf '%s' "$1" | base64 -d >"$2"; }

# hex_of FILE: lowercase hex of FILE's bytes, one line.
hex_of() { od -An -v -tx1 "$1" | tr -d ' \n'; }

# x5t_of FILE: base64url (no padding) of the SHA-1 of FILE, as Key Vault's x5t.
x5t_of() {
	local hex
	hex=$(sha1sum "$1" | cut -c1-40)
	# shellcheck disable=SC2059
	printf "$(printf '%s' "$hex" | sed 's/../\\x&/g')" | base64 | tr '+/' '-_' | tr -d '=\n'
}

# der_info FILE: certtool's description of a DER certificate.
der_info() { certtool --certificate-info --inder --infile "$1" 2>/dev/null; }

# pem_to_der IN OUT: a PEM certificate as DER.
pem_to_der() { certtool --certificate-info --infile "$1" --outder --outfile "$2" >/dev/null 2>&1; }

# test_ca_make DIR: a throwaway CA made with certtool: DIR/ca.key, DIR/ca.pem,
# DIR/ca.der.
test_ca_make() {
	mkdir -p "$1"
	printf '%s\n' 'cn = "certvault test CA"' 'organization = "certvault tests"' ca \
		cert_signing_key crl_signing_key 'expiration_days = 30' >"$1/ca.tmpl"
	certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$1/ca.key" \
		>/dev/null 2>&1 &&
		certtool --generate-self-signed --load-privkey "$1/ca.key" --template "$1/ca.tmpl" \
			--outfile "$1/ca.pem" >/dev/null 2>&1 &&
		pem_to_der "$1/ca.pem" "$1/ca.der"
}

# test_ca_sign DIR CSR_BASE64 OUT: sign a certificate request (standard base64
# of DER, as an operation's csr) with the CA of DIR, keeping its extensions;
# writes OUT.csr.pem, OUT.pem and OUT.der.
test_ca_sign() {
	local dir=$1 csr=$2 out=$3
	{
		echo '-----BEGIN CERTIFICATE REQUEST-----'
		printf '%s' "$csr" | base64 -d | base64 -w 64
		echo '-----END CERTIFICATE REQUEST-----'
	} >"$out.csr.pem"
	printf '%s\n' "serial = $(date +%s%N | cut -c1-15)" 'expiration_days = 30' \
		honor_crq_extensions >"$out.tmpl"
	certtool --generate-certificate --load-request "$out.csr.pem" \
		--load-ca-certificate "$dir/ca.pem" --load-ca-privkey "$dir/ca.key" \
		--template "$out.tmpl" --outfile "$out.pem" >/dev/null 2>&1 &&
		pem_to_der "$out.pem" "$out.der"
}
