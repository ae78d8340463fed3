#!/usr/bin/env bash
# Import (POST /certificates/{name}/import) through lighttpd, of material
# this test makes: a test CA (certtool) and leaves signed by it, RSA 2048,
# EC P-256 and EC P-384, as
#   - PKCS#12 made by GnuTLS certtool (with a password, with an empty and
#     with a NULL password) and by openssl (-legacy: RC2-40 + SHA-1 MAC;
#     PBE-SHA1-3DES; the modern default PBES2/AES-256 + HMAC-SHA-256; no
#     password; no encryption and no MAC), each with the CA in the chain;
#   - PEM text with the key as PKCS#1 (openssl rsa -traditional), PKCS#8,
#     encrypted PKCS#8 (with pwd) and SEC1 (openssl ec), certificates
#     before or after the key, with and without the chain.
# Each import answers 200 with the bundle (enabled, cer = the leaf, x5t =
# its SHA-1, kid/sid) and the derived policy (subject, SANs, key usage and
# EKUs from the certificate or [], key_props from the key, issuer Unknown,
# contentType PEM for PEM input). The secret round trip: GET
# /secrets/{name} gives the same private key (openssl pkey -pubout of the
# original and of the export are equal) with the chain, as base64 PKCS#12
# without password or as PEM; GET /keys/{name} gives a JWK whose n/e or
# x/y are the certificate's public key. Refusals: a policy contradicting
# the key; wrong or missing password, garbage, PEM without key or without
# certificate, two keys, a key matching no certificate, no value, not
# JSON (400 with the message); an Unknown operation inProgress (409, the
# seed's body, the operation unchanged); a soft-deleted name (409
# Conflict). The secret of a disabled version and of a non-exportable key
# is 403; unknown secrets and keys are 404.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

for t_cmd in certtool openssl; do
	command -v "$t_cmd" >/dev/null 2>&1 || { echo "ERROR: $t_cmd is not installed"; T_DONE=1; exit 99; }
done

API=7.5
BASE=https://$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT
F=$T_TMP/fx
mkdir -p "$F"
CA=$T_TMP/ca
test_ca_make "$CA" || bail "certtool could not make the test CA"
CA_X5T=$(x5t_of "$CA/ca.der")
SEED_409="A new key vault certificate can not be created or imported while a pending key vault certificate's status is inProgress."

# --- helpers -----------------------------------------------------------------

# b64url: stdin as base64url without padding.
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

# hex_to_bin: hex digits on stdin as bytes on stdout.
hex_to_bin() {
	local hex
	hex=$(tr -d ' \n:')
	# shellcheck disable=SC2059
	printf "$(printf '%s' "$hex" | sed 's/../\\x&/g')"
}

# pubout KEYFILE [PASS]: the public key of a private key file (PEM), as
# openssl prints it (SubjectPublicKeyInfo PEM).
pubout() { openssl pkey -in "$1" -passin "pass:${2-}" -pubout 2>/dev/null; }

# assert_same_key PUB1 PUB2 DESCRIPTION: two public keys (PEM), both
# present and equal.
assert_same_key() {
	if [[ $1 != *"BEGIN PUBLIC KEY"* ]]; then
		fail "$3" "no public key to compare: \"$1\""
		return 1
	fi
	assert_eq "$1" "$2" "$3"
}

# make_leaf NAME rsa|ec256|ec384 TEMPLATE_LINE...: a key F/NAME.key
# (PKCS#8 PEM, openssl) and a certificate F/NAME.pem/.der for it signed
# by the test CA (certtool), with the template lines given.
make_leaf() {
	local n=$1 kt=$2
	shift 2
	case $kt in
	rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$F/$n.key" 2>/dev/null ;;
	ec256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$F/$n.key" 2>/dev/null ;;
	ec384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$F/$n.key" 2>/dev/null ;;
	esac || return 1
	printf '%s\n' "serial = $(date +%s%N | cut -c1-15)" "$@" >"$F/$n.tmpl"
	certtool --generate-certificate --load-privkey "$F/$n.key" \
		--load-ca-certificate "$CA/ca.pem" --load-ca-privkey "$CA/ca.key" \
		--template "$F/$n.tmpl" --outfile "$F/$n.pem" >/dev/null 2>&1 &&
		pem_to_der "$F/$n.pem" "$F/$n.der"
}

# import NAME BODY: POST the import.
import() { kv_send POST "/certificates/$1/import?api-version=$API" "$2"; }

# pfx_body FILE [PWD]: the JSON body of a PKCS#12 import (base64 value).
pfx_body() {
	if [ $# -ge 2 ]; then
		jq -cn --arg v "$(base64 -w0 "$1")" --arg p "$2" '{value: $v, pwd: $p}'
	else
		jq -cn --arg v "$(base64 -w0 "$1")" '{value: $v}'
	fi
}

# pem_body FILE...: the JSON body of a PEM import (the files' text).
pem_body() { cat "$@" | jq -Rsc '{value: .}'; }

# cert_x5ts FILE: the x5t of every certificate in a PEM file, sorted.
cert_x5ts() {
	local d i=0 f
	d=$(mktemp -d "$T_TMP/certs.XXXXXX")
	awk -v d="$d" '/-----BEGIN CERTIFICATE-----/ { n++; f = d "/" n ".pem" }
		f { print > f } /-----END CERTIFICATE-----/ { f = "" }' "$1"
	for f in "$d"/*.pem; do
		[ -e "$f" ] || continue
		pem_to_der "$f" "$f.der" && x5t_of "$f.der"
		echo
		i=$((i + 1))
	done | sort
	rm -rf "$d"
}

# imported_ok NAME LEAF KEYTYPE LABEL: the 200 of an import of F/LEAF.der;
# sets VER.
imported_ok() {
	local name=$1 leaf=$2 kt=$3 label=$4 id
	assert_status 200 "$label: import 200" || return 1
	assert_json_type "$label: Content-Type application/json"
	id=$(printf '%s' "$KV_BODY" | jq -r .id)
	assert_match "^$BASE/certificates/$name/[0-9a-f]{32}\$" "$id" "$label: id is a new version"
	VER=${id##*/}
	assert_json -r .kid "$BASE/keys/$name/$VER" "$label: kid with the same version"
	assert_json -r .sid "$BASE/secrets/$name/$VER" "$label: sid with the same version"
	assert_json .attributes.enabled true "$label: enabled"
	assert_json -r .cer "$(base64 -w0 "$F/$leaf.der")" "$label: cer is the leaf"
	assert_json -r .x5t "$(x5t_of "$F/$leaf.der")" "$label: x5t is the SHA-1 of the leaf"
	assert_json 'has("pending")' false "$label: no pending operation"
	assert_json -r .policy.issuer.name Unknown "$label: policy issuer Unknown"
	case $kt in
	rsa) assert_json '.policy.key_props | [.kty, .key_size, .crv]' '["RSA",2048,null]' "$label: policy key_props RSA 2048" ;;
	ec256) assert_json '.policy.key_props | [.kty, .key_size, .crv]' '["EC",256,"P-256"]' "$label: policy key_props EC P-256" ;;
	ec384) assert_json '.policy.key_props | [.kty, .key_size, .crv]' '["EC",384,"P-384"]' "$label: policy key_props EC P-384" ;;
	esac
	kv_curl GET "/certificates/$name/?api-version=$API"
	assert_json -r .id "$BASE/certificates/$name/$VER" "$label: GET returns the imported version"
}

# secret_ok NAME KEYFILE CONTENT_TYPE X5TS LABEL: GET /secrets/NAME gives
# the private key of KEYFILE and exactly the certificates X5TS (sorted,
# one a line), as base64 PKCS#12 without password or PEM.
secret_ok() {
	local name=$1 key=$2 ct=$3 x5ts=$4 label=$5 out=$T_TMP/secret
	kv_curl GET "/secrets/$name?api-version=$API"
	assert_status 200 "$label: GET /secrets/$name 200" || return 1
	assert_json -r .id "$BASE/secrets/$name/$VER" "$label: secret id with the version"
	assert_json -r .kid "$BASE/keys/$name/$VER" "$label: secret kid"
	assert_json -r .contentType "$ct" "$label: secret contentType $ct"
	assert_json .managed true "$label: secret managed"
	assert_json .attributes.enabled true "$label: secret enabled"
	rm -f "$out".*
	if [ "$ct" = application/x-pkcs12 ]; then
		printf '%s' "$KV_BODY" | jq -r .value | base64 -d >"$out.p12" 2>/dev/null
		assert_true "$label: the PKCS#12 opens without a password (openssl)" \
			openssl pkcs12 -in "$out.p12" -passin pass: -nodes -out "$out.pem"
		assert_true "$label: and with GnuTLS (certtool, empty password)" \
			eval "certtool --p12-info --inder --infile '$out.p12' --password '' >/dev/null 2>&1"
	else
		printf '%s' "$KV_BODY" | jq -r .value >"$out.pem"
		assert_match '-----BEGIN (RSA |EC )?PRIVATE KEY-----' "$(cat "$out.pem")" "$label: the PEM holds the private key"
		sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p;/-----END CERTIFICATE-----/q' "$out.pem" >"$out.first.pem"
		pem_to_der "$out.first.pem" "$out.first.der"
		kv_curl GET "/certificates/$name/$VER?api-version=$API"
		assert_eq "$(printf '%s' "$KV_BODY" | jq -r .x5t)" "$(x5t_of "$out.first.der")" "$label: the leaf comes first in the PEM"
	fi
	assert_same_key "$(pubout "$key")" "$(pubout "$out.pem")" "$label: the exported private key is the imported one"
	assert_eq "$x5ts" "$(cert_x5ts "$out.pem")" "$label: the export holds the leaf and the chain"
}

# key_ok NAME KEYFILE KEYTYPE LABEL: GET /keys/NAME is the JWK of the key.
key_ok() {
	local name=$1 key=$2 kt=$3 label=$4 spki n x y len
	kv_curl GET "/keys/$name?api-version=$API"
	assert_status 200 "$label: GET /keys/$name 200" || return 1
	assert_json -r .key.kid "$BASE/keys/$name/$VER" "$label: key.kid with the version"
	assert_json .managed true "$label: key managed"
	assert_json 'has("value") or (.key | has("d") or has("p") or has("q"))' false "$label: no private parts"
	if [ "$kt" = rsa ]; then
		n=$(openssl rsa -in "$key" -noout -modulus 2>/dev/null | sed 's/^Modulus=//' | hex_to_bin | b64url)
		assert_json -r .key.kty RSA "$label: kty RSA"
		assert_json -r .key.n "$n" "$label: n is the certificate's modulus (base64url)"
		assert_json -r .key.e AQAB "$label: e is 65537"
	else
		len=32
		[ "$kt" = ec384 ] && len=48
		spki=$T_TMP/spki.der
		openssl pkey -in "$key" -pubout -outform DER -out "$spki" 2>/dev/null
		x=$(tail -c $((2 * len)) "$spki" | head -c "$len" | b64url)
		y=$(tail -c "$len" "$spki" | b64url)
		assert_json -r .key.kty EC "$label: kty EC"
		assert_json -r .key.crv "$([ "$kt" = ec384 ] && echo P-384 || echo P-256)" "$label: crv"
		assert_json -r .key.x "$x" "$label: x is the certificate's (base64url)"
		assert_json -r .key.y "$y" "$label: y is the certificate's (base64url)"
	fi
}

# --- the material ------------------------------------------------------------
make_leaf rsa rsa 'cn = "imp-rsa.example"' 'dns_name = "imp-rsa.example"' \
	'dns_name = "www.imp-rsa.example"' signing_key encryption_key tls_www_server \
	tls_www_client 'activation_date = "2025-01-01 00:00:00 UTC"' \
	'expiration_date = "2035-01-01 00:00:00 UTC"' || bail "could not make the RSA leaf"
make_leaf ec ec256 'cn = "imp-ec.example"' 'dns_name = "imp-ec.example"' signing_key \
	tls_www_server 'expiration_days = 30' || bail "could not make the EC P-256 leaf"
make_leaf ec384 ec384 'cn = "imp-ec384.example"' 'email = "ops@imp.example"' signing_key \
	'expiration_days = 30' || bail "could not make the EC P-384 leaf"
make_leaf bare rsa 'cn = "imp-bare.example"' 'expiration_days = 30' || bail "could not make the bare leaf"
make_leaf other rsa 'cn = "imp-other.example"' 'expiration_days = 30' || bail "could not make a second RSA leaf"
cat "$F/rsa.pem" "$CA/ca.pem" >"$F/rsa-chain.pem"
cat "$F/ec.pem" "$CA/ca.pem" >"$F/ec-chain.pem"
RSA_X5TS=$(printf '%s\n' "$(x5t_of "$F/rsa.der")" "$CA_X5T" | sort)
EC_X5TS=$(printf '%s\n' "$(x5t_of "$F/ec.der")" "$CA_X5T" | sort)

# PKCS#12 in every common form, each with the CA in the chain.
p12() { certtool --to-p12 --load-privkey "$F/rsa.key" --load-certificate "$F/rsa-chain.pem" \
	--outder --p12-name imported "$@" >/dev/null 2>&1; }
p12 --password s3cret --outfile "$F/gnutls-pw.p12" || bail "certtool --to-p12 --password failed"
p12 --empty-password --outfile "$F/gnutls-empty.p12" || bail "certtool --to-p12 --empty-password failed"
p12 --null-password --outfile "$F/gnutls-null.p12" || bail "certtool --to-p12 --null-password failed"
ossl() { openssl pkcs12 -export -inkey "$F/rsa.key" -in "$F/rsa.pem" -certfile "$CA/ca.pem" -name imported "$@" 2>/dev/null; }
if ossl -legacy -passout pass:s3cret -out "$F/openssl-legacy.p12"; then
	LEGACY=openssl-legacy
else
	diag "openssl pkcs12 -legacy is not available (no legacy provider): RC2-40 is not tried"
	LEGACY=
fi
ossl -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 -passout pass:s3cret \
	-out "$F/openssl-3des.p12" || bail "openssl pkcs12 PBE-SHA1-3DES failed"
ossl -passout pass:s3cret -out "$F/openssl-modern.p12" || bail "openssl pkcs12 (default) failed"
ossl -passout pass: -out "$F/openssl-nopw.p12" || bail "openssl pkcs12 -passout pass: failed"
ossl -keypbe NONE -certpbe NONE -nomac -passout pass: -out "$F/openssl-plain.p12" ||
	bail "openssl pkcs12 -keypbe NONE -certpbe NONE -nomac failed"
assert_match 'AES-256-CBC' "$(openssl pkcs12 -in "$F/openssl-modern.p12" -passin pass:s3cret -info -noout 2>&1)" \
	"fixture: openssl's default PKCS#12 is PBES2/AES-256"

# --- PKCS#12 -------------------------------------------------------------------
# pfx_case FILE PWD|- LABEL
pfx_case() {
	local file=$1 pwd=$2 label=$3 name
	cert_new_name name "imp-$label"
	if [ "$pwd" = - ]; then import "$name" "$(pfx_body "$F/$file.p12")"; else import "$name" "$(pfx_body "$F/$file.p12" "$pwd")"; fi
	imported_ok "$name" rsa rsa "$label" || return 0
	assert_json -r .policy.secret_props.contentType application/x-pkcs12 "$label: contentType PKCS#12"
	secret_ok "$name" "$F/rsa.key" application/x-pkcs12 "$RSA_X5TS" "$label"
}
pfx_case gnutls-pw s3cret p12-gnutls-pw
pfx_case gnutls-empty - p12-gnutls-empty
pfx_case gnutls-null - p12-gnutls-null
[ -n "$LEGACY" ] && pfx_case openssl-legacy s3cret p12-openssl-legacy
pfx_case openssl-3des s3cret p12-openssl-3des
pfx_case openssl-modern s3cret p12-openssl-modern
pfx_case openssl-nopw - p12-openssl-nopw
pfx_case openssl-plain - p12-openssl-plain

# The derived policy of the RSA leaf (and its GET /keys).
cert_new_name R imp-derived
import "$R" "$(pfx_body "$F/openssl-modern.p12" s3cret)"
imported_ok "$R" rsa rsa "derived policy"
assert_json -r .policy.x509_props.subject "CN=imp-rsa.example" "derived policy: subject from the certificate"
assert_json .policy.x509_props.sans '{"dns_names":["imp-rsa.example","www.imp-rsa.example"]}' \
	"derived policy: sans from the certificate"
assert_json .policy.x509_props.key_usage '["digitalSignature","keyEncipherment"]' "derived policy: key_usage from the certificate"
assert_json ".policy.x509_props.ekus | sort" '["1.3.6.1.5.5.7.3.1","1.3.6.1.5.5.7.3.2"]' "derived policy: ekus from the certificate"
assert_json .policy.x509_props.validity_months 120 "derived policy: validity_months from the lifetime (2025-01-01 to 2035-01-01)"
assert_json .policy.key_props.exportable true "derived policy: exportable"
assert_json '.policy.lifetime_actions | map(.action.action_type)' '["EmailContacts"]' "derived policy: EmailContacts, as for issuer Unknown"
assert_json .attributes.nbf "$(date -u -d '2025-01-01 00:00:00' +%s)" "nbf from the certificate"
assert_json .attributes.exp "$(date -u -d '2035-01-01 00:00:00' +%s)" "exp from the certificate"
key_ok "$R" "$F/rsa.key" rsa "RSA key"
kv_curl GET "/keys/$R/$VER?api-version=$API"
assert_status 200 "GET /keys/{name}/{version}: 200"
kv_curl GET "/secrets/$R/$VER?api-version=$API"
assert_status 200 "GET /secrets/{name}/{version}: 200"
kv_curl GET "/certificates/$R/policy?api-version=$API"
assert_json -r .x509_props.subject "CN=imp-rsa.example" "GET policy: the derived policy is stored"

# A certificate without key usage or EKU extensions: [] in the policy.
cert_new_name N imp-bare
import "$N" "$(openssl pkey -in "$F/bare.key" | cat - "$F/bare.pem" | jq -Rsc '{value: .}')"
imported_ok "$N" bare rsa "no extensions"
assert_json .policy.x509_props.key_usage '[]' "no extensions: key_usage []"
assert_json .policy.x509_props.ekus '[]' "no extensions: ekus []"
assert_json .policy.x509_props.sans '{}' "no extensions: sans {}"
assert_json -r .policy.secret_props.contentType application/x-pem-file "PEM input: contentType application/x-pem-file"

# --- PEM -----------------------------------------------------------------------
openssl rsa -in "$F/rsa.key" -traditional -out "$F/rsa.pkcs1" 2>/dev/null || bail "openssl rsa -traditional failed"
openssl pkey -in "$F/rsa.key" -out "$F/rsa.pkcs8" 2>/dev/null || bail "openssl pkey failed"
openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$F/rsa.key" -passout pass:s3cret -out "$F/rsa.enc8" 2>/dev/null ||
	bail "openssl pkcs8 -topk8 failed"
openssl ec -in "$F/ec.key" -out "$F/ec.sec1" 2>/dev/null || bail "openssl ec failed"
openssl ec -in "$F/ec384.key" -out "$F/ec384.sec1" 2>/dev/null || bail "openssl ec failed"
assert_match '^-----BEGIN RSA PRIVATE KEY-----' "$(head -n 1 "$F/rsa.pkcs1")" "fixture: PKCS#1 key"
assert_match '^-----BEGIN PRIVATE KEY-----' "$(head -n 1 "$F/rsa.pkcs8")" "fixture: PKCS#8 key"
assert_match '^-----BEGIN ENCRYPTED PRIVATE KEY-----' "$(head -n 1 "$F/rsa.enc8")" "fixture: encrypted PKCS#8 key"
assert_match '^-----BEGIN EC PRIVATE KEY-----' "$(head -n 1 "$F/ec.sec1")" "fixture: SEC1 key"

# pem_case LABEL KEYTYPE KEYFILE BODY X5TS
pem_case() {
	local label=$1 kt=$2 key=$3 body=$4 x5ts=$5 leaf name
	case $kt in rsa) leaf=rsa ;; ec256) leaf=ec ;; ec384) leaf=ec384 ;; esac
	cert_new_name name "imp-$label"
	PEM_NAME=$name
	import "$name" "$body"
	imported_ok "$name" "$leaf" "$kt" "$label" || return 0
	assert_json -r .policy.secret_props.contentType application/x-pem-file "$label: contentType PEM"
	secret_ok "$name" "$key" application/x-pem-file "$x5ts" "$label"
	key_ok "$name" "$key" "$kt" "$label"
}
pem_case pem-pkcs1-key-first rsa "$F/rsa.key" "$(pem_body "$F/rsa.pkcs1" "$F/rsa-chain.pem")" "$RSA_X5TS"
pem_case pem-pkcs8-certs-first rsa "$F/rsa.key" "$(pem_body "$F/rsa-chain.pem" "$F/rsa.pkcs8")" "$RSA_X5TS"
pem_case pem-pkcs8-ca-first rsa "$F/rsa.key" "$(pem_body "$CA/ca.pem" "$F/rsa.pkcs8" "$F/rsa.pem")" "$RSA_X5TS"
pem_case pem-enc-pkcs8 rsa "$F/rsa.key" \
	"$(cat "$F/rsa.enc8" "$F/rsa-chain.pem" | jq -Rsc '{value: ., pwd: "s3cret"}')" "$RSA_X5TS"
pem_case pem-sec1-p256 ec256 "$F/ec.key" "$(pem_body "$F/ec.sec1" "$F/ec-chain.pem")" "$EC_X5TS"
pem_case pem-sec1-p384-no-chain ec384 "$F/ec384.key" "$(pem_body "$F/ec384.pem" "$F/ec384.sec1")" \
	"$(x5t_of "$F/ec384.der")"
kv_curl GET "/certificates/$PEM_NAME/policy?api-version=$API"
assert_json .x509_props.key_usage '["digitalSignature"]' "P-384: key_usage from the certificate"
assert_json .x509_props.sans '{"emails":["ops@imp.example"]}' "P-384: email SAN from the certificate"
# What the JS SDK sends for PEM bytes when no policy names the PEM content
# type: the PEM text in base64, like a PFX.
cert_new_name E imp-pem-as-base64
import "$E" "$(cat "$F/ec.key" "$F/ec-chain.pem" | jq -Rsc '{value: (. | @base64)}')"
imported_ok "$E" ec ec256 "PEM text in base64"
CT=$(printf '%s' "$KV_BODY" | jq -r .policy.secret_props.contentType)
secret_ok "$E" "$F/ec.key" "$CT" "$EC_X5TS" "PEM text in base64"
key_ok "$E" "$F/ec.key" ec256 "PEM text in base64"

# --- with a policy ---------------------------------------------------------------
cert_new_name P imp-policy
import "$P" "$(jq -cn --arg v "$(base64 -w0 "$F/openssl-modern.p12")" '{value: $v, pwd: "s3cret",
	policy: {key_props: {kty: "RSA", key_size: 2048, exportable: false},
		secret_props: {contentType: "application/x-pkcs12"},
		x509_props: {subject: "CN=imp-rsa.example", validity_months: 24}, issuer: {name: "Unknown"}},
	tags: {origin: "import"}, attributes: {enabled: true}}')"
imported_ok "$P" rsa rsa "with policy"
assert_json .policy.key_props.exportable false "with policy: the given policy is stored (exportable false)"
assert_json .policy.x509_props.validity_months 24 "with policy: validity_months as given"
assert_json .tags '{"origin":"import"}' "with policy: tags"
kv_curl GET "/secrets/$P?api-version=$API"
assert_kv_error 403 Forbidden "" "secret of a non-exportable imported key"
assert_match 'not exportable' "$(printf '%s' "$KV_BODY" | jq -r .error.message)" "non-exportable: the message says why"
key_ok "$P" "$F/rsa.key" rsa "non-exportable key: the public key is still served"

cert_new_name Q imp-policy-bad
import "$Q" "$(jq -cn --arg v "$(base64 -w0 "$F/openssl-modern.p12")" '{value: $v, pwd: "s3cret",
	policy: {key_props: {kty: "EC", crv: "P-256"}, x509_props: {subject: "CN=x"}}}')"
assert_kv_error 400 BadParameter "policy.key_props does not describe the imported key (RSA 2048)." \
	"a policy whose key_props contradict the key"
import "$Q" "$(jq -cn --arg v "$(cat "$F/ec.sec1" "$F/ec.pem")" '{value: $v,
	policy: {key_props: {kty: "EC", crv: "P-384"}, secret_props: {contentType: "application/x-pem-file"}, x509_props: {subject: "CN=x"}}}')"
assert_kv_error 400 BadParameter "policy.key_props does not describe the imported key (EC 256 P-256)." \
	"a policy with the wrong curve"
import "$Q" "$(jq -cn --arg v "$(base64 -w0 "$F/openssl-modern.p12")" '{value: $v, pwd: "s3cret",
	policy: {key_props: {kty: "RSA", key_size: 1024}}}')"
assert_kv_error 400 BadParameter "policy.key_props.key_size: RSA keys are 2048, 3072 or 4096 bits." "an invalid policy"
kv_curl GET "/certificates/$Q/?api-version=$API"
assert_kv_error 404 CertificateNotFound "Certificate not found: $Q" "refused imports store nothing"

# --- the secrets and keys of created certificates -----------------------------------
# cert_pub NAME VERSION: the public key (PEM) of that version's certificate.
cert_pub() {
	kv_curl GET "/certificates/$1/$2?api-version=$API"
	printf '%s' "$KV_BODY" | jq -r .cer | base64 -d | openssl x509 -inform DER -pubkey -noout 2>/dev/null
}
# latest_ver NAME: the version of GET /certificates/NAME/.
latest_ver() {
	kv_curl GET "/certificates/$1/?api-version=$API"
	printf '%s' "$KV_BODY" | jq -r '.id | split("/") | last'
}
cert_new_name C imp-self-noexport
kv_send POST "/certificates/$C/create?api-version=$API" \
	'{"policy":{"key_props":{"kty":"EC","crv":"P-256","exportable":false},"x509_props":{"subject":"CN=noexport.example"},"issuer":{"name":"Self"}}}'
assert_status 202 "Self, exportable false: create 202"
kv_curl GET "/secrets/$C?api-version=$API"
assert_kv_error 403 Forbidden "The private key of certificate $C is not exportable: its policy says key_props.exportable false." \
	"the secret of a Self certificate whose key is not exportable"
kv_curl GET "/keys/$C?api-version=$API"
assert_status 200 "its key (the public part) is served"

cert_new_name M imp-self-pem
kv_send POST "/certificates/$M/create?api-version=$API" \
	'{"policy":{"key_props":{"kty":"EC","crv":"P-384"},"secret_props":{"contentType":"application/x-pem-file"},"x509_props":{"subject":"CN=pem.example"},"issuer":{"name":"Self"}}}'
assert_status 202 "Self, PEM content type: create 202"
M1=$(latest_ver "$M")
kv_send POST "/certificates/$M/create?api-version=$API" '{}'
assert_status 202 "Self, PEM content type: a second version"
M2=$(latest_ver "$M")
for v in "$M1" "$M2"; do
	kv_curl GET "/secrets/$M/$v?api-version=$API"
	assert_status 200 "Self secret of version $v: 200"
	assert_json -r .contentType application/x-pem-file "Self secret of version $v: PEM"
	printf '%s' "$KV_BODY" | jq -r .value >"$T_TMP/self.pem"
	assert_same_key "$(cert_pub "$M" "$v")" "$(pubout "$T_TMP/self.pem")" \
		"Self secret of version $v: the private key of that version's certificate"
	kv_curl GET "/certificates/$M/$v?api-version=$API"
	assert_eq "$(printf '%s' "$KV_BODY" | jq -r .x5t)" "$(cert_x5ts "$T_TMP/self.pem")" \
		"Self secret of version $v: holds that version's certificate"
done
kv_curl GET "/keys/$M/$M1?api-version=$API"
X1=$(printf '%s' "$KV_BODY" | jq -r .key.x)
kv_curl GET "/keys/$M/$M2?api-version=$API"
assert_ne "$X1" "$(printf '%s' "$KV_BODY" | jq -r .key.x)" "each version has its own key"
assert_json -r .key.crv P-384 "the key of a P-384 certificate"

# --- disabled version: its secret is 403 ------------------------------------------
cert_new_name D imp-disabled
import "$D" "$(pfx_body "$F/gnutls-pw.p12" s3cret)"
imported_ok "$D" rsa rsa "to disable"
kv_send PATCH "/certificates/$D/$VER?api-version=$API" '{"attributes":{"enabled":false}}'
assert_status 200 "disable the imported version: 200"
kv_curl GET "/secrets/$D?api-version=$API"
assert_kv_error 403 Forbidden "Operation get is not allowed on a disabled secret." "secret of a disabled version"
kv_curl GET "/secrets/$D/$VER?api-version=$API"
assert_kv_error 403 Forbidden "Operation get is not allowed on a disabled secret." "secret of a disabled version, by version"
kv_curl GET "/keys/$D/$VER?api-version=$API"
assert_status 200 "the key of a disabled version is still readable"
assert_json .attributes.enabled false "the key's attributes say disabled"

# --- a new version over a finished certificate ---------------------------------------
cert_new_name O imp-over
kv_send POST "/certificates/$O/create?api-version=$API" \
	'{"policy":{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=self.example"},"issuer":{"name":"Self"}}}'
assert_status 202 "over a Self certificate: create 202"
kv_curl GET "/certificates/$O/?api-version=$API"
OLD=$(printf '%s' "$KV_BODY" | jq -r .id)
import "$O" "$(pfx_body "$F/gnutls-null.p12")"
imported_ok "$O" rsa rsa "over a Self certificate"
assert_ne "$OLD" "$BASE/certificates/$O/$VER" "over a Self certificate: a new version"
kv_curl GET "/certificates/$O/versions?api-version=$API"
assert_json '.value | length' 2 "over a Self certificate: two versions"
kv_curl GET "/certificates/$O/pending?api-version=$API"
assert_kv_error 404 PendingCertificateNotFound "" "over a Self certificate: the finished operation is gone"
kv_curl GET "/certificates/$O/policy?api-version=$API"
assert_json '.key_props | [.kty, .key_size]' '["RSA",2048]' "over a Self certificate: the policy is the import's"
key_ok "$O" "$F/rsa.key" rsa "over a Self certificate: the key is the imported one"
kv_curl GET "/keys/$O/${OLD##*/}?api-version=$API"
assert_json -r .key.kty EC "over a Self certificate: the old version keeps its EC key"

# --- 409: an Unknown operation inProgress --------------------------------------------
cert_new_name U imp-pending
kv_send POST "/certificates/$U/create?api-version=$API" \
	'{"policy":{"x509_props":{"subject":"CN=imp-pending.example"},"issuer":{"name":"Unknown"}}}'
assert_status 202 "Unknown create: 202"
RID=$(printf '%s' "$KV_BODY" | jq -r .request_id)
import "$U" "$(pfx_body "$F/gnutls-pw.p12" s3cret)"
assert_kv_error 409 Forbidden "$SEED_409" "import while an operation is inProgress"
kv_curl GET "/certificates/$U/pending?api-version=$API"
assert_json '[.status, .request_id]' "[\"inProgress\",\"$RID\"]" "the operation is unchanged"
kv_curl GET "/certificates/$U/?api-version=$API"
assert_json '[.attributes.enabled, has("cer")]' '[false,false]' "the certificate is still its pending version"
kv_curl GET "/secrets/$U?api-version=$API"
assert_kv_error 404 SecretNotFound "" "a pending version has no secret"
kv_curl GET "/keys/$U?api-version=$API"
assert_kv_error 404 KeyNotFound "" "a pending version has no key (as GET /keys shows it)"

# --- 409: a soft-deleted name ------------------------------------------------------------
cert_new_name S imp-deleted
import "$S" "$(pfx_body "$F/gnutls-pw.p12" s3cret)"
imported_ok "$S" rsa rsa "to delete"
kv_curl DELETE "/certificates/$S?api-version=$API"
if [ "$KV_STATUS" = 200 ]; then
	import "$S" "$(pfx_body "$F/gnutls-pw.p12" s3cret)"
	assert_kv_error 409 Conflict "Certificate $S is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the certificate can only be recovered or purged." \
		"import to a soft-deleted name" ObjectIsDeletedButRecoverable
	kv_curl DELETE "/deletedcertificates/$S?api-version=$API"
	assert_status 204 "purge the deleted certificate: 204"
	import "$S" "$(pfx_body "$F/gnutls-pw.p12" s3cret)"
	imported_ok "$S" rsa rsa "after the purge, the name imports again"
else
	diag "DELETE /certificates/{name} answered $KV_STATUS: the soft-deleted case is skipped"
fi

# --- bad inputs: 400 with the reason ---------------------------------------------------
cert_new_name B imp-bad
bad() {
	import "$B" "$1"
	assert_kv_error 400 BadParameter "$2" "$3"
}
bad "$(pfx_body "$F/gnutls-pw.p12" wrong)" "The password of the PKCS#12 file is wrong or missing." "PKCS#12 with a wrong password"
bad "$(pfx_body "$F/openssl-modern.p12")" "The password of the PKCS#12 file is wrong or missing." "encrypted PKCS#12 without a password"
bad "$(pfx_body "$F/openssl-3des.p12" wrong)" "The password of the PKCS#12 file is wrong or missing." "PBE-SHA1-3DES PKCS#12 with a wrong password"
bad "$(cat "$F/rsa.enc8" "$F/rsa.pem" | jq -Rsc '{value: ., pwd: "wrong"}')" \
	"The password of the private key is wrong or missing." "encrypted PEM key with a wrong password"
bad '{"value":"this is not a certificate"}' \
	"The certificate data is neither a PKCS#12 (PFX) file in base64 nor PEM text." "garbage text"
bad "{\"value\":\"$(head -c 300 /dev/urandom | base64 -w0)\"}" \
	"" "random bytes in base64"
bad "{\"value\":\"$(head -c 1000 "$F/gnutls-pw.p12" | base64 -w0)\"}" "" "a truncated PKCS#12"
bad "$(pem_body "$F/rsa-chain.pem")" "The imported data holds no private key." "PEM without a key"
bad "$(pem_body "$F/rsa.pkcs8")" "The imported data holds no certificate." "PEM with only a key"
bad "$(pem_body "$F/other.key" "$F/rsa.pem")" \
	"The private key does not match any certificate in the imported data." "a key that matches no certificate"
bad "$(pem_body "$F/rsa.pkcs8" "$F/other.key" "$F/rsa.pem")" \
	"The imported data holds more than one private key." "two private keys"
bad "$(head -c 600 "$F/rsa.pkcs8" | cat - "$F/rsa.pem" | jq -Rsc '{value: .}')" \
	"The PEM text is malformed: a BEGIN line has no matching END line." "a truncated PEM key"
bad '{}' "value (the certificate with its private key) is required." "no value"
bad '{"value":""}' "value (the certificate with its private key) is required." "an empty value"
bad '{"value":42}' "" "a value that is not a string"
bad '{"value":' "" "a body that is not JSON"
import "$B" ''
assert_kv_error 400 BadParameter "The request body is missing." "no body"
kv_curl GET "/certificates/$B/?api-version=$API"
assert_kv_error 404 CertificateNotFound "Certificate not found: $B" "nothing was stored by the refused imports"
import "bad_name!" "$(pfx_body "$F/gnutls-pw.p12" s3cret)"
assert_kv_error 400 BadParameter "" "an invalid certificate name"

# --- unknown secrets and keys ---------------------------------------------------------
MISSING=imp-nothing-$(cv_random_hex 4)
kv_curl GET "/secrets/$MISSING?api-version=$API"
assert_kv_error 404 SecretNotFound "" "unknown secret"
kv_curl GET "/keys/$MISSING/$(cv_random_hex 16)?api-version=$API"
assert_kv_error 404 KeyNotFound "" "unknown key version"
kv_curl GET "/secrets/$R/$(cv_random_hex 16)?api-version=$API"
assert_kv_error 404 SecretNotFound "" "unknown secret version of a known certificate"

t_done
