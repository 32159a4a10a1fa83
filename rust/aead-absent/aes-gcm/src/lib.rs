//! AES-GCM left out of the device build: see the `aead-absent` crate.
#![no_std]

/// AES-128-GCM (COSE 1), not compiled in: every operation fails.
pub type Aes128Gcm = aead_absent::Absent128;
/// AES-256-GCM (COSE 3), not compiled in: every operation fails.
pub type Aes256Gcm = aead_absent::Absent256;
