//! Every x509-limbo case through the `negotiator verify` binary (files written
//! to a temporary directory, expected peer name checked with --dns/--ip), with
//! the exceptions of crates/pki/tests/data/limbo-exceptions.json.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .expect("json")
}

#[test]
fn limbo_through_the_cli() {
    let bin = std::env::var_os("NEGOTIATOR_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_negotiator")),
        PathBuf::from,
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let limbo = root.join("../../../shared/testdata/x509-limbo.json");
    assert!(
        limbo.is_file(),
        "x509-limbo data not found at {}",
        limbo.display()
    );
    let data = read_json(&limbo);
    let exc = read_json(&root.join("../pki/tests/data/limbo-exceptions.json"));
    let na = exc["not_applicable"].as_object().expect("na");
    let known = exc["known_failures"].as_object().expect("known");
    let tmp = std::env::temp_dir().join(format!("verify-limbo-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut problems = Vec::new();
    for (n, t) in data["testcases"]
        .as_array()
        .expect("cases")
        .iter()
        .enumerate()
    {
        let id = t["id"].as_str().expect("id");
        if na.contains_key(id) || known.contains_key(id) {
            skipped += 1;
            continue;
        }
        let write = |name: &str, parts: &[Value]| -> Option<PathBuf> {
            let text: String = parts.iter().filter_map(Value::as_str).collect();
            if text.is_empty() {
                return None;
            }
            let p = tmp.join(format!("{n}-{name}.pem"));
            std::fs::write(&p, text).expect("write");
            Some(p)
        };
        let mut args: Vec<String> = vec!["verify".into()];
        let anchors = write("anchors", t["trusted_certs"].as_array().expect("trusted"));
        args.extend([
            "--anchor".into(),
            anchors.expect("anchors").display().to_string(),
        ]);
        if let Some(p) = write(
            "untrusted",
            t["untrusted_intermediates"].as_array().expect("untrusted"),
        ) {
            args.extend(["--untrusted".into(), p.display().to_string()]);
        }
        if let Some(p) = write("crls", t["crls"].as_array().expect("crls")) {
            args.extend([
                "--crl".into(),
                p.display().to_string(),
                "--crl-check".into(),
                "leaf".into(),
            ]);
        }
        if let Some(at) = t["validation_time"].as_str() {
            args.extend(["--at".into(), at.into()]);
        }
        if let Some(d) = t["max_chain_depth"].as_u64() {
            args.extend(["--max-depth".into(), d.to_string()]);
        }
        let eku = t["extended_key_usage"]
            .as_array()
            .and_then(|v| v.first())
            .and_then(Value::as_str);
        match (eku, t["validation_kind"].as_str()) {
            (Some(e), _) => args.extend(["--eku".into(), e.into()]),
            (None, Some("SERVER")) => args.extend(["--eku".into(), "serverAuth".into()]),
            _ => {}
        }
        match (
            t["expected_peer_name"]["kind"].as_str(),
            t["expected_peer_name"]["value"].as_str(),
        ) {
            (Some("DNS"), Some(v)) => args.extend(["--dns".into(), v.into()]),
            (Some("IP"), Some(v)) => args.extend(["--ip".into(), v.into()]),
            _ => {}
        }
        let leaf = write("leaf", std::slice::from_ref(&t["peer_certificate"])).expect("leaf");
        args.push(leaf.display().to_string());
        let out = Command::new(&bin)
            .args(&args)
            .output()
            .expect("run negotiator");
        let want = if t["expected_result"] == "SUCCESS" {
            0
        } else {
            1
        };
        if out.status.code() == Some(want) {
            passed += 1;
        } else {
            failed += 1;
            problems.push(format!(
                "{id}: exit {:?}, expected {want}: {}{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "x509-limbo via negotiator verify: {passed} passed, {failed} failed, {skipped} excepted"
    );
    for p in &problems {
        let _ = writeln!(err, "  {p}");
    }
    assert!(problems.is_empty());
}
