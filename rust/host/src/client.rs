//! The driver: [`HostClient`] joins the engine, the CoAP message layer and a transport in one
//! single-threaded event loop; [`spawn`] runs a complete simulated client (Device, IPSO
//! temperature sensors, lights) on a thread behind a [`ClientHandle`].

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use lwm2m::coap::{code, option, Message, MessageBuilder, MessageType};
use lwm2m::dm::{Caller, Object};
use lwm2m::engine::{
    Destination, Engine, Identity, Millis, Outgoing, Peer, RegistrationState, ServerConfig,
};
use lwm2m::objects::device::DeviceAction;
use lwm2m::objects::light_control::LightControl;
use lwm2m::objects::security::mode;
use lwm2m::{Path, Value};

use crate::clock::{Clock, MonotonicClock, Rng};
use crate::message::{MessageLayer, Received, Timeout, TxParams};
use crate::objects::{HostDevice, Sensors, Simulation, MAX_LIGHTS, MAX_SENSORS};
use crate::oscore::{FileSeqnoStore, OscoreParams};
use crate::secure::SecureTransport;
use crate::transport::{OscoreOwner, PeerSecurity, Transport};
use crate::uri::{Scheme, ServerUri, UriError};
use zeroize::Zeroizing;

mod c2c;
mod server_oscore;
pub use c2c::{C2cChannel, C2cRequest, C2cStep};

/// Size of the buffers for built and received messages (the IPv6 minimum MTU; larger
/// responses go out block-wise).
pub const BUF_LEN: usize = 1280;
/// Longest the loop sleeps before looking at its command channel.
const TICK: Duration = Duration::from_millis(50);
/// Most remote addresses that get their own peer handle.
const MAX_PEERS: usize = 4096;
/// Most remembered observation paths (labels of the notification events).
const MAX_OBSERVED_LABELS: usize = 256;
/// The handle shared by addresses beyond [`MAX_PEERS`]; it maps to no address.
const OVERFLOW_HANDLE: u32 = u32::MAX;

/// Something the client did, one line each in the binary's output.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Registered to a server.
    Registered {
        /// Short Server ID.
        ssid: u16,
    },
    /// A Register failed (error code, timeout, reset, unreachable); the engine retries.
    RegistrationFailed {
        /// Short Server ID.
        ssid: u16,
        /// Why.
        reason: String,
    },
    /// A registration Update succeeded.
    Updated {
        /// Short Server ID.
        ssid: u16,
    },
    /// An Update failed; the engine registers again.
    UpdateFailed {
        /// Short Server ID.
        ssid: u16,
        /// Why.
        reason: String,
    },
    /// De-registered (or gave up waiting for the answer).
    Deregistered {
        /// Short Server ID.
        ssid: u16,
        /// The response code, or why there was none.
        result: String,
    },
    /// The Bootstrap-Request got an answer or failed.
    BootstrapRequest {
        /// The response code, or why there was none.
        result: String,
    },
    /// A request was answered.
    RequestServed {
        /// Who sent it.
        peer: SocketAddr,
        /// As whom it was served.
        identity: Identity,
        /// Request code.
        method: u8,
        /// Uri-Path, `/`-joined.
        path: String,
        /// Response code.
        code: u8,
    },
    /// A notification went out.
    NotificationSent {
        /// The observer.
        peer: SocketAddr,
        /// Observed path (as far as known).
        path: String,
        /// Observe sequence number.
        observe: Option<u32>,
        /// CON or NON.
        confirmable: bool,
        /// Response code (an error code ends the observation).
        code: u8,
    },
    /// An observation ended because a notification was reset or never acknowledged.
    ObservationEnded {
        /// The observer.
        peer: Option<SocketAddr>,
        /// Observed path (as far as known).
        path: String,
        /// Why.
        reason: String,
    },
    /// A server executed Reboot or Factory Reset (simulated: only reported).
    DeviceAction(DeviceAction),
    /// A message could not be sent.
    SendFailed {
        /// Destination.
        dest: String,
        /// Why.
        reason: String,
    },
    /// A step of client-to-client operation `op` (requesting side).
    C2c {
        /// The operation ID ([`ClientHandle::c2c`]).
        op: u32,
        /// What happened.
        step: C2cStep,
    },
    /// The sessions / context of a peer client account were closed (T2).
    C2cClosed {
        /// Short Client ID of the account.
        short_id: u16,
        /// Why.
        reason: String,
        /// DTLS sessions and handshakes closed.
        dtls_sessions: usize,
        /// An OSCORE context was dropped.
        oscore: bool,
    },
    /// An automatic access request (account refresh) ended.
    C2cAccessRefresh {
        /// Endpoint name of the hosting client.
        host: String,
        /// Short Server ID asked.
        ssid: u16,
        /// Response code text, or `timeout`.
        result: String,
    },
    /// The event loop ended.
    Stopped,
}

/// `2.05`-style text of a CoAP code.
pub fn code_text(c: u8) -> String {
    format!("{}.{:02}", c >> 5, c & 0x1f)
}

/// Name of a request code.
pub fn method_name(c: u8) -> String {
    match c {
        code::GET => "GET".into(),
        code::POST => "POST".into(),
        code::PUT => "PUT".into(),
        code::DELETE => "DELETE".into(),
        code::FETCH => "FETCH".into(),
        code::PATCH => "PATCH".into(),
        code::IPATCH => "iPATCH".into(),
        c => code_text(c),
    }
}

fn identity_text(id: Identity) -> String {
    match id {
        Identity::Server(s) => format!("server {s}"),
        Identity::Bootstrap => "bootstrap server".into(),
        Identity::Client(c) => format!("client {c}"),
        Identity::Unauthenticated => "unauthenticated".into(),
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Registered { ssid } => write!(f, "registered ssid={ssid}"),
            Event::RegistrationFailed { ssid, reason } => {
                write!(f, "registration failed ssid={ssid}: {reason}")
            }
            Event::Updated { ssid } => write!(f, "updated ssid={ssid}"),
            Event::UpdateFailed { ssid, reason } => {
                write!(f, "update failed ssid={ssid}: {reason}")
            }
            Event::Deregistered { ssid, result } => {
                write!(f, "deregistered ssid={ssid} ({result})")
            }
            Event::BootstrapRequest { result } => write!(f, "bootstrap request: {result}"),
            Event::RequestServed {
                peer,
                identity,
                method,
                path,
                code,
            } => write!(
                f,
                "served {} {path} from {peer} ({}) -> {}",
                method_name(*method),
                identity_text(*identity),
                code_text(*code)
            ),
            Event::NotificationSent {
                peer,
                path,
                observe,
                confirmable,
                code,
            } => {
                let t = if *confirmable { "CON" } else { "NON" };
                write!(
                    f,
                    "notification sent {path} to {peer} {t} {}",
                    code_text(*code)
                )?;
                match observe {
                    Some(o) => write!(f, " observe={o}"),
                    None => Ok(()),
                }
            }
            Event::ObservationEnded { peer, path, reason } => match peer {
                Some(p) => write!(f, "observation ended {path} by {p}: {reason}"),
                None => write!(f, "observation ended {path}: {reason}"),
            },
            Event::DeviceAction(DeviceAction::Reboot) => {
                f.write_str("device: reboot requested (simulated, nothing done)")
            }
            Event::DeviceAction(DeviceAction::FactoryReset) => {
                f.write_str("device: factory reset requested (simulated, nothing done)")
            }
            Event::SendFailed { dest, reason } => write!(f, "send to {dest} failed: {reason}"),
            Event::C2c { op, step } => write!(f, "c2c #{op}: {step}"),
            Event::C2cClosed {
                short_id,
                reason,
                dtls_sessions,
                oscore,
            } => {
                write!(
                    f,
                    "c2c account {short_id} closed ({reason}): {dtls_sessions} DTLS session(s)"
                )?;
                if *oscore {
                    f.write_str(", OSCORE context dropped")?;
                }
                Ok(())
            }
            Event::C2cAccessRefresh { host, ssid, result } => {
                write!(
                    f,
                    "c2c account refresh for {host} at server {ssid}: {result}"
                )
            }
            Event::Stopped => f.write_str("stopped"),
        }
    }
}

/// Stable `u32` handles for remote addresses (the engine's [`Peer::endpoint`]).
#[derive(Debug, Default)]
pub struct PeerTable {
    by_addr: HashMap<SocketAddr, u32>,
    addrs: Vec<SocketAddr>,
}

impl PeerTable {
    /// The handle of `addr`, allocated on first use. Past [`MAX_PEERS`] addresses every new
    /// one shares a handle that cannot be sent to (so hostile traffic cannot grow the table).
    pub fn handle(&mut self, addr: SocketAddr) -> u32 {
        if let Some(&h) = self.by_addr.get(&addr) {
            return h;
        }
        if self.addrs.len() >= MAX_PEERS {
            return OVERFLOW_HANDLE;
        }
        let h = self.addrs.len() as u32;
        self.addrs.push(addr);
        self.by_addr.insert(addr, h);
        h
    }

    /// The address of a handle.
    pub fn addr(&self, handle: u32) -> Option<SocketAddr> {
        self.addrs.get(handle as usize).copied()
    }
}

/// Options of a [`HostClient`] besides its parts.
#[derive(Clone, Copy, Debug, Default)]
pub struct DriverOptions {
    /// Message-layer parameters.
    pub tx: TxParams,
    /// INSECURE, for NoSec interoperability tests only: serve every unauthenticated peer as
    /// this Short Server ID.
    pub accept_any_peer_as: Option<u16>,
}

/// The event loop of one client: engine, message layer, transport and clock.
pub struct HostClient<'a, T: Transport, C: Clock> {
    engine: Engine<'a>,
    transport: T,
    clock: C,
    ml: MessageLayer,
    peers: PeerTable,
    resolved: HashMap<String, Vec<SocketAddr>>,
    accept_any_peer_as: Option<u16>,
    /// The OSCORE contexts of server accounts (Security res 17 -> object 21).
    server_oscore: server_oscore::ServerOscore,
    /// How the datagram being handled was authenticated.
    rx_security: PeerSecurity,
    /// Observed path by (peer handle, token), for the event lines.
    observed: HashMap<(u32, Vec<u8>), String>,
    /// Client-to-client state (both roles).
    c2c: c2c::State,
    sink: Box<dyn FnMut(&Event) + 'a>,
    buf: Vec<u8>,
    rx: Vec<u8>,
}

impl<'a, T: Transport, C: Clock> HostClient<'a, T, C> {
    /// A driver around a configured engine. `rng` seeds message IDs and jitter; `sink`
    /// receives every [`Event`].
    pub fn new(
        engine: Engine<'a>,
        transport: T,
        clock: C,
        options: DriverOptions,
        mut rng: Rng,
        sink: Box<dyn FnMut(&Event) + 'a>,
    ) -> Self {
        let c2c = c2c::State::new(Rng::seeded(rng.next_u64() ^ 0xc2c0_c2c0));
        HostClient {
            engine,
            transport,
            clock,
            ml: MessageLayer::new(options.tx, rng),
            peers: PeerTable::default(),
            resolved: HashMap::new(),
            accept_any_peer_as: options.accept_any_peer_as,
            server_oscore: Default::default(),
            rx_security: PeerSecurity::NoSec,
            observed: HashMap::new(),
            c2c,
            sink,
            buf: vec![0; BUF_LEN],
            rx: vec![0; BUF_LEN * 2],
        }
    }

    /// The engine.
    pub fn engine(&mut self) -> &mut Engine<'a> {
        // The caller may change objects directly: mirror the credentials again.
        self.c2c.synced = None;
        self.server_oscore.synced = None;
        &mut self.engine
    }

    /// The message layer (diagnostics).
    pub fn message_layer(&self) -> &MessageLayer {
        &self.ml
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, mutably (to add credentials).
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Current time on the driver's clock.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Reports an event to the sink.
    pub fn emit(&mut self, e: Event) {
        (self.sink)(&e);
    }

    /// Starts the engine (registration or bootstrap) and sends what is due.
    pub fn start(&mut self) {
        let now = self.now();
        self.engine.start(now);
        self.flush();
    }

    /// When the loop next has timed work (engine timers, retransmissions).
    pub fn next_deadline(&self) -> Option<Millis> {
        match (self.engine.next_wakeup(), self.ml.next_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Sends everything the engine and the message layer have due now.
    pub fn flush(&mut self) {
        self.server_oscore_sync();
        self.c2c_service();
        let mut buf = std::mem::take(&mut self.buf);
        // Bounded: each round either sends or reports a failure that reschedules into the
        // future; the bound only guards against an engine bug spinning the loop.
        for _ in 0..64 {
            let now = self.now();
            let mut busy = false;
            while let Some(out) = self.engine.poll(now, &mut buf) {
                busy = true;
                if let Some(msg) = buf.get_mut(..out.len) {
                    self.send_outgoing(out, msg, now);
                }
            }
            while let Some(t) = self.ml.poll(now) {
                busy = true;
                match t {
                    Timeout::Retransmit { to, bytes } => {
                        if let Err(e) = self.transport.send(&bytes, to) {
                            self.emit(Event::SendFailed {
                                dest: to.to_string(),
                                reason: e.to_string(),
                            });
                        }
                    }
                    Timeout::Failed {
                        dest,
                        token,
                        request_code,
                    } => self.failed(dest, &token, request_code, "timeout".into()),
                }
            }
            if !busy {
                break;
            }
            // Closed accounts, access results: may queue more work.
            self.c2c_service();
        }
        self.buf = buf;
        // Accounts the timers just closed.
        self.c2c_service();
    }

    fn send_outgoing(&mut self, out: Outgoing, msg: &mut [u8], now: Millis) {
        let to = match self.resolve_dest(out.dest) {
            Ok(a) => a,
            Err(reason) => {
                self.emit(Event::SendFailed {
                    dest: dest_text(out.dest),
                    reason: reason.clone(),
                });
                if let Ok(m) = Message::parse(msg) {
                    let token = m.token.to_vec();
                    self.failed(out.dest, &token, m.code, reason);
                }
                return;
            }
        };
        if self.ml.send(to, out.dest, msg, now).is_none() {
            return;
        }
        if let Err(e) = self.transport.send(msg, to) {
            // A CON stays pending and is retransmitted; a NON is lost.
            self.emit(Event::SendFailed {
                dest: format!("{} ({to})", dest_text(out.dest)),
                reason: e.to_string(),
            });
        }
        if let (Destination::Endpoint(h), Ok(m)) = (out.dest, Message::parse(msg)) {
            let key = (h, m.token.to_vec());
            let path = self.observed.get(&key).cloned().unwrap_or_default();
            if code::is_response(m.code) && m.code >> 5 != 2 {
                // An error notification ends the observation in the engine.
                self.observed.remove(&key);
            }
            self.emit(Event::NotificationSent {
                peer: to,
                path,
                observe: m.option_uint(option::OBSERVE).and_then(Result::ok),
                confirmable: out.confirmable,
                code: m.code,
            });
        }
    }

    /// Tells the engine that a message got no answer, and reports it.
    fn failed(&mut self, dest: Destination, token: &[u8], request_code: u8, reason: String) {
        if self.c2c.owns(token) {
            return self.c2c_no_answer(token, &reason);
        }
        let before = self.reg_state(dest);
        let now = self.now();
        self.engine.request_failed(dest, token, now);
        match dest {
            Destination::Endpoint(h) => {
                let path = self
                    .observed
                    .remove(&(h, token.to_vec()))
                    .unwrap_or_default();
                self.emit(Event::ObservationEnded {
                    peer: self.peers.addr(h),
                    path,
                    reason,
                });
            }
            _ => self.registration_event(dest, request_code, before, reason),
        }
    }

    fn reg_state(&self, dest: Destination) -> Option<RegistrationState> {
        match dest {
            Destination::Server(s) => Some(self.engine.registration_state(s)),
            _ => None,
        }
    }

    /// Reports what a response (or failure, with `result` the reason) did to the registration.
    fn registration_event(
        &mut self,
        dest: Destination,
        request_code: u8,
        before: Option<RegistrationState>,
        result: String,
    ) {
        let e = match dest {
            Destination::Bootstrap => Event::BootstrapRequest { result },
            Destination::Server(ssid) => {
                let after = self.engine.registration_state(ssid);
                match (request_code, before) {
                    (code::DELETE, _) => Event::Deregistered { ssid, result },
                    (_, Some(RegistrationState::Registering)) => {
                        if after == RegistrationState::Registered {
                            Event::Registered { ssid }
                        } else {
                            Event::RegistrationFailed {
                                ssid,
                                reason: result,
                            }
                        }
                    }
                    (_, Some(RegistrationState::Updating)) => {
                        if after == RegistrationState::Registered {
                            Event::Updated { ssid }
                        } else {
                            Event::UpdateFailed {
                                ssid,
                                reason: result,
                            }
                        }
                    }
                    _ => return,
                }
            }
            Destination::Endpoint(_) => return,
        };
        self.emit(e);
    }

    /// Resolves a URI of the Security object (cached).
    fn resolve_uri(&mut self, uri: &str) -> Result<Vec<SocketAddr>, UriError> {
        if let Some(a) = self.resolved.get(uri) {
            return Ok(a.clone());
        }
        let u = ServerUri::parse(uri)?;
        let addrs = u.resolve()?;
        self.resolved.insert(uri.to_owned(), addrs.clone());
        Ok(addrs)
    }

    /// The address to send to for a destination.
    fn resolve_dest(&mut self, dest: Destination) -> Result<SocketAddr, String> {
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
                        && *owner == OscoreOwner::Server(ssid)
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
                        OscoreOwner::Client(cid) => self
                            .engine
                            .client_by_oscore_recipient(kid)
                            .filter(|c| c == cid),
                        OscoreOwner::Server(_) => None,
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
    fn c2c_psk_account(&self, cid: u16) -> bool {
        self.engine
            .client_security()
            .by_short_id(cid)
            .is_some_and(|s| s.mode == mode::PSK)
    }

    /// Waits up to `max_wait` (less if a timer is due earlier) for one datagram and handles it.
    /// Returns whether one came.
    pub fn receive_once(&mut self, max_wait: Duration) -> io::Result<bool> {
        let now = self.now();
        let wait = match self.next_deadline() {
            Some(t) => Duration::from_millis(t.saturating_sub(now)).min(max_wait),
            None => max_wait,
        };
        let mut rx = std::mem::take(&mut self.rx);
        let r = self.transport.recv(&mut rx, wait);
        if let Ok(Some((n, from))) = r {
            if let Some(data) = rx.get(..n) {
                self.rx_security = self.transport.received_security();
                self.handle_datagram(from, data);
                self.rx_security = PeerSecurity::NoSec;
            }
        }
        self.rx = rx;
        r.map(|x| x.is_some())
    }

    /// Handles one datagram from `from` (canonical address).
    pub fn handle_datagram(&mut self, from: SocketAddr, data: &[u8]) {
        let now = self.now();
        let inbound = self.ml.receive(from, data, now);
        if let Some(r) = &inbound.reply {
            if let Err(e) = self.transport.send(r, from) {
                self.emit(Event::SendFailed {
                    dest: from.to_string(),
                    reason: e.to_string(),
                });
            }
        }
        match inbound.event {
            Received::Request(msg) => self.serve(from, &msg, now),
            Received::Response { msg, .. } if self.c2c.owns(msg.token) => {
                self.c2c_response(&msg);
            }
            Received::Response {
                dest,
                request_code,
                msg,
            } => {
                let before = self.reg_state(dest);
                self.engine.handle_response(&msg, now);
                self.registration_event(dest, request_code, before, code_text(msg.code));
            }
            Received::Reset {
                dest,
                token,
                request_code,
            } => self.failed(dest, &token, request_code, "reset".into()),
            Received::Nothing => {}
        }
        self.flush();
    }

    fn serve(&mut self, from: SocketAddr, msg: &Message<'_>, now: Millis) {
        let handle = self.peers.handle(from);
        let sec = self.rx_security.clone();
        let identity = self.identity_for(from, &sec);
        let peer = Peer {
            identity,
            endpoint: handle,
        };
        let (mtype, mid) = self.ml.response_header(msg);
        let mut buf = std::mem::take(&mut self.buf);
        let Ok(mut b) = MessageBuilder::new(&mut buf, mtype, code::EMPTY, mid, msg.token) else {
            self.buf = buf;
            return;
        };
        self.engine.handle_request(&peer, msg, now, &mut b);
        if b.code() == code::EMPTY {
            b.set_code(code::INTERNAL_SERVER_ERROR);
        }
        let resp_code = b.code();
        let n = b.finish();
        let out = buf.get(..n).unwrap_or_default();
        if mtype == MessageType::Ack {
            self.ml.responded(from, msg.message_id, out);
        }
        let sent = self.transport.send(out, from);
        let observe_resp = Message::parse(out)
            .ok()
            .and_then(|m| m.option(option::OBSERVE).map(|_| ()));
        self.buf = buf;
        if let Err(e) = sent {
            self.emit(Event::SendFailed {
                dest: from.to_string(),
                reason: e.to_string(),
            });
        }
        let path = path_text(msg);
        if msg.code == code::GET {
            let key = (handle, msg.token.to_vec());
            match msg.option_uint(option::OBSERVE) {
                Some(Ok(0)) if observe_resp.is_some() => {
                    // The engine keeps one observation per peer and path; so do the labels.
                    self.observed
                        .retain(|(h, _), p| !(*h == handle && *p == path));
                    if self.observed.len() >= MAX_OBSERVED_LABELS {
                        // Only log labels are lost; the engine's observations are unaffected.
                        self.observed.clear();
                    }
                    self.observed.insert(key, path.clone());
                }
                Some(Ok(1)) => {
                    self.observed.remove(&key);
                }
                _ => {}
            }
        }
        self.emit(Event::RequestServed {
            peer: from,
            identity,
            method: msg.code,
            path,
            code: resp_code,
        });
    }

    /// De-registers from every server and waits (handling traffic) until the De-register
    /// requests are answered or failed, at most `timeout`.
    pub fn shutdown(&mut self, timeout: Duration) {
        let start = self.now();
        self.engine.deregister_all(start);
        let deadline = start + timeout.as_millis() as Millis;
        loop {
            self.flush();
            let waiting = self
                .ml
                .is_pending(|d, c| matches!(d, Destination::Server(_)) && c == code::DELETE);
            let now = self.now();
            if !waiting || now >= deadline {
                break;
            }
            let _ = self.receive_once(Duration::from_millis(deadline - now).min(TICK));
        }
    }
}

/// The error text for a Security Mode the host runtime does not implement.
pub fn unsupported_mode(m: u8) -> String {
    match m {
        mode::RPK => "security mode 1 (raw public key) is not supported".into(),
        mode::CERTIFICATE => "security mode 2 (certificate) is not supported".into(),
        mode::EST => "security mode 4 (certificate with EST) is not supported".into(),
        m => format!("unknown security mode {m}"),
    }
}

fn dest_text(d: Destination) -> String {
    match d {
        Destination::Server(s) => format!("server {s}"),
        Destination::Bootstrap => "bootstrap server".into(),
        Destination::Endpoint(h) => format!("peer #{h}"),
    }
}

fn path_text(msg: &Message<'_>) -> String {
    let mut s = String::new();
    for seg in msg.uri_path() {
        s.push('/');
        s.push_str(&String::from_utf8_lossy(seg));
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

/// An LwM2M value that owns its data (for commands into the loop thread).
#[derive(Clone, Debug, PartialEq)]
pub enum OwnedValue {
    /// Signed integer.
    Integer(i64),
    /// Unsigned integer.
    Unsigned(u64),
    /// Float.
    Float(f64),
    /// Boolean.
    Boolean(bool),
    /// UTF-8 string.
    String(String),
    /// Opaque bytes.
    Opaque(Vec<u8>),
    /// Seconds since the Unix epoch.
    Time(i64),
    /// Object link.
    ObjLnk(u16, u16),
    /// CoRE link.
    CoreLnk(String),
}

impl OwnedValue {
    /// Borrows it as an engine value.
    pub fn as_value(&self) -> Value<'_> {
        match self {
            OwnedValue::Integer(v) => Value::Integer(*v),
            OwnedValue::Unsigned(v) => Value::Unsigned(*v),
            OwnedValue::Float(v) => Value::Float(*v),
            OwnedValue::Boolean(v) => Value::Boolean(*v),
            OwnedValue::String(s) => Value::String(s),
            OwnedValue::Opaque(b) => Value::Opaque(b),
            OwnedValue::Time(t) => Value::Time(*t),
            OwnedValue::ObjLnk(o, i) => Value::ObjLnk(*o, *i),
            OwnedValue::CoreLnk(s) => Value::CoreLnk(s),
        }
    }
}

/// A DTLS pre-shared key: identity and key. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Psk {
    /// PSK identity.
    pub identity: Vec<u8>,
    /// The key (1 to 16 bytes).
    pub key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Psk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Psk")
            .field("identity", &String::from_utf8_lossy(&self.identity))
            .field("key", &format_args!("<{} bytes redacted>", self.key.len()))
            .finish()
    }
}

impl Psk {
    /// Parses `IDENTITY,KEY_HEX` (the identity as text). Errors never echo the key.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (id, key) = s.rsplit_once(',').ok_or("PSK is IDENTITY,KEY_HEX")?;
        let key = Zeroizing::new(crate::oscore::unhex(key).ok_or("PSK key: bad hex")?);
        if id.is_empty() || id.len() > lwm2m_dtls::MAX_IDENTITY_LEN {
            return Err(format!(
                "PSK identity must have 1..={} bytes",
                lwm2m_dtls::MAX_IDENTITY_LEN
            ));
        }
        if key.is_empty() || key.len() > lwm2m_dtls::MAX_KEY_LEN {
            return Err(format!(
                "PSK key must have 1..={} bytes",
                lwm2m_dtls::MAX_KEY_LEN
            ));
        }
        Ok(Psk {
            identity: id.as_bytes().to_vec(),
            key,
        })
    }
}

/// A DM server account of a [`ClientConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSpec {
    /// Short Server ID.
    pub ssid: u16,
    /// `coap://host:port` or `coaps://host:port`.
    pub uri: String,
    /// PSK identity and key (Security mode 0); required for `coaps://`.
    pub psk: Option<Psk>,
    /// OSCORE context parameters: at start they become an OSCORE (21) instance
    /// ([`server_oscore_instance`]) that res 17 of the account's Security instance links.
    pub oscore: Option<OscoreParams>,
}

impl ServerSpec {
    /// A NoSec account.
    pub fn new(ssid: u16, uri: &str) -> Self {
        ServerSpec {
            ssid,
            uri: uri.into(),
            psk: None,
            oscore: None,
        }
    }
}

/// Configuration of a client started with [`spawn`].
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Endpoint client name (also the Device serial number).
    pub endpoint: String,
    /// DM servers.
    pub servers: Vec<ServerSpec>,
    /// Bootstrap server URI.
    pub bootstrap: Option<String>,
    /// Registration lifetime in seconds.
    pub lifetime: u32,
    /// Local address; default: the wildcard of the first server's address family, port 0.
    pub bind: Option<SocketAddr>,
    /// Simulated IPSO temperature sensors (object 3303 is absent when 0).
    pub temperatures: usize,
    /// How often the simulated readings change; `None`: never by themselves.
    pub period: Option<Duration>,
    /// Pre-created Light Control (3311) instances.
    pub lights: usize,
    /// INSECURE (tests only): serve every peer no account matches (unauthenticated, or a
    /// DTLS / OSCORE peer with credentials of no server) as this server.
    pub accept_any_peer_as: Option<u16>,
    /// Identities and keys this client accepts DTLS handshakes with (it acts as DTLS server
    /// for them on its socket). A session whose identity is a server account's PSK identity
    /// is that server.
    pub listen_psks: Vec<Psk>,
    /// Where OSCORE sequence numbers are persisted (`None`: not persisted, the material must
    /// be fresh each run).
    pub oscore_seqno_file: Option<std::path::PathBuf>,
    /// Stop (after de-registering) this long after the start.
    pub duration: Option<Duration>,
    /// How long the shutdown waits for the De-register answers.
    pub deregister_timeout: Duration,
    /// Message-layer parameters.
    pub tx: TxParams,
    /// Seed for tokens, message IDs, jitter and the simulation (`None`: random).
    pub seed: Option<u64>,
}

impl ClientConfig {
    /// A client named `endpoint` with no server yet, lifetime 300 s, no sensors or lights.
    pub fn new(endpoint: &str) -> Self {
        ClientConfig {
            endpoint: endpoint.into(),
            servers: Vec::new(),
            bootstrap: None,
            lifetime: 300,
            bind: None,
            temperatures: 0,
            period: None,
            lights: 0,
            accept_any_peer_as: None,
            listen_psks: Vec::new(),
            oscore_seqno_file: None,
            duration: None,
            deregister_timeout: Duration::from_secs(3),
            tx: TxParams::default(),
            seed: None,
        }
    }

    /// Adds a DM server with the next free Short Server ID (1, 2, ...).
    pub fn server(mut self, uri: &str) -> Self {
        let ssid = (1..).find(|s| self.servers.iter().all(|x| x.ssid != *s));
        self.servers.push(ServerSpec::new(ssid.unwrap_or(1), uri));
        self
    }

    /// Adds a `coaps://` DM server with a PSK identity and key (Security mode 0).
    pub fn dtls_server(mut self, uri: &str, identity: &[u8], key: &[u8]) -> Self {
        self = self.server(uri);
        if let Some(s) = self.servers.last_mut() {
            s.psk = Some(Psk {
                identity: identity.to_vec(),
                key: Zeroizing::new(key.to_vec()),
            });
        }
        self
    }

    /// Adds a `coap://` DM server protected with OSCORE.
    pub fn oscore_server(mut self, uri: &str, params: OscoreParams) -> Self {
        self = self.server(uri);
        if let Some(s) = self.servers.last_mut() {
            s.oscore = Some(params);
        }
        self
    }

    /// Checks names, counts, URIs and credentials (`coaps://` needs a PSK, a PSK needs
    /// `coaps://`; at most one OSCORE server, since one sequence-number file serves one
    /// context).
    pub fn validate(&self) -> Result<(), ClientError> {
        let bad = |s: String| Err(ClientError::Config(s));
        if self.endpoint.is_empty() || self.endpoint.len() > lwm2m::config::ENDPOINT_LEN {
            return bad(format!(
                "endpoint name must have 1..={} bytes",
                lwm2m::config::ENDPOINT_LEN
            ));
        }
        if self.servers.is_empty() && self.bootstrap.is_none() {
            return bad("need at least one --server or a --bootstrap server".into());
        }
        if self.servers.len() > lwm2m::config::MAX_SERVERS {
            return bad(format!("at most {} servers", lwm2m::config::MAX_SERVERS));
        }
        for (i, s) in self.servers.iter().enumerate() {
            if s.ssid == 0 || s.ssid == 65535 {
                return bad(format!("Short Server ID {} out of 1..=65534", s.ssid));
            }
            if self.servers[..i].iter().any(|p| p.ssid == s.ssid) {
                return bad(format!("Short Server ID {} used twice", s.ssid));
            }
        }
        let uris = self.servers.iter().map(|s| &s.uri).chain(&self.bootstrap);
        for u in uris {
            if u.len() > lwm2m::config::URI_LEN {
                return bad(format!(
                    "URI {u:?} longer than {} bytes",
                    lwm2m::config::URI_LEN
                ));
            }
            ServerUri::parse(u).map_err(|e| ClientError::Uri(u.clone(), e))?;
        }
        for s in &self.servers {
            let scheme = ServerUri::parse(&s.uri)
                .map_err(|e| ClientError::Uri(s.uri.clone(), e))?
                .scheme;
            match (scheme, &s.psk) {
                (Scheme::Coaps, None) => {
                    return bad(format!("{}: coaps:// needs a PSK (--psk ID,KEY)", s.uri))
                }
                (Scheme::Coap, Some(_)) => {
                    return bad(format!("{}: a PSK needs a coaps:// URI", s.uri))
                }
                _ => {}
            }
        }
        if let Some(b) = &self.bootstrap {
            if ServerUri::parse(b).is_ok_and(|u| u.scheme == Scheme::Coaps) {
                return bad(format!(
                    "{b}: a coaps:// bootstrap server is not supported (no bootstrap PSK option)"
                ));
            }
        }
        if self.servers.iter().filter(|s| s.oscore.is_some()).count() > 1 {
            return bad("at most one OSCORE server".into());
        }
        if self.lifetime == 0 {
            return bad("lifetime must be at least 1 s".into());
        }
        if self.temperatures > MAX_SENSORS {
            return bad(format!("at most {MAX_SENSORS} temperature sensors"));
        }
        if self.lights > MAX_LIGHTS {
            return bad(format!("at most {MAX_LIGHTS} lights"));
        }
        if self
            .accept_any_peer_as
            .is_some_and(|s| s == 0 || s == 65535)
        {
            return bad("--accept-any-peer-as needs a Short Server ID 1..=65534".into());
        }
        if self.period.is_some_and(|p| p.is_zero()) {
            return bad("period must be positive".into());
        }
        Ok(())
    }

    /// The address to bind: [`ClientConfig::bind`], else the wildcard address (port 0) of
    /// the family of the first server's (or the bootstrap server's) first address.
    pub fn bind_addr(&self) -> Result<SocketAddr, ClientError> {
        if let Some(b) = self.bind {
            return Ok(b);
        }
        let first = self
            .servers
            .first()
            .map(|s| &s.uri)
            .or(self.bootstrap.as_ref());
        let v4 = match first {
            Some(u) => {
                let parsed = ServerUri::parse(u).map_err(|e| ClientError::Uri(u.clone(), e))?;
                let addrs = parsed
                    .resolve()
                    .map_err(|e| ClientError::Uri(u.clone(), e))?;
                addrs.first().is_some_and(|a| a.is_ipv4())
            }
            None => false,
        };
        let ip: IpAddr = if v4 {
            Ipv4Addr::UNSPECIFIED.into()
        } else {
            Ipv6Addr::UNSPECIFIED.into()
        };
        Ok(SocketAddr::new(ip, 0))
    }
}

/// Why a client could not start or a command failed.
#[derive(Debug)]
pub enum ClientError {
    /// Invalid configuration.
    Config(String),
    /// A server URI is unusable.
    Uri(String, UriError),
    /// Binding the socket failed.
    Io(io::Error),
    /// The engine refused the configuration or a value.
    Engine(lwm2m::Error),
    /// The client thread is gone or did not answer in time.
    Stopped,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Config(s) => f.write_str(s),
            ClientError::Uri(u, e) => write!(f, "{u}: {e}"),
            ClientError::Io(e) => write!(f, "{e}"),
            ClientError::Engine(e) => write!(f, "engine: {e}"),
            ClientError::Stopped => f.write_str("the client is not running"),
        }
    }
}

impl std::error::Error for ClientError {}

/// A function run on the loop thread with the engine and the current time.
pub type EngineFn = Box<dyn FnOnce(&mut Engine<'_>, Millis) + Send>;

/// Commands into the loop thread.
pub enum Command {
    /// Run a function with the engine.
    Run(EngineFn),
    /// Start client-to-client operation `op`.
    C2c(u32, Box<C2cRequest>),
    /// End client-to-client operation `op` (an observation is forgotten).
    C2cCancel(u32),
    /// Report the secure channels in use.
    SecureState(Sender<SecureState>),
    /// De-register and stop.
    Stop,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Command::Run(_) => "Run",
            Command::C2c(..) => "C2c",
            Command::C2cCancel(_) => "C2cCancel",
            Command::SecureState(_) => "SecureState",
            Command::Stop => "Stop",
        })
    }
}

/// The secure channels of a running client ([`ClientHandle::secure_state`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecureState {
    /// Established DTLS sessions where this client is the DTLS client (servers, hosts).
    pub dtls_client_sessions: usize,
    /// Established DTLS sessions where this client is the DTLS server (requesting clients).
    pub dtls_server_sessions: usize,
    /// OSCORE contexts of peer client accounts.
    pub peer_oscore_contexts: usize,
    /// Socket-level counters (datagrams and bytes as on the wire).
    pub wire: crate::secure::WireStats,
}

/// Stops a running client from anywhere (e.g. a signal handler). Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Stopper(Arc<AtomicBool>);

impl Stopper {
    /// Asks the loop to de-register and stop (it notices within 50 ms).
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once stop was asked.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A client running on its own thread.
#[derive(Debug)]
pub struct ClientHandle {
    tx: Sender<Command>,
    stopper: Stopper,
    thread: Option<JoinHandle<()>>,
    local_addr: SocketAddr,
    /// Sends an empty datagram to the loop's socket after each command, so the loop runs it
    /// now instead of at its next tick (an empty datagram is no CoAP message and is dropped).
    waker: Option<std::net::UdpSocket>,
    /// The last client-to-client operation ID handed out.
    last_op: std::sync::atomic::AtomicU32,
}

/// How long a command waits for the loop thread.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

impl ClientHandle {
    /// The bound local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops the client from another thread.
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// True once the loop thread ended.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Runs `f` on the loop thread with the engine and waits for its result.
    pub fn with_engine<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine<'_>, Millis) -> R + Send + 'static,
    ) -> Result<R, ClientError> {
        let (tx, rx) = mpsc::channel();
        let run: EngineFn = Box::new(move |e, now| {
            let _ = tx.send(f(e, now));
        });
        self.tx
            .send(Command::Run(run))
            .map_err(|_| ClientError::Stopped)?;
        self.wake();
        rx.recv_timeout(COMMAND_TIMEOUT)
            .map_err(|_| ClientError::Stopped)
    }

    /// Registration state toward server `ssid`.
    pub fn registration_state(&self, ssid: u16) -> Result<RegistrationState, ClientError> {
        self.with_engine(move |e, _| e.registration_state(ssid))
    }

    /// Number of active observations.
    pub fn observation_count(&self) -> Result<usize, ClientError> {
        self.with_engine(|e, _| e.observation_count())
    }

    /// Sets a resource value as the firmware would ([`Engine::set_value`]): observers get
    /// notified under their attributes.
    pub fn set_value(&self, path: Path, value: OwnedValue) -> Result<(), ClientError> {
        self.with_engine(move |e, now| e.set_value(&path, value.as_value(), now))?
            .map_err(ClientError::Engine)
    }

    /// Starts a client-to-client operation (requesting side): see [`C2cRequest`] and the
    /// [`Event::C2c`] steps, which carry the returned operation ID.
    pub fn c2c(&self, req: C2cRequest) -> Result<u32, ClientError> {
        let op = self.last_op.fetch_add(1, Ordering::SeqCst) + 1;
        self.tx
            .send(Command::C2c(op, Box::new(req)))
            .map_err(|_| ClientError::Stopped)?;
        self.wake();
        Ok(op)
    }

    /// The secure channels in use now.
    pub fn secure_state(&self) -> Result<SecureState, ClientError> {
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(Command::SecureState(tx))
            .map_err(|_| ClientError::Stopped)?;
        self.wake();
        rx.recv_timeout(COMMAND_TIMEOUT)
            .map_err(|_| ClientError::Stopped)
    }

    /// Ends client-to-client operation `op`; for an observation the host's next
    /// notification is reset, which ends it there too.
    pub fn c2c_cancel(&self, op: u32) -> Result<(), ClientError> {
        self.tx
            .send(Command::C2cCancel(op))
            .map_err(|_| ClientError::Stopped)?;
        self.wake();
        Ok(())
    }

    fn wake(&self) {
        if let Some(w) = &self.waker {
            let _ = w.send_to(&[], wake_target(self.local_addr));
        }
    }

    /// De-registers, stops the loop and waits for the thread.
    pub fn stop(mut self) {
        let _ = self.tx.send(Command::Stop);
        self.stopper.stop();
        self.wake();
        self.join_thread();
    }

    /// Waits until the client stops by itself ([`ClientConfig::duration`] or a [`Stopper`]).
    pub fn join(mut self) {
        self.join_thread();
    }

    fn join_thread(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ClientHandle {
    fn drop(&mut self) {
        self.stopper.stop();
        self.join_thread();
    }
}

/// Starts a simulated client on a new thread: Device (3), `temperatures` IPSO Temperature
/// sensors (3303) whose readings change every `period`, and Light Control (3311) with
/// `lights` instances. Every [`Event`] goes to `sink` (on the client thread). Returns once the
/// socket is bound.
pub fn spawn(
    config: ClientConfig,
    sink: impl FnMut(&Event) + Send + 'static,
) -> Result<ClientHandle, ClientError> {
    config.validate()?;
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    let stopper = Stopper::default();
    let stop = stopper.clone();
    let thread = thread::Builder::new()
        .name(format!("lwm2m-client {}", config.endpoint))
        .spawn(move || run(config, Box::new(sink), rx, stop, ready_tx))
        .map_err(ClientError::Io)?;
    let local_addr = match ready_rx.recv() {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            let _ = thread.join();
            return Err(e);
        }
        Err(_) => {
            let _ = thread.join();
            return Err(ClientError::Stopped);
        }
    };
    let target = wake_target(local_addr);
    let waker_bind: SocketAddr = if target.is_ipv4() {
        (std::net::Ipv4Addr::LOCALHOST, 0).into()
    } else {
        (std::net::Ipv6Addr::LOCALHOST, 0).into()
    };
    Ok(ClientHandle {
        tx,
        stopper,
        thread: Some(thread),
        local_addr,
        waker: std::net::UdpSocket::bind(waker_bind).ok(),
        last_op: std::sync::atomic::AtomicU32::new(0),
    })
}

/// Where a waker datagram for a socket bound to `a` goes (loopback for a wildcard bind).
fn wake_target(a: SocketAddr) -> SocketAddr {
    match a {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => {
            (std::net::Ipv4Addr::LOCALHOST, v4.port()).into()
        }
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => {
            (std::net::Ipv6Addr::LOCALHOST, v6.port()).into()
        }
        other => other,
    }
}

/// Like [`spawn`], with the events delivered on a channel.
pub fn spawn_with_events(
    config: ClientConfig,
) -> Result<(ClientHandle, Receiver<Event>), ClientError> {
    let (tx, rx) = mpsc::channel();
    let h = spawn(config, move |e| {
        let _ = tx.send(e.clone());
    })?;
    Ok((h, rx))
}

/// The OSCORE (21) instance ID for the `index`-th server of a [`ClientConfig`]: from the top
/// of the ID space down, far from the low IDs a server allocates for C2C contexts (which it
/// cannot see: object 21 is not listed in the registration).
pub fn server_oscore_instance(index: usize) -> u16 {
    lwm2m::path::ID_NONE - 1 - index.min(usize::from(lwm2m::path::ID_NONE - 1)) as u16
}

/// Writes `p` as OSCORE instance `inst` and links it from res 17 of the Security instance of
/// server `ssid`, as a bootstrap server would.
fn provision_oscore(
    engine: &mut Engine<'_>,
    ssid: u16,
    inst: u16,
    p: &OscoreParams,
) -> lwm2m::Result<()> {
    use lwm2m_oscore::resource as r;
    let sec = engine
        .security()
        .by_ssid(ssid)
        .map(|s| s.id)
        .ok_or(lwm2m::Error::NotFound)?;
    let o = engine
        .object_mut(r::OBJECT_ID)
        .ok_or(lwm2m::Error::NotFound)?;
    o.create(Caller::Local, inst)?;
    for (res, v) in [
        (r::MASTER_SECRET, Value::Opaque(&p.master_secret)),
        (r::SENDER_ID, Value::Opaque(&p.sender_id)),
        (r::RECIPIENT_ID, Value::Opaque(&p.recipient_id)),
        (r::MASTER_SALT, Value::Opaque(&p.master_salt)),
    ] {
        o.write(Caller::Local, inst, res, None, &v)?;
    }
    engine
        .object_mut(lwm2m::objects::security::ID)
        .ok_or(lwm2m::Error::NotFound)?
        .write(
            Caller::Local,
            sec,
            r::SECURITY_OSCORE_LINK,
            None,
            &Value::ObjLnk(r::OBJECT_ID, inst),
        )
}

/// An engine with the configured server accounts.
fn build_engine<'a>(
    config: &ClientConfig,
    objects: &'a mut [&'a mut dyn Object],
    block1: &'a mut [u8],
    seed: u64,
) -> Result<Engine<'a>, ClientError> {
    let mut engine = Engine::new(&config.endpoint, objects, seed).map_err(ClientError::Engine)?;
    engine.set_block1_buffer(block1);
    for s in &config.servers {
        let (mode, identity, key): (u8, &[u8], &[u8]) = match &s.psk {
            Some(p) => (mode::PSK, &p.identity, &p.key),
            None => (mode::NOSEC, &[], &[]),
        };
        engine
            .add_server(&ServerConfig {
                ssid: s.ssid,
                uri: &s.uri,
                lifetime: config.lifetime,
                mode,
                identity,
                secret_key: key,
            })
            .map_err(ClientError::Engine)?;
        if let Some(p) = &s.oscore {
            let index = config.servers.iter().position(|x| x.ssid == s.ssid);
            let inst = server_oscore_instance(index.unwrap_or(0));
            provision_oscore(&mut engine, s.ssid, inst, p).map_err(ClientError::Engine)?;
        }
    }
    if let Some(b) = &config.bootstrap {
        engine
            .add_bootstrap_server(b, mode::NOSEC, &[], &[])
            .map_err(ClientError::Engine)?;
    }
    Ok(engine)
}

/// The socket with the configured DTLS listener keys. (OSCORE contexts come from the
/// engine's objects once the driver runs; a corrupt sequence-number file is refused here.)
fn secure_transport(config: &ClientConfig) -> Result<SecureTransport, ClientError> {
    let mut t = SecureTransport::bind(config.bind_addr()?).map_err(ClientError::Io)?;
    for p in &config.listen_psks {
        t.add_listener_psk(&p.identity, &p.key)
            .map_err(|e| ClientError::Config(format!("listener PSK: {e}")))?;
    }
    if let Some(path) = &config.oscore_seqno_file {
        FileSeqnoStore::open(path)
            .map_err(|e| ClientError::Config(format!("{}: {e}", path.display())))?;
    }
    Ok(t)
}

/// The client thread: builds the objects and the engine on its stack, then loops.
fn run(
    config: ClientConfig,
    sink: Box<dyn FnMut(&Event) + Send>,
    commands: Receiver<Command>,
    stop: Stopper,
    ready: Sender<Result<SocketAddr, ClientError>>,
) {
    let mut rng = config.seed.map_or_else(Rng::from_entropy, Rng::seeded);
    // The Device object wants a 'static serial; one small string per client.
    let serial: &'static str = Box::leak(config.endpoint.clone().into_boxed_str());
    let actions = Rc::new(Cell::new(None));
    let mut device = HostDevice::new(serial, actions.clone());
    let mut sensors = Sensors::new(config.temperatures, 21.0);
    let mut lights = LightControl::<MAX_LIGHTS>::new();
    for i in 0..config.lights {
        let _ = lights.create(Caller::Local, i as u16);
    }
    let mut block1 = vec![0u8; lwm2m::config::BLOCK1_BUFFER];
    let mut objects: Vec<&mut dyn Object> = vec![&mut device];
    if config.temperatures > 0 {
        objects.push(&mut sensors);
    }
    objects.push(&mut lights);
    let setup = build_engine(&config, &mut objects, &mut block1, rng.next_u64()).and_then(|e| {
        let transport = secure_transport(&config)?;
        let local = transport.local_addr().map_err(ClientError::Io)?;
        Ok((e, transport, local))
    });
    let (engine, transport) = match setup {
        Ok((e, t, local)) => {
            let _ = ready.send(Ok(local));
            (e, t)
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let options = DriverOptions {
        tx: config.tx,
        accept_any_peer_as: config.accept_any_peer_as,
    };
    let clock = MonotonicClock::new();
    let client_rng = Rng::seeded(rng.next_u64());
    let mut client = HostClient::new(engine, transport, clock, options, client_rng, sink);
    client.set_oscore_seqno_file(config.oscore_seqno_file.clone());
    let mut sim = Simulation::new(Rng::seeded(rng.next_u64()));
    let period = config.period.map(|p| p.as_millis().max(1) as Millis);
    let mut next_tick = period;
    let end = config.duration.map(|d| d.as_millis() as Millis);
    client.start();
    'outer: loop {
        loop {
            match commands.try_recv() {
                Ok(Command::Run(f)) => {
                    let now = client.now();
                    f(client.engine(), now);
                }
                Ok(Command::C2c(op, req)) => client.c2c_start(op, *req),
                Ok(Command::C2cCancel(op)) => client.c2c_cancel(op),
                Ok(Command::SecureState(tx)) => {
                    let t = client.transport();
                    let _ = tx.send(SecureState {
                        dtls_client_sessions: t.dtls_client().session_count(),
                        dtls_server_sessions: t.dtls_server().map_or(0, |s| s.session_count()),
                        peer_oscore_contexts: t.peer_oscore_count(),
                        wire: t.wire_stats(),
                    });
                }
                Ok(Command::Stop) | Err(TryRecvError::Disconnected) => break 'outer,
                Err(TryRecvError::Empty) => break,
            }
        }
        let now = client.now();
        if stop.is_stopped() || end.is_some_and(|e| now >= e) {
            break;
        }
        if let (Some(p), Some(t)) = (period, next_tick) {
            if now >= t {
                for i in 0..config.temperatures {
                    let v = sim.reading(i, now);
                    let path = Path::resource(3303, i as u16, 5700);
                    let _ = client.engine().set_value(&path, Value::Float(v), now);
                }
                // Skip missed ticks instead of bursting after a stall.
                next_tick = Some((t + p).max(now + 1));
            }
        }
        if let Some(a) = actions.take() {
            client.emit(Event::DeviceAction(a));
        }
        client.flush();
        let now = client.now();
        let mut wait = TICK;
        for t in [next_tick, end].into_iter().flatten() {
            wait = wait.min(Duration::from_millis(t.saturating_sub(now)));
        }
        if let Err(e) = client.receive_once(wait) {
            client.emit(Event::SendFailed {
                dest: "socket".into(),
                reason: format!("receive: {e}"),
            });
            thread::sleep(TICK);
        }
    }
    client.shutdown(config.deregister_timeout);
    client.emit(Event::Stopped);
}

/// Waits up to `timeout` for an event matching `f` on `rx` (a helper for tests and demos).
pub fn wait_for_event(
    rx: &Receiver<Event>,
    timeout: Duration,
    mut f: impl FnMut(&Event) -> bool,
) -> Option<Event> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) if f(&e) => return Some(e),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::cell::RefCell;
    use std::collections::VecDeque;

    type Wire = Rc<RefCell<(Vec<(Vec<u8>, SocketAddr)>, VecDeque<(Vec<u8>, SocketAddr)>)>>;

    /// Answers a sent message (an auto-responding peer).
    type Responder = Box<dyn Fn(&Message<'_>) -> Option<Vec<u8>>>;

    /// A transport recording what is sent and delivering queued datagrams; waiting for an
    /// empty wire advances the manual clock by the timeout, like a real sleep.
    struct Fake {
        wire: Wire,
        local: SocketAddr,
        clock: ManualClock,
        responder: Option<Responder>,
    }

    impl Transport for Fake {
        fn send(&mut self, data: &[u8], to: SocketAddr) -> io::Result<()> {
            self.wire.borrow_mut().0.push((data.to_vec(), to));
            if let Some(r) = &self.responder {
                if let Some(answer) = Message::parse(data).ok().and_then(|m| r(&m)) {
                    self.wire.borrow_mut().1.push_back((answer, to));
                }
            }
            Ok(())
        }
        fn recv(
            &mut self,
            buf: &mut [u8],
            timeout: Duration,
        ) -> io::Result<Option<(usize, SocketAddr)>> {
            let Some((d, from)) = self.wire.borrow_mut().1.pop_front() else {
                self.clock.advance(timeout.as_millis().max(1) as Millis);
                return Ok(None);
            };
            buf[..d.len()].copy_from_slice(&d);
            Ok(Some((d.len(), from)))
        }
        fn local_addr(&self) -> io::Result<SocketAddr> {
            Ok(self.local)
        }
    }

    /// A sent datagram: type, code, MID, token, destination, payload.
    type Sent = (MessageType, u8, u16, Vec<u8>, SocketAddr, Vec<u8>);

    const SERVER: &str = "127.0.0.1:5683";

    fn server() -> SocketAddr {
        SERVER.parse().unwrap()
    }

    fn stranger() -> SocketAddr {
        "127.0.0.1:40000".parse().unwrap()
    }

    /// Sent datagrams, parsed into (type, code, mid, token, destination).
    fn take_sent(w: &Wire) -> Vec<Sent> {
        w.borrow_mut()
            .0
            .drain(..)
            .map(|(d, to)| {
                let m = Message::parse(&d).unwrap();
                (
                    m.mtype,
                    m.code,
                    m.message_id,
                    m.token.to_vec(),
                    to,
                    m.payload.to_vec(),
                )
            })
            .collect()
    }

    fn msg(mtype: MessageType, c: u8, mid: u16, token: &[u8], opts: &[(u16, &[u8])]) -> Vec<u8> {
        let mut buf = [0u8; 128];
        let mut b = MessageBuilder::new(&mut buf, mtype, c, mid, token).unwrap();
        for (n, v) in opts {
            b.option(*n, v).unwrap();
        }
        let n = b.finish();
        buf[..n].to_vec()
    }

    /// Runs `f` with a started client on a fake wire and a manual clock.
    fn with_client(
        uri: &str,
        accept_any: Option<u16>,
        f: impl FnOnce(
            &mut HostClient<'_, Fake, ManualClock>,
            &Wire,
            &ManualClock,
            &RefCell<Vec<Event>>,
        ),
    ) {
        with_responder(uri, accept_any, None, f)
    }

    fn with_responder(
        uri: &str,
        accept_any: Option<u16>,
        responder: Option<Responder>,
        f: impl FnOnce(
            &mut HostClient<'_, Fake, ManualClock>,
            &Wire,
            &ManualClock,
            &RefCell<Vec<Event>>,
        ),
    ) {
        let actions = Rc::new(Cell::new(None));
        let mut device = HostDevice::new("test", actions);
        let mut sensors = Sensors::new(1, 20.0);
        let mut objects: [&mut dyn Object; 2] = [&mut device, &mut sensors];
        let mut engine = Engine::new("test", &mut objects, 1).unwrap();
        engine
            .add_server(&ServerConfig {
                ssid: 1,
                uri,
                lifetime: 60,
                mode: TEST_MODE.with(Cell::get),
                identity: b"id",
                secret_key: b"k",
            })
            .unwrap();
        let wire: Wire = Rc::default();
        let clock = ManualClock::new(1_000);
        let events = RefCell::new(Vec::new());
        {
            let transport = Fake {
                wire: wire.clone(),
                local: "0.0.0.0:50000".parse().unwrap(),
                clock: clock.clone(),
                responder,
            };
            let opts = DriverOptions {
                accept_any_peer_as: accept_any,
                ..Default::default()
            };
            let sink = Box::new(|e: &Event| events.borrow_mut().push(e.clone()));
            let mut c =
                HostClient::new(engine, transport, clock.clone(), opts, Rng::seeded(9), sink);
            c.start();
            f(&mut c, &wire, &clock, &events);
        }
    }

    /// Delivers a datagram and lets the client handle it.
    fn deliver(c: &mut HostClient<'_, Fake, ManualClock>, w: &Wire, from: SocketAddr, d: Vec<u8>) {
        w.borrow_mut().1.push_back((d, from));
        assert!(c.receive_once(Duration::ZERO).unwrap());
    }

    #[test]
    fn register_with_retransmission_then_piggybacked_ack() {
        with_client(&format!("coap://{SERVER}"), None, |c, w, clock, events| {
            let sent = take_sent(w);
            assert_eq!(sent.len(), 1);
            let (t, code_, mid, token, to, payload) = sent[0].clone();
            assert_eq!((t, code_, to), (MessageType::Con, code::POST, server()));
            assert!(String::from_utf8_lossy(&payload).contains("</3303/0>"));
            // No answer: retransmitted with the same MID and token after ACK_TIMEOUT..x1.5.
            let due = c.next_deadline().unwrap();
            assert!((1_000 + 2_000..1_000 + 3_000).contains(&due), "{due}");
            clock.set(due);
            c.flush();
            let again = take_sent(w);
            assert_eq!(again.len(), 1);
            assert_eq!((again[0].2, &again[0].3), (mid, &token));
            // The piggy-backed 2.01 registers.
            let ack = msg(
                MessageType::Ack,
                code::CREATED,
                mid,
                &token,
                &[
                    (option::LOCATION_PATH, b"rd"),
                    (option::LOCATION_PATH, b"x1"),
                ],
            );
            deliver(c, w, server(), ack);
            assert_eq!(
                c.engine().registration_state(1),
                RegistrationState::Registered
            );
            assert_eq!(events.borrow().last(), Some(&Event::Registered { ssid: 1 }));
            assert_eq!(c.message_layer().pending_count(), 0);
        });
    }

    #[test]
    fn separate_response_is_acked_and_registers() {
        with_client(&format!("coap://{SERVER}"), None, |c, w, _clock, events| {
            let (_, _, mid, token, ..) = take_sent(w)[0].clone();
            deliver(
                c,
                w,
                server(),
                msg(MessageType::Ack, code::EMPTY, mid, &[], &[]),
            );
            assert!(take_sent(w).is_empty());
            let sep = msg(
                MessageType::Con,
                code::CREATED,
                0x4242,
                &token,
                &[
                    (option::LOCATION_PATH, b"rd"),
                    (option::LOCATION_PATH, b"y"),
                ],
            );
            deliver(c, w, server(), sep);
            let sent = take_sent(w);
            assert_eq!(sent.len(), 1);
            assert_eq!(
                (sent[0].0, sent[0].1, sent[0].2),
                (MessageType::Ack, code::EMPTY, 0x4242)
            );
            assert_eq!(
                c.engine().registration_state(1),
                RegistrationState::Registered
            );
            assert!(events.borrow().contains(&Event::Registered { ssid: 1 }));
        });
    }

    #[test]
    fn giving_up_reports_registration_failure() {
        with_client(&format!("coap://{SERVER}"), None, |c, w, clock, events| {
            for _ in 0..5 {
                clock.set(c.message_layer().next_timeout().unwrap());
                c.flush();
            }
            // 1 + 4 retransmissions, then the failure; the engine retries later.
            assert_eq!(take_sent(w).len(), 5);
            assert!(matches!(
                events.borrow().last(),
                Some(Event::RegistrationFailed { ssid: 1, reason }) if reason == "timeout"
            ));
            assert_eq!(
                c.engine().registration_state(1),
                RegistrationState::Registering
            );
        });
    }

    #[test]
    fn identity_by_address_and_accept_any() {
        with_client(&format!("coap://{SERVER}"), None, |c, w, _, events| {
            take_sent(w);
            assert_eq!(c.identity_of(server()), Identity::Server(1));
            assert_eq!(c.identity_of(stranger()), Identity::Unauthenticated);
            let get = |mid| {
                msg(
                    MessageType::Con,
                    code::GET,
                    mid,
                    b"t",
                    &[
                        (option::URI_PATH, b"3"),
                        (option::URI_PATH, b"0"),
                        (option::URI_PATH, b"1"),
                    ],
                )
            };
            deliver(c, w, server(), get(1));
            deliver(c, w, stranger(), get(2));
            let sent = take_sent(w);
            assert_eq!(sent[0].0, MessageType::Ack);
            assert_eq!(
                (sent[0].1, sent[0].2, sent[0].4),
                (code::CONTENT, 1, server())
            );
            assert_eq!(sent[0].5, b"host");
            assert_eq!((sent[1].1, sent[1].4), (code::UNAUTHORIZED, stranger()));
            assert!(matches!(
                &events.borrow()[..],
                [.., Event::RequestServed { identity: Identity::Server(1), code: code::CONTENT, .. },
                 Event::RequestServed { identity: Identity::Unauthenticated, code: code::UNAUTHORIZED, path, .. }]
                if path == "/3/0/1"
            ));
        });
        with_client(&format!("coap://{SERVER}"), Some(1), |c, _, _, _| {
            assert_eq!(c.identity_of(stranger()), Identity::Server(1));
        });
    }

    #[test]
    fn non_request_gets_non_response_and_observe_rst_cancels() {
        with_client(
            &format!("coap://{SERVER}"),
            Some(1),
            |c, w, clock, events| {
                take_sent(w);
                let obs = msg(
                    MessageType::Non,
                    code::GET,
                    7,
                    b"ob",
                    &[
                        (option::OBSERVE, b""),
                        (option::URI_PATH, b"3303"),
                        (option::URI_PATH, b"0"),
                        (option::URI_PATH, b"5700"),
                    ],
                );
                deliver(c, w, stranger(), obs);
                let sent = take_sent(w);
                assert_eq!((sent[0].0, sent[0].1), (MessageType::Non, code::CONTENT));
                assert_ne!(sent[0].2, 7);
                assert_eq!(c.engine().observation_count(), 1);
                let now = clock.now();
                c.engine()
                    .set_value(&Path::resource(3303, 0, 5700), Value::Float(25.0), now)
                    .unwrap();
                c.flush();
                let n = take_sent(w);
                assert_eq!(n.len(), 1);
                assert_eq!(
                    (n[0].0, &n[0].3, n[0].4),
                    (MessageType::Non, &b"ob".to_vec(), stranger())
                );
                assert!(matches!(
                    events.borrow().last(),
                    Some(Event::NotificationSent { path, confirmable: false, .. }) if path == "/3303/0/5700"
                ));
                // The observer resets the notification: the observation ends.
                deliver(
                    c,
                    w,
                    stranger(),
                    msg(MessageType::Rst, code::EMPTY, n[0].2, &[], &[]),
                );
                assert_eq!(c.engine().observation_count(), 0);
                assert!(matches!(
                    events.borrow().last(),
                    Some(Event::ObservationEnded { reason, .. }) if reason == "reset"
                ));
            },
        );
    }

    thread_local! {
        /// Security mode of the server account `with_responder` configures.
        static TEST_MODE: Cell<u8> = const { Cell::new(mode::NOSEC) };
    }

    /// Each unusable (mode, URI) pair is reported with its reason and nothing is sent: no
    /// fallback to NoSec.
    #[test]
    fn unsupported_security_is_reported_not_sent() {
        for (m, uri, want) in [
            (
                mode::RPK,
                "coaps://127.0.0.1:5684",
                "mode 1 (raw public key)",
            ),
            (
                mode::CERTIFICATE,
                "coaps://127.0.0.1:5684",
                "mode 2 (certificate)",
            ),
            (mode::EST, "coaps://127.0.0.1:5684", "mode 4"),
            (mode::RPK, "coap://127.0.0.1:5683", "mode 1"),
            (mode::PSK, "coap://127.0.0.1:5683", "needs a coaps:// URI"),
            // The fake transport has no DTLS: refused, not sent in clear.
            (mode::PSK, "coaps://127.0.0.1:5684", "no DTLS"),
        ] {
            TEST_MODE.with(|c| c.set(m));
            with_client(uri, None, |_, w, _, events| {
                assert!(take_sent(w).is_empty(), "mode {m} {uri}");
                let ev = events.borrow();
                assert!(
                    matches!(&ev[0], Event::SendFailed { reason, .. } if reason.contains(want)),
                    "mode {m} {uri}: {ev:?}"
                );
                assert!(!format!("{ev:?}").contains("\"k\""));
            });
        }
        TEST_MODE.with(|c| c.set(mode::NOSEC));
    }

    #[test]
    fn coaps_server_is_reported_not_sent() {
        with_client("coaps://127.0.0.1:5684", None, |c, w, _, events| {
            assert!(take_sent(w).is_empty());
            let ev = events.borrow();
            assert!(matches!(
                &ev[0],
                Event::SendFailed { reason, .. } if reason.contains("needs security mode 0")
            ));
            assert!(matches!(&ev[1], Event::RegistrationFailed { ssid: 1, .. }));
            drop(ev);
            assert_eq!(
                c.engine().registration_state(1),
                RegistrationState::Registering
            );
        });
    }

    /// Answers Register with 2.01 and De-register with 2.02 (piggy-backed).
    fn registrar(answer_delete: bool) -> Responder {
        Box::new(move |m: &Message<'_>| {
            let (c, opts): (u8, &[(u16, &[u8])]) = match m.code {
                code::POST => (
                    code::CREATED,
                    &[
                        (option::LOCATION_PATH, b"rd"),
                        (option::LOCATION_PATH, b"q"),
                    ],
                ),
                code::DELETE if answer_delete => (code::DELETED, &[]),
                _ => return None,
            };
            Some(msg(MessageType::Ack, c, m.message_id, m.token, opts))
        })
    }

    #[test]
    fn shutdown_deregisters_and_waits_for_the_answer() {
        let uri = format!("coap://{SERVER}");
        with_responder(&uri, None, Some(registrar(true)), |c, w, clock, events| {
            assert!(c.receive_once(Duration::ZERO).unwrap());
            assert_eq!(
                c.engine().registration_state(1),
                RegistrationState::Registered
            );
            take_sent(w);
            let t0 = clock.now();
            c.shutdown(Duration::from_secs(3));
            let sent = take_sent(w);
            assert_eq!(sent.len(), 1);
            assert_eq!((sent[0].0, sent[0].1), (MessageType::Con, code::DELETE));
            assert!(clock.now() - t0 < 3_000);
            assert!(matches!(
                events.borrow().last(),
                Some(Event::Deregistered { ssid: 1, result }) if result == "2.02"
            ));
        });
    }

    #[test]
    fn shutdown_gives_up_after_its_timeout() {
        let uri = format!("coap://{SERVER}");
        with_responder(&uri, None, Some(registrar(false)), |c, w, clock, _| {
            assert!(c.receive_once(Duration::ZERO).unwrap());
            take_sent(w);
            let t0 = clock.now();
            c.shutdown(Duration::from_secs(3));
            // The clock only moved through the fake's simulated waits.
            assert!(
                (3_000..3_100).contains(&(clock.now() - t0)),
                "{}",
                clock.now() - t0
            );
            let sent = take_sent(w);
            // DELETE, and one retransmission after 2..3 s.
            assert!(sent.iter().all(|s| s.1 == code::DELETE));
            assert!((1..=2).contains(&sent.len()), "{}", sent.len());
        });
    }
}
