//! Demultiplexing of UDP-encapsulated traffic on the NAT-T port (RFC 3948).

/// Length of an IKEv2 header (RFC 7296 §3.1); shorter IKE payloads are runts.
const IKE_HEADER_LEN: usize = 28;
/// SPI + sequence number: the smallest thing that can be an ESP packet.
const ESP_MIN_LEN: usize = 8;

/// What a datagram received on the UDP-encapsulation port carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpEncapKind<'a> {
    /// NAT-keepalive: a single octet 0xFF (RFC 3948 §2.3).
    Keepalive,
    /// An IKE message; the slice starts after the 4-octet non-ESP marker.
    Ike(&'a [u8]),
    /// An ESP packet, starting at its SPI.
    Esp(&'a [u8]),
    /// Anything else, with the reason; such datagrams are silently dropped.
    Invalid(&'static str),
}

/// Classifies a UDP payload received on the encapsulation port
/// (RFC 3948 §2.2: a zero SPI field is the non-ESP marker).
pub fn classify_udp_encap(datagram: &[u8]) -> UdpEncapKind<'_> {
    match datagram {
        [] => UdpEncapKind::Invalid("empty datagram"),
        [0xff] => UdpEncapKind::Keepalive,
        [0, 0, 0, 0, rest @ ..] => {
            if rest.len() < IKE_HEADER_LEN {
                UdpEncapKind::Invalid("IKE message shorter than its header")
            } else {
                UdpEncapKind::Ike(rest)
            }
        }
        [a, b, c, d, ..] if datagram.len() >= ESP_MIN_LEN => {
            let spi = u32::from_be_bytes([*a, *b, *c, *d]);
            if spi <= 255 {
                UdpEncapKind::Invalid("reserved SPI (1..=255)")
            } else {
                UdpEncapKind::Esp(datagram)
            }
        }
        _ => UdpEncapKind::Invalid("runt datagram (shorter than 8 octets)"),
    }
}
