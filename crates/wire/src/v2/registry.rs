//! IANA registries used by IKEv2, as open newtypes.
//!
//! Each registry is a transparent wrapper around its wire integer. Associated
//! constants name the assigned values, but any value can be held, so unknown
//! numbers survive parsing and encoding unchanged. `Debug` and `Display` print
//! the registered name when there is one and `Type(number)` otherwise.

use core::fmt;

macro_rules! registry {
    (
        $(#[$meta:meta])*
        $name:ident($repr:ty) {
            $( $(#[$cmeta:meta])* $cname:ident = $value:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub $repr);

        impl $name {
            $(
                $(#[$cmeta])*
                #[doc = concat!("`", stringify!($cname), "` = ", stringify!($value), ".")]
                pub const $cname: Self = Self($value);
            )*

            /// The registered name of this value, or `None` when this codec
            /// does not know it.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some(stringify!($cname)), )*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, concat!(stringify!($name), "({})"), self.0),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> Self {
                Self(v)
            }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> $repr {
                v.0
            }
        }
    };
}

registry! {
    /// IKEv2 Exchange Type (RFC 7296 section 3.1).
    ExchangeType(u8) {
        IKE_SA_INIT = 34;
        IKE_AUTH = 35;
        CREATE_CHILD_SA = 36;
        INFORMATIONAL = 37;
        /// RFC 5723.
        IKE_SESSION_RESUME = 38;
        /// RFC 9242.
        IKE_INTERMEDIATE = 43;
        /// RFC 9370.
        IKE_FOLLOWUP_KE = 44;
    }
}

registry! {
    /// IKEv2 Payload Type (RFC 7296 section 3.2, RFC 7383).
    ///
    /// Exactly the named values are parsed into typed bodies; every other
    /// value is kept as [`PayloadBody::Unknown`](super::PayloadBody::Unknown).
    PayloadType(u8) {
        /// No next payload (end of chain).
        NONE = 0;
        SA = 33;
        KE = 34;
        IDI = 35;
        IDR = 36;
        CERT = 37;
        CERTREQ = 38;
        AUTH = 39;
        NONCE = 40;
        NOTIFY = 41;
        DELETE = 42;
        VENDOR_ID = 43;
        TSI = 44;
        TSR = 45;
        /// Encrypted and Authenticated.
        SK = 46;
        CP = 47;
        EAP = 48;
        /// Encrypted and Authenticated Fragment (RFC 7383).
        SKF = 53;
    }
}

registry! {
    /// Security Protocol Identifier (RFC 7296 section 3.3.1).
    ProtocolId(u8) {
        /// No protocol (Notify payloads without SPI).
        NONE = 0;
        IKE = 1;
        AH = 2;
        ESP = 3;
    }
}

registry! {
    /// Transform Type (RFC 7296 section 3.3.2).
    TransformType(u8) {
        /// Encryption algorithm.
        ENCR = 1;
        /// Pseudorandom function.
        PRF = 2;
        /// Integrity algorithm.
        INTEG = 3;
        /// Key exchange method (called D-H group in RFC 7296).
        KE = 4;
        /// Extended sequence numbers.
        ESN = 5;
        /// RFC 9370 additional key exchanges.
        ADDKE1 = 6;
        /// RFC 9370.
        ADDKE2 = 7;
        /// RFC 9370.
        ADDKE3 = 8;
        /// RFC 9370.
        ADDKE4 = 9;
        /// RFC 9370.
        ADDKE5 = 10;
        /// RFC 9370.
        ADDKE6 = 11;
        /// RFC 9370.
        ADDKE7 = 12;
    }
}

impl TransformType {
    /// Alias of [`TransformType::KE`] (the RFC 7296 name).
    pub const DH: Self = Self(4);
}

registry! {
    /// Notify Message Type (RFC 7296 section 3.10.1 and later RFCs).
    NotifyType(u16) {
        UNSUPPORTED_CRITICAL_PAYLOAD = 1;
        INVALID_IKE_SPI = 4;
        INVALID_MAJOR_VERSION = 5;
        INVALID_SYNTAX = 7;
        INVALID_MESSAGE_ID = 9;
        INVALID_SPI = 11;
        NO_PROPOSAL_CHOSEN = 14;
        INVALID_KE_PAYLOAD = 17;
        AUTHENTICATION_FAILED = 24;
        SINGLE_PAIR_REQUIRED = 34;
        NO_ADDITIONAL_SAS = 35;
        INTERNAL_ADDRESS_FAILURE = 36;
        FAILED_CP_REQUIRED = 37;
        TS_UNACCEPTABLE = 38;
        INVALID_SELECTORS = 39;
        /// RFC 5685.
        UNACCEPTABLE_ADDRESSES = 40;
        /// RFC 5685.
        UNEXPECTED_NAT_DETECTED = 41;
        /// RFC 6311.
        USE_ASSIGNED_HOA = 42;
        TEMPORARY_FAILURE = 43;
        CHILD_SA_NOT_FOUND = 44;
        /// RFC 9370.
        STATE_NOT_FOUND = 47;
        INITIAL_CONTACT = 16384;
        SET_WINDOW_SIZE = 16385;
        ADDITIONAL_TS_POSSIBLE = 16386;
        IPCOMP_SUPPORTED = 16387;
        NAT_DETECTION_SOURCE_IP = 16388;
        NAT_DETECTION_DESTINATION_IP = 16389;
        COOKIE = 16390;
        USE_TRANSPORT_MODE = 16391;
        HTTP_CERT_LOOKUP_SUPPORTED = 16392;
        REKEY_SA = 16393;
        ESP_TFC_PADDING_NOT_SUPPORTED = 16394;
        NON_FIRST_FRAGMENTS_ALSO = 16395;
        /// RFC 4555.
        MOBIKE_SUPPORTED = 16396;
        /// RFC 4555.
        ADDITIONAL_IP4_ADDRESS = 16397;
        /// RFC 4555.
        ADDITIONAL_IP6_ADDRESS = 16398;
        /// RFC 4555.
        NO_ADDITIONAL_ADDRESSES = 16399;
        /// RFC 4555.
        UPDATE_SA_ADDRESSES = 16400;
        /// RFC 4555.
        COOKIE2 = 16401;
        /// RFC 4555.
        NO_NATS_ALLOWED = 16402;
        /// RFC 4739.
        MULTIPLE_AUTH_SUPPORTED = 16404;
        /// RFC 4739.
        ANOTHER_AUTH_FOLLOWS = 16405;
        /// RFC 5685.
        REDIRECT_SUPPORTED = 16406;
        /// RFC 5685.
        REDIRECT = 16407;
        /// RFC 5685.
        REDIRECTED_FROM = 16408;
        /// RFC 6023.
        CHILDLESS_IKEV2_SUPPORTED = 16418;
        /// RFC 7383.
        IKEV2_FRAGMENTATION_SUPPORTED = 16430;
        /// RFC 7427.
        SIGNATURE_HASH_ALGORITHMS = 16431;
        /// RFC 8784.
        USE_PPK = 16435;
        /// RFC 8784.
        PPK_IDENTITY = 16436;
        /// RFC 8784.
        NO_PPK_AUTH = 16437;
        /// RFC 9242.
        INTERMEDIATE_EXCHANGE_SUPPORTED = 16438;
        /// RFC 9370.
        ADDITIONAL_KEY_EXCHANGE = 16441;
    }
}

impl NotifyType {
    /// True for error types (values below 16384, RFC 7296 section 3.10.1).
    pub fn is_error(self) -> bool {
        self.0 < 16384
    }
}

registry! {
    /// Identification Type (RFC 7296 section 3.5).
    IdType(u8) {
        IPV4_ADDR = 1;
        FQDN = 2;
        RFC822_ADDR = 3;
        IPV6_ADDR = 5;
        DER_ASN1_DN = 9;
        DER_ASN1_GN = 10;
        KEY_ID = 11;
        /// RFC 4595.
        FC_NAME = 12;
        /// RFC 7619.
        NULL = 13;
    }
}

registry! {
    /// Certificate Encoding (RFC 7296 section 3.6).
    CertEncoding(u8) {
        PKCS7_X509 = 1;
        PGP = 2;
        DNS_SIGNED_KEY = 3;
        X509_SIGNATURE = 4;
        KERBEROS_TOKEN = 6;
        CRL = 7;
        ARL = 8;
        SPKI = 9;
        X509_ATTRIBUTE = 10;
        RAW_RSA_KEY = 11;
        HASH_AND_URL_X509 = 12;
        HASH_AND_URL_BUNDLE = 13;
        /// RFC 7670.
        RAW_PUBLIC_KEY = 15;
    }
}

registry! {
    /// Authentication Method (RFC 7296 section 3.8 and later RFCs).
    AuthMethod(u8) {
        RSA_SIG = 1;
        SHARED_KEY_MIC = 2;
        DSS_SIG = 3;
        /// RFC 4754.
        ECDSA_SHA256_P256 = 9;
        /// RFC 4754.
        ECDSA_SHA384_P384 = 10;
        /// RFC 4754.
        ECDSA_SHA512_P521 = 11;
        /// RFC 6467.
        GENERIC_SECURE_PASSWORD = 12;
        /// RFC 7619.
        NULL_AUTH = 13;
        /// RFC 7427.
        DIGITAL_SIGNATURE = 14;
    }
}

registry! {
    /// Traffic Selector Type (RFC 7296 section 3.13.1).
    TsType(u8) {
        IPV4_ADDR_RANGE = 7;
        IPV6_ADDR_RANGE = 8;
    }
}

registry! {
    /// Transform IDs of transform type 1, encryption (RFC 7296 section 3.3.2, IANA).
    EncrId(u16) {
        DES_IV64 = 1;
        DES = 2;
        TRIPLE_DES = 3;
        RC5 = 4;
        IDEA = 5;
        CAST = 6;
        BLOWFISH = 7;
        TRIPLE_IDEA = 8;
        DES_IV32 = 9;
        NULL = 11;
        AES_CBC = 12;
        AES_CTR = 13;
        AES_CCM_8 = 14;
        AES_CCM_12 = 15;
        AES_CCM_16 = 16;
        AES_GCM_8 = 18;
        AES_GCM_12 = 19;
        AES_GCM_16 = 20;
        NULL_AUTH_AES_GMAC = 21;
        CAMELLIA_CBC = 23;
        CAMELLIA_CTR = 24;
        CAMELLIA_CCM_8 = 25;
        CAMELLIA_CCM_12 = 26;
        CAMELLIA_CCM_16 = 27;
        CHACHA20_POLY1305 = 28;
    }
}

registry! {
    /// Transform IDs of transform type 2, pseudorandom function.
    PrfId(u16) {
        HMAC_MD5 = 1;
        HMAC_SHA1 = 2;
        HMAC_TIGER = 3;
        AES128_XCBC = 4;
        HMAC_SHA2_256 = 5;
        HMAC_SHA2_384 = 6;
        HMAC_SHA2_512 = 7;
        AES128_CMAC = 8;
    }
}

registry! {
    /// Transform IDs of transform type 3, integrity.
    IntegId(u16) {
        NONE = 0;
        HMAC_MD5_96 = 1;
        HMAC_SHA1_96 = 2;
        DES_MAC = 3;
        KPDK_MD5 = 4;
        AES_XCBC_96 = 5;
        HMAC_MD5_128 = 6;
        HMAC_SHA1_160 = 7;
        AES_CMAC_96 = 8;
        AES_128_GMAC = 9;
        AES_192_GMAC = 10;
        AES_256_GMAC = 11;
        HMAC_SHA2_256_128 = 12;
        HMAC_SHA2_384_192 = 13;
        HMAC_SHA2_512_256 = 14;
    }
}

registry! {
    /// Transform IDs of transform type 4, key exchange method (D-H group).
    KeId(u16) {
        NONE = 0;
        MODP_768 = 1;
        MODP_1024 = 2;
        MODP_1536 = 5;
        MODP_2048 = 14;
        MODP_3072 = 15;
        MODP_4096 = 16;
        MODP_6144 = 17;
        MODP_8192 = 18;
        ECP_256 = 19;
        ECP_384 = 20;
        ECP_521 = 21;
        MODP_1024_160 = 22;
        MODP_2048_224 = 23;
        MODP_2048_256 = 24;
        ECP_192 = 25;
        ECP_224 = 26;
        BRAINPOOL_P224 = 27;
        BRAINPOOL_P256 = 28;
        BRAINPOOL_P384 = 29;
        BRAINPOOL_P512 = 30;
        CURVE25519 = 31;
        CURVE448 = 32;
        ML_KEM_512 = 35;
        ML_KEM_768 = 36;
        ML_KEM_1024 = 37;
    }
}

registry! {
    /// Transform IDs of transform type 5, extended sequence numbers.
    EsnId(u16) {
        NO_ESN = 0;
        ESN = 1;
    }
}

/// IKE header flags octet (RFC 7296 section 3.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// No flag set.
    pub const EMPTY: Self = Self(0);
    /// I: set by the original initiator of the IKE SA.
    pub const INITIATOR: Self = Self(0x08);
    /// V: higher major version supported (never set by this implementation).
    pub const VERSION: Self = Self(0x10);
    /// R: this message is a response.
    pub const RESPONSE: Self = Self(0x20);

    /// True when every bit of `other` is set in `self`.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when the R bit is set.
    pub fn is_response(self) -> bool {
        self.contains(Self::RESPONSE)
    }

    /// True when the I bit is set.
    pub fn is_initiator(self) -> bool {
        self.contains(Self::INITIATOR)
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl core::ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({:#04x}", self.0)?;
        if self.is_initiator() {
            f.write_str(" I")?;
        }
        if self.contains(Self::VERSION) {
            f.write_str(" V")?;
        }
        if self.is_response() {
            f.write_str(" R")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_unknown_values() {
        assert_eq!(PayloadType::SA.0, 33);
        assert_eq!(PayloadType::SKF.0, 53);
        assert_eq!(format!("{:?}", PayloadType(33)), "SA");
        assert_eq!(format!("{:?}", PayloadType(100)), "PayloadType(100)");
        assert_eq!(PayloadType(100).name(), None);
        assert_eq!(NotifyType(16390).name(), Some("COOKIE"));
        assert_eq!(TransformType::DH, TransformType::KE);
        assert_eq!(format!("{}", KeId(19)), "ECP_256");
    }

    #[test]
    fn notify_error_boundary() {
        assert!(NotifyType(16383).is_error());
        assert!(NotifyType::INVALID_SYNTAX.is_error());
        assert!(!NotifyType(16384).is_error());
        assert!(!NotifyType::COOKIE.is_error());
    }

    #[test]
    fn flags() {
        let f = Flags::INITIATOR | Flags::RESPONSE;
        assert_eq!(f.0, 0x28);
        assert!(f.is_initiator() && f.is_response());
        assert!(!Flags(0x08).is_response());
        assert!(!Flags(0x20).is_initiator());
        assert_eq!(format!("{f:?}"), "Flags(0x28 I R)");
    }
}
