#!/bin/sh
#
# tests/fuzz/build.sh — build the libFuzzer targets with clang, ASan and
# UBSan. Called by `make fuzz` (Makefile.am), which passes what configure
# found; runnable by hand from a configured build directory:
#
#   tests/fuzz/build.sh SRCDIR BUILDDIR OUTDIR TARGET... -- SOURCE...
#
# SRCDIR is the top of the source tree, BUILDDIR the configured build
# directory (for config.h), OUTDIR where objects and fuzz_TARGET binaries
# go, SOURCEs the library's files relative to SRCDIR (the list of
# src/libcertvault.a; headers are skipped). The library's sources are
# compiled again with clang and instrumentation, never taken from the
# gcc-built libcertvault.a: coverage feedback needs every object
# instrumented. Environment: FUZZ_CC (clang), FUZZ_CFLAGS (extra flags,
# e.g. the libraries' -I), FUZZ_LIBS (the libraries), FUZZ_JOBS (2).
set -eu

usage() {
    echo "usage: $0 SRCDIR BUILDDIR OUTDIR TARGET... -- SOURCE..." >&2
    exit 2
}
[ "$#" -ge 4 ] || usage
srcdir=$(cd "$1" && pwd)
builddir=$(cd "$2" && pwd)
mkdir -p "$3"
outdir=$(cd "$3" && pwd)
shift 3
targets=
while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
    targets="$targets $1"
    shift
done
[ "$#" -gt 0 ] || usage
shift

CC=${FUZZ_CC:-clang}
JOBS=${FUZZ_JOBS:-2}
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "$0: $CC not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
fi

# -fno-sanitize-recover: undefined behaviour stops the run like a crash.
# -fsanitize=fuzzer-no-link instruments the library without libFuzzer's
# main; the targets are linked with -fsanitize=fuzzer.
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS_ALL="-std=gnu11 -g -O1 -fno-omit-frame-pointer $SAN -Wall \
-Wno-unused-parameter -I$builddir -I$srcdir/src -I$srcdir/tests/fuzz \
-DPKGDATADIR=\"/nonexistent\" ${FUZZ_CFLAGS:-}"
export CC CFLAGS_ALL

mkdir -p "$outdir/obj"
# Nothing in here belongs in git.
[ -f "$outdir/.gitignore" ] || echo '*' >"$outdir/.gitignore"

# Newest header: an object older than it is compiled again.
newest_h=$(ls -t "$srcdir"/src/*.h "$srcdir"/tests/fuzz/fuzz.h | head -n 1)

# The library's objects, two compilers at a time.
objs=
list=$outdir/obj/todo
: >"$list"
for s in "$@"; do
    case $s in *.c) ;; *) continue ;; esac
    o=$outdir/obj/$(basename "$s" .c).o
    objs="$objs $o"
    if [ ! -f "$o" ] || [ "$srcdir/$s" -nt "$o" ] || [ "$newest_h" -nt "$o" ]; then
        printf '%s %s\n' "$srcdir/$s" "$o" >>"$list"
    fi
done
if [ -s "$list" ]; then
    echo "  CC (fuzz)  $(wc -l <"$list") library sources"
    # shellcheck disable=SC2016
    xargs -P "$JOBS" -L 1 sh -c \
        'exec $CC $CFLAGS_ALL -fsanitize=fuzzer-no-link -c "$0" -o "$1"' <"$list"
fi
lib=$outdir/libcertvault-fuzz.a
if [ -s "$list" ] || [ ! -f "$lib" ]; then
    rm -f "$lib"
    # shellcheck disable=SC2086
    ar rcs "$lib" $objs
fi
rm -f "$list"

# The targets: libFuzzer's main, the target, the library, the libraries.
for t in $targets; do
    bin=$outdir/fuzz_$t
    if [ -f "$bin" ] && [ "$bin" -nt "$lib" ] &&
        [ "$bin" -nt "$srcdir/tests/fuzz/fuzz_$t.c" ] &&
        [ "$bin" -nt "$srcdir/tests/fuzz/fuzz.h" ]; then
        continue
    fi
    echo "  CCLD (fuzz) fuzz_$t"
    # shellcheck disable=SC2086
    $CC $CFLAGS_ALL -fsanitize=fuzzer -o "$bin" \
        "$srcdir/tests/fuzz/fuzz_$t.c" "$lib" \
        ${FUZZ_LIBS:-}
done
