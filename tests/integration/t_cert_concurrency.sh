#!/usr/bin/env bash
# The create lock: 20 creates (issuer Unknown, EC P-256) for one fresh name,
# from 20 curl processes released together through lighttpd → exactly one
# 202 and nineteen 409s with the seed's body; one certificate, one version,
# one operation, one key in the database. Then the same race on a name whose
# operation is completed: again exactly one 202.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

API=7.5
RACERS=20
CONFLICT_MSG="A new key vault certificate can not be created or imported while a pending key vault certificate's status is inProgress."
BODY='{"policy":{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=race.example"},"issuer":{"name":"Unknown"}}}'

# race NAME DIR: RACERS curl processes wait for DIR/go, then POST create at
# once; each writes its status to DIR/N.status and its body to DIR/N.body.
race() {
	local name=$1 dir=$2 i pids=()
	mkdir -p "$dir"
	(umask 077 && printf 'Authorization: Bearer %s\n' "$CERTVAULT_TOKEN" >"$dir/auth")
	for ((i = 1; i <= RACERS; i++)); do
		(
			n=0
			until [ -e "$dir/go" ]; do
				n=$((n + 1))
				[ "$n" -gt 1000 ] && exit 1 # 10 s at most
				sleep 0.01
			done
			curl -sS --max-time 60 --cacert "$CERTVAULT_CA" \
				--resolve "$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT:127.0.0.1" \
				-H "@$dir/auth" -H 'Content-Type: application/json' --data-binary "$BODY" \
				-o "$dir/$i.body" -w '%{http_code}\n' \
				"https://$CERTVAULT_VAULT_HOST:$CERTVAULT_HTTPS_PORT/certificates/$name/create?api-version=$API" \
				>"$dir/$i.status" 2>"$dir/$i.err"
		) &
		pids+=($!)
	done
	sleep 0.5 # every racer is waiting
	touch "$dir/go"
	for i in "${pids[@]}"; do wait "$i" || true; done
	rm -f "$dir/auth"
}

# count DIR STATUS: how many racers got STATUS.
count() { cat "$1"/*.status 2>/dev/null | tr -s ' \n' '\n' | grep -c "^$2\$" || true; }

# conflicts_exact DIR: how many 409 bodies are exactly the seed's.
conflicts_exact() {
	local f n=0 want
	want=$(jq -nc --arg m "$CONFLICT_MSG" '{error: {code: "Forbidden", message: $m}}')
	for f in "$1"/*.status; do
		[ "$(cat "$f")" = 409 ] || continue
		[ "$(cat "${f%.status}.body")" = "$want" ] && n=$((n + 1))
	done
	echo "$n"
}

# --- a fresh name ---------------------------------------------------------------
cert_new_name N race
race "$N" "$T_TMP/r1"
c202=$(count "$T_TMP/r1" 202)
c409=$(count "$T_TMP/r1" 409)
if ! assert_eq "1 $((RACERS - 1))" "$c202 $c409" "$RACERS concurrent creates of a fresh name: one 202, $((RACERS - 1)) 409"; then
	diag "statuses: $(cat "$T_TMP"/r1/*.status | tr '\n' ' ')"
	for f in "$T_TMP"/r1/*.body; do diag "$(basename "$f"): $(head -c 300 "$f")"; done
fi
assert_eq $((RACERS - 1)) "$(conflicts_exact "$T_TMP/r1")" "every 409 has the seed's body"
WIN=$(grep -l '^202$' "$T_TMP"/r1/*.status | head -n 1 || true)
WRID=$(jq -r .request_id "${WIN%.status}.body" 2>/dev/null || true)
kv_curl GET "/certificates/$N/pending?api-version=$API"
assert_json -r .request_id "$WRID" "the operation is the winner's"
assert_json .status '"inProgress"' "the operation is inProgress"
row=$(t_psql "SELECT (SELECT count(*) FROM certificates c WHERE lower(c.name) = lower('$N')),
	(SELECT count(*) FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id WHERE lower(c.name) = lower('$N')),
	(SELECT count(*) FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id WHERE lower(c.name) = lower('$N')),
	(SELECT count(*) FROM keys k JOIN certificates c ON c.id = k.certificate_id WHERE lower(c.name) = lower('$N'))")
assert_eq "1|1|1|1" "$row" "database: one certificate, one version, one operation, one key"

# --- a name whose operation is completed --------------------------------------------
cert_new_name M race-done
kv_send POST "/certificates/$M/create?api-version=$API" \
	'{"policy":{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=race.example"},"issuer":{"name":"Self"}}}'
assert_status 202 "Self create before the second race: 202"
race "$M" "$T_TMP/r2"
c202=$(count "$T_TMP/r2" 202)
c409=$(count "$T_TMP/r2" 409)
if ! assert_eq "1 $((RACERS - 1))" "$c202 $c409" "$RACERS concurrent creates over a completed operation: one 202, $((RACERS - 1)) 409"; then
	diag "statuses: $(cat "$T_TMP"/r2/*.status | tr '\n' ' ')"
fi
row=$(t_psql "SELECT (SELECT count(*) FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id WHERE lower(c.name) = lower('$M')),
	(SELECT count(*) FROM pending_operations p JOIN certificates c ON c.id = p.certificate_id WHERE lower(c.name) = lower('$M'))")
assert_eq "2|1" "$row" "database: the Self version plus one new version, one operation"

t_done
