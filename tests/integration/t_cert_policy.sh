#!/usr/bin/env bash
# Create requests that must be refused with 400 BadParameter and a message
# naming the field: invalid policies (kty oct, RSA 1024, P-256K, unknown
# key usage, a lifetime action with both triggers, a subject that is not a
# DN, ...), an issuer name that is no issuer, a missing policy, bad JSON and
# a bad name. A refused create leaves nothing behind (the name stays free),
# and the HSM key types are accepted.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

API=7.5

# refused LABEL POLICY_JSON MESSAGE_ERE: create with {"policy": POLICY_JSON}
# on a fresh name → 400 BadParameter whose message matches MESSAGE_ERE;
# afterwards the name does not exist.
refused() {
	local label=$1 policy=$2 want=$3 name
	cert_new_name name "bad-$label"
	kv_send POST "/certificates/$name/create?api-version=$API" "{\"policy\":$policy}"
	assert_kv_error 400 BadParameter "" "$label"
	assert_match "$want" "$(printf '%s' "$KV_BODY" | jq -r .error.message)" "$label: the message names the field"
	kv_curl GET "/certificates/$name/?api-version=$API"
	assert_status 404 "$label: nothing was created"
}

SUBJ='"x509_props":{"subject":"CN=policy.example"}'

refused kty-oct "{\"key_props\":{\"kty\":\"oct\"},$SUBJ}" 'policy\.key_props\.kty'
refused kty-bogus "{\"key_props\":{\"kty\":\"DSA\"},$SUBJ}" 'policy\.key_props\.kty'
refused rsa-1024 "{\"key_props\":{\"kty\":\"RSA\",\"key_size\":1024},$SUBJ}" 'policy\.key_props\.key_size'
refused rsa-2000 "{\"key_props\":{\"kty\":\"RSA\",\"key_size\":2000},$SUBJ}" 'policy\.key_props\.key_size'
refused rsa-crv "{\"key_props\":{\"kty\":\"RSA\",\"crv\":\"P-256\"},$SUBJ}" 'policy\.key_props\.crv'
refused p256k "{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256K\"},$SUBJ}" 'policy\.key_props\.crv.*P-256K'
refused crv-bogus "{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-192\"},$SUBJ}" 'policy\.key_props\.crv'
refused ec-size-mismatch "{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"key_size\":384},$SUBJ}" \
	'policy\.key_props\.key_size'
refused exportable-type "{\"key_props\":{\"exportable\":\"yes\"},$SUBJ}" 'policy\.key_props\.exportable'
refused key-usage '{"x509_props":{"subject":"CN=policy.example","key_usage":["digitalSignature","bogusUsage"]}}' \
	'policy\.x509_props\.key_usage\[1\]'
refused eku '{"x509_props":{"subject":"CN=policy.example","ekus":["serverAuth"]}}' 'policy\.x509_props\.ekus\[0\]'
refused validity '{"x509_props":{"subject":"CN=policy.example","validity_months":"twelve"}}' \
	'policy\.x509_props\.validity_months'
refused both-triggers \
	"{$SUBJ,\"lifetime_actions\":[{\"trigger\":{\"lifetime_percentage\":80,\"days_before_expiry\":30},\"action\":{\"action_type\":\"AutoRenew\"}}]}" \
	'policy\.lifetime_actions\[0\]\.trigger'
refused no-trigger \
	"{$SUBJ,\"lifetime_actions\":[{\"trigger\":{},\"action\":{\"action_type\":\"AutoRenew\"}}]}" \
	'policy\.lifetime_actions\[0\]'
refused action-type \
	"{$SUBJ,\"lifetime_actions\":[{\"trigger\":{\"lifetime_percentage\":80},\"action\":{\"action_type\":\"Explode\"}}]}" \
	'policy\.lifetime_actions\[0\]\.action\.action_type'
refused percentage "{$SUBJ,\"lifetime_actions\":[{\"trigger\":{\"lifetime_percentage\":100},\"action\":{\"action_type\":\"AutoRenew\"}}]}" \
	'lifetime_percentage'
refused subject-not-dn '{"x509_props":{"subject":"not a distinguished name"}}' 'policy\.x509_props\.subject'
refused subject-bad-type '{"x509_props":{"subject":"XYZ=foo"}}' 'policy\.x509_props\.subject'
refused subject-empty-value '{"x509_props":{"subject":"CN="}}' 'policy\.x509_props\.subject'
refused subject-missing '{"x509_props":{}}' 'policy\.x509_props\.subject'
refused content-type "{$SUBJ,\"secret_props\":{\"contentType\":\"text/plain\"}}" 'policy\.secret_props\.contentType'
refused key-props-type "{\"key_props\":[],$SUBJ}" 'policy\.key_props'
refused sans-type '{"x509_props":{"subject":"CN=policy.example","sans":{"dns_names":"a.example"}}}' \
	'policy\.x509_props\.sans\.dns_names'

# An issuer name that is neither Self, Unknown nor an issuer of the vault.
cert_new_name N issuer
kv_send POST "/certificates/$N/create?api-version=$API" \
	"{\"policy\":{$SUBJ,\"issuer\":{\"name\":\"mydigicert\",\"cty\":\"OV-SSL\"}}}"
assert_kv_error 400 BadParameter "" "unknown issuer name"
assert_match "mydigicert" "$(printf '%s' "$KV_BODY" | jq -r .error.message)" "unknown issuer: the message names it"
kv_curl GET "/certificates/$N/pending?api-version=$API"
assert_kv_error 404 PendingCertificateNotFound "" "unknown issuer: no operation was made"

# The first create of a name needs a policy.
kv_send POST "/certificates/$N/create?api-version=$API" '{}'
assert_kv_error 400 BadParameter "" "first create without a policy"
assert_match "policy" "$(printf '%s' "$KV_BODY" | jq -r .error.message)" "no policy: the message says policy"

kv_send POST "/certificates/$N/create?api-version=$API" '{"policy":'
assert_kv_error 400 BadParameter "" "malformed JSON body"
kv_send POST "/certificates/$N/create?api-version=$API" '[]'
assert_kv_error 400 BadParameter "" "body that is not an object"
kv_send POST "/certificates/$N/create?api-version=$API" '{"policy":"Self"}'
assert_kv_error 400 BadParameter "" "policy that is not an object"
kv_send POST "/certificates/$N/create?api-version=$API" \
	"{\"policy\":{$SUBJ},\"tags\":{\"n\":1}}"
assert_kv_error 400 BadParameter "" "tag value that is not a string"
assert_match 'tags' "$(printf '%s' "$KV_BODY" | jq -r .error.message)" "tags: the message names the field"
kv_send POST "/certificates/bad_name/create?api-version=$API" "{\"policy\":{$SUBJ}}"
assert_kv_error 400 BadParameter "" "certificate name with an underscore"
kv_curl GET "/certificates/$N/?api-version=$API"
assert_status 404 "after all refusals the name is still free"

# HSM key types are accepted (as software keys) and kept in the policy.
cert_new_name H hsm
kv_send POST "/certificates/$H/create?api-version=$API" \
	"{\"policy\":{\"key_props\":{\"kty\":\"RSA-HSM\",\"key_size\":3072},$SUBJ,\"issuer\":{\"name\":\"Self\"}}}"
assert_status 202 "kty RSA-HSM 3072: 202"
kv_curl GET "/certificates/$H/?api-version=$API"
assert_json '.policy.key_props | [.kty, .key_size]' '["RSA-HSM",3072]' "RSA-HSM 3072 kept in the policy"

# Lifetime actions: one valid trigger each, kept as given.
cert_new_name L lifetime
kv_send POST "/certificates/$L/create?api-version=$API" \
	"{\"policy\":{\"key_props\":{\"kty\":\"EC\"},$SUBJ,\"issuer\":{\"name\":\"Self\"},\"lifetime_actions\":[{\"trigger\":{\"days_before_expiry\":30},\"action\":{\"action_type\":\"EmailContacts\"}}]}}"
assert_status 202 "days_before_expiry 30: 202"
kv_curl GET "/certificates/$L/?api-version=$API"
assert_json '.policy.lifetime_actions == [{"trigger":{"days_before_expiry":30},"action":{"action_type":"EmailContacts"}}]' \
	true "lifetime action kept as given"

t_done
