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
        assert_eq!(again.payloads, m.payloads);
        assert_eq!(again.header.spi_i, m.header.spi_i);
        assert_eq!(again.header.exchange, m.header.exchange);
        assert_eq!(again.header.message_id, m.header.message_id);
        assert_eq!(again.encode(), enc);
        // The first parse of an encoding is a fixed point.
        assert_eq!(again, Message::parse(&again.encode()).unwrap_or_else(|e| panic!("{e}")));
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
