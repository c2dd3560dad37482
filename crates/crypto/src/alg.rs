//! Algorithm identifiers (IKEv2 transform IDs, RFC 7296 §3.3.2 / IANA).

/// Key-exchange (Diffie-Hellman) groups, IKEv2 transform type 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// 2048-bit MODP group (RFC 3526, group 14).
    Modp2048,
    /// 3072-bit MODP group (RFC 3526, group 15).
    Modp3072,
    /// 256-bit random ECP group, NIST P-256 (RFC 5903, group 19).
    Ecp256,
    /// 384-bit random ECP group, NIST P-384 (RFC 5903, group 20).
    Ecp384,
    /// Curve25519 / X25519 (RFC 8031, group 31).
    Curve25519,
}

impl Group {
    /// All supported groups, strongest-preference order not implied.
    pub const ALL: [Group; 5] = [
        Group::Modp2048,
        Group::Modp3072,
        Group::Ecp256,
        Group::Ecp384,
        Group::Curve25519,
    ];

    /// Maps an IANA transform ID to a group.
    pub fn from_id(id: u16) -> Option<Self> {
        match id {
            14 => Some(Group::Modp2048),
            15 => Some(Group::Modp3072),
            19 => Some(Group::Ecp256),
            20 => Some(Group::Ecp384),
            31 => Some(Group::Curve25519),
            _ => None,
        }
    }

    /// The IANA transform ID.
    pub fn id(self) -> u16 {
        match self {
            Group::Modp2048 => 14,
            Group::Modp3072 => 15,
            Group::Ecp256 => 19,
            Group::Ecp384 => 20,
            Group::Curve25519 => 31,
        }
    }

    /// strongSwan-style name ("modp2048", "ecp256", "curve25519", ...).
    pub fn name(self) -> &'static str {
        match self {
            Group::Modp2048 => "modp2048",
            Group::Modp3072 => "modp3072",
            Group::Ecp256 => "ecp256",
            Group::Ecp384 => "ecp384",
            Group::Curve25519 => "curve25519",
        }
    }

    /// Parses a name as returned by [`Group::name`] (also accepts "x25519").
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "x25519" => Some(Group::Curve25519),
            _ => Group::ALL.into_iter().find(|g| g.name() == name),
        }
    }

    /// Length of the Key Exchange Data (public value) on the wire.
    pub fn public_key_len(self) -> usize {
        match self {
            Group::Modp2048 => 256,
            Group::Modp3072 => 384,
            Group::Ecp256 => 64,
            Group::Ecp384 => 96,
            Group::Curve25519 => 32,
        }
    }

    /// Length of the shared secret produced by [`crate::KeyExchange::complete`].
    pub fn shared_secret_len(self) -> usize {
        match self {
            Group::Modp2048 => 256,
            Group::Modp3072 => 384,
            Group::Ecp256 => 32,
            Group::Ecp384 => 48,
            Group::Curve25519 => 32,
        }
    }
}

/// Pseudo-random functions, IKEv2 transform type 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prf {
    /// PRF_HMAC_SHA2_256 (5).
    HmacSha256,
    /// PRF_HMAC_SHA2_384 (6).
    HmacSha384,
    /// PRF_HMAC_SHA2_512 (7).
    HmacSha512,
}

impl Prf {
    /// All supported PRFs.
    pub const ALL: [Prf; 3] = [Prf::HmacSha256, Prf::HmacSha384, Prf::HmacSha512];

    /// Maps an IANA transform ID to a PRF.
    pub fn from_id(id: u16) -> Option<Self> {
        match id {
            5 => Some(Prf::HmacSha256),
            6 => Some(Prf::HmacSha384),
            7 => Some(Prf::HmacSha512),
            _ => None,
        }
    }

    /// The IANA transform ID.
    pub fn id(self) -> u16 {
        match self {
            Prf::HmacSha256 => 5,
            Prf::HmacSha384 => 6,
            Prf::HmacSha512 => 7,
        }
    }

    /// Output (and preferred key) length in octets.
    pub fn output_len(self) -> usize {
        match self {
            Prf::HmacSha256 => 32,
            Prf::HmacSha384 => 48,
            Prf::HmacSha512 => 64,
        }
    }

    /// strongSwan-style name ("prfsha256", ...).
    pub fn name(self) -> &'static str {
        match self {
            Prf::HmacSha256 => "prfsha256",
            Prf::HmacSha384 => "prfsha384",
            Prf::HmacSha512 => "prfsha512",
        }
    }

    /// Parses a name as returned by [`Prf::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Prf::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// Integrity algorithms, IKEv2 transform type 3 (RFC 4868).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)]
pub enum Integ {
    /// AUTH_HMAC_SHA2_256_128 (12).
    HmacSha256_128,
    /// AUTH_HMAC_SHA2_384_192 (13).
    HmacSha384_192,
    /// AUTH_HMAC_SHA2_512_256 (14).
    HmacSha512_256,
}

impl Integ {
    /// All supported integrity algorithms.
    pub const ALL: [Integ; 3] = [
        Integ::HmacSha256_128,
        Integ::HmacSha384_192,
        Integ::HmacSha512_256,
    ];

    /// Maps an IANA transform ID to an integrity algorithm.
    pub fn from_id(id: u16) -> Option<Self> {
        match id {
            12 => Some(Integ::HmacSha256_128),
            13 => Some(Integ::HmacSha384_192),
            14 => Some(Integ::HmacSha512_256),
            _ => None,
        }
    }

    /// The IANA transform ID.
    pub fn id(self) -> u16 {
        match self {
            Integ::HmacSha256_128 => 12,
            Integ::HmacSha384_192 => 13,
            Integ::HmacSha512_256 => 14,
        }
    }

    /// Key length in octets (32/48/64).
    pub fn key_len(self) -> usize {
        match self {
            Integ::HmacSha256_128 => 32,
            Integ::HmacSha384_192 => 48,
            Integ::HmacSha512_256 => 64,
        }
    }

    /// Truncated ICV length in octets (16/24/32).
    pub fn icv_len(self) -> usize {
        match self {
            Integ::HmacSha256_128 => 16,
            Integ::HmacSha384_192 => 24,
            Integ::HmacSha512_256 => 32,
        }
    }

    /// strongSwan-style name ("sha256_128", ...).
    pub fn name(self) -> &'static str {
        match self {
            Integ::HmacSha256_128 => "sha256_128",
            Integ::HmacSha384_192 => "sha384_192",
            Integ::HmacSha512_256 => "sha512_256",
        }
    }

    /// Parses a name as returned by [`Integ::name`] (also "sha256", "sha384", "sha512").
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Integ::HmacSha256_128),
            "sha384" => Some(Integ::HmacSha384_192),
            "sha512" => Some(Integ::HmacSha512_256),
            _ => Integ::ALL.into_iter().find(|i| i.name() == name),
        }
    }
}

/// Encryption algorithms, IKEv2 transform type 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encr {
    /// ENCR_AES_CBC (12), 128-bit key.
    AesCbc128,
    /// ENCR_AES_CBC (12), 256-bit key.
    AesCbc256,
    /// ENCR_AES_GCM_16 (20), 128-bit key.
    AesGcm16_128,
    /// ENCR_AES_GCM_16 (20), 256-bit key.
    AesGcm16_256,
}

impl Encr {
    /// All supported encryption algorithms.
    pub const ALL: [Encr; 4] = [
        Encr::AesCbc128,
        Encr::AesCbc256,
        Encr::AesGcm16_128,
        Encr::AesGcm16_256,
    ];

    /// Maps a transform ID and its Key Length attribute (bits) to an algorithm.
    /// The key length is required (RFC 7296 §3.3.5 for AES).
    pub fn from_transform(id: u16, key_bits: Option<u16>) -> Option<Self> {
        match (id, key_bits?) {
            (12, 128) => Some(Encr::AesCbc128),
            (12, 256) => Some(Encr::AesCbc256),
            (20, 128) => Some(Encr::AesGcm16_128),
            (20, 256) => Some(Encr::AesGcm16_256),
            _ => None,
        }
    }

    /// The IANA transform ID (12 = AES-CBC, 20 = AES-GCM with 16-octet ICV).
    pub fn transform_id(self) -> u16 {
        match self {
            Encr::AesCbc128 | Encr::AesCbc256 => 12,
            Encr::AesGcm16_128 | Encr::AesGcm16_256 => 20,
        }
    }

    /// Key Length attribute value in bits (salt excluded).
    pub fn key_bits(self) -> u16 {
        match self {
            Encr::AesCbc128 | Encr::AesGcm16_128 => 128,
            Encr::AesCbc256 | Encr::AesGcm16_256 => 256,
        }
    }

    /// True for AEAD (combined-mode) algorithms.
    pub fn is_aead(self) -> bool {
        matches!(self, Encr::AesGcm16_128 | Encr::AesGcm16_256)
    }

    /// Keying material length in octets, including the 4-octet salt for GCM
    /// (RFC 4106 §8.1, RFC 5282 §7.1).
    pub fn key_len(self) -> usize {
        match self {
            Encr::AesCbc128 => 16,
            Encr::AesCbc256 => 32,
            Encr::AesGcm16_128 => 20,
            Encr::AesGcm16_256 => 36,
        }
    }

    /// Length of the IV carried in each packet (CBC 16, GCM 8).
    pub fn iv_len(self) -> usize {
        if self.is_aead() { 8 } else { 16 }
    }

    /// Padding alignment for ESP/SK payloads (CBC 16, GCM 4).
    pub fn block_len(self) -> usize {
        if self.is_aead() { 4 } else { 16 }
    }

    /// Length of the integrity check value produced by the cipher itself (GCM 16, CBC 0).
    pub fn icv_len(self) -> usize {
        if self.is_aead() { 16 } else { 0 }
    }

    /// strongSwan-style name ("aes128cbc", "aes256cbc", "aes128gcm16", "aes256gcm16").
    pub fn name(self) -> &'static str {
        match self {
            Encr::AesCbc128 => "aes128cbc",
            Encr::AesCbc256 => "aes256cbc",
            Encr::AesGcm16_128 => "aes128gcm16",
            Encr::AesGcm16_256 => "aes256gcm16",
        }
    }

    /// Parses a name as returned by [`Encr::name`]; also accepts strongSwan's
    /// "aes128"/"aes256" (CBC) and "aes128gcm"/"aes256gcm" (16-octet ICV).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "aes128" => Some(Encr::AesCbc128),
            "aes256" => Some(Encr::AesCbc256),
            "aes128gcm" => Some(Encr::AesGcm16_128),
            "aes256gcm" => Some(Encr::AesGcm16_256),
            _ => Encr::ALL.into_iter().find(|e| e.name() == name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_ids_round_trip() {
        let expect = [(14, 256), (15, 384), (19, 64), (20, 96), (31, 32)];
        for (g, (id, len)) in Group::ALL.iter().zip(expect) {
            assert_eq!(g.id(), id);
            assert_eq!(Group::from_id(id), Some(*g));
            assert_eq!(g.public_key_len(), len);
            assert_eq!(Group::from_name(g.name()), Some(*g));
        }
        assert_eq!(Group::from_id(2), None);
        assert_eq!(Group::Curve25519.name(), "curve25519");
    }

    #[test]
    fn prf_integ_ids() {
        assert_eq!(Prf::from_id(5), Some(Prf::HmacSha256));
        assert_eq!(Prf::from_id(7).map(Prf::output_len), Some(64));
        assert_eq!(Prf::from_id(2), None);
        assert_eq!(Prf::HmacSha384.name(), "prfsha384");
        assert_eq!(Integ::from_id(13), Some(Integ::HmacSha384_192));
        assert_eq!(Integ::HmacSha512_256.icv_len(), 32);
        assert_eq!(Integ::HmacSha384_192.key_len(), 48);
        assert_eq!(Integ::from_id(2), None);
        assert_eq!(Integ::HmacSha256_128.name(), "sha256_128");
    }

    #[test]
    fn encr_parameters() {
        assert_eq!(Encr::from_transform(12, Some(128)), Some(Encr::AesCbc128));
        assert_eq!(
            Encr::from_transform(20, Some(256)),
            Some(Encr::AesGcm16_256)
        );
        assert_eq!(Encr::from_transform(12, None), None);
        assert_eq!(Encr::from_transform(12, Some(192)), None);
        assert_eq!(Encr::from_transform(18, Some(128)), None);
        let lens: Vec<usize> = Encr::ALL.iter().map(|e| e.key_len()).collect();
        assert_eq!(lens, [16, 32, 20, 36]);
        assert_eq!(Encr::AesGcm16_128.iv_len(), 8);
        assert_eq!(Encr::AesCbc256.iv_len(), 16);
        assert_eq!(Encr::AesGcm16_128.block_len(), 4);
        assert_eq!(Encr::AesCbc128.icv_len(), 0);
        assert_eq!(Encr::AesGcm16_256.icv_len(), 16);
        assert_eq!(Encr::from_name("aes256"), Some(Encr::AesCbc256));
        for e in Encr::ALL {
            assert_eq!(
                Encr::from_transform(e.transform_id(), Some(e.key_bits())),
                Some(e)
            );
            assert_eq!(Encr::from_name(e.name()), Some(e));
        }
    }
}
