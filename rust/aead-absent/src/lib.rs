//! An AEAD algorithm left out of a device build.
//!
//! liboscore's crypto backend (`liboscore-cryptobackend` 0.2.7) always compiles ChaCha20-Poly1305
//! and AES-GCM besides AES-CCM, and liboscore turns those features on unconditionally. On RIOT
//! the driver replaces the two crates with [`Absent`] (`[patch.crates-io]` in
//! `rust/riot/Cargo.toml`): the backend still names the algorithms, but their code is not in
//! the firmware. `lwm2m-oscore` with its `aead-ccm-only` feature refuses every other AEAD number
//! before a context exists, so these operations are never reached; if they were, encryption
//! fails with an error and decryption rejects the message.
#![no_std]

use aead::consts::{U0, U12, U16, U32};
use aead::generic_array::ArrayLength;
use aead::{AeadCore, AeadInPlace, Error, KeyInit, KeySizeUser, Nonce, Tag};
use core::marker::PhantomData;

/// An algorithm with key size `K`, nonce size `N` and tag size `T` whose code is not compiled in.
pub struct Absent<K, N, T>(PhantomData<(K, N, T)>);

impl<K: ArrayLength<u8>, N, T> KeySizeUser for Absent<K, N, T> {
    type KeySize = K;
}

impl<K: ArrayLength<u8>, N, T> KeyInit for Absent<K, N, T> {
    fn new(_key: &aead::Key<Self>) -> Self {
        Absent(PhantomData)
    }
}

impl<K, N: ArrayLength<u8>, T: ArrayLength<u8>> AeadCore for Absent<K, N, T> {
    type NonceSize = N;
    type TagSize = T;
    type CiphertextOverhead = U0;
}

impl<K, N: ArrayLength<u8>, T: ArrayLength<u8>> AeadInPlace for Absent<K, N, T> {
    fn encrypt_in_place_detached(
        &self,
        _nonce: &Nonce<Self>,
        _associated_data: &[u8],
        _buffer: &mut [u8],
    ) -> Result<Tag<Self>, Error> {
        Err(Error)
    }

    fn decrypt_in_place_detached(
        &self,
        _nonce: &Nonce<Self>,
        _associated_data: &[u8],
        _buffer: &mut [u8],
        _tag: &Tag<Self>,
    ) -> Result<(), Error> {
        Err(Error)
    }
}

/// The shape of ChaCha20-Poly1305 and AES-256-GCM: 32-byte key, 12-byte nonce, 16-byte tag.
pub type Absent256 = Absent<U32, U12, U16>;
/// The shape of AES-128-GCM: 16-byte key, 12-byte nonce, 16-byte tag.
pub type Absent128 = Absent<U16, U12, U16>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_fails() {
        let a = Absent256::new(&Default::default());
        let mut buf = [1u8; 8];
        assert!(a
            .encrypt_in_place_detached(&Default::default(), b"aad", &mut buf)
            .is_err());
        assert!(a
            .decrypt_in_place_detached(&Default::default(), b"", &mut buf, &Default::default())
            .is_err());
        assert_eq!(buf, [1u8; 8], "the buffer is left alone");
    }
}
