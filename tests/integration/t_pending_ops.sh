#!/usr/bin/env bash
# The pending certificate operation, scenario by scenario of "Monitor and
# manage certificate creation" (shared/seed): manual creation (issuer
# Unknown or none) → inProgress with the merge hint; the pending version as
# GET /certificates/{name}/ shows it; request_id as a filter; create while
# inProgress → 409 with the seed's body; cancellation (200 while inProgress,
# 400 otherwise); deleting the operation (200, then 404, the version stays);
# a finished operation overwritten by the next create; the current version
# readable while the next one is pending.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

API=7.5
BASE=https://$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT
DETAILS_MERGE="Pending certificate created. Please Perform Merge to complete the request."
CONFLICT_MSG="A new key vault certificate can not be created or imported while a pending key vault certificate's status is inProgress."
POLICY_UNKNOWN='{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=manual.example"},"issuer":{"name":"Unknown"}}'
POLICY_NONE='{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=manual.example"}}'
POLICY_SELF='{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=self.example"},"issuer":{"name":"Self"}}'

# create NAME POLICY: POST create; sets RID from the Location header.
create() {
	kv_send POST "/certificates/$1/create?api-version=$API" "{\"policy\":$2}"
	RID=$(kv_header Location) || RID= # no Location on errors
	RID=${RID##*request_id=}
}

pending() { kv_curl GET "/certificates/$1/pending?api-version=$API${2:+&request_id=$2}"; }

# --- manual creation: no issuer, and issuer Unknown ----------------------------
for variant in none Unknown; do
	cert_new_name M "manual-$(printf '%s' "$variant" | tr '[:upper:]' '[:lower:]')"
	if [ "$variant" = none ]; then create "$M" "$POLICY_NONE"; else create "$M" "$POLICY_UNKNOWN"; fi
	assert_status 202 "issuer $variant: create 202"
	assert_match "^$BASE/certificates/$M/pending\\?api-version=$API&request_id=[0-9a-f]{32}\$" \
		"$(kv_header Location)" "issuer $variant: Location of the operation"
	assert_json .status '"inProgress"' "issuer $variant: inProgress"
	assert_json -r .status_details "$DETAILS_MERGE" "issuer $variant: status_details tells to merge"
	assert_json .issuer '{"name":"Unknown"}' "issuer $variant: the operation's issuer is Unknown"
	assert_json .cancellation_requested false "issuer $variant: cancellation_requested false"
	assert_json -r .request_id "$RID" "issuer $variant: request_id as in the Location"
	assert_json '.csr | type == "string" and length > 100' true "issuer $variant: csr"
	pending "$M"
	assert_status 200 "issuer $variant: GET pending 200"
	assert_json .status '"inProgress"' "issuer $variant: GET pending stays inProgress"
	assert_json -r .status_details "$DETAILS_MERGE" "issuer $variant: GET pending status_details"
	assert_json 'has("target")' false "issuer $variant: no target while inProgress"
	kv_curl GET "/certificates/$M/?api-version=$API"
	assert_json .policy.issuer '{"name":"Unknown"}' "issuer $variant: the stored policy names issuer Unknown"
	assert_json '.policy.lifetime_actions == [{"trigger":{"lifetime_percentage":80},"action":{"action_type":"EmailContacts"}}]' \
		true "issuer $variant: default lifetime action EmailContacts at 80 %"
done

# --- the pending version ------------------------------------------------------
cert_new_name P pending
create "$P" "$POLICY_UNKNOWN"
assert_status 202 "create Unknown: 202"
RID1=$RID
CSR1=$(printf '%s' "$KV_BODY" | jq -r .csr)
kv_curl GET "/certificates/$P/?api-version=$API"
assert_status 200 "GET /certificates/{name}/ while the first version is pending: 200"
assert_match "^$BASE/certificates/$P/[0-9a-f]{32}\$" "$(printf '%s' "$KV_BODY" | jq -r .id)" \
	"pending version: id with a version"
PVER=$(printf '%s' "$KV_BODY" | jq -r .id)
PVER=${PVER##*/}
assert_json .attributes.enabled false "pending version: disabled"
assert_json '[has("cer"), has("x5t"), has("kid"), has("sid")]' '[false,false,false,false]' \
	"pending version: no cer, x5t, kid, sid"
assert_json -r .pending.id "$BASE/certificates/$P/pending" "pending version: pending.id"
assert_json -r .policy.id "$BASE/certificates/$P/policy" "pending version: has the policy"
assert_json '.attributes | has("created") and has("updated")' true "pending version: created/updated"
kv_curl GET "/certificates/$P?api-version=$API"
assert_status 200 "no trailing slash while pending: 200"
kv_curl GET "/certificates/$P/$PVER?api-version=$API"
assert_status 200 "GET the pending version by id: 200"
assert_json .attributes.enabled false "by id: disabled"

# --- request_id is a filter -------------------------------------------------------
pending "$P" "$RID1"
assert_status 200 "GET pending?request_id=<its id>: 200"
assert_json -r .request_id "$RID1" "request_id filter: the operation"
OTHER=$(cv_random_hex 16)
pending "$P" "$OTHER"
assert_kv_error 404 PendingCertificateNotFound "" "GET pending?request_id=<another id>"

# --- create while inProgress: 409 with the seed's body, nothing changes ---------
create "$P" "$POLICY_UNKNOWN"
assert_kv_error 409 Forbidden "$CONFLICT_MSG" "create while inProgress"
assert_eq '{"error":{"code":"Forbidden","message":"'"$CONFLICT_MSG"'"}}' "$KV_BODY" \
	"409 body is exactly the seed's"
assert_eq "" "$(kv_header Location)" "409: no Location"
create "$P" "$POLICY_SELF"
assert_kv_error 409 Forbidden "$CONFLICT_MSG" "create with another policy (Self) while inProgress"
kv_send POST "/certificates/$P/create?api-version=$API" '{}'
assert_kv_error 409 Forbidden "$CONFLICT_MSG" "create without a policy while inProgress"
pending "$P"
assert_json -r .request_id "$RID1" "after the 409s: the same operation"
assert_json -r .csr "$CSR1" "after the 409s: the same csr"
assert_json .status '"inProgress"' "after the 409s: still inProgress"

# --- cancellation ------------------------------------------------------------------
kv_send PATCH "/certificates/$P/pending?api-version=$API&request_id=$OTHER" '{"cancellation_requested":true}'
assert_kv_error 404 PendingCertificateNotFound "" "PATCH pending?request_id=<another id>"
kv_send PATCH "/certificates/$P/pending?api-version=$API" '{}'
assert_kv_error 400 BadParameter "" "PATCH pending without cancellation_requested"
kv_send PATCH "/certificates/$P/pending?api-version=$API" '{"cancellation_requested":"yes"}'
assert_kv_error 400 BadParameter "" "PATCH pending with a non-boolean"
pending "$P"
assert_json .cancellation_requested false "refused PATCHes changed nothing"
kv_send PATCH "/certificates/$P/pending?api-version=$API&request_id=$RID1" '{"cancellation_requested":true}'
assert_status 200 "PATCH cancel while inProgress: 200"
assert_json .cancellation_requested true "cancel: cancellation_requested true"
assert_json .status '"inProgress"' "cancel: status stays inProgress (a request only)"
assert_json -r .request_id "$RID1" "cancel: the same operation"
assert_json -r .id "$BASE/certificates/$P/pending" "cancel: id"
pending "$P"
assert_json .cancellation_requested true "GET after cancel: cancellation_requested true"
assert_json .status '"inProgress"' "GET after cancel: inProgress"
kv_send PATCH "/certificates/$P/pending?api-version=$API" '{"cancellation_requested":true}'
assert_status 200 "cancel again while inProgress: 200"
create "$P" "$POLICY_UNKNOWN"
assert_kv_error 409 Forbidden "$CONFLICT_MSG" "create after a cancel request, still inProgress"

# --- deleting the operation ------------------------------------------------------------
kv_curl DELETE "/certificates/$P/pending?api-version=$API&request_id=$OTHER"
assert_kv_error 404 PendingCertificateNotFound "" "DELETE pending?request_id=<another id>"
pending "$P"
assert_status 200 "a refused DELETE leaves the operation"
kv_curl DELETE "/certificates/$P/pending?api-version=$API"
assert_status 200 "DELETE pending: 200"
assert_json -r .id "$BASE/certificates/$P/pending" "DELETE: the operation's id"
assert_json -r .request_id "$RID1" "DELETE: the operation's request_id"
assert_json .status '"inProgress"' "DELETE: its last status"
assert_json .cancellation_requested true "DELETE: its last cancellation_requested"
assert_json -r .csr "$CSR1" "DELETE: its csr"
pending "$P"
assert_kv_error 404 PendingCertificateNotFound "Pending certificate not found: $P" "GET pending after DELETE"
pending "$P" "$RID1"
assert_kv_error 404 PendingCertificateNotFound "" "GET pending?request_id=<deleted id>"
kv_send PATCH "/certificates/$P/pending?api-version=$API" '{"cancellation_requested":true}'
assert_kv_error 404 PendingCertificateNotFound "" "PATCH after DELETE"
kv_curl DELETE "/certificates/$P/pending?api-version=$API"
assert_kv_error 404 PendingCertificateNotFound "" "DELETE again"
kv_curl GET "/certificates/$P/?api-version=$API"
assert_status 200 "the pending version stays readable after DELETE pending"
assert_json -r .id "$BASE/certificates/$P/$PVER" "after DELETE pending: the same version"
assert_json .attributes.enabled false "after DELETE pending: still disabled"
assert_json '[has("cer"), has("x5t"), has("kid"), has("sid")]' '[false,false,false,false]' \
	"after DELETE pending: still no cer, x5t, kid, sid"
assert_json 'has("policy")' true "after DELETE pending: has the policy"
assert_json 'has("pending")' false "after DELETE pending: no pending any more"
# The name is no longer blocked.
create "$P" "$POLICY_UNKNOWN"
assert_status 202 "create after DELETE pending: 202"
assert_ne "$RID1" "$RID" "a new request_id"
pending "$P" "$RID1"
assert_kv_error 404 PendingCertificateNotFound "" "the deleted operation's request_id stays unknown"

# --- Self: completed, cancel refused, overwritten by the next create ---------------------
cert_new_name S self
create "$S" "$POLICY_SELF"
assert_status 202 "create Self: 202"
RIDS1=$RID
pending "$S"
assert_json .status '"completed"' "Self: completed"
kv_send PATCH "/certificates/$S/pending?api-version=$API" '{"cancellation_requested":true}'
assert_kv_error 400 BadParameter "" "cancel a completed operation"
pending "$S"
assert_json '[.status, .cancellation_requested]' '["completed",false]' "a refused cancel changes nothing"
kv_curl GET "/certificates/$S/?api-version=$API"
V1=$(printf '%s' "$KV_BODY" | jq -r .id)
V1=${V1##*/}
CER1=$(printf '%s' "$KV_BODY" | jq -r .cer)
create "$S" "$POLICY_SELF"
assert_status 202 "a second create over a completed operation: 202"
RIDS2=$RID
assert_ne "$RIDS1" "$RIDS2" "the new operation has a new request_id"
pending "$S" "$RIDS1"
assert_kv_error 404 PendingCertificateNotFound "" "the overwritten operation's request_id"
pending "$S" "$RIDS2"
assert_status 200 "the new operation: 200"
assert_json .status '"completed"' "the new operation: completed"
kv_curl GET "/certificates/$S/?api-version=$API"
V2=$(printf '%s' "$KV_BODY" | jq -r .id)
V2=${V2##*/}
assert_ne "$V1" "$V2" "the second create made a new version"
kv_curl GET "/certificates/$S/$V1?api-version=$API"
assert_status 200 "the first version stays readable"
assert_json -r .cer "$CER1" "the first version keeps its certificate"
# A later create without a policy reuses the stored one.
kv_send POST "/certificates/$S/create?api-version=$API" '{}'
assert_status 202 "a later create without a policy: 202 (the stored policy)"
assert_json .issuer '{"name":"Self"}' "the stored policy's issuer"

# --- the current version while the next one is pending ---------------------------------
kv_curl GET "/certificates/$S/?api-version=$API"
V3=$(printf '%s' "$KV_BODY" | jq -r .id)
V3=${V3##*/}
CER3=$(printf '%s' "$KV_BODY" | jq -r .cer)
create "$S" "$POLICY_UNKNOWN"
assert_status 202 "create Unknown over a completed Self certificate: 202"
kv_curl GET "/certificates/$S/?api-version=$API"
assert_status 200 "latest while the next version is pending: 200"
assert_json -r .id "$BASE/certificates/$S/$V3" "latest is still the issued version"
assert_json -r .cer "$CER3" "latest keeps its certificate"
assert_json .attributes.enabled true "latest stays enabled"
assert_json -r .pending.id "$BASE/certificates/$S/pending" "latest shows the pending operation"
pending "$S"
assert_json .status '"inProgress"' "the new operation is inProgress"
create "$S" "$POLICY_SELF"
assert_kv_error 409 Forbidden "$CONFLICT_MSG" "create while the new version is pending"
kv_curl DELETE "/certificates/$S/pending?api-version=$API"
assert_status 200 "DELETE the completed-then-new operation: 200"
kv_curl GET "/certificates/$S/?api-version=$API"
assert_json -r .id "$BASE/certificates/$S/$V3" "after DELETE pending: latest is the issued version"

# --- DELETE of a completed operation ---------------------------------------------------------
cert_new_name D finished
create "$D" "$POLICY_SELF"
kv_curl DELETE "/certificates/$D/pending?api-version=$API"
assert_status 200 "DELETE a completed operation: 200"
assert_json .status '"completed"' "DELETE: the completed operation"
pending "$D"
assert_kv_error 404 PendingCertificateNotFound "" "after DELETE of a completed operation"
kv_curl GET "/certificates/$D/?api-version=$API"
assert_json '[.attributes.enabled, has("cer"), has("pending")]' '[true,true,false]' \
	"the certificate is unchanged, without pending"

# --- no operation at all ----------------------------------------------------------------------
MISSING=never-$(cv_random_hex 4)
pending "$MISSING"
assert_kv_error 404 PendingCertificateNotFound "" "GET pending of an unknown name"
kv_send PATCH "/certificates/$MISSING/pending?api-version=$API" '{"cancellation_requested":true}'
assert_kv_error 404 PendingCertificateNotFound "" "PATCH pending of an unknown name"
kv_curl DELETE "/certificates/$MISSING/pending?api-version=$API"
assert_kv_error 404 PendingCertificateNotFound "" "DELETE pending of an unknown name"

t_done
