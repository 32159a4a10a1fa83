//! The driver core: [`HostClient`] joins the engine, the CoAP message layer and a transport
//! in one single-threaded event loop: registration and device management toward the servers,
//! requests served to any peer, the message layer's timers. Who a peer is
//! ([`HostClient::identity_for`]) and where a destination is (`security.rs`), the
//! client-to-client roles (`c2c_requesting.rs`, `c2c_hosting.rs`) and the server OSCORE
//! contexts (`server_oscore.rs`) are further `impl` blocks of the same type.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use lwm2m::coap::{code, option, Message, MessageBuilder, MessageType};
use lwm2m::engine::{source_key, Destination, Engine, Millis, Outgoing, Peer, RegistrationState};

use super::c2c;
use super::event::Event;
use super::fota_pull::{Pull, PullOptions};
use super::oscore_state::ServerOscore;
use crate::clock::{Clock, Rng};
use crate::message::{MessageLayer, Received, SendError, Sent, Timeout};
use crate::transmission::TransmissionParams;
use crate::transport::{PeerSecurity, Transport};
use lwm2m_endpoint::msg::code_string;

/// Size of the buffers for built and received messages (the IPv6 minimum MTU; larger
/// responses go out block-wise).
pub const BUF_LEN: usize = 1280;
/// Longest the loop sleeps before looking at its command channel.
pub(super) const TICK: Duration = Duration::from_millis(50);
/// Most remote addresses that hold a peer handle at once ([`PeerTable`]).
pub const MAX_PEERS: usize = 4096;
/// Milliseconds after which the handle of a remote the engine and the message layer no longer
/// refer to is forgotten (the next datagram from it gets a new handle).
pub const PEER_IDLE_MS: Millis = 30_000;
/// Most remembered observation paths (labels of the notification events).
const MAX_OBSERVED_LABELS: usize = 256;
/// The handle given when every slot is held by a remote still in use; it maps to no address.
const OVERFLOW_HANDLE: u32 = u32::MAX;

/// `u32` handles for remote addresses (the engine's [`Peer::endpoint`]). A handle is never
/// given to another address (they count up), so a stale handle maps to no address rather
/// than a wrong one. Handles of remotes nobody refers to any more (no observation, no
/// pending exchange: the caller's `in_use`) are forgotten after [`PEER_IDLE_MS`], and when
/// the table is full the least recently seen such remote goes first, so unauthenticated
/// remotes cost nothing lasting.
#[derive(Debug, Default)]
pub struct PeerTable {
    by_addr: HashMap<SocketAddr, u32>,
    /// Address and last time seen, by handle.
    by_handle: HashMap<u32, (SocketAddr, Millis)>,
    next: u32,
    /// Handles forgotten so far (idle or evicted).
    forgotten: u64,
    /// Addresses that got [`OVERFLOW_HANDLE`] because every slot was in use.
    overflowed: u64,
}

impl PeerTable {
    /// The handle of `addr` seen at `now`, allocated on first use. When [`MAX_PEERS`]
    /// addresses hold handles, the least recently seen one not `in_use` is forgotten for it;
    /// if all are in use, `addr` gets a handle that cannot be sent to.
    pub fn handle(&mut self, addr: SocketAddr, now: Millis, in_use: impl Fn(u32) -> bool) -> u32 {
        if let Some(&h) = self.by_addr.get(&addr) {
            if let Some(e) = self.by_handle.get_mut(&h) {
                e.1 = now;
            }
            return h;
        }
        if self.by_handle.len() >= MAX_PEERS {
            let oldest = self
                .by_handle
                .iter()
                .filter(|(h, _)| !in_use(**h))
                .min_by_key(|(_, (_, seen))| *seen)
                .map(|(h, _)| *h);
            match oldest {
                Some(h) => self.forget(h),
                None => {
                    self.overflowed += 1;
                    return OVERFLOW_HANDLE;
                }
            }
        }
        let h = self.next;
        // u32::MAX is the overflow handle; 4 billion remotes later the count starts over.
        self.next = self
            .next
            .checked_add(1)
            .filter(|&n| n != OVERFLOW_HANDLE)
            .unwrap_or(0);
        self.by_addr.insert(addr, h);
        self.by_handle.insert(h, (addr, now));
        h
    }

    /// The address of a handle (`None`: forgotten, or never given).
    pub fn addr(&self, handle: u32) -> Option<SocketAddr> {
        self.by_handle.get(&handle).map(|e| e.0)
    }

    /// Forgets every handle not seen for [`PEER_IDLE_MS`] that is not `in_use`.
    pub fn prune(&mut self, now: Millis, in_use: impl Fn(u32) -> bool) {
        let idle: Vec<u32> = self
            .by_handle
            .iter()
            .filter(|(h, (_, seen))| now.saturating_sub(*seen) >= PEER_IDLE_MS && !in_use(**h))
            .map(|(h, _)| *h)
            .collect();
        for h in idle {
            self.forget(h);
        }
    }

    fn forget(&mut self, handle: u32) {
        if let Some((addr, _)) = self.by_handle.remove(&handle) {
            self.by_addr.remove(&addr);
            self.forgotten += 1;
        }
    }

    /// Addresses holding a handle now.
    pub fn len(&self) -> usize {
        self.by_handle.len()
    }

    /// True if no address holds a handle.
    pub fn is_empty(&self) -> bool {
        self.by_handle.is_empty()
    }

    /// Handles forgotten so far (idle, or evicted for a new remote when full).
    pub fn forgotten(&self) -> u64 {
        self.forgotten
    }

    /// Remotes that got the overflow handle because every slot was in use.
    pub fn overflowed(&self) -> u64 {
        self.overflowed
    }
}

/// Options of a [`HostClient`] besides its parts.
#[derive(Clone, Copy, Debug, Default)]
pub struct DriverOptions {
    /// Message-layer parameters.
    pub tx: TransmissionParams,
    /// INSECURE, for NoSec interoperability tests only: serve every unauthenticated peer as
    /// this Short Server ID.
    pub accept_any_peer_as: Option<u16>,
    /// Firmware Update pull (block size, retries).
    pub pull: PullOptions,
}

/// The event loop of one client: engine, message layer, transport and clock.
pub struct HostClient<'a, T: Transport, C: Clock> {
    pub(super) engine: Engine<'a>,
    pub(super) transport: T,
    pub(super) clock: C,
    pub(super) ml: MessageLayer,
    pub(super) peers: PeerTable,
    /// When [`PeerTable::prune`] last ran.
    pub(super) peers_pruned_at: Millis,
    pub(super) resolved: HashMap<String, Vec<SocketAddr>>,
    pub(super) accept_any_peer_as: Option<u16>,
    /// The OSCORE contexts of server accounts (Security res 17 -> object 21).
    pub(super) server_oscore: ServerOscore,
    /// How the datagram being handled was authenticated.
    pub(super) rx_security: PeerSecurity,
    /// Observed path by (peer handle, token), for the event lines.
    pub(super) observed: HashMap<(u32, Vec<u8>), String>,
    /// Client-to-client state (both roles).
    pub(super) c2c: c2c::State,
    /// Queue Mode as the driver last saw it.
    pub(super) queue: super::queue::QueueView,
    /// The Firmware Update pull in progress (`fota_pull.rs`).
    pub(super) pull: Option<Pull>,
    pub(super) pull_options: PullOptions,
    /// Counter in the tokens of pull requests.
    pub(super) pull_seq: u32,
    pub(super) sink: Box<dyn FnMut(&Event) + 'a>,
    pub(super) buf: Vec<u8>,
    pub(super) rx: Vec<u8>,
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
        let c2c = c2c::State::new(Rng::from_seed(rng.next_u64() ^ 0xc2c0_c2c0));
        HostClient {
            engine,
            transport,
            clock,
            ml: MessageLayer::new(options.tx, rng),
            peers: PeerTable::default(),
            peers_pruned_at: 0,
            resolved: HashMap::new(),
            accept_any_peer_as: options.accept_any_peer_as,
            server_oscore: Default::default(),
            rx_security: PeerSecurity::NoSec,
            observed: HashMap::new(),
            c2c,
            queue: Default::default(),
            pull: None,
            pull_options: options.pull,
            pull_seq: 0,
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

    /// The peer handle of `addr` (see [`PeerTable`]); forgets idle handles at most once per
    /// [`PEER_IDLE_MS`] / 4.
    pub(super) fn peer_handle(&mut self, addr: SocketAddr, now: Millis) -> u32 {
        let (engine, ml) = (&self.engine, &self.ml);
        let in_use = |h: u32| engine.endpoint_in_use(h) || ml.refers_to(Destination::Endpoint(h));
        if now.saturating_sub(self.peers_pruned_at) >= PEER_IDLE_MS / 4 {
            self.peers_pruned_at = now;
            self.peers.prune(now, in_use);
        }
        self.peers.handle(addr, now, in_use)
    }

    /// The peer table (diagnostics: its size stays bounded under floods).
    pub fn peers(&self) -> &PeerTable {
        &self.peers
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
        [
            self.engine.next_wakeup(),
            self.ml.next_timeout(),
            self.c2c_next_retry(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Sends everything the engine and the message layer have due now.
    pub fn flush(&mut self) {
        self.server_oscore_sync();
        self.c2c_service();
        self.pull_service();
        // Sends the last datagram's answer ended.
        self.send_service();
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
                    Timeout::Transmit { to, bytes } | Timeout::Retransmit { to, bytes } => {
                        // Queue Mode: a message sent, the awake time starts again.
                        self.engine.message_sent(now);
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
            // Closed accounts, access results, ended pulls: may queue more work.
            self.c2c_service();
            self.pull_service();
            self.send_service();
        }
        self.buf = buf;
        // Accounts the timers just closed.
        self.c2c_service();
        self.queue_service();
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
        match self.ml.send(to, out.dest, msg, now) {
            Ok(Sent::Now(_)) => {}
            // Sent by `flush` when NSTART lets it go.
            Ok(Sent::Queued(_)) => return,
            Err(SendError::NotCoap) => return,
            Err(e @ SendError::QueueFull) => {
                let reason = e.to_string();
                self.emit(Event::SendFailed {
                    dest: format!("{} ({to})", dest_text(out.dest)),
                    reason: reason.clone(),
                });
                if let Ok(m) = Message::parse(msg) {
                    let token = m.token.to_vec();
                    self.failed(out.dest, &token, m.code, reason);
                }
                return;
            }
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
        if self.pull_owns(token) {
            return self.pull_no_answer(&reason);
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
        // Empty datagrams are the command handle's wake-ups, not traffic.
        if !data.is_empty() && self.queue_drops(from, now) {
            return self.flush();
        }
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
            Received::Response { msg, .. } if self.pull_owns(msg.token) => {
                self.pull_response(&msg);
            }
            Received::Response {
                dest,
                request_code,
                msg,
            } => {
                let before = self.reg_state(dest);
                self.engine.handle_response(&msg, now);
                self.registration_event(dest, request_code, before, code_string(msg.code));
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
        let handle = self.peer_handle(from, now);
        let sec = self.rx_security.clone();
        let identity = self.identity_for(from, &sec);
        let peer = Peer {
            identity,
            endpoint: handle,
            source: source_of(from),
        };
        let hints_before = self.engine.hint_counters();
        let (mtype, mid) = self.ml.response_header(msg);
        let mut buf = std::mem::take(&mut self.buf);
        let Ok(mut b) = MessageBuilder::new(&mut buf, mtype, code::EMPTY, mid, msg.token) else {
            self.buf = buf;
            return;
        };
        match oscore_rejection(msg, &sec, self.transport.verifies_oscore()) {
            Some((c, diagnostic)) => {
                // Unprotected (nothing verified it), Max-Age 0 so no proxy keeps it.
                b.set_code(c);
                let _ = b.option(option::MAX_AGE, &[]);
                let _ = b.payload(diagnostic.as_bytes());
            }
            None => self.engine.handle_request(&peer, msg, now, &mut b),
        }
        if b.code() == code::EMPTY {
            b.set_code(code::INTERNAL_SERVER_ERROR);
        }
        let resp_code = b.code();
        let hints = self.engine.hint_counters();
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
        if let Some(limit) = hints.limit_hit_since(&hints_before) {
            self.emit(Event::HintLimited {
                peer: from,
                limit,
                counters: hints,
            });
        }
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

/// The RFC 8613 section 8.2 answer to a request with an OSCORE option that the transport did
/// not verify: 4.02 (Bad Option) with "Failed to decode COSE" when the option is malformed,
/// else 4.01 (Unauthorized) with "Security context not found" (no context has its kid).
/// `None` for a verified or unprotected request, and when the transport has no OSCORE at all
/// (then the option is an unknown critical one and the engine answers 4.02).
pub fn oscore_rejection(
    msg: &Message<'_>,
    sec: &PeerSecurity,
    verifies_oscore: bool,
) -> Option<(u8, &'static str)> {
    let value = msg.option(option::OSCORE)?;
    if !verifies_oscore || matches!(sec, PeerSecurity::Oscore { .. }) {
        return None;
    }
    Some(if lwm2m_oscore::is_valid_option(value) {
        (code::UNAUTHORIZED, "Security context not found")
    } else {
        (code::BAD_OPTION, "Failed to decode COSE")
    })
}

/// The engine's [`Peer::source`] of a remote: its IP address without the port.
pub(super) fn source_of(addr: SocketAddr) -> u32 {
    match addr.ip() {
        std::net::IpAddr::V4(a) => source_key(&a.octets()),
        std::net::IpAddr::V6(a) => source_key(&a.octets()),
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
