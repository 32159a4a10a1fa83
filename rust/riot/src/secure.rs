//! OSCORE (feature `oscore`): client-to-client traffic in both roles, and the traffic with DM
//! servers whose Security (0) instance links an OSCORE (21) instance (res 17). One context per
//! account ([`Account`]: a peer client by Short Client ID, a server by Short Server ID).
//!
//! Contexts follow the engine's objects: the context of an account is derived from the OSCORE
//! (21) instance its Client Security (11000) or Security (0) instance links (res 17) the first
//! time it is needed, derived again when that instance was rewritten, and dropped when the
//! engine reports a client account closed ([`lwm2m::engine::Engine::take_closed_client`]).
//!
//! Sequence numbers (RFC 8613 B.1.1) must never repeat with the same key, and the glue has no
//! storage of its own. Two cases:
//! - Material installed at run time (a server's install of a C2C account with `c`, a bootstrap
//!   server's write of a 21 instance): after a reboot every 11000 / 21 instance is gone, so
//!   the node has no context at all until new material is installed, with fresh secrets. Such
//!   a context starts at sequence number 0 and keeps nothing ([`Store`] without a slot). The
//!   peer that did not reboot still holds the old context; the rebooted node answers its
//!   requests 4.01 (unknown kid) and the requester asks the server again with `c`.
//! - Material compiled into the firmware (the server account of `CONFIG_LWM2M_SERVER_OSCORE`,
//!   [`crate::server_oscore`]): the same key every boot. Its context reserves sequence numbers
//!   in steps of [`SEQNO_STEP`] in the glue's storage (`LWM2M_OSCORE_SEQNO=mtd`: a record on
//!   the board's MTD_0) before using them, and after a reboot continues above the last stored
//!   limit with an unknown replay window, which the server's first request rebuilds with the
//!   Echo exchange of RFC 8613 B.1.2. Without storage in the build such an account is refused
//!   at start (`-ENOTSUP`).
//!
//! Incoming requests with an OSCORE option are unprotected with the context whose Recipient
//! ID is their kid and handed to the engine as `Identity::Client(cid)` or
//! `Identity::Server(ssid)`; the response is protected, and so are the notifications of an
//! observation made that way (the observation's request id is kept per peer handle and token).

use core::ffi::c_int;

use lwm2m::coap::{code, option, Message, MessageBuilder, MessageType};
use lwm2m::config::{MAX_CLIENTS, MAX_SERVERS};
use lwm2m::engine::{Engine, Identity, Peer};
use lwm2m::objects::oscore::OscoreInstance;
use lwm2m_oscore::{OscoreObject, RequestId, SecurityContext, SeqnoStore, StoreError};

use crate::ev::{ev, Code};
use crate::PDU_BUF;

/// Observations made over OSCORE whose notifications are protected.
const MAX_SECURE_OBS: usize = 4;
/// Sequence numbers a context with storage reserves per write (RFC 8613 B.1.1): one storage
/// write per this many messages; after a reboot up to this many numbers are skipped.
pub(crate) const SEQNO_STEP: u64 = lwm2m_oscore::DEFAULT_SEQNO_STEP;

/// The account an OSCORE context belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Account {
    /// A peer client (client-to-client), by Short Client ID.
    Client(u16),
    /// A DM server, by Short Server ID.
    Server(u16),
}

impl Account {
    /// Prefix of its event names: `c2c` (as before server accounts had OSCORE) or `oscore`.
    fn events(self) -> &'static str {
        match self {
            Account::Client(_) => "c2c",
            Account::Server(_) => "oscore",
        }
    }
}

impl core::fmt::Display for Account {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Account::Client(cid) => write!(f, "cid={cid}"),
            Account::Server(ssid) => write!(f, "ssid={ssid}"),
        }
    }
}

extern "C" {
    /// Durably records the sequence-number limit of server `ssid`'s context (C glue); 0 once
    /// it survives a power loss, negative otherwise (`-ENOTSUP`: no storage in the build).
    pub(crate) fn lwm2m_c2c_glue_seqno_store(ssid: u16, limit: u64) -> c_int;
}

/// Where a context's sequence-number limit goes: nowhere (material installed since boot), or
/// the glue's storage slot of a server account (factory material).
pub(crate) struct Store(Option<u16>);

impl SeqnoStore for Store {
    fn store(&mut self, limit: u64) -> Result<(), StoreError> {
        let Some(ssid) = self.0 else {
            return Ok(());
        };
        // SAFETY: plain C call with values.
        if unsafe { lwm2m_c2c_glue_seqno_store(ssid, limit) } == 0 {
            Ok(())
        } else {
            ev!("oscore_seqno_store_failed ssid={}", ssid);
            Err(StoreError)
        }
    }
}

pub(crate) struct Ctx {
    account: Account,
    /// Fingerprint of the 21 instance the context was derived from.
    fp: u64,
    pub ctx: SecurityContext,
    pub store: Store,
}

struct Obs {
    endpoint: u32,
    token: heapless::Vec<u8, 8>,
    account: Account,
    id: RequestId,
}

/// OSCORE state of the driver.
pub(crate) struct Secure {
    ctxs: heapless::Vec<Ctx, { MAX_CLIENTS + MAX_SERVERS }>,
    obs: heapless::Vec<Obs, MAX_SECURE_OBS>,
    /// The factory-configured server account whose context keeps its sequence numbers in the
    /// glue's storage, with the fingerprint of its material.
    pub factory: Option<(u16, u64)>,
    /// Requests to servers waiting for their protected responses.
    pub pending: crate::server_oscore::Pending,
    /// Plain side of a message being protected or unprotected.
    pub plain: [u8; PDU_BUF],
    /// Protected side of an outgoing message.
    pub out: [u8; PDU_BUF],
}

/// FNV-1a over the instance's parameters (only compared for equality, never printed).
pub(crate) fn fingerprint(o: &OscoreInstance) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: &[u8]| {
        for &x in b.iter().chain(&[0xff, b.len() as u8]) {
            h = (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(&o.master_secret);
    eat(&o.sender_id);
    eat(&o.recipient_id);
    eat(&o.master_salt);
    eat(&o.id_context);
    eat(&o.aead.to_be_bytes());
    eat(&o.hmac.to_be_bytes());
    h
}

/// The 21 instance of `account`, if its 11000 (client) or 0 (server) instance links one.
pub(crate) fn instance<'e>(engine: &'e Engine<'_>, account: Account) -> Option<&'e OscoreInstance> {
    let (obj, i) = match account {
        Account::Client(cid) => engine.client_security().by_short_id(cid)?.oscore?,
        Account::Server(ssid) => {
            engine
                .security()
                .by_ssid(ssid)
                .filter(|s| !s.bootstrap)?
                .oscore?
        }
    };
    if obj != lwm2m::objects::oscore::ID {
        return None;
    }
    engine.oscore().instances.get(i)
}

impl Secure {
    #[inline(always)]
    pub(crate) const fn new() -> Self {
        Secure {
            ctxs: heapless::Vec::new(),
            obs: heapless::Vec::new(),
            factory: None,
            pending: crate::server_oscore::Pending::new(),
            plain: [0; PDU_BUF],
            out: [0; PDU_BUF],
        }
    }

    /// Drops the context and the observations of a closed account.
    pub(crate) fn close(&mut self, account: Account) {
        self.ctxs.retain(|c| c.account != account);
        self.obs.retain(|o| o.account != account);
    }

    /// The context of `account`, derived (again) from its 21 instance when needed. Returns
    /// its index.
    pub(crate) fn context(&mut self, engine: &Engine<'_>, account: Account) -> Option<usize> {
        let Some(o) = instance(engine, account) else {
            self.close(account);
            return None;
        };
        let fp = fingerprint(o);
        if let Some(i) = self.ctxs.iter().position(|c| c.account == account) {
            if self.ctxs.get(i).is_some_and(|c| c.fp == fp) {
                return Some(i);
            }
            // New material: a new context, and the old observations end.
            self.close(account);
        }
        let mut ctx = SecurityContext::from_object(&OscoreObject {
            master_secret: &o.master_secret,
            sender_id: &o.sender_id,
            recipient_id: &o.recipient_id,
            aead_algorithm: Some(i64::from(o.aead)),
            hmac_algorithm: Some(i64::from(o.hmac)),
            master_salt: &o.master_salt,
            id_context: (!o.id_context.is_empty()).then_some(&o.id_context[..]),
        })
        .ok()?;
        let store = match account {
            Account::Server(ssid) if self.factory == Some((ssid, fp)) => {
                // The same key every boot: continue above every number used before (none
                // stored yet: 0), with an unknown replay window (RFC 8613 B.1.2).
                let limit = crate::server_oscore::stored_limit(ssid)?;
                ctx.resume(limit);
                ctx.set_seqno_step(SEQNO_STEP);
                ev!("oscore_resumed ssid={} seqno={}", ssid, limit);
                Store(Some(ssid))
            }
            _ => Store(None),
        };
        if self.ctxs.is_full() {
            // Every account has its context; a full table means stale ones: drop the oldest.
            self.ctxs.remove(0);
        }
        self.ctxs
            .push(Ctx {
                account,
                fp,
                ctx,
                store,
            })
            .ok()?;
        Some(self.ctxs.len() - 1)
    }

    /// Protects the plain request `self.plain[..plain_len]` for `account` into `self.out`
    /// (with an Echo option when `echo` is given, RFC 8613 B.1.2); returns the length and the
    /// request id for the response.
    pub(crate) fn protect_request(
        &mut self,
        engine: &Engine<'_>,
        account: Account,
        plain_len: usize,
        echo: Option<&[u8]>,
    ) -> Option<(usize, RequestId)> {
        let i = self.context(engine, account)?;
        let c = self.ctxs.get_mut(i)?;
        let plain = self.plain.get(..plain_len)?;
        lwm2m_oscore::protect_request_with_echo(
            &mut c.ctx,
            &mut c.store,
            plain,
            echo,
            &mut self.out,
        )
        .ok()
    }

    /// Unprotects a response (in place in `protected`) to a request of `account` into
    /// `self.plain`; returns the plain length.
    pub(crate) fn unprotect_response(
        &mut self,
        engine: &Engine<'_>,
        account: Account,
        id: &RequestId,
        protected: &mut [u8],
    ) -> Option<usize> {
        let i = self.context(engine, account)?;
        let c = self.ctxs.get_mut(i)?;
        lwm2m_oscore::unprotect_response(&mut c.ctx, id, protected, &mut self.plain).ok()
    }

    /// Drops the observations of peer handle `endpoint` (its handle now names another
    /// remote); returns how many went.
    pub(crate) fn forget(&mut self, endpoint: u32) -> usize {
        let before = self.obs.len();
        self.obs.retain(|o| o.endpoint != endpoint);
        before - self.obs.len()
    }

    /// If `msg` (built by the engine in `buf[..len]` for peer handle `endpoint`) is a
    /// notification of an observation made over OSCORE, protects it into `self.out` and
    /// returns the protected length. `Some(0)`: it belongs to such an observation but could
    /// not be protected (drop it; never send it in the clear).
    pub(crate) fn protect_notification(
        &mut self,
        engine: &Engine<'_>,
        endpoint: u32,
        buf: &[u8],
    ) -> Option<usize> {
        let m = Message::parse(buf).ok()?;
        if !code::is_response(m.code) {
            return None;
        }
        let oi = self
            .obs
            .iter()
            .position(|o| o.endpoint == endpoint && o.token.as_slice() == m.token)?;
        let account = self.obs.get(oi)?.account;
        let Some(ci) = self.context(engine, account) else {
            return Some(0);
        };
        let (Some(c), Some(o)) = (self.ctxs.get_mut(ci), self.obs.get(oi)) else {
            return Some(0);
        };
        let mut id = o.id.for_notification();
        Some(
            lwm2m_oscore::protect_response(&mut c.ctx, &mut c.store, &mut id, buf, &mut self.out)
                .unwrap_or(0),
        )
    }
}

/// Answers a request without OSCORE processing: 4.01 Unauthorized, no payload (unknown kid,
/// failed verification, replay).
fn reject(rx: &[u8], out: &mut [u8]) -> isize {
    let Ok(m) = Message::parse(rx) else {
        return -1;
    };
    let mtype = match m.mtype {
        MessageType::Con => MessageType::Ack,
        _ => MessageType::Non,
    };
    let Ok(b) = MessageBuilder::new(out, mtype, code::UNAUTHORIZED, m.message_id, m.token) else {
        return -1;
    };
    isize::try_from(b.finish()).unwrap_or(-1)
}

/// Handles the OSCORE request in `s.rx[..len]` from peer handle `endpoint` (address key
/// `source`, [`Peer::source`]), writing the protected response into `out`. Returns its length
/// (negative: no answer).
pub(crate) fn handle_request(
    s: &mut crate::State,
    endpoint: u32,
    source: u32,
    len: usize,
    out: &mut [u8],
    now: u64,
) -> isize {
    let Some(rx) = s.rx.get_mut(..len) else {
        return -1;
    };
    // A peer client's account (active), else a server account, by Recipient ID.
    let account = lwm2m_oscore::request_kid(rx).and_then(|k| {
        s.engine
            .client_by_oscore_recipient(k)
            .filter(|&c| s.engine.client_active(c, now))
            .map(Account::Client)
            .or_else(|| crate::server_oscore::by_recipient(&s.engine, k).map(Account::Server))
    });
    let Some(account) = account else {
        ev!("c2c_rejected unknown_kid");
        return reject(rx, out);
    };
    let Some(ci) = s.sec.context(&s.engine, account) else {
        return reject(rx, out);
    };
    let Some(c) = s.sec.ctxs.get_mut(ci) else {
        return -1;
    };
    let (plen, mut id) = match lwm2m_oscore::unprotect_request(&mut c.ctx, rx, &mut s.sec.plain) {
        Ok(x) => x,
        Err(lwm2m_oscore::Error::EchoRequired(mut id)) => {
            // A context resumed after a reboot (factory material): its replay window is
            // unknown until the peer repeats the request with this Echo (RFC 8613 B.1.2).
            ev!("{}_echo_sent {}", account.events(), account);
            return lwm2m_oscore::echo_response(&mut c.ctx, &mut c.store, &mut id, rx, out)
                .ok()
                .and_then(|n| isize::try_from(n).ok())
                .unwrap_or(-1);
        }
        Err(e) => {
            ev!("{}_rejected {:?} {}", account.events(), e, account);
            return reject(rx, out);
        }
    };
    let Some(plain) = s.sec.plain.get(..plen) else {
        return -1;
    };
    let Ok(msg) = Message::parse(plain) else {
        return reject(rx, out);
    };
    let mtype = match msg.mtype {
        MessageType::Con => MessageType::Ack,
        _ => MessageType::Non,
    };
    let Ok(mut b) = MessageBuilder::new(&mut s.tx, mtype, 0, msg.message_id, msg.token) else {
        return -1;
    };
    let identity = match account {
        Account::Client(cid) => Identity::Client(cid),
        Account::Server(ssid) => Identity::Server(ssid),
    };
    let peer = Peer {
        identity,
        endpoint,
        source,
    };
    s.engine.handle_request(&peer, &msg, now, &mut b);
    let n = b.finish();
    let Some(resp) = s.tx.get(..n) else {
        return -1;
    };
    let Ok(r) = Message::parse(resp) else {
        return -1;
    };
    let mut path = heapless::String::<24>::new();
    for seg in msg.uri_path() {
        let _ = path.push('/');
        let _ = path.push_str(core::str::from_utf8(seg).unwrap_or("?"));
    }
    ev!(
        "{}_served {} method={} path={} code={} observe={}",
        account.events(),
        account,
        msg.code,
        if path.is_empty() { "/" } else { path.as_str() },
        Code(r.code),
        u8::from(r.option(option::OBSERVE).is_some())
    );
    // A successful Observe registration: its notifications are protected with this request's
    // id (each with a sequence number of its own).
    if r.option(option::OBSERVE).is_some() && code::is_response(r.code) && r.code < 0x80 {
        let obs = &mut s.sec.obs;
        obs.retain(|o| !(o.endpoint == endpoint && o.token.as_slice() == msg.token));
        if obs.is_full() {
            obs.remove(0);
        }
        if let Ok(token) = heapless::Vec::from_slice(msg.token) {
            let _ = obs.push(Obs {
                endpoint,
                token,
                account,
                id: id.for_notification(),
            });
        }
    }
    let Some(c) = s.sec.ctxs.get_mut(ci) else {
        return -1;
    };
    match lwm2m_oscore::protect_response(&mut c.ctx, &mut c.store, &mut id, resp, out) {
        Ok(n) => isize::try_from(n).unwrap_or(-1),
        Err(_) => -1,
    }
}
