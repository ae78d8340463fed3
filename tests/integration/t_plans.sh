#!/usr/bin/env bash
# Plans of the hot statements on a million certificates (issue 7): in a
# database of its own (certvault_plans, dropped at the end) with the
# schema of sql/, one vault of 1,000,000 certificates — one issued
# version and its key each; 1% soft-deleted; 1% with an operation in
# progress (a pending version and key), some of them issuer-backed, a few
# due; 1% with a completed operation — plus two certificates with 1,000
# versions each (one soft-deleted), a handful of issuers and a small key
# pool, vacuumed and analysed. Each statement of the read routes, the
# create and merge paths and the worker's claims is PREPAREd exactly as
# store_db.c has it (tests/plans/stmt_dump), planned generic
# (plan_cache_mode = force_generic_plan: what a prepared statement ends up
# with) and run with EXPLAIN (ANALYZE, BUFFERS) in a transaction that is
# rolled back. Each must return the rows it should and
#   - scan none of certificates, certificate_versions, keys and
#     pending_operations sequentially,
#   - touch at most MAX_BUFFERS shared buffers (hit + read),
#   - discard at most MAX_REMOVED rows in filters on those tables or on
#     joins (by filter, join filter, index recheck; times loops): a
#     handful, never a share of the vault. Two lookups of one version of
#     a certificate with 1,000 versions may discard its other versions,
#     and only those: with one version per certificate in the statistics,
#     the planner reads a certificate's versions by
#     (certificate_id, created_at, id) rather than by the unique
#     (certificate_id, version), equal in its eyes. That costs one
#     certificate's history, not the vault.
# No timing is asserted. The plans, one line a node, are in the log and in
# $CERTVAULT_HOME/test/plans.txt.
#
# T_PLANS_CERTS overrides the number of certificates (a quicker look; a
# multiple of 200).
. "$(dirname "$0")/lib.sh"

N=${T_PLANS_CERTS:-1000000}
HEAVY=1000		# versions of Many-Versions and of Many-Deleted
MAX_BUFFERS=400
MAX_REMOVED=100
DB=certvault_plans
DUMP=$CERTVAULT_BUILD_DIR/tests/plans/stmt_dump
PLANS=$CERTVAULT_HOME/test/plans.txt
T0=$SECONDS

[ -x "$DUMP" ] || bail "$DUMP is not built (make check builds it)"
"$DUMP" >"$T_TMP/stmts.tsv" || bail "stmt_dump failed"

# A database of its own (one a killed run left behind goes first).
cv_pg_superuser_psql -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
cv_pg_superuser_psql -c "CREATE DATABASE $DB OWNER certvault" >/dev/null ||
	bail "cannot create database $DB"
t_on_exit "cv_pg_superuser_psql -c 'DROP DATABASE IF EXISTS $DB WITH (FORCE)' >/dev/null 2>&1"
URL=${CERTVAULT_DATABASE_URL%/*}/$DB
sed "s|^database_url *=.*|database_url = $URL|" "$CERTVAULT_CONFIG" >"$T_TMP/plans.conf"
if ! env -u CERTVAULT_DATABASE_URL -u CERTVAULT_CONFIG "$CERTVAULT_BUILD_DIR/src/certvault-admin" \
	--config "$T_TMP/plans.conf" migrate --sql-dir "$CERTVAULT_SRC_DIR/sql" >"$T_TMP/migrate.out" 2>&1; then
	bail "certvault-admin migrate of $DB failed: $(tail -n 5 "$T_TMP/migrate.out")"
fi
plans_psql() { psql -X -q -v ON_ERROR_STOP=1 -tA -d "$URL" "$@"; }

# --- the data: set-based, one INSERT per table ----------------------------------
# Certificate g (1..N) has id g, key g and issued version g; names are
# md5-scattered (insertion order is not name order), a third upper case.
# g % 100 = 50: soft-deleted (purge due in the future). g % 100 = 7: an
# operation in progress on pending version N+g (key N+g); of those,
# g % 700 = 7 are issuer-backed (LocalCA) and leased for an hour, and
# g % 7000 = 7 are due now. g % 100 = 13: a completed operation.
#
# The three big tables load at the same time, each in a superuser session
# with session_replication_role = replica: its rows reference rows the
# others are still writing, so the foreign-key triggers are off there (the
# ids are consistent by construction); CHECK constraints and indexes work
# as always. The rest goes through certvault, the tables' owner.
plans_psql >"$T_TMP/load0.out" 2>&1 <<'EOF' || bail "loading the vaults failed: $(tail -n 5 "$T_TMP/load0.out")"
INSERT INTO vaults (name, host, is_default) VALUES
    ('plans', 'plans.vault.localhost', true),
    ('other', 'other.vault.localhost', false), ('third', NULL, false);
INSERT INTO access_tokens (vault_id, name, token_hash, permissions)
SELECT v.id, 'plans-' || g, sha256(convert_to('token-' || v.name || '-' || g, 'UTF8')),
       ARRAY['get', 'list', 'create']
  FROM vaults v, generate_series(1, 5) g;
INSERT INTO issuers (vault_id, name, provider, requires_approval)
SELECT v.id, 'issuer-' || g, 'LocalCA', g = 3
  FROM vaults v, generate_series(1, 5) g WHERE v.name = 'plans';
EOF
# load NAME: the SQL on stdin in a loading session of its own, in the
# background (LOADS collects the pids).
LOADS=()
load() {
	{
		printf 'SET session_replication_role = replica;\n'
		cat
	} >"$T_TMP/$1.sql"
	cv_pg_superuser_psql -d "$DB" -v n="$N" <"$T_TMP/$1.sql" >"$T_TMP/$1.out" 2>&1 &
	LOADS+=("$!:$1")
}
load certificates <<'EOF'
INSERT INTO certificates (id, vault_id, name, policy, created_at, policy_updated_at,
                          updated_at, deleted_at, scheduled_purge_at, recovery_id)
OVERRIDING SYSTEM VALUE
SELECT g, v.id,
       CASE WHEN g % 3 = 0 THEN upper(substr(md5(g::text), 1, 10))
            ELSE substr(md5(g::text), 1, 10) END || '-' || g,
       '{"key_props":{"kty":"EC","crv":"P-256","exportable":true,"reuse_key":false},
         "secret_props":{"contentType":"application/x-pkcs12"},
         "x509_props":{"subject":"CN=plans.example","sans":{"dns_names":["plans.example"]},
                       "validity_months":12},
         "lifetime_actions":[{"trigger":{"lifetime_percentage":80},"action":{"action_type":"AutoRenew"}}],
         "issuer":{"name":"Self"},"attributes":{"enabled":true}}',
       t, t, t,
       CASE WHEN g % 100 = 50 THEN now() - (g % 80) * interval '1 day' END,
       CASE WHEN g % 100 = 50 THEN now() - (g % 80) * interval '1 day' + interval '90 days' END,
       CASE WHEN g % 100 = 50 THEN md5('r' || g) END
  FROM vaults v, generate_series(1, :n) g,
       LATERAL (SELECT timestamptz '2025-01-01' + g * interval '10 seconds' AS t) ts
 WHERE v.name = 'plans';
EOF
load keys <<'EOF'
INSERT INTO keys (id, key_uid, certificate_id, kty, key_size, curve, exportable,
                  public_key, sealed_private_key, seal_nonce, master_key_id, created_at)
OVERRIDING SYSTEM VALUE
SELECT k, md5('k' || k)::uuid, c, 'EC', 256, 'P-256', true,
       '\x3059301306072a8648ce3d020106082a8648ce3d030107034200'::bytea,
       '\x000102030405060708090a0b0c0d0e0f10111213'::bytea,
       '\x000102030405060708090a0b'::bytea, 'plans',
       timestamptz '2025-01-01' + c * interval '10 seconds'
  FROM (SELECT g, g FROM generate_series(1, :n) g
        UNION ALL SELECT :n + g, g FROM generate_series(7, :n, 100) g) s(k, c);
EOF
load versions <<'EOF'
INSERT INTO certificate_versions (id, certificate_id, version, key_id, certificate_der,
                                  x5t, serial_number, subject, not_before, not_after,
                                  created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT g, g, md5('v' || g), g, '\x30820100'::bytea,
       decode(substr(md5('x' || g) || md5('y' || g), 1, 40), 'hex'), '\x01'::bytea,
       'CN=plans.example', t, t + interval '1 year', t, t
  FROM generate_series(1, :n) g,
       LATERAL (SELECT timestamptz '2025-01-01' + g * interval '10 seconds' AS t) ts
UNION ALL
SELECT :n + g, g, md5('p' || g), :n + g, NULL, NULL, NULL, NULL, NULL, NULL,
       timestamptz '2026-06-01' + g * interval '1 second',
       timestamptz '2026-06-01' + g * interval '1 second'
  FROM generate_series(7, :n, 100) g;
INSERT INTO pending_operations (certificate_id, target_version_id, request_id, issuer_name,
                                issuer_provider, csr, status, finished_at, next_attempt_at)
SELECT g, :n + g, md5('q' || g),
       CASE WHEN g % 700 = 7 THEN 'issuer-' || (1 + g % 5) ELSE 'Unknown' END,
       CASE WHEN g % 700 = 7 THEN 'LocalCA' END, '\x30820100'::bytea, 'inProgress', NULL,
       CASE WHEN g % 700 = 7 THEN now() + CASE WHEN g % 7000 = 7 THEN interval '-1 minute'
                                                ELSE interval '1 hour' END END
  FROM generate_series(7, :n, 100) g
UNION ALL
SELECT g, g, md5('q' || g), 'Self', NULL, '\x30820100'::bytea, 'completed', now(), NULL
  FROM generate_series(13, :n, 100) g;
EOF
for l in "${LOADS[@]}"; do
	wait "${l%%:*}" || bail "loading ${l#*:} failed: $(tail -n 5 "$T_TMP/${l#*:}.out")"
done
plans_psql -v heavy="$HEAVY" >"$T_TMP/load1.out" 2>&1 <<'EOF' || bail "loading the rest failed: $(tail -n 5 "$T_TMP/load1.out")"
-- The identities were given explicitly: the next inserts continue after them.
SELECT setval(pg_get_serial_sequence('certificates', 'id'), (SELECT max(id) FROM certificates));
SELECT setval(pg_get_serial_sequence('keys', 'id'), (SELECT max(id) FROM keys));
SELECT setval(pg_get_serial_sequence('certificate_versions', 'id'),
              (SELECT max(id) FROM certificate_versions));
-- Renewed every three days for eight years: one key, HEAVY versions; one
-- of the two is soft-deleted.
INSERT INTO certificates (vault_id, name, policy, deleted_at, scheduled_purge_at, recovery_id)
SELECT v.id, n, '{"issuer":{"name":"Self"}}',
       CASE WHEN n = 'Many-Deleted' THEN now() END,
       CASE WHEN n = 'Many-Deleted' THEN now() + interval '90 days' END,
       CASE WHEN n = 'Many-Deleted' THEN md5(n) END
  FROM vaults v, unnest(ARRAY['Many-Versions', 'Many-Deleted']) n WHERE v.name = 'plans';
INSERT INTO keys (key_uid, certificate_id, kty, key_size, curve, exportable, public_key,
                  sealed_private_key, seal_nonce, master_key_id)
SELECT md5(name)::uuid, id, 'EC', 256, 'P-256', true, '\x3059'::bytea,
       '\x000102030405060708090a0b0c0d0e0f10111213'::bytea,
       '\x000102030405060708090a0b'::bytea, 'plans'
  FROM certificates WHERE name IN ('Many-Versions', 'Many-Deleted');
INSERT INTO certificate_versions (certificate_id, version, key_id, certificate_der, x5t,
                                  serial_number, subject, not_before, not_after,
                                  created_at, updated_at)
SELECT c.id, md5(c.name || g), k.id, '\x30820100'::bytea,
       decode(substr(md5('x' || c.name || g) || md5('y' || c.name || g), 1, 40), 'hex'),
       '\x02'::bytea, 'CN=many.example', t, t + interval '6 days', t, t
  FROM certificates c JOIN keys k ON k.certificate_id = c.id, generate_series(1, :heavy) g,
       LATERAL (SELECT timestamptz '2018-01-01' + g * interval '3 days' AS t) ts
 WHERE c.name IN ('Many-Versions', 'Many-Deleted');
INSERT INTO key_pool (key_uid, kty, key_size, curve, public_key, sealed_private_key,
                      seal_nonce, master_key_id)
SELECT md5('pool' || g)::uuid, CASE WHEN g % 2 = 0 THEN 'RSA' ELSE 'EC' END,
       CASE WHEN g % 2 = 0 THEN 2048 ELSE 256 END, CASE WHEN g % 2 = 1 THEN 'P-256' END,
       '\x3082'::bytea, '\x000102030405060708090a0b0c0d0e0f10111213'::bytea,
       '\x000102030405060708090a0b'::bytea, 'plans'
  FROM generate_series(1, 64) g;
EOF
T_LOAD=$((SECONDS - T0))
plans_psql -c "VACUUM (ANALYZE) vaults, access_tokens, issuers, certificates, keys,
	certificate_versions, pending_operations, key_pool" >"$T_TMP/vacuum.out" 2>&1 ||
	bail "VACUUM ANALYZE failed: $(tail -n 5 "$T_TMP/vacuum.out")"
T_VACUUM=$((SECONDS - T0 - T_LOAD))
assert_eq "$((N + 2))" "$(plans_psql -c "SELECT count(*) FROM certificates")" \
	"$((N + 2)) certificates loaded in ${T_LOAD}s, vacuumed and analysed in ${T_VACUUM}s"

# --- parameters: real rows of the data ------------------------------------------
IFS='|' read -r V NAME PENDING DELETED MID DMID OP TARGET <<<"$(plans_psql -c "
	SELECT (SELECT id FROM vaults WHERE name = 'plans'),
	       (SELECT name FROM certificates WHERE id = $N / 2),
	       (SELECT name FROM certificates WHERE id = $N / 2 + 7),
	       (SELECT name FROM certificates WHERE id = $N / 2 + 50),
	       (SELECT name FROM certificates WHERE vault_id = v.id AND deleted_at IS NULL
	         AND lower(name) >= '8' ORDER BY lower(name) LIMIT 1),
	       (SELECT name FROM certificates WHERE vault_id = v.id AND deleted_at IS NOT NULL
	         AND lower(name) >= '8' ORDER BY lower(name) LIMIT 1),
	       p.id, p.target_version_id
	  FROM vaults v, pending_operations p
	 WHERE v.name = 'plans' AND p.certificate_id = $N / 2 + 7")"
[ -n "$TARGET" ] || bail "cannot find the parameters in $DB"
VERSION=$(printf 'v%d' $((N / 2)) | md5sum | cut -c1-32)
HEAVY_MID=$(printf 'Many-Versions%d' $((HEAVY / 2)) | md5sum | cut -c1-32)
HOST=plans.vault.localhost
TOKEN_HASH="sha256(convert_to('token-plans-1', 'UTF8'))"
POLICY="'{\"issuer\":{\"name\":\"Self\"}}'"

# --- the checks -----------------------------------------------------------------

# Compact text of a JSON plan: one line a node, indented, with its
# relation, index, rows, loops, buffers, conditions and what filters
# discarded (times loops).
RENDER='
def removed: ((."Rows Removed by Filter" // 0) + (."Rows Removed by Join Filter" // 0)
	+ (."Rows Removed by Index Recheck" // 0)) * ."Actual Loops";
def node(d):
	(("  " * d) + ."Node Type"
	+ (if ."Subplan Name" then " [" + ."Subplan Name" + "]" else "" end)
	+ (if ."Index Name" then " using " + ."Index Name" else "" end)
	+ (if ."Relation Name" then " on " + ."Relation Name"
		+ (if .Alias and .Alias != ."Relation Name" then " " + .Alias else "" end) else "" end)
	+ " (rows=\(."Actual Rows") loops=\(."Actual Loops") buffers=\(."Shared Hit Blocks" + ."Shared Read Blocks"))"
	+ (if ."Index Cond" then " index: " + ."Index Cond" else "" end)
	+ (if ."Recheck Cond" then " recheck: " + ."Recheck Cond" else "" end)
	+ (if ."Join Filter" then " join filter: " + ."Join Filter" else "" end)
	+ (if .Filter then " filter: " + .Filter else "" end)
	+ (if removed > 0 then " removed=\(removed)" else "" end)),
	(.Plans // [] | .[] | node(d + 1));
.[0].Plan | node(0)'
# rows buffers removed seq-scanned-tables (removed: on the big tables and
# on joins, not on vaults, issuers, key_pool and the like)
# shellcheck disable=SC2016 # a jq program: $p is jq's
SUMMARY='
def big: IN("certificates", "certificate_versions", "keys", "pending_operations");
def removed: ((."Rows Removed by Filter" // 0) + (."Rows Removed by Join Filter" // 0)
	+ (."Rows Removed by Index Recheck" // 0)) * ."Actual Loops";
.[0].Plan as $p
| [$p."Actual Rows", $p."Shared Hit Blocks" + $p."Shared Read Blocks",
   ([.. | objects | select(has("Actual Loops"))
	| select(."Relation Name" == null or (."Relation Name" | big)) | removed] | add // 0 | floor),
   ([.. | objects | select(."Node Type" == "Seq Scan" and (."Relation Name" | big))
	| ."Relation Name"] | unique | join(",") | if . == "" then "-" else . end)]
| map(tostring) | join(" ")'

: >"$PLANS"
# check STMT LABEL ROWS PARAMS: the generic plan of STMT run with PARAMS
# (SQL expressions) returns ROWS rows within the bounds above
# (T_MAX_REMOVED=N check …: another bound on rows removed).
check() {
	local max_removed=${T_MAX_REMOVED:-$MAX_REMOVED}
	local stmt=$1 label=$2 want=$3 params=$4 sql json rows buffers removed seq text why=()
	sql=$(awk -F'\t' -v n="$stmt" '$1 == n { sub(/^[^\t]*\t/, ""); print; exit }' "$T_TMP/stmts.tsv")
	if [ -z "$sql" ]; then
		fail "$stmt ($label): not in stmt_dump's output"
		return
	fi
	if ! json=$(plans_psql 2>&1 <<EOF
BEGIN;
PREPARE s AS $sql;
SET LOCAL plan_cache_mode = force_generic_plan;
EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE s${params:+($params)};
ROLLBACK;
EOF
	); then
		fail "$stmt ($label): EXPLAIN failed" "$json"
		return
	fi
	read -r rows buffers removed seq <<<"$(printf '%s' "$json" | jq -r "$SUMMARY")"
	text=$(printf '%s' "$json" | jq -r "$RENDER")
	{
		printf '%s (%s): %s row(s), %s buffers, %s removed by filters\n' \
			"$stmt" "$label" "$rows" "$buffers" "$removed"
		printf '%s\n\n' "$text" | sed 's/^/  /'
	} >>"$PLANS"
	[ "$rows" = "$want" ] || why+=("returned $rows rows, expected $want")
	[ "$seq" = - ] || why+=("Seq Scan on $seq")
	[ "$buffers" -le "$MAX_BUFFERS" ] || why+=("$buffers buffers > $MAX_BUFFERS")
	[ "$removed" -le "$max_removed" ] || why+=("$removed rows removed by filters > $max_removed")
	if [ "${#why[@]}" -eq 0 ]; then
		ok "$stmt ($label): $rows row(s), $buffers buffers, $removed removed, no Seq Scan"
		diag "$text"
	else
		fail "$stmt ($label): $(IFS=';' && echo "${why[*]}")" "$text"
	fi
}

# Every request.
check STMT_VAULT_RESOLVE "Host and token" 1 "'$HOST', $TOKEN_HASH"
# GET /certificates/{name}[/{version}], /pending, /policy, /secrets.
check STMT_VERSION_GET "latest" 1 "$V, '$NAME', ''"
check STMT_VERSION_GET "by version" 1 "$V, '$NAME', '$VERSION'"
check STMT_VERSION_GET "latest while one is pending" 1 "$V, '$PENDING', ''"
check STMT_VERSION_GET "latest of $HEAVY versions" 1 "$V, 'many-versions', ''"
T_MAX_REMOVED=$HEAVY check STMT_VERSION_GET "one of $HEAVY versions" 1 "$V, 'many-versions', '$HEAVY_MID'"
check STMT_PENDING_GET "operation in progress" 1 "$V, '$PENDING'"
check STMT_CERT_POLICY "policy" 1 "$V, '$NAME'"
check STMT_VERSION_KEY "secret, latest" 1 "$V, '$NAME', ''"
check STMT_VERSION_KEY "secret, latest of $HEAVY versions" 1 "$V, 'many-versions', ''"
# GET /certificates: the first page and one in the middle ($skiptoken).
check STMT_CERT_LIST "first page" 26 "$V, NULL, 26, false"
check STMT_CERT_LIST "middle page" 26 "$V, '$MID', 26, false"
check STMT_CERT_LIST "middle page, includePending" 26 "$V, '$MID', 26, true"
# GET /certificates/{name}/versions.
check STMT_CERT_VERSIONS "one version" 1 "$V, '$NAME', NULL, 26"
check STMT_CERT_VERSIONS "first page of $HEAVY" 26 "$V, 'many-versions', NULL, 26"
T_MAX_REMOVED=$HEAVY check STMT_CERT_VERSIONS "middle page of $HEAVY" 26 "$V, 'many-versions', '$HEAVY_MID', 26"
# GET /deletedcertificates[/{name}].
check STMT_DELETED_GET "deleted certificate" 1 "$V, '$DELETED'"
check STMT_DELETED_GET "deleted, latest of $HEAVY versions" 1 "$V, 'many-deleted'"
check STMT_DELETED_LIST "first page" 26 "$V, NULL, 26, false"
check STMT_DELETED_LIST "middle page" 26 "$V, '$DMID', 26, false"
# GET /certificates/issuers[/{name}].
check STMT_ISSUER_GET "issuer" 1 "$V, 'issuer-3'"
check STMT_ISSUER_LIST "first page" 5 "$V, NULL, 26"
check STMT_ISSUER_LIST "after a name" 3 "$V, 'issuer-2', 26"
# Create and import: the key, the lock row, the lock, what it protects.
check STMT_POOL_TAKE "RSA-2048" 1 "'RSA-2048'"
check STMT_CERT_ENSURE "existing name" 0 "$V, '$NAME', $POLICY"
check STMT_CERT_ENSURE "new name" 0 "$V, 'plans-new-certificate', $POLICY"
check STMT_CERT_LOCK "by name" 1 "$V, '$NAME'"
check STMT_CERT_LOCKED "with its operation" 1 "$((N / 2 + 7))"
check STMT_PENDING_DELETE "finished operation" 0 "$((N / 2 + 13))"
check STMT_CERT_SET_POLICY "policy" 0 "$((N / 2)), $POLICY"
# Merge: the pending version gets its certificate, the operation completes.
check STMT_VERSION_ISSUE "pending version" 0 "$TARGET, '\\x30820100'::bytea,
	decode(repeat('ab', 20), 'hex'), '\\x03'::bytea, 'CN=plans.example',
	1767225600, 1798761600, true, NULL"
check STMT_PENDING_COMPLETE "operation" 0 "$OP"
# certvault-worker: the next due operation, the purge.
check STMT_ISSUE_CLAIM "due operation" 1 "'plans-host:1', 30"
check STMT_JOB_PURGE_CLAIM "nothing due" 0 ""

diag "plans written to $PLANS; $((SECONDS - T0))s in all"
t_done
