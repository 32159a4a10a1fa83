//! Client-to-client (C2C) operations of the driver, both roles (Lanzieri et al., IPSN'22,
//! sections 3-5; `docs/c2c-protocol.md`).
//!
//! **Hosting side.** After every handled message and timer tick ([`HostClient::flush`]) the
//! driver copies the engine's peer client accounts into the transport: the PSK identities and
//! keys of the Client Security (11000) instances become DTLS listener keys, and every active
//! 11000 instance linking an OSCORE (21) instance gets its OSCORE context. A request over such
//! a session or context is `Identity::Client(short_id)` for the engine
//! ([`HostClient::identity_for`]); anything else from a non-server peer stays unauthenticated
//! and gets 4.01 with an owner server hint. Accounts the engine closes
//! ([`Engine::take_closed_client`]: expiry, Disable, deletion) or whose 11000 instance
//! disappears lose their DTLS sessions and OSCORE context at once (T2), reported as
//! [`Event::C2cClosed`]. An OSCORE context is never rebuilt from the same material (that would
//! reuse nonces): only fresh material from the server brings it back.
//!
//! **Requesting side.** [`HostClient::c2c_start`] runs one [`C2cRequest`]: without an active
//! account for the host, the request goes in clear to the host's URI; its 4.01 hint is checked
//! with [`Engine::hint_server`] (hints naming servers this client is not registered with are
//! ignored and reported, T3); the access request goes to that server
//! ([`Engine::request_access`], with `c` when no active account exists); once granted, the
//! request is repeated over the account's DTLS session or OSCORE context; responses and
//! notifications come back as [`Event::C2c`] steps. With an active account the secure request
//! goes first; a 4.01 to it re-runs the access request once.
//!
//! [`Engine::take_closed_client`]: lwm2m::engine::Engine::take_closed_client
//! [`Engine::hint_server`]: lwm2m::engine::Engine::hint_server
//! [`Engine::request_access`]: lwm2m::engine::Engine::request_access
//!
//! Driver requests use 8-byte tokens (the engine's are 4 bytes) and are routed by token.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;

use lwm2m::c2c::access_request::Grant;
use lwm2m::c2c::rights;
use lwm2m::coap::{code, option, Message, MessageBuilder, MessageType};
use lwm2m::engine::{AccessOutcome, Destination};
use lwm2m::objects::security::mode;
use lwm2m::{Error as EngineError, Path};
use zeroize::Zeroizing;

use super::{code_text, Event, HostClient, BUF_LEN};
use crate::clock::{Clock, Rng};
use crate::oscore::{OscoreParams, OscorePeer, VolatileStore};
use crate::transport::{PeerPsk, Transport};
use crate::uri::ServerUri;

/// Length of the tokens of driver requests.
const TOKEN_LEN: usize = 8;
/// Most C2C operations in progress; the oldest finished ones are forgotten first.
const MAX_OPS: usize = 64;

/// One client-to-client operation to run from the requesting client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct C2cRequest {
    /// Endpoint name of the hosting client (the `ep=` of the access request).
    pub host_ep: String,
    /// Where to send the first, unauthenticated request (`coap://host:port`).
    pub host_uri: String,
    /// Request code (GET, PUT, POST, DELETE).
    pub method: u8,
    /// With GET: observe (Observe 0) instead of a single read.
    pub observe: bool,
    /// Target path.
    pub path: Path,
    /// Accept option.
    pub accept: Option<u16>,
    /// Content-Format of `payload`.
    pub content_format: Option<u16>,
    /// Request payload.
    pub payload: Vec<u8>,
    /// Rights asked for in the access request.
    pub grants: Vec<Grant>,
}

impl C2cRequest {
    /// A Read of `path` on `host_ep` (reached first at `host_uri`), asking for Read on the
    /// object instance of `path` (the object for an object path).
    pub fn read(host_ep: &str, host_uri: &str, path: Path) -> Self {
        let target = if path.len() >= 2 {
            path.truncated(2)
        } else {
            path
        };
        C2cRequest {
            host_ep: host_ep.into(),
            host_uri: host_uri.into(),
            method: code::GET,
            observe: false,
            path,
            accept: None,
            content_format: None,
            payload: Vec::new(),
            grants: vec![Grant {
                path: target,
                rights: rights::READ,
            }],
        }
    }

    /// An Observe of `path` (Read rights, like [`C2cRequest::read`]).
    pub fn observe(host_ep: &str, host_uri: &str, path: Path) -> Self {
        C2cRequest {
            observe: true,
            ..Self::read(host_ep, host_uri, path)
        }
    }

    /// Parses `HOST_EP,HOST_URI,PATH` (the binary's `--c2c-read` / `--c2c-observe`).
    pub fn parse(s: &str, observe: bool) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(',').collect();
        let [ep, uri, path] = parts.as_slice() else {
            return Err("expected HOST_EP,HOST_URI,PATH".into());
        };
        if ep.is_empty() || ep.len() > lwm2m::config::ENDPOINT_LEN {
            return Err("host endpoint name must have 1..=64 bytes".into());
        }
        ServerUri::parse(uri).map_err(|e| format!("{uri}: {e}"))?;
        let path = Path::parse_str(path).map_err(|e| format!("path {path:?}: {e:?}"))?;
        if path.is_root() {
            return Err("path must name an object, instance or resource".into());
        }
        Ok(if observe {
            C2cRequest::observe(ep, uri, path)
        } else {
            C2cRequest::read(ep, uri, path)
        })
    }
}

/// How a C2C request was protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum C2cChannel {
    /// In clear (no account yet).
    Plain,
    /// DTLS-PSK session with the account's PSK.
    Dtls,
    /// OSCORE with the account's context.
    Oscore,
}

impl fmt::Display for C2cChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            C2cChannel::Plain => "plain",
            C2cChannel::Dtls => "DTLS",
            C2cChannel::Oscore => "OSCORE",
        })
    }
}

/// One step of a C2C operation ([`Event::C2c`]).
#[derive(Clone, Debug, PartialEq)]
pub enum C2cStep {
    /// The request went out.
    Sent {
        /// Where to.
        to: SocketAddr,
        /// How it was protected.
        channel: C2cChannel,
        /// Short Client ID of the account used (secure channels).
        short_id: Option<u16>,
    },
    /// The host answered 4.01; the owner server URIs of its hint (empty: no hint).
    Unauthorized {
        /// Hinted server URIs.
        hint: Vec<String>,
    },
    /// The hint was not followed: no access request was sent.
    HintIgnored {
        /// Why.
        reason: String,
    },
    /// The access request was queued to server `ssid`.
    AccessRequested {
        /// Short Server ID.
        ssid: u16,
        /// With `c` (credentials wanted).
        credentials: bool,
    },
    /// The server granted access (2.01): the account is installed.
    AccessGranted {
        /// Short Server ID.
        ssid: u16,
    },
    /// The server refused (e.g. 4.03) or did not answer.
    AccessRefused {
        /// Short Server ID.
        ssid: u16,
        /// Response code text, or `timeout`.
        result: String,
    },
    /// The (final) response.
    Response {
        /// Response code.
        code: u8,
        /// How the request was protected.
        channel: C2cChannel,
        /// Content-Format.
        content_format: Option<u16>,
        /// Payload.
        payload: Vec<u8>,
    },
    /// A notification of the observation.
    Notification {
        /// Response code.
        code: u8,
        /// Observe sequence number.
        observe: Option<u32>,
        /// Payload.
        payload: Vec<u8>,
        /// When it was handed to the driver (for delay measurements).
        received: Instant,
    },
    /// The operation ended without (further) response.
    Failed {
        /// Why.
        reason: String,
    },
}

impl fmt::Display for C2cStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            C2cStep::Sent {
                to,
                channel,
                short_id,
            } => {
                write!(f, "request sent to {to} ({channel}")?;
                match short_id {
                    Some(s) => write!(f, ", account {s})"),
                    None => f.write_str(")"),
                }
            }
            C2cStep::Unauthorized { hint } if hint.is_empty() => {
                f.write_str("4.01 unauthorized, no hint")
            }
            C2cStep::Unauthorized { hint } => {
                write!(f, "4.01 unauthorized, owner hint {}", hint.join(" "))
            }
            C2cStep::HintIgnored { reason } => write!(f, "hint ignored: {reason}"),
            C2cStep::AccessRequested { ssid, credentials } => write!(
                f,
                "access request to server {ssid}{}",
                if *credentials {
                    " (credentials wanted)"
                } else {
                    ""
                }
            ),
            C2cStep::AccessGranted { ssid } => {
                write!(f, "access granted by server {ssid}: account installed")
            }
            C2cStep::AccessRefused { ssid, result } => {
                write!(f, "access refused by server {ssid}: {result}")
            }
            C2cStep::Response {
                code,
                channel,
                payload,
                ..
            } => write!(
                f,
                "response {} over {channel}: {}",
                code_text(*code),
                printable(payload)
            ),
            C2cStep::Notification {
                code,
                observe,
                payload,
                ..
            } => {
                write!(f, "notification {}", code_text(*code))?;
                if let Some(o) = observe {
                    write!(f, " observe={o}")?;
                }
                write!(f, ": {}", printable(payload))
            }
            C2cStep::Failed { reason } => write!(f, "failed: {reason}"),
        }
    }
}

/// A payload as text when it is printable UTF-8, else its length.
fn printable(p: &[u8]) -> String {
    match std::str::from_utf8(p) {
        Ok(s) if s.chars().all(|c| !c.is_control()) && s.len() <= 64 => format!("{s:?}"),
        _ => format!("<{} bytes>", p.len()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Request in clear, awaiting the 4.01.
    Plain,
    /// Access request queued or sent to this server.
    Access(u16),
    /// Secure request sent.
    Secure,
    /// Observation established.
    Observing,
    /// Finished.
    Done,
}

#[derive(Debug)]
struct Op {
    req: C2cRequest,
    phase: Phase,
    access_retried: bool,
    channel: C2cChannel,
    short_id: Option<u16>,
    to: Option<SocketAddr>,
    token: Vec<u8>,
}

/// Transport state of one peer client account.
#[derive(Default)]
struct Channel {
    /// PSK identity (11000 res 3) as last synchronized.
    identity: Option<Vec<u8>>,
    /// The OSCORE material the context was built from (never rebuilt from the same bytes).
    oscore_material: Option<Zeroizing<Vec<u8>>>,
    /// The context is in the transport.
    oscore_live: bool,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("oscore_live", &self.oscore_live)
            .finish_non_exhaustive()
    }
}

/// The driver's C2C state (`Debug` leaves the keys out).
pub(crate) struct State {
    ops: HashMap<u32, Op>,
    order: Vec<u32>,
    tokens: HashMap<Vec<u8>, u32>,
    channels: HashMap<u16, Channel>,
    psks: Vec<PeerPsk>,
    /// `Engine::config_generation` at the last sync (None: sync at the next chance).
    pub(crate) synced: Option<u32>,
    rng: Rng,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("ops", &self.ops)
            .field("channels", &self.channels)
            .field("psks", &self.psks.len())
            .finish_non_exhaustive()
    }
}

impl State {
    pub(crate) fn new(rng: Rng) -> Self {
        State {
            ops: HashMap::new(),
            order: Vec::new(),
            tokens: HashMap::new(),
            channels: HashMap::new(),
            psks: Vec::new(),
            synced: None,
            rng,
        }
    }

    /// True if `token` belongs to a driver request.
    pub(crate) fn owns(&self, token: &[u8]) -> bool {
        self.tokens.contains_key(token)
    }
}

/// One 11000 instance as the sync needs it.
struct AccountView {
    short_id: u16,
    active: bool,
    uri: String,
    psk: Option<PeerPsk>,
    oscore: Option<OscoreParams>,
}

fn material(p: &OscoreParams) -> Zeroizing<Vec<u8>> {
    let mut m = Zeroizing::new(Vec::new());
    for part in [
        &p.master_secret[..],
        &p.master_salt[..],
        &p.sender_id[..],
        &p.recipient_id[..],
    ] {
        m.push(part.len() as u8);
        m.extend_from_slice(part);
    }
    m
}

impl<T: Transport, C: Clock> HostClient<'_, T, C> {
    /// The first address of `uri` the socket's family reaches.
    fn c2c_addr(&mut self, uri: &str) -> Option<SocketAddr> {
        let v6_socket = self.transport.local_addr().is_ok_and(|a| a.is_ipv6());
        self.resolve_uri(uri)
            .ok()?
            .into_iter()
            .find(|a| v6_socket || a.is_ipv4())
    }

    fn c2c_emit(&mut self, op: u32, step: C2cStep) {
        self.emit(Event::C2c { op, step });
    }

    /// Starts C2C operation `op` (an ID chosen by the caller, reported in every step).
    pub fn c2c_start(&mut self, op: u32, req: C2cRequest) {
        if self.c2c.ops.len() >= MAX_OPS {
            let done = self
                .c2c
                .order
                .iter()
                .position(|i| self.c2c.ops.get(i).is_none_or(|o| o.phase == Phase::Done));
            match done {
                Some(pos) => {
                    let old = self.c2c.order.remove(pos);
                    self.c2c.ops.remove(&old);
                }
                None => {
                    self.c2c_emit(
                        op,
                        C2cStep::Failed {
                            reason: "too many C2C operations in progress".into(),
                        },
                    );
                    return;
                }
            }
        }
        if let Some(old) = self.c2c.ops.remove(&op) {
            self.c2c.tokens.remove(&old.token);
        }
        self.c2c.order.retain(|i| *i != op);
        self.c2c.order.push(op);
        self.c2c.ops.insert(
            op,
            Op {
                req,
                phase: Phase::Plain,
                access_retried: false,
                channel: C2cChannel::Plain,
                short_id: None,
                to: None,
                token: Vec::new(),
            },
        );
        self.c2c_send(op);
        self.flush();
    }

    /// Ends C2C operation `op`: an observation is forgotten, so the host's next notification
    /// is reset and its observation ends.
    pub fn c2c_cancel(&mut self, op: u32) {
        if let Some(o) = self.c2c.ops.get_mut(&op) {
            if let Some(to) = o.to {
                self.ml.forget_token(to, &o.token);
            }
            self.c2c.tokens.remove(&o.token);
            o.phase = Phase::Done;
        }
    }

    fn c2c_fail(&mut self, op: u32, reason: String) {
        if let Some(o) = self.c2c.ops.get_mut(&op) {
            o.phase = Phase::Done;
            if let Some(to) = o.to {
                self.ml.forget_token(to, &o.token);
            }
            let t = std::mem::take(&mut o.token);
            self.c2c.tokens.remove(&t);
        }
        self.c2c_emit(op, C2cStep::Failed { reason });
    }

    /// Sends the request of `op`: over the account's channel when there is an active
    /// account for the host, else in clear to the host URI.
    fn c2c_send(&mut self, op: u32) {
        let Some(o) = self.c2c.ops.get(&op) else {
            return;
        };
        let host = o.req.host_ep.clone();
        let host_uri = o.req.host_uri.clone();
        let now = self.now();
        let account = self.engine.client_account(&host).and_then(|a| {
            let s = a.security?;
            let active = self.engine.client_active(a.short_id, now);
            let psk = (s.mode == mode::PSK && !s.identity.is_empty() && !s.secret_key.is_empty())
                .then(|| (s.identity.to_vec(), Zeroizing::new(s.secret_key.to_vec())));
            Some((
                a.short_id,
                active,
                s.uri.as_str().to_owned(),
                psk,
                a.oscore.is_some(),
            ))
        });
        let plain_addr = self.c2c_addr(&host_uri);
        let (to, channel, short_id) = match account {
            Some((cid, true, uri, psk, has_oscore)) => {
                let addr = self.c2c_addr(&uri).or(plain_addr);
                let Some(addr) = addr else {
                    return self.c2c_fail(op, format!("cannot resolve {uri}"));
                };
                if let Some((id, key)) = psk {
                    if let Err(e) = self.transport.add_dtls_peer(addr, &id, &key) {
                        return self.c2c_fail(op, format!("DTLS to {addr}: {e}"));
                    }
                    (addr, C2cChannel::Dtls, Some(cid))
                } else if has_oscore && self.c2c.channels.get(&cid).is_some_and(|c| c.oscore_live) {
                    (addr, C2cChannel::Oscore, Some(cid))
                } else {
                    return self.c2c_fail(
                        op,
                        format!("account {cid} has neither a PSK nor a usable OSCORE context"),
                    );
                }
            }
            _ => match plain_addr {
                Some(a) => (a, C2cChannel::Plain, None),
                None => return self.c2c_fail(op, format!("cannot resolve {host_uri}")),
            },
        };
        let token = self.c2c.rng.next_u64().to_be_bytes()[..TOKEN_LEN].to_vec();
        let Some(o) = self.c2c.ops.get_mut(&op) else {
            return;
        };
        let mut buf = vec![0u8; BUF_LEN];
        let Some(n) = build_request(&o.req, &token, &mut buf) else {
            return self.c2c_fail(op, "request does not fit a datagram".into());
        };
        let old = std::mem::replace(&mut o.token, token.clone());
        o.to = Some(to);
        o.channel = channel;
        o.short_id = short_id;
        o.phase = if channel == C2cChannel::Plain {
            Phase::Plain
        } else {
            Phase::Secure
        };
        self.c2c.tokens.remove(&old);
        self.c2c.tokens.insert(token, op);
        let handle = self.peers.handle(to);
        let msg = buf.get_mut(..n).unwrap_or_default();
        if self
            .ml
            .send(to, Destination::Endpoint(handle), msg, now)
            .is_none()
        {
            return self.c2c_fail(op, "message layer refused the request".into());
        }
        if let Err(e) = self.transport.send(msg, to) {
            // CON: retransmitted by the message layer.
            self.emit(Event::SendFailed {
                dest: to.to_string(),
                reason: e.to_string(),
            });
        }
        self.c2c_emit(
            op,
            C2cStep::Sent {
                to,
                channel,
                short_id,
            },
        );
    }

    /// A response or notification to a driver request.
    pub(crate) fn c2c_response(&mut self, msg: &Message<'_>) {
        let Some(&op) = self.c2c.tokens.get(msg.token) else {
            return;
        };
        let Some(o) = self.c2c.ops.get_mut(&op) else {
            return;
        };
        let channel = o.channel;
        let content_format = msg
            .option_uint(option::CONTENT_FORMAT)
            .and_then(Result::ok)
            .map(|c| c as u16);
        match o.phase {
            Phase::Observing => {
                let step = C2cStep::Notification {
                    code: msg.code,
                    observe: msg.option_uint(option::OBSERVE).and_then(Result::ok),
                    payload: msg.payload.to_vec(),
                    received: Instant::now(),
                };
                let failed = msg.code >> 5 != 2;
                self.c2c_emit(op, step);
                if failed {
                    self.c2c_fail(
                        op,
                        format!("observation ended with {}", code_text(msg.code)),
                    );
                }
            }
            Phase::Plain | Phase::Secure if msg.code == code::UNAUTHORIZED => {
                if o.phase == Phase::Secure && o.access_retried {
                    let c = msg.code;
                    return self.c2c_fail(
                        op,
                        format!("{} again after the access request", code_text(c)),
                    );
                }
                o.access_retried |= o.phase == Phase::Secure;
                let t = std::mem::take(&mut o.token);
                self.c2c.tokens.remove(&t);
                let hint = lwm2m::c2c::hint::decode(msg.payload)
                    .map(|v| v.iter().map(|s| (*s).to_owned()).collect())
                    .unwrap_or_default();
                self.c2c_emit(op, C2cStep::Unauthorized { hint });
                self.c2c_access(op, msg.payload);
            }
            Phase::Plain | Phase::Secure => {
                let observing =
                    o.req.observe && msg.code >> 5 == 2 && msg.option(option::OBSERVE).is_some();
                if observing {
                    o.phase = Phase::Observing;
                    if let Some(to) = o.to {
                        let handle = self.peers.handle(to);
                        self.ml
                            .keep_token(to, msg.token, Destination::Endpoint(handle), code::GET);
                    }
                } else {
                    o.phase = Phase::Done;
                    self.c2c.tokens.remove(msg.token);
                }
                self.c2c_emit(
                    op,
                    C2cStep::Response {
                        code: msg.code,
                        channel,
                        content_format,
                        payload: msg.payload.to_vec(),
                    },
                );
            }
            Phase::Access(_) | Phase::Done => {}
        }
    }

    /// A driver request got no answer (timeout or reset).
    pub(crate) fn c2c_no_answer(&mut self, token: &[u8], reason: &str) {
        if let Some(&op) = self.c2c.tokens.get(token) {
            self.c2c_fail(op, format!("no answer from the host ({reason})"));
        }
    }

    /// Follows an owner server hint with an access request.
    fn c2c_access(&mut self, op: u32, hint: &[u8]) {
        let ssid = match self.engine.hint_server(hint) {
            Ok(s) => s,
            Err(e) => {
                let reason = match e {
                    EngineError::Forbidden => {
                        "it names no server this client is registered with".to_string()
                    }
                    _ => "no valid hint in the 4.01".to_string(),
                };
                self.c2c_emit(op, C2cStep::HintIgnored { reason });
                return self.c2c_fail(op, "no access request sent".into());
            }
        };
        let Some(o) = self.c2c.ops.get(&op) else {
            return;
        };
        let host = o.req.host_ep.clone();
        let grants = o.req.grants.clone();
        let now = self.now();
        let credentials = match self.engine.client_account(&host) {
            Some(a) => a.security.is_none() || !self.engine.client_active(a.short_id, now),
            None => true,
        };
        if let Err(e) = self
            .engine
            .request_access(ssid, &host, &grants, credentials, now)
        {
            return self.c2c_fail(op, format!("access request not queued: {e}"));
        }
        if let Some(o) = self.c2c.ops.get_mut(&op) {
            o.phase = Phase::Access(ssid);
        }
        self.c2c_emit(op, C2cStep::AccessRequested { ssid, credentials });
    }

    /// The C2C work after every handled message and tick: closed accounts, transport sync,
    /// access results.
    pub(crate) fn c2c_service(&mut self) {
        while let Some(cid) = self.engine.take_closed_client() {
            self.c2c_teardown(cid, "account closed (expired, disabled or deleted)");
        }
        self.c2c_sync();
        while let Some(r) = self.engine.take_access_result() {
            let op = self.c2c.order.iter().copied().find(|i| {
                self.c2c.ops.get(i).is_some_and(|o| {
                    o.phase == Phase::Access(r.ssid) && o.req.host_ep == r.host.as_str()
                })
            });
            let result = match r.outcome {
                AccessOutcome::Granted => None,
                AccessOutcome::Rejected(c) => Some(code_text(c)),
                AccessOutcome::Timeout => Some("timeout".into()),
            };
            let Some(op) = op else {
                self.emit(Event::C2cAccessRefresh {
                    host: r.host.as_str().to_owned(),
                    ssid: r.ssid,
                    result: result.unwrap_or_else(|| "2.01".into()),
                });
                continue;
            };
            match result {
                None => {
                    self.c2c_emit(op, C2cStep::AccessGranted { ssid: r.ssid });
                    // The accounts arrived before the 2.01: give them their channels.
                    self.c2c_sync();
                    self.c2c_send(op);
                }
                Some(result) => {
                    self.c2c_emit(
                        op,
                        C2cStep::AccessRefused {
                            ssid: r.ssid,
                            result,
                        },
                    );
                    self.c2c_fail(op, "access refused".into());
                }
            }
        }
    }

    /// Copies the peer client accounts into the transport (see the module documentation).
    fn c2c_sync(&mut self) {
        // The accounts change only with server requests, account closes and re-enables,
        // which all move the generation: no copying of key material per datagram.
        let generation = self.engine.config_generation();
        if self.c2c.synced == Some(generation) {
            return;
        }
        self.c2c.synced = Some(generation);
        let now = self.now();
        let views: Vec<AccountView> = self
            .engine
            .client_security()
            .instances
            .iter()
            .map(|s| AccountView {
                short_id: s.short_id,
                active: self.engine.client_active(s.short_id, now),
                uri: s.uri.as_str().to_owned(),
                psk: (s.mode == mode::PSK && !s.identity.is_empty() && !s.secret_key.is_empty())
                    .then(|| (s.identity.to_vec(), Zeroizing::new(s.secret_key.to_vec()))),
                oscore: s
                    .oscore
                    .and_then(|(_, i)| self.engine.oscore().instances.get(i))
                    .map(|o| OscoreParams {
                        master_secret: Zeroizing::new(o.master_secret.to_vec()),
                        master_salt: o.master_salt.to_vec(),
                        sender_id: o.sender_id.to_vec(),
                        recipient_id: o.recipient_id.to_vec(),
                    }),
            })
            .collect();
        let psks: Vec<PeerPsk> = views.iter().filter_map(|v| v.psk.clone()).collect();
        if psks != self.c2c.psks {
            self.transport.set_peer_psks(&psks);
            self.c2c.psks = psks;
        }
        let gone: Vec<u16> = self
            .c2c
            .channels
            .keys()
            .copied()
            .filter(|cid| views.iter().all(|v| v.short_id != *cid))
            .collect();
        for cid in gone {
            self.c2c_teardown(cid, "account removed");
            self.c2c.channels.remove(&cid);
        }
        for v in views {
            let cid = v.short_id;
            let identity = v.psk.as_ref().map(|(id, _)| id.clone());
            let ch = self.c2c.channels.entry(cid).or_default();
            if let Some(old) = ch.identity.clone().filter(|o| Some(o) != identity.as_ref()) {
                let n = self.transport.close_dtls_identity(&old);
                self.emit(Event::C2cClosed {
                    short_id: cid,
                    reason: "PSK replaced".into(),
                    dtls_sessions: n,
                    oscore: false,
                });
            }
            let ch = self.c2c.channels.entry(cid).or_default();
            ch.identity = identity;
            let Some(params) = v.oscore else {
                if ch.oscore_live {
                    ch.oscore_live = false;
                    ch.oscore_material = None;
                    let dropped = self.transport.remove_peer_oscore(cid);
                    self.emit(Event::C2cClosed {
                        short_id: cid,
                        reason: "OSCORE link removed".into(),
                        dtls_sessions: 0,
                        oscore: dropped,
                    });
                }
                continue;
            };
            let m = material(&params);
            if ch.oscore_material.as_ref() == Some(&m) || !v.active {
                continue;
            }
            let replaced = ch.oscore_live;
            ch.oscore_material = Some(m);
            ch.oscore_live = false;
            let dest = self.c2c_addr(&v.uri);
            let ctx = match params.context() {
                Ok(c) => c,
                Err(e) => {
                    self.transport.remove_peer_oscore(cid);
                    self.emit(Event::SendFailed {
                        dest: format!("client account {cid}"),
                        reason: format!("OSCORE context: {e:?}"),
                    });
                    continue;
                }
            };
            let peer = OscorePeer::new(ctx, Box::new(VolatileStore));
            match self.transport.add_peer_oscore(cid, dest, peer) {
                Ok(()) => {
                    if let Some(ch) = self.c2c.channels.get_mut(&cid) {
                        ch.oscore_live = true;
                    }
                    if replaced {
                        self.emit(Event::C2cClosed {
                            short_id: cid,
                            reason: "OSCORE material replaced".into(),
                            dtls_sessions: 0,
                            oscore: true,
                        });
                    }
                }
                Err(e) => self.emit(Event::SendFailed {
                    dest: format!("client account {cid}"),
                    reason: format!("OSCORE context: {e}"),
                }),
            }
        }
    }

    /// Closes the DTLS sessions and drops the OSCORE context of account `cid`; operations
    /// running over it end.
    fn c2c_teardown(&mut self, cid: u16, reason: &str) {
        let (identity, had_oscore) = match self.c2c.channels.get_mut(&cid) {
            Some(ch) => {
                let live = ch.oscore_live;
                ch.oscore_live = false;
                (ch.identity.clone(), live)
            }
            None => (None, false),
        };
        let n = identity
            .map(|id| self.transport.close_dtls_identity(&id))
            .unwrap_or(0);
        let oscore = self.transport.remove_peer_oscore(cid) || had_oscore;
        self.emit(Event::C2cClosed {
            short_id: cid,
            reason: reason.into(),
            dtls_sessions: n,
            oscore,
        });
        let victims: Vec<u32> = self
            .c2c
            .order
            .iter()
            .copied()
            .filter(|i| {
                self.c2c.ops.get(i).is_some_and(|o| {
                    o.short_id == Some(cid) && matches!(o.phase, Phase::Observing | Phase::Secure)
                })
            })
            .collect();
        for op in victims {
            self.c2c_fail(op, format!("account {cid} closed"));
        }
    }
}

/// Builds the CON request of `req` with `token` (message ID set by the message layer).
fn build_request(req: &C2cRequest, token: &[u8], buf: &mut [u8]) -> Option<usize> {
    let mut b = MessageBuilder::new(buf, MessageType::Con, req.method, 0, token).ok()?;
    if req.observe && req.method == code::GET {
        b.option_uint(option::OBSERVE, 0).ok()?;
    }
    for id in req.path.ids() {
        b.option(option::URI_PATH, id.to_string().as_bytes()).ok()?;
    }
    if let Some(cf) = req.content_format {
        b.option_uint(option::CONTENT_FORMAT, cf.into()).ok()?;
    }
    if let Some(a) = req.accept {
        b.option_uint(option::ACCEPT, a.into()).ok()?;
    }
    if !req.payload.is_empty() {
        b.payload(&req.payload).ok()?;
    }
    Some(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_build() {
        let r = C2cRequest::parse("lamp,coap://127.0.0.1:5690,/3311/0/5850", true).unwrap();
        assert!(r.observe);
        assert_eq!(r.grants[0].path, Path::instance(3311, 0));
        assert_eq!(r.grants[0].rights, rights::READ);
        let mut buf = [0u8; 64];
        let n = build_request(&r, b"12345678", &mut buf).unwrap();
        let m = Message::parse(&buf[..n]).unwrap();
        assert_eq!(m.code, code::GET);
        assert_eq!(m.option_uint(option::OBSERVE), Some(Ok(0)));
        let p: Vec<&[u8]> = m.uri_path().collect();
        assert_eq!(p, [&b"3311"[..], b"0", b"5850"]);
        let o = C2cRequest::parse("lamp,coap://h,/3303", false).unwrap();
        assert_eq!(o.grants[0].path, Path::object(3303));
        for bad in [
            "lamp,coap://h",
            ",coap://h,/3",
            "lamp,http://h,/3",
            "lamp,coap://h,/",
            "a,coap://h,/x",
        ] {
            assert!(C2cRequest::parse(bad, false).is_err(), "{bad}");
        }
    }
}
