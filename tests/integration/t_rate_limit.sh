#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through t_on_exit
# Rate limits (issue 8): off by default (the stack's certvault-fcgi has no
# limit, and the whole suite runs through it); with rate_limit_token_rps a
# token may make ten seconds' worth of requests at once, then gets 429
# Throttled with Retry-After, Key Vault-shaped, while another token of the
# same vault is unaffected; with rate_limit_vault_rps the vault's tokens
# share one bucket. After Retry-After seconds requests go through again.
# The buckets are rows of rate_buckets, shared by every process.
. "$(dirname "$0")/lib.sh"

API=7.5
VAULT=$CERTVAULT_VAULT_NAME
t_psql "TRUNCATE rate_buckets" >/dev/null
assert_eq "" "$(sed -n 's/^rate_limit_[a-z]*_rps *= *\([1-9].*\)/\1/p' "$CERTVAULT_CONFIG")" \
	"the stack runs without rate limits (the default)"

other=$(cv_admin token create --vault "$VAULT" --name rate-test --permissions get,list 2>/dev/null | tail -n 1)
t_on_exit "t_psql \"UPDATE access_tokens SET revoked_at = now() WHERE name = 'rate-test' AND revoked_at IS NULL\" >/dev/null 2>&1"

# limited NAME KEY=VALUE…: a private certvault-fcgi with those settings.
limited() {
	local name=$1
	shift
	cp "$CERTVAULT_CONFIG" "$T_TMP/$name.conf"
	sed -i '/^rate_limit_/d' "$T_TMP/$name.conf"
	printf '%s\n' "$@" >>"$T_TMP/$name.conf"
	fcgi_private_start "$name" --config "$T_TMP/$name.conf" --workers 2
	cv_wait_for 10 "the private socket" test -S "$PRIV_SOCK" || bail "certvault-fcgi $name did not start"
}
get() { FCGI_TOKEN=${1:-$CERTVAULT_TOKEN} fcgi_req "$PRIV_SOCK" GET "/certificates?api-version=$API" </dev/null; }

# --- per token ----------------------------------------------------------------------
limited per-token rate_limit_token_rps=1
ok10=0
for i in $(seq 10); do get; [ "$FCGI_STATUS" = 200 ] && ok10=$((ok10 + 1)); done
assert_eq 10 "$ok10" "rate_limit_token_rps = 1: ten requests at once go through (ten seconds' worth)"
get
assert_kv_error 429 Throttled \
	"Request was not processed because too many requests were received. Retry after the number of seconds Retry-After gives." \
	"the eleventh"
ra=$(printf '%s\n' "$FCGI_HEADERS" | sed -n 's/^Retry-After: //p')
assert_match '^[1-9][0-9]*$' "$ra" "… with Retry-After in seconds ($ra)"
get "$other"
assert_status 200 "another token of the same vault is not limited"
assert_eq 2 "$(t_psql "SELECT count(*) FROM rate_buckets WHERE bucket LIKE 'token:%'")" \
	"the DBA sees one bucket per token in rate_buckets"
sleep "$ra"
get
assert_status 200 "after Retry-After seconds the token goes through again"
cv_fcgi_stop "$PRIV_PIDFILE" 2>/dev/null

# --- per vault ------------------------------------------------------------------------
t_psql "TRUNCATE rate_buckets" >/dev/null
limited per-vault rate_limit_vault_rps=1
n=0
for i in 1 2 3 4 5; do get; [ "$FCGI_STATUS" = 200 ] && n=$((n + 1)); get "$other"; [ "$FCGI_STATUS" = 200 ] && n=$((n + 1)); done
assert_eq 10 "$n" "rate_limit_vault_rps = 1: ten requests from two tokens go through"
get "$other"
assert_status 429 "the eleventh, from either token, is throttled: the vault's bucket is shared"
assert_eq 1 "$(t_psql "SELECT count(*) FROM rate_buckets WHERE bucket LIKE 'vault:%'")" "one bucket for the vault"

t_done
