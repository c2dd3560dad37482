#!/usr/bin/env bash
# Runs `negotiator demo --json` for every --group/--auth/--cipher value its --help lists,
# and checks each result: both IKE SAs established, every Child SA with packets_in > 0 and
# no replay drops. Prints "demo-matrix: N passed, M failed".
set -uo pipefail
bin="${1:-target/release/negotiator}"
values() {  # the possible values of one option, as --help lists them
    "$bin" demo --help | python3 -c '
import re, sys
opt = sys.argv[1]
text = sys.stdin.read()
m = re.search(r"^\s*--" + opt + r" <[A-Z_]+>\n(.*?)(?=^\s*-{1,2}[a-z]|\Z)", text, re.S | re.M)
block = m.group(1) if m else ""
vals = re.findall(r"^\s+-\s+([a-z0-9-]+):", block, re.M)
if not vals:
    m2 = re.search(r"--" + opt + r" <[A-Z_]+>.*?\[possible values: ([^\]]+)\]", text, re.S)
    vals = [v.strip() for v in m2.group(1).split(",")] if m2 else []
print(" ".join(vals))' "$1"
}
groups=$(values group); auths=$(values auth); ciphers=$(values cipher)
[ -n "$groups" ] && [ -n "$auths" ] && [ -n "$ciphers" ] || { echo "could not read the option values from --help"; exit 1; }
echo "groups: $groups | auths: $auths | ciphers: $ciphers"
pass=0; fail=0
check() {
    python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
ike = d["ike_sas"]; child = d["child_sas"]
assert len(ike) == 2, "expected two IKE SAs"
assert sorted(s["role"] for s in ike) == ["initiator", "responder"], "roles"
for s in ike:
    assert s["version"] == 2 and s["state"] == "established", s
    assert s["dh_group"] == int(sys.argv[1]), (s["dh_group"], sys.argv[1])
assert ike[0]["spi_i"] == ike[1]["spi_i"] and ike[0]["spi_r"] == ike[1]["spi_r"], "SPIs differ"
assert len(child) == 2, "expected two Child SA views"
for c in child:
    assert c["protocol"] == "esp" and c["packets_in"] > 0 and c["replay_drops"] == 0, c
assert child[0]["spi_in"] == child[1]["spi_out"] and child[0]["spi_out"] == child[1]["spi_in"], "SPI pairing"
assert len(d["endpoints"]) == 2
' "$1"
}
declare -A gid=([modp2048]=14 [modp3072]=15 [ecp256]=19 [ecp384]=20 [curve25519]=31)
for g in $groups; do for a in $auths; do for c in $ciphers; do
    out=$("$bin" demo --json --group "$g" --auth "$a" --cipher "$c" --packets 5 2>/tmp/demo-matrix.err)
    rc=$?
    if [ $rc -eq 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && printf '%s' "$out" | check "${gid[$g]:-0}"; then
        pass=$((pass+1))
    else
        fail=$((fail+1)); echo "FAIL: --group $g --auth $a --cipher $c (exit $rc)"; tail -5 /tmp/demo-matrix.err
    fi
done; done; done
echo "demo-matrix: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
