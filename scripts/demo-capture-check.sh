#!/usr/bin/env bash
# Captures the loopback while `negotiator demo --json` runs and has tshark dissect the IKE
# ports the demo reports: every IKE message must be IKEv2 and none may be malformed.
set -uo pipefail
bin="${1:-target/release/negotiator}"
here="$(cd "$(dirname "$0")" && pwd)"
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
pcap="$dir/demo.pcap"
fail=0
for args in "--auth ecdsa --group ecp256 --cipher aes128gcm" "--auth rsa --group modp2048 --cipher aes256cbc-sha512" "--auth psk --group curve25519 --cipher aes256gcm --wrong-group-first"; do
    tshark -q -i lo -f udp -w "$pcap" >"$dir/tshark.log" 2>&1 &
    tpid=$!
    for _ in $(seq 50); do grep -q "Capturing on" "$dir/tshark.log" 2>/dev/null && break; sleep 0.1; done
    sleep 0.5
    # shellcheck disable=SC2086
    rm -f "$dir/keys"
    out=$("$bin" demo --json --keylog "$dir/keys" $args 2>/dev/null) || { echo "demo failed: $args"; kill $tpid; fail=1; continue; }
    sleep 0.5; kill -INT $tpid; wait $tpid 2>/dev/null
    ports=$(printf '%s' "$out" | python3 -c 'import json,sys; print(" ".join(str(e["port"]) for e in json.load(sys.stdin)["endpoints"]))')
    n=$(tshark -r "$pcap" -Y "udp.port==${ports%% *}" 2>/dev/null | wc -l)
    echo "$args: IKE ports $ports, $n frames on the first"
    [ "$n" -ge 4 ] || { echo "too few IKE frames captured"; fail=1; }
    # shellcheck disable=SC2086
    # With the demo's key log, tshark decrypts every SK payload and verifies its ICV.
    [ -s "$dir/keys" ] || { echo "no key log written"; fail=1; }
    "$here/tshark-check.sh" -k "$dir/keys" "$pcap" $ports || fail=1
    # And the decrypted IKE_AUTH exchange carries IDi, AUTH, SA, TSi and TSr as tshark reads
    # them (after reassembly when RFC 7383 fragments were sent).
    inner=$(tshark -r "$pcap" -d "udp.port==${ports%% *},isakmp" -o "uat:ikev2_decryption_table:$(head -1 "$dir/keys")" -Y 'isakmp.exchangetype == 35' -T fields -e isakmp.typepayload 2>/dev/null | tr '\n' ',')
    for t in 35 39 33 44 45; do
        case ",$inner," in *",$t,"*) ;; *) echo "decrypted IKE_AUTH lacks payload type $t ($inner)"; fail=1;; esac
    done
done
exit $fail
