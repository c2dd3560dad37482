//! Password-based MAC (RFC 4211 §4.4) for CMP message protection.

use aws_lc_rs::{digest, hmac};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use x509_cert::spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::types::{OID_PASSWORD_BASED_MAC, PbmParameter};

/// Largest accepted iterationCount: bounds the work an unauthenticated
/// request can cause.
pub const MAX_ITERATIONS: u32 = 100_000;
/// Smallest accepted iterationCount (RFC 4211: at least 100).
pub const MIN_ITERATIONS: u32 = 100;
/// Largest accepted salt.
pub const MAX_SALT: usize = 128;
/// Iterations used when nothing else is known.
pub const DEFAULT_ITERATIONS: u32 = 10_000;

const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const OID_HMAC_SHA1_IANA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.8.1.2");
const OID_HMAC_WITH_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.7");
const OID_HMAC_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.9");
const OID_HMAC_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.10");
const OID_HMAC_WITH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.11");

/// Why a PBM protection was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PbmError {
    /// Not id-PasswordBasedMac, or an unsupported OWF/MAC (PKIFailureInfo badAlg).
    UnsupportedAlgorithm(String),
    /// Malformed parameters or out-of-budget salt/iterations (badDataFormat / badAlg).
    BadParameters(String),
    /// The MAC does not match (badMessageCheck).
    Mismatch,
}

impl std::fmt::Display for PbmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PbmError::UnsupportedAlgorithm(s) => write!(f, "unsupported PBM algorithm: {s}"),
            PbmError::BadParameters(s) => write!(f, "bad PBM parameters: {s}"),
            PbmError::Mismatch => write!(f, "PBM value does not match (wrong secret?)"),
        }
    }
}

fn owf(oid: &ObjectIdentifier) -> Option<&'static digest::Algorithm> {
    match *oid {
        OID_SHA1 => Some(&digest::SHA1_FOR_LEGACY_USE_ONLY),
        OID_SHA256 => Some(&digest::SHA256),
        OID_SHA384 => Some(&digest::SHA384),
        OID_SHA512 => Some(&digest::SHA512),
        _ => None,
    }
}

fn mac(oid: &ObjectIdentifier) -> Option<hmac::Algorithm> {
    match *oid {
        OID_HMAC_SHA1_IANA | OID_HMAC_WITH_SHA1 => Some(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
        OID_HMAC_WITH_SHA256 => Some(hmac::HMAC_SHA256),
        OID_HMAC_WITH_SHA384 => Some(hmac::HMAC_SHA384),
        OID_HMAC_WITH_SHA512 => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

/// Parsed and budget-checked PBM parameters.
#[derive(Debug, Clone)]
pub struct Pbm {
    params: PbmParameter,
    owf: &'static digest::Algorithm,
    mac: hmac::Algorithm,
}

impl Pbm {
    /// Checks a protectionAlg AlgorithmIdentifier.
    pub fn from_alg_id(alg: &AlgorithmIdentifierOwned) -> Result<Pbm, PbmError> {
        if alg.oid != OID_PASSWORD_BASED_MAC {
            return Err(PbmError::UnsupportedAlgorithm(format!(
                "protection algorithm {} (only PBM {} is accepted)",
                alg.oid, OID_PASSWORD_BASED_MAC
            )));
        }
        let params = alg
            .parameters
            .as_ref()
            .ok_or_else(|| PbmError::BadParameters("missing PBMParameter".into()))?;
        let der = params
            .to_der()
            .map_err(|e| PbmError::BadParameters(e.to_string()))?;
        let params =
            PbmParameter::from_der(&der).map_err(|e| PbmError::BadParameters(e.to_string()))?;
        Self::from_params(params)
    }

    fn from_params(params: PbmParameter) -> Result<Pbm, PbmError> {
        let owf = owf(&params.owf.oid)
            .ok_or_else(|| PbmError::UnsupportedAlgorithm(format!("OWF {}", params.owf.oid)))?;
        let mac = mac(&params.mac.oid)
            .ok_or_else(|| PbmError::UnsupportedAlgorithm(format!("MAC {}", params.mac.oid)))?;
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&params.iteration_count) {
            return Err(PbmError::BadParameters(format!(
                "iterationCount {} outside {MIN_ITERATIONS}..={MAX_ITERATIONS}",
                params.iteration_count
            )));
        }
        let salt_len = params.salt.as_bytes().len();
        if salt_len == 0 || salt_len > MAX_SALT {
            return Err(PbmError::BadParameters(format!(
                "salt of {salt_len} octets (1..={MAX_SALT} accepted)"
            )));
        }
        Ok(Pbm { params, owf, mac })
    }

    /// The same OWF, MAC and iteration count as `self` with a fresh random salt
    /// (used to protect the answer to a request).
    pub fn fresh_like(&self) -> Result<Pbm, PbmError> {
        let mut salt = [0u8; 16];
        aws_lc_rs::rand::fill(&mut salt)
            .map_err(|_| PbmError::BadParameters("random source failed".into()))?;
        let params = PbmParameter {
            salt: OctetString::new(salt.to_vec())
                .map_err(|e| PbmError::BadParameters(e.to_string()))?,
            ..self.params.clone()
        };
        Self::from_params(params)
    }

    /// The protectionAlg AlgorithmIdentifier for these parameters.
    pub fn alg_id(&self) -> Result<AlgorithmIdentifierOwned, der::Error> {
        Ok(AlgorithmIdentifierOwned {
            oid: OID_PASSWORD_BASED_MAC,
            parameters: Some(der::asn1::Any::encode_from(&self.params)?),
        })
    }

    fn key(&self, secret: &[u8]) -> Zeroizing<Vec<u8>> {
        let mut ctx = digest::Context::new(self.owf);
        ctx.update(secret);
        ctx.update(self.params.salt.as_bytes());
        let mut k = Zeroizing::new(ctx.finish().as_ref().to_vec());
        for _ in 1..self.params.iteration_count {
            let next = digest::digest(self.owf, &k);
            k.copy_from_slice(next.as_ref());
        }
        k
    }

    /// The MAC over `protected_part` (DER of SEQUENCE { header, body }).
    pub fn compute(&self, secret: &[u8], protected_part: &[u8]) -> Vec<u8> {
        let key = self.key(secret);
        let k = hmac::Key::new(self.mac, &key);
        hmac::sign(&k, protected_part).as_ref().to_vec()
    }

    /// Verifies `value` in constant time.
    pub fn verify(
        &self,
        secret: &[u8],
        protected_part: &[u8],
        value: &[u8],
    ) -> Result<(), PbmError> {
        let key = self.key(secret);
        let k = hmac::Key::new(self.mac, &key);
        hmac::verify(&k, protected_part, value).map_err(|_| PbmError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alg(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }

    fn pbm(salt: &[u8], iter: u32, owf: ObjectIdentifier, mac: ObjectIdentifier) -> Pbm {
        Pbm::from_params(PbmParameter {
            salt: OctetString::new(salt.to_vec()).unwrap(),
            owf: alg(owf),
            iteration_count: iter,
            mac: alg(mac),
        })
        .unwrap()
    }

    // Expected values computed independently with python3:
    // k = sha256(b"1234-5678" + salt); repeat iter-1 times k = sha256(k);
    // hmac.new(k, b"protected", sha256 / sha1).hexdigest()
    #[test]
    fn pbm_matches_python_sha256() {
        let p = pbm(b"0123456789abcdef", 500, OID_SHA256, OID_HMAC_WITH_SHA256);
        let v = p.compute(b"1234-5678", b"protected");
        assert_eq!(hex(&v), PY_SHA256);
        assert!(p.verify(b"1234-5678", b"protected", &v).is_ok());
        assert_eq!(
            p.verify(b"1234-5679", b"protected", &v),
            Err(PbmError::Mismatch)
        );
    }

    #[test]
    fn pbm_matches_python_sha1_mac() {
        let p = pbm(b"0123456789abcdef", 500, OID_SHA256, OID_HMAC_SHA1_IANA);
        assert_eq!(hex(&p.compute(b"1234-5678", b"protected")), PY_SHA1);
    }

    #[test]
    fn budget_enforced() {
        let mk = |iter, salt: &[u8]| {
            Pbm::from_params(PbmParameter {
                salt: OctetString::new(salt.to_vec()).unwrap(),
                owf: alg(OID_SHA256),
                iteration_count: iter,
                mac: alg(OID_HMAC_WITH_SHA256),
            })
        };
        assert!(matches!(
            mk(MAX_ITERATIONS + 1, b"s"),
            Err(PbmError::BadParameters(_))
        ));
        assert!(matches!(mk(99, b"s"), Err(PbmError::BadParameters(_))));
        assert!(matches!(mk(500, b""), Err(PbmError::BadParameters(_))));
        assert!(matches!(
            mk(500, &[0u8; 129]),
            Err(PbmError::BadParameters(_))
        ));
        let bad = Pbm::from_params(PbmParameter {
            salt: OctetString::new(b"s".to_vec()).unwrap(),
            owf: alg(ObjectIdentifier::new_unwrap("1.2.840.113549.2.5")),
            iteration_count: 500,
            mac: alg(OID_HMAC_WITH_SHA256),
        });
        assert!(matches!(bad, Err(PbmError::UnsupportedAlgorithm(_))));
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    const PY_SHA256: &str = "57c684e887251f9d4f1fbf1a5f4d1ec9af30e9bb21f9345af821dc4ad0d2851c";
    const PY_SHA1: &str = "08cd07dc7da03b7014158728d7b2a5d465890f60";
}
