#!/usr/bin/env bash
# First interop of Negotiator's IKEv2 core with strongSwan, IKE only (no ESP traffic).
#
# Negotiator (crates/daemon/examples/interop_probe.rs) runs in netns lab-a (192.0.2.1,
# a.lab.example); strongSwan 5.9 (the lab's charon) in netns lab-b (192.0.2.2,
# b.lab.example). For each authentication and each combination of who initiates and who
# deletes, the run passes when
#   - the probe reports the IKE SA and its Child SA up,
#   - `swanctl --list-sas` on b shows the IKE SA ESTABLISHED (IKEv2) and the Child SA
#     INSTALLED,
#   - the IKE SA delete (INFORMATIONAL) from the chosen side completes on both sides: the
#     probe sees it and exits 0, and b lists no SA afterwards.
#
# usage: interop/probe.sh [SCENARIO...]
#   scenarios (default: all), each run four ways:
#     psk          IKEv2 PSK, FQDN identities
#     cert-rsa     our RSA-2048 certificate, strongSwan's ECDSA P-256 one
#     cert-ecdsa   ECDSA P-256 on both sides
#     cert-rsa-rsa RSA-2048 on both sides: strongSwan's IKE_AUTH exceeds 1280 octets and
#                  comes as RFC 7383 fragments (we announce support), which we reassemble
#     negative     failures that must be named in one line: wrong PSK, proposal
#                  mismatch, traffic selector mismatch, untrusted CA, strongSwan's
#                  certificate revoked by a CRL; each both ways
#   in
#   <we|ss>-init x <we|ss>-delete (we = Negotiator, ss = strongSwan).
# Environment:
#   LAB          the lab folder (default: ../shared/lab next to the repository)
#   LAB_STATE    its state folder (default /tmp/labstate; the lab itself is read-only)
#   IKE_PROPOSALS, ESP_PROPOSALS   strongSwan's proposals (defaults below)
#   FRAGMENTATION  strongSwan's `fragmentation` for certificate runs (default yes)
#   PROBE_ARGS   extra options for the probe (e.g. --ike aes256-sha384-modp3072)
#   CAPTURE=1    capture each positive run on lab-veth-a, let the probe write its IKE keys
#                (Wireshark table, lab keys only) and check every IKE frame of both sides
#                with scripts/tshark-check.sh -k (dissected, decrypted, ICVs verified)
#   KEEP=1       leave charon b running at the end
# Output: one "PASS <run>" / "FAIL <run>: why" line per run, then
# "probe: N passed, M failed"; logs under $LAB_STATE/probe/. Needs root.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB="${LAB:-$(cd "$REPO/../shared/lab" && pwd)}"
export LAB_STATE="${LAB_STATE:-/tmp/labstate}"
# shellcheck source=/dev/null
source "$LAB/lib.sh"
lab_need_root

IKE_PROPOSALS="${IKE_PROPOSALS:-aes128-sha256-ecp256, aes256gcm16-prfsha384-curve25519, aes256-sha384-modp3072}"
ESP_PROPOSALS="${ESP_PROPOSALS:-aes128gcm16, aes128-sha256}"
FRAGMENTATION="${FRAGMENTATION:-yes}"
PEER="$LAB/strongswan-peer.sh"
OUT="$LAB_STATE/probe"
mkdir -p "$OUT"
chmod 700 "$OUT"

scenarios=("$@")
[ "${#scenarios[@]}" -gt 0 ] || scenarios=(psk cert-rsa cert-ecdsa cert-rsa-rsa negative)

log() { printf '[probe %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# --- lab and probe binary -----------------------------------------------------------------
"$LAB/install-deps.sh"
"$LAB/up.sh"
"$LAB/pki.sh"
# Negotiator owns lab-a's UDP 500/4500: no charon there.
"$PEER" stop a
"$PEER" status b >/dev/null 2>&1 || "$PEER" start b

log "building the probe"
(cd "$REPO" && cargo build -q -p negotiator-daemon --example interop_probe)
PROBE="$REPO/target/debug/examples/interop_probe"
[ -x "$PROBE" ] || lab_die "probe binary $PROBE missing"

# PKCS#8 versions of our keys (pki writes PKCS#1 / SEC1).
for kind in rsa ecdsa; do
  openssl pkcs8 -topk8 -nocrypt -in "$LAB_STATE/pki/a-$kind.key" -out "$OUT/a-$kind.p8" 2>/dev/null
  chmod 600 "$OUT/a-$kind.p8"
done

B_SW="$LAB_STATE/b/swanctl"
PSK="probe-psk-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# Renders and loads b's configuration for one scenario.
configure_b() {
  local scen="$1" tmpl cert=none
  rm -f "$B_SW"/x509/* "$B_SW"/private/* "$B_SW"/x509ca/*
  case "$scen" in
    psk) tmpl=ikev2-psk ;;
    cert-*)
      tmpl=ikev2-cert
      # strongSwan's key: RSA only in cert-rsa-rsa.
      local kind=ecdsa
      [ "$scen" = cert-rsa-rsa ] && kind=rsa
      cert=b-$kind.pem
      cp "$LAB_STATE/pki/ca.pem" "$B_SW/x509ca/ca.pem"
      cp "$LAB_STATE/pki/b-$kind.pem" "$B_SW/x509/$cert"
      cp "$LAB_STATE/pki/b-$kind.key" "$B_SW/private/b-$kind.pem"
      ;;
  esac
  lab_render "$REPO/interop/conf/$tmpl.conf.in" \
    LOCAL_ADDR="${LAB_ADDR[b]}" REMOTE_ADDR="${LAB_ADDR[a]}" \
    LOCAL_TS="${LAB_INNER_NET[b]}" REMOTE_TS="${LAB_INNER_NET[a]}" \
    LOCAL_ID="${LAB_FQDN[b]}" REMOTE_ID="${LAB_FQDN[a]}" LOCAL_CERT="$cert" PSK="$PSK" \
    IKE_PROPOSALS="$IKE_PROPOSALS" ESP_PROPOSALS="$ESP_PROPOSALS" \
    FRAGMENTATION="$FRAGMENTATION" > "$B_SW/swanctl.conf"
  "$PEER" swanctl b --terminate --ike lab --timeout 5 >/dev/null 2>&1 || true
  "$PEER" swanctl b --load-all --clear > "$OUT/load-b.out" 2>&1 ||
    { cat "$OUT/load-b.out" >&2; return 1; }
}

probe_auth_args() {
  case "$1" in
    psk) echo --psk "$PSK" ;;
    cert-rsa|cert-rsa-rsa) echo --cert "$LAB_STATE/pki/a-rsa.pem" --key "$OUT/a-rsa.p8" --ca "$LAB_STATE/pki/ca.pem" ;;
    cert-ecdsa) echo --cert "$LAB_STATE/pki/a-ecdsa.pem" --key "$OUT/a-ecdsa.p8" --ca "$LAB_STATE/pki/ca.pem" ;;
  esac
}

# Waits up to $3 seconds for a line matching $2 in file $1.
wait_for_line() {
  local f="$1" re="$2" t="$3" i
  for ((i = 0; i < t * 10; i++)); do
    grep -q -- "$re" "$f" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Stops a tshark we started: INT (tshark ignores TERM at times), KILL after 5 s.
stop_capture() {
  local pid="$1" i
  kill -INT "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

passed=0
failed=0
probe_pid=""

cleanup_probe() {
  if [ -n "$probe_pid" ] && kill -0 "$probe_pid" 2>/dev/null; then
    kill "$probe_pid" 2>/dev/null || true
    wait "$probe_pid" 2>/dev/null || true
  fi
  probe_pid=""
}
trap cleanup_probe EXIT

# One run: scenario, who initiates (we|ss), who deletes (we|ss).
run_one() {
  local scen="$1" init="$2" del="$3" name="$1/$2-init/$3-delete"
  local base="$OUT/${scen}_${init}-init_${del}-delete"
  local args=() rc
  : > "$base.out"; : > "$base.log"
  local fail=""
  configure_b "$scen" || { echo "FAIL $name: swanctl --load-all on b"; failed=$((failed + 1)); return; }
  # shellcheck disable=SC2207
  args=($(probe_auth_args "$scen"))
  args+=(--local "${LAB_ADDR[a]}" --remote "${LAB_ADDR[b]}"
         --id "${LAB_FQDN[a]}" --remote-id "${LAB_FQDN[b]}"
         --local-ts "${LAB_INNER_NET[a]}" --remote-ts "${LAB_INNER_NET[b]}" --timeout 40)
  # shellcheck disable=SC2206
  [ -n "${PROBE_ARGS:-}" ] && args+=(${PROBE_ARGS})
  [ "$init" = we ] && args+=(--initiate)
  [ "$del" = we ] && args+=(--delete-after 3)
  local cap_pid=""
  if [ -n "${CAPTURE:-}" ]; then
    rm -f "$base.pcapng" "$base.keys"
    ip netns exec "${LAB_NS[a]}" tshark -q -i "${LAB_VETH[a]}" -f "udp port 500 or udp port 4500" \
      -w "$base.pcapng" > "$base.tshark.err" 2>&1 &
    cap_pid=$!
    # tshark can take many seconds to start on a loaded machine.
    wait_for_line "$base.tshark.err" "Capturing on" 40 || fail="the capture did not start"
    # "Capturing on" comes before dumpcap has its filter attached.
    sleep 1
    args+=(--keylog "$base.keys")
  fi
  # charon's log for this run only.
  local charon_log; charon_log="$("$PEER" log b)"
  local log_start; log_start=$(wc -l < "$charon_log")
  RUST_LOG="${RUST_LOG:-info}" ip netns exec "${LAB_NS[a]}" "$PROBE" "${args[@]}" \
    > "$base.out" 2> "$base.log" &
  probe_pid=$!
  if ! wait_for_line "$base.out" "probe: listening" 10; then
    fail="probe did not start"
  elif [ "$init" = ss ]; then
    "$PEER" swanctl b --initiate --child lab --timeout 20 > "$base.initiate" 2>&1 ||
      fail="swanctl --initiate failed ($(tail -1 "$base.initiate"))"
  fi
  if [ -z "$fail" ] && ! wait_for_line "$base.out" "probe: ESTABLISHED" 25; then
    fail="probe did not report the SAs up: $(grep -m1 -E 'RESULT|failed' "$base.out" || tail -1 "$base.log")"
  fi
  if [ -z "$fail" ]; then
    "$PEER" swanctl b --list-sas > "$base.sas" 2>&1 || true
    grep -q "ESTABLISHED, IKEv2" "$base.sas" || fail="b: no ESTABLISHED IKEv2 SA"
    [ -n "$fail" ] || grep -q "INSTALLED, TUNNEL" "$base.sas" || fail="b: no INSTALLED Child SA"
  fi
  if [ -z "$fail" ] && [ "$del" = ss ]; then
    "$PEER" swanctl b --terminate --ike lab --timeout 10 > "$base.terminate" 2>&1 ||
      fail="swanctl --terminate failed ($(tail -1 "$base.terminate"))"
  fi
  if [ -n "$probe_pid" ]; then
    if [ -z "$fail" ]; then
      rc=0
      wait "$probe_pid" || rc=$?
      probe_pid=""
      [ "$rc" = 0 ] || fail="probe exit status $rc: $(grep -m1 RESULT "$base.out" || true)"
    else
      cleanup_probe
    fi
  fi
  if [ -z "$fail" ]; then
    "$PEER" swanctl b --list-sas > "$base.sas-after" 2>&1 || true
    if grep -q "^lab: " "$base.sas-after"; then fail="b still lists the SA after the delete"; fi
  fi
  tail -n +"$((log_start + 1))" "$charon_log" > "$base.charon.log" || true
  if [ -n "$cap_pid" ]; then
    sleep 0.5
    stop_capture "$cap_pid"
    if [ -z "$fail" ] && ! "$REPO/scripts/tshark-check.sh" -k "$base.keys" "$base.pcapng" 500 4500 \
        > "$base.tshark-check" 2>&1; then
      fail="tshark-check: $(tail -1 "$base.tshark-check")"
    fi
  fi
  if [ -z "$fail" ]; then
    echo "PASS $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name: $fail"
    echo "  (logs: $base.{out,log,charon.log})"
    failed=$((failed + 1))
    # Leave nothing behind for the next run.
    "$PEER" swanctl b --terminate --ike lab --force --timeout 5 >/dev/null 2>&1 || true
  fi
}

# A negotiation that must fail: scenario config on b, who initiates, a name, the regex that
# must appear in the probe's stdout or log, then the probe's options (replacing the TS and
# adding to the credentials of the scenario; later options override earlier ones).
run_neg() {
  local scen="$1" init="$2" what="$3" expect="$4"; shift 4
  local name="negative/$what/$init-init" base="$OUT/neg_${what}_${init}-init" fail=""
  configure_b "$scen" || { echo "FAIL $name: swanctl --load-all on b"; failed=$((failed + 1)); return; }
  local args=()
  # shellcheck disable=SC2207
  args=($(probe_auth_args "$scen"))
  args+=(--local "${LAB_ADDR[a]}" --remote "${LAB_ADDR[b]}"
         --id "${LAB_FQDN[a]}" --remote-id "${LAB_FQDN[b]}" --timeout 12 "$@")
  [ "$init" = we ] && args+=(--initiate)
  ip netns exec "${LAB_NS[a]}" "$PROBE" "${args[@]}" > "$base.out" 2> "$base.log" &
  probe_pid=$!
  if ! wait_for_line "$base.out" "probe: listening" 10; then
    fail="probe did not start"
  elif [ "$init" = ss ]; then
    "$PEER" swanctl b --initiate --child lab --timeout 8 > "$base.initiate" 2>&1 &&
      fail="strongSwan reports success"
  fi
  if [ -z "$fail" ]; then
    if ! wait_for_line "$base.out" "probe: RESULT" 14 && ! grep -qE -- "$expect" "$base.log"; then
      fail="neither a RESULT line nor the expected log line"
    elif grep -q "probe: RESULT ok" "$base.out"; then
      fail="the probe succeeded"
    elif ! grep -qE -- "$expect" "$base.out" "$base.log"; then
      fail="cause not named (wanted /$expect/): $(grep -m1 RESULT "$base.out" || true)"
    fi
  fi
  cleanup_probe
  "$PEER" swanctl b --terminate --ike lab --force --timeout 5 >/dev/null 2>&1 || true
  if [ -z "$fail" ]; then
    echo "PASS $name: $(grep -hoE -m1 -- "$expect.*" "$base.out" "$base.log" | head -1 | cut -c1-150)"
    passed=$((passed + 1))
  else
    echo "FAIL $name: $fail"
    echo "  (logs: $base.{out,log})"
    failed=$((failed + 1))
  fi
}

run_negative() {
  local ts_ok=(--local-ts "${LAB_INNER_NET[a]}" --remote-ts "${LAB_INNER_NET[b]}")
  # A CA that signed nothing the peer has.
  if [ ! -f "$OUT/other-ca.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/O=Elsewhere/CN=Other CA" -keyout "$OUT/other-ca.key" -out "$OUT/other-ca.pem" 2>/dev/null
  fi
  run_neg psk we wrong-psk "AUTHENTICATION_FAILED" "${ts_ok[@]}" --psk wrong-secret
  run_neg psk ss wrong-psk "pre-shared key mismatch" "${ts_ok[@]}" --psk wrong-secret
  run_neg psk we proposal "NO_PROPOSAL_CHOSEN" "${ts_ok[@]}" --ike aes256gcm16-prfsha512-ecp384
  run_neg psk ss proposal "no proposal chosen: peer offered" "${ts_ok[@]}" --ike aes256gcm16-prfsha512-ecp384
  run_neg psk we ts "TS_UNACCEPTABLE" --local-ts 10.1.0.0/24 --remote-ts "${LAB_INNER_NET[b]}"
  run_neg psk ss ts "traffic selectors unacceptable" --local-ts "${LAB_INNER_NET[a]}" --remote-ts 10.9.0.0/24
  run_neg cert-ecdsa we unknown-ca "certificate of b.lab.example refused" "${ts_ok[@]}" --ca "$OUT/other-ca.pem"
  run_neg cert-ecdsa ss unknown-ca "certificate of b.lab.example refused" "${ts_ok[@]}" --ca "$OUT/other-ca.pem"
  # strongSwan's own certificate, revoked by a CRL that strongSwan's pki tool signs with the
  # lab CA (issue 4: a revoked strongSwan-facing credential is refused).
  STRONGSWAN_CONF="$LAB_STATE/pki/pki.strongswan.conf" pki --signcrl \
    --cacert "$LAB_STATE/pki/ca.pem" --cakey "$LAB_STATE/pki/ca.key" \
    --cert "$LAB_STATE/pki/b-ecdsa.pem" --reason key-compromise --outform pem > "$OUT/revoked-b.crl"
  run_neg cert-ecdsa we revoked "certificate revoked.*b.lab.example" "${ts_ok[@]}" --crl "$OUT/revoked-b.crl"
  run_neg cert-ecdsa ss revoked "certificate revoked.*b.lab.example" "${ts_ok[@]}" --crl "$OUT/revoked-b.crl"
}

for scen in "${scenarios[@]}"; do
  case "$scen" in
    psk|cert-rsa|cert-ecdsa|cert-rsa-rsa) ;;
    negative) run_negative; continue ;;
    *) lab_die "unknown scenario $scen";;
  esac
  for init in we ss; do
    for del in we ss; do
      run_one "$scen" "$init" "$del"
    done
  done
done

[ -n "${KEEP:-}" ] || "$PEER" stop b
echo "probe: $passed passed, $failed failed"
[ "$failed" = 0 ]
