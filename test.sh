#!/usr/bin/env bash
#
# ./test.sh — install what is missing, build with -Werror, start a private
# stack (PostgreSQL :54330, lighttpd https://127.0.0.1:18443 and
# http://127.0.0.1:18080 for ACME http-01, Apache https://127.0.0.1:18444 and
# http://127.0.0.1:18081, pebble — a test ACME CA — https://127.0.0.1:14000/dir
# with its management API on :15000 and pebble-challtestsrv's fake DNS on
# :18053, management :18055) in a temporary directory, run `make check`
# against it, tear it down, run `bench/run.sh --quick` (informational: it
# never fails the run), then `make distcheck` (unit tests only), and exit
# non-zero if any step failed. Runs unattended (CI=true, no stdin).
#
# Environment: CV_BUILD_DIR (default: the source tree), CV_KEEP_STATE=1 keeps
# the temporary directory for a post-mortem. Ports, so that two runs can
# share a machine: CERTVAULT_TEST_HTTPS_PORT, _PG_PORT, _APACHE_PORT,
# _HTTP_PORT, _APACHE_HTTP_PORT (default: _APACHE_PORT - 363),
# _PEBBLE_PORT; pebble's others default from _PEBBLE_PORT (P):
# _PEBBLE_MGMT_PORT (P+1000), _CHALL_DNS_PORT (P+4053), _CHALL_MGMT_PORT
# (P+4055), _PEBBLE_TLS_PORT (P+4056; pebble's tls-alpn-01 port, nothing
# listens there). The bench has a stack of its own on four ports from
# CERTVAULT_TEST_BENCH_PORT (default 16384 + (HTTPS port + 100) mod 16380,
# i.e. 18547-18550: below 32768, out of the ephemeral range);
# CERTVAULT_SKIP_BENCH=1 skips it. Last, `make fuzz` runs each libFuzzer
# target (tests/fuzz) for CERTVAULT_FUZZ_SECONDS (default 5) seconds.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/stack.sh disable=SC2119
. scripts/stack.sh

# Overridable so that two runs can share a machine.
HTTPS_PORT=${CERTVAULT_TEST_HTTPS_PORT:-18443}
PG_PORT=${CERTVAULT_TEST_PG_PORT:-54330}
APACHE_PORT=${CERTVAULT_TEST_APACHE_PORT:-18444}
HTTP_PORT=${CERTVAULT_TEST_HTTP_PORT:-18080}
# Read by cv_init; empty: derived (see scripts/stack.sh).
CV_APACHE_HTTP_PORT=${CERTVAULT_TEST_APACHE_HTTP_PORT:-}
CV_PEBBLE_PORT=${CERTVAULT_TEST_PEBBLE_PORT:-14000}
CV_PEBBLE_MGMT_PORT=${CERTVAULT_TEST_PEBBLE_MGMT_PORT:-}
CV_CHALL_DNS_PORT=${CERTVAULT_TEST_CHALL_DNS_PORT:-}
CV_CHALL_MGMT_PORT=${CERTVAULT_TEST_CHALL_MGMT_PORT:-}
CV_PEBBLE_TLS_PORT=${CERTVAULT_TEST_PEBBLE_TLS_PORT:-}
# bench --quick: HTTPS, plain HTTP, http-01, PostgreSQL = BENCH_PORT .. +3.
BENCH_PORT=${CERTVAULT_TEST_BENCH_PORT:-$((16384 + (HTTPS_PORT + 100) % 16380))}

step() { printf '\n==> %s (at %d s)\n' "$*" "$SECONDS"; }

# Print the test-suite.log of every test directory under $1 whose summary
# counts failures or errors (automake's parallel test harness).
print_failed_test_logs() {
    local log
    while IFS= read -r log; do
        if grep -Eq '^# (FAIL|ERROR|XPASS): +[1-9]' "$log"; then
            printf '\n===== %s =====\n' "$log"
            cat "$log"
        fi
    done < <(find "$1" -name test-suite.log -type f 2>/dev/null | sort)
}

# Sum a counter ("PASS", "FAIL", ...) over the test-suite.log files of
# `make check` (not those of distcheck's private build).
count_tests() {
    find "$CV_BUILD_DIR" -name test-suite.log -type f -not -path '*/_build/*' \
        -exec sed -n "s/^# $1: *\([0-9][0-9]*\)\$/\1/p" {} + |
        awk '{ n += $1 } END { print n + 0 }'
}

state_dir=
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [ -n "$state_dir" ]; then
        cv_stack_stop
        if [ "${CV_KEEP_STATE:-}" = 1 ]; then
            echo "state kept in $state_dir"
        else
            rm -rf "$state_dir"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

step "packages"
# Node.js and npm for the official SDK test (tests/sdk, run by
# tests/integration/t_sdk_certificates.sh, which does the npm ci): Debian's
# packages, but only when there is no node at all (it may come from elsewhere).
# clang and its runtime (libFuzzer, ASan, UBSan) for the fuzz targets; wrk
# for the load of tests/integration/t_fault_kill.sh (and the bench); headless
# Chromium renders GET /status in tests/integration/t_status_page.sh. One
# call: at most one apt-get update.
test_packages=(clang libclang-rt-14-dev wrk chromium)
if command -v node >/dev/null 2>&1; then cv_install_packages "${test_packages[@]}"; else cv_install_packages nodejs npm "${test_packages[@]}"; fi

step "build (--enable-werror)"
cv_build --enable-werror

step "private stack"
state_dir=$(mktemp -d "${TMPDIR:-/tmp}/certvault-test.XXXXXX")
cv_init "$state_dir" "$HTTPS_PORT" "$PG_PORT" "$APACHE_PORT" "$HTTP_PORT"
cv_stack_start --apache --pebble
echo "stack up: $CV_URL (lighttpd), $CV_APACHE_URL (Apache), $CV_ACME_DIRECTORY (pebble), state $CV_STATE_DIR"

failed=()

step "make check"
find "$CV_BUILD_DIR" -name test-suite.log -type f -not -path '*/_build/*' -delete
if ! CERTVAULT_TEST_ENV=$CV_ENV_FILE make -C "$CV_BUILD_DIR" check; then
    failed+=("make check")
    print_failed_test_logs "$CV_BUILD_DIR"
    cv_show_logs 60
fi
passed=$(($(count_tests PASS) + $(count_tests XFAIL)))
failures=$(($(count_tests FAIL) + $(count_tests ERROR) + $(count_tests XPASS)))
skipped=$(count_tests SKIP)

# distcheck needs no stack; stop it (pebble too) now, leave the directory to
# cleanup.
cv_stack_stop

step "bench --quick (informational)"
# bench/run.sh --quick on a private stack of its own (state in
# $state_dir/bench, report in $state_dir/bench.md; its EXIT trap stops what it
# started). Informational: whatever it does, test.sh carries on (|| true).
if [ "${CERTVAULT_SKIP_BENCH:-}" = 1 ]; then
    echo "skipped (CERTVAULT_SKIP_BENCH=1)"
else
    bench_rc=0
    bench_t0=$(date +%s)
    CERTVAULT_BENCH_HTTPS_PORT=$BENCH_PORT CERTVAULT_BENCH_PLAIN_PORT=$((BENCH_PORT + 1)) \
        CERTVAULT_BENCH_HTTP01_PORT=$((BENCH_PORT + 2)) CERTVAULT_BENCH_PG_PORT=$((BENCH_PORT + 3)) \
        CERTVAULT_BENCH_DURATION=${CERTVAULT_BENCH_DURATION:-2} CERTVAULT_BENCH_STATE="$state_dir/bench" CERTVAULT_BENCH_RESULTS="$state_dir/bench.md" \
        bash bench/run.sh --quick --no-build >"$state_dir/bench.log" 2>&1 || bench_rc=$?
    if [ -s "$state_dir/bench.md" ]; then
        sed -n '/^## Machine/,/^## Settings/{/^## Settings/!p}; /^## Workloads/,/^## Flat cost/{/^## Flat cost/!p}' \
            "$state_dir/bench.md"
    else
        tail -n 30 "$state_dir/bench.log"
    fi
    for p in "$BENCH_PORT" $((BENCH_PORT + 1)) $((BENCH_PORT + 2)) $((BENCH_PORT + 3)); do
        if cv_port_open "$p"; then echo "bench: warning: something still listens on 127.0.0.1:$p"; fi
    done
    echo "bench: exit status $bench_rc in $(($(date +%s) - bench_t0)) s (log: $state_dir/bench.log);" \
        "informational only, never fails test.sh (|| true)"
fi

step "make distcheck (unit tests only)"
# CERTVAULT_TEST_ENV was only ever set for `make check`, so the integration
# tests skip themselves here.
if ! make -C "$CV_BUILD_DIR" -j"$CV_MAKE_JOBS" distcheck \
    DISTCHECK_CONFIGURE_FLAGS=--enable-werror; then
    failed+=("make distcheck")
    print_failed_test_logs "$CV_BUILD_DIR"
fi

step "unit tests under valgrind"
# Memory errors and definite leaks fail the step (c-style.md §9). The
# programs run CV_MAKE_JOBS at a time; each writes its own report.
# test_crypto_p12 takes minutes under valgrind (PBKDF2 of many PKCS#12
# files), the others seconds: it runs as four shards (CU_SHARD, see
# tests/unit/cu.h) so that the step is not one program on one core, and
# without its certtool case (CU_SKIP), which alone took 183 s here: certtool
# writes PKCS#12 files with 600,000 PBKDF2 iterations per MAC, bag and key,
# and valgrind runs that derivation 40 times slower. The code it reaches
# (PBES2 AES, HMAC-SHA-256 MAC) is the same the OpenSSL-made files of the
# first case take under valgrind; the certtool case itself runs in `make
# check` and under ASan/UBSan.
mkdir -p "$state_dir/valgrind"
for t in "$CV_BUILD_DIR"/tests/unit/test_*; do
    case $t in *.c | *.o | *.log | *.trs) continue ;; esac
    [ -x "$t" ] || continue
    case $t in
    */test_crypto_p12) for i in 0 1 2 3; do printf '%s %s\n' "$t" "$i/4"; done ;;
    *) printf '%s %s\n' "$t" "0/1" ;;
    esac
done | xargs -r -P "$CV_MAKE_JOBS" -L1 sh -c \
    'out="$1/$(basename "$2").$(printf %s "$3" | tr / -).out"
    CU_SHARD=$3 CU_SKIP="import: PKCS#12 by certtool" valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
        --error-exitcode=9 "$2" >"$out" 2>&1 ||
        echo "$out" >>"$1/failed"' sh "$state_dir/valgrind"
if [ -s "$state_dir/valgrind/failed" ]; then
    while read -r out; do
        failed+=("valgrind $(basename "$out" .out)")
        tail -n 40 "$out"
    done <"$state_dir/valgrind/failed"
fi

step "unit tests with AddressSanitizer and UBSan"
# A separate build from the distribution tarball distcheck left behind (the
# source tree itself is configured, so it cannot host a second build).
tarball=$(ls -t "$CV_BUILD_DIR"/certvault-*.tar.gz 2>/dev/null | head -n 1 || true)
if [ -z "$tarball" ]; then
    failed+=("sanitizers (no tarball)")
else
    mkdir -p "$state_dir/sanitize"
    tar -xzf "$tarball" -C "$state_dir/sanitize"
    if ! (cd "$state_dir"/sanitize/certvault-* &&
        ./configure -q --enable-werror --enable-sanitizers &&
        make -s -j"$CV_MAKE_JOBS" check); then
        failed+=("sanitizers")
        print_failed_test_logs "$state_dir/sanitize"
    fi
fi

step "integration tests against the sanitizer build"
# The programs of the ASan/UBSan build behind a stack of their own (the
# same ports: the first stack is down), the API, certificate and issuer
# tests through them; any sanitizer report in their logs fails the step.
SAN_TESTS="t_api t_auth t_cert_create t_cert_policy t_pending_ops t_merge_chain
t_import t_deleted t_backup t_issuers t_contacts t_issuance t_acme t_key_pool
t_audit t_limits t_operations t_status_page t_doctor"
san_build=$(ls -d "$state_dir"/sanitize/certvault-*/ 2>/dev/null | head -n 1 || true)
if [ -z "$san_build" ] || [ ! -x "$san_build/src/certvault-fcgi" ]; then
    failed+=("integration tests (sanitizers: no build)")
else
    san_build=${san_build%/}
    san_tests=
    for t in $SAN_TESTS; do san_tests+="${san_tests:+ }tests/integration/$t.sh"; done
    if ! (
        CV_SRC_DIR=$san_build CV_BUILD_DIR=$san_build
        # The first stack's pebble settings must not carry over.
        unset CV_ACME_CA_FILE_CFG CV_ACME_DNS_HOOK_CFG
        cv_init "$state_dir/sanstack" "$HTTPS_PORT" "$PG_PORT" "$APACHE_PORT" "$HTTP_PORT"
        trap cv_stack_stop EXIT
        cv_stack_start --pebble
        CERTVAULT_TEST_ENV=$CV_ENV_FILE make -C "$san_build" check TESTS="$san_tests"
    ); then
        failed+=("integration tests (sanitizers)")
        print_failed_test_logs "$san_build"
    fi
    if grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
        "$state_dir"/sanstack/log/* 2>/dev/null; then
        failed+=("sanitizer reports in the stack's logs")
        grep -h -B2 -A20 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
            "$state_dir"/sanstack/log/* | head -n 80
    fi
fi

step "fuzz targets (libFuzzer, ${CERTVAULT_FUZZ_SECONDS:-5} s each)"
# `make fuzz` (tests/fuzz/README.md): each target built with clang, ASan and
# UBSan, run from its seed corpus and what earlier runs found (kept in
# tests/fuzz-build/corpus); a crash, leak, undefined behaviour or hang fails
# the run. CERTVAULT_FUZZ_SECONDS sets the time per target.
if ! make -C "$CV_BUILD_DIR" fuzz FUZZ_SECONDS="${CERTVAULT_FUZZ_SECONDS:-5}"; then
    failed+=("fuzz")
fi

echo
if [ "${#failed[@]}" -gt 0 ]; then
    echo "test.sh: FAILED: ${failed[*]}"
else
    echo "test.sh: all steps passed"
fi
# The count of `make check` (unit + integration tests), as the last line.
echo "tests: $passed passed, $failures failed, $skipped skipped"
[ "${#failed[@]}" -eq 0 ]
