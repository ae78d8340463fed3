#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/t_on_exit
# Scale-out (issue 9): two more certvault nodes — each its own lighttpd,
# certvault-fcgi master and certvault-worker (scripts/stack.sh
# cv_node_start) — on the stack's PostgreSQL, node A on 127.0.0.2 and node B
# on 127.0.0.3, both on the stack's HTTPS port, so that a client sends the
# same Host header to either, as behind a load balancer. The stack's own
# certvault-worker is stopped meanwhile: the nodes' workers do all the
# asynchronous work.
#  (a) the 409 rule across nodes: creates of one name, half through A and
#      half through B, released together → one 202, the rest 409 with the
#      seed's body (checked in the nodes' access logs: both took part; and
#      in audit_log: one success, the winner's client request id);
#  (b) asynchronous operations are done once: LocalCA creates through A and
#      B, carried out by the two nodes' workers (the first certificate's row
#      locked, so that one worker waits on it and the other does the rest):
#      one claim (attempts 1) and one issued version each, claimed_by one
#      of the two workers, both took part, each completion logged once, by
#      the worker that claimed it;
#  (c) paging and ids whichever node answers: a list walked page by page
#      alternating A and B is the list walked on A alone and on B alone,
#      without duplicates; a certificate, a version, its policy and its
#      versions read through A, B and the stack's node are the same bytes;
#  (d) a pending operation made through one node is read, cancelled,
#      merged or deleted through the other, and a LocalCA operation waiting
#      for approval created through A and cancelled through B is cancelled
#      by one worker.
. "$(dirname "$0")/lib.sh"

API=7.5
P=tso-$(cv_random_hex 3)
VAULT=$CERTVAULT_VAULT_NAME
ADDR_A=127.0.0.2
ADDR_B=127.0.0.3
NODE_A=$T_TMP/a
NODE_B=$T_TMP/b
BASE=https://$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT
CONFLICT_MSG="A new key vault certificate can not be created or imported while a pending key vault certificate's status is inProgress."
EC='"key_props":{"kty":"EC","crv":"P-256"}'

# Our rows go whatever happens (certificates first: operations cascade),
# the nodes stop and the stack's worker runs again.
t_on_exit "t_psql \"DELETE FROM certificates WHERE name LIKE '$P-%'\" >/dev/null 2>&1; t_psql \"DELETE FROM issuers WHERE name LIKE '$P-%'\" >/dev/null 2>&1"
t_on_exit 'cv_worker_start >/dev/null 2>&1'
t_on_exit "cv_node_stop '$NODE_A' >/dev/null 2>&1; cv_node_stop '$NODE_B' >/dev/null 2>&1"

T0=$(now_ms)
cv_worker_stop 2>/dev/null
# In a subshell: cv_node_start exits (cv_die) on failure. Its daemons
# outlive the subshell (they run in sessions of their own); cv_node_stop
# finds them by their pid files.
(cv_node_start "$NODE_A" "$ADDR_A" "$CERTVAULT_HTTPS_PORT" "$CERTVAULT_HTTP_PORT") 2>"$T_TMP/node-a.err" ||
	bail "node A did not start: $(tail -n 20 "$T_TMP/node-a.err")"
(cv_node_start "$NODE_B" "$ADDR_B" "$CERTVAULT_HTTPS_PORT" "$CERTVAULT_HTTP_PORT") 2>"$T_TMP/node-b.err" ||
	bail "node B did not start: $(tail -n 20 "$T_TMP/node-b.err")"
diag "nodes up in $(($(now_ms) - T0)) ms"
for n in A:$ADDR_A:$NODE_A B:$ADDR_B:$NODE_B; do
	IFS=: read -r name addr dir <<<"$n"
	assert_eq "lighttpd certvault-fcgi certvault-worker" \
		"$(for p in lighttpd certvault-fcgi certvault-worker; do
			cv_pid_running "$dir/run/$p.pid" "$p" && printf '%s ' "$p"
		done | sed 's/ $//')" "node $name: its own lighttpd, certvault-fcgi and certvault-worker run"
	assert_true "node $name: lighttpd listens on $addr:$CERTVAULT_HTTPS_PORT (the stack's port, beside 127.0.0.1)" \
		cv_port_open "$CERTVAULT_HTTPS_PORT" "$addr"
	KV_ADDR=$addr KV_TOKEN='' kv_curl GET /healthz
	assert_json . '{"status":"ok","database":"ok"}' "node $name: /healthz ok"
done
assert_ne "$(cv_pid_of "$NODE_A/run/certvault-fcgi.pid")" "$(cv_pid_of "$NODE_B/run/certvault-fcgi.pid")" \
	"the nodes' certvault-fcgi masters are two processes"
assert_true "the stack's certvault-worker is stopped for the test" \
	eval "! cv_pid_running '$CERTVAULT_WORKER_PIDFILE' certvault-worker"

# on A|B METHOD PATH [JSON]: kv_curl (kv_send with JSON) through node A or B.
on() {
	local addr=$ADDR_A
	[ "$1" = B ] && addr=$ADDR_B
	if [ "$#" -ge 4 ]; then
		KV_ADDR=$addr kv_send "$2" "$3" "$4"
	else
		KV_ADDR=$addr kv_curl "$2" "$3"
	fi
}

# ============================================================================
# (a) the 409 rule across nodes
# ============================================================================
PER_NODE=10
RACE_BODY="{\"policy\":{$EC,\"x509_props\":{\"subject\":\"CN=race.example\"},\"issuer\":{\"name\":\"Unknown\"}}}"

# race NAME DIR: PER_NODE curl processes for each node wait for DIR/go, then
# POST create at once; racer A3 writes DIR/A3.status and DIR/A3.body, with
# x-ms-client-request-id DIR's basename-A3.
race() {
	local name=$1 dir=$2 i node addr pids=()
	mkdir -p "$dir"
	(umask 077 && printf 'Authorization: Bearer %s\n' "$CERTVAULT_TOKEN" >"$dir/auth")
	for node in A B; do
		addr=$ADDR_A
		[ "$node" = B ] && addr=$ADDR_B
		for ((i = 1; i <= PER_NODE; i++)); do
			(
				n=0
				until [ -e "$dir/go" ]; do
					n=$((n + 1))
					[ "$n" -gt 1000 ] && exit 1 # 10 s at most
					sleep 0.01
				done
				curl -sS --max-time 30 --cacert "$CERTVAULT_CA" \
					--resolve "$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT:$addr" \
					-H "@$dir/auth" -H 'Content-Type: application/json' \
					-H "x-ms-client-request-id: $(basename "$dir")-$node$i" \
					--data-binary "$RACE_BODY" -o "$dir/$node$i.body" -w '%{http_code}\n' \
					"$BASE/certificates/$name/create?api-version=$API" \
					>"$dir/$node$i.status" 2>"$dir/$node$i.err"
			) &
			pids+=($!)
		done
	done
	sleep 0.5 # every racer is waiting
	touch "$dir/go"
	for i in "${pids[@]}"; do wait "$i" || true; done
	rm -f "$dir/auth"
}

# count DIR STATUS: how many racers got STATUS.
count() { cat "$1"/*.status 2>/dev/null | grep -c "^$2\$" || true; }

# conflicts_exact DIR: how many 409 bodies are exactly the seed's.
conflicts_exact() {
	local f n=0 want
	want=$(jq -nc --arg m "$CONFLICT_MSG" '{error: {code: "Forbidden", message: $m}}')
	for f in "$1"/*.status; do
		[ "$(cat "$f")" = 409 ] || continue
		[ "$(cat "${f%.status}.body")" = "$want" ] && n=$((n + 1))
	done
	echo "$n"
}

# access_count NODE_DIR NAME: create requests for NAME in a node's access log.
access_count() {
	grep -c "access vault=$VAULT method=POST path=/certificates/$2/create status=" \
		"$1/log/certvault-fcgi.log" 2>/dev/null || true
}

RACERS=$((2 * PER_NODE))
for r in 1 2 3; do
	N=$P-race$r
	D=$T_TMP/race$r
	race "$N" "$D"
	c202=$(count "$D" 202)
	c409=$(count "$D" 409)
	if ! assert_eq "1 $((RACERS - 1))" "$c202 $c409" \
		"race $r: $PER_NODE creates through A and $PER_NODE through B at once: one 202, $((RACERS - 1)) 409"; then
		diag "statuses: $(for f in "$D"/*.status; do printf '%s=%s ' "$(basename "$f" .status)" "$(cat "$f")"; done)"
	fi
	assert_eq $((RACERS - 1)) "$(conflicts_exact "$D")" "race $r: every 409 is Key Vault's conflict error (the seed's body)"
	diag "race $r: 202 through node $(grep -l '^202$' "$D"/*.status | xargs -r -n1 basename | cut -c1)"
	assert_eq "$PER_NODE $PER_NODE" "$(access_count "$NODE_A" "$N") $(access_count "$NODE_B" "$N")" \
		"race $r: each node's certvault-fcgi served $PER_NODE of them (access logs)"
	WIN=$(grep -l '^202$' "$D"/*.status | head -n 1 || true)
	WIN=$(basename "${WIN:-none}" .status)
	assert_eq "1|$((RACERS - 1))|race$r-$WIN" \
		"$(t_psql "SELECT count(*) FILTER (WHERE outcome = 'success' AND http_status = 202) || '|' ||
			count(*) FILTER (WHERE outcome = 'error' AND http_status = 409) || '|' ||
			coalesce(min(client_request_id) FILTER (WHERE outcome = 'success'), '-')
			FROM audit_log WHERE vault_name = '$VAULT' AND operation = 'CertificateCreate'
			AND object_name = '$N'")" \
		"race $r: audit_log has one success (the winner's client request id) and $((RACERS - 1)) 409 errors"
	assert_eq "1|1|1|1" "$(t_psql "SELECT
		(SELECT count(*) FROM certificates c WHERE lower(c.name) = lower('$N')) || '|' ||
		(SELECT count(*) FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id WHERE lower(c.name) = lower('$N')) || '|' ||
		(SELECT count(*) FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id WHERE lower(c.name) = lower('$N')) || '|' ||
		(SELECT count(*) FROM keys k JOIN certificates c ON c.id = k.certificate_id WHERE lower(c.name) = lower('$N'))")" \
		"race $r: one certificate, one version, one operation, one key"
done
diag "(a) done at $(($(now_ms) - T0)) ms"

# ============================================================================
# (c) paging and ids whichever node answers
# ============================================================================
PAGE_N=11
MAXR=3
for i in $(seq -w 1 "$PAGE_N"); do
	node=A
	[ $((10#$i % 2)) -eq 0 ] && node=B
	on "$node" POST "/certificates/$P-page-$i/create?api-version=$API" \
		"{\"policy\":{$EC,\"x509_props\":{\"subject\":\"CN=page$i.example\"},\"issuer\":{\"name\":\"Self\"}}}"
	[ "$KV_STATUS" = 202 ] || fail "Self create $P-page-$i through $node: 202" "status $KV_STATUS: $KV_BODY"
done
assert_eq "$PAGE_N" "$(t_psql "SELECT count(*) FROM certificates c JOIN certificate_versions v ON v.certificate_id = c.id
	WHERE c.name LIKE '$P-page-%' AND v.certificate_der IS NOT NULL")" \
	"$PAGE_N Self certificates created, alternately through A and B"

# walk SEQ OUT: walk the certificate list, maxresults MAXR, page k through
# node SEQ[k mod len] (e.g. "AB": A, B, A, …); ids to OUT (one a line),
# sets PAGES. Fails a check for a page that is not 200 or a nextLink that
# is not under BASE.
walk() {
	local seq=$1 out=$2 path k=0 next
	path="/certificates?api-version=$API&maxresults=$MAXR"
	: >"$out"
	PAGES=0
	while [ -n "$path" ] && [ "$k" -lt 100 ]; do
		on "${seq:$((k % ${#seq})):1}" GET "$path"
		if [ "$KV_STATUS" != 200 ]; then
			fail "walk $seq: page $((k + 1)) answers 200" "status $KV_STATUS: $KV_BODY"
			return
		fi
		printf '%s' "$KV_BODY" | jq -r '.value[].id' >>"$out"
		next=$(printf '%s' "$KV_BODY" | jq -r '.nextLink // empty')
		if [ -n "$next" ] && [[ $next != "$BASE/certificates?"* ]]; then
			fail "walk $seq: nextLink is under $BASE" "nextLink: $next"
			return
		fi
		path=${next#"$BASE"}
		k=$((k + 1))
	done
	PAGES=$k
}
walk AB "$T_TMP/list-ab"
pages_ab=$PAGES
walk BA "$T_TMP/list-ba"
walk A "$T_TMP/list-a"
walk B "$T_TMP/list-b"
total=$(wc -l <"$T_TMP/list-a")
diag "list: $total certificates, $pages_ab pages of $MAXR"
assert_true "the list takes several pages ($pages_ab ≥ 4)" test "$pages_ab" -ge 4
assert_eq "$(cat "$T_TMP/list-a")" "$(cat "$T_TMP/list-ab")" \
	"pages alternating A, B, A, … (nextLink followed on the other node) = the list walked on A alone"
assert_eq "$(cat "$T_TMP/list-a")" "$(cat "$T_TMP/list-ba")" "pages alternating B, A, B, … = the same list"
assert_eq "$(cat "$T_TMP/list-a")" "$(cat "$T_TMP/list-b")" "the list walked on B alone = the same list"
assert_eq "$total" "$(sort -u "$T_TMP/list-ab" | wc -l)" "no certificate twice in the alternating walk"
assert_eq "$PAGE_N" "$(grep -c "^$BASE/certificates/$P-page-" "$T_TMP/list-ab")" \
	"all $PAGE_N new certificates are in it, with ids under $BASE"

# The same certificate through A, B and the stack's own node: the same bytes.
C=$P-page-01
on A GET "/certificates/$C?api-version=$API"
assert_status 200 "GET $C through A: 200"
CERT_A=$KV_BODY
VER=$(printf '%s' "$CERT_A" | jq -r '.id | split("/") | last')
assert_json '[(.id | startswith("'"$BASE/certificates/$C/"'")), (.kid | startswith("'"$BASE/keys/$C/"'")), (.sid | startswith("'"$BASE/secrets/$C/"'")), (.x5t | length > 20)]' \
	'[true,true,true,true]' "… id, kid, sid under the vault's URL and an x5t"
on B GET "/certificates/$C?api-version=$API"
assert_eq "$CERT_A" "$KV_BODY" "GET $C through B: the same JSON (id, kid, sid, x5t, attributes, policy)"
KV_ADDR=127.0.0.1 kv_curl GET "/certificates/$C?api-version=$API"
assert_eq "$CERT_A" "$KV_BODY" "… and through the stack's node on 127.0.0.1"
# (Not the secret: an export is made afresh on each GET.)
for p in "/certificates/$C/$VER" "/certificates/$C/policy" "/certificates/$C/versions"; do
	on A GET "$p?api-version=$API"
	body_a=$KV_BODY status_a=$KV_STATUS
	on B GET "$p?api-version=$API"
	assert_eq "200 $body_a" "$status_a $KV_BODY" "GET ${p/$C/NAME} through A and through B: 200, the same JSON"
done
diag "(c) done at $(($(now_ms) - T0)) ms"

# ============================================================================
# (d) one pending operation, two nodes
# ============================================================================
UNKNOWN_BODY="{\"policy\":{$EC,\"x509_props\":{\"subject\":\"CN=merge.example\"},\"issuer\":{\"name\":\"Unknown\"}}}"
TEST_CA=$T_TMP/testca
test_ca_make "$TEST_CA" || bail "certtool could not make a test CA"

# Made on A; read, cancelled and merged on B.
M=$P-merge
on A POST "/certificates/$M/create?api-version=$API" "$UNKNOWN_BODY"
assert_status 202 "create $M (issuer Unknown) through A: 202"
RID=$(printf '%s' "$KV_BODY" | jq -r .request_id)
CSR=$(printf '%s' "$KV_BODY" | jq -r .csr)
on B GET "/certificates/$M/pending?api-version=$API"
assert_json -r '[.request_id, .csr, .status, .id] | join(" ")' "$RID $CSR inProgress $BASE/certificates/$M/pending" \
	"GET pending through B: A's operation (request_id, csr, inProgress, id)"
on B POST "/certificates/$M/create?api-version=$API" "$UNKNOWN_BODY"
assert_kv_error 409 Forbidden "$CONFLICT_MSG" "create $M again through B while A's is inProgress"
on B PATCH "/certificates/$M/pending?api-version=$API" '{"cancellation_requested":true}'
assert_status 200 "cancel through B: 200"
on A GET "/certificates/$M/pending?api-version=$API"
assert_json -r '[.cancellation_requested, .status, .request_id] | map(tostring) | join(" ")' "true inProgress $RID" \
	"GET pending through A: cancellation_requested, still inProgress"
test_ca_sign "$TEST_CA" "$CSR" "$T_TMP/merge" || bail "certtool could not sign $M's CSR"
on B POST "/certificates/$M/pending/merge?api-version=$API" \
	"{\"x5c\":[\"$(base64 -w0 "$T_TMP/merge.der")\",\"$(base64 -w0 "$TEST_CA/ca.der")\"]}"
assert_status 201 "merge through B: 201"
on A GET "/certificates/$M?api-version=$API"
assert_json -r .x5t "$(x5t_of "$T_TMP/merge.der")" "GET through A: the merged certificate (x5t)"
on A GET "/certificates/$M/pending?api-version=$API"
assert_json -r '[.status, .request_id] | join(" ")' "completed $RID" "GET pending through A: completed"

# Made on B; deleted on A.
X=$P-delete
on B POST "/certificates/$X/create?api-version=$API" "$UNKNOWN_BODY"
assert_status 202 "create $X (issuer Unknown) through B: 202"
RIDX=$(printf '%s' "$KV_BODY" | jq -r .request_id)
on A DELETE "/certificates/$X/pending?api-version=$API"
assert_status 200 "DELETE pending through A: 200"
assert_json -r .request_id "$RIDX" "… B's operation"
on B GET "/certificates/$X/pending?api-version=$API"
assert_kv_error 404 PendingCertificateNotFound "Pending certificate not found: $X" "GET pending through B after the DELETE on A"
on B POST "/certificates/$X/create?api-version=$API" "$UNKNOWN_BODY"
assert_status 202 "the name is free again: create through B 202"

# A LocalCA operation waiting for approval: made on A, cancelled on B, the
# cancellation carried out by one of the nodes' workers.
on A PUT "/certificates/issuers/$P-ap?api-version=$API" '{"provider":"LocalCA","org_details":{"id":"approval-required"}}'
assert_status 200 "PUT LocalCA issuer $P-ap (approval-required) through A: 200"
W=$P-wait
on A POST "/certificates/$W/create?api-version=$API" \
	"{\"policy\":{$EC,\"x509_props\":{\"subject\":\"CN=wait.example\"},\"issuer\":{\"name\":\"$P-ap\"}}}"
assert_status 202 "create $W with it through A: 202"
RIDW=$(printf '%s' "$KV_BODY" | jq -r .request_id)
details_on() {
	on "$1" GET "/certificates/$W/pending?api-version=$API"
	[[ $(printf '%s' "$KV_BODY" | jq -r .status_details) == "Waiting for an operator's approval"* ]]
}
assert_true "a node's worker leaves it waiting for approval (seen through B)" wait_until 15 details_on B
on B PATCH "/certificates/$W/pending?api-version=$API" '{"cancellation_requested":true}'
assert_status 200 "cancel through B: 200"
status_on() {
	on "$1" GET "/certificates/$W/pending?api-version=$API"
	[ "$(printf '%s' "$KV_BODY" | jq -r .status)" = "$2" ]
}
assert_true "a node's worker cancels it (seen through A)" wait_until 15 status_on A cancelled
assert_eq 1 "$(cat "$NODE_A/log/certvault-worker.log" "$NODE_B/log/certvault-worker.log" |
	grep -c "operation $RIDW of $VAULT/$W (issuer $P-ap): cancelled")" \
	"… once: one cancellation line in the two workers' logs"
diag "(d) done at $(($(now_ms) - T0)) ms"

# ============================================================================
# (b) asynchronous operations are done once
# ============================================================================
K=8
on B PUT "/certificates/issuers/$P-ca?api-version=$API" '{"provider":"LocalCA"}'
assert_status 200 "PUT LocalCA issuer $P-ca through B: 200"
cv_admin issuer ca-certificate "$VAULT" "$P-ca" >"$T_TMP/ca.pem" 2>"$T_TMP/admin.err" ||
	bail "issuer ca-certificate: $(cat "$T_TMP/admin.err")"
# The workers stop while the operations are made, so that all are due when
# they start again; the first certificate's row is locked meanwhile, so
# that the worker that claims its operation (the oldest) waits there with
# its claim and the other one must carry on with the rest (SKIP LOCKED).
cv_worker_stop "$NODE_A/run/certvault-worker.pid" 2>/dev/null
cv_worker_stop "$NODE_B/run/certvault-worker.pid" 2>/dev/null
for i in $(seq 1 "$K"); do
	node=A
	[ $((i % 2)) -eq 0 ] && node=B
	on "$node" POST "/certificates/$P-b-$i/create?api-version=$API" \
		"{\"policy\":{$EC,\"x509_props\":{\"subject\":\"CN=b$i.example\"},\"issuer\":{\"name\":\"$P-ca\"}}}"
	[ "$KV_STATUS" = 202 ] || fail "LocalCA create $P-b-$i through $node: 202" "status $KV_STATUS: $KV_BODY"
done
assert_eq "$K|$K" "$(t_psql "SELECT count(*) || '|' || count(*) FILTER (WHERE p.status = 'inProgress' AND p.attempts = 0)
	FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id WHERE c.name LIKE '$P-b-%'")" \
	"$K LocalCA operations made through A and B, none claimed yet"
cert_lock "$P-b-1" || bail "the locking session did not start"
cv_worker_start "$NODE_A/run/certvault-worker.pid" "$NODE_A/log/certvault-worker.log" 2>/dev/null
cv_worker_start "$NODE_B/run/certvault-worker.pid" "$NODE_B/log/certvault-worker.log" 2>/dev/null
WA=$(cv_pid_of "$NODE_A/run/certvault-worker.pid")
WB=$(cv_pid_of "$NODE_B/run/certvault-worker.pid")
HOST=$(uname -n) # what the workers' gethostname() says
b_completed() {
	[ "$(t_psql "SELECT count(*) FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id
		WHERE c.name LIKE '$P-b-%' AND p.status = 'completed'")" = "$1" ]
}
assert_true "while one worker waits on the locked certificate, the other completes the other $((K - 1))" \
	wait_until 20 b_completed $((K - 1))
cert_unlock
assert_true "unlocked: all $K completed" wait_until 20 b_completed "$K"
assert_eq "$K|$K|$K" "$(t_psql "SELECT count(*) || '|' || count(*) FILTER (WHERE p.attempts = 1) || '|' ||
	count(*) FILTER (WHERE p.claimed_by IN ('$HOST:$WA', '$HOST:$WB'))
	FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id WHERE c.name LIKE '$P-b-%'")" \
	"each operation claimed once (attempts 1), by node A's or node B's worker (claimed_by)"
assert_eq "2|1" "$(t_psql "SELECT count(DISTINCT p.claimed_by) || '|' ||
	count(DISTINCT p.claimed_by) FILTER (WHERE c.name <> '$P-b-1')
	FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id WHERE c.name LIKE '$P-b-%'")" \
	"both workers took part: one claimed the locked certificate's, the other all the rest"
diag "claims: $(t_psql "SELECT string_agg(claimed_by || '=' || n, ', ') FROM (SELECT p.claimed_by, count(*) AS n
	FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id WHERE c.name LIKE '$P-b-%'
	GROUP BY 1) s") (node A's worker $HOST:$WA, node B's $HOST:$WB)"
assert_eq "$K|$K|$K|$K" "$(t_psql "SELECT count(*) || '|' || count(v.certificate_der) || '|' ||
	count(DISTINCT c.id) || '|' || count(*) FILTER (WHERE v.id = p.target_version_id)
	FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id
	JOIN pending_operations p ON p.certificate_id = c.id WHERE c.name LIKE '$P-b-%'")" \
	"one version per create, issued once, the operation's own"
assert_eq "$K|$K" "$(t_psql "SELECT count(*) || '|' || count(DISTINCT object_name) FROM audit_log
	WHERE vault_name = '$VAULT' AND operation = 'CertificateCreate' AND object_name LIKE '$P-b-%' AND outcome = 'success'")" \
	"audit_log: one successful create each"
# Each completion is logged once, by the worker that claimed it.
bad=
while IFS='|' read -r name rid who; do
	n=$(cat "$NODE_A/log/certvault-worker.log" "$NODE_B/log/certvault-worker.log" |
		grep -c "operation $rid of $VAULT/$name (issuer $P-ca): completed")
	log=$NODE_A/log/certvault-worker.log
	[ "$who" = "$HOST:$WB" ] && log=$NODE_B/log/certvault-worker.log
	if [ "$n" != 1 ] || ! grep -q "pid=${who##*:} operation $rid of $VAULT/$name (issuer $P-ca): completed" "$log"; then
		bad+=" $name($n)"
	fi
done < <(t_psql "SELECT c.name || '|' || p.request_id || '|' || p.claimed_by FROM pending_operations p
	JOIN certificates c ON c.id = p.certificate_id WHERE c.name LIKE '$P-b-%'")
assert_eq "" "$bad" "the workers' logs: each operation completed once, by the worker that claimed it"
cv_pem() {
	{
		echo '-----BEGIN CERTIFICATE-----'
		printf '%s' "$KV_BODY" | jq -r .cer | base64 -d | base64 -w 64
		echo '-----END CERTIFICATE-----'
	} >"$1"
}
on A GET "/certificates/$P-b-2?api-version=$API"
cv_pem "$T_TMP/b2.pem"
certtool --verify --load-ca-certificate "$T_TMP/ca.pem" --infile "$T_TMP/b2.pem" >"$T_TMP/verify.out" 2>&1
assert_match 'Verified' "$(cat "$T_TMP/verify.out")" "an issued certificate verifies against the LocalCA (certtool)"
diag "(b) done at $(($(now_ms) - T0)) ms"

# ============================================================================
# The nodes stop; the stack is as it was.
# ============================================================================
cv_node_stop "$NODE_A" 2>/dev/null
cv_node_stop "$NODE_B" 2>/dev/null
assert_true "cv_node_stop: nothing listens on $ADDR_A or $ADDR_B any more" \
	eval "! cv_port_open $CERTVAULT_HTTPS_PORT $ADDR_A && ! cv_port_open $CERTVAULT_HTTPS_PORT $ADDR_B"
assert_eq "" "$(for d in "$NODE_A" "$NODE_B"; do ls "$d/run"; done)" "… and the nodes' pid files and sockets are gone"
cv_worker_start 2>/dev/null
assert_true "the stack's certvault-worker runs again" cv_pid_running "$CERTVAULT_WORKER_PIDFILE" certvault-worker
KV_ADDR=127.0.0.1 kv_curl GET /healthz
assert_status 200 "the stack's own node answers /healthz"
diag "total $(($(now_ms) - T0)) ms"

t_done
