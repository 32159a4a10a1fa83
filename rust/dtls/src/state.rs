//! What tinydtls' callbacks touch: the outgoing queue, raw events and the credential store.
//! Kept free of `unsafe`; `ffi` translates C arguments and calls these methods.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use crate::{Key, PskStore, Role, Transmit};

/// tinydtls alert code for "decrypt_error" (RFC 5246 7.2.2), returned for an unknown identity
/// so that a prober cannot tell unknown identities from wrong keys (RFC 4279, 2).
const ALERT_DECRYPT_ERROR: u8 = 51;
const ALERT_INTERNAL_ERROR: u8 = 80;

/// Event as tinydtls reports it, before the endpoint applies its own bookkeeping.
#[derive(Debug)]
pub(crate) enum RawEvent {
    Data(SocketAddr, Vec<u8>),
    Connected(SocketAddr),
    Alert(SocketAddr, u8, u8),
}

/// Which credential tinydtls asks for (mirror of `dtls_credentials_type_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialKind {
    Hint,
    Identity,
    Key,
}

/// A failed credential lookup: the fatal alert description tinydtls should send.
pub(crate) struct CredentialError(pub(crate) u8);

pub(crate) struct CallbackState {
    pub(crate) role: Role,
    pub(crate) store: Box<dyn PskStore>,
    pub(crate) outgoing: VecDeque<Transmit>,
    pub(crate) events: Vec<RawEvent>,
    /// Identity whose key a running handshake uses; becomes the session identity on Connected.
    pub(crate) pending_identity: HashMap<SocketAddr, Vec<u8>>,
}

impl CallbackState {
    pub(crate) fn on_write(&mut self, peer: SocketAddr, bytes: &[u8]) {
        self.outgoing.push_back(Transmit {
            peer,
            bytes: bytes.to_vec(),
        });
    }

    pub(crate) fn on_read(&mut self, peer: SocketAddr, plaintext: &[u8]) {
        self.events.push(RawEvent::Data(peer, plaintext.to_vec()));
    }

    pub(crate) fn on_event(&mut self, peer: SocketAddr, level: u8, code: u16) {
        const DTLS_EVENT_CONNECTED: u16 = 0x01DE;
        if level == 0 {
            if code == DTLS_EVENT_CONNECTED {
                self.events.push(RawEvent::Connected(peer));
            }
            return;
        }
        let description = u8::try_from(code).unwrap_or(u8::MAX);
        self.events.push(RawEvent::Alert(peer, level, description));
    }

    /// Answers tinydtls' `get_psk_info`. `desc` is the server's hint (client, Identity), the
    /// identity whose key is wanted (Key), or nothing (server, Hint).
    pub(crate) fn credential(
        &mut self,
        peer: SocketAddr,
        kind: CredentialKind,
        desc: &[u8],
    ) -> Result<Credential, CredentialError> {
        match (self.role, kind) {
            // No hint: RFC 7925 4.2 leaves it optional and it only leaks configuration.
            (Role::Server, CredentialKind::Hint) => Ok(Credential::Identity(Vec::new())),
            (Role::Client, CredentialKind::Identity) => {
                let (identity, _key) = self
                    .store
                    .client_credentials(peer)
                    .ok_or(CredentialError(ALERT_INTERNAL_ERROR))?;
                Ok(Credential::Identity(identity))
            }
            (Role::Client, CredentialKind::Key) => {
                let (identity, key) = self
                    .store
                    .client_credentials(peer)
                    .ok_or(CredentialError(ALERT_INTERNAL_ERROR))?;
                if identity != desc {
                    // The store changed between the two questions; do not mix credentials.
                    return Err(CredentialError(ALERT_INTERNAL_ERROR));
                }
                self.pending_identity.insert(peer, identity);
                Ok(Credential::Key(key))
            }
            (Role::Server, CredentialKind::Key) => {
                let key = self
                    .store
                    .psk_for_identity(desc)
                    .ok_or(CredentialError(ALERT_DECRYPT_ERROR))?;
                self.pending_identity.insert(peer, desc.to_vec());
                Ok(Credential::Key(key))
            }
            _ => Err(CredentialError(ALERT_INTERNAL_ERROR)),
        }
    }
}

/// A credential handed to tinydtls.
pub(crate) enum Credential {
    Identity(Vec<u8>),
    Key(Key),
}
