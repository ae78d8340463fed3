#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/t_on_exit
# Asynchronous issuance by certvault-worker (issue 5): a LocalCA issuer
# signs (the chain verifies with certtool against the CA that
# `certvault-admin issuer ca-certificate` prints), approval then
# completion, rejection → failed "Request rejected", cancellation before
# signing → cancelled, a partner provider → failed "Certificate issuer
# error", a disabled or deleted issuer → failed, merge 403 while
# inProgress and 201 after a failure, DELETE pending while waiting (the
# worker makes no version), a transient failure (no master key) retried
# with back-off; with a session holding the certificate's row lock so
# that the worker waits between signing and storing: SIGKILL there (the
# lease brings the operation back, issued once), a cancellation there
# (completed, status_details says it had no effect), a DELETE pending
# there (the outcome is dropped); the durability test (a stream of
# creates while the worker is killed with SIGKILL again and again: every
# operation completes once, one issued version each) and two workers at
# once without doubles.
. "$(dirname "$0")/lib.sh"

API=7.5
P=ti-$(cv_random_hex 3)
WORKER_BIN=$CERTVAULT_BUILD_DIR/src/certvault-worker
VAULT=$CERTVAULT_VAULT_NAME
DETAILS_ISSUER="Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later."
WAITING_RE="^Waiting for an operator's approval \\(certvault-admin operation approve $VAULT [^ ]+\\)\\.\$"

# Our rows go whatever happens (certificates first: operations cascade),
# and the stack's worker runs again.
t_on_exit "t_psql \"DELETE FROM certificates WHERE name LIKE '$P-%'\" >/dev/null 2>&1; t_psql \"DELETE FROM issuers WHERE name LIKE '$P-%'\" >/dev/null 2>&1"
t_on_exit 'stack_restore >/dev/null 2>&1'

# issuer_put NAME PROVIDER [ORG_ID]: PUT /certificates/issuers/NAME.
issuer_put() {
	local org=
	[ -n "${3:-}" ] && org=",\"org_details\":{\"id\":\"$3\"}"
	kv_send PUT "/certificates/issuers/$1?api-version=$API" "{\"provider\":\"$2\"$org}"
	assert_status 200 "PUT issuer $1 (provider $2${3:+, org_details.id $3}): 200"
}

# create NAME ISSUER: POST create with an EC P-256 key, a SAN, 6 months.
create() {
	kv_send POST "/certificates/$1/create?api-version=$API" "{\"policy\":{
		\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":true},
		\"secret_props\":{\"contentType\":\"application/x-pem-file\"},
		\"x509_props\":{\"subject\":\"CN=$1.example\",\"sans\":{\"dns_names\":[\"$1.example\"]},
			\"ekus\":[\"1.3.6.1.5.5.7.3.1\"],\"validity_months\":6},
		\"issuer\":{\"name\":\"$2\"}}}"
}

pending() { kv_curl GET "/certificates/$1/pending?api-version=$API"; }

# status_is NAME STATUS: the operation's status is STATUS now.
status_is() {
	pending "$1"
	[ "$(printf '%s' "$KV_BODY" | jq -r .status 2>/dev/null)" = "$2" ]
}

# waiting NAME: the operation waits for an operator.
waiting() {
	pending "$1"
	[[ $(printf '%s' "$KV_BODY" | jq -r .status_details 2>/dev/null) =~ $WAITING_RE ]]
}

# wait_status NAME STATUS DESCRIPTION: poll GET pending ≤ 30 s.
wait_status() {
	if wait_until 30 status_is "$1" "$2"; then
		ok "$3"
	else
		fail "$3" "last status $KV_STATUS: $KV_BODY"
	fi
}

wait_waiting() {
	if wait_until 30 waiting "$1"; then
		ok "$2"
	else
		fail "$2" "last status $KV_STATUS: $KV_BODY"
	fi
}

# cer_pem NAME FILE: the latest version's cer as PEM in FILE.
cer_pem() {
	kv_curl GET "/certificates/$1/?api-version=$API"
	{
		echo '-----BEGIN CERTIFICATE-----'
		printf '%s' "$KV_BODY" | jq -r .cer | base64 -d | base64 -w 64
		echo '-----END CERTIFICATE-----'
	} >"$2"
}

# verifies CA_PEM LEAF_PEM: certtool trusts LEAF with CA_PEM as the CA.
verifies() {
	certtool --verify --load-ca-certificate "$1" --infile "$2" >"$T_TMP/verify.out" 2>&1 &&
		grep -q 'Verified' "$T_TMP/verify.out"
}

# op_sql NAME COLUMN: a column of NAME's row in pending_operations.
op_sql() {
	t_psql "SELECT $2 FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id
		JOIN vaults v ON v.id = c.vault_id WHERE v.name = '$VAULT' AND c.name = '$1'"
}

# merge_signed NAME: merge a chain signed by a certtool test CA for the
# operation's CSR (sets KV_STATUS).
TEST_CA=$T_TMP/testca
test_ca_make "$TEST_CA" || bail "certtool could not make a test CA"
merge_signed() {
	local csr
	pending "$1"
	csr=$(printf '%s' "$KV_BODY" | jq -r .csr)
	test_ca_sign "$TEST_CA" "$csr" "$T_TMP/$1" || bail "certtool could not sign $1's CSR"
	kv_send POST "/certificates/$1/pending/merge?api-version=$API" \
		"{\"x5c\":[\"$(base64 -w0 "$T_TMP/$1.der")\",\"$(base64 -w0 "$TEST_CA/ca.der")\"]}"
}

diag "worker_interval = $(sed -n 's/^worker_interval *= *//p' "$CERTVAULT_CONFIG") s"

# --- LocalCA: the CA, then completion ------------------------------------------
issuer_put "$P-ca" LocalCA
cv_admin issuer ca-certificate "$VAULT" "$P-ca" >"$T_TMP/ca.pem" 2>"$T_TMP/admin.err"
assert_eq 0 "$?" "issuer ca-certificate before any issuance: exit 0 (the CA is made on demand)"
assert_match '^-----BEGIN CERTIFICATE-----' "$(head -n 1 "$T_TMP/ca.pem")" "… prints a PEM certificate"
assert_match "Subject: CN=certvault LocalCA $VAULT/$P-ca" "$(certtool -i --infile "$T_TMP/ca.pem" 2>/dev/null)" \
	"… whose subject names vault and issuer"
assert_match 'Certificate Authority \(CA\): TRUE' "$(certtool -i --infile "$T_TMP/ca.pem" 2>/dev/null)" \
	"… and which is a CA"
cv_admin issuer ca-certificate "$VAULT" "$P-ca" >"$T_TMP/ca2.pem" 2>/dev/null
assert_eq "$(cat "$T_TMP/ca.pem")" "$(cat "$T_TMP/ca2.pem")" "issuer ca-certificate again: the same CA"
assert_eq 1 "$(t_psql "SELECT count(*) FROM issuer_credentials ic JOIN issuers i ON i.id = ic.issuer_id
	WHERE i.name = '$P-ca' AND ic.credential_type = 'ca_private_key'")" \
	"the CA key is stored once, as the issuer's ca_private_key credential"
assert_eq 1 "$(t_psql "SELECT array_length(ca_chain_der, 1) FROM issuers WHERE name = '$P-ca'")" \
	"the CA certificate is the issuer's ca_chain_der"

N1=$P-local
create "$N1" "$P-ca"
assert_status 202 "create with a LocalCA issuer: 202"
assert_json .status '"inProgress"' "… inProgress"
assert_json -r .status_details "$DETAILS_ISSUER" "… with the issuer's status_details"
assert_json -r .issuer.name "$P-ca" "… naming the issuer"
wait_status "$N1" completed "the worker completes it (≤ 30 s)"
assert_json -r .target "https://$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT/certificates/$N1" "completed: target"
assert_json '[has("error"), has("status_details")]' '[false,false]' "completed: no error, no status_details"
cer_pem "$N1" "$T_TMP/leaf.pem"
assert_json .attributes.enabled true "the version is enabled"
assert_true "the certificate verifies against the CA (certtool --verify)" verifies "$T_TMP/ca.pem" "$T_TMP/leaf.pem"
info=$(certtool -i --infile "$T_TMP/leaf.pem" 2>/dev/null)
assert_match "Issuer: CN=certvault LocalCA $VAULT/$P-ca" "$info" "… issued by the LocalCA"
assert_match "Subject: CN=$N1.example" "$info" "… with the policy's subject"
assert_match "DNSname: $N1.example" "$info" "… the policy's SAN"
assert_match 'Certificate Authority \(CA\): FALSE' "$info" "… CA:FALSE"
assert_match 'TLS WWW Server' "$info" "… the policy's EKU"
nbf=$(printf '%s' "$KV_BODY" | jq .attributes.nbf)
exp=$(printf '%s' "$KV_BODY" | jq .attributes.exp)
assert_eq $((183 * 86400 + 600)) "$((exp - nbf))" "… valid for validity_months 6 (183 days)"
kv_curl GET "/secrets/$N1?api-version=$API"
assert_eq 2 "$(printf '%s' "$KV_BODY" | jq -r .value | grep -c 'BEGIN CERTIFICATE')" \
	"the secret holds the chain: leaf and CA"
assert_eq "1|true|false" "$(op_sql "$N1" "attempts || '|' || (next_attempt_at IS NULL) || '|' || (worker_last_error IS NOT NULL)")" \
	"pending_operations: one attempt, nothing left to do, no worker error"
assert_match '^[^:]+:[0-9]+$' "$(op_sql "$N1" claimed_by)" "… claimed_by is host:pid"
N2=$P-local2
create "$N2" "$P-ca"
wait_status "$N2" completed "a second certificate of the same issuer completes"
cer_pem "$N2" "$T_TMP/leaf2.pem"
assert_true "… and verifies against the same CA" verifies "$T_TMP/ca.pem" "$T_TMP/leaf2.pem"
assert_eq 1 "$(t_psql "SELECT count(*) FROM issuer_credentials ic JOIN issuers i ON i.id = ic.issuer_id
	WHERE i.name = '$P-ca'")" "… still one CA key"

# --- approval -------------------------------------------------------------------
issuer_put "$P-ap" LocalCA approval-required
assert_eq t "$(t_psql "SELECT requires_approval FROM issuers WHERE name = '$P-ap'")" \
	"org_details.id approval-required: requires_approval"
N3=$P-approve
create "$N3" "$P-ap"
assert_status 202 "create with an approval issuer: 202"
wait_waiting "$N3" "the worker leaves it waiting for an operator (status_details)"
assert_json .status '"inProgress"' "… inProgress"
assert_eq t "$(op_sql "$N3" "next_attempt_at IS NULL")" "… with nothing due (next_attempt_at NULL)"
sleep 1.5
assert_true "… and still inProgress a pass later" status_is "$N3" inProgress
merge_signed "$N3"
assert_kv_error 403 Forbidden "Merge is forbidden on pending object created with issuer : $P-ap while it is in progess." \
	"merge while an issuer's operation is inProgress"
create "$N3" "$P-ap"
assert_status 409 "create while it waits: 409"
out=$(cv_admin operation list --vault "$VAULT" 2>&1)
assert_match "$VAULT +$N3 +inProgress +$P-ap +LocalCA" "$out" "operation list shows it"
out=$(cv_admin operation approve "$VAULT" "$N3" --by alice 2>&1)
assert_eq 0 "$?" "operation approve --by alice: exit 0"
assert_match "^approved operation [0-9a-f]{32} of $VAULT/$N3 by alice" "$out" "… says so"
wait_status "$N3" completed "approved: the worker completes it"
cer_pem "$N3" "$T_TMP/leaf3.pem"
cv_admin issuer ca-certificate "$VAULT" "$P-ap" >"$T_TMP/ca-ap.pem" 2>/dev/null
assert_true "… and it verifies against that issuer's CA" verifies "$T_TMP/ca-ap.pem" "$T_TMP/leaf3.pem"
assert_eq alice "$(op_sql "$N3" approved_by)" "approved_by recorded"
out=$(cv_admin operation approve "$VAULT" "$N3" 2>&1)
assert_eq 1 "$?" "approve a completed operation: exit 1"
assert_match "is completed" "$out" "… saying why"

# --- rejection --------------------------------------------------------------------
N4=$P-reject
create "$N4" "$P-ap"
wait_waiting "$N4" "a second request waits"
cv_admin operation reject "$VAULT" "$N4" >/dev/null 2>&1
assert_eq 2 "$?" "reject without --reason: usage error (exit 2)"
out=$(cv_admin operation reject "$VAULT" "$N4" --reason "Not an approved host name." 2>&1)
assert_eq 0 "$?" "operation reject --reason: exit 0"
pending "$N4"
assert_json .status '"failed"' "rejected: failed"
assert_json .error '{"code":"Request rejected","message":"Not an approved host name."}' \
	"… error {Request rejected, the reason}"
assert_json -r .status_details "" "… empty status_details, as the seed shows"
assert_eq "true|true" "$(op_sql "$N4" "(finished_at IS NOT NULL) || '|' || (next_attempt_at IS NULL)")" \
	"… finished, nothing due"
sleep 1.5
assert_true "… and the worker leaves it failed" status_is "$N4" failed
out=$(cv_admin operation approve "$VAULT" "$N4" 2>&1)
assert_eq 1 "$?" "approve after a rejection: exit 1"

# --- cancel while waiting for approval ------------------------------------------------
N5=$P-cancel
create "$N5" "$P-ap"
wait_waiting "$N5" "a third request waits"
kv_send PATCH "/certificates/$N5/pending?api-version=$API" '{"cancellation_requested":true}'
assert_status 200 "cancel while waiting: 200"
wait_status "$N5" cancelled "the worker cancels it"
assert_json .cancellation_requested true "cancelled: cancellation_requested"
assert_match 'cancelled on request' "$(printf '%s' "$KV_BODY" | jq -r .status_details)" \
	"… status_details says it was cancelled on request"
assert_json 'has("error")' false "… no error"
kv_curl GET "/certificates/$N5/?api-version=$API"
assert_json 'has("cer")' false "… and no certificate was issued"
merge_signed "$N5"
assert_status 201 "merge after a cancellation: 201"

# --- partner provider: failed; merge after the failure ----------------------------------
issuer_put "$P-digi" DigiCert
N6=$P-partner
create "$N6" "$P-digi"
assert_status 202 "create with a DigiCert issuer: 202"
wait_status "$N6" failed "the worker fails it"
assert_json .error '{"code":"Certificate issuer error","message":"No connector is configured for the issuer provider DigiCert."}' \
	"… Certificate issuer error: no connector"
issuer_put "$P-gs" GlobalSign
N6b=$P-partner2
create "$N6b" "$P-gs"
wait_status "$N6b" failed "a GlobalSign issuer fails too"
assert_json -r .error.message "No connector is configured for the issuer provider GlobalSign." "… naming GlobalSign"
cv_admin issuer ca-certificate "$VAULT" "$P-digi" >/dev/null 2>&1
assert_eq 1 "$?" "issuer ca-certificate of a DigiCert issuer: exit 1"
merge_signed "$N6"
assert_status 201 "merge after the failure: 201"
pending "$N6"
assert_json '[.status, has("error")]' '["completed",false]' "… completes the operation, error gone"
kv_curl GET "/certificates/$N6/?api-version=$API"
assert_json 'has("cer")' true "… and the version has its certificate"

# --- a disabled or deleted issuer -------------------------------------------------------
issuer_put "$P-off" LocalCA approval-required
N7=$P-disabled
create "$N7" "$P-off"
wait_waiting "$N7" "a request to an issuer about to be disabled waits"
kv_send PATCH "/certificates/issuers/$P-off?api-version=$API" '{"attributes":{"enabled":false}}'
assert_status 200 "PATCH issuer attributes.enabled false: 200"
cv_admin operation approve "$VAULT" "$N7" >/dev/null 2>&1
wait_status "$N7" failed "approved, the disabled issuer fails it"
assert_json .error "{\"code\":\"Certificate issuer error\",\"message\":\"The issuer '$P-off' is disabled.\"}" \
	"… saying the issuer is disabled"
issuer_put "$P-gone" LocalCA approval-required
N8=$P-deleted
create "$N8" "$P-gone"
wait_waiting "$N8" "a request to an issuer about to be deleted waits"
# The issuer route refuses to delete an issuer in use: remove it behind its back.
t_psql "DELETE FROM issuers WHERE name = '$P-gone'" >/dev/null
cv_admin operation approve "$VAULT" "$N8" >/dev/null 2>&1
wait_status "$N8" failed "approved, the deleted issuer fails it"
assert_json -r .error.message "The issuer '$P-gone' no longer exists in this vault." "… saying it is gone"

# --- DELETE pending while it waits for approval ---------------------------------------------
N10=$P-delpend
create "$N10" "$P-ap"
wait_waiting "$N10" "a request waits for approval"
kv_curl DELETE "/certificates/$N10/pending?api-version=$API"
assert_status 200 "DELETE pending while it waits: 200"
out=$(cv_admin operation approve "$VAULT" "$N10" 2>&1)
assert_eq 1 "$?" "approve after DELETE pending: exit 1"
assert_match "has no pending operation" "$out" "… there is nothing to approve"
sleep 1.5
assert_eq "1|0" "$(t_psql "SELECT count(*) || '|' || count(v.certificate_der) FROM certificate_versions v
	JOIN certificates c ON c.id = v.certificate_id WHERE c.name = '$N10'")" \
	"the worker made no certificate for the deleted operation's version"

# --- with the stack's worker stopped: cancel before signing -------------------------------
cv_worker_stop 2>/dev/null
assert_true "stack's certvault-worker stopped" test ! -e "$CERTVAULT_WORKER_PIDFILE"
N9=$P-precancel
create "$N9" "$P-ca"
kv_send PATCH "/certificates/$N9/pending?api-version=$API" '{"cancellation_requested":true}'
assert_status 200 "cancel a LocalCA request before any worker saw it: 200"
timeout 30 "$WORKER_BIN" --config "$CERTVAULT_CONFIG" --once >"$T_TMP/once.log" 2>&1
assert_eq 0 "$?" "certvault-worker --once: exit 0"
pending "$N9"
assert_json .status '"cancelled"' "cancelled before signing: cancelled, not completed"
kv_curl GET "/certificates/$N9/?api-version=$API"
assert_json 'has("cer")' false "… no certificate"

# --- a transient failure (no master key): recorded, retried with back-off ------------------
(umask 077 && grep -v '^master_key_file' "$CERTVAULT_CONFIG" >"$T_TMP/nomaster.conf")
N11=$P-retry
create "$N11" "$P-ca"
timeout 30 "$WORKER_BIN" --config "$T_TMP/nomaster.conf" --once >"$T_TMP/nomaster.log" 2>&1
assert_true "a worker without a master key: the operation stays inProgress" status_is "$N11" inProgress
assert_eq "1|no master key: master_key_file is not configured" "$(op_sql "$N11" "attempts || '|' || worker_last_error")" \
	"… attempts 1, worker_last_error says why"
assert_eq t "$(op_sql "$N11" "next_attempt_at BETWEEN now() + interval '1 second' AND now() + interval '2.5 seconds'")" \
	"… due again in 2^1 s"
timeout 30 "$WORKER_BIN" --config "$T_TMP/nomaster.conf" --once >>"$T_TMP/nomaster.log" 2>&1
assert_eq 1 "$(op_sql "$N11" attempts)" "… not taken before then"
sleep 2.1
timeout 30 "$WORKER_BIN" --config "$T_TMP/nomaster.conf" --once >>"$T_TMP/nomaster.log" 2>&1
assert_eq "2|true" "$(op_sql "$N11" "attempts || '|' || (next_attempt_at BETWEEN now() + interval '3 seconds' AND now() + interval '4.5 seconds')")" \
	"… then attempt 2, due again in 2^2 s"
assert_match "last worker error: no master key: master_key_file is not configured" "$(cv_admin operation list --vault "$VAULT" 2>&1)" \
	"operation list shows the last worker error"
t_psql "UPDATE pending_operations SET next_attempt_at = now() WHERE id =
	(SELECT p.id FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id WHERE c.name = '$N11')" >/dev/null
timeout 30 "$WORKER_BIN" --config "$CERTVAULT_CONFIG" --once >>"$T_TMP/nomaster.log" 2>&1
assert_true "with the master key back, it completes" status_is "$N11" completed
assert_eq "3|" "$(op_sql "$N11" "attempts || '|' || coalesce(worker_last_error, '')")" "… on attempt 3, the error cleared"

# --- durability: SIGKILL the worker again and again under a stream of creates -----------
DUR_N=15
W_PID=
w_start() {
	"$WORKER_BIN" --config "$CERTVAULT_CONFIG" >>"$T_TMP/dur-worker.log" 2>&1 </dev/null &
	W_PID=$!
}
w_kill() {
	[ -n "$W_PID" ] || return 0
	kill -KILL "$W_PID" 2>/dev/null
	wait "$W_PID" 2>/dev/null
	W_PID=
}
t_on_exit 'w_kill'
# Killed in mid-flight, deterministically: a session holds the certificate
# rows' lock, so the worker claims and signs, then waits inside its
# finishing transaction; SIGKILL it there.
for i in 1 2 3; do create "$P-mid-$i" "$P-ca"; done
cert_lock "$P-mid-%"
worker_blocked() {
	[ "$(t_psql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'certvault'
		AND wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE OF c%'")" -ge 1 ]
}
w_start
MID_PID=$W_PID
if wait_until 15 worker_blocked; then
	ok "the worker claimed and signed, and waits for the certificate's lock to finish"
else
	fail "the worker claimed and signed, and waits for the certificate's lock to finish"
fi
w_kill
cert_unlock
mid=$(t_psql "SELECT c.name FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id
	WHERE c.name LIKE '$P-mid-%' AND p.attempts > 0")
assert_match "^$P-mid-[123]\$" "$mid" "SIGKILL there: one operation was claimed"
assert_eq "inProgress|1|true|$MID_PID" "$(op_sql "$mid" "status || '|' || attempts || '|' ||
	(next_attempt_at > now()) || '|' || split_part(claimed_by, ':', 2)")" \
	"… it stays inProgress, leased to the dead worker (next_attempt_at ahead)"
assert_eq "0" "$(t_psql "SELECT count(v.certificate_der) FROM certificate_versions v
	JOIN certificates c ON c.id = v.certificate_id WHERE c.name = '$mid'")" \
	"… and nothing of its outcome was stored"
# Let the lease run out now rather than in 30 s.
t_psql "UPDATE pending_operations SET next_attempt_at = now() WHERE id =
	(SELECT p.id FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id
	WHERE c.name = '$mid')" >/dev/null
w_start
mid_done() {
	[ "$(t_psql "SELECT count(*) FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id
		WHERE c.name LIKE '$P-mid-%' AND p.status = 'completed'")" = 3 ]
}
if wait_until 30 mid_done; then
	ok "when the lease is over, a new worker completes all three"
else
	fail "when the lease is over, a new worker completes all three"
fi
w_kill
assert_eq 2 "$(op_sql "$mid" attempts)" "… the interrupted one on its second attempt"
assert_eq "3|3" "$(t_psql "SELECT count(*) || '|' || count(v.certificate_der) FROM certificate_versions v
	JOIN certificates c ON c.id = v.certificate_id WHERE c.name LIKE '$P-mid-%'")" \
	"… one issued version each"

# A cancellation that lands after the signing (here: while the worker waits
# for the lock to store the certificate) has no effect; status_details says so.
N12=$P-late
create "$N12" "$P-ca"
cert_lock "$N12"
w_start
if wait_until 15 worker_blocked; then
	ok "the worker signed $N12 and waits to store it"
else
	fail "the worker signed $N12 and waits to store it"
fi
t_psql "UPDATE pending_operations SET cancellation_requested = true WHERE id =
	(SELECT p.id FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id WHERE c.name = '$N12')" >/dev/null
cert_unlock
wait_status "$N12" completed "cancellation requested after signing: completed all the same"
assert_json -r .status_details "Cancellation was requested after the certificate was issued; it has no effect." \
	"… status_details says the request had no effect"
assert_json '[.cancellation_requested, has("target")]' '[true,true]' "… cancellation_requested, with its target"
# The operation deleted (DELETE pending) while the signed certificate
# waits to be stored: the worker drops it.
N13=$P-dropped
create "$N13" "$P-ca"
cert_lock "$N13"
if wait_until 15 worker_blocked; then
	ok "the worker signed $N13 and waits to store it"
else
	fail "the worker signed $N13 and waits to store it"
fi
t_psql "DELETE FROM pending_operations WHERE certificate_id = (SELECT id FROM certificates WHERE name = '$N13')" >/dev/null
cert_unlock
sleep 1.5
assert_eq "1|0" "$(t_psql "SELECT count(*) || '|' || count(v.certificate_der) FROM certificate_versions v
	JOIN certificates c ON c.id = v.certificate_id WHERE c.name = '$N13'")" \
	"operation deleted before the worker stored its certificate: the version stays without one"
w_kill
assert_match "operation [0-9a-f]{32} of $VAULT/$N13 was deleted, replaced or finished meanwhile; its outcome is dropped" \
	"$(cat "$T_TMP/dur-worker.log")" "… and the worker logs that it dropped the outcome"

# Random milliseconds in [lo, hi), as seconds for sleep.
rand_sleep() { sleep "$(awk -v lo="$1" -v hi="$2" -v r="$RANDOM" 'BEGIN { printf "%.3f", (lo + (hi - lo) * r / 32768) / 1000 }')"; }
kills=0
# Half the operations are due before the first worker starts, so that the
# kills land while it works through them.
for i in $(seq 1 $((DUR_N / 2))); do create "$P-dur-$i" "$P-ca"; done
for i in $(seq $((DUR_N / 2 + 1)) "$DUR_N"); do
	w_start
	rand_sleep 30 300
	create "$P-dur-$i" "$P-ca"
	rand_sleep 0 300
	w_kill
	kills=$((kills + 1))
done
for i in 1 2 3 4; do
	w_start
	rand_sleep 20 200
	w_kill
	kills=$((kills + 1))
done
diag "killed the worker $kills times with SIGKILL"
w_start
dur_done() {
	[ "$(t_psql "SELECT count(*) FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id
		WHERE c.name LIKE '$P-dur-%' AND p.status <> 'inProgress'")" = "$DUR_N" ]
}
# A killed worker's claim comes back when its 30 s lease runs out.
if wait_until 75 dur_done; then
	ok "after the kills, a worker finishes all $DUR_N operations"
else
	fail "after the kills, a worker finishes all $DUR_N operations" \
		"$(t_psql "SELECT certificate_name, status, attempts, next_attempt_at, worker_last_error FROM pending_operations_overview WHERE certificate_name LIKE '$P-dur-%'")"
fi
w_kill
assert_eq "$DUR_N" "$(t_psql "SELECT count(*) FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id
	WHERE c.name LIKE '$P-dur-%' AND p.status = 'completed'")" "every operation completed"
assert_eq "$DUR_N|$DUR_N|$DUR_N" "$(t_psql "SELECT count(*) || '|' || count(v.certificate_der) || '|' ||
	count(DISTINCT c.id) FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id
	WHERE c.name LIKE '$P-dur-%'")" "exactly one version per certificate, each issued once"
assert_eq 0 "$(t_psql "SELECT count(*) FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id
	WHERE c.name LIKE '$P-dur-%' AND coalesce(array_length(v.chain_der, 1), 0) <> 1")" \
	"each version's chain is [CA], appended once"
assert_eq "$DUR_N" "$(t_psql "SELECT count(*) FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id
	JOIN certificate_versions v ON v.id = p.target_version_id
	WHERE c.name LIKE '$P-dur-%' AND v.certificate_der IS NOT NULL")" "each operation's own version is the issued one"
diag "attempts: $(t_psql "SELECT string_agg(p.attempts::text, ',' ORDER BY c.name) FROM pending_operations p
	JOIN certificates c ON c.id = p.certificate_id WHERE c.name LIKE '$P-dur-%'")"
cer_pem "$P-dur-$DUR_N" "$T_TMP/dur.pem"
assert_true "the last one verifies against the CA" verifies "$T_TMP/ca.pem" "$T_TMP/dur.pem"

# --- two workers at once ----------------------------------------------------------------
TW_N=16
# All due before they start. The first certificate's row is locked, so
# whichever worker claims its operation (the oldest) waits there with its
# claim, and the other one must carry on with the rest (SKIP LOCKED):
# both take part, whatever their timing.
for i in $(seq 1 "$TW_N"); do create "$P-two-$i" "$P-ca"; done
cert_lock "$P-two-1"
"$WORKER_BIN" --config "$CERTVAULT_CONFIG" >>"$T_TMP/w1.log" 2>&1 </dev/null &
W1=$!
"$WORKER_BIN" --config "$CERTVAULT_CONFIG" >>"$T_TMP/w2.log" 2>&1 </dev/null &
W2=$!
t_on_exit "kill -TERM $W1 $W2 2>/dev/null; wait $W1 $W2 2>/dev/null"
two_completed() {
	[ "$(t_psql "SELECT count(*) FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id
		WHERE c.name LIKE '$P-two-%' AND p.status = 'completed'")" = "$1" ]
}
if wait_until 30 two_completed $((TW_N - 1)); then
	ok "while one worker waits on the locked certificate, the other completes the other $((TW_N - 1))"
else
	fail "while one worker waits on the locked certificate, the other completes the other $((TW_N - 1))"
fi
cert_unlock
if wait_until 30 two_completed "$TW_N"; then
	ok "two workers complete all $TW_N operations"
else
	fail "two workers complete all $TW_N operations"
fi
assert_eq "$TW_N|$TW_N" "$(t_psql "SELECT count(*) || '|' || count(v.certificate_der) FROM certificate_versions v
	JOIN certificates c ON c.id = v.certificate_id WHERE c.name LIKE '$P-two-%'")" \
	"… one issued version each, no doubles"
assert_eq "$TW_N" "$(t_psql "SELECT sum(p.attempts) FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id
	WHERE c.name LIKE '$P-two-%'")" "… each operation claimed exactly once"
claimers=$(t_psql "SELECT count(DISTINCT p.claimed_by) FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id
	WHERE c.name LIKE '$P-two-%'")
assert_eq 2 "$claimers" "… and claimed_by shows both workers"
diag "claims: $(t_psql "SELECT string_agg(claimed_by || '=' || n, ', ') FROM (SELECT p.claimed_by, count(*) AS n
	FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id WHERE c.name LIKE '$P-two-%'
	GROUP BY 1) s")"
kill -TERM "$W1" "$W2" 2>/dev/null
wait "$W1" "$W2" 2>/dev/null

# --- the operators' view ----------------------------------------------------------------
out=$(cv_admin operation list 2>&1)
assert_match "$N4 +failed" "$out" "operation list (every vault) shows the rejected one"
assert_match "error: Request rejected: Not an approved host name\\." "$out" "… with its error"
assert_match "approved by alice" "$out" "… and who approved what"

cv_worker_start 2>/dev/null
assert_true "stack's certvault-worker restarted" cv_pid_running "$CERTVAULT_WORKER_PIDFILE" certvault-worker

t_done
