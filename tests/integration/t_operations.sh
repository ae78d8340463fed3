#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/assert_true
# What operators and load balancers see: /healthz/live and /healthz/ready,
# x-ms-request-id on every response with the client's x-ms-client-request-id
# in the access log, GET /metrics (Prometheus text) for operator_networks
# only, the JSON log format, and the settings behind them refused when wrong.
. "$(dirname "$0")/lib.sh"

API=7.5
LIST="/certificates?api-version=$API"
FCGI_LOG=$CERTVAULT_HOME/log/certvault-fcgi.log
t_on_exit 'stack_restore >/dev/null 2>&1'

# --- health ------------------------------------------------------------------------------------
KV_TOKEN='' kv_curl GET /healthz/live
assert_status 200 "/healthz/live: 200 without a token"
assert_json . '{"status":"ok"}' "/healthz/live: body"
KV_TOKEN='' kv_curl GET /healthz/ready
assert_status 200 "/healthz/ready: 200"
assert_json . '{"status":"ok","database":"ok","masterKey":"loaded"}' "/healthz/ready: database and master key"
assert_eq "" "$(kv_header Retry-After)" "/healthz/ready: no Retry-After when ready"

# --- request ids -------------------------------------------------------------------------------
CRID=ops-$(cv_random_hex 8)
kv_curl GET "$LIST" -H "x-ms-client-request-id: $CRID"
assert_status 200 "list with a client request id: 200"
RID1=$(kv_header x-ms-request-id)
assert_match '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "$RID1" "x-ms-request-id is a GUID"
assert_header x-ms-client-request-id "$CRID" "x-ms-client-request-id echoed"
kv_curl GET "/certificates/no-such-$CRID?api-version=$API"
assert_status 404 "an error answer (404)"
RID2=$(kv_header x-ms-request-id)
assert_match '^[0-9a-f-]{36}$' "$RID2" "errors carry x-ms-request-id too"
assert_ne "$RID1" "$RID2" "each request has its own id"
KV_TOKEN='' kv_curl GET "$LIST"
assert_status 401 "the 401 challenge"
assert_match '^[0-9a-f-]{36}$' "$(kv_header x-ms-request-id)" "the 401 challenge carries x-ms-request-id"
wait_until 5 grep -q "request_id=$RID1" "$FCGI_LOG"
assert_match "access vault=$CERTVAULT_VAULT_NAME method=GET path=/certificates status=200 duration_ms=[0-9.]+ request_id=$RID1 client_request_id=$CRID remote_addr=127\\.0\\.0\\.1\$" \
	"$(grep "request_id=$RID1" "$FCGI_LOG")" "access log: our request id, the client's, the client address"
kv_curl GET "$LIST" -H "x-ms-client-request-id: a b\"c"
wait_until 5 grep -q 'client_request_id=a_b"c' "$FCGI_LOG"
assert_true "access log: blanks in a client request id cannot split the line" grep -q 'client_request_id=a_b"c remote_addr=' "$FCGI_LOG"

# --- /metrics ----------------------------------------------------------------------------------
# metric NAME{LABELS}: its value in the last scrape (0 when absent).
scrape() {
	KV_TOKEN='' kv_curl GET /metrics
	cp "$T_TMP/kv.body" "$T_TMP/metrics.txt"
}
metric() {
	awk -v k="$1 " 'substr($0, 1, length(k)) == k { v = $NF } END { print (v == "" ? 0 : v) }' "$T_TMP/metrics.txt"
}
scrape
assert_status 200 "/metrics from 127.0.0.1: 200 without a token"
assert_match '^text/plain; version=0\.0\.4' "$(kv_header Content-Type)" "/metrics: Prometheus text format 0.0.4"
# Every sample line: name{labels} value; every family has HELP and TYPE.
bad=$(grep -v '^#' "$T_TMP/metrics.txt" | grep -Ev '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-z_]+="([^"\\]|\\.)*"(,[a-z_]+="([^"\\]|\\.)*")*\})? -?[0-9.e+]+$' | head -n 3)
assert_eq "" "$bad" "/metrics: every sample line is well formed"
missing=$(grep -v '^#' "$T_TMP/metrics.txt" | sed 's/[{ ].*//; s/_\(bucket\|sum\|count\)$//' | sort -u |
	while read -r fam; do grep -q "^# TYPE $fam " "$T_TMP/metrics.txt" || echo "$fam"; done)
assert_eq "" "$missing" "/metrics: every family has a TYPE line"

R='route="GET /certificates"'
before=$(metric "certvault_http_requests_total{$R,status=\"200\"}")
cbefore=$(metric "certvault_http_request_duration_seconds_count{$R}")
for _ in 1 2 3; do kv_curl GET "$LIST"; done
kv_curl GET "/nothing-here-$CRID?api-version=$API"
assert_status 404 "an unmatched path: 404"
ubefore=$(metric 'certvault_http_requests_total{route="unmatched",status="404"}')
scrape
assert_eq $((before + 3)) "$(metric "certvault_http_requests_total{$R,status=\"200\"}")" "/metrics: three more 200s of GET /certificates"
assert_eq $((cbefore + 3)) "$(metric "certvault_http_request_duration_seconds_count{$R}")" "/metrics: three more in its histogram"
assert_eq "$((ubefore + 1))" "$(metric 'certvault_http_requests_total{route="unmatched",status="404"}')" "/metrics: the unmatched 404 counted"
assert_eq "$(metric "certvault_http_request_duration_seconds_count{$R}")" \
	"$(metric "certvault_http_request_duration_seconds_bucket{$R,le=\"+Inf\"}")" "/metrics: +Inf bucket = count"
mono=$(grep "^certvault_http_request_duration_seconds_bucket{$R," "$T_TMP/metrics.txt" |
	awk '{ if ($NF + 0 < prev) bad = 1; prev = $NF + 0 } END { print bad ? "no" : "yes" }')
assert_eq yes "$mono" "/metrics: histogram buckets are cumulative"

# Pending operations: an Unknown-issuer create waits for a merge.
NAME=ops-$(cv_random_hex 4)
pbefore=$(metric 'certvault_pending_operations{status="inProgress",provider="Unknown"}')
kv_send POST "/certificates/$NAME/create?api-version=$API" \
	'{"policy":{"key_props":{"kty":"EC","crv":"P-256","exportable":true},"x509_props":{"subject":"CN=ops"},"issuer":{"name":"Unknown"}}}'
assert_status 202 "create with issuer Unknown: 202"
scrape
assert_eq $((pbefore + 1)) "$(metric 'certvault_pending_operations{status="inProgress",provider="Unknown"}')" "/metrics: one more Unknown operation inProgress"
age=$(metric 'certvault_pending_oldest_age_seconds{provider="Unknown"}')
assert_true "/metrics: oldest Unknown operation's age ($age s) is there" awk -v a="$age" 'BEGIN { exit !(a >= 0) }'
assert_eq "$(t_psql "SELECT count(*) FROM pending_operations WHERE status = 'inProgress' AND issuer_name = 'Unknown'")" \
	"$(metric 'certvault_pending_operations{status="inProgress",provider="Unknown"}')" "/metrics: the gauge is what the table says"
for spec in $(t_psql "SELECT key_spec FROM key_pool_depth"); do
	assert_eq "$(t_psql "SELECT keys FROM key_pool_depth WHERE key_spec = '$spec'")" \
		"$(metric "certvault_key_pool_keys{key_type=\"$spec\"}")" "/metrics: key pool $spec as key_pool_depth says"
done
WPID=$(cv_pid_of "$CERTVAULT_WORKER_PIDFILE")
WID="$(hostname):$WPID"
assert_true "/metrics: the stack's certvault-worker ($WID) reports" grep -q "^certvault_worker_last_seen_seconds{worker=\"$WID\"}" "$T_TMP/metrics.txt"
seen=$(metric "certvault_worker_last_seen_seconds{worker=\"$WID\"}")
assert_true "/metrics: its last pass was $seen s ago (< 60)" awk -v a="$seen" 'BEGIN { exit !(a < 60) }'
assert_eq "$(t_psql "SELECT claims FROM worker_heartbeats WHERE worker_id = '$WID'")" \
	"$(metric "certvault_worker_claims_total{worker=\"$WID\"}")" "/metrics: worker claims as worker_heartbeats says"
assert_eq 1 "$(metric certvault_database_up)" "/metrics: database up"

# Workers: one killed is counted and replaced.
MASTER=$(master_pid)
NW=$(children "$MASTER" | grep -c .)
assert_eq "$NW" "$(metric certvault_fcgi_workers)" "/metrics: certvault_fcgi_workers = the master's children ($NW)"
dbefore=$(metric certvault_fcgi_worker_deaths_total)
kill -KILL "$(children "$MASTER" | head -n 1)"
back() { [ "$(children "$MASTER" | grep -c .)" -eq "$NW" ]; }
wait_until 5 back
sleep 0.2
scrape
assert_eq $((dbefore + 1)) "$(metric certvault_fcgi_worker_deaths_total)" "/metrics: the killed worker counted (a counter kept by the master, not the worker)"
assert_true "/metrics: request counters survived the worker's death" \
	awk -v a="$(metric "certvault_http_requests_total{$R,status=\"200\"}")" -v b="$((before + 3))" 'BEGIN { exit !(a >= b) }'

# Operators only: another source address gets Key Vault's 403.
KV_TOKEN='' kv_curl GET /metrics --interface 127.0.0.2
assert_kv_error 403 Forbidden "Operator pages are served only to the addresses in operator_networks." "/metrics from 127.0.0.2 (not in operator_networks): 403"
assert_no_match 'certvault_' "$KV_BODY" "/metrics refused: no metric in the body"

# --- a private instance: JSON logs, no master key, no database --------------------------------
(umask 077 && sed -e '/^log_format/d; /^master_key_file/d; /^database_url/d' "$CERTVAULT_CONFIG" >"$T_TMP/json.conf" &&
	printf 'log_format = json\nmaster_key_file = %s\ndatabase_url = %s\n' "$T_TMP/absent.key" \
		"$CERTVAULT_DATABASE_URL" >>"$T_TMP/json.conf")
fcgi_private_start json --config "$T_TMP/json.conf" --workers 1
CRID2=json-$(cv_random_hex 6)
fcgi_req "$PRIV_SOCK" GET "$LIST" HTTP_X_MS_CLIENT_REQUEST_ID="$CRID2" REMOTE_ADDR=127.0.0.1
assert_status 200 "JSON-log instance: list 200"
RID3=$(kv_header x-ms-request-id)
wait_until 5 grep -q "$RID3" "$PRIV_LOG"
line=$(grep "$RID3" "$PRIV_LOG")
assert_eq 1 "$(printf '%s\n' "$line" | grep -c .)" "JSON log: one line for the request"
assert_eq access "$(printf '%s' "$line" | jq -r .msg)" "JSON log: the line is a JSON object, msg access"
assert_eq "$CRID2|200|/certificates|GET|$CERTVAULT_VAULT_NAME|INFO" \
	"$(printf '%s' "$line" | jq -r '[.client_request_id, .status, .path, .method, .vault, .level] | join("|")')" \
	"JSON log: client request id, status, path, method, vault, level"
assert_true "JSON log: duration_ms is a number" jq -e '.duration_ms | type == "number"' <<<"$line"
fcgi_req "$PRIV_SOCK" GET "/x%0A%22%7D%7B?api-version=$API" REMOTE_ADDR=127.0.0.1
RID4=$(kv_header x-ms-request-id)
wait_until 5 grep -q "$RID4" "$PRIV_LOG"
assert_eq "/x
\"}{" "$(grep "$RID4" "$PRIV_LOG" | jq -r .path)" "JSON log: a path with a newline and quotes stays one parseable line"
notjson=$(grep -v '^{' "$PRIV_LOG" | head -n 2)
assert_eq "" "$notjson" "JSON log: every line of the instance is a JSON object"
assert_true "JSON log: warnings carry their source location" jq -se 'map(select(.level == "ERROR" or .level == "WARNING")) | all(has("src"))' "$PRIV_LOG"

fcgi_req "$PRIV_SOCK" GET /healthz/ready REMOTE_ADDR=127.0.0.1
assert_status 503 "no master key: /healthz/ready 503"
assert_json . '{"status":"unavailable","database":"ok","masterKey":"missing"}' "no master key: ready says why"
assert_match '^[0-9]+$' "$(kv_header Retry-After)" "no master key: Retry-After"
fcgi_req "$PRIV_SOCK" GET /healthz/live REMOTE_ADDR=127.0.0.1
assert_status 200 "no master key: /healthz/live still 200 (do not restart it, it would not help)"
cv_fcgi_stop "$PRIV_PIDFILE" 2>/dev/null

(umask 077 && sed -e '/^database_url/d' "$CERTVAULT_CONFIG" >"$T_TMP/nodb.conf" &&
	printf 'database_url = postgresql://certvault@127.0.0.1:1/certvault\n' >>"$T_TMP/nodb.conf")
# The environment's database URL would win over the file's (cfg_build).
CERTVAULT_DATABASE_URL=postgresql://certvault@127.0.0.1:1/certvault fcgi_private_start nodb --config "$T_TMP/nodb.conf" --workers 1
fcgi_req "$PRIV_SOCK" GET /metrics REMOTE_ADDR=127.0.0.1
assert_status 200 "no database: /metrics still 200 (the process's own counters)"
assert_match 'certvault_database_up 0' "$FCGI_BODY" "no database: certvault_database_up 0"
assert_match 'certvault_database_errors_total\{kind="unavailable"\} [1-9]' "$FCGI_BODY" "no database: unavailable errors counted"
fcgi_req "$PRIV_SOCK" GET /healthz/ready REMOTE_ADDR=127.0.0.1
assert_status 503 "no database: /healthz/ready 503"
fcgi_req "$PRIV_SOCK" GET /healthz/live REMOTE_ADDR=127.0.0.1
assert_status 200 "no database: /healthz/live 200"
fcgi_req "$PRIV_SOCK" GET /metrics REMOTE_ADDR=10.1.2.3
assert_status 403 "no database: /metrics from 10.1.2.3: 403"
cv_fcgi_stop "$PRIV_PIDFILE" 2>/dev/null

# --- wrong settings are refused at start -------------------------------------------------------
for bad in 'log_format = xml|log_format must be text or json' \
	'operator_networks = 127.0.0.1/33|operator_networks: "127.0.0.1" has no valid prefix length' \
	'operator_networks = localhost|operator_networks: "localhost" is not an IP address'; do
	(umask 077 && cp "$CERTVAULT_CONFIG" "$T_TMP/bad.conf" && printf '%s\n' "${bad%%|*}" >>"$T_TMP/bad.conf")
	out=$(timeout 10 "$CERTVAULT_BUILD_DIR/src/certvault-fcgi" --config "$T_TMP/bad.conf" --listen "unix:$T_TMP/bad.sock" 2>&1)
	rc=$?
	assert_ne 0 "$rc" "\"${bad%%|*}\": certvault-fcgi refuses to start"
	assert_match "${bad#*|}" "$out" "\"${bad%%|*}\": says why"
done

t_done
