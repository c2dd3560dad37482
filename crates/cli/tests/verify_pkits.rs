//! Every NIST PKITS 4.1-4.16 run through the `negotiator verify` binary, the
//! way an independent checker would: all PKITS certificates as --untrusted,
//! all CRLs as --crl, the trust anchor, and the initial settings from
//! crates/pki/tests/data/pkits-expected.json (transcribed from PKITS.pdf).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn pkits() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import cryptography_vectors, os; print(os.path.dirname(cryptography_vectors.__file__))"])
        .output()
        .expect("python3");
    assert!(out.status.success(), "cryptography-vectors not installed");
    let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("x509/PKITS_data");
    assert!(
        d.join("certs").is_dir(),
        "PKITS data missing at {}",
        d.display()
    );
    d
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some(ext))
        .collect();
    v.sort();
    v
}

fn data(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../pki/tests/data")
        .join(name);
    serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json")
}

#[test]
fn pkits_through_the_cli() {
    let bin = std::env::var_os("NEGOTIATOR_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_negotiator")),
        PathBuf::from,
    );
    let dir = pkits();
    let anchor = dir.join("certs/TrustAnchorRootCertificate.crt");
    let mut common: Vec<String> = vec![
        "verify".into(),
        "--anchor".into(),
        anchor.display().to_string(),
    ];
    for c in files(&dir.join("certs"), "crt") {
        if c != anchor {
            common.extend(["--untrusted".into(), c.display().to_string()]);
        }
    }
    for c in files(&dir.join("crls"), "crl") {
        common.extend(["--crl".into(), c.display().to_string()]);
    }
    let expected = data("pkits-expected.json");
    let exceptions = data("pkits-exceptions.json");
    let na = exceptions["not_applicable"].as_object().expect("na");
    let known = exceptions["known_failures"].as_object().expect("known");
    common.extend([
        "--at".into(),
        expected["validation_time"].as_str().expect("time").into(),
    ]);
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut problems = Vec::new();
    for t in expected["tests"].as_array().expect("tests") {
        let id = t["id"].as_str().expect("id");
        if na.contains_key(id) || known.contains_key(id) {
            skipped += 1;
            continue;
        }
        let mut args = common.clone();
        if t["initial_explicit_policy"] == true {
            args.push("--require-explicit-policy".into());
        }
        if t["initial_policy_mapping_inhibit"] == true {
            args.push("--inhibit-policy-mapping".into());
        }
        if t["initial_any_policy_inhibit"] == true {
            args.push("--inhibit-any-policy".into());
        }
        for p in t["user_initial_policy_set"].as_array().expect("set") {
            let p = p.as_str().expect("oid");
            if p != "2.5.29.32.0" {
                args.extend(["--policy".into(), p.into()]);
            }
        }
        args.push(
            dir.join("certs")
                .join(format!("{}.crt", t["ee"].as_str().expect("ee")))
                .display()
                .to_string(),
        );
        let out = Command::new(&bin)
            .args(&args)
            .output()
            .expect("run negotiator");
        let want = if t["valid"] == true { 0 } else { 1 };
        if out.status.code() == Some(want) {
            passed += 1;
        } else {
            failed += 1;
            problems.push(format!(
                "{id}: exit {:?}, expected {want}: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).trim()
            ));
        }
    }
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "PKITS via negotiator verify: {passed} passed, {failed} failed, {skipped} excepted"
    );
    for p in &problems {
        let _ = writeln!(err, "  {p}");
    }
    assert!(problems.is_empty());
    assert!(passed >= 240);
}
