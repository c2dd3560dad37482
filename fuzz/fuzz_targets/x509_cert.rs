//! Fuzzes the validator's certificate parser and path validation: the input is
//! used as leaf, intermediate, trust anchor and CRL at once, and also read as
//! a PEM/DER bundle. Nothing may panic, hang or over-read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use negotiator_pki::validate::{certificate_subject, read_objects};
use negotiator_pki::{RevocationMode, ValidationOptions, validate_path};

fuzz_target!(|data: &[u8]| {
    let _ = certificate_subject(data);
    if let Ok(objs) = read_objects(data, &["CERTIFICATE"]) {
        for o in &objs {
            let _ = certificate_subject(o);
        }
    }
    let mut opts = ValidationOptions::at(1_700_000_000);
    opts.revocation = RevocationMode::Soft;
    let v = data.to_vec();
    let _ = validate_path(
        data,
        std::slice::from_ref(&v),
        std::slice::from_ref(&v),
        std::slice::from_ref(&v),
        &opts,
    );
});
