#!/usr/bin/env bash
#
# bench/run.sh [--quick] [--tls-only | --plain-only] [--no-build] [--keep]
#
# The benchmark of issue 7: build, start a private stack on loopback
# (PostgreSQL, certvault-fcgi, certvault-worker, lighttpd with a TLS and a
# plain-HTTP listener), load certificates through the API, run wrk against
# each workload and print a markdown table of requests/s, p50/p99 latency,
# non-2xx answers and the ratio to the floor measured in the same run:
#   web floor  bench/noop-fcgi (same worker count) behind the same lighttpd
#   db floor   pgbench running the route's own statements (src/store_db.c)
#   key floor  GnuTLS key generations/s, one process per core
# certvault-worker keeps a key pool (key_pool_size 256, RSA-2048); the full
# run also measures GETs with 1,000 and with 1,000,000 certificates in the
# vault (bench/grow.sql) and the certvault-fcgi workers' memory over
# 1,000,000 GETs (max_requests = 0). See bench/README.md.
# The report also goes to bench/results/<YYYY-MM-DD>.md (-2, -3 … if that
# file exists). Everything started is stopped on exit, Ctrl-C included.
#
#   --quick       short runs, fewer workloads: about 2 minutes in all
#                 (the full run: about 14 minutes)
#   --tls-only    every workload over TLS (no plain-HTTP rows)
#   --plain-only  every workload over plain HTTP (no TLS rows)
#   --no-build    use the binaries in the tree as they are
#   --keep        keep the state directory (logs, data, wrk output)
#
# Environment (all optional): CERTVAULT_BENCH_HTTPS_PORT (28543),
# CERTVAULT_BENCH_PLAIN_PORT (28580), CERTVAULT_BENCH_PG_PORT (54380),
# CERTVAULT_BENCH_WORKERS (4), CERTVAULT_BENCH_CONNECTIONS (16),
# CERTVAULT_BENCH_THREADS (wrk threads, 1), CERTVAULT_BENCH_DURATION (seconds
# per workload: 5 quick, 20 full), CERTVAULT_BENCH_CERTS (Self EC certificates
# loaded: 200 quick, 500 full), CERTVAULT_BENCH_PENDING (Unknown ones with an
# operation in progress: 20 / 50), CERTVAULT_BENCH_BURST (200),
# CERTVAULT_BENCH_LOG_LEVEL (info), CERTVAULT_BENCH_MAX_REQUESTS (the stack's
# max_requests, 10000), CERTVAULT_BENCH_POOL_SIZE (key_pool_size, 256),
# CERTVAULT_BENCH_POOL_WAIT (seconds the burst waits for a warm pool, 180),
# CERTVAULT_BENCH_GROW_FROM / CERTVAULT_BENCH_GROW (vault sizes of the
# flat-cost GETs, full run: 1000 / 1000000; GROW=0 leaves them out),
# CERTVAULT_BENCH_MEM_REQUESTS (GETs of the worker memory run, full run:
# 1000000; 0 leaves it out), CERTVAULT_BENCH_STATE (an empty state directory, kept;
# default a new /tmp/cvbench.XXXXXX), CERTVAULT_BENCH_RESULTS (the report's file name),
# CERTVAULT_BENCH_KEEP=1 (as --keep).
#
# Only 127.0.0.1 is ever a target; every load loop is bounded by a duration
# or a count. Plain HTTP exists for benchmarking on loopback only.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$BENCH_DIR/.."
# shellcheck source-path=SCRIPTDIR source=../scripts/stack.sh disable=SC2119
. scripts/stack.sh

usage() { sed -n '3,/^# Environment/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

quick=
transports="plain tls"
tls_everything=
build=1
keep=${CERTVAULT_BENCH_KEEP:-}
while [ "$#" -gt 0 ]; do
    case $1 in
        --quick) quick=1 ;;
        --tls-only) transports=tls; tls_everything=1 ;;
        --plain-only) transports=plain ;;
        --no-build) build= ;;
        --keep) keep=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
    shift
done
mode=full
[ -n "$quick" ] && mode=quick

HTTPS_PORT=${CERTVAULT_BENCH_HTTPS_PORT:-28543}
PLAIN_PORT=${CERTVAULT_BENCH_PLAIN_PORT:-28580}
PG_PORT=${CERTVAULT_BENCH_PG_PORT:-54380}
# The ACME http-01 listener newer templates have (not benchmarked).
HTTP01_PORT=${CERTVAULT_BENCH_HTTP01_PORT:-28180}
WORKERS=${CERTVAULT_BENCH_WORKERS:-4}
CONNS=${CERTVAULT_BENCH_CONNECTIONS:-16}
THREADS=${CERTVAULT_BENCH_THREADS:-1}
BURST=${CERTVAULT_BENCH_BURST:-200}
MAX_REQUESTS=${CERTVAULT_BENCH_MAX_REQUESTS:-10000}
# certvault-worker's key pool: key_pool_size of RSA-2048 keys; the burst
# first waits (at most POOL_WAIT seconds) until the pool holds BURST keys.
POOL_SIZE=${CERTVAULT_BENCH_POOL_SIZE:-256}
POOL_WAIT=${CERTVAULT_BENCH_POOL_WAIT:-180}
# Full run only: GETs with GROW_FROM certificates in the vault, then with GROW
# (bulk-loaded by bench/grow.sql); the worker memory run of MEM_REQUESTS GETs.
GROW_FROM=${CERTVAULT_BENCH_GROW_FROM:-1000}
GROW=${CERTVAULT_BENCH_GROW:-1000000}
MEM_REQUESTS=${CERTVAULT_BENCH_MEM_REQUESTS:-1000000}
API=7.4
if [ -n "$quick" ]; then
    DURATION=${CERTVAULT_BENCH_DURATION:-5}
    N_SELF=${CERTVAULT_BENCH_CERTS:-200}
    N_UNKNOWN=${CERTVAULT_BENCH_PENDING:-20}
    KEY_SECONDS=3
    PG_SECONDS=3
else
    DURATION=${CERTVAULT_BENCH_DURATION:-20}
    N_SELF=${CERTVAULT_BENCH_CERTS:-500}
    N_UNKNOWN=${CERTVAULT_BENCH_PENDING:-50}
    KEY_SECONDS=10
    PG_SECONDS=15
fi
# Names of the loaded certificates are numbers (valid Key Vault names), so
# that wrk and pgbench draw the same ones: BASE+1 … BASE+COUNT.
SELF_BASE=100000
UNKNOWN_BASE=200000
NPROC=$(nproc)

# Read by scripts/stack.sh (cv_write_config, cv_bootstrap).
# shellcheck disable=SC2034
CV_WORKERS=$WORKERS
CV_VAULT_NAME=bench
# shellcheck disable=SC2034
CV_VAULT_HOST=bench.vault.localhost
CV_LOG_LEVEL=${CERTVAULT_BENCH_LOG_LEVEL:-info}

say() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

for n in "$HTTPS_PORT" "$PLAIN_PORT" "$PG_PORT" "$HTTP01_PORT" "$WORKERS" "$CONNS" "$THREADS" "$DURATION" \
    "$N_SELF" "$N_UNKNOWN" "$BURST" "$MAX_REQUESTS" "$POOL_SIZE" "$POOL_WAIT" "$GROW_FROM" "$GROW" \
    "$MEM_REQUESTS"; do
    [[ $n =~ ^[0-9]+$ ]] || die "not a number: $n"
done
[ "$CONNS" -ge "$THREADS" ] || die "CERTVAULT_BENCH_CONNECTIONS must be >= CERTVAULT_BENCH_THREADS"
if [ "$N_SELF" -lt 1 ] || [ "$N_UNKNOWN" -lt 1 ]; then die "load at least one certificate of each kind"; fi

t_start=$(date +%s)
started_at=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------
# Packages, build, state directory, cleanup
# ---------------------------------------------------------------------------
command -v wrk >/dev/null 2>&1 || say "wrk is missing: installing it"
cv_install_packages wrk

if [ -n "${CERTVAULT_BENCH_STATE:-}" ]; then
    mkdir -p "$CERTVAULT_BENCH_STATE"
    state=$(cd "$CERTVAULT_BENCH_STATE" && pwd)
    # A used one holds a database whose names the load would collide with.
    [ -z "$(ls -A "$state")" ] || die "CERTVAULT_BENCH_STATE ($state) must be a new or empty directory"
    own_state=
else
    state=$(mktemp -d /tmp/cvbench.XXXXXX)
    own_state=1
fi

noop_pidfile=$state/run/noop-fcgi.pid
bg_pids=()
finished=
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM HUP
    for p in "${bg_pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    cv_stop_pid "$noop_pidfile" noop-fcgi 5 || true
    cv_stack_stop 2>/dev/null || true
    if [ "$rc" -ne 0 ] && [ -z "$finished" ] && [ -n "${CV_LOG_DIR:-}" ]; then
        cv_show_logs 20
    fi
    if [ -n "$keep" ] || [ -z "$own_state" ]; then
        say "state kept in $state"
    else
        rm -rf "$state"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The fifth argument (the http-01 port) is ignored by a stack.sh without it.
cv_init "$state" "$HTTPS_PORT" "$PG_PORT" "" "$HTTP01_PORT"
mkdir -p "$state/bin" "$state/data" "$state/wrk" "$state/pgbench" "$state/gen"
chmod 0700 "$state/data"

if [ -n "$build" ]; then
    say "building certvault (log: $CV_LOG_DIR/build.log)"
    if ! (cv_build) >"$CV_LOG_DIR/build.log" 2>&1; then
        tail -n 20 "$CV_LOG_DIR/build.log" >&2
        if [ -x "$CV_FCGI_BIN" ] && [ -x "$CV_WORKER_BIN" ] && [ -x "$CV_ADMIN_BIN" ]; then
            say "warning: the build failed (others may be editing src/): using the binaries there are"
        else
            die "build failed"
        fi
    fi
fi
for b in "$CV_FCGI_BIN" "$CV_WORKER_BIN" "$CV_ADMIN_BIN"; do
    [ -x "$b" ] || die "$b is not built (run without --no-build)"
done
# The binaries under test, copied: a build in the tree during the run (others
# may be working there) changes nothing, also when certvault-fcgi restarts.
cp "$CV_FCGI_BIN" "$CV_WORKER_BIN" "$CV_ADMIN_BIN" "$state/bin/" || die "cannot copy the binaries"
CV_FCGI_BIN=$state/bin/$(basename "$CV_FCGI_BIN")
CV_WORKER_BIN=$state/bin/$(basename "$CV_WORKER_BIN")
CV_ADMIN_BIN=$state/bin/$(basename "$CV_ADMIN_BIN")

say "building the bench tools into $state/bin"
CFLAGS_BENCH=(-O2 -Wall -Wextra)
cc "${CFLAGS_BENCH[@]}" -o "$state/bin/noop-fcgi" "$BENCH_DIR/noop-fcgi.c" -lfcgi ||
    die "cannot build noop-fcgi (libfcgi-dev)"
# shellcheck disable=SC2046
cc "${CFLAGS_BENCH[@]}" -o "$state/bin/keygen" "$BENCH_DIR/keygen.c" $(pkg-config --cflags --libs gnutls) ||
    die "cannot build keygen (libgnutls28-dev)"
# shellcheck disable=SC2046
cc "${CFLAGS_BENCH[@]}" -o "$state/bin/signcsr" "$BENCH_DIR/signcsr.c" $(pkg-config --cflags --libs gnutls) ||
    die "cannot build signcsr (libgnutls28-dev)"
# The statement table, cut out of src/store_db.c: its macros and stmts[].
have_stmts=
awk '/^#define [A-Z_]+ \\$/ && !s { s = 1 } s { print } s && /^};/ { exit }' \
    "$CV_SRC_DIR/src/store_db.c" >"$state/gen/stmts.inc"
# shellcheck disable=SC2046
if cc -O0 -I"$state/gen" -I"$CV_BUILD_DIR" -I"$CV_SRC_DIR" -I"$CV_SRC_DIR/src" \
    $(pkg-config --cflags libpq) -o "$state/bin/stmt-dump" "$BENCH_DIR/stmt-dump.c" \
    >"$CV_LOG_DIR/stmt-dump.log" 2>&1; then
    have_stmts=1
else
    say "warning: cannot extract the statements from src/store_db.c (log: $CV_LOG_DIR/stmt-dump.log): no database floor"
fi

# ---------------------------------------------------------------------------
# Measurement helpers
# ---------------------------------------------------------------------------
plain_url=http://127.0.0.1:$PLAIN_PORT
tls_url=https://127.0.0.1:$HTTPS_PORT
url_of() { if [ "$1" = tls ]; then echo "$tls_url"; else echo "$plain_url"; fi; }

# Results: one line per run in results.tsv (key via conns rps p50 p99 non2xx
# errors requests); floors in floors.tsv (key value p50 p99 note).
RESULTS=$state/results.tsv
FLOORS=$state/floors.tsv
: >"$RESULTS"
: >"$FLOORS"

# result KEY VIA COLUMN: a field of a run's line in results.tsv.
result() { awk -F'\t' -v k="$1" -v via="$2" -v c="$3" '$1 == k && $2 == via { print $c }' "$RESULTS"; }
ms() { awk -v u="$1" 'BEGIN { if (u == "-" || u == "") print "-"; else printf "%.2f", u / 1000 }'; }
num() { awk -v v="$1" 'BEGIN { if (v == "" || v == "-") print "-"; else printf "%.0f", v }'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# run_wrk KEY VIA CONNS SCRIPT DURATION [BOUNDED] -- SCRIPT_ARGS...: one wrk
# run; appends its result to results.tsv (or, for a KEY of floor-*, to
# floors.tsv). BOUNDED=bounded: the script stops its threads when their share
# is done; wrk is then interrupted (SIGINT ends its sleep) instead of waiting
# out the duration, which stays the upper bound.
run_wrk() {
    local key=$1 via=$2 conns=$3 script=$4 dur=$5 bounded=${6:-} url out line pid i threads
    shift 6
    [ "${1:-}" = -- ] && shift
    url=$(url_of "$via")
    out=$state/wrk/$key-$via.out
    threads=$THREADS
    [ "$conns" -lt "$threads" ] && threads=$conns
    rm -rf "$state/wrk/done" && mkdir -p "$state/wrk/done"
    say "wrk $key over $via: $conns connections, ${dur}s${bounded:+ at most}"
    CV_BENCH_TOKEN=$CV_TOKEN CV_BENCH_API=$API CV_BENCH_RUN=$run_id \
        CV_BENCH_DATA=$state/data CV_BENCH_LUA=$BENCH_DIR/lua \
        CV_BENCH_DONE_DIR=$state/wrk/done \
        wrk -t "$threads" -c "$conns" -d "${dur}s" --timeout 30s --latency \
        -s "$BENCH_DIR/lua/$script" "$url" -- "$@" >"$out" 2>&1 &
    pid=$!
    bg_pids+=("$pid")
    if [ "$bounded" = bounded ]; then
        # Poll until every thread has reported (or wrk ends by itself).
        i=0
        while kill -0 "$pid" 2>/dev/null; do
            if [ "$(find "$state/wrk/done" -type f | wc -l)" -ge "$threads" ]; then
                kill -INT "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.1
            i=$((i + 1))
        done
    fi
    wait "$pid" || { cat "$out" >&2; die "wrk $key failed"; }
    bg_pids=()
    line=$(grep '^@@bench ' "$out" | tail -n 1) || { cat "$out" >&2; die "wrk $key printed no result"; }
    local rps p50 p99 non2xx errors requests
    rps=$(field rps "$line")
    p50=$(field p50_us "$line")
    p99=$(field p99_us "$line")
    non2xx=$(field non2xx "$line")
    errors=$(field errors "$line")
    requests=$(field requests "$line")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$key" "$via" "$conns" "$rps" "$p50" "$p99" \
        "$non2xx" "$errors" "$requests" >>"$RESULTS"
    say "  $(num "$rps") req/s, p50 $(ms "$p50") ms, p99 $(ms "$p99") ms, non-2xx $non2xx, socket errors $errors"
    settle
}

# settle: after a run, wait until certvault has finished what lighttpd
# had already handed it (wrk stops sending, not the requests in flight, e.g.
# queued imports): its log (one access line per request) stops growing for
# half a second. At most 30 s.
settle() {
    local log=$CV_LOG_DIR/certvault-fcgi.log a b i=0
    [ -f "$log" ] || return 0
    a=$(stat -c %s "$log")
    while [ "$i" -lt 60 ]; do
        sleep 0.5
        b=$(stat -c %s "$log")
        [ "$a" = "$b" ] && return 0
        a=$b
        i=$((i + 1))
    done
    say "warning: certvault was still busy 30 s after the run"
}

floor_add() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "${3:--}" "${4:--}" "${5:-}" >>"$FLOORS"; }
floor_get() { awk -F'\t' -v k="$1" '$1 == k { v = $2 } END { print v }' "$FLOORS"; }

# Key floor: `nproc` keygen processes for KEY_SECONDS, rates summed.
key_floor() {
    local type=$1 i total pids=() f
    say "key floor: $type, $NPROC processes, ${KEY_SECONDS}s"
    for ((i = 0; i < NPROC; i++)); do
        "$state/bin/keygen" "$type" "$KEY_SECONDS" >"$state/keygen-$type-$i.out" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || die "keygen $type failed"; done
    total=0
    for f in "$state"/keygen-"$type"-*.out; do
        total=$(awk -v t="$total" '{ printf "%.1f", t + $1 / $2 }' "$f")
    done
    floor_add "key-$type" "$total" - - "$NPROC processes x ${KEY_SECONDS}s, gnutls_privkey_generate2"
    say "  $total keys/s"
}

# psql as certvault over TCP (the password through the environment only).
pg_env() {
    env PGHOST=127.0.0.1 PGPORT="$PG_PORT" PGUSER=certvault PGDATABASE=certvault \
        PGPASSWORD="$(cat "$CV_DB_PASSWORD_FILE")" PGCONNECT_TIMEOUT=5 "$@"
}
sql() { pg_env psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }

# A statement of src/store_db.c with its $N parameters as pgbench variables
# (or SQL literals): stmt_for_pgbench STMT "1=:vault 2=:name 3=NULL".
stmt_for_pgbench() {
    local s m n r
    s=$("$state/bin/stmt-dump" "$1") || die "stmt-dump $1 failed"
    # Highest numbers first, so that $1 never eats the start of $12.
    for m in $(tr ' ' '\n' <<<"$2" | sort -t= -k1,1nr); do
        n=${m%%=*}
        r=${m#*=}
        s=$(sed -E "s/\\\$$n([^0-9]|\$)/$r\\1/g" <<<"$s")
    done
    printf '%s;\n' "$s"
}

# pgbench_floor KEY FILE: the transaction (the route's statements) with
# WORKERS clients, as many as there are certvault workers, each with one
# connection: -M prepared, as certvault prepares every statement.
pgbench_floor() {
    local key=$1 file=$2 jobs out tps lat p50 p99
    jobs=$WORKERS
    [ "$jobs" -gt "$NPROC" ] && jobs=$NPROC
    out=$state/pgbench/$key
    rm -f "$out".log*
    say "db floor: $key, pgbench -M prepared -c $WORKERS -T $PG_SECONDS"
    (cd "$state/pgbench" && pg_env pgbench -n -M prepared -c "$WORKERS" -j "$jobs" -T "$PG_SECONDS" \
        -f "$file" -D vault="$vault_id" -D host=127.0.0.1 -D tokhash="\\x$token_hash" \
        -D lim=26 -D pend=false -l --log-prefix="$key.log" >"$out.out" 2>&1) ||
        { cat "$out.out" >&2; die "pgbench $key failed"; }
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out.out" | tail -n 1)
    lat=$(cat "$state/pgbench/$key".log* | awk '{ print $3 }' | sort -n)
    p50=$(awk '{ a[NR] = $1 } END { i = int(NR * 0.50); if (i < 1) i = 1; print a[i] }' <<<"$lat")
    p99=$(awk '{ a[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; print a[i] }' <<<"$lat")
    floor_add "$key" "$tps" "$p50" "$p99" "pgbench, $WORKERS clients"
    say "  $(num "$tps") transactions/s, p50 $(ms "$p50") ms, p99 $(ms "$p99") ms"
}

# load_certs BASE COUNT BODY: create BASE+1 … BASE+COUNT through the API with
# one curl (--parallel); every answer must be 202.
load_certs() {
    local base=$1 count=$2 body=$3 cfg codes i good url
    url=$(url_of "${transports%% *}")
    cfg=$state/data/load.curl
    (
        umask 077
        printf '%s\n' "$body" >"$state/data/load-body.json"
        for ((i = base + 1; i <= base + count; i++)); do
            printf 'url = "%s/certificates/%d/create?api-version=%s"\n' "$url" "$i" "$API"
            printf 'request = "POST"\nheader = "Authorization: Bearer %s"\n' "$CV_TOKEN"
            printf 'header = "Content-Type: application/json"\ncacert = "%s"\n' "$CV_CERT"
            printf 'data = "@%s"\noutput = "/dev/null"\n' "$state/data/load-body.json"
            printf 'write-out = "%%{http_code}\\n"\n'
            if [ "$i" -lt $((base + count)) ]; then printf 'next\n'; fi
        done >"$cfg"
    )
    codes=$(curl -s --no-progress-meter --parallel --parallel-max 8 -K "$cfg" 2>>"$CV_LOG_DIR/load.log") || true
    rm -f "$cfg"
    good=$(grep -c '^202$' <<<"$codes" || true)
    [ "$good" -eq "$count" ] ||
        die "loading certificates: $good of $count creates answered 202 ($(sort <<<"$codes" | uniq -c | tr '\n' ' '))"
}

# Start lighttpd (the project's template plus the plain listener) in front of
# the FastCGI socket given.
bench_lighttpd_start() {
    local socket=$1 saved=$CV_FCGI_SOCKET tmpl=$state/etc/lighttpd-bench.conf.in
    cat "$CV_SRC_DIR/apache-conf/lighttpd.conf.in" >"$tmpl"
    sed "s|@PLAIN_PORT@|$PLAIN_PORT|g" "$BENCH_DIR/lighttpd-plain.conf.in" >>"$tmpl"
    cv_port_open "$PLAIN_PORT" && die "port $PLAIN_PORT is already in use"
    CV_FCGI_SOCKET=$socket
    cv_lighttpd_start "$tmpl"
    CV_FCGI_SOCKET=$saved
    cv_wait_for "$CV_START_TIMEOUT" "plain listener :$PLAIN_PORT" cv_port_open "$PLAIN_PORT" ||
        die "lighttpd does not listen on $PLAIN_PORT"
}

# ---------------------------------------------------------------------------
# Key pool, vault growth, worker memory
# ---------------------------------------------------------------------------
POOL=$state/pool.tsv       # run, depth before, after, keys the worker made, keys taken
GROWTH=$state/growth.tsv   # name, value
MEMORY=$state/memory.tsv   # pid, VmRSS before, after, RssAnon before, after (kB)
PLANS=$state/plans.md
: >"$POOL"
: >"$GROWTH"
: >"$MEMORY"
: >"$PLANS"
growth_add() { printf '%s\t%s\n' "$1" "$2" >>"$GROWTH"; }
growth_get() { awk -F'\t' -v k="$1" '$1 == k { v = $2 } END { print v }' "$GROWTH"; }

# RSA-2048 keys ready in the pool (the view a DBA reads), and how many keys
# were ever put into it (its identity sequence: the worker's output).
pool_depth() { sql "SELECT COALESCE(sum(keys), 0) FROM key_pool_depth WHERE key_spec = 'RSA-2048'"; }
pool_made() { sql "SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence('key_pool', 'id')), 0)"; }
# pool_wait MIN SECONDS: until the pool holds MIN RSA-2048 keys; false if
# it does not after SECONDS.
pool_wait() {
    local t0
    t0=$(date +%s)
    until [ "$(pool_depth)" -ge "$1" ]; do
        [ $(($(date +%s) - t0)) -lt "$2" ] || return 1
        sleep 1
    done
}
# pool_run_start; run; pool_run_end NAME: what the pool gave that run.
pool_run_start() {
    pool_d0=$(pool_depth)
    pool_m0=$(pool_made)
}
pool_run_end() {
    local d1 m1 made taken
    d1=$(pool_depth)
    m1=$(pool_made)
    made=$((m1 - pool_m0))
    taken=$((made + pool_d0 - d1))
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$pool_d0" "$d1" "$made" "$taken" >>"$POOL"
    say "  key pool: $pool_d0 RSA-2048 keys before, $d1 after; the worker made $made, creates took $taken"
}

vault_certs() { sql "SELECT count(*) FROM certificates WHERE vault_id = $vault_id"; }

# grow_to N: bench/grow.sql adds copies of certificate SELF_BASE+1 until the
# bench vault holds N certificates.
grow_to() {
    local cur
    cur=$(vault_certs)
    [ "$cur" -lt "$1" ] || return 0
    pg_env psql -X -q -v ON_ERROR_STOP=1 -v vault="$vault_id" -v tpl="$((SELF_BASE + 1))" \
        -v first="$((cur + 1))" -v last="$1" -f "$BENCH_DIR/grow.sql" >>"$CV_LOG_DIR/grow.log" 2>&1 ||
        { tail -n 20 "$CV_LOG_DIR/grow.log" >&2; die "bench/grow.sql failed (log: $CV_LOG_DIR/grow.log)"; }
}

# db_quiesce: statistics and visibility maps of the tables the GETs read
# made fresh, dirty buffers written out, and no autovacuum at work (at most
# 60 s), so that none of that runs during the measurement after it.
db_quiesce() {
    local t i=0
    for t in certificates keys certificate_versions pending_operations; do
        sql "VACUUM (ANALYZE) $t" || die "VACUUM $t failed"
    done
    cv_pg_superuser_psql -c CHECKPOINT >/dev/null || say "warning: CHECKPOINT failed"
    while [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")" -gt 0 ]; do
        i=$((i + 1))
        if [ "$i" -gt 60 ]; then
            say "warning: autovacuum still at work after 60 s"
            break
        fi
        sleep 1
    done
}

# The plan of a read route's statement on the grown vault: prepared as
# certvault prepares it (parameters untyped), executed six times so that
# PostgreSQL may switch to a generic plan, then EXPLAIN ANALYZE of the 7th.
explain_stmt() {
    local stmt=$1 params=$2 raw i fence='```'
    raw=$("$state/bin/stmt-dump" "$stmt") || return 0
    {
        printf '%s, EXECUTE q(%s):\n\n%s\n' "$stmt" "$params" "$fence"
        {
            printf 'PREPARE q AS %s;\n\\o /dev/null\n' "$raw"
            for i in 1 2 3 4 5 6; do printf 'EXECUTE q(%s);\n' "$params"; done
            printf '\\o\nEXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE q(%s);\n' "$params"
        } | pg_env psql -X -q -A -t -v ON_ERROR_STOP=1 2>&1
        printf '%s\n\n' "$fence"
    } >>"$PLANS"
}

# The growth phase (full run): GET certificate and GET pending with
# GROW_FROM certificates in the vault, then with GROW.
grow_phase() {
    local n t0 t1 deleted
    say "flat cost: the vault back to what was loaded, then $GROW_FROM certificates"
    # What the workloads created goes (their names are not numbers): the
    # vault then holds what was loaded through the API at the start.
    t0=$(date +%s)
    deleted=$(sql "WITH d AS (DELETE FROM certificates WHERE vault_id = $vault_id
                              AND name !~ '^[0-9]+\$' RETURNING 1) SELECT count(*) FROM d")
    grow_to "$GROW_FROM"
    db_quiesce
    n=$(vault_certs)
    growth_add deleted "$deleted"
    growth_add small "$n"
    growth_add small_prepare_s $(($(date +%s) - t0))
    growth_add small_db_bytes "$(sql "SELECT pg_database_size(current_database())")"
    say "  $deleted certificates made by the workloads deleted; the vault holds $n"
    run_wrk grow-small-get-cert "$plain_or_tls" "$CONNS" get-certificate.lua "$D" - -- "$SELF_BASE" "$N_SELF"
    run_wrk grow-small-get-pending "$plain_or_tls" "$CONNS" get-pending.lua "$D" - -- "$UNKNOWN_BASE" "$N_UNKNOWN"

    say "flat cost: bulk-loading the vault to $GROW certificates (bench/grow.sql)"
    t0=$(date +%s)
    grow_to "$GROW"
    t1=$(date +%s)
    db_quiesce
    n=$(vault_certs)
    growth_add large "$n"
    growth_add load_s $((t1 - t0))
    growth_add quiesce_s $(($(date +%s) - t1))
    growth_add large_db_bytes "$(sql "SELECT pg_database_size(current_database())")"
    say "  the vault holds $n certificates (load $((t1 - t0)) s, VACUUM ANALYZE $(($(date +%s) - t1)) s)"
    run_wrk grow-large-get-cert "$plain_or_tls" "$CONNS" get-certificate.lua "$D" - -- "$SELF_BASE" "$N_SELF"
    run_wrk grow-large-get-pending "$plain_or_tls" "$CONNS" get-pending.lua "$D" - -- "$UNKNOWN_BASE" "$N_UNKNOWN"
    if [ -n "$have_stmts" ]; then
        explain_stmt STMT_VERSION_GET "$vault_id, '$((SELF_BASE + 1))', ''"
        explain_stmt STMT_PENDING_GET "$vault_id, '$((UNKNOWN_BASE + 1))'"
    fi
}

# Memory of each certvault-fcgi worker (the master's children), from
# /proc/PID/status: "PID VmRSS RssAnon" lines, kB. RssAnon is the part of
# VmRSS that is the process's own (heap, stacks), not mapped files.
fcgi_worker_rss() {
    local master p
    master=$(cv_pid_of "$CV_FCGI_PIDFILE")
    [ -n "$master" ] || return 0
    for p in $(ps -o pid= --ppid "$master"); do
        awk -v p="$p" '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } END { if (r != "") print p, r, a }' \
            "/proc/$p/status" 2>/dev/null || true
    done
}

# The memory phase (full run): certvault-fcgi again with max_requests = 0
# (workers never replaced), a short warm-up, VmRSS of each worker, then
# MEM_REQUESTS GETs (wrk runs sized by the measured rate, at most 15
# minutes in all), VmRSS again.
memory_phase() {
    local rate total=0 runs=0 d t0 before after n
    say "worker memory: certvault-fcgi restarted with max_requests = 0"
    sed -i "s/^max_requests = .*/max_requests = 0/" "$CV_CONFIG"
    cv_fcgi_stop
    cv_fcgi_start
    cv_wait_for "$CV_START_TIMEOUT" "certvault behind lighttpd" cv_healthy "$plain_url" ||
        die "certvault does not answer after its restart"
    run_wrk mem-warmup "$plain_or_tls" "$CONNS" get-certificate.lua 5 - -- "$SELF_BASE" "$N_SELF"
    before=$(fcgi_worker_rss)
    rate=$(result mem-warmup "$plain_or_tls" 4)
    t0=$(date +%s)
    while [ "$total" -lt "$MEM_REQUESTS" ] && [ "$runs" -lt 5 ] && [ $(($(date +%s) - t0)) -lt 900 ]; do
        # Long enough for what is left at the last rate seen, +5 %; 5-600 s.
        d=$(awk -v n="$((MEM_REQUESTS - total))" -v r="$rate" 'BEGIN {
            d = (r > 0) ? int(n / r * 1.05) + 1 : 600
            if (d < 5) d = 5; if (d > 600) d = 600; print d }')
        runs=$((runs + 1))
        run_wrk "mem-$runs" "$plain_or_tls" "$CONNS" get-certificate.lua "$d" - -- "$SELF_BASE" "$N_SELF"
        n=$(result "mem-$runs" "$plain_or_tls" 9)
        rate=$(result "mem-$runs" "$plain_or_tls" 4)
        total=$((total + n))
    done
    after=$(fcgi_worker_rss)
    growth_add mem_requests "$total"
    growth_add mem_runs "$runs"
    growth_add mem_seconds $(($(date +%s) - t0))
    growth_add mem_non2xx "$(awk -F'\t' '$1 ~ /^mem-[0-9]/ { n += $7 + $8 } END { print n + 0 }' "$RESULTS")"
    join -a 1 -a 2 -e - -o 0,1.2,2.2,1.3,2.3 <(sort <<<"$before") <(sort <<<"$after") | tr ' ' '\t' >"$MEMORY"
    say "  $total requests in $runs run(s); kB (pid, VmRSS before, after, RssAnon before, after): $(tr '\t\n' ' ;' <"$MEMORY")"
}

# ---------------------------------------------------------------------------
# 1. Key floor, while nothing else of ours runs
# ---------------------------------------------------------------------------
run_id=$(date +%H%M%S)$(cv_random_hex 2)
key_floor rsa2048
key_floor ecp256

# ---------------------------------------------------------------------------
# 2. PostgreSQL, configuration, vault and token
# ---------------------------------------------------------------------------
cv_pg_start
cv_tls_cert
cv_write_config
sed -i "s/^max_requests = .*/max_requests = $MAX_REQUESTS/" "$CV_CONFIG"
# certvault-worker's key pool, deep enough for the burst (it starts later,
# just before the RSA workloads: see section 6).
printf '# bench/run.sh: the key pool\nkey_pool_size = %s\nkey_pool_types = RSA-2048\n' "$POOL_SIZE" >>"$CV_CONFIG"
cv_bootstrap
vault_id=$(sql "SELECT id FROM vaults WHERE name = '$CV_VAULT_NAME'")
token_hash=$(sql "SELECT encode(token_hash, 'hex') FROM access_tokens t JOIN vaults v ON v.id = t.vault_id WHERE v.name = '$CV_VAULT_NAME' AND t.revoked_at IS NULL ORDER BY t.id LIMIT 1")
if [ -z "$vault_id" ] || [ -z "$token_hash" ]; then die "no vault or token in the database"; fi

# ---------------------------------------------------------------------------
# 3. Web server floor: the no-op responder behind the same lighttpd
# ---------------------------------------------------------------------------
noop_socket=$CV_RUN_DIR/noop.sock
rm -f "$noop_socket"
say "starting noop-fcgi ($WORKERS workers) on unix:$noop_socket"
cv_daemon "$CV_LOG_DIR/noop-fcgi.log" "$state/bin/noop-fcgi" "$noop_socket" "$WORKERS" "$noop_pidfile"
cv_daemon_started "$CV_LAST_PID" "$noop_pidfile" noop-fcgi "$CV_LOG_DIR/noop-fcgi.log" test -S "$noop_socket"
bench_lighttpd_start "$noop_socket"
for via in $transports; do
    # The GET certificate script, so that wrk does the same work per request.
    run_wrk floor-web "$via" "$CONNS" get-certificate.lua "$DURATION" - -- "$SELF_BASE" "$N_SELF"
done
cv_lighttpd_stop
cv_stop_pid "$noop_pidfile" noop-fcgi 5
awk -F'\t' '$1 == "floor-web" { printf "web-%s\t%s\t%s\t%s\tnoop-fcgi behind lighttpd, %s connections\n", $2, $4, $5, $6, $3 }' \
    "$RESULTS" >>"$FLOORS"
sed -i '/^floor-web\t/d' "$RESULTS"

# ---------------------------------------------------------------------------
# 4. certvault: FastCGI workers, lighttpd; data. certvault-worker starts
#    just before the RSA workloads (section 6): until then it would have
#    nothing to do but fill the key pool, on a core the other runs need.
# ---------------------------------------------------------------------------
cv_fcgi_start
bench_lighttpd_start "$CV_FCGI_SOCKET"
cv_wait_healthy "$CV_URL"
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$plain_url/healthz")" = 200 ] ||
    die "$plain_url/healthz is not 200"

say "loading $N_SELF Self EC P-256 certificates and $N_UNKNOWN Unknown ones (operation in progress)"
load_certs "$SELF_BASE" "$N_SELF" \
    '{"policy":{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=bench.example"},"issuer":{"name":"Self"}}}'
load_certs "$UNKNOWN_BASE" "$N_UNKNOWN" \
    '{"policy":{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=bench-pending.example"},"issuer":{"name":"Unknown"}}}'
# Fresh statistics for the tables certvault owns (not the catalogs).
printf '%s\n' "SELECT format('ANALYZE %I.%I', schemaname, tablename) FROM pg_tables WHERE tableowner = current_user" \
    '\gexec' | pg_env psql -X -q -v ON_ERROR_STOP=1 >/dev/null || die "ANALYZE failed"

# The PKCS#12 to import: EC P-256 key, self-signed certificate, a password.
(
    umask 077
    cd "$state/data"
    certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile import.key >/dev/null 2>&1
    printf 'cn = "bench-import.example"\ndns_name = "bench-import.example"\nexpiration_days = 365\ntls_www_server\nsigning_key\n' >import.tmpl
    certtool --generate-self-signed --load-privkey import.key --template import.tmpl \
        --outfile import.pem >/dev/null 2>&1
    # openssl's defaults (PBES2 AES-256, 2048 PBKDF2 iterations, SHA-256 MAC),
    # like most PKCS#12 files met in practice; certtool's own (600000
    # iterations) would measure PBKDF2 rather than certvault (bench/README.md).
    openssl pkcs12 -export -inkey import.key -in import.pem -name bench \
        -passout pass:bench -out import.p12 2>/dev/null
    printf '{"value":"%s","pwd":"bench"}' "$(base64 -w0 import.p12)" >import.json
) || die "cannot make the PKCS#12 to import (certtool)"

# ---------------------------------------------------------------------------
# 5. Database floor: the statements the read routes run, via pgbench
# ---------------------------------------------------------------------------
resolve=
if [ -n "$have_stmts" ]; then
    resolve=$(stmt_for_pgbench STMT_VAULT_RESOLVE "1=:host 2=:tokhash")
    {
        printf '\\set name random(%d, %d)\n' $((SELF_BASE + 1)) $((SELF_BASE + N_SELF))
        printf '%s\n' "$resolve"
        stmt_for_pgbench STMT_VERSION_GET "1=:vault 2=:name 3=''"
    } >"$state/pgbench/db-get-cert.sql"
    {
        printf '\\set name random(%d, %d)\n' $((UNKNOWN_BASE + 1)) $((UNKNOWN_BASE + N_UNKNOWN))
        printf '%s\n' "$resolve"
        stmt_for_pgbench STMT_PENDING_GET "1=:vault 2=:name"
    } >"$state/pgbench/db-get-pending.sql"
    {
        printf '%s\n' "$resolve"
        stmt_for_pgbench STMT_CERT_LIST "1=:vault 2=NULL 3=:lim 4=:pend"
    } >"$state/pgbench/db-list.sql"
    pgbench_floor db-get-cert "$state/pgbench/db-get-cert.sql"
    pgbench_floor db-get-pending "$state/pgbench/db-get-pending.sql"
    pgbench_floor db-list "$state/pgbench/db-list.sql"
fi

# ---------------------------------------------------------------------------
# 6. Workloads
# ---------------------------------------------------------------------------
D=$DURATION
plain_or_tls=${transports%% *}   # everything but the TLS reads goes this way
for via in $transports; do
    run_wrk get-pending "$via" "$CONNS" get-pending.lua "$D" - -- "$UNKNOWN_BASE" "$N_UNKNOWN"
    run_wrk get-cert "$via" "$CONNS" get-certificate.lua "$D" - -- "$SELF_BASE" "$N_SELF"
    if [ "$via" = plain ] || [ -z "$quick" ] || [ -n "$tls_everything" ]; then
        run_wrk list "$via" "$CONNS" list.lua "$D" -
    fi
done
if [ -z "$quick" ]; then
    run_wrk get-cert-256 "$plain_or_tls" 256 get-certificate.lua "$D" - -- "$SELF_BASE" "$N_SELF"
fi

via=$plain_or_tls
run_wrk create-unknown "$via" "$CONNS" create-unknown-ec.lua "$D" -

# Merge: sign the CSRs the create Unknown run left pending, merge each once.
sql "SELECT c.name || E'\\t' || translate(encode(p.csr, 'base64'), E'\\n', '')
       FROM certificates c JOIN pending_operations p ON p.certificate_id = c.id
      WHERE c.vault_id = $vault_id AND c.name LIKE 'u-$run_id-%' AND p.status = 'inProgress'
      ORDER BY c.id" >"$state/data/csr.tsv"
if "$state/bin/signcsr" <"$state/data/csr.tsv" >"$state/data/merge.tsv" 2>"$CV_LOG_DIR/signcsr.log" &&
    [ -s "$state/data/merge.tsv" ]; then
    say "merge: $(wc -l <"$state/data/merge.tsv") operations signed by a throwaway CA"
    run_wrk merge "$via" "$CONNS" merge.lua "$D" bounded -- "$THREADS"
else
    say "warning: no operation to merge (see $CV_LOG_DIR/signcsr.log): merge left out"
fi

run_wrk import "$via" "$CONNS" import-p12.lua "$D" -
run_wrk mixed "$via" "$CONNS" mixed.lua "$D" - -- "$SELF_BASE" "$N_SELF" 10

# RSA last: certvault-worker starts now, with an empty key pool, and fills
# it from here on (one process: 16 keys a pass, then 1 s of sleep).
# The sustained run therefore measures the steady state of a sustained load:
# every key is generated during the run, by the worker (then taken from the
# pool) or in the request when the pool is empty; the ratio is to the key
# floor either way. The burst then waits for a warm pool.
cv_worker_start
pool_run_start
run_wrk create-rsa "$via" "$WORKERS" create-self-rsa.lua "$D" -
pool_run_end sustained
if [ -z "$quick" ]; then
    say "burst: waiting (at most ${POOL_WAIT}s) until the pool holds $BURST RSA-2048 keys"
    t0=$(date +%s)
    if pool_wait "$BURST" "$POOL_WAIT"; then pool_warm=1; else pool_warm=; fi
    pool_wait_s=$(($(date +%s) - t0))
    pool_before_burst=$(pool_depth)
    if [ -n "$pool_warm" ]; then
        say "  $pool_before_burst keys after ${pool_wait_s}s"
    else
        say "warning: the pool holds only $pool_before_burst RSA-2048 keys after ${pool_wait_s}s: burst with a cold pool"
    fi
    pool_run_start
    # At most 2 minutes: a burst that takes longer shows as timeouts.
    run_wrk burst "$via" "$BURST" create-self-rsa-burst.lua 120 bounded -- "$BURST" "$THREADS"
    pool_run_end burst
fi
# Nothing else needs it: a refill would take a core from what follows.
cv_worker_stop

if [ -z "$quick" ] && [ "$GROW" -gt 0 ]; then grow_phase; fi
if [ -z "$quick" ] && [ "$MEM_REQUESTS" -gt 0 ]; then memory_phase; fi

cv_stack_stop
t_end=$(date +%s)

# ---------------------------------------------------------------------------
# 7. Report
# ---------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
judge() { # judge VALUE OP THRESHOLD → "met" / "missed"
    awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
        if (v == "-" || v == "") { print "-"; exit }
        ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0)
        print ok ? "met" : "missed" }'
}

label_of() {
    case $1 in
        get-pending) echo "GET pending" ;;
        get-cert) echo "GET certificate (latest)" ;;
        list) echo "list, first page of 25" ;;
        get-cert-256) echo "GET certificate, 256 connections" ;;
        create-unknown) echo "create Unknown EC P-256" ;;
        merge) echo "merge (x5c: the leaf)" ;;
        create-rsa) echo "create Self RSA-2048, sustained" ;;
        burst) echo "create Self RSA-2048, burst of $BURST, warm pool" ;;
        import) echo "import PKCS#12 (EC P-256)" ;;
        mixed) echo "mixed: 90% GET certificate, 10% create Self EC P-256" ;;
    esac
}

table() {
    local key via conns rps p50 p99 non2xx errors requests floor_key floor_name fv r target verdict ec50
    echo "| workload | via | conns | requests/s | p50 ms | p99 ms | non-2xx | floor | floor/s | ratio | target |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |"
    while IFS=$'\t' read -r key via conns rps p50 p99 non2xx errors requests; do
        case $key in grow-* | mem-*) continue ;; esac # sections of their own
        floor_key=web-$via
        floor_name="web ($via)"
        target=
        case $key in
            get-pending | get-cert) target=">= 0.6" ;;
            list) target=">= 0.35" ;;
            create-unknown) target=">= 0.2" ;;
            create-rsa) floor_key="key-rsa2048"; floor_name="key RSA-2048"; target=">= 0.85" ;;
        esac
        fv=$(floor_get "$floor_key")
        r=$(ratio "$rps" "$fv")
        verdict=
        if [ -n "$target" ]; then
            verdict="$target: $(judge "$r" "${target%% *}" "${target#* }")"
        fi
        case $key in
            get-cert-256)
                floor_name=-; fv=; r=-
                verdict="no errors, p99 < 50 ms: "
                if [ "$non2xx" -eq 0 ] && [ "$errors" -eq 0 ] && [ "$p99" -lt 50000 ]; then
                    verdict+="met"
                else
                    verdict+="missed"
                fi
                verdict+=" ($non2xx non-2xx, $errors socket errors, p99 $(ms "$p99") ms)" ;;
            burst)
                ec50=$(result create-unknown "$via" 5)
                floor_name="p50 of create EC"; fv=$(ms "$ec50"); r=$(ratio "$p50" "$ec50")
                verdict="p50 <= 2 x: $(judge "$r" "<=" 2)"
                if [ -z "${pool_warm:-}" ]; then verdict+=" (cold pool: ${pool_before_burst:-?} keys)"; fi ;;
        esac
        if [ "$errors" -gt 0 ]; then non2xx="$non2xx (+$errors socket)"; fi
        if [ "$key" = burst ]; then fv="$fv ms"; else fv=$(num "$fv"); fi
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(label_of "$key")" "$via" \
            "$conns" "$(num "$rps")" "$(ms "$p50")" "$(ms "$p99")" "$non2xx" "$floor_name" \
            "$fv" "$r" "${verdict:--}"
    done <"$RESULTS"
}

db_table() {
    local key via rps tps p50 p99
    echo "| route | via | route requests/s | pgbench tx/s | pgbench p50 ms | pgbench p99 ms | ratio route/db |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
    for key in get-cert get-pending list; do
        for via in $transports; do
            rps=$(result "$key" "$via" 4)
            [ -n "$rps" ] || continue
            tps=$(floor_get "db-$key")
            p50=$(awk -F'\t' -v k="db-$key" '$1 == k { print $3 }' "$FLOORS")
            p99=$(awk -F'\t' -v k="db-$key" '$1 == k { print $4 }' "$FLOORS")
            printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$(label_of "$key")" "$via" "$(num "$rps")" \
                "$(num "$tps")" "$(ms "$p50")" "$(ms "$p99")" "$(ratio "$rps" "$tps")"
        done
    done
}

floors_table() {
    echo "| floor | per second | p50 ms | p99 ms | how |"
    echo "| --- | ---: | ---: | ---: | --- |"
    awk -F'\t' '{ printf "| %s | %.0f | %s | %s | %s |\n", $1, $2,
        ($3 == "-" ? "-" : sprintf("%.2f", $3 / 1000)), ($4 == "-" ? "-" : sprintf("%.2f", $4 / 1000)), $5 }' "$FLOORS"
}

statements() {
    local f fence='```'
    [ -n "$have_stmts" ] || return 0
    for f in db-get-cert db-get-pending db-list; do
        printf '%s (pgbench script):\n\n%ssql\n%s\n%s\n\n' "$f" "$fence" "$(cat "$state/pgbench/$f.sql")" "$fence"
    done
}

pool_section() {
    local name d0 d1 made taken creates key
    echo "certvault-worker keeps key_pool_size = $POOL_SIZE RSA-2048 keys (one process: at most 16 keys a"
    echo "pass, then worker_interval = 1 s of sleep). It starts just before create Self RSA-2048,"
    echo "sustained, with an empty pool (its first keys may be in by the first request), and stops"
    echo "after the RSA runs."
    echo
    echo "| run | pool before | pool after | keys the worker made | creates with a pooled key | creates in all |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    while IFS=$'\t' read -r name d0 d1 made taken; do
        key=create-rsa
        [ "$name" = burst ] && key=burst
        creates=$(awk -F'\t' -v k="$key" '$1 == k { print $9 - $7 }' "$RESULTS")
        printf '| %s | %s | %s | %s | %s | %s |\n' "$(label_of "$key")" "$d0" "$d1" "$made" "$taken" "${creates:--}"
    done <"$POOL"
    echo
    echo "- sustained: the steady state of a sustained load. Every key is generated during the run,"
    echo "  either by the worker (taken from the pool) or in the request when the pool is empty; both"
    echo "  share the cores, so the ratio to the key floor is what it was before the pool."
    if [ -z "$quick" ]; then
        echo "- burst: waited ${pool_wait_s:-?} s for the pool to hold $BURST keys: $(if [ -n "${pool_warm:-}" ];
            then echo "reached, ${pool_before_burst:-?} keys"; else echo "NOT reached (${pool_before_burst:-?} keys after ${POOL_WAIT} s)"; fi)."
        echo "  Burst p50 $(ms "$(result burst "$plain_or_tls" 5)") ms against create Unknown EC P-256 p50 $(ms "$(result create-unknown "$plain_or_tls" 5)") ms:" \
            "ratio $(ratio "$(result burst "$plain_or_tls" 5)" "$(result create-unknown "$plain_or_tls" 5)") (target <= 2)."
    fi
}

growth_section() {
    local k a b r
    if [ -n "$quick" ] || [ "$GROW" -eq 0 ]; then echo "(full run only)"; return 0; fi
    echo "GETs of the same names (the $N_SELF / $N_UNKNOWN certificates loaded through the API at the start), $plain_or_tls,"
    echo "$CONNS connections, ${DURATION}s each: first with $(growth_get small) certificates in the vault, then with $(growth_get large)."
    echo
    echo "| route | req/s at $(growth_get small) | p50 / p99 ms | req/s at $(growth_get large) | p50 / p99 ms | ratio | target |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
    for k in get-cert get-pending; do
        a=$(result "grow-small-$k" "$plain_or_tls" 4)
        b=$(result "grow-large-$k" "$plain_or_tls" 4)
        r=$(ratio "$b" "$a")
        printf '| %s | %s | %s / %s | %s | %s / %s | %s | >= 0.9: %s |\n' "$(label_of "$k")" \
            "$(num "$a")" "$(ms "$(result "grow-small-$k" "$plain_or_tls" 5)")" "$(ms "$(result "grow-small-$k" "$plain_or_tls" 6)")" \
            "$(num "$b")" "$(ms "$(result "grow-large-$k" "$plain_or_tls" 5)")" "$(ms "$(result "grow-large-$k" "$plain_or_tls" 6)")" \
            "$r" "$(judge "$r" ">=" 0.9)"
    done
    echo
    echo "- Before the first pair: the $(growth_get deleted) certificates the workloads had made were deleted and"
    echo "  bench/grow.sql topped the vault up to $(growth_get small) ($(growth_get small_prepare_s) s with VACUUM ANALYZE)."
    echo "- Then bench/grow.sql bulk-loaded it to $(growth_get large) certificates in $(growth_get load_s) s (one INSERT ... SELECT"
    echo "  per table: certificates, keys, certificate_versions, pending_operations), VACUUM ANALYZE and"
    echo "  CHECKPOINT $(growth_get quiesce_s) s. Database size $(awk -v b="$(growth_get small_db_bytes)" 'BEGIN { printf "%.0f", b / 1048576 }') MiB,"
    echo "  then $(awk -v b="$(growth_get large_db_bytes)" 'BEGIN { printf "%.0f", b / 1048576 }') MiB."
    echo "- non-2xx: $(awk -F'\t' '$1 ~ /^grow-/ { n += $7; e += $8 } END { printf "%d (+%d socket errors)", n, e }' "$RESULTS")."
}

grew() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == "" || b == "") print "-"; else printf "%+d", b - a }'; }
memory_section() {
    local before after pid
    if [ -n "$quick" ] || [ "$MEM_REQUESTS" -eq 0 ]; then echo "(full run only)"; return 0; fi
    echo "certvault-fcgi restarted with max_requests = 0 (workers never replaced), a 5 s warm-up of GET"
    echo "certificate, VmRSS (/proc/PID/status) of each worker, then $(growth_get mem_requests) GET certificate requests"
    echo "($plain_or_tls, $CONNS connections, $(growth_get mem_runs) wrk run(s), $(growth_get mem_seconds) s, non-2xx and socket errors:"
    echo "$(growth_get mem_non2xx)) with $(growth_get large) certificates in the vault, VmRSS again."
    echo
    echo "| worker pid | VmRSS before kB | VmRSS after kB | growth kB | RssAnon before kB | RssAnon after kB | growth kB | flat (<= 1 MiB) |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    while IFS=$'\t' read -r pid before after abefore aafter; do
        printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$pid" "$before" "$after" "$(grew "$before" "$after")" \
            "$abefore" "$aafter" "$(grew "$abefore" "$aafter")" \
            "$(awk -v a="$before" -v b="$after" 'BEGIN { if (a == "-" || b == "-") print "- (worker replaced?)";
                else print (b - a <= 1024) ? "met" : "missed" }')"
    done <"$MEMORY"
}

mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
report() {
    cat <<EOF
# certvault benchmark, $started_at ($mode run)

## Machine and versions

- \`uname -a\`: $(uname -a)
- CPUs (nproc): $NPROC; memory: $mem; load average at start: $load_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)
- $(lighttpd -v 2>&1 | head -n 1); $("$(cv_pg_bindir)/postgres" --version); GnuTLS $(pkg-config --modversion gnutls 2>/dev/null || echo '?'); libfcgi $(pkg-config --modversion fcgi 2>/dev/null || echo '?'); $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)
- certvault: \`git describe\`: $(git -C "$CV_SRC_DIR" describe --always --dirty 2>/dev/null || echo unknown)

## Settings

certvault-fcgi workers $WORKERS (max_requests $MAX_REQUESTS, log_level $CV_LOG_LEVEL); certvault-worker
key_pool_size $POOL_SIZE (RSA-2048); wrk $THREADS
thread(s), $CONNS connections (create Self RSA: $WORKERS, one per worker), ${DURATION}s per
workload, api-version $API; $N_SELF Self EC P-256 certificates and $N_UNKNOWN Unknown ones
(operation in progress) loaded before the reads. wrk, pgbench and the servers share the machine.
Wall time $((t_end - t_start)) s.

## Workloads

$(table)

non-2xx: answers with a status above 399 (wrk), or outside 2xx for the count-bounded runs
(merge, burst); socket errors are added in brackets. Ratio: requests/s over the floor's
per-second figure; the targets are issue 7's.

## Key pool

$(pool_section)

## Flat cost as the vault grows

$(growth_section)

## Worker memory

$(memory_section)

## Against the database floor (the same statements through pgbench)

$(if [ -n "$have_stmts" ]; then db_table; else echo "(not measured: the statements could not be extracted)"; fi)

## Floors

$(floors_table)

- web-*: bench/noop-fcgi ($WORKERS workers) answering 200 with a small JSON body, behind the
  same lighttpd configuration, driven by the same wrk script as GET certificate.
- db-*: pgbench -M prepared, $WORKERS clients (one per certvault worker, as each worker holds
  one connection), ${PG_SECONDS}s; one transaction = the statements one request runs.
- key-*: $NPROC keygen processes (bench/keygen.c) for ${KEY_SECONDS}s, rates summed.

## Statements of the database floor

$(statements)
$(if [ -s "$PLANS" ]; then printf '\n## Plans with %s certificates in the vault\n\n' "$(growth_get large)"; cat "$PLANS"; fi)
EOF
}

mkdir -p "$BENCH_DIR/results"
day=$(date +%Y-%m-%d)
if [ -n "${CERTVAULT_BENCH_RESULTS:-}" ]; then
    results_file=$CERTVAULT_BENCH_RESULTS
else
    results_file=$BENCH_DIR/results/$day.md
    i=2
    while [ -e "$results_file" ]; do
        results_file=$BENCH_DIR/results/$day-$i.md
        i=$((i + 1))
    done
fi
report >"$results_file"
finished=1
echo
cat "$results_file"
echo
say "results written to $results_file (wall time $(($(date +%s) - t_start)) s)"
