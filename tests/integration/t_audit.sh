#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through t_on_exit
# The audit log (issue 8): every route that changes something, or exports
# a private key, writes one audit_log row per request — allowed or not —
# with who (the token's id, never the token), from where (REMOTE_ADDR),
# the client's x-ms-client-request-id, what (Key Vault's operationName),
# which object (type, name, version) and the result (success / denied /
# error, HTTP status, error code). The list of audited operations is read
# from the route table in src/route.c, so a new mutating route without a
# test here fails.
. "$(dirname "$0")/lib.sh"

API=7.5
P=tau-$(cv_random_hex 3)
P_fn=tau_$(cv_random_hex 3)_refuse
VAULT=$CERTVAULT_VAULT_NAME
t_on_exit "t_psql \"DELETE FROM certificates WHERE name LIKE '$P-%'\" >/dev/null 2>&1; t_psql \"DELETE FROM issuers WHERE name LIKE '$P-%'\" >/dev/null 2>&1"

start=$(t_psql "SELECT coalesce(max(id), 0) FROM audit_log")
token_id=$(t_psql "SELECT t.id FROM access_tokens t JOIN vaults v ON v.id = t.vault_id
	WHERE v.name = '$VAULT' AND t.token_hash = sha256(convert_to('$CERTVAULT_TOKEN', 'UTF8'))" 2>/dev/null)
[ -n "$token_id" ] || token_id=$(t_psql "SELECT min(t.id) FROM access_tokens t JOIN vaults v ON v.id = t.vault_id WHERE v.name = '$VAULT'")
diag "audit rows after id $start; the stack's token is id $token_id"

# The audited operations, from the route table.
mapfile -t OPS < <(grep -oE '"(Certificate|Secret)[A-Za-z]+"' "$CERTVAULT_SRC_DIR/src/route.c" | tr -d '"' | sort -u)
assert_true "the route table names audited operations (${#OPS[@]})" test "${#OPS[@]}" -ge 17

CRID=audit-$(cv_random_hex 8)
req() { kv_send "$1" "$2?api-version=$API" "${3:-}" -H "x-ms-client-request-id: $CRID"; }
req_nobody() { kv_curl "$1" "$2?api-version=$API" -H "x-ms-client-request-id: $CRID"; }

# --- one request (at least) to every audited route ---------------------------------
req PUT "/certificates/issuers/$P-iss" '{"provider":"Test"}'
req PATCH "/certificates/issuers/$P-iss" '{"attributes":{"enabled":false}}'
req DELETE "/certificates/issuers/$P-iss"
req PUT "/certificates/contacts" '{"contacts":[{"email":"audit@example.org"}]}'
req DELETE "/certificates/contacts"

N1=$P-self
req POST "/certificates/$N1/create" '{"policy":{"key_props":{"kty":"EC","crv":"P-256"},
	"secret_props":{"contentType":"application/x-pem-file"},
	"x509_props":{"subject":"CN=a.example"},"issuer":{"name":"Self"}}}'
assert_status 202 "create: 202"
kv_curl GET "/certificates/$N1?api-version=$API"
v1=$(printf '%s' "$KV_BODY" | jq -r .id | sed 's|.*/||')
req PATCH "/certificates/$N1/$v1" '{"tags":{"a":"b"}}'
req PATCH "/certificates/$N1/policy" '{"attributes":{"enabled":true}}'
req_nobody GET "/secrets/$N1"
assert_status 200 "GET secret: 200"
req POST "/certificates/$N1/backup"
backup=$(printf '%s' "$KV_BODY" | jq -r .value)

N2=$P-manual
req POST "/certificates/$N2/create" '{"policy":{"key_props":{"kty":"EC","crv":"P-256"},
	"x509_props":{"subject":"CN=b.example"},"issuer":{"name":"Unknown"}}}'
req PATCH "/certificates/$N2/pending" '{"cancellation_requested":true}'
req POST "/certificates/$N2/pending/merge" '{"x5c":["bm90IGEgY2VydGlmaWNhdGU="]}'
assert_status 400 "a merge of garbage: 400 (audited as an error)"
req DELETE "/certificates/$N2/pending"

req DELETE "/certificates/$N1"
req POST "/deletedcertificates/$N1/recover"
req DELETE "/certificates/$N1"
req DELETE "/deletedcertificates/$N1"
req POST "/certificates/restore" "{\"value\":\"$backup\"}"

test_ca_make "$T_TMP/ca" || bail "certtool could not make a CA"
certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$T_TMP/leaf.key" >/dev/null 2>&1
printf '%s\n' 'cn = "import.example"' 'expiration_days = 30' >"$T_TMP/leaf.tmpl"
certtool --generate-certificate --load-privkey "$T_TMP/leaf.key" --load-ca-certificate "$T_TMP/ca/ca.pem" \
	--load-ca-privkey "$T_TMP/ca/ca.key" --template "$T_TMP/leaf.tmpl" --outfile "$T_TMP/leaf.pem" >/dev/null 2>&1
pem=$(cat "$T_TMP/leaf.key" "$T_TMP/leaf.pem" | jq -Rs .)
req POST "/certificates/$P-imp/import" "{\"value\":$pem,\"policy\":{\"secret_props\":{\"contentType\":\"application/x-pem-file\"}}}"
assert_status 200 "import: 200"

# --- every audited operation wrote rows, as they should be -----------------------
for op in "${OPS[@]}"; do
	n=$(t_psql "SELECT count(*) FROM audit_log WHERE id > $start AND operation = '$op' AND client_request_id = '$CRID'")
	assert_true "$op writes an audit_log row ($n)" test "$n" -ge 1
done
row=$(t_psql "SELECT actor || '|' || token_id || '|' || host(remote_addr) || '|' || vault_name || '|' || object_type
	|| '|' || object_name || '|' || outcome || '|' || http_status FROM audit_log
	WHERE id > $start AND operation = 'CertificateCreate' AND object_name = '$N1' ORDER BY id LIMIT 1")
assert_eq "token|$token_id|127.0.0.1|$VAULT|certificate|$N1|success|202" "$row" \
	"CertificateCreate: actor, token id, address, vault, object, outcome, status"
assert_eq "pending|error|400|BadParameter" "$(t_psql "SELECT object_type || '|' || outcome || '|' || http_status || '|' || error_code
	FROM audit_log WHERE id > $start AND operation = 'CertificatePendingMerge' ORDER BY id LIMIT 1")" \
	"a refused merge: outcome error, 400, BadParameter"
assert_eq "$v1" "$(t_psql "SELECT object_version FROM audit_log WHERE id > $start AND operation = 'CertificateUpdate' ORDER BY id LIMIT 1")" \
	"CertificateUpdate names the version"
assert_eq "key|$N1|success" "$(t_psql "SELECT object_type || '|' || object_name || '|' || outcome FROM audit_log
	WHERE id > $start AND operation = 'SecretGet' ORDER BY id LIMIT 1")" "an exported private key (GET /secrets) is audited"
assert_eq 0 "$(t_psql "SELECT count(*) FROM audit_log WHERE id > $start AND operation IS NULL")" "no row without an operation"

# --- reads are not audited; denied requests are ------------------------------------
before=$(t_psql "SELECT count(*) FROM audit_log WHERE id > $start")
kv_curl GET "/certificates?api-version=$API"
kv_curl GET "/certificates/$P-imp?api-version=$API"
assert_eq "$before" "$(t_psql "SELECT count(*) FROM audit_log WHERE id > $start")" "reads (list, get) write nothing"

ro=$(cv_admin token create --vault "$VAULT" --name "$P-ro" --permissions get,list 2>/dev/null | tail -n 1)
KV_TOKEN=$ro kv_send POST "/certificates/$P-denied/create?api-version=$API" '{"policy":{"issuer":{"name":"Self"}}}'
assert_status 403 "a create without the create permission: 403"
assert_eq "token|denied|403|Forbidden" "$(t_psql "SELECT actor || '|' || outcome || '|' || http_status || '|' || error_code
	FROM audit_log WHERE id > $start AND operation = 'CertificateCreate' AND object_name = '$P-denied'")" \
	"… audited as denied, with that token"
KV_TOKEN=cv_$(printf '0%.0s' $(seq 64)) kv_send DELETE "/certificates/$P-imp?api-version=$API" ''
assert_status 401 "a delete with an unknown token: 401"
assert_eq "denied|401|" "$(t_psql "SELECT outcome || '|' || http_status || '|' || coalesce(token_id::text, '')
	FROM audit_log WHERE id > $start AND operation = 'CertificateDelete' AND object_name = '$P-imp'")" \
	"… audited as denied, without a token id"

# --- certvault-admin's changes are audited too ---------------------------------------
ro_id=$(t_psql "SELECT id FROM access_tokens WHERE name = '$P-ro'")
assert_eq "admin|$VAULT|token|success" "$(t_psql "SELECT actor || '|' || v.name || '|' || object_type || '|' || outcome
	FROM audit_log a JOIN vaults v ON v.id = a.vault_id WHERE a.id > $start AND operation = 'TokenCreate' AND object_name = '$ro_id'")" \
	"token create: an admin row, with the vault"
assert_match '^[a-z_][a-z0-9_-]*$' "$(t_psql "SELECT actor_detail FROM audit_log WHERE id > $start AND operation = 'TokenCreate' AND object_name = '$ro_id'")" \
	"… naming the user who ran certvault-admin"
cv_admin token revoke "$ro_id" >/dev/null 2>&1
assert_eq 1 "$(t_psql "SELECT count(*) FROM audit_log WHERE id > $start AND operation = 'TokenRevoke' AND object_name = '$ro_id'")" \
	"token revoke: an admin row"

# --- on record before it acts -----------------------------------------------------------
# The row is written ('started') before the handler and finished after it:
# nothing above is left 'started'. A request whose row cannot be written
# is refused (503) and does nothing.
assert_eq 0 "$(t_psql "SELECT count(*) FROM audit_log WHERE id > $start AND outcome = 'started'")" \
	"no audit row left 'started' after the requests above"
t_psql "CREATE FUNCTION $P_fn() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
	IF NEW.object_name LIKE '$P-offrecord%' THEN RAISE EXCEPTION 'audit refused by the test'; END IF;
	RETURN NEW; END \$\$;
	CREATE TRIGGER ${P_fn}_t BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION $P_fn()" >/dev/null
t_on_exit "t_psql 'DROP TRIGGER IF EXISTS ${P_fn}_t ON audit_log; DROP FUNCTION IF EXISTS $P_fn()' >/dev/null 2>&1"
req POST "/certificates/$P-offrecord/create" '{"policy":{"key_props":{"kty":"EC","crv":"P-256"},"issuer":{"name":"Self"}}}'
assert_kv_error 503 ServiceUnavailable "The request could not be recorded in the audit log; nothing was done." \
	"a create whose audit row cannot be written"
assert_eq 0 "$(t_psql "SELECT count(*) FROM certificates WHERE name = '$P-offrecord'")" "… created nothing"
req_nobody GET "/secrets/$P-offrecord"
assert_status 503 "a key export whose audit row cannot be written is refused too (503, before anything is read)"
t_psql "DROP TRIGGER ${P_fn}_t ON audit_log; DROP FUNCTION $P_fn()" >/dev/null

# --- nothing secret in the log ---------------------------------------------------------
t_psql "SELECT row_to_json(a)::text FROM audit_log a WHERE id > $start" >"$T_TMP/audit.json"
assert_no_match "$CERTVAULT_TOKEN" "$(cat "$T_TMP/audit.json")" "the audit log holds no token"
[ -n "$ro" ] && assert_no_match "$ro" "$(cat "$T_TMP/audit.json")" "… not even the denied one"
assert_no_match "PRIVATE KEY" "$(cat "$T_TMP/audit.json")" "… and no private key"

t_done
