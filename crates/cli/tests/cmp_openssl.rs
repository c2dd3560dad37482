//! CMP enrollment with a reference number and authorization code, driven by
//! OpenSSL's `openssl cmp` client (an independent implementation) against
//! the server of `negotiator ca serve` running in-process.

#![allow(clippy::unwrap_used)]

#[path = "../src/cmp_cmd.rs"]
#[allow(dead_code)]
mod cmp_cmd;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use negotiator_pki::{Ca, KeyType};
use negotiator_store::KdfParams;

const CA_PW: &str = "ca-password-for-tests";

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!(
            "negotiator-cmp-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A CA directory with a cheap KDF and a password file.
fn make_ca(t: &TempDir) -> (PathBuf, PathBuf) {
    let dir = t.path("ca");
    let ca = Ca::generate(
        "CN=CMP Test CA, O=Negotiator",
        KeyType::EcdsaP256,
        Duration::from_secs(3650 * 86_400),
        now(),
    )
    .unwrap();
    let cheap = KdfParams {
        m_cost_kib: 1024,
        t_cost: 1,
        p_cost: 1,
    };
    ca.save_with_params(&dir, CA_PW.as_bytes(), cheap).unwrap();
    let pwf = t.path("ca.pw");
    std::fs::write(&pwf, format!("{CA_PW}\n")).unwrap();
    (dir, pwf)
}

fn start_server(dir: &Path, pwf: &Path) -> u16 {
    let args = cmp_cmd::ServeArgs {
        dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".into(),
        password_file: Some(pwf.to_path_buf()),
        days: 30,
    };
    let (listener, server) = cmp_cmd::bind(&args).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || negotiator_pki::cmp::http::serve(listener, server));
    port
}

fn enroll_code(
    dir: &Path,
    pwf: &Path,
    subject: &str,
    sans: &[&str],
    valid: &str,
) -> (String, String, String) {
    let out = cmp_cmd::enroll_code_output(&cmp_cmd::EnrollCodeArgs {
        dir: dir.to_path_buf(),
        subject: subject.into(),
        sans: sans.iter().map(|s| s.to_string()).collect(),
        valid_for: valid.into(),
        json: true,
        password_file: Some(pwf.to_path_buf()),
    })
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    (
        v["reference"].as_str().unwrap().to_string(),
        v["secret"].as_str().unwrap().to_string(),
        v["expires"].as_str().unwrap().to_string(),
    )
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl must be installed")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[allow(clippy::too_many_arguments)]
fn cmp_ir(
    t: &TempDir,
    port: u16,
    reference: &str,
    secret: &str,
    key: &Path,
    certout: &Path,
    extra: &[&str],
) -> Output {
    let server = format!("127.0.0.1:{port}");
    let sec = format!("pass:{secret}");
    let ca = t.path("ca/ca.pem");
    let mut args = vec![
        "cmp",
        "-cmd",
        "ir",
        "-server",
        &server,
        "-path",
        "pkix/",
        "-ref",
        reference,
        "-secret",
        &sec,
        "-subject",
        "/CN=Requested Name/O=Evil",
        "-newkey",
    ];
    let key_s = key.to_str().unwrap();
    let cert_s = certout.to_str().unwrap();
    let ca_s = ca.to_str().unwrap();
    args.extend_from_slice(&[key_s, "-certout", cert_s, "-trusted", ca_s]);
    args.extend_from_slice(&["-msg_timeout", "20", "-total_timeout", "60"]);
    args.extend_from_slice(extra);
    openssl(&args)
}

fn new_key(path: &Path) {
    let o = openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

fn serial_of(cert: &Path) -> String {
    let o = openssl(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-serial"]);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .trim_start_matches("serial=")
        .to_ascii_lowercase()
}

#[test]
fn openssl_ir_with_reference_and_secret() {
    let t = TempDir::new("ir");
    let (dir, pwf) = make_ca(&t);
    let port = start_server(&dir, &pwf);
    let (reference, secret, expires) = enroll_code(
        &dir,
        &pwf,
        "CN=alice, O=Example",
        &["dns:alice.example"],
        "1h",
    );
    assert!(expires.ends_with('Z'), "{expires}");
    // The secret is not stored in clear.
    let stored = std::fs::read_to_string(dir.join("enroll-codes.json")).unwrap();
    assert!(stored.contains(&reference));
    assert!(!stored.contains(&secret), "secret stored in clear");

    let key = t.path("ee.key");
    new_key(&key);
    let cert = t.path("ee.pem");
    let o = cmp_ir(&t, port, &reference, &secret, &key, &cert, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let log = text(&o);
    for step in [
        "sending IR",
        "received IP",
        "sending CERTCONF",
        "received PKICONF",
    ] {
        assert!(log.contains(step), "{step} missing:\n{log}");
    }
    let ca_pem = dir.join("ca.pem");
    let v = openssl(&[
        "verify",
        "-CAfile",
        ca_pem.to_str().unwrap(),
        cert.to_str().unwrap(),
    ]);
    assert!(v.status.success(), "{}", text(&v));
    // The subject and SAN are the code's, not the requested /CN=Requested Name.
    let s = openssl(&[
        "x509",
        "-in",
        cert.to_str().unwrap(),
        "-noout",
        "-subject",
        "-ext",
        "subjectAltName",
        "-nameopt",
        "RFC2253",
    ]);
    let st = String::from_utf8_lossy(&s.stdout).to_string();
    assert!(st.contains("subject=CN=alice,O=Example"), "{st}");
    assert!(st.contains("DNS:alice.example"), "{st}");
    assert!(!st.contains("Requested"), "{st}");
    // The certificate is for our key.
    let pk_cert = openssl(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-pubkey"]);
    let pk_key = openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout"]);
    assert_eq!(pk_cert.stdout, pk_key.stdout);
    // The CA state records the serial, and the code records its use.
    let serial = serial_of(&cert);
    let state = std::fs::read_to_string(dir.join("state.json")).unwrap();
    assert!(
        state.contains(&serial),
        "serial {serial} not in state:\n{state}"
    );
    let codes = negotiator_pki::cmp::list_enroll_codes(&dir).unwrap();
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[0].serial.as_deref(), Some(serial.as_str()));
    assert!(codes[0].used.is_some());

    // A second use of the code fails: notAuthorized.
    let key2 = t.path("ee2.key");
    new_key(&key2);
    let cert2 = t.path("ee2.pem");
    let o = cmp_ir(&t, port, &reference, &secret, &key2, &cert2, &[]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(!cert2.exists());
    let all = text(&o);
    assert!(all.contains("notAuthorized"), "{all}");
    let state2 = std::fs::read_to_string(dir.join("state.json")).unwrap();
    let ca = Ca::load(&dir, CA_PW.as_bytes()).unwrap();
    assert_eq!(ca.issued().len(), 1, "{state2}");
}

#[test]
fn openssl_wrong_secret_is_bad_message_check() {
    let t = TempDir::new("wrong");
    let (dir, pwf) = make_ca(&t);
    let port = start_server(&dir, &pwf);
    let (reference, _secret, _) = enroll_code(&dir, &pwf, "CN=bob", &[], "1h");
    let key = t.path("ee.key");
    new_key(&key);
    let cert = t.path("ee.pem");
    let o = cmp_ir(
        &t,
        port,
        &reference,
        "WRONG-SECRET",
        &key,
        &cert,
        &["-unprotected_errors"],
    );
    assert!(!o.status.success(), "{}", text(&o));
    let all = text(&o);
    assert!(all.contains("badMessageCheck"), "{all}");
    assert!(!cert.exists());
    // The code was not burnt by the failed attempt.
    let codes = negotiator_pki::cmp::list_enroll_codes(&dir).unwrap();
    assert!(codes[0].used.is_none());
    assert!(
        Ca::load(&dir, CA_PW.as_bytes())
            .unwrap()
            .issued()
            .is_empty()
    );
}

#[test]
fn openssl_implicit_confirm_and_expired_code() {
    let t = TempDir::new("implicit");
    let (dir, pwf) = make_ca(&t);
    let port = start_server(&dir, &pwf);
    let (reference, secret, _) = enroll_code(&dir, &pwf, "CN=carol", &["ip:192.0.2.7"], "1h");
    let key = t.path("ee.key");
    new_key(&key);
    let cert = t.path("ee.pem");
    let o = cmp_ir(
        &t,
        port,
        &reference,
        &secret,
        &key,
        &cert,
        &["-implicit_confirm"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let all = text(&o);
    assert!(all.contains("received IP"), "{all}");
    assert!(
        !all.contains("CERTCONF"),
        "certConf sent despite implicitConfirm:\n{all}"
    );
    assert!(cert.exists());

    // An expired code is refused with notAuthorized.
    let (r2, s2, _) = enroll_code(&dir, &pwf, "CN=dave", &[], "1s");
    std::thread::sleep(Duration::from_millis(2100));
    let cert2 = t.path("ee2.pem");
    let o = cmp_ir(&t, port, &r2, &s2, &key, &cert2, &[]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("notAuthorized"), "{}", text(&o));
}

#[test]
fn openssl_cr_p10cr_genm_and_bad_pop() {
    let t = TempDir::new("cmds");
    let (dir, pwf) = make_ca(&t);
    let port = start_server(&dir, &pwf);
    let key = t.path("ee.key");
    new_key(&key);

    // cr with PBM.
    let (r, s, _) = enroll_code(&dir, &pwf, "CN=cr-user", &[], "1h");
    let cert = t.path("cr.pem");
    let o = cmp_ir(&t, port, &r, &s, &key, &cert, &["-cmd", "cr"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("received CP"), "{}", text(&o));
    let subj = openssl(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-subject"]);
    assert!(
        String::from_utf8_lossy(&subj.stdout).contains("CN = cr-user"),
        "{}",
        text(&subj)
    );

    // p10cr: the PKCS#10 request's subject is ignored too.
    let csr = t.path("req.csr");
    let o = openssl(&[
        "req",
        "-new",
        "-key",
        key.to_str().unwrap(),
        "-subj",
        "/CN=Requested",
        "-out",
        csr.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let (r, s, _) = enroll_code(&dir, &pwf, "CN=p10-user", &[], "1h");
    let cert = t.path("p10.pem");
    let o = cmp_ir(
        &t,
        port,
        &r,
        &s,
        &key,
        &cert,
        &["-cmd", "p10cr", "-csr", csr.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let subj = openssl(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-subject"]);
    assert!(
        String::from_utf8_lossy(&subj.stdout).contains("CN = p10-user"),
        "{}",
        text(&subj)
    );

    // genm returns the CA certificates and does not use up the code.
    let (r, s, _) = enroll_code(&dir, &pwf, "CN=genm-user", &[], "1h");
    let server = format!("127.0.0.1:{port}");
    let sec = format!("pass:{s}");
    let o = openssl(&[
        "cmp",
        "-cmd",
        "genm",
        "-server",
        &server,
        "-path",
        "pkix/",
        "-ref",
        &r,
        "-secret",
        &sec,
        "-infotype",
        "caCerts",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("received GENP"), "{}", text(&o));

    // raVerified POP from an end entity: badPOP; the code stays usable.
    let cert = t.path("pop.pem");
    let o = cmp_ir(&t, port, &r, &s, &key, &cert, &["-popo", "0"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("badPOP"), "{}", text(&o));
    let o = cmp_ir(&t, port, &r, &s, &key, &cert, &[]);
    assert!(o.status.success(), "{}", text(&o));

    let ca = Ca::load(&dir, CA_PW.as_bytes()).unwrap();
    assert_eq!(ca.issued().len(), 3);
}

#[test]
fn openssl_concurrent_clients() {
    let t = TempDir::new("conc");
    let (dir, pwf) = make_ca(&t);
    let port = start_server(&dir, &pwf);
    let codes: Vec<_> = (0..4)
        .map(|i| enroll_code(&dir, &pwf, &format!("CN=user{i}"), &[], "1h"))
        .collect();
    let t = std::sync::Arc::new(t);
    let handles: Vec<_> = codes
        .into_iter()
        .enumerate()
        .map(|(i, (r, s, _))| {
            let t = std::sync::Arc::clone(&t);
            std::thread::spawn(move || {
                let key = t.path(&format!("k{i}.pem"));
                new_key(&key);
                let cert = t.path(&format!("c{i}.pem"));
                let o = cmp_ir(&t, port, &r, &s, &key, &cert, &[]);
                assert!(o.status.success(), "{}", text(&o));
                serial_of(&cert)
            })
        })
        .collect();
    let serials: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ca = Ca::load(&dir, CA_PW.as_bytes()).unwrap();
    assert_eq!(ca.issued().len(), 4);
    for s in &serials {
        assert!(
            ca.issued().iter().any(|r| &r.serial == s),
            "{s} not recorded"
        );
    }
}
