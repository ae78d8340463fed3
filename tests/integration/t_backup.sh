#!/usr/bin/env bash
# Backup and restore through lighttpd: POST /certificates/{name}/backup
# answers {"value": <base64url blob>}; restore over a live or soft-deleted
# name is 409; after delete and purge, restore brings back every version
# (ids, cer, chain, attributes, tags, timestamps) and the policy, each key
# sealed again under a new key_uid, and the private key itself (the secret,
# where it can be read, is the same). The restored certificate backs up
# and restores again. A changed character, garbage, a missing value, and a
# blob opened by a certvault with another master key are 400.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v certtool >/dev/null 2>&1 || { echo "ERROR: certtool (gnutls-bin) is not installed"; T_DONE=1; exit 99; }

API=7.5
BASE=https://$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT
INVALID="The backup blob is not valid, or was made with a different master key."
POLICY_PEM='{"key_props":{"kty":"EC","crv":"P-256","exportable":true},"secret_props":{"contentType":"application/x-pem-file"},"x509_props":{"subject":"CN=backup.example"},"issuer":{"name":"Self"}}'
POLICY_UNKNOWN='{"key_props":{"kty":"RSA","key_size":2048},"x509_props":{"subject":"CN=backup-merged.example"},"issuer":{"name":"Unknown"}}'

jqr() { printf '%s' "$KV_BODY" | jq -r "$1"; }
create() { kv_send POST "/certificates/$1/create?api-version=$API" "$2"; }
backup() { kv_curl POST "/certificates/$1/backup?api-version=$API" --data-binary ""; }
restore() { kv_send POST "/certificates/restore?api-version=$API" "$(jq -nc --arg v "$1" '{value: $v}')"; }
delete_purge() {
	kv_curl DELETE "/certificates/$1?api-version=$API"
	assert_status 200 "delete $1: 200"
	kv_curl DELETE "/deletedcertificates/$1?api-version=$API"
	assert_status 204 "purge $1: 204"
}
# rows NAME: what the database holds of a certificate, timestamps to the
# second, one line per version: version, enabled, tags, content type,
# created, updated, hex of the DER and of each chain element, key type.
rows() {
	t_psql "SELECT v.version, v.enabled, v.tags::text, v.content_type,
		extract(epoch FROM v.created_at)::bigint, extract(epoch FROM v.updated_at)::bigint,
		encode(v.certificate_der, 'hex'), array_to_string(ARRAY(SELECT encode(e, 'hex')
		FROM unnest(v.chain_der) e), ','), k.kty, k.key_size, k.curve, k.exportable,
		encode(k.public_key, 'hex'), extract(epoch FROM k.created_at)::bigint
		FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id
		JOIN keys k ON k.id = v.key_id WHERE c.name = '$1' AND c.deleted_at IS NULL
		ORDER BY v.created_at, v.id"
}
cert_row() {
	t_psql "SELECT policy::text, tags::text, extract(epoch FROM created_at)::bigint,
		extract(epoch FROM policy_updated_at)::bigint FROM certificates WHERE name = '$1'"
}
key_uids() {
	t_psql "SELECT k.key_uid FROM keys k JOIN certificates c ON c.id = k.certificate_id
		WHERE c.name = '$1' ORDER BY k.key_uid"
}

# --- a certificate with two versions -------------------------------------------------
cert_new_name B backup
create "$B" "{\"policy\":$POLICY_PEM,\"tags\":{\"v\":\"1\"}}"
assert_status 202 "create $B: 202"
kv_curl GET "/certificates/$B?api-version=$API"
V1=$(jqr .id)
V1=${V1##*/}
CER1=$(jqr .cer)
sleep 1 # distinct creation seconds keep the order of versions visible
create "$B" "{\"policy\":$POLICY_PEM,\"tags\":{\"v\":\"2\"}}"
assert_status 202 "create a second version: 202"
kv_curl GET "/certificates/$B?api-version=$API"
assert_status 200 "GET the latest: 200"
V2=$(jqr .id)
V2=${V2##*/}
CER2=$(jqr .cer)
BUNDLE2=$(printf '%s' "$KV_BODY" | jq -c 'del(.attributes.recoveryLevel, .attributes.recoverableDays, .pending)')
assert_ne "$V1" "$V2" "two versions"
# Something for the blob to carry beyond what create sets.
t_psql "UPDATE certificate_versions SET enabled = false, tags = '{\"old\":\"yes\"}'
	WHERE version = '$V1'" >/dev/null
t_psql "UPDATE certificates SET tags = '{\"cert\":\"tag\"}' WHERE name = '$B'" >/dev/null
ROWS=$(rows "$B")
CERT_ROW=$(cert_row "$B")
UIDS=$(key_uids "$B")
assert_eq 2 "$(printf '%s\n' "$UIDS" | grep -c .)" "two keys"
kv_curl GET "/secrets/$B?api-version=$API"
SECRET=
if [ "$KV_STATUS" = 200 ]; then SECRET=$(jqr .value); else diag "GET /secrets answers $KV_STATUS: not comparing secrets"; fi

# --- backup --------------------------------------------------------------------------------
backup "$B"
assert_status 200 "POST backup: 200"
assert_json_type "backup: Content-Type application/json"
assert_json 'keys' '["value"]' "backup: exactly {\"value\": …}"
BLOB=$(jqr .value)
assert_match '^[A-Za-z0-9_-]+$' "$BLOB" "backup: value is base64url without padding"
pad=$(( (4 - ${#BLOB} % 4) % 4 ))
{ printf '%s' "$BLOB" | tr -- '-_' '+/'; head -c "$pad" </dev/zero | tr '\0' '='; } | base64 -d >"$T_TMP/blob.bin" 2>/dev/null || true
assert_eq CVB1 "$(head -c 4 "$T_TMP/blob.bin")" "backup: the blob starts with the magic CVB1"
assert_true "backup: magic, 12-byte nonce, ciphertext and 16-byte tag" test "$(stat -c %s "$T_TMP/blob.bin")" -gt 32
for pat in "$B" 'BEGIN' 'backup.example'; do
	if grep -qa -- "$pat" "$T_TMP/blob.bin"; then fail "backup: the blob shows '$pat' in the clear"; else ok "backup: '$pat' is not readable in the blob"; fi
done
backup "$B"
assert_ne "$BLOB" "$(jqr .value)" "backup again: a fresh nonce, another blob"
backup "nosuch-$(cv_random_hex 4)"
assert_kv_error 404 CertificateNotFound "" "backup of an unknown certificate"
kv_curl GET "/certificates/restore?api-version=$API"
assert_status 404 "GET /certificates/restore is a certificate named restore: 404"

# --- restore over an existing name -----------------------------------------------------
CONFLICT="Conflict while restoring certificate $BASE/certificates/$B - certificate already exists or concurrent access"
restore "$BLOB"
assert_kv_error 409 Conflict "$CONFLICT" "restore over the live certificate"
kv_curl DELETE "/certificates/$B?api-version=$API"
assert_status 200 "delete: 200"
restore "$BLOB"
assert_kv_error 409 Conflict "$CONFLICT" "restore over the soft-deleted certificate"
kv_curl DELETE "/deletedcertificates/$B?api-version=$API"
assert_status 204 "purge: 204"
backup "$B"
assert_status 404 "backup of a purged certificate: 404"

# --- restore -----------------------------------------------------------------------------
restore "$BLOB"
assert_status 200 "restore: 200"
assert_json -r .id "$BASE/certificates/$B/$V2" "restore: the latest version, same id"
assert_json -r .cer "$CER2" "restore: the same cer"
assert_eq "$BUNDLE2" "$(printf '%s' "$KV_BODY" | jq -c 'del(.attributes.recoveryLevel, .attributes.recoverableDays, .pending)')" \
	"restore: the bundle is the one GET showed before the backup (without its operation)"
kv_curl GET "/certificates/$B/$V1?api-version=$API"
assert_status 200 "GET the first version by id: 200"
assert_json -r .cer "$CER1" "first version: the same cer"
assert_json .attributes.enabled false "first version: still disabled"
assert_json .tags '{"old":"yes"}' "first version: its tags"
assert_eq "$ROWS" "$(rows "$B")" "every version: same id, attributes, tags, times, DER, chain, key type and public key"
assert_eq "$CERT_ROW" "$(cert_row "$B")" "the policy, the certificate's tags and their times"
NEW_UIDS=$(key_uids "$B")
assert_eq 2 "$(printf '%s\n' "$NEW_UIDS" | grep -c .)" "restore: two keys"
assert_eq "" "$(comm -12 <(printf '%s\n' "$UIDS") <(printf '%s\n' "$NEW_UIDS"))" "restore: every key has a new key_uid"
if [ -n "$SECRET" ]; then
	kv_curl GET "/secrets/$B?api-version=$API"
	assert_status 200 "GET /secrets after restore: 200"
	assert_eq "$SECRET" "$(jqr .value)" "the secret (key and certificate, PEM) is the same"
fi
kv_curl GET "/certificates/$B/pending?api-version=$API"
assert_status 404 "no pending operation comes back"

restore "$BLOB"
assert_kv_error 409 Conflict "$CONFLICT" "restore the same blob again"

# The restored certificate (keys sealed under new uids) backs up again.
backup "$B"
assert_status 200 "backup of the restored certificate: 200"
BLOB2=$(jqr .value)
delete_purge "$B"
restore "$BLOB2"
assert_status 200 "restore of the second backup: 200"
assert_eq "$ROWS" "$(rows "$B")" "… the same versions again"

# --- a merged certificate: the chain comes back ------------------------------------
CA=$T_TMP/ca
test_ca_make "$CA" || bail "certtool: no test CA"
cert_new_name M backup-merged
create "$M" "{\"policy\":$POLICY_UNKNOWN}"
assert_status 202 "create Unknown: 202"
CSR=$(jqr .csr)
test_ca_sign "$CA" "$CSR" "$T_TMP/m" || bail "certtool: CSR not signed"
kv_send POST "/certificates/$M/pending/merge?api-version=$API" \
	"{\"x5c\":[\"$(base64 -w0 "$T_TMP/m.der")\",\"$(base64 -w0 "$CA/ca.der")\"]}"
assert_status 201 "merge with the CA: 201"
MROWS=$(rows "$M")
assert_match ",?$(hex_of "$CA/ca.der")" "$MROWS" "the merged version keeps the CA in its chain"
backup "$M"
assert_status 200 "backup of the merged certificate: 200"
MBLOB=$(jqr .value)
delete_purge "$M"
restore "$MBLOB"
assert_status 200 "restore the merged certificate: 200"
assert_eq "$MROWS" "$(rows "$M")" "… with its chain"

# --- blobs that are not ours ----------------------------------------------------------
delete_purge "$B"
mid=$((${#BLOB} / 2))
c=${BLOB:$mid:1}
if [ "$c" = A ]; then r=B; else r=A; fi
restore "${BLOB:0:$mid}$r${BLOB:$((mid + 1))}"
assert_kv_error 400 BadParameter "$INVALID" "restore a blob with one character changed"
restore "${BLOB:0:$((${#BLOB} - 4))}"
assert_kv_error 400 BadParameter "$INVALID" "restore a truncated blob"
restore "${BLOB}AAAA"
assert_kv_error 400 BadParameter "$INVALID" "restore a blob with bytes added"
restore 'not!base64url'
assert_kv_error 400 BadParameter "$INVALID" "restore garbage"
restore "$(printf 'CVB0%060d' 0 | base64 -w0 | tr '+/' '-_' | tr -d '=')"
assert_kv_error 400 BadParameter "$INVALID" "restore a blob with another magic"
kv_send POST "/certificates/restore?api-version=$API" '{}'
assert_kv_error 400 BadParameter "" "restore without value"
kv_send POST "/certificates/restore?api-version=$API" '{"value":""}'
assert_kv_error 400 BadParameter "" "restore with an empty value"
kv_send POST "/certificates/restore?api-version=$API" 'not json'
assert_kv_error 400 BadParameter "" "restore with a body that is not JSON"
assert_eq 0 "$(t_psql "SELECT count(*) FROM certificates WHERE name = '$B'")" "the refused restores wrote nothing"

# Another certvault whose master key differs cannot open the blob.
cv_admin master-key create "$T_TMP/other.key" >/dev/null 2>&1 || bail "master-key create"
sed "s|^master_key_file *=.*|master_key_file = $T_TMP/other.key|" "$CERTVAULT_CONFIG" >"$T_TMP/other.conf"
fcgi_private_start other --config "$T_TMP/other.conf" --workers 1
body=$(jq -nc --arg v "$BLOB" '{value: $v}')
printf '%s' "$body" >"$T_TMP/restore.json"
fcgi_req "$PRIV_SOCK" POST "/certificates/restore?api-version=$API" \
	CONTENT_LENGTH="${#body}" CONTENT_TYPE=application/json <"$T_TMP/restore.json"
assert_kv_error 400 BadParameter "$INVALID" "restore on a certvault with another master key"
fcgi_req "$PRIV_SOCK" POST "/certificates/$M/backup?api-version=$API" CONTENT_LENGTH=0 </dev/null
assert_status 500 "backup on a certvault whose master key did not seal the keys: 500"
# … and one with the same master key (the stack's configuration) can.
fcgi_private_start same --workers 1
fcgi_req "$PRIV_SOCK" POST "/certificates/restore?api-version=$API" \
	CONTENT_LENGTH="${#body}" CONTENT_TYPE=application/json <"$T_TMP/restore.json"
assert_status 200 "restore on another certvault sharing the master key: 200"
assert_eq "$ROWS" "$(rows "$B")" "… the same versions"

# No key material in any log.
logs=$(find "$CERTVAULT_HOME" -type f -name '*.log' | sort)
assert_eq "" "$(printf '%s\n' "$logs" | xargs -d '\n' grep -l 'PRIVATE KEY' 2>/dev/null)" "no private key in any log"

t_done
