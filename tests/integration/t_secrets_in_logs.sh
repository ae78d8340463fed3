#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through t_on_exit
# Private keys and access tokens never reach a log or the database in clear.
#
# Run last (after t_sdk_certificates.sh, the end of CERT_TESTS): then the
# logs it scans hold what the whole suite did to the stack, this test's
# own requests included. It scans every log the stack produced so far:
# everything under $CERTVAULT_HOME/log (certvault-fcgi, certvault-worker,
# certvault-admin, lighttpd, Apache, PostgreSQL, pebble, the dns-01 hook),
# PostgreSQL's own log directory if it has one, the logs of the tests of
# this run (tests/integration/*.log newer than the stack), and the log of a
# private certvault-fcgi this test runs at log_level debug.
#
# Keys: in a vault of its own it creates certificates of every key type
# (RSA 2048 — from the key pool —, 3072, 4096; EC P-256, P-384, P-521; Self,
# and an Unknown one merged), imports a PKCS#12 (certtool, with a password)
# and a PEM (certtool's key), exports every private key through GET
# /secrets (PEM, or PKCS#12 opened with openssl), and also drives the error
# paths that handle keys (a wrong PKCS#12 password, a key with a certificate
# that is not its own, a key without a certificate, a PEM with an unknown
# block, a non-exportable key's secret). For each key it searches, case-
# insensitively where hex: the DER of PKCS#8 and of the traditional form
# (PKCS#1 / SEC1) in hex (16-byte pieces), their PEM body lines (= base64 of
# the DER in 48-byte pieces), the private parameters (RSA d, p, q, dp, dq,
# qinv; the EC private scalar) as hex, as openssl's colon-separated hex and
# as base64 / base64url (JWK), and the PKCS#12 secret value. Pieces that
# also occur in the public key or the certificate, or in an unrelated key of
# the same type (DER structure), are left out. Control checks show that the
# patterns find each encoding planted in a file and do not match the public
# material. The search covers the logs and a pg_dump of the whole database
# (t_cert_keys_at_rest.sh checks the dump for PKCS#8 structures and PEM
# markers in general; this test looks for each key itself, exported).
#
# Tokens: the stack's token and the ones this test makes and uses (valid,
# revoked, expired, of another vault, with trailing garbage) must appear in
# no log and not in the dump; no log holds anything shaped like a token
# (cv_ + 64 hex), and no 64-hex string in any log is, with cv_ before it, a
# token the database knows (SHA-256 against access_tokens.token_hash) — so
# tokens made by other tests are covered too. Also: the master key and an
# issuer's credentials.pwd appear in no log.
. "$(dirname "$0")/lib.sh"

for t_cmd in certtool openssl sha256sum base64 xxd; do
	command -v "$t_cmd" >/dev/null 2>&1 || { echo "ERROR: $t_cmd is not installed"; T_DONE=1; exit 99; }
done
PG_DUMP=$(cv_pg_bindir 2>/dev/null)/pg_dump
[ -x "$PG_DUMP" ] || PG_DUMP=/usr/lib/postgresql/15/bin/pg_dump
[ -x "$PG_DUMP" ] || { echo "ERROR: pg_dump not found"; T_DONE=1; exit 99; }

API=7.5
V=sl-$(cv_random_hex 4)
VHOST=$V.vault.localhost
PAT=$T_TMP/pat
mkdir -p "$PAT"
(
	for b in 2048 3072 4096; do
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:$b -out "$PAT/ctl-rsa$b.pem"
	done
	for c in 256 384 521; do
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-$c -out "$PAT/ctl-ec$c.pem"
	done
) >/dev/null 2>&1 &
CTL_PID=$!
vault_cleanup() { t_psql "DELETE FROM vaults WHERE name = '$V'" >/dev/null; }
t_on_exit vault_cleanup
out=$(cv_admin vault create "$V" --host "$VHOST" 2>&1)
assert_eq "$V" "$out" "vault create $V" || bail "no vault"

# --- tokens ---------------------------------------------------------------------------------
TOKENS=("$CERTVAULT_TOKEN")
new_token() {
	local var=$1 tok err id
	shift
	tok=$(cv_admin token create "$@" 2>"$T_TMP/admin.err") || bail "token create: $(cat "$T_TMP/admin.err")"
	[[ $tok =~ ^cv_[0-9a-f]{64}$ ]] || bail "token create printed no token"
	err=$(cat "$T_TMP/admin.err")
	id=$(printf '%s\n' "$err" | sed -n 's/^token \([0-9][0-9]*\) created.*/\1/p')
	TOKENS+=("$tok")
	printf -v "$var" '%s' "$tok"
	printf -v "${var}_ID" '%s' "$id"
}
new_token TOK --vault "$V" --name secrets-in-logs
new_token REV --vault "$V" --name sl-revoked
new_token EXP --vault "$V" --name sl-expired --expires-days 1
export KV_HOST=$VHOST KV_TOKEN=$TOK

# --- certificates of every key type -----------------------------------------------------------
# create NAME KEY_PROPS CONTENT_TYPE [ISSUER]
create() {
	kv_send POST "/certificates/$1/create?api-version=$API" "$(jq -nc --arg n "$1" --argjson k "$2" \
		--arg ct "$3" --arg i "${4:-Self}" '{policy: {key_props: ($k + {exportable: true}),
		secret_props: {contentType: $ct}, x509_props: {subject: ("CN=" + $n + ".example")}, issuer: {name: $i}}}')"
	assert_status 202 "create $1: 202"
}
PEM_CT=application/x-pem-file
P12_CT=application/x-pkcs12
KEYS=()
create sl-rsa2048 '{"kty":"RSA","key_size":2048}' "$PEM_CT" && KEYS+=(sl-rsa2048)
create sl-rsa3072 '{"kty":"RSA","key_size":3072}' "$P12_CT" && KEYS+=(sl-rsa3072)
create sl-rsa4096 '{"kty":"RSA","key_size":4096}' "$PEM_CT" && KEYS+=(sl-rsa4096)
create sl-ec256 '{"kty":"EC","crv":"P-256"}' "$P12_CT" && KEYS+=(sl-ec256)
create sl-ec384 '{"kty":"EC","crv":"P-384"}' "$PEM_CT" && KEYS+=(sl-ec384)
create sl-ec521 '{"kty":"EC","crv":"P-521"}' "$P12_CT" && KEYS+=(sl-ec521)
# Unknown, then merged with a chain signed by a test CA.
CA=$T_TMP/ca
test_ca_make "$CA" || bail "certtool could not make the test CA"
create sl-merged '{"kty":"RSA","key_size":2048}' "$PEM_CT" Unknown
kv_curl GET "/certificates/sl-merged/pending?api-version=$API"
test_ca_sign "$CA" "$(printf '%s' "$KV_BODY" | jq -r .csr)" "$T_TMP/merged" || bail "cannot sign the CSR"
kv_send POST "/certificates/sl-merged/pending/merge?api-version=$API" \
	"$(jq -nc --arg l "$(base64 -w0 "$T_TMP/merged.der")" --arg c "$(base64 -w0 "$CA/ca.der")" '{x5c: [$l, $c]}')"
assert_status 201 "merge sl-merged: 201" && KEYS+=(sl-merged)

# Imports: an RSA key in a PKCS#12 with a password, an EC P-384 key as PEM.
F=$T_TMP/imp
mkdir -p "$F"
# leaf NAME KEYTYPE_ARGS...: F/NAME.key (certtool) and F/NAME.pem signed by the CA.
leaf() {
	local n=$1
	shift
	certtool --generate-privkey "$@" --outfile "$F/$n.key" >/dev/null 2>&1 &&
		printf '%s\n' "cn = \"$n.example\"" 'expiration_days = 30' tls_www_server signing_key encryption_key >"$F/$n.tmpl" &&
		certtool --generate-certificate --load-privkey "$F/$n.key" --load-ca-certificate "$CA/ca.pem" \
			--load-ca-privkey "$CA/ca.key" --template "$F/$n.tmpl" --outfile "$F/$n.pem" >/dev/null 2>&1
}
leaf p12 --key-type=rsa --bits=2048 || bail "certtool: RSA leaf"
leaf pem --key-type=ecdsa --curve=secp384r1 || bail "certtool: EC leaf"
leaf other --key-type=ecdsa --curve=secp384r1 || bail "certtool: other leaf"
certtool --to-p12 --load-privkey "$F/p12.key" --load-certificate "$F/p12.pem" --outder --p12-name sl \
	--password 'p12-s3cret-pw' --outfile "$F/p12.p12" >/dev/null 2>&1 || bail "certtool --to-p12"
P12_BODY=$(jq -nc --arg v "$(base64 -w0 "$F/p12.p12")" '{value: $v, pwd: "p12-s3cret-pw"}')
kv_send POST "/certificates/sl-imp-p12/import?api-version=$API" "$P12_BODY"
assert_status 200 "import PKCS#12 (certtool, password): 200" && KEYS+=(sl-imp-p12)
kv_send POST "/certificates/sl-imp-pem/import?api-version=$API" "$(cat "$F/pem.key" "$F/pem.pem" | jq -Rsc '{value: .}')"
assert_status 200 "import PEM (certtool's key): 200" && KEYS+=(sl-imp-pem)

# The error paths that hold a key.
kv_send POST "/certificates/sl-bad1/import?api-version=$API" \
	"$(jq -nc --arg v "$(base64 -w0 "$F/p12.p12")" '{value: $v, pwd: "wrong-password"}')"
assert_status 400 "import PKCS#12 with a wrong password: 400"
kv_send POST "/certificates/sl-bad2/import?api-version=$API" "$(cat "$F/pem.key" "$F/other.pem" | jq -Rsc '{value: .}')"
assert_status 400 "import a key with a certificate that is not its own: 400"
kv_send POST "/certificates/sl-bad3/import?api-version=$API" "$(jq -Rsc '{value: .}' <"$F/pem.key")"
assert_status 400 "import a key without a certificate: 400"
kv_send POST "/certificates/sl-bad4/import?api-version=$API" \
	"$(cat "$F/pem.key" "$F/pem.pem" | jq -Rsc '{value: ., policy: {key_props: {kty: "RSA", key_size: 2048}}}')"
assert_status 400 "import with key_props that do not describe the key: 400"
kv_send POST "/certificates/sl-nx/create?api-version=$API" \
	'{"policy":{"key_props":{"kty":"EC","crv":"P-256","exportable":false},"x509_props":{"subject":"CN=nx.example"},"issuer":{"name":"Self"}}}'
kv_curl GET "/secrets/sl-nx?api-version=$API"
assert_status 403 "the secret of a non-exportable key: 403"
ISSUER_PWD=issuer-pw-$(cv_random_hex 12)
kv_send PUT "/certificates/issuers/sl-iss?api-version=$API" \
	"{\"provider\":\"DigiCert\",\"credentials\":{\"account_id\":\"sl\",\"pwd\":\"$ISSUER_PWD\"}}"
assert_status 200 "PUT an issuer with credentials.pwd: 200"
kv_curl POST "/certificates/sl-rsa2048/backup?api-version=$API" --data-binary ""
assert_status 200 "backup sl-rsa2048: 200"

# --- the tokens, used (and misused) ----------------------------------------------------------
KV_TOKEN=$REV kv_curl GET "/certificates?api-version=$API"
assert_status 200 "a token before revocation: 200"
cv_admin token revoke "$REV_ID" >/dev/null 2>&1
KV_TOKEN=$REV kv_curl GET "/certificates?api-version=$API"
assert_status 401 "the revoked token: 401"
t_psql "UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE id = $EXP_ID" >/dev/null
KV_TOKEN=$EXP kv_curl GET "/secrets/sl-ec256?api-version=$API"
assert_status 401 "the expired token: 401"
KV_HOST=$CERTVAULT_VAULT_HOST kv_curl GET "/certificates?api-version=$API"
assert_status 401 "this vault's token on the demo vault's host: 401"
KV_TOKEN=${TOK}0 kv_curl GET "/certificates?api-version=$API"
assert_status 401 "the token with a character appended: 401"
KV_TOKEN='' kv_curl GET "/certificates?api-version=$API" -H "Authorization: bearer  $TOK  "
assert_status 200 "the token after 'bearer' with extra blanks: 200"

# --- a private certvault-fcgi at log_level debug, the same requests ---------------------------
(umask 077 && sed -e '/^log_level/d' "$CERTVAULT_CONFIG" >"$T_TMP/debug.conf" && echo 'log_level = debug' >>"$T_TMP/debug.conf")
fcgi_private_start dbg --config "$T_TMP/debug.conf" --workers 1
# dbg METHOD URI [BODY_FILE]
dbg() {
	local len=0 in=/dev/null
	if [ -n "${3:-}" ]; then in=$3; len=$(stat -c %s "$3"); fi
	FCGI_TOKEN=${DBG_TOKEN-$TOK} fcgi_req "$PRIV_SOCK" "$1" "$2" HTTP_HOST="$VHOST" \
		CONTENT_TYPE=application/json CONTENT_LENGTH="$len" <"$in"
}
printf '%s' "$P12_BODY" >"$T_TMP/b1"
dbg POST "/certificates/sl-dbg1/import?api-version=$API" "$T_TMP/b1"
assert_status 200 "debug instance: import the PKCS#12 again: 200"
jq -nc --arg v "$(base64 -w0 "$F/p12.p12")" '{value: $v, pwd: "wrong-password"}' >"$T_TMP/b2"
dbg POST "/certificates/sl-dbg2/import?api-version=$API" "$T_TMP/b2"
assert_status 400 "debug instance: a wrong PKCS#12 password: 400"
{ cat "$F/pem.key"; printf -- '-----BEGIN SOMETHING ELSE-----\n%s\n-----END SOMETHING ELSE-----\n' "$(head -c 48 /dev/urandom | base64)"; cat "$F/pem.pem"; } |
	jq -Rsc '{value: .}' >"$T_TMP/b3"
dbg POST "/certificates/sl-dbg3/import?api-version=$API" "$T_TMP/b3"
assert_status 200 "debug instance: a PEM with an unknown block besides the key: 200"
cat "$F/pem.key" "$F/other.pem" | jq -Rsc '{value: .}' >"$T_TMP/b4"
dbg POST "/certificates/sl-dbg4/import?api-version=$API" "$T_TMP/b4"
assert_status 400 "debug instance: a key with a certificate not its own: 400"
for n in sl-rsa3072 sl-ec521 sl-imp-pem; do
	dbg GET "/secrets/$n?api-version=$API"
	assert_status 200 "debug instance: GET /secrets/$n: 200"
done
DBG_TOKEN=$REV dbg GET "/certificates?api-version=$API"
assert_status 401 "debug instance: the revoked token: 401"
assert_match 'access vault=' "$(cat "$PRIV_LOG")" "debug instance: its log has the access lines"

# --- each key, exported, and its patterns ------------------------------------------------------
# pem_key FILE: the private key block(s) of a PEM file.
pem_key() { sed -n '/-----BEGIN [A-Z ]*PRIVATE KEY-----/,/-----END [A-Z ]*PRIVATE KEY-----/p' "$1"; }
# hexstr FILE: lowercase hex of a file, one line.
hexstr() { od -An -v -tx1 "$1" | tr -d ' \n'; }
# hex_to_b64 HEX [url]
hex_to_b64() {
	if [ "${2:-}" = url ]; then xxd -r -p <<<"$1" | base64 -w0 | tr '+/' '-_' | tr -d '='
	else xxd -r -p <<<"$1" | base64 -w0; fi
}
# params KEYFILE: "NAME HEX" for each private parameter openssl prints.
params() {
	openssl pkey -in "$1" -text -noout 2>/dev/null | awk '
		/^[A-Za-z0-9]+:/ { flush(); name = $1; sub(":", "", name); keep = name ~ /^(privateExponent|prime1|prime2|exponent1|exponent2|coefficient|priv)$/; hex = ""; next }
		/^[[:space:]]/ { if (keep) { h = $0; gsub(/[^0-9a-fA-F]/, "", h); hex = hex h }; next }
		{ flush(); keep = 0 }
		function flush() { if (keep && hex != "") print name, tolower(hex); keep = 0; hex = "" }
		END { flush() }'
}
# control_key KEYFILE OUT: an unrelated key of the same type (DER structure),
# made in the background while the certificates are made.
control_key() {
	local t
	wait "$CTL_PID" 2>/dev/null
	t=$(openssl pkey -in "$1" -text -noout 2>/dev/null | head -n 1)
	case $t in
	*"Private-Key: (2048 bit"*) t=rsa2048 ;;
	*"Private-Key: (3072 bit"*) t=rsa3072 ;;
	*"Private-Key: (4096 bit"*) t=rsa4096 ;;
	*"(256 bit)"*) t=ec256 ;;
	*"(384 bit)"*) t=ec384 ;;
	*"(521 bit)"*) t=ec521 ;;
	*) return 1 ;;
	esac
	[ -s "$PAT/ctl-$t.pem" ] && cp "$PAT/ctl-$t.pem" "$2"
}

# pem_der PEM DER: the body of a one-block PEM file, decoded.
pem_der() { grep -v -- '-----' "$1" | base64 -d >"$2" 2>/dev/null; }

# keep_private LEN PUB CTL: the lines (hex) of stdin that are LEN long and
# occur in neither PUB nor CTL.
keep_private() {
	awk -v len="$1" -v pub="$2" -v ctl="$3" \
		'length($0) == len && index(pub, $0) == 0 && (ctl == "" || index(ctl, $0) == 0)'
}
# b64_private HEX PUB CTL: the 64-character base64 lines of stdin (line i
# is base64 of bytes 48i..48i+47 of HEX) whose bytes occur in neither PUB
# nor CTL.
b64_private() {
	awk -v hex="$1" -v pub="$2" -v ctl="$3" '
		{ h = substr(hex, (NR - 1) * 96 + 1, 96) }
		length($0) == 64 && length(h) == 96 && index(pub, h) == 0 && (ctl == "" || index(ctl, h) == 0)'
}

# patterns LABEL DIR: DIR/key.pem (the private key), DIR/cert.der, and
# optionally DIR/secret.txt (the secret value as served) → DIR/hex.pat
# (case-insensitive) and DIR/b64.pat (case-sensitive).
patterns() {
	local label=$1 d=$2 pub ctl f name hexv b
	# The DER is the PEM body decoded (openssl 3's pkey -outform DER
	# writes the traditional form even without -traditional).
	if ! openssl pkey -in "$d/key.pem" -out "$d/p8.pem" 2>/dev/null ||
		! openssl pkey -in "$d/key.pem" -traditional -out "$d/trad.pem" 2>/dev/null ||
		! openssl pkey -in "$d/key.pem" -pubout -outform DER -out "$d/spki.der" 2>/dev/null; then
		fail "$label: openssl cannot read the exported key"
		return 1
	fi
	pem_der "$d/p8.pem" "$d/p8.der"
	pem_der "$d/trad.pem" "$d/trad.der"
	assert_match "^30820[0-9a-f]{3}020100300d06|^30[0-9a-f]{2,6}020100301[0-9a-f]06072a8648ce3d0201" \
		"$(hexstr "$d/p8.der" | cut -c1-64)" "$label: p8.der is PKCS#8"
	control_key "$d/key.pem" "$d/ctl.pem" || { fail "$label: no control key for its type"; return 1; }
	openssl pkey -in "$d/ctl.pem" -out "$d/ctl-p8.pem" 2>/dev/null
	openssl pkey -in "$d/ctl.pem" -traditional -out "$d/ctl-trad.pem" 2>/dev/null
	pem_der "$d/ctl-p8.pem" "$d/ctl-p8.der"
	pem_der "$d/ctl-trad.pem" "$d/ctl-trad.der"
	pub=$(hexstr "$d/spki.der")$(hexstr "$d/cert.der")
	ctl=$(hexstr "$d/ctl-p8.der")$(hexstr "$d/ctl-trad.der")
	: >"$d/hex.pat"
	: >"$d/b64.pat"
	# DER in 16-byte pieces, and the PEM body lines (base64 of 48-byte
	# pieces of the same DER), without the public and the structural ones.
	for f in p8 trad; do
		hexstr "$d/$f.der" | fold -w 32 | keep_private 32 "$pub" "$ctl" >>"$d/hex.pat"
		grep -v -- '-----' "$d/$f.pem" | b64_private "$(hexstr "$d/$f.der")" "$pub" "$ctl" >>"$d/b64.pat"
	done
	# The private parameters: hex and colon-hex pieces, base64 and base64url.
	while read -r name hexv; do
		printf '%s\n' "$hexv" | fold -w 32 |
			awk 'length($0) == 32 { print; g = $0; gsub(/../, "&:", g); sub(/:$/, "", g); print g }' >>"$d/hex.pat"
		hexv=$(printf '%s' "$hexv" | sed 's/^\(00\)*//')
		for b in "$(hex_to_b64 "$hexv")" "$(hex_to_b64 "$hexv" url)"; do
			echo "${b:0:40}" >>"$d/b64.pat"
		done
		echo "$hexv" >"$d/param-$name.hex"
	done < <(params "$d/key.pem")
	# The secret value itself, in 64-character pieces (PKCS#12 base64).
	if [ -s "$d/secret.b64" ]; then
		fold -w 64 "$d/secret.b64" | b64_private "$(hexstr "$d/secret.p12")" "$pub" "" >>"$d/b64.pat"
	fi
	sort -u -o "$d/hex.pat" "$d/hex.pat"
	sort -u -o "$d/b64.pat" "$d/b64.pat"
}

# found_in PATDIR FILE...: the files in which a pattern of PATDIR occurs.
found_in() {
	local d=$1
	shift
	{
		grep -a -l -i -F -f "$d/hex.pat" "$@" 2>/dev/null
		grep -a -l -F -f "$d/b64.pat" "$@" 2>/dev/null
	} | sort -u
}

for n in "${KEYS[@]}"; do
	d=$PAT/$n
	mkdir -p "$d"
	kv_curl GET "/secrets/$n?api-version=$API"
	assert_status 200 "$n: GET /secrets 200" || continue
	ct=$(printf '%s' "$KV_BODY" | jq -r .contentType)
	printf '%s' "$KV_BODY" | jq -r .value >"$d/secret.txt"
	if [ "$ct" = "$P12_CT" ]; then
		tr -d '\n' <"$d/secret.txt" >"$d/secret.b64"
		base64 -d "$d/secret.b64" >"$d/secret.p12" 2>/dev/null
		if ! openssl pkcs12 -in "$d/secret.p12" -passin pass: -nodes -out "$d/p12.pem" 2>/dev/null; then
			certtool --p12-info --inder --infile "$d/secret.p12" --password '' >"$d/p12.pem" 2>/dev/null
		fi
		pem_key "$d/p12.pem" >"$d/key.pem"
		assert_match 'PRIVATE KEY' "$(head -n 1 "$d/key.pem")" "$n: the PKCS#12 secret opens without a password and holds the key"
	else
		pem_key "$d/secret.txt" >"$d/key.pem"
		assert_match 'PRIVATE KEY' "$(head -n 1 "$d/key.pem")" "$n: the PEM secret holds the key"
	fi
	kv_curl GET "/certificates/$n/?api-version=$API"
	b64_to_file "$(printf '%s' "$KV_BODY" | jq -r .cer)" "$d/cert.der"
	patterns "$n" "$d" || continue
	case $n in
	sl-imp-p12) orig=$F/p12.key ;;
	sl-imp-pem) orig=$F/pem.key ;;
	*) orig= ;;
	esac
	if [ -n "$orig" ]; then
		assert_eq "$(openssl pkey -in "$orig" 2>/dev/null | sha256sum)" "$(sha256sum <"$d/p8.pem")" \
			"$n: the exported key is the imported one"
	fi
	# Controls: each encoding planted in a file is found; the public
	# material (certificate, public key, as hex, PEM and base64) is not.
	np=$(($(wc -l <"$d/hex.pat") + $(wc -l <"$d/b64.pat")))
	assert_true "$n: $np patterns" test "$np" -gt 10
	{ echo "x=$(hexstr "$d/trad.der" | tr a-f A-F)"; } >"$d/plant1"
	cp "$d/p8.pem" "$d/plant2"
	d_name=$(find "$d" -name 'param-*.hex' | sort | head -n 1)
	{ echo "d: $(sed 's/../&:/g; s/:$//' "$d_name")"; } >"$d/plant3"
	{ echo "{\"d\":\"$(hex_to_b64 "$(cat "$d_name")" url)\"}"; } >"$d/plant4"
	missed=
	for p in plant1 plant2 plant3 plant4; do
		[ -n "$(found_in "$d" "$d/$p")" ] || missed+=" $p"
	done
	assert_eq "" "$missed" "$n: controls: the key planted as upper-case hex DER, PKCS#8 PEM, colon-hex and base64url parameter is found"
	{ hexstr "$d/cert.der"; echo; hexstr "$d/spki.der"; echo; base64 -w 64 "$d/cert.der"; base64 -w0 "$d/cert.der"; echo
		openssl pkey -in "$d/key.pem" -pubout 2>/dev/null; openssl pkey -in "$d/key.pem" -pubout -text -noout 2>/dev/null; } >"$d/public"
	assert_eq "" "$(found_in "$d" "$d/public")" "$n: controls: no pattern matches the certificate or the public key"
done

# --- what to search ----------------------------------------------------------------------------
DUMP=$T_TMP/dump.sql
"$PG_DUMP" --no-owner --no-privileges -d "$CERTVAULT_DATABASE_URL" -f "$DUMP" 2>"$T_TMP/dump.err" ||
	bail "pg_dump failed: $(cat "$T_TMP/dump.err")"
assert_true "the dump holds the keys table" grep -q '^COPY public.keys ' "$DUMP"
assert_true "the dump holds this test's certificates (sl-rsa2048's certificate, as bytea hex)" \
	grep -q -F "$(hexstr "$PAT/sl-rsa2048/cert.der" | cut -c1-400)" "$DUMP"
wait_until 5 grep -q "path=/certificates status=401" "$CERTVAULT_HOME/log/certvault-fcgi.log"
LOGS=()
while IFS= read -r f; do LOGS+=("$f"); done < <(
	{
		find "$CERTVAULT_HOME/log" -type f
		find "$CERTVAULT_HOME/test" -type f \( -name '*.log' -o -name '*.out' -o -name '*.err' \) ! -path "$T_TMP/*" 2>/dev/null
		find "$CERTVAULT_PGDATA/log" "$CERTVAULT_PGDATA/pg_log" -type f 2>/dev/null
		find "$CERTVAULT_BUILD_DIR/tests" -maxdepth 2 -type f -name '*.log' -newer "$CERTVAULT_TEST_ENV" 2>/dev/null
		find "$CERTVAULT_BUILD_DIR" -maxdepth 1 -type f -name 'test-suite.log' -newer "$CERTVAULT_TEST_ENV" 2>/dev/null
		echo "$PRIV_LOG"
	} | sort -u)
diag "${#LOGS[@]} log files, $(cat "${LOGS[@]}" 2>/dev/null | wc -c) bytes:"
for f in "${LOGS[@]}"; do diag "  $f ($(stat -c %s "$f" 2>/dev/null) bytes)"; done
has_log() { printf '%s\n' "${LOGS[@]}" | grep -q -- "$1"; }
assert_true "the fcgi log is among them" has_log 'log/certvault-fcgi\.log$'
assert_true "PostgreSQL's log is among them" has_log postgresql
assert_true "the web server's logs are among them" has_log lighttpd

# --- keys: in no log, not in the dump ----------------------------------------------------------
for n in "${KEYS[@]}"; do
	d=$PAT/$n
	[ -s "$d/hex.pat" ] || continue
	assert_eq "" "$(found_in "$d" "${LOGS[@]}")" "$n: its private key is in no log"
	assert_eq "" "$(found_in "$d" "$DUMP")" "$n: its private key is not in the dump"
done

# --- tokens: in no log, not in the dump --------------------------------------------------------
printf '%s\n' "${TOKENS[@]}" >"$PAT/tokens"
printf '%s\n' "${TOKENS[@]}" | sed 's/^cv_//' >>"$PAT/tokens"
assert_eq "" "$(grep -a -l -F -f "$PAT/tokens" "${LOGS[@]}" 2>/dev/null)" \
	"none of the ${#TOKENS[@]} tokens (the stack's and this test's) is in any log"
assert_eq "" "$(grep -a -l -F -f "$PAT/tokens" "$DUMP")" "none of them is in the dump"
assert_eq "" "$(grep -a -l -E 'cv_[0-9a-fA-F]{64}' "${LOGS[@]}" 2>/dev/null)" "no log holds anything shaped like a token"
# known_tokens FILE...: how many 64-hex strings of the files are, with cv_
# before them, a token the database knows (any test's, revoked or not).
known_tokens() {
	local cands c hashes=
	cands=$(grep -a -h -o -E '(^|[^0-9a-fA-F])[0-9a-f]{64}([^0-9a-fA-F]|$)' "$@" 2>/dev/null |
		grep -o -E '[0-9a-f]{64}' | sort -u)
	for c in $cands; do hashes+="${hashes:+,}'$(printf 'cv_%s' "$c" | sha256sum | cut -c1-64)'"; done
	if [ -z "$hashes" ]; then echo 0; return; fi
	t_psql "SELECT count(*) FROM access_tokens WHERE encode(token_hash, 'hex') IN ($hashes)"
}
# Controls: the searches find a token planted in a file.
printf 'x Authorization: Bearer %s\n' "$TOK" >"$PAT/plant-token"
printf 'id=%s;\n%s\n' "${CERTVAULT_TOKEN#cv_}" "$(cv_random_hex 32)" >"$PAT/plant-hex"
assert_eq "$PAT/plant-token" "$(grep -a -l -F -f "$PAT/tokens" "$PAT/plant-token")" "control: a planted token is found"
assert_eq "$PAT/plant-token" "$(grep -a -l -E 'cv_[0-9a-fA-F]{64}' "$PAT/plant-token")" "control: a planted token has a token's shape"
assert_eq 1 "$(known_tokens "$PAT/plant-hex")" "control: the stack token's hex, planted among random hex, is recognised by its hash"
assert_eq 0 "$(known_tokens "${LOGS[@]}")" "no 64-hex string in a log is a token the database knows (any test's)"

# --- the master key and an issuer's password --------------------------------------------------
MK=$CERTVAULT_HOME/etc/master.key
if [ -r "$MK" ]; then
	mkhex=$(hexstr "$MK")
	printf '%s\n%s\n%s\n' "${mkhex:0:32}" "${mkhex:32:32}" "$(echo "$mkhex" | sed 's/../&:/g' | cut -c1-47)" >"$PAT/mk.hex"
	printf '%s\n%s\n' "$(base64 -w0 "$MK" | cut -c1-40)" "$(base64 -w0 "$MK" | tr '+/' '-_' | cut -c1-40)" >"$PAT/mk.b64"
	assert_eq "" "$({ grep -a -l -i -F -f "$PAT/mk.hex" "${LOGS[@]}"; grep -a -l -F -f "$PAT/mk.b64" "${LOGS[@]}"; } 2>/dev/null | sort -u)" \
		"the master key is in no log"
	assert_eq "" "$({ grep -a -l -i -F -f "$PAT/mk.hex" "$DUMP"; grep -a -l -F -f "$PAT/mk.b64" "$DUMP"; } 2>/dev/null)" \
		"the master key is not in the dump"
fi
assert_eq "" "$(grep -a -l -F "$ISSUER_PWD" "${LOGS[@]}" "$DUMP" 2>/dev/null)" \
	"the issuer's credentials.pwd is in no log and not in the dump"

t_done
