//! Fuzzes the CRL parser and its revoked-serial index.
#![no_main]

use libfuzzer_sys::fuzz_target;
use negotiator_pki::crl::Crl;

fuzz_target!(|data: &[u8]| {
    if let Ok(crl) = Crl::parse(data) {
        let _ = crl.len();
        let _ = crl.issuer_string();
        for probe in [&[][..], &[0][..], &[1][..], data.get(..4).unwrap_or(&[])] {
            let _ = crl.find_serial(probe);
        }
    }
});
