#!/usr/bin/env bash
# Tests for scripts/tshark-check.sh and scripts/extract-ike.py against the
# real strongSwan captures in crates/wire/tests/data/strongswan and against
# deliberately corrupted copies of them.
#
# usage: scripts/capture-tools-test.sh      (needs tshark and python3)
# Prints one line per case and "N passed, M failed"; exit status 1 if any
# case failed.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="$here/../crates/wire/tests/data/strongswan"
check="$here/tshark-check.sh"
extract="$here/extract-ike.py"
command -v tshark >/dev/null || { echo "tshark missing: cannot run these tests" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# mutate.py: edit a classic little-endian pcap of Ethernet/IPv4/UDP frames.
#   patch IN OUT FRAME OFFSET HEX   overwrite bytes of a frame's IKE message
#                                   (OFFSET counts from the IKE header, after
#                                   the non-ESP marker on port 4500)
#   append IN OUT SPORT DPORT HEX   add a UDP datagram 192.0.2.1 -> 192.0.2.2
#   cut IN OUT NBYTES               drop the file's last NBYTES bytes
cat > "$tmp/mutate.py" <<'EOF'
import struct, sys
op, src, dst = sys.argv[1:4]
d = bytearray(open(src, "rb").read())
if d[:4] != b"\xd4\xc3\xb2\xa1":
    sys.exit("mutate: not a little-endian microsecond pcap")
if op == "patch":
    frame, off, new = int(sys.argv[4]), int(sys.argv[5]), bytes.fromhex(sys.argv[6])
    p, n = 24, 0
    while p < len(d):
        incl = struct.unpack_from("<I", d, p + 8)[0]
        n += 1
        if n == frame:
            ip = p + 16 + 14
            udp = ip + (d[ip] & 15) * 4
            ports = struct.unpack_from("!HH", d, udp)
            base = udp + 8 + (4 if 4500 in ports else 0)
            if base + off + len(new) > p + 16 + incl:
                sys.exit("mutate: patch beyond the frame")
            d[base + off : base + off + len(new)] = new
            break
        p += 16 + incl
    else:
        sys.exit("mutate: no frame %d" % frame)
elif op == "append":
    sport, dport, payload = int(sys.argv[4]), int(sys.argv[5]), bytes.fromhex(sys.argv[6])
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                               bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])))
    s = sum(struct.unpack("!10H", ip))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    struct.pack_into("!H", ip, 10, ~s & 0xFFFF)
    eth = bytes(6) + bytes(5) + b"\x01" + b"\x08\x00"
    pkt = eth + bytes(ip) + udp
    d += struct.pack("<IIII", 1796316000, 0, len(pkt), len(pkt)) + pkt
elif op == "cut":
    d = d[: len(d) - int(sys.argv[4])]
else:
    sys.exit("mutate: unknown op")
open(dst, "wb").write(d)
EOF
mutate() { python3 "$tmp/mutate.py" "$@" || { echo "mutate $* failed" >&2; exit 1; }; }

# expect_check NAME WANT_RC "FRAMES" ARGS...: run tshark-check.sh, compare
# the exit status and (for failures) the reported bad frame list.
expect_check() {
  local name="$1" want_rc="$2" want_frames="$3"; shift 3
  local out rc=0
  out="$("$check" "$@" 2>&1)" || rc=$?
  if [ "$rc" != "$want_rc" ]; then
    bad "$name: exit $rc, want $want_rc"; printf '%s\n' "$out" | sed 's/^/     /'; return
  fi
  if [ -n "$want_frames" ] && ! grep -q "bad frame(s): $want_frames\$" <<<"$out"; then
    bad "$name: want bad frames $want_frames"; printf '%s\n' "$out" | sed 's/^/     /'; return
  fi
  ok "$name"
}

cert="$data/ikev2-cert.pcap"
psk="$data/ikev2-psk.pcap"

# --- the real captures pass, with and without decryption keys
expect_check "cert capture passes" 0 "" "$cert" 500 4500
expect_check "psk capture passes" 0 "" "$psk" 500 4500
expect_check "cert capture passes with keys" 0 "" -k "$data/ikev2-cert.keys" "$cert" 500 4500
expect_check "psk capture passes with keys" 0 "" -k "$data/ikev2-psk.keys" "$psk" 500 4500
expect_check "explicit port kinds" 0 "" "$cert" 500/ike 4500/natt
expect_check "rekey capture passes with both IKE SAs' keys" 0 "" -k "$data/ikev2-rekey.keys" "$data/ikev2-rekey.pcap" 500 4500
# With only the first IKE SA's keys, the messages after the IKE rekey stay
# opaque: still no failure (nothing to verify), so the check passes.
head -1 "$data/ikev2-rekey.keys" > "$tmp/first.keys"
expect_check "rekey capture with first SA's keys only" 0 "" -k "$tmp/first.keys" "$data/ikev2-rekey.pcap" 500 4500
# Zeroed initiator keys (SK_ei, SK_ai) for the right SPIs: the initiator's
# encrypted frames fail, the responder's (SK_er, SK_ar intact) still verify.
sed -n 1p "$data/ikev2-cert.keys" | awk -F, -v OFS=, '{ $3 = "00000000000000000000000000000000"; $6 = "0000000000000000000000000000000000000000000000000000000000000000"; print }' > "$tmp/wrong.keys"
expect_check "wrong SK_ei/SK_ai fail every initiator SK frame (3,4,18), not the responder's" 1 "3,4,18" -k "$tmp/wrong.keys" "$cert" 500 4500
out="$("$check" "$cert" 500 4500 2>&1)"
grep -q "7 IKEv2 frame(s), 12 ESP" <<<"$out" && ok "cert capture counts 7 IKE + 12 ESP" ||
  bad "cert capture counts: $out"

# --- corrupted copies fail, naming the right frame
mutate patch "$cert" "$tmp/version.pcap" 1 17 10          # IKE version 1.0
expect_check "IKEv1 version byte" 1 "1" "$tmp/version.pcap" 500 4500
mutate patch "$cert" "$tmp/version0.pcap" 2 17 00         # version 0.0
expect_check "version 0 byte" 1 "2" "$tmp/version0.pcap" 500 4500
mutate patch "$cert" "$tmp/sa-len.pcap" 1 30 ffff         # SA payload length
expect_check "SA payload length too big" 1 "1" "$tmp/sa-len.pcap" 500 4500
mutate patch "$cert" "$tmp/hdr-long.pcap" 2 24 00000fff   # header Length > datagram
expect_check "IKE Length beyond datagram" 1 "2" "$tmp/hdr-long.pcap" 500 4500
mutate patch "$cert" "$tmp/hdr-short.pcap" 2 24 00000100  # header Length < datagram
expect_check "IKE Length short of datagram" 1 "2" "$tmp/hdr-short.pcap" 500 4500
mutate patch "$cert" "$tmp/skf-len.pcap" 3 30 ffff        # SKF payload length
expect_check "SKF payload length (NAT-T port)" 1 "3" "$tmp/skf-len.pcap" 500 4500
mutate patch "$cert" "$tmp/two.pcap" 1 17 10
mutate patch "$tmp/two.pcap" "$tmp/two.pcap" 19 24 00000010
expect_check "two bad frames listed in order" 1 "1,19" "$tmp/two.pcap" 500 4500
# A flipped ciphertext octet is invisible without keys, caught with them.
mutate patch "$cert" "$tmp/icv.pcap" 5 100 00
expect_check "ciphertext flip without keys passes" 0 "" "$tmp/icv.pcap" 500 4500
expect_check "ciphertext flip with keys fails" 1 "5" -k "$data/ikev2-cert.keys" "$tmp/icv.pcap" 500 4500
# Real IKEv1 (strongSwan Main Mode, PSK) is not IKEv2.
expect_check "real IKEv1 capture" 1 "1,2,3,4,5,6" "$data/negative-ikev1-psk.pcap" 500 4500
# Not IKE at all on port 500; a NAT-keepalive on 4500 is fine.
mutate append "$cert" "$tmp/junk500.pcap" 500 500 414243
expect_check "3 junk octets on port 500" 1 "20" "$tmp/junk500.pcap" 500 4500
mutate append "$cert" "$tmp/ka.pcap" 4500 4500 ff
expect_check "NAT-keepalive accepted" 0 "" "$tmp/ka.pcap" 500 4500
mutate cut "$cert" "$tmp/cut.pcap" 30
expect_check "capture cut short" 1 "" "$tmp/cut.pcap" 500 4500
expect_check "no IKE on the given port" 1 "" "$cert" 501
expect_check "IKE port 4500 forced to plain IKE" 1 "" "$cert" 500 4500/ike
expect_check "usage: no port" 2 "" "$cert"
expect_check "usage: bad port" 2 "" "$cert" 70000
expect_check "usage: bad kind" 2 "" "$cert" 500/foo

# --- extractor: reproduces the committed fixtures, agrees with tshark
for s in ikev2-cert ikev2-psk ikev2-rekey; do
  mkdir -p "$tmp/x-$s"
  if python3 "$extract" --check-tshark --out "$tmp/x-$s" "$data/$s.pcap" 2>"$tmp/x-$s.err"; then
    want="$(cd "$data" && ls -- ??-"$s"-*.bin)"
    got="$(cd "$tmp/x-$s" && ls -- ??-"$s"-*.bin)"
    if [ "$want" = "$got" ] && (cd "$data" && for f in $want; do cmp -s "$f" "$tmp/x-$s/$f" || exit 1; done); then
      ok "extractor reproduces $s fixtures ($(wc -w <<<"$want") files)"
    else
      bad "extractor output differs from committed $s fixtures"
    fi
  else
    bad "extractor on $s: $(cat "$tmp/x-$s.err")"
  fi
done
# Frame 1 of ikev2-cert is IKE_SA_INIT from the initiator; its header bytes
# 16..27 (next payload SA=33, version 0x20, IKE_SA_INIT=34, flags I=0x08,
# MID 0, length 316) are checked against hand-decoded values.
hdr="$(od -An -tx1 -j16 -N12 "$data/01-ikev2-cert-ike_sa_init-i.bin" | tr -d ' \n')"
[ "$hdr" = "21202208000000000000013c" ] && ok "fixture 01 header decodes by hand" ||
  bad "fixture 01 header is $hdr"
# The first fragment starts with SKF (53) and says fragment 1 of 2.
skf="$(od -An -tx1 -j16 -N1 "$data/03-ikev2-cert-ike_auth-i.bin" | tr -d ' \n'):$(od -An -tx1 -j32 -N4 "$data/03-ikev2-cert-ike_auth-i.bin" | tr -d ' \n')"
[ "$skf" = "35:00010002" ] && ok "fixture 03 is SKF fragment 1/2" || bad "fixture 03 SKF header $skf"
mutate append "$cert" "$tmp/ka.pcap" 4500 4500 ff
n="$(python3 "$extract" --out "$tmp/ka-out" "$tmp/ka.pcap" 2>&1)" &&
  grep -q "wrote 7 IKE messages.*12 ESP, 1 keepalives" <<<"$n" && ok "extractor skips keepalive and ESP" ||
  bad "extractor with keepalive: $n"
python3 "$extract" "$tmp/hdr-short.pcap" >/dev/null 2>&1 && bad "extractor accepted a bad IKE Length" ||
  ok "extractor rejects a bad IKE Length"
python3 "$extract" "$tmp/cut.pcap" >/dev/null 2>&1 && bad "extractor accepted a cut capture" ||
  ok "extractor rejects a cut capture"
python3 "$extract" "$tmp/sa-len.pcap" >/dev/null 2>&1 && bad "extractor accepted a bad payload length" ||
  ok "extractor rejects a bad payload length"
if command -v editcap >/dev/null; then
  editcap -F pcapng "$cert" "$tmp/cert.pcapng" 2>/dev/null
  a="$(python3 "$extract" --list "$cert" 2>/dev/null)"; b="$(python3 "$extract" --scenario ikev2-cert --list "$tmp/cert.pcapng" 2>/dev/null)"
  [ -n "$a" ] && [ "$a" = "$b" ] && ok "extractor reads pcapng the same as pcap" || bad "pcapng differs from pcap"
else
  bad "editcap missing: pcapng case not run"
fi

# --- verify-ike-keys.py: keys, ICVs, AUTH recomputed from the fixtures
verify="$here/verify-ike-keys.py"
for s in ikev2-cert ikev2-psk ikev2-rekey; do
  out="$(python3 "$verify" "$data" "$s" 2>&1)" && grep -q "^PASSED" <<<"$out" &&
    ok "verify-ike-keys $s ($(grep -c '^ok' <<<"$out") checks)" ||
    { bad "verify-ike-keys $s"; grep -v '^ok' <<<"$out" | sed 's/^/     /'; }
done
# Inner (decrypted) payload files are reproducible.
mkdir -p "$tmp/v"
cp "$data"/*.bin "$data"/*.charon-dumps.txt "$data/lab-ca.pem" "$tmp/v/"
for s in ikev2-cert ikev2-psk ikev2-rekey; do python3 "$verify" --write-inner "$tmp/v" "$s" >/dev/null 2>&1; done
want="$(cd "$data" && ls -- *.inner)"; got="$(cd "$tmp/v" && ls -- *.inner)"
if [ -n "$want" ] && [ "$want" = "$got" ] && (cd "$data" && for f in $want; do cmp -s "$f" "$tmp/v/$f" || exit 1; done); then
  ok "verify-ike-keys --write-inner reproduces the $(wc -w <<<"$want") committed .inner files"
else
  bad "committed .inner files differ from regenerated ones"
fi
# Tampering is caught: a logged SKEYSEED, a ciphertext octet, the trust anchor.
cp -r "$tmp/v" "$tmp/t1"
sed -i '0,/^SKEYSEED = ../s/^SKEYSEED = ../SKEYSEED = 00/' "$tmp/t1/ikev2-psk.charon-dumps.txt"
out="$(python3 "$verify" "$tmp/t1" ikev2-psk 2>&1)" && bad "verify accepted a wrong SKEYSEED" ||
  { grep -q "^FAIL SKEYSEED" <<<"$out" && ok "verify rejects a wrong SKEYSEED" || bad "wrong SKEYSEED: $out"; }
cp -r "$tmp/v" "$tmp/t2"
printf '\x5a' | dd of="$tmp/t2/05-ikev2-cert-ike_auth-r.bin" bs=1 seek=200 conv=notrunc 2>/dev/null
out="$(python3 "$verify" "$tmp/t2" ikev2-cert 2>&1)" && bad "verify accepted a flipped ciphertext octet" ||
  { grep -q "^FAIL 05-ikev2-cert-ike_auth-r.bin: ICV" <<<"$out" && ok "verify rejects a flipped ciphertext octet (ICV)" || bad "flipped octet: $out"; }
cp -r "$tmp/v" "$tmp/t3"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/t3/k.pem" \
  -subj "/CN=Other CA" -days 1 -out "$tmp/t3/lab-ca.pem" 2>/dev/null
out="$(python3 "$verify" "$tmp/t3" ikev2-cert 2>&1)" && bad "verify accepted certificates from another CA" ||
  { grep -q "^FAIL initiator certificate chains" <<<"$out" && ok "verify rejects a foreign trust anchor" || bad "foreign CA: $out"; }

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
