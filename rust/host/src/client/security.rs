//! Security setup of the driver: where a destination is and over which channel (a `coaps://`
//! server becomes a DTLS peer of the transport with its Security instance's PSK), and who
//! sent a request, from how the transport authenticated it ([`HostClient::identity_for`]).

use std::net::SocketAddr;

use lwm2m::engine::{Destination, Identity};
use lwm2m::objects::security::mode;
use zeroize::Zeroizing;

use super::config::unsupported_mode;
use super::driver::HostClient;
use crate::clock::Clock;
use crate::transport::{OscoreOwner, PeerSecurity, Transport};
use crate::uri::{Scheme, ServerUri, UriError};

impl<T: Transport, C: Clock> HostClient<'_, T, C> {
    /// Resolves a URI of the Security object (cached).
    pub(super) fn resolve_uri(&mut self, uri: &str) -> Result<Vec<SocketAddr>, UriError> {
        if let Some(a) = self.resolved.get(uri) {
            return Ok(a.clone());
        }
        let u = ServerUri::parse(uri)?;
        let addrs = u.resolve()?;
        self.resolved.insert(uri.to_owned(), addrs.clone());
        Ok(addrs)
    }

    /// The address to send to for a destination.
    pub(super) fn resolve_dest(&mut self, dest: Destination) -> Result<SocketAddr, String> {
        let sec = match dest {
            Destination::Endpoint(h) => {
                return self
                    .peers
                    .addr(h)
                    .ok_or_else(|| format!("unknown peer handle {h}"))
            }
            Destination::Server(ssid) => self.engine.security().by_ssid(ssid),
            Destination::Bootstrap => self.engine.security().bootstrap(),
        }
        .ok_or_else(|| "no Security instance".to_string())?;
        let uri = sec.uri.as_str().to_owned();
        let mode = sec.mode;
        let identity = sec.identity.to_vec();
        // Copied only to hand it to the transport; zeroized when dropped.
        let key = Zeroizing::new(sec.secret_key.to_vec());
        let scheme = ServerUri::parse(&uri).map_err(|e| e.to_string())?.scheme;
        match (mode, scheme) {
            (mode::NOSEC, Scheme::Coap) | (mode::PSK, Scheme::Coaps) => {}
            (mode::NOSEC, Scheme::Coaps) => {
                return Err(format!("{uri}: coaps:// needs security mode 0 (PSK)"))
            }
            (mode::PSK, Scheme::Coap) => {
                return Err(format!("{uri}: security mode 0 (PSK) needs a coaps:// URI"))
            }
            (m, _) => return Err(unsupported_mode(m)),
        }
        let addrs = self.resolve_uri(&uri).map_err(|e| e.to_string())?;
        let v6_socket = self.transport.local_addr().is_ok_and(|a| a.is_ipv6());
        let addr = addrs
            .iter()
            .find(|a| v6_socket || a.is_ipv4())
            .copied()
            .ok_or_else(|| format!("{uri} has no IPv4 address (the socket is IPv4)"))?;
        if mode == mode::PSK {
            if identity.is_empty() || key.is_empty() {
                return Err(format!("{uri}: PSK mode without identity or key"));
            }
            self.transport
                .add_dtls_peer(addr, &identity, &key)
                .map_err(|e| format!("{uri}: {e}"))?;
        }
        Ok(addr)
    }

    /// Who a plain (NoSec) request from `addr` comes from; see [`HostClient::identity_for`].
    pub fn identity_of(&mut self, addr: SocketAddr) -> Identity {
        self.identity_for(addr, &PeerSecurity::NoSec)
    }

    /// Who a request from `addr`, authenticated as `sec`, comes from:
    /// - NoSec: the NoSec account (mode 3, no OSCORE) whose URI resolves to `addr`;
    /// - DTLS: the PSK account (mode 0) whose identity the session proved, whatever the address;
    /// - OSCORE: the server account whose context (Security res 17 -> 21 instance) verified
    ///   the request;
    /// - no server account: over DTLS, the peer client account (11000, PSK mode) with that
    ///   PSK identity; over OSCORE, the peer client account whose context verified it (its
    ///   11000 instance links the 21 instance with that Recipient ID):
    ///   `Identity::Client(short_id)`;
    ///
    /// else unauthenticated (or the test-only `accept_any_peer_as` server).
    pub fn identity_for(&mut self, addr: SocketAddr, sec: &PeerSecurity) -> Identity {
        let accounts: Vec<(bool, u16, String, u8, Vec<u8>, bool)> = self
            .engine
            .security()
            .instances
            .iter()
            .map(|s| {
                (
                    s.bootstrap,
                    s.ssid,
                    s.uri.as_str().to_owned(),
                    s.mode,
                    s.identity.to_vec(),
                    s.oscore.is_some(),
                )
            })
            .collect();
        let mut server = None;
        let mut bootstrap = false;
        for (is_bs, ssid, uri, mode, identity, linked) in accounts {
            // A server account with an OSCORE link (res 17) talks OSCORE only.
            let oscore = !is_bs && linked;
            let matches = match sec {
                PeerSecurity::NoSec => {
                    mode == mode::NOSEC
                        && !oscore
                        && self.resolve_uri(&uri).is_ok_and(|a| a.contains(&addr))
                }
                PeerSecurity::Dtls { identity: id } => mode == mode::PSK && identity == *id,
                PeerSecurity::Oscore { owner, .. } => {
                    oscore
                        && *owner == Some(OscoreOwner::Server(ssid))
                        && self.server_oscore.is_installed(ssid)
                }
            };
            if !matches {
                continue;
            }
            if is_bs {
                bootstrap = true;
            } else if server.is_none() {
                server = Some(ssid);
            }
        }
        match server {
            _ if bootstrap && (server.is_none() || self.engine.bootstrapping()) => {
                Identity::Bootstrap
            }
            Some(s) => Identity::Server(s),
            None => {
                let client = match sec {
                    PeerSecurity::NoSec => None,
                    PeerSecurity::Dtls { identity } => self
                        .engine
                        .client_by_psk_identity(identity)
                        .filter(|cid| self.c2c_psk_account(*cid)),
                    PeerSecurity::Oscore { kid, owner } => match owner {
                        Some(OscoreOwner::Client(cid)) => self
                            .engine
                            .client_by_oscore_recipient(kid)
                            .filter(|c| c == cid),
                        Some(OscoreOwner::Server(_)) | None => None,
                    },
                };
                match client {
                    Some(c) => Identity::Client(c),
                    None => self
                        .accept_any_peer_as
                        .map_or(Identity::Unauthenticated, Identity::Server),
                }
            }
        }
    }

    /// True if the Client Security instance of account `cid` is in PSK mode.
    pub(super) fn c2c_psk_account(&self, cid: u16) -> bool {
        self.engine
            .client_security()
            .by_short_id(cid)
            .is_some_and(|s| s.mode == mode::PSK)
    }
}
