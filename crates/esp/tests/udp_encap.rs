//! RFC 3948 §2.2/§2.3 demultiplexing on the NAT-T port.

use negotiator_esp::{UdpEncapKind, classify_udp_encap};

#[test]
fn keepalive() {
    assert_eq!(classify_udp_encap(&[0xff]), UdpEncapKind::Keepalive);
    // 0x00 single octet is not a keepalive
    assert!(matches!(
        classify_udp_encap(&[0x00]),
        UdpEncapKind::Invalid(_)
    ));
    assert!(matches!(classify_udp_encap(&[]), UdpEncapKind::Invalid(_)));
}

#[test]
fn ike_after_marker() {
    let mut d = vec![0u8, 0, 0, 0];
    let ike: Vec<u8> = (0..28u8).collect();
    d.extend_from_slice(&ike);
    assert_eq!(classify_udp_encap(&d), UdpEncapKind::Ike(&ike[..]));
    // marker followed by a too-short IKE header
    assert!(matches!(
        classify_udp_encap(&d[..4 + 27]),
        UdpEncapKind::Invalid(_)
    ));
    assert!(matches!(
        classify_udp_encap(&[0, 0, 0, 0]),
        UdpEncapKind::Invalid(_)
    ));
}

#[test]
fn esp_and_runts() {
    let esp = [0x00, 0x00, 0x01, 0x00, 0, 0, 0, 1];
    assert_eq!(classify_udp_encap(&esp), UdpEncapKind::Esp(&esp[..]));
    for n in 1..8 {
        assert!(
            matches!(classify_udp_encap(&esp[..n]), UdpEncapKind::Invalid(_)),
            "len {n}"
        );
    }
    // SPI 1..=255 is reserved (RFC 4303 §2.1)
    let reserved = [0, 0, 0, 0xff, 0, 0, 0, 1];
    assert!(matches!(
        classify_udp_encap(&reserved),
        UdpEncapKind::Invalid(_)
    ));
}
