//! The userspace packet engine: SPI-indexed tables of [`EspSa`]s.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use negotiator_crypto::CryptoProvider;
use negotiator_sadb::{ChildSaEntry, Engine, EngineError};

use crate::{Decapsulated, EspError, EspSa};

/// Marks an outbound SPI shared by several SA pairs (0 is never a valid
/// inbound SPI, RFC 4303 §2.1).
const AMBIGUOUS: u32 = 0;

/// Userspace ESP engine.
///
/// Inbound SAs are found by the SPI in the packet (one hash probe).
/// Outbound SAs are stored per SA pair (keyed by the pair's inbound SPI)
/// with an index from the peer-chosen outbound SPI; two peers may pick the
/// same outbound SPI, in which case [`seal`](Self::seal) reports
/// [`EspError::AmbiguousSpi`] and [`seal_pair`](Self::seal_pair) must be used.
pub struct EspEngine {
    provider: Arc<dyn CryptoProvider>,
    inbound: HashMap<u32, EspSa>,
    /// spi_in of the pair → outbound SA.
    outbound: HashMap<u32, EspSa>,
    /// spi_out → spi_in of the pair, or [`AMBIGUOUS`].
    out_index: HashMap<u32, u32>,
}

impl fmt::Debug for EspEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EspEngine")
            .field("inbound", &self.inbound.len())
            .field("outbound", &self.outbound.len())
            .finish_non_exhaustive()
    }
}

impl EspEngine {
    /// An empty engine using `provider` for keys and random IVs.
    pub fn new(provider: Arc<dyn CryptoProvider>) -> Self {
        EspEngine {
            provider,
            inbound: HashMap::new(),
            outbound: HashMap::new(),
            out_index: HashMap::new(),
        }
    }

    /// Number of installed SA pairs.
    pub fn len(&self) -> usize {
        self.inbound.len()
    }

    /// True when no SA is installed.
    pub fn is_empty(&self) -> bool {
        self.inbound.is_empty()
    }

    /// The inbound SA for `spi_in`.
    pub fn inbound_sa(&self, spi_in: u32) -> Option<&EspSa> {
        self.inbound.get(&spi_in)
    }

    /// The outbound SA of the pair whose inbound SPI is `spi_in`.
    pub fn outbound_sa(&self, spi_in: u32) -> Option<&EspSa> {
        self.outbound.get(&spi_in)
    }

    /// Octets [`seal`](Self::seal) adds to `payload_len` octets on `spi_out`.
    pub fn overhead(&self, spi_out: u32, payload_len: usize) -> Result<usize, EspError> {
        let spi_in = self.resolve_out(spi_out)?;
        self.outbound
            .get(&spi_in)
            .map(|sa| sa.overhead(payload_len))
            .ok_or(EspError::UnknownSpi(spi_out))
    }

    fn resolve_out(&self, spi_out: u32) -> Result<u32, EspError> {
        match self.out_index.get(&spi_out) {
            None => Err(EspError::UnknownSpi(spi_out)),
            Some(&AMBIGUOUS) => Err(EspError::AmbiguousSpi(spi_out)),
            Some(&spi_in) => Ok(spi_in),
        }
    }

    /// Encapsulates `payload` on the SA whose outbound SPI is `spi_out`;
    /// returns the packet length written to `out`.
    pub fn seal(
        &mut self,
        spi_out: u32,
        payload: &[u8],
        next_header: u8,
        out: &mut [u8],
    ) -> Result<usize, EspError> {
        let spi_in = self.resolve_out(spi_out)?;
        self.seal_pair(spi_in, payload, next_header, out)
    }

    /// Encapsulates `payload` on the outbound half of the pair whose
    /// inbound SPI is `spi_in` (unambiguous even when outbound SPIs collide).
    pub fn seal_pair(
        &mut self,
        spi_in: u32,
        payload: &[u8],
        next_header: u8,
        out: &mut [u8],
    ) -> Result<usize, EspError> {
        let sa = self
            .outbound
            .get_mut(&spi_in)
            .ok_or(EspError::UnknownSpi(spi_in))?;
        sa.encapsulate(payload, next_header, self.provider.as_ref(), out)
    }

    /// Decapsulates `packet` in place using the SA named by its SPI.
    /// Returns that SPI and where the payload lies.
    pub fn open(&mut self, packet: &mut [u8]) -> Result<(u32, Decapsulated), EspError> {
        let spi = match packet {
            [a, b, c, d, _, _, _, _, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
            _ => return Err(EspError::Truncated),
        };
        let sa = self
            .inbound
            .get_mut(&spi)
            .ok_or(EspError::UnknownSpi(spi))?;
        let d = sa.decapsulate(packet)?;
        Ok((spi, d))
    }

    fn reindex_out(&mut self, spi_out: u32) {
        let owners: Vec<u32> = self
            .outbound
            .iter()
            .filter(|(_, sa)| sa.spi() == spi_out)
            .map(|(spi_in, _)| *spi_in)
            .collect();
        match owners.as_slice() {
            [] => {
                self.out_index.remove(&spi_out);
            }
            [one] => {
                self.out_index.insert(spi_out, *one);
            }
            _ => {
                self.out_index.insert(spi_out, AMBIGUOUS);
            }
        }
    }
}

fn engine_error(e: EspError) -> EngineError {
    match e {
        EspError::InvalidKeys(m) => EngineError::InvalidKeys(m),
        EspError::InvalidReplayWindow(_) => EngineError::Unsupported("replay window size"),
        other => EngineError::Backend(other.to_string()),
    }
}

impl Engine for EspEngine {
    fn install(&mut self, sa: &ChildSaEntry) -> Result<(), EngineError> {
        let p = &sa.params;
        if p.spi_in == AMBIGUOUS {
            return Err(EngineError::Unsupported("SPI 0"));
        }
        if self.inbound.contains_key(&p.spi_in) {
            return Err(EngineError::DuplicateSpi(p.spi_in));
        }
        let provider = self.provider.as_ref();
        let inbound = EspSa::inbound(p.spi_in, &p.inbound, p.replay_window, provider)
            .map_err(engine_error)?;
        let outbound = EspSa::outbound(p.spi_out, &p.outbound, provider).map_err(engine_error)?;
        self.inbound.insert(p.spi_in, inbound);
        self.outbound.insert(p.spi_in, outbound);
        self.out_index
            .entry(p.spi_out)
            .and_modify(|owner| *owner = AMBIGUOUS)
            .or_insert(p.spi_in);
        Ok(())
    }

    /// The outbound SA is found through `spi_in` (its pair), so `_spi_out`
    /// is not needed to disambiguate.
    fn remove(&mut self, spi_in: u32, _spi_out: u32) {
        self.inbound.remove(&spi_in);
        if let Some(sa) = self.outbound.remove(&spi_in) {
            let out = sa.spi();
            match self.out_index.get(&out) {
                Some(&owner) if owner == spi_in => {
                    self.out_index.remove(&out);
                }
                Some(&AMBIGUOUS) => self.reindex_out(out),
                _ => {}
            }
        }
    }
}
