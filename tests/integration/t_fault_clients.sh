#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through wait_until/assert_true
# Faults (issue 9): lost client connections and slow clients do not wedge
# certvault-fcgi's workers. Through each front end of the stack (lighttpd,
# and Apache when the stack runs it), at once and 3× as many of each as
# there are workers:
#   slowheaders  send the request headers one line a second, never ending
#   halfbody     send the headers and half the body, then nothing
#   trickle      send the body one byte every half second
#   dropbody     send half a body and disconnect (RST), again and again
#   dropresp     send a whole create or import and disconnect (RST) before
#                the answer, again and again
#   curl --max-time 0.02-0.1 on creates (gives up mid-request)
# Meanwhile normal requests (list, create, pending) are answered, each
# within 5 s; afterwards every worker is the one from before (none died or
# was replaced), each answers (3× workers requests in a row), none of the
# incomplete requests reached certvault (the front ends hold a request
# until its body is complete), and certvault-fcgi logged no crash.
. "$(dirname "$0")/lib.sh"

API=7.5
HOLD=8 # seconds each phase's slow clients stay connected
LIST="/certificates?api-version=$API"
FCGI_LOG=$CERTVAULT_HOME/log/certvault-fcgi.log
RUN=fc$(cv_random_hex 3)
t_on_exit "t_psql \"DELETE FROM certificates WHERE name LIKE '$RUN-%'\" >/dev/null"
t_on_exit 'stack_restore >/dev/null 2>&1'
PIDS=()
# shellcheck disable=SC2016 # expanded when the test exits
t_on_exit 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; true'

command -v python3 >/dev/null 2>&1 || bail "python3 is not installed"
command -v openssl >/dev/null 2>&1 || bail "openssl is not installed"
kv_curl GET "$LIST"
assert_status 200 "before: GET /certificates 200" || bail "the stack is not healthy"

MASTER=$(master_pid)
if [ -z "$MASTER" ] || ! cv_proc_alive "$MASTER"; then bail "no certvault-fcgi master running"; fi
NWORKERS=$(sed -n 's/^workers *= *\([0-9]*\).*/\1/p' "$CERTVAULT_CONFIG")
NWORKERS=${NWORKERS:-4}
N=$((3 * NWORKERS))
WORKERS=$(children "$MASTER" | tr '\n' ' ')
assert_eq "$NWORKERS" "$(wc -w <<<"$WORKERS")" "master $MASTER runs $NWORKERS workers ($WORKERS)"
LOG_LINES=$(wc -l <"$FCGI_LOG")

# A key and certificate for the imports (PEM, EC P-256).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj /CN=fault-import.example -keyout "$T_TMP/imp.key" -out "$T_TMP/imp.pem" \
	>/dev/null 2>&1 || bail "openssl could not make a certificate to import"
cat "$T_TMP/imp.key" "$T_TMP/imp.pem" | jq -Rsc '{value: .}' >"$T_TMP/import.json"

# The clients: python3, one thread per connection; prints one summary line.
cat >"$T_TMP/clients.py" <<'EOF'
import json, os, socket, ssl, struct, sys, threading, time

port, mode, n, hold, prefix = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
host, token, api = os.environ["CV_FAULT_HOST"], os.environ["CV_FAULT_TOKEN"], os.environ["CV_FAULT_API"]
imp = open(os.environ["CV_FAULT_IMPORT"], "rb").read()
ctx = ssl.create_default_context(cafile=os.environ["CV_FAULT_CA"])
create = json.dumps({"policy": {"key_props": {"kty": "EC", "crv": "P-256"},
                                "x509_props": {"subject": "CN=fault.example"},
                                "issuer": {"name": "Self"}}}).encode()
end = time.monotonic() + hold
stats = {"connections": 0, "errors": 0}
lock = threading.Lock()

def count(key):
    with lock:
        stats[key] = stats.get(key, 0) + 1

def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = ctx.wrap_socket(s, server_hostname=host)
    count("connections")
    return s

def head(path, length, extra=b""):
    return (b"POST %s?api-version=%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
            % (path.encode(), api.encode(), host.encode(), token.encode(), length, extra))

def reset(s):
    # An abrupt end (RST), as a client that vanishes.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()

def until_end(s):
    while time.monotonic() < end:
        time.sleep(0.1)
    s.close()

def slowheaders(i):
    s = connect()
    s.sendall(b"POST /certificates/%s-sh%d/create?api-version=%s HTTP/1.1\r\nHost: %s\r\n"
              % (prefix.encode(), i, api.encode(), host.encode()))
    k = 0
    while time.monotonic() < end:
        s.sendall(b"X-Slow-%d: x\r\n" % k)
        k += 1
        time.sleep(1)
    s.close()

def halfbody(i):
    s = connect()
    s.sendall(head("/certificates/%s-hb%d/create" % (prefix, i), len(create)) + create[:len(create) // 2])
    until_end(s)

def trickle(i):
    s = connect()
    body = b" " * 2000  # never complete within hold
    s.sendall(head("/certificates/%s-tr%d/create" % (prefix, i), len(body)))
    k = 0
    while time.monotonic() < end and k < len(body):
        s.sendall(body[k:k + 1])
        k += 1
        time.sleep(0.5)
    s.close()

def dropbody(i):
    k = 0
    while time.monotonic() < end:
        k += 1
        s = connect()
        s.sendall(head("/certificates/%s-db%d-%d/create" % (prefix, i, k), len(create)) + create[:20])
        time.sleep(0.05)
        reset(s)
        time.sleep(0.2)

def dropresp(i):
    k = 0
    while time.monotonic() < end:
        k += 1
        s = connect()
        if k % 2:
            s.sendall(head("/certificates/%s-dr%d-%d/create" % (prefix, i, k), len(create)) + create)
        else:
            s.sendall(head("/certificates/%s-di%d-%d/import" % (prefix, i, k), len(imp)) + imp)
        reset(s)
        time.sleep(0.2)

def run(i):
    try:
        globals()[mode](i)
    except Exception as e:
        count("errors")
        with lock:
            stats["last_error"] = repr(e)[:100]

threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
    time.sleep(0.01)
for t in threads:
    t.join()
print(mode, " ".join("%s=%s" % kv for kv in sorted(stats.items())))
EOF

# (Removed with T_TMP when the test exits.)
(umask 077 && printf 'Authorization: Bearer %s\n' "$CERTVAULT_TOKEN" >"$T_TMP/auth")

# curl_giveup PORT COUNT: COUNT creates, each curl giving up after
# 20-100 ms (mostly before certvault has answered).
curl_giveup() {
	local port=$1 k
	for ((k = 1; k <= $2; k++)); do
		curl -s -o /dev/null --max-time "0.0$((2 + RANDOM % 8))" --cacert "$CERTVAULT_CA" \
			--resolve "$CERTVAULT_VAULT_HOST:$port:127.0.0.1" -H "@$T_TMP/auth" \
			-H 'Content-Type: application/json' --data-binary \
			'{"policy":{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=fault.example"},"issuer":{"name":"Self"}}}' \
			"https://$CERTVAULT_VAULT_HOST:$port/certificates/$RUN-cg$k/create?api-version=$API"
		sleep 0.2
	done
}

# phase LABEL PORT: the bad clients against one front end, normal requests
# meanwhile, then the checks.
phase() {
	local label=$1 port=$2 m pids=() i name lat=() bad='' slow='' out t
	rm -f "$T_TMP"/clients-*.out
	for m in slowheaders halfbody trickle dropbody dropresp; do
		CV_FAULT_HOST=$CERTVAULT_VAULT_HOST CV_FAULT_TOKEN=$CERTVAULT_TOKEN CV_FAULT_API=$API \
			CV_FAULT_IMPORT=$T_TMP/import.json CV_FAULT_CA=$CERTVAULT_CA \
			timeout $((HOLD + 20)) python3 "$T_TMP/clients.py" "$port" "$m" "$N" "$HOLD" "$RUN-$label" \
			>"$T_TMP/clients-$m.out" 2>&1 &
		pids+=($!)
	done
	curl_giveup "$port" "$N" &
	pids+=($!)
	PIDS+=("${pids[@]}")
	sleep 1.5 # every slow client is connected

	# Normal requests while the bad clients are at it.
	for ((i = 1; i <= 9; i++)); do
		case $((i % 3)) in
		1) KV_PORT=$port KV_MAX_TIME=15 kv_curl GET "$LIST" ;;
		2)
			name=$RUN-$label-ok$i
			KV_PORT=$port KV_MAX_TIME=15 kv_send POST "/certificates/$name/create?api-version=$API" \
				'{"policy":{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=ok.example"},"issuer":{"name":"Self"}}}'
			;;
		0) KV_PORT=$port KV_MAX_TIME=15 kv_curl GET "/certificates/$name/pending?api-version=$API" ;;
		esac
		lat+=("$KV_TIME")
		case $KV_STATUS in 200 | 202) ;; *) bad+="#$i:$KV_STATUS " ;; esac
		awk -v t="$KV_TIME" 'BEGIN { exit !(t < 5) }' || slow+="#$i:${KV_TIME}s "
		sleep 0.4
	done
	diag "$label: latencies of 9 normal requests during the attack (s): ${lat[*]}"
	assert_eq "" "$bad" "$label: normal requests during the attack answered 200/202"
	assert_eq "" "$slow" "$label: each answered within 5 s"

	for t in "${pids[@]}"; do wait "$t" 2>/dev/null; done
	for m in slowheaders halfbody trickle dropbody dropresp; do
		out=$(cat "$T_TMP/clients-$m.out")
		diag "$label: $out"
		assert_match "^$m connections=[1-9][0-9]* errors=0( |$)" "$out" "$label: the $m clients ran"
	done

	# Every worker serves again, promptly.
	bad=
	for ((i = 1; i <= N; i++)); do
		KV_PORT=$port KV_MAX_TIME=10 kv_curl GET "$LIST"
		[ "$KV_STATUS" = 200 ] || bad+="#$i:$KV_STATUS "
		awk -v t="$KV_TIME" 'BEGIN { exit !(t < 5) }' || bad+="#$i:${KV_TIME}s "
	done
	assert_eq "" "$bad" "$label: afterwards $N requests in a row answer 200, each within 5 s"
	assert_eq "$WORKERS" "$(children "$MASTER" | tr '\n' ' ')" \
		"$label: the same $NWORKERS workers (none died or was replaced)"
}

phase lighttpd "$CERTVAULT_HTTPS_PORT"
if [ -n "${CERTVAULT_APACHE_PORT:-}" ] && [ -n "${CERTVAULT_APACHE_PIDFILE:-}" ] &&
	cv_pid_running "$CERTVAULT_APACHE_PIDFILE" apache2; then
	phase apache "$CERTVAULT_APACHE_PORT"
else
	diag "Apache is not running on this stack: its phase is skipped"
fi

# --- what reached certvault ------------------------------------------------------
NEWLOG=$(tail -n +"$((LOG_LINES + 1))" "$FCGI_LOG")
# The front ends keep an incomplete request to themselves: none of the
# slow or broken bodies (sh, hb, tr, db names) was handed to a worker.
assert_eq "" "$(grep -E "access .*path=/certificates/$RUN-[a-z]+-(sh|hb|tr|db)[0-9]" <<<"$NEWLOG" | head -n 3)" \
	"no incomplete request reached certvault"
DONE_DR=$(grep -cE "access .*path=/certificates/$RUN-[a-z]+-d[ri][0-9-]+/(create|import) status=20[0-9]" <<<"$NEWLOG")
diag "creates and imports whose client had gone, completed by certvault all the same: $DONE_DR"
assert_eq 0 "$(t_psql "SELECT count(*) FROM certificates c WHERE c.name LIKE '$RUN-%'
	AND NOT EXISTS (SELECT 1 FROM certificate_versions v WHERE v.certificate_id = c.id)")" \
	"SQL: every certificate stored has a version"
assert_eq "$MASTER" "$(master_pid)" "master pid unchanged ($MASTER)"
assert_no_match "killed by signal|exited with status|FATAL|ERROR pid=" "$NEWLOG" \
	"certvault-fcgi logged no crash and no error"

t_done
