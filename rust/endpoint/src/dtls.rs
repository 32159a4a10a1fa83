//! The DTLS-PSK pieces shared by the host client's [`crate::secure::SecureTransport`] and the
//! server's [`crate::listener::ListenerTransport`]: the key store of the DTLS server role,
//! telling DTLS records from CoAP, and the authenticated identity of a session.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use lwm2m_dtls::{DtlsEndpoint, Key, PskStore, Transmit};

use crate::transport::{PeerPsk, PeerSecurity};

type KeyTable = Arc<Mutex<HashMap<Vec<u8>, Key>>>;

/// The PSKs a DTLS server role accepts handshakes with: fixed listener keys (a server's PSK
/// file, a client's `--listen-psk`), then those of peer client accounts (replaced as a whole
/// when the accounts change). Clones share the tables.
#[derive(Clone, Default)]
pub struct ListenerKeys {
    fixed: KeyTable,
    peers: KeyTable,
}

impl std::fmt::Debug for ListenerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = |t: &KeyTable| t.lock().map_or(0, |t| t.len());
        f.debug_struct("ListenerKeys")
            .field("fixed", &n(&self.fixed))
            .field("peers", &n(&self.peers))
            .finish()
    }
}

impl ListenerKeys {
    /// Accepts `identity` with `key` (1 to 16 bytes).
    pub fn add(&self, identity: &[u8], key: &[u8]) -> Result<(), lwm2m_dtls::Error> {
        let key = Key::new(key)?;
        if let Ok(mut t) = self.fixed.lock() {
            t.insert(identity.to_vec(), key);
        }
        Ok(())
    }

    /// Replaces the keys of peer client accounts; unusable keys are skipped. Returns how many
    /// were taken.
    pub fn set_peers(&self, psks: &[PeerPsk]) -> usize {
        let table: HashMap<_, _> = psks
            .iter()
            .filter_map(|(id, key)| Some((id.clone(), Key::new(key).ok()?)))
            .collect();
        let n = table.len();
        if let Ok(mut t) = self.peers.lock() {
            *t = table;
        }
        n
    }
}

impl PskStore for ListenerKeys {
    fn psk_for_identity(&self, identity: &[u8]) -> Option<Key> {
        if let Some(k) = self.fixed.lock().ok()?.get(identity) {
            return Some(k.clone());
        }
        self.peers.lock().ok()?.get(identity).cloned()
    }
}

/// True if a datagram is a DTLS record (content type 20 to 25); CoAP's first byte is 0x40 to
/// 0x7f (version 1), so both share a socket.
pub fn is_dtls(datagram: &[u8]) -> bool {
    datagram.first().is_some_and(|b| (20..=25).contains(b))
}

/// True for application data (content type 23) rather than handshake, CCS or alert records.
pub fn is_application_data(datagram: &[u8]) -> bool {
    datagram.first() == Some(&23)
}

/// How data received over `ep`'s session with `peer` was authenticated: the session's PSK
/// identity.
pub fn session_security(ep: &DtlsEndpoint, peer: SocketAddr) -> PeerSecurity {
    PeerSecurity::Dtls {
        identity: ep
            .session_identity(peer)
            .map(<[u8]>::to_vec)
            .unwrap_or_default(),
    }
}

/// Takes every datagram `ep` has to send.
pub fn transmits(ep: &mut DtlsEndpoint) -> Vec<Transmit> {
    std::iter::from_fn(|| ep.poll_transmit()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    #[test]
    fn fixed_keys_first_then_peer_accounts_replaced_as_a_whole() {
        let k = ListenerKeys::default();
        k.add(b"srv", &[1; 16]).unwrap();
        assert!(k.add(b"bad", &[]).is_err());
        let peers: Vec<PeerPsk> = vec![
            (b"p1".to_vec(), Zeroizing::new(vec![2; 16])),
            (b"p2".to_vec(), Zeroizing::new(Vec::new())),
        ];
        assert_eq!(k.set_peers(&peers), 1, "the empty key is skipped");
        assert!(k.psk_for_identity(b"srv").is_some());
        assert!(k.psk_for_identity(b"p1").is_some());
        assert!(k.psk_for_identity(b"p2").is_none());
        k.set_peers(&[]);
        assert!(k.psk_for_identity(b"p1").is_none());
        assert!(k.psk_for_identity(b"srv").is_some());
    }

    #[test]
    fn record_kinds() {
        assert!(is_dtls(&[22, 0xfe, 0xfd]) && !is_application_data(&[22]));
        assert!(is_dtls(&[23]) && is_application_data(&[23]));
        assert!(!is_dtls(&[0x40, 1, 0, 0]) && !is_dtls(&[]));
    }
}
