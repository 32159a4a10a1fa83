//! DTLS 1.2 with pre-shared keys (`TLS_PSK_WITH_AES_128_CCM_8`, the RFC 7925 profile) over
//! tinydtls, for the host runtime (both roles) and the LwM2M server.
//!
//! The endpoint does no I/O: the caller feeds received datagrams to
//! [`DtlsEndpoint::handle_datagram`], sends what [`DtlsEndpoint::poll_transmit`] yields on its
//! own UDP socket, and calls [`DtlsEndpoint::poll_timers`] now and then (every 100 ms to 1 s
//! while [`DtlsEndpoint::handshake_count`] is non-zero is plenty). So the runtime and server keep
//! their sockets and message layers and put this underneath them.
//!
//! Threats handled here:
//! * T1 (resource exhaustion): a server answers a ClientHello without a valid cookie with a
//!   stateless HelloVerifyRequest; a ClientHello with a cookie is admitted only while fewer than
//!   [`Config::max_handshakes`] handshakes and [`Config::max_sessions`] peer states exist;
//!   handshakes that do not finish within [`Config::handshake_timeout`] are dropped. Every drop
//!   is counted in [`Stats`].
//! * T2 (revocation): [`DtlsEndpoint::close`] and [`DtlsEndpoint::close_identity`] end sessions
//!   at once; later records from that peer find no state and are dropped.
//! * Key material ([`Key`]) is zeroized on drop and never printed: its `Debug` is redacted, no
//!   error carries it, and tinydtls' own logging is switched off.
//!
//! The authenticated PSK identity of each session is available from
//! [`DtlsEndpoint::session_identity`] and in [`Event::Connected`]: it is the identity whose key
//! produced the verified Finished message, which is what the LwM2M engine must use to decide who
//! is asking.

#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "cli")]
pub mod cli;
#[allow(unsafe_code)]
mod ffi;
mod record;
mod state;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use state::{CallbackState, RawEvent};

/// Longest pre-shared key tinydtls accepts (`DTLS_PSK_MAX_KEY_LEN`).
pub const MAX_KEY_LEN: usize = 16;
/// Longest PSK identity tinydtls accepts (`DTLS_PSK_MAX_CLIENT_IDENTITY_LEN`).
pub const MAX_IDENTITY_LEN: usize = 32;
/// Largest plaintext [`DtlsEndpoint::send`] fits in one record: tinydtls' 1400-byte buffer less
/// the record header and the CCM_8 nonce and tag.
pub const MAX_PLAINTEXT_LEN: usize = 1400 - RECORD_OVERHEAD;
/// Bytes one application-data record adds to its plaintext with CCM_8: 13-byte header, 8-byte
/// explicit nonce, 8-byte tag.
pub const RECORD_OVERHEAD: usize = record::RECORD_HEADER_LEN + record::CCM8_EXPANSION;

/// Which side of the handshake an endpoint plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Starts handshakes with [`DtlsEndpoint::connect`]; ignores incoming ClientHellos.
    Client,
    /// Accepts handshakes (cookie exchange first); [`DtlsEndpoint::connect`] is refused.
    Server,
}

/// A pre-shared key. Zeroized when dropped; its `Debug` output never shows the bytes.
#[derive(Clone)]
pub struct Key(Zeroizing<Vec<u8>>);

impl Key {
    /// Wraps raw key bytes (1 to [`MAX_KEY_LEN`] bytes).
    pub fn new(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.is_empty() || bytes.len() > MAX_KEY_LEN {
            return Err(Error::KeyLength(bytes.len()));
        }
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }

    /// Parses a key written in hexadecimal, as LwM2M configuration files and `openssl -psk`
    /// carry it. The error never echoes the input.
    pub fn from_hex(hex: &str) -> Result<Self, Error> {
        let digits = hex.as_bytes();
        if !digits.len().is_multiple_of(2) {
            return Err(Error::KeyEncoding);
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(digits.len() / 2));
        for pair in digits.chunks_exact(2) {
            let nibble = |c: u8| (c as char).to_digit(16).ok_or(Error::KeyEncoding);
            let hi = nibble(pair.first().copied().unwrap_or(b'x'))?;
            let lo = nibble(pair.get(1).copied().unwrap_or(b'x'))?;
            bytes.push(u8::try_from(hi << 4 | lo).map_err(|_| Error::KeyEncoding)?);
        }
        Self::new(&bytes)
    }

    /// Key length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a `Key` has at least one byte.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(<{} bytes redacted>)", self.0.len())
    }
}

/// Credentials the application provides; called from inside tinydtls during handshakes.
///
/// Implementations must not call back into any [`DtlsEndpoint`] (tinydtls calls are
/// serialized by a process-wide lock).
pub trait PskStore: Send {
    /// Server role: the key for the identity a client presented, or `None` to refuse it.
    fn psk_for_identity(&self, identity: &[u8]) -> Option<Key> {
        let _ = identity;
        None
    }

    /// Client role: the identity (at most [`MAX_IDENTITY_LEN`] bytes) and key to present to
    /// `peer`, or `None` to abort the handshake.
    fn client_credentials(&self, peer: SocketAddr) -> Option<(Vec<u8>, Key)> {
        let _ = peer;
        None
    }
}

/// Limits for one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Most peer states (handshakes plus established sessions) held at once.
    pub max_sessions: usize,
    /// Most handshakes in progress at once; a subset of `max_sessions`.
    pub max_handshakes: usize,
    /// Server role: most handshakes in progress from one source (an IPv4 address, or an IPv6
    /// /64 prefix), so that one host flooding ClientHellos that echo the cookie cannot take
    /// the slots of the others. A new handshake from a source at its limit replaces that
    /// source's oldest half-open one (a client that restarts is not locked out by its own
    /// earlier attempt).
    pub max_handshakes_per_source: usize,
    /// A handshake not finished this long after [`DtlsEndpoint::poll_timers`] first saw it is
    /// dropped.
    pub handshake_timeout: Duration,
    /// Server role: a half-open handshake (nothing received after the ClientHello that
    /// echoed the cookie; a client following the protocol answers within a round trip) is
    /// dropped after this long, well before `handshake_timeout`.
    pub half_open_timeout: Duration,
    /// An established session that receives nothing for this long is closed by
    /// [`DtlsEndpoint::poll_timers`]; `None` keeps sessions until closed.
    pub idle_timeout: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_sessions: 16,
            max_handshakes: 8,
            max_handshakes_per_source: 2,
            handshake_timeout: Duration::from_secs(30),
            half_open_timeout: Duration::from_secs(15),
            idle_timeout: None,
        }
    }
}

/// Something that happened on the secure channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A handshake finished; `identity` is the authenticated PSK identity of the session.
    Connected {
        /// Remote transport address.
        peer: SocketAddr,
        /// PSK identity whose key the peer proved to know.
        identity: Vec<u8>,
    },
    /// Application data decrypted and authenticated on an established session.
    Data {
        /// Remote transport address.
        peer: SocketAddr,
        /// The decrypted record payload (e.g. one CoAP message).
        plaintext: Vec<u8>,
    },
    /// The session or handshake with `peer` is gone (peer's close_notify or fatal alert, failed
    /// or timed-out handshake, replaced by a new handshake, idle timeout). Not emitted for
    /// [`DtlsEndpoint::close`].
    Closed {
        /// Remote transport address.
        peer: SocketAddr,
    },
    /// The peer sent an alert.
    Alert {
        /// Remote transport address.
        peer: SocketAddr,
        /// Alert level.
        level: AlertLevel,
        /// Alert description (RFC 5246 7.2), e.g. 0 close_notify, 20 bad_record_mac,
        /// 40 handshake_failure, 51 decrypt_error.
        description: u8,
    },
}

/// Level of a received alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertLevel {
    /// Level 1.
    Warning,
    /// Level 2: the session is gone.
    Fatal,
    /// Any other value.
    Other(u8),
}

impl From<u8> for AlertLevel {
    fn from(level: u8) -> Self {
        match level {
            1 => Self::Warning,
            2 => Self::Fatal,
            other => Self::Other(other),
        }
    }
}

/// One datagram to send on the caller's UDP socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Destination.
    pub peer: SocketAddr,
    /// DTLS records (ciphertext except during the handshake's first flights).
    pub bytes: Vec<u8>,
}

/// Errors from endpoint operations. None carries key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The operation belongs to the other [`Role`].
    WrongRole,
    /// The endpoint is at [`Config::max_sessions`] or [`Config::max_handshakes`].
    Capacity,
    /// A handshake or session with this peer already exists.
    PeerExists,
    /// No established session with this peer.
    NotConnected,
    /// Plaintext longer than [`MAX_PLAINTEXT_LEN`].
    TooLarge(usize),
    /// Key of this many bytes; 1 to [`MAX_KEY_LEN`] are allowed.
    KeyLength(usize),
    /// Key text is not an even number of hexadecimal digits.
    KeyEncoding,
    /// tinydtls could not allocate a context or peer.
    OutOfMemory,
    /// tinydtls refused to encrypt the record.
    SendFailed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::WrongRole => f.write_str("operation not available in this DTLS role"),
            Error::Capacity => f.write_str("DTLS session or handshake limit reached"),
            Error::PeerExists => f.write_str("DTLS state for this peer already exists"),
            Error::NotConnected => f.write_str("no established DTLS session with this peer"),
            Error::TooLarge(n) => write!(f, "plaintext of {n} bytes exceeds one DTLS record"),
            Error::KeyLength(n) => write!(f, "PSK of {n} bytes (1 to {MAX_KEY_LEN} allowed)"),
            Error::KeyEncoding => f.write_str("PSK is not valid hexadecimal"),
            Error::OutOfMemory => f.write_str("tinydtls out of memory"),
            Error::SendFailed => f.write_str("tinydtls could not encrypt the record"),
        }
    }
}

impl std::error::Error for Error {}

/// Counters of what an endpoint refused or dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// HelloVerifyRequests sent (stateless cookie challenges).
    pub hello_verify_requests: u64,
    /// ClientHellos with a cookie dropped because limits were reached.
    pub capacity_drops: u64,
    /// ClientHellos received by a client-role endpoint.
    pub role_drops: u64,
    /// Datagrams that are not a complete DTLS record.
    pub malformed_drops: u64,
    /// Non-ClientHello records from peers without state (e.g. after `close`).
    pub unknown_peer_drops: u64,
    /// Decrypted application data that arrived outside an established session.
    pub undelivered_records: u64,
    /// Handshakes that ended without a session (alert, wrong key, unknown identity).
    pub handshakes_failed: u64,
    /// Handshakes dropped by [`Config::handshake_timeout`] or [`Config::half_open_timeout`].
    pub handshake_timeouts: u64,
    /// Half-open handshakes replaced by a newer one of the same source
    /// ([`Config::max_handshakes_per_source`]).
    pub source_replacements: u64,
    /// Sessions closed by [`Config::idle_timeout`].
    pub idle_closes: u64,
    /// Sessions and handshakes ended by [`DtlsEndpoint::close`] or
    /// [`DtlsEndpoint::close_identity`].
    pub closed_by_app: u64,
}

#[derive(Debug, Default)]
struct Peer {
    /// Set once the handshake finished: the authenticated identity.
    identity: Option<Vec<u8>>,
    /// First `poll_timers` time that saw this handshake, or last activity of a session.
    since: Option<Instant>,
    /// Data arrived since the last `poll_timers`.
    active: bool,
    /// A handshake record other than the ClientHello arrived: the peer answered the
    /// ServerHello, it is no longer half-open.
    progressed: bool,
    /// Order of creation (oldest first), for replacing a source's oldest half-open handshake.
    order: u64,
}

/// The source a handshake counts against for [`Config::max_handshakes_per_source`]: the IPv4
/// address, or the /64 prefix of an IPv6 address (one host usually holds a whole /64).
fn source(peer: SocketAddr) -> (u8, [u8; 8]) {
    let v4 = |a: std::net::Ipv4Addr| {
        let [a, b, c, d] = a.octets();
        (4, [a, b, c, d, 0, 0, 0, 0])
    };
    match peer.ip() {
        IpAddr::V4(a) => v4(a),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(a) => v4(a),
            None => {
                let o = a.octets();
                (6, [o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]])
            }
        },
    }
}

/// A DTLS-PSK endpoint in one [`Role`], owning a tinydtls context.
pub struct DtlsEndpoint {
    ctx: ffi::Context,
    cb: CallbackState,
    config: Config,
    peers: HashMap<SocketAddr, Peer>,
    stats: Stats,
    /// Creation counter for [`Peer::order`].
    created: u64,
}

impl fmt::Debug for DtlsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtlsEndpoint")
            .field("role", &self.cb.role)
            .field("config", &self.config)
            .field("sessions", &self.session_count())
            .field("handshakes", &self.handshake_count())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl DtlsEndpoint {
    /// Creates an endpoint; `store` answers credential questions during handshakes.
    pub fn new(role: Role, store: impl PskStore + 'static, config: Config) -> Result<Self, Error> {
        let ctx = ffi::Context::new().ok_or(Error::OutOfMemory)?;
        Ok(Self {
            ctx,
            cb: CallbackState {
                role,
                store: Box::new(store),
                outgoing: VecDeque::new(),
                events: Vec::new(),
                pending_identity: HashMap::new(),
            },
            config,
            peers: HashMap::new(),
            stats: Stats::default(),
            created: 0,
        })
    }

    /// This endpoint's role.
    pub fn role(&self) -> Role {
        self.cb.role
    }

    /// Drop and refusal counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Established sessions.
    pub fn session_count(&self) -> usize {
        self.peers.values().filter(|p| p.identity.is_some()).count()
    }

    /// Handshakes in progress.
    pub fn handshake_count(&self) -> usize {
        self.peers.len() - self.session_count()
    }

    /// The authenticated PSK identity of the established session with `peer`.
    pub fn session_identity(&self, peer: SocketAddr) -> Option<&[u8]> {
        self.peers.get(&peer)?.identity.as_deref()
    }

    /// All established sessions and their identities.
    pub fn sessions(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> {
        self.peers
            .iter()
            .filter_map(|(a, p)| Some((*a, p.identity.as_deref()?)))
    }

    /// Client role: starts a handshake with `peer` (the ClientHello is queued for transmit).
    /// [`Event::Connected`] follows from [`handle_datagram`](Self::handle_datagram).
    pub fn connect(&mut self, peer: SocketAddr) -> Result<(), Error> {
        if self.cb.role != Role::Client {
            return Err(Error::WrongRole);
        }
        if self.peers.contains_key(&peer) {
            return Err(Error::PeerExists);
        }
        if !self.admits(peer) {
            return Err(Error::Capacity);
        }
        let started = self.ctx.connect(&mut self.cb, peer);
        self.cb.events.clear();
        if !started {
            return Err(Error::OutOfMemory);
        }
        self.add_peer(peer);
        Ok(())
    }

    /// Processes one received datagram from `peer`.
    pub fn handle_datagram(&mut self, peer: SocketAddr, datagram: &[u8]) -> Vec<Event> {
        match record::classify(datagram) {
            record::Kind::Malformed => {
                self.stats.malformed_drops += 1;
                return Vec::new();
            }
            record::Kind::ClientHello { cookie_len } => {
                if self.cb.role == Role::Client {
                    self.stats.role_drops += 1;
                    return Vec::new();
                }
                // Only a ClientHello with a cookie can make tinydtls allocate a peer; one
                // without is answered statelessly.
                if cookie_len > 0 && !self.peers.contains_key(&peer) {
                    self.make_room_in_source(peer);
                    if !self.admits(peer) {
                        self.stats.capacity_drops += 1;
                        return Vec::new();
                    }
                }
            }
            record::Kind::Other => match self.peers.get_mut(&peer) {
                Some(p) => p.progressed = true,
                None => {
                    self.stats.unknown_peer_drops += 1;
                    return Vec::new();
                }
            },
        }
        let queued = self.cb.outgoing.len();
        self.ctx.handle_message(&mut self.cb, peer, datagram);
        let hvrs = self
            .cb
            .outgoing
            .iter()
            .skip(queued)
            .filter(|t| record::is_hello_verify_request(&t.bytes))
            .count();
        self.stats.hello_verify_requests += hvrs as u64;
        self.process(&[peer])
    }

    /// Encrypts `plaintext` as one application-data record to `peer`.
    pub fn send(&mut self, peer: SocketAddr, plaintext: &[u8]) -> Result<(), Error> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(Error::TooLarge(plaintext.len()));
        }
        if self.session_identity(peer).is_none() {
            return Err(Error::NotConnected);
        }
        let written = self.ctx.write(&mut self.cb, peer, plaintext);
        self.cb.events.clear();
        match written {
            n if n > 0 => Ok(()),
            0 => Err(Error::NotConnected),
            _ => Err(Error::SendFailed),
        }
    }

    /// Ends the session or handshake with `peer` now: a close_notify is queued and all state is
    /// freed, so later records from `peer` are dropped. Returns whether state existed.
    pub fn close(&mut self, peer: SocketAddr) -> bool {
        if self.peers.remove(&peer).is_none() {
            return false;
        }
        self.ctx.close(&mut self.cb, peer, true);
        self.cb.events.clear();
        self.cb.pending_identity.remove(&peer);
        self.stats.closed_by_app += 1;
        true
    }

    /// Closes every session authenticated as `identity`, and every handshake using it (e.g.
    /// when the account that allowed them is removed). Returns the peers closed.
    pub fn close_identity(&mut self, identity: &[u8]) -> Vec<SocketAddr> {
        let victims: Vec<SocketAddr> = self
            .peers
            .iter()
            .filter(|(addr, p)| {
                p.identity.as_deref() == Some(identity)
                    || self.cb.pending_identity.get(*addr).map(Vec::as_slice) == Some(identity)
            })
            .map(|(addr, _)| *addr)
            .collect();
        for peer in &victims {
            self.close(*peer);
        }
        victims
    }

    /// Runs retransmissions and timeouts. `now` drives the handshake and idle timeouts;
    /// tinydtls' retransmission timer uses the system's monotonic clock.
    pub fn poll_timers(&mut self, now: Instant) -> Vec<Event> {
        let mut expired = Vec::new();
        for (addr, p) in &mut self.peers {
            let since = *p.since.get_or_insert(now);
            if p.active {
                p.active = false;
                p.since = Some(now);
                continue;
            }
            let elapsed = now.saturating_duration_since(since);
            let half_open = self.cb.role == Role::Server && !p.progressed;
            let limit = match p.identity {
                None if half_open => Some(self.config.half_open_timeout),
                None => Some(self.config.handshake_timeout),
                Some(_) => self.config.idle_timeout,
            };
            if limit.is_some_and(|limit| elapsed >= limit) {
                expired.push((*addr, p.identity.is_some()));
            }
        }
        let mut events = Vec::new();
        for (addr, was_session) in expired {
            self.peers.remove(&addr);
            self.cb.pending_identity.remove(&addr);
            // A dead handshake gets no alert; an idle session gets a close_notify.
            self.ctx.close(&mut self.cb, addr, was_session);
            if was_session {
                self.stats.idle_closes += 1;
            } else {
                self.stats.handshake_timeouts += 1;
            }
            events.push(Event::Closed { peer: addr });
        }
        self.cb.events.clear();
        self.ctx.check_retransmit(&mut self.cb);
        let all: Vec<SocketAddr> = self.peers.keys().copied().collect();
        events.extend(self.process(&all));
        events
    }

    /// Next datagram to send, oldest first.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.cb.outgoing.pop_front()
    }

    /// New state for `peer`, ordered after every existing one.
    fn add_peer(&mut self, peer: SocketAddr) {
        self.created += 1;
        let order = self.created;
        self.peers.insert(
            peer,
            Peer {
                order,
                ..Peer::default()
            },
        );
    }

    /// When `peer`'s source is at [`Config::max_handshakes_per_source`], drops that source's
    /// oldest half-open handshake (never one that progressed, never a session).
    fn make_room_in_source(&mut self, peer: SocketAddr) {
        let src = source(peer);
        let mut count = 0;
        let mut oldest: Option<(u64, SocketAddr)> = None;
        for (a, p) in &self.peers {
            if p.identity.is_some() || source(*a) != src {
                continue;
            }
            count += 1;
            if !p.progressed && oldest.is_none_or(|(o, _)| p.order < o) {
                oldest = Some((p.order, *a));
            }
        }
        if count < self.config.max_handshakes_per_source {
            return;
        }
        if let Some((_, victim)) = oldest {
            self.peers.remove(&victim);
            self.cb.pending_identity.remove(&victim);
            self.ctx.close(&mut self.cb, victim, false);
            self.cb.events.clear();
            self.stats.source_replacements += 1;
        }
    }

    /// Would a new handshake with `peer` stay within the limits? State `peer` already has is
    /// replaced, so it does not count.
    fn admits(&self, peer: SocketAddr) -> bool {
        let others = self.peers.iter().filter(|(a, _)| **a != peer);
        let src = source(peer);
        let (mut total, mut handshakes, mut from_source) = (0, 0, 0);
        for (a, p) in others {
            total += 1;
            if p.identity.is_none() {
                handshakes += 1;
                from_source += usize::from(source(*a) == src);
            }
        }
        let per_source_ok =
            self.cb.role == Role::Client || from_source < self.config.max_handshakes_per_source;
        total < self.config.max_sessions && handshakes < self.config.max_handshakes && per_source_ok
    }

    /// Turns tinydtls' raw events into [`Event`]s and brings `self.peers` in line with
    /// tinydtls' peer table for `touched` and every peer an event named.
    fn process(&mut self, touched: &[SocketAddr]) -> Vec<Event> {
        let mut events = Vec::new();
        let mut check: Vec<SocketAddr> = touched.to_vec();
        for raw in std::mem::take(&mut self.cb.events) {
            match raw {
                RawEvent::Connected(peer) => {
                    let identity = self.cb.pending_identity.remove(&peer).unwrap_or_default();
                    let entry = self.peers.entry(peer).or_default();
                    entry.since = None;
                    if entry.identity.as_ref().is_some_and(|old| *old != identity) {
                        events.push(Event::Closed { peer });
                    }
                    entry.identity = Some(identity.clone());
                    events.push(Event::Connected { peer, identity });
                    check.push(peer);
                }
                RawEvent::Data(peer, plaintext) => match self.peers.get_mut(&peer) {
                    Some(p) if p.identity.is_some() => {
                        p.active = true;
                        events.push(Event::Data { peer, plaintext });
                    }
                    _ => self.stats.undelivered_records += 1,
                },
                RawEvent::Alert(peer, level, description) => {
                    events.push(Event::Alert {
                        peer,
                        level: level.into(),
                        description,
                    });
                    check.push(peer);
                }
            }
        }
        check.sort_unstable();
        check.dedup();
        for peer in check {
            self.reconcile(peer, &mut events);
        }
        events
    }

    fn reconcile(&mut self, peer: SocketAddr, events: &mut Vec<Event>) {
        match self.ctx.peer_state(peer) {
            None | Some(ffi::PeerState::Closing) => {
                if self.ctx.peer_state(peer).is_some() {
                    self.ctx.close(&mut self.cb, peer, false);
                    self.cb.events.clear();
                }
                self.cb.pending_identity.remove(&peer);
                if let Some(p) = self.peers.remove(&peer) {
                    if p.identity.is_none() {
                        self.stats.handshakes_failed += 1;
                    }
                    events.push(Event::Closed { peer });
                }
            }
            Some(ffi::PeerState::Handshaking) => {
                if !self.peers.contains_key(&peer) {
                    self.add_peer(peer);
                }
                let entry = self.peers.entry(peer).or_default();
                if entry.identity.take().is_some() {
                    // A new handshake (or renegotiation) replaced the session: until it
                    // finishes, nothing is delivered under the old identity.
                    entry.since = None;
                    events.push(Event::Closed { peer });
                }
            }
            Some(ffi::PeerState::Connected) => {
                // Connected without a Connected event cannot happen; treat it as a handshake
                // so that nothing is delivered without an identity.
                self.peers.entry(peer).or_default();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<DtlsEndpoint>();
        struct NoKeys;
        impl PskStore for NoKeys {}
        let ep = DtlsEndpoint::new(Role::Server, NoKeys, Config::default()).expect("endpoint");
        let ep = std::thread::spawn(move || ep).join().expect("thread");
        assert_eq!(ep.role(), Role::Server);
    }

    #[test]
    fn key_lengths_and_hex() {
        assert_eq!(Key::new(&[]).err(), Some(Error::KeyLength(0)));
        assert_eq!(Key::new(&[0; 17]).err(), Some(Error::KeyLength(17)));
        assert_eq!(Key::new(&[7; 16]).map(|k| k.len()), Ok(16));
        let k = Key::from_hex("00fF10").expect("hex");
        assert_eq!(k.expose(), &[0x00, 0xff, 0x10]);
        assert_eq!(Key::from_hex("0").err(), Some(Error::KeyEncoding));
        assert_eq!(Key::from_hex("0g").err(), Some(Error::KeyEncoding));
        assert_eq!(Key::from_hex("").err(), Some(Error::KeyLength(0)));
        assert_eq!(format!("{k:?}"), "Key(<3 bytes redacted>)");
    }
}
