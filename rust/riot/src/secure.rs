//! OSCORE for client-to-client traffic (feature `oscore`), both roles.
//!
//! Contexts follow the engine's objects: the context of a peer account (Short Client ID `cid`)
//! is derived from the OSCORE (21) instance its Client Security (11000) instance links (res 17)
//! the first time it is needed, derived again when the server rewrote that instance, and
//! dropped when the engine reports the account closed ([`lwm2m::engine::Engine::take_closed_client`]).
//!
//! Sequence numbers: the device has no persistent storage, and neither have the engine's
//! objects: after a reboot every 11000 / 21 instance is gone, so the node has no context at
//! all until the server installs a new account, with fresh material (the server generates
//! new random secrets for every install with `c`). A context is therefore only ever derived
//! from material installed since boot and starts at sequence number 0 (a [`MemoryStore`]),
//! and a (key, nonce) pair cannot repeat across reboots. The peer that did not reboot still
//! holds the old context; the rebooted node answers its requests 4.01 (unknown kid) and the
//! requester asks the server again with `c`.
//!
//! Incoming requests with an OSCORE option are unprotected with the context whose Recipient
//! ID is their kid ([`Engine::client_by_oscore_recipient`]) and handed to the engine as
//! `Identity::Client(cid)`; the response is protected, and so are the notifications of an
//! observation made that way (the observation's request id is kept per peer handle and token).
//! Server accounts (object 0 res 17) do not use OSCORE on RIOT yet.

use lwm2m::coap::{code, option, Message, MessageBuilder, MessageType};
use lwm2m::config::MAX_CLIENTS;
use lwm2m::engine::{Engine, Identity, Peer};
use lwm2m::objects::oscore::OscoreInstance;
use lwm2m_oscore::{MemoryStore, OscoreObject, RequestId, SecurityContext};

use crate::ev::{ev, Code};
use crate::PDU_BUF;

/// Observations made over OSCORE whose notifications are protected.
const MAX_SECURE_OBS: usize = 4;

struct Ctx {
    cid: u16,
    /// Fingerprint of the 21 instance the context was derived from.
    fp: u64,
    ctx: SecurityContext,
    store: MemoryStore,
}

struct Obs {
    endpoint: u32,
    token: heapless::Vec<u8, 8>,
    cid: u16,
    id: RequestId,
}

/// OSCORE state of the driver.
pub(crate) struct Secure {
    ctxs: heapless::Vec<Ctx, MAX_CLIENTS>,
    obs: heapless::Vec<Obs, MAX_SECURE_OBS>,
    /// Plain side of a message being protected or unprotected.
    pub plain: [u8; PDU_BUF],
    /// Protected side of an outgoing message.
    pub out: [u8; PDU_BUF],
}

/// FNV-1a over the instance's parameters (only compared for equality, never printed).
fn fingerprint(o: &OscoreInstance) -> u64 {
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

/// The 21 instance of the account `cid`, if its 11000 instance links one.
fn instance<'e>(engine: &'e Engine<'_>, cid: u16) -> Option<&'e OscoreInstance> {
    let (_, i) = engine.client_security().by_short_id(cid)?.oscore?;
    engine.oscore().instances.get(i)
}

impl Secure {
    pub(crate) const fn new() -> Self {
        Secure {
            ctxs: heapless::Vec::new(),
            obs: heapless::Vec::new(),
            plain: [0; PDU_BUF],
            out: [0; PDU_BUF],
        }
    }

    /// Drops the context and the observations of a closed account.
    pub(crate) fn close(&mut self, cid: u16) {
        self.ctxs.retain(|c| c.cid != cid);
        self.obs.retain(|o| o.cid != cid);
    }

    /// The context of account `cid`, derived (again) from its 21 instance when needed.
    /// Returns its index.
    pub(crate) fn context(&mut self, engine: &Engine<'_>, cid: u16) -> Option<usize> {
        let Some(o) = instance(engine, cid) else {
            self.close(cid);
            return None;
        };
        let fp = fingerprint(o);
        if let Some(i) = self.ctxs.iter().position(|c| c.cid == cid) {
            if self.ctxs.get(i).is_some_and(|c| c.fp == fp) {
                return Some(i);
            }
            // The server installed new material: a new context, and the old observations end.
            self.close(cid);
        }
        let ctx = SecurityContext::from_object(&OscoreObject {
            master_secret: &o.master_secret,
            sender_id: &o.sender_id,
            recipient_id: &o.recipient_id,
            aead_algorithm: Some(i64::from(o.aead)),
            hmac_algorithm: Some(i64::from(o.hmac)),
            master_salt: &o.master_salt,
            id_context: (!o.id_context.is_empty()).then_some(&o.id_context[..]),
        })
        .ok()?;
        let entry = Ctx {
            cid,
            fp,
            ctx,
            store: MemoryStore::default(),
        };
        if self.ctxs.is_full() {
            // Every account has its context; a full table means stale ones: drop the oldest.
            self.ctxs.remove(0);
        }
        self.ctxs.push(entry).ok()?;
        Some(self.ctxs.len() - 1)
    }

    /// Protects the plain request `plain` for account `cid` into `self.out`; returns the
    /// length and the request id for the response.
    #[cfg_attr(not(feature = "c2c-auth"), allow(dead_code))]
    pub(crate) fn protect_request(
        &mut self,
        engine: &Engine<'_>,
        cid: u16,
        plain_len: usize,
    ) -> Option<(usize, RequestId)> {
        let i = self.context(engine, cid)?;
        let c = self.ctxs.get_mut(i)?;
        let plain = self.plain.get(..plain_len)?;
        lwm2m_oscore::protect_request(&mut c.ctx, &mut c.store, plain, &mut self.out).ok()
    }

    /// Unprotects a response (in place in `protected`) to a request of account `cid` into
    /// `self.plain`; returns the plain length.
    #[cfg_attr(not(feature = "c2c-auth"), allow(dead_code))]
    pub(crate) fn unprotect_response(
        &mut self,
        engine: &Engine<'_>,
        cid: u16,
        id: &RequestId,
        protected: &mut [u8],
    ) -> Option<usize> {
        let i = self.context(engine, cid)?;
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
        let cid = self.obs.get(oi)?.cid;
        let Some(ci) = self.context(engine, cid) else {
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
    let mut kid = heapless::Vec::<u8, { lwm2m_oscore::MAX_ID_LEN }>::new();
    let cid = lwm2m_oscore::request_kid(rx)
        .and_then(|k| {
            kid.extend_from_slice(k).ok()?;
            s.engine.client_by_oscore_recipient(k)
        })
        .filter(|&c| s.engine.client_active(c, now));
    let Some(cid) = cid else {
        ev!("c2c_rejected unknown_kid");
        return reject(rx, out);
    };
    let Some(ci) = s.sec.context(&s.engine, cid) else {
        return reject(rx, out);
    };
    let Some(c) = s.sec.ctxs.get_mut(ci) else {
        return -1;
    };
    let (plen, mut id) = match lwm2m_oscore::unprotect_request(&mut c.ctx, rx, &mut s.sec.plain) {
        Ok(x) => x,
        Err(lwm2m_oscore::Error::EchoRequired(mut id)) => {
            // Not reached with contexts derived since boot; answered as RFC 8613 B.1.2 says.
            return lwm2m_oscore::echo_response(&mut c.ctx, &mut c.store, &mut id, rx, out)
                .ok()
                .and_then(|n| isize::try_from(n).ok())
                .unwrap_or(-1);
        }
        Err(e) => {
            ev!("c2c_rejected {:?} cid={}", e, cid);
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
    let peer = Peer {
        identity: Identity::Client(cid),
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
        "c2c_served cid={} method={} path={} code={} observe={}",
        cid,
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
                cid,
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
