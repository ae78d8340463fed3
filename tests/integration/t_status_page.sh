#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until and t_on_exit
# GET /status, the operators' HTML page (issue 9): made state — an
# operation of issuer Unknown waiting for its merge, a failed one, an old
# one whose status_details and worker error carry markup (as a CA's text
# could), a stale worker heartbeat next to the stack's live worker — is
# shown with the counts the database has, every value escaped; the page is
# refused (403) from an address outside operator_networks; headless
# Chromium renders it (the DOM it built is checked, and its screenshot kept
# next to this test's log: "# screenshot: PATH"); with PostgreSQL stopped
# the page still renders, as a 503 with a "database unreachable" banner.
. "$(dirname "$0")/lib.sh"

API=7.5
POLICY_UNKNOWN='{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=status.example"},"issuer":{"name":"Unknown"}}'
# 127.0.0.1 is in the default operator_networks; 127.0.0.2 is not.
STATUS_URL=https://127.0.0.1:$CERTVAULT_HTTPS_PORT/status
V=$CERTVAULT_VAULT_NAME
OUT_DIR=$CERTVAULT_BUILD_DIR/tests/integration
SHOT=$OUT_DIR/$T_NAME.png
# Text a CA or a worker could put where the page shows it.
FAIL_MSG='CA said <script>alert(1)</script> & "quoted"'
DETAILS='<script>document.title="pwned"</script> waiting'
WERR='<img src=x onerror=alert(2)> timeout talking to the CA'
GHOST=t-status-ghost-$(cv_random_hex 4):4242
GHOST_HOST='<b>ghost</b>-host'

t_on_exit 'stack_restore >/dev/null 2>&1'

# status_get [CURL_ARG...]: GET /status from 127.0.0.1, without a token.
status_get() { KV_TOKEN='' KV_HOST=127.0.0.1 kv_curl GET /status "$@"; }

# sqlq TEXT: TEXT as an SQL string literal.
sqlq() { printf "'%s'" "${1//\'/\'\'}"; }

# rows FILE ID: the body rows (one a line, as the page writes them and
# Chromium keeps them) of table ID in FILE, "no rows" placeholders left out.
rows() {
	awk -v id="id=\"$2\"" 'index($0, id) { on = 1 } on && /<tr class="/ && !/class="empty"/ { print }
		on && /<\/table>/ { on = 0 }' "$1"
}

# in_op_count VAULT STATUS: that vault's pending operations of STATUS.
op_count() {
	t_psql "SELECT count(*) FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id
		JOIN vaults v ON v.id = c.vault_id WHERE v.name = $(sqlq "$1") AND p.status = $(sqlq "$2")"
}

# op_set NAME SQL_ASSIGNMENTS: change the operation of certificate NAME.
op_set() {
	t_psql "UPDATE pending_operations SET $2 WHERE certificate_id = (SELECT c.id FROM certificates c
		JOIN vaults v ON v.id = c.vault_id WHERE v.name = $(sqlq "$V") AND lower(c.name) = lower($(sqlq "$1")))
		RETURNING id" >/dev/null
}

create_unknown() {
	kv_send POST "/certificates/$1/create?api-version=$API" "{\"policy\":$POLICY_UNKNOWN}"
	assert_status 202 "create $1 (issuer Unknown): 202"
}

# --- state ------------------------------------------------------------------
cert_new_name A status-wait
cert_new_name B status-fail
cert_new_name C status-old
create_unknown "$A"
create_unknown "$B"
create_unknown "$C"
op_set "$B" "status = 'failed', error_code = 'Certificate issuer error',
	error_message = $(sqlq "$FAIL_MSG"), finished_at = now(), updated_at = now()" ||
	fail "SQL: mark $B's operation failed"
op_set "$C" "created_at = now() - interval '30 days', status_details = $(sqlq "$DETAILS"),
	worker_last_error = $(sqlq "$WERR"), attempts = 3" ||
	fail "SQL: age $C's operation and give it markup"

t_on_exit "t_psql \"DELETE FROM worker_heartbeats WHERE worker_id = '$GHOST'\" >/dev/null"
t_psql "INSERT INTO worker_heartbeats (worker_id, hostname, pid, started_at, last_seen, passes,
	claims, failures, last_error, last_error_at) VALUES ($(sqlq "$GHOST"), $(sqlq "$GHOST_HOST"),
	4242, now() - interval '2 hours', now() - interval '10 minutes', 7, 3, 1,
	'lost the <script> database', now() - interval '10 minutes')" >/dev/null ||
	fail "SQL: a stale heartbeat"

WPID=$(cv_pid_of "$CERTVAULT_WORKER_PIDFILE")
live_worker() {
	REAL=$(t_psql "SELECT worker_id FROM worker_heartbeats WHERE pid = ${WPID:-0}
		AND worker_id <> $(sqlq "$GHOST") AND last_seen > now() - interval '1 minute'")
	[ -n "$REAL" ]
}
wait_until 15 live_worker || fail "certvault-worker (pid ${WPID:-?}) wrote a heartbeat" \
	"rows: $(t_psql 'SELECT worker_id, last_seen FROM worker_heartbeats')"

# --- the page, as curl gets it ------------------------------------------------
N_INPROG=$(op_count "$V" inProgress)
N_FAILED=$(op_count "$V" failed)
ALL_INPROG=$(t_psql "SELECT count(*) FROM pending_operations WHERE status = 'inProgress'")
N_GROUPS=$(t_psql "SELECT least(200, count(DISTINCT (c.vault_id, p.status))) FROM pending_operations p
	JOIN certificates c ON c.id = p.certificate_id")
N_OLDEST=$((ALL_INPROG < 20 ? ALL_INPROG : 20))
FIRST=$(t_psql "SELECT c.name FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id
	WHERE p.status = 'inProgress' ORDER BY p.created_at, p.id LIMIT 1")
N_WORKERS=$(t_psql "SELECT count(*) FROM worker_heartbeats")
POOL_BEFORE=$(t_psql "SELECT key_spec || ' ' || keys FROM key_pool_depth ORDER BY 1")
status_get
POOL_AFTER=$(t_psql "SELECT key_spec || ' ' || keys FROM key_pool_depth ORDER BY 1")
PAGE=$KV_BODY
printf '%s\n' "$PAGE" >"$T_TMP/page.html"

assert_status 200 "GET /status from 127.0.0.1 without a token: 200" ||
	bail "no status page: $(head -c 300 "$T_TMP/page.html")"
assert_header Content-Type "text/html; charset=utf-8" "Content-Type text/html; charset=utf-8"
assert_header Cache-Control no-store "Cache-Control: no-store"
assert_match '^<!DOCTYPE html>' "$PAGE" "an HTML document"
assert_eq 0 "$(grep -ci '<script' "$T_TMP/page.html")" "no <script anywhere in the page"
assert_eq 0 "$(grep -ci '<img\|<b>ghost' "$T_TMP/page.html")" "no injected <img> or <b>"
assert_true "the failure's message, escaped" \
	grep -qF 'CA said &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;' "$T_TMP/page.html"
assert_true "the ghost worker's host name, escaped" grep -qF '&lt;b&gt;ghost&lt;/b&gt;-host' "$T_TMP/page.html"
assert_true "the ghost worker's last error, escaped" grep -qF 'lost the &lt;script&gt; database' "$T_TMP/page.html"
assert_match "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'" "$PAGE" \
	"a Content-Security-Policy forbids scripts"

# (1) pending operations by vault and status.
assert_match "<tr class=\"inprogress\"><td class=\"txt\">$V</td><td><span class=\"b s-inProgress\">inProgress</span></td><td class=\"n\">$N_INPROG</td>" \
	"$PAGE" "vault $V: $N_INPROG in progress (as in the database)"
assert_match "<tr class=\"finished\"><td class=\"txt\">$V</td><td><span class=\"b s-failed\">failed</span></td><td class=\"n\">$N_FAILED</td><td class=\"t\">[^<]+</td><td class=\"err\">CA said &lt;script&gt;" \
	"$PAGE" "vault $V: $N_FAILED failed, with the newest failure's message"
assert_match "All vaults: inProgress <b>$ALL_INPROG</b>" "$PAGE" "totals: $ALL_INPROG in progress in all vaults"
assert_eq "$N_GROUPS" "$(rows "$T_TMP/page.html" pending-by-vault | wc -l)" "one row per vault and status ($N_GROUPS)"
# The oldest operations in progress.
assert_eq "$N_OLDEST" "$(rows "$T_TMP/page.html" oldest-in-progress | wc -l)" "oldest in progress: $N_OLDEST rows"
assert_match "^<tr class=\"op\"><td class=\"txt\">[^<]*</td><td class=\"txt\">$FIRST</td>" \
	"$(rows "$T_TMP/page.html" oldest-in-progress | head -n 1)" "oldest in progress: the oldest ($FIRST) first"
assert_match "<tr class=\"op\"><td class=\"txt\">$V</td><td class=\"txt\">$C</td><td class=\"txt\">Unknown</td><td class=\"t\">30 d 00 h</td><td class=\"txt\">&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt; waiting</td><td class=\"err\">&lt;img src=x onerror=alert\\(2\\)&gt; timeout talking to the CA</td><td class=\"n\">3</td><td class=\"t\"><span class=\"none\">none \\(waits for a merge" \
	"$PAGE" "$C: age 30 d, status_details and worker error escaped, 3 attempts, no next attempt"
assert_match "<td class=\"txt\">$A</td><td class=\"txt\">Unknown</td><td class=\"t\">[0-9]+ s</td><td class=\"txt\">Pending certificate created. Please Perform Merge to complete the request.</td>" \
	"$PAGE" "$A: waiting for its merge, with its status_details"
# (2) workers.
assert_match "<tr class=\"fresh\"><td class=\"txt\">$REAL</td><td class=\"txt\">[^<]+</td><td class=\"n\">$WPID</td>" \
	"$PAGE" "the stack's worker $REAL: fresh, with its pid"
assert_match "<tr class=\"stale\"><td class=\"txt\">$GHOST</td><td class=\"txt\">&lt;b&gt;ghost&lt;/b&gt;-host</td><td class=\"n\">4242</td>.*10 min [0-5][0-9] s ago <span class=\"b s-stale\">STALE</span></td><td class=\"n\">7</td><td class=\"n\">3</td><td class=\"n\">1</td>" \
	"$PAGE" "the ghost worker: marked STALE, 7 passes, 3 claims, 1 failure"
assert_eq "$N_WORKERS" "$(rows "$T_TMP/page.html" worker-heartbeats | wc -l)" "one row per heartbeat ($N_WORKERS)"
assert_match "id=\"worker-banner\">[0-9]+ of $N_WORKERS certvault-worker processes are stale" "$PAGE" \
	"a banner says workers are stale"
# (3) the key pool: the count of each type between the reads around the GET
# (the worker only adds keys meanwhile).
if [ -z "$POOL_AFTER" ]; then
	assert_match 'The pool is empty' "$PAGE" "key pool: empty, and said so"
fi
while read -r spec n_after; do
	[ -n "$spec" ] || continue
	n_before=$(printf '%s\n' "$POOL_BEFORE" | awk -v s="$spec" '$1 == s { print $2 }')
	shown=$(rows "$T_TMP/page.html" key-pool | sed -n "s|^<tr class=\"pool\"><td class=\"txt\">$spec</td><td class=\"n\">\\([0-9]*\\)</td>.*|\\1|p")
	assert_true "key pool $spec: $shown keys shown (database: ${n_before:-0}..$n_after)" \
		test -n "$shown" -a "${shown:-0}" -ge "${n_before:-0}" -a "${shown:-0}" -le "$n_after"
done <<<"$POOL_AFTER"
# (4) this node.
FCGI_N=$(children "$(master_pid)" | wc -l)
assert_match "<td id=\"node-host\">$(hostname)</td>" "$PAGE" "node: host name $(hostname)"
assert_match "<td id=\"node-version\">$("$CERTVAULT_BUILD_DIR/src/certvault-fcgi" --version | awk '{ print $2 }')</td>" \
	"$PAGE" "node: certvault version"
assert_match "<td id=\"node-fcgi\">$FCGI_N running" "$PAGE" "node: $FCGI_N certvault-fcgi workers"
assert_match '<td id="node-db"><span class="b s-ok">reachable</span>' "$PAGE" "node: database reachable"
assert_no_match 'db-banner' "$PAGE" "no database banner"

# --- operators only -----------------------------------------------------------
status_get --interface 127.0.0.2
assert_kv_error 403 Forbidden "Operator pages are served only to the addresses in operator_networks." \
	"GET /status from 127.0.0.2"
KV_HOST=127.0.0.1 kv_curl GET /status --interface 127.0.0.2
assert_status 403 "GET /status from 127.0.0.2 with the vault's token: still 403"

# --- headless Chromium ------------------------------------------------------------
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
PROFILE=$T_TMP/chromium-profile
# Trust exactly the stack's certificate (its public key's SHA-256, base64),
# not any certificate.
SPKI=$(certtool --key-id --hash=sha256 --infile "$CERTVAULT_CA" 2>/dev/null | tr -d ' \n')
SPKI=$(printf '%s' "$SPKI" | sed 's/../\\x&/g')
# shellcheck disable=SC2059 # the format is the key id as \x escapes
SPKI=$(printf "$SPKI" | base64)

# chromium_left: pids of Chromium processes of our profile still running.
chromium_left() { pgrep -f -- "--user-data-dir=$PROFILE" || true; }
# chromium_kill_left: end those (by pid: only ours).
chromium_kill_left() {
	local p
	for p in $(chromium_left); do kill -9 "$p" 2>/dev/null; done
	return 0
}
t_on_exit chromium_kill_left

# chromium ARG...: one headless run on the page, bounded; stdout is the
# caller's, stderr goes to $T_TMP/chromium.err.
chromium() {
	mkdir -p "$T_TMP/chromium-home"
	HOME=$T_TMP/chromium-home timeout -k 5 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--disable-background-networking --disable-dev-shm-usage --no-first-run \
		--disable-extensions --hide-scrollbars --user-data-dir="$PROFILE" \
		--ignore-certificate-errors-spki-list="$SPKI" --window-size=1280,900 \
		"$@" "$STATUS_URL" 2>>"$T_TMP/chromium.err"
}

# png_u32 FILE OFFSET: the big-endian 32-bit number at OFFSET.
png_u32() { od -An -tu1 -j "$2" -N 4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }

if [ -z "$CHROMIUM" ]; then
	fail "chromium is installed (Debian package chromium; ./test.sh installs it)"
else
	t0=$(now_ms)
	chromium --dump-dom >"$T_TMP/dom.html"
	rc=$?
	assert_eq 0 "$rc" "chromium --dump-dom: exit 0 in $(($(now_ms) - t0)) ms" ||
		diag "$(tail -n 5 "$T_TMP/chromium.err")"
	DOM=$(cat "$T_TMP/dom.html")
	assert_match '<table id="pending-by-vault">' "$DOM" "DOM: the pending operations table"
	assert_eq "$N_GROUPS" "$(rows "$T_TMP/dom.html" pending-by-vault | wc -l)" \
		"DOM: $N_GROUPS rows of pending operations by vault and status"
	assert_eq "$N_OLDEST" "$(rows "$T_TMP/dom.html" oldest-in-progress | wc -l)" \
		"DOM: $N_OLDEST rows of operations in progress"
	assert_eq "$N_WORKERS" "$(rows "$T_TMP/dom.html" worker-heartbeats | wc -l)" "DOM: $N_WORKERS worker rows"
	assert_match "<tr class=\"stale\"><td class=\"txt\">$GHOST</td>" "$DOM" "DOM: the ghost worker's row is stale"
	assert_eq 0 "$(grep -ci '<script\|<img' "$T_TMP/dom.html")" "DOM: no script or img element was built"
	assert_true "DOM: the CA's text is text" \
		grep -qF '<td class="err">CA said &lt;script&gt;alert(1)&lt;/script&gt; &amp; "quoted"</td>' "$T_TMP/dom.html"
	assert_match "<title>certvault status — $(hostname)</title>" "$DOM" "DOM: the title is ours (nothing ran)"

	rm -f "$T_TMP/status.png"
	t0=$(now_ms)
	chromium --screenshot="$T_TMP/status.png" >/dev/null
	rc=$?
	assert_eq 0 "$rc" "chromium --screenshot: exit 0 in $(($(now_ms) - t0)) ms" ||
		diag "$(tail -n 5 "$T_TMP/chromium.err")"
	assert_eq "89 50 4e 47 0d 0a 1a 0a 49 48 44 52" \
		"$(od -An -tx1 -N 16 "$T_TMP/status.png" 2>/dev/null | tr -s ' \n' ' ' | sed 's/^ //; s/ $//' | cut -d' ' -f1-8,13-16)" \
		"screenshot: a PNG (signature, IHDR first)"
	assert_eq "1280x900" "$(png_u32 "$T_TMP/status.png" 16)x$(png_u32 "$T_TMP/status.png" 20)" \
		"screenshot: 1280x900"
	# A page of tables and text; a blank one compresses to a few KB.
	size=$(stat -c %s "$T_TMP/status.png" 2>/dev/null || echo 0)
	assert_true "screenshot: $size bytes (> 20000)" test "$size" -gt 20000
	if [ -s "$T_TMP/status.png" ]; then
		cp "$T_TMP/status.png" "$SHOT" && diag "screenshot: $SHOT"
		cp "$T_TMP/status.png" "$CERTVAULT_HOME/log/status-page.png" 2>/dev/null &&
			diag "screenshot: $CERTVAULT_HOME/log/status-page.png"
	fi
	assert_eq "" "$(chromium_left)" "no Chromium process left running"
fi

# --- PostgreSQL down: still a page, 503 ---------------------------------------------
cv_pg_stop 2>/dev/null
assert_true "PostgreSQL stopped" eval '! cv_pg_running'
status_get
assert_status 503 "database down: GET /status 503"
assert_header Content-Type "text/html; charset=utf-8" "database down: still HTML, not a Key Vault error"
assert_header Retry-After 10 "database down: Retry-After 10"
assert_match '<div class="banner bad" id="db-banner" role="alert">Database unreachable: ' "$KV_BODY" \
	"database down: the banner"
assert_match '<td id="node-db"><span class="b s-down">unreachable</span>' "$KV_BODY" "database down: node says unreachable"
assert_match "<td id=\"node-host\">$(hostname)</td>" "$KV_BODY" "database down: the node's own facts are there"
assert_no_match 'pending-by-vault|worker-heartbeats' "$KV_BODY" "database down: no tables of shared state"
if [ -n "$CHROMIUM" ]; then
	chromium --dump-dom >"$T_TMP/dom-down.html"
	assert_true "database down: Chromium renders the banner" \
		grep -q 'id="db-banner" role="alert">Database unreachable' "$T_TMP/dom-down.html"
	assert_eq "" "$(chromium_left)" "no Chromium process left running"
fi
cv_pg_start 2>/dev/null
back() {
	status_get
	[ "$KV_STATUS" = 200 ]
}
t0=$(now_ms)
if wait_until 20 back; then
	ok "database back: /status 200 again within $(($(now_ms) - t0)) ms"
else
	fail "database back: /status 200 again within 20 s" "last status $KV_STATUS"
fi

t_done
