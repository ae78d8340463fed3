#!/usr/bin/env bash
# Merge (POST /certificates/{name}/pending/merge) of a chain signed by a CA
# this test makes with GnuTLS certtool: x5c as standard base64 of DER, as
# PEM text, and as base64 of the base64 (what the JS SDK sends), each for
# its own certificate → 201 with Location and the completed bundle (cer,
# x5t = SHA-1 of the DER sent, kid/sid of the pending version), operation
# completed with target. Refusals leave the operation as it was: a
# certificate for another key, garbage x5c (400); no operation (404).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v certtool >/dev/null 2>&1 || { echo "ERROR: certtool (gnutls-bin) is not installed"; T_DONE=1; exit 99; }

API=7.5
BASE=https://$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT
CA=$T_TMP/ca
test_ca_make "$CA" || bail "certtool could not make the test CA"
CA_B64=$(base64 -w0 "$CA/ca.der")

# manual NAME POLICY_KEY_PROPS: create with issuer Unknown; sets RID, CSR,
# PVER (the pending version).
manual() {
	kv_send POST "/certificates/$1/create?api-version=$API" \
		"{\"policy\":{\"key_props\":$2,\"x509_props\":{\"subject\":\"CN=$1.example\",\"sans\":{\"dns_names\":[\"$1.example\"]}},\"issuer\":{\"name\":\"Unknown\"}}}"
	assert_status 202 "$1: create Unknown 202"
	RID=$(printf '%s' "$KV_BODY" | jq -r .request_id)
	CSR=$(printf '%s' "$KV_BODY" | jq -r .csr)
	kv_curl GET "/certificates/$1/?api-version=$API"
	PVER=$(printf '%s' "$KV_BODY" | jq -r .id)
	PVER=${PVER##*/}
}

merge() { kv_send POST "/certificates/$1/pending/merge?api-version=$API" "$2"; }

# merged_ok NAME LEAF_DER LABEL: the 201 of a merge and what follows.
merged_ok() {
	local name=$1 der=$2 label=$3 leaf_b64 info
	leaf_b64=$(base64 -w0 "$der")
	assert_status 201 "$label: merge 201"
	assert_json_type "$label: Content-Type application/json"
	assert_eq "$BASE/certificates/$name?api-version=$API" "$(kv_header Location)" \
		"$label: Location is the certificate"
	assert_json -r .id "$BASE/certificates/$name/$PVER" "$label: id is the pending version's"
	assert_json -r .kid "$BASE/keys/$name/$PVER" "$label: kid with the same version"
	assert_json -r .sid "$BASE/secrets/$name/$PVER" "$label: sid with the same version"
	assert_json .attributes.enabled true "$label: enabled"
	assert_json -r .cer "$leaf_b64" "$label: cer is the leaf sent (standard base64 of its DER)"
	assert_match '^[A-Za-z0-9_-]{27}$' "$(printf '%s' "$KV_BODY" | jq -r .x5t)" "$label: x5t base64url, 27 characters"
	assert_json -r .x5t "$(x5t_of "$der")" "$label: x5t is the SHA-1 of the DER sent"
	info=$(der_info "$der")
	assert_json .attributes.nbf "$(date -u -d "$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*Not Before: //p')" +%s)" \
		"$label: nbf from the certificate"
	assert_json .attributes.exp "$(date -u -d "$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*Not After: //p')" +%s)" \
		"$label: exp from the certificate (30 days, not the policy's 12 months)"
	assert_json -r .policy.id "$BASE/certificates/$name/policy" "$label: the bundle has the policy"
	kv_curl GET "/certificates/$name/pending?api-version=$API"
	assert_status 200 "$label: operation 200"
	assert_json .status '"completed"' "$label: operation completed"
	assert_json -r .target "$BASE/certificates/$name" "$label: operation target"
	assert_json 'has("status_details")' false "$label: no status_details once completed"
	assert_json -r .request_id "$RID" "$label: the same operation"
	kv_curl GET "/certificates/$name/?api-version=$API"
	assert_json -r .cer "$leaf_b64" "$label: GET returns the merged certificate"
	assert_json -r .id "$BASE/certificates/$name/$PVER" "$label: GET returns that version"
	kv_send POST "/certificates/$name/create?api-version=$API" '{}'
	assert_status 202 "$label: the name takes a new create after the merge"
}

# --- base64 of DER, the chain leaf first -------------------------------------
cert_new_name A merge-der
manual "$A" '{"kty":"RSA","key_size":2048}'
test_ca_sign "$CA" "$CSR" "$T_TMP/a" || bail "certtool could not sign $A's request"
assert_match "DNSname: $A\\.example" "$(der_info "$T_TMP/a.der")" "the CA kept the request's SAN"
merge "$A" "{\"x5c\":[\"$(base64 -w0 "$T_TMP/a.der")\",\"$CA_B64\"]}"
merged_ok "$A" "$T_TMP/a.der" "x5c base64 DER"

# --- PEM text, the chain in reverse order ------------------------------------
cert_new_name B merge-pem
manual "$B" '{"kty":"EC","crv":"P-256"}'
test_ca_sign "$CA" "$CSR" "$T_TMP/b" || bail "certtool could not sign $B's request"
merge "$B" "$(jq -nc --rawfile leaf "$T_TMP/b.pem" --rawfile ca "$CA/ca.pem" '{x5c: [$ca, $leaf]}')"
merged_ok "$B" "$T_TMP/b.der" "x5c PEM text, CA first"

# --- base64 of the base64 text (the JS SDK's mergeCertificate) --------------------
cert_new_name C merge-double
manual "$C" '{"kty":"EC","crv":"P-384"}'
test_ca_sign "$CA" "$CSR" "$T_TMP/c" || bail "certtool could not sign $C's request"
merge "$C" "{\"x5c\":[\"$(base64 -w0 "$T_TMP/c.der" | base64 -w0)\"]}"
merged_ok "$C" "$T_TMP/c.der" "x5c double base64, leaf alone"

# --- a completed operation takes no merge -------------------------------------------
cert_new_name E merge-twice
manual "$E" '{"kty":"EC","crv":"P-256"}'
test_ca_sign "$CA" "$CSR" "$T_TMP/e" || bail "certtool could not sign $E's request"
merge "$E" "{\"x5c\":[\"$(base64 -w0 "$T_TMP/e.der")\"]}"
assert_status 201 "merge: 201"
merge "$E" "{\"x5c\":[\"$(base64 -w0 "$T_TMP/e.der")\"]}"
assert_status 403 "a second merge into the completed operation: 403"
kv_curl GET "/certificates/$E/pending?api-version=$API"
assert_json .status '"completed"' "the operation stays completed"

# --- refusals leave the operation unchanged ---------------------------------------
cert_new_name W merge-wrong
manual "$W" '{"kty":"RSA","key_size":2048}'
WRID=$RID
WCSR=$CSR
# unchanged LABEL: W's operation is still the same, inProgress, untouched.
unchanged() {
	kv_curl GET "/certificates/$W/pending?api-version=$API"
	assert_json '[.status, .request_id, .csr, .cancellation_requested]' \
		"$(jq -nc --arg r "$WRID" --arg c "$WCSR" '["inProgress", $r, $c, false]')" \
		"$1: the operation is unchanged (inProgress, same request_id and csr)"
	kv_curl GET "/certificates/$W/?api-version=$API"
	assert_json '[.attributes.enabled, has("cer")]' '[false,false]' "$1: the version is still pending"
}
# A certificate for A's key (signed by the same CA) is no certificate for W's.
merge "$W" "{\"x5c\":[\"$(base64 -w0 "$T_TMP/a.der")\",\"$CA_B64\"]}"
assert_kv_error 400 BadParameter "" "merge of a certificate for another key"
assert_match 'does not match' "$(printf '%s' "$KV_BODY" | jq -r .error.message)" \
	"another key: the message says the key does not match"
unchanged "another key"
merge "$W" "{\"x5c\":[\"$CA_B64\"]}"
assert_kv_error 400 BadParameter "" "merge of the CA certificate alone"
unchanged "CA alone"

merge "$W" '{"x5c":["this is not base64!"]}'
assert_kv_error 400 BadParameter "" "x5c garbage text"
assert_match 'x5c' "$(printf '%s' "$KV_BODY" | jq -r .error.message)" "garbage: the message names x5c"
merge "$W" "{\"x5c\":[\"$(printf 'hello, world' | base64 -w0)\"]}"
assert_kv_error 400 BadParameter "" "x5c base64 of something that is no certificate"
merge "$W" "{\"x5c\":[\"$(head -c 300 "$T_TMP/a.der" | base64 -w0)\"]}"
assert_kv_error 400 BadParameter "" "x5c truncated DER"
merge "$W" '{"x5c":[]}'
assert_kv_error 400 BadParameter "" "x5c empty"
merge "$W" '{"x5c":"MIIB"}'
assert_kv_error 400 BadParameter "" "x5c not an array"
merge "$W" '{}'
assert_kv_error 400 BadParameter "" "x5c missing"
merge "$W" '{"x5c":[42]}'
assert_kv_error 400 BadParameter "" "x5c element not a string"
merge "$W" 'not json'
assert_kv_error 400 BadParameter "" "merge body not JSON"
unchanged "after the garbage"

# After all that, the right certificate still merges.
test_ca_sign "$CA" "$WCSR" "$T_TMP/w" || bail "certtool could not sign $W's request"
RID=$WRID
kv_curl GET "/certificates/$W/?api-version=$API"
PVER=$(printf '%s' "$KV_BODY" | jq -r .id)
PVER=${PVER##*/}
merge "$W" "{\"x5c\":[\"$(base64 -w0 "$T_TMP/w.der")\"]}"
merged_ok "$W" "$T_TMP/w.der" "the right certificate after refusals"

# --- no operation ---------------------------------------------------------------------
MISSING=never-$(cv_random_hex 4)
merge "$MISSING" "{\"x5c\":[\"$(base64 -w0 "$T_TMP/a.der")\"]}"
assert_kv_error 404 PendingCertificateNotFound "" "merge without any certificate"
cert_new_name G merge-gone
manual "$G" '{"kty":"EC","crv":"P-256"}'
test_ca_sign "$CA" "$CSR" "$T_TMP/g" || bail "certtool could not sign $G's request"
kv_curl DELETE "/certificates/$G/pending?api-version=$API"
assert_status 200 "DELETE pending before the merge: 200"
merge "$G" "{\"x5c\":[\"$(base64 -w0 "$T_TMP/g.der")\"]}"
assert_kv_error 404 PendingCertificateNotFound "" "merge after the operation was deleted"

t_done
