#!/usr/bin/env bash
# Check with tshark (an independent IKE dissector) that every IKE frame in a
# capture is well-formed IKEv2.
#
# usage: tshark-check.sh [-k KEYS]... [-v] PCAP PORT[/ike|/natt] [PORT...]
#
#   PORT       UDP port carrying IKE. Port 4500 is taken as NAT-T (RFC 3948:
#              IKE behind a 4-octet non-ESP marker, ESP and NAT-keepalives
#              beside it), any other port as plain IKE; "/natt" or "/ike"
#              after the number says so explicitly (e.g. 5000/ike 5001/natt).
#   -k KEYS    file of Wireshark ikev2_decryption_table records, one a line
#              (SPIi,SPIr,SKei,SKer,"enc alg",SKai,SKar,"integ alg"; the
#              format the lab's capture.sh writes to <scenario>.keys). With
#              keys, encrypted payloads are dissected too and an integrity
#              checksum mismatch counts as a failure.
#   -v         print one line per frame checked.
#
# Every UDP frame to or from one of the ports is looked at. It fails if
#   * an IKE frame's header is not IKEv2 (isakmp.version != 0x20),
#   * an IKE frame's Length field differs from its UDP payload
#     (minus the non-ESP marker on a NAT-T port),
#   * a frame is marked malformed (_ws.malformed) or carries an expert
#     info of severity Error,
#   * with -k: the IKEv2 integrity checksum does not verify,
#   * a frame on a plain IKE port is not dissected as ISAKMP, or one on a
#     NAT-T port is neither IKE, ESP nor a NAT-keepalive,
#   * there is no IKE frame at all, or tshark cannot read the file.
# Expert infos of severity Warning are printed but do not fail the check.
#
# Exit status: 0 all good, 1 check failed (the offending frame numbers are
# printed), 2 usage error or tshark missing.
set -euo pipefail

usage() { sed -n '2,/^# Exit status/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

keys=()
verbose=0
while getopts "k:vh" opt; do
  case "$opt" in
    k) keys+=("$OPTARG") ;;
    v) verbose=1 ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || usage
pcap="$1"; shift

command -v tshark >/dev/null || { echo "tshark-check: tshark not found" >&2; exit 2; }
[ -r "$pcap" ] || { echo "tshark-check: cannot read $pcap" >&2; exit 2; }

args=(-n -r "$pcap")
natt_ports=""
filter=""
for spec in "$@"; do
  port="${spec%%/*}"
  kind="${spec#"$port"}"
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] ||
    { echo "tshark-check: bad port '$spec'" >&2; exit 2; }
  case "$kind" in
    "") if [ "$port" = 4500 ]; then kind=/natt; else kind=/ike; fi ;;
    /ike|/natt) ;;
    *) echo "tshark-check: bad port kind in '$spec' (use /ike or /natt)" >&2; exit 2 ;;
  esac
  if [ "$kind" = /natt ]; then
    args+=(-d "udp.port==$port,udpencap")
    natt_ports="$natt_ports $port "
  else
    args+=(-d "udp.port==$port,isakmp")
  fi
  filter="${filter:+$filter || }udp.port == $port"
done

for kf in "${keys[@]+"${keys[@]}"}"; do
  [ -r "$kf" ] || { echo "tshark-check: cannot read key file $kf" >&2; exit 2; }
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%$'\r'}"
    case "$line" in ''|'#'*) continue ;; esac
    args+=(-o "uat:ikev2_decryption_table:$line")
  done < "$kf"
done

err="$(mktemp)"
trap 'rm -f "$err"' EXIT
rc=0
out="$(tshark "${args[@]}" -Y "$filter" -T fields -E separator=/t -E aggregator="|" \
        -e frame.number -e frame.protocols -e udp.srcport -e udp.dstport -e udp.length \
        -e isakmp.version -e isakmp.length -e _ws.malformed \
        -e _ws.expert.severity -e _ws.expert.message -e isakmp.ikev2.integrity_checksum \
        2>"$err")" || rc=$?
# tshark warns about running as root on stderr; anything else is a problem.
problems="$(grep -v 'Running as user "root"' "$err" || true)"
if [ "$rc" -ne 0 ] || [ -n "$problems" ]; then
  echo "tshark-check: FAIL: tshark could not read $pcap cleanly (exit $rc):" >&2
  printf '%s\n' "$problems" >&2
  exit 1
fi

# Severities (epan/proto.h): PI_WARN 0x00600000, PI_ERROR 0x00800000.
printf '%s\n' "$out" | awk -F'\t' -v natt="$natt_ports" -v verbose="$verbose" -v pcap="$pcap" '
  function fail(frame, why) { bad[frame] = 1; printf "FAIL frame %s: %s\n", frame, why }
  NF == 0 || $1 == "" { next }
  {
    frame = $1; protos = $2; sport = $3; dport = $4; ulen = $5 + 0
    vers = $6; ilen = $7; malformed = $8; sev = $9; msg = $10; icv = $11
    is_natt = index(natt, " " sport " ") || index(natt, " " dport " ")
    kind = "?"
    if (protos ~ /(^|:)isakmp(:|$)/) {
      kind = "IKE"; nike++
      n = split(vers, v, "|")
      for (i = 1; i <= n; i++)
        if (v[i] != "0x20") { fail(frame, "not IKEv2 (isakmp.version " v[i] ")"); break }
      split(ilen, l, "|")
      want = ulen - 8 - (protos ~ /udpencap/ ? 4 : 0)
      if (l[1] == "" || l[1] + 0 != want)
        fail(frame, "IKE Length field " (l[1] == "" ? "(not dissected)" : l[1]) " but UDP carries " want " octets of IKE")
    } else if (is_natt && protos ~ /(^|:)esp(:|$)/) {
      kind = "ESP"; nesp++
    } else if (is_natt && protos ~ /udpencap$/ && ulen == 9) {
      kind = "keepalive"; nka++
    } else {
      fail(frame, "UDP " sport "->" dport " not dissected as IKE (" protos ")")
    }
    if (malformed != "") fail(frame, "malformed: " malformed)
    n = split(sev, s, "|"); split(msg, m, "|")
    for (i = 1; i <= n; i++) {
      if (s[i] + 0 >= 8388608) fail(frame, "expert error: " m[i])
      else if (s[i] + 0 >= 6291456 && icv == "") printf "warn frame %s: %s\n", frame, m[i]
    }
    if (icv != "") fail(frame, "IKEv2 integrity checksum does not verify")
    total++
    if (verbose) printf "frame %s: %s %s->%s %s\n", frame, kind, sport, dport, (frame in bad) ? "BAD" : "ok"
  }
  END {
    if (nike == 0) { printf "FAIL: no IKE frame on the given ports in %s\n", pcap; exit 1 }
    nb = 0; list = ""
    for (f in bad) { nb++; list = list " " f }
    if (nb) {
      # list frame numbers in order
      n = split(list, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      list = ""; for (i = 1; i <= n; i++) list = list (i > 1 ? "," : "") a[i]
      printf "tshark-check: FAIL %s: %d bad frame(s): %s\n", pcap, nb, list
      exit 1
    }
    printf "tshark-check: OK %s: %d IKEv2 frame(s), %d ESP, %d keepalive(s), no malformed or expert errors\n", pcap, nike, nesp + 0, nka + 0
  }'
