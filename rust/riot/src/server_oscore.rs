//! OSCORE toward DM servers (feature `oscore`): a server account whose Security (0) instance
//! links an OSCORE (21) instance (res 17) talks OSCORE only, with the context of
//! [`crate::secure`] keyed by its Short Server ID.
//!
//! - Requests to the server (Register, Update, De-register, Send) are protected in
//!   [`protect`] on their way to the glue; their token and request id wait in [`Pending`]
//!   for the response, which [`response`] unprotects before the engine sees it. A response
//!   without OSCORE, or one that fails verification, counts as a failed request (the engine
//!   retries as after a timeout); it never reaches the engine.
//! - A protected 4.01 with an Echo option (the server lost its replay window in a restart,
//!   RFC 8613 B.1.2) makes the node send the same request again, protected with that Echo
//!   value, from the plain copy of the last request kept here ([`echo_retry`], on the engine's
//!   thread: inside gcoap's response callback the resend buffer is still taken).
//! - Requests from the server arrive with an OSCORE option and go through
//!   [`crate::secure::handle_request`] (kid: the 21 instance's Recipient ID, [`by_recipient`]);
//!   a plain request from the server's address gets no server identity (4.01).
//! - Factory material ([`lwm2m_riot_server_oscore`], `CONFIG_LWM2M_SERVER_OSCORE`) is the same
//!   every boot, so its sequence numbers are kept in the glue's storage (see the module
//!   documentation of [`crate::secure`]); a build without storage refuses it.

use core::ffi::{c_char, c_int, CStr};

use lwm2m::coap::{code, option, Message};
use lwm2m::engine::{Destination, Engine};
use lwm2m_oscore::RequestId;

use crate::secure::{fingerprint, instance, Account};
use crate::{err, ev::ev, with_state, State, PDU_BUF};

/// Requests to servers waiting for a protected response (gcoap's own limit,
/// `CONFIG_GCOAP_REQ_WAITING_MAX`, is 4 in client-to-client builds); the oldest is forgotten
/// when a fifth goes out (its response then counts as failed).
const MAX_PENDING: usize = 4;
/// Instance ID of the factory account's OSCORE instance: at the top of the ID space, far
/// from the low IDs a server allocates for client-to-client contexts (as on the host).
const FACTORY_INSTANCE: u16 = lwm2m::path::ID_NONE - 1;

extern "C" {
    /// Reads the stored sequence-number limit of server `ssid`'s context (C glue): 0 and
    /// `*limit` set, `-ENOENT` when nothing is stored yet, `-ENOTSUP` without storage in the
    /// build, another negative value on a storage error.
    fn lwm2m_c2c_glue_seqno_load(ssid: u16, limit: *mut u64) -> c_int;
}

struct Waiting {
    ssid: u16,
    token: heapless::Vec<u8, 8>,
    id: RequestId,
}

/// Longest Echo option value (RFC 9175 section 2.2.1).
const MAX_ECHO: usize = 40;

/// Requests to servers waiting for their protected responses, and the plain copy of the last
/// one (for an Echo retry).
pub(crate) struct Pending {
    waiting: heapless::Vec<Waiting, MAX_PENDING>,
    last: heapless::Vec<u8, PDU_BUF>,
    last_ssid: u16,
    /// A request to repeat with this Echo value: (ssid, token, Echo).
    echo: Option<(u16, heapless::Vec<u8, 8>, heapless::Vec<u8, MAX_ECHO>)>,
}

impl Pending {
    #[inline(always)]
    pub(crate) const fn new() -> Self {
        Pending {
            waiting: heapless::Vec::new(),
            last: heapless::Vec::new(),
            last_ssid: 0,
            echo: None,
        }
    }

    fn add(&mut self, ssid: u16, token: &[u8], id: RequestId) {
        self.waiting
            .retain(|w| !(w.ssid == ssid && w.token.as_slice() == token));
        if self.waiting.is_full() {
            self.waiting.remove(0);
        }
        if let Ok(token) = heapless::Vec::from_slice(token) {
            let _ = self.waiting.push(Waiting { ssid, token, id });
        }
    }

    fn take(&mut self, token: &[u8]) -> Option<Waiting> {
        let i = self
            .waiting
            .iter()
            .position(|w| w.token.as_slice() == token)?;
        Some(self.waiting.remove(i))
    }
}

/// The Short Server ID of the DM server account whose OSCORE instance has Recipient ID `kid`.
pub(crate) fn by_recipient(engine: &Engine<'_>, kid: &[u8]) -> Option<u16> {
    engine
        .security()
        .instances
        .iter()
        .filter(|s| !s.bootstrap)
        .find(|s| instance(engine, Account::Server(s.ssid)).is_some_and(|o| o.recipient_id == kid))
        .map(|s| s.ssid)
}

/// The sequence-number limit stored for server `ssid` (0: none yet); `None` when the storage
/// cannot be read (the context is then not used).
pub(crate) fn stored_limit(ssid: u16) -> Option<u64> {
    let mut limit = 0u64;
    // SAFETY: `limit` is a valid u64 for the duration of the call.
    match unsafe { lwm2m_c2c_glue_seqno_load(ssid, &mut limit) } {
        0 => Some(limit),
        r if r == err::NOENT => Some(0),
        r => {
            ev!("oscore_seqno_load_failed ssid={} err={}", ssid, r);
            None
        }
    }
}

/// If `s.tx[..len]` is a request to server `ssid` and that account uses OSCORE, protects it
/// into `s.sec.out`: `Some(n)` (`Some(0)`: it could not be protected; never send it in the
/// clear). `None`: send it as it is.
// Not inlined into the poll: its frame stays out of the engine thread's deepest path.
#[inline(never)]
pub(crate) fn protect(s: &mut State, ssid: u16, len: usize) -> Option<usize> {
    let plain = s.tx.get(..len)?;
    if instance(&s.engine, Account::Server(ssid)).is_none() {
        return None;
    }
    let m = Message::parse(plain).ok()?;
    if !code::is_request(m.code) {
        return None;
    }
    let Some(dst) = s.sec.plain.get_mut(..len) else {
        return Some(0);
    };
    dst.copy_from_slice(plain);
    // The plain copy for an Echo retry, made in place (no request-sized temporary on the
    // engine thread's stack).
    let last = &mut s.sec.pending.last;
    last.clear();
    if last.extend_from_slice(plain).is_err() {
        return Some(0);
    }
    s.sec.pending.last_ssid = ssid;
    let token = m.token;
    let Some((n, id)) = s
        .sec
        .protect_request(&s.engine, Account::Server(ssid), len, None)
    else {
        ev!("oscore_protect_failed ssid={}", ssid);
        return Some(0);
    };
    s.sec.pending.add(ssid, token, id);
    Some(n)
}

/// Handles a response from gcoap if it answers a protected request to a server: unprotects it
/// and hands the plain response to the engine, repeats the request with an Echo value, or
/// reports the request failed. Returns false when it is not such a response.
pub(crate) fn response(s: &mut State, bytes: &[u8], now: u64) -> bool {
    let Ok(m) = Message::parse(bytes) else {
        return false;
    };
    let Some(w) = s.sec.pending.take(m.token) else {
        return false;
    };
    let account = Account::Server(w.ssid);
    let failed = |s: &mut State, why: &str| {
        ev!("oscore_rejected {} ssid={}", why, w.ssid);
        request_failed(s, w.ssid, &w.token, now);
    };
    if m.option(option::OSCORE).is_none() {
        failed(s, "unprotected");
        return true;
    }
    let Some(rx) = s.rx.get_mut(..bytes.len()) else {
        failed(s, "too_long");
        return true;
    };
    rx.copy_from_slice(bytes);
    let Some(n) = s.sec.unprotect_response(&s.engine, account, &w.id, rx) else {
        failed(s, "verification");
        return true;
    };
    let plain = s.sec.plain.get(..n).unwrap_or(&[]);
    if let Some(echo) = lwm2m_oscore::echo_challenge(plain) {
        match heapless::Vec::from_slice(echo) {
            Ok(echo) => {
                ev!("oscore_echo_received ssid={}", w.ssid);
                s.sec.pending.echo = Some((w.ssid, w.token.clone(), echo));
            }
            Err(_) => failed(s, "echo_too_long"),
        }
        return true;
    }
    if let Ok(msg) = Message::parse(plain) {
        // A block of a Firmware Update pull (crate::fota_pull) from this server.
        #[cfg(feature = "fota-pull")]
        if s.pull.owns(msg.token) {
            crate::fota_pull::response(&mut s.pull, &mut s.engine, &msg, now);
            return true;
        }
        s.engine.handle_response(&msg, now);
    }
    true
}

/// A protected request to server `ssid` failed: the pull's (crate::fota_pull) or the engine's.
fn request_failed(s: &mut State, ssid: u16, token: &[u8], now: u64) {
    #[cfg(feature = "fota-pull")]
    if crate::fota_pull::failed(&mut s.pull, &mut s.engine, token, now) {
        return;
    }
    s.engine
        .request_failed(Destination::Server(ssid), token, now);
}

/// The request an Echo challenge asked to repeat (RFC 8613 B.1.2), protected again with the
/// Echo value into `s.sec.out`: its server and length. Called by the poll before the engine's
/// own messages; a request that cannot be repeated counts as failed.
// Not inlined into the poll: its frame stays out of the engine thread's deepest path.
#[inline(never)]
pub(crate) fn echo_retry(s: &mut State, now: u64) -> Option<(u16, usize)> {
    let (ssid, token, echo) = s.sec.pending.echo.take()?;
    let p = &s.sec.pending;
    let len = p.last.len();
    let same = p.last_ssid == ssid && Message::parse(&p.last).is_ok_and(|m| m.token == &token[..]);
    let copied = same
        && match (s.sec.plain.get_mut(..len), s.sec.pending.last.get(..len)) {
            (Some(dst), Some(src)) => {
                dst.copy_from_slice(src);
                true
            }
            _ => false,
        };
    let protected = copied
        .then(|| {
            s.sec
                .protect_request(&s.engine, Account::Server(ssid), len, Some(&echo))
        })
        .flatten();
    let Some((n, id)) = protected else {
        ev!("oscore_rejected echo ssid={}", ssid);
        request_failed(s, ssid, &token, now);
        return None;
    };
    s.sec.pending.add(ssid, &token, id);
    ev!("oscore_echo_retry ssid={}", ssid);
    Some((ssid, n))
}

/// Gives the DM server account `ssid` (created by `lwm2m_c2c_init`) factory OSCORE material:
/// `spec` is `secret:salt:sid:rid`, each in hex (salt and IDs may be empty; the client's
/// view: sid is the node's Sender ID, the server's `--oscore-client EP,secret,salt,sid,rid`
/// takes the same order). The account then talks OSCORE only (module documentation).
///
/// Returns 0; `-EINVAL` for a malformed `spec`, `-ENOENT` before initialization or without
/// such an account, `-ENOTSUP` when the build has no storage for its sequence numbers
/// (`LWM2M_OSCORE_SEQNO=mtd`), another negative errno when the storage cannot be read.
///
/// # Safety
/// `spec` must be a NUL-terminated string (not kept).
#[no_mangle]
pub unsafe extern "C" fn lwm2m_riot_server_oscore(ssid: u16, spec: *const c_char) -> c_int {
    if spec.is_null() {
        return err::INVAL;
    }
    // SAFETY: the caller promises a NUL-terminated string.
    let Ok(spec) = unsafe { CStr::from_ptr(spec) }.to_str() else {
        return err::INVAL;
    };
    let mut parts = spec.split(':');
    let mut bufs = [[0u8; 32]; 4];
    let mut lens = [0usize; 4];
    for (b, l) in bufs.iter_mut().zip(lens.iter_mut()) {
        match parts.next().and_then(|p| crate::hex::hex(p, b)) {
            Some(n) => *l = n,
            None => return err::INVAL,
        }
    }
    let [secret, salt, sid, rid] = [0, 1, 2, 3].map(|i| {
        bufs.get(i)
            .zip(lens.get(i))
            .and_then(|(b, &l)| b.get(..l))
            .unwrap_or(&[])
    });
    if parts.next().is_some() || secret.is_empty() {
        return err::INVAL;
    }
    // Refused without storage: the same key every boot would repeat sequence numbers.
    let mut limit = 0u64;
    // SAFETY: `limit` is a valid u64 for the duration of the call.
    let r = unsafe { lwm2m_c2c_glue_seqno_load(ssid, &mut limit) };
    if r != 0 && r != err::NOENT {
        ev!("oscore_factory_refused ssid={} err={} (no sequence-number storage: LWM2M_OSCORE_SEQNO=mtd)", ssid, r);
        return r;
    }
    with_state(|s| {
        if s.engine
            .provision_server_oscore(ssid, FACTORY_INSTANCE, secret, sid, rid, salt)
            .is_err()
        {
            return err::NOENT;
        }
        s.sec.factory = instance(&s.engine, Account::Server(ssid)).map(|o| (ssid, fingerprint(o)));
        ev!("oscore_server ssid={}", ssid);
        0
    })
    .unwrap_or_else(|e| e)
}
