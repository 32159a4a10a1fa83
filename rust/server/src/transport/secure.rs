//! The server's secured clients: [`Credentials`] binds endpoint names to DTLS-PSK identities
//! and OSCORE contexts, and gives the std endpoint's [`ListenerTransport`] (the plain CoAP
//! socket `--coap` with the OSCORE clients, the DTLS-PSK socket `--coaps`) its keys
//! ([`Credentials::listener`]); the transport reports how each datagram was authenticated
//! ([`PeerSecurity`]) and registrations and access requests map that back to an endpoint
//! ([`Credentials::endpoint_of`], [`Credentials::expected`]).
//!
//! Credentials come from [`Credentials`]: the PSK table (`--psk-file`, lines
//! `endpoint identity key-hex`) and the OSCORE clients (`--oscore-client
//! EP,secret,salt,sid,rid`). Keys never appear in `Debug` output, events or errors.

use std::fmt;

use zeroize::Zeroizing;

use crate::oscore::{unhex, OscoreParams};
use crate::transport::PeerSecurity;
pub use lwm2m_endpoint::listener::{
    seqno_path, HandshakeStats, ListenerConfig, ListenerTransport, WireRecord,
};

/// One PSK table entry: the endpoint that may use `identity`, and its key.
#[derive(Clone, PartialEq, Eq)]
pub struct PskEntry {
    /// Endpoint client name bound to the identity.
    pub endpoint: String,
    /// PSK identity.
    pub identity: Vec<u8>,
    /// The key (1 to 16 bytes).
    pub key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for PskEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PskEntry")
            .field("endpoint", &self.endpoint)
            .field("identity", &String::from_utf8_lossy(&self.identity))
            .field("key", &"<redacted>")
            .finish()
    }
}

/// An OSCORE client: the endpoint and its context (server side: sender ID = the client's
/// recipient ID).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OscoreClient {
    /// Endpoint client name bound to the context.
    pub endpoint: String,
    /// Context parameters, server view.
    pub params: OscoreParams,
}

/// Credentials of secured clients.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    /// DTLS PSK table.
    pub psk: Vec<PskEntry>,
    /// OSCORE clients.
    pub oscore: Vec<OscoreClient>,
}

impl Credentials {
    /// Parses a PSK file: one `endpoint identity key-hex` per line (identity as text, no
    /// spaces; `#` comments and blank lines ignored). Errors give the line number only.
    pub fn parse_psk_file(text: &str) -> Result<Vec<PskEntry>, String> {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            let [ep, id, key] = f.as_slice() else {
                return Err(format!("line {}: want `endpoint identity key-hex`", i + 1));
            };
            let key = Zeroizing::new(unhex(key).ok_or(format!("line {}: bad key hex", i + 1))?);
            if key.is_empty() || key.len() > lwm2m_dtls::MAX_KEY_LEN {
                return Err(format!("line {}: key must have 1..=16 bytes", i + 1));
            }
            if id.len() > lwm2m_dtls::MAX_IDENTITY_LEN {
                return Err(format!("line {}: identity longer than 32 bytes", i + 1));
            }
            out.push(PskEntry {
                endpoint: (*ep).to_owned(),
                identity: id.as_bytes().to_vec(),
                key,
            });
        }
        Ok(out)
    }

    /// Parses `EP,secret,salt,client_sender_id,client_recipient_id` (the client's view, as
    /// given to the client's `--oscore`; the server swaps the IDs).
    pub fn parse_oscore_client(s: &str) -> Result<OscoreClient, String> {
        let (ep, rest) = s
            .split_once(',')
            .ok_or("--oscore-client is EP,secret,salt,sid,rid")?;
        let client = OscoreParams::parse(rest)?;
        let params = OscoreParams {
            sender_id: client.recipient_id.clone(),
            recipient_id: client.sender_id.clone(),
            ..client
        };
        Ok(OscoreClient {
            endpoint: ep.to_owned(),
            params,
        })
    }

    /// The security a registration of `endpoint` must arrive with, if it has credentials.
    pub fn expected(&self, endpoint: &str) -> Option<PeerSecurity> {
        if let Some(p) = self.psk.iter().find(|p| p.endpoint == endpoint) {
            return Some(PeerSecurity::Dtls {
                identity: p.identity.clone(),
            });
        }
        self.oscore
            .iter()
            .find(|o| o.endpoint == endpoint)
            .map(|o| PeerSecurity::Oscore {
                kid: o.params.recipient_id.clone(),
                owner: None,
            })
    }

    /// What a [`ListenerTransport`] on `coap` (plain CoAP and OSCORE) and `coaps` (DTLS-PSK)
    /// needs to accept these clients; the other fields of the result are defaults.
    pub fn listener(&self, coap: Option<&str>, coaps: Option<&str>) -> ListenerConfig {
        ListenerConfig {
            coap: coap.map(str::to_owned),
            coaps: coaps.map(str::to_owned),
            psks: self
                .psk
                .iter()
                .map(|p| (p.identity.clone(), p.key.clone()))
                .collect(),
            oscore: self.oscore.iter().map(|o| o.params.clone()).collect(),
            ..ListenerConfig::default()
        }
    }

    /// The endpoint bound to a secure channel identity.
    pub fn endpoint_of(&self, sec: &PeerSecurity) -> Option<&str> {
        match sec {
            PeerSecurity::NoSec => None,
            PeerSecurity::Dtls { identity } => self
                .psk
                .iter()
                .find(|p| p.identity == *identity)
                .map(|p| p.endpoint.as_str()),
            PeerSecurity::Oscore { kid, .. } => self
                .oscore
                .iter()
                .find(|o| o.params.recipient_id == *kid)
                .map(|o| o.endpoint.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psk_file_and_oscore_client() {
        let t = Credentials::parse_psk_file(
            "# comment\n\nep-1 id-1 000102030405060708090a0b0c0d0e0f\nep-2 id-2 aabb # x\n",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[1].endpoint.as_str(), &t[1].identity[..]),
            ("ep-2", &b"id-2"[..])
        );
        assert!(!format!("{t:?}").contains("0a0b"), "Debug shows no key");
        let e = Credentials::parse_psk_file("a b c0ffeezz").unwrap_err();
        assert!(e.contains("line 1") && !e.contains("c0ffee"), "{e}");
        assert!(Credentials::parse_psk_file("a b").is_err());
        let o = Credentials::parse_oscore_client("ep-3,0102,,01,02").unwrap();
        assert_eq!(
            (
                o.params.sender_id.as_slice(),
                o.params.recipient_id.as_slice()
            ),
            (&[2][..], &[1][..])
        );
        let c = Credentials {
            psk: t,
            oscore: vec![o],
        };
        assert_eq!(
            c.expected("ep-1"),
            Some(PeerSecurity::Dtls {
                identity: b"id-1".to_vec()
            })
        );
        assert_eq!(
            c.expected("ep-3"),
            Some(PeerSecurity::Oscore {
                kid: vec![1],
                owner: None
            })
        );
        assert_eq!(c.expected("other"), None);
        assert_eq!(
            c.endpoint_of(&PeerSecurity::Oscore {
                kid: vec![1],
                owner: None
            }),
            Some("ep-3")
        );
        assert_eq!(c.endpoint_of(&PeerSecurity::NoSec), None);
    }
}
