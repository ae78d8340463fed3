#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/t_on_exit
# ACME issuers (issue 6) against pebble, a real RFC 8555 CA that ./test.sh
# starts on loopback with pebble-challtestsrv as its DNS (every name
# resolves to 127.0.0.1): issuer validation; create → inProgress →
# completed where pebble validated http-01 against certvault's own plain
# HTTP listener (the fcgi access log shows the CA's fetch) and the chain
# verifies against pebble's root; dns-01 for a wildcard through the hook;
# a name pebble's policy refuses → failed "Request rejected" with its
# detail; a request without a DNS name; External Account Binding right
# and wrong; cancellation mid-order (authorizations deactivated); the
# worker killed with SIGKILL mid-order resumes the same order and
# completes it once; AutoRenew of an ACME certificate is a new order.
. "$(dirname "$0")/lib.sh"

API=7.5
P=ta-$(cv_random_hex 3)
WORKER_BIN=$CERTVAULT_BUILD_DIR/src/certvault-worker
VAULT=$CERTVAULT_VAULT_NAME

[ -n "${CV_ACME_DIRECTORY:-}" ] || bail "pebble is not part of the test stack (CV_ACME_DIRECTORY unset)"
t_on_exit "t_psql \"DELETE FROM certificates WHERE name LIKE '$P-%'\" >/dev/null 2>&1; t_psql \"DELETE FROM issuers WHERE name LIKE '$P-%'\" >/dev/null 2>&1"
t_on_exit 'stack_restore >/dev/null 2>&1'
diag "pebble: $CV_ACME_DIRECTORY, http-01 on port $CV_HTTP_PORT"

# issuer_put NAME BODY: PUT /certificates/issuers/NAME.
issuer_put() {
	kv_send PUT "/certificates/issuers/$1?api-version=$API" "$2"
}

# acme_issuer NAME [CREDENTIALS_JSON]: an ACME issuer on pebble.
acme_issuer() {
	issuer_put "$1" "{\"provider\":\"ACME\",${2:+\"credentials\":$2,}
		\"org_details\":{\"id\":\"$CV_ACME_DIRECTORY\",
		\"admin_details\":[{\"first_name\":\"Ops\",\"last_name\":\"Team\",\"email\":\"ops@$P.example\"}]}}"
	assert_status 200 "PUT ACME issuer $1: 200"
}

# create NAME ISSUER SUBJECT DNS_NAMES_JSON: EC P-256, PEM secret.
create() {
	kv_send POST "/certificates/$1/create?api-version=$API" "{\"policy\":{
		\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":true},
		\"secret_props\":{\"contentType\":\"application/x-pem-file\"},
		\"x509_props\":{\"subject\":\"$3\",\"sans\":{\"dns_names\":$4}},
		\"issuer\":{\"name\":\"$2\"}}}"
}

pending() { kv_curl GET "/certificates/$1/pending?api-version=$API"; }

status_is() {
	pending "$1"
	[ "$(printf '%s' "$KV_BODY" | jq -r .status 2>/dev/null)" = "$2" ]
}

# wait_status NAME STATUS DESCRIPTION: poll GET pending ≤ 60 s.
wait_status() {
	if wait_until 60 status_is "$1" "$2"; then
		ok "$3"
	else
		fail "$3" "last status $KV_STATUS: $KV_BODY"
	fi
}

op_sql() {
	t_psql "SELECT $2 FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id
		JOIN vaults v ON v.id = c.vault_id WHERE v.name = '$VAULT' AND c.name = '$1'"
}

issued_versions() {
	t_psql "SELECT count(*) FROM certificate_versions cv JOIN certificates c ON c.id = cv.certificate_id
		WHERE c.name = '$1' AND cv.certificate_der IS NOT NULL"
}

# chain_of NAME FILE: the PEM secret's certificates into FILE.
chain_of() {
	kv_curl GET "/secrets/$1?api-version=$API"
	printf '%s' "$KV_BODY" | jq -r .value |
		sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' >"$2"
}

# --- the issuer: validation ---------------------------------------------------
issuer_put "$P-bad" '{"provider":"ACME"}'
assert_kv_error 400 BadParameter \
	'An ACME issuer needs its CA'"'"'s directory URL (https://…) in org_details.id, or letsencrypt or letsencrypt-staging.' \
	"an ACME issuer without a directory URL"
issuer_put "$P-bad" '{"provider":"ACME","org_details":{"id":"http://127.0.0.1/dir"}}'
assert_kv_error 400 BadParameter "" "… a plain-http directory"
issuer_put "$P-le" '{"provider":"ACME","org_details":{"id":"letsencrypt-staging"}}'
assert_status 200 "org_details.id letsencrypt-staging: 200"
assert_json -r .org_details.id "https://acme-staging-v02.api.letsencrypt.org/directory" \
	"… stored as Let's Encrypt's staging directory URL"
kv_send PATCH "/certificates/issuers/$P-le?api-version=$API" '{"org_details":{"id":"letsencrypt"}}'
assert_json -r .org_details.id "https://acme-v02.api.letsencrypt.org/directory" \
	"PATCH org_details.id letsencrypt: the production directory URL"
kv_send PATCH "/certificates/issuers/$P-le?api-version=$API" '{"org_details":{"id":"ftp://x"}}'
assert_kv_error 400 BadParameter "" "PATCH to a non-https directory"

acme_issuer "$P-ca"

# --- the plain-HTTP listener serves the answers and nothing else -------------
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CV_HTTP_PORT/.well-known/acme-challenge/unknownTOKEN0123456789")
assert_eq 404 "$code" "plain HTTP: an unknown challenge token: 404"
code=$(curl -s -o "$T_TMP/plain.out" -w '%{http_code}' "http://127.0.0.1:$CV_HTTP_PORT/certificates?api-version=$API")
assert_ne 200 "$code" "plain HTTP: the API is not served ($code)"
assert_no_match '"value"' "$(cat "$T_TMP/plain.out")" "… and no certificate list comes back"

# --- http-01: the CA validates against certvault -------------------------------
N1=$P-web
create "$N1" "$P-ca" "CN=$N1.example" "[\"$N1.example\",\"www.$N1.example\"]"
assert_status 202 "create with the ACME issuer: 202"
assert_json .status '"inProgress"' "… inProgress"
wait_status "$N1" completed "pebble validates http-01 and issues: completed (≤ 60 s)"
assert_json '[has("error"), has("status_details")]' '[false,false]' "completed: no error, no status_details"
assert_eq 1 "$(issued_versions "$N1")" "one issued version"
fetched=$(grep -c "path=/.well-known/acme-challenge/[A-Za-z0-9_-]* status=200" "$CV_LOG_DIR/certvault-fcgi.log")
assert_true "certvault-fcgi answered the CA's http-01 fetches ($fetched in its access log)" test "$fetched" -ge 2
assert_eq 0 "$(t_psql "SELECT count(*) FROM acme_challenges a JOIN pending_operations p ON p.id = a.operation_id
	JOIN certificates c ON c.id = p.certificate_id WHERE c.name = '$N1'")" "the http-01 answers are withdrawn when done"
order=$(op_sql "$N1" "provider_state->>'order'")
assert_match '^https://127\.0\.0\.1:[0-9]+/' "$order" "provider_state keeps the order URL ($order)"
curl -s --cacert "$CV_ACME_CA_FILE" "$CV_PEBBLE_MGMT/roots/0" >"$T_TMP/root.pem"
assert_match 'BEGIN CERTIFICATE' "$(cat "$T_TMP/root.pem")" "pebble's root from its management endpoint"
chain_of "$N1" "$T_TMP/chain.pem"
assert_true "the secret holds leaf and intermediate" test "$(grep -c 'BEGIN CERTIFICATE' "$T_TMP/chain.pem")" -ge 2
certtool --verify --load-ca-certificate "$T_TMP/root.pem" --infile "$T_TMP/chain.pem" >"$T_TMP/verify.out" 2>&1
assert_match 'Chain verification output: Verified' "$(cat "$T_TMP/verify.out")" "the chain verifies against pebble's root (certtool)"
info=$(certtool -i --infile "$T_TMP/chain.pem" 2>/dev/null)
assert_match "DNSname: $N1.example" "$info" "… for the policy's names"
assert_match "DNSname: www.$N1.example" "$info" "… all of them"
kv_curl GET "/keys/$N1?api-version=$API"
assert_status 200 "the key stayed in the vault: GET /keys 200"
assert_eq 1 "$(t_psql "SELECT count(*) FROM acme_accounts a JOIN issuers i ON i.id = a.issuer_id
	WHERE i.name = '$P-ca' AND a.account_url LIKE 'https://%'")" "the ACME account is registered and kept"
assert_eq 1 "$(t_psql "SELECT count(*) FROM issuer_credentials ic JOIN issuers i ON i.id = ic.issuer_id
	WHERE i.name = '$P-ca' AND ic.credential_type = 'acme_account_key'")" "… its key sealed as acme_account_key"

# A second certificate reuses the account.
N2=$P-two
create "$N2" "$P-ca" "CN=$N2.example" "[\"$N2.example\"]"
assert_status 202 "a second create with the same issuer: 202"
wait_status "$N2" completed "… completed"
assert_eq 1 "$(grep -c "registered the ACME account of issuer $P-ca " "$CV_LOG_DIR/certvault-worker.log")" \
	"the account was registered once for both"

# --- dns-01: a wildcard through the hook ------------------------------------
N3=$P-wild
create "$N3" "$P-ca" "CN=$N3.example" "[\"*.$N3.example\",\"$N3.example\"]"
assert_status 202 "create for a wildcard name: 202"
wait_status "$N3" completed "dns-01 through the hook: completed"
assert_match "add _acme-challenge\\.$N3\\.example\\." "$(cat "$CV_ACME_DNS_HOOK_LOG" 2>/dev/null)" \
	"the hook published the TXT record"
assert_match "remove _acme-challenge\\.$N3\\.example\\." "$(cat "$CV_ACME_DNS_HOOK_LOG" 2>/dev/null)" \
	"… and removed it when done"
chain_of "$N3" "$T_TMP/wild.pem"
assert_match "DNSname: \\*\\.$N3\\.example" "$(certtool -i --infile "$T_TMP/wild.pem" 2>/dev/null)" \
	"the certificate names the wildcard"

# --- refusals ---------------------------------------------------------------------
N4=$P-blocked
create "$N4" "$P-ca" "CN=$CV_PEBBLE_BLOCKLIST" "[\"$CV_PEBBLE_BLOCKLIST\"]"
assert_status 202 "create for a name pebble's policy refuses: 202"
wait_status "$N4" failed "… failed"
assert_json -r .error.code "Request rejected" "… error.code Request rejected"
assert_match "rejectedIdentifier|$CV_PEBBLE_BLOCKLIST" "$(printf '%s' "$KV_BODY" | jq -r .error.message)" \
	"… the message carries pebble's problem"

N5=$P-noname
create "$N5" "$P-ca" "CN=Just A Name" "[]"
assert_status 202 "create without any DNS name: 202"
wait_status "$N5" failed "… failed"
assert_json -r .error.code "Request rejected" "… Request rejected"
assert_match "names no DNS name" "$(printf '%s' "$KV_BODY" | jq -r .error.message)" "… saying why"

# --- a CA that cannot be reached: retried with back-off, visible in the row ----------
issuer_put "$P-down" '{"provider":"ACME","org_details":{"id":"https://127.0.0.1:9/dir"}}'
assert_status 200 "an ACME issuer whose directory nobody serves: 200"
N11=$P-down
create "$N11" "$P-down" "CN=$N11.example" "[\"$N11.example\"]"
retrying() {
	pending "$N11"
	[[ $(printf '%s' "$KV_BODY" | jq -r .status_details) =~ ^Waiting\ to\ retry\ the\ ACME\ server\ in\ [0-9]+\ seconds ]]
}
if wait_until 30 retrying; then ok "an unreachable CA: inProgress, status_details says it will retry"; else fail "an unreachable CA: status_details says it will retry" "$KV_BODY"; fi
assert_json .status '"inProgress"' "… still inProgress"
assert_match "127\.0\.0\.1:9/dir" "$(op_sql "$N11" worker_last_error)" "… worker_last_error names the failing URL"
assert_match '"transient": ?[1-9]' "$(op_sql "$N11" provider_state::text)" "… provider_state counts the failures"
kv_curl DELETE "/certificates/$N11/pending?api-version=$API"
assert_status 200 "DELETE pending ends it"

# --- External Account Binding ------------------------------------------------------
if [ -n "${CV_PEBBLE_EAB_KID:-}" ] && [ -s "${CV_PEBBLE_EAB_KEY_FILE:-}" ]; then
	acme_issuer "$P-eab" "{\"account_id\":\"$CV_PEBBLE_EAB_KID\",\"pwd\":\"$(cat "$CV_PEBBLE_EAB_KEY_FILE")\"}"
	N6=$P-eab
	create "$N6" "$P-eab" "CN=$N6.example" "[\"$N6.example\"]"
	wait_status "$N6" completed "an issuer with External Account Binding: completed"
	acme_issuer "$P-eabx" "{\"account_id\":\"$CV_PEBBLE_EAB_KID\",\"pwd\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}"
	N7=$P-eabx
	create "$N7" "$P-eabx" "CN=$N7.example" "[\"$N7.example\"]"
	wait_status "$N7" failed "a wrong EAB MAC key: failed"
	assert_json -r .error.code "Certificate issuer error" "… Certificate issuer error"
	assert_match "refused the account" "$(printf '%s' "$KV_BODY" | jq -r .error.message)" "… saying the account was refused"
else
	fail "pebble's EAB key is not known to the test (CV_PEBBLE_EAB_KID, CV_PEBBLE_EAB_KEY_FILE)"
fi

# --- with the stack's worker stopped: cancellation mid-order --------------------------
cv_worker_stop 2>/dev/null
N8=$P-cancel
create "$N8" "$P-ca" "CN=$N8.example" "[\"$N8.example\"]"
assert_status 202 "create, no worker running: 202"
timeout 60 "$WORKER_BIN" --config "$CERTVAULT_CONFIG" --once >"$T_TMP/once.log" 2>&1
assert_eq 0 "$?" "certvault-worker --once: exit 0"
assert_true "one pass placed the order: still inProgress" status_is "$N8" inProgress
assert_match "^Waiting for the ACME server to validate $N8\\.example \\(http-01\\)\\.\$" \
	"$(printf '%s' "$KV_BODY" | jq -r .status_details)" "… status_details says what it waits for"
kv_send PATCH "/certificates/$N8/pending?api-version=$API" '{"cancellation_requested":true}'
assert_status 200 "cancel mid-order: 200"
timeout 60 "$WORKER_BIN" --config "$CERTVAULT_CONFIG" --once >>"$T_TMP/once.log" 2>&1
assert_true "the next pass ends it cancelled" status_is "$N8" cancelled
assert_eq 0 "$(issued_versions "$N8")" "… and no certificate was issued"
assert_match "authorization https://[^ ]+ deactivated" "$(cat "$T_TMP/once.log")" \
	"… after deactivating the order's authorization at the CA"

# --- SIGKILL mid-order: the same order resumes and completes once ---------------------
N9=$P-kill
create "$N9" "$P-ca" "CN=$N9.example" "[\"$N9.example\"]"
"$WORKER_BIN" --config "$CERTVAULT_CONFIG" >>"$T_TMP/kill.log" 2>&1 </dev/null &
wpid=$!
has_order() { [ -n "$(op_sql "$N9" "provider_state->>'order'")" ]; }
if wait_until 30 has_order; then ok "a worker placed the order"; else fail "a worker placed the order"; fi
kill -9 "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
before=$(op_sql "$N9" "provider_state->>'order'")
assert_true "killed with SIGKILL mid-order: still inProgress" status_is "$N9" inProgress
t_psql "UPDATE pending_operations SET next_attempt_at = now() WHERE request_id = '$(op_sql "$N9" request_id)'" >/dev/null
stack_restore >/dev/null 2>&1
wait_status "$N9" completed "a new worker resumes: completed"
assert_eq "$before" "$(op_sql "$N9" "provider_state->>'order'")" "… with the same order (none placed again)"
assert_eq 1 "$(issued_versions "$N9")" "… one issued version"

# --- AutoRenew: a new order ------------------------------------------------------------
N10=$P-renew
kv_send POST "/certificates/$N10/create?api-version=$API" "{\"policy\":{
	\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\"},
	\"x509_props\":{\"subject\":\"CN=$N10.example\",\"sans\":{\"dns_names\":[\"$N10.example\"]}},
	\"lifetime_actions\":[{\"trigger\":{\"lifetime_percentage\":1},\"action\":{\"action_type\":\"AutoRenew\"}}],
	\"issuer\":{\"name\":\"$P-ca\"}}}"
assert_status 202 "create with AutoRenew at 1% of the lifetime: 202"
wait_status "$N10" completed "… completed"
first=$(op_sql "$N10" request_id)
# pebble's certificates are valid for five years: 1% of that is 18 days.
cv_admin lifetime run --as-of "$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)" >"$T_TMP/renew.out" 2>&1
assert_eq 0 "$?" "lifetime run thirty days ahead: exit 0"
renewed() { [ "$(op_sql "$N10" request_id)" != "$first" ] && status_is "$N10" completed; }
if wait_until 60 renewed; then ok "AutoRenew made a new ACME order and it completed"; else fail "AutoRenew made a new ACME order and it completed" "$KV_BODY"; fi
assert_eq 2 "$(issued_versions "$N10")" "… a second issued version"

t_done
