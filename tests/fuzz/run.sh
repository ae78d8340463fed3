#!/bin/sh
#
# tests/fuzz/run.sh — run each libFuzzer target built by build.sh for a
# while and fail if any finds a crash, a leak, undefined behaviour or a
# hang. Called by `make fuzz`:
#
#   tests/fuzz/run.sh SRCDIR OUTDIR SECONDS TARGET...
#
# Each target starts from its seed corpus, tests/fuzz/corpus/TARGET
# (read only: it may be the distribution's), and keeps what it finds in
# OUTDIR/corpus/TARGET, so a second run goes on from there. A finding is
# written to OUTDIR/artifacts/TARGET-crash-… (or leak-, timeout-, oom-);
# reproduce it with `OUTDIR/fuzz_TARGET FILE`. The log of each run is
# OUTDIR/TARGET.log. Environment: FUZZ_TIMEOUT, seconds one input may
# take before it counts as a hang (default 30); FUZZ_ARGS, more libFuzzer
# options (e.g. -jobs=2 -workers=2).
set -u

[ "$#" -ge 4 ] || {
    echo "usage: $0 SRCDIR OUTDIR SECONDS TARGET..." >&2
    exit 2
}
srcdir=$1
outdir=$2
seconds=$3
shift 3
targets=$*
timeout=${FUZZ_TIMEOUT:-30}
failed=

# Symbolized reports; LeakSanitizer is on by default.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

mkdir -p "$outdir/artifacts"
for t in $targets; do
    bin=$outdir/fuzz_$t
    seeds=$srcdir/tests/fuzz/corpus/$t
    dict=$srcdir/tests/fuzz/$t.dict
    log=$outdir/$t.log
    mkdir -p "$outdir/corpus/$t"
    # "$@" is free now: the options of this run.
    set -- -max_total_time="$seconds" -timeout="$timeout" \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$outdir/artifacts/$t-"
    [ -f "$dict" ] && set -- "$@" -dict="$dict"
    # shellcheck disable=SC2086
    "$bin" "$@" ${FUZZ_ARGS:-} "$outdir/corpus/$t" "$seeds" >"$log" 2>&1
    rc=$?
    # The last status line: "#N … cov: C ft: F corp: …".
    stats=$(grep -E '^#[0-9]+' "$log" | tail -n 1 |
        sed -n 's/^#\([0-9]*\).*cov: \([0-9]*\) ft: \([0-9]*\).*/\1 execs, cov \2, ft \3/p')
    if [ "$rc" -ne 0 ]; then
        echo "FAIL: fuzz_$t (exit $rc) ${stats:-}"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*invariant failed)' "$log" | head -n 5
        ls "$outdir/artifacts/$t-"* 2>/dev/null | sed 's/^/  finding: /'
        echo "  log: $log"
        failed="$failed $t"
    else
        echo "PASS: fuzz_$t ${seconds}s: ${stats:-no stats}"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed"
    exit 1
fi
