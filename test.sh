#!/usr/bin/env bash
#
# ./test.sh — install what is missing, build with -Werror, start a private
# stack (PostgreSQL :54330, lighttpd https://127.0.0.1:18443, Apache
# https://127.0.0.1:18444) in a temporary directory, run `make check` against
# it, tear it down, then `make distcheck` (unit tests only), and exit non-zero
# if any step failed. Runs unattended (CI=true, no stdin).
#
# Environment: CV_BUILD_DIR (default: the source tree), CV_KEEP_STATE=1 keeps
# the temporary directory for a post-mortem.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/stack.sh disable=SC2119
. scripts/stack.sh

HTTPS_PORT=18443
PG_PORT=54330
APACHE_PORT=18444

step() { printf '\n==> %s\n' "$*"; }

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
cv_install_packages

step "build (--enable-werror)"
cv_build --enable-werror

step "private stack"
state_dir=$(mktemp -d "${TMPDIR:-/tmp}/certvault-test.XXXXXX")
cv_init "$state_dir" "$HTTPS_PORT" "$PG_PORT" "$APACHE_PORT"
cv_stack_start --apache
echo "stack up: $CV_URL (lighttpd), $CV_APACHE_URL (Apache), state $CV_STATE_DIR"

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

# distcheck needs no stack; stop it now, leave the directory to cleanup.
cv_stack_stop

step "make distcheck (unit tests only)"
# CERTVAULT_TEST_ENV was only ever set for `make check`, so the integration
# tests skip themselves here.
if ! make -C "$CV_BUILD_DIR" -j"$CV_MAKE_JOBS" distcheck \
    DISTCHECK_CONFIGURE_FLAGS=--enable-werror; then
    failed+=("make distcheck")
    print_failed_test_logs "$CV_BUILD_DIR"
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
