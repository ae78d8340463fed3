#!/usr/bin/env bash
# Authentication and authorization through lighttpd: the 401 challenge
# (exact header), authentication before every other check, wrong, revoked,
# expired and foreign tokens, a token lacking the route's permission (403),
# and no token in any log.
. "$(dirname "$0")/lib.sh"

LIST='/certificates?api-version=7.5'
HOSTPORT=$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT
CHALLENGE=$(kv_challenge "$HOSTPORT")
MISSING='AKV10000: Request is missing a Bearer or PoP token.'
INVALID='The access token is invalid, expired or revoked.'
TOKENS=("$CERTVAULT_TOKEN")

# new_token VAR ARG...: `certvault-admin token create ARG...`; the token
# goes to VAR, its id to VAR_ID.
new_token() {
	local var=$1 tok err id
	shift
	tok=$(cv_admin token create "$@" 2>"$T_TMP/admin.err") ||
		bail "token create $*: $(cat "$T_TMP/admin.err")"
	[[ $tok =~ ^cv_[0-9a-f]{64}$ ]] || bail "token create printed no token"
	err=$(cat "$T_TMP/admin.err")
	id=$(printf '%s\n' "$err" | sed -n 's/^token \([0-9][0-9]*\) created.*/\1/p')
	[ -n "$id" ] || bail "token create: no id in: $err"
	TOKENS+=("$tok")
	printf -v "$var" '%s' "$tok"
	printf -v "${var}_ID" '%s' "$id"
}

# --- no token: the challenge -------------------------------------------
KV_TOKEN='' kv_curl GET "$LIST"
assert_kv_error 401 Unauthorized "$MISSING" "GET /certificates without token"
assert_header WWW-Authenticate "$CHALLENGE" "401 carries the exact challenge"
assert_eq 1 "$(printf '%s\n' "$KV_HEADERS" | grep -ci '^www-authenticate:')" \
	"exactly one WWW-Authenticate header"

# The SDKs' first request: no token and no body, whatever the method and
# whatever else is wrong with it. Authentication comes first.
CREATE='/certificates/t-auth-cert/create?api-version=7.5'
KV_TOKEN='' kv_curl POST "$CREATE" --data-binary '' -H 'Content-Type:'
assert_kv_error 401 Unauthorized "$MISSING" "bare POST create (Content-Length: 0) without token"
assert_header WWW-Authenticate "$CHALLENGE" "bare POST: challenge"

KV_TOKEN='' kv_curl POST "$CREATE" --data-binary '{not json' -H 'Content-Type: application/json'
assert_kv_error 401 Unauthorized "$MISSING" "POST create with an invalid JSON body without token"

KV_TOKEN='' kv_curl POST "$CREATE" --data-binary 'hello' -H 'Content-Type: text/plain'
assert_status 401 "POST create with a text/plain body without token: 401 before 415"

KV_TOKEN='' kv_curl POST "$LIST" --data-binary '' -H 'Content-Type:'
assert_status 401 "bare POST /certificates without token: 401 before 405"

head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'x' >"$T_TMP/big"
KV_TOKEN='' kv_curl POST "$CREATE" --data-binary "@$T_TMP/big" -H 'Content-Type: application/json'
assert_kv_error 401 Unauthorized "$MISSING" "POST create with a 2 MiB body without token: 401 before 413"

KV_TOKEN='' kv_curl GET /nowhere/at/all
assert_status 401 "unknown path without token and api-version: 401 before 400/404"
assert_header WWW-Authenticate "$CHALLENGE" "unknown path: challenge"

KV_TOKEN='' kv_curl DELETE "$LIST"
assert_status 401 "DELETE /certificates without token: 401 before 405"

# --- wrong tokens --------------------------------------------------------
KV_TOKEN=cv_$(cv_random_hex 32) kv_curl GET "$LIST"
assert_kv_error 401 Unauthorized "$INVALID" "well-formed but unknown token"
assert_header WWW-Authenticate "$CHALLENGE" "unknown token: challenge"

KV_TOKEN=garbage kv_curl GET "$LIST"
assert_kv_error 401 Unauthorized "$INVALID" "malformed token"

# The stack's token with one character changed.
last=${CERTVAULT_TOKEN: -1}
if [ "$last" = 0 ]; then repl=1; else repl=0; fi
KV_TOKEN=${CERTVAULT_TOKEN%?}$repl kv_curl GET "$LIST"
assert_status 401 "the stack's token with its last hex digit changed"

KV_TOKEN='' kv_curl GET "$LIST" -H 'Authorization: Basic dXNlcjpwYXNz'
assert_kv_error 401 Unauthorized "" "Basic credentials are no bearer token"

# --- revoked -------------------------------------------------------------
new_token REV --vault "$CERTVAULT_VAULT_NAME" --name t_auth-revoke
KV_TOKEN=$REV kv_curl GET "$LIST"
assert_status 200 "fresh token: 200 before revocation"
out=$(cv_admin token revoke "$REV_ID" 2>&1)
assert_eq 0 "$?" "token revoke $REV_ID exits 0"
assert_eq "revoked token $REV_ID" "$out" "token revoke prints what it did"
KV_TOKEN=$REV kv_curl GET "$LIST"
assert_kv_error 401 Unauthorized "$INVALID" "revoked token"
assert_header WWW-Authenticate "$CHALLENGE" "revoked token: challenge"
cv_admin token revoke "$REV_ID" >/dev/null 2>&1
assert_eq 1 "$?" "revoking it again exits 1"

# --- expired (no clock games: the row is aged in the database) -----------
new_token EXP --vault "$CERTVAULT_VAULT_NAME" --name t_auth-expire --expires-days 1
KV_TOKEN=$EXP kv_curl GET "$LIST"
assert_status 200 "token with --expires-days 1: 200"
t_psql "UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE id = $EXP_ID" >/dev/null
KV_TOKEN=$EXP kv_curl GET "$LIST"
assert_kv_error 401 Unauthorized "$INVALID" "expired token"

# --- permissions ---------------------------------------------------------
new_token GETONLY --vault "$CERTVAULT_VAULT_NAME" --name t_auth-get --permissions get
KV_TOKEN=$GETONLY kv_curl GET "$LIST"
assert_kv_error 403 Forbidden \
	"The access token does not have certificates list permission on key vault '$CERTVAULT_VAULT_NAME'." \
	"token with only get: GET /certificates"
assert_eq "" "$(kv_header WWW-Authenticate)" "403 has no challenge"

KV_TOKEN=$GETONLY kv_curl POST "$CREATE" --data-binary "@$T_TMP/big" -H 'Content-Type: text/plain'
assert_kv_error 403 Forbidden \
	"The access token does not have certificates create permission on key vault '$CERTVAULT_VAULT_NAME'." \
	"token with only get: POST create with a 2 MiB text/plain body: 403 before 413/415"
assert_eq 0 "$(t_psql "SELECT count(*) FROM certificates WHERE name = 't-auth-cert'")" \
	"no certificate was created by any of these requests"


new_token LISTONLY --vault "$CERTVAULT_VAULT_NAME" --name t_auth-list --permissions list
KV_TOKEN=$LISTONLY kv_curl GET "$LIST"
assert_status 200 "token with only list: GET /certificates 200"
assert_list "token with only list: empty list"

# --- a token of another vault --------------------------------------------
OTHER='t-auth-other'
OTHER_HOST=$OTHER.vault.localhost
if ! cv_admin vault list 2>/dev/null | awk 'NR > 1 { print $1 }' | grep -qx "$OTHER"; then
	out=$(cv_admin vault create "$OTHER" --host "$OTHER_HOST" 2>&1)
	assert_eq "$OTHER" "$out" "vault create $OTHER --host $OTHER_HOST"
fi
new_token OTOK --vault "$OTHER" --name t_auth-other
KV_TOKEN=$OTOK KV_HOST=$OTHER_HOST kv_curl GET "$LIST"
assert_status 200 "other vault's token on its own host: 200"
KV_TOKEN=$OTOK kv_curl GET "$LIST"
assert_kv_error 401 Unauthorized "$INVALID" "other vault's token on $CERTVAULT_VAULT_HOST"
assert_header WWW-Authenticate "$CHALLENGE" "foreign token: challenge names the demo vault"
KV_HOST=$OTHER_HOST kv_curl GET "$LIST"
assert_status 401 "demo's token on the other vault's host: 401"
assert_header WWW-Authenticate \
	"$(kv_challenge "$OTHER_HOST:$CERTVAULT_HTTPS_PORT" "$OTHER")" \
	"challenge on the other host names that vault"

# --- no token in any log -------------------------------------------------
# Wait for the access-log lines of what we just did (written after the
# response), then look through every log of the stack.
FCGI_LOG=$CERTVAULT_HOME/log/certvault-fcgi.log
wait_until 5 grep -q "access vault=$OTHER method=GET path=/certificates status=401" "$FCGI_LOG"
assert_match "access vault=$CERTVAULT_VAULT_NAME method=GET path=/certificates status=401 duration_ms=[0-9.]+" \
	"$(grep ' access ' "$FCGI_LOG" | tail -n 200)" "the access log records the 401s"
logs=$(find "$CERTVAULT_HOME" -type f \( -name '*.log' -o -name '*.out' -o -name 'postgresql*' \) \
	! -path "$T_TMP/*" | sort)
assert_ne "" "$logs" "there are log files to search"
patterns=()
for t in "${TOKENS[@]}"; do patterns+=(-e "$t" -e "${t#cv_}"); done
leaks=$(printf '%s\n' "$logs" | xargs -d '\n' grep -lF "${patterns[@]}" 2>/dev/null)
assert_eq "" "$leaks" "no token (${#TOKENS[@]} of them) in any log under the state directory"

t_done
