#!/usr/bin/env bash
# Capture a strongSwan <-> strongSwan IKEv2 exchange with strongSwan's
# *default* proposals plus a CHILD_SA rekey and an IKE_SA rekey
# (CREATE_CHILD_SA), using the interop lab (../shared/lab) for the network,
# PKI and the two charons.
#
# usage: scripts/strongswan-rekey-capture.sh OUT_PCAPNG
#   env: LAB (lab folder, default <repo>/../shared/lab),
#        LAB_STATE (writable state folder, default /tmp/labstate)
# Leaves charon a's log (IKE keys at level 4) in $LAB_STATE/a/charon.log.
# Needs root. Sequence: initiate from a; ping 2x each way; rekey the CHILD_SA
# (from a); rekey the IKE_SA (from a); ping 1x; terminate the IKE_SA.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB="${LAB:-$repo/../shared/lab}"
export LAB_STATE="${LAB_STATE:-/tmp/labstate}"
out="${1:?usage: $0 OUT_PCAPNG}"
PEER="$LAB/strongswan-peer.sh"
source "$LAB/lib.sh"
lab_need_root

"$LAB/up.sh"
"$LAB/pki.sh"
for p in a b; do
  "$PEER" stop "$p"
  LAB_IKE_LOGLEVEL=4 "$PEER" start "$p"
done

declare -A key=([a]=rsa [b]=ecdsa)
for p in a b; do
  o="$(lab_other "$p")"
  sw="$LAB_STATE/$p/swanctl"
  rm -f "$sw"/x509/* "$sw"/private/*
  cp "$LAB_STATE/pki/ca.pem" "$sw/x509ca/ca.pem"
  cp "$LAB_STATE/pki/$p-${key[$p]}.pem" "$sw/x509/$p-${key[$p]}.pem"
  cp "$LAB_STATE/pki/$p-${key[$p]}.key" "$sw/private/$p-${key[$p]}.pem"
  # The lab's cert template minus its explicit proposals: strongSwan's defaults.
  grep -vE '^\s*(esp_)?proposals\s*=' "$LAB/conf/scenarios/ikev2-cert.conf.in" > "$LAB_STATE/$p/default.conf.in"
  lab_render "$LAB_STATE/$p/default.conf.in" \
    LOCAL_ADDR="${LAB_ADDR[$p]}" REMOTE_ADDR="${LAB_ADDR[$o]}" \
    LOCAL_TS="${LAB_INNER_NET[$p]}" REMOTE_TS="${LAB_INNER_NET[$o]}" \
    LOCAL_ID="${LAB_FQDN[$p]}" REMOTE_ID="${LAB_FQDN[$o]}" \
    LOCAL_CERT="$p-${key[$p]}.pem" PSK=unused ENCAP=no > "$sw/swanctl.conf"
  "$PEER" swanctl "$p" --load-all --clear > "$LAB_STATE/$p/load.out"
done

rm -f "$out" "$LAB_STATE/rekey-tshark.err"
setsid bash -c 'echo $$ > "$1"; shift; exec "$@"' _ "$LAB_STATE/rekey-tshark.pid" \
  ip netns exec "${LAB_NS[a]}" tshark -q -i "${LAB_VETH[a]}" \
    -f "udp port 500 or udp port 4500" -w "$out" \
  > /dev/null 2> "$LAB_STATE/rekey-tshark.err" < /dev/null &
for _ in $(seq 100); do grep -q "Capturing on" "$LAB_STATE/rekey-tshark.err" 2>/dev/null && break; sleep 0.1; done
grep -q "Capturing on" "$LAB_STATE/rekey-tshark.err" || lab_die "tshark did not start"

rc=0
{
  "$PEER" swanctl a --initiate --child lab --timeout 30
  for p in a b; do
    o="$(lab_other "$p")"
    "$PEER" exec "$p" ping -c 2 -i 0.2 -W 2 -I "${LAB_INNER[$p]}" "${LAB_INNER[$o]}"
  done
  "$PEER" swanctl a --rekey --child lab
  sleep 1
  "$PEER" swanctl a --rekey --ike lab
  sleep 1
  "$PEER" exec a ping -c 1 -W 2 -I "${LAB_INNER[a]}" "${LAB_INNER[b]}"
  "$PEER" swanctl a --list-sas
  "$PEER" swanctl a --terminate --ike lab --timeout 10
} > "$LAB_STATE/rekey.out" 2>&1 || rc=$?
sleep 0.5
kill -INT "$(cat "$LAB_STATE/rekey-tshark.pid")" 2>/dev/null || true
for _ in $(seq 50); do lab_pid_alive "$(cat "$LAB_STATE/rekey-tshark.pid")" tshark || break; sleep 0.1; done
lab_stop_pidfile "$LAB_STATE/rekey-tshark.pid" tshark 5
[ "$rc" = 0 ] || { tail -30 "$LAB_STATE/rekey.out"; lab_die "sequence failed (exit $rc)"; }
echo "captured $(tshark -r "$out" 2>/dev/null | wc -l) frames into $out"
