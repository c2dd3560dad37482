#!/bin/sh
# Runs every cargo-fuzz target of this project for $FUZZ_SECONDS seconds each
# (default 60). Exits non-zero as soon as a target finds a crash or fails to
# build. Set FUZZ_SANITIZER=none when AddressSanitizer is unavailable.
set -eu
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-60}"
sanitizer="${FUZZ_SANITIZER:-address}"
# cargo-fuzz passes nightly-only flags; allow them on a stable toolchain.
export RUSTC_BOOTSTRAP=1
targets=$(cargo fuzz list)
if [ -z "$targets" ]; then
    echo "run-ci: no fuzz targets found" >&2
    exit 1
fi
status=0
for t in $targets; do
    echo "run-ci: fuzzing $t for ${seconds}s (sanitizer: $sanitizer)"
    mkdir -p "corpus/$t"
    # Extra read-only seed folders: the codec's fixtures.
    seeds=""
    for d in ../crates/wire/tests/data/cases ../crates/wire/tests/data/strongswan; do
        if [ -d "$d" ]; then seeds="$seeds $d"; fi
    done
    # shellcheck disable=SC2086
    if ! cargo fuzz run -s "$sanitizer" "$t" "corpus/$t" $seeds -- \
        -max_total_time="$seconds" -rss_limit_mb=2048; then
        echo "run-ci: $t FAILED (see fuzz/artifacts/$t)" >&2
        status=1
    fi
done
exit $status
