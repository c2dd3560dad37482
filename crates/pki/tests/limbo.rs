//! x509-limbo harness: runs every case of ../shared/testdata/x509-limbo.json
//! through `validate_path` (+ the IKE identity check for the expected peer
//! name), writes `{id, actual_result}` for every case to
//! target/limbo-results.json, and compares with tests/data/limbo-exceptions.json.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use negotiator_pki::validate::{PeerIdentity, matches_identity, parse_rfc3339};
use negotiator_pki::{RevocationMode, ValidationOptions, validate_path};
use serde_json::{Value, json};

fn limbo_path() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/x509-limbo.json");
    assert!(
        p.is_file(),
        "x509-limbo test data not found at {} (expected ../shared/testdata relative to the repository root)",
        p.display()
    );
    p
}

/// PEM blocks of one label, decoded.
fn pem_all(s: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(b) = rest.find(&begin) {
        let after = &rest[b + begin.len()..];
        let e = after.find(&end).expect("PEM end line");
        out.push(b64(&after[..e]));
        rest = &after[e + end.len()..];
    }
    out
}

fn b64(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn eku_oid(name: &str) -> &'static str {
    match name {
        "serverAuth" => "1.3.6.1.5.5.7.3.1",
        "clientAuth" => "1.3.6.1.5.5.7.3.2",
        other => panic!("unexpected EKU {other}"),
    }
}

fn run_case(t: &Value) -> Result<(), String> {
    let anchors: Vec<Vec<u8>> = t["trusted_certs"]
        .as_array()
        .expect("trusted")
        .iter()
        .flat_map(|p| pem_all(p.as_str().unwrap_or(""), "CERTIFICATE"))
        .collect();
    let inter: Vec<Vec<u8>> = t["untrusted_intermediates"]
        .as_array()
        .expect("untrusted")
        .iter()
        .flat_map(|p| pem_all(p.as_str().unwrap_or(""), "CERTIFICATE"))
        .collect();
    let crls: Vec<Vec<u8>> = t["crls"]
        .as_array()
        .expect("crls")
        .iter()
        .flat_map(|p| pem_all(p.as_str().unwrap_or(""), "X509 CRL"))
        .collect();
    let leaf = pem_all(t["peer_certificate"].as_str().expect("peer"), "CERTIFICATE")
        .into_iter()
        .next()
        .ok_or("no peer certificate")?;
    let mut o = match t["validation_time"].as_str() {
        Some(s) => ValidationOptions::at(parse_rfc3339(s).ok_or("bad time")?),
        None => ValidationOptions::default(),
    };
    if !crls.is_empty() {
        o.revocation = RevocationMode::RequireLeaf;
    }
    if let Some(d) = t["max_chain_depth"].as_u64() {
        o.max_depth = d as usize;
    }
    let ekus = t["extended_key_usage"].as_array().expect("eku");
    if let Some(e) = ekus.first().and_then(|v| v.as_str()) {
        o.required_eku = Some(eku_oid(e).to_string());
    } else if t["validation_kind"] == "SERVER" {
        o.required_eku = Some(eku_oid("serverAuth").to_string());
    }
    validate_path(&leaf, &inter, &anchors, &crls, &o).map_err(|e| e.to_string())?;
    let n = &t["expected_peer_name"];
    if let (Some(kind), Some(value)) = (n["kind"].as_str(), n["value"].as_str()) {
        let id = match kind {
            "DNS" => PeerIdentity::Dns(value.to_string()),
            "IP" => PeerIdentity::Ip(
                value
                    .parse::<IpAddr>()
                    .map_err(|e| format!("bad IP {value}: {e}"))?,
            ),
            "RFC822" => PeerIdentity::Email(value.to_string()),
            k => return Err(format!("unsupported peer name kind {k}")),
        };
        if !matches_identity(&leaf, &id) {
            return Err(format!(
                "peer identity {value} is not in the certificate's subjectAltName"
            ));
        }
    }
    Ok(())
}

#[test]
fn limbo() {
    let data: Value = serde_json::from_slice(&std::fs::read(limbo_path()).expect("read limbo"))
        .expect("parse limbo");
    let exc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/limbo-exceptions.json");
    let exc: Value = serde_json::from_slice(&std::fs::read(exc_path).expect("read exceptions"))
        .expect("parse exceptions");
    let na = exc["not_applicable"].as_object().expect("na");
    let known = exc["known_failures"].as_object().expect("known");
    let cases = data["testcases"].as_array().expect("testcases");
    assert!(cases.len() >= 200, "x509-limbo data incomplete");
    let (mut passed, mut failed, mut not_applicable) = (0, 0, 0);
    let mut results = Vec::new();
    let mut problems = Vec::new();
    for t in cases {
        let id = t["id"].as_str().expect("id");
        let want = t["expected_result"].as_str().expect("expected");
        let r = run_case(t);
        let actual = if r.is_ok() { "SUCCESS" } else { "FAILURE" };
        results.push(json!({"id": id, "actual_result": actual, "context": r.as_ref().err()}));
        if na.contains_key(id) {
            not_applicable += 1;
            continue;
        }
        let ok = actual == want;
        let is_known = known.contains_key(id);
        if ok && !is_known {
            passed += 1;
        } else {
            failed += 1;
            if !is_known || ok {
                problems.push(format!(
                    "{id}: expected {want}, got {actual} ({}){}",
                    r.err().unwrap_or_default(),
                    if is_known {
                        " [listed as a known failure but passes: remove it]"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    std::fs::create_dir_all(&target).expect("target dir");
    std::fs::write(
        target.join("limbo-results.json"),
        serde_json::to_vec_pretty(&Value::Array(results)).expect("json"),
    )
    .expect("write limbo-results.json");
    // Written straight to stderr so the summary shows even when libtest captures output.
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "x509-limbo: {passed} passed, {failed} failed, {not_applicable} not applicable"
    );
    for p in &problems {
        let _ = writeln!(err, "  {p}");
    }
    assert!(
        problems.is_empty(),
        "{} unexpected x509-limbo results",
        problems.len()
    );
}
