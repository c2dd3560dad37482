//! IKEv2 key derivation (RFC 7296 §2.13, §2.14, §2.17, §2.18).

use std::fmt;

use aws_lc_rs::hmac;
use zeroize::Zeroize;

use crate::provider::{hmac_alg_for_prf, hmac_parts};
use crate::{CryptoError, CryptoProvider, Encr, Integ, Prf, Secret};

/// Largest output of a single HMAC used here (SHA-512).
const MAX_PRF_LEN: usize = 64;

/// `prf+ (K, S) = T1 | T2 | ...`, `T1 = prf(K, S | 0x01)`, `Tn = prf(K, Tn-1 | S | n)`,
/// truncated to `len` octets (RFC 7296 §2.13).
///
/// Fails with [`CryptoError::OutputTooLong`] when `len > 255 * prf.output_len()`.
/// The provider argument is accepted for symmetry; the computation uses a
/// single keyed HMAC context built once for all iterations.
pub fn prf_plus(
    p: &dyn CryptoProvider,
    prf: Prf,
    key: &[u8],
    seed: &[u8],
    len: usize,
) -> Result<Secret, CryptoError> {
    let _ = p;
    prf_plus_parts(prf, key, &[seed], len)
}

/// prf+ over a seed given as concatenated parts (avoids building the seed).
fn prf_plus_parts(prf: Prf, key: &[u8], seed: &[&[u8]], len: usize) -> Result<Secret, CryptoError> {
    let h = prf.output_len();
    if seed.len() > 6 {
        return Err(CryptoError::Unsupported("prf+ seed with more than 6 parts"));
    }
    if len > 255 * h {
        return Err(CryptoError::OutputTooLong);
    }
    let k = hmac::Key::new(hmac_alg_for_prf(prf), key);
    let mut out = Secret::zeroed(len);
    let mut t = [0u8; MAX_PRF_LEN];
    let mut have_prev = false;
    let mut counter: u8 = 1;
    let mut pos = 0;
    while pos < len {
        let mut parts: [&[u8]; 8] = [&[]; 8];
        let mut n = 0;
        if have_prev {
            parts[n] = &t[..h];
            n += 1;
        }
        for s in seed {
            parts[n] = s;
            n += 1;
        }
        let c = [counter];
        parts[n] = &c;
        n += 1;
        let mut next = [0u8; MAX_PRF_LEN];
        hmac_parts(&k, &parts[..n], &mut next[..h]);
        t = next;
        next.zeroize();
        let take = (len - pos).min(h);
        out.as_mut_bytes()[pos..pos + take].copy_from_slice(&t[..take]);
        pos += take;
        have_prev = true;
        counter = counter.wrapping_add(1);
    }
    t.zeroize();
    Ok(out)
}

/// `SKEYSEED = prf(Ni | Nr, g^ir)` (RFC 7296 §2.14).
pub fn skeyseed(
    p: &dyn CryptoProvider,
    prf: Prf,
    ni: &[u8],
    nr: &[u8],
    g_ir: &[u8],
) -> Result<Secret, CryptoError> {
    let mut key = Vec::with_capacity(ni.len() + nr.len());
    key.extend_from_slice(ni);
    key.extend_from_slice(nr);
    let key = Secret::new(key);
    p.prf(prf, key.as_bytes(), &[g_ir])
}

/// `SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)` for IKE SA rekeying (RFC 7296 §2.18).
pub fn rekey_skeyseed(
    p: &dyn CryptoProvider,
    prf: Prf,
    old_sk_d: &[u8],
    g_ir_new: &[u8],
    ni: &[u8],
    nr: &[u8],
) -> Result<Secret, CryptoError> {
    p.prf(prf, old_sk_d, &[g_ir_new, ni, nr])
}

/// The seven IKE SA keys (RFC 7296 §2.14). `Debug` is redacted.
#[derive(Clone)]
pub struct IkeSaKeys {
    /// Key for deriving Child SA keys and rekeyed IKE SAs.
    pub sk_d: Secret,
    /// Initiator integrity key (empty with AEAD).
    pub sk_ai: Secret,
    /// Responder integrity key (empty with AEAD).
    pub sk_ar: Secret,
    /// Initiator encryption key (with the salt for AEAD).
    pub sk_ei: Secret,
    /// Responder encryption key (with the salt for AEAD).
    pub sk_er: Secret,
    /// Initiator key for AUTH payload computation.
    pub sk_pi: Secret,
    /// Responder key for AUTH payload computation.
    pub sk_pr: Secret,
}

impl fmt::Debug for IkeSaKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IkeSaKeys { <redacted> }")
    }
}

/// `{SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)`.
///
/// SK_d, SK_pi and SK_pr have the PRF's output length; SK_a* the integrity key
/// length (empty when `integ` is `None`, i.e. AEAD); SK_e* `encr.key_len()`
/// (including the 4-octet salt for GCM, RFC 5282 §7.1).
#[allow(clippy::too_many_arguments)]
pub fn derive_ike_sa_keys(
    p: &dyn CryptoProvider,
    prf: Prf,
    encr: Encr,
    integ: Option<Integ>,
    skeyseed: &[u8],
    ni: &[u8],
    nr: &[u8],
    spi_i: &[u8; 8],
    spi_r: &[u8; 8],
) -> Result<IkeSaKeys, CryptoError> {
    let _ = p;
    let lp = prf.output_len();
    let la = integ.map_or(0, Integ::key_len);
    let le = encr.key_len();
    let total = 3 * lp + 2 * la + 2 * le;
    let km = prf_plus_parts(prf, skeyseed, &[ni, nr, spi_i, spi_r], total)?;
    let mut rest = km.as_bytes();
    let mut take = |n: usize| {
        let (a, b) = rest.split_at(n.min(rest.len()));
        rest = b;
        Secret::from_slice(a)
    };
    Ok(IkeSaKeys {
        sk_d: take(lp),
        sk_ai: take(la),
        sk_ar: take(la),
        sk_ei: take(le),
        sk_er: take(le),
        sk_pi: take(lp),
        sk_pr: take(lp),
    })
}

/// Child SA keying material (RFC 7296 §2.17):
/// `KEYMAT = prf+ (SK_d, [g^ir (new) |] Ni | Nr)`.
///
/// Keys are taken from KEYMAT in the order: encryption then integrity for the
/// initiator-to-responder SA, then the same for responder-to-initiator.
pub fn child_keymat(
    p: &dyn CryptoProvider,
    prf: Prf,
    sk_d: &[u8],
    g_ir: Option<&[u8]>,
    ni: &[u8],
    nr: &[u8],
    len: usize,
) -> Result<Secret, CryptoError> {
    let _ = p;
    match g_ir {
        Some(g) => prf_plus_parts(prf, sk_d, &[g, ni, nr], len),
        None => prf_plus_parts(prf, sk_d, &[ni, nr], len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::default_provider;
    use crate::test_util::hex;

    // NIST CAVS SP 800-135 IKEv2 KDF sample (SHA-256), as carried in NSS's
    // gtests/common/testvectors/ike-sha256-vectors.h (cases 6-9).
    const NI: &str = "3f302be1abcb28e1";
    const NR: &str = "8c332ee006064c9b";
    const GIR: &str = "0f4d257d7a58fc4545c7d7a88119eee5d5c9690c5b4c989171d3abbfd99d1d29";
    const GIR_NEW: &str = "25f3b12d6f282739256e39bf54eda53b60ffcf379bb7bcc90c27b4c4c578616c";
    const SPII: &str = "40dac39e1e1a8640";
    const SPIR: &str = "8619a1cf9a6e4c07";
    const SKEYSEED: &str = "5f00d1bd2c58ec224b1e6b71fa0f19a1faa7a193952c444411b47c1a9d8ba6fe";
    const DKM: &str = "0b137d669b0947d7d026d593f0305ad401ff0c471357d695778a9c7f4b4869ec\
                       e98aca531188d16041b3bb936d2dbb3b4993a6e768a809160de45d0283f273a6\
                       cdf6854379e31be72b8d3d1fa990cf9c5b015ca9f918a7df6253c958114a09d4\
                       e1c19bdcd4db14b29d98db1a74ad405c588662c14a04d0d36aa4ab55e90f8986\
                       d12d4aad";
    const REKEY_SKEYSEED: &str = "2d63f6debc92048b4fef3889c4c99ca67d6496e0fac14a2bca9a2d6566ff2398";

    #[test]
    fn cavs_skeyseed() {
        let p = default_provider();
        let s = skeyseed(&*p, Prf::HmacSha256, &hex(NI), &hex(NR), &hex(GIR)).unwrap();
        assert_eq!(s.as_bytes(), hex(SKEYSEED).as_slice());
    }

    #[test]
    fn cavs_prf_plus_dkm() {
        let p = default_provider();
        let mut seed = hex(NI);
        seed.extend(hex(NR));
        seed.extend(hex(SPII));
        seed.extend(hex(SPIR));
        let dkm = hex(DKM);
        for len in [132, 32, 15, 64, 65] {
            let out = prf_plus(&*p, Prf::HmacSha256, &hex(SKEYSEED), &seed, len).unwrap();
            assert_eq!(out.as_bytes(), &dkm[..len], "len {len}");
        }
    }

    #[test]
    fn cavs_rekey_skeyseed() {
        let p = default_provider();
        // SK_d of the old SA is the first 32 octets of the DKM above.
        let sk_d = &hex(DKM)[..32];
        let s = rekey_skeyseed(
            &*p,
            Prf::HmacSha256,
            sk_d,
            &hex(GIR_NEW),
            &hex(NI),
            &hex(NR),
        )
        .unwrap();
        assert_eq!(s.as_bytes(), hex(REKEY_SKEYSEED).as_slice());
    }

    #[test]
    fn ike_sa_key_split_matches_dkm_layout() {
        let p = default_provider();
        let spi_i: [u8; 8] = hex(SPII).try_into().unwrap();
        let spi_r: [u8; 8] = hex(SPIR).try_into().unwrap();
        // prfsha256 + aes128cbc + sha256_128: 3*32 + 2*32 + 2*16 = 192 octets; the
        // first 132 octets are the CAVS DKM.
        let k = derive_ike_sa_keys(
            &*p,
            Prf::HmacSha256,
            Encr::AesCbc128,
            Some(Integ::HmacSha256_128),
            &hex(SKEYSEED),
            &hex(NI),
            &hex(NR),
            &spi_i,
            &spi_r,
        )
        .unwrap();
        let dkm = hex(DKM);
        assert_eq!(k.sk_d.as_bytes(), &dkm[0..32]);
        assert_eq!(k.sk_ai.as_bytes(), &dkm[32..64]);
        assert_eq!(k.sk_ar.as_bytes(), &dkm[64..96]);
        assert_eq!(k.sk_ei.as_bytes(), &dkm[96..112]);
        assert_eq!(k.sk_er.as_bytes(), &dkm[112..128]);
        assert_eq!(&k.sk_pi.as_bytes()[..4], &dkm[128..132]);
        assert_eq!(k.sk_pi.len(), 32);
        assert_eq!(k.sk_pr.len(), 32);
        assert_eq!(format!("{k:?}"), "IkeSaKeys { <redacted> }");

        // AEAD: no integrity keys; SK_e includes the salt.
        let g = derive_ike_sa_keys(
            &*p,
            Prf::HmacSha256,
            Encr::AesGcm16_256,
            None,
            &hex(SKEYSEED),
            &hex(NI),
            &hex(NR),
            &spi_i,
            &spi_r,
        )
        .unwrap();
        assert!(g.sk_ai.is_empty() && g.sk_ar.is_empty());
        assert_eq!(g.sk_d.as_bytes(), &dkm[0..32]);
        assert_eq!(g.sk_ei.as_bytes(), &dkm[32..68]);
        assert_eq!(g.sk_er.as_bytes(), &dkm[68..104]);
        assert_eq!(&g.sk_pi.as_bytes()[..28], &dkm[104..132]);
    }

    #[test]
    fn child_keymat_python_vector() {
        // Expected values computed with python3's hmac module implementing
        // prf+ from RFC 7296 §2.13 independently (SK_d = first 32 octets of the CAVS DKM).
        let p = default_provider();
        let sk_d = &hex(DKM)[..32];
        let k = child_keymat(&*p, Prf::HmacSha256, sk_d, None, &hex(NI), &hex(NR), 72).unwrap();
        assert_eq!(k.as_bytes(), hex(CHILD_NO_PFS).as_slice());
        let k = child_keymat(
            &*p,
            Prf::HmacSha256,
            sk_d,
            Some(&hex(GIR_NEW)),
            &hex(NI),
            &hex(NR),
            72,
        )
        .unwrap();
        assert_eq!(k.as_bytes(), hex(CHILD_PFS).as_slice());
    }

    const CHILD_NO_PFS: &str = "7d808e2b44635300e7025f1b640c431b13a9b3b891cd45a15261f4f3c4a7e39b3a3c8017ccc2b74610faf52ba3faf6d9e83c859b448217b24dadc82c9887460b7bd724236b988591";
    const CHILD_PFS: &str = "67edd256e64542436173e3ca39ef1fdec3c8240b860df26f84caf5258578ff35df40ddc31ea210e0523988b7531c9dc3207e0e98e256214999c7712f73ff044a9cf6e3a5e421862b";

    #[test]
    fn cavs_sha384_skeyseed_rekey_dkm() {
        // NIST CAVS SP 800-135 IKEv2 sample (SHA-384), NSS ike-sha384-vectors.h cases 6-8.
        let p = default_provider();
        let (ni, nr) = (hex("fd1b572a8e735591"), hex("6013b0ef88dacd3d"));
        let gir = hex("d3288cd87565101e88fe3bad918f31939d8dd26ff1071f8b2d7f447524e58d7c");
        let seed = "69fe7a1ac94adaeb711295f5fe004b1a8d6a0b65d05692758ce8ad2f7a45f59d7d0b596f51f7dfcf3330061888f6a94f";
        let dkm = hex(
            "4f904c2025c90c817ea5ff9b662a6fdb445a73b57cdf09eacd379b95e1f03cacb04cd6deeda4f952191dd9bc1f7a9502\
             471a648d74dc06d38112de48a42501f6b1a3ad55c2099cd9a648e5f17e5bf3e34bf9b5953decb768a34f875fe2b78dca\
             0c2fcca81ec1a412006dfaed38fa06882e61f4c148105fb8e231fdb33c4d484c001721d4",
        );
        let s = skeyseed(&*p, Prf::HmacSha384, &ni, &nr, &gir).unwrap();
        assert_eq!(s.as_bytes(), hex(seed).as_slice());
        let spi_i: [u8; 8] = hex("2116ad07ce61f749").try_into().unwrap();
        let spi_r: [u8; 8] = hex("24880e55f11a65b7").try_into().unwrap();
        let mut pseed = ni.clone();
        pseed.extend_from_slice(&nr);
        pseed.extend_from_slice(&spi_i);
        pseed.extend_from_slice(&spi_r);
        for len in [132, 48, 15] {
            let out = prf_plus(&*p, Prf::HmacSha384, s.as_bytes(), &pseed, len).unwrap();
            assert_eq!(out.as_bytes(), &dkm[..len]);
        }
        let r = rekey_skeyseed(
            &*p,
            Prf::HmacSha384,
            &dkm[..48],
            &hex("3358f620539473aee8d07e779764c4c6a9aabddc79a28e136b3bac021dbde44a"),
            &ni,
            &nr,
        )
        .unwrap();
        assert_eq!(
            r.as_bytes(),
            hex("e0548c1682e13bce454026b3b1bdf42985b24e4e7408095a7c529de38c3d1fcb04c9fe6868042a34c9614c6c99e3fcea").as_slice()
        );
    }

    #[test]
    fn prf_plus_sha384_sha512_python_vectors() {
        // python3: prf+ with hmac.new(k, T | S | n, sha384/sha512), key b"key", seed b"seed".
        let p = default_provider();
        let a = prf_plus(&*p, Prf::HmacSha384, b"key", b"seed", 100).unwrap();
        assert_eq!(a.as_bytes(), hex("245b57f46db11477bf9cd2e6adbc6244448af40400d70a9203399a48756b7dbf53087f405e438cf9bbb7d38b34915f6b7dab328fb2580112db91d3da5c383d3c2a4de7974aa900251aced8106d3c00211e0cfff95994a7bb4bd1649b19443e957964c1e1").as_slice());
        let b = prf_plus(&*p, Prf::HmacSha512, b"key", b"seed", 130).unwrap();
        assert_eq!(b.as_bytes(), hex("173a6224816997fa5b2129f1c4d26d629028846663e6e27dd28d35d0de3757056e7da6c4214436a07fa827ba4329baf9097b2eddf4c1ea2b89caf65189987801bbb7a7125bce5d65d77bfd4a0705ef9bcb45f76a33f0ed70f5f7ff0f53eaa8c0089d68f852c6a4ef3ab3684a7ee7ec7b3ec15d8f335ce4360f9a3e8bc95a1112ed5c").as_slice());
    }

    #[test]
    fn prf_plus_length_limit() {
        let p = default_provider();
        for prf in Prf::ALL {
            let max = 255 * prf.output_len();
            assert_eq!(prf_plus(&*p, prf, b"k", b"s", max).unwrap().len(), max);
            assert_eq!(
                prf_plus(&*p, prf, b"k", b"s", max + 1).err(),
                Some(CryptoError::OutputTooLong)
            );
        }
        assert_eq!(
            prf_plus(&*p, Prf::HmacSha256, b"k", b"s", 0).unwrap().len(),
            0
        );
    }
}
