//! DSA signature verification (FIPS 186-4 §4.7) for certificates and CRLs,
//! with RFC 5280 §6.1.4(d)-(f) parameter inheritance. Verification only, used
//! for legacy PKIs such as NIST PKITS; IKE itself never negotiates DSA.

use crypto_bigint::{BoxedUint, NonZero, Odd};

use super::der::{self, BIT_STRING, INTEGER, OID, Reader, SEQUENCE};

pub(crate) const OID_DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
const OID_DSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03];
const OID_DSA_SHA224: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x01];
const OID_DSA_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02];

/// Largest p accepted (bits): bounds the modular exponentiation cost.
const MAX_P_BITS: usize = 3072;

/// True for DSA signature AlgorithmIdentifiers.
pub(crate) fn is_dsa_sig_alg(sig_alg: &[u8]) -> bool {
    sig_oid(sig_alg)
        .is_some_and(|o| o == OID_DSA_SHA1 || o == OID_DSA_SHA224 || o == OID_DSA_SHA256)
}

fn sig_oid(sig_alg: &[u8]) -> Option<&[u8]> {
    let seq = der::single(sig_alg, SEQUENCE, "AlgorithmIdentifier").ok()?;
    let mut r = Reader::new(seq.content);
    Some(r.expect(OID, "OID").ok()?.content)
}

/// Splits a DSA SubjectPublicKeyInfo into (Dss-Parms DER if present, y).
pub(crate) fn split_spki(spki: &[u8]) -> Option<(Option<&[u8]>, &[u8])> {
    let seq = der::single(spki, SEQUENCE, "SPKI").ok()?;
    let mut r = Reader::new(seq.content);
    let alg = r.expect(SEQUENCE, "alg").ok()?;
    let key = r.expect(BIT_STRING, "key").ok()?;
    r.finish("SPKI").ok()?;
    let mut ar = Reader::new(alg.content);
    if ar.expect(OID, "OID").ok()?.content != OID_DSA {
        return None;
    }
    let params = match ar.peek_tag() {
        Some(SEQUENCE) => Some(ar.any().ok()?.raw),
        Some(0x05) => {
            ar.any().ok()?;
            None
        }
        _ => None,
    };
    ar.finish("alg").ok()?;
    let (unused, bytes) = der::bit_string(&key).ok()?;
    if unused != 0 {
        return None;
    }
    let y = der::single(bytes, INTEGER, "y").ok()?.content;
    Some((params, y))
}

/// True for a DSA key whose parameters are absent (to be inherited).
pub(crate) fn needs_params(spki: &[u8]) -> bool {
    matches!(split_spki(spki), Some((None, _)))
}

/// The Dss-Parms of a DSA key, if present.
pub(crate) fn params_of(spki: &[u8]) -> Option<Vec<u8>> {
    split_spki(spki).and_then(|(p, _)| p.map(<[u8]>::to_vec))
}

fn uint(c: &[u8], bits: u32) -> Option<BoxedUint> {
    let c = match c {
        [0, rest @ ..] => rest,
        [b, ..] if b & 0x80 != 0 => return None,
        _ => c,
    };
    BoxedUint::from_be_slice(c, bits).ok()
}

/// Verifies a DSA signature over `msg` with key `spki`, taking the domain
/// parameters from `inherited` when the key carries none.
pub(crate) fn verify(
    spki: &[u8],
    inherited: Option<&[u8]>,
    sig_alg: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> Result<(), String> {
    let bad = || "the signature does not verify".to_string();
    let (own, y) = split_spki(spki).ok_or("malformed DSA public key")?;
    let params = own
        .or(inherited)
        .ok_or("DSA key without domain parameters and nothing to inherit")?;
    let ps = der::single(params, SEQUENCE, "Dss-Parms").map_err(|_| "malformed DSA parameters")?;
    let mut pr = Reader::new(ps.content);
    let p = pr
        .expect(INTEGER, "p")
        .map_err(|_| "malformed DSA parameters")?
        .content;
    let q = pr
        .expect(INTEGER, "q")
        .map_err(|_| "malformed DSA parameters")?
        .content;
    let g = pr
        .expect(INTEGER, "g")
        .map_err(|_| "malformed DSA parameters")?
        .content;
    pr.finish("Dss-Parms")
        .map_err(|_| "malformed DSA parameters")?;
    // At least 512-bit p and 160-bit q; at most MAX_P_BITS and 256-bit q.
    if p.len() < 64
        || q.len() < 20
        || g.is_empty()
        || y.is_empty()
        || p.len() > MAX_P_BITS / 8 + 1
        || q.len() > 33
        || y.len() > p.len()
        || g.len() > p.len()
    {
        return Err("unsupported DSA parameter sizes".into());
    }
    let bits = (p.len() as u32 * 8).next_multiple_of(64);
    let digest: Vec<u8> = match sig_oid(sig_alg) {
        Some(o) if o == OID_DSA_SHA1 => {
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, msg)
                .as_ref()
                .to_vec()
        }
        Some(o) if o == OID_DSA_SHA224 => {
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA224, msg)
                .as_ref()
                .to_vec()
        }
        Some(o) if o == OID_DSA_SHA256 => {
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, msg)
                .as_ref()
                .to_vec()
        }
        _ => return Err("unsupported DSA signature algorithm".into()),
    };
    // Dss-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }
    let ss = der::single(sig, SEQUENCE, "Dss-Sig-Value").map_err(|_| bad())?;
    let mut sr = Reader::new(ss.content);
    let r_c = sr.expect(INTEGER, "r").map_err(|_| bad())?.content;
    let s_c = sr.expect(INTEGER, "s").map_err(|_| bad())?.content;
    sr.finish("Dss-Sig-Value").map_err(|_| bad())?;
    if r_c.len() > q.len() + 1 || s_c.len() > q.len() + 1 {
        return Err(bad());
    }
    let p = uint(p, bits).ok_or("malformed DSA parameters")?;
    let q = uint(q, bits).ok_or("malformed DSA parameters")?;
    let g = uint(g, bits).ok_or("malformed DSA parameters")?;
    let y = uint(y, bits).ok_or("malformed DSA public key")?;
    let r = uint(r_c, bits).ok_or_else(bad)?;
    let s = uint(s_c, bits).ok_or_else(bad)?;
    let p_odd: Odd<BoxedUint> = Option::from(Odd::new(p)).ok_or("DSA p is even")?;
    let q_nz: NonZero<BoxedUint> = Option::from(NonZero::new(q.clone())).ok_or("DSA q is zero")?;
    let zero = BoxedUint::zero_with_precision(bits);
    if r == zero || s == zero || r >= q || s >= q {
        return Err(bad());
    }
    // z = leftmost min(N, outlen) bits of the digest.
    let n_bits = q.bit_width() as usize;
    let z_bytes = &digest[..digest.len().min(n_bits.div_ceil(8))];
    let mut z = BoxedUint::from_be_slice(z_bytes, bits).map_err(|_| bad())?;
    let excess = z_bytes.len() * 8 - n_bits.min(z_bytes.len() * 8);
    if excess > 0 {
        z = z.shr(excess as u32);
    }
    let w: BoxedUint = Option::from(s.invert_mod(&q_nz)).ok_or_else(bad)?;
    let u1 = z.rem(&q_nz).mul_mod(&w, &q_nz);
    let u2 = r.mul_mod(&w, &q_nz);
    let p_nz: NonZero<BoxedUint> =
        Option::from(NonZero::new(p_odd.as_ref().clone())).ok_or("DSA p is zero")?;
    let v = g
        .pow_mod(&u1, &p_odd)
        .mul_mod(&y.pow_mod(&u2, &p_odd), &p_nz)
        .rem(&q_nz);
    if v == r { Ok(()) } else { Err(bad()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPKI with hand-built parameters of the given sizes (values arbitrary).
    fn spki(p_len: usize, q_len: usize) -> Vec<u8> {
        let int = |n: usize| -> Vec<u8> {
            let mut v = vec![0x02];
            crate::validate::cert::push_len(&mut v, n);
            v.push(0x7f);
            v.extend(std::iter::repeat_n(0x01, n.saturating_sub(1)));
            v.truncate(2 + n + usize::from(n >= 128));
            v
        };
        let mut params = Vec::new();
        for n in [p_len, q_len, p_len] {
            params.extend(int(n));
        }
        let mut pseq = vec![0x30];
        crate::validate::cert::push_len(&mut pseq, params.len());
        pseq.extend(params);
        let mut alg = vec![0x06, 0x07];
        alg.extend_from_slice(OID_DSA);
        alg.extend(pseq);
        let mut algseq = vec![0x30];
        crate::validate::cert::push_len(&mut algseq, alg.len());
        algseq.extend(alg);
        let y = int(p_len);
        let mut bits = vec![0x03];
        crate::validate::cert::push_len(&mut bits, y.len() + 1);
        bits.push(0);
        bits.extend(y);
        let mut body = algseq;
        body.extend(bits);
        let mut out = vec![0x30];
        crate::validate::cert::push_len(&mut out, body.len());
        out.extend(body);
        out
    }

    #[test]
    fn degenerate_parameters_are_refused_without_panicking() {
        let alg = [
            0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03,
        ];
        // r = s = 1
        let sig = [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01];
        for (p, q) in [(0, 0), (1, 1), (8, 4), (64, 0), (128, 20), (400, 20)] {
            let k = spki(p, q);
            assert!(verify(&k, None, &alg, b"msg", &sig).is_err(), "p={p} q={q}");
        }
        assert!(verify(&[0x30, 0x00], None, &alg, b"msg", &sig).is_err());
    }
}
