//! Wire codec for the Negotiator IPsec key negotiator.
//!
//! [`v2`] holds the IKEv2 message codec of RFC 7296 section 3 (plus the
//! fragmentation payload of RFC 7383). IKEv1 will live in a sibling `v1`
//! module.
//!
//! The codec is strict and panic-free: every length field is checked against
//! the structure that contains it, every repeated structure has a count budget,
//! and every failure is a named [`v2::Error`] carrying the byte offset and the
//! name of the structure being read.

#![warn(missing_docs)]

pub mod v2;
