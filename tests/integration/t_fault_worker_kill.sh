#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/t_on_exit
# certvault-worker killed with SIGKILL again and again (issue 9, faults):
# nothing done twice, nothing lost.
#
# (a) Key pool: two workers at once (as on two nodes) fill a pool of
#     RSA-3072 keys, a type the stack does not pool (its own pool stays
#     as it is) and slow enough to generate (~0.2 s a key) that the
#     refill lasts seconds; one or the other is killed at random moments
#     of the refill and restarted with the stack functions, then both
#     finish. The pool holds exactly key_pool_size keys, also some passes
#     later (no overshoot: no worker with a stale count added a key beyond
#     the target), every row whole and unique (uid, public key), sealed
#     under the current master key; the workers' logs count no more keys
#     than the pool holds. Creates then take every pooled key: each is a
#     certificate whose public key is the pooled one and whose
#     self-signature verifies, i.e. the sealed private key unsealed and
#     belongs to it.
# (b) Purges: 120 soft-deleted certificates (each with a version and a
#     key; DELETE has removed its pending operation) made due by SQL; a
#     test trigger makes each delete of them take 20 ms, so that one purge
#     transaction (100 certificates) lasts 2 s and every SIGKILL lands
#     inside it: it rolls back whole. Then two workers finish: every one
#     is purged with its versions and keys (no pending operation or
#     lifetime run left of it either); live certificates and deleted ones
#     whose purge date is ahead are untouched; the logs count each purge
#     once; GET and recover of a purged one answer Key Vault's 404.
. "$(dirname "$0")/lib.sh"

API=7.5
P=tfk-$(cv_random_hex 3)
HOST=$CERTVAULT_VAULT_HOST
PORT=$CERTVAULT_HTTPS_PORT
SPEC=RSA-3072
TARGET=32		# the test's key_pool_size (of SPEC): ~6 s of key generation
NX=120			# certificates to purge
TRIG=tfk_slow_${P#tfk-}

# Whatever happens: our workers killed, trigger and rows gone, the stack's
# worker running again with its own settings.
t_on_exit "t_psql \"DELETE FROM certificates WHERE name LIKE '$P-%'\" >/dev/null 2>&1"
# The stack does not pool SPEC (unless configured to): what is left goes.
case ",$(sed -n 's/^key_pool_types *= *//p' "$CERTVAULT_CONFIG" | tr -d ' ')," in
	*",$SPEC,"*) ;;
	*) t_on_exit "t_psql \"DELETE FROM key_pool WHERE key_spec = '$SPEC'\" >/dev/null 2>&1" ;;
esac
t_on_exit "t_psql \"DROP TRIGGER IF EXISTS $TRIG ON certificates; DROP FUNCTION IF EXISTS $TRIG()\" >/dev/null 2>&1"
t_on_exit 'stack_restore >/dev/null 2>&1'
t_on_exit 'for w in A B P Q; do wkill "$w"; done'

ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# wstart NAME [CONFIG]: a certvault-worker of this test (pid file and log
# $T_TMP/NAME.*), started as the stack starts its own.
wstart() {
	CV_CONFIG=${2:-$CERTVAULT_CONFIG} cv_worker_start "$T_TMP/$1.pid" "$T_TMP/$1.log" 2>/dev/null
}
# wkill NAME: SIGKILL, reaped; no pid file left behind.
wkill() {
	local pid
	pid=$(cv_pid_of "$T_TMP/$1.pid")
	if [ -n "$pid" ] && cv_proc_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -f "$T_TMP/$1.pid"
}
logsum() { cat "$@" 2>/dev/null | sed -n "s/.*job $JOB: \([0-9]*\) done.*/\1/p" | awk '{ s += $1 } END { print s + 0 }'; }

(umask 077 && printf 'Authorization: Bearer %s\n' "$CERTVAULT_TOKEN" >"$T_TMP/auth")
# batch METHOD OUT_PREFIX [BODY_FILE] -- PATH...: one curl, one connection,
# a request per PATH; prints one status a line; bodies in OUT_PREFIX.N.
batch() {
	local method=$1 out=$2 body=$3 args=() i=0 path
	shift 4
	for path in "$@"; do
		i=$((i + 1))
		[ "$i" -gt 1 ] && args+=(--next)
		args+=(-sS -X "$method" -o "$out.$i" -w '%{http_code}\n' --cacert "$CERTVAULT_CA"
			--resolve "$HOST:$PORT:127.0.0.1" -H "@$T_TMP/auth")
		[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "@$body")
		args+=("https://$HOST:$PORT$path")
	done
	curl "${args[@]}" 2>/dev/null
}

# The stack's own worker would refill and purge too: stopped for the test.
cv_worker_stop 2>/dev/null
assert_true "the stack's certvault-worker is stopped for the test" eval '! cv_pid_running "$CERTVAULT_WORKER_PIDFILE" certvault-worker'

# === (a) the key pool =================================================================
JOB=key-pool
depth() { t_psql "SELECT count(*) FROM key_pool WHERE key_spec = '$SPEC'"; }
sed -e '/^key_pool_size/d' -e '/^key_pool_types/d' -e '/^worker_interval/d' "$CERTVAULT_CONFIG" >"$T_TMP/pool.conf"
printf '%s\n' "key_pool_size = $TARGET" "key_pool_types = $SPEC" 'worker_interval = 1' >>"$T_TMP/pool.conf"
diag "key pool: this test's workers keep key_pool_size = $TARGET $SPEC keys"
t_psql "DELETE FROM key_pool WHERE key_spec = '$SPEC'" >/dev/null
assert_eq 0 "$(depth)" "the $SPEC pool is empty"

wstart A "$T_TMP/pool.conf"
wstart B "$T_TMP/pool.conf"
kills=0
trace=
t_end=$(($(ms) + 25000))
while [ "$kills" -lt 25 ] && [ "$(ms)" -lt "$t_end" ]; do
	sleep "0.$((RANDOM % 3 + 1))"
	d=$(depth)
	# The refill is nearly done: the workers finish it undisturbed.
	[ "$d" -ge $((TARGET - 2)) ] && break
	if [ $((RANDOM % 2)) = 0 ]; then w=A; else w=B; fi
	wkill "$w"
	kills=$((kills + 1))
	trace+="$w@$d "
	wstart "$w" "$T_TMP/pool.conf"
done
diag "$kills kills (worker@depth): $trace"
assert_true "certvault-worker was killed during the refill ($kills times)" test "$kills" -ge 4
full() { [ "$(depth)" -ge "$TARGET" ]; }
if wait_until 40 full; then ok "the two workers finish the refill: $(depth) keys"; else fail "the refill finishes" "depth $(depth)"; fi
sleep 2.5	# two more passes of each worker
assert_eq "$TARGET" "$(depth)" "the pool holds exactly key_pool_size = $TARGET keys (no overshoot), passes later too"
cv_worker_stop "$T_TMP/A.pid" 2>/dev/null
cv_worker_stop "$T_TMP/B.pid" 2>/dev/null
assert_eq "$TARGET" "$(depth)" "… and after both stopped"
logged=$(logsum "$T_TMP/A.log" "$T_TMP/B.log")
diag "the workers' logs count $logged keys added (a key added just before a kill is not logged)"
assert_true "the logs count no more keys than the pool holds ($logged ≤ $TARGET): none added twice" test "$logged" -le "$TARGET"
assert_eq "$TARGET $TARGET $TARGET" "$(t_psql "SELECT count(*) || ' ' || count(DISTINCT key_uid) || ' ' || count(DISTINCT public_key)
	FROM key_pool WHERE key_spec = '$SPEC'")" "every pooled key is unique: uid and public key"
assert_eq 0 "$(t_psql "SELECT count(*) FROM key_pool WHERE key_spec = '$SPEC' AND (master_key_id IS NULL
	OR octet_length(seal_nonce) <> 12 OR octet_length(sealed_private_key) <= 16 OR get_byte(public_key, 0) <> 48
	OR kty <> 'RSA' OR key_size <> 3072)")" "every pooled row is whole (sealed key, nonce, public key, type)"
assert_eq 1 "$(t_psql "SELECT count(DISTINCT master_key_id) FROM key_pool WHERE key_spec = '$SPEC'")" \
	"… all sealed under one master key"
assert_eq 0 "$(t_psql "SELECT count(*) FROM key_pool p JOIN keys k ON k.key_uid = p.key_uid")" \
	"no pooled key was also given to a certificate"

# Every pooled key goes to a certificate: a create takes the oldest.
t_psql "SELECT key_uid || ' ' || encode(public_key, 'hex') FROM key_pool WHERE key_spec = '$SPEC' ORDER BY id" >"$T_TMP/pool.before"
paths=()
for i in $(seq 1 "$TARGET"); do paths+=("/certificates/$P-k$i/create?api-version=$API"); done
printf '%s' '{"policy":{"key_props":{"kty":"RSA","key_size":3072},"x509_props":{"subject":"CN=pooled.example"},"issuer":{"name":"Self"}}}' \
	>"$T_TMP/create.json"
st=$(batch POST "$T_TMP/c" "$T_TMP/create.json" -- "${paths[@]}" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
assert_eq " $TARGET 202," "$st" "$TARGET creates of $SPEC certificates: all 202"
assert_eq 0 "$(depth)" "… they took every pooled key"
t_psql "SELECT k.key_uid || ' ' || encode(k.public_key, 'hex') FROM keys k JOIN certificates c ON c.id = k.certificate_id
	WHERE c.name LIKE '$P-k%' ORDER BY k.key_uid" >"$T_TMP/taken"
assert_eq "$(sort "$T_TMP/pool.before" | sha1sum)" "$(sha1sum <"$T_TMP/taken")" \
	"the certificates' keys are exactly the pooled keys (uid and public key; $(wc -l <"$T_TMP/taken") and $(wc -l <"$T_TMP/pool.before"))"
paths=()
for i in $(seq 1 "$TARGET"); do paths+=("/certificates/$P-k$i?api-version=$API"); done
batch GET "$T_TMP/g" "" -- "${paths[@]}" >/dev/null
bad=
for i in $(seq 1 "$TARGET"); do
	jq -r .cer "$T_TMP/g.$i" 2>/dev/null | base64 -d >"$T_TMP/k.der" 2>/dev/null
	openssl x509 -inform der -in "$T_TMP/k.der" -out "$T_TMP/k.pem" 2>/dev/null
	spki=$(openssl x509 -in "$T_TMP/k.pem" -pubkey -noout 2>/dev/null | openssl pkey -pubin -outform der 2>/dev/null |
		od -An -v -tx1 | tr -d ' \n')
	uid=$(t_psql "SELECT k.key_uid || ' ' || encode(k.public_key, 'hex') FROM keys k JOIN certificates c
		ON c.id = k.certificate_id WHERE c.name = '$P-k$i'")
	if [ -z "$spki" ] || ! grep -qx "${uid%% *} $spki" "$T_TMP/pool.before"; then
		bad+="$P-k$i: public key is not its pooled key; "
	elif ! openssl verify -check_ss_sig -partial_chain -trusted "$T_TMP/k.pem" "$T_TMP/k.pem" >/dev/null 2>&1; then
		bad+="$P-k$i: the self-signature does not verify; "
	fi
done
assert_eq "" "$bad" "every certificate is for its pooled public key and signed by its unsealed private key"
kv_curl GET "/keys/$P-k1?api-version=$API"
assert_status 200 "GET /keys of one: 200"

# === (b) purges =========================================================================
JOB=purge-expired
POLICY='{"policy":{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=purge.example"},"issuer":{"name":"Self"}}}'
printf '%s' "$POLICY" >"$T_TMP/ec.json"
paths=()
for i in $(seq 1 "$NX"); do paths+=("/certificates/$P-x$i/create?api-version=$API"); done
for n in keep1 keep2 later1 later2; do paths+=("/certificates/$P-$n/create?api-version=$API"); done
st=$(batch POST "$T_TMP/x" "$T_TMP/ec.json" -- "${paths[@]}" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
assert_eq " $((NX + 4)) 202," "$st" "$((NX + 4)) certificates created"
paths=()
for i in $(seq 1 "$NX"); do paths+=("/certificates/$P-x$i?api-version=$API"); done
for n in later1 later2; do paths+=("/certificates/$P-$n?api-version=$API"); done
st=$(batch DELETE "$T_TMP/d" "" -- "${paths[@]}" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
assert_eq " $((NX + 2)) 200," "$st" "$((NX + 2)) of them deleted (soft: recoverable)"
# Due now: NX of them; the two "later" ones keep their purge date.
t_psql "UPDATE certificates SET deleted_at = now() - interval '2 seconds',
	scheduled_purge_at = now() - interval '1 second' WHERE name LIKE '$P-x%'" >/dev/null
IDS=$(t_psql "SELECT string_agg(id::text, ',') FROM certificates WHERE name LIKE '$P-x%'")
# (DELETE took their pending operations already.)
assert_eq "$NX $NX 0" "$(t_psql "SELECT (SELECT count(*) FROM certificate_versions WHERE certificate_id IN ($IDS)) || ' ' ||
	(SELECT count(*) FROM keys WHERE certificate_id IN ($IDS)) || ' ' ||
	(SELECT count(*) FROM pending_operations WHERE certificate_id IN ($IDS))")" \
	"each has a version and a key (and no pending operation: DELETE removed it)"
others=$(t_psql "SELECT count(*) FROM certificates WHERE deleted_at IS NOT NULL
	AND scheduled_purge_at <= now() + interval '2 minutes' AND name NOT LIKE '$P-%'")
remaining() { t_psql "SELECT count(*) FROM certificates WHERE name LIKE '$P-x%'"; }
# The fault injection: 20 ms per purged certificate of this test.
psql -X -q -v ON_ERROR_STOP=1 -d "$CERTVAULT_DATABASE_URL" >/dev/null 2>&1 <<EOF
CREATE FUNCTION $TRIG() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN PERFORM pg_sleep(0.02); RETURN OLD; END \$\$;
CREATE TRIGGER $TRIG BEFORE DELETE ON certificates FOR EACH ROW
    WHEN (OLD.name LIKE '$P-x%') EXECUTE FUNCTION $TRIG();
EOF
assert_eq 1 "$(t_psql "SELECT count(*) FROM pg_trigger WHERE tgname = '$TRIG'")" "test trigger: 20 ms per delete"

# A purge is under way: a session runs the purge's DELETE.
purging() {
	[ "$(t_psql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND pid <> pg_backend_pid() AND query LIKE 'DELETE FROM certificates WHERE id = \$1%'
		AND state = 'active'")" -gt 0 ]
}
r0=$(remaining)
trace=
inside=0
for k in 1 2 3 4 5 6; do
	wstart P
	if ! wait_until 10 purging; then
		fail "kill $k: the worker began purging" "remaining $(remaining)"
		continue
	fi
	sleep "0.$((RANDOM % 6))"
	wkill P
	# Its session ends once the current delete has run (20 ms).
	wait_until 5 eval '! purging'
	r=$(remaining)
	trace+="$r "
	[ "$r" = "$r0" ] && inside=$((inside + 1))
done
diag "remaining after each of the 6 kills: $trace(of $r0)"
assert_eq 6 "$inside" "every kill inside a purge transaction rolled it back whole ($inside of 6)"
# Two workers left alone (SKIP LOCKED shares the work out) finish it.
wstart P
wstart Q
gone() { [ "$(remaining)" = 0 ]; }
t0=$(ms)
if wait_until 30 gone; then ok "two workers left alone purge all $NX ($(($(ms) - t0)) ms)"; else fail "all purged" "remaining $(remaining)"; fi
cv_worker_stop "$T_TMP/P.pid" 2>/dev/null
cv_worker_stop "$T_TMP/Q.pid" 2>/dev/null
t_psql "DROP TRIGGER IF EXISTS $TRIG ON certificates; DROP FUNCTION IF EXISTS $TRIG()" >/dev/null

assert_eq "0 0 0 0" "$(t_psql "SELECT (SELECT count(*) FROM certificate_versions WHERE certificate_id IN ($IDS)) || ' ' ||
	(SELECT count(*) FROM keys WHERE certificate_id IN ($IDS)) || ' ' ||
	(SELECT count(*) FROM pending_operations WHERE certificate_id IN ($IDS)) || ' ' ||
	(SELECT count(*) FROM lifetime_action_runs WHERE certificate_id IN ($IDS))")" \
	"nothing left of them: versions, keys, pending operations, lifetime runs"
assert_eq "2 2" "$(t_psql "SELECT count(*) || ' ' || count(v.id) FROM certificates c
	LEFT JOIN certificate_versions v ON v.certificate_id = c.id WHERE c.name IN ('$P-keep1', '$P-keep2') AND c.deleted_at IS NULL")" \
	"the live certificates are untouched"
assert_eq "2 2" "$(t_psql "SELECT count(*) || ' ' || count(v.id) FROM certificates c
	LEFT JOIN certificate_versions v ON v.certificate_id = c.id WHERE c.name IN ('$P-later1', '$P-later2') AND c.deleted_at IS NOT NULL")" \
	"the deleted ones whose purge date is ahead are untouched"
logged=$(logsum "$T_TMP/P.log" "$T_TMP/Q.log")
diag "the workers' logs count $logged purged: $(logsum "$T_TMP/P.log") and $(logsum "$T_TMP/Q.log") ($others other certificates were due)"
assert_true "the log counts every purge once: $NX ≤ $logged ≤ $((NX + others))" \
	test "$logged" -ge "$NX" -a "$logged" -le $((NX + others))
paths=()
for i in $(seq 1 "$NX"); do paths+=("/deletedcertificates/$P-x$i?api-version=$API"); done
st=$(batch GET "$T_TMP/dg" "" -- "${paths[@]}" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
assert_eq " $NX 404," "$st" "GET /deletedcertificates of each: 404"
kv_curl GET "/deletedcertificates/$P-x7?api-version=$API"
assert_kv_error 404 CertificateNotFound "Deleted Certificate not found: $P-x7" "GET a purged one"
kv_curl POST "/deletedcertificates/$P-x8/recover?api-version=$API" --data-binary ""
assert_kv_error 404 CertificateNotFound "Deleted Certificate not found: $P-x8" "recover a purged one"
kv_curl GET "/certificates/$P-x9?api-version=$API"
assert_kv_error 404 CertificateNotFound "" "GET /certificates of a purged one"
kv_curl GET "/deletedcertificates/$P-later1?api-version=$API"
assert_status 200 "GET /deletedcertificates of one whose purge date is ahead: 200"

# === the stack as found ====================================================================
stack_restore >/dev/null 2>&1
assert_true "the stack's certvault-worker runs again" cv_pid_running "$CERTVAULT_WORKER_PIDFILE" certvault-worker

t_done
