#!/usr/bin/env bash
# certvault-admin and the schema: migrate is idempotent (also from an empty
# database), every table and column is commented, tokens are shown once and
# stored hashed, and bad input gets the documented exit codes (2: usage or
# invalid value, 1: refused by the database).
. "$(dirname "$0")/lib.sh"

SQL_DIR=$CERTVAULT_SRC_DIR/sql
URL=$CERTVAULT_DATABASE_URL
# admin ARG...: certvault-admin with the stack's configuration; sets OUT
# (stdout), ERR (stderr), RC.
admin() {
	OUT=$(cv_admin "$@" 2>"$T_TMP/admin.err")
	RC=$?
	ERR=$(cat "$T_TMP/admin.err")
}

# --- migrate -----------------------------------------------------------------
admin migrate --sql-dir "$SQL_DIR"
assert_eq 0 "$RC" "migrate on the migrated stack: exit 0"
assert_eq "schema up to date (0 migrations applied now)" "$OUT" "migrate again applies nothing"
files=$(for f in "$SQL_DIR"/[0-9][0-9][0-9]_*.sql; do basename "$f"; done | LC_ALL=C sort)
assert_eq "$files" "$(t_psql 'SELECT filename FROM schema_migrations ORDER BY filename')" \
	"schema_migrations records every sql/NNN_*.sql file"

# From an empty database: everything once, then nothing.
SCRATCH=t_admin_$$
cv_pg_superuser_psql -c "CREATE DATABASE $SCRATCH OWNER certvault" >/dev/null ||
	bail "cannot create a scratch database"
t_on_exit "cv_pg_superuser_psql -c 'DROP DATABASE IF EXISTS $SCRATCH' >/dev/null 2>&1"
SCRATCH_URL=${URL%/*}/$SCRATCH
sed "s|^database_url *=.*|database_url = $SCRATCH_URL|" "$CERTVAULT_CONFIG" >"$T_TMP/scratch.conf"
scratch_admin() {
	OUT=$(env -u CERTVAULT_DATABASE_URL -u CERTVAULT_CONFIG \
		"$CERTVAULT_BUILD_DIR/src/certvault-admin" --config "$T_TMP/scratch.conf" "$@" 2>"$T_TMP/admin.err")
	RC=$?
	ERR=$(cat "$T_TMP/admin.err")
}
n=$(printf '%s\n' "$files" | grep -c .)
scratch_admin migrate --sql-dir "$SQL_DIR"
assert_eq 0 "$RC" "migrate an empty database: exit 0"
mapfile -t file_list <<<"$files"
assert_eq "$(printf 'applied %s\n' "${file_list[@]}")
schema up to date ($n migrations applied now)" "$OUT" "migrate an empty database: every file, in order"
scratch_admin migrate --sql-dir "$SQL_DIR"
assert_eq "schema up to date (0 migrations applied now)" "$OUT" "… and a second run applies nothing"
out=$(psql -X -q -v ON_ERROR_STOP=1 -tA -d "$SCRATCH_URL" -f "$SQL_DIR/check_comments.sql" 2>&1)
assert_eq "0:" "$?:$out" "check_comments.sql on the fresh schema prints nothing"
scratch_admin vault list
assert_eq "NAME HOST DEFAULT RETENTION" "$(printf '%s' "$OUT" | tr -s ' ')" "fresh schema: vault list has only its header"

out=$(psql -X -q -v ON_ERROR_STOP=1 -tA -d "$URL" -f "$SQL_DIR/check_comments.sql" 2>&1)
assert_eq "0:" "$?:$out" "check_comments.sql on the stack's database prints nothing"

# --- vaults ------------------------------------------------------------------
admin vault list
assert_eq 0 "$RC" "vault list: exit 0"
assert_match "(^|"$'\n'")$CERTVAULT_VAULT_NAME +$CERTVAULT_VAULT_HOST +yes +90 days" "$OUT" \
	"vault list: $CERTVAULT_VAULT_NAME with its host, default, 90 days"

admin vault create 'bad_name!'
assert_eq 2 "$RC" "vault create with an invalid name: exit 2"
assert_match "vault name is 1 to 63 letters, digits and hyphens" "$ERR" "… says what a name is"
admin vault create "$(printf 'a%.0s' $(seq 1 64))"
assert_eq 2 "$RC" "vault create with a 64-character name: exit 2"
admin vault create t-admin --retention-days 3
assert_eq 2 "$RC" "vault create --retention-days 3: exit 2"
admin vault create "$CERTVAULT_VAULT_NAME"
assert_eq 1 "$RC" "vault create of an existing name: exit 1"
assert_match "already exists" "$ERR" "… says it already exists"
admin vault create "t-admin-$$" --host "$(echo "$CERTVAULT_VAULT_HOST" | tr '[:lower:]' '[:upper:]')"
assert_eq 1 "$RC" "vault create with another vault's host (other case): exit 1"
admin vault
assert_eq 2 "$RC" "vault without a subcommand: exit 2"
admin frobnicate
assert_eq 2 "$RC" "unknown command: exit 2"

# --- tokens ------------------------------------------------------------------
admin token create --vault "$CERTVAULT_VAULT_NAME" --name t_admin
assert_eq 0 "$RC" "token create: exit 0"
assert_match '^cv_[0-9a-f]{64}$' "$OUT" "token create prints the token alone on stdout"
TOKEN=$OUT
ID=$(printf '%s\n' "$ERR" | sed -n 's/^token \([0-9][0-9]*\) created for vault .*; it is shown only once$/\1/p')
assert_match '^[0-9]+$' "$ID" "token create says its id on stderr"
assert_eq 1 "$(t_psql "SELECT count(*) FROM access_tokens WHERE id = $ID AND token_hash = sha256(convert_to('$TOKEN', 'UTF8'))")" \
	"the database holds the SHA-256 of the token"
assert_eq 16 "$(t_psql "SELECT cardinality(permissions) FROM access_tokens WHERE id = $ID")" \
	"default permissions: all 16 certificate permissions"
assert_eq 0 "$(t_psql "SELECT count(*) FROM access_tokens t WHERE position('${TOKEN#cv_}' IN t::text) > 0")" \
	"the token appears nowhere in the access_tokens rows"

admin token list
assert_eq 0 "$RC" "token list: exit 0"
assert_match "(^|"$'\n'")$ID +$CERTVAULT_VAULT_NAME +t_admin " "$OUT" "token list shows the new token's id, vault and name"
assert_no_match 'cv_[0-9a-f]{64}|[0-9a-f]{64}' "$OUT" "token list shows no token and no hash"
for t in "$CERTVAULT_TOKEN" "$TOKEN"; do
	case $OUT$ERR in *"$t"* | *"${t#cv_}"*) fail "token list output contains a token" ;; *) ok "token list output does not contain a token" ;; esac
done
admin token list --vault "$CERTVAULT_VAULT_NAME"
assert_match "(^|"$'\n'")$ID +$CERTVAULT_VAULT_NAME " "$OUT" "token list --vault"

admin token create --vault "$CERTVAULT_VAULT_NAME" --permissions fly
assert_eq 2 "$RC" "token create --permissions fly: exit 2"
assert_eq "" "$OUT" "… and prints no token"
admin token create --vault "$CERTVAULT_VAULT_NAME" --permissions get,fly
assert_eq 2 "$RC" "token create --permissions get,fly: exit 2"
admin token create --vault "$CERTVAULT_VAULT_NAME" --expires-days 0
assert_eq 2 "$RC" "token create --expires-days 0: exit 2"
admin token create --vault nosuch-vault
assert_eq 1 "$RC" "token create for an unknown vault: exit 1"
assert_match "no such vault" "$ERR" "… says no such vault"
admin token create
assert_eq 2 "$RC" "token create without --vault: exit 2"
admin token create --vault "$CERTVAULT_VAULT_NAME" --permissions get,list
assert_eq 0 "$RC" "token create --permissions get,list: exit 0"
ID2=$(printf '%s\n' "$ERR" | sed -n 's/^token \([0-9][0-9]*\) created.*/\1/p')
assert_eq "{get,list}" "$(t_psql "SELECT permissions FROM access_tokens WHERE id = ${ID2:-0}")" \
	"… stores exactly those permissions"

admin token revoke "$ID"
assert_eq "0:revoked token $ID" "$RC:$OUT" "token revoke: exit 0"
assert_eq 1 "$(t_psql "SELECT count(*) FROM access_tokens WHERE id = $ID AND revoked_at IS NOT NULL")" \
	"revoked_at is set"
admin token revoke "$ID"
assert_eq 1 "$RC" "revoking a revoked token: exit 1"
admin token revoke 2147483647
assert_eq 1 "$RC" "revoking an unknown id: exit 1"
admin token revoke abc
assert_eq 2 "$RC" "token revoke abc: exit 2"

# --- constraints keep bad states out ------------------------------------------
bad_insert() {
	t_psql "$1" >/dev/null 2>&1
	assert_ne 0 "$?" "$2"
}
bad_insert "INSERT INTO access_tokens (vault_id, token_hash, permissions) SELECT id, sha256('x'), '{fly}' FROM vaults LIMIT 1" \
	"access_tokens: an unknown permission is refused"
bad_insert "INSERT INTO access_tokens (vault_id, token_hash, permissions) SELECT id, '\\x00', '{get}' FROM vaults LIMIT 1" \
	"access_tokens: a hash that is not 32 bytes is refused"
bad_insert "INSERT INTO vaults (name, retention_days) VALUES ('t-admin-r', 5)" \
	"vaults: retention_days outside 7-90 is refused"
bad_insert "INSERT INTO certificates (vault_id, name, policy, deleted_at) SELECT id, 't-admin-c', '{}', now() FROM vaults LIMIT 1" \
	"certificates: deleted_at without scheduled_purge_at/recovery_id is refused"
bad_insert "INSERT INTO certificates (vault_id, name, policy) SELECT id, 't-admin-c', '[]' FROM vaults LIMIT 1" \
	"certificates: a policy that is not an object is refused"

t_done
