#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/t_on_exit
# Master key rotation while the service runs (issue 8): certificates of
# every key type (Self, PEM and PKCS#12, and a pending Unknown one), a
# LocalCA issuer with its CA key, an issuer with a password and a full key
# pool, all sealed under the stack's master key; a new key is made;
# rotate-master-key refuses while the configuration still seals with the
# old key; the stack's configuration is rewritten (master_key_file = new,
# master_key_previous_files = old), certvault-fcgi reloaded (SIGHUP) and
# certvault-worker restarted: rows under the old key still read, a pooled
# key under the old key is sealed again when taken; rotate-master-key
# --batch 5 runs while 200 reads and creates run (none fails); afterwards
# every row is under the new key, every secret exports the same private
# key as before, a backup made under the old key restores; a row labelled
# with the old key that does not open under it is reported (exit 1); with
# the old key removed from the configuration everything still works
# (secrets, LocalCA issuance, pool, new backups) and a backup made under
# the old key is refused (documented); a row under a key nobody has gives
# rotate-master-key exit 1 naming the table and the row, and the API a
# Key Vault-shaped 500 (the service stays up). At exit the stack is
# rotated back to its own key and its configuration restored.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null 2>&1 || { echo "ERROR: openssl is not installed"; T_DONE=1; exit 99; }

API=7.5
P=trk-$(cv_random_hex 3)
ADMIN=$CERTVAULT_BUILD_DIR/src/certvault-admin
INVALID="The backup blob is not valid, or was made with a different master key."
SIZE=$(sed -n 's/^key_pool_size *= *//p' "$CERTVAULT_CONFIG")
SIZE=${SIZE:-32}

ORIG_CONF=$T_TMP/orig.conf
cp -p "$CERTVAULT_CONFIG" "$ORIG_CONF" || bail "cannot copy $CERTVAULT_CONFIG"
OLD_KEY=$(sed -n 's/^master_key_file *= *//p' "$CERTVAULT_CONFIG")
[ -r "$OLD_KEY" ] || bail "the stack has no readable master_key_file"
# The new key lives beside the stack's own, outside T_TMP (removed at exit).
NEW_KEY=$CERTVAULT_HOME/etc/rotated-$P.key

admin() { "$ADMIN" --config "$CERTVAULT_CONFIG" "$@"; }
# key_id FILE: the id certvault gives a key: the first 8 bytes of its SHA-256.
key_id() { sha256sum "$1" | cut -c1-16; }
OLD_ID=$(key_id "$OLD_KEY")

# set_keys CURRENT [PREVIOUS]: the stack's configuration with these keys.
set_keys() {
	{
		grep -v -e '^master_key_file' -e '^master_key_previous_files' "$ORIG_CONF"
		echo "master_key_file = $1"
		[ -n "${2:-}" ] && echo "master_key_previous_files = $2"
	} >"$T_TMP/new.conf"
	cat "$T_TMP/new.conf" >"$CERTVAULT_CONFIG"
}

# replaced MASTER "PIDS": MASTER's workers are all new.
replaced() {
	local now p
	now=$(children "$1")
	[ -n "$now" ] || return 1
	for p in $2; do
		printf '%s\n' "$now" | grep -qx "$p" && return 1
	done
	return 0
}

# reload: SIGHUP certvault-fcgi (new workers read the file again) and
# restart certvault-worker (it reads its configuration at start).
reload() {
	local m before
	m=$(master_pid)
	before=$(children "$m" | tr '\n' ' ')
	kill -HUP "$m" || return 1
	wait_until 15 replaced "$m" "$before" || return 1
	cv_worker_stop >/dev/null 2>&1
	cv_worker_start >/dev/null 2>&1
}

# At exit: our certificates and issuers go first; then whatever the test
# moved to the new key is sealed back under the stack's own key and the
# configuration is restored as it was.
restore_keys() {
	if [ -s "$NEW_KEY" ]; then
		set_keys "$OLD_KEY" "$NEW_KEY"
		reload
		admin rotate-master-key "$OLD_KEY" >"$T_TMP/back.log" 2>&1 ||
			{ echo "# rotating back to the stack's key failed:"; sed 's/^/#   /' "$T_TMP/back.log"; }
	fi
	cat "$ORIG_CONF" >"$CERTVAULT_CONFIG"
	reload
	rm -f "$NEW_KEY"
}
t_on_exit restore_keys
t_on_exit "t_psql \"DELETE FROM certificates WHERE name LIKE '$P-%'\" >/dev/null 2>&1; t_psql \"DELETE FROM issuers WHERE name LIKE '$P-%'\" >/dev/null 2>&1"
t_on_exit 'stack_restore >/dev/null 2>&1'

jqr() { printf '%s' "$KV_BODY" | jq -r "$1"; }

# create NAME KEY_PROPS ISSUER [CONTENT_TYPE]
create() {
	kv_send POST "/certificates/$1/create?api-version=$API" "{\"policy\":{
		\"key_props\":$2,
		\"secret_props\":{\"contentType\":\"${4:-application/x-pkcs12}\"},
		\"x509_props\":{\"subject\":\"CN=$1.example\",\"validity_months\":6},
		\"issuer\":{\"name\":\"$3\"}}}"
}

# privkey NAME: SHA-256 of the DER of the private key GET /secrets gives
# (PEM or PKCS#12), or "status N".
privkey() {
	kv_curl GET "/secrets/$1?api-version=$API"
	if [ "$KV_STATUS" != 200 ]; then
		echo "status $KV_STATUS"
		return
	fi
	if [ "$(jqr .contentType)" = application/x-pem-file ]; then
		jqr .value | openssl pkey -outform DER 2>/dev/null | sha256sum | cut -c1-64
	else
		jqr .value | base64 -d >"$T_TMP/s.p12"
		openssl pkcs12 -in "$T_TMP/s.p12" -passin pass: -nodes -nocerts 2>/dev/null |
			openssl pkey -outform DER 2>/dev/null | sha256sum | cut -c1-64
	fi
}

status_is() {
	kv_curl GET "/certificates/$1/pending?api-version=$API"
	[ "$(jqr .status 2>/dev/null)" = "$2" ]
}

backup() { kv_curl POST "/certificates/$1/backup?api-version=$API" --data-binary ""; }
restore() { kv_send POST "/certificates/restore?api-version=$API" "$(jq -nc --arg v "$1" '{value: $v}')"; }
delete_purge() {
	kv_curl DELETE "/certificates/$1?api-version=$API"
	kv_curl DELETE "/deletedcertificates/$1?api-version=$API"
	assert_status 204 "delete and purge $1: 204"
}

# not_under ID: rows of the three tables sealed under another key than ID.
not_under() {
	t_psql "SELECT (SELECT count(*) FROM keys WHERE master_key_id <> '$1')
		+ (SELECT count(*) FROM key_pool WHERE master_key_id <> '$1')
		+ (SELECT count(*) FROM issuer_credentials WHERE master_key_id <> '$1')"
}
depth() { t_psql "SELECT coalesce(sum(keys), 0) FROM key_pool_depth WHERE key_spec = 'RSA-2048'"; }
pool_full() { [ "$(depth)" -ge "$SIZE" ]; }
key_row() {
	t_psql "SELECT k.id FROM keys k JOIN certificates c ON c.id = k.certificate_id WHERE c.name = '$1'"
}

# --- sealed material of every kind, under the stack's key -------------------------------
declare -A KEY
NAMES=()
for spec in 'rsa2048|{"kty":"RSA","key_size":2048,"exportable":true}|application/x-pkcs12' \
	'rsa3072|{"kty":"RSA","key_size":3072,"exportable":true}|application/x-pem-file' \
	'ec256|{"kty":"EC","crv":"P-256","exportable":true}|application/x-pem-file' \
	'ec384|{"kty":"EC","crv":"P-384","exportable":true}|application/x-pkcs12' \
	'ec521|{"kty":"EC","crv":"P-521","exportable":true}|application/x-pem-file'; do
	IFS='|' read -r kind props ct <<<"$spec"
	n=$P-$kind
	create "$n" "$props" Self "$ct"
	assert_status 202 "create Self $kind ($ct): 202"
	NAMES+=("$n")
done
create "$P-pending" '{"kty":"RSA","key_size":2048,"exportable":true}' Unknown
assert_status 202 "create a pending Unknown certificate (a key, no version yet): 202"

kv_send PUT "/certificates/issuers/$P-ca?api-version=$API" '{"provider":"LocalCA"}'
assert_status 200 "PUT a LocalCA issuer: 200"
create "$P-local" '{"kty":"EC","crv":"P-256","exportable":true}' "$P-ca" application/x-pem-file
assert_status 202 "create with the LocalCA issuer: 202"
if wait_until 30 status_is "$P-local" completed; then ok "certvault-worker issues it (the CA key is made and sealed)"; else fail "LocalCA issuance completes" "$KV_BODY"; fi
NAMES+=("$P-local")
kv_send PUT "/certificates/issuers/$P-pw?api-version=$API" \
	'{"provider":"DigiCert","credentials":{"account_id":"acct","pwd":"rotate-me-not"}}'
assert_status 200 "PUT an issuer with a password: 200"

if wait_until 90 pool_full; then ok "the key pool is full ($SIZE RSA-2048 keys)"; else fail "the key pool fills" "depth $(depth)"; fi

for n in "${NAMES[@]}"; do
	KEY[$n]=$(privkey "$n")
	assert_match '^[0-9a-f]{64}$' "${KEY[$n]}" "$n: GET /secrets exports its private key"
done
CREDS=$(t_psql "SELECT count(*) FROM issuer_credentials ic JOIN issuers i ON i.id = ic.issuer_id
	WHERE i.name IN ('$P-ca', '$P-pw')")
assert_eq 2 "$CREDS" "issuer_credentials: the LocalCA key and the password"
assert_eq 0 "$(not_under "$OLD_ID")" "everything is sealed under the stack's key $OLD_ID"

# Backups under the old key, for later.
backup "${NAMES[1]}"
assert_status 200 "backup of ${NAMES[1]} under the old key: 200"
BLOB_RESTORED=$(jqr .value)
backup "${NAMES[2]}"
BLOB_REFUSED=$(jqr .value)

# --- a new key; the configuration first -------------------------------------------------
admin master-key create "$NEW_KEY" >"$T_TMP/create.out" 2>&1
assert_eq 0 "$?" "master-key create NEW: exit 0"
NEW_ID=$(key_id "$NEW_KEY")
assert_ne "$OLD_ID" "$NEW_ID" "the new key has another id"

out=$(admin rotate-master-key "$NEW_KEY" 2>&1)
assert_eq 1 "$?" "rotate-master-key before the services seal with the new key: exit 1"
assert_match "master_key_file $OLD_KEY is not $NEW_KEY" "$out" "… saying that the configuration must change first"
assert_eq 0 "$(not_under "$OLD_ID")" "… and nothing was re-sealed"

set_keys "$NEW_KEY" "$OLD_KEY"
assert_true "certvault-fcgi reloaded (SIGHUP), certvault-worker restarted" reload
for n in "${NAMES[@]}"; do
	assert_eq "${KEY[$n]}" "$(privkey "$n")" "with the new key current: $n (under the old key) still exports its key"
done

# A create takes the oldest pooled key, sealed under the old key: sealed
# again under the new one, same uid.
oldest=$(t_psql "SELECT key_uid || ' ' || master_key_id FROM key_pool WHERE key_spec = 'RSA-2048' ORDER BY id LIMIT 1")
create "$P-pooled" '{"kty":"RSA","key_size":2048,"exportable":true}' Self
assert_status 202 "create RSA-2048 with the pool under the old key: 202"
assert_eq "${oldest% *} $NEW_ID" "$(t_psql "SELECT k.key_uid || ' ' || k.master_key_id FROM keys k
	JOIN certificates c ON c.id = k.certificate_id WHERE c.name = '$P-pooled'")" \
	"… it took the oldest pooled key (under ${oldest#* }) and sealed it under the new key"
KEY[$P-pooled]=$(privkey "$P-pooled")
assert_match '^[0-9a-f]{64}$' "${KEY[$P-pooled]}" "… and its secret exports"
NAMES+=("$P-pooled")
create "$P-new" '{"kty":"EC","crv":"P-256","exportable":true}' Self
assert_eq "$NEW_ID" "$(t_psql "SELECT k.master_key_id FROM keys k JOIN certificates c ON c.id = k.certificate_id WHERE c.name = '$P-new'")" \
	"a key made now is sealed under the new key"
KEY[$P-new]=$(privkey "$P-new")
NAMES+=("$P-new")
# More rows under the old key, so that the rotation takes a while: 40
# EC certificates made with the old key current (4 streams of 10).
set_keys "$OLD_KEY"
assert_true "back to the old key alone for a moment" reload
bulk() {
	local s=$1 j
	T_TMP=$T_TMP/bulk$s
	mkdir -p "$T_TMP"
	for ((j = 1; j <= 10; j++)); do
		create "$P-bulk-$s-$j" '{"kty":"EC","crv":"P-256","exportable":true}' Self >/dev/null 2>&1
	done
}
# (wait for these four only: cv_worker_start's daemon is a child too)
BULK_PIDS=
for s in 0 1 2 3; do
	bulk "$s" &
	BULK_PIDS+=" $!"
done
# shellcheck disable=SC2086
wait $BULK_PIDS
assert_eq 40 "$(t_psql "SELECT count(*) FROM keys k JOIN certificates c ON c.id = k.certificate_id
	WHERE c.name LIKE '$P-bulk-%' AND k.master_key_id = '$OLD_ID'")" "40 more certificates under the old key"
set_keys "$NEW_KEY" "$OLD_KEY"
assert_true "the new key current again" reload
BEFORE=$(t_psql "SELECT count(*) FROM keys WHERE master_key_id = '$OLD_ID'")
diag "under the old key: $BEFORE keys, $(t_psql "SELECT count(*) FROM key_pool WHERE master_key_id = '$OLD_ID'") pooled, $(t_psql "SELECT count(*) FROM issuer_credentials WHERE master_key_id = '$OLD_ID'") issuer credentials"

# --- the rotation, under load -------------------------------------------------------------
# 200 requests in 4 streams of 50: GET /secrets, GET /keys and creates
# (RSA-2048 from the pool, EC P-256); a line per failure in load/fail, one
# per request in load/done.
LOAD=$T_TMP/load
mkdir -p "$LOAD"
load() {
	local s=$1 j i n st want
	T_TMP=$LOAD/$s
	mkdir -p "$T_TMP"
	for ((j = 1; j <= 50; j++)); do
		i=$((s * 50 + j))
		n=${NAMES[$((i % ${#NAMES[@]}))]}
		case $((i % 5)) in
			0) want=202; kv_send POST "/certificates/$P-load-$i/create?api-version=$API" \
				"{\"policy\":{\"key_props\":$([ $((i % 2)) = 0 ] && echo '{"kty":"RSA","key_size":2048}' || echo '{"kty":"EC","crv":"P-256"}'),
				\"x509_props\":{\"subject\":\"CN=load$i.example\"},\"issuer\":{\"name\":\"Self\"}}}" >/dev/null 2>&1 ;;
			1 | 2) want=200; kv_curl GET "/secrets/$n?api-version=$API" >/dev/null 2>&1 ;;
			*) want=200; kv_curl GET "/keys/$n?api-version=$API" >/dev/null 2>&1 ;;
		esac
		st=$KV_STATUS
		[ "$st" = "$want" ] || echo "request $i ($n): status $st, wanted $want: $KV_BODY" >>"$LOAD/fail"
		echo "$i" >>"$LOAD/done"
	done
}
done_n() { wc -l 2>/dev/null <"$LOAD/done" || echo 0; }
started() { [ "$(done_n)" -ge 8 ]; }
LOAD_PIDS=
for s in 0 1 2 3; do
	load "$s" &
	LOAD_PIDS+=" $!"
done
wait_until 30 started || true
AT_START=$(done_n)
T0=$(now_ms)
admin rotate-master-key "$NEW_KEY" --batch 5 >"$T_TMP/rotate.out" 2>"$T_TMP/rotate.err"
RC=$?
T1=$(now_ms)
AT_END=$(done_n)
# shellcheck disable=SC2086
wait $LOAD_PIDS
diag "rotate-master-key took $((T1 - T0)) ms; the load had made $AT_START requests when it started, $AT_END when it ended"
assert_eq 0 "$RC" "rotate-master-key NEW --batch 5 while the load runs: exit 0" \
	|| diag "$(cat "$T_TMP/rotate.out" "$T_TMP/rotate.err")"
assert_true "… the load was running all along (started before, still going after)" \
	test "${AT_START:-0}" -ge 1 -a "${AT_END:-200}" -lt 200
assert_eq 200 "$(done_n | tr -d ' ')" "the load made its 200 requests"
assert_eq "" "$(head -n 5 "$LOAD/fail" 2>/dev/null)" "… and not one failed"
ROT=$(cat "$T_TMP/rotate.out")
diag "$ROT"
assert_match "re-sealing under master key $NEW_ID what is sealed under 1 previous key \\($OLD_ID\\), 5 rows per transaction" \
	"$ROT" "rotate-master-key names the keys and the batch size"
assert_match "keys: [0-9]+ re-sealed so far" "$ROT" "… prints progress"
assert_match $'\n'"keys: [1-9][0-9]* re-sealed, 0 left"$'\n' "$ROT" "… keys: re-sealed, 0 left"
assert_match $'\n'"key_pool: [1-9][0-9]* re-sealed, 0 left"$'\n' "$ROT" "… key_pool: re-sealed, 0 left"
assert_match $'\n'"issuer_credentials: [2-9][0-9]* re-sealed, 0 left"$'\n' "$ROT" "… issuer_credentials: re-sealed, 0 left"
assert_match "every sealed value is under master key $NEW_ID" "$ROT" "… and says the old key can go"
n_keys=$(sed -n 's/^keys: \([0-9]*\) re-sealed, 0 left$/\1/p' "$T_TMP/rotate.out")
assert_true "… at least the $BEFORE keys under the old key before the load" test "${n_keys:-0}" -ge "$BEFORE"

assert_eq 0 "$(not_under "$NEW_ID")" "SQL: every row of keys, key_pool and issuer_credentials is under the new key"
assert_eq 0 "$(t_psql "SELECT count(*) FROM issuer_credentials ic JOIN issuers i ON i.id = ic.issuer_id
	WHERE i.name IN ('$P-ca', '$P-pw') AND ic.updated_at < now() - interval '1 minute'")" \
	"… the issuer credentials were re-sealed just now"
for n in "${NAMES[@]}"; do
	assert_eq "${KEY[$n]}" "$(privkey "$n")" "after the rotation: $n exports the same private key"
done

out=$(admin rotate-master-key "$NEW_KEY" 2>&1)
assert_eq 0 "$?" "rotate-master-key again: exit 0"
assert_match "keys: 0 re-sealed, 0 left" "$out" "… nothing to do"

# A backup made under the old key restores while the old key is configured.
delete_purge "${NAMES[1]}"
restore "$BLOB_RESTORED"
assert_status 200 "restore of a backup made under the old key (old key in master_key_previous_files): 200"
assert_eq "$NEW_ID" "$(t_psql "SELECT string_agg(DISTINCT k.master_key_id, ',') FROM keys k JOIN certificates c ON c.id = k.certificate_id WHERE c.name = '${NAMES[1]}'")" \
	"… its keys are sealed under the new key"
assert_eq "${KEY[${NAMES[1]}]}" "$(privkey "${NAMES[1]}")" "… with the same private key"

# A row labelled with the old key whose value does not open under it.
R=$(key_row "$P-new")
t_psql "UPDATE keys SET master_key_id = '$OLD_ID' WHERE id = $R" >/dev/null
admin rotate-master-key "$NEW_KEY" >"$T_TMP/tamper.out" 2>&1
assert_eq 1 "$?" "a row under the old key that does not unseal: exit 1"
assert_match "keys row $R: its value does not unseal under master key $OLD_ID" "$(cat "$T_TMP/tamper.out")" \
	"… naming the table, the row and the key"
assert_eq "$OLD_ID" "$(t_psql "SELECT master_key_id FROM keys WHERE id = $R")" "… and left as it was"
t_psql "UPDATE keys SET master_key_id = '$NEW_ID' WHERE id = $R" >/dev/null

# --- the old key leaves the configuration ---------------------------------------------------
set_keys "$NEW_KEY"
assert_true "without the old key: certvault-fcgi reloaded, certvault-worker restarted" reload
for n in "${NAMES[@]}"; do
	assert_eq "${KEY[$n]}" "$(privkey "$n")" "without the old key: $n exports the same private key"
done
create "$P-local2" '{"kty":"EC","crv":"P-256"}' "$P-ca"
assert_status 202 "a new LocalCA request: 202"
if wait_until 30 status_is "$P-local2" completed; then ok "… issued with the re-sealed CA key"; else fail "LocalCA issuance with the re-sealed CA key" "$KV_BODY"; fi
create "$P-pool2" '{"kty":"RSA","key_size":2048}' Self
assert_status 202 "a create from the re-sealed pool: 202"
kv_curl GET "/keys/$P-pool2?api-version=$API"
assert_status 200 "… its key is there"
assert_eq 0 "$(t_psql "SELECT count(*) FROM key_pool WHERE master_key_id <> '$NEW_ID'")" "the pool is refilled under the new key"
restore "$BLOB_REFUSED"
assert_kv_error 400 BadParameter "$INVALID" "a backup made under a key no longer configured (documented)"
backup "${NAMES[3]}"
assert_status 200 "a backup now: 200"
blob=$(jqr .value)
delete_purge "${NAMES[3]}"
restore "$blob"
assert_status 200 "… restores: 200"
assert_eq "${KEY[${NAMES[3]}]}" "$(privkey "${NAMES[3]}")" "… with the same private key"

# --- a row under a key nobody has -----------------------------------------------------------
R=$(key_row "${NAMES[0]}")
t_psql "UPDATE keys SET master_key_id = 'deadbeefdeadbeef' WHERE id = $R" >/dev/null
admin rotate-master-key "$NEW_KEY" >"$T_TMP/lost.out" 2>&1
assert_eq 1 "$?" "a row under a key nobody has: rotate-master-key exit 1"
assert_match "keys row $R: sealed under master key deadbeefdeadbeef, which is neither the new key nor an old one given" \
	"$(cat "$T_TMP/lost.out")" "… naming the table, the row and the key"
assert_match $'\n'"keys: 0 re-sealed, 1 left"$'\n' "$(cat "$T_TMP/lost.out")" "… counted as left"
diag "$(cat "$T_TMP/lost.out")"
kv_curl GET "/secrets/${NAMES[0]}?api-version=$API"
assert_kv_error 500 InternalServerError "The private key cannot be unsealed with this installation's master key." \
	"GET /secrets of that certificate"
assert_match "master key deadbeefdeadbeef is not configured" "$(cat "$CERTVAULT_HOME/log/certvault-fcgi.log")" \
	"… the log says which key is missing"
kv_curl GET "/keys/${NAMES[0]}?api-version=$API"
assert_status 200 "… its public key is still served"
assert_eq "${KEY[${NAMES[2]}]}" "$(privkey "${NAMES[2]}")" "… and the service goes on: another secret exports"
t_psql "UPDATE keys SET master_key_id = '$NEW_ID' WHERE id = $R" >/dev/null
assert_eq "${KEY[${NAMES[0]}]}" "$(privkey "${NAMES[0]}")" "labelled right again, it exports"

t_done
