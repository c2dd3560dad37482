//! Zeroizing secret byte strings.

use std::fmt;
use zeroize::Zeroizing;

/// Secret key material, zeroized on drop. `Debug` prints only the length.
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps `bytes` (taking ownership; they will be zeroized on drop).
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(Zeroizing::new(bytes))
    }

    /// Copies `bytes` into a new secret.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Secret::new(bytes.to_vec())
    }

    /// A secret of `len` zero octets.
    pub fn zeroed(len: usize) -> Self {
        Secret::new(vec![0u8; len])
    }

    /// The secret octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Mutable access to the secret octets.
    pub fn as_mut_bytes(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Length in octets.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the secret has no octets.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl AsRef<[u8]> for Secret {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Constant-time comparison (length is not secret).
impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.len() == other.0.len() && bool::from(self.0.as_slice().ct_eq(other.0.as_slice()))
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new(vec![0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(format!("{s:?}"), "Secret(<4 bytes>)");
        assert_eq!(s.len(), 4);
        assert_eq!(s.as_bytes(), &[0xde, 0xad, 0xbe, 0xef]);
        let c = s.clone();
        assert_eq!(c.as_bytes(), s.as_bytes());
    }
}
