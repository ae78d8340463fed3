#!/bin/sh
#
# tests/integration/acme-dns-hook.sh — the acme_dns_hook of the test stack:
# publishes and removes dns-01 TXT records in pebble-challtestsrv's fake DNS,
# which pebble (the test ACME CA) queries. scripts/stack.sh configures it
# when the stack runs with pebble (cv_stack_start --pebble):
#
#   acme_dns_hook = CV_CHALLTESTSRV='http://127.0.0.1:18055' \
#       CV_ACME_DNS_HOOK_LOG='STATE/log/acme-dns-hook.log' /bin/sh '.../acme-dns-hook.sh'
#
# The contract (docs/internals.md, "ACME dns-01 hook"): certvault-worker runs
# the command with /bin/sh -c and, in its environment,
#   CERTVAULT_ACME_ACTION  add | remove
#   CERTVAULT_ACME_DOMAIN  the name being validated, without "*." (example.org)
#   CERTVAULT_ACME_RECORD  the TXT record's name, with the trailing dot
#                          (_acme-challenge.example.org.)
#   CERTVAULT_ACME_VALUE   the TXT value (base64url SHA-256 of the key
#                          authorization; public)
# and expects exit status 0 once the record is published (add) or gone
# (remove).
#
# This test hook is strict, to catch a worker that breaks the contract: the
# record must be "_acme-challenge.<domain>." and add needs a value; else it
# exits 2 without touching the DNS. A failed management call exits 1.
# Every call is logged, one line, to CV_ACME_DNS_HOOK_LOG (default:
# CERTVAULT_HOME/log/acme-dns-hook.log, else stderr):
#   2026-11-29T16:40:08Z add _acme-challenge.example.org. domain=example.org value=… result=ok
# Nothing in it is secret (the TXT value is published in the DNS anyway).
#
# pebble-challtestsrv: POST /set-txt {"host": RECORD, "value": VALUE} adds a
# value (a name may have several: a wildcard and its base name share one
# record); POST /clear-txt {"host": RECORD} removes all values of the name.
# CV_CHALLTESTSRV is its management URL; without it the hook reads
# CERTVAULT_HOME/pebble/challtestsrv-url (written by cv_pebble_start), for a
# worker that a test started with the env file loaded.

set -u

action=${CERTVAULT_ACME_ACTION:-}
domain=${CERTVAULT_ACME_DOMAIN:-}
record=${CERTVAULT_ACME_RECORD:-}
value=${CERTVAULT_ACME_VALUE:-}
url=${CV_CHALLTESTSRV:-}
log=${CV_ACME_DNS_HOOK_LOG:-}

if [ -z "$url" ] && [ -n "${CERTVAULT_HOME:-}" ] &&
	[ -r "$CERTVAULT_HOME/pebble/challtestsrv-url" ]; then
	url=$(cat "$CERTVAULT_HOME/pebble/challtestsrv-url")
fi
if [ -z "$log" ] && [ -n "${CERTVAULT_HOME:-}" ] && [ -d "$CERTVAULT_HOME/log" ]; then
	log=$CERTVAULT_HOME/log/acme-dns-hook.log
fi

# note RESULT: the log line of this call.
note() {
	line="$(date -u +%Y-%m-%dT%H:%M:%SZ) ${action:--} ${record:--} domain=$domain"
	[ -n "$value" ] && line="$line value=$value"
	# One line, whatever the values hold.
	line=$(printf '%s result=%s' "$line" "$1" | tr '\r\n' '  ')
	if [ -n "$log" ]; then
		printf '%s\n' "$line" >>"$log"
	else
		printf 'acme-dns-hook: %s\n' "$line" >&2
	fi
}

# refuse REASON: a call that breaks the contract.
refuse() {
	note "refused ($1)"
	printf 'acme-dns-hook: %s\n' "$1" >&2
	exit 2
}

case $action in
add | remove) ;;
*) refuse "CERTVAULT_ACME_ACTION is \"$action\", not add or remove" ;;
esac
[ -n "$domain" ] || refuse "CERTVAULT_ACME_DOMAIN is empty"
case $domain in
\*.*) refuse "CERTVAULT_ACME_DOMAIN has a \"*.\" prefix" ;;
esac
[ "$record" = "_acme-challenge.$domain." ] ||
	refuse "CERTVAULT_ACME_RECORD is not _acme-challenge.$domain."
if [ "$action" = add ] && [ -z "$value" ]; then
	refuse "CERTVAULT_ACME_VALUE is empty"
fi
[ -n "$url" ] || refuse "no management URL (CV_CHALLTESTSRV)"

if [ "$action" = add ]; then
	body=$(jq -cn --arg h "$record" --arg v "$value" '{host: $h, value: $v}')
	endpoint=set-txt
else
	body=$(jq -cn --arg h "$record" '{host: $h}')
	endpoint=clear-txt
fi
if out=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -X POST \
	-H 'Content-Type: application/json' --data-binary "$body" "$url/$endpoint" 2>&1) &&
	[ "$out" = 200 ]; then
	note ok
	exit 0
fi
note "failed (POST /$endpoint: $out)"
printf 'acme-dns-hook: POST %s/%s failed: %s\n' "$url" "$endpoint" "$out" >&2
exit 1
