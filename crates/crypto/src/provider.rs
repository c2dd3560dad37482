//! The aws-lc-rs backed [`CryptoProvider`].

use std::fmt;
use std::sync::{Arc, OnceLock};

use aws_lc_rs::{aead, cipher, constant_time, hmac, iv::FixedLength};
use zeroize::Zeroize;

use crate::{
    CipherKey, CryptoError, CryptoProvider, Encr, Group, Integ, IntegKey, KeyExchange, Prf, Secret,
};

/// The default provider: aws-lc-rs for symmetric crypto, ECDH and X25519;
/// crypto-bigint constant-time Montgomery exponentiation for MODP groups.
#[derive(Debug, Default, Clone, Copy)]
pub struct AwsLcProvider;

/// Returns the shared aws-lc-rs backed provider.
pub fn default_provider() -> Arc<dyn CryptoProvider> {
    static PROVIDER: OnceLock<Arc<dyn CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(AwsLcProvider)).clone()
}

pub(crate) fn hmac_alg_for_prf(alg: Prf) -> hmac::Algorithm {
    match alg {
        Prf::HmacSha256 => hmac::HMAC_SHA256,
        Prf::HmacSha384 => hmac::HMAC_SHA384,
        Prf::HmacSha512 => hmac::HMAC_SHA512,
    }
}

fn hmac_alg_for_integ(alg: Integ) -> hmac::Algorithm {
    match alg {
        Integ::HmacSha256_128 => hmac::HMAC_SHA256,
        Integ::HmacSha384_192 => hmac::HMAC_SHA384,
        Integ::HmacSha512_256 => hmac::HMAC_SHA512,
    }
}

/// HMAC over the concatenation of `data`, written to `out` (truncated to `out.len()`,
/// which must not exceed the hash length). Returns the number of octets written.
pub(crate) fn hmac_parts(key: &hmac::Key, data: &[&[u8]], out: &mut [u8]) -> usize {
    let mut ctx = hmac::Context::with_key(key);
    for d in data {
        ctx.update(d);
    }
    let tag = ctx.sign();
    let t = tag.as_ref();
    let n = out.len().min(t.len());
    out[..n].copy_from_slice(&t[..n]);
    n
}

impl CryptoProvider for AwsLcProvider {
    fn fill_random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        aws_lc_rs::rand::fill(out).map_err(|_| CryptoError::Rng)
    }

    fn start_key_exchange(&self, group: Group) -> Result<Box<dyn KeyExchange>, CryptoError> {
        crate::kex::start(group)
    }

    fn prf(&self, alg: Prf, key: &[u8], data: &[&[u8]]) -> Result<Secret, CryptoError> {
        let k = hmac::Key::new(hmac_alg_for_prf(alg), key);
        let mut out = Secret::zeroed(alg.output_len());
        hmac_parts(&k, data, out.as_mut_bytes());
        Ok(out)
    }

    fn integ_key(&self, alg: Integ, key: &[u8]) -> Result<Box<dyn IntegKey>, CryptoError> {
        Ok(Box::new(HmacIntegKey::new(alg, key)?))
    }

    fn cipher_key(&self, alg: Encr, key: &[u8]) -> Result<Box<dyn CipherKey>, CryptoError> {
        if key.len() != alg.key_len() {
            return Err(CryptoError::InvalidKeyLength);
        }
        match alg {
            Encr::AesCbc128 | Encr::AesCbc256 => Ok(Box::new(CbcKey::new(alg, key)?)),
            Encr::AesGcm16_128 | Encr::AesGcm16_256 => Ok(Box::new(GcmKey::new(alg, key)?)),
        }
    }
}

/// Truncated-HMAC integrity key (RFC 4868).
pub(crate) struct HmacIntegKey {
    alg: Integ,
    key: hmac::Key,
}

impl HmacIntegKey {
    pub(crate) fn new(alg: Integ, key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != alg.key_len() {
            return Err(CryptoError::InvalidKeyLength);
        }
        Ok(HmacIntegKey {
            alg,
            key: hmac::Key::new(hmac_alg_for_integ(alg), key),
        })
    }
}

impl fmt::Debug for HmacIntegKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacIntegKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl IntegKey for HmacIntegKey {
    fn alg(&self) -> Integ {
        self.alg
    }

    fn compute(&self, data: &[&[u8]], out: &mut [u8]) {
        let n = out.len().min(self.alg.icv_len());
        hmac_parts(&self.key, data, &mut out[..n]);
    }

    fn verify(&self, data: &[&[u8]], icv: &[u8]) -> bool {
        let len = self.alg.icv_len();
        if icv.len() != len {
            return false;
        }
        let mut buf = [0u8; 32];
        hmac_parts(&self.key, data, &mut buf[..len]);
        let ok = constant_time::verify_slices_are_equal(&buf[..len], icv).is_ok();
        buf.zeroize();
        ok
    }
}

/// AES-CBC without padding (ESP/IKE do their own padding).
struct CbcKey {
    alg: Encr,
    enc: cipher::EncryptingKey,
    dec: cipher::DecryptingKey,
}

impl CbcKey {
    fn new(alg: Encr, key: &[u8]) -> Result<Self, CryptoError> {
        let a = if alg == Encr::AesCbc128 {
            &cipher::AES_128
        } else {
            &cipher::AES_256
        };
        let enc = cipher::UnboundCipherKey::new(a, key)
            .and_then(cipher::EncryptingKey::cbc)
            .map_err(|_| CryptoError::InvalidKeyLength)?;
        let dec = cipher::UnboundCipherKey::new(a, key)
            .and_then(cipher::DecryptingKey::cbc)
            .map_err(|_| CryptoError::InvalidKeyLength)?;
        Ok(CbcKey { alg, enc, dec })
    }

    fn check(iv: &[u8], data: &[u8], tag_len: usize) -> Result<[u8; 16], CryptoError> {
        let iv: [u8; 16] = iv.try_into().map_err(|_| CryptoError::InvalidIvLength)?;
        if !data.len().is_multiple_of(16) {
            return Err(CryptoError::InvalidDataLength);
        }
        if tag_len != 0 {
            return Err(CryptoError::InvalidTagLength);
        }
        Ok(iv)
    }
}

impl CipherKey for CbcKey {
    fn alg(&self) -> Encr {
        self.alg
    }

    fn encrypt(
        &self,
        iv: &[u8],
        _aad: &[u8],
        data: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), CryptoError> {
        let iv = Self::check(iv, data, tag.len())?;
        if data.is_empty() {
            return Ok(());
        }
        let ctx = cipher::EncryptionContext::Iv128(FixedLength::from(iv));
        self.enc
            .less_safe_encrypt(data, ctx)
            .map(|_| ())
            .map_err(|_| CryptoError::InvalidDataLength)
    }

    fn decrypt(
        &self,
        iv: &[u8],
        _aad: &[u8],
        data: &mut [u8],
        tag: &[u8],
    ) -> Result<(), CryptoError> {
        let iv = Self::check(iv, data, tag.len())?;
        if data.is_empty() {
            return Ok(());
        }
        let ctx = cipher::DecryptionContext::Iv128(FixedLength::from(iv));
        self.dec
            .decrypt(data, ctx)
            .map(|_| ())
            .map_err(|_| CryptoError::DecryptFailed)
    }
}

/// AES-GCM with a 16-octet ICV, RFC 4106 / RFC 5282 nonce construction.
struct GcmKey {
    alg: Encr,
    key: aead::LessSafeKey,
    salt: [u8; 4],
}

impl Drop for GcmKey {
    fn drop(&mut self) {
        self.salt.zeroize();
    }
}

impl GcmKey {
    fn new(alg: Encr, key: &[u8]) -> Result<Self, CryptoError> {
        let split = key
            .len()
            .checked_sub(4)
            .ok_or(CryptoError::InvalidKeyLength)?;
        let (k, s) = key.split_at(split);
        let a = if alg == Encr::AesGcm16_128 {
            &aead::AES_128_GCM
        } else {
            &aead::AES_256_GCM
        };
        let unbound = aead::UnboundKey::new(a, k).map_err(|_| CryptoError::InvalidKeyLength)?;
        let salt: [u8; 4] = s.try_into().map_err(|_| CryptoError::InvalidKeyLength)?;
        Ok(GcmKey {
            alg,
            key: aead::LessSafeKey::new(unbound),
            salt,
        })
    }

    fn nonce(&self, iv: &[u8]) -> Result<aead::Nonce, CryptoError> {
        if iv.len() != 8 {
            return Err(CryptoError::InvalidIvLength);
        }
        let mut n = [0u8; 12];
        n[..4].copy_from_slice(&self.salt);
        n[4..].copy_from_slice(iv);
        Ok(aead::Nonce::assume_unique_for_key(n))
    }
}

impl CipherKey for GcmKey {
    fn alg(&self) -> Encr {
        self.alg
    }

    fn encrypt(
        &self,
        iv: &[u8],
        aad: &[u8],
        data: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), CryptoError> {
        if tag.len() != 16 {
            return Err(CryptoError::InvalidTagLength);
        }
        let nonce = self.nonce(iv)?;
        let t = self
            .key
            .seal_in_place_separate_tag(nonce, aead::Aad::from(aad), data)
            .map_err(|_| CryptoError::InvalidDataLength)?;
        tag.copy_from_slice(t.as_ref());
        Ok(())
    }

    fn decrypt(
        &self,
        iv: &[u8],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8],
    ) -> Result<(), CryptoError> {
        if tag.len() != 16 {
            return Err(CryptoError::InvalidTagLength);
        }
        let nonce = self.nonce(iv)?;
        self.key
            .open_in_place_separate_tag(nonce, aead::Aad::from(aad), tag, data)
            .map(|_| ())
            .map_err(|_| CryptoError::IntegrityFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;

    // RFC 4868 §2.7.1 PRF test cases 1 and 2 (key = 0x0b * keylen / "Jefe" repeated,
    // data "Hi There" / "what do ya want for nothing?"). Values cross-checked with
    // python3's hmac module.
    const PRF_VECTORS: [(Prf, &str, &str); 6] = [
        (
            Prf::HmacSha256,
            "Hi There",
            "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7",
        ),
        (
            Prf::HmacSha256,
            "what do ya want for nothing?",
            "167f928588c5cc2eef8e3093caa0e87c9ff566a14794aa61648d81621a2a40c6",
        ),
        (
            Prf::HmacSha384,
            "Hi There",
            "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee9737a959796489bddbc4c5df61d5b3297b4fb68dab9f1b582c2",
        ),
        (
            Prf::HmacSha384,
            "what do ya want for nothing?",
            "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184da86a368e9b8e16f5349524ca4e82400cbde0686d403371c9",
        ),
        (
            Prf::HmacSha512,
            "Hi There",
            "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8ac2878ebd5803f6f0b61dbce5e251ff8789a4722c1be65aea45fd464e89f8f5b",
        ),
        (
            Prf::HmacSha512,
            "what do ya want for nothing?",
            "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b154546aa334ae9fb9afc2184932d8695e397bfa0ffb93466cfcceaae38c833b7dba38",
        ),
    ];

    fn vector_key(prf: Prf, msg: &str) -> Vec<u8> {
        if msg == "Hi There" {
            vec![0x0b; prf.output_len()]
        } else {
            b"Jefe".repeat(prf.output_len() / 4)
        }
    }

    #[test]
    fn prf_rfc4868_vectors() {
        let p = default_provider();
        for (prf, msg, out) in PRF_VECTORS {
            let key = vector_key(prf, msg);
            let got = p.prf(prf, &key, &[msg.as_bytes()]).unwrap();
            assert_eq!(got.as_bytes(), hex(out).as_slice(), "{prf:?}");
            // Split input gives the same result.
            let (a, b) = msg.as_bytes().split_at(3);
            let got2 = p.prf(prf, &key, &[a, &[], b]).unwrap();
            assert_eq!(got2.as_bytes(), hex(out).as_slice());
        }
    }

    #[test]
    fn integ_rfc4868_truncated_vectors() {
        let p = default_provider();
        let pairs = [
            (Integ::HmacSha256_128, Prf::HmacSha256),
            (Integ::HmacSha384_192, Prf::HmacSha384),
            (Integ::HmacSha512_256, Prf::HmacSha512),
        ];
        for (integ, prf) in pairs {
            for (vp, msg, out) in PRF_VECTORS {
                if vp != prf {
                    continue;
                }
                let key = vector_key(prf, msg);
                let k = p.integ_key(integ, &key).unwrap();
                assert_eq!(k.alg(), integ);
                let full = hex(out);
                let expect = &full[..integ.icv_len()];
                let mut icv = vec![0u8; integ.icv_len()];
                k.compute(&[msg.as_bytes()], &mut icv);
                assert_eq!(icv, expect);
                assert!(k.verify(&[msg.as_bytes()], expect));
                let mut bad = expect.to_vec();
                bad[0] ^= 1;
                assert!(!k.verify(&[msg.as_bytes()], &bad));
                assert!(
                    !k.verify(&[msg.as_bytes()], &full),
                    "untruncated ICV must be rejected"
                );
                assert!(!k.verify(&[b"other"], expect));
            }
        }
        assert_eq!(
            p.integ_key(Integ::HmacSha256_128, &[0; 31]).err(),
            Some(CryptoError::InvalidKeyLength)
        );
    }

    #[test]
    fn aes_cbc_rfc3602_case1_and_2() {
        let p = default_provider();
        // RFC 3602 §4 case #1
        let k = p
            .cipher_key(Encr::AesCbc128, &hex("06a9214036b8a15b512e03d534120006"))
            .unwrap();
        let iv = hex("3dafba429d9eb430b422da802c9fac41");
        let mut data = b"Single block msg".to_vec();
        k.encrypt(&iv, &[], &mut data, &mut []).unwrap();
        assert_eq!(data, hex("e353779c1079aeb82708942dbe77181a"));
        k.decrypt(&iv, &[], &mut data, &[]).unwrap();
        assert_eq!(data, b"Single block msg");
        // RFC 3602 §4 case #2
        let k = p
            .cipher_key(Encr::AesCbc128, &hex("c286696d887c9aa0611bbb3e2025a45a"))
            .unwrap();
        let iv = hex("562e17996d093d28ddb3ba695a2e6f58");
        let pt = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        let mut data = pt.clone();
        k.encrypt(&iv, &[], &mut data, &mut []).unwrap();
        assert_eq!(
            data,
            hex("d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1")
        );
        k.decrypt(&iv, &[], &mut data, &[]).unwrap();
        assert_eq!(data, pt);
    }

    #[test]
    fn aes_cbc256_openssl_vector() {
        // Expected value from: printf 'Single block msgSingle block msg' |
        //   openssl enc -aes-256-cbc -nopad -K 000102..1f -iv 0f0e..00
        let p = default_provider();
        let key: Vec<u8> = (0u8..32).collect();
        let iv: Vec<u8> = (0u8..16).rev().collect();
        let k = p.cipher_key(Encr::AesCbc256, &key).unwrap();
        let mut data = b"Single block msgSingle block msg".to_vec();
        k.encrypt(&iv, &[], &mut data, &mut []).unwrap();
        assert_eq!(data, hex(AES256_CBC_EXPECT));
        k.decrypt(&iv, &[], &mut data, &[]).unwrap();
        assert_eq!(data, b"Single block msgSingle block msg");
    }

    const AES256_CBC_EXPECT: &str =
        "60e842d5ef08f6b6197a7927c278ab980144813e7bffa37349dfba71e544289a";

    #[test]
    fn aes_cbc_rejects_bad_input() {
        let p = default_provider();
        let k = p.cipher_key(Encr::AesCbc128, &[7; 16]).unwrap();
        let mut d = [0u8; 15];
        assert_eq!(
            k.encrypt(&[0; 16], &[], &mut d, &mut []),
            Err(CryptoError::InvalidDataLength)
        );
        let mut d = [0u8; 16];
        assert_eq!(
            k.encrypt(&[0; 15], &[], &mut d, &mut []),
            Err(CryptoError::InvalidIvLength)
        );
        assert_eq!(
            k.encrypt(&[0; 16], &[], &mut d, &mut [0; 16]),
            Err(CryptoError::InvalidTagLength)
        );
        assert_eq!(
            k.decrypt(&[0; 16], &[], &mut d[..8], &[]),
            Err(CryptoError::InvalidDataLength)
        );
        assert_eq!(
            p.cipher_key(Encr::AesCbc256, &[0; 16]).err(),
            Some(CryptoError::InvalidKeyLength)
        );
    }

    // McGrew & Viega GCM spec test cases 4 (AES-128) and 16 (AES-256), arranged as
    // RFC 4106: salt = first 4 octets of the 96-bit IV, explicit IV = last 8.
    // Outputs re-checked with python3 `cryptography` AESGCM.
    const GCM_PT: &str = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
    const GCM_AAD: &str = "feedfacedeadbeeffeedfacedeadbeefabaddad2";

    #[test]
    fn aes_gcm_vectors() {
        let p = default_provider();
        let cases = [
            (
                Encr::AesGcm16_128,
                "feffe9928665731c6d6a8f9467308308",
                "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
                "5bc94fbc3221a5db94fae95ae7121a47",
            ),
            (
                Encr::AesGcm16_256,
                "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
                "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
                "76fc6ece0f4e1768cddf8853bb2d551b",
            ),
        ];
        for (alg, key, ct, tag) in cases {
            let mut km = hex(key);
            km.extend_from_slice(&hex("cafebabe"));
            let k = p.cipher_key(alg, &km).unwrap();
            assert_eq!(k.alg(), alg);
            let iv = hex("facedbaddecaf888");
            let mut data = hex(GCM_PT);
            let mut t = [0u8; 16];
            k.encrypt(&iv, &hex(GCM_AAD), &mut data, &mut t).unwrap();
            assert_eq!(data, hex(ct));
            assert_eq!(t.to_vec(), hex(tag));
            let mut dec = data.clone();
            k.decrypt(&iv, &hex(GCM_AAD), &mut dec, &t).unwrap();
            assert_eq!(dec, hex(GCM_PT));
            // Tampered tag, ciphertext, and AAD all fail integrity.
            let mut bad_t = t;
            bad_t[15] ^= 0x80;
            let mut d = data.clone();
            assert_eq!(
                k.decrypt(&iv, &hex(GCM_AAD), &mut d, &bad_t),
                Err(CryptoError::IntegrityFailed)
            );
            let mut d = data.clone();
            d[0] ^= 1;
            assert_eq!(
                k.decrypt(&iv, &hex(GCM_AAD), &mut d, &t),
                Err(CryptoError::IntegrityFailed)
            );
            let mut d = data.clone();
            assert_eq!(
                k.decrypt(&iv, b"other aad", &mut d, &t),
                Err(CryptoError::IntegrityFailed)
            );
            let mut d = data.clone();
            assert_eq!(
                k.decrypt(&iv[..7], &hex(GCM_AAD), &mut d, &t),
                Err(CryptoError::InvalidIvLength)
            );
            assert_eq!(
                k.decrypt(&iv, &hex(GCM_AAD), &mut d, &t[..12]),
                Err(CryptoError::InvalidTagLength)
            );
        }
        assert_eq!(
            p.cipher_key(Encr::AesGcm16_128, &[0; 16]).err(),
            Some(CryptoError::InvalidKeyLength)
        );
    }

    #[test]
    fn random_fills() {
        let p = default_provider();
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        p.fill_random(&mut a).unwrap();
        p.fill_random(&mut b).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }
}
