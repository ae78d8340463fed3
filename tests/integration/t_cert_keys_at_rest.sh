#!/usr/bin/env bash
# Private keys at rest: after creating exportable RSA and EC certificates
# (Self and a pending Unknown one), a pg_dump of the database holds no PEM
# private key and no PKCS#8 private key structure, keys.sealed_private_key
# holds no PKCS#8 header for RSA or EC in any row, and keys.public_key is the
# certificate's own public key. (The key cannot be fetched over the API yet:
# secrets come with a later issue.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v certtool >/dev/null 2>&1 || { echo "ERROR: certtool (gnutls-bin) is not installed"; T_DONE=1; exit 99; }
PG_DUMP=$(cv_pg_bindir 2>/dev/null)/pg_dump
[ -x "$PG_DUMP" ] || PG_DUMP=/usr/lib/postgresql/15/bin/pg_dump
[ -x "$PG_DUMP" ] || { echo "ERROR: pg_dump not found"; T_DONE=1; exit 99; }

API=7.5
# DER PKCS#8 PrivateKeyInfo: version INTEGER 0, then the AlgorithmIdentifier.
P8_RSA=020100300d06092a864886f70d010101     # rsaEncryption
P8_EC=020100301306072a8648ce3d0201           # id-ecPublicKey

# The patterns are right: certtool's own unencrypted PKCS#8 keys carry them.
certtool --generate-privkey --key-type=rsa --bits=2048 --pkcs8 --password '' --outder \
	--outfile "$T_TMP/p8-rsa.der" >/dev/null 2>&1
certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --pkcs8 --password '' --outder \
	--outfile "$T_TMP/p8-ec.der" >/dev/null 2>&1
assert_match "$P8_RSA" "$(hex_of "$T_TMP/p8-rsa.der")" "control: an RSA PKCS#8 key contains the RSA pattern"
assert_match "$P8_EC" "$(hex_of "$T_TMP/p8-ec.der")" "control: an EC PKCS#8 key contains the EC pattern"

# --- certificates with exportable keys -----------------------------------------------
declare -A KIND
make_cert() {
	local prefix=$1 key_props=$2 issuer=$3 name
	cert_new_name name "$prefix"
	kv_send POST "/certificates/$name/create?api-version=$API" \
		"{\"policy\":{\"key_props\":$key_props,\"x509_props\":{\"subject\":\"CN=$prefix.example\"},\"issuer\":{\"name\":\"$issuer\"}}}"
	assert_status 202 "$prefix: create 202"
	KIND[$name]=$issuer
}
make_cert rest-rsa '{"kty":"RSA","key_size":2048,"exportable":true}' Self
make_cert rest-rsa3072 '{"kty":"RSA","key_size":3072,"exportable":true}' Self
make_cert rest-ec '{"kty":"EC","crv":"P-256","exportable":true}' Self
make_cert rest-ec384 '{"kty":"EC","crv":"P-384","exportable":true}' Self
make_cert rest-pending '{"kty":"RSA","key_size":2048,"exportable":true}' Unknown
names_sql=
for n in "${!KIND[@]}"; do names_sql+="${names_sql:+,}'$n'"; done

assert_eq "${#KIND[@]}" "$(t_psql "SELECT count(*) FROM keys k JOIN certificates c ON c.id = k.certificate_id WHERE c.name IN ($names_sql)")" \
	"one key row per certificate"
assert_eq 0 "$(t_psql "SELECT count(*) FROM keys k JOIN certificates c ON c.id = k.certificate_id WHERE c.name IN ($names_sql) AND NOT k.exportable")" \
	"the keys are exportable"

# --- the dump ----------------------------------------------------------------------------
DUMP=$T_TMP/dump.sql
if ! "$PG_DUMP" --no-owner --no-privileges -d "$CERTVAULT_DATABASE_URL" -f "$DUMP" 2>"$T_TMP/dump.err"; then
	bail "pg_dump failed: $(cat "$T_TMP/dump.err")"
fi
assert_true "pg_dump wrote the keys table" grep -q '^COPY public.keys ' "$DUMP"
assert_eq 0 "$(grep -c 'PRIVATE KEY' "$DUMP" || true)" "the dump has no PEM private key marker"
assert_eq 0 "$(grep -ci "$P8_RSA" "$DUMP" || true)" "the dump has no RSA PKCS#8 structure"
assert_eq 0 "$(grep -ci "$P8_EC" "$DUMP" || true)" "the dump has no EC PKCS#8 structure"
MASTER_HEX=$(hex_of "$CERTVAULT_HOME/etc/master.key" 2>/dev/null || true)
if [ -n "$MASTER_HEX" ]; then
	assert_eq 0 "$(grep -ci "$MASTER_HEX" "$DUMP" || true)" "the dump does not contain the master key"
	assert_eq 600 "$(stat -c %a "$CERTVAULT_HOME/etc/master.key")" "the master key file is mode 0600"
fi

# --- the column itself, every row ---------------------------------------------------------
assert_eq 0 "$(t_psql "SELECT count(*) FROM keys WHERE encode(sealed_private_key, 'hex') LIKE '%$P8_RSA%' OR encode(sealed_private_key, 'hex') LIKE '%$P8_EC%'")" \
	"no keys.sealed_private_key row holds an RSA or EC PKCS#8 header"
assert_eq 0 "$(t_psql "SELECT count(*) FROM key_pool WHERE encode(sealed_private_key, 'hex') LIKE '%$P8_RSA%' OR encode(sealed_private_key, 'hex') LIKE '%$P8_EC%'")" \
	"no key_pool.sealed_private_key row holds one either"
assert_eq 0 "$(t_psql "SELECT count(*) FROM keys WHERE get_byte(sealed_private_key, 0) = 48 AND get_byte(sealed_private_key, 1) = 130 AND encode(substr(sealed_private_key, 5, 3), 'hex') = '020100'")" \
	"no sealed key starts like a DER private key"
assert_eq 0 "$(t_psql "SELECT count(*) FROM (SELECT seal_nonce FROM keys GROUP BY seal_nonce HAVING count(*) > 1) d")" \
	"every sealing has its own nonce"
# AES-GCM: ciphertext as long as the PKCS#8 key plus the 16-byte tag, so an
# RSA 2048 key seals to well over 1000 bytes.
assert_eq t "$(t_psql "SELECT bool_and(octet_length(k.sealed_private_key) > 1100) FROM keys k JOIN certificates c ON c.id = k.certificate_id WHERE c.name IN ($names_sql) AND k.kty = 'RSA'")" \
	"sealed RSA keys have the size of a whole private key"

# --- keys.public_key is the certificate's public key -------------------------------------
for n in "${!KIND[@]}"; do
	[ "${KIND[$n]}" = Self ] || continue
	kv_curl GET "/certificates/$n/?api-version=$API"
	VER=$(printf '%s' "$KV_BODY" | jq -r .id)
	VER=${VER##*/}
	b64_to_file "$(printf '%s' "$KV_BODY" | jq -r .cer)" "$T_TMP/$n.der"
	certtool --certificate-info --inder --infile "$T_TMP/$n.der" >"$T_TMP/$n.pem" 2>/dev/null
	certtool --pubkey-info --load-certificate "$T_TMP/$n.pem" --outder --outfile "$T_TMP/$n.spki" >/dev/null 2>&1
	stored=$(t_psql "SELECT encode(k.public_key, 'hex') FROM keys k JOIN certificate_versions v ON v.key_id = k.id JOIN certificates c ON c.id = v.certificate_id WHERE c.name = '$n' AND v.version = '$VER'")
	assert_match '^30[0-9a-f]{100,}$' "$stored" "$n: keys.public_key is DER"
	assert_eq "$(hex_of "$T_TMP/$n.spki")" "$stored" "$n: keys.public_key is the certificate's SubjectPublicKeyInfo"
done
# The pending one: its CSR carries the same public key as the row.
for n in "${!KIND[@]}"; do
	[ "${KIND[$n]}" = Unknown ] || continue
	kv_curl GET "/certificates/$n/pending?api-version=$API"
	b64_to_file "$(printf '%s' "$KV_BODY" | jq -r .csr)" "$T_TMP/$n.csr.der"
	certtool --crq-info --inder --infile "$T_TMP/$n.csr.der" 2>/dev/null | sed -n '/BEGIN/,$p' >"$T_TMP/$n.csr.pem"
	certtool --pubkey-info --load-request "$T_TMP/$n.csr.pem" --outder --outfile "$T_TMP/$n.spki" >/dev/null 2>&1
	stored=$(t_psql "SELECT encode(k.public_key, 'hex') FROM keys k JOIN certificates c ON c.id = k.certificate_id WHERE c.name = '$n'")
	assert_match '^30[0-9a-f]{100,}$' "$stored" "$n: keys.public_key is DER"
	assert_eq "$(hex_of "$T_TMP/$n.spki")" "$stored" "$n: keys.public_key is the CSR's public key"
done

t_done
