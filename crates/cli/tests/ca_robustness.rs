//! `negotiator ca issue` under concurrency and failure: no certificate may exist that the CA
//! has not recorded, and nothing is overwritten.

use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_negotiator"));
    c.env_remove("NEGOTIATOR_PASSWORD")
        .env_remove("NEGOTIATOR_CA_PASSWORD");
    c
}

fn init(dir: &Path) -> std::path::PathBuf {
    let pw = dir.join("pw");
    std::fs::write(&pw, "correct horse\n").unwrap();
    let st = bin()
        .args(["ca", "init", "--dir"])
        .arg(dir.join("ca"))
        .args(["--subject", "CN=Robustness CA", "--password-file"])
        .arg(&pw)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    pw
}

fn issued_count(dir: &Path) -> usize {
    let s = std::fs::read_to_string(dir.join("ca/state.json")).unwrap();
    // Each record carries exactly one "serial" key.
    s.matches("\"serial\"").count()
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("negotiator-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn concurrent_issues_are_all_recorded() {
    let d = tmp("concurrent");
    let pw = init(&d);
    let children: Vec<_> = (0..5)
        .map(|i| {
            bin()
                .args(["ca", "issue", "--dir"])
                .arg(d.join("ca"))
                .args([
                    "--subject",
                    &format!("CN=h{i}"),
                    "--san",
                    &format!("dns:h{i}.example"),
                ])
                .arg("--out")
                .arg(d.join(format!("h{i}.profile")))
                .arg("--password-file")
                .arg(&pw)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(issued_count(&d), 5);
}

#[test]
fn existing_cert_out_is_not_overwritten_and_nothing_is_issued() {
    let d = tmp("certout");
    let pw = init(&d);
    let pem = d.join("gw.pem");
    std::fs::write(&pem, "precious").unwrap();
    let out = bin()
        .args(["ca", "issue", "--dir"])
        .arg(d.join("ca"))
        .args(["--subject", "CN=gw", "--out"])
        .arg(d.join("gw.profile"))
        .arg("--cert-out")
        .arg(&pem)
        .arg("--password-file")
        .arg(&pw)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&pem).unwrap(), "precious");
    assert!(!d.join("gw.profile").exists());
    assert_eq!(issued_count(&d), 0);
}

#[test]
fn missing_state_file_is_an_error_not_a_fresh_start() {
    let d = tmp("nostate");
    let pw = init(&d);
    std::fs::remove_file(d.join("ca/state.json")).unwrap();
    let out = bin()
        .args(["ca", "issue", "--dir"])
        .arg(d.join("ca"))
        .args(["--subject", "CN=x", "--out"])
        .arg(d.join("x.profile"))
        .arg("--password-file")
        .arg(&pw)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("state.json is missing"));
    assert!(!d.join("x.profile").exists());
}
