#!/usr/bin/env bash
# Certificate creation with issuer Self through lighttpd: the 202 and its
# Location, the operation that reads "completed" with its target, the
# CertificateBundle (ids from the host the client used, kid/sid/x5t/cer,
# the effective policy with Key Vault's defaults), GET by version and the
# 404s, and the X.509 itself as certtool reads it: key type and size for
# RSA 2048 / EC P-256 / EC P-384, SANs, key usages, validity.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v certtool >/dev/null 2>&1 || { echo "ERROR: certtool (gnutls-bin) is not installed"; T_DONE=1; exit 99; }

API=7.5
BASE=https://$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT
DETAILS_ISSUER="Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later."
DAY=86400

# --- Self: 202 inProgress with Location ---------------------------------------
cert_new_name N self
t0=$(date +%s)
kv_send POST "/certificates/$N/create?api-version=$API" \
	'{"policy":{"x509_props":{"subject":"CN=self.example"},"issuer":{"name":"Self"}}}'
assert_status 202 "create Self: 202"
assert_json_type "create: Content-Type application/json"
LOC=$(kv_header Location)
assert_match "^$BASE/certificates/$N/pending\\?api-version=$API&request_id=[0-9a-f]{32}\$" "$LOC" \
	"create: Location is $BASE/certificates/$N/pending?api-version=$API&request_id=<32 hex>"
RID=${LOC##*request_id=}
assert_json -r .id "$BASE/certificates/$N/pending" "create: id is the pending operation's"
assert_json .status '"inProgress"' "create: the 202 says inProgress (the SDK pollers expect it)"
assert_json -r .request_id "$RID" "create: request_id is the one of the Location"
assert_json .issuer '{"name":"Self"}' "create: issuer Self"
assert_json .cancellation_requested false "create: cancellation_requested false"
assert_json -r .status_details "$DETAILS_ISSUER" "create: status_details"
assert_json 'has("target") or has("error")' false "create: no target or error yet"
CSR=$(printf '%s' "$KV_BODY" | jq -r .csr)
b64_to_file "$CSR" "$T_TMP/self.csr.der"
assert_match 'Subject: CN=self\.example' "$(certtool --crq-info --inder --infile "$T_TMP/self.csr.der" 2>&1)" \
	"create: csr is base64 DER PKCS#10 with the policy's subject"

# --- the operation -----------------------------------------------------------
kv_curl GET "${LOC#"$BASE"}"
assert_status 200 "GET the Location: 200"
assert_json .status '"completed"' "operation: completed"
assert_json -r .target "$BASE/certificates/$N" "operation: target is the certificate"
assert_json 'has("status_details")' false "operation: no status_details once completed"
assert_json -r .request_id "$RID" "operation: same request_id"
assert_json -r .csr "$CSR" "operation: same csr"
assert_json -r .id "$BASE/certificates/$N/pending" "operation: id"
kv_curl GET "/certificates/$N/pending?api-version=$API"
assert_status 200 "GET pending without request_id: 200"
assert_json -r .request_id "$RID" "GET pending without request_id: the same operation"

# --- the certificate -----------------------------------------------------------
kv_curl GET "/certificates/$N/?api-version=$API"
assert_status 200 "GET /certificates/$N/ (latest, trailing slash): 200"
BUNDLE=$KV_BODY
ID=$(printf '%s' "$BUNDLE" | jq -r .id)
assert_match "^$BASE/certificates/$N/[0-9a-f]{32}\$" "$ID" "bundle: id is $BASE/certificates/$N/<32 hex>"
VER=${ID##*/}
assert_json -r .kid "$BASE/keys/$N/$VER" "bundle: kid has the same version"
assert_json -r .sid "$BASE/secrets/$N/$VER" "bundle: sid has the same version"
assert_json .attributes.enabled true "bundle: enabled"
assert_json -r .attributes.recoveryLevel "Recoverable+Purgeable" "bundle: recoveryLevel"
assert_json -r .pending.id "$BASE/certificates/$N/pending" "bundle: pending.id"
assert_json -r .policy.id "$BASE/certificates/$N/policy" "bundle: policy.id"
assert_json '.policy.key_props == {"exportable":true,"kty":"RSA","key_size":2048,"reuse_key":false}' true \
	"policy default: key_props exactly {exportable:true, kty:RSA, key_size:2048, reuse_key:false}"
assert_json .policy.secret_props '{"contentType":"application/x-pkcs12"}' "policy default: secret_props"
assert_json .policy.x509_props.ekus '["1.3.6.1.5.5.7.3.1","1.3.6.1.5.5.7.3.2"]' "policy default: ekus"
assert_json .policy.x509_props.key_usage '["digitalSignature","keyEncipherment"]' "policy default: RSA key_usage"
assert_json .policy.x509_props.validity_months 12 "policy default: validity_months 12"
assert_json -r .policy.x509_props.subject "CN=self.example" "policy: subject as given"
assert_json .policy.x509_props.basic_constraints '{"ca":false}' "policy default: basic_constraints"
assert_json '.policy.lifetime_actions == [{"trigger":{"lifetime_percentage":80},"action":{"action_type":"AutoRenew"}}]' \
	true "policy default for Self: exactly one lifetime action, AutoRenew at 80 %"
assert_json .policy.issuer '{"name":"Self"}' "policy: issuer Self"
assert_json .policy.attributes.enabled true "policy: attributes.enabled"

CER=$(printf '%s' "$BUNDLE" | jq -r .cer)
b64_to_file "$CER" "$T_TMP/self.der"
X5T=$(printf '%s' "$BUNDLE" | jq -r .x5t)
assert_match '^[A-Za-z0-9_-]{27}$' "$X5T" "bundle: x5t is base64url without padding, 27 characters"
assert_eq "$(x5t_of "$T_TMP/self.der")" "$X5T" "bundle: x5t is the SHA-1 of cer"
INFO=$(der_info "$T_TMP/self.der")
assert_match 'Subject: CN=self\.example' "$INFO" "certificate: subject"
assert_match 'Issuer: CN=self\.example' "$INFO" "certificate: self-signed (issuer = subject)"
assert_match 'Subject Public Key Algorithm: RSA' "$INFO" "certificate: RSA key"
assert_match 'Modulus \(bits 2048\)' "$INFO" "certificate: 2048-bit modulus"
assert_match 'Digital signature\.' "$INFO" "certificate: key usage digitalSignature"
assert_match 'Key encipherment\.' "$INFO" "certificate: key usage keyEncipherment"
assert_match 'TLS WWW Server\.' "$INFO" "certificate: EKU server auth"
assert_match 'TLS WWW Client\.' "$INFO" "certificate: EKU client auth"
assert_match 'Certificate Authority \(CA\): FALSE' "$INFO" "certificate: CA:FALSE"
NBF=$(printf '%s' "$BUNDLE" | jq .attributes.nbf)
EXP=$(printf '%s' "$BUNDLE" | jq .attributes.exp)
assert_eq $((365 * DAY + 600)) $((EXP - NBF)) "validity 12 months: exp - nbf = 365 days + 600 s"
CREATED=$(printf '%s' "$BUNDLE" | jq .attributes.created)
assert_true "attributes.created is the time of the create ($CREATED ~ $t0)" \
	test "$CREATED" -ge $((t0 - 5)) -a "$CREATED" -le $((t0 + 60))
# The certificate is signed just before the version row is stored.
assert_true "nbf = creation time - 600 s (nbf $NBF, created $CREATED, 2 s slack)" \
	test $((CREATED - 600 - NBF)) -ge 0 -a $((CREATED - 600 - NBF)) -le 2
cert_nbf=$(date -u -d "$(printf '%s\n' "$INFO" | sed -n 's/^[[:space:]]*Not Before: //p')" +%s)
cert_exp=$(date -u -d "$(printf '%s\n' "$INFO" | sed -n 's/^[[:space:]]*Not After: //p')" +%s)
assert_eq "$NBF $EXP" "$cert_nbf $cert_exp" "attributes nbf/exp are the certificate's validity"

kv_curl GET "/certificates/$N?api-version=$API"
assert_status 200 "GET /certificates/$N (no trailing slash): 200"
assert_json -r .id "$ID" "no trailing slash: the same version"
kv_curl GET "/certificates/$N/$VER?api-version=$API"
assert_status 200 "GET /certificates/$N/<version>: 200"
assert_json -r .id "$ID" "by version: the same id"
assert_json -r .cer "$CER" "by version: the same cer"
kv_curl GET "/certificates/$(printf '%s' "$N" | tr '[:lower:]' '[:upper:]')/$VER?api-version=$API"
assert_status 200 "names compare case-insensitively"

OTHER=$(cv_random_hex 16)
kv_curl GET "/certificates/$N/$OTHER?api-version=$API"
assert_kv_error 404 CertificateNotFound "" "unknown version"
kv_curl GET "/certificates/$N/not-a-version?api-version=$API"
assert_kv_error 404 CertificateNotFound "" "malformed version"
MISSING=nothing-$(cv_random_hex 4)
kv_curl GET "/certificates/$MISSING/?api-version=$API"
assert_kv_error 404 CertificateNotFound "Certificate not found: $MISSING" "unknown certificate"
kv_curl GET "/certificates/$MISSING/pending?api-version=$API"
assert_kv_error 404 PendingCertificateNotFound "" "operation of an unknown certificate"

# --- ids follow the host the client used ------------------------------------
KV_HOST=127.0.0.1 kv_curl GET "/certificates/$N/?api-version=$API"
assert_status 200 "GET through https://127.0.0.1:$CERTVAULT_HTTPS_PORT: 200"
assert_json -r .id "https://127.0.0.1:$CERTVAULT_HTTPS_PORT/certificates/$N/$VER" \
	"ids use the host the client used (127.0.0.1)"
assert_json -r .kid "https://127.0.0.1:$CERTVAULT_HTTPS_PORT/keys/$N/$VER" "kid too"
KV_HOST=127.0.0.1 kv_curl GET "/certificates/$N/pending?api-version=$API"
assert_json -r .target "https://127.0.0.1:$CERTVAULT_HTTPS_PORT/certificates/$N" "operation target too"

# --- key types ---------------------------------------------------------------
# kty crv|key_size  expected key_props  certtool lines
key_case() {
	local label=$1 key_props=$2 want_props=$3 want_alg=$4 want_size=$5 name
	cert_new_name name "kt-$label"
	kv_send POST "/certificates/$name/create?api-version=$API" \
		"{\"policy\":{\"key_props\":$key_props,\"x509_props\":{\"subject\":\"CN=$label.example\"},\"issuer\":{\"name\":\"Self\"}}}"
	assert_status 202 "$label: create 202"
	kv_curl GET "/certificates/$name/?api-version=$API"
	assert_status 200 "$label: GET 200"
	assert_json '.policy.key_props | [.kty, .key_size, .crv]' "$want_props" "$label: effective key_props"
	b64_to_file "$(printf '%s' "$KV_BODY" | jq -r .cer)" "$T_TMP/$label.der"
	INFO=$(der_info "$T_TMP/$label.der")
	assert_match "Subject Public Key Algorithm: $want_alg" "$INFO" "$label: certificate key algorithm"
	assert_match "$want_size" "$INFO" "$label: certificate key size"
	assert_eq $((365 * DAY + 600)) \
		$(($(printf '%s' "$KV_BODY" | jq '.attributes.exp - .attributes.nbf'))) "$label: validity"
}
key_case rsa2048 '{"kty":"RSA","key_size":2048}' '["RSA",2048,null]' RSA 'Modulus \(bits 2048\)'
key_case ecp256 '{"kty":"EC","crv":"P-256"}' '["EC",256,"P-256"]' EC/ECDSA 'Curve:[[:space:]]+SECP256R1'
key_case ecp384 '{"kty":"EC","crv":"P-384"}' '["EC",384,"P-384"]' EC/ECDSA 'Curve:[[:space:]]+SECP384R1'
key_case ecdefault '{"kty":"EC"}' '["EC",256,"P-256"]' EC/ECDSA 'Curve:[[:space:]]+SECP256R1'
key_case echsm '{"kty":"EC-HSM","crv":"P-256"}' '["EC-HSM",256,"P-256"]' EC/ECDSA 'Curve:[[:space:]]+SECP256R1'
assert_json .policy.x509_props.key_usage '["digitalSignature"]' "EC default key_usage: digitalSignature"

# --- SANs, key usage, EKUs, validity ------------------------------------------
cert_new_name S sans
kv_send POST "/certificates/$S/create?api-version=2025-07-01" '{"policy":{
  "key_props":{"kty":"EC","crv":"P-256"},
  "x509_props":{"subject":"CN=sans.example, O=Acme\\, Inc.",
    "sans":{"dns_names":["a.example","b.example"],"emails":["ops@example.org"],
            "ipAddresses":["192.0.2.10","2001:db8::1"]},
    "key_usage":["digitalSignature","keyAgreement"],"ekus":["1.3.6.1.5.5.7.3.1"],
    "validity_months":12},
  "issuer":{"name":"Self"}},
  "tags":{"team":"web"}}'
assert_status 202 "SANs: create 202"
kv_curl GET "/certificates/$S/?api-version=2025-07-01"
assert_status 200 "SANs: GET 200"
assert_json '.policy.x509_props.sans == {"dns_names":["a.example","b.example"],"emails":["ops@example.org"],"ipAddresses":["192.0.2.10","2001:db8::1"]}' \
	true "SANs: stored in the policy exactly as given"
assert_json -r .policy.x509_props.subject 'CN=sans.example, O=Acme\, Inc.' "SANs: subject kept as given"
assert_json .policy.x509_props.key_usage '["digitalSignature","keyAgreement"]' "key_usage as given"
assert_json .policy.x509_props.ekus '["1.3.6.1.5.5.7.3.1"]' "ekus as given"
assert_json .tags '{"team":"web"}' "tags of the create"
b64_to_file "$(printf '%s' "$KV_BODY" | jq -r .cer)" "$T_TMP/sans.der"
INFO=$(der_info "$T_TMP/sans.der")
assert_match 'DNSname: a\.example' "$INFO" "certificate: dns_names[0]"
assert_match 'DNSname: b\.example' "$INFO" "certificate: dns_names[1]"
assert_match 'RFC822Name: ops@example\.org' "$INFO" "certificate: emails"
assert_match 'IPAddress: 192\.0\.2\.10' "$INFO" "certificate: ipAddresses IPv4"
assert_match 'IPAddress: 2001:db8::1' "$INFO" "certificate: ipAddresses IPv6"
assert_match 'Subject: CN=sans\.example,O=Acme\\, Inc\.' "$INFO" "certificate: subject with an escaped comma"
assert_match 'Key agreement\.' "$INFO" "certificate: key usage keyAgreement"
assert_no_match 'Key encipherment' "$INFO" "certificate: no key usage that was not asked for"
assert_match 'TLS WWW Server\.' "$INFO" "certificate: the EKU asked for"
assert_no_match 'TLS WWW Client' "$INFO" "certificate: no EKU that was not asked for"
assert_eq $((365 * DAY + 600)) \
	$(($(printf '%s' "$KV_BODY" | jq '.attributes.exp - .attributes.nbf'))) "SANs: validity 12 months"

t_done
