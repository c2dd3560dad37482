#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every suite.
# Each suite either passes or fails loudly; nothing is skipped silently.
set -uo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
command -v tshark >/dev/null || need_apt+=(tshark)
command -v python3 >/dev/null || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "== installing ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null || {
        echo "FATAL: could not install ${need_apt[*]}"; exit 1; }
fi
python3 -m pip install -q cryptography-vectors || { echo "FATAL: could not install cryptography-vectors (NIST PKITS data for the pki tests)"; exit 1; }

bin="${CARGO_TARGET_DIR:-target}/release/negotiator"
passed=0; failed=0; failures=()
suite() {
    local name="$1"; shift
    echo "== $name"
    if "$@"; then passed=$((passed+1)); else failed=$((failed+1)); failures+=("$name"); echo "FAILED: $name"; fi
}

suite "cargo test (workspace)" cargo test --workspace --all-targets --no-fail-fast --quiet
suite "release build" cargo build --release --quiet
suite "demo: every --group/--auth/--cipher combination" scripts/demo-matrix.sh "$bin"
suite "demo: loopback capture dissected by tshark" scripts/demo-capture-check.sh "$bin"
suite "capture tools (tshark-check, extractor, key checks)" scripts/capture-tools-test.sh

echo
for f in "${failures[@]}"; do echo "failed suite: $f"; done
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
