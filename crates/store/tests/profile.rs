//! Behaviour tests for encrypted profile files.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use negotiator_store::{KdfParams, Profile, StoreError, read_password};
use zeroize::Zeroizing;

const CHEAP: KdfParams = KdfParams {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
};

fn tempdir(tag: &str) -> PathBuf {
    let mut rnd = [0u8; 8];
    unique_bytes(&mut rnd);
    let hex: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
    let d = std::env::temp_dir().join(format!("negotiator-store-{tag}-{hex}"));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn unique_bytes(b: &mut [u8]) {
    // Distinct directories per test process/call; uniqueness only.
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let v = t ^ (std::process::id() as u128) << 64;
    for (i, x) in b.iter_mut().enumerate() {
        *x = (v >> (8 * (i % 16))) as u8;
    }
}

fn sample() -> Profile {
    Profile {
        private_key_pkcs8: Zeroizing::new(b"\x30\x03\x02\x01\x00secret-key-bytes".to_vec()),
        certificate_chain: vec![b"leaf-cert".to_vec(), b"ca-cert".to_vec()],
        trust_anchors: vec![b"anchor".to_vec()],
    }
}

#[test]
fn round_trip_and_mode_0600() {
    let d = tempdir("rt");
    let p = d.join("host.profile");
    sample().save_with_params(&p, b"pw", CHEAP).unwrap();
    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let back = Profile::load(&p, b"pw").unwrap();
    assert_eq!(back, sample());
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // Overwrite keeps 0600 and new contents.
    let mut other = sample();
    other.trust_anchors.push(b"second".to_vec());
    other.save_with_params(&p, b"pw2", CHEAP).unwrap();
    assert_eq!(Profile::load(&p, b"pw2").unwrap(), other);
    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn default_params_round_trip() {
    let d = tempdir("default");
    let p = d.join("x.profile");
    sample().save(&p, b"correct horse").unwrap();
    let data = std::fs::read(&p).unwrap();
    // m_cost field at offset 10 is 65536 KiB, t_cost 3, p_cost 1.
    assert_eq!(&data[10..22], &[0, 1, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1]);
    assert_eq!(Profile::load(&p, b"correct horse").unwrap(), sample());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn wrong_password() {
    let data = sample().encrypt(b"right", CHEAP).unwrap();
    let e = Profile::decrypt(&data, b"wrong").unwrap_err();
    assert!(matches!(e, StoreError::WrongPassword), "{e:?}");
    assert!(e.to_string().contains("wrong password"));
}

#[test]
fn every_bit_flip_is_rejected() {
    let data = sample().encrypt(b"pw", CHEAP).unwrap();
    for i in 0..data.len() {
        for bit in 0..8 {
            let mut d = data.clone();
            d[i] ^= 1 << bit;
            let r = Profile::decrypt(&d, b"pw");
            assert!(r.is_err(), "flip at byte {i} bit {bit} accepted");
        }
    }
}

#[test]
fn ciphertext_flip_is_corrupt_not_wrong_password() {
    let data = sample().encrypt(b"pw", CHEAP).unwrap();
    let mut d = data.clone();
    let last = d.len() - 1;
    d[last] ^= 0x80;
    assert!(matches!(
        Profile::decrypt(&d, b"pw"),
        Err(StoreError::Corrupt(_))
    ));
    let mut d = data;
    d[0] ^= 1;
    let e = Profile::decrypt(&d, b"pw").unwrap_err();
    assert!(e.to_string().contains("bad magic"), "{e}");
}

#[test]
fn truncation_is_rejected() {
    let data = sample().encrypt(b"pw", CHEAP).unwrap();
    for n in 0..data.len() {
        let r = Profile::decrypt(&data[..n], b"pw");
        assert!(
            matches!(r, Err(StoreError::Corrupt(_))),
            "length {n}: {r:?}"
        );
    }
}

#[test]
fn oversized_cost_in_header_is_rejected_quickly() {
    let mut data = sample().encrypt(b"pw", CHEAP).unwrap();
    data[10..14].copy_from_slice(&u32::MAX.to_be_bytes());
    let e = Profile::decrypt(&data, b"pw").unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
}

#[test]
fn excessive_total_work_is_rejected() {
    // 1 GiB with 16 passes is within each single limit but over the product limit.
    let mut data = sample().encrypt(b"pw", CHEAP).unwrap();
    data[10..14].copy_from_slice(&(1024u32 * 1024).to_be_bytes());
    data[14..18].copy_from_slice(&16u32.to_be_bytes());
    let t0 = std::time::Instant::now();
    let e = Profile::decrypt(&data, b"pw").unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(1));
    let e = sample()
        .encrypt(
            b"pw",
            KdfParams {
                m_cost_kib: 1024 * 1024,
                t_cost: 16,
                p_cost: 1,
            },
        )
        .unwrap_err();
    assert!(matches!(e, StoreError::InvalidParams(_)), "{e:?}");
}

#[test]
fn oversized_file_is_rejected() {
    let d = tempdir("big");
    let p = d.join("big.profile");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(negotiator_store::MAX_FILE_SIZE + 1).unwrap();
    let e = Profile::load(&p, b"pw").unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn debug_hides_key() {
    let s = format!("{:?}", sample());
    assert!(!s.contains("secret"), "{s}");
    assert!(!s.contains("115, 101, 99"), "{s}");
    assert!(s.contains("redacted"));
}

#[test]
fn password_file_first_line() {
    let d = tempdir("pwfile");
    let f = d.join("pw");
    std::fs::write(&f, "hunter2\r\nsecond line\n").unwrap();
    let p = read_password(Some(&f), "NEGOTIATOR_TEST_UNSET_VAR_1", "x").unwrap();
    assert_eq!(p.as_str(), "hunter2");
    std::fs::write(&f, "no-newline").unwrap();
    let p = read_password(Some(&f), "NEGOTIATOR_TEST_UNSET_VAR_1", "x").unwrap();
    assert_eq!(p.as_str(), "no-newline");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn password_missing_file_is_error() {
    let r = read_password(Some(std::path::Path::new("/nonexistent/pw")), "X", "x");
    assert!(matches!(r, Err(StoreError::Io(..))));
}
