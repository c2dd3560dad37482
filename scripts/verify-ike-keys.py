#!/usr/bin/env python3
"""Independently re-check a strongSwan fixture set: keys, ICVs, AUTH.

Usage:
    verify-ike-keys.py [--write-inner] DIR SCENARIO

DIR holds NN-SCENARIO-*.bin (IKE messages), SCENARIO.charon-dumps.txt
(scripts/charon-log-keys.py output of the initiator's log) and, for
signatures, lab-ca.pem. Everything is recomputed from the captured bytes with
the Python standard library (hashlib/hmac) and the openssl command line tool
(AES-CBC decryption, certificate and signature verification); the values
charon logged are only compared against:

  * NAT-D: SHA-1 of each logged natd_chunk, the hashes in the IKE_SA_INIT
    notifies, and the hash of the real address (charon fakes its own);
  * SKEYSEED = prf(Ni | Nr, g^ir) and {SK_d, SK_ai, SK_ar, SK_ei, SK_er,
    SK_pi, SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)  (RFC 7296 2.14);
  * the ICV of every SK/SKF message (RFC 7296 3.14, RFC 7383);
  * decryption (padding, inner payload chain; fragments reassembled);
  * the AUTH octets (RFC 7296 2.15) for both sides, and then either the PSK
    AUTH value prf(prf(PSK, "Key Pad for IKEv2"), octets) or the signature
    (RFC 7427 AUTH method 14) with the public key of the CERT payload, whose
    certificate must chain to lab-ca.pem;
  * an IKE_SA rekey in CREATE_CHILD_SA: SKEYSEED' = prf(SK_d, g^ir' | Ni' |
    Nr') and the new keys from prf+ with the new SPIs (RFC 7296 2.18).

With --write-inner, the decrypted inner payload chain of each encrypted
message is written to NN-SCENARIO-<exchange>-<i|r>.inner (padding and pad
length removed; the first payload's type is the SK/SKF payload's Next
Payload; for a fragmented message, the whole reassembled chain goes to the
first fragment's name).

Supports what the fixtures use: ENCR_AES_CBC, AUTH_HMAC_SHA2_*/SHA1_96,
PRF_HMAC_SHA2_*/SHA1. Exit status 0 if every check passed, 1 otherwise.
"""

import glob
import hashlib
import hmac
import os
import struct
import subprocess
import sys
import tempfile

PRF = {2: "sha1", 5: "sha256", 6: "sha384", 7: "sha512"}
INTEG = {2: ("sha1", 20, 12), 12: ("sha256", 32, 16), 13: ("sha384", 48, 24), 14: ("sha512", 64, 32)}
KEYPAD = b"Key Pad for IKEv2"

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
    return cond


class Bad(Exception):
    pass


def payloads(first, data):
    """Split a payload chain into [(type, body)]; body excludes the 4-octet header."""
    out = []
    off, np = 0, first
    while np != 0:
        if off + 4 > len(data):
            raise Bad("payload header past the end")
        nxt, plen = data[off], struct.unpack_from("!H", data, off + 2)[0]
        if plen < 4 or off + plen > len(data):
            raise Bad("bad payload length %d" % plen)
        out.append((np, data[off + 4 : off + plen]))
        if np in (46, 53):
            return out, off  # rest is encrypted
        np, off = nxt, off + plen
    if off != len(data):
        raise Bad("%d trailing octets" % (len(data) - off))
    return out, off


class Msg:
    def __init__(self, name, data):
        self.name, self.data = name, data
        if len(data) < 28:
            raise Bad("%s: short" % name)
        self.spi_i, self.spi_r = data[0:8], data[8:16]
        self.np, self.ver, self.xchg, self.flags, self.mid, self.length = struct.unpack_from("!BBBBII", data, 16)
        self.initiator = bool(self.flags & 0x08)
        self.pl, self.sk_off = payloads(self.np, data[28:])
        self.sk_off += 28

    def get(self, t, notify=None):
        for pt, body in self.pl:
            if pt == t and (notify is None or struct.unpack_from("!H", body, 2)[0] == notify):
                return body
        return None


def prf(alg, key, data):
    return hmac.new(key, data, alg).digest()


def prf_plus(alg, key, seed, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = prf(alg, key, t + seed + bytes([i]))
        out += t
        i += 1
    return out[:n]


def chosen_proposal(sa_body):
    """Transforms of the (single) proposal in a responder's SA payload."""
    if len(sa_body) < 8:
        raise Bad("short SA")
    plen = struct.unpack_from("!H", sa_body, 2)[0]
    spi_size, ntr = sa_body[6], sa_body[7]
    spi = sa_body[8 : 8 + spi_size]
    off = 8 + spi_size
    tr = {}
    for _ in range(ntr):
        tlen = struct.unpack_from("!H", sa_body, off + 2)[0]
        ttype, tid = sa_body[off + 4], struct.unpack_from("!H", sa_body, off + 6)[0]
        attrs = sa_body[off + 8 : off + tlen]
        keylen = None
        if len(attrs) >= 4 and struct.unpack_from("!H", attrs, 0)[0] == 0x800E:
            keylen = struct.unpack_from("!H", attrs, 2)[0]
        tr[ttype] = (tid, keylen)
        off += tlen
    if off != plen:
        raise Bad("proposal length mismatch")
    return spi, tr


def openssl(args, data=None):
    r = subprocess.run(["openssl"] + args, input=data, capture_output=True, check=False)
    return r.returncode, r.stdout, r.stderr


def aes_cbc_decrypt(key, iv, ct):
    rc, out, err = openssl(["enc", "-d", "-aes-%d-cbc" % (len(key) * 8), "-K", key.hex(),
                            "-iv", iv.hex(), "-nopad"], ct)
    if rc != 0:
        raise Bad("openssl enc: %s" % err.decode(errors="replace"))
    return out


class Keys:
    def __init__(self, prf_alg, integ, enc_len, blob, spi_i, spi_r):
        self.prf_alg, self.integ, self.spi = prf_alg, integ, (spi_i, spi_r)
        il = integ[1]
        n = hashlib.new(prf_alg).digest_size  # HMAC PRFs: key length = output length
        self.sk_d = blob[0:n]
        self.sk_ai, self.sk_ar = blob[n : n + il], blob[n + il : n + 2 * il]
        o = n + 2 * il
        self.sk_ei, self.sk_er = blob[o : o + enc_len], blob[o + enc_len : o + 2 * enc_len]
        o += 2 * enc_len
        self.sk_pi, self.sk_pr = blob[o : o + n], blob[o + n : o + 2 * n]


def derive(prf_alg, integ, enc_len, skeyseed, ni, nr, spi_i, spi_r):
    n = hashlib.new(prf_alg).digest_size
    total = 3 * n + 2 * integ[1] + 2 * enc_len
    return Keys(prf_alg, integ, enc_len, prf_plus(prf_alg, skeyseed, ni + nr + spi_i + spi_r, total), spi_i, spi_r)


def compare_keys(dumps, base, k, tag):
    names = [("Sk_d secret", k.sk_d), ("Sk_ai secret", k.sk_ai), ("Sk_ar secret", k.sk_ar),
             ("Sk_ei secret", k.sk_ei), ("Sk_er secret", k.sk_er), ("Sk_pi secret", k.sk_pi),
             ("Sk_pr secret", k.sk_pr)]
    for label, val in names:
        got = nth(dumps, label, base)
        check(got == val, "%s: %s = prf+ output (%d octets)" % (tag, label.split()[0], len(val)))


def nth(dumps, label, i):
    vals = [v for l, v in dumps if l == label]
    return vals[i] if i < len(vals) else None


def decrypt(m, keys, integ_ok_label):
    """Check the ICV and decrypt; return (first inner type, inner bytes, fragment (num,total))."""
    alg, _, icv_len = keys.integ
    ka = keys.sk_ai if m.initiator else keys.sk_ar
    ke = keys.sk_ei if m.initiator else keys.sk_er
    icv = m.data[-icv_len:]
    check(hmac.new(ka, m.data[:-icv_len], alg).digest()[:icv_len] == icv,
          "%s: ICV verifies with %s" % (m.name, integ_ok_label))
    t, _ = m.pl[-1]
    off = m.sk_off
    first = m.data[off]
    frag = None
    body = off + 4
    if t == 53:
        frag = struct.unpack_from("!HH", m.data, body)
        body += 4
    iv = m.data[body : body + 16]
    ct = m.data[body + 16 : len(m.data) - icv_len]
    if len(ct) % 16:
        raise Bad("%s: ciphertext not a multiple of the block size" % m.name)
    pt = aes_cbc_decrypt(ke, iv, ct)
    padlen = pt[-1]
    check(padlen + 1 <= len(pt), "%s: pad length %d fits" % (m.name, padlen))
    return first, pt[: len(pt) - 1 - padlen], frag


def main():
    args = sys.argv[1:]
    write_inner = False
    if args and args[0] == "--write-inner":
        write_inner, args = True, args[1:]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d, scen = args
    files = sorted(glob.glob(os.path.join(glob.escape(d), "[0-9][0-9]-%s-*.bin" % glob.escape(scen))))
    if not files:
        print("no fixtures for %s in %s" % (scen, d), file=sys.stderr)
        return 1
    msgs = []
    for f in files:
        with open(f, "rb") as fh:
            msgs.append(Msg(os.path.basename(f), fh.read()))
    dumps = []
    with open(os.path.join(d, scen + ".charon-dumps.txt")) as fh:
        for line in fh:
            label, _, hx = line.rstrip("\n").rpartition(" = ")
            dumps.append((label, bytes.fromhex(hx)))

    init, resp = msgs[0], msgs[1]
    check(init.xchg == 34 and resp.xchg == 34, "first two messages are IKE_SA_INIT")
    ni, nr = init.get(40), resp.get(40)
    spi_i, spi_r = resp.spi_i, resp.spi_r
    _, tr = chosen_proposal(resp.get(33))
    prf_alg = PRF[tr[2][0]]
    integ = INTEG[tr[3][0]]
    if tr[1][0] != 12:
        raise Bad("only ENCR_AES_CBC is supported here")
    enc_len = tr[1][1] // 8
    print("info chosen IKE proposal: ENCR %d/%d, INTEG %d, PRF %d, DH %d" % (
        tr[1][0], tr[1][1], tr[3][0], tr[2][0], tr[4][0]))

    # --- NAT-D (RFC 7296 2.23): SHA-1(SPIi | SPIr | IP | port)
    chunks = [v for l, v in dumps if l == "natd_chunk"]
    hashes = [v for l, v in dumps if l == "natd_hash"]
    check(len(chunks) == len(hashes) and chunks and all(
        hashlib.sha1(c).digest() == h for c, h in zip(chunks, hashes)), "natd_hash = SHA-1(natd_chunk) for all %d" % len(chunks))
    check(init.get(41, 16388)[4:] == hashes[0] and init.get(41, 16389)[4:] == hashes[1],
          "request's NAT_DETECTION_SOURCE/DESTINATION_IP = first two logged hashes")
    real_dst = hashlib.sha1(spi_i + spi_r + bytes([192, 0, 2, 1]) + struct.pack("!H", 500)).digest()
    real_src = hashlib.sha1(spi_i + spi_r + bytes([192, 0, 2, 2]) + struct.pack("!H", 500)).digest()
    check(resp.get(41, 16389)[4:] == real_dst, "response's NAT_DETECTION_DESTINATION_IP = SHA-1(SPIs|192.0.2.1|500)")
    check(resp.get(41, 16388)[4:] != real_src, "response's NAT_DETECTION_SOURCE_IP is faked (differs from SHA-1(SPIs|192.0.2.2|500))")

    # --- SKEYSEED and keys
    gir = nth(dumps, "shared Diffie Hellman secret", 0)
    skeyseed = prf(prf_alg, ni + nr, gir)
    check(skeyseed == nth(dumps, "SKEYSEED", 0), "SKEYSEED = prf(Ni | Nr, g^ir)")
    keys = derive(prf_alg, integ, enc_len, skeyseed, ni, nr, spi_i, spi_r)
    compare_keys(dumps, 0, keys, "IKE SA 1")
    sa_keys = {(spi_i, spi_r): keys}

    # --- encrypted messages
    inner = {}
    frags = {}
    for m in msgs[2:]:
        k = sa_keys.get((m.spi_i, m.spi_r))
        if k is None:
            check(False, "%s: no keys for SPIs %s/%s" % (m.name, m.spi_i.hex(), m.spi_r.hex()))
            continue
        first, pt, frag = decrypt(m, k, "SK_a%s" % ("i" if m.initiator else "r"))
        if frag:
            key = (m.spi_i, m.mid, m.initiator)
            frags.setdefault(key, []).append((frag, first, pt, m))
            num, total = frag
            if len(frags[key]) < total:
                continue
            parts = sorted(frags.pop(key), key=lambda x: x[0][0])
            check([p[0][0] for p in parts] == list(range(1, total + 1)), "%s: fragments 1..%d present" % (m.name, total))
            first, pt, m = parts[0][1], b"".join(p[2] for p in parts), parts[0][3]
        try:
            chain, _ = payloads(first, pt)
            check(True, "%s: inner chain parses (%s)" % (m.name, " ".join(str(t) for t, _ in chain) or "empty"))
        except Bad as e:
            check(False, "%s: inner chain: %s" % (m.name, e))
            continue
        inner[m.name] = (m, first, pt, chain)
        if write_inner:
            with open(os.path.join(d, m.name[:-4] + ".inner"), "wb") as fh:
                fh.write(pt)
        # IKE_SA rekey: CREATE_CHILD_SA request with an IKE proposal (protocol 1).
        if m.xchg == 36 and not m.initiator:
            req = next((v for v in inner.values() if v[0].xchg == 36 and v[0].initiator and v[0].mid == m.mid), None)
            sa_r = next((b for t, b in chain if t == 33), None)
            if req and sa_r and sa_r[5] == 1:
                rspi, rtr = chosen_proposal(sa_r)
                sa_i = next(b for t, b in req[3] if t == 33)
                ispi = sa_i[8 : 8 + sa_i[6]]
                ni2 = next(b for t, b in req[3] if t == 40)
                nr2 = next(b for t, b in chain if t == 40)
                gir2 = nth(dumps, "shared Diffie Hellman secret", 1)
                ss2 = prf(PRF[rtr[2][0]], k.sk_d, gir2 + ni2 + nr2)
                check(ss2 == nth(dumps, "SKEYSEED", 1), "%s: rekeyed SKEYSEED = prf(SK_d, g^ir | Ni | Nr)" % m.name)
                k2 = derive(PRF[rtr[2][0]], INTEG[rtr[3][0]], rtr[1][1] // 8, ss2, ni2, nr2, ispi, rspi)
                compare_keys(dumps, 1, k2, "IKE SA 2")
                sa_keys[(ispi, rspi)] = k2
    check(not frags, "no incomplete fragment sets")

    # --- AUTH (RFC 7296 2.15)
    auth_i = next((v for v in inner.values() if v[0].xchg == 35 and v[0].initiator), None)
    auth_r = next((v for v in inner.values() if v[0].xchg == 35 and not v[0].initiator), None)
    if not (auth_i and auth_r):
        check(False, "IKE_AUTH request and response decrypted")
        return 1
    ids = [b for t, b in auth_i[3] if t == 35][0], [b for t, b in auth_r[3] if t == 36][0]
    octets_i = init.data + nr + prf(prf_alg, keys.sk_pi, ids[0])
    octets_r = resp.data + ni + prf(prf_alg, keys.sk_pr, ids[1])
    logged = [v for l, v in dumps if l.startswith("octets = message")]
    check(len(logged) >= 2 and logged[0] == octets_i, "initiator AUTH octets = IKE_SA_INIT request | Nr | prf(SK_pi, IDi')")
    check(len(logged) >= 2 and logged[1] == octets_r, "responder AUTH octets = IKE_SA_INIT response | Ni | prf(SK_pr, IDr')")
    for side, (m, _, _, chain), octets in (("initiator", auth_i, octets_i), ("responder", auth_r, octets_r)):
        auth = [b for t, b in chain if t == 39][0]
        method, data = auth[0], auth[4:]
        if method == 2:
            psk = nth(dumps, "secret", 0)
            want = prf(prf_alg, prf(prf_alg, psk, KEYPAD), octets)
            check(data == want, "%s PSK AUTH = prf(prf(PSK \"%s\", \"Key Pad for IKEv2\"), octets)" % (side, psk.decode(errors="replace")))
        elif method == 14:
            cert = [b for t, b in chain if t == 37][0]
            check(cert[0] == 4, "%s CERT encoding 4 (X.509 signature)" % side)
            alen = data[0]
            algid, sig = data[1 : 1 + alen], data[1 + alen :]
            with tempfile.TemporaryDirectory() as td:
                der, pem, pub = (os.path.join(td, x) for x in ("c.der", "c.pem", "pub.pem"))
                with open(der, "wb") as fh:
                    fh.write(cert[1:])
                openssl(["x509", "-inform", "DER", "-in", der, "-out", pem])
                rc, out, _ = openssl(["verify", "-CAfile", os.path.join(d, "lab-ca.pem"), "-purpose", "any", pem])
                check(rc == 0, "%s certificate chains to lab-ca.pem (openssl verify)" % side)
                openssl(["x509", "-in", pem, "-pubkey", "-noout", "-out", pub])
                oct_f, sig_f = os.path.join(td, "o"), os.path.join(td, "s")
                with open(oct_f, "wb") as fh:
                    fh.write(octets)
                with open(sig_f, "wb") as fh:
                    fh.write(sig)
                hname = {bytes.fromhex("300d06092a864886f70d01010b0500"): "sha256 (sha256WithRSAEncryption)",
                         bytes.fromhex("300a06082a8648ce3d040302"): "sha256 (ecdsa-with-SHA256)"}.get(algid)
                check(hname is not None, "%s AUTH AlgorithmIdentifier %s is known" % (side, algid.hex()))
                rc, out, err = openssl(["dgst", "-sha256", "-verify", pub, "-signature", sig_f, oct_f])
                check(rc == 0 and b"Verified OK" in out, "%s signature (%s) verifies over the AUTH octets" % (side, hname))
        else:
            check(False, "%s AUTH method %d not handled" % (side, method))
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        rc = main()
    except (Bad, KeyError, IndexError, struct.error, OSError) as e:
        print("FAIL verify-ike-keys: %s: %s" % (type(e).__name__, e))
        rc = 1
    print("%s: %d check(s) failed" % ("FAILED" if failures or rc else "PASSED", len(failures)))
    sys.exit(rc)
