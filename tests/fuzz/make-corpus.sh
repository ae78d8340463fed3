#!/usr/bin/env bash
#
# tests/fuzz/make-corpus.sh — write the seed corpora of the fuzz targets
# into tests/fuzz/corpus/TARGET/. The files are in the tree; run this only
# to make them again (keys and certificates come out new each time).
# Needs certtool (gnutls-bin) and openssl; the JSON and text seeds are the
# requests of the unit and integration tests, the ACME documents those of
# RFC 8555 (sections 7.1.1 to 7.1.4, 6.7).
#
# Each target reads a selector byte first (see the top of fuzz_TARGET.c);
# seed NAME gets it with `seed TARGET NAME SELECTOR` and the rest from
# stdin. Regression inputs (a finding, once fixed) are kept as
# corpus/TARGET/regress-*; this script leaves them alone.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
corpus=$here/corpus
work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT

# seed TARGET NAME [SELECTOR]: stdin, after the selector byte (decimal).
seed() {
    mkdir -p "$corpus/$1"
    {
        [ -n "${3:-}" ] && printf "\\$(printf '%03o' "$3")"
        cat
    } >"$corpus/$1/$2"
}
# s TARGET NAME SELECTOR TEXT: a text seed.
s() { printf '%s' "$4" | seed "$1" "$2" "$3"; }

for t in http_req http_fields kv_json dn x5c import backup acme; do
    mkdir -p "$corpus/$t"
    find "$corpus/$t" -type f ! -name 'regress-*' -delete
done

# --- http_req: CGI environments, one NAME=value a line -----------------------
seed http_req sdk-create <<'EOF'
REQUEST_METHOD=POST
REQUEST_URI=/certificates/my-cert/create?api%2Dversion=2025-07-01&x=
QUERY_STRING=ignored=1
HTTP_HOST=demo.vault.localhost:8443
HTTPS=on
HTTP_AUTHORIZATION=Bearer abc
CONTENT_TYPE=application/json
CONTENT_LENGTH=42
HTTP_X_MS_CLIENT_REQUEST_ID=1234
REMOTE_ADDR=127.0.0.1
EOF
seed http_req cgi-fallback <<'EOF'
REQUEST_METHOD=GET
SCRIPT_NAME=
PATH_INFO=/certificates/a/
QUERY_STRING=api-version=7.5&maxresults=3
SERVER_NAME=localhost
EOF
seed http_req versions <<'EOF'
REQUEST_METHOD=GET
REQUEST_URI=/certificates/web01/versions?api-version=7.5&maxresults=25
HTTP_HOST=127.0.0.1:8443
REQUEST_SCHEME=https
HTTP_AUTHORIZATION=bearer 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
EOF
seed http_req purge <<'EOF'
REQUEST_METHOD=DELETE
REQUEST_URI=/deletedcertificates/old-cert?api-version=7.6
HTTP_HOST=[::1]:8443
HTTPS=on
EOF
seed http_req issuer-patch <<'EOF'
REQUEST_METHOD=PATCH
REQUEST_URI=/certificates/issuers/my%20ca?api-version=7.4
HTTP_HOST=demo.vault.localhost
CONTENT_TYPE=application/json; charset=utf-8
EOF
seed http_req acme-challenge <<'EOF'
REQUEST_METHOD=GET
REQUEST_URI=/.well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0
HTTP_HOST=web01.example
EOF
seed http_req healthz <<'EOF'
REQUEST_METHOD=HEAD
REQUEST_URI=/healthz
EOF
seed http_req slash-encoded <<'EOF'
REQUEST_METHOD=GET
REQUEST_URI=/certificates/a%2Fb/pending?api-version=7.5
EOF
seed http_req restore <<'EOF'
REQUEST_METHOD=POST
REQUEST_URI=/certificates/restore?api-version=7.5
HTTP_HOST=demo.vault.localhost:8443
CONTENT_LENGTH=9999999999999999999999
EOF
seed http_req secret-latest <<'EOF'
REQUEST_METHOD=GET
REQUEST_URI=/secrets/web01/?api-version=7.5
HTTP_HOST=demo.vault.localhost:8443
EOF
# With a body, after an empty line: as announced, without CONTENT_LENGTH
# (chunked through mod_proxy_fcgi), shorter than announced, too large.
body='{"policy":{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=a"},"issuer":{"name":"Self"}}}'
printf 'REQUEST_METHOD=POST\nREQUEST_URI=/certificates/a/create?api-version=7.5\nCONTENT_TYPE=application/json\nCONTENT_LENGTH=%d\n\n%s' \
    "${#body}" "$body" | seed http_req body-create
printf 'REQUEST_METHOD=PATCH\nREQUEST_URI=/certificates/a/pending?api-version=7.5\n\n{"cancellation_requested":true}' |
    seed http_req body-chunked
printf 'REQUEST_METHOD=POST\nREQUEST_URI=/certificates/restore?api-version=7.5\nCONTENT_LENGTH=100\n\n{"value":"' |
    seed http_req body-short
{ printf 'REQUEST_METHOD=PUT\nREQUEST_URI=/certificates/contacts?api-version=7.5\n\n'; head -c 3000 /dev/zero | tr '\0' 'x'; } |
    seed http_req body-too-large

# --- http_fields: selector, then a query string or a header ------------------
s http_fields decode-plus 0 'api%2Dversion=7.5&x=a+b%20c'
s http_fields decode-path 1 '/certificates/caf%C3%A9/%7Bversion%7D'
s http_fields query 2 'api-version=7.6&maxresults=25&$skiptoken=abc&includePending=true'
s http_fields query-empty 2 '&&=&a&b=&=c'
s http_fields uri 3 '/certificates/a%20b/?api%2Dversion=7.5&x=%41'
s http_fields bearer 4 'Bearer 0123456789abcdef'
s http_fields bearer-tabs 4 $'bearer \t tok \t'
s http_fields host 5 'demo.vault.localhost:8443'
s http_fields host-v6 5 '[::1]:8443'
s http_fields host-ip 5 '127.0.0.1'
s http_fields perms 6 '{get,list,create,import,update,delete}'
s http_fields perms-all 6 'all'
s http_fields perms-list 6 'get, managecontacts,setissuers'

# --- kv_json: selector, then a request body ----------------------------------
FULL_POLICY='{"key_props":{"kty":"RSA","key_size":3072,"exportable":true,"reuse_key":false},"secret_props":{"contentType":"application/x-pem-file"},"x509_props":{"subject":"CN=web01.example,O=Example\\, Inc.,C=DE","sans":{"dns_names":["web01.example","*.web01.example"],"emails":["ops@example.org"],"upns":["user@example.org"],"uris":["https://web01.example/"],"ipAddresses":["192.0.2.1","2001:db8::1"]},"ekus":["1.3.6.1.5.5.7.3.1"],"key_usage":["digitalSignature","keyEncipherment"],"validity_months":24,"basic_constraints":{"ca":false}},"lifetime_actions":[{"trigger":{"lifetime_percentage":80},"action":{"action_type":"AutoRenew"}},{"trigger":{"days_before_expiry":30},"action":{"action_type":"EmailContacts"}}],"issuer":{"name":"Self","cty":"OneCertV2-PublicCA","cert_transparency":false},"attributes":{"enabled":true}}'
s kv_json policy-full 0 "$FULL_POLICY"
s kv_json policy-ec-unknown 0 '{"key_props":{"kty":"EC-HSM","crv":"P-384"},"x509_props":{"subject":"CN=a","sans":{"dns_names":["a.example"],"ipAddresses":["192.0.2.1"]}}}'
s kv_json policy-ec-size 0 '{"key_props":{"kty":"EC","key_size":521},"x509_props":{"subject":"CN=b"}}'
s kv_json policy-p256k 0 '{"key_props":{"kty":"EC","crv":"P-256K"},"x509_props":{"subject":"CN=a"}}'
s kv_json policy-escapes 0 '{"x509_props":{"subject":"CN=a\\2Cb,OU=x\\+y,E=me@example.org"},"issuer":{"name":"Unknown"}}'
s kv_json policy-issuer-object 0 '{"x509_props":{"subject":"","sans":{"dns_names":["acme.example"]}},"issuer":{"name":"my-acme"}}'
s kv_json create-sdk 1 '{"policy":{"key_props":{},"secret_props":{},"x509_props":{"subject":"cn=MyCert","sans":{}},"issuer":{"name":"Self"},"attributes":{}},"attributes":{}}'
s kv_json create-tags 1 '{"policy":{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=self.example"},"issuer":{"name":"Self"}},"attributes":{"enabled":false},"tags":{"team":"web"},"preserveCertOrder":true}'
s kv_json create-full 1 "{\"policy\":$FULL_POLICY}"
s kv_json import-pem 2 '{"value":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n","policy":{"secret_props":{"contentType":"application/x-pem-file"}},"attributes":{"enabled":true}}'
s kv_json import-pwd 2 '{"value":"MIIKcQIBAzCCCjcGCSqGSIb3DQEHAaCCCigEggokMIIKIDCCBNc=","pwd":"s3cret","policy":{"key_props":{"exportable":false},"x509_props":{"validity_months":6}},"tags":{"a":"b"}}'
s kv_json cancel 3 '{"cancellation_requested":true}'
s kv_json cancel-false 3 '{"cancellation_requested":false}'
s kv_json merge 4 '{"x5c":["MIIBszCCAVmgAwIBAgIUQ","bm90IGEgY2VydGlmaWNhdGU="],"attributes":{"enabled":true},"tags":{"merged":"yes"}}'
s kv_json update 5 '{"attributes":{"enabled":false,"nbf":1700000000,"exp":1800000000},"tags":{"a":"b","c":""}}'
s kv_json policy-patch 6 '{"key_props":{"kty":"EC","crv":"P-384"},"lifetime_actions":[{"trigger":{"days_before_expiry":10},"action":{"action_type":"EmailContacts"}}],"id":"https://x/certificates/a/policy","attributes":{"enabled":true}}'
s kv_json policy-patch-empty 6 '{}'
s kv_json restore 7 '{"value":"Q1ZCMQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}'
s kv_json issuer-put 8 '{"provider":"ACME","credentials":{"account_id":"kid-1","pwd":"hmac-key"},"org_details":{"id":"https://127.0.0.1:14000/dir","admin_details":[{"first_name":"A","last_name":"B","email":"admin@example.org","phone":"+1 555 0100"}]},"attributes":{"enabled":true}}'
s kv_json issuer-put-localca 8 '{"provider":"LocalCA","org_details":{"id":"Example Root","admin_details":[]}}'
s kv_json issuer-patch 9 '{"attributes":{"enabled":false},"credentials":{"pwd":""}}'
s kv_json contacts 10 '{"contacts":[{"email":"audit@example.org"},{"name":"On call","phone":"+49 30 1234"},{"email":"a.b@example.co.uk","name":"A B"}]}'
s kv_json email 11 'first.last+tag@sub.example.org'

# --- dn: subjects ------------------------------------------------------------
s dn simple '' 'CN=web01.example'
s dn full '' 'CN=web01.example,OU=Ops,O=Example Inc.,L=Berlin,ST=Berlin,C=DE'
s dn escapes '' 'CN=a\,b\+c\"d\\e,O=x\2Cy'
s dn email '' 'E=me@example.org,emailAddress=you@example.org,CN=x'
s dn dc-uid '' 'UID=jdoe,DC=example,DC=org'
s dn oid '' '2.5.4.3=by oid,0.9.2342.19200300.100.1.25=dc'
s dn utf8 '' 'CN=caf\C3\A9,O=Müller'
s dn spaces '' '  CN = spaced , O=x '
s dn multivalued '' 'CN=a+UID=b'
s dn lowercase '' 'cn=MyCert'
# (s with an empty selector writes no selector byte: dn takes text only.)

# --- certificates, keys, requests: certtool ----------------------------------
cd "$work"
ct() { certtool "$@" >/dev/null 2>&1; }
ct --generate-privkey --key-type ecdsa --curve secp256r1 --outfile root.key
ct --generate-privkey --key-type ecdsa --curve secp256r1 --outfile int.key
ct --generate-privkey --key-type ecdsa --curve secp256r1 --outfile leaf.key
ct --generate-privkey --key-type rsa --bits 2048 --outfile rsa.key
cat >root.tmpl <<'EOF'
cn = "Fuzz Root"
o = "Example"
ca
cert_signing_key
crl_signing_key
expiration_days = 3650
EOF
cat >int.tmpl <<'EOF'
cn = "Fuzz Intermediate"
ca
path_len = 0
cert_signing_key
expiration_days = 3650
EOF
cat >leaf.tmpl <<'EOF'
cn = "web01.example"
o = "Example, Inc."
dns_name = "web01.example"
dns_name = "*.web01.example"
ip_address = "192.0.2.1"
email = "ops@example.org"
uri = "https://web01.example/"
tls_www_server
tls_www_client
signing_key
encryption_key
expiration_days = 365
EOF
ct --generate-self-signed --load-privkey root.key --template root.tmpl --outfile root.pem
ct --generate-certificate --load-privkey int.key --load-ca-privkey root.key \
    --load-ca-certificate root.pem --template int.tmpl --outfile int.pem
ct --generate-certificate --load-privkey leaf.key --load-ca-privkey int.key \
    --load-ca-certificate int.pem --template leaf.tmpl --outfile leaf.pem
ct --generate-self-signed --load-privkey rsa.key --template leaf.tmpl --outfile rsa.pem
ct --generate-request --load-privkey leaf.key --template leaf.tmpl --outder --outfile leaf.csr
ct --generate-request --load-privkey rsa.key --template leaf.tmpl --outder --outfile rsa.csr
for c in root int leaf rsa; do ct --certificate-info --infile $c.pem --outder --outfile $c.der; done
openssl pkcs8 -topk8 -in leaf.key -v2 aes-256-cbc -iter 1 \
    -passout pass:s3cret -out leaf-enc.p8
ct --to-p8 --load-privkey leaf.key --null-password --outfile leaf-null.p8
openssl pkey -in leaf.key -out leaf.p8
b64() { base64 -w0 "$@"; }

# --- x5c: merge elements -----------------------------------------------------
# Elements are separated by NUL bytes (a PEM element has lines).
printf '%s\0%s\0%s' "$(b64 leaf.der)" "$(b64 int.der)" "$(b64 root.der)" | seed x5c chain-b64 0
printf '%s\0%s\0%s' "$(b64 root.der)" "$(b64 leaf.der)" "$(b64 int.der)" | seed x5c chain-shuffled 0
# PEM, base64 of PEM, base64 of base64 of DER (the JS SDK's recipe).
{ cat leaf.pem; printf '\0'; cat int.pem; } | seed x5c pem 0
printf '%s' "$(b64 leaf.pem)" | seed x5c b64-of-pem 0
printf '%s' "$(b64 leaf.der | base64 -w0)" | seed x5c b64-of-b64 0
printf '%s\0%s' "$(b64 rsa.der)" 'bm90IGEgY2VydGlmaWNhdGU=' | seed x5c rsa-and-junk 0
raw_elements() {
    local f
    for f in "$@"; do
        printf "\\$(printf '%03o' $(($(stat -c %s "$f") >> 8)))\\$(printf '%03o' $(($(stat -c %s "$f") & 255)))"
        cat "$f"
    done
}
raw_elements leaf.der int.der root.der | seed x5c raw-chain 1
raw_elements root.der leaf.der | seed x5c raw-gap 1
raw_elements rsa.der | seed x5c raw-rsa 1

# --- import: PEM and PKCS#12 -------------------------------------------------
cat leaf.key leaf.pem int.pem root.pem | seed import pem-chain 0
cat leaf.pem leaf.p8 | seed import pem-p8-after 1
cat leaf-null.p8 leaf.pem | seed import pem-p8-null-password 0
{ printf 's3cret\n'; cat leaf-enc.p8 leaf.pem int.pem; } | seed import pem-encrypted 2
cat rsa.key rsa.pem | seed import pem-rsa 0
printf '%s' "$(cat leaf.key leaf.pem | base64 -w0)" | seed import b64-of-pem 0
# PKCS#12 files with one iteration, so that the fuzzer is not slowed by
# the key derivation (certtool cannot choose the count: its files take
# 600000 iterations, half a second per run here; test_crypto_p12 reads
# them): modern (PBES2 AES-256, HMAC-SHA-256), legacy 3DES with a SHA-1
# MAC, and neither encrypted nor MACed; raw bytes (flag 4) with and
# without a password.
openssl pkcs12 -export -inkey leaf.key -in leaf.pem -certfile int.pem \
    -passout pass:pw -iter 1 -maciter -out ossl.p12 2>/dev/null
openssl pkcs12 -export -inkey leaf.key -in leaf.pem -passout pass:pw \
    -iter 1 -nomaciter -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES \
    -macalg sha1 -out ossl-3des.p12 2>/dev/null
openssl pkcs12 -export -inkey leaf.key -in leaf.pem -passout pass: \
    -keypbe NONE -certpbe NONE -nomac -out ossl-plain.p12 2>/dev/null
{ printf 'pw\n'; cat ossl.p12; } | seed import p12-openssl 6
{ printf 'pw\n'; cat ossl-3des.p12; } | seed import p12-openssl-3des 6
seed import p12-openssl-plain 4 <ossl-plain.p12
printf '%s' "$(b64 ossl-plain.p12)" | seed import p12-b64 0

# --- backup: documents as kv_json_backup_build writes them -------------------
leaf_b64=$(b64 leaf.der)
int_b64=$(b64 int.der)
pub_b64=$(certtool --load-privkey leaf.key --pubkey-info --outder 2>/dev/null | b64)
priv_b64=$(openssl pkey -in leaf.key -outform DER 2>/dev/null | b64)
x5t=$(openssl dgst -sha1 -binary leaf.der | base64 -w0 | tr '+/' '-_' | tr -d '=')
serial=$(printf '\001\002\003' | b64)
POLICY='{"key_props":{"exportable":true,"kty":"EC","key_size":256,"crv":"P-256","reuse_key":false},"secret_props":{"contentType":"application/x-pem-file"},"x509_props":{"subject":"CN=backup.example","ekus":["1.3.6.1.5.5.7.3.1"],"key_usage":["digitalSignature"],"validity_months":12,"basic_constraints":{"ca":false}},"lifetime_actions":[{"trigger":{"lifetime_percentage":80},"action":{"action_type":"AutoRenew"}}],"issuer":{"name":"Self"},"attributes":{"enabled":true}}'
DOC='{"format":"certvault-backup","formatVersion":1,"name":"backup-cert","policy":'$POLICY',"tags":{"cert":"tag"},"created":1700000000,"updated":1700000100,"policyUpdated":1700000000,"keys":[{"kty":"EC","keySize":256,"exportable":true,"pub":"'$pub_b64'","priv":"'$priv_b64'","created":1700000000,"crv":"P-256"}],"versions":[{"version":"0123456789abcdef0123456789abcdef","key":0,"enabled":true,"created":1700000000,"updated":1700000000,"contentType":"application/x-pem-file","preserveCertOrder":false,"tags":{"old":"yes"},"subject":"CN=backup.example","cer":"'$leaf_b64'","x5t":"'$x5t'","serial":"'$serial'","nbf":1700000000,"exp":1731536000,"chain":["'$int_b64'"]},{"version":"fedcba9876543210fedcba9876543210","key":0,"enabled":false,"created":1700000200,"updated":1700000200,"contentType":"application/x-pkcs12","preserveCertOrder":true,"tags":{}}]}'
s backup doc 0 "$DOC"
s backup doc-sealed 1 "$DOC"
s backup blob-bad 2 '{"value":"Q1ZCMQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}'
s backup blob-not-b64 2 '{"value":"!!"}'

# --- acme: RFC 8555 documents ------------------------------------------------
s acme directory 0 '{"newNonce":"https://example.com/acme/new-nonce","newAccount":"https://example.com/acme/new-account","newOrder":"https://example.com/acme/new-order","newAuthz":"https://example.com/acme/new-authz","revokeCert":"https://example.com/acme/revoke-cert","keyChange":"https://example.com/acme/key-change","meta":{"termsOfService":"https://example.com/acme/terms/2017-5-30","website":"https://www.example.com/","caaIdentities":["example.com"],"externalAccountRequired":false}}'
s acme problem 1 '{"type":"urn:ietf:params:acme:error:malformed","detail":"Some of the identifiers requested were rejected","subproblems":[{"type":"urn:ietf:params:acme:error:malformed","detail":"Invalid underscore in DNS name \"_example.org\"","identifier":{"type":"dns","value":"_example.org"}},{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"This CA will not issue for \"example.net\"","identifier":{"type":"dns","value":"example.net"}}]}'
s acme problem-rate 1 '{"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many","status":429}'
s acme order 2 '{"status":"valid","expires":"2016-01-20T14:09:07.99Z","identifiers":[{"type":"dns","value":"www.example.org"},{"type":"dns","value":"example.org"}],"notBefore":"2016-01-01T00:00:00Z","notAfter":"2016-01-08T00:00:00Z","authorizations":["https://example.com/acme/authz/PAniVnsZcis","https://example.com/acme/authz/r4HqLzrSrpI"],"finalize":"https://example.com/acme/order/TOlocE8rfgo/finalize","certificate":"https://example.com/acme/cert/mAt3xBGaobw"}'
s acme order-invalid 2 '{"status":"invalid","finalize":"https://example.com/f","authorizations":[],"error":{"type":"urn:ietf:params:acme:error:caa","detail":"CAA forbids"}}'
s acme authz 3 '{"status":"valid","expires":"2015-03-01T14:09:07.99Z","identifier":{"type":"dns","value":"www.example.org"},"challenges":[{"url":"https://example.com/acme/chall/prV_B7yEyA4","type":"http-01","status":"valid","token":"DGyRejmCefe7v4NfDGDKfA","validated":"2014-12-01T12:05:58.16Z"},{"url":"https://example.com/acme/chall/Rg5dV14Gh1Q","type":"dns-01","status":"invalid","token":"DGyRejmCefe7v4NfDGDKfA","error":{"type":"urn:ietf:params:acme:error:dns","detail":"no TXT record"}}],"wildcard":false}'
s acme state 4 '{"order":"https://example.com/acme/order/TOlocE8rfgo","dns_records":["_acme-challenge.example.org abc","_acme-challenge.www.example.org def"],"transient":2}'
s acme state-empty 4 '{}'
s acme admin-details 5 '[{"first_name":"A","last_name":"B","email":"admin@example.org","phone":"1"},{"email":""},{"email":"ops@example.org"}]'
s acme error-code 6 'urn:ietf:params:acme:error:rejectedIdentifier'
cat leaf.pem int.pem | seed acme pem-chain 7
seed acme csr-ec 8 <leaf.csr
seed acme csr-rsa 8 <rsa.csr

echo "seed corpora written to $corpus"
