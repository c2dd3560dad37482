//! Anti-replay window (RFC 4303 §3.4.3 and Appendix A).
//!
//! The window is a ring of 64-bit words in the style of RFC 6479: sliding
//! the window forward only clears the words that fall out of it, so the
//! cost of an update is bounded by the number of words, never by the size
//! of the jump, and no memory is allocated after construction.

use core::fmt;

/// Smallest accepted window size (RFC 4303 §3.4.3: "a minimum window size of 32").
pub const MIN_WINDOW: u32 = 32;
/// Largest accepted window size.
pub const MAX_WINDOW: u32 = 65536;
/// Window size used when none is configured (RFC 4303 §3.4.3 default).
pub const DEFAULT_WINDOW: u32 = 64;

/// Why a sequence number was refused by the anti-replay check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReplayError {
    /// The sequence number lies inside the window and was already received.
    Duplicate,
    /// The sequence number lies to the left of the window (or is zero, which
    /// a sender never uses).
    TooOld,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Duplicate => f.write_str("duplicate sequence number"),
            ReplayError::TooOld => f.write_str("sequence number left of the replay window"),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Error returned when a window size is outside `32..=65536`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidWindowSize(pub u32);

impl fmt::Display for InvalidWindowSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replay window size {} outside {MIN_WINDOW}..={MAX_WINDOW}",
            self.0
        )
    }
}

impl std::error::Error for InvalidWindowSize {}

/// Sliding anti-replay window over 64-bit sequence numbers.
///
/// A sequence number `s` is acceptable when `s > top` (right of the window)
/// or when `top - s < size` and `s` has not been seen yet. The bitmap is only
/// changed by [`ReplayWindow::update`], which the caller must invoke only
/// after the packet's integrity check value verified.
#[derive(Clone)]
pub struct ReplayWindow {
    /// Configured window size in packets.
    size: u64,
    /// Highest sequence number accepted so far (0 = none yet).
    top: u64,
    /// Ring of bitmap words; word `(s / 64) % len`, bit `s % 64` records `s`.
    words: Box<[u64]>,
}

impl fmt::Debug for ReplayWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayWindow")
            .field("size", &self.size)
            .field("top", &self.top)
            .finish_non_exhaustive()
    }
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::build(DEFAULT_WINDOW)
    }
}

impl ReplayWindow {
    /// Creates a window of `size` packets; `size` must be in `32..=65536`.
    pub fn new(size: u32) -> Result<Self, InvalidWindowSize> {
        if !(MIN_WINDOW..=MAX_WINDOW).contains(&size) {
            return Err(InvalidWindowSize(size));
        }
        Ok(Self::build(size))
    }

    fn build(size: u32) -> Self {
        // One spare word so that the word holding the oldest in-window
        // sequence number is never the one being cleared for the newest.
        let n = (size as usize).div_ceil(64) + 1;
        ReplayWindow {
            size: u64::from(size),
            top: 0,
            words: vec![0u64; n].into_boxed_slice(),
        }
    }

    /// Configured window size in packets.
    pub fn size(&self) -> u32 {
        // size was built from a u32, so this never saturates.
        u32::try_from(self.size).unwrap_or(u32::MAX)
    }

    /// Highest sequence number accepted so far (0 when nothing was accepted).
    pub fn highest(&self) -> u64 {
        self.top
    }

    fn slot(&self, seq: u64) -> (usize, u64) {
        let len = self.words.len() as u64;
        // The remainder is < len, which came from a usize.
        let idx = usize::try_from((seq >> 6) % len).unwrap_or(0);
        (idx, 1u64 << (seq & 63))
    }

    /// Checks `seq` without changing the window.
    pub fn check(&self, seq: u64) -> Result<(), ReplayError> {
        if seq == 0 {
            return Err(ReplayError::TooOld);
        }
        if seq > self.top {
            return Ok(());
        }
        if self.top - seq >= self.size {
            return Err(ReplayError::TooOld);
        }
        let (idx, bit) = self.slot(seq);
        match self.words.get(idx) {
            Some(w) if w & bit != 0 => Err(ReplayError::Duplicate),
            Some(_) => Ok(()),
            None => Err(ReplayError::TooOld),
        }
    }

    /// Records `seq` as received, sliding the window when `seq` is new.
    ///
    /// Call only after [`check`](Self::check) succeeded and the packet's ICV
    /// verified. Sequence numbers left of the window and zero are ignored.
    pub fn update(&mut self, seq: u64) {
        if seq == 0 {
            return;
        }
        if seq > self.top {
            let len = self.words.len() as u64;
            let old_block = self.top >> 6;
            let new_block = seq >> 6;
            let clear = (new_block - old_block).min(len);
            let mut block = old_block;
            for _ in 0..clear {
                block += 1;
                let idx = usize::try_from(block % len).unwrap_or(0);
                if let Some(w) = self.words.get_mut(idx) {
                    *w = 0;
                }
            }
            self.top = seq;
        } else if self.top - seq >= self.size {
            return;
        }
        let (idx, bit) = self.slot(seq);
        if let Some(w) = self.words.get_mut(idx) {
            *w |= bit;
        }
    }

    /// Convenience: [`check`](Self::check) then [`update`](Self::update).
    pub fn check_and_update(&mut self, seq: u64) -> Result<(), ReplayError> {
        self.check(seq)?;
        self.update(seq);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_validated() {
        assert_eq!(ReplayWindow::new(31).unwrap_err(), InvalidWindowSize(31));
        assert_eq!(
            ReplayWindow::new(65537).unwrap_err(),
            InvalidWindowSize(65537)
        );
        assert!(ReplayWindow::new(32).is_ok());
        assert!(ReplayWindow::new(65536).is_ok());
        assert_eq!(ReplayWindow::default().size(), 64);
    }

    #[test]
    fn zero_is_never_accepted() {
        let w = ReplayWindow::default();
        assert_eq!(w.check(0), Err(ReplayError::TooOld));
    }
}
