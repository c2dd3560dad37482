#!/usr/bin/env python3
"""Extract every IKE message (the UDP payload) from a capture file.

Usage:
    extract-ike.py [options] CAPTURE

Reads classic pcap (either byte order, micro- or nanosecond) and pcapng
files with the Python standard library only. Supported link types:
Ethernet (with 802.1Q/802.1ad tags), Linux cooked v1/v2, raw IP and BSD
loopback. IPv4 and IPv6, with IP fragments reassembled.

For each UDP datagram to or from an IKE port:
  * plain IKE ports (default 500): the whole UDP payload is the IKE message;
  * NAT-T ports (default 4500, RFC 3948): a payload of the single octet 0xff
    is a NAT-keepalive and is skipped; one starting with the 4-octet
    non-ESP marker (zero) is IKE and the marker is stripped; anything else is
    ESP and is skipped.

Every IKE message must pass basic header checks (at least 28 octets, the
header's Length field equal to the payload length); otherwise the script
stops with an error naming the frame, so that a broken capture never turns
into a fixture silently.

With --out DIR, message number NN (1-based, in capture order) is written to
    DIR/NN-<scenario>-<exchange>-<i|r>.bin
where <exchange> is the lower-case exchange name (ike_sa_init, ike_auth,
create_child_sa, informational, ...; "xNN" when unknown) and i|r is the
sender's role from the header's Initiator flag (i = original initiator).
Earlier files of the same scenario (??-<scenario>-*.bin) are removed first.

--list prints one line per IKE message (a Markdown table).
--check-tshark compares the extracted messages, byte for byte, with the UDP
payloads tshark reports for the same frames (an independent decoder).

Exit status: 0 on success, 1 on a malformed capture or a failed check,
2 on a usage error.
"""

import argparse
import glob
import hashlib
import os
import struct
import subprocess
import sys

# Size budgets: this is a tool for small fixture captures.
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_RECORD_BYTES = 256 * 1024
MAX_REASSEMBLY_BYTES = 65535
MAX_PENDING_FRAGMENTS = 1024

IKE_HEADER_LEN = 28

EXCHANGES = {
    2: "ikev1_main",
    4: "ikev1_aggressive",
    5: "ikev1_informational",
    32: "ikev1_quick",
    34: "ike_sa_init",
    35: "ike_auth",
    36: "create_child_sa",
    37: "informational",
    38: "ike_session_resume",
    43: "ike_intermediate",
    44: "ike_followup_kex",
}

# IKEv2 payload type numbers used for the summary column.
PAYLOAD_NAMES = {
    33: "SA", 34: "KE", 35: "IDi", 36: "IDr", 37: "CERT", 38: "CERTREQ",
    39: "AUTH", 40: "Ni/Nr", 41: "N", 42: "D", 43: "V", 44: "TSi", 45: "TSr",
    46: "SK", 47: "CP", 48: "EAP", 53: "SKF",
}


class CaptureError(Exception):
    """A capture file that cannot be read or holds a broken IKE message."""


# ---------------------------------------------------------------- file formats


def read_capture(data):
    """Yield (frame_number, linktype, packet_bytes) for every packet."""
    if len(data) < 4:
        raise CaptureError("file too short for any capture format")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        return read_pcap(data, "<")
    if magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        return read_pcap(data, ">")
    if magic == b"\x0a\x0d\x0d\x0a":
        return read_pcapng(data)
    raise CaptureError("not a pcap or pcapng file (magic %s)" % magic.hex())


def read_pcap(data, endian):
    if len(data) < 24:
        raise CaptureError("pcap global header truncated")
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
    off = 24
    frame = 0
    while off < len(data):
        if off + 16 > len(data):
            raise CaptureError("pcap record header truncated at offset %d" % off)
        incl, orig = struct.unpack_from(endian + "II", data, off + 8)
        frame += 1
        if incl > MAX_RECORD_BYTES:
            raise CaptureError("frame %d: record of %d bytes exceeds budget" % (frame, incl))
        if off + 16 + incl > len(data):
            raise CaptureError("frame %d: record body truncated" % frame)
        if incl < orig:
            raise CaptureError("frame %d: snapped (%d of %d bytes captured)" % (frame, incl, orig))
        yield frame, linktype, data[off + 16 : off + 16 + incl]
        off += 16 + incl


def read_pcapng(data):
    endian = "<"
    interfaces = []
    off = 0
    frame = 0
    while off < len(data):
        if off + 12 > len(data):
            raise CaptureError("pcapng block header truncated at offset %d" % off)
        btype = struct.unpack_from(endian + "I", data, off)[0]
        if btype == 0x0A0D0D0A:
            bom = data[off + 8 : off + 12]
            if bom == b"\x4d\x3c\x2b\x1a":
                endian = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                endian = ">"
            else:
                raise CaptureError("pcapng section header with bad byte-order magic")
            interfaces = []
        blen = struct.unpack_from(endian + "I", data, off + 4)[0]
        if blen < 12 or blen % 4 or off + blen > len(data) or blen > MAX_RECORD_BYTES + 64:
            raise CaptureError("pcapng block at offset %d has bad length %d" % (off, blen))
        body = data[off + 8 : off + blen - 4]
        if btype == 1:  # Interface Description Block
            if len(body) < 8:
                raise CaptureError("pcapng IDB truncated")
            interfaces.append(struct.unpack_from(endian + "H", body, 0)[0])
        elif btype == 6:  # Enhanced Packet Block
            if len(body) < 20:
                raise CaptureError("pcapng EPB truncated")
            ifid, _, _, caplen, origlen = struct.unpack_from(endian + "IIIII", body, 0)
            frame += 1
            if ifid >= len(interfaces):
                raise CaptureError("frame %d: unknown interface %d" % (frame, ifid))
            if 20 + caplen > len(body):
                raise CaptureError("frame %d: packet data truncated" % frame)
            if caplen < origlen:
                raise CaptureError("frame %d: snapped (%d of %d bytes)" % (frame, caplen, origlen))
            yield frame, interfaces[ifid], body[20 : 20 + caplen]
        elif btype == 3:  # Simple Packet Block
            if len(body) < 4 or not interfaces:
                raise CaptureError("pcapng SPB truncated or without interface")
            origlen = struct.unpack_from(endian + "I", body, 0)[0]
            frame += 1
            if 4 + origlen > len(body):
                raise CaptureError("frame %d: snapped simple packet" % frame)
            yield frame, interfaces[0], body[4 : 4 + origlen]
        elif btype == 2:  # obsolete Packet Block: count it, refuse it
            frame += 1
            raise CaptureError("frame %d: obsolete pcapng Packet Block not supported" % frame)
        off += blen


# ------------------------------------------------------------- link / network


def link_payload(linktype, pkt):
    """Return (ethertype-like protocol, network-layer bytes) or None."""
    if linktype == 1:  # Ethernet
        if len(pkt) < 14:
            return None
        etype = struct.unpack_from("!H", pkt, 12)[0]
        off = 14
        while etype in (0x8100, 0x88A8):
            if len(pkt) < off + 4:
                return None
            etype = struct.unpack_from("!H", pkt, off + 2)[0]
            off += 4
        return etype, pkt[off:]
    if linktype == 113:  # Linux cooked v1
        if len(pkt) < 16:
            return None
        return struct.unpack_from("!H", pkt, 14)[0], pkt[16:]
    if linktype == 276:  # Linux cooked v2
        if len(pkt) < 20:
            return None
        return struct.unpack_from("!H", pkt, 0)[0], pkt[20:]
    if linktype in (12, 14, 101):  # raw IP
        if not pkt:
            return None
        version = pkt[0] >> 4
        return {4: 0x0800, 6: 0x86DD}.get(version, 0), pkt
    if linktype == 0:  # BSD loopback: 4-octet address family, host order
        if len(pkt) < 4:
            return None
        family = struct.unpack_from("<I", pkt, 0)[0]
        if family > 0xFFFF:
            family = struct.unpack_from(">I", pkt, 0)[0]
        if family == 2:
            return 0x0800, pkt[4:]
        if family in (10, 24, 28, 30):
            return 0x86DD, pkt[4:]
        return None
    raise CaptureError("unsupported link type %d" % linktype)


class Reassembler:
    """Minimal IP fragment reassembly (IPv4 and IPv6)."""

    def __init__(self):
        self.pending = {}

    def add(self, frame, key, offset, more, payload):
        """Return the whole payload when complete, else None."""
        if offset + len(payload) > MAX_REASSEMBLY_BYTES:
            raise CaptureError("frame %d: IP fragment beyond 65535 octets" % frame)
        parts = self.pending.setdefault(key, {"parts": {}, "total": None})
        if len(self.pending) > MAX_PENDING_FRAGMENTS:
            raise CaptureError("frame %d: too many incomplete IP datagrams" % frame)
        parts["parts"][offset] = payload
        if not more:
            parts["total"] = offset + len(payload)
        total = parts["total"]
        if total is None:
            return None
        buf = bytearray()
        for off in sorted(parts["parts"]):
            if off != len(buf):
                return None  # hole (or overlap): wait for more
            buf += parts["parts"][off]
        if len(buf) != total:
            return None
        del self.pending[key]
        return bytes(buf)


def ip_udp(frame, proto, net, reasm):
    """Return (src, dst, sport, dport, udp_payload) for UDP, else None."""
    if proto == 0x0800:
        if len(net) < 20 or net[0] >> 4 != 4:
            return None
        ihl = (net[0] & 0x0F) * 4
        total = struct.unpack_from("!H", net, 2)[0]
        if ihl < 20 or total < ihl or total > len(net):
            raise CaptureError("frame %d: bad IPv4 header lengths" % frame)
        ident, frag = struct.unpack_from("!HH", net, 4)
        nproto = net[9]
        src = ".".join(str(b) for b in net[12:16])
        dst = ".".join(str(b) for b in net[16:20])
        body = net[ihl:total]
        more = bool(frag & 0x2000)
        foff = (frag & 0x1FFF) * 8
        if more or foff:
            body = reasm.add(frame, (4, src, dst, ident, nproto), foff, more, body)
            if body is None:
                return None
    elif proto == 0x86DD:
        if len(net) < 40 or net[0] >> 4 != 6:
            return None
        plen = struct.unpack_from("!H", net, 4)[0]
        if 40 + plen > len(net):
            raise CaptureError("frame %d: bad IPv6 payload length" % frame)
        nproto = net[6]
        src = net[8:24].hex()
        dst = net[24:40].hex()
        body = net[40 : 40 + plen]
        while nproto in (0, 43, 60, 44):
            if len(body) < 8:
                raise CaptureError("frame %d: truncated IPv6 extension header" % frame)
            if nproto == 44:
                foffm, ident = struct.unpack_from("!HI", body, 2)
                nproto = body[0]
                body = reasm.add(frame, (6, src, dst, ident, nproto),
                                 foffm & 0xFFF8, bool(foffm & 1), body[8:])
                if body is None:
                    return None
                continue
            hlen = (body[1] + 1) * 8
            if hlen > len(body):
                raise CaptureError("frame %d: truncated IPv6 extension header" % frame)
            nproto = body[0]
            body = body[hlen:]
    else:
        return None
    if nproto != 17:
        return None
    if len(body) < 8:
        raise CaptureError("frame %d: truncated UDP header" % frame)
    sport, dport, ulen = struct.unpack_from("!HHH", body, 0)
    if ulen < 8 or ulen > len(body):
        raise CaptureError("frame %d: bad UDP length %d" % (frame, ulen))
    return src, dst, sport, dport, body[8:ulen]


# ------------------------------------------------------------------------ IKE


def ike_info(frame, msg):
    """Check an IKE header; return a dict describing the message."""
    if len(msg) < IKE_HEADER_LEN:
        raise CaptureError("frame %d: IKE message of %d octets is shorter than its header"
                           % (frame, len(msg)))
    np, version, xchg, flags, mid, length = struct.unpack_from("!BBBBII", msg, 16)
    if length != len(msg):
        raise CaptureError("frame %d: IKE Length field %d but UDP carries %d octets"
                           % (frame, length, len(msg)))
    payloads = []
    frag = ""
    if version >> 4 == 2:
        off = IKE_HEADER_LEN
        while np != 0:
            if off + 4 > len(msg):
                raise CaptureError("frame %d: payload header past the end" % frame)
            nxt, plen = msg[off], struct.unpack_from("!H", msg, off + 2)[0]
            if plen < 4 or off + plen > len(msg):
                raise CaptureError("frame %d: bad payload length %d" % (frame, plen))
            payloads.append(PAYLOAD_NAMES.get(np, str(np)))
            if np == 53 and plen >= 8:
                num, total = struct.unpack_from("!HH", msg, off + 4)
                frag = "%d/%d" % (num, total)
            if np in (46, 53):
                break  # encrypted: the inner chain is not visible
            np = nxt
            off += plen
        if np in (0,) and off != len(msg):
            raise CaptureError("frame %d: %d octets after the last payload"
                               % (frame, len(msg) - off))
    return {
        "version": version,
        "exchange": EXCHANGES.get(xchg, "x%d" % xchg),
        "flags": flags,
        "role": "i" if flags & 0x08 else "r",
        "kind": "response" if flags & 0x20 else "request",
        "mid": mid,
        "payloads": payloads,
        "frag": frag,
    }


def extract(path, ike_ports, natt_ports):
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise CaptureError("%s: %d bytes exceeds the %d byte budget" % (path, size, MAX_FILE_BYTES))
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    reasm = Reassembler()
    out = []
    stats = {"keepalive": 0, "esp": 0}
    for frame, linktype, pkt in read_capture(data):
        lp = link_payload(linktype, pkt)
        if lp is None:
            continue
        u = ip_udp(frame, lp[0], lp[1], reasm)
        if u is None:
            continue
        src, dst, sport, dport, payload = u
        if sport in natt_ports or dport in natt_ports:
            if payload == b"\xff":
                stats["keepalive"] += 1
                continue
            if len(payload) < 4 or payload[:4] != b"\x00\x00\x00\x00":
                stats["esp"] += 1
                continue
            msg, marker = payload[4:], True
        elif sport in ike_ports or dport in ike_ports:
            msg, marker = payload, False
        else:
            continue
        info = ike_info(frame, msg)
        info.update(frame=frame, src=src, dst=dst, sport=sport, dport=dport,
                    marker=marker, data=msg)
        out.append(info)
    return out, stats


def tshark_payloads(path, ike_ports, natt_ports):
    """UDP payloads by frame number, as tshark decodes them."""
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.number",
           "-e", "udp.srcport", "-e", "udp.dstport", "-e", "udp.payload"]
    ports = sorted(set(ike_ports) | set(natt_ports))
    cmd += ["-Y", " || ".join("udp.port == %d" % p for p in ports)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise CaptureError("tshark failed: %s" % res.stderr.strip())
    got = {}
    for line in res.stdout.splitlines():
        cols = line.split("\t")
        if len(cols) < 4:
            continue
        got[int(cols[0])] = bytes.fromhex(cols[3].replace(":", ""))
    return got


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("capture")
    ap.add_argument("--out", help="write NN-<scenario>-<exchange>-<i|r>.bin files here")
    ap.add_argument("--scenario", help="name used in file names (default: capture's base name)")
    ap.add_argument("--ike-port", type=int, action="append",
                    help="plain IKE UDP port (repeatable; default 500)")
    ap.add_argument("--natt-port", type=int, action="append",
                    help="NAT-T UDP port with non-ESP marker (repeatable; default 4500)")
    ap.add_argument("--list", action="store_true", help="print a Markdown table of the messages")
    ap.add_argument("--check-tshark", action="store_true",
                    help="compare every message with tshark's udp.payload")
    args = ap.parse_args()

    ike_ports = set(args.ike_port or [500])
    natt_ports = set(args.natt_port or [4500])
    if ike_ports & natt_ports:
        ap.error("a port cannot be both plain IKE and NAT-T")
    scenario = args.scenario or os.path.splitext(os.path.basename(args.capture))[0]
    if not scenario or "/" in scenario:
        ap.error("bad scenario name")

    try:
        msgs, stats = extract(args.capture, ike_ports, natt_ports)
        if not msgs:
            raise CaptureError("no IKE messages found")
        names = []
        for n, m in enumerate(msgs, 1):
            names.append("%02d-%s-%s-%s.bin" % (n, scenario, m["exchange"], m["role"]))

        if args.check_tshark:
            ref = tshark_payloads(args.capture, ike_ports, natt_ports)
            for m in msgs:
                want = ref.get(m["frame"])
                if want is None:
                    raise CaptureError("frame %d: tshark reports no UDP payload" % m["frame"])
                if m["marker"]:
                    if want[:4] != b"\x00" * 4:
                        raise CaptureError("frame %d: tshark sees no non-ESP marker" % m["frame"])
                    want = want[4:]
                if want != m["data"]:
                    raise CaptureError("frame %d: payload differs from tshark's" % m["frame"])
            print("tshark agrees on all %d IKE messages" % len(msgs), file=sys.stderr)

        if args.list:
            print("| file | frame | from | ports | octets | exchange | MID | flags | payloads | sha256 (first 16) |")
            print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            for name, m in zip(names, msgs):
                pl = " ".join(m["payloads"])
                if m["frag"]:
                    pl += " (fragment %s)" % m["frag"]
                flags = "I" if m["flags"] & 0x08 else ""
                flags += "R" if m["flags"] & 0x20 else ""
                print("| %s | %d | %s | %d→%d%s | %d | %s %s | %d | %s | %s | %s |" % (
                    name, m["frame"], m["src"], m["sport"], m["dport"],
                    " (marker stripped)" if m["marker"] else "", len(m["data"]),
                    m["exchange"].upper(), m["kind"], m["mid"], flags or "-", pl,
                    hashlib.sha256(m["data"]).hexdigest()[:16]))

        if args.out:
            os.makedirs(args.out, exist_ok=True)
            for old in glob.glob(os.path.join(glob.escape(args.out),
                                              "[0-9][0-9]-%s-*.bin" % glob.escape(scenario))):
                os.remove(old)
            for name, m in zip(names, msgs):
                with open(os.path.join(args.out, name), "wb") as f:
                    f.write(m["data"])
            print("wrote %d IKE messages to %s (skipped %d ESP, %d keepalives)"
                  % (len(msgs), args.out, stats["esp"], stats["keepalive"]), file=sys.stderr)
    except (CaptureError, OSError) as e:
        print("extract-ike: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
