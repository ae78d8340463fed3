#!/usr/bin/env bash
# The HTTP surface of the foundation through lighttpd (list, health,
# api-version, 404/405, request id, vault by Host, access log, 413/415 on
# the create route) and the body checks of GET /certificates (exact
# max_body_size boundary, 413/415 and their order) straight on
# certvault-fcgi's FastCGI socket: lighttpd itself answers 400 to any GET
# that carries a body.
. "$(dirname "$0")/lib.sh"

EMPTY='{"value":[],"nextLink":null}'
LIST='/certificates?api-version=7.5'

# --- list ------------------------------------------------------------------
kv_curl GET "$LIST"
assert_status 200 "GET /certificates?api-version=7.5: 200"
assert_json_type "list: Content-Type application/json"
assert_list "list: exactly $EMPTY (on a fresh stack)"

kv_curl GET '/certificates?api%2Dversion=2025-07-01'
assert_status 200 "percent-encoded parameter name api%2Dversion=2025-07-01: 200"
assert_list "api%2Dversion: empty list"

kv_curl GET '/certificates?api-version=7%2E5'
assert_status 200 "percent-encoded value 7%2E5: 200"

kv_curl GET '/certificates?maxresults=5&api-version=7.6&x=1'
assert_status 200 "api-version among other parameters: 200"

# --- api-version -----------------------------------------------------------
kv_curl GET /certificates
assert_kv_error 400 BadParameter "The api-version query parameter is required." \
	"GET /certificates without api-version"

kv_curl GET '/certificates?api-version=9.9'
assert_kv_error 400 BadParameter \
	"The specified version (9.9) is not recognized. Consider using the latest supported version (2025-07-01)." \
	"unknown api-version 9.9"

kv_curl GET '/certificates?api-version='
assert_status 400 "empty api-version: 400"

# --- routing ---------------------------------------------------------------
kv_curl GET '/no/such/path?api-version=7.5'
assert_kv_error 404 NotFound "" "unknown path"

kv_curl GET '/certificatesx?api-version=7.5'
assert_status 404 "/certificatesx is no prefix match: 404"

kv_curl DELETE "$LIST"
assert_kv_error 405 MethodNotAllowed "The method DELETE is not allowed on /certificates." \
	"DELETE /certificates"
assert_header Allow GET "405 lists Allow: GET"

kv_curl POST "$LIST" --data-binary '{}' -H 'Content-Type: application/json'
assert_kv_error 405 MethodNotAllowed "" "POST /certificates"
assert_header Allow GET "POST 405: Allow: GET"

kv_curl DELETE /certificates
assert_status 400 "DELETE /certificates without api-version: 400 (api-version before 405)"
kv_curl GET /no/such/path
assert_status 400 "unknown path without api-version: 400 (api-version before 404)"

# --- health ----------------------------------------------------------------
KV_TOKEN='' kv_curl GET /healthz
assert_status 200 "GET /healthz without token: 200"
assert_json_type "healthz: Content-Type application/json"
assert_json . '{"status":"ok","database":"ok"}' "healthz body"
assert_eq "" "$(kv_header WWW-Authenticate)" "healthz: no challenge"

KV_TOKEN=garbage kv_curl GET '/healthz?api-version=9.9'
assert_status 200 "healthz ignores token and api-version"

# --- x-ms-client-request-id --------------------------------------------------
RID=$(cat /proc/sys/kernel/random/uuid)
kv_curl GET "$LIST" -H "x-ms-client-request-id: $RID"
assert_status 200 "list with x-ms-client-request-id: 200"
assert_header x-ms-client-request-id "$RID" "request id echoed on 200"
KV_TOKEN='' kv_curl GET "$LIST" -H "x-ms-client-request-id: $RID"
assert_header x-ms-client-request-id "$RID" "request id echoed on 401"
kv_curl GET '/nope?api-version=7.5' -H "x-ms-client-request-id: $RID"
assert_header x-ms-client-request-id "$RID" "request id echoed on 404"
kv_curl GET "$LIST"
assert_eq "" "$(kv_header x-ms-client-request-id)" "no request id header when none was sent"

# --- vault by Host: unknown hosts fall back to the default vault ------------
KV_TOKEN='' KV_HOST=127.0.0.1 kv_curl GET "$LIST"
assert_status 401 "by IP address, no token: 401"
assert_header WWW-Authenticate \
	"Bearer authorization=\"https://127.0.0.1:$CERTVAULT_HTTPS_PORT/$CERTVAULT_VAULT_NAME\", resource=\"https://127.0.0.1\"" \
	"by IP address: challenge names the default vault, resource is the address"
KV_HOST=127.0.0.1 kv_curl GET "$LIST"
assert_status 200 "by IP address with the default vault's token: 200"

KV_TOKEN='' KV_HOST=nosuch.vault.localhost kv_curl GET "$LIST"
assert_header WWW-Authenticate \
	"$(kv_challenge "nosuch.vault.localhost:$CERTVAULT_HTTPS_PORT")" \
	"unknown host name: challenge of the default vault on that host"

KV_TOKEN='' KV_HOST=DEMO.Vault.LocalHost kv_curl GET "$LIST"
assert_match "authorization=\"https://[Dd][Ee][Mm][Oo]\\.[Vv]ault\\.[Ll]ocal[Hh]ost:$CERTVAULT_HTTPS_PORT/$CERTVAULT_VAULT_NAME\"" \
	"$(kv_header WWW-Authenticate)" "host names compare case-insensitively"

# --- access log: one line per request, nothing forged ---------------------
# lighttpd refuses control characters in the URL, so the encoded newline
# goes straight to the FastCGI socket; the space through lighttpd.
MARK=t-api-$(cv_random_hex 6)
FCGI_LOG=$CERTVAULT_HOME/log/certvault-fcgi.log
kv_curl GET "/$MARK%20forged%20line?api-version=7.5"
assert_status 404 "path with an encoded space: 404"
fcgi_req "$CERTVAULT_FCGI_SOCKET" GET "/$MARK-nl%0A2026-01-01T00:00:00Z%20INFO%20forged?api-version=7.5" </dev/null
assert_status 404 "FastCGI: path with an encoded newline: 404"
wait_until 5 grep -q "path=/$MARK-nl" "$FCGI_LOG"
line=$(grep "path=/${MARK}_" "$FCGI_LOG")
assert_match "^[0-9T:-]+Z INFO pid=[0-9]+ access vault=$CERTVAULT_VAULT_NAME method=GET path=/${MARK}_forged_line status=404 duration_ms=[0-9]+\\.[0-9]{3} request_id=[0-9a-f-]{36} client_request_id=- remote_addr=127\\.0\\.0\\.1$" \
	"$line" "access log line: vault, method, path (space neutralised), status, duration, request ids, client address"
line=$(grep "path=/$MARK-nl" "$FCGI_LOG")
assert_match "^[0-9T:-]+Z INFO pid=[0-9]+ access vault=$CERTVAULT_VAULT_NAME method=GET path=/$MARK-nl_2026-01-01T00:00:00Z_INFO_forged status=404 duration_ms=[0-9.]+ request_id=[0-9a-f-]{36} client_request_id=- remote_addr=[^ ]+$" \
	"$line" "access log line: encoded newline neutralised"
assert_eq 2 "$(grep -c "$MARK" "$FCGI_LOG")" "exactly one log line per request"

# --- bodies through lighttpd: the create route takes one ----------------------
# 413 and 415 come before the handler: nothing is created.
CREATE='/certificates/t-api-body/create?api-version=7.5'
head -c $((2 * 1048576)) /dev/zero | tr '\0' ' ' >"$T_TMP/2mib"
kv_curl POST "$CREATE" --data-binary "@$T_TMP/2mib" -H 'Content-Type: application/json'
assert_kv_error 413 RequestTooLarge "" "POST create with a 2 MiB body"
kv_curl POST "$CREATE" --data-binary "@$T_TMP/2mib" -H 'Content-Type: text/plain'
assert_status 413 "POST create with a 2 MiB text/plain body: 413 before 415"
kv_curl POST "$CREATE" --data-binary '{}' -H 'Content-Type: text/plain'
assert_kv_error 415 UnsupportedMediaType "" "POST create with a JSON body as text/plain"
kv_curl POST "$CREATE" --data-binary '{}' -H 'Content-Type: application/x-www-form-urlencoded'
assert_status 415 "POST create with a form body: 415"
assert_eq 0 "$(t_psql "SELECT count(*) FROM certificates WHERE name = 't-api-body'")" \
	"413/415: no certificate created"

# --- bodies, on certvault-fcgi's own socket --------------------------------
SOCK=$CERTVAULT_FCGI_SOCKET
head -c 1048576 /dev/zero | tr '\0' ' ' >"$T_TMP/1mib"
{ cat "$T_TMP/1mib"; printf ' '; } >"$T_TMP/1mib+1"

fcgi_req "$SOCK" GET "$LIST" CONTENT_LENGTH=0 </dev/null
assert_status 200 "FastCGI: list: 200"
assert_list "FastCGI: list body"

fcgi_req "$SOCK" GET "$LIST" CONTENT_LENGTH=1048576 CONTENT_TYPE=application/json <"$T_TMP/1mib"
assert_status 200 "FastCGI: body of exactly max_body_size (1 MiB): 200"

fcgi_req "$SOCK" GET "$LIST" CONTENT_LENGTH=1048577 CONTENT_TYPE=application/json <"$T_TMP/1mib+1"
assert_kv_error 413 RequestTooLarge "" "FastCGI: body of max_body_size + 1"

fcgi_req "$SOCK" GET "$LIST" CONTENT_LENGTH=2097152 CONTENT_TYPE=application/json <"$T_TMP/2mib"
assert_kv_error 413 RequestTooLarge "" "FastCGI: 2 MiB body"

fcgi_req "$SOCK" GET "$LIST" CONTENT_LENGTH=2097152 CONTENT_TYPE=text/plain <"$T_TMP/2mib"
assert_status 413 "FastCGI: 2 MiB text/plain body: 413 before 415"

FCGI_TOKEN='' fcgi_req "$SOCK" GET "$LIST" CONTENT_LENGTH=2097152 CONTENT_TYPE=text/plain <"$T_TMP/2mib"
assert_kv_error 401 Unauthorized "AKV10000: Request is missing a Bearer or PoP token." \
	"FastCGI: 2 MiB body without token: 401 first"

fcgi_req "$SOCK" DELETE "$LIST" CONTENT_LENGTH=2097152 CONTENT_TYPE=application/json <"$T_TMP/2mib"
assert_status 405 "FastCGI: DELETE with a 2 MiB body: 405 before 413"

GETONLY=$(cv_admin token create --vault "$CERTVAULT_VAULT_NAME" --name t_api-get --permissions get 2>/dev/null)
[[ $GETONLY =~ ^cv_[0-9a-f]{64}$ ]] || bail "token create --permissions get failed"
FCGI_TOKEN=$GETONLY fcgi_req "$SOCK" GET "$LIST" CONTENT_LENGTH=2097152 CONTENT_TYPE=application/json <"$T_TMP/2mib"
assert_status 403 "FastCGI: token without list, 2 MiB body: 403 before 413"

printf '{}' >"$T_TMP/obj"
fcgi_req "$SOCK" GET "$LIST" CONTENT_LENGTH=2 CONTENT_TYPE=text/plain <"$T_TMP/obj"
assert_kv_error 415 UnsupportedMediaType "" "FastCGI: JSON body as text/plain"
fcgi_req "$SOCK" GET "$LIST" CONTENT_LENGTH=2 CONTENT_TYPE=application/jsonx <"$T_TMP/obj"
assert_status 415 "FastCGI: Content-Type application/jsonx: 415"
fcgi_req "$SOCK" GET "$LIST" CONTENT_LENGTH=2 <"$T_TMP/obj"
assert_status 200 "FastCGI: body without Content-Type: 200 (taken as JSON)"
fcgi_req "$SOCK" GET "$LIST" CONTENT_LENGTH=2 'CONTENT_TYPE=application/json; charset=utf-8' <"$T_TMP/obj"
assert_status 200 "FastCGI: application/json; charset=utf-8: 200"
fcgi_req "$SOCK" GET "$LIST" CONTENT_LENGTH=2 CONTENT_TYPE=Application/JSON <"$T_TMP/obj"
assert_status 200 "FastCGI: media type compared case-insensitively: 200"

t_done
