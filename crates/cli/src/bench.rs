//! `negotiator bench`: figures for the design targets (IKE SA setup cost and memory, SPI
//! lookup, ESP throughput), measured in-process on this machine.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use negotiator_crypto::{Encr, Group, KeyType, Prf, Secret, default_provider};
use negotiator_esp::EspEngine;
use negotiator_pki::{Ca, IssueRequest, San};
use negotiator_proto::{
    Config, Endpoint, EspProposal, Event, Identity, IkeProposal, LocalAuth, RemoteAuth,
    RetransmitConfig, SpiAllocator, default_child_lifetime,
};
use negotiator_sadb::{Engine, Lifetime, Mode, SaDb, SaKeys, SaParams, TsRange};
use serde_json::json;

/// Options of `negotiator bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// IKE SAs (each with its first Child SA) to negotiate in memory.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    sas: u32,
    /// Child SAs to install in the SA database for the lookup figure.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    sadb_entries: u32,
    /// ESP packets (1400 octets) to seal and open.
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u32).range(1..=100_000_000))]
    packets: u32,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

struct Spis(HashSet<u32>, u32);

impl SpiAllocator for Spis {
    fn allocate_spi(&mut self) -> u32 {
        loop {
            self.1 = self.1.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            if self.1 > 255 && self.0.insert(self.1) {
                return self.1;
            }
        }
    }
    fn release_spi(&mut self, spi: u32) {
        self.0.remove(&spi);
    }
}

/// Resident set size in bytes (Linux), for the memory figure.
fn rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn any() -> TsRange {
    TsRange {
        start: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        end: IpAddr::V4(Ipv4Addr::BROADCAST),
        protocol: 0,
        start_port: 0,
        end_port: 65535,
    }
}

fn configs() -> Result<(Config, Config), String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let day = Duration::from_secs(86_400);
    let kt = KeyType::EcdsaP256;
    let mut ca = Ca::generate("CN=Bench CA", kt, day, now).map_err(|e| e.to_string())?;
    let mut side = |cn: &str| -> Result<(LocalAuth, RemoteAuth), String> {
        let req = IssueRequest {
            subject: format!("CN={cn}"),
            sans: vec![San::Dns(format!("{cn}.bench.example"))],
            validity: day,
            eku_ipsec_ike: true,
        };
        let (key, cert) = ca
            .issue_with_new_key(&req, kt, now)
            .map_err(|e| e.to_string())?;
        Ok((
            LocalAuth::Certificate {
                key: Arc::new(key),
                chain: vec![cert, ca.certificate_der().to_vec()],
            },
            RemoteAuth::Certificate {
                anchors: vec![ca.certificate_der().to_vec()],
                crls: Vec::new(),
            },
        ))
    };
    let (la, ra) = side("initiator")?;
    let (lb, rb) = side("responder")?;
    let cfg = |id: &str, local, remote| Config {
        local_id: Identity::fqdn(id),
        remote_id: None,
        local_auth: local,
        remote_auth: remote,
        ike_proposals: vec![IkeProposal {
            encr: vec![Encr::AesGcm16_128],
            integ: vec![],
            prf: vec![Prf::HmacSha256],
            groups: vec![Group::Curve25519],
        }],
        esp_proposals: vec![EspProposal {
            encr: vec![Encr::AesGcm16_128],
            integ: vec![],
        }],
        local_ts: vec![any()],
        remote_ts: vec![any()],
        retransmit: RetransmitConfig::default(),
        cookie_threshold: usize::MAX,
        half_open_timeout: Duration::from_secs(30),
        dpd_interval: None,
        child_lifetime: default_child_lifetime(),
        replay_window: 64,
        force_udp_encap: false,
        key_log: None,
    };
    Ok((
        cfg("initiator.bench.example", la, ra),
        cfg("responder.bench.example", lb, rb),
    ))
}

struct IkeFigures {
    sas: u32,
    wall: Duration,
    responder_cpu: Duration,
    initiator_cpu: Duration,
    rss_per_sa_pair: Option<u64>,
}

fn bench_ike(n: u32) -> Result<IkeFigures, String> {
    let (ca, cb) = configs()?;
    let p = default_provider();
    let now = Instant::now();
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let clock = (now, unix);
    let mut a = Endpoint::new(Arc::new(ca), p.clone(), clock).map_err(|e| e.to_string())?;
    let mut b = Endpoint::new(Arc::new(cb), p, clock).map_err(|e| e.to_string())?;
    let (mut sa, mut sb) = (Spis(HashSet::new(), 1), Spis(HashSet::new(), 2));
    let addr_a = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 500);
    let addr_b = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 500);
    let rss0 = rss();
    let (mut t_a, mut t_b) = (Duration::ZERO, Duration::ZERO);
    let start = Instant::now();
    for i in 0..n {
        // Each IKE SA from its own port, as from a separate remote-access client.
        let port = 1024 + u16::try_from(i % 60_000).unwrap_or(0);
        let la = SocketAddr::new(addr_a.ip(), port);
        let t = Instant::now();
        a.initiate(now, la, addr_b).map_err(|e| e.to_string())?;
        t_a += t.elapsed();
        loop {
            let mut moved = false;
            while let Some(x) = a.poll_transmit() {
                moved = true;
                let t = Instant::now();
                b.handle_datagram(now, addr_b, la, &x.data, &mut sb);
                t_b += t.elapsed();
            }
            while let Some(x) = b.poll_transmit() {
                moved = true;
                let t = Instant::now();
                a.handle_datagram(now, la, addr_b, &x.data, &mut sa);
                t_a += t.elapsed();
            }
            if !moved {
                break;
            }
        }
        while let Some(e) = a.poll_event() {
            if let Event::IkeSaFailed { reason, .. } = e {
                return Err(format!("IKE SA {i} failed: {reason}"));
            }
        }
        while b.poll_event().is_some() {}
    }
    let wall = start.elapsed();
    let established = b.ike_sas().len();
    if established != usize::try_from(n).unwrap_or(usize::MAX) {
        return Err(format!("only {established} of {n} IKE SAs established"));
    }
    let rss1 = rss();
    let rss_per = match (rss0, rss1) {
        (Some(x), Some(y)) if y > x => Some((y - x) / u64::from(n)),
        _ => None,
    };
    drop(a);
    drop(b);
    Ok(IkeFigures {
        sas: n,
        wall,
        responder_cpu: t_b,
        initiator_cpu: t_a,
        rss_per_sa_pair: rss_per,
    })
}

fn keys(encr: Encr, byte: u8) -> SaKeys {
    SaKeys {
        encr,
        enc_key: Secret::new(vec![byte; encr.key_len()]),
        integ: None,
        integ_key: Secret::new(Vec::new()),
    }
}

fn bench_sadb(n: u32) -> Result<(Duration, Duration, u64), String> {
    let mut db = SaDb::new();
    let mut rng_state = 0x1234_5678u32;
    let mut rng = |b: &mut [u8]| {
        for x in b.iter_mut() {
            rng_state = rng_state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            *x = (rng_state >> 16) as u8;
        }
    };
    let now = Instant::now();
    let mut spis = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    let t = Instant::now();
    for i in 0..n {
        let spi_in = db.allocate_spi(&mut rng);
        let spi_out = db.allocate_spi(&mut rng);
        db.release_spi(spi_out);
        let host = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        let params = SaParams {
            ike_sa: u64::from(i),
            spi_in,
            spi_out,
            local: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
            remote: IpAddr::V4(Ipv4Addr::from(0xc633_6400 + (i % 250))),
            encap: None,
            mode: Mode::Tunnel,
            local_ts: vec![any()],
            remote_ts: vec![TsRange {
                start: host,
                end: host,
                protocol: 0,
                start_port: 0,
                end_port: 65535,
            }],
            inbound: keys(Encr::AesGcm16_128, 1),
            outbound: keys(Encr::AesGcm16_128, 2),
            lifetime: Lifetime::default(),
            replay_window: 64,
        };
        db.install(params, now).map_err(|e| e.to_string())?;
        spis.push(spi_in);
    }
    let install = t.elapsed();
    while db.poll_event().is_some() {}
    let t = Instant::now();
    let mut found = 0u64;
    for _ in 0..10 {
        for s in &spis {
            if db.lookup_inbound(*s).is_some() {
                found += 1;
            }
        }
    }
    let lookup = t.elapsed();
    Ok((install, lookup, found))
}

fn bench_esp(packets: u32) -> Result<(Duration, Duration), String> {
    let p = default_provider();
    let mut tx = EspEngine::new(p.clone());
    let mut rx = EspEngine::new(p);
    let now = Instant::now();
    let mut db = SaDb::new();
    let mk = |spi_in: u32, spi_out: u32, a: u8, b: u8| SaParams {
        ike_sa: 1,
        spi_in,
        spi_out,
        local: IpAddr::V4(Ipv4Addr::LOCALHOST),
        remote: IpAddr::V4(Ipv4Addr::LOCALHOST),
        encap: None,
        mode: Mode::Tunnel,
        local_ts: vec![any()],
        remote_ts: vec![any()],
        inbound: keys(Encr::AesGcm16_128, a),
        outbound: keys(Encr::AesGcm16_128, b),
        lifetime: Lifetime::default(),
        replay_window: 4096,
    };
    db.install(mk(0x1000, 0x2000, 1, 2), now)
        .map_err(|e| e.to_string())?;
    let e = db.lookup_inbound(0x1000).ok_or("no SA")?;
    tx.install(e).map_err(|e| e.to_string())?;
    let mut db2 = SaDb::new();
    db2.install(mk(0x2000, 0x1000, 2, 1), now)
        .map_err(|e| e.to_string())?;
    let e = db2.lookup_inbound(0x2000).ok_or("no SA")?;
    rx.install(e).map_err(|e| e.to_string())?;
    let payload = vec![0x45u8; 1400];
    let mut buf = vec![0u8; 1600];
    let mut seal = Duration::ZERO;
    let mut open = Duration::ZERO;
    for _ in 0..packets {
        let t = Instant::now();
        let n = tx
            .seal_pair(0x1000, &payload, 4, &mut buf)
            .map_err(|e| e.to_string())?;
        seal += t.elapsed();
        let t = Instant::now();
        rx.open(&mut buf[..n]).map_err(|e| e.to_string())?;
        open += t.elapsed();
    }
    Ok((seal, open))
}

fn per_sec(n: u64, d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        n as f64 / d.as_secs_f64()
    }
}

/// Runs the benchmarks.
pub fn run(args: BenchArgs) -> Result<(), String> {
    eprintln!(
        "negotiating {} IKE SAs in memory (ECDSA P-256 certificates, X25519, AES-GCM-128)...",
        args.sas
    );
    let ike = bench_ike(args.sas)?;
    eprintln!(
        "installing {} Child SAs in the SA database...",
        args.sadb_entries
    );
    let (install, lookup, found) = bench_sadb(args.sadb_entries)?;
    eprintln!("sealing and opening {} ESP packets...", args.packets);
    let (seal, open) = bench_esp(args.packets)?;
    let n = u64::from(ike.sas);
    let resp_us = ike.responder_cpu.as_secs_f64() * 1e6 / n as f64;
    let init_us = ike.initiator_cpu.as_secs_f64() * 1e6 / n as f64;
    let lookup_ns = lookup.as_secs_f64() * 1e9 / found.max(1) as f64;
    let v = json!({
        "ike": {
            "sas": ike.sas,
            "responder_us_per_sa": resp_us,
            "initiator_us_per_sa": init_us,
            "responder_sas_per_s": per_sec(n, ike.responder_cpu),
            "both_sides_sas_per_s": per_sec(n, ike.wall),
            "rss_bytes_per_sa_both_sides": ike.rss_per_sa_pair,
        },
        "sadb": {
            "entries": args.sadb_entries,
            "install_us_per_sa": install.as_secs_f64() * 1e6 / f64::from(args.sadb_entries),
            "lookup_inbound_ns": lookup_ns,
        },
        "esp": {
            "packets": args.packets,
            "payload_octets": 1400,
            "seal_packets_per_s": per_sec(u64::from(args.packets), seal),
            "open_packets_per_s": per_sec(u64::from(args.packets), open),
        },
    });
    if args.json {
        outln!("{v}");
        return Ok(());
    }
    outln!("Negotiator bench (single thread, this machine)\n");
    outln!(
        "IKEv2 SA setup, {} SAs (IKE_SA_INIT + IKE_AUTH with first Child SA)",
        ike.sas
    );
    let rate = per_sec(n, ike.responder_cpu);
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    outln!(
        "  responder CPU per SA   {resp_us:>9.1} µs   ({rate:.0} SAs/s; target 3,400/s per core: {})",
        met(rate >= 3400.0)
    );
    outln!("  initiator CPU per SA   {init_us:>9.1} µs");
    match ike.rss_per_sa_pair {
        Some(b) => outln!(
            "  RSS growth per SA      {b:>9} B    (both sides' state; target <= 2 KB per side: {})",
            met(b <= 4096)
        ),
        None => outln!("  RSS growth per SA      n/a"),
    }
    outln!("\nSA database, {} Child SAs", args.sadb_entries);
    outln!(
        "  install                {:>9.2} µs per SA",
        install.as_secs_f64() * 1e6 / f64::from(args.sadb_entries)
    );
    outln!("  lookup_inbound(spi)    {lookup_ns:>9.1} ns");
    outln!("\nESP, AES-GCM-128, 1400-octet payloads");
    outln!(
        "  seal                   {:>9.0} packets/s",
        per_sec(u64::from(args.packets), seal)
    );
    outln!(
        "  open                   {:>9.0} packets/s",
        per_sec(u64::from(args.packets), open)
    );
    Ok(())
}
