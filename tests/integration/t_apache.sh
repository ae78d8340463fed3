#!/usr/bin/env bash
# Through Apache (mod_ssl + mod_proxy_fcgi, apache-conf/apache-test.conf.in)
# to the shared certvault-fcgi: the Authorization header reaches certvault,
# Host and REQUEST_URI arrive as the client sent them (challenge URL, vault
# by host, percent-encoded parameter name), and the body checks (413, 415).
. "$(dirname "$0")/lib.sh"

if [ -z "${CERTVAULT_APACHE_PORT:-}" ]; then
	echo "SKIP: $T_NAME: the stack was started without Apache (cv_stack_start --apache)"
	T_DONE=1
	exit 77
fi
LIST='/certificates?api-version=7.5'
PORT=$CERTVAULT_APACHE_PORT
export KV_PORT=$PORT

# Apache is part of the stack ./test.sh starts; start it if it is not up.
if ! cv_pid_running "$CV_APACHE_PIDFILE" apache2; then
	cv_apache_start 2>/dev/null
fi
cv_wait_healthy "$CERTVAULT_APACHE_URL"

KV_TOKEN='' kv_curl GET "$LIST"
assert_kv_error 401 Unauthorized "AKV10000: Request is missing a Bearer or PoP token." \
	"Apache: no token"
assert_header WWW-Authenticate "$(kv_challenge "$CERTVAULT_VAULT_HOST:$PORT")" \
	"Apache: exact challenge (Host with Apache's port, https)"

kv_curl GET "$LIST"
assert_status 200 "Apache: with token: 200 (Authorization passed through)"
assert_json_type "Apache: Content-Type application/json"
assert_list "Apache: empty list"

# The message tells a missing from a rejected token: proves the header
# arrives, not just that something answers 401.
KV_TOKEN=cv_$(cv_random_hex 32) kv_curl GET "$LIST"
assert_kv_error 401 Unauthorized "The access token is invalid, expired or revoked." \
	"Apache: unknown token reaches certvault"

kv_curl GET '/certificates?api%2Dversion=2025-07-01'
assert_status 200 "Apache: api%2Dversion (REQUEST_URI kept encoded): 200"
kv_curl GET '/certificates?api-version=9.9'
assert_kv_error 400 BadParameter \
	"The specified version (9.9) is not recognized. Consider using the latest supported version (2025-07-01)." \
	"Apache: unknown api-version"

kv_curl DELETE "$LIST"
assert_status 405 "Apache: DELETE /certificates 405"
assert_header Allow GET "Apache: Allow: GET"
kv_curl GET '/no/such/path?api-version=7.5'
assert_kv_error 404 NotFound "" "Apache: unknown path"

RID=t-apache-$(cv_random_hex 4)
kv_curl GET "$LIST" -H "x-ms-client-request-id: $RID"
assert_header x-ms-client-request-id "$RID" "Apache: request id echoed"

KV_TOKEN='' kv_curl GET /healthz
assert_status 200 "Apache: /healthz 200"
assert_json . '{"status":"ok","database":"ok"}' "Apache: /healthz body"

# Host handling: another vault's host, and an address (default vault).
KV_TOKEN='' KV_HOST=127.0.0.1 kv_curl GET "$LIST"
assert_header WWW-Authenticate \
	"Bearer authorization=\"https://127.0.0.1:$PORT/$CERTVAULT_VAULT_NAME\", resource=\"https://127.0.0.1\"" \
	"Apache: by address: challenge of the default vault"
KV_TOKEN='' KV_HOST=nosuch.vault.localhost kv_curl GET "$LIST"
assert_header WWW-Authenticate "$(kv_challenge "nosuch.vault.localhost:$PORT")" \
	"Apache: unknown host name: challenge built from that Host"

# Bodies: Apache passes a GET body on (lighttpd refuses one).
printf '{}' >"$T_TMP/obj"
kv_curl GET "$LIST" --data-binary "@$T_TMP/obj" -H 'Content-Type: application/json'
assert_status 200 "Apache: GET with a JSON body: 200"
kv_curl GET "$LIST" --data-binary "@$T_TMP/obj" -H 'Content-Type: text/plain'
assert_kv_error 415 UnsupportedMediaType "" "Apache: JSON body as text/plain"
head -c 1048576 /dev/zero | tr '\0' ' ' >"$T_TMP/1mib"
kv_curl GET "$LIST" --data-binary "@$T_TMP/1mib" -H 'Content-Type: application/json'
assert_status 200 "Apache: body of exactly max_body_size: 200"
printf ' ' >>"$T_TMP/1mib"
kv_curl GET "$LIST" --data-binary "@$T_TMP/1mib" -H 'Content-Type: application/json'
assert_kv_error 413 RequestTooLarge "" "Apache: body of max_body_size + 1"
KV_TOKEN='' kv_curl POST "$LIST" --data-binary "@$T_TMP/1mib" -H 'Content-Type: application/json'
assert_status 401 "Apache: large POST without token: 401 first"
# Apache buffers a body whole before certvault gets the request (slow
# clients must not hold workers: t_fault_clients.sh), and bounds that
# buffer itself, LimitRequestBody not applying to proxied requests: a
# chunked body (length unknown until its end) gets 411, one over 8 MiB 413,
# neither reaching certvault.
kv_curl GET "$LIST" --data-binary "@$T_TMP/obj" -H 'Content-Type: text/plain' \
	-H 'Transfer-Encoding: chunked' --http1.1
assert_status 411 "Apache: small chunked body: 411 Length Required"
head -c $((2 * 1048576)) /dev/zero | tr '\0' ' ' >"$T_TMP/2mib"
kv_curl POST '/certificates/t-apache-body/create?api-version=7.5' --data-binary "@$T_TMP/2mib" \
	-H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --http1.1
assert_status 411 "Apache: 2 MiB chunked POST create: 411 Length Required"
kv_curl POST '/certificates/t-apache-body/create?api-version=7.5' --data-binary "@$T_TMP/2mib" \
	-H 'Content-Type: application/json'
assert_kv_error 413 RequestTooLarge "" "Apache: 2 MiB POST create (buffered, then certvault's 413)"
head -c $((8 * 1048576 + 1)) /dev/zero | tr '\0' ' ' >"$T_TMP/8mib"
kv_curl POST '/certificates/t-apache-huge/create?api-version=7.5' --data-binary "@$T_TMP/8mib" \
	-H 'Content-Type: application/json'
assert_status 413 "Apache: 8 MiB + 1 POST create: 413 from Apache"
rm -f "$T_TMP/8mib"
assert_no_match 'path=/certificates/t-apache-huge/' "$(cat "$CERTVAULT_HOME/log/certvault-fcgi.log")" \
	"Apache: the 8 MiB + 1 body never reached certvault"

# The request went through Apache (its access log) and certvault.
wait_until 5 grep -q '"GET /certificates?api-version=9.9 HTTP' "$CERTVAULT_HOME/log/apache-access.log"
assert_match '"GET /certificates\?api-version=9\.9 HTTP/[0-9.]+" 400 ' \
	"$(cat "$CERTVAULT_HOME/log/apache-access.log")" "Apache's access log has the requests"

t_done
