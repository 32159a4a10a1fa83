//! The OSCORE contexts of a transport (RFC 8613), above the carrier (plain UDP or DTLS): which
//! context verifies a received datagram and which protects an outgoing one. Shared by the
//! host client's [`crate::secure::SecureTransport`] and the server's
//! [`crate::listener::ListenerTransport`].
//!
//! A request is verified by the context whose Recipient ID is its kid; among contexts sharing
//! that ID, by the one whose destination is the request's source, so one account's context can
//! never stand in for another's. A response belongs to the context that protected its
//! request. Outgoing requests are protected with the context whose destination is their
//! address, responses with the context of their request.
//!
//! Destinations are fixed when a context is added (the host client knows its servers and
//! peers) or, in a [`OscoreContexts::learning`] set (the server), the source of the last
//! request the context verified.

use std::io;
use std::net::SocketAddr;

use lwm2m::coap::{code, option, Message};

use crate::oscore::{Inbound, OscorePeer};
use crate::transport::{OscoreOwner, PeerSecurity};

/// What became of a received datagram ([`OscoreContexts::unprotect`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Unprotected {
    /// Hand this datagram up, authenticated as said (a verified message, or plain CoAP with
    /// the carrier's security).
    Deliver(Vec<u8>, PeerSecurity),
    /// A protected request no context verifies (unknown kid, malformed OSCORE option): the
    /// driver either answers it unprotected (RFC 8613 section 8.2) or drops it.
    Unverified(Vec<u8>),
    /// Nothing to deliver; send this back to the source on the same carrier (an Echo
    /// challenge, or our request repeated with the Echo value).
    Answer(Vec<u8>),
    /// Dropped: failed verification, replay, a protected answer to nothing of ours.
    Dropped,
}

/// One context and whom it belongs to.
#[derive(Debug)]
struct Context {
    /// Where requests protected with it go (and whose requests it prefers to verify).
    dest: Option<SocketAddr>,
    /// The account it belongs to, when the transport ties contexts to accounts.
    owner: Option<OscoreOwner>,
    peer: OscorePeer,
}

/// The OSCORE contexts of one transport (see the module documentation).
#[derive(Debug, Default)]
pub struct OscoreContexts {
    contexts: Vec<Context>,
    /// A verified request makes its source the context's destination.
    learning: bool,
}

impl OscoreContexts {
    /// An empty set whose contexts have the destinations they are added with.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty set whose contexts take the source of the last request they verified as their
    /// destination (a server, which learns its clients' addresses from their requests).
    pub fn learning() -> Self {
        OscoreContexts {
            contexts: Vec::new(),
            learning: true,
        }
    }

    /// Number of contexts.
    pub fn len(&self) -> usize {
        self.contexts.len()
    }

    /// True if there is no context.
    pub fn is_empty(&self) -> bool {
        self.contexts.is_empty()
    }

    /// Number of contexts whose owner satisfies `f`.
    pub fn count(&self, f: impl Fn(Option<OscoreOwner>) -> bool) -> usize {
        self.contexts.iter().filter(|c| f(c.owner)).count()
    }

    /// Adds a context for requests to `dest`; one with the same (`Some`) owner is replaced.
    pub fn insert(
        &mut self,
        dest: Option<SocketAddr>,
        owner: Option<OscoreOwner>,
        peer: OscorePeer,
    ) {
        if let Some(o) = owner {
            self.remove(o);
        }
        self.contexts.push(Context { dest, owner, peer });
    }

    /// Takes the context of `owner` out of the set.
    pub fn remove(&mut self, owner: OscoreOwner) -> Option<OscorePeer> {
        let i = self.contexts.iter().position(|c| c.owner == Some(owner))?;
        Some(self.contexts.remove(i).peer)
    }

    /// Runs the OSCORE stage on a datagram from `from` that arrived with `carrier` security.
    pub fn unprotect(
        &mut self,
        data: Vec<u8>,
        from: SocketAddr,
        carrier: PeerSecurity,
    ) -> Unprotected {
        let Ok(m) = Message::parse(&data) else {
            // Not CoAP; the message layer ignores (or resets) it.
            return Unprotected::Deliver(data, carrier);
        };
        let protected = m.option(option::OSCORE).is_some();
        let request = code::is_request(m.code);
        let idx = if request {
            let mut for_us = self
                .contexts
                .iter()
                .enumerate()
                .filter(|(_, c)| protected && c.peer.is_for_us(&data));
            let first = for_us.next();
            first
                .into_iter()
                .chain(for_us)
                .find(|(_, c)| c.dest == Some(from))
                .or(first)
                .map(|(i, _)| i)
        } else {
            self.contexts.iter().position(|c| {
                (c.dest.is_none() || c.dest == Some(from)) && c.peer.owns_response(&data)
            })
        };
        let Some(c) = idx.and_then(|i| self.contexts.get_mut(i)) else {
            return match (protected, request) {
                (false, _) => Unprotected::Deliver(data, carrier),
                (true, true) => Unprotected::Unverified(data),
                (true, false) => Unprotected::Dropped,
            };
        };
        match c.peer.unprotect(&data) {
            Inbound::Verified { plain, kid } => {
                if request && self.learning {
                    c.dest = Some(from);
                }
                let owner = c.owner;
                Unprotected::Deliver(plain, PeerSecurity::Oscore { kid, owner })
            }
            Inbound::Plain(plain) => Unprotected::Deliver(plain, carrier),
            Inbound::Answer(bytes) => Unprotected::Answer(bytes),
            Inbound::Dropped(_) => Unprotected::Dropped,
        }
    }

    /// The protected form of a datagram to `to`, `None` if no context applies to it.
    pub fn protect(&mut self, data: &[u8], to: SocketAddr) -> io::Result<Option<Vec<u8>>> {
        let Ok(m) = Message::parse(data) else {
            return Ok(None);
        };
        let request = code::is_request(m.code);
        let Some(c) = self.contexts.iter_mut().find(|c| {
            if request {
                c.dest == Some(to)
            } else {
                c.peer.knows_request(m.token)
            }
        }) else {
            return Ok(None);
        };
        c.peer
            .protect(data)
            .map(Some)
            .map_err(|e| io::Error::other(format!("OSCORE: {e:?}")))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::oscore::{OscoreParams, VolatileStore};
    use lwm2m::coap::{MessageBuilder, MessageType};

    /// A context from a secret, Sender ID and Recipient ID (hex), salt `aa`.
    pub(crate) fn peer(secret: &str, sid: &str, rid: &str) -> OscorePeer {
        let p = OscoreParams::parse(&format!("{secret},aa,{sid},{rid}")).unwrap();
        OscorePeer::new(p.context().unwrap(), Box::new(VolatileStore))
    }

    /// A CON GET /3 with token 01.
    pub(crate) fn get(mid: u16) -> Vec<u8> {
        let mut b = [0u8; 64];
        let mut m = MessageBuilder::new(&mut b, MessageType::Con, code::GET, mid, &[1]).unwrap();
        m.option(option::URI_PATH, b"3").unwrap();
        let n = m.finish();
        b[..n].to_vec()
    }

    const S: &str = "0102030405060708090a0b0c0d0e0f10";

    /// A learning set protects requests only toward the address its context last verified
    /// a request from; an unknown kid is unverified, a stray protected response dropped.
    #[test]
    fn learning_set_learns_the_destination_from_a_verified_request() {
        let mut set = OscoreContexts::learning();
        set.insert(None, None, peer(S, "02", "01"));
        let mut client = peer(S, "01", "02");
        let a: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:5001".parse().unwrap();
        assert_eq!(set.protect(&get(9), a).unwrap(), None, "no destination yet");
        let wire = client.protect(&get(1)).unwrap();
        let got = set.unprotect(wire, a, PeerSecurity::NoSec);
        let want = PeerSecurity::Oscore {
            kid: vec![1],
            owner: None,
        };
        assert_eq!(got, Unprotected::Deliver(get(1), want));
        assert!(set.protect(&get(9), a).unwrap().is_some());
        assert_eq!(set.protect(&get(9), b).unwrap(), None);
        let mut other = peer(S, "03", "04");
        let stray = other.protect(&get(2)).unwrap();
        assert_eq!(
            set.unprotect(stray.clone(), b, PeerSecurity::NoSec),
            Unprotected::Unverified(stray)
        );
        assert_eq!(
            set.unprotect(get(3), b, PeerSecurity::NoSec),
            Unprotected::Deliver(get(3), PeerSecurity::NoSec)
        );
    }
}
