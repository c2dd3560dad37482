//! NAT traversal: port float to the NAT-T port (RFC 7296 §2.23) through a simulated NAT.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use common::*;
use negotiator_proto::{Event, IkeState, Transmit};
use negotiator_wire::v2::{ExchangeType, Header};

/// a's public side as b sees it: a NAPT that maps a's port 500 to 40500 and 4500 to 44500.
const NAT_IP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 7);

fn nat_out(from: SocketAddr) -> SocketAddr {
    let port = match from.port() {
        500 => 40500,
        4500 => 44500,
        p => panic!("unexpected source port {p}"),
    };
    SocketAddr::new(IpAddr::V4(NAT_IP), port)
}

fn nat_in(to: SocketAddr) -> SocketAddr {
    let port = match to.port() {
        40500 => 500,
        44500 => 4500,
        p => panic!("unexpected NAT port {p}"),
    };
    SocketAddr::new(A.ip(), port)
}

fn with_port(a: SocketAddr, port: u16) -> SocketAddr {
    SocketAddr::new(a.ip(), port)
}

fn exchange_of(t: &Transmit) -> ExchangeType {
    Header::parse(&t.data).unwrap().exchange
}

/// Runs the exchange with a behind the NAT and returns every datagram as
/// (sender is a, local, remote, exchange) in order.
fn run_behind_nat(p: &mut Pair) -> Vec<(bool, SocketAddr, SocketAddr, ExchangeType)> {
    let mut log = Vec::new();
    for _ in 0..20 {
        let mut moved = false;
        while let Some(t) = p.a.poll_transmit() {
            moved = true;
            log.push((true, t.local, t.remote, exchange_of(&t)));
            // Leaves a from t.local, crosses the NAT, reaches b at t.remote.
            let src = nat_out(t.local);
            p.b.handle_datagram(p.now, t.remote, src, &t.data, &mut p.spis_b);
        }
        while let Some(t) = p.b.poll_transmit() {
            moved = true;
            log.push((false, t.local, t.remote, exchange_of(&t)));
            let dst = nat_in(t.remote);
            p.a.handle_datagram(p.now, dst, t.local, &t.data, &mut p.spis_a);
        }
        while let Some(e) = p.a.poll_event() {
            p.a_events.push(e);
        }
        while let Some(e) = p.b.poll_event() {
            p.b_events.push(e);
        }
        if !moved {
            break;
        }
    }
    log
}

#[test]
fn initiator_behind_a_nat_floats_to_4500_and_the_responder_follows() {
    let (a, b) = psk_configs(b"float me", b"float me");
    let mut p = Pair::new(a, b);
    p.a.set_natt_ports(4500, 4500);
    p.b.set_natt_ports(4500, 4500);
    p.initiate();
    let log = run_behind_nat(&mut p);
    assert_eq!(established(&p.a_events), 1);
    assert_eq!(established(&p.b_events), 1);
    let public_500 = SocketAddr::new(IpAddr::V4(NAT_IP), 40500);
    let public_4500 = SocketAddr::new(IpAddr::V4(NAT_IP), 44500);
    assert_eq!(
        log,
        vec![
            // IKE_SA_INIT on port 500 both ways.
            (true, A, B, ExchangeType::IKE_SA_INIT),
            (false, B, public_500, ExchangeType::IKE_SA_INIT),
            // a saw in b's NAT_DETECTION_DESTINATION_IP that it is NATed: IKE_AUTH from 4500
            // to 4500, and b answers from its 4500 to the new mapping.
            (
                true,
                with_port(A, 4500),
                with_port(B, 4500),
                ExchangeType::IKE_AUTH
            ),
            (
                false,
                with_port(B, 4500),
                public_4500,
                ExchangeType::IKE_AUTH
            ),
        ]
    );
    let ia = &p.a.ike_sas()[0];
    let ib = &p.b.ike_sas()[0];
    assert_eq!(
        (ia.local, ia.remote),
        (with_port(A, 4500), with_port(B, 4500))
    );
    assert_eq!((ib.local, ib.remote), (with_port(B, 4500), public_4500));
    assert_eq!(ia.nat, (true, false));
    assert_eq!(ib.nat, (false, true));
    // The Child SAs are UDP-encapsulated between the NAT-T ports.
    let ca = children(&p.a_events);
    let cb = children(&p.b_events);
    let ea = ca[0].encap.unwrap();
    let eb = cb[0].encap.unwrap();
    assert_eq!((ea.local_port, ea.remote_port), (4500, 4500));
    assert_eq!((eb.local_port, eb.remote_port), (4500, 44500));
    assert_eq!(cb[0].remote, IpAddr::V4(NAT_IP));

    // A delete from b goes to a's NAT-T mapping, and a's answer comes back from 4500.
    let id = ib.id;
    p.b.delete_ike(p.now, id).unwrap();
    let log = run_behind_nat(&mut p);
    assert_eq!(
        log,
        vec![
            (
                false,
                with_port(B, 4500),
                public_4500,
                ExchangeType::INFORMATIONAL
            ),
            (
                true,
                with_port(A, 4500),
                with_port(B, 4500),
                ExchangeType::INFORMATIONAL
            ),
        ]
    );
    assert!(p.a.ike_sas().is_empty() && p.b.ike_sas().is_empty());
    assert!(
        p.a_events
            .iter()
            .any(|e| matches!(e, Event::IkeSaDeleted { .. }))
    );
}

#[test]
fn without_a_nat_the_sa_stays_on_500_even_with_natt_ports_known() {
    let (a, b) = psk_configs(b"no nat", b"no nat");
    let mut p = Pair::new(a, b);
    p.a.set_natt_ports(4500, 4500);
    p.b.set_natt_ports(4500, 4500);
    p.initiate();
    // Pair::drive asserts that every datagram goes to port 500 of the peer.
    p.drive(|_, _| false);
    assert_eq!(established(&p.a_events), 1);
    let ia = &p.a.ike_sas()[0];
    assert_eq!((ia.local, ia.remote), (A, B));
    assert_eq!(ia.nat, (false, false));
    assert_eq!(ia.state, IkeState::Established);
}

#[test]
fn responder_follows_a_peer_that_floats_to_4500_without_nat_and_never_floats_back() {
    // strongSwan's kernel-libipsec setup fakes NAT-D and floats even on a plain link; here a
    // knows nothing about NAT-T ports but its IKE_AUTH arrives on b's 4500 all the same.
    let (a, b) = psk_configs(b"float", b"float");
    let mut p = Pair::new(a, b);
    p.b.set_natt_ports(4500, 4500);
    p.initiate();
    let init = p.a.poll_transmit().unwrap();
    p.b.handle_datagram(p.now, B, A, &init.data, &mut p.spis_b);
    let resp = p.b.poll_transmit().unwrap();
    p.a.handle_datagram(p.now, A, B, &resp.data, &mut p.spis_a);
    let auth = p.a.poll_transmit().unwrap();
    assert_eq!(exchange_of(&auth), ExchangeType::IKE_AUTH);
    let (b4500, a4500) = (with_port(B, 4500), with_port(A, 4500));
    p.b.handle_datagram(p.now, b4500, a4500, &auth.data, &mut p.spis_b);
    let auth_resp = p.b.poll_transmit().unwrap();
    assert_eq!((auth_resp.local, auth_resp.remote), (b4500, a4500));
    // A later authentic request on port 500 does not move the SA back.
    p.a.handle_datagram(p.now, A, B, &auth_resp.data, &mut p.spis_a);
    let id = p.a.ike_sas()[0].id;
    p.a.liveness_check(p.now, id).unwrap();
    let live = p.a.poll_transmit().unwrap();
    p.b.handle_datagram(p.now, B, A, &live.data, &mut p.spis_b);
    let live_resp = p.b.poll_transmit().unwrap();
    assert_eq!((live_resp.local, live_resp.remote), (b4500, a4500));
}
