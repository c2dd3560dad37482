//! Ephemeral key exchange: ECDH (RFC 5903), X25519 (RFC 8031) via aws-lc-rs and
//! MODP (RFC 3526) via crypto-bigint constant-time Montgomery exponentiation.
//!
//! MODP private exponents are 512 bits, i.e. at least twice the ~110/~130-bit
//! strength of groups 14/15 as RFC 3526 §8 recommends; the exponentiation runs
//! in time depending only on that bound, never on the exponent's value.

use std::sync::OnceLock;

use aws_lc_rs::agreement;
use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, Odd};
use zeroize::Zeroize;

use crate::{CryptoError, Group, KeyExchange, Secret};

/// Bits of a MODP private exponent.
pub(crate) const MODP_EXPONENT_BITS: u32 = 512;

pub(crate) fn start(group: Group) -> Result<Box<dyn KeyExchange>, CryptoError> {
    match group {
        Group::Modp2048 | Group::Modp3072 => {
            let mut x = [0u8; (MODP_EXPONENT_BITS / 8) as usize];
            aws_lc_rs::rand::fill(&mut x).map_err(|_| CryptoError::Rng)?;
            // Force the top bit so the exponent is never tiny.
            x[0] |= 0x80;
            let r = ModpKex::from_exponent(group, &x);
            x.zeroize();
            Ok(Box::new(r?))
        }
        Group::Ecp256 | Group::Ecp384 | Group::Curve25519 => {
            let key = agreement::PrivateKey::generate(agreement_alg(group))
                .map_err(|_| CryptoError::Rng)?;
            Ok(Box::new(EcKex::from_private(group, key)?))
        }
    }
}

fn agreement_alg(group: Group) -> &'static agreement::Algorithm {
    match group {
        Group::Ecp256 => &agreement::ECDH_P256,
        Group::Ecp384 => &agreement::ECDH_P384,
        _ => &agreement::X25519,
    }
}

/// ECDH / X25519 exchange.
pub(crate) struct EcKex {
    group: Group,
    key: agreement::PrivateKey,
    public: [u8; 96],
}

impl EcKex {
    /// Wraps a private key (also used by tests with fixed RFC keys).
    pub(crate) fn from_private(
        group: Group,
        key: agreement::PrivateKey,
    ) -> Result<Self, CryptoError> {
        let pk = key
            .compute_public_key()
            .map_err(|_| CryptoError::KeyExchange)?;
        let pk = pk.as_ref();
        let n = group.public_key_len();
        let mut public = [0u8; 96];
        match group {
            Group::Curve25519 => {
                if pk.len() != n {
                    return Err(CryptoError::KeyExchange);
                }
                public[..n].copy_from_slice(pk);
            }
            _ => {
                // Uncompressed SEC1 point: 0x04 || x || y; IKE carries x || y.
                match pk.split_first() {
                    Some((4, xy)) if xy.len() == n => public[..n].copy_from_slice(xy),
                    _ => return Err(CryptoError::KeyExchange),
                }
            }
        }
        Ok(EcKex { group, key, public })
    }

    #[cfg(test)]
    pub(crate) fn from_private_bytes(group: Group, d: &[u8]) -> Result<Self, CryptoError> {
        let key = agreement::PrivateKey::from_private_key(agreement_alg(group), d)
            .map_err(|_| CryptoError::KeyFormat)?;
        EcKex::from_private(group, key)
    }
}

impl KeyExchange for EcKex {
    fn group(&self) -> Group {
        self.group
    }

    fn public_key(&self) -> &[u8] {
        &self.public[..self.group.public_key_len()]
    }

    fn complete(self: Box<Self>, peer_public: &[u8]) -> Result<Secret, CryptoError> {
        let n = self.group.public_key_len();
        if peer_public.len() != n {
            return Err(CryptoError::InvalidPublicKey);
        }
        let mut buf = [0u8; 97];
        let peer: &[u8] = if self.group == Group::Curve25519 {
            peer_public
        } else {
            buf[0] = 4;
            buf[1..=n].copy_from_slice(peer_public);
            &buf[..=n]
        };
        let alg = agreement_alg(self.group);
        let out_len = self.group.shared_secret_len();
        let secret = agreement::agree(
            &self.key,
            agreement::UnparsedPublicKey::new(alg, peer),
            CryptoError::InvalidPublicKey,
            |z| {
                if z.len() != out_len {
                    return Err(CryptoError::KeyExchange);
                }
                Ok(Secret::from_slice(z))
            },
        )?;
        // RFC 8031 §2.3: reject the all-zero shared secret (small-order peer point).
        if secret.as_bytes().iter().fold(0u8, |a, b| a | b) == 0 {
            return Err(CryptoError::InvalidPublicKey);
        }
        Ok(secret)
    }
}

struct ModpParams {
    params: BoxedMontyParams,
    p_minus_1: BoxedUint,
    bits: u32,
}

fn modp_params(group: Group) -> Result<&'static ModpParams, CryptoError> {
    static P2048: OnceLock<Option<ModpParams>> = OnceLock::new();
    static P3072: OnceLock<Option<ModpParams>> = OnceLock::new();
    let (cell, prime): (_, &[u8]) = match group {
        Group::Modp2048 => (&P2048, &MODP2048_P),
        Group::Modp3072 => (&P3072, &MODP3072_P),
        _ => return Err(CryptoError::Unsupported("not a MODP group")),
    };
    cell.get_or_init(|| {
        let bits = u32::try_from(prime.len() * 8).ok()?;
        let p = BoxedUint::from_be_slice(prime, bits).ok()?;
        let p_minus_1 = p.wrapping_sub(BoxedUint::one_with_precision(bits));
        let odd = Option::<Odd<BoxedUint>>::from(Odd::new(p))?;
        Some(ModpParams {
            params: BoxedMontyParams::new(odd),
            p_minus_1,
            bits,
        })
    })
    .as_ref()
    .ok_or(CryptoError::KeyExchange)
}

/// Finite-field Diffie-Hellman over an RFC 3526 group, generator 2.
pub(crate) struct ModpKex {
    group: Group,
    x: BoxedUint,
    public: Vec<u8>,
}

impl Drop for ModpKex {
    fn drop(&mut self) {
        self.x.zeroize();
    }
}

impl ModpKex {
    /// Builds the exchange from a big-endian private exponent of at most
    /// [`MODP_EXPONENT_BITS`] bits (fixed exponents are used by tests).
    pub(crate) fn from_exponent(group: Group, x: &[u8]) -> Result<Self, CryptoError> {
        let mp = modp_params(group)?;
        let x =
            BoxedUint::from_be_slice(x, MODP_EXPONENT_BITS).map_err(|_| CryptoError::KeyFormat)?;
        let g = BoxedMontyForm::new(
            BoxedUint::from_be_slice(&[2], mp.bits).map_err(|_| CryptoError::KeyExchange)?,
            &mp.params,
        );
        let y = g.pow_bounded_exp(&x, MODP_EXPONENT_BITS).retrieve();
        let public = fixed_be(&y, group.public_key_len())?;
        Ok(ModpKex { group, x, public })
    }
}

/// Big-endian encoding left-padded to exactly `len` octets.
fn fixed_be(v: &BoxedUint, len: usize) -> Result<Vec<u8>, CryptoError> {
    let mut bytes = v.to_be_bytes();
    let out = if bytes.len() >= len {
        let (hi, lo) = bytes.split_at(bytes.len() - len);
        if hi.iter().any(|&b| b != 0) {
            bytes.zeroize();
            return Err(CryptoError::KeyExchange);
        }
        lo.to_vec()
    } else {
        let mut o = vec![0u8; len - bytes.len()];
        o.extend_from_slice(&bytes);
        o
    };
    bytes.zeroize();
    Ok(out)
}

impl KeyExchange for ModpKex {
    fn group(&self) -> Group {
        self.group
    }

    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn complete(self: Box<Self>, peer_public: &[u8]) -> Result<Secret, CryptoError> {
        let mp = modp_params(self.group)?;
        if peer_public.len() != self.group.public_key_len() {
            return Err(CryptoError::InvalidPublicKey);
        }
        let y = BoxedUint::from_be_slice(peer_public, mp.bits)
            .map_err(|_| CryptoError::InvalidPublicKey)?;
        // 1 < y < p - 1 (RFC 7296 §5 / NIST SP 800-56A full public key check without subgroup test:
        // the safe-prime groups leave only the order-2 subgroup {1, p-1} to exclude).
        let one = BoxedUint::one_with_precision(mp.bits);
        if y <= one || y >= mp.p_minus_1 {
            return Err(CryptoError::InvalidPublicKey);
        }
        let mut zm =
            BoxedMontyForm::new(y, &mp.params).pow_bounded_exp(&self.x, MODP_EXPONENT_BITS);
        let mut z = zm.retrieve();
        zm.zeroize();
        if z <= one || z >= mp.p_minus_1 {
            z.zeroize();
            return Err(CryptoError::KeyExchange);
        }
        let out = fixed_be(&z, self.group.public_key_len());
        z.zeroize();
        Ok(Secret::new(out?))
    }
}

/// RFC 3526 §3 2048-bit MODP prime (checked against the RFC formula and OpenSSL's copy).
pub(crate) const MODP2048_P: [u8; 256] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc9, 0x0f, 0xda, 0xa2, 0x21, 0x68, 0xc2, 0x34,
    0xc4, 0xc6, 0x62, 0x8b, 0x80, 0xdc, 0x1c, 0xd1, 0x29, 0x02, 0x4e, 0x08, 0x8a, 0x67, 0xcc, 0x74,
    0x02, 0x0b, 0xbe, 0xa6, 0x3b, 0x13, 0x9b, 0x22, 0x51, 0x4a, 0x08, 0x79, 0x8e, 0x34, 0x04, 0xdd,
    0xef, 0x95, 0x19, 0xb3, 0xcd, 0x3a, 0x43, 0x1b, 0x30, 0x2b, 0x0a, 0x6d, 0xf2, 0x5f, 0x14, 0x37,
    0x4f, 0xe1, 0x35, 0x6d, 0x6d, 0x51, 0xc2, 0x45, 0xe4, 0x85, 0xb5, 0x76, 0x62, 0x5e, 0x7e, 0xc6,
    0xf4, 0x4c, 0x42, 0xe9, 0xa6, 0x37, 0xed, 0x6b, 0x0b, 0xff, 0x5c, 0xb6, 0xf4, 0x06, 0xb7, 0xed,
    0xee, 0x38, 0x6b, 0xfb, 0x5a, 0x89, 0x9f, 0xa5, 0xae, 0x9f, 0x24, 0x11, 0x7c, 0x4b, 0x1f, 0xe6,
    0x49, 0x28, 0x66, 0x51, 0xec, 0xe4, 0x5b, 0x3d, 0xc2, 0x00, 0x7c, 0xb8, 0xa1, 0x63, 0xbf, 0x05,
    0x98, 0xda, 0x48, 0x36, 0x1c, 0x55, 0xd3, 0x9a, 0x69, 0x16, 0x3f, 0xa8, 0xfd, 0x24, 0xcf, 0x5f,
    0x83, 0x65, 0x5d, 0x23, 0xdc, 0xa3, 0xad, 0x96, 0x1c, 0x62, 0xf3, 0x56, 0x20, 0x85, 0x52, 0xbb,
    0x9e, 0xd5, 0x29, 0x07, 0x70, 0x96, 0x96, 0x6d, 0x67, 0x0c, 0x35, 0x4e, 0x4a, 0xbc, 0x98, 0x04,
    0xf1, 0x74, 0x6c, 0x08, 0xca, 0x18, 0x21, 0x7c, 0x32, 0x90, 0x5e, 0x46, 0x2e, 0x36, 0xce, 0x3b,
    0xe3, 0x9e, 0x77, 0x2c, 0x18, 0x0e, 0x86, 0x03, 0x9b, 0x27, 0x83, 0xa2, 0xec, 0x07, 0xa2, 0x8f,
    0xb5, 0xc5, 0x5d, 0xf0, 0x6f, 0x4c, 0x52, 0xc9, 0xde, 0x2b, 0xcb, 0xf6, 0x95, 0x58, 0x17, 0x18,
    0x39, 0x95, 0x49, 0x7c, 0xea, 0x95, 0x6a, 0xe5, 0x15, 0xd2, 0x26, 0x18, 0x98, 0xfa, 0x05, 0x10,
    0x15, 0x72, 0x8e, 0x5a, 0x8a, 0xac, 0xaa, 0x68, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
];

/// RFC 3526 §4 3072-bit MODP prime (checked against the RFC formula and OpenSSL's copy).
pub(crate) const MODP3072_P: [u8; 384] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc9, 0x0f, 0xda, 0xa2, 0x21, 0x68, 0xc2, 0x34,
    0xc4, 0xc6, 0x62, 0x8b, 0x80, 0xdc, 0x1c, 0xd1, 0x29, 0x02, 0x4e, 0x08, 0x8a, 0x67, 0xcc, 0x74,
    0x02, 0x0b, 0xbe, 0xa6, 0x3b, 0x13, 0x9b, 0x22, 0x51, 0x4a, 0x08, 0x79, 0x8e, 0x34, 0x04, 0xdd,
    0xef, 0x95, 0x19, 0xb3, 0xcd, 0x3a, 0x43, 0x1b, 0x30, 0x2b, 0x0a, 0x6d, 0xf2, 0x5f, 0x14, 0x37,
    0x4f, 0xe1, 0x35, 0x6d, 0x6d, 0x51, 0xc2, 0x45, 0xe4, 0x85, 0xb5, 0x76, 0x62, 0x5e, 0x7e, 0xc6,
    0xf4, 0x4c, 0x42, 0xe9, 0xa6, 0x37, 0xed, 0x6b, 0x0b, 0xff, 0x5c, 0xb6, 0xf4, 0x06, 0xb7, 0xed,
    0xee, 0x38, 0x6b, 0xfb, 0x5a, 0x89, 0x9f, 0xa5, 0xae, 0x9f, 0x24, 0x11, 0x7c, 0x4b, 0x1f, 0xe6,
    0x49, 0x28, 0x66, 0x51, 0xec, 0xe4, 0x5b, 0x3d, 0xc2, 0x00, 0x7c, 0xb8, 0xa1, 0x63, 0xbf, 0x05,
    0x98, 0xda, 0x48, 0x36, 0x1c, 0x55, 0xd3, 0x9a, 0x69, 0x16, 0x3f, 0xa8, 0xfd, 0x24, 0xcf, 0x5f,
    0x83, 0x65, 0x5d, 0x23, 0xdc, 0xa3, 0xad, 0x96, 0x1c, 0x62, 0xf3, 0x56, 0x20, 0x85, 0x52, 0xbb,
    0x9e, 0xd5, 0x29, 0x07, 0x70, 0x96, 0x96, 0x6d, 0x67, 0x0c, 0x35, 0x4e, 0x4a, 0xbc, 0x98, 0x04,
    0xf1, 0x74, 0x6c, 0x08, 0xca, 0x18, 0x21, 0x7c, 0x32, 0x90, 0x5e, 0x46, 0x2e, 0x36, 0xce, 0x3b,
    0xe3, 0x9e, 0x77, 0x2c, 0x18, 0x0e, 0x86, 0x03, 0x9b, 0x27, 0x83, 0xa2, 0xec, 0x07, 0xa2, 0x8f,
    0xb5, 0xc5, 0x5d, 0xf0, 0x6f, 0x4c, 0x52, 0xc9, 0xde, 0x2b, 0xcb, 0xf6, 0x95, 0x58, 0x17, 0x18,
    0x39, 0x95, 0x49, 0x7c, 0xea, 0x95, 0x6a, 0xe5, 0x15, 0xd2, 0x26, 0x18, 0x98, 0xfa, 0x05, 0x10,
    0x15, 0x72, 0x8e, 0x5a, 0x8a, 0xaa, 0xc4, 0x2d, 0xad, 0x33, 0x17, 0x0d, 0x04, 0x50, 0x7a, 0x33,
    0xa8, 0x55, 0x21, 0xab, 0xdf, 0x1c, 0xba, 0x64, 0xec, 0xfb, 0x85, 0x04, 0x58, 0xdb, 0xef, 0x0a,
    0x8a, 0xea, 0x71, 0x57, 0x5d, 0x06, 0x0c, 0x7d, 0xb3, 0x97, 0x0f, 0x85, 0xa6, 0xe1, 0xe4, 0xc7,
    0xab, 0xf5, 0xae, 0x8c, 0xdb, 0x09, 0x33, 0xd7, 0x1e, 0x8c, 0x94, 0xe0, 0x4a, 0x25, 0x61, 0x9d,
    0xce, 0xe3, 0xd2, 0x26, 0x1a, 0xd2, 0xee, 0x6b, 0xf1, 0x2f, 0xfa, 0x06, 0xd9, 0x8a, 0x08, 0x64,
    0xd8, 0x76, 0x02, 0x73, 0x3e, 0xc8, 0x6a, 0x64, 0x52, 0x1f, 0x2b, 0x18, 0x17, 0x7b, 0x20, 0x0c,
    0xbb, 0xe1, 0x17, 0x57, 0x7a, 0x61, 0x5d, 0x6c, 0x77, 0x09, 0x88, 0xc0, 0xba, 0xd9, 0x46, 0xe2,
    0x08, 0xe2, 0x4f, 0xa0, 0x74, 0xe5, 0xab, 0x31, 0x43, 0xdb, 0x5b, 0xfc, 0xe0, 0xfd, 0x10, 0x8e,
    0x4b, 0x82, 0xd1, 0x20, 0xa9, 0x3a, 0xd2, 0xca, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;

    fn ec_case(group: Group, i: &str, gi: &str, r: &str, gr: &str, gir: &str) {
        let ki = EcKex::from_private_bytes(group, &hex(i)).unwrap();
        let kr = EcKex::from_private_bytes(group, &hex(r)).unwrap();
        assert_eq!(ki.public_key(), hex(gi).as_slice());
        assert_eq!(kr.public_key(), hex(gr).as_slice());
        let s1 = Box::new(ki).complete(&hex(gr)).unwrap();
        let s2 = Box::new(kr).complete(&hex(gi)).unwrap();
        assert_eq!(s1.as_bytes(), hex(gir).as_slice());
        assert_eq!(s2.as_bytes(), hex(gir).as_slice());
    }

    #[test]
    fn ecp256_rfc5903_section8_1() {
        ec_case(
            Group::Ecp256,
            "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
            "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180\
             5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
            "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
            "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63\
             56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
            "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE",
        );
    }

    #[test]
    fn ecp384_rfc5903_section8_2() {
        ec_case(
            Group::Ecp384,
            "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655\
             E35B538041E649EE3FAEF896783AB194",
            "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6\
             DE3AC808ACB4BDB4C88732AEE95F41AA9482ED1FC0EEB9CAFC4984625CCFC23F\
             65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A81C",
            "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942\
             E0308312916B8ED2960E4BD55A7448FC",
            "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D\
             0D1AC43A0336DEF96FDA41D0774A3571DCFBEC7AACF3196472169E838430367F\
             66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C",
            "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4\
             D603135569B9E9D09CF5D4A270F59746",
        );
    }

    #[test]
    fn x25519_rfc7748_section6_1() {
        ec_case(
            Group::Curve25519,
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
            "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
        );
    }

    #[test]
    fn x25519_rejects_low_order_points() {
        // Small-order points (u = 0 and u = 1) yield an all-zero secret (RFC 8031 §2.3).
        for u in [[0u8; 32], {
            let mut one = [0u8; 32];
            one[0] = 1;
            one
        }] {
            let k = start(Group::Curve25519).unwrap();
            assert!(k.complete(&u).is_err());
        }
    }

    #[test]
    fn ecp_rejects_invalid_points() {
        for g in [Group::Ecp256, Group::Ecp384] {
            let n = g.public_key_len();
            // Wrong length.
            let k = start(g).unwrap();
            assert_eq!(
                k.complete(&vec![1u8; n - 1]).err(),
                Some(CryptoError::InvalidPublicKey)
            );
            // Off-curve point (0, 0) and a point with a flipped y bit.
            let k = start(g).unwrap();
            assert_eq!(
                k.complete(&vec![0u8; n]).err(),
                Some(CryptoError::InvalidPublicKey)
            );
            let k = start(g).unwrap();
            let mut pk = start(g).unwrap().public_key().to_vec();
            pk[n - 1] ^= 1;
            assert_eq!(k.complete(&pk).err(), Some(CryptoError::InvalidPublicKey));
        }
    }

    // Expected values computed with python3: pow(2, x, p) / pow(gy, x, p) using the
    // RFC 3526 primes, x = 0x11 * 64 octets, y = (0x22 * 64 octets) | 2^511.
    const MODP2048_GX: &str = "8b8f74f91ef6f89b5966fcc2502f9b186c03682b3df3b6eaf5d0d849415e24822206c82e1e15fc34932183c112da2f6550beabeb60f690692b50bc167b6acb20d24406b70b1803cf4dda6187018f690fb1702ee2757e9fc7d20de1c1227f43d94575b0d201de3ddca047d569116e11f1104613d260593f540d02498eeb695733001b35ad737f0873f0e679982753ee64817a8ca9083f0f89e861dbd7e6808cacf55d1f3080b0c2144df62ae4bbe626596e99353f3e9d058f4de4154e906c4f88ffc7857b36f62fe04060df7398b0abcfc411055f76d65d713d0dd31a95934527e221daf05e27517def6c5b492d2e6ccc4a957487fa3b0b256d21184f173cc0fe";
    const MODP2048_GY: &str = "ddf0fdec1455e578b089e3ed37a8c04284c1ebb8a0653300d538ccbbdb12e6fc4f282cf5a35f0ec3556f6ab9efea437d2ade6cda8baa18f3dc73f7e9b2736929256c3aaf9e1b4a360630f3f52af37ab72f1866b4cbe6dfe5293e1eade17c4b9cdb0006b6b251b9e061d73e6beb886f333ac8cb189e94d7e8891d7b9ec32687257c76987d5fec7938f47f4821b16a5551c588033435a490290e50a3d0506b6d048de925795aea7a80261e69472a1e12967f4c2e98d3fa9294e45c3166426a99327921f5b9bf6e3b03271d8707b50fb58c7990353a76bef278622d87c85a0ff042bebe6fca61300f15ff69a0c3375c7fbab1157bbf3105fef623897c8628ded42e";
    const MODP2048_GXY: &str = "7c3a5aa076dff967460cda8d0d607a37ec80465f779fa71921df8ce970d2a05cac42b0308bf0a93d85fe5a3e12ea15ef46d9946ec563d87a5a12206c77672c0ef2b840619259ee031d6e8f13be7fa28627ae514ca55601782aab57f59dfd6af4d0daaaae7fd81d43f2b4f9180f3715256b160ce7722ac9db617157318fbaeb65a75a991149e51aa20d0806473d1d59cf9bc182f98e8e21bf8a03b21a799c2b6291e5d4e2e33c3ef88e10460f586a23088c60243dc4ccc4d4f478069a681eb6ccbc0fdbd76356d21048e744264d0d91195d8845fbc236f9667943b4b0d48fbbbf83c8bca1093c232e58abfb0f54dfaf74ee98b51073e1cc6efa668ec18293ed84";
    const MODP3072_GX: &str = "59053de0e2b02ef5f37148a17572951d055f3c48d85fdf3532e7b31d9206a3abedf8dc01262ba1a028e01b6e515ee9ee38c6f1e87b55c6adc1399e9f5f619303f4ec5af9795399e5e4a70ae3915d9f0625053a84139973d2f543e839329d4bb5f9bde1fd30add27124873a319efb6973716549531ee334a3d61d963dc705668bee5578e7716b49d4c19a29f2e714fa6c66bb75133bd184bff34ffdf942ef859484e76777fc3bd6995732cd95b48191dfbec13047c5d3370bb70f3a2d6327ae9e3998d13cbc1463813040c70c4323c7a394beac48574c4ada92b511b2187c74b1c1135158dca0194fa58850f9714faf01b09f6e1f32b5cbf30396b3122f7e3626e176f6871a4e60b7c196a3a993c973922eb818cebc4ad8e709610ba4f815c10aacb0c600764e76b3e0664d02b228d53596dfa6a9ef0aee87238ab9a856b91c08b0bad59a66c2fa17122f01702bd710d4f7c013dd394eac9c25df09eb5d223e252499e4c6c58bece056d4b6f265ba6479e48e880d2dd6f76be25fac186221840f";

    #[test]
    fn modp2048_fixed_exponent_python_vector() {
        let x = [0x11u8; 64];
        let mut y = [0x22u8; 64];
        y[0] |= 0x80;
        let a = ModpKex::from_exponent(Group::Modp2048, &x).unwrap();
        let b = ModpKex::from_exponent(Group::Modp2048, &y).unwrap();
        assert_eq!(a.public_key(), hex(MODP2048_GX).as_slice());
        assert_eq!(b.public_key(), hex(MODP2048_GY).as_slice());
        let s = Box::new(a).complete(&hex(MODP2048_GY)).unwrap();
        assert_eq!(s.as_bytes(), hex(MODP2048_GXY).as_slice());
        let s2 = Box::new(b).complete(&hex(MODP2048_GX)).unwrap();
        assert_eq!(s2.as_bytes(), hex(MODP2048_GXY).as_slice());
    }

    #[test]
    fn modp3072_fixed_exponent_python_vector() {
        let a = ModpKex::from_exponent(Group::Modp3072, &[0x11u8; 64]).unwrap();
        assert_eq!(a.public_key(), hex(MODP3072_GX).as_slice());
    }

    #[test]
    fn modp_rejects_degenerate_values() {
        for g in [Group::Modp2048, Group::Modp3072] {
            let n = g.public_key_len();
            let p = if g == Group::Modp2048 {
                &MODP2048_P[..]
            } else {
                &MODP3072_P[..]
            };
            let mut one = vec![0u8; n];
            one[n - 1] = 1;
            let mut p_minus_1 = p.to_vec();
            p_minus_1[n - 1] -= 1;
            for bad in [
                vec![0u8; n],
                one,
                p_minus_1,
                p.to_vec(),
                vec![0xffu8; n],
                vec![2u8; n - 1],
                vec![2u8; n + 1],
            ] {
                let k = start(g).unwrap();
                assert_eq!(k.complete(&bad).err(), Some(CryptoError::InvalidPublicKey));
            }
        }
    }

    #[test]
    fn all_groups_two_parties_agree() {
        for g in Group::ALL {
            let a = start(g).unwrap();
            let b = start(g).unwrap();
            assert_eq!(a.group(), g);
            assert_eq!(a.public_key().len(), g.public_key_len());
            assert_ne!(a.public_key(), b.public_key());
            let pa = a.public_key().to_vec();
            let pb = b.public_key().to_vec();
            let sa = a.complete(&pb).unwrap();
            let sb = b.complete(&pa).unwrap();
            assert_eq!(sa, sb, "{g:?}");
            assert_eq!(sa.len(), g.shared_secret_len());
        }
    }

    #[test]
    fn modp_prime_matches_openssl_builtin() {
        // Independent copy: OpenSSL's built-in RFC 3526 groups.
        for (name, p) in [
            ("modp_2048", &MODP2048_P[..]),
            ("modp_3072", &MODP3072_P[..]),
        ] {
            let pem = std::env::temp_dir().join(format!(
                "negotiator-crypto-{}-{name}.pem",
                std::process::id()
            ));
            let status = std::process::Command::new("openssl")
                .args(["genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt"])
                .arg(format!("group:{name}"))
                .arg("-out")
                .arg(&pem)
                .status()
                .expect("openssl must be installed for this test");
            assert!(status.success());
            let out = std::process::Command::new("openssl")
                .args(["dhparam", "-outform", "DER", "-in"])
                .arg(&pem)
                .output()
                .expect("openssl dhparam");
            let _ = std::fs::remove_file(&pem);
            assert!(out.status.success());
            let der = out.stdout;
            // DHParameter ::= SEQUENCE { prime INTEGER, base INTEGER }; the prime has a
            // leading 0x00 octet since its top bit is set.
            let needle: Vec<u8> = std::iter::once(0u8).chain(p.iter().copied()).collect();
            assert!(
                der.windows(needle.len()).any(|w| w == needle.as_slice()),
                "{name}"
            );
        }
    }

    #[test]
    fn random_peer_values_never_panic() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for g in Group::ALL {
            for len in [
                0,
                1,
                g.public_key_len() - 1,
                g.public_key_len(),
                g.public_key_len() + 1,
            ] {
                let peer: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect();
                let r = start(g).unwrap().complete(&peer);
                if len != g.public_key_len() {
                    assert_eq!(r.err(), Some(CryptoError::InvalidPublicKey));
                } else if let Ok(s) = r {
                    assert_eq!(s.len(), g.shared_secret_len());
                }
            }
        }
    }
}
