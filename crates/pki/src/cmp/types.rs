//! ASN.1 types of CMP (RFC 4210 / RFC 9810, EXPLICIT tags) and CRMF
//! (RFC 4211, IMPLICIT tags), as far as the enrollment server needs them.
//!
//! The outer PKIMessage and the PKIBody CHOICE are assembled by hand in
//! [`super::message`] so that the exact received bytes of the header and body
//! (covered by the protection) and of each CertRequest (covered by the POP
//! signature) are kept.

use der::asn1::{Any, BitString, GeneralizedTime, Null, ObjectIdentifier, OctetString};
use der::{Choice, Sequence};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// id-PasswordBasedMac (RFC 4211 §4.4).
pub const OID_PASSWORD_BASED_MAC: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113533.7.66.13");
/// id-it-implicitConfirm (RFC 4210 §5.1.1.1).
pub const OID_IT_IMPLICIT_CONFIRM: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.4.13");
/// id-it-caCerts (RFC 9810 §5.3.19.2).
pub const OID_IT_CA_CERTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.4.17");

/// InfoTypeAndValue ::= SEQUENCE { infoType OID, infoValue ANY OPTIONAL }.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct InfoTypeAndValue {
    /// infoType.
    pub info_type: ObjectIdentifier,
    /// infoValue.
    #[asn1(optional = "true")]
    pub info_value: Option<Any>,
}

/// PKIHeader (RFC 4210 §5.1.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiHeader {
    /// pvno: 1 (cmp1999), 2 (cmp2000) or 3 (cmp2021).
    pub pvno: u8,
    /// sender.
    pub sender: GeneralName,
    /// recipient.
    pub recipient: GeneralName,
    /// messageTime [0].
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub message_time: Option<GeneralizedTime>,
    /// protectionAlg [1].
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub protection_alg: Option<AlgorithmIdentifierOwned>,
    /// senderKID [2] (the reference number with PBM).
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    pub sender_kid: Option<OctetString>,
    /// recipKID [3].
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub recip_kid: Option<OctetString>,
    /// transactionID [4].
    #[asn1(context_specific = "4", tag_mode = "EXPLICIT", optional = "true")]
    pub transaction_id: Option<OctetString>,
    /// senderNonce [5].
    #[asn1(context_specific = "5", tag_mode = "EXPLICIT", optional = "true")]
    pub sender_nonce: Option<OctetString>,
    /// recipNonce [6].
    #[asn1(context_specific = "6", tag_mode = "EXPLICIT", optional = "true")]
    pub recip_nonce: Option<OctetString>,
    /// freeText [7]: PKIFreeText (SEQUENCE OF UTF8String).
    #[asn1(context_specific = "7", tag_mode = "EXPLICIT", optional = "true")]
    pub free_text: Option<Vec<String>>,
    /// generalInfo [8].
    #[asn1(context_specific = "8", tag_mode = "EXPLICIT", optional = "true")]
    pub general_info: Option<Vec<InfoTypeAndValue>>,
}

/// PBMParameter (RFC 4211 §4.4).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PbmParameter {
    /// salt.
    pub salt: OctetString,
    /// owf: the one-way function (a hash).
    pub owf: AlgorithmIdentifierOwned,
    /// iterationCount.
    pub iteration_count: u32,
    /// mac: the MAC algorithm (an HMAC).
    pub mac: AlgorithmIdentifierOwned,
}

/// OptionalValidity (RFC 4211 §5; Time is a CHOICE, hence EXPLICIT).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct OptionalValidity {
    /// notBefore [0].
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub not_before: Option<x509_cert::time::Time>,
    /// notAfter [1].
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub not_after: Option<x509_cert::time::Time>,
}

/// CertTemplate (RFC 4211 §5, IMPLICIT tags; Name is a CHOICE, so its tag is explicit).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertTemplate {
    /// version [0].
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub version: Option<u8>,
    /// serialNumber [1].
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub serial_number: Option<der::asn1::Int>,
    /// signingAlg [2].
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    pub signing_alg: Option<AlgorithmIdentifierOwned>,
    /// issuer [3].
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub issuer: Option<Name>,
    /// validity [4].
    #[asn1(context_specific = "4", tag_mode = "IMPLICIT", optional = "true")]
    pub validity: Option<OptionalValidity>,
    /// subject [5] (ignored by this CA: the enrollment code decides).
    #[asn1(context_specific = "5", tag_mode = "EXPLICIT", optional = "true")]
    pub subject: Option<Name>,
    /// publicKey [6].
    #[asn1(context_specific = "6", tag_mode = "IMPLICIT", optional = "true")]
    pub public_key: Option<SubjectPublicKeyInfoOwned>,
    /// issuerUID [7].
    #[asn1(context_specific = "7", tag_mode = "IMPLICIT", optional = "true")]
    pub issuer_uid: Option<BitString>,
    /// subjectUID [8].
    #[asn1(context_specific = "8", tag_mode = "IMPLICIT", optional = "true")]
    pub subject_uid: Option<BitString>,
    /// extensions [9].
    #[asn1(context_specific = "9", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<x509_cert::ext::Extensions>,
}

/// CertRequest ::= SEQUENCE { certReqId, certTemplate, controls OPTIONAL }.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertRequest {
    /// certReqId.
    pub cert_req_id: der::asn1::Int,
    /// certTemplate.
    pub cert_template: CertTemplate,
    /// controls (SEQUENCE OF AttributeTypeAndValue), kept opaque.
    #[asn1(optional = "true")]
    pub controls: Option<Vec<Any>>,
}

/// POPOSigningKey (RFC 4211 §4.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PopoSigningKey {
    /// poposkInput [0]: only used when the template has no subject;
    /// kept opaque (this CA rejects it).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub poposk_input: Option<Vec<Any>>,
    /// algorithmIdentifier.
    pub algorithm_identifier: AlgorithmIdentifierOwned,
    /// signature.
    pub signature: BitString,
}

/// ProofOfPossession (RFC 4211 §4, IMPLICIT tags).
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
pub enum ProofOfPossession {
    /// raVerified [0] NULL.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    RaVerified(Null),
    /// signature [1] POPOSigningKey.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Signature(PopoSigningKey),
    /// keyEncipherment [2] POPOPrivKey (CHOICE, explicit), opaque.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    KeyEncipherment(Any),
    /// keyAgreement [3] POPOPrivKey, opaque.
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", constructed = "true")]
    KeyAgreement(Any),
}

/// PKIStatus values (RFC 4210 §5.2.3).
pub mod status {
    /// accepted.
    pub const ACCEPTED: u8 = 0;
    /// grantedWithMods.
    pub const GRANTED_WITH_MODS: u8 = 1;
    /// rejection.
    pub const REJECTION: u8 = 2;
}

/// PKIStatusInfo ::= SEQUENCE { status, statusString OPTIONAL, failInfo OPTIONAL }.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    /// status (see [`status`]).
    pub status: u8,
    /// statusString.
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    /// failInfo (PKIFailureInfo bits, see [`PkiFailureInfo`]).
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// PKIFailureInfo bit numbers (RFC 4210 §5.2.3).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum PkiFailureInfo {
    /// Unrecognized or unsupported algorithm.
    BadAlg = 0,
    /// Integrity check failed (e.g. wrong secret).
    BadMessageCheck = 1,
    /// Transaction not permitted or supported.
    BadRequest = 2,
    /// messageTime too far from system time.
    BadTime = 3,
    /// No certificate matches the criteria.
    BadCertId = 4,
    /// Data submitted has the wrong format.
    BadDataFormat = 5,
    /// Authority indicated in the request differs.
    WrongAuthority = 6,
    /// The data is incorrect.
    IncorrectData = 7,
    /// Timestamp missing.
    MissingTimeStamp = 8,
    /// Proof-of-possession failed.
    BadPop = 9,
    /// Certificate already revoked.
    CertRevoked = 10,
    /// Certificate already confirmed.
    CertConfirmed = 11,
    /// Wrong integrity (MAC vs signature).
    WrongIntegrity = 12,
    /// recipNonce mismatch.
    BadRecipientNonce = 13,
    /// Unknown senderNonce.
    BadSenderNonce = 18,
    /// Certificate template unacceptable.
    BadCertTemplate = 19,
    /// transactionID in use.
    TransactionIdInUse = 21,
    /// Unsupported pvno.
    UnsupportedVersion = 22,
    /// Not authorized (e.g. used or expired enrollment code).
    NotAuthorized = 23,
    /// System unavailable.
    SystemUnavail = 24,
    /// System failure.
    SystemFailure = 25,
}

impl PkiFailureInfo {
    /// The DER BIT STRING (named bits, trailing zero bits dropped) with this bit set.
    pub fn to_bit_string(self) -> Result<BitString, der::Error> {
        let bit = self as usize;
        let mut bytes = vec![0u8; bit / 8 + 1];
        if let Some(b) = bytes.get_mut(bit / 8) {
            *b = 0x80 >> (bit % 8);
        }
        let unused = (7 - (bit % 8)) as u8;
        BitString::new(unused, bytes)
    }
}

/// CertifiedKeyPair with certOrEncCert = certificate [0] (EXPLICIT).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertifiedKeyPair {
    /// certificate [0] CMPCertificate.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    pub certificate: Any,
}

/// CertResponse (RFC 4210 §5.3.4).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertResponse {
    /// certReqId.
    pub cert_req_id: der::asn1::Int,
    /// status.
    pub status: PkiStatusInfo,
    /// certifiedKeyPair.
    #[asn1(optional = "true")]
    pub certified_key_pair: Option<CertifiedKeyPair>,
}

/// CertRepMessage (ip/cp/kup).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertRepMessage {
    /// caPubs [1].
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub ca_pubs: Option<Vec<Any>>,
    /// response.
    pub response: Vec<CertResponse>,
}

/// CertStatus (element of CertConfirmContent).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertStatus {
    /// certHash.
    pub cert_hash: OctetString,
    /// certReqId.
    pub cert_req_id: der::asn1::Int,
    /// statusInfo.
    #[asn1(optional = "true")]
    pub status_info: Option<PkiStatusInfo>,
    /// hashAlg [0] (cmp2021).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub hash_alg: Option<AlgorithmIdentifierOwned>,
}

/// ErrorMsgContent (RFC 4210 §5.3.21).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ErrorMsgContent {
    /// pKIStatusInfo.
    pub pki_status_info: PkiStatusInfo,
    /// errorCode.
    #[asn1(optional = "true")]
    pub error_code: Option<u32>,
    /// errorDetails.
    #[asn1(optional = "true")]
    pub error_details: Option<Vec<String>>,
}

/// PKIBody tag numbers handled here.
pub mod body {
    /// ir.
    pub const IR: u8 = 0;
    /// ip.
    pub const IP: u8 = 1;
    /// cr.
    pub const CR: u8 = 2;
    /// cp.
    pub const CP: u8 = 3;
    /// p10cr.
    pub const P10CR: u8 = 4;
    /// pkiconf.
    pub const PKICONF: u8 = 19;
    /// genm.
    pub const GENM: u8 = 21;
    /// genp.
    pub const GENP: u8 = 22;
    /// error.
    pub const ERROR: u8 = 23;
    /// certConf.
    pub const CERT_CONF: u8 = 24;
}
