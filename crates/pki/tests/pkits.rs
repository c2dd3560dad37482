//! NIST PKITS sections 4.1-4.16 against `validate_path`.
//!
//! The PKITS files come from the PyPI package `cryptography-vectors`
//! (`scripts/test-all.sh` installs it); this test FAILS when they are absent.
//! Expected outcomes and initial settings: tests/data/pkits-expected.json
//! (transcribed from PKITS.pdf); deviations: tests/data/pkits-exceptions.json.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use negotiator_pki::validate::parse_rfc3339;
use negotiator_pki::{RevocationMode, ValidationOptions, validate_path};
use serde_json::Value;

fn pkits_dir() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import cryptography_vectors, os; print(os.path.dirname(cryptography_vectors.__file__))"])
        .output()
        .expect("python3 must be installed to locate the PKITS data");
    assert!(
        out.status.success(),
        "cryptography-vectors is not installed (python3 -m pip install cryptography-vectors): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let dir = base.join("x509").join("PKITS_data");
    assert!(
        dir.join("certs").is_dir(),
        "PKITS data not found under {}",
        dir.display()
    );
    dir
}

fn read_dir(dir: &Path, ext: &str) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).expect("read PKITS dir") {
        let p = e.expect("dir entry").path();
        if p.extension().and_then(|x| x.to_str()) == Some(ext) {
            let name = p
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("file name")
                .to_string();
            out.insert(name, std::fs::read(&p).expect("read PKITS file"));
        }
    }
    out
}

fn load_json(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    serde_json::from_slice(&std::fs::read(&p).expect("read data file")).expect("parse data file")
}

#[test]
fn pkits() {
    let dir = pkits_dir();
    let certs = read_dir(&dir.join("certs"), "crt");
    let crls: Vec<Vec<u8>> = read_dir(&dir.join("crls"), "crl").into_values().collect();
    assert!(
        certs.len() > 300 && crls.len() > 150,
        "PKITS data incomplete"
    );
    let anchor = certs
        .get("TrustAnchorRootCertificate")
        .expect("trust anchor")
        .clone();
    let pool: Vec<Vec<u8>> = certs
        .iter()
        .filter(|(k, _)| k.as_str() != "TrustAnchorRootCertificate")
        .map(|(_, v)| v.clone())
        .collect();

    let expected = load_json("pkits-expected.json");
    let exceptions = load_json("pkits-exceptions.json");
    let time = parse_rfc3339(expected["validation_time"].as_str().expect("time")).expect("time");
    let na = exceptions["not_applicable"]
        .as_object()
        .expect("not_applicable");
    let known = exceptions["known_failures"]
        .as_object()
        .expect("known_failures");

    let (mut passed, mut failed, mut not_applicable) = (0, 0, 0);
    let mut problems = Vec::new();
    let tests = expected["tests"].as_array().expect("tests");
    assert!(tests.len() >= 240, "expected file incomplete");
    for t in tests {
        let id = t["id"].as_str().expect("id");
        let ee_name = t["ee"].as_str().expect("ee");
        let want = t["valid"].as_bool().expect("valid");
        if na.contains_key(id) {
            not_applicable += 1;
            continue;
        }
        let ee = certs
            .get(ee_name)
            .unwrap_or_else(|| panic!("{id}: missing {ee_name}"));
        let mut o = ValidationOptions::at(time);
        o.revocation = RevocationMode::Require;
        o.initial_explicit_policy = t["initial_explicit_policy"].as_bool().expect("bool");
        o.initial_policy_mapping_inhibit =
            t["initial_policy_mapping_inhibit"].as_bool().expect("bool");
        o.initial_any_policy_inhibit = t["initial_any_policy_inhibit"].as_bool().expect("bool");
        o.user_initial_policy_set = t["user_initial_policy_set"]
            .as_array()
            .expect("set")
            .iter()
            .map(|v| v.as_str().expect("oid").to_string())
            .collect();
        let r = validate_path(ee, &pool, std::slice::from_ref(&anchor), &crls, &o);
        let got = r.is_ok();
        let detail = match &r {
            Ok(p) => format!("valid via {}", p.path.join(" <- ")),
            Err(e) => e.to_string(),
        };
        let ok = got == want;
        let is_known = known.contains_key(id);
        if ok && !is_known {
            passed += 1;
        } else {
            failed += 1;
            if !is_known || ok {
                problems.push(format!(
                    "{id} {ee_name}: expected {}, got {} ({detail}){}",
                    if want { "valid" } else { "invalid" },
                    if got { "valid" } else { "invalid" },
                    if is_known {
                        " [listed as a known failure but passes: remove it]"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    // Written straight to stderr so the summary shows even when libtest captures output.
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "PKITS: {passed} passed, {failed} failed, {not_applicable} not applicable"
    );
    for p in &problems {
        let _ = writeln!(err, "  {p}");
    }
    assert!(
        problems.is_empty(),
        "{} unexpected PKITS results",
        problems.len()
    );
}
