//! Fuzz target for the IKEv2 codec: arbitrary bytes must never panic; every
//! accepted message must re-encode to bytes that parse to the same message
//! and re-encode identically; the bare chain parser must also survive the
//! input with a first payload type taken from its first octet.

#![no_main]

use libfuzzer_sys::fuzz_target;
use negotiator_wire::v2::{Message, PayloadType, encode_payloads, parse_payloads};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::parse(data) {
        let enc = m.encode();
        let again = match Message::parse(&enc) {
            Ok(a) => a,
            Err(e) => panic!("re-encoded message does not parse: {e}"),
        };
        // Parsing is strict about every length, so the re-encoding has the
        // input's size and the parsed header (Length, Next Payload) matches.
        assert_eq!(again, m);
        assert_eq!(enc.len(), data.len());
        assert_eq!(again.encode(), enc);
    }
    if let Some((&first, rest)) = data.split_first() {
        if let Ok(p) = parse_payloads(PayloadType(first), rest) {
            let mut out = Vec::new();
            let t = encode_payloads(&p, &mut out);
            let again = match parse_payloads(t, &out) {
                Ok(a) => a,
                Err(e) => panic!("re-encoded chain does not parse: {e}"),
            };
            assert_eq!(again, p);
        }
    }
});
