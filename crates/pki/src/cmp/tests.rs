//! Server behaviour on hand-built messages: refusals carry the PKIFailureInfo
//! bit RFC 4210 §5.2.3 assigns, and no input makes the server panic.

use std::path::PathBuf;

use der::asn1::{Any, BitString, Int, OctetString};
use der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::*;
use crate::asn1 as d;
use crate::{Ca, KeyType, PrivateKey};

const PW: &[u8] = b"test-ca-pw";

struct Tmp(PathBuf);
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn setup(tag: &str) -> (Tmp, CmpServer, EnrollCode) {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("neg-cmp-unit-{tag}-{}-{n}", std::process::id()));
    let ca = Ca::generate(
        "CN=Unit CA",
        KeyType::EcdsaP256,
        Duration::from_secs(86_400 * 100),
        now() as u64,
    )
    .unwrap();
    let cheap = negotiator_store::KdfParams {
        m_cost_kib: 1024,
        t_cost: 1,
        p_cost: 1,
    };
    ca.save_with_params(&dir, PW, cheap).unwrap();
    let code = create_enroll_code(&dir, &ca, "CN=unit-ee", &[], 3600, now()).unwrap();
    let server = CmpServer::new(&dir, PW).unwrap();
    (Tmp(dir), server, code)
}

fn pbm_alg(iter: u32) -> AlgorithmIdentifierOwned {
    let params = PbmParameter {
        salt: OctetString::new(b"unit-test-salt!!".to_vec()).unwrap(),
        owf: AlgorithmIdentifierOwned {
            oid: der::oid::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1"),
            parameters: None,
        },
        iteration_count: iter,
        mac: AlgorithmIdentifierOwned {
            oid: der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.2.9"),
            parameters: None,
        },
    };
    AlgorithmIdentifierOwned {
        oid: OID_PASSWORD_BASED_MAC,
        parameters: Some(Any::encode_from(&params).unwrap()),
    }
}

fn header(reference: &str, tid: &[u8], implicit: bool) -> PkiHeader {
    PkiHeader {
        pvno: 2,
        sender: GeneralName::DirectoryName(Name::default()),
        recipient: GeneralName::DirectoryName(Name::default()),
        message_time: None,
        protection_alg: Some(pbm_alg(500)),
        sender_kid: Some(OctetString::new(reference.as_bytes().to_vec()).unwrap()),
        recip_kid: None,
        transaction_id: Some(OctetString::new(tid.to_vec()).unwrap()),
        sender_nonce: Some(OctetString::new(b"0123456789abcdef".to_vec()).unwrap()),
        recip_nonce: None,
        free_text: None,
        general_info: implicit.then(|| {
            vec![InfoTypeAndValue {
                info_type: OID_IT_IMPLICIT_CONFIRM,
                info_value: Some(Any::null()),
            }]
        }),
    }
}

/// A PKIMessage with `body_content` under tag `body_type`, PBM-protected with `secret`.
fn message(h: &PkiHeader, body_type: u8, body_content: &[u8], secret: &[u8]) -> Vec<u8> {
    let hd = h.to_der().unwrap();
    let bd = d::cons(0xa0 | body_type, &[body_content]);
    let pbm = Pbm::from_alg_id(h.protection_alg.as_ref().unwrap()).unwrap();
    let mac = pbm.compute(secret, &d::seq(&[&hd, &bd]));
    d::seq(&[&hd, &bd, &d::cons(0xa0, &[&d::bit_string(&mac)])])
}

fn ir_body(key: &PrivateKey, tamper_pop: bool) -> Vec<u8> {
    let spki = key.public_key_spki_der();
    let req = CertRequest {
        cert_req_id: Int::new(&[0]).unwrap(),
        cert_template: CertTemplate {
            version: None,
            serial_number: None,
            signing_alg: None,
            issuer: None,
            validity: None,
            subject: Some(Name::default()),
            public_key: Some(SubjectPublicKeyInfoOwned::from_der(&spki).unwrap()),
            issuer_uid: None,
            subject_uid: None,
            extensions: None,
        },
        controls: None,
    };
    let req_der = req.to_der().unwrap();
    let (alg, mut sig) = crate::sig::sign_cert(key, &req_der).unwrap();
    if tamper_pop {
        let last = sig.len() - 1;
        sig[last] ^= 1;
    }
    let popo = PopoSigningKey {
        poposk_input: None,
        algorithm_identifier: AlgorithmIdentifierOwned::from_der(&alg).unwrap(),
        signature: BitString::from_bytes(&sig).unwrap(),
    };
    let pop = ProofOfPossession::Signature(popo).to_der().unwrap();
    d::seq(&[&d::seq(&[&req_der, &pop])])
}

struct Answer {
    body_type: u8,
    content: Vec<u8>,
    header: PkiHeader,
    protected: bool,
}

fn answer(server: &CmpServer, req: &[u8], secret: &[u8]) -> Answer {
    let raw = server.handle(req, now());
    let m = parse_message(&raw).expect("server answers are well-formed PKIMessages");
    let mut protected = false;
    if let Some(alg) = &m.header.protection_alg {
        let pbm = Pbm::from_alg_id(alg).unwrap();
        let pp = d::seq(&[m.header_raw, m.body_raw]);
        pbm.verify(secret, &pp, m.protection.as_deref().unwrap())
            .expect("answer MAC verifies with the code's secret");
        protected = true;
    }
    Answer {
        body_type: m.body_type,
        content: m.body_content.to_vec(),
        header: m.header.clone(),
        protected,
    }
}

fn fail_bit(a: &Answer) -> usize {
    assert_eq!(a.body_type, body::ERROR, "expected an error answer");
    let e = ErrorMsgContent::from_der(&a.content).unwrap();
    assert_eq!(e.pki_status_info.status, status::REJECTION);
    let bits = e.pki_status_info.fail_info.unwrap();
    let raw = bits.raw_bytes();
    let set: Vec<usize> = (0..raw.len() * 8)
        .filter(|i| raw[i / 8] & (0x80 >> (i % 8)) != 0)
        .collect();
    assert_eq!(set.len(), 1, "exactly one failure bit: {set:?}");
    set[0]
}

#[test]
fn failure_info_bit_strings() {
    // badPOP is bit 9: 0x00 0x40 with 6 unused bits (hand-computed named-bit DER).
    let b = PkiFailureInfo::BadPop.to_bit_string().unwrap();
    assert_eq!(b.to_der().unwrap(), [0x03, 0x03, 0x06, 0x00, 0x40]);
    let b = PkiFailureInfo::BadMessageCheck.to_bit_string().unwrap();
    assert_eq!(b.to_der().unwrap(), [0x03, 0x02, 0x06, 0x40]);
    let b = PkiFailureInfo::NotAuthorized.to_bit_string().unwrap();
    assert_eq!(b.to_der().unwrap(), [0x03, 0x04, 0x00, 0x00, 0x00, 0x01]);
}

#[test]
fn ir_then_cert_conf_then_reuse_refused() {
    let (_t, server, code) = setup("flow");
    let secret = code.secret.as_bytes();
    let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
    let h = header(&code.reference, b"tid-flow-0001", false);
    let a = answer(
        &server,
        &message(&h, body::IR, &ir_body(&key, false), secret),
        secret,
    );
    assert_eq!(a.body_type, body::IP);
    assert!(a.protected);
    assert_eq!(a.header.transaction_id, h.transaction_id);
    assert_eq!(a.header.recip_nonce, h.sender_nonce);
    let rep = CertRepMessage::from_der(&a.content).unwrap();
    assert_eq!(rep.response.len(), 1);
    assert_eq!(rep.response[0].status.status, status::ACCEPTED);
    let cert = rep.response[0]
        .certified_key_pair
        .as_ref()
        .unwrap()
        .certificate
        .to_der()
        .unwrap();
    let parsed = x509_cert::Certificate::from_der(&cert).unwrap();
    assert_eq!(
        parsed
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap(),
        key.public_key_spki_der()
    );

    // certConf with a wrong hash: badCertId; with the right one: pkiConf.
    let mut h2 = h.clone();
    h2.sender_nonce = Some(OctetString::new(b"second-nonce....".to_vec()).unwrap());
    h2.recip_nonce = a.header.sender_nonce.clone();
    let conf = |hash: &[u8]| {
        vec![CertStatus {
            cert_hash: OctetString::new(hash.to_vec()).unwrap(),
            cert_req_id: Int::new(&[0]).unwrap(),
            status_info: None,
            hash_alg: None,
        }]
        .to_der()
        .unwrap()
    };
    let a = answer(
        &server,
        &message(&h2, body::CERT_CONF, &conf(&[0u8; 32]), secret),
        secret,
    );
    assert_eq!(fail_bit(&a), PkiFailureInfo::BadCertId as usize);
    assert!(a.protected);
    let good = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &cert);
    let a = answer(
        &server,
        &message(&h2, body::CERT_CONF, &conf(good.as_ref()), secret),
        secret,
    );
    assert_eq!(a.body_type, body::PKICONF);
    assert_eq!(a.content, [0x05, 0x00]);
    // The transaction is closed now.
    let a = answer(
        &server,
        &message(&h2, body::CERT_CONF, &conf(good.as_ref()), secret),
        secret,
    );
    assert_eq!(fail_bit(&a), PkiFailureInfo::BadRequest as usize);

    // The certificate is recorded and not revoked.
    let ca = Ca::load(&_t.0, PW).unwrap();
    assert_eq!(ca.issued().len(), 1);
    assert!(ca.issued()[0].revoked.is_none());

    // Reusing the code: notAuthorized, protected (the requester proved the secret).
    let h3 = header(&code.reference, b"tid-flow-0002", false);
    let a = answer(
        &server,
        &message(&h3, body::IR, &ir_body(&key, false), secret),
        secret,
    );
    assert_eq!(fail_bit(&a), PkiFailureInfo::NotAuthorized as usize);
    assert!(a.protected);
}

#[test]
fn bad_pop_wrong_secret_unknown_reference() {
    let (t, server, code) = setup("refusals");
    let secret = code.secret.as_bytes();
    let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
    let h = header(&code.reference, b"tid-refusal-1", true);

    let a = answer(
        &server,
        &message(&h, body::IR, &ir_body(&key, true), secret),
        secret,
    );
    assert_eq!(fail_bit(&a), PkiFailureInfo::BadPop as usize);

    let a = answer(
        &server,
        &message(&h, body::IR, &ir_body(&key, false), b"wrong"),
        secret,
    );
    assert_eq!(fail_bit(&a), PkiFailureInfo::BadMessageCheck as usize);
    assert!(!a.protected);

    let hu = header("0000000000x", b"tid-refusal-2", true);
    let a = answer(
        &server,
        &message(&hu, body::IR, &ir_body(&key, false), secret),
        secret,
    );
    assert_eq!(fail_bit(&a), PkiFailureInfo::BadMessageCheck as usize);

    // An empty p10cr is malformed: badDataFormat.
    let a = answer(
        &server,
        &message(&h, body::P10CR, &d::seq(&[]), secret),
        secret,
    );
    assert_eq!(fail_bit(&a), PkiFailureInfo::BadDataFormat as usize);
    // rr (body type 11) is not supported in this slice: badRequest.
    let a = answer(&server, &message(&h, 11, &d::seq(&[]), secret), secret);
    assert_eq!(fail_bit(&a), PkiFailureInfo::BadRequest as usize);

    // An iteration count over the budget is refused before any hashing: badDataFormat.
    let mut hb = h.clone();
    hb.protection_alg = Some(pbm_alg(pbm::MAX_ITERATIONS + 1));
    let hd = hb.to_der().unwrap();
    let bd = d::cons(0xa0, &[&ir_body(&key, false)]);
    let msg = d::seq(&[&hd, &bd, &d::cons(0xa0, &[&d::bit_string(&[0u8; 32])])]);
    let a = answer(&server, &msg, secret);
    assert_eq!(fail_bit(&a), PkiFailureInfo::BadDataFormat as usize);

    // None of this burnt the code or issued anything.
    let codes = list_enroll_codes(&t.0).unwrap();
    assert!(codes[0].used.is_none());
    assert!(Ca::load(&t.0, PW).unwrap().issued().is_empty());

    // With implicitConfirm the ip says so and no certConf is needed.
    let a = answer(
        &server,
        &message(&h, body::IR, &ir_body(&key, false), secret),
        secret,
    );
    assert_eq!(a.body_type, body::IP);
    let gi = a.header.general_info.unwrap();
    assert!(gi.iter().any(|i| i.info_type == OID_IT_IMPLICIT_CONFIRM));
    assert_eq!(Ca::load(&t.0, PW).unwrap().issued().len(), 1);
}

#[test]
fn malformed_input_never_panics() {
    let (_t, server, code) = setup("fuzz");
    let secret = code.secret.as_bytes();
    let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
    let h = header(&code.reference, b"tid-fuzz-0001", true);
    let good = message(&h, body::IR, &ir_body(&key, false), secret);
    let check = |m: &[u8]| {
        let raw = server.handle(m, now());
        assert!(parse_message(&raw).is_ok());
    };
    check(&[]);
    check(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]);
    check(&vec![0u8; MAX_MESSAGE + 1]);
    // Every truncation, and a flipped bit at every position (with implicitConfirm
    // and the MAC unchanged, none of these may issue a certificate).
    for i in 0..good.len() {
        check(&good[..i]);
        let mut m = good.clone();
        m[i] ^= 0x01;
        let raw = server.handle(&m, now());
        let p = parse_message(&raw).unwrap();
        assert_eq!(p.body_type, body::ERROR, "flip at {i} accepted");
    }
}

#[test]
fn rejected_in_cert_conf_is_revoked() {
    let (t, server, code) = setup("reject");
    let secret = code.secret.as_bytes();
    let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
    let h = header(&code.reference, b"tid-reject-01", false);
    let a = answer(
        &server,
        &message(&h, body::IR, &ir_body(&key, false), secret),
        secret,
    );
    assert_eq!(a.body_type, body::IP);
    let rep = CertRepMessage::from_der(&a.content).unwrap();
    let cert = rep.response[0]
        .certified_key_pair
        .as_ref()
        .unwrap()
        .certificate
        .to_der()
        .unwrap();
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &cert);
    let conf = vec![CertStatus {
        cert_hash: OctetString::new(hash.as_ref().to_vec()).unwrap(),
        cert_req_id: Int::new(&[0]).unwrap(),
        status_info: Some(PkiStatusInfo {
            status: status::REJECTION,
            status_string: None,
            fail_info: None,
        }),
        hash_alg: None,
    }]
    .to_der()
    .unwrap();
    let a = answer(
        &server,
        &message(&h, body::CERT_CONF, &conf, secret),
        secret,
    );
    assert_eq!(a.body_type, body::PKICONF);
    let ca = Ca::load(&t.0, PW).unwrap();
    assert_eq!(ca.issued().len(), 1);
    assert!(
        ca.issued()[0].revoked.is_some(),
        "rejected certificate not revoked"
    );
}

#[test]
fn http_transport_status_codes() {
    use std::io::{Read, Write};
    let (_t, server, _code) = setup("http");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || http::serve(listener, std::sync::Arc::new(server)));
    let exchange = |req: &[u8]| {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(req).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        out
    };
    let starts = |r: &[u8], p: &str| String::from_utf8_lossy(r).starts_with(p);
    let r = exchange(
        b"POST /other HTTP/1.1\r\nContent-Type: application/pkixcmp\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(starts(&r, "HTTP/1.1 404"));
    let r = exchange(b"POST /pkix/ HTTP/1.1\r\nContent-Type: application/pkixcmp\r\nContent-Length: 999999999\r\n\r\n");
    assert!(starts(&r, "HTTP/1.1 413"));
    // A garbage body gets a well-formed CMP error (badDataFormat) over HTTP 200.
    let r = exchange(b"POST /pkix/ HTTP/1.1\r\nContent-Type: application/pkixcmp\r\nContent-Length: 3\r\n\r\nabc");
    assert!(starts(&r, "HTTP/1.1 200"));
    let text = String::from_utf8_lossy(&r);
    assert!(text.contains("Content-Type: application/pkixcmp"));
    let body_at = r.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let m = parse_message(&r[body_at..]).unwrap();
    assert_eq!(m.body_type, body::ERROR);
    let e = ErrorMsgContent::from_der(m.body_content).unwrap();
    let bits = e.pki_status_info.fail_info.unwrap();
    assert_eq!(bits.raw_bytes(), [0x04]); // bit 5 = badDataFormat
}

#[test]
fn unconfirmed_certificate_is_revoked_after_timeout() {
    let (t, server, code) = setup("timeout");
    let secret = code.secret.as_bytes();
    let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
    let h = header(&code.reference, b"tid-timeout-1", false);
    let t0 = now();
    let raw = server.handle(&message(&h, body::IR, &ir_body(&key, false), secret), t0);
    assert_eq!(parse_message(&raw).unwrap().body_type, body::IP);
    // A late certConf (after PENDING_TIMEOUT_SECS) finds no transaction, and the
    // unconfirmed certificate has been revoked.
    let conf = Vec::<CertStatus>::new().to_der().unwrap();
    let late = t0 + PENDING_TIMEOUT_SECS + 1;
    let raw = server.handle(&message(&h, body::CERT_CONF, &conf, secret), late);
    let m = parse_message(&raw).unwrap();
    assert_eq!(m.body_type, body::ERROR);
    let ca = Ca::load(&t.0, PW).unwrap();
    assert!(ca.issued()[0].revoked.is_some());
}
