//! Ephemeral key exchange.
use crate::{CryptoError, Group, KeyExchange};

pub(crate) fn start(_group: Group) -> Result<Box<dyn KeyExchange>, CryptoError> {
    Err(CryptoError::Unsupported("key exchange not yet implemented"))
}
