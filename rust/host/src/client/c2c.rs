//! Client-to-client (C2C) operations of the driver, both roles (Lanzieri et al., IPSN'22,
//! sections 3-5; `docs/c2c-protocol.md`).
//!
//! This file holds the types and the state; the two roles are `c2c_hosting.rs` and
//! `c2c_requesting.rs`.
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
//! [`HostClient::flush`]: super::HostClient::flush
//! [`HostClient::identity_for`]: super::HostClient::identity_for
//! [`HostClient::c2c_start`]: super::HostClient::c2c_start
//! [`Event::C2cClosed`]: super::Event::C2cClosed
//! [`Event::C2c`]: super::Event::C2c
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
use lwm2m::coap::{code, option, MessageBuilder, MessageType};
use lwm2m::Path;
use zeroize::Zeroizing;

use crate::clock::Rng;
use crate::transport::PeerPsk;
use crate::uri::ServerUri;
use lwm2m_endpoint::msg::code_string;

/// Length of the tokens of driver requests.
pub(super) const TOKEN_LEN: usize = 8;
/// Most C2C operations in progress; the oldest finished ones are forgotten first.
pub(super) const MAX_OPS: usize = 64;
/// How often a C2C operation starts over after a transient refusal (a 4.01 without a usable
/// owner server hint, e.g. rate limited; or an access request answered 4.00 / 5.03, e.g. the
/// host not registered yet) before it fails for good.
pub const C2C_RETRIES: u8 = 4;
/// Back-off before the first retry (ms); it doubles with each retry, plus up to half as much
/// random jitter, so requesters turned away together do not come back together.
pub const C2C_RETRY_BASE_MS: u64 = 2_000;

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

/// One step of a C2C operation ([`Event::C2c`](super::Event::C2c)).
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
        /// The server said the host is in Queue Mode (it answered while the host is awake).
        queue_mode: bool,
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
    /// A transient refusal: the operation starts over (plain request) after `after_ms`.
    RetryScheduled {
        /// Delay before the retry (ms).
        after_ms: u64,
        /// Which retry this is (1 = first), at most [`C2C_RETRIES`].
        attempt: u8,
        /// What was refused.
        reason: String,
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
            C2cStep::RetryScheduled {
                after_ms,
                attempt,
                reason,
            } => write!(
                f,
                "{reason}: retry {attempt} of {C2C_RETRIES} in {after_ms} ms"
            ),
            C2cStep::AccessRequested { ssid, credentials } => write!(
                f,
                "access request to server {ssid}{}",
                if *credentials {
                    " (credentials wanted)"
                } else {
                    ""
                }
            ),
            C2cStep::AccessGranted { ssid, queue_mode } => {
                write!(f, "access granted by server {ssid}: account installed")?;
                if *queue_mode {
                    f.write_str(" (host in Queue Mode, awake now)")?;
                }
                Ok(())
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
                code_string(*code),
                printable(payload)
            ),
            C2cStep::Notification {
                code,
                observe,
                payload,
                ..
            } => {
                write!(f, "notification {}", code_string(*code))?;
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
pub(super) enum Phase {
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
pub(super) struct Op {
    pub(super) req: C2cRequest,
    pub(super) phase: Phase,
    pub(super) access_retried: bool,
    pub(super) channel: C2cChannel,
    pub(super) short_id: Option<u16>,
    pub(super) to: Option<SocketAddr>,
    pub(super) token: Vec<u8>,
    /// Retries after transient refusals so far ([`C2C_RETRIES`]).
    pub(super) retries: u8,
    /// When the scheduled retry is due (driver clock, ms).
    pub(super) retry_at: Option<u64>,
    /// The request in clear got no answer (the host may sleep in Queue Mode) and the access
    /// request went to this client's server without a hint; done at most once.
    pub(super) asked_without_hint: bool,
}

/// Transport state of one peer client account.
#[derive(Default)]
pub(super) struct Channel {
    /// PSK identity (11000 res 3) as last synchronized.
    pub(super) identity: Option<Vec<u8>>,
    /// The OSCORE material the context was built from (never rebuilt from the same bytes).
    pub(super) oscore_material: Option<Zeroizing<Vec<u8>>>,
    /// The context is in the transport.
    pub(super) oscore_live: bool,
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
    pub(super) ops: HashMap<u32, Op>,
    pub(super) order: Vec<u32>,
    pub(super) tokens: HashMap<Vec<u8>, u32>,
    pub(super) channels: HashMap<u16, Channel>,
    pub(super) psks: Vec<PeerPsk>,
    /// `Engine::config_generation` at the last sync (None: sync at the next chance).
    pub(crate) synced: Option<u32>,
    pub(super) rng: Rng,
    /// Hosting clients the server said are in Queue Mode (at most [`MAX_OPS`]): a request to
    /// one that gets no answer asks the server again instead of failing.
    pub(super) queue_hosts: std::collections::HashSet<String>,
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
            queue_hosts: Default::default(),
        }
    }

    /// True if `token` belongs to a driver request.
    pub(crate) fn owns(&self, token: &[u8]) -> bool {
        self.tokens.contains_key(token)
    }
}

/// Builds the CON request of `req` with `token` (message ID set by the message layer).
pub(super) fn build_request(req: &C2cRequest, token: &[u8], buf: &mut [u8]) -> Option<usize> {
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

    use lwm2m::coap::Message;

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
