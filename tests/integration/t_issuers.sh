#!/usr/bin/env bash
# Issuer objects through lighttpd: PUT creates and replaces (same row,
# stored name kept), GET, PATCH keeps what it is not given, DELETE answers
# the last IssuerBundle, and the paged list. The IssuerBundle's shape (id
# exactly {base}/certificates/issuers/{name}, credentials with account_id
# only, org_details with an admin_details array, attributes with
# timestamps); credentials.pwd stored sealed (not in clear in
# issuer_credentials, a fresh credential_uid each time) and never shown;
# the approval decision (LocalCA + org_details.id "approval-required" sets
# issuers.requires_approval); reserved and invalid names, bad bodies,
# 404 CertificateIssuerNotFound, 405, permissions; a delete refused (409)
# while an operation in progress uses the issuer; a create naming a
# disabled issuer (400).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

API=7.5
BASE=https://$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT
PFX=t-iss-$(cv_random_hex 4)
VAULT_ID=$(t_psql "SELECT id FROM vaults WHERE name = '$CERTVAULT_VAULT_NAME'")
NOT_FOUND="Issuer not found"

# Whatever this test leaves (issuers, certificates, the token) goes.
# shellcheck disable=SC2317 # run by the EXIT trap
iss_cleanup() {
	t_psql "DELETE FROM certificates WHERE vault_id = $VAULT_ID AND name LIKE '$PFX%'" >/dev/null
	t_psql "DELETE FROM issuers WHERE vault_id = $VAULT_ID AND name LIKE '$PFX%'" >/dev/null
	if [ -n "${TOK_ID:-}" ]; then
		t_psql "DELETE FROM access_tokens WHERE id = $TOK_ID" >/dev/null
	fi
}
t_on_exit iss_cleanup

ipath() { printf '/certificates/issuers/%s?api-version=%s' "$1" "$API"; }
jqr() { printf '%s' "$KV_BODY" | jq -r "$1"; }
# sql_issuer NAME COLUMN_EXPR: one value of the issuer row.
sql_issuer() {
	t_psql "SELECT $2 FROM issuers WHERE vault_id = $VAULT_ID AND lower(name) = lower('$1')"
}
# sql_pwd NAME EXPR: EXPR over the issuer's password row ('' if none).
sql_pwd() {
	t_psql "SELECT $2 FROM issuer_credentials ic JOIN issuers i ON i.id = ic.issuer_id
		WHERE i.vault_id = $VAULT_ID AND lower(i.name) = lower('$1') AND ic.credential_type = 'password'"
}

# --- PUT: create -------------------------------------------------------------
N=$PFX-Digi
PWD1="pw-$(cv_random_hex 8)-secret"
FULL=$(jq -nc --arg pwd "$PWD1" '{provider: "DigiCert",
	credentials: {account_id: "acct-1", pwd: $pwd},
	org_details: {id: "org-1", admin_details: [{first_name: "Ada", last_name: "Lovelace",
		email: "ada@example.org", phone: "+44 1", extra: 1}]},
	attributes: {enabled: true}}')
t0=$(date +%s)
kv_send PUT "$(ipath "$N")" "$FULL"
assert_status 200 "PUT a new issuer: 200"
assert_json_type "PUT: Content-Type application/json"
assert_json -r .id "$BASE/certificates/issuers/$N" "PUT: id is exactly {base}/certificates/issuers/{name}"
assert_json -r '.id | sub("^https://[^/]+"; "") | split("/") | length' 4 \
	"PUT: the id's path has 4 segments (the JS SDK parses it)"
assert_json -r .provider DigiCert "PUT: provider"
assert_json .credentials '{"account_id":"acct-1"}' "PUT: credentials shows account_id only"
assert_json '.org_details == {"admin_details":[{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.org","phone":"+44 1"}],"id":"org-1"}' \
	true "PUT: org_details with id and admin_details (extra members dropped)"
assert_json '.attributes | [.enabled, (.created | type), (.updated | type)]' '[true,"number","number"]' \
	"PUT: attributes enabled, created, updated"
CREATED=$(jqr .attributes.created)
assert_true "PUT: attributes.created is now ($CREATED ~ $t0)" \
	test "$CREATED" -ge $((t0 - 5)) -a "$CREATED" -le $((t0 + 60))
assert_no_match "$PWD1" "$KV_BODY" "PUT: the password is not in the answer"
assert_json 'has("pwd") or (.credentials | has("pwd"))' false "PUT: no pwd member"
ROW_ID=$(sql_issuer "$N" id)
assert_eq f "$(sql_issuer "$N" requires_approval)" "PUT DigiCert: requires_approval false"

# --- the password at rest ----------------------------------------------------
assert_eq 1 "$(sql_pwd "$N" 'count(*)')" "pwd: one password row in issuer_credentials"
assert_eq 0 "$(sql_pwd "$N" "position(convert_to('$PWD1', 'UTF8') IN sealed_value)")" \
	"pwd: sealed_value does not contain the password bytes"
assert_eq $((${#PWD1} + 16)) "$(sql_pwd "$N" 'octet_length(sealed_value)')" \
	"pwd: sealed_value is ciphertext + 16-byte tag"
assert_eq 12 "$(sql_pwd "$N" 'octet_length(seal_nonce)')" "pwd: 12-byte nonce"
assert_match '^[0-9a-f]{16}$' "$(sql_pwd "$N" master_key_id)" "pwd: master_key_id names the master key"
UID1=$(sql_pwd "$N" credential_uid)
assert_match '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "$UID1" \
	"pwd: credential_uid is a uuid (the sealing's associated data)"
assert_eq "" "$(t_psql "SELECT 1 FROM issuers WHERE account_id = '$PWD1' OR organization_id = '$PWD1'
	OR admin_details::text LIKE '%$PWD1%' OR provider = '$PWD1'")" "pwd: in no issuers column"

# --- GET -------------------------------------------------------------------
PUT_BODY=$KV_BODY
kv_curl GET "$(ipath "$N")"
assert_status 200 "GET: 200"
assert_json . "$(printf '%s' "$PUT_BODY" | jq -c .)" "GET answers what PUT answered"
assert_no_match "$PWD1" "$KV_BODY" "GET: the password is never shown"
kv_curl GET "$(ipath "$(printf '%s' "$N" | tr '[:lower:]' '[:upper:]')")"
assert_status 200 "GET: names compare case-insensitively"
assert_json -r .id "$BASE/certificates/issuers/$N" "GET in another case: the stored name"

# --- PUT again: replace in place -------------------------------------------
sleep 1
kv_send PUT "$(ipath "$(printf '%s' "$N" | tr '[:lower:]' '[:upper:]')")" '{"provider":"GlobalSign","credentials":{}}'
assert_status 200 "PUT over an existing issuer (other case): 200"
assert_json -r .id "$BASE/certificates/issuers/$N" "replace: the name stays as first given"
assert_json -r .provider GlobalSign "replace: provider replaced"
assert_json 'has("credentials")' false "replace: no account_id, so no credentials member"
assert_json .org_details '{"admin_details":[]}' "replace: org_details reset, admin_details still an array"
assert_json .attributes.enabled true "replace: enabled by default"
assert_json .attributes.created "$CREATED" "replace: created unchanged"
assert_true "replace: updated moved" test "$(jqr .attributes.updated)" -gt "$CREATED"
assert_eq "$ROW_ID" "$(sql_issuer "$N" id)" "replace: the same row (UPDATE in place)"
assert_eq 0 "$(sql_pwd "$N" 'count(*)')" "replace without pwd: the password is removed"

# --- PATCH keeps what it is not given -----------------------------------------
kv_send PUT "$(ipath "$N")" "$FULL"
assert_status 200 "PUT the full body again"
UID2=$(sql_pwd "$N" credential_uid)
assert_ne "$UID1" "$UID2" "a new sealing gets a fresh credential_uid"
kv_send PATCH "$(ipath "$N")" '{"attributes":{"enabled":false}}'
assert_status 200 "PATCH attributes.enabled: 200"
assert_json -r .provider DigiCert "PATCH: provider kept"
assert_json .credentials '{"account_id":"acct-1"}' "PATCH: account_id kept"
assert_json -r .org_details.id org-1 "PATCH: org_details.id kept"
assert_json '.org_details.admin_details | length' 1 "PATCH: admin_details kept"
assert_json .attributes.enabled false "PATCH: enabled false"
assert_eq "$UID2" "$(sql_pwd "$N" credential_uid)" "PATCH without pwd: the password is kept"
# What the JS SDK's updateIssuer always sends: credentials without members.
kv_send PATCH "$(ipath "$N")" '{"credentials":{}}'
assert_status 200 "PATCH {credentials:{}}: 200"
assert_json .credentials '{"account_id":"acct-1"}' "PATCH {credentials:{}}: account_id kept"
assert_json .attributes.enabled false "PATCH {credentials:{}}: enabled kept"
assert_eq "$UID2" "$(sql_pwd "$N" credential_uid)" "PATCH {credentials:{}}: password kept"
kv_send PATCH "$(ipath "$N")" '{"provider":"OneCertV2-PublicCA","org_details":{"admin_details":[]}}'
assert_json -r .provider OneCertV2-PublicCA "PATCH provider: replaced"
assert_json '.org_details == {"admin_details":[],"id":"org-1"}' true "PATCH admin_details []: replaced, id kept"
PWD2="pw2-$(cv_random_hex 8)"
kv_send PATCH "$(ipath "$N")" "{\"credentials\":{\"pwd\":\"$PWD2\"}}"
assert_status 200 "PATCH credentials.pwd: 200"
assert_json .credentials '{"account_id":"acct-1"}' "PATCH pwd: account_id kept"
assert_no_match "$PWD2" "$KV_BODY" "PATCH pwd: not shown"
assert_ne "$UID2" "$(sql_pwd "$N" credential_uid)" "PATCH pwd: sealed anew"
assert_eq 0 "$(sql_pwd "$N" "position(convert_to('$PWD2', 'UTF8') IN sealed_value)")" \
	"PATCH pwd: sealed_value does not contain the new password"
kv_send PATCH "$(ipath "$N")" '{"credentials":{"account_id":"","pwd":""}}'
assert_status 200 "PATCH empty strings: 200"
assert_json 'has("credentials")' false "PATCH account_id \"\": cleared"
assert_eq 0 "$(sql_pwd "$N" 'count(*)')" "PATCH pwd \"\": the password is removed"
kv_send PATCH "$(ipath "$PFX-nope")" '{"provider":"X"}'
assert_kv_error 404 CertificateIssuerNotFound "$NOT_FOUND" "PATCH an unknown issuer"

# --- the approval decision ---------------------------------------------------
A=$PFX-local
kv_send PUT "$(ipath "$A")" '{"provider":"LocalCA","credentials":{},"org_details":{"id":"approval-required"}}'
assert_status 200 "PUT LocalCA with org_details.id approval-required: 200"
assert_eq t "$(sql_issuer "$A" requires_approval)" "LocalCA + approval-required: requires_approval"
kv_send PATCH "$(ipath "$A")" '{"org_details":{"id":"other"}}'
assert_eq f "$(sql_issuer "$A" requires_approval)" "PATCH org_details.id other: no approval"
kv_send PATCH "$(ipath "$A")" '{"org_details":{"id":"approval-required"}}'
assert_eq t "$(sql_issuer "$A" requires_approval)" "PATCH org_details.id back: approval again"
kv_send PATCH "$(ipath "$A")" '{"provider":"DigiCert"}'
assert_eq f "$(sql_issuer "$A" requires_approval)" "another provider with approval-required: no approval"
kv_send PATCH "$(ipath "$A")" '{"provider":"LocalCA"}'
assert_eq t "$(sql_issuer "$A" requires_approval)" "LocalCA again: approval"

# --- names and bodies -------------------------------------------------------------
for r in Self self UNKNOWN Unknown; do
	kv_send PUT "$(ipath "$r")" '{"provider":"DigiCert"}'
	assert_kv_error 400 BadParameter "" "PUT reserved name $r"
	assert_match "reserved" "$(jqr .error.message)" "PUT $r: the message says it is reserved"
done
kv_send PATCH "$(ipath Self)" '{"provider":"DigiCert"}'
assert_kv_error 400 BadParameter "" "PATCH reserved name Self"
kv_curl GET "$(ipath Self)"
assert_kv_error 404 CertificateIssuerNotFound "$NOT_FOUND" "GET Self: no such issuer object"
kv_send PUT "$(ipath "bad_name")" '{"provider":"DigiCert"}'
assert_kv_error 400 BadParameter "" "PUT an invalid name"
LONG=$(printf 'a%.0s' $(seq 128))
kv_send PUT "$(ipath "$LONG")" '{"provider":"DigiCert"}'
assert_kv_error 400 BadParameter "" "PUT a 128-character name"
kv_send PUT "$(ipath "$PFX-x")" '{"credentials":{}}'
assert_kv_error 400 BadParameter "provider is required." "PUT without provider"
kv_send PUT "$(ipath "$PFX-x")" '{"provider":""}'
assert_kv_error 400 BadParameter "" "PUT with an empty provider"
kv_send PUT "$(ipath "$PFX-x")" '{"provider":"DigiCert","credentials":{"pwd":7}}'
assert_kv_error 400 BadParameter "credentials.pwd must be a string." "PUT with a non-string pwd"
kv_send PUT "$(ipath "$PFX-x")" '{"provider":"DigiCert","org_details":{"admin_details":{}}}'
assert_kv_error 400 BadParameter "org_details.admin_details must be an array." "PUT with admin_details not an array"
kv_send PUT "$(ipath "$PFX-x")" '{"provider":"DigiCert","attributes":{"enabled":"no"}}'
assert_kv_error 400 BadParameter "attributes.enabled must be true or false." "PUT with a bad enabled"
kv_send PUT "$(ipath "$PFX-x")" '{"provider":'
assert_kv_error 400 BadParameter "" "PUT with malformed JSON"
assert_eq "" "$(sql_issuer "$PFX-x" id)" "no issuer was stored by the refused PUTs"
kv_curl GET "$(ipath "$PFX-x")"
assert_kv_error 404 CertificateIssuerNotFound "$NOT_FOUND" "GET an unknown issuer"
kv_curl DELETE "$(ipath "$PFX-x")"
assert_kv_error 404 CertificateIssuerNotFound "$NOT_FOUND" "DELETE an unknown issuer"
kv_send POST "$(ipath "$N")" "{}"
assert_kv_error 405 MethodNotAllowed "" "POST on an issuer"
assert_match 'PUT' "$(kv_header Allow)" "405: Allow lists PUT"
assert_match 'DELETE' "$(kv_header Allow)" "405: Allow lists DELETE"

# --- permissions -----------------------------------------------------------------
TOK=$(cv_admin token create --vault "$CERTVAULT_VAULT_NAME" --name t_issuers --permissions getissuers 2>"$T_TMP/admin.err") ||
	bail "token create: $(cat "$T_TMP/admin.err")"
TOK_ID=$(sed -n 's/^token \([0-9][0-9]*\) created.*/\1/p' "$T_TMP/admin.err")
KV_TOKEN=$TOK kv_curl GET "$(ipath "$N")"
assert_status 200 "getissuers token: GET an issuer"
KV_TOKEN=$TOK kv_send PUT "$(ipath "$N")" '{"provider":"X"}'
assert_kv_error 403 Forbidden "The access token does not have certificates setissuers permission on key vault '$CERTVAULT_VAULT_NAME'." \
	"getissuers token: PUT needs setissuers"
KV_TOKEN=$TOK kv_send PATCH "$(ipath "$N")" '{"provider":"X"}'
assert_status 403 "getissuers token: PATCH needs setissuers"
KV_TOKEN=$TOK kv_curl DELETE "$(ipath "$N")"
assert_kv_error 403 Forbidden "The access token does not have certificates deleteissuers permission on key vault '$CERTVAULT_VAULT_NAME'." \
	"getissuers token: DELETE needs deleteissuers"
KV_TOKEN=$TOK kv_curl GET "/certificates/issuers?api-version=$API"
assert_kv_error 403 Forbidden "The access token does not have certificates listissuers permission on key vault '$CERTVAULT_VAULT_NAME'." \
	"getissuers token: the list needs listissuers"

# --- the list ------------------------------------------------------------------
for s in b c; do
	kv_send PUT "$(ipath "$PFX-list-$s")" '{"provider":"Test"}'
	assert_status 200 "PUT $PFX-list-$s"
done
kv_send PUT "$(ipath "$PFX-LIST-a")" '{"provider":"Test"}'
assert_status 200 "PUT $PFX-LIST-a"
kv_curl GET "/certificates/issuers?api-version=$API"
assert_status 200 "GET /certificates/issuers: 200"
assert_json '[(.value | type), has("nextLink")]' '["array",true]' "list: value array and nextLink"
assert_json "[.value[] | select(.id == \"$BASE/certificates/issuers/$N\")]" \
	"[{\"id\":\"$BASE/certificates/issuers/$N\",\"provider\":\"OneCertV2-PublicCA\"}]" \
	"list: an item is exactly {id, provider}"
# Walk every page of one item, as the SDK follows nextLink.
next="/certificates/issuers?api-version=$API&maxresults=1"
seen=()
pages=0
bad_page=
while [ -n "$next" ] && [ "$pages" -lt 500 ]; do
	kv_curl GET "$next"
	[ "$KV_STATUS" = 200 ] || { bad_page="status $KV_STATUS at $next"; break; }
	n_items=$(jqr '.value | length')
	[ "$n_items" -le 1 ] || { bad_page="$n_items items at $next"; break; }
	while IFS= read -r id; do [ -n "$id" ] && seen+=("${id##*/}"); done < <(jqr '.value[].id')
	link=$(jqr '.nextLink // empty')
	if [ -n "$link" ]; then
		[[ $link == "$BASE/certificates/issuers?"*'$skiptoken='*'maxresults=1'* ]] ||
			{ bad_page="nextLink $link"; break; }
		next=${link#"$BASE"}
	else
		next=
	fi
	pages=$((pages + 1))
done
assert_eq "" "$bad_page" "list by pages of 1: every page 200 with at most one item and an absolute nextLink"
mine=$(printf '%s\n' "${seen[@]}" | grep "^$PFX-" | tr '\n' ' ')
assert_eq "$PFX-Digi $PFX-LIST-a $PFX-list-b $PFX-list-c $PFX-local " "$mine" \
	"list: this test's issuers, each once, ordered by name ignoring case"
assert_eq "${#seen[@]}" "$(printf '%s\n' "${seen[@]}" | sort -u | wc -l)" "list: no issuer twice"
kv_curl GET "/certificates/issuers?api-version=$API&maxresults=0"
assert_kv_error 400 BadParameter "maxresults must be an integer between 1 and 25." "list maxresults=0"
kv_curl GET "/certificates/issuers?api-version=$API&maxresults=26"
assert_kv_error 400 BadParameter "" "list maxresults=26"
kv_curl GET "/certificates/issuers?api-version=$API&\$skiptoken=a_b"
assert_kv_error 400 BadParameter "The \$skiptoken is not valid." "list with a bad \$skiptoken"

# --- a disabled issuer cannot issue --------------------------------------------
D=$PFX-off
kv_send PUT "$(ipath "$D")" '{"provider":"DigiCert","attributes":{"enabled":false}}'
assert_json .attributes.enabled false "PUT a disabled issuer"
cert_new_name C "$PFX-c"
kv_send POST "/certificates/$C/create?api-version=$API" \
	"{\"policy\":{\"x509_props\":{\"subject\":\"CN=x\"},\"issuer\":{\"name\":\"$D\"}}}"
assert_kv_error 400 BadParameter "" "create naming a disabled issuer"
assert_match "$D" "$(jqr .error.message)" "disabled issuer: the message names it"
assert_match "disabled" "$(jqr .error.message)" "disabled issuer: the message says disabled"
kv_curl GET "/certificates/$C/pending?api-version=$API"
assert_status 404 "disabled issuer: no operation was made"

# --- delete refused while an operation in progress uses the issuer ----------------
# A LocalCA issuer that requires approval: certvault-worker parks its
# operations until an operator decides, so the operation stays inProgress;
# the test also takes it off the worker's queue right away.
U=$PFX-used
kv_send PUT "$(ipath "$U")" '{"provider":"LocalCA","credentials":{"pwd":"x-pw-1"},"org_details":{"id":"approval-required"}}'
assert_status 200 "PUT the issuer to be used"
cert_new_name C2 "$PFX-c"
kv_send POST "/certificates/$C2/create?api-version=$API" \
	"{\"policy\":{\"x509_props\":{\"subject\":\"CN=x\"},\"issuer\":{\"name\":\"$(printf '%s' "$U" | tr '[:lower:]' '[:upper:]')\"}}}"
assert_status 202 "create with the issuer (named in another case): 202"
t_psql "UPDATE pending_operations SET next_attempt_at = NULL WHERE status = 'inProgress'
	AND certificate_id = (SELECT id FROM certificates WHERE vault_id = $VAULT_ID AND name = '$C2')" >/dev/null
assert_eq inProgress "$(t_psql "SELECT p.status FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id
	WHERE c.vault_id = $VAULT_ID AND c.name = '$C2'")" "the operation is inProgress"
kv_curl DELETE "$(ipath "$U")"
assert_kv_error 409 Conflict "" "DELETE an issuer an operation in progress uses"
assert_match "$C2" "$(jqr .error.message)" "409: the message names the certificate"
assert_match "$U" "$(jqr .error.message)" "409: the message names the issuer"
kv_curl GET "$(ipath "$U")"
assert_status 200 "after the 409 the issuer is still there"
assert_eq 1 "$(sql_pwd "$U" 'count(*)')" "after the 409 its password is still there"

U_ID=$(sql_issuer "$U" id)
kv_curl DELETE "/certificates/$C2/pending?api-version=$API"
assert_status 200 "delete the operation"
kv_curl DELETE "$(ipath "$U")"
assert_status 200 "DELETE the issuer once no operation uses it: 200"
assert_json -r .id "$BASE/certificates/issuers/$U" "DELETE answers the last IssuerBundle: id"
assert_json -r .provider LocalCA "DELETE: provider"
assert_json -r .org_details.id approval-required "DELETE: org_details"
assert_json '.attributes | [.enabled, (.created | type)]' '[true,"number"]' "DELETE: attributes"
assert_no_match "x-pw-1" "$KV_BODY" "DELETE: no password"
kv_curl GET "$(ipath "$U")"
assert_kv_error 404 CertificateIssuerNotFound "$NOT_FOUND" "GET after DELETE"
assert_eq 0 "$(t_psql "SELECT count(*) FROM issuer_credentials WHERE issuer_id = $U_ID")" \
	"DELETE: its sealed credentials went with it"
kv_curl DELETE "$(ipath "$U")"
assert_kv_error 404 CertificateIssuerNotFound "$NOT_FOUND" "DELETE again: 404"

kv_curl DELETE "$(ipath "$N")"
assert_status 200 "DELETE an issuer nothing uses: 200"

t_done
