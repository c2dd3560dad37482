//! Cross-check with tshark, an independent IKEv2 dissector. The expected
//! payload and notify type lists in tests/data/tshark/*.tsv were produced by
//! tests/data/tshark/make.sh (TShark 4.0.17, decrypting with the lab keys)
//! from the strongSwan captures; this test matches every dissected frame to
//! its `.bin` file and compares with what this codec parses (outer chain,
//! then the decrypted inner chain from the matching `.inner`).

use std::path::PathBuf;

use negotiator_wire::v2::*;

fn data(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(sub)
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

struct Bin {
    name: String,
    bytes: Vec<u8>,
    msg: Message,
}

fn bins() -> Vec<Bin> {
    let d = data("strongswan");
    let mut v: Vec<Bin> = std::fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let msg = Message::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            Bin { name, bytes, msg }
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

fn inner_chain(b: &Bin) -> Option<Vec<Payload>> {
    let path = data("strongswan").join(b.name.replace(".bin", ".inner"));
    let inner = std::fs::read(path).ok()?;
    let first = match b.msg.payloads.first().map(|p| &p.body) {
        Some(PayloadBody::Sk(sk)) => sk.first_inner,
        Some(PayloadBody::Skf(f)) => f.first_inner,
        _ => return None,
    };
    Some(parse_payloads(first, &inner).unwrap_or_else(|e| panic!("{}: {e}", b.name)))
}

/// Our view of a frame, in tshark's shape: payload types of the outer chain
/// then of the decrypted inner chain (tshark shows the reassembled inner
/// chain on the last fragment), and all notify types.
fn our_view(b: &Bin, all: &[Bin]) -> (Vec<u8>, Vec<u16>) {
    let mut payloads: Vec<Payload> = b.msg.payloads.clone();
    let inner = match b.msg.payloads.first().map(|p| &p.body) {
        Some(PayloadBody::Sk(_)) => inner_chain(b),
        Some(PayloadBody::Skf(f)) if f.number == f.total => all
            .iter()
            .find(|o| {
                o.msg.header.spi_i == b.msg.header.spi_i
                    && o.msg.header.message_id == b.msg.header.message_id
                    && o.msg.header.flags == b.msg.header.flags
                    && matches!(o.msg.payloads.first().map(|p| &p.body),
                        Some(PayloadBody::Skf(x)) if x.number == 1)
            })
            .and_then(inner_chain),
        _ => None,
    };
    payloads.extend(inner.unwrap_or_default());
    let types = payloads.iter().map(|p| p.payload_type().0).collect();
    let notifies = payloads
        .iter()
        .filter_map(|p| match &p.body {
            PayloadBody::Notify(n) => Some(n.notify_type.0),
            _ => None,
        })
        .collect();
    (types, notifies)
}

#[test]
fn payload_lists_agree_with_tshark() {
    let all = bins();
    let d = data("tshark");
    let mut tsvs: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    tsvs.sort();
    assert!(!tsvs.is_empty(), "no tshark output in {}", d.display());
    let mut frames = 0;
    let mut matched = std::collections::BTreeSet::new();
    for tsv in &tsvs {
        let text = std::fs::read_to_string(tsv).unwrap();
        for line in text.lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            let (frame, udp, types, notes) = (cols[0], cols[1], cols[2], cols.get(3).copied());
            let udp = hex(udp);
            let b = all
                .iter()
                .find(|b| b.bytes == udp || (udp.len() > 4 && udp[4..] == b.bytes[..]))
                .unwrap_or_else(|| panic!("{}: frame {frame} has no .bin", tsv.display()));
            // tshark lists Proposal (2) and Transform (3) substructures too.
            let want_types: Vec<u8> = types
                .split('|')
                .map(|t| t.parse::<u8>().unwrap())
                .filter(|t| *t != 2 && *t != 3)
                .collect();
            let want_notes: Vec<u16> = notes
                .filter(|n| !n.is_empty())
                .map(|n| n.split('|').map(|t| t.parse().unwrap()).collect())
                .unwrap_or_default();
            let (types, notes) = our_view(b, &all);
            assert_eq!(types, want_types, "{} (frame {frame})", b.name);
            assert_eq!(notes, want_notes, "{} (frame {frame})", b.name);
            matched.insert(b.name.clone());
            frames += 1;
        }
    }
    assert!(frames >= 13, "only {frames} frames cross-checked");
    // Every capture file of a scenario with tshark output was seen by
    // tshark (file names are "NN-<scenario>-..."; rerun make.sh after
    // adding captures).
    let scenarios: Vec<String> = tsvs
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for b in &all {
        let covered = scenarios.iter().any(|s| b.name.contains(&format!("-{s}-")));
        if covered {
            assert!(
                matched.contains(&b.name),
                "{} not in the tshark output; rerun tests/data/tshark/make.sh",
                b.name
            );
        }
    }
}
