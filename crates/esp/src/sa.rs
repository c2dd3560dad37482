//! One direction of an ESP security association: packet layout and crypto.
//!
//! ```text
//!  0                   1                   2                   3
//! +-------------------------------------------------------------+
//! | SPI (4) | Sequence Number (4) | IV (8 GCM / 16 CBC)          |
//! +-------------------------------------------------------------+
//! | encrypted: payload | padding 1,2,3.. | pad len | next header |
//! +-------------------------------------------------------------+
//! | ICV (16 GCM / truncated HMAC for CBC)                        |
//! +-------------------------------------------------------------+
//! ```

use core::fmt;
use core::ops::Range;

use negotiator_crypto::{CipherKey, CryptoError, CryptoProvider, Encr, IntegKey};
use negotiator_sadb::SaKeys;

use crate::{EspError, ReplayWindow};

/// SPI + sequence number.
const HEADER_LEN: usize = 8;

/// Result of [`EspSa::decapsulate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decapsulated {
    /// Where the decrypted payload lies inside the packet buffer.
    pub payload: Range<usize>,
    /// The Next Header field (4 = IPv4, 41 = IPv6, 59 = dummy packet to be
    /// discarded, or an upper-layer protocol in transport mode).
    pub next_header: u8,
}

/// Per-SA counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EspStats {
    /// Packets successfully sealed or opened.
    pub packets: u64,
    /// Payload octets of those packets.
    pub bytes: u64,
    /// Packets refused by the anti-replay window.
    pub replay_drops: u64,
    /// Packets whose ICV did not verify.
    pub auth_failures: u64,
    /// Authentic packets dropped for a malformed trailer, or packets with a
    /// structurally impossible length.
    pub malformed: u64,
}

/// One direction of an ESP SA.
pub struct EspSa {
    spi: u32,
    encr: Encr,
    cipher: Box<dyn CipherKey>,
    integ: Option<Box<dyn IntegKey>>,
    icv_len: usize,
    /// Outbound: last sequence number sent (0 = none yet).
    last_seq: u32,
    inbound: bool,
    /// Inbound only; `None` when anti-replay is disabled.
    replay: Option<ReplayWindow>,
    stats: EspStats,
}

impl fmt::Debug for EspSa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EspSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("encr", &self.encr)
            .field("integ", &self.integ.as_ref().map(|i| i.alg()))
            .field("inbound", &self.inbound)
            .field("last_seq", &self.last_seq)
            .field("replay", &self.replay)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn crypto_key_error(e: CryptoError) -> EspError {
    match e {
        CryptoError::InvalidKeyLength => EspError::InvalidKeys("key length"),
        other => EspError::Crypto(other),
    }
}

impl EspSa {
    fn build(
        spi: u32,
        keys: &SaKeys,
        inbound: bool,
        replay: Option<ReplayWindow>,
        provider: &dyn CryptoProvider,
    ) -> Result<Self, EspError> {
        keys.validate().map_err(EspError::InvalidKeys)?;
        let cipher = provider
            .cipher_key(keys.encr, keys.enc_key.as_bytes())
            .map_err(crypto_key_error)?;
        let (integ, icv_len) = match keys.integ {
            Some(alg) => {
                let k = provider
                    .integ_key(alg, keys.integ_key.as_bytes())
                    .map_err(crypto_key_error)?;
                (Some(k), alg.icv_len())
            }
            None => (None, keys.encr.icv_len()),
        };
        Ok(EspSa {
            spi,
            encr: keys.encr,
            cipher,
            integ,
            icv_len,
            last_seq: 0,
            inbound,
            replay,
            stats: EspStats::default(),
        })
    }

    /// An SA for sending with the peer's `spi`.
    pub fn outbound(
        spi: u32,
        keys: &SaKeys,
        provider: &dyn CryptoProvider,
    ) -> Result<Self, EspError> {
        Self::build(spi, keys, false, None, provider)
    }

    /// An SA for receiving packets with our `spi`; `replay_window` is 0
    /// (anti-replay disabled) or a window size in 32..=65536.
    pub fn inbound(
        spi: u32,
        keys: &SaKeys,
        replay_window: u32,
        provider: &dyn CryptoProvider,
    ) -> Result<Self, EspError> {
        let replay = if replay_window == 0 {
            None
        } else {
            Some(
                ReplayWindow::new(replay_window)
                    .map_err(|_| EspError::InvalidReplayWindow(replay_window))?,
            )
        };
        Self::build(spi, keys, true, replay, provider)
    }

    /// The SPI carried in this SA's packets.
    pub fn spi(&self) -> u32 {
        self.spi
    }

    /// True for an inbound (receiving) SA.
    pub fn is_inbound(&self) -> bool {
        self.inbound
    }

    /// The encryption algorithm.
    pub fn encr(&self) -> Encr {
        self.encr
    }

    /// Outbound: the last sequence number used (0 before the first packet).
    pub fn last_sequence(&self) -> u32 {
        self.last_seq
    }

    /// The anti-replay window (inbound SAs with anti-replay enabled).
    pub fn replay_window(&self) -> Option<&ReplayWindow> {
        self.replay.as_ref()
    }

    /// Counters.
    pub fn stats(&self) -> EspStats {
        self.stats
    }

    /// Length of the encrypted part for a payload of `payload_len` octets:
    /// payload + 2 trailer octets rounded up to the cipher's block length.
    fn encrypted_len(&self, payload_len: usize) -> Option<usize> {
        let block = self.encr.block_len().max(1);
        payload_len.checked_add(2)?.checked_next_multiple_of(block)
    }

    /// Octets [`encapsulate`](Self::encapsulate) adds to a payload of
    /// `payload_len` octets (header, IV, padding, trailer and ICV).
    pub fn overhead(&self, payload_len: usize) -> usize {
        let enc = self
            .encrypted_len(payload_len)
            .unwrap_or(payload_len)
            .saturating_sub(payload_len);
        HEADER_LEN + self.encr.iv_len() + enc + self.icv_len
    }

    /// Writes SPI | Seq | IV | enc(payload | padding 1,2,3.. | pad len |
    /// next header) | ICV into `out` and returns its length.
    ///
    /// GCM: the IV is the 64-bit sequence counter (RFC 4106 §3.1) and the
    /// AAD is SPI || Seq (no ESN). CBC: the IV is random from `provider` and
    /// the ICV is the truncated HMAC over SPI..ciphertext. Sequence numbers
    /// start at 1; after 2^32 - 1 the SA refuses with
    /// [`EspError::SequenceExhausted`] and must be rekeyed.
    pub fn encapsulate(
        &mut self,
        payload: &[u8],
        next_header: u8,
        provider: &dyn CryptoProvider,
        out: &mut [u8],
    ) -> Result<usize, EspError> {
        if self.inbound {
            return Err(EspError::WrongDirection);
        }
        let seq = self
            .last_seq
            .checked_add(1)
            .ok_or(EspError::SequenceExhausted)?;
        let iv_len = self.encr.iv_len();
        let enc_len = self
            .encrypted_len(payload.len())
            .ok_or(EspError::BufferTooSmall { needed: usize::MAX })?;
        let needed = HEADER_LEN
            .checked_add(iv_len)
            .and_then(|n| n.checked_add(enc_len))
            .and_then(|n| n.checked_add(self.icv_len))
            .ok_or(EspError::BufferTooSmall { needed: usize::MAX })?;
        let out = out
            .get_mut(..needed)
            .ok_or(EspError::BufferTooSmall { needed })?;

        let (header, rest) = out.split_at_mut(HEADER_LEN);
        let (iv, rest) = rest.split_at_mut(iv_len);
        let (data, icv) = rest.split_at_mut(enc_len);
        header[..4].copy_from_slice(&self.spi.to_be_bytes());
        header[4..].copy_from_slice(&seq.to_be_bytes());
        if self.encr.is_aead() {
            iv.copy_from_slice(&u64::from(seq).to_be_bytes());
        } else {
            provider.fill_random(iv)?;
        }

        let pad_len = enc_len - payload.len() - 2;
        let (body, trailer) = data.split_at_mut(payload.len());
        body.copy_from_slice(payload);
        let (padding, tail) = trailer.split_at_mut(pad_len);
        for (i, b) in padding.iter_mut().enumerate() {
            // pad_len < block length (16), so i + 1 fits in a u8.
            *b = (i + 1) as u8;
        }
        // tail is exactly [pad length, next header]
        if let [pl, nh] = tail {
            *pl = pad_len as u8;
            *nh = next_header;
        }

        if self.encr.is_aead() {
            self.cipher.encrypt(iv, header, data, icv)?;
        } else {
            self.cipher.encrypt(iv, &[], data, &mut [])?;
            if let Some(integ) = &self.integ {
                integ.compute(&[header, iv, data], icv);
            }
        }
        self.last_seq = seq;
        self.stats.packets += 1;
        self.stats.bytes += payload.len() as u64;
        Ok(needed)
    }

    fn min_packet_len(&self) -> usize {
        // Smallest encrypted part: 2 trailer octets rounded to the block.
        HEADER_LEN + self.encr.iv_len() + self.encr.block_len().max(2) + self.icv_len
    }

    /// Opens `packet` in place.
    ///
    /// Checks the length and SPI, pre-checks the anti-replay window, verifies
    /// the ICV in constant time, decrypts, checks the padding (1, 2, 3, ...)
    /// and only then records the sequence number in the window. Returns where
    /// the payload lies inside `packet` and the next header. Replay drops and
    /// ICV failures are counted in [`stats`](Self::stats).
    pub fn decapsulate(&mut self, packet: &mut [u8]) -> Result<Decapsulated, EspError> {
        if !self.inbound {
            return Err(EspError::WrongDirection);
        }
        if packet.len() < self.min_packet_len() {
            self.stats.malformed += 1;
            return Err(EspError::Truncated);
        }
        let iv_len = self.encr.iv_len();
        let enc_len = packet.len() - HEADER_LEN - iv_len - self.icv_len;
        let (header, rest) = packet.split_at_mut(HEADER_LEN);
        let (iv, rest) = rest.split_at_mut(iv_len);
        let (data, icv) = rest.split_at_mut(enc_len);

        let found = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        if found != self.spi {
            return Err(EspError::SpiMismatch {
                expected: self.spi,
                found,
            });
        }
        let seq = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        if let Some(w) = &self.replay
            && let Err(e) = w.check(u64::from(seq))
        {
            self.stats.replay_drops += 1;
            return Err(EspError::Replay(e));
        }
        if !self.encr.is_aead() && !enc_len.is_multiple_of(self.encr.block_len()) {
            self.stats.malformed += 1;
            return Err(EspError::Malformed(
                "ciphertext is not a multiple of the block size",
            ));
        }

        if self.encr.is_aead() {
            match self.cipher.decrypt(iv, header, data, icv) {
                Ok(()) => {}
                Err(CryptoError::IntegrityFailed) => {
                    data.fill(0);
                    self.stats.auth_failures += 1;
                    return Err(EspError::AuthFailed);
                }
                Err(e) => return Err(EspError::Crypto(e)),
            }
        } else {
            let ok = self
                .integ
                .as_ref()
                .is_some_and(|k| k.verify(&[header, iv, data], icv));
            if !ok {
                self.stats.auth_failures += 1;
                return Err(EspError::AuthFailed);
            }
            self.cipher.decrypt(iv, &[], data, &[])?;
        }

        // The packet is authentic: its sequence number is consumed.
        if let Some(w) = &mut self.replay {
            w.update(u64::from(seq));
        }

        let (next_header, pad_len) = match data {
            [.., pl, nh] => (*nh, usize::from(*pl)),
            _ => {
                self.stats.malformed += 1;
                return Err(EspError::BadPadding);
            }
        };
        let Some(payload_len) = enc_len.checked_sub(pad_len + 2) else {
            self.stats.malformed += 1;
            return Err(EspError::BadPadding);
        };
        let padding = data.get(payload_len..enc_len - 2).unwrap_or(&[]);
        let monotonic = padding
            .iter()
            .enumerate()
            .all(|(i, b)| usize::from(*b) == i + 1);
        if !monotonic {
            self.stats.malformed += 1;
            return Err(EspError::BadPadding);
        }
        self.stats.packets += 1;
        self.stats.bytes += payload_len as u64;
        let start = HEADER_LEN + iv_len;
        Ok(Decapsulated {
            payload: start..start + payload_len,
            next_header,
        })
    }

    /// Test hook: pretend `last` sequence numbers were already sent.
    #[cfg(test)]
    pub(crate) fn set_last_sequence(&mut self, last: u32) {
        self.last_seq = last;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use negotiator_crypto::{Secret, default_provider};

    fn keys() -> SaKeys {
        SaKeys {
            encr: Encr::AesGcm16_128,
            enc_key: Secret::new(vec![7; 20]),
            integ: None,
            integ_key: Secret::new(Vec::new()),
        }
    }

    #[test]
    fn sequence_exhaustion() {
        let p = default_provider();
        let mut out = [0u8; 128];
        let mut sa = EspSa::outbound(0x1000, &keys(), p.as_ref()).unwrap();
        sa.set_last_sequence(u32::MAX - 1);
        // 2^32 - 1 is the last valid sequence number (RFC 4303 §3.3.3)
        let n = sa.encapsulate(b"x", 4, p.as_ref(), &mut out).unwrap();
        assert_eq!(&out[4..8], &[0xff, 0xff, 0xff, 0xff]);
        assert!(n > 0);
        assert_eq!(
            sa.encapsulate(b"x", 4, p.as_ref(), &mut out),
            Err(EspError::SequenceExhausted)
        );
        assert_eq!(sa.stats().packets, 1);
    }
}
