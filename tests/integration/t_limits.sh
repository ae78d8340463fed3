#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through t_on_exit
# Limits on hostile input (issue 8), each a Key Vault-shaped 400 (or 413,
# 503) that names it, through the real web server: tags (15, names of 512
# and values of 256 characters: Key Vault's limits), subject alternative
# names (100), the subject (1,024 characters), JSON nesting (32 levels),
# certificates in one merge (10), the body size (max_body_size: 413), and
# the request timeout: a private certvault-fcgi with request_timeout = 2
# answers 503 when a statement waits longer (here for a row lock a test
# session holds), and is fine again at once.
. "$(dirname "$0")/lib.sh"

API=7.5
P=tl-$(cv_random_hex 3)
t_on_exit "t_psql \"DELETE FROM certificates WHERE name LIKE '$P-%'\" >/dev/null 2>&1"

# body NAME TAGS SANS SUBJECT: a create body.
body() {
	printf '{"policy":{"issuer":{"name":"Self"},"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"%s","sans":{"dns_names":%s}}},"tags":%s}' \
		"$3" "$2" "$1"
}
seq_json() { # seq_json N PREFIX SUFFIX: ["PREFIX0SUFFIX",…]
	local i out=
	for ((i = 0; i < $1; i++)); do out+="${out:+,}\"$2$i$3\""; done
	printf '[%s]' "$out"
}
tags_json() {
	local i out=
	for ((i = 0; i < $1; i++)); do out+="${out:+,}\"t$i\":\"v\""; done
	printf '{%s}' "$out"
}

kv_send POST "/certificates/$P-ok/create?api-version=$API" "$(body "$(tags_json 15)" "$(seq_json 100 h .example)" CN=a)"
assert_status 202 "15 tags and 100 SANs: accepted"

kv_send POST "/certificates/$P-a/create?api-version=$API" "$(body "$(tags_json 16)" '[]' CN=a)"
assert_kv_error 400 BadParameter "tags holds 16 tags; at most 15 are allowed." "16 tags"
long=$(head -c 257 /dev/zero | tr '\0' v)
kv_send POST "/certificates/$P-a/create?api-version=$API" "$(body "{\"t\":\"$long\"}" '[]' CN=a)"
assert_kv_error 400 BadParameter "tags.t is longer than 256 characters." "a tag value of 257 characters"
long=$(head -c 513 /dev/zero | tr '\0' k)
kv_send POST "/certificates/$P-a/create?api-version=$API" "$(body "{\"$long\":\"v\"}" '[]' CN=a)"
assert_kv_error 400 BadParameter "A tag name is longer than 512 characters." "a tag name of 513 characters"
kv_send POST "/certificates/$P-a/create?api-version=$API" "$(body '{}' "$(seq_json 101 h .example)" CN=a)"
assert_kv_error 400 BadParameter "policy.x509_props.sans.dns_names holds 101 entries; at most 100 are allowed." "101 DNS names"
long=$(head -c 1025 /dev/zero | tr '\0' s)
kv_send POST "/certificates/$P-a/create?api-version=$API" "$(body '{}' '[]' "CN=$long")"
assert_kv_error 400 BadParameter "policy.x509_props.subject is longer than 1024 characters." "a subject of 1,028 characters"
deep=$(head -c 40 /dev/zero | tr '\0' '[')$(head -c 40 /dev/zero | tr '\0' ']')
kv_send POST "/certificates/$P-a/create?api-version=$API" "{\"tags\":$deep}"
assert_kv_error 400 BadParameter "The request body nests objects and arrays deeper than 32 levels." "JSON nested 41 deep"

kv_send POST "/certificates/$P-m/create?api-version=$API" \
	'{"policy":{"issuer":{"name":"Unknown"},"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=m"}}}'
assert_status 202 "an Unknown create to merge into: 202"
kv_send POST "/certificates/$P-m/pending/merge?api-version=$API" "{\"x5c\":$(seq_json 11 Y2VydA ==)}"
assert_kv_error 400 BadParameter "x5c holds 11 entries; at most 10 are allowed." "a merge of 11 certificates"
kv_curl GET "/certificates/$P-m/pending?api-version=$API"
assert_json .status '"inProgress"' "… the operation is as it was"

max=$(sed -n 's/^max_body_size *= *//p' "$CERTVAULT_CONFIG")
head -c $((${max:-1048576} + 1)) /dev/zero | tr '\0' ' ' >"$T_TMP/big"
kv_curl POST "/certificates/$P-a/create?api-version=$API" -H 'Content-Type: application/json' --data-binary "@$T_TMP/big"
assert_kv_error 413 RequestTooLarge "" "a body of max_body_size + 1 bytes"

# A PKCS#12 file that asks for 2,500,000 PBKDF2 iterations (bags) is refused
# before any key derivation; one with OpenSSL's default imports.
certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$T_TMP/k.pem" >/dev/null 2>&1
printf '%s\n' 'cn = "kdf.example"' 'expiration_days = 30' >"$T_TMP/k.tmpl"
certtool --generate-self-signed --load-privkey "$T_TMP/k.pem" --template "$T_TMP/k.tmpl" --outfile "$T_TMP/k.crt" >/dev/null 2>&1
openssl pkcs12 -export -inkey "$T_TMP/k.pem" -in "$T_TMP/k.crt" -passout pass:pw -iter 2500000 -out "$T_TMP/heavy.p12" 2>/dev/null
openssl pkcs12 -export -inkey "$T_TMP/k.pem" -in "$T_TMP/k.crt" -passout pass:pw -out "$T_TMP/light.p12" 2>/dev/null
kv_send POST "/certificates/$P-kdf/import?api-version=$API" "{\"value\":\"$(base64 -w0 "$T_TMP/heavy.p12")\",\"pwd\":\"pw\"}"
assert_kv_error 400 BadParameter "" "a PKCS#12 file asking for 2,500,000 key derivation iterations"
assert_match "more key derivation work than certvault accepts" "$(printf '%s' "$KV_BODY" | jq -r .error.message)" \
	"… the message says why"
kv_send POST "/certificates/$P-kdf/import?api-version=$API" "{\"value\":\"$(base64 -w0 "$T_TMP/light.p12")\",\"pwd\":\"pw\"}"
assert_status 200 "the same key and certificate with OpenSSL's default iterations: imported"

# --- the request timeout -------------------------------------------------------------
cp "$CERTVAULT_CONFIG" "$T_TMP/timeout.conf"
sed -i '/^request_timeout/d' "$T_TMP/timeout.conf"
echo 'request_timeout = 2' >>"$T_TMP/timeout.conf"
fcgi_private_start short --config "$T_TMP/timeout.conf" --workers 1
cv_wait_for 10 "the private socket" test -S "$PRIV_SOCK" || bail "the private certvault-fcgi did not start"
id=$(t_psql "SELECT c.id FROM certificates c JOIN vaults v ON v.id = c.vault_id WHERE v.name = '$CERTVAULT_VAULT_NAME' AND c.name = '$P-ok'")
# A session holds the certificate's row lock for 8 seconds.
psql -X -q -d "$CERTVAULT_DATABASE_URL" -c "BEGIN; SELECT id FROM certificates WHERE id = $id FOR UPDATE; SELECT pg_sleep(8); COMMIT" \
	>/dev/null 2>&1 &
locker=$!
sleep 1
printf '%s' '{"policy":{"issuer":{"name":"Self"},"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=b"}}}' >"$T_TMP/create.json"
fcgi_req "$PRIV_SOCK" POST "/certificates/$P-ok/create?api-version=$API" CONTENT_TYPE=application/json \
	CONTENT_LENGTH="$(wc -c <"$T_TMP/create.json")" <"$T_TMP/create.json"
held=no
kill -0 "$locker" 2>/dev/null && held=yes
assert_kv_error 503 ServiceUnavailable \
	"The request did not finish within the server's request timeout (it waited for a lock or the database). Retry later." \
	"a create that waits for a row lock past request_timeout"
assert_eq yes "$held" "… while the lock was still held (no hanging until it is released)"
wait "$locker"
fcgi_req "$PRIV_SOCK" GET "/certificates/$P-ok?api-version=$API" </dev/null
assert_status 200 "the same worker serves the next request"
assert_match "statement [0-9]+ cancelled" "$(cat "$PRIV_LOG")" "its log says a statement was cancelled"

t_done
