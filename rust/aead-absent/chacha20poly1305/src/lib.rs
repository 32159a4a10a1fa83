//! ChaCha20-Poly1305 left out of the device build: see the `aead-absent` crate.
#![no_std]

/// ChaCha20-Poly1305 (COSE 24), not compiled in: every operation fails.
pub type ChaCha20Poly1305 = aead_absent::Absent256;
