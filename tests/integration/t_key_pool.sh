#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/t_on_exit
# The key pool (issue 7): certvault-worker tops key_pool up to
# key_pool_size RSA-2048 keys (the default key_pool_types), visible in
# key_pool_depth; a create of that type takes the oldest pooled key —
# same uid, same public key, sealed as it was, unsealed for the CSR and
# the certificate — and never one another create took (concurrent
# creates get distinct keys); an empty pool, or a pooled key sealed under
# another master key, makes the create generate its own; EC creates do
# not touch the pool; the worker refills what was taken.
. "$(dirname "$0")/lib.sh"

API=7.5
SIZE=$(sed -n 's/^key_pool_size *= *//p' "$CERTVAULT_CONFIG")
SIZE=${SIZE:-32}
t_on_exit 'stack_restore >/dev/null 2>&1'

depth() { t_psql "SELECT coalesce(sum(keys), 0) FROM key_pool_depth WHERE key_spec = 'RSA-2048'"; }
full() { [ "$(depth)" -ge "$SIZE" ]; }

# create NAME KEY_PROPS: a Self certificate.
create() {
	kv_send POST "/certificates/$1/create?api-version=$API" "{\"policy\":{
		\"key_props\":$2,
		\"x509_props\":{\"subject\":\"CN=$1.example\"},
		\"issuer\":{\"name\":\"Self\"}}}"
}

key_of() {
	t_psql "SELECT k.key_uid || ' ' || encode(k.public_key, 'hex') FROM keys k
		JOIN certificates c ON c.id = k.certificate_id WHERE c.name = '$1'"
}

if wait_until 60 full; then ok "certvault-worker fills the pool: $SIZE RSA-2048 keys in key_pool_depth"; else fail "the pool fills" "depth $(depth)"; fi
assert_eq 0 "$(t_psql "SELECT count(*) FROM key_pool WHERE master_key_id IS NULL OR octet_length(seal_nonce) <> 12")" \
	"every pooled key is sealed under a master key"

# With the worker stopped, what a create takes is not refilled at once.
cv_worker_stop 2>/dev/null
oldest=$(t_psql "SELECT key_uid || ' ' || encode(public_key, 'hex') FROM key_pool WHERE key_spec = 'RSA-2048' ORDER BY id LIMIT 1")
before=$(depth)
cert_new_name N1 tkp
create "$N1" '{"kty":"RSA","key_size":2048}'
assert_status 202 "create Self RSA-2048: 202"
assert_eq "$oldest" "$(key_of "$N1")" "… took the oldest pooled key (its uid and public key)"
assert_eq $((before - 1)) "$(depth)" "… which left the pool"
kv_curl GET "/certificates/$N1?api-version=$API"
assert_status 200 "the certificate is there"
printf '%s' "$KV_BODY" | jq -r .cer | base64 -d >"$T_TMP/n1.der"
cert_spki=$(openssl x509 -inform der -in "$T_TMP/n1.der" -pubkey -noout 2>/dev/null |
	openssl pkey -pubin -outform der 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
assert_eq "${oldest#* }" "$cert_spki" "… the certificate is for the pooled public key"
kv_curl GET "/keys/$N1?api-version=$API"
assert_status 200 "… and its key unseals (GET /keys: 200)"

# Concurrent creates take distinct keys.
names=()
for i in 1 2 3 4 5 6 7 8; do
	cert_new_name n tkp
	names+=("$n")
	# kv_curl's files are per T_TMP: one each.
	(T_TMP=$T_TMP/c$i && mkdir -p "$T_TMP" && create "$n" '{"kty":"RSA","key_size":2048}') >/dev/null 2>&1 &
done
wait
list=
for n in "${names[@]}"; do list+="${list:+,}'$n'"; done
assert_eq 8 "$(t_psql "SELECT count(DISTINCT k.key_uid) FROM keys k JOIN certificates c ON c.id = k.certificate_id WHERE c.name IN ($list)")" \
	"8 concurrent creates: 8 distinct keys"
assert_eq 0 "$(t_psql "SELECT count(*) FROM key_pool p JOIN keys k ON k.key_uid = p.key_uid")" \
	"no key is both in the pool and given to a certificate"
assert_eq $((before - 9)) "$(depth)" "… all nine came from the pool"

# EC creates do not touch the RSA pool.
d=$(depth)
cert_new_name N2 tkp
create "$N2" '{"kty":"EC","crv":"P-256"}'
assert_status 202 "create Self EC P-256: 202"
assert_eq "$d" "$(depth)" "… the RSA pool is untouched"

# A pooled key sealed under another master key is dropped, not used.
t_psql "UPDATE key_pool SET master_key_id = 'retired-key' WHERE id = (SELECT min(id) FROM key_pool WHERE key_spec = 'RSA-2048')" >/dev/null
stale=$(t_psql "SELECT key_uid FROM key_pool WHERE master_key_id = 'retired-key'")
cert_new_name N3 tkp
create "$N3" '{"kty":"RSA","key_size":2048}'
assert_status 202 "create with a stale pooled key first in line: 202"
assert_ne "$stale" "$(key_of "$N3" | cut -d' ' -f1)" "… that key was not used"
assert_eq 0 "$(t_psql "SELECT count(*) FROM key_pool WHERE key_uid = '$stale'")" "… and it left the pool"
kv_curl GET "/keys/$N3?api-version=$API"
assert_status 200 "… the certificate got a working key"

# An empty pool: the create generates its key.
t_psql "DELETE FROM key_pool" >/dev/null
cert_new_name N4 tkp
create "$N4" '{"kty":"RSA","key_size":2048}'
assert_status 202 "create with an empty pool: 202 (the key is generated in the request)"
kv_curl GET "/keys/$N4?api-version=$API"
assert_status 200 "… with a working key"

# The worker refills.
stack_restore >/dev/null 2>&1
if wait_until 60 full; then ok "the worker refills the pool to $SIZE"; else fail "the worker refills the pool" "depth $(depth)"; fi

t_done
