//! The SA database proper: tables, indexes, acquires and timers.

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::types::{
    AcquireResult, ChildSaEntry, Engine, EngineError, SaParams, SaState, SaStats, SadbError,
    SadbEvent, TsRange,
};

/// SPIs 0..=255 are reserved (RFC 4303 §2.1).
const MAX_RESERVED_SPI: u32 = 255;
/// Default time an acquire may stay unanswered before it is failed.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on concurrently pending acquires.
pub const DEFAULT_MAX_PENDING_ACQUIRES: usize = 10_000;
/// Random attempts before falling back to a linear probe (broken RNG).
const RANDOM_SPI_ATTEMPTS: usize = 64;

/// One or more SPIs sharing a key in a secondary index. The common case
/// holds one value inline without a heap allocation.
#[derive(Debug, Clone)]
enum Slot {
    One(u32),
    Many(Box<[u32]>),
}

impl Slot {
    fn push(&mut self, v: u32) {
        match self {
            Slot::One(a) => *self = Slot::Many(Box::new([*a, v])),
            Slot::Many(list) => {
                let mut grown = list.to_vec();
                grown.push(v);
                *list = grown.into_boxed_slice();
            }
        }
    }

    /// Removes `v`; returns true when the slot became empty.
    fn remove(&mut self, v: u32) -> bool {
        match self {
            Slot::One(a) => *a == v,
            Slot::Many(list) => {
                let rest: Vec<u32> = list.iter().copied().filter(|x| *x != v).collect();
                match rest.as_slice() {
                    [] => true,
                    [one] => {
                        *self = Slot::One(*one);
                        false
                    }
                    _ => {
                        *list = rest.into_boxed_slice();
                        false
                    }
                }
            }
        }
    }

    fn as_slice(&self) -> &[u32] {
        match self {
            Slot::One(a) => std::slice::from_ref(a),
            Slot::Many(list) => list,
        }
    }
}

fn index_insert<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Slot>, key: K, v: u32) {
    match map.entry(key) {
        Entry::Occupied(mut e) => e.get_mut().push(v),
        Entry::Vacant(e) => {
            e.insert(Slot::One(v));
        }
    }
}

fn index_remove<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Slot>, key: K, v: u32) {
    if let Entry::Occupied(mut e) = map.entry(key)
        && e.get_mut().remove(v)
    {
        e.remove();
    }
}

/// A lifetime deadline of one SA (32 octets). Each SA has at most one live
/// timer: the soft deadline, then (once soft expired) the hard one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct SaTimer {
    at: Instant,
    serial: u64,
    spi_in: u32,
    hard: bool,
}

/// Deadline of a pending acquire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct AcquireTimer {
    at: Instant,
    acquire_id: u64,
    destination: IpAddr,
}

/// `addr` with all but the first `len` bits cleared.
fn network(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}

/// The selector as (network, prefix length) when its address range is
/// exactly a CIDR prefix.
fn as_prefix(ts: &TsRange) -> Option<(IpAddr, u8)> {
    // A prefix has start = network, end = network | host bits, where the
    // differing bits (start ^ end) are all trailing ones.
    let (is_prefix, len) = match (ts.start, ts.end) {
        (IpAddr::V4(s), IpAddr::V4(e)) => {
            let (s, e) = (u32::from(s), u32::from(e));
            let d = s ^ e;
            (
                d & d.wrapping_add(1) == 0 && s & d == 0 && e == s | d,
                d.leading_zeros(),
            )
        }
        (IpAddr::V6(s), IpAddr::V6(e)) => {
            let (s, e) = (u128::from(s), u128::from(e));
            let d = s ^ e;
            (
                d & d.wrapping_add(1) == 0 && s & d == 0 && e == s | d,
                d.leading_zeros(),
            )
        }
        _ => return None,
    };
    if !is_prefix {
        return None;
    }
    Some((ts.start, u8::try_from(len).ok()?))
}

/// Distinct prefix keys of `remote_ts`, and whether any selector is not a prefix.
fn classify_selectors(remote_ts: &[TsRange]) -> (Vec<(IpAddr, u8)>, bool) {
    let mut keys: Vec<(IpAddr, u8)> = Vec::new();
    let mut ranged = false;
    for ts in remote_ts {
        match as_prefix(ts) {
            Some(k) => {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
            None => ranged = true,
        }
    }
    (keys, ranged)
}

#[derive(Debug, Clone, Copy)]
struct PendingAcquire {
    acquire_id: u64,
}

/// The Security Association Database (RFC 4301 §4.4.2).
///
/// * Inbound lookup by SPI is one hash probe.
/// * Outbound lookup by destination is one hash probe per prefix length in
///   use for remote selectors that are CIDR prefixes (single hosts are /32
///   or /128: the road-warrior case is one probe; site-to-site subnets add
///   one probe per distinct length), plus a scan of the few SAs whose remote
///   selectors are arbitrary address ranges.
/// * Lifetimes are kept in a timer heap with lazy deletion; stale timers
///   are compacted away when they outnumber the live ones.
///
/// Time is always passed in; the database never reads the clock.
#[derive(Debug)]
pub struct SaDb {
    /// Entries are boxed so that the table's spare capacity costs a pointer
    /// per bucket rather than a whole entry.
    sas: HashMap<u32, Box<ChildSaEntry>>,
    /// spi_out → spi_in (peers choose their SPIs independently, so one
    /// spi_out can be shared by SAs to different peers).
    by_spi_out: HashMap<u32, Slot>,
    /// Remote selectors that are CIDR prefixes (a single host is a /32 or
    /// /128): (network, prefix length) → spi_in.
    by_prefix: HashMap<(IpAddr, u8), Slot>,
    /// Number of `by_prefix` keys per IPv4 prefix length 0..=32.
    v4_lens: [u32; 33],
    /// Number of `by_prefix` keys per IPv6 prefix length 0..=128.
    v6_lens: [u32; 129],
    /// spi_in of SAs with at least one remote selector that is not a prefix.
    ranged: Vec<u32>,
    reserved: HashSet<u32>,
    pending: HashMap<IpAddr, PendingAcquire>,
    timers: BinaryHeap<Reverse<SaTimer>>,
    acquire_timers: BinaryHeap<Reverse<AcquireTimer>>,
    events: VecDeque<SadbEvent>,
    next_serial: u64,
    next_acquire_id: u64,
    acquire_timeout: Duration,
    max_pending: usize,
}

impl Default for SaDb {
    fn default() -> Self {
        Self::new()
    }
}

impl SaDb {
    /// An empty database.
    pub fn new() -> Self {
        SaDb {
            sas: HashMap::new(),
            by_spi_out: HashMap::new(),
            by_prefix: HashMap::new(),
            v4_lens: [0; 33],
            v6_lens: [0; 129],
            ranged: Vec::new(),
            reserved: HashSet::new(),
            pending: HashMap::new(),
            timers: BinaryHeap::new(),
            acquire_timers: BinaryHeap::new(),
            events: VecDeque::new(),
            next_serial: 1,
            next_acquire_id: 1,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            max_pending: DEFAULT_MAX_PENDING_ACQUIRES,
        }
    }

    /// Sets how long an acquire may stay unanswered before it is failed
    /// with [`SadbEvent::AcquireFailed`] (default 30 s).
    pub fn set_acquire_timeout(&mut self, timeout: Duration) {
        self.acquire_timeout = timeout;
    }

    /// Caps the number of concurrently pending acquires (default 10,000), so
    /// traffic towards many distinct destinations cannot grow the table
    /// without bound. Over the cap, [`acquire`](Self::acquire) answers
    /// [`AcquireResult::Pending`] without registering anything; a later call
    /// starts the negotiation once earlier acquires finished or timed out.
    pub fn set_max_pending_acquires(&mut self, max: usize) {
        self.max_pending = max;
    }

    fn spi_free(&self, spi: u32) -> bool {
        spi > MAX_RESERVED_SPI && !self.sas.contains_key(&spi) && !self.reserved.contains(&spi)
    }

    /// Allocates a random inbound SPI that is not reserved by RFC 4303
    /// (0..=255), not installed and not already allocated. It stays reserved
    /// until [`install`](Self::install) or [`release_spi`](Self::release_spi).
    ///
    /// `rng` fills its argument with random octets. Should it keep producing
    /// taken values, the search continues linearly so that it always ends.
    pub fn allocate_spi(&mut self, rng: &mut dyn FnMut(&mut [u8])) -> u32 {
        let mut candidate = 0u32;
        for _ in 0..RANDOM_SPI_ATTEMPTS {
            let mut b = [0u8; 4];
            rng(&mut b);
            candidate = u32::from_be_bytes(b);
            if self.spi_free(candidate) {
                self.reserved.insert(candidate);
                return candidate;
            }
        }
        let mut c = candidate.max(MAX_RESERVED_SPI + 1);
        // At most 2^32 - 256 SPIs can be taken, and memory runs out long
        // before, so this probe finds a free value.
        while !self.spi_free(c) {
            c = if c == u32::MAX {
                MAX_RESERVED_SPI + 1
            } else {
                c + 1
            };
        }
        self.reserved.insert(c);
        c
    }

    /// Returns an allocated but not installed SPI to the pool.
    pub fn release_spi(&mut self, spi: u32) {
        self.reserved.remove(&spi);
    }

    /// True when `spi` is allocated and waiting for installation.
    pub fn is_reserved(&self, spi: u32) -> bool {
        self.reserved.contains(&spi)
    }

    /// Asks for an outbound SA towards `destination`.
    ///
    /// Returns [`AcquireResult::Established`] when an installed SA's remote
    /// selectors cover it; [`AcquireResult::Pending`] when a negotiation is
    /// already running (or the cap of
    /// [`set_max_pending_acquires`](Self::set_max_pending_acquires) is
    /// reached); otherwise registers a new acquire, emits
    /// [`SadbEvent::Acquire`] and returns [`AcquireResult::Start`].
    pub fn acquire(&mut self, destination: IpAddr, now: Instant) -> AcquireResult {
        if let Some(sa) = self.outbound_for(destination) {
            return AcquireResult::Established {
                spi_out: sa.params.spi_out,
            };
        }
        if self.pending.contains_key(&destination) || self.pending.len() >= self.max_pending {
            return AcquireResult::Pending;
        }
        let acquire_id = self.next_acquire_id;
        self.next_acquire_id += 1;
        self.pending
            .insert(destination, PendingAcquire { acquire_id });
        if let Some(at) = now.checked_add(self.acquire_timeout) {
            self.acquire_timers.push(Reverse(AcquireTimer {
                at,
                acquire_id,
                destination,
            }));
        }
        self.events.push_back(SadbEvent::Acquire {
            acquire_id,
            destination,
        });
        AcquireResult::Start { acquire_id }
    }

    /// Reports that negotiating for `destination` failed; the next
    /// [`acquire`](Self::acquire) starts afresh. Emits
    /// [`SadbEvent::AcquireFailed`] when an acquire was pending.
    pub fn acquire_failed(&mut self, destination: IpAddr) {
        if let Some(p) = self.pending.remove(&destination) {
            self.events.push_back(SadbEvent::AcquireFailed {
                acquire_id: p.acquire_id,
                destination,
            });
        }
        self.prune_top();
    }

    /// Number of acquires waiting for a negotiation result.
    pub fn pending_acquires(&self) -> usize {
        self.pending.len()
    }

    /// Installs an SA pair. Emits [`SadbEvent::Installed`] and resolves the
    /// pending acquires whose destination it covers.
    pub fn install(&mut self, params: SaParams, now: Instant) -> Result<(), SadbError> {
        Self::validate(&params)?;
        if self.sas.contains_key(&params.spi_in) {
            return Err(SadbError::DuplicateSpi(params.spi_in));
        }
        if let Some(slot) = self.by_spi_out.get(&params.spi_out) {
            let clash = slot.as_slice().iter().any(|s| {
                self.sas
                    .get(s)
                    .is_some_and(|e| e.params.remote == params.remote)
            });
            if clash {
                return Err(SadbError::DuplicateOutboundSpi(params.spi_out));
            }
        }

        let spi_in = params.spi_in;
        let spi_out = params.spi_out;
        let serial = self.next_serial;
        self.next_serial += 1;
        self.reserved.remove(&spi_in);

        index_insert(&mut self.by_spi_out, spi_out, spi_in);
        let (prefixes, is_ranged) = classify_selectors(&params.remote_ts);
        for key in prefixes {
            index_insert(&mut self.by_prefix, key, spi_in);
            self.count_len(key, true);
        }
        if is_ranged {
            self.ranged.push(spi_in);
        }

        let lt = params.lifetime;
        let deadline =
            |secs: Option<u64>| secs.and_then(|v| now.checked_add(Duration::from_secs(v)));
        if let Some(at) = deadline(lt.soft_secs) {
            self.timers.push(Reverse(SaTimer {
                at,
                serial,
                spi_in,
                hard: false,
            }));
        } else if let Some(at) = deadline(lt.hard_secs) {
            self.timers.push(Reverse(SaTimer {
                at,
                serial,
                spi_in,
                hard: true,
            }));
        }

        let entry = ChildSaEntry {
            params,
            installed_at: now,
            state: SaState::Active,
            stats: SaStats::default(),
            serial,
        };
        self.pending.retain(|dest, _| !entry.covers(*dest));
        self.sas.insert(spi_in, Box::new(entry));
        self.prune_top();
        self.events
            .push_back(SadbEvent::Installed { spi_in, spi_out });
        self.maybe_compact();
        Ok(())
    }

    fn validate(p: &SaParams) -> Result<(), SadbError> {
        for spi in [p.spi_in, p.spi_out] {
            if spi <= MAX_RESERVED_SPI {
                return Err(SadbError::ReservedSpi(spi));
            }
        }
        if p.local.is_ipv4() != p.remote.is_ipv4() {
            return Err(SadbError::InvalidParams(
                "local and remote address families differ",
            ));
        }
        if p.local_ts.is_empty() || p.remote_ts.is_empty() {
            return Err(SadbError::InvalidParams("empty traffic selector list"));
        }
        if !p.local_ts.iter().chain(&p.remote_ts).all(|t| t.is_valid()) {
            return Err(SadbError::InvalidParams("malformed traffic selector"));
        }
        if p.replay_window != 0 && !(32..=65536).contains(&p.replay_window) {
            return Err(SadbError::InvalidParams(
                "replay window must be 0 or 32..=65536",
            ));
        }
        p.lifetime.validate().map_err(SadbError::InvalidParams)?;
        p.inbound.validate().map_err(SadbError::InvalidKeys)?;
        p.outbound.validate().map_err(SadbError::InvalidKeys)?;
        Ok(())
    }

    /// The SA for inbound packets carrying `spi`.
    pub fn lookup_inbound(&self, spi: u32) -> Option<&ChildSaEntry> {
        self.sas.get(&spi).map(|b| &**b)
    }

    /// Mutable access to the SA for inbound packets carrying `spi`.
    pub fn lookup_inbound_mut(&mut self, spi: u32) -> Option<&mut ChildSaEntry> {
        self.sas.get_mut(&spi).map(|b| &mut **b)
    }

    /// The installed SAs whose outbound SPI is `spi_out` (normally one; SAs
    /// to different peers may share a value).
    pub fn lookup_outbound(&self, spi_out: u32) -> impl Iterator<Item = &ChildSaEntry> {
        self.by_spi_out
            .get(&spi_out)
            .map(Slot::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(|s| self.sas.get(s).map(|b| &**b))
    }

    /// The newest installed SA whose remote selectors cover `destination`
    /// (so traffic moves to a rekeyed SA as soon as it is installed).
    pub fn outbound_for(&self, destination: IpAddr) -> Option<&ChildSaEntry> {
        let lens: &[u32] = match destination {
            IpAddr::V4(_) => &self.v4_lens,
            IpAddr::V6(_) => &self.v6_lens,
        };
        let prefixed = lens
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .filter_map(move |(len, _)| {
                let len = u8::try_from(len).ok()?;
                self.by_prefix.get(&(network(destination, len), len))
            })
            .flat_map(Slot::as_slice)
            .filter_map(|s| self.sas.get(s).map(|b| &**b));
        let ranged = self
            .ranged
            .iter()
            .filter_map(|s| self.sas.get(s).map(|b| &**b))
            .filter(|e| e.covers(destination));
        prefixed.chain(ranged).max_by_key(|e| e.serial)
    }

    /// Counts one received packet of `bytes` payload octets on `spi_in`.
    /// May emit [`SadbEvent::SoftExpired`], or remove the SA and emit
    /// [`SadbEvent::HardExpired`] + [`SadbEvent::Deleted`].
    pub fn record_inbound(&mut self, spi_in: u32, bytes: u64, now: Instant) {
        let Some(e) = self.sas.get_mut(&spi_in) else {
            return;
        };
        e.stats.packets_in = e.stats.packets_in.saturating_add(1);
        e.stats.bytes_in = e.stats.bytes_in.saturating_add(bytes);
        e.stats.last_in = Some(now);
        self.check_volume(spi_in);
    }

    /// Counts one sent packet of `bytes` payload octets on `spi_out`.
    ///
    /// When several SAs (to different peers) share `spi_out`, the newest is
    /// charged; use [`record_outbound_pair`](Self::record_outbound_pair)
    /// to name the SA unambiguously.
    pub fn record_outbound(&mut self, spi_out: u32, bytes: u64, now: Instant) {
        let spi_in = self
            .lookup_outbound(spi_out)
            .max_by_key(|e| e.serial)
            .map(|e| e.params.spi_in);
        if let Some(spi_in) = spi_in {
            self.record_outbound_pair(spi_in, bytes, now);
        }
    }

    /// Counts one sent packet on the SA identified by its inbound SPI.
    pub fn record_outbound_pair(&mut self, spi_in: u32, bytes: u64, now: Instant) {
        let Some(e) = self.sas.get_mut(&spi_in) else {
            return;
        };
        e.stats.packets_out = e.stats.packets_out.saturating_add(1);
        e.stats.bytes_out = e.stats.bytes_out.saturating_add(bytes);
        e.stats.last_out = Some(now);
        self.check_volume(spi_in);
    }

    /// Counts a packet dropped by the anti-replay check.
    pub fn record_replay_drop(&mut self, spi_in: u32) {
        if let Some(e) = self.sas.get_mut(&spi_in) {
            e.stats.replay_drops = e.stats.replay_drops.saturating_add(1);
        }
    }

    /// Counts a packet whose ICV failed to verify.
    pub fn record_auth_failure(&mut self, spi_in: u32) {
        if let Some(e) = self.sas.get_mut(&spi_in) {
            e.stats.auth_failures = e.stats.auth_failures.saturating_add(1);
        }
    }

    fn check_volume(&mut self, spi_in: u32) {
        let Some(e) = self.sas.get_mut(&spi_in) else {
            return;
        };
        let lt = e.params.lifetime;
        let s = e.stats;
        let reached = |limit: Option<u64>, a: u64, b: u64| limit.is_some_and(|l| a >= l || b >= l);
        let hard = reached(lt.hard_bytes, s.bytes_in, s.bytes_out)
            || reached(lt.hard_packets, s.packets_in, s.packets_out);
        if hard {
            self.expire_hard(spi_in);
            return;
        }
        let soft = reached(lt.soft_bytes, s.bytes_in, s.bytes_out)
            || reached(lt.soft_packets, s.packets_in, s.packets_out);
        if soft && e.state == SaState::Active {
            self.enter_soft(spi_in);
            self.prune_top();
        }
    }

    fn expire_hard(&mut self, spi_in: u32) {
        if let Some(e) = self.remove_entry(spi_in) {
            self.events.push_back(SadbEvent::HardExpired { spi_in });
            self.events.push_back(SadbEvent::Deleted {
                spi_in,
                spi_out: e.params.spi_out,
            });
        }
        self.prune_top();
    }

    fn remove_entry(&mut self, spi_in: u32) -> Option<ChildSaEntry> {
        let e = self.sas.remove(&spi_in)?;
        index_remove(&mut self.by_spi_out, e.params.spi_out, spi_in);
        let (prefixes, ranged) = classify_selectors(&e.params.remote_ts);
        for key in prefixes {
            index_remove(&mut self.by_prefix, key, spi_in);
            self.count_len(key, false);
        }
        if ranged && let Some(pos) = self.ranged.iter().position(|s| *s == spi_in) {
            self.ranged.swap_remove(pos);
        }
        Some(*e)
    }

    /// Removes an SA; emits [`SadbEvent::Deleted`] when it existed.
    pub fn delete(&mut self, spi_in: u32) -> Option<ChildSaEntry> {
        let e = self.remove_entry(spi_in)?;
        self.events.push_back(SadbEvent::Deleted {
            spi_in,
            spi_out: e.params.spi_out,
        });
        self.prune_top();
        Some(e)
    }

    /// Inbound SPIs of all SAs owned by the IKE SA `ike_sa` (a scan).
    pub fn spis_of_ike_sa(&self, ike_sa: u64) -> Vec<u32> {
        self.sas
            .values()
            .filter(|e| e.params.ike_sa == ike_sa)
            .map(|e| e.params.spi_in)
            .collect()
    }

    /// Processes every timer due at `now`: soft expiry (emits
    /// [`SadbEvent::SoftExpired`]), hard expiry (removes the SA, emits
    /// [`SadbEvent::HardExpired`] and [`SadbEvent::Deleted`]) and acquire
    /// timeouts (emits [`SadbEvent::AcquireFailed`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse(t)) = self.timers.peek().copied() {
            if t.at > now {
                break;
            }
            self.timers.pop();
            if !self.sa_timer_live(&t) {
                continue;
            }
            if t.hard {
                self.expire_hard(t.spi_in);
            } else {
                self.enter_soft(t.spi_in);
            }
        }
        while let Some(Reverse(t)) = self.acquire_timers.peek().copied() {
            if t.at > now {
                break;
            }
            self.acquire_timers.pop();
            if self.acquire_timer_live(&t) {
                self.acquire_failed(t.destination);
            }
        }
        self.prune_top();
    }

    /// The earliest instant at which [`handle_timeout`](Self::handle_timeout)
    /// has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let sa = self.timers.peek().map(|Reverse(t)| t.at);
        let acq = self.acquire_timers.peek().map(|Reverse(t)| t.at);
        match (sa, acq) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Takes the next pending event.
    pub fn poll_event(&mut self) -> Option<SadbEvent> {
        self.events.pop_front()
    }

    /// Mirrors one event into a packet engine: [`SadbEvent::Installed`]
    /// installs the SA (which must still be in the database),
    /// [`SadbEvent::Deleted`] removes it; other events need no engine action.
    pub fn apply_to_engine(
        &self,
        event: &SadbEvent,
        engine: &mut dyn Engine,
    ) -> Result<(), EngineError> {
        match *event {
            SadbEvent::Installed { spi_in, .. } => match self.lookup_inbound(spi_in) {
                Some(sa) => engine.install(sa),
                // Deleted again before the event was handled: nothing to do.
                None => Ok(()),
            },
            SadbEvent::Deleted { spi_in, spi_out } => {
                engine.remove(spi_in, spi_out);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// All installed SAs, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &ChildSaEntry> {
        self.sas.values().map(|b| &**b)
    }

    /// Number of installed SAs.
    pub fn len(&self) -> usize {
        self.sas.len()
    }

    /// True when no SA is installed.
    pub fn is_empty(&self) -> bool {
        self.sas.is_empty()
    }

    /// Marks the SA soft-expired, emits the event and schedules its hard
    /// deadline (if any).
    fn enter_soft(&mut self, spi_in: u32) {
        let Some(e) = self.sas.get_mut(&spi_in) else {
            return;
        };
        if e.state != SaState::Active {
            return;
        }
        e.state = SaState::SoftExpired;
        let hard_at = e
            .params
            .lifetime
            .hard_secs
            .and_then(|v| e.installed_at.checked_add(Duration::from_secs(v)));
        let serial = e.serial;
        self.events.push_back(SadbEvent::SoftExpired { spi_in });
        if let Some(at) = hard_at {
            self.timers.push(Reverse(SaTimer {
                at,
                serial,
                spi_in,
                hard: true,
            }));
        }
    }

    fn sa_timer_live(&self, t: &SaTimer) -> bool {
        self.sas
            .get(&t.spi_in)
            .is_some_and(|e| e.serial == t.serial && (t.hard || e.state == SaState::Active))
    }

    fn acquire_timer_live(&self, t: &AcquireTimer) -> bool {
        self.pending
            .get(&t.destination)
            .is_some_and(|p| p.acquire_id == t.acquire_id)
    }

    fn count_len(&mut self, (net, len): (IpAddr, u8), add: bool) {
        let slot = match net {
            IpAddr::V4(_) => self.v4_lens.get_mut(usize::from(len)),
            IpAddr::V6(_) => self.v6_lens.get_mut(usize::from(len)),
        };
        if let Some(n) = slot {
            *n = if add {
                n.saturating_add(1)
            } else {
                n.saturating_sub(1)
            };
        }
    }

    /// Pops stale timers off the top of the heap so that
    /// [`poll_timeout`](Self::poll_timeout) reports a live deadline.
    fn prune_top(&mut self) {
        while let Some(Reverse(t)) = self.timers.peek() {
            if self.sa_timer_live(t) {
                break;
            }
            self.timers.pop();
        }
        while let Some(Reverse(t)) = self.acquire_timers.peek() {
            if self.acquire_timer_live(t) {
                break;
            }
            self.acquire_timers.pop();
        }
    }

    /// Drops timers of deleted SAs when they make up most of the heap, so
    /// its size stays proportional to the live SAs.
    fn maybe_compact(&mut self) {
        // Live SA timers: at most two per SA (a stale soft one may linger
        // next to the hard one after a volume-based soft expiry).
        let live_bound = 2 * self.sas.len();
        if self.timers.len() > 1024 && self.timers.len() > 2 * live_bound {
            let timers = std::mem::take(&mut self.timers).into_vec();
            let kept: Vec<_> = timers
                .into_iter()
                .filter(|Reverse(t)| self.sa_timer_live(t))
                .collect();
            self.timers = BinaryHeap::from(kept);
        }
        let pending = self.pending.len();
        if self.acquire_timers.len() > 1024 && self.acquire_timers.len() > 2 * pending {
            let timers = std::mem::take(&mut self.acquire_timers).into_vec();
            let kept: Vec<_> = timers
                .into_iter()
                .filter(|Reverse(t)| self.acquire_timer_live(t))
                .collect();
            self.acquire_timers = BinaryHeap::from(kept);
        }
    }
}
