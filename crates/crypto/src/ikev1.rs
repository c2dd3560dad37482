//! IKEv1 key derivation (RFC 2409 §5, §5.5, Appendix B) for HMAC-SHA2 PRFs.

use std::fmt;

use aws_lc_rs::{digest, hmac};
use zeroize::Zeroize;

use crate::provider::{hmac_alg_for_prf, hmac_parts};
use crate::{CryptoError, CryptoProvider, Prf, Secret};

const MAX_PRF_LEN: usize = 64;
/// Largest keying material produced by the expansion functions here.
const MAX_EXPANSION: usize = 255 * 32;

/// `SKEYID = prf(Ni_b | Nr_b, g^xy)` for signature authentication: the same function as
/// IKEv2's SKEYSEED.
pub fn skeyid_sig(
    p: &dyn CryptoProvider,
    prf: Prf,
    ni: &[u8],
    nr: &[u8],
    g_xy: &[u8],
) -> Result<Secret, CryptoError> {
    crate::ikev2::skeyseed(p, prf, ni, nr, g_xy)
}

/// `SKEYID = prf(pre-shared-key, Ni_b | Nr_b)` for pre-shared key authentication.
pub fn skeyid_psk(
    p: &dyn CryptoProvider,
    prf: Prf,
    psk: &[u8],
    ni: &[u8],
    nr: &[u8],
) -> Result<Secret, CryptoError> {
    p.prf(prf, psk, &[ni, nr])
}

/// The three IKEv1 ISAKMP SA keys. `Debug` is redacted.
#[derive(Clone)]
pub struct Ikev1Keys {
    /// SKEYID_d: derivation key for Quick Mode keying material.
    pub skeyid_d: Secret,
    /// SKEYID_a: authentication key for ISAKMP messages.
    pub skeyid_a: Secret,
    /// SKEYID_e: encryption key material for ISAKMP messages.
    pub skeyid_e: Secret,
}

impl fmt::Debug for Ikev1Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ikev1Keys { <redacted> }")
    }
}

/// `SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)`,
/// `SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)`,
/// `SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)` (RFC 2409 §5).
pub fn derive_skeyids(
    p: &dyn CryptoProvider,
    prf: Prf,
    skeyid: &[u8],
    g_xy: &[u8],
    cky_i: &[u8; 8],
    cky_r: &[u8; 8],
) -> Result<Ikev1Keys, CryptoError> {
    let skeyid_d = p.prf(prf, skeyid, &[g_xy, cky_i, cky_r, &[0]])?;
    let skeyid_a = p.prf(
        prf,
        skeyid,
        &[skeyid_d.as_bytes(), g_xy, cky_i, cky_r, &[1]],
    )?;
    let skeyid_e = p.prf(
        prf,
        skeyid,
        &[skeyid_a.as_bytes(), g_xy, cky_i, cky_r, &[2]],
    )?;
    Ok(Ikev1Keys {
        skeyid_d,
        skeyid_a,
        skeyid_e,
    })
}

/// `K1 = prf(K, seed)`, `Kn = prf(K, Kn-1 | seed)`, concatenated and truncated.
fn expand(prf: Prf, key: &[u8], seed: &[&[u8]], len: usize) -> Result<Secret, CryptoError> {
    if len > MAX_EXPANSION {
        return Err(CryptoError::OutputTooLong);
    }
    if seed.len() > 7 {
        return Err(CryptoError::Unsupported(
            "expansion seed with more than 7 parts",
        ));
    }
    let h = prf.output_len();
    let k = hmac::Key::new(hmac_alg_for_prf(prf), key);
    let mut out = Secret::zeroed(len);
    let mut t = [0u8; MAX_PRF_LEN];
    let mut have_prev = false;
    let mut pos = 0;
    while pos < len {
        let mut parts: [&[u8]; 8] = [&[]; 8];
        let mut n = 0;
        if have_prev {
            parts[0] = &t[..h];
            n = 1;
        }
        for s in seed {
            parts[n] = s;
            n += 1;
        }
        let mut next = [0u8; MAX_PRF_LEN];
        hmac_parts(&k, &parts[..n], &mut next[..h]);
        t = next;
        next.zeroize();
        let take = (len - pos).min(h);
        out.as_mut_bytes()[pos..pos + take].copy_from_slice(&t[..take]);
        pos += take;
        have_prev = true;
    }
    t.zeroize();
    Ok(out)
}

/// The ISAKMP SA encryption key of `key_len` octets taken from SKEYID_e,
/// expanded per RFC 2409 Appendix B when SKEYID_e is too short
/// (`K1 = prf(SKEYID_e, 0)`, `Kn = prf(SKEYID_e, Kn-1)`).
pub fn encryption_key(
    p: &dyn CryptoProvider,
    prf: Prf,
    skeyid_e: &[u8],
    key_len: usize,
) -> Result<Secret, CryptoError> {
    let _ = p;
    if skeyid_e.len() >= key_len {
        return Ok(Secret::from_slice(
            skeyid_e.get(..key_len).unwrap_or(skeyid_e),
        ));
    }
    if key_len > MAX_EXPANSION {
        return Err(CryptoError::OutputTooLong);
    }
    let h = prf.output_len();
    let k = hmac::Key::new(hmac_alg_for_prf(prf), skeyid_e);
    let mut out = Secret::zeroed(key_len);
    let mut t = [0u8; MAX_PRF_LEN];
    let mut prev_len = 1; // K1 is computed over a single zero octet.
    let mut pos = 0;
    while pos < key_len {
        let mut next = [0u8; MAX_PRF_LEN];
        hmac_parts(&k, &[&t[..prev_len]], &mut next[..h]);
        t = next;
        next.zeroize();
        prev_len = h;
        let take = (key_len - pos).min(h);
        out.as_mut_bytes()[pos..pos + take].copy_from_slice(&t[..take]);
        pos += take;
    }
    t.zeroize();
    Ok(out)
}

/// Quick Mode keying material (RFC 2409 §5.5):
/// `KEYMAT = K1 | K2 | ...`, `K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)`,
/// `Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)`.
#[allow(clippy::too_many_arguments)]
pub fn quick_mode_keymat(
    p: &dyn CryptoProvider,
    prf: Prf,
    skeyid_d: &[u8],
    g_xy: Option<&[u8]>,
    protocol: u8,
    spi: &[u8],
    ni: &[u8],
    nr: &[u8],
    len: usize,
) -> Result<Secret, CryptoError> {
    let _ = p;
    let proto = [protocol];
    match g_xy {
        Some(g) => expand(prf, skeyid_d, &[g, &proto, spi, ni, nr], len),
        None => expand(prf, skeyid_d, &[&proto, spi, ni, nr], len),
    }
}

fn digest_alg(prf: Prf) -> &'static digest::Algorithm {
    match prf {
        Prf::HmacSha256 => &digest::SHA256,
        Prf::HmacSha384 => &digest::SHA384,
        Prf::HmacSha512 => &digest::SHA512,
    }
}

/// Hash (with the PRF's hash function) over the concatenation of `parts`.
pub fn hash(prf: Prf, parts: &[&[u8]]) -> Vec<u8> {
    let mut ctx = digest::Context::new(digest_alg(prf));
    for part in parts {
        ctx.update(part);
    }
    ctx.finish().as_ref().to_vec()
}

/// Phase 1 IV: `hash(g^xi | g^xr)` truncated to the cipher block length (RFC 2409 Appendix B).
pub fn phase1_iv(
    prf: Prf,
    g_xi: &[u8],
    g_xr: &[u8],
    block_len: usize,
) -> Result<Vec<u8>, CryptoError> {
    let mut h = hash(prf, &[g_xi, g_xr]);
    if block_len > h.len() {
        return Err(CryptoError::OutputTooLong);
    }
    h.truncate(block_len);
    Ok(h)
}

/// Phase 2 / informational IV: `hash(last Phase 1 CBC block | M-ID)` truncated to
/// the block length (RFC 2409 Appendix B).
pub fn phase2_iv(
    prf: Prf,
    last_block: &[u8],
    message_id: u32,
    block_len: usize,
) -> Result<Vec<u8>, CryptoError> {
    let mut h = hash(prf, &[last_block, &message_id.to_be_bytes()]);
    if block_len > h.len() {
        return Err(CryptoError::OutputTooLong);
    }
    h.truncate(block_len);
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::default_provider;
    use crate::test_util::hex;

    // NIST CAVS SP 800-135 IKEv1 samples (SHA-256) as carried in NSS's
    // gtests/common/testvectors/ike-sha256-vectors.h (cases 1-5).
    const NI: &str = "b1dee62505b47b223bae14ce7a5b757402ad1587511618d09f94950d47f1d8d4ce86aca12d78db9854d86019ad735757ae79d8932ac0c7db842c85060150ca875ea5d47e3cfcb2a05922ebb7959d49b9797a2289676ee79a1d9a18b790f87e4771ddaf4be3376057a553162f68fe429aca73b07234543801ba2122b1bde82251770d05df813cf556a11ca4dc43ffcb85a97dbed16e2fda6985e07e31be6364899e63c507c7c616e5eb7765a53560f76772de43918ba07badfe85244dcdcd917cb065afb60e3b7e68b54dd94bfc7c31c8b752892781ed3cc4b7f28fbc0ab9af908f5ae1f09f893f80100a7b3135993161b51fbba3bbb24b9f88c6147de82cd6f0";
    const NR: &str = "f0acfef2ad1f7add0eaafda78c1cf1097d9fc91cb04a7c145069ac426fd164cbe661b1dd2df0fb84e19512181f0d8ea50b7860845f332757a8e56d2a3b7be436b5718a2d49baa996a4616684a208c2d611cd65e605dca6e3d3f116859b4410fe13679696bb2e23c08a40c7e1316d54b4c9c0286701c221151b3642cb4112ca1a53e0e597a7e29c634caed86ca3c31973d37b4c346134fd6784cd99913feedf3d29d89a0a02a5a750f02f5738109dcc670bb27701fb59f78e83b76860c3fec079a1fc8c937ddb58ae7500422b7e49ce63759c65b6bc439381d56bcc159edede894b073841036ebfa050a5b3e7c876a3f18def26b1768a263ac66c9d83b680eb5e";
    const GXY: &str = "a1ff3dc6cf9b4c04709943cb4ca1f1789bcf360b03f1d027de3ae8ee039e9155";
    const SKEYID: &str = "750c5c94b9c2ec20b68033e024dadf0fa87e8b48c6561b21c72478451a06583d";
    const SKEYID_D: &str = "a4f7ca7de913814813e3312099e7c943bd293483f387532330237f1b20957310";
    const SKEYID_A: &str = "1d4b705746c43b0a6fcbb8db33983c0f24ff6f8b6543e3779fed227c6067f004";
    const SKEYID_E: &str = "03e6f16cd9ce9f64b5cdc5b34cca7163483ba5389a30afebef3d14640b0a815e";

    #[test]
    fn cavs_skeyid_sig_and_skeyids() {
        let p = default_provider();
        let s = skeyid_sig(&*p, Prf::HmacSha256, &hex(NI), &hex(NR), &hex(GXY)).unwrap();
        assert_eq!(s.as_bytes(), hex(SKEYID).as_slice());
        let ci: [u8; 8] = hex("6c6beb72631ddc3d").try_into().unwrap();
        let cr: [u8; 8] = hex("b84e24b22cffbd14").try_into().unwrap();
        let k = derive_skeyids(&*p, Prf::HmacSha256, s.as_bytes(), &hex(GXY), &ci, &cr).unwrap();
        assert_eq!(k.skeyid_d.as_bytes(), hex(SKEYID_D).as_slice());
        assert_eq!(k.skeyid_a.as_bytes(), hex(SKEYID_A).as_slice());
        assert_eq!(k.skeyid_e.as_bytes(), hex(SKEYID_E).as_slice());
        assert_eq!(format!("{k:?}"), "Ikev1Keys { <redacted> }");
    }

    #[test]
    fn cavs_skeyid_psk() {
        let p = default_provider();
        let s = skeyid_psk(
            &*p,
            Prf::HmacSha256,
            &hex("a0"),
            &hex("ead9ced494868f41"),
            &hex("f1aff4f425a94f18"),
        )
        .unwrap();
        assert_eq!(
            s.as_bytes(),
            hex("558a99b299773d267cf7c8ef073bf3b7af362c206c75a538403c5ef884d4cace").as_slice()
        );
    }

    const APPB_KEY: &str = "5f00d1bd2c58ec224b1e6b71fa0f19a1faa7a193952c444411b47c1a9d8ba6fe";

    #[test]
    fn appendix_b_expansion_nss_vector() {
        // NSS ike-sha256-vectors.h case 11 (Appendix B key expansion, 132 octets).
        let p = default_provider();
        let k = encryption_key(&*p, Prf::HmacSha256, &hex(APPB_KEY), 132).unwrap();
        assert_eq!(
            k.as_bytes(),
            hex("b10fff32cbeaa1e7afe6ab0b191e0bd63cd524849a4b56019146d232a24cf9af6b89494d2a360b06825db8bb0324c15cecf47fc0bc99e39bf1171a7f4bf1733dc49ef64c642e73b054b2e82456e34fa3c822da475e27e403b3da3929da50e6aa9e7f9252c68fa069b4b0edd374e80d35378c4f5e8ec285a1b169c92bbb5353d05ba94165").as_slice()
        );
        // No expansion when SKEYID_e is long enough.
        let k = encryption_key(&*p, Prf::HmacSha256, &hex(APPB_KEY), 16).unwrap();
        assert_eq!(k.as_bytes(), &hex(APPB_KEY)[..16]);
    }

    #[test]
    fn quick_mode_expansion_nss_and_python_vectors() {
        let p = default_provider();
        // NSS case 14: Kn = prf(K, Kn-1 | 0x00) chain for 132 octets; equals our
        // expansion with a single zero-octet seed part.
        let k = expand(Prf::HmacSha256, &hex(APPB_KEY), &[&[0]], 132).unwrap();
        assert_eq!(
            k.as_bytes(),
            hex("b10fff32cbeaa1e7afe6ab0b191e0bd63cd524849a4b56019146d232a24cf9af59f18ed9aabbb2dbbafecf48d72a34a8f72fab2ff4f37e5c917288a78ce00933612e9531a7469995c7f7cc33c7627cac3efbc819330c4fe3bfa3788799630f37bcb74800d82bbebd17b1906e304a786f4f810c266c15be1a30576039c293272748d65966").as_slice()
        );
        // Quick Mode with protocol 3 (ESP), SPI c0ffee01: expected values from python3 hmac.
        let d = hex(SKEYID_D);
        let (ni, nr, spi) = (
            hex("ead9ced494868f41"),
            hex("f1aff4f425a94f18"),
            hex("c0ffee01"),
        );
        let k = quick_mode_keymat(&*p, Prf::HmacSha256, &d, None, 3, &spi, &ni, &nr, 72).unwrap();
        assert_eq!(
            k.as_bytes(),
            hex("79d80c49a84f7f14e0a5e1e837a58340f281c900b09378c912003097b3e9a1f3aba2619198997e80dc5fdc36121e55acddeacd5fc046baa3bff1f5a541958638df10ccbc011e506e").as_slice()
        );
        let k = quick_mode_keymat(
            &*p,
            Prf::HmacSha256,
            &d,
            Some(&hex(GXY)),
            3,
            &spi,
            &ni,
            &nr,
            72,
        )
        .unwrap();
        assert_eq!(
            k.as_bytes(),
            hex("d5907ef3f4576878b477d4d4081544af89f7c3721ed73f3f48b31af6a43e7d74cf0647ab20156a3faa1940946fd73ce51c623f50855fb82b762d8de9b114c3a614631337de8e2934").as_slice()
        );
        assert_eq!(
            quick_mode_keymat(
                &*p,
                Prf::HmacSha256,
                &d,
                None,
                3,
                &spi,
                &ni,
                &nr,
                MAX_EXPANSION + 1
            )
            .err(),
            Some(CryptoError::OutputTooLong)
        );
    }

    #[test]
    fn iv_derivation_python_vectors() {
        // python3: hashlib.sha256(a | b).digest()[:16]
        assert_eq!(
            phase1_iv(Prf::HmacSha256, &hex("0102"), &hex("0304"), 16).unwrap(),
            hex("9f64a747e1b97f131fabb6b447296c9b")
        );
        assert_eq!(
            phase2_iv(
                Prf::HmacSha256,
                &hex("00112233445566778899aabbccddeeff"),
                0xdeadbeef,
                16
            )
            .unwrap(),
            hex("f0ff1453f8266f216dbdbbcb6dd72ba4")
        );
        assert!(phase1_iv(Prf::HmacSha256, b"", b"", 33).is_err());
        assert_eq!(hash(Prf::HmacSha512, &[b"abc"]).len(), 64);
    }
}
